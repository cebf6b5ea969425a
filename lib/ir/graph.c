/* graph.c: the graph's queries and edits: who produces and who reads a name
 * (through enclosing scopes for subgraphs), topological order, verification,
 * and the edit operations passes build on.
 *
 * ONNX graphs are name-based: a node input is the name of a graph input, an
 * initializer, or another node's output, here or in an enclosing graph. The
 * name index is built on first lookup and dropped by every edit. */
#include "ir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { DEF_INPUT = 1, DEF_INIT = 2, DEF_NODE = 3 };

typedef struct def {
    int kind;
    void *ptr;       /* oc_node* / oc_tensor* / oc_value* */
    uint32_t slot;
    struct def *dup; /* a second definition of the same name */
} def;

typedef struct graph_index {
    oc_strmap map; /* name -> def* */
    def *defs;
    size_t n_defs;
    def **extra; /* definitions added by edits since the build, one block each */
    size_t n_extra, cap_extra;
    /* readers of each name, while oc_graph_cache_readers is on: name -> aux
     * (first link + 1), val (last link + 1); links in node order */
    bool readers_on, readers_built;
    oc_strmap rmap;
    uint32_t *rnext;
    oc_node **rnode;
    size_t n_links, cap_links;
    const char *dup_name; /* first name produced twice, for verify */
} graph_index;

bool oc_domain_is_default(const char *domain)
{
    return !domain || !*domain || strcmp(domain, "ai.onnx") == 0;
}

bool oc_node_is_constant(const oc_node *n)
{
    return strcmp(n->op_type, "Constant") == 0 && oc_domain_is_default(n->domain);
}

static void readers_drop(graph_index *ix)
{
    if (!ix || !ix->readers_built) return;
    oc_strmap_free(&ix->rmap);
    oc_free(ix->rnext);
    oc_free(ix->rnode);
    ix->rnext = NULL, ix->rnode = NULL;
    ix->n_links = ix->cap_links = 0;
    ix->readers_built = false;
}

/* An edit of g's reads changes the readers of g and, through the bodies
 * its nodes hold, of every enclosing graph. */
static void readers_drop_up(oc_graph *g)
{
    for (; g; g = g->parent) readers_drop(g->index);
}

static void index_free(graph_index *ix)
{
    readers_drop(ix);
    oc_strmap_free(&ix->map);
    oc_free(ix->defs);
    for (size_t i = 0; i < ix->n_extra; i++) oc_free(ix->extra[i]);
    oc_free(ix->extra);
    oc_free(ix);
}

void oc_graph_invalidate(oc_graph *g)
{
    if (!g->index) return;
    index_free(g->index);
    g->index = NULL;
}

/* Records definition d of `name` (d lives as long as the index). */
static bool index_put(graph_index *ix, def *d, const char *name, int kind, void *ptr, uint32_t slot)
{
    d->kind = kind;
    d->ptr = ptr;
    d->slot = slot;
    d->dup = NULL;
    bool added;
    oc_strmap_entry *e = oc_strmap_put(&ix->map, name, &added);
    if (!e) return false;
    if (added || !e->val) {
        e->val = d;
    } else {
        def *first = e->val;
        /* an input that also has an initializer is ONNX's "default value":
         * the initializer wins for lookups, and it is no duplicate */
        bool input_default = (first->kind == DEF_INPUT && kind == DEF_INIT) ||
                             (first->kind == DEF_INIT && kind == DEF_INPUT);
        if (input_default) {
            if (kind == DEF_INIT) e->val = d;
        } else {
            first->dup = d;
            if (!ix->dup_name) ix->dup_name = name;
        }
    }
    return true;
}

static bool index_add(graph_index *ix, const char *name, int kind, void *ptr, uint32_t slot)
{
    if (!name || !*name) return true;
    return index_put(ix, &ix->defs[ix->n_defs++], name, kind, ptr, slot);
}

/* The index kept up to date through an edit that adds a definition (a node
 * output, an initializer) instead of rebuilt on the next lookup: passes that
 * insert a node per tensor would otherwise rebuild it per node, quadratic
 * in the graph. Without memory for it, the index is dropped instead. */
static void index_note(oc_graph *g, const char *name, int kind, void *ptr, uint32_t slot)
{
    graph_index *ix = g->index;
    if (!ix || !name || !*name) return;
    def *d = NULL;
    if (ix->n_extra == ix->cap_extra) {
        size_t nc = ix->cap_extra ? 2 * ix->cap_extra : 16;
        def **ne = oc_realloc(ix->extra, nc * sizeof(def *));
        if (ne) ix->extra = ne, ix->cap_extra = nc;
    }
    if (ix->n_extra < ix->cap_extra) d = oc_malloc(sizeof(def));
    if (!d) {
        oc_graph_invalidate(g);
        return;
    }
    ix->extra[ix->n_extra++] = d;
    if (!index_put(ix, d, name, kind, ptr, slot)) oc_graph_invalidate(g);
}

static graph_index *get_index(oc_graph *g)
{
    if (g->index) return g->index;
    graph_index *ix = oc_calloc(1, sizeof(*ix));
    if (!ix) return NULL;
    size_t n = g->n_inputs + g->n_inits;
    for (size_t i = 0; i < g->n_nodes; i++) n += g->nodes[i]->n_outputs;
    ix->defs = oc_calloc(n ? n : 1, sizeof(def));
    if (!ix->defs) goto fail;
    oc_strmap_init(&ix->map);
    for (size_t i = 0; i < g->n_inputs; i++)
        if (!index_add(ix, g->inputs[i]->name, DEF_INPUT, g->inputs[i], 0)) goto fail;
    for (size_t i = 0; i < g->n_inits; i++)
        if (!index_add(ix, g->inits[i]->name, DEF_INIT, g->inits[i], 0)) goto fail;
    for (size_t i = 0; i < g->n_nodes; i++) {
        oc_node *nd = g->nodes[i];
        for (size_t k = 0; k < nd->n_outputs; k++)
            if (!index_add(ix, nd->outputs[k], DEF_NODE, nd, (uint32_t)k)) goto fail;
    }
    g->index = ix;
    return ix;
fail:
    index_free(ix);
    return NULL;
}

/* Without memory for the index, a lookup scans the graph: slower, but with
 * the index's answer (an initializer wins over a graph input of the same
 * name, else the first definition), so a failed allocation never turns into
 * "not found": a weight silently left alone, a graph edited wrongly. The
 * result lives until the thread's next scan. */
static def *scan_local(oc_graph *g, const char *name)
{
    static _Thread_local def found;
    if (!name || !*name) return NULL;
    found = (def){0};
    for (size_t i = 0; i < g->n_inits; i++)
        if (g->inits[i]->name && strcmp(g->inits[i]->name, name) == 0) {
            found.kind = DEF_INIT;
            found.ptr = g->inits[i];
            return &found;
        }
    for (size_t i = 0; i < g->n_inputs; i++)
        if (g->inputs[i]->name && strcmp(g->inputs[i]->name, name) == 0) {
            found.kind = DEF_INPUT;
            found.ptr = g->inputs[i];
            return &found;
        }
    for (size_t i = 0; i < g->n_nodes; i++)
        for (size_t k = 0; k < g->nodes[i]->n_outputs; k++)
            if (strcmp(g->nodes[i]->outputs[k], name) == 0) {
                found.kind = DEF_NODE;
                found.ptr = g->nodes[i];
                found.slot = (uint32_t)k;
                return &found;
            }
    return NULL;
}

static def *lookup_local(oc_graph *g, const char *name)
{
    graph_index *ix = get_index(g);
    if (!ix) return scan_local(g, name);
    oc_strmap_entry *e = oc_strmap_get(&ix->map, name);
    return e ? e->val : NULL; /* NULL val: a name whose definitions were all removed */
}

/* Drops the definition of `name` by ptr from g's index, if it has one.
 * With a duplicate name on record the index is dropped instead: which
 * definition comes first is the build's call. */
static void index_forget(oc_graph *g, const char *name, const void *ptr)
{
    graph_index *ix = g->index;
    if (!ix || !name || !*name) return;
    if (ix->dup_name) {
        oc_graph_invalidate(g);
        return;
    }
    oc_strmap_entry *e = oc_strmap_get(&ix->map, name);
    if (!e) return;
    for (def **pd = (def **)&e->val; *pd; pd = &(*pd)->dup)
        if ((*pd)->ptr == ptr) {
            *pd = (*pd)->dup;
            return;
        }
}

static def *lookup(oc_graph *g, const char *name)
{
    for (; g; g = g->parent) {
        def *d = lookup_local(g, name);
        if (d) return d;
    }
    return NULL;
}

oc_node *oc_graph_producer(oc_graph *g, const char *name, size_t *slot)
{
    def *d = lookup(g, name);
    if (!d || d->kind != DEF_NODE) return NULL;
    if (slot) *slot = d->slot;
    return d->ptr;
}

oc_tensor *oc_graph_initializer(oc_graph *g, const char *name)
{
    def *d = lookup(g, name);
    return d && d->kind == DEF_INIT ? d->ptr : NULL;
}

bool oc_graph_is_input(oc_graph *g, const char *name)
{
    for (size_t i = 0; i < g->n_inputs; i++)
        if (strcmp(g->inputs[i]->name, name) == 0) return true;
    return false;
}

oc_tensor *oc_graph_weight(oc_graph *g, const char *name)
{
    def *d = lookup(g, name);
    if (!d) return NULL;
    if (d->kind == DEF_INIT) return d->ptr;
    if (d->kind != DEF_NODE) return NULL;
    oc_node *n = d->ptr;
    if (!oc_node_is_constant(n)) return NULL;
    for (size_t i = 0; i < n->n_attrs; i++)
        if (strcmp(n->attrs[i].name, "value") == 0 && n->attrs[i].t) return n->attrs[i].t;
    return NULL;
}

void oc_node_foreach_subgraph(oc_node *n, oc_subgraph_fn fn, void *ud)
{
    for (size_t i = 0; i < n->n_attrs; i++) {
        oc_attr *a = &n->attrs[i];
        if (a->g) fn(ud, a->g);
        for (size_t k = 0; k < a->n_graphs; k++) fn(ud, a->graphs[k]);
    }
}

/* ---- names a subgraph reads from outside itself ---- */

typedef struct outer_ctx {
    oc_graph *outer; /* the graph whose values we are after */
    void (*emit)(void *ud, const char *name);
    void *ud;
} outer_ctx;

static void outer_reads_sub(void *p, oc_graph *sub);

/* For each name a node of `sub` (recursively) reads that `sub` does not
 * define itself, call emit. */
static void outer_reads_graph(outer_ctx *oc, oc_graph *sub)
{
    for (size_t i = 0; i < sub->n_nodes; i++) {
        oc_node *n = sub->nodes[i];
        for (size_t k = 0; k < n->n_inputs; k++) {
            const char *nm = n->inputs[k];
            if (!*nm) continue;
            if (lookup_local(sub, nm)) continue;
            oc->emit(oc->ud, nm);
        }
        oc_node_foreach_subgraph(n, outer_reads_sub, oc);
    }
    for (size_t i = 0; i < sub->n_outputs; i++) {
        const char *nm = sub->outputs[i]->name;
        if (*nm && !lookup_local(sub, nm)) oc->emit(oc->ud, nm);
    }
}

static void outer_reads_sub(void *p, oc_graph *sub)
{
    outer_reads_graph(p, sub);
}

typedef struct reads_ctx {
    oc_graph *g;
    void (*fn)(void *ud, const char *name);
    void *ud;
} reads_ctx;

static void reads_sub(void *p, oc_graph *sub)
{
    reads_ctx *rc = p;
    outer_ctx oc = {rc->g, rc->fn, rc->ud};
    outer_reads_graph(&oc, sub);
}

/* Every name node n reads: its inputs, then what its subgraphs read from
 * outside themselves (possibly names of enclosing graphs further out). */
static void node_reads(oc_graph *g, oc_node *n, void (*fn)(void *, const char *), void *ud)
{
    for (size_t k = 0; k < n->n_inputs; k++)
        if (*n->inputs[k]) fn(ud, n->inputs[k]);
    reads_ctx rc = {g, fn, ud};
    oc_node_foreach_subgraph(n, reads_sub, &rc);
}

/* ---- consumers ---- */

typedef struct cons_ctx {
    const char *name;
    bool hit;
} cons_ctx;

static void cons_check(void *p, const char *nm)
{
    cons_ctx *c = p;
    if (strcmp(c->name, nm) == 0) c->hit = true;
}

typedef struct rd_ctx {
    graph_index *ix;
    oc_node *n;
    bool oom;
} rd_ctx;

static void rd_add(void *p, const char *nm)
{
    rd_ctx *c = p;
    graph_index *ix = c->ix;
    bool added;
    oc_strmap_entry *e = c->oom ? NULL : oc_strmap_put(&ix->rmap, nm, &added);
    if (!e) {
        c->oom = true;
        return;
    }
    if (!added && ix->rnode[(uintptr_t)e->val - 1] == c->n) return; /* this node again */
    if (ix->n_links == ix->cap_links) {
        size_t nc = ix->cap_links ? 2 * ix->cap_links : 256;
        uint32_t *nn = oc_realloc(ix->rnext, nc * sizeof(uint32_t));
        if (nn) ix->rnext = nn;
        oc_node **nd = nn ? oc_realloc(ix->rnode, nc * sizeof(oc_node *)) : NULL;
        if (nd) ix->rnode = nd;
        if (!nn || !nd || nc > UINT32_MAX - 1) {
            c->oom = true;
            return;
        }
        ix->cap_links = nc;
    }
    const size_t k = ix->n_links++;
    ix->rnode[k] = c->n;
    ix->rnext[k] = 0;
    if (added) e->aux = (uint32_t)k + 1;
    else ix->rnext[(uintptr_t)e->val - 1] = (uint32_t)k + 1;
    e->val = (void *)(uintptr_t)(k + 1);
}

/* The readers map of g, built now if need be; NULL when not cached. */
static graph_index *readers_of(oc_graph *g)
{
    graph_index *ix = g->index;
    if (!ix || !ix->readers_on) return NULL;
    if (ix->readers_built) return ix;
    oc_strmap_init(&ix->rmap);
    ix->readers_built = true;
    for (size_t i = 0; i < g->n_nodes; i++) {
        rd_ctx c = {ix, g->nodes[i], false};
        node_reads(g, g->nodes[i], rd_add, &c);
        if (c.oom) {
            readers_drop(ix); /* the scan answers instead */
            ix->readers_on = false;
            return NULL;
        }
    }
    return ix;
}

static void cache_readers_sub(void *on, oc_graph *sub)
{
    oc_graph_cache_readers(sub, *(bool *)on);
}

void oc_graph_cache_readers(oc_graph *g, bool on)
{
    graph_index *ix = get_index(g);
    if (ix) {
        if (!on) readers_drop(ix);
        ix->readers_on = on;
    }
    for (size_t i = 0; i < g->n_nodes; i++) oc_node_foreach_subgraph(g->nodes[i], cache_readers_sub, &on);
}

size_t oc_graph_consumers(oc_graph *g, const char *name, oc_node **out, size_t cap)
{
    graph_index *rx = readers_of(g);
    if (rx) {
        const oc_strmap_entry *e = oc_strmap_get(&rx->rmap, name);
        size_t count = 0;
        for (uint32_t k = e ? e->aux : 0; k; k = rx->rnext[k - 1]) {
            if (count < cap) out[count] = rx->rnode[k - 1];
            count++;
        }
        return count;
    }
    size_t count = 0;
    for (size_t i = 0; i < g->n_nodes; i++) {
        cons_ctx c = {name, false};
        node_reads(g, g->nodes[i], cons_check, &c);
        if (c.hit) {
            if (count < cap) out[count] = g->nodes[i];
            count++;
        }
    }
    return count;
}

/* ---- topological order ---- */

typedef struct topo_ctx {
    oc_graph *g;
    size_t *deps; /* producer node pointers of the current node, growable */
    size_t n_deps, cap_deps;
    bool oom;
} topo_ctx;

static void topo_dep(void *p, const char *nm)
{
    topo_ctx *t = p;
    def *d = lookup_local(t->g, nm);
    if (!d || d->kind != DEF_NODE) return;
    if (t->n_deps == t->cap_deps) {
        size_t nc = t->cap_deps ? t->cap_deps * 2 : 16;
        size_t *nd = oc_realloc(t->deps, nc * sizeof(size_t));
        if (!nd) {
            t->oom = true;
            return;
        }
        t->deps = nd;
        t->cap_deps = nc;
    }
    t->deps[t->n_deps++] = (size_t)(uintptr_t)d->ptr;
}

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

oc_status oc_graph_topo_order(oc_ctx *ctx, oc_graph *g, size_t *order)
{
    size_t n = g->n_nodes;
    if (n == 0) return OC_OK;
    oc_status st = OC_OK;
    /* node pointer -> index, via a sorted array of (ptr, idx) */
    uintptr_t (*byptr)[2] = oc_malloc(n * sizeof(*byptr));
    size_t *indeg = oc_calloc(n, sizeof(size_t));
    size_t *edge_start = oc_calloc(n + 1, sizeof(size_t));
    size_t *queue = oc_malloc(n * sizeof(size_t));
    size_t *edges = NULL; /* producer -> consumer, CSR */
    size_t *pairs = NULL; /* (producer, consumer) pairs */
    size_t n_pairs = 0, cap_pairs = 0;
    topo_ctx t = {.g = g};
    if (!byptr || !indeg || !edge_start || !queue || !get_index(g)) {
        st = oc_fail(ctx, OC_ERR_NOMEM, "out of memory ordering graph '%s'", g->name ? g->name : "");
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        byptr[i][0] = (uintptr_t)g->nodes[i];
        byptr[i][1] = i;
    }
    qsort(byptr, n, sizeof(*byptr), cmp_ptr);
    for (size_t i = 0; i < n; i++) {
        t.n_deps = 0;
        node_reads(g, g->nodes[i], topo_dep, &t);
        if (t.oom) {
            st = oc_fail(ctx, OC_ERR_NOMEM, "out of memory ordering graph");
            goto cleanup;
        }
        for (size_t k = 0; k < t.n_deps; k++) {
            uintptr_t key[2] = {(uintptr_t)t.deps[k], 0};
            uintptr_t(*hit)[2] = bsearch(key, byptr, n, sizeof(*byptr), cmp_ptr);
            if (!hit) continue;
            size_t p = (*hit)[1];
            if (n_pairs == cap_pairs) {
                size_t nc = cap_pairs ? cap_pairs * 2 : 64;
                size_t *np = oc_realloc(pairs, nc * 2 * sizeof(size_t));
                if (!np) {
                    st = oc_fail(ctx, OC_ERR_NOMEM, "out of memory ordering graph");
                    goto cleanup;
                }
                pairs = np;
                cap_pairs = nc;
            }
            pairs[2 * n_pairs] = p;
            pairs[2 * n_pairs + 1] = i;
            n_pairs++;
            indeg[i]++;
            edge_start[p + 1]++;
        }
    }
    for (size_t i = 0; i < n; i++) edge_start[i + 1] += edge_start[i];
    edges = oc_malloc((n_pairs ? n_pairs : 1) * sizeof(size_t));
    if (!edges) {
        st = oc_fail(ctx, OC_ERR_NOMEM, "out of memory ordering graph");
        goto cleanup;
    }
    {
        size_t *fill = queue; /* reuse as a cursor per producer */
        for (size_t i = 0; i < n; i++) fill[i] = edge_start[i];
        for (size_t k = 0; k < n_pairs; k++) edges[fill[pairs[2 * k]]++] = pairs[2 * k + 1];
    }
    /* Kahn's algorithm; a min-heap would keep file order, but a FIFO seeded
     * in file order keeps it for graphs already sorted, the usual case */
    size_t head = 0, tail = 0;
    for (size_t i = 0; i < n; i++)
        if (indeg[i] == 0) queue[tail++] = i;
    while (head < tail) {
        size_t v = queue[head++];
        order[head - 1] = v;
        for (size_t k = edge_start[v]; k < edge_start[v + 1]; k++)
            if (--indeg[edges[k]] == 0) queue[tail++] = edges[k];
    }
    if (tail < n) {
        size_t bad = 0;
        for (size_t i = 0; i < n; i++)
            if (indeg[i]) {
                bad = i;
                break;
            }
        oc_node *b = g->nodes[bad];
        st = oc_fail(ctx, OC_ERR_INVALID, "graph '%s' has a cycle through node '%s' (%s)",
                     g->name ? g->name : "", b->name ? b->name : "", b->op_type);
    }
cleanup:
    oc_free(byptr);
    oc_free(indeg);
    oc_free(edge_start);
    oc_free(queue);
    oc_free(edges);
    oc_free(pairs);
    oc_free(t.deps);
    return st;
}

/* ---- verification ---- */

static oc_status verify_graph(oc_ctx *ctx, oc_graph *g, int depth);

typedef struct verify_ctx {
    oc_ctx *ctx;
    oc_status st;
    int depth;
} verify_ctx;

static void verify_sub(void *p, oc_graph *sub)
{
    verify_ctx *v = p;
    if (v->st == OC_OK) v->st = verify_graph(v->ctx, sub, v->depth + 1);
}

static oc_status verify_graph(oc_ctx *ctx, oc_graph *g, int depth)
{
    const char *gname = g->name ? g->name : "";
    RETURN_ERROR_IF(depth > 64, ctx, OC_ERR_INVALID, "subgraphs nested more than 64 deep");
    graph_index *ix = get_index(g);
    RETURN_ERROR_IF(!ix, ctx, OC_ERR_NOMEM, "out of memory indexing graph '%s'", gname);
    RETURN_ERROR_IF(ix->dup_name, ctx, OC_ERR_INVALID,
                    "graph '%s': value '%s' is produced more than once", gname, ix->dup_name);
    for (size_t i = 0; i < g->n_nodes; i++) {
        oc_node *n = g->nodes[i];
        RETURN_ERROR_IF(!n->op_type || !*n->op_type, ctx, OC_ERR_INVALID,
                        "graph '%s': node %zu has no op_type", gname, i);
        for (size_t k = 0; k < n->n_inputs; k++) {
            const char *nm = n->inputs[k];
            RETURN_ERROR_IF(*nm && !lookup(g, nm), ctx, OC_ERR_INVALID,
                            "node '%s' (%s): input '%s' is not produced by any node, "
                            "initializer or graph input",
                            n->name ? n->name : "", n->op_type, nm);
        }
        verify_ctx v = {ctx, OC_OK, depth};
        oc_node_foreach_subgraph(n, verify_sub, &v);
        FORWARD_IF_ERROR(v.st);
    }
    for (size_t i = 0; i < g->n_outputs; i++) {
        const char *nm = g->outputs[i]->name;
        RETURN_ERROR_IF(!nm || !*nm, ctx, OC_ERR_INVALID, "graph '%s': output %zu has no name", gname, i);
        RETURN_ERROR_IF(!lookup(g, nm), ctx, OC_ERR_INVALID,
                        "graph '%s': output '%s' is not produced by any node", gname, nm);
    }
    size_t *order = oc_malloc((g->n_nodes ? g->n_nodes : 1) * sizeof(size_t));
    RETURN_ERROR_IF(!order, ctx, OC_ERR_NOMEM, "out of memory");
    oc_status st = oc_graph_topo_order(ctx, g, order);
    oc_free(order);
    return st;
}

oc_status oc_graph_verify(oc_ctx *ctx, oc_graph *g)
{
    return verify_graph(ctx, g, 0);
}

/* ---- edits ---- */

const char *oc_model_strdup(oc_model *m, const char *s)
{
    return oc_arena_strdup(m->arena, s);
}

void *oc_model_alloc(oc_model *m, size_t size)
{
    return oc_arena_alloc(m->arena, size);
}

static bool note_name(oc_model *m, const char *name);

oc_node *oc_graph_add_node(oc_graph *g, size_t at, const char *op_type, const char *domain,
                           const char *name, size_t n_inputs, const char *const *inputs,
                           size_t n_outputs, const char *const *outputs)
{
    oc_model *m = g->model;
    oc_arena *a = m->arena;
    if (!oc_arena_grow(a, (void **)&g->nodes, &g->cap_nodes, g->n_nodes + 1, sizeof(oc_node *)))
        return NULL;
    oc_node *n = oc_arena_alloc(a, sizeof(*n));
    if (!n) return NULL;
    n->op_type = oc_arena_strdup(a, op_type);
    n->domain = domain ? oc_arena_strdup(a, domain) : NULL;
    n->name = name ? oc_arena_strdup(a, name) : NULL;
    n->inputs = oc_arena_array(a, n_inputs, sizeof(char *));
    n->outputs = oc_arena_array(a, n_outputs, sizeof(char *));
    if (!n->op_type || !n->inputs || !n->outputs) return NULL;
    for (size_t i = 0; i < n_inputs; i++)
        if (!(n->inputs[i] = oc_arena_strdup(a, inputs[i] ? inputs[i] : ""))) return NULL;
    for (size_t i = 0; i < n_outputs; i++) {
        if (!(n->outputs[i] = oc_arena_strdup(a, outputs[i]))) return NULL;
        if (!note_name(m, n->outputs[i])) return NULL;
    }
    n->n_inputs = n_inputs;
    n->n_outputs = n_outputs;
    if (at > g->n_nodes) at = g->n_nodes;
    memmove(g->nodes + at + 1, g->nodes + at, (g->n_nodes - at) * sizeof(oc_node *));
    g->nodes[at] = n;
    g->n_nodes++;
    readers_drop_up(g);
    for (size_t i = 0; i < n_outputs; i++) index_note(g, n->outputs[i], DEF_NODE, n, (uint32_t)i);
    return n;
}

oc_attr *oc_node_add_attr(oc_graph *g, oc_node *n, const char *name, int type)
{
    oc_arena *a = g->model->arena;
    oc_attr *na = oc_arena_array(a, n->n_attrs + 1, sizeof(oc_attr));
    if (!na) return NULL;
    if (n->n_attrs) memcpy(na, n->attrs, n->n_attrs * sizeof(oc_attr));
    oc_attr *at = &na[n->n_attrs];
    at->name = oc_arena_strdup(a, name);
    if (!at->name) return NULL;
    at->type = type;
    at->has_type = true;
    n->attrs = na;
    n->n_attrs++;
    return at;
}

void oc_node_set_input(oc_graph *g, oc_node *n, size_t slot, const char *name)
{
    if (slot >= n->n_inputs) return;
    const char *s = oc_arena_strdup(g->model->arena, name);
    if (s) n->inputs[slot] = s;
    readers_drop_up(g);
}

static size_t rename_in_graph(oc_graph *g, const char *from, const char *to);

typedef struct rename_ctx {
    const char *from, *to;
    size_t count;
} rename_ctx;

static void rename_sub(void *p, oc_graph *sub)
{
    rename_ctx *r = p;
    r->count += rename_in_graph(sub, r->from, r->to);
}

static size_t rename_in_graph(oc_graph *g, const char *from, const char *to)
{
    rename_ctx r = {from, to, 0};
    readers_drop(g->index);
    for (size_t i = 0; i < g->n_nodes; i++) {
        oc_node *n = g->nodes[i];
        for (size_t k = 0; k < n->n_inputs; k++)
            if (strcmp(n->inputs[k], from) == 0) {
                n->inputs[k] = to;
                r.count++;
            }
        oc_node_foreach_subgraph(n, rename_sub, &r);
    }
    return r.count;
}

size_t oc_graph_rename_uses(oc_graph *g, const char *from, const char *to)
{
    const char *t = oc_arena_strdup(g->model->arena, to);
    const char *f = oc_arena_strdup(g->model->arena, from); /* from may be freed by caller */
    if (!t || !f) return 0;
    readers_drop_up(g); /* rename_in_graph drops the bodies below */
    return rename_in_graph(g, f, t);
}

oc_tensor *oc_graph_add_initializer(oc_graph *g, const char *name, int dtype, int ndim,
                                    const int64_t *dims)
{
    oc_model *m = g->model;
    oc_arena *a = m->arena;
    if (!oc_arena_grow(a, (void **)&g->inits, &g->cap_inits, g->n_inits + 1, sizeof(oc_tensor *)))
        return NULL;
    oc_tensor *t = oc_arena_alloc(a, sizeof(*t));
    if (!t) return NULL;
    t->name = oc_arena_strdup(a, name);
    t->dtype = dtype;
    t->has_dtype = true;
    t->ndim = ndim;
    t->dims = oc_arena_array(a, ndim ? ndim : 1, sizeof(int64_t));
    if (!t->name || !t->dims) return NULL;
    t->numel = 1;
    for (int i = 0; i < ndim; i++) {
        t->dims[i] = dims[i];
        if (oc_mul_overflow_i64(t->numel, dims[i], &t->numel)) return NULL;
    }
    t->enc = OC_ENC_RAW;
    if (!note_name(m, t->name)) return NULL;
    g->inits[g->n_inits++] = t;
    index_note(g, t->name, DEF_INIT, t, 0);
    return t;
}

void oc_graph_remove_initializer(oc_graph *g, const char *name)
{
    size_t w = 0;
    for (size_t i = 0; i < g->n_inits; i++) {
        oc_tensor *t = g->inits[i];
        if (t->name && !strcmp(t->name, name)) index_forget(g, name, t);
        else g->inits[w++] = t;
    }
    g->n_inits = w;
    w = 0;
    for (size_t i = 0; i < g->n_inputs; i++) {
        oc_value *v = g->inputs[i];
        if (!strcmp(v->name, name)) index_forget(g, name, v);
        else g->inputs[w++] = v;
    }
    g->n_inputs = w;
}

size_t oc_graph_node_index(const oc_graph *g, const oc_node *n)
{
    for (size_t i = 0; i < g->n_nodes; i++)
        if (g->nodes[i] == n) return i;
    return g->n_nodes;
}

void oc_graph_remove_node(oc_graph *g, oc_node *n)
{
    size_t w = 0;
    for (size_t i = 0; i < g->n_nodes; i++)
        if (g->nodes[i] != n) g->nodes[w++] = g->nodes[i];
    if (w == g->n_nodes) return;
    g->n_nodes = w;
    readers_drop_up(g);
    for (size_t k = 0; k < n->n_outputs; k++) index_forget(g, n->outputs[k], n);
}

void oc_tensor_set_data(oc_model *m, oc_tensor *t, void *data, size_t nbytes)
{
    t->data = data;
    t->nbytes = nbytes;
    t->mem = OC_MEM_HEAP;
    t->enc = OC_ENC_RAW;
    t->n_ext = 0;
    t->ext = NULL;
    t->has_data_location = false;
    if (!oc_model_own(m, data)) {
        /* cannot track it: keep a copy in the arena instead */
        void *c = oc_arena_memdup(m->arena, data, nbytes);
        oc_free(data);
        t->data = c;
        t->mem = c ? OC_MEM_ARENA : OC_MEM_NONE;
        if (!c) t->nbytes = 0;
    }
}

oc_value *oc_graph_add_value_info(oc_graph *g, const char *name, int elem_type, int ndim,
                                  const int64_t *dims)
{
    oc_arena *a = g->model->arena;
    oc_value **nv = oc_arena_array(a, g->n_value_info + 1, sizeof(oc_value *));
    oc_value *v = oc_arena_alloc(a, sizeof(*v));
    if (!nv || !v) return NULL;
    v->name = oc_arena_strdup(a, name);
    v->has_type = true;
    v->type.kind = OC_TYPE_TENSOR;
    v->type.elem_type = elem_type;
    v->dirty = true;
    if (ndim >= 0) {
        v->type.has_shape = true;
        v->type.ndim = ndim;
        v->type.dims = oc_arena_array(a, ndim ? ndim : 1, sizeof(oc_dim));
        if (!v->type.dims) return NULL;
        for (int i = 0; i < ndim; i++) {
            v->type.dims[i].kind = dims[i] >= 0 ? OC_DIM_VALUE : OC_DIM_UNKNOWN;
            v->type.dims[i].value = dims[i];
        }
    }
    if (g->n_value_info) memcpy(nv, g->value_info, g->n_value_info * sizeof(oc_value *));
    nv[g->n_value_info++] = v;
    g->value_info = nv;
    return v;
}

/* ---- dead code ---- */

typedef struct live_ctx {
    oc_strmap *live;
    bool oom;
} live_ctx;

static void mark_live(void *p, const char *nm)
{
    live_ctx *l = p;
    if (!oc_strmap_put(l->live, nm, NULL)) l->oom = true;
}

size_t oc_graph_remove_dead(oc_graph *g)
{
    size_t removed = 0;
    oc_strmap live;
    oc_strmap_init(&live);
    live_ctx lc = {&live, false};
    for (size_t i = 0; i < g->n_outputs; i++) mark_live(&lc, g->outputs[i]->name);
    /* walk backwards: in a sorted graph a reader comes after its producer,
     * and repeat until nothing changes for graphs that are not sorted */
    bool *keep = oc_calloc(g->n_nodes ? g->n_nodes : 1, sizeof(bool));
    if (!keep) goto done;
    bool changed = true;
    while (changed && !lc.oom) {
        changed = false;
        for (size_t i = g->n_nodes; i-- > 0;) {
            if (keep[i]) continue;
            oc_node *n = g->nodes[i];
            bool k = !oc_domain_is_default(n->domain); /* unknown ops may have effects */
            for (size_t o = 0; o < n->n_outputs && !k; o++)
                if (*n->outputs[o] && oc_strmap_get(&live, n->outputs[o])) k = true;
            if (!k) continue;
            keep[i] = true;
            changed = true;
            node_reads(g, n, mark_live, &lc);
        }
    }
    if (lc.oom) goto done;
    size_t w = 0;
    for (size_t i = 0; i < g->n_nodes; i++) {
        if (keep[i])
            g->nodes[w++] = g->nodes[i];
        else
            removed++;
    }
    g->n_nodes = w;
    w = 0;
    for (size_t i = 0; i < g->n_inits; i++) {
        oc_tensor *t = g->inits[i];
        if (t->name && (oc_strmap_get(&live, t->name) || oc_graph_is_input(g, t->name)))
            g->inits[w++] = t;
        else
            removed++;
    }
    g->n_inits = w;
    if (removed) oc_graph_invalidate(g);
done:
    oc_free(keep);
    oc_strmap_free(&live);
    return removed;
}

/* ---- unique names ---- */

static void collect_names_graph(oc_strmap *s, oc_graph *g, bool *oom);

static void collect_sub(void *p, oc_graph *sub)
{
    void **pp = p;
    collect_names_graph(pp[0], sub, pp[1]);
}

static void put_name(oc_strmap *s, const char *nm, bool *oom)
{
    if (nm && *nm && !oc_strmap_put(s, nm, NULL)) *oom = true;
}

static void collect_names_graph(oc_strmap *s, oc_graph *g, bool *oom)
{
    for (size_t i = 0; i < g->n_inputs; i++) put_name(s, g->inputs[i]->name, oom);
    for (size_t i = 0; i < g->n_outputs; i++) put_name(s, g->outputs[i]->name, oom);
    for (size_t i = 0; i < g->n_value_info; i++) put_name(s, g->value_info[i]->name, oom);
    for (size_t i = 0; i < g->n_inits; i++) put_name(s, g->inits[i]->name, oom);
    for (size_t i = 0; i < g->n_nodes; i++) {
        oc_node *n = g->nodes[i];
        put_name(s, n->name, oom);
        for (size_t k = 0; k < n->n_inputs; k++) put_name(s, n->inputs[k], oom);
        for (size_t k = 0; k < n->n_outputs; k++) put_name(s, n->outputs[k], oom);
        void *pp[2] = {s, oom};
        oc_node_foreach_subgraph(n, collect_sub, pp);
    }
}

static oc_strmap *name_set(oc_model *m)
{
    if (m->names) return m->names;
    oc_strmap *s = oc_calloc(1, sizeof(*s));
    if (!s) return NULL;
    oc_strmap_init(s);
    bool oom = false;
    if (m->graph) collect_names_graph(s, m->graph, &oom);
    if (oom) {
        oc_strmap_free(s);
        oc_free(s);
        return NULL;
    }
    m->names = s;
    return s;
}

static bool note_name(oc_model *m, const char *name)
{
    if (!m->names) return true; /* collected in full when first needed */
    return oc_strmap_put(m->names, name, NULL) != NULL;
}

const char *oc_graph_unique_name(oc_graph *g, const char *base)
{
    oc_model *m = g->model;
    oc_strmap *s = name_set(m);
    if (!s) return NULL;
    if (!oc_strmap_get(s, base)) {
        const char *r = oc_arena_strdup(m->arena, base);
        if (r && !oc_strmap_put(s, r, NULL)) return NULL;
        return r;
    }
    size_t n = strlen(base) + 24;
    char *buf = oc_arena_alloc(m->arena, n);
    if (!buf) return NULL;
    do {
        snprintf(buf, n, "%s_%llu", base, (unsigned long long)++m->name_counter);
    } while (oc_strmap_get(s, buf));
    if (!oc_strmap_put(s, buf, NULL)) return NULL;
    return buf;
}
