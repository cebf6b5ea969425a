/* test_ops_reduce.c: the reduce family (Reduce*, ArgMax/ArgMin, TopK,
 * CumSum, Hardmax) against plain reference loops, across axes, keepdims,
 * types and the opset versions where attributes became inputs. */
#include "exec/exec.h"
#include "kernel_test.h"
#include "unit.h"

#include <math.h>

static oc_ctx ctx;

/* ---- building nodes and tensors by hand ---- */

static oc_ten mk(int dtype, int ndim, const int64_t *dims, const void *data)
{
    oc_ten t;
    oc_status st = oc_ten_new(&ctx, &t, dtype, ndim, dims);
    if (st != OC_OK) {
        printf("cannot allocate a test tensor\n");
        exit(2);
    }
    if (data && t.nbytes) memcpy(t.data, data, t.nbytes);
    return t;
}

static oc_ten mk_i64(int64_t n, const int64_t *v)
{
    int64_t d[1] = {n};
    return mk(OC_DTYPE_INT64, 1, d, v);
}

/* Runs op (prepare, then run) on in[0..n_in) with the given attributes;
 * out[] must be zeroed; output names are "y0".. unless names is given. */
static oc_status call_named(const char *op, int64_t opset, oc_attr *attrs, size_t n_attrs, const oc_ten **in,
                            size_t n_in, oc_ten *out, size_t n_out, const char **names)
{
    const oc_op_def *def = oc_op_find("", op, opset);
    if (!def) {
        printf("  no kernel for %s at opset %lld\n", op, (long long)opset);
        return OC_ERR_UNSUPPORTED;
    }
    static const char *dflt_out[] = {"y0", "y1", "y2"};
    static const char *in_names[] = {"x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7"};
    oc_node n;
    memset(&n, 0, sizeof(n));
    n.name = "t";
    n.op_type = op;
    n.inputs = in_names;
    n.n_inputs = n_in;
    n.outputs = names ? names : dflt_out;
    n.n_outputs = n_out;
    n.attrs = attrs;
    n.n_attrs = n_attrs;
    oc_kctx k = {&ctx, &n, opset, NULL, 1};
    oc_ctx_init(&ctx); /* the context keeps only its first failure */
    if (def->prepare) {
        oc_status st = def->prepare(&k);
        if (st != OC_OK) return st;
    }
    return def->run(&k, (const oc_ten *const *)in, n_in, out, n_out);
}

static oc_status call(const char *op, int64_t opset, oc_attr *attrs, size_t n_attrs, const oc_ten **in,
                      size_t n_in, oc_ten *out, size_t n_out)
{
    return call_named(op, opset, attrs, n_attrs, in, n_in, out, n_out, NULL);
}

static uint64_t rng = 88172645463325252ull;
static double frand(void) /* [-1, 1) */
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / (double)(1ull << 52) - 1.0;
}

static bool close_to(double got, double want)
{
    if (isnan(want)) return isnan(got);
    if (isinf(want)) return got == want;
    return fabs(got - want) <= 1e-5 + 1e-4 * fabs(want);
}

/* ---- Reduce* ---- */

enum { OPS_N = 10 };
static const char *red_ops[OPS_N] = {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd",
                                     "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp",
                                     "ReduceSumSquare"};

/* reference: the reduced value of each output for op o, axes mask */
static void ref_reduce(int o, const float *x, int rank, const int64_t *dims, const bool *mask, double *res,
                       int64_t n_res)
{
    double *acc = calloc((size_t)n_res, sizeof(double)), *mx = calloc((size_t)n_res, sizeof(double));
    int64_t *cnt = calloc((size_t)n_res, sizeof(int64_t));
    for (int64_t i = 0; i < n_res; i++) mx[i] = -INFINITY;
    int64_t numel = 1;
    for (int d = 0; d < rank; d++) numel *= dims[d];
    for (int pass = 0; pass < 2; pass++)
        for (int64_t i = 0; i < numel; i++) {
            /* unravel, then ravel the kept coordinates */
            int64_t rem = i, coord[OC_MAX_DIMS], oi = 0;
            for (int d = rank - 1; d >= 0; d--) {
                coord[d] = rem % dims[d];
                rem /= dims[d];
            }
            for (int d = 0; d < rank; d++)
                if (!mask[d]) oi = oi * dims[d] + coord[d];
            double v = x[i];
            if (pass == 0) {
                mx[oi] = v > mx[oi] ? v : mx[oi];
                continue;
            }
            double *a = &acc[oi];
            if (cnt[oi] == 0) *a = o == 4 ? 1.0 : o == 2 ? -INFINITY : o == 3 ? INFINITY : 0.0;
            cnt[oi]++;
            switch (o) {
            case 0: case 1: case 7: *a += v; break;
            case 2: *a = v > *a ? v : *a; break;
            case 3: *a = v < *a ? v : *a; break;
            case 4: *a *= v; break;
            case 5: *a += fabs(v); break;
            case 6: case 9: *a += v * v; break;
            case 8: *a += exp(v - mx[oi]); break;
            }
        }
    for (int64_t i = 0; i < n_res; i++) {
        double a = acc[i];
        switch (o) {
        case 1: a /= (double)cnt[i]; break;
        case 6: a = sqrt(a); break;
        case 7: a = log(a); break;
        case 8: a = log(a) + mx[i]; break;
        }
        res[i] = a;
    }
    free(acc);
    free(mx);
    free(cnt);
}

/* every op, every subset of axes of a [2,3,4,5] tensor, both keepdims, in
 * the attribute form (opset 13 / 11 for ReduceSum) and the input form (18) */
static void reduce_all_axes(void)
{
    const int64_t dims[4] = {2, 3, 4, 5};
    float xv[120];
    for (int i = 0; i < 120; i++) xv[i] = (float)frand() * 1.5f;
    oc_ten x = mk(OC_DTYPE_FLOAT, 4, dims, xv);
    oc_ten xpos = mk(OC_DTYPE_FLOAT, 4, dims, NULL);
    for (int i = 0; i < 120; i++) ((float *)xpos.data)[i] = fabsf(xv[i]) + 0.1f;
    int bad = 0;
    for (int o = 0; o < OPS_N; o++)
        for (int sub = 0; sub < 16; sub++)
            for (int keep = 0; keep < 2; keep++)
                for (int form = 0; form < 2; form++) {
                    const oc_ten *src = o == 7 || o == 4 ? &xpos : &x;
                    bool mask[4];
                    int64_t axes[4], na = 0, n_res = 1;
                    for (int d = 0; d < 4; d++) {
                        mask[d] = sub == 0 || (sub >> d & 1);
                        /* mix positive and negative axes */
                        if (sub >> d & 1) axes[na++] = d % 2 ? d - 4 : d;
                        if (!mask[d]) n_res *= dims[d];
                    }
                    double want[120];
                    ref_reduce(o, src->data, 4, dims, mask, want, n_res);
                    oc_attr attrs[2];
                    size_t n_attrs = 0;
                    attrs[n_attrs++] = ut_attr_int("keepdims", keep);
                    oc_ten ax = mk_i64(na, axes);
                    const oc_ten *in[2] = {src, &ax};
                    oc_ten out[1];
                    memset(out, 0, sizeof(out));
                    int64_t opset = form ? 18 : o == 0 ? 11 : 13;
                    if (!form && na) attrs[n_attrs++] = ut_attr_ints("axes", axes, (size_t)na);
                    oc_status st = call(red_ops[o], opset, attrs, n_attrs, in, form && na ? 2 : 1, out, 1);
                    if (st != OC_OK) {
                        printf("  %s failed: %s\n", red_ops[o], ctx.msg);
                        bad++;
                    } else {
                        int want_rank = keep ? 4 : 4 - (int)(sub == 0 ? 4 : __builtin_popcount((unsigned)sub));
                        if (out[0].ndim != want_rank || out[0].numel != n_res) bad++;
                        for (int d = 0, od = 0; d < 4 && out[0].ndim == want_rank; d++) {
                            if (mask[d] && !keep) continue;
                            if (out[0].dims[od++] != (mask[d] ? 1 : dims[d])) bad++;
                        }
                        for (int64_t i = 0; i < n_res && out[0].numel == n_res; i++)
                            if (!close_to(((float *)out[0].data)[i], want[i])) {
                                if (bad < 5)
                                    printf("  %s sub %d keep %d form %d [%lld]: %g want %g\n", red_ops[o], sub,
                                           keep, form, (long long)i, ((float *)out[0].data)[i], want[i]);
                                bad++;
                            }
                    }
                    oc_ten_release(&out[0]);
                    oc_ten_release(&ax);
                }
    CHECK_EQ_INT(bad, 0);
    oc_ten_release(&x);
    oc_ten_release(&xpos);
}

/* int64 and int32 reduce exactly (beyond double's 53 bits) */
static void reduce_ints(void)
{
    const int64_t dims[2] = {2, 3};
    const int64_t big = (int64_t)1 << 60;
    int64_t v[6] = {big + 1, 2, -3, 4, 5, 6};
    oc_ten x = mk(OC_DTYPE_INT64, 2, dims, v);
    int64_t ax1[1] = {1};
    oc_attr at[2] = {ut_attr_ints("axes", ax1, 1), ut_attr_int("keepdims", 0)};
    const oc_ten *in[1] = {&x};
    oc_ten out[1];
    memset(out, 0, sizeof(out));
    CHECK(call("ReduceSum", 11, at, 2, in, 1, out, 1) == OC_OK);
    CHECK(out[0].dtype == OC_DTYPE_INT64 && out[0].numel == 2);
    CHECK(((int64_t *)out[0].data)[0] == big + 0);
    CHECK(((int64_t *)out[0].data)[1] == 15);
    CHECK(call("ReduceProd", 13, at, 2, in, 1, out, 1) == OC_OK);
    CHECK(((int64_t *)out[0].data)[0] == (int64_t)((uint64_t)(big + 1) * 2u * (uint64_t)-3));
    CHECK(((int64_t *)out[0].data)[1] == 120);
    CHECK(call("ReduceMax", 13, at, 2, in, 1, out, 1) == OC_OK);
    CHECK(((int64_t *)out[0].data)[0] == big + 1);
    CHECK(call("ReduceMin", 18, &at[1], 1, (const oc_ten *[]){&x, NULL}, 1, out, 1) == OC_OK);
    CHECK(out[0].ndim == 0 && ((int64_t *)out[0].data)[0] == -3);
    CHECK(call("ReduceMean", 13, at, 2, in, 1, out, 1) == OC_OK);
    CHECK(((int64_t *)out[0].data)[1] == 5);
    oc_ten_release(&x);

    int32_t v32[6] = {1, -2, 3, 4, 5, -6};
    oc_ten x32 = mk(OC_DTYPE_INT32, 2, dims, v32);
    int64_t ax0[1] = {0};
    oc_ten axes = mk_i64(1, ax0);
    const oc_ten *in32[2] = {&x32, &axes};
    CHECK(call("ReduceSum", 13, &at[1], 1, in32, 2, out, 1) == OC_OK);
    CHECK(out[0].dtype == OC_DTYPE_INT32 && out[0].numel == 3);
    CHECK(((int32_t *)out[0].data)[0] == 5 && ((int32_t *)out[0].data)[1] == 3 &&
          ((int32_t *)out[0].data)[2] == -3);
    CHECK(call("ReduceL1", 18, &at[1], 1, in32, 2, out, 1) == OC_OK);
    CHECK(((int32_t *)out[0].data)[2] == 9);
    oc_ten_release(&out[0]);
    oc_ten_release(&x32);
    oc_ten_release(&axes);
}

/* noop_with_empty_axes, axes in the wrong form, bad axes, bad types */
static void reduce_edges(void)
{
    const int64_t dims[2] = {2, 2};
    float v[4] = {1, 2, 3, 4};
    oc_ten x = mk(OC_DTYPE_FLOAT, 2, dims, v);
    oc_ten empty = mk_i64(0, NULL);
    oc_ten out[1];
    memset(out, 0, sizeof(out));
    oc_attr noop = ut_attr_int("noop_with_empty_axes", 1);
    CHECK(call("ReduceSum", 13, &noop, 1, (const oc_ten *[]){&x, &empty}, 2, out, 1) == OC_OK);
    CHECK(out[0].ndim == 2 && out[0].numel == 4 && ((float *)out[0].data)[3] == 4);
    CHECK(call("ReduceMax", 18, &noop, 1, (const oc_ten *[]){&x, NULL}, 2, out, 1) == OC_OK);
    CHECK(out[0].numel == 4);
    /* without noop, empty axes reduce everything */
    CHECK(call("ReduceSum", 13, NULL, 0, (const oc_ten *[]){&x, &empty}, 2, out, 1) == OC_OK);
    CHECK(out[0].numel == 1 && out[0].ndim == 2 && ((float *)out[0].data)[0] == 10);

    int64_t ax[1] = {1};
    oc_attr axa = ut_attr_ints("axes", ax, 1);
    CHECK(call("ReduceMean", 18, &axa, 1, (const oc_ten *[]){&x}, 1, out, 1) == OC_ERR_INVALID);
    CHECK(call("ReduceSum", 13, &axa, 1, (const oc_ten *[]){&x}, 1, out, 1) == OC_ERR_INVALID);
    CHECK(call("ReduceMean", 17, &axa, 1, (const oc_ten *[]){&x}, 1, out, 1) == OC_OK);
    CHECK(((float *)out[0].data)[0] == 1.5f && ((float *)out[0].data)[1] == 3.5f);
    int64_t bad_ax[1] = {2};
    oc_attr bada = ut_attr_ints("axes", bad_ax, 1);
    CHECK(call("ReduceMean", 13, &bada, 1, (const oc_ten *[]){&x}, 1, out, 1) == OC_ERR_INVALID);
    CHECK(strstr(ctx.msg, "node 't' (ReduceMean)") != NULL);

    /* a scalar reduces to itself (through the op's map) */
    float s = -3;
    oc_ten sc = mk(OC_DTYPE_FLOAT, 0, NULL, &s);
    CHECK(call("ReduceL2", 13, NULL, 0, (const oc_ten *[]){&sc}, 1, out, 1) == OC_OK);
    CHECK(out[0].ndim == 0 && ((float *)out[0].data)[0] == 3);

    /* an empty reduced axis gives each op's identity */
    const int64_t edims[2] = {2, 0};
    oc_ten e = mk(OC_DTYPE_FLOAT, 2, edims, NULL);
    oc_attr k0 = ut_attr_int("keepdims", 0);
    oc_attr ea[2] = {ut_attr_ints("axes", ax, 1), k0};
    CHECK(call("ReduceSum", 11, ea, 2, (const oc_ten *[]){&e}, 1, out, 1) == OC_OK);
    CHECK(out[0].numel == 2 && ((float *)out[0].data)[1] == 0);
    CHECK(call("ReduceProd", 13, ea, 2, (const oc_ten *[]){&e}, 1, out, 1) == OC_OK);
    CHECK(((float *)out[0].data)[0] == 1);
    CHECK(call("ReduceMax", 13, ea, 2, (const oc_ten *[]){&e}, 1, out, 1) == OC_OK);
    CHECK(isinf(((float *)out[0].data)[0]) && ((float *)out[0].data)[0] < 0);
    CHECK(call("ReduceLogSumExp", 13, ea, 2, (const oc_ten *[]){&e}, 1, out, 1) == OC_OK);
    CHECK(isinf(((float *)out[0].data)[0]) && ((float *)out[0].data)[0] < 0);

    /* bool only for max/min */
    uint8_t bv[4] = {0, 1, 0, 0};
    oc_ten b = mk(OC_DTYPE_BOOL, 2, dims, bv);
    CHECK(call("ReduceMax", 13, &axa, 1, (const oc_ten *[]){&b}, 1, out, 1) == OC_OK);
    CHECK(out[0].dtype == OC_DTYPE_BOOL && ((uint8_t *)out[0].data)[0] == 1 && ((uint8_t *)out[0].data)[1] == 0);
    CHECK(call("ReduceSum", 11, &axa, 1, (const oc_ten *[]){&b}, 1, out, 1) == OC_ERR_UNSUPPORTED);

    /* double and uint8 go through double */
    double dv[4] = {1, 2, 3, 4.5};
    oc_ten d = mk(OC_DTYPE_DOUBLE, 2, dims, dv);
    CHECK(call("ReduceSumSquare", 13, &axa, 1, (const oc_ten *[]){&d}, 1, out, 1) == OC_OK);
    CHECK(out[0].dtype == OC_DTYPE_DOUBLE && ((double *)out[0].data)[1] == 9 + 20.25);
    uint8_t uv[4] = {200, 100, 7, 9};
    oc_ten u = mk(OC_DTYPE_UINT8, 2, dims, uv);
    CHECK(call("ReduceMin", 13, &axa, 1, (const oc_ten *[]){&u}, 1, out, 1) == OC_OK);
    CHECK(out[0].dtype == OC_DTYPE_UINT8 && ((uint8_t *)out[0].data)[0] == 100 && ((uint8_t *)out[0].data)[1] == 7);

    oc_ten_release(&out[0]);
    oc_ten_release(&x);
    oc_ten_release(&empty);
    oc_ten_release(&sc);
    oc_ten_release(&e);
    oc_ten_release(&b);
    oc_ten_release(&d);
    oc_ten_release(&u);
}

/* a larger reduction over the middle axis and the last one (the two inner
 * loops), against the reference */
static void reduce_mean_large(void)
{
    const int64_t dims[3] = {3, 257, 33};
    int64_t n = 3 * 257 * 33;
    float *v = malloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++) v[i] = (float)frand() * 10.0f;
    oc_ten x = mk(OC_DTYPE_FLOAT, 3, dims, v);
    for (int ax = 0; ax < 3; ax++) {
        int64_t axes[1] = {ax};
        oc_ten at = mk_i64(1, axes);
        oc_ten out[1];
        memset(out, 0, sizeof(out));
        CHECK(call("ReduceMean", 18, NULL, 0, (const oc_ten *[]){&x, &at}, 2, out, 1) == OC_OK);
        bool mask[3] = {ax == 0, ax == 1, ax == 2};
        int64_t n_res = n / dims[ax];
        double *want = malloc((size_t)n_res * sizeof(double));
        ref_reduce(1, v, 3, dims, mask, want, n_res);
        int bad = 0;
        for (int64_t i = 0; i < n_res; i++) bad += !close_to(((float *)out[0].data)[i], want[i]);
        CHECK_EQ_INT(bad, 0);
        free(want);
        oc_ten_release(&out[0]);
        oc_ten_release(&at);
    }
    oc_ten_release(&x);
    free(v);
}

/* ---- ArgMax / ArgMin ---- */

static void argmax_argmin(void)
{
    const int64_t dims[3] = {3, 4, 5};
    float v[60];
    /* few distinct values: plenty of ties */
    for (int i = 0; i < 60; i++) v[i] = (float)((int)((frand() + 1) * 2.5));
    oc_ten x = mk(OC_DTYPE_FLOAT, 3, dims, v);
    int bad = 0;
    for (int op = 0; op < 2; op++)
        for (int axis = -3; axis < 3; axis++)
            for (int keep = 0; keep < 2; keep++)
                for (int last = 0; last < 2; last++) {
                    oc_attr at[3] = {ut_attr_int("axis", axis), ut_attr_int("keepdims", keep), ut_attr_int("select_last_index", last)};
                    oc_ten out[1];
                    memset(out, 0, sizeof(out));
                    if (call(op ? "ArgMin" : "ArgMax", 13, at, 3, (const oc_ten *[]){&x}, 1, out, 1) != OC_OK) {
                        bad++;
                        continue;
                    }
                    int a = axis < 0 ? axis + 3 : axis;
                    int64_t outer = 1, inner = 1;
                    for (int d = 0; d < a; d++) outer *= dims[d];
                    for (int d = a + 1; d < 3; d++) inner *= dims[d];
                    if (out[0].ndim != (keep ? 3 : 2) || out[0].dtype != OC_DTYPE_INT64) bad++;
                    for (int64_t o = 0; o < outer; o++)
                        for (int64_t i = 0; i < inner; i++) {
                            int64_t best = 0;
                            for (int64_t j = 1; j < dims[a]; j++) {
                                float c = v[(o * dims[a] + j) * inner + i], b = v[(o * dims[a] + best) * inner + i];
                                if (op ? (c < b || (last && c == b)) : (c > b || (last && c == b))) best = j;
                            }
                            if (((int64_t *)out[0].data)[o * inner + i] != best) bad++;
                        }
                    oc_ten_release(&out[0]);
                }
    CHECK_EQ_INT(bad, 0);
    /* integers */
    int64_t iv[4] = {5, -9, 5, 7};
    int64_t d1[1] = {4};
    oc_ten xi = mk(OC_DTYPE_INT64, 1, d1, iv);
    oc_ten out[1];
    memset(out, 0, sizeof(out));
    CHECK(call("ArgMin", 11, NULL, 0, (const oc_ten *[]){&xi}, 1, out, 1) == OC_OK);
    CHECK(out[0].ndim == 1 && ((int64_t *)out[0].data)[0] == 1);
    oc_attr l = ut_attr_int("select_last_index", 1);
    CHECK(call("ArgMax", 12, &l, 1, (const oc_ten *[]){&xi}, 1, out, 1) == OC_OK);
    CHECK(((int64_t *)out[0].data)[0] == 3);
    oc_attr bad_axis = ut_attr_int("axis", 1);
    CHECK(call("ArgMax", 12, &bad_axis, 1, (const oc_ten *[]){&xi}, 1, out, 1) == OC_ERR_INVALID);
    oc_ten_release(&out[0]);
    oc_ten_release(&xi);
    oc_ten_release(&x);
}

/* ---- TopK ---- */

static void topk_cases(void)
{
    const int64_t dims[3] = {2, 7, 3};
    float v[42];
    for (int i = 0; i < 42; i++) v[i] = (float)((int)((frand() + 1) * 3)); /* ties */
    oc_ten x = mk(OC_DTYPE_FLOAT, 3, dims, v);
    int bad = 0;
    for (int largest = 0; largest < 2; largest++)
        for (int kk = 0; kk <= 7; kk++) {
            int64_t kv[1] = {kk};
            oc_ten kt = mk_i64(1, kv);
            oc_attr at[2] = {ut_attr_int("axis", -2), ut_attr_int("largest", largest)};
            oc_ten out[2];
            memset(out, 0, sizeof(out));
            if (call("TopK", 11, at, 2, (const oc_ten *[]){&x, &kt}, 2, out, 2) != OC_OK) {
                bad++;
                oc_ten_release(&kt);
                continue;
            }
            if (out[0].dims[1] != kk || out[1].dims[1] != kk || out[1].dtype != OC_DTYPE_INT64) bad++;
            for (int o = 0; o < 2; o++)
                for (int i = 0; i < 3; i++) {
                    /* selection by hand: repeatedly the best unused, lowest index on ties */
                    bool used[7] = {false};
                    for (int r = 0; r < kk; r++) {
                        int best = -1;
                        for (int j = 0; j < 7; j++) {
                            if (used[j]) continue;
                            float c = v[(o * 7 + j) * 3 + i];
                            if (best < 0) best = j;
                            else {
                                float b = v[(o * 7 + best) * 3 + i];
                                if (largest ? c > b : c < b) best = j;
                            }
                        }
                        used[best] = true;
                        int64_t e = (o * kk + r) * 3 + i;
                        if (((int64_t *)out[1].data)[e] != best) bad++;
                        if (((float *)out[0].data)[e] != v[(o * 7 + best) * 3 + i]) bad++;
                    }
                }
            oc_ten_release(&out[0]);
            oc_ten_release(&out[1]);
            oc_ten_release(&kt);
        }
    CHECK_EQ_INT(bad, 0);

    /* opset 1: k as attribute; opset 10: as input, always largest */
    float v1[5] = {3, 1, 4, 1, 5};
    int64_t d1[1] = {5};
    oc_ten x1 = mk(OC_DTYPE_FLOAT, 1, d1, v1);
    oc_attr ka = ut_attr_int("k", 2);
    oc_ten out[2];
    memset(out, 0, sizeof(out));
    CHECK(call("TopK", 1, &ka, 1, (const oc_ten *[]){&x1}, 1, out, 2) == OC_OK);
    CHECK(((float *)out[0].data)[0] == 5 && ((float *)out[0].data)[1] == 4);
    CHECK(((int64_t *)out[1].data)[0] == 4 && ((int64_t *)out[1].data)[1] == 2);
    CHECK(call("TopK", 1, NULL, 0, (const oc_ten *[]){&x1}, 1, out, 2) == OC_ERR_INVALID);
    int64_t k3[1] = {3};
    oc_ten kt = mk_i64(1, k3);
    CHECK(call("TopK", 10, NULL, 0, (const oc_ten *[]){&x1, &kt}, 2, out, 2) == OC_OK);
    CHECK(((float *)out[0].data)[2] == 3 && ((int64_t *)out[1].data)[2] == 0);
    oc_attr small = ut_attr_int("largest", 0);
    CHECK(call("TopK", 11, &small, 1, (const oc_ten *[]){&x1, &kt}, 2, out, 2) == OC_OK);
    CHECK(((int64_t *)out[1].data)[0] == 1 && ((int64_t *)out[1].data)[1] == 3 && ((int64_t *)out[1].data)[2] == 0);
    /* k beyond the axis */
    int64_t k9[1] = {9};
    oc_ten k9t = mk_i64(1, k9);
    CHECK(call("TopK", 11, NULL, 0, (const oc_ten *[]){&x1, &k9t}, 2, out, 2) == OC_ERR_INVALID);
    /* int64 values beyond double precision keep their order */
    int64_t iv[3] = {((int64_t)1 << 60) + 1, (int64_t)1 << 60, ((int64_t)1 << 60) + 3};
    int64_t d3[1] = {3};
    oc_ten xi = mk(OC_DTYPE_INT64, 1, d3, iv);
    CHECK(call("TopK", 11, NULL, 0, (const oc_ten *[]){&xi, &kt}, 2, out, 2) == OC_OK);
    CHECK(((int64_t *)out[1].data)[0] == 2 && ((int64_t *)out[1].data)[1] == 0 && ((int64_t *)out[1].data)[2] == 1);
    CHECK(((int64_t *)out[0].data)[0] == iv[2]);
    /* an unnamed indices output is not produced */
    const char *names[2] = {"vals", ""};
    oc_ten_release(&out[1]);
    CHECK(call_named("TopK", 11, NULL, 0, (const oc_ten *[]){&x1, &kt}, 2, out, 2, names) == OC_OK);
    CHECK(out[0].numel == 3 && out[1].data == NULL);
    oc_ten_release(&out[0]);
    oc_ten_release(&out[1]);
    oc_ten_release(&x);
    oc_ten_release(&x1);
    oc_ten_release(&kt);
    oc_ten_release(&k9t);
    oc_ten_release(&xi);
}

/* ---- CumSum ---- */

static void cumsum_cases(void)
{
    const int64_t dims[3] = {2, 5, 3};
    float v[30];
    for (int i = 0; i < 30; i++) v[i] = (float)frand();
    oc_ten x = mk(OC_DTYPE_FLOAT, 3, dims, v);
    int bad = 0;
    for (int axis = -3; axis < 3; axis++)
        for (int excl = 0; excl < 2; excl++)
            for (int rev = 0; rev < 2; rev++) {
                int32_t av = axis;
                oc_ten at = mk(OC_DTYPE_INT32, 0, NULL, &av);
                oc_attr attrs[2] = {ut_attr_int("exclusive", excl), ut_attr_int("reverse", rev)};
                oc_ten out[1];
                memset(out, 0, sizeof(out));
                if (call("CumSum", 14, attrs, 2, (const oc_ten *[]){&x, &at}, 2, out, 1) != OC_OK) {
                    bad++;
                    oc_ten_release(&at);
                    continue;
                }
                int a = axis < 0 ? axis + 3 : axis;
                int64_t stride = 1;
                for (int d = a + 1; d < 3; d++) stride *= dims[d];
                for (int64_t i = 0; i < 30; i++) {
                    int64_t pos = i / stride % dims[a];
                    double s = 0;
                    for (int64_t j = 0; j < dims[a]; j++) {
                        bool in = rev ? (excl ? j > pos : j >= pos) : (excl ? j < pos : j <= pos);
                        if (in) s += v[i + (j - pos) * stride];
                    }
                    if (!close_to(((float *)out[0].data)[i], s)) bad++;
                }
                oc_ten_release(&out[0]);
                oc_ten_release(&at);
            }
    CHECK_EQ_INT(bad, 0);
    int64_t iv[4] = {1, 2, 3, 4};
    int64_t d1[1] = {4};
    oc_ten xi = mk(OC_DTYPE_INT64, 1, d1, iv);
    int64_t zero = 0;
    oc_ten at = mk(OC_DTYPE_INT64, 0, NULL, &zero);
    oc_ten out[1];
    memset(out, 0, sizeof(out));
    oc_attr ex = ut_attr_int("exclusive", 1);
    CHECK(call("CumSum", 11, &ex, 1, (const oc_ten *[]){&xi, &at}, 2, out, 1) == OC_OK);
    CHECK(((int64_t *)out[0].data)[0] == 0 && ((int64_t *)out[0].data)[3] == 6);
    uint8_t bv[4] = {0};
    oc_ten xb = mk(OC_DTYPE_UINT8, 1, d1, bv);
    CHECK(call("CumSum", 11, NULL, 0, (const oc_ten *[]){&xb, &at}, 2, out, 1) == OC_ERR_UNSUPPORTED);
    oc_ten_release(&out[0]);
    oc_ten_release(&x);
    oc_ten_release(&xi);
    oc_ten_release(&xb);
    oc_ten_release(&at);
}

/* ---- Hardmax: coerced to 2-D before 13, one axis from 13 ---- */

static void hardmax_versions(void)
{
    const int64_t dims[3] = {2, 2, 3};
    float v[12] = {1, 5, 2, 7, 0, 7, /* */ 3, 3, 1, 0, 2, 3};
    oc_ten x = mk(OC_DTYPE_FLOAT, 3, dims, v);
    oc_ten out[1];
    memset(out, 0, sizeof(out));
    /* opset 11, axis 1: one 1 per row of [2, 6]: first max of each batch */
    CHECK(call("Hardmax", 11, NULL, 0, (const oc_ten *[]){&x}, 1, out, 1) == OC_OK);
    float w11[12] = {0, 0, 0, 1, 0, 0, /* */ 1, 0, 0, 0, 0, 0};
    int bad = 0;
    for (int i = 0; i < 12; i++) bad += ((float *)out[0].data)[i] != w11[i];
    CHECK_EQ_INT(bad, 0);
    /* opset 13, default axis -1: one 1 per row of 3 */
    CHECK(call("Hardmax", 13, NULL, 0, (const oc_ten *[]){&x}, 1, out, 1) == OC_OK);
    float w13[12] = {0, 1, 0, 1, 0, 0, /* */ 1, 0, 0, 0, 0, 1};
    bad = 0;
    for (int i = 0; i < 12; i++) bad += ((float *)out[0].data)[i] != w13[i];
    CHECK_EQ_INT(bad, 0);
    /* opset 13, axis 1 */
    oc_attr a1 = ut_attr_int("axis", 1);
    CHECK(call("Hardmax", 13, &a1, 1, (const oc_ten *[]){&x}, 1, out, 1) == OC_OK);
    float wa1[12] = {0, 1, 0, 1, 0, 1, /* */ 1, 1, 0, 0, 0, 1};
    bad = 0;
    for (int i = 0; i < 12; i++) bad += ((float *)out[0].data)[i] != wa1[i];
    CHECK_EQ_INT(bad, 0);
    oc_ten_release(&out[0]);
    oc_ten_release(&x);
}

int main(void)
{
    oc_ctx_init(&ctx);
    RUN(reduce_all_axes);
    RUN(reduce_ints);
    RUN(reduce_edges);
    RUN(reduce_mean_large);
    RUN(argmax_argmin);
    RUN(topk_cases);
    RUN(cumsum_cases);
    RUN(hardmax_versions);
    UNIT_END("ops_reduce");
}
