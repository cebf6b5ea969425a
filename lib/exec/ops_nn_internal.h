/* ops_nn_internal.h: the nn family is two files: ops_conv.c (convolutions and
 * pooling: the sliding-window kernels) and ops_nn.c (matrix products,
 * normalizations, softmax, resizing, and the family's one op table). This
 * header is how the table in ops_nn.c reaches the kernels of ops_conv.c,
 * and how those reach the tile kernel of ops_nn.c; it is internal to
 * lib/exec. */
#ifndef OC_OPS_NN_INTERNAL_H
#define OC_OPS_NN_INTERNAL_H

#include "exec.h"

/* A hot loop compiled for several instruction sets, the widest the CPU
 * runs picked when the program loads (GCC's function multiversioning): the
 * build targets the x86-64 baseline, whose vectors are 4 floats wide. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define OC_NN_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define OC_NN_CLONES
#endif

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

/* ---- the tile kernel of the convolutions' matrix products (ops_nn.c) ----
 * c[r][0..NR) = (add ? c[r][0..NR) : bias[r]) + sum over t < kc of
 * a[r * lda + t] * b[boff[t] + 0..NR), for r < mr <= MR: an MR x NR block
 * of C = A * B that stays in registers while the taps go by. Rows of B are
 * found through the offsets boff, so B can be a packed panel (boff[t] =
 * t * NR) or runs of a bigger array. Rows of A from mr on repeat row mr - 1
 * and are not stored; bias may be NULL (zero). */
typedef void (*oc_nn_tile_fn)(const float *a, int64_t lda, const float *b, const int64_t *boff, int64_t kc,
                              float *c, int64_t ldc, int mr, const float *bias, bool add);

enum { OC_NN_TILE_MR_MAX = 8, OC_NN_TILE_NR_MAX = 32 };

typedef struct oc_nn_tile {
    oc_nn_tile_fn fn;
    int mr, nr; /* MR <= OC_NN_TILE_MR_MAX, NR <= OC_NN_TILE_NR_MAX */
} oc_nn_tile;

/* The widest tile kernel this CPU runs. */
oc_nn_tile oc_nn_pick_tile(void);
/* Up to cap of the tile kernels this CPU runs, widest first (the plain C
 * one last); returns how many (tests compare them all). */
size_t oc_nn_list_tiles(oc_nn_tile *out, size_t cap);
/* One tile whose first nr <= NR columns are stored; a partial one goes
 * through a scratch tile. The kernel reads whole rows of NR floats of B
 * either way: the caller makes that safe. */
void oc_nn_run_tile(const oc_nn_tile *tk, const float *a, int64_t lda, const float *b, const int64_t *boff,
                    int64_t kc, float *c, int64_t ldc, int mr, int nr, const float *bias, bool add);

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
