/* probe.c: per-layer statistics (parameters, exact zeros, multiply-
 * accumulates) for `onnxcomp info` and the prune report.
 *
 * Parameters and zeros come from the weights as stored: float weights
 * directly, integer weights behind a DequantizeLinear by comparing each
 * element with its zero point (so a pruned-then-quantized weight still shows
 * its sparsity). Multiply-accumulates need the layers' activation shapes:
 * the interpreter runs the main graph once on zero-filled inputs, with
 * symbolic or unknown input dims set to 1, and records the shapes of the
 * layers' inputs and outputs. A model the interpreter cannot run still gets
 * its parameters and zeros; its MACs are -1 and `why` says what stopped it. */
#include "exec.h"
#include "../ir/ir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_layer_op(const char *op)
{
    return !strcmp(op, "Conv") || !strcmp(op, "ConvTranspose") || !strcmp(op, "Gemm") ||
           !strcmp(op, "MatMul") || !strcmp(op, "ConvInteger") || !strcmp(op, "MatMulInteger");
}

/* The tensor behind a weight input: an initializer or Constant directly, or
 * through one DequantizeLinear (its x, scale axis and zero point). */
typedef struct wsrc {
    const oc_tensor *t;  /* the stored weight */
    const oc_tensor *zp; /* its zero point when behind DequantizeLinear */
    int64_t axis, block;
} wsrc;

static bool weight_source(oc_graph *g, const char *name, wsrc *w)
{
    memset(w, 0, sizeof(*w));
    if (!name || !*name) return false;
    w->t = oc_graph_weight(g, name);
    if (w->t) return true;
    size_t slot;
    const oc_node *p = oc_graph_producer(g, name, &slot);
    if (!p || strcmp(p->op_type, "DequantizeLinear") || !oc_domain_is_default(p->domain) || p->n_inputs < 1)
        return false;
    w->t = oc_graph_weight(g, p->inputs[0]);
    if (!w->t) return false;
    if (p->n_inputs >= 3 && *p->inputs[2]) w->zp = oc_graph_weight(g, p->inputs[2]);
    w->axis = oc_attr_int(p, "axis", 1);
    w->block = oc_attr_int(p, "block_size", 0);
    return true;
}

/* Element i of an integer or float tensor as a double; false for types we
 * do not read. */
static bool elem(const oc_tensor *t, int64_t i, double *v)
{
    if (!t->data) return false;
    const unsigned char *b = t->data;
    switch (t->dtype) {
    case OC_DTYPE_INT4:
    case OC_DTYPE_UINT4: {
        unsigned nib = (b[i / 2] >> (4 * (i % 2))) & 15u;
        *v = t->dtype == OC_DTYPE_INT4 && nib >= 8 ? (double)nib - 16 : (double)nib;
        return true;
    }
    default:
        if ((int64_t)t->nbytes < oc_tensor_expected_nbytes(t->dtype, t->numel)) return false;
        *v = oc_tensor_get(t, i);
        return true;
    }
}

/* Elements of w equal to their zero point (0 for float weights). */
static int64_t count_zeros(const wsrc *w)
{
    const oc_tensor *t = w->t;
    if (!w->zp || w->zp->numel <= 1) {
        double z = 0;
        if (w->zp && w->zp->numel == 1 && !elem(w->zp, 0, &z)) return 0;
        if (!w->zp && t->dtype == OC_DTYPE_FLOAT) return oc_tensor_count_zeros(t);
        int64_t n = 0;
        for (int64_t i = 0; i < t->numel; i++) {
            double v;
            if (!elem(t, i, &v)) return 0;
            n += v == z;
        }
        return n;
    }
    /* per axis or per block: zero point index from the element's coordinates */
    int64_t axis = w->axis < 0 ? w->axis + t->ndim : w->axis;
    if (axis < 0 || axis >= t->ndim) return 0;
    int64_t inner = 1;
    for (int d = (int)axis + 1; d < t->ndim; d++) inner *= t->dims[d];
    const int64_t len = t->dims[axis];
    int64_t n = 0;
    for (int64_t i = 0; i < t->numel; i++) {
        int64_t zi;
        if (w->block > 0) {
            /* zero point shaped like t with axis divided into blocks */
            int64_t outer = i / (inner * len), a = i / inner % len, in = i % inner;
            int64_t nb = (len + w->block - 1) / w->block;
            zi = (outer * nb + a / w->block) * inner + in;
        } else {
            zi = i / inner % len;
        }
        double v, z;
        if (zi >= w->zp->numel || !elem(t, i, &v) || !elem(w->zp, zi, &z)) return 0;
        n += v == z;
    }
    return n;
}

typedef struct probe {
    oc_layer_stats *v;
    size_t n;
    const char **in_names, **out_names; /* per layer: the names to watch */
} probe;

static void observe(void *ud, const char *name, const oc_ten *t)
{
    probe *p = ud;
    for (size_t i = 0; i < p->n; i++) {
        oc_layer_stats *l = &p->v[i];
        if (p->in_names[i] && !strcmp(name, p->in_names[i])) {
            l->in_ndim = t->ndim;
            memcpy(l->in_dims, t->dims, sizeof(int64_t) * (size_t)t->ndim);
        }
        if (p->out_names[i] && !strcmp(name, p->out_names[i])) {
            l->out_ndim = t->ndim;
            memcpy(l->out_dims, t->dims, sizeof(int64_t) * (size_t)t->ndim);
        }
    }
}

static int64_t prod(const int64_t *d, int from, int to)
{
    int64_t p = 1;
    for (int i = from; i < to; i++) p *= d[i];
    return p;
}

/* Multiply-accumulates of one layer from its weight and observed shapes. */
static int64_t layer_macs(const oc_layer_stats *l, const oc_node *n)
{
    if (l->out_ndim <= 0 || l->w_ndim <= 0) return -1;
    const int64_t *w = l->w_dims, *y = l->out_dims;
    const char *op = n->op_type;
    if (!strcmp(op, "Conv") || !strcmp(op, "ConvInteger")) {
        if (l->w_ndim < 2) return -1;
        return prod(y, 0, l->out_ndim) * prod(w, 1, l->w_ndim);
    }
    if (!strcmp(op, "ConvTranspose")) {
        if (l->in_ndim < 2 || l->w_ndim < 2) return -1;
        /* every input element meets Cout/g x kernel weights */
        return prod(l->in_dims, 0, l->in_ndim) * prod(w, 1, l->w_ndim);
    }
    if (!strcmp(op, "Gemm")) {
        int64_t k = oc_attr_int(n, "transB", 0) ? w[l->w_ndim - 1] : w[0];
        return prod(y, 0, l->out_ndim) * k;
    }
    /* MatMul, MatMulInteger with a constant B [..., K, N] */
    if (l->w_ndim == 1) return prod(y, 0, l->out_ndim) * w[0];
    return prod(y, 0, l->out_ndim) * w[l->w_ndim - 2];
}

/* Whether a dim of input value v is fixed by the model. */
bool oc_probe_dim_fixed(const oc_value *v, int d)
{
    return v->type.dims[d].kind == OC_DIM_VALUE && v->type.dims[d].value > 0;
}

/* A symbolic dim named like one found at axis 0 of some input is a batch
 * size: it gets 1; other symbolic dims get `fill`. */
bool oc_probe_dim_batch(oc_session *s, const oc_value *v, int d)
{
    if (d == 0) return true;
    const char *pn = v->type.dims[d].kind == OC_DIM_PARAM ? v->type.dims[d].param : NULL;
    if (!pn) return false;
    for (size_t i = 0; i < oc_session_n_inputs(s); i++) {
        const oc_value *o = oc_session_input(s, i);
        if (o->has_type && o->type.has_shape && o->type.ndim > 0 && o->type.dims[0].kind == OC_DIM_PARAM &&
            o->type.dims[0].param && !strcmp(o->type.dims[0].param, pn))
            return true;
    }
    return false;
}

/* Zero-filled inputs from the graph inputs' declared types, symbolic and
 * unknown dims filled as oc_probe_dim_batch() says. */
oc_status oc_probe_inputs(oc_ctx *ctx, oc_session *s, int64_t fill, oc_ten *ins)
{
    size_t n = oc_session_n_inputs(s);
    for (size_t i = 0; i < n; i++) {
        const oc_value *v = oc_session_input(s, i);
        oc_status st = OC_OK;
        if (!v->has_type || v->type.kind != OC_TYPE_TENSOR || !v->type.has_shape || v->type.ndim > OC_MAX_DIMS ||
            v->type.elem_type == OC_DTYPE_STRING || !oc_dtype_valid(v->type.elem_type) ||
            oc_dtype_bits(v->type.elem_type) < 8)
            st = oc_fail(ctx, OC_ERR_UNSUPPORTED, "input '%s': no tensor shape to make a probe input from", v->name);
        int64_t dims[OC_MAX_DIMS];
        for (int d = 0; st == OC_OK && d < v->type.ndim; d++)
            dims[d] = oc_probe_dim_fixed(v, d) ? v->type.dims[d].value : oc_probe_dim_batch(s, v, d) ? 1 : fill;
        if (st == OC_OK) st = oc_ten_new(ctx, &ins[i], v->type.elem_type ? v->type.elem_type : OC_DTYPE_FLOAT,
                                         v->type.ndim, dims);
        if (st != OC_OK) {
            for (size_t k = 0; k < i; k++) oc_ten_release(&ins[k]);
            return st;
        }
    }
    return OC_OK;
}

static oc_status run_probe(oc_ctx *ctx, oc_model *m, probe *p)
{
    oc_session *s = NULL;
    oc_run_opts ro = {.threads = 1};
    FORWARD_IF_ERROR(oc_session_new(ctx, m, &ro, &s));
    size_t ni = oc_session_n_inputs(s), no = oc_session_n_outputs(s);
    oc_ten *ins = oc_calloc(ni + 1, sizeof(oc_ten)), *outs = oc_calloc(no + 1, sizeof(oc_ten));
    oc_status st = ins && outs ? OC_OK : oc_fail(ctx, OC_ERR_NOMEM, "out of memory");
    if (st == OC_OK) st = oc_probe_inputs(ctx, s, 1, ins);
    if (st == OC_OK) {
        oc_session_set_observer(s, observe, p);
        st = oc_session_run(ctx, s, ins, outs);
    }
    for (size_t i = 0; ins && i < ni; i++) oc_ten_release(&ins[i]);
    for (size_t i = 0; outs && i < no; i++) oc_ten_release(&outs[i]);
    oc_free(ins);
    oc_free(outs);
    oc_session_free(s);
    return st;
}

oc_status oc_model_layer_stats(oc_ctx *ctx, oc_model *m, bool run, oc_layer_stats **out, size_t *n_out, char *why,
                               size_t why_cap)
{
    *out = NULL;
    *n_out = 0;
    if (why && why_cap) why[0] = 0;
    oc_graph *g = m->graph;
    size_t cap = 0;
    for (size_t i = 0; i < g->n_nodes; i++) cap += is_layer_op(g->nodes[i]->op_type);
    oc_layer_stats *v = oc_calloc(cap + 1, sizeof(*v));
    const char **names = oc_calloc(2 * cap + 2, sizeof(char *));
    oc_node **nodes = oc_calloc(cap + 1, sizeof(oc_node *));
    if (!v || !names || !nodes) {
        oc_free(v);
        oc_free(names);
        oc_free(nodes);
        return oc_fail(ctx, OC_ERR_NOMEM, "out of memory");
    }
    size_t n = 0;
    for (size_t i = 0; i < g->n_nodes; i++) {
        oc_node *nd = g->nodes[i];
        if (!is_layer_op(nd->op_type) || !oc_domain_is_default(nd->domain) || nd->n_inputs < 2) continue;
        wsrc w;
        if (!weight_source(g, nd->inputs[1], &w)) continue;
        oc_layer_stats *l = &v[n];
        l->name = nd->name ? nd->name : "";
        l->op_type = nd->op_type;
        l->weight = nd->inputs[1];
        l->params = w.t->numel;
        l->zeros = count_zeros(&w);
        l->quantized = w.t->dtype != OC_DTYPE_FLOAT;
        l->w_ndim = w.t->ndim <= OC_MAX_DIMS ? w.t->ndim : 0;
        if (l->w_ndim) memcpy(l->w_dims, w.t->dims, sizeof(int64_t) * (size_t)l->w_ndim);
        if (nd->n_inputs >= 3 && *nd->inputs[2]) {
            wsrc b;
            if (weight_source(g, nd->inputs[2], &b)) l->params += b.t->numel;
        }
        l->macs = -1;
        names[2 * n] = nd->inputs[0];
        names[2 * n + 1] = nd->n_outputs ? nd->outputs[0] : NULL;
        nodes[n] = nd;
        n++;
    }
    /* de-interleave the watched names */
    const char **in_names = oc_calloc(n + 1, sizeof(char *)), **out_names = oc_calloc(n + 1, sizeof(char *));
    oc_status st = OC_OK;
    if (!in_names || !out_names) {
        st = oc_fail(ctx, OC_ERR_NOMEM, "out of memory");
    } else if (n && !run) {
        if (why && why_cap) snprintf(why, why_cap, "not counted: --no-run");
    } else if (n) {
        for (size_t i = 0; i < n; i++) in_names[i] = names[2 * i], out_names[i] = names[2 * i + 1];
        probe p = {v, n, in_names, out_names};
        oc_ctx pctx = {0};
        if (run_probe(&pctx, m, &p) == OC_OK) {
            for (size_t i = 0; i < n; i++) v[i].macs = layer_macs(&v[i], nodes[i]);
        } else if (why && why_cap) {
            snprintf(why, why_cap, "%s", pctx.msg);
        }
    }
    oc_free(in_names);
    oc_free(out_names);
    oc_free(names);
    oc_free(nodes);
    if (st != OC_OK) {
        oc_free(v);
        return st;
    }
    *out = v;
    *n_out = n;
    return OC_OK;
}

void oc_layer_stats_free(oc_layer_stats *v)
{
    oc_free(v);
}
