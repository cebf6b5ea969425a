/* build.h: building small models by hand for the unit tests (test_opset.c,
 * test_prune_gram.c, test_prune_sparse.c, and channel_graphs.h for
 * test_coupling.c and test_prune_channel.c): a model with one graph at a
 * given opset and IR version, typed values, graph inputs and outputs, nodes
 * from "a,b" name lists, attributes, initializers from data or drawn from
 * a test's own generator, and subgraph bodies. Everything goes to the
 * current graph g (the main graph, or the body begun last) unless a
 * function takes a graph. Functions are static inline so a test that leaves
 * some unused still builds. */
#ifndef OC_TEST_BUILD_H
#define OC_TEST_BUILD_H

#include "ir/ir.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static oc_model *m;
static oc_graph *g;
static oc_ctx ctx; /* the context a test hands the library; begin() clears it */

/* ---- the model ---- */

/* A new model m with one empty graph g ("main"), the default domain at
 * `opset`, and room for 16 graph inputs and outputs. */
static inline void begin(int64_t opset, int64_t ir_version)
{
    m = oc_model_new();
    g = oc_graph_new(m, NULL);
    m->graph = g;
    g->name = "main";
    m->ir_version = ir_version;
    m->has_ir_version = true;
    m->producer_name = "onnxcomp unit test";
    m->opsets = oc_model_alloc(m, sizeof(oc_opset));
    m->opsets[0].domain = "";
    m->opsets[0].version = opset;
    m->opsets[0].has_version = true;
    m->n_opsets = 1;
    g->inputs = oc_model_alloc(m, 16 * sizeof(oc_value *));
    g->outputs = oc_model_alloc(m, 16 * sizeof(oc_value *));
    oc_ctx_init(&ctx);
}

static inline void done(void)
{
    oc_model_free(m);
    m = NULL;
    g = NULL;
}

static inline int64_t numel_of(int ndim, const int64_t *dims)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= dims[i];
    return n;
}

/* ---- values ---- */

/* A tensor value of element type `dtype`; ndim < 0: no shape. */
static inline oc_value *mkval(const char *name, int dtype, int ndim, const int64_t *dims)
{
    oc_value *v = oc_model_alloc(m, sizeof(*v));
    v->name = oc_model_strdup(m, name);
    v->has_type = true;
    v->dirty = true;
    v->type.kind = OC_TYPE_TENSOR;
    v->type.elem_type = dtype;
    if (ndim >= 0) {
        v->type.has_shape = true;
        v->type.ndim = ndim;
        v->type.dims = oc_model_alloc(m, (size_t)(ndim ? ndim : 1) * sizeof(oc_dim));
        for (int i = 0; i < ndim; i++) {
            v->type.dims[i].kind = OC_DIM_VALUE;
            v->type.dims[i].value = dims[i];
        }
    }
    return v;
}

/* A float input or output of g; ndim < 0: no shape. */
static inline void input(const char *name, int ndim, const int64_t *dims)
{
    g->inputs[g->n_inputs++] = mkval(name, OC_DTYPE_FLOAT, ndim, dims);
}

static inline void output(const char *name, int ndim, const int64_t *dims)
{
    g->outputs[g->n_outputs++] = mkval(name, OC_DTYPE_FLOAT, ndim, dims);
}

/* ---- nodes and attributes ---- */

/* Splits the comma-separated list in buf, in place, into at most max
 * names: "" gives none, an empty entry an omitted input ("x,,s"). */
static inline size_t split_names(char *buf, const char **names, size_t max)
{
    size_t k = 0;
    for (char *p = buf, *q; *buf && p && k < max; p = q) {
        q = strchr(p, ',');
        if (q) *q++ = 0;
        names[k++] = p;
    }
    return k;
}

/* A node appended to graph gr; in and out are comma-separated names. */
static inline oc_node *node_in(oc_graph *gr, const char *op, const char *name, const char *in, const char *out)
{
    const char *ins[8], *outs[8];
    char ib[512], ob[512];
    snprintf(ib, sizeof(ib), "%s", in);
    snprintf(ob, sizeof(ob), "%s", out);
    size_t ni = split_names(ib, ins, 8), no = split_names(ob, outs, 8);
    return oc_graph_add_node(gr, SIZE_MAX, op, NULL, name, ni, ins, no, outs);
}

static inline oc_node *node(const char *op, const char *name, const char *in, const char *out)
{
    return node_in(g, op, name, in, out);
}

static inline void a_int(oc_node *n, const char *name, int64_t v)
{
    oc_attr *a = oc_node_add_attr(g, n, name, OC_ATTR_INT);
    a->i = v;
    a->has_i = true;
}

static inline void a_float(oc_node *n, const char *name, float v)
{
    oc_attr *a = oc_node_add_attr(g, n, name, OC_ATTR_FLOAT);
    a->f = v;
    a->has_f = true;
}

static inline void a_str(oc_node *n, const char *name, const char *v)
{
    oc_attr *a = oc_node_add_attr(g, n, name, OC_ATTR_STRING);
    a->s.data = (const uint8_t *)oc_model_strdup(m, v);
    a->s.len = strlen(v);
    a->has_s = true;
}

static inline void a_ints(oc_node *n, const char *name, const int64_t *v, size_t k)
{
    oc_attr *a = oc_node_add_attr(g, n, name, OC_ATTR_INTS);
    a->ints = oc_model_alloc(m, (k ? k : 1) * sizeof(int64_t));
    memcpy(a->ints, v, k * sizeof(int64_t));
    a->n_ints = k;
}

static inline void a_floats(oc_node *n, const char *name, const float *v, size_t k)
{
    oc_attr *a = oc_node_add_attr(g, n, name, OC_ATTR_FLOATS);
    a->floats = oc_model_alloc(m, (k ? k : 1) * sizeof(float));
    memcpy(a->floats, v, k * sizeof(float));
    a->n_floats = k;
}

static inline void a_graph(oc_node *n, const char *name, oc_graph *body)
{
    oc_attr *a = oc_node_add_attr(g, n, name, OC_ATTR_GRAPH);
    a->g = body;
}

/* ---- initializers ---- */

/* An initializer of graph gr holding a copy of the nbytes at data, zeros
 * when data is NULL; nbytes 0 leaves it without data (an empty tensor). */
static inline oc_tensor *init_in(oc_graph *gr, const char *name, int dtype, int ndim, const int64_t *dims,
                                 const void *data, size_t nbytes)
{
    oc_tensor *t = oc_graph_add_initializer(gr, name, dtype, ndim, dims);
    if (!nbytes) return t;
    void *buf = oc_calloc(1, nbytes);
    if (data) memcpy(buf, data, nbytes);
    oc_tensor_set_data(m, t, buf, nbytes);
    return t;
}

static inline oc_tensor *init(const char *name, int dtype, int ndim, const int64_t *dims, const void *data,
                              size_t nbytes)
{
    return init_in(g, name, dtype, ndim, dims, data, nbytes);
}

/* A float initializer of graph gr from data (zeros when NULL); returns its
 * values, which the model owns, for the caller to fill or change. */
static inline float *weight_in(oc_graph *gr, const char *name, int ndim, const int64_t *dims, const float *data)
{
    size_t nb = (size_t)numel_of(ndim, dims) * sizeof(float);
    return (float *)init_in(gr, name, OC_DTYPE_FLOAT, ndim, dims, data, nb)->data;
}

static inline float *weight(const char *name, int ndim, const int64_t *dims, const float *data)
{
    return weight_in(g, name, ndim, dims, data);
}

/* A float initializer of g whose values are drawn from draw() in order,
 * so a test's own generator decides them. */
static inline void weight_rand(const char *name, int ndim, const int64_t *dims, float (*draw)(void))
{
    float *d = weight(name, ndim, dims, NULL);
    for (int64_t i = 0, n = numel_of(ndim, dims); i < n; i++) d[i] = draw();
}

/* ---- subgraphs ---- */

/* Nodes, weights, inputs and outputs go to a new body of the current graph
 * until end_body(). */
static inline oc_graph *begin_body(const char *name)
{
    oc_graph *b = oc_graph_new(m, g);
    b->name = oc_model_strdup(m, name);
    b->inputs = oc_model_alloc(m, 8 * sizeof(oc_value *));
    b->outputs = oc_model_alloc(m, 8 * sizeof(oc_value *));
    g = b;
    return b;
}

static inline void end_body(void)
{
    g = g->parent;
}

#endif
