/* ops_shape.c: kernels that move data without computing on it: constants,
 * reshapes, transposes, slices, concatenation and splits, padding, tiling and
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
#include "ops_shape_int.h"

/* (Gather, GatherElements, GatherND, ScatterND, NonZero and OneHot are in
 * ops_index.c.) */

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
        if (oc_ten_misaligned(t->data, t->dtype)) { /* a typed read needs the element's alignment: copy */
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
    int64_t st[OC_MAX_DIMS] = {0}, dims[OC_MAX_DIMS], vs[OC_MAX_DIMS];
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
    {"", "Pad", 1, pad_prepare, pad_run},              /* attributes paddings, value */
    {"", "Pad", 2, pad_prepare, pad_run},              /* attributes pads, value */
    {"", "Pad", 11, pad_prepare, pad_run},             /* inputs pads, constant_value */
    {"", "Pad", 18, pad_prepare, pad_run},             /* input axes */
    {"", "Pad", 19, pad_prepare, pad_run},             /* mode wrap */
    {"", "Range", 11, NULL, range_run},
    {"", "Reshape", 1, reshape1_prepare, reshape1_run}, /* shape attribute */
    {"", "Reshape", 5, reshape_prepare, reshape_run},   /* shape input */
    {"", "Reshape", 14, reshape_prepare, reshape_run},  /* allowzero */
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
