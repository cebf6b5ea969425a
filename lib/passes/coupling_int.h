/* coupling_int.h: what coupling.c (the analysis: shapes, union-finds,
 * the walk, results), coupling_ops.c (one handler per op kind and the op
 * table) and coupling_sub.c (the graphs of a model: bodies, scopes, readers
 * across graphs) share. Private to those files. */
#ifndef OC_COUPLING_INT_H
#define OC_COUPLING_INT_H

#include "coupling.h"
#include "qdq.h"

#include "../exec/exec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- shapes ---- */

#define SHAPE_VALS 16 /* int tensors up to this size keep their values (Reshape shapes) */
#define REC_BLOCK 256
/* A dim nothing measured: a symbolic dim of a body's value_info. Handlers
 * needing it refuse ("shape of ... is unknown"). */
#define DIM_UNKNOWN (-1)

typedef struct shrec {
    int ndim;
    int64_t dims[OC_MAX_DIMS];
    uint32_t dyn;       /* bit d: dim d differed between the two runs (or iterations of a loop) */
    int n_vals;         /* -1: values not known */
    int64_t vals[SHAPE_VALS];
    int run;            /* the probe run that last recorded it */
    uint8_t seen;       /* bit 0: recorded by a first run, bit 1: seen by the second run */
} shrec;

typedef struct visit_slot {
    const oc_node *n;
    size_t space; /* + 1; 0 marks an empty slot */
} visit_slot;

typedef struct reader {
    const char *name;
    const oc_node *node;
} reader;

/* A graph of the model: the main graph (first) or a body. */
typedef struct cgraph {
    oc_graph *g;
    const oc_node *owner; /* the If/Loop/Scan node holding a body; NULL for the main graph */
    const char *attr;     /* its attribute: then_branch, else_branch, body */
    oc_strmap local;      /* the names it defines (inputs, initializers, node outputs) */
} cgraph;

struct oc_cpl_priv {
    oc_pass_run *r;
    oc_status st;
    int64_t opset;
    bool norm_approx;    /* oc_coupling_opts.norm_approx */
    /* graphs; handlers look names up in `cur`, the graph being walked */
    cgraph *graphs;
    size_t n_graphs, cap_graphs;
    oc_strmap defs;      /* name -> how many graphs define it (aux) */
    oc_graph *cur;
    /* shapes */
    oc_strmap shape_map; /* aux: record index + 1 */
    shrec **blocks;      /* records in blocks of REC_BLOCK: they never move */
    size_t n_recs, cap_blocks;
    int probe;           /* 0: first run records, 1: second run compares, 2: a run after a --data sample
                          * records what the sample did not reach */
    int run, data_run;   /* runs so far; the --data sample's */
    bool probe_ok, second_ok;
    /* spaces, elements */
    oc_strmap space_map; /* aux: first space of the value + 1 */
    size_t *space_next;  /* next space of the same value + 1 */
    size_t *gparent;     /* space union-find (groups) */
    size_t cap_spaces;
    int64_t *parent;     /* element union-find */
    int64_t cap_elems;
    visit_slot *visited;
    size_t cap_visited, n_visited;
    reader *readers;
    size_t n_readers, cap_readers;
    size_t cap_members, cap_edits, cap_sources, cap_approx;
    char **strs;
    size_t n_strs, cap_strs;
};

typedef struct oc_coupling cpl;
typedef struct oc_cpl_priv priv;


/* ---- what handlers record ---- */

typedef struct entry {
    oc_node *n;
    bool out;     /* the space is on one of n's outputs */
    size_t slot;  /* which input or output */
    int axis;
    size_t space;
} entry;

typedef void (*handler_fn)(cpl *c, const entry *e);

/* The graph being walked: where handlers look names up. */
static inline oc_graph *cpl_cur(const struct oc_coupling *c)
{
    return c->priv->cur;
}

/* ---- coupling.c, for the handlers ---- */
oc_cedit *cpl_add_edit(cpl *c, oc_cedit_kind kind, oc_node *n, size_t s, int index);
void cpl_add_member(cpl *c, const entry *e, oc_node *n, const char *name, int axis, size_t s, int64_t offset,
                       int64_t len, oc_crole role);
void cpl_add_source(cpl *c, oc_node *n, const char *w, int w_axis, size_t s, int64_t offset, int64_t count);
void cpl_add_approx(cpl *c, const entry *e);
void cpl_bind(cpl *c, const entry *e, oc_node *n, const char *value, int axis, size_t s, int64_t offset,
                 int64_t len);
bool cpl_fail_nomem(cpl *c);
bool cpl_has_input(const oc_node *n, size_t k);
bool cpl_has_output(const oc_node *n, size_t k);
int cpl_int_list(cpl *c, const oc_node *n, size_t k, const char *attr, int64_t *out, int cap);
bool cpl_is_graph_output(const oc_graph *g, const char *name);
void cpl_link_block(cpl *c, const entry *e, size_t merged, size_t ch, int64_t inner);
void cpl_link_range(cpl *c, const entry *e, size_t a, int64_t off_a, size_t b, int64_t off_b, int64_t len);
bool cpl_local_node(const oc_graph *g, const oc_node *n);
const shrec *cpl_need_shape(cpl *c, const entry *e, const char *name);
const char *cpl_nname(const oc_node *n);
int cpl_norm_axis(int64_t a, int rank);
int64_t cpl_out_space(cpl *c, const entry *e, size_t k, int a);
void cpl_refuse(cpl *c, size_t s, const char *fmt, ...) OC_PRINTF(3, 4);
bool cpl_selected(cpl *c, const entry *e);
const shrec *cpl_shape_of(cpl *c, const char *name);
bool cpl_source_ok(cpl *c, const entry *e);
int64_t cpl_space_get(cpl *c, const entry *e, const char *value, int axis);
void cpl_tie_groups(cpl *c, const entry *e, size_t s, int64_t groups, int64_t per);

/* ---- coupling_ops.c ---- */
bool cpl_dispatch(cpl *c, const entry *e);
bool cpl_table_sorted(void);

/* ---- coupling_sub.c ---- */
bool cpl_grow(cpl *c, void **arr, size_t *cap, size_t need, size_t elem);
bool cpl_graphs_collect(cpl *c);
void cpl_graphs_free(priv *p);
oc_graph *cpl_def_graph(cpl *c, oc_graph *g, const char *name);
bool cpl_name_unique(const cpl *c, const char *name);
void cpl_graph_label(const cpl *c, const oc_graph *g, char *buf, size_t cap);
void cpl_check_readers(cpl *c);

#endif
