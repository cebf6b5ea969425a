/* channel_graphs.h: building small models by hand for the channel-pruning
 * tests (test_coupling.c, test_prune_channel.c): a model with one graph,
 * values, nodes from "a,b" input lists, attributes, random weights, Conv
 * and BatchNormalization layers, subgraph bodies, and the graphs both tests
 * use (a residual block, a Concat, a depthwise conv, Flatten/Reshape to
 * Gemm, LayerNorms over the channels, written out and as one op, layers
 * inside If branches and a Loop body). Functions are static
 * inline so a test that leaves some unused still builds. */
#ifndef OC_TEST_CHANNEL_GRAPHS_H
#define OC_TEST_CHANNEL_GRAPHS_H

#include "exec/exec.h"
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

/* A Conv node in the current graph whose weights `name`.w and `name`.b are
 * initializers of graph wg (an enclosing graph: outer-scope weights), made
 * unless wg already has them. */
static inline oc_node *conv_at(oc_graph *wg, const char *name, const char *in, const char *out, int64_t cout,
                               int64_t cin, int64_t k, int64_t group)
{
    char w[64], b[64], ins[200];
    snprintf(w, sizeof(w), "%s.w", name);
    snprintf(b, sizeof(b), "%s.b", name);
    int64_t wd[4] = {cout, cin / group, k, k}, bd[1] = {cout};
    oc_graph *here = g;
    g = wg;
    bool have = false;
    for (size_t i = 0; i < g->n_inits; i++) have |= !strcmp(g->inits[i]->name, w);
    if (!have) {
        weight(w, 4, wd);
        weight(b, 1, bd);
    }
    g = here;
    snprintf(ins, sizeof(ins), "%s,%s,%s", in, w, b);
    oc_node *n = node("Conv", name, ins, out);
    int64_t pads[4] = {k / 2, k / 2, k / 2, k / 2};
    a_ints(n, "pads", pads, 4);
    if (group > 1) a_int(n, "group", group);
    return n;
}

static inline oc_node *conv(const char *name, const char *in, const char *out, int64_t cout, int64_t cin, int64_t k,
                            int64_t group)
{
    return conv_at(g, name, in, out, cout, cin, k, group);
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

/* ---- normalisations over the channel axis (norm=approx) ---- */

static inline void scalar_float(const char *name, float v)
{
    oc_tensor *t = oc_graph_add_initializer(g, name, OC_DTYPE_FLOAT, 0, NULL);
    float *b = oc_malloc(sizeof(float));
    *b = v;
    oc_tensor_set_data(m, t, b, sizeof(float));
}

/* A LayerNorm's per-channel gamma (in [0.5, 1.5]) and beta. */
static inline void gamma_beta(const char *gname, const char *bname, int64_t c)
{
    int64_t d[1] = {c};
    weight(gname, 1, d);
    weight(bname, 1, d);
    float *gd = (float *)oc_graph_initializer(g, gname)->data;
    for (int64_t i = 0; i < c; i++) gd[i] = 1.0f + 0.5f * gd[i];
}

/* Multiplies slice j of weight `name` along `axis` by f (a weak channel). */
static inline void scale_slice(const char *name, int axis, int64_t j, float f)
{
    oc_tensor *t = oc_graph_initializer(g, name);
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis; d++) outer *= t->dims[d];
    for (int d = axis + 1; d < t->ndim; d++) inner *= t->dims[d];
    float *v = (float *)t->data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) v[(o * t->dims[axis] + j) * inner + i] *= f;
}

enum {
    LN_GEMM = 0,   /* x [1, 24] -> Gemm (16) -> LayerNorm -> Relu -> Gemm (4), as openWakeWord's heads */
    LN_MATMUL = 1, /* x [1, 5, 24] -> MatMul (16) -> LayerNorm -> Relu -> MatMul (4), a transformer's MLP */
    LN_TIME = 2,   /* LN_MATMUL normalising over the 5 steps (axes [1]) instead: exact, channels pass */
    LN_WIDE = 3,   /* LN_MATMUL normalising over steps and channels together (axes [1, 2]) */
    LN_SUM = 4,    /* LN_MATMUL whose first reduction is a ReduceSum over the channels */
};

/* A LayerNorm over the 16 channels written out as PyTorch exports it:
 * ReduceMean, Sub, Pow 2, ReduceMean, Add eps, Sqrt, Div, Mul gamma
 * (ln.g), Add beta (ln.b). Layers l1 (l1.w, Gemm: l1.b) and l2. */
static inline void build_ln_decomposed(int variant)
{
    begin();
    bool mm = variant != LN_GEMM;
    int64_t xd[3] = {1, 5, 24};
    if (!mm) xd[1] = 24;
    g->inputs[g->n_inputs++] = mkval("x", mm ? 3 : 2, xd);
    int64_t w1[2] = {mm ? 24 : 16, mm ? 16 : 24}, w2[2] = {mm ? 16 : 4, mm ? 4 : 16}, b1[1] = {16}, b2[1] = {4};
    weight("l1.w", 2, w1);
    if (mm) {
        node("MatMul", "l1", "x,l1.w", "h");
    } else {
        weight("l1.b", 1, b1);
        a_int(node("Gemm", "l1", "x,l1.w,l1.b", "h"), "transB", 1);
    }
    int64_t last[1] = {-1}, steps[1] = {1}, wide[2] = {1, 2};
    const int64_t *ax = variant == LN_TIME ? steps : variant == LN_WIDE ? wide : last;
    size_t nax = variant == LN_WIDE ? 2 : 1;
    if (variant == LN_SUM) {
        ints("sum_axes", 1, last);
        node("ReduceSum", "mean", "h,sum_axes", "mu");
    } else {
        a_ints(node("ReduceMean", "mean", "h", "mu"), "axes", ax, nax);
    }
    node("Sub", "sub", "h,mu", "d");
    scalar_float("two", 2);
    node("Pow", "pow", "d,two", "d2");
    a_ints(node("ReduceMean", "var", "d2", "v"), "axes", ax, nax);
    scalar_float("eps", 1e-5f);
    node("Add", "addeps", "v,eps", "ve");
    node("Sqrt", "sqrt", "ve", "sd");
    node("Div", "div", "d,sd", "n");
    gamma_beta("ln.g", "ln.b", 16);
    node("Mul", "gam", "n,ln.g", "ng");
    node("Add", "bet", "ng,ln.b", "nb");
    node("Relu", "relu", "nb", "r");
    weight("l2.w", 2, w2);
    if (mm) {
        node("MatMul", "l2", "r,l2.w", "y");
    } else {
        weight("l2.b", 1, b2);
        a_int(node("Gemm", "l2", "r,l2.w,l2.b", "y"), "transB", 1);
    }
    output("y");
}

enum {
    LNOP_MATMUL = 0,   /* x [1, 5, 24] -> MatMul (16) -> LayerNormalization -> Relu -> MatMul (4) */
    LNOP_CONV = 1,     /* x [1, 3, 6, 6] -> Conv (8) -> Transpose to NHWC -> LayerNormalization -> Relu ->
                        * MatMul (4), as ConvNeXt's blocks */
    LNOP_CHANNELS = 2, /* x [1, 3, 6, 6] -> Conv (8) -> LayerNormalization (axis 1: over C, H and W) -> Relu ->
                        * Conv (4) */
};

/* ONNX's LayerNormalization (opset 17), axis -1 but for LNOP_CHANNELS,
 * scale ln.s and bias ln.b; the first layer l1 (Conv: c1), its output h. */
static inline void build_ln_op(int variant)
{
    begin();
    m->opsets[0].version = 17;
    int64_t c = 16;
    if (variant == LNOP_MATMUL) {
        int64_t xd[3] = {1, 5, 24}, w1[2] = {24, 16};
        g->inputs[g->n_inputs++] = mkval("x", 3, xd);
        weight("l1.w", 2, w1);
        node("MatMul", "l1", "x,l1.w", "h");
    } else {
        c = 8;
        input4("x", 3, 6);
        conv("c1", "x", "h", 8, 3, 3, 1);
    }
    const char *ln_in = "h";
    if (variant == LNOP_CONV) {
        int64_t perm[4] = {0, 2, 3, 1};
        a_ints(node("Transpose", "nhwc", "h", "ht"), "perm", perm, 4);
        ln_in = "ht";
    }
    char ins[64];
    snprintf(ins, sizeof(ins), "%s,ln.s,ln.b", ln_in);
    if (variant == LNOP_CHANNELS) {
        int64_t sd[3] = {8, 6, 6};
        weight("ln.s", 3, sd);
        weight("ln.b", 3, sd);
    } else {
        gamma_beta("ln.s", "ln.b", c);
    }
    oc_node *ln = node("LayerNormalization", "ln", ins, "n");
    a_int(ln, "axis", variant == LNOP_CHANNELS ? 1 : -1);
    node("Relu", "relu", "n", "r");
    if (variant == LNOP_CHANNELS) {
        conv("c2", "r", "y", 4, 8, 1, 1);
    } else {
        int64_t w2[2] = {c, 4};
        weight("l2.w", 2, w2);
        node("MatMul", "l2", "r,l2.w", "y");
    }
    output("y");
}

/* ---- subgraphs ---- */

/* Nodes, weights, inputs and outputs go to a new body of the current graph
 * until end_body(). */
static inline oc_graph *begin_body(const char *name)
{
    oc_graph *b = oc_graph_new(m, g);
    b->name = oc_model_strdup(m, name);
    b->inputs = oc_model_alloc(m, 8 * sizeof(oc_value *));
    b->outputs = oc_model_alloc(m, 8 * sizeof(oc_value *));
    g = b;
    return b;
}

static inline void end_body(void)
{
    g = g->parent;
}

static inline void a_graph(oc_node *n, const char *name, oc_graph *body)
{
    oc_attr *a = oc_node_add_attr(g, n, name, OC_ATTR_GRAPH);
    a->g = body;
}

static inline void scalar_init(const char *name, int dtype, int64_t v)
{
    oc_tensor *t = oc_graph_add_initializer(g, name, dtype, 0, NULL);
    size_t sz = dtype == OC_DTYPE_BOOL ? 1 : dtype == OC_DTYPE_FLOAT ? 4 : 8;
    void *b = oc_calloc(1, 8);
    if (dtype == OC_DTYPE_BOOL) *(uint8_t *)b = (uint8_t)(v != 0);
    else if (dtype == OC_DTYPE_FLOAT) *(float *)b = (float)v;
    else *(int64_t *)b = v;
    oc_tensor_set_data(m, t, b, sz);
}

/* A body value declared with value_info [1, c, ?, ?] (symbolic spatial
 * dims, as exporters write them). */
static inline void partial_info(const char *name, int64_t c)
{
    int64_t d[4] = {1, c, -1, -1};
    oc_graph_add_value_info(g, name, OC_DTYPE_FLOAT, 4, d);
}

enum {
    IF_PLAIN = 0,     /* then: t1 (weights in the main graph) -> Relu -> t2; else: e1 -> Relu -> e2 */
    IF_SHARED = 1,    /* both branches' first conv read one main-graph weight, s1 */
    IF_OUTPUT = 2,    /* the then branch ends at its Relu: those channels reach the branch output */
    IF_READER = 3,    /* a main-graph node reads t1.w as well */
    IF_SAMENAMES = 4, /* both branches call their layers c1, c2 (own weights c1.w... in each) and their values
                       * h1, hr, hy (value_info [1, 8, ?, ?] each) */
    IF_CAPTURED = 5,  /* the then branch adds a main-graph value to t1's output */
    IF_RESHAPE = 6,   /* then: t1 -> Relu -> Reshape (its shape a main-graph constant) -> MatMul;
                       * else: e1 -> Relu -> e2 -> GlobalAveragePool -> Flatten */
};

static oc_graph *then_g, *else_g;
static float if_thr = 10; /* the If takes then when max(x) > if_thr: x is in [-1, 1] */

/* x [1, 3, 6, 6] -> If (max(x) > if_thr) whose branches hold
 * Conv -> Relu -> Conv (8 channels in between, 4 out) -> y. */
static inline void build_if(int variant)
{
    begin();
    input4("x", 3, 6);
    oc_graph *mg = g;
    oc_node *mx = node("ReduceMax", "mx", "x", "mx");
    a_int(mx, "keepdims", 0);
    int64_t sd[1] = {1};
    oc_tensor *t = oc_graph_add_initializer(g, "thr", OC_DTYPE_FLOAT, 0, sd);
    float *tv = oc_malloc(sizeof(float));
    *tv = if_thr;
    oc_tensor_set_data(m, t, tv, sizeof(float));
    node("Greater", "gt", "mx,thr", "cond");
    if (variant == IF_CAPTURED) conv("side", "x", "side", 8, 3, 1, 1);
    if (variant == IF_RESHAPE) {
        int64_t shp[2] = {1, 288};
        ints("shp", 2, shp);
    }
    bool same = variant == IF_SAMENAMES;
    then_g = begin_body("then");
    const char *first = variant == IF_SHARED ? "s1" : same ? "c1" : "t1";
    conv_at(same ? g : mg, first, "x", same ? "h1" : "t1o", variant == IF_OUTPUT ? 4 : 8, 3, 3, 1);
    const char *r_in = same ? "h1" : "t1o";
    if (variant == IF_CAPTURED) {
        node("Add", "cap", "t1o,side", "t1s");
        r_in = "t1s";
    }
    node("Relu", "tr", r_in, same ? "hr" : "tr");
    if (variant == IF_OUTPUT) {
        output("tr");
    } else if (variant == IF_RESHAPE) {
        node("Reshape", "rs", "tr,shp", "tf");
        int64_t wd[2] = {288, 4};
        weight("fc.w", 2, wd);
        node("MatMul", "fc", "tf,fc.w", "ty");
        output("ty");
    } else {
        conv(same ? "c2" : "t2", same ? "hr" : "tr", same ? "hy" : "ty", 4, 8, 3, 1);
        output(same ? "hy" : "ty");
    }
    if (same) {
        partial_info("h1", 8);
        partial_info("hr", 8);
    }
    end_body();
    else_g = begin_body("else");
    conv_at(variant == IF_SHARED ? mg : g, variant == IF_SHARED ? "s1" : same ? "c1" : "e1", "x",
            same ? "h1" : "e1o", 8, 3, 3, 1);
    node("Relu", "er", same ? "h1" : "e1o", same ? "hr" : "er");
    conv(same ? "c2" : "e2", same ? "hr" : "er", same ? "hy" : "ey", 4, 8, 1, 1);
    if (variant == IF_RESHAPE) {
        node("GlobalAveragePool", "gap", "ey", "eg");
        node("Flatten", "fl", "eg", "ef");
        output("ef");
    } else {
        output(same ? "hy" : "ey");
    }
    if (same) {
        partial_info("h1", 8);
        partial_info("hr", 8);
    }
    end_body();
    oc_node *in = node("If", "if", "cond", "y");
    a_graph(in, "then_branch", then_g);
    a_graph(in, "else_branch", else_g);
    output("y");
    if (variant == IF_READER) {
        node("ReduceSum", "wsum", "t1.w", "wsum");
        output("wsum");
    }
}

static oc_graph *loop_g;

/* x [1, 3, 6, 6] -> Loop (`trips` iterations) whose body maps the carried
 * v by Conv (8) -> Relu -> Conv (3) -> v_final. info: the body declares
 * l1o and lr as [1, 8, ?, ?]. */
static inline void build_loop(int64_t trips, bool info)
{
    begin();
    input4("x", 3, 6);
    scalar_init("trips", OC_DTYPE_INT64, trips);
    scalar_init("go", OC_DTYPE_BOOL, 1);
    loop_g = begin_body("body");
    int64_t sd[1] = {0};
    g->inputs[g->n_inputs++] = mkval("i", 0, sd);
    g->inputs[g->n_inputs - 1]->type.elem_type = OC_DTYPE_INT64;
    g->inputs[g->n_inputs++] = mkval("c_in", 0, sd);
    g->inputs[g->n_inputs - 1]->type.elem_type = OC_DTYPE_BOOL;
    int64_t vd[4] = {1, 3, 6, 6};
    g->inputs[g->n_inputs++] = mkval("v", 4, vd);
    node("Identity", "cid", "c_in", "c_out");
    conv("l1", "v", "l1o", 8, 3, 3, 1);
    node("Relu", "lr", "l1o", "lr");
    conv("l2", "lr", "v_out", 3, 8, 3, 1);
    output("c_out");
    g->outputs[g->n_outputs - 1]->type.elem_type = OC_DTYPE_BOOL;
    output("v_out");
    if (info) {
        partial_info("l1o", 8);
        partial_info("lr", 8);
    }
    end_body();
    oc_node *lp = node("Loop", "loop", "trips,go,x", "v_final");
    a_graph(lp, "body", loop_g);
    output("v_final");
}

/* ---- running ---- */

#define CG_MAXV 8192

/* x[0..n) from the seed `s`, uniform over [-amp, amp] in steps of amp/1000. */
static inline void cg_fill(float *x, size_t n, uint32_t s, float amp)
{
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = amp * ((float)((s >> 8) % 2001) / 1000.0f - 1.0f);
    }
}

/* Runs m in the interpreter on one input filled from `s` with values in
 * [-amp, amp], every output concatenated into y (at most CG_MAXV values);
 * returns the element count or -1. */
static inline int64_t run_model(uint32_t s, float amp, float *y)
{
    oc_session *ss = NULL;
    oc_ctx c;
    oc_ctx_init(&c);
    if (oc_session_new(&c, m, NULL, &ss) != OC_OK) {
        printf("  session: %s\n", c.msg);
        return -1;
    }
    const oc_value *v = oc_session_input(ss, 0);
    int64_t dims[OC_MAX_DIMS];
    for (int i = 0; i < v->type.ndim; i++) dims[i] = v->type.dims[i].value;
    oc_ten in, out[4];
    memset(out, 0, sizeof(out));
    int64_t n = -1;
    if (oc_ten_new(&c, &in, OC_DTYPE_FLOAT, v->type.ndim, dims) == OC_OK) {
        cg_fill(in.data, (size_t)in.numel, s, amp);
        if (oc_session_run(&c, ss, &in, out) == OC_OK) {
            n = 0;
            for (size_t k = 0; k < oc_session_n_outputs(ss) && n >= 0; k++) {
                if (n + out[k].numel > CG_MAXV) n = -1;
                else memcpy(y + n, out[k].data, (size_t)out[k].numel * sizeof(float)), n += out[k].numel;
            }
        } else {
            printf("  run: %s\n", c.msg);
        }
        oc_ten_release(&in);
    }
    for (size_t i = 0; i < oc_session_n_outputs(ss); i++) oc_ten_release(&out[i]);
    oc_session_free(ss);
    return n;
}

#endif
