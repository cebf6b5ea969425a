/* test_ops_nn.c: the nn family's kernels (ops_nn.c, ops_conv.c) called
 * through the op registry on hand-built nodes, compared with plain loops
 * written here (or hand-checked values), across attributes, broadcasting
 * and the behaviour changes between opset versions. */
#include "exec/exec.h"
#include "exec/ops_nn_internal.h"
#include "kernel_test.h"
#include "unit.h"

#include <math.h>

/* ---- building nodes and tensors ---- */

/* A borrowed view of data with the given shape. */
static oc_ten T(int dtype, int ndim, const int64_t *dims, const void *data)
{
    oc_ten t;
    memset(&t, 0, sizeof(t));
    t.dtype = dtype;
    t.ndim = ndim;
    t.numel = 1;
    for (int i = 0; i < ndim; i++) {
        t.dims[i] = dims[i];
        t.numel *= dims[i];
    }
    t.data = (void *)data;
    t.nbytes = (size_t)t.numel * oc_ten_elem_size(dtype);
    t.borrowed = true;
    return t;
}

static oc_ctx ctx;
/* k->threads of the kernels run_op runs */
static int run_threads = 1;

/* Runs op (prepare, then run) at opset on inputs (NULL = omitted) with
 * attrs; n_out outputs named "y0", "y1"... (released by the caller after
 * a success). */
static oc_status run_op(const char *op, int64_t opset, const oc_attr *attrs, size_t n_attrs, const oc_ten **in,
                        size_t n_in, oc_ten *outs, size_t n_out)
{
    static const char *const in_names[] = {"x0", "x1", "x2", "x3", "x4", "x5"};
    static const char *const out_names[] = {"y0", "y1", "y2"};
    const char *ins[6];
    for (size_t i = 0; i < n_in; i++) ins[i] = in[i] ? in_names[i] : "";
    oc_node node;
    memset(&node, 0, sizeof(node));
    node.name = "n";
    node.op_type = op;
    node.inputs = ins;
    node.n_inputs = n_in;
    node.outputs = (const char **)out_names;
    node.n_outputs = n_out;
    node.attrs = (oc_attr *)attrs;
    node.n_attrs = n_attrs;
    oc_ctx_init(&ctx);
    oc_kctx k = {&ctx, &node, opset, NULL, run_threads};
    const oc_op_def *def = oc_op_find("", op, opset);
    if (!def) return OC_ERR_UNSUPPORTED;
    memset(outs, 0, n_out * sizeof(*outs));
    if (def->prepare) {
        oc_status st = def->prepare(&k);
        if (st != OC_OK) return st;
    }
    oc_status st = def->run(&k, (const oc_ten *const *)in, n_in, outs, n_out);
    /* as the executor does: a failed kernel's outputs are dropped */
    if (st != OC_OK)
        for (size_t i = 0; i < n_out; i++) oc_ten_release(&outs[i]);
    return st;
}

static void release(oc_ten *t, size_t n)
{
    for (size_t i = 0; i < n; i++) oc_ten_release(&t[i]);
}

/* deterministic pseudo-random floats in [-1, 1) */
static uint32_t seed = 12345;
static float frand(void)
{
    seed = seed * 1664525u + 1013904223u;
    return (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static float *rnd(int64_t n)
{
    float *p = malloc((size_t)(n ? n : 1) * sizeof(float));
    for (int64_t i = 0; i < n; i++) p[i] = frand();
    return p;
}

static bool close_to(const float *a, const float *b, int64_t n, float tol)
{
    for (int64_t i = 0; i < n; i++)
        if (!(fabsf(a[i] - b[i]) <= tol * (1.0f + fabsf(b[i])))) {
            printf("  element %lld: %.7g vs %.7g\n", (long long)i, a[i], b[i]);
            return false;
        }
    return true;
}

static bool dims_are(const oc_ten *t, int ndim, const int64_t *d)
{
    if (t->ndim != ndim) return false;
    for (int i = 0; i < ndim; i++)
        if (t->dims[i] != d[i]) return false;
    return true;
}

/* ---- Conv ---- */

typedef struct conv_case {
    int nd;
    int64_t N, C, M, group;
    int64_t in[3], k[3], s[3], d[3], pads[6];
} conv_case;

/* y[n][m][o] = b[m] + sum over c in m's group and kernel offsets of
 * x[n][c][o*s - pb + kk*d] * w[m][c'][kk], padding reading zero. */
static void conv_ref(const conv_case *c, const int64_t *out, const float *x, const float *w, const float *b, float *y)
{
    const int64_t Cg = c->C / c->group, Mg = c->M / c->group;
    int64_t in3[3] = {1, 1, 1}, k3[3] = {1, 1, 1}, s3[3] = {1, 1, 1}, d3[3] = {1, 1, 1}, p3[3] = {0, 0, 0},
            o3[3] = {1, 1, 1};
    for (int i = 0; i < c->nd; i++) {
        const int j = 3 - c->nd + i;
        in3[j] = c->in[i];
        k3[j] = c->k[i];
        s3[j] = c->s[i];
        d3[j] = c->d[i];
        p3[j] = c->pads[i];
        o3[j] = out[i];
    }
    const int64_t IS = in3[0] * in3[1] * in3[2], OS = o3[0] * o3[1] * o3[2], KS = k3[0] * k3[1] * k3[2];
    for (int64_t n = 0; n < c->N; n++)
        for (int64_t m = 0; m < c->M; m++)
            for (int64_t a = 0; a < o3[0]; a++)
                for (int64_t bb = 0; bb < o3[1]; bb++)
                    for (int64_t e = 0; e < o3[2]; e++) {
                        double acc = b ? b[m] : 0;
                        const int64_t g = m / Mg;
                        for (int64_t cc = 0; cc < Cg; cc++)
                            for (int64_t ka = 0; ka < k3[0]; ka++)
                                for (int64_t kb = 0; kb < k3[1]; kb++)
                                    for (int64_t ke = 0; ke < k3[2]; ke++) {
                                        int64_t ia = a * s3[0] - p3[0] + ka * d3[0];
                                        int64_t ib = bb * s3[1] - p3[1] + kb * d3[1];
                                        int64_t ie = e * s3[2] - p3[2] + ke * d3[2];
                                        if (ia < 0 || ia >= in3[0] || ib < 0 || ib >= in3[1] || ie < 0 || ie >= in3[2])
                                            continue;
                                        const int64_t xi = (n * c->C + g * Cg + cc) * IS + (ia * in3[1] + ib) * in3[2];
                                        const int64_t wi = (m * Cg + cc) * KS + (ka * k3[1] + kb) * k3[2];
                                        acc += (double)x[xi + ie] * w[wi + ke];
                                    }
                        y[(n * c->M + m) * OS + (a * o3[1] + bb) * o3[2] + e] = (float)acc;
                    }
}

static bool conv_check(const conv_case *c, const char *auto_pad, bool bias)
{
    int64_t xd[5] = {c->N, c->C}, wd[5] = {c->M, c->C / c->group}, out[3];
    int64_t xn = c->N * c->C, wn = c->M * (c->C / c->group);
    conv_case eff = *c;
    for (int i = 0; i < c->nd; i++) {
        xd[2 + i] = c->in[i];
        wd[2 + i] = c->k[i];
        xn *= c->in[i];
        wn *= c->k[i];
        const int64_t ek = (c->k[i] - 1) * c->d[i] + 1;
        if (auto_pad && strcmp(auto_pad, "VALID") != 0) {
            out[i] = (c->in[i] + c->s[i] - 1) / c->s[i];
            int64_t total = (out[i] - 1) * c->s[i] + ek - c->in[i];
            if (total < 0) total = 0;
            eff.pads[i] = strcmp(auto_pad, "SAME_UPPER") == 0 ? total / 2 : total - total / 2;
        } else if (auto_pad) {
            out[i] = (c->in[i] - ek) / c->s[i] + 1;
            eff.pads[i] = 0;
        } else {
            out[i] = (c->in[i] + c->pads[i] + c->pads[c->nd + i] - ek) / c->s[i] + 1;
        }
    }
    float *x = rnd(xn), *w = rnd(wn), *b = rnd(c->M);
    int64_t yn = c->N * c->M;
    for (int i = 0; i < c->nd; i++) yn *= out[i];
    float *want = malloc((size_t)yn * sizeof(float));
    conv_ref(&eff, out, x, w, bias ? b : NULL, want);
    oc_ten tx = T(OC_DTYPE_FLOAT, 2 + c->nd, xd, x), tw = T(OC_DTYPE_FLOAT, 2 + c->nd, wd, w);
    int64_t bd[1] = {c->M};
    oc_ten tb = T(OC_DTYPE_FLOAT, 1, bd, b);
    const oc_ten *in[3] = {&tx, &tw, &tb};
    oc_attr at[6];
    size_t na = 0;
    at[na++] = ut_attr_int("group", c->group);
    at[na++] = ut_attr_ints("strides", c->s, (size_t)c->nd);
    at[na++] = ut_attr_ints("dilations", c->d, (size_t)c->nd);
    if (auto_pad) at[na++] = ut_attr_str("auto_pad", auto_pad);
    else at[na++] = ut_attr_ints("pads", c->pads, 2 * (size_t)c->nd);
    at[na++] = ut_attr_ints("kernel_shape", c->k, (size_t)c->nd);
    oc_ten y[1];
    oc_status st = run_op("Conv", 11, at, na, in, bias ? 3 : 2, y, 1);
    bool ok = st == OC_OK && y[0].numel == yn && close_to(y[0].data, want, yn, 1e-4f);
    if (st != OC_OK) printf("  %s\n", ctx.msg);
    release(y, 1);
    free(x);
    free(w);
    free(b);
    free(want);
    return ok;
}

static void conv_2d(void)
{
    /* grouped, strided, dilated, asymmetric pads */
    conv_case c1 = {2, 2, 4, 6, 2, {7, 6}, {3, 2}, {2, 1}, {1, 2}, {1, 0, 2, 1}};
    CHECK(conv_check(&c1, NULL, true));
    CHECK(conv_check(&c1, NULL, false));
    /* plain 3x3 pad 1 */
    conv_case c2 = {2, 1, 3, 5, 1, {9, 8}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}};
    CHECK(conv_check(&c2, NULL, true));
    /* 1x1 pointwise (direct product) and 1x1 strided */
    conv_case c3 = {2, 2, 8, 4, 1, {5, 5}, {1, 1}, {1, 1}, {1, 1}, {0, 0, 0, 0}};
    CHECK(conv_check(&c3, NULL, true));
    conv_case c4 = {2, 1, 8, 4, 1, {5, 5}, {1, 1}, {2, 2}, {1, 1}, {0, 0, 0, 0}};
    CHECK(conv_check(&c4, NULL, false));
    /* auto_pad */
    conv_case c5 = {2, 1, 2, 3, 1, {7, 5}, {3, 3}, {2, 2}, {1, 1}, {0}};
    CHECK(conv_check(&c5, "SAME_UPPER", true));
    CHECK(conv_check(&c5, "SAME_LOWER", true));
    CHECK(conv_check(&c5, "VALID", true));
}

static void conv_depthwise(void)
{
    /* group == C: the direct path; multiplier 2, stride 2, pads, dilation */
    conv_case c1 = {2, 2, 4, 8, 4, {9, 10}, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}};
    CHECK(conv_check(&c1, NULL, true));
    conv_case c2 = {2, 1, 3, 3, 3, {8, 7}, {3, 5}, {1, 1}, {2, 1}, {2, 2, 0, 2}};
    CHECK(conv_check(&c2, NULL, false));
    conv_case c3 = {2, 1, 6, 6, 6, {6, 6}, {3, 3}, {1, 2}, {1, 1}, {0}};
    CHECK(conv_check(&c3, "SAME_LOWER", true));
}

/* Shapes that cross the blocks of the convolution's product: several
 * blocks of taps and of output columns, row counts off the tile height,
 * wide strides, outputs on a padded grid, and two threads. */
static void conv_blocked(void)
{
    /* 360 taps, 13 filters, 900 outputs on a 32-wide grid */
    conv_case c1 = {2, 1, 40, 13, 1, {30, 30}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}};
    CHECK(conv_check(&c1, NULL, true));
    /* stride and dilation 2, uneven pads; stride 3 leaves a phase unused */
    conv_case c2 = {2, 1, 5, 9, 1, {17, 19}, {3, 3}, {2, 2}, {2, 2}, {2, 1, 1, 2}};
    CHECK(conv_check(&c2, NULL, true));
    conv_case c3 = {2, 2, 3, 4, 1, {11, 13}, {2, 2}, {3, 3}, {1, 1}, {0, 0, 0, 0}};
    CHECK(conv_check(&c3, NULL, false));
    /* stride 5: im2col panels */
    conv_case c4 = {2, 1, 3, 4, 1, {16, 16}, {3, 3}, {5, 5}, {1, 1}, {1, 1, 1, 1}};
    CHECK(conv_check(&c4, NULL, true));
    /* 1x1 on the input itself: 667 columns, a partial last panel; grouped */
    conv_case c5 = {2, 2, 16, 10, 1, {23, 29}, {1, 1}, {1, 1}, {1, 1}, {0, 0, 0, 0}};
    CHECK(conv_check(&c5, NULL, true));
    conv_case c6 = {2, 1, 8, 12, 4, {5, 7}, {1, 1}, {1, 1}, {1, 1}, {0, 0, 0, 0}};
    CHECK(conv_check(&c6, NULL, true));
    /* no pad, stride 1: B's rows are runs of the input itself, the last
     * ones reaching past the end of the batch */
    conv_case c10 = {2, 3, 5, 7, 1, {8, 9}, {3, 3}, {1, 1}, {1, 1}, {0, 0, 0, 0}};
    CHECK(conv_check(&c10, NULL, true));
    conv_case c11 = {2, 2, 6, 4, 2, {9, 11}, {3, 2}, {1, 1}, {1, 2}, {0, 0, 0, 0}};
    CHECK(conv_check(&c11, NULL, false));
    /* enough work for two threads: by columns, then by rows (7x7 output) */
    run_threads = 2;
    conv_case c7 = {2, 1, 32, 48, 1, {40, 40}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}};
    CHECK(conv_check(&c7, NULL, true));
    conv_case c8 = {2, 1, 512, 80, 1, {7, 7}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}};
    CHECK(conv_check(&c8, NULL, true));
    conv_case c9 = {2, 1, 64, 64, 64, {172, 172}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}};
    CHECK(conv_check(&c9, NULL, true));
    run_threads = 1;
    /* depthwise: wide rows, multiplier with stride and dilation, stride
     * 5 (the product path), one axis */
    conv_case d1 = {2, 1, 6, 6, 6, {9, 40}, {5, 5}, {1, 1}, {1, 1}, {2, 2, 2, 2}};
    CHECK(conv_check(&d1, NULL, true));
    conv_case d2 = {2, 2, 3, 9, 3, {12, 35}, {3, 3}, {2, 2}, {2, 1}, {1, 1, 1, 1}};
    CHECK(conv_check(&d2, NULL, true));
    conv_case d3 = {2, 1, 4, 4, 4, {12, 12}, {3, 3}, {5, 5}, {1, 1}, {1, 1, 1, 1}};
    CHECK(conv_check(&d3, NULL, true));
    conv_case d4 = {1, 1, 4, 4, 4, {50}, {5}, {1}, {1}, {2, 2}};
    CHECK(conv_check(&d4, NULL, false));
}

/* Every tile kernel the CPU runs against plain loops: B through an offset
 * table (rows of a bigger array), partial rows and columns, bias or
 * accumulation. */
static void tile_kernels(void)
{
    oc_nn_tile tk[4];
    const size_t n = oc_nn_list_tiles(tk, 4);
    CHECK(n >= 1 && tk[n - 1].mr == 4 && tk[n - 1].nr == 8);
    enum { KC = 37, LDA = 41, LDB = 50, LDC = 40 };
    float *a = rnd(OC_NN_TILE_MR_MAX * LDA), *b = rnd(KC * LDB + OC_NN_TILE_NR_MAX), *bias = rnd(OC_NN_TILE_MR_MAX);
    float *c0 = rnd(OC_NN_TILE_MR_MAX * LDC);
    int64_t boff[KC];
    for (int t = 0; t < KC; t++) boff[t] = (int64_t)((t * 7) % KC) * LDB + t % 3;
    for (size_t v = 0; v < n; v++)
        for (int mr = 1; mr <= tk[v].mr; mr++)
            for (int nr = 1; nr <= tk[v].nr; nr += tk[v].nr / 4 + 1)
                for (int add = 0; add < 2; add++) {
                    float c[OC_NN_TILE_MR_MAX * LDC], want[OC_NN_TILE_MR_MAX * LDC];
                    memcpy(c, c0, sizeof(c));
                    memcpy(want, c0, sizeof(want));
                    for (int r = 0; r < mr; r++)
                        for (int u = 0; u < nr; u++) {
                            double s = add ? c0[r * LDC + u] : bias[r];
                            for (int t = 0; t < KC; t++) s += (double)a[r * LDA + t] * b[boff[t] + u];
                            want[r * LDC + u] = (float)s;
                        }
                    oc_nn_run_tile(&tk[v], a, LDA, b, boff, KC, c, LDC, mr, nr, bias, add);
                    /* nothing outside the mr x nr block is touched */
                    CHECK(close_to(c, want, OC_NN_TILE_MR_MAX * LDC, 1e-5f));
                }
    free(a);
    free(b);
    free(bias);
    free(c0);
}

static void conv_1d_3d(void)
{
    conv_case c1 = {1, 2, 4, 6, 2, {11}, {3}, {2}, {2}, {2, 1}};
    CHECK(conv_check(&c1, NULL, true));
    conv_case c2 = {3, 1, 2, 4, 1, {5, 6, 4}, {3, 2, 2}, {1, 2, 1}, {1, 1, 2}, {1, 0, 1, 1, 1, 0}};
    CHECK(conv_check(&c2, NULL, true));
    conv_case c3 = {3, 1, 4, 4, 4, {4, 4, 4}, {2, 2, 2}, {1, 1, 1}, {1, 1, 1}, {0}};
    CHECK(conv_check(&c3, "SAME_UPPER", false));
}

static void conv_refusals(void)
{
    int64_t xd[4] = {1, 1, 3, 3}, wd[4] = {1, 1, 2, 2};
    float x[9] = {0}, w[4] = {0};
    oc_ten tx = T(OC_DTYPE_FLOAT, 4, xd, x), tw = T(OC_DTYPE_FLOAT, 4, wd, w);
    const oc_ten *in[2] = {&tx, &tw};
    oc_ten y[1];
    oc_attr bad = ut_attr_str("auto_pad", "SAME_MIDDLE");
    CHECK(run_op("Conv", 11, &bad, 1, in, 2, y, 1) == OC_ERR_INVALID);
    CHECK(strstr(ctx.msg, "node 'n' (Conv)") != NULL);
    int64_t st[2] = {0, 1};
    oc_attr bad2 = ut_attr_ints("strides", st, 2);
    CHECK(run_op("Conv", 11, &bad2, 1, in, 2, y, 1) == OC_ERR_INVALID);
    uint16_t h[9] = {0};
    oc_ten th = T(OC_DTYPE_FLOAT16, 4, xd, h);
    const oc_ten *in2[2] = {&th, &tw};
    CHECK(run_op("Conv", 11, NULL, 0, in2, 2, y, 1) == OC_ERR_UNSUPPORTED);
    CHECK(strstr(ctx.msg, "f16") != NULL);
    /* kernel larger than the padded input */
    int64_t wd2[4] = {1, 1, 4, 4};
    float w2[16] = {0};
    oc_ten tw2 = T(OC_DTYPE_FLOAT, 4, wd2, w2);
    const oc_ten *in3[2] = {&tx, &tw2};
    CHECK(run_op("Conv", 11, NULL, 0, in3, 2, y, 1) == OC_ERR_INVALID);
}

/* ---- ConvTranspose ---- */

/* 2-D: y[n][g*Mg+m][i*s - pb + kk*d] += x[n][g*Cg+c][i] * w[g*Cg+c][m][kk] */
static void convt_ref(int64_t N, int64_t C, int64_t Mg, int64_t group, const int64_t *in, const int64_t *k,
                      const int64_t *s, const int64_t *d, const int64_t *pb, const int64_t *out, const float *x,
                      const float *w, const float *b, float *y)
{
    const int64_t Cg = C / group, M = Mg * group;
    memset(y, 0, (size_t)(N * M * out[0] * out[1]) * sizeof(float));
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t ih = 0; ih < in[0]; ih++)
                for (int64_t iw = 0; iw < in[1]; iw++)
                    for (int64_t m = 0; m < Mg; m++)
                        for (int64_t kh = 0; kh < k[0]; kh++)
                            for (int64_t kw = 0; kw < k[1]; kw++) {
                                int64_t oh = ih * s[0] - pb[0] + kh * d[0], ow = iw * s[1] - pb[1] + kw * d[1];
                                if (oh < 0 || oh >= out[0] || ow < 0 || ow >= out[1]) continue;
                                int64_t om = (c / Cg) * Mg + m;
                                y[((n * M + om) * out[0] + oh) * out[1] + ow] +=
                                    x[((n * C + c) * in[0] + ih) * in[1] + iw] *
                                    w[((c * Mg + m) * k[0] + kh) * k[1] + kw];
                            }
    if (b)
        for (int64_t n = 0; n < N; n++)
            for (int64_t m = 0; m < M; m++)
                for (int64_t i = 0; i < out[0] * out[1]; i++) y[(n * M + m) * out[0] * out[1] + i] += b[m];
}

static void convtranspose(void)
{
    const int64_t N = 2, C = 4, Mg = 3, group = 2, in[2] = {4, 5}, k[2] = {3, 2}, s[2] = {2, 3}, d[2] = {1, 2};
    const int64_t pads[4] = {1, 0, 0, 2}, opad[2] = {1, 2};
    int64_t out[2];
    for (int i = 0; i < 2; i++) out[i] = s[i] * (in[i] - 1) + opad[i] + (k[i] - 1) * d[i] + 1 - pads[i] - pads[2 + i];
    float *x = rnd(N * C * in[0] * in[1]), *w = rnd(C * Mg * k[0] * k[1]), *b = rnd(Mg * group);
    const int64_t yn = N * Mg * group * out[0] * out[1];
    float *want = malloc((size_t)yn * sizeof(float));
    convt_ref(N, C, Mg, group, in, k, s, d, pads, out, x, w, b, want);
    int64_t xd[4] = {N, C, in[0], in[1]}, wd[4] = {C, Mg, k[0], k[1]}, bd[1] = {Mg * group};
    oc_ten tx = T(OC_DTYPE_FLOAT, 4, xd, x), tw = T(OC_DTYPE_FLOAT, 4, wd, w), tb = T(OC_DTYPE_FLOAT, 1, bd, b);
    const oc_ten *ins[3] = {&tx, &tw, &tb};
    oc_attr at[5] = {ut_attr_int("group", group), ut_attr_ints("strides", s, 2), ut_attr_ints("dilations", d, 2), ut_attr_ints("pads", pads, 4),
                     ut_attr_ints("output_padding", opad, 2)};
    oc_ten y[1];
    CHECK(run_op("ConvTranspose", 11, at, 5, ins, 3, y, 1) == OC_OK);
    int64_t yd[4] = {N, Mg * group, out[0], out[1]};
    CHECK(dims_are(&y[0], 4, yd));
    CHECK(y[0].numel == yn && close_to(y[0].data, want, yn, 1e-4f));
    release(y, 1);

    /* output_shape: pads derived (end gets the smaller half), larger than
     * the natural size so the last row is bias only */
    const int64_t os[2] = {10, 14};
    int64_t pb[2];
    for (int i = 0; i < 2; i++) {
        int64_t total = s[i] * (in[i] - 1) + (k[i] - 1) * d[i] + 1 - os[i];
        int64_t pe = total >= 0 ? total / 2 : -((-total + 1) / 2);
        pb[i] = total - pe;
    }
    const int64_t yn2 = N * Mg * group * os[0] * os[1];
    float *want2 = malloc((size_t)yn2 * sizeof(float));
    convt_ref(N, C, Mg, group, in, k, s, d, pb, os, x, w, b, want2);
    oc_attr at2[4] = {ut_attr_int("group", group), ut_attr_ints("strides", s, 2), ut_attr_ints("dilations", d, 2),
                      ut_attr_ints("output_shape", os, 2)};
    CHECK(run_op("ConvTranspose", 11, at2, 4, ins, 3, y, 1) == OC_OK);
    CHECK(y[0].numel == yn2 && close_to(y[0].data, want2, yn2, 1e-4f));
    release(y, 1);
    free(x);
    free(w);
    free(b);
    free(want);
    free(want2);
}

/* ---- Gemm / MatMul ---- */

static void gemm(void)
{
    const int64_t M = 3, K = 4, N = 5;
    float *a = rnd(M * K), *b = rnd(K * N), *c = rnd(M * N);
    int64_t ad[2] = {K, M}, bd[2] = {N, K}; /* both transposed */
    /* a and b are stored transposed: a[k][m], b[n][k] */
    oc_ten ta = T(OC_DTYPE_FLOAT, 2, ad, a), tb = T(OC_DTYPE_FLOAT, 2, bd, b);
    /* C as a row vector [N], a column [M, 1], a scalar, and full */
    int64_t rowd[1] = {N}, cold[2] = {M, 1}, full[2] = {M, N};
    oc_ten crow = T(OC_DTYPE_FLOAT, 1, rowd, c), ccol = T(OC_DTYPE_FLOAT, 2, cold, c),
           cscal = T(OC_DTYPE_FLOAT, 0, NULL, c), cfull = T(OC_DTYPE_FLOAT, 2, full, c);
    const oc_ten *cs[4] = {&crow, &ccol, &cscal, &cfull};
    oc_attr at[4] = {ut_attr_int("transA", 1), ut_attr_int("transB", 1), ut_attr_float("alpha", 0.5f), ut_attr_float("beta", 2.0f)};
    for (int v = 0; v < 4; v++) {
        const oc_ten *in[3] = {&ta, &tb, cs[v]};
        oc_ten y[1];
        CHECK(run_op("Gemm", 13, at, 4, in, 3, y, 1) == OC_OK);
        CHECK(dims_are(&y[0], 2, full));
        const float *yf = y[0].data;
        bool ok = true;
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double s = 0;
                for (int64_t kk = 0; kk < K; kk++) s += (double)a[kk * M + i] * b[j * K + kk];
                float cv = v == 0 ? c[j] : v == 1 ? c[i] : v == 2 ? c[0] : c[i * N + j];
                float want = (float)(0.5 * s + 2.0 * cv);
                ok = ok && fabsf(yf[i * N + j] - want) < 1e-5f;
            }
        CHECK(ok);
        release(y, 1);
    }
    /* no C (opset 11) */
    const oc_ten *in2[2] = {&ta, &tb};
    oc_ten y[1];
    CHECK(run_op("Gemm", 11, at, 2, in2, 2, y, 1) == OC_OK);
    release(y, 1);
    /* opset 6: a row-vector C needs broadcast=1 */
    const oc_ten *in3[3] = {&ta, &tb, &crow};
    CHECK(run_op("Gemm", 6, at, 2, in3, 3, y, 1) == OC_ERR_INVALID);
    oc_attr at6[3] = {at[0], at[1], ut_attr_int("broadcast", 1)};
    CHECK(run_op("Gemm", 6, at6, 3, in3, 3, y, 1) == OC_OK);
    release(y, 1);
    free(a);
    free(b);
    free(c);
}

/* reference: y[bat][i][j] = sum_k a[bat_a][i][k] * b[bat_b][k][j] */
static void matmul(void)
{
    /* [2,1,3,4] x [3,4,5] -> [2,3,3,5] */
    float *a = rnd(2 * 3 * 4), *b = rnd(3 * 4 * 5);
    int64_t ad[4] = {2, 1, 3, 4}, bd[3] = {3, 4, 5}, yd[4] = {2, 3, 3, 5};
    oc_ten ta = T(OC_DTYPE_FLOAT, 4, ad, a), tb = T(OC_DTYPE_FLOAT, 3, bd, b);
    const oc_ten *in[2] = {&ta, &tb};
    oc_ten y[1];
    CHECK(run_op("MatMul", 13, NULL, 0, in, 2, y, 1) == OC_OK);
    CHECK(dims_are(&y[0], 4, yd));
    bool ok = true;
    for (int p = 0; p < 2; p++)
        for (int q = 0; q < 3; q++)
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 5; j++) {
                    double s = 0;
                    for (int kk = 0; kk < 4; kk++) s += (double)a[(p * 3 + i) * 4 + kk] * b[(q * 4 + kk) * 5 + j];
                    ok = ok && fabs(((float *)y[0].data)[((p * 3 + q) * 3 + i) * 5 + j] - s) < 1e-5;
                }
    CHECK(ok);
    release(y, 1);
    /* folded: [2,3,4] x [4,5] */
    int64_t ad2[3] = {2, 3, 4}, bd2[2] = {4, 5};
    oc_ten ta2 = T(OC_DTYPE_FLOAT, 3, ad2, a), tb2 = T(OC_DTYPE_FLOAT, 2, bd2, b);
    const oc_ten *in2[2] = {&ta2, &tb2};
    CHECK(run_op("MatMul", 9, NULL, 0, in2, 2, y, 1) == OC_OK);
    ok = y[0].numel == 30;
    for (int r = 0; r < 6 && ok; r++)
        for (int j = 0; j < 5; j++) {
            double s = 0;
            for (int kk = 0; kk < 4; kk++) s += (double)a[r * 4 + kk] * b[kk * 5 + j];
            ok = ok && fabs(((float *)y[0].data)[r * 5 + j] - s) < 1e-5;
        }
    CHECK(ok);
    release(y, 1);
    /* 1-D operands: [4] x [4,5] -> [5]; [2,3,4] x [4] -> [2,3] */
    int64_t vd[1] = {4}, yd1[1] = {5}, yd2[2] = {2, 3};
    oc_ten tv = T(OC_DTYPE_FLOAT, 1, vd, a);
    const oc_ten *in3[2] = {&tv, &tb2};
    CHECK(run_op("MatMul", 13, NULL, 0, in3, 2, y, 1) == OC_OK);
    CHECK(dims_are(&y[0], 1, yd1));
    release(y, 1);
    oc_ten tv2 = T(OC_DTYPE_FLOAT, 1, vd, b);
    const oc_ten *in4[2] = {&ta2, &tv2};
    CHECK(run_op("MatMul", 13, NULL, 0, in4, 2, y, 1) == OC_OK);
    CHECK(dims_are(&y[0], 2, yd2));
    ok = true;
    for (int r = 0; r < 6; r++) {
        double s = 0;
        for (int kk = 0; kk < 4; kk++) s += (double)a[r * 4 + kk] * b[kk];
        ok = ok && fabs(((float *)y[0].data)[r] - s) < 1e-5;
    }
    CHECK(ok);
    release(y, 1);
    /* int64 */
    int64_t ia[6] = {1, 2, 3, 4, 5, 6}, ib[6] = {7, 8, 9, 10, 11, 12}, id1[2] = {2, 3}, id2[2] = {3, 2};
    oc_ten tia = T(OC_DTYPE_INT64, 2, id1, ia), tib = T(OC_DTYPE_INT64, 2, id2, ib);
    const oc_ten *in5[2] = {&tia, &tib};
    CHECK(run_op("MatMul", 13, NULL, 0, in5, 2, y, 1) == OC_OK);
    const int64_t *iy = y[0].data;
    CHECK(iy[0] == 58 && iy[1] == 64 && iy[2] == 139 && iy[3] == 154);
    release(y, 1);
    /* mismatch */
    const oc_ten *in6[2] = {&ta2, &ta2};
    CHECK(run_op("MatMul", 13, NULL, 0, in6, 2, y, 1) == OC_ERR_INVALID);
    free(a);
    free(b);
}

/* ---- normalizations ---- */

static void batchnorm(void)
{
    const int64_t N = 2, C = 3, S = 4;
    float *x = rnd(N * C * S), *p = rnd(4 * C * S);
    for (int i = 0; i < C * S; i++) p[3 * C * S + i] = fabsf(p[3 * C * S + i]) + 0.5f; /* variances */
    int64_t xd[3] = {N, C, S}, cd[1] = {C}, ed[2] = {C, S};
    oc_ten tx = T(OC_DTYPE_FLOAT, 3, xd, x);
    oc_ten sc = T(OC_DTYPE_FLOAT, 1, cd, p), bi = T(OC_DTYPE_FLOAT, 1, cd, p + C * S),
           mu = T(OC_DTYPE_FLOAT, 1, cd, p + 2 * C * S), va = T(OC_DTYPE_FLOAT, 1, cd, p + 3 * C * S);
    const oc_ten *in[5] = {&tx, &sc, &bi, &mu, &va};
    oc_attr eps = ut_attr_float("epsilon", 1e-3f);
    oc_ten y[1];
    CHECK(run_op("BatchNormalization", 15, &eps, 1, in, 5, y, 1) == OC_OK);
    bool ok = true;
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t i = 0; i < S; i++) {
                const float *pp = p + c;
                double want = (x[(n * C + c) * S + i] - pp[2 * C * S]) / sqrt(pp[3 * C * S] + 1e-3) * pp[0] + pp[C * S];
                ok = ok && fabs(((float *)y[0].data)[(n * C + c) * S + i] - want) < 1e-5;
            }
    CHECK(ok);
    release(y, 1);
    /* opset 7, spatial=0: statistics per element of a sample */
    oc_ten sc2 = T(OC_DTYPE_FLOAT, 2, ed, p), bi2 = T(OC_DTYPE_FLOAT, 2, ed, p + C * S),
           mu2 = T(OC_DTYPE_FLOAT, 2, ed, p + 2 * C * S), va2 = T(OC_DTYPE_FLOAT, 2, ed, p + 3 * C * S);
    const oc_ten *in2[5] = {&tx, &sc2, &bi2, &mu2, &va2};
    oc_attr at[2] = {eps, ut_attr_int("spatial", 0)};
    CHECK(run_op("BatchNormalization", 7, at, 2, in2, 5, y, 1) == OC_OK);
    ok = true;
    for (int64_t n = 0; n < N; n++)
        for (int64_t e = 0; e < C * S; e++) {
            const float *pp = p + e;
            double want = (x[n * C * S + e] - pp[2 * C * S]) / sqrt(pp[3 * C * S] + 1e-3) * pp[0] + pp[C * S];
            ok = ok && fabs(((float *)y[0].data)[n * C * S + e] - want) < 1e-5;
        }
    CHECK(ok);
    release(y, 1);
    /* from opset 9 spatial is gone: per-element parameters are an error */
    CHECK(run_op("BatchNormalization", 9, at, 2, in2, 5, y, 1) == OC_ERR_INVALID);
    /* training is refused before running */
    oc_attr tr = ut_attr_int("training_mode", 1);
    CHECK(run_op("BatchNormalization", 14, &tr, 1, in, 5, y, 1) == OC_ERR_UNSUPPORTED);
    CHECK(strstr(ctx.msg, "training_mode") != NULL);
    free(x);
    free(p);
}

static void instance_and_layer_norm(void)
{
    const int64_t N = 2, C = 3, S = 5;
    float *x = rnd(N * C * S), *sc = rnd(C * S), *bi = rnd(C * S);
    int64_t xd[3] = {N, C, S}, cd[1] = {C};
    oc_ten tx = T(OC_DTYPE_FLOAT, 3, xd, x), ts = T(OC_DTYPE_FLOAT, 1, cd, sc), tb = T(OC_DTYPE_FLOAT, 1, cd, bi);
    const oc_ten *in[3] = {&tx, &ts, &tb};
    oc_ten y[3];
    CHECK(run_op("InstanceNormalization", 6, NULL, 0, in, 3, y, 1) == OC_OK);
    bool ok = true;
    for (int64_t p = 0; p < N * C; p++) {
        double m = 0, v = 0;
        for (int i = 0; i < S; i++) m += x[p * S + i];
        m /= S;
        for (int i = 0; i < S; i++) v += (x[p * S + i] - m) * (x[p * S + i] - m);
        v /= S;
        for (int i = 0; i < S; i++) {
            double want = (x[p * S + i] - m) / sqrt(v + 1e-5) * sc[p % C] + bi[p % C];
            ok = ok && fabs(((float *)y[0].data)[p * S + i] - want) < 1e-4;
        }
    }
    CHECK(ok);
    release(y, 1);
    /* LayerNormalization over the last two axes, Scale [C, S], B [S] broadcast */
    int64_t sd[2] = {C, S}, bd[1] = {S};
    oc_ten ts2 = T(OC_DTYPE_FLOAT, 2, sd, sc), tb2 = T(OC_DTYPE_FLOAT, 1, bd, bi);
    const oc_ten *in2[3] = {&tx, &ts2, &tb2};
    oc_attr at[2] = {ut_attr_int("axis", 1), ut_attr_float("epsilon", 1e-3f)};
    CHECK(run_op("LayerNormalization", 17, at, 2, in2, 3, y, 3) == OC_OK);
    int64_t md[3] = {N, 1, 1};
    CHECK(dims_are(&y[1], 3, md) && dims_are(&y[2], 3, md));
    ok = true;
    for (int64_t n = 0; n < N; n++) {
        double m = 0, v = 0;
        for (int i = 0; i < C * S; i++) m += x[n * C * S + i];
        m /= (double)(C * S);
        for (int i = 0; i < C * S; i++) v += (x[n * C * S + i] - m) * (x[n * C * S + i] - m);
        v /= (double)(C * S);
        ok = ok && fabs(((float *)y[1].data)[n] - m) < 1e-5;
        ok = ok && fabs(((float *)y[2].data)[n] - 1 / sqrt(v + 1e-3)) < 1e-4;
        for (int i = 0; i < C * S; i++) {
            double want = (x[n * C * S + i] - m) / sqrt(v + 1e-3) * sc[i] + bi[i % S];
            ok = ok && fabs(((float *)y[0].data)[n * C * S + i] - want) < 1e-4;
        }
    }
    CHECK(ok);
    release(y, 3);
    /* not in opset 16 */
    CHECK(oc_op_find("", "LayerNormalization", 16) == NULL);
    free(x);
    free(sc);
    free(bi);
}

/* ---- pooling ---- */

typedef struct pool_case {
    int64_t in[2], k[2], s[2], d[2], pads[4];
    int ceil;
} pool_case;

/* naive 2-D max/avg over one plane; window positions outside the padded
 * input (ceil_mode overhang) count for neither */
static void pool_ref(const pool_case *c, bool max, bool count_pad, const int64_t *out, const float *x, float *y,
                     int64_t *arg)
{
    for (int64_t oh = 0; oh < out[0]; oh++)
        for (int64_t ow = 0; ow < out[1]; ow++) {
            double acc = 0, m = -INFINITY;
            int64_t n = 0, np = 0, am = -1;
            for (int64_t kh = 0; kh < c->k[0]; kh++)
                for (int64_t kw = 0; kw < c->k[1]; kw++) {
                    int64_t ih = oh * c->s[0] - c->pads[0] + kh * c->d[0];
                    int64_t iw = ow * c->s[1] - c->pads[1] + kw * c->d[1];
                    if (ih < c->in[0] + c->pads[2] && iw < c->in[1] + c->pads[3]) np++;
                    if (ih < 0 || ih >= c->in[0] || iw < 0 || iw >= c->in[1]) continue;
                    float v = x[ih * c->in[1] + iw];
                    acc += v;
                    n++;
                    if (v > m) {
                        m = v;
                        am = ih * c->in[1] + iw;
                    }
                }
            y[oh * out[1] + ow] = max ? (float)m : (float)(acc / (double)(count_pad ? np : n));
            if (arg) arg[oh * out[1] + ow] = am;
        }
}

/* MaxPool also checks the Indices output when idx is set. */
static bool pool_check_idx(const pool_case *c, const char *op, bool count_pad, bool idx)
{
    const bool max = !strcmp(op, "MaxPool");
    int64_t out[2];
    for (int i = 0; i < 2; i++) {
        int64_t span = c->in[i] + c->pads[i] + c->pads[2 + i] - ((c->k[i] - 1) * c->d[i] + 1);
        out[i] = span / c->s[i] + 1;
        if (c->ceil && span % c->s[i]) {
            out[i]++;
            if ((out[i] - 1) * c->s[i] >= c->in[i] + c->pads[i]) out[i]--;
        }
    }
    const int64_t planes = 3, is = c->in[0] * c->in[1], os = out[0] * out[1];
    float *x = rnd(planes * is), *want = malloc((size_t)(planes * os) * sizeof(float));
    int64_t *arg = malloc((size_t)(planes * os) * sizeof(int64_t));
    for (int64_t p = 0; p < planes; p++) {
        pool_ref(c, max, count_pad, out, x + p * is, want + p * os, arg + p * os);
        for (int64_t i = 0; i < os; i++) arg[p * os + i] += p * is;
    }
    int64_t xd[4] = {1, planes, c->in[0], c->in[1]};
    oc_ten tx = T(OC_DTYPE_FLOAT, 4, xd, x);
    const oc_ten *in[1] = {&tx};
    oc_attr at[6] = {ut_attr_ints("kernel_shape", c->k, 2), ut_attr_ints("strides", c->s, 2), ut_attr_ints("pads", c->pads, 4),
                     ut_attr_int("ceil_mode", c->ceil),
                     max ? ut_attr_ints("dilations", c->d, 2) : ut_attr_int("count_include_pad", count_pad)};
    oc_ten y[2];
    const size_t n_out = max && idx ? 2 : 1;
    oc_status st = run_op(op, 12, at, 5, in, 1, y, n_out);
    bool ok = st == OC_OK && y[0].numel == planes * os && close_to(y[0].data, want, planes * os, 1e-5f);
    if (ok && n_out == 2) ok = memcmp(y[1].data, arg, (size_t)(planes * os) * sizeof(int64_t)) == 0;
    if (st == OC_OK) release(y, n_out);
    free(x);
    free(want);
    free(arg);
    return ok;
}

static bool pool_check(const pool_case *c, const char *op, bool count_pad)
{
    return pool_check_idx(c, op, count_pad, true);
}

static void pools(void)
{
    /* without Indices MaxPool takes the vector loop */
    pool_case c0 = {{37, 41}, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, 0};
    CHECK(pool_check_idx(&c0, "MaxPool", false, false));
    CHECK(pool_check_idx(&c0, "AveragePool", true, false));
    pool_case c02 = {{8, 7}, {2, 3}, {3, 2}, {2, 1}, {0, 1, 2, 0}, 1};
    CHECK(pool_check_idx(&c02, "MaxPool", false, false));
    pool_case c03 = {{9, 50}, {2, 5}, {2, 1}, {2, 3}, {1, 2, 0, 2}, 1};
    CHECK(pool_check_idx(&c03, "MaxPool", false, false));
    pool_case c04 = {{6, 6}, {3, 3}, {2, 2}, {1, 1}, {0, 0, 1, 1}, 1};
    CHECK(pool_check_idx(&c04, "AveragePool", false, false));
    /* every window inside the input: rows then columns, no copy */
    pool_case c05 = {{24, 25}, {2, 2}, {2, 2}, {1, 1}, {0, 0, 0, 0}, 0};
    CHECK(pool_check_idx(&c05, "MaxPool", false, false));
    CHECK(pool_check_idx(&c05, "AveragePool", false, false));
    pool_case c06 = {{9, 11}, {3, 2}, {2, 3}, {1, 1}, {0, 0, 0, 0}, 0};
    CHECK(pool_check_idx(&c06, "MaxPool", false, false));
    CHECK(pool_check_idx(&c06, "AveragePool", true, false));

    pool_case c1 = {{7, 8}, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, 0};
    CHECK(pool_check(&c1, "MaxPool", false));
    CHECK(pool_check(&c1, "AveragePool", false));
    CHECK(pool_check(&c1, "AveragePool", true));
    pool_case c2 = {{8, 7}, {2, 3}, {3, 2}, {2, 1}, {0, 1, 2, 0}, 1};
    CHECK(pool_check(&c2, "MaxPool", false));
    pool_case c3 = {{6, 6}, {3, 3}, {2, 2}, {1, 1}, {0, 0, 1, 1}, 1};
    CHECK(pool_check(&c3, "AveragePool", true));
    CHECK(pool_check(&c3, "AveragePool", false));

    /* Indices in column-major order (storage_order=1) */
    float x[12] = {1, 9, 3, 4, 5, 6, 7, 8, 2, 10, 11, 0};
    int64_t xd[4] = {1, 1, 3, 4}, ks[2] = {2, 2}, st[2] = {1, 2};
    oc_ten tx = T(OC_DTYPE_FLOAT, 4, xd, x);
    const oc_ten *in[1] = {&tx};
    oc_attr at[3] = {ut_attr_ints("kernel_shape", ks, 2), ut_attr_ints("strides", st, 2), ut_attr_int("storage_order", 1)};
    oc_ten y[2];
    CHECK(run_op("MaxPool", 12, at, 3, in, 1, y, 2) == OC_OK);
    /* windows: rows 0-1 cols 0-1 -> 9 at (0,1); rows 0-1 cols 2-3 -> 8 at (1,3);
     * rows 1-2 cols 0-1 -> 10 at (2,1); rows 1-2 cols 2-3 -> 11 at (2,2) */
    const float *yf = y[0].data;
    const int64_t *yi = y[1].data;
    CHECK(yf[0] == 9 && yf[1] == 8 && yf[2] == 10 && yf[3] == 11);
    CHECK(yi[0] == 0 + 1 * 3 && yi[1] == 1 + 3 * 3 && yi[2] == 2 + 1 * 3 && yi[3] == 2 + 2 * 3);
    release(y, 2);

    /* uint8 MaxPool, 1-D */
    uint8_t u[6] = {3, 200, 7, 255, 0, 9};
    int64_t ud[3] = {1, 1, 6}, k1[1] = {2}, s1[1] = {2};
    oc_ten tu = T(OC_DTYPE_UINT8, 3, ud, u);
    const oc_ten *in2[1] = {&tu};
    oc_attr at2[2] = {ut_attr_ints("kernel_shape", k1, 1), ut_attr_ints("strides", s1, 1)};
    CHECK(run_op("MaxPool", 12, at2, 2, in2, 1, y, 1) == OC_OK);
    const uint8_t *yu = y[0].data;
    CHECK(y[0].dtype == OC_DTYPE_UINT8 && y[0].numel == 3 && yu[0] == 200 && yu[1] == 255 && yu[2] == 9);
    release(y, 1);

    /* 3-D average with SAME_UPPER */
    float v[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    int64_t vd[5] = {1, 1, 2, 2, 2}, k3[3] = {2, 2, 2};
    oc_ten tv = T(OC_DTYPE_FLOAT, 5, vd, v);
    const oc_ten *in3[1] = {&tv};
    oc_attr at3[2] = {ut_attr_ints("kernel_shape", k3, 3), ut_attr_str("auto_pad", "SAME_UPPER")};
    CHECK(run_op("AveragePool", 11, at3, 2, in3, 1, y, 1) == OC_OK);
    yf = y[0].data;
    CHECK(y[0].numel == 8 && yf[0] == 4.5f && yf[7] == 8.0f && yf[6] == 7.5f);
    release(y, 1);

    /* LpPool p=2 and p=1 (opset 1 had a float p), 1-D, pad 1 */
    float l[4] = {3, -4, 1, 2};
    int64_t ld[3] = {1, 1, 4}, k2[1] = {2}, p1[2] = {1, 0};
    oc_ten tl = T(OC_DTYPE_FLOAT, 3, ld, l);
    const oc_ten *inl[1] = {&tl};
    oc_attr atl[3] = {ut_attr_ints("kernel_shape", k2, 1), ut_attr_ints("pads", p1, 2), ut_attr_int("p", 2)};
    CHECK(run_op("LpPool", 11, atl, 3, inl, 1, y, 1) == OC_OK);
    yf = y[0].data;
    CHECK(y[0].numel == 4 && yf[0] == 3 && yf[1] == 5);
    CHECK(fabsf(yf[2] - sqrtf(17)) < 1e-6f && fabsf(yf[3] - sqrtf(5)) < 1e-6f);
    release(y, 1);
    atl[2] = ut_attr_float("p", 1.0f);
    CHECK(run_op("LpPool", 1, atl, 3, inl, 1, y, 1) == OC_OK);
    yf = y[0].data;
    CHECK(yf[0] == 3 && yf[1] == 7 && yf[2] == 5 && yf[3] == 3);
    release(y, 1);

    /* MaxUnpool puts MaxPool's maxima back where Indices say */
    float mx[16];
    for (int i = 0; i < 16; i++) mx[i] = (float)((i * 7) % 16);
    int64_t md[4] = {1, 1, 4, 4}, k22[2] = {2, 2}, s22[2] = {2, 2};
    oc_ten tm = T(OC_DTYPE_FLOAT, 4, md, mx);
    const oc_ten *inm[1] = {&tm};
    oc_attr atm[2] = {ut_attr_ints("kernel_shape", k22, 2), ut_attr_ints("strides", s22, 2)};
    CHECK(run_op("MaxPool", 12, atm, 2, inm, 1, y, 2) == OC_OK);
    const oc_ten *inu[2] = {&y[0], &y[1]};
    oc_ten u2[1];
    CHECK(run_op("MaxUnpool", 11, atm, 2, inu, 2, u2, 1) == OC_OK);
    CHECK(dims_are(&u2[0], 4, md));
    bool ok = true;
    const float *uf = u2[0].data;
    for (int i = 0; i < 16; i++) {
        const int r = i / 4, c = i % 4;
        float best = -1;
        for (int a = 0; a < 2; a++)
            for (int b = 0; b < 2; b++) best = fmaxf(best, mx[((r / 2) * 2 + a) * 4 + (c / 2) * 2 + b]);
        ok = ok && uf[i] == (mx[i] == best ? mx[i] : 0.0f);
    }
    CHECK(ok);
    release(u2, 1);
    release(y, 2);

    /* kernel_shape is required */
    CHECK(run_op("MaxPool", 12, NULL, 0, in3, 1, y, 1) == OC_ERR_INVALID);

    /* global pools */
    CHECK(run_op("GlobalAveragePool", 1, NULL, 0, in3, 1, y, 1) == OC_OK);
    int64_t gd[5] = {1, 1, 1, 1, 1};
    CHECK(dims_are(&y[0], 5, gd) && ((float *)y[0].data)[0] == 4.5f);
    release(y, 1);
    CHECK(run_op("GlobalMaxPool", 1, NULL, 0, in3, 1, y, 1) == OC_OK);
    CHECK(((float *)y[0].data)[0] == 8.0f);
    release(y, 1);
    CHECK(run_op("GlobalLpPool", 2, NULL, 0, in3, 1, y, 1) == OC_OK);
    CHECK(fabsf(((float *)y[0].data)[0] - sqrtf(204.0f)) < 1e-4f);
    release(y, 1);
}

/* ---- Softmax ---- */

static void softmax_versions(void)
{
    float *x = rnd(2 * 3 * 4);
    int64_t xd[3] = {2, 3, 4};
    oc_ten tx = T(OC_DTYPE_FLOAT, 3, xd, x);
    const oc_ten *in[1] = {&tx};
    oc_attr ax = ut_attr_int("axis", 1);
    oc_ten y[1];
    /* opset 11: rows of 12 (axes 1 and 2 together) */
    CHECK(run_op("Softmax", 11, &ax, 1, in, 1, y, 1) == OC_OK);
    bool ok = true;
    for (int n = 0; n < 2; n++) {
        double s = 0;
        for (int i = 0; i < 12; i++) s += exp(x[n * 12 + i]);
        for (int i = 0; i < 12; i++) ok = ok && fabs(((float *)y[0].data)[n * 12 + i] - exp(x[n * 12 + i]) / s) < 1e-6;
    }
    CHECK(ok);
    release(y, 1);
    /* opset 13: along axis 1 only */
    CHECK(run_op("Softmax", 13, &ax, 1, in, 1, y, 1) == OC_OK);
    ok = true;
    for (int n = 0; n < 2; n++)
        for (int j = 0; j < 4; j++) {
            double s = 0;
            for (int c = 0; c < 3; c++) s += exp(x[(n * 3 + c) * 4 + j]);
            for (int c = 0; c < 3; c++)
                ok = ok && fabs(((float *)y[0].data)[(n * 3 + c) * 4 + j] - exp(x[(n * 3 + c) * 4 + j]) / s) < 1e-6;
        }
    CHECK(ok);
    release(y, 1);
    /* LogSoftmax default axis (-1 from 13) */
    CHECK(run_op("LogSoftmax", 13, NULL, 0, in, 1, y, 1) == OC_OK);
    ok = true;
    for (int r = 0; r < 6; r++) {
        double s = 0;
        for (int j = 0; j < 4; j++) s += exp(x[r * 4 + j]);
        for (int j = 0; j < 4; j++) ok = ok && fabs(((float *)y[0].data)[r * 4 + j] - (x[r * 4 + j] - log(s))) < 1e-5;
    }
    CHECK(ok);
    release(y, 1);
    free(x);
}

/* ---- Resize / Upsample ---- */

static void resize_nearest(void)
{
    float x[6] = {1, 2, 3, 4, 5, 6};
    int64_t xd[4] = {1, 1, 2, 3};
    oc_ten tx = T(OC_DTYPE_FLOAT, 4, xd, x);
    float sc[4] = {1, 1, 2, 3};
    int64_t sd[1] = {4};
    oc_ten ts = T(OC_DTYPE_FLOAT, 1, sd, sc);
    oc_ten y[1];
    /* Upsample 9 (scales input) and 7 (scales attribute) agree: replicate */
    const oc_ten *in[2] = {&tx, &ts};
    CHECK(run_op("Upsample", 9, NULL, 0, in, 2, y, 1) == OC_OK);
    int64_t yd[4] = {1, 1, 4, 9};
    CHECK(dims_are(&y[0], 4, yd));
    const float *yf = y[0].data;
    bool ok = true;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 9; j++) ok = ok && yf[i * 9 + j] == x[(i / 2) * 3 + j / 3];
    CHECK(ok);
    release(y, 1);
    oc_attr sa = ut_attr_floats("scales", sc, 4);
    const oc_ten *in7[1] = {&tx};
    CHECK(run_op("Upsample", 7, &sa, 1, in7, 1, y, 1) == OC_OK);
    CHECK(dims_are(&y[0], 4, yd) && ((float *)y[0].data)[35] == 6);
    release(y, 1);
    CHECK(run_op("Upsample", 7, NULL, 0, in7, 1, y, 1) == OC_ERR_INVALID); /* scales attribute required */

    /* Resize 13 with sizes, asymmetric + floor */
    int64_t sz[4] = {1, 1, 3, 2};
    oc_ten tsz = T(OC_DTYPE_INT64, 1, sd, sz);
    const oc_ten *in13[4] = {&tx, NULL, NULL, &tsz};
    oc_attr at[2] = {ut_attr_str("coordinate_transformation_mode", "asymmetric"), ut_attr_str("nearest_mode", "floor")};
    CHECK(run_op("Resize", 13, at, 2, in13, 4, y, 1) == OC_OK);
    yf = y[0].data;
    /* rows: x = o * 2/3 -> 0, 0, 1; cols: x = o * 3/2 -> 0, 1 */
    CHECK(y[0].numel == 6 && yf[0] == 1 && yf[1] == 2 && yf[2] == 1 && yf[3] == 2 && yf[4] == 4 && yf[5] == 5);
    release(y, 1);
    /* int32 data moves unchanged */
    int32_t xi[6] = {10, 20, 30, 40, 50, 60};
    oc_ten txi = T(OC_DTYPE_INT32, 4, xd, xi);
    const oc_ten *in13i[4] = {&txi, NULL, NULL, &tsz};
    CHECK(run_op("Resize", 13, at, 2, in13i, 4, y, 1) == OC_OK);
    CHECK(y[0].dtype == OC_DTYPE_INT32 && ((int32_t *)y[0].data)[5] == 50);
    release(y, 1);
    /* opset 18: sizes for axes [3, 2] only */
    int64_t axes[2] = {-1, 2}, sz2[2] = {6, 4}, s2d[1] = {2};
    oc_ten tsz2 = T(OC_DTYPE_INT64, 1, s2d, sz2);
    const oc_ten *in18[4] = {&tx, NULL, NULL, &tsz2};
    oc_attr at18 = ut_attr_ints("axes", axes, 2);
    CHECK(run_op("Resize", 18, &at18, 1, in18, 4, y, 1) == OC_OK);
    int64_t yd18[4] = {1, 1, 4, 6};
    CHECK(dims_are(&y[0], 4, yd18));
    release(y, 1);
    /* refused attributes */
    oc_attr aa[2] = {ut_attr_str("mode", "linear"), ut_attr_int("antialias", 1)};
    CHECK(run_op("Resize", 18, aa, 2, in18, 4, y, 1) == OC_ERR_UNSUPPORTED);
    oc_attr hs = ut_attr_str("coordinate_transformation_mode", "half_pixel_symmetric");
    CHECK(run_op("Resize", 13, &hs, 1, in13, 4, y, 1) == OC_ERR_UNSUPPORTED);
    CHECK(run_op("Resize", 19, &hs, 1, in13, 4, y, 1) == OC_OK);
    release(y, 1);
    oc_attr cub = ut_attr_str("mode", "cubic");
    const oc_ten *in10[2] = {&tx, &ts};
    CHECK(run_op("Resize", 10, &cub, 1, in10, 2, y, 1) == OC_ERR_UNSUPPORTED); /* no cubic before 11 */
}

/* bilinear half_pixel against a direct 2-D formula */
static void resize_linear(void)
{
    const int64_t H = 3, W = 4, OH = 7, OW = 5;
    float *x = rnd(2 * H * W);
    int64_t xd[4] = {1, 2, H, W}, sd[1] = {4}, sz[4] = {1, 2, OH, OW};
    oc_ten tx = T(OC_DTYPE_FLOAT, 4, xd, x), tsz = T(OC_DTYPE_INT64, 1, sd, sz);
    const oc_ten *in[4] = {&tx, NULL, NULL, &tsz};
    oc_attr at = ut_attr_str("mode", "linear");
    oc_ten y[1];
    CHECK(run_op("Resize", 13, &at, 1, in, 4, y, 1) == OC_OK);
    bool ok = true;
    for (int c = 0; c < 2; c++)
        for (int i = 0; i < OH; i++)
            for (int j = 0; j < OW; j++) {
                double fy = (i + 0.5) * H / OH - 0.5, fx = (j + 0.5) * W / OW - 0.5;
                fy = fy < 0 ? 0 : fy > H - 1 ? H - 1 : fy;
                fx = fx < 0 ? 0 : fx > W - 1 ? W - 1 : fx;
                int y0 = (int)floor(fy), x0 = (int)floor(fx);
                int y1 = y0 + 1 < H ? y0 + 1 : y0, x1 = x0 + 1 < W ? x0 + 1 : x0;
                double ty = fy - y0, tx2 = fx - x0;
                const float *p = x + c * H * W;
                double want = (1 - ty) * ((1 - tx2) * p[y0 * W + x0] + tx2 * p[y0 * W + x1]) +
                              ty * ((1 - tx2) * p[y1 * W + x0] + tx2 * p[y1 * W + x1]);
                ok = ok && fabs(((float *)y[0].data)[(c * OH + i) * OW + j] - want) < 1e-5;
            }
    CHECK(ok);
    release(y, 1);
    /* cubic at scale 1 is the identity; align_corners linear keeps corners */
    int64_t same[4] = {1, 2, H, W};
    oc_ten tsame = T(OC_DTYPE_INT64, 1, sd, same);
    const oc_ten *in2[4] = {&tx, NULL, NULL, &tsame};
    oc_attr cub = ut_attr_str("mode", "cubic");
    CHECK(run_op("Resize", 11, &cub, 1, in2, 4, y, 1) == OC_OK);
    CHECK(close_to(y[0].data, x, 2 * H * W, 1e-6f));
    release(y, 1);
    oc_attr ac[2] = {ut_attr_str("mode", "linear"), ut_attr_str("coordinate_transformation_mode", "align_corners")};
    CHECK(run_op("Resize", 13, ac, 2, in, 4, y, 1) == OC_OK);
    const float *yf = y[0].data;
    CHECK(yf[0] == x[0] && yf[OW - 1] == x[W - 1] && yf[OH * OW - 1] == x[H * W - 1]);
    release(y, 1);
    /* Upsample linear (asymmetric): x = o / scale */
    float v[2] = {0, 10}, sc[1] = {4};
    int64_t vd[1] = {2}, s1[1] = {1};
    oc_ten tv = T(OC_DTYPE_FLOAT, 1, vd, v), ts = T(OC_DTYPE_FLOAT, 1, s1, sc);
    const oc_ten *in3[2] = {&tv, &ts};
    CHECK(run_op("Upsample", 9, &at, 1, in3, 2, y, 1) == OC_OK);
    const float want[8] = {0, 2.5f, 5, 7.5f, 10, 10, 10, 10};
    CHECK(y[0].numel == 8 && close_to(y[0].data, want, 8, 1e-6f));
    release(y, 1);
    free(x);
}

static void misc_norms(void)
{
    float x[6] = {3, 4, 0, 0, -1, 1};
    int64_t xd[2] = {3, 2};
    oc_ten tx = T(OC_DTYPE_FLOAT, 2, xd, x);
    const oc_ten *in[1] = {&tx};
    oc_ten y[1];
    CHECK(run_op("LpNormalization", 1, NULL, 0, in, 1, y, 1) == OC_OK);
    const float *yf = y[0].data;
    CHECK(fabsf(yf[0] - 0.6f) < 1e-6f && fabsf(yf[1] - 0.8f) < 1e-6f && yf[2] == 0 && yf[3] == 0);
    release(y, 1);
    oc_attr p3 = ut_attr_int("p", 3);
    CHECK(run_op("LpNormalization", 1, &p3, 1, in, 1, y, 1) == OC_ERR_UNSUPPORTED);
    /* MeanVarianceNormalization over axis 0 */
    int64_t ax[1] = {0};
    oc_attr axes = ut_attr_ints("axes", ax, 1);
    CHECK(run_op("MeanVarianceNormalization", 13, &axes, 1, in, 1, y, 1) == OC_OK);
    yf = y[0].data;
    double m = (3 + 0 - 1) / 3.0, sd = sqrt(((3 - m) * (3 - m) + m * m + (1 + m) * (1 + m)) / 3);
    CHECK(fabs(yf[0] - (3 - m) / sd) < 1e-5);
    release(y, 1);
}

int main(void)
{
    RUN(conv_2d);
    RUN(conv_depthwise);
    RUN(tile_kernels);
    RUN(conv_blocked);
    RUN(conv_1d_3d);
    RUN(conv_refusals);
    RUN(convtranspose);
    RUN(gemm);
    RUN(matmul);
    RUN(batchnorm);
    RUN(instance_and_layer_norm);
    RUN(pools);
    RUN(softmax_versions);
    RUN(resize_nearest);
    RUN(resize_linear);
    RUN(misc_norms);
    UNIT_END("ops_nn");
}
