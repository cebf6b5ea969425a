/* quant.c: the arithmetic of linear quantization: a float range becomes a
 * scale and zero point, floats become integers (round half to even, then
 * saturate), and whole weights are quantized per tensor, per channel or in
 * blocks, optionally searching the clipping range that minimises the squared
 * error. Bias is quantized to int32 against the product of the input and
 * weight scales.
 *
 * What it promises: 0 is always exactly representable (the range is widened
 * to hold it and the zero point is an integer inside [qmin, qmax]), so exact
 * zeros in a weight, pruned ones included, dequantize to exactly 0.0f; no
 * scale is ever 0, subnormal, infinite or NaN. The calibration observers live
 * in observer.c. */
#include "quant.h"

#include <assert.h>
#include <float.h>
#include <math.h>
#include <string.h>

/* ---- rounding ---- */

/* Round half to even of a value already clamped to |v| <= 2^22. Adding and
 * removing 1.5 * 2^23 leaves no fraction bits, so the FPU's default rounding
 * (to nearest, ties to even) does the work; unlike a call to nearbyintf this
 * vectorizes, which matters in the clipping search's inner loop. Needs floats
 * evaluated in float precision (not x87's extended registers) and no
 * -ffast-math, which would fold the two additions away. */
static inline float round_small(float v)
{
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0 && !defined(__FAST_MATH__)
    return (v + 12582912.0f) - 12582912.0f;
#else
    return nearbyintf(v);
#endif
}

/* The same for doubles clamped to |v| <= 2^51 (1.5 * 2^52), used where the
 * library call to nearbyint would cost more than the rest of the work. */
static inline double round_small_d(double v)
{
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0 && !defined(__FAST_MATH__)
    return (v + 6755399441055744.0) - 6755399441055744.0;
#else
    return nearbyint(v);
#endif
}

/* Round half to even of any double (nearbyint follows the default rounding
 * mode, which lib never changes). */
static inline double round_even(double v)
{
    return nearbyint(v);
}

/* ---- ranges and parameters ---- */

bool oc_q_range(int dtype, bool symmetric, int32_t *qmin, int32_t *qmax)
{
    int32_t lo, hi;
    switch (dtype) {
    case OC_DTYPE_INT8: lo = symmetric ? -127 : -128, hi = 127; break;
    case OC_DTYPE_UINT8: lo = 0, hi = 255; break;
    case OC_DTYPE_INT4: lo = symmetric ? -7 : -8, hi = 7; break;
    case OC_DTYPE_UINT4: lo = 0, hi = 15; break;
    case OC_DTYPE_INT16: lo = symmetric ? -32767 : -32768, hi = 32767; break;
    case OC_DTYPE_UINT16: lo = 0, hi = 65535; break;
    default: return false;
    }
    if (qmin) *qmin = lo;
    if (qmax) *qmax = hi;
    return true;
}

/* The zero point of symmetric unsigned types: the middle of the range, with
 * as many steps below as above (the top code is unused below). */
static int32_t unsigned_mid(int dtype)
{
    switch (dtype) {
    case OC_DTYPE_UINT8: return 128;
    case OC_DTYPE_UINT4: return 8;
    case OC_DTYPE_UINT16: return 32768;
    default: return 0;
    }
}

static double finite_or_zero(float v)
{
    return isfinite(v) ? (double)v : (isnan(v) ? 0.0 : (v > 0 ? (double)FLT_MAX : -(double)FLT_MAX));
}

oc_qparams oc_q_params(float rmin_in, float rmax_in, int dtype, bool symmetric)
{
    oc_qparams p = {1.0f, 0};
    int32_t qmin, qmax;
    if (!oc_q_range(dtype, symmetric, &qmin, &qmax)) return p;
    double rmin = finite_or_zero(rmin_in), rmax = finite_or_zero(rmax_in);
    rmin = rmin < 0 ? rmin : 0;
    rmax = rmax > 0 ? rmax : 0;

    if (symmetric) {
        const int32_t mid = unsigned_mid(dtype);
        /* signed: [-qmax, qmax] (narrow); unsigned: mid +- (qmax - mid) */
        const int32_t half = qmax - mid;
        const double absmax = -rmin > rmax ? -rmin : rmax;
        const float s = (float)(absmax / half);
        p.zero_point = mid;
        p.scale = s >= FLT_MIN ? s : 1.0f; /* a degenerate range: scale 1 */
        return p;
    }

    /* finite: |rmax - rmin| <= 2 FLT_MAX and qmax - qmin >= 15 */
    const float s = (float)((rmax - rmin) / ((double)qmax - qmin));
    if (!(s >= FLT_MIN)) {
        /* degenerate range: scale 1 and the zero point of [0, 0] */
        p.scale = 1.0f;
        p.zero_point = qmin;
        return p;
    }
    /* clamping first changes nothing (the bounds are integers) and keeps
     * the value small enough for round_small_d */
    double zp = (double)qmin - rmin / (double)s;
    zp = zp < qmin ? qmin : (zp > qmax ? qmax : zp);
    p.scale = s;
    p.zero_point = (int32_t)round_small_d(zp);
    return p;
}

int32_t oc_q_quantize1(float x, oc_qparams p, int32_t qmin, int32_t qmax)
{
    /* x / scale in float, as QuantizeLinear computes it */
    const float v = x / p.scale;
    if (isnan(v)) return p.zero_point < qmin ? qmin : (p.zero_point > qmax ? qmax : p.zero_point);
    double q = round_even((double)v) + (double)p.zero_point;
    if (q < qmin) return qmin;
    if (q > qmax) return qmax;
    return (int32_t)q;
}

/* ---- weights ---- */

/* w viewed as [outer, D, inner] around the axis; a group is the set of
 * elements sharing one scale: all of w (per tensor), one index along the axis
 * (per channel), or one run of `block` along the axis at fixed outer and inner
 * indices (blocked). */
typedef enum { PER_TENSOR, PER_CHANNEL, BLOCKED } granularity;

typedef struct layout {
    granularity kind;
    int64_t numel, outer, D, inner;
    int64_t block, nb; /* BLOCKED: block length, blocks along the axis */
    int64_t ngroups;
} layout;

typedef struct qspec {
    int dtype;
    bool symmetric;
    int32_t qmin, qmax;
} qspec;

/* ---- vector kernels of the weight pass ----
 * On a large model the weight pass is a few linear sweeps over every weight;
 * these are their loops, written so the compiler vectorizes them, in clones
 * for AVX-512, AVX2 and the baseline. They compute exactly what the scalar
 * expressions would: the same float operations per element, and the squared
 * error summed in double lanes (a different order of double additions than a
 * single running sum, far below anything a caller compares). */
#define Q_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
/* min/max reductions: see OC_FINITE_MINMAX */
#define Q_CLONES_MINMAX __attribute__((target_clones("avx512f", "avx2", "default"))) OC_FINITE_MINMAX

enum { FIN_CHUNK = 4096 };

/* Index of the first NaN or infinity in w[0..n), or n: the exponent bits of
 * each element are looked at in vector chunks, and only a chunk holding one
 * is searched again. */
Q_CLONES static int64_t first_nonfinite(const float *w, int64_t n)
{
    for (int64_t i0 = 0; i0 < n; i0 += FIN_CHUNK) {
        const int64_t i1 = n - i0 < FIN_CHUNK ? n : i0 + FIN_CHUNK;
        uint32_t bad = 0;
        for (int64_t i = i0; i < i1; i++) {
            uint32_t b;
            memcpy(&b, &w[i], sizeof(b));
            bad |= (uint32_t)((b & 0x7f800000u) == 0x7f800000u);
        }
        if (!bad) continue;
        for (int64_t i = i0; i < i1; i++)
            if (!isfinite(w[i])) return i;
    }
    return n;
}

/* Folds one row x[0..D) into running per-column minima and maxima. */
Q_CLONES static void minmax_cols(const float *restrict x, int64_t D, float *restrict mn, float *restrict mx)
{
    for (int64_t d = 0; d < D; d++) {
        mn[d] = x[d] < mn[d] ? x[d] : mn[d];
        mx[d] = x[d] > mx[d] ? x[d] : mx[d];
    }
}

/* Folds x[0..n) of finite floats into *mn, *mx. */
Q_CLONES_MINMAX static void minmax_run(const float *x, int64_t n, float *mn_, float *mx_)
{
    float mn = *mn_, mx = *mx_;
    for (int64_t i = 0; i < n; i++) {
        mn = x[i] < mn ? x[i] : mn;
        mx = x[i] > mx ? x[i] : mx;
    }
    *mn_ = mn, *mx_ = mx;
}

/* Sum of e[i]^2 over e[0..n), each square exact in double, in double lanes
 * (a running sum of doubles is an ordered reduction nothing vectorizes). */
static inline double sum_sq(const float *e, int64_t n)
{
    double acc[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) acc[l] += (double)e[i + l] * (double)e[i + l];
    double s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (; i < n; i++) s += (double)e[i] * (double)e[i];
    return s;
}

enum { Q_CHUNK = 256 };

/* One row of oc_q_absmax_cols: the largest finite |x[c]| into amax[c]
 * (NaN and infinities compare false against FLT_MAX and are passed over). */
Q_CLONES static void absmax_row(const float *restrict x, int64_t N, float *restrict amax)
{
    for (int64_t c = 0; c < N; c++) {
        const float a = fabsf(x[c]);
        amax[c] = a > amax[c] && a <= FLT_MAX ? a : amax[c];
    }
}

/* One row of oc_q_symmetric8_cols: clamped before rounding, which gives the
 * same integer as rounding first (qmax is an integer) and keeps |v| small
 * for round_small; NaN becomes the zero point, 0. */
Q_CLONES static void sym8_row(const float *restrict x, int64_t N, const float *restrict s, float qmax,
                              int8_t *restrict q)
{
    for (int64_t c = 0; c < N; c++) {
        float v = x[c] / s[c];
        v = v == v ? v : 0.0f;
        v = v < -qmax ? -qmax : v;
        v = v > qmax ? qmax : v;
        q[c] = (int8_t)(int32_t)round_small(v);
    }
}

void oc_q_absmax_cols(const float *w, int64_t K, int64_t N, float *amax)
{
    for (int64_t c = 0; c < N; c++) amax[c] = 0;
    for (int64_t k = 0; k < K; k++) absmax_row(w + k * N, N, amax);
}

void oc_q_symmetric8_cols(const float *w, int64_t K, int64_t N, const float *scale, int32_t qmax, int8_t *q)
{
    for (int64_t k = 0; k < K; k++) sym8_row(w + k * N, N, scale, (float)qmax, q + k * N);
}

/* Quantizes x[0..n) to 8 bits with one scale s, the clamp [lo, hi] of x / s
 * (the integer range less the zero point zp), into out; returns the summed
 * squared dequantization error. The errors of a chunk go through a buffer so
 * that both loops are plain element-wise ones. */
Q_CLONES static double quant_run8(const float *restrict x, int64_t n, float s, float lo, float hi, float zp,
                                  uint8_t *restrict out)
{
    float e[Q_CHUNK];
    double err = 0;
    for (int64_t i0 = 0; i0 < n; i0 += Q_CHUNK) {
        const int64_t m = n - i0 < Q_CHUNK ? n - i0 : Q_CHUNK;
        const float *restrict xc = x + i0;
        uint8_t *restrict oc = out + i0;
        for (int64_t i = 0; i < m; i++) {
            float v = xc[i] / s;
            v = v < lo ? lo : v;
            v = v > hi ? hi : v;
            v = round_small(v);
            oc[i] = (uint8_t)(int32_t)(v + zp);
            e[i] = v * s - xc[i];
        }
        err += sum_sq(e, m);
    }
    return err;
}

/* The same with a scale, clamp and zero point per element, from arrays
 * indexed like x (a row of a weight quantized along its last axis). */
Q_CLONES static double quant_cols8(const float *restrict x, int64_t n, const float *restrict s,
                                   const float *restrict lo, const float *restrict hi, const float *restrict zp,
                                   uint8_t *restrict out)
{
    float e[Q_CHUNK];
    double err = 0;
    for (int64_t i0 = 0; i0 < n; i0 += Q_CHUNK) {
        const int64_t m = n - i0 < Q_CHUNK ? n - i0 : Q_CHUNK;
        for (int64_t i = 0; i < m; i++) {
            const int64_t j = i0 + i;
            float v = x[j] / s[j];
            v = v < lo[j] ? lo[j] : v;
            v = v > hi[j] ? hi[j] : v;
            v = round_small(v);
            out[j] = (uint8_t)(int32_t)(v + zp[j]);
            e[i] = v * s[j] - x[j];
        }
        err += sum_sq(e, m);
    }
    return err;
}

/* Squared dequantization error of one element: the same float operations
 * as the final pass, so the search scores what gets written. */
static inline float elem_sq_error(float x, float s, float lo, float hi)
{
    float v = x / s;
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    const float d = round_small(v) * s - x;
    return d * d;
}

/* Sum of squared dequantization errors of x[0..n) under p. Partial sums run
 * in LANES float accumulators over short chunks: a single running sum is an
 * ordered reduction the compiler may not vectorize, and this loop is the
 * clipping search's whole cost. */
enum { LANES = 8, CHUNK = 64 * LANES };

static double group_sq_error(const float *x, int64_t n, oc_qparams p, const qspec *qs)
{
    const float s = p.scale;
    const float lo = (float)(qs->qmin - p.zero_point), hi = (float)(qs->qmax - p.zero_point);
    double e = 0;
    int64_t i = 0;
    while (n - i >= LANES) {
        float acc[LANES] = {0};
        const int64_t run = (n - i < CHUNK ? n - i : CHUNK) / LANES * LANES;
        for (const float *c = x + i, *end = x + i + run; c < end; c += LANES)
            for (int l = 0; l < LANES; l++) acc[l] += elem_sq_error(c[l], s, lo, hi);
        for (int l = 0; l < LANES; l++) e += acc[l];
        i += run;
    }
    for (; i < n; i++) e += elem_sq_error(x[i], s, lo, hi);
    return e;
}

/* Candidates of the clipping search: the range shrunk by factors from 1.0
 * down to 0.5, both ends kept. */
enum { MSE_STEPS = 100 };

static oc_qparams fit_group(const float *x, int64_t n, const qspec *qs, bool mse)
{
    float mn = 0, mx = 0;
    minmax_run(x, n, &mn, &mx);
    oc_qparams best = oc_q_params(mn, mx, qs->dtype, qs->symmetric);
    if (!mse || n == 0 || (mn == 0 && mx == 0)) return best;

    double best_err = group_sq_error(x, n, best, qs);
    oc_qparams prev = best;
    for (int k = 1; k < MSE_STEPS && best_err > 0; k++) {
        const float a = (float)(1.0 - 0.5 * k / (MSE_STEPS - 1));
        const oc_qparams p = oc_q_params(a * mn, a * mx, qs->dtype, qs->symmetric);
        if (p.scale == prev.scale && p.zero_point == prev.zero_point) continue;
        prev = p;
        const double e = group_sq_error(x, n, p, qs);
        if (e < best_err) best_err = e, best = p; /* ties keep the wider range */
    }
    return best;
}

/* Elements of group g, in row-major order: a pointer into w when they are
 * contiguous, else gathered into scratch. */
static const float *group_elems(const layout *L, const float *w, int64_t g, float *scratch, int64_t *n)
{
    switch (L->kind) {
    case PER_TENSOR:
        *n = L->numel;
        return w;
    case PER_CHANNEL:
        *n = L->outer * L->inner;
        if (L->outer == 1) return w + g * L->inner;
        for (int64_t o = 0, k = 0; o < L->outer; o++) {
            memcpy(scratch + k, w + (o * L->D + g) * L->inner, (size_t)L->inner * sizeof(float));
            k += L->inner;
        }
        return scratch;
    case BLOCKED: {
        const int64_t i = g % L->inner, b = (g / L->inner) % L->nb, o = g / (L->inner * L->nb);
        const int64_t d0 = b * L->block, d1 = d0 + L->block < L->D ? d0 + L->block : L->D;
        *n = d1 - d0;
        const float *base = w + (o * L->D + d0) * L->inner + i;
        if (L->inner == 1) return base;
        for (int64_t d = 0; d < *n; d++) scratch[d] = base[d * L->inner];
        return scratch;
    }
    }
    assert(0 && "unknown granularity");
    return NULL;
}

static int dtype_bits(int dtype)
{
    switch (dtype) {
    case OC_DTYPE_INT4:
    case OC_DTYPE_UINT4: return 4;
    case OC_DTYPE_INT16:
    case OC_DTYPE_UINT16: return 16;
    default: return 8;
    }
}

static size_t packed_nbytes(int bits, int64_t n)
{
    return bits == 4 ? (size_t)((n + 1) / 2) : (size_t)n * (size_t)(bits / 8);
}

/* Stores q as element k of a buffer in ONNX raw layout (zeroed beforehand for
 * 4-bit: two per byte, element 2j in the low nibble of byte j). */
static inline void put_q(uint8_t *buf, int bits, int64_t k, int32_t q)
{
    switch (bits) {
    case 4: buf[k >> 1] |= (uint8_t)(((uint32_t)q & 0xFu) << ((k & 1) * 4)); break;
    case 8: buf[k] = (uint8_t)(uint32_t)q; break;
    default: /* 16, little-endian */
        buf[2 * k] = (uint8_t)((uint32_t)q & 0xFFu);
        buf[2 * k + 1] = (uint8_t)(((uint32_t)q >> 8) & 0xFFu);
        break;
    }
}

/* Packs n bytes q[0..n), each holding a 4-bit value in its low nibble, as
 * elements k.. of a zeroed 4-bit buffer (element 2j in the low nibble of
 * byte j). */
static void pack4(uint8_t *restrict buf, int64_t k, const uint8_t *restrict q, int64_t n)
{
    int64_t j = 0;
    if (n > 0 && (k & 1)) buf[k >> 1] |= (uint8_t)((q[j++] & 0xFu) << 4);
    uint8_t *restrict b = buf + ((k + j) >> 1);
    const int64_t pairs = (n - j) / 2;
    for (int64_t p = 0; p < pairs; p++) b[p] = (uint8_t)((q[j + 2 * p] & 0xFu) | (q[j + 2 * p + 1] << 4));
    j += 2 * pairs;
    if (j < n) b[pairs] |= (uint8_t)(q[j] & 0xFu);
}

enum { EMIT_PIECE = 4096 };

/* Quantizes w[k..k+n) into data (8 or 4 bits): with the parameters of group
 * g for all (each false), or of groups g, g+1, ... one per element. pf holds
 * the clamp floors, ceilings and zero points of all ngroups groups. */
static double emit(const float *w, int64_t k, int64_t n, const float *scale, const float *pf, int64_t ngroups,
                   int64_t g, bool each, int bits, uint8_t *data)
{
    const float *lo = pf, *hi = pf + ngroups, *zf = pf + 2 * ngroups;
    uint8_t tmp[EMIT_PIECE];
    double err = 0;
    for (int64_t i = 0; i < n; i += EMIT_PIECE) {
        const int64_t m = n - i < EMIT_PIECE ? n - i : EMIT_PIECE;
        uint8_t *dst = bits == 8 ? data + k + i : tmp;
        if (each) {
            const int64_t h = g + i;
            err += quant_cols8(w + k + i, m, scale + h, lo + h, hi + h, zf + h, dst);
        } else {
            err += quant_run8(w + k + i, m, scale[g], lo[g], hi[g], zf[g], dst);
        }
        if (bits == 4) pack4(data, k + i, tmp, m);
    }
    return err;
}

/* The final pass of 8- and 4-bit weights, in runs along w's memory order
 * whose parameters are either shared or one group per element. */
static double emit_all(const layout *L, const float *w, const float *scale, const float *pf, int bits,
                       uint8_t *data)
{
    const int64_t G = L->ngroups;
    double err = 0;
    switch (L->kind) {
    case PER_TENSOR: return L->numel ? emit(w, 0, L->numel, scale, pf, G, 0, false, bits, data) : 0;
    case PER_CHANNEL:
        for (int64_t ou = 0; ou < L->outer; ou++) {
            const int64_t k = ou * L->D * L->inner;
            if (L->inner == 1) err += emit(w, k, L->D, scale, pf, G, 0, true, bits, data);
            else
                for (int64_t d = 0; d < L->D; d++)
                    err += emit(w, k + d * L->inner, L->inner, scale, pf, G, d, false, bits, data);
        }
        return err;
    case BLOCKED:
        for (int64_t ou = 0; ou < L->outer; ou++) {
            if (L->inner == 1) {
                for (int64_t b = 0; b < L->nb; b++) {
                    const int64_t d0 = b * L->block, n = d0 + L->block < L->D ? L->block : L->D - d0;
                    err += emit(w, ou * L->D + d0, n, scale, pf, G, ou * L->nb + b, false, bits, data);
                }
            } else {
                for (int64_t d = 0; d < L->D; d++)
                    err += emit(w, (ou * L->D + d) * L->inner, L->inner, scale, pf, G,
                                (ou * L->nb + d / L->block) * L->inner, true, bits, data);
            }
        }
        return err;
    }
    return err;
}

static oc_status check_weight(oc_ctx *ctx, const float *w, int ndim, const int64_t *dims,
                              const oc_qweight_opts *o, layout *L)
{
    int32_t qmin, qmax;
    RETURN_ERROR_IF(!o, ctx, OC_ERR_USAGE, "quantize weight: no options");
    RETURN_ERROR_IF(!oc_q_range(o->dtype, o->symmetric, &qmin, &qmax), ctx, OC_ERR_USAGE,
                    "quantize weight: element type %d is not int8, uint8, int4, uint4, int16 or uint16",
                    o->dtype);
    RETURN_ERROR_IF(ndim < 0 || ndim > OC_MAX_DIMS || (ndim > 0 && !dims), ctx, OC_ERR_USAGE,
                    "quantize weight: rank %d outside [0, %d]", ndim, OC_MAX_DIMS);
    RETURN_ERROR_IF(o->axis < -1 || o->axis >= (ndim > 0 ? ndim : 0), ctx, OC_ERR_USAGE,
                    "quantize weight: axis %d outside [-1, %d)", o->axis, ndim);
    RETURN_ERROR_IF(o->block < 0, ctx, OC_ERR_USAGE, "quantize weight: negative block size %lld",
                    (long long)o->block);
    RETURN_ERROR_IF(o->block > 0 && o->axis < 0, ctx, OC_ERR_USAGE,
                    "quantize weight: block size %lld needs an axis", (long long)o->block);

    int64_t numel = 1;
    for (int k = 0; k < ndim; k++) {
        RETURN_ERROR_IF(dims[k] < 0, ctx, OC_ERR_INVALID, "quantize weight: dimension %d is %lld", k,
                        (long long)dims[k]);
        RETURN_ERROR_IF(oc_mul_overflow_i64(numel, dims[k], &numel) || numel > (int64_t)(SIZE_MAX / 8), ctx,
                        OC_ERR_INVALID, "quantize weight: element count overflows");
    }
    RETURN_ERROR_IF(numel > 0 && !w, ctx, OC_ERR_USAGE, "quantize weight: no data");
    const int64_t bad = numel > 0 ? first_nonfinite(w, numel) : 0;
    RETURN_ERROR_IF(bad < numel, ctx, OC_ERR_UNSUPPORTED,
                    "quantize weight: element %lld is %s; only finite weights can be quantized", (long long)bad,
                    isnan(w[bad]) ? "NaN" : "infinite");

    memset(L, 0, sizeof(*L));
    L->numel = numel;
    L->outer = 1, L->D = 1, L->inner = numel;
    L->ngroups = 1;
    L->kind = PER_TENSOR;
    if (o->axis >= 0) {
        L->inner = 1;
        for (int k = 0; k < o->axis; k++) L->outer *= dims[k];
        L->D = dims[o->axis];
        for (int k = o->axis + 1; k < ndim; k++) L->inner *= dims[k];
        if (o->block == 0) {
            L->kind = PER_CHANNEL;
            L->ngroups = L->D;
        } else {
            L->kind = BLOCKED;
            L->block = o->block;
            L->nb = L->D / o->block + (L->D % o->block != 0);
            L->ngroups = L->outer * L->nb * L->inner; /* <= numel: no overflow */
        }
    }
    return OC_OK;
}

oc_status oc_quantize_weight(oc_ctx *ctx, const float *w, int ndim, const int64_t *dims,
                             const oc_qweight_opts *o, oc_qweight *out)
{
    RETURN_ERROR_IF(!out, ctx, OC_ERR_USAGE, "quantize weight: no output");
    memset(out, 0, sizeof(*out));
    layout L = {.kind = PER_TENSOR};
    FORWARD_IF_ERROR(check_weight(ctx, w, ndim, dims, o, &L));

    qspec qs = {.dtype = o->dtype, .symmetric = o->symmetric};
    oc_q_range(o->dtype, o->symmetric, &qs.qmin, &qs.qmax);
    const int bits = dtype_bits(o->dtype);

    oc_status st = OC_OK;
    int32_t *zp = NULL;
    float *scratch = NULL, *pf = NULL;
    int64_t scratch_n = 0;
    if (L.kind == PER_CHANNEL && L.outer > 1) scratch_n = o->mse ? L.outer * L.inner : 2 * L.D;
    if (L.kind == BLOCKED && L.inner > 1) scratch_n = L.block < L.D ? L.block : L.D;

    out->nbytes = packed_nbytes(bits, L.numel);
    out->zp_nbytes = packed_nbytes(bits, L.ngroups);
    out->scale_numel = L.ngroups;
    out->data = oc_calloc(out->nbytes, 1);
    out->zero_point = oc_calloc(out->zp_nbytes, 1);
    out->scale = oc_malloc((size_t)L.ngroups * sizeof(float));
    zp = oc_malloc((size_t)L.ngroups * sizeof(int32_t));
    scratch = scratch_n ? oc_malloc((size_t)scratch_n * sizeof(float)) : NULL;
    pf = bits <= 8 ? oc_malloc((size_t)(3 * L.ngroups + 1) * sizeof(float)) : NULL;
    if (!out->data || !out->zero_point || !out->scale || !zp || (scratch_n && !scratch) || (bits <= 8 && !pf)) {
        st = oc_fail(ctx, OC_ERR_NOMEM, "quantize weight: out of memory for %lld elements", (long long)L.numel);
        goto cleanup;
    }

    if (L.kind == PER_TENSOR) {
        out->scale_ndim = 0;
    } else if (L.kind == PER_CHANNEL) {
        out->scale_ndim = 1;
        out->scale_dims[0] = L.D;
    } else {
        out->scale_ndim = ndim;
        for (int k = 0; k < ndim; k++) out->scale_dims[k] = dims[k];
        out->scale_dims[o->axis] = L.nb;
    }

    if (o->fixed) {
        if (o->fixed->scale_numel != L.ngroups) {
            st = oc_fail(ctx, OC_ERR_USAGE, "quantize weight: %lld given scales for %lld groups",
                         (long long)o->fixed->scale_numel, (long long)L.ngroups);
            goto cleanup;
        }
        for (int64_t g = 0; g < L.ngroups; g++) {
            out->scale[g] = o->fixed->scale[g];
            zp[g] = oc_qweight_zero_point(o->fixed, o->dtype, g);
            put_q(out->zero_point, bits, g, zp[g]);
        }
    } else if (!o->mse && L.kind == PER_CHANNEL && L.outer > 1) {
        /* min/max per channel in one pass over w in memory order (gathering
         * a channel of a [K, N] MatMul weight would read w N times, strided):
         * the same ranges fit_group finds, 0 included */
        float *mn = scratch, *mx = scratch + L.D;
        for (int64_t d = 0; d < L.D; d++) mn[d] = mx[d] = 0;
        for (int64_t ou = 0; ou < L.outer; ou++) {
            const float *row = w + ou * L.D * L.inner;
            if (L.inner == 1) minmax_cols(row, L.D, mn, mx);
            else
                for (int64_t d = 0; d < L.D; d++) minmax_run(row + d * L.inner, L.inner, &mn[d], &mx[d]);
        }
        for (int64_t g = 0; g < L.ngroups; g++) {
            const oc_qparams p = oc_q_params(mn[g], mx[g], qs.dtype, qs.symmetric);
            out->scale[g] = p.scale;
            zp[g] = p.zero_point;
            put_q(out->zero_point, bits, g, p.zero_point);
        }
    } else
    for (int64_t g = 0; g < L.ngroups; g++) {
        int64_t n;
        const float *x = group_elems(&L, w, g, scratch, &n);
        const oc_qparams p = fit_group(x, n, &qs, o->mse);
        out->scale[g] = p.scale;
        zp[g] = p.zero_point;
        put_q(out->zero_point, bits, g, p.zero_point);
    }

    /* the final pass walks w in order; the group of (o, d, i) follows the layout */
    double err = 0;
    if (bits <= 8) {
        for (int64_t g = 0; g < L.ngroups; g++) {
            pf[g] = (float)(qs.qmin - zp[g]);
            pf[L.ngroups + g] = (float)(qs.qmax - zp[g]);
            pf[2 * L.ngroups + g] = (float)zp[g];
        }
        err = emit_all(&L, w, out->scale, pf, bits, out->data);
    } else
    for (int64_t ou = 0, k = 0; ou < L.outer; ou++) {
        for (int64_t d = 0; d < L.D; d++) {
            for (int64_t i = 0; i < L.inner; i++, k++) {
                int64_t g = 0;
                if (L.kind == PER_CHANNEL) g = d;
                else if (L.kind == BLOCKED) g = (ou * L.nb + d / L.block) * L.inner + i;
                const float s = out->scale[g];
                const float lo = (float)(qs.qmin - zp[g]), hi = (float)(qs.qmax - zp[g]);
                float v = w[k] / s;
                v = v < lo ? lo : v;
                v = v > hi ? hi : v;
                v = round_small(v);
                put_q(out->data, bits, k, (int32_t)v + zp[g]);
                const float e = v * s - w[k];
                err += (double)e * e;
            }
        }
    }
    out->sq_error = err;

cleanup:
    oc_free(zp);
    oc_free(scratch);
    oc_free(pf);
    if (st != OC_OK) oc_qweight_free(out);
    return st;
}

int64_t oc_qweight_group(int ndim, const int64_t *dims, const oc_qweight_opts *o, int64_t k)
{
    if (o->axis < 0 || o->axis >= ndim) return 0;
    int64_t inner = 1;
    for (int a = o->axis + 1; a < ndim; a++) inner *= dims[a];
    const int64_t D = dims[o->axis], d = k / inner % D;
    if (!o->block) return d;
    const int64_t nb = D / o->block + (D % o->block != 0);
    return (k / (inner * D) * nb + d / o->block) * inner + k % inner;
}

int32_t oc_qweight_zero_point(const oc_qweight *q, int dtype, int64_t g)
{
    const uint8_t *b = q->zero_point;
    switch (dtype) {
    case OC_DTYPE_INT4: return (int32_t)((int8_t)(uint8_t)((b[g >> 1] >> ((g & 1) * 4)) << 4) >> 4);
    case OC_DTYPE_UINT4: return (b[g >> 1] >> ((g & 1) * 4)) & 0xF;
    case OC_DTYPE_INT8: return (int8_t)b[g];
    case OC_DTYPE_UINT8: return b[g];
    case OC_DTYPE_INT16: return (int16_t)(uint16_t)(b[2 * g] | b[2 * g + 1] << 8);
    default: return (int32_t)(b[2 * g] | b[2 * g + 1] << 8); /* uint16 */
    }
}

void oc_qweight_free(oc_qweight *q)
{
    if (!q) return;
    oc_free(q->data);
    oc_free(q->scale);
    oc_free(q->zero_point);
    memset(q, 0, sizeof(*q));
}

/* ---- bias ---- */

void oc_quantize_bias(const float *b, int64_t n, float input_scale, const float *w_scale, int64_t n_wscale,
                      int32_t *out, float *out_scale)
{
    assert(n_wscale == 1 || n_wscale == n);
    for (int64_t c = 0; c < n_wscale; c++)
        if (out_scale) out_scale[c] = input_scale * w_scale[c];
    for (int64_t c = 0; c < n; c++) {
        /* divide by the float product the runtime will multiply back by */
        const float s = input_scale * w_scale[n_wscale == 1 ? 0 : c];
        const double v = round_even((double)b[c] / (double)s);
        if (isnan(v)) out[c] = 0;
        else if (v >= (double)INT32_MAX) out[c] = INT32_MAX;
        else if (v <= (double)INT32_MIN) out[c] = INT32_MIN;
        else out[c] = (int32_t)v;
    }
}
