/* prune_gram.c: Gram matrices of layer inputs over calibration samples
 * (see prune_gram.h for what a layer's input patch is).
 *
 * The model runs through oc_pass_run_samples with an observer; each value
 * that some layer reads is turned, as it is computed, into patch rows (a
 * chunk of output positions at a time, in a double buffer) that are added
 * into the layer's Gram with one rank-k update (cblas_dsyrk, upper
 * triangle; mirrored at the end), or only squared into its diagonal. For
 * convolutions, where each kernel tap of each position reads the input
 * (or padding) is tabulated once per chunk and shared by every group.
 *
 * Full matrices are held up to OC_GRAM_BUDGET_BYTES at a time; beyond that
 * the layers are split into batches and the samples run once per batch. */
#include "prune_gram.h"

#include "../common/strmap.h"
#include "../exec/exec.h"

#include <cblas.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Doubles in the patch buffer (32 MiB), and at most this many patch rows
 * per rank-k update. */
#define PATCH_DOUBLES ((int64_t)1 << 22)
#define PATCH_ROWS_MAX 4096

static int64_t gram_budget = OC_GRAM_BUDGET_BYTES;

int64_t oc_prune_gram_budget(int64_t bytes)
{
    const int64_t prev = gram_budget;
    if (bytes > 0) gram_budget = bytes;
    return prev;
}

enum { KIND_DENSE, KIND_CONV, KIND_CONVT };
enum { PAD_NOTSET, PAD_SAME_UPPER, PAD_SAME_LOWER, PAD_VALID };

/* What one layer accumulates, and how its patches are made. */
typedef struct lstate {
    const oc_prune_layer *l;
    oc_gram *g;
    int kind;
    int64_t n, groups, cpg;   /* cols, groups, input channels per group */
    int64_t rows_cap;         /* patch rows per update */
    int64_t gram_bytes;       /* groups * n * n doubles; -1 on overflow */
    bool live;                /* a main-graph layer, set up */
    bool fits;                /* full Gram wanted and within the budget */
    bool active;              /* accumulating in this run */
    bool want_h;              /* ... the whole matrix (else the diagonal) */
    /* convolutions: the fixed part of the window geometry */
    int nd, pad_mode;
    int64_t ksize, k[OC_MAX_DIMS], s[OC_MAX_DIMS], d[OC_MAX_DIMS];
    int64_t pads[2 * OC_MAX_DIMS], opad[OC_MAX_DIMS], oshape[OC_MAX_DIMS];
    bool has_oshape;
    int64_t *kd;              /* ksize x nd: dilated offset of each kernel tap */
    struct lstate *next;      /* the next layer reading the same value */
} lstate;

/* The window over one observed input. */
typedef struct geom {
    int64_t in[OC_MAX_DIMS], out[OC_MAX_DIMS], pb[OC_MAX_DIMS], istride[OC_MAX_DIMS];
    int64_t positions, plane;
} geom;

typedef struct collector {
    lstate *ls;
    size_t n;
    oc_strmap by_input;      /* value name -> first lstate reading it */
    double *patch;           /* patch_cap doubles */
    int64_t *tab;            /* patch_cap entries: input offset of each tap, -1 in padding */
    int64_t patch_cap;
    float *xbuf;             /* non-float inputs converted */
    size_t xcap;
    oc_ctx ectx;             /* the first failure inside the observer */
    oc_status st;
} collector;

static const char *node_label(const oc_node *nd)
{
    if (nd->name && *nd->name) return nd->name;
    return nd->n_outputs ? nd->outputs[0] : "?";
}

static void record(collector *c, oc_status st, const char *fmt, ...) OC_PRINTF(3, 4);
static void record(collector *c, oc_status st, const char *fmt, ...)
{
    if (c->st != OC_OK) return;
    char buf[sizeof(c->ectx.msg)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    c->st = oc_fail(&c->ectx, st, "%s", buf);
}

void oc_gram_free(oc_gram *g)
{
    if (!g) return;
    oc_free(g->h);
    oc_free(g->diag);
    memset(g, 0, sizeof(*g));
}

/* ---- layer setup ---- */

/* The ints attribute `name` into v[want], or def everywhere when absent;
 * false when it has another length. */
static bool ints_or(const oc_node *nd, const char *name, int64_t want, int64_t def, int64_t *v)
{
    const int64_t *p = NULL;
    int64_t cnt = oc_attr_ints(nd, name, &p);
    if (cnt < 0) {
        for (int64_t i = 0; i < want; i++) v[i] = def;
        return true;
    }
    if (cnt != want) return false;
    if (cnt) memcpy(v, p, (size_t)cnt * sizeof(int64_t));
    return true;
}

static oc_status setup_conv(oc_ctx *ctx, lstate *s)
{
    const oc_node *nd = s->l->node;
    const oc_tensor *w = s->l->w;
    const bool tr = s->kind == KIND_CONVT;
    s->nd = w->ndim - 2;
    RETURN_ERROR_IF(s->nd < 1 || s->nd > OC_MAX_DIMS - 2, ctx, OC_ERR_UNSUPPORTED,
                    "node '%s' (%s): %d spatial axes", node_label(nd), nd->op_type, s->nd);
    s->cpg = tr ? w->dims[0] / s->groups : w->dims[1];
    s->ksize = 1;
    for (int a = 0; a < s->nd; a++) {
        s->k[a] = w->dims[2 + a];
        s->ksize *= s->k[a];
    }
    char buf[32];
    const char *ap = oc_attr_str(nd, "auto_pad", "NOTSET", buf, sizeof(buf));
    if (!*ap || !strcmp(ap, "NOTSET")) s->pad_mode = PAD_NOTSET;
    else if (!strcmp(ap, "SAME_UPPER")) s->pad_mode = PAD_SAME_UPPER;
    else if (!strcmp(ap, "SAME_LOWER")) s->pad_mode = PAD_SAME_LOWER;
    else if (!strcmp(ap, "VALID")) s->pad_mode = PAD_VALID;
    else return oc_fail(ctx, OC_ERR_INVALID, "node '%s' (%s): auto_pad '%s'", node_label(nd), nd->op_type, ap);
    const int64_t *os = NULL;
    int64_t nos = tr ? oc_attr_ints(nd, "output_shape", &os) : -1;
    bool ok = ints_or(nd, "strides", s->nd, 1, s->s) && ints_or(nd, "dilations", s->nd, 1, s->d) &&
              ints_or(nd, "pads", 2 * s->nd, 0, s->pads) && (!tr || ints_or(nd, "output_padding", s->nd, 0, s->opad)) &&
              (nos < 0 || nos == s->nd || nos == s->nd + 2);
    for (int a = 0; ok && a < s->nd; a++)
        ok = s->s[a] >= 1 && s->d[a] >= 1 && s->s[a] <= INT32_MAX && s->d[a] <= INT32_MAX && s->k[a] <= INT32_MAX &&
             (!tr || s->opad[a] >= 0);
    RETURN_ERROR_IF(!ok, ctx, OC_ERR_INVALID,
                    "node '%s' (%s): strides, dilations, pads or output attributes do not fit a %d-D kernel",
                    node_label(nd), nd->op_type, s->nd);
    s->has_oshape = nos >= 0;
    if (s->has_oshape) memcpy(s->oshape, os + (nos - s->nd), (size_t)s->nd * sizeof(int64_t));
    s->kd = oc_malloc((size_t)(s->ksize * s->nd) * sizeof(int64_t));
    RETURN_ERROR_IF(!s->kd, ctx, OC_ERR_NOMEM, "out of memory");
    for (int64_t kf = 0; kf < s->ksize; kf++) {
        int64_t rem = kf;
        for (int a = s->nd - 1; a >= 0; a--) {
            s->kd[kf * s->nd + a] = (rem % s->k[a]) * s->d[a];
            rem /= s->k[a];
        }
    }
    return OC_OK;
}

static oc_status setup_layer(oc_ctx *ctx, lstate *s)
{
    const oc_prune_layer *l = s->l;
    const char *op = l->node->op_type;
    s->n = l->cols;
    s->groups = 1;
    s->cpg = 0;
    if (!strcmp(op, "Conv") || !strcmp(op, "ConvTranspose")) {
        s->kind = op[4] ? KIND_CONVT : KIND_CONV;
        s->groups = l->group;
        FORWARD_IF_ERROR(setup_conv(ctx, s));
    } else {
        s->kind = KIND_DENSE;
    }
    int64_t gb;
    s->gram_bytes = -1;
    if (!oc_mul_overflow_i64(s->n, s->n, &gb) && !oc_mul_overflow_i64(gb, s->groups, &gb) &&
        !oc_mul_overflow_i64(gb, (int64_t)sizeof(double), &gb))
        s->gram_bytes = gb;
    int64_t rc = PATCH_DOUBLES / s->n;
    s->rows_cap = rc < 1 ? 1 : rc > PATCH_ROWS_MAX ? PATCH_ROWS_MAX : rc;
    return OC_OK;
}

/* ---- patches ---- */

/* The window of a convolution over input t (already checked to fit). */
static bool conv_geom(collector *c, const lstate *s, const oc_ten *t, geom *g)
{
    const oc_node *nd = s->l->node;
    g->positions = g->plane = 1;
    for (int a = s->nd - 1; a >= 0; a--) {
        g->in[a] = t->dims[2 + a];
        g->istride[a] = g->plane;
        g->plane *= g->in[a];
    }
    for (int a = 0; a < s->nd; a++) {
        const int64_t in = g->in[a], st = s->s[a], eff = (s->k[a] - 1) * s->d[a] + 1;
        if (s->kind == KIND_CONV) {
            if (s->pad_mode == PAD_SAME_UPPER || s->pad_mode == PAD_SAME_LOWER) {
                g->out[a] = (in + st - 1) / st;
                int64_t total = (g->out[a] - 1) * st + eff - in;
                if (total < 0) total = 0;
                g->pb[a] = s->pad_mode == PAD_SAME_UPPER ? total / 2 : total - total / 2;
            } else {
                const int64_t pb = s->pad_mode == PAD_VALID ? 0 : s->pads[a];
                const int64_t pe = s->pad_mode == PAD_VALID ? 0 : s->pads[s->nd + a];
                const int64_t span = in + pb + pe - eff;
                g->pb[a] = pb;
                g->out[a] = span < 0 ? 0 : span / st + 1;
            }
        } else {
            /* ConvTranspose: output_shape (pads derived), SAME_* (in x stride), or pads */
            const int64_t full = st * (in - 1) + s->opad[a] + eff;
            if (s->has_oshape || s->pad_mode == PAD_SAME_UPPER || s->pad_mode == PAD_SAME_LOWER) {
                g->out[a] = s->has_oshape ? s->oshape[a] : in * st;
                const int64_t total = full - g->out[a];
                const int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2); /* floor */
                g->pb[a] = s->pad_mode == PAD_SAME_UPPER ? half : total - half;
            } else {
                g->pb[a] = s->pad_mode == PAD_VALID ? 0 : s->pads[a];
                const int64_t pe = s->pad_mode == PAD_VALID ? 0 : s->pads[s->nd + a];
                g->out[a] = full - g->pb[a] - pe;
            }
        }
        if (g->out[a] < 1 || oc_mul_overflow_i64(g->positions, g->out[a], &g->positions)) {
            record(c, OC_ERR_INVALID, "node '%s' (%s): axis %d of input size %lld gives %lld outputs",
                   node_label(nd), nd->op_type, a, (long long)in, (long long)g->out[a]);
            return false;
        }
    }
    return true;
}

/* tab[r * ksize + kf]: offset in an input channel plane read by tap kf at
 * output position p0 + r (r < rc), -1 when it falls in the padding. */
static void fill_taps(const lstate *s, const geom *g, int64_t p0, int64_t rc, int64_t *tab)
{
    const int nd = s->nd;
    int64_t o[OC_MAX_DIMS];
    int64_t rem = p0;
    for (int a = nd - 1; a >= 0; a--) {
        o[a] = rem % g->out[a];
        rem /= g->out[a];
    }
    for (int64_t r = 0; r < rc; r++) {
        int64_t *tr = tab + r * s->ksize;
        for (int64_t kf = 0; kf < s->ksize; kf++) {
            const int64_t *kd = s->kd + kf * nd;
            int64_t off = 0;
            for (int a = 0; a < nd && off >= 0; a++) {
                int64_t i;
                if (s->kind == KIND_CONV) {
                    i = o[a] * s->s[a] - g->pb[a] + kd[a];
                } else {
                    /* y[q] += x[p] w[k] for q = p * stride + k * dilation - pad_begin */
                    const int64_t t = o[a] + g->pb[a] - kd[a];
                    i = t >= 0 && t % s->s[a] == 0 ? t / s->s[a] : -1;
                }
                off = i >= 0 && i < g->in[a] ? off + i * g->istride[a] : -1;
            }
            tr[kf] = off;
        }
        for (int a = nd - 1; a >= 0; a--) {
            if (++o[a] < g->out[a]) break;
            o[a] = 0;
        }
    }
}

/* Adds rc patch rows of group gi into the layer's Gram (or diagonal). */
static void flush(collector *c, const lstate *s, int64_t gi, int64_t rc)
{
    const int64_t n = s->n;
    if (s->want_h) {
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)n, (int)rc, 1.0, c->patch, (int)n, 1.0,
                    s->g->h + gi * n * n, (int)n);
        return;
    }
    double *dg = s->g->diag + gi * n;
    for (int64_t r = 0; r < rc; r++) {
        const double *pr = c->patch + r * n;
        for (int64_t j = 0; j < n; j++) dg[j] += pr[j] * pr[j];
    }
}

static void accumulate_dense(collector *c, lstate *s, const oc_ten *t, const float *x)
{
    const oc_node *nd = s->l->node;
    const int64_t n = s->n;
    if (t->ndim < 1 || t->dims[t->ndim - 1] != n) {
        record(c, OC_ERR_INVALID, "node '%s' (%s): input '%s' of rank %d has %lld entries in its last axis, "
               "the weight %lld", node_label(nd), nd->op_type, nd->inputs[0], t->ndim,
               (long long)(t->ndim ? t->dims[t->ndim - 1] : 0), (long long)n);
        return;
    }
    const int64_t rows = t->numel / n;
    for (int64_t r0 = 0; r0 < rows; r0 += s->rows_cap) {
        const int64_t rc = rows - r0 < s->rows_cap ? rows - r0 : s->rows_cap;
        const float *src = x + r0 * n;
        for (int64_t i = 0; i < rc * n; i++) c->patch[i] = src[i];
        flush(c, s, 0, rc);
    }
    s->g->count += rows;
}

static void accumulate_conv(collector *c, lstate *s, const oc_ten *t, const float *x)
{
    const oc_node *nd = s->l->node;
    const int64_t chans = s->groups * s->cpg;
    if (t->ndim != s->nd + 2 || t->dims[1] != chans) {
        record(c, OC_ERR_INVALID, "node '%s' (%s): input '%s' of rank %d with %lld channels does not fit a %d-D "
               "kernel over %lld channels", node_label(nd), nd->op_type, nd->inputs[0], t->ndim,
               (long long)(t->ndim > 1 ? t->dims[1] : 0), s->nd, (long long)chans);
        return;
    }
    geom g;
    if (!conv_geom(c, s, t, &g)) return;
    const int64_t n = s->n, K = s->ksize, batch = t->dims[0];
    for (int64_t b = 0; b < batch; b++) {
        const float *xb = x + b * chans * g.plane;
        for (int64_t p0 = 0; p0 < g.positions; p0 += s->rows_cap) {
            const int64_t rc = g.positions - p0 < s->rows_cap ? g.positions - p0 : s->rows_cap;
            fill_taps(s, &g, p0, rc, c->tab);
            for (int64_t gi = 0; gi < s->groups; gi++) {
                const float *xg = xb + gi * s->cpg * g.plane;
                for (int64_t r = 0; r < rc; r++) {
                    const int64_t *tr = c->tab + r * K;
                    double *dst = c->patch + r * n;
                    for (int64_t ci = 0; ci < s->cpg; ci++) {
                        const float *xc = xg + ci * g.plane;
                        for (int64_t kf = 0; kf < K; kf++) dst[ci * K + kf] = tr[kf] >= 0 ? xc[tr[kf]] : 0.0;
                    }
                }
                flush(c, s, gi, rc);
            }
        }
    }
    s->g->count += batch * g.positions;
}

/* The observed tensor as floats: its own data, or a converted copy. */
static const float *as_float(collector *c, const oc_ten *t)
{
    if (t->dtype == OC_DTYPE_FLOAT) return t->data;
    const int bits = oc_dtype_bits(t->dtype);
    if (t->dtype == OC_DTYPE_STRING || t->dtype == OC_DTYPE_BOOL || bits < 8) return NULL;
    size_t need = (size_t)t->numel * sizeof(float);
    if (need > c->xcap) {
        float *nb = oc_realloc(c->xbuf, need);
        if (!nb) {
            record(c, OC_ERR_NOMEM, "out of memory converting a calibration activation");
            return NULL;
        }
        c->xbuf = nb;
        c->xcap = need;
    }
    for (int64_t i = 0; i < t->numel; i++) c->xbuf[i] = (float)oc_ten_get(t, i);
    return c->xbuf;
}

static void observe(void *ud, const char *name, const oc_ten *t)
{
    collector *c = ud;
    if (c->st != OC_OK) return;
    oc_strmap_entry *e = oc_strmap_get(&c->by_input, name);
    if (!e) return;
    const float *x = NULL;
    for (lstate *s = e->val; s && c->st == OC_OK; s = s->next) {
        if (!s->active) continue;
        if (!x && t->numel > 0) {
            x = as_float(c, t);
            if (!x) {
                record(c, OC_ERR_UNSUPPORTED, "node '%s' (%s): input '%s' of type %s", node_label(s->l->node),
                       s->l->node->op_type, name, oc_dtype_name(t->dtype));
                return;
            }
        }
        if (t->numel == 0) continue;
        if (s->kind == KIND_DENSE) accumulate_dense(c, s, t, x);
        else accumulate_conv(c, s, t, x);
    }
}

/* ---- runs ---- */

/* Mirrors the upper triangles into the lower ones and takes the diagonals. */
static void finish_full(lstate *s)
{
    const int64_t n = s->n;
    for (int64_t gi = 0; gi < s->groups; gi++) {
        double *h = s->g->h + gi * n * n;
        for (int64_t i = 0; i < n; i++) {
            s->g->diag[gi * n + i] = h[i * n + i];
            for (int64_t j = 0; j < i; j++) h[i * n + j] = h[j * n + i];
        }
    }
}

static oc_status run_batch(oc_pass_run *r, collector *c)
{
    size_t samples = 0;
    oc_status st = oc_pass_run_samples(r, observe, c, &samples);
    if (st == OC_OK && c->st != OC_OK) st = oc_fail(r->ctx, c->st, "%s", c->ectx.msg);
    if (st != OC_OK) return st;
    for (size_t i = 0; i < c->n; i++) {
        lstate *s = &c->ls[i];
        if (!s->active) continue;
        if (s->g->count == 0) {
            oc_gram_free(s->g);
            s->g->n = s->n;
            s->g->groups = s->groups;
        } else if (s->want_h) {
            finish_full(s);
        }
        s->active = false;
    }
    return OC_OK;
}

/* Allocates the buffers of layer s for a run. */
static oc_status activate(oc_ctx *ctx, lstate *s, bool want_h)
{
    const size_t gn = (size_t)(s->groups * s->n);
    s->g->diag = oc_calloc(gn, sizeof(double));
    RETURN_ERROR_IF(!s->g->diag, ctx, OC_ERR_NOMEM, "out of memory for the Gram of node '%s'",
                    node_label(s->l->node));
    if (want_h) {
        s->g->h = oc_calloc(gn, (size_t)s->n * sizeof(double));
        RETURN_ERROR_IF(!s->g->h, ctx, OC_ERR_NOMEM, "out of memory for the %lld x %lld Gram of node '%s'",
                        (long long)s->n, (long long)s->n, node_label(s->l->node));
    }
    s->g->count = 0;
    s->want_h = want_h;
    s->active = true;
    return OC_OK;
}

/* Patch and tap buffers big enough for every layer. */
static oc_status alloc_patch(oc_ctx *ctx, collector *c)
{
    int64_t cap = 1;
    for (size_t i = 0; i < c->n; i++) {
        const int64_t need = c->ls[i].rows_cap * c->ls[i].n;
        if (need > cap) cap = need;
    }
    c->patch_cap = cap;
    c->patch = oc_malloc((size_t)cap * sizeof(double));
    c->tab = oc_malloc((size_t)cap * sizeof(int64_t));
    RETURN_ERROR_IF(!c->patch || !c->tab, ctx, OC_ERR_NOMEM, "out of memory for calibration patches");
    return OC_OK;
}

static oc_status collect(oc_pass_run *r, collector *c, const oc_prune_layer *layers, bool full, oc_gram *out)
{
    oc_ctx *ctx = r->ctx;
    size_t live = 0;
    for (size_t i = 0; i < c->n; i++) {
        lstate *s = &c->ls[i];
        s->l = &layers[i];
        s->g = &out[i];
        out[i].n = layers[i].cols;
        out[i].groups = layers[i].group > 1 ? layers[i].group : 1;
        /* layers in subgraphs read values the observer never sees */
        if (layers[i].g != r->m->graph || layers[i].node->n_inputs < 1 || !*layers[i].node->inputs[0]) continue;
        FORWARD_IF_ERROR(setup_layer(ctx, s));
        s->live = true;
        s->fits = full && s->gram_bytes >= 0 && s->gram_bytes <= gram_budget;
        bool added = false;
        oc_strmap_entry *e = oc_strmap_put(&c->by_input, layers[i].node->inputs[0], &added);
        RETURN_ERROR_IF(!e, ctx, OC_ERR_NOMEM, "out of memory");
        s->next = e->val;
        e->val = s;
        live++;
    }
    if (!live) return OC_OK;
    FORWARD_IF_ERROR(alloc_patch(ctx, c));
    /* the first run does every diagonal-only layer (all of them unless
     * full; with full, those over the budget) and the first batch of full
     * ones; each further run the next batch */
    size_t next = 0;
    for (bool first = true;; first = false) {
        int64_t used = 0;
        size_t active = 0;
        for (size_t i = 0; first && i < c->n; i++) {
            lstate *s = &c->ls[i];
            if (!s->live || s->fits) continue;
            FORWARD_IF_ERROR(activate(ctx, s, false));
            active++;
        }
        for (; next < c->n; next++) {
            lstate *s = &c->ls[next];
            if (!s->live || !s->fits) continue;
            if (used > 0 && used + s->gram_bytes > gram_budget) break;
            FORWARD_IF_ERROR(activate(ctx, s, true));
            used += s->gram_bytes;
            active++;
        }
        if (!active) return OC_OK;
        FORWARD_IF_ERROR(run_batch(r, c));
    }
}

oc_status oc_prune_gram_collect(oc_pass_run *r, const oc_prune_layer *layers, size_t n, bool full, oc_gram *out)
{
    collector c = {.n = n};
    oc_strmap_init(&c.by_input);
    oc_ctx_init(&c.ectx);
    oc_status st = OC_OK;
    if (n) {
        c.ls = oc_calloc(n, sizeof(lstate));
        if (!c.ls) st = oc_fail(r->ctx, OC_ERR_NOMEM, "out of memory");
    }
    if (st == OC_OK) st = collect(r, &c, layers, full, out);
    for (size_t i = 0; c.ls && i < n; i++) oc_free(c.ls[i].kd);
    oc_free(c.ls);
    oc_free(c.patch);
    oc_free(c.tab);
    oc_free(c.xbuf);
    oc_strmap_free(&c.by_input);
    if (st != OC_OK)
        for (size_t i = 0; i < n; i++) oc_gram_free(&out[i]);
    return st;
}
