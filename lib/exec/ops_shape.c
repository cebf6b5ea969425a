/* ops_shape.c: kernels that move data without computing on it: constants,
 * reshapes, transposes, slices, gathers and scatters, padding, tiling and
 * the shape queries exported models chain together (Shape -> Gather ->
 * Unsqueeze -> Concat -> Reshape, all on int64).
 *
 * Every kernel here works on any fixed-width element type by copying bytes
 * (element size from the dtype); string tensors pass through the reshape-like
 * ops only, and 4-bit types are refused where elements would be moved one by
 * one. Most kernels reduce to one primitive, copy_view(), which reads a
 * strided view of the input (strides may be 0 for broadcast or negative for
 * reversed slices) into a dense output, merging contiguous axes so that its
 * inner loop is a memcpy whenever the innermost axis is contiguous. */
#include "exec.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

/* views may have twice the rank of a tensor (Tile, DepthToSpace) */
#define MAX_VIEW (2 * OC_MAX_DIMS)

/* ---- helpers ---- */

static const oc_ten *arg(const oc_ten *const *in, size_t n_in, size_t i)
{
    return i < n_in ? in[i] : NULL;
}

#define NEED_INPUT(t, i, what)                                                                     \
    do {                                                                                           \
        if (!(t)) return oc_kfail(k, OC_ERR_INVALID, "missing input %d (%s)", (int)(i), (what));   \
    } while (0)

/* Bytes per element, refusing the types whose elements cannot be moved one
 * by one (strings, 4-bit packed). */
static oc_status elem_size(oc_kctx *k, const oc_ten *t, const char *what, size_t *es)
{
    size_t s = oc_ten_elem_size(t->dtype);
    if (t->dtype == OC_DTYPE_STRING || s == 0)
        return oc_kfail(k, OC_ERR_UNSUPPORTED, "%s of type %s is not supported", what, oc_dtype_name(t->dtype));
    *es = s;
    return OC_OK;
}

static bool is_index_type(int dtype)
{
    return dtype == OC_DTYPE_INT64 || dtype == OC_DTYPE_INT32;
}

/* The values of a scalar or 1-D int32/int64 tensor into out[cap]. */
static oc_status read_ints(oc_kctx *k, const oc_ten *t, const char *what, int64_t *out, size_t cap,
                           size_t *n)
{
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
static oc_status attr_ints(oc_kctx *k, const char *name, int64_t *out, size_t cap, int64_t *n)
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

static oc_status norm_axis(oc_kctx *k, int64_t axis, int rank, const char *what, int *out)
{
    if (axis < -rank || axis >= rank)
        return oc_kfail(k, OC_ERR_INVALID, "%s %lld is out of range for rank %d", what, (long long)axis, rank);
    *out = (int)(axis < 0 ? axis + rank : axis);
    return OC_OK;
}

/* Normalizes axes[n] against rank and checks that none repeats. */
static oc_status norm_axes(oc_kctx *k, const int64_t *axes, size_t n, int rank, int *out)
{
    bool seen[MAX_VIEW] = {false};
    for (size_t i = 0; i < n; i++) {
        FORWARD_IF_ERROR(norm_axis(k, axes[i], rank, "axis", &out[i]));
        if (seen[out[i]]) return oc_kfail(k, OC_ERR_INVALID, "axis %d is repeated", out[i]);
        seen[out[i]] = true;
    }
    return OC_OK;
}

static int64_t prod(const int64_t *d, int from, int to)
{
    int64_t p = 1;
    for (int i = from; i < to; i++) p *= d[i];
    return p;
}

/* Row-major element strides of t. */
static void strides_of(const oc_ten *t, int64_t *st)
{
    int64_t s = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        st[i] = s;
        s *= t->dims[i];
    }
}

/* n elements of es bytes, src read every `stride` elements, dst dense. */
static void copy_strided_run(unsigned char *dst, const unsigned char *src, size_t es, int64_t n,
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
static void fill_elems(unsigned char *dst, const unsigned char *val, size_t es, int64_t n)
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

static void copy_tile(unsigned char *dst, const unsigned char *src, size_t es, int64_t r0, int64_t r1,
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
static void copy_view_tiled(unsigned char *o, const unsigned char *p, size_t es, int n, const int64_t *d,
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
static void copy_view(void *dst, const void *src, size_t es, int nd, const int64_t *dims, const int64_t *st)
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
static void elem_from_double(int dtype, double v, unsigned char *buf, size_t cap)
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

/* ---- Constant ---- */

static const char *const constant_attrs[] = {"value",        "sparse_value",  "value_float", "value_floats",
                                             "value_int",    "value_ints",    "value_string", "value_strings"};

static oc_status constant_prepare(oc_kctx *k)
{
    const oc_attr *found = NULL;
    int count = 0;
    for (size_t i = 0; i < sizeof(constant_attrs) / sizeof(constant_attrs[0]); i++) {
        const oc_attr *a = oc_node_attr(k->node, constant_attrs[i]);
        if (!a) continue;
        if (i >= 2 && k->opset < 12)
            return oc_kfail(k, OC_ERR_INVALID, "attribute '%s' needs opset 12 (model has %lld)", a->name,
                            (long long)k->opset);
        if (i == 1 && k->opset < 11)
            return oc_kfail(k, OC_ERR_INVALID, "attribute 'sparse_value' needs opset 11");
        found = a;
        count++;
    }
    if (count != 1)
        return oc_kfail(k, OC_ERR_INVALID, "needs exactly one value attribute, has %d", count);
    const char *name = found->name;
    if (strcmp(name, "sparse_value") == 0 || strcmp(name, "value_string") == 0 ||
        strcmp(name, "value_strings") == 0)
        return oc_kfail(k, OC_ERR_UNSUPPORTED, "attribute '%s' is not supported", name);
    if (strcmp(name, "value") == 0) {
        if (!found->t) return oc_kfail(k, OC_ERR_INVALID, "attribute 'value' is not a tensor");
        if (found->t->dtype == OC_DTYPE_STRING)
            return oc_kfail(k, OC_ERR_UNSUPPORTED, "string constants are not supported");
    }
    return OC_OK;
}

static oc_status constant_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)in;
    (void)n_in;
    (void)n_out;
    FORWARD_IF_ERROR(constant_prepare(k));
    const oc_node *n = k->node;
    const oc_attr *a;
    if ((a = oc_node_attr(n, "value"))) {
        const oc_tensor *t = a->t;
        if (t->ndim < 0 || t->ndim > OC_MAX_DIMS)
            return oc_kfail(k, OC_ERR_UNSUPPORTED, "constant of rank %d (at most %d)", t->ndim, OC_MAX_DIMS);
        int64_t numel = 1;
        for (int i = 0; i < t->ndim; i++)
            if (t->dims[i] < 0 || oc_mul_overflow_i64(numel, t->dims[i], &numel))
                return oc_kfail(k, OC_ERR_INVALID, "value tensor has a bad shape");
        const int64_t want = oc_tensor_expected_nbytes(t->dtype, numel);
        if (t->dtype == OC_DTYPE_STRING || want < 0)
            return oc_kfail(k, OC_ERR_UNSUPPORTED, "constant of type %s", oc_dtype_name(t->dtype));
        if (want == 0) return oc_ten_alloc(k, &out[0], t->dtype, t->ndim, t->dims);
        if (!t->data || t->nbytes != (size_t)want)
            return oc_kfail(k, OC_ERR_INVALID, "value tensor has %zu bytes of data, expected %lld", t->nbytes,
                            (long long)want);
        if ((uintptr_t)t->data & 15) { /* kernels may count on initializer alignment: copy */
            FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], t->dtype, t->ndim, t->dims));
            memcpy(out[0].data, t->data, t->nbytes);
            return OC_OK;
        }
        /* a read-only view of the model's bytes, which outlive the run,
         * rather than a copy made on every run */
        oc_ten_release(&out[0]);
        out[0].dtype = t->dtype;
        out[0].ndim = t->ndim;
        if (t->ndim) memcpy(out[0].dims, t->dims, (size_t)t->ndim * sizeof(int64_t));
        out[0].numel = numel;
        out[0].nbytes = (size_t)want;
        out[0].data = (void *)t->data;
        out[0].borrowed = true;
        return OC_OK;
    }
    if ((a = oc_node_attr(n, "value_float"))) {
        FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], OC_DTYPE_FLOAT, 0, NULL));
        memcpy(out[0].data, &a->f, sizeof(float));
        return OC_OK;
    }
    if ((a = oc_node_attr(n, "value_int"))) {
        FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], OC_DTYPE_INT64, 0, NULL));
        memcpy(out[0].data, &a->i, sizeof(int64_t));
        return OC_OK;
    }
    if ((a = oc_node_attr(n, "value_floats"))) {
        int64_t d = (int64_t)a->n_floats;
        FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], OC_DTYPE_FLOAT, 1, &d));
        if (d) memcpy(out[0].data, a->floats, (size_t)d * sizeof(float));
        return OC_OK;
    }
    a = oc_node_attr(n, "value_ints");
    int64_t d = (int64_t)a->n_ints;
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], OC_DTYPE_INT64, 1, &d));
    if (d) memcpy(out[0].data, a->ints, (size_t)d * sizeof(int64_t));
    return OC_OK;
}

/* ---- ConstantOfShape ---- */

static oc_status cos_prepare(oc_kctx *k)
{
    const oc_attr *a = oc_node_attr(k->node, "value");
    if (!a) return OC_OK;
    if (!a->t) return oc_kfail(k, OC_ERR_INVALID, "attribute 'value' is not a tensor");
    if (a->t->numel != 1)
        return oc_kfail(k, OC_ERR_INVALID, "attribute 'value' has %lld elements, needs one", (long long)a->t->numel);
    int bits = oc_dtype_bits(a->t->dtype);
    if (a->t->dtype == OC_DTYPE_STRING || bits < 8)
        return oc_kfail(k, OC_ERR_UNSUPPORTED, "value of type %s is not supported", oc_dtype_name(a->t->dtype));
    if (!a->t->data || a->t->nbytes != (size_t)bits / 8)
        return oc_kfail(k, OC_ERR_INVALID, "attribute 'value' has no data");
    return OC_OK;
}

static oc_status cos_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    FORWARD_IF_ERROR(cos_prepare(k));
    const oc_ten *shape = arg(in, n_in, 0);
    NEED_INPUT(shape, 0, "input");
    int64_t dims[OC_MAX_DIMS];
    size_t nd;
    FORWARD_IF_ERROR(read_ints(k, shape, "shape", dims, OC_MAX_DIMS, &nd));
    for (size_t i = 0; i < nd; i++)
        if (dims[i] < 0) return oc_kfail(k, OC_ERR_INVALID, "shape has negative dim %lld", (long long)dims[i]);
    const oc_attr *a = oc_node_attr(k->node, "value");
    int dtype = a ? a->t->dtype : OC_DTYPE_FLOAT;
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], dtype, (int)nd, dims));
    if (a && out[0].numel) fill_elems(out[0].data, a->t->data, a->t->nbytes, out[0].numel);
    return OC_OK;
}

/* ---- Reshape, Flatten, Squeeze, Unsqueeze ---- */

static oc_status reshape_to(oc_kctx *k, oc_ten *out, const oc_ten *data, const int64_t *shape, size_t n,
                            bool allowzero)
{
    if (n > OC_MAX_DIMS)
        return oc_kfail(k, OC_ERR_UNSUPPORTED, "shape of rank %zu (at most %d)", n, OC_MAX_DIMS);
    int64_t dims[OC_MAX_DIMS];
    int infer = -1;
    int64_t known = 1;
    bool has_zero = false;
    for (size_t i = 0; i < n; i++) {
        int64_t v = shape[i];
        if (v == 0 && !allowzero) {
            if ((int)i >= data->ndim)
                return oc_kfail(k, OC_ERR_INVALID, "shape[%zu] is 0 but the input has rank %d", i, data->ndim);
            v = data->dims[i];
        }
        if (v == 0) has_zero = true;
        if (v == -1) {
            if (infer >= 0) return oc_kfail(k, OC_ERR_INVALID, "shape has more than one -1");
            infer = (int)i;
            dims[i] = 1;
            continue;
        }
        if (v < -1) return oc_kfail(k, OC_ERR_INVALID, "shape[%zu] is %lld", i, (long long)v);
        dims[i] = v;
        if (oc_mul_overflow_i64(known, v, &known)) return oc_kfail(k, OC_ERR_INVALID, "shape overflows");
    }
    if (infer >= 0) {
        if (allowzero && has_zero)
            return oc_kfail(k, OC_ERR_INVALID, "shape has both -1 and 0 with allowzero=1");
        if (known == 0 || data->numel % known)
            return oc_kfail(k, OC_ERR_INVALID, "cannot infer the -1 dim of %lld elements over %lld",
                            (long long)data->numel, (long long)known);
        dims[infer] = data->numel / known;
    }
    return oc_ten_copy_reshape(k, out, data, (int)n, dims);
}

static oc_status reshape1_prepare(oc_kctx *k)
{
    if (!oc_node_attr(k->node, "shape")) return oc_kfail(k, OC_ERR_INVALID, "missing attribute 'shape'");
    return OC_OK;
}

static oc_status reshape1_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    const oc_ten *data = arg(in, n_in, 0);
    NEED_INPUT(data, 0, "data");
    int64_t shape[OC_MAX_DIMS + 1];
    int64_t n;
    FORWARD_IF_ERROR(attr_ints(k, "shape", shape, OC_MAX_DIMS + 1, &n));
    if (n < 0) return oc_kfail(k, OC_ERR_INVALID, "missing attribute 'shape'");
    return reshape_to(k, &out[0], data, shape, (size_t)n, false);
}

static oc_status reshape_prepare(oc_kctx *k)
{
    int64_t az = oc_attr_int(k->node, "allowzero", 0);
    if (az != 0 && az != 1) return oc_kfail(k, OC_ERR_INVALID, "allowzero=%lld (0 or 1)", (long long)az);
    return OC_OK;
}

static oc_status reshape_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    const oc_ten *data = arg(in, n_in, 0), *shp = arg(in, n_in, 1);
    NEED_INPUT(data, 0, "data");
    NEED_INPUT(shp, 1, "shape");
    int64_t shape[OC_MAX_DIMS + 1];
    size_t n;
    FORWARD_IF_ERROR(read_ints(k, shp, "shape", shape, OC_MAX_DIMS + 1, &n));
    bool allowzero = k->opset >= 14 && oc_attr_int(k->node, "allowzero", 0) != 0;
    return reshape_to(k, &out[0], data, shape, n, allowzero);
}

static oc_status flatten_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    const oc_ten *x = arg(in, n_in, 0);
    NEED_INPUT(x, 0, "input");
    int64_t axis = oc_attr_int(k->node, "axis", 1);
    int r = x->ndim;
    if (axis < -r || axis > r)
        return oc_kfail(k, OC_ERR_INVALID, "axis %lld is out of range for rank %d", (long long)axis, r);
    if (axis < 0) axis += r;
    int64_t dims[2] = {prod(x->dims, 0, (int)axis), prod(x->dims, (int)axis, r)};
    return oc_ten_copy_reshape(k, &out[0], x, 2, dims);
}

/* Squeeze/Unsqueeze take axes from an attribute before opset 13, from their
 * second input since. */
static oc_status get_axes(oc_kctx *k, const oc_ten *const *in, size_t n_in, int64_t *axes, size_t cap,
                          int64_t *n)
{
    if (k->opset < 13) return attr_ints(k, "axes", axes, cap, n);
    const oc_ten *t = arg(in, n_in, 1);
    *n = -1;
    if (!t) return OC_OK;
    size_t cnt;
    FORWARD_IF_ERROR(read_ints(k, t, "axes", axes, cap, &cnt));
    *n = (int64_t)cnt;
    return OC_OK;
}

static oc_status squeeze_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    const oc_ten *x = arg(in, n_in, 0);
    NEED_INPUT(x, 0, "data");
    int64_t axes[OC_MAX_DIMS];
    int64_t n;
    FORWARD_IF_ERROR(get_axes(k, in, n_in, axes, OC_MAX_DIMS, &n));
    bool drop[OC_MAX_DIMS] = {false};
    if (n < 0) {
        for (int i = 0; i < x->ndim; i++) drop[i] = x->dims[i] == 1;
    } else {
        int ax[OC_MAX_DIMS];
        FORWARD_IF_ERROR(norm_axes(k, axes, (size_t)n, x->ndim, ax));
        for (int64_t i = 0; i < n; i++) {
            if (x->dims[ax[i]] != 1)
                return oc_kfail(k, OC_ERR_INVALID, "cannot squeeze axis %d of size %lld", ax[i],
                                (long long)x->dims[ax[i]]);
            drop[ax[i]] = true;
        }
    }
    int64_t dims[OC_MAX_DIMS];
    int nd = 0;
    for (int i = 0; i < x->ndim; i++)
        if (!drop[i]) dims[nd++] = x->dims[i];
    return oc_ten_copy_reshape(k, &out[0], x, nd, dims);
}

static oc_status unsqueeze_prepare(oc_kctx *k)
{
    if (k->opset < 13 && !oc_node_attr(k->node, "axes"))
        return oc_kfail(k, OC_ERR_INVALID, "missing attribute 'axes'");
    return OC_OK;
}

static oc_status unsqueeze_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    const oc_ten *x = arg(in, n_in, 0);
    NEED_INPUT(x, 0, "data");
    int64_t axes[OC_MAX_DIMS];
    int64_t n;
    FORWARD_IF_ERROR(get_axes(k, in, n_in, axes, OC_MAX_DIMS, &n));
    if (n < 0) return oc_kfail(k, OC_ERR_INVALID, "missing axes");
    int r = x->ndim + (int)n;
    if (r > OC_MAX_DIMS) return oc_kfail(k, OC_ERR_UNSUPPORTED, "output of rank %d (at most %d)", r, OC_MAX_DIMS);
    int ax[OC_MAX_DIMS];
    FORWARD_IF_ERROR(norm_axes(k, axes, (size_t)n, r, ax));
    bool ins[OC_MAX_DIMS] = {false};
    for (int64_t i = 0; i < n; i++) ins[ax[i]] = true;
    int64_t dims[OC_MAX_DIMS];
    for (int i = 0, j = 0; i < r; i++) dims[i] = ins[i] ? 1 : x->dims[j++];
    return oc_ten_copy_reshape(k, &out[0], x, r, dims);
}

/* ---- Transpose ---- */

static oc_status transpose_prepare(oc_kctx *k)
{
    int64_t perm[OC_MAX_DIMS];
    int64_t n;
    FORWARD_IF_ERROR(attr_ints(k, "perm", perm, OC_MAX_DIMS, &n));
    bool seen[OC_MAX_DIMS] = {false};
    for (int64_t i = 0; i < n; i++) {
        if (perm[i] < 0 || perm[i] >= n || seen[perm[i]])
            return oc_kfail(k, OC_ERR_INVALID, "perm is not a permutation of 0..%lld", (long long)n - 1);
        seen[perm[i]] = true;
    }
    return OC_OK;
}

static oc_status transpose_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    const oc_ten *x = arg(in, n_in, 0);
    NEED_INPUT(x, 0, "data");
    size_t es = 0;
    FORWARD_IF_ERROR(elem_size(k, x, "input", &es));
    int r = x->ndim;
    int64_t perm[OC_MAX_DIMS];
    int64_t n;
    FORWARD_IF_ERROR(transpose_prepare(k));
    FORWARD_IF_ERROR(attr_ints(k, "perm", perm, OC_MAX_DIMS, &n));
    if (n < 0) {
        for (int i = 0; i < r; i++) perm[i] = r - 1 - i;
    } else if (n != r) {
        return oc_kfail(k, OC_ERR_INVALID, "perm has %lld values for an input of rank %d", (long long)n, r);
    }
    int64_t st[OC_MAX_DIMS], dims[OC_MAX_DIMS], vs[OC_MAX_DIMS];
    strides_of(x, st);
    for (int i = 0; i < r; i++) {
        dims[i] = x->dims[perm[i]];
        vs[i] = st[perm[i]];
    }
    FORWARD_IF_ERROR(oc_ten_alloc_full(k, &out[0], x->dtype, r, dims));
    if (out[0].numel) copy_view(out[0].data, x->data, es, r, dims, vs);
    return OC_OK;
}

/* ---- Concat, Split ---- */

static oc_status concat_prepare(oc_kctx *k)
{
    if (k->opset >= 4 && !oc_node_attr(k->node, "axis"))
        return oc_kfail(k, OC_ERR_INVALID, "missing attribute 'axis'");
    return OC_OK;
}

static oc_status concat_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    const oc_ten *first = NULL;
    for (size_t i = 0; i < n_in && !first; i++) first = in[i];
    if (!first) return oc_kfail(k, OC_ERR_INVALID, "no inputs");
    size_t es = 0;
    FORWARD_IF_ERROR(elem_size(k, first, "input", &es));
    int r = first->ndim, axis = 0;
    if (r == 0) return oc_kfail(k, OC_ERR_INVALID, "cannot concatenate scalars");
    FORWARD_IF_ERROR(norm_axis(k, oc_attr_int(k->node, "axis", 1), r, "axis", &axis));
    int64_t dims[OC_MAX_DIMS];
    memcpy(dims, first->dims, sizeof(dims));
    dims[axis] = 0;
    for (size_t i = 0; i < n_in; i++) {
        const oc_ten *t = in[i];
        if (!t) continue;
        if (t->dtype != first->dtype || t->ndim != r)
            return oc_kfail(k, OC_ERR_INVALID, "input %zu is %s of rank %d, input 0 %s of rank %d", i,
                            oc_dtype_name(t->dtype), t->ndim, oc_dtype_name(first->dtype), r);
        for (int a = 0; a < r; a++)
            if (a != axis && t->dims[a] != first->dims[a])
                return oc_kfail(k, OC_ERR_INVALID, "input %zu has dim %lld on axis %d, input 0 has %lld", i,
                                (long long)t->dims[a], a, (long long)first->dims[a]);
        dims[axis] += t->dims[axis];
    }
    FORWARD_IF_ERROR(oc_ten_alloc_full(k, &out[0], first->dtype, r, dims));
    if (!out[0].numel) return OC_OK;
    const int64_t outer = prod(dims, 0, axis), inner = prod(dims, axis + 1, r);
    unsigned char *o = out[0].data;
    for (int64_t b = 0; b < outer; b++) {
        for (size_t i = 0; i < n_in; i++) {
            if (!in[i]) continue;
            size_t blk = (size_t)(in[i]->dims[axis] * inner) * es;
            memcpy(o, (const unsigned char *)in[i]->data + (size_t)b * blk, blk);
            o += blk;
        }
    }
    return OC_OK;
}

static oc_status split_prepare(oc_kctx *k)
{
    if (k->opset >= 18) {
        const oc_attr *no = oc_node_attr(k->node, "num_outputs");
        if (no && no->i < 1) return oc_kfail(k, OC_ERR_INVALID, "num_outputs=%lld", (long long)no->i);
        if (no && (size_t)no->i != k->node->n_outputs)
            return oc_kfail(k, OC_ERR_INVALID, "num_outputs=%lld but the node has %zu outputs", (long long)no->i,
                            k->node->n_outputs);
    }
    return OC_OK;
}

static oc_status split_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    const oc_ten *x = arg(in, n_in, 0);
    NEED_INPUT(x, 0, "input");
    size_t es = 0;
    FORWARD_IF_ERROR(elem_size(k, x, "input", &es));
    int axis = 0;
    FORWARD_IF_ERROR(norm_axis(k, oc_attr_int(k->node, "axis", 0), x->ndim, "axis", &axis));
    if (n_out == 0) return oc_kfail(k, OC_ERR_INVALID, "no outputs");
    int64_t *sizes = oc_malloc(n_out * sizeof(*sizes));
    if (!sizes) return oc_kfail(k, OC_ERR_NOMEM, "out of memory");
    oc_status st = OC_OK;
    const int64_t dim = x->dims[axis];
    /* the split sizes: input 1 (opset 1 and >= 13), attribute (opset 1..12) */
    const oc_ten *sp = k->opset >= 13 || k->opset < 2 ? arg(in, n_in, 1) : NULL;
    const oc_attr *sa = k->opset < 13 ? oc_node_attr(k->node, "split") : NULL;
    if (sp && sp->numel == 0 && k->opset >= 13) sp = NULL;
    if (sp) {
        if (!is_index_type(sp->dtype) || sp->ndim > 1 || (size_t)sp->numel != n_out) {
            st = oc_kfail(k, OC_ERR_INVALID, "split must be a 1-D int64 tensor of %zu values", n_out);
            goto done;
        }
        for (size_t i = 0; i < n_out; i++) sizes[i] = oc_ten_get_i64(sp, (int64_t)i);
    } else if (sa) {
        if (sa->n_ints != n_out) {
            st = oc_kfail(k, OC_ERR_INVALID, "attribute 'split' has %zu values for %zu outputs", sa->n_ints, n_out);
            goto done;
        }
        memcpy(sizes, sa->ints, n_out * sizeof(*sizes));
    } else if (k->opset >= 18 && oc_node_attr(k->node, "num_outputs")) {
        /* chunks of ceil(dim / n); the last one takes what is left */
        int64_t chunk = (dim + (int64_t)n_out - 1) / (int64_t)n_out;
        for (size_t i = 0; i < n_out; i++) sizes[i] = chunk;
        sizes[n_out - 1] = dim - chunk * (int64_t)(n_out - 1);
        if (sizes[n_out - 1] < 0) {
            st = oc_kfail(k, OC_ERR_INVALID, "cannot split %lld into %zu chunks of %lld", (long long)dim, n_out,
                          (long long)chunk);
            goto done;
        }
    } else {
        if (dim % (int64_t)n_out) {
            st = oc_kfail(k, OC_ERR_INVALID, "axis of size %lld does not split into %zu equal parts", (long long)dim,
                          n_out);
            goto done;
        }
        for (size_t i = 0; i < n_out; i++) sizes[i] = dim / (int64_t)n_out;
    }
    int64_t total = 0;
    for (size_t i = 0; i < n_out; i++) {
        if (sizes[i] < 0) {
            st = oc_kfail(k, OC_ERR_INVALID, "split size %lld", (long long)sizes[i]);
            goto done;
        }
        total += sizes[i];
    }
    if (total != dim) {
        st = oc_kfail(k, OC_ERR_INVALID, "split sizes add up to %lld, axis has %lld", (long long)total,
                      (long long)dim);
        goto done;
    }
    const int64_t outer = prod(x->dims, 0, axis), inner = prod(x->dims, axis + 1, x->ndim);
    const size_t row = (size_t)(dim * inner) * es;
    int64_t at = 0;
    for (size_t i = 0; i < n_out; i++) {
        int64_t dims[OC_MAX_DIMS];
        memcpy(dims, x->dims, sizeof(dims));
        dims[axis] = sizes[i];
        st = oc_ten_alloc(k, &out[i], x->dtype, x->ndim, dims);
        if (st != OC_OK) goto done;
        const size_t blk = (size_t)(sizes[i] * inner) * es;
        const unsigned char *src = (const unsigned char *)x->data + (size_t)(at * inner) * es;
        unsigned char *o = out[i].data;
        if (blk)
            for (int64_t b = 0; b < outer; b++) memcpy(o + (size_t)b * blk, src + (size_t)b * row, blk);
        at += sizes[i];
    }
done:
    oc_free(sizes);
    return st;
}

/* ---- Slice ---- */

/* Effective start and element count of one sliced axis, clamped as the spec
 * says: starts into [0, dim] ([0, dim-1] stepping backwards), ends into
 * [0, dim] ([-1, dim-1] stepping backwards). */
static void slice_axis(int64_t dim, int64_t start, int64_t end, int64_t step, int64_t *first, int64_t *count)
{
    if (start < 0) start += dim;
    if (end < 0) end += dim;
    if (step > 0) {
        start = start < 0 ? 0 : start > dim ? dim : start;
        end = end < 0 ? 0 : end > dim ? dim : end;
        *count = end > start ? (end - start - 1) / step + 1 : 0;
    } else {
        start = start < 0 ? 0 : start > dim - 1 ? dim - 1 : start;
        end = end < -1 ? -1 : end > dim - 1 ? dim - 1 : end;
        *count = start > end ? (start - end - 1) / -step + 1 : 0;
    }
    *first = *count ? start : 0;
}

static oc_status slice1_prepare(oc_kctx *k)
{
    if (!oc_node_attr(k->node, "starts") || !oc_node_attr(k->node, "ends"))
        return oc_kfail(k, OC_ERR_INVALID, "missing attribute 'starts' or 'ends'");
    return OC_OK;
}

static oc_status slice_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    const oc_ten *x = arg(in, n_in, 0);
    NEED_INPUT(x, 0, "data");
    size_t es = 0;
    FORWARD_IF_ERROR(elem_size(k, x, "input", &es));
    const int r = x->ndim;
    int64_t starts[OC_MAX_DIMS], ends[OC_MAX_DIMS], axes[OC_MAX_DIMS], steps[OC_MAX_DIMS];
    size_t n, n_ends, n_axes, n_steps;
    if (k->opset < 10) {
        int64_t a, b, c;
        FORWARD_IF_ERROR(attr_ints(k, "starts", starts, OC_MAX_DIMS, &a));
        FORWARD_IF_ERROR(attr_ints(k, "ends", ends, OC_MAX_DIMS, &b));
        FORWARD_IF_ERROR(attr_ints(k, "axes", axes, OC_MAX_DIMS, &c));
        if (a < 0 || b < 0) return oc_kfail(k, OC_ERR_INVALID, "missing attribute 'starts' or 'ends'");
        n = (size_t)a;
        n_ends = (size_t)b;
        n_axes = c < 0 ? n : (size_t)c;
        if (c < 0)
            for (size_t i = 0; i < n; i++) axes[i] = (int64_t)i;
        n_steps = n;
        for (size_t i = 0; i < n; i++) steps[i] = 1;
    } else {
        const oc_ten *ts = arg(in, n_in, 1), *te = arg(in, n_in, 2), *ta = arg(in, n_in, 3),
                     *tp = arg(in, n_in, 4);
        NEED_INPUT(ts, 1, "starts");
        NEED_INPUT(te, 2, "ends");
        FORWARD_IF_ERROR(read_ints(k, ts, "starts", starts, OC_MAX_DIMS, &n));
        FORWARD_IF_ERROR(read_ints(k, te, "ends", ends, OC_MAX_DIMS, &n_ends));
        if (ta) {
            FORWARD_IF_ERROR(read_ints(k, ta, "axes", axes, OC_MAX_DIMS, &n_axes));
        } else {
            n_axes = n;
            for (size_t i = 0; i < n; i++) axes[i] = (int64_t)i;
        }
        if (tp) {
            FORWARD_IF_ERROR(read_ints(k, tp, "steps", steps, OC_MAX_DIMS, &n_steps));
        } else {
            n_steps = n;
            for (size_t i = 0; i < n; i++) steps[i] = 1;
        }
    }
    if (n_ends != n || n_axes != n || n_steps != n)
        return oc_kfail(k, OC_ERR_INVALID, "starts, ends, axes and steps have %zu, %zu, %zu and %zu values", n,
                        n_ends, n_axes, n_steps);
    int ax[OC_MAX_DIMS];
    FORWARD_IF_ERROR(norm_axes(k, axes, n, r, ax));
    int64_t st[OC_MAX_DIMS], first[OC_MAX_DIMS], dims[OC_MAX_DIMS], vs[OC_MAX_DIMS];
    strides_of(x, st);
    for (int i = 0; i < r; i++) {
        first[i] = 0;
        dims[i] = x->dims[i];
        vs[i] = st[i];
    }
    for (size_t i = 0; i < n; i++) {
        if (steps[i] == 0) return oc_kfail(k, OC_ERR_INVALID, "step of axis %d is 0", ax[i]);
        int a = ax[i];
        slice_axis(x->dims[a], starts[i], ends[i], steps[i], &first[a], &dims[a]);
        vs[a] = st[a] * steps[i];
    }
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], x->dtype, r, dims));
    if (!out[0].numel) return OC_OK;
    int64_t off = 0;
    for (int i = 0; i < r; i++) off += first[i] * st[i];
    copy_view(out[0].data, (const unsigned char *)x->data + (size_t)off * es, es, r, dims, vs);
    return OC_OK;
}

/* ---- Gather, GatherElements, GatherND ---- */

/* Index i of an int32/int64 tensor, made non-negative against dim; false
 * when out of [-dim, dim). */
static inline bool index_at(const oc_ten *t, int64_t i, int64_t dim, int64_t *out)
{
    int64_t v;
    if (t->dtype == OC_DTYPE_INT64) {
        memcpy(&v, (const unsigned char *)t->data + 8 * i, 8);
    } else {
        int32_t w;
        memcpy(&w, (const unsigned char *)t->data + 4 * i, 4);
        v = w;
    }
    if (v < 0) v += dim;
    *out = v;
    return v >= 0 && v < dim;
}

static oc_status bad_index(oc_kctx *k, const oc_ten *t, int64_t i, int64_t dim)
{
    return oc_kfail(k, OC_ERR_INVALID, "index %lld is out of range for a dim of %lld",
                    (long long)oc_ten_get_i64(t, i), (long long)dim);
}

static oc_status gather_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    const oc_ten *x = arg(in, n_in, 0), *ind = arg(in, n_in, 1);
    NEED_INPUT(x, 0, "data");
    NEED_INPUT(ind, 1, "indices");
    size_t es = 0;
    FORWARD_IF_ERROR(elem_size(k, x, "data", &es));
    if (!is_index_type(ind->dtype))
        return oc_kfail(k, OC_ERR_INVALID, "indices of type %s", oc_dtype_name(ind->dtype));
    if (x->ndim < 1) return oc_kfail(k, OC_ERR_INVALID, "data is a scalar");
    int axis = 0;
    FORWARD_IF_ERROR(norm_axis(k, oc_attr_int(k->node, "axis", 0), x->ndim, "axis", &axis));
    int r = x->ndim - 1 + ind->ndim;
    if (r > OC_MAX_DIMS) return oc_kfail(k, OC_ERR_UNSUPPORTED, "output of rank %d (at most %d)", r, OC_MAX_DIMS);
    const int64_t dim = x->dims[axis];
    int64_t v;
    for (int64_t i = 0; i < ind->numel; i++)
        if (!index_at(ind, i, dim, &v)) return bad_index(k, ind, i, dim);
    int64_t dims[OC_MAX_DIMS];
    int nd = 0;
    for (int i = 0; i < axis; i++) dims[nd++] = x->dims[i];
    for (int i = 0; i < ind->ndim; i++) dims[nd++] = ind->dims[i];
    for (int i = axis + 1; i < x->ndim; i++) dims[nd++] = x->dims[i];
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], x->dtype, nd, dims));
    if (!out[0].numel) return OC_OK;
    const int64_t outer = prod(x->dims, 0, axis), inner = prod(x->dims, axis + 1, x->ndim);
    const size_t blk = (size_t)inner * es;
    const unsigned char *src = x->data;
    unsigned char *o = out[0].data;
    for (int64_t b = 0; b < outer; b++) {
        const unsigned char *base = src + (size_t)(b * dim) * blk;
        if (blk == 4) {
            for (int64_t i = 0; i < ind->numel; i++, o += 4) {
                index_at(ind, i, dim, &v);
                memcpy(o, base + (size_t)v * 4, 4);
            }
        } else if (blk == 8) {
            for (int64_t i = 0; i < ind->numel; i++, o += 8) {
                index_at(ind, i, dim, &v);
                memcpy(o, base + (size_t)v * 8, 8);
            }
        } else {
            for (int64_t i = 0; i < ind->numel; i++, o += blk) {
                index_at(ind, i, dim, &v);
                memcpy(o, base + (size_t)v * blk, blk);
            }
        }
    }
    return OC_OK;
}

static oc_status gather_elements_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out,
                                     size_t n_out)
{
    (void)n_out;
    const oc_ten *x = arg(in, n_in, 0), *ind = arg(in, n_in, 1);
    NEED_INPUT(x, 0, "data");
    NEED_INPUT(ind, 1, "indices");
    size_t es = 0;
    FORWARD_IF_ERROR(elem_size(k, x, "data", &es));
    if (!is_index_type(ind->dtype))
        return oc_kfail(k, OC_ERR_INVALID, "indices of type %s", oc_dtype_name(ind->dtype));
    const int r = x->ndim;
    if (r < 1 || ind->ndim != r)
        return oc_kfail(k, OC_ERR_INVALID, "indices have rank %d, data rank %d", ind->ndim, r);
    int axis = 0;
    FORWARD_IF_ERROR(norm_axis(k, oc_attr_int(k->node, "axis", 0), r, "axis", &axis));
    for (int a = 0; a < r; a++)
        if (a != axis && ind->dims[a] > x->dims[a])
            return oc_kfail(k, OC_ERR_INVALID, "indices dim %lld exceeds data dim %lld on axis %d",
                            (long long)ind->dims[a], (long long)x->dims[a], a);
    const int64_t dim = x->dims[axis];
    int64_t v;
    for (int64_t i = 0; i < ind->numel; i++)
        if (!index_at(ind, i, dim, &v)) return bad_index(k, ind, i, dim);
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], x->dtype, r, ind->dims));
    if (!out[0].numel) return OC_OK;
    int64_t st[OC_MAX_DIMS], idx[OC_MAX_DIMS] = {0};
    strides_of(x, st);
    const unsigned char *src = x->data;
    unsigned char *o = out[0].data;
    int64_t base = 0; /* offset of idx in data, without the gathered axis */
    const int64_t last = ind->dims[r - 1], sax = st[axis];
    for (int64_t i = 0; i < ind->numel; i += last) {
        /* the innermost axis as a run */
        for (int64_t j = 0; j < last; j++, o += es) {
            index_at(ind, i + j, dim, &v);
            int64_t off = base + v * sax + (axis == r - 1 ? 0 : j);
            memcpy(o, src + (size_t)off * es, es);
        }
        for (int a = r - 2; a >= 0; a--) {
            if (a != axis) base += st[a];
            if (++idx[a] < ind->dims[a]) break;
            if (a != axis) base -= st[a] * ind->dims[a];
            idx[a] = 0;
        }
    }
    return OC_OK;
}

static oc_status gather_nd_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    const oc_ten *x = arg(in, n_in, 0), *ind = arg(in, n_in, 1);
    NEED_INPUT(x, 0, "data");
    NEED_INPUT(ind, 1, "indices");
    size_t es = 0;
    FORWARD_IF_ERROR(elem_size(k, x, "data", &es));
    if (ind->dtype != OC_DTYPE_INT64) return oc_kfail(k, OC_ERR_INVALID, "indices of type %s", oc_dtype_name(ind->dtype));
    const int64_t b = k->opset >= 12 ? oc_attr_int(k->node, "batch_dims", 0) : 0;
    const int r = x->ndim, q = ind->ndim;
    if (r < 1 || q < 1) return oc_kfail(k, OC_ERR_INVALID, "data and indices must have rank >= 1");
    if (b < 0 || b >= (r < q ? r : q))
        return oc_kfail(k, OC_ERR_INVALID, "batch_dims=%lld for ranks %d and %d", (long long)b, r, q);
    const int bd = (int)b;
    const int64_t m = ind->dims[q - 1];
    if (m < 1 || m > r - bd) return oc_kfail(k, OC_ERR_INVALID, "indices tuples of %lld for data of rank %d", (long long)m, r);
    for (int i = 0; i < bd; i++)
        if (ind->dims[i] != x->dims[i])
            return oc_kfail(k, OC_ERR_INVALID, "batch dim %d is %lld in indices, %lld in data", i,
                            (long long)ind->dims[i], (long long)x->dims[i]);
    int64_t dims[OC_MAX_DIMS];
    int nd = 0;
    if (q - 1 + r - bd - (int)m > OC_MAX_DIMS) return oc_kfail(k, OC_ERR_UNSUPPORTED, "output rank above %d", OC_MAX_DIMS);
    for (int i = 0; i < q - 1; i++) dims[nd++] = ind->dims[i];
    for (int i = bd + (int)m; i < r; i++) dims[nd++] = x->dims[i];
    int64_t st[OC_MAX_DIMS];
    strides_of(x, st);
    const int64_t batches = prod(x->dims, 0, bd), per_batch = ind->numel / (m ? m : 1) / (batches ? batches : 1);
    const int64_t slice = prod(x->dims, bd + (int)m, r), bstride = bd ? st[bd - 1] : 0;
    const int64_t tuples = batches * per_batch;
    /* check every index before writing anything */
    for (int64_t t = 0; t < tuples; t++)
        for (int64_t j = 0; j < m; j++) {
            int64_t v, d = x->dims[bd + j];
            if (!index_at(ind, t * m + j, d, &v)) return bad_index(k, ind, t * m + j, d);
        }
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], x->dtype, nd, dims));
    if (!out[0].numel) return OC_OK;
    const size_t blk = (size_t)slice * es;
    unsigned char *o = out[0].data;
    for (int64_t t = 0; t < tuples; t++, o += blk) {
        int64_t off = (t / per_batch) * bstride;
        for (int64_t j = 0; j < m; j++) {
            int64_t v;
            index_at(ind, t * m + j, x->dims[bd + j], &v);
            off += v * st[bd + j];
        }
        memcpy(o, (const unsigned char *)x->data + (size_t)off * es, blk);
    }
    return OC_OK;
}

/* ---- ScatterND ---- */

enum { RED_NONE, RED_ADD, RED_MUL, RED_MAX, RED_MIN };

static oc_status scatter_reduction(oc_kctx *k, int *red)
{
    char buf[16];
    const char *s = k->opset >= 16 ? oc_attr_str(k->node, "reduction", "none", buf, sizeof(buf)) : "none";
    if (strcmp(s, "none") == 0) *red = RED_NONE;
    else if (strcmp(s, "add") == 0) *red = RED_ADD;
    else if (strcmp(s, "mul") == 0) *red = RED_MUL;
    else if (strcmp(s, "max") == 0 && k->opset >= 18) *red = RED_MAX;
    else if (strcmp(s, "min") == 0 && k->opset >= 18) *red = RED_MIN;
    else return oc_kfail(k, OC_ERR_UNSUPPORTED, "reduction '%s' at opset %lld", s, (long long)k->opset);
    return OC_OK;
}

static oc_status scatter_nd_prepare(oc_kctx *k)
{
    int red = RED_NONE;
    return scatter_reduction(k, &red);
}

#define REDUCE_LOOP(T)                                                                             \
    do {                                                                                           \
        for (int64_t e = 0; e < n; e++) {                                                          \
            T a, b;                                                                                \
            memcpy(&a, dst + (size_t)e * sizeof(T), sizeof(T));                                    \
            memcpy(&b, src + (size_t)e * sizeof(T), sizeof(T));                                    \
            T c = red == RED_ADD ? (T)(a + b) : red == RED_MUL ? (T)(a * b) : red == RED_MAX ? (a > b ? a : b) \
                                                                                  : (a < b ? a : b); \
            memcpy(dst + (size_t)e * sizeof(T), &c, sizeof(T));                                    \
        }                                                                                          \
    } while (0)

/* dst[e] = dst[e] (red) src[e] for n elements at element offsets of out/upd. */
static void reduce_into(oc_ten *out, int64_t at, const oc_ten *upd, int64_t from, int64_t n, int red)
{
    size_t es = oc_ten_elem_size(out->dtype);
    unsigned char *dst = (unsigned char *)out->data + (size_t)at * es;
    const unsigned char *src = (const unsigned char *)upd->data + (size_t)from * es;
    switch (out->dtype) {
    case OC_DTYPE_FLOAT: REDUCE_LOOP(float); return;
    case OC_DTYPE_DOUBLE: REDUCE_LOOP(double); return;
    case OC_DTYPE_INT64: REDUCE_LOOP(int64_t); return;
    case OC_DTYPE_INT32: REDUCE_LOOP(int32_t); return;
    default:
        for (int64_t e = 0; e < n; e++) {
            double a = oc_ten_get(out, at + e), b = oc_ten_get(upd, from + e);
            double c = red == RED_ADD ? a + b : red == RED_MUL ? a * b : red == RED_MAX ? (a > b ? a : b) : (a < b ? a : b);
            oc_ten_set(out, at + e, c);
        }
        return;
    }
}

static oc_status scatter_nd_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    const oc_ten *x = arg(in, n_in, 0), *ind = arg(in, n_in, 1), *upd = arg(in, n_in, 2);
    NEED_INPUT(x, 0, "data");
    NEED_INPUT(ind, 1, "indices");
    NEED_INPUT(upd, 2, "updates");
    int red = RED_NONE;
    FORWARD_IF_ERROR(scatter_reduction(k, &red));
    size_t es = 0;
    FORWARD_IF_ERROR(elem_size(k, x, "data", &es));
    if (red != RED_NONE && (x->dtype == OC_DTYPE_BOOL || es > 8))
        return oc_kfail(k, OC_ERR_UNSUPPORTED, "reduction on type %s", oc_dtype_name(x->dtype));
    if (ind->dtype != OC_DTYPE_INT64) return oc_kfail(k, OC_ERR_INVALID, "indices of type %s", oc_dtype_name(ind->dtype));
    if (upd->dtype != x->dtype) return oc_kfail(k, OC_ERR_INVALID, "updates are %s, data %s", oc_dtype_name(upd->dtype), oc_dtype_name(x->dtype));
    const int r = x->ndim, q = ind->ndim;
    if (r < 1 || q < 1) return oc_kfail(k, OC_ERR_INVALID, "data and indices must have rank >= 1");
    const int64_t m = ind->dims[q - 1];
    if (m < 1 || m > r) return oc_kfail(k, OC_ERR_INVALID, "index tuples of %lld for data of rank %d", (long long)m, r);
    /* updates: indices.shape[:-1] + data.shape[m:] */
    bool ok = upd->ndim == q - 1 + r - (int)m;
    for (int i = 0; ok && i < q - 1; i++) ok = upd->dims[i] == ind->dims[i];
    for (int i = (int)m; ok && i < r; i++) ok = upd->dims[q - 1 + i - (int)m] == x->dims[i];
    if (!ok) return oc_kfail(k, OC_ERR_INVALID, "updates do not have the shape indices[:-1] + data[%lld:]", (long long)m);
    const int64_t tuples = ind->numel / m, slice = prod(x->dims, (int)m, r);
    int64_t st[OC_MAX_DIMS];
    strides_of(x, st);
    for (int64_t i = 0; i < ind->numel; i++) {
        int64_t v, d = x->dims[i % m];
        if (!index_at(ind, i, d, &v)) return bad_index(k, ind, i, d);
    }
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], x->dtype, r, x->dims));
    if (x->nbytes) memcpy(out[0].data, x->data, x->nbytes);
    for (int64_t t = 0; t < tuples; t++) {
        int64_t off = 0, v;
        for (int64_t j = 0; j < m; j++) {
            index_at(ind, t * m + j, x->dims[j], &v);
            off += v * st[j];
        }
        if (red == RED_NONE)
            memcpy((unsigned char *)out[0].data + (size_t)off * es,
                   (const unsigned char *)upd->data + (size_t)(t * slice) * es, (size_t)slice * es);
        else
            reduce_into(&out[0], off, upd, t * slice, slice, red);
    }
    return OC_OK;
}

/* ---- Expand, Tile ---- */

static oc_status expand_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    const oc_ten *x = arg(in, n_in, 0), *shp = arg(in, n_in, 1);
    NEED_INPUT(x, 0, "input");
    NEED_INPUT(shp, 1, "shape");
    size_t es = 0;
    FORWARD_IF_ERROR(elem_size(k, x, "input", &es));
    int64_t shape[OC_MAX_DIMS], dims[OC_MAX_DIMS], vs[OC_MAX_DIMS];
    size_t n;
    FORWARD_IF_ERROR(read_ints(k, shp, "shape", shape, OC_MAX_DIMS, &n));
    int nd;
    if (!oc_broadcast_shape(x->ndim, x->dims, (int)n, shape, &nd, dims))
        return oc_kfail(k, OC_ERR_INVALID, "input does not broadcast to the shape");
    oc_broadcast_strides(x, nd, dims, vs);
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], x->dtype, nd, dims));
    if (out[0].numel) copy_view(out[0].data, x->data, es, nd, dims, vs);
    return OC_OK;
}

static oc_status tile_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    const oc_ten *x = arg(in, n_in, 0), *rep = arg(in, n_in, 1);
    NEED_INPUT(x, 0, "input");
    NEED_INPUT(rep, 1, "repeats");
    size_t es = 0;
    FORWARD_IF_ERROR(elem_size(k, x, "input", &es));
    int64_t reps[OC_MAX_DIMS], st[OC_MAX_DIMS], dims[OC_MAX_DIMS];
    size_t n;
    FORWARD_IF_ERROR(read_ints(k, rep, "repeats", reps, OC_MAX_DIMS, &n));
    const int r = x->ndim;
    if ((int)n != r) return oc_kfail(k, OC_ERR_INVALID, "repeats has %zu values for an input of rank %d", n, r);
    /* the output seen as [rep0, dim0, rep1, dim1, ...] with repeats at stride 0 */
    int64_t vd[MAX_VIEW], vs[MAX_VIEW];
    strides_of(x, st);
    for (int i = 0; i < r; i++) {
        if (reps[i] < 0) return oc_kfail(k, OC_ERR_INVALID, "repeats[%d] is %lld", i, (long long)reps[i]);
        if (oc_mul_overflow_i64(x->dims[i], reps[i], &dims[i])) return oc_kfail(k, OC_ERR_INVALID, "output overflows");
        vd[2 * i] = reps[i];
        vs[2 * i] = 0;
        vd[2 * i + 1] = x->dims[i];
        vs[2 * i + 1] = st[i];
    }
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], x->dtype, r, dims));
    if (out[0].numel) copy_view(out[0].data, x->data, es, 2 * r, vd, vs);
    return OC_OK;
}

/* ---- Pad ---- */

enum { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP };

static oc_status pad_mode(oc_kctx *k, int *mode)
{
    char buf[32];
    const char *s = oc_attr_str(k->node, "mode", "constant", buf, sizeof(buf));
    if (strcmp(s, "constant") == 0) *mode = PAD_CONSTANT;
    else if (strcmp(s, "reflect") == 0) *mode = PAD_REFLECT;
    else if (strcmp(s, "edge") == 0) *mode = PAD_EDGE;
    else if (strcmp(s, "wrap") == 0 && k->opset >= 19) *mode = PAD_WRAP;
    else return oc_kfail(k, OC_ERR_UNSUPPORTED, "mode '%s' at opset %lld", s, (long long)k->opset);
    return OC_OK;
}

static oc_status pad_prepare(oc_kctx *k)
{
    int mode = PAD_CONSTANT;
    FORWARD_IF_ERROR(pad_mode(k, &mode));
    const char *pads = k->opset < 2 ? "paddings" : "pads";
    if (k->opset < 11 && !oc_node_attr(k->node, pads))
        return oc_kfail(k, OC_ERR_INVALID, "missing attribute '%s'", pads);
    return OC_OK;
}

/* Source index of output index j along an axis of size d padded by `before`;
 * -1 for a constant. */
static int64_t pad_source(int mode, int64_t j, int64_t before, int64_t d)
{
    int64_t s = j - before;
    if (s >= 0 && s < d) return s;
    switch (mode) {
    case PAD_EDGE: return s < 0 ? 0 : d - 1;
    case PAD_WRAP: return ((s % d) + d) % d;
    case PAD_REFLECT: {
        if (d == 1) return 0;
        int64_t p = 2 * (d - 1);
        s = ((s % p) + p) % p;
        return s < d ? s : p - s;
    }
    default: return -1;
    }
}

static oc_status pad_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    const oc_ten *x = arg(in, n_in, 0);
    NEED_INPUT(x, 0, "data");
    size_t es = 0;
    FORWARD_IF_ERROR(elem_size(k, x, "data", &es));
    int mode = PAD_CONSTANT;
    FORWARD_IF_ERROR(pad_mode(k, &mode));
    const int r = x->ndim;
    int64_t raw[2 * OC_MAX_DIMS], axes[OC_MAX_DIMS];
    size_t n_raw;
    unsigned char fill[16];
    memset(fill, 0, sizeof(fill));
    int ax[OC_MAX_DIMS];
    size_t n_axes = (size_t)r;
    for (int i = 0; i < r; i++) ax[i] = i;
    if (k->opset < 11) {
        int64_t cnt;
        const char *name = k->opset < 2 ? "paddings" : "pads";
        FORWARD_IF_ERROR(attr_ints(k, name, raw, 2 * OC_MAX_DIMS, &cnt));
        if (cnt < 0) return oc_kfail(k, OC_ERR_INVALID, "missing attribute '%s'", name);
        n_raw = (size_t)cnt;
        if (mode == PAD_CONSTANT) elem_from_double(x->dtype, oc_attr_float(k->node, "value", 0.0f), fill, sizeof(fill));
    } else {
        const oc_ten *tp = arg(in, n_in, 1), *tv = arg(in, n_in, 2), *ta = k->opset >= 18 ? arg(in, n_in, 3) : NULL;
        NEED_INPUT(tp, 1, "pads");
        FORWARD_IF_ERROR(read_ints(k, tp, "pads", raw, 2 * OC_MAX_DIMS, &n_raw));
        if (tv && tv->numel > 0 && mode == PAD_CONSTANT) {
            if (tv->dtype != x->dtype)
                return oc_kfail(k, OC_ERR_INVALID, "constant_value is %s, data %s", oc_dtype_name(tv->dtype),
                                oc_dtype_name(x->dtype));
            memcpy(fill, tv->data, es);
        }
        if (ta) {
            FORWARD_IF_ERROR(read_ints(k, ta, "axes", axes, OC_MAX_DIMS, &n_axes));
            FORWARD_IF_ERROR(norm_axes(k, axes, n_axes, r, ax));
        }
    }
    if (n_raw != 2 * n_axes)
        return oc_kfail(k, OC_ERR_INVALID, "pads has %zu values, needs %zu", n_raw, 2 * n_axes);
    int64_t before[OC_MAX_DIMS] = {0}, dims[OC_MAX_DIMS];
    for (int i = 0; i < r; i++) dims[i] = x->dims[i];
    for (size_t i = 0; i < n_axes; i++) {
        int a = ax[i];
        before[a] = raw[i];
        dims[a] = x->dims[a] + raw[i] + raw[i + n_axes];
        if (dims[a] < 0)
            return oc_kfail(k, OC_ERR_INVALID, "pads remove more than the %lld elements of axis %d",
                            (long long)x->dims[a], a);
        if (mode != PAD_CONSTANT && x->dims[a] == 0 && dims[a] > 0)
            return oc_kfail(k, OC_ERR_INVALID, "cannot pad the empty axis %d in this mode", a);
    }
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], x->dtype, r, dims));
    if (!out[0].numel) return OC_OK;
    if (r == 0) {
        memcpy(out[0].data, x->data, es);
        return OC_OK;
    }
    /* per-axis maps from output to source index */
    int64_t total = 0;
    for (int i = 0; i < r; i++) total += dims[i];
    int64_t *maps = oc_malloc((size_t)total * sizeof(*maps));
    if (!maps) return oc_kfail(k, OC_ERR_NOMEM, "out of memory");
    int64_t *map[OC_MAX_DIMS];
    for (int i = 0; i < r; i++) {
        map[i] = i ? map[i - 1] + dims[i - 1] : maps;
        for (int64_t j = 0; j < dims[i]; j++) map[i][j] = pad_source(mode, j, before[i], x->dims[i]);
    }
    int64_t st[OC_MAX_DIMS], idx[OC_MAX_DIMS] = {0};
    strides_of(x, st);
    const int L = r - 1;
    const int64_t w = dims[L], dw = x->dims[L];
    /* the inner run copied as one block: output [lo, hi) from source lo - before */
    int64_t lo = before[L] < 0 ? 0 : before[L];
    int64_t hi = before[L] + dw < w ? before[L] + dw : w;
    if (hi < lo) hi = lo;
    const int64_t rows = out[0].numel / w;
    const unsigned char *src = x->data;
    unsigned char *o = out[0].data;
    for (int64_t row = 0; row < rows; row++, o += (size_t)w * es) {
        int64_t off = 0;
        bool constant = false;
        for (int a = 0; a < L; a++) {
            int64_t s = map[a][idx[a]];
            if (s < 0) constant = true;
            off += s * st[a];
        }
        if (constant) {
            fill_elems(o, fill, es, w);
        } else {
            const unsigned char *srow = src + (size_t)off * es;
            for (int64_t j = 0; j < lo; j++) {
                int64_t s = map[L][j];
                memcpy(o + (size_t)j * es, s < 0 ? fill : srow + (size_t)s * es, es);
            }
            if (hi > lo) memcpy(o + (size_t)lo * es, srow + (size_t)(lo - before[L]) * es, (size_t)(hi - lo) * es);
            for (int64_t j = hi; j < w; j++) {
                int64_t s = map[L][j];
                memcpy(o + (size_t)j * es, s < 0 ? fill : srow + (size_t)s * es, es);
            }
        }
        for (int a = L - 1; a >= 0; a--) {
            if (++idx[a] < dims[a]) break;
            idx[a] = 0;
        }
    }
    oc_free(maps);
    return OC_OK;
}

/* ---- Shape, Size ---- */

static oc_status shape_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    const oc_ten *x = arg(in, n_in, 0);
    NEED_INPUT(x, 0, "data");
    const int64_t r = x->ndim;
    int64_t start = 0, end = r;
    if (k->opset >= 15) {
        start = oc_attr_int(k->node, "start", 0);
        end = oc_attr_int(k->node, "end", r);
        if (start < 0) start += r;
        if (end < 0) end += r;
        start = start < 0 ? 0 : start > r ? r : start;
        end = end < 0 ? 0 : end > r ? r : end;
    }
    int64_t n = end > start ? end - start : 0;
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], OC_DTYPE_INT64, 1, &n));
    if (n) memcpy(out[0].data, x->dims + start, (size_t)n * sizeof(int64_t));
    return OC_OK;
}

static oc_status size_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    const oc_ten *x = arg(in, n_in, 0);
    NEED_INPUT(x, 0, "data");
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], OC_DTYPE_INT64, 0, NULL));
    memcpy(out[0].data, &x->numel, sizeof(int64_t));
    return OC_OK;
}

/* ---- Range ---- */

static oc_status range_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    const oc_ten *ts = arg(in, n_in, 0), *tl = arg(in, n_in, 1), *td = arg(in, n_in, 2);
    NEED_INPUT(ts, 0, "start");
    NEED_INPUT(tl, 1, "limit");
    NEED_INPUT(td, 2, "delta");
    const int dt = ts->dtype;
    if (tl->dtype != dt || td->dtype != dt)
        return oc_kfail(k, OC_ERR_INVALID, "start, limit and delta have different types");
    if (ts->numel != 1 || tl->numel != 1 || td->numel != 1)
        return oc_kfail(k, OC_ERR_INVALID, "start, limit and delta must be scalars");
    int64_t n;
    if (dt == OC_DTYPE_FLOAT || dt == OC_DTYPE_DOUBLE) {
        const double s = oc_ten_get(ts, 0), l = oc_ten_get(tl, 0), d = oc_ten_get(td, 0);
        if (d == 0 || !isfinite(s) || !isfinite(l) || !isfinite(d))
            return oc_kfail(k, OC_ERR_INVALID, "range %g to %g by %g", s, l, d);
        double c = ceil((l - s) / d);
        if (c > 1e15) return oc_kfail(k, OC_ERR_INVALID, "range of %g elements", c);
        n = c > 0 ? (int64_t)c : 0;
        FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], dt, 1, &n));
        if (dt == OC_DTYPE_FLOAT) {
            float *o = out[0].data;
            for (int64_t i = 0; i < n; i++) o[i] = (float)(s + (double)i * d);
        } else {
            double *o = out[0].data;
            for (int64_t i = 0; i < n; i++) o[i] = s + (double)i * d;
        }
        return OC_OK;
    }
    if (dt != OC_DTYPE_INT64 && dt != OC_DTYPE_INT32 && dt != OC_DTYPE_INT16)
        return oc_kfail(k, OC_ERR_UNSUPPORTED, "range of type %s", oc_dtype_name(dt));
    const int64_t s = oc_ten_get_i64(ts, 0), l = oc_ten_get_i64(tl, 0), d = oc_ten_get_i64(td, 0);
    if (d == 0) return oc_kfail(k, OC_ERR_INVALID, "delta is 0");
    int64_t span;
    if (__builtin_sub_overflow(l, s, &span)) return oc_kfail(k, OC_ERR_INVALID, "range overflows");
    if ((span > 0) != (d > 0) || span == 0) n = 0;
    else n = span / d + (span % d != 0);
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], dt, 1, &n));
    for (int64_t i = 0; i < n; i++) {
        const int64_t v = s + i * d;
        if (dt == OC_DTYPE_INT64) ((int64_t *)out[0].data)[i] = v;
        else if (dt == OC_DTYPE_INT32) ((int32_t *)out[0].data)[i] = (int32_t)v;
        else ((int16_t *)out[0].data)[i] = (int16_t)v;
    }
    return OC_OK;
}

/* ---- DepthToSpace, SpaceToDepth ---- */

static oc_status d2s_prepare(oc_kctx *k)
{
    if (oc_attr_int(k->node, "blocksize", 0) < 1) return oc_kfail(k, OC_ERR_INVALID, "blocksize must be >= 1");
    if (strcmp(k->node->op_type, "DepthToSpace") == 0 && k->opset >= 11) {
        char buf[16];
        const char *m = oc_attr_str(k->node, "mode", "DCR", buf, sizeof(buf));
        if (strcmp(m, "DCR") && strcmp(m, "CRD")) return oc_kfail(k, OC_ERR_UNSUPPORTED, "mode '%s'", m);
    }
    return OC_OK;
}

static oc_status space_depth_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, bool to_space)
{
    const oc_ten *x = arg(in, n_in, 0);
    NEED_INPUT(x, 0, "input");
    FORWARD_IF_ERROR(d2s_prepare(k));
    size_t es = 0;
    FORWARD_IF_ERROR(elem_size(k, x, "input", &es));
    if (x->ndim != 4) return oc_kfail(k, OC_ERR_INVALID, "input of rank %d (needs 4)", x->ndim);
    const int64_t bs = oc_attr_int(k->node, "blocksize", 0);
    const int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3];
    int64_t st[4], dims[4], vd[6], vs[6];
    strides_of(x, st);
    if (to_space) {
        char buf[16];
        bool crd = k->opset >= 11 && strcmp(oc_attr_str(k->node, "mode", "DCR", buf, sizeof(buf)), "CRD") == 0;
        if (C % (bs * bs)) return oc_kfail(k, OC_ERR_INVALID, "%lld channels for blocksize %lld", (long long)C, (long long)bs);
        const int64_t c = C / (bs * bs);
        const int64_t d[4] = {N, c, H * bs, W * bs};
        memcpy(dims, d, sizeof(d));
        /* output as [N, c, H, b1, W, b2]; input channel (b1*bs + b2)*c + ch
         * (DCR) or ch*bs*bs + b1*bs + b2 (CRD) */
        const int64_t v[6] = {N, c, H, bs, W, bs};
        const int64_t s[6] = {st[0], crd ? bs * bs * st[1] : st[1], st[2], crd ? bs * st[1] : bs * c * st[1], st[3],
                              crd ? st[1] : c * st[1]};
        memcpy(vd, v, sizeof(v));
        memcpy(vs, s, sizeof(s));
    } else {
        if (H % bs || W % bs)
            return oc_kfail(k, OC_ERR_INVALID, "%lldx%lld is not a multiple of blocksize %lld", (long long)H,
                            (long long)W, (long long)bs);
        const int64_t d[4] = {N, C * bs * bs, H / bs, W / bs};
        memcpy(dims, d, sizeof(d));
        /* output as [N, b1, b2, C, H/bs, W/bs] */
        const int64_t v[6] = {N, bs, bs, C, H / bs, W / bs};
        const int64_t s[6] = {st[0], st[2], st[3], st[1], bs * st[2], bs * st[3]};
        memcpy(vd, v, sizeof(v));
        memcpy(vs, s, sizeof(s));
    }
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], x->dtype, 4, dims));
    if (out[0].numel) copy_view(out[0].data, x->data, es, 6, vd, vs);
    return OC_OK;
}

static oc_status d2s_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    return space_depth_run(k, in, n_in, out, true);
}

static oc_status s2d_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    return space_depth_run(k, in, n_in, out, false);
}

/* ---- NonZero ---- */

static inline bool nonzero_at(const unsigned char *p, int dtype, size_t es)
{
    switch (dtype) {
    case OC_DTYPE_FLOAT: { float v; memcpy(&v, p, 4); return v != 0.0f; }
    case OC_DTYPE_DOUBLE: { double v; memcpy(&v, p, 8); return v != 0.0; }
    case OC_DTYPE_FLOAT16: case OC_DTYPE_BFLOAT16: { uint16_t v; memcpy(&v, p, 2); return (v & 0x7fff) != 0; }
    /* 0x80 is -0 in these two, NaN in the FNUZ variants */
    case OC_DTYPE_FLOAT8E4M3FN: case OC_DTYPE_FLOAT8E5M2: return (p[0] & 0x7f) != 0;
    default:
        for (size_t b = 0; b < es; b++)
            if (p[b]) return true;
        return false;
    }
}

static oc_status nonzero_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    const oc_ten *x = arg(in, n_in, 0);
    NEED_INPUT(x, 0, "X");
    size_t es = 0;
    FORWARD_IF_ERROR(elem_size(k, x, "input", &es));
    const unsigned char *p = x->data;
    int64_t nnz = 0;
    for (int64_t i = 0; i < x->numel; i++) nnz += nonzero_at(p + (size_t)i * es, x->dtype, es);
    /* a scalar counts as one axis of size 1, as numpy does */
    const int r = x->ndim ? x->ndim : 1;
    int64_t dims[2] = {r, nnz};
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], OC_DTYPE_INT64, 2, dims));
    int64_t *o = out[0].data, idx[OC_MAX_DIMS] = {0}, at = 0;
    for (int64_t i = 0; i < x->numel; i++) {
        if (nonzero_at(p + (size_t)i * es, x->dtype, es)) {
            for (int a = 0; a < r; a++) o[a * nnz + at] = idx[a];
            at++;
        }
        for (int a = x->ndim - 1; a >= 0; a--) {
            if (++idx[a] < x->dims[a]) break;
            idx[a] = 0;
        }
    }
    return OC_OK;
}

/* ---- Trilu ---- */

static oc_status trilu_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    const oc_ten *x = arg(in, n_in, 0), *tk = arg(in, n_in, 1);
    NEED_INPUT(x, 0, "input");
    size_t es = 0;
    FORWARD_IF_ERROR(elem_size(k, x, "input", &es));
    if (x->ndim < 2) return oc_kfail(k, OC_ERR_INVALID, "input of rank %d (needs >= 2)", x->ndim);
    int64_t diag = 0;
    if (tk) {
        if (!is_index_type(tk->dtype) || tk->numel != 1)
            return oc_kfail(k, OC_ERR_INVALID, "k must be an int64 scalar");
        diag = oc_ten_get_i64(tk, 0);
    }
    const bool upper = oc_attr_int(k->node, "upper", 1) != 0;
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], x->dtype, x->ndim, x->dims));
    if (!out[0].numel) return OC_OK;
    memcpy(out[0].data, x->data, x->nbytes);
    const int64_t R = x->dims[x->ndim - 2], C = x->dims[x->ndim - 1], mats = x->numel / (R * C);
    unsigned char *o = out[0].data;
    for (int64_t m = 0; m < mats; m++) {
        for (int64_t i = 0; i < R; i++) {
            unsigned char *row = o + (size_t)((m * R + i) * C) * es;
            /* keep col - row >= k (upper) or col - row <= k (lower) */
            int64_t a, b;
            if (upper) {
                a = 0;
                b = i + diag;
            } else {
                a = i + diag + 1;
                b = C;
            }
            a = a < 0 ? 0 : a > C ? C : a;
            b = b < 0 ? 0 : b > C ? C : b;
            if (b > a) memset(row + (size_t)a * es, 0, (size_t)(b - a) * es);
        }
    }
    return OC_OK;
}

/* ---- OneHot ---- */

static oc_status onehot_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    const oc_ten *ind = arg(in, n_in, 0), *td = arg(in, n_in, 1), *tv = arg(in, n_in, 2);
    NEED_INPUT(ind, 0, "indices");
    NEED_INPUT(td, 1, "depth");
    NEED_INPUT(tv, 2, "values");
    size_t es = 0;
    FORWARD_IF_ERROR(elem_size(k, tv, "values", &es));
    if (td->numel != 1) return oc_kfail(k, OC_ERR_INVALID, "depth has %lld elements", (long long)td->numel);
    if (tv->numel != 2) return oc_kfail(k, OC_ERR_INVALID, "values has %lld elements", (long long)tv->numel);
    if (ind->dtype == OC_DTYPE_STRING || oc_dtype_bits(ind->dtype) < 8)
        return oc_kfail(k, OC_ERR_UNSUPPORTED, "indices of type %s", oc_dtype_name(ind->dtype));
    const int64_t depth = oc_ten_get_i64(td, 0);
    if (depth < 0) return oc_kfail(k, OC_ERR_INVALID, "depth %lld", (long long)depth);
    const int r = ind->ndim + 1;
    if (r > OC_MAX_DIMS) return oc_kfail(k, OC_ERR_UNSUPPORTED, "output of rank %d (at most %d)", r, OC_MAX_DIMS);
    int axis = 0;
    FORWARD_IF_ERROR(norm_axis(k, oc_attr_int(k->node, "axis", -1), r, "axis", &axis));
    int64_t dims[OC_MAX_DIMS];
    for (int i = 0, j = 0; i < r; i++) dims[i] = i == axis ? depth : ind->dims[j++];
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], tv->dtype, r, dims));
    if (!out[0].numel) return OC_OK;
    const unsigned char *off = tv->data, *on = off + es;
    unsigned char *o = out[0].data;
    fill_elems(o, off, es, out[0].numel);
    const int64_t inner = prod(ind->dims, axis, ind->ndim);
    for (int64_t i = 0; i < ind->numel; i++) {
        int64_t v = oc_ten_get_i64(ind, i);
        if (v < 0 && k->opset >= 11) v += depth;
        if (v < 0 || v >= depth) continue;
        const int64_t b = i / inner, e = i % inner;
        memcpy(o + (size_t)((b * depth + v) * inner + e) * es, on, es);
    }
    return OC_OK;
}

/* ---- the table ---- */

/* One entry per version whose behaviour differs; the kernels read k->opset
 * for the details (which attributes exist, where axes come from). */
const oc_op_def oc_ops_shape[] = {
    {"", "Concat", 1, concat_prepare, concat_run},     /* axis defaults to 1 */
    {"", "Concat", 4, concat_prepare, concat_run},     /* axis required */
    {"", "Concat", 11, concat_prepare, concat_run},    /* negative axis */
    {"", "Constant", 1, constant_prepare, constant_run},
    {"", "Constant", 12, constant_prepare, constant_run}, /* value_float(s) / value_int(s) */
    {"", "ConstantOfShape", 9, cos_prepare, cos_run},
    {"", "DepthToSpace", 1, d2s_prepare, d2s_run},     /* DCR only */
    {"", "DepthToSpace", 11, d2s_prepare, d2s_run},    /* mode DCR / CRD */
    {"", "Expand", 8, NULL, expand_run},
    {"", "Flatten", 1, NULL, flatten_run},
    {"", "Flatten", 11, NULL, flatten_run},            /* negative axis */
    {"", "Gather", 1, NULL, gather_run},
    {"", "Gather", 11, NULL, gather_run},              /* negative indices */
    {"", "GatherElements", 11, NULL, gather_elements_run},
    {"", "GatherND", 11, NULL, gather_nd_run},
    {"", "GatherND", 12, NULL, gather_nd_run},         /* batch_dims */
    {"", "NonZero", 9, NULL, nonzero_run},
    {"", "OneHot", 9, NULL, onehot_run},               /* negative index: off */
    {"", "OneHot", 11, NULL, onehot_run},              /* negative index counts back */
    {"", "Pad", 1, pad_prepare, pad_run},              /* attributes paddings, value */
    {"", "Pad", 2, pad_prepare, pad_run},              /* attributes pads, value */
    {"", "Pad", 11, pad_prepare, pad_run},             /* inputs pads, constant_value */
    {"", "Pad", 18, pad_prepare, pad_run},             /* input axes */
    {"", "Pad", 19, pad_prepare, pad_run},             /* mode wrap */
    {"", "Range", 11, NULL, range_run},
    {"", "Reshape", 1, reshape1_prepare, reshape1_run}, /* shape attribute */
    {"", "Reshape", 5, reshape_prepare, reshape_run},   /* shape input */
    {"", "Reshape", 14, reshape_prepare, reshape_run},  /* allowzero */
    {"", "ScatterND", 11, scatter_nd_prepare, scatter_nd_run},
    {"", "ScatterND", 16, scatter_nd_prepare, scatter_nd_run}, /* reduction add / mul */
    {"", "ScatterND", 18, scatter_nd_prepare, scatter_nd_run}, /* reduction max / min */
    {"", "Shape", 1, NULL, shape_run},
    {"", "Shape", 15, NULL, shape_run},                /* start / end */
    {"", "Size", 1, NULL, size_run},
    {"", "Slice", 1, slice1_prepare, slice_run},       /* attributes starts, ends, axes */
    {"", "Slice", 10, NULL, slice_run},                /* inputs, with steps */
    {"", "SpaceToDepth", 1, d2s_prepare, s2d_run},
    {"", "Split", 1, split_prepare, split_run},        /* split input or attribute */
    {"", "Split", 2, split_prepare, split_run},        /* split attribute */
    {"", "Split", 13, split_prepare, split_run},       /* split input */
    {"", "Split", 18, split_prepare, split_run},       /* num_outputs */
    {"", "Squeeze", 1, NULL, squeeze_run},             /* axes attribute */
    {"", "Squeeze", 13, NULL, squeeze_run},            /* axes input */
    {"", "Tile", 6, NULL, tile_run},
    {"", "Transpose", 1, transpose_prepare, transpose_run},
    {"", "Trilu", 14, NULL, trilu_run},
    {"", "Unsqueeze", 1, unsqueeze_prepare, unsqueeze_run},  /* axes attribute */
    {"", "Unsqueeze", 13, unsqueeze_prepare, unsqueeze_run}, /* axes input */
};
const size_t oc_ops_shape_count = sizeof(oc_ops_shape) / sizeof(oc_ops_shape[0]);
