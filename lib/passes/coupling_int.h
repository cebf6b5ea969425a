/* coupling_int.h: what coupling.c (the analysis: shapes, union-finds,
 * the walk, results) and coupling_ops.c (one handler per op kind and the
 * op table) share. Private to those two files. */
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

typedef struct shrec {
    int ndim;
    int64_t dims[OC_MAX_DIMS];
    uint32_t dyn;       /* bit d: dim d differed between the two runs */
    int n_vals;         /* -1: values not known */
    int64_t vals[SHAPE_VALS];
} shrec;

typedef struct visit_slot {
    const oc_node *n;
    size_t space; /* + 1; 0 marks an empty slot */
} visit_slot;

typedef struct reader {
    const char *name;
    const oc_node *node;
} reader;

struct oc_cpl_priv {
    oc_pass_run *r;
    oc_status st;
    int64_t opset;
    /* shapes */
    oc_strmap shape_map; /* aux: record index + 1 */
    shrec **blocks;      /* records in blocks of REC_BLOCK: they never move */
    size_t n_recs, cap_blocks;
    int probe;           /* 0: first run records, 1: second run compares */
    bool probe_ok;
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
    size_t cap_members, cap_edits, cap_sources;
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

/* ---- coupling.c, for the handlers ---- */
oc_cedit *cpl_add_edit(cpl *c, oc_cedit_kind kind, oc_node *n, size_t s, int index);
void cpl_add_member(cpl *c, const entry *e, oc_node *n, const char *name, int axis, size_t s, int64_t offset,
                       int64_t len, oc_crole role);
void cpl_add_source(cpl *c, oc_node *n, const char *w, int w_axis, size_t s, int64_t offset, int64_t count);
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

#endif
