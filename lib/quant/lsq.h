/* lsq.h: the least-squares numerics behind data-aware pruning: a damped
 * Cholesky factorization of a Gram matrix, Optimal-Brain-Surgeon pruning
 * with a fixed mask (SparseGPT's column sweep), and the closed-form refit
 * of a layer onto a subset of its inputs (ThiNet / He et al. 2017).
 *
 * A layer computes y = W x with W rows x n (row = output unit, column =
 * input entry); its calibration inputs stack into X (count x n) and
 * H = X^T X is their Gram matrix (n x n, double, row-major, symmetric).
 * Every routine here minimises the output error ||X W^T - X W'^T||_F, so
 * it only ever needs H, never X.
 *
 * Damping: `damp` is relative to the mean of H's diagonal: damp * mean(diag)
 * is added to the diagonal (SparseGPT uses 0.01). A zero diagonal entry (an
 * input that was always zero) becomes 1, so such an input is decoupled from
 * the others instead of making H singular. When H is still not positive
 * definite, the damping grows tenfold, a few times, before giving up.
 *
 * Pure functions over arrays: no graph here. Memory comes from oc_malloc
 * (OC_ERR_NOMEM on failure, nothing leaked); the heavy lifting is OpenBLAS. */
#ifndef OC_LSQ_H
#define OC_LSQ_H

#include "../common/common.h"

/* Damping added to H's diagonal, relative to its mean, that the prune
 * passes use unless told otherwise. */
#define OC_LSQ_DAMP_DEFAULT 0.01

/* Damps and factorizes the symmetric n x n matrix h (row-major) in place:
 * h = L L^T with L lower triangular. Only the upper triangle and the
 * diagonal of h are read. On success the lower triangle (diagonal included)
 * holds L and the strict upper triangle is zero. Fails with
 * OC_ERR_UNSUPPORTED when h holds NaN or infinity (activations overflowed)
 * and OC_ERR_INTERNAL when h stays indefinite however damped; h is then
 * left undefined. */
oc_status oc_lsq_damp_cholesky(oc_ctx *ctx, double *h, int64_t n, double damp);

/* OBS / SparseGPT with a fixed mask. w is rows x n (row-major) and keep
 * rows x n (1: keep, 0: prune); h is the n x n Gram of the layer's input
 * (read only). Each pruned weight is set to exactly 0.0f and its error is
 * spread over the not-yet-visited columns of its row through the inverse
 * Hessian (H^-1 = U^T U, U upper; for column j = 0..n-1, each pruned w[i][j]
 * gives err = w[i][j] / U[j][j] and w[i][j+1..] -= err * U[j][j+1..]), which
 * greedily minimises ||X w^T - X w'^T||. Kept weights change, pruned ones
 * are zero. Memory: one n x n double matrix plus O((rows + n) * 128). When
 * keep is all ones, w is left as it is; on failure (OC_ERR_NOMEM, or the
 * statuses of oc_lsq_damp_cholesky) w is unchanged too. */
oc_status oc_lsq_obs_prune(oc_ctx *ctx, float *w, int64_t rows, int64_t n, const uint8_t *keep, const double *h,
                           double damp);

/* The value weight (row, col) is to keep, given its value v after the
 * errors of the columns before it were spread (v itself: it stays). */
typedef float (*oc_lsq_target_fn)(void *ud, int64_t row, int64_t col, float v);

/* The OBS column sweep behind oc_lsq_obs_prune, with any target: GPTQ
 * (Frantar et al. 2022) when the target rounds v to a quantization grid.
 * For column j = 0..n-1, every row's weight becomes target(v) and the error
 * (v - target) / U[j][j] is spread over the row's later columns, which
 * greedily minimises ||X w^T - X w'^T||. On return w holds the targets.
 * Memory and failures as oc_lsq_obs_prune: on failure w is unchanged. */
oc_status oc_lsq_obs_sweep(oc_ctx *ctx, float *w, int64_t rows, int64_t n, const double *h, double damp,
                           oc_lsq_target_fn target, void *ud);

/* Least-squares refit onto the kept columns: with K the columns where
 * keep_col[c] != 0 (nk of them), out (rows x nk, row-major, columns in
 * increasing order of K) = W H[:,K] (H[K,K] + damping)^-1, the W' that
 * minimises ||X W^T - X_K W'^T||_F. w is rows x n; h the n x n Gram (read
 * only). With nk == 0 nothing is written. Memory: n x nk + nk x nk doubles
 * plus a row chunk. Fails as oc_lsq_damp_cholesky does (on H[K,K]). */
oc_status oc_lsq_refit_columns(oc_ctx *ctx, const float *w, int64_t rows, int64_t n, const double *h,
                               const uint8_t *keep_col, double damp, float *out);

/* h (n x n, full symmetric) = X^T X for X count x n (row-major, float), in
 * double (rank-k updates over chunks of rows). A convenience for callers
 * holding X itself, and for tests. */
oc_status oc_lsq_gram(oc_ctx *ctx, const float *x, int64_t count, int64_t n, double *h);

#endif
