/* fuzz_load.c: model bytes -> load -> write -> load -> write; both writes
 * must give the same bytes.
 *
 * The input is written as <scratch>/in/model.onnx and loaded (so an external
 * data location inside that folder can point at the file itself). A model
 * that loads must be written, the written file must load, and writing that
 * second model must give byte for byte the first written file (and the same
 * external data file, written to a folder of its own under the same name so
 * the locations inside agree). Between the two steps the loaded model goes
 * through the read-only graph queries a pass starts with: topological order,
 * producers, weights and their zero counts, and the layer statistics of
 * `info --no-run`. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void count_weight(void *ud, oc_graph *g, oc_node *constant_node, oc_tensor *t)
{
    (void)g;
    (void)constant_node;
    int64_t *zeros = ud;
    *zeros += oc_tensor_count_zeros(t);
    if (t->numel > 0 && t->data && t->nbytes && t->dtype != OC_DTYPE_STRING)
        (void)oc_tensor_get(t, t->numel - 1);
}

static void visit_node(void *ud, oc_graph *g, oc_node *n)
{
    size_t *count = ud;
    (*count)++;
    for (size_t i = 0; i < n->n_inputs; i++) {
        if (!n->inputs[i] || !n->inputs[i][0]) continue;
        size_t slot;
        oc_node *p = oc_graph_producer(g, n->inputs[i], &slot);
        if (p) FZ_CHECK(slot < p->n_outputs, "producer slot %zu of %zu", slot, p->n_outputs);
        (void)oc_graph_weight(g, n->inputs[i]);
    }
}

/* The queries passes make before they change anything. */
static void query(oc_model *m)
{
    oc_ctx ctx;
    oc_ctx_init(&ctx);
    oc_graph *g = m->graph;
    size_t *order = malloc((g->n_nodes ? g->n_nodes : 1) * sizeof(size_t));
    if (!order) abort();
    oc_status st = oc_graph_topo_order(&ctx, g, order);
    FZ_CHECK(st == OC_OK, "a verified graph has no topological order: %s", ctx.msg);
    bool *seen = calloc(g->n_nodes ? g->n_nodes : 1, 1);
    if (!seen) abort();
    for (size_t i = 0; i < g->n_nodes; i++) {
        FZ_CHECK(order[i] < g->n_nodes && !seen[order[i]], "order[%zu] = %zu", i, order[i]);
        seen[order[i]] = true;
    }
    free(seen);
    free(order);
    int64_t zeros = 0;
    oc_model_foreach_weight(m, count_weight, &zeros);
    {
        oc_ctx lctx;
        oc_ctx_init(&lctx);
        oc_layer_stats *ls = NULL;
        size_t nls = 0;
        char why[128];
        if (oc_model_layer_stats(&lctx, m, false, &ls, &nls, why, sizeof(why)) == OC_OK) oc_layer_stats_free(ls);
    }
    size_t nodes = 0;
    oc_model_foreach_node(m, visit_node, &nodes);
    FZ_CHECK(nodes >= g->n_nodes, "%zu nodes visited of %zu", nodes, g->n_nodes);
    (void)oc_model_opset(m, "");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char in[600], a[600], b[600], ad[600], bd[600];
    fz_path(in, sizeof(in), "in/model.onnx");
    fz_path(a, sizeof(a), "a/model.onnx");
    fz_path(b, sizeof(b), "b/model.onnx");
    fz_path(ad, sizeof(ad), "a/model.onnx.data");
    fz_path(bd, sizeof(bd), "b/model.onnx.data");
    fz_unlink(a);
    fz_unlink(ad);
    fz_unlink(b);
    fz_unlink(bd);
    fz_write(in, data, size);

    oc_ctx ctx;
    oc_ctx_init(&ctx);
    oc_load_opts lo = oc_load_opts_default();
    /* small payloads are copied, larger ones borrowed: vary the cut */
    lo.borrow_min_bytes = (fz_hash(data, size) & 1) ? 1024 : 1;
    oc_model *m1 = NULL, *m2 = NULL;
    oc_status st = oc_model_load_file(&ctx, in, &lo, &m1);
    if (st != OC_OK) {
        FZ_CHECK(m1 == NULL, "a failed load returned a model");
        fz_check_error(&ctx, st);
        return 0;
    }
    query(m1);

    oc_save_opts so = oc_save_opts_default();
    so.force = true;
    st = oc_model_save_file(&ctx, m1, a, &so);
    FZ_CHECK(st == OC_OK, "a loaded model cannot be written: %s", ctx.msg);
    st = oc_model_load_file(&ctx, a, &lo, &m2);
    FZ_CHECK(st == OC_OK, "the written model does not load: %s", ctx.msg);
    FZ_CHECK(m2->graph->n_nodes == m1->graph->n_nodes && m2->graph->n_inits == m1->graph->n_inits &&
                 m2->graph->n_inputs == m1->graph->n_inputs && m2->graph->n_outputs == m1->graph->n_outputs &&
                 m2->n_opsets == m1->n_opsets && m2->n_functions == m1->n_functions,
             "the reloaded model has a different shape (%zu/%zu nodes, %zu/%zu initializers)", m1->graph->n_nodes,
             m2->graph->n_nodes, m1->graph->n_inits, m2->graph->n_inits);
    st = oc_model_save_file(&ctx, m2, b, &so);
    FZ_CHECK(st == OC_OK, "the reloaded model cannot be written: %s", ctx.msg);
    FZ_CHECK(fz_same_file(a, b), "writing the reloaded model gives other bytes");
    FZ_CHECK(fz_same_file(ad, bd), "writing the reloaded model gives other external data");
    oc_model_free(m2);
    oc_model_free(m1);
    return 0;
}
