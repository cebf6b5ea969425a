/* test_prune_gram.c: Gram matrices of layer inputs (lib/passes/prune_gram.c)
 * over samples read from a temporary folder of .npy files.
 *
 * One model holds a 2-D Conv with pads, stride 2 and dilation, a grouped
 * Conv with auto_pad, a grouped ConvTranspose with output_padding and
 * dilation, a 1-D SAME_LOWER ConvTranspose, a 1-D and a 3-D Conv, a Gemm
 * and a MatMul over a 3-D input. Each Gram is checked two ways:
 *   - against a brute-force Gram built here from the same inputs (patches
 *     gathered straight from the ONNX formulas; the ConvTranspose ones
 *     scattered from the input side instead);
 *   - against the interpreter's own outputs: for output units o, o' of a
 *     group, sum over positions of y_o y_o' = W_o H W_o'^T with W_o read
 *     through oc_prune_index, which ties the column order of the patches to
 *     the one the prune passes use.
 * Then: diagonal-only runs give the same diagonals, a small memory budget
 * (batches, and a layer over budget) gives the same results, layers outside
 * the main graph get count 0, a misfit input fails naming its node, and
 * every allocation failure gives OC_ERR_NOMEM without leaks. */
#include "ir/ir.h"
#include "passes/prune_gram.h"
#include "unit.h"

#include <ftw.h>
#include <math.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build.h"

#define SAMPLES 3
#define MAXN 32

static char dir[64];

static uint64_t rng = 0x2545f4914f6cdd1dull;

static float frand(void) /* [-1, 1) */
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((double)(rng >> 11) / 4503599627370496.0 - 1.0);
}

/* ---- the model ---- */

enum { DENSE, CONV, CONVT };

/* A layer as the test knows it, for the brute-force Gram. */
typedef struct tlayer {
    const char *node, *input, *output;
    int kind;
    int64_t group;
    int nd;
    int64_t k[3], s[3], d[3], pb[3]; /* pb: the begin pads the interpreter uses */
    int64_t n;                      /* columns */
} tlayer;

static const tlayer tls[] = {
    {"conv", "x", "c1", CONV, 1, 2, {3, 2}, {2, 2}, {2, 1}, {1, 0}, 24},
    {"gconv", "x", "c2", CONV, 2, 2, {3, 3}, {1, 2}, {1, 1}, {1, 0}, 18},
    {"deconv", "x", "c3", CONVT, 2, 2, {3, 2}, {2, 1}, {1, 2}, {1, 0}, 12},
    {"gemm", "y", "g1", DENSE, 1, 0, {0}, {0}, {0}, {0}, 7},
    {"mm", "z", "m1", DENSE, 1, 0, {0}, {0}, {0}, {0}, 6},
    {"conv1d", "u", "c4", CONV, 1, 1, {3}, {3}, {1}, {1}, 9},
    {"deconv1d", "u", "c5", CONVT, 1, 1, {3}, {2}, {1}, {1}, 9},
    {"conv3d", "v", "c6", CONV, 1, 3, {2, 3, 2}, {1, 2, 1}, {2, 1, 1}, {0, 1, 1}, 24},
};
#define NL (sizeof(tls) / sizeof(tls[0]))

typedef struct tinput {
    const char *name;
    int ndim;
    int64_t dims[5];
} tinput;

static const tinput tins[] = {
    {"x", 4, {2, 4, 9, 8}},
    {"y", 2, {5, 7}},
    {"z", 3, {2, 3, 6}},
    {"u", 3, {1, 3, 10}},
    {"v", 5, {1, 2, 4, 5, 3}},
};
#define NI (sizeof(tins) / sizeof(tins[0]))

static float *sample_data[SAMPLES][NI];

/* A layer node reading input `in` and weight `w`; its output is a graph
 * output. */
static oc_node *layer_node(const char *op, const char *name, const char *in, const char *w, const char *out)
{
    char ins[64];
    snprintf(ins, sizeof(ins), "%s,%s", in, w);
    output(out, -1, NULL);
    return node(op, name, ins, out);
}

static void build(void)
{
    begin(17, 8);
    for (size_t i = 0; i < NI; i++) input(tins[i].name, tins[i].ndim, tins[i].dims);

    const int64_t w1[4] = {6, 4, 3, 2}, p1[4] = {1, 0, 2, 1}, s1[2] = {2, 2}, d1[2] = {2, 1};
    weight_rand("w_conv", 4, w1, frand);
    oc_node *n = layer_node("Conv", "conv", "x", "w_conv", "c1");
    a_ints(n, "pads", p1, 4);
    a_ints(n, "strides", s1, 2);
    a_ints(n, "dilations", d1, 2);

    const int64_t w2[4] = {6, 2, 3, 3}, s2[2] = {1, 2};
    weight_rand("w_gconv", 4, w2, frand);
    n = layer_node("Conv", "gconv", "x", "w_gconv", "c2");
    a_int(n, "group", 2);
    a_str(n, "auto_pad", "SAME_UPPER");
    a_ints(n, "strides", s2, 2);

    const int64_t w3[4] = {4, 2, 3, 2}, p3[4] = {1, 0, 0, 1}, s3[2] = {2, 1}, d3[2] = {1, 2}, op3[2] = {1, 0};
    weight_rand("w_deconv", 4, w3, frand);
    n = layer_node("ConvTranspose", "deconv", "x", "w_deconv", "c3");
    a_int(n, "group", 2);
    a_ints(n, "pads", p3, 4);
    a_ints(n, "strides", s3, 2);
    a_ints(n, "dilations", d3, 2);
    a_ints(n, "output_padding", op3, 2);

    const int64_t wg[2] = {8, 7};
    weight_rand("w_gemm", 2, wg, frand);
    a_int(layer_node("Gemm", "gemm", "y", "w_gemm", "g1"), "transB", 1);

    const int64_t wm[2] = {6, 4};
    weight_rand("w_mm", 2, wm, frand);
    layer_node("MatMul", "mm", "z", "w_mm", "m1");

    const int64_t w4[3] = {10, 3, 3}, p4[2] = {1, 1}, s4[1] = {3};
    weight_rand("w_conv1d", 3, w4, frand);
    n = layer_node("Conv", "conv1d", "u", "w_conv1d", "c4");
    a_ints(n, "pads", p4, 2);
    a_ints(n, "strides", s4, 1);

    const int64_t w5[3] = {3, 2, 3}, s5[1] = {2}; /* odd total padding: SAME_LOWER pads 1 before */
    weight_rand("w_deconv1d", 3, w5, frand);
    n = layer_node("ConvTranspose", "deconv1d", "u", "w_deconv1d", "c5");
    a_str(n, "auto_pad", "SAME_LOWER");
    a_ints(n, "strides", s5, 1);

    const int64_t w6[5] = {3, 2, 2, 3, 2}, p6[6] = {0, 1, 1, 1, 0, 0}, s6[3] = {1, 2, 1}, d6[3] = {2, 1, 1};
    weight_rand("w_conv3d", 5, w6, frand);
    n = layer_node("Conv", "conv3d", "v", "w_conv3d", "c6");
    a_ints(n, "pads", p6, 6);
    a_ints(n, "strides", s6, 3);
    a_ints(n, "dilations", d6, 3);
}

/* ---- samples on disk ---- */

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb;
    (void)flag;
    (void)f;
    return remove(p);
}

static bool write_samples(void)
{
    snprintf(dir, sizeof(dir), "/tmp/oc-test-gram.XXXXXX");
    if (!mkdtemp(dir)) return false;
    for (int sidx = 0; sidx < SAMPLES; sidx++) {
        char sub[128], path[192];
        snprintf(sub, sizeof(sub), "%s/s%d", dir, sidx);
        if (mkdir(sub, 0700)) return false;
        for (size_t i = 0; i < NI; i++) {
            oc_ten t;
            if (oc_ten_new(&ctx, &t, OC_DTYPE_FLOAT, tins[i].ndim, tins[i].dims) != OC_OK) return false;
            float *d = t.data;
            sample_data[sidx][i] = malloc((size_t)t.numel * sizeof(float));
            for (int64_t e = 0; e < t.numel; e++) d[e] = sample_data[sidx][i][e] = frand() + 0.25f;
            snprintf(path, sizeof(path), "%s/%s.npy", sub, tins[i].name);
            oc_status st = oc_npy_write(&ctx, path, &t);
            oc_ten_release(&t);
            if (st != OC_OK) return false;
        }
    }
    return true;
}

/* ---- brute force ---- */

static size_t input_index(const char *name)
{
    for (size_t i = 0; i < NI; i++)
        if (!strcmp(tins[i].name, name)) return i;
    return 0;
}

/* Adds one patch into the reference Gram of group gi. */
static void add_patch(double *href, int64_t n, int64_t gi, const double *p)
{
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) href[(gi * n + i) * n + j] += p[i] * p[j];
}

/* Reference Gram of layer l over every sample: out[] are the spatial output
 * sizes (from the interpreter's outputs); returns the patch count. */
static int64_t ref_gram(const tlayer *l, const int64_t *out, double *href)
{
    const tinput *ti = &tins[input_index(l->input)];
    const int64_t n = l->n;
    int64_t count = 0;
    double p[MAXN];
    for (int sidx = 0; sidx < SAMPLES; sidx++) {
        const float *x = sample_data[sidx][input_index(l->input)];
        if (l->kind == DENSE) {
            const int64_t rows = numel_of(ti->ndim, ti->dims) / n;
            for (int64_t r = 0; r < rows; r++) {
                for (int64_t j = 0; j < n; j++) p[j] = x[r * n + j];
                add_patch(href, n, 0, p);
            }
            count += rows;
            continue;
        }
        const int nd = l->nd;
        const int64_t batch = ti->dims[0], chans = ti->dims[1], cpg = chans / l->group;
        int64_t in[3] = {1, 1, 1}, o3[3] = {1, 1, 1}, k3[3] = {1, 1, 1}, plane = 1, positions = 1, taps = 1;
        for (int a = 0; a < nd; a++) {
            in[a] = ti->dims[2 + a];
            o3[a] = out[a];
            k3[a] = l->k[a];
            plane *= in[a];
            positions *= out[a];
            taps *= l->k[a];
        }
        /* all patches of one image and group at once: P[position][col] */
        double *pp = calloc((size_t)(positions * n), sizeof(double));
        for (int64_t b = 0; b < batch; b++)
            for (int64_t gi = 0; gi < l->group; gi++) {
                memset(pp, 0, (size_t)(positions * n) * sizeof(double));
                for (int64_t ci = 0; ci < cpg; ci++) {
                    const float *xc = x + (b * chans + gi * cpg + ci) * plane;
                    for (int64_t k0 = 0; k0 < k3[0]; k0++)
                        for (int64_t k1 = 0; k1 < k3[1]; k1++)
                            for (int64_t k2 = 0; k2 < k3[2]; k2++) {
                                const int64_t kk[3] = {k0, k1, k2};
                                const int64_t col = ci * taps + (k0 * k3[1] + k1) * k3[2] + k2;
                                if (l->kind == CONV) {
                                    /* gather: position o reads o * s - pb + k * d */
                                    for (int64_t q = 0; q < positions; q++) {
                                        const int64_t oq[3] = {q / (o3[1] * o3[2]), q / o3[2] % o3[1], q % o3[2]};
                                        int64_t idx = 0;
                                        bool inside = true;
                                        for (int a = 0; a < nd; a++) {
                                            const int64_t i = oq[a] * l->s[a] - l->pb[a] + kk[a] * l->d[a];
                                            inside = inside && i >= 0 && i < in[a];
                                            idx = idx * in[a] + i;
                                        }
                                        if (inside) pp[q * n + col] = xc[idx];
                                    }
                                } else {
                                    /* scatter: input p feeds output p * s + k * d - pb */
                                    for (int64_t pi = 0; pi < plane; pi++) {
                                        const int64_t ip[3] = {pi / (in[1] * in[2]), pi / in[2] % in[1], pi % in[2]};
                                        int64_t q = 0;
                                        bool inside = true;
                                        for (int a = 0; a < nd; a++) {
                                            const int64_t o = ip[a] * l->s[a] + kk[a] * l->d[a] - l->pb[a];
                                            inside = inside && o >= 0 && o < o3[a];
                                            q = q * o3[a] + o;
                                        }
                                        if (inside) pp[q * n + col] = xc[pi];
                                    }
                                }
                            }
                }
                for (int64_t q = 0; q < positions; q++) add_patch(href, n, gi, pp + q * n);
            }
        free(pp);
        count += batch * positions;
    }
    return count;
}

/* ---- the interpreter's outputs ---- */

/* Runs every sample; for each layer adds y_o y_o' over positions into
 * yy[layer][group][o][o'] (units of one group), and records the output's
 * spatial sizes. */
static bool run_outputs(double yy[NL][2][10][10], int64_t outs[NL][3])
{
    oc_session *s = NULL;
    if (oc_session_new(&ctx, m, NULL, &s) != OC_OK) return false;
    bool ok = true;
    for (int sidx = 0; sidx < SAMPLES && ok; sidx++) {
        oc_ten in[NI], out[NL];
        memset(out, 0, sizeof(out));
        for (size_t i = 0; i < NI; i++) {
            oc_ten_new(&ctx, &in[i], OC_DTYPE_FLOAT, tins[i].ndim, tins[i].dims);
            memcpy(in[i].data, sample_data[sidx][i], in[i].nbytes);
        }
        ok = oc_session_run(&ctx, s, in, out) == OC_OK;
        for (size_t li = 0; ok && li < NL; li++) {
            const tlayer *l = &tls[li];
            const oc_ten *y = &out[li];
            const float *yd = y->data;
            if (l->kind == DENSE) {
                const int64_t units = y->dims[y->ndim - 1], rows = y->numel / units;
                for (int64_t r = 0; r < rows; r++)
                    for (int64_t o = 0; o < units; o++)
                        for (int64_t o2 = 0; o2 < units; o2++)
                            yy[li][0][o][o2] += (double)yd[r * units + o] * yd[r * units + o2];
                continue;
            }
            int64_t positions = 1;
            for (int a = 0; a < l->nd; a++) {
                outs[li][a] = y->dims[2 + a];
                positions *= y->dims[2 + a];
            }
            const int64_t cout = y->dims[1], upg = cout / l->group;
            for (int64_t b = 0; b < y->dims[0]; b++)
                for (int64_t gi = 0; gi < l->group; gi++)
                    for (int64_t o = 0; o < upg; o++)
                        for (int64_t o2 = 0; o2 < upg; o2++) {
                            const float *ya = yd + (b * cout + gi * upg + o) * positions;
                            const float *yb = yd + (b * cout + gi * upg + o2) * positions;
                            double acc = 0;
                            for (int64_t q = 0; q < positions; q++) acc += (double)ya[q] * yb[q];
                            yy[li][gi][o][o2] += acc;
                        }
        }
        for (size_t i = 0; i < NI; i++) oc_ten_release(&in[i]);
        for (size_t i = 0; i < NL; i++) oc_ten_release(&out[i]);
    }
    oc_session_free(s);
    return ok;
}

/* ---- the pass context ---- */

static const oc_pass_opt test_opts[] = {
    {"samples", OC_OPT_INT, "100", 1, 1e9, NULL, "samples"},
};
static const oc_pass test_pass = {"prune", "gram-test", "test", test_opts, 1, true, NULL, NULL};
static oc_pass_vals vals = {.v = {100}};
static oc_pipeline_opts popts;
static oc_pipeline_report rep;

static oc_pass_run pass_run(void)
{
    popts = oc_pipeline_opts_default();
    popts.data_src = dir;
    popts.threads = 1;
    memset(&rep, 0, sizeof(rep));
    return (oc_pass_run){.ctx = &ctx, .m = m, .pass = &test_pass, .vals = &vals, .popts = &popts, .rep = &rep};
}

static const tlayer *tlayer_of(const oc_prune_layer *l)
{
    for (size_t i = 0; i < NL; i++)
        if (!strcmp(tls[i].node, l->node->name)) return &tls[i];
    return NULL;
}

static double rel_diff(const double *a, const double *b, int64_t k)
{
    double worst = 0, scale = 1e-30;
    for (int64_t i = 0; i < k; i++) {
        worst = fmax(worst, fabs(a[i] - b[i]));
        scale = fmax(scale, fabs(b[i]));
    }
    return worst / scale;
}

/* ---- the tests ---- */

static oc_prune_layer *layers;
static size_t n_layers;
static oc_gram full_grams[NL];

static void full_matches_brute_force(void)
{
    oc_pass_run r = pass_run();
    CHECK_EQ_INT(oc_prune_layers(&r, false, 0, &layers, &n_layers), OC_OK);
    CHECK_EQ_INT(n_layers, NL);
    if (n_layers != NL) return;
    static double yy[NL][2][10][10];
    int64_t outs[NL][3] = {{0}};
    CHECK(run_outputs(yy, outs));
    oc_status st = oc_prune_gram_collect(&r, layers, n_layers, true, full_grams);
    CHECK_EQ_INT(st, OC_OK);
    if (st != OC_OK) {
        printf("  %s\n", ctx.msg);
        return;
    }
    for (size_t i = 0; i < n_layers; i++) {
        const oc_prune_layer *l = &layers[i];
        const tlayer *t = tlayer_of(l);
        const oc_gram *gr = &full_grams[i];
        const size_t li = (size_t)(t - tls);
        CHECK(t != NULL && gr->h && gr->diag);
        if (!t || !gr->h || !gr->diag) continue;
        CHECK_EQ_INT(gr->n, t->n);
        CHECK_EQ_INT(gr->groups, t->group);
        const int64_t n = t->n, hsize = t->group * n * n;
        double *href = calloc((size_t)hsize, sizeof(double));
        const int64_t count = ref_gram(t, outs[li], href);
        CHECK_EQ_INT(gr->count, count);
        const double rd = rel_diff(gr->h, href, hsize);
        if (rd >= 1e-12) printf("  %s: Gram differs by %g\n", t->node, rd);
        CHECK(rd < 1e-12);
        for (int64_t gi = 0; gi < t->group; gi++)
            for (int64_t j = 0; j < n; j++) CHECK(gr->diag[gi * n + j] == gr->h[(gi * n + j) * n + j]);
        /* y_o . y_o' = W_o H W_o'^T for every pair of units of a group */
        const float *w = l->w->data;
        const int64_t upg = l->rows / t->group;
        double worst = 0, scale = 1e-30;
        for (int64_t gi = 0; gi < t->group; gi++)
            for (int64_t o = 0; o < upg; o++)
                for (int64_t o2 = 0; o2 < upg; o2++) {
                    const double *hg = gr->h + gi * n * n;
                    double acc = 0;
                    for (int64_t a = 0; a < n; a++)
                        for (int64_t b = 0; b < n; b++)
                            acc += (double)w[oc_prune_index(l, gi * upg + o, a)] * hg[a * n + b] *
                                   w[oc_prune_index(l, gi * upg + o2, b)];
                    worst = fmax(worst, fabs(acc - yy[li][gi][o][o2]));
                    scale = fmax(scale, fabs(yy[li][gi][o][o2]));
                }
        if (worst >= 1e-5 * scale) printf("  %s: outputs differ by %g of %g\n", t->node, worst, scale);
        CHECK(worst < 1e-5 * scale);
        free(href);
    }
}

static void diag_only_matches(void)
{
    if (n_layers != NL) return;
    oc_pass_run r = pass_run();
    oc_gram dg[NL];
    memset(dg, 0, sizeof(dg));
    CHECK_EQ_INT(oc_prune_gram_collect(&r, layers, n_layers, false, dg), OC_OK);
    for (size_t i = 0; i < n_layers; i++) {
        CHECK(dg[i].h == NULL && dg[i].diag != NULL);
        CHECK_EQ_INT(dg[i].count, full_grams[i].count);
        if (dg[i].diag && full_grams[i].diag)
            CHECK(rel_diff(dg[i].diag, full_grams[i].diag, dg[i].groups * dg[i].n) < 1e-13);
        oc_gram_free(&dg[i]);
        CHECK(dg[i].diag == NULL && dg[i].n == 0);
    }
}

/* A budget of 4000 bytes: the small Grams in two batches (two more runs),
 * the three over it (conv, gconv, conv3d) with only their diagonals. */
static void small_budget_batches(void)
{
    if (n_layers != NL) return;
    oc_pass_run r = pass_run();
    oc_gram bg[NL];
    memset(bg, 0, sizeof(bg));
    const int64_t prev = oc_prune_gram_budget(4000);
    oc_status st = oc_prune_gram_collect(&r, layers, n_layers, true, bg);
    oc_prune_gram_budget(prev);
    CHECK_EQ_INT(st, OC_OK);
    for (size_t i = 0; i < n_layers; i++) {
        const oc_gram *f = &full_grams[i];
        CHECK_EQ_INT(bg[i].count, f->count);
        if (f->groups * f->n * f->n * (int64_t)sizeof(double) > 4000) {
            CHECK(bg[i].h == NULL);
        } else {
            CHECK(bg[i].h != NULL);
            if (bg[i].h && f->h) CHECK(rel_diff(bg[i].h, f->h, f->groups * f->n * f->n) < 1e-13);
        }
        if (bg[i].diag && f->diag) CHECK(rel_diff(bg[i].diag, f->diag, f->groups * f->n) < 1e-13);
        else CHECK(0);
        oc_gram_free(&bg[i]);
    }
}

/* A layer in a subgraph gets count 0; an input that does not fit the
 * weight fails naming the node and leaves nothing allocated. */
static void outside_and_misfit(void)
{
    if (n_layers != NL) return;
    oc_pass_run r = pass_run();
    oc_prune_layer two[2] = {layers[0], layers[3]};
    two[0].g = oc_graph_new(m, g);
    oc_gram og[2];
    memset(og, 0, sizeof(og));
    CHECK_EQ_INT(oc_prune_gram_collect(&r, two, 2, true, og), OC_OK);
    CHECK(og[0].count == 0 && og[0].h == NULL && og[0].diag == NULL && og[0].n == 24);
    CHECK(og[1].count > 0 && og[1].h != NULL);
    oc_gram_free(&og[0]);
    oc_gram_free(&og[1]);
    CHECK(!strcmp(tlayer_of(&layers[3])->node, "gemm"));
    two[1].cols = 5;
    memset(og, 0, sizeof(og));
    oc_ctx_init(&ctx);
    CHECK_EQ_INT(oc_prune_gram_collect(&r, two, 2, true, og), OC_ERR_INVALID);
    CHECK(strstr(ctx.msg, "'gemm'") != NULL);
    CHECK(og[1].h == NULL && og[1].diag == NULL);
    oc_ctx_init(&ctx);
}

static void allocation_failures(void)
{
    if (n_layers != NL) return;
    bool finished = false;
    uint64_t nth;
    for (nth = 1; nth < 20000 && !finished; nth++) {
        oc_ctx_init(&ctx);
        oc_pass_run r = pass_run();
        oc_gram ag[NL];
        memset(ag, 0, sizeof(ag));
        oc_alloc_fail_at(nth);
        oc_status st = oc_prune_gram_collect(&r, layers, n_layers, nth % 2 == 0, ag);
        oc_alloc_fail_at(0);
        if (st != OC_OK && st != OC_ERR_NOMEM) {
            printf("  allocation %llu: %s: %s\n", (unsigned long long)nth, oc_status_name(st), ctx.msg);
            CHECK(0);
            break;
        }
        for (size_t i = 0; i < n_layers; i++) {
            if (st != OC_OK) CHECK(ag[i].h == NULL && ag[i].diag == NULL);
            oc_gram_free(&ag[i]);
        }
        finished = st == OC_OK;
    }
    CHECK(finished);
    CHECK(nth > 50); /* the session, the dataset and the Grams all allocate */
    oc_ctx_init(&ctx);
}

int main(void)
{
    build();
    if (!write_samples()) {
        printf("cannot write samples: %s\n", ctx.msg);
        return 1;
    }
    RUN(full_matches_brute_force);
    RUN(diag_only_matches);
    RUN(small_budget_batches);
    RUN(outside_and_misfit);
    RUN(allocation_failures);
    for (size_t i = 0; i < NL; i++) oc_gram_free(&full_grams[i]);
    free(layers);
    for (int s = 0; s < SAMPLES; s++)
        for (size_t i = 0; i < NI; i++) free(sample_data[s][i]);
    oc_model_free(m);
    nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    UNIT_END("prune_gram");
}
