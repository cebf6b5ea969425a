/* ops_index.c: kernels that move data by index: Gather, GatherElements,
 * GatherND, ScatterND, NonZero and OneHot. Indices are int32 or int64,
 * negative ones count from the back where the opset says so, and every index
 * is checked against its dimension before an element moves. Elements move as
 * bytes (any fixed-width type), as in ops_shape.c. */
#include "ops_shape_int.h"

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

const oc_op_def oc_ops_index[] = {
    {"", "Gather", 1, NULL, gather_run},
    {"", "Gather", 11, NULL, gather_run},              /* negative indices */
    {"", "GatherElements", 11, NULL, gather_elements_run},
    {"", "GatherND", 11, NULL, gather_nd_run},
    {"", "GatherND", 12, NULL, gather_nd_run},         /* batch_dims */
    {"", "NonZero", 9, NULL, nonzero_run},
    {"", "OneHot", 9, NULL, onehot_run},               /* negative index: off */
    {"", "OneHot", 11, NULL, onehot_run},              /* negative index counts back */
    {"", "ScatterND", 11, scatter_nd_prepare, scatter_nd_run},
    {"", "ScatterND", 16, scatter_nd_prepare, scatter_nd_run}, /* reduction add / mul */
    {"", "ScatterND", 18, scatter_nd_prepare, scatter_nd_run}, /* reduction max / min */
};
const size_t oc_ops_index_count = sizeof(oc_ops_index) / sizeof(oc_ops_index[0]);
