/* oc_nmcheck.c: does a model's weights follow an N:M sparsity pattern?
 *
 *   oc-nmcheck MODEL N M [MIN_ELEMS]
 *
 * Looks at the weight (input 1) of every Conv, ConvTranspose, Gemm and
 * MatMul, in subgraphs too: a float initializer or Constant, or an integer
 * one feeding a DequantizeLinear (a weight is zero when it equals its zero
 * point). Along the input-channel axis (Conv W[Cout, Cin/g, k...]: axis 1;
 * ConvTranspose W[Cin, Cout/g, k...]: axis 0, within each group; Gemm
 * B[N, K] or [K, N]: the K axis; MatMul B[..., K, N]: axis -2) every run of
 * M consecutive channels, at every position of the other axes, must hold
 * at most N nonzeros. Layers whose channel count (per group) is not a
 * multiple of M cannot follow the pattern and are reported as skipped, as
 * are weights under MIN_ELEMS elements (default 256, the nm pass's
 * default).
 *
 * This is written apart from the nm pass (lib/passes/prune_sparse.c), with
 * its own reading of the layouts, so that it checks the pass rather than
 * repeating it. Exit status: 0 when every checked layer holds, 1 when one
 * does not, 2 on a usage or load error. */
#include "onnxcomp.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct checker {
    int64_t n, m, min_elems;
    int checked, failed, skipped;
} checker;

static int64_t attr_int(const oc_node *nd, const char *name, int64_t def)
{
    for (size_t i = 0; i < nd->n_attrs; i++)
        if (!strcmp(nd->attrs[i].name, name) && nd->attrs[i].type == OC_ATTR_INT) return nd->attrs[i].i;
    return def;
}

/* The zero of element e of a quantized weight q (shape dims, ndim) given
 * its zero point zp (NULL: 0), DequantizeLinear's axis and block size. */
static double zero_point(const oc_tensor *q, const oc_tensor *zp, int axis, int64_t block, int64_t e)
{
    if (!zp || zp->numel == 0 || !zp->data) return 0;
    if (zp->numel == 1) return oc_tensor_get(zp, 0);
    /* multi-index of e, then the zero point's index */
    int64_t idx[OC_MAX_DIMS], rest = e;
    for (int d = q->ndim - 1; d >= 0; d--) {
        idx[d] = rest % q->dims[d];
        rest /= q->dims[d];
    }
    if (!block) return idx[axis] < zp->numel ? oc_tensor_get(zp, idx[axis]) : NAN; /* per axis */
    if (zp->ndim != q->ndim) return NAN;
    int64_t at = 0;
    for (int d = 0; d < q->ndim; d++) at = at * zp->dims[d] + (d == axis ? idx[d] / block : idx[d]);
    return at < zp->numel ? oc_tensor_get(zp, at) : NAN; /* NaN: a layout we cannot read counts as nonzero */
}

/* Where the weight's values come from: zero-ness per element. */
typedef struct wsrc {
    const oc_tensor *t;  /* the values (float, or integers) */
    const oc_tensor *zp; /* integers: zero point, or NULL */
    int axis;
    int64_t block;
    bool quantized;
} wsrc;

static bool is_zero(const wsrc *w, int64_t e)
{
    double v = oc_tensor_get(w->t, e);
    if (!w->quantized) return v == 0.0;
    return v == zero_point(w->t, w->zp, w->axis, w->block, e);
}

static bool find_weight(oc_graph *g, const char *name, wsrc *out)
{
    memset(out, 0, sizeof(*out));
    oc_tensor *t = oc_graph_weight(g, name);
    if (t) {
        if (t->dtype != OC_DTYPE_FLOAT || !t->data) return false;
        out->t = t;
        return true;
    }
    size_t slot;
    oc_node *dq = oc_graph_producer(g, name, &slot);
    if (!dq || strcmp(dq->op_type, "DequantizeLinear") || dq->n_inputs < 1) return false;
    t = oc_graph_weight(g, dq->inputs[0]);
    if (!t || !t->data || t->dtype == OC_DTYPE_FLOAT) return false;
    out->t = t;
    out->quantized = true;
    out->zp = dq->n_inputs > 2 && *dq->inputs[2] ? oc_graph_weight(g, dq->inputs[2]) : NULL;
    int64_t axis = attr_int(dq, "axis", 1);
    if (axis < 0) axis += t->ndim;
    out->axis = axis >= 0 && axis < t->ndim ? (int)axis : 0;
    out->block = attr_int(dq, "block_size", 0);
    return true;
}

static void check_node(checker *c, oc_graph *g, oc_node *nd)
{
    if (!g) return; /* function bodies: their weights come from the caller */
    const char *op = nd->op_type;
    bool conv = !strcmp(op, "Conv"), convt = !strcmp(op, "ConvTranspose");
    bool gemm = !strcmp(op, "Gemm"), matmul = !strcmp(op, "MatMul");
    if (!(conv || convt || gemm || matmul) || nd->n_inputs < 2 || !*nd->inputs[1]) return;
    wsrc w;
    if (!find_weight(g, nd->inputs[1], &w)) return;
    if (matmul && (oc_graph_weight(g, nd->inputs[0]) || w.t->ndim < 2)) return;
    const char *name = nd->name && *nd->name ? nd->name : nd->inputs[1];
    const oc_tensor *t = w.t;
    if (t->numel < c->min_elems) {
        printf("small   %-40s %s, %lld elements\n", name, op, (long long)t->numel);
        return;
    }
    /* the input-channel axis and the channels per group along it */
    int axis;
    int64_t per_group;
    if (conv || convt) {
        if (t->ndim < 3) return;
        axis = conv ? 1 : 0;
        int64_t grp = attr_int(nd, "group", 1);
        per_group = conv ? t->dims[1] : (grp > 0 && t->dims[0] % grp == 0 ? t->dims[0] / grp : 0);
    } else if (gemm) {
        if (t->ndim != 2) return;
        axis = attr_int(nd, "transB", 0) ? 1 : 0;
        per_group = t->dims[axis];
    } else {
        axis = t->ndim - 2;
        per_group = t->dims[axis];
    }
    if (per_group <= 0 || per_group % c->m) {
        printf("skipped %-40s %s, %lld input channels per group: not a multiple of %lld\n", name, op,
               (long long)per_group, (long long)c->m);
        c->skipped++;
        return;
    }
    int64_t outer = 1, inner = 1, len = t->dims[axis];
    for (int d = 0; d < axis; d++) outer *= t->dims[d];
    for (int d = axis + 1; d < t->ndim; d++) inner *= t->dims[d];
    int64_t runs = 0, bad = 0, nonzero = 0;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++)
            for (int64_t b = 0; b < len; b += c->m) {
                int64_t nz = 0;
                for (int64_t k = 0; k < c->m; k++) nz += !is_zero(&w, (o * len + b + k) * inner + i);
                nonzero += nz;
                runs++;
                bad += nz > c->n;
            }
    c->checked++;
    if (bad) c->failed++;
    printf("%-7s %-40s %s%s, %lld runs of %lld, %lld over %lld nonzeros, density %.3f\n", bad ? "FAIL" : "ok", name,
           op, w.quantized ? " (quantized)" : "", (long long)runs, (long long)c->m, (long long)bad, (long long)c->n,
           t->numel ? (double)nonzero / (double)t->numel : 0.0);
}

static void visit(void *ud, oc_graph *g, oc_node *nd)
{
    check_node(ud, g, nd);
}

static bool parse(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

int main(int argc, char **argv)
{
    checker c = {.min_elems = 256};
    if ((argc != 4 && argc != 5) || !parse(argv[2], 1, 1024, &c.n) || !parse(argv[3], 1, 1024, &c.m) ||
        c.n > c.m || (argc == 5 && !parse(argv[4], 0, INT64_MAX, &c.min_elems))) {
        fprintf(stderr, "usage: oc-nmcheck MODEL N M [MIN_ELEMS]   (N <= M; MIN_ELEMS default 256)\n");
        return 2;
    }
    oc_ctx ctx;
    oc_ctx_init(&ctx);
    oc_model *m = NULL;
    if (oc_model_load_file(&ctx, argv[1], NULL, &m) != OC_OK) {
        fprintf(stderr, "oc-nmcheck: %s\n", ctx.msg);
        return 2;
    }
    oc_model_foreach_node(m, visit, &c);
    oc_model_free(m);
    printf("%d:%d: %d layers checked, %d hold, %d fail, %d skipped\n", (int)c.n, (int)c.m, c.checked,
           c.checked - c.failed, c.failed, c.skipped);
    return c.failed ? 1 : 0;
}
