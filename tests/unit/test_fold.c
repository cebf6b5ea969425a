/* test_fold.c: the float rewrites before static quantization (fold.c):
 * per-channel affine ops folded into the Conv/ConvTranspose before them,
 * hard-swish chains rewritten as one op. Each case runs the model in the
 * interpreter before and after: the outputs must agree to float rounding,
 * and the graph must have lost exactly the nodes it should. Cases the
 * rewrite must leave alone check that nothing changed. */
#include "channel_graphs.h"
#include "exec/exec.h"
#include "passes/qdq.h"
#include "unit.h"

#include <math.h>

#define MAXV CG_MAXV

/* Runs m on one input in [-4, 4] (both bends of hard-swish), from `s`. */
static int64_t run(uint32_t s, float *y)
{
    return run_model(s, 4.0f, y);
}

static size_t count_op(const char *op)
{
    size_t k = 0;
    for (size_t i = 0; i < g->n_nodes; i++) k += !strcmp(g->nodes[i]->op_type, op);
    return k;
}

/* Runs both rewrites on m; checks the outputs before and after agree, and
 * returns how many nodes each rewrite took. */
static void fold(size_t *affine, size_t *hswish)
{
    static float y0[MAXV], y1[MAXV];
    int64_t n0 = run(11, y0);
    oc_ctx c;
    oc_ctx_init(&c);
    oc_pipeline_opts po = oc_pipeline_opts_default();
    oc_pass_run r = {.ctx = &c, .m = m, .popts = &po};
    *affine = *hswish = 0;
    CHECK(oc_fold_affine(&r, g, affine) == OC_OK);
    CHECK(oc_fold_hardswish(&r, g, hswish) == OC_OK);
    CHECK(oc_graph_verify(&c, g) == OC_OK);
    int64_t n1 = run(11, y1);
    CHECK(n0 > 0 && n0 == n1);
    double scale = 1, worst = 0;
    for (int64_t i = 0; i < n0 && n0 == n1; i++) scale = fmax(scale, fabs(y0[i]));
    for (int64_t i = 0; i < n0 && n0 == n1; i++) worst = fmax(worst, fabs((double)y0[i] - y1[i]) / scale);
    if (worst > 1e-5) printf("  outputs differ by %g\n", worst);
    CHECK(worst <= 1e-5);
}

static void per_channel_const(const char *name, int64_t c, int ndim, float base)
{
    int64_t d[4] = {1, c, 1, 1};
    if (ndim == 3) d[0] = c, d[1] = d[2] = 1; /* [C, 1, 1]: channel axis of a rank-4 output */
    float *v = weight(name, ndim, d, NULL);
    for (int64_t i = 0; i < c; i++) v[i] = base + 0.25f * (float)i;
}

/* Conv -> Mul(scalar) -> Add([1,C,1,1]) -> Sub([C,1,1]) -> Div(scalar) ->
 * Relu: the four affine ops go into the Conv; Relu stays. */
static void test_conv_affine(void)
{
    begin(13, 8);
    input4("x", 3, 6);
    conv("c", "x", "a", 4, 3, 3, 1);
    scalar_float("k", 1.7f);
    per_channel_const("b", 4, 4, -0.5f);
    per_channel_const("s", 4, 3, 0.3f);
    scalar_float("d", -2.5f);
    node("Mul", "mul", "k,a", "a1");
    node("Add", "add", "a1,b", "a2");
    node("Sub", "sub", "a2,s", "a3");
    node("Div", "div", "a3,d", "a4");
    node("Relu", "relu", "a4", "y");
    output("y", -1, NULL);
    size_t af, hs;
    fold(&af, &hs);
    CHECK_EQ_INT(af, 4);
    CHECK_EQ_INT(hs, 0);
    CHECK_EQ_INT(g->n_nodes, 2);
    CHECK_EQ_INT(count_op("Conv"), 1);
    /* the unfolded weights and constants are gone */
    CHECK(!oc_graph_initializer(g, "c.w") && !oc_graph_initializer(g, "k") && !oc_graph_initializer(g, "b"));
    oc_model_free(m);
}

/* Conv -> BatchNormalization, and a bias-less ConvTranspose with two groups
 * -> BatchNormalization -> Mul([1,C,1,1]). */
static void test_batchnorm(void)
{
    begin(13, 8);
    input4("x", 4, 5);
    conv("c", "x", "a", 4, 4, 3, 1);
    bn("bn1", "a", "a_bn", 4);
    int64_t wd[4] = {4, 3, 2, 2};
    weight_rand("t.w", 4, wd, rnd);
    oc_node *t = node("ConvTranspose", "t", "a_bn,t.w", "b");
    a_int(t, "group", 2);
    int64_t st[2] = {2, 2};
    a_ints(t, "strides", st, 2);
    bn("bn2", "b", "b_bn", 6);
    per_channel_const("m", 6, 4, 0.5f);
    node("Mul", "mul", "b_bn,m", "y");
    output("y", -1, NULL);
    size_t af, hs;
    fold(&af, &hs);
    CHECK_EQ_INT(af, 3);
    CHECK_EQ_INT(g->n_nodes, 2);
    CHECK_EQ_INT(count_op("BatchNormalization"), 0);
    oc_model_free(m);
}

/* What must stay: a 1-D [C] constant (it broadcasts along the last axis,
 * not the channels), a Conv output read twice, c - y, an input-dependent
 * operand, a layer output that is a graph output. */
static void test_left_alone(void)
{
    begin(13, 8);
    input4("x", 6, 6);
    conv("c1", "x", "a", 6, 6, 3, 1);
    int64_t d1[1] = {6};
    weight_rand("v", 1, d1, rnd);
    node("Mul", "m1", "a,v", "a1");           /* [6] aligns with W */
    conv("c2", "a1", "b", 6, 6, 1, 1);
    scalar_float("k", 2.0f);
    node("Sub", "s1", "k,b", "b1");           /* k - y */
    conv("c3", "b1", "c", 6, 6, 1, 1);
    node("Mul", "m2", "c,x", "c1");           /* operand not constant */
    conv("c4", "c1", "e", 6, 6, 1, 1);
    node("Add", "a2", "e,k", "e1");           /* e also read below */
    node("Mul", "m3", "e,e1", "y");
    output("y", -1, NULL);
    size_t n_before = g->n_nodes, af, hs;
    fold(&af, &hs);
    CHECK_EQ_INT(af, 0);
    CHECK_EQ_INT(hs, 0);
    CHECK_EQ_INT(g->n_nodes, n_before);
    oc_model_free(m);
}

/* x * Clip(x + 3, 0, 6) / 6 and Clip(x + 3, 0, 6) / 6 * x (as Mul by 1/6)
 * become one op; at opset 13 x * HardSigmoid(x), at 14 HardSwish. */
static void hardswish_case(int64_t opset, bool div_first)
{
    begin(opset, 8);
    input4("x", 2, 4);
    scalar_float("three", 3), scalar_float("zero", 0), scalar_float("six", 6), scalar_float("sixth", 1.0f / 6);
    node("Add", "add", "x,three", "p");
    node("Clip", "clip", "p,zero,six", "q");
    if (div_first) {
        node("Mul", "sc", "q,sixth", "h");
        node("Mul", "mul", "x,h", "y");
    } else {
        node("Mul", "mul", "q,x", "r");
        node("Div", "div", "r,six", "y");
    }
    output("y", -1, NULL);
    size_t af, hs;
    fold(&af, &hs);
    CHECK_EQ_INT(hs, 1);
    CHECK_EQ_INT(count_op("Clip"), 0);
    if (opset >= 14) {
        CHECK_EQ_INT(g->n_nodes, 1);
        CHECK_EQ_INT(count_op("HardSwish"), 1);
    } else {
        CHECK_EQ_INT(g->n_nodes, 2);
        CHECK_EQ_INT(count_op("HardSigmoid"), 1);
    }
    CHECK(!oc_graph_initializer(g, "three"));
    oc_model_free(m);
}

static void test_hardswish(void)
{
    hardswish_case(13, false);
    hardswish_case(13, true);
    hardswish_case(14, false);
    hardswish_case(14, true);
}

/* x + 3 read twice, or a clip to [0, 5]: not hard-swish. */
static void test_hardswish_left_alone(void)
{
    for (int k = 0; k < 2; k++) {
        begin(13, 8);
        input4("x", 2, 4);
        scalar_float("three", 3), scalar_float("zero", 0), scalar_float("six", 6), scalar_float("five", 5);
        node("Add", "add", "x,three", "p");
        node("Clip", "clip", k ? "p,zero,five" : "p,zero,six", "q");
        node("Mul", "mul", "q,x", "r");
        node("Div", "div", "r,six", "s");
        if (!k) node("Add", "extra", "s,p", "y");
        else node("Relu", "extra", "s", "y");
        output("y", -1, NULL);
        size_t n_before = g->n_nodes, af, hs;
        fold(&af, &hs);
        CHECK_EQ_INT(hs, 0);
        CHECK_EQ_INT(g->n_nodes, n_before);
        oc_model_free(m);
    }
}

int main(void)
{
    RUN(test_conv_affine);
    RUN(test_batchnorm);
    RUN(test_left_alone);
    RUN(test_hardswish);
    RUN(test_hardswish_left_alone);
    UNIT_END("fold");
}
