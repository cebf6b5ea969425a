/* ops_shape_int.h: what the data-movement kernels (ops_shape.c) and the
 * indexing ones (ops_index.c) share: argument checks, axis and integer
 * helpers, and copy_view(), the strided copy most of them reduce to.
 * Private to those two files. */
#ifndef OC_EXEC_OPS_SHAPE_INT_H
#define OC_EXEC_OPS_SHAPE_INT_H

#include "exec.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

/* views may have twice the rank of a tensor (Tile, DepthToSpace) */
#define MAX_VIEW (2 * OC_MAX_DIMS)

static inline const oc_ten *arg(const oc_ten *const *in, size_t n_in, size_t i)
{
    return i < n_in ? in[i] : NULL;
}

#define NEED_INPUT(t, i, what)                                                                     \
    do {                                                                                           \
        if (!(t)) return oc_kfail(k, OC_ERR_INVALID, "missing input %d (%s)", (int)(i), (what));   \
    } while (0)

/* Bytes per element, refusing the types whose elements cannot be moved one
 * by one (strings, 4-bit packed). */
static inline oc_status elem_size(oc_kctx *k, const oc_ten *t, const char *what, size_t *es)
{
    size_t s = oc_ten_elem_size(t->dtype);
    if (t->dtype == OC_DTYPE_STRING || s == 0)
        return oc_kfail(k, OC_ERR_UNSUPPORTED, "%s of type %s is not supported", what, oc_dtype_name(t->dtype));
    *es = s;
    return OC_OK;
}

static inline bool is_index_type(int dtype)
{
    return dtype == OC_DTYPE_INT64 || dtype == OC_DTYPE_INT32;
}

/* The values of a scalar or 1-D int32/int64 tensor into out[cap]. */
static inline oc_status read_ints(oc_kctx *k, const oc_ten *t, const char *what, int64_t *out, size_t cap,
                                  size_t *n)
{
    *n = 0;
    if (!is_index_type(t->dtype))
        return oc_kfail(k, OC_ERR_INVALID, "%s must be int64 or int32, not %s", what, oc_dtype_name(t->dtype));
    if (t->ndim > 1) return oc_kfail(k, OC_ERR_INVALID, "%s must be 1-D, not of rank %d", what, t->ndim);
    if ((uint64_t)t->numel > cap)
        return oc_kfail(k, OC_ERR_UNSUPPORTED, "%s has %lld values (at most %zu)", what, (long long)t->numel, cap);
    for (int64_t i = 0; i < t->numel; i++) out[i] = oc_ten_get_i64(t, i);
    *n = (size_t)t->numel;
    return OC_OK;
}

/* An int attribute list into out[cap]; *n = -1 when the attribute is absent. */
static inline oc_status attr_ints(oc_kctx *k, const char *name, int64_t *out, size_t cap, int64_t *n)
{
    const int64_t *v;
    int64_t cnt = oc_attr_ints(k->node, name, &v);
    *n = cnt;
    if (cnt < 0) return OC_OK;
    if ((uint64_t)cnt > cap)
        return oc_kfail(k, OC_ERR_UNSUPPORTED, "attribute '%s' has %lld values (at most %zu)", name, (long long)cnt, cap);
    if (cnt) memcpy(out, v, (size_t)cnt * sizeof(*out));
    return OC_OK;
}

static inline oc_status norm_axis(oc_kctx *k, int64_t axis, int rank, const char *what, int *out)
{
    if (axis < -rank || axis >= rank)
        return oc_kfail(k, OC_ERR_INVALID, "%s %lld is out of range for rank %d", what, (long long)axis, rank);
    *out = (int)(axis < 0 ? axis + rank : axis);
    return OC_OK;
}

/* Normalizes axes[n] against rank and checks that none repeats. */
static inline oc_status norm_axes(oc_kctx *k, const int64_t *axes, size_t n, int rank, int *out)
{
    bool seen[MAX_VIEW] = {false};
    for (size_t i = 0; i < n; i++) {
        FORWARD_IF_ERROR(norm_axis(k, axes[i], rank, "axis", &out[i]));
        if (seen[out[i]]) return oc_kfail(k, OC_ERR_INVALID, "axis %d is repeated", out[i]);
        seen[out[i]] = true;
    }
    return OC_OK;
}

static inline int64_t prod(const int64_t *d, int from, int to)
{
    int64_t p = 1;
    for (int i = from; i < to; i++) p *= d[i];
    return p;
}

/* Row-major element strides of t. */
static inline void strides_of(const oc_ten *t, int64_t *st)
{
    int64_t s = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        st[i] = s;
        s *= t->dims[i];
    }
}

/* n elements of es bytes, src read every `stride` elements, dst dense. */
static inline void copy_strided_run(unsigned char *dst, const unsigned char *src, size_t es, int64_t n,
                             int64_t stride)
{
    const ptrdiff_t step = (ptrdiff_t)stride * (ptrdiff_t)es;
    switch (es) {
    case 1:
        for (int64_t i = 0; i < n; i++, src += step) dst[i] = *src;
        break;
    case 2:
        for (int64_t i = 0; i < n; i++, src += step) memcpy(dst + 2 * i, src, 2);
        break;
    case 4:
        for (int64_t i = 0; i < n; i++, src += step) memcpy(dst + 4 * i, src, 4);
        break;
    case 8:
        for (int64_t i = 0; i < n; i++, src += step) memcpy(dst + 8 * i, src, 8);
        break;
    default:
        for (int64_t i = 0; i < n; i++, src += step) memcpy(dst + (size_t)i * es, src, es);
        break;
    }
}

/* Fills n elements of es bytes at dst with the element at val. */
static inline void fill_elems(unsigned char *dst, const unsigned char *val, size_t es, int64_t n)
{
    bool zero = true;
    for (size_t b = 0; b < es; b++) zero = zero && val[b] == 0;
    if (zero) {
        memset(dst, 0, (size_t)n * es);
        return;
    }
    copy_strided_run(dst, val, es, n, 0);
}

/* One tile of a transposing copy: rows r0..r1 of the output axis whose
 * source stride is 1, columns c0..c1 of the (dense) output inner axis. */
#define TILE_KERNEL(W)                                                                             \
    for (int64_t c = c0; c < c1; c++) {                                                           \
        const unsigned char *q = src + (size_t)(c * cs) * (W);                                     \
        unsigned char *w = dst + (size_t)c * (W);                                                  \
        for (int64_t r = r0; r < r1; r++) memcpy(w + (size_t)(r * rs) * (W), q + (size_t)r * (W), (W)); \
    }

static inline void copy_tile(unsigned char *dst, const unsigned char *src, size_t es, int64_t r0, int64_t r1,
                      int64_t c0, int64_t c1, int64_t rs, int64_t cs)
{
    switch (es) {
    case 1: TILE_KERNEL(1); break;
    case 2: TILE_KERNEL(2); break;
    case 4: TILE_KERNEL(4); break;
    case 8: TILE_KERNEL(8); break;
    default: TILE_KERNEL(es); break;
    }
}

/* copy_view's transposing case: the source walks axis j contiguously while
 * the output's inner axis is strided in the source. Copying square tiles
 * keeps both sides' cache lines in use instead of one element per line. */
static inline void copy_view_tiled(unsigned char *o, const unsigned char *p, size_t es, int n, const int64_t *d,
                            const int64_t *s, int j)
{
    enum { T = 32 };
    int64_t ds[MAX_VIEW], idx[MAX_VIEW] = {0};
    ds[n - 1] = 1;
    for (int a = n - 2; a >= 0; a--) ds[a] = ds[a + 1] * d[a + 1];
    const int64_t R = d[j], C = d[n - 1], cs = s[n - 1], rs = ds[j];
    int64_t outer = 1;
    for (int a = 0; a < n - 1; a++)
        if (a != j) outer *= d[a];
    for (int64_t b = 0; b < outer; b++) {
        ptrdiff_t so = 0, dof = 0;
        for (int a = 0; a < n - 1; a++) {
            so += (ptrdiff_t)(idx[a] * s[a]);
            dof += (ptrdiff_t)(idx[a] * ds[a]);
        }
        const unsigned char *src = p + so * (ptrdiff_t)es;
        unsigned char *dst = o + dof * (ptrdiff_t)es;
        for (int64_t r0 = 0; r0 < R; r0 += T)
            for (int64_t c0 = 0; c0 < C; c0 += T)
                copy_tile(dst, src, es, r0, r0 + T < R ? r0 + T : R, c0, c0 + T < C ? c0 + T : C, rs, cs);
        for (int a = n - 2; a >= 0; a--) {
            if (a == j) continue;
            if (++idx[a] < d[a]) break;
            idx[a] = 0;
        }
    }
}

/* Copies the view of src with dims[nd] and element strides st[nd] (0 for a
 * broadcast axis, negative to walk backwards) into dst, densely and in
 * row-major order. src points at the view's first element. Axes of size 1 are
 * dropped and axes contiguous with their inner neighbour merged, so the inner
 * loop is one memcpy per row when the last axis is contiguous, and a tiled
 * transpose when another axis is. */
static inline void copy_view(void *dst, const void *src, size_t es, int nd, const int64_t *dims, const int64_t *st)
{
    int64_t d[MAX_VIEW], s[MAX_VIEW];
    int n = 0;
    for (int i = 0; i < nd; i++) {
        if (dims[i] == 0) return;
        if (dims[i] == 1) continue;
        if (n > 0 && s[n - 1] == st[i] * dims[i]) {
            d[n - 1] *= dims[i];
            s[n - 1] = st[i];
            continue;
        }
        d[n] = dims[i];
        s[n] = st[i];
        n++;
    }
    unsigned char *o = dst;
    const unsigned char *p = src;
    if (n == 0) {
        memcpy(o, p, es);
        return;
    }
    const int64_t inner = d[n - 1], is = s[n - 1];
    if (is != 1 && is != 0 && inner >= 8) {
        for (int j = n - 2; j >= 0; j--)
            if (s[j] == 1 && d[j] >= 8) {
                copy_view_tiled(o, p, es, n, d, s, j);
                return;
            }
    }
    const size_t run = (size_t)inner * es;
    int64_t outer = prod(d, 0, n - 1);
    int64_t idx[MAX_VIEW] = {0};
    ptrdiff_t off = 0; /* in elements, relative to src */
    for (int64_t r = 0; r < outer; r++) {
        const unsigned char *q = p + off * (ptrdiff_t)es;
        if (is == 1) memcpy(o, q, run);
        else copy_strided_run(o, q, es, inner, is);
        o += run;
        for (int a = n - 2; a >= 0; a--) {
            off += (ptrdiff_t)s[a];
            if (++idx[a] < d[a]) break;
            off -= (ptrdiff_t)(s[a] * d[a]);
            idx[a] = 0;
        }
    }
}

/* An element of type dtype holding v (converted) in buf. */
static inline void elem_from_double(int dtype, double v, unsigned char *buf, size_t cap)
{
    oc_ten t;
    memset(&t, 0, sizeof(t));
    memset(buf, 0, cap);
    t.dtype = dtype;
    t.ndim = 0;
    t.numel = 1;
    t.data = buf;
    t.nbytes = cap;
    oc_ten_set(&t, 0, v);
}

#endif
