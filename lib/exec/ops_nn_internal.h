/* ops_nn_internal.h: the nn family is two files: ops_conv.c (convolutions and
 * pooling: the sliding-window kernels) and ops_nn.c (matrix products,
 * normalizations, softmax, resizing, and the family's one op table). This
 * header is how the table in ops_nn.c reaches the kernels of ops_conv.c; it
 * is internal to lib/exec. */
#ifndef OC_OPS_NN_INTERNAL_H
#define OC_OPS_NN_INTERNAL_H

#include "exec.h"

/* Vector loops the kernels share. They are written in blocks of 8 so that
 * the cheap vectorizer of -O2 turns the unit-stride ones into SIMD. */

/* y[i] += a * x[i] for i < n */
static inline void oc_nn_axpy(float *restrict y, const float *restrict x, float a, int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) y[i + j] += a * x[i + j];
    for (; i < n; i++) y[i] += a * x[i];
}

/* y[i] += a * x[i * s] for i < n */
static inline void oc_nn_axpy_strided(float *restrict y, const float *restrict x, float a, int64_t n, int64_t s)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) y[i + j] += a * x[(i + j) * s];
    for (; i < n; i++) y[i] += a * x[i * s];
}

/* y[i] = a * x[i] + b for i < n (y may be x) */
static inline void oc_nn_scale_shift(float *y, const float *x, float a, float b, int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        float t[8];
        for (int j = 0; j < 8; j++) t[j] = a * x[i + j] + b;
        for (int j = 0; j < 8; j++) y[i + j] = t[j];
    }
    for (; i < n; i++) y[i] = a * x[i] + b;
}

/* Conv (1..11): N-D, groups, dilations, strides, pads, auto_pad. */
oc_status oc_nn_conv_prepare(oc_kctx *k);
oc_status oc_nn_conv_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out);
/* ConvTranspose (1..11): output_padding, output_shape, groups, auto_pad. */
oc_status oc_nn_convtranspose_prepare(oc_kctx *k);
oc_status oc_nn_convtranspose_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out,
                                  size_t n_out);
/* MaxPool and AveragePool (kernel_shape, strides, pads, dilations,
 * ceil_mode, auto_pad, count_include_pad, MaxPool's Indices). */
oc_status oc_nn_pool_prepare(oc_kctx *k);
oc_status oc_nn_maxpool_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out);
oc_status oc_nn_avgpool_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out);
/* LpPool (p, kernel_shape, strides, pads, auto_pad, ceil_mode from 18). */
oc_status oc_nn_lppool_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out);
/* GlobalAveragePool, GlobalMaxPool, GlobalLpPool. */
oc_status oc_nn_global_avgpool_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out,
                                   size_t n_out);
oc_status oc_nn_global_maxpool_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out,
                                   size_t n_out);
oc_status oc_nn_global_lppool_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out,
                                  size_t n_out);
/* MaxUnpool (9..11): scatters X to the positions I within the output. */
oc_status oc_nn_maxunpool_prepare(oc_kctx *k);
oc_status oc_nn_maxunpool_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out);

#endif
