/* model.c: a model's life (creation, ownership of buffers and mappings,
 * freeing) and walks over every node and weight, subgraphs and function
 * bodies included. */
#include "ir.h"

#include <string.h>
#include <sys/mman.h>

oc_model *oc_model_new(void)
{
    oc_arena *a = oc_arena_new();
    if (!a) return NULL;
    oc_model *m = oc_arena_alloc(a, sizeof(*m));
    if (!m) {
        oc_arena_free(a);
        return NULL;
    }
    m->arena = a;
    return m;
}

oc_graph *oc_graph_new(oc_model *m, oc_graph *parent)
{
    oc_graph *g = oc_arena_alloc(m->arena, sizeof(*g));
    if (!g) return NULL;
    g->model = m;
    g->parent = parent;
    return g;
}

bool oc_model_own(oc_model *m, void *p)
{
    if (m->n_heap == m->cap_heap) {
        size_t nc = m->cap_heap ? m->cap_heap * 2 : 16;
        void **nh = oc_realloc(m->heap, nc * sizeof(void *));
        if (!nh) return false;
        m->heap = nh;
        m->cap_heap = nc;
    }
    m->heap[m->n_heap++] = p;
    return true;
}

static void free_graph_index(oc_graph *g);

static void free_sub(void *ud, oc_graph *sub)
{
    (void)ud;
    free_graph_index(sub);
}

static void free_graph_index(oc_graph *g)
{
    oc_graph_invalidate(g);
    for (size_t i = 0; i < g->n_nodes; i++) oc_node_foreach_subgraph(g->nodes[i], free_sub, NULL);
}

void oc_model_free(oc_model *m)
{
    if (!m) return;
    if (m->graph) free_graph_index(m->graph);
    if (m->names) {
        oc_strmap_free(m->names);
        oc_free(m->names);
    }
    for (size_t i = 0; i < m->n_heap; i++) oc_free(m->heap[i]);
    oc_free(m->heap);
    for (oc_mapping *mp = m->maps; mp; mp = mp->next)
        if (mp->addr && mp->size) munmap(mp->addr, mp->size);
    oc_arena_free(m->arena);
}

/* ---- walks ---- */

typedef struct walk_ctx {
    oc_node_fn node_fn;
    oc_weight_fn weight_fn;
    void *ud;
} walk_ctx;

static void walk_graph(walk_ctx *w, oc_graph *g);

static void walk_sub(void *p, oc_graph *sub)
{
    walk_graph(p, sub);
}

static void walk_graph(walk_ctx *w, oc_graph *g)
{
    if (w->weight_fn)
        for (size_t i = 0; i < g->n_inits; i++) w->weight_fn(w->ud, g, NULL, g->inits[i]);
    for (size_t i = 0; i < g->n_nodes; i++) {
        oc_node *n = g->nodes[i];
        if (w->node_fn) w->node_fn(w->ud, g, n);
        if (w->weight_fn && oc_node_is_constant(n))
            for (size_t k = 0; k < n->n_attrs; k++)
                if (n->attrs[k].t && strcmp(n->attrs[k].name, "value") == 0)
                    w->weight_fn(w->ud, g, n, n->attrs[k].t);
        oc_node_foreach_subgraph(n, walk_sub, w);
    }
}

static void walk_model(oc_model *m, walk_ctx *w)
{
    if (m->graph) walk_graph(w, m->graph);
    for (size_t f = 0; f < m->n_functions; f++) {
        oc_function *fn = m->functions[f];
        for (size_t i = 0; i < fn->n_nodes; i++) {
            oc_node *n = fn->nodes[i];
            if (w->node_fn) w->node_fn(w->ud, NULL, n);
            if (w->weight_fn && oc_node_is_constant(n))
                for (size_t k = 0; k < n->n_attrs; k++)
                    if (n->attrs[k].t && strcmp(n->attrs[k].name, "value") == 0)
                        w->weight_fn(w->ud, NULL, n, n->attrs[k].t);
            oc_node_foreach_subgraph(n, walk_sub, w);
        }
    }
}

void oc_model_foreach_weight(oc_model *m, oc_weight_fn fn, void *ud)
{
    walk_ctx w = {NULL, fn, ud};
    walk_model(m, &w);
}

void oc_model_foreach_node(oc_model *m, oc_node_fn fn, void *ud)
{
    walk_ctx w = {fn, NULL, ud};
    walk_model(m, &w);
}

int64_t oc_model_opset(const oc_model *m, const char *domain)
{
    int64_t best = 0;
    bool want_default = oc_domain_is_default(domain);
    for (size_t i = 0; i < m->n_opsets; i++) {
        const oc_opset *o = &m->opsets[i];
        bool match = want_default ? oc_domain_is_default(o->domain)
                                  : (o->domain && strcmp(o->domain, domain) == 0);
        if (match && o->version > best) best = o->version;
    }
    return best;
}

oc_status oc_model_set_metadata(oc_model *m, const char *key, const char *value)
{
    const char *v = oc_arena_strdup(m->arena, value);
    if (!v) return OC_ERR_NOMEM;
    for (size_t i = 0; i < m->n_metadata; i++)
        if (m->metadata[i].key && !strcmp(m->metadata[i].key, key)) {
            m->metadata[i].value = v;
            return OC_OK;
        }
    oc_kv *kv = oc_arena_array(m->arena, m->n_metadata + 1, sizeof(oc_kv));
    const char *k = oc_arena_strdup(m->arena, key);
    if (!kv || !k) return OC_ERR_NOMEM;
    if (m->n_metadata) memcpy(kv, m->metadata, m->n_metadata * sizeof(oc_kv));
    kv[m->n_metadata].key = k;
    kv[m->n_metadata].value = v;
    m->metadata = kv;
    m->n_metadata++;
    return OC_OK;
}
