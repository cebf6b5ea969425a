/* ops_conv.c: the sliding-window kernels of the nn family: Conv,
 * ConvTranspose, MaxPool, AveragePool, LpPool and the global pools, on
 * float32 (MaxPool also on int8/uint8) in NCHW layout, the convolutions
 * over any number of spatial axes and the pools over 1 to 3; and
 * MaxUnpool, which scatters pooled values back.
 *
 * Conv lowers each group to one matrix product: the input patches are laid
 * out as columns (im2col), in chunks of bounded size, and multiplied by the
 * group's filters with cblas_sgemm. A 1x1 convolution without stride or pad
 * multiplies the input directly; a depthwise 2-D convolution (one input
 * channel per group) runs a direct loop instead, which beats a product of
 * one-row matrices. ConvTranspose is the same product transposed: filters
 * times input gives the columns, which col2im adds into the output.
 *
 * The window geometry (output size, pads from auto_pad, ceil_mode) follows
 * the ONNX operator specs; attribute values are checked in `prepare`. */
#include "ops_nn_internal.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

enum { PAD_NOTSET, PAD_SAME_UPPER, PAD_SAME_LOWER, PAD_VALID };

/* Floats in one im2col / col2im buffer (16 MiB): the columns of an image
 * are produced in chunks of at most this size. */
#define COL_BUDGET ((int64_t)1 << 22)

/* Threads one convolution may use, and multiply-adds worth a thread. */
#define CONV_MAX_THREADS 16
#define CONV_GRAIN ((int64_t)1 << 21)

/* Geometry of a sliding window over nd spatial axes. For ConvTranspose,
 * `in` is still the input and `out` the (larger) output. */
typedef struct win_geom {
    int nd;
    int64_t in[OC_MAX_DIMS], out[OC_MAX_DIMS], k[OC_MAX_DIMS];
    int64_t s[OC_MAX_DIMS], d[OC_MAX_DIMS], pb[OC_MAX_DIMS], pe[OC_MAX_DIMS];
    int64_t in_size, out_size, k_size; /* products over the axes */
} win_geom;

/* ---- attributes ---- */

static oc_status get_auto_pad(oc_kctx *k, int *mode)
{
    char buf[32];
    const char *s = oc_attr_str(k->node, "auto_pad", "NOTSET", buf, sizeof(buf));
    if (!strcmp(s, "NOTSET") || !*s) *mode = PAD_NOTSET;
    else if (!strcmp(s, "SAME_UPPER")) *mode = PAD_SAME_UPPER;
    else if (!strcmp(s, "SAME_LOWER")) *mode = PAD_SAME_LOWER;
    else if (!strcmp(s, "VALID")) *mode = PAD_VALID;
    else return oc_kfail(k, OC_ERR_INVALID, "auto_pad '%s' is not NOTSET, SAME_UPPER, SAME_LOWER or VALID", s);
    return OC_OK;
}

/* The ints attribute `name` into v[want], or `def` everywhere when absent. */
static oc_status ints_n(oc_kctx *k, const char *name, int64_t want, int64_t def, int64_t *v)
{
    const int64_t *p = NULL;
    int64_t n = oc_attr_ints(k->node, name, &p);
    if (n < 0) {
        for (int64_t i = 0; i < want; i++) v[i] = def;
        return OC_OK;
    }
    if (n != want)
        return oc_kfail(k, OC_ERR_INVALID, "%s has %lld values for %lld", name, (long long)n, (long long)want);
    if (n) memcpy(v, p, (size_t)n * sizeof(*v));
    return OC_OK;
}

/* Checks what can be seen of the window attributes before running: lengths
 * agree with each other, strides/dilations/kernel positive, pads >= 0. */
static oc_status check_window_attrs(oc_kctx *k, bool need_kernel)
{
    int mode;
    FORWARD_IF_ERROR(get_auto_pad(k, &mode));
    const int64_t *ks = NULL, *st = NULL, *dl = NULL, *pd = NULL;
    int64_t nk = oc_attr_ints(k->node, "kernel_shape", &ks);
    int64_t ns = oc_attr_ints(k->node, "strides", &st);
    int64_t ndl = oc_attr_ints(k->node, "dilations", &dl);
    int64_t np = oc_attr_ints(k->node, "pads", &pd);
    if (need_kernel && nk < 0) return oc_kfail(k, OC_ERR_INVALID, "kernel_shape is required");
    int64_t nd = nk >= 0 ? nk : ns >= 0 ? ns : ndl >= 0 ? ndl : np >= 0 ? np / 2 : -1;
    if (nd > OC_MAX_DIMS - 2) return oc_kfail(k, OC_ERR_UNSUPPORTED, "%lld spatial axes", (long long)nd);
    if ((ns >= 0 && ns != nd) || (ndl >= 0 && ndl != nd) || (nk >= 0 && nk != nd) || (np >= 0 && np != 2 * nd))
        return oc_kfail(k, OC_ERR_INVALID, "kernel_shape, strides, dilations and pads disagree on the rank");
    for (int64_t i = 0; i < nk; i++)
        if (ks[i] < 1) return oc_kfail(k, OC_ERR_INVALID, "kernel_shape[%lld] = %lld", (long long)i, (long long)ks[i]);
    for (int64_t i = 0; i < ns; i++)
        if (st[i] < 1) return oc_kfail(k, OC_ERR_INVALID, "strides[%lld] = %lld", (long long)i, (long long)st[i]);
    for (int64_t i = 0; i < ndl; i++)
        if (dl[i] < 1) return oc_kfail(k, OC_ERR_INVALID, "dilations[%lld] = %lld", (long long)i, (long long)dl[i]);
    for (int64_t i = 0; i < np; i++)
        if (pd[i] < 0) return oc_kfail(k, OC_ERR_INVALID, "pads[%lld] = %lld", (long long)i, (long long)pd[i]);
    return OC_OK;
}

static oc_status need_float(oc_kctx *k, const oc_ten *t, const char *what)
{
    if (t && t->dtype != OC_DTYPE_FLOAT)
        return oc_kfail(k, OC_ERR_UNSUPPORTED, "%s of type %s (only float32)", what, oc_dtype_name(t->dtype));
    return OC_OK;
}

static int64_t floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static oc_status geom_sizes(oc_kctx *k, win_geom *g)
{
    g->in_size = g->out_size = g->k_size = 1;
    for (int i = 0; i < g->nd; i++)
        if (oc_mul_overflow_i64(g->in_size, g->in[i], &g->in_size) ||
            oc_mul_overflow_i64(g->out_size, g->out[i], &g->out_size) ||
            oc_mul_overflow_i64(g->k_size, g->k[i], &g->k_size))
            return oc_kfail(k, OC_ERR_INVALID, "window sizes overflow");
    return OC_OK;
}

/* Output size and pads of a convolution or pooling window (Conv, MaxPool,
 * AveragePool, LpPool specs): explicit pads, or auto_pad, with floor or
 * (ceil_mode) ceil; a window must start inside the input or its left pad. */
static oc_status window_geom(oc_kctx *k, win_geom *g, int nd, const int64_t *in_sp, const int64_t *kernel,
                             bool ceil_mode, bool has_dilations)
{
    int mode;
    int64_t pads[2 * OC_MAX_DIMS];
    g->nd = nd;
    FORWARD_IF_ERROR(get_auto_pad(k, &mode));
    FORWARD_IF_ERROR(ints_n(k, "strides", nd, 1, g->s));
    if (has_dilations) FORWARD_IF_ERROR(ints_n(k, "dilations", nd, 1, g->d));
    else for (int i = 0; i < nd; i++) g->d[i] = 1;
    FORWARD_IF_ERROR(ints_n(k, "pads", 2 * nd, 0, pads));
    for (int i = 0; i < nd; i++) {
        const int64_t in = in_sp[i], kk = kernel[i], s = g->s[i], d = g->d[i];
        if (s < 1 || d < 1 || kk < 1 || kk > INT32_MAX || d > INT32_MAX)
            return oc_kfail(k, OC_ERR_INVALID, "axis %d: kernel %lld, stride %lld, dilation %lld", i, (long long)kk,
                            (long long)s, (long long)d);
        const int64_t eff = (kk - 1) * d + 1;
        g->in[i] = in;
        g->k[i] = kk;
        if (mode == PAD_SAME_UPPER || mode == PAD_SAME_LOWER) {
            g->out[i] = (in + s - 1) / s;
            int64_t total = (g->out[i] - 1) * s + eff - in;
            if (total < 0) total = 0;
            g->pb[i] = mode == PAD_SAME_UPPER ? total / 2 : total - total / 2;
            g->pe[i] = total - g->pb[i];
            continue;
        }
        g->pb[i] = mode == PAD_VALID ? 0 : pads[i];
        g->pe[i] = mode == PAD_VALID ? 0 : pads[nd + i];
        if (g->pb[i] < 0 || g->pe[i] < 0) return oc_kfail(k, OC_ERR_INVALID, "negative pads");
        const int64_t span = in + g->pb[i] + g->pe[i] - eff;
        if (span < 0)
            return oc_kfail(k, OC_ERR_INVALID, "axis %d: window of %lld is larger than the padded input (%lld)", i,
                            (long long)eff, (long long)(in + g->pb[i] + g->pe[i]));
        g->out[i] = span / s + 1;
        if (ceil_mode && span % s) {
            g->out[i]++;
            /* the last window must start inside the input or its left pad */
            if ((g->out[i] - 1) * s >= in + g->pb[i]) g->out[i]--;
        }
    }
    return geom_sizes(k, g);
}

static void advance(int64_t *idx, const int64_t *dims, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        if (++idx[i] < dims[i]) return;
        idx[i] = 0;
    }
}

/* The o in [0, n) with 0 <= o*s + off < lim, as [*lo, *hi). */
static void valid_range(int64_t off, int64_t s, int64_t lim, int64_t n, int64_t *lo, int64_t *hi)
{
    int64_t a = off >= 0 ? 0 : (-off + s - 1) / s;
    int64_t b = lim - 1 - off < 0 ? 0 : (lim - 1 - off) / s + 1;
    if (a > n) a = n;
    if (b > n) b = n;
    if (b < a) b = a;
    *lo = a;
    *hi = b;
}

/* ---- Conv ---- */

/* One row of the column matrix: input channel plane xc seen through kernel
 * offset kidx, for output positions [j0, j1) (flattened). */
static void im2col_row(const float *xc, const win_geom *g, const int64_t *kidx, int64_t j0, int64_t j1, float *dst)
{
    const int last = g->nd - 1;
    const int64_t OW = g->out[last], IW = g->in[last], sw = g->s[last];
    const int64_t off = kidx[last] * g->d[last] - g->pb[last];
    int64_t o[OC_MAX_DIMS], r = j0;
    for (int i = last; i >= 0; i--) {
        o[i] = r % g->out[i];
        r /= g->out[i];
    }
    for (int64_t j = j0; j < j1;) {
        int64_t n = OW - o[last];
        if (n > j1 - j) n = j1 - j;
        int64_t base = 0;
        bool inside = true;
        for (int i = 0; i < last; i++) {
            int64_t p = o[i] * g->s[i] + kidx[i] * g->d[i] - g->pb[i];
            if (p < 0 || p >= g->in[i]) {
                inside = false;
                break;
            }
            base = base * g->in[i] + p;
        }
        if (!inside) {
            memset(dst, 0, (size_t)n * sizeof(float));
        } else {
            const float *xr = xc + base * IW;
            int64_t lo, hi;
            valid_range(o[last] * sw + off, sw, IW, n, &lo, &hi);
            for (int64_t t = 0; t < lo; t++) dst[t] = 0;
            if (hi > lo) {
                const float *xs = xr + (o[last] + lo) * sw + off; /* under output lo */
                if (sw == 1) memcpy(dst + lo, xs, (size_t)(hi - lo) * sizeof(float));
                else for (int64_t t = lo; t < hi; t++) dst[t] = xs[(t - lo) * sw];
            }
            for (int64_t t = hi; t < n; t++) dst[t] = 0;
        }
        dst += n;
        j += n;
        o[last] += n;
        if (o[last] == OW) {
            o[last] = 0;
            advance(o, g->out, last);
        }
    }
}

/* Chunk of output positions whose columns fit COL_BUDGET. */
static int64_t col_chunk(int64_t rows, int64_t total)
{
    int64_t c = COL_BUDGET / (rows > 0 ? rows : 1);
    if (c < 64) c = 64;
    return c < total ? c : total;
}

/* ---- Conv as a matrix product ----
 *
 * Each group of each image is Y[M][N] = W[M][K] * B[K][N] + bias, with K =
 * Cg * k_size filter taps and N output positions; B is the im2col matrix,
 * or the input itself for a 1x1 convolution without stride or pad. B is
 * never formed whole: blocks of at most KC rows by NC columns are written
 * straight into the layout the tile kernel reads (panels of NR columns, one
 * row of NR after the other) and W is read in place, so each operand is
 * copied at most once (a BLAS call would copy W on every call and B a second
 * time). The kernel keeps an MR x NR tile of Y in registers; the first K
 * block starts it from the bias, so no pass over Y adds the bias. */

enum { GEMM_KC = 256, GEMM_NC = 512, GEMM_MR_MAX = 8, GEMM_NR_MAX = 32 };

/* c[r][0..NR) (+)= a[r][0..kc) * panel b[kc][NR] for r < mr (MR rows are
 * computed, rows from mr on repeat row mr-1 and are not stored); without
 * `add` the tile starts from bias[r] (0 when bias is NULL). */
typedef void (*tile_fn)(const float *a, int64_t lda, const float *b, int64_t kc, float *c, int64_t ldc, int mr,
                        const float *bias, bool add);

typedef struct tile_kernel {
    tile_fn fn;
    int mr, nr;
} tile_kernel;

/* Plain C, for any machine. */
static void tile_c(const float *a, int64_t lda, const float *b, int64_t kc, float *c, int64_t ldc, int mr,
                   const float *bias, bool add)
{
    enum { MR = 4, NR = 8 };
    float acc[MR][NR];
    const float *ar[MR];
    for (int r = 0; r < MR; r++) {
        const int rr = r < mr ? r : mr - 1;
        ar[r] = a + rr * lda;
        for (int u = 0; u < NR; u++) acc[r][u] = add ? c[rr * ldc + u] : bias ? bias[rr] : 0.0f;
    }
    for (int64_t t = 0; t < kc; t++)
        for (int r = 0; r < MR; r++)
            for (int u = 0; u < NR; u++) acc[r][u] += ar[r][t] * b[t * NR + u];
    for (int r = 0; r < mr; r++)
        for (int u = 0; u < NR; u++) c[r * ldc + u] = acc[r][u];
}

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define HAVE_X86_TILES 1

__attribute__((target("avx2,fma"))) static void tile_avx2(const float *a, int64_t lda, const float *b, int64_t kc,
                                                         float *c, int64_t ldc, int mr, const float *bias, bool add)
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
    for (int64_t t = 0; t < kc; t++, b += 16) {
        const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
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

__attribute__((target("avx512f"))) static void tile_avx512(const float *a, int64_t lda, const float *b, int64_t kc,
                                                          float *c, int64_t ldc, int mr, const float *bias, bool add)
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
    for (int64_t t = 0; t < kc; t++, b += 32) {
        const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
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

/* The widest tile kernel this CPU runs. */
static tile_kernel pick_tile_kernel(void)
{
#ifdef HAVE_X86_TILES
    if (__builtin_cpu_supports("avx512f")) return (tile_kernel){tile_avx512, 8, 32};
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return (tile_kernel){tile_avx2, 6, 16};
#endif
    return (tile_kernel){tile_c, 4, 8};
}

/* One tile of nr <= NR valid columns: a partial one goes through a
 * scratch tile so the kernel always works on whole panels. */
static void run_tile(const tile_kernel *tk, const float *a, int64_t lda, const float *b, int64_t kc, float *c,
                     int64_t ldc, int mr, int nr, const float *bias, bool add)
{
    if (nr == tk->nr) {
        tk->fn(a, lda, b, kc, c, ldc, mr, bias, add);
        return;
    }
    float tile[GEMM_MR_MAX * GEMM_NR_MAX];
    if (add)
        for (int r = 0; r < mr; r++)
            for (int u = 0; u < nr; u++) tile[r * tk->nr + u] = c[r * ldc + u];
    tk->fn(a, lda, b, kc, tile, tk->nr, mr, bias, add);
    for (int r = 0; r < mr; r++)
        for (int u = 0; u < nr; u++) c[r * ldc + u] = tile[r * tk->nr + u];
}

/* One group of one image and what its B matrix is made of. */
typedef struct gemm_job {
    const win_geom *g;
    const float *x, *w, *b; /* input, filters and bias of the whole convolution */
    float *y;
    int64_t C, M, group, Cg, Mg, K, N;
    bool direct;            /* B is the input itself (1x1, no stride or pad) */
    tile_kernel tk;
    int64_t ncb, mcb, mc;   /* column blocks, row blocks (threads) and rows per row block */
} gemm_job;

/* Copies n <= nr values of src (stride s) into dst and zeroes dst up to nr. */
static inline void panel_row(float *restrict dst, const float *restrict src, int64_t s, int64_t n, int nr)
{
    int64_t u = 0;
    if (s == 1)
        for (; u < n; u++) dst[u] = src[u];
    else
        for (; u < n; u++) dst[u] = src[u * s];
    for (; u < nr; u++) dst[u] = 0.0f;
}

/* The panels of B for a convolution over one or two spatial axes: for each
 * panel, its nr output positions seen through each filter tap in turn, so
 * the panels are written in order; a panel crosses at most a few output
 * rows, and each piece of a row is a copy (or strided gather) of an input
 * row between zeros. */
static void pack_b_2d(const gemm_job *jb, const float *xg, int64_t k0, int64_t kc, int64_t j0, int64_t nc, float *bp)
{
    const win_geom *g = jb->g;
    const int two = g->nd == 2, nr = jb->tk.nr;
    const int64_t IH = two ? g->in[0] : 1, IW = g->in[two], OW = g->out[two], KH = two ? g->k[0] : 1,
                  KW = g->k[two];
    const int64_t sh = two ? g->s[0] : 1, sw = g->s[two], dh = two ? g->d[0] : 1, dw = g->d[two];
    const int64_t ph = two ? g->pb[0] : 0, pw = g->pb[two];
    float *dst = bp;
    for (int64_t p = 0; p * nr < nc; p++) {
        const int64_t jp = j0 + p * nr, w = nc - p * nr < nr ? nc - p * nr : nr;
        const int64_t oh0 = jp / OW, ow0 = jp % OW;
        int64_t c = k0 / (KH * KW), kh = k0 / KW % KH, kw = k0 % KW;
        for (int64_t t = 0; t < kc; t++, dst += nr) {
            const float *xc = xg + c * IH * IW;
            int64_t u = 0, oh = oh0, ow = ow0;
            while (u < w) {
                const int64_t seg = w - u < OW - ow ? w - u : OW - ow;
                const int64_t ih = oh * sh + kh * dh - ph, iw = ow * sw + kw * dw - pw;
                int64_t lo = 0, hi = 0; /* positions [lo, hi) of the piece read the input */
                if (ih >= 0 && ih < IH) {
                    if (sw == 1) {
                        lo = iw < 0 ? -iw : 0;
                        hi = IW - iw < seg ? IW - iw : seg;
                    } else {
                        valid_range(iw, sw, IW, seg, &lo, &hi);
                    }
                    if (lo > seg) lo = seg;
                    if (hi < lo) hi = lo;
                }
                float *d = dst + u;
                for (int64_t q = 0; q < lo; q++) d[q] = 0.0f;
                if (hi > lo) {
                    const float *src = xc + ih * IW + iw + lo * sw;
                    if (sw == 1)
                        for (int64_t q = lo; q < hi; q++) d[q] = src[q - lo];
                    else
                        for (int64_t q = lo; q < hi; q++) d[q] = src[(q - lo) * sw];
                }
                for (int64_t q = hi; q < seg; q++) d[q] = 0.0f;
                u += seg;
                ow = 0;
                oh++;
            }
            for (; u < nr; u++) dst[u] = 0.0f;
            if (++kw == KW) {
                kw = 0;
                if (++kh == KH) {
                    kh = 0;
                    c++;
                }
            }
        }
    }
}

/* Rows [k0, k0 + kc) and columns [j0, j0 + nc) of B for the input channels
 * xg, as panels: element (t, j) at bp[((j / nr) * kc + t) * nr + j % nr],
 * zero past nc. row holds nc floats of scratch. */
static void pack_b(const gemm_job *jb, const float *xg, int64_t k0, int64_t kc, int64_t j0, int64_t nc, float *row,
                   float *bp)
{
    const win_geom *g = jb->g;
    const int nr = jb->tk.nr;
    if (jb->direct) {
        float *dst = bp;
        for (int64_t p = 0; p * nr < nc; p++) {
            const int64_t w = nc - p * nr < nr ? nc - p * nr : nr;
            for (int64_t t = 0; t < kc; t++, dst += nr) panel_row(dst, xg + (k0 + t) * g->in_size + j0 + p * nr, 1, w, nr);
        }
        return;
    }
    if (g->nd <= 2) {
        pack_b_2d(jb, xg, k0, kc, j0, nc, bp);
        return;
    }
    const int64_t np = (nc + nr - 1) / nr;
    for (int64_t t = 0; t < kc; t++) {
        int64_t kidx[OC_MAX_DIMS], r = (k0 + t) % g->k_size;
        for (int i = g->nd - 1; i >= 0; i--) {
            kidx[i] = r % g->k[i];
            r /= g->k[i];
        }
        im2col_row(xg + (k0 + t) / g->k_size * g->in_size, g, kidx, j0, j0 + nc, row);
        for (int64_t p = 0; p < np; p++) {
            const int64_t w = nc - p * nr < nr ? nc - p * nr : nr;
            panel_row(bp + (p * kc + t) * nr, row + p * nr, 1, w, nr);
        }
    }
}

/* Task `task` of a convolution: (image, group, column block, row block). */
static void gemm_task(const gemm_job *jb, int64_t task, float *row, float *bp)
{
    const int64_t mb = task % jb->mcb, cb = task / jb->mcb % jb->ncb, ng = task / jb->mcb / jb->ncb;
    const int64_t n = ng / jb->group, gr = ng % jb->group;
    const float *xg = jb->x + (n * jb->C + gr * jb->Cg) * jb->g->in_size;
    const float *wg = jb->w + gr * jb->Mg * jb->K;
    const float *bg = jb->b ? jb->b + gr * jb->Mg : NULL;
    float *yg = jb->y + (n * jb->M + gr * jb->Mg) * jb->N;
    const int64_t j0 = cb * GEMM_NC, nc = jb->N - j0 < GEMM_NC ? jb->N - j0 : GEMM_NC;
    const int64_t i0 = mb * jb->mc, i1 = i0 + jb->mc < jb->Mg ? i0 + jb->mc : jb->Mg;
    const int nr = jb->tk.nr, mr = jb->tk.mr;
    if (jb->K == 0) {
        for (int64_t i = i0; i < i1; i++)
            for (int64_t j = j0; j < j0 + nc; j++) yg[i * jb->N + j] = bg ? bg[i] : 0.0f;
        return;
    }
    for (int64_t k0 = 0; k0 < jb->K; k0 += GEMM_KC) {
        const int64_t kc = jb->K - k0 < GEMM_KC ? jb->K - k0 : GEMM_KC;
        pack_b(jb, xg, k0, kc, j0, nc, row, bp);
        for (int64_t i = i0; i < i1; i += mr) {
            const int m = (int)(i1 - i < mr ? i1 - i : mr);
            for (int64_t p = 0; p * nr < nc; p++) {
                const int w = (int)(nc - p * nr < nr ? nc - p * nr : nr);
                run_tile(&jb->tk, wg + i * jb->K + k0, jb->K, bp + p * kc * nr, kc, yg + i * jb->N + j0 + p * nr,
                         jb->N, m, w, bg ? bg + i : NULL, k0 > 0);
            }
        }
    }
}

typedef struct gemm_worker {
    const gemm_job *jb;
    int64_t t0, t1;  /* tasks [t0, t1) */
    float *buf;      /* scratch: one B block and one im2col row */
} gemm_worker;

static void *gemm_worker_main(void *arg)
{
    const gemm_worker *wk = arg;
    float *bp = wk->buf, *row = wk->buf + GEMM_KC * GEMM_NC;
    for (int64_t t = wk->t0; t < wk->t1; t++) gemm_task(wk->jb, t, row, bp);
    return NULL;
}

/* Threads for `work` multiply-adds: all of k->threads (0 = one per core)
 * when there is enough to share. */
static int64_t conv_threads(const oc_kctx *k, int64_t work)
{
    int64_t nt = k->threads > 0 ? k->threads : sysconf(_SC_NPROCESSORS_ONLN);
    if (nt > CONV_MAX_THREADS) nt = CONV_MAX_THREADS;
    if (nt > work / CONV_GRAIN) nt = work / CONV_GRAIN;
    return nt < 1 ? 1 : nt;
}

static oc_status conv_gemm(oc_kctx *k, const win_geom *g, const float *x, const float *w, const float *b, int64_t N,
                           int64_t C, int64_t M, int64_t group, float *y)
{
    gemm_job jb = {.g = g, .x = x, .w = w, .b = b, .y = y, .C = C, .M = M, .group = group};
    jb.Cg = C / group;
    jb.Mg = M / group;
    jb.K = jb.Cg * g->k_size;
    jb.N = g->out_size;
    jb.direct = g->k_size == 1;
    for (int i = 0; i < g->nd; i++) jb.direct = jb.direct && g->s[i] == 1 && g->pb[i] == 0 && g->pe[i] == 0;
    jb.tk = pick_tile_kernel();
    jb.ncb = (jb.N + GEMM_NC - 1) / GEMM_NC;
    int64_t work = 0;
    if (oc_mul_overflow_i64(N * M, jb.N, &work) || oc_mul_overflow_i64(work, jb.K > 0 ? jb.K : 1, &work))
        return oc_kfail(k, OC_ERR_UNSUPPORTED, "convolution too large");
    const int64_t nt = conv_threads(k, work);
    /* rows split too when columns alone do not give every thread work */
    const int64_t col_tasks = N * group * jb.ncb;
    const int64_t row_blocks = (jb.Mg + jb.tk.mr - 1) / jb.tk.mr;
    jb.mcb = nt > 1 && col_tasks < 2 * nt ? (2 * nt + col_tasks - 1) / col_tasks : 1;
    if (jb.mcb > row_blocks) jb.mcb = row_blocks > 0 ? row_blocks : 1;
    jb.mc = (row_blocks + jb.mcb - 1) / jb.mcb * jb.tk.mr;
    jb.mcb = jb.Mg > 0 ? (jb.Mg + jb.mc - 1) / jb.mc : 1;
    const int64_t tasks = col_tasks * jb.mcb;
    const size_t buf_floats = (size_t)GEMM_KC * GEMM_NC + GEMM_NC;
    gemm_worker wk[CONV_MAX_THREADS];
    pthread_t th[CONV_MAX_THREADS];
    bool started[CONV_MAX_THREADS] = {false};
    const int64_t nw = nt < tasks ? nt : tasks;
    oc_status st = OC_OK;
    for (int64_t i = 0; i < nw; i++) {
        wk[i] = (gemm_worker){&jb, tasks * i / nw, tasks * (i + 1) / nw, NULL};
        wk[i].buf = oc_aligned_alloc(64, buf_floats * sizeof(float));
        if (!wk[i].buf) {
            st = oc_kfail(k, OC_ERR_NOMEM, "out of memory for convolution scratch");
            for (int64_t j = 0; j < i; j++) oc_aligned_free(wk[j].buf);
            return st;
        }
    }
    for (int64_t i = 1; i < nw; i++) started[i] = pthread_create(&th[i], NULL, gemm_worker_main, &wk[i]) == 0;
    if (nw > 0) gemm_worker_main(&wk[0]);
    for (int64_t i = 1; i < nw; i++) {
        if (started[i]) pthread_join(th[i], NULL);
        else gemm_worker_main(&wk[i]);
    }
    for (int64_t i = 0; i < nw; i++) oc_aligned_free(wk[i].buf);
    return st;
}

#define DW_MAX_KW 64

/* Depthwise 2-D: one input channel per group, M = C * multiplier. Rows of
 * the output accumulate whole shifted input rows (vectorizable). */
static void conv_depthwise2d(const win_geom *g, const float *x, const float *w, const float *b, int64_t N, int64_t C,
                             int64_t M, float *y)
{
    const int64_t mult = M / C, IH = g->in[0], IW = g->in[1], OH = g->out[0], OW = g->out[1];
    const int64_t KH = g->k[0], KW = g->k[1], sh = g->s[0], sw = g->s[1], dh = g->d[0], dw = g->d[1];
    const int64_t ph = g->pb[0], pw = g->pb[1];
    int64_t lo[DW_MAX_KW], hi[DW_MAX_KW];
    for (int64_t kw = 0; kw < KW; kw++) valid_range(kw * dw - pw, sw, IW, OW, &lo[kw], &hi[kw]);
    for (int64_t n = 0; n < N; n++) {
        for (int64_t m = 0; m < M; m++) {
            const float *xc = x + (n * C + m / mult) * IH * IW;
            const float *wm = w + m * KH * KW;
            float *ym = y + (n * M + m) * OH * OW;
            const float bias = b ? b[m] : 0.0f;
            for (int64_t oh = 0; oh < OH; oh++) {
                float *yr = ym + oh * OW;
                for (int64_t ow = 0; ow < OW; ow++) yr[ow] = bias;
                for (int64_t kh = 0; kh < KH; kh++) {
                    const int64_t ih = oh * sh + kh * dh - ph;
                    if (ih < 0 || ih >= IH) continue;
                    const float *xr = xc + ih * IW;
                    for (int64_t kw = 0; kw < KW; kw++) {
                        const float wv = wm[kh * KW + kw];
                        const int64_t a = lo[kw];
                        /* outputs a.. read the input from a * sw + kw * dw - pw on */
                        const float *xs = xr + a * sw + kw * dw - pw;
                        if (sw == 1) oc_nn_axpy(yr + a, xs, wv, hi[kw] - a);
                        else oc_nn_axpy_strided(yr + a, xs, wv, hi[kw] - a, sw);
                    }
                }
            }
        }
    }
}

/* kernel_shape, when given, must be the weight's spatial shape. */
static oc_status check_kernel_shape(oc_kctx *k, const oc_ten *w)
{
    const int64_t *ks = NULL;
    int64_t nk = oc_attr_ints(k->node, "kernel_shape", &ks);
    if (nk < 0) return OC_OK;
    if (nk != w->ndim - 2)
        return oc_kfail(k, OC_ERR_INVALID, "kernel_shape has %lld values for a rank-%d weight", (long long)nk, w->ndim);
    for (int64_t i = 0; i < nk; i++)
        if (ks[i] != w->dims[2 + i])
            return oc_kfail(k, OC_ERR_INVALID, "kernel_shape[%lld] = %lld but the weight has %lld", (long long)i,
                            (long long)ks[i], (long long)w->dims[2 + i]);
    return OC_OK;
}

oc_status oc_nn_conv_prepare(oc_kctx *k)
{
    FORWARD_IF_ERROR(check_window_attrs(k, false));
    if (oc_attr_int(k->node, "group", 1) < 1) return oc_kfail(k, OC_ERR_INVALID, "group < 1");
    if (k->node->n_inputs < 2) return oc_kfail(k, OC_ERR_INVALID, "needs X and W");
    return OC_OK;
}

oc_status oc_nn_conv_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    const oc_ten *x = in[0], *w = n_in > 1 ? in[1] : NULL, *b = n_in > 2 ? in[2] : NULL;
    if (!x || !w) return oc_kfail(k, OC_ERR_INVALID, "needs X and W");
    FORWARD_IF_ERROR(need_float(k, x, "X"));
    FORWARD_IF_ERROR(need_float(k, w, "W"));
    FORWARD_IF_ERROR(need_float(k, b, "B"));
    if (x->ndim < 3 || w->ndim != x->ndim)
        return oc_kfail(k, OC_ERR_INVALID, "X of rank %d and W of rank %d", x->ndim, w->ndim);
    const int nd = x->ndim - 2;
    const int64_t group = oc_attr_int(k->node, "group", 1);
    const int64_t N = x->dims[0], C = x->dims[1], M = w->dims[0], Cg = w->dims[1];
    if (group < 1 || Cg * group != C || M % group)
        return oc_kfail(k, OC_ERR_INVALID, "X has %lld channels, W is %lld x %lld, group %lld", (long long)C,
                        (long long)M, (long long)Cg, (long long)group);
    if (b && b->numel != M)
        return oc_kfail(k, OC_ERR_INVALID, "B has %lld values for %lld filters", (long long)b->numel, (long long)M);
    FORWARD_IF_ERROR(check_kernel_shape(k, w));
    win_geom g;
    FORWARD_IF_ERROR(window_geom(k, &g, nd, x->dims + 2, w->dims + 2, false, true));
    int64_t ydims[OC_MAX_DIMS] = {N, M};
    for (int i = 0; i < nd; i++) ydims[2 + i] = g.out[i];
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], OC_DTYPE_FLOAT, x->ndim, ydims));
    if (out[0].numel == 0) return OC_OK;
    const float *xf = x->data, *wf = w->data, *bf = b ? b->data : NULL;
    if (nd == 2 && Cg == 1 && group == C && group > 1 && g.k[1] <= DW_MAX_KW) {
        conv_depthwise2d(&g, xf, wf, bf, N, C, M, out[0].data);
        return OC_OK;
    }
    return conv_gemm(k, &g, xf, wf, bf, N, C, M, group, out[0].data);
}

/* ---- ConvTranspose ---- */

oc_status oc_nn_convtranspose_prepare(oc_kctx *k)
{
    FORWARD_IF_ERROR(check_window_attrs(k, false));
    if (oc_attr_int(k->node, "group", 1) < 1) return oc_kfail(k, OC_ERR_INVALID, "group < 1");
    if (k->node->n_inputs < 2) return oc_kfail(k, OC_ERR_INVALID, "needs X and W");
    const int64_t *op = NULL;
    int64_t nop = oc_attr_ints(k->node, "output_padding", &op);
    for (int64_t i = 0; i < nop; i++)
        if (op[i] < 0)
            return oc_kfail(k, OC_ERR_INVALID, "output_padding[%lld] = %lld", (long long)i, (long long)op[i]);
    return OC_OK;
}

/* Output size and pads of ConvTranspose: from output_shape (pads derived),
 * from auto_pad SAME_* (output = input * stride), or from pads. */
static oc_status transpose_geom(oc_kctx *k, win_geom *g, int nd, const int64_t *in_sp, const int64_t *kernel)
{
    int mode;
    int64_t pads[2 * OC_MAX_DIMS], opad[OC_MAX_DIMS], oshape[OC_MAX_DIMS];
    g->nd = nd;
    FORWARD_IF_ERROR(get_auto_pad(k, &mode));
    FORWARD_IF_ERROR(ints_n(k, "strides", nd, 1, g->s));
    FORWARD_IF_ERROR(ints_n(k, "dilations", nd, 1, g->d));
    FORWARD_IF_ERROR(ints_n(k, "pads", 2 * nd, 0, pads));
    FORWARD_IF_ERROR(ints_n(k, "output_padding", nd, 0, opad));
    const int64_t *os = NULL;
    int64_t nos = oc_attr_ints(k->node, "output_shape", &os);
    if (nos >= 0) {
        /* the spatial shape, possibly preceded by N and C */
        if (nos != nd && nos != nd + 2)
            return oc_kfail(k, OC_ERR_INVALID, "output_shape has %lld values for %d spatial axes", (long long)nos, nd);
        memcpy(oshape, os + (nos - nd), (size_t)nd * sizeof(int64_t));
    }
    for (int i = 0; i < nd; i++) {
        const int64_t in = in_sp[i], kk = kernel[i], s = g->s[i], d = g->d[i];
        if (s < 1 || d < 1 || kk < 1 || s > INT32_MAX || d > INT32_MAX || kk > INT32_MAX || opad[i] < 0)
            return oc_kfail(k, OC_ERR_INVALID, "axis %d: kernel %lld, stride %lld, dilation %lld", i, (long long)kk,
                            (long long)s, (long long)d);
        const int64_t full = s * (in - 1) + opad[i] + (kk - 1) * d + 1;
        g->in[i] = in;
        g->k[i] = kk;
        if (nos >= 0 || mode == PAD_SAME_UPPER || mode == PAD_SAME_LOWER) {
            g->out[i] = nos >= 0 ? oshape[i] : in * s;
            const int64_t total = full - g->out[i];
            if (mode == PAD_SAME_UPPER) {
                g->pb[i] = floordiv(total, 2);
                g->pe[i] = total - g->pb[i];
            } else {
                g->pe[i] = floordiv(total, 2);
                g->pb[i] = total - g->pe[i];
            }
        } else {
            g->pb[i] = mode == PAD_VALID ? 0 : pads[i];
            g->pe[i] = mode == PAD_VALID ? 0 : pads[nd + i];
            g->out[i] = full - g->pb[i] - g->pe[i];
        }
        if (g->out[i] < 1) return oc_kfail(k, OC_ERR_INVALID, "axis %d: output size %lld", i, (long long)g->out[i]);
    }
    return geom_sizes(k, g);
}

/* Adds columns [Mg * k_size, j1 - j0] (input positions [j0, j1)) into the
 * output planes y[Mg][out_size]. */
static void col2im(const float *col, const win_geom *g, int64_t Mg, int64_t j0, int64_t j1, float *y)
{
    const int last = g->nd - 1;
    const int64_t IW = g->in[last], OW = g->out[last], sw = g->s[last];
    int64_t kidx[OC_MAX_DIMS];
    const float *src = col;
    for (int64_t m = 0; m < Mg; m++) {
        float *ym = y + m * g->out_size;
        memset(kidx, 0, sizeof(kidx));
        for (int64_t kk = 0; kk < g->k_size; kk++) {
            const int64_t off = kidx[last] * g->d[last] - g->pb[last];
            int64_t ii[OC_MAX_DIMS], r = j0;
            for (int i = last; i >= 0; i--) {
                ii[i] = r % g->in[i];
                r /= g->in[i];
            }
            for (int64_t j = j0; j < j1;) {
                int64_t n = IW - ii[last];
                if (n > j1 - j) n = j1 - j;
                int64_t base = 0;
                bool inside = true;
                for (int i = 0; i < last; i++) {
                    int64_t p = ii[i] * g->s[i] + kidx[i] * g->d[i] - g->pb[i];
                    if (p < 0 || p >= g->out[i]) {
                        inside = false;
                        break;
                    }
                    base = base * g->out[i] + p;
                }
                if (inside) {
                    int64_t lo, hi;
                    valid_range(ii[last] * sw + off, sw, OW, n, &lo, &hi);
                    if (hi > lo) {
                        float *yr = ym + base * OW + (ii[last] + lo) * sw + off; /* under input lo */
                        for (int64_t t = lo; t < hi; t++) yr[(t - lo) * sw] += src[t];
                    }
                }
                src += n;
                j += n;
                ii[last] += n;
                if (ii[last] == IW) {
                    ii[last] = 0;
                    advance(ii, g->in, last);
                }
            }
            advance(kidx, g->k, g->nd);
        }
    }
}

oc_status oc_nn_convtranspose_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    const oc_ten *x = in[0], *w = n_in > 1 ? in[1] : NULL, *b = n_in > 2 ? in[2] : NULL;
    if (!x || !w) return oc_kfail(k, OC_ERR_INVALID, "needs X and W");
    FORWARD_IF_ERROR(need_float(k, x, "X"));
    FORWARD_IF_ERROR(need_float(k, w, "W"));
    FORWARD_IF_ERROR(need_float(k, b, "B"));
    if (x->ndim < 3 || w->ndim != x->ndim)
        return oc_kfail(k, OC_ERR_INVALID, "X of rank %d and W of rank %d", x->ndim, w->ndim);
    const int nd = x->ndim - 2;
    const int64_t group = oc_attr_int(k->node, "group", 1);
    const int64_t N = x->dims[0], C = x->dims[1], Mg = w->dims[1];
    if (group < 1 || w->dims[0] != C || C % group)
        return oc_kfail(k, OC_ERR_INVALID, "X has %lld channels, W is %lld x %lld, group %lld", (long long)C,
                        (long long)w->dims[0], (long long)Mg, (long long)group);
    const int64_t M = Mg * group, Cg = C / group;
    if (b && b->numel != M)
        return oc_kfail(k, OC_ERR_INVALID, "B has %lld values for %lld outputs", (long long)b->numel, (long long)M);
    FORWARD_IF_ERROR(check_kernel_shape(k, w));
    win_geom g;
    FORWARD_IF_ERROR(transpose_geom(k, &g, nd, x->dims + 2, w->dims + 2));
    int64_t ydims[OC_MAX_DIMS] = {N, M};
    for (int i = 0; i < nd; i++) ydims[2 + i] = g.out[i];
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], OC_DTYPE_FLOAT, x->ndim, ydims));
    if (out[0].numel == 0) return OC_OK;
    const int64_t rows = Mg * g.k_size, IN = g.in_size, OUT = g.out_size;
    if (rows > INT_MAX || IN > INT_MAX || Cg > INT_MAX)
        return oc_kfail(k, OC_ERR_UNSUPPORTED, "transposed convolution too large for BLAS");
    const float *xf = x->data, *wf = w->data, *bf = b ? b->data : NULL;
    float *y = out[0].data;
    if (rows > 0 && IN > 0 && Cg > 0) {
        const int64_t chunk = col_chunk(rows, IN);
        float *col = oc_aligned_alloc(64, (size_t)(rows * chunk) * sizeof(float));
        if (!col) return oc_kfail(k, OC_ERR_NOMEM, "out of memory for %lld columns", (long long)(rows * chunk));
        for (int64_t n = 0; n < N; n++) {
            for (int64_t gr = 0; gr < group; gr++) {
                const float *xg = xf + (n * C + gr * Cg) * IN;
                const float *wg = wf + gr * Cg * rows;
                float *yg = y + (n * M + gr * Mg) * OUT;
                for (int64_t j0 = 0; j0 < IN; j0 += chunk) {
                    const int64_t len = IN - j0 < chunk ? IN - j0 : chunk;
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)rows, (int)len, (int)Cg, 1.0f, wg,
                                (int)rows, xg + j0, (int)IN, 0.0f, col, (int)len);
                    col2im(col, &g, Mg, j0, j0 + len, yg);
                }
            }
        }
        oc_aligned_free(col);
    }
    if (bf)
        for (int64_t n = 0; n < N; n++)
            for (int64_t m = 0; m < M; m++) {
                float *row = y + (n * M + m) * OUT;
                for (int64_t j = 0; j < OUT; j++) row[j] += bf[m];
            }
    return OC_OK;
}

/* ---- pooling ---- */

enum { POOL_MAX, POOL_AVG, POOL_LP };

typedef struct pool_job {
    int kind;
    bool count_pad;          /* AveragePool count_include_pad */
    double p;                /* LpPool */
    /* 3-D view: leading axes of size 1 when there are fewer */
    int64_t in[3], out[3], k[3], s[3], d[3], pb[3];
    /* per axis and output index: taps [lo, hi) inside the input, and the
     * taps inside the padded input (count_include_pad) */
    int64_t *lo[3], *hi[3], *cp[3];
} pool_job;

static oc_status pool_job_init(oc_kctx *k, pool_job *j, const win_geom *g, int64_t **buf)
{
    const int sh = 3 - g->nd;
    int64_t total = 0;
    for (int i = 0; i < 3; i++) {
        const int a = i - sh;
        j->in[i] = a >= 0 ? g->in[a] : 1;
        j->out[i] = a >= 0 ? g->out[a] : 1;
        j->k[i] = a >= 0 ? g->k[a] : 1;
        j->s[i] = a >= 0 ? g->s[a] : 1;
        j->d[i] = a >= 0 ? g->d[a] : 1;
        j->pb[i] = a >= 0 ? g->pb[a] : 0;
        total += 3 * j->out[i];
    }
    *buf = oc_malloc((size_t)total * sizeof(int64_t));
    if (!*buf) return oc_kfail(k, OC_ERR_NOMEM, "out of memory");
    int64_t *p = *buf;
    for (int i = 0; i < 3; i++) {
        const int a = i - sh;
        const int64_t padded_end = j->in[i] + (a >= 0 ? g->pe[a] : 0);
        j->lo[i] = p;
        j->hi[i] = p + j->out[i];
        j->cp[i] = p + 2 * j->out[i];
        p += 3 * j->out[i];
        for (int64_t o = 0; o < j->out[i]; o++) {
            const int64_t start = o * j->s[i] - j->pb[i];
            valid_range(start, j->d[i], j->in[i], j->k[i], &j->lo[i][o], &j->hi[i][o]);
            int64_t lo2, hi2;
            valid_range(start + j->pb[i], j->d[i], padded_end + j->pb[i], j->k[i], &lo2, &hi2);
            j->cp[i][o] = hi2 - lo2;
        }
    }
    return OC_OK;
}

/* Pools one (n, c) plane. idx (MaxPool Indices) gets the flat index of the
 * maximum in the whole input: base + row-major (or, with col_major,
 * column-major) position within the plane. */
static void pool_plane(const pool_job *j, const float *x, float *y, int64_t *idx, int64_t base, bool col_major)
{
    const int64_t ID = j->in[0], IH = j->in[1], IW = j->in[2];
    float *yp = y;
    for (int64_t od = 0; od < j->out[0]; od++) {
        const int64_t d0 = od * j->s[0] - j->pb[0];
        for (int64_t oh = 0; oh < j->out[1]; oh++) {
            const int64_t h0 = oh * j->s[1] - j->pb[1];
            for (int64_t ow = 0; ow < j->out[2]; ow++, yp++) {
                const int64_t w0 = ow * j->s[2] - j->pb[2];
                const int64_t wlo = j->lo[2][ow], whi = j->hi[2][ow], dw = j->d[2];
                if (j->kind == POOL_MAX) {
                    float m = -INFINITY;
                    int64_t best = -1; /* row-major position in the plane */
                    for (int64_t td = j->lo[0][od]; td < j->hi[0][od]; td++) {
                        const int64_t id = d0 + td * j->d[0];
                        for (int64_t th = j->lo[1][oh]; th < j->hi[1][oh]; th++) {
                            const int64_t rowpos = (id * IH + h0 + th * j->d[1]) * IW + w0;
                            if (!idx) {
                                for (int64_t tw = wlo; tw < whi; tw++) {
                                    const float v = x[rowpos + tw * dw];
                                    m = v > m ? v : m;
                                }
                                continue;
                            }
                            for (int64_t tw = wlo; tw < whi; tw++)
                                if (x[rowpos + tw * dw] > m || best < 0) {
                                    m = x[rowpos + tw * dw];
                                    best = rowpos + tw * dw;
                                }
                        }
                    }
                    *yp = m;
                    if (idx) {
                        int64_t pos = best;
                        if (col_major && best >= 0) {
                            const int64_t iw = best % IW, ih = best / IW % IH, id = best / (IW * IH);
                            pos = id + ih * ID + iw * ID * IH;
                        }
                        idx[yp - y] = best < 0 ? -1 : base + pos;
                    }
                    continue;
                }
                double acc = 0;
                for (int64_t td = j->lo[0][od]; td < j->hi[0][od]; td++) {
                    const int64_t id = d0 + td * j->d[0];
                    for (int64_t th = j->lo[1][oh]; th < j->hi[1][oh]; th++) {
                        const int64_t rowpos = (id * IH + h0 + th * j->d[1]) * IW + w0;
                        if (j->kind == POOL_AVG) {
                            float s = 0;
                            for (int64_t tw = wlo; tw < whi; tw++) s += x[rowpos + tw * dw];
                            acc += s;
                        } else {
                            for (int64_t tw = wlo; tw < whi; tw++) {
                                const double v = fabs(x[rowpos + tw * dw]);
                                acc += j->p == 2 ? v * v : j->p == 1 ? v : pow(v, j->p);
                            }
                        }
                    }
                }
                if (j->kind == POOL_AVG) {
                    int64_t cnt = j->count_pad ? j->cp[0][od] * j->cp[1][oh] * j->cp[2][ow]
                                               : (j->hi[0][od] - j->lo[0][od]) * (j->hi[1][oh] - j->lo[1][oh]) *
                                                     (whi - wlo);
                    *yp = cnt > 0 ? (float)(acc / (double)cnt) : 0.0f;
                } else {
                    *yp = (float)(j->p == 2 ? sqrt(acc) : j->p == 1 ? acc : pow(acc, 1.0 / j->p));
                }
            }
        }
    }
}

/* LpPool's and GlobalLpPool's p: a float before opset 2, an int after. */
static double attr_p(const oc_node *n)
{
    const oc_attr *a = oc_node_attr(n, "p");
    if (!a) return 2.0;
    if (a->type == OC_ATTR_FLOAT || (!a->has_i && a->has_f)) return a->f;
    return (double)a->i;
}

oc_status oc_nn_pool_prepare(oc_kctx *k)
{
    const char *op = k->node->op_type;
    FORWARD_IF_ERROR(check_window_attrs(k, true));
    int64_t ceil_mode = oc_attr_int(k->node, "ceil_mode", 0);
    if (ceil_mode != 0 && ceil_mode != 1) return oc_kfail(k, OC_ERR_INVALID, "ceil_mode %lld", (long long)ceil_mode);
    if (!strcmp(op, "MaxPool")) {
        int64_t so = oc_attr_int(k->node, "storage_order", 0);
        if (so != 0 && so != 1) return oc_kfail(k, OC_ERR_INVALID, "storage_order %lld", (long long)so);
    }
    if (!strcmp(op, "LpPool")) {
        double p = attr_p(k->node);
        if (!(p > 0) || isinf(p)) return oc_kfail(k, OC_ERR_UNSUPPORTED, "p = %g", p);
    }
    return OC_OK;
}

static oc_status pool_run(oc_kctx *k, const oc_ten *x, oc_ten *out, size_t n_out, int kind)
{
    const oc_node *node = k->node;
    if (!x) return oc_kfail(k, OC_ERR_INVALID, "needs X");
    const bool small_int = kind == POOL_MAX && (x->dtype == OC_DTYPE_UINT8 || x->dtype == OC_DTYPE_INT8);
    if (!small_int) FORWARD_IF_ERROR(need_float(k, x, "X"));
    if (x->ndim < 3) return oc_kfail(k, OC_ERR_INVALID, "X of rank %d", x->ndim);
    const int nd = x->ndim - 2;
    if (nd > 3) return oc_kfail(k, OC_ERR_UNSUPPORTED, "pooling over %d spatial axes (at most 3)", nd);
    int64_t kernel[OC_MAX_DIMS];
    FORWARD_IF_ERROR(ints_n(k, "kernel_shape", nd, 0, kernel));
    const bool ceil_mode = oc_attr_int(node, "ceil_mode", 0) != 0;
    /* dilations: MaxPool from 10, AveragePool from 19, LpPool from 18 */
    const bool dil = kind == POOL_MAX || (kind == POOL_AVG && k->opset >= 19) || (kind == POOL_LP && k->opset >= 18);
    win_geom g;
    FORWARD_IF_ERROR(window_geom(k, &g, nd, x->dims + 2, kernel, ceil_mode, dil));
    pool_job j;
    memset(&j, 0, sizeof(j));
    j.kind = kind;
    j.count_pad = oc_attr_int(node, "count_include_pad", 0) != 0;
    j.p = attr_p(node);
    int64_t ydims[OC_MAX_DIMS] = {x->dims[0], x->dims[1]};
    for (int i = 0; i < nd; i++) ydims[2 + i] = g.out[i];
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], x->dtype, x->ndim, ydims));
    const bool want_idx = kind == POOL_MAX && n_out > 1 && node->n_outputs > 1 && node->outputs[1][0];
    if (want_idx) FORWARD_IF_ERROR(oc_ten_alloc(k, &out[1], OC_DTYPE_INT64, x->ndim, ydims));
    const int64_t planes = x->dims[0] * x->dims[1];
    if (out[0].numel == 0) return OC_OK;
    int64_t *buf = NULL;
    FORWARD_IF_ERROR(pool_job_init(k, &j, &g, &buf));
    float *xf = x->data, *yf = out[0].data, *tmp = NULL;
    if (small_int) {
        /* 8-bit values are exact in float: pool there and convert back */
        tmp = oc_malloc((size_t)(x->numel + out[0].numel) * sizeof(float));
        if (!tmp) {
            oc_free(buf);
            return oc_kfail(k, OC_ERR_NOMEM, "out of memory");
        }
        const unsigned char *src = x->data;
        for (int64_t i = 0; i < x->numel; i++)
            tmp[i] = x->dtype == OC_DTYPE_UINT8 ? (float)src[i] : (float)(int8_t)src[i];
        xf = tmp;
        yf = tmp + x->numel;
    }
    const bool col_major = oc_attr_int(node, "storage_order", 0) == 1;
    int64_t *idx = want_idx ? out[1].data : NULL;
    for (int64_t p = 0; p < planes; p++)
        pool_plane(&j, xf + p * g.in_size, yf + p * g.out_size, idx ? idx + p * g.out_size : NULL, p * g.in_size,
                   col_major);
    if (small_int) {
        unsigned char *dst = out[0].data;
        const float lo = x->dtype == OC_DTYPE_UINT8 ? 0.0f : -128.0f;
        for (int64_t i = 0; i < out[0].numel; i++) {
            float v = yf[i] < lo ? lo : yf[i];
            dst[i] = x->dtype == OC_DTYPE_UINT8 ? (unsigned char)v : (unsigned char)(int8_t)v;
        }
        oc_free(tmp);
    }
    oc_free(buf);
    return OC_OK;
}

oc_status oc_nn_maxpool_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    return pool_run(k, n_in ? in[0] : NULL, out, n_out, POOL_MAX);
}

oc_status oc_nn_avgpool_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    return pool_run(k, n_in ? in[0] : NULL, out, n_out, POOL_AVG);
}

oc_status oc_nn_lppool_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    return pool_run(k, n_in ? in[0] : NULL, out, n_out, POOL_LP);
}

static oc_status global_pool(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, int kind)
{
    const oc_ten *x = n_in ? in[0] : NULL;
    if (!x) return oc_kfail(k, OC_ERR_INVALID, "needs X");
    FORWARD_IF_ERROR(need_float(k, x, "X"));
    if (x->ndim < 2) return oc_kfail(k, OC_ERR_INVALID, "X of rank %d", x->ndim);
    int64_t ydims[OC_MAX_DIMS];
    int64_t plane = 1;
    for (int i = 0; i < x->ndim; i++) {
        ydims[i] = i < 2 ? x->dims[i] : 1;
        if (i >= 2) plane *= x->dims[i];
    }
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], OC_DTYPE_FLOAT, x->ndim, ydims));
    const double p = kind == POOL_LP ? attr_p(k->node) : 0;
    if (kind == POOL_LP && !(p > 0)) return oc_kfail(k, OC_ERR_UNSUPPORTED, "p = %g", p);
    const float *xf = x->data;
    float *y = out[0].data;
    for (int64_t c = 0; c < out[0].numel; c++) {
        const float *xp = xf + c * plane;
        if (kind == POOL_MAX) {
            float m = plane ? xp[0] : -INFINITY;
            for (int64_t i = 1; i < plane; i++) m = xp[i] > m ? xp[i] : m;
            y[c] = m;
        } else if (kind == POOL_AVG) {
            double s = 0;
            for (int64_t i = 0; i < plane; i++) s += xp[i];
            y[c] = plane ? (float)(s / (double)plane) : 0.0f;
        } else {
            double s = 0;
            for (int64_t i = 0; i < plane; i++) s += p == 2 ? (double)xp[i] * xp[i] : pow(fabs(xp[i]), p);
            y[c] = (float)(p == 2 ? sqrt(s) : pow(s, 1.0 / p));
        }
    }
    return OC_OK;
}

oc_status oc_nn_global_avgpool_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    return global_pool(k, in, n_in, out, POOL_AVG);
}

oc_status oc_nn_global_maxpool_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    return global_pool(k, in, n_in, out, POOL_MAX);
}

oc_status oc_nn_global_lppool_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    return global_pool(k, in, n_in, out, POOL_LP);
}

/* ---- MaxUnpool ---- */

oc_status oc_nn_maxunpool_prepare(oc_kctx *k)
{
    FORWARD_IF_ERROR(check_window_attrs(k, true));
    if (k->node->n_inputs < 2) return oc_kfail(k, OC_ERR_INVALID, "needs X and I");
    return OC_OK;
}

/* y = zeros(shape); y.flat[I[j]] = X[j] where the indices count positions
 * in the shape a MaxPool with these attributes inverts: (in - 1) * stride +
 * kernel - pads on each spatial axis. An output_shape input changes the
 * output's shape; values keep their coordinates. */
oc_status oc_nn_maxunpool_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    const oc_ten *x = in[0], *ind = n_in > 1 ? in[1] : NULL, *shape = n_in > 2 ? in[2] : NULL;
    if (!x || !ind) return oc_kfail(k, OC_ERR_INVALID, "needs X and I");
    if (oc_ten_elem_size(x->dtype) == 0)
        return oc_kfail(k, OC_ERR_UNSUPPORTED, "X of type %s", oc_dtype_name(x->dtype));
    if (ind->dtype != OC_DTYPE_INT64) return oc_kfail(k, OC_ERR_INVALID, "I of type %s", oc_dtype_name(ind->dtype));
    if (x->ndim < 3 || ind->numel != x->numel)
        return oc_kfail(k, OC_ERR_INVALID, "X of rank %d, I of %lld values", x->ndim, (long long)ind->numel);
    const int r = x->ndim, nd = r - 2;
    int64_t kernel[OC_MAX_DIMS], strides[OC_MAX_DIMS], pads[2 * OC_MAX_DIMS], idims[OC_MAX_DIMS], ydims[OC_MAX_DIMS];
    FORWARD_IF_ERROR(ints_n(k, "kernel_shape", nd, 0, kernel));
    FORWARD_IF_ERROR(ints_n(k, "strides", nd, 1, strides));
    FORWARD_IF_ERROR(ints_n(k, "pads", 2 * nd, 0, pads));
    idims[0] = x->dims[0];
    idims[1] = x->dims[1];
    for (int i = 0; i < nd; i++) idims[2 + i] = (x->dims[2 + i] - 1) * strides[i] + kernel[i] - pads[i] - pads[nd + i];
    memcpy(ydims, idims, sizeof(ydims));
    if (shape) {
        if (shape->numel != r)
            return oc_kfail(k, OC_ERR_INVALID, "output_shape has %lld values for rank %d", (long long)shape->numel, r);
        for (int i = 0; i < r; i++) ydims[i] = oc_ten_get_i64(shape, i);
    }
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], x->dtype, r, ydims));
    int64_t itotal = 1;
    for (int i = 0; i < r; i++) itotal *= idims[i] > 0 ? idims[i] : 0;
    const size_t es = oc_ten_elem_size(x->dtype);
    const int64_t *ip = ind->data;
    const unsigned char *src = x->data;
    unsigned char *dst = out[0].data;
    for (int64_t j = 0; j < x->numel; j++) {
        if (ip[j] < 0 || ip[j] >= itotal)
            return oc_kfail(k, OC_ERR_INVALID, "index %lld outside the %lld unpooled positions", (long long)ip[j],
                            (long long)itotal);
        /* the index's coordinates, placed in the output's shape */
        int64_t rem = ip[j], off = 0, mul = 1;
        bool inside = true;
        for (int i = r - 1; i >= 0; i--) {
            const int64_t c = rem % idims[i];
            rem /= idims[i];
            if (c >= ydims[i]) inside = false;
            off += c * mul;
            mul *= ydims[i];
        }
        if (inside) memcpy(dst + (size_t)off * es, src + (size_t)j * es, es);
    }
    return OC_OK;
}
