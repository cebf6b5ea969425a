/* ops_reduce.c: kernels of the reduce family (being written). */
#include "exec.h"

const oc_op_def oc_ops_reduce[] = {
    {"", "", 0, NULL, NULL},
};
const size_t oc_ops_reduce_count = 0;
