/* test_ops_rnn.c: LSTM, GRU and RNN against a plain reference that walks
 * each batch entry step by step with explicit dot products: directions,
 * biases, peepholes, initial states, sequence_lens, clip, input_forget,
 * linear_before_reset, both layouts, other activations, output subsets,
 * and what the kernels refuse. */
#include "exec/exec.h"
#include "kernel_test.h"
#include "unit.h"

#include <math.h>

static oc_ctx ctx;

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static float frand(void) /* [-0.5, 0.5) */
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((double)(rng >> 11) / (double)(1ull << 53) - 0.5);
}

static oc_ten mk(int dtype, int ndim, const int64_t *dims)
{
    oc_ten t;
    if (oc_ten_new(&ctx, &t, dtype, ndim, dims) != OC_OK) {
        printf("cannot allocate a test tensor\n");
        exit(2);
    }
    return t;
}

static oc_ten mk_rand(int ndim, const int64_t *dims, float scale)
{
    oc_ten t = mk(OC_DTYPE_FLOAT, ndim, dims);
    for (int64_t i = 0; i < t.numel; i++) ((float *)t.data)[i] = frand() * scale;
    return t;
}

/* ---- the reference ---- */

enum { LSTM, GRU, RNN };

typedef struct fn {
    const char *name;
    double alpha, beta;
} fn;

static double ref_act(const fn *f, double x)
{
    const char *n = f->name;
    if (!strcmp(n, "Sigmoid")) return 1.0 / (1.0 + exp(-x));
    if (!strcmp(n, "Tanh")) return tanh(x);
    if (!strcmp(n, "Relu")) return x > 0 ? x : 0;
    if (!strcmp(n, "LeakyRelu")) return x >= 0 ? x : f->alpha * x;
    if (!strcmp(n, "HardSigmoid")) return fmax(0.0, fmin(1.0, f->alpha * x + f->beta));
    if (!strcmp(n, "Affine")) return f->alpha * x + f->beta;
    if (!strcmp(n, "ScaledTanh")) return f->alpha * tanh(f->beta * x);
    if (!strcmp(n, "Elu")) return x >= 0 ? x : f->alpha * (exp(x) - 1);
    if (!strcmp(n, "Softsign")) return x / (1 + fabs(x));
    if (!strcmp(n, "Softplus")) return log(1 + exp(x));
    if (!strcmp(n, "ThresholdedRelu")) return x > f->alpha ? x : 0;
    printf("  reference lacks %s\n", n);
    exit(2);
}

typedef struct cfg {
    int kind, dirs, layout;
    bool reverse, input_forget, lbr;
    double clip; /* 0: none */
    int64_t S, B, I, H;
    fn acts[2][3];
} cfg;

/* tensors in ONNX layout; NULL when absent. Outputs zeroed by the caller. */
static void reference(const cfg *c, const float *X, const float *W, const float *R, const float *Bias,
                      const int32_t *lens, const float *H0, const float *C0, const float *P, double *Y, double *Yh,
                      double *Yc)
{
    const int64_t S = c->S, B = c->B, I = c->I, H = c->H, D = c->dirs;
    const int G = c->kind == LSTM ? 4 : c->kind == GRU ? 3 : 1;
    double h[64], cs[64], wx[4][64], rh[4][64], nh[64], nc[64];
#define CL(v) (c->clip > 0 ? fmax(-c->clip, fmin(c->clip, (v))) : (v))
    for (int64_t d = 0; d < D; d++) {
        bool back = D == 2 ? d == 1 : c->reverse;
        const float *w = W + d * G * H * I, *r = R + d * G * H * H;
        const float *wb = Bias ? Bias + d * 2 * G * H : NULL, *rb = wb ? wb + G * H : NULL;
        const fn *f = c->acts[d];
        for (int64_t b = 0; b < B; b++) {
            int64_t soff = (c->layout ? b * D + d : d * B + b) * H;
            for (int64_t j = 0; j < H; j++) {
                h[j] = H0 ? H0[soff + j] : 0;
                cs[j] = C0 ? C0[soff + j] : 0;
            }
            int64_t len = lens ? lens[b] : S;
            for (int64_t step = 0; step < len; step++) {
                int64_t t = back ? len - 1 - step : step;
                const float *x = X + (c->layout ? b * S + t : t * B + b) * I;
                for (int q = 0; q < G; q++)
                    for (int64_t j = 0; j < H; j++) {
                        double s = wb ? wb[q * H + j] : 0;
                        for (int64_t i = 0; i < I; i++) s += (double)w[(q * H + j) * I + i] * x[i];
                        wx[q][j] = s;
                        s = rb ? rb[q * H + j] : 0;
                        for (int64_t k = 0; k < H; k++) s += (double)r[(q * H + j) * H + k] * h[k];
                        rh[q][j] = s;
                    }
                for (int64_t j = 0; j < H; j++) {
                    if (c->kind == LSTM) {
                        const float *p = P ? P + d * 3 * H : NULL;
                        double ig = ref_act(&f[0], CL(wx[0][j] + rh[0][j] + (p ? p[j] * cs[j] : 0)));
                        double fpre = wx[2][j] + rh[2][j] + (p ? p[2 * H + j] * cs[j] : 0);
                        double fg = c->input_forget ? 1 - ig : ref_act(&f[0], CL(fpre));
                        double gg = ref_act(&f[1], CL(wx[3][j] + rh[3][j]));
                        nc[j] = fg * cs[j] + ig * gg;
                        double og = ref_act(&f[0], CL(wx[1][j] + rh[1][j] + (p ? p[H + j] * nc[j] : 0)));
                        nh[j] = og * ref_act(&f[2], nc[j]);
                    } else if (c->kind == GRU) {
                        double z = ref_act(&f[0], CL(wx[0][j] + rh[0][j]));
                        double n;
                        if (c->lbr) {
                            double rg = ref_act(&f[0], CL(wx[1][j] + rh[1][j]));
                            n = ref_act(&f[1], CL(wx[2][j] + rg * rh[2][j]));
                        } else {
                            double s = rb ? rb[2 * H + j] : 0;
                            for (int64_t k = 0; k < H; k++) {
                                double rk = ref_act(&f[0], CL(wx[1][k] + rh[1][k]));
                                s += (double)r[(2 * H + j) * H + k] * rk * h[k];
                            }
                            n = ref_act(&f[1], CL(wx[2][j] + s));
                        }
                        nh[j] = (1 - z) * n + z * h[j];
                    } else {
                        nh[j] = ref_act(&f[0], CL(wx[0][j] + rh[0][j]));
                    }
                }
                for (int64_t j = 0; j < H; j++) {
                    h[j] = nh[j];
                    if (c->kind == LSTM) cs[j] = nc[j];
                }
                int64_t yoff = (c->layout ? (b * S + t) * D + d : (t * D + d) * B + b) * H;
                for (int64_t j = 0; j < H; j++) Y[yoff + j] = h[j];
            }
            for (int64_t j = 0; j < H; j++) {
                Yh[soff + j] = h[j];
                Yc[soff + j] = cs[j];
            }
        }
    }
#undef CL
}

/* ---- running a case ---- */

typedef struct opts {
    bool bias, peep, h0, c0;
    const int32_t *lens;
    const char *direction;
    /* activations as given to the node (n_act strings), with alphas/betas */
    const char **act_names;
    size_t n_act;
    const float *alphas, *betas;
    size_t n_alpha, n_beta;
} opts;

static const char *op_name(int kind)
{
    return kind == LSTM ? "LSTM" : kind == GRU ? "GRU" : "RNN";
}

/* Runs the kernel at opset 14 on random tensors shaped by c and o and
 * compares every output with the reference; returns the mismatch count
 * (or -1 when the kernel failed). */
static int run_case(const cfg *c, const opts *o)
{
    const int64_t S = c->S, B = c->B, I = c->I, H = c->H, D = c->dirs;
    const int G = c->kind == LSTM ? 4 : c->kind == GRU ? 3 : 1;
    int64_t xd[3] = {c->layout ? B : S, c->layout ? S : B, I};
    int64_t wd[3] = {D, G * H, I}, rd[3] = {D, G * H, H}, bd[2] = {D, 2 * G * H}, pd[2] = {D, 3 * H};
    int64_t sd[3] = {c->layout ? B : D, c->layout ? D : B, H}, ld[1] = {B};
    oc_ten X = mk_rand(3, xd, 2.0f), W = mk_rand(3, wd, 1.0f), R = mk_rand(3, rd, 1.0f);
    oc_ten Bt = mk_rand(2, bd, 1.0f), P = mk_rand(2, pd, 1.0f), H0 = mk_rand(3, sd, 1.0f), C0 = mk_rand(3, sd, 1.0f);
    oc_ten L = mk(OC_DTYPE_INT32, 1, ld);
    if (o->lens) memcpy(L.data, o->lens, (size_t)B * 4);
    const oc_ten *in[8] = {&X, &W, &R, o->bias ? &Bt : NULL, o->lens ? &L : NULL, o->h0 ? &H0 : NULL,
                           o->c0 ? &C0 : NULL, o->peep ? &P : NULL};
    size_t n_in = c->kind == LSTM ? 8 : 6;
    while (n_in > 3 && !in[n_in - 1]) n_in--; /* trailing optional inputs left off */

    oc_attr attrs[12];
    size_t na = 0;
    attrs[na++] = ut_attr_int("hidden_size", H);
    if (o->direction) attrs[na++] = ut_attr_str("direction", o->direction);
    if (c->layout) attrs[na++] = ut_attr_int("layout", 1);
    if (c->clip > 0) attrs[na++] = ut_attr_float("clip", (float)c->clip);
    if (c->input_forget) attrs[na++] = ut_attr_int("input_forget", 1);
    if (c->kind == GRU) attrs[na++] = ut_attr_int("linear_before_reset", c->lbr);
    oc_bytes strs[6];
    if (o->n_act) {
        oc_attr a;
        memset(&a, 0, sizeof(a));
        a.name = "activations";
        a.has_type = true;
        a.type = OC_ATTR_STRINGS;
        for (size_t i = 0; i < o->n_act; i++) {
            strs[i].data = (const uint8_t *)o->act_names[i];
            strs[i].len = strlen(o->act_names[i]);
        }
        a.strings = strs;
        a.n_strings = o->n_act;
        attrs[na++] = a;
    }
    if (o->n_alpha) attrs[na++] = ut_attr_floats("activation_alpha", o->alphas, o->n_alpha);
    if (o->n_beta) attrs[na++] = ut_attr_floats("activation_beta", o->betas, o->n_beta);

    static const char *outs[3] = {"Y", "Y_h", "Y_c"};
    oc_node n;
    memset(&n, 0, sizeof(n));
    n.name = "rnn";
    n.op_type = op_name(c->kind);
    n.outputs = outs;
    n.n_outputs = c->kind == LSTM ? 3 : 2;
    n.attrs = attrs;
    n.n_attrs = na;
    const oc_op_def *def = oc_op_find("", n.op_type, 14);
    oc_kctx k = {&ctx, &n, 14, NULL, 1};
    oc_ctx_init(&ctx); /* the context keeps only its first failure */
    oc_ten out[3];
    memset(out, 0, sizeof(out));
    int bad = -1;
    if (!def || (def->prepare && def->prepare(&k) != OC_OK) ||
        def->run(&k, in, n_in, out, n.n_outputs) != OC_OK) {
        printf("  %s failed: %s\n", n.op_type, ctx.msg);
        goto done;
    }
    int64_t ny = S * D * B * H, ns = D * B * H;
    double *Y = calloc((size_t)ny + 1, sizeof(double)), *Yh = calloc((size_t)ns, sizeof(double));
    double *Yc = calloc((size_t)ns, sizeof(double));
    reference(c, X.data, W.data, R.data, o->bias ? Bt.data : NULL, o->lens, o->h0 ? H0.data : NULL,
              o->c0 ? C0.data : NULL, o->peep ? P.data : NULL, Y, Yh, Yc);
    bad = 0;
    const int64_t ydims[4] = {c->layout ? B : S, c->layout ? S : D, c->layout ? D : B, H};
    if (out[0].ndim != 4 || out[1].ndim != 3 || out[0].numel != ny || out[1].numel != ns) {
        printf("  output shapes are wrong\n");
        bad++;
        free(Y);
        free(Yh);
        free(Yc);
        goto done;
    }
    for (int i = 0; i < 4; i++) bad += out[0].dims[i] != ydims[i];
    for (int i = 0; i < 3; i++) bad += out[1].dims[i] != sd[i];
    const double *want[3] = {Y, Yh, Yc};
    for (int q = 0; q < (c->kind == LSTM ? 3 : 2); q++)
        for (int64_t i = 0; i < out[q].numel; i++) {
            double g = ((float *)out[q].data)[i], w = want[q][i];
            if (!(fabs(g - w) <= 2e-5 + 1e-4 * fabs(w))) {
                if (bad < 4) printf("  %s output %d [%lld]: %.7g want %.7g\n", n.op_type, q, (long long)i, g, w);
                bad++;
            }
        }
    free(Y);
    free(Yh);
    free(Yc);
done:
    for (int i = 0; i < 3; i++) oc_ten_release(&out[i]);
    oc_ten_release(&X);
    oc_ten_release(&W);
    oc_ten_release(&R);
    oc_ten_release(&Bt);
    oc_ten_release(&P);
    oc_ten_release(&H0);
    oc_ten_release(&C0);
    oc_ten_release(&L);
    return bad;
}

static void set_acts(cfg *c, const char *a, const char *b, const char *cc)
{
    for (int d = 0; d < 2; d++) {
        c->acts[d][0] = (fn){a, 0, 0};
        c->acts[d][1] = (fn){b, 0, 0};
        c->acts[d][2] = (fn){cc, 0, 0};
    }
}

/* ---- LSTM ---- */

static void lstm_forward_defaults(void)
{
    cfg c = {.kind = LSTM, .dirs = 1, .S = 5, .B = 3, .I = 4, .H = 6};
    set_acts(&c, "Sigmoid", "Tanh", "Tanh");
    opts o = {0};
    CHECK_EQ_INT(run_case(&c, &o), 0);
    c.B = 1; /* the matrix-vector path */
    CHECK_EQ_INT(run_case(&c, &o), 0);
}

static void lstm_bidirectional_full(void)
{
    cfg c = {.kind = LSTM, .dirs = 2, .S = 4, .B = 3, .I = 5, .H = 7};
    set_acts(&c, "Sigmoid", "Tanh", "Tanh");
    int32_t lens[3] = {4, 2, 3};
    opts o = {.bias = true, .peep = true, .h0 = true, .c0 = true, .lens = lens, .direction = "bidirectional"};
    CHECK_EQ_INT(run_case(&c, &o), 0);
    c.layout = 1;
    CHECK_EQ_INT(run_case(&c, &o), 0);
    int32_t zero[3] = {0, 4, 1};
    o.lens = zero;
    CHECK_EQ_INT(run_case(&c, &o), 0);
}

static void lstm_reverse_clip_coupled(void)
{
    cfg c = {.kind = LSTM, .dirs = 1, .reverse = true, .layout = 1, .clip = 0.4, .input_forget = true,
             .S = 6, .B = 2, .I = 3, .H = 4};
    set_acts(&c, "Sigmoid", "Tanh", "Tanh");
    int32_t lens[2] = {3, 6};
    opts o = {.bias = true, .h0 = true, .c0 = true, .lens = lens, .direction = "reverse"};
    CHECK_EQ_INT(run_case(&c, &o), 0);
}

static void lstm_other_activations(void)
{
    /* alphas and betas go, in order, to the functions that take them */
    cfg c = {.kind = LSTM, .dirs = 2, .S = 3, .B = 2, .I = 3, .H = 5};
    c.acts[0][0] = (fn){"HardSigmoid", 0.25, 0.45};
    c.acts[0][1] = (fn){"LeakyRelu", 0.1, 0};
    c.acts[0][2] = (fn){"Softsign", 0, 0};
    c.acts[1][0] = (fn){"Sigmoid", 0, 0};
    c.acts[1][1] = (fn){"ScaledTanh", 1.5, 0.7};
    c.acts[1][2] = (fn){"Elu", 0.3, 0};
    const char *names[6] = {"HardSigmoid", "leakyrelu", "Softsign", "Sigmoid", "ScaledTanh", "Elu"};
    float al[4] = {0.25f, 0.1f, 1.5f, 0.3f}, be[2] = {0.45f, 0.7f};
    opts o = {.bias = true, .direction = "bidirectional", .act_names = names, .n_act = 6, .alphas = al,
              .betas = be, .n_alpha = 4, .n_beta = 2};
    CHECK_EQ_INT(run_case(&c, &o), 0);
    /* one direction's list, alphas and betas serve both */
    set_acts(&c, "Sigmoid", "Affine", "Relu");
    c.acts[0][1] = (fn){"Affine", 0.5, 0.2};
    c.acts[1][1] = (fn){"Affine", 0.5, 0.2};
    const char *shared[3] = {"Sigmoid", "Affine", "Relu"};
    float al_s[1] = {0.5f}, be_s[1] = {0.2f};
    opts os = {.h0 = true, .direction = "bidirectional", .act_names = shared, .n_act = 3, .alphas = al_s,
               .betas = be_s, .n_alpha = 1, .n_beta = 1};
    CHECK_EQ_INT(run_case(&c, &os), 0);
    /* defaults when the alphas run out */
    c.dirs = 1;
    c.acts[0][0] = (fn){"LeakyRelu", 0.3, 0};
    c.acts[0][1] = (fn){"Affine", 1.0, 0.2};
    c.acts[0][2] = (fn){"HardSigmoid", 0.2, 0.5};
    const char *three[3] = {"LeakyRelu", "Affine", "HardSigmoid"};
    float al1[1] = {0.3f}, be1[1] = {0.2f};
    opts o2 = {.h0 = true, .act_names = three, .n_act = 3, .alphas = al1, .betas = be1, .n_alpha = 1, .n_beta = 1};
    CHECK_EQ_INT(run_case(&c, &o2), 0);
}

/* only Y_h wanted: Y and Y_c are not allocated */
static void lstm_output_subset(void)
{
    int64_t xd[3] = {2, 1, 2}, wd[3] = {1, 12, 2}, rd[3] = {1, 12, 3};
    oc_ten X = mk_rand(3, xd, 1), W = mk_rand(3, wd, 1), R = mk_rand(3, rd, 1);
    const char *outs[2] = {"", "h"};
    oc_attr hs = ut_attr_int("hidden_size", 3);
    oc_node n;
    memset(&n, 0, sizeof(n));
    n.name = "l";
    n.op_type = "LSTM";
    n.outputs = outs;
    n.n_outputs = 2;
    n.attrs = &hs;
    n.n_attrs = 1;
    oc_kctx k = {&ctx, &n, 7, NULL, 1};
    const oc_op_def *def = oc_op_find("", "LSTM", 7);
    const oc_ten *in[3] = {&X, &W, &R};
    oc_ten out[2];
    memset(out, 0, sizeof(out));
    CHECK(def && def->run(&k, in, 3, out, 2) == OC_OK);
    CHECK(out[0].data == NULL && out[0].dtype == 0);
    CHECK(out[1].numel == 3 && out[1].ndim == 3);
    oc_ten_release(&out[1]);
    oc_ten_release(&X);
    oc_ten_release(&W);
    oc_ten_release(&R);
}

/* ---- GRU and RNN ---- */

static void gru_both_resets(void)
{
    for (int lbr = 0; lbr < 2; lbr++) {
        cfg c = {.kind = GRU, .dirs = 1, .lbr = lbr, .S = 5, .B = 3, .I = 4, .H = 6};
        set_acts(&c, "Sigmoid", "Tanh", "Tanh");
        opts o = {0};
        CHECK_EQ_INT(run_case(&c, &o), 0);
        int32_t lens[3] = {5, 1, 3};
        opts full = {.bias = true, .h0 = true, .lens = lens, .direction = "bidirectional"};
        c.dirs = 2;
        CHECK_EQ_INT(run_case(&c, &full), 0);
        c.layout = 1;
        c.clip = 0.5;
        CHECK_EQ_INT(run_case(&c, &full), 0);
        c.dirs = 1;
        c.reverse = true;
        c.B = 1;
        c.layout = 0;
        opts rev = {.bias = true, .h0 = true, .direction = "reverse"};
        CHECK_EQ_INT(run_case(&c, &rev), 0);
    }
}

static void rnn_simple(void)
{
    cfg c = {.kind = RNN, .dirs = 1, .S = 4, .B = 2, .I = 3, .H = 5};
    set_acts(&c, "Tanh", "", "");
    opts o = {.bias = true};
    CHECK_EQ_INT(run_case(&c, &o), 0);
    c.dirs = 2;
    c.layout = 1;
    set_acts(&c, "Relu", "", "");
    c.acts[1][0] = (fn){"ThresholdedRelu", 0.2, 0};
    const char *names[2] = {"Relu", "ThresholdedRelu"};
    float al[1] = {0.2f};
    int32_t lens[2] = {2, 4};
    opts b = {.bias = true, .h0 = true, .lens = lens, .direction = "bidirectional", .act_names = names, .n_act = 2,
              .alphas = al, .n_alpha = 1};
    CHECK_EQ_INT(run_case(&c, &b), 0);
}

/* ---- refusals ---- */

static oc_status prep(const char *op, oc_attr *attrs, size_t n)
{
    static const char *outs[1] = {"Y"};
    oc_node node;
    memset(&node, 0, sizeof(node));
    node.name = "bad";
    node.op_type = op;
    node.outputs = outs;
    node.n_outputs = 1;
    node.attrs = attrs;
    node.n_attrs = n;
    oc_kctx k = {&ctx, &node, 14, NULL, 1};
    oc_ctx_init(&ctx);
    const oc_op_def *def = oc_op_find("", op, 14);
    return def && def->prepare ? def->prepare(&k) : OC_ERR_INTERNAL;
}

static void refusals(void)
{
    oc_attr dir = ut_attr_str("direction", "sideways");
    CHECK(prep("LSTM", &dir, 1) == OC_ERR_UNSUPPORTED);
    CHECK(strstr(ctx.msg, "sideways") != NULL && strstr(ctx.msg, "node 'bad' (LSTM)") != NULL);
    oc_bytes s = {.data = (const uint8_t *)"Swish", .len = 5};
    oc_attr acts;
    memset(&acts, 0, sizeof(acts));
    acts.name = "activations";
    acts.type = OC_ATTR_STRINGS;
    acts.strings = &s;
    acts.n_strings = 1;
    CHECK(prep("RNN", &acts, 1) == OC_ERR_UNSUPPORTED);
    CHECK(strstr(ctx.msg, "Swish") != NULL);
    CHECK(prep("GRU", &acts, 1) == OC_ERR_INVALID); /* GRU takes two */
    oc_attr lay = ut_attr_int("layout", 2);
    CHECK(prep("GRU", &lay, 1) == OC_ERR_INVALID);
    oc_attr lbr = ut_attr_int("linear_before_reset", 1);
    CHECK(prep("GRU", &lbr, 1) == OC_OK);

    /* run-time checks: type, shapes, lengths */
    int64_t xd[3] = {2, 1, 2}, wd[3] = {1, 4, 2}, rd[3] = {1, 4, 1}, ld[1] = {1};
    oc_ten X = mk(OC_DTYPE_DOUBLE, 3, xd), W = mk_rand(3, wd, 1), R = mk_rand(3, rd, 1);
    oc_ten L = mk(OC_DTYPE_INT32, 1, ld);
    ((int32_t *)L.data)[0] = 3;
    static const char *outs[1] = {"Y"};
    oc_node n;
    memset(&n, 0, sizeof(n));
    n.name = "r";
    n.op_type = "LSTM";
    n.outputs = outs;
    n.n_outputs = 1;
    oc_kctx k = {&ctx, &n, 14, NULL, 1};
    const oc_op_def *def = oc_op_find("", "LSTM", 14);
    oc_ten out[1];
    memset(out, 0, sizeof(out));
    CHECK(def->run(&k, (const oc_ten *[]){&X, &W, &R}, 3, out, 1) == OC_ERR_UNSUPPORTED);
    oc_ten_release(&X);
    X = mk_rand(3, xd, 1);
    CHECK(def->run(&k, (const oc_ten *[]){&X, &W, &R}, 3, out, 1) == OC_OK); /* H = 1 from R */
    CHECK(out[0].numel == 2);
    CHECK(def->run(&k, (const oc_ten *[]){&X, &W, &R, NULL, &L}, 5, out, 1) == OC_ERR_INVALID);
    CHECK(def->run(&k, (const oc_ten *[]){&X, &R, &R}, 3, out, 1) == OC_ERR_INVALID);
    oc_ten_release(&out[0]);
    oc_ten_release(&X);
    oc_ten_release(&W);
    oc_ten_release(&R);
    oc_ten_release(&L);
}

int main(void)
{
    oc_ctx_init(&ctx);
    RUN(lstm_forward_defaults);
    RUN(lstm_bidirectional_full);
    RUN(lstm_reverse_clip_coupled);
    RUN(lstm_other_activations);
    RUN(lstm_output_subset);
    RUN(gru_both_resets);
    RUN(rnn_simple);
    RUN(refusals);
    UNIT_END("ops_rnn");
}
