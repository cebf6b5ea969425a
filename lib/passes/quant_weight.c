/* quant_weight.c: weight-only quantization.
 *
 * The weights of Conv, ConvTranspose, Gemm and MatMul (and, optionally,
 * Gather embedding tables), whether initializers or Constant nodes, in
 * subgraphs too, are replaced by integer initializers (int8/uint8, or int4/
 * uint4 packed two per byte) with their scale and zero point, feeding one
 * DequantizeLinear whose output takes the weight's name: every reader sees
 * the same float value as before, and no float copy stays in the file.
 *
 * Per-channel scales need DequantizeLinear's `axis` (opset 13); 4-bit types
 * and blocks need opset 21. A model below that is raised to it when every op
 * it uses means the same at the new opset (or has an adapter), else refused
 * with the ops that stop it.
 *
 * method=gptq (needs --data) first runs the float model over the samples
 * for the Gram matrix H of each main-graph layer's input (prune_gram.c) and
 * then rounds that layer's weights one input column at a time, spreading
 * each rounding error over the columns not yet rounded through H's inverse
 * (GPTQ, Frantar et al. 2022: lsq.c's OBS sweep with a rounding target), so
 * that the layer's outputs on those samples move as little as possible.
 * Scales and zero points are the ones minmax gives the original weights;
 * only the rounding changes, and exact zeros (pruned weights) stay zero. */
#include "opset.h"
#include "prune.h"
#include "prune_gram.h"
#include "qdq.h"
#include "quant/lsq.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct wctx {
    oc_pass_run *r;
    oc_qweight_opts qo;
    int bits;
    bool per_channel;
    int64_t block;
    int64_t min_elems;
    bool gather;
    bool keep_sensitive;
    int sym_mode;
    size_t n_listed; /* quantized weights that were also graph inputs */
    bool dry;        /* only look: is there any weight to quantize? */
    size_t found;    /* with dry: weights that would be quantized */
    oc_strmap done; /* weight names already quantized */
    /* method=gptq: weights rounded ahead, by name (the entry's index + 1) */
    struct gptq_weight *gq;
    size_t n_gq;
    oc_strmap gq_names;
    oc_status st;
} wctx;

/* A weight GPTQ rounded: its values, each on the grid of `fixed`'s scales */
typedef struct gptq_weight {
    const char *name;
    float *data;
    oc_qweight fixed;
} gptq_weight;

/* Which input of n is a weight, and the output-channel axis of that weight
 * (per channel) and the reduction axis (blocks). -1 when n has none. */
static int weight_slot(const oc_node *n, int ndim, bool gather, int *ch_axis, int *red_axis)
{
    const char *op = n->op_type;
    if (!strcmp(op, "Conv")) {
        *ch_axis = 0;
        *red_axis = 1;
        return 1;
    }
    if (!strcmp(op, "ConvTranspose")) {
        *ch_axis = 1;
        *red_axis = 0;
        return 1;
    }
    if (!strcmp(op, "Gemm")) {
        int64_t tb = 0;
        for (size_t i = 0; i < n->n_attrs; i++)
            if (!strcmp(n->attrs[i].name, "transB")) tb = n->attrs[i].i;
        *ch_axis = tb ? 0 : 1;
        *red_axis = tb ? 1 : 0;
        return 1;
    }
    if (!strcmp(op, "MatMul")) {
        if (ndim < 2) return -1;
        *ch_axis = ndim - 1;
        *red_axis = ndim - 2;
        return 1;
    }
    if (gather && !strcmp(op, "Gather")) {
        int64_t axis = 0;
        for (size_t i = 0; i < n->n_attrs; i++)
            if (!strcmp(n->attrs[i].name, "axis")) axis = n->attrs[i].i;
        if (axis != 0 || ndim != 2) return -1;
        *ch_axis = 0;
        *red_axis = 1;
        return 0;
    }
    return -1;
}

/* How the weight of layer nd (output-channel axis ch, reduction axis red)
 * is quantized. */
static oc_qweight_opts layer_opts(const wctx *w, const oc_node *nd, int ch, int red)
{
    oc_qweight_opts qo = w->qo;
    qo.axis = w->block ? red : (w->per_channel ? ch : -1);
    if (w->sym_mode == 0)
        qo.symmetric = strcmp(nd->op_type, "Conv") != 0 && strcmp(nd->op_type, "ConvTranspose") != 0;
    return qo;
}

static void visit_graph(wctx *w, oc_graph *g);

static void visit_sub(void *ud, oc_graph *sub)
{
    visit_graph(ud, sub);
}

static void visit_graph(wctx *w, oc_graph *g)
{
    /* nodes are added at the front while we go: walk a snapshot */
    size_t n = g->n_nodes;
    oc_node **snap = oc_malloc((n ? n : 1) * sizeof(oc_node *));
    if (!snap) {
        w->st = oc_fail(w->r->ctx, OC_ERR_NOMEM, "out of memory");
        return;
    }
    if (n) memcpy(snap, g->nodes, n * sizeof(oc_node *));
    /* which layers feed magnitude/log computations, asked of the graph as it
     * is (the edits below only add weights' DequantizeLinear nodes, which
     * change no layer output's readers), from the readers map rather than
     * one scan per layer */
    bool *sens = oc_calloc(n + 1, sizeof(bool));
    if (!sens) {
        oc_free(snap);
        w->st = oc_fail(w->r->ctx, OC_ERR_NOMEM, "out of memory");
        return;
    }
    if (w->keep_sensitive) {
        oc_graph_cache_readers(g, true);
        for (size_t i = 0; i < n; i++) {
            int ch, red;
            const bool layer = weight_slot(snap[i], 0, w->gather, &ch, &red) >= 0 || !strcmp(snap[i]->op_type, "MatMul");
            sens[i] = layer && snap[i]->n_outputs && oc_qdq_feeds_sensitive(g, snap[i]->outputs[0], 0);
        }
        oc_graph_cache_readers(g, false);
    }
    for (size_t i = 0; i < n && w->st == OC_OK && !(w->dry && w->found); i++) {
        oc_node *nd = snap[i];
        oc_node_foreach_subgraph(nd, visit_sub, w);
        if (w->st != OC_OK || !oc_pass_node_selected(w->r, nd)) continue;
        int ch = -1, red = -1;
        int slot = weight_slot(nd, 0, w->gather, &ch, &red);
        if (slot < 0 && strcmp(nd->op_type, "MatMul") != 0) continue;
        if (strcmp(nd->op_type, "MatMul") == 0) slot = 1;
        if ((size_t)slot >= nd->n_inputs || !*nd->inputs[slot]) continue;
        const char *name = nd->inputs[slot];
        if (oc_strmap_get(&w->done, name)) continue;
        oc_tensor *t = oc_graph_weight(g, name);
        if (!t || t->dtype != OC_DTYPE_FLOAT || !t->data || t->numel < w->min_elems) {
            if (t && t->dtype == OC_DTYPE_FLOAT && !w->dry) w->r->rep->weights_skipped++;
            continue;
        }
        if (weight_slot(nd, t->ndim, w->gather, &ch, &red) < 0) continue;
        if (sens[i] && w->dry) continue;
        if (sens[i]) {
            oc_pass_notice(w->r, "weight: kept '%s' (%s) in float: it feeds a magnitude/log computation",
                           nd->name ? nd->name : name, nd->op_type);
            w->r->rep->weights_skipped++;
            continue;
        }
        oc_graph *home = oc_qdq_init_home(g, name);
        oc_node *c = NULL;
        if (!home) { /* a Constant node: find it and its graph */
            size_t s;
            c = oc_graph_producer(g, name, &s);
            for (home = g; home && c; home = home->parent)
                if (oc_graph_node_index(home, c) < home->n_nodes) break;
            if (!home || !c) continue;
        }
        if (w->dry) {
            w->found++;
            continue;
        }
        if (!c && oc_graph_is_input(home, name)) {
            /* also listed as a graph input (old exporters list every
             * initializer): quantized, it is a constant and leaves the
             * inputs, as the static pass and ORT's quantizer treat it */
            w->n_listed++;
        }
        if (!oc_strmap_put(&w->done, name, NULL)) {
            w->st = oc_fail(w->r->ctx, OC_ERR_NOMEM, "out of memory");
            break;
        }
        oc_qweight_opts qo = layer_opts(w, nd, ch, red);
        oc_tensor rounded;
        const oc_strmap_entry *e = w->n_gq ? oc_strmap_get(&w->gq_names, name) : NULL;
        if (e) { /* GPTQ's values, on the grid of its scales */
            const gptq_weight *gw = &w->gq[e->aux - 1];
            rounded = *t;
            rounded.data = gw->data;
            qo.fixed = &gw->fixed;
            t = &rounded;
        }
        w->st = oc_qdq_weight(w->r, home, c, name, t, &qo, w->per_channel || w->block, NULL);
    }
    oc_free(sens);
    oc_free(snap);
}

/* ---- method=gptq ---- */

/* Rounding to one layer's grid: matrix entry m (rows x cols, row-major) is
 * element at[m] of the weight, in scale group oc_qweight_group(...), whose
 * integers span [lo[g], hi[g]] around its zero point. */
typedef struct gptq_grid {
    const float *orig;
    const int64_t *at;
    const oc_tensor *t;
    const oc_qweight_opts *qo;
    const float *scale, *lo, *hi;
    int64_t cols, row0;
} gptq_grid;

/* the dequantized value v rounds to, as oc_quantize_weight rounds it */
static float gptq_round(void *ud, int64_t row, int64_t col, float v)
{
    const gptq_grid *q = ud;
    const int64_t k = q->at[(q->row0 + row) * q->cols + col];
    if (q->orig[k] == 0.0f) return 0.0f; /* pruned stays pruned */
    const int64_t g = oc_qweight_group(q->t->ndim, q->t->dims, q->qo, k);
    float x = v / q->scale[g];
    x = x < q->lo[g] ? q->lo[g] : x;
    x = x > q->hi[g] ? q->hi[g] : x;
    return nearbyintf(x) * q->scale[g];
}

/* GPTQ on one layer: on success, with its Gram usable, a new entry of w->gq. */
static oc_status gptq_layer(wctx *w, oc_prune_layer *l, const oc_gram *gram)
{
    oc_ctx *ctx = w->r->ctx;
    const oc_tensor *t = l->w;
    int ch = -1, red = -1;
    if (weight_slot(l->node, t->ndim, false, &ch, &red) < 0 && strcmp(l->node->op_type, "MatMul") != 0) return OC_OK;
    const int64_t n = t->numel, rows = l->rows, cols = l->cols, rpg = rows / gram->groups;
    if (rows * cols != n || rpg * gram->groups != rows || gram->n != cols) return OC_OK;
    const oc_qweight_opts qo = layer_opts(w, l->node, ch, red);
    int32_t qmin, qmax;
    oc_q_range(qo.dtype, qo.symmetric, &qmin, &qmax);

    gptq_weight gw = {.name = l->w_name, .data = oc_malloc((size_t)n * sizeof(float))};
    float *buf = oc_malloc((size_t)n * sizeof(float)), *range = NULL;
    int64_t *at = oc_malloc((size_t)n * sizeof(int64_t));
    oc_status st = OC_OK;
    if (!gw.data || !buf || !at) {
        st = oc_fail(ctx, OC_ERR_NOMEM, "out of memory rounding layer '%s'", l->w_name);
        goto cleanup;
    }
    memcpy(gw.data, t->data, (size_t)n * sizeof(float));
    st = oc_quantize_weight(ctx, gw.data, t->ndim, t->dims, &qo, &gw.fixed); /* minmax scales */
    if (st != OC_OK) goto cleanup;
    const int64_t ng = gw.fixed.scale_numel;
    range = oc_malloc((size_t)(2 * ng) * sizeof(float));
    if (!range) {
        st = oc_fail(ctx, OC_ERR_NOMEM, "out of memory rounding layer '%s'", l->w_name);
        goto cleanup;
    }
    for (int64_t g = 0; g < ng; g++) {
        const int32_t zp = oc_qweight_zero_point(&gw.fixed, qo.dtype, g);
        range[g] = (float)(qmin - zp);
        range[ng + g] = (float)(qmax - zp);
    }
    gptq_grid q = {.orig = gw.data, .at = at, .t = t, .qo = &qo, .scale = gw.fixed.scale, .lo = range,
                   .hi = range + ng, .cols = cols};
    for (int64_t r = 0, m = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++, m++) {
            at[m] = oc_prune_index(l, r, c);
            buf[m] = gw.data[at[m]];
        }
    for (int64_t gi = 0; gi < gram->groups && st == OC_OK; gi++) {
        q.row0 = gi * rpg;
        st = oc_lsq_obs_sweep(ctx, buf + gi * rpg * cols, rpg, cols, gram->h + gi * cols * cols, OC_LSQ_DAMP_DEFAULT,
                              gptq_round, &q);
    }
    if (st == OC_OK)
        for (int64_t m = 0; m < n && st == OC_OK; m++)
            if (!isfinite(buf[m])) st = oc_fail(ctx, OC_ERR_UNSUPPORTED, "a rounded weight is not finite");
    if (st != OC_OK) {
        if (st == OC_ERR_NOMEM) goto cleanup;
        /* an input that overflowed, or a Gram beyond damping: round to nearest */
        oc_pass_notice(w->r, "weight: layer '%s' (%s) rounded to nearest, not by GPTQ: %s",
                       l->node->name ? l->node->name : l->w_name, l->node->op_type, ctx->msg);
        oc_ctx_init(ctx); /* handled: the next failure gets its own message */
        st = OC_OK;
        goto cleanup;
    }
    for (int64_t m = 0; m < n; m++) gw.data[at[m]] = buf[m];
    w->gq[w->n_gq] = gw;
    bool added;
    oc_strmap_entry *e = oc_strmap_put(&w->gq_names, gw.name, &added);
    if (!e) {
        st = oc_fail(ctx, OC_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    e->aux = (uint32_t)++w->n_gq;
    memset(&gw, 0, sizeof(gw)); /* owned by w->gq now */
cleanup:
    oc_free(gw.data);
    oc_qweight_free(&gw.fixed);
    oc_free(buf);
    oc_free(range);
    oc_free(at);
    return st;
}

static void gptq_free(wctx *w)
{
    for (size_t i = 0; i < w->n_gq; i++) {
        oc_free(w->gq[i].data);
        oc_qweight_free(&w->gq[i].fixed);
    }
    oc_free(w->gq);
    w->gq = NULL;
    w->n_gq = 0;
    oc_strmap_free(&w->gq_names);
}

/* The Grams of the main graph's layers over the samples, then GPTQ on each
 * layer they reached. Grams beyond the budget cost one run over the samples
 * per batch of layers; then a first, cheap run counts each layer's input
 * patches (diagonals only), and layers too thin for GPTQ are not gathered. */
static oc_status gptq_prepare(wctx *w)
{
    oc_pass_run *r = w->r;
    oc_prune_layer *layers = NULL;
    size_t n = 0;
    FORWARD_IF_ERROR(oc_prune_layers(r, false, w->min_elems, &layers, &n));
    oc_gram *grams = oc_calloc(n ? n : 1, sizeof(oc_gram));
    oc_prune_layer *sl = oc_calloc(n ? n : 1, sizeof(oc_prune_layer)); /* the layers to gather */
    w->gq = oc_calloc(n ? n : 1, sizeof(gptq_weight));
    oc_strmap_init(&w->gq_names);
    oc_status st = grams && sl && w->gq ? OC_OK : oc_fail(r->ctx, OC_ERR_NOMEM, "out of memory");
    size_t none = 0, thin = 0, ns = 0;
    double bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += (double)layers[i].cols * (double)layers[i].cols * (double)layers[i].group * sizeof(double);
    const bool count_first = bytes > (double)oc_prune_gram_budget(0);
    if (st == OC_OK && n && count_first) st = oc_prune_gram_collect(r, layers, n, false, grams);
    for (size_t i = 0; i < n && st == OC_OK; i++) {
        if (layers[i].shared) continue;
        if (count_first) {
            const int64_t count = grams[i].count, cols = layers[i].cols;
            oc_gram_free(&grams[i]);
            if (!count) {
                none++;
                continue;
            }
            /* fewer input patches than inputs: see below */
            if (count < cols) {
                thin++;
                continue;
            }
        }
        sl[ns++] = layers[i];
    }
    if (st == OC_OK && ns) st = oc_prune_gram_collect(r, sl, ns, true, grams);
    for (size_t k = 0; k < ns && st == OC_OK; k++) {
        if (!grams[k].count || !grams[k].h) {
            none++;
            continue;
        }
        /* fewer input patches than inputs: H is singular, and GPTQ would put
         * the error where the samples never looked */
        if (grams[k].count < grams[k].n) {
            thin++;
            continue;
        }
        st = gptq_layer(w, &sl[k], &grams[k]);
    }
    if (st == OC_OK)
        oc_pass_notice(r, "weight: GPTQ rounded %zu of %zu main-graph layers on the samples' inputs%s%s", w->n_gq, n,
                       none ? "; rounded to nearest: layers the samples never reached, or too large" : "",
                       thin ? "; rounded to nearest: layers with fewer input patches than inputs (give more samples)" : "");
    for (size_t i = 0; grams && i < n; i++) oc_gram_free(&grams[i]);
    oc_free(grams);
    oc_free(sl);
    oc_free(layers);
    return st;
}

oc_status oc_pass_quant_weight(oc_pass_run *r)
{
    wctx w;
    memset(&w, 0, sizeof(w));
    w.r = r;
    w.bits = (int)oc_pass_val(r, "bits");
    if (w.bits != 4 && w.bits != 8)
        return oc_fail(r->ctx, OC_ERR_USAGE, "weight: option 'bits' wants 4 or 8, got %d", w.bits);
    bool sgn = oc_pass_val(r, "signed") != 0;
    w.qo.dtype = w.bits == 8 ? (sgn ? OC_DTYPE_INT8 : OC_DTYPE_UINT8) : (sgn ? OC_DTYPE_INT4 : OC_DTYPE_UINT4);
    w.sym_mode = (int)oc_pass_val(r, "symmetric"); /* 0 auto, 1 yes, 2 no */
    w.qo.symmetric = w.sym_mode != 2;
    w.qo.mse = oc_pass_val(r, "method") == 1;
    const bool gptq = oc_pass_val(r, "method") == 2;
    w.per_channel = oc_pass_val(r, "per_channel") != 0;
    w.block = (int64_t)oc_pass_val(r, "block");
    if (w.bits == 4 && !oc_pass_given(r, "block")) w.block = 32; /* llama-quantize-like default for 4-bit */
    if (w.block && (w.block < 2 || (w.block & (w.block - 1))))
        return oc_fail(r->ctx, OC_ERR_USAGE, "weight: option 'block' wants 0 or a power of two >= 16 (32, 64, 128), got %lld",
                       (long long)w.block);
    w.qo.block = w.block;
    w.min_elems = (int64_t)oc_pass_val(r, "min_elems");
    w.gather = oc_pass_val(r, "gather") != 0;
    w.keep_sensitive = oc_pass_val(r, "keep_sensitive") != 0;

    /* nothing to quantize: the model is left as it is, opset included */
    oc_strmap_init(&w.done); /* stays empty: the look adds nothing */
    w.dry = true;
    visit_graph(&w, r->m->graph);
    w.dry = false;
    oc_strmap_free(&w.done);
    if (w.st != OC_OK) return w.st;
    if (!w.found) {
        oc_pass_notice(r, "weight: no weight to quantize (float Conv/ConvTranspose/Gemm/MatMul%s weights of at least %lld "
                       "elements, not feeding a magnitude/log); the model is left as it was",
                       w.gather ? "/Gather" : "", (long long)w.min_elems);
        return OC_OK;
    }

    /* the opset the DequantizeLinear form needs */
    int64_t need = 10;
    if (w.per_channel) need = 13;
    if (w.bits == 4 || w.block) need = 21;
    int64_t have = oc_model_opset(r->m, "");
    if (have < need) {
        char why[1024];
        if (!oc_opset_can_upgrade(r->m, need, why, sizeof(why))) {
            if (need == 13 && have >= 10 && w.bits == 8 && !w.block) {
                oc_pass_notice(r, "weight: opset %lld has no per-channel DequantizeLinear and cannot be raised "
                               "to 13 (%s): using per-tensor scales", (long long)have, why);
                w.per_channel = false;
                need = 10;
            } else {
                return oc_fail(r->ctx, OC_ERR_UNSUPPORTED, "weight: %s needs opset %lld, the model has %lld: %s",
                               w.bits == 4 ? "4-bit" : w.block ? "block quantization" : "per-channel quantization",
                               (long long)need, (long long)have, why);
            }
        }
        if (have < need) {
            FORWARD_IF_ERROR(oc_opset_upgrade(r->ctx, r->m, need));
            oc_pass_notice(r, "weight: raised the model's opset from %lld to %lld", (long long)have, (long long)need);
        }
    }
    if (gptq) {
        oc_status st = gptq_prepare(&w);
        if (st != OC_OK) {
            gptq_free(&w);
            return st;
        }
    }
    oc_strmap_init(&w.done);
    visit_graph(&w, r->m->graph);
    oc_strmap_free(&w.done);
    if (gptq) gptq_free(&w);
    if (w.st == OC_OK && w.n_listed)
        oc_pass_notice(r, "weight: %zu quantized weight%s also listed as graph input%s: no longer inputs (constants now)",
                       w.n_listed, w.n_listed == 1 ? " was" : "s were", w.n_listed == 1 ? "" : "s");
    return w.st;
}
