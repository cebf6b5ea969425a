/* ops_reduce.c: kernels that fold a tensor along axes: the Reduce* family,
 * ArgMax/ArgMin, TopK, CumSum and Hardmax.
 *
 * Reductions plan once per call: axes of size 1 are dropped and neighbouring
 * axes that are both reduced or both kept are merged, so the walk over the
 * input is one pass in memory order whose innermost run is either folded into
 * one accumulator (reducing the last axis) or added element by element into a
 * contiguous row of accumulators (keeping it). float32 accumulates in double;
 * int64 and int32 in int64 with wrap-around; the other numeric types go
 * through double. Where an op takes its axes from an attribute or an input
 * depends on the opset (ReduceSum moved at 13, the others at 18), and each
 * version has its own table entry. */
#include "exec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- small shared helpers ---- */

static bool want_output(const oc_kctx *k, size_t i, size_t n_out)
{
    if (i >= n_out) return false;
    if (i >= k->node->n_outputs) return true;
    return k->node->outputs[i] && k->node->outputs[i][0];
}

static int64_t prod_dims(const int64_t *dims, int from, int to)
{
    int64_t p = 1;
    for (int i = from; i < to; i++) p *= dims[i];
    return p;
}

/* axis in [-rank, rank) to [0, rank); -1 when out of range */
static int norm_axis(int64_t a, int rank)
{
    if (a < -(int64_t)rank || a >= (int64_t)rank) return -1;
    return (int)(a < 0 ? a + rank : a);
}

static bool is_int_path(int dt)
{
    return dt == OC_DTYPE_INT64 || dt == OC_DTYPE_INT32;
}

static bool numeric_type(int dt)
{
    switch (dt) {
    case OC_DTYPE_FLOAT: case OC_DTYPE_DOUBLE: case OC_DTYPE_FLOAT16: case OC_DTYPE_BFLOAT16:
    case OC_DTYPE_INT8: case OC_DTYPE_UINT8: case OC_DTYPE_INT16: case OC_DTYPE_UINT16:
    case OC_DTYPE_INT32: case OC_DTYPE_UINT32: case OC_DTYPE_INT64: case OC_DTYPE_UINT64:
        return true;
    default:
        return false;
    }
}

static int64_t load_i64(const oc_ten *t, int64_t i)
{
    if (t->dtype == OC_DTYPE_INT64) return ((const int64_t *)t->data)[i];
    if (t->dtype == OC_DTYPE_INT32) return ((const int32_t *)t->data)[i];
    return oc_ten_get_i64(t, i);
}

/* ---- reduction plan ---- */

typedef struct rplan {
    int n;                      /* merged rank, >= 1 */
    int64_t dims[OC_MAX_DIMS];
    bool red[OC_MAX_DIMS];
    int64_t ostride[OC_MAX_DIMS]; /* output stride per merged axis, 0 when reduced */
    int64_t count;              /* input elements folded into each output */
    int64_t out_numel;
} rplan;

static void plan_reduce(rplan *p, int rank, const int64_t *dims, const bool *mask)
{
    memset(p, 0, sizeof(*p));
    p->count = 1;
    p->out_numel = 1;
    for (int i = 0; i < rank; i++) {
        if (mask[i]) p->count *= dims[i];
        else p->out_numel *= dims[i];
        if (dims[i] == 1) continue;
        if (p->n > 0 && p->red[p->n - 1] == mask[i]) {
            p->dims[p->n - 1] *= dims[i];
        } else {
            p->dims[p->n] = dims[i];
            p->red[p->n] = mask[i];
            p->n++;
        }
    }
    if (p->n == 0) {
        p->n = 1;
        p->dims[0] = 1;
        p->red[0] = false;
    }
    int64_t s = 1;
    for (int i = p->n - 1; i >= 0; i--) {
        p->ostride[i] = p->red[i] ? 0 : s;
        if (!p->red[i]) s *= p->dims[i];
    }
}

/* what is folded: the accumulation kinds */
enum { K_SUM, K_SUMSQ, K_L1, K_EXPSUM, K_PROD, K_MAX, K_MIN };
/* what is done to each accumulator at the end */
enum { F_NONE, F_MEAN, F_SQRT, F_LOG, F_LSE };

/* Walks the input once in memory order; acc has out_numel entries already
 * holding the kind's identity. mx (K_EXPSUM only) holds each output's max. */
#define DEFINE_REDUCE_WALK(SUF, T, ACC, ADD, MUL, ABSV, EXPV, SUMRUN, SQRUN)                       \
    static void walk_##SUF(const rplan *p, int kind, const T *x, ACC *acc, const ACC *mx)           \
    {                                                                                              \
        const int m = p->n;                                                                        \
        const int64_t inner = p->dims[m - 1];                                                      \
        int64_t rows = 1;                                                                          \
        for (int d = 0; d < m - 1; d++) rows *= p->dims[d];                                        \
        int64_t idx[OC_MAX_DIMS] = {0};                                                            \
        int64_t o = 0;                                                                             \
        const bool red_last = p->red[m - 1];                                                       \
        for (int64_t r = 0; r < rows; r++, x += inner) {                                           \
            if (red_last) {                                                                        \
                ACC a = acc[o];                                                                    \
                switch (kind) {                                                                    \
                case K_SUM: a = ADD(a, SUMRUN(x, inner)); break;                                   \
                case K_SUMSQ: a = ADD(a, SQRUN(x, inner)); break;                                  \
                case K_L1: for (int64_t j = 0; j < inner; j++) a = ADD(a, ABSV((ACC)x[j])); break; \
                case K_EXPSUM:                                                                     \
                    for (int64_t j = 0; j < inner; j++) a = ADD(a, EXPV((ACC)x[j] - mx[o]));       \
                    break;                                                                         \
                case K_PROD: for (int64_t j = 0; j < inner; j++) a = MUL(a, (ACC)x[j]); break;     \
                case K_MAX:                                                                        \
                    for (int64_t j = 0; j < inner; j++) {                                          \
                        ACC v = (ACC)x[j];                                                         \
                        a = (v > a || v != v) ? v : a;                                             \
                    }                                                                              \
                    break;                                                                         \
                default:                                                                           \
                    for (int64_t j = 0; j < inner; j++) {                                          \
                        ACC v = (ACC)x[j];                                                         \
                        a = (v < a || v != v) ? v : a;                                             \
                    }                                                                              \
                    break;                                                                         \
                }                                                                                  \
                acc[o] = a;                                                                        \
            } else {                                                                               \
                ACC *restrict ac = acc + o;                                                        \
                switch (kind) {                                                                    \
                case K_SUM: for (int64_t j = 0; j < inner; j++) ac[j] = ADD(ac[j], (ACC)x[j]); break; \
                case K_SUMSQ:                                                                      \
                    for (int64_t j = 0; j < inner; j++) ac[j] = ADD(ac[j], MUL((ACC)x[j], (ACC)x[j])); \
                    break;                                                                         \
                case K_L1:                                                                         \
                    for (int64_t j = 0; j < inner; j++) ac[j] = ADD(ac[j], ABSV((ACC)x[j]));       \
                    break;                                                                         \
                case K_EXPSUM:                                                                     \
                    for (int64_t j = 0; j < inner; j++) ac[j] = ADD(ac[j], EXPV((ACC)x[j] - mx[o + j])); \
                    break;                                                                         \
                case K_PROD: for (int64_t j = 0; j < inner; j++) ac[j] = MUL(ac[j], (ACC)x[j]); break; \
                case K_MAX:                                                                        \
                    for (int64_t j = 0; j < inner; j++) {                                          \
                        ACC v = (ACC)x[j];                                                         \
                        ac[j] = (v > ac[j] || v != v) ? v : ac[j];                                 \
                    }                                                                              \
                    break;                                                                         \
                default:                                                                           \
                    for (int64_t j = 0; j < inner; j++) {                                          \
                        ACC v = (ACC)x[j];                                                         \
                        ac[j] = (v < ac[j] || v != v) ? v : ac[j];                                 \
                    }                                                                              \
                    break;                                                                         \
                }                                                                                  \
            }                                                                                      \
            for (int d = m - 2; d >= 0; d--) {                                                     \
                o += p->ostride[d];                                                                \
                if (++idx[d] < p->dims[d]) break;                                                  \
                o -= p->ostride[d] * p->dims[d];                                                   \
                idx[d] = 0;                                                                        \
            }                                                                                      \
        }                                                                                          \
    }

#define F_ADD(a, b) ((a) + (b))
#define F_MUL(a, b) ((a) * (b))
/* int64 arithmetic wraps like the two's-complement hardware it models */
#define I_ADD(a, b) ((int64_t)((uint64_t)(a) + (uint64_t)(b)))
#define I_MUL(a, b) ((int64_t)((uint64_t)(a) * (uint64_t)(b)))
#define I_ABS(a) ((a) < 0 ? (int64_t)(0 - (uint64_t)(a)) : (a))
#define I_EXP(a) (a) /* never used: exp-sums run in double */

/* Sums of a contiguous run. float32 keeps four partial sums so the adds
 * overlap (and vectorize) instead of waiting on one accumulator. */
static double sum_run_f32(const float *x, int64_t n)
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int64_t j = 0;
    for (; j + 4 <= n; j += 4) {
        s0 += x[j];
        s1 += x[j + 1];
        s2 += x[j + 2];
        s3 += x[j + 3];
    }
    for (; j < n; j++) s0 += x[j];
    return (s0 + s1) + (s2 + s3);
}

static double sq_run_f32(const float *x, int64_t n)
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int64_t j = 0;
    for (; j + 4 <= n; j += 4) {
        s0 += (double)x[j] * x[j];
        s1 += (double)x[j + 1] * x[j + 1];
        s2 += (double)x[j + 2] * x[j + 2];
        s3 += (double)x[j + 3] * x[j + 3];
    }
    for (; j < n; j++) s0 += (double)x[j] * x[j];
    return (s0 + s1) + (s2 + s3);
}

static double sum_run_f64(const double *x, int64_t n)
{
    double s = 0;
    for (int64_t j = 0; j < n; j++) s += x[j];
    return s;
}

static double sq_run_f64(const double *x, int64_t n)
{
    double s = 0;
    for (int64_t j = 0; j < n; j++) s += x[j] * x[j];
    return s;
}

static int64_t sum_run_i64(const int64_t *x, int64_t n)
{
    int64_t s = 0;
    for (int64_t j = 0; j < n; j++) s = I_ADD(s, x[j]);
    return s;
}

static int64_t sq_run_i64(const int64_t *x, int64_t n)
{
    int64_t s = 0;
    for (int64_t j = 0; j < n; j++) s = I_ADD(s, I_MUL(x[j], x[j]));
    return s;
}

DEFINE_REDUCE_WALK(f32, float, double, F_ADD, F_MUL, fabs, exp, sum_run_f32, sq_run_f32)
DEFINE_REDUCE_WALK(f64, double, double, F_ADD, F_MUL, fabs, exp, sum_run_f64, sq_run_f64)
DEFINE_REDUCE_WALK(i64, int64_t, int64_t, I_ADD, I_MUL, I_ABS, I_EXP, sum_run_i64, sq_run_i64)

/* ---- the Reduce* ops ---- */

typedef struct reduce_op {
    int kind, fin;
    int axes_input_since; /* opset from which axes is the optional input 1 */
    bool ints;            /* int64/int32 reduce exactly in int64 */
    bool bools;           /* bool accepted (ReduceMax/Min) */
} reduce_op;

static const reduce_op R_SUM = {K_SUM, F_NONE, 13, true, false};
static const reduce_op R_MEAN = {K_SUM, F_MEAN, 18, true, false};
static const reduce_op R_MAX = {K_MAX, F_NONE, 18, true, true};
static const reduce_op R_MIN = {K_MIN, F_NONE, 18, true, true};
static const reduce_op R_PROD = {K_PROD, F_NONE, 18, true, false};
static const reduce_op R_L1 = {K_L1, F_NONE, 18, true, false};
static const reduce_op R_L2 = {K_SUMSQ, F_SQRT, 18, false, false};
static const reduce_op R_LOGSUM = {K_SUM, F_LOG, 18, false, false};
static const reduce_op R_LSE = {K_EXPSUM, F_LSE, 18, false, false};
static const reduce_op R_SUMSQ = {K_SUMSQ, F_NONE, 18, true, false};

static double kind_init_f(int kind)
{
    switch (kind) {
    case K_PROD: return 1.0;
    case K_MAX: return -INFINITY;
    case K_MIN: return INFINITY;
    default: return 0.0;
    }
}

static int64_t kind_init_i(int kind)
{
    switch (kind) {
    case K_PROD: return 1;
    case K_MAX: return INT64_MIN;
    case K_MIN: return INT64_MAX;
    default: return 0;
    }
}

/* v in the range of integer type dt (an empty max/min gives the type's
 * extreme, NaN gives 0), so the conversion to it is defined */
static double clamp_int(int dt, double v)
{
    double lo, hi;
    switch (dt) {
    case OC_DTYPE_INT8: lo = -128; hi = 127; break;
    case OC_DTYPE_UINT8: case OC_DTYPE_BOOL: lo = 0; hi = 255; break;
    case OC_DTYPE_INT16: lo = -32768; hi = 32767; break;
    case OC_DTYPE_UINT16: lo = 0; hi = 65535; break;
    case OC_DTYPE_INT32: lo = -2147483648.0; hi = 2147483647.0; break;
    case OC_DTYPE_UINT32: lo = 0; hi = 4294967295.0; break;
    case OC_DTYPE_INT64: lo = -9223372036854775808.0; hi = 9223372036854774784.0; break;
    default: lo = 0; hi = 18446744073709549568.0; break;
    }
    if (v != v) return 0;
    return v < lo ? lo : v > hi ? hi : v;
}

static double finish_f(int fin, double a, double m, int64_t count)
{
    switch (fin) {
    case F_MEAN: return a / (double)count;
    case F_SQRT: return sqrt(a);
    case F_LOG: return log(a);
    case F_LSE: return isfinite(m) ? log(a) + m : m;
    default: return a;
    }
}

static oc_status reduce_prepare_common(oc_kctx *k, bool axes_input)
{
    const oc_attr *a = oc_node_attr(k->node, "axes");
    if (axes_input && a)
        return oc_kfail(k, OC_ERR_INVALID, "axes is an input, not an attribute, at opset %lld", (long long)k->opset);
    if (!axes_input && a && a->has_type && a->type != OC_ATTR_INTS)
        return oc_kfail(k, OC_ERR_INVALID, "attribute axes is not a list of ints");
    return OC_OK;
}

static oc_status prepare_reduce_attr(oc_kctx *k)
{
    return reduce_prepare_common(k, false);
}

static oc_status prepare_reduce_input(oc_kctx *k)
{
    return reduce_prepare_common(k, true);
}

/* Marks the reduced axes in mask; *noop when nothing is to be reduced
 * (empty axes with noop_with_empty_axes). */
static oc_status reduce_axes(oc_kctx *k, const oc_ten *const *in, size_t n_in, bool axes_input, int rank,
                             bool *mask, bool *noop)
{
    *noop = false;
    int64_t n = 0;
    const int64_t *attr = NULL;
    const oc_ten *t = NULL;
    if (axes_input) {
        t = n_in > 1 ? in[1] : NULL;
        if (t && t->dtype != OC_DTYPE_INT64 && t->dtype != OC_DTYPE_INT32)
            return oc_kfail(k, OC_ERR_INVALID, "axes input is %s, want int64", oc_dtype_name(t->dtype));
        n = t ? t->numel : 0;
        if (n == 0 && oc_attr_int(k->node, "noop_with_empty_axes", 0)) {
            *noop = true;
            return OC_OK;
        }
    } else {
        n = oc_attr_ints(k->node, "axes", &attr);
        if (n < 0) n = 0;
    }
    for (int i = 0; i < rank; i++) mask[i] = n == 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t v = t ? load_i64(t, i) : attr[i];
        int a = norm_axis(v, rank);
        if (a < 0) return oc_kfail(k, OC_ERR_INVALID, "axis %lld out of range for rank %d", (long long)v, rank);
        mask[a] = true;
    }
    return OC_OK;
}

static oc_status reduce_run(oc_kctx *k, const reduce_op *op, bool axes_input, const oc_ten *const *in,
                            size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    const oc_ten *x = in[0];
    if (!x) return oc_kfail(k, OC_ERR_INVALID, "missing input data");
    int dt = x->dtype;
    if (!numeric_type(dt) && !(op->bools && dt == OC_DTYPE_BOOL))
        return oc_kfail(k, OC_ERR_UNSUPPORTED, "input type %s", oc_dtype_name(dt));
    bool mask[OC_MAX_DIMS];
    bool noop;
    FORWARD_IF_ERROR(reduce_axes(k, in, n_in, axes_input, x->ndim, mask, &noop));
    if (noop) return oc_ten_copy_reshape(k, &out[0], x, x->ndim, x->dims);

    bool keep = oc_attr_int(k->node, "keepdims", 1) != 0;
    int64_t odims[OC_MAX_DIMS];
    int on = 0;
    for (int i = 0; i < x->ndim; i++) {
        if (!mask[i]) odims[on++] = x->dims[i];
        else if (keep) odims[on++] = 1;
    }
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], dt, on, odims));
    rplan p;
    plan_reduce(&p, x->ndim, x->dims, mask);
    const int64_t no = p.out_numel;
    const int walk_kind = op->kind;

    if (is_int_path(dt) && op->ints) {
        int64_t *acc = oc_malloc((size_t)(no ? no : 1) * sizeof(int64_t));
        int64_t *tmp = NULL;
        if (!acc) return oc_kfail(k, OC_ERR_NOMEM, "out of memory");
        const int64_t *src = x->data;
        if (dt == OC_DTYPE_INT32) {
            tmp = oc_malloc((size_t)(x->numel ? x->numel : 1) * sizeof(int64_t));
            if (!tmp) {
                oc_free(acc);
                return oc_kfail(k, OC_ERR_NOMEM, "out of memory");
            }
            const int32_t *s32 = x->data;
            for (int64_t i = 0; i < x->numel; i++) tmp[i] = s32[i];
            src = tmp;
        }
        for (int64_t i = 0; i < no; i++) acc[i] = kind_init_i(walk_kind);
        if (x->numel) walk_i64(&p, walk_kind, src, acc, NULL);
        for (int64_t i = 0; i < no; i++) {
            int64_t v = acc[i];
            if (op->fin == F_MEAN) v = p.count ? v / p.count : 0;
            if (dt == OC_DTYPE_INT64) ((int64_t *)out[0].data)[i] = v;
            else ((int32_t *)out[0].data)[i] = (int32_t)(uint32_t)(uint64_t)v;
        }
        oc_free(tmp);
        oc_free(acc);
        return OC_OK;
    }

    /* float32 reads its data directly; everything else goes through double */
    double *acc = oc_malloc((size_t)(no ? no : 1) * sizeof(double) * 2);
    double *tmp = NULL;
    if (!acc) return oc_kfail(k, OC_ERR_NOMEM, "out of memory");
    double *mx = acc + no;
    if (dt != OC_DTYPE_FLOAT && dt != OC_DTYPE_DOUBLE) {
        tmp = oc_malloc((size_t)(x->numel ? x->numel : 1) * sizeof(double));
        if (!tmp) {
            oc_free(acc);
            return oc_kfail(k, OC_ERR_NOMEM, "out of memory");
        }
        for (int64_t i = 0; i < x->numel; i++) tmp[i] = oc_ten_get(x, i);
    }
    const double *src = dt == OC_DTYPE_DOUBLE ? (const double *)x->data : tmp;
    if (op->fin == F_LSE) {
        for (int64_t i = 0; i < no; i++) mx[i] = -INFINITY;
        if (x->numel) {
            if (dt == OC_DTYPE_FLOAT) walk_f32(&p, K_MAX, x->data, mx, NULL);
            else walk_f64(&p, K_MAX, src, mx, NULL);
        }
    }
    for (int64_t i = 0; i < no; i++) acc[i] = kind_init_f(walk_kind);
    if (x->numel) {
        if (dt == OC_DTYPE_FLOAT) walk_f32(&p, walk_kind, x->data, acc, mx);
        else walk_f64(&p, walk_kind, src, acc, mx);
    }
    if (dt == OC_DTYPE_FLOAT) {
        float *o = out[0].data;
        for (int64_t i = 0; i < no; i++) o[i] = (float)finish_f(op->fin, acc[i], mx[i], p.count);
    } else if (dt == OC_DTYPE_DOUBLE) {
        double *o = out[0].data;
        for (int64_t i = 0; i < no; i++) o[i] = finish_f(op->fin, acc[i], mx[i], p.count);
    } else {
        for (int64_t i = 0; i < no; i++) {
            double v = finish_f(op->fin, acc[i], mx[i], p.count);
            if (dt != OC_DTYPE_FLOAT16 && dt != OC_DTYPE_BFLOAT16) v = clamp_int(dt, v);
            oc_ten_set(&out[0], i, v);
        }
    }
    oc_free(tmp);
    oc_free(acc);
    return OC_OK;
}

#define REDUCE_KERNELS(NAME, OP)                                                                   \
    static oc_status run_##NAME##_attr(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, \
                                       size_t n_out)                                               \
    {                                                                                              \
        return reduce_run(k, &OP, false, in, n_in, out, n_out);                                    \
    }                                                                                              \
    static oc_status run_##NAME##_input(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, \
                                        size_t n_out)                                              \
    {                                                                                              \
        return reduce_run(k, &OP, true, in, n_in, out, n_out);                                     \
    }

REDUCE_KERNELS(sum, R_SUM)
REDUCE_KERNELS(mean, R_MEAN)
REDUCE_KERNELS(max, R_MAX)
REDUCE_KERNELS(min, R_MIN)
REDUCE_KERNELS(prod, R_PROD)
REDUCE_KERNELS(l1, R_L1)
REDUCE_KERNELS(l2, R_L2)
REDUCE_KERNELS(logsum, R_LOGSUM)
REDUCE_KERNELS(lse, R_LSE)
REDUCE_KERNELS(sumsq, R_SUMSQ)

/* ---- ArgMax / ArgMin ---- */

/* x viewed as [outer, n, inner]; index of the max (or min) along n. NaN
 * wins over numbers, as in numpy. */
static void arg_f32(const float *x, int64_t outer, int64_t n, int64_t inner, bool is_max, bool last,
                    int64_t *res, float *best)
{
    for (int64_t o = 0; o < outer; o++) {
        const float *row = x + o * n * inner;
        int64_t *r = res + o * inner;
        if (inner == 1) {
            float b = row[0];
            int64_t bi = 0;
            for (int64_t j = 1; j < n; j++) {
                float v = row[j];
                if (b != b) break;
                bool better = is_max ? (last ? v >= b : v > b) : (last ? v <= b : v < b);
                if (better || v != v) {
                    b = v;
                    bi = j;
                }
            }
            r[0] = bi;
            continue;
        }
        for (int64_t i = 0; i < inner; i++) {
            best[i] = row[i];
            r[i] = 0;
        }
        for (int64_t j = 1; j < n; j++) {
            const float *v = row + j * inner;
            for (int64_t i = 0; i < inner; i++) {
                float b = best[i];
                bool better = is_max ? (last ? v[i] >= b : v[i] > b) : (last ? v[i] <= b : v[i] < b);
                better = (better || v[i] != v[i]) && b == b;
                best[i] = better ? v[i] : b;
                r[i] = better ? j : r[i];
            }
        }
    }
}

/* every other type: compared as int64 (integers) or double */
static void arg_generic(const oc_ten *x, int64_t outer, int64_t n, int64_t inner, bool is_max, bool last,
                        int64_t *res)
{
    bool ints = !(x->dtype == OC_DTYPE_DOUBLE || x->dtype == OC_DTYPE_FLOAT16 || x->dtype == OC_DTYPE_BFLOAT16);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t base = o * n * inner + i, bi = 0;
            int64_t bl = ints ? load_i64(x, base) : 0;
            double bd = ints ? 0 : oc_ten_get(x, base);
            for (int64_t j = 1; j < n; j++) {
                bool better;
                if (ints) {
                    int64_t v = load_i64(x, base + j * inner);
                    better = is_max ? (last ? v >= bl : v > bl) : (last ? v <= bl : v < bl);
                    if (better) bl = v;
                } else {
                    double v = oc_ten_get(x, base + j * inner);
                    if (bd != bd) break;
                    better = is_max ? (last ? v >= bd : v > bd) : (last ? v <= bd : v < bd);
                    better = better || v != v;
                    if (better) bd = v;
                }
                if (better) bi = j;
            }
            res[o * inner + i] = bi;
        }
}

static oc_status arg_run(oc_kctx *k, bool is_max, const oc_ten *const *in, oc_ten *out)
{
    const oc_ten *x = in[0];
    if (!x) return oc_kfail(k, OC_ERR_INVALID, "missing input data");
    if (!numeric_type(x->dtype) && x->dtype != OC_DTYPE_BOOL)
        return oc_kfail(k, OC_ERR_UNSUPPORTED, "input type %s", oc_dtype_name(x->dtype));
    int64_t axis_attr = oc_attr_int(k->node, "axis", 0);
    int rank = x->ndim;
    int axis = norm_axis(axis_attr, rank);
    if (axis < 0) return oc_kfail(k, OC_ERR_INVALID, "axis %lld out of range for rank %d", (long long)axis_attr, rank);
    bool keep = oc_attr_int(k->node, "keepdims", 1) != 0;
    bool last = oc_attr_int(k->node, "select_last_index", 0) != 0;
    int64_t n = x->dims[axis];
    if (n == 0) return oc_kfail(k, OC_ERR_INVALID, "cannot take the arg of an empty axis");
    int64_t odims[OC_MAX_DIMS];
    int on = 0;
    for (int i = 0; i < rank; i++) {
        if (i != axis) odims[on++] = x->dims[i];
        else if (keep) odims[on++] = 1;
    }
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], OC_DTYPE_INT64, on, odims));
    int64_t outer = prod_dims(x->dims, 0, axis), inner = prod_dims(x->dims, axis + 1, rank);
    if (outer * inner == 0) return OC_OK;
    if (x->dtype == OC_DTYPE_FLOAT) {
        float *best = oc_malloc((size_t)inner * sizeof(float));
        if (!best) return oc_kfail(k, OC_ERR_NOMEM, "out of memory");
        arg_f32(x->data, outer, n, inner, is_max, last, out[0].data, best);
        oc_free(best);
    } else {
        arg_generic(x, outer, n, inner, is_max, last, out[0].data);
    }
    return OC_OK;
}

static oc_status run_argmax(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_in;
    (void)n_out;
    return arg_run(k, true, in, out);
}

static oc_status run_argmin(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_in;
    (void)n_out;
    return arg_run(k, false, in, out);
}

/* ---- TopK ---- */

/* One candidate: its key (double for floating types, int64 for integers)
 * and index. Order: larger key first for largest=1 (smaller for 0), ties by
 * lower index, NaN beyond every number. */
typedef struct tk_item {
    double f;
    int64_t v;
    int64_t idx;
} tk_item;

typedef struct tk_order {
    bool ints, largest;
} tk_order;

/* true when a comes before b in the output */
static bool tk_before(const tk_order *o, const tk_item *a, const tk_item *b)
{
    if (o->ints) {
        if (a->v != b->v) return o->largest ? a->v > b->v : a->v < b->v;
    } else {
        bool an = a->f != a->f, bn = b->f != b->f;
        if (an != bn) return o->largest ? an : bn;
        if (!an && a->f != b->f) return o->largest ? a->f > b->f : a->f < b->f;
    }
    return a->idx < b->idx;
}

/* heap whose root is the candidate that comes last */
static void tk_sift_down(const tk_order *o, tk_item *h, int64_t n, int64_t i)
{
    for (;;) {
        int64_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && tk_before(o, &h[w], &h[l])) w = l;
        if (r < n && tk_before(o, &h[w], &h[r])) w = r;
        if (w == i) return;
        tk_item t = h[i];
        h[i] = h[w];
        h[w] = t;
        i = w;
    }
}

static void tk_sift_up(const tk_order *o, tk_item *h, int64_t i)
{
    while (i > 0) {
        int64_t p = (i - 1) / 2;
        if (!tk_before(o, &h[p], &h[i])) return;
        tk_item t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

static oc_status topk_run(oc_kctx *k, const oc_ten *x, int64_t kk, bool largest, oc_ten *out, size_t n_out)
{
    if (!numeric_type(x->dtype))
        return oc_kfail(k, OC_ERR_UNSUPPORTED, "input type %s", oc_dtype_name(x->dtype));
    int rank = x->ndim;
    int64_t axis_attr = oc_attr_int(k->node, "axis", -1);
    int axis = norm_axis(axis_attr, rank);
    if (axis < 0) return oc_kfail(k, OC_ERR_INVALID, "axis %lld out of range for rank %d", (long long)axis_attr, rank);
    int64_t n = x->dims[axis];
    if (kk < 0 || kk > n)
        return oc_kfail(k, OC_ERR_INVALID, "k = %lld but the axis has %lld elements", (long long)kk, (long long)n);
    int64_t odims[OC_MAX_DIMS];
    memcpy(odims, x->dims, sizeof(odims));
    odims[axis] = kk;
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], x->dtype, rank, odims));
    if (want_output(k, 1, n_out)) FORWARD_IF_ERROR(oc_ten_alloc(k, &out[1], OC_DTYPE_INT64, rank, odims));
    int64_t outer = prod_dims(x->dims, 0, axis), inner = prod_dims(x->dims, axis + 1, rank);
    if (kk == 0 || outer * inner == 0) return OC_OK;
    tk_item *h = oc_malloc((size_t)kk * sizeof(tk_item));
    if (!h) return oc_kfail(k, OC_ERR_NOMEM, "out of memory");
    tk_order ord = {!(x->dtype == OC_DTYPE_FLOAT || x->dtype == OC_DTYPE_DOUBLE || x->dtype == OC_DTYPE_FLOAT16 ||
                      x->dtype == OC_DTYPE_BFLOAT16),
                    largest};
    const size_t es = oc_ten_elem_size(x->dtype);
    const unsigned char *src = x->data;
    unsigned char *vals = out[0].data;
    int64_t *idxs = want_output(k, 1, n_out) ? out[1].data : NULL;
    const float *xf = x->dtype == OC_DTYPE_FLOAT ? x->data : NULL;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t base = o * n * inner + i, hn = 0;
            for (int64_t j = 0; j < n; j++) {
                int64_t e = base + j * inner;
                tk_item it = {0, 0, j};
                if (xf) it.f = xf[e];
                else if (ord.ints) it.v = load_i64(x, e);
                else it.f = oc_ten_get(x, e);
                if (hn < kk) {
                    h[hn++] = it;
                    tk_sift_up(&ord, h, hn - 1);
                } else if (tk_before(&ord, &it, &h[0])) {
                    h[0] = it;
                    tk_sift_down(&ord, h, hn, 0);
                }
            }
            /* pop the last-coming root to the back: the heap ends sorted */
            for (int64_t e = hn - 1; e > 0; e--) {
                tk_item t = h[0];
                h[0] = h[e];
                h[e] = t;
                tk_sift_down(&ord, h, e, 0);
            }
            int64_t ob = o * kk * inner + i;
            for (int64_t j = 0; j < kk; j++) {
                int64_t oe = ob + j * inner, ie = base + h[j].idx * inner;
                memcpy(vals + (size_t)oe * es, src + (size_t)ie * es, es);
                if (idxs) idxs[oe] = h[j].idx;
            }
        }
    oc_free(h);
    return OC_OK;
}

static oc_status prepare_topk_v1(oc_kctx *k)
{
    if (oc_attr_int(k->node, "k", -1) < 0) return oc_kfail(k, OC_ERR_INVALID, "attribute k is missing");
    return OC_OK;
}

static oc_status run_topk_v1(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_in;
    if (!in[0]) return oc_kfail(k, OC_ERR_INVALID, "missing input X");
    return topk_run(k, in[0], oc_attr_int(k->node, "k", -1), true, out, n_out);
}

static oc_status topk_input_k(oc_kctx *k, const oc_ten *const *in, size_t n_in, int64_t *kk)
{
    const oc_ten *kt = n_in > 1 ? in[1] : NULL;
    if (!in[0] || !kt) return oc_kfail(k, OC_ERR_INVALID, "TopK needs inputs X and K");
    if (kt->numel != 1 || (kt->dtype != OC_DTYPE_INT64 && kt->dtype != OC_DTYPE_INT32))
        return oc_kfail(k, OC_ERR_INVALID, "K must be one int64");
    *kk = load_i64(kt, 0);
    return OC_OK;
}

static oc_status run_topk_v10(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    int64_t kk = 0;
    FORWARD_IF_ERROR(topk_input_k(k, in, n_in, &kk));
    return topk_run(k, in[0], kk, true, out, n_out);
}

/* opset 11: largest and sorted (unsorted output may be in any order: ours
 * is always sorted) */
static oc_status run_topk_v11(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    int64_t kk = 0;
    FORWARD_IF_ERROR(topk_input_k(k, in, n_in, &kk));
    return topk_run(k, in[0], kk, oc_attr_int(k->node, "largest", 1) != 0, out, n_out);
}

/* ---- CumSum ---- */

#define DEFINE_CUMSUM(SUF, T)                                                                      \
    static void cumsum_##SUF(const T *x, T *y, int64_t outer, int64_t n, int64_t inner, bool excl, \
                             bool rev, T *run)                                                     \
    {                                                                                              \
        for (int64_t o = 0; o < outer; o++) {                                                      \
            const T *xs = x + o * n * inner;                                                       \
            T *ys = y + o * n * inner;                                                             \
            for (int64_t i = 0; i < inner; i++) run[i] = 0;                                        \
            for (int64_t s = 0; s < n; s++) {                                                      \
                int64_t j = rev ? n - 1 - s : s;                                                   \
                const T *xr = xs + j * inner;                                                      \
                T *yr = ys + j * inner;                                                            \
                if (excl) {                                                                        \
                    for (int64_t i = 0; i < inner; i++) {                                          \
                        yr[i] = run[i];                                                            \
                        run[i] = CS_ADD(T, run[i], xr[i]);                                         \
                    }                                                                              \
                } else {                                                                           \
                    for (int64_t i = 0; i < inner; i++) {                                          \
                        run[i] = CS_ADD(T, run[i], xr[i]);                                         \
                        yr[i] = run[i];                                                            \
                    }                                                                              \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    }

/* integer sums wrap instead of overflowing */
#define CS_ADD(T, a, b) ((T)(a) + (T)(b))
DEFINE_CUMSUM(f32, float)
DEFINE_CUMSUM(f64, double)
#undef CS_ADD
#define CS_ADD(T, a, b) ((T)((uint64_t)(a) + (uint64_t)(b)))
DEFINE_CUMSUM(i32, int32_t)
DEFINE_CUMSUM(i64, int64_t)
DEFINE_CUMSUM(u32, uint32_t)
DEFINE_CUMSUM(u64, uint64_t)
#undef CS_ADD

static oc_status run_cumsum(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    const oc_ten *x = in[0], *at = n_in > 1 ? in[1] : NULL;
    if (!x || !at) return oc_kfail(k, OC_ERR_INVALID, "CumSum needs inputs x and axis");
    if (at->numel != 1 || (at->dtype != OC_DTYPE_INT64 && at->dtype != OC_DTYPE_INT32))
        return oc_kfail(k, OC_ERR_INVALID, "axis must be one int32 or int64");
    int dt = x->dtype;
    if (dt != OC_DTYPE_FLOAT && dt != OC_DTYPE_DOUBLE && dt != OC_DTYPE_INT32 && dt != OC_DTYPE_INT64 &&
        dt != OC_DTYPE_UINT32 && dt != OC_DTYPE_UINT64)
        return oc_kfail(k, OC_ERR_UNSUPPORTED, "input type %s", oc_dtype_name(dt));
    int64_t av = load_i64(at, 0);
    int axis = norm_axis(av, x->ndim);
    if (axis < 0) return oc_kfail(k, OC_ERR_INVALID, "axis %lld out of range for rank %d", (long long)av, x->ndim);
    bool excl = oc_attr_int(k->node, "exclusive", 0) != 0, rev = oc_attr_int(k->node, "reverse", 0) != 0;
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], dt, x->ndim, x->dims));
    int64_t outer = prod_dims(x->dims, 0, axis), n = x->dims[axis], inner = prod_dims(x->dims, axis + 1, x->ndim);
    if (x->numel == 0) return OC_OK;
    void *run = oc_malloc((size_t)inner * 8);
    if (!run) return oc_kfail(k, OC_ERR_NOMEM, "out of memory");
    switch (dt) {
    case OC_DTYPE_FLOAT: cumsum_f32(x->data, out[0].data, outer, n, inner, excl, rev, run); break;
    case OC_DTYPE_DOUBLE: cumsum_f64(x->data, out[0].data, outer, n, inner, excl, rev, run); break;
    case OC_DTYPE_INT32: cumsum_i32(x->data, out[0].data, outer, n, inner, excl, rev, run); break;
    case OC_DTYPE_INT64: cumsum_i64(x->data, out[0].data, outer, n, inner, excl, rev, run); break;
    case OC_DTYPE_UINT32: cumsum_u32(x->data, out[0].data, outer, n, inner, excl, rev, run); break;
    default: cumsum_u64(x->data, out[0].data, outer, n, inner, excl, rev, run); break;
    }
    oc_free(run);
    return OC_OK;
}

/* ---- Hardmax ---- */

/* 1 at the first maximum of each [outer, n, inner] lane, 0 elsewhere */
static oc_status hardmax_lanes(oc_kctx *k, const oc_ten *x, int64_t outer, int64_t n, int64_t inner, oc_ten *out)
{
    int dt = x->dtype;
    if (dt != OC_DTYPE_FLOAT && dt != OC_DTYPE_DOUBLE && dt != OC_DTYPE_FLOAT16 && dt != OC_DTYPE_BFLOAT16)
        return oc_kfail(k, OC_ERR_UNSUPPORTED, "input type %s", oc_dtype_name(dt));
    FORWARD_IF_ERROR(oc_ten_alloc(k, out, dt, x->ndim, x->dims));
    if (x->numel == 0 || n == 0) return OC_OK;
    int64_t *res = oc_malloc((size_t)(outer * inner) * sizeof(int64_t));
    if (!res) return oc_kfail(k, OC_ERR_NOMEM, "out of memory");
    if (dt == OC_DTYPE_FLOAT) {
        float *best = oc_malloc((size_t)inner * sizeof(float));
        if (!best) {
            oc_free(res);
            return oc_kfail(k, OC_ERR_NOMEM, "out of memory");
        }
        arg_f32(x->data, outer, n, inner, true, false, res, best);
        oc_free(best);
    } else {
        arg_generic(x, outer, n, inner, true, false, res);
    }
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) oc_ten_set(out, (o * n + res[o * inner + i]) * inner + i, 1.0);
    oc_free(res);
    return OC_OK;
}

/* opsets 1-12: the input is seen as 2-D [prod(dims[:axis]), prod(dims[axis:])] */
static oc_status run_hardmax_v1(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_in;
    (void)n_out;
    const oc_ten *x = in[0];
    if (!x) return oc_kfail(k, OC_ERR_INVALID, "missing input");
    int64_t av = oc_attr_int(k->node, "axis", 1);
    int axis = av == x->ndim ? x->ndim : norm_axis(av, x->ndim);
    if (axis < 0) return oc_kfail(k, OC_ERR_INVALID, "axis %lld out of range for rank %d", (long long)av, x->ndim);
    return hardmax_lanes(k, x, prod_dims(x->dims, 0, axis), prod_dims(x->dims, axis, x->ndim), 1, out);
}

/* opset 13: along one axis */
static oc_status run_hardmax_v13(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_in;
    (void)n_out;
    const oc_ten *x = in[0];
    if (!x) return oc_kfail(k, OC_ERR_INVALID, "missing input");
    int64_t av = oc_attr_int(k->node, "axis", -1);
    int axis = norm_axis(av, x->ndim);
    if (axis < 0) return oc_kfail(k, OC_ERR_INVALID, "axis %lld out of range for rank %d", (long long)av, x->ndim);
    return hardmax_lanes(k, x, prod_dims(x->dims, 0, axis), x->dims[axis], prod_dims(x->dims, axis + 1, x->ndim),
                         out);
}

const oc_op_def oc_ops_reduce[] = {
    {"", "ArgMax", 1, NULL, run_argmax},
    {"", "ArgMin", 1, NULL, run_argmin},
    {"", "CumSum", 11, NULL, run_cumsum},
    {"", "Hardmax", 1, NULL, run_hardmax_v1},
    {"", "Hardmax", 13, NULL, run_hardmax_v13},
    {"", "ReduceL1", 1, prepare_reduce_attr, run_l1_attr},
    {"", "ReduceL1", 18, prepare_reduce_input, run_l1_input},
    {"", "ReduceL2", 1, prepare_reduce_attr, run_l2_attr},
    {"", "ReduceL2", 18, prepare_reduce_input, run_l2_input},
    {"", "ReduceLogSum", 1, prepare_reduce_attr, run_logsum_attr},
    {"", "ReduceLogSum", 18, prepare_reduce_input, run_logsum_input},
    {"", "ReduceLogSumExp", 1, prepare_reduce_attr, run_lse_attr},
    {"", "ReduceLogSumExp", 18, prepare_reduce_input, run_lse_input},
    {"", "ReduceMax", 1, prepare_reduce_attr, run_max_attr},
    {"", "ReduceMax", 18, prepare_reduce_input, run_max_input},
    {"", "ReduceMean", 1, prepare_reduce_attr, run_mean_attr},
    {"", "ReduceMean", 18, prepare_reduce_input, run_mean_input},
    {"", "ReduceMin", 1, prepare_reduce_attr, run_min_attr},
    {"", "ReduceMin", 18, prepare_reduce_input, run_min_input},
    {"", "ReduceProd", 1, prepare_reduce_attr, run_prod_attr},
    {"", "ReduceProd", 18, prepare_reduce_input, run_prod_input},
    {"", "ReduceSum", 1, prepare_reduce_attr, run_sum_attr},
    {"", "ReduceSum", 13, prepare_reduce_input, run_sum_input},
    {"", "ReduceSumSquare", 1, prepare_reduce_attr, run_sumsq_attr},
    {"", "ReduceSumSquare", 18, prepare_reduce_input, run_sumsq_input},
    {"", "TopK", 1, prepare_topk_v1, run_topk_v1},
    {"", "TopK", 10, NULL, run_topk_v10},
    {"", "TopK", 11, NULL, run_topk_v11},
};
const size_t oc_ops_reduce_count = sizeof(oc_ops_reduce) / sizeof(oc_ops_reduce[0]);
