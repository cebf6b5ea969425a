/* ops_quant.c: kernels of the quantization family: QuantizeLinear,
 * DequantizeLinear, DynamicQuantizeLinear, MatMulInteger, ConvInteger,
 * QLinearConv and QLinearMatMul (default domain, opsets 10..21).
 *
 * What it promises: integer results are exact. Products of zero-point-shifted
 * 8-bit values are summed in double through OpenBLAS, which is exact for any
 * realistic K (every partial sum is an integer below 2^53), and then wrapped to
 * int32 as the spec allows ("accumulation may overflow if and only if in 32
 * bits"). Quantization follows y = saturate(round(x / y_scale) + y_zero_point)
 * with round half to even, x / y_scale computed in the scale's precision
 * (float32, or float16 / bfloat16 from opset 19); requantization of an int32
 * accumulator uses the float multiplier (x_scale * w_scale) / y_scale. A NaN
 * quantizes to the lowest value of the type.
 *
 * Refused: float8 / float4 element types (OC_ERR_UNSUPPORTED), and anything
 * the spec of the model's opset does not allow (OC_ERR_INVALID). */
#include "exec.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

/* ---- element access ---- */

static inline const oc_ten *opt_in(const oc_ten *const *in, size_t n_in, size_t i)
{
    return i < n_in ? in[i] : NULL;
}

static inline int32_t from_s8(uint8_t b)
{
    return (int32_t)b - ((int32_t)(b & 0x80) << 1);
}

/* Element i of an integer tensor (8/16/32-bit, or 4-bit packed two per byte,
 * low nibble first). */
static inline int32_t q_get(int dtype, const unsigned char *p, int64_t i)
{
    switch (dtype) {
    case OC_DTYPE_UINT8: return p[i];
    case OC_DTYPE_INT8: return from_s8(p[i]);
    case OC_DTYPE_UINT16: { uint16_t v; memcpy(&v, p + 2 * i, 2); return v; }
    case OC_DTYPE_INT16: { int16_t v; memcpy(&v, p + 2 * i, 2); return v; }
    case OC_DTYPE_INT32: { int32_t v; memcpy(&v, p + 4 * i, 4); return v; }
    case OC_DTYPE_UINT4: return (p[i >> 1] >> ((i & 1) * 4)) & 0xf;
    case OC_DTYPE_INT4: {
        int32_t v = (p[i >> 1] >> ((i & 1) * 4)) & 0xf;
        return v >= 8 ? v - 16 : v;
    }
    default: return 0;
    }
}

static inline void q_put(int dtype, unsigned char *p, int64_t i, int32_t v)
{
    switch (dtype) {
    case OC_DTYPE_UINT8: case OC_DTYPE_INT8: p[i] = (unsigned char)(v & 0xff); return;
    case OC_DTYPE_UINT16: case OC_DTYPE_INT16: {
        uint16_t u = (uint16_t)(v & 0xffff);
        memcpy(p + 2 * i, &u, 2);
        return;
    }
    case OC_DTYPE_UINT4: case OC_DTYPE_INT4: {
        unsigned char *b = p + (i >> 1);
        int sh = (int)(i & 1) * 4;
        *b = (unsigned char)((*b & (0xf0 >> sh)) | ((v & 0xf) << sh));
        return;
    }
    default: return;
    }
}

/* Saturation range of a quantized type; false for types without one. */
static bool q_bounds(int dtype, int32_t *lo, int32_t *hi)
{
    switch (dtype) {
    case OC_DTYPE_UINT8: *lo = 0; *hi = 255; return true;
    case OC_DTYPE_INT8: *lo = -128; *hi = 127; return true;
    case OC_DTYPE_UINT16: *lo = 0; *hi = 65535; return true;
    case OC_DTYPE_INT16: *lo = -32768; *hi = 32767; return true;
    case OC_DTYPE_UINT4: *lo = 0; *hi = 15; return true;
    case OC_DTYPE_INT4: *lo = -8; *hi = 7; return true;
    default: return false;
    }
}





/* Element i of a float32 / float16 / bfloat16 tensor as float. */
static inline float f_get(int dtype, const unsigned char *p, int64_t i)
{
    if (dtype == OC_DTYPE_FLOAT) {
        float v;
        memcpy(&v, p + 4 * i, 4);
        return v;
    }
    uint16_t h;
    memcpy(&h, p + 2 * i, 2);
    return dtype == OC_DTYPE_FLOAT16 ? oc_half_to_float(h) : oc_bf16_to_float(h);
}

static inline void f_put(int dtype, unsigned char *p, int64_t i, float v)
{
    if (dtype == OC_DTYPE_FLOAT) {
        memcpy(p + 4 * i, &v, 4);
        return;
    }
    uint16_t h = dtype == OC_DTYPE_FLOAT16 ? oc_float_to_half(v) : oc_float_to_bf16(v);
    memcpy(p + 2 * i, &h, 2);
}

/* v rounded to the precision of `dtype` (float16 / bfloat16); float32 as is.
 * Rounding a float32 quotient of two narrower values once more gives the
 * correctly rounded narrow quotient (24 >= 2 * 11 + 2 bits). */
static inline float round_to(int dtype, float v)
{
    if (dtype == OC_DTYPE_FLOAT16) return oc_half_to_float(oc_float_to_half(v));
    if (dtype == OC_DTYPE_BFLOAT16) return oc_bf16_to_float(oc_float_to_bf16(v));
    return v;
}

/* round(r) + zp saturated to [lo, hi], round half to even; NaN gives lo.
 * Clamping to the integer bounds first keeps |r| < 2^22, where adding and
 * subtracting 1.5 * 2^23 rounds to nearest even in float32 arithmetic (no
 * libm call: rintf is only inlined with SSE4.1). */
static inline int32_t q_saturate(float r, int32_t zp, int32_t lo, int32_t hi)
{
    float l = (float)(lo - zp), h = (float)(hi - zp);
    if (!(r >= l)) r = l;
    if (r > h) r = h;
    const float magic = 0x1.8p23f;
    float q = (r + magic) - magic;
    return (int32_t)q + zp;
}

static inline int32_t q_saturate_d(double r, int32_t zp, int32_t lo, int32_t hi)
{
    double v = rint(r) + zp;
    if (!(v >= lo)) return lo;
    if (v > hi) return hi;
    return (int32_t)v;
}

/* An exact integer sum (|v| < 2^63) wrapped to int32. */
static inline int32_t wrap32(double v)
{
    return (int32_t)(uint32_t)(uint64_t)(int64_t)v;
}

static bool is_float8(int dtype)
{
    return dtype == OC_DTYPE_FLOAT8E4M3FN || dtype == OC_DTYPE_FLOAT8E4M3FNUZ || dtype == OC_DTYPE_FLOAT8E5M2 ||
           dtype == OC_DTYPE_FLOAT8E5M2FNUZ || dtype == OC_DTYPE_FLOAT4E2M1;
}

/* Whether `dtype` may be the quantized side of QuantizeLinear /
 * DequantizeLinear at the node's opset. */
static oc_status check_qtype(oc_kctx *k, int dtype, const char *what, bool allow_int32)
{
    switch (dtype) {
    case OC_DTYPE_UINT8: case OC_DTYPE_INT8: return OC_OK;
    case OC_DTYPE_INT32:
        if (allow_int32) return OC_OK;
        break;
    case OC_DTYPE_UINT16: case OC_DTYPE_INT16: case OC_DTYPE_UINT4: case OC_DTYPE_INT4:
        if (k->opset >= 21) return OC_OK;
        return oc_kfail(k, OC_ERR_INVALID, "%s of type %s needs opset 21 (model has %lld)", what,
                        oc_dtype_name(dtype), (long long)k->opset);
    default:
        if (is_float8(dtype))
            return oc_kfail(k, OC_ERR_UNSUPPORTED, "%s of type %s: float8/float4 quantization is not implemented",
                            what, oc_dtype_name(dtype));
        break;
    }
    return oc_kfail(k, OC_ERR_INVALID, "%s of type %s", what, oc_dtype_name(dtype));
}

/* float32 always; float16 / bfloat16 from `half_since`. */
static oc_status check_ftype(oc_kctx *k, int dtype, const char *what, int64_t half_since)
{
    if (dtype == OC_DTYPE_FLOAT) return OC_OK;
    if ((dtype == OC_DTYPE_FLOAT16 || dtype == OC_DTYPE_BFLOAT16) && k->opset >= half_since) return OC_OK;
    return oc_kfail(k, OC_ERR_INVALID, "%s of type %s at opset %lld", what, oc_dtype_name(dtype),
                    (long long)k->opset);
}

/* 8-bit integer operand of the integer matmul / conv ops. */
static oc_status check_8bit(oc_kctx *k, const oc_ten *t, const char *what)
{
    if (t->dtype == OC_DTYPE_UINT8 || t->dtype == OC_DTYPE_INT8) return OC_OK;
    if (is_float8(t->dtype))
        return oc_kfail(k, OC_ERR_UNSUPPORTED, "%s of type %s: float8 is not implemented", what,
                        oc_dtype_name(t->dtype));
    return oc_kfail(k, OC_ERR_INVALID, "%s of type %s (want uint8 or int8)", what, oc_dtype_name(t->dtype));
}

/* ---- QuantizeLinear / DequantizeLinear ---- */

/* x seen as [outer, dim, inner]; the scale of element (o, d, i) is at
 * o * s_outer + (d / block) * s_dim + i * s_inner. */
typedef struct qlayout {
    int64_t outer, dim, inner, block;
    int64_t s_outer, s_dim, s_inner;
} qlayout;

static bool same_shape(const oc_ten *a, const oc_ten *b)
{
    if (a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->dims[i] != b->dims[i]) return false;
    return true;
}

static oc_status q_layout(oc_kctx *k, const oc_ten *x, const oc_ten *scale, const oc_ten *zp, qlayout *L)
{
    const char *sname = strcmp(k->node->op_type, "QuantizeLinear") == 0 ? "y_scale" : "x_scale";
    int64_t block = k->opset >= 21 ? oc_attr_int(k->node, "block_size", 0) : 0;
    if (zp && zp->numel != scale->numel)
        return oc_kfail(k, OC_ERR_INVALID, "zero point has %lld elements, %s %lld", (long long)zp->numel, sname,
                        (long long)scale->numel);
    *L = (qlayout){1, 1, x->numel, 1, 0, 0, 0};
    if (scale->numel == 1) return OC_OK; /* per tensor */
    if (k->opset < 13)
        return oc_kfail(k, OC_ERR_INVALID, "%s must be a scalar before opset 13 (has %lld elements)", sname,
                        (long long)scale->numel);
    int r = x->ndim;
    int64_t axis = oc_attr_int(k->node, "axis", 1);
    if (axis < -r || axis >= r)
        return oc_kfail(k, OC_ERR_INVALID, "axis %lld out of range for rank %d", (long long)axis, r);
    if (axis < 0) axis += r;
    int64_t d = x->dims[axis];
    L->dim = d;
    L->outer = 1;
    L->inner = 1;
    for (int i = 0; i < axis; i++) L->outer *= x->dims[i];
    for (int i = (int)axis + 1; i < r; i++) L->inner *= x->dims[i];
    if (block > 0) {
        int64_t nb = (d + block - 1) / block;
        bool ok = scale->ndim == r;
        for (int i = 0; ok && i < r; i++) ok = scale->dims[i] == (i == axis ? nb : x->dims[i]);
        if (!ok)
            return oc_kfail(k, OC_ERR_INVALID,
                            "blocked %s must have x's shape with dim %lld = ceil(%lld / block_size %lld) = %lld",
                            sname, (long long)axis, (long long)d, (long long)block, (long long)nb);
        if (zp && !same_shape(zp, scale))
            return oc_kfail(k, OC_ERR_INVALID, "zero point and %s differ in shape", sname);
        L->block = block;
        L->s_outer = nb * L->inner;
        L->s_dim = L->inner;
        L->s_inner = 1;
        return OC_OK;
    }
    if (scale->ndim != 1 || scale->dims[0] != d)
        return oc_kfail(k, OC_ERR_INVALID, "per-axis %s must be 1-D with %lld elements (axis %lld)", sname,
                        (long long)d, (long long)axis);
    L->s_dim = 1;
    return OC_OK;
}

/* The scale as float32 and the zero point as int32 (0 when absent);
 * *sc and *zv are oc_malloc'd. */
static oc_status q_params(oc_kctx *k, const oc_ten *scale, const oc_ten *zp, float **sc, int32_t **zv)
{
    size_t n = (size_t)scale->numel;
    *sc = oc_malloc((n ? n : 1) * sizeof(float));
    *zv = oc_calloc(n ? n : 1, sizeof(int32_t));
    if (!*sc || !*zv) {
        oc_free(*sc);
        oc_free(*zv);
        *sc = NULL;
        *zv = NULL;
        return oc_kfail(k, OC_ERR_NOMEM, "out of memory for %zu scales", n);
    }
    for (size_t i = 0; i < n; i++) (*sc)[i] = f_get(scale->dtype, scale->data, (int64_t)i);
    if (zp)
        for (size_t i = 0; i < n; i++) (*zv)[i] = q_get(zp->dtype, zp->data, (int64_t)i);
    return OC_OK;
}

static oc_status prepare_quantize(oc_kctx *k)
{
    const oc_node *n = k->node;
    if (n->n_inputs < 2 || n->n_outputs < 1)
        return oc_kfail(k, OC_ERR_INVALID, "needs x and a scale, and one output");
    if (k->opset >= 21 && oc_attr_int(n, "block_size", 0) < 0)
        return oc_kfail(k, OC_ERR_INVALID, "block_size %lld is negative", (long long)oc_attr_int(n, "block_size", 0));
    if (k->opset >= 21) {
        int64_t odt = oc_attr_int(n, "output_dtype", 0);
        if (odt) {
            if (odt < 0 || odt >= OC_DTYPE_COUNT)
                return oc_kfail(k, OC_ERR_INVALID, "output_dtype %lld", (long long)odt);
            FORWARD_IF_ERROR(check_qtype(k, (int)odt, "output_dtype", false));
        }
    }
    if (k->opset >= 23) {
        int64_t prec = oc_attr_int(n, "precision", 0);
        if (prec && prec != OC_DTYPE_FLOAT && prec != OC_DTYPE_FLOAT16 && prec != OC_DTYPE_BFLOAT16)
            return oc_kfail(k, OC_ERR_UNSUPPORTED, "precision %s is not implemented",
                            prec > 0 && prec < OC_DTYPE_COUNT ? oc_dtype_name((int)prec) : "(unknown)");
    }
    return OC_OK;
}

static oc_status run_quantize(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    const oc_ten *x = in[0], *scale = opt_in(in, n_in, 1), *zp = opt_in(in, n_in, 2);
    if (!x || !scale) return oc_kfail(k, OC_ERR_INVALID, "x and y_scale are required");
    if (x->dtype != OC_DTYPE_INT32) FORWARD_IF_ERROR(check_ftype(k, x->dtype, "x", 19));
    FORWARD_IF_ERROR(check_ftype(k, scale->dtype, "y_scale", 19));
    int odt = OC_DTYPE_UINT8;
    int64_t attr_dt = k->opset >= 21 ? oc_attr_int(k->node, "output_dtype", 0) : 0;
    if (zp) {
        odt = zp->dtype;
        if (attr_dt && attr_dt != odt)
            return oc_kfail(k, OC_ERR_INVALID, "output_dtype %s differs from y_zero_point's type %s",
                            oc_dtype_name((int)attr_dt), oc_dtype_name(odt));
    } else if (attr_dt) {
        odt = (int)attr_dt;
    }
    FORWARD_IF_ERROR(check_qtype(k, odt, zp ? "y_zero_point" : "output", false));
    /* the precision of x / y_scale: the scale's type unless told otherwise */
    int prec = scale->dtype;
    if (k->opset >= 23 && oc_attr_int(k->node, "precision", 0)) prec = (int)oc_attr_int(k->node, "precision", 0);

    qlayout L;
    FORWARD_IF_ERROR(q_layout(k, x, scale, zp, &L));
    int32_t lo = 0, hi = 0;
    q_bounds(odt, &lo, &hi);
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], odt, x->ndim, x->dims));
    float *sc;
    int32_t *zv;
    FORWARD_IF_ERROR(q_params(k, scale, zp, &sc, &zv));
    const unsigned char *xp = x->data;
    unsigned char *yp = out[0].data;
    bool fast = x->dtype == OC_DTYPE_FLOAT && prec == OC_DTYPE_FLOAT && L.s_inner == 0 &&
                (odt == OC_DTYPE_UINT8 || odt == OC_DTYPE_INT8);
    int64_t j = 0;
    for (int64_t o = 0; o < L.outer; o++) {
        for (int64_t d = 0; d < L.dim; d++) {
            int64_t sb = o * L.s_outer + (d / L.block) * L.s_dim;
            if (fast) {
                /* float32 -> 8-bit with one scale per run of `inner` elements */
                const float *xf = (const float *)(const void *)xp + j;
                float s = sc[sb];
                int32_t z = zv[sb];
                for (int64_t i = 0; i < L.inner; i++) yp[j + i] = (unsigned char)(q_saturate(xf[i] / s, z, lo, hi) & 0xff);
                j += L.inner;
                continue;
            }
            for (int64_t i = 0; i < L.inner; i++, j++) {
                int64_t si = sb + i * L.s_inner;
                int32_t q;
                if (x->dtype == OC_DTYPE_INT32) {
                    double v = (double)q_get(OC_DTYPE_INT32, xp, j) / (double)sc[si];
                    q = q_saturate_d(v, zv[si], lo, hi);
                } else {
                    q = q_saturate(round_to(prec, f_get(x->dtype, xp, j) / sc[si]), zv[si], lo, hi);
                }
                q_put(odt, yp, j, q);
            }
        }
    }
    oc_free(sc);
    oc_free(zv);
    return OC_OK;
}

static oc_status prepare_dequantize(oc_kctx *k)
{
    const oc_node *n = k->node;
    if (n->n_inputs < 2 || n->n_outputs < 1)
        return oc_kfail(k, OC_ERR_INVALID, "needs x and a scale, and one output");
    if (k->opset >= 21 && oc_attr_int(n, "block_size", 0) < 0)
        return oc_kfail(k, OC_ERR_INVALID, "block_size %lld is negative", (long long)oc_attr_int(n, "block_size", 0));
    if (k->opset >= 23) {
        int64_t odt = oc_attr_int(n, "output_dtype", 0);
        if (odt && odt != OC_DTYPE_FLOAT && odt != OC_DTYPE_FLOAT16 && odt != OC_DTYPE_BFLOAT16)
            return oc_kfail(k, OC_ERR_INVALID, "output_dtype %lld (want float, float16 or bfloat16)", (long long)odt);
    }
    return OC_OK;
}

static oc_status run_dequantize(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    const oc_ten *x = in[0], *scale = opt_in(in, n_in, 1), *zp = opt_in(in, n_in, 2);
    if (!x || !scale) return oc_kfail(k, OC_ERR_INVALID, "x and x_scale are required");
    FORWARD_IF_ERROR(check_qtype(k, x->dtype, "x", true));
    FORWARD_IF_ERROR(check_ftype(k, scale->dtype, "x_scale", 19));
    if (zp && zp->dtype != x->dtype)
        return oc_kfail(k, OC_ERR_INVALID, "x_zero_point of type %s, x of type %s", oc_dtype_name(zp->dtype),
                        oc_dtype_name(x->dtype));
    int odt = scale->dtype;
    if (k->opset >= 23 && oc_attr_int(k->node, "output_dtype", 0)) odt = (int)oc_attr_int(k->node, "output_dtype", 0);
    qlayout L;
    FORWARD_IF_ERROR(q_layout(k, x, scale, zp, &L));
    float *sc;
    int32_t *zv;
    FORWARD_IF_ERROR(q_params(k, scale, zp, &sc, &zv));
    if (x->dtype == OC_DTYPE_INT32)
        for (int64_t i = 0; i < scale->numel; i++)
            if (zv[i] != 0) {
                oc_free(sc);
                oc_free(zv);
                return oc_kfail(k, OC_ERR_INVALID, "int32 input needs a zero point of 0");
            }
    oc_status st = oc_ten_alloc(k, &out[0], odt, x->ndim, x->dims);
    if (st != OC_OK) {
        oc_free(sc);
        oc_free(zv);
        return st;
    }
    const unsigned char *xp = x->data;
    unsigned char *yp = out[0].data;
    bool fast = odt == OC_DTYPE_FLOAT && L.s_inner == 0 && (x->dtype == OC_DTYPE_UINT8 || x->dtype == OC_DTYPE_INT8);
    int64_t j = 0;
    for (int64_t o = 0; o < L.outer; o++) {
        for (int64_t d = 0; d < L.dim; d++) {
            int64_t sb = o * L.s_outer + (d / L.block) * L.s_dim;
            if (fast) {
                /* a run of 256 or more sharing this scale and zero point
                 * reads a table of the 256 possible results; a shorter one
                 * (per-channel along the last axis: runs of 1) computes them,
                 * as building the table would cost 256 per run */
                float *yf = (float *)(void *)yp + j;
                float s = sc[sb];
                int32_t z = zv[sb];
                bool sgn = x->dtype == OC_DTYPE_INT8;
                if (L.inner >= 256) {
                    float lut[256];
                    for (int b = 0; b < 256; b++) lut[b] = (float)((sgn ? from_s8((uint8_t)b) : b) - z) * s;
                    for (int64_t i = 0; i < L.inner; i++) yf[i] = lut[xp[j + i]];
                } else
                    for (int64_t i = 0; i < L.inner; i++)
                        yf[i] = (float)((sgn ? from_s8(xp[j + i]) : xp[j + i]) - z) * s;
                j += L.inner;
                continue;
            }
            for (int64_t i = 0; i < L.inner; i++, j++) {
                int64_t si = sb + i * L.s_inner;
                float v = (float)((int64_t)q_get(x->dtype, xp, j) - zv[si]) * sc[si];
                f_put(odt, yp, j, v);
            }
        }
    }
    oc_free(sc);
    oc_free(zv);
    return OC_OK;
}

/* ---- DynamicQuantizeLinear ---- */

static oc_status run_dynamic_quantize(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_in;
    const oc_ten *x = in[0];
    if (!x || x->dtype != OC_DTYPE_FLOAT)
        return oc_kfail(k, OC_ERR_INVALID, "x must be float32 (is %s)", x ? oc_dtype_name(x->dtype) : "absent");
    if (n_out < 3) return oc_kfail(k, OC_ERR_INVALID, "needs 3 outputs");
    const float *xf = x->data;
    /* the range always includes 0 */
    float mn = 0.0f, mx = 0.0f;
    for (int64_t i = 0; i < x->numel; i++) {
        if (xf[i] < mn) mn = xf[i];
        if (xf[i] > mx) mx = xf[i];
    }
    /* an all-zero input would divide 0 by 0: use scale 1 as ONNX Runtime does */
    float scale = mx == mn ? 1.0f : (mx - mn) / 255.0f;
    float zf = 0.0f - mn / scale;
    if (!(zf >= 0.0f)) zf = 0.0f;
    if (zf > 255.0f) zf = 255.0f;
    int32_t zp = (int32_t)rintf(zf);
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], OC_DTYPE_UINT8, x->ndim, x->dims));
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[1], OC_DTYPE_FLOAT, 0, NULL));
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[2], OC_DTYPE_UINT8, 0, NULL));
    uint8_t *y = out[0].data;
    for (int64_t i = 0; i < x->numel; i++) y[i] = (uint8_t)q_saturate(xf[i] / scale, zp, 0, 255);
    memcpy(out[1].data, &scale, 4);
    *(uint8_t *)out[2].data = (uint8_t)zp;
    return OC_OK;
}

/* ---- integer matrix products (MatMulInteger, QLinearMatMul) ---- */

/* numpy.matmul shapes: 1-D operands promoted to [1, K] / [K, 1]; batch dims
 * broadcast. a_of[b] / b_of[b] give the matrix of A / B used by output
 * matrix b. */
typedef struct mm_plan {
    int ra, rb;                              /* ranks after promotion */
    int64_t ad[OC_MAX_DIMS], bd[OC_MAX_DIMS]; /* promoted shapes */
    int64_t M, K, N;
    int64_t na, nb, nbatch;                  /* matrices in A, in B, out */
    int out_ndim;
    int64_t out_dims[OC_MAX_DIMS];
    int64_t *a_of, *b_of;
} mm_plan;

static void mm_plan_free(mm_plan *p)
{
    oc_free(p->a_of);
    oc_free(p->b_of);
    p->a_of = p->b_of = NULL;
}

static oc_status mm_plan_init(oc_kctx *k, const oc_ten *a, const oc_ten *b, mm_plan *p)
{
    memset(p, 0, sizeof(*p));
    if (a->ndim < 1 || b->ndim < 1) return oc_kfail(k, OC_ERR_INVALID, "matmul of a scalar");
    p->ra = a->ndim < 2 ? 2 : a->ndim;
    p->rb = b->ndim < 2 ? 2 : b->ndim;
    if (a->ndim == 1) {
        p->ad[0] = 1;
        p->ad[1] = a->dims[0];
    } else {
        memcpy(p->ad, a->dims, sizeof(int64_t) * (size_t)a->ndim);
    }
    if (b->ndim == 1) {
        p->bd[0] = b->dims[0];
        p->bd[1] = 1;
    } else {
        memcpy(p->bd, b->dims, sizeof(int64_t) * (size_t)b->ndim);
    }
    p->M = p->ad[p->ra - 2];
    p->K = p->ad[p->ra - 1];
    p->N = p->bd[p->rb - 1];
    if (p->bd[p->rb - 2] != p->K)
        return oc_kfail(k, OC_ERR_INVALID, "inner dims differ: %lld vs %lld", (long long)p->K,
                        (long long)p->bd[p->rb - 2]);
    int nba = p->ra - 2, nbb = p->rb - 2;
    int nbo = nba > nbb ? nba : nbb;
    int64_t batch[OC_MAX_DIMS], sa[OC_MAX_DIMS], sb[OC_MAX_DIMS];
    int64_t ca = 1, cb = 1;
    /* strides in matrices; walk from the innermost batch dim out */
    for (int i = nbo - 1; i >= 0; i--) {
        int ia = i - (nbo - nba), ib = i - (nbo - nbb);
        int64_t da = ia >= 0 ? p->ad[ia] : 1, db = ib >= 0 ? p->bd[ib] : 1;
        if (da != db && da != 1 && db != 1)
            return oc_kfail(k, OC_ERR_INVALID, "batch dims %lld and %lld do not broadcast", (long long)da,
                            (long long)db);
        batch[i] = da == 1 ? db : da;
        sa[i] = da == 1 ? 0 : ca;
        sb[i] = db == 1 ? 0 : cb;
        ca *= da;
        cb *= db;
    }
    p->na = ca;
    p->nb = cb;
    p->out_ndim = 0;
    int64_t nbatch = 1;
    for (int i = 0; i < nbo; i++) {
        p->out_dims[p->out_ndim++] = batch[i];
        nbatch *= batch[i];
    }
    if (a->ndim > 1) p->out_dims[p->out_ndim++] = p->M;
    if (b->ndim > 1) p->out_dims[p->out_ndim++] = p->N;
    if (p->out_ndim > OC_MAX_DIMS) return oc_kfail(k, OC_ERR_UNSUPPORTED, "result of rank %d", p->out_ndim);
    p->nbatch = nbatch;
    p->a_of = oc_malloc(sizeof(int64_t) * (size_t)(nbatch ? nbatch : 1));
    p->b_of = oc_malloc(sizeof(int64_t) * (size_t)(nbatch ? nbatch : 1));
    if (!p->a_of || !p->b_of) {
        mm_plan_free(p);
        return oc_kfail(k, OC_ERR_NOMEM, "out of memory");
    }
    for (int64_t bi = 0; bi < nbatch; bi++) {
        int64_t r = bi, oa = 0, ob = 0;
        for (int i = nbo - 1; i >= 0; i--) {
            int64_t idx = r % batch[i];
            r /= batch[i];
            oa += idx * sa[i];
            ob += idx * sb[i];
        }
        p->a_of[bi] = oa;
        p->b_of[bi] = ob;
    }
    return OC_OK;
}

/* A per-row (rows = true, for A) or per-column (for B) parameter expanded to
 * one value per row / column of every matrix of the operand, whose promoted
 * shape is dims[r]: out[mat * len + i], len = dims[r-2] or dims[r-1]. The
 * parameter is a scalar, a 1-D vector of that length, or an N-D tensor that
 * broadcasts to the operand's shape with 1 along K. */
static oc_status mm_expand(oc_kctx *k, const char *what, const oc_ten *p, int r, const int64_t *dims, bool rows,
                           float *out)
{
    int vary = rows ? r - 2 : r - 1, fixed = rows ? r - 1 : r - 2;
    int64_t len = dims[vary], nmat = 1;
    for (int i = 0; i < r - 2; i++) nmat *= dims[i];
    int64_t stride[OC_MAX_DIMS] = {0};
    if (p->numel == 1) {
        /* all strides 0 */
    } else if (p->ndim == 1) {
        if (p->dims[0] != len)
            return oc_kfail(k, OC_ERR_INVALID, "%s has %lld elements, want 1 or %lld (one per %s)", what,
                            (long long)p->dims[0], (long long)len, rows ? "row" : "column");
        stride[vary] = 1;
    } else {
        if (p->ndim > r) return oc_kfail(k, OC_ERR_INVALID, "%s has rank %d, its operand %d", what, p->ndim, r);
        int64_t s = 1;
        for (int i = r - 1; i >= 0; i--) {
            int pi = i - (r - p->ndim);
            int64_t pd = pi >= 0 ? p->dims[pi] : 1;
            if (pd != 1 && (pd != dims[i] || i == fixed))
                return oc_kfail(k, OC_ERR_INVALID, "%s of dim %lld at axis %d does not fit its operand (%lld)%s",
                                what, (long long)pd, i, (long long)dims[i], i == fixed ? " along K" : "");
            stride[i] = pd == 1 ? 0 : s;
            s *= pd;
        }
    }
    const unsigned char *pp = p->data;
    bool isf = p->dtype == OC_DTYPE_FLOAT || p->dtype == OC_DTYPE_FLOAT16 || p->dtype == OC_DTYPE_BFLOAT16;
    for (int64_t m = 0; m < nmat; m++) {
        int64_t rem = m, base = 0;
        for (int i = r - 3; i >= 0; i--) {
            base += (rem % dims[i]) * stride[i];
            rem /= dims[i];
        }
        for (int64_t i = 0; i < len; i++) {
            int64_t at = base + i * stride[vary];
            out[m * len + i] = isf ? f_get(p->dtype, pp, at) : (float)q_get(p->dtype, pp, at);
        }
    }
    return OC_OK;
}

/* A minus its per-row zero points and B minus its per-column zero points as
 * doubles, multiplied into acc[nbatch * M * N] (exact integers). */
static oc_status mm_int(oc_kctx *k, const mm_plan *p, const oc_ten *a, const float *azp, const oc_ten *b,
                        const float *bzp, double *acc)
{
    int64_t M = p->M, K = p->K, N = p->N;
    size_t na = (size_t)(p->na * M * K), nb = (size_t)(p->nb * K * N);
    double *ad = oc_malloc((na ? na : 1) * sizeof(double));
    double *bd = oc_malloc((nb ? nb : 1) * sizeof(double));
    if (!ad || !bd) {
        oc_free(ad);
        oc_free(bd);
        return oc_kfail(k, OC_ERR_NOMEM, "out of memory for the integer matmul");
    }
    const uint8_t *ap = a->data, *bp = b->data;
    bool as = a->dtype == OC_DTYPE_INT8, bs = b->dtype == OC_DTYPE_INT8;
    for (int64_t row = 0; row < p->na * M; row++) {
        double z = azp[row];
        const uint8_t *src = ap + row * K;
        double *dst = ad + row * K;
        for (int64_t c = 0; c < K; c++) dst[c] = (double)(as ? from_s8(src[c]) : src[c]) - z;
    }
    for (int64_t mat = 0; mat < p->nb; mat++)
        for (int64_t kk = 0; kk < K; kk++) {
            const float *z = bzp + mat * N;
            const uint8_t *src = bp + (mat * K + kk) * N;
            double *dst = bd + (mat * K + kk) * N;
            for (int64_t c = 0; c < N; c++) dst[c] = (double)(bs ? from_s8(src[c]) : src[c]) - z[c];
        }
    if (M && N) {
        if (K == 0) {
            memset(acc, 0, sizeof(double) * (size_t)(p->nbatch * M * N));
        } else if (p->nb == 1 && p->na == p->nbatch) {
            /* one shared B: all of A's rows in one product */
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(p->nbatch * M), (int)N, (int)K, 1.0, ad,
                        (int)K, bd, (int)N, 0.0, acc, (int)N);
        } else {
            for (int64_t bi = 0; bi < p->nbatch; bi++)
                cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)N, (int)K, 1.0,
                            ad + p->a_of[bi] * M * K, (int)K, bd + p->b_of[bi] * K * N, (int)N, 0.0,
                            acc + bi * M * N, (int)N);
        }
    }
    oc_free(ad);
    oc_free(bd);
    return OC_OK;
}

static oc_status mm_check_size(oc_kctx *k, const mm_plan *p)
{
    /* cblas takes int dimensions */
    if (p->nbatch * p->M > INT32_MAX || p->N > INT32_MAX || p->K > INT32_MAX)
        return oc_kfail(k, OC_ERR_UNSUPPORTED, "matrix dims beyond 2^31");
    return OC_OK;
}

static oc_status run_matmul_integer(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    const oc_ten *a = in[0], *b = opt_in(in, n_in, 1);
    const oc_ten *az = opt_in(in, n_in, 2), *bz = opt_in(in, n_in, 3);
    if (!a || !b) return oc_kfail(k, OC_ERR_INVALID, "A and B are required");
    FORWARD_IF_ERROR(check_8bit(k, a, "A"));
    FORWARD_IF_ERROR(check_8bit(k, b, "B"));
    if (az && az->dtype != a->dtype) return oc_kfail(k, OC_ERR_INVALID, "a_zero_point's type differs from A's");
    if (bz && bz->dtype != b->dtype) return oc_kfail(k, OC_ERR_INVALID, "b_zero_point's type differs from B's");
    mm_plan p;
    FORWARD_IF_ERROR(mm_plan_init(k, a, b, &p));
    oc_status st = mm_check_size(k, &p);
    float *azp = NULL, *bzp = NULL;
    double *acc = NULL;
    if (st != OC_OK) goto cleanup;
    size_t nza = (size_t)(p.na * p.M), nzb = (size_t)(p.nb * p.N), nacc = (size_t)(p.nbatch * p.M * p.N);
    azp = oc_calloc(nza ? nza : 1, sizeof(float));
    bzp = oc_calloc(nzb ? nzb : 1, sizeof(float));
    acc = oc_malloc((nacc ? nacc : 1) * sizeof(double));
    if (!azp || !bzp || !acc) {
        st = oc_kfail(k, OC_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    if (az && (st = mm_expand(k, "a_zero_point", az, p.ra, p.ad, true, azp)) != OC_OK) goto cleanup;
    if (bz && (st = mm_expand(k, "b_zero_point", bz, p.rb, p.bd, false, bzp)) != OC_OK) goto cleanup;
    if ((st = mm_int(k, &p, a, azp, b, bzp, acc)) != OC_OK) goto cleanup;
    if ((st = oc_ten_alloc(k, &out[0], OC_DTYPE_INT32, p.out_ndim, p.out_dims)) != OC_OK) goto cleanup;
    int32_t *y = out[0].data;
    for (size_t i = 0; i < nacc; i++) y[i] = wrap32(acc[i]);
cleanup:
    oc_free(azp);
    oc_free(bzp);
    oc_free(acc);
    mm_plan_free(&p);
    return st;
}

/* A scalar parameter (numel 1) as float. */
static oc_status scalar_f(oc_kctx *k, const oc_ten *t, const char *what, float *v)
{
    if (!t) return oc_kfail(k, OC_ERR_INVALID, "%s is required", what);
    if (t->numel != 1)
        return oc_kfail(k, OC_ERR_UNSUPPORTED, "%s with %lld elements (only a per-tensor %s is implemented)", what,
                        (long long)t->numel, what);
    *v = f_get(t->dtype, t->data, 0);
    return OC_OK;
}

static oc_status run_qlinear_matmul(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    if (n_in < 8) return oc_kfail(k, OC_ERR_INVALID, "needs 8 inputs, has %zu", n_in);
    const oc_ten *a = in[0], *as = in[1], *az = in[2], *b = in[3], *bs = in[4], *bz = in[5], *ys = in[6], *yz = in[7];
    if (!a || !as || !b || !bs || !ys) return oc_kfail(k, OC_ERR_INVALID, "a, b and the scales are required");
    FORWARD_IF_ERROR(check_8bit(k, a, "a"));
    FORWARD_IF_ERROR(check_8bit(k, b, "b"));
    FORWARD_IF_ERROR(check_ftype(k, as->dtype, "a_scale", 21));
    FORWARD_IF_ERROR(check_ftype(k, bs->dtype, "b_scale", 21));
    FORWARD_IF_ERROR(check_ftype(k, ys->dtype, "y_scale", 21));
    if (az && az->dtype != a->dtype) return oc_kfail(k, OC_ERR_INVALID, "a_zero_point's type differs from a's");
    if (bz && bz->dtype != b->dtype) return oc_kfail(k, OC_ERR_INVALID, "b_zero_point's type differs from b's");
    int odt = yz ? yz->dtype : OC_DTYPE_UINT8;
    if (yz) FORWARD_IF_ERROR(check_8bit(k, yz, "y_zero_point"));
    float ysv = 1.0f;
    FORWARD_IF_ERROR(scalar_f(k, ys, "y_scale", &ysv));
    int32_t yzv = 0;
    if (yz) {
        if (yz->numel != 1)
            return oc_kfail(k, OC_ERR_UNSUPPORTED, "y_zero_point with %lld elements (only per-tensor)",
                            (long long)yz->numel);
        yzv = q_get(yz->dtype, yz->data, 0);
    }
    int32_t lo = 0, hi = 0;
    q_bounds(odt, &lo, &hi);
    mm_plan p;
    FORWARD_IF_ERROR(mm_plan_init(k, a, b, &p));
    oc_status st = mm_check_size(k, &p);
    float *azp = NULL, *bzp = NULL, *asc = NULL, *bsc = NULL;
    double *acc = NULL;
    if (st != OC_OK) goto cleanup;
    size_t nza = (size_t)(p.na * p.M), nzb = (size_t)(p.nb * p.N), nacc = (size_t)(p.nbatch * p.M * p.N);
    azp = oc_calloc(nza ? nza : 1, sizeof(float));
    bzp = oc_calloc(nzb ? nzb : 1, sizeof(float));
    asc = oc_calloc(nza ? nza : 1, sizeof(float));
    bsc = oc_calloc(nzb ? nzb : 1, sizeof(float));
    acc = oc_malloc((nacc ? nacc : 1) * sizeof(double));
    if (!azp || !bzp || !asc || !bsc || !acc) {
        st = oc_kfail(k, OC_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    if (az && (st = mm_expand(k, "a_zero_point", az, p.ra, p.ad, true, azp)) != OC_OK) goto cleanup;
    if (bz && (st = mm_expand(k, "b_zero_point", bz, p.rb, p.bd, false, bzp)) != OC_OK) goto cleanup;
    if ((st = mm_expand(k, "a_scale", as, p.ra, p.ad, true, asc)) != OC_OK) goto cleanup;
    if ((st = mm_expand(k, "b_scale", bs, p.rb, p.bd, false, bsc)) != OC_OK) goto cleanup;
    if ((st = mm_int(k, &p, a, azp, b, bzp, acc)) != OC_OK) goto cleanup;
    if ((st = oc_ten_alloc(k, &out[0], odt, p.out_ndim, p.out_dims)) != OC_OK) goto cleanup;
    unsigned char *y = out[0].data;
    for (int64_t bi = 0; bi < p.nbatch; bi++) {
        const float *ar = asc + p.a_of[bi] * p.M, *bc = bsc + p.b_of[bi] * p.N;
        for (int64_t m = 0; m < p.M; m++) {
            const double *accr = acc + (bi * p.M + m) * p.N;
            unsigned char *yr = y + (bi * p.M + m) * p.N;
            for (int64_t n = 0; n < p.N; n++) {
                float mult = (ar[m] * bc[n]) / ysv;
                yr[n] = (unsigned char)(q_saturate((float)wrap32(accr[n]) * mult, yzv, lo, hi) & 0xff);
            }
        }
    }
cleanup:
    oc_free(azp);
    oc_free(bzp);
    oc_free(asc);
    oc_free(bsc);
    oc_free(acc);
    mm_plan_free(&p);
    return st;
}

/* ---- integer convolution (ConvInteger, QLinearConv) ---- */

typedef struct conv_geom {
    int ns;                       /* spatial rank */
    int64_t N, C, M, G, Cg, Mg;
    int64_t in[OC_MAX_DIMS], ker[OC_MAX_DIMS], out[OC_MAX_DIMS];
    int64_t stride[OC_MAX_DIMS], dil[OC_MAX_DIMS], pad[OC_MAX_DIMS];
    int64_t in_sz, ker_sz, out_sz;
} conv_geom;

static oc_status prepare_conv(oc_kctx *k)
{
    const oc_node *n = k->node;
    char buf[32];
    const char *ap = oc_attr_str(n, "auto_pad", "NOTSET", buf, sizeof(buf));
    if (strcmp(ap, "NOTSET") && strcmp(ap, "SAME_UPPER") && strcmp(ap, "SAME_LOWER") && strcmp(ap, "VALID"))
        return oc_kfail(k, OC_ERR_INVALID, "auto_pad '%s'", ap);
    if (oc_attr_int(n, "group", 1) < 1)
        return oc_kfail(k, OC_ERR_INVALID, "group %lld", (long long)oc_attr_int(n, "group", 1));
    const int64_t *v;
    int64_t c = oc_attr_ints(n, "strides", &v);
    for (int64_t i = 0; i < c; i++)
        if (v[i] < 1) return oc_kfail(k, OC_ERR_INVALID, "stride %lld", (long long)v[i]);
    c = oc_attr_ints(n, "dilations", &v);
    for (int64_t i = 0; i < c; i++)
        if (v[i] < 1) return oc_kfail(k, OC_ERR_INVALID, "dilation %lld", (long long)v[i]);
    c = oc_attr_ints(n, "pads", &v);
    for (int64_t i = 0; i < c; i++)
        if (v[i] < 0) return oc_kfail(k, OC_ERR_INVALID, "negative pad %lld", (long long)v[i]);
    size_t need = strcmp(n->op_type, "QLinearConv") == 0 ? 8 : 2;
    if (n->n_inputs < need) return oc_kfail(k, OC_ERR_INVALID, "needs %zu inputs, has %zu", need, n->n_inputs);
    return OC_OK;
}

static oc_status conv_geometry(oc_kctx *k, const oc_ten *x, const oc_ten *w, conv_geom *g)
{
    memset(g, 0, sizeof(*g));
    if (x->ndim < 3 || w->ndim != x->ndim)
        return oc_kfail(k, OC_ERR_INVALID, "x of rank %d and w of rank %d (want equal ranks >= 3)", x->ndim, w->ndim);
    const oc_node *n = k->node;
    int ns = x->ndim - 2;
    g->ns = ns;
    g->N = x->dims[0];
    g->C = x->dims[1];
    g->M = w->dims[0];
    g->G = oc_attr_int(n, "group", 1);
    if (g->G < 1 || g->C % g->G || g->M % g->G || w->dims[1] * g->G != g->C)
        return oc_kfail(k, OC_ERR_INVALID, "x has %lld channels, w %lld x %lld, group %lld", (long long)g->C,
                        (long long)g->M, (long long)w->dims[1], (long long)g->G);
    g->Cg = g->C / g->G;
    g->Mg = g->M / g->G;
    const int64_t *ks, *st, *dl, *pd;
    int64_t nk = oc_attr_ints(n, "kernel_shape", &ks), nst = oc_attr_ints(n, "strides", &st);
    int64_t ndl = oc_attr_ints(n, "dilations", &dl), npd = oc_attr_ints(n, "pads", &pd);
    if ((nk >= 0 && nk != ns) || (nst >= 0 && nst != ns) || (ndl >= 0 && ndl != ns) || (npd >= 0 && npd != 2 * ns))
        return oc_kfail(k, OC_ERR_INVALID, "kernel_shape/strides/dilations/pads do not fit %d spatial dims", ns);
    char buf[32];
    const char *ap = oc_attr_str(n, "auto_pad", "NOTSET", buf, sizeof(buf));
    g->in_sz = g->ker_sz = g->out_sz = 1;
    for (int i = 0; i < ns; i++) {
        int64_t in = x->dims[2 + i], kr = w->dims[2 + i];
        if (nk >= 0 && ks[i] != kr)
            return oc_kfail(k, OC_ERR_INVALID, "kernel_shape %lld differs from w's %lld", (long long)ks[i], (long long)kr);
        int64_t s = nst >= 0 ? st[i] : 1, d = ndl >= 0 ? dl[i] : 1;
        if (s < 1 || d < 1) return oc_kfail(k, OC_ERR_INVALID, "stride %lld, dilation %lld", (long long)s, (long long)d);
        int64_t ext = d * (kr - 1) + 1, pb = 0, pe = 0, o;
        if (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER")) {
            o = (in + s - 1) / s;
            int64_t total = (o - 1) * s + ext - in;
            if (total < 0) total = 0;
            pb = !strcmp(ap, "SAME_UPPER") ? total / 2 : total - total / 2;
            pe = total - pb;
        } else {
            if (!strcmp(ap, "NOTSET") && npd >= 0) {
                pb = pd[i];
                pe = pd[ns + i];
            }
            if (pb < 0 || pe < 0) return oc_kfail(k, OC_ERR_INVALID, "negative pads");
            int64_t span = in + pb + pe - ext;
            o = span < 0 ? 0 : span / s + 1;
        }
        g->in[i] = in;
        g->ker[i] = kr;
        g->out[i] = o;
        g->stride[i] = s;
        g->dil[i] = d;
        g->pad[i] = pb;
        g->in_sz *= in;
        g->ker_sz *= kr;
        g->out_sz *= o;
    }
    int64_t K = g->Cg * g->ker_sz;
    if (g->Mg > INT32_MAX || K > INT32_MAX || g->out_sz > INT32_MAX)
        return oc_kfail(k, OC_ERR_UNSUPPORTED, "convolution dims beyond 2^31");
    return OC_OK;
}

/* acc[N, M, out_sz] = conv(x - xzp, w - wzp[m]) with int32 wrap-around. */
static oc_status conv_int(oc_kctx *k, const conv_geom *g, const oc_ten *x, int32_t xzp, const oc_ten *w,
                          const int32_t *wzp, int32_t *acc)
{
    int ns = g->ns;
    int64_t K = g->Cg * g->ker_sz, P = g->out_sz;
    if (!g->N || !g->M || !P) return OC_OK;
    if (!K) {
        memset(acc, 0, sizeof(int32_t) * (size_t)(g->N * g->M * P));
        return OC_OK;
    }
    /* im2col in chunks of output positions, at most ~32 MB of columns */
    int64_t chunk = ((int64_t)1 << 22) / K;
    if (chunk < 1) chunk = 1;
    if (chunk > P) chunk = P;
    double *wd = oc_malloc(sizeof(double) * (size_t)(g->M * K));
    double *col = oc_malloc(sizeof(double) * (size_t)(K * chunk));
    double *cb = oc_malloc(sizeof(double) * (size_t)(g->Mg * chunk));
    if (!wd || !col || !cb) {
        oc_free(wd);
        oc_free(col);
        oc_free(cb);
        return oc_kfail(k, OC_ERR_NOMEM, "out of memory for the convolution");
    }
    const uint8_t *wp = w->data, *xp = x->data;
    bool ws = w->dtype == OC_DTYPE_INT8, xs = x->dtype == OC_DTYPE_INT8;
    for (int64_t m = 0; m < g->M; m++)
        for (int64_t i = 0; i < K; i++) {
            uint8_t b = wp[m * K + i];
            wd[m * K + i] = (double)((ws ? from_s8(b) : b) - wzp[m]);
        }
    for (int64_t n = 0; n < g->N; n++)
        for (int64_t grp = 0; grp < g->G; grp++)
            for (int64_t p0 = 0; p0 < P; p0 += chunk) {
                int64_t pc = P - p0 < chunk ? P - p0 : chunk;
                for (int64_t c = 0; c < g->Cg; c++) {
                    const uint8_t *xc = xp + (n * g->C + grp * g->Cg + c) * g->in_sz;
                    for (int64_t kk = 0; kk < g->ker_sz; kk++) {
                        int64_t kidx[OC_MAX_DIMS], oi[OC_MAX_DIMS], r = kk;
                        for (int d = ns - 1; d >= 0; d--) {
                            kidx[d] = r % g->ker[d];
                            r /= g->ker[d];
                        }
                        r = p0;
                        for (int d = ns - 1; d >= 0; d--) {
                            oi[d] = r % g->out[d];
                            r /= g->out[d];
                        }
                        double *row = col + (c * g->ker_sz + kk) * pc;
                        for (int64_t j = 0; j < pc; j++) {
                            int64_t off = 0;
                            bool inside = true;
                            for (int d = 0; d < ns; d++) {
                                int64_t ii = oi[d] * g->stride[d] - g->pad[d] + kidx[d] * g->dil[d];
                                if (ii < 0 || ii >= g->in[d]) {
                                    inside = false;
                                    break;
                                }
                                off = off * g->in[d] + ii;
                            }
                            /* padding is a real zero: x_zero_point once shifted */
                            row[j] = inside ? (double)((xs ? from_s8(xc[off]) : xc[off]) - xzp) : 0.0;
                            for (int d = ns - 1; d >= 0; d--) {
                                if (++oi[d] < g->out[d]) break;
                                oi[d] = 0;
                            }
                        }
                    }
                }
                cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)g->Mg, (int)pc, (int)K, 1.0,
                            wd + grp * g->Mg * K, (int)K, col, (int)pc, 0.0, cb, (int)pc);
                for (int64_t m = 0; m < g->Mg; m++) {
                    int32_t *dst = acc + (n * g->M + grp * g->Mg + m) * P + p0;
                    for (int64_t j = 0; j < pc; j++) dst[j] = wrap32(cb[m * pc + j]);
                }
            }
    oc_free(wd);
    oc_free(col);
    oc_free(cb);
    return OC_OK;
}

/* Per-output-channel weight zero points (scalar or M elements) as int32. */
static oc_status conv_wzp(oc_kctx *k, const oc_ten *wz, const oc_ten *w, int64_t M, int32_t **out)
{
    *out = oc_calloc((size_t)(M ? M : 1), sizeof(int32_t));
    if (!*out) return oc_kfail(k, OC_ERR_NOMEM, "out of memory");
    if (!wz) return OC_OK;
    if (wz->dtype != w->dtype) return oc_kfail(k, OC_ERR_INVALID, "w_zero_point's type differs from w's");
    if (wz->numel != 1 && (wz->ndim != 1 || wz->numel != M))
        return oc_kfail(k, OC_ERR_INVALID, "w_zero_point has %lld elements, want 1 or %lld", (long long)wz->numel,
                        (long long)M);
    for (int64_t m = 0; m < M; m++) (*out)[m] = q_get(wz->dtype, wz->data, wz->numel == 1 ? 0 : m);
    return OC_OK;
}

static void conv_out_dims(const conv_geom *g, int64_t *dims)
{
    dims[0] = g->N;
    dims[1] = g->M;
    for (int i = 0; i < g->ns; i++) dims[2 + i] = g->out[i];
}

static oc_status run_conv_integer(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    const oc_ten *x = in[0], *w = opt_in(in, n_in, 1), *xz = opt_in(in, n_in, 2), *wz = opt_in(in, n_in, 3);
    if (!x || !w) return oc_kfail(k, OC_ERR_INVALID, "x and w are required");
    FORWARD_IF_ERROR(check_8bit(k, x, "x"));
    FORWARD_IF_ERROR(check_8bit(k, w, "w"));
    int32_t xzp = 0;
    if (xz) {
        if (xz->dtype != x->dtype) return oc_kfail(k, OC_ERR_INVALID, "x_zero_point's type differs from x's");
        if (xz->numel != 1)
            return oc_kfail(k, OC_ERR_INVALID, "x_zero_point must be a scalar (has %lld elements)", (long long)xz->numel);
        xzp = q_get(xz->dtype, xz->data, 0);
    }
    conv_geom g;
    FORWARD_IF_ERROR(conv_geometry(k, x, w, &g));
    int32_t *wzp;
    FORWARD_IF_ERROR(conv_wzp(k, wz, w, g.M, &wzp));
    int64_t dims[OC_MAX_DIMS];
    conv_out_dims(&g, dims);
    oc_status st = oc_ten_alloc(k, &out[0], OC_DTYPE_INT32, x->ndim, dims);
    if (st == OC_OK) st = conv_int(k, &g, x, xzp, w, wzp, out[0].data);
    oc_free(wzp);
    return st;
}

static oc_status run_qlinear_conv(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    if (n_in < 8) return oc_kfail(k, OC_ERR_INVALID, "needs 8 inputs, has %zu", n_in);
    const oc_ten *x = in[0], *xs = in[1], *xz = in[2], *w = in[3], *ws = in[4], *wz = in[5], *ys = in[6], *yz = in[7];
    const oc_ten *bias = opt_in(in, n_in, 8);
    if (!x || !xs || !w || !ws || !ys) return oc_kfail(k, OC_ERR_INVALID, "x, w and the scales are required");
    FORWARD_IF_ERROR(check_8bit(k, x, "x"));
    FORWARD_IF_ERROR(check_8bit(k, w, "w"));
    FORWARD_IF_ERROR(check_ftype(k, xs->dtype, "x_scale", INT64_MAX));
    FORWARD_IF_ERROR(check_ftype(k, ws->dtype, "w_scale", INT64_MAX));
    FORWARD_IF_ERROR(check_ftype(k, ys->dtype, "y_scale", INT64_MAX));
    int odt = OC_DTYPE_UINT8;
    int32_t xzp = 0, yzp = 0;
    if (xz) {
        if (xz->dtype != x->dtype) return oc_kfail(k, OC_ERR_INVALID, "x_zero_point's type differs from x's");
        if (xz->numel != 1) return oc_kfail(k, OC_ERR_INVALID, "x_zero_point must be a scalar");
        xzp = q_get(xz->dtype, xz->data, 0);
    }
    if (yz) {
        FORWARD_IF_ERROR(check_8bit(k, yz, "y_zero_point"));
        if (yz->numel != 1) return oc_kfail(k, OC_ERR_INVALID, "y_zero_point must be a scalar");
        odt = yz->dtype;
        yzp = q_get(yz->dtype, yz->data, 0);
    }
    float xsv, ysv;
    if (xs->numel != 1) return oc_kfail(k, OC_ERR_INVALID, "x_scale must be a scalar");
    if (ys->numel != 1) return oc_kfail(k, OC_ERR_INVALID, "y_scale must be a scalar");
    xsv = f_get(xs->dtype, xs->data, 0);
    ysv = f_get(ys->dtype, ys->data, 0);
    conv_geom g;
    FORWARD_IF_ERROR(conv_geometry(k, x, w, &g));
    if (ws->numel != 1 && (ws->ndim != 1 || ws->numel != g.M))
        return oc_kfail(k, OC_ERR_INVALID, "w_scale has %lld elements, want 1 or %lld", (long long)ws->numel,
                        (long long)g.M);
    if (bias) {
        if (bias->dtype != OC_DTYPE_INT32)
            return oc_kfail(k, OC_ERR_INVALID, "bias of type %s (want int32)", oc_dtype_name(bias->dtype));
        if (bias->numel != g.M)
            return oc_kfail(k, OC_ERR_INVALID, "bias has %lld elements, want %lld", (long long)bias->numel,
                            (long long)g.M);
    }
    int32_t lo = 0, hi = 0;
    q_bounds(odt, &lo, &hi);
    int32_t *wzp = NULL, *acc = NULL;
    float *mult = NULL;
    oc_status st = conv_wzp(k, wz, w, g.M, &wzp);
    if (st != OC_OK) goto cleanup;
    size_t nacc = (size_t)(g.N * g.M * g.out_sz);
    acc = oc_malloc(sizeof(int32_t) * (nacc ? nacc : 1));
    mult = oc_malloc(sizeof(float) * (size_t)(g.M ? g.M : 1));
    if (!acc || !mult) {
        st = oc_kfail(k, OC_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    for (int64_t m = 0; m < g.M; m++) mult[m] = (xsv * f_get(ws->dtype, ws->data, ws->numel == 1 ? 0 : m)) / ysv;
    if ((st = conv_int(k, &g, x, xzp, w, wzp, acc)) != OC_OK) goto cleanup;
    int64_t dims[OC_MAX_DIMS];
    conv_out_dims(&g, dims);
    if ((st = oc_ten_alloc(k, &out[0], odt, x->ndim, dims)) != OC_OK) goto cleanup;
    unsigned char *y = out[0].data;
    for (int64_t n = 0; n < g.N; n++)
        for (int64_t m = 0; m < g.M; m++) {
            uint32_t bv = bias ? (uint32_t)q_get(OC_DTYPE_INT32, bias->data, m) : 0;
            size_t base = (size_t)((n * g.M + m) * g.out_sz);
            for (int64_t j = 0; j < g.out_sz; j++) {
                int32_t v = (int32_t)((uint32_t)acc[base + j] + bv);
                y[base + j] = (unsigned char)(q_saturate((float)v * mult[m], yzp, lo, hi) & 0xff);
            }
        }
cleanup:
    oc_free(wzp);
    oc_free(acc);
    oc_free(mult);
    return st;
}

const oc_op_def oc_ops_quant[] = {
    {"", "ConvInteger", 10, prepare_conv, run_conv_integer},
    {"", "DequantizeLinear", 10, prepare_dequantize, run_dequantize},
    {"", "DequantizeLinear", 13, prepare_dequantize, run_dequantize},
    {"", "DequantizeLinear", 19, prepare_dequantize, run_dequantize},
    {"", "DequantizeLinear", 21, prepare_dequantize, run_dequantize},
    {"", "DynamicQuantizeLinear", 11, NULL, run_dynamic_quantize},
    {"", "MatMulInteger", 10, NULL, run_matmul_integer},
    {"", "QLinearConv", 10, prepare_conv, run_qlinear_conv},
    {"", "QLinearMatMul", 10, NULL, run_qlinear_matmul},
    {"", "QLinearMatMul", 21, NULL, run_qlinear_matmul},
    {"", "QuantizeLinear", 10, prepare_quantize, run_quantize},
    {"", "QuantizeLinear", 13, prepare_quantize, run_quantize},
    {"", "QuantizeLinear", 19, prepare_quantize, run_quantize},
    {"", "QuantizeLinear", 21, prepare_quantize, run_quantize},
};
const size_t oc_ops_quant_count = sizeof(oc_ops_quant) / sizeof(oc_ops_quant[0]);
