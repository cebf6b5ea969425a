/* lsq.c: damped Cholesky, OBS pruning with a fixed mask and least-squares
 * refits over Gram matrices (see lsq.h for the math and the promises).
 *
 * The factorization is a right-looking blocked Cholesky: an unblocked
 * factorization of each diagonal block, a triangular solve for the panel
 * below it and a rank-b update of the trailing matrix, the last two in
 * OpenBLAS. It writes only the lower triangle, so the upper triangle still
 * holds the input and a failed attempt can be retried with more damping
 * without a copy.
 *
 * OBS needs the upper Cholesky factor U of H^-1 (H^-1 = U^T U). With P the
 * index reversal, P H P = L L^T gives H^-1 = (P L^-1 P)^T (P L^-1 P), and
 * P L^-1 P is upper triangular: so U is one Cholesky factorization of the
 * reversed H and one triangular inverse, in place in one n x n buffer. */
#include "lsq.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

/* Block sizes: of the factorization, of the triangular inverse, and of the
 * OBS column sweep (errors are applied to later columns once per block). */
#define CHOL_BLOCK 64
#define INV_BLOCK 64
#define OBS_BLOCK 128
/* Rows of W converted to double at once by the refit, rows of X by
 * oc_lsq_gram. */
#define REFIT_ROWS 256
#define GRAM_ROWS 1024
/* Damping attempts: damp, then 10x each time. */
#define DAMP_TRIES 5
/* Relative damping of the retries when the caller asked for none. */
#define DAMP_FLOOR 1e-7

static bool alloc_size(int64_t a, int64_t b, size_t elem, size_t *out)
{
    size_t ab;
    if (a < 0 || b < 0) return false;
    if (oc_mul_overflow_size((size_t)a, (size_t)b, &ab) || oc_mul_overflow_size(ab, elem, out)) return false;
    if (*out == 0) *out = elem;
    return true;
}

static void *alloc2(int64_t a, int64_t b, size_t elem)
{
    size_t nb;
    return alloc_size(a, b, elem, &nb) ? oc_malloc(nb) : NULL;
}

/* ---- Cholesky ---- */

/* Unblocked Cholesky of the b x b diagonal block at a (leading dim ld),
 * lower triangle only. False when a pivot is not positive. */
static bool chol_block(double *a, int64_t b, int64_t ld)
{
    for (int64_t j = 0; j < b; j++) {
        double *rj = a + j * ld;
        double d = rj[j];
        for (int64_t k = 0; k < j; k++) d -= rj[k] * rj[k];
        if (!(d > 0.0) || !isfinite(d)) return false;
        const double l = sqrt(d);
        rj[j] = l;
        for (int64_t i = j + 1; i < b; i++) {
            double *ri = a + i * ld;
            double s = ri[j];
            for (int64_t k = 0; k < j; k++) s -= ri[k] * rj[k];
            ri[j] = s / l;
        }
    }
    return true;
}

/* Lower Cholesky of the n x n matrix a in place (lower triangle read and
 * written, strict upper untouched). False when not positive definite. */
static bool chol_lower(double *a, int64_t n)
{
    for (int64_t k0 = 0; k0 < n; k0 += CHOL_BLOCK) {
        const int64_t b = n - k0 < CHOL_BLOCK ? n - k0 : CHOL_BLOCK;
        double *a11 = a + k0 * n + k0;
        if (!chol_block(a11, b, n)) return false;
        const int64_t m = n - k0 - b;
        if (m == 0) break;
        double *a21 = a + (k0 + b) * n + k0;
        /* A21 := A21 L11^-T, then A22 -= A21 A21^T (lower part) */
        cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, (int)m, (int)b, 1.0, a11,
                    (int)n, a21, (int)n);
        cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, (int)m, (int)b, -1.0, a21, (int)n, 1.0,
                    a + (k0 + b) * n + k0 + b, (int)n);
    }
    return true;
}

oc_status oc_lsq_damp_cholesky(oc_ctx *ctx, double *h, int64_t n, double damp)
{
    RETURN_ERROR_IF(n < 0 || n > INT32_MAX, ctx, OC_ERR_USAGE, "Gram matrix of %lld inputs", (long long)n);
    if (n == 0) return OC_OK;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = i; j < n; j++)
            RETURN_ERROR_IF(!isfinite(h[i * n + j]), ctx, OC_ERR_UNSUPPORTED,
                            "Gram matrix of %lld inputs holds %g at (%lld, %lld): the calibration activations "
                            "overflowed", (long long)n, h[i * n + j], (long long)i, (long long)j);
    double *diag = oc_malloc((size_t)n * sizeof(double));
    RETURN_ERROR_IF(!diag, ctx, OC_ERR_NOMEM, "out of memory factorizing a Gram matrix of %lld inputs",
                    (long long)n);
    /* dead inputs (never nonzero) get 1 on the diagonal: decoupled, not singular */
    double mean = 0.0;
    for (int64_t i = 0; i < n; i++) {
        diag[i] = h[i * n + i] == 0.0 ? 1.0 : h[i * n + i];
        mean += diag[i];
    }
    mean /= (double)n;
    const double base = damp > 0.0 ? damp : DAMP_FLOOR;
    double lambda = damp > 0.0 ? damp : 0.0;
    for (int t = 0; t < DAMP_TRIES; t++) {
        for (int64_t i = 0; i < n; i++) {
            h[i * n + i] = diag[i] + lambda * mean;
            for (int64_t j = i + 1; j < n; j++) h[j * n + i] = h[i * n + j];
        }
        if (chol_lower(h, n)) {
            for (int64_t i = 0; i < n; i++) memset(h + i * n + i + 1, 0, (size_t)(n - i - 1) * sizeof(double));
            oc_free(diag);
            return OC_OK;
        }
        lambda = t == 0 ? base * 10.0 : lambda * 10.0;
    }
    oc_free(diag);
    return oc_fail(ctx, OC_ERR_INTERNAL,
                   "Gram matrix of %lld inputs is not positive definite even damped by %g x its mean diagonal",
                   (long long)n, lambda / 10.0);
}

/* ---- OBS with a fixed mask ---- */

/* a (n x n, lower triangular, zero above) := a^-1 in place; tmp holds
 * n x INV_BLOCK doubles. Column block [k0, k0+b) of the inverse solves
 * L[k0:, k0:] X = I[k0:, k0:k0+b] and only needs columns >= k0 of L, so it
 * can overwrite columns k0..k0+b once solved. */
static void tri_inverse_lower(double *a, int64_t n, double *tmp)
{
    for (int64_t k0 = 0; k0 < n; k0 += INV_BLOCK) {
        const int64_t b = n - k0 < INV_BLOCK ? n - k0 : INV_BLOCK, m = n - k0;
        memset(tmp, 0, (size_t)(m * b) * sizeof(double));
        for (int64_t i = 0; i < b; i++) tmp[i * b + i] = 1.0;
        cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, (int)m, (int)b, 1.0,
                    a + k0 * n + k0, (int)n, tmp, (int)b);
        for (int64_t i = 0; i < m; i++) memcpy(a + (k0 + i) * n + k0, tmp + i * b, (size_t)b * sizeof(double));
    }
}

/* a[i][j] <-> a[n-1-i][n-1-j] for every entry: the matrix seen with both
 * index orders reversed (P a P). */
static void reverse_both(double *a, int64_t n)
{
    const int64_t total = n * n;
    for (int64_t e = 0; e < total / 2; e++) {
        const double t = a[e];
        a[e] = a[total - 1 - e];
        a[total - 1 - e] = t;
    }
}

/* The upper factor U of (damped H)^-1 = U^T U, into u (n x n). */
static oc_status inverse_factor(oc_ctx *ctx, const double *h, int64_t n, double damp, double *u)
{
    double *tmp = alloc2(n, INV_BLOCK, sizeof(double));
    RETURN_ERROR_IF(!tmp, ctx, OC_ERR_NOMEM, "out of memory inverting a Gram matrix of %lld inputs", (long long)n);
    memcpy(u, h, (size_t)(n * n) * sizeof(double));
    reverse_both(u, n);
    oc_status st = oc_lsq_damp_cholesky(ctx, u, n, damp);
    if (st == OC_OK) {
        tri_inverse_lower(u, n, tmp);
        reverse_both(u, n);
    }
    oc_free(tmp);
    return st;
}

/* One row of one OBS block: wb[0..b) are the row's weights in columns
 * [j0, j0+b), u the factor; each weight in turn is set to what `target`
 * says and its error, scaled by the factor's diagonal, goes to err[c] (0
 * when the weight stays) and to the block's later columns. Returns whether
 * any weight moved. */
static bool sweep_row(double *wb, int64_t b, int64_t j0, const double *u, int64_t n, oc_lsq_target_fn target,
                      void *ud, int64_t row, float *err)
{
    bool moved = false;
    for (int64_t c = 0; c < b; c++) {
        const int64_t j = j0 + c;
        const float v = (float)wb[c], t = target(ud, row, j, v);
        if (t == v) {
            err[c] = 0.0f;
            continue;
        }
        const double *uj = u + j * n;
        const double e = (wb[c] - t) / uj[j];
        for (int64_t k = c + 1; k < b; k++) wb[k] -= e * uj[j0 + k];
        wb[c] = t;
        err[c] = (float)e;
        moved = true;
    }
    return moved;
}

oc_status oc_lsq_obs_sweep(oc_ctx *ctx, float *w, int64_t rows, int64_t n, const double *h, double damp,
                           oc_lsq_target_fn target, void *ud)
{
    RETURN_ERROR_IF(rows < 0 || n < 0 || n > INT32_MAX || rows > INT32_MAX, ctx, OC_ERR_USAGE,
                    "OBS sweep over a %lld x %lld matrix", (long long)rows, (long long)n);
    if (!rows || !n) return OC_OK;
    double *u = alloc2(n, n, sizeof(double));
    double *wb = alloc2(rows, OBS_BLOCK, sizeof(double));
    float *err = alloc2(rows, OBS_BLOCK, sizeof(float));
    float *uf = alloc2(OBS_BLOCK, n, sizeof(float));
    oc_status st = OC_OK;
    if (!u || !wb || !err || !uf) {
        st = oc_fail(ctx, OC_ERR_NOMEM, "out of memory for the OBS sweep over a %lld x %lld matrix",
                     (long long)rows, (long long)n);
        goto cleanup;
    }
    st = inverse_factor(ctx, h, n, damp, u);
    if (st != OC_OK) goto cleanup;
    for (int64_t j0 = 0; j0 < n; j0 += OBS_BLOCK) {
        const int64_t b = n - j0 < OBS_BLOCK ? n - j0 : OBS_BLOCK, rest = n - j0 - b;
        bool any = false;
        for (int64_t i = 0; i < rows; i++) {
            float *wi = w + i * n + j0;
            double *bi = wb + i * b;
            for (int64_t c = 0; c < b; c++) bi[c] = wi[c];
            if (!sweep_row(bi, b, j0, u, n, target, ud, i, err + i * b)) continue;
            any = true;
            for (int64_t c = 0; c < b; c++) wi[c] = (float)bi[c];
        }
        if (!any || rest == 0) continue;
        /* the block's errors reach the later columns at once:
         * W[:, j0+b:] -= E U[j0:j0+b, j0+b:] */
        for (int64_t c = 0; c < b; c++)
            for (int64_t t = 0; t < rest; t++) uf[c * rest + t] = (float)u[(j0 + c) * n + j0 + b + t];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)rest, (int)b, -1.0f, err, (int)b, uf,
                    (int)rest, 1.0f, w + j0 + b, (int)n);
    }
cleanup:
    oc_free(u);
    oc_free(wb);
    oc_free(err);
    oc_free(uf);
    return st;
}

typedef struct keep_mask {
    const uint8_t *keep;
    int64_t n;
} keep_mask;

static float keep_target(void *ud, int64_t row, int64_t col, float v)
{
    const keep_mask *k = ud;
    return k->keep[row * k->n + col] ? v : 0.0f;
}

oc_status oc_lsq_obs_prune(oc_ctx *ctx, float *w, int64_t rows, int64_t n, const uint8_t *keep, const double *h,
                           double damp)
{
    RETURN_ERROR_IF(rows < 0 || n < 0 || n > INT32_MAX || rows > INT32_MAX, ctx, OC_ERR_USAGE,
                    "OBS pruning of a %lld x %lld matrix", (long long)rows, (long long)n);
    int64_t pruned = 0;
    for (int64_t i = 0; i < rows * n; i++) pruned += !keep[i];
    if (!pruned) return OC_OK;
    keep_mask k = {keep, n};
    return oc_lsq_obs_sweep(ctx, w, rows, n, h, damp, keep_target, &k);
}

/* ---- least-squares refit ---- */

oc_status oc_lsq_refit_columns(oc_ctx *ctx, const float *w, int64_t rows, int64_t n, const double *h,
                               const uint8_t *keep_col, double damp, float *out)
{
    RETURN_ERROR_IF(rows < 0 || n < 0 || n > INT32_MAX || rows > INT32_MAX, ctx, OC_ERR_USAGE,
                    "refit of a %lld x %lld matrix", (long long)rows, (long long)n);
    int64_t nk = 0;
    for (int64_t c = 0; c < n; c++) nk += keep_col[c] != 0;
    if (nk == 0 || rows == 0) return OC_OK;
    int64_t *kc = alloc2(nk, 1, sizeof(int64_t));
    double *hk = alloc2(n, nk, sizeof(double));   /* H[:, K] */
    double *m = alloc2(nk, nk, sizeof(double));   /* H[K, K], then its factor */
    const int64_t chunk = rows < REFIT_ROWS ? rows : REFIT_ROWS;
    double *wd = alloc2(chunk, n, sizeof(double));
    double *a = alloc2(chunk, nk, sizeof(double));
    oc_status st = OC_OK;
    if (!kc || !hk || !m || !wd || !a) {
        st = oc_fail(ctx, OC_ERR_NOMEM, "out of memory refitting a %lld x %lld matrix", (long long)rows,
                     (long long)n);
        goto cleanup;
    }
    for (int64_t c = 0, k = 0; c < n; c++)
        if (keep_col[c]) kc[k++] = c;
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = 0; k < nk; k++) hk[i * nk + k] = h[i * n + kc[k]];
    for (int64_t k = 0; k < nk; k++) memcpy(m + k * nk, hk + kc[k] * nk, (size_t)nk * sizeof(double));
    st = oc_lsq_damp_cholesky(ctx, m, nk, damp);
    if (st != OC_OK) goto cleanup;
    for (int64_t r0 = 0; r0 < rows; r0 += chunk) {
        const int64_t rc = rows - r0 < chunk ? rows - r0 : chunk;
        for (int64_t i = 0; i < rc * n; i++) wd[i] = w[r0 * n + i];
        /* A = W H[:, K]; then X M = A with M = L L^T: A L^-T, then L^-1 */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rc, (int)nk, (int)n, 1.0, wd, (int)n, hk,
                    (int)nk, 0.0, a, (int)nk);
        cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, (int)rc, (int)nk, 1.0, m,
                    (int)nk, a, (int)nk);
        cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasNoTrans, CblasNonUnit, (int)rc, (int)nk, 1.0, m,
                    (int)nk, a, (int)nk);
        for (int64_t i = 0; i < rc * nk; i++) out[r0 * nk + i] = (float)a[i];
    }
cleanup:
    oc_free(kc);
    oc_free(hk);
    oc_free(m);
    oc_free(wd);
    oc_free(a);
    return st;
}

oc_status oc_lsq_gram(oc_ctx *ctx, const float *x, int64_t count, int64_t n, double *h)
{
    RETURN_ERROR_IF(count < 0 || n < 0 || n > INT32_MAX, ctx, OC_ERR_USAGE, "Gram of a %lld x %lld matrix",
                    (long long)count, (long long)n);
    if (n == 0) return OC_OK;
    const int64_t chunk = count < GRAM_ROWS ? (count ? count : 1) : GRAM_ROWS;
    double *xd = alloc2(chunk, n, sizeof(double));
    RETURN_ERROR_IF(!xd, ctx, OC_ERR_NOMEM, "out of memory for the Gram of a %lld x %lld matrix", (long long)count,
                    (long long)n);
    memset(h, 0, (size_t)(n * n) * sizeof(double));
    for (int64_t r0 = 0; r0 < count; r0 += chunk) {
        const int64_t rc = count - r0 < chunk ? count - r0 : chunk;
        for (int64_t i = 0; i < rc * n; i++) xd[i] = x[r0 * n + i];
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)n, (int)rc, 1.0, xd, (int)n, 1.0, h, (int)n);
    }
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < i; j++) h[i * n + j] = h[j * n + i];
    oc_free(xd);
    return OC_OK;
}
