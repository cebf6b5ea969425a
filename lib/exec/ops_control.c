/* ops_control.c: kernels of the control family (being written). */
#include "exec.h"

const oc_op_def oc_ops_control[] = {
    {"", "", 0, NULL, NULL},
};
const size_t oc_ops_control_count = 0;
