/* prune_channel.c: structured channel pruning.
 *
 * coupling.c finds which channels must go together (units) and which
 * groups of them can be touched at all. This pass scores every unit from
 * its source layers (weight norms, or mean |activation| on calibration
 * samples; each layer's scores divided by their mean so layers compare;
 * a unit tied across several layers, a residual channel, takes the mean of
 * theirs, not the sum, so scope=global does not spare residual streams),
 * picks the weakest per block of units sharing the same source layers (or
 * below one threshold across the model), and then either removes them,
 * shrinking every coupled tensor, rewriting group counts, Split sizes,
 * Slice ranges, Reshape and Resize shapes and the declared shapes of the
 * values, or, with mode=mask, only zeroes the weights of the layers that
 * read them. Both give the same outputs up to float rounding: a removed
 * channel only ever reaches the graph through the layers that read it.
 *
 * Except with norm=approx: a group whose channels reach a LayerNorm over
 * them (coupling.h) is then pruned too, the normalisation's mean and
 * variance taken over the kept channels only. The result is approximate
 * (and mode=mask, which keeps the statistics, no longer equals it); each
 * such group gets a notice naming the normalisation, and the summary and
 * the report (groups_approx) count them.
 *
 * Layers inside If/Loop/Scan bodies are pruned alike (coupling_sub.c says
 * which); their edits land in their own graph: new shape constants in the
 * body, declared shapes in the graph declaring the value or the weight.
 *
 * With reconstruct=1 each layer whose input channels shrank is refitted by
 * least squares onto the inputs it keeps, against its own outputs in the
 * original model (He et al. 2017, ThiNet), from the Gram matrix of its
 * input over the calibration samples; main-graph layers only, as the Gram
 * matrices are gathered from main-graph activations (prune_gram.c). */
#include "coupling.h"
#include "prune.h"
#include "prune_gram.h"

#include "../exec/exec.h"
#include "../quant/lsq.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const oc_pass_opt oc_channel_opts[OC_CHANNEL_N_OPTS] = {
    {"ratio", OC_OPT_FLOAT, "0.3", 0, 0.95, NULL,
     "fraction of output channels removed per layer (or overall, scope=global)"},
    {"scope", OC_OPT_ENUM, "layer", 0, 0, "layer|global",
     "the same ratio in every channel group, or one normalised threshold across groups"},
    {"criterion", OC_OPT_ENUM, "l1", 0, 0, "l1|l2|activation",
     "channel score: weight norm, or mean |activation| on --data samples"},
    {"round_to", OC_OPT_INT, "1", 1, 1024, NULL, "keep channel counts at multiples of this"},
    {"max_layer", OC_OPT_FLOAT, "0.9", 0, 0.99, NULL, "scope=global: no group loses more than this fraction"},
    {"min_channels", OC_OPT_INT, "1", 1, 1e9, NULL, "groups with fewer channels are left alone"},
    {"reconstruct", OC_OPT_BOOL, "0", 0, 1, NULL,
     "refit the next layers' weights by least squares on --data samples (ThiNet)"},
    {"samples", OC_OPT_INT, "256", 1, 1e9, NULL, "calibration samples (--limit overrides)"},
    {"mode", OC_OPT_ENUM, "remove", 0, 0, "remove|mask",
     "remove the channels, or only zero their outgoing weights (a same-shape model for checks)"},
    {"norm", OC_OPT_ENUM, "keep", 0, 0, "keep|approx",
     "channels reaching a LayerNorm over the channel axis stay, or go (approximate: its statistics change)"},
};

enum { OPT_RATIO, OPT_SCOPE, OPT_CRITERION, OPT_ROUND_TO, OPT_MAX_LAYER, OPT_MIN_CHANNELS, OPT_RECONSTRUCT,
       OPT_SAMPLES, OPT_MODE, OPT_NORM, OPT_COUNT };
_Static_assert(sizeof(oc_channel_opts) / sizeof(oc_channel_opts[0]) == OPT_COUNT, "one row per option");

enum { CRIT_L1, CRIT_L2, CRIT_ACTIVATION };

bool oc_prune_channel_wants_data(const oc_pass_vals *v)
{
    return v->v[OPT_CRITERION] == CRIT_ACTIVATION || v->v[OPT_RECONSTRUCT] != 0;
}

#define MAX_NOTICES 12

typedef struct pctx {
    oc_pass_run *r;
    oc_coupling *c;
    bool mask;
    double *escore;   /* per element: normalised source score, or -1 */
    double *uscore;   /* per unit: mean over its source elements */
    int64_t *usrc;    /* per unit: source elements seen */
    uint8_t *removed; /* per unit */
    int64_t *kept;    /* per space */
    bool *changed;    /* per group: something goes */
    struct replaced {
        oc_graph *g;      /* the graph defining it */
        const char *name;
    } *replaced;          /* shape constants given a new copy */
    size_t n_replaced, cap_replaced;
    size_t n_unfitted;     /* layers reconstruct had to skip */
} pctx;

static oc_status nomem(pctx *p)
{
    return oc_fail(p->r->ctx, OC_ERR_NOMEM, "out of memory pruning channels");
}

static bool elem_removed(const pctx *p, size_t s, int64_t j)
{
    return p->removed[p->c->unit[p->c->spaces[s].base + j]] != 0;
}

/* ---- scores ---- */

/* Per index along `axis`: the L1 or L2 norm of the weight slice. */
static void weight_norms(const oc_tensor *w, int axis, int64_t count, bool l2, double *out)
{
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis; d++) outer *= w->dims[d];
    for (int d = axis + 1; d < w->ndim; d++) inner *= w->dims[d];
    for (int64_t j = 0; j < count; j++) out[j] = 0;
    bool f32 = w->dtype == OC_DTYPE_FLOAT;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < count; j++)
            for (int64_t i = 0; i < inner; i++) {
                int64_t at = (o * count + j) * inner + i;
                double v;
                if (f32) {
                    float f;
                    memcpy(&f, (const char *)w->data + at * 4, 4);
                    v = f;
                } else {
                    v = oc_tensor_get(w, at);
                }
                out[j] += l2 ? v * v : fabs(v);
            }
    if (l2)
        for (int64_t j = 0; j < count; j++) out[j] = sqrt(out[j]);
}

typedef struct act_ctx {
    const oc_coupling *c;
    double **sum; /* per source: per channel sum of |y| */
    bool *seen;   /* per source: some sample reached it */
    bool oom;
} act_ctx;

static void act_observe(void *ud, const char *name, const oc_ten *t)
{
    act_ctx *a = ud;
    if (t->dtype != OC_DTYPE_FLOAT || !t->data) return;
    for (size_t i = 0; i < a->c->n_sources; i++) {
        const oc_csource *src = &a->c->sources[i];
        const oc_cspace *sp = &a->c->spaces[src->space];
        if (!sp->observable || strcmp(sp->value, name) || sp->axis >= t->ndim || t->dims[sp->axis] != sp->size)
            continue;
        a->seen[i] = true;
        int64_t outer = 1, inner = 1, ch = sp->size;
        for (int d = 0; d < sp->axis; d++) outer *= t->dims[d];
        for (int d = sp->axis + 1; d < t->ndim; d++) inner *= t->dims[d];
        const float *x = t->data;
        for (int64_t o = 0; o < outer; o++)
            for (int64_t j = src->offset; j < src->offset + src->count; j++) {
                double s = 0;
                const float *row = x + (o * ch + j) * inner;
                for (int64_t k = 0; k < inner; k++) s += fabsf(row[k]);
                a->sum[i][j - src->offset] += s / (double)(inner * outer);
            }
    }
}

/* Fills escore: each source's per-channel scores over their mean. */
static oc_status score_sources(pctx *p, int criterion)
{
    oc_coupling *c = p->c;
    double **raw = oc_calloc(c->n_sources + 1, sizeof(double *));
    if (!raw) return nomem(p);
    oc_status st = OC_OK;
    for (size_t i = 0; i < c->n_sources && st == OC_OK; i++) {
        raw[i] = oc_calloc((size_t)c->sources[i].count + 1, sizeof(double));
        if (!raw[i]) st = nomem(p);
    }
    if (st == OC_OK && criterion == CRIT_ACTIVATION) {
        act_ctx a = {.c = c, .sum = raw, .seen = oc_calloc(c->n_sources + 1, sizeof(bool))};
        size_t count = 0;
        st = a.seen ? oc_pass_run_samples(p->r, act_observe, &a, &count) : nomem(p);
        /* a layer in a body no sample ran (an If branch the samples do
         * not take) has no scores: its group stays as it is */
        for (size_t i = 0; i < c->n_sources && st == OC_OK; i++) {
            oc_cgroup *gr = &c->groups[c->sources[i].group];
            if (!a.seen[i] && c->sources[i].graph != p->r->m->graph && !gr->reason)
                gr->reason = "criterion=activation: no sample reached its layers (a body the samples do not run)";
        }
        oc_free(a.seen);
    } else {
        for (size_t i = 0; i < c->n_sources && st == OC_OK; i++) {
            const oc_csource *src = &c->sources[i];
            if (c->groups[src->group].reason || !src->w || !src->w->data) continue;
            weight_norms(src->w, src->w_axis, src->count, criterion == CRIT_L2, raw[i]);
        }
    }
    for (int64_t e = 0; e < c->n_elems; e++) p->escore[e] = -1;
    for (size_t i = 0; i < c->n_sources && st == OC_OK; i++) {
        const oc_csource *src = &c->sources[i];
        double mean = 0;
        for (int64_t j = 0; j < src->count; j++) mean += raw[i][j];
        mean /= (double)(src->count ? src->count : 1);
        if (!(mean > 0)) mean = 1;
        int64_t base = c->spaces[src->space].base + src->offset;
        for (int64_t j = 0; j < src->count; j++) {
            double v = raw[i][j] / mean;
            p->escore[base + j] = p->escore[base + j] < 0 ? v : (p->escore[base + j] + v) / 2;
        }
    }
    for (size_t i = 0; i < c->n_sources; i++) oc_free(raw[i]);
    oc_free(raw);
    if (st != OC_OK) return st;
    for (int64_t e = 0; e < c->n_elems; e++) {
        if (p->escore[e] < 0) continue;
        int64_t u = c->unit[e];
        p->uscore[u] += p->escore[e];
        p->usrc[u]++;
    }
    for (int64_t u = 0; u < c->n_units; u++)
        if (p->usrc[u]) p->uscore[u] /= (double)p->usrc[u];
    return OC_OK;
}

/* ---- choosing ---- */

/* A unit with the sorted list of the sources it spans: units of one group
 * with the same list form a block, the "layer" a ratio applies to. */
typedef struct ukey {
    int64_t unit;
    size_t group;
    const size_t *sig;
    size_t n_sig;
    double score;
} ukey;

static int cmp_ukey(const void *a, const void *b)
{
    const ukey *x = a, *y = b;
    if (x->group != y->group) return x->group < y->group ? -1 : 1;
    size_t n = x->n_sig < y->n_sig ? x->n_sig : y->n_sig;
    for (size_t i = 0; i < n; i++)
        if (x->sig[i] != y->sig[i]) return x->sig[i] < y->sig[i] ? -1 : 1;
    if (x->n_sig != y->n_sig) return x->n_sig < y->n_sig ? -1 : 1;
    if (x->score != y->score) return x->score < y->score ? -1 : 1;
    return x->unit < y->unit ? -1 : x->unit > y->unit;
}

static bool same_block(const ukey *x, const ukey *y)
{
    return x->group == y->group && x->n_sig == y->n_sig && !memcmp(x->sig, y->sig, x->n_sig * sizeof(size_t));
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_score(const void *a, const void *b)
{
    const ukey *x = *(const ukey *const *)a, *y = *(const ukey *const *)b;
    if (x->score != y->score) return x->score < y->score ? -1 : 1;
    return x->unit < y->unit ? -1 : x->unit > y->unit;
}

static int64_t kept_count(int64_t n, int64_t drop, int64_t round_to)
{
    int64_t kept = n - drop;
    if (kept < 1) kept = 1;
    if (round_to > 1) {
        if (n <= round_to) return n;
        kept = (kept + round_to - 1) / round_to * round_to;
        if (kept > n) kept = n;
    }
    return kept;
}

static oc_status choose(pctx *p)
{
    oc_coupling *c = p->c;
    oc_pass_run *r = p->r;
    double ratio = oc_pass_val(r, "ratio"), max_layer = oc_pass_val(r, "max_layer");
    bool global = oc_pass_val(r, "scope") == 1;
    int64_t round_to = (int64_t)oc_pass_val(r, "round_to"), min_ch = (int64_t)oc_pass_val(r, "min_channels");
    /* (unit, source) pairs, sorted: each unit's signature */
    int64_t n_pairs = 0;
    for (size_t i = 0; i < c->n_sources; i++) n_pairs += c->sources[i].count;
    int64_t *pairs = oc_malloc((size_t)(n_pairs + 1) * 2 * sizeof(int64_t));
    size_t *sigs = oc_malloc((size_t)(n_pairs + 1) * sizeof(size_t));
    ukey *keys = oc_calloc((size_t)c->n_units + 1, sizeof(ukey));
    ukey **order = oc_calloc((size_t)c->n_units + 1, sizeof(ukey *));
    oc_status st = pairs && sigs && keys && order ? OC_OK : nomem(p);
    if (st != OC_OK) goto done;
    int64_t np = 0;
    for (size_t i = 0; i < c->n_sources; i++) {
        const oc_csource *src = &c->sources[i];
        int64_t base = c->spaces[src->space].base + src->offset;
        for (int64_t j = 0; j < src->count; j++) {
            pairs[2 * np] = c->unit[base + j];
            pairs[2 * np + 1] = (int64_t)i;
            np++;
        }
    }
    /* sort pairs by unit then source: as one key, unit * n_sources + source */
    int64_t ns = (int64_t)c->n_sources + 1;
    for (int64_t k = 0; k < np; k++) pairs[k] = pairs[2 * k] * ns + pairs[2 * k + 1];
    qsort(pairs, (size_t)np, sizeof(int64_t), cmp_i64);
    size_t nsig = 0;
    for (int64_t k = 0; k < np; k++) {
        int64_t u = pairs[k] / ns;
        size_t s = (size_t)(pairs[k] % ns);
        if (k && pairs[k] == pairs[k - 1]) continue;
        if (!keys[u].sig) keys[u].sig = &sigs[nsig];
        sigs[nsig++] = s;
        keys[u].n_sig++;
    }
    size_t n_keys = 0;
    for (int64_t u = 0; u < c->n_units; u++) {
        size_t gi = c->unit_group[u];
        const oc_cgroup *gr = &c->groups[gi];
        if (gr->reason || gr->channels < min_ch || gr->channels < 2 || !keys[u].n_sig) continue;
        keys[n_keys] = keys[u];
        keys[n_keys].unit = u;
        keys[n_keys].group = gi;
        keys[n_keys].score = p->uscore[u];
        n_keys++;
    }
    qsort(keys, n_keys, sizeof(ukey), cmp_ukey);
    /* global: the weakest ratio of all units are candidates */
    uint8_t *cand = oc_calloc((size_t)c->n_units + 1, 1);
    if (!cand) {
        st = nomem(p);
        goto done;
    }
    if (global) {
        for (size_t k = 0; k < n_keys; k++) order[k] = &keys[k];
        qsort(order, n_keys, sizeof(ukey *), cmp_score);
        size_t take = (size_t)floor(ratio * (double)n_keys + 1e-9);
        for (size_t k = 0; k < take; k++) cand[order[k]->unit] = 1;
    }
    for (size_t b0 = 0, b1; b0 < n_keys; b0 = b1) {
        for (b1 = b0 + 1; b1 < n_keys && same_block(&keys[b0], &keys[b1]); b1++) {}
        int64_t n = (int64_t)(b1 - b0), drop;
        if (global) {
            drop = 0;
            for (size_t k = b0; k < b1; k++) drop += cand[keys[k].unit];
            int64_t cap = (int64_t)floor(max_layer * (double)n + 1e-9);
            if (drop > cap) drop = cap;
        } else {
            drop = (int64_t)floor(ratio * (double)n + 1e-9);
        }
        int64_t kept = kept_count(n, drop, round_to);
        /* keys within a block are sorted by score: the first ones go */
        for (int64_t k = 0; k < n - kept; k++) p->removed[keys[b0 + (size_t)k].unit] = 1;
    }
    oc_free(cand);
    /* no space may lose every channel (a Split output, a Concat input) */
    for (size_t s = 0; s < c->n_spaces; s++) {
        const oc_cspace *sp = &c->spaces[s];
        int64_t best = -1;
        bool any = false;
        for (int64_t j = 0; j < sp->size && !any; j++) {
            int64_t u = c->unit[sp->base + j];
            any = !p->removed[u];
            if (best < 0 || p->uscore[u] > p->uscore[best]) best = u;
        }
        if (!any && best >= 0) p->removed[best] = 0;
    }
    for (size_t s = 0; s < c->n_spaces; s++) {
        const oc_cspace *sp = &c->spaces[s];
        p->kept[s] = 0;
        for (int64_t j = 0; j < sp->size; j++) p->kept[s] += !elem_removed(p, s, j);
        if (p->kept[s] < sp->size) p->changed[sp->group] = true;
    }
done:
    oc_free(pairs);
    oc_free(sigs);
    oc_free(keys);
    oc_free(order);
    return st;
}

/* ---- tensor edits ---- */

/* One constant with, per axis, which indices stay (NULL: all). */
typedef struct tedit {
    oc_tensor *t;
    const char *name;
    oc_graph *g;     /* the graph of a node reading it (the tensor may live in an enclosing one) */
    uint8_t *keep[OC_MAX_DIMS];
    bool consumer;
    oc_node *node;
    int64_t removed; /* elements removed or zeroed */
} tedit;

static void tedits_free(tedit *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (int d = 0; d < OC_MAX_DIMS; d++) oc_free(v[i].keep[d]);
    oc_free(v);
}

/* Which tensors change: every member of a changed group (mask mode: the
 * consumer weights only). */
static oc_status collect_tedits(pctx *p, tedit **out, size_t *n_out)
{
    oc_coupling *c = p->c;
    tedit *v = oc_calloc(c->n_members + 1, sizeof(tedit));
    if (!v) return nomem(p);
    size_t n = 0;
    for (size_t i = 0; i < c->n_members; i++) {
        const oc_cmember *m = &c->members[i];
        if (!p->changed[c->spaces[m->space].group] || (p->mask && m->role != OC_CROLE_CONSUMER)) continue;
        if (m->t->ndim > OC_MAX_DIMS) continue;
        size_t k = 0;
        while (k < n && v[k].t != m->t) k++;
        if (k == n) {
            v[n].t = m->t;
            v[n].name = m->name;
            v[n].g = m->graph;
            n++;
        }
        if (m->role == OC_CROLE_CONSUMER) {
            v[k].consumer = true;
            v[k].node = m->node;
        } else if (m->role == OC_CROLE_SOURCE && !v[k].node) {
            v[k].node = m->node;
        }
        int64_t d = m->t->dims[m->axis];
        uint8_t *keep = oc_malloc((size_t)(d ? d : 1));
        if (!keep) {
            tedits_free(v, n);
            return nomem(p);
        }
        for (int64_t j = 0; j < d; j++) keep[j] = !elem_removed(p, m->space, m->offset + j);
        oc_free(v[k].keep[m->axis]);
        v[k].keep[m->axis] = keep;
    }
    *out = v;
    *n_out = n;
    return OC_OK;
}

static int64_t new_numel(const tedit *te, int64_t *nd)
{
    const oc_tensor *t = te->t;
    int64_t numel = 1;
    for (int d = 0; d < t->ndim; d++) {
        nd[d] = t->dims[d];
        if (te->keep[d]) {
            nd[d] = 0;
            for (int64_t j = 0; j < t->dims[d]; j++) nd[d] += te->keep[d][j];
        }
        numel *= nd[d];
    }
    return numel;
}

/* The graph defining `name` as g sees it: g or an enclosing graph. */
static oc_graph *defining_graph(oc_graph *g, const char *name)
{
    for (; g->parent; g = g->parent) {
        for (size_t i = 0; i < g->n_inits; i++)
            if (g->inits[i]->name && !strcmp(g->inits[i]->name, name)) return g;
        for (size_t i = 0; i < g->n_inputs; i++)
            if (!strcmp(g->inputs[i]->name, name)) return g;
        for (size_t i = 0; i < g->n_nodes; i++)
            for (size_t k = 0; k < g->nodes[i]->n_outputs; k++)
                if (!strcmp(g->nodes[i]->outputs[k], name)) return g;
    }
    return g; /* the main graph */
}

/* Sets the declared dims of value `name` of graph g (inputs, value_info). */
static void set_value_dim(oc_graph *g, const char *name, int axis, int64_t v)
{
    oc_value **lists[3] = {g->inputs, g->value_info, g->outputs};
    size_t counts[3] = {g->n_inputs, g->n_value_info, g->n_outputs};
    for (int l = 0; l < 3; l++)
        for (size_t i = 0; i < counts[l]; i++) {
            oc_value *val = lists[l][i];
            if (strcmp(val->name, name) || !val->has_type || !val->type.has_shape || axis >= val->type.ndim) continue;
            val->type.dims[axis].kind = OC_DIM_VALUE;
            val->type.dims[axis].value = v;
            val->type.dims[axis].param = NULL;
            val->dirty = true;
        }
}

/* Builds the smaller tensor (remove) or the zeroed copy (mask). */
static oc_status apply_tedit(pctx *p, tedit *te)
{
    oc_tensor *t = te->t;
    size_t esz = (size_t)oc_dtype_bits(t->dtype) / 8;
    int64_t nd[OC_MAX_DIMS];
    int64_t numel = new_numel(te, nd);
    if (p->mask) {
        char *buf = oc_malloc(t->nbytes ? t->nbytes : 1);
        if (!buf) return nomem(p);
        memcpy(buf, t->data, t->nbytes);
        for (int a = 0; a < t->ndim; a++) {
            if (!te->keep[a]) continue;
            int64_t outer = 1, inner = 1, ch = t->dims[a];
            for (int d = 0; d < a; d++) outer *= t->dims[d];
            for (int d = a + 1; d < t->ndim; d++) inner *= t->dims[d];
            for (int64_t o = 0; o < outer; o++)
                for (int64_t j = 0; j < ch; j++)
                    if (!te->keep[a][j]) memset(buf + (size_t)((o * ch + j) * inner) * esz, 0, (size_t)inner * esz);
        }
        te->removed = t->numel - numel;
        oc_tensor_set_data(p->r->m, t, buf, t->nbytes);
        return t->data || !t->nbytes ? OC_OK : nomem(p);
    }
    int tail = t->ndim;
    while (tail > 0 && !te->keep[tail - 1]) tail--;
    size_t blk = esz;
    for (int d = tail; d < t->ndim; d++) blk *= (size_t)t->dims[d];
    int64_t stride[OC_MAX_DIMS];
    int64_t acc = 1;
    for (int d = t->ndim - 1; d >= 0; d--) {
        stride[d] = acc;
        acc *= t->dims[d];
    }
    /* kept old indices per leading axis */
    int64_t *idx[OC_MAX_DIMS] = {NULL};
    oc_status st = OC_OK;
    for (int d = 0; d < tail && st == OC_OK; d++) {
        idx[d] = oc_malloc((size_t)(nd[d] ? nd[d] : 1) * sizeof(int64_t));
        if (!idx[d]) {
            st = nomem(p);
            break;
        }
        int64_t k = 0;
        for (int64_t j = 0; j < t->dims[d]; j++)
            if (!te->keep[d] || te->keep[d][j]) idx[d][k++] = j;
    }
    size_t nbytes = (size_t)numel * esz;
    char *buf = st == OC_OK ? oc_malloc(nbytes ? nbytes : 1) : NULL;
    if (st == OC_OK && !buf) st = nomem(p);
    if (st == OC_OK && numel > 0) {
        int64_t pos[OC_MAX_DIMS] = {0};
        size_t w = 0;
        for (;;) {
            int64_t off = 0;
            for (int d = 0; d < tail; d++) off += idx[d][pos[d]] * stride[d];
            memcpy(buf + w, (const char *)t->data + (size_t)off * esz, blk);
            w += blk;
            int d = tail - 1;
            while (d >= 0 && ++pos[d] == nd[d]) pos[d--] = 0;
            if (d < 0) break;
        }
    }
    for (int d = 0; d < OC_MAX_DIMS; d++) oc_free(idx[d]);
    if (st != OC_OK) {
        oc_free(buf);
        return st;
    }
    te->removed = t->numel - numel;
    oc_tensor_set_data(p->r->m, t, buf, nbytes);
    if (!t->data && nbytes) return nomem(p);
    for (int d = 0; d < t->ndim; d++) t->dims[d] = nd[d];
    t->numel = numel;
    for (int d = 0; d < t->ndim; d++)
        if (te->keep[d]) set_value_dim(defining_graph(te->g, te->name), te->name, d, nd[d]);
    return OC_OK;
}

/* ---- node edits ---- */

/* A new int initializer in graph g. */
static oc_status new_ints(pctx *p, oc_graph *g, const char *base, const oc_tensor *like, const int64_t *v, int64_t n,
                          const char **name)
{
    int dt = like && like->dtype == OC_DTYPE_INT32 ? OC_DTYPE_INT32 : OC_DTYPE_INT64;
    size_t esz = dt == OC_DTYPE_INT32 ? 4 : 8;
    void *buf = oc_malloc((size_t)(n ? n : 1) * esz);
    const char *nm = oc_graph_unique_name(g, base);
    int64_t dims[1] = {n};
    oc_tensor *t = buf && nm ? oc_graph_add_initializer(g, nm, dt, 1, dims) : NULL;
    if (!t) {
        oc_free(buf);
        return nomem(p);
    }
    for (int64_t i = 0; i < n; i++) {
        if (dt == OC_DTYPE_INT32) ((int32_t *)buf)[i] = (int32_t)v[i];
        else ((int64_t *)buf)[i] = v[i];
    }
    oc_tensor_set_data(p->r->m, t, buf, (size_t)n * esz);
    if (!t->data && n) return nomem(p);
    *name = t->name;
    return OC_OK;
}

/* Replaces constant input k of n (a node of g) by a copy in g holding
 * vals; the old one goes later if nothing else reads it. */
static oc_status replace_int_input(pctx *p, oc_graph *g, oc_node *n, size_t k, const int64_t *vals, int64_t count)
{
    const oc_tensor *old = oc_graph_weight(g, n->inputs[k]);
    char base[512];
    snprintf(base, sizeof(base), "%s_pruned", n->inputs[k]);
    const char *nm;
    FORWARD_IF_ERROR(new_ints(p, g, base, old, vals, count, &nm));
    if (p->n_replaced == p->cap_replaced) {
        size_t nc = p->cap_replaced ? 2 * p->cap_replaced : 16;
        struct replaced *nr = oc_realloc(p->replaced, nc * sizeof(*nr));
        if (!nr) return nomem(p);
        p->replaced = nr;
        p->cap_replaced = nc;
    }
    p->replaced[p->n_replaced++] = (struct replaced){defining_graph(g, n->inputs[k]), n->inputs[k]};
    oc_node_set_input(g, n, k, nm);
    oc_graph_invalidate(g);
    return OC_OK;
}

static int64_t read_ints(const oc_tensor *t, int64_t *out, int64_t cap)
{
    if (!t || !t->data || t->numel > cap) return -1;
    for (int64_t i = 0; i < t->numel; i++) out[i] = (int64_t)oc_tensor_get(t, i);
    return t->numel;
}

static oc_attr *attr_mut(oc_node *n, const char *name)
{
    for (size_t i = 0; i < n->n_attrs; i++)
        if (!strcmp(n->attrs[i].name, name)) return &n->attrs[i];
    return NULL;
}

static oc_status set_ints_attr(pctx *p, oc_graph *g, oc_node *n, const char *name, const int64_t *v, size_t k)
{
    oc_attr *a = attr_mut(n, name);
    if (!a) a = oc_node_add_attr(g, n, name, OC_ATTR_INTS);
    int64_t *arr = a ? oc_model_alloc(p->r->m, (k ? k : 1) * sizeof(int64_t)) : NULL;
    if (!arr) return nomem(p);
    memcpy(arr, v, k * sizeof(int64_t));
    a->ints = arr;
    a->n_ints = k;
    a->type = OC_ATTR_INTS;
    a->has_type = true;
    return OC_OK;
}

static int64_t kept_in(const pctx *p, size_t s, int64_t from, int64_t len)
{
    int64_t k = 0;
    for (int64_t j = from; j < from + len; j++) k += !elem_removed(p, s, j);
    return k;
}

static oc_status apply_edit(pctx *p, const oc_cedit *ed)
{
    oc_graph *g = ed->graph;
    oc_node *n = ed->node;
    int64_t v[64];
    switch (ed->kind) {
    case OC_CEDIT_GROUP: {
        oc_attr *a = attr_mut(n, "group");
        if (!a) return oc_fail(p->r->ctx, OC_ERR_INTERNAL, "node '%s' (%s): no group attribute", n->name, n->op_type);
        a->i = p->kept[ed->space];
        a->has_i = true;
        return OC_OK;
    }
    case OC_CEDIT_RESHAPE:
    case OC_CEDIT_RESIZE: {
        size_t k = ed->slot;
        int64_t cnt = read_ints(oc_graph_weight(g, n->inputs[k]), v, 64);
        if (cnt <= ed->index)
            return oc_fail(p->r->ctx, OC_ERR_INTERNAL, "node '%s' (%s): cannot read its shape input", n->name,
                           n->op_type);
        v[ed->index] = p->kept[ed->space];
        return replace_int_input(p, g, n, k, v, cnt);
    }
    case OC_CEDIT_SPLIT: {
        if (ed->n_sizes > 64) return oc_fail(p->r->ctx, OC_ERR_UNSUPPORTED, "Split '%s': too many outputs", n->name);
        int64_t off = 0;
        for (size_t k = 0; k < ed->n_sizes; k++) {
            v[k] = kept_in(p, ed->space, off, ed->sizes[k]);
            off += ed->sizes[k];
        }
        if (n->n_inputs > 1 && *n->inputs[1]) return replace_int_input(p, g, n, 1, v, (int64_t)ed->n_sizes);
        if (oc_model_opset(p->r->m, "") < 13) return set_ints_attr(p, g, n, "split", v, ed->n_sizes);
        const char *nm;
        char base[512];
        snprintf(base, sizeof(base), "%s_split", n->name && *n->name ? n->name : "split");
        FORWARD_IF_ERROR(new_ints(p, g, base, NULL, v, (int64_t)ed->n_sizes, &nm));
        const char **ins = oc_model_alloc(p->r->m, 2 * sizeof(char *));
        if (!ins) return nomem(p);
        ins[0] = n->inputs[0];
        ins[1] = nm;
        n->inputs = ins;
        n->n_inputs = 2;
        size_t w = 0; /* split sizes and num_outputs exclude each other */
        for (size_t i = 0; i < n->n_attrs; i++)
            if (strcmp(n->attrs[i].name, "num_outputs")) n->attrs[w++] = n->attrs[i];
        n->n_attrs = w;
        oc_graph_invalidate(g);
        return OC_OK;
    }
    case OC_CEDIT_SLICE: {
        int64_t b = kept_in(p, ed->space, 0, ed->start), f = b + kept_in(p, ed->space, ed->start, ed->len);
        bool attrs = oc_model_opset(p->r->m, "") < 10;
        for (int which = 0; which < 2; which++) {
            int64_t cnt;
            if (attrs) {
                const int64_t *cur;
                cnt = oc_attr_ints(n, which ? "ends" : "starts", &cur);
                if (cnt <= ed->index || cnt > 64) return oc_fail(p->r->ctx, OC_ERR_INTERNAL, "Slice '%s'", n->name);
                memcpy(v, cur, (size_t)cnt * sizeof(int64_t));
                v[ed->index] = which ? f : b;
                FORWARD_IF_ERROR(set_ints_attr(p, g, n, which ? "ends" : "starts", v, (size_t)cnt));
            } else {
                cnt = read_ints(oc_graph_weight(g, n->inputs[1 + which]), v, 64);
                if (cnt <= ed->index) return oc_fail(p->r->ctx, OC_ERR_INTERNAL, "Slice '%s'", n->name);
                v[ed->index] = which ? f : b;
                FORWARD_IF_ERROR(replace_int_input(p, g, n, 1 + (size_t)which, v, cnt));
            }
        }
        return OC_OK;
    }
    }
    return OC_ERR_INTERNAL;
}

/* Drops the shape constants this pass replaced, when nothing else reads
 * them (with their main-graph input entries, for IR < 4 models). */
static void drop_replaced(pctx *p)
{
    for (size_t i = 0; i < p->n_replaced; i++) {
        oc_graph *g = p->replaced[i].g;
        const char *name = p->replaced[i].name;
        /* readers in g's bodies count as their If/Loop/Scan node */
        bool used = oc_graph_consumers(g, name, NULL, 0) > 0;
        for (size_t k = 0; k < g->n_outputs && !used; k++) used = !strcmp(g->outputs[k]->name, name);
        if (used) continue;
        size_t w = 0;
        for (size_t k = 0; k < g->n_nodes; k++) {
            oc_node *n = g->nodes[k];
            if (!(oc_node_is_constant(n) && n->n_outputs == 1 && !strcmp(n->outputs[0], name))) g->nodes[w++] = n;
        }
        g->n_nodes = w;
        w = 0;
        for (size_t k = 0; k < g->n_inits; k++)
            if (!g->inits[k]->name || strcmp(g->inits[k]->name, name)) g->inits[w++] = g->inits[k];
        g->n_inits = w;
        w = 0; /* a body's inputs are positional: they stay */
        for (size_t k = 0; k < g->n_inputs; k++)
            if (g->parent || strcmp(g->inputs[k]->name, name)) g->inputs[w++] = g->inputs[k];
        g->n_inputs = w;
        oc_graph_invalidate(g);
    }
}

/* ---- reconstruction ---- */

static const oc_prune_layer *layer_of(const oc_prune_layer *v, size_t n, const oc_node *node)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].node == node) return &v[i];
    return NULL;
}

#define MAX_UNFITTED 6

static const char *node_label(const oc_node *n)
{
    return n->name && *n->name ? n->name : n->n_outputs ? n->outputs[0] : "";
}

static void unfitted(pctx *p, const oc_node *n, const char *why)
{
    if (p->n_unfitted++ < MAX_UNFITTED)
        oc_pass_notice(p->r, "channel: layer '%s' (%s) not refitted: %s", n->name ? n->name : "", n->op_type, why);
}

/* Refits every layer whose input channels shrink onto the inputs it
 * keeps, before any tensor changes (the Gram matrices are the original
 * model's). Removed columns are left at zero. */
static oc_status reconstruct(pctx *p, oc_prune_layer *layers, size_t n_layers)
{
    oc_coupling *c = p->c;
    oc_pass_run *r = p->r;
    const oc_cmember **todo = oc_calloc(c->n_members + 1, sizeof(*todo));
    oc_prune_layer *sel = oc_calloc(c->n_members + 1, sizeof(oc_prune_layer));
    oc_gram *grams = NULL;
    size_t n = 0;
    oc_status st = todo && sel ? OC_OK : nomem(p);
    size_t n_body = 0;
    const oc_node *body_first = NULL;
    for (size_t i = 0; i < c->n_members && st == OC_OK; i++) {
        const oc_cmember *m = &c->members[i];
        if (m->role != OC_CROLE_CONSUMER || !p->changed[c->spaces[m->space].group]) continue;
        /* Gram matrices come from main-graph activations (prune_gram.c):
         * a layer inside a body keeps its weights as they are, pruned */
        if (m->graph != r->m->graph) {
            if (!n_body++) body_first = m->node;
            continue;
        }
        const oc_prune_layer *l = layer_of(layers, n_layers, m->node);
        bool listed = false; /* a weight read by several layers is listed once */
        for (size_t k = 0; k < n_layers && !l; k++) listed |= !strcmp(layers[k].w_name, m->name);
        const char *why = !l ? (listed ? "its weight is shared" : "its weight is not a plain float layer weight")
                          : l->shared ? "its weight is shared"
                          : l->group != 1 ? "it is a grouped convolution"
                          : l->in_axis != m->axis ? "its input axis is not the pruned one"
                          : NULL;
        if (why) {
            unfitted(p, m->node, why);
            continue;
        }
        todo[n] = m;
        sel[n++] = *l;
    }
    if (st == OC_OK && n) {
        grams = oc_calloc(n, sizeof(oc_gram));
        if (!grams) st = nomem(p);
        else st = oc_prune_gram_collect(r, sel, n, true, grams);
    }
    for (size_t i = 0; i < n && st == OC_OK; i++) {
        oc_prune_layer *l = &sel[i];
        const oc_cmember *m = todo[i];
        const oc_gram *gr = &grams[i];
        if (!gr->h || !gr->count || gr->n != l->cols) {
            unfitted(p, l->node, "no Gram matrix (no samples reached it, or it is too large)");
            continue;
        }
        int64_t per = l->cols / l->w->dims[m->axis], nk = 0;
        uint8_t *keep = oc_malloc((size_t)l->cols);
        float *wm = oc_malloc((size_t)(l->rows * l->cols) * sizeof(float));
        float *out = oc_malloc((size_t)(l->rows * l->cols) * sizeof(float));
        if (!keep || !wm || !out) {
            oc_free(keep);
            oc_free(wm);
            oc_free(out);
            st = nomem(p);
            break;
        }
        float *w = oc_prune_weight_mut(r, l);
        if (!w) {
            oc_free(keep);
            oc_free(wm);
            oc_free(out);
            st = OC_ERR_NOMEM; /* the message is set */
            break;
        }
        for (int64_t col = 0; col < l->cols; col++) {
            keep[col] = !elem_removed(p, m->space, m->offset + col / per);
            nk += keep[col];
        }
        for (int64_t row = 0; row < l->rows; row++)
            for (int64_t col = 0; col < l->cols; col++) wm[row * l->cols + col] = w[oc_prune_index(l, row, col)];
        st = oc_lsq_refit_columns(r->ctx, wm, l->rows, l->cols, gr->h, keep, OC_LSQ_DAMP_DEFAULT, out);
        if (st == OC_OK) {
            for (int64_t row = 0; row < l->rows; row++)
                for (int64_t col = 0, k = 0; col < l->cols; col++)
                    w[oc_prune_index(l, row, col)] = keep[col] ? out[row * nk + k++] : 0.0f;
        } else if (st != OC_ERR_NOMEM) {
            unfitted(p, l->node, r->ctx->msg);
            st = OC_OK;
        }
        oc_free(keep);
        oc_free(wm);
        oc_free(out);
    }
    if (p->n_unfitted > MAX_UNFITTED)
        oc_pass_notice(r, "channel: and %zu more layers not refitted", p->n_unfitted - MAX_UNFITTED);
    if (n_body)
        oc_pass_notice(r, "channel: %zu layers inside If/Loop/Scan bodies ('%s'%s) not refitted: refits use "
                       "main-graph activations only; they are pruned as without reconstruct",
                       n_body, node_label(body_first), n_body > 1 ? ", ..." : "");
    if (grams)
        for (size_t i = 0; i < n; i++) oc_gram_free(&grams[i]);
    oc_free(grams);
    oc_free(todo);
    oc_free(sel);
    return st;
}

/* ---- the pass ---- */

/* Is `name` the weight input of layer node n? */
static bool layer_weight(const oc_node *n, const char *name)
{
    bool op = !strcmp(n->op_type, "Conv") || !strcmp(n->op_type, "ConvTranspose") || !strcmp(n->op_type, "Gemm") ||
              !strcmp(n->op_type, "MatMul");
    return op && n->n_inputs > 1 && !strcmp(n->inputs[1], name);
}

static void report_refusals(pctx *p)
{
    oc_coupling *c = p->c;
    size_t shown = 0, more = 0;
    for (size_t gi = 0; gi < c->n_groups; gi++) {
        const oc_cgroup *gr = &c->groups[gi];
        if (!gr->reason) continue; /* every group starts at a layer's outputs */
        if (p->r->rep) p->r->rep->groups_skipped++;
        if (shown < MAX_NOTICES) {
            oc_pass_notice(p->r, "channel: left %lld channels at '%s' alone: %s", (long long)gr->channels,
                           gr->first_value, gr->reason);
            shown++;
        } else {
            more++;
        }
    }
    if (more) oc_pass_notice(p->r, "channel: and %zu more groups left alone", more);
    if (c->n_unshaped)
        oc_pass_notice(p->r, "channel: left %zu layers inside If/Loop/Scan bodies alone ('%s'%s): their output "
                       "shapes are unknown (no probe run reached the body, and its value_info does not say)",
                       c->n_unshaped, node_label(c->unshaped_first), c->n_unshaped > 1 ? ", ..." : "");
}

/* One notice per group pruned through a normalisation (norm=approx): its
 * statistics now cover the kept channels only, so the model no longer
 * computes what it did, unlike every other removal of this pass. Returns
 * how many groups. */
static size_t report_approx(pctx *p)
{
    oc_coupling *c = p->c;
    size_t n = 0;
    for (size_t gi = 0; gi < c->n_groups; gi++) {
        const oc_cgroup *gr = &c->groups[gi];
        if (!gr->n_approx || !p->changed[gi]) continue;
        if (n++ >= MAX_NOTICES) continue;
        int64_t gone = 0;
        for (int64_t u = 0; u < c->n_units; u++) gone += c->unit_group[u] == gi && p->removed[u];
        char more[64] = "";
        if (gr->n_approx > 1) snprintf(more, sizeof(more), " and %zu more node%s", gr->n_approx - 1,
                                       gr->n_approx > 2 ? "s" : "");
        oc_pass_notice(p->r, "channel: %s %lld of the %lld channels at '%s' through a normalisation over them "
                       "(%s '%s'%s): approximate (norm=approx), its statistics %s",
                       p->mask ? "masked" : "removed", (long long)gone, (long long)gr->channels, gr->first_value,
                       gr->approx->op_type, node_label(gr->approx), more,
                       p->mask ? "still cover every channel (mode=mask): removing gives other outputs"
                               : "now cover the kept channels only");
    }
    if (n > MAX_NOTICES) oc_pass_notice(p->r, "channel: and %zu more groups pruned approximately", n - MAX_NOTICES);
    if (p->r->rep) p->r->rep->groups_approx += n;
    return n;
}

static oc_status run(pctx *p)
{
    oc_pass_run *r = p->r;
    oc_coupling *c = p->c;
    oc_prune_layer *layers = NULL;
    size_t n_layers = 0;
    tedit *tv = NULL;
    size_t n_tv = 0;
    int64_t before = 0;
    FORWARD_IF_ERROR(score_sources(p, (int)oc_pass_val(r, "criterion")));
    FORWARD_IF_ERROR(choose(p));
    report_refusals(p);
    size_t n_changed = 0;
    for (size_t gi = 0; gi < c->n_groups; gi++) n_changed += p->changed[gi];
    if (!n_changed) {
        if (!c->n_groups)
            oc_pass_notice(r, "channel: nothing to remove: no prunable layer (Conv, ConvTranspose, Gemm or MatMul "
                              "with a constant weight and a known output shape)");
        else
            oc_pass_notice(r, "channel: nothing to remove (%zu groups, %zu left alone)", c->n_groups,
                           r->rep ? r->rep->groups_skipped : 0);
        return OC_OK;
    }
    size_t n_approx = report_approx(p);
    oc_status st = OC_OK;
    if (oc_pass_val(r, "reconstruct") != 0) {
        st = oc_prune_layers(r, false, 0, &layers, &n_layers);
        if (st == OC_OK) st = reconstruct(p, layers, n_layers);
    }
    if (st == OC_OK) st = collect_tedits(p, &tv, &n_tv);
    /* count, then change: the report reads the weights before */
    int64_t removed_ch = 0;
    for (size_t i = 0; i < c->n_sources && st == OC_OK; i++) {
        const oc_csource *src = &c->sources[i];
        if (!p->changed[src->group]) continue;
        removed_ch += src->count - kept_in(p, src->space, src->offset, src->count);
    }
    for (size_t i = 0; i < n_tv && st == OC_OK; i++) {
        int64_t nd[OC_MAX_DIMS];
        int64_t numel = new_numel(&tv[i], nd);
        before += tv[i].t->numel;
        if (!tv[i].node || !layer_weight(tv[i].node, tv[i].name)) continue;
        const oc_prune_layer *l = layer_of(layers, n_layers, tv[i].node);
        oc_prune_layer tmp = {.g = tv[i].g, .node = tv[i].node, .w_name = tv[i].name, .w = tv[i].t};
        oc_prune_report_layer(r, l ? l : &tmp, tv[i].t->numel - numel);
    }
    for (size_t i = 0; i < n_tv && st == OC_OK; i++) st = apply_tedit(p, &tv[i]);
    if (st == OC_OK && !p->mask) {
        for (size_t i = 0; i < c->n_edits && st == OC_OK; i++)
            if (p->changed[c->spaces[c->edits[i].space].group]) st = apply_edit(p, &c->edits[i]);
        for (size_t s = 0; s < c->n_spaces && st == OC_OK; s++)
            if (p->changed[c->spaces[s].group] && p->kept[s] < c->spaces[s].size)
                set_value_dim(c->spaces[s].graph, c->spaces[s].value, c->spaces[s].axis, p->kept[s]);
        if (st == OC_OK) drop_replaced(p);
    }
    if (st == OC_OK) {
        if (r->rep) r->rep->channels_removed += removed_ch;
        int64_t gone = 0;
        for (size_t i = 0; i < n_tv; i++) gone += tv[i].removed;
        char approx[64] = "";
        if (n_approx) snprintf(approx, sizeof(approx), ", %zu of them approximate (norm=approx)", n_approx);
        oc_pass_notice(r, "channel: %s %lld channels in %zu groups%s "
                       "(%lld of the %lld elements of the %zu tensors touched %s)",
                       p->mask ? "masked" : "removed", (long long)removed_ch, n_changed, approx, (long long)gone,
                       (long long)before, n_tv, p->mask ? "zeroed" : "gone");
    }
    tedits_free(tv, n_tv);
    oc_free(layers);
    return st;
}

oc_status oc_pass_prune_channel(oc_pass_run *r)
{
    pctx p = {.r = r, .mask = oc_pass_val(r, "mode") == 1};
    oc_coupling_opts co = {.norm_approx = oc_pass_val(r, "norm") == 1};
    FORWARD_IF_ERROR(oc_coupling_analyze(r, &co, &p.c));
    oc_coupling *c = p.c;
    if (c->probe_error[0])
        oc_pass_notice(r, "channel: shapes from value_info only, the model did not run: %s", c->probe_error);
    p.escore = oc_malloc((size_t)(c->n_elems + 1) * sizeof(double));
    p.uscore = oc_calloc((size_t)c->n_units + 1, sizeof(double));
    p.usrc = oc_calloc((size_t)c->n_units + 1, sizeof(int64_t));
    p.removed = oc_calloc((size_t)c->n_units + 1, 1);
    p.kept = oc_calloc(c->n_spaces + 1, sizeof(int64_t));
    p.changed = oc_calloc(c->n_groups + 1, sizeof(bool));
    oc_status st = p.escore && p.uscore && p.usrc && p.removed && p.kept && p.changed ? run(&p) : nomem(&p);
    oc_free(p.escore);
    oc_free(p.uscore);
    oc_free(p.usrc);
    oc_free(p.removed);
    oc_free(p.kept);
    oc_free(p.changed);
    oc_free(p.replaced);
    oc_coupling_free(c);
    return st;
}
