/* test_ops_shape.c: the shape / data-movement kernels, called through the op
 * table on nodes built by hand. Results are compared with plain multi-index
 * reference loops written here, or with the worked examples of the ONNX
 * operator specs; version differences (attribute vs input, negative indices,
 * allowzero, num_outputs, wrap padding) are checked on both sides of the
 * version that changed them. */
#include "exec/exec.h"
#include "kernel_test.h"
#include "unit.h"

#include <math.h>
#include <stdint.h>

static oc_ctx ctx;

/* ---- building nodes and tensors ---- */

/* Runs op_type at opset: prepare (when the kernel has one), then run. */
static oc_status op(const char *op_type, int64_t opset, oc_attr *attrs, size_t n_attrs, const oc_ten *const *in,
                    size_t n_in, oc_ten *out, size_t n_out)
{
    oc_node n;
    memset(&n, 0, sizeof(n));
    n.name = "t";
    n.op_type = op_type;
    n.attrs = attrs;
    n.n_attrs = n_attrs;
    n.n_inputs = n_in;
    n.n_outputs = n_out;
    for (size_t i = 0; i < n_out; i++) memset(&out[i], 0, sizeof(out[i]));
    oc_ctx_init(&ctx);
    const oc_op_def *d = oc_op_find("", op_type, opset);
    if (!d) return OC_ERR_UNSUPPORTED;
    oc_kctx k = {.ctx = &ctx, .node = &n, .opset = opset, .ex = NULL, .threads = 1};
    oc_status st = d->prepare ? d->prepare(&k) : OC_OK;
    if (st == OC_OK) st = d->run(&k, in, n_in, out, n_out);
    if (st != OC_OK) {
        for (size_t i = 0; i < n_out; i++) oc_ten_release(&out[i]);
    }
    return st;
}

static oc_ten ten(int dtype, int nd, const int64_t *dims, const void *data)
{
    oc_ten t;
    oc_status st = oc_ten_new(&ctx, &t, dtype, nd, dims);
    if (st != OC_OK) {
        printf("  cannot allocate a test tensor: %s\n", ctx.msg);
        exit(2);
    }
    if (data && t.nbytes) memcpy(t.data, data, t.nbytes);
    return t;
}

static oc_ten i64v(size_t n, const int64_t *v)
{
    int64_t d = (int64_t)n;
    return ten(OC_DTYPE_INT64, 1, &d, v);
}

static oc_ten i64s(int64_t v)
{
    return ten(OC_DTYPE_INT64, 0, NULL, &v);
}

/* A float tensor holding 0, 1, 2, ... (distinct values locate every element). */
static oc_ten iota_f(int nd, const int64_t *dims)
{
    oc_ten t = ten(OC_DTYPE_FLOAT, nd, dims, NULL);
    for (int64_t i = 0; i < t.numel; i++) ((float *)t.data)[i] = (float)i;
    return t;
}

static bool same_dims(const oc_ten *t, int nd, const int64_t *dims)
{
    if (t->ndim != nd) return false;
    for (int i = 0; i < nd; i++)
        if (t->dims[i] != dims[i]) return false;
    return true;
}

static bool eq_f(const oc_ten *t, const float *want, int64_t n)
{
    if (t->dtype != OC_DTYPE_FLOAT || t->numel != n) return false;
    for (int64_t i = 0; i < n; i++)
        if (((const float *)t->data)[i] != want[i]) return false;
    return true;
}

static bool eq_i64(const oc_ten *t, const int64_t *want, int64_t n)
{
    if (t->dtype != OC_DTYPE_INT64 || t->numel != n) return false;
    for (int64_t i = 0; i < n; i++)
        if (((const int64_t *)t->data)[i] != want[i]) return false;
    return true;
}

static void unravel(int64_t i, int nd, const int64_t *dims, int64_t *idx)
{
    for (int a = nd - 1; a >= 0; a--) {
        idx[a] = dims[a] ? i % dims[a] : 0;
        i = dims[a] ? i / dims[a] : 0;
    }
}

static int64_t ravel(int nd, const int64_t *dims, const int64_t *idx)
{
    int64_t off = 0;
    for (int a = 0; a < nd; a++) off = off * dims[a] + idx[a];
    return off;
}

static void release(oc_ten *t, size_t n)
{
    for (size_t i = 0; i < n; i++) oc_ten_release(&t[i]);
}

/* ---- Transpose ---- */

static void transpose_vs_reference(void)
{
    const int64_t dims[4] = {2, 3, 4, 5};
    oc_ten x = iota_f(4, dims), y;
    int64_t perm[4] = {2, 0, 3, 1};
    oc_attr at[1] = {ut_attr_ints("perm", perm, 4)};
    const oc_ten *in[1] = {&x};
    CHECK(op("Transpose", 13, at, 1, in, 1, &y, 1) == OC_OK);
    const int64_t od[4] = {4, 2, 5, 3};
    CHECK(same_dims(&y, 4, od));
    bool ok = true;
    for (int64_t i = 0; i < y.numel; i++) {
        int64_t oi[4], si[4];
        unravel(i, 4, od, oi);
        for (int a = 0; a < 4; a++) si[perm[a]] = oi[a];
        ok = ok && ((float *)y.data)[i] == ((float *)x.data)[ravel(4, dims, si)];
    }
    CHECK(ok);
    oc_ten_release(&y);
    /* default perm reverses; other element sizes */
    const int64_t d3[3] = {3, 1, 4};
    oc_ten b = ten(OC_DTYPE_UINT8, 3, d3, NULL), h = ten(OC_DTYPE_FLOAT16, 3, d3, NULL);
    for (int i = 0; i < 12; i++) {
        ((uint8_t *)b.data)[i] = (uint8_t)(i * 7);
        ((uint16_t *)h.data)[i] = (uint16_t)(1000 + i);
    }
    in[0] = &b;
    CHECK(op("Transpose", 1, NULL, 0, in, 1, &y, 1) == OC_OK);
    const int64_t r3[3] = {4, 1, 3};
    CHECK(same_dims(&y, 3, r3) && y.dtype == OC_DTYPE_UINT8);
    CHECK(((uint8_t *)y.data)[1] == 4 * 7 && ((uint8_t *)y.data)[3] == 7);
    oc_ten_release(&y);
    in[0] = &h;
    CHECK(op("Transpose", 13, NULL, 0, in, 1, &y, 1) == OC_OK);
    CHECK(((uint16_t *)y.data)[2] == 1008 && ((uint16_t *)y.data)[4] == 1005);
    oc_ten_release(&y);
    /* a bad perm is refused before running */
    int64_t bad[3] = {0, 0, 1};
    at[0] = ut_attr_ints("perm", bad, 3);
    in[0] = &b;
    CHECK(op("Transpose", 13, at, 1, in, 1, &y, 1) == OC_ERR_INVALID);
    oc_ten_release(&x);
    oc_ten_release(&b);
    oc_ten_release(&h);
}

/* ---- Slice ---- */

/* Python-style slicing of one axis, step by step. */
static int64_t ref_slice_axis(int64_t dim, int64_t start, int64_t end, int64_t step, int64_t *idx)
{
    if (start < 0) start += dim;
    if (end < 0) end += dim;
    int64_t n = 0;
    if (step > 0) {
        if (start < 0) start = 0;
        if (end > dim) end = dim;
        for (int64_t i = start; i < end; i += step) idx[n++] = i;
    } else {
        if (start > dim - 1) start = dim - 1;
        if (end < -1) end = -1;
        for (int64_t i = start; i > end && i >= 0; i += step) idx[n++] = i;
    }
    return n;
}

static void slice_vs_reference(void)
{
    const int64_t dims[3] = {5, 6, 7};
    oc_ten x = iota_f(3, dims), y;
    struct {
        int64_t starts[3], ends[3], axes[3], steps[3];
        int n;
    } cases[] = {
        {{1, 0, 2}, {3, 6, 7}, {0, 1, 2}, {1, 2, 3}, 3},
        {{-1, 20, 0}, {INT64_MIN, -100, INT64_MAX}, {0, 1, 2}, {-2, -1, 1}, 3},
        {{-2, 10}, {-1, 3}, {-1, 1}, {1, -2}, 2},
        {{100}, {200}, {2}, {1}, 1},          /* start past the end: empty */
        {{3}, {3}, {0}, {-1}, 1},             /* empty backwards */
        {{-100}, {100}, {1}, {4}, 1},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        size_t n = (size_t)cases[c].n;
        oc_ten s = i64v(n, cases[c].starts), e = i64v(n, cases[c].ends), a = i64v(n, cases[c].axes),
               p = i64v(n, cases[c].steps);
        const oc_ten *in[5] = {&x, &s, &e, &a, &p};
        CHECK(op("Slice", 13, NULL, 0, in, 5, &y, 1) == OC_OK);
        int64_t idx[3][16], cnt[3];
        for (int d = 0; d < 3; d++) {
            cnt[d] = dims[d];
            for (int64_t i = 0; i < dims[d]; i++) idx[d][i] = i;
        }
        for (size_t i = 0; i < n; i++) {
            int64_t ax = cases[c].axes[i] < 0 ? cases[c].axes[i] + 3 : cases[c].axes[i];
            cnt[ax] = ref_slice_axis(dims[ax], cases[c].starts[i], cases[c].ends[i], cases[c].steps[i], idx[ax]);
        }
        CHECK(same_dims(&y, 3, cnt));
        bool ok = true;
        for (int64_t i = 0; i < y.numel; i++) {
            int64_t oi[3], si[3];
            unravel(i, 3, cnt, oi);
            for (int d = 0; d < 3; d++) si[d] = idx[d][oi[d]];
            ok = ok && ((float *)y.data)[i] == ((float *)x.data)[ravel(3, dims, si)];
        }
        if (!ok) printf("  slice case %zu differs\n", c);
        CHECK(ok);
        oc_ten_release(&y);
        oc_ten_release(&s);
        oc_ten_release(&e);
        oc_ten_release(&a);
        oc_ten_release(&p);
    }
    oc_ten_release(&x);
}

static void slice_opsets(void)
{
    /* the spec's example 2 through the opset-1 attributes and opset-10 inputs */
    const int64_t dims[2] = {2, 4};
    const float data[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    oc_ten x = ten(OC_DTYPE_FLOAT, 2, dims, data), y;
    int64_t starts[2] = {0, 1}, ends[2] = {-1, 1000};
    oc_attr at[2] = {ut_attr_ints("starts", starts, 2), ut_attr_ints("ends", ends, 2)};
    const oc_ten *in1[1] = {&x};
    CHECK(op("Slice", 1, at, 2, in1, 1, &y, 1) == OC_OK);
    const float want[3] = {2, 3, 4};
    const int64_t wd[2] = {1, 3};
    CHECK(same_dims(&y, 2, wd) && eq_f(&y, want, 3));
    oc_ten_release(&y);
    oc_ten s = i64v(2, starts), e = i64v(2, ends);
    const oc_ten *in[3] = {&x, &s, &e};
    CHECK(op("Slice", 10, NULL, 0, in, 3, &y, 1) == OC_OK);
    CHECK(same_dims(&y, 2, wd) && eq_f(&y, want, 3));
    oc_ten_release(&y);
    /* opset 1 has no inputs for starts: refused before running */
    CHECK(op("Slice", 9, NULL, 0, in, 3, &y, 1) == OC_ERR_INVALID);
    /* int32 starts/ends work the same */
    const int32_t s32[1] = {1}, e32[1] = {3};
    const int64_t one = 1;
    oc_ten s2 = ten(OC_DTYPE_INT32, 1, &one, s32), e2 = ten(OC_DTYPE_INT32, 1, &one, e32);
    const oc_ten *in2[3] = {&x, &s2, &e2};
    CHECK(op("Slice", 13, NULL, 0, in2, 3, &y, 1) == OC_OK);
    const int64_t wd2[2] = {1, 4};
    CHECK(same_dims(&y, 2, wd2) && ((float *)y.data)[0] == 5);
    oc_ten_release(&y);
    oc_ten_release(&x);
    oc_ten_release(&s);
    oc_ten_release(&e);
    oc_ten_release(&s2);
    oc_ten_release(&e2);
}

/* ---- Pad ---- */

static int64_t ref_pad_src(const char *mode, int64_t j, int64_t before, int64_t d)
{
    int64_t s = j - before;
    if (s >= 0 && s < d) return s;
    if (!strcmp(mode, "constant")) return -1;
    if (!strcmp(mode, "edge")) return s < 0 ? 0 : d - 1;
    if (!strcmp(mode, "wrap")) {
        while (s < 0) s += d;
        return s % d;
    }
    if (d == 1) return 0;
    while (s < 0 || s >= d) { /* mirror until inside */
        if (s < 0) s = -s;
        if (s >= d) s = 2 * (d - 1) - s;
    }
    return s;
}

static void pad_vs_reference(void)
{
    const int64_t dims[3] = {2, 3, 4};
    oc_ten x = iota_f(3, dims), y;
    const char *modes[4] = {"constant", "reflect", "edge", "wrap"};
    int64_t padsets[3][6] = {{0, 2, 5, 1, 3, 1}, {1, -1, 1, 0, 4, -2}, {0, 0, 0, 0, 0, 0}};
    for (int m = 0; m < 4; m++) {
        for (int p = 0; p < 3; p++) {
            oc_ten pads = i64v(6, padsets[p]);
            float cv = 9.5f;
            oc_ten cval = ten(OC_DTYPE_FLOAT, 0, NULL, &cv);
            const oc_ten *in[3] = {&x, &pads, &cval};
            oc_attr at[1] = {ut_attr_str("mode", modes[m])};
            CHECK(op("Pad", 19, at, 1, in, 3, &y, 1) == OC_OK);
            int64_t od[3];
            for (int d = 0; d < 3; d++) od[d] = dims[d] + padsets[p][d] + padsets[p][d + 3];
            CHECK(same_dims(&y, 3, od));
            bool ok = true;
            for (int64_t i = 0; i < y.numel; i++) {
                int64_t oi[3], si[3];
                bool c = false;
                unravel(i, 3, od, oi);
                for (int d = 0; d < 3; d++) {
                    si[d] = ref_pad_src(modes[m], oi[d], padsets[p][d], dims[d]);
                    c = c || si[d] < 0;
                }
                float want = c ? cv : ((float *)x.data)[ravel(3, dims, si)];
                ok = ok && ((float *)y.data)[i] == want;
            }
            if (!ok) printf("  pad mode %s set %d differs\n", modes[m], p);
            CHECK(ok);
            oc_ten_release(&y);
            oc_ten_release(&pads);
            oc_ten_release(&cval);
        }
    }
    oc_ten_release(&x);
}

static void pad_opsets(void)
{
    /* the spec's reflect example, as opset 2 (attribute) and 11 (input) */
    const int64_t dims[2] = {3, 2};
    const float data[6] = {1.0f, 1.2f, 2.3f, 3.4f, 4.5f, 5.7f};
    const float want[12] = {1.0f, 1.2f, 1.0f, 1.2f, 2.3f, 3.4f, 2.3f, 3.4f, 4.5f, 5.7f, 4.5f, 5.7f};
    const int64_t wd[2] = {3, 4};
    oc_ten x = ten(OC_DTYPE_FLOAT, 2, dims, data), y;
    int64_t pads[4] = {0, 2, 0, 0};
    oc_attr at[3] = {ut_attr_str("mode", "reflect"), ut_attr_ints("pads", pads, 4), ut_attr_float("value", 0)};
    const oc_ten *in1[1] = {&x};
    CHECK(op("Pad", 2, at, 2, in1, 1, &y, 1) == OC_OK);
    CHECK(same_dims(&y, 2, wd) && eq_f(&y, want, 12));
    oc_ten_release(&y);
    oc_ten p = i64v(4, pads);
    const oc_ten *in[2] = {&x, &p};
    CHECK(op("Pad", 11, at, 1, in, 2, &y, 1) == OC_OK);
    CHECK(same_dims(&y, 2, wd) && eq_f(&y, want, 12));
    oc_ten_release(&y);
    /* opset 1 names it paddings; value converts to the data's type */
    const int64_t d1 = 2;
    const int32_t iv[2] = {5, 6};
    oc_ten xi = ten(OC_DTYPE_INT32, 1, &d1, iv);
    int64_t pd[2] = {1, 2};
    oc_attr at1[2] = {ut_attr_ints("paddings", pd, 2), ut_attr_float("value", -3)};
    const oc_ten *ini[1] = {&xi};
    CHECK(op("Pad", 1, at1, 2, ini, 1, &y, 1) == OC_OK);
    CHECK(y.numel == 5 && ((int32_t *)y.data)[0] == -3 && ((int32_t *)y.data)[1] == 5 &&
          ((int32_t *)y.data)[4] == -3);
    oc_ten_release(&y);
    /* opset 18: axes select which axes pads apply to (negative allowed) */
    int64_t p18[2] = {1, 1}, ax18[1] = {-2};
    oc_ten tp = i64v(2, p18), ta = i64v(1, ax18);
    const oc_ten *in18[4] = {&x, &tp, NULL, &ta};
    CHECK(op("Pad", 18, NULL, 0, in18, 4, &y, 1) == OC_OK);
    const int64_t wd18[2] = {5, 2};
    CHECK(same_dims(&y, 2, wd18) && ((float *)y.data)[0] == 0 && ((float *)y.data)[2] == 1.0f);
    oc_ten_release(&y);
    /* wrap exists from opset 19; unknown modes are refused at prepare */
    oc_attr wrap[1] = {ut_attr_str("mode", "wrap")};
    CHECK(op("Pad", 18, wrap, 1, in, 2, &y, 1) == OC_ERR_UNSUPPORTED);
    oc_attr foo[1] = {ut_attr_str("mode", "symmetric")};
    CHECK(op("Pad", 19, foo, 1, in, 2, &y, 1) == OC_ERR_UNSUPPORTED);
    /* removing more than an axis holds */
    int64_t neg[4] = {-2, 0, -2, 0};
    oc_ten pn = i64v(4, neg);
    const oc_ten *inn[2] = {&x, &pn};
    CHECK(op("Pad", 13, NULL, 0, inn, 2, &y, 1) == OC_ERR_INVALID);
    oc_ten_release(&x);
    oc_ten_release(&p);
    oc_ten_release(&xi);
    oc_ten_release(&tp);
    oc_ten_release(&ta);
    oc_ten_release(&pn);
}

/* ---- Gather family ---- */

static void gather(void)
{
    const int64_t dims[3] = {2, 4, 3};
    oc_ten x = iota_f(3, dims), y;
    const int64_t id[2] = {2, 2};
    const int64_t iv[4] = {3, -1, 0, 1};
    oc_ten ind = ten(OC_DTYPE_INT64, 2, id, iv);
    oc_attr at[1] = {ut_attr_int("axis", 1)};
    const oc_ten *in[2] = {&x, &ind};
    CHECK(op("Gather", 13, at, 1, in, 2, &y, 1) == OC_OK);
    const int64_t od[4] = {2, 2, 2, 3};
    CHECK(same_dims(&y, 4, od));
    bool ok = true;
    for (int64_t i = 0; i < y.numel; i++) {
        int64_t oi[4];
        unravel(i, 4, od, oi);
        int64_t k = iv[oi[1] * 2 + oi[2]];
        if (k < 0) k += 4;
        const int64_t si[3] = {oi[0], k, oi[3]};
        ok = ok && ((float *)y.data)[i] == ((float *)x.data)[ravel(3, dims, si)];
    }
    CHECK(ok);
    oc_ten_release(&y);
    /* scalar int32 index on axis 0 drops the axis */
    const int32_t one = 1;
    oc_ten s = ten(OC_DTYPE_INT32, 0, NULL, &one);
    in[1] = &s;
    CHECK(op("Gather", 11, NULL, 0, in, 2, &y, 1) == OC_OK);
    const int64_t sd[2] = {4, 3};
    CHECK(same_dims(&y, 2, sd) && ((float *)y.data)[0] == 12 && ((float *)y.data)[11] == 23);
    oc_ten_release(&y);
    /* out of range */
    const int64_t big = 4;
    oc_ten b = ten(OC_DTYPE_INT64, 0, NULL, &big);
    in[1] = &b;
    CHECK(op("Gather", 13, at, 1, in, 2, &y, 1) == OC_ERR_INVALID);
    oc_ten_release(&x);
    oc_ten_release(&ind);
    oc_ten_release(&s);
    oc_ten_release(&b);
}

static void gather_elements(void)
{
    /* the spec's two examples */
    const int64_t d2[2] = {2, 2};
    const float x1[4] = {1, 2, 3, 4};
    const int64_t i1[4] = {0, 0, 1, 0};
    oc_ten x = ten(OC_DTYPE_FLOAT, 2, d2, x1), ind = ten(OC_DTYPE_INT64, 2, d2, i1), y;
    oc_attr at[1] = {ut_attr_int("axis", 1)};
    const oc_ten *in[2] = {&x, &ind};
    CHECK(op("GatherElements", 13, at, 1, in, 2, &y, 1) == OC_OK);
    const float w1[4] = {1, 1, 4, 3};
    CHECK(same_dims(&y, 2, d2) && eq_f(&y, w1, 4));
    oc_ten_release(&y);
    oc_ten_release(&x);
    oc_ten_release(&ind);
    const int64_t d3[2] = {3, 3}, di[2] = {2, 3};
    const float x2[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    const int32_t i2[6] = {1, 2, 0, 2, 0, -3};
    x = ten(OC_DTYPE_FLOAT, 2, d3, x2);
    ind = ten(OC_DTYPE_INT32, 2, di, i2);
    at[0] = ut_attr_int("axis", 0);
    CHECK(op("GatherElements", 11, at, 1, in, 2, &y, 1) == OC_OK);
    const float w2[6] = {4, 8, 3, 7, 2, 3};
    CHECK(same_dims(&y, 2, di) && eq_f(&y, w2, 6));
    oc_ten_release(&y);
    oc_ten_release(&x);
    oc_ten_release(&ind);
}

static void gather_nd(void)
{
    const int64_t d2[2] = {2, 2};
    const int64_t x1[4] = {0, 1, 2, 3};
    oc_ten x = ten(OC_DTYPE_INT64, 2, d2, x1), y;
    /* example 1: whole tuples */
    const int64_t i1[4] = {0, 0, 1, 1};
    oc_ten ind = ten(OC_DTYPE_INT64, 2, d2, i1);
    const oc_ten *in[2] = {&x, &ind};
    CHECK(op("GatherND", 11, NULL, 0, in, 2, &y, 1) == OC_OK);
    const int64_t w1[2] = {0, 3};
    CHECK(y.ndim == 1 && eq_i64(&y, w1, 2));
    oc_ten_release(&y);
    oc_ten_release(&ind);
    /* example 2: slices */
    const int64_t di[2] = {2, 1}, i2[2] = {1, 0};
    ind = ten(OC_DTYPE_INT64, 2, di, i2);
    CHECK(op("GatherND", 13, NULL, 0, in, 2, &y, 1) == OC_OK);
    const int64_t w2[4] = {2, 3, 0, 1};
    CHECK(same_dims(&y, 2, d2) && eq_i64(&y, w2, 4));
    oc_ten_release(&y);
    oc_ten_release(&x);
    /* example 5: batch_dims = 1 */
    const int64_t d3[3] = {2, 2, 2};
    const int64_t x3[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    x = ten(OC_DTYPE_INT64, 3, d3, x3);
    oc_attr at[1] = {ut_attr_int("batch_dims", 1)};
    CHECK(op("GatherND", 12, at, 1, in, 2, &y, 1) == OC_OK);
    const int64_t w5[4] = {2, 3, 4, 5};
    CHECK(same_dims(&y, 2, d2) && eq_i64(&y, w5, 4));
    oc_ten_release(&y);
    oc_ten_release(&x);
    oc_ten_release(&ind);
}

static void scatter_nd(void)
{
    const int64_t d8 = 8, di[2] = {4, 1}, d4 = 4;
    const float xv[8] = {1, 2, 3, 4, 5, 6, 7, 8}, uv[4] = {9, 10, 11, 12};
    const int64_t iv[4] = {4, 3, 1, 7};
    oc_ten x = ten(OC_DTYPE_FLOAT, 1, &d8, xv), ind = ten(OC_DTYPE_INT64, 2, di, iv),
           upd = ten(OC_DTYPE_FLOAT, 1, &d4, uv), y;
    const oc_ten *in[3] = {&x, &ind, &upd};
    CHECK(op("ScatterND", 11, NULL, 0, in, 3, &y, 1) == OC_OK);
    const float w[8] = {1, 11, 3, 10, 9, 6, 7, 12};
    CHECK(eq_f(&y, w, 8));
    oc_ten_release(&y);
    CHECK(((float *)x.data)[1] == 2); /* input untouched */
    /* add accumulates repeated indices */
    const int64_t rep[4] = {0, 0, 2, -1};
    memcpy(ind.data, rep, sizeof(rep));
    oc_attr at[1] = {ut_attr_str("reduction", "add")};
    CHECK(op("ScatterND", 16, at, 1, in, 3, &y, 1) == OC_OK);
    const float wa[8] = {1 + 9 + 10, 2, 3 + 11, 4, 5, 6, 7, 8 + 12};
    CHECK(eq_f(&y, wa, 8));
    oc_ten_release(&y);
    /* max is opset 18; refused before running at 16 */
    at[0] = ut_attr_str("reduction", "max");
    CHECK(op("ScatterND", 16, at, 1, in, 3, &y, 1) == OC_ERR_UNSUPPORTED);
    CHECK(op("ScatterND", 18, at, 1, in, 3, &y, 1) == OC_OK);
    const float wm[8] = {10, 2, 11, 4, 5, 6, 7, 12};
    CHECK(eq_f(&y, wm, 8));
    oc_ten_release(&y);
    oc_ten_release(&x);
    oc_ten_release(&ind);
    oc_ten_release(&upd);
}

/* ---- Expand, Tile ---- */

static void expand_tile(void)
{
    const int64_t dims[2] = {3, 1};
    oc_ten x = iota_f(2, dims), y;
    const int64_t sv[3] = {2, 1, 6};
    oc_ten shp = i64v(3, sv);
    const oc_ten *in[2] = {&x, &shp};
    CHECK(op("Expand", 13, NULL, 0, in, 2, &y, 1) == OC_OK);
    const int64_t od[3] = {2, 3, 6};
    CHECK(same_dims(&y, 3, od));
    bool ok = true;
    for (int64_t i = 0; i < y.numel; i++) {
        int64_t oi[3];
        unravel(i, 3, od, oi);
        ok = ok && ((float *)y.data)[i] == (float)oi[1];
    }
    CHECK(ok);
    oc_ten_release(&y);
    /* incompatible */
    const int64_t bad[2] = {2, 4};
    oc_ten b = i64v(2, bad);
    in[1] = &b;
    CHECK(op("Expand", 8, NULL, 0, in, 2, &y, 1) == OC_ERR_INVALID);
    oc_ten_release(&b);
    oc_ten_release(&shp);
    oc_ten_release(&x);
    /* Tile of an int64 [2,3] by [2,3] */
    const int64_t td[2] = {2, 3};
    const int64_t tv[6] = {1, 2, 3, 4, 5, 6};
    oc_ten t = ten(OC_DTYPE_INT64, 2, td, tv);
    const int64_t rv[2] = {2, 3};
    oc_ten r = i64v(2, rv);
    const oc_ten *tin[2] = {&t, &r};
    CHECK(op("Tile", 6, NULL, 0, tin, 2, &y, 1) == OC_OK);
    const int64_t tod[2] = {4, 9};
    CHECK(same_dims(&y, 2, tod));
    ok = true;
    for (int64_t i = 0; i < 4; i++)
        for (int64_t j = 0; j < 9; j++) ok = ok && ((int64_t *)y.data)[i * 9 + j] == tv[(i % 2) * 3 + j % 3];
    CHECK(ok);
    oc_ten_release(&y);
    oc_ten_release(&t);
    oc_ten_release(&r);
}

/* ---- Concat, Split ---- */

static void concat(void)
{
    const int64_t d1[2] = {2, 1}, d2[2] = {2, 3};
    const float a[2] = {1, 2}, b[6] = {3, 4, 5, 6, 7, 8};
    oc_ten x1 = ten(OC_DTYPE_FLOAT, 2, d1, a), x2 = ten(OC_DTYPE_FLOAT, 2, d2, b), y;
    oc_attr at[1] = {ut_attr_int("axis", -1)};
    const oc_ten *in[3] = {&x1, &x2, &x1};
    CHECK(op("Concat", 13, at, 1, in, 3, &y, 1) == OC_OK);
    const int64_t od[2] = {2, 5};
    const float w[10] = {1, 3, 4, 5, 1, 2, 6, 7, 8, 2};
    CHECK(same_dims(&y, 2, od) && eq_f(&y, w, 10));
    oc_ten_release(&y);
    /* axis required from opset 4; defaults to 1 before */
    CHECK(op("Concat", 4, NULL, 0, in, 3, &y, 1) == OC_ERR_INVALID);
    CHECK(op("Concat", 1, NULL, 0, in, 3, &y, 1) == OC_OK && y.dims[1] == 5);
    oc_ten_release(&y);
    /* mismatched dims */
    at[0] = ut_attr_int("axis", 0);
    CHECK(op("Concat", 13, at, 1, in, 2, &y, 1) == OC_ERR_INVALID);
    oc_ten_release(&x1);
    oc_ten_release(&x2);
}

static void split(void)
{
    const int64_t dims[2] = {2, 6};
    oc_ten x = iota_f(2, dims), y[3];
    int64_t sv[2] = {2, 4};
    oc_attr at[2] = {ut_attr_int("axis", 1), ut_attr_ints("split", sv, 2)};
    const oc_ten *in1[1] = {&x};
    /* attribute (opset 2..12) */
    CHECK(op("Split", 11, at, 2, in1, 1, y, 2) == OC_OK);
    const float w0[4] = {0, 1, 6, 7}, w1[8] = {2, 3, 4, 5, 8, 9, 10, 11};
    CHECK(y[0].dims[1] == 2 && eq_f(&y[0], w0, 4) && y[1].dims[1] == 4 && eq_f(&y[1], w1, 8));
    release(y, 2);
    /* input (opset 13) */
    oc_ten s = i64v(2, sv);
    const oc_ten *in2[2] = {&x, &s};
    CHECK(op("Split", 13, at, 1, in2, 2, y, 2) == OC_OK);
    CHECK(eq_f(&y[0], w0, 4) && eq_f(&y[1], w1, 8));
    release(y, 2);
    /* equal parts */
    CHECK(op("Split", 13, at, 1, in1, 1, y, 3) == OC_OK);
    const float e2[4] = {4, 5, 10, 11};
    CHECK(y[2].dims[1] == 2 && eq_f(&y[2], e2, 4));
    release(y, 3);
    /* uneven: an error before 18, num_outputs makes the last chunk smaller */
    const int64_t d7 = 7;
    oc_ten x7 = iota_f(1, &d7);
    const oc_ten *in7[1] = {&x7};
    CHECK(op("Split", 13, NULL, 0, in7, 1, y, 3) == OC_ERR_INVALID);
    oc_attr no[1] = {ut_attr_int("num_outputs", 3)};
    CHECK(op("Split", 18, no, 1, in7, 1, y, 3) == OC_OK);
    CHECK(y[0].numel == 3 && y[1].numel == 3 && y[2].numel == 1 && ((float *)y[2].data)[0] == 6);
    release(y, 3);
    /* num_outputs must match the node's outputs */
    CHECK(op("Split", 18, no, 1, in7, 1, y, 2) == OC_ERR_INVALID);
    oc_ten_release(&x);
    oc_ten_release(&x7);
    oc_ten_release(&s);
}

/* ---- reshapes ---- */

static void reshape(void)
{
    const int64_t dims[3] = {2, 3, 4};
    oc_ten x = iota_f(3, dims), y;
    const int64_t sv[3] = {0, -1, 2};
    oc_ten s = i64v(3, sv);
    const oc_ten *in[2] = {&x, &s};
    CHECK(op("Reshape", 13, NULL, 0, in, 2, &y, 1) == OC_OK);
    const int64_t od[3] = {2, 6, 2};
    CHECK(same_dims(&y, 3, od) && ((float *)y.data)[23] == 23);
    oc_ten_release(&y);
    /* opset 1: the shape is an attribute */
    int64_t sa[2] = {-1, 8};
    oc_attr at[1] = {ut_attr_ints("shape", sa, 2)};
    const oc_ten *in1[1] = {&x};
    CHECK(op("Reshape", 1, at, 1, in1, 1, &y, 1) == OC_OK);
    const int64_t od1[2] = {3, 8};
    CHECK(same_dims(&y, 2, od1));
    oc_ten_release(&y);
    /* allowzero (opset 14): 0 is a real zero, else it copies the input dim */
    const int64_t ed[2] = {0, 3};
    oc_ten e = ten(OC_DTYPE_FLOAT, 2, ed, NULL);
    const int64_t zv[2] = {3, 0};
    oc_ten z = i64v(2, zv);
    const oc_ten *ine[2] = {&e, &z};
    oc_attr az[1] = {ut_attr_int("allowzero", 1)};
    CHECK(op("Reshape", 14, az, 1, ine, 2, &y, 1) == OC_OK);
    const int64_t w30[2] = {3, 0};
    CHECK(same_dims(&y, 2, w30));
    oc_ten_release(&y);
    CHECK(op("Reshape", 13, az, 1, ine, 2, &y, 1) == OC_ERR_INVALID); /* [3, 3] from 0 elements */
    /* two -1 */
    const int64_t mm[2] = {-1, -1};
    oc_ten m = i64v(2, mm);
    in[1] = &m;
    CHECK(op("Reshape", 14, NULL, 0, in, 2, &y, 1) == OC_ERR_INVALID);
    oc_ten_release(&x);
    oc_ten_release(&s);
    oc_ten_release(&e);
    oc_ten_release(&z);
    oc_ten_release(&m);
}

static void flatten(void)
{
    const int64_t dims[4] = {2, 3, 4, 5};
    oc_ten x = iota_f(4, dims), y;
    const oc_ten *in[1] = {&x};
    int64_t axes[4] = {0, 2, -1, 4}, want[4][2] = {{1, 120}, {6, 20}, {24, 5}, {120, 1}};
    for (int i = 0; i < 4; i++) {
        oc_attr at[1] = {ut_attr_int("axis", axes[i])};
        CHECK(op("Flatten", 13, at, 1, in, 1, &y, 1) == OC_OK);
        CHECK(same_dims(&y, 2, want[i]) && ((float *)y.data)[119] == 119);
        oc_ten_release(&y);
    }
    CHECK(op("Flatten", 13, NULL, 0, in, 1, &y, 1) == OC_OK && y.dims[0] == 2 && y.dims[1] == 60);
    oc_ten_release(&y);
    oc_ten_release(&x);
}

static void squeeze_unsqueeze(void)
{
    const int64_t dims[4] = {1, 3, 1, 2};
    oc_ten x = iota_f(4, dims), y;
    const oc_ten *in1[1] = {&x};
    /* no axes: every 1 goes */
    CHECK(op("Squeeze", 13, NULL, 0, in1, 1, &y, 1) == OC_OK);
    const int64_t w0[2] = {3, 2};
    CHECK(same_dims(&y, 2, w0));
    oc_ten_release(&y);
    /* attribute before 13, input since; negative axes */
    int64_t ax[1] = {-2};
    oc_attr at[1] = {ut_attr_ints("axes", ax, 1)};
    CHECK(op("Squeeze", 11, at, 1, in1, 1, &y, 1) == OC_OK);
    const int64_t w1[3] = {1, 3, 2};
    CHECK(same_dims(&y, 3, w1));
    oc_ten_release(&y);
    oc_ten a = i64v(1, ax);
    const oc_ten *in2[2] = {&x, &a};
    CHECK(op("Squeeze", 13, NULL, 0, in2, 2, &y, 1) == OC_OK);
    CHECK(same_dims(&y, 3, w1));
    oc_ten_release(&y);
    /* at 13 the attribute is not read */
    CHECK(op("Squeeze", 13, at, 1, in1, 1, &y, 1) == OC_OK && y.ndim == 2);
    oc_ten_release(&y);
    /* squeezing a dim that is not 1 */
    int64_t ax1[1] = {1};
    at[0] = ut_attr_ints("axes", ax1, 1);
    CHECK(op("Squeeze", 1, at, 1, in1, 1, &y, 1) == OC_ERR_INVALID);
    /* Unsqueeze: axes against the output rank, unsorted */
    int64_t ua[2] = {-1, 0};
    oc_ten u = i64v(2, ua);
    const oc_ten *in3[2] = {&x, &u};
    CHECK(op("Unsqueeze", 13, NULL, 0, in3, 2, &y, 1) == OC_OK);
    const int64_t w2[6] = {1, 1, 3, 1, 2, 1};
    CHECK(same_dims(&y, 6, w2) && ((float *)y.data)[5] == 5);
    oc_ten_release(&y);
    at[0] = ut_attr_ints("axes", ua, 2);
    CHECK(op("Unsqueeze", 11, at, 1, in1, 1, &y, 1) == OC_OK);
    CHECK(same_dims(&y, 6, w2));
    oc_ten_release(&y);
    /* opset < 13 needs the attribute */
    CHECK(op("Unsqueeze", 11, NULL, 0, in3, 2, &y, 1) == OC_ERR_INVALID);
    /* repeated axis */
    int64_t rep[2] = {1, -5};
    oc_ten r = i64v(2, rep);
    in3[1] = &r;
    CHECK(op("Unsqueeze", 13, NULL, 0, in3, 2, &y, 1) == OC_ERR_INVALID);
    oc_ten_release(&x);
    oc_ten_release(&a);
    oc_ten_release(&u);
    oc_ten_release(&r);
}

/* ---- Shape, Size, constants, Range ---- */

static void shape_size(void)
{
    const int64_t dims[3] = {2, 3, 4};
    oc_ten x = ten(OC_DTYPE_UINT8, 3, dims, NULL), y;
    const oc_ten *in[1] = {&x};
    CHECK(op("Shape", 1, NULL, 0, in, 1, &y, 1) == OC_OK);
    CHECK(y.ndim == 1 && eq_i64(&y, dims, 3));
    oc_ten_release(&y);
    oc_attr at[2] = {ut_attr_int("start", -2), ut_attr_int("end", 100)};
    CHECK(op("Shape", 15, at, 2, in, 1, &y, 1) == OC_OK);
    CHECK(eq_i64(&y, dims + 1, 2));
    oc_ten_release(&y);
    /* before 15 start/end do not exist */
    CHECK(op("Shape", 13, at, 2, in, 1, &y, 1) == OC_OK && y.numel == 3);
    oc_ten_release(&y);
    at[0] = ut_attr_int("start", 2);
    at[1] = ut_attr_int("end", 1);
    CHECK(op("Shape", 15, at, 2, in, 1, &y, 1) == OC_OK && y.numel == 0);
    oc_ten_release(&y);
    CHECK(op("Size", 13, NULL, 0, in, 1, &y, 1) == OC_OK);
    const int64_t n = 24;
    CHECK(y.ndim == 0 && eq_i64(&y, &n, 1));
    oc_ten_release(&y);
    oc_ten_release(&x);
}

static void constants(void)
{
    /* a value tensor whose bytes sit unaligned, as when borrowed from a file */
    unsigned char raw[1 + 3 * 8];
    const int64_t vals[3] = {7, -1, 1LL << 40};
    memcpy(raw + 1, vals, sizeof(vals));
    int64_t td[1] = {3};
    oc_tensor t;
    memset(&t, 0, sizeof(t));
    t.dtype = OC_DTYPE_INT64;
    t.has_dtype = true;
    t.ndim = 1;
    t.dims = td;
    t.numel = 3;
    t.data = raw + 1;
    t.nbytes = sizeof(vals);
    oc_attr at[2] = {ut_attr_tensor("value", &t)};
    oc_ten y;
    CHECK(op("Constant", 1, at, 1, NULL, 0, &y, 1) == OC_OK);
    CHECK(y.ndim == 1 && eq_i64(&y, vals, 3));
    oc_ten_release(&y);
    /* value_ints / value_float from opset 12 */
    int64_t iv[2] = {4, 5};
    at[0] = ut_attr_ints("value_ints", iv, 2);
    CHECK(op("Constant", 13, at, 1, NULL, 0, &y, 1) == OC_OK && eq_i64(&y, iv, 2));
    oc_ten_release(&y);
    CHECK(op("Constant", 11, at, 1, NULL, 0, &y, 1) == OC_ERR_INVALID);
    at[0] = ut_attr_float("value_float", 2.5f);
    const float f = 2.5f;
    CHECK(op("Constant", 12, at, 1, NULL, 0, &y, 1) == OC_OK && y.ndim == 0 && eq_f(&y, &f, 1));
    oc_ten_release(&y);
    /* two values, or a sparse one */
    at[1] = ut_attr_int("value_int", 3);
    CHECK(op("Constant", 13, at, 2, NULL, 0, &y, 1) == OC_ERR_INVALID);
    oc_attr sp[1] = {ut_attr_tensor("sparse_value", &t)};
    CHECK(op("Constant", 13, sp, 1, NULL, 0, &y, 1) == OC_ERR_UNSUPPORTED);

    /* ConstantOfShape */
    const int64_t sv[2] = {2, 3};
    oc_ten s = i64v(2, sv);
    const oc_ten *in[1] = {&s};
    CHECK(op("ConstantOfShape", 9, NULL, 0, in, 1, &y, 1) == OC_OK);
    CHECK(y.dtype == OC_DTYPE_FLOAT && same_dims(&y, 2, sv) && ((float *)y.data)[5] == 0);
    oc_ten_release(&y);
    const int32_t seven = 7;
    int64_t one = 1;
    oc_tensor v;
    memset(&v, 0, sizeof(v));
    v.dtype = OC_DTYPE_INT32;
    v.ndim = 1;
    v.dims = &one;
    v.numel = 1;
    v.data = &seven;
    v.nbytes = 4;
    oc_attr va[1] = {ut_attr_tensor("value", &v)};
    CHECK(op("ConstantOfShape", 9, va, 1, in, 1, &y, 1) == OC_OK);
    CHECK(y.dtype == OC_DTYPE_INT32 && y.numel == 6 && ((int32_t *)y.data)[0] == 7 && ((int32_t *)y.data)[5] == 7);
    oc_ten_release(&y);
    /* an empty shape makes a scalar */
    oc_ten e = i64v(0, NULL);
    in[0] = &e;
    CHECK(op("ConstantOfShape", 9, va, 1, in, 1, &y, 1) == OC_OK && y.ndim == 0 && ((int32_t *)y.data)[0] == 7);
    oc_ten_release(&y);
    oc_ten_release(&s);
    oc_ten_release(&e);
}

static void range(void)
{
    float fv[3] = {1.0f, 5.0f, 1.5f};
    oc_ten s = ten(OC_DTYPE_FLOAT, 0, NULL, &fv[0]), l = ten(OC_DTYPE_FLOAT, 0, NULL, &fv[1]),
           d = ten(OC_DTYPE_FLOAT, 0, NULL, &fv[2]), y;
    const oc_ten *in[3] = {&s, &l, &d};
    CHECK(op("Range", 11, NULL, 0, in, 3, &y, 1) == OC_OK);
    const float wf[3] = {1.0f, 2.5f, 4.0f};
    CHECK(y.ndim == 1 && eq_f(&y, wf, 3));
    oc_ten_release(&y);
    oc_ten_release(&s);
    oc_ten_release(&l);
    oc_ten_release(&d);
    int32_t iv[3] = {10, 4, -3};
    s = ten(OC_DTYPE_INT32, 0, NULL, &iv[0]);
    l = ten(OC_DTYPE_INT32, 0, NULL, &iv[1]);
    d = ten(OC_DTYPE_INT32, 0, NULL, &iv[2]);
    CHECK(op("Range", 11, NULL, 0, in, 3, &y, 1) == OC_OK);
    CHECK(y.dtype == OC_DTYPE_INT32 && y.numel == 2 && ((int32_t *)y.data)[0] == 10 && ((int32_t *)y.data)[1] == 7);
    oc_ten_release(&y);
    oc_ten_release(&s);
    oc_ten_release(&l);
    oc_ten_release(&d);
    s = i64s(0);
    l = i64s(10);
    d = i64s(3);
    CHECK(op("Range", 11, NULL, 0, in, 3, &y, 1) == OC_OK);
    const int64_t wi[4] = {0, 3, 6, 9};
    CHECK(eq_i64(&y, wi, 4));
    oc_ten_release(&y);
    oc_ten_release(&l);
    l = i64s(-5); /* the wrong way: empty */
    CHECK(op("Range", 11, NULL, 0, in, 3, &y, 1) == OC_OK && y.numel == 0);
    oc_ten_release(&y);
    oc_ten_release(&d);
    d = i64s(0);
    CHECK(op("Range", 11, NULL, 0, in, 3, &y, 1) == OC_ERR_INVALID);
    oc_ten_release(&s);
    oc_ten_release(&l);
    oc_ten_release(&d);
}

/* ---- DepthToSpace, SpaceToDepth ---- */

static void depth_space(void)
{
    const int64_t bs = 2, N = 2, C = 8, H = 3, W = 2, c = C / (bs * bs);
    const int64_t dims[4] = {N, C, H, W};
    oc_ten x = iota_f(4, dims), y, z;
    const oc_ten *in[1] = {&x};
    const char *modes[2] = {"DCR", "CRD"};
    for (int m = 0; m < 2; m++) {
        oc_attr at[2] = {ut_attr_int("blocksize", bs), ut_attr_str("mode", modes[m])};
        CHECK(op("DepthToSpace", 13, at, 2, in, 1, &y, 1) == OC_OK);
        const int64_t od[4] = {N, c, H * bs, W * bs};
        CHECK(same_dims(&y, 4, od));
        bool ok = true;
        for (int64_t i = 0; i < y.numel; i++) {
            int64_t o[4];
            unravel(i, 4, od, o);
            int64_t b1 = o[2] % bs, b2 = o[3] % bs;
            int64_t ch = m == 0 ? (b1 * bs + b2) * c + o[1] : o[1] * bs * bs + b1 * bs + b2;
            const int64_t si[4] = {o[0], ch, o[2] / bs, o[3] / bs};
            ok = ok && ((float *)y.data)[i] == ((float *)x.data)[ravel(4, dims, si)];
        }
        CHECK(ok);
        oc_ten_release(&y);
    }
    /* SpaceToDepth undoes DCR DepthToSpace */
    oc_attr at[1] = {ut_attr_int("blocksize", bs)};
    CHECK(op("DepthToSpace", 1, at, 1, in, 1, &y, 1) == OC_OK);
    const oc_ten *in2[1] = {&y};
    CHECK(op("SpaceToDepth", 13, at, 1, in2, 1, &z, 1) == OC_OK);
    CHECK(same_dims(&z, 4, dims) && eq_f(&z, x.data, x.numel));
    oc_ten_release(&y);
    oc_ten_release(&z);
    /* unknown mode refused at prepare */
    oc_attr bad[2] = {ut_attr_int("blocksize", bs), ut_attr_str("mode", "RCD")};
    CHECK(op("DepthToSpace", 13, bad, 2, in, 1, &y, 1) == OC_ERR_UNSUPPORTED);
    oc_ten_release(&x);
}

/* ---- NonZero, Trilu, OneHot ---- */

static void nonzero(void)
{
    const int64_t dims[2] = {2, 2};
    const float xv[4] = {1, -0.0f, 1, 3};
    oc_ten x = ten(OC_DTYPE_FLOAT, 2, dims, xv), y;
    const oc_ten *in[1] = {&x};
    CHECK(op("NonZero", 13, NULL, 0, in, 1, &y, 1) == OC_OK);
    const int64_t w[6] = {0, 1, 1, 0, 0, 1};
    const int64_t wd[2] = {2, 3};
    CHECK(same_dims(&y, 2, wd) && eq_i64(&y, w, 6));
    oc_ten_release(&y);
    oc_ten_release(&x);
    const uint8_t bv[3] = {0, 0, 0};
    const int64_t d3 = 3;
    x = ten(OC_DTYPE_BOOL, 1, &d3, bv);
    CHECK(op("NonZero", 9, NULL, 0, in, 1, &y, 1) == OC_OK && y.dims[0] == 1 && y.dims[1] == 0);
    oc_ten_release(&y);
    oc_ten_release(&x);
}

static void trilu(void)
{
    const int64_t dims[3] = {2, 3, 4};
    oc_ten x = iota_f(3, dims), y;
    for (int upper = 0; upper < 2; upper++) {
        for (int64_t k = -2; k <= 3; k++) {
            oc_ten tk = i64s(k);
            const oc_ten *in[2] = {&x, &tk};
            oc_attr at[1] = {ut_attr_int("upper", upper)};
            CHECK(op("Trilu", 14, at, 1, in, 2, &y, 1) == OC_OK);
            bool ok = same_dims(&y, 3, dims);
            for (int64_t i = 0; ok && i < y.numel; i++) {
                int64_t o[3];
                unravel(i, 3, dims, o);
                bool keep = upper ? o[2] - o[1] >= k : o[2] - o[1] <= k;
                ok = ((float *)y.data)[i] == (keep ? (float)i : 0.0f);
            }
            CHECK(ok);
            oc_ten_release(&y);
            oc_ten_release(&tk);
        }
    }
    /* no k: the main diagonal, upper by default */
    const oc_ten *in1[1] = {&x};
    CHECK(op("Trilu", 14, NULL, 0, in1, 1, &y, 1) == OC_OK);
    CHECK(((float *)y.data)[4] == 0 && ((float *)y.data)[5] == 5);
    oc_ten_release(&y);
    oc_ten_release(&x);
}

static void onehot(void)
{
    const int64_t d3 = 3;
    const int64_t iv[3] = {1, -1, 5};
    oc_ten ind = ten(OC_DTYPE_INT64, 1, &d3, iv), depth = i64s(3), y;
    const int64_t d2 = 2;
    const float vv[2] = {0.5f, 2.0f};
    oc_ten vals = ten(OC_DTYPE_FLOAT, 1, &d2, vv);
    const oc_ten *in[3] = {&ind, &depth, &vals};
    CHECK(op("OneHot", 11, NULL, 0, in, 3, &y, 1) == OC_OK);
    const float w11[9] = {0.5f, 2, 0.5f, 0.5f, 0.5f, 2, 0.5f, 0.5f, 0.5f};
    const int64_t wd[2] = {3, 3};
    CHECK(same_dims(&y, 2, wd) && eq_f(&y, w11, 9));
    oc_ten_release(&y);
    /* opset 9: a negative index is out of range */
    CHECK(op("OneHot", 9, NULL, 0, in, 3, &y, 1) == OC_OK);
    const float w9[9] = {0.5f, 2, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f};
    CHECK(eq_f(&y, w9, 9));
    oc_ten_release(&y);
    /* axis 0: depth first */
    oc_attr at[1] = {ut_attr_int("axis", 0)};
    CHECK(op("OneHot", 11, at, 1, in, 3, &y, 1) == OC_OK);
    const float w0[9] = {0.5f, 0.5f, 0.5f, 2, 0.5f, 0.5f, 0.5f, 2, 0.5f};
    CHECK(eq_f(&y, w0, 9));
    oc_ten_release(&y);
    oc_ten_release(&ind);
    oc_ten_release(&depth);
    oc_ten_release(&vals);
}

/* ---- strings and 4-bit types ---- */

static void refused_types(void)
{
    const int64_t d2 = 2;
    oc_ten x;
    memset(&x, 0, sizeof(x));
    oc_bytes strs[2] = {{(const uint8_t *)"a", 1}, {(const uint8_t *)"b", 1}};
    x.dtype = OC_DTYPE_STRING;
    x.ndim = 1;
    x.dims[0] = d2;
    x.numel = 2;
    x.strings = strs;
    x.borrowed = true;
    oc_ten y;
    const oc_ten *in[1] = {&x};
    CHECK(op("Transpose", 13, NULL, 0, in, 1, &y, 1) == OC_ERR_UNSUPPORTED);
    /* reshape-like ops pass strings through */
    int64_t ax[1] = {0};
    oc_attr at[1] = {ut_attr_ints("axes", ax, 1)};
    CHECK(op("Unsqueeze", 11, at, 1, in, 1, &y, 1) == OC_OK && y.ndim == 2 && y.strings == strs);
    oc_ten_release(&y);
    CHECK(op("Shape", 13, NULL, 0, in, 1, &y, 1) == OC_OK && ((int64_t *)y.data)[0] == 2);
    oc_ten_release(&y);
    oc_ten q = ten(OC_DTYPE_INT4, 1, &d2, NULL);
    in[0] = &q;
    CHECK(op("Transpose", 13, NULL, 0, in, 1, &y, 1) == OC_ERR_UNSUPPORTED);
    oc_ten_release(&q);
}

/* ---- the chain exported models use to compute shapes ---- */

static void shape_chain(void)
{
    const int64_t dims[3] = {2, 3, 4};
    oc_ten x = iota_f(3, dims), shp, first, unsq, cat, y;
    const oc_ten *in1[1] = {&x};
    CHECK(op("Shape", 15, NULL, 0, in1, 1, &shp, 1) == OC_OK);
    oc_ten zero = i64s(0), axes = i64v(1, (const int64_t[]){0}), rest = i64v(1, (const int64_t[]){-1});
    const oc_ten *g[2] = {&shp, &zero};
    CHECK(op("Gather", 13, NULL, 0, g, 2, &first, 1) == OC_OK && first.ndim == 0);
    const oc_ten *u[2] = {&first, &axes};
    CHECK(op("Unsqueeze", 13, NULL, 0, u, 2, &unsq, 1) == OC_OK && unsq.ndim == 1);
    oc_attr at[1] = {ut_attr_int("axis", 0)};
    const oc_ten *c[2] = {&unsq, &rest};
    CHECK(op("Concat", 13, at, 1, c, 2, &cat, 1) == OC_OK);
    const int64_t wc[2] = {2, -1};
    CHECK(eq_i64(&cat, wc, 2));
    const oc_ten *r[2] = {&x, &cat};
    CHECK(op("Reshape", 14, NULL, 0, r, 2, &y, 1) == OC_OK);
    const int64_t wd[2] = {2, 12};
    CHECK(same_dims(&y, 2, wd) && eq_f(&y, x.data, 24));
    oc_ten all[9] = {x, shp, first, unsq, cat, y, zero, axes, rest};
    release(all, 9);
}

int main(void)
{
    oc_ctx_init(&ctx);
    RUN(transpose_vs_reference);
    RUN(slice_vs_reference);
    RUN(slice_opsets);
    RUN(pad_vs_reference);
    RUN(pad_opsets);
    RUN(gather);
    RUN(gather_elements);
    RUN(gather_nd);
    RUN(scatter_nd);
    RUN(expand_tile);
    RUN(concat);
    RUN(split);
    RUN(reshape);
    RUN(flatten);
    RUN(squeeze_unsqueeze);
    RUN(shape_size);
    RUN(constants);
    RUN(range);
    RUN(depth_space);
    RUN(nonzero);
    RUN(trilu);
    RUN(onehot);
    RUN(refused_types);
    RUN(shape_chain);
    UNIT_END("ops_shape");
}
