/* ops_rnn.c: the recurrent layers LSTM, GRU and RNN (float32).
 *
 * Each direction first projects every timestep of X through W in one GEMM
 * (biases folded in where they add linearly), then walks the sequence with
 * one GEMM of the hidden state against R per step (two for GRU with
 * linear_before_reset=0, whose candidate gate needs r (.) H first) and the
 * gate arithmetic on the result. sequence_lens stops each batch entry early:
 * its Y rows past its length stay zero and Y_h / Y_c hold its last valid
 * state; the reverse direction starts at the entry's own last step. Both
 * layouts are handled by indexing (layout 1 puts batch first in X, Y, the
 * initial states and Y_h / Y_c), so nothing is transposed. */
#include "exec.h"

#include <cblas.h>
#include <ctype.h>
#include <math.h>
#include <string.h>

enum { RNN_LSTM, RNN_GRU, RNN_SIMPLE };

/* ---- activation functions ---- */

enum {
    ACT_RELU, ACT_TANH, ACT_SIGMOID, ACT_AFFINE, ACT_LEAKYRELU, ACT_THRESHOLDEDRELU, ACT_SCALEDTANH,
    ACT_HARDSIGMOID, ACT_ELU, ACT_SOFTSIGN, ACT_SOFTPLUS
};

typedef struct act {
    int kind;
    float alpha, beta;
} act;

/* names as the spec spells them (matched without regard to case), how many
 * of activation_alpha / activation_beta each takes, and the defaults of the
 * ONNX ops of the same names */
static const struct {
    const char *name;
    int kind, n_alpha, n_beta;
    float alpha, beta;
} act_defs[] = {
    {"Relu", ACT_RELU, 0, 0, 0.0f, 0.0f},
    {"Tanh", ACT_TANH, 0, 0, 0.0f, 0.0f},
    {"Sigmoid", ACT_SIGMOID, 0, 0, 0.0f, 0.0f},
    {"Affine", ACT_AFFINE, 1, 1, 1.0f, 0.0f},
    {"LeakyRelu", ACT_LEAKYRELU, 1, 0, 0.01f, 0.0f},
    {"ThresholdedRelu", ACT_THRESHOLDEDRELU, 1, 0, 1.0f, 0.0f},
    {"ScaledTanh", ACT_SCALEDTANH, 1, 1, 1.0f, 1.0f},
    {"HardSigmoid", ACT_HARDSIGMOID, 1, 1, 0.2f, 0.5f},
    {"Elu", ACT_ELU, 1, 0, 1.0f, 0.0f},
    {"Softsign", ACT_SOFTSIGN, 0, 0, 0.0f, 0.0f},
    {"Softplus", ACT_SOFTPLUS, 0, 0, 0.0f, 0.0f},
};

static int find_act(const oc_bytes *s)
{
    for (size_t i = 0; i < sizeof(act_defs) / sizeof(act_defs[0]); i++) {
        const char *n = act_defs[i].name;
        size_t len = strlen(n), j = 0;
        if (len != s->len) continue;
        while (j < len && tolower((unsigned char)n[j]) == tolower(s->data[j])) j++;
        if (j == len) return (int)i;
    }
    return -1;
}

static void act_apply(const act *a, float *v, int64_t n)
{
    const float al = a->alpha, be = a->beta;
    switch (a->kind) {
    case ACT_RELU: for (int64_t i = 0; i < n; i++) v[i] = v[i] > 0 ? v[i] : 0; break;
    case ACT_TANH: for (int64_t i = 0; i < n; i++) v[i] = tanhf(v[i]); break;
    case ACT_SIGMOID: for (int64_t i = 0; i < n; i++) v[i] = 1.0f / (1.0f + expf(-v[i])); break;
    case ACT_AFFINE: for (int64_t i = 0; i < n; i++) v[i] = al * v[i] + be; break;
    case ACT_LEAKYRELU: for (int64_t i = 0; i < n; i++) v[i] = v[i] >= 0 ? v[i] : al * v[i]; break;
    case ACT_THRESHOLDEDRELU: for (int64_t i = 0; i < n; i++) v[i] = v[i] > al ? v[i] : 0; break;
    case ACT_SCALEDTANH: for (int64_t i = 0; i < n; i++) v[i] = al * tanhf(be * v[i]); break;
    case ACT_HARDSIGMOID:
        for (int64_t i = 0; i < n; i++) {
            float y = al * v[i] + be;
            v[i] = y < 0 ? 0 : y > 1 ? 1 : y;
        }
        break;
    case ACT_ELU: for (int64_t i = 0; i < n; i++) v[i] = v[i] >= 0 ? v[i] : al * (expf(v[i]) - 1.0f); break;
    case ACT_SOFTSIGN: for (int64_t i = 0; i < n; i++) v[i] = v[i] / (1.0f + fabsf(v[i])); break;
    default:
        for (int64_t i = 0; i < n; i++) v[i] = v[i] > 20.0f ? v[i] : log1pf(expf(v[i]));
        break;
    }
}

/* ---- attributes ---- */

typedef struct rnn_cfg {
    int kind;
    int gates;         /* 4 (LSTM: i o f c), 3 (GRU: z r h), 1 (RNN) */
    int n_act;         /* activations per direction */
    int dirs;          /* 1 or 2 */
    bool reverse;      /* a single direction, walked backwards */
    int64_t hidden;    /* -1: taken from R */
    act acts[2][3];
    bool has_clip;
    float clip;
    bool input_forget; /* LSTM: f = 1 - i */
    bool lbr;          /* GRU: linear_before_reset */
    int layout;
} rnn_cfg;

static oc_status parse_cfg(oc_kctx *k, int kind, rnn_cfg *c)
{
    const oc_node *n = k->node;
    memset(c, 0, sizeof(*c));
    c->kind = kind;
    c->gates = kind == RNN_LSTM ? 4 : kind == RNN_GRU ? 3 : 1;
    c->n_act = kind == RNN_LSTM ? 3 : kind == RNN_GRU ? 2 : 1;

    char buf[32];
    const char *dir = oc_attr_str(n, "direction", "forward", buf, sizeof(buf));
    if (strcmp(dir, "forward") == 0) c->dirs = 1;
    else if (strcmp(dir, "reverse") == 0) c->dirs = 1, c->reverse = true;
    else if (strcmp(dir, "bidirectional") == 0) c->dirs = 2;
    else return oc_kfail(k, OC_ERR_UNSUPPORTED, "direction '%s'", dir);

    c->hidden = oc_attr_int(n, "hidden_size", -1);
    if (oc_node_attr(n, "hidden_size") && c->hidden <= 0)
        return oc_kfail(k, OC_ERR_INVALID, "hidden_size %lld", (long long)c->hidden);
    c->layout = (int)oc_attr_int(n, "layout", 0);
    if (c->layout != 0 && c->layout != 1) return oc_kfail(k, OC_ERR_INVALID, "layout %d", c->layout);
    const oc_attr *ca = oc_node_attr(n, "clip");
    if (ca) {
        c->has_clip = true;
        c->clip = oc_attr_float(n, "clip", 0.0f);
        if (!(c->clip > 0)) return oc_kfail(k, OC_ERR_INVALID, "clip %g is not positive", (double)c->clip);
    }
    if (kind == RNN_LSTM) c->input_forget = oc_attr_int(n, "input_forget", 0) != 0;
    if (kind == RNN_GRU) {
        int64_t lbr = oc_attr_int(n, "linear_before_reset", 0);
        if (lbr != 0 && lbr != 1) return oc_kfail(k, OC_ERR_INVALID, "linear_before_reset %lld", (long long)lbr);
        c->lbr = lbr == 1;
    }

    /* activations: n_act per direction, forward first; defaults
     * Sigmoid/Tanh/Tanh (LSTM), Sigmoid/Tanh (GRU), Tanh (RNN) */
    static const int defaults[3][3] = {
        {ACT_SIGMOID, ACT_TANH, ACT_TANH}, {ACT_SIGMOID, ACT_TANH, 0}, {ACT_TANH, 0, 0}};
    const oc_attr *aa = oc_node_attr(n, "activations");
    size_t na = aa ? aa->n_strings : 0;
    if (na && na != (size_t)c->n_act && na != (size_t)(c->n_act * c->dirs))
        return oc_kfail(k, OC_ERR_INVALID, "%zu activations, want %d", na, c->n_act * c->dirs);
    const float *alphas = NULL, *betas = NULL;
    int64_t n_al = oc_attr_floats(n, "activation_alpha", &alphas);
    int64_t n_be = oc_attr_floats(n, "activation_beta", &betas);
    int64_t ia = 0, ib = 0;
    for (int d = 0; d < c->dirs; d++) {
        /* one direction's list (and its alphas, betas) serves both */
        if (na == (size_t)c->n_act) ia = ib = 0;
        for (int j = 0; j < c->n_act; j++) {
            act *a = &c->acts[d][j];
            if (!na) {
                a->kind = defaults[kind][j];
                continue;
            }
            const oc_bytes *s = &aa->strings[na == (size_t)c->n_act ? (size_t)j : (size_t)(d * c->n_act + j)];
            int f = find_act(s);
            if (f < 0) return oc_kfail(k, OC_ERR_UNSUPPORTED, "activation '%.*s'", (int)s->len, (const char *)s->data);
            a->kind = act_defs[f].kind;
            a->alpha = act_defs[f].alpha;
            a->beta = act_defs[f].beta;
            /* alphas and betas are consumed in order by the functions that take them */
            if (act_defs[f].n_alpha && ia < n_al) a->alpha = alphas[ia++];
            if (act_defs[f].n_beta && ib < n_be) a->beta = betas[ib++];
        }
    }
    return OC_OK;
}

static oc_status prepare_lstm(oc_kctx *k)
{
    rnn_cfg c;
    return parse_cfg(k, RNN_LSTM, &c);
}

static oc_status prepare_gru(oc_kctx *k)
{
    rnn_cfg c;
    return parse_cfg(k, RNN_GRU, &c);
}

static oc_status prepare_rnn(oc_kctx *k)
{
    rnn_cfg c;
    return parse_cfg(k, RNN_SIMPLE, &c);
}

/* ---- helpers ---- */

static bool want_output(const oc_kctx *k, size_t i, size_t n_out)
{
    if (i >= n_out) return false;
    if (i >= k->node->n_outputs) return true;
    return k->node->outputs[i] && k->node->outputs[i][0];
}

/* C[m,n] = A[m,kd] * B[n,kd]^T with C's rows ldc apart; B row-major (the
 * layout of W and R) */
static void matmul_bt(const float *a, int64_t m, int64_t kd, const float *b, int64_t n, float *c, int64_t ldc)
{
    if (m == 0 || n == 0) return;
    if (kd == 0) {
        for (int64_t i = 0; i < m; i++) memset(c + i * ldc, 0, (size_t)n * sizeof(float));
        return;
    }
    if (m == 1)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, (blasint)n, (blasint)kd, 1.0f, b, (blasint)kd, a, 1, 0.0f, c, 1);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)m, (blasint)n, (blasint)kd, 1.0f, a,
                    (blasint)kd, b, (blasint)kd, 0.0f, c, (blasint)ldc);
}

static void clip_vec(float *v, int64_t n, float lim)
{
    for (int64_t i = 0; i < n; i++) v[i] = v[i] > lim ? lim : v[i] < -lim ? -lim : v[i];
}

static oc_status check_f32(oc_kctx *k, const oc_ten *t, const char *what)
{
    if (t && t->dtype != OC_DTYPE_FLOAT)
        return oc_kfail(k, OC_ERR_UNSUPPORTED, "%s of type %s (float32 only)", what, oc_dtype_name(t->dtype));
    return OC_OK;
}

static oc_status check_dims(oc_kctx *k, const oc_ten *t, const char *what, int nd, int64_t d0, int64_t d1,
                            int64_t d2)
{
    const int64_t want[3] = {d0, d1, d2};
    bool ok = t->ndim == nd;
    for (int i = 0; ok && i < nd; i++) ok = t->dims[i] == want[i];
    if (!ok)
        return nd == 2 ? oc_kfail(k, OC_ERR_INVALID, "%s must be [%lld,%lld]", what, (long long)d0, (long long)d1)
                       : oc_kfail(k, OC_ERR_INVALID, "%s must be [%lld,%lld,%lld]", what, (long long)d0,
                                  (long long)d1, (long long)d2);
    return OC_OK;
}

/* ---- the shared driver ---- */

typedef struct rnn_run {
    const rnn_cfg *c;
    int64_t S, B, input_size, H, D;
    const float *x, *w, *r, *bias, *peep, *h0, *c0;
    const int64_t *lens;  /* per batch entry, all S when absent */
    float *y, *yh, *yc;   /* NULL when not wanted */
    /* scratch */
    float *xp;            /* [S*B, G*H] input projection */
    float *gh;            /* [B, G*H] hidden projection */
    float *h, *cs;        /* [B, H] hidden and cell state */
    float *tmp;           /* [B, H] GRU lbr=0: r (.) H */
    float *rbh;           /* [H] GRU lbr=1: Rbh, kept out of the projection */
} rnn_run;

static int64_t xrow(const rnn_run *r, int64_t t, int64_t b)
{
    return r->c->layout ? b * r->S + t : t * r->B + b;
}

static int64_t state_off(const rnn_run *r, int64_t d, int64_t b)
{
    return (r->c->layout ? b * r->D + d : d * r->B + b) * r->H;
}

static int64_t y_off(const rnn_run *r, int64_t t, int64_t d, int64_t b)
{
    return (r->c->layout ? (b * r->S + t) * r->D + d : (t * r->D + d) * r->B + b) * r->H;
}

static void run_direction(rnn_run *r, int d, bool backward)
{
    const rnn_cfg *c = r->c;
    const int64_t S = r->S, B = r->B, input_size = r->input_size, H = r->H, GH = c->gates * H;
    const float *w = r->w + (size_t)d * GH * input_size, *rw = r->r + (size_t)d * GH * H;
    const act *acts = c->acts[d];

    /* X through W for every step at once, then the biases that add linearly */
    matmul_bt(r->x, S * B, input_size, w, GH, r->xp, GH);
    if (r->bias) {
        const float *wb = r->bias + (size_t)d * 2 * GH, *rb = wb + GH;
        /* GRU lbr=1 multiplies Rbh by r: it stays out */
        int64_t rb_n = c->kind == RNN_GRU && c->lbr ? 2 * H : GH;
        for (int64_t row = 0; row < S * B; row++) {
            float *p = r->xp + row * GH;
            for (int64_t j = 0; j < GH; j++) p[j] += wb[j];
            for (int64_t j = 0; j < rb_n; j++) p[j] += rb[j];
        }
        if (r->rbh) memcpy(r->rbh, rb + 2 * H, (size_t)H * sizeof(float));
    } else if (r->rbh) {
        memset(r->rbh, 0, (size_t)H * sizeof(float));
    }
    const float *pi = NULL, *po = NULL, *pf = NULL;
    if (r->peep) {
        pi = r->peep + (size_t)d * 3 * H;
        po = pi + H;
        pf = po + H;
    }

    /* the states start from initial_h / initial_c or zeros */
    for (int64_t b = 0; b < B; b++) {
        float *h = r->h + b * H, *cs = r->cs ? r->cs + b * H : NULL;
        if (r->h0) memcpy(h, r->h0 + state_off(r, d, b), (size_t)H * sizeof(float));
        else memset(h, 0, (size_t)H * sizeof(float));
        if (cs) {
            if (r->c0) memcpy(cs, r->c0 + state_off(r, d, b), (size_t)H * sizeof(float));
            else memset(cs, 0, (size_t)H * sizeof(float));
        }
    }

    int64_t max_len = 0;
    for (int64_t b = 0; b < B; b++) max_len = r->lens[b] > max_len ? r->lens[b] : max_len;
    const bool clip = c->has_clip;
    const float lim = c->clip;
    for (int64_t s = 0; s < max_len; s++) {
        /* R projection of the previous states (GRU lbr=0: z and r only) */
        matmul_bt(r->h, B, H, rw, c->kind == RNN_GRU && !c->lbr ? 2 * H : GH, r->gh, GH);
        for (int64_t b = 0; b < B; b++) {
            int64_t len = r->lens[b];
            if (s >= len) continue;
            int64_t t = backward ? len - 1 - s : s;
            float *g = r->gh + b * GH;
            const float *xp = r->xp + xrow(r, t, b) * GH;
            float *h = r->h + b * H;
            float *yrow = r->y ? r->y + y_off(r, t, d, b) : NULL;
            if (c->kind == RNN_LSTM) {
                float *cs = r->cs + b * H;
                float *gi = g, *go = g + H, *gf = g + 2 * H, *gc = g + 3 * H;
                for (int64_t j = 0; j < GH; j++) g[j] += xp[j];
                if (pi)
                    for (int64_t j = 0; j < H; j++) {
                        gi[j] += pi[j] * cs[j];
                        gf[j] += pf[j] * cs[j];
                    }
                if (clip) {
                    clip_vec(gi, H, lim);
                    clip_vec(gf, H, lim);
                    clip_vec(gc, H, lim);
                }
                act_apply(&acts[0], gi, H);
                if (c->input_forget)
                    for (int64_t j = 0; j < H; j++) gf[j] = 1.0f - gi[j];
                else
                    act_apply(&acts[0], gf, H);
                act_apply(&acts[1], gc, H);
                for (int64_t j = 0; j < H; j++) cs[j] = gf[j] * cs[j] + gi[j] * gc[j];
                if (po)
                    for (int64_t j = 0; j < H; j++) go[j] += po[j] * cs[j];
                if (clip) clip_vec(go, H, lim);
                act_apply(&acts[0], go, H);
                /* h(C) into the c gate's slot, no longer needed */
                memcpy(gc, cs, (size_t)H * sizeof(float));
                act_apply(&acts[2], gc, H);
                for (int64_t j = 0; j < H; j++) h[j] = go[j] * gc[j];
            } else if (c->kind == RNN_GRU) {
                const float *gr = g + H;
                for (int64_t j = 0; j < 2 * H; j++) g[j] += xp[j];
                if (clip) clip_vec(g, 2 * H, lim);
                act_apply(&acts[0], g, 2 * H);
                if (c->lbr) {
                    float *gh_h = g + 2 * H;
                    for (int64_t j = 0; j < H; j++) gh_h[j] = xp[2 * H + j] + gr[j] * (gh_h[j] + r->rbh[j]);
                } else {
                    /* r (.) H, projected through Rh below once every entry has it */
                    float *rh = r->tmp + b * H;
                    for (int64_t j = 0; j < H; j++) rh[j] = gr[j] * h[j];
                }
            } else {
                for (int64_t j = 0; j < H; j++) g[j] += xp[j];
                if (clip) clip_vec(g, H, lim);
                act_apply(&acts[0], g, H);
                memcpy(h, g, (size_t)H * sizeof(float));
            }
            if (yrow && c->kind != RNN_GRU) memcpy(yrow, h, (size_t)H * sizeof(float));
        }
        if (c->kind != RNN_GRU) continue;

        /* GRU: the candidate gate, then the new state */
        if (!c->lbr) matmul_bt(r->tmp, B, H, rw + 2 * H * H, H, r->gh + 2 * H, GH);
        for (int64_t b = 0; b < B; b++) {
            int64_t len = r->lens[b];
            if (s >= len) continue;
            int64_t t = backward ? len - 1 - s : s;
            float *g = r->gh + b * GH, *gz = g, *gn = g + 2 * H;
            const float *xp = r->xp + xrow(r, t, b) * GH;
            float *h = r->h + b * H;
            if (!c->lbr)
                for (int64_t j = 0; j < H; j++) gn[j] += xp[2 * H + j];
            if (clip) clip_vec(gn, H, lim);
            act_apply(&acts[1], gn, H);
            for (int64_t j = 0; j < H; j++) h[j] = (1.0f - gz[j]) * gn[j] + gz[j] * h[j];
            if (r->y) memcpy(r->y + y_off(r, t, d, b), h, (size_t)H * sizeof(float));
        }
    }

    for (int64_t b = 0; b < B; b++) {
        if (r->yh) memcpy(r->yh + state_off(r, d, b), r->h + b * H, (size_t)H * sizeof(float));
        if (r->yc) memcpy(r->yc + state_off(r, d, b), r->cs + b * H, (size_t)H * sizeof(float));
    }
}

/* inputs: X, W, R, B, sequence_lens, initial_h, then (LSTM) initial_c, P */
static oc_status rnn_common(oc_kctx *k, int kind, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    rnn_cfg c;
    FORWARD_IF_ERROR(parse_cfg(k, kind, &c));
#define IN(i) ((size_t)(i) < n_in ? in[i] : NULL)
    const oc_ten *X = IN(0), *W = IN(1), *R = IN(2), *Bt = IN(3), *SL = IN(4), *H0 = IN(5);
    const oc_ten *C0 = kind == RNN_LSTM ? IN(6) : NULL, *P = kind == RNN_LSTM ? IN(7) : NULL;
#undef IN
    if (!X || !W || !R) return oc_kfail(k, OC_ERR_INVALID, "X, W and R are required");
    FORWARD_IF_ERROR(check_f32(k, X, "X"));
    FORWARD_IF_ERROR(check_f32(k, W, "W"));
    FORWARD_IF_ERROR(check_f32(k, R, "R"));
    FORWARD_IF_ERROR(check_f32(k, Bt, "B"));
    FORWARD_IF_ERROR(check_f32(k, H0, "initial_h"));
    FORWARD_IF_ERROR(check_f32(k, C0, "initial_c"));
    FORWARD_IF_ERROR(check_f32(k, P, "P"));
    if (X->ndim != 3) return oc_kfail(k, OC_ERR_INVALID, "X has rank %d, want 3", X->ndim);
    if (R->ndim != 3) return oc_kfail(k, OC_ERR_INVALID, "R has rank %d, want 3", R->ndim);
    const int64_t D = c.dirs, G = c.gates;
    const int64_t S = c.layout ? X->dims[1] : X->dims[0], B = c.layout ? X->dims[0] : X->dims[1];
    const int64_t input_size = X->dims[2], H = c.hidden >= 0 ? c.hidden : R->dims[2];
    if (H <= 0 || H > ((int64_t)1 << 24)) return oc_kfail(k, OC_ERR_INVALID, "hidden size %lld", (long long)H);
    FORWARD_IF_ERROR(check_dims(k, W, "W", 3, D, G * H, input_size));
    FORWARD_IF_ERROR(check_dims(k, R, "R", 3, D, G * H, H));
    if (Bt) FORWARD_IF_ERROR(check_dims(k, Bt, "B", 2, D, 2 * G * H, 0));
    const int64_t sd0 = c.layout ? B : D, sd1 = c.layout ? D : B;
    if (H0) FORWARD_IF_ERROR(check_dims(k, H0, "initial_h", 3, sd0, sd1, H));
    if (C0) FORWARD_IF_ERROR(check_dims(k, C0, "initial_c", 3, sd0, sd1, H));
    if (P) FORWARD_IF_ERROR(check_dims(k, P, "P", 2, D, 3 * H, 0));
    if (SL) {
        if (SL->dtype != OC_DTYPE_INT32 && SL->dtype != OC_DTYPE_INT64)
            return oc_kfail(k, OC_ERR_INVALID, "sequence_lens of type %s", oc_dtype_name(SL->dtype));
        if (SL->ndim != 1 || SL->dims[0] != B)
            return oc_kfail(k, OC_ERR_INVALID, "sequence_lens must be [%lld]", (long long)B);
    }

    /* outputs */
    const int64_t ydims[4] = {c.layout ? B : S, c.layout ? S : D, c.layout ? D : B, H};
    const int64_t sdims[3] = {sd0, sd1, H};
    rnn_run r = {.c = &c, .S = S, .B = B, .input_size = input_size, .H = H, .D = D};
    if (want_output(k, 0, n_out)) {
        FORWARD_IF_ERROR(oc_ten_alloc(k, &out[0], OC_DTYPE_FLOAT, 4, ydims));
        r.y = out[0].data;
    }
    if (want_output(k, 1, n_out)) {
        FORWARD_IF_ERROR(oc_ten_alloc(k, &out[1], OC_DTYPE_FLOAT, 3, sdims));
        r.yh = out[1].data;
    }
    if (kind == RNN_LSTM && want_output(k, 2, n_out)) {
        FORWARD_IF_ERROR(oc_ten_alloc(k, &out[2], OC_DTYPE_FLOAT, 3, sdims));
        r.yc = out[2].data;
    }

    /* scratch: lens, xp, gh, h, cs, tmp, rbh in one block */
    size_t n_xp = (size_t)(S * B * G * H), n_gh = (size_t)(B * G * H), n_bh = (size_t)(B * H);
    size_t nfl = n_xp + n_gh + 3 * n_bh + (size_t)H;
    int64_t *lens = oc_malloc((size_t)(B ? B : 1) * sizeof(int64_t));
    float *scratch = oc_aligned_alloc(64, (nfl ? nfl : 1) * sizeof(float));
    oc_status st = OC_OK;
    if (!lens || !scratch) {
        st = oc_kfail(k, OC_ERR_NOMEM, "out of memory for %zu floats of scratch", nfl);
        goto cleanup;
    }
    for (int64_t b = 0; b < B; b++) {
        lens[b] = SL ? oc_ten_get_i64(SL, b) : S;
        if (lens[b] < 0 || lens[b] > S) {
            st = oc_kfail(k, OC_ERR_INVALID, "sequence_lens[%lld] = %lld, outside [0, %lld]", (long long)b,
                          (long long)lens[b], (long long)S);
            goto cleanup;
        }
    }
    r.x = X->data;
    r.w = W->data;
    r.r = R->data;
    r.bias = Bt ? Bt->data : NULL;
    r.peep = P ? P->data : NULL;
    r.h0 = H0 ? H0->data : NULL;
    r.c0 = C0 ? C0->data : NULL;
    r.lens = lens;
    r.xp = scratch;
    r.gh = r.xp + n_xp;
    r.h = r.gh + n_gh;
    r.cs = kind == RNN_LSTM ? r.h + n_bh : NULL;
    r.tmp = r.h + 2 * n_bh;
    r.rbh = kind == RNN_GRU && c.lbr ? r.tmp + n_bh : NULL;
    if (c.dirs == 2) {
        run_direction(&r, 0, false);
        run_direction(&r, 1, true);
    } else {
        run_direction(&r, 0, c.reverse);
    }
cleanup:
    oc_aligned_free(scratch);
    oc_free(lens);
    return st;
}

static oc_status run_lstm(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    return rnn_common(k, RNN_LSTM, in, n_in, out, n_out);
}

static oc_status run_gru(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    return rnn_common(k, RNN_GRU, in, n_in, out, n_out);
}

static oc_status run_rnn(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    return rnn_common(k, RNN_SIMPLE, in, n_in, out, n_out);
}

/* One entry each from opset 1: the later versions added attributes
 * (linear_before_reset at GRU 3, layout at 14) whose defaults are the
 * earlier behaviour, and dropped LSTM-1's output_sequence, which only said
 * whether Y is wanted. */
const oc_op_def oc_ops_rnn[] = {
    {"", "GRU", 1, prepare_gru, run_gru},
    {"", "LSTM", 1, prepare_lstm, run_lstm},
    {"", "RNN", 1, prepare_rnn, run_rnn},
};
const size_t oc_ops_rnn_count = sizeof(oc_ops_rnn) / sizeof(oc_ops_rnn[0]);
