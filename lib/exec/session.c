/* session.c: the interpreter's executor.
 *
 * oc_session_new() plans every graph of the model (the main graph and, once
 * each, every If/Loop/Scan body): it orders the nodes, gives every value a
 * slot, resolves names a subgraph takes from enclosing graphs to (depth,
 * slot) pairs, finds each node's kernel (refusing, before anything runs, an
 * op or attribute the interpreter lacks), and works out after which node each
 * value is read for the last time. oc_session_run() then walks the plan:
 * kernels allocate their outputs, and every intermediate tensor is freed right
 * after its last reader, so peak memory follows the largest live set rather
 * than the sum of all activations. Weights are views of the model's tensors
 * (copied only when their bytes are not aligned). An observer, when set, sees
 * every value as it is computed: the main graph's, and those of subgraphs
 * (a body's inputs included, once per iteration) whose name no other graph
 * defines. */
#include "exec.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/strmap.h"
#include "../ir/ir.h"

#define NO_SLOT (-1)
#define OUTER_BIT 0x40000000

typedef struct plan_node {
    oc_node *node;
    const oc_op_def *def;
    int64_t opset;
    int32_t *in;       /* slot, NO_SLOT for an omitted input, OUTER_BIT|i for outer ref i */
    int32_t *out;      /* slot or NO_SLOT for an unnamed output */
    int32_t *frees;    /* local slots whose last reader this node is */
    size_t n_frees;
} plan_node;

typedef struct plan {
    oc_graph *g;
    size_t n_slots;
    const char **slot_name;
    oc_strmap names;   /* name -> slot (aux) */
    oc_ten *consts;    /* initializer slots: views (or aligned copies) */
    bool *is_const;
    plan_node *nodes;
    size_t n_nodes;
    int32_t *in_slots; /* graph inputs bound by the caller (not initializers) */
    size_t n_in;
    const oc_value **in_vals;
    int32_t *out_refs; /* graph outputs: slot or OUTER_BIT|i */
    size_t n_out;
    /* names taken from enclosing graphs */
    size_t n_outer;
    const char **outer_name;
    int32_t *outer_depth, *outer_slot;
    struct plan *parent;
    /* per slot: handed to the observer (NULL: every slot, the main graph) */
    bool *watch;
} plan;

#define POOL_SLOTS 32

typedef struct pool_buf {
    void *p;
    size_t cap;
} pool_buf;

struct oc_session {
    oc_model *m;
    pool_buf pool[POOL_SLOTS]; /* buffers of freed tensors, for reuse */
    size_t n_pool;
    oc_arena *a;
    plan *main;
    plan **plans;      /* every plan, for subgraph lookup and freeing */
    oc_graph **plan_graphs;
    size_t n_plans, cap_plans;
    oc_observe_fn observe;
    void *observe_ud;
    oc_strmap defs;    /* value name -> how many graphs define it (aux) */
    int threads;
    bool every_branch; /* shape probes: If runs both branches */
};

typedef struct frame {
    const plan *p;
    oc_ten *vals;
    bool *has;
    struct frame *parent;
} frame;

struct oc_exec {
    oc_session *s;
    frame *cur;
    int depth;
};

/* ---- planning ---- */

static oc_status plan_graph(oc_ctx *ctx, oc_session *s, oc_graph *g, plan *parent, plan **out);

static int32_t slot_of(const plan *p, const char *name)
{
    oc_strmap_entry *e = oc_strmap_get(&p->names, name);
    return e ? (int32_t)e->aux : NO_SLOT;
}

static oc_status add_slot(oc_ctx *ctx, plan *p, oc_arena *a, const char *name, int32_t *slot)
{
    bool added;
    oc_strmap_entry *e = oc_strmap_put(&p->names, name, &added);
    if (!e) return oc_fail(ctx, OC_ERR_NOMEM, "out of memory planning the graph");
    if (added) {
        e->aux = (uint32_t)p->n_slots;
        p->slot_name[p->n_slots++] = name;
    }
    *slot = (int32_t)e->aux;
    (void)a;
    return OC_OK;
}

/* A reference to `name` from graph p: local slot, or an outer one. */
static oc_status ref_of(oc_ctx *ctx, oc_session *s, plan *p, const char *name, int32_t *ref, const char *who)
{
    int32_t sl = slot_of(p, name);
    if (sl != NO_SLOT) {
        *ref = sl;
        return OC_OK;
    }
    for (size_t i = 0; i < p->n_outer; i++)
        if (strcmp(p->outer_name[i], name) == 0) {
            *ref = OUTER_BIT | (int32_t)i;
            return OC_OK;
        }
    int depth = 1;
    for (plan *q = p->parent; q; q = q->parent, depth++) {
        int32_t qs = slot_of(q, name);
        if (qs == NO_SLOT) continue;
        /* outer arrays grow together: reallocate each to n+1 */
        const char **nn = oc_arena_array(s->a, p->n_outer + 1, sizeof(char *));
        int32_t *nd = oc_arena_array(s->a, p->n_outer + 1, sizeof(int32_t));
        int32_t *ns = oc_arena_array(s->a, p->n_outer + 1, sizeof(int32_t));
        if (!nn || !nd || !ns) return oc_fail(ctx, OC_ERR_NOMEM, "out of memory planning the graph");
        if (p->n_outer) {
            memcpy(nn, p->outer_name, p->n_outer * sizeof(char *));
            memcpy(nd, p->outer_depth, p->n_outer * sizeof(int32_t));
            memcpy(ns, p->outer_slot, p->n_outer * sizeof(int32_t));
        }
        nn[p->n_outer] = name;
        nd[p->n_outer] = depth;
        ns[p->n_outer] = qs;
        p->outer_name = nn;
        p->outer_depth = nd;
        p->outer_slot = ns;
        *ref = OUTER_BIT | (int32_t)p->n_outer++;
        return OC_OK;
    }
    return oc_fail(ctx, OC_ERR_INVALID, "%s: input '%s' is not produced anywhere", who, name);
}

/* Marks, for liveness, every local slot of p read inside n's subgraphs. */
static void sub_reads(plan *p, oc_graph *sub, size_t node_idx, size_t *last)
{
    for (size_t i = 0; i < sub->n_nodes; i++) {
        oc_node *n = sub->nodes[i];
        for (size_t k = 0; k < n->n_inputs; k++) {
            int32_t sl = *n->inputs[k] ? slot_of(p, n->inputs[k]) : NO_SLOT;
            if (sl != NO_SLOT && last[sl] < node_idx + 1) last[sl] = node_idx + 1;
        }
        for (size_t a = 0; a < n->n_attrs; a++) {
            if (n->attrs[a].g) sub_reads(p, n->attrs[a].g, node_idx, last);
            for (size_t k = 0; k < n->attrs[a].n_graphs; k++) sub_reads(p, n->attrs[a].graphs[k], node_idx, last);
        }
    }
    for (size_t i = 0; i < sub->n_outputs; i++) {
        int32_t sl = slot_of(p, sub->outputs[i]->name);
        if (sl != NO_SLOT && last[sl] < node_idx + 1) last[sl] = node_idx + 1;
    }
}

static oc_status const_view(oc_ctx *ctx, oc_session *s, const oc_tensor *t, oc_ten *v)
{
    memset(v, 0, sizeof(*v));
    if (t->ndim > OC_MAX_DIMS)
        return oc_fail(ctx, OC_ERR_UNSUPPORTED, "initializer '%s' has rank %d", t->name ? t->name : "", t->ndim);
    v->dtype = t->dtype;
    v->ndim = t->ndim;
    for (int i = 0; i < t->ndim; i++) v->dims[i] = t->dims[i];
    v->numel = t->numel;
    v->nbytes = t->nbytes;
    v->borrowed = true;
    v->strings = t->strings;
    if (t->data && oc_ten_misaligned(t->data, t->dtype)) {
        void *c = oc_arena_alloc(s->a, t->nbytes ? t->nbytes : 1);
        if (!c) return oc_fail(ctx, OC_ERR_NOMEM, "out of memory copying weights");
        memcpy(c, t->data, t->nbytes);
        v->data = c;
    } else {
        v->data = (void *)t->data;
    }
    return OC_OK;
}

static oc_status plan_graph(oc_ctx *ctx, oc_session *s, oc_graph *g, plan *parent, plan **out)
{
    oc_arena *a = s->a;
    plan *p = oc_arena_alloc(a, sizeof(*p));
    if (!p) return oc_fail(ctx, OC_ERR_NOMEM, "out of memory planning the graph");
    *out = p;
    p->g = g;
    p->parent = parent;
    oc_strmap_init(&p->names);
    size_t cap = s->cap_plans;
    if (!oc_arena_grow(a, (void **)&s->plans, &s->cap_plans, s->n_plans + 1, sizeof(plan *)) ||
        !oc_arena_grow(a, (void **)&s->plan_graphs, &cap, s->n_plans + 1, sizeof(oc_graph *)))
        return oc_fail(ctx, OC_ERR_NOMEM, "out of memory planning the graph");
    s->plans[s->n_plans] = p;
    s->plan_graphs[s->n_plans++] = g;

    size_t max_slots = g->n_inputs + g->n_inits;
    for (size_t i = 0; i < g->n_nodes; i++) max_slots += g->nodes[i]->n_outputs;
    p->slot_name = oc_arena_array(a, max_slots + 1, sizeof(char *));
    if (!p->slot_name) return oc_fail(ctx, OC_ERR_NOMEM, "out of memory planning the graph");
    int32_t sl;
    for (size_t i = 0; i < g->n_inputs; i++) FORWARD_IF_ERROR(add_slot(ctx, p, a, g->inputs[i]->name, &sl));
    for (size_t i = 0; i < g->n_inits; i++)
        if (g->inits[i]->name) FORWARD_IF_ERROR(add_slot(ctx, p, a, g->inits[i]->name, &sl));
    for (size_t i = 0; i < g->n_nodes; i++)
        for (size_t k = 0; k < g->nodes[i]->n_outputs; k++)
            if (*g->nodes[i]->outputs[k]) FORWARD_IF_ERROR(add_slot(ctx, p, a, g->nodes[i]->outputs[k], &sl));
    /* a name this graph defines (each slot name once per graph) */
    for (size_t i = 0; i < p->n_slots; i++) {
        bool added;
        oc_strmap_entry *e = oc_strmap_put(&s->defs, p->slot_name[i], &added);
        if (!e) return oc_fail(ctx, OC_ERR_NOMEM, "out of memory planning the graph");
        e->aux++;
    }

    p->consts = oc_arena_array(a, p->n_slots + 1, sizeof(oc_ten));
    p->is_const = oc_arena_array(a, p->n_slots + 1, sizeof(bool));
    if (!p->consts || !p->is_const) return oc_fail(ctx, OC_ERR_NOMEM, "out of memory planning the graph");
    for (size_t i = 0; i < g->n_inits; i++) {
        oc_tensor *t = g->inits[i];
        if (!t->name) continue;
        int32_t cs = slot_of(p, t->name);
        FORWARD_IF_ERROR(const_view(ctx, s, t, &p->consts[cs]));
        p->is_const[cs] = true;
    }
    /* the interpreter runs tensors only: sequences, maps and optionals are refused */
    for (size_t i = 0; i < g->n_inputs + g->n_outputs; i++) {
        const oc_value *v = i < g->n_inputs ? g->inputs[i] : g->outputs[i - g->n_inputs];
        if (v->has_type && v->type.kind != OC_TYPE_TENSOR)
            return oc_fail(ctx, OC_ERR_UNSUPPORTED, "graph '%s': %s '%s' is a %s; the interpreter runs tensors only",
                           g->name ? g->name : "", i < g->n_inputs ? "input" : "output", v->name,
                           v->type.kind == OC_TYPE_SEQUENCE ? "sequence" : v->type.kind == OC_TYPE_MAP ? "map"
                           : v->type.kind == OC_TYPE_OPTIONAL ? "optional" : "non-tensor value");
    }
    /* inputs the caller binds: graph inputs without an initializer */
    p->in_slots = oc_arena_array(a, g->n_inputs + 1, sizeof(int32_t));
    p->in_vals = oc_arena_array(a, g->n_inputs + 1, sizeof(oc_value *));
    if (!p->in_slots || !p->in_vals) return oc_fail(ctx, OC_ERR_NOMEM, "out of memory planning the graph");
    for (size_t i = 0; i < g->n_inputs; i++) {
        int32_t is = slot_of(p, g->inputs[i]->name);
        if (p->is_const[is] && !parent) continue; /* initializer default: not bound */
        p->is_const[is] = false;                  /* a subgraph input always comes from the caller */
        p->in_vals[p->n_in] = g->inputs[i];
        p->in_slots[p->n_in++] = is;
    }

    /* order */
    size_t *order = oc_malloc((g->n_nodes ? g->n_nodes : 1) * sizeof(size_t));
    size_t *last = oc_calloc(p->n_slots + 1, sizeof(size_t));
    if (!order || !last) {
        oc_free(order);
        oc_free(last);
        return oc_fail(ctx, OC_ERR_NOMEM, "out of memory planning the graph");
    }
    oc_status st = oc_graph_topo_order(ctx, g, order);
    if (st != OC_OK) goto done;
    p->nodes = oc_arena_array(a, g->n_nodes + 1, sizeof(plan_node));
    if (!p->nodes) {
        st = oc_fail(ctx, OC_ERR_NOMEM, "out of memory planning the graph");
        goto done;
    }
    p->n_nodes = g->n_nodes;
    for (size_t oi = 0; oi < g->n_nodes; oi++) {
        oc_node *n = g->nodes[order[oi]];
        plan_node *pn = &p->nodes[oi];
        pn->node = n;
        char who[300];
        snprintf(who, sizeof(who), "node '%s' (%s)", n->name ? n->name : "", n->op_type);
        pn->opset = oc_model_opset(s->m, n->domain);
        if (pn->opset == 0 && oc_domain_is_default(n->domain)) pn->opset = 1;
        pn->def = oc_op_find(n->domain ? n->domain : "", n->op_type, pn->opset);
        if (!pn->def) {
            st = oc_fail(ctx, OC_ERR_UNSUPPORTED, "%s%s%s: the interpreter has no kernel for this op%s", who,
                         n->domain && *n->domain ? " in domain " : "", n->domain && *n->domain ? n->domain : "",
                         pn->opset ? "" : " (domain not imported)");
            goto done;
        }
        /* every op of ours has an output, and all but the generators an
         * input: kernels may then read in[0] / write out[0] */
        if (!n->n_outputs || (!n->n_inputs && strcmp(n->op_type, "Constant") && strcmp(n->op_type, "RandomNormal") &&
                              strcmp(n->op_type, "RandomUniform"))) {
            st = oc_fail(ctx, OC_ERR_INVALID, "%s: has no %s", who, n->n_outputs ? "inputs" : "outputs");
            goto done;
        }
        pn->in = oc_arena_array(a, n->n_inputs + 1, sizeof(int32_t));
        pn->out = oc_arena_array(a, n->n_outputs + 1, sizeof(int32_t));
        if (!pn->in || !pn->out) {
            st = oc_fail(ctx, OC_ERR_NOMEM, "out of memory planning the graph");
            goto done;
        }
        for (size_t k = 0; k < n->n_inputs; k++) {
            if (!*n->inputs[k]) {
                pn->in[k] = NO_SLOT;
                continue;
            }
            st = ref_of(ctx, s, p, n->inputs[k], &pn->in[k], who);
            if (st != OC_OK) goto done;
            if (!(pn->in[k] & OUTER_BIT) && last[pn->in[k]] < oi + 1) last[pn->in[k]] = oi + 1;
        }
        for (size_t k = 0; k < n->n_outputs; k++) pn->out[k] = *n->outputs[k] ? slot_of(p, n->outputs[k]) : NO_SLOT;
        /* subgraphs: plan them, and count what they read from here */
        for (size_t ai = 0; ai < n->n_attrs; ai++) {
            oc_attr *at = &n->attrs[ai];
            oc_graph *subs[64];
            size_t ns = 0;
            if (at->g) subs[ns++] = at->g;
            for (size_t k = 0; k < at->n_graphs && ns < 64; k++) subs[ns++] = at->graphs[k];
            for (size_t k = 0; k < ns; k++) {
                plan *sp;
                st = plan_graph(ctx, s, subs[k], p, &sp);
                if (st != OC_OK) goto done;
                sub_reads(p, subs[k], oi, last);
            }
        }
        if (pn->def->prepare) {
            oc_kctx kc = {.ctx = ctx, .node = n, .opset = pn->opset, .ex = NULL, .threads = s->threads};
            st = pn->def->prepare(&kc);
            if (st != OC_OK) goto done;
        }
    }
    /* graph outputs live to the end */
    p->out_refs = oc_arena_array(a, g->n_outputs + 1, sizeof(int32_t));
    if (!p->out_refs) {
        st = oc_fail(ctx, OC_ERR_NOMEM, "out of memory planning the graph");
        goto done;
    }
    p->n_out = g->n_outputs;
    for (size_t i = 0; i < g->n_outputs; i++) {
        char who[300];
        snprintf(who, sizeof(who), "graph '%s' output", g->name ? g->name : "");
        st = ref_of(ctx, s, p, g->outputs[i]->name, &p->out_refs[i], who);
        if (st != OC_OK) goto done;
        if (!(p->out_refs[i] & OUTER_BIT)) last[p->out_refs[i]] = SIZE_MAX;
    }
    /* frees per node */
    size_t *nfree = oc_calloc(p->n_nodes + 1, sizeof(size_t));
    if (!nfree) {
        st = oc_fail(ctx, OC_ERR_NOMEM, "out of memory planning the graph");
        goto done;
    }
    for (size_t i = 0; i < p->n_slots; i++)
        if (!p->is_const[i] && last[i] && last[i] != SIZE_MAX) nfree[last[i] - 1]++;
    for (size_t i = 0; i < p->n_nodes; i++) {
        p->nodes[i].frees = oc_arena_array(a, nfree[i] + 1, sizeof(int32_t));
        if (!p->nodes[i].frees) {
            oc_free(nfree);
            st = oc_fail(ctx, OC_ERR_NOMEM, "out of memory planning the graph");
            goto done;
        }
    }
    oc_free(nfree);
    for (size_t i = 0; i < p->n_slots; i++)
        if (!p->is_const[i] && last[i] && last[i] != SIZE_MAX) {
            plan_node *pn = &p->nodes[last[i] - 1];
            pn->frees[pn->n_frees++] = (int32_t)i;
        }
done:
    oc_free(order);
    oc_free(last);
    return st;
}

static void free_plans(oc_session *s)
{
    for (size_t i = 0; i < s->n_plans; i++) oc_strmap_free(&s->plans[i]->names);
    oc_strmap_free(&s->defs);
}

/* Which subgraph values the observer sees: those whose name no other graph
 * of the model defines, so that a name given to the observer always means
 * one value (ONNX names are unique model-wide in practice; sibling If
 * branches may reuse one, and a body may shadow an outer name). */
static oc_status plan_watch(oc_ctx *ctx, oc_session *s)
{
    for (size_t i = 0; i < s->n_plans; i++) {
        plan *p = s->plans[i];
        if (!p->parent) continue;
        p->watch = oc_arena_array(s->a, p->n_slots + 1, sizeof(bool));
        if (!p->watch) return oc_fail(ctx, OC_ERR_NOMEM, "out of memory planning the graph");
        for (size_t k = 0; k < p->n_slots; k++) {
            const oc_strmap_entry *e = oc_strmap_get(&s->defs, p->slot_name[k]);
            p->watch[k] = e && e->aux == 1;
        }
    }
    return OC_OK;
}

/* OpenBLAS's own thread count, kept by oc_blas_park for sessions that ask
 * for no particular count (0 until then: such sessions leave OpenBLAS as it
 * is). Written once, before any session. */
static int blas_default;
extern int blas_thread_shutdown_(void) __attribute__((weak));

void oc_blas_park(void)
{
    if (!blas_thread_shutdown_ || blas_default) return;
    blas_default = openblas_get_num_threads();
    openblas_set_num_threads(1);
    blas_thread_shutdown_();
}

oc_status oc_session_new(oc_ctx *ctx, oc_model *m, const oc_run_opts *opts, oc_session **out)
{
    *out = NULL;
    oc_session *s = oc_calloc(1, sizeof(*s));
    if (!s) return oc_fail(ctx, OC_ERR_NOMEM, "out of memory");
    s->a = oc_arena_new();
    if (!s->a) {
        oc_free(s);
        return oc_fail(ctx, OC_ERR_NOMEM, "out of memory");
    }
    s->m = m;
    oc_strmap_init(&s->defs);
    s->threads = opts && opts->threads > 0 ? opts->threads : 0;
    /* only on a change: setting a count re-creates a parked pool */
    const int want = s->threads > 0 ? s->threads : blas_default;
    if (want > 0 && want != openblas_get_num_threads()) openblas_set_num_threads(want);
    oc_status st = plan_graph(ctx, s, m->graph, NULL, &s->main);
    if (st == OC_OK) st = plan_watch(ctx, s);
    if (st != OC_OK) {
        oc_session_free(s);
        return st;
    }
    *out = s;
    return OC_OK;
}

void oc_session_free(oc_session *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n_pool; i++) oc_aligned_free(s->pool[i].p);
    free_plans(s);
    oc_arena_free(s->a);
    oc_free(s);
}

size_t oc_session_n_inputs(const oc_session *s) { return s->main->n_in; }
const oc_value *oc_session_input(const oc_session *s, size_t i) { return i < s->main->n_in ? s->main->in_vals[i] : NULL; }
size_t oc_session_n_outputs(const oc_session *s) { return s->main->n_out; }
const oc_value *oc_session_output(const oc_session *s, size_t i) { return i < s->main->n_out ? s->main->g->outputs[i] : NULL; }

void oc_session_set_observer(oc_session *s, oc_observe_fn fn, void *ud)
{
    s->observe = fn;
    s->observe_ud = ud;
}

void oc_session_set_every_branch(oc_session *s, bool on)
{
    s->every_branch = on;
}

bool oc_exec_every_branch(const struct oc_exec *ex)
{
    return ex && ex->s->every_branch;
}

/* ---- buffer pool ----
 * Tensors freed after their last reader give their buffer back here; the
 * next allocation of a similar size takes it. glibc would otherwise map and
 * unmap large buffers for every node, page-faulting each time. */

void *oc_exec_buf_get(struct oc_exec *ex, size_t cap)
{
    oc_session *s = ex->s;
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < s->n_pool; i++) {
        size_t c = s->pool[i].cap;
        if (c >= cap && c / 2 <= cap && (best == SIZE_MAX || c < s->pool[best].cap)) best = i;
    }
    if (best == SIZE_MAX) return NULL;
    void *p = s->pool[best].p;
    s->pool[best] = s->pool[--s->n_pool];
    return p;
}

/* Releases t, keeping its buffer for reuse when it owns one. */
static void pool_release(oc_session *s, oc_ten *t)
{
    if (t->borrowed || !t->data || t->dtype == OC_DTYPE_STRING) {
        oc_ten_release(t);
        return;
    }
    size_t cap = (t->nbytes + 63) & ~(size_t)63;
    if (!cap) cap = 64;
    if (s->n_pool == POOL_SLOTS) {
        /* full: drop the smallest, which saves the least */
        size_t small = 0;
        for (size_t i = 1; i < s->n_pool; i++)
            if (s->pool[i].cap < s->pool[small].cap) small = i;
        if (s->pool[small].cap >= cap) {
            oc_ten_release(t);
            return;
        }
        oc_aligned_free(s->pool[small].p);
        s->pool[small] = s->pool[--s->n_pool];
    }
    s->pool[s->n_pool].p = t->data;
    s->pool[s->n_pool].cap = cap;
    s->n_pool++;
    memset(t, 0, sizeof(*t));
}

/* ---- running ---- */

static const oc_ten *frame_get(const frame *f, int32_t ref)
{
    if (ref == NO_SLOT) return NULL;
    if (ref & OUTER_BIT) {
        int32_t i = ref & ~OUTER_BIT;
        const frame *q = f;
        for (int d = 0; d < f->p->outer_depth[i] && q; d++) q = q->parent;
        return q ? frame_get(q, f->p->outer_slot[i]) : NULL;
    }
    if (f->p->is_const[ref]) return &f->p->consts[ref];
    return f->has[ref] ? &f->vals[ref] : NULL;
}

static void frame_release(frame *f)
{
    for (size_t i = 0; i < f->p->n_slots; i++)
        if (f->has[i]) oc_ten_release(&f->vals[i]);
    oc_free(f->vals);
    oc_free(f->has);
}

static oc_status run_plan(oc_ctx *ctx, oc_session *s, frame *f, struct oc_exec *ex)
{
    const plan *p = f->p;
    oc_ten outs_local[16];
    const oc_ten *ins_local[32];
    for (size_t i = 0; i < p->n_nodes; i++) {
        const plan_node *pn = &p->nodes[i];
        oc_node *n = pn->node;
        const oc_ten **ins = ins_local;
        oc_ten *outs = outs_local;
        if (n->n_inputs > 32) ins = oc_malloc(n->n_inputs * sizeof(*ins));
        if (n->n_outputs > 16) outs = oc_malloc(n->n_outputs * sizeof(*outs));
        if (!ins || !outs) {
            if (ins != ins_local) oc_free(ins);
            if (outs != outs_local) oc_free(outs);
            return oc_fail(ctx, OC_ERR_NOMEM, "out of memory running node '%s'", n->name ? n->name : "");
        }
        memset(outs, 0, n->n_outputs * sizeof(*outs));
        oc_status st = OC_OK;
        for (size_t k = 0; k < n->n_inputs; k++) {
            ins[k] = frame_get(f, pn->in[k]);
            if (pn->in[k] != NO_SLOT && !ins[k]) {
                st = oc_fail(ctx, OC_ERR_INVALID, "node '%s' (%s): input '%s' has no value (an optional output "
                             "that was not produced?)", n->name ? n->name : "", n->op_type, n->inputs[k]);
                break;
            }
        }
        if (st == OC_OK) {
            oc_kctx kc = {.ctx = ctx, .node = n, .opset = pn->opset, .ex = ex, .threads = s->threads};
            frame *saved = ex->cur;
            ex->cur = f;
            st = pn->def->run(&kc, (const oc_ten *const *)ins, n->n_inputs, outs, n->n_outputs);
            if (st == OC_ERR_UNSUPPORTED && oc_ten_any_half((const oc_ten *const *)ins, n->n_inputs)) {
                /* a float32-only kernel (Conv, MatMul... in what `--quant
                 * fp16` writes): again on widened inputs, outputs narrowed
                 * back; its own refusal then says more than the type's */
                const oc_ctx refused = *ctx;
                for (size_t k = 0; k < n->n_outputs; k++) oc_ten_release(&outs[k]);
                memset(outs, 0, n->n_outputs * sizeof(*outs));
                oc_ctx_init(ctx);
                st = oc_run_widened(&kc, (const oc_ten *const *)ins, n->n_inputs, outs, n->n_outputs, pn->def->run);
                if (st != OC_OK && ctx->status == OC_OK) *ctx = refused, st = refused.status;
            }
            ex->cur = saved;
        }
        if (st == OC_OK) {
            for (size_t k = 0; k < n->n_outputs; k++) {
                int32_t sl = pn->out[k];
                /* an optional output the kernel did not produce has no type */
                if (sl == NO_SLOT || outs[k].dtype == 0) {
                    oc_ten_release(&outs[k]);
                    continue;
                }
                if (f->has[sl]) oc_ten_release(&f->vals[sl]);
                f->vals[sl] = outs[k];
                f->has[sl] = outs[k].dtype != 0;
                if (s->observe && f->has[sl] && (!p->watch || p->watch[sl]))
                    s->observe(s->observe_ud, n->outputs[k], &f->vals[sl]);
            }
            for (size_t k = 0; k < pn->n_frees; k++) {
                int32_t sl = pn->frees[k];
                if (f->has[sl]) {
                    pool_release(s, &f->vals[sl]);
                    f->has[sl] = false;
                }
            }
        } else {
            for (size_t k = 0; k < n->n_outputs; k++) oc_ten_release(&outs[k]);
        }
        if (ins != ins_local) oc_free(ins);
        if (outs != outs_local) oc_free(outs);
        FORWARD_IF_ERROR(st);
    }
    return OC_OK;
}

static oc_status copy_out(oc_ctx *ctx, const oc_ten *src, oc_ten *dst)
{
    if (src->dtype == OC_DTYPE_STRING) {
        *dst = *src;
        dst->borrowed = true;
        dst->data = NULL;
        return OC_OK;
    }
    FORWARD_IF_ERROR(oc_ten_new(ctx, dst, src->dtype, src->ndim, src->dims));
    if (src->nbytes) memcpy(dst->data, src->data, src->nbytes);
    return OC_OK;
}

/* Moves (or copies, for consts and outer values) frame outputs to outs. */
static oc_status take_outputs(oc_ctx *ctx, frame *f, oc_ten *outs, size_t n_out)
{
    const plan *p = f->p;
    for (size_t i = 0; i < n_out && i < p->n_out; i++) {
        int32_t ref = p->out_refs[i];
        const oc_ten *v = frame_get(f, ref);
        if (!v) {
            for (size_t k = 0; k < i; k++) oc_ten_release(&outs[k]);
            return oc_fail(ctx, OC_ERR_INVALID, "graph '%s': output '%s' was not computed",
                           p->g->name ? p->g->name : "", p->g->outputs[i]->name);
        }
        bool movable = !(ref & OUTER_BIT) && !p->is_const[ref] && f->has[ref] && !f->vals[ref].borrowed;
        /* the same value may be listed twice as an output: move once */
        for (size_t k = i + 1; k < p->n_out; k++)
            if (p->out_refs[k] == ref) movable = false;
        if (movable) {
            outs[i] = f->vals[ref];
            f->has[ref] = false;
            memset(&f->vals[ref], 0, sizeof(oc_ten));
        } else {
            oc_status st = copy_out(ctx, v, &outs[i]);
            if (st != OC_OK) {
                for (size_t k = 0; k < i; k++) oc_ten_release(&outs[k]);
                return st;
            }
        }
    }
    return OC_OK;
}

static oc_status bind_input(oc_ctx *ctx, frame *f, size_t i, const oc_ten *in, bool check)
{
    const plan *p = f->p;
    const oc_value *v = p->in_vals[i];
    if (check && v->has_type && v->type.kind == OC_TYPE_TENSOR) {
        if (v->type.elem_type && in->dtype != v->type.elem_type)
            return oc_fail(ctx, OC_ERR_USAGE, "input '%s': got %s data, the model wants %s", v->name,
                           oc_dtype_name(in->dtype), oc_dtype_name(v->type.elem_type));
        if (v->type.has_shape) {
            if (in->ndim != v->type.ndim)
                return oc_fail(ctx, OC_ERR_USAGE, "input '%s': got rank %d, the model wants rank %d", v->name,
                               in->ndim, v->type.ndim);
            for (int d = 0; d < in->ndim; d++)
                if (v->type.dims[d].kind == OC_DIM_VALUE && v->type.dims[d].value != in->dims[d] &&
                    v->type.dims[d].value > 0)
                    return oc_fail(ctx, OC_ERR_USAGE, "input '%s': dim %d is %lld, the model wants %lld", v->name,
                                   d, (long long)in->dims[d], (long long)v->type.dims[d].value);
        }
    }
    int32_t sl = p->in_slots[i];
    oc_ten view = *in;
    view.borrowed = true; /* the caller keeps ownership */
    f->vals[sl] = view;
    f->has[sl] = true;
    return OC_OK;
}

static oc_status frame_init(oc_ctx *ctx, frame *f, const plan *p, frame *parent)
{
    memset(f, 0, sizeof(*f));
    f->p = p;
    f->parent = parent;
    f->vals = oc_calloc(p->n_slots + 1, sizeof(oc_ten));
    f->has = oc_calloc(p->n_slots + 1, sizeof(bool));
    if (!f->vals || !f->has) {
        oc_free(f->vals);
        oc_free(f->has);
        return oc_fail(ctx, OC_ERR_NOMEM, "out of memory");
    }
    return OC_OK;
}

oc_status oc_session_run(oc_ctx *ctx, oc_session *s, const oc_ten *inputs, oc_ten *outputs)
{
    frame f;
    FORWARD_IF_ERROR(frame_init(ctx, &f, s->main, NULL));
    struct oc_exec ex = {.s = s, .cur = &f};
    oc_status st = OC_OK;
    for (size_t i = 0; i < s->main->n_in && st == OC_OK; i++) st = bind_input(ctx, &f, i, &inputs[i], true);
    if (st == OC_OK) st = run_plan(ctx, s, &f, &ex);
    if (st == OC_OK) {
        memset(outputs, 0, s->main->n_out * sizeof(oc_ten));
        st = take_outputs(ctx, &f, outputs, s->main->n_out);
    }
    frame_release(&f);
    return st;
}

oc_status oc_exec_subgraph(oc_kctx *k, oc_graph *g, size_t n_in, const oc_ten *const *in, size_t n_out,
                           oc_ten *outs)
{
    struct oc_exec *ex = k->ex;
    if (!ex) return oc_kfail(k, OC_ERR_INTERNAL, "subgraph run outside a session");
    const plan *p = NULL;
    for (size_t i = 0; i < ex->s->n_plans; i++)
        if (ex->s->plan_graphs[i] == g) p = ex->s->plans[i];
    if (!p) return oc_kfail(k, OC_ERR_INTERNAL, "subgraph '%s' was not planned", g->name ? g->name : "");
    if (n_in != p->n_in)
        return oc_kfail(k, OC_ERR_INVALID, "subgraph '%s' takes %zu inputs, got %zu", g->name ? g->name : "", p->n_in,
                        n_in);
    if (n_out > p->n_out)
        return oc_kfail(k, OC_ERR_INVALID, "subgraph '%s' has %zu outputs, %zu wanted", g->name ? g->name : "",
                        p->n_out, n_out);
    if (ex->depth > 64) return oc_kfail(k, OC_ERR_INVALID, "subgraphs nested too deep");
    frame f;
    FORWARD_IF_ERROR(frame_init(k->ctx, &f, p, ex->cur));
    oc_status st = OC_OK;
    for (size_t i = 0; i < n_in && st == OC_OK; i++)
        if (in[i]) st = bind_input(k->ctx, &f, i, in[i], false);
    /* a body's inputs (loop-carried state, scan slices) are its values too */
    for (size_t i = 0; i < n_in && st == OC_OK && ex->s->observe; i++) {
        int32_t sl = p->in_slots[i];
        if (in[i] && f.has[sl] && p->watch[sl]) ex->s->observe(ex->s->observe_ud, p->in_vals[i]->name, &f.vals[sl]);
    }
    frame *saved = ex->cur;
    ex->depth++;
    if (st == OC_OK) st = run_plan(k->ctx, ex->s, &f, ex);
    ex->depth--;
    ex->cur = saved;
    if (st == OC_OK) {
        memset(outs, 0, n_out * sizeof(oc_ten));
        st = take_outputs(k->ctx, &f, outs, n_out);
    }
    frame_release(&f);
    return st;
}
