/* ops_rnn.c: kernels of the rnn family (being written). */
#include "exec.h"

const oc_op_def oc_ops_rnn[] = {
    {"", "", 0, NULL, NULL},
};
const size_t oc_ops_rnn_count = 0;
