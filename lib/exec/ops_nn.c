/* ops_nn.c: kernels of the nn family (being written). */
#include "exec.h"

const oc_op_def oc_ops_nn[] = {
    {"", "", 0, NULL, NULL},
};
const size_t oc_ops_nn_count = 0;
