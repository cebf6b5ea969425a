/* prune_layers.c: the layers the prune passes work on, and writable views
 * of their float weights. */
#include "prune.h"
#include "qdq.h"

#include "../exec/exec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct lctx {
    oc_pass_run *r;
    int64_t min_elems;
    bool subgraphs;
    oc_prune_layer *v;
    size_t n, cap;
    oc_status st;
} lctx;

static int find_layer(const lctx *c, const char *w_name)
{
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->v[i].w_name, w_name)) return (int)i;
    return -1;
}

/* Fills the axes and the matrix view of l from its node and weight; false
 * when the layer has a shape the passes do not handle. */
static bool describe(oc_prune_layer *l)
{
    const oc_node *n = l->node;
    const oc_tensor *w = l->w;
    const char *op = n->op_type;
    l->group = 1;
    if (!strcmp(op, "Conv") || !strcmp(op, "ConvTranspose")) {
        if (w->ndim < 3) return false;
        l->group = oc_attr_int(n, "group", 1);
        if (l->group < 1) return false;
        bool tr = op[4] == 'T';
        l->out_axis = tr ? 1 : 0;
        l->in_axis = tr ? 0 : 1;
        int64_t k = 1;
        for (int i = 2; i < w->ndim; i++) k *= w->dims[i];
        if (!tr) {
            l->rows = w->dims[0];
            l->cols = w->dims[1] * k;
        } else {
            if (w->dims[0] % l->group) return false;
            l->rows = w->dims[1] * l->group;
            l->cols = w->dims[0] / l->group * k;
        }
        return l->rows > 0 && l->cols > 0;
    }
    if (!strcmp(op, "Gemm")) {
        if (w->ndim != 2 || oc_attr_int(n, "transA", 0)) return false;
        bool tb = oc_attr_int(n, "transB", 0) != 0;
        l->out_axis = tb ? 0 : 1;
        l->in_axis = tb ? 1 : 0;
        l->rows = w->dims[l->out_axis];
        l->cols = w->dims[l->in_axis];
        return true;
    }
    if (!strcmp(op, "MatMul")) {
        if (w->ndim < 2) return false;
        l->out_axis = w->ndim - 1;
        l->in_axis = w->ndim - 2;
        int64_t batch = 1;
        for (int i = 0; i < w->ndim - 2; i++) batch *= w->dims[i];
        l->rows = w->dims[l->out_axis] * batch;
        l->cols = w->dims[l->in_axis];
        return true;
    }
    return false;
}

int64_t oc_prune_index(const oc_prune_layer *l, int64_t row, int64_t col)
{
    const oc_tensor *w = l->w;
    const char *op = l->node->op_type;
    if (!strcmp(op, "Conv")) return row * l->cols + col;
    if (!strcmp(op, "ConvTranspose")) {
        /* W [Cin, Cout/g, k]: row o = group gi * (Cout/g) + oo; col = (ci within group, k) */
        int64_t opg = w->dims[1], k = 1;
        for (int i = 2; i < w->ndim; i++) k *= w->dims[i];
        int64_t gi = row / opg, oo = row % opg;
        int64_t ci = gi * (w->dims[0] / l->group) + col / k, kk = col % k;
        return (ci * opg + oo) * k + kk;
    }
    if (!strcmp(op, "Gemm")) {
        return l->out_axis == 0 ? row * l->cols + col : col * l->rows + row;
    }
    /* MatMul [..., K, N]: row = b * N + n */
    int64_t nn = w->dims[w->ndim - 1], kk = w->dims[w->ndim - 2];
    int64_t b = row / nn, o = row % nn;
    return (b * kk + col) * nn + o;
}

static void visit_graph(lctx *c, oc_graph *g);

static void visit_sub(void *ud, oc_graph *sub)
{
    lctx *c = ud;
    if (c->subgraphs) visit_graph(c, sub);
}

static bool weighted_op(const char *op)
{
    return !strcmp(op, "Conv") || !strcmp(op, "ConvTranspose") || !strcmp(op, "Gemm") || !strcmp(op, "MatMul");
}

static void visit_graph(lctx *c, oc_graph *g)
{
    for (size_t i = 0; i < g->n_nodes && c->st == OC_OK; i++) {
        oc_node *nd = g->nodes[i];
        if (!weighted_op(nd->op_type) || nd->n_inputs < 2 || !*nd->inputs[1]) continue;
        oc_tensor *w = oc_graph_weight(g, nd->inputs[1]);
        if (!w || w->dtype != OC_DTYPE_FLOAT || !w->data || w->numel < c->min_elems) continue;
        int prev = find_layer(c, nd->inputs[1]);
        if (prev >= 0) {
            c->v[prev].shared = true;
            continue;
        }
        if (!oc_pass_node_selected(c->r, nd)) continue;
        /* a filter bank feeding a magnitude or log (STFT, log-mel front
         * ends): zeroing any of it changes every feature, as quantization
         * does (quant keeps these in float too) */
        if (nd->n_outputs && oc_qdq_feeds_sensitive(g, nd->outputs[0], 0)) {
            if (c->r->pass)
                oc_pass_notice(c->r, "%s: left '%s' (%s) alone: it feeds a magnitude/log computation",
                               c->r->pass->name, nd->name && *nd->name ? nd->name : nd->inputs[1], nd->op_type);
            continue;
        }
        oc_prune_layer l = {.g = g, .node = nd, .w_name = nd->inputs[1], .w = w};
        if (!describe(&l)) continue;
        /* MatMul with the constant as operand A is not a layer */
        if (!strcmp(nd->op_type, "MatMul") && oc_graph_weight(g, nd->inputs[0])) continue;
        if (c->n == c->cap) {
            size_t nc = c->cap ? c->cap * 2 : 16;
            oc_prune_layer *nv = oc_realloc(c->v, nc * sizeof(*nv));
            if (!nv) {
                c->st = oc_fail(c->r->ctx, OC_ERR_NOMEM, "out of memory");
                return;
            }
            c->v = nv;
            c->cap = nc;
        }
        c->v[c->n++] = l;
    }
    for (size_t i = 0; i < g->n_nodes && c->st == OC_OK; i++) oc_node_foreach_subgraph(g->nodes[i], visit_sub, c);
}

oc_status oc_prune_layers(oc_pass_run *r, bool subgraphs, int64_t min_elems, oc_prune_layer **out, size_t *n)
{
    lctx c = {.r = r, .min_elems = min_elems, .subgraphs = subgraphs};
    *out = NULL;
    *n = 0;
    /* a read-only walk: who reads what comes from one map per graph */
    oc_graph_cache_readers(r->m->graph, true);
    visit_graph(&c, r->m->graph);
    /* a weight also read by a node that is not a layer (a Shape, an Add...)
     * is shared too: pruning it changes that reader */
    for (size_t i = 0; i < c.n && c.st == OC_OK; i++) {
        oc_node *cons[2];
        if (oc_graph_consumers(c.v[i].g, c.v[i].w_name, cons, 2) > 1) c.v[i].shared = true;
    }
    oc_graph_cache_readers(r->m->graph, false);
    if (c.st != OC_OK) {
        oc_free(c.v);
        return c.st;
    }
    *out = c.v;
    *n = c.n;
    return OC_OK;
}

float *oc_prune_weight_mut(oc_pass_run *r, oc_prune_layer *l)
{
    oc_tensor *w = l->w;
    if ((w->mem == OC_MEM_HEAP || w->mem == OC_MEM_ARENA) && ((uintptr_t)w->data % sizeof(float)) == 0)
        return (float *)w->data;
    size_t nb = (size_t)w->numel * sizeof(float);
    float *d = oc_malloc(nb ? nb : 1);
    if (!d) {
        oc_fail(r->ctx, OC_ERR_NOMEM, "out of memory copying weight '%s'", l->w_name);
        return NULL;
    }
    memcpy(d, w->data, nb);
    oc_tensor_set_data(r->m, w, d, nb);
    if (w->mem != OC_MEM_HEAP) { /* kept in the arena instead: still writable */
        if (!w->data) {
            oc_fail(r->ctx, OC_ERR_NOMEM, "out of memory copying weight '%s'", l->w_name);
            return NULL;
        }
    }
    return (float *)w->data;
}

void oc_prune_report_layer(oc_pass_run *r, const oc_prune_layer *l, int64_t zeros)
{
    if (!r->rep) return;
    r->rep->layers_pruned++;
    r->rep->weights_zero += zeros;
    r->rep->weights_prunable += l->w->numel;
}

oc_status oc_prune_recount(oc_pass_run *r)
{
    if (!r->rep) return OC_OK;
    oc_prune_layer *v = NULL;
    size_t n = 0;
    FORWARD_IF_ERROR(oc_prune_layers(r, true, 0, &v, &n));
    r->rep->layers_pruned = 0;
    r->rep->weights_zero = r->rep->weights_prunable = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t z = oc_tensor_count_zeros(v[i].w);
        if (!z) continue;
        r->rep->layers_pruned++;
        r->rep->weights_zero += z;
        r->rep->weights_prunable += v[i].w->numel;
    }
    oc_free(v);
    return OC_OK;
}
