/* test_ops_quant.c: the quantization kernels (QuantizeLinear,
 * DequantizeLinear, DynamicQuantizeLinear, MatMulInteger, ConvInteger,
 * QLinearConv, QLinearMatMul) called through the op registry on nodes built
 * by hand, against hand-checked values and plain reference loops. */
#include "exec/exec.h"
#include "kernel_test.h"
#include "unit.h"

#include <math.h>
#include <stdint.h>

static oc_ctx ctx;

/* ---- helpers ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

/* a borrowed view of caller-owned data */
static oc_ten view(int dtype, int ndim, const int64_t *dims, const void *data)
{
    oc_ten t;
    memset(&t, 0, sizeof(t));
    t.dtype = dtype;
    t.ndim = ndim;
    t.numel = 1;
    for (int i = 0; i < ndim; i++) {
        t.dims[i] = dims[i];
        t.numel *= dims[i];
    }
    t.data = (void *)data;
    t.nbytes = (size_t)oc_tensor_expected_nbytes(dtype, t.numel);
    t.borrowed = true;
    return t;
}

/* Runs op (prepare, then run) at `opset`; in[i] may be NULL. */
static oc_status run_op(const char *op, int64_t opset, oc_attr *attrs, size_t n_attrs, const oc_ten *const *in,
                        size_t n_in, oc_ten *out, size_t n_out)
{
    static const char *names[] = {"i0", "i1", "i2", "i3", "i4", "i5", "i6", "i7", "i8"};
    static const char *onames[] = {"o0", "o1", "o2"};
    const char *ins[9];
    for (size_t i = 0; i < n_in; i++) ins[i] = in[i] ? names[i] : "";
    oc_node n;
    memset(&n, 0, sizeof(n));
    n.name = "t";
    n.op_type = op;
    n.inputs = ins;
    n.n_inputs = n_in;
    n.outputs = onames;
    n.n_outputs = n_out;
    n.attrs = attrs;
    n.n_attrs = n_attrs;
    const oc_op_def *d = oc_op_find("", op, opset);
    if (!d) return OC_ERR_UNSUPPORTED;
    oc_kctx k = {&ctx, &n, opset, NULL, 1};
    if (d->prepare) {
        oc_status st = d->prepare(&k);
        if (st != OC_OK) return st;
    }
    return d->run(&k, in, n_in, out, n_out);
}

static int32_t nib(const oc_ten *t, int64_t i, bool sgn)
{
    int v = (((const uint8_t *)t->data)[i / 2] >> ((i & 1) * 4)) & 0xf;
    return sgn && v >= 8 ? v - 16 : v;
}

static uint16_t f2h(float f)
{
    /* test-side float16 encoding of exactly representable values only */
    oc_ten t;
    int64_t one = 1;
    uint16_t h = 0;
    t = view(OC_DTYPE_FLOAT16, 1, &one, &h);
    oc_ten_set(&t, 0, f);
    return h;
}

static float h2f(uint16_t h)
{
    int64_t one = 1;
    oc_ten t = view(OC_DTYPE_FLOAT16, 1, &one, &h);
    return (float)oc_ten_get(&t, 0);
}

static int32_t sat(double v, int32_t lo, int32_t hi)
{
    if (!(v >= lo)) return lo;
    return v > hi ? hi : (int32_t)v;
}

/* ---- QuantizeLinear ---- */

static void quantize_per_tensor(void)
{
    int64_t d6 = 6, d0 = 0;
    float x[6] = {0, 2, 3, 1000, -254, -1000}, s = 2;
    uint8_t z = 128;
    oc_ten tx = view(OC_DTYPE_FLOAT, 1, &d6, x), ts = view(OC_DTYPE_FLOAT, 0, &d0, &s),
           tz = view(OC_DTYPE_UINT8, 0, &d0, &z);
    const oc_ten *in[] = {&tx, &ts, &tz};
    oc_ten out = {0};
    CHECK_EQ_INT(run_op("QuantizeLinear", 13, NULL, 0, in, 3, &out, 1), OC_OK);
    static const uint8_t want[6] = {128, 129, 130, 255, 1, 0};
    CHECK_EQ_INT(out.dtype, OC_DTYPE_UINT8);
    CHECK(memcmp(out.data, want, 6) == 0);
    oc_ten_release(&out);

    /* ties go to even; int8 output from the zero point's type */
    float t[6] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f}, one = 1;
    int8_t z8 = 0;
    oc_ten tt = view(OC_DTYPE_FLOAT, 1, &d6, t), t1 = view(OC_DTYPE_FLOAT, 0, &d0, &one),
           tz8 = view(OC_DTYPE_INT8, 0, &d0, &z8);
    const oc_ten *in2[] = {&tt, &t1, &tz8};
    CHECK_EQ_INT(run_op("QuantizeLinear", 10, NULL, 0, in2, 3, &out, 1), OC_OK);
    static const int8_t want2[6] = {0, 2, 2, 0, -2, -2};
    CHECK_EQ_INT(out.dtype, OC_DTYPE_INT8);
    CHECK(memcmp(out.data, want2, 6) == 0);
    oc_ten_release(&out);

    /* no zero point: uint8, zero point 0; NaN saturates low */
    float u[4] = {-1.0f, 3.4f, 300.0f, NAN};
    int64_t d4 = 4;
    oc_ten tu = view(OC_DTYPE_FLOAT, 1, &d4, u);
    const oc_ten *in3[] = {&tu, &t1, NULL};
    CHECK_EQ_INT(run_op("QuantizeLinear", 13, NULL, 0, in3, 3, &out, 1), OC_OK);
    CHECK_EQ_INT(out.dtype, OC_DTYPE_UINT8);
    const uint8_t *y = out.data;
    CHECK(y[0] == 0 && y[1] == 3 && y[2] == 255 && y[3] == 0);
    oc_ten_release(&out);

    /* int32 input */
    int32_t xi[4] = {-7, 5, 1000, 3};
    float s3 = 2.0f;
    int8_t zi = -1;
    oc_ten txi = view(OC_DTYPE_INT32, 1, &d4, xi), ts3 = view(OC_DTYPE_FLOAT, 0, &d0, &s3),
           tzi = view(OC_DTYPE_INT8, 0, &d0, &zi);
    const oc_ten *in4[] = {&txi, &ts3, &tzi};
    CHECK_EQ_INT(run_op("QuantizeLinear", 13, NULL, 0, in4, 3, &out, 1), OC_OK);
    static const int8_t want4[4] = {-5, 1, 127, 1}; /* -3.5 -> -4, 2.5 -> 2, 500, 1.5 -> 2 */
    CHECK(memcmp(out.data, want4, 4) == 0);
    oc_ten_release(&out);
}

static void quantize_16bit(void)
{
    int64_t d12 = 12, d16 = 16, d0 = 0;
    float xu[12] = {0, -128, 3, -3, 2.9f, -2.9f, 3.1f, -3.1f, 65536, -65534, 70000, -70000}, s = 2;
    uint16_t zu = 32767;
    static const uint16_t wu[12] = {32767, 32703, 32769, 32765, 32768, 32766, 32769, 32765, 65535, 0, 65535, 0};
    oc_ten tx = view(OC_DTYPE_FLOAT, 1, &d12, xu), ts = view(OC_DTYPE_FLOAT, 0, &d0, &s),
           tz = view(OC_DTYPE_UINT16, 0, &d0, &zu);
    const oc_ten *in[] = {&tx, &ts, &tz};
    oc_ten out = {0};
    CHECK_EQ_INT(run_op("QuantizeLinear", 21, NULL, 0, in, 3, &out, 1), OC_OK);
    CHECK_EQ_INT(out.dtype, OC_DTYPE_UINT16);
    CHECK(memcmp(out.data, wu, sizeof(wu)) == 0);
    oc_ten_release(&out);
    /* 16-bit types arrive with opset 21 */
    CHECK_EQ_INT(run_op("QuantizeLinear", 19, NULL, 0, in, 3, &out, 1), OC_ERR_INVALID);

    float xs[16] = {0, -514, 3, -3, 2.9f, -2.9f, 3.1f, -3.1f, 65022, -66046, 65023, -66047, 65024, -66048, 70000, -70000};
    int16_t zs = 256;
    static const int16_t ws[16] = {256, -1, 258, 254, 257, 255, 258, 254,
                                   32767, -32767, 32767, -32768, 32767, -32768, 32767, -32768};
    oc_ten tx2 = view(OC_DTYPE_FLOAT, 1, &d16, xs), tz2 = view(OC_DTYPE_INT16, 0, &d0, &zs);
    const oc_ten *in2[] = {&tx2, &ts, &tz2};
    CHECK_EQ_INT(run_op("QuantizeLinear", 21, NULL, 0, in2, 3, &out, 1), OC_OK);
    CHECK_EQ_INT(out.dtype, OC_DTYPE_INT16);
    CHECK(memcmp(out.data, ws, sizeof(ws)) == 0);
    oc_ten_release(&out);
}

static void quantize_per_axis(void)
{
    int64_t dims[3] = {2, 3, 4};
    float x[24];
    for (int i = 0; i < 24; i++) x[i] = (float)((int)(rnd() % 2001) - 1000) / 7.0f;
    for (int axis = 0; axis < 3; axis++) {
        for (int neg = 0; neg < 2; neg++) {
            int64_t n = dims[axis];
            float s[4];
            int8_t z[4];
            for (int i = 0; i < n; i++) {
                s[i] = 0.25f + (float)i * 0.75f;
                z[i] = (int8_t)(i * 5 - 7);
            }
            oc_ten tx = view(OC_DTYPE_FLOAT, 3, dims, x), ts = view(OC_DTYPE_FLOAT, 1, &n, s),
                   tz = view(OC_DTYPE_INT8, 1, &n, z);
            const oc_ten *in[] = {&tx, &ts, &tz};
            oc_attr a[1] = {ut_attr_int("axis", neg ? axis - 3 : axis)};
            oc_ten out = {0};
            CHECK_EQ_INT(run_op("QuantizeLinear", 13, a, 1, in, 3, &out, 1), OC_OK);
            const int8_t *y = out.data;
            for (int i = 0; i < 24; i++) {
                int idx[3] = {i / 12, (i / 4) % 3, i % 4};
                int c = idx[axis];
                int32_t want = sat(rintf(x[i] / s[c]) + z[c], -128, 127);
                CHECK_EQ_INT(y[i], want);
            }
            oc_ten_release(&out);
        }
    }
    /* before opset 13 the scale must be a scalar */
    int64_t n3 = 3;
    float s3[3] = {1, 2, 3};
    oc_ten tx = view(OC_DTYPE_FLOAT, 3, dims, x), ts = view(OC_DTYPE_FLOAT, 1, &n3, s3);
    const oc_ten *in[] = {&tx, &ts};
    oc_ten out = {0};
    CHECK_EQ_INT(run_op("QuantizeLinear", 10, NULL, 0, in, 2, &out, 1), OC_ERR_INVALID);
    oc_ten_release(&out);
    /* a per-axis scale of the wrong length */
    oc_attr a[1] = {ut_attr_int("axis", 2)};
    CHECK_EQ_INT(run_op("QuantizeLinear", 13, a, 1, in, 2, &out, 1), OC_ERR_INVALID);
    oc_ten_release(&out);
}

static void quantize_blocked_int4(void)
{
    /* x [3, 5], axis 1, block 2: scale [3, 3] (the last block is short) */
    int64_t xd[2] = {3, 5}, sd[2] = {3, 3};
    float x[15], s[9];
    int8_t zv[9];
    uint8_t zp[5] = {0};
    for (int i = 0; i < 15; i++) x[i] = (float)((int)(rnd() % 41) - 20) * 0.37f;
    for (int i = 0; i < 9; i++) {
        s[i] = 0.5f + (float)(i % 4) * 0.6f;
        zv[i] = (int8_t)(i % 5 - 2);
        zp[i / 2] = (uint8_t)(zp[i / 2] | (zv[i] & 0xf) << ((i & 1) * 4));
    }
    oc_ten tx = view(OC_DTYPE_FLOAT, 2, xd, x), ts = view(OC_DTYPE_FLOAT, 2, sd, s), tz = view(OC_DTYPE_INT4, 2, sd, zp);
    const oc_ten *in[] = {&tx, &ts, &tz};
    oc_attr a[2] = {ut_attr_int("axis", 1), ut_attr_int("block_size", 2)};
    oc_ten out = {0};
    CHECK_EQ_INT(run_op("QuantizeLinear", 21, a, 2, in, 3, &out, 1), OC_OK);
    CHECK_EQ_INT(out.dtype, OC_DTYPE_INT4);
    CHECK_EQ_INT(out.nbytes, 8);
    for (int i = 0; i < 15; i++) {
        int r = i / 5, c = i % 5, si = r * 3 + c / 2;
        CHECK_EQ_INT(nib(&out, i, true), sat(rintf(x[i] / s[si]) + zv[si], -8, 7));
    }
    /* the pad nibble of an odd count stays 0 */
    CHECK_EQ_INT(((uint8_t *)out.data)[7] >> 4, 0);
    oc_ten_release(&out);

    /* symmetric uint4 via output_dtype, no zero point */
    const oc_ten *in2[] = {&tx, &ts};
    oc_attr a2[3] = {ut_attr_int("axis", -1), ut_attr_int("block_size", 2), ut_attr_int("output_dtype", OC_DTYPE_UINT4)};
    CHECK_EQ_INT(run_op("QuantizeLinear", 21, a2, 3, in2, 2, &out, 1), OC_OK);
    CHECK_EQ_INT(out.dtype, OC_DTYPE_UINT4);
    for (int i = 0; i < 15; i++) {
        int r = i / 5, c = i % 5, si = r * 3 + c / 2;
        CHECK_EQ_INT(nib(&out, i, false), sat(rintf(x[i] / s[si]), 0, 15));
    }
    oc_ten_release(&out);

    /* a block size that does not give the scale's shape */
    oc_attr a3[2] = {ut_attr_int("axis", 1), ut_attr_int("block_size", 3)};
    CHECK_EQ_INT(run_op("QuantizeLinear", 21, a3, 2, in, 3, &out, 1), OC_ERR_INVALID);
    oc_ten_release(&out);
    /* int4 before opset 21 */
    int64_t d0 = 0;
    float one = 1;
    uint8_t z4 = 0;
    oc_ten t1 = view(OC_DTYPE_FLOAT, 0, &d0, &one), t4 = view(OC_DTYPE_INT4, 0, &d0, &z4);
    const oc_ten *in4[] = {&tx, &t1, &t4};
    CHECK_EQ_INT(run_op("QuantizeLinear", 19, NULL, 0, in4, 3, &out, 1), OC_ERR_INVALID);
    CHECK_EQ_INT(run_op("QuantizeLinear", 21, NULL, 0, in4, 3, &out, 1), OC_OK);
    oc_ten_release(&out);
}

static void quantize_float16(void)
{
    /* x / y_scale in float16: 1 / 0.39990234375 = 2.5006.. is 2.5 in float16,
     * which rounds to even (2); float32 division would give 3 */
    int64_t d2 = 2, d0 = 0;
    uint16_t x[2] = {f2h(1.0f), f2h(-1.0f)}, s = 0x3666;
    CHECK(fabsf(h2f(s) - 0.39990234375f) < 1e-9f);
    int8_t z = 0;
    oc_ten tx = view(OC_DTYPE_FLOAT16, 1, &d2, x), ts = view(OC_DTYPE_FLOAT16, 0, &d0, &s),
           tz = view(OC_DTYPE_INT8, 0, &d0, &z);
    const oc_ten *in[] = {&tx, &ts, &tz};
    oc_ten out = {0};
    CHECK_EQ_INT(run_op("QuantizeLinear", 19, NULL, 0, in, 3, &out, 1), OC_OK);
    const int8_t *y = out.data;
    CHECK_EQ_INT(y[0], 2);
    CHECK_EQ_INT(y[1], -2);
    oc_ten_release(&out);
    /* float16 arrives with opset 19 */
    CHECK_EQ_INT(run_op("QuantizeLinear", 13, NULL, 0, in, 3, &out, 1), OC_ERR_INVALID);
}

static void quantize_refusals(void)
{
    int64_t d2 = 2, d0 = 0;
    float x[2] = {1, 2}, s = 1;
    uint8_t f8 = 0;
    oc_ten tx = view(OC_DTYPE_FLOAT, 1, &d2, x), ts = view(OC_DTYPE_FLOAT, 0, &d0, &s),
           tz = view(OC_DTYPE_FLOAT8E4M3FN, 0, &d0, &f8);
    const oc_ten *in[] = {&tx, &ts, &tz};
    oc_ten out = {0};
    /* float8 is refused as unsupported (run time: the zero point's type) */
    CHECK_EQ_INT(run_op("QuantizeLinear", 19, NULL, 0, in, 3, &out, 1), OC_ERR_UNSUPPORTED);
    CHECK(strstr(ctx.msg, "node 't' (QuantizeLinear)") != NULL);
    /* ... and at prepare when output_dtype names it */
    oc_attr a[1] = {ut_attr_int("output_dtype", OC_DTYPE_FLOAT8E5M2)};
    CHECK_EQ_INT(run_op("QuantizeLinear", 21, a, 1, in, 2, &out, 1), OC_ERR_UNSUPPORTED);
    oc_attr b[1] = {ut_attr_int("block_size", -1)};
    CHECK_EQ_INT(run_op("QuantizeLinear", 21, b, 1, in, 2, &out, 1), OC_ERR_INVALID);
    oc_attr p[1] = {ut_attr_int("precision", OC_DTYPE_DOUBLE)};
    CHECK_EQ_INT(run_op("QuantizeLinear", 23, p, 1, in, 2, &out, 1), OC_ERR_UNSUPPORTED);
    /* output_dtype must agree with the zero point */
    uint8_t z = 0;
    oc_ten tz8 = view(OC_DTYPE_UINT8, 0, &d0, &z);
    const oc_ten *in2[] = {&tx, &ts, &tz8};
    oc_attr o[1] = {ut_attr_int("output_dtype", OC_DTYPE_INT8)};
    CHECK_EQ_INT(run_op("QuantizeLinear", 21, o, 1, in2, 3, &out, 1), OC_ERR_INVALID);
    oc_ten_release(&out);
    /* registry: nothing before opset 10, the right entries after */
    CHECK(oc_op_find("", "QuantizeLinear", 9) == NULL);
    CHECK(oc_op_find("", "QuantizeLinear", 12)->since == 10);
    CHECK(oc_op_find("", "QuantizeLinear", 18)->since == 13);
    CHECK(oc_op_find("", "DequantizeLinear", 20)->since == 19);
    CHECK(oc_op_find("", "DequantizeLinear", 22)->since == 21);
    CHECK(oc_op_find("", "QLinearMatMul", 21)->since == 21);
    CHECK(oc_op_find("", "DynamicQuantizeLinear", 10) == NULL);
}

/* ---- DequantizeLinear ---- */

static void dequantize_types(void)
{
    int64_t d4 = 4, d0 = 0;
    uint8_t x[4] = {0, 3, 128, 255}, z = 128;
    float s = 2;
    oc_ten tx = view(OC_DTYPE_UINT8, 1, &d4, x), ts = view(OC_DTYPE_FLOAT, 0, &d0, &s),
           tz = view(OC_DTYPE_UINT8, 0, &d0, &z);
    const oc_ten *in[] = {&tx, &ts, &tz};
    oc_ten out = {0};
    CHECK_EQ_INT(run_op("DequantizeLinear", 10, NULL, 0, in, 3, &out, 1), OC_OK);
    const float *y = out.data;
    CHECK(out.dtype == OC_DTYPE_FLOAT && y[0] == -256 && y[1] == -250 && y[2] == 0 && y[3] == 254);
    oc_ten_release(&out);

    /* int8, long enough for the table path */
    int64_t dn = 600;
    int8_t xs[600];
    for (int i = 0; i < 600; i++) xs[i] = (int8_t)(rnd() & 0xff);
    int8_t zs = -3;
    float s2 = 0.0123f;
    oc_ten txs = view(OC_DTYPE_INT8, 1, &dn, xs), ts2 = view(OC_DTYPE_FLOAT, 0, &d0, &s2),
           tzs = view(OC_DTYPE_INT8, 0, &d0, &zs);
    const oc_ten *in2[] = {&txs, &ts2, &tzs};
    CHECK_EQ_INT(run_op("DequantizeLinear", 13, NULL, 0, in2, 3, &out, 1), OC_OK);
    y = out.data;
    for (int i = 0; i < 600; i++) CHECK(y[i] == (float)(xs[i] - zs) * s2);
    oc_ten_release(&out);

    /* int32 without a zero point; a non-zero one is refused */
    int32_t xi[4] = {-100000, 7, 0, 2147483647};
    oc_ten txi = view(OC_DTYPE_INT32, 1, &d4, xi);
    const oc_ten *in3[] = {&txi, &ts2, NULL};
    CHECK_EQ_INT(run_op("DequantizeLinear", 10, NULL, 0, in3, 3, &out, 1), OC_OK);
    y = out.data;
    for (int i = 0; i < 4; i++) CHECK(y[i] == (float)xi[i] * s2);
    oc_ten_release(&out);
    int32_t zi = 1;
    oc_ten tzi = view(OC_DTYPE_INT32, 0, &d0, &zi);
    const oc_ten *in4[] = {&txi, &ts2, &tzi};
    CHECK_EQ_INT(run_op("DequantizeLinear", 10, NULL, 0, in4, 3, &out, 1), OC_ERR_INVALID);
    oc_ten_release(&out);

    /* int16 / uint16 (opset 21) */
    int16_t x16[4] = {-32768, -1, 0, 32767}, z16 = -2;
    oc_ten tx16 = view(OC_DTYPE_INT16, 1, &d4, x16), tz16 = view(OC_DTYPE_INT16, 0, &d0, &z16);
    const oc_ten *in5[] = {&tx16, &ts, &tz16};
    CHECK_EQ_INT(run_op("DequantizeLinear", 21, NULL, 0, in5, 3, &out, 1), OC_OK);
    y = out.data;
    CHECK(y[0] == -65532 && y[1] == 2 && y[2] == 4 && y[3] == 65538);
    oc_ten_release(&out);
    CHECK_EQ_INT(run_op("DequantizeLinear", 19, NULL, 0, in5, 3, &out, 1), OC_ERR_INVALID);
    oc_ten_release(&out);

    /* int4 packed, odd count: values 7, -8, -1, 3, 0 */
    int64_t d5 = 5;
    uint8_t x4[3] = {0x87, 0x3f, 0x00}, z4 = 0x01; /* zero point 1 */
    oc_ten tx4 = view(OC_DTYPE_INT4, 1, &d5, x4), tz4 = view(OC_DTYPE_INT4, 0, &d0, &z4);
    const oc_ten *in6[] = {&tx4, &ts, &tz4};
    CHECK_EQ_INT(run_op("DequantizeLinear", 21, NULL, 0, in6, 3, &out, 1), OC_OK);
    y = out.data;
    CHECK(y[0] == 12 && y[1] == -18 && y[2] == -4 && y[3] == 4 && y[4] == -2);
    oc_ten_release(&out);
    /* uint4: 7, 8, 15, 3, 0 */
    oc_ten tu4 = view(OC_DTYPE_UINT4, 1, &d5, x4);
    const oc_ten *in7[] = {&tu4, &ts, NULL};
    CHECK_EQ_INT(run_op("DequantizeLinear", 21, NULL, 0, in7, 3, &out, 1), OC_OK);
    y = out.data;
    CHECK(y[0] == 14 && y[1] == 16 && y[2] == 30 && y[3] == 6 && y[4] == 0);
    oc_ten_release(&out);

    /* float16 scale gives a float16 output (opset 19) */
    uint16_t hs = f2h(0.5f);
    oc_ten ths = view(OC_DTYPE_FLOAT16, 0, &d0, &hs);
    const oc_ten *in8[] = {&tx, &ths, &tz};
    CHECK_EQ_INT(run_op("DequantizeLinear", 19, NULL, 0, in8, 3, &out, 1), OC_OK);
    CHECK_EQ_INT(out.dtype, OC_DTYPE_FLOAT16);
    const uint16_t *yh = out.data;
    CHECK(h2f(yh[0]) == -64 && h2f(yh[1]) == -62.5f && h2f(yh[2]) == 0 && h2f(yh[3]) == 63.5f);
    oc_ten_release(&out);
    CHECK_EQ_INT(run_op("DequantizeLinear", 13, NULL, 0, in8, 3, &out, 1), OC_ERR_INVALID);
    oc_ten_release(&out);
    /* float8 input is refused as unsupported */
    oc_ten tf8 = view(OC_DTYPE_FLOAT8E4M3FN, 1, &d4, x);
    const oc_ten *in9[] = {&tf8, &ts, NULL};
    CHECK_EQ_INT(run_op("DequantizeLinear", 19, NULL, 0, in9, 3, &out, 1), OC_ERR_UNSUPPORTED);
}

static void dequantize_axis_blocked(void)
{
    /* per-axis, axis 1 of [1, 3, 3, 2] */
    int64_t xd[4] = {1, 3, 3, 2}, d3 = 3;
    uint8_t x[18];
    for (int i = 0; i < 18; i++) x[i] = (uint8_t)(rnd() & 0xff);
    float s[3] = {2, 4, 5};
    uint8_t z[3] = {84, 24, 196};
    oc_ten tx = view(OC_DTYPE_UINT8, 4, xd, x), ts = view(OC_DTYPE_FLOAT, 1, &d3, s),
           tz = view(OC_DTYPE_UINT8, 1, &d3, z);
    const oc_ten *in[] = {&tx, &ts, &tz};
    oc_ten out = {0};
    CHECK_EQ_INT(run_op("DequantizeLinear", 13, NULL, 0, in, 3, &out, 1), OC_OK);
    const float *y = out.data;
    for (int i = 0; i < 18; i++) CHECK(y[i] == (float)(x[i] - z[i / 6]) * s[i / 6]);
    oc_ten_release(&out);

    /* blocked along axis 0 of [4, 3] with block 3: scale [2, 3] */
    int64_t bd[2] = {4, 3}, sd[2] = {2, 3};
    int8_t xb[12], zb[6];
    float sb[6];
    for (int i = 0; i < 12; i++) xb[i] = (int8_t)(rnd() & 0xff);
    for (int i = 0; i < 6; i++) {
        sb[i] = 0.1f * (float)(i + 1);
        zb[i] = (int8_t)(i - 3);
    }
    oc_ten txb = view(OC_DTYPE_INT8, 2, bd, xb), tsb = view(OC_DTYPE_FLOAT, 2, sd, sb),
           tzb = view(OC_DTYPE_INT8, 2, sd, zb);
    const oc_ten *in2[] = {&txb, &tsb, &tzb};
    oc_attr a[2] = {ut_attr_int("axis", 0), ut_attr_int("block_size", 3)};
    CHECK_EQ_INT(run_op("DequantizeLinear", 21, a, 2, in2, 3, &out, 1), OC_OK);
    y = out.data;
    for (int i = 0; i < 12; i++) {
        int r = i / 3, c = i % 3, si = (r / 3) * 3 + c;
        CHECK(y[i] == (float)(xb[i] - zb[si]) * sb[si]);
    }
    oc_ten_release(&out);
    /* before opset 21 block_size is not an attribute: a 2-D scale is invalid */
    CHECK_EQ_INT(run_op("DequantizeLinear", 19, a, 2, in2, 3, &out, 1), OC_ERR_INVALID);
    oc_ten_release(&out);
}

/* ---- DynamicQuantizeLinear ---- */

static void dynamic_quantize(void)
{
    static const float cases[3][6] = {
        {0, 2, -3, -2.5f, 1.34f, 0.5f},
        {-1.0f, -2.1f, -1.3f, -2.5f, -3.34f, -4.0f},
        {1, 2.1f, 1.3f, 2.5f, 3.34f, 4.0f},
    };
    int64_t d6 = 6;
    for (int c = 0; c < 3; c++) {
        const float *x = cases[c];
        oc_ten tx = view(OC_DTYPE_FLOAT, 1, &d6, x);
        const oc_ten *in[] = {&tx};
        oc_ten out[3] = {{0}};
        CHECK_EQ_INT(run_op("DynamicQuantizeLinear", 11, NULL, 0, in, 1, out, 3), OC_OK);
        float mn = 0, mx = 0;
        for (int i = 0; i < 6; i++) {
            mn = x[i] < mn ? x[i] : mn;
            mx = x[i] > mx ? x[i] : mx;
        }
        float s = (mx - mn) / 255.0f;
        float zf = -mn / s;
        int32_t z = (int32_t)rintf(zf < 0 ? 0 : zf > 255 ? 255 : zf);
        CHECK(*(float *)out[1].data == s);
        CHECK_EQ_INT(*(uint8_t *)out[2].data, z);
        CHECK_EQ_INT(out[1].ndim, 0);
        for (int i = 0; i < 6; i++) CHECK_EQ_INT(((uint8_t *)out[0].data)[i], sat(rintf(x[i] / s) + z, 0, 255));
        for (int i = 0; i < 3; i++) oc_ten_release(&out[i]);
    }
    /* the first case by hand: scale 5/255, zero point 153 */
    {
        oc_ten tx = view(OC_DTYPE_FLOAT, 1, &d6, cases[0]);
        const oc_ten *in[] = {&tx};
        oc_ten out[3] = {{0}};
        CHECK_EQ_INT(run_op("DynamicQuantizeLinear", 11, NULL, 0, in, 1, out, 3), OC_OK);
        static const uint8_t want[6] = {153, 255, 0, 26, 221, 179};
        CHECK(memcmp(out[0].data, want, 6) == 0);
        CHECK_EQ_INT(*(uint8_t *)out[2].data, 153);
        for (int i = 0; i < 3; i++) oc_ten_release(&out[i]);
    }
    /* all zeros: scale 1, zero point 0 (no 0 / 0) */
    float zero[6] = {0};
    oc_ten tz = view(OC_DTYPE_FLOAT, 1, &d6, zero);
    const oc_ten *in[] = {&tz};
    oc_ten out[3] = {{0}};
    CHECK_EQ_INT(run_op("DynamicQuantizeLinear", 11, NULL, 0, in, 1, out, 3), OC_OK);
    CHECK(*(float *)out[1].data == 1.0f);
    CHECK_EQ_INT(*(uint8_t *)out[2].data, 0);
    for (int i = 0; i < 6; i++) CHECK_EQ_INT(((uint8_t *)out[0].data)[i], 0);
    for (int i = 0; i < 3; i++) oc_ten_release(&out[i]);
}

/* ---- MatMulInteger / QLinearMatMul ---- */

static int32_t get8(const void *p, bool sgn, int64_t i)
{
    uint8_t b = ((const uint8_t *)p)[i];
    return sgn ? (int32_t)(int8_t)b : (int32_t)b;
}

typedef struct mm_case {
    int ra, rb;
    int64_t ad[4], bd[4];
    bool as, bs;           /* int8 */
    int za_kind, zb_kind;  /* 0 none, 1 scalar, 2 per row/col 1-D, 3 N-D */
} mm_case;

/* Naive numpy.matmul over right-aligned broadcast batch dims (rank <= 4). */
static void mm_check(const mm_case *c, bool qlinear)
{
    int64_t a_n = 1, b_n = 1;
    for (int i = 0; i < c->ra; i++) a_n *= c->ad[i];
    for (int i = 0; i < c->rb; i++) b_n *= c->bd[i];
    uint8_t *a = malloc((size_t)a_n), *b = malloc((size_t)b_n);
    for (int64_t i = 0; i < a_n; i++) a[i] = (uint8_t)rnd();
    for (int64_t i = 0; i < b_n; i++) b[i] = (uint8_t)rnd();
    /* promoted 4-D views */
    int64_t A[4] = {1, 1, 1, 1}, B[4] = {1, 1, 1, 1};
    if (c->ra == 1) {
        A[3] = c->ad[0];
    } else {
        for (int i = 0; i < c->ra; i++) A[4 - c->ra + i] = c->ad[i];
    }
    if (c->rb == 1) {
        B[2] = c->bd[0];
    } else {
        for (int i = 0; i < c->rb; i++) B[4 - c->rb + i] = c->bd[i];
    }
    int64_t M = A[2], K = A[3], N = B[3];
    int64_t O0 = A[0] > B[0] ? A[0] : B[0], O1 = A[1] > B[1] ? A[1] : B[1];
    /* zero points and scales: per row of A over A's batch, per column of B */
    uint8_t za[64], zb[64];
    float sa[64], sb[64];
    int64_t zad[4], zbd[4];
    int zar = 0, zbr = 0;
    if (c->za_kind == 2) {
        zar = 1;
        zad[0] = M;
    }
    if (c->za_kind == 3) {
        zar = c->ra;
        for (int i = 0; i < c->ra; i++) zad[i] = c->ad[i];
        zad[c->ra - 1] = 1;
    }
    if (c->zb_kind == 2) {
        zbr = 1;
        zbd[0] = N;
    }
    if (c->zb_kind == 3) {
        zbr = c->rb;
        for (int i = 0; i < c->rb; i++) zbd[i] = c->bd[i];
        zbd[c->rb - 2] = 1;
    }
    for (int i = 0; i < 64; i++) {
        za[i] = (uint8_t)rnd();
        zb[i] = (uint8_t)rnd();
        sa[i] = 0.001f * (float)(1 + rnd() % 50);
        sb[i] = 0.001f * (float)(1 + rnd() % 50);
    }
    oc_ten ta = view(c->as ? OC_DTYPE_INT8 : OC_DTYPE_UINT8, c->ra, c->ad, a);
    oc_ten tb = view(c->bs ? OC_DTYPE_INT8 : OC_DTYPE_UINT8, c->rb, c->bd, b);
    oc_ten tza = view(ta.dtype, zar, zad, za), tzb = view(tb.dtype, zbr, zbd, zb);
    oc_ten tsa = view(OC_DTYPE_FLOAT, zar, zad, sa), tsb = view(OC_DTYPE_FLOAT, zbr, zbd, sb);
    float ys = 0.37f;
    uint8_t yz = 77;
    int64_t d0 = 0;
    oc_ten tys = view(OC_DTYPE_FLOAT, 0, &d0, &ys), tyz = view(OC_DTYPE_UINT8, 0, &d0, &yz);
    oc_ten out = {0};
    if (qlinear) {
        const oc_ten *in[] = {&ta, &tsa, &tza, &tb, &tsb, &tzb, &tys, &tyz};
        CHECK_EQ_INT(run_op("QLinearMatMul", 10, NULL, 0, in, 8, &out, 1), OC_OK);
    } else {
        const oc_ten *in[] = {&ta, &tb, c->za_kind ? &tza : NULL, c->zb_kind ? &tzb : NULL};
        CHECK_EQ_INT(run_op("MatMulInteger", 10, NULL, 0, in, 4, &out, 1), OC_OK);
        CHECK_EQ_INT(out.dtype, OC_DTYPE_INT32);
    }
    int64_t want_numel = O0 * O1 * M * N;
    CHECK_EQ_INT(out.numel, want_numel);
    if (out.numel != want_numel) {
        free(a);
        free(b);
        oc_ten_release(&out);
        return;
    }
    /* output rank: batch dims of the longer operand, then M and N unless 1-D */
    int want_rank = (c->ra > c->rb ? c->ra : c->rb) - 2;
    if (want_rank < 0) want_rank = 0;
    want_rank += (c->ra > 1) + (c->rb > 1);
    CHECK_EQ_INT(out.ndim, want_rank);
    for (int64_t o0 = 0; o0 < O0; o0++)
        for (int64_t o1 = 0; o1 < O1; o1++) {
            int64_t a0 = A[0] == 1 ? 0 : o0, a1 = A[1] == 1 ? 0 : o1;
            int64_t b0 = B[0] == 1 ? 0 : o0, b1 = B[1] == 1 ? 0 : o1;
            for (int64_t m = 0; m < M; m++)
                for (int64_t n = 0; n < N; n++) {
                    /* parameter indices: scalar 0; 1-D: m / n; N-D: batch-major */
                    int64_t ia = c->za_kind == 2 ? m : c->za_kind == 3 ? (a0 * A[1] + a1) * M + m : 0;
                    int64_t ib = c->zb_kind == 2 ? n : c->zb_kind == 3 ? (b0 * B[1] + b1) * N + n : 0;
                    int32_t zav = c->za_kind ? get8(za, c->as, ia) : 0, zbv = c->zb_kind ? get8(zb, c->bs, ib) : 0;
                    int64_t acc = 0;
                    for (int64_t kk = 0; kk < K; kk++) {
                        int64_t ai = ((a0 * A[1] + a1) * M + m) * K + kk, bi = ((b0 * B[1] + b1) * K + kk) * N + n;
                        acc += (int64_t)(get8(a, c->as, ai) - zav) * (get8(b, c->bs, bi) - zbv);
                    }
                    int64_t oi = ((o0 * O1 + o1) * M + m) * N + n;
                    if (qlinear) {
                        float mult = (sa[ia] * sb[ib]) / ys;
                        int32_t want = sat(rintf((float)(int32_t)acc * mult) + yz, 0, 255);
                        CHECK_EQ_INT(((uint8_t *)out.data)[oi], want);
                    } else {
                        CHECK_EQ_INT(((int32_t *)out.data)[oi], (int32_t)acc);
                    }
                }
        }
    free(a);
    free(b);
    oc_ten_release(&out);
}

static void matmul_integer(void)
{
    static const mm_case cases[] = {
        {2, 2, {4, 3}, {3, 2}, false, false, 1, 1},
        {4, 2, {2, 3, 5, 4}, {4, 6}, false, true, 1, 1},
        {3, 3, {2, 5, 4}, {2, 4, 6}, true, false, 0, 1},
        {4, 3, {2, 1, 5, 4}, {3, 4, 6}, true, true, 1, 0},
        {2, 3, {5, 4}, {3, 4, 6}, false, false, 1, 1},
        {1, 2, {4}, {4, 6}, false, false, 1, 1},
        {2, 1, {5, 4}, {4}, true, true, 1, 1},
        {1, 1, {7}, {7}, false, true, 0, 0},
        {2, 2, {5, 4}, {4, 6}, false, false, 2, 2},
        {4, 2, {2, 1, 5, 4}, {4, 6}, false, false, 3, 2},
        {3, 3, {2, 5, 4}, {2, 4, 6}, false, true, 2, 3},
        {2, 2, {3, 0}, {0, 2}, false, false, 1, 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) mm_check(&cases[i], false);

    /* a K large enough that the int32 accumulation wraps */
    int64_t K = 70000, ad[2] = {1, 70000}, bd[2] = {70000, 1};
    uint8_t *a = malloc((size_t)K), *b = malloc((size_t)K);
    memset(a, 255, (size_t)K);
    memset(b, 255, (size_t)K);
    oc_ten ta = view(OC_DTYPE_UINT8, 2, ad, a), tb = view(OC_DTYPE_UINT8, 2, bd, b);
    const oc_ten *in[] = {&ta, &tb};
    oc_ten out = {0};
    CHECK_EQ_INT(run_op("MatMulInteger", 10, NULL, 0, in, 2, &out, 1), OC_OK);
    CHECK_EQ_INT(((int32_t *)out.data)[0], (int32_t)(uint32_t)(70000ull * 65025ull));
    oc_ten_release(&out);
    free(a);
    free(b);

    /* zero points that do not fit */
    int64_t d3 = 3, md[2] = {4, 3}, nd[2] = {3, 2};
    uint8_t z[3] = {1, 2, 3}, buf[12] = {0};
    oc_ten tA = view(OC_DTYPE_UINT8, 2, md, buf), tB = view(OC_DTYPE_UINT8, 2, nd, buf), tz = view(OC_DTYPE_UINT8, 1, &d3, z);
    const oc_ten *bad[] = {&tA, &tB, &tz, NULL};
    CHECK_EQ_INT(run_op("MatMulInteger", 10, NULL, 0, bad, 4, &out, 1), OC_ERR_INVALID);
    oc_ten_release(&out);
}

static void qlinear_matmul(void)
{
    static const mm_case cases[] = {
        {2, 2, {2, 4}, {4, 3}, false, false, 1, 1},
        {3, 3, {2, 2, 4}, {2, 4, 3}, false, false, 1, 1},
        {3, 2, {3, 5, 8}, {8, 6}, true, true, 1, 2},
        {2, 3, {5, 8}, {2, 8, 6}, false, true, 2, 3},
        {4, 3, {2, 1, 5, 8}, {3, 8, 6}, true, false, 3, 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) mm_check(&cases[i], true);
    /* the ONNX example, by hand */
    int64_t ad[2] = {2, 4}, bd[2] = {4, 3}, d1 = 1;
    uint8_t a[8] = {208, 236, 0, 238, 3, 214, 255, 29};
    uint8_t b[12] = {152, 51, 244, 60, 26, 255, 0, 127, 246, 127, 254, 247};
    float as = 0.0066f, bs = 0.00705f, ys = 0.0107f;
    uint8_t az = 113, bz = 114, yz = 118;
    oc_ten ta = view(OC_DTYPE_UINT8, 2, ad, a), tb = view(OC_DTYPE_UINT8, 2, bd, b);
    oc_ten tas = view(OC_DTYPE_FLOAT, 1, &d1, &as), tbs = view(OC_DTYPE_FLOAT, 1, &d1, &bs),
           tys = view(OC_DTYPE_FLOAT, 1, &d1, &ys);
    oc_ten taz = view(OC_DTYPE_UINT8, 1, &d1, &az), tbz = view(OC_DTYPE_UINT8, 1, &d1, &bz),
           tyz = view(OC_DTYPE_UINT8, 1, &d1, &yz);
    const oc_ten *in[] = {&ta, &tas, &taz, &tb, &tbs, &tbz, &tys, &tyz};
    oc_ten out = {0};
    CHECK_EQ_INT(run_op("QLinearMatMul", 10, NULL, 0, in, 8, &out, 1), OC_OK);
    static const uint8_t want[6] = {168, 115, 255, 1, 66, 151};
    CHECK(memcmp(out.data, want, 6) == 0);
    oc_ten_release(&out);
    /* float16 scales arrive with opset 21 */
    uint16_t h = f2h(0.0066f);
    oc_ten th = view(OC_DTYPE_FLOAT16, 1, &d1, &h);
    const oc_ten *in2[] = {&ta, &th, &taz, &tb, &tbs, &tbz, &tys, &tyz};
    CHECK_EQ_INT(run_op("QLinearMatMul", 10, NULL, 0, in2, 8, &out, 1), OC_ERR_INVALID);
    CHECK_EQ_INT(run_op("QLinearMatMul", 21, NULL, 0, in2, 8, &out, 1), OC_OK);
    oc_ten_release(&out);
}

/* ---- ConvInteger / QLinearConv ---- */

typedef struct conv_case {
    int ns;
    int64_t n, c, m, group;
    int64_t in[3], ker[3], stride[3], dil[3], pads[6];
    const char *auto_pad;
    bool xs, ws;        /* int8 */
    bool per_channel;   /* w zero point / scale per output channel */
    bool bias;
} conv_case;

static void conv_check(const conv_case *cc, bool qlinear)
{
    int ns = cc->ns;
    int64_t xd[5] = {cc->n, cc->c}, wd[5] = {cc->m, cc->c / cc->group};
    int64_t in_sz = 1, k_sz = 1;
    for (int i = 0; i < ns; i++) {
        xd[2 + i] = cc->in[i];
        wd[2 + i] = cc->ker[i];
        in_sz *= cc->in[i];
        k_sz *= cc->ker[i];
    }
    int64_t xn = cc->n * cc->c * in_sz, wn = cc->m * (cc->c / cc->group) * k_sz;
    uint8_t *x = malloc((size_t)xn), *w = malloc((size_t)wn);
    for (int64_t i = 0; i < xn; i++) x[i] = (uint8_t)rnd();
    for (int64_t i = 0; i < wn; i++) w[i] = (uint8_t)rnd();
    uint8_t xz = (uint8_t)rnd(), wz[16], yz = 100;
    float xs = 0.02f, wsc[16], ys = 0.9f;
    int32_t bias[16];
    for (int i = 0; i < 16; i++) {
        wz[i] = (uint8_t)rnd();
        wsc[i] = 0.005f * (float)(1 + rnd() % 20);
        bias[i] = (int32_t)(rnd() % 20001) - 10000;
    }
    /* output geometry, computed independently */
    int64_t pb[3], od[3], o_sz = 1;
    for (int i = 0; i < ns; i++) {
        int64_t ext = cc->dil[i] * (cc->ker[i] - 1) + 1;
        if (cc->auto_pad && strncmp(cc->auto_pad, "SAME", 4) == 0) {
            od[i] = (cc->in[i] + cc->stride[i] - 1) / cc->stride[i];
            int64_t t = (od[i] - 1) * cc->stride[i] + ext - cc->in[i];
            if (t < 0) t = 0;
            pb[i] = strcmp(cc->auto_pad, "SAME_UPPER") == 0 ? t / 2 : (t + 1) / 2;
        } else {
            pb[i] = cc->pads[i];
            od[i] = (cc->in[i] + cc->pads[i] + cc->pads[ns + i] - ext) / cc->stride[i] + 1;
        }
        o_sz *= od[i];
    }
    oc_attr attrs[6];
    size_t na = 0;
    int64_t st[3], dl[3], pd[6];
    memcpy(st, cc->stride, sizeof(st));
    memcpy(dl, cc->dil, sizeof(dl));
    memcpy(pd, cc->pads, sizeof(pd));
    attrs[na++] = ut_attr_ints("strides", st, (size_t)ns);
    attrs[na++] = ut_attr_ints("dilations", dl, (size_t)ns);
    attrs[na++] = ut_attr_int("group", cc->group);
    if (cc->auto_pad) attrs[na++] = ut_attr_str("auto_pad", cc->auto_pad);
    else attrs[na++] = ut_attr_ints("pads", pd, (size_t)(2 * ns));
    int64_t d0 = 0, dm = cc->m;
    int xdt = cc->xs ? OC_DTYPE_INT8 : OC_DTYPE_UINT8, wdt = cc->ws ? OC_DTYPE_INT8 : OC_DTYPE_UINT8;
    oc_ten tx = view(xdt, 2 + ns, xd, x), tw = view(wdt, 2 + ns, wd, w);
    oc_ten txz = view(xdt, 0, &d0, &xz), twz = cc->per_channel ? view(wdt, 1, &dm, wz) : view(wdt, 0, &d0, wz);
    oc_ten txs = view(OC_DTYPE_FLOAT, 0, &d0, &xs), tys = view(OC_DTYPE_FLOAT, 0, &d0, &ys);
    oc_ten tws = cc->per_channel ? view(OC_DTYPE_FLOAT, 1, &dm, wsc) : view(OC_DTYPE_FLOAT, 0, &d0, wsc);
    oc_ten tyz = view(OC_DTYPE_UINT8, 0, &d0, &yz), tb = view(OC_DTYPE_INT32, 1, &dm, bias);
    oc_ten out = {0};
    if (qlinear) {
        const oc_ten *in[] = {&tx, &txs, &txz, &tw, &tws, &twz, &tys, &tyz, cc->bias ? &tb : NULL};
        CHECK_EQ_INT(run_op("QLinearConv", 10, attrs, na, in, 9, &out, 1), OC_OK);
    } else {
        const oc_ten *in[] = {&tx, &tw, &txz, &twz};
        CHECK_EQ_INT(run_op("ConvInteger", 10, attrs, na, in, 4, &out, 1), OC_OK);
        CHECK_EQ_INT(out.dtype, OC_DTYPE_INT32);
    }
    CHECK_EQ_INT(out.numel, cc->n * cc->m * o_sz);
    CHECK_EQ_INT(out.ndim, 2 + ns);
    if (out.numel != cc->n * cc->m * o_sz) goto done;
    int64_t cg = cc->c / cc->group, mg = cc->m / cc->group;
    for (int64_t n = 0; n < cc->n; n++)
        for (int64_t m = 0; m < cc->m; m++)
            for (int64_t p = 0; p < o_sz; p++) {
                int64_t oi[3], r = p;
                for (int d = ns - 1; d >= 0; d--) {
                    oi[d] = r % od[d];
                    r /= od[d];
                }
                int32_t wzv = get8(wz, cc->ws, cc->per_channel ? m : 0), xzv = get8(&xz, cc->xs, 0);
                int64_t acc = 0, g = m / mg;
                for (int64_t c = 0; c < cg; c++)
                    for (int64_t q = 0; q < k_sz; q++) {
                        int64_t ki[3], rr = q, off = 0;
                        bool inside = true;
                        for (int d = ns - 1; d >= 0; d--) {
                            ki[d] = rr % cc->ker[d];
                            rr /= cc->ker[d];
                        }
                        for (int d = 0; d < ns; d++) {
                            int64_t ii = oi[d] * cc->stride[d] - pb[d] + ki[d] * cc->dil[d];
                            if (ii < 0 || ii >= cc->in[d]) inside = false;
                            off = off * cc->in[d] + ii;
                        }
                        if (!inside) continue;
                        int64_t xi = (n * cc->c + g * cg + c) * in_sz + off, wi = (m * cg + c) * k_sz + q;
                        acc += (int64_t)(get8(x, cc->xs, xi) - xzv) * (get8(w, cc->ws, wi) - wzv);
                    }
                int64_t o = (n * cc->m + m) * o_sz + p;
                if (qlinear) {
                    int32_t v = (int32_t)acc + (cc->bias ? bias[m] : 0);
                    float mult = (xs * wsc[cc->per_channel ? m : 0]) / ys;
                    CHECK_EQ_INT(((uint8_t *)out.data)[o], sat(rintf((float)v * mult) + yz, 0, 255));
                } else {
                    CHECK_EQ_INT(((int32_t *)out.data)[o], (int32_t)acc);
                }
            }
done:
    oc_ten_release(&out);
    free(x);
    free(w);
}

static const conv_case conv_cases[] = {
    /* ns n c m group in ker stride dil pads auto_pad xs ws per_channel bias */
    {2, 1, 1, 1, 1, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {0, 0, 0, 0}, NULL, false, false, false, false},
    {2, 2, 4, 6, 2, {7, 6}, {3, 2}, {2, 1}, {1, 2}, {1, 0, 2, 1}, NULL, false, true, true, true},
    {2, 1, 3, 4, 1, {5, 5}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, NULL, true, true, false, true},
    {2, 1, 4, 4, 4, {6, 5}, {3, 3}, {2, 2}, {1, 1}, {0}, "SAME_UPPER", false, false, true, false},
    {2, 1, 2, 2, 1, {6, 5}, {2, 3}, {3, 2}, {1, 1}, {0}, "SAME_LOWER", true, false, false, true},
    {2, 1, 2, 3, 1, {5, 4}, {3, 3}, {1, 1}, {1, 1}, {0}, "VALID", false, true, true, false},
    {1, 2, 3, 2, 1, {9}, {3}, {2}, {2}, {2, 1}, NULL, false, false, true, true},
    {3, 1, 2, 2, 1, {4, 3, 5}, {2, 2, 3}, {1, 2, 1}, {1, 1, 1}, {1, 0, 1, 0, 1, 1}, NULL, true, false, false, true},
    {2, 1, 8, 8, 1, {9, 9}, {1, 1}, {1, 1}, {1, 1}, {0, 0, 0, 0}, NULL, false, false, true, true},
};

static void conv_integer(void)
{
    for (size_t i = 0; i < sizeof(conv_cases) / sizeof(conv_cases[0]); i++) conv_check(&conv_cases[i], false);
    /* x_zero_point 1 with padding: the padded border adds nothing */
    int64_t xd[4] = {1, 1, 3, 3}, wd[4] = {1, 1, 2, 2}, d0 = 0;
    uint8_t x[9] = {2, 3, 4, 5, 6, 7, 8, 9, 10}, w[4] = {1, 1, 1, 1}, xz = 1;
    int64_t pads[4] = {1, 1, 1, 1};
    oc_attr a[1] = {ut_attr_ints("pads", pads, 4)};
    oc_ten tx = view(OC_DTYPE_UINT8, 4, xd, x), tw = view(OC_DTYPE_UINT8, 4, wd, w), tz = view(OC_DTYPE_UINT8, 0, &d0, &xz);
    const oc_ten *in[] = {&tx, &tw, &tz};
    oc_ten out = {0};
    CHECK_EQ_INT(run_op("ConvInteger", 10, a, 1, in, 3, &out, 1), OC_OK);
    static const int32_t want[16] = {1, 3, 5, 3, 5, 12, 16, 9, 11, 24, 28, 15, 7, 15, 17, 9};
    CHECK_EQ_INT(out.numel, 16);
    CHECK(out.numel == 16 && memcmp(out.data, want, sizeof(want)) == 0);
    oc_ten_release(&out);
    /* refusals at prepare */
    oc_attr bad[1] = {ut_attr_str("auto_pad", "SAME")};
    CHECK_EQ_INT(run_op("ConvInteger", 10, bad, 1, in, 3, &out, 1), OC_ERR_INVALID);
    int64_t zero_stride[2] = {0, 1};
    oc_attr bad2[1] = {ut_attr_ints("strides", zero_stride, 2)};
    CHECK_EQ_INT(run_op("ConvInteger", 10, bad2, 1, in, 3, &out, 1), OC_ERR_INVALID);
    oc_attr bad3[1] = {ut_attr_int("group", 2)};
    CHECK_EQ_INT(run_op("ConvInteger", 10, bad3, 1, in, 3, &out, 1), OC_ERR_INVALID);
    oc_ten_release(&out);
}

static void qlinear_conv(void)
{
    for (size_t i = 0; i < sizeof(conv_cases) / sizeof(conv_cases[0]); i++) conv_check(&conv_cases[i], true);
    /* identity 1x1 convolution requantized to the same scale */
    int64_t xd[4] = {1, 1, 2, 2}, wd[4] = {1, 1, 1, 1}, d0 = 0;
    uint8_t x[4] = {0, 10, 128, 255}, w = 1, xz = 0, wz = 0, yz = 0;
    float s = 1;
    oc_ten tx = view(OC_DTYPE_UINT8, 4, xd, x), tw = view(OC_DTYPE_UINT8, 4, wd, &w);
    oc_ten ts = view(OC_DTYPE_FLOAT, 0, &d0, &s), tz = view(OC_DTYPE_UINT8, 0, &d0, &xz);
    oc_ten twz = view(OC_DTYPE_UINT8, 0, &d0, &wz), tyz = view(OC_DTYPE_UINT8, 0, &d0, &yz);
    const oc_ten *in[] = {&tx, &ts, &tz, &tw, &ts, &twz, &ts, &tyz};
    oc_ten out = {0};
    CHECK_EQ_INT(run_op("QLinearConv", 10, NULL, 0, in, 8, &out, 1), OC_OK);
    CHECK(memcmp(out.data, x, 4) == 0);
    oc_ten_release(&out);
    /* a bias of the wrong type */
    float fb = 0;
    int64_t d1 = 1;
    oc_ten tfb = view(OC_DTYPE_FLOAT, 1, &d1, &fb);
    const oc_ten *in2[] = {&tx, &ts, &tz, &tw, &ts, &twz, &ts, &tyz, &tfb};
    CHECK_EQ_INT(run_op("QLinearConv", 10, NULL, 0, in2, 9, &out, 1), OC_ERR_INVALID);
    oc_ten_release(&out);
}

int main(void)
{
    oc_ctx_init(&ctx);
    RUN(quantize_per_tensor);
    RUN(quantize_16bit);
    RUN(quantize_per_axis);
    RUN(quantize_blocked_int4);
    RUN(quantize_float16);
    RUN(quantize_refusals);
    RUN(dequantize_types);
    RUN(dequantize_axis_blocked);
    RUN(dynamic_quantize);
    RUN(matmul_integer);
    RUN(qlinear_matmul);
    RUN(conv_integer);
    RUN(qlinear_conv);
    UNIT_END("ops_quant");
}
