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
 * with the ops that stop it. */
#include "opset.h"
#include "qdq.h"

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
    oc_status st;
} wctx;

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
        int axis = w->block ? red : (w->per_channel ? ch : -1);
        if (!oc_strmap_put(&w->done, name, NULL)) {
            w->st = oc_fail(w->r->ctx, OC_ERR_NOMEM, "out of memory");
            break;
        }
        oc_qweight_opts qo = w->qo;
        qo.axis = axis;
        if (w->sym_mode == 0)
            qo.symmetric = strcmp(nd->op_type, "Conv") != 0 && strcmp(nd->op_type, "ConvTranspose") != 0;
        w->st = oc_qdq_weight(w->r, home, c, name, t, &qo, w->per_channel || w->block, NULL);
    }
    oc_free(sens);
    oc_free(snap);
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
    oc_strmap_init(&w.done);
    visit_graph(&w, r->m->graph);
    oc_strmap_free(&w.done);
    if (w.st == OC_OK && w.n_listed)
        oc_pass_notice(r, "weight: %zu quantized weight%s also listed as graph input%s: no longer inputs (constants now)",
                       w.n_listed, w.n_listed == 1 ? " was" : "s were", w.n_listed == 1 ? "" : "s");
    return w.st;
}
