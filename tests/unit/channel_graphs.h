/* channel_graphs.h: the small models the channel-pruning tests
 * (test_coupling.c, test_prune_channel.c) build by hand, on the helpers of
 * build.h: random weights, small integer and float constants, Conv and
 * BatchNormalization layers, and the graphs both tests use (a residual
 * block, a Concat, a depthwise conv, Flatten/Reshape to Gemm, LayerNorms
 * over the channels, written out and as one op, layers inside If branches
 * and a Loop body), then running one in the interpreter. Functions are
 * static inline so a test that leaves some unused still builds. */
#ifndef OC_TEST_CHANNEL_GRAPHS_H
#define OC_TEST_CHANNEL_GRAPHS_H

#include "exec/exec.h"
#include "ir/ir.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "build.h"

static uint32_t seed = 1;

/* ---- building models ---- */

static inline void input4(const char *name, int64_t c, int64_t h)
{
    int64_t d[4] = {1, c, h, h};
    input(name, 4, d);
}

static inline float rnd(void)
{
    seed = seed * 1664525u + 1013904223u;
    return (float)((seed >> 8) % 2001) / 1000.0f - 1.0f;
}

static inline void ints(const char *name, int64_t n, const int64_t *v)
{
    init(name, OC_DTYPE_INT64, 1, &n, v, (size_t)n * sizeof(int64_t));
}

static inline void floats(const char *name, int64_t n, const float *v)
{
    init(name, OC_DTYPE_FLOAT, 1, &n, v, (size_t)n * sizeof(float));
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
        weight_rand(w, 4, wd, rnd);
        weight_rand(b, 1, bd, rnd);
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
        weight_rand(nm[i], 1, d, rnd);
    }
    float *vd = (float *)oc_graph_initializer(g, nm[3])->data;
    for (int64_t i = 0; i < c; i++) vd[i] = 0.5f + vd[i] * vd[i];
    snprintf(ins, sizeof(ins), "%s,%s,%s,%s,%s", in, nm[0], nm[1], nm[2], nm[3]);
    node("BatchNormalization", name, ins, out);
}

static inline void build_residual(void)
{
    begin(13, 8);
    input4("x", 3, 8);
    conv("ca", "x", "a", 8, 3, 3, 1);
    bn("bna", "a", "a_bn", 8);
    node("Relu", "ra", "a_bn", "a_r");
    conv("cb", "a_r", "b", 8, 8, 3, 1);
    bn("bnb", "b", "b_bn", 8);
    node("Add", "add", "b_bn,a_r", "s");
    node("Relu", "rs", "s", "s_r");
    conv("cc", "s_r", "y", 4, 8, 1, 1);
    output("y", -1, NULL);
    /* a declared shape the pass must keep true */
    int64_t vd[4] = {1, 8, 8, 8};
    oc_graph_add_value_info(g, "a_r", OC_DTYPE_FLOAT, 4, vd);
}

static inline void build_concat(void)
{
    begin(13, 8);
    input4("x", 3, 6);
    conv("c1", "x", "p", 4, 3, 3, 1);
    node("Relu", "r1", "p", "p_r");
    conv("c2", "x", "q", 6, 3, 1, 1);
    node("Sigmoid", "r2", "q", "q_r");
    oc_node *cat = node("Concat", "cat", "p_r,q_r", "cat");
    a_int(cat, "axis", 1);
    conv("c3", "cat", "y", 5, 10, 3, 1);
    output("y", -1, NULL);
}

static inline void build_depthwise(void)
{
    begin(13, 8);
    input4("x", 3, 6);
    conv("c1", "x", "a", 8, 3, 1, 1);
    node("Relu", "r1", "a", "a_r");
    conv("dw", "a_r", "d", 8, 8, 3, 8);
    node("Relu", "r2", "d", "d_r");
    conv("c3", "d_r", "y", 4, 8, 1, 1);
    output("y", -1, NULL);
}

static inline void build_flatten(void)
{
    begin(13, 8);
    input4("x", 3, 4);
    conv("c1", "x", "a", 6, 3, 3, 1);
    node("Relu", "r1", "a", "a_r");
    node("GlobalAveragePool", "gap", "a_r", "pool");
    node("Flatten", "flat", "pool", "f");
    int64_t bd[2] = {5, 6}, cd[1] = {5};
    weight_rand("fc.w", 2, bd, rnd);
    weight_rand("fc.b", 1, cd, rnd);
    oc_node *gm = node("Gemm", "fc", "f,fc.w,fc.b", "y");
    a_int(gm, "transB", 1);
    conv("c2", "x", "b", 4, 3, 3, 1);
    int64_t shape[2] = {1, 64};
    ints("shape", 2, shape);
    node("Reshape", "rs", "b,shape", "bf");
    int64_t b2[2] = {64, 3};
    weight_rand("fc2.w", 2, b2, rnd);
    node("MatMul", "fc2", "bf,fc2.w", "z");
    output("y", -1, NULL);
    output("z", -1, NULL);
}

/* ---- normalisations over the channel axis (norm=approx) ---- */

static inline void scalar_float(const char *name, float v)
{
    init(name, OC_DTYPE_FLOAT, 0, NULL, &v, sizeof(v));
}

/* A LayerNorm's per-channel gamma (in [0.5, 1.5]) and beta. */
static inline void gamma_beta(const char *gname, const char *bname, int64_t c)
{
    int64_t d[1] = {c};
    weight_rand(gname, 1, d, rnd);
    weight_rand(bname, 1, d, rnd);
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
    begin(13, 8);
    bool mm = variant != LN_GEMM;
    int64_t xd[3] = {1, 5, 24};
    if (!mm) xd[1] = 24;
    input("x", mm ? 3 : 2, xd);
    int64_t w1[2] = {mm ? 24 : 16, mm ? 16 : 24}, w2[2] = {mm ? 16 : 4, mm ? 4 : 16}, b1[1] = {16}, b2[1] = {4};
    weight_rand("l1.w", 2, w1, rnd);
    if (mm) {
        node("MatMul", "l1", "x,l1.w", "h");
    } else {
        weight_rand("l1.b", 1, b1, rnd);
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
    weight_rand("l2.w", 2, w2, rnd);
    if (mm) {
        node("MatMul", "l2", "r,l2.w", "y");
    } else {
        weight_rand("l2.b", 1, b2, rnd);
        a_int(node("Gemm", "l2", "r,l2.w,l2.b", "y"), "transB", 1);
    }
    output("y", -1, NULL);
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
    begin(17, 8);
    int64_t c = 16;
    if (variant == LNOP_MATMUL) {
        int64_t xd[3] = {1, 5, 24}, w1[2] = {24, 16};
        input("x", 3, xd);
        weight_rand("l1.w", 2, w1, rnd);
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
        weight_rand("ln.s", 3, sd, rnd);
        weight_rand("ln.b", 3, sd, rnd);
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
        weight_rand("l2.w", 2, w2, rnd);
        node("MatMul", "l2", "r,l2.w", "y");
    }
    output("y", -1, NULL);
}

/* ---- subgraphs ---- */

/* A scalar initializer of type BOOL, FLOAT or INT64 holding v. */
static inline void scalar_init(const char *name, int dtype, int64_t v)
{
    uint8_t b = (uint8_t)(v != 0);
    float f = (float)v;
    if (dtype == OC_DTYPE_BOOL) init(name, dtype, 0, NULL, &b, 1);
    else if (dtype == OC_DTYPE_FLOAT) init(name, dtype, 0, NULL, &f, sizeof(f));
    else init(name, dtype, 0, NULL, &v, sizeof(v));
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
    begin(13, 8);
    input4("x", 3, 6);
    oc_graph *mg = g;
    oc_node *mx = node("ReduceMax", "mx", "x", "mx");
    a_int(mx, "keepdims", 0);
    scalar_float("thr", if_thr);
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
        output("tr", -1, NULL);
    } else if (variant == IF_RESHAPE) {
        node("Reshape", "rs", "tr,shp", "tf");
        int64_t wd[2] = {288, 4};
        weight_rand("fc.w", 2, wd, rnd);
        node("MatMul", "fc", "tf,fc.w", "ty");
        output("ty", -1, NULL);
    } else {
        conv(same ? "c2" : "t2", same ? "hr" : "tr", same ? "hy" : "ty", 4, 8, 3, 1);
        output(same ? "hy" : "ty", -1, NULL);
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
        output("ef", -1, NULL);
    } else {
        output(same ? "hy" : "ey", -1, NULL);
    }
    if (same) {
        partial_info("h1", 8);
        partial_info("hr", 8);
    }
    end_body();
    oc_node *in = node("If", "if", "cond", "y");
    a_graph(in, "then_branch", then_g);
    a_graph(in, "else_branch", else_g);
    output("y", -1, NULL);
    if (variant == IF_READER) {
        node("ReduceSum", "wsum", "t1.w", "wsum");
        output("wsum", -1, NULL);
    }
}

static oc_graph *loop_g;

/* x [1, 3, 6, 6] -> Loop (`trips` iterations) whose body maps the carried
 * v by Conv (8) -> Relu -> Conv (3) -> v_final. info: the body declares
 * l1o and lr as [1, 8, ?, ?]. */
static inline void build_loop(int64_t trips, bool info)
{
    begin(13, 8);
    input4("x", 3, 6);
    scalar_init("trips", OC_DTYPE_INT64, trips);
    scalar_init("go", OC_DTYPE_BOOL, 1);
    loop_g = begin_body("body");
    int64_t sd[1] = {0};
    g->inputs[g->n_inputs++] = mkval("i", OC_DTYPE_INT64, 0, sd);
    g->inputs[g->n_inputs++] = mkval("c_in", OC_DTYPE_BOOL, 0, sd);
    int64_t vd[4] = {1, 3, 6, 6};
    input("v", 4, vd);
    node("Identity", "cid", "c_in", "c_out");
    conv("l1", "v", "l1o", 8, 3, 3, 1);
    node("Relu", "lr", "l1o", "lr");
    conv("l2", "lr", "v_out", 3, 8, 3, 1);
    g->outputs[g->n_outputs++] = mkval("c_out", OC_DTYPE_BOOL, -1, NULL);
    output("v_out", -1, NULL);
    if (info) {
        partial_info("l1o", 8);
        partial_info("lr", 8);
    }
    end_body();
    oc_node *lp = node("Loop", "loop", "trips,go,x", "v_final");
    a_graph(lp, "body", loop_g);
    output("v_final", -1, NULL);
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
