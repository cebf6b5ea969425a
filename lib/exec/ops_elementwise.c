/* ops_elementwise.c: kernels of the elementwise family: unary math
 * (Relu ... IsInf), numpy-broadcasting binary and variadic arithmetic
 * (Add ... Mean), comparisons and logic, Where, Cast / CastLike, Identity and
 * inference-mode Dropout.
 *
 * Every kernel computes natively in float32, float64 and the eight integer
 * types where the op allows them; float16 / bfloat16 inputs are widened to
 * float32 and the result narrowed back (round to nearest even). Broadcasting
 * merges the axes all operands walk alike, so the innermost loop runs over
 * the longest contiguous (or constant) stretch; equal shapes become one flat
 * loop. Opsets before 7 aligned the second operand of Add & co. at an `axis`:
 * that is done by reshaping it, so every opset runs the same loops. */
#include "exec.h"

#include <errno.h>
#include <float.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tgmath.h> /* exp(x) is expf for a float x: one source for f32 and f64 */

/* -O2's "very cheap" vectorizer skips loops of unknown trip count, which is
 * every loop here; the dynamic cost model vectorizes them with a remainder. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("vect-cost-model=dynamic")
#endif

/* The float loops compiled for several instruction sets, the widest the
 * CPU runs picked at load time: the build targets the x86-64 baseline,
 * whose vectors hold 4 floats. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define VEC_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define VEC_CLONES
#endif

#define MAX_OPERANDS 3 /* Where */

/* ---- small helpers ---- */

static bool is_float_type(int dt)
{
    return dt == OC_DTYPE_FLOAT || dt == OC_DTYPE_DOUBLE || dt == OC_DTYPE_FLOAT16 || dt == OC_DTYPE_BFLOAT16;
}

static bool is_int_type(int dt)
{
    switch (dt) {
    case OC_DTYPE_INT8: case OC_DTYPE_INT16: case OC_DTYPE_INT32: case OC_DTYPE_INT64:
    case OC_DTYPE_UINT8: case OC_DTYPE_UINT16: case OC_DTYPE_UINT32: case OC_DTYPE_UINT64:
        return true;
    default:
        return false;
    }
}

static const char *shape_str(const oc_ten *t, char *buf, size_t cap)
{
    size_t len = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < t->ndim && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, i ? ",%lld" : "%lld", (long long)t->dims[i]);
    if (len < cap) snprintf(buf + len, cap - len, "]");
    return buf;
}

/* Fails unless input i is present. */
static oc_status need_input(oc_kctx *k, const oc_ten *const *in, size_t n_in, size_t i)
{
    if (i < n_in && in[i]) return OC_OK;
    return oc_kfail(k, OC_ERR_INVALID, "input %zu is missing", i);
}

static bool output_wanted(const oc_kctx *k, size_t n_out, size_t i)
{
    if (i >= n_out) return false;
    if (i < k->node->n_outputs) return k->node->outputs[i] && k->node->outputs[i][0];
    return true;
}

/* ---- float16 / bfloat16 ---- */

/* A double rounded to nearest even into a binary float of `ebits` exponent
 * and `mbits` mantissa bits (IEEE-style: subnormals, infinities, NaN). */
static uint32_t encode_small_float(double v, int ebits, int mbits)
{
    uint64_t b;
    memcpy(&b, &v, 8);
    const uint32_t sign = (uint32_t)(b >> 63) << (ebits + mbits);
    const int e = (int)((b >> 52) & 0x7ff);
    uint64_t m = b & ((UINT64_C(1) << 52) - 1);
    const uint32_t exp_all = (UINT32_C(1) << ebits) - 1;
    if (e == 0x7ff) return sign | exp_all << mbits | (m ? UINT32_C(1) << (mbits - 1) : 0);
    if (e == 0) return sign; /* double subnormals are far below any small float */
    const int bias = (1 << (ebits - 1)) - 1;
    const int ue = e - 1023 + bias;
    if (ue >= (int)exp_all) return sign | exp_all << mbits;
    int shift = 52 - mbits;
    uint64_t h;
    if (ue <= 0) {
        if (ue < -mbits) return sign;
        m |= UINT64_C(1) << 52;
        shift += 1 - ue;
        h = m >> shift;
    } else {
        h = (uint64_t)ue << mbits | m >> shift;
    }
    const uint64_t rem = m & ((UINT64_C(1) << shift) - 1), halfway = UINT64_C(1) << (shift - 1);
    if (rem > halfway || (rem == halfway && (h & 1))) h++; /* may carry into the exponent: right */
    return sign | (uint32_t)h;
}



static uint16_t float_to_f16(double v) { return (uint16_t)encode_small_float(v, 5, 10); }
static uint16_t float_to_bf16(double v) { return (uint16_t)encode_small_float(v, 8, 7); }

/* ---- broadcasting walk ---- */

/* Operands seen through the output shape, with axes that every operand
 * walks the same way merged: the last axis is the inner loop. */
typedef struct walk {
    int n;                                 /* operands */
    int nd;
    int64_t dims[OC_MAX_DIMS];
    int64_t st[MAX_OPERANDS][OC_MAX_DIMS]; /* element strides; 0 = broadcast */
} walk;

/* One inner run: n output elements from operands at src[] with strides st[]. */
typedef void (*inner_fn)(void *job, const unsigned char *const *src, const int64_t *st, unsigned char *dst,
                         int64_t n);

static void walk_init(walk *w, int n, const oc_ten *const *ops, int nd, const int64_t *dims)
{
    int64_t s[MAX_OPERANDS][OC_MAX_DIMS];
    for (int i = 0; i < n; i++) oc_broadcast_strides(ops[i], nd, dims, s[i]);
    w->n = n;
    w->nd = 0;
    for (int d = 0; d < nd; d++) {
        if (dims[d] == 1) continue;
        if (w->nd > 0) {
            const int m = w->nd - 1;
            bool merge = true;
            for (int i = 0; i < n; i++) merge = merge && w->st[i][m] == s[i][d] * dims[d];
            if (merge) {
                w->dims[m] *= dims[d];
                for (int i = 0; i < n; i++) w->st[i][m] = s[i][d];
                continue;
            }
        }
        w->dims[w->nd] = dims[d];
        for (int i = 0; i < n; i++) w->st[i][w->nd] = s[i][d];
        w->nd++;
    }
    if (w->nd == 0) {
        w->nd = 1;
        w->dims[0] = 1;
        for (int i = 0; i < n; i++) w->st[i][0] = 0;
    }
}

/* Calls fn once per inner run covering output elements [begin, end). base[i]
 * / esz[i]: operand i's first element and element size; dst is the
 * contiguous output of element size out_esz. */
static void walk_range(const walk *w, const void *const *base, const size_t *esz, void *dst, size_t out_esz,
                       inner_fn fn, void *job, int64_t begin, int64_t end)
{
    const int last = w->nd - 1;
    int64_t idx[OC_MAX_DIMS], off[MAX_OPERANDS] = {0}, sst[MAX_OPERANDS];
    const unsigned char *src[MAX_OPERANDS];
    int64_t rem = begin;
    for (int d = last; d >= 0; d--) {
        idx[d] = rem % w->dims[d];
        rem /= w->dims[d];
        for (int i = 0; i < w->n; i++) off[i] += idx[d] * w->st[i][d];
    }
    for (int i = 0; i < w->n; i++) sst[i] = w->st[i][last];
    for (int64_t pos = begin; pos < end;) {
        int64_t run = w->dims[last] - idx[last];
        if (run > end - pos) run = end - pos;
        for (int i = 0; i < w->n; i++) src[i] = (const unsigned char *)base[i] + (size_t)off[i] * esz[i];
        fn(job, src, sst, (unsigned char *)dst + (size_t)pos * out_esz, run);
        pos += run;
        idx[last] += run;
        for (int i = 0; i < w->n; i++) off[i] += run * sst[i];
        if (idx[last] < w->dims[last]) break; /* only at the end of the range */
        for (int d = last; d >= 0; d--) {
            if (d < last) {
                for (int i = 0; i < w->n; i++) off[i] += w->st[i][d];
                if (++idx[d] < w->dims[d]) break;
            }
            for (int i = 0; i < w->n; i++) off[i] -= w->st[i][d] * w->dims[d];
            idx[d] = 0;
        }
    }
}

/* ---- threads ---- */

#define MAX_THREADS 64
/* Elements worth a thread of their own: starting one costs some 40 us,
 * about what 2^18 elements of a cheap op take. */
#define GRAIN (1 << 18)

typedef void (*range_fn)(void *arg, int64_t begin, int64_t end);

typedef struct par_part {
    range_fn fn;
    void *arg;
    int64_t begin, end;
} par_part;

static void *par_main(void *p)
{
    const par_part *t = p;
    t->fn(t->arg, t->begin, t->end);
    return NULL;
}

/* fn over [0, n) in contiguous parts on up to k->threads threads, the
 * caller's included; small n (and a failed thread start) runs inline. */
static void parallel_for(const oc_kctx *k, int64_t n, range_fn fn, void *arg)
{
    int64_t nt = k->threads > 1 ? k->threads : 1;
    if (nt > MAX_THREADS) nt = MAX_THREADS;
    if (nt > n / GRAIN) nt = n / GRAIN;
    if (nt <= 1) {
        fn(arg, 0, n);
        return;
    }
    pthread_t th[MAX_THREADS];
    par_part part[MAX_THREADS];
    bool started[MAX_THREADS] = {false};
    for (int64_t i = 0; i < nt; i++) part[i] = (par_part){fn, arg, n * i / nt, n * (i + 1) / nt};
    for (int64_t i = 1; i < nt; i++) started[i] = pthread_create(&th[i], NULL, par_main, &part[i]) == 0;
    fn(arg, part[0].begin, part[0].end);
    for (int64_t i = 1; i < nt; i++) {
        if (started[i]) pthread_join(th[i], NULL);
        else fn(arg, part[i].begin, part[i].end);
    }
}

typedef struct walk_task {
    const walk *w;
    const void *const *base;
    const size_t *esz;
    void *dst;
    size_t out_esz;
    inner_fn fn;
    void *job;
} walk_task;

static void walk_part(void *arg, int64_t begin, int64_t end)
{
    const walk_task *t = arg;
    walk_range(t->w, t->base, t->esz, t->dst, t->out_esz, t->fn, t->job, begin, end);
}

/* The whole output of `numel` elements, split across threads. */
static void walk_run(const oc_kctx *k, const walk *w, const void *const *base, const size_t *esz, void *dst,
                     size_t out_esz, int64_t numel, inner_fn fn, void *job)
{
    walk_task t = {w, base, esz, dst, out_esz, fn, job};
    parallel_for(k, numel, walk_part, &t);
}

/* Output shape of broadcasting ops[0..n): fails naming the shapes. */
static oc_status bcast_shape(oc_kctx *k, size_t n, const oc_ten *const *ops, int *nd, int64_t *dims)
{
    *nd = ops[0]->ndim;
    memcpy(dims, ops[0]->dims, sizeof(int64_t) * (size_t)ops[0]->ndim);
    for (size_t i = 1; i < n; i++) {
        int64_t tmp[OC_MAX_DIMS];
        int nt;
        if (!oc_broadcast_shape(*nd, dims, ops[i]->ndim, ops[i]->dims, &nt, tmp)) {
            char a[160], b[160];
            oc_ten cur = {.ndim = *nd};
            memcpy(cur.dims, dims, sizeof(int64_t) * (size_t)*nd);
            return oc_kfail(k, OC_ERR_INVALID, "shapes %s and %s do not broadcast", shape_str(&cur, a, sizeof(a)),
                            shape_str(ops[i], b, sizeof(b)));
        }
        *nd = nt;
        memcpy(dims, tmp, sizeof(int64_t) * (size_t)nt);
    }
    return OC_OK;
}

/* Opsets < 7 (Add, Sub, Mul, Div, Pow, And, Or, Xor, Equal, Greater, Less):
 * without `broadcast` the shapes must match; with it, B is laid over A
 * starting at `axis` (default: trailing-aligned). The view pads B's shape
 * with trailing ones so numpy broadcasting does the rest. */
static oc_status legacy_view(oc_kctx *k, const oc_ten *a, const oc_ten *b, oc_ten *view)
{
    *view = *b;
    if (k->opset >= 7) return OC_OK;
    const int64_t bc = oc_attr_int(k->node, "broadcast", 0);
    char sa[160], sb[160];
    if (!bc) {
        bool same = a->ndim == b->ndim;
        for (int i = 0; same && i < a->ndim; i++) same = a->dims[i] == b->dims[i];
        if (!same)
            return oc_kfail(k, OC_ERR_INVALID, "shapes %s and %s differ and broadcast=0", shape_str(a, sa, sizeof(sa)),
                            shape_str(b, sb, sizeof(sb)));
        return OC_OK;
    }
    if (!oc_node_attr(k->node, "axis")) return OC_OK;
    int64_t axis = oc_attr_int(k->node, "axis", 0);
    if (axis < 0) axis += a->ndim;
    if (axis < 0 || axis + b->ndim > a->ndim)
        return oc_kfail(k, OC_ERR_INVALID, "B %s does not fit in A %s at axis %lld", shape_str(b, sb, sizeof(sb)),
                        shape_str(a, sa, sizeof(sa)), (long long)oc_attr_int(k->node, "axis", 0));
    for (int i = 0; i < b->ndim; i++)
        if (b->dims[i] != 1 && b->dims[i] != a->dims[axis + i])
            return oc_kfail(k, OC_ERR_INVALID, "B %s does not match A %s at axis %lld", shape_str(b, sb, sizeof(sb)),
                            shape_str(a, sa, sizeof(sa)), (long long)axis);
    view->ndim = a->ndim - (int)axis;
    for (int i = b->ndim; i < view->ndim; i++) view->dims[i] = 1;
    return OC_OK;
}

static oc_status prepare_legacy_bcast(oc_kctx *k)
{
    const int64_t bc = oc_attr_int(k->node, "broadcast", 0);
    if (bc != 0 && bc != 1)
        return oc_kfail(k, OC_ERR_INVALID, "broadcast=%lld (0 or 1 expected)", (long long)bc);
    return OC_OK;
}

/* The loops of a two-operand inner run: x from a, z from b, y out. The
 * contiguous and one-side-constant cases get their own loops so the compiler
 * can vectorize them. */
#define LOOP2(TA, TB, TY, EXPR)                                                                     \
    do {                                                                                            \
        const TA *a_ = (const TA *)src[0];                                                          \
        const TB *b_ = (const TB *)src[1];                                                          \
        TY *y_ = (TY *)dst;                                                                         \
        const int64_t sa_ = st[0], sb_ = st[1];                                                     \
        if (sa_ == 1 && sb_ == 1) {                                                                 \
            for (int64_t i = 0; i < n; i++) {                                                       \
                const TA x = a_[i];                                                                 \
                const TB z = b_[i];                                                                 \
                y_[i] = (TY)(EXPR);                                                                 \
            }                                                                                       \
        } else if (sa_ == 1 && sb_ == 0) {                                                          \
            const TB z = b_[0];                                                                     \
            for (int64_t i = 0; i < n; i++) {                                                       \
                const TA x = a_[i];                                                                 \
                y_[i] = (TY)(EXPR);                                                                 \
            }                                                                                       \
        } else if (sa_ == 0 && sb_ == 1) {                                                          \
            const TA x = a_[0];                                                                     \
            for (int64_t i = 0; i < n; i++) {                                                       \
                const TB z = b_[i];                                                                 \
                y_[i] = (TY)(EXPR);                                                                 \
            }                                                                                       \
        } else {                                                                                    \
            for (int64_t i = 0; i < n; i++) {                                                       \
                const TA x = a_[i * sa_];                                                           \
                const TB z = b_[i * sb_];                                                           \
                y_[i] = (TY)(EXPR);                                                                 \
            }                                                                                       \
        }                                                                                           \
    } while (0)

/* X(dtype, C type, signed, suffix) for the integer types. */
#define INT_TYPES(X)                                                                                \
    X(OC_DTYPE_INT8, int8_t, 1, i8)                                                                 \
    X(OC_DTYPE_INT16, int16_t, 1, i16)                                                              \
    X(OC_DTYPE_INT32, int32_t, 1, i32)                                                              \
    X(OC_DTYPE_INT64, int64_t, 1, i64)                                                              \
    X(OC_DTYPE_UINT8, uint8_t, 0, u8)                                                               \
    X(OC_DTYPE_UINT16, uint16_t, 0, u16)                                                            \
    X(OC_DTYPE_UINT32, uint32_t, 0, u32)                                                            \
    X(OC_DTYPE_UINT64, uint64_t, 0, u64)
#define FLOAT_TYPES(X)                                                                              \
    X(OC_DTYPE_FLOAT, float, 1, f32)                                                                \
    X(OC_DTYPE_DOUBLE, double, 1, f64)

/* A sign test as a call, so instances of the type-generic loops on unsigned
 * types do not compare against zero (-Wtype-limits). */
static inline bool is_neg(int64_t v)
{
    return v < 0;
}

/* ---- unary ops ---- */

enum {
    U_RELU, U_LEAKY, U_SIGMOID, U_HARDSIGMOID, U_HARDSWISH, U_TANH, U_ERF, U_GELU, U_GELU_TANH, U_EXP, U_LOG,
    U_SQRT, U_ABS, U_NEG, U_RECIP, U_FLOOR, U_CEIL, U_ROUND, U_SIGN, U_SOFTPLUS, U_SOFTSIGN, U_ELU, U_SELU,
    U_SIN, U_COS, U_CLIP,
};

typedef struct uparams {
    double alpha, beta, gamma;
    double lo, hi;             /* Clip on floats */
    int64_t ilo, ihi;          /* Clip on integers (bit pattern for uint64) */
    bool has_lo, has_hi;
} uparams;

#define ULOOP(EXPR)                                                                                 \
    for (int64_t i = 0; i < n; i++) {                                                               \
        const T x = a[i];                                                                           \
        y[i] = (T)(EXPR);                                                                           \
    }

#define DEFINE_FLOAT_UNARY(DT, TYPE, S, N)                                                          \
    static inline TYPE clamp_hi_##N(TYPE v, TYPE hi)                                                \
    {                                                                                               \
        return v > hi ? hi : v;                                                                     \
    }                                                                                               \
    static inline TYPE clamp01_##N(TYPE v)                                                          \
    {                                                                                               \
        return v < 0 ? 0 : v > 1 ? 1 : v;                                                           \
    }                                                                                               \
    /* one exp, never of a large positive number */                                                 \
    static inline TYPE sigmoid_##N(TYPE x)                                                          \
    {                                                                                               \
        const TYPE e = exp(-fabs(x));                                                               \
        return x >= 0 ? 1 / (1 + e) : e / (1 + e);                                                  \
    }                                                                                               \
    VEC_CLONES static void unary_##N(int op, const uparams *p, const TYPE *a, TYPE *y, int64_t n)   \
    {                                                                                               \
        typedef TYPE T;                                                                             \
        const T alpha = (T)p->alpha, beta = (T)p->beta, gamma = (T)p->gamma;                        \
        const T lo = (T)p->lo, hi = (T)p->hi, zero = 0, one = 1, half = (T)0.5;                     \
        const T sqrt1_2 = (T)0.70710678118654752440, sqrt2_pi = (T)0.79788456080286535588;          \
        switch (op) {                                                                               \
        case U_RELU: ULOOP(x < zero ? zero : x) break;                                              \
        case U_LEAKY: ULOOP(x < zero ? alpha * x : x) break;                                        \
        case U_SIGMOID: ULOOP(sigmoid_##N(x)) break;                                                \
        case U_HARDSIGMOID: ULOOP(clamp01_##N(alpha * x + beta)) break;                             \
        case U_HARDSWISH: ULOOP(x * clamp01_##N(x / 6 + half)) break;                               \
        case U_TANH: ULOOP(tanh(x)) break;                                                          \
        case U_ERF: ULOOP(erf(x)) break;                                                            \
        case U_GELU: ULOOP(half * x * (one + erf(x * sqrt1_2))) break;                              \
        case U_GELU_TANH: ULOOP(half * x * (one + tanh(sqrt2_pi * (x + (T)0.044715 * x * x * x)))) break; \
        case U_EXP: ULOOP(exp(x)) break;                                                            \
        case U_LOG: ULOOP(log(x)) break;                                                            \
        case U_SQRT: ULOOP(sqrt(x)) break;                                                          \
        case U_ABS: ULOOP(fabs(x)) break;                                                           \
        case U_NEG: ULOOP(-x) break;                                                                \
        case U_RECIP: ULOOP(one / x) break;                                                         \
        case U_FLOOR: ULOOP(floor(x)) break;                                                        \
        case U_CEIL: ULOOP(ceil(x)) break;                                                          \
        case U_ROUND: ULOOP(nearbyint(x)) break; /* default mode: half to even */                   \
        case U_SIGN: ULOOP(x > zero ? one : x < zero ? -one : x) break;                             \
        case U_SOFTPLUS: ULOOP(x > zero ? x + log1p(exp(-x)) : log1p(exp(x))) break;                \
        case U_SOFTSIGN: ULOOP(x / (one + fabs(x))) break;                                          \
        case U_ELU: ULOOP(x < zero ? alpha * expm1(x) : x) break;                                   \
        case U_SELU: ULOOP(x <= zero ? gamma * (alpha * exp(x) - alpha) : gamma * x) break;         \
        case U_SIN: ULOOP(sin(x)) break;                                                            \
        case U_COS: ULOOP(cos(x)) break;                                                            \
        /* as x < lo ? (lo > hi ? hi : lo) : x > hi ? hi : x, in a form that vectorizes */          \
        case U_CLIP: ULOOP(clamp_hi_##N(x < lo ? lo : x, hi)) break;                                 \
        default: break;                                                                             \
        }                                                                                           \
    }
FLOAT_TYPES(DEFINE_FLOAT_UNARY)

/* Integer inputs: Relu, Abs, Neg, Sign, Clip. Signed tests go through int64
 * so the unsigned instances do not compare against zero. */
#define DEFINE_INT_UNARY(DT, TYPE, S, N)                                                            \
    static void unary_##N(int op, const uparams *p, const TYPE *a, TYPE *y, int64_t n)              \
    {                                                                                               \
        typedef TYPE T;                                                                             \
        const T lo = (T)p->ilo, hi = (T)p->ihi;                                                     \
        const bool has_lo = p->has_lo, has_hi = p->has_hi;                                          \
        switch (op) {                                                                               \
        case U_RELU: ULOOP(S && is_neg((int64_t)x) ? 0 : x) break;                                  \
        case U_ABS: ULOOP(S && is_neg((int64_t)x) ? (T)(0 - (uint64_t)x) : x) break;                \
        case U_NEG: ULOOP(0 - (uint64_t)x) break;                                                   \
        case U_SIGN: ULOOP(S ? ((int64_t)x > 0) - (is_neg((int64_t)x)) : x != 0) break;             \
        case U_CLIP:                                                                                \
            ULOOP(has_lo && x < lo ? (has_hi && lo > hi ? hi : lo) : has_hi && x > hi ? hi : x)     \
            break;                                                                                  \
        default: break;                                                                             \
        }                                                                                           \
    }
INT_TYPES(DEFINE_INT_UNARY)

static bool unary_takes_ints(int op)
{
    return op == U_RELU || op == U_ABS || op == U_NEG || op == U_SIGN || op == U_CLIP;
}

/* Clip's bounds: attributes before opset 11, optional scalar inputs after. */
static oc_status clip_bounds(oc_kctx *k, const oc_ten *const *in, size_t n_in, uparams *p)
{
    const oc_ten *x = in[0];
    if (k->opset < 11) {
        p->lo = oc_attr_float(k->node, "min", -FLT_MAX);
        p->hi = oc_attr_float(k->node, "max", FLT_MAX);
        p->has_lo = p->has_hi = true;
        if (!is_float_type(x->dtype))
            return oc_kfail(k, OC_ERR_UNSUPPORTED, "Clip on %s before opset 12", oc_dtype_name(x->dtype));
        return OC_OK;
    }
    p->lo = -INFINITY;
    p->hi = INFINITY;
    for (size_t i = 1; i < 3; i++) {
        const oc_ten *b = i < n_in ? in[i] : NULL;
        if (!b) continue;
        if (b->numel != 1)
            return oc_kfail(k, OC_ERR_INVALID, "%s has %lld elements (a scalar expected)", i == 1 ? "min" : "max",
                            (long long)b->numel);
        if (b->dtype != x->dtype)
            return oc_kfail(k, OC_ERR_INVALID, "%s is %s, input is %s", i == 1 ? "min" : "max",
                            oc_dtype_name(b->dtype), oc_dtype_name(x->dtype));
        const double v = oc_ten_get(b, 0);
        const int64_t iv = oc_ten_get_i64(b, 0);
        if (i == 1) {
            p->lo = v;
            p->ilo = iv;
            p->has_lo = true;
        } else {
            p->hi = v;
            p->ihi = iv;
            p->has_hi = true;
        }
    }
    return OC_OK;
}

typedef struct unary_task {
    int op, dtype;
    const uparams *p;
    const void *x;
    void *y;
} unary_task;

static void unary_part(void *arg, int64_t begin, int64_t end)
{
    const unary_task *t = arg;
    switch (t->dtype) {
#define CASE_UNARY(DT, TYPE, S, N)                                                                  \
    case DT: unary_##N(t->op, t->p, (const TYPE *)t->x + begin, (TYPE *)t->y + begin, end - begin); break;
        FLOAT_TYPES(CASE_UNARY)
        INT_TYPES(CASE_UNARY)
#undef CASE_UNARY
    default: break;
    }
}

static oc_status run_unary(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out, int op)
{
    (void)n_out;
    FORWARD_IF_ERROR(need_input(k, in, n_in, 0));
    const oc_ten *x = in[0];
    const oc_node *nd = k->node;
    uparams p = {0};
    switch (op) {
    case U_LEAKY: p.alpha = oc_attr_float(nd, "alpha", 0.01f); break;
    case U_HARDSIGMOID:
        p.alpha = oc_attr_float(nd, "alpha", 0.2f);
        p.beta = oc_attr_float(nd, "beta", 0.5f);
        break;
    case U_ELU: p.alpha = oc_attr_float(nd, "alpha", 1.0f); break;
    case U_SELU:
        p.alpha = oc_attr_float(nd, "alpha", 1.67326319217681884765625f);
        p.gamma = oc_attr_float(nd, "gamma", 1.05070102214813232421875f);
        break;
    case U_CLIP: FORWARD_IF_ERROR(clip_bounds(k, in, n_in, &p)); break;
    default: break;
    }
    if (!is_float_type(x->dtype) && !(is_int_type(x->dtype) && unary_takes_ints(op)))
        return oc_kfail(k, OC_ERR_UNSUPPORTED, "input type %s is not supported", oc_dtype_name(x->dtype));
    FORWARD_IF_ERROR(oc_ten_alloc_full(k, &out[0], x->dtype, x->ndim, x->dims));
    unary_task t = {op, x->dtype, &p, x->data, out[0].data};
    parallel_for(k, x->numel, unary_part, &t);
    return OC_OK;
}

/* One kernel per op: widen halves, then run_unary with the op's code. */
#define UNARY_KERNEL(FN, OP)                                                                        \
    static oc_status FN(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out) \
    {                                                                                               \
        if (oc_ten_any_half(in, n_in)) return oc_run_widened(k, in, n_in, out, n_out, FN);                    \
        return run_unary(k, in, n_in, out, n_out, OP);                                              \
    }
UNARY_KERNEL(run_relu, U_RELU)
UNARY_KERNEL(run_leaky_relu, U_LEAKY)
UNARY_KERNEL(run_sigmoid, U_SIGMOID)
UNARY_KERNEL(run_hard_sigmoid, U_HARDSIGMOID)
UNARY_KERNEL(run_hard_swish, U_HARDSWISH)
UNARY_KERNEL(run_tanh, U_TANH)
UNARY_KERNEL(run_erf, U_ERF)
UNARY_KERNEL(run_exp, U_EXP)
UNARY_KERNEL(run_log, U_LOG)
UNARY_KERNEL(run_sqrt, U_SQRT)
UNARY_KERNEL(run_abs, U_ABS)
UNARY_KERNEL(run_neg, U_NEG)
UNARY_KERNEL(run_reciprocal, U_RECIP)
UNARY_KERNEL(run_floor, U_FLOOR)
UNARY_KERNEL(run_ceil, U_CEIL)
UNARY_KERNEL(run_round, U_ROUND)
UNARY_KERNEL(run_sign, U_SIGN)
UNARY_KERNEL(run_softplus, U_SOFTPLUS)
UNARY_KERNEL(run_softsign, U_SOFTSIGN)
UNARY_KERNEL(run_elu, U_ELU)
UNARY_KERNEL(run_selu, U_SELU)
UNARY_KERNEL(run_sin, U_SIN)
UNARY_KERNEL(run_cos, U_COS)
UNARY_KERNEL(run_clip, U_CLIP)

static bool gelu_tanh(const oc_node *n)
{
    char buf[16];
    return strcmp(oc_attr_str(n, "approximate", "none", buf, sizeof(buf)), "tanh") == 0;
}

static oc_status prepare_gelu(oc_kctx *k)
{
    char buf[64];
    const char *s = oc_attr_str(k->node, "approximate", "none", buf, sizeof(buf));
    if (strcmp(s, "none") != 0 && strcmp(s, "tanh") != 0)
        return oc_kfail(k, OC_ERR_UNSUPPORTED, "approximate='%s' (none or tanh expected)", s);
    return OC_OK;
}

static oc_status run_gelu(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    if (oc_ten_any_half(in, n_in)) return oc_run_widened(k, in, n_in, out, n_out, run_gelu);
    return run_unary(k, in, n_in, out, n_out, gelu_tanh(k->node) ? U_GELU_TANH : U_GELU);
}

/* IsNaN / IsInf: float input, bool output. */
static oc_status run_float_test(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, bool nan_test)
{
    FORWARD_IF_ERROR(need_input(k, in, n_in, 0));
    const oc_ten *x = in[0];
    if (x->dtype != OC_DTYPE_FLOAT && x->dtype != OC_DTYPE_DOUBLE)
        return oc_kfail(k, OC_ERR_UNSUPPORTED, "input type %s is not supported", oc_dtype_name(x->dtype));
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], OC_DTYPE_BOOL, x->ndim, x->dims));
    const bool neg = oc_attr_int(k->node, "detect_negative", 1) != 0;
    const bool pos = oc_attr_int(k->node, "detect_positive", 1) != 0;
    unsigned char *y = out[0].data;
    const int64_t n = x->numel;
    if (x->dtype == OC_DTYPE_FLOAT) {
        const float *a = x->data;
        for (int64_t i = 0; i < n; i++)
            y[i] = nan_test ? isnan(a[i]) : isinf(a[i]) && (a[i] < 0 ? neg : pos);
    } else {
        const double *a = x->data;
        for (int64_t i = 0; i < n; i++)
            y[i] = nan_test ? isnan(a[i]) : isinf(a[i]) && (a[i] < 0 ? neg : pos);
    }
    return OC_OK;
}

static oc_status run_isnan(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    if (oc_ten_any_half(in, n_in)) return oc_run_widened(k, in, n_in, out, n_out, run_isnan);
    return run_float_test(k, in, n_in, out, true);
}

static oc_status run_isinf(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    if (oc_ten_any_half(in, n_in)) return oc_run_widened(k, in, n_in, out, n_out, run_isinf);
    return run_float_test(k, in, n_in, out, false);
}

/* ---- binary arithmetic ---- */

enum { B_ADD, B_SUB, B_MUL, B_DIV, B_MOD, B_FMOD, B_MAX, B_MIN, B_PRELU, B_POW };

typedef struct bjob {
    int op, dtype;
    atomic_bool div_by_zero; /* written by every thread that saw one */
} bjob;

/* Integer helpers, wrapping like two's complement hardware and flagging a
 * zero divisor instead of trapping. */
static inline int64_t sdiv(int64_t x, int64_t z, bool *bad)
{
    if (z == 0) {
        *bad = true;
        return 0;
    }
    return z == -1 ? (int64_t)(0 - (uint64_t)x) : x / z;
}

static inline uint64_t udiv(uint64_t x, uint64_t z, bool *bad)
{
    if (z == 0) {
        *bad = true;
        return 0;
    }
    return x / z;
}

/* Remainder with the divisor's sign (Mod, fmod=0) or the dividend's (fmod=1). */
static inline int64_t smod(int64_t x, int64_t z, bool floor_mod, bool *bad)
{
    if (z == 0) {
        *bad = true;
        return 0;
    }
    if (z == -1) return 0;
    int64_t r = x % z;
    if (floor_mod && r != 0 && ((r < 0) != (z < 0))) r += z;
    return r;
}

static inline uint64_t umod(uint64_t x, uint64_t z, bool *bad)
{
    if (z == 0) {
        *bad = true;
        return 0;
    }
    return x % z;
}

/* x^e on integers; a negative exponent truncates 1/x^|e| toward zero. */
static inline uint64_t ipow(uint64_t x, uint64_t e, bool e_negative)
{
    if (e_negative) {
        if (x == 1) return 1;
        if (x == UINT64_MAX) return (e & 1) ? UINT64_MAX : 1; /* -1 */
        return 0;
    }
    uint64_t r = 1;
    while (e) {
        if (e & 1) r *= x;
        x *= x;
        e >>= 1;
    }
    return r;
}

#define DEFINE_FLOAT_BINARY(DT, TYPE, S, N)                                                         \
    static inline TYPE floor_mod_##N(TYPE x, TYPE z)                                                \
    {                                                                                               \
        TYPE r = fmod(x, z);                                                                        \
        return r != 0 && ((r < 0) != (z < 0)) ? r + z : r;                                          \
    }                                                                                               \
    VEC_CLONES static void binary_##N(bjob *j, const unsigned char *const *src, const int64_t *st,  \
                                      unsigned char *dst, int64_t n)                                \
    {                                                                                               \
        typedef TYPE T;                                                                             \
        switch (j->op) {                                                                            \
        case B_ADD: LOOP2(T, T, T, x + z); break;                                                   \
        case B_SUB: LOOP2(T, T, T, x - z); break;                                                   \
        case B_MUL: LOOP2(T, T, T, x * z); break;                                                   \
        case B_DIV: LOOP2(T, T, T, x / z); break;                                                   \
        case B_MOD: LOOP2(T, T, T, floor_mod_##N(x, z)); break;                                     \
        case B_FMOD: LOOP2(T, T, T, fmod(x, z)); break;                                             \
        case B_MAX: LOOP2(T, T, T, x != x || x > z ? x : z); break;                                 \
        case B_MIN: LOOP2(T, T, T, x != x || x < z ? x : z); break;                                 \
        case B_PRELU: LOOP2(T, T, T, x < 0 ? x * z : x); break;                                     \
        case B_POW: LOOP2(T, T, T, pow(x, z)); break;                                               \
        default: break;                                                                             \
        }                                                                                           \
    }
FLOAT_TYPES(DEFINE_FLOAT_BINARY)

#define DEFINE_INT_BINARY(DT, TYPE, S, N)                                                           \
    static inline TYPE div_##N(TYPE x, TYPE z, bool *bad)                                           \
    {                                                                                               \
        return S ? (TYPE)sdiv((int64_t)x, (int64_t)z, bad) : (TYPE)udiv((uint64_t)x, (uint64_t)z, bad); \
    }                                                                                               \
    static inline TYPE mod_##N(TYPE x, TYPE z, bool floor_mod, bool *bad)                           \
    {                                                                                               \
        return S ? (TYPE)smod((int64_t)x, (int64_t)z, floor_mod, bad) : (TYPE)umod((uint64_t)x, (uint64_t)z, bad); \
    }                                                                                               \
    static inline TYPE prelu_##N(TYPE x, TYPE z)                                                    \
    {                                                                                               \
        return S && is_neg((int64_t)x) ? (TYPE)((uint64_t)x * (uint64_t)z) : x;                     \
    }                                                                                               \
    static void binary_##N(bjob *j, const unsigned char *const *src, const int64_t *st,             \
                           unsigned char *dst, int64_t n)                                           \
    {                                                                                               \
        typedef TYPE T;                                                                             \
        bool bad = false;                                                                           \
        const bool floor_mod = j->op == B_MOD;                                                      \
        switch (j->op) {                                                                            \
        case B_ADD: LOOP2(T, T, T, (uint64_t)x + (uint64_t)z); break;                               \
        case B_SUB: LOOP2(T, T, T, (uint64_t)x - (uint64_t)z); break;                               \
        case B_MUL: LOOP2(T, T, T, (uint64_t)x * (uint64_t)z); break;                               \
        case B_DIV: LOOP2(T, T, T, div_##N(x, z, &bad)); break;                                     \
        case B_MOD:                                                                                 \
        case B_FMOD: LOOP2(T, T, T, mod_##N(x, z, floor_mod, &bad)); break;                         \
        case B_MAX: LOOP2(T, T, T, x > z ? x : z); break;                                           \
        case B_MIN: LOOP2(T, T, T, x < z ? x : z); break;                                           \
        case B_PRELU: LOOP2(T, T, T, prelu_##N(x, z)); break;                                       \
        case B_POW: LOOP2(T, T, T, ipow((uint64_t)x, (uint64_t)z, S && is_neg((int64_t)z))); break; \
        default: break;                                                                             \
        }                                                                                           \
        if (bad) atomic_store_explicit(&j->div_by_zero, true, memory_order_relaxed);                \
    }
INT_TYPES(DEFINE_INT_BINARY)

static void binary_inner(void *job, const unsigned char *const *src, const int64_t *st, unsigned char *dst,
                         int64_t n)
{
    bjob *j = job;
    switch (j->dtype) {
#define CASE_BINARY(DT, TYPE, S, N) case DT: binary_##N(j, src, st, dst, n); break;
        FLOAT_TYPES(CASE_BINARY)
        INT_TYPES(CASE_BINARY)
#undef CASE_BINARY
    default: break;
    }
}

static bool binary_type_ok(int dt)
{
    return dt == OC_DTYPE_FLOAT || dt == OC_DTYPE_DOUBLE || is_int_type(dt);
}

/* y = a op b, a and b broadcast to y's shape (already allocated). */
static oc_status binary_into(oc_kctx *k, int op, const oc_ten *a, const oc_ten *b, oc_ten *y)
{
    walk w;
    const oc_ten *ops[2] = {a, b};
    walk_init(&w, 2, ops, y->ndim, y->dims);
    const size_t es = oc_ten_elem_size(y->dtype);
    const void *base[2] = {a->data, b->data};
    const size_t esz[2] = {es, es};
    bjob j = {op, y->dtype, false};
    if (y->numel) walk_run(k, &w, base, esz, y->data, es, y->numel, binary_inner, &j);
    if (atomic_load(&j.div_by_zero)) return oc_kfail(k, OC_ERR_INVALID, "integer division by zero");
    return OC_OK;
}

static oc_status check_same_type(oc_kctx *k, const oc_ten *a, const oc_ten *b)
{
    if (a->dtype != b->dtype)
        return oc_kfail(k, OC_ERR_INVALID, "input types differ (%s and %s)", oc_dtype_name(a->dtype),
                        oc_dtype_name(b->dtype));
    return OC_OK;
}

static oc_status run_binary(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, int op)
{
    FORWARD_IF_ERROR(need_input(k, in, n_in, 0));
    FORWARD_IF_ERROR(need_input(k, in, n_in, 1));
    const oc_ten *a = in[0];
    oc_ten bv;
    FORWARD_IF_ERROR(legacy_view(k, a, in[1], &bv));
    FORWARD_IF_ERROR(check_same_type(k, a, &bv));
    if (!binary_type_ok(a->dtype))
        return oc_kfail(k, OC_ERR_UNSUPPORTED, "input type %s is not supported", oc_dtype_name(a->dtype));
    const oc_ten *ops[2] = {a, &bv};
    int nd;
    int64_t dims[OC_MAX_DIMS];
    FORWARD_IF_ERROR(bcast_shape(k, 2, ops, &nd, dims));
    FORWARD_IF_ERROR(oc_ten_alloc_full(k, &out[0], a->dtype, nd, dims));
    return binary_into(k, op, a, &bv, &out[0]);
}

#define BINARY_KERNEL(FN, OP)                                                                       \
    static oc_status FN(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out) \
    {                                                                                               \
        if (oc_ten_any_half(in, n_in)) return oc_run_widened(k, in, n_in, out, n_out, FN);                    \
        return run_binary(k, in, n_in, out, OP);                                                    \
    }
BINARY_KERNEL(run_add, B_ADD)
BINARY_KERNEL(run_sub, B_SUB)
BINARY_KERNEL(run_mul, B_MUL)
BINARY_KERNEL(run_div, B_DIV)

static oc_status prepare_mod(oc_kctx *k)
{
    const int64_t f = oc_attr_int(k->node, "fmod", 0);
    if (f != 0 && f != 1) return oc_kfail(k, OC_ERR_INVALID, "fmod=%lld (0 or 1 expected)", (long long)f);
    return OC_OK;
}

/* fmod=0 on floats is outside the spec; it gets the divisor-signed
 * remainder, as on integers. */
static oc_status run_mod(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    if (oc_ten_any_half(in, n_in)) return oc_run_widened(k, in, n_in, out, n_out, run_mod);
    return run_binary(k, in, n_in, out, oc_attr_int(k->node, "fmod", 0) ? B_FMOD : B_MOD);
}

/* PRelu: slope broadcasts onto X. Before opset 7 a 1-D slope of X's channel
 * count applied along axis 1. */
static oc_status run_prelu(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    if (oc_ten_any_half(in, n_in)) return oc_run_widened(k, in, n_in, out, n_out, run_prelu);
    FORWARD_IF_ERROR(need_input(k, in, n_in, 0));
    FORWARD_IF_ERROR(need_input(k, in, n_in, 1));
    const oc_ten *x = in[0];
    oc_ten sv = *in[1];
    if (k->opset < 7 && sv.ndim == 1 && x->ndim >= 2 && sv.dims[0] == x->dims[1] && sv.dims[0] != 1 &&
        sv.dims[0] != x->dims[x->ndim - 1]) {
        sv.ndim = x->ndim - 1;
        for (int i = 1; i < sv.ndim; i++) sv.dims[i] = 1;
    }
    FORWARD_IF_ERROR(check_same_type(k, x, &sv));
    if (!binary_type_ok(x->dtype))
        return oc_kfail(k, OC_ERR_UNSUPPORTED, "input type %s is not supported", oc_dtype_name(x->dtype));
    const oc_ten *ops[2] = {x, &sv};
    int nd;
    int64_t dims[OC_MAX_DIMS];
    FORWARD_IF_ERROR(bcast_shape(k, 2, ops, &nd, dims));
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], x->dtype, nd, dims));
    return binary_into(k, B_PRELU, x, &sv, &out[0]);
}

/* ---- conversions (Cast, and Pow on mixed types) ---- */

/* Elements are moved in chunks through a double (float sources) or an
 * int64 (integer and bool sources) buffer, so every pair of types costs one
 * load loop and one store loop. */
#define CHUNK 1024

static void load_f64(int dt, const unsigned char *p, int64_t n, double *d)
{
    switch (dt) {
    case OC_DTYPE_FLOAT: for (int64_t i = 0; i < n; i++) d[i] = ((const float *)p)[i]; break;
    case OC_DTYPE_DOUBLE: memcpy(d, p, (size_t)n * 8); break;
    case OC_DTYPE_FLOAT16:
    case OC_DTYPE_BFLOAT16:
        for (int64_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            d[i] = dt == OC_DTYPE_FLOAT16 ? oc_half_to_float(h) : oc_bf16_to_float(h);
        }
        break;
    default: break;
    }
}

static void load_i64(int dt, const unsigned char *p, int64_t n, int64_t *d)
{
    switch (dt) {
#define CASE_LOAD(DT, TYPE, S, N) case DT: for (int64_t i = 0; i < n; i++) d[i] = (int64_t)((const TYPE *)p)[i]; break;
        INT_TYPES(CASE_LOAD)
#undef CASE_LOAD
    case OC_DTYPE_BOOL: for (int64_t i = 0; i < n; i++) d[i] = p[i] != 0; break;
    default: break;
    }
}

/* A double as an integer of any width: truncated toward zero, saturated to
 * the int64 (uint64 for that type) range, then wrapped to the width; NaN
 * becomes 0. */
static inline int64_t f64_to_i64(double v)
{
    if (!(v == v)) return 0;
    if (v >= 9223372036854775807.0) return INT64_MAX;
    if (v <= -9223372036854775808.0) return INT64_MIN;
    return (int64_t)v;
}

static inline uint64_t f64_to_u64(double v)
{
    if (v >= 9223372036854775808.0) return v >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)v;
    return (uint64_t)f64_to_i64(v);
}

static void store_f64(int dt, unsigned char *p, int64_t n, const double *d)
{
    switch (dt) {
    case OC_DTYPE_FLOAT: for (int64_t i = 0; i < n; i++) ((float *)p)[i] = (float)d[i]; break;
    case OC_DTYPE_DOUBLE: memcpy(p, d, (size_t)n * 8); break;
    case OC_DTYPE_FLOAT16: for (int64_t i = 0; i < n; i++) ((uint16_t *)p)[i] = float_to_f16(d[i]); break;
    case OC_DTYPE_BFLOAT16: for (int64_t i = 0; i < n; i++) ((uint16_t *)p)[i] = float_to_bf16(d[i]); break;
    case OC_DTYPE_BOOL: for (int64_t i = 0; i < n; i++) p[i] = d[i] != 0; break;
    case OC_DTYPE_UINT64: for (int64_t i = 0; i < n; i++) ((uint64_t *)p)[i] = f64_to_u64(d[i]); break;
#define CASE_STORE(DT, TYPE, S, N)                                                                  \
    case DT: for (int64_t i = 0; i < n; i++) ((TYPE *)p)[i] = (TYPE)f64_to_i64(d[i]); break;
        CASE_STORE(OC_DTYPE_INT8, int8_t, 1, i8)
        CASE_STORE(OC_DTYPE_INT16, int16_t, 1, i16)
        CASE_STORE(OC_DTYPE_INT32, int32_t, 1, i32)
        CASE_STORE(OC_DTYPE_INT64, int64_t, 1, i64)
        CASE_STORE(OC_DTYPE_UINT8, uint8_t, 0, u8)
        CASE_STORE(OC_DTYPE_UINT16, uint16_t, 0, u16)
        CASE_STORE(OC_DTYPE_UINT32, uint32_t, 0, u32)
#undef CASE_STORE
    default: break;
    }
}

/* src_u64: the int64 values are uint64 bit patterns (for float targets). */
static void store_i64(int dt, unsigned char *p, int64_t n, const int64_t *d, bool src_u64)
{
    switch (dt) {
    case OC_DTYPE_FLOAT:
        if (src_u64) for (int64_t i = 0; i < n; i++) ((float *)p)[i] = (float)(uint64_t)d[i];
        else for (int64_t i = 0; i < n; i++) ((float *)p)[i] = (float)d[i];
        break;
    case OC_DTYPE_DOUBLE:
    case OC_DTYPE_FLOAT16:
    case OC_DTYPE_BFLOAT16: {
        double buf[CHUNK];
        for (int64_t i = 0; i < n; i++) buf[i] = src_u64 ? (double)(uint64_t)d[i] : (double)d[i];
        store_f64(dt, p, n, buf);
        break;
    }
    case OC_DTYPE_BOOL: for (int64_t i = 0; i < n; i++) p[i] = d[i] != 0; break;
#define CASE_STORE(DT, TYPE, S, N) case DT: for (int64_t i = 0; i < n; i++) ((TYPE *)p)[i] = (TYPE)d[i]; break;
        INT_TYPES(CASE_STORE)
#undef CASE_STORE
    default: break;
    }
}

static bool cast_target_ok(int dt)
{
    return is_float_type(dt) || is_int_type(dt) || dt == OC_DTYPE_BOOL;
}

static bool cast_source_ok(int dt)
{
    return cast_target_ok(dt) || dt == OC_DTYPE_STRING || dt == OC_DTYPE_INT4 || dt == OC_DTYPE_UINT4;
}

/* Parses a string element as ONNX's Cast does: numbers in C syntax, plus
 * "NaN", "INF", "-INF" in any case. Integers targets keep all 64 bits. */
static oc_status parse_string(oc_kctx *k, const oc_bytes *s, bool as_int, double *d, int64_t *iv)
{
    char buf[128];
    if (s->len >= sizeof(buf)) return oc_kfail(k, OC_ERR_INVALID, "string of %zu bytes is not a number", s->len);
    if (s->len) memcpy(buf, s->data, s->len);
    buf[s->len] = 0;
    char *end;
    errno = 0;
    if (as_int) {
        long long v = strtoll(buf, &end, 10);
        if (end != buf && *end == 0) {
            *iv = v;
            return OC_OK;
        }
    }
    const double v = strtod(buf, &end);
    if (end == buf || *end != 0) return oc_kfail(k, OC_ERR_INVALID, "cannot cast '%s' to a number", buf);
    *d = v;
    *iv = f64_to_i64(v);
    return OC_OK;
}

/* dst (allocated with the target type and src's shape) = src converted. */
static oc_status convert(oc_kctx *k, const oc_ten *src, oc_ten *dst)
{
    const int from = src->dtype, to = dst->dtype;
    const int64_t n = src->numel;
    if (!cast_source_ok(from))
        return oc_kfail(k, OC_ERR_UNSUPPORTED, "cast from %s is not supported", oc_dtype_name(from));
    if (from == to) {
        if (src->nbytes) memcpy(dst->data, src->data, src->nbytes);
        return OC_OK;
    }
    const size_t in_es = oc_ten_elem_size(from), out_es = oc_ten_elem_size(to);
    const bool int_target = is_int_type(to) || to == OC_DTYPE_BOOL;
    double dbuf[CHUNK];
    int64_t ibuf[CHUNK];
    for (int64_t at = 0; at < n; at += CHUNK) {
        const int64_t m = n - at < CHUNK ? n - at : CHUNK;
        unsigned char *q = (unsigned char *)dst->data + (size_t)at * out_es;
        if (from == OC_DTYPE_STRING) {
            for (int64_t i = 0; i < m; i++)
                FORWARD_IF_ERROR(parse_string(k, &src->strings[at + i], int_target, &dbuf[i], &ibuf[i]));
            if (int_target) store_i64(to, q, m, ibuf, false);
            else store_f64(to, q, m, dbuf);
        } else if (from == OC_DTYPE_INT4 || from == OC_DTYPE_UINT4) {
            for (int64_t i = 0; i < m; i++) ibuf[i] = (int64_t)oc_ten_get(src, at + i);
            store_i64(to, q, m, ibuf, false);
        } else if (is_float_type(from)) {
            load_f64(from, (const unsigned char *)src->data + (size_t)at * in_es, m, dbuf);
            store_f64(to, q, m, dbuf);
        } else {
            load_i64(from, (const unsigned char *)src->data + (size_t)at * in_es, m, ibuf);
            store_i64(to, q, m, ibuf, from == OC_DTYPE_UINT64);
        }
    }
    return OC_OK;
}

/* ---- Pow ---- */

/* Same types run the typed loops; mixed base and exponent types compute
 * in double and convert to the base's type (as ONNX's Pow returns). */
static oc_status run_pow(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    if (oc_ten_any_half(in, n_in)) return oc_run_widened(k, in, n_in, out, n_out, run_pow);
    FORWARD_IF_ERROR(need_input(k, in, n_in, 0));
    FORWARD_IF_ERROR(need_input(k, in, n_in, 1));
    if (in[0]->dtype == in[1]->dtype) return run_binary(k, in, n_in, out, B_POW);
    const oc_ten *a = in[0];
    oc_ten bv;
    FORWARD_IF_ERROR(legacy_view(k, a, in[1], &bv));
    for (int i = 0; i < 2; i++) {
        const int dt = i ? bv.dtype : a->dtype;
        if (!binary_type_ok(dt))
            return oc_kfail(k, OC_ERR_UNSUPPORTED, "input type %s is not supported", oc_dtype_name(dt));
    }
    const oc_ten *ops[2] = {a, &bv};
    int nd;
    int64_t dims[OC_MAX_DIMS];
    FORWARD_IF_ERROR(bcast_shape(k, 2, ops, &nd, dims));
    oc_ten da = {0}, db = {0}, dy = {0};
    oc_status st = oc_ten_alloc(k, &da, OC_DTYPE_DOUBLE, a->ndim, a->dims);
    if (st == OC_OK) st = convert(k, a, &da);
    if (st == OC_OK) st = oc_ten_alloc(k, &db, OC_DTYPE_DOUBLE, bv.ndim, bv.dims);
    if (st == OC_OK) st = convert(k, &bv, &db);
    if (st == OC_OK) st = oc_ten_alloc(k, &dy, OC_DTYPE_DOUBLE, nd, dims);
    if (st == OC_OK) st = binary_into(k, B_POW, &da, &db, &dy);
    if (st == OC_OK) st = oc_ten_alloc(k, &out[0], a->dtype, nd, dims);
    if (st == OC_OK) st = convert(k, &dy, &out[0]);
    oc_ten_release(&da);
    oc_ten_release(&db);
    oc_ten_release(&dy);
    return st;
}

/* ---- variadic: Max, Min, Sum, Mean ---- */

/* y = in[0] op in[1] op ..., all broadcast together; Mean divides by n. */
static oc_status run_variadic(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, int op, bool mean)
{
    if (n_in == 0) return oc_kfail(k, OC_ERR_INVALID, "no inputs");
    for (size_t i = 0; i < n_in; i++) {
        FORWARD_IF_ERROR(need_input(k, in, n_in, i));
        FORWARD_IF_ERROR(check_same_type(k, in[0], in[i]));
    }
    const int dt = in[0]->dtype;
    if (!binary_type_ok(dt) || (mean && !is_float_type(dt)))
        return oc_kfail(k, OC_ERR_UNSUPPORTED, "input type %s is not supported", oc_dtype_name(dt));
    int nd;
    int64_t dims[OC_MAX_DIMS];
    FORWARD_IF_ERROR(bcast_shape(k, n_in, in, &nd, dims));
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], dt, nd, dims));
    oc_ten *y = &out[0];
    /* one input: y = in[0] broadcast (max(x, x) == x, so any op copies) */
    FORWARD_IF_ERROR(binary_into(k, n_in == 1 ? B_MAX : op, in[0], in[n_in == 1 ? 0 : 1], y));
    for (size_t i = 2; i < n_in; i++) FORWARD_IF_ERROR(binary_into(k, op, y, in[i], y));
    if (mean && n_in > 1) {
        if (dt == OC_DTYPE_FLOAT) {
            float *p = y->data;
            const float inv = (float)n_in;
            for (int64_t i = 0; i < y->numel; i++) p[i] /= inv;
        } else {
            double *p = y->data;
            for (int64_t i = 0; i < y->numel; i++) p[i] /= (double)n_in;
        }
    }
    return OC_OK;
}

#define VARIADIC_KERNEL(FN, OP, MEAN)                                                               \
    static oc_status FN(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out) \
    {                                                                                               \
        if (oc_ten_any_half(in, n_in)) return oc_run_widened(k, in, n_in, out, n_out, FN);                    \
        return run_variadic(k, in, n_in, out, OP, MEAN);                                            \
    }
VARIADIC_KERNEL(run_max, B_MAX, false)
VARIADIC_KERNEL(run_min, B_MIN, false)
VARIADIC_KERNEL(run_sum, B_ADD, false)
VARIADIC_KERNEL(run_mean, B_ADD, true)

/* ---- comparisons and logic: bool output ---- */

enum { C_EQ, C_LT, C_GT, C_LE, C_GE, L_AND, L_OR, L_XOR };

typedef struct cjob {
    int op, dtype;
} cjob;

#define DEFINE_COMPARE(DT, TYPE, S, N)                                                              \
    static void compare_##N(int op, const unsigned char *const *src, const int64_t *st,             \
                            unsigned char *dst, int64_t n)                                          \
    {                                                                                               \
        switch (op) {                                                                               \
        case C_EQ: LOOP2(TYPE, TYPE, unsigned char, x == z); break;                                 \
        case C_LT: LOOP2(TYPE, TYPE, unsigned char, x < z); break;                                  \
        case C_GT: LOOP2(TYPE, TYPE, unsigned char, x > z); break;                                  \
        case C_LE: LOOP2(TYPE, TYPE, unsigned char, x <= z); break;                                 \
        case C_GE: LOOP2(TYPE, TYPE, unsigned char, x >= z); break;                                 \
        default: break;                                                                             \
        }                                                                                           \
    }
FLOAT_TYPES(DEFINE_COMPARE)
INT_TYPES(DEFINE_COMPARE)

static bool bytes_equal(oc_bytes x, oc_bytes z)
{
    return x.len == z.len && (x.len == 0 || memcmp(x.data, z.data, x.len) == 0);
}

static void compare_inner(void *job, const unsigned char *const *src, const int64_t *st, unsigned char *dst,
                          int64_t n)
{
    const cjob *j = job;
    switch (j->dtype) {
#define CASE_COMPARE(DT, TYPE, S, N) case DT: compare_##N(j->op, src, st, dst, n); break;
        FLOAT_TYPES(CASE_COMPARE)
        INT_TYPES(CASE_COMPARE)
#undef CASE_COMPARE
    case OC_DTYPE_BOOL:
        switch (j->op) {
        case C_EQ: LOOP2(unsigned char, unsigned char, unsigned char, !x == !z); break;
        case L_AND: LOOP2(unsigned char, unsigned char, unsigned char, x && z); break;
        case L_OR: LOOP2(unsigned char, unsigned char, unsigned char, x || z); break;
        case L_XOR: LOOP2(unsigned char, unsigned char, unsigned char, !x != !z); break;
        default: break;
        }
        break;
    case OC_DTYPE_STRING: LOOP2(oc_bytes, oc_bytes, unsigned char, bytes_equal(x, z)); break;
    default: break;
    }
}

static oc_status run_compare(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, int op)
{
    FORWARD_IF_ERROR(need_input(k, in, n_in, 0));
    FORWARD_IF_ERROR(need_input(k, in, n_in, 1));
    const oc_ten *a = in[0];
    oc_ten bv;
    FORWARD_IF_ERROR(legacy_view(k, a, in[1], &bv));
    FORWARD_IF_ERROR(check_same_type(k, a, &bv));
    const int dt = a->dtype;
    const bool logic = op >= L_AND;
    const bool ok = logic ? dt == OC_DTYPE_BOOL
                          : (dt == OC_DTYPE_FLOAT || dt == OC_DTYPE_DOUBLE || is_int_type(dt) ||
                             (op == C_EQ && (dt == OC_DTYPE_BOOL || dt == OC_DTYPE_STRING)));
    if (!ok) return oc_kfail(k, OC_ERR_UNSUPPORTED, "input type %s is not supported", oc_dtype_name(dt));
    const oc_ten *ops[2] = {a, &bv};
    int nd;
    int64_t dims[OC_MAX_DIMS];
    FORWARD_IF_ERROR(bcast_shape(k, 2, ops, &nd, dims));
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], OC_DTYPE_BOOL, nd, dims));
    if (!out[0].numel) return OC_OK;
    walk w;
    walk_init(&w, 2, ops, nd, dims);
    const bool str = dt == OC_DTYPE_STRING;
    const void *base[2] = {str ? (const void *)a->strings : a->data, str ? (const void *)bv.strings : bv.data};
    const size_t es = str ? sizeof(oc_bytes) : oc_ten_elem_size(dt);
    const size_t esz[2] = {es, es};
    cjob j = {op, dt};
    walk_run(k, &w, base, esz, out[0].data, 1, out[0].numel, compare_inner, &j);
    return OC_OK;
}

#define COMPARE_KERNEL(FN, OP)                                                                      \
    static oc_status FN(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out) \
    {                                                                                               \
        if (oc_ten_any_half(in, n_in)) return oc_run_widened(k, in, n_in, out, n_out, FN);                    \
        return run_compare(k, in, n_in, out, OP);                                                   \
    }
COMPARE_KERNEL(run_equal, C_EQ)
COMPARE_KERNEL(run_less, C_LT)
COMPARE_KERNEL(run_greater, C_GT)
COMPARE_KERNEL(run_less_equal, C_LE)
COMPARE_KERNEL(run_greater_equal, C_GE)
COMPARE_KERNEL(run_and, L_AND)
COMPARE_KERNEL(run_or, L_OR)
COMPARE_KERNEL(run_xor, L_XOR)

static oc_status run_not(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    FORWARD_IF_ERROR(need_input(k, in, n_in, 0));
    const oc_ten *x = in[0];
    if (x->dtype != OC_DTYPE_BOOL)
        return oc_kfail(k, OC_ERR_UNSUPPORTED, "input type %s is not supported", oc_dtype_name(x->dtype));
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], OC_DTYPE_BOOL, x->ndim, x->dims));
    const unsigned char *a = x->data;
    unsigned char *y = out[0].data;
    for (int64_t i = 0; i < x->numel; i++) y[i] = !a[i];
    return OC_OK;
}

/* ---- Where ---- */

#define WHERE_LOOP(T)                                                                               \
    do {                                                                                            \
        const T *x_ = (const T *)src[1], *z_ = (const T *)src[2];                                   \
        T *y_ = (T *)dst;                                                                           \
        if (sc == 1 && sx == 1 && sz == 1)                                                          \
            for (int64_t i = 0; i < n; i++) y_[i] = c[i] ? x_[i] : z_[i];                           \
        else                                                                                        \
            for (int64_t i = 0; i < n; i++) y_[i] = c[i * sc] ? x_[i * sx] : z_[i * sz];            \
    } while (0)

static void where_inner(void *job, const unsigned char *const *src, const int64_t *st, unsigned char *dst,
                        int64_t n)
{
    const size_t es = *(const size_t *)job;
    const unsigned char *c = src[0];
    const int64_t sc = st[0], sx = st[1], sz = st[2];
    switch (es) {
    case 1: WHERE_LOOP(uint8_t); break;
    case 2: WHERE_LOOP(uint16_t); break;
    case 4: WHERE_LOOP(uint32_t); break;
    case 8: WHERE_LOOP(uint64_t); break;
    default: break;
    }
}

static oc_status run_where(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    for (size_t i = 0; i < 3; i++) FORWARD_IF_ERROR(need_input(k, in, n_in, i));
    if (in[0]->dtype != OC_DTYPE_BOOL)
        return oc_kfail(k, OC_ERR_INVALID, "condition is %s (bool expected)", oc_dtype_name(in[0]->dtype));
    FORWARD_IF_ERROR(check_same_type(k, in[1], in[2]));
    const int dt = in[1]->dtype;
    const size_t es = oc_ten_elem_size(dt);
    if (es != 1 && es != 2 && es != 4 && es != 8)
        return oc_kfail(k, OC_ERR_UNSUPPORTED, "input type %s is not supported", oc_dtype_name(dt));
    int nd;
    int64_t dims[OC_MAX_DIMS];
    FORWARD_IF_ERROR(bcast_shape(k, 3, in, &nd, dims));
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], dt, nd, dims));
    if (!out[0].numel) return OC_OK;
    walk w;
    walk_init(&w, 3, in, nd, dims);
    const void *base[3] = {in[0]->data, in[1]->data, in[2]->data};
    const size_t esz[3] = {1, es, es};
    size_t job = es;
    walk_run(k, &w, base, esz, out[0].data, es, out[0].numel, where_inner, &job);
    return OC_OK;
}

/* ---- Cast, CastLike ---- */

/* Cast-1 names its target type with a string. */
static int type_from_name(const char *s)
{
    static const struct {
        const char *name;
        int dtype;
    } names[] = {
        {"FLOAT", OC_DTYPE_FLOAT},   {"UINT8", OC_DTYPE_UINT8},     {"INT8", OC_DTYPE_INT8},
        {"UINT16", OC_DTYPE_UINT16}, {"INT16", OC_DTYPE_INT16},     {"INT32", OC_DTYPE_INT32},
        {"INT64", OC_DTYPE_INT64},   {"STRING", OC_DTYPE_STRING},   {"BOOL", OC_DTYPE_BOOL},
        {"FLOAT16", OC_DTYPE_FLOAT16}, {"DOUBLE", OC_DTYPE_DOUBLE}, {"UINT32", OC_DTYPE_UINT32},
        {"UINT64", OC_DTYPE_UINT64}, {"BFLOAT16", OC_DTYPE_BFLOAT16},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(s, names[i].name) == 0) return names[i].dtype;
    return 0;
}

static int cast_to(const oc_kctx *k)
{
    const oc_attr *a = oc_node_attr(k->node, "to");
    if (!a) return 0;
    if (a->type == OC_ATTR_STRING || (a->has_s && !a->has_i)) {
        char buf[32];
        return type_from_name(oc_attr_str(k->node, "to", "", buf, sizeof(buf)));
    }
    return (int)oc_attr_int(k->node, "to", 0);
}

/* The runtime cannot own string storage, so targets are numeric or bool;
 * float8 / 4-bit targets (and their saturate rules) are not implemented. */
static oc_status check_cast_target(oc_kctx *k, int to)
{
    if (!cast_target_ok(to))
        return oc_kfail(k, to > 0 && to < OC_DTYPE_COUNT ? OC_ERR_UNSUPPORTED : OC_ERR_INVALID,
                        "cast to %s (type %d) is not supported", oc_dtype_name(to), to);
    return OC_OK;
}

static oc_status prepare_cast(oc_kctx *k)
{
    if (!oc_node_attr(k->node, "to")) return oc_kfail(k, OC_ERR_INVALID, "attribute 'to' is missing");
    return check_cast_target(k, cast_to(k));
}

static oc_status cast_into(oc_kctx *k, const oc_ten *x, int to, oc_ten *out)
{
    FORWARD_IF_ERROR(check_cast_target(k, to));
    FORWARD_IF_ERROR(oc_ten_alloc(k, out, to, x->ndim, x->dims));
    return convert(k, x, out);
}

static oc_status run_cast(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    FORWARD_IF_ERROR(need_input(k, in, n_in, 0));
    return cast_into(k, in[0], cast_to(k), &out[0]);
}

static oc_status run_cast_like(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    FORWARD_IF_ERROR(need_input(k, in, n_in, 0));
    FORWARD_IF_ERROR(need_input(k, in, n_in, 1));
    return cast_into(k, in[0], in[1]->dtype, &out[0]);
}

/* ---- Identity, Dropout ---- */

static oc_status run_identity(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    (void)n_out;
    FORWARD_IF_ERROR(need_input(k, in, n_in, 0));
    return oc_ten_copy_reshape(k, &out[0], in[0], in[0]->ndim, in[0]->dims);
}

/* Inference: y = x, and the optional mask is all ones (bool from opset 10,
 * the input's type before). Opset 12 made training a run-time input: a
 * training run with a nonzero ratio would be random, and is refused. */
static oc_status run_dropout(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    FORWARD_IF_ERROR(need_input(k, in, n_in, 0));
    const oc_ten *x = in[0];
    if (k->opset >= 12 && n_in > 2 && in[2] && in[2]->numel && oc_ten_get(in[2], 0) != 0) {
        const double ratio = n_in > 1 && in[1] && in[1]->numel ? oc_ten_get(in[1], 0) : 0.5;
        if (ratio != 0)
            return oc_kfail(k, OC_ERR_UNSUPPORTED, "training_mode=true with ratio %g (random dropout)", ratio);
    }
    FORWARD_IF_ERROR(oc_ten_copy_reshape(k, &out[0], x, x->ndim, x->dims));
    if (!output_wanted(k, n_out, 1)) return OC_OK;
    const int mdt = k->opset >= 10 ? OC_DTYPE_BOOL : x->dtype;
    if (mdt != OC_DTYPE_BOOL && !cast_target_ok(mdt))
        return oc_kfail(k, OC_ERR_UNSUPPORTED, "mask of type %s", oc_dtype_name(mdt));
    FORWARD_IF_ERROR(oc_ten_alloc(k, &out[1], mdt, x->ndim, x->dims));
    for (int64_t at = 0; at < x->numel; at += CHUNK) {
        int64_t ones[CHUNK];
        const int64_t m = x->numel - at < CHUNK ? x->numel - at : CHUNK;
        for (int64_t i = 0; i < m; i++) ones[i] = 1;
        store_i64(mdt, (unsigned char *)out[1].data + (size_t)at * oc_ten_elem_size(mdt), m, ones, false);
    }
    return OC_OK;
}

/* ---- the table ---- */

const oc_op_def oc_ops_elementwise[] = {
    {"", "Abs", 1, NULL, run_abs},
    {"", "Add", 1, prepare_legacy_bcast, run_add},
    {"", "Add", 7, NULL, run_add},
    {"", "And", 1, prepare_legacy_bcast, run_and},
    {"", "And", 7, NULL, run_and},
    {"", "Cast", 1, prepare_cast, run_cast},
    {"", "CastLike", 15, NULL, run_cast_like},
    {"", "Ceil", 1, NULL, run_ceil},
    {"", "Clip", 1, NULL, run_clip},
    {"", "Clip", 11, NULL, run_clip},
    {"", "Cos", 7, NULL, run_cos},
    {"", "Div", 1, prepare_legacy_bcast, run_div},
    {"", "Div", 7, NULL, run_div},
    {"", "Dropout", 1, NULL, run_dropout},
    {"", "Dropout", 12, NULL, run_dropout},
    {"", "Elu", 1, NULL, run_elu},
    {"", "Equal", 1, prepare_legacy_bcast, run_equal},
    {"", "Equal", 7, NULL, run_equal},
    {"", "Erf", 9, NULL, run_erf},
    {"", "Exp", 1, NULL, run_exp},
    {"", "Floor", 1, NULL, run_floor},
    {"", "Gelu", 20, prepare_gelu, run_gelu},
    {"", "Greater", 1, prepare_legacy_bcast, run_greater},
    {"", "Greater", 7, NULL, run_greater},
    {"", "GreaterOrEqual", 12, NULL, run_greater_equal},
    {"", "HardSigmoid", 1, NULL, run_hard_sigmoid},
    {"", "HardSwish", 14, NULL, run_hard_swish},
    {"", "Identity", 1, NULL, run_identity},
    {"", "IsInf", 10, NULL, run_isinf},
    {"", "IsNaN", 9, NULL, run_isnan},
    {"", "LeakyRelu", 1, NULL, run_leaky_relu},
    {"", "Less", 1, prepare_legacy_bcast, run_less},
    {"", "Less", 7, NULL, run_less},
    {"", "LessOrEqual", 12, NULL, run_less_equal},
    {"", "Log", 1, NULL, run_log},
    {"", "Max", 1, NULL, run_max},
    {"", "Mean", 1, NULL, run_mean},
    {"", "Min", 1, NULL, run_min},
    {"", "Mod", 10, prepare_mod, run_mod},
    {"", "Mul", 1, prepare_legacy_bcast, run_mul},
    {"", "Mul", 7, NULL, run_mul},
    {"", "Neg", 1, NULL, run_neg},
    {"", "Not", 1, NULL, run_not},
    {"", "Or", 1, prepare_legacy_bcast, run_or},
    {"", "Or", 7, NULL, run_or},
    {"", "PRelu", 1, NULL, run_prelu},
    {"", "PRelu", 7, NULL, run_prelu},
    {"", "Pow", 1, prepare_legacy_bcast, run_pow},
    {"", "Pow", 7, NULL, run_pow},
    {"", "Reciprocal", 1, NULL, run_reciprocal},
    {"", "Relu", 1, NULL, run_relu},
    {"", "Round", 11, NULL, run_round},
    {"", "Selu", 1, NULL, run_selu},
    {"", "Sigmoid", 1, NULL, run_sigmoid},
    {"", "Sign", 9, NULL, run_sign},
    {"", "Sin", 7, NULL, run_sin},
    {"", "Softplus", 1, NULL, run_softplus},
    {"", "Softsign", 1, NULL, run_softsign},
    {"", "Sqrt", 1, NULL, run_sqrt},
    {"", "Sub", 1, prepare_legacy_bcast, run_sub},
    {"", "Sub", 7, NULL, run_sub},
    {"", "Sum", 1, NULL, run_sum},
    {"", "Tanh", 1, NULL, run_tanh},
    {"", "Where", 9, NULL, run_where},
    {"", "Xor", 1, prepare_legacy_bcast, run_xor},
    {"", "Xor", 7, NULL, run_xor},
};
const size_t oc_ops_elementwise_count = sizeof(oc_ops_elementwise) / sizeof(oc_ops_elementwise[0]);
