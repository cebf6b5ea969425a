/* quant_dynamic.c: dynamic quantization of MatMul and Gemm layers.
 *
 * Weights are stored as int8 (symmetric, one scale per output column by
 * default); activations are quantized at run time, so no calibration data is
 * needed. Every MatMul with a constant 2-D weight B [K, N], and every Gemm
 * with a constant weight, becomes the ONNX-standard form ONNX Runtime's own
 * dynamic quantizer writes (and fuses into its integer kernels):
 *
 *     A --DynamicQuantizeLinear--> A_q (uint8), A_scale, A_zero_point
 *     MatMulInteger(A_q, W_q, A_zero_point, W_zero_point)     int32
 *     Cast(to float) * Mul(A_scale, W_scale)                   float
 *     (+ beta * C for Gemm)
 *
 * Gemm's transB is handled by storing the weight transposed, transA by a
 * Transpose of the activation, alpha is folded into the weight scales and
 * beta into a constant bias (or a Mul when the bias is computed). One
 * DynamicQuantizeLinear serves every layer reading the same activation in a
 * graph, and a weight shared by several layers is quantized once. The float
 * weight goes when nothing else reads it.
 *
 * DynamicQuantizeLinear needs opset 11: an older model is raised when every
 * op it uses can follow (opset.h), else refused naming what stops it.
 * Layers whose output reaches a Log (log-mel audio front ends, where a
 * per-tensor uint8 activation cannot hold the power spectrum's range) stay
 * float by default. Conv and recurrent layers (LSTM, GRU) stay float: ONNX
 * has no integer recurrent op (ONNX Runtime's DynamicQuantizeLSTM is a
 * contrib op), and ConvInteger is not written here. */
#include "passes_extra.h"

#include "opset.h"
#include "../quant/quant.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const oc_pass_opt oc_dynamic_opts[] = {
    {"per_channel", OC_OPT_BOOL, "1", 0, 1, NULL, "one weight scale per output column (the Mul after MatMulInteger broadcasts it)"},
    {"reduce_range", OC_OPT_BOOL, "0", 0, 1, NULL, "7-bit weights, for x86 CPUs without VNNI where u8 x s8 sums can saturate"},
    {"min_elems", OC_OPT_INT, "256", 0, 1e12, NULL, "leave weights with fewer elements in float"},
    {"keep_sensitive", OC_OPT_BOOL, "1", 0, 1, NULL, "keep layers whose output reaches a Log (log-mel front ends) in float"},
};
const size_t oc_dynamic_n_opts = sizeof(oc_dynamic_opts) / sizeof(oc_dynamic_opts[0]);
static_assert(sizeof(oc_dynamic_opts) / sizeof(oc_dynamic_opts[0]) == OC_DYNAMIC_N_OPTS, "option count");

/* A quantized weight, by the names of its initializers. */
typedef struct qw {
    const char *q, *scale, *zp;
    const float *scales; /* the scale values (owned by the scale initializer) */
    int64_t n_scales;
    oc_graph *home;
} qw;

/* A float weight some layer stopped reading. */
typedef struct touched {
    const char *name;
    oc_graph *home;
    oc_node *cnode; /* its Constant node, or NULL for an initializer */
} touched;

typedef struct dctx {
    oc_pass_run *r;
    bool per_channel, reduce_range, keep_sensitive;
    int64_t min_elems;
    bool dry; /* only count candidates */
    int64_t ir_version; /* before any opset raise (which may raise it too) */
    size_t n_candidates;
    size_t n_matmul, n_gemm, n_log, n_small, n_refused;
    oc_strmap wdone;     /* "weight\x01T" -> qw* */
    qw *qws;
    size_t n_qws, cap_qws;
    struct touched *touched; /* float weights that may now be unread */
    size_t n_touched, cap_touched;
    oc_status st;
} dctx;

static oc_status nomem(dctx *d)
{
    return d->st = oc_fail(d->r->ctx, OC_ERR_NOMEM, "out of memory");
}

static const oc_attr *find_attr(const oc_node *n, const char *name)
{
    for (size_t i = 0; i < n->n_attrs; i++)
        if (!strcmp(n->attrs[i].name, name)) return &n->attrs[i];
    return NULL;
}

static int64_t attr_int(const oc_node *n, const char *name, int64_t def)
{
    const oc_attr *a = find_attr(n, name);
    return a && (a->has_i || a->type == OC_ATTR_INT) ? a->i : def;
}

static float attr_float(const oc_node *n, const char *name, float def)
{
    const oc_attr *a = find_attr(n, name);
    return a && (a->has_f || a->type == OC_ATTR_FLOAT) ? a->f : def;
}

/* Adds an initializer owning `data` (freed on failure). */
static const char *add_init(dctx *d, oc_graph *g, const char *base, int dtype, int ndim, const int64_t *dims,
                            void *data, size_t nbytes, oc_tensor **out)
{
    const char *name = oc_graph_unique_name(g, base);
    oc_tensor *t = name ? oc_graph_add_initializer(g, name, dtype, ndim, dims) : NULL;
    if (!t) {
        oc_free(data);
        nomem(d);
        return NULL;
    }
    oc_tensor_set_data(d->r->m, t, data, nbytes);
    if (!t->data && nbytes) { /* the model could not take the buffer */
        nomem(d);
        return NULL;
    }
    if (out) *out = t;
    return name;
}

static oc_node *add_node(dctx *d, oc_graph *g, size_t at, const char *op, const char *base, size_t ni,
                         const char *const *ins, size_t no, const char *const *outs)
{
    const char *nm = oc_graph_unique_name(g, base);
    oc_node *n = nm ? oc_graph_add_node(g, at, op, NULL, nm, ni, ins, no, outs) : NULL;
    if (!n) nomem(d);
    return n;
}

/* A value name not used yet, "<base>_<suffix>". */
static const char *new_value(dctx *d, oc_graph *g, const char *base, const char *suffix)
{
    char buf[600];
    snprintf(buf, sizeof(buf), "%.500s_%s", base, suffix);
    const char *nm = oc_graph_unique_name(g, buf);
    if (!nm) nomem(d);
    return nm;
}

/* Does `tensor` reach a Log through a few value-preserving or elementwise
 * steps (MatMul -> Clip -> Log in log-mel front ends)? */
static bool reaches_log(oc_graph *g, const char *tensor, int depth)
{
    static const char *const through[] = {"Add", "Mul", "Clip", "Max", "Min", "Relu", "Reshape", "Transpose",
                                          "Squeeze", "Unsqueeze", "Flatten", "Identity", "Slice", "Concat",
                                          "Split", NULL};
    if (depth > 4 || !*tensor) return false;
    oc_node *cons[32];
    size_t nc = oc_graph_consumers(g, tensor, cons, 32);
    for (size_t i = 0; i < nc && i < 32; i++) {
        if (!strcmp(cons[i]->op_type, "Log")) return true;
        for (int k = 0; through[k]; k++)
            if (!strcmp(cons[i]->op_type, through[k])) {
                for (size_t o = 0; o < cons[i]->n_outputs; o++)
                    if (reaches_log(g, cons[i]->outputs[o], depth + 1)) return true;
                break;
            }
    }
    return false;
}

static bool note_touched(dctx *d, const char *name, oc_graph *home, oc_node *cnode)
{
    for (size_t i = 0; i < d->n_touched; i++)
        if (d->touched[i].home == home && !strcmp(d->touched[i].name, name)) return true;
    if (d->n_touched == d->cap_touched) {
        size_t nc = d->cap_touched ? d->cap_touched * 2 : 16;
        touched *nt = oc_realloc(d->touched, nc * sizeof(*nt));
        if (!nt) return false;
        d->touched = nt;
        d->cap_touched = nc;
    }
    d->touched[d->n_touched++] = (touched){name, home, cnode};
    return true;
}

/* Weight `name` as seen from g: an initializer of g or of an enclosing
 * graph, or the value of a Constant node there (*cnode); NULL for anything
 * else. A plain scan rather than the graph's name index, which may fail to
 * build when memory is short and would then make weights look computed. */
static oc_tensor *find_weight(oc_graph *g, const char *name, oc_graph **home, oc_node **cnode)
{
    for (; g; g = g->parent) {
        for (size_t i = 0; i < g->n_nodes; i++) {
            oc_node *n = g->nodes[i];
            for (size_t k = 0; k < n->n_outputs; k++) {
                if (strcmp(n->outputs[k], name)) continue;
                const oc_attr *a = oc_node_is_constant(n) ? find_attr(n, "value") : NULL;
                if (!a || !a->t) return NULL;
                *home = g;
                *cnode = n;
                return a->t;
            }
        }
        for (size_t i = 0; i < g->n_inits; i++)
            if (g->inits[i]->name && !strcmp(g->inits[i]->name, name)) {
                *home = g;
                *cnode = NULL;
                return g->inits[i];
            }
        if (oc_graph_is_input(g, name)) return NULL; /* a subgraph input shadows outer names */
    }
    return NULL;
}

static bool float_data(const oc_tensor *t)
{
    return t->dtype == OC_DTYPE_FLOAT && t->data && t->nbytes >= (size_t)t->numel * 4;
}

/* Quantizes weight t ([K, N], or [N, K] stored transposed when `transpose`)
 * into int8 [K, N] with per-column or per-tensor symmetric scales. */
static qw *quantize(dctx *d, oc_graph *home, const char *name, const oc_tensor *t, bool transpose)
{
    char key[600];
    snprintf(key, sizeof(key), "%.500s\x01%d", name, transpose ? 1 : 0);
    oc_strmap_entry *e = oc_strmap_get(&d->wdone, key);
    if (e) return &d->qws[e->aux];
    int64_t K = transpose ? t->dims[1] : t->dims[0], N = transpose ? t->dims[0] : t->dims[1];
    size_t n = (size_t)(K * N);
    int64_t ns = d->per_channel ? N : 1;
    /* the weight as [K, N] rows: read in place when float-aligned (the
     * usual case, mapped file included), else copied; transposed in tiles */
    const bool copy = transpose || (uintptr_t)t->data % sizeof(float);
    float *w = copy ? oc_malloc(n ? n * sizeof(float) : 4) : NULL;
    int8_t *q = oc_malloc(n ? n : 1);
    float *sc = oc_malloc((size_t)N * sizeof(float) + 1);
    int8_t *zp = oc_calloc((size_t)ns, 1);
    if ((copy && !w) || !q || !sc || !zp) {
        oc_free(w);
        oc_free(q);
        oc_free(sc);
        oc_free(zp);
        nomem(d);
        return NULL;
    }
    const unsigned char *src = t->data; /* may be unaligned when borrowed */
    enum { TILE = 32 };
    for (int64_t k0 = 0; transpose && k0 < K; k0 += TILE)
        for (int64_t c0 = 0; c0 < N; c0 += TILE)
            for (int64_t c = c0; c < N && c < c0 + TILE; c++)
                for (int64_t k = k0; k < K && k < k0 + TILE; k++)
                    memcpy(&w[k * N + c], src + (size_t)(c * K + k) * 4, 4);
    if (copy && !transpose) memcpy(w, src, n * sizeof(float));
    const float *rows = copy ? w : t->data;
    int32_t qmax = d->reduce_range ? 63 : 127;
    /* each column's largest finite |w| (the whole weight's, per tensor) */
    oc_q_absmax_cols(rows, K, N, sc);
    float all = 0;
    for (int64_t c = 0; c < N; c++) all = sc[c] > all ? sc[c] : all;
    for (int64_t c = 0; c < N; c++) {
        float scale = (ns == 1 ? all : sc[c]) / (float)qmax;
        sc[c] = scale >= 1.17549435e-38f ? scale : 1.0f; /* an all-zero column: any scale is exact */
    }
    oc_q_symmetric8_cols(rows, K, N, sc, qmax, q);
    oc_free(w);
    char base[600];
    int64_t qdims[2] = {K, N}, sdims[1] = {N};
    int sdim = ns == 1 ? 0 : 1;
    oc_tensor *st = NULL;
    snprintf(base, sizeof(base), "%.500s_quantized", name);
    const char *qn = add_init(d, home, base, OC_DTYPE_INT8, 2, qdims, q, n, NULL);
    snprintf(base, sizeof(base), "%.500s_scale", name);
    const char *sn = qn ? add_init(d, home, base, OC_DTYPE_FLOAT, sdim, sdims, sc, (size_t)ns * 4, &st) : NULL;
    if (!qn) oc_free(sc);
    snprintf(base, sizeof(base), "%.500s_zero_point", name);
    const char *zn = sn ? add_init(d, home, base, OC_DTYPE_INT8, sdim, sdims, zp, (size_t)ns, NULL) : NULL;
    if (!sn) oc_free(zp);
    if (!zn) return NULL;
    if (d->n_qws == d->cap_qws) {
        size_t nc = d->cap_qws ? d->cap_qws * 2 : 16;
        qw *nq = oc_realloc(d->qws, nc * sizeof(qw));
        if (!nq) {
            nomem(d);
            return NULL;
        }
        d->qws = nq;
        d->cap_qws = nc;
    }
    const char *kc = oc_model_strdup(d->r->m, key);
    bool added;
    e = kc ? oc_strmap_put(&d->wdone, kc, &added) : NULL;
    if (!e) {
        nomem(d);
        return NULL;
    }
    e->aux = (uint32_t)d->n_qws;
    qw *r = &d->qws[d->n_qws++];
    *r = (qw){qn, sn, zn, st->data, ns, home};
    d->r->rep->weights_quantized++;
    d->r->rep->weight_bytes_before += (int64_t)t->nbytes;
    d->r->rep->weight_bytes_after += (int64_t)n + ns * 5;
    return r;
}

/* One DynamicQuantizeLinear per activation per graph: outputs in out[3]. */
static bool dql_for(dctx *d, oc_graph *g, oc_strmap *dql, const char *act, const char **out)
{
    oc_strmap_entry *e = oc_strmap_get(dql, act);
    if (e) {
        memcpy(out, e->val, 3 * sizeof(char *));
        return true;
    }
    const char **names = oc_model_alloc(d->r->m, 3 * sizeof(char *));
    if (!names) {
        nomem(d);
        return false;
    }
    names[0] = new_value(d, g, act, "quantized");
    names[1] = names[0] ? new_value(d, g, act, "scale") : NULL;
    names[2] = names[1] ? new_value(d, g, act, "zero_point") : NULL;
    if (!names[2]) return false;
    /* right after the producer (a plain scan: it works when memory is
     * short), or first for inputs and values of enclosing graphs */
    size_t at = 0;
    for (size_t i = 0; i < g->n_nodes; i++)
        for (size_t k = 0; k < g->nodes[i]->n_outputs; k++)
            if (!strcmp(g->nodes[i]->outputs[k], act)) at = i + 1;
    char base[600];
    snprintf(base, sizeof(base), "%.500s_DynamicQuantizeLinear", act);
    const char *ins[1] = {act};
    if (!add_node(d, g, at, "DynamicQuantizeLinear", base, 1, ins, 3, names)) return false;
    const char *key = oc_model_strdup(d->r->m, act);
    bool added;
    e = key ? oc_strmap_put(dql, key, &added) : NULL;
    if (!e) {
        nomem(d);
        return false;
    }
    e->val = (void *)names;
    memcpy(out, names, 3 * sizeof(char *));
    return true;
}

/* Is node n a layer to rewrite? Sets the weight slot and whether the
 * weight is stored [N, K]. */
static bool candidate(dctx *d, oc_graph *g, oc_node *n, oc_tensor **wt, bool *transpose)
{
    bool mm = !strcmp(n->op_type, "MatMul"), gemm = !strcmp(n->op_type, "Gemm");
    if ((!mm && !gemm) || n->n_inputs < 2 || n->n_outputs < 1 || !oc_pass_node_selected(d->r, n)) return false;
    const char *b = n->inputs[1];
    oc_graph *home;
    oc_node *cnode;
    if (!*n->inputs[0] || !*b || find_weight(g, n->inputs[0], &home, &cnode)) return false;
    oc_tensor *t = find_weight(g, b, &home, &cnode);
    if (!t || t->ndim != 2 || !float_data(t)) return false;
    if (!cnode && oc_graph_is_input(home, b) && d->ir_version >= 4) return false; /* the caller may feed it */
    if (t->numel < d->min_elems) {
        d->n_small++;
        return false;
    }
    if (d->keep_sensitive && reaches_log(g, n->outputs[0], 0)) {
        d->n_log++;
        return false;
    }
    *transpose = gemm && attr_int(n, "transB", 0) != 0;
    if (gemm && n->n_inputs > 2 && *n->inputs[2]) {
        oc_tensor *c = find_weight(g, n->inputs[2], &home, &cnode);
        if (c && !float_data(c)) {
            d->n_refused++;
            return false;
        }
    }
    *wt = t;
    return true;
}

/* Rewrites MatMul/Gemm n of g (weight t) into the integer form. */
static void rewrite(dctx *d, oc_graph *g, oc_strmap *dql, oc_node *n, oc_tensor *t, bool transpose)
{
    bool gemm = !strcmp(n->op_type, "Gemm");
    char wname[512], yname[512];
    snprintf(wname, sizeof(wname), "%s", n->inputs[1]);
    snprintf(yname, sizeof(yname), "%s", n->outputs[0]);
    oc_node *cnode = NULL;
    oc_graph *home = NULL;
    qw *w = find_weight(g, wname, &home, &cnode) == t ? quantize(d, home, wname, t, transpose) : NULL;
    if (!w) return;
    const char *wc = oc_model_strdup(d->r->m, wname);
    if (!wc || !note_touched(d, wc, home, cnode)) {
        nomem(d);
        return;
    }
    const char *act = n->inputs[0];
    size_t at = oc_graph_node_index(g, n);
    const char *scale_name = w->scale;
    float alpha = gemm ? attr_float(n, "alpha", 1.0f) : 1.0f;
    float beta = gemm ? attr_float(n, "beta", 1.0f) : 1.0f;
    if (gemm && attr_int(n, "transA", 0)) {
        const char *ta = new_value(d, g, act, "transposed");
        const char *ins[1] = {act}, *outs[1] = {ta};
        if (!ta || !add_node(d, g, at++, "Transpose", ta, 1, ins, 1, outs)) return;
        act = ta;
    }
    if (alpha != 1.0f) { /* folded into this layer's weight scales */
        float *sc = oc_malloc((size_t)w->n_scales * sizeof(float));
        if (!sc) {
            nomem(d);
            return;
        }
        for (int64_t i = 0; i < w->n_scales; i++) sc[i] = w->scales[i] * alpha;
        int64_t sd[1] = {w->n_scales};
        char base[600];
        snprintf(base, sizeof(base), "%.500s_scale_alpha", wname);
        scale_name = add_init(d, w->home, base, OC_DTYPE_FLOAT, w->n_scales == 1 ? 0 : 1, sd, sc,
                              (size_t)w->n_scales * 4, NULL);
        if (!scale_name) return;
    }
    const char *aq[3];
    if (!dql_for(d, g, dql, act, aq)) return;
    at = oc_graph_node_index(g, n);
    const char *y_int = new_value(d, g, yname, "int32");
    const char *y_f = y_int ? new_value(d, g, yname, "float") : NULL;
    const char *y_s = y_f ? new_value(d, g, yname, "scale") : NULL;
    if (!y_s) return;
    bool bias = gemm && n->n_inputs > 2 && *n->inputs[2] && beta != 0.0f;
    const char *y_m = bias ? new_value(d, g, yname, "unbiased") : yname;
    if (!y_m) return;
    const char *mi[4] = {aq[0], w->q, aq[2], w->zp}, *mo[1] = {y_int};
    const char *ci[1] = {y_int}, *co[1] = {y_f};
    const char *si[2] = {aq[1], scale_name}, *so[1] = {y_s};
    const char *pi[2] = {y_f, y_s}, *po[1] = {y_m};
    char base[600];
    snprintf(base, sizeof(base), "%.500s_MatMulInteger", yname);
    if (!add_node(d, g, at++, "MatMulInteger", base, 4, mi, 1, mo)) return;
    snprintf(base, sizeof(base), "%.500s_Cast", yname);
    oc_node *cast = add_node(d, g, at++, "Cast", base, 1, ci, 1, co);
    if (!cast) return;
    oc_attr *to = oc_node_add_attr(g, cast, "to", OC_ATTR_INT);
    if (!to) {
        nomem(d);
        return;
    }
    to->i = OC_DTYPE_FLOAT;
    to->has_i = true;
    snprintf(base, sizeof(base), "%.500s_scale_Mul", yname);
    if (!add_node(d, g, at++, "Mul", base, 2, si, 1, so)) return;
    snprintf(base, sizeof(base), "%.500s_Mul", yname);
    if (!add_node(d, g, at++, "Mul", base, 2, pi, 1, po)) return;
    if (bias) {
        const char *c = n->inputs[2];
        oc_graph *ch;
        oc_node *cc;
        oc_tensor *ct = find_weight(g, c, &ch, &cc);
        if (beta != 1.0f && ct) { /* a constant bias: scaled once, here */
            float *b = oc_malloc(ct->numel ? (size_t)ct->numel * 4 : 4);
            if (!b) {
                nomem(d);
                return;
            }
            memcpy(b, ct->data, (size_t)ct->numel * 4);
            for (int64_t i = 0; i < ct->numel; i++) b[i] *= beta;
            snprintf(base, sizeof(base), "%.500s_beta", c);
            c = add_init(d, g, base, OC_DTYPE_FLOAT, ct->ndim, ct->dims, b, (size_t)ct->numel * 4, NULL);
            if (!c) return;
        } else if (beta != 1.0f) { /* a computed bias: scaled at run time */
            float *b = oc_malloc(4);
            if (!b) {
                nomem(d);
                return;
            }
            *b = beta;
            snprintf(base, sizeof(base), "%.500s_beta", yname);
            const char *bn = add_init(d, g, base, OC_DTYPE_FLOAT, 0, NULL, b, 4, NULL);
            const char *cb = bn ? new_value(d, g, c, "beta") : NULL;
            if (!cb) return;
            const char *bi[2] = {c, bn}, *bo[1] = {cb};
            snprintf(base, sizeof(base), "%.500s_beta_Mul", yname);
            if (!add_node(d, g, at++, "Mul", base, 2, bi, 1, bo)) return;
            c = cb;
        }
        const char *ai[2] = {y_m, c}, *ao[1] = {yname};
        snprintf(base, sizeof(base), "%.500s_bias_Add", yname);
        if (!add_node(d, g, at++, "Add", base, 2, ai, 1, ao)) return;
    }
    oc_graph_remove_node(g, n);
    if (gemm) d->n_gemm++;
    else d->n_matmul++;
    d->r->rep->nodes_quantized++;
}

static void visit_graph(dctx *d, oc_graph *g);

static void visit_sub(void *ud, oc_graph *sub)
{
    visit_graph(ud, sub);
}

static void visit_graph(dctx *d, oc_graph *g)
{
    size_t n = g->n_nodes;
    oc_node **snap = oc_malloc((n ? n : 1) * sizeof(oc_node *));
    if (!snap) {
            nomem(d);
            return;
        }
    memcpy(snap, g->nodes, n * sizeof(oc_node *));
    oc_strmap dql;
    oc_strmap_init(&dql);
    for (size_t i = 0; i < n && d->st == OC_OK; i++) {
        oc_node *nd = snap[i];
        oc_node_foreach_subgraph(nd, visit_sub, d);
        oc_tensor *t = NULL;
        bool tr = false;
        if (d->st != OC_OK || !candidate(d, g, nd, &t, &tr)) continue;
        d->n_candidates++;
        if (!d->dry) rewrite(d, g, &dql, nd, t, tr);
    }
    oc_strmap_free(&dql);
    oc_free(snap);
}

/* Drops float weights nothing reads any more. */
static void drop_unread(dctx *d)
{
    for (size_t i = 0; i < d->n_touched; i++) {
        const touched *t = &d->touched[i];
        oc_graph *home = t->home;
        if (oc_graph_consumers(home, t->name, NULL, 0)) continue;
        bool out = false;
        for (size_t k = 0; k < home->n_outputs; k++) out |= !strcmp(home->outputs[k]->name, t->name);
        if (out) continue;
        if (t->cnode) {
            oc_graph_remove_node(home, t->cnode);
            continue;
        }
        size_t w = 0;
        for (size_t k = 0; k < home->n_inits; k++)
            if (!home->inits[k]->name || strcmp(home->inits[k]->name, t->name)) home->inits[w++] = home->inits[k];
        home->n_inits = w;
        w = 0; /* IR 3 lists initializers as graph inputs too */
        for (size_t k = 0; k < home->n_inputs; k++)
            if (strcmp(home->inputs[k]->name, t->name)) home->inputs[w++] = home->inputs[k];
        home->n_inputs = w;
        oc_graph_invalidate(home);
    }
}

static void report_kept(dctx *d)
{
    if (d->n_log)
        oc_pass_notice(d->r, "dynamic: kept %zu layer%s feeding a Log in float (keep_sensitive=0 quantizes them)",
                       d->n_log, d->n_log == 1 ? "" : "s");
    if (d->n_small)
        oc_pass_notice(d->r, "dynamic: kept %zu layer%s with weights under %lld elements in float (min_elems)",
                       d->n_small, d->n_small == 1 ? "" : "s", (long long)d->min_elems);
    if (d->n_refused)
        oc_pass_notice(d->r, "dynamic: kept %zu Gemm layer%s with a non-float32 bias in float", d->n_refused,
                       d->n_refused == 1 ? "" : "s");
}

oc_status oc_pass_quant_dynamic(oc_pass_run *r)
{
    dctx d;
    memset(&d, 0, sizeof(d));
    d.r = r;
    d.per_channel = oc_pass_val(r, "per_channel") != 0;
    d.reduce_range = oc_pass_val(r, "reduce_range") != 0;
    d.min_elems = (int64_t)oc_pass_val(r, "min_elems");
    d.keep_sensitive = oc_pass_val(r, "keep_sensitive") != 0;
    d.ir_version = r->m->ir_version;
    oc_strmap_init(&d.wdone);

    /* a dry walk first: nothing to do means no opset change either */
    d.dry = true;
    visit_graph(&d, r->m->graph);
    d.dry = false;
    if (d.st != OC_OK) goto done;
    if (!d.n_candidates) {
        oc_pass_notice(r, "dynamic: no MatMul or Gemm with a constant 2-D float weight to quantize");
        report_kept(&d);
        goto done;
    }
    d.n_log = d.n_small = d.n_refused = 0;
    int64_t have = oc_model_opset(r->m, "");
    if (have < 11) {
        char why[1024];
        if (!oc_opset_can_upgrade(r->m, 11, why, sizeof(why))) {
            d.st = oc_fail(r->ctx, OC_ERR_UNSUPPORTED,
                           "dynamic: DynamicQuantizeLinear needs opset 11, the model has %lld and cannot be raised: %s",
                           (long long)have, why);
            goto done;
        }
        d.st = oc_opset_upgrade(r->ctx, r->m, 11);
        if (d.st != OC_OK) goto done;
        oc_pass_notice(r, "dynamic: raised the model's opset from %lld to 11 (DynamicQuantizeLinear)", (long long)have);
    }
    d.n_candidates = 0;
    visit_graph(&d, r->m->graph);
    if (d.st != OC_OK) goto done;
    drop_unread(&d);
    oc_pass_notice(r, "dynamic: %zu MatMul and %zu Gemm layers to DynamicQuantizeLinear + MatMulInteger "
                   "(%zu int8 weights, %s%s)", d.n_matmul, d.n_gemm, d.n_qws,
                   d.per_channel ? "per-column scales" : "per-tensor scales", d.reduce_range ? ", 7-bit" : "");
    report_kept(&d);
done:
    oc_strmap_free(&d.wdone);
    oc_free(d.qws);
    oc_free(d.touched);
    return d.st;
}
