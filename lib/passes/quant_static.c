/* quant_static.c: static (calibrated) quantization of weights and
 * activations, in the QDQ form ONNX Runtime's graph transformer fuses into
 * QLinearConv, QLinearMatMul, QLinearAdd and friends.
 *
 * Where pairs go (../shared/QDQ-RULES.md has the reasons):
 *  - compute ops (Conv, ConvTranspose, Gemm, MatMul, Add, Mul, Concat,
 *    AveragePool, GlobalAveragePool, Resize, Softmax, Sigmoid, LeakyRelu)
 *    get a pair on every float activation input and on their output;
 *  - an output read only by one Relu/Clip is not quantized: the activation's
 *    output carries the range (ORT then drops the Relu into the Q);
 *  - data-movement ops (Reshape, Transpose, Squeeze, Unsqueeze, Flatten,
 *    Slice, Gather, MaxPool, Split, Pad, DepthToSpace, SpaceToDepth) whose
 *    input is quantized give their output the same scale and zero point, so
 *    nothing is requantized;
 *  - normalisation statistics (the ReduceMean/Sub/Pow/Sqrt/Div chains of a
 *    decomposed LayerNorm) stay float, and so do tensors custom-domain nodes
 *    read or write, and everything inside subgraphs;
 *  - one pair per tensor, shared by all readers; weights int8 per channel,
 *    biases int32 with scale = input scale x weight scale.
 * Ranges come from running the float model in the interpreter over the
 * calibration samples, streaming every tensor's values into an observer
 * (MinMax, Percentile, Entropy or MSE) whose memory does not grow. */
#include "opset.h"
#include "qdq.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const compute_ops[] = {"Conv", "ConvTranspose", "Gemm", "MatMul", "Add", "Mul", "Concat",
                                          "AveragePool", "GlobalAveragePool", "Resize", "Softmax", "Sigmoid",
                                          "LeakyRelu", NULL};
static const char *const share_ops[] = {"Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten", "Slice",
                                        "Gather", "MaxPool", "Split", "Pad", "DepthToSpace", "SpaceToDepth",
                                        "Identity", NULL};
static const char *const norm_ops[] = {"ReduceMean", "Pow", "Sqrt", "Reciprocal", NULL};

static bool is_in(const char *op, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (!strcmp(op, list[i])) return true;
    return false;
}

/* which inputs of a compute op are activations to quantize */
static bool act_input(const oc_node *n, size_t k)
{
    const char *op = n->op_type;
    if (!strcmp(op, "Conv") || !strcmp(op, "ConvTranspose")) return k == 0;
    if (!strcmp(op, "Gemm")) return k == 0 || k == 1;
    if (!strcmp(op, "Resize")) return k == 0;
    if (!strcmp(op, "Softmax") || !strcmp(op, "Sigmoid") || !strcmp(op, "LeakyRelu") ||
        !strcmp(op, "AveragePool") || !strcmp(op, "GlobalAveragePool"))
        return k == 0;
    return true; /* MatMul, Add, Mul, Concat: every input */
}

typedef struct mark {
    const char *name;
    oc_observer *obs;
    const char *share_from; /* takes this tensor's parameters */
    bool is_float;          /* seen as float32 during calibration */
    oc_qparams p;
    bool done;
} mark;

typedef struct sctx {
    oc_pass_run *r;
    oc_graph *g;
    oc_strmap marks; /* name -> mark* */
    mark *m;
    size_t n_m, cap_m;
    int act_dtype;
    bool act_sym;
    oc_calib_method method;
    double percentile;
    bool keep_sensitive;
    oc_strmap norm; /* nodes (by first output) in normalisation chains */
    oc_status st;
} sctx;

static mark *get_mark(sctx *s, const char *name)
{
    oc_strmap_entry *e = oc_strmap_get(&s->marks, name);
    return e ? &s->m[e->aux] : NULL;
}

static mark *add_mark(sctx *s, const char *name)
{
    mark *have = get_mark(s, name);
    if (have) return have;
    if (s->n_m == s->cap_m) {
        size_t nc = s->cap_m ? s->cap_m * 2 : 64;
        mark *nm = oc_realloc(s->m, nc * sizeof(mark));
        if (!nm) return NULL;
        s->m = nm;
        s->cap_m = nc;
    }
    bool added;
    oc_strmap_entry *e = oc_strmap_put(&s->marks, name, &added);
    if (!e) return NULL;
    e->aux = (uint32_t)s->n_m;
    mark *mk = &s->m[s->n_m++];
    memset(mk, 0, sizeof(*mk));
    mk->name = name;
    return mk;
}

/* Is `name` something to quantize: an activation (not a weight or other
 * constant), not produced or read by a custom-domain node. */
static bool quantizable_tensor(sctx *s, const char *name)
{
    if (!*name) return false;
    if (oc_graph_weight(s->g, name)) return false;
    oc_node *p = oc_graph_producer(s->g, name, NULL);
    if (p && (!oc_domain_is_default(p->domain) || !strcmp(p->op_type, "DequantizeLinear") ||
              !strcmp(p->op_type, "Constant") || !strcmp(p->op_type, "Shape")))
        return false;
    oc_node *cons[64];
    size_t nc = oc_graph_consumers(s->g, name, cons, 64);
    for (size_t i = 0; i < nc && i < 64; i++)
        if (!oc_domain_is_default(cons[i]->domain) || !strcmp(cons[i]->op_type, "QuantizeLinear")) return false;
    return true;
}

/* Nodes of decomposed normalisations: from every ReduceMean, follow readers
 * through Sub/Pow/ReduceMean/Add/Sqrt/Div/Mul/Reciprocal for a few steps. */
static void find_norm_chains(sctx *s)
{
    oc_graph *g = s->g;
    for (size_t i = 0; i < g->n_nodes; i++) {
        oc_node *n = g->nodes[i];
        if (!is_in(n->op_type, norm_ops) || !n->n_outputs) continue;
        oc_strmap_put(&s->norm, n->outputs[0], NULL);
        /* the readers of a statistic (x - mean, var + eps, / std) */
        oc_node *cons[16];
        size_t nc = oc_graph_consumers(g, n->outputs[0], cons, 16);
        for (size_t k = 0; k < nc && k < 16; k++)
            if (cons[k]->n_outputs) oc_strmap_put(&s->norm, cons[k]->outputs[0], NULL);
    }
}

static bool in_norm(sctx *s, const oc_node *n)
{
    return n->n_outputs && oc_strmap_get(&s->norm, n->outputs[0]);
}

static bool only_reader_is_act(sctx *s, const char *name, oc_node **act)
{
    oc_node *cons[4];
    size_t nc = oc_graph_consumers(s->g, name, cons, 4);
    if (nc != 1) return false;
    for (size_t i = 0; i < s->g->n_outputs; i++)
        if (!strcmp(s->g->outputs[i]->name, name)) return false;
    if (strcmp(cons[0]->op_type, "Relu") && strcmp(cons[0]->op_type, "Clip")) return false;
    if (!oc_pass_node_selected(s->r, cons[0])) return false;
    *act = cons[0];
    return true;
}

static oc_status plan(sctx *s, const size_t *order)
{
    oc_graph *g = s->g;
    for (size_t oi = 0; oi < g->n_nodes; oi++) {
        oc_node *n = g->nodes[order[oi]];
        if (!is_in(n->op_type, compute_ops) || !oc_pass_node_selected(s->r, n) || in_norm(s, n)) continue;
        for (size_t k = 0; k < n->n_inputs; k++) {
            if (!act_input(n, k) || !quantizable_tensor(s, n->inputs[k])) continue;
            if (s->keep_sensitive && oc_qdq_feeds_sensitive(g, n->inputs[k], 0)) continue;
            if (!add_mark(s, n->inputs[k])) return oc_fail(s->r->ctx, OC_ERR_NOMEM, "out of memory");
        }
        if (!n->n_outputs || !*n->outputs[0]) continue;
        if (s->keep_sensitive && oc_qdq_feeds_sensitive(g, n->outputs[0], 0)) continue;
        oc_node *act = NULL;
        const char *out = n->outputs[0];
        if (only_reader_is_act(s, out, &act) && act->n_outputs) out = act->outputs[0];
        if (quantizable_tensor(s, out) && !add_mark(s, out)) return oc_fail(s->r->ctx, OC_ERR_NOMEM, "out of memory");
    }
    /* data movement shares its input's parameters */
    for (size_t oi = 0; oi < g->n_nodes; oi++) {
        oc_node *n = g->nodes[order[oi]];
        if (!is_in(n->op_type, share_ops) || !oc_pass_node_selected(s->r, n) || !n->n_inputs) continue;
        if (!strcmp(n->op_type, "Pad")) {
            /* constant padding with a non-zero value would change the range */
            if (n->n_inputs > 2 && *n->inputs[2]) continue;
        }
        mark *in = get_mark(s, n->inputs[0]);
        if (!in) continue;
        for (size_t k = 0; k < n->n_outputs; k++) {
            if (!*n->outputs[k] || !quantizable_tensor(s, n->outputs[k])) continue;
            const char *from = in->share_from ? in->share_from : in->name;
            mark *mo = add_mark(s, n->outputs[k]);
            if (!mo) return oc_fail(s->r->ctx, OC_ERR_NOMEM, "out of memory");
            mo->share_from = from;
        }
    }
    return OC_OK;
}

/* ---- calibration ---- */

static void observe(void *ud, const char *name, const oc_ten *t)
{
    sctx *s = ud;
    mark *mk = get_mark(s, name);
    if (!mk || !mk->obs) return;
    if (t->dtype != OC_DTYPE_FLOAT) return;
    mk->is_float = true;
    oc_observer_update(mk->obs, t->data, (size_t)t->numel);
}

static oc_status calibrate(sctx *s)
{
    oc_pass_run *r = s->r;
    for (size_t i = 0; i < s->n_m; i++) {
        if (s->m[i].share_from) continue;
        s->m[i].obs = oc_observer_new(s->method, s->percentile);
        if (!s->m[i].obs) return oc_fail(r->ctx, OC_ERR_NOMEM, "out of memory");
    }
    size_t n = 0;
    oc_status st = oc_pass_run_samples(s->r, observe, s, &n);
    if (st == OC_OK)
        oc_pass_notice(r, "static: calibrated on %zu sample%s of %s", n, n == 1 ? "" : "s", r->popts->data_src);
    return st;
}

/* ---- bias correction ----
 * Per-channel means of each biased Conv/Gemm output, once with float
 * weights and once with quantized ones; the difference is the systematic
 * error the weights' rounding adds, and comes off the bias. */

typedef struct chan_mean {
    const char *name; /* output tensor */
    oc_node *node;
    int axis;         /* channel axis of the output: 1 for Conv, last for Gemm */
    int64_t c;
    double *sum[2];   /* float run, quantized-weight run */
    int64_t cnt[2];
} chan_mean;

typedef struct bc_ctx {
    chan_mean *cm;
    size_t n;
    int phase;
} bc_ctx;

static void bc_observe(void *ud, const char *name, const oc_ten *t)
{
    bc_ctx *b = ud;
    if (t->dtype != OC_DTYPE_FLOAT) return;
    for (size_t i = 0; i < b->n; i++) {
        chan_mean *m = &b->cm[i];
        if (strcmp(m->name, name)) continue;
        int ax = m->axis < 0 ? t->ndim - 1 : m->axis;
        if (ax >= t->ndim || t->dims[ax] != m->c) return;
        int64_t inner = 1, outer = 1;
        for (int d = ax + 1; d < t->ndim; d++) inner *= t->dims[d];
        for (int d = 0; d < ax; d++) outer *= t->dims[d];
        const float *x = t->data;
        for (int64_t o = 0; o < outer; o++)
            for (int64_t c = 0; c < m->c; c++) {
                const float *p = x + (o * m->c + c) * inner;
                double acc = 0;
                for (int64_t e = 0; e < inner; e++) acc += p[e];
                m->sum[b->phase][c] += acc;
            }
        m->cnt[b->phase] += outer * inner;
        return;
    }
}

static oc_status bias_collect(sctx *s, const size_t *order, bc_ctx *b)
{
    oc_graph *g = s->g;
    b->cm = oc_calloc(g->n_nodes + 1, sizeof(chan_mean));
    if (!b->cm) return oc_fail(s->r->ctx, OC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < g->n_nodes; i++) {
        oc_node *n = g->nodes[order[i]];
        bool conv = !strcmp(n->op_type, "Conv"), gemm = !strcmp(n->op_type, "Gemm");
        if ((!conv && !gemm) || n->n_inputs < 3 || !*n->inputs[2] || !n->n_outputs) continue;
        if (!oc_pass_node_selected(s->r, n)) continue;
        oc_tensor *bias = oc_graph_weight(g, n->inputs[2]);
        if (!bias || bias->dtype != OC_DTYPE_FLOAT || bias->ndim != 1 || !oc_qdq_init_home(g, n->inputs[2])) continue;
        chan_mean *m = &b->cm[b->n];
        m->name = n->outputs[0];
        m->node = n;
        m->axis = conv ? 1 : -1;
        m->c = bias->numel;
        m->sum[0] = oc_calloc((size_t)m->c + 1, sizeof(double));
        m->sum[1] = oc_calloc((size_t)m->c + 1, sizeof(double));
        if (!m->sum[0] || !m->sum[1]) return oc_fail(s->r->ctx, OC_ERR_NOMEM, "out of memory");
        b->n++;
    }
    return OC_OK;
}

/* Shifts each float bias by the mean error; the bias is then quantized as usual. */
static oc_status bias_apply(sctx *s, bc_ctx *b)
{
    oc_graph *g = s->g;
    size_t done = 0;
    for (size_t i = 0; i < b->n; i++) {
        chan_mean *m = &b->cm[i];
        if (!m->cnt[0] || m->cnt[0] != m->cnt[1]) continue;
        const char *bn = m->node->inputs[2];
        oc_tensor *bias = oc_graph_weight(g, bn);
        if (!bias || bias->numel != m->c) continue;
        float *nb = oc_malloc((size_t)m->c * sizeof(float));
        if (!nb) return oc_fail(s->r->ctx, OC_ERR_NOMEM, "out of memory");
        memcpy(nb, bias->data, (size_t)m->c * sizeof(float));
        double per = (double)m->cnt[0]; /* values seen per channel */
        for (int64_t c = 0; c < m->c; c++) nb[c] -= (float)((m->sum[1][c] - m->sum[0][c]) / per);
        oc_tensor_set_data(s->r->m, bias, nb, (size_t)m->c * sizeof(float));
        done++;
    }
    if (done) oc_pass_notice(s->r, "static: corrected %zu bias%s for the mean error of quantized weights", done,
                             done == 1 ? "" : "es");
    return OC_OK;
}

static void bias_free(bc_ctx *b)
{
    for (size_t i = 0; i < b->n; i++) {
        oc_free(b->cm[i].sum[0]);
        oc_free(b->cm[i].sum[1]);
    }
    oc_free(b->cm);
}

/* ---- editing ---- */

static const char *weight_opnd(const oc_node *n, size_t *slot, int *axis, int *bias_slot)
{
    const char *op = n->op_type;
    *bias_slot = -1;
    if (!strcmp(op, "Conv")) {
        *slot = 1;
        *axis = 0;
        *bias_slot = 2;
    } else if (!strcmp(op, "ConvTranspose")) {
        *slot = 1;
        *axis = 1;
    } else if (!strcmp(op, "Gemm")) {
        int64_t tb = 0;
        float beta = 1;
        for (size_t i = 0; i < n->n_attrs; i++) {
            if (!strcmp(n->attrs[i].name, "transB")) tb = n->attrs[i].i;
            if (!strcmp(n->attrs[i].name, "beta")) beta = n->attrs[i].f;
        }
        *slot = 1;
        *axis = tb ? 0 : 1;
        if (beta == 1.0f) *bias_slot = 2;
    } else if (!strcmp(op, "MatMul")) {
        *slot = 1;
        *axis = -2; /* last axis, known from the weight's rank */
    } else {
        return NULL;
    }
    return *slot < n->n_inputs ? n->inputs[*slot] : NULL;
}

/* phase 0: weights and biases together; 1: weights only; 2: biases of the
 * weights phase 1 quantized (scales read back from their DequantizeLinear) */
static oc_status quantize_weights(sctx *s, const size_t *order, bool per_channel, int phase)
{
    oc_graph *g = s->g;
    oc_pass_run *r = s->r;
    size_t n_nodes = g->n_nodes;
    oc_node **snap = oc_malloc((n_nodes ? n_nodes : 1) * sizeof(oc_node *));
    size_t *ord = oc_malloc((n_nodes ? n_nodes : 1) * sizeof(size_t));
    /* an earlier phase added nodes: order the graph as it is now */
    oc_status ost = snap && ord ? oc_graph_topo_order(r->ctx, g, ord) : OC_ERR_NOMEM;
    if (ost != OC_OK) {
        oc_free(snap);
        oc_free(ord);
        return ost == OC_ERR_NOMEM ? oc_fail(r->ctx, OC_ERR_NOMEM, "out of memory") : ost;
    }
    (void)order;
    for (size_t i = 0; i < n_nodes; i++) snap[i] = g->nodes[ord[i]];
    oc_free(ord);
    oc_strmap done;
    oc_strmap_init(&done);
    oc_status st = OC_OK;
    for (size_t i = 0; i < n_nodes && st == OC_OK; i++) {
        oc_node *n = snap[i];
        size_t slot;
        int axis, bias_slot;
        const char *wname = weight_opnd(n, &slot, &axis, &bias_slot);
        if (!wname || !*wname || !oc_pass_node_selected(r, n) || in_norm(s, n)) continue;
        mark *in = get_mark(s, n->inputs[0]);
        if (!in || !in->is_float) continue; /* the activation stays float: so does the weight */
        if (phase == 2) {
            /* the weight's scales, from the DequantizeLinear phase 1 made */
            oc_node *dq = oc_graph_producer(g, wname, NULL);
            if (!dq || strcmp(dq->op_type, "DequantizeLinear") || dq->n_inputs < 2) continue;
            oc_tensor *sct = oc_graph_weight(g, dq->inputs[1]);
            if (!sct || sct->dtype != OC_DTYPE_FLOAT || bias_slot < 0 || (size_t)bias_slot >= n->n_inputs ||
                !*n->inputs[bias_slot])
                continue;
            const mark *src = in->share_from ? get_mark(s, in->share_from) : in;
            oc_tensor *b = oc_graph_weight(g, n->inputs[bias_slot]);
            oc_graph *bh = b ? oc_qdq_init_home(g, n->inputs[bias_slot]) : NULL;
            if (!b || !bh || b->dtype != OC_DTYPE_FLOAT || !b->data || !src || !src->done ||
                oc_strmap_get(&done, n->inputs[bias_slot]))
                continue;
            float *scv = oc_malloc((size_t)sct->numel * sizeof(float));
            if (!scv) {
                st = oc_fail(r->ctx, OC_ERR_NOMEM, "out of memory");
                break;
            }
            memcpy(scv, sct->data, (size_t)sct->numel * sizeof(float));
            char bcopy[512];
            snprintf(bcopy, sizeof(bcopy), "%s", n->inputs[bias_slot]);
            oc_strmap_put(&done, oc_model_strdup(r->m, bcopy), NULL);
            st = oc_qdq_bias(r, bh, bcopy, b, src->p.scale, scv, sct->numel);
            oc_free(scv);
            continue;
        }
        if (oc_strmap_get(&done, wname)) continue;
        oc_tensor *t = oc_graph_weight(g, wname);
        if (!t || t->dtype != OC_DTYPE_FLOAT || !t->data || t->ndim < 2) continue;
        if (axis == -2) axis = t->ndim - 1;
        oc_graph *home = oc_qdq_init_home(g, wname);
        oc_node *c = NULL;
        if (!home) {
            c = oc_graph_producer(g, wname, NULL);
            home = g;
            if (!c) continue;
        }
        oc_qweight_opts qo = {.dtype = OC_DTYPE_INT8, .symmetric = true, .axis = per_channel ? axis : -1};
        oc_qweight sc;
        char wcopy[512];
        snprintf(wcopy, sizeof(wcopy), "%s", wname);
        if (!oc_strmap_put(&done, oc_model_strdup(r->m, wcopy), NULL)) {
            st = oc_fail(r->ctx, OC_ERR_NOMEM, "out of memory");
            break;
        }
        st = oc_qdq_weight(r, home, c, wcopy, t, &qo, per_channel, &sc);
        if (st != OC_OK) break;
        r->rep->nodes_quantized++;
        /* bias: int32 at input scale x weight scale */
        if (phase == 0 && bias_slot >= 0 && (size_t)bias_slot < n->n_inputs && *n->inputs[bias_slot] &&
            oc_pass_val(r, "bias")) {
            const mark *src = in->share_from ? get_mark(s, in->share_from) : in;
            oc_tensor *b = oc_graph_weight(g, n->inputs[bias_slot]);
            oc_graph *bh = b ? oc_qdq_init_home(g, n->inputs[bias_slot]) : NULL;
            if (b && bh && b->dtype == OC_DTYPE_FLOAT && b->data && src && src->done &&
                !oc_strmap_get(&done, n->inputs[bias_slot])) {
                char bcopy[512];
                snprintf(bcopy, sizeof(bcopy), "%s", n->inputs[bias_slot]);
                oc_strmap_put(&done, oc_model_strdup(r->m, bcopy), NULL);
                st = oc_qdq_bias(r, bh, bcopy, b, src->p.scale, sc.scale, sc.scale_numel);
            }
        }
        oc_qweight_free(&sc);
    }
    oc_strmap_free(&done);
    oc_free(snap);
    return st;
}

oc_status oc_pass_quant_static(oc_pass_run *r)
{
    sctx s;
    memset(&s, 0, sizeof(s));
    s.r = r;
    s.g = r->m->graph;
    s.act_dtype = oc_pass_val(r, "activations") == 1 ? OC_DTYPE_INT8 : OC_DTYPE_UINT8;
    s.act_sym = oc_pass_val(r, "symmetric") != 0;
    s.method = (oc_calib_method)(int)oc_pass_val(r, "method");
    s.percentile = oc_pass_val(r, "percentile");
    s.keep_sensitive = oc_pass_val(r, "keep_sensitive") != 0;
    bool per_channel = oc_pass_val(r, "per_channel") != 0;
    oc_strmap_init(&s.marks);
    oc_strmap_init(&s.norm);
    size_t *order = NULL;
    oc_status st = OC_OK;

    int64_t have = oc_model_opset(r->m, "");
    int64_t need = per_channel ? 13 : 10;
    if (have < need) {
        char why[1024];
        if (oc_opset_can_upgrade(r->m, need, why, sizeof(why))) {
            st = oc_opset_upgrade(r->ctx, r->m, need);
            if (st != OC_OK) goto done;
            oc_pass_notice(r, "static: raised the model's opset from %lld to %lld", (long long)have, (long long)need);
        } else if (per_channel && have >= 10) {
            oc_pass_notice(r, "static: opset %lld cannot be raised to 13 (%s): per-tensor weight scales",
                           (long long)have, why);
            per_channel = false;
        } else {
            st = oc_fail(r->ctx, OC_ERR_UNSUPPORTED, "static: QuantizeLinear needs opset 10, the model has %lld: %s",
                         (long long)have, why);
            goto done;
        }
    }
    bool already = false;
    for (size_t i = 0; i < s.g->n_nodes; i++) {
        const char *op = s.g->nodes[i]->op_type;
        if (!strcmp(op, "QuantizeLinear") || !strcmp(op, "DequantizeLinear") || !strncmp(op, "QLinear", 7) ||
            strstr(op, "Integer"))
            already = true;
    }
    if (already) oc_pass_notice(r, "static: the model is already partly quantized; those parts are left alone");

    if (oc_pass_val(r, "fold_bn")) {
        size_t folded;
        st = oc_qdq_fold_batchnorm(r, s.g, &folded);
        if (st != OC_OK) goto done;
        if (folded) oc_pass_notice(r, "static: folded %zu BatchNormalization node%s into their Conv", folded,
                                   folded == 1 ? "" : "s");
    }
    order = oc_malloc((s.g->n_nodes ? s.g->n_nodes : 1) * sizeof(size_t));
    if (!order) {
        st = oc_fail(r->ctx, OC_ERR_NOMEM, "out of memory");
        goto done;
    }
    st = oc_graph_topo_order(r->ctx, s.g, order);
    if (st != OC_OK) goto done;
    if (oc_pass_val(r, "keep_norm")) find_norm_chains(&s);
    st = plan(&s, order);
    if (st != OC_OK) goto done;
    st = calibrate(&s);
    if (st != OC_OK) goto done;
    /* parameters: own ranges first, then the shared ones */
    for (size_t i = 0; i < s.n_m; i++) {
        mark *mk = &s.m[i];
        if (mk->share_from || !mk->is_float) continue;
        float lo, hi;
        oc_observer_range(mk->obs, s.act_dtype, s.act_sym, &lo, &hi);
        oc_node *p = oc_graph_producer(s.g, mk->name, NULL);
        if (p && !strcmp(p->op_type, "Softmax")) {
            lo = 0; /* a probability: [0, 1] */
            hi = 1;
        }
        mk->p = oc_q_params(lo, hi, s.act_dtype, s.act_sym);
        mk->done = true;
    }
    for (size_t i = 0; i < s.n_m; i++) {
        mark *mk = &s.m[i];
        if (!mk->share_from) continue;
        mark *src = get_mark(&s, mk->share_from);
        if (!src || !src->done) continue;
        mk->is_float = true; /* moved, not computed: the same type as its source */
        mk->p = src->p;
        mk->done = true;
    }
    if (oc_pass_val(r, "bias_correction")) {
        bc_ctx bc;
        memset(&bc, 0, sizeof(bc));
        size_t n;
        st = bias_collect(&s, order, &bc);
        if (st == OC_OK) st = oc_pass_run_samples(r, bc_observe, &bc, &n);
        if (st == OC_OK) st = quantize_weights(&s, order, per_channel, 1);
        bc.phase = 1;
        if (st == OC_OK) st = oc_pass_run_samples(r, bc_observe, &bc, &n);
        if (st == OC_OK) st = bias_apply(&s, &bc);
        bias_free(&bc);
        if (st == OC_OK && oc_pass_val(r, "bias")) st = quantize_weights(&s, order, per_channel, 2);
    } else {
        st = quantize_weights(&s, order, per_channel, 0);
    }
    if (st != OC_OK) goto done;
    /* the pairs: names are copied first, since edits rename readers */
    for (size_t i = 0; i < s.n_m && st == OC_OK; i++) {
        mark *mk = &s.m[i];
        if (!mk->done) continue;
        char name[512];
        snprintf(name, sizeof(name), "%s", mk->name);
        st = oc_qdq_activation(r, s.g, name, mk->p, s.act_dtype);
    }
done:
    for (size_t i = 0; i < s.n_m; i++) oc_observer_free(s.m[i].obs);
    oc_free(s.m);
    oc_strmap_free(&s.marks);
    oc_strmap_free(&s.norm);
    oc_free(order);
    return st;
}
