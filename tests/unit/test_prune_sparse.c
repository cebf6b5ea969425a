/* test_prune_sparse.c: the magnitude, wanda and nm prune passes
 * (lib/passes/prune_sparse.c) on models built in memory.
 *
 * Each case builds a small model, runs a pipeline over it and checks the
 * weights against the original values: exact per-layer zero counts, which
 * weights went, the global threshold with its per-layer cap, the N:M
 * pattern along the input-channel axis of every layer kind, Wanda's use of
 * input norms, and that reconstruction lowers the output error against
 * plain masking on the calibration samples (written as .npy files to a
 * temporary folder and run through the interpreter). */
#include "ir/ir.h"
#include "unit.h"

#include <math.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build.h"

static oc_pipeline_report rep;

/* ---- building models ---- */

static float *wdata(const char *name)
{
    oc_tensor *t = oc_graph_weight(g, name);
    return t ? (float *)t->data : NULL;
}

/* If(c) { MatMul(x, Ws) } else { x } -> z, c a true constant, the branch
 * outputs and z of shape yd. Ws (wd, from ws) is an initializer of the
 * then branch, which this returns. */
static oc_graph *add_if_matmul(const int64_t *wd, const float *ws, const int64_t *yd)
{
    oc_graph *then_g = oc_graph_new(m, g), *else_g = oc_graph_new(m, g);
    then_g->name = "then";
    else_g->name = "else";
    weight_in(then_g, "Ws", 2, wd, ws);
    node_in(then_g, "MatMul", "sub_mm", "x,Ws", "t_out");
    node_in(else_g, "Identity", "sub_id", "x", "e_out");
    then_g->outputs = oc_model_alloc(m, sizeof(oc_value *));
    then_g->outputs[then_g->n_outputs++] = mkval("t_out", OC_DTYPE_FLOAT, 2, yd);
    else_g->outputs = oc_model_alloc(m, sizeof(oc_value *));
    else_g->outputs[else_g->n_outputs++] = mkval("e_out", OC_DTYPE_FLOAT, 2, yd);
    int64_t one = 1;
    uint8_t t = 1;
    init("c", OC_DTYPE_BOOL, 1, &one, &t, 1);
    oc_node *nif = node("If", "if", "c", "z");
    a_graph(nif, "then_branch", then_g);
    a_graph(nif, "else_branch", else_g);
    output("z", 2, yd);
    return then_g;
}

/* ---- numbers ---- */

static uint32_t seed = 1;

static float frand(void) /* uniform in [-1, 1) */
{
    seed = seed * 1664525u + 1013904223u;
    return (float)(seed >> 8) / 8388608.0f - 1.0f;
}

/* Distinct magnitudes in [0.05, 1.05) * scale, random signs. */
static void fill(float *w, int64_t n, float scale)
{
    for (int64_t i = 0; i < n; i++) {
        float v = (0.05f + (float)((i * 7919) % n) / (float)n) * scale;
        w[i] = frand() < 0 ? -v : v;
    }
    /* shuffle so magnitude does not follow position */
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)((frand() + 1.0f) * 0.5f * (float)(i + 1));
        if (j > i) j = i;
        float t = w[i];
        w[i] = w[j];
        w[j] = t;
    }
}

static int64_t zeros(const float *w, int64_t n)
{
    int64_t z = 0;
    for (int64_t i = 0; i < n; i++) z += w[i] == 0.0f;
    return z;
}

/* Every weight zeroed (from orig) is no larger than every weight kept. */
static bool smallest_went(const float *orig, const float *now, int64_t n)
{
    float cut = 0, kept = INFINITY;
    for (int64_t i = 0; i < n; i++) {
        if (now[i] == 0.0f) {
            if (fabsf(orig[i]) > cut) cut = fabsf(orig[i]);
        } else {
            if (now[i] != orig[i]) return false; /* no reconstruction: kept as they were */
            if (fabsf(orig[i]) < kept) kept = fabsf(orig[i]);
        }
    }
    return cut <= kept;
}

/* ---- running the pipeline ---- */

static oc_status run(const char *prune, const char *quant, const oc_pipeline_opts *o)
{
    oc_pipeline *p = oc_pipeline_new();
    oc_status st = OC_OK;
    if (prune) st = oc_pipeline_add(&ctx, p, "prune", prune);
    if (st == OC_OK && quant) st = oc_pipeline_add(&ctx, p, "quant", quant);
    if (st == OC_OK) st = oc_pipeline_run(&ctx, p, m, o, &rep);
    if (st != OC_OK) printf("  pipeline: %s\n", ctx.msg);
    oc_pipeline_free(p);
    return st;
}

static bool notice_has(const char *s)
{
    bool yes = strstr(rep.notices, s) != NULL;
    if (!yes) printf("  no notice '%s' in:\n%s", s, rep.notices);
    return yes;
}

/* ---- magnitude ---- */

/* x[1,32] -> Gemm(W1 [16,32], transB) -> MatMul(W2 [16,24]) -> y */
static void build_two(const float *w1, const float *w2)
{
    begin(13, 7);
    int64_t xd[2] = {1, 32}, yd[2] = {1, 24}, d1[2] = {16, 32}, d2[2] = {16, 24};
    input("x", 2, xd);
    output("y", 2, yd);
    weight("W1", 2, d1, w1);
    weight("W2", 2, d2, w2);
    a_int(node("Gemm", "fc1", "x,W1", "h"), "transB", 1);
    node("MatMul", "fc2", "h,W2", "y");
}

static void magnitude_layer_exact(void)
{
    static float w1[512], w2[384], o1[512], o2[384];
    fill(w1, 512, 1);
    fill(w2, 384, 1);
    for (int i = 0; i < 10; i++) w1[i * 37] = 0; /* zeros already there */
    memcpy(o1, w1, sizeof(w1));
    memcpy(o2, w2, sizeof(w2));
    build_two(w1, w2);
    CHECK(run("magnitude:sparsity=0.3,min_elems=0", NULL, NULL) == OC_OK);
    /* round(0.3 * 512) = 154, round(0.3 * 384) = 115 */
    CHECK_EQ_INT(zeros(wdata("W1"), 512), 154);
    CHECK_EQ_INT(zeros(wdata("W2"), 384), 115);
    CHECK(smallest_went(o1, wdata("W1"), 512));
    CHECK(smallest_went(o2, wdata("W2"), 384));
    for (int i = 0; i < 10; i++) CHECK(wdata("W1")[i * 37] == 0.0f);
    CHECK_EQ_INT(rep.layers_pruned, 2);
    CHECK_EQ_INT(rep.weights_zero, 154 + 115);
    CHECK_EQ_INT(rep.weights_prunable, 512 + 384);
    CHECK(notice_has("magnitude: 2 layers, 269 of 896 weights zero (30.0%)"));
    done();

    /* equal magnitudes: the lowest positions go first */
    for (int i = 0; i < 512; i++) w1[i] = i % 2 ? 0.5f : -0.5f;
    build_two(w1, w2);
    CHECK(run("magnitude:sparsity=0.5,min_elems=0", NULL, NULL) == OC_OK);
    for (int i = 0; i < 512; i++) CHECK((wdata("W1")[i] == 0.0f) == (i < 256));
    done();

    /* more zeros than the target: they count, nothing more goes */
    fill(w1, 512, 1);
    for (int i = 0; i < 300; i++) w1[(i * 13) % 512] = 0;
    memcpy(o1, w1, sizeof(w1));
    build_two(w1, w2);
    CHECK(run("magnitude:sparsity=0.5,min_elems=0", NULL, NULL) == OC_OK);
    CHECK_EQ_INT(zeros(wdata("W1"), 512), 300);
    CHECK(memcmp(wdata("W1"), o1, sizeof(o1)) == 0);
    done();

    /* a large layer (quickselect is only for small ones) */
    static float big[256 * 1024], obig[256 * 1024];
    fill(big, 256 * 1024, 1);
    for (int i = 0; i < 1000; i++) big[i * 200] = big[i * 200 + 1]; /* some ties */
    memcpy(obig, big, sizeof(big));
    begin(13, 7);
    int64_t xd[2] = {1, 256}, yd[2] = {1, 1024}, bd[2] = {256, 1024};
    input("x", 2, xd);
    output("y", 2, yd);
    weight("B", 2, bd, big);
    node("MatMul", "big", "x,B", "y");
    CHECK(run("magnitude:sparsity=0.7", NULL, NULL) == OC_OK);
    CHECK_EQ_INT(zeros(wdata("B"), 256 * 1024), 183501); /* round(0.7 * 262144) */
    CHECK(smallest_went(obig, wdata("B"), 256 * 1024));
    done();
}

/* Layers under min_elems, excluded ops and non-layer weights stay. */
static void magnitude_untouched(void)
{
    static float w1[512], w2[384], wc[288], wa[512], o2[384], oc[288], oa[512];
    fill(w1, 512, 1);
    fill(w2, 384, 1);
    fill(wc, 288, 1);
    fill(wa, 512, 1);
    memcpy(o2, w2, sizeof(w2));
    memcpy(oc, wc, sizeof(wc));
    memcpy(oa, wa, sizeof(wa));
    build_two(w1, w2);
    /* and a Conv of 288 weights, an Add of a 512 constant */
    int64_t cd[4] = {8, 4, 3, 3}, ad[2] = {16, 32};
    weight("Wc", 4, cd, wc);
    weight("A", 2, ad, wa);
    int64_t xd[4] = {1, 4, 5, 5}, yd[4] = {1, 8, 3, 3};
    input("xc", 4, xd);
    output("yc", 4, yd);
    node("Conv", "conv", "xc,Wc", "yc");
    node("Add", "add", "W1,A", "s");
    const char *ex[] = {"MatMul"};
    oc_pipeline_opts o = oc_pipeline_opts_default();
    o.exclude_ops = ex;
    o.n_exclude_ops = 1;
    CHECK(run("magnitude:sparsity=0.5,min_elems=300", NULL, &o) == OC_OK);
    /* W1 feeds the Add too: still pruned (same tensor), once */
    CHECK_EQ_INT(zeros(wdata("W1"), 512), 256);
    CHECK(memcmp(wdata("W2"), o2, sizeof(o2)) == 0); /* excluded op */
    CHECK(memcmp(wdata("Wc"), oc, sizeof(oc)) == 0); /* 288 < min_elems */
    CHECK(memcmp(wdata("A"), oa, sizeof(oa)) == 0);  /* not a layer */
    CHECK_EQ_INT(rep.layers_pruned, 1);
    CHECK(notice_has("magnitude: 1 layer, 256 of 512 weights zero (50.0%)"));
    done();
}

/* A weight two layers read is one tensor, pruned once; subgraph layers
 * are pruned too. */
static void magnitude_shared_and_subgraph(void)
{
    static float w[1024], ws[1024];
    fill(w, 1024, 1);
    fill(ws, 1024, 1);
    begin(13, 7);
    int64_t xd[2] = {1, 32}, yd[2] = {1, 32}, wd[2] = {32, 32};
    input("x", 2, xd);
    output("y", 2, yd);
    weight("W", 2, wd, w);
    node("MatMul", "a", "x,W", "h");
    node("MatMul", "b", "h,W", "y");
    oc_graph *then_g = add_if_matmul(wd, ws, yd);
    CHECK(run("magnitude:sparsity=0.25", NULL, NULL) == OC_OK);
    CHECK_EQ_INT(zeros(wdata("W"), 1024), 256);
    oc_tensor *tws = oc_graph_weight(then_g, "Ws");
    CHECK(tws && zeros(tws->data, 1024) == 256);
    CHECK_EQ_INT(rep.layers_pruned, 2);
    done();
}

/* One |w| threshold across layers, no layer past max_layer. */
static void magnitude_global(void)
{
    static float a[512], b[512], oa[512], ob[512];
    fill(a, 512, 0.001f); /* all below every weight of b */
    fill(b, 512, 1.0f);
    memcpy(oa, a, sizeof(a));
    memcpy(ob, b, sizeof(b));
    int64_t xd[2] = {1, 32}, hd[2] = {32, 16}, yd[2] = {1, 32}, bd[2] = {16, 32};

    /* a would go entirely: held at floor(0.95 * 512) = 486, b gives the rest */
    begin(13, 7);
    input("x", 2, xd);
    output("y", 2, yd);
    weight("A", 2, hd, a);
    weight("B", 2, bd, b);
    node("MatMul", "a", "x,A", "h");
    node("MatMul", "b", "h,B", "y");
    CHECK(run("magnitude:scope=global,sparsity=0.5,max_layer=0.95,min_elems=0", NULL, NULL) == OC_OK);
    CHECK_EQ_INT(zeros(wdata("A"), 512), 486);
    CHECK_EQ_INT(zeros(wdata("B"), 512), 26);
    CHECK(smallest_went(oa, wdata("A"), 512));
    CHECK(smallest_went(ob, wdata("B"), 512));
    CHECK(notice_has("1 layer held at max_layer=0.95"));
    done();

    /* overlapping ranges: one threshold, total exact */
    fill(a, 512, 0.5f);
    memcpy(oa, a, sizeof(a));
    begin(13, 7);
    input("x", 2, xd);
    output("y", 2, yd);
    weight("A", 2, hd, a);
    weight("B", 2, bd, b);
    node("MatMul", "a", "x,A", "h");
    node("MatMul", "b", "h,B", "y");
    CHECK(run("magnitude:scope=global,sparsity=0.6,min_elems=0", NULL, NULL) == OC_OK);
    const float *na = wdata("A"), *nb = wdata("B");
    CHECK_EQ_INT(zeros(na, 512) + zeros(nb, 512), 614); /* round(0.6 * 1024) */
    CHECK(zeros(na, 512) > zeros(nb, 512));
    float cut = 0, kept = INFINITY;
    for (int i = 0; i < 512; i++) {
        float x = fabsf(oa[i]), y = fabsf(ob[i]);
        if (na[i] == 0) cut = fmaxf(cut, x);
        else kept = fminf(kept, x);
        if (nb[i] == 0) cut = fmaxf(cut, y);
        else kept = fminf(kept, y);
    }
    CHECK(cut <= kept);
    done();

    /* a cap below the target: every layer at its cap, and a notice */
    begin(13, 7);
    input("x", 2, xd);
    output("y", 2, yd);
    weight("A", 2, hd, oa);
    weight("B", 2, bd, ob);
    node("MatMul", "a", "x,A", "h");
    node("MatMul", "b", "h,B", "y");
    CHECK(run("magnitude:scope=global,sparsity=0.5,max_layer=0.4,min_elems=0", NULL, NULL) == OC_OK);
    CHECK_EQ_INT(zeros(wdata("A"), 512), 204);
    CHECK_EQ_INT(zeros(wdata("B"), 512), 204);
    CHECK(notice_has("caps the overall sparsity"));
    done();
}

/* ---- N:M ---- */

/* The tensor seen as [outer, len, inner] with len the input-channel axis:
 * every run of m along it keeps exactly n nonzeros, the n largest |orig|. */
static bool nm_holds(const float *orig, const float *now, int64_t outer, int64_t len, int64_t inner, int n, int mm)
{
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++)
            for (int64_t b = 0; b < len; b += mm) {
                int nz = 0;
                for (int k = 0; k < mm; k++) {
                    int64_t e = (o * len + b + k) * inner + i;
                    if (now[e] == 0.0f) continue;
                    nz++;
                    if (now[e] != orig[e]) return false;
                    int larger = 0; /* how many in the run are larger than a kept one */
                    for (int q = 0; q < mm; q++)
                        larger += fabsf(orig[(o * len + b + q) * inner + i]) > fabsf(orig[e]);
                    if (larger >= n) return false;
                }
                if (nz != n) return false;
            }
    return true;
}

static void nm_case(const char *op, int ndim, const int64_t *wd, int64_t group, int transb, int64_t outer,
                    int64_t len, int64_t inner, const char *spec, int n, int mm)
{
    static float w[4096], o[4096];
    int64_t ne = numel_of(ndim, wd);
    fill(w, ne, 1);
    memcpy(o, w, (size_t)ne * sizeof(float));
    begin(13, 7);
    int64_t xd[4] = {1, 1, 1, 1};
    input("x", 4, xd);
    output("y", 4, xd);
    weight("W", ndim, wd, w);
    oc_node *nd = node(op, "layer", "x,W", "y");
    if (group > 1) a_int(nd, "group", group);
    if (transb >= 0) a_int(nd, "transB", transb);
    CHECK(run(spec, NULL, NULL) == OC_OK);
    bool ok = nm_holds(o, wdata("W"), outer, len, inner, n, mm);
    if (!ok) printf("  %s: the pattern does not hold\n", op);
    CHECK(ok);
    CHECK_EQ_INT(zeros(wdata("W"), ne), ne - ne / mm * n);
    done();
}

static void nm_patterns(void)
{
    const char *spec = "nm:min_elems=0";
    /* Conv W[Cout, Cin, kh, kw]: runs along axis 1 at each (cout, k) */
    int64_t c1[4] = {8, 8, 3, 3};
    nm_case("Conv", 4, c1, 1, -1, 8, 8, 9, spec, 2, 4);
    /* grouped: Cin/g = 4 per group */
    int64_t c2[4] = {8, 4, 3, 3};
    nm_case("Conv", 4, c2, 2, -1, 8, 4, 9, spec, 2, 4);
    /* Gemm B[K, N] (transB=0): runs along axis 0; [N, K]: along axis 1 */
    int64_t g0[2] = {16, 8}, g1[2] = {8, 16};
    nm_case("Gemm", 2, g0, 1, 0, 1, 16, 8, spec, 2, 4);
    nm_case("Gemm", 2, g1, 1, 1, 8, 16, 1, spec, 2, 4);
    /* MatMul B[K, N] and batched [2, K, N] */
    int64_t mm1[2] = {16, 8}, mm2[3] = {2, 16, 8};
    nm_case("MatMul", 2, mm1, 1, -1, 1, 16, 8, spec, 2, 4);
    nm_case("MatMul", 3, mm2, 1, -1, 2, 16, 8, spec, 2, 4);
    /* ConvTranspose W[Cin, Cout/g, kh, kw]: along axis 0, within groups */
    int64_t t1[4] = {8, 4, 2, 2}, t2[4] = {8, 2, 2, 2};
    nm_case("ConvTranspose", 4, t1, 1, -1, 1, 8, 16, spec, 2, 4);
    nm_case("ConvTranspose", 4, t2, 2, -1, 1, 8, 8, spec, 2, 4);
    /* 4:8 and 1:4 */
    int64_t g2[2] = {8, 32};
    nm_case("Gemm", 2, g2, 1, 1, 8, 32, 1, "nm:n=4,m=8,min_elems=0", 4, 8);
    nm_case("Conv", 4, c1, 1, -1, 8, 8, 9, "nm:n=1,m=4,min_elems=0", 1, 4);
}

static void nm_skips_and_refuses(void)
{
    static float w[864], o[864], w2[576];
    fill(w, 864, 1);
    fill(w2, 576, 1);
    memcpy(o, w, sizeof(w));
    begin(13, 7);
    int64_t xd[4] = {1, 6, 5, 5}, yd[4] = {1, 16, 3, 3}, wd[4] = {16, 6, 3, 3}, w2d[4] = {8, 8, 3, 3};
    input("x", 4, xd);
    output("y", 4, yd);
    weight("W", 4, wd, w); /* 6 input channels: not a multiple of 4 */
    weight("W2", 4, w2d, w2);
    node("Conv", "odd", "x,W", "y");
    node("Conv", "even", "z,W2", "u");
    CHECK(run("nm:min_elems=0", NULL, NULL) == OC_OK);
    CHECK(memcmp(wdata("W"), o, sizeof(o)) == 0);
    CHECK(notice_has("nm: left 1 layer alone, input channels (per group) not a multiple of 4: 'odd' (6)"));
    CHECK_EQ_INT(zeros(wdata("W2"), 576), 288);
    CHECK_EQ_INT(rep.layers_pruned, 1);
    oc_pipeline *p = oc_pipeline_new();
    CHECK(oc_pipeline_add(&ctx, p, "prune", "nm:n=4,m=4") == OC_OK);
    CHECK(oc_pipeline_run(&ctx, p, m, NULL, &rep) == OC_ERR_USAGE);
    CHECK(strstr(ctx.msg, "n (4) must be less than m (4)") != NULL);
    oc_pipeline_free(p);
    done();
}

/* ---- samples ---- */

static char tmpdir[64];
static int n_samples;

/* Writes samples[k] (numel floats each, shape dims) as TMP/sNN/x.npy. */
static bool write_samples(const float *x, int count, int ndim, const int64_t *dims)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/oc-prune-sparse-XXXXXX");
    if (!mkdtemp(tmpdir)) return false;
    int64_t ne = numel_of(ndim, dims);
    for (int k = 0; k < count; k++) {
        char path[128];
        snprintf(path, sizeof(path), "%s/s%03d", tmpdir, k);
        if (mkdir(path, 0700)) return false;
        snprintf(path, sizeof(path), "%s/s%03d/x.npy", tmpdir, k);
        oc_ten t;
        memset(&t, 0, sizeof(t));
        t.dtype = OC_DTYPE_FLOAT;
        t.ndim = ndim;
        memcpy(t.dims, dims, (size_t)ndim * sizeof(int64_t));
        t.numel = ne;
        t.data = (void *)(x + k * ne);
        t.nbytes = (size_t)ne * sizeof(float);
        t.borrowed = true;
        if (oc_npy_write(&ctx, path, &t) != OC_OK) {
            printf("  npy: %s\n", ctx.msg);
            return false;
        }
    }
    n_samples = count;
    return true;
}

static void remove_samples(void)
{
    for (int k = 0; k < n_samples; k++) {
        char path[128];
        snprintf(path, sizeof(path), "%s/s%03d/x.npy", tmpdir, k);
        unlink(path);
        snprintf(path, sizeof(path), "%s/s%03d", tmpdir, k);
        rmdir(path);
    }
    rmdir(tmpdir);
    n_samples = 0;
}

static oc_pipeline_opts data_opts(void)
{
    oc_pipeline_opts o = oc_pipeline_opts_default();
    o.data_src = tmpdir;
    o.threads = 1;
    return o;
}

/* Runs the model on every sample (input x) and returns the summed squared
 * difference of output 0 from ref (count x out floats), or stores the
 * outputs in ref when store is set. -1 on failure. */
static double run_error(const float *x, int count, float *ref, int64_t out, bool store)
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
    double err = 0;
    for (int k = 0; k < count && err >= 0; k++) {
        oc_ten in, res[2];
        memset(res, 0, sizeof(res));
        if (oc_ten_new(&c, &in, OC_DTYPE_FLOAT, v->type.ndim, dims) != OC_OK) {
            err = -1;
            break;
        }
        memcpy(in.data, x + k * in.numel, in.nbytes);
        if (oc_session_run(&c, s, &in, res) != OC_OK || res[0].numel != out) {
            printf("  run: %s\n", c.msg);
            err = -1;
        } else {
            const float *y = res[0].data;
            for (int64_t i = 0; i < out; i++) {
                if (store) ref[k * out + i] = y[i];
                double d = (double)y[i] - ref[k * out + i];
                err += d * d;
            }
        }
        oc_ten_release(&in);
        for (size_t i = 0; i < oc_session_n_outputs(s); i++) oc_ten_release(&res[i]);
    }
    oc_session_free(s);
    return err;
}

/* ---- wanda ---- */

/* x[1,8] -> MatMul(W [8,4]) -> y[1,4]. Inputs 0..3 are tiny, 4..7 large;
 * weights from inputs 0..3 are large, from 4..7 small. */
static void build_wanda(const float *w)
{
    begin(13, 7);
    int64_t xd[2] = {1, 8}, yd[2] = {1, 4}, wd[2] = {8, 4};
    input("x", 2, xd);
    output("y", 2, yd);
    weight("W", 2, wd, w);
    node("MatMul", "mm", "x,W", "y");
}

static void wanda_uses_norms(void)
{
    static float x[16 * 8], w[32];
    for (int k = 0; k < 16; k++)
        for (int j = 0; j < 8; j++) x[k * 8 + j] = (j < 4 ? 0.01f : 10.0f) * (0.5f + 0.5f * fabsf(frand()));
    for (int r = 0; r < 8; r++)
        for (int n = 0; n < 4; n++) {
            float v = r < 4 ? 1.0f + 0.01f * (float)(r * 4 + n) : 0.1f + 0.001f * (float)(r * 4 + n);
            /* output 3's weights 1000 times larger: group=layer keeps them all */
            w[r * 4 + n] = (n == 3 ? 1000.0f : 1.0f) * ((r + n) % 2 ? -v : v);
        }
    int64_t xd[2] = {1, 8};
    CHECK(write_samples(x, 16, 2, xd));
    oc_pipeline_opts o = data_opts();

    build_wanda(w);
    CHECK(run("wanda:sparsity=0.5,min_elems=0", NULL, &o) == OC_OK);
    const float *nw = wdata("W");
    for (int r = 0; r < 8; r++)
        for (int n = 0; n < 4; n++) CHECK((nw[r * 4 + n] == 0.0f) == (r < 4)); /* the large |w| went */
    CHECK(notice_has("wanda: 1 layer, 16 of 32 weights zero (50.0%)"));
    done();

    /* magnitude does the opposite */
    build_wanda(w);
    CHECK(run("magnitude:sparsity=0.5,min_elems=0", NULL, NULL) == OC_OK);
    nw = wdata("W");
    int small_went = 0;
    for (int r = 4; r < 8; r++)
        for (int n = 0; n < 3; n++) small_went += nw[r * 4 + n] == 0.0f;
    CHECK_EQ_INT(small_went, 12);
    done();

    /* group=layer: one ranking for the layer; output 3's weights all stay,
     * the others lose more than half */
    build_wanda(w);
    CHECK(run("wanda:sparsity=0.5,group=layer,min_elems=0", NULL, &o) == OC_OK);
    nw = wdata("W");
    CHECK_EQ_INT(zeros(nw, 32), 16);
    int col3 = 0;
    for (int r = 0; r < 8; r++) col3 += nw[r * 4 + 3] == 0.0f;
    CHECK_EQ_INT(col3, 0);
    done();

    /* nm with the wanda criterion picks by |w| x norm too: in each run of
     * 4 inputs along K, (0..3) and (4..7) */
    build_wanda(w);
    CHECK(run("nm:criterion=wanda,n=2,m=4,min_elems=0", NULL, &o) == OC_OK);
    CHECK_EQ_INT(zeros(wdata("W"), 32), 16);
    done();
    remove_samples();
}

/* A layer inside an If: the samples do not reach it, so Wanda ranks it by
 * |w| and reconstruction leaves it masked, each with a notice. */
static void wanda_subgraph_fallback(void)
{
    static float x[8 * 16], ws[256], os[256];
    for (int i = 0; i < 8 * 16; i++) x[i] = frand();
    fill(ws, 256, 1);
    memcpy(os, ws, sizeof(ws));
    int64_t xd[2] = {1, 16}, wd[2] = {16, 16};
    CHECK(write_samples(x, 8, 2, xd));
    oc_pipeline_opts o = data_opts();
    begin(13, 7);
    input("x", 2, xd);
    oc_graph *then_g = add_if_matmul(wd, ws, xd);
    CHECK(run("wanda:sparsity=0.5,min_elems=0,reconstruct=1", NULL, &o) == OC_OK);
    oc_tensor *t = oc_graph_weight(then_g, "Ws");
    CHECK(t && zeros(t->data, 256) == 128);
    /* per row (16 outputs), the 8 smallest of each row's 16 inputs */
    if (t) {
        const float *nw = t->data;
        for (int n = 0; n < 16; n++) {
            int z = 0;
            for (int k = 0; k < 16; k++) z += nw[k * 16 + n] == 0.0f;
            CHECK_EQ_INT(z, 8);
        }
        for (int i = 0; i < 256; i++) CHECK(nw[i] == 0.0f || nw[i] == os[i]);
    }
    CHECK(notice_has("ranked by |w| alone: 'sub_mm'"));
    CHECK(notice_has("without reconstruction"));
    done();
    remove_samples();
}

/* ---- reconstruction ---- */

/* Correlated inputs (a few latent factors plus noise), where OBS has
 * something to compensate with. */
static void latent_inputs(float *x, int count, int64_t n, int factors)
{
    static float mix[64][8];
    for (int64_t j = 0; j < n; j++)
        for (int f = 0; f < factors; f++) mix[j][f] = frand();
    for (int k = 0; k < count; k++) {
        float z[8];
        for (int f = 0; f < factors; f++) z[f] = frand() * 2.0f;
        for (int64_t j = 0; j < n; j++) {
            float v = 0.05f * frand();
            for (int f = 0; f < factors; f++) v += mix[j][f] * z[f];
            x[k * n + j] = v;
        }
    }
}

/* x[1,32] -> Gemm(W [16,32], transB=1) -> y[1,16] */
static void build_fc(const float *w)
{
    begin(13, 7);
    int64_t xd[2] = {1, 32}, yd[2] = {1, 16}, wd[2] = {16, 32};
    input("x", 2, xd);
    output("y", 2, yd);
    weight("W", 2, wd, w);
    a_int(node("Gemm", "fc", "x,W", "y"), "transB", 1);
}

/* Error of plain masking vs reconstruction for one pass spec ("%s" takes
 * ",reconstruct=0|1"). */
static void compare_fc(const char *spec_fmt, const float *w, const float *x, int count, float *ref)
{
    char spec[128];
    double err[2];
    float *masks[2] = {NULL, NULL};
    for (int rec = 0; rec < 2; rec++) {
        build_fc(w);
        oc_pipeline_opts o = data_opts();
        snprintf(spec, sizeof(spec), spec_fmt, rec ? ",reconstruct=1" : "");
        CHECK(run(spec, NULL, &o) == OC_OK);
        err[rec] = run_error(x, count, ref, 16, false);
        masks[rec] = malloc(512 * sizeof(float));
        memcpy(masks[rec], wdata("W"), 512 * sizeof(float));
        done();
    }
    printf("  %s: output error %.4g masked, %.4g reconstructed\n", spec, err[0], err[1]);
    CHECK(err[0] > 0 && err[1] >= 0);
    CHECK(err[1] < 0.75 * err[0]);
    /* the same mask, exact zeros */
    for (int i = 0; i < 512; i++) CHECK((masks[0][i] == 0.0f) == (masks[1][i] == 0.0f));
    free(masks[0]);
    free(masks[1]);
}

static void reconstruct_lowers_error(void)
{
    static float w[512], x[128 * 32], ref[128 * 16];
    fill(w, 512, 1);
    latent_inputs(x, 128, 32, 4);
    int64_t xd[2] = {1, 32};
    CHECK(write_samples(x, 128, 2, xd));
    build_fc(w);
    CHECK(run_error(x, 128, ref, 16, true) == 0);
    done();
    compare_fc("magnitude:sparsity=0.5,min_elems=0,samples=128%s", w, x, 128, ref);
    compare_fc("wanda:sparsity=0.5,min_elems=0,samples=128%s", w, x, 128, ref);
    compare_fc("nm:min_elems=0,samples=128%s", w, x, 128, ref);
    /* and the N:M pattern survives the update */
    build_fc(w);
    oc_pipeline_opts o = data_opts();
    CHECK(run("nm:min_elems=0,reconstruct=1", NULL, &o) == OC_OK);
    const float *nw = wdata("W");
    for (int r = 0; r < 16; r++)
        for (int b = 0; b < 32; b += 4) {
            int nz = 0;
            for (int k = 0; k < 4; k++) nz += nw[r * 32 + b + k] != 0.0f;
            CHECK(nz <= 2);
        }
    done();
    remove_samples();
}

/* A grouped Conv: each group is reconstructed with its own Gram. */
static void reconstruct_grouped_conv(void)
{
    enum { C = 8, HW = 6, CO = 8, CNT = 48 };
    static float w[CO * 4 * 9], x[CNT * C * HW * HW], ref[CNT * CO * 4 * 4];
    fill(w, CO * 4 * 9, 1);
    /* channels as mixtures of two smooth patterns per sample */
    for (int k = 0; k < CNT; k++) {
        float a = frand(), b = frand();
        for (int c = 0; c < C; c++) {
            float ma = frand(), mb = frand();
            for (int p = 0; p < HW * HW; p++) {
                float pa = (float)(p % HW) / HW, pb = (float)(p / HW) / HW;
                x[((k * C) + c) * HW * HW + p] = ma * a * pa + mb * b * pb + 0.02f * frand();
            }
        }
    }
    int64_t xd[4] = {1, C, HW, HW};
    CHECK(write_samples(x, CNT, 4, xd));
    double err[2];
    for (int rec = -1; rec < 2; rec++) {
        begin(13, 7);
        int64_t yd[4] = {1, CO, 4, 4}, wd[4] = {CO, 4, 3, 3};
        input("x", 4, xd);
        output("y", 4, yd);
        weight("W", 4, wd, w);
        a_int(node("Conv", "gconv", "x,W", "y"), "group", 2);
        if (rec < 0) {
            CHECK(run_error(x, CNT, ref, CO * 16, true) == 0);
        } else {
            oc_pipeline_opts o = data_opts();
            CHECK(run(rec ? "magnitude:sparsity=0.6,min_elems=0,reconstruct=1,samples=48"
                          : "magnitude:sparsity=0.6,min_elems=0",
                      NULL, &o) == OC_OK);
            CHECK_EQ_INT(zeros(wdata("W"), CO * 36), 173); /* round(0.6 * 288) */
            err[rec] = run_error(x, CNT, ref, CO * 16, false);
        }
        done();
    }
    printf("  grouped conv: output error %.4g masked, %.4g reconstructed\n", err[0], err[1]);
    CHECK(err[1] < 0.75 * err[0]);
    remove_samples();
}

/* ---- with quantization ---- */

/* The zeros survive int8 weight quantization exactly: each equals its
 * zero point (symmetric MatMul/Gemm, asymmetric per-channel Conv). */
static void zeros_survive_quant(void)
{
    static float w[512], wc[8 * 8 * 9];
    fill(w, 512, 1);
    fill(wc, 576, 1);
    build_fc(w);
    int64_t cd[4] = {8, 8, 3, 3}, xd[4] = {1, 8, 5, 5}, yd[4] = {1, 8, 3, 3};
    weight("Wc", 4, cd, wc);
    input("xc", 4, xd);
    output("yc", 4, yd);
    node("Conv", "conv", "xc,Wc", "yc");
    CHECK(run("magnitude:sparsity=0.5,min_elems=0", "weight", NULL) == OC_OK);
    const char *names[2] = {"W", "Wc"};
    int64_t want[2] = {256, 288};
    for (int i = 0; i < 2; i++) {
        size_t slot;
        oc_node *dq = oc_graph_producer(g, names[i], &slot);
        CHECK(dq && !strcmp(dq->op_type, "DequantizeLinear"));
        if (!dq) continue;
        oc_tensor *q = oc_graph_weight(g, dq->inputs[0]);
        oc_tensor *zp = dq->n_inputs > 2 ? oc_graph_weight(g, dq->inputs[2]) : NULL;
        CHECK(q && q->dtype == OC_DTYPE_INT8);
        if (!q) continue;
        int64_t at_zp = 0, per = q->numel / q->dims[0];
        for (int64_t e = 0; e < q->numel; e++) {
            double z = !zp ? 0 : zp->numel == 1 ? oc_tensor_get(zp, 0) : oc_tensor_get(zp, e / per);
            at_zp += oc_tensor_get(q, e) == z;
        }
        /* the pruned ones, and maybe a rare kept weight that rounds to it */
        CHECK(at_zp >= want[i] && at_zp <= want[i] + 4);
    }
    done();
}

/* ---- allocation failures ---- */

/* Fails the Nth allocation of a run, for every N until the run needs no
 * more: each must end in OC_ERR_NOMEM or succeed, and (under ASan) leak
 * nothing. */
static void alloc_failures(void)
{
    static float w[512], x[8 * 32];
    fill(w, 512, 1);
    latent_inputs(x, 8, 32, 4);
    int64_t xd[2] = {1, 32};
    CHECK(write_samples(x, 8, 2, xd));
    const char *specs[] = {"magnitude:min_elems=0", "magnitude:scope=global,min_elems=0", "nm:min_elems=0",
                           "wanda:min_elems=0,reconstruct=1", "nm:min_elems=0,criterion=wanda"};
    for (size_t s = 0; s < sizeof(specs) / sizeof(specs[0]); s++) {
        bool ok = false;
        for (uint64_t nth = 1; nth < 2000 && !ok; nth++) {
            build_fc(w);
            oc_pipeline *p = oc_pipeline_new();
            oc_pipeline_opts o = data_opts();
            CHECK(oc_pipeline_add(&ctx, p, "prune", specs[s]) == OC_OK);
            oc_alloc_fail_at(nth);
            oc_status st = oc_pipeline_run(&ctx, p, m, &o, &rep);
            oc_alloc_fail_at(0);
            if (st == OC_OK) {
                ok = true;
                printf("  %s: runs once %llu allocations succeed\n", specs[s], (unsigned long long)nth - 1);
            } else if (st != OC_ERR_NOMEM) {
                printf("  %s, allocation %llu failing: %s (%s)\n", specs[s], (unsigned long long)nth,
                       oc_status_name(st), ctx.msg);
                CHECK(st == OC_ERR_NOMEM);
            }
            if (ok) CHECK_EQ_INT(zeros(wdata("W"), 512), 256);
            oc_pipeline_free(p);
            done();
        }
        CHECK(ok);
    }
    remove_samples();
}

int main(void)
{
    RUN(magnitude_layer_exact);
    RUN(magnitude_untouched);
    RUN(magnitude_shared_and_subgraph);
    RUN(magnitude_global);
    RUN(nm_patterns);
    RUN(nm_skips_and_refuses);
    RUN(wanda_uses_norms);
    RUN(wanda_subgraph_fallback);
    RUN(reconstruct_lowers_error);
    RUN(reconstruct_grouped_conv);
    RUN(zeros_survive_quant);
    RUN(alloc_failures);
    UNIT_END("prune_sparse");
}
