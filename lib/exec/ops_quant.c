/* ops_quant.c: kernels of the quant family (being written). */
#include "exec.h"

const oc_op_def oc_ops_quant[] = {
    {"", "", 0, NULL, NULL},
};
const size_t oc_ops_quant_count = 0;
