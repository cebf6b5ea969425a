/* ops_conv.c: the sliding-window kernels of the nn family: Conv,
 * ConvTranspose, MaxPool, AveragePool, LpPool and the global pools, on
 * float32 (MaxPool also on int8/uint8) in NCHW layout, the convolutions
 * over any number of spatial axes and the pools over 1 to 3; and
 * MaxUnpool, which scatters pooled values back.
 *
 * Conv lowers each group to one matrix product, run on the tile kernel of
 * ops_nn.c over a zero-padded, stride-split copy of the input, so the
 * im2col matrix is never written out (see "Conv as a matrix product"); a
 * 1x1 convolution without stride or pad reads the input as it is. A
 * depthwise convolution (one input channel per group) sums shifted runs of
 * the same copy instead, which beats a product of one-row matrices, and
 * MaxPool and AveragePool over one or two axes take that loop too. Big
 * convolutions split their work across k->threads threads. ConvTranspose
 * is the product transposed: filters times input (cblas_sgemm) gives the
 * columns, which col2im adds into the output.
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

/* Threads one convolution may use, and multiply-adds worth a thread of
 * their own (starting one costs some 40 us). */
#define CONV_MAX_THREADS 16
#define CONV_GRAIN ((int64_t)1 << 23)

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
 * Cg * k_size filter taps and N output positions, B being the im2col
 * matrix, which is never formed. Over one or two spatial axes the input is
 * copied once, zero-padded and split by stride phase (a stride-2 axis
 * becomes two half-size planes, one per parity), so that each row of B is
 * a contiguous run of the copy: tap (c, kh, kw) at output (oh, ow) reads
 * element (oh + kh*dh/sh) * PW + ow + kw*dw/sw of channel c's plane for
 * phase (kh*dh % sh, kw*dw % sw). The output is computed on that PW-wide
 * grid (the columns from OW on are computed and dropped) and the tile
 * kernel reads B straight from the copy through a table of row offsets. A
 * 1x1 convolution without stride or pad reads the input itself. With three
 * or more spatial axes (or strides above 4), blocks of B are packed from
 * im2col rows.
 *
 * The tile kernel keeps an MR x NR block of Y in registers over at most KC
 * taps and reads W in place; the first block of taps starts from the bias,
 * so no pass over Y adds it. Work is cut into tasks (group, block of
 * NC output columns, block of filter rows) that threads share. */

enum { GEMM_KC = 256, GEMM_NC = 512 };

/* A zero-padded copy of input channels, split by stride phase, for a
 * window over one or two spatial axes (one axis = a height of 1): in it,
 * tap (kh, kw) of the window of output (oh, ow) is element oh * pw + ow +
 * phase_tap(kh, kw) of the channel's copy, whatever the pads and strides,
 * so the loops over outputs need no bounds tests and read unit-stride
 * runs. A stride-s axis is split into s interleaved planes (phases); only
 * the phases some tap reads are kept. */
typedef struct phase_geom {
    int64_t ih, iw, pt, pl; /* input size, top and left pads */
    int64_t sh, sw, kh, kw, dh, dw;
    int64_t ph, pw, plane;  /* one phase plane: ph rows of pw */
    int64_t nph, chan;      /* phases kept; floats per channel */
    int64_t phase[16];      /* phase[a * sw + b]: index of phase (a, b) or -1 */
} phase_geom;

/* Fills pg for g; false when the copy does not apply (more than two
 * spatial axes, or a stride above 4). */
static bool phase_geom_init(const win_geom *g, phase_geom *pg)
{
    if (g->nd > 2) return false;
    const int two = g->nd == 2;
    pg->ih = two ? g->in[0] : 1;
    pg->iw = g->in[two];
    pg->pt = two ? g->pb[0] : 0;
    pg->pl = g->pb[two];
    pg->sh = two ? g->s[0] : 1;
    pg->sw = g->s[two];
    pg->kh = two ? g->k[0] : 1;
    pg->kw = g->k[two];
    pg->dh = two ? g->d[0] : 1;
    pg->dw = g->d[two];
    if (pg->sh > 4 || pg->sw > 4) return false;
    /* the padded input, or what the last window reaches (ceil_mode) */
    int64_t padded_h = pg->ih + pg->pt + (two ? g->pe[0] : 0), padded_w = pg->iw + pg->pl + g->pe[two];
    const int64_t reach_h = (two ? g->out[0] - 1 : 0) * pg->sh + (pg->kh - 1) * pg->dh + 1;
    const int64_t reach_w = (g->out[two] - 1) * pg->sw + (pg->kw - 1) * pg->dw + 1;
    if (padded_h < reach_h) padded_h = reach_h;
    if (padded_w < reach_w) padded_w = reach_w;
    pg->ph = (padded_h + pg->sh - 1) / pg->sh;
    pg->pw = (padded_w + pg->sw - 1) / pg->sw;
    pg->plane = pg->ph * pg->pw;
    for (int i = 0; i < 16; i++) pg->phase[i] = -1;
    pg->nph = 0;
    for (int64_t kh = 0; kh < pg->kh; kh++)
        for (int64_t kw = 0; kw < pg->kw; kw++) {
            int64_t *ph = &pg->phase[kh * pg->dh % pg->sh * pg->sw + kw * pg->dw % pg->sw];
            if (*ph < 0) *ph = pg->nph++;
        }
    pg->chan = pg->nph * pg->plane;
    return true;
}

/* Floats to allow past the last channel's copy: a run of up to `run`
 * floats starting at an output of the last row, garbage columns included,
 * reads that far. */
static int64_t phase_slack(const phase_geom *pg, int64_t run)
{
    return pg->pw + run + pg->kw * pg->dw + 64;
}

static int64_t phase_tap(const phase_geom *pg, int64_t kh, int64_t kw)
{
    const int64_t a = kh * pg->dh, b = kw * pg->dw;
    return pg->phase[a % pg->sh * pg->sw + b % pg->sw] * pg->plane + a / pg->sh * pg->pw + b / pg->sw;
}

/* dst[q] = src[q * s] for q < n; the common strides spelled out so they
 * vectorize. */
static inline void gather_stride(float *restrict dst, const float *restrict src, int64_t s, int64_t n)
{
    switch (s) {
    case 1: memcpy(dst, src, (size_t)n * sizeof(float)); break;
    case 2: for (int64_t q = 0; q < n; q++) dst[q] = src[2 * q]; break;
    default: for (int64_t q = 0; q < n; q++) dst[q] = src[q * s]; break;
    }
}

/* The copy of input channel xc into dst (pg->chan floats), the padding
 * (and what lies past it) reading `pad`. */
OC_NN_CLONES static void phase_copy(const phase_geom *pg, const float *xc, float *dst, float pad)
{
    for (int64_t a = 0; a < pg->sh; a++)
        for (int64_t b = 0; b < pg->sw; b++) {
            const int64_t ph = pg->phase[a * pg->sw + b];
            if (ph < 0) continue;
            float *d = dst + ph * pg->plane;
            int64_t lo, hi; /* columns q reading the input: iw = q * sw + b - pl */
            valid_range(b - pg->pl, pg->sw, pg->iw, pg->pw, &lo, &hi);
            for (int64_t r = 0; r < pg->ph; r++, d += pg->pw) {
                const int64_t ih = r * pg->sh + a - pg->pt;
                if (ih < 0 || ih >= pg->ih || hi <= lo) {
                    for (int64_t q = 0; q < pg->pw; q++) d[q] = pad;
                    continue;
                }
                for (int64_t q = 0; q < lo; q++) d[q] = pad;
                gather_stride(d + lo, xc + ih * pg->iw + lo * pg->sw + b - pg->pl, pg->sw, hi - lo);
                for (int64_t q = hi; q < pg->pw; q++) d[q] = pad;
            }
        }
}

/* How one convolution runs (see the section comment). */
typedef struct conv_plan {
    const win_geom *g;
    oc_nn_tile tk;
    int64_t N, C, M, group, Cg, Mg, K;
    int mode;               /* GRID_DIRECT, GRID_PHASES or GRID_PACK */
    int64_t boff_max;       /* GRID_DIRECT: the last of boff */
    /* the grid: ng columns in rows of pw, of which the first ow are outputs */
    int64_t ng, pw, ow, oh;
    phase_geom pg;          /* GRID_PHASES: the input's copy */
    int64_t copy_floats;
    int64_t *boff;          /* K offsets of B's rows within a group's source */
    int64_t seq[GEMM_KC];   /* t * NR: the offsets of a packed panel */
    int64_t kc;             /* taps per block: K split evenly in blocks of at most KC */
    int64_t ncb, mcb, mc;   /* column blocks, row blocks and rows per row block */
} conv_plan;

enum { GRID_DIRECT, GRID_PHASES, GRID_PACK };

/* What the tasks of one image share. */
typedef struct conv_image {
    const conv_plan *pl;
    const float *src;       /* B's source: the input image or its copy */
    int64_t avail;          /* floats readable from src on */
    const float *w, *b;
    float *y;               /* the image's output */
} conv_image;

/* Copies n <= nr values of src into dst and zeroes dst up to nr. */
static inline void panel_row(float *restrict dst, const float *restrict src, int64_t n, int nr)
{
    int64_t u = 0;
    for (; u < n; u++) dst[u] = src[u];
    for (; u < nr; u++) dst[u] = 0.0f;
}

/* GRID_PACK: rows [k0, k0 + kc) and columns [j0, j0 + nc) of B for input
 * channels xg, as panels of nr columns (element (t, j) at bp[((j / nr) * kc
 * + t) * nr + j % nr]), zero past nc; row is nc floats of scratch. */
static void pack_b(const conv_plan *pl, const float *xg, int64_t k0, int64_t kc, int64_t j0, int64_t nc, float *row,
                   float *bp)
{
    const win_geom *g = pl->g;
    const int nr = pl->tk.nr;
    for (int64_t t = 0; t < kc; t++) {
        int64_t kidx[OC_MAX_DIMS], r = (k0 + t) % g->k_size;
        for (int i = g->nd - 1; i >= 0; i--) {
            kidx[i] = r % g->k[i];
            r /= g->k[i];
        }
        im2col_row(xg + (k0 + t) / g->k_size * g->in_size, g, kidx, j0, j0 + nc, row);
        for (int64_t p = 0; p * nr < nc; p++) {
            const int64_t w = nc - p * nr < nr ? nc - p * nr : nr;
            panel_row(bp + (p * kc + t) * nr, row + p * nr, w, nr);
        }
    }
}

/* Task `task` of an image: (group, column block, row block). scratch holds
 * a KC x NC block of B and one im2col row (GRID_PACK), or one packed panel
 * and MR rows of NC outputs. */
static void conv_task(const conv_image *im, int64_t task, float *scratch)
{
    const conv_plan *pl = im->pl;
    const int64_t mb = task % pl->mcb, cb = task / pl->mcb % pl->ncb, gr = task / pl->mcb / pl->ncb;
    const int nr = pl->tk.nr, mr = pl->tk.mr;
    const int64_t j0 = cb * GEMM_NC, nc = pl->ng - j0 < GEMM_NC ? pl->ng - j0 : GEMM_NC;
    const int64_t i0 = mb * pl->mc, i1 = i0 + pl->mc < pl->Mg ? i0 + pl->mc : pl->Mg;
    const int64_t src_off = gr * pl->Cg * (pl->mode == GRID_PHASES ? pl->pg.chan : pl->g->in_size);
    const float *src = im->src + src_off;
    const int64_t avail = im->avail - src_off; /* floats readable from src on */
    const float *wg = im->w + gr * pl->Mg * pl->K;
    const float *bg = im->b ? im->b + gr * pl->Mg : NULL;
    float *yg = im->y + gr * pl->Mg * pl->g->out_size;
    if (pl->mode == GRID_PACK) {
        /* B's blocks are packed once and used by every row block */
        for (int64_t k0 = 0; k0 < pl->K; k0 += pl->kc) {
            const int64_t kc = pl->K - k0 < pl->kc ? pl->K - k0 : pl->kc;
            pack_b(pl, src, k0, kc, j0, nc, scratch + GEMM_KC * GEMM_NC, scratch);
            for (int64_t i = i0; i < i1; i += mr)
                for (int64_t p = 0; p * nr < nc; p++) {
                    const int w = (int)(nc - p * nr < nr ? nc - p * nr : nr);
                    oc_nn_run_tile(&pl->tk, wg + i * pl->K + k0, pl->K, scratch + p * kc * nr, pl->seq, kc,
                                   yg + i * pl->ng + j0 + p * nr, pl->ng, (int)(i1 - i < mr ? i1 - i : mr), w,
                                   bg ? bg + i : NULL, k0 > 0);
                }
        }
        return;
    }
    /* Row blocks outermost: each filter row is read once, front to back,
     * while the block's part of B stays in cache. Off the dense case the
     * rows gather in scratch and only their output columns are stored. */
    const bool dense = pl->pw == pl->ow;
    float *rows = scratch + GEMM_KC * OC_NN_TILE_NR_MAX;
    for (int64_t i = i0; i < i1; i += mr) {
        const int m = (int)(i1 - i < mr ? i1 - i : mr);
        float *c = dense ? yg + i * pl->ng + j0 : rows;
        const int64_t ldc = dense ? pl->ng : GEMM_NC;
        for (int64_t k0 = 0; k0 < pl->K; k0 += pl->kc) {
            const int64_t kc = pl->K - k0 < pl->kc ? pl->K - k0 : pl->kc;
            for (int64_t p = 0; p * nr < nc; p++) {
                const int w = (int)(nc - p * nr < nr ? nc - p * nr : nr);
                const int64_t jp = j0 + p * nr;
                const float *b = src + jp;
                const int64_t *boff = pl->boff + k0;
                if (pl->mode == GRID_DIRECT && pl->boff_max + jp + nr > avail) {
                    /* whole rows of this panel would read past the input: copy what is there */
                    for (int64_t t = 0; t < kc; t++) {
                        const int64_t have = avail - (pl->boff[k0 + t] + jp);
                        panel_row(scratch + t * nr, src + pl->boff[k0 + t] + jp, have < nr ? have : nr, nr);
                    }
                    b = scratch;
                    boff = pl->seq;
                }
                oc_nn_run_tile(&pl->tk, wg + i * pl->K + k0, pl->K, b, boff, kc, c + p * nr, ldc, m, w,
                               bg ? bg + i : NULL, k0 > 0);
            }
        }
        if (dense) continue;
        /* grid columns [j0, j0 + nc) hold outputs (oh, ow) for ow < OW */
        for (int r = 0; r < m; r++) {
            float *yr = yg + (i + r) * pl->oh * pl->ow;
            int64_t j = j0, oh = j0 / pl->pw, ow = j0 % pl->pw;
            while (j < j0 + nc) {
                const int64_t run = pl->pw - ow < j0 + nc - j ? pl->pw - ow : j0 + nc - j;
                if (ow < pl->ow)
                    memcpy(yr + oh * pl->ow + ow, rows + r * GEMM_NC + (j - j0),
                           (size_t)((pl->ow - ow < run ? pl->ow - ow : run)) * sizeof(float));
                j += run;
                ow = 0;
                oh++;
            }
        }
    }
}

/* GRID_PHASES: the copy of one image's channels. */
static void build_phases(const conv_plan *pl, const float *x, float *xp)
{
    const phase_geom *pg = &pl->pg;
    for (int64_t c = 0; c < pl->C; c++) phase_copy(pg, x + c * pg->ih * pg->iw, xp + c * pg->chan, 0.0f);
    memset(xp + pl->C * pg->chan, 0, (size_t)(pl->copy_floats - pl->C * pg->chan) * sizeof(float));
}

/* Chooses the mode and fills the grid geometry and B's row offsets. */
static oc_status conv_plan_init(oc_kctx *k, conv_plan *pl)
{
    const win_geom *g = pl->g;
    pl->tk = oc_nn_pick_tile();
    for (int t = 0; t < GEMM_KC; t++) pl->seq[t] = (int64_t)t * pl->tk.nr;
    /* 288 taps go as 144 + 144, not 256 + 32: a short block pays the
     * tile's loads and stores for little work */
    const int64_t kblocks = (pl->K + GEMM_KC - 1) / GEMM_KC;
    pl->kc = (pl->K + kblocks - 1) / kblocks;
    bool pointwise = g->k_size == 1;
    for (int i = 0; i < g->nd; i++) pointwise = pointwise && g->s[i] == 1 && g->pb[i] == 0 && g->pe[i] == 0;
    /* (reading unpadded stride-1 windows straight from the input too was
     * tried: the panels near its end, which must then be copied, cost
     * more than the copy saves) */
    if (pointwise) pl->mode = GRID_DIRECT;
    else if (phase_geom_init(g, &pl->pg)) pl->mode = GRID_PHASES;
    else pl->mode = GRID_PACK;
    pl->ng = g->out_size;
    pl->ow = pl->pw = g->out[g->nd - 1];
    pl->oh = g->out_size / (pl->ow > 0 ? pl->ow : 1);
    pl->boff = oc_malloc((size_t)pl->K * sizeof(int64_t));
    if (!pl->boff) return oc_kfail(k, OC_ERR_NOMEM, "out of memory");
    if (pl->mode == GRID_DIRECT) {
        for (int64_t t = 0; t < pl->K; t++) pl->boff[t] = t * g->in_size;
        pl->boff_max = (pl->K - 1) * g->in_size;
    }
    if (pl->mode != GRID_PHASES) return OC_OK;
    const phase_geom *pg = &pl->pg;
    pl->pw = pg->pw;
    pl->ng = pl->oh * pl->pw;
    pl->copy_floats = pl->C * pg->chan + phase_slack(pg, pl->tk.nr);
    const int64_t ks = pg->kh * pg->kw;
    for (int64_t t = 0; t < ks; t++) pl->boff[t] = phase_tap(pg, t / pg->kw, t % pg->kw);
    for (int64_t t = ks; t < pl->K; t++) pl->boff[t] = pl->boff[t - ks] + pg->chan;
    return OC_OK;
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

/* fn(arg, begin, end, scratch): one part of a range, with `scratch` its own. */
typedef void (*part_fn)(void *arg, int64_t begin, int64_t end, float *scratch);

typedef struct part {
    part_fn fn;
    void *arg;
    int64_t begin, end;
    float *scratch;
} part;

static void *part_main(void *arg)
{
    const part *p = arg;
    p->fn(p->arg, p->begin, p->end, p->scratch);
    return NULL;
}

/* Runs fn over [0, n) in parts on up to conv_threads(work) threads, each
 * part with `floats` floats of scratch. */
static oc_status run_parts(oc_kctx *k, int64_t n, int64_t work, size_t floats, part_fn fn, void *arg)
{
    int64_t nt = conv_threads(k, work);
    if (nt > n) nt = n;
    part parts[CONV_MAX_THREADS];
    pthread_t th[CONV_MAX_THREADS];
    bool started[CONV_MAX_THREADS] = {false};
    oc_status st = OC_OK;
    int64_t made = 0;
    for (; made < nt; made++) {
        parts[made] = (part){fn, arg, n * made / nt, n * (made + 1) / nt, NULL};
        parts[made].scratch = oc_aligned_alloc(64, (floats ? floats : 1) * sizeof(float));
        if (!parts[made].scratch) {
            st = oc_kfail(k, OC_ERR_NOMEM, "out of memory for %zu floats of scratch", floats);
            goto cleanup;
        }
    }
    for (int64_t i = 1; i < nt; i++) started[i] = pthread_create(&th[i], NULL, part_main, &parts[i]) == 0;
    if (nt > 0) part_main(&parts[0]);
    for (int64_t i = 1; i < nt; i++) {
        if (started[i]) pthread_join(th[i], NULL);
        else part_main(&parts[i]);
    }
cleanup:
    for (int64_t i = 0; i < made; i++) oc_aligned_free(parts[i].scratch);
    return st;
}

/* conv_task over tasks [begin, end). */
static void conv_part(void *arg, int64_t begin, int64_t end, float *scratch)
{
    for (int64_t t = begin; t < end; t++) conv_task(arg, t, scratch);
}

static oc_status conv_gemm(oc_kctx *k, const win_geom *g, const float *x, const float *w, const float *b, int64_t N,
                           int64_t C, int64_t M, int64_t group, float *y)
{
    conv_plan pl = {.g = g, .N = N, .C = C, .M = M, .group = group};
    pl.Cg = C / group;
    pl.Mg = M / group;
    pl.K = pl.Cg * g->k_size;
    if (pl.K == 0) { /* no input channels: the bias */
        for (int64_t i = 0; i < N * M; i++)
            for (int64_t j = 0; j < g->out_size; j++) y[i * g->out_size + j] = b ? b[i % M] : 0.0f;
        return OC_OK;
    }
    int64_t work = 0;
    if (oc_mul_overflow_i64(M, g->out_size, &work) || oc_mul_overflow_i64(work, pl.K, &work))
        return oc_kfail(k, OC_ERR_UNSUPPORTED, "convolution too large");
    FORWARD_IF_ERROR(conv_plan_init(k, &pl));
    pl.ncb = (pl.ng + GEMM_NC - 1) / GEMM_NC;
    const int64_t nt = conv_threads(k, work);
    /* rows split too when columns alone do not give every thread work */
    const int64_t col_tasks = group * pl.ncb;
    const int64_t row_blocks = pl.Mg > 0 ? (pl.Mg + pl.tk.mr - 1) / pl.tk.mr : 1;
    int64_t mcb = nt > 1 && col_tasks < 2 * nt ? (2 * nt + col_tasks - 1) / col_tasks : 1;
    if (mcb > row_blocks) mcb = row_blocks;
    pl.mc = (row_blocks + mcb - 1) / mcb * pl.tk.mr;
    pl.mcb = pl.Mg > 0 ? (pl.Mg + pl.mc - 1) / pl.mc : 1;
    const size_t scratch = pl.mode == GRID_PACK ? (size_t)GEMM_KC * GEMM_NC + GEMM_NC
                                                : (size_t)GEMM_KC * OC_NN_TILE_NR_MAX + OC_NN_TILE_MR_MAX * GEMM_NC;
    float *copy = NULL;
    oc_status st = OC_OK;
    if (pl.mode == GRID_PHASES) {
        copy = oc_aligned_alloc(64, (size_t)pl.copy_floats * sizeof(float));
        if (!copy) {
            st = oc_kfail(k, OC_ERR_NOMEM, "out of memory for the convolution's scratch");
            goto cleanup;
        }
    }
    for (int64_t n = 0; n < N && st == OC_OK; n++) {
        const float *xn = x + n * C * g->in_size;
        if (copy) build_phases(&pl, xn, copy);
        conv_image im = {&pl, copy ? copy : xn, copy ? pl.copy_floats : (N - n) * C * g->in_size, w, b,
                         y + n * M * g->out_size};
        st = run_parts(k, col_tasks * pl.mcb, work, scratch, conv_part, &im);
    }
cleanup:
    oc_aligned_free(copy);
    oc_free(pl.boff);
    return st;
}

/* ---- Depthwise Conv ----
 *
 * One input channel per group (M = C * multiplier) over one or two spatial
 * axes: each output plane is the sum over taps of a weight times a shifted
 * run of the channel's phase copy (MaxPool and AveragePool use the same
 * loop). Outputs go in chunks of DW_VL along the (flattened) output plane,
 * DW_CHUNKS chunks at a time so the adds of one tap are independent. */

typedef float dw_vec __attribute__((vector_size(64)));
enum { DW_VL = 16, DW_CHUNKS = 4 };

/* The sums below may use fused multiply-adds (one rounding instead of
 * two): the build is ISO C, which otherwise keeps them apart. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("fp-contract=fast")
#endif

/* One output plane over the taps t of a window: y[oh][ow] = bias + sum_t
 * w[t] * xp[oh * pw + ow + toff[t]], or (is_max) the largest of those
 * xp values. */
static inline __attribute__((always_inline)) void window_plane(const float *xp, int64_t pw, const int64_t *toff,
                                                               const float *w, int64_t ntaps, float bias, float *y,
                                                               int64_t OH, int64_t OW, const bool is_max)
{
    const int64_t per_row = (OW + DW_VL - 1) / DW_VL, chunks = OH * per_row;
    int64_t oh = 0, ow = 0; /* where chunk q0 starts */
    for (int64_t q0 = 0; q0 < chunks; q0 += DW_CHUNKS) {
        const float *src[DW_CHUNKS];
        float *dst[DW_CHUNKS];
        int64_t len[DW_CHUNKS];
        dw_vec acc[DW_CHUNKS];
        for (int i = 0; i < DW_CHUNKS; i++) {
            /* chunks past the end repeat the last one and are not stored */
            src[i] = xp + oh * pw + ow;
            dst[i] = y + oh * OW + ow;
            len[i] = q0 + i < chunks ? (OW - ow < DW_VL ? OW - ow : DW_VL) : 0;
            acc[i] = (dw_vec){0} + (is_max ? -INFINITY : bias);
            if (q0 + i + 1 < chunks && (ow += DW_VL) >= OW) {
                ow = 0;
                oh++;
            }
        }
        for (int64_t t = 0; t < ntaps; t++) {
            const float wv = is_max ? 0.0f : w[t];
#pragma GCC unroll 8
            for (int i = 0; i < DW_CHUNKS; i++) {
                dw_vec v;
                memcpy(&v, src[i] + toff[t], sizeof(v));
                if (!is_max) {
                    acc[i] += wv * v;
                    continue;
                }
                /* lane by lane, which compiles to one vector max; NaN
                 * inputs are passed over, as in pool_plane */
                for (int u = 0; u < DW_VL; u++) acc[i][u] = v[u] > acc[i][u] ? v[u] : acc[i][u];
            }
        }
        for (int i = 0; i < DW_CHUNKS; i++) {
            if (len[i] == DW_VL) memcpy(dst[i], &acc[i], sizeof(acc[i]));
            else if (len[i] > 0) memcpy(dst[i], &acc[i], (size_t)len[i] * sizeof(float));
        }
    }
}

OC_NN_CLONES static void dw_plane(const float *xp, int64_t pw, const int64_t *toff, const float *w, int64_t ntaps,
                                  float bias, float *y, int64_t OH, int64_t OW)
{
    window_plane(xp, pw, toff, w, ntaps, bias, y, OH, OW, false);
}

OC_NN_CLONES static void max_plane(const float *xp, int64_t pw, const int64_t *toff, int64_t ntaps, float *y,
                                   int64_t OH, int64_t OW)
{
    window_plane(xp, pw, toff, NULL, ntaps, 0.0f, y, OH, OW, true);
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

typedef struct dw_job {
    phase_geom pg;
    const float *x, *w, *b;
    float *y;
    int64_t C, M, mult, ntaps, OH, OW, in_size, out_size;
    int64_t *toff;
} dw_job;

/* Output planes [begin, end) (image-major); scratch holds one channel copy. */
static void dw_part(void *arg, int64_t begin, int64_t end, float *scratch)
{
    const dw_job *j = arg;
    int64_t have = -1; /* (image, channel) whose copy is in scratch */
    /* what the garbage lanes of the last row read */
    memset(scratch + j->pg.chan, 0, (size_t)phase_slack(&j->pg, DW_VL) * sizeof(float));
    for (int64_t p = begin; p < end; p++) {
        const int64_t n = p / j->M, m = p % j->M, c = n * j->C + m / j->mult;
        if (c != have) {
            phase_copy(&j->pg, j->x + c * j->in_size, scratch, 0.0f);
            have = c;
        }
        dw_plane(scratch, j->pg.pw, j->toff, j->w + m * j->ntaps, j->ntaps, j->b ? j->b[m] : 0.0f,
                 j->y + p * j->out_size, j->OH, j->OW);
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
    FORWARD_IF_ERROR(oc_ten_alloc_full(k, &out[0], OC_DTYPE_FLOAT, x->ndim, ydims));
    if (out[0].numel == 0) return OC_OK;
    const float *xf = x->data, *wf = w->data, *bf = b ? b->data : NULL;
    dw_job dj = {.x = xf, .w = wf, .b = bf, .y = out[0].data, .C = C, .M = M};
    if (Cg == 1 && group == C && group > 1 && phase_geom_init(&g, &dj.pg)) {
        dj.mult = M / C;
        dj.ntaps = g.k_size;
        dj.OW = g.out[nd - 1];
        dj.OH = g.out_size / dj.OW;
        dj.in_size = g.in_size;
        dj.out_size = g.out_size;
        dj.toff = oc_malloc((size_t)dj.ntaps * sizeof(int64_t));
        if (!dj.toff) return oc_kfail(k, OC_ERR_NOMEM, "out of memory");
        for (int64_t t = 0; t < dj.ntaps; t++) dj.toff[t] = phase_tap(&dj.pg, t / dj.pg.kw, t % dj.pg.kw);
        const size_t scratch = (size_t)(dj.pg.chan + phase_slack(&dj.pg, DW_VL));
        const oc_status st = run_parts(k, N * M, N * M * g.out_size * g.k_size, scratch, dw_part, &dj);
        oc_free(dj.toff);
        return st;
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

/* MaxPool (without Indices) and AveragePool over one or two spatial axes:
 * the window loop of depthwise Conv on each plane's phase copy, padded
 * with -inf for MaxPool and 0 for AveragePool, whose sums are then divided
 * by the count of each window (separable: rows times columns). */
typedef struct pool_fast_job {
    phase_geom pg;
    const pool_job *j;
    const float *x;
    float *y;
    int64_t in_size, out_size, OH, OW, ntaps;
    int64_t *toff;
    float *ones;
    bool inside;            /* every window inside the input: pool_plane_inside */
} pool_fast_job;

/* One plane when every window lies inside the input (no pads, no
 * dilation): the window's rows are folded into row (one vertical pass)
 * and then its columns (one pass along the row), no copy of the plane. */
OC_NN_CLONES static void pool_plane_inside(const pool_fast_job *f, const float *x, float *y, float *row, bool is_max)
{
    const int64_t IW = f->pg.iw, KH = f->pg.kh, KW = f->pg.kw, sh = f->pg.sh, sw = f->pg.sw;
    const float scale = 1.0f / (float)(KH * KW);
    for (int64_t oh = 0; oh < f->OH; oh++, y += f->OW) {
        const float *r = x + oh * sh * IW;
        /* a NaN never wins a max, as in pool_plane */
        if (is_max)
            for (int64_t i = 0; i < IW; i++) row[i] = r[i] > -INFINITY ? r[i] : -INFINITY;
        else
            for (int64_t i = 0; i < IW; i++) row[i] = r[i];
        for (int64_t kh = 1; kh < KH; kh++) {
            r += IW;
            if (is_max)
                for (int64_t i = 0; i < IW; i++) row[i] = r[i] > row[i] ? r[i] : row[i];
            else
                for (int64_t i = 0; i < IW; i++) row[i] += r[i];
        }
        if (is_max && sw == 2 && KW == 2) { /* the common 2x2 / 2 */
            for (int64_t ow = 0; ow < f->OW; ow++) {
                const float a = row[2 * ow], b = row[2 * ow + 1];
                y[ow] = b > a ? b : a;
            }
            continue;
        }
        for (int64_t ow = 0; ow < f->OW; ow++) {
            const float *w = row + ow * sw;
            float m = w[0];
            for (int64_t kw = 1; kw < KW; kw++) m = is_max ? (w[kw] > m ? w[kw] : m) : m + w[kw];
            y[ow] = is_max ? m : m * scale;
        }
    }
}

static void pool_fast_part(void *arg, int64_t begin, int64_t end, float *scratch)
{
    const pool_fast_job *f = arg;
    const pool_job *j = f->j;
    const bool is_max = j->kind == POOL_MAX;
    if (f->inside) {
        for (int64_t p = begin; p < end; p++)
            pool_plane_inside(f, f->x + p * f->in_size, f->y + p * f->out_size, scratch, is_max);
        return;
    }
    memset(scratch + f->pg.chan, 0, (size_t)phase_slack(&f->pg, DW_VL) * sizeof(float));
    for (int64_t p = begin; p < end; p++) {
        float *y = f->y + p * f->out_size;
        phase_copy(&f->pg, f->x + p * f->in_size, scratch, is_max ? -INFINITY : 0.0f);
        if (is_max) {
            max_plane(scratch, f->pg.pw, f->toff, f->ntaps, y, f->OH, f->OW);
            continue;
        }
        dw_plane(scratch, f->pg.pw, f->toff, f->ones, f->ntaps, 0.0f, y, f->OH, f->OW);
        for (int64_t oh = 0; oh < f->OH; oh++) {
            const int64_t ch = j->count_pad ? j->cp[1][oh] : j->hi[1][oh] - j->lo[1][oh];
            float *yr = y + oh * f->OW;
            for (int64_t ow = 0; ow < f->OW; ow++) {
                const int64_t n = ch * (j->count_pad ? j->cp[2][ow] : j->hi[2][ow] - j->lo[2][ow]);
                yr[ow] = n > 0 ? yr[ow] / (float)n : 0.0f;
            }
        }
    }
}

static oc_status pool_fast(oc_kctx *k, pool_fast_job *f, const pool_job *j, const win_geom *g, const float *x,
                           float *y, int64_t planes)
{
    f->j = j;
    f->x = x;
    f->y = y;
    f->in_size = g->in_size;
    f->out_size = g->out_size;
    f->OW = g->out[g->nd - 1];
    f->OH = g->out_size / f->OW;
    f->ntaps = g->k_size;
    f->toff = oc_malloc((size_t)f->ntaps * sizeof(int64_t));
    f->ones = oc_malloc((size_t)f->ntaps * sizeof(float));
    oc_status st = OC_OK;
    if (!f->toff || !f->ones) {
        st = oc_kfail(k, OC_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    for (int64_t t = 0; t < f->ntaps; t++) {
        f->toff[t] = phase_tap(&f->pg, t / f->pg.kw, t % f->pg.kw);
        f->ones[t] = 1.0f;
    }
    const phase_geom *pg = &f->pg;
    f->inside = pg->pt == 0 && pg->pl == 0 && pg->dh == 1 && pg->dw == 1 && (f->OH - 1) * pg->sh + pg->kh <= pg->ih &&
                (f->OW - 1) * pg->sw + pg->kw <= pg->iw;
    const size_t scratch = f->inside ? (size_t)pg->iw : (size_t)(pg->chan + phase_slack(pg, DW_VL));
    st = run_parts(k, planes, planes * g->out_size * g->k_size, scratch, pool_fast_part, f);
cleanup:
    oc_free(f->toff);
    oc_free(f->ones);
    return st;
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
    oc_status st = OC_OK;
    pool_fast_job fj;
    if (!idx && kind != POOL_LP && phase_geom_init(&g, &fj.pg)) {
        st = pool_fast(k, &fj, &j, &g, xf, yf, planes);
    } else {
        for (int64_t p = 0; p < planes; p++)
            pool_plane(&j, xf + p * g.in_size, yf + p * g.out_size, idx ? idx + p * g.out_size : NULL,
                       p * g.in_size, col_major);
    }
    if (small_int) {
        unsigned char *dst = out[0].data;
        const float lo = x->dtype == OC_DTYPE_UINT8 ? 0.0f : -128.0f;
        for (int64_t i = 0; i < out[0].numel; i++) {
            float v = yf[i] < lo ? lo : yf[i];
            dst[i] = x->dtype == OC_DTYPE_UINT8 ? (unsigned char)v : (unsigned char)(int8_t)v;
        }
    }
    oc_free(tmp);
    oc_free(buf);
    return st;
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

/* The sum of n floats: sixteen running float sums (one vector), added in
 * double at the end. */
OC_NN_CLONES static double sum_floats(const float *x, int64_t n)
{
    float lane[16] = {0};
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int u = 0; u < 16; u++) lane[u] += x[i + u];
    double s = 0;
    for (int u = 0; u < 16; u++) s += lane[u];
    for (; i < n; i++) s += x[i];
    return s;
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
            y[c] = plane ? (float)(sum_floats(xp, plane) / (double)plane) : 0.0f;
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
