/* test_quant.c: quantization numerics: ranges and parameters against
 * hand-computed values, the error bound of every weight scheme (per tensor,
 * per channel, blocked; int8, uint8, int4, uint4; symmetric and asymmetric;
 * min/max and the MSE search) checked by a dequantizer written here from the
 * ONNX DequantizeLinear definition, 4-bit packing byte by byte, exact zeros,
 * degenerate inputs, bias rounding, and the streaming observers: exact
 * min/max, histogram growth that keeps every count, percentiles of a known
 * distribution, entropy and MSE thresholds on a Gaussian with outliers, and
 * ten million values streamed with every allocation failing.
 *
 * The observer's histogram is private to observer.c; this file includes it to
 * read the bins (the library's copy is then not linked in). */
#include "quant/observer.c"

#include "unit.h"

#include <float.h>
#include <math.h>
#include <stdint.h>

static oc_ctx ctx;

/* ---- helpers ---- */

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 32);
}

/* uniform in [0, 1) */
static double unif(void)
{
    return rnd() / 4294967296.0;
}

static double gauss(void)
{
    double u = unif(), v = unif();
    if (u < 1e-300) u = 1e-300;
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

static const int qtypes[] = {OC_DTYPE_INT8, OC_DTYPE_UINT8, OC_DTYPE_INT4, OC_DTYPE_UINT4};

static const char *tname(int dt)
{
    switch (dt) {
    case OC_DTYPE_INT8: return "int8";
    case OC_DTYPE_UINT8: return "uint8";
    case OC_DTYPE_INT4: return "int4";
    case OC_DTYPE_UINT4: return "uint4";
    default: return "?";
    }
}

/* element k of a buffer in ONNX raw layout */
static int32_t raw_get(const void *buf, int dtype, int64_t k)
{
    const uint8_t *b = buf;
    switch (dtype) {
    case OC_DTYPE_INT4: {
        const int v = (b[k / 2] >> ((k % 2) * 4)) & 0xF;
        return v >= 8 ? v - 16 : v;
    }
    case OC_DTYPE_UINT4: return (b[k / 2] >> ((k % 2) * 4)) & 0xF;
    case OC_DTYPE_INT8: return (int8_t)b[k];
    case OC_DTYPE_UINT8: return b[k];
    case OC_DTYPE_INT16: return (int16_t)(uint16_t)(b[2 * k] | b[2 * k + 1] << 8);
    case OC_DTYPE_UINT16: return (uint16_t)(b[2 * k] | b[2 * k + 1] << 8);
    default: return 0;
    }
}

/* Which scale element k uses, from DequantizeLinear's definition: the
 * element's index with the axis coordinate divided by the block size. */
static int64_t scale_index(int ndim, const int64_t *dims, const oc_qweight_opts *o, const oc_qweight *q, int64_t k)
{
    int64_t idx[OC_MAX_DIMS];
    for (int d = ndim - 1; d >= 0; d--) {
        idx[d] = dims[d] ? k % dims[d] : 0;
        k = dims[d] ? k / dims[d] : 0;
    }
    if (o->axis < 0) return 0;
    if (o->block == 0) return idx[o->axis];
    idx[o->axis] /= o->block;
    int64_t s = 0;
    for (int d = 0; d < ndim; d++) s = s * q->scale_dims[d] + idx[d];
    return s;
}

static int64_t numel_of(int ndim, const int64_t *dims)
{
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) n *= dims[d];
    return n;
}

/* dq = (q - zp) * scale, the way a runtime computes it */
static void dequantize(const oc_qweight *q, int dtype, int ndim, const int64_t *dims, const oc_qweight_opts *o,
                       float *dq)
{
    const int64_t n = numel_of(ndim, dims);
    for (int64_t k = 0; k < n; k++) {
        const int64_t g = scale_index(ndim, dims, o, q, k);
        dq[k] = (float)(raw_get(q->data, dtype, k) - raw_get(q->zero_point, dtype, g)) * q->scale[g];
    }
}

typedef struct rt_stats {
    double worst_ratio;  /* max |w - dq| / scale over unclipped elements */
    int64_t clipped;     /* elements the MSE search clipped */
    double sq_error;
    bool ok;
} rt_stats;

/* Quantizes w and checks every element against the bound; returns the stats. */
static rt_stats roundtrip(const float *w, int ndim, const int64_t *dims, const oc_qweight_opts *o)
{
    rt_stats st = {0, 0, 0, true};
    oc_qweight q;
    oc_ctx_init(&ctx);
    if (oc_quantize_weight(&ctx, w, ndim, dims, o, &q) != OC_OK) {
        printf("  quantize failed: %s\n", ctx.msg);
        st.ok = false;
        return st;
    }
    const int64_t n = numel_of(ndim, dims);
    float *dq = malloc((size_t)(n ? n : 1) * sizeof(float));
    dequantize(&q, o->dtype, ndim, dims, o, dq);
    int32_t qmin, qmax;
    oc_q_range(o->dtype, o->symmetric, &qmin, &qmax);
    double sq = 0;
    for (int64_t k = 0; k < n; k++) {
        const int64_t g = scale_index(ndim, dims, o, &q, k);
        const float s = q.scale[g];
        const int32_t zp = raw_get(q.zero_point, o->dtype, g), qv = raw_get(q.data, o->dtype, k);
        const double e = fabs((double)w[k] - dq[k]);
        sq += ((double)dq[k] - w[k]) * ((double)dq[k] - w[k]);
        if (!(s >= FLT_MIN) || !isfinite(s) || zp < qmin || zp > qmax || qv < qmin || qv > qmax) st.ok = false;
        if (w[k] == 0 && dq[k] != 0.0f) st.ok = false;
        /* clipped: beyond the representable range by more than half a step */
        const double top = (double)(qmax - zp) * s, bottom = (double)(qmin - zp) * s;
        if ((w[k] > top + s / 2 && qv == qmax) || (w[k] < bottom - s / 2 && qv == qmin)) {
            st.clipped++;
            if (!o->mse) st.ok = false;
            continue;
        }
        const double r = e / s;
        if (r > st.worst_ratio) st.worst_ratio = r;
        if (e > s / 2 * (1 + 1e-6) + 1e-7 * fabs(w[k])) st.ok = false;
    }
    st.sq_error = q.sq_error;
    if (fabs(sq - q.sq_error) > 1e-9 * sq + 1e-30) {
        printf("  sq_error %g, recomputed %g\n", q.sq_error, sq);
        st.ok = false;
    }
    free(dq);
    oc_qweight_free(&q);
    return st;
}

/* ---- parameters ---- */

static void q_ranges(void)
{
    int32_t lo, hi;
    CHECK(oc_q_range(OC_DTYPE_INT8, false, &lo, &hi) && lo == -128 && hi == 127);
    CHECK(oc_q_range(OC_DTYPE_INT8, true, &lo, &hi) && lo == -127 && hi == 127);
    CHECK(oc_q_range(OC_DTYPE_UINT8, false, &lo, &hi) && lo == 0 && hi == 255);
    CHECK(oc_q_range(OC_DTYPE_INT4, false, &lo, &hi) && lo == -8 && hi == 7);
    CHECK(oc_q_range(OC_DTYPE_INT4, true, &lo, &hi) && lo == -7 && hi == 7);
    CHECK(oc_q_range(OC_DTYPE_UINT4, true, &lo, &hi) && lo == 0 && hi == 15);
    CHECK(oc_q_range(OC_DTYPE_INT16, true, &lo, &hi) && lo == -32767 && hi == 32767);
    CHECK(oc_q_range(OC_DTYPE_UINT16, false, &lo, &hi) && lo == 0 && hi == 65535);
    CHECK(!oc_q_range(OC_DTYPE_FLOAT, false, &lo, &hi));
    CHECK(!oc_q_range(OC_DTYPE_INT32, true, &lo, &hi));
}

static void q_params(void)
{
    oc_qparams p = oc_q_params(-1.0f, 3.0f, OC_DTYPE_UINT8, false);
    CHECK(p.scale == (float)(4.0 / 255) && p.zero_point == 64); /* 1 / (4/255) = 63.75 */
    p = oc_q_params(-1.0f, 3.0f, OC_DTYPE_INT8, false);
    CHECK(p.scale == (float)(4.0 / 255) && p.zero_point == -64); /* -128 + 63.75 */
    /* zero points that fall on .5 round to even */
    p = oc_q_params(-1.5f, 253.5f, OC_DTYPE_UINT8, false);
    CHECK(p.scale == 1.0f && p.zero_point == 2);
    p = oc_q_params(-2.5f, 252.5f, OC_DTYPE_UINT8, false);
    CHECK(p.scale == 1.0f && p.zero_point == 2);
    /* the range is widened to hold 0 */
    p = oc_q_params(2.0f, 5.0f, OC_DTYPE_UINT8, false);
    CHECK(p.scale == (float)(5.0 / 255) && p.zero_point == 0);
    p = oc_q_params(-5.0f, -2.0f, OC_DTYPE_INT8, false);
    CHECK(p.scale == (float)(5.0 / 255) && p.zero_point == 127);
    /* symmetric: narrow signed range, unsigned around the middle */
    p = oc_q_params(-2.0f, 1.0f, OC_DTYPE_INT8, true);
    CHECK(p.scale == (float)(2.0 / 127) && p.zero_point == 0);
    p = oc_q_params(-2.0f, 1.0f, OC_DTYPE_UINT8, true);
    CHECK(p.scale == (float)(2.0 / 127) && p.zero_point == 128);
    p = oc_q_params(0.5f, 3.5f, OC_DTYPE_INT4, true);
    CHECK(p.scale == 0.5f && p.zero_point == 0);
    p = oc_q_params(-3.5f, 0.0f, OC_DTYPE_UINT4, true);
    CHECK(p.scale == 0.5f && p.zero_point == 8);
    /* degenerate: scale 1, zero point of [0, 0] */
    p = oc_q_params(0, 0, OC_DTYPE_UINT8, false);
    CHECK(p.scale == 1.0f && p.zero_point == 0);
    p = oc_q_params(0, 0, OC_DTYPE_INT8, false);
    CHECK(p.scale == 1.0f && p.zero_point == -128);
    p = oc_q_params(0, 0, OC_DTYPE_INT8, true);
    CHECK(p.scale == 1.0f && p.zero_point == 0);
    p = oc_q_params(0, 0, OC_DTYPE_UINT4, true);
    CHECK(p.scale == 1.0f && p.zero_point == 8);
    p = oc_q_params(-1e-40f, 1e-40f, OC_DTYPE_INT8, false); /* scale would be subnormal */
    CHECK(p.scale == 1.0f);
    p = oc_q_params(0, 1e-36f, OC_DTYPE_INT8, true);
    CHECK(p.scale == 1.0f && p.zero_point == 0);
    p = oc_q_params(NAN, INFINITY, OC_DTYPE_INT8, true);
    CHECK(isfinite(p.scale) && p.scale > 0);
    p = oc_q_params(-FLT_MAX, FLT_MAX, OC_DTYPE_UINT4, false);
    CHECK(isfinite(p.scale) && p.zero_point >= 0 && p.zero_point <= 15);
}

static void quantize1(void)
{
    const oc_qparams p = {1.0f, 0};
    CHECK_EQ_INT(oc_q_quantize1(0.5f, p, -128, 127), 0);
    CHECK_EQ_INT(oc_q_quantize1(1.5f, p, -128, 127), 2);
    CHECK_EQ_INT(oc_q_quantize1(2.5f, p, -128, 127), 2);
    CHECK_EQ_INT(oc_q_quantize1(-0.5f, p, -128, 127), 0);
    CHECK_EQ_INT(oc_q_quantize1(-1.5f, p, -128, 127), -2);
    CHECK_EQ_INT(oc_q_quantize1(-2.5f, p, -128, 127), -2);
    CHECK_EQ_INT(oc_q_quantize1(2.4999f, p, -128, 127), 2);
    CHECK_EQ_INT(oc_q_quantize1(1000, p, -128, 127), 127);
    CHECK_EQ_INT(oc_q_quantize1(-1000, p, -128, 127), -128);
    CHECK_EQ_INT(oc_q_quantize1(INFINITY, p, -128, 127), 127);
    CHECK_EQ_INT(oc_q_quantize1(-1e30f, p, 0, 15), 0);
    const oc_qparams z = {0.25f, 10};
    CHECK_EQ_INT(oc_q_quantize1(0.375f, z, 0, 255), 12); /* 1.5 -> 2 */
    CHECK_EQ_INT(oc_q_quantize1(0.625f, z, 0, 255), 12); /* 2.5 -> 2 */
    CHECK_EQ_INT(oc_q_quantize1(NAN, z, 0, 255), 10);
    CHECK_EQ_INT(oc_q_quantize1(0, z, 0, 255), 10);
    CHECK_EQ_INT(oc_q_quantize1(1e9f, (oc_qparams){1.0f, 0}, INT32_MIN, INT32_MAX), 1000000000);
}

/* the column kernels of the dynamic pass against oc_q_quantize1, element
 * by element: ties, NaN, infinities, an all-zero column, reduce_range
 * (the dynamic pass copies a weight that is not float-aligned first) */
static void symmetric8_cols(void)
{
    enum { K = 37, N = 29 };
    static float w[K * N];
    static float w2[K * N];
    static int8_t q[K * N], q2[K * N];
    float amax[N], amax2[N], sc[N];
    for (int i = 0; i < K * N; i++) w[i] = (float)(gauss() * (1 + i % 7));
    for (int k = 0; k < K; k++) w[k * N + 3] = 0;     /* an all-zero column */
    w[5 * N + 1] = NAN;
    w[6 * N + 2] = INFINITY;
    w[7 * N + 2] = -INFINITY;
    w[8 * N + 4] = 1e30f;
    for (int32_t qmax = 63; qmax <= 127; qmax += 64) {
        oc_q_absmax_cols(w, K, N, amax);
        for (int c = 0; c < N; c++) {
            float m = 0;
            for (int k = 0; k < K; k++)
                if (isfinite(w[k * N + c]) && fabsf(w[k * N + c]) > m) m = fabsf(w[k * N + c]);
            CHECK(amax[c] == m);
            sc[c] = m > 0 ? m / (float)qmax : 1.0f;
        }
        sc[0] = 0.5f; /* ties: x / 0.5 lands on halves for these */
        for (int k = 0; k < K; k++) w[k * N] = (float)(k - K / 2) * 0.25f;
        oc_q_symmetric8_cols(w, K, N, sc, qmax, q);
        int bad = 0;
        for (int k = 0; k < K; k++)
            for (int c = 0; c < N; c++)
                bad += q[k * N + c] != (int8_t)oc_q_quantize1(w[k * N + c], (oc_qparams){sc[c], 0}, -qmax, qmax);
        CHECK_EQ_INT(bad, 0);
        /* a second run on a copy: the kernels keep no state between calls */
        memcpy(w2, w, sizeof(w));
        oc_q_absmax_cols(w, K, N, amax);
        oc_q_absmax_cols(w2, K, N, amax2);
        CHECK(memcmp(amax, amax2, sizeof(amax)) == 0);
        oc_q_symmetric8_cols(w2, K, N, sc, qmax, q2);
        CHECK(memcmp(q, q2, sizeof(q)) == 0);
    }
}

/* ---- weights ---- */

typedef struct scheme {
    const char *name;
    int axis;
    int64_t block;
} scheme;

/* on a [6, 5, 3, 4] weight: every axis position, partial blocks */
static const scheme schemes[] = {
    {"tensor", -1, 0},      {"channel a0", 0, 0},  {"channel a1", 1, 0},  {"channel a3", 3, 0},
    {"block a1/2", 1, 2},   {"block a0/4", 0, 4},  {"block a3/3", 3, 3},  {"block a3/4", 3, 4},
    {"block a2/32", 2, 32},
};

static void fill_weight(float *w, int64_t n, double zero_fraction)
{
    for (int64_t k = 0; k < n; k++) {
        w[k] = (float)(0.05 * gauss());
        if (unif() < 0.01) w[k] *= 8; /* a few outliers for the MSE search to clip */
        if (unif() < zero_fraction) w[k] = 0;
    }
}

/* Fixed scales (method=gptq hands its own grid values back with the scales
 * it rounded them to): quantizing the dequantized weight with the scales
 * and zero points of the first pass gives the same integers and scales, for
 * every type and scheme; oc_qweight_group and oc_qweight_zero_point agree
 * with this file's own decoding. */
static void fixed_scales(void)
{
    const int64_t dims[4] = {6, 5, 3, 4};
    const int64_t n = numel_of(4, dims);
    float *w = malloc((size_t)n * sizeof(float)), *dq = malloc((size_t)n * sizeof(float));
    fill_weight(w, n, 0.1);
    for (size_t t = 0; t < sizeof(qtypes) / sizeof(qtypes[0]); t++)
        for (int sym = 0; sym < 2; sym++)
            for (size_t s = 0; s < sizeof(schemes) / sizeof(schemes[0]); s++) {
                oc_qweight_opts o = {.dtype = qtypes[t], .symmetric = sym, .axis = schemes[s].axis,
                                     .block = schemes[s].block};
                oc_qweight a, b;
                oc_ctx_init(&ctx);
                CHECK_EQ_INT(oc_quantize_weight(&ctx, w, 4, dims, &o, &a), OC_OK);
                int64_t bad_group = 0, bad_zp = 0;
                for (int64_t k = 0; k < n; k++) bad_group += oc_qweight_group(4, dims, &o, k) != scale_index(4, dims, &o, &a, k);
                for (int64_t g = 0; g < a.scale_numel; g++)
                    bad_zp += oc_qweight_zero_point(&a, o.dtype, g) != raw_get(a.zero_point, o.dtype, g);
                CHECK_EQ_INT(bad_group, 0);
                CHECK_EQ_INT(bad_zp, 0);
                dequantize(&a, o.dtype, 4, dims, &o, dq);
                oc_qweight_opts f = o;
                f.fixed = &a;
                f.mse = true; /* ignored with fixed scales */
                CHECK_EQ_INT(oc_quantize_weight(&ctx, dq, 4, dims, &f, &b), OC_OK);
                CHECK(b.nbytes == a.nbytes && memcmp(b.data, a.data, a.nbytes) == 0);
                CHECK(b.zp_nbytes == a.zp_nbytes && memcmp(b.zero_point, a.zero_point, a.zp_nbytes) == 0);
                CHECK(b.scale_numel == a.scale_numel &&
                      memcmp(b.scale, a.scale, (size_t)a.scale_numel * sizeof(float)) == 0);
                oc_qweight_free(&b);
                /* scales for another layout are refused */
                oc_qweight_opts other = o;
                other.axis = o.axis < 0 ? 0 : -1;
                other.block = 0;
                other.fixed = &a;
                CHECK_EQ_INT(oc_quantize_weight(&ctx, w, 4, dims, &other, &b), OC_ERR_USAGE);
                oc_qweight_free(&a);
            }
    free(w);
    free(dq);
}

static void weight_roundtrip(void)
{
    const int64_t dims[4] = {6, 5, 3, 4};
    const int64_t n = numel_of(4, dims);
    float *w = malloc((size_t)n * sizeof(float));
    fill_weight(w, n, 0.0);
    double worst_minmax = 0, worst_mse = 0;
    int64_t clipped = 0;
    double gain_sum = 0;
    int n_gain = 0;
    for (size_t t = 0; t < sizeof(qtypes) / sizeof(qtypes[0]); t++) {
        for (int sym = 0; sym < 2; sym++) {
            for (size_t s = 0; s < sizeof(schemes) / sizeof(schemes[0]); s++) {
                oc_qweight_opts o = {.dtype = qtypes[t], .symmetric = sym, .axis = schemes[s].axis,
                                     .block = schemes[s].block};
                const rt_stats a = roundtrip(w, 4, dims, &o);
                o.mse = true;
                const rt_stats b = roundtrip(w, 4, dims, &o);
                if (!a.ok || !b.ok || b.sq_error > a.sq_error)
                    printf("  %s %s %s: minmax ok %d, mse ok %d, sq %g vs %g\n", tname(qtypes[t]),
                           sym ? "sym" : "asym", schemes[s].name, a.ok, b.ok, a.sq_error, b.sq_error);
                CHECK(a.ok && b.ok);
                CHECK(b.sq_error <= a.sq_error);
                worst_minmax = fmax(worst_minmax, a.worst_ratio);
                worst_mse = fmax(worst_mse, b.worst_ratio);
                clipped += b.clipped;
                if (a.sq_error > 0) gain_sum += b.sq_error / a.sq_error, n_gain++;
            }
        }
    }
    printf("  72 schemes x {minmax, mse}: worst |w - dq| / scale %.6f (minmax), %.6f (mse, unclipped);"
           " mse clipped %lld elements, mean sq_error ratio mse/minmax %.3f\n",
           worst_minmax, worst_mse, (long long)clipped, gain_sum / n_gain);
    free(w);
}

static void weight_shapes(void)
{
    const int64_t dims[4] = {6, 5, 3, 4};
    float *w = malloc(360 * sizeof(float));
    fill_weight(w, 360, 0.0);
    oc_qweight q;
    oc_qweight_opts o = {.dtype = OC_DTYPE_INT8, .symmetric = true, .axis = -1};
    oc_ctx_init(&ctx);
    CHECK(oc_quantize_weight(&ctx, w, 4, dims, &o, &q) == OC_OK);
    CHECK(q.scale_ndim == 0 && q.scale_numel == 1 && q.nbytes == 360 && q.zp_nbytes == 1);
    oc_qweight_free(&q);
    o.axis = 1;
    CHECK(oc_quantize_weight(&ctx, w, 4, dims, &o, &q) == OC_OK);
    CHECK(q.scale_ndim == 1 && q.scale_dims[0] == 5 && q.scale_numel == 5 && q.zp_nbytes == 5);
    oc_qweight_free(&q);
    o.block = 2;
    o.dtype = OC_DTYPE_UINT4;
    CHECK(oc_quantize_weight(&ctx, w, 4, dims, &o, &q) == OC_OK);
    CHECK(q.scale_ndim == 4 && q.scale_dims[0] == 6 && q.scale_dims[1] == 3 && q.scale_dims[2] == 3 &&
          q.scale_dims[3] == 4);
    CHECK(q.scale_numel == 216 && q.zp_nbytes == 108 && q.nbytes == 180);
    oc_qweight_free(&q);
    /* odd element counts round the packed size up */
    const int64_t d3[1] = {7};
    o = (oc_qweight_opts){.dtype = OC_DTYPE_INT4, .axis = 0, .block = 0};
    CHECK(oc_quantize_weight(&ctx, w, 1, d3, &o, &q) == OC_OK);
    CHECK(q.nbytes == 4 && q.zp_nbytes == 4 && q.scale_numel == 7);
    oc_qweight_free(&q);
    free(w);
}

static void int4_packing(void)
{
    oc_qweight q;
    oc_ctx_init(&ctx);
    /* int4 symmetric, absmax 7: scale 1, q = w */
    const float a[7] = {0, 1, -1, 7, -7, 3, 2};
    const int64_t da[1] = {7};
    oc_qweight_opts o = {.dtype = OC_DTYPE_INT4, .symmetric = true, .axis = -1};
    CHECK(oc_quantize_weight(&ctx, a, 1, da, &o, &q) == OC_OK);
    const uint8_t ea[4] = {0x10, 0x7F, 0x39, 0x02};
    CHECK(q.nbytes == 4 && memcmp(q.data, ea, 4) == 0 && q.scale[0] == 1.0f);
    CHECK(q.zp_nbytes == 1 && ((uint8_t *)q.zero_point)[0] == 0x00);
    oc_qweight_free(&q);

    /* int4 asymmetric [-8, 7]: scale 1, zero point 0 */
    const float b[3] = {-8, 7, 0};
    const int64_t db[1] = {3};
    o.symmetric = false;
    CHECK(oc_quantize_weight(&ctx, b, 1, db, &o, &q) == OC_OK);
    const uint8_t eb[2] = {0x78, 0x00};
    CHECK(q.nbytes == 2 && memcmp(q.data, eb, 2) == 0 && q.scale[0] == 1.0f);
    oc_qweight_free(&q);

    /* uint4 [0, 15] */
    const float c[5] = {0, 15, 1, 2, 3};
    const int64_t dc[1] = {5};
    o.dtype = OC_DTYPE_UINT4;
    CHECK(oc_quantize_weight(&ctx, c, 1, dc, &o, &q) == OC_OK);
    const uint8_t ec[3] = {0xF0, 0x21, 0x03};
    CHECK(q.nbytes == 3 && memcmp(q.data, ec, 3) == 0);
    oc_qweight_free(&q);

    /* uint4 per channel: zero points 1, 2, 0 packed like the data */
    const float d[6] = {-1, 14, -2, 13, 0, 15};
    const int64_t dd[2] = {3, 2};
    o.axis = 0;
    CHECK(oc_quantize_weight(&ctx, d, 2, dd, &o, &q) == OC_OK);
    const uint8_t ed[3] = {0xF0, 0xF0, 0xF0}, ezd[2] = {0x21, 0x00};
    CHECK(q.nbytes == 3 && memcmp(q.data, ed, 3) == 0);
    CHECK(q.zp_nbytes == 2 && memcmp(q.zero_point, ezd, 2) == 0);
    oc_qweight_free(&q);

    /* uint4 blocked along axis 1 (block 2) of [2, 3]: zero points over the [2, 2] scale tensor */
    const float e[6] = {-1, 14, -3, 0, 15, 5};
    const int64_t de[2] = {2, 3};
    o.axis = 1;
    o.block = 2;
    CHECK(oc_quantize_weight(&ctx, e, 2, de, &o, &q) == OC_OK);
    CHECK(q.scale_ndim == 2 && q.scale_dims[0] == 2 && q.scale_dims[1] == 2);
    const uint8_t eze[2] = {0xF1, 0x00};
    CHECK(q.zp_nbytes == 2 && memcmp(q.zero_point, eze, 2) == 0);
    /* data: 0, 15 | 0 (-3 at zp 15) ; 0, 15 | 15 (5 at scale 5/15) */
    const uint8_t ee[3] = {0xF0, 0x00, 0xFF};
    CHECK(q.nbytes == 3 && memcmp(q.data, ee, 3) == 0);
    oc_qweight_free(&q);
}

static void zeros_stay_zero(void)
{
    const int64_t dims[4] = {6, 5, 3, 4};
    const int64_t n = numel_of(4, dims);
    float *w = malloc((size_t)n * sizeof(float)), *dq = malloc((size_t)n * sizeof(float));
    int64_t nz = 0;
    fill_weight(w, n, 0.5);
    for (int64_t k = 0; k < n; k++) nz += w[k] == 0;
    CHECK(nz > n / 3);
    int schemes_checked = 0;
    for (size_t t = 0; t < sizeof(qtypes) / sizeof(qtypes[0]); t++) {
        for (int sym = 0; sym < 2; sym++) {
            for (size_t s = 0; s < sizeof(schemes) / sizeof(schemes[0]); s++) {
                for (int mse = 0; mse < 2; mse++) {
                    oc_qweight_opts o = {.dtype = qtypes[t], .symmetric = sym, .axis = schemes[s].axis,
                                         .block = schemes[s].block, .mse = mse};
                    oc_qweight q;
                    oc_ctx_init(&ctx);
                    CHECK(oc_quantize_weight(&ctx, w, 4, dims, &o, &q) == OC_OK);
                    dequantize(&q, o.dtype, 4, dims, &o, dq);
                    int bad = 0;
                    for (int64_t k = 0; k < n; k++) bad += w[k] == 0 && dq[k] != 0.0f;
                    CHECK_EQ_INT(bad, 0);
                    oc_qweight_free(&q);
                    schemes_checked++;
                }
            }
        }
    }
    printf("  %lld of %lld weights exactly 0: all still 0.0f in %d schemes\n", (long long)nz, (long long)n,
           schemes_checked);
    free(w);
    free(dq);
}

static void degenerate_weights(void)
{
    /* channels: all 0, all 3.5, all -2, subnormal, one nonzero, a normal one */
    enum { C = 6, K = 8 };
    float w[C * K];
    for (int k = 0; k < K; k++) {
        w[0 * K + k] = 0;
        w[1 * K + k] = 3.5f;
        w[2 * K + k] = -2.0f;
        w[3 * K + k] = (k % 2 ? 1 : -1) * 1e-42f;
        w[4 * K + k] = k == 3 ? 0.25f : 0;
        w[5 * K + k] = (float)(k - 4) / 3;
    }
    const int64_t dims[2] = {C, K};
    for (size_t t = 0; t < sizeof(qtypes) / sizeof(qtypes[0]); t++) {
        for (int sym = 0; sym < 2; sym++) {
            for (int mse = 0; mse < 2; mse++) {
                for (int blocked = 0; blocked < 2; blocked++) {
                    oc_qweight_opts o = {.dtype = qtypes[t], .symmetric = sym, .axis = blocked ? 1 : 0,
                                         .block = blocked ? 4 : 0, .mse = mse};
                    const rt_stats st = roundtrip(w, 2, dims, &o);
                    CHECK(st.ok);
                    oc_qweight q;
                    CHECK(oc_quantize_weight(&ctx, w, 2, dims, &o, &q) == OC_OK);
                    for (int64_t g = 0; g < q.scale_numel; g++) CHECK(isfinite(q.scale[g]) && q.scale[g] >= FLT_MIN);
                    /* the all-zero channel (blocks) get scale 1 */
                    CHECK(q.scale[0] == 1.0f);
                    /* a channel of one value is its range's end: exact but for the scale's rounding */
                    float dq[C * K];
                    dequantize(&q, o.dtype, 2, dims, &o, dq);
                    if (!sym) CHECK(fabsf(dq[K] - 3.5f) <= 4e-7f && fabsf(dq[2 * K] + 2.0f) <= 3e-7f);
                    for (int k = 0; k < C * K; k++) CHECK(!isnan(dq[k]));
                    oc_qweight_free(&q);
                }
            }
        }
    }
    /* per tensor, all zero; all subnormal */
    const float z[4] = {0, 0, 0, 0}, sub[4] = {1e-40f, -1e-41f, 0, 3e-39f};
    const int64_t d4[1] = {4};
    oc_qweight_opts o = {.dtype = OC_DTYPE_INT8, .symmetric = false, .axis = -1, .mse = true};
    oc_qweight q;
    CHECK(oc_quantize_weight(&ctx, z, 1, d4, &o, &q) == OC_OK);
    CHECK(q.scale[0] == 1.0f && raw_get(q.zero_point, OC_DTYPE_INT8, 0) == -128 && q.sq_error == 0);
    oc_qweight_free(&q);
    CHECK(oc_quantize_weight(&ctx, sub, 1, d4, &o, &q) == OC_OK);
    CHECK(q.scale[0] == 1.0f && q.sq_error < 1e-70);
    oc_qweight_free(&q);
    /* empty tensors */
    const int64_t d0[2] = {0, 3};
    o.axis = 1;
    CHECK(oc_quantize_weight(&ctx, z, 2, d0, &o, &q) == OC_OK);
    CHECK(q.nbytes == 0 && q.scale_numel == 3 && q.scale[2] == 1.0f);
    oc_qweight_free(&q);
    o.axis = 0;
    o.block = 2;
    CHECK(oc_quantize_weight(&ctx, z, 2, d0, &o, &q) == OC_OK);
    CHECK(q.scale_numel == 0 && q.scale_dims[0] == 0 && q.scale_dims[1] == 3);
    oc_qweight_free(&q);
    /* a scalar weight */
    const float one = -0.75f;
    o = (oc_qweight_opts){.dtype = OC_DTYPE_UINT8, .axis = -1};
    CHECK(oc_quantize_weight(&ctx, &one, 0, NULL, &o, &q) == OC_OK);
    CHECK(q.nbytes == 1 && q.scale_numel == 1 && raw_get(q.data, OC_DTYPE_UINT8, 0) == 0 &&
          raw_get(q.zero_point, OC_DTYPE_UINT8, 0) == 255 && q.sq_error < 1e-12);
    oc_qweight_free(&q);
}

static void weight_errors(void)
{
    const float w[4] = {1, 2, 3, 4};
    const int64_t dims[2] = {2, 2}, bad[2] = {2, -2};
    oc_qweight q;
    oc_qweight_opts o = {.dtype = OC_DTYPE_FLOAT, .axis = -1};
    oc_ctx_init(&ctx);
    CHECK(oc_quantize_weight(&ctx, w, 2, dims, &o, &q) == OC_ERR_USAGE);
    CHECK(q.data == NULL && q.scale == NULL);
    o.dtype = OC_DTYPE_INT8;
    o.axis = 2;
    oc_ctx_init(&ctx);
    CHECK(oc_quantize_weight(&ctx, w, 2, dims, &o, &q) == OC_ERR_USAGE);
    o.axis = -2;
    oc_ctx_init(&ctx);
    CHECK(oc_quantize_weight(&ctx, w, 2, dims, &o, &q) == OC_ERR_USAGE);
    o.axis = -1;
    o.block = 2;
    oc_ctx_init(&ctx);
    CHECK(oc_quantize_weight(&ctx, w, 2, dims, &o, &q) == OC_ERR_USAGE);
    o.axis = 0;
    o.block = -1;
    oc_ctx_init(&ctx);
    CHECK(oc_quantize_weight(&ctx, w, 2, dims, &o, &q) == OC_ERR_USAGE);
    o.block = 0;
    oc_ctx_init(&ctx);
    CHECK(oc_quantize_weight(&ctx, w, 2, bad, &o, &q) == OC_ERR_INVALID);
    const float nanw[4] = {1, NAN, 3, 4};
    oc_ctx_init(&ctx);
    CHECK(oc_quantize_weight(&ctx, nanw, 2, dims, &o, &q) == OC_ERR_UNSUPPORTED);
    CHECK(strstr(ctx.msg, "element 1") != NULL);
    CHECK(q.data == NULL);

    /* every allocation failing in turn: a clean NOMEM, nothing left behind */
    float big[64];
    for (int k = 0; k < 64; k++) big[k] = (float)gauss();
    const int64_t d3[3] = {4, 4, 4};
    o = (oc_qweight_opts){.dtype = OC_DTYPE_UINT4, .axis = 1, .block = 3, .mse = true};
    int failures = 0;
    for (uint64_t nth = 1; nth < 50; nth++) {
        oc_ctx_init(&ctx);
        oc_alloc_fail_at(nth);
        const oc_status st = oc_quantize_weight(&ctx, big, 3, d3, &o, &q);
        oc_alloc_fail_at(0);
        if (st == OC_OK) {
            oc_qweight_free(&q);
            break;
        }
        CHECK(st == OC_ERR_NOMEM && q.data == NULL && q.scale == NULL && q.zero_point == NULL);
        failures++;
    }
    CHECK(failures >= 1 && failures < 49);
}

/* ---- bias ---- */

static void bias(void)
{
    /* exact binary scales: 0.5 * 0.25 = 0.125, 0.5 * 0.125 = 0.0625 */
    const float b[4] = {0.3125f, 0.09375f, 1e30f, -1e30f};
    const float ws[4] = {0.25f, 0.125f, 0.25f, 0.25f};
    int32_t q[4];
    float s[4];
    oc_quantize_bias(b, 4, 0.5f, ws, 4, q, s);
    CHECK_EQ_INT(q[0], 2); /* 2.5 -> 2 */
    CHECK_EQ_INT(q[1], 2); /* 1.5 -> 2 */
    CHECK_EQ_INT(q[2], INT32_MAX);
    CHECK_EQ_INT(q[3], INT32_MIN);
    CHECK(s[0] == 0.125f && s[1] == 0.0625f);
    /* one weight scale for all */
    const float b1[3] = {0.21875f, -0.21875f, 0.0f}; /* 3.5 -> 4, -3.5 -> -4 */
    const float w1 = 0.125f;
    float s1 = 0;
    oc_quantize_bias(b1, 3, 0.5f, &w1, 1, q, &s1);
    CHECK_EQ_INT(q[0], 4);
    CHECK_EQ_INT(q[1], -4);
    CHECK_EQ_INT(q[2], 0);
    CHECK(s1 == 0.0625f);
    /* the round trip stays within half a step */
    const float b2[2] = {0.123456f, -7.654321f};
    const float w2[2] = {0.0173f, 0.00291f};
    oc_quantize_bias(b2, 2, 0.0371f, w2, 2, q, s);
    for (int c = 0; c < 2; c++) CHECK(fabs((double)q[c] * s[c] - b2[c]) <= s[c] / 2 * (1 + 1e-6));
    /* NaN becomes 0 */
    const float bn = NAN;
    oc_quantize_bias(&bn, 1, 1.0f, &w1, 1, q, NULL);
    CHECK_EQ_INT(q[0], 0);
}

/* ---- observers ---- */

static uint64_t hist_total(const hist *h)
{
    uint64_t t = 0;
    for (int k = 0; k < NBINS; k++) t += h->bin[k];
    return t;
}

static void observer_minmax(void)
{
    oc_observer *o = oc_observer_new(OC_CALIB_MINMAX, 0);
    CHECK(o != NULL);
    float lo = 1, hi = 1;
    oc_observer_range(o, OC_DTYPE_UINT8, false, &lo, &hi);
    CHECK(lo == 0 && hi == 0);
    const float a[5] = {0.5f, NAN, 2.25f, -INFINITY, 1.0f};
    const float b[4] = {INFINITY, 3.75f, 0.125f, -0.0625f};
    oc_observer_update(o, a, 5);
    oc_observer_minmax(o, &lo, &hi);
    CHECK(lo == 0.5f && hi == 2.25f);
    oc_observer_range(o, OC_DTYPE_UINT8, false, &lo, &hi);
    CHECK(lo == 0 && hi == 2.25f);
    oc_observer_update(o, b, 4);
    oc_observer_minmax(o, &lo, &hi);
    CHECK(lo == -0.0625f && hi == 3.75f);
    oc_observer_range(o, OC_DTYPE_INT8, false, &lo, &hi);
    CHECK(lo == -0.0625f && hi == 3.75f);
    CHECK_EQ_INT(o->count, 6);
    oc_observer_free(o);
    CHECK(oc_observer_new(OC_CALIB_PERCENTILE, 0) == NULL);
    CHECK(oc_observer_new(OC_CALIB_PERCENTILE, 100.5) == NULL);
    CHECK(oc_observer_new((oc_calib_method)7, 99) == NULL);
    oc_observer_free(NULL);
}

/* Long arrays take the chunked, vectorised min/max path; a NaN or an
 * infinity anywhere (first, last, across a 4096-value chunk boundary) must
 * give the same count, zeros and range as a plain loop. */
static void observer_minmax_long(void)
{
    enum { N = 3 * 4096 + 77 };
    static float buf[N];
    const size_t bad_at[] = {0, 4095, 4096, 8191, N - 1};
    for (int round = 0; round < 7; round++) {
        for (size_t i = 0; i < N; i++) buf[i] = (float)(gauss() * (round + 1));
        buf[123] = 0, buf[5000] = 0, buf[N - 2] = -0.0f;
        if (round >= 2) buf[bad_at[round - 2]] = round % 2 ? NAN : (round % 3 ? INFINITY : -INFINITY);
        float emn = INFINITY, emx = -INFINITY;
        uint64_t ecount = 0, ezeros = 0;
        for (size_t i = 0; i < N; i++) {
            if (!isfinite(buf[i])) continue;
            ecount++;
            ezeros += buf[i] == 0;
            emn = fminf(emn, buf[i]);
            emx = fmaxf(emx, buf[i]);
        }
        oc_observer *o = oc_observer_new(OC_CALIB_MINMAX, 0);
        oc_observer_update(o, buf, 10);
        oc_observer_update(o, buf + 10, N - 10);
        float mn, mx;
        oc_observer_minmax(o, &mn, &mx);
        CHECK(mn == emn && mx == emx);
        CHECK_EQ_INT(o->count, ecount);
        CHECK_EQ_INT(o->zeros, ezeros);
        oc_observer_free(o);
    }
}

static void observer_growth(void)
{
    oc_observer *o = oc_observer_new(OC_CALIB_PERCENTILE, 99.9);
    float buf[1000];
    /* zeros first: no width yet, they must still be counted */
    memset(buf, 0, sizeof(buf));
    oc_observer_update(o, buf, 300);
    CHECK(!o->ready && o->count == 300);
    const double scales[] = {1e-3, 1, 7, 1000, -1e5, 3e-2, 1e30, -1e-20};
    int grown = 0;
    for (size_t s = 0; s < sizeof(scales) / sizeof(scales[0]); s++) {
        const double before = o->val.hi - o->val.lo;
        for (int k = 0; k < 1000; k++) buf[k] = (float)(scales[s] * unif());
        buf[7] = NAN;
        oc_observer_update(o, buf, 1000);
        grown += o->val.hi - o->val.lo > before;
        CHECK(o->ready);
        CHECK_EQ_INT(hist_total(&o->mag), o->count);
        CHECK_EQ_INT(hist_total(&o->val), o->count);
        float mn, mx;
        oc_observer_minmax(o, &mn, &mx);
        CHECK(o->mag.lo == 0 && o->mag.hi >= fmax(-mn, mx));
        CHECK(o->val.lo <= mn && o->val.hi >= mx && o->val.lo <= 0 && o->val.hi >= 0);
    }
    CHECK_EQ_INT(o->count, 300 + 8 * 999);
    CHECK(grown >= 4);
    /* the zeros are in the bins that hold 0 */
    CHECK(o->mag.bin[0] >= 300 && o->val.bin[bin_of(&o->val, 0)] >= 300);
    printf("  8 batches, ranges grew %d times: |x| bins up to %.3g, x bins [%.3g, %.3g], %llu values binned in each\n",
           grown, o->mag.hi, o->val.lo, o->val.hi, (unsigned long long)hist_total(&o->val));
    oc_observer_free(o);
}

static void observer_percentile(void)
{
    /* ascending 0..1 in batches of 1000: the range grows about ten times */
    oc_observer *o = oc_observer_new(OC_CALIB_PERCENTILE, 99.0);
    enum { N = 1000000, B = 1000 };
    float buf[B];
    for (int i = 0; i < N; i += B) {
        for (int k = 0; k < B; k++) buf[k] = (float)(i + k) / N;
        oc_observer_update(o, buf, B);
    }
    float lo, hi;
    oc_observer_range(o, OC_DTYPE_INT8, true, &lo, &hi);
    const double bin = o->mag.bw;
    printf("  uniform 0..1 ascending: p99 |x| = %.5f (bin width %.5f)\n", hi, bin);
    CHECK(fabs(hi - 0.99) <= bin && lo == -hi);
    oc_observer_range(o, OC_DTYPE_UINT8, false, &lo, &hi);
    CHECK(fabs(hi - 0.99) <= o->val.bw && lo == 0);
    oc_observer_free(o);

    /* uniform -1..1, random order: the 1st and 99th percentiles */
    o = oc_observer_new(OC_CALIB_PERCENTILE, 99.0);
    for (int i = 0; i < N; i += B) {
        for (int k = 0; k < B; k++) buf[k] = (float)(2 * unif() - 1);
        oc_observer_update(o, buf, B);
    }
    oc_observer_range(o, OC_DTYPE_UINT8, false, &lo, &hi);
    printf("  uniform -1..1: p1 %.5f p99 %.5f (bin width %.5f)\n", lo, hi, o->val.bw);
    CHECK(fabs(lo + 0.98) <= o->val.bw + 2e-3 && fabs(hi - 0.98) <= o->val.bw + 2e-3);
    oc_observer_range(o, OC_DTYPE_INT8, true, &lo, &hi);
    CHECK(fabs(hi - 0.99) <= o->mag.bw + 2e-3);
    oc_observer_free(o);
}

/* N(0, 1), a million values, and ten outliers out to +-30 */
static void feed_gaussian(oc_observer *o, bool outliers)
{
    enum { N = 1000000, B = 10000 };
    static float buf[B];
    for (int i = 0; i < N; i += B) {
        for (int k = 0; k < B; k++) buf[k] = (float)gauss();
        oc_observer_update(o, buf, B);
    }
    const float out[10] = {30, -25, 21, -28, 22, 26, -21, 24, 29, -30};
    if (outliers) oc_observer_update(o, out, 10);
}

static void observer_thresholds(void)
{
    const oc_calib_method methods[2] = {OC_CALIB_ENTROPY, OC_CALIB_MSE};
    const char *names[2] = {"entropy", "mse"};
    for (int m = 0; m < 2; m++) {
        oc_observer *o = oc_observer_new(methods[m], 0);
        feed_gaussian(o, true);
        float mn, mx, lo, hi;
        oc_observer_minmax(o, &mn, &mx);
        CHECK(mn == -30 && mx == 30);
        oc_observer_range(o, OC_DTYPE_INT8, true, &lo, &hi);
        printf("  %s, N(0,1) + outliers to 30: int8 symmetric +-%.3f", names[m], hi);
        CHECK(hi > 2 && hi < 30 && lo == -hi);
        oc_observer_range(o, OC_DTYPE_UINT8, false, &lo, &hi);
        printf("; uint8 asymmetric [%.3f, %.3f]", lo, hi);
        CHECK(hi > 2 && hi < 30 && lo < -2 && lo > -30);
        oc_observer_range(o, OC_DTYPE_INT8, false, &lo, &hi);
        CHECK(hi > 2 && hi < 30 && lo < -2 && lo > -30);
        oc_observer_range(o, OC_DTYPE_INT4, true, &lo, &hi);
        printf("; int4 symmetric +-%.3f\n", hi);
        CHECK(hi > 1 && hi < 30);
        oc_observer_free(o);

        /* without outliers: about 4 sigma for 8 bits, 2.5 for 4 (what ACIQ derives) */
        o = oc_observer_new(methods[m], 0);
        feed_gaussian(o, false);
        oc_observer_minmax(o, &mn, &mx);
        oc_observer_range(o, OC_DTYPE_INT8, true, &lo, &hi);
        printf("  %s, N(0,1) alone (absmax %.3f): int8 symmetric +-%.3f", names[m], fmax(-mn, mx), hi);
        CHECK(hi > 3 && hi <= fmax(-mn, mx));
        oc_observer_range(o, OC_DTYPE_INT4, true, &lo, &hi);
        printf("; int4 symmetric +-%.3f\n", hi);
        CHECK(hi > 1.5 && hi < 4);
        oc_observer_free(o);
    }
}

static void observer_constant_memory(void)
{
    enum { B = 100000, BATCHES = 100 };
    float *buf = malloc(B * sizeof(float));
    const oc_calib_method methods[4] = {OC_CALIB_MINMAX, OC_CALIB_PERCENTILE, OC_CALIB_ENTROPY, OC_CALIB_MSE};
    for (int m = 0; m < 4; m++) {
        oc_observer *o = oc_observer_new(methods[m], 99.99);
        CHECK(o != NULL);
        if (!o) continue;
        oc_alloc_fail_at(1); /* every allocation from here on fails */
        uint64_t finite = 0;
        for (int b = 0; b < BATCHES; b++) {
            const double s = 1 + b * 0.05; /* widening data: the histograms grow */
            for (int k = 0; k < B; k++) buf[k] = (float)(s * gauss());
            buf[b] = NAN;
            buf[b + 1] = b % 2 ? INFINITY : -INFINITY;
            finite += B - 2;
            oc_observer_update(o, buf, B);
        }
        float lo, hi;
        oc_observer_range(o, OC_DTYPE_INT8, true, &lo, &hi);
        oc_observer_range(o, OC_DTYPE_UINT8, false, &lo, &hi);
        oc_observer_range(o, OC_DTYPE_UINT4, false, &lo, &hi);
        CHECK_EQ_INT(oc_alloc_fail_at(0), 0); /* not one allocation was even tried */
        CHECK_EQ_INT(o->count, finite);
        if (methods[m] != OC_CALIB_MINMAX) {
            CHECK_EQ_INT(hist_total(&o->mag), finite);
            CHECK_EQ_INT(hist_total(&o->val), finite);
        }
        CHECK(lo < 0 && hi > 0);
        oc_observer_free(o);
    }
    oc_alloc_fail_at(1);
    CHECK(oc_observer_new(OC_CALIB_ENTROPY, 0) == NULL);
    oc_alloc_fail_at(0);
    printf("  1e7 values per method streamed with every allocation failing; observer size %zu bytes\n",
           sizeof(oc_observer) + 2 * NBINS * sizeof(uint64_t));
    free(buf);
}

int main(void)
{
    RUN(q_ranges);
    RUN(q_params);
    RUN(quantize1);
    RUN(symmetric8_cols);
    RUN(weight_roundtrip);
    RUN(fixed_scales);
    RUN(weight_shapes);
    RUN(int4_packing);
    RUN(zeros_stay_zero);
    RUN(degenerate_weights);
    RUN(weight_errors);
    RUN(bias);
    RUN(observer_minmax);
    RUN(observer_minmax_long);
    RUN(observer_growth);
    RUN(observer_percentile);
    RUN(observer_thresholds);
    RUN(observer_constant_memory);
    UNIT_END("quant");
}
