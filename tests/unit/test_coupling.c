/* test_coupling.c: the channel-coupling analysis (lib/passes/coupling.c) on
 * small graphs built by hand: which spaces end up in one group, how many
 * channels a group has, which tensors it slices and which layers read it,
 * and the refusals (a graph output, a Reshape splitting the channels, an
 * op over the channel axis, an op the analysis does not know) with the
 * names they give; layers inside If branches and a Loop body: their groups,
 * weights stored in the main graph, and what refuses them there;
 * LayerNorms over the channel axis, refused unless norm_approx lets them
 * through, and the normalisations it still refuses. */
#include "ir/ir.h"
#include "passes/coupling.h"
#include "unit.h"

#include <stdint.h>

#include "channel_graphs.h"

/* a Reshape splitting the channels ([1,8,4,4] -> [1,2,4,16]) */
static void build_bad_reshape(void)
{
    begin(13, 8);
    input4("x", 3, 4);
    conv("c1", "x", "a", 8, 3, 3, 1);
    int64_t shape[4] = {1, 2, 4, 16};
    ints("shape", 4, shape);
    node("Reshape", "rs", "a,shape", "r");
    node("Relu", "rr", "r", "y");
    output("y", -1, NULL);
}

/* the relu output is also a graph output; a Softmax over channels; an
 * unknown op */
static void build_refusals(void)
{
    begin(13, 8);
    input4("x", 3, 4);
    conv("c1", "x", "a", 8, 3, 3, 1);
    node("Relu", "r1", "a", "a_r");
    conv("c2", "a_r", "b", 6, 8, 3, 1);
    oc_node *sm = node("Softmax", "sm", "b", "b_s");
    a_int(sm, "axis", 1);
    conv("c3", "b_s", "c", 8, 6, 1, 1);
    node("Relu", "r3", "c", "c_r");
    oc_node *d2s = node("DepthToSpace", "d2s", "c_r", "e");
    a_int(d2s, "blocksize", 2);
    output("a_r", -1, NULL);
    output("e", -1, NULL);
}

/* ---- running the analysis ---- */

static oc_coupling *analyze_with(const oc_coupling_opts *o);

static oc_coupling *analyze(void)
{
    return analyze_with(NULL);
}

static oc_coupling *analyze_with(const oc_coupling_opts *o)
{
    static oc_pipeline_opts po;
    static oc_pipeline_report rep;
    static oc_pass_vals vals;
    oc_ctx_init(&ctx);
    po = oc_pipeline_opts_default();
    memset(&rep, 0, sizeof(rep));
    const oc_pass *ps = NULL;
    for (size_t i = 0; i < oc_passes_count; i++)
        if (!strcmp(oc_passes[i].name, "channel")) ps = &oc_passes[i];
    memset(&vals, 0, sizeof(vals));
    oc_pass_run r = {.ctx = &ctx, .m = m, .pass = ps, .vals = &vals, .popts = &po, .rep = &rep};
    oc_coupling *c = NULL;
    if (oc_coupling_analyze(&r, o, &c) != OC_OK) printf("  analyze: %s\n", ctx.msg);
    CHECK(c && !c->probe_error[0] && !strcmp(c->shape_source, "interpreter"));
    if (c && c->probe_error[0]) printf("  probe: %s\n", c->probe_error);
    return c;
}

static const oc_cgroup *group(const oc_coupling *c, const char *value, int axis)
{
    int64_t gi = c ? oc_coupling_group_of(c, value, axis) : -1;
    return gi < 0 ? NULL : &c->groups[gi];
}

static bool same_group(const oc_coupling *c, const char *a, const char *b)
{
    int64_t x = oc_coupling_group_of(c, a, 1), y = oc_coupling_group_of(c, b, 1);
    return x >= 0 && x == y;
}

/* The member slicing `name` along `axis`, or NULL. */
static const oc_cmember *member(const oc_coupling *c, const char *name, int axis)
{
    for (size_t i = 0; i < c->n_members; i++)
        if (!strcmp(c->members[i].name, name) && c->members[i].axis == axis) return &c->members[i];
    return NULL;
}

/* The group of value/axis 1 in graph gr (a body), or NULL. */
static const oc_cgroup *group_in(const oc_coupling *c, const oc_graph *gr, const char *value)
{
    int64_t gi = c ? oc_coupling_group_in(c, gr, value, 1) : -1;
    return gi < 0 ? NULL : &c->groups[gi];
}

static bool has_reason(const oc_cgroup *gr, const char *text)
{
    return gr && gr->reason && strstr(gr->reason, text);
}

static void dump(const oc_coupling *c)
{
    char buf[4096];
    for (size_t i = 0; c && i < c->n_groups; i++) {
        oc_coupling_describe(c, i, buf, sizeof(buf));
        printf("%s", buf);
    }
}

/* ---- cases ---- */

static void test_residual(void)
{
    build_residual();
    oc_coupling *c = analyze();
    CHECK(c != NULL);
    const oc_cgroup *gr = group(c, "a", 1);
    CHECK(gr && !gr->reason);
    CHECK(same_group(c, "a", "b") && same_group(c, "a", "s_r") && same_group(c, "a", "a_bn"));
    CHECK_EQ_INT(gr ? gr->channels : -1, 8);
    CHECK_EQ_INT(gr ? (long long)gr->n_sources : -1, 2);
    CHECK_EQ_INT(gr ? (long long)gr->n_consumers : -1, 2);
    /* ca.w, ca.b, 4 bna, cb.w x2 axes, cb.b, 4 bnb, cc.w */
    CHECK_EQ_INT(gr ? (long long)gr->n_members : -1, 14);
    const oc_cmember *mb = member(c, "cb.w", 1), *mo = member(c, "cb.w", 0), *mc = member(c, "cc.w", 1);
    CHECK(mb && mb->role == OC_CROLE_CONSUMER);
    CHECK(mo && mo->role == OC_CROLE_SOURCE);
    CHECK(mc && mc->role == OC_CROLE_CONSUMER);
    CHECK(member(c, "bna.var", 0) && member(c, "bnb.scale", 0)->role == OC_CROLE_PARAM);
    /* channel j of ca and channel j of cb are one unit */
    int64_t sa = -1, sb = -1;
    for (size_t i = 0; c && i < c->n_spaces; i++) {
        if (!strcmp(c->spaces[i].value, "a")) sa = (int64_t)i;
        if (!strcmp(c->spaces[i].value, "b")) sb = (int64_t)i;
    }
    CHECK(sa >= 0 && sb >= 0);
    if (sa >= 0 && sb >= 0)
        for (int64_t j = 0; j < 8; j++) CHECK(c->unit[c->spaces[sa].base + j] == c->unit[c->spaces[sb].base + j]);
    CHECK(has_reason(group(c, "y", 1), "reaches graph output 'y'"));
    if (unit_case_failed) dump(c);
    oc_coupling_free(c);
    oc_model_free(m);
}

static void test_concat(void)
{
    build_concat();
    oc_coupling *c = analyze();
    const oc_cgroup *gr = group(c, "cat", 1);
    CHECK(gr && !gr->reason);
    CHECK(c && same_group(c, "p", "q") && same_group(c, "p", "cat"));
    CHECK_EQ_INT(gr ? gr->channels : -1, 10);
    CHECK_EQ_INT(gr ? (long long)gr->n_sources : -1, 2);
    const oc_cmember *w3 = c ? member(c, "c3.w", 1) : NULL;
    CHECK(w3 && w3->role == OC_CROLE_CONSUMER && w3->offset == 0);
    /* q's channel 0 is the Concat's channel 4 */
    int64_t sq = -1, sc = -1;
    for (size_t i = 0; c && i < c->n_spaces; i++) {
        if (!strcmp(c->spaces[i].value, "q")) sq = (int64_t)i;
        if (!strcmp(c->spaces[i].value, "cat")) sc = (int64_t)i;
    }
    CHECK(sq >= 0 && sc >= 0);
    if (sq >= 0 && sc >= 0) CHECK(c->unit[c->spaces[sq].base] == c->unit[c->spaces[sc].base + 4]);
    if (unit_case_failed) dump(c);
    oc_coupling_free(c);
    oc_model_free(m);
}

static void test_depthwise(void)
{
    build_depthwise();
    oc_coupling *c = analyze();
    const oc_cgroup *gr = group(c, "a", 1);
    CHECK(gr && !gr->reason);
    CHECK(c && same_group(c, "a", "d") && same_group(c, "a", "d_r"));
    CHECK_EQ_INT(gr ? gr->channels : -1, 8);
    CHECK_EQ_INT(gr ? (long long)gr->n_sources : -1, 2);
    CHECK_EQ_INT(gr ? (long long)gr->n_edits : -1, 1);
    CHECK(c && c->n_edits == 1 && c->edits[0].kind == OC_CEDIT_GROUP && !strcmp(c->edits[0].node->name, "dw"));
    const oc_cmember *dw = c ? member(c, "dw.w", 0) : NULL;
    CHECK(dw && dw->role == OC_CROLE_SOURCE);
    CHECK(c && !member(c, "dw.w", 1)); /* its one input per group stays */
    if (unit_case_failed) dump(c);
    oc_coupling_free(c);
    oc_model_free(m);
}

static void test_flatten(void)
{
    build_flatten();
    oc_coupling *c = analyze();
    const oc_cgroup *gr = group(c, "a", 1);
    CHECK(gr && !gr->reason);
    CHECK(c && same_group(c, "a", "f"));
    CHECK_EQ_INT(gr ? gr->channels : -1, 6);
    const oc_cmember *fc = c ? member(c, "fc.w", 1) : NULL;
    CHECK(fc && fc->role == OC_CROLE_CONSUMER);
    /* the Reshape: 4 channels of 16 columns each, and its shape entry */
    const oc_cgroup *g2 = group(c, "b", 1);
    CHECK(g2 && !g2->reason);
    CHECK_EQ_INT(g2 ? g2->channels : -1, 4);
    CHECK(c && same_group(c, "b", "bf"));
    const oc_cmember *w2 = c ? member(c, "fc2.w", 0) : NULL;
    CHECK(w2 && w2->role == OC_CROLE_CONSUMER);
    int64_t sb = -1, sf = -1;
    for (size_t i = 0; c && i < c->n_spaces; i++) {
        if (!strcmp(c->spaces[i].value, "b")) sb = (int64_t)i;
        if (!strcmp(c->spaces[i].value, "bf")) sf = (int64_t)i;
    }
    CHECK(sb >= 0 && sf >= 0);
    if (sb >= 0 && sf >= 0) {
        CHECK_EQ_INT(c->spaces[sf].size, 64);
        CHECK(c->unit[c->spaces[sf].base + 17] == c->unit[c->spaces[sb].base + 1]);
        CHECK(c->unit[c->spaces[sf].base + 63] == c->unit[c->spaces[sb].base + 3]);
    }
    bool edit = false;
    for (size_t i = 0; c && i < c->n_edits; i++)
        edit |= c->edits[i].kind == OC_CEDIT_RESHAPE && c->edits[i].index == 1 && !strcmp(c->edits[i].node->name, "rs");
    CHECK(edit);
    if (unit_case_failed) dump(c);
    oc_coupling_free(c);
    oc_model_free(m);
}

static void test_batchnorm(void)
{
    build_residual();
    oc_coupling *c = analyze();
    const char *names[4] = {"bna.scale", "bna.bias", "bna.mean", "bna.var"};
    for (int i = 0; i < 4; i++) {
        const oc_cmember *mb = c ? member(c, names[i], 0) : NULL;
        CHECK(mb && mb->role == OC_CROLE_PARAM && mb->offset == 0 && c->spaces[mb->space].size == 8);
    }
    oc_coupling_free(c);
    oc_model_free(m);
}

static void test_bad_reshape(void)
{
    build_bad_reshape();
    oc_coupling *c = analyze();
    const oc_cgroup *gr = group(c, "a", 1);
    CHECK(has_reason(gr, "Reshape 'rs'"));
    CHECK(has_reason(gr, "splits the channel axis"));
    if (unit_case_failed) dump(c);
    oc_coupling_free(c);
    oc_model_free(m);
}

static void test_refusals(void)
{
    build_refusals();
    oc_coupling *c = analyze();
    CHECK(has_reason(group(c, "a", 1), "reaches graph output 'a_r'"));
    CHECK(has_reason(group(c, "b", 1), "op 'Softmax' over the channel axis at node 'sm'"));
    CHECK(has_reason(group(c, "c", 1), "unsupported op 'DepthToSpace' at node 'd2s'"));
    if (unit_case_failed) dump(c);
    oc_coupling_free(c);
    oc_model_free(m);
}

/* A layer left out by --exclude-node refuses its group. */
static void test_excluded(void)
{
    build_depthwise();
    static oc_pipeline_opts po;
    static oc_pipeline_report rep;
    static oc_pass_vals vals;
    const char *ex[1] = {"c3"};
    oc_ctx_init(&ctx);
    po = oc_pipeline_opts_default();
    po.exclude_nodes = ex;
    po.n_exclude_nodes = 1;
    const oc_pass *ps = NULL;
    for (size_t i = 0; i < oc_passes_count; i++)
        if (!strcmp(oc_passes[i].name, "channel")) ps = &oc_passes[i];
    oc_pass_run r = {.ctx = &ctx, .m = m, .pass = ps, .vals = &vals, .popts = &po, .rep = &rep};
    oc_coupling *c = NULL;
    CHECK(oc_coupling_analyze(&r, NULL, &c) == OC_OK);
    CHECK(has_reason(group(c, "a", 1), "layer 'c3' (Conv) is left out"));
    oc_coupling_free(c);
    oc_model_free(m);
}

/* Conv -> Relu -> Conv in each branch of an If: one group per branch,
 * with the weights wherever they are stored; the branch outputs refuse. */
static void test_if_branches(void)
{
    if_thr = 10; /* the probe's zero input takes else; then runs too */
    build_if(IF_PLAIN);
    oc_coupling *c = analyze();
    const oc_cgroup *t = group_in(c, then_g, "t1o"), *e = group_in(c, else_g, "e1o");
    CHECK(t && !t->reason && e && !e->reason && t != e);
    CHECK(t == group_in(c, then_g, "tr") && e == group_in(c, else_g, "er"));
    CHECK_EQ_INT(t ? t->channels : -1, 8);
    CHECK_EQ_INT(t ? (long long)t->n_sources : -1, 1);
    CHECK_EQ_INT(t ? (long long)t->n_consumers : -1, 1);
    const oc_cmember *w = c ? member(c, "t1.w", 0) : NULL; /* stored in the main graph */
    CHECK(w && w->role == OC_CROLE_SOURCE && w->graph == then_g);
    CHECK(c && member(c, "t2.w", 1) && member(c, "t2.w", 1)->role == OC_CROLE_CONSUMER);
    CHECK(c && oc_coupling_group_of(c, "t1o", 1) < 0); /* not a main-graph value */
    CHECK(has_reason(group_in(c, then_g, "ty"), "reaches output 'ty' of the then_branch of If 'if'"));
    CHECK(has_reason(group_in(c, else_g, "ey"), "reaches output 'ey' of the else_branch of If 'if'"));
    if (unit_case_failed) dump(c);
    oc_coupling_free(c);
    oc_model_free(m);

    /* one weight read by both branches: one group over both */
    build_if(IF_SHARED);
    c = analyze();
    t = group_in(c, then_g, "t1o");
    CHECK(t && !t->reason && t == group_in(c, else_g, "e1o"));
    CHECK_EQ_INT(t ? t->channels : -1, 8);
    CHECK_EQ_INT(t ? (long long)t->n_sources : -1, 2);
    CHECK_EQ_INT(t ? (long long)t->n_consumers : -1, 2);
    if (unit_case_failed) dump(c);
    oc_coupling_free(c);
    oc_model_free(m);

    /* sibling branches naming their values alike: one space each, shapes
     * from each branch's value_info (the observer reports neither) */
    build_if(IF_SAMENAMES);
    c = analyze();
    t = group_in(c, then_g, "h1");
    e = group_in(c, else_g, "h1");
    CHECK(t && !t->reason && e && !e->reason && t != e);
    CHECK_EQ_INT(t ? (long long)t->n_sources : -1, 1); /* c1.w of each branch is its own */
    if (unit_case_failed) dump(c);
    oc_coupling_free(c);
    oc_model_free(m);
}

/* What refuses a branch's group: its channels reaching the branch output,
 * its weight read by a node outside the analysis, a captured value. */
static void test_if_refusals(void)
{
    if_thr = 10;
    build_if(IF_OUTPUT);
    oc_coupling *c = analyze();
    CHECK(has_reason(group_in(c, then_g, "t1o"), "reaches output 'tr' of the then_branch of If 'if'"));
    const oc_cgroup *e = group_in(c, else_g, "e1o");
    CHECK(e && !e->reason);
    if (unit_case_failed) dump(c);
    oc_coupling_free(c);
    oc_model_free(m);

    build_if(IF_READER);
    c = analyze();
    CHECK(has_reason(group_in(c, then_g, "t1o"), "constant 't1.w' is also read by node 'wsum' (ReduceSum)"));
    e = group_in(c, else_g, "e1o");
    CHECK(e && !e->reason);
    if (unit_case_failed) dump(c);
    oc_coupling_free(c);
    oc_model_free(m);

    build_if(IF_CAPTURED);
    c = analyze();
    CHECK(has_reason(group_in(c, then_g, "t1o"), "'side' is captured from an enclosing graph by the then_branch"));
    CHECK(has_reason(group(c, "side", 1), "read inside a subgraph of node 'if' (If)"));
    if (unit_case_failed) dump(c);
    oc_coupling_free(c);
    oc_model_free(m);
}

/* A Loop body: shapes from its iterations; a body that never runs has
 * them from its value_info, or its layers are counted as unshaped. */
static void test_loop_body(void)
{
    build_loop(2, false);
    oc_coupling *c = analyze();
    const oc_cgroup *gr = group_in(c, loop_g, "l1o");
    CHECK(gr && !gr->reason && gr == group_in(c, loop_g, "lr"));
    CHECK(has_reason(group_in(c, loop_g, "v_out"), "reaches output 'v_out' of the body of Loop 'loop'"));
    CHECK_EQ_INT(c ? (long long)c->n_unshaped : -1, 0);
    if (unit_case_failed) dump(c);
    oc_coupling_free(c);
    oc_model_free(m);

    build_loop(0, false);
    c = analyze();
    CHECK(c && !group_in(c, loop_g, "l1o"));
    CHECK_EQ_INT(c ? (long long)c->n_unshaped : -1, 2);
    oc_coupling_free(c);
    oc_model_free(m);

    build_loop(0, true);
    c = analyze();
    gr = group_in(c, loop_g, "l1o");
    CHECK(gr && !gr->reason && gr->channels == 8);
    CHECK_EQ_INT(c ? (long long)c->n_unshaped : -1, 1); /* l2: v_out is declared without a shape */
    if (unit_case_failed) dump(c);
    oc_coupling_free(c);
    oc_model_free(m);
}

/* ---- normalisations over the channel axis ---- */

static const oc_coupling_opts approx = {.norm_approx = true};

static bool approx_node(const oc_coupling *c, const char *name)
{
    for (size_t i = 0; c && i < c->n_approx; i++)
        if (!strcmp(c->approx[i].node->name, name)) return true;
    return false;
}

/* A LayerNorm written out (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt,
 * Div, Mul, Add) after a Gemm: refused by default, naming the option;
 * with norm_approx one group from l1's outputs to l2's inputs, gamma and
 * beta sliced, both ReduceMeans recorded, their outputs outside it. */
static void test_norm_decomposed(void)
{
    build_ln_decomposed(LN_GEMM);
    oc_coupling *c = analyze();
    CHECK(has_reason(group(c, "h", 1), "op 'ReduceMean' over the channel axis at node 'mean' (norm=approx prunes"));
    CHECK(c && c->n_approx == 0);
    oc_coupling_free(c);
    oc_model_free(m);

    static const int kinds[2] = {LN_GEMM, LN_MATMUL};
    for (int k = 0; k < 2; k++) {
        build_ln_decomposed(kinds[k]);
        int a = kinds[k] == LN_GEMM ? 1 : 2;
        c = analyze_with(&approx);
        const oc_cgroup *gr = group(c, "h", a);
        CHECK(gr && !gr->reason);
        CHECK_EQ_INT(gr ? gr->channels : -1, 16);
        CHECK_EQ_INT(gr ? (long long)gr->n_approx : -1, 2);
        CHECK(gr && gr->approx && !strcmp(gr->approx->name, "mean"));
        CHECK(approx_node(c, "mean") && approx_node(c, "var"));
        for (const char *const *v = (const char *const[]){"d", "d2", "n", "ng", "nb", "r", NULL}; *v; v++)
            CHECK(group(c, *v, a) == gr);
        CHECK(c && !group(c, "mu", a) && !group(c, "v", a) && !group(c, "sd", a)); /* one value per row */
        const oc_cmember *gm = c ? member(c, "ln.g", 0) : NULL, *bm = c ? member(c, "ln.b", 0) : NULL;
        CHECK(gm && gm->role == OC_CROLE_PARAM && bm && bm->role == OC_CROLE_PARAM);
        const oc_cmember *w2 = c ? member(c, "l2.w", kinds[k] == LN_GEMM ? 1 : 0) : NULL;
        CHECK(w2 && w2->role == OC_CROLE_CONSUMER);
        if (unit_case_failed) dump(c);
        oc_coupling_free(c);
        oc_model_free(m);
    }
}

/* LayerNormalization (opset 17) over the last axis after a MatMul, and
 * after a Conv whose output is made NHWC: scale and bias join the group. */
static void test_norm_op(void)
{
    build_ln_op(LNOP_MATMUL);
    oc_coupling *c = analyze();
    CHECK(has_reason(group(c, "h", 2), "op 'LayerNormalization' over the channel axis at node 'ln' (norm=approx"));
    oc_coupling_free(c);
    oc_model_free(m);

    build_ln_op(LNOP_MATMUL);
    c = analyze_with(&approx);
    const oc_cgroup *gr = group(c, "h", 2);
    CHECK(gr && !gr->reason && gr == group(c, "n", 2) && gr == group(c, "r", 2));
    CHECK_EQ_INT(gr ? (long long)gr->n_approx : -1, 1);
    CHECK(gr && gr->approx && !strcmp(gr->approx->op_type, "LayerNormalization"));
    CHECK(c && member(c, "ln.s", 0) && member(c, "ln.b", 0) && member(c, "ln.s", 0)->role == OC_CROLE_PARAM);
    CHECK(c && member(c, "l2.w", 0) && member(c, "l2.w", 0)->role == OC_CROLE_CONSUMER);
    if (unit_case_failed) dump(c);
    oc_coupling_free(c);
    oc_model_free(m);

    build_ln_op(LNOP_CONV);
    c = analyze_with(&approx);
    gr = group(c, "h", 1);
    CHECK(gr && !gr->reason && gr == group(c, "ht", 3) && gr == group(c, "r", 3));
    CHECK_EQ_INT(gr ? gr->channels : -1, 8);
    CHECK(c && member(c, "c1.w", 0) && member(c, "ln.s", 0) && member(c, "l2.w", 0));
    if (unit_case_failed) dump(c);
    oc_coupling_free(c);
    oc_model_free(m);
}

/* What norm_approx still refuses: reductions over the channels and
 * another axis, other reductions, a LayerNormalization over C, H and W;
 * a normalisation over another axis was never in the way (exact). */
static void test_norm_refusals(void)
{
    build_ln_decomposed(LN_WIDE);
    oc_coupling *c = analyze_with(&approx);
    CHECK(has_reason(group(c, "h", 2), "op 'ReduceMean' over the channel axis at node 'mean'"));
    CHECK(!has_reason(group(c, "h", 2), "norm=approx"));
    oc_coupling_free(c);
    oc_model_free(m);

    build_ln_decomposed(LN_SUM);
    c = analyze_with(&approx);
    CHECK(has_reason(group(c, "h", 2), "op 'ReduceSum' over the channel axis at node 'mean'"));
    oc_coupling_free(c);
    oc_model_free(m);

    build_ln_op(LNOP_CHANNELS);
    c = analyze_with(&approx);
    CHECK(has_reason(group(c, "h", 1), "op 'LayerNormalization' over the channel axis at node 'ln'"));
    CHECK(!has_reason(group(c, "h", 1), "norm=approx"));
    CHECK(c && c->n_approx == 0);
    oc_coupling_free(c);
    oc_model_free(m);

    build_ln_decomposed(LN_TIME);
    c = analyze_with(&approx);
    const oc_cgroup *gr = group(c, "h", 2);
    CHECK(gr && !gr->reason && gr->n_approx == 0 && gr == group(c, "mu", 2) && gr == group(c, "sd", 2));
    if (unit_case_failed) dump(c);
    oc_coupling_free(c);
    oc_model_free(m);
}

int main(void)
{
    RUN(test_residual);
    RUN(test_concat);
    RUN(test_depthwise);
    RUN(test_flatten);
    RUN(test_batchnorm);
    RUN(test_bad_reshape);
    RUN(test_refusals);
    RUN(test_excluded);
    RUN(test_if_branches);
    RUN(test_if_refusals);
    RUN(test_loop_body);
    RUN(test_norm_decomposed);
    RUN(test_norm_op);
    RUN(test_norm_refusals);
    UNIT_END("coupling");
}
