/* qdq.c: the graph edits quantization passes share: a weight replaced by
 * integer initializers feeding one DequantizeLinear that takes the weight's
 * name, and an activation given one QuantizeLinear -> DequantizeLinear pair
 * shared by all its readers (a graph output keeps its name on the
 * DequantizeLinear output). */
#include "qdq.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

oc_graph *oc_qdq_init_home(oc_graph *g, const char *name)
{
    for (; g; g = g->parent)
        for (size_t i = 0; i < g->n_inits; i++)
            if (g->inits[i]->name && !strcmp(g->inits[i]->name, name)) return g;
    return NULL;
}

oc_status oc_qdq_new_init(oc_pass_run *r, oc_graph *g, const char *base, int dtype, int ndim, const int64_t *dims,
                         void *data, size_t nbytes, const char **name_out)
{
    const char *name = oc_graph_unique_name(g, base);
    oc_tensor *t = name ? oc_graph_add_initializer(g, name, dtype, ndim, dims) : NULL;
    if (!t) {
        oc_free(data);
        return oc_fail(r->ctx, OC_ERR_NOMEM, "out of memory");
    }
    oc_tensor_set_data(r->m, t, data, nbytes);
    *name_out = name;
    return OC_OK;
}

static oc_status set_int_attr(oc_pass_run *r, oc_graph *g, oc_node *n, const char *key, int64_t v)
{
    oc_attr *a = oc_node_add_attr(g, n, key, OC_ATTR_INT);
    if (!a) return oc_fail(r->ctx, OC_ERR_NOMEM, "out of memory");
    a->i = v;
    a->has_i = true;
    return OC_OK;
}

static oc_status qdq_weight(oc_pass_run *r, oc_graph *home, oc_node *const_node, const char *name,
                            const oc_tensor *t, const oc_qweight_opts *qo, bool axis_attr, oc_qweight *scales_out);

oc_status oc_qdq_weight(oc_pass_run *r, oc_graph *home, oc_node *const_node, const char *name, const oc_tensor *t,
                        const oc_qweight_opts *qo, bool axis_attr, oc_qweight *scales_out)
{
    if (scales_out) memset(scales_out, 0, sizeof(*scales_out));
    oc_status st = qdq_weight(r, home, const_node, name, t, qo, axis_attr, scales_out);
    /* on failure the caller owns nothing */
    if (st != OC_OK && scales_out) oc_qweight_free(scales_out);
    return st;
}

static oc_status qdq_weight(oc_pass_run *r, oc_graph *home, oc_node *const_node, const char *name,
                            const oc_tensor *t, const oc_qweight_opts *qo, bool axis_attr, oc_qweight *scales_out)
{
    /* float-aligned data (the usual case, mapped file included) is read in
     * place; a copy only for unaligned borrowed data */
    const float *w = t->data;
    float *f = NULL;
    if ((uintptr_t)t->data % sizeof(float)) {
        f = oc_malloc(t->nbytes ? t->nbytes : 4);
        if (!f) return oc_fail(r->ctx, OC_ERR_NOMEM, "out of memory");
        memcpy(f, t->data, t->nbytes);
        w = f;
    }
    oc_qweight q;
    oc_status st = oc_quantize_weight(r->ctx, w, t->ndim, t->dims, qo, &q);
    oc_free(f);
    FORWARD_IF_ERROR(st);
    char keep[512], base[600];
    snprintf(keep, sizeof(keep), "%s", name);
    const char *qn = NULL, *sn = NULL, *zn = NULL;
    int64_t before = (int64_t)t->nbytes, after = (int64_t)q.nbytes + q.scale_numel * 4 + (int64_t)q.zp_nbytes;
    if (scales_out) { /* the caller wants the scales (bias quantization) */
        memset(scales_out, 0, sizeof(*scales_out));
        scales_out->scale = oc_malloc((size_t)q.scale_numel * sizeof(float));
        if (!scales_out->scale) {
            oc_qweight_free(&q);
            return oc_fail(r->ctx, OC_ERR_NOMEM, "out of memory");
        }
        memcpy(scales_out->scale, q.scale, (size_t)q.scale_numel * sizeof(float));
        scales_out->scale_numel = q.scale_numel;
    }
    snprintf(base, sizeof(base), "%s_quantized", keep);
    st = oc_qdq_new_init(r, home, base, qo->dtype, t->ndim, t->dims, q.data, q.nbytes, &qn);
    q.data = NULL;
    if (st == OC_OK) {
        snprintf(base, sizeof(base), "%s_scale", keep);
        st = oc_qdq_new_init(r, home, base, OC_DTYPE_FLOAT, q.scale_ndim, q.scale_dims, q.scale,
                        (size_t)q.scale_numel * sizeof(float), &sn);
        q.scale = NULL;
    }
    if (st == OC_OK) {
        snprintf(base, sizeof(base), "%s_zero_point", keep);
        st = oc_qdq_new_init(r, home, base, qo->dtype, q.scale_ndim, q.scale_dims, q.zero_point, q.zp_nbytes, &zn);
        q.zero_point = NULL;
    }
    oc_qweight_free(&q);
    FORWARD_IF_ERROR(st);
    /* the float weight goes; a DequantizeLinear produces its name instead */
    if (const_node) oc_graph_remove_node(home, const_node);
    else oc_graph_remove_initializer(home, keep);
    snprintf(base, sizeof(base), "%s_DequantizeLinear", keep);
    const char *dq_name = oc_graph_unique_name(home, base);
    const char *ins[3] = {qn, sn, zn};
    const char *outs[1] = {keep};
    oc_node *dq = dq_name ? oc_graph_add_node(home, 0, "DequantizeLinear", NULL, dq_name, 3, ins, 1, outs) : NULL;
    if (!dq) return oc_fail(r->ctx, OC_ERR_NOMEM, "out of memory");
    if (axis_attr && qo->axis >= 0) FORWARD_IF_ERROR(set_int_attr(r, home, dq, "axis", qo->axis));
    if (qo->block) FORWARD_IF_ERROR(set_int_attr(r, home, dq, "block_size", qo->block));
    r->rep->weights_quantized++;
    r->rep->weight_bytes_before += before;
    r->rep->weight_bytes_after += after;
    return OC_OK;
}

oc_status oc_qdq_bias(oc_pass_run *r, oc_graph *home, oc_node *const_node, const char *name, const oc_tensor *t,
                      float input_scale, const float *w_scale, int64_t n_wscale)
{
    int64_t n = t->numel;
    if (t->ndim != 1 || (n_wscale != 1 && n_wscale != n)) return OC_OK; /* leave odd biases in float */
    float *b = oc_malloc((size_t)(n ? n : 1) * sizeof(float));
    int32_t *q = oc_malloc((size_t)(n ? n : 1) * sizeof(int32_t));
    float *sc = oc_malloc((size_t)(n ? n : 1) * sizeof(float));
    int32_t *zp = oc_calloc((size_t)(n ? n : 1), sizeof(int32_t));
    if (!b || !q || !sc || !zp) {
        oc_free(b);
        oc_free(q);
        oc_free(sc);
        oc_free(zp);
        return oc_fail(r->ctx, OC_ERR_NOMEM, "out of memory");
    }
    memcpy(b, t->data, (size_t)n * sizeof(float));
    oc_quantize_bias(b, n, input_scale, w_scale, n_wscale, q, sc);
    oc_free(b);
    char keep[512], base[600];
    snprintf(keep, sizeof(keep), "%s", name);
    const char *qn = NULL, *sn = NULL, *zn = NULL;
    int64_t dims[1] = {n};
    /* one weight scale: a scalar bias scale, which every opset takes */
    int sdim = n_wscale == 1 ? 0 : 1;
    size_t sn_bytes = n_wscale == 1 ? 4 : (size_t)n * 4;
    snprintf(base, sizeof(base), "%s_quantized", keep);
    oc_status st = oc_qdq_new_init(r, home, base, OC_DTYPE_INT32, 1, dims, q, (size_t)n * 4, &qn);
    if (st == OC_OK) {
        snprintf(base, sizeof(base), "%s_scale", keep);
        st = oc_qdq_new_init(r, home, base, OC_DTYPE_FLOAT, sdim, dims, sc, sn_bytes, &sn);
    } else {
        oc_free(sc);
    }
    if (st == OC_OK) {
        snprintf(base, sizeof(base), "%s_zero_point", keep);
        st = oc_qdq_new_init(r, home, base, OC_DTYPE_INT32, sdim, dims, zp, sn_bytes, &zn);
    } else {
        oc_free(zp);
    }
    FORWARD_IF_ERROR(st);
    if (const_node) oc_graph_remove_node(home, const_node);
    else oc_graph_remove_initializer(home, keep);
    snprintf(base, sizeof(base), "%s_DequantizeLinear", keep);
    const char *dq_name = oc_graph_unique_name(home, base);
    const char *ins[3] = {qn, sn, zn};
    const char *outs[1] = {keep};
    oc_node *dq = dq_name ? oc_graph_add_node(home, 0, "DequantizeLinear", NULL, dq_name, 3, ins, 1, outs) : NULL;
    if (!dq) return oc_fail(r->ctx, OC_ERR_NOMEM, "out of memory");
    if (sdim) FORWARD_IF_ERROR(set_int_attr(r, home, dq, "axis", 0));
    r->rep->weights_quantized++;
    return OC_OK;
}

void oc_qdq_renames_init(oc_qdq_renames *rn)
{
    memset(rn, 0, sizeof(*rn));
    oc_strmap_init(&rn->map);
}

void oc_qdq_renames_free(oc_qdq_renames *rn)
{
    oc_strmap_free(&rn->map);
    oc_free(rn->q);
    memset(rn, 0, sizeof(*rn));
}

static bool renames_add(oc_qdq_renames *rn, const char *from, const char *to, const oc_node *q)
{
    if (rn->n == rn->cap) {
        size_t nc = rn->cap ? 2 * rn->cap : 64;
        const oc_node **nq = oc_realloc(rn->q, nc * sizeof(*nq));
        if (!nq) return false;
        rn->q = nq;
        rn->cap = nc;
    }
    bool added;
    oc_strmap_entry *e = oc_strmap_put(&rn->map, from, &added);
    if (!e) return false;
    if (!added) return true; /* one pair per tensor: a second is not expected */
    e->val = (void *)to;
    e->aux = (uint32_t)rn->n;
    rn->q[rn->n++] = q;
    return true;
}

static void renames_sweep(oc_graph *g, const oc_qdq_renames *rn, int depth)
{
    if (depth > 100) return;
    for (size_t i = 0; i < g->n_nodes; i++) {
        oc_node *n = g->nodes[i];
        for (size_t k = 0; k < n->n_inputs; k++) {
            const oc_strmap_entry *e = *n->inputs[k] ? oc_strmap_get(&rn->map, n->inputs[k]) : NULL;
            if (e && rn->q[e->aux] != n) n->inputs[k] = e->val; /* the tensor's own QuantizeLinear keeps it */
        }
        for (size_t a = 0; a < n->n_attrs; a++) {
            if (n->attrs[a].g) renames_sweep(n->attrs[a].g, rn, depth + 1);
            for (size_t j = 0; j < n->attrs[a].n_graphs; j++) renames_sweep(n->attrs[a].graphs[j], rn, depth + 1);
        }
    }
    oc_graph_invalidate(g);
}

void oc_qdq_renames_apply(oc_graph *g, const oc_qdq_renames *rn)
{
    if (rn->n) renames_sweep(g, rn, 0);
}

oc_status oc_qdq_activation(oc_pass_run *r, oc_graph *g, const char *tensor, oc_qparams p, int dtype,
                            oc_qdq_renames *rn)
{
    char keep[512], base[600];
    snprintf(keep, sizeof(keep), "%s", tensor);
    /* where to insert: right after the producer, or first for graph inputs */
    size_t slot = 0, at = 0;
    oc_node *prod = oc_graph_producer(g, keep, &slot);
    if (prod) {
        const size_t pi = oc_graph_node_index(g, prod);
        if (pi < g->n_nodes) at = pi + 1;
    }
    bool is_output = false;
    for (size_t i = 0; i < g->n_outputs; i++)
        if (!strcmp(g->outputs[i]->name, keep)) is_output = true;
    float *sc = oc_malloc(sizeof(float));
    void *zp = oc_malloc(1);
    if (!sc || !zp) {
        oc_free(sc);
        oc_free(zp);
        return oc_fail(r->ctx, OC_ERR_NOMEM, "out of memory");
    }
    *sc = p.scale;
    if (dtype == OC_DTYPE_INT8) *(int8_t *)zp = (int8_t)p.zero_point;
    else *(uint8_t *)zp = (uint8_t)p.zero_point;
    const char *sn = NULL, *zn = NULL;
    snprintf(base, sizeof(base), "%s_scale", keep);
    oc_status st = oc_qdq_new_init(r, g, base, OC_DTYPE_FLOAT, 0, NULL, sc, 4, &sn);
    if (st == OC_OK) {
        snprintf(base, sizeof(base), "%s_zero_point", keep);
        st = oc_qdq_new_init(r, g, base, dtype, 0, NULL, zp, 1, &zn);
    } else {
        oc_free(zp);
    }
    FORWARD_IF_ERROR(st);
    snprintf(base, sizeof(base), "%s_quantized", keep);
    const char *qname = oc_graph_unique_name(g, base);
    snprintf(base, sizeof(base), "%s_dequantized", keep);
    const char *dqname = oc_graph_unique_name(g, base);
    if (!qname || !dqname) return oc_fail(r->ctx, OC_ERR_NOMEM, "out of memory");
    const char *src = keep, *dst = dqname;
    if (is_output && prod) {
        /* the graph output keeps its name, now on the DequantizeLinear,
         * and readers inside the graph read it there too: one pair for all
         * (a Loop body's state feeding its next step, a Scan's output
         * summed into its state) */
        snprintf(base, sizeof(base), "%s_float", keep);
        const char *pre = oc_graph_unique_name(g, base);
        const char *pre_c = pre ? oc_model_strdup(r->m, pre) : NULL;
        if (!pre_c) return oc_fail(r->ctx, OC_ERR_NOMEM, "out of memory");
        prod->outputs[slot] = pre_c;
        oc_graph_invalidate(g);
        src = pre_c;
        dst = keep;
    } else if (!rn) {
        oc_graph_rename_uses(g, keep, dqname);
    }
    snprintf(base, sizeof(base), "%s_QuantizeLinear", keep);
    const char *qn_name = oc_graph_unique_name(g, base);
    snprintf(base, sizeof(base), "%s_DequantizeLinear", keep);
    const char *dqn_name = oc_graph_unique_name(g, base);
    const char *qin[3] = {src, sn, zn}, *qout[1] = {qname};
    const char *din[3] = {qname, sn, zn}, *dout[1] = {dst};
    oc_node *qnode = qn_name ? oc_graph_add_node(g, at, "QuantizeLinear", NULL, qn_name, 3, qin, 1, qout) : NULL;
    oc_node *dnode = qnode && dqn_name ? oc_graph_add_node(g, at + 1, "DequantizeLinear", NULL, dqn_name, 3, din, 1, dout)
                                       : NULL;
    if (!dnode) return oc_fail(r->ctx, OC_ERR_NOMEM, "out of memory");
    if (rn && src == keep) {
        /* readers move to the DequantizeLinear in the one sweep of
         * oc_qdq_renames_apply: names are the model's (arena) strings */
        const char *from = oc_model_strdup(r->m, keep);
        if (!from || !renames_add(rn, from, dqname, qnode)) return oc_fail(r->ctx, OC_ERR_NOMEM, "out of memory");
    }
    r->rep->activations_quantized++;
    return OC_OK;
}

/* Ops whose result changes a lot with small input errors: magnitudes,
 * logarithms and divisions (STFT front ends: Conv -> Pow -> Sqrt -> Log),
 * followed through data movement and linear ops for a few steps (a power
 * spectrum goes through a mel MatMul and a Clip before its Log). Sub is
 * not followed: x - mean is how a decomposed LayerNorm starts, and its
 * Pow/Sqrt/Div are normalisation, not amplification. */
static const char *const sensitive_ops[] = {"Pow", "Sqrt", "Log", "Div", "Reciprocal", "Exp", NULL};
static const char *const moving_ops[] = {"Slice", "Reshape", "Transpose", "Split", "Squeeze", "Unsqueeze",
                                         "Flatten", "Gather", "Identity", "Concat", "Clip", "Relu", "Max", "Min",
                                         "MatMul", "Gemm", "Add", "Mul", NULL};

static bool op_in(const char *op, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (!strcmp(op, list[i])) return true;
    return false;
}

bool oc_qdq_feeds_sensitive(oc_graph *g, const char *tensor, int depth)
{
    if (depth > 4 || !*tensor) return false;
    oc_node *cons[32];
    size_t nc = oc_graph_consumers(g, tensor, cons, 32);
    for (size_t i = 0; i < nc && i < 32; i++) {
        /* dividing by a constant is a scale: linear, not sensitive */
        bool const_div = !strcmp(cons[i]->op_type, "Div") && cons[i]->n_inputs > 1 &&
                         !strcmp(cons[i]->inputs[0], tensor) && oc_graph_weight(g, cons[i]->inputs[1]);
        if (!const_div && op_in(cons[i]->op_type, sensitive_ops)) return true;
        if (const_div)
            for (size_t k = 0; k < cons[i]->n_outputs; k++)
                if (oc_qdq_feeds_sensitive(g, cons[i]->outputs[k], depth + 1)) return true;
        if (op_in(cons[i]->op_type, moving_ops))
            for (size_t k = 0; k < cons[i]->n_outputs; k++)
                if (oc_qdq_feeds_sensitive(g, cons[i]->outputs[k], depth + 1)) return true;
    }
    return false;
}

