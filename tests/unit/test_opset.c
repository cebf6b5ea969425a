/* test_opset.c: raising the default-domain opset (lib/passes/opset.c) on
 * graphs built by hand at an old opset. Each case checks the rewritten nodes
 * (attributes turned into initializers, new nodes around Softmax, renamed
 * operators) and, where the interpreter runs both forms, that the model
 * computes the same before and after. Refusals must name the operator, the
 * node and the version, and leave the model untouched.
 *
 * With OC_TEST_OPSET_DUMP=DIR set, every upgraded case is also written to
 * DIR/NAME-orig.onnx and DIR/NAME-new.onnx, for comparing in ONNX Runtime
 * (tests/ort/compare.js). */
#include "ir/ir.h"
#include "passes/opset.h"
#include "unit.h"

#include <math.h>
#include <stdint.h>

#include "build.h"

/* ---- looking at the result ---- */

static oc_node *find(const char *op)
{
    for (size_t i = 0; i < g->n_nodes; i++)
        if (strcmp(g->nodes[i]->op_type, op) == 0) return g->nodes[i];
    return NULL;
}

static size_t count(const char *op)
{
    size_t k = 0;
    for (size_t i = 0; i < g->n_nodes; i++) k += strcmp(g->nodes[i]->op_type, op) == 0;
    return k;
}

static oc_attr *attr(oc_node *n, const char *name)
{
    for (size_t i = 0; i < n->n_attrs; i++)
        if (strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
    return NULL;
}

static bool attr_is(oc_node *n, const char *name, const char *v)
{
    oc_attr *a = attr(n, name);
    return a && a->s.len == strlen(v) && memcmp(a->s.data, v, a->s.len) == 0;
}

/* The initializer feeding input `slot`, with its values as int64/double. */
static oc_tensor *init_of(oc_node *n, size_t slot)
{
    if (slot >= n->n_inputs || !*n->inputs[slot]) return NULL;
    return oc_graph_initializer(g, n->inputs[slot]);
}

static bool init_values(oc_node *n, size_t slot, int dtype, const double *want, int64_t k)
{
    oc_tensor *t = init_of(n, slot);
    if (!t || t->dtype != dtype || t->numel != k) return false;
    for (int64_t i = 0; i < k; i++)
        if (oc_tensor_get(t, i) != want[i]) return false;
    return true;
}

/* ---- running ---- */

#define MAXV 4096

/* Runs the model on x (input 0; other inputs are initializers) and copies
 * output 0 into y. Returns its element count, or -1. */
static int64_t run(const float *x, float *y)
{
    oc_session *s = NULL;
    oc_ctx c;
    oc_ctx_init(&c);
    if (oc_session_new(&c, m, NULL, &s) != OC_OK) {
        printf("  session: %s\n", c.msg);
        return -1;
    }
    const oc_value *v = oc_session_input(s, 0);
    int64_t dims[OC_MAX_DIMS];
    for (int i = 0; i < v->type.ndim; i++) dims[i] = v->type.dims[i].value;
    oc_ten in, out[4];
    memset(out, 0, sizeof(out));
    int64_t n = -1;
    if (oc_ten_new(&c, &in, OC_DTYPE_FLOAT, v->type.ndim, dims) == OC_OK) {
        memcpy(in.data, x, in.nbytes);
        if (oc_session_run(&c, s, &in, out) == OC_OK && out[0].dtype == OC_DTYPE_FLOAT && out[0].numel <= MAXV) {
            n = out[0].numel;
            memcpy(y, out[0].data, (size_t)n * sizeof(float));
        } else {
            printf("  run: %s\n", c.msg);
        }
        oc_ten_release(&in);
    }
    for (size_t i = 0; i < oc_session_n_outputs(s); i++) oc_ten_release(&out[i]);
    oc_session_free(s);
    return n;
}

static void fill(float *x, size_t n)
{
    uint32_t r = 12345;
    for (size_t i = 0; i < n; i++) {
        r = r * 1664525u + 1013904223u;
        x[i] = (float)((r >> 8) % 2001) / 250.0f - 4.0f;
    }
}

static void dump(const char *name, const char *which)
{
    const char *dir = getenv("OC_TEST_OPSET_DUMP");
    if (!dir) return;
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s-%s.onnx", dir, name, which);
    oc_save_opts so = oc_save_opts_default();
    so.force = true;
    oc_ctx c;
    oc_ctx_init(&c);
    if (oc_model_save_file(&c, m, path, &so) != OC_OK) printf("  dump %s: %s\n", path, c.msg);
}

/* Upgrades to `target`; when `same` the interpreter's outputs before and
 * after must agree. */
static bool upgrade(const char *name, int64_t target, bool same)
{
    static float x[MAXV], y0[MAXV], y1[MAXV];
    fill(x, MAXV);
    int64_t n0 = same ? run(x, y0) : 0;
    dump(name, "orig");
    oc_status st = oc_opset_upgrade(&ctx, m, target);
    if (st != OC_OK) {
        printf("  upgrade: %s\n", ctx.msg);
        return false;
    }
    dump(name, "new");
    CHECK(oc_graph_verify(&ctx, g) == OC_OK);
    CHECK_EQ_INT(oc_model_opset(m, ""), target);
    CHECK(m->ir_version >= oc_opset_min_ir_version(target));
    if (!same) return true;
    int64_t n1 = run(x, y1);
    CHECK(n0 > 0 && n0 == n1);
    for (int64_t i = 0; i < n0 && n0 == n1; i++)
        if (!(fabsf(y0[i] - y1[i]) <= 1e-5f * (1 + fabsf(y0[i])))) {
            printf("  element %lld: %g before, %g after\n", (long long)i, y0[i], y1[i]);
            CHECK(0);
            break;
        }
    return true;
}

/* ---- cases ---- */

static void squeeze_11_to_13(void)
{
    begin(11, 4);
    int64_t dx[4] = {1, 3, 1, 4}, dy[2] = {3, 4}, ax[2] = {0, 2};
    input("x", 4, dx);
    output("y", 2, dy);
    a_ints(node("Squeeze", "sq", "x", "y"), "axes", ax, 2);
    CHECK(upgrade("squeeze", 13, true));
    oc_node *n = find("Squeeze");
    CHECK(n && n->n_inputs == 2 && !attr(n, "axes"));
    double want[2] = {0, 2};
    CHECK(init_values(n, 1, OC_DTYPE_INT64, want, 2));
    done();
}

static void squeeze_without_axes(void)
{
    begin(11, 4);
    int64_t dx[3] = {1, 3, 1}, dy[1] = {3};
    input("x", 3, dx);
    output("y", 1, dy);
    node("Squeeze", "sq", "x", "y");
    CHECK(upgrade("squeeze_all", 21, true));
    oc_node *n = find("Squeeze");
    CHECK(n && n->n_inputs == 1);
    done();
}

static void unsqueeze_11_to_13(void)
{
    begin(11, 4);
    int64_t dx[2] = {3, 4}, dy[4] = {1, 3, 4, 1}, ax[2] = {0, -1};
    input("x", 2, dx);
    output("y", 4, dy);
    a_ints(node("Unsqueeze", "us", "x", "y"), "axes", ax, 2);
    CHECK(upgrade("unsqueeze", 13, true));
    oc_node *n = find("Unsqueeze");
    double want[2] = {0, -1};
    CHECK(n && n->n_inputs == 2 && !attr(n, "axes") && init_values(n, 1, OC_DTYPE_INT64, want, 2));
    done();
}

static void split_11_to_13_and_18(void)
{
    /* explicit parts: an input from 13, and no num_outputs at 18 */
    begin(11, 4);
    int64_t dx[2] = {2, 5}, d1[2] = {2, 2}, d2[2] = {2, 3}, sp[2] = {2, 3};
    input("x", 2, dx);
    output("y1", 2, d1);
    output("y2", 2, d2);
    oc_node *s = node("Split", "sp", "x", "y1,y2");
    a_int(s, "axis", 1);
    a_ints(s, "split", sp, 2);
    CHECK(upgrade("split_parts", 13, true));
    oc_node *n = find("Split");
    double want[2] = {2, 3};
    CHECK(n && n->n_inputs == 2 && !attr(n, "split") && init_values(n, 1, OC_DTYPE_INT64, want, 2));
    CHECK(!attr(n, "num_outputs"));
    CHECK(oc_opset_upgrade(&ctx, m, 18) == OC_OK);
    CHECK(!attr(find("Split"), "num_outputs"));
    done();

    /* equal parts: nothing at 13, num_outputs at 18 */
    begin(11, 4);
    int64_t d3[2] = {2, 6}, d4[2] = {2, 3};
    input("x", 2, d3);
    output("y1", 2, d4);
    output("y2", 2, d4);
    a_int(node("Split", "sp", "x", "y1,y2"), "axis", 1);
    CHECK(upgrade("split_equal13", 13, true));
    n = find("Split");
    CHECK(n && n->n_inputs == 1 && !attr(n, "num_outputs"));
    CHECK(upgrade("split_equal18", 18, true));
    n = find("Split");
    oc_attr *a = n ? attr(n, "num_outputs") : NULL;
    CHECK(a && a->i == 2 && n->n_inputs == 1);
    done();
}

static void reducemean_11_to_18(void)
{
    begin(11, 4);
    int64_t dx[3] = {2, 3, 4}, dy[2] = {2, 4}, ax[1] = {1};
    input("x", 3, dx);
    output("y", 2, dy);
    oc_node *r = node("ReduceMean", "rm", "x", "y");
    a_ints(r, "axes", ax, 1);
    a_int(r, "keepdims", 0);
    /* ReduceMean keeps its attribute until 18 */
    CHECK(upgrade("reducemean13", 13, true));
    CHECK(attr(find("ReduceMean"), "axes") && find("ReduceMean")->n_inputs == 1);
    CHECK(upgrade("reducemean18", 18, true));
    oc_node *n = find("ReduceMean");
    double want[1] = {1};
    CHECK(n && n->n_inputs == 2 && !attr(n, "axes") && init_values(n, 1, OC_DTYPE_INT64, want, 1));
    oc_attr *k = attr(n, "keepdims");
    CHECK(k && k->i == 0);
    done();

    /* ReduceSum changed at 13 */
    begin(11, 4);
    input("x", 3, dx);
    output("y", 2, dy);
    r = node("ReduceSum", "rs", "x", "y");
    a_ints(r, "axes", ax, 1);
    a_int(r, "keepdims", 0);
    CHECK(upgrade("reducesum", 13, true));
    n = find("ReduceSum");
    CHECK(n && n->n_inputs == 2 && !attr(n, "axes"));
    done();
}

static void clip_6_to_11(void)
{
    begin(8, 4);
    int64_t dx[2] = {4, 8};
    input("x", 2, dx);
    output("y", 2, dx);
    oc_node *c = node("Clip", "clip", "x", "y");
    a_float(c, "min", -1.5f);
    a_float(c, "max", 2.0f);
    CHECK(upgrade("clip", 13, true));
    oc_node *n = find("Clip");
    double lo[1] = {-1.5}, hi[1] = {2.0};
    CHECK(n && n->n_inputs == 3 && !attr(n, "min") && !attr(n, "max"));
    CHECK(init_values(n, 1, OC_DTYPE_FLOAT, lo, 1) && init_values(n, 2, OC_DTYPE_FLOAT, hi, 1));
    CHECK(init_of(n, 1) && init_of(n, 1)->ndim == 0);
    done();

    /* only max: min stays an omitted input */
    begin(8, 4);
    input("x", 2, dx);
    output("y", 2, dx);
    a_float(node("Clip", "clip", "x", "y"), "max", 0.5f);
    CHECK(upgrade("clip_max", 12, true));
    n = find("Clip");
    CHECK(n && n->n_inputs == 3 && !*n->inputs[1] && init_values(n, 2, OC_DTYPE_FLOAT, (double[]){0.5}, 1));
    done();
}

/* The element type and rank come from far back: 300 nodes without
 * value_info between the graph input and the Clip/Softmax. */
static void deep_inference(void)
{
    begin(9, 4);
    int64_t dx[3] = {2, 3, 4};
    input("x", 3, dx);
    output("y", 3, dx);
    char prev[32] = "x", cur[32];
    for (int i = 0; i < 300; i++) {
        snprintf(cur, sizeof(cur), "t%d", i);
        node(i % 2 ? "Relu" : "Neg", NULL, prev, cur);
        snprintf(prev, sizeof(prev), "%s", cur);
    }
    a_float(node("Clip", "clip", prev, "c"), "min", -0.5f);
    a_int(node("Softmax", "sm", "c", "y"), "axis", -1);
    CHECK(upgrade("deep", 13, true));
    CHECK(init_values(find("Clip"), 1, OC_DTYPE_FLOAT, (double[]){-0.5}, 1));
    CHECK(count("Flatten") == 0);
    done();
}

static void pad_2_to_11(void)
{
    begin(8, 4);
    int64_t dx[2] = {2, 3}, dy[2] = {2, 5}, pads[4] = {0, 1, 0, 1};
    input("x", 2, dx);
    output("y", 2, dy);
    oc_node *p = node("Pad", "pad", "x", "y");
    a_ints(p, "pads", pads, 4);
    a_float(p, "value", 1.5f);
    CHECK(upgrade("pad", 13, true));
    oc_node *n = find("Pad");
    double want[4] = {0, 1, 0, 1}, v[1] = {1.5};
    CHECK(n && n->n_inputs == 3 && !attr(n, "pads") && !attr(n, "value"));
    CHECK(init_values(n, 1, OC_DTYPE_INT64, want, 4) && init_values(n, 2, OC_DTYPE_FLOAT, v, 1));
    done();

    /* Pad-1 called them `paddings`; a zero value needs no input */
    begin(1, 4);
    input("x", 2, dx);
    output("y", 2, dy);
    oc_node *p1 = node("Pad", "pad", "x", "y");
    a_ints(p1, "paddings", pads, 4);
    a_str(p1, "mode", "constant");
    CHECK(upgrade("pad1", 11, false));
    n = find("Pad");
    CHECK(n && n->n_inputs == 2 && !attr(n, "paddings") && init_values(n, 1, OC_DTYPE_INT64, want, 4));
    CHECK(attr_is(n, "mode", "constant"));
    done();
}

static void slice_9_to_10(void)
{
    begin(9, 4);
    int64_t dx[2] = {4, 6}, dy[2] = {2, 3}, st[2] = {1, 0}, en[2] = {3, -3}, ax[2] = {0, 1};
    input("x", 2, dx);
    output("y", 2, dy);
    oc_node *s = node("Slice", "sl", "x", "y");
    a_ints(s, "starts", st, 2);
    a_ints(s, "ends", en, 2);
    a_ints(s, "axes", ax, 2);
    CHECK(upgrade("slice", 10, true));
    oc_node *n = find("Slice");
    double ws[2] = {1, 0}, we[2] = {3, -3}, wa[2] = {0, 1};
    CHECK(n && n->n_inputs == 4 && n->n_attrs == 0);
    CHECK(init_values(n, 1, OC_DTYPE_INT64, ws, 2) && init_values(n, 2, OC_DTYPE_INT64, we, 2) &&
          init_values(n, 3, OC_DTYPE_INT64, wa, 2));
    done();
}

static void upsample_9_to_resize(void)
{
    /* nearest: Resize with the old coordinate rule and floor rounding */
    begin(9, 4);
    int64_t dx[4] = {1, 2, 3, 4}, dy[4] = {1, 2, 6, 12}, ds[1] = {4};
    float sc[4] = {1, 1, 2, 3};
    input("x", 4, dx);
    output("y", 4, dy);
    init("scales", OC_DTYPE_FLOAT, 1, ds, sc, sizeof(sc));
    node("Upsample", "up", "x,scales", "y");
    CHECK(upgrade("upsample_nearest", 13, true));
    CHECK(!find("Upsample"));
    oc_node *n = find("Resize");
    CHECK(n && n->n_inputs == 3 && !*n->inputs[1] && strcmp(n->inputs[2], "scales") == 0);
    CHECK(n && attr_is(n, "coordinate_transformation_mode", "asymmetric") && attr_is(n, "nearest_mode", "floor"));
    done();

    /* linear, to 11: roi is a required (empty) input there */
    begin(9, 4);
    input("x", 4, dx);
    output("y", 4, dy);
    init("scales", OC_DTYPE_FLOAT, 1, ds, sc, sizeof(sc));
    a_str(node("Upsample", "up", "x,scales", "y"), "mode", "linear");
    CHECK(upgrade("upsample_linear", 11, true));
    n = find("Resize");
    oc_tensor *roi = n ? init_of(n, 1) : NULL;
    CHECK(roi && roi->numel == 0 && roi->dtype == OC_DTYPE_FLOAT);
    CHECK(n && attr_is(n, "coordinate_transformation_mode", "asymmetric") && !attr(n, "nearest_mode"));
    done();

    /* Upsample-7: scales attribute */
    begin(8, 4);
    input("x", 4, dx);
    output("y", 4, dy);
    a_floats(node("Upsample", "up", "x", "y"), "scales", sc, 4);
    CHECK(upgrade("upsample7", 21, true));
    n = find("Resize");
    double want[4] = {1, 1, 2, 3};
    CHECK(n && n->n_inputs == 3 && init_values(n, 2, OC_DTYPE_FLOAT, want, 4) && !attr(n, "scales"));
    done();
}

static void deprecated_ops(void)
{
    /* Upsample read at 10 (deprecated there) still becomes Resize */
    begin(10, 4);
    int64_t dx[4] = {1, 2, 3, 4}, dy[4] = {1, 2, 6, 8}, ds[1] = {4};
    float sc[4] = {1, 1, 2, 2};
    input("x", 4, dx);
    output("y", 4, dy);
    init("scales", OC_DTYPE_FLOAT, 1, ds, sc, sizeof(sc));
    node("Upsample", "up", "x,scales", "y");
    CHECK(upgrade("upsample10", 13, true));
    oc_node *n = find("Resize");
    CHECK(n && !find("Upsample") && attr_is(n, "nearest_mode", "floor"));
    done();

    /* Scatter read at 11 becomes ScatterElements */
    begin(11, 4);
    int64_t d2[2] = {2, 3};
    int64_t idx[6] = {0, 1, 0, 1, 0, 1};
    input("x", 2, d2);
    output("y", 2, d2);
    init("idx", OC_DTYPE_INT64, 2, d2, idx, sizeof(idx));
    node("Scatter", "sc", "x,idx,x", "y");
    CHECK(upgrade("scatter", 13, false));
    CHECK(find("ScatterElements") && !find("Scatter"));
    done();
}

static void resize10_shrinking(void)
{
    begin(10, 4);
    int64_t dx[4] = {1, 1, 4, 6}, dy[4] = {1, 1, 2, 3}, ds[1] = {4};
    float sc[4] = {1, 1, 0.5f, 0.5f};
    input("x", 4, dx);
    output("y", 4, dy);
    init("scales", OC_DTYPE_FLOAT, 1, ds, sc, sizeof(sc));
    node("Resize", "rs", "x,scales", "y");
    CHECK(upgrade("resize10_down", 13, false));
    CHECK(attr_is(find("Resize"), "nearest_mode", "ceil"));
    done();
}

static void softmax_last_axis(void)
{
    begin(11, 4);
    int64_t dx[3] = {2, 3, 5};
    input("x", 3, dx);
    output("y", 3, dx);
    a_int(node("Softmax", "sm", "x", "y"), "axis", 2);
    CHECK(upgrade("softmax_last", 13, true));
    CHECK_EQ_INT(g->n_nodes, 1);
    oc_attr *a = attr(find("Softmax"), "axis");
    CHECK(a && a->i == 2);
    done();

    /* the default axis 1 of a 2-D input is its last */
    begin(11, 4);
    int64_t d2[2] = {4, 7};
    input("x", 2, d2);
    output("y", 2, d2);
    node("LogSoftmax", "lsm", "x", "y");
    CHECK(upgrade("logsoftmax_default", 13, true));
    CHECK_EQ_INT(g->n_nodes, 1);
    a = attr(find("LogSoftmax"), "axis");
    CHECK(a && a->i == 1);
    done();
}

static void softmax_other_axis(void)
{
    begin(11, 4);
    int64_t dx[3] = {2, 3, 5};
    input("x", 3, dx);
    output("y", 3, dx);
    a_int(node("Softmax", "sm", "x", "y"), "axis", 1);
    CHECK(upgrade("softmax_axis1", 13, true));
    CHECK_EQ_INT(g->n_nodes, 4);
    oc_node *f = find("Flatten"), *s = find("Softmax"), *r = find("Reshape"), *sh = find("Shape");
    CHECK(f && s && r && sh);
    if (f && s && r && sh) {
        oc_attr *fa = attr(f, "axis"), *sa = attr(s, "axis");
        CHECK(fa && fa->i == 1 && sa && sa->i == 1);
        CHECK(strcmp(f->inputs[0], "x") == 0 && strcmp(s->inputs[0], f->outputs[0]) == 0);
        CHECK(strcmp(r->inputs[0], s->outputs[0]) == 0 && strcmp(r->inputs[1], sh->outputs[0]) == 0);
        CHECK(strcmp(r->outputs[0], "y") == 0 && strcmp(sh->inputs[0], "x") == 0);
    }
    size_t order[8];
    CHECK(oc_graph_topo_order(&ctx, g, order) == OC_OK);
    done();

    /* rank unknown: the same spelled-out form, which is right for any rank */
    begin(11, 4);
    int64_t d2[2] = {3, 8}, shp[1] = {4};
    int64_t sv[4] = {2, 3, 2, 2};
    input("x", 2, d2);
    output("y", -1, NULL);
    init("shape", OC_DTYPE_INT64, 1, shp, sv, sizeof(sv));
    node("Reshape", "rs", "x,shape", "r");
    node("Identity", "id", "r", "r2");
    node("Relu", "relu", "r2", "r3");
    a_int(node("Hardmax", "hm", "r3", "y"), "axis", -2);
    /* Reshape's constant shape tells the rank: -2 is not the last axis */
    CHECK(upgrade("hardmax_neg_axis", 13, true));
    CHECK(count("Flatten") == 1 && count("Reshape") == 2);
    done();
}

static void legacy_broadcast(void)
{
    begin(6, 4);
    int64_t dx[4] = {2, 3, 4, 5}, db[1] = {3};
    float b[3] = {1, -2, 3};
    input("x", 4, dx);
    output("y", 4, dx);
    init("b", OC_DTYPE_FLOAT, 1, db, b, sizeof(b));
    oc_node *a = node("Add", "add", "x,b", "y");
    a_int(a, "broadcast", 1);
    a_int(a, "axis", 1);
    CHECK(upgrade("bcast", 7, true));
    oc_node *n = find("Add");
    oc_tensor *t = n ? init_of(n, 1) : NULL;
    CHECK(n && !attr(n, "broadcast") && !attr(n, "axis"));
    CHECK(t && t->ndim == 3 && t->dims[0] == 3 && t->dims[1] == 1 && t->dims[2] == 1);
    done();
}

static void other_adapters(void)
{
    /* TopK k, Dropout ratio, Cast `to` by name, Concat's default axis,
     * Reshape's shape attribute, BatchNormalization's is_test/spatial */
    begin(1, 4);
    int64_t dx[2] = {3, 4}, dk[2] = {3, 2}, d6[2] = {3, 8}, d24[1] = {24}, shp[1] = {24};
    input("x", 2, dx);
    output("v", 2, dk);
    output("c", 2, dx);
    output("cat", 2, d6);
    output("flat", 1, d24);
    a_int(node("TopK", "topk", "x", "v,i"), "k", 2);
    a_float(node("Dropout", "drop", "x", "d"), "ratio", 0.25f);
    a_int(find("Dropout"), "is_test", 1);
    a_str(node("Cast", "cast", "d", "c"), "to", "float");
    node("Concat", "cat", "x,x", "cat");
    a_ints(node("Reshape", "rs", "cat", "flat"), "shape", shp, 1);
    CHECK(upgrade("misc", 13, false));
    oc_node *n = find("TopK");
    double k[1] = {2};
    CHECK(n && !attr(n, "k") && init_values(n, 1, OC_DTYPE_INT64, k, 1));
    n = find("Dropout");
    CHECK(n && !attr(n, "ratio") && !attr(n, "is_test") && init_values(n, 1, OC_DTYPE_FLOAT, (double[]){0.25}, 1));
    n = find("Cast");
    oc_attr *a = n ? attr(n, "to") : NULL;
    CHECK(a && a->i == OC_DTYPE_FLOAT && a->type == OC_ATTR_INT);
    a = attr(find("Concat"), "axis");
    CHECK(a && a->i == 1);
    n = find("Reshape");
    CHECK(n && !attr(n, "shape") && init_values(n, 1, OC_DTYPE_INT64, (double[]){24}, 1));
    done();
}

static void subgraph_and_functions(void)
{
    /* a node inside an If branch gets its initializer in the branch */
    begin(11, 4);
    int64_t dx[3] = {1, 3, 4}, dy[2] = {3, 4}, ax[1] = {0};
    input("x", 3, dx);
    output("y", 2, dy);
    int64_t dc[1] = {1};
    uint8_t t = 1;
    init("cond", OC_DTYPE_BOOL, 0, dc, &t, 1);
    oc_node *ifn = node("If", "if", "cond", "y");
    oc_graph *br[2];
    for (int b = 0; b < 2; b++) {
        oc_graph *sub = oc_graph_new(m, g);
        sub->name = b ? "else" : "then";
        sub->outputs = oc_model_alloc(m, sizeof(oc_value *));
        sub->outputs[0] = mkval(b ? "ye" : "yt", OC_DTYPE_FLOAT, -1, NULL);
        sub->n_outputs = 1;
        const char *in[1] = {"x"}, *out[1] = {b ? "ye" : "yt"};
        oc_node *sq = oc_graph_add_node(sub, 0, "Squeeze", NULL, b ? "sqe" : "sqt", 1, in, 1, out);
        oc_attr *aa = oc_node_add_attr(sub, sq, "axes", OC_ATTR_INTS);
        aa->ints = oc_model_alloc(m, sizeof(int64_t));
        aa->ints[0] = ax[0];
        aa->n_ints = 1;
        oc_attr *ga = oc_node_add_attr(g, ifn, b ? "else_branch" : "then_branch", OC_ATTR_GRAPH);
        ga->g = sub;
        br[b] = sub;
    }
    CHECK(upgrade("if_squeeze", 13, true));
    for (int b = 0; b < 2; b++) {
        oc_node *sq = br[b]->nodes[0];
        CHECK(sq->n_inputs == 2 && br[b]->n_inits == 1 && oc_graph_initializer(br[b], sq->inputs[1]));
    }
    CHECK_EQ_INT(g->n_inits, 1);
    done();

    /* a model-local function whose nodes would need a rewrite: refused */
    begin(11, 4);
    input("x", 2, dy);
    output("y", 2, dy);
    node("Relu", "r", "x", "y");
    oc_function *fn = oc_model_alloc(m, sizeof(*fn));
    fn->name = "MyFn";
    fn->domain = "local";
    fn->nodes = oc_model_alloc(m, sizeof(oc_node *));
    fn->nodes[0] = oc_model_alloc(m, sizeof(oc_node));
    fn->nodes[0]->op_type = "Squeeze";
    fn->nodes[0]->name = "fsq";
    fn->n_nodes = 1;
    m->functions = oc_model_alloc(m, sizeof(oc_function *));
    m->functions[0] = fn;
    m->n_functions = 1;
    char msg[512];
    CHECK(!oc_opset_can_upgrade(m, 13, msg, sizeof(msg)));
    CHECK(strstr(msg, "Squeeze") && strstr(msg, "'fsq'") && strstr(msg, "MyFn"));
    /* one whose nodes did not change follows along */
    fn->nodes[0]->op_type = "Relu";
    CHECK(oc_opset_can_upgrade(m, 13, msg, sizeof(msg)));
    done();
}

static void refusals(void)
{
    begin(8, 4);
    int64_t dx[2] = {3, 4};
    input("x", 2, dx);
    output("y", 2, dx);
    node("Relu", "r", "x", "a");
    a_int(node("Scan", "scan1", "a", "b"), "num_scan_inputs", 1);
    node("Scan", "scan2", "b", "c");
    node("ImageScaler", "scaler", "c", "d");
    a_ints(node("Squeeze", "sq", "d", "y"), "axes", (int64_t[]){0}, 1);
    char msg[1024];
    CHECK(!oc_opset_can_upgrade(m, 21, msg, sizeof(msg)));
    CHECK(strstr(msg, "cannot raise opset 8 to 21") != NULL);
    CHECK(strstr(msg, "no adapter for Scan (node 'scan1' and 1 more) changed at 9") != NULL);
    CHECK(strstr(msg, "ImageScaler (node 'scaler') was removed from the standard at 10") != NULL);
    CHECK(strstr(msg, "Squeeze") == NULL); /* it would adapt */
    oc_status st = oc_opset_upgrade(&ctx, m, 21);
    CHECK(st == OC_ERR_UNSUPPORTED && strcmp(ctx.msg, msg) == 0);
    /* nothing changed */
    CHECK_EQ_INT(oc_model_opset(m, ""), 8);
    CHECK_EQ_INT(m->ir_version, 4);
    CHECK(attr(find("Squeeze"), "axes") && find("Squeeze")->n_inputs == 1 && g->n_inits == 0);
    /* below the changes, fine */
    CHECK(oc_opset_can_upgrade(m, 8, msg, sizeof(msg)));
    done();

    /* an unknown default-domain op, a Softmax axis in a function, a target
     * past what is known, conditional refusals */
    begin(11, 4);
    input("x", 2, dx);
    output("y", 2, dx);
    node("FancyOp", "fancy", "x", "a");
    oc_node *c = node("Resize", "rs", "a,,s", "y");
    a_str(c, "coordinate_transformation_mode", "tf_half_pixel_for_nn");
    CHECK(!oc_opset_can_upgrade(m, 13, msg, sizeof(msg)));
    CHECK(strstr(msg, "FancyOp (node 'fancy') is no default-domain operator onnxcomp knows") != NULL);
    CHECK(strstr(msg, "Resize (node 'rs') changed at 13: tf_half_pixel_for_nn") != NULL);
    CHECK(oc_opset_upgrade(&ctx, m, OC_OPSET_MAX + 1) == OC_ERR_USAGE);
    CHECK(oc_opset_upgrade(&ctx, m, 0) == OC_ERR_USAGE);
    done();

    /* BatchNormalization before 7 without is_test asked for training */
    begin(6, 4);
    int64_t d4[4] = {1, 2, 3, 3}, dc[1] = {2};
    float one[2] = {1, 1};
    input("x", 4, d4);
    output("y", 4, d4);
    init("s", OC_DTYPE_FLOAT, 1, dc, one, sizeof(one));
    node("BatchNormalization", "bn", "x,s,s,s,s", "y");
    CHECK(!oc_opset_can_upgrade(m, 13, msg, sizeof(msg)));
    CHECK(strstr(msg, "BatchNormalization (node 'bn') changed at 7: is_test=0") != NULL);
    a_int(find("BatchNormalization"), "is_test", 1);
    CHECK(upgrade("bn_is_test", 13, true));
    CHECK(!attr(find("BatchNormalization"), "is_test"));
    done();
}

static void tf_half_pixel_floor(void)
{
    /* tf_half_pixel_for_nn with floor rounding has an equal from 13 */
    begin(11, 4);
    int64_t dx[4] = {1, 1, 4, 6}, dy[4] = {1, 1, 7, 5}, ds[1] = {4};
    int64_t sz[4] = {1, 1, 7, 5};
    input("x", 4, dx);
    output("y", 4, dy);
    init("sizes", OC_DTYPE_INT64, 1, ds, sz, sizeof(sz));
    init("roi", OC_DTYPE_FLOAT, 1, (int64_t[]){0}, NULL, 0);
    init("scales", OC_DTYPE_FLOAT, 1, (int64_t[]){0}, NULL, 0);
    oc_node *r = node("Resize", "rs", "x,roi,scales,sizes", "y");
    a_str(r, "coordinate_transformation_mode", "tf_half_pixel_for_nn");
    a_str(r, "nearest_mode", "floor");
    CHECK(upgrade("tf_half_pixel_floor", 13, true));
    r = find("Resize");
    CHECK(r && attr_is(r, "coordinate_transformation_mode", "half_pixel") &&
          attr_is(r, "nearest_mode", "round_prefer_ceil"));
    done();
}

static void table_and_ir(void)
{
    CHECK_EQ_INT(oc_opset_min_ir_version(8), 3);
    CHECK_EQ_INT(oc_opset_min_ir_version(13), 7);
    CHECK_EQ_INT(oc_opset_min_ir_version(18), 8);
    CHECK_EQ_INT(oc_opset_min_ir_version(21), 10);
    CHECK_EQ_INT(oc_opset_min_ir_version(OC_OPSET_MAX + 1), 0);
    /* already there: nothing happens, not even the IR version */
    begin(13, 4);
    int64_t dx[1] = {3};
    input("x", 1, dx);
    output("y", 1, dx);
    node("Relu", "r", "x", "y");
    CHECK(oc_opset_upgrade(&ctx, m, 11) == OC_OK);
    CHECK_EQ_INT(oc_model_opset(m, ""), 13);
    CHECK_EQ_INT(m->ir_version, 4);
    CHECK(upgrade("relu", 21, true));
    CHECK_EQ_INT(m->ir_version, 10);
    done();
}

/* Fail each allocation in turn: the upgrade reports OC_ERR_NOMEM (or
 * succeeds when the failure hit a cache it can do without), never anything
 * else, and nothing leaks (under the sanitizers). */
static void allocation_failures(void)
{
    bool finished = false;
    for (uint64_t nth = 1; nth < 2000 && !finished; nth++) {
        begin(11, 4);
        int64_t dx[3] = {2, 3, 5}, ax[1] = {0};
        input("x", 3, dx);
        output("y", 3, dx);
        a_ints(node("Unsqueeze", "us", "x", "u"), "axes", ax, 1);
        a_ints(node("Squeeze", "sq", "u", "s"), "axes", ax, 1);
        a_float(node("Clip", "clip", "s", "c"), "max", 2.0f);
        a_int(node("Softmax", "sm", "c", "y"), "axis", 1);
        oc_alloc_fail_at(nth);
        oc_status st = oc_opset_upgrade(&ctx, m, 13);
        oc_alloc_fail_at(0);
        if (st != OC_OK && st != OC_ERR_NOMEM) {
            printf("  allocation %llu: %s: %s\n", (unsigned long long)nth, oc_status_name(st), ctx.msg);
            CHECK(0);
        }
        finished = st == OC_OK && count("Flatten") == 1 && oc_model_opset(m, "") == 13;
        done();
    }
    CHECK(finished);
}

int main(void)
{
    RUN(squeeze_11_to_13);
    RUN(squeeze_without_axes);
    RUN(unsqueeze_11_to_13);
    RUN(split_11_to_13_and_18);
    RUN(reducemean_11_to_18);
    RUN(clip_6_to_11);
    RUN(deep_inference);
    RUN(pad_2_to_11);
    RUN(slice_9_to_10);
    RUN(upsample_9_to_resize);
    RUN(deprecated_ops);
    RUN(resize10_shrinking);
    RUN(softmax_last_axis);
    RUN(softmax_other_axis);
    RUN(legacy_broadcast);
    RUN(other_adapters);
    RUN(subgraph_and_functions);
    RUN(refusals);
    RUN(tf_half_pixel_floor);
    RUN(table_and_ir);
    RUN(allocation_failures);
    UNIT_END("test_opset");
}
