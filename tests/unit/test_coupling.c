/* test_coupling.c: the channel-coupling analysis (lib/passes/coupling.c) on
 * small graphs built by hand: which spaces end up in one group, how many
 * channels a group has, which tensors it slices and which layers read it,
 * and the refusals (a graph output, a Reshape splitting the channels, an
 * op over the channel axis, an op the analysis does not know) with the
 * names they give. */
#include "ir/ir.h"
#include "passes/coupling.h"
#include "unit.h"

#include <stdint.h>

static oc_model *m;
static oc_graph *g;
static uint32_t seed = 1;

static void begin(void)
{
    m = oc_model_new();
    g = oc_graph_new(m, NULL);
    m->graph = g;
    g->name = "main";
    m->ir_version = 8;
    m->has_ir_version = true;
    m->opsets = oc_model_alloc(m, sizeof(oc_opset));
    m->opsets[0].domain = "";
    m->opsets[0].version = 13;
    m->opsets[0].has_version = true;
    m->n_opsets = 1;
    g->inputs = oc_model_alloc(m, 8 * sizeof(oc_value *));
    g->outputs = oc_model_alloc(m, 8 * sizeof(oc_value *));
}

static oc_value *mkval(const char *name, int ndim, const int64_t *dims)
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

static void input4(const char *name, int64_t c, int64_t h)
{
    int64_t d[4] = {1, c, h, h};
    g->inputs[g->n_inputs++] = mkval(name, 4, d);
}

static void output(const char *name)
{
    g->outputs[g->n_outputs++] = mkval(name, -1, NULL);
}

static oc_node *node(const char *op, const char *name, const char *in, const char *out)
{
    const char *ins[8], *outs[8];
    char ib[256], ob[256];
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

static void a_int(oc_node *n, const char *name, int64_t v)
{
    oc_attr *a = oc_node_add_attr(g, n, name, OC_ATTR_INT);
    a->i = v;
    a->has_i = true;
}

static void a_ints(oc_node *n, const char *name, const int64_t *v, size_t k)
{
    oc_attr *a = oc_node_add_attr(g, n, name, OC_ATTR_INTS);
    a->ints = oc_model_alloc(m, k * sizeof(int64_t));
    memcpy(a->ints, v, k * sizeof(int64_t));
    a->n_ints = k;
}

static float rnd(void)
{
    seed = seed * 1664525u + 1013904223u;
    return (float)((seed >> 8) % 2001) / 1000.0f - 1.0f;
}

static void weight(const char *name, int ndim, const int64_t *dims)
{
    oc_tensor *t = oc_graph_add_initializer(g, name, OC_DTYPE_FLOAT, ndim, dims);
    float *d = oc_malloc((size_t)t->numel * sizeof(float));
    for (int64_t i = 0; i < t->numel; i++) d[i] = rnd();
    oc_tensor_set_data(m, t, d, (size_t)t->numel * sizeof(float));
}

static void ints(const char *name, int64_t n, const int64_t *v)
{
    int64_t d[1] = {n};
    oc_tensor *t = oc_graph_add_initializer(g, name, OC_DTYPE_INT64, 1, d);
    int64_t *b = oc_malloc((size_t)n * sizeof(int64_t));
    memcpy(b, v, (size_t)n * sizeof(int64_t));
    oc_tensor_set_data(m, t, b, (size_t)n * sizeof(int64_t));
}

/* conv NAME: IN -> OUT with cout x cin/group x k x k weights and a bias */
static oc_node *conv(const char *name, const char *in, const char *out, int64_t cout, int64_t cin, int64_t k,
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

static void bn(const char *name, const char *in, const char *out, int64_t c)
{
    char nm[4][64], ins[300];
    const char *sfx[4] = {"scale", "bias", "mean", "var"};
    int64_t d[1] = {c};
    for (int i = 0; i < 4; i++) {
        snprintf(nm[i], sizeof(nm[i]), "%s.%s", name, sfx[i]);
        weight(nm[i], 1, d);
    }
    /* variances must be positive */
    oc_tensor *v = oc_graph_initializer(g, nm[3]);
    float *vd = (float *)v->data;
    for (int64_t i = 0; i < c; i++) vd[i] = 0.5f + vd[i] * vd[i];
    snprintf(ins, sizeof(ins), "%s,%s,%s,%s,%s", in, nm[0], nm[1], nm[2], nm[3]);
    node("BatchNormalization", name, ins, out);
}

/* ---- the models (shared shapes with test_prune_channel.c) ---- */

/* conv-bn-relu-conv-bn + skip Add, then a conv to the output */
static void build_residual(void)
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
}

static void build_concat(void)
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

static void build_depthwise(void)
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

/* conv -> GlobalAveragePool -> Flatten -> Gemm, and conv -> Reshape
 * [1, 64] -> Gemm (columns in blocks of 16) */
static void build_flatten(void)
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

/* a Reshape splitting the channels ([1,8,4,4] -> [1,2,4,16]) */
static void build_bad_reshape(void)
{
    begin();
    input4("x", 3, 4);
    conv("c1", "x", "a", 8, 3, 3, 1);
    int64_t shape[4] = {1, 2, 4, 16};
    ints("shape", 4, shape);
    node("Reshape", "rs", "a,shape", "r");
    node("Relu", "rr", "r", "y");
    output("y");
}

/* the relu output is also a graph output; a Softmax over channels; an
 * unknown op */
static void build_refusals(void)
{
    begin();
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
    output("a_r");
    output("e");
}

/* ---- running the analysis ---- */

static oc_coupling *analyze(void)
{
    static oc_ctx ctx;
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
    if (oc_coupling_analyze(&r, &c) != OC_OK) printf("  analyze: %s\n", ctx.msg);
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
    static oc_ctx ctx;
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
    CHECK(oc_coupling_analyze(&r, &c) == OC_OK);
    CHECK(has_reason(group(c, "a", 1), "layer 'c3' (Conv) is left out"));
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
    UNIT_END("coupling");
}
