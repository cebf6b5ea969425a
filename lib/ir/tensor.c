/* tensor.c: reading tensor elements whatever their type, with the data in
 * ONNX's raw layout (little-endian, possibly unaligned when borrowed from a
 * mapped file). */
#include "ir.h"

#include <math.h>
#include <string.h>

int64_t oc_tensor_expected_nbytes(int dtype, int64_t numel)
{
    int bits = oc_dtype_bits(dtype);
    if (bits == 0 || numel < 0) return -1;
    if (bits == 4) return numel / 2 + (numel & 1);
    int64_t r;
    if (oc_mul_overflow_i64(numel, bits / 8, &r)) return -1;
    return r;
}


double oc_tensor_get(const oc_tensor *t, int64_t i)
{
    const unsigned char *p = t->data;
    if (!p || i < 0 || i >= t->numel) return 0.0;
    int bits = oc_dtype_bits(t->dtype);
    if (bits >= 8 && (size_t)(i + 1) * (size_t)(bits / 8) > t->nbytes) return 0.0;
    switch (t->dtype) {
    case OC_DTYPE_FLOAT: { float v; memcpy(&v, p + 4 * i, 4); return v; }
    case OC_DTYPE_DOUBLE: { double v; memcpy(&v, p + 8 * i, 8); return v; }
    case OC_DTYPE_FLOAT16: { uint16_t v; memcpy(&v, p + 2 * i, 2); return oc_half_to_float(v); }
    case OC_DTYPE_BFLOAT16: {
        uint16_t v; memcpy(&v, p + 2 * i, 2);
        uint32_t b = (uint32_t)v << 16; float f; memcpy(&f, &b, 4); return f;
    }
    case OC_DTYPE_INT8: return (int8_t)p[i];
    case OC_DTYPE_UINT8: case OC_DTYPE_BOOL: return p[i];
    case OC_DTYPE_INT16: { int16_t v; memcpy(&v, p + 2 * i, 2); return v; }
    case OC_DTYPE_UINT16: { uint16_t v; memcpy(&v, p + 2 * i, 2); return v; }
    case OC_DTYPE_INT32: { int32_t v; memcpy(&v, p + 4 * i, 4); return v; }
    case OC_DTYPE_UINT32: { uint32_t v; memcpy(&v, p + 4 * i, 4); return v; }
    case OC_DTYPE_INT64: { int64_t v; memcpy(&v, p + 8 * i, 8); return (double)v; }
    case OC_DTYPE_UINT64: { uint64_t v; memcpy(&v, p + 8 * i, 8); return (double)v; }
    case OC_DTYPE_INT4: case OC_DTYPE_UINT4: {
        if ((size_t)(i / 2) >= t->nbytes) return 0.0;
        int nib = (p[i / 2] >> ((i & 1) * 4)) & 0xf;
        if (t->dtype == OC_DTYPE_INT4 && nib >= 8) nib -= 16;
        return nib;
    }
    default: return 0.0;
    }
}

int64_t oc_tensor_count_zeros(const oc_tensor *t)
{
    if (!t->data || t->dtype == OC_DTYPE_STRING) return 0;
    int64_t z = 0;
    if (t->dtype == OC_DTYPE_FLOAT) {
        const unsigned char *p = t->data;
        int64_t n = (int64_t)(t->nbytes / 4) < t->numel ? (int64_t)(t->nbytes / 4) : t->numel;
        for (int64_t i = 0; i < n; i++) {
            uint32_t b;
            memcpy(&b, p + 4 * i, 4);
            z += (b & 0x7fffffffu) == 0; /* +0 and -0 */
        }
        return z;
    }
    for (int64_t i = 0; i < t->numel; i++) z += oc_tensor_get(t, i) == 0.0;
    return z;
}
