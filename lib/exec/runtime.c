/* runtime.c: what every kernel uses: runtime tensor allocation and element
 * access, attribute lookups, broadcasting, error messages naming the node,
 * and the op registry (one table sorted by domain, op and version, built from
 * the kernel families' tables on first use). */
#include "exec.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- tensors ---- */

size_t oc_ten_elem_size(int dtype)
{
    int bits = oc_dtype_bits(dtype);
    return bits >= 8 ? (size_t)bits / 8 : 0;
}

/* An allocation failure, naming k's node when there is one (the message
 * is only formatted here, not on every allocation). */
static oc_status alloc_fail(oc_ctx *ctx, const oc_kctx *k, oc_status st, const char *fmt, ...) OC_PRINTF(4, 5);

static oc_status alloc_fail(oc_ctx *ctx, const oc_kctx *k, oc_status st, const char *fmt, ...)
{
    char detail[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    if (!k) return oc_fail(ctx, st, "tensor: %s", detail);
    return oc_fail(ctx, st, "node '%s' (%s): %s", k->node->name ? k->node->name : "", k->node->op_type, detail);
}

/* Shapes t and gives it storage: zeroed unless `zero` is false (the
 * caller writes every byte). */
static oc_status ten_alloc(oc_ctx *ctx, struct oc_exec *ex, const oc_kctx *who, oc_ten *t, int dtype, int ndim,
                           const int64_t *dims, bool zero)
{
    memset(t, 0, sizeof(*t));
    if (ndim < 0 || ndim > OC_MAX_DIMS)
        return alloc_fail(ctx, who, OC_ERR_UNSUPPORTED, "tensor of rank %d (at most %d)", ndim, OC_MAX_DIMS);
    t->dtype = dtype;
    t->ndim = ndim;
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (dims[i] < 0) return alloc_fail(ctx, who, OC_ERR_INVALID, "negative dim %lld", (long long)dims[i]);
        t->dims[i] = dims[i];
        if (oc_mul_overflow_i64(n, dims[i], &n)) return alloc_fail(ctx, who, OC_ERR_INVALID, "tensor size overflows");
    }
    t->numel = n;
    int64_t bytes = oc_tensor_expected_nbytes(dtype, n);
    if (bytes < 0 || dtype == OC_DTYPE_STRING)
        return alloc_fail(ctx, who, OC_ERR_UNSUPPORTED, "cannot allocate a tensor of type %s", oc_dtype_name(dtype));
    /* refuse sizes no machine here can hold rather than thrash */
    if ((uint64_t)bytes > ((uint64_t)1 << 40))
        return alloc_fail(ctx, who, OC_ERR_NOMEM, "tensor of %lld bytes", (long long)bytes);
    size_t cap = ((size_t)bytes + 63) & ~(size_t)63;
    if (!cap) cap = 64;
    /* a buffer a finished tensor gave back: no page faults for a fresh mapping */
    void *p = ex ? oc_exec_buf_get(ex, cap) : NULL;
    if (!p) p = oc_aligned_alloc(64, cap);
    if (!p) return alloc_fail(ctx, who, OC_ERR_NOMEM, "out of memory for %lld bytes", (long long)bytes);
    if (zero) memset(p, 0, cap);
    else memset((char *)p + bytes, 0, cap - (size_t)bytes); /* the padding past the data */
    t->data = p;
    t->nbytes = (size_t)bytes;
    return OC_OK;
}

oc_status oc_ten_new(oc_ctx *ctx, oc_ten *t, int dtype, int ndim, const int64_t *dims)
{
    return ten_alloc(ctx, NULL, NULL, t, dtype, ndim, dims, true);
}

oc_status oc_ten_alloc(oc_kctx *k, oc_ten *t, int dtype, int ndim, const int64_t *dims)
{
    oc_ten_release(t);
    return ten_alloc(k->ctx, k->ex, k, t, dtype, ndim, dims, true);
}

oc_status oc_ten_alloc_full(oc_kctx *k, oc_ten *t, int dtype, int ndim, const int64_t *dims)
{
    oc_ten_release(t);
    return ten_alloc(k->ctx, k->ex, k, t, dtype, ndim, dims, false);
}

oc_status oc_ten_copy_reshape(oc_kctx *k, oc_ten *out, const oc_ten *in, int ndim, const int64_t *dims)
{
    if (in->dtype == OC_DTYPE_STRING) {
        /* strings stay borrowed: their bytes live in the model or the input */
        oc_ten_release(out);
        memset(out, 0, sizeof(*out));
        out->dtype = in->dtype;
        out->ndim = ndim;
        out->numel = 1;
        for (int i = 0; i < ndim; i++) {
            out->dims[i] = dims[i];
            out->numel *= dims[i];
        }
        if (out->numel != in->numel) return oc_kfail(k, OC_ERR_INVALID, "reshape changes the element count");
        out->strings = in->strings;
        out->borrowed = true;
        return OC_OK;
    }
    /* every byte is copied below: no need to zero them first */
    oc_ten_release(out);
    FORWARD_IF_ERROR(ten_alloc(k->ctx, k->ex, k, out, in->dtype, ndim, dims, false));
    if (out->numel != in->numel)
        return oc_kfail(k, OC_ERR_INVALID, "cannot reshape %lld elements into %lld", (long long)in->numel,
                        (long long)out->numel);
    const size_t n = in->nbytes < out->nbytes ? in->nbytes : out->nbytes;
    if (n) memcpy(out->data, in->data, n);
    if (n < out->nbytes) memset((char *)out->data + n, 0, out->nbytes - n);
    return OC_OK;
}

bool oc_ten_any_half(const oc_ten *const *in, size_t n_in)
{
    for (size_t i = 0; i < n_in; i++)
        if (in[i] && (in[i]->dtype == OC_DTYPE_FLOAT16 || in[i]->dtype == OC_DTYPE_BFLOAT16)) return true;
    return false;
}

oc_status oc_run_widened(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out,
                         oc_kernel_fn fn)
{
    oc_status st = OC_ERR_NOMEM;
    oc_ten *tmp = oc_calloc(n_in + n_out, sizeof(*tmp));
    const oc_ten **view = oc_calloc(n_in ? n_in : 1, sizeof(*view));
    if (!tmp || !view) {
        st = oc_kfail(k, OC_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < n_in; i++) {
        view[i] = in[i];
        if (!in[i] || (in[i]->dtype != OC_DTYPE_FLOAT16 && in[i]->dtype != OC_DTYPE_BFLOAT16)) continue;
        st = oc_ten_alloc_full(k, &tmp[i], OC_DTYPE_FLOAT, in[i]->ndim, in[i]->dims);
        if (st != OC_OK) goto cleanup;
        const unsigned char *p = in[i]->data;
        float *w = tmp[i].data;
        for (int64_t j = 0; j < in[i]->numel; j++) {
            uint16_t h;
            memcpy(&h, p + 2 * j, 2);
            w[j] = in[i]->dtype == OC_DTYPE_FLOAT16 ? oc_half_to_float(h) : oc_bf16_to_float(h);
        }
        view[i] = &tmp[i];
    }
    oc_ten *res = tmp + n_in;
    st = fn(k, view, n_in, res, n_out);
    if (st != OC_OK) goto cleanup;
    const int back = n_in && in[0] && (in[0]->dtype == OC_DTYPE_FLOAT16 || in[0]->dtype == OC_DTYPE_BFLOAT16)
                         ? in[0]->dtype
                         : 0;
    for (size_t j = 0; j < n_out; j++) {
        if (back && res[j].data && res[j].dtype == OC_DTYPE_FLOAT) {
            st = oc_ten_alloc_full(k, &out[j], back, res[j].ndim, res[j].dims);
            if (st != OC_OK) goto cleanup;
            uint16_t *q = out[j].data;
            if (back == OC_DTYPE_FLOAT16) {
                oc_float_to_half_n(res[j].data, q, (size_t)res[j].numel, 0);
            } else {
                const float *f = res[j].data;
                for (int64_t i = 0; i < res[j].numel; i++) q[i] = oc_float_to_bf16(f[i]);
            }
        } else {
            oc_ten_release(&out[j]);
            out[j] = res[j];
            memset(&res[j], 0, sizeof(res[j]));
        }
    }
cleanup:
    if (tmp)
        for (size_t i = 0; i < n_in + n_out; i++) oc_ten_release(&tmp[i]);
    oc_free(tmp);
    oc_free(view);
    return st;
}

void oc_ten_release(oc_ten *t)
{
    if (!t) return;
    if (!t->borrowed) oc_aligned_free(t->data);
    memset(t, 0, sizeof(*t));
}

double oc_ten_get(const oc_ten *t, int64_t i)
{
    oc_tensor view;
    memset(&view, 0, sizeof(view));
    view.dtype = t->dtype;
    view.numel = t->numel;
    view.data = t->data;
    view.nbytes = t->nbytes;
    return oc_tensor_get(&view, i);
}

int64_t oc_ten_get_i64(const oc_ten *t, int64_t i)
{
    if (i < 0 || i >= t->numel) return 0;
    const unsigned char *p = t->data;
    switch (t->dtype) {
    case OC_DTYPE_INT64: { int64_t v; memcpy(&v, p + 8 * i, 8); return v; }
    case OC_DTYPE_INT32: { int32_t v; memcpy(&v, p + 4 * i, 4); return v; }
    case OC_DTYPE_UINT64: { uint64_t v; memcpy(&v, p + 8 * i, 8); return (int64_t)v; }
    default: {
        double d = oc_ten_get(t, i);
        if (!(d == d)) return 0;
        if (d >= 9.2e18) return INT64_MAX;
        if (d <= -9.2e18) return INT64_MIN;
        return (int64_t)d;
    }
    }
}


void oc_ten_set(oc_ten *t, int64_t i, double v)
{
    if (i < 0 || i >= t->numel) return;
    unsigned char *p = t->data;
    switch (t->dtype) {
    case OC_DTYPE_FLOAT: { float f = (float)v; memcpy(p + 4 * i, &f, 4); return; }
    case OC_DTYPE_DOUBLE: memcpy(p + 8 * i, &v, 8); return;
    case OC_DTYPE_FLOAT16: { uint16_t h = oc_float_to_half((float)v); memcpy(p + 2 * i, &h, 2); return; }
    case OC_DTYPE_BFLOAT16: { uint16_t h = oc_float_to_bf16((float)v); memcpy(p + 2 * i, &h, 2); return; }
    case OC_DTYPE_INT8: p[i] = (uint8_t)(int8_t)v; return;
    case OC_DTYPE_UINT8: p[i] = (uint8_t)v; return;
    case OC_DTYPE_BOOL: p[i] = v != 0.0; return;
    case OC_DTYPE_INT16: { int16_t x = (int16_t)v; memcpy(p + 2 * i, &x, 2); return; }
    case OC_DTYPE_UINT16: { uint16_t x = (uint16_t)v; memcpy(p + 2 * i, &x, 2); return; }
    case OC_DTYPE_INT32: { int32_t x = (int32_t)v; memcpy(p + 4 * i, &x, 4); return; }
    case OC_DTYPE_UINT32: { uint32_t x = (uint32_t)v; memcpy(p + 4 * i, &x, 4); return; }
    case OC_DTYPE_INT64: { int64_t x = (int64_t)v; memcpy(p + 8 * i, &x, 8); return; }
    case OC_DTYPE_UINT64: { uint64_t x = (uint64_t)v; memcpy(p + 8 * i, &x, 8); return; }
    case OC_DTYPE_INT4: case OC_DTYPE_UINT4: {
        int x = (int)v & 0xf;
        unsigned char *b = p + i / 2;
        if (i & 1) *b = (unsigned char)((*b & 0x0f) | x << 4);
        else *b = (unsigned char)((*b & 0xf0) | x);
        return;
    }
    default: return;
    }
}

/* ---- attributes ---- */

const oc_attr *oc_node_attr(const oc_node *n, const char *name)
{
    for (size_t i = 0; i < n->n_attrs; i++)
        if (strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
    return NULL;
}

int64_t oc_attr_int(const oc_node *n, const char *name, int64_t def)
{
    const oc_attr *a = oc_node_attr(n, name);
    return a && (a->has_i || a->type == OC_ATTR_INT) ? a->i : def;
}

float oc_attr_float(const oc_node *n, const char *name, float def)
{
    const oc_attr *a = oc_node_attr(n, name);
    return a && (a->has_f || a->type == OC_ATTR_FLOAT) ? a->f : def;
}

const char *oc_attr_str(const oc_node *n, const char *name, const char *def, char *buf, size_t cap)
{
    const oc_attr *a = oc_node_attr(n, name);
    if (!a || !(a->has_s || a->type == OC_ATTR_STRING)) return def;
    size_t len = a->s.len < cap - 1 ? a->s.len : cap - 1;
    if (len) memcpy(buf, a->s.data, len);
    buf[len] = 0;
    return buf;
}

int64_t oc_attr_ints(const oc_node *n, const char *name, const int64_t **out)
{
    const oc_attr *a = oc_node_attr(n, name);
    if (!a) return -1;
    *out = a->ints;
    return (int64_t)a->n_ints;
}

int64_t oc_attr_floats(const oc_node *n, const char *name, const float **out)
{
    const oc_attr *a = oc_node_attr(n, name);
    if (!a) return -1;
    *out = a->floats;
    return (int64_t)a->n_floats;
}

oc_status oc_kfail(oc_kctx *k, oc_status st, const char *fmt, ...)
{
    char detail[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    return oc_fail(k->ctx, st, "node '%s' (%s): %s", k->node->name ? k->node->name : "", k->node->op_type,
                   detail);
}

/* ---- broadcasting ---- */

bool oc_broadcast_shape(int na, const int64_t *a, int nb, const int64_t *b, int *nout, int64_t *out)
{
    int n = na > nb ? na : nb;
    if (n > OC_MAX_DIMS) return false;
    for (int i = 0; i < n; i++) {
        int64_t da = i < n - na ? 1 : a[i - (n - na)];
        int64_t db = i < n - nb ? 1 : b[i - (n - nb)];
        if (da == db || db == 1) out[i] = da;
        else if (da == 1) out[i] = db;
        else return false;
    }
    *nout = n;
    return true;
}

void oc_broadcast_strides(const oc_ten *t, int nout, const int64_t *out, int64_t *strides)
{
    int64_t s = 1;
    for (int i = nout - 1; i >= 0; i--) {
        int ti = i - (nout - t->ndim);
        if (ti < 0) {
            strides[i] = 0;
            continue;
        }
        strides[i] = t->dims[ti] == 1 && out[i] != 1 ? 0 : s;
        s *= t->dims[ti];
    }
}

/* ---- registry ---- */

static const oc_op_def **table;
static size_t table_n;
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static int cmp_def(const void *a, const void *b)
{
    const oc_op_def *x = *(const oc_op_def *const *)a, *y = *(const oc_op_def *const *)b;
    int c = strcmp(x->domain, y->domain);
    if (c) return c;
    c = strcmp(x->op_type, y->op_type);
    if (c) return c;
    return (x->since > y->since) - (x->since < y->since);
}

static void build_table(void)
{
    static const struct {
        const oc_op_def *defs;
        const size_t *n;
    } families[] = {
        {oc_ops_elementwise, &oc_ops_elementwise_count}, {oc_ops_shape, &oc_ops_shape_count}, {oc_ops_index, &oc_ops_index_count},
        {oc_ops_nn, &oc_ops_nn_count},                   {oc_ops_reduce, &oc_ops_reduce_count},
        {oc_ops_rnn, &oc_ops_rnn_count},                 {oc_ops_quant, &oc_ops_quant_count},
        {oc_ops_control, &oc_ops_control_count},
    };
    size_t n = 0;
    for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++) n += *families[f].n;
    /* allocated once for the process; plain malloc so allocation-failure
     * tests do not see it */
    table = malloc((n ? n : 1) * sizeof(*table));
    if (!table) return;
    for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++)
        for (size_t i = 0; i < *families[f].n; i++) table[table_n++] = &families[f].defs[i];
    qsort(table, table_n, sizeof(*table), cmp_def);
}

const oc_op_def *oc_op_find(const char *domain, const char *op_type, int64_t opset)
{
    pthread_once(&table_once, build_table);
    const char *d = domain && strcmp(domain, "ai.onnx") != 0 ? domain : "";
    const oc_op_def *best = NULL;
    /* binary search for the first entry of (domain, op_type) */
    size_t lo = 0, hi = table_n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(table[mid]->domain, d);
        if (!c) c = strcmp(table[mid]->op_type, op_type);
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    for (size_t i = lo; i < table_n; i++) {
        if (strcmp(table[i]->domain, d) || strcmp(table[i]->op_type, op_type)) break;
        if (table[i]->since <= opset) best = table[i];
    }
    return best;
}
