/* test_ops_elementwise.c: the elementwise kernels, called through the op
 * registry on hand-built nodes and compared with plain loops written here
 * (or with hand-checked values): every unary op, broadcasting in all its
 * shapes, integer semantics, the opset differences (legacy broadcast, Clip
 * attributes vs inputs, Dropout's mask type, Cast-1's string type names),
 * float16 / bfloat16 routing, and what prepare refuses. */
#include "exec/exec.h"
#include "kernel_test.h"
#include "unit.h"

#include <float.h>
#include <math.h>

/* ---- harness ---- */

static oc_ctx ctx;
static int threads = 1; /* what run_op offers the kernel */

/* Runs op at opset on in[], with prepare first; outputs in out[]. */
static oc_status run_op(const char *op, int64_t opset, oc_attr *attrs, size_t n_attrs, const oc_ten *const *in,
                        size_t n_in, oc_ten *out, size_t n_out)
{
    static const char *outs[] = {"y", "mask"};
    oc_node node = {.name = "n", .op_type = op, .attrs = attrs, .n_attrs = n_attrs, .outputs = outs,
                    .n_outputs = n_out};
    oc_kctx k = {&ctx, &node, opset, NULL, threads};
    oc_ctx_init(&ctx);
    const oc_op_def *def = oc_op_find("", op, opset);
    if (!def) {
        printf("  no kernel for %s at opset %lld\n", op, (long long)opset);
        return OC_ERR_UNSUPPORTED;
    }
    if (def->prepare) {
        oc_status st = def->prepare(&k);
        if (st != OC_OK) return st;
    }
    return def->run(&k, in, n_in, out, n_out);
}

static oc_ten mk(int dtype, int ndim, const int64_t *dims, const void *data)
{
    oc_ten t;
    oc_ctx c;
    oc_ctx_init(&c);
    if (oc_ten_new(&c, &t, dtype, ndim, dims) != OC_OK) abort();
    if (data && t.nbytes) memcpy(t.data, data, t.nbytes);
    return t;
}

static oc_ten mkf(int ndim, const int64_t *dims, const float *v) { return mk(OC_DTYPE_FLOAT, ndim, dims, v); }

static bool same_shape(const oc_ten *t, int ndim, const int64_t *dims)
{
    if (t->ndim != ndim) return false;
    for (int i = 0; i < ndim; i++)
        if (t->dims[i] != dims[i]) return false;
    return true;
}

static bool close_f(double a, double b, double tol)
{
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    if (isinf(a) || isinf(b)) return a == b;
    return fabs(a - b) <= tol * (1 + fabs(b));
}

static uint32_t rng = 12345;
static float frand(float lo, float hi)
{
    rng = rng * 1664525u + 1013904223u;
    return lo + (hi - lo) * (float)(rng >> 8) / 16777216.0f;
}

/* ---- unary float ops ---- */

static double r_sigmoid(double x, double a, double b) { (void)a, (void)b; return 1 / (1 + exp(-x)); }
static double r_relu(double x, double a, double b) { (void)a, (void)b; return x > 0 ? x : 0; }
static double r_leaky(double x, double a, double b) { (void)b; return x >= 0 ? x : a * x; }
static double r_hsig(double x, double a, double b) { return fmax(0, fmin(1, a * x + b)); }
static double r_hswish(double x, double a, double b) { (void)a, (void)b; return x * fmax(0, fmin(1, x / 6 + 0.5)); }
static double r_tanh(double x, double a, double b) { (void)a, (void)b; return tanh(x); }
static double r_erf(double x, double a, double b) { (void)a, (void)b; return erf(x); }
static double r_gelu(double x, double a, double b) { (void)a, (void)b; return x * 0.5 * (1 + erf(x / sqrt(2.0))); }
static double r_gelu_tanh(double x, double a, double b)
{
    (void)a, (void)b;
    return 0.5 * x * (1 + tanh(sqrt(2 / M_PI) * (x + 0.044715 * pow(x, 3))));
}
static double r_exp(double x, double a, double b) { (void)a, (void)b; return exp(x); }
static double r_log(double x, double a, double b) { (void)a, (void)b; return log(x); }
static double r_sqrt(double x, double a, double b) { (void)a, (void)b; return sqrt(x); }
static double r_abs(double x, double a, double b) { (void)a, (void)b; return fabs(x); }
static double r_neg(double x, double a, double b) { (void)a, (void)b; return -x; }
static double r_recip(double x, double a, double b) { (void)a, (void)b; return 1 / x; }
static double r_floor(double x, double a, double b) { (void)a, (void)b; return floor(x); }
static double r_ceil(double x, double a, double b) { (void)a, (void)b; return ceil(x); }
static double r_sign(double x, double a, double b) { (void)a, (void)b; return x > 0 ? 1 : x < 0 ? -1 : 0; }
static double r_softplus(double x, double a, double b) { (void)a, (void)b; return log(exp(x) + 1); }
static double r_softsign(double x, double a, double b) { (void)a, (void)b; return x / (1 + fabs(x)); }
static double r_elu(double x, double a, double b) { (void)b; return x >= 0 ? x : a * (exp(x) - 1); }
static double r_selu(double x, double a, double g) { return x > 0 ? g * x : g * (a * exp(x) - a); }
static double r_sin(double x, double a, double b) { (void)a, (void)b; return sin(x); }
static double r_cos(double x, double a, double b) { (void)a, (void)b; return cos(x); }

typedef struct ucase {
    const char *op;
    int opset;
    double (*ref)(double, double, double);
    const char *a_name, *b_name;      /* attributes set, or NULL */
    float a, b;                       /* their values (also the reference's) */
    float lo, hi;                     /* input range */
} ucase;

static void unary_float_ops(void)
{
    static const ucase cases[] = {
        {"Relu", 14, r_relu, NULL, NULL, 0, 0, -5, 5},
        {"LeakyRelu", 16, r_leaky, NULL, NULL, 0.01f, 0, -5, 5},
        {"LeakyRelu", 6, r_leaky, "alpha", NULL, 0.3f, 0, -5, 5},
        {"Sigmoid", 13, r_sigmoid, NULL, NULL, 0, 0, -30, 30},
        {"HardSigmoid", 6, r_hsig, NULL, NULL, 0.2f, 0.5f, -5, 5},
        {"HardSigmoid", 6, r_hsig, "alpha", "beta", 0.4f, 0.3f, -5, 5},
        {"HardSwish", 14, r_hswish, NULL, NULL, 0, 0, -6, 6},
        {"Tanh", 13, r_tanh, NULL, NULL, 0, 0, -8, 8},
        {"Erf", 13, r_erf, NULL, NULL, 0, 0, -3, 3},
        {"Gelu", 20, r_gelu, NULL, NULL, 0, 0, -6, 6},
        {"Exp", 13, r_exp, NULL, NULL, 0, 0, -20, 20},
        {"Log", 13, r_log, NULL, NULL, 0, 0, 0.001f, 100},
        {"Sqrt", 13, r_sqrt, NULL, NULL, 0, 0, 0, 100},
        {"Abs", 13, r_abs, NULL, NULL, 0, 0, -5, 5},
        {"Neg", 13, r_neg, NULL, NULL, 0, 0, -5, 5},
        {"Reciprocal", 13, r_recip, NULL, NULL, 0, 0, 0.1f, 5},
        {"Floor", 13, r_floor, NULL, NULL, 0, 0, -5, 5},
        {"Ceil", 13, r_ceil, NULL, NULL, 0, 0, -5, 5},
        {"Sign", 13, r_sign, NULL, NULL, 0, 0, -5, 5},
        {"Softplus", 1, r_softplus, NULL, NULL, 0, 0, -30, 30},
        {"Softsign", 1, r_softsign, NULL, NULL, 0, 0, -30, 30},
        {"Elu", 6, r_elu, NULL, NULL, 1.0f, 0, -5, 5},
        {"Elu", 6, r_elu, "alpha", NULL, 2.0f, 0, -5, 5},
        {"Selu", 6, r_selu, NULL, NULL, 1.67326319217681884765625f, 1.05070102214813232421875f, -5, 5},
        {"Selu", 6, r_selu, "alpha", "gamma", 2.0f, 3.0f, -5, 5},
        {"Sin", 7, r_sin, NULL, NULL, 0, 0, -10, 10},
        {"Cos", 7, r_cos, NULL, NULL, 0, 0, -10, 10},
    };
    enum { N = 257 }; /* odd: no loop ends on a vector boundary */
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        const ucase *u = &cases[c];
        float v[N];
        for (int i = 0; i < N; i++) v[i] = frand(u->lo, u->hi);
        v[0] = 0;
        int64_t d[2] = {1, N};
        oc_ten x = mkf(2, d, v), y = {0};
        oc_attr at[2];
        size_t na = 0;
        if (u->a_name) at[na++] = ut_attr_float(u->a_name, u->a);
        if (u->b_name) at[na++] = ut_attr_float(u->b_name, u->b);
        const oc_ten *in[1] = {&x};
        oc_status st = run_op(u->op, u->opset, at, na, in, 1, &y, 1);
        CHECK_EQ_INT(st, OC_OK);
        if (st != OC_OK) {
            printf("  %s: %s\n", u->op, ctx.msg);
            oc_ten_release(&x);
            continue;
        }
        CHECK(y.dtype == OC_DTYPE_FLOAT && same_shape(&y, 2, d));
        int bad = 0;
        for (int i = 0; i < N; i++) {
            const double want = u->ref(v[i], u->a, u->b);
            if (!close_f(((float *)y.data)[i], want, 2e-6)) {
                if (!bad++) printf("  %s(%g) = %g, want %g\n", u->op, v[i], ((float *)y.data)[i], want);
            }
        }
        CHECK_EQ_INT(bad, 0);
        oc_ten_release(&x);
        oc_ten_release(&y);
    }
}

static void gelu_tanh_and_double(void)
{
    enum { N = 101 };
    double v[N];
    for (int i = 0; i < N; i++) v[i] = -6 + 12.0 * i / (N - 1);
    int64_t d[1] = {N};
    oc_ten x = mk(OC_DTYPE_DOUBLE, 1, d, v), y = {0};
    oc_attr at[1] = {ut_attr_str("approximate", "tanh")};
    const oc_ten *in[1] = {&x};
    CHECK_EQ_INT(run_op("Gelu", 20, at, 1, in, 1, &y, 1), OC_OK);
    CHECK(y.dtype == OC_DTYPE_DOUBLE);
    for (int i = 0; i < N; i++) CHECK(close_f(((double *)y.data)[i], r_gelu_tanh(v[i], 0, 0), 1e-12));
    oc_ten_release(&y);
    /* double Sigmoid far out on both sides */
    CHECK_EQ_INT(run_op("Sigmoid", 13, NULL, 0, in, 1, &y, 1), OC_OK);
    for (int i = 0; i < N; i++) CHECK(close_f(((double *)y.data)[i], r_sigmoid(v[i], 0, 0), 1e-12));
    oc_ten_release(&y);
    oc_ten_release(&x);
    /* an approximation we do not know is refused before running */
    oc_attr bad[1] = {ut_attr_str("approximate", "erf")};
    CHECK_EQ_INT(run_op("Gelu", 20, bad, 1, NULL, 0, &y, 1), OC_ERR_UNSUPPORTED);
    CHECK(strstr(ctx.msg, "approximate") != NULL);
}

static void round_half_even(void)
{
    const float v[] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 2.4f, 2.6f, -2.6f, 0.0f};
    const float want[] = {0, 2, 2, -0.0f, -2, -2, 2, 3, -3, 0};
    int64_t d[1] = {10};
    oc_ten x = mkf(1, d, v), y = {0};
    const oc_ten *in[1] = {&x};
    CHECK_EQ_INT(run_op("Round", 11, NULL, 0, in, 1, &y, 1), OC_OK);
    for (int i = 0; i < 10; i++) CHECK(((float *)y.data)[i] == want[i]);
    oc_ten_release(&x);
    oc_ten_release(&y);
}

static void unary_integers(void)
{
    const int32_t v[] = {-7, 0, 5, INT32_MIN, 3};
    int64_t d[1] = {5};
    oc_ten x = mk(OC_DTYPE_INT32, 1, d, v), y = {0};
    const oc_ten *in[1] = {&x};
    CHECK_EQ_INT(run_op("Relu", 14, NULL, 0, in, 1, &y, 1), OC_OK);
    const int32_t *p = y.data;
    CHECK(y.dtype == OC_DTYPE_INT32 && p[0] == 0 && p[1] == 0 && p[2] == 5 && p[3] == 0 && p[4] == 3);
    CHECK_EQ_INT(run_op("Abs", 13, NULL, 0, in, 1, &y, 1), OC_OK);
    p = y.data;
    CHECK(p[0] == 7 && p[2] == 5 && p[3] == INT32_MIN); /* wraps like the hardware */
    CHECK_EQ_INT(run_op("Neg", 13, NULL, 0, in, 1, &y, 1), OC_OK);
    p = y.data;
    CHECK(p[0] == 7 && p[1] == 0 && p[2] == -5);
    CHECK_EQ_INT(run_op("Sign", 13, NULL, 0, in, 1, &y, 1), OC_OK);
    p = y.data;
    CHECK(p[0] == -1 && p[1] == 0 && p[2] == 1 && p[3] == -1);
    /* ops without integer forms refuse, naming the type */
    CHECK_EQ_INT(run_op("Exp", 13, NULL, 0, in, 1, &y, 1), OC_ERR_UNSUPPORTED);
    CHECK(strstr(ctx.msg, "i32") != NULL);
    oc_ten_release(&x);
    oc_ten_release(&y);
    const uint8_t u[] = {0, 1, 200};
    int64_t d3[1] = {3};
    x = mk(OC_DTYPE_UINT8, 1, d3, u);
    CHECK_EQ_INT(run_op("Sign", 13, NULL, 0, in, 1, &y, 1), OC_OK);
    CHECK(((uint8_t *)y.data)[0] == 0 && ((uint8_t *)y.data)[1] == 1 && ((uint8_t *)y.data)[2] == 1);
    CHECK_EQ_INT(run_op("Abs", 13, NULL, 0, in, 1, &y, 1), OC_OK);
    CHECK(((uint8_t *)y.data)[2] == 200);
    oc_ten_release(&x);
    oc_ten_release(&y);
}

static void clip_opsets(void)
{
    const float v[] = {-3, -1, 0, 1, 3, INFINITY};
    int64_t d[1] = {6};
    oc_ten x = mkf(1, d, v), y = {0};
    const oc_ten *in1[1] = {&x};
    /* opset 6: attributes */
    oc_attr at[2] = {ut_attr_float("min", -1.5f), ut_attr_float("max", 2)};
    CHECK_EQ_INT(run_op("Clip", 6, at, 2, in1, 1, &y, 1), OC_OK);
    const float want6[] = {-1.5f, -1, 0, 1, 2, 2};
    for (int i = 0; i < 6; i++) CHECK(((float *)y.data)[i] == want6[i]);
    /* opset 6 without attributes: the float range */
    CHECK_EQ_INT(run_op("Clip", 6, NULL, 0, in1, 1, &y, 1), OC_OK);
    CHECK(((float *)y.data)[5] == FLT_MAX && ((float *)y.data)[0] == -3);
    /* opset 13: inputs; min omitted */
    const float hi = 0.5f;
    oc_ten th = mkf(0, NULL, &hi);
    const oc_ten *in3[3] = {&x, NULL, &th};
    CHECK_EQ_INT(run_op("Clip", 13, NULL, 0, in3, 3, &y, 1), OC_OK);
    const float want13[] = {-3, -1, 0, 0.5f, 0.5f, 0.5f};
    for (int i = 0; i < 6; i++) CHECK(((float *)y.data)[i] == want13[i]);
    /* min > max: everything becomes max */
    const float lo = 2;
    oc_ten tl = mkf(0, NULL, &lo);
    const oc_ten *in3b[3] = {&x, &tl, &th};
    CHECK_EQ_INT(run_op("Clip", 13, NULL, 0, in3b, 3, &y, 1), OC_OK);
    for (int i = 0; i < 6; i++) CHECK(((float *)y.data)[i] == 0.5f);
    /* no bounds at all: a copy */
    CHECK_EQ_INT(run_op("Clip", 11, NULL, 0, in1, 1, &y, 1), OC_OK);
    CHECK(isinf(((float *)y.data)[5]) && ((float *)y.data)[0] == -3);
    oc_ten_release(&th);
    oc_ten_release(&tl);
    oc_ten_release(&x);
    /* opset 12: int8 with int8 bounds */
    const int8_t iv[] = {-128, -5, 0, 5, 127};
    const int8_t ilo = -4, ihi = 100;
    int64_t d5[1] = {5};
    x = mk(OC_DTYPE_INT8, 1, d5, iv);
    oc_ten a = mk(OC_DTYPE_INT8, 0, NULL, &ilo), b = mk(OC_DTYPE_INT8, 0, NULL, &ihi);
    const oc_ten *ini[3] = {&x, &a, &b};
    CHECK_EQ_INT(run_op("Clip", 12, NULL, 0, ini, 3, &y, 1), OC_OK);
    const int8_t wanti[] = {-4, -4, 0, 5, 100};
    CHECK(y.dtype == OC_DTYPE_INT8 && memcmp(y.data, wanti, 5) == 0);
    /* a bound of another type is an invalid model */
    oc_ten f = mkf(0, NULL, &hi);
    const oc_ten *inm[3] = {&x, NULL, &f};
    CHECK_EQ_INT(run_op("Clip", 13, NULL, 0, inm, 3, &y, 1), OC_ERR_INVALID);
    oc_ten_release(&f);
    oc_ten_release(&a);
    oc_ten_release(&b);
    oc_ten_release(&x);
    oc_ten_release(&y);
}

static void isnan_isinf(void)
{
    const float v[] = {1, NAN, INFINITY, -INFINITY, 0};
    int64_t d[1] = {5};
    oc_ten x = mkf(1, d, v), y = {0};
    const oc_ten *in[1] = {&x};
    CHECK_EQ_INT(run_op("IsNaN", 13, NULL, 0, in, 1, &y, 1), OC_OK);
    const uint8_t wn[] = {0, 1, 0, 0, 0};
    CHECK(y.dtype == OC_DTYPE_BOOL && memcmp(y.data, wn, 5) == 0);
    CHECK_EQ_INT(run_op("IsInf", 10, NULL, 0, in, 1, &y, 1), OC_OK);
    const uint8_t wi[] = {0, 0, 1, 1, 0};
    CHECK(memcmp(y.data, wi, 5) == 0);
    oc_attr at[1] = {ut_attr_int("detect_positive", 0)};
    CHECK_EQ_INT(run_op("IsInf", 10, at, 1, in, 1, &y, 1), OC_OK);
    const uint8_t wneg[] = {0, 0, 0, 1, 0};
    CHECK(memcmp(y.data, wneg, 5) == 0);
    oc_ten_release(&x);
    oc_ten_release(&y);
}

/* ---- broadcasting arithmetic against a naive reference ---- */

/* Index of output element i in an operand of shape (nd, dims) broadcast to
 * (ond, odims). */
static int64_t bidx(int64_t i, int ond, const int64_t *odims, int nd, const int64_t *dims)
{
    int64_t r = 0, s = 1;
    for (int a = ond - 1; a >= 0; a--) {
        const int64_t c = i % odims[a];
        i /= odims[a];
        const int ta = a - (ond - nd);
        if (ta < 0) continue;
        if (dims[ta] != 1) r += c * s;
        s *= dims[ta];
    }
    return r;
}

static double ref_bin(const char *op, double x, double z)
{
    if (!strcmp(op, "Add") || !strcmp(op, "Sum")) return x + z;
    if (!strcmp(op, "Sub")) return x - z;
    if (!strcmp(op, "Mul")) return x * z;
    if (!strcmp(op, "Div")) return x / z;
    if (!strcmp(op, "Max")) return x > z ? x : z;
    if (!strcmp(op, "Min")) return x < z ? x : z;
    if (!strcmp(op, "Pow")) return pow(x, z);
    if (!strcmp(op, "PRelu")) return x < 0 ? x * z : x;
    return NAN;
}

typedef struct shapes {
    int na, nb;
    int64_t a[4], b[4];
} shapes;

static const shapes shape_cases[] = {
    {2, 2, {3, 4}, {3, 4}},           /* equal */
    {3, 0, {2, 3, 4}, {0}},           /* scalar b */
    {0, 3, {0}, {2, 3, 4}},           /* scalar a */
    {3, 1, {2, 3, 4}, {4}},           /* trailing vector */
    {3, 2, {2, 3, 4}, {3, 1}},        /* middle */
    {2, 2, {5, 1}, {1, 7}},           /* outer product */
    {4, 4, {2, 3, 1, 5}, {1, 3, 4, 1}},
    {4, 3, {2, 3, 4, 5}, {3, 1, 1}},  /* per-channel, NCHW */
    {1, 3, {1}, {2, 1, 3}},
    {3, 3, {2, 0, 3}, {1, 1, 3}},     /* empty */
};

static void binary_broadcast_f32(void)
{
    static const char *ops[] = {"Add", "Sub", "Mul", "Div", "Max", "Min", "Pow", "PRelu"};
    for (size_t o = 0; o < sizeof(ops) / sizeof(ops[0]); o++) {
        for (size_t c = 0; c < sizeof(shape_cases) / sizeof(shape_cases[0]); c++) {
            const shapes *s = &shape_cases[c];
            if (!strcmp(ops[o], "PRelu") && s->na < s->nb) continue; /* slope broadcasts onto X only */
            oc_ten a = mk(OC_DTYPE_FLOAT, s->na, s->a, NULL), b = mk(OC_DTYPE_FLOAT, s->nb, s->b, NULL), y = {0};
            const bool pow_op = !strcmp(ops[o], "Pow");
            for (int64_t i = 0; i < a.numel; i++) ((float *)a.data)[i] = pow_op ? frand(0.1f, 3) : frand(-4, 4);
            /* divisors kept away from zero, a third of them negative */
            for (int64_t i = 0; i < b.numel; i++)
                ((float *)b.data)[i] = pow_op ? frand(-2, 2) : frand(0.5f, 4) * (i % 3 ? 1 : -1);
            const oc_ten *in[2] = {&a, &b};
            oc_status st = run_op(ops[o], 14, NULL, 0, in, 2, &y, 1);
            CHECK_EQ_INT(st, OC_OK);
            if (st != OC_OK) {
                printf("  %s case %zu: %s\n", ops[o], c, ctx.msg);
                goto next;
            }
            int bad = 0;
            for (int64_t i = 0; i < y.numel; i++) {
                const double x = ((float *)a.data)[bidx(i, y.ndim, y.dims, a.ndim, a.dims)];
                const double z = ((float *)b.data)[bidx(i, y.ndim, y.dims, b.ndim, b.dims)];
                if (!close_f(((float *)y.data)[i], ref_bin(ops[o], x, z), 1e-6)) bad++;
            }
            if (bad) printf("  %s case %zu: %d wrong\n", ops[o], c, bad);
            CHECK_EQ_INT(bad, 0);
        next:
            oc_ten_release(&a);
            oc_ten_release(&b);
            oc_ten_release(&y);
        }
    }
}

static void binary_int64_and_int32(void)
{
    const int64_t av[] = {7, -7, 7, -7, INT64_MIN, 100};
    const int64_t bv[] = {2, 2, -2, -2, -1, 0};
    int64_t d[1] = {5};
    oc_ten a = mk(OC_DTYPE_INT64, 1, d, av), b = mk(OC_DTYPE_INT64, 1, d, bv), y = {0};
    const oc_ten *in[2] = {&a, &b};
    CHECK_EQ_INT(run_op("Div", 14, NULL, 0, in, 2, &y, 1), OC_OK);
    const int64_t *p = y.data;
    CHECK(y.dtype == OC_DTYPE_INT64 && p[0] == 3 && p[1] == -3 && p[2] == -3 && p[3] == 3 && p[4] == INT64_MIN);
    /* Mod: fmod=0 takes the divisor's sign, fmod=1 the dividend's */
    CHECK_EQ_INT(run_op("Mod", 13, NULL, 0, in, 2, &y, 1), OC_OK);
    p = y.data;
    CHECK(p[0] == 1 && p[1] == 1 && p[2] == -1 && p[3] == -1 && p[4] == 0);
    oc_attr fm[1] = {ut_attr_int("fmod", 1)};
    CHECK_EQ_INT(run_op("Mod", 13, fm, 1, in, 2, &y, 1), OC_OK);
    p = y.data;
    CHECK(p[0] == 1 && p[1] == -1 && p[2] == 1 && p[3] == -1);
    CHECK_EQ_INT(run_op("Add", 14, NULL, 0, in, 2, &y, 1), OC_OK);
    p = y.data;
    CHECK(p[0] == 9 && p[1] == -5 && p[4] == INT64_MAX); /* wraps */
    CHECK_EQ_INT(run_op("Mul", 14, NULL, 0, in, 2, &y, 1), OC_OK);
    CHECK(((int64_t *)y.data)[1] == -14);
    oc_ten_release(&a);
    oc_ten_release(&b);
    /* division by zero is an error, not a trap */
    int64_t d6[1] = {6};
    a = mk(OC_DTYPE_INT64, 1, d6, av);
    b = mk(OC_DTYPE_INT64, 1, d6, bv);
    CHECK_EQ_INT(run_op("Div", 14, NULL, 0, in, 2, &y, 1), OC_ERR_INVALID);
    CHECK(strstr(ctx.msg, "division by zero") != NULL);
    CHECK_EQ_INT(run_op("Mod", 13, NULL, 0, in, 2, &y, 1), OC_ERR_INVALID);
    oc_ten_release(&a);
    oc_ten_release(&b);
    /* int32 shape arithmetic with a broadcast scalar */
    const int32_t sv[] = {1, 2, 3, 4};
    const int32_t two = 2;
    int64_t d4[1] = {4};
    a = mk(OC_DTYPE_INT32, 1, d4, sv);
    b = mk(OC_DTYPE_INT32, 0, NULL, &two);
    CHECK_EQ_INT(run_op("Sub", 14, NULL, 0, in, 2, &y, 1), OC_OK);
    const int32_t *q = y.data;
    CHECK(y.dtype == OC_DTYPE_INT32 && y.ndim == 1 && q[0] == -1 && q[3] == 2);
    CHECK_EQ_INT(run_op("Div", 14, NULL, 0, in, 2, &y, 1), OC_OK);
    q = y.data;
    CHECK(q[0] == 0 && q[1] == 1 && q[2] == 1 && q[3] == 2);
    /* mixed types are an invalid model */
    oc_ten f = mkf(0, NULL, (const float[]){1});
    const oc_ten *mixed[2] = {&a, &f};
    CHECK_EQ_INT(run_op("Add", 14, NULL, 0, mixed, 2, &y, 1), OC_ERR_INVALID);
    /* uint8 wraps */
    const uint8_t u1[] = {250, 3}, u2[] = {10, 5};
    int64_t d2[1] = {2};
    oc_ten ua = mk(OC_DTYPE_UINT8, 1, d2, u1), ub = mk(OC_DTYPE_UINT8, 1, d2, u2);
    const oc_ten *uin[2] = {&ua, &ub};
    CHECK_EQ_INT(run_op("Add", 14, NULL, 0, uin, 2, &y, 1), OC_OK);
    CHECK(((uint8_t *)y.data)[0] == 4 && ((uint8_t *)y.data)[1] == 8);
    CHECK_EQ_INT(run_op("Sub", 14, NULL, 0, uin, 2, &y, 1), OC_OK);
    CHECK(((uint8_t *)y.data)[0] == 240 && ((uint8_t *)y.data)[1] == 254);
    oc_ten_release(&ua);
    oc_ten_release(&ub);
    oc_ten_release(&f);
    oc_ten_release(&a);
    oc_ten_release(&b);
    oc_ten_release(&y);
}

static void mod_floats(void)
{
    const float av[] = {5.5f, -5.5f, 5.5f, -5.5f};
    const float bv[] = {2, 2, -2, -2};
    int64_t d[1] = {4};
    oc_ten a = mkf(1, d, av), b = mkf(1, d, bv), y = {0};
    const oc_ten *in[2] = {&a, &b};
    oc_attr fm[1] = {ut_attr_int("fmod", 1)};
    CHECK_EQ_INT(run_op("Mod", 13, fm, 1, in, 2, &y, 1), OC_OK);
    const float w1[] = {1.5f, -1.5f, 1.5f, -1.5f};
    for (int i = 0; i < 4; i++) CHECK(((float *)y.data)[i] == w1[i]);
    CHECK_EQ_INT(run_op("Mod", 13, NULL, 0, in, 2, &y, 1), OC_OK);
    const float w0[] = {1.5f, 0.5f, -0.5f, -1.5f};
    for (int i = 0; i < 4; i++) CHECK(((float *)y.data)[i] == w0[i]);
    oc_attr bad[1] = {ut_attr_int("fmod", 2)};
    CHECK_EQ_INT(run_op("Mod", 13, bad, 1, in, 2, &y, 1), OC_ERR_INVALID);
    oc_ten_release(&a);
    oc_ten_release(&b);
    oc_ten_release(&y);
}

static void legacy_broadcast(void)
{
    /* opset 6: B [3] laid over A [2,3,4] at axis 1 */
    int64_t da[3] = {2, 3, 4}, db[1] = {3};
    oc_ten a = mk(OC_DTYPE_FLOAT, 3, da, NULL), b = mk(OC_DTYPE_FLOAT, 1, db, NULL), y = {0};
    for (int i = 0; i < 24; i++) ((float *)a.data)[i] = (float)i;
    for (int i = 0; i < 3; i++) ((float *)b.data)[i] = (float)(100 * (i + 1));
    const oc_ten *in[2] = {&a, &b};
    oc_attr at[2] = {ut_attr_int("broadcast", 1), ut_attr_int("axis", 1)};
    CHECK_EQ_INT(run_op("Add", 6, at, 2, in, 2, &y, 1), OC_OK);
    CHECK(same_shape(&y, 3, da));
    int bad = 0;
    for (int i = 0; i < 24; i++) bad += ((float *)y.data)[i] != (float)i + 100 * ((i / 4) % 3 + 1);
    CHECK_EQ_INT(bad, 0);
    /* the same with a negative axis */
    at[1] = ut_attr_int("axis", -2);
    CHECK_EQ_INT(run_op("Mul", 6, at, 2, in, 2, &y, 1), OC_OK);
    CHECK(((float *)y.data)[4] == 4 * 200.0f);
    /* without broadcast=1 the shapes must match, as opset 6 says */
    CHECK_EQ_INT(run_op("Add", 6, NULL, 0, in, 2, &y, 1), OC_ERR_INVALID);
    CHECK(strstr(ctx.msg, "broadcast=0") != NULL);
    /* axis that does not fit */
    at[1] = ut_attr_int("axis", 2);
    CHECK_EQ_INT(run_op("Add", 6, at, 2, in, 2, &y, 1), OC_ERR_INVALID);
    /* trailing-aligned (no axis) is numpy's */
    int64_t d4[1] = {4};
    oc_ten b4 = mk(OC_DTYPE_FLOAT, 1, d4, (const float[]){1, 2, 3, 4});
    const oc_ten *in4[2] = {&a, &b4};
    CHECK_EQ_INT(run_op("Sub", 6, at, 1, in4, 2, &y, 1), OC_OK);
    CHECK(((float *)y.data)[5] == 5 - 2.0f);
    /* opset 7 ignores the old attributes: [2,3,4] + [3] does not broadcast */
    at[1] = ut_attr_int("axis", 1);
    CHECK_EQ_INT(run_op("Add", 7, NULL, 0, in, 2, &y, 1), OC_ERR_INVALID);
    CHECK(strstr(ctx.msg, "[2,3,4]") != NULL);
    /* logic ops had the same attributes */
    int64_t dl[2] = {2, 2}, dl1[1] = {2};
    oc_ten la = mk(OC_DTYPE_BOOL, 2, dl, (const uint8_t[]){1, 1, 0, 0});
    oc_ten lb = mk(OC_DTYPE_BOOL, 1, dl1, (const uint8_t[]){1, 0});
    const oc_ten *lin[2] = {&la, &lb};
    oc_attr la0[2] = {ut_attr_int("broadcast", 1), ut_attr_int("axis", 0)};
    CHECK_EQ_INT(run_op("And", 1, la0, 2, lin, 2, &y, 1), OC_OK);
    CHECK(memcmp(y.data, (const uint8_t[]){1, 1, 0, 0}, 4) == 0);
    oc_ten_release(&la);
    oc_ten_release(&lb);
    oc_ten_release(&b4);
    oc_ten_release(&a);
    oc_ten_release(&b);
    oc_ten_release(&y);
}

static void pow_types(void)
{
    int64_t d[1] = {4};
    oc_ten y = {0};
    /* float base, int64 exponent */
    oc_ten fa = mkf(1, d, (const float[]){2, -3, 0.5f, 4});
    oc_ten ie = mk(OC_DTYPE_INT64, 1, d, (const int64_t[]){3, 2, -1, 0});
    const oc_ten *in1[2] = {&fa, &ie};
    CHECK_EQ_INT(run_op("Pow", 15, NULL, 0, in1, 2, &y, 1), OC_OK);
    CHECK(y.dtype == OC_DTYPE_FLOAT);
    const float w1[] = {8, 9, 2, 1};
    for (int i = 0; i < 4; i++) CHECK(((float *)y.data)[i] == w1[i]);
    /* int32 base and exponent */
    oc_ten ia = mk(OC_DTYPE_INT32, 1, d, (const int32_t[]){2, -3, 7, 1});
    oc_ten ib = mk(OC_DTYPE_INT32, 1, d, (const int32_t[]){10, 3, 0, -5});
    const oc_ten *in2[2] = {&ia, &ib};
    CHECK_EQ_INT(run_op("Pow", 15, NULL, 0, in2, 2, &y, 1), OC_OK);
    const int32_t w2[] = {1024, -27, 1, 1};
    CHECK(y.dtype == OC_DTYPE_INT32 && memcmp(y.data, w2, 16) == 0);
    /* int64 base, float exponent: computed in double, truncated */
    oc_ten la = mk(OC_DTYPE_INT64, 1, d, (const int64_t[]){9, 2, 10, 5});
    oc_ten fe = mkf(1, d, (const float[]){0.5f, 3, 2, 1.5f});
    const oc_ten *in3[2] = {&la, &fe};
    CHECK_EQ_INT(run_op("Pow", 15, NULL, 0, in3, 2, &y, 1), OC_OK);
    const int64_t w3[] = {3, 8, 100, 11};
    CHECK(y.dtype == OC_DTYPE_INT64 && memcmp(y.data, w3, 32) == 0);
    oc_ten_release(&fa);
    oc_ten_release(&ie);
    oc_ten_release(&ia);
    oc_ten_release(&ib);
    oc_ten_release(&la);
    oc_ten_release(&fe);
    oc_ten_release(&y);
}

static void prelu_slopes(void)
{
    int64_t dx[4] = {2, 3, 2, 2}, ds[3] = {3, 1, 1}, d1[1] = {3};
    oc_ten x = mk(OC_DTYPE_FLOAT, 4, dx, NULL), y = {0};
    for (int i = 0; i < 24; i++) ((float *)x.data)[i] = (float)(i % 2 ? -i : i);
    const float sl[] = {0.1f, 0.2f, 0.3f};
    oc_ten s = mkf(3, ds, sl), s1 = mkf(1, d1, sl);
    const oc_ten *in[2] = {&x, &s};
    CHECK_EQ_INT(run_op("PRelu", 16, NULL, 0, in, 2, &y, 1), OC_OK);
    int bad = 0;
    for (int i = 0; i < 24; i++) {
        const float v = ((float *)x.data)[i];
        bad += ((float *)y.data)[i] != (v < 0 ? v * sl[(i / 4) % 3] : v);
    }
    CHECK_EQ_INT(bad, 0);
    /* opset 6: a 1-D slope of the channel count applies along axis 1 */
    const oc_ten *in1[2] = {&x, &s1};
    CHECK_EQ_INT(run_op("PRelu", 6, NULL, 0, in1, 2, &y, 1), OC_OK);
    bad = 0;
    for (int i = 0; i < 24; i++) {
        const float v = ((float *)x.data)[i];
        bad += ((float *)y.data)[i] != (v < 0 ? v * sl[(i / 4) % 3] : v);
    }
    CHECK_EQ_INT(bad, 0);
    /* opset 9 is numpy: [3] does not broadcast against [..,2] */
    CHECK_EQ_INT(run_op("PRelu", 9, NULL, 0, in1, 2, &y, 1), OC_ERR_INVALID);
    oc_ten_release(&x);
    oc_ten_release(&s);
    oc_ten_release(&s1);
    oc_ten_release(&y);
}

static void variadic(void)
{
    int64_t da[2] = {2, 3}, db[1] = {3}, dc[2] = {2, 1};
    oc_ten a = mkf(2, da, (const float[]){1, 5, 3, -2, 0, 8});
    oc_ten b = mkf(1, db, (const float[]){2, 2, 2});
    oc_ten c = mkf(2, dc, (const float[]){4, -1});
    oc_ten y = {0};
    const oc_ten *in[3] = {&a, &b, &c};
    CHECK_EQ_INT(run_op("Sum", 13, NULL, 0, in, 3, &y, 1), OC_OK);
    const float ws[] = {7, 11, 9, -1, 1, 9};
    CHECK(same_shape(&y, 2, da));
    for (int i = 0; i < 6; i++) CHECK(((float *)y.data)[i] == ws[i]);
    CHECK_EQ_INT(run_op("Mean", 13, NULL, 0, in, 3, &y, 1), OC_OK);
    for (int i = 0; i < 6; i++) CHECK(close_f(((float *)y.data)[i], ws[i] / 3.0, 1e-6));
    CHECK_EQ_INT(run_op("Max", 13, NULL, 0, in, 3, &y, 1), OC_OK);
    const float wmax[] = {4, 5, 4, 2, 2, 8};
    for (int i = 0; i < 6; i++) CHECK(((float *)y.data)[i] == wmax[i]);
    CHECK_EQ_INT(run_op("Min", 13, NULL, 0, in, 3, &y, 1), OC_OK);
    const float wmin[] = {1, 2, 2, -2, -1, -1};
    for (int i = 0; i < 6; i++) CHECK(((float *)y.data)[i] == wmin[i]);
    /* one input: a copy */
    CHECK_EQ_INT(run_op("Max", 13, NULL, 0, in, 1, &y, 1), OC_OK);
    CHECK(memcmp(y.data, a.data, 24) == 0 && same_shape(&y, 2, da));
    /* the output shape comes from all inputs: [3] alone broadcast to [2,3] */
    const oc_ten *in2[2] = {&b, &c};
    CHECK_EQ_INT(run_op("Max", 8, NULL, 0, in2, 2, &y, 1), OC_OK);
    const float w2[] = {4, 4, 4, 2, 2, 2};
    CHECK(same_shape(&y, 2, da));
    for (int i = 0; i < 6; i++) CHECK(((float *)y.data)[i] == w2[i]);
    /* NaN propagates through Max */
    oc_ten n = mkf(1, db, (const float[]){NAN, 1, 3});
    const oc_ten *in3[2] = {&b, &n};
    CHECK_EQ_INT(run_op("Max", 13, NULL, 0, in3, 2, &y, 1), OC_OK);
    CHECK(isnan(((float *)y.data)[0]) && ((float *)y.data)[1] == 2 && ((float *)y.data)[2] == 3);
    /* integer Max (opset 12) */
    oc_ten i1 = mk(OC_DTYPE_INT64, 1, db, (const int64_t[]){1, -5, 9});
    oc_ten i2 = mk(OC_DTYPE_INT64, 0, NULL, (const int64_t[]){0});
    const oc_ten *ini[2] = {&i1, &i2};
    CHECK_EQ_INT(run_op("Max", 13, NULL, 0, ini, 2, &y, 1), OC_OK);
    CHECK(((int64_t *)y.data)[0] == 1 && ((int64_t *)y.data)[1] == 0 && ((int64_t *)y.data)[2] == 9);
    CHECK_EQ_INT(run_op("Mean", 13, NULL, 0, ini, 2, &y, 1), OC_ERR_UNSUPPORTED);
    oc_ten_release(&i1);
    oc_ten_release(&i2);
    oc_ten_release(&n);
    oc_ten_release(&a);
    oc_ten_release(&b);
    oc_ten_release(&c);
    oc_ten_release(&y);
}

/* ---- comparisons, logic, Where ---- */

static void compare_ops(void)
{
    int64_t da[2] = {2, 3}, db[1] = {3};
    oc_ten a = mkf(2, da, (const float[]){1, 2, 3, 4, 5, NAN});
    oc_ten b = mkf(1, db, (const float[]){2, 2, 2});
    oc_ten y = {0};
    const oc_ten *in[2] = {&a, &b};
    static const struct {
        const char *op;
        uint8_t want[6];
    } cases[] = {
        {"Equal", {0, 1, 0, 0, 0, 0}},          {"Less", {1, 0, 0, 0, 0, 0}},
        {"Greater", {0, 0, 1, 1, 1, 0}},        {"LessOrEqual", {1, 1, 0, 0, 0, 0}},
        {"GreaterOrEqual", {0, 1, 1, 1, 1, 0}},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        CHECK_EQ_INT(run_op(cases[c].op, 13, NULL, 0, in, 2, &y, 1), OC_OK);
        CHECK(y.dtype == OC_DTYPE_BOOL && same_shape(&y, 2, da));
        CHECK(memcmp(y.data, cases[c].want, 6) == 0);
    }
    oc_ten_release(&a);
    oc_ten_release(&b);
    /* int64 with a broadcast column */
    int64_t dc[2] = {2, 1};
    a = mk(OC_DTYPE_INT64, 1, db, (const int64_t[]){1, 2, 3});
    b = mk(OC_DTYPE_INT64, 2, dc, (const int64_t[]){2, 3});
    CHECK_EQ_INT(run_op("Less", 13, NULL, 0, in, 2, &y, 1), OC_OK);
    CHECK(same_shape(&y, 2, da) && memcmp(y.data, (const uint8_t[]){1, 0, 0, 1, 1, 0}, 6) == 0);
    oc_ten_release(&a);
    oc_ten_release(&b);
    /* strings (Equal-19) */
    oc_bytes s1[2] = {{(const uint8_t *)"ab", 2}, {(const uint8_t *)"c", 1}};
    oc_bytes s2[2] = {{(const uint8_t *)"ab", 2}, {(const uint8_t *)"cd", 2}};
    int64_t d2[1] = {2};
    oc_ten sa = {.dtype = OC_DTYPE_STRING, .ndim = 1, .dims = {2}, .numel = 2, .strings = s1, .borrowed = true};
    oc_ten sb = {.dtype = OC_DTYPE_STRING, .ndim = 1, .dims = {2}, .numel = 2, .strings = s2, .borrowed = true};
    const oc_ten *sin[2] = {&sa, &sb};
    CHECK_EQ_INT(run_op("Equal", 19, NULL, 0, sin, 2, &y, 1), OC_OK);
    CHECK(same_shape(&y, 1, d2) && memcmp(y.data, (const uint8_t[]){1, 0}, 2) == 0);
    CHECK_EQ_INT(run_op("Less", 13, NULL, 0, sin, 2, &y, 1), OC_ERR_UNSUPPORTED);
    oc_ten_release(&y);
}

static void logic_ops(void)
{
    int64_t d[2] = {2, 2}, d1[1] = {2};
    oc_ten a = mk(OC_DTYPE_BOOL, 2, d, (const uint8_t[]){0, 0, 1, 1});
    oc_ten b = mk(OC_DTYPE_BOOL, 1, d1, (const uint8_t[]){0, 1});
    oc_ten y = {0};
    const oc_ten *in[2] = {&a, &b};
    CHECK_EQ_INT(run_op("And", 7, NULL, 0, in, 2, &y, 1), OC_OK);
    CHECK(memcmp(y.data, (const uint8_t[]){0, 0, 0, 1}, 4) == 0);
    CHECK_EQ_INT(run_op("Or", 7, NULL, 0, in, 2, &y, 1), OC_OK);
    CHECK(memcmp(y.data, (const uint8_t[]){0, 1, 1, 1}, 4) == 0);
    CHECK_EQ_INT(run_op("Xor", 7, NULL, 0, in, 2, &y, 1), OC_OK);
    CHECK(memcmp(y.data, (const uint8_t[]){0, 1, 1, 0}, 4) == 0);
    CHECK_EQ_INT(run_op("Equal", 13, NULL, 0, in, 2, &y, 1), OC_OK);
    CHECK(memcmp(y.data, (const uint8_t[]){1, 0, 0, 1}, 4) == 0);
    const oc_ten *in1[1] = {&a};
    CHECK_EQ_INT(run_op("Not", 1, NULL, 0, in1, 1, &y, 1), OC_OK);
    CHECK(memcmp(y.data, (const uint8_t[]){1, 1, 0, 0}, 4) == 0);
    /* logic on floats is refused */
    oc_ten f = mkf(1, d1, (const float[]){1, 0});
    const oc_ten *fin[2] = {&f, &f};
    CHECK_EQ_INT(run_op("And", 7, NULL, 0, fin, 2, &y, 1), OC_ERR_UNSUPPORTED);
    oc_ten_release(&f);
    oc_ten_release(&a);
    oc_ten_release(&b);
    oc_ten_release(&y);
}

static void where_broadcast(void)
{
    /* cond [2,1], x [3], y scalar -> [2,3], for 4- and 8-byte types */
    int64_t dc[2] = {2, 1}, dx[1] = {3}, dy[2] = {2, 3};
    oc_ten c = mk(OC_DTYPE_BOOL, 2, dc, (const uint8_t[]){1, 0});
    oc_ten x = mkf(1, dx, (const float[]){1, 2, 3});
    oc_ten z = mkf(0, NULL, (const float[]){-1});
    oc_ten y = {0};
    const oc_ten *in[3] = {&c, &x, &z};
    CHECK_EQ_INT(run_op("Where", 16, NULL, 0, in, 3, &y, 1), OC_OK);
    const float w[] = {1, 2, 3, -1, -1, -1};
    CHECK(same_shape(&y, 2, dy) && memcmp(y.data, w, 24) == 0);
    oc_ten_release(&x);
    oc_ten_release(&z);
    x = mk(OC_DTYPE_INT64, 1, dx, (const int64_t[]){10, 20, 30});
    z = mk(OC_DTYPE_INT64, 2, dy, (const int64_t[]){1, 2, 3, 4, 5, 6});
    CHECK_EQ_INT(run_op("Where", 9, NULL, 0, in, 3, &y, 1), OC_OK);
    const int64_t wi[] = {10, 20, 30, 4, 5, 6};
    CHECK(y.dtype == OC_DTYPE_INT64 && memcmp(y.data, wi, 48) == 0);
    /* a non-bool condition is an invalid model */
    const oc_ten *bad[3] = {&x, &x, &z};
    CHECK_EQ_INT(run_op("Where", 9, NULL, 0, bad, 3, &y, 1), OC_ERR_INVALID);
    oc_ten_release(&c);
    oc_ten_release(&x);
    oc_ten_release(&z);
    oc_ten_release(&y);
}

/* ---- Cast, float16 ---- */

static uint16_t h_at(const oc_ten *t, int i) { return ((const uint16_t *)t->data)[i]; }

static void cast_numbers(void)
{
    int64_t d[1] = {6};
    oc_ten x = mkf(1, d, (const float[]){1.9f, -1.9f, -1, 300, NAN, 0});
    oc_ten y = {0};
    const oc_ten *in[1] = {&x};
    oc_attr to[1] = {ut_attr_int("to", OC_DTYPE_INT32)};
    CHECK_EQ_INT(run_op("Cast", 13, to, 1, in, 1, &y, 1), OC_OK);
    const int32_t *p = y.data;
    CHECK(y.dtype == OC_DTYPE_INT32 && p[0] == 1 && p[1] == -1 && p[2] == -1 && p[3] == 300 && p[4] == 0);
    to[0] = ut_attr_int("to", OC_DTYPE_UINT8);
    CHECK_EQ_INT(run_op("Cast", 13, to, 1, in, 1, &y, 1), OC_OK);
    CHECK(((uint8_t *)y.data)[0] == 1 && ((uint8_t *)y.data)[2] == 255 && ((uint8_t *)y.data)[3] == 44);
    to[0] = ut_attr_int("to", OC_DTYPE_BOOL);
    CHECK_EQ_INT(run_op("Cast", 13, to, 1, in, 1, &y, 1), OC_OK);
    CHECK(memcmp(y.data, (const uint8_t[]){1, 1, 1, 1, 1, 0}, 6) == 0);
    to[0] = ut_attr_int("to", OC_DTYPE_DOUBLE);
    CHECK_EQ_INT(run_op("Cast", 13, to, 1, in, 1, &y, 1), OC_OK);
    CHECK(((double *)y.data)[0] == (double)1.9f && isnan(((double *)y.data)[4]));
    oc_ten_release(&x);
    /* int64 -> float and back; bool -> int64 */
    x = mk(OC_DTYPE_INT64, 1, d, (const int64_t[]){0, -3, 16777217, INT64_MAX, 1, 7});
    to[0] = ut_attr_int("to", OC_DTYPE_FLOAT);
    CHECK_EQ_INT(run_op("Cast", 13, to, 1, in, 1, &y, 1), OC_OK);
    CHECK(((float *)y.data)[1] == -3 && ((float *)y.data)[2] == 16777216.0f);
    to[0] = ut_attr_int("to", OC_DTYPE_INT8);
    CHECK_EQ_INT(run_op("Cast", 13, to, 1, in, 1, &y, 1), OC_OK);
    CHECK(((int8_t *)y.data)[1] == -3 && ((int8_t *)y.data)[2] == 1 && ((int8_t *)y.data)[3] == -1);
    oc_ten_release(&x);
    x = mk(OC_DTYPE_BOOL, 1, d, (const uint8_t[]){1, 0, 1, 1, 0, 0});
    to[0] = ut_attr_int("to", OC_DTYPE_INT64);
    CHECK_EQ_INT(run_op("Cast", 13, to, 1, in, 1, &y, 1), OC_OK);
    CHECK(((int64_t *)y.data)[0] == 1 && ((int64_t *)y.data)[1] == 0);
    /* Cast-1 names the type */
    oc_attr ts[1] = {ut_attr_str("to", "FLOAT")};
    CHECK_EQ_INT(run_op("Cast", 1, ts, 1, in, 1, &y, 1), OC_OK);
    CHECK(y.dtype == OC_DTYPE_FLOAT && ((float *)y.data)[0] == 1);
    /* CastLike takes the type of its second input */
    oc_ten like = mk(OC_DTYPE_DOUBLE, 0, NULL, (const double[]){0});
    const oc_ten *in2[2] = {&x, &like};
    CHECK_EQ_INT(run_op("CastLike", 15, NULL, 0, in2, 2, &y, 1), OC_OK);
    CHECK(y.dtype == OC_DTYPE_DOUBLE && ((double *)y.data)[3] == 1);
    /* what the runtime cannot hold is refused in prepare */
    to[0] = ut_attr_int("to", OC_DTYPE_STRING);
    CHECK_EQ_INT(run_op("Cast", 13, to, 1, NULL, 0, &y, 1), OC_ERR_UNSUPPORTED);
    to[0] = ut_attr_int("to", OC_DTYPE_FLOAT8E4M3FN);
    CHECK_EQ_INT(run_op("Cast", 19, to, 1, NULL, 0, &y, 1), OC_ERR_UNSUPPORTED);
    CHECK(strstr(ctx.msg, "f8e4m3fn") != NULL);
    CHECK_EQ_INT(run_op("Cast", 13, NULL, 0, NULL, 0, &y, 1), OC_ERR_INVALID);
    oc_ten_release(&like);
    oc_ten_release(&x);
    oc_ten_release(&y);
}

static void cast_strings(void)
{
    oc_bytes s[4] = {{(const uint8_t *)"1.5", 3}, {(const uint8_t *)"-INF", 4}, {(const uint8_t *)"NaN", 3},
                     {(const uint8_t *)"1e3", 3}};
    oc_ten x = {.dtype = OC_DTYPE_STRING, .ndim = 1, .dims = {4}, .numel = 4, .strings = s, .borrowed = true};
    oc_ten y = {0};
    const oc_ten *in[1] = {&x};
    oc_attr to[1] = {ut_attr_int("to", OC_DTYPE_FLOAT)};
    CHECK_EQ_INT(run_op("Cast", 13, to, 1, in, 1, &y, 1), OC_OK);
    const float *p = y.data;
    CHECK(p[0] == 1.5f && isinf(p[1]) && p[1] < 0 && isnan(p[2]) && p[3] == 1000);
    oc_bytes big = {(const uint8_t *)"9007199254740993", 16};
    oc_ten xi = {.dtype = OC_DTYPE_STRING, .ndim = 0, .numel = 1, .strings = &big, .borrowed = true};
    const oc_ten *ini[1] = {&xi};
    to[0] = ut_attr_int("to", OC_DTYPE_INT64);
    CHECK_EQ_INT(run_op("Cast", 13, to, 1, ini, 1, &y, 1), OC_OK);
    CHECK(((int64_t *)y.data)[0] == INT64_C(9007199254740993));
    oc_bytes junk = {(const uint8_t *)"abc", 3};
    xi.strings = &junk;
    CHECK_EQ_INT(run_op("Cast", 13, to, 1, ini, 1, &y, 1), OC_ERR_INVALID);
    oc_ten_release(&y);
}

static void cast_half_rounding(void)
{
    /* float16: 1 + 2^-11 is a tie (to even: 1.0); 1 + 3*2^-11 rounds up;
     * 65520 overflows to inf; 2^-25 ties to zero, a bit more is the
     * smallest subnormal; NaN stays NaN */
    const double v[] = {1.0 + 1.0 / 2048, 1.0 + 3.0 / 2048, 65520.0, 65519.0, 0x1p-25, 0x1.0001p-25, NAN, -2.0};
    const uint16_t want[] = {0x3c00, 0x3c02, 0x7c00, 0x7bff, 0x0000, 0x0001, 0x7e00, 0xc000};
    int64_t d[1] = {8};
    oc_ten x = mk(OC_DTYPE_DOUBLE, 1, d, v), y = {0}, back = {0};
    const oc_ten *in[1] = {&x};
    oc_attr to[1] = {ut_attr_int("to", OC_DTYPE_FLOAT16)};
    CHECK_EQ_INT(run_op("Cast", 13, to, 1, in, 1, &y, 1), OC_OK);
    for (int i = 0; i < 8; i++) {
        if (h_at(&y, i) != want[i]) printf("  f16 of %a: %04x, want %04x\n", v[i], h_at(&y, i), want[i]);
        CHECK(h_at(&y, i) == want[i]);
    }
    /* and back to float */
    const oc_ten *hin[1] = {&y};
    to[0] = ut_attr_int("to", OC_DTYPE_FLOAT);
    CHECK_EQ_INT(run_op("Cast", 13, to, 1, hin, 1, &back, 1), OC_OK);
    const float *f = back.data;
    CHECK(f[0] == 1.0f && f[1] == 1.0f + 2.0f / 1024 && isinf(f[2]) && f[3] == 65504.0f && f[5] == 0x1p-24f &&
          isnan(f[6]) && f[7] == -2.0f);
    oc_ten_release(&back);
    oc_ten_release(&x);
    /* bfloat16 rounds to nearest even */
    uint32_t bits[3] = {0x3f808000u, 0x3f818000u, 0x3f808001u};
    float fv[3];
    memcpy(fv, bits, 12);
    int64_t d3[1] = {3};
    x = mkf(1, d3, fv);
    to[0] = ut_attr_int("to", OC_DTYPE_BFLOAT16);
    CHECK_EQ_INT(run_op("Cast", 13, to, 1, in, 1, &y, 1), OC_OK);
    CHECK(h_at(&y, 0) == 0x3f80 && h_at(&y, 1) == 0x3f82 && h_at(&y, 2) == 0x3f81);
    oc_ten_release(&x);
    oc_ten_release(&y);
}

static void half_arithmetic(void)
{
    /* f16 inputs are computed in float and the result is f16 again */
    int64_t d[1] = {3};
    const uint16_t a16[] = {0x3c00, 0x4000, 0xc200}; /* 1, 2, -3 */
    const uint16_t b16[] = {0x3800, 0x3800, 0x3800}; /* 0.5 */
    oc_ten a = mk(OC_DTYPE_FLOAT16, 1, d, a16), b = mk(OC_DTYPE_FLOAT16, 1, d, b16), y = {0};
    const oc_ten *in[2] = {&a, &b};
    CHECK_EQ_INT(run_op("Add", 14, NULL, 0, in, 2, &y, 1), OC_OK);
    CHECK(y.dtype == OC_DTYPE_FLOAT16 && h_at(&y, 0) == 0x3e00 && h_at(&y, 1) == 0x4100 && h_at(&y, 2) == 0xc100);
    CHECK_EQ_INT(run_op("Less", 13, NULL, 0, in, 2, &y, 1), OC_OK);
    CHECK(y.dtype == OC_DTYPE_BOOL && memcmp(y.data, (const uint8_t[]){0, 0, 1}, 3) == 0);
    const oc_ten *in1[1] = {&a};
    CHECK_EQ_INT(run_op("Relu", 14, NULL, 0, in1, 1, &y, 1), OC_OK);
    CHECK(y.dtype == OC_DTYPE_FLOAT16 && h_at(&y, 0) == 0x3c00 && h_at(&y, 2) == 0x0000);
    oc_ten_release(&a);
    oc_ten_release(&b);
    /* bfloat16 Mul */
    const uint16_t c16[] = {0x4040, 0x3f80, 0xbf80}; /* 3, 1, -1 */
    a = mk(OC_DTYPE_BFLOAT16, 1, d, c16);
    b = mk(OC_DTYPE_BFLOAT16, 0, NULL, (const uint16_t[]){0x4000});
    CHECK_EQ_INT(run_op("Mul", 14, NULL, 0, in, 2, &y, 1), OC_OK);
    CHECK(y.dtype == OC_DTYPE_BFLOAT16 && h_at(&y, 0) == 0x40c0 && h_at(&y, 1) == 0x4000 && h_at(&y, 2) == 0xc000);
    oc_ten_release(&a);
    oc_ten_release(&b);
    oc_ten_release(&y);
}

/* ---- Identity, Dropout ---- */

static void identity_dropout(void)
{
    int64_t d[2] = {2, 2};
    oc_ten x = mkf(2, d, (const float[]){1, 2, 3, 4});
    oc_ten y[2] = {{0}, {0}};
    const oc_ten *in[1] = {&x};
    CHECK_EQ_INT(run_op("Identity", 16, NULL, 0, in, 1, y, 1), OC_OK);
    CHECK(y[0].data != x.data && memcmp(y[0].data, x.data, 16) == 0 && same_shape(&y[0], 2, d));
    /* opset 7: mask has the input's type */
    CHECK_EQ_INT(run_op("Dropout", 7, NULL, 0, in, 1, y, 2), OC_OK);
    CHECK(memcmp(y[0].data, x.data, 16) == 0);
    CHECK(y[1].dtype == OC_DTYPE_FLOAT && ((float *)y[1].data)[3] == 1);
    /* opset 13: bool mask; ratio given, training off */
    oc_ten r = mkf(0, NULL, (const float[]){0.3f});
    oc_ten t = mk(OC_DTYPE_BOOL, 0, NULL, (const uint8_t[]){0});
    const oc_ten *in3[3] = {&x, &r, &t};
    CHECK_EQ_INT(run_op("Dropout", 13, NULL, 0, in3, 3, y, 2), OC_OK);
    CHECK(y[1].dtype == OC_DTYPE_BOOL && memcmp(y[1].data, (const uint8_t[]){1, 1, 1, 1}, 4) == 0);
    /* training with a nonzero ratio would be random: refused */
    ((uint8_t *)t.data)[0] = 1;
    CHECK_EQ_INT(run_op("Dropout", 13, NULL, 0, in3, 3, y, 2), OC_ERR_UNSUPPORTED);
    CHECK(strstr(ctx.msg, "training_mode") != NULL);
    /* ... but with ratio 0 it is the identity */
    ((float *)r.data)[0] = 0;
    CHECK_EQ_INT(run_op("Dropout", 13, NULL, 0, in3, 3, y, 2), OC_OK);
    CHECK(memcmp(y[0].data, x.data, 16) == 0);
    oc_ten_release(&r);
    oc_ten_release(&t);
    oc_ten_release(&x);
    oc_ten_release(&y[0]);
    oc_ten_release(&y[1]);
}

/* Large operands on several threads: the parts start in the middle of
 * inner runs and of broadcast axes, and must still match the plain loop. */
static void threaded_parts(void)
{
    static const shapes big[] = {
        {2, 2, {3, 70001}, {3, 1}},
        {3, 1, {2, 3, 40000}, {40000}},
        {2, 2, {1000, 1}, {1, 301}},
        {2, 2, {333, 777}, {333, 777}},
    };
    for (int nt = 2; nt <= 7; nt += 5) {
        threads = nt;
        for (size_t c = 0; c < sizeof(big) / sizeof(big[0]); c++) {
            const shapes *s = &big[c];
            oc_ten a = mk(OC_DTYPE_FLOAT, s->na, s->a, NULL), b = mk(OC_DTYPE_FLOAT, s->nb, s->b, NULL), y = {0};
            for (int64_t i = 0; i < a.numel; i++) ((float *)a.data)[i] = frand(-4, 4);
            for (int64_t i = 0; i < b.numel; i++) ((float *)b.data)[i] = frand(-4, 4);
            const oc_ten *in[2] = {&a, &b};
            CHECK_EQ_INT(run_op("Sub", 14, NULL, 0, in, 2, &y, 1), OC_OK);
            int64_t bad = 0;
            for (int64_t i = 0; i < y.numel; i++) {
                const float x = ((float *)a.data)[bidx(i, y.ndim, y.dims, a.ndim, a.dims)];
                const float z = ((float *)b.data)[bidx(i, y.ndim, y.dims, b.ndim, b.dims)];
                bad += ((float *)y.data)[i] != x - z;
            }
            CHECK_EQ_INT(bad, 0);
            CHECK_EQ_INT(run_op("Greater", 13, NULL, 0, in, 2, &y, 1), OC_OK);
            bad = 0;
            for (int64_t i = 0; i < y.numel; i++) {
                const float x = ((float *)a.data)[bidx(i, y.ndim, y.dims, a.ndim, a.dims)];
                const float z = ((float *)b.data)[bidx(i, y.ndim, y.dims, b.ndim, b.dims)];
                bad += ((uint8_t *)y.data)[i] != (x > z);
            }
            CHECK_EQ_INT(bad, 0);
            const oc_ten *in1[1] = {&a};
            CHECK_EQ_INT(run_op("Tanh", 13, NULL, 0, in1, 1, &y, 1), OC_OK);
            bad = 0;
            for (int64_t i = 0; i < y.numel; i++)
                bad += !close_f(((float *)y.data)[i], tanh(((float *)a.data)[i]), 2e-6);
            CHECK_EQ_INT(bad, 0);
            oc_ten_release(&a);
            oc_ten_release(&b);
            oc_ten_release(&y);
        }
        /* a zero divisor seen by one thread fails the node */
        int64_t d[1] = {200000};
        oc_ten a = mk(OC_DTYPE_INT32, 1, d, NULL), b = mk(OC_DTYPE_INT32, 1, d, NULL), y = {0};
        for (int64_t i = 0; i < d[0]; i++) ((int32_t *)b.data)[i] = i == 150001 ? 0 : 3;
        const oc_ten *in[2] = {&a, &b};
        CHECK_EQ_INT(run_op("Div", 14, NULL, 0, in, 2, &y, 1), OC_ERR_INVALID);
        oc_ten_release(&a);
        oc_ten_release(&b);
        oc_ten_release(&y);
    }
    threads = 1;
}

/* ---- registry ---- */

static void registry_versions(void)
{
    /* the highest since <= opset is picked; ops born later are absent */
    CHECK(oc_op_find("", "Gelu", 19) == NULL);
    CHECK(oc_op_find("", "Gelu", 20) != NULL);
    CHECK(oc_op_find("", "Clip", 10)->since == 1);
    CHECK(oc_op_find("", "Clip", 13)->since == 11);
    CHECK(oc_op_find("", "Add", 6)->prepare != NULL);
    CHECK(oc_op_find("", "Add", 14)->since == 7);
    CHECK(oc_op_find("", "CastLike", 14) == NULL);
    CHECK(oc_op_find("ai.onnx", "Relu", 14) != NULL);
}

int main(void)
{
    RUN(unary_float_ops);
    RUN(gelu_tanh_and_double);
    RUN(round_half_even);
    RUN(unary_integers);
    RUN(clip_opsets);
    RUN(isnan_isinf);
    RUN(binary_broadcast_f32);
    RUN(binary_int64_and_int32);
    RUN(mod_floats);
    RUN(legacy_broadcast);
    RUN(pow_types);
    RUN(prelu_slopes);
    RUN(variadic);
    RUN(compare_ops);
    RUN(logic_ops);
    RUN(where_broadcast);
    RUN(cast_numbers);
    RUN(cast_strings);
    RUN(cast_half_rounding);
    RUN(half_arithmetic);
    RUN(identity_dropout);
    RUN(threaded_parts);
    RUN(registry_versions);
    UNIT_END("ops_elementwise");
}
