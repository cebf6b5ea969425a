/* dtype.c: the traits of every ONNX element type, in one table indexed by the
 * TensorProto.DataType number. Adding a type to oc_dtype breaks the build here
 * until the table knows it. */
#include "common.h"

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
