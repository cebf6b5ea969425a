/* ops_nn.c: the nn family: matrix products (Gemm, MatMul), normalizations
 * (BatchNormalization, InstanceNormalization, LayerNormalization,
 * LpNormalization, MeanVarianceNormalization, LRN), Softmax and LogSoftmax,
 * Resize and Upsample, and the family's op table, which also lists the
 * sliding-window kernels of ops_conv.c.
 *
 * Kernels compute in float32 (Gemm and MatMul also in double, MatMul also on
 * int32/int64; Resize's nearest mode moves elements of any fixed-width type).
 * Matrix products go to OpenBLAS; MatMul folds the batch of A into one
 * product when B has no batch. The tile kernel Conv's products run on
 * lives here too, in one version per instruction set. Statistics (means, variances, norms) are
 * accumulated in double. Resize computes each axis' source coordinates once
 * and then gathers (nearest) or interpolates one axis at a time (linear and
 * cubic are separable), skipping axes it leaves unchanged. */
#include "ops_nn_internal.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define HAVE_X86_TILES 1
#endif

/* ---- the tile kernel of the convolutions ----
 *
 * One MR x NR block of a matrix product kept in registers while the taps
 * go by (see ops_nn_internal.h); one version per instruction set, the
 * widest the CPU runs picked at run time. Rows of B are found through a
 * table of offsets, so B may be a packed panel or rows of a bigger array. */

/* Plain C, for any machine. */
static void tile_c(const float *a, int64_t lda, const float *b, const int64_t *boff, int64_t kc, float *c,
                   int64_t ldc, int mr, const float *bias, bool add)
{
    enum { MR = 4, NR = 8 };
    float acc[MR][NR];
    const float *ar[MR];
    for (int r = 0; r < MR; r++) {
        const int rr = r < mr ? r : mr - 1;
        ar[r] = a + rr * lda;
        for (int u = 0; u < NR; u++) acc[r][u] = add ? c[rr * ldc + u] : bias ? bias[rr] : 0.0f;
    }
    for (int64_t t = 0; t < kc; t++) {
        const float *bt = b + boff[t];
        for (int r = 0; r < MR; r++)
            for (int u = 0; u < NR; u++) acc[r][u] += ar[r][t] * bt[u];
    }
    for (int r = 0; r < mr; r++)
        for (int u = 0; u < NR; u++) c[r * ldc + u] = acc[r][u];
}

#ifdef HAVE_X86_TILES

__attribute__((target("avx2,fma"))) static void tile_avx2(const float *a, int64_t lda, const float *b,
                                                         const int64_t *boff, int64_t kc, float *c, int64_t ldc,
                                                         int mr, const float *bias, bool add)
{
    enum { MR = 6 };
    __m256 c0[MR], c1[MR];
    const float *ar[MR];
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) {
        const int rr = r < mr ? r : mr - 1;
        ar[r] = a + rr * lda;
        if (add) {
            c0[r] = _mm256_loadu_ps(c + rr * ldc);
            c1[r] = _mm256_loadu_ps(c + rr * ldc + 8);
        } else {
            c0[r] = c1[r] = _mm256_set1_ps(bias ? bias[rr] : 0.0f);
        }
    }
    for (int64_t t = 0; t < kc; t++) {
        const float *bt = b + boff[t];
        const __m256 b0 = _mm256_loadu_ps(bt), b1 = _mm256_loadu_ps(bt + 8);
#pragma GCC unroll 8
        for (int r = 0; r < MR; r++) {
            const __m256 av = _mm256_broadcast_ss(ar[r] + t);
            c0[r] = _mm256_fmadd_ps(av, b0, c0[r]);
            c1[r] = _mm256_fmadd_ps(av, b1, c1[r]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++)
        if (r < mr) {
            _mm256_storeu_ps(c + r * ldc, c0[r]);
            _mm256_storeu_ps(c + r * ldc + 8, c1[r]);
        }
}

__attribute__((target("avx512f"))) static void tile_avx512(const float *a, int64_t lda, const float *b,
                                                          const int64_t *boff, int64_t kc, float *c, int64_t ldc,
                                                          int mr, const float *bias, bool add)
{
    enum { MR = 8 };
    __m512 c0[MR], c1[MR];
    const float *ar[MR];
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) {
        const int rr = r < mr ? r : mr - 1;
        ar[r] = a + rr * lda;
        if (add) {
            c0[r] = _mm512_loadu_ps(c + rr * ldc);
            c1[r] = _mm512_loadu_ps(c + rr * ldc + 16);
        } else {
            c0[r] = c1[r] = _mm512_set1_ps(bias ? bias[rr] : 0.0f);
        }
    }
    for (int64_t t = 0; t < kc; t++) {
        const float *bt = b + boff[t];
        const __m512 b0 = _mm512_loadu_ps(bt), b1 = _mm512_loadu_ps(bt + 16);
#pragma GCC unroll 8
        for (int r = 0; r < MR; r++) {
            const __m512 av = _mm512_set1_ps(ar[r][t]);
            c0[r] = _mm512_fmadd_ps(av, b0, c0[r]);
            c1[r] = _mm512_fmadd_ps(av, b1, c1[r]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++)
        if (r < mr) {
            _mm512_storeu_ps(c + r * ldc, c0[r]);
            _mm512_storeu_ps(c + r * ldc + 16, c1[r]);
        }
}
#endif

size_t oc_nn_list_tiles(oc_nn_tile *out, size_t cap)
{
    size_t n = 0;
#ifdef HAVE_X86_TILES
    if (n < cap && __builtin_cpu_supports("avx512f")) out[n++] = (oc_nn_tile){tile_avx512, 8, 32};
    if (n < cap && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        out[n++] = (oc_nn_tile){tile_avx2, 6, 16};
#endif
    if (n < cap) out[n++] = (oc_nn_tile){tile_c, 4, 8};
    return n;
}

oc_nn_tile oc_nn_pick_tile(void)
{
    oc_nn_tile t;
    oc_nn_list_tiles(&t, 1);
    return t;
}

void oc_nn_run_tile(const oc_nn_tile *tk, const float *a, int64_t lda, const float *b, const int64_t *boff,
                    int64_t kc, float *c, int64_t ldc, int mr, int nr, const float *bias, bool add)
{
    if (nr == tk->nr) {
        tk->fn(a, lda, b, boff, kc, c, ldc, mr, bias, add);
        return;
    }
    float tile[OC_NN_TILE_MR_MAX * OC_NN_TILE_NR_MAX];
    if (add)
        for (int r = 0; r < mr; r++)
            for (int u = 0; u < nr; u++) tile[r * tk->nr + u] = c[r * ldc + u];
    tk->fn(a, lda, b, boff, kc, tile, tk->nr, mr, bias, add);
    for (int r = 0; r < mr; r++)
        for (int u = 0; u < nr; u++) c[r * ldc + u] = tile[r * tk->nr + u];
}


/* ---- shared helpers ---- */

static oc_status need_float(oc_kctx *k, const oc_ten *t, const char *what)
{
    if (t && t->dtype != OC_DTYPE_FLOAT)
        return oc_kfail(k, OC_ERR_UNSUPPORTED, "%s of type %s (only float32)", what, oc_dtype_name(t->dtype));
    return OC_OK;
}

static int64_t prod(const int64_t *d, int from, int to)
{
    int64_t p = 1;
    for (int i = from; i < to; i++) p *= d[i];
    return p;
}

/* Axis attribute normalized against rank r; -1 when out of range. */
static int norm_axis(int64_t axis, int r)
{
    if (axis < 0) axis += r;
    return axis < 0 || axis >= r ? -1 : (int)axis;
}

/* Whether optional output i is wanted by the node. */
static bool want_output(const oc_kctx *k, size_t n_out, size_t i)
{
    return i < n_out && i < k->node->n_outputs && k->node->outputs[i] && k->node->outputs[i][0];
}

/* Expands t (unidirectionally broadcast to dims[nd]) into dst as float. */
static oc_status expand_float(oc_kctx *k, const oc_ten *t, const char *what, int nd, const int64_t *dims, float *dst)
{
    int64_t bshape[OC_MAX_DIMS], strides[OC_MAX_DIMS], idx[OC_MAX_DIMS] = {0};
    int nb = 0;
    if (t->ndim > nd || !oc_broadcast_shape(t->ndim, t->dims, nd, dims, &nb, bshape) || nb != nd ||
        memcmp(bshape, dims, (size_t)nd * sizeof(int64_t)) != 0)
        return oc_kfail(k, OC_ERR_INVALID, "%s (rank %d) does not broadcast to the expected shape", what, t->ndim);
    const int64_t n = prod(dims, 0, nd);
    if (t->numel == n) {
        if (t->dtype == OC_DTYPE_FLOAT) memcpy(dst, t->data, (size_t)n * sizeof(float));
        else for (int64_t i = 0; i < n; i++) dst[i] = (float)oc_ten_get(t, i);
        return OC_OK;
    }
    oc_broadcast_strides(t, nd, dims, strides);
    for (int64_t i = 0; i < n; i++) {
        int64_t off = 0;
        for (int d = 0; d < nd; d++) off += idx[d] * strides[d];
        dst[i] = t->dtype == OC_DTYPE_FLOAT ? ((const float *)t->data)[off] : (float)oc_ten_get(t, off);
        for (int d = nd - 1; d >= 0; d--) {
            if (++idx[d] < dims[d]) break;
            idx[d] = 0;
        }
    }
    return OC_OK;
}

/* ---- Gemm / MatMul ---- */

static bool blas_fits(int64_t a, int64_t b, int64_t c)
{
    return a <= INT_MAX && b <= INT_MAX && c <= INT_MAX;
}

/* C[M,N] = A[M,K] * B[K,N] (+ C when accumulate), all row-major. */
static void matmul_2d(int dtype, int64_t M, int64_t N, int64_t K, const void *A, int64_t lda, bool ta,
                      const void *B, int64_t ldb, bool tb, double alpha, bool accumulate, void *C)
{
    if (M == 0 || N == 0 || K == 0) return;
    const enum CBLAS_TRANSPOSE TA = ta ? CblasTrans : CblasNoTrans, TB = tb ? CblasTrans : CblasNoTrans;
    if (dtype == OC_DTYPE_FLOAT) {
        if (M == 1) {
            /* one row (a batch-1 Gemm, the usual classifier head): a
             * matrix-vector product, which reads B once, where sgemm would
             * first copy all of B into its packed layout */
            const int inc_a = ta ? (int)lda : 1;
            if (tb) cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)N, (int)K, (float)alpha, B, (int)ldb, A, inc_a,
                                accumulate ? 1.0f : 0.0f, C, 1);
            else cblas_sgemv(CblasRowMajor, CblasTrans, (int)K, (int)N, (float)alpha, B, (int)ldb, A, inc_a,
                             accumulate ? 1.0f : 0.0f, C, 1);
            return;
        }
        cblas_sgemm(CblasRowMajor, TA, TB, (int)M, (int)N, (int)K, (float)alpha, A, (int)lda, B, (int)ldb,
                    accumulate ? 1.0f : 0.0f, C, (int)N);
        return;
    }
    if (dtype == OC_DTYPE_DOUBLE) {
        cblas_dgemm(CblasRowMajor, TA, TB, (int)M, (int)N, (int)K, alpha, A, (int)lda, B, (int)ldb,
                    accumulate ? 1.0 : 0.0, C, (int)N);
        return;
    }
    /* integers: a plain loop, wrapping like two's complement */
#define INT_MATMUL(T, UT)                                                                           \
    do {                                                                                          \
        const T *a_ = A, *b_ = B;                                                                 \
        T *c_ = C;                                                                                \
        for (int64_t i = 0; i < M; i++) {                                                         \
            if (!accumulate) memset(c_ + i * N, 0, (size_t)N * sizeof(T));                        \
            for (int64_t kk = 0; kk < K; kk++) {                                                  \
                const UT av = (UT)(ta ? a_[kk * lda + i] : a_[i * lda + kk]);                     \
                for (int64_t j = 0; j < N; j++) {                                                 \
                    const UT bv = (UT)(tb ? b_[j * ldb + kk] : b_[kk * ldb + j]);                 \
                    c_[i * N + j] = (T)((UT)c_[i * N + j] + av * bv);                             \
                }                                                                                 \
            }                                                                                     \
        }                                                                                         \
    } while (0)
    if (dtype == OC_DTYPE_INT32) INT_MATMUL(int32_t, uint32_t);
    else if (dtype == OC_DTYPE_INT64) INT_MATMUL(int64_t, uint64_t);
    else if (dtype == OC_DTYPE_UINT32) INT_MATMUL(uint32_t, uint32_t);
    else if (dtype == OC_DTYPE_UINT64) INT_MATMUL(uint64_t, uint64_t);
#undef INT_MATMUL
}

static bool matmul_type(int dt)
{
    return dt == OC_DTYPE_FLOAT || dt == OC_DTYPE_DOUBLE || dt == OC_DTYPE_INT32 || dt == OC_DTYPE_INT64 ||
           dt == OC_DTYPE_UINT32 || dt == OC_DTYPE_UINT64;
}

static oc_status gemm_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    const oc_ten *a = in[0], *b = n_in > 1 ? in[1] : NULL, *c = n_in > 2 ? in[2] : NULL;
    if (!a || !b) return oc_kfail(k, OC_ERR_INVALID, "needs A and B");
    if (a->dtype != OC_DTYPE_FLOAT && a->dtype != OC_DTYPE_DOUBLE)
        return oc_kfail(k, OC_ERR_UNSUPPORTED, "A of type %s (float32 and double only)", oc_dtype_name(a->dtype));
    if (b->dtype != a->dtype || (c && c->dtype != a->dtype))
        return oc_kfail(k, OC_ERR_INVALID, "inputs of different types");
    if (a->ndim != 2 || b->ndim != 2)
        return oc_kfail(k, OC_ERR_INVALID, "A of rank %d and B of rank %d (2 expected)", a->ndim, b->ndim);
    const bool ta = oc_attr_int(k->node, "transA", 0) != 0, tb = oc_attr_int(k->node, "transB", 0) != 0;
    const double alpha = oc_attr_float(k->node, "alpha", 1.0f), beta = oc_attr_float(k->node, "beta", 1.0f);
    const int64_t M = ta ? a->dims[1] : a->dims[0], K = ta ? a->dims[0] : a->dims[1];
    const int64_t Kb = tb ? b->dims[1] : b->dims[0], N = tb ? b->dims[0] : b->dims[1];
    if (K != Kb)
        return oc_kfail(k, OC_ERR_INVALID, "A is %lldx%lld and B is %lldx%lld", (long long)M, (long long)K,
                        (long long)Kb, (long long)N);
    if (!blas_fits(M, N, K) || a->dims[1] > INT_MAX || b->dims[1] > INT_MAX)
        return oc_kfail(k, OC_ERR_UNSUPPORTED, "matrices too large for BLAS");
    const int64_t ydims[2] = {M, N};
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], a->dtype, 2, ydims));
    bool acc = false;
    if (c && beta != 0.0) {
        /* before opset 7, C broadcasts only with broadcast=1 */
        if (k->opset < 7 && oc_attr_int(k->node, "broadcast", 0) == 0 && c->numel != M * N)
            return oc_kfail(k, OC_ERR_INVALID, "C has %lld values for %lldx%lld without broadcast",
                            (long long)c->numel, (long long)M, (long long)N);
        if (a->dtype == OC_DTYPE_FLOAT) {
            float *y = out[0].data;
            /* a C of M*N values is taken as is (also the flat C of broadcast=0) */
            if (c->numel == M * N) memcpy(y, c->data, (size_t)(M * N) * sizeof(float));
            else FORWARD_IF_ERROR(expand_float(k, c, "C", 2, ydims, y));
            if (beta != 1.0)
                for (int64_t i = 0; i < M * N; i++) y[i] *= (float)beta;
        } else {
            int64_t bshape[2], strides[2];
            int nb;
            if (c->ndim > 2 || !oc_broadcast_shape(c->ndim, c->dims, 2, ydims, &nb, bshape) || bshape[0] != M ||
                bshape[1] != N)
                return oc_kfail(k, OC_ERR_INVALID, "C does not broadcast to %lldx%lld", (long long)M, (long long)N);
            oc_broadcast_strides(c, 2, ydims, strides);
            double *y = out[0].data;
            for (int64_t i = 0; i < M; i++)
                for (int64_t j = 0; j < N; j++)
                    y[i * N + j] =
                        beta * oc_ten_get(c, c->numel == M * N ? i * N + j : i * strides[0] + j * strides[1]);
        }
        acc = true;
    }
    matmul_2d(a->dtype, M, N, K, a->data, a->dims[1], ta, b->data, b->dims[1], tb, alpha, acc, out[0].data);
    return OC_OK;
}

static oc_status matmul_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    const oc_ten *a = in[0], *b = n_in > 1 ? in[1] : NULL;
    if (!a || !b) return oc_kfail(k, OC_ERR_INVALID, "needs A and B");
    if (!matmul_type(a->dtype))
        return oc_kfail(k, OC_ERR_UNSUPPORTED, "A of type %s", oc_dtype_name(a->dtype));
    if (b->dtype != a->dtype) return oc_kfail(k, OC_ERR_INVALID, "A and B of different types");
    const int ra = a->ndim, rb = b->ndim;
    if (ra < 1 || rb < 1) return oc_kfail(k, OC_ERR_INVALID, "scalar operand");
    const int64_t M = ra >= 2 ? a->dims[ra - 2] : 1, K = a->dims[ra - 1];
    const int64_t Kb = rb >= 2 ? b->dims[rb - 2] : b->dims[0], N = rb >= 2 ? b->dims[rb - 1] : 1;
    if (K != Kb) return oc_kfail(k, OC_ERR_INVALID, "A has %lld columns and B %lld rows", (long long)K, (long long)Kb);
    if (!blas_fits(M, N, K)) return oc_kfail(k, OC_ERR_UNSUPPORTED, "matrices too large for BLAS");
    const int na = ra > 2 ? ra - 2 : 0, nb = rb > 2 ? rb - 2 : 0;
    int64_t bat[OC_MAX_DIMS], ydims[OC_MAX_DIMS];
    int nbat = 0;
    if (!oc_broadcast_shape(na, a->dims, nb, b->dims, &nbat, bat))
        return oc_kfail(k, OC_ERR_INVALID, "batch dimensions do not broadcast");
    int ny = 0;
    for (int i = 0; i < nbat; i++) ydims[ny++] = bat[i];
    if (ra >= 2) ydims[ny++] = M;
    if (rb >= 2) ydims[ny++] = N;
    if (ny > OC_MAX_DIMS) return oc_kfail(k, OC_ERR_UNSUPPORTED, "rank %d", ny);
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], a->dtype, ny, ydims));
    if (out[0].numel == 0) return OC_OK;
    const int64_t batches = prod(bat, 0, nbat), abat = prod(a->dims, 0, na), bbat = prod(b->dims, 0, nb);
    const size_t es = oc_ten_elem_size(a->dtype);
    const unsigned char *A = a->data, *B = b->data;
    unsigned char *Y = out[0].data;
    if (bbat == 1 && abat == batches) {
        /* B shared by every batch: one product of all A rows */
        if (batches * M > INT_MAX) return oc_kfail(k, OC_ERR_UNSUPPORTED, "matrices too large for BLAS");
        matmul_2d(a->dtype, batches * M, N, K, A, K, false, B, N, false, 1.0, false, Y);
        return OC_OK;
    }
    oc_ten va, vb;
    memset(&va, 0, sizeof(va));
    memset(&vb, 0, sizeof(vb));
    va.ndim = na;
    vb.ndim = nb;
    memcpy(va.dims, a->dims, (size_t)na * sizeof(int64_t));
    memcpy(vb.dims, b->dims, (size_t)nb * sizeof(int64_t));
    int64_t sa[OC_MAX_DIMS], sb[OC_MAX_DIMS], idx[OC_MAX_DIMS] = {0};
    oc_broadcast_strides(&va, nbat, bat, sa);
    oc_broadcast_strides(&vb, nbat, bat, sb);
    for (int64_t t = 0; t < batches; t++) {
        int64_t oa = 0, ob = 0;
        for (int d = 0; d < nbat; d++) {
            oa += idx[d] * sa[d];
            ob += idx[d] * sb[d];
        }
        matmul_2d(a->dtype, M, N, K, A + (size_t)(oa * M * K) * es, K, false, B + (size_t)(ob * K * N) * es, N, false,
                  1.0, false, Y + (size_t)(t * M * N) * es);
        for (int d = nbat - 1; d >= 0; d--) {
            if (++idx[d] < bat[d]) break;
            idx[d] = 0;
        }
    }
    return OC_OK;
}

/* ---- normalizations ---- */

static oc_status bn_prepare(oc_kctx *k)
{
    if (k->opset >= 14 && oc_attr_int(k->node, "training_mode", 0) != 0)
        return oc_kfail(k, OC_ERR_UNSUPPORTED, "training_mode=1 (inference only)");
    for (size_t i = 1; i < k->node->n_outputs; i++)
        if (k->node->outputs[i] && k->node->outputs[i][0])
            return oc_kfail(k, OC_ERR_UNSUPPORTED, "training outputs (running/saved mean and variance)");
    return OC_OK;
}

/* y = x * a + b per channel (or, per_elem, per element of a sample). */
OC_NN_CLONES static void bn_apply(const float *x, float *y, const float *a, const float *b, int64_t N, int64_t C,
                                  int64_t S, bool per_elem)
{
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++) {
            const float *xp = x + (n * C + c) * S;
            float *yp = y + (n * C + c) * S;
            if (per_elem) {
                const float *ac = a + c * S, *bc = b + c * S;
                for (int64_t i = 0; i < S; i++) yp[i] = xp[i] * ac[i] + bc[i];
            } else {
                const float ac = a[c], bc = b[c];
                for (int64_t i = 0; i < S; i++) yp[i] = xp[i] * ac + bc;
            }
        }
}

static oc_status bn_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    if (n_in < 5 || !in[0] || !in[1] || !in[2] || !in[3] || !in[4])
        return oc_kfail(k, OC_ERR_INVALID, "needs X, scale, B, mean and var");
    const oc_ten *x = in[0];
    static const char *const names[5] = {"X", "scale", "B", "mean", "var"};
    for (int i = 0; i < 5; i++) FORWARD_IF_ERROR(need_float(k, in[i], names[i]));
    if (x->ndim < 2) return oc_kfail(k, OC_ERR_INVALID, "X of rank %d", x->ndim);
    const int64_t N = x->dims[0], C = x->dims[1], S = prod(x->dims, 2, x->ndim);
    /* before opset 9, spatial=0 gives one set of statistics per element of
     * a sample (C x D1 x ... x Dn) instead of per channel */
    const bool per_elem = k->opset < 9 && oc_attr_int(k->node, "spatial", 1) == 0 && in[1]->numel == C * S && S > 1;
    const int64_t P = per_elem ? C * S : C;
    for (int i = 1; i < 5; i++)
        if (in[i]->numel != P)
            return oc_kfail(k, OC_ERR_INVALID, "%s has %lld values for %lld", names[i], (long long)in[i]->numel,
                            (long long)P);
    const double eps = oc_attr_float(k->node, "epsilon", 1e-5f);
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], OC_DTYPE_FLOAT, x->ndim, x->dims));
    float *ab = oc_malloc((size_t)(2 * P) * sizeof(float) + 1);
    if (!ab) return oc_kfail(k, OC_ERR_NOMEM, "out of memory");
    const float *sc = in[1]->data, *bi = in[2]->data, *mu = in[3]->data, *va = in[4]->data;
    for (int64_t i = 0; i < P; i++) {
        const double a = sc[i] / sqrt((double)va[i] + eps);
        ab[i] = (float)a;
        ab[P + i] = (float)(bi[i] - mu[i] * a);
    }
    bn_apply(x->data, out[0].data, ab, ab + P, N, C, S, per_elem);
    oc_free(ab);
    return OC_OK;
}

/* Mean and 1/sqrt(var + eps) of n floats (two passes, in double). */
static void moments(const float *x, int64_t n, double eps, double *mean, double *inv)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += x[i];
    const double m = n ? s / (double)n : 0;
    double v = 0;
    for (int64_t i = 0; i < n; i++) v += ((double)x[i] - m) * ((double)x[i] - m);
    v = n ? v / (double)n : 0;
    *mean = m;
    *inv = 1.0 / sqrt(v + eps);
}

static oc_status instnorm_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    if (n_in < 3 || !in[0] || !in[1] || !in[2]) return oc_kfail(k, OC_ERR_INVALID, "needs input, scale and B");
    const oc_ten *x = in[0], *sc = in[1], *bi = in[2];
    FORWARD_IF_ERROR(need_float(k, x, "input"));
    FORWARD_IF_ERROR(need_float(k, sc, "scale"));
    FORWARD_IF_ERROR(need_float(k, bi, "B"));
    if (x->ndim < 2) return oc_kfail(k, OC_ERR_INVALID, "input of rank %d", x->ndim);
    const int64_t N = x->dims[0], C = x->dims[1], S = prod(x->dims, 2, x->ndim);
    if (sc->numel != C || bi->numel != C)
        return oc_kfail(k, OC_ERR_INVALID, "scale and B need %lld values", (long long)C);
    const double eps = oc_attr_float(k->node, "epsilon", 1e-5f);
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], OC_DTYPE_FLOAT, x->ndim, x->dims));
    const float *xf = x->data, *s = sc->data, *b = bi->data;
    float *y = out[0].data;
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++) {
            const float *xp = xf + (n * C + c) * S;
            float *yp = y + (n * C + c) * S;
            double m, inv;
            moments(xp, S, eps, &m, &inv);
            oc_nn_scale_shift(yp, xp, (float)(s[c] * inv), (float)(b[c] - m * s[c] * inv), S);
        }
    return OC_OK;
}

/* y = (x - m) * inv * s + b elementwise (blocks of 8: see oc_nn_axpy) */
static void norm_affine(float *restrict y, const float *restrict x, float m, float inv, const float *restrict s,
                        const float *restrict b, int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) y[i + j] = (x[i + j] - m) * inv * s[i + j] + b[i + j];
    for (; i < n; i++) y[i] = (x[i] - m) * inv * s[i] + b[i];
}

static oc_status layernorm_prepare(oc_kctx *k)
{
    int64_t st = oc_attr_int(k->node, "stash_type", 1);
    if (st != OC_DTYPE_FLOAT)
        return oc_kfail(k, OC_ERR_UNSUPPORTED, "stash_type %lld (only 1, float32)", (long long)st);
    return OC_OK;
}

static oc_status layernorm_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    if (n_in < 2 || !in[0] || !in[1]) return oc_kfail(k, OC_ERR_INVALID, "needs X and Scale");
    const oc_ten *x = in[0], *sc = in[1], *bi = n_in > 2 ? in[2] : NULL;
    FORWARD_IF_ERROR(need_float(k, x, "X"));
    FORWARD_IF_ERROR(need_float(k, sc, "Scale"));
    FORWARD_IF_ERROR(need_float(k, bi, "B"));
    const int r = x->ndim;
    const int axis = norm_axis(oc_attr_int(k->node, "axis", -1), r);
    if (axis < 0) return oc_kfail(k, OC_ERR_INVALID, "axis out of range for rank %d", r);
    const int64_t outer = prod(x->dims, 0, axis), inner = prod(x->dims, axis, r);
    const double eps = oc_attr_float(k->node, "epsilon", 1e-5f);
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], OC_DTYPE_FLOAT, r, x->dims));
    int64_t sdims[OC_MAX_DIMS];
    for (int i = 0; i < r; i++) sdims[i] = i < axis ? x->dims[i] : 1;
    float *mean_out = NULL, *inv_out = NULL;
    if (want_output(k, n_out, 1)) {
        FORWARD_IF_ERROR(oc_ten_alloc(k, &out[1], OC_DTYPE_FLOAT, r, sdims));
        mean_out = out[1].data;
    }
    if (want_output(k, n_out, 2)) {
        FORWARD_IF_ERROR(oc_ten_alloc(k, &out[2], OC_DTYPE_FLOAT, r, sdims));
        inv_out = out[2].data;
    }
    float *sb = oc_malloc((size_t)(2 * inner) * sizeof(float) + 1);
    if (!sb) return oc_kfail(k, OC_ERR_NOMEM, "out of memory");
    oc_status st = expand_float(k, sc, "Scale", r - axis, x->dims + axis, sb);
    if (st == OC_OK && bi) st = expand_float(k, bi, "B", r - axis, x->dims + axis, sb + inner);
    if (st != OC_OK) {
        oc_free(sb);
        return st;
    }
    if (!bi) memset(sb + inner, 0, (size_t)inner * sizeof(float));
    const float *xf = x->data, *s = sb, *b = sb + inner;
    float *y = out[0].data;
    for (int64_t o = 0; o < outer; o++) {
        const float *xp = xf + o * inner;
        float *yp = y + o * inner;
        double m, inv;
        moments(xp, inner, eps, &m, &inv);
        const float mf = (float)m, invf = (float)inv;
        norm_affine(yp, xp, mf, invf, s, b, inner);
        if (mean_out) mean_out[o] = mf;
        if (inv_out) inv_out[o] = invf;
    }
    oc_free(sb);
    return OC_OK;
}

static oc_status lpnorm_prepare(oc_kctx *k)
{
    int64_t p = oc_attr_int(k->node, "p", 2);
    if (p != 1 && p != 2) return oc_kfail(k, OC_ERR_UNSUPPORTED, "p = %lld (1 or 2)", (long long)p);
    return OC_OK;
}

static oc_status lpnorm_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    const oc_ten *x = n_in ? in[0] : NULL;
    if (!x) return oc_kfail(k, OC_ERR_INVALID, "needs input");
    FORWARD_IF_ERROR(need_float(k, x, "input"));
    const int r = x->ndim;
    const int axis = norm_axis(oc_attr_int(k->node, "axis", -1), r);
    if (axis < 0) return oc_kfail(k, OC_ERR_INVALID, "axis out of range for rank %d", r);
    const int64_t p = oc_attr_int(k->node, "p", 2);
    const int64_t outer = prod(x->dims, 0, axis), n = x->dims[axis], inner = prod(x->dims, axis + 1, r);
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], OC_DTYPE_FLOAT, r, x->dims));
    const float *xf = x->data;
    float *y = out[0].data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            const float *xp = xf + o * n * inner + i;
            float *yp = y + o * n * inner + i;
            double s = 0;
            for (int64_t j = 0; j < n; j++) s += p == 1 ? fabs(xp[j * inner]) : (double)xp[j * inner] * xp[j * inner];
            const double norm = p == 1 ? s : sqrt(s);
            /* a zero vector stays zero */
            const float inv = norm > 0 ? (float)(1.0 / norm) : 0.0f;
            for (int64_t j = 0; j < n; j++) yp[j * inner] = xp[j * inner] * inv;
        }
    return OC_OK;
}

static oc_status lrn_prepare(oc_kctx *k)
{
    const oc_attr *a = oc_node_attr(k->node, "size");
    if (!a) return oc_kfail(k, OC_ERR_INVALID, "size is required");
    if (a->i < 1) return oc_kfail(k, OC_ERR_INVALID, "size %lld", (long long)a->i);
    return OC_OK;
}

/* LRN: y = x / (bias + alpha / size * sum of squares over nearby channels)^beta */
static oc_status lrn_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    const oc_ten *x = n_in ? in[0] : NULL;
    if (!x) return oc_kfail(k, OC_ERR_INVALID, "needs X");
    FORWARD_IF_ERROR(need_float(k, x, "X"));
    if (x->ndim < 2) return oc_kfail(k, OC_ERR_INVALID, "X of rank %d", x->ndim);
    const int64_t size = oc_attr_int(k->node, "size", 1);
    const double alpha = oc_attr_float(k->node, "alpha", 1e-4f), beta = oc_attr_float(k->node, "beta", 0.75f);
    const double bias = oc_attr_float(k->node, "bias", 1.0f);
    const int64_t N = x->dims[0], C = x->dims[1], S = prod(x->dims, 2, x->ndim);
    const int64_t before = (size - 1) / 2, after = size - 1 - before;
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], OC_DTYPE_FLOAT, x->ndim, x->dims));
    const float *xf = x->data;
    float *y = out[0].data;
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++) {
            const int64_t c0 = c - before < 0 ? 0 : c - before, c1 = c + after >= C ? C - 1 : c + after;
            float *yp = y + (n * C + c) * S;
            const float *xp = xf + (n * C + c) * S;
            for (int64_t i = 0; i < S; i++) {
                double s = 0;
                for (int64_t cc = c0; cc <= c1; cc++) {
                    const double v = xf[(n * C + cc) * S + i];
                    s += v * v;
                }
                yp[i] = (float)(xp[i] / pow(bias + alpha / (double)size * s, beta));
            }
        }
    return OC_OK;
}

/* MeanVarianceNormalization: y = (x - mean) / (sqrt(var) + 1e-9), the
 * statistics taken over `axes` (default 0, 2, 3), as the op's function body. */
static oc_status mvn_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    const oc_ten *x = n_in ? in[0] : NULL;
    if (!x) return oc_kfail(k, OC_ERR_INVALID, "needs X");
    FORWARD_IF_ERROR(need_float(k, x, "X"));
    const int r = x->ndim;
    static const int64_t def_axes[3] = {0, 2, 3};
    const int64_t *axes = def_axes;
    int64_t na = oc_attr_ints(k->node, "axes", &axes);
    if (na < 0) {
        axes = def_axes;
        na = 3;
    }
    bool red[OC_MAX_DIMS] = {false};
    for (int64_t j = 0; j < na; j++) {
        const int a = norm_axis(axes[j], r);
        if (a < 0) return oc_kfail(k, OC_ERR_INVALID, "axis %lld out of range for rank %d", (long long)axes[j], r);
        red[a] = true;
    }
    /* stride of each axis in the table of statistics (0 along reduced axes) */
    int64_t sst[OC_MAX_DIMS], nstat = 1;
    for (int a = r - 1; a >= 0; a--) {
        sst[a] = red[a] ? 0 : nstat;
        if (!red[a]) nstat *= x->dims[a];
    }
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], OC_DTYPE_FLOAT, r, x->dims));
    if (x->numel == 0) return OC_OK;
    const double cnt = (double)(x->numel / nstat);
    double *st = oc_calloc((size_t)(2 * nstat), sizeof(double));
    if (!st) return oc_kfail(k, OC_ERR_NOMEM, "out of memory");
    double *mean = st, *var = st + nstat;
    const float *xf = x->data;
    float *y = out[0].data;
    for (int pass = 0; pass < 3; pass++) {
        int64_t idx[OC_MAX_DIMS] = {0}, si = 0;
        for (int64_t i = 0; i < x->numel; i++) {
            const double v = xf[i];
            if (pass == 0) mean[si] += v;
            else if (pass == 1) var[si] += (v - mean[si]) * (v - mean[si]);
            else y[i] = (float)((v - mean[si]) / (sqrt(var[si]) + 1e-9));
            for (int a = r - 1; a >= 0; a--) {
                si += sst[a];
                if (++idx[a] < x->dims[a]) break;
                si -= idx[a] * sst[a];
                idx[a] = 0;
            }
        }
        for (int64_t j = 0; j < nstat; j++) {
            if (pass == 0) mean[j] /= cnt;
            else if (pass == 1) var[j] /= cnt;
        }
    }
    oc_free(st);
    return OC_OK;
}

/* ---- Softmax, LogSoftmax ---- */

enum { SM_SOFT, SM_LOG };

/* Before opset 13 the input is coerced to 2-D at axis (default 1) and the
 * op runs over each row; from 13 it runs along axis (default -1). */
static oc_status softmax_any(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, int kind)
{
    const oc_ten *x = n_in ? in[0] : NULL;
    if (!x) return oc_kfail(k, OC_ERR_INVALID, "needs input");
    FORWARD_IF_ERROR(need_float(k, x, "input"));
    const int r = x->ndim;
    const bool v13 = k->opset >= 13;
    const int64_t a = oc_attr_int(k->node, "axis", v13 ? -1 : 1);
    int axis = norm_axis(a, r);
    if (r == 0) axis = 0; /* a scalar is a row of one */
    else if (axis < 0) return oc_kfail(k, OC_ERR_INVALID, "axis %lld out of range for rank %d", (long long)a, r);
    const int64_t outer = prod(x->dims, 0, axis);
    const int64_t n = v13 ? (r ? x->dims[axis] : 1) : prod(x->dims, axis, r);
    const int64_t inner = v13 ? prod(x->dims, axis + 1, r) : 1;
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], OC_DTYPE_FLOAT, r, x->dims));
    if (out[0].numel == 0) return OC_OK;
    float *tmp = NULL;
    if (inner > 1) {
        tmp = oc_malloc((size_t)(2 * inner) * sizeof(float));
        if (!tmp) return oc_kfail(k, OC_ERR_NOMEM, "out of memory");
    }
    const float *xf = x->data;
    float *y = out[0].data;
    for (int64_t o = 0; o < outer; o++) {
        const float *xp = xf + o * n * inner;
        float *yp = y + o * n * inner;
        if (inner == 1) {
            float m = xp[0];
            for (int64_t j = 1; j < n; j++) m = xp[j] > m ? xp[j] : m;
            float s = 0;
            for (int64_t j = 0; j < n; j++) {
                yp[j] = expf(xp[j] - m);
                s += yp[j];
            }
            if (kind == SM_SOFT) {
                const float inv = 1.0f / s;
                for (int64_t j = 0; j < n; j++) yp[j] *= inv;
            } else {
                const float ls = logf(s);
                for (int64_t j = 0; j < n; j++) yp[j] = xp[j] - m - ls;
            }
            continue;
        }
        /* strided axis: work on whole rows of `inner` values at once */
        float *m = tmp, *s = tmp + inner;
        memcpy(m, xp, (size_t)inner * sizeof(float));
        for (int64_t j = 1; j < n; j++)
            for (int64_t i = 0; i < inner; i++) m[i] = xp[j * inner + i] > m[i] ? xp[j * inner + i] : m[i];
        memset(s, 0, (size_t)inner * sizeof(float));
        for (int64_t j = 0; j < n; j++)
            for (int64_t i = 0; i < inner; i++) {
                const float e = expf(xp[j * inner + i] - m[i]);
                yp[j * inner + i] = e;
                s[i] += e;
            }
        if (kind == SM_SOFT) {
            for (int64_t i = 0; i < inner; i++) s[i] = 1.0f / s[i];
            for (int64_t j = 0; j < n; j++)
                for (int64_t i = 0; i < inner; i++) yp[j * inner + i] *= s[i];
        } else {
            for (int64_t i = 0; i < inner; i++) s[i] = m[i] + logf(s[i]);
            for (int64_t j = 0; j < n; j++)
                for (int64_t i = 0; i < inner; i++) yp[j * inner + i] = xp[j * inner + i] - s[i];
        }
    }
    oc_free(tmp);
    return OC_OK;
}

static oc_status softmax_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    return softmax_any(k, in, n_in, out, SM_SOFT);
}

static oc_status logsoftmax_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    return softmax_any(k, in, n_in, out, SM_LOG);
}

/* ---- Resize / Upsample ---- */

enum { RS_NEAREST, RS_LINEAR, RS_CUBIC };
enum {
    CT_HALF_PIXEL,
    CT_HALF_PIXEL_SYMMETRIC,
    CT_PYTORCH_HALF_PIXEL,
    CT_ALIGN_CORNERS,
    CT_ASYMMETRIC,
    CT_TF_HALF_PIXEL_FOR_NN,
    CT_TF_CROP_AND_RESIZE
};
/* NR_SIMPLE: Upsample and Resize-10: floor when enlarging, ceil when
 * shrinking (what the opset-10 conformance examples expect) */
enum { NR_ROUND_PREFER_FLOOR, NR_ROUND_PREFER_CEIL, NR_FLOOR, NR_CEIL, NR_SIMPLE };
enum { KA_STRETCH, KA_NOT_LARGER, KA_NOT_SMALLER };

typedef struct rs_cfg {
    int mode, ctm, nearest, policy;
    double cubic_a;
    bool exclude_outside;
    float extrapolation;
} rs_cfg;

static int lookup(const char *s, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(s, names[i])) return i;
    return -1;
}

/* Upsample and Resize-10 have only `mode` (asymmetric coordinates); from
 * Resize-11 every attribute of the spec. */
static oc_status rs_config(oc_kctx *k, rs_cfg *c)
{
    const oc_node *n = k->node;
    const bool simple = !strcmp(n->op_type, "Upsample") || k->opset < 11;
    char buf[64];
    static const char *const modes[] = {"nearest", "linear", "cubic"};
    const char *s = oc_attr_str(n, "mode", "nearest", buf, sizeof(buf));
    c->mode = lookup(s, modes, simple ? 2 : 3);
    if (c->mode < 0) return oc_kfail(k, OC_ERR_UNSUPPORTED, "mode '%s'", s);
    c->policy = KA_STRETCH;
    c->cubic_a = -0.75;
    c->exclude_outside = false;
    c->extrapolation = 0;
    if (simple) {
        c->ctm = CT_ASYMMETRIC;
        c->nearest = NR_SIMPLE;
        return OC_OK;
    }
    static const char *const ctms[] = {"half_pixel",     "half_pixel_symmetric",  "pytorch_half_pixel",
                                       "align_corners",  "asymmetric",            "tf_half_pixel_for_nn",
                                       "tf_crop_and_resize"};
    s = oc_attr_str(n, "coordinate_transformation_mode", "half_pixel", buf, sizeof(buf));
    c->ctm = lookup(s, ctms, 7);
    if (c->ctm < 0 || (c->ctm == CT_HALF_PIXEL_SYMMETRIC && k->opset < 19))
        return oc_kfail(k, OC_ERR_UNSUPPORTED, "coordinate_transformation_mode '%s'", s);
    static const char *const nms[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    s = oc_attr_str(n, "nearest_mode", "round_prefer_floor", buf, sizeof(buf));
    c->nearest = lookup(s, nms, 4);
    if (c->nearest < 0) return oc_kfail(k, OC_ERR_UNSUPPORTED, "nearest_mode '%s'", s);
    c->cubic_a = oc_attr_float(n, "cubic_coeff_a", -0.75f);
    c->exclude_outside = oc_attr_int(n, "exclude_outside", 0) != 0;
    c->extrapolation = oc_attr_float(n, "extrapolation_value", 0.0f);
    if (k->opset >= 18) {
        if (oc_attr_int(n, "antialias", 0) != 0 && c->mode != RS_NEAREST)
            return oc_kfail(k, OC_ERR_UNSUPPORTED, "antialias=1");
        static const char *const pols[] = {"stretch", "not_larger", "not_smaller"};
        s = oc_attr_str(n, "keep_aspect_ratio_policy", "stretch", buf, sizeof(buf));
        c->policy = lookup(s, pols, 3);
        if (c->policy < 0) return oc_kfail(k, OC_ERR_UNSUPPORTED, "keep_aspect_ratio_policy '%s'", s);
    }
    return OC_OK;
}

static oc_status resize_prepare(oc_kctx *k)
{
    rs_cfg c;
    FORWARD_IF_ERROR(rs_config(k, &c));
    if (!strcmp(k->node->op_type, "Upsample") && k->opset < 9) {
        const float *sc = NULL;
        if (oc_attr_floats(k->node, "scales", &sc) < 0) return oc_kfail(k, OC_ERR_INVALID, "scales is required");
    }
    return OC_OK;
}

/* Source coordinate of output index o along an axis of `in` elements
 * resized by `scale` to out_n elements; out is the resized length in *
 * scale before rounding to whole elements (as the reference
 * implementation uses it). */
static double rs_coord(const rs_cfg *c, int64_t o, int64_t in, int64_t out_n, double out, double scale, double r0,
                       double r1)
{
    switch (c->ctm) {
    case CT_HALF_PIXEL: return ((double)o + 0.5) / scale - 0.5;
    case CT_HALF_PIXEL_SYMMETRIC: {
        const double adj = (double)out_n / out;
        const double offset = (double)in / 2.0 * (1.0 - adj);
        return offset + ((double)o + 0.5) / scale - 0.5;
    }
    case CT_PYTORCH_HALF_PIXEL: return out_n > 1 ? ((double)o + 0.5) / scale - 0.5 : 0.0;
    case CT_ALIGN_CORNERS: return out > 1 ? (double)o * (double)(in - 1) / (out - 1) : 0.0;
    case CT_TF_HALF_PIXEL_FOR_NN: return ((double)o + 0.5) / scale;
    case CT_TF_CROP_AND_RESIZE:
        return out > 1 ? r0 * (double)(in - 1) + (double)o * (r1 - r0) * (double)(in - 1) / (out - 1)
                       : 0.5 * (r0 + r1) * (double)(in - 1);
    default: return (double)o / scale;
    }
}

static int64_t rs_round(const rs_cfg *c, double x, double scale)
{
    switch (c->nearest) {
    case NR_ROUND_PREFER_CEIL: return (int64_t)floor(x + 0.5);
    case NR_FLOOR: return (int64_t)floor(x);
    case NR_CEIL: return (int64_t)ceil(x);
    case NR_SIMPLE: return scale < 1.0 ? (int64_t)ceil(x) : (int64_t)floor(x);
    default: return (int64_t)ceil(x - 0.5);
    }
}

static double cubic_w(double s, double a)
{
    s = fabs(s);
    if (s <= 1) return ((a + 2) * s - (a + 3)) * s * s + 1;
    if (s < 2) return ((a * s - 5 * a) * s + 8 * a) * s - 4 * a;
    return 0;
}

/* Taps of one axis: out * ntap source indices and weights; ext[o] marks
 * outputs outside the crop (tf_crop_and_resize: extrapolation_value). */
typedef struct rs_axis {
    int ntap;
    int64_t *idx;
    float *w;
    unsigned char *ext;
    bool any_ext, identity;
} rs_axis;

static void rs_axis_taps(const rs_cfg *c, rs_axis *ax, int64_t in, int64_t out, double out_f, double scale,
                         double r0, double r1)
{
    const int nt = c->mode == RS_NEAREST ? 1 : c->mode == RS_LINEAR ? 2 : 4;
    ax->ntap = nt;
    ax->identity = in == out;
    ax->any_ext = false;
    for (int64_t o = 0; o < out; o++) {
        const double x = rs_coord(c, o, in, out, out_f, scale, r0, r1);
        int64_t *ii = ax->idx + o * nt;
        float *ww = ax->w + o * nt;
        ax->ext[o] = c->ctm == CT_TF_CROP_AND_RESIZE && (x < 0 || x > (double)(in - 1));
        ax->any_ext = ax->any_ext || ax->ext[o];
        if (ax->ext[o] || x != (double)o) ax->identity = false;
        if (c->mode == RS_NEAREST) {
            int64_t i = rs_round(c, x, scale);
            ii[0] = i < 0 ? 0 : i >= in ? in - 1 : i;
            ww[0] = 1;
            continue;
        }
        const double f = floor(x), t = x - f;
        const int64_t i0 = (int64_t)f;
        double w[4];
        if (c->mode == RS_LINEAR) {
            w[0] = 1 - t;
            w[1] = t;
        } else {
            w[0] = cubic_w(1 + t, c->cubic_a);
            w[1] = cubic_w(t, c->cubic_a);
            w[2] = cubic_w(1 - t, c->cubic_a);
            w[3] = cubic_w(2 - t, c->cubic_a);
        }
        const int64_t first = c->mode == RS_LINEAR ? i0 : i0 - 1;
        double sum = 0;
        for (int j = 0; j < nt; j++) {
            const int64_t i = first + j;
            if (c->exclude_outside && (i < 0 || i >= in)) w[j] = 0;
            sum += w[j];
            ii[j] = i < 0 ? 0 : i >= in ? in - 1 : i;
        }
        for (int j = 0; j < nt; j++) ww[j] = (float)(c->exclude_outside && sum != 0 ? w[j] / sum : w[j]);
    }
}

/* One axis of a linear/cubic resize: src [outer, in, inner] -> dst [outer, out, inner]. */
static void rs_interp_axis(const float *src, float *dst, int64_t outer, int64_t in, int64_t out, int64_t inner,
                           const rs_axis *ax, float ev)
{
    const int nt = ax->ntap;
    const int64_t *idx = ax->idx;
    const float *w = ax->w;
    const unsigned char *ext = ax->ext;
    for (int64_t p = 0; p < outer; p++) {
        const float *s = src + p * in * inner;
        float *d = dst + p * out * inner;
        if (inner == 1) {
            /* the last axis: one value per output */
            if (nt == 2)
                for (int64_t o = 0; o < out; o++) d[o] = w[2 * o] * s[idx[2 * o]] + w[2 * o + 1] * s[idx[2 * o + 1]];
            else
                for (int64_t o = 0; o < out; o++) {
                    const int64_t *ii = idx + 4 * o;
                    const float *ww = w + 4 * o;
                    d[o] = ww[0] * s[ii[0]] + ww[1] * s[ii[1]] + ww[2] * s[ii[2]] + ww[3] * s[ii[3]];
                }
            if (ax->any_ext)
                for (int64_t o = 0; o < out; o++)
                    if (ext[o]) d[o] = ev;
            continue;
        }
        for (int64_t o = 0; o < out; o++) {
            float *dr = d + o * inner;
            const int64_t *ii = idx + o * nt;
            const float *ww = w + o * nt;
            if (ext[o]) {
                for (int64_t i = 0; i < inner; i++) dr[i] = ev;
                continue;
            }
            oc_nn_scale_shift(dr, s + ii[0] * inner, ww[0], 0.0f, inner);
            for (int t = 1; t < nt; t++)
                if (ww[t] != 0) oc_nn_axpy(dr, s + ii[t] * inner, ww[t], inner);
        }
    }
}

/* Nearest: y[o] = x[idx_0[o_0], ..., idx_r[o_r]] for elements of es bytes. */
static void rs_gather(const oc_ten *x, oc_ten *y, rs_axis *ax, const rs_cfg *c)
{
    const int r = x->ndim;
    const size_t es = oc_ten_elem_size(x->dtype);
    int64_t stride[OC_MAX_DIMS], o[OC_MAX_DIMS] = {0};
    int64_t s = 1;
    for (int a = r - 1; a >= 0; a--) {
        stride[a] = s;
        s *= x->dims[a];
    }
    const int64_t OW = y->dims[r - 1], rows = y->numel / OW;
    const unsigned char *src = x->data;
    unsigned char *dst = y->data;
    const int64_t *li = ax[r - 1].idx;
    const unsigned char *lext = ax[r - 1].ext;
    for (int64_t row = 0; row < rows; row++) {
        int64_t base = 0;
        bool ext = false;
        for (int a = 0; a < r - 1; a++) {
            base += ax[a].idx[o[a]] * stride[a];
            ext = ext || ax[a].ext[o[a]];
        }
        const int64_t first = row * OW;
        if (es == 4 && !ext) {
            const uint32_t *s4 = (const uint32_t *)(const void *)src + base;
            uint32_t *d4 = (uint32_t *)(void *)dst + first;
            for (int64_t t = 0; t < OW; t++) d4[t] = s4[li[t]];
        } else {
            for (int64_t t = 0; t < OW; t++)
                memcpy(dst + (size_t)(first + t) * es, src + (size_t)(base + li[t]) * es, es);
        }
        if (ext || c->ctm == CT_TF_CROP_AND_RESIZE)
            for (int64_t t = 0; t < OW; t++)
                if (ext || lext[t]) oc_ten_set(y, first + t, c->extrapolation);
        for (int a = r - 2; a >= 0; a--) {
            if (++o[a] < y->dims[a]) break;
            o[a] = 0;
        }
    }
}

/* Resizes x to out dims with per-axis scales and crop boxes [r0, r1]. */
static oc_status rs_apply(oc_kctx *k, const rs_cfg *c, const oc_ten *x, const int64_t *odims, const double *out_f,
                          const double *scale, const double *r0, const double *r1, oc_ten *y)
{
    const int r = x->ndim;
    if (r < 0 || r > OC_MAX_DIMS) return oc_kfail(k, OC_ERR_INVALID, "X of rank %d", r);
    if (c->mode != RS_NEAREST) FORWARD_IF_ERROR(need_float(k, x, "X"));
    if (oc_ten_elem_size(x->dtype) == 0)
        return oc_kfail(k, OC_ERR_UNSUPPORTED, "X of type %s", oc_dtype_name(x->dtype));
    FORWARD_IF_ERROR(oc_ten_alloc(k, y, x->dtype, r, odims));
    if (y->numel == 0 || r == 0) {
        if (r == 0 && x->nbytes) memcpy(y->data, x->data, x->nbytes);
        return OC_OK;
    }
    if (x->numel == 0) return oc_kfail(k, OC_ERR_INVALID, "resizing an empty tensor to a non-empty one");
    const int nt = c->mode == RS_NEAREST ? 1 : c->mode == RS_LINEAR ? 2 : 4;
    int64_t total = 0;
    for (int a = 0; a < r; a++) total += odims[a];
    /* one block for every axis' taps */
    unsigned char *mem = oc_malloc((size_t)total * (size_t)nt * (sizeof(int64_t) + sizeof(float)) + (size_t)total + 8);
    if (!mem) return oc_kfail(k, OC_ERR_NOMEM, "out of memory");
    rs_axis ax[OC_MAX_DIMS];
    int64_t *ip = (int64_t *)(void *)mem;
    float *wp = (float *)(void *)(ip + total * nt);
    unsigned char *ep = (unsigned char *)(wp + total * nt);
    for (int a = 0; a < r; a++) {
        ax[a].idx = ip;
        ax[a].w = wp;
        ax[a].ext = ep;
        ip += odims[a] * nt;
        wp += odims[a] * nt;
        ep += odims[a];
        rs_axis_taps(c, &ax[a], x->dims[a], odims[a], out_f[a], scale[a], r0[a], r1[a]);
    }
    oc_status st = OC_OK;
    if (c->mode == RS_NEAREST) {
        rs_gather(x, y, ax, c);
        goto cleanup;
    }
    {
        /* one separable pass per changed axis, through two scratch buffers */
        int64_t cur[OC_MAX_DIMS];
        memcpy(cur, x->dims, (size_t)r * sizeof(int64_t));
        /* the changed axes, shrinking ones first (less data for the rest),
         * then by ratio, later axes first on ties */
        int order[OC_MAX_DIMS], passes = 0;
        for (int a = r - 1; a >= 0; a--) {
            if (ax[a].identity) continue;
            int j = passes++;
            const double ra = (double)odims[a] / (double)x->dims[a];
            while (j > 0 && (double)odims[order[j - 1]] / (double)x->dims[order[j - 1]] > ra) {
                order[j] = order[j - 1];
                j--;
            }
            order[j] = a;
        }
        if (passes == 0) {
            memcpy(y->data, x->data, x->nbytes);
            goto cleanup;
        }
        int64_t biggest = 0;
        for (int j = 0; j < passes; j++) {
            cur[order[j]] = odims[order[j]];
            const int64_t n = prod(cur, 0, r);
            if (n > biggest) biggest = n;
        }
        float *buf[2] = {NULL, NULL};
        if (passes > 1) {
            buf[0] = oc_malloc((size_t)biggest * sizeof(float));
            buf[1] = passes > 2 ? oc_malloc((size_t)biggest * sizeof(float)) : NULL;
            if (!buf[0] || (passes > 2 && !buf[1])) {
                oc_free(buf[0]);
                oc_free(buf[1]);
                st = oc_kfail(k, OC_ERR_NOMEM, "out of memory");
                goto cleanup;
            }
        }
        memcpy(cur, x->dims, (size_t)r * sizeof(int64_t));
        const float *src = x->data;
        int which = 0;
        for (int j = 0; j < passes; j++) {
            const int a = order[j];
            float *dst = j == passes - 1 ? (float *)y->data : buf[which];
            rs_interp_axis(src, dst, prod(cur, 0, a), cur[a], odims[a], prod(cur, a + 1, r), &ax[a], c->extrapolation);
            cur[a] = odims[a];
            src = dst;
            which ^= 1;
        }
        oc_free(buf[0]);
        oc_free(buf[1]);
    }
cleanup:
    oc_free(mem);
    return st;
}

/* The float values of a 1-D tensor (scales, roi) as doubles. */
static void read_doubles(const oc_ten *t, double *v, int64_t n)
{
    for (int64_t i = 0; i < n; i++) v[i] = oc_ten_get(t, i);
}

static oc_status resize_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    const oc_ten *x = n_in ? in[0] : NULL;
    if (!x) return oc_kfail(k, OC_ERR_INVALID, "needs X");
    rs_cfg c;
    FORWARD_IF_ERROR(rs_config(k, &c));
    const int r = x->ndim;
    const bool upsample = !strcmp(k->node->op_type, "Upsample");
    const oc_ten *roi = NULL, *scales = NULL, *sizes = NULL;
    const float *attr_scales = NULL;
    int64_t n_attr_scales = -1;
    if (upsample && k->opset < 9) n_attr_scales = oc_attr_floats(k->node, "scales", &attr_scales);
    else if (upsample || k->opset < 11) scales = n_in > 1 ? in[1] : NULL;
    else {
        roi = n_in > 1 ? in[1] : NULL;
        scales = n_in > 2 ? in[2] : NULL;
        sizes = n_in > 3 ? in[3] : NULL;
    }
    if (scales && scales->numel == 0) scales = NULL;
    if (sizes && sizes->numel == 0) sizes = NULL;
    if (scales && sizes) return oc_kfail(k, OC_ERR_INVALID, "both scales and sizes are given");
    /* the axes roi, scales and sizes refer to (opset 18) */
    int axes[OC_MAX_DIMS], na = r;
    for (int a = 0; a < r; a++) axes[a] = a;
    const int64_t *ax_attr = NULL;
    int64_t nax = k->opset >= 18 && !upsample ? oc_attr_ints(k->node, "axes", &ax_attr) : -1;
    if (nax >= 0) {
        if (nax > r) return oc_kfail(k, OC_ERR_INVALID, "%lld axes for rank %d", (long long)nax, r);
        na = (int)nax;
        for (int j = 0; j < na; j++) {
            axes[j] = norm_axis(ax_attr[j], r);
            if (axes[j] < 0) return oc_kfail(k, OC_ERR_INVALID, "axis %lld out of range", (long long)ax_attr[j]);
        }
    }
    double scale[OC_MAX_DIMS], r0[OC_MAX_DIMS], r1[OC_MAX_DIMS], v[2 * OC_MAX_DIMS], out_f[OC_MAX_DIMS];
    int64_t odims[OC_MAX_DIMS];
    for (int a = 0; a < r; a++) {
        scale[a] = 1.0;
        r0[a] = 0.0;
        r1[a] = 1.0;
        odims[a] = x->dims[a];
        out_f[a] = (double)x->dims[a];
    }
    if (roi && roi->numel > 0 && c.ctm == CT_TF_CROP_AND_RESIZE) {
        if (roi->numel != 2 * na)
            return oc_kfail(k, OC_ERR_INVALID, "roi has %lld values for %d axes", (long long)roi->numel, na);
        read_doubles(roi, v, 2 * na);
        for (int j = 0; j < na; j++) {
            r0[axes[j]] = v[j];
            r1[axes[j]] = v[na + j];
        }
    }
    if (n_attr_scales >= 0 || scales) {
        const int64_t ns = scales ? scales->numel : n_attr_scales;
        if (ns != na) return oc_kfail(k, OC_ERR_INVALID, "%lld scales for %d axes", (long long)ns, na);
        if (scales) read_doubles(scales, v, na);
        else for (int j = 0; j < na; j++) v[j] = attr_scales[j];
        for (int j = 0; j < na; j++) {
            const int a = axes[j];
            if (!(v[j] > 0) || isinf(v[j])) return oc_kfail(k, OC_ERR_INVALID, "scale %g", v[j]);
            scale[a] = v[j];
            double len = (double)x->dims[a];
            if (c.ctm == CT_TF_CROP_AND_RESIZE) len *= r1[a] - r0[a];
            out_f[a] = len * v[j];
            const double o = floor(out_f[a]);
            if (!(o >= 0) || o > 9.0e15) return oc_kfail(k, OC_ERR_INVALID, "output size %g", o);
            odims[a] = (int64_t)o;
        }
    } else if (sizes) {
        if (sizes->numel != na)
            return oc_kfail(k, OC_ERR_INVALID, "%lld sizes for %d axes", (long long)sizes->numel, na);
        double common = c.policy == KA_NOT_LARGER ? INFINITY : 0;
        for (int j = 0; j < na; j++) {
            const int a = axes[j];
            const int64_t sz = oc_ten_get_i64(sizes, j);
            if (sz < 0) return oc_kfail(k, OC_ERR_INVALID, "size %lld", (long long)sz);
            if (x->dims[a] == 0) return oc_kfail(k, OC_ERR_INVALID, "resizing an empty axis");
            odims[a] = sz;
            scale[a] = (double)sz / (double)x->dims[a];
            out_f[a] = (double)sz;
            if (c.policy == KA_NOT_LARGER && scale[a] < common) common = scale[a];
            if (c.policy == KA_NOT_SMALLER && scale[a] > common) common = scale[a];
        }
        if (c.policy != KA_STRETCH)
            for (int j = 0; j < na; j++) {
                const int a = axes[j];
                scale[a] = common;
                odims[a] = (int64_t)floor(common * (double)x->dims[a] + 0.5);
                out_f[a] = common * (double)x->dims[a];
            }
    } else {
        return oc_kfail(k, OC_ERR_INVALID, "needs scales or sizes");
    }
    for (int a = 0; a < r; a++)
        if (scale[a] <= 0 || odims[a] < 0)
            return oc_kfail(k, OC_ERR_INVALID, "axis %d: output size %lld", a, (long long)odims[a]);
    return rs_apply(k, &c, x, odims, out_f, scale, r0, r1, &out[0]);
}

/* ---- the family's table ---- */

const oc_op_def oc_ops_nn[] = {
    {"", "AveragePool", 1, oc_nn_pool_prepare, oc_nn_avgpool_run},
    {"", "AveragePool", 19, oc_nn_pool_prepare, oc_nn_avgpool_run}, /* dilations */
    {"", "BatchNormalization", 1, bn_prepare, bn_run},
    {"", "BatchNormalization", 9, bn_prepare, bn_run},  /* no `spatial` */
    {"", "BatchNormalization", 14, bn_prepare, bn_run}, /* training_mode */
    {"", "Conv", 1, oc_nn_conv_prepare, oc_nn_conv_run},
    {"", "ConvTranspose", 1, oc_nn_convtranspose_prepare, oc_nn_convtranspose_run},
    {"", "Gemm", 1, NULL, gemm_run},
    {"", "Gemm", 7, NULL, gemm_run}, /* C always broadcasts */
    {"", "GlobalAveragePool", 1, NULL, oc_nn_global_avgpool_run},
    {"", "GlobalLpPool", 1, NULL, oc_nn_global_lppool_run},
    {"", "GlobalMaxPool", 1, NULL, oc_nn_global_maxpool_run},
    {"", "InstanceNormalization", 1, NULL, instnorm_run},
    {"", "LRN", 1, lrn_prepare, lrn_run},
    {"", "LayerNormalization", 17, layernorm_prepare, layernorm_run},
    {"", "LogSoftmax", 1, NULL, logsoftmax_run},
    {"", "LogSoftmax", 13, NULL, logsoftmax_run}, /* along one axis */
    {"", "LpNormalization", 1, lpnorm_prepare, lpnorm_run},
    {"", "LpPool", 1, oc_nn_pool_prepare, oc_nn_lppool_run},
    {"", "LpPool", 18, oc_nn_pool_prepare, oc_nn_lppool_run}, /* ceil_mode, dilations */
    {"", "MatMul", 1, NULL, matmul_run},
    {"", "MaxPool", 1, oc_nn_pool_prepare, oc_nn_maxpool_run},
    {"", "MaxUnpool", 9, oc_nn_maxunpool_prepare, oc_nn_maxunpool_run},
    {"", "MeanVarianceNormalization", 9, NULL, mvn_run},
    {"", "Resize", 10, resize_prepare, resize_run},
    {"", "Resize", 11, resize_prepare, resize_run}, /* roi, sizes, coordinate modes */
    {"", "Resize", 18, resize_prepare, resize_run}, /* axes, keep_aspect_ratio_policy */
    {"", "Softmax", 1, NULL, softmax_run},
    {"", "Softmax", 13, NULL, softmax_run}, /* along one axis */
    {"", "Upsample", 7, resize_prepare, resize_run},
    {"", "Upsample", 9, resize_prepare, resize_run}, /* scales input */
};
const size_t oc_ops_nn_count = sizeof(oc_ops_nn) / sizeof(oc_ops_nn[0]);
