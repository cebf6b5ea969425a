/* channel_graphs.h: building small models by hand for the channel-pruning
 * tests (test_coupling.c, test_prune_channel.c): a model with one graph,
 * values, nodes from "a,b" input lists, attributes, random weights, Conv
 * and BatchNormalization layers, and the graphs both tests use (a residual
 * block, a Concat, a depthwise conv, Flatten/Reshape to Gemm). Functions are
 * static inline so a test that leaves some unused still builds. */
#ifndef OC_TEST_CHANNEL_GRAPHS_H
#define OC_TEST_CHANNEL_GRAPHS_H

#include "ir/ir.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static oc_model *m;
static oc_graph *g;
static uint32_t seed = 1;

/* ---- building models ---- */

static inline void begin(void)
{
    m = oc_model_new();
    g = oc_graph_new(m, NULL);
    m->graph = g;
    g->name = "main";
    m->ir_version = 8;
    m->has_ir_version = true;
    m->producer_name = "onnxcomp unit test";
    m->opsets = oc_model_alloc(m, sizeof(oc_opset));
    m->opsets[0].domain = "";
    m->opsets[0].version = 13;
    m->opsets[0].has_version = true;
    m->n_opsets = 1;
    g->inputs = oc_model_alloc(m, 8 * sizeof(oc_value *));
    g->outputs = oc_model_alloc(m, 8 * sizeof(oc_value *));
}

static inline oc_value *mkval(const char *name, int ndim, const int64_t *dims)
{
    oc_value *v = oc_model_alloc(m, sizeof(*v));
    v->name = oc_model_strdup(m, name);
    v->has_type = true;
    v->dirty = true;
    v->type.kind = OC_TYPE_TENSOR;
    v->type.elem_type = OC_DTYPE_FLOAT;
    if (ndim >= 0) {
        v->type.has_shape = true;
        v->type.ndim = ndim;
        v->type.dims = oc_model_alloc(m, (size_t)(ndim ? ndim : 1) * sizeof(oc_dim));
        for (int i = 0; i < ndim; i++) {
            v->type.dims[i].kind = OC_DIM_VALUE;
            v->type.dims[i].value = dims[i];
        }
    }
    return v;
}

static inline void input4(const char *name, int64_t c, int64_t h)
{
    int64_t d[4] = {1, c, h, h};
    g->inputs[g->n_inputs++] = mkval(name, 4, d);
}

static inline void output(const char *name)
{
    g->outputs[g->n_outputs++] = mkval(name, -1, NULL);
}

static inline oc_node *node(const char *op, const char *name, const char *in, const char *out)
{
    const char *ins[8], *outs[8];
    char ib[512], ob[512];
    size_t ni = 0, no = 0;
    snprintf(ib, sizeof(ib), "%s", in);
    snprintf(ob, sizeof(ob), "%s", out);
    for (char *p = ib, *q; p && *in; p = q) {
        q = strchr(p, ',');
        if (q) *q++ = 0;
        ins[ni++] = p;
    }
    for (char *p = ob, *q; p; p = q) {
        q = strchr(p, ',');
        if (q) *q++ = 0;
        outs[no++] = p;
    }
    return oc_graph_add_node(g, SIZE_MAX, op, NULL, name, ni, ins, no, outs);
}

static inline void a_int(oc_node *n, const char *name, int64_t v)
{
    oc_attr *a = oc_node_add_attr(g, n, name, OC_ATTR_INT);
    a->i = v;
    a->has_i = true;
}

static inline void a_ints(oc_node *n, const char *name, const int64_t *v, size_t k)
{
    oc_attr *a = oc_node_add_attr(g, n, name, OC_ATTR_INTS);
    a->ints = oc_model_alloc(m, k * sizeof(int64_t));
    memcpy(a->ints, v, k * sizeof(int64_t));
    a->n_ints = k;
}

static inline float rnd(void)
{
    seed = seed * 1664525u + 1013904223u;
    return (float)((seed >> 8) % 2001) / 1000.0f - 1.0f;
}

static inline void weight(const char *name, int ndim, const int64_t *dims)
{
    oc_tensor *t = oc_graph_add_initializer(g, name, OC_DTYPE_FLOAT, ndim, dims);
    float *d = oc_malloc((size_t)t->numel * sizeof(float));
    for (int64_t i = 0; i < t->numel; i++) d[i] = rnd();
    oc_tensor_set_data(m, t, d, (size_t)t->numel * sizeof(float));
}

static inline void ints(const char *name, int64_t n, const int64_t *v)
{
    int64_t d[1] = {n};
    oc_tensor *t = oc_graph_add_initializer(g, name, OC_DTYPE_INT64, 1, d);
    int64_t *b = oc_malloc((size_t)n * sizeof(int64_t));
    memcpy(b, v, (size_t)n * sizeof(int64_t));
    oc_tensor_set_data(m, t, b, (size_t)n * sizeof(int64_t));
}

static inline void floats(const char *name, int64_t n, const float *v)
{
    int64_t d[1] = {n};
    oc_tensor *t = oc_graph_add_initializer(g, name, OC_DTYPE_FLOAT, 1, d);
    float *b = oc_malloc((size_t)n * sizeof(float));
    memcpy(b, v, (size_t)n * sizeof(float));
    oc_tensor_set_data(m, t, b, (size_t)n * sizeof(float));
}

static inline oc_node *conv(const char *name, const char *in, const char *out, int64_t cout, int64_t cin, int64_t k,
                     int64_t group)
{
    char w[64], b[64], ins[200];
    snprintf(w, sizeof(w), "%s.w", name);
    snprintf(b, sizeof(b), "%s.b", name);
    int64_t wd[4] = {cout, cin / group, k, k}, bd[1] = {cout};
    weight(w, 4, wd);
    weight(b, 1, bd);
    snprintf(ins, sizeof(ins), "%s,%s,%s", in, w, b);
    oc_node *n = node("Conv", name, ins, out);
    int64_t pads[4] = {k / 2, k / 2, k / 2, k / 2};
    a_ints(n, "pads", pads, 4);
    if (group > 1) a_int(n, "group", group);
    return n;
}

static inline void bn(const char *name, const char *in, const char *out, int64_t c)
{
    char nm[4][64], ins[300];
    const char *sfx[4] = {"scale", "bias", "mean", "var"};
    int64_t d[1] = {c};
    for (int i = 0; i < 4; i++) {
        snprintf(nm[i], sizeof(nm[i]), "%s.%s", name, sfx[i]);
        weight(nm[i], 1, d);
    }
    float *vd = (float *)oc_graph_initializer(g, nm[3])->data;
    for (int64_t i = 0; i < c; i++) vd[i] = 0.5f + vd[i] * vd[i];
    snprintf(ins, sizeof(ins), "%s,%s,%s,%s,%s", in, nm[0], nm[1], nm[2], nm[3]);
    node("BatchNormalization", name, ins, out);
}

static inline void build_residual(void)
{
    begin();
    input4("x", 3, 8);
    conv("ca", "x", "a", 8, 3, 3, 1);
    bn("bna", "a", "a_bn", 8);
    node("Relu", "ra", "a_bn", "a_r");
    conv("cb", "a_r", "b", 8, 8, 3, 1);
    bn("bnb", "b", "b_bn", 8);
    node("Add", "add", "b_bn,a_r", "s");
    node("Relu", "rs", "s", "s_r");
    conv("cc", "s_r", "y", 4, 8, 1, 1);
    output("y");
    /* a declared shape the pass must keep true */
    int64_t vd[4] = {1, 8, 8, 8};
    oc_graph_add_value_info(g, "a_r", OC_DTYPE_FLOAT, 4, vd);
}

static inline void build_concat(void)
{
    begin();
    input4("x", 3, 6);
    conv("c1", "x", "p", 4, 3, 3, 1);
    node("Relu", "r1", "p", "p_r");
    conv("c2", "x", "q", 6, 3, 1, 1);
    node("Sigmoid", "r2", "q", "q_r");
    oc_node *cat = node("Concat", "cat", "p_r,q_r", "cat");
    a_int(cat, "axis", 1);
    conv("c3", "cat", "y", 5, 10, 3, 1);
    output("y");
}

static inline void build_depthwise(void)
{
    begin();
    input4("x", 3, 6);
    conv("c1", "x", "a", 8, 3, 1, 1);
    node("Relu", "r1", "a", "a_r");
    conv("dw", "a_r", "d", 8, 8, 3, 8);
    node("Relu", "r2", "d", "d_r");
    conv("c3", "d_r", "y", 4, 8, 1, 1);
    output("y");
}

static inline void build_flatten(void)
{
    begin();
    input4("x", 3, 4);
    conv("c1", "x", "a", 6, 3, 3, 1);
    node("Relu", "r1", "a", "a_r");
    node("GlobalAveragePool", "gap", "a_r", "pool");
    node("Flatten", "flat", "pool", "f");
    int64_t bd[2] = {5, 6}, cd[1] = {5};
    weight("fc.w", 2, bd);
    weight("fc.b", 1, cd);
    oc_node *gm = node("Gemm", "fc", "f,fc.w,fc.b", "y");
    a_int(gm, "transB", 1);
    conv("c2", "x", "b", 4, 3, 3, 1);
    int64_t shape[2] = {1, 64};
    ints("shape", 2, shape);
    node("Reshape", "rs", "b,shape", "bf");
    int64_t b2[2] = {64, 3};
    weight("fc2.w", 2, b2);
    node("MatMul", "fc2", "bf,fc2.w", "z");
    output("y");
    output("z");
}

#endif
