/* coupling.h: which channels of a model must be removed together.
 *
 * Structured pruning removes whole output channels of a layer, and every
 * tensor that carries such a channel must lose it too: the bias, the
 * BatchNormalization after it, the other operands of a residual Add, the
 * slice of a Concat, the columns of the Gemm behind a Flatten, the input
 * channels of the next layers. This module finds those ties on the main
 * graph and inside every If/Loop/Scan body, as one union-find over channel
 * spaces:
 *
 *   - a channel space is one axis of one value of one graph, "conv1_out,
 *     axis 1", with an element per channel; elements live in one
 *     union-find, and two elements in one class are removed together (a
 *     unit);
 *   - spaces linked by any op belong to one group, the unit of decisions
 *     and of refusals: a group whose channels reach a graph output, an op
 *     the table does not know, a Reshape it cannot follow... is left alone,
 *     with the first reason met;
 *   - members are the constant tensors sliced when units go (weights,
 *     biases, BatchNormalization parameters, per-channel constants, per-axis
 *     quantization scales), with the space element each tensor index maps
 *     to; edits are the node attributes and shape constants that change
 *     (group counts, Split sizes, Slice ranges, Reshape and Resize sizes);
 *   - sources are the layers whose output channels a group's units are:
 *     their weight slices give each unit its importance.
 *
 * Shapes come from running the interpreter once over the model (the first
 * --data sample, else zero inputs with symbolic dims filled in), plus a
 * second run with other symbolic sizes to tell static dims from dynamic
 * ones; value_info stands in when the model cannot run.
 *
 * Each subgraph body is walked as a graph of its own: channels reaching a
 * body's outputs or inputs, or a value it captures from an enclosing graph,
 * refuse their group, as a main graph's outputs and inputs do. What ties
 * graphs together are constants: a weight stored in an enclosing graph (an
 * outer-scope initializer) is one member wherever it is read, so the
 * layers of two branches sharing a weight are one group, and a weight with
 * any reader outside the analysed groups, in any graph, refuses its group
 * (coupling_sub.c). Shapes inside bodies come from the same runs: the
 * interpreter reports body values, and the probe runs both branches of
 * every If; a body the runs never reach falls back on its value_info, where
 * symbolic dims stay unknown.
 *
 * A normalisation over the channel axis (a ReduceMean whose only reduced
 * axis is the channels', a LayerNormalization over the last axis) mixes
 * every channel into the statistics of each: removing some changes the
 * others' values, so by default it refuses its group like a Softmax does.
 * With oc_coupling_opts.norm_approx it is let through as an approximation
 * (what LLM-Pruner-style structured pruning does): the ReduceMean becomes
 * a sink whose reduced axis (size 1) is not coupled, the LayerNormalization
 * passes its channels on and its scale and bias are sliced, and the group
 * records the node (oc_capprox) so the pass can say its result is no
 * longer exact.
 *
 * The analysis only reads the model; lib/passes/prune_channel.c decides
 * and edits. Groups are built over every Conv, ConvTranspose, Gemm and
 * MatMul with a constant float weight, in the main graph and in bodies. */
#ifndef OC_COUPLING_H
#define OC_COUPLING_H

#include "pass.h"

/* One axis of one value of one graph. */
typedef struct oc_cspace {
    const char *value;
    oc_graph *graph;     /* the graph whose value it is (the main graph or a body) */
    bool observable;     /* the interpreter's observer reports it under its name: a main-graph value, or a
                          * body value whose name no other graph defines */
    int axis;
    int64_t size;        /* channels along the axis */
    int64_t base;        /* its first element in the union-find */
    size_t group;        /* index into oc_coupling.groups */
    const char *reason;  /* the first refusal met at this space, or NULL */
} oc_cspace;

typedef enum oc_crole {
    OC_CROLE_SOURCE = 0,   /* a layer weight along its output-channel axis */
    OC_CROLE_PARAM = 1,    /* biases, normalisation and per-channel constants */
    OC_CROLE_CONSUMER = 2, /* a layer weight along its input-channel axis */
} oc_crole;

/* A constant tensor sliced along `axis`: tensor index j is element
 * `offset + j` of `space`. */
typedef struct oc_cmember {
    oc_node *node;       /* the node reading it */
    oc_graph *graph;     /* node's graph (the tensor may be stored in an enclosing one) */
    const char *name;    /* the value name of the tensor */
    oc_tensor *t;        /* an initializer or a Constant node's value */
    int axis;
    size_t space;
    int64_t offset;
    oc_crole role;
} oc_cmember;

typedef enum oc_cedit_kind {
    OC_CEDIT_GROUP = 0,   /* depthwise Conv/ConvTranspose: group = kept channels of `space` (its input) */
    OC_CEDIT_RESHAPE = 1, /* entry `index` of the constant input `slot` of `node` (a Reshape's shape, or a
                           * constant it is concatenated from) = kept channels of `space` (the output) */
    OC_CEDIT_RESIZE = 2,  /* sizes input (`slot` 3) entry `index` = kept channels of `space` (the output) */
    OC_CEDIT_SPLIT = 3,   /* split sizes recounted over `space` (the input), from `sizes` */
    OC_CEDIT_SLICE = 4,   /* starts/ends entry `index`: the range [start, start + len) of `space` (the input) */
} oc_cedit_kind;

typedef struct oc_cedit {
    oc_cedit_kind kind;
    oc_node *node;
    oc_graph *graph;     /* node's graph */
    size_t space;
    size_t slot;
    int index;
    int64_t start, len;  /* SLICE */
    int64_t *sizes;      /* SPLIT: the sizes before (n_sizes = the node's outputs) */
    size_t n_sizes;
} oc_cedit;

/* A layer whose output channels are elements offset .. offset+count-1 of
 * `space`: index j of its weight along w_axis is element offset + j. */
typedef struct oc_csource {
    oc_node *node;
    oc_graph *graph;     /* node's graph */
    const char *w_name;
    oc_tensor *w;
    int w_axis;
    size_t space;
    int64_t offset, count;
    size_t group;
} oc_csource;

/* A normalisation over the channels of `space` let through (norm_approx):
 * pruning its group makes the group's results approximate. */
typedef struct oc_capprox {
    const oc_node *node;
    oc_graph *graph;     /* node's graph */
    size_t space;
} oc_capprox;

typedef struct oc_cgroup {
    int64_t channels;    /* units: channel sets removed together */
    size_t n_spaces, n_members, n_sources, n_edits, n_consumers;
    size_t n_approx;     /* normalisation nodes let through (norm_approx) */
    const oc_node *approx; /* the first of them, for messages */
    const char *reason;  /* NULL when the group can be pruned */
    const char *first_value; /* a value of the group, for messages */
} oc_cgroup;

typedef struct oc_coupling {
    oc_model *m;
    oc_graph *g;
    oc_cspace *spaces;
    size_t n_spaces;
    oc_cmember *members;
    size_t n_members;
    oc_cedit *edits;
    size_t n_edits;
    oc_csource *sources;
    size_t n_sources;
    oc_cgroup *groups;
    size_t n_groups;
    oc_capprox *approx;
    size_t n_approx;
    /* element e of space s (e = s.base + j) belongs to unit unit[e];
     * unit_group[u] is its group */
    int64_t n_elems, n_units;
    int64_t *unit;
    size_t *unit_group;
    /* how the shapes were found: "interpreter", "interpreter (one run)" or
     * "value_info" */
    const char *shape_source;
    /* why the model could not be run, when shapes come from value_info */
    char probe_error[300];
    /* layers inside bodies left out because their output's shape is not
     * known (a body no run reached, without value_info), and the first */
    size_t n_unshaped;
    const oc_node *unshaped_first;
    struct oc_cpl_priv *priv;
} oc_coupling;

/* What the analysis lets through. Zeroed (or a NULL pointer): exact
 * pruning only. */
typedef struct oc_coupling_opts {
    bool norm_approx;    /* normalisations over the channel axis do not refuse their group (oc_capprox) */
} oc_coupling_opts;

/* Analyses r->m: the main graph and every subgraph body. Layers the
 * user's selection excludes (oc_pass_node_selected) refuse their groups.
 * With r->popts->data_src the first sample gives the shapes (a generated
 * run fills in bodies it does not reach). `o` may be NULL. On success
 * *out is freed with oc_coupling_free(); refusals are results, not
 * failures: only out-of-memory and a model the analysis cannot read
 * fail. */
oc_status oc_coupling_analyze(oc_pass_run *r, const oc_coupling_opts *o, oc_coupling **out);
void oc_coupling_free(oc_coupling *c);

/* The group holding space `value`/`axis` of the main graph, or -1. */
int64_t oc_coupling_group_of(const oc_coupling *c, const char *value, int axis);
/* The same in graph g (a body). */
int64_t oc_coupling_group_in(const oc_coupling *c, const oc_graph *g, const char *value, int axis);

/* Writes a few lines describing group gi (for tests and -v). */
void oc_coupling_describe(const oc_coupling *c, size_t gi, char *buf, size_t cap);

#endif
