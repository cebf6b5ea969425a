/* dtype.c: the traits of every ONNX element type, in one table indexed by the
 * TensorProto.DataType number. Adding a type to oc_dtype breaks the build here
 * until the table knows it. */
#include "common.h"

#include <math.h>
#include <string.h>

typedef struct dtype_traits {
    const char *name;
    int bits;
} dtype_traits;

static const dtype_traits dtype_table[] = {
    [OC_DTYPE_UNDEFINED] = {"undefined", 0},
    [OC_DTYPE_FLOAT] = {"f32", 32},
    [OC_DTYPE_UINT8] = {"u8", 8},
    [OC_DTYPE_INT8] = {"i8", 8},
    [OC_DTYPE_UINT16] = {"u16", 16},
    [OC_DTYPE_INT16] = {"i16", 16},
    [OC_DTYPE_INT32] = {"i32", 32},
    [OC_DTYPE_INT64] = {"i64", 64},
    [OC_DTYPE_STRING] = {"string", 0},
    [OC_DTYPE_BOOL] = {"bool", 8},
    [OC_DTYPE_FLOAT16] = {"f16", 16},
    [OC_DTYPE_DOUBLE] = {"f64", 64},
    [OC_DTYPE_UINT32] = {"u32", 32},
    [OC_DTYPE_UINT64] = {"u64", 64},
    [OC_DTYPE_COMPLEX64] = {"c64", 64},
    [OC_DTYPE_COMPLEX128] = {"c128", 128},
    [OC_DTYPE_BFLOAT16] = {"bf16", 16},
    [OC_DTYPE_FLOAT8E4M3FN] = {"f8e4m3fn", 8},
    [OC_DTYPE_FLOAT8E4M3FNUZ] = {"f8e4m3fnuz", 8},
    [OC_DTYPE_FLOAT8E5M2] = {"f8e5m2", 8},
    [OC_DTYPE_FLOAT8E5M2FNUZ] = {"f8e5m2fnuz", 8},
    [OC_DTYPE_UINT4] = {"u4", 4},
    [OC_DTYPE_INT4] = {"i4", 4},
    [OC_DTYPE_FLOAT4E2M1] = {"f4e2m1", 4},
};
_Static_assert(sizeof(dtype_table) / sizeof(dtype_table[0]) == OC_DTYPE_COUNT,
               "dtype_table must list every oc_dtype");

bool oc_dtype_valid(int dtype)
{
    return dtype > 0 && dtype < OC_DTYPE_COUNT;
}

const char *oc_dtype_name(int dtype)
{
    if (dtype < 0 || dtype >= OC_DTYPE_COUNT) return "?";
    return dtype_table[dtype].name;
}

int oc_dtype_bits(int dtype)
{
    if (dtype < 0 || dtype >= OC_DTYPE_COUNT) return 0;
    return dtype_table[dtype].bits;
}


/* ---- 16-bit floats (bit patterns in uint16_t) ---- */

float oc_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t e = (h >> 10) & 0x1f, m = h & 0x3ff, bits;
    if (e == 0x1f) {
        bits = sign | 0x7f800000u | m << 13;
    } else if (e) {
        bits = sign | (e + 112) << 23 | m << 13;
    } else {
        /* zero or subnormal: m * 2^-24 is exact in float */
        float f = (float)m * 0x1p-24f;
        return sign ? -f : f;
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t oc_float_to_half(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000, a = x & 0x7fffffffu;
    if (a >= 0x7f800000u) return (uint16_t)(sign | 0x7c00 | (a > 0x7f800000u ? 0x200 : 0));
    int e = (int)(a >> 23) - 127;
    if (e > 15) return (uint16_t)(sign | 0x7c00);
    uint32_t mant = a & 0x7fffff;
    if (e >= -14) {
        uint32_t h = (uint32_t)(e + 15) << 10 | mant >> 13, rem = mant & 0x1fff;
        if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++; /* a carry into the exponent is right */
        return (uint16_t)(sign | h);
    }
    /* subnormal half: units of 2^-24; the value is (mant | 2^23) * 2^(e-23) */
    int shift = -(e + 1);
    if (shift > 24) return (uint16_t)sign;
    uint32_t m = mant | 0x800000u, h = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1))) h++;
    return (uint16_t)(sign | h);
}

static uint16_t to_half_clamped(float f, float limit)
{
    if (limit > 0) {
        f = f > limit ? limit : f;
        f = f < -limit ? -limit : f;
    }
    return oc_float_to_half(f);
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>

/* F16C is CPUID leaf 1, ECX bit 29 (clang 14's __builtin_cpu_supports does
 * not know the name); "avx" also checks that the OS saves the YMM state. */
static bool have_f16c(void)
{
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c >> 29 & 1) && __builtin_cpu_supports("avx");
}

/* vcvtps2ph rounds to nearest even and makes the same subnormals and
 * infinities as oc_float_to_half; only its NaNs differ (it keeps payload
 * bits), so NaN lanes are redone one by one. */
__attribute__((target("avx,f16c"))) static void half_n_f16c(const unsigned char *src, uint16_t *dst, size_t n,
                                                            float limit)
{
    const __m256 hi = _mm256_set1_ps(limit > 0 ? limit : INFINITY), lo = _mm256_set1_ps(limit > 0 ? -limit : -INFINITY);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps((const float *)(const void *)(src + i * 4));
        const int nan = _mm256_movemask_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q));
        v = _mm256_min_ps(hi, v); /* a NaN v is the second operand: kept */
        v = _mm256_max_ps(lo, v);
        _mm_storeu_si128((__m128i *)(void *)(dst + i), _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
        for (int l = 0; nan && l < 8; l++)
            if (nan >> l & 1) {
                float f;
                memcpy(&f, src + (i + (size_t)l) * 4, 4);
                dst[i + (size_t)l] = to_half_clamped(f, limit);
            }
    }
    for (; i < n; i++) {
        float f;
        memcpy(&f, src + i * 4, 4);
        dst[i] = to_half_clamped(f, limit);
    }
}
#endif

void oc_float_to_half_n(const void *src, uint16_t *dst, size_t n, float limit)
{
    const unsigned char *p = src;
#if defined(__x86_64__) && defined(__GNUC__)
    if (have_f16c()) {
        half_n_f16c(p, dst, n, limit);
        return;
    }
#endif
    for (size_t i = 0; i < n; i++) {
        float f;
        memcpy(&f, p + i * 4, 4);
        dst[i] = to_half_clamped(f, limit);
    }
}

float oc_bf16_to_float(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t oc_float_to_bf16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40);
    x += 0x7fff + ((x >> 16) & 1);
    return (uint16_t)(x >> 16);
}
