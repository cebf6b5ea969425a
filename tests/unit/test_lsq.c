/* test_lsq.c: the least-squares numerics of lib/quant/lsq.c. The Cholesky
 * factor is checked against a known one and by multiplying it back; the
 * refit against data whose dropped columns are exact combinations of the
 * kept ones; OBS pruning against a plain unblocked reference (explicit
 * inverse, textbook loops) and against zeroing the pruned weights; and
 * every allocation failure must give OC_ERR_NOMEM with nothing changed and
 * nothing leaked (under the sanitizers). */
#include "quant/lsq.h"
#include "unit.h"

#include <math.h>
#include <stdint.h>

/* ---- helpers ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static double urand(void) /* [-1, 1) */
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 4503599627370496.0 - 1.0;
}

/* X count x n with AR(1)-correlated columns: x_j = 0.8 x_{j-1} + noise,
 * and one dead column (always zero) when dead >= 0. */
static float *correlated(int64_t count, int64_t n, int64_t dead)
{
    float *x = malloc((size_t)(count * n) * sizeof(float));
    for (int64_t r = 0; r < count; r++) {
        double prev = 0.0;
        for (int64_t j = 0; j < n; j++) {
            prev = 0.8 * prev + urand();
            x[r * n + j] = j == dead ? 0.0f : (float)prev;
        }
    }
    return x;
}

static float *rand_w(int64_t rows, int64_t n)
{
    float *w = malloc((size_t)(rows * n) * sizeof(float));
    for (int64_t i = 0; i < rows * n; i++) w[i] = (float)urand();
    return w;
}

/* ||X a^T - X b^T||_F over the columns of X selected by sel (NULL: all),
 * a rows x n, b rows x nb with nb = columns selected for b (b_sel). */
static double out_err(const float *x, int64_t count, int64_t n, const float *a, int64_t rows, const float *b,
                      const uint8_t *b_sel, int64_t nb)
{
    double e = 0.0;
    for (int64_t r = 0; r < count; r++)
        for (int64_t i = 0; i < rows; i++) {
            double ya = 0.0, yb = 0.0;
            for (int64_t j = 0, k = 0; j < n; j++) {
                ya += (double)x[r * n + j] * a[i * n + j];
                if (!b_sel || b_sel[j]) yb += (double)x[r * n + j] * b[i * nb + k++];
            }
            e += (ya - yb) * (ya - yb);
        }
    return sqrt(e);
}

static double out_norm(const float *x, int64_t count, int64_t n, const float *a, int64_t rows)
{
    double e = 0.0;
    for (int64_t r = 0; r < count; r++)
        for (int64_t i = 0; i < rows; i++) {
            double y = 0.0;
            for (int64_t j = 0; j < n; j++) y += (double)x[r * n + j] * a[i * n + j];
            e += y * y;
        }
    return sqrt(e);
}

/* ---- Gram ---- */

/* Over a row chunk boundary, against the plain triple loop. */
static void gram_matches_naive(void)
{
    oc_ctx ctx;
    oc_ctx_init(&ctx);
    const int64_t count = 2500, n = 37;
    float *x = correlated(count, n, 5);
    double *h = malloc((size_t)(n * n) * sizeof(double)), *ref = calloc((size_t)(n * n), sizeof(double));
    CHECK_EQ_INT(oc_lsq_gram(&ctx, x, count, n, h), OC_OK);
    for (int64_t r = 0; r < count; r++)
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < n; j++) ref[i * n + j] += (double)x[r * n + i] * x[r * n + j];
    double worst = 0, scale = 0;
    for (int64_t i = 0; i < n * n; i++) {
        worst = fmax(worst, fabs(h[i] - ref[i]));
        scale = fmax(scale, fabs(ref[i]));
    }
    CHECK(worst < 1e-12 * scale);
    CHECK(h[5 * n + 5] == 0.0 && h[5 * n + 6] == 0.0 && h[6 * n + 5] == 0.0);
    free(x);
    free(h);
    free(ref);
}

/* ---- Cholesky ---- */

static void cholesky_known(void)
{
    oc_ctx ctx;
    oc_ctx_init(&ctx);
    const double l0[16] = {2, 0, 0, 0, 1, 3, 0, 0, -1, 0.5, 1.5, 0, 0.25, -2, 1, 4};
    double a[16];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            double s = 0;
            for (int k = 0; k < 4; k++) s += l0[i * 4 + k] * l0[j * 4 + k];
            a[i * 4 + j] = s;
        }
    CHECK_EQ_INT(oc_lsq_damp_cholesky(&ctx, a, 4, 0.0), OC_OK);
    double worst = 0;
    for (int i = 0; i < 16; i++) worst = fmax(worst, fabs(a[i] - l0[i]));
    CHECK(worst < 1e-12);
}

/* n = 300 crosses several blocks: L L^T must give back A (+ damping). */
static void cholesky_blocked(void)
{
    oc_ctx ctx;
    oc_ctx_init(&ctx);
    const int64_t n = 300, count = 400;
    float *x = correlated(count, n, 17);
    double *a = malloc((size_t)(n * n) * sizeof(double)), *h = malloc((size_t)(n * n) * sizeof(double));
    CHECK_EQ_INT(oc_lsq_gram(&ctx, x, count, n, h), OC_OK);
    CHECK(h[17 * n + 17] == 0.0);
    memcpy(a, h, (size_t)(n * n) * sizeof(double));
    const double damp = 0.01;
    CHECK_EQ_INT(oc_lsq_damp_cholesky(&ctx, a, n, damp), OC_OK);
    double mean = 0;
    for (int64_t i = 0; i < n; i++) mean += i == 17 ? 1.0 : h[i * n + i];
    mean /= (double)n;
    double worst = 0, upper = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) {
            if (j > i) upper = fmax(upper, fabs(a[i * n + j]));
            double s = 0;
            for (int64_t k = 0; k <= (i < j ? i : j); k++) s += a[i * n + k] * a[j * n + k];
            double want = h[i * n + j] + (i == j ? (i == 17 ? 1.0 : 0.0) + damp * mean : 0.0);
            worst = fmax(worst, fabs(s - want) / mean);
        }
    CHECK(worst < 1e-10);
    CHECK(upper == 0.0);
    free(x);
    free(a);
    free(h);
}

static void cholesky_failures(void)
{
    oc_ctx ctx;
    oc_ctx_init(&ctx);
    double indefinite[4] = {1, 2, 2, 1};
    CHECK_EQ_INT(oc_lsq_damp_cholesky(&ctx, indefinite, 2, 0.0), OC_ERR_INTERNAL);
    CHECK(strstr(ctx.msg, "not positive definite") != NULL);
    /* enough damping makes it definite: eigenvalues 3 and -1, mean diag 1 */
    double damped[4] = {1, 2, 2, 1};
    oc_ctx_init(&ctx);
    CHECK_EQ_INT(oc_lsq_damp_cholesky(&ctx, damped, 2, 0.2), OC_OK); /* 0.2, 2: the second try */
    CHECK(fabs(damped[0] - sqrt(3.0)) < 1e-12);
    double bad[4] = {1, NAN, NAN, 1};
    oc_ctx_init(&ctx);
    CHECK_EQ_INT(oc_lsq_damp_cholesky(&ctx, bad, 2, 0.01), OC_ERR_UNSUPPORTED);
}

/* ---- refit ---- */

static void refit_dependent_columns(void)
{
    oc_ctx ctx;
    oc_ctx_init(&ctx);
    const int64_t count = 300, n = 12, rows = 5;
    /* columns 2, 5, 9, 11 are combinations of the others */
    float *x = malloc((size_t)(count * n) * sizeof(float));
    const uint8_t keep[12] = {1, 1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 0};
    for (int64_t r = 0; r < count; r++) {
        float *xr = x + r * n;
        for (int64_t j = 0; j < n; j++) xr[j] = keep[j] ? (float)urand() : 0.0f;
        xr[2] = 0.5f * xr[0] - xr[1];
        xr[5] = xr[3] + 0.25f * xr[4];
        xr[9] = 2.0f * xr[8] - 0.5f * xr[6];
        xr[11] = xr[10] - xr[7] + 0.125f * xr[0];
    }
    double *h = malloc((size_t)(n * n) * sizeof(double));
    CHECK_EQ_INT(oc_lsq_gram(&ctx, x, count, n, h), OC_OK);
    float *w = rand_w(rows, n), out[5 * 8];
    CHECK_EQ_INT(oc_lsq_refit_columns(&ctx, w, rows, n, h, keep, 0.0, out), OC_OK);
    const double rel = out_err(x, count, n, w, rows, out, keep, 8) / out_norm(x, count, n, w, rows);
    CHECK(rel < 1e-6);
    /* plain dropping (keeping the weights of the kept columns) is far off */
    float dropped[5 * 8];
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0, k = 0; j < n; j++)
            if (keep[j]) dropped[i * 8 + k++] = w[i * n + j];
    CHECK(out_err(x, count, n, w, rows, dropped, keep, 8) / out_norm(x, count, n, w, rows) > 0.1);
    free(x);
    free(h);
    free(w);
}

static void refit_all_kept(void)
{
    oc_ctx ctx;
    oc_ctx_init(&ctx);
    const int64_t count = 200, n = 40, rows = 300; /* rows > one refit chunk */
    float *x = correlated(count, n, -1), *w = rand_w(rows, n), *out = malloc((size_t)(rows * n) * sizeof(float));
    double *h = malloc((size_t)(n * n) * sizeof(double));
    uint8_t keep[40];
    memset(keep, 1, sizeof(keep));
    CHECK_EQ_INT(oc_lsq_gram(&ctx, x, count, n, h), OC_OK);
    CHECK_EQ_INT(oc_lsq_refit_columns(&ctx, w, rows, n, h, keep, 0.0, out), OC_OK);
    double worst = 0;
    for (int64_t i = 0; i < rows * n; i++) worst = fmax(worst, fabs(out[i] - w[i]));
    CHECK(worst < 1e-4);
    /* nothing kept: nothing written, not an error */
    memset(keep, 0, sizeof(keep));
    out[0] = 42.0f;
    CHECK_EQ_INT(oc_lsq_refit_columns(&ctx, w, rows, n, h, keep, 0.01, out), OC_OK);
    CHECK(out[0] == 42.0f);
    free(x);
    free(w);
    free(out);
    free(h);
}

/* ---- OBS ---- */

/* In-place Gauss-Jordan inverse of a (n x n). */
static void ref_inverse(double *a, int64_t n)
{
    double *b = calloc((size_t)(n * n), sizeof(double));
    for (int64_t i = 0; i < n; i++) b[i * n + i] = 1;
    for (int64_t c = 0; c < n; c++) {
        const double p = a[c * n + c];
        for (int64_t j = 0; j < n; j++) {
            a[c * n + j] /= p;
            b[c * n + j] /= p;
        }
        for (int64_t i = 0; i < n; i++) {
            if (i == c) continue;
            const double f = a[i * n + c];
            for (int64_t j = 0; j < n; j++) {
                a[i * n + j] -= f * a[c * n + j];
                b[i * n + j] -= f * b[c * n + j];
            }
        }
    }
    memcpy(a, b, (size_t)(n * n) * sizeof(double));
    free(b);
}

/* The textbook algorithm, unblocked, in double: U = chol(H^-1)^T, then the
 * column sweep. */
static void ref_obs(double *w, int64_t rows, int64_t n, const uint8_t *keep, const double *h, double damp)
{
    double *a = malloc((size_t)(n * n) * sizeof(double)), *u = calloc((size_t)(n * n), sizeof(double));
    memcpy(a, h, (size_t)(n * n) * sizeof(double));
    double mean = 0;
    for (int64_t i = 0; i < n; i++) {
        if (a[i * n + i] == 0) a[i * n + i] = 1;
        mean += a[i * n + i];
    }
    for (int64_t i = 0; i < n; i++) a[i * n + i] += damp * mean / (double)n;
    ref_inverse(a, n);
    for (int64_t j = 0; j < n; j++) { /* lower L of a, stored transposed in u */
        double s = a[j * n + j];
        for (int64_t k = 0; k < j; k++) s -= u[k * n + j] * u[k * n + j];
        u[j * n + j] = sqrt(s);
        for (int64_t i = j + 1; i < n; i++) {
            double t = a[i * n + j];
            for (int64_t k = 0; k < j; k++) t -= u[k * n + i] * u[k * n + j];
            u[j * n + i] = t / u[j * n + j];
        }
    }
    for (int64_t j = 0; j < n; j++)
        for (int64_t i = 0; i < rows; i++) {
            if (keep[i * n + j]) continue;
            const double e = w[i * n + j] / u[j * n + j];
            for (int64_t t = j + 1; t < n; t++) w[i * n + t] -= e * u[j * n + t];
            w[i * n + j] = 0;
        }
    free(a);
    free(u);
}

/* Half of each row's smallest |w|. */
static uint8_t *magnitude_mask(const float *w, int64_t rows, int64_t n)
{
    uint8_t *keep = malloc((size_t)(rows * n));
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < n; j++) {
            int64_t smaller = 0;
            for (int64_t k = 0; k < n; k++) smaller += fabsf(w[i * n + k]) < fabsf(w[i * n + j]);
            keep[i * n + j] = smaller >= n / 2;
        }
    return keep;
}

/* The OBS tests' layer: X count x n correlated (n spans three OBS blocks),
 * W rows x n, and H = X^T X. */
enum { OBS_COUNT = 600, OBS_N = 300, OBS_ROWS = 24 };

static void obs_layer(oc_ctx *ctx, float **x, float **w, double **h)
{
    oc_ctx_init(ctx);
    *x = correlated(OBS_COUNT, OBS_N, 33);
    *w = rand_w(OBS_ROWS, OBS_N);
    *h = malloc((size_t)(OBS_N * OBS_N) * sizeof(double));
    CHECK_EQ_INT(oc_lsq_gram(ctx, *x, OBS_COUNT, OBS_N, *h), OC_OK);
}

static void obs_prune_reconstructs(void)
{
    oc_ctx ctx;
    const int64_t count = OBS_COUNT, n = OBS_N, rows = OBS_ROWS;
    float *x, *w;
    double *h;
    obs_layer(&ctx, &x, &w, &h);
    uint8_t *keep = magnitude_mask(w, rows, n);
    float *pruned = malloc((size_t)(rows * n) * sizeof(float)), *masked = malloc((size_t)(rows * n) * sizeof(float));
    double *ref = malloc((size_t)(rows * n) * sizeof(double));
    for (int64_t i = 0; i < rows * n; i++) {
        pruned[i] = w[i];
        masked[i] = keep[i] ? w[i] : 0.0f;
        ref[i] = w[i];
    }
    double *hcopy = malloc((size_t)(n * n) * sizeof(double));
    memcpy(hcopy, h, (size_t)(n * n) * sizeof(double));
    CHECK_EQ_INT(oc_lsq_obs_prune(&ctx, pruned, rows, n, keep, h, 0.01), OC_OK);
    CHECK(memcmp(hcopy, h, (size_t)(n * n) * sizeof(double)) == 0); /* h is read only */
    int64_t wrong_zero = 0, changed = 0;
    for (int64_t i = 0; i < rows * n; i++) {
        if (!keep[i]) wrong_zero += pruned[i] != 0.0f || signbit(pruned[i]);
        else changed += pruned[i] != w[i];
    }
    CHECK_EQ_INT(wrong_zero, 0);
    CHECK(changed > rows * n / 4); /* kept weights compensate */
    const double e_obs = out_err(x, count, n, w, rows, pruned, NULL, n);
    const double e_mask = out_err(x, count, n, w, rows, masked, NULL, n);
    CHECK(e_obs < 0.85 * e_mask); /* about 0.7 on this data */
    /* the blocked float kernel agrees with the plain double reference */
    ref_obs(ref, rows, n, keep, h, 0.01);
    double worst = 0, scale = 0;
    for (int64_t i = 0; i < rows * n; i++) {
        worst = fmax(worst, fabs(pruned[i] - ref[i]));
        scale = fmax(scale, fabs(ref[i]));
    }
    CHECK(worst < 1e-3 * scale);
    /* nothing pruned: w untouched */
    memset(keep, 1, (size_t)(rows * n));
    memcpy(pruned, w, (size_t)(rows * n) * sizeof(float));
    CHECK_EQ_INT(oc_lsq_obs_prune(&ctx, pruned, rows, n, keep, h, 0.01), OC_OK);
    CHECK(memcmp(pruned, w, (size_t)(rows * n) * sizeof(float)) == 0);
    free(x);
    free(w);
    free(h);
    free(hcopy);
    free(keep);
    free(pruned);
    free(masked);
    free(ref);
}

/* GPTQ: the sweep with a rounding target. Every weight ends on its row's
 * grid (exact zeros stay zero), and the layer's output error on the data
 * is well below rounding each weight to nearest; the identity target
 * changes nothing. */
typedef struct row_grid {
    const float *step; /* per row */
    const float *orig;
    int64_t n;
} row_grid;

static float grid_target(void *ud, int64_t row, int64_t col, float v)
{
    const row_grid *g = ud;
    if (g->orig[row * g->n + col] == 0.0f) return 0.0f;
    return nearbyintf(v / g->step[row]) * g->step[row];
}

static float same_target(void *ud, int64_t row, int64_t col, float v)
{
    (void)ud, (void)row, (void)col;
    return v;
}

static void obs_sweep_rounds(void)
{
    oc_ctx ctx;
    const int64_t count = OBS_COUNT, n = OBS_N, rows = OBS_ROWS;
    float *x, *w;
    double *h;
    obs_layer(&ctx, &x, &w, &h);
    for (int64_t i = 0; i < rows * n; i += 17) w[i] = 0.0f; /* pruned weights */
    float step[OBS_ROWS];
    for (int64_t i = 0; i < rows; i++) step[i] = 0.12f + 0.01f * (float)i; /* 16-25 levels over [-1, 1): 4-bit-like */
    row_grid g = {step, w, n};
    float *gq = malloc((size_t)(rows * n) * sizeof(float)), *rtn = malloc((size_t)(rows * n) * sizeof(float));
    memcpy(gq, w, (size_t)(rows * n) * sizeof(float));
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < n; j++) rtn[i * n + j] = grid_target(&g, i, j, w[i * n + j]);
    CHECK_EQ_INT(oc_lsq_obs_sweep(&ctx, gq, rows, n, h, 0.01, grid_target, &g), OC_OK);
    int64_t off_grid = 0, lost_zero = 0, moved = 0;
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < n; j++) {
            const float v = gq[i * n + j], q = v / step[i];
            off_grid += fabsf(q - nearbyintf(q)) > 1e-4f;
            lost_zero += w[i * n + j] == 0.0f && v != 0.0f;
            moved += v != rtn[i * n + j];
        }
    CHECK_EQ_INT(off_grid, 0);
    CHECK_EQ_INT(lost_zero, 0);
    CHECK(moved > rows * n / 20); /* some roundings go the other way */
    const double e_gptq = out_err(x, count, n, w, rows, gq, NULL, n);
    const double e_rtn = out_err(x, count, n, w, rows, rtn, NULL, n);
    CHECK(e_gptq < 0.6 * e_rtn);
    printf("  GPTQ output error %.3g, round-to-nearest %.3g (%.2fx)\n", e_gptq, e_rtn, e_gptq / e_rtn);
    memcpy(gq, w, (size_t)(rows * n) * sizeof(float));
    CHECK_EQ_INT(oc_lsq_obs_sweep(&ctx, gq, rows, n, h, 0.01, same_target, NULL), OC_OK);
    CHECK(memcmp(gq, w, (size_t)(rows * n) * sizeof(float)) == 0);
    free(x);
    free(w);
    free(h);
    free(gq);
    free(rtn);
}

/* ---- allocation failures ---- */

static void allocation_failures(void)
{
    oc_ctx ctx;
    oc_ctx_init(&ctx);
    const int64_t count = 80, n = 20, rows = 6;
    float *x = correlated(count, n, -1), *w = rand_w(rows, n), *work = malloc((size_t)(rows * n) * sizeof(float));
    float out[6 * 20];
    double *h = malloc((size_t)(n * n) * sizeof(double)), a[20 * 20];
    CHECK_EQ_INT(oc_lsq_gram(&ctx, x, count, n, h), OC_OK);
    uint8_t *keep = magnitude_mask(w, rows, n), keep_col[20];
    for (int64_t j = 0; j < n; j++) keep_col[j] = j % 3 != 0;
    for (int which = 0; which < 4; which++) {
        bool finished = false;
        for (uint64_t nth = 1; nth < 100 && !finished; nth++) {
            oc_ctx_init(&ctx);
            memcpy(work, w, (size_t)(rows * n) * sizeof(float));
            memcpy(a, h, sizeof(a));
            oc_alloc_fail_at(nth);
            oc_status st = which == 0   ? oc_lsq_damp_cholesky(&ctx, a, n, 0.01)
                           : which == 1 ? oc_lsq_obs_prune(&ctx, work, rows, n, keep, h, 0.01)
                           : which == 2 ? oc_lsq_refit_columns(&ctx, w, rows, n, h, keep_col, 0.01, out)
                                        : oc_lsq_gram(&ctx, x, count, n, a);
            oc_alloc_fail_at(0);
            if (st != OC_OK) {
                CHECK_EQ_INT(st, OC_ERR_NOMEM);
                CHECK(strstr(ctx.msg, "out of memory") != NULL);
                if (which == 1) CHECK(memcmp(work, w, (size_t)(rows * n) * sizeof(float)) == 0);
            }
            finished = st == OC_OK;
            if (finished) CHECK(nth > 1); /* at least one allocation was failed */
        }
        CHECK(finished);
    }
    free(x);
    free(w);
    free(work);
    free(h);
    free(keep);
}

int main(void)
{
    RUN(gram_matches_naive);
    RUN(cholesky_known);
    RUN(cholesky_blocked);
    RUN(cholesky_failures);
    RUN(refit_dependent_columns);
    RUN(refit_all_kept);
    RUN(obs_prune_reconstructs);
    RUN(obs_sweep_rounds);
    RUN(allocation_failures);
    UNIT_END("lsq");
}
