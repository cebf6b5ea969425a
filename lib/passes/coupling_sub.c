/* coupling_sub.c: the channel analysis across the graphs of a model (see
 * coupling.h): the list of graphs (the main graph, then every If, Loop
 * and Scan body, nested ones too), which graph defines a name seen from a
 * body, whether a name means one value model-wide (so that a shape the
 * observer reported under it is that value's), and the check that every
 * reader of a sliced constant, in any graph, is part of the analysis.
 *
 * Bodies are walked as graphs of their own (coupling.c's explore); the
 * only ties between graphs are constants. A weight an If branch reads from
 * the main graph (an outer-scope initializer) may be read elsewhere too: by
 * the other branch, by a main-graph node, by a nested body. It is shrunk
 * only when every one of those readers registered it during the analysis,
 * which then tied their channel spaces into one group; any other reader
 * refuses the group. Copying the weight into the body first would let one
 * reader's slice go while the others keep the whole: but it adds a second
 * copy of the weight to a model being made smaller, and readers of one
 * weight are in practice the same layer in two branches, which the tie
 * already prunes together. Refusing is also what a main-graph weight read
 * by a node the analysis does not know has always got. */
#include "coupling_int.h"

/* Notes that graph cg defines nm (once per graph: an input with a
 * default initializer is one definition). */
static bool add_name(cpl *c, cgraph *cg, const char *nm)
{
    if (!nm || !*nm) return true;
    bool added;
    oc_strmap_entry *e = oc_strmap_put(&cg->local, nm, &added);
    if (!e) return cpl_fail_nomem(c);
    if (!added) return true;
    e = oc_strmap_put(&c->priv->defs, nm, &added);
    if (!e) return cpl_fail_nomem(c);
    e->aux++;
    return true;
}

/* Adds g (held by attribute `attr` of `owner`) and the names it defines. */
static bool add_graph(cpl *c, oc_graph *g, const oc_node *owner, const char *attr)
{
    priv *p = c->priv;
    if (!cpl_grow(c, (void **)&p->graphs, &p->cap_graphs, p->n_graphs + 1, sizeof(cgraph))) return false;
    cgraph *cg = &p->graphs[p->n_graphs++];
    *cg = (cgraph){.g = g, .owner = owner, .attr = attr};
    oc_strmap_init(&cg->local);
    for (size_t i = 0; i < g->n_inputs; i++)
        if (!add_name(c, cg, g->inputs[i]->name)) return false;
    for (size_t i = 0; i < g->n_inits; i++)
        if (!add_name(c, cg, g->inits[i]->name)) return false;
    for (size_t i = 0; i < g->n_nodes; i++)
        for (size_t k = 0; k < g->nodes[i]->n_outputs; k++)
            if (!add_name(c, cg, g->nodes[i]->outputs[k])) return false;
    return true;
}

/* Every graph of the model, the main graph first, bodies breadth first (a
 * list, not a recursion: nesting depth is the file's to choose). */
bool cpl_graphs_collect(cpl *c)
{
    priv *p = c->priv;
    if (!add_graph(c, c->g, NULL, NULL)) return false;
    for (size_t gi = 0; gi < p->n_graphs; gi++) {
        oc_graph *g = p->graphs[gi].g;
        for (size_t i = 0; i < g->n_nodes; i++) {
            const oc_node *n = g->nodes[i];
            for (size_t a = 0; a < n->n_attrs; a++) {
                const oc_attr *at = &n->attrs[a];
                if (at->g && !add_graph(c, at->g, n, at->name)) return false;
                for (size_t k = 0; k < at->n_graphs; k++)
                    if (at->graphs[k] && !add_graph(c, at->graphs[k], n, at->name)) return false;
            }
        }
    }
    return true;
}

void cpl_graphs_free(priv *p)
{
    for (size_t i = 0; i < p->n_graphs; i++) oc_strmap_free(&p->graphs[i].local);
    oc_free(p->graphs);
    oc_strmap_free(&p->defs);
}

static const cgraph *graph_info(const cpl *c, const oc_graph *g)
{
    for (size_t i = 0; i < c->priv->n_graphs; i++)
        if (c->priv->graphs[i].g == g) return &c->priv->graphs[i];
    return NULL;
}

/* The graph defining `name` as g sees it: g itself or the nearest
 * enclosing graph that defines it; NULL when none does. */
oc_graph *cpl_def_graph(cpl *c, oc_graph *g, const char *name)
{
    for (; g; g = g->parent) {
        const cgraph *cg = graph_info(c, g);
        if (cg && oc_strmap_get(&cg->local, name)) return g;
    }
    return NULL;
}

/* Exactly one graph of the model defines `name`. */
bool cpl_name_unique(const cpl *c, const char *name)
{
    const oc_strmap_entry *e = oc_strmap_get(&c->priv->defs, name);
    return e && e->aux == 1;
}

/* "the then_branch of If 'name'", for messages. */
void cpl_graph_label(const cpl *c, const oc_graph *g, char *buf, size_t cap)
{
    const cgraph *cg = graph_info(c, g);
    if (!cg || !cg->owner) {
        snprintf(buf, cap, "the main graph");
        return;
    }
    snprintf(buf, cap, "the %s of %s '%s'", cg->attr ? cg->attr : "subgraph", cg->owner->op_type,
             cpl_nname(cg->owner));
}

static bool known_reader(const priv *p, const oc_node *n, const char *name)
{
    for (size_t j = 0; j < p->n_readers; j++)
        if (p->readers[j].node == n && !strcmp(p->readers[j].name, name)) return true;
    return false;
}

/* Every reader of a member, in every graph where its name leads to the
 * member's tensor, must be a node that registered it; the tensor must not
 * be a graph output anywhere. */
void cpl_check_readers(cpl *c)
{
    priv *p = c->priv;
    if (!c->n_members) return;
    /* members by name: first + 1 in aux, the rest chained */
    oc_strmap by_name;
    oc_strmap_init(&by_name);
    size_t *next = oc_calloc(c->n_members, sizeof(size_t));
    if (!next) {
        cpl_fail_nomem(c);
        return;
    }
    for (size_t i = 0; i < c->n_members; i++) {
        bool added;
        oc_strmap_entry *e = oc_strmap_put(&by_name, c->members[i].name, &added);
        if (!e) {
            cpl_fail_nomem(c);
            goto cleanup;
        }
        next[i] = added ? 0 : e->aux;
        e->aux = (uint32_t)(i + 1);
    }
    for (size_t gi = 0; gi < p->n_graphs; gi++) {
        oc_graph *g = p->graphs[gi].g;
        char where[300] = "";
        if (gi) {
            char label[280];
            cpl_graph_label(c, g, label, sizeof(label));
            snprintf(where, sizeof(where), " in %s", label);
        }
        for (size_t i = 0; i < g->n_outputs; i++) {
            const char *nm = g->outputs[i]->name;
            const oc_strmap_entry *e = oc_strmap_get(&by_name, nm);
            const oc_tensor *t = e ? oc_graph_weight(g, nm) : NULL;
            for (size_t k = e ? e->aux : 0; t && k; k = next[k - 1])
                if (c->members[k - 1].t == t)
                    cpl_refuse(c, c->members[k - 1].space, "constant '%s' is a graph output%s", nm, where);
        }
        for (size_t i = 0; i < g->n_nodes; i++) {
            const oc_node *n = g->nodes[i];
            for (size_t a = 0; a < n->n_inputs; a++) {
                const char *nm = n->inputs[a];
                const oc_strmap_entry *e = *nm ? oc_strmap_get(&by_name, nm) : NULL;
                const oc_tensor *t = e ? oc_graph_weight(g, nm) : NULL;
                if (!t || known_reader(p, n, nm)) continue;
                for (size_t k = e->aux; k; k = next[k - 1])
                    if (c->members[k - 1].t == t)
                        cpl_refuse(c, c->members[k - 1].space, "constant '%s' is also read by node '%s' (%s)%s", nm,
                                   cpl_nname(n), n->op_type, where);
            }
        }
    }
cleanup:
    oc_strmap_free(&by_name);
    oc_free(next);
}
