/* opset.c: raising a model's default-domain opset, one operator change at a
 * time.
 *
 * `history` (in opset_table.c) lists, for every operator of the ONNX default
 * domain up to opset OC_OPSET_MAX, each opset version that redefined it (the since_version
 * list of the ONNX changelog) and how a node written against the previous
 * definition is carried over to that one:
 *   AD_SAME     the change only widened the types, or added an attribute or
 *               input whose absence keeps the old meaning, or clarified
 *               wording: the node means the same and stays as it is;
 *   AD_NONE     the meaning changed and onnxcomp has no rewrite: refuse;
 *   AD_REMOVED  the (experimental) operator left the standard: refuse;
 *   any other   an adapter below, which may still refuse one node when its
 *               meaning cannot be kept (a value it needs is not constant, a
 *               rank or element type that cannot be told, ...).
 * A node is read at the model's opset: its definition is the op's highest
 * since_version <= that opset, and the steps in (opset, target] apply in
 * order. An adapter may turn the node into another operator (Upsample into
 * Resize, Scatter into ScatterElements); the remaining steps then follow the
 * new operator's history.
 *
 * The upgrade runs twice over a snapshot of every default-domain node: first
 * only checking (nothing changes; every refusal is collected for one message),
 * then applying. What the checks learn about a node's inputs (rank, element
 * type) is kept per node, so the second pass decides the same way even after
 * earlier rewrites moved producers around. */
#include "opset_int.h"

#include "../ir/ir.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* IR < 4 listed every initializer as a graph input (main graph only). */
static void drop_initializer_inputs(oc_graph *g)
{
    size_t w = 0;
    for (size_t i = 0; i < g->n_inputs; i++) {
        bool init = false;
        for (size_t k = 0; k < g->n_inits && !init; k++)
            init = g->inits[k]->name && !strcmp(g->inits[k]->name, g->inputs[i]->name);
        if (!init) g->inputs[w++] = g->inputs[i];
    }
    g->n_inputs = w;
    oc_graph_invalidate(g);
}

/* ---- one node's step --------------------------------------------------- */

/* A default-domain node to carry over, with what the check pass learned. */
typedef struct item {
    oc_graph *g;             /* NULL inside a model-local function */
    const oc_function *fn;
    oc_node *n;
    int64_t opset;           /* the opset the node is read at */
    const char *orig_op;
    int rank[2], dtype0;
    bool have_rank[2], have_dtype0;
} item;

typedef struct step_ctx {
    oc_model *m;
    oc_graph *g;
    oc_node *n;
    item *it;
    int64_t target;          /* the final opset */
    bool apply;              /* false: check only, change nothing */
    bool oom;
    const char *new_op;      /* set when the node becomes another operator */
    char why[200];
} step_ctx;

static bool refuse(step_ctx *s, const char *fmt, ...) OC_PRINTF(2, 3);

static bool refuse(step_ctx *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->why, sizeof(s->why), fmt, ap);
    va_end(ap);
    return false;
}

static bool nomem(step_ctx *s)
{
    s->oom = true;
    return refuse(s, "out of memory");
}

static const char *node_label(const oc_node *n)
{
    if (n->name && *n->name) return n->name;
    return n->n_outputs ? n->outputs[0] : "";
}

/* ---- attributes ---- */

static oc_attr *attr_get(oc_node *n, const char *name)
{
    for (size_t i = 0; i < n->n_attrs; i++)
        if (n->attrs[i].name && strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
    return NULL;
}

static bool attr_int(oc_node *n, const char *name, int64_t *v)
{
    oc_attr *a = attr_get(n, name);
    if (!a || !(a->has_i || a->type == OC_ATTR_INT)) return false;
    *v = a->i;
    return true;
}

static bool attr_float(oc_node *n, const char *name, double *v)
{
    oc_attr *a = attr_get(n, name);
    if (!a) return false;
    if (a->has_f || a->type == OC_ATTR_FLOAT) *v = a->f;
    else if (a->has_i || a->type == OC_ATTR_INT) *v = (double)a->i;
    else return false;
    return true;
}

/* The string value, or `dflt` when absent. Writes at most cap-1 chars. */
static const char *attr_str(oc_node *n, const char *name, const char *dflt, char *buf, size_t cap)
{
    oc_attr *a = attr_get(n, name);
    if (!a || !(a->has_s || a->type == OC_ATTR_STRING)) return dflt;
    size_t len = a->s.len < cap - 1 ? a->s.len : cap - 1;
    if (len) memcpy(buf, a->s.data, len);
    buf[len] = 0;
    return buf;
}

static bool attr_is_ints(const oc_attr *a)
{
    return a && (a->n_ints || a->type == OC_ATTR_INTS);
}

static void drop_index(oc_graph *g);

static void drop_index_sub(void *ud, oc_graph *sub)
{
    (void)ud;
    drop_index(sub);
}

/* Frees the name indexes of g and the graphs below it: a graph detached from
 * the model is no longer reached when the model frees its indexes. */
static void drop_index(oc_graph *g)
{
    if (!g) return;
    oc_graph_invalidate(g);
    for (size_t i = 0; i < g->n_nodes; i++) oc_node_foreach_subgraph(g->nodes[i], drop_index_sub, NULL);
}

static void attr_drop(oc_node *n, const char *name)
{
    size_t w = 0;
    for (size_t i = 0; i < n->n_attrs; i++) {
        oc_attr *a = &n->attrs[i];
        if (!a->name || strcmp(a->name, name) != 0) {
            n->attrs[w++] = *a;
            continue;
        }
        drop_index(a->g);
        for (size_t k = 0; k < a->n_graphs; k++) drop_index(a->graphs[k]);
    }
    n->n_attrs = w;
}

/* Replaces (or adds) attribute `name` with a fresh one of `type`. */
static oc_attr *attr_new(step_ctx *s, const char *name, int type)
{
    attr_drop(s->n, name);
    oc_attr *a = oc_node_add_attr(s->g, s->n, name, type);
    if (!a) nomem(s);
    return a;
}

static bool attr_set_int(step_ctx *s, const char *name, int64_t v)
{
    oc_attr *a = attr_new(s, name, OC_ATTR_INT);
    if (!a) return false;
    a->has_i = true;
    a->i = v;
    return true;
}

static bool attr_set_string(step_ctx *s, const char *name, const char *v)
{
    oc_attr *a = attr_new(s, name, OC_ATTR_STRING);
    const char *c = a ? oc_model_strdup(s->m, v) : NULL;
    if (!c) return nomem(s);
    a->has_s = true;
    a->s.data = (const uint8_t *)c;
    a->s.len = strlen(c);
    return true;
}

static bool attr_set_ints(step_ctx *s, const char *name, const int64_t *v, size_t n)
{
    int64_t *c = oc_model_alloc(s->m, (n ? n : 1) * sizeof(int64_t));
    if (!c) return nomem(s);
    if (n) memcpy(c, v, n * sizeof(int64_t));
    oc_attr *a = attr_new(s, name, OC_ATTR_INTS);
    if (!a) return false;
    a->ints = c;
    a->n_ints = n;
    return true;
}

/* ---- inputs, outputs, new tensors ---- */

static bool set_input(step_ctx *s, size_t slot, const char *name)
{
    oc_node *n = s->n;
    const char *c = oc_model_strdup(s->m, name);
    if (!c) return nomem(s);
    if (slot >= n->n_inputs) {
        const char **in = oc_model_alloc(s->m, (slot + 1) * sizeof(char *));
        if (!in) return nomem(s);
        for (size_t i = 0; i <= slot; i++) in[i] = i < n->n_inputs ? n->inputs[i] : "";
        n->inputs = in;
        n->n_inputs = slot + 1;
    }
    n->inputs[slot] = c;
    /* optional trailing inputs left out are simply not there */
    while (n->n_inputs && !*n->inputs[n->n_inputs - 1]) n->n_inputs--;
    return true;
}

/* A new initializer of s->g holding a copy of `data`, named after the node;
 * NULL when out of memory. */
static const char *new_init(step_ctx *s, const char *what, int dtype, int ndim, const int64_t *dims,
                            const void *data, size_t nbytes)
{
    char base[256];
    snprintf(base, sizeof(base), "%s_%s", s->n->name && *s->n->name ? s->n->name : s->n->op_type, what);
    const char *name = oc_graph_unique_name(s->g, base);
    oc_tensor *t = name ? oc_graph_add_initializer(s->g, name, dtype, ndim, dims) : NULL;
    if (!t) {
        nomem(s);
        return NULL;
    }
    if (nbytes) {
        void *buf = oc_malloc(nbytes);
        if (!buf) {
            nomem(s);
            return NULL;
        }
        memcpy(buf, data, nbytes);
        oc_tensor_set_data(s->m, t, buf, nbytes);
        if (!t->data) {
            nomem(s);
            return NULL;
        }
    }
    return t->name;
}

static const char *new_ints(step_ctx *s, const char *what, const int64_t *v, size_t n)
{
    int64_t dims[1] = {(int64_t)n};
    return new_init(s, what, OC_DTYPE_INT64, 1, dims, v, n * sizeof(int64_t));
}


static bool float_type_ok(int dtype)
{
    return dtype == OC_DTYPE_FLOAT || dtype == OC_DTYPE_DOUBLE || dtype == OC_DTYPE_FLOAT16;
}

/* A scalar initializer of a floating type holding v. */
static const char *new_scalar(step_ctx *s, const char *what, int dtype, double v)
{
    union {
        float f;
        double d;
        uint16_t h;
    } u;
    size_t nb;
    if (dtype == OC_DTYPE_DOUBLE) {
        u.d = v;
        nb = 8;
    } else if (dtype == OC_DTYPE_FLOAT16) {
        u.h = oc_float_to_half((float)v);
        nb = 2;
    } else {
        u.f = (float)v;
        nb = 4;
    }
    return new_init(s, what, dtype, 0, NULL, &u, nb);
}

static bool output_used(oc_graph *g, const char *name)
{
    if (!*name) return false;
    for (size_t i = 0; i < g->n_outputs; i++)
        if (strcmp(g->outputs[i]->name, name) == 0) return true;
    return oc_graph_consumers(g, name, NULL, 0) > 0;
}

/* ---- what the graph says about a value ---- */

static oc_tensor *weight(step_ctx *s, size_t slot)
{
    if (!s->g || slot >= s->n->n_inputs || !*s->n->inputs[slot]) return NULL;
    oc_tensor *t = oc_graph_weight(s->g, s->n->inputs[slot]);
    if (!t || t->numel < 0 || !t->data) return NULL;
    int64_t want = oc_tensor_expected_nbytes(t->dtype, t->numel);
    if (want < 0 || (uint64_t)want > t->nbytes) return NULL;
    return t;
}

static bool is_int_type(int dt)
{
    return dt == OC_DTYPE_INT64 || dt == OC_DTYPE_INT32 || dt == OC_DTYPE_INT16 || dt == OC_DTYPE_INT8 ||
           dt == OC_DTYPE_UINT8 || dt == OC_DTYPE_UINT16 || dt == OC_DTYPE_UINT32 || dt == OC_DTYPE_UINT64;
}

static const oc_value *find_value(oc_graph *g, const char *name)
{
    for (; g; g = g->parent) {
        for (size_t i = 0; i < g->n_inputs; i++)
            if (strcmp(g->inputs[i]->name, name) == 0) return g->inputs[i];
        for (size_t i = 0; i < g->n_outputs; i++)
            if (strcmp(g->outputs[i]->name, name) == 0) return g->outputs[i];
        for (size_t i = 0; i < g->n_value_info; i++)
            if (strcmp(g->value_info[i]->name, name) == 0) return g->value_info[i];
    }
    return NULL;
}

static bool in_list(const char *op, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(op, *list) == 0) return true;
    return false;
}

/* Output 0 has the element type of input 0. */
static const char *const same_type_ops[] = {
    "Abs", "Acos", "Acosh", "Add", "Asin", "Asinh", "Atan", "Atanh", "AveragePool", "BatchNormalization",
    "Ceil", "Celu", "Clip", "Compress", "Concat", "Conv", "ConvTranspose", "Cos", "Cosh", "CumSum",
    "DepthToSpace", "Div", "Dropout", "Einsum", "Elu", "Erf", "Exp", "Expand", "Flatten", "Floor", "GRU",
    "Gather", "GatherElements", "GatherND", "Gelu", "Gemm", "GlobalAveragePool", "GlobalLpPool",
    "GlobalMaxPool", "HardSigmoid", "HardSwish", "Hardmax", "Identity", "InstanceNormalization", "LRN",
    "LSTM", "LayerNormalization", "LeakyRelu", "Log", "LogSoftmax", "LpNormalization", "LpPool", "MatMul",
    "Max", "MaxPool", "MaxRoiPool", "MaxUnpool", "Mean", "MeanVarianceNormalization", "Min", "Mish", "Mod",
    "Mul", "Neg", "PRelu", "Pad", "Pow", "RNN", "Range", "Reciprocal", "ReduceL1", "ReduceL2",
    "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSum",
    "ReduceSumSquare", "Relu", "Reshape", "Resize", "ReverseSequence", "RoiAlign", "Round", "Scatter",
    "ScatterElements", "ScatterND", "Selu", "Shrink", "Sigmoid", "Sign", "Sin", "Sinh", "Slice", "Softmax",
    "Softplus", "Softsign", "SpaceToDepth", "Split", "Sqrt", "Squeeze", "Sub", "Sum", "Tan", "Tanh",
    "ThresholdedRelu", "Tile", "TopK", "Transpose", "Trilu", "Unsqueeze", "Upsample", NULL};

static const char *const bool_ops[] = {"And", "Equal", "Greater", "GreaterOrEqual", "IsInf", "IsNaN", "Less",
                                       "LessOrEqual", "Not", "Or", "Xor", NULL};

static const char *const int64_ops[] = {"ArgMax", "ArgMin", "NonMaxSuppression", "NonZero", "Shape", "Size", NULL};

static int cast_code(const char *name);

/* Element type of value `name` in g, or 0 when it cannot be told. The type
 * follows one input back at each step, so this is a walk, not a search. */
static int infer_dtype(oc_graph *g, const char *name, int *work)
{
    while (g && *name && --*work >= 0) {
        const oc_value *v = find_value(g, name);
        if (v && v->has_type && v->type.kind == OC_TYPE_TENSOR && v->type.elem_type) return v->type.elem_type;
        oc_tensor *t = oc_graph_weight(g, name);
        if (t && t->has_dtype) return t->dtype;
        size_t slot = 0;
        oc_node *p = oc_graph_producer(g, name, &slot);
        if (!p || !oc_domain_is_default(p->domain)) return 0;
        const char *op = p->op_type;
        size_t from = 0; /* the input whose type the output has */
        if (slot > 0) {
            if (strcmp(op, "TopK") == 0 || strcmp(op, "MaxPool") == 0) return OC_DTYPE_INT64;
            if (strcmp(op, "Split") != 0) return 0;
        } else if (in_list(op, bool_ops)) {
            return OC_DTYPE_BOOL;
        } else if (in_list(op, int64_ops)) {
            return OC_DTYPE_INT64;
        } else if (strcmp(op, "Cast") == 0) {
            oc_attr *a = attr_get(p, "to");
            if (a && (a->has_i || a->type == OC_ATTR_INT)) return (int)a->i;
            char buf[32];
            const char *to = attr_str(p, "to", NULL, buf, sizeof(buf));
            return to ? cast_code(to) : 0;
        } else if (strcmp(op, "Constant") == 0) {
            if (attr_get(p, "value_float") || attr_get(p, "value_floats")) return OC_DTYPE_FLOAT;
            if (attr_get(p, "value_int") || attr_get(p, "value_ints")) return OC_DTYPE_INT64;
            return 0;
        } else if (strcmp(op, "DequantizeLinear") == 0) {
            if (p->n_inputs < 2) return OC_DTYPE_FLOAT;
            from = 1; /* the scale's type */
        } else if (strcmp(op, "QuantizeLinear") == 0) {
            if (p->n_inputs < 3 || !*p->inputs[2]) return OC_DTYPE_UINT8;
            from = 2; /* the zero point's type */
        } else if (strcmp(op, "Where") == 0) {
            from = 1;
        } else if (!in_list(op, same_type_ops)) {
            return 0;
        }
        if (from >= p->n_inputs) return 0;
        name = p->inputs[from];
    }
    return 0;
}

/* Ops whose output 0 has the rank of input 0. */
static const char *const same_rank_ops[] = {
    "Abs", "Acos", "Acosh", "Asin", "Asinh", "Atan", "Atanh", "AveragePool", "BatchNormalization", "Cast",
    "CastLike", "Ceil", "Celu", "Clip", "Concat", "Conv", "ConvTranspose", "Cos", "Cosh", "CumSum",
    "DepthToSpace", "Dropout", "Elu", "Erf", "Exp", "Floor", "Gelu", "GlobalAveragePool", "GlobalLpPool",
    "GlobalMaxPool", "HardSigmoid", "HardSwish", "Hardmax", "Identity", "InstanceNormalization", "IsInf",
    "IsNaN", "LRN", "LayerNormalization", "LeakyRelu", "Log", "LogSoftmax", "LpNormalization", "LpPool",
    "MaxPool", "MaxUnpool", "MeanVarianceNormalization", "Mish", "Neg", "Not", "PRelu", "Pad", "Reciprocal",
    "Relu", "Resize", "ReverseSequence", "Round", "Scatter", "ScatterElements", "ScatterND", "Selu",
    "Shrink", "Sigmoid", "Sign", "Sin", "Sinh", "Slice", "Softmax", "Softplus", "Softsign", "SpaceToDepth",
    "Split", "Sqrt", "Tan", "Tanh", "ThresholdedRelu", "Tile", "TopK", "Transpose", "Trilu", "Upsample",
    "GroupNormalization", NULL};

/* Ops broadcasting their inputs numpy-style: rank of the output = the
 * highest input rank. */
static const char *const bcast_ops[] = {"Add", "And", "BitShift", "Div", "Equal", "Greater", "GreaterOrEqual",
                                        "Less", "LessOrEqual", "Max", "Mean", "Min", "Mod", "Mul", "Or", "Pow",
                                        "Sub", "Sum", "Where", "Xor", NULL};

static const char *const reduce_ops[] = {"ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax",
                                         "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSum",
                                         "ReduceSumSquare", "ArgMax", "ArgMin", NULL};

static int infer_rank(oc_graph *g, const char *name, int depth, int *work);

/* Length of a 1-D value (a shape or axes input), or -1: a constant, or the
 * usual shape arithmetic (Shape, Unsqueeze of a scalar, Concat, Cast). */
static int64_t const_len(oc_graph *g, const char *name, int depth, int *work)
{
    if (!*name || depth > 64 || --*work < 0) return -1;
    oc_tensor *t = oc_graph_weight(g, name);
    if (t) return t->ndim == 1 ? t->dims[0] : -1;
    oc_node *p = oc_graph_producer(g, name, NULL);
    if (!p || !oc_domain_is_default(p->domain) || !p->n_inputs) return -1;
    const char *op = p->op_type;
    if (strcmp(op, "Shape") == 0 && !attr_get(p, "start") && !attr_get(p, "end"))
        return infer_rank(g, p->inputs[0], depth + 1, work);
    if (strcmp(op, "Cast") == 0 || strcmp(op, "Identity") == 0) return const_len(g, p->inputs[0], depth + 1, work);
    if (strcmp(op, "Unsqueeze") == 0) {
        oc_attr *a = attr_get(p, "axes");
        int64_t k = attr_is_ints(a) ? (int64_t)a->n_ints : p->n_inputs > 1 ? const_len(g, p->inputs[1], depth + 1, work) : -1;
        return k == 1 && infer_rank(g, p->inputs[0], depth + 1, work) == 0 ? 1 : -1;
    }
    if (strcmp(op, "Concat") == 0) {
        int64_t sum = 0;
        for (size_t i = 0; i < p->n_inputs; i++) {
            int64_t k = const_len(g, p->inputs[i], depth + 1, work);
            if (k < 0) return -1;
            sum += k;
        }
        return sum;
    }
    return -1;
}

static int infer_rank_node(oc_graph *g, oc_node *p, size_t slot, int depth, int *work)
{
    const char *op = p->op_type;
    const char *in0 = p->n_inputs ? p->inputs[0] : "";
    if (slot > 0 && strcmp(op, "Split") != 0 && strcmp(op, "TopK") != 0 && strcmp(op, "MaxPool") != 0) return -1;
    if (in_list(op, same_rank_ops)) return infer_rank(g, in0, depth + 1, work);
    if (in_list(op, bcast_ops)) {
        int r = -1;
        for (size_t i = 0; i < p->n_inputs; i++) {
            int ri = infer_rank(g, p->inputs[i], depth + 1, work);
            if (ri < 0) return -1;
            if (ri > r) r = ri;
        }
        return r;
    }
    if (strcmp(op, "Gemm") == 0 || strcmp(op, "Flatten") == 0) return 2;
    if (strcmp(op, "Shape") == 0) return 1;
    if (strcmp(op, "Size") == 0) return 0;
    if (strcmp(op, "MatMul") == 0 && p->n_inputs == 2) {
        int a = infer_rank(g, p->inputs[0], depth + 1, work), b = infer_rank(g, p->inputs[1], depth + 1, work);
        if (a < 1 || b < 1) return -1;
        if (a == 1 && b == 1) return 0;
        if (a == 1) return b - 1;
        if (b == 1) return a - 1;
        return a > b ? a : b;
    }
    if (strcmp(op, "Reshape") == 0) {
        oc_attr *a = attr_get(p, "shape");
        if (attr_is_ints(a)) return (int)a->n_ints;
        if (p->n_inputs < 2) return -1;
        int64_t len = const_len(g, p->inputs[1], depth + 1, work);
        if (len >= 0) return (int)len;
        oc_node *sp = oc_graph_producer(g, p->inputs[1], NULL);
        if (sp && strcmp(sp->op_type, "Shape") == 0 && !attr_get(sp, "start") && !attr_get(sp, "end") &&
            sp->n_inputs)
            return infer_rank(g, sp->inputs[0], depth + 1, work);
        return -1;
    }
    if (strcmp(op, "Squeeze") == 0 || strcmp(op, "Unsqueeze") == 0) {
        int r = infer_rank(g, in0, depth + 1, work);
        oc_attr *a = attr_get(p, "axes");
        int64_t k = attr_is_ints(a) ? (int64_t)a->n_ints : p->n_inputs > 1 ? const_len(g, p->inputs[1], depth + 1, work) : -1;
        if (r < 0 || k < 0) return -1;
        return op[0] == 'S' ? r - (int)k : r + (int)k;
    }
    if (strcmp(op, "Gather") == 0 && p->n_inputs == 2) {
        int a = infer_rank(g, p->inputs[0], depth + 1, work), b = infer_rank(g, p->inputs[1], depth + 1, work);
        return a < 1 || b < 0 ? -1 : a - 1 + b;
    }
    if (in_list(op, reduce_ops)) {
        int r = infer_rank(g, in0, depth + 1, work);
        int64_t keep = 1;
        attr_int(p, "keepdims", &keep);
        if (r < 0 || keep) return r;
        if (op[0] == 'A') return r - 1; /* ArgMax/ArgMin: one axis */
        oc_attr *a = attr_get(p, "axes");
        int64_t k = attr_is_ints(a) ? (int64_t)a->n_ints : p->n_inputs > 1 ? const_len(g, p->inputs[1], depth + 1, work) : -1;
        return k < 0 ? -1 : r - (int)k;
    }
    if (strcmp(op, "Constant") == 0) {
        oc_attr *a = attr_get(p, "value");
        if (a && a->t) return a->t->ndim;
        if (attr_get(p, "value_float") || attr_get(p, "value_int")) return 0;
        if (attr_get(p, "value_floats") || attr_get(p, "value_ints")) return 1;
    }
    return -1;
}

/* Rank of value `name` in g, or -1 when it cannot be told. Chains of
 * rank-keeping ops are walked; only ops combining inputs branch (to a
 * bounded depth). */
static int infer_rank(oc_graph *g, const char *name, int depth, int *work)
{
    if (depth > 64) return -1;
    while (g && *name && --*work >= 0) {
        const oc_value *v = find_value(g, name);
        if (v && v->has_type && v->type.kind == OC_TYPE_TENSOR && v->type.has_shape) return v->type.ndim;
        oc_tensor *t = oc_graph_weight(g, name);
        if (t) return t->ndim;
        size_t slot = 0;
        oc_node *p = oc_graph_producer(g, name, &slot);
        if (!p || !oc_domain_is_default(p->domain)) return -1;
        bool keeps = in_list(p->op_type, same_rank_ops) &&
                     (slot == 0 || strcmp(p->op_type, "Split") == 0 || strcmp(p->op_type, "TopK") == 0);
        if (!keeps) return infer_rank_node(g, p, slot, depth, work);
        if (!p->n_inputs) return -1;
        name = p->inputs[0];
    }
    return -1;
}

/* The inference walks back through producers; `work` bounds the visits so a
 * hostile graph of shared inputs cannot make it exponential. */
enum { INFER_WORK = 1 << 14 };

static int rank_of(oc_graph *g, const char *name)
{
    int work = INFER_WORK;
    return infer_rank(g, name, 0, &work);
}

static int dtype_of(oc_graph *g, const char *name)
{
    int work = INFER_WORK;
    return infer_dtype(g, name, &work);
}

/* Facts about the node's original inputs, learned once (check pass). */
static int fact_rank(step_ctx *s, size_t k)
{
    item *it = s->it;
    if (k > 1) return -1;
    if (!it->have_rank[k]) {
        it->rank[k] = k < s->n->n_inputs ? rank_of(s->g, s->n->inputs[k]) : -1;
        it->have_rank[k] = true;
    }
    return it->rank[k];
}

static int fact_dtype0(step_ctx *s)
{
    item *it = s->it;
    if (!it->have_dtype0) {
        it->dtype0 = s->n->n_inputs ? dtype_of(s->g, s->n->inputs[0]) : 0;
        it->have_dtype0 = true;
    }
    return it->dtype0;
}

/* Dimension `axis` of value `name` when declared with a fixed size, else -1. */
static int64_t declared_dim(oc_graph *g, const char *name, int axis)
{
    const oc_value *v = find_value(g, name);
    if (!v || !v->has_type || !v->type.has_shape || axis >= v->type.ndim) return -1;
    const oc_dim *d = &v->type.dims[axis];
    return d->kind == OC_DIM_VALUE ? d->value : -1;
}

/* ---- adapters ------------------------------------------------------------
 * Each one first checks (refuse() says why it cannot), then, when s->apply,
 * edits the node. A check never depends on what an earlier step of the same
 * node would have edited, because in the check pass nothing is edited. */

typedef bool (*adapt_fn)(step_ctx *s);

static bool ad_same(step_ctx *s)
{
    (void)s;
    return true;
}

static bool ad_none(step_ctx *s)
{
    s->why[0] = 0;
    return false;
}

static bool ad_consumed6(step_ctx *s)
{
    if (s->apply) attr_drop(s->n, "consumed_inputs");
    return true;
}

/* Legacy broadcasting (opset < 7): with broadcast=1, B's shape matches a
 * contiguous run of A's dims starting at `axis` (suffix when no axis). Numpy
 * rules align trailing dims, so B needs trailing 1s when its run does not
 * end at A's last dim. */
static bool ad_bcast7(step_ctx *s)
{
    oc_node *n = s->n;
    int64_t bc = 0, axis = 0;
    attr_int(n, "broadcast", &bc);
    bool has_axis = attr_int(n, "axis", &axis);
    int64_t pad = 0;
    oc_tensor *w = NULL;
    if (bc && has_axis && n->n_inputs >= 2) {
        int ra = fact_rank(s, 0), rb = fact_rank(s, 1);
        if (ra < 0 || rb < 0)
            return refuse(s, "legacy broadcast along axis %lld needs the ranks of both inputs, which are unknown",
                          (long long)axis);
        if (axis < 0) axis += ra;
        if (axis < 0 || axis + rb > ra) return refuse(s, "legacy broadcast axis %lld does not fit", (long long)axis);
        pad = ra - axis - rb;
        if (pad > 0) {
            w = weight(s, 1);
            if (!w || w->ndim != rb)
                return refuse(s, "legacy broadcast along axis %lld of a computed input needs a reshape",
                              (long long)axis);
        }
        if (ra > OC_MAX_DIMS) return refuse(s, "rank %d is more than onnxcomp handles", ra);
    }
    if (!s->apply) return true;
    if (pad > 0) {
        int64_t dims[OC_MAX_DIMS];
        for (int i = 0; i < w->ndim; i++) dims[i] = w->dims[i];
        for (int64_t i = 0; i < pad; i++) dims[w->ndim + i] = 1;
        const char *nm = new_init(s, "bcast", w->dtype, w->ndim + (int)pad, dims, w->data, w->nbytes);
        if (!nm || !set_input(s, 1, nm)) return false;
    }
    attr_drop(n, "broadcast");
    attr_drop(n, "axis");
    attr_drop(n, "consumed_inputs");
    return true;
}

static bool ad_gemm7(step_ctx *s)
{
    /* broadcast=0 promised C of the full output shape, which broadcasts */
    if (s->apply) attr_drop(s->n, "broadcast");
    return true;
}

/* PRelu-6 shares a size-1 slope and reads a [C] slope per channel (dim 1);
 * from 7 the slope broadcasts numpy-style, aligned to the trailing dims. */
static bool ad_prelu7(step_ctx *s)
{
    if (s->n->n_inputs < 2) return refuse(s, "no slope input");
    oc_tensor *w = weight(s, 1);
    int rx = fact_rank(s, 0), rs = fact_rank(s, 1);
    if (w && w->numel == 1) return true;
    if (rx >= 0 && rs == rx) return true;
    if (rs == 1 && rx >= 0 && rx <= 2) return true;
    if (!(rs == 1 && rx > 2 && rx <= OC_MAX_DIMS && w))
        return refuse(s, "a slope of rank %d against an input of rank %d broadcasts differently from 7", rs, rx);
    if (!s->apply) return true;
    int64_t dims[OC_MAX_DIMS];
    dims[0] = w->numel;
    for (int i = 1; i < rx - 1; i++) dims[i] = 1;
    const char *nm = new_init(s, "slope", w->dtype, rx - 1, dims, w->data, w->nbytes);
    return nm && set_input(s, 1, nm);
}

static size_t named_outputs(const oc_node *n)
{
    size_t k = 0;
    for (size_t i = 1; i < n->n_outputs; i++)
        if (*n->outputs[i]) k++;
    return k;
}

/* Before 7, `is_test` (default 0) chose between training (normalize with
 * the batch's statistics) and inference; from 7 the outputs present decide:
 * Y alone is inference, statistics outputs mean training. Only is_test=1
 * without statistics outputs keeps its meaning; old exporters wrote is_test=1
 * for inference, so a node without it asked for training. */
static bool ad_bn7(step_ctx *s)
{
    int64_t test = 0;
    attr_int(s->n, "is_test", &test);
    if (!test) return refuse(s, "is_test=0 asks for batch statistics (training), which 7 only computes with its "
                                "statistics outputs");
    if (named_outputs(s->n)) return refuse(s, "is_test=1 with statistics outputs means training from 7");
    if (s->apply) {
        attr_drop(s->n, "is_test");
        attr_drop(s->n, "consumed_inputs");
    }
    return true;
}

/* From 7 the runtime's mode decides, and inference is the identity: what
 * is_test=1 asked for. is_test=0 (the default) asked for random drops. */
static bool ad_dropout7(step_ctx *s)
{
    int64_t test = 0;
    attr_int(s->n, "is_test", &test);
    if (!test) return refuse(s, "is_test=0 asks for random drops (training); from 7 inference is the identity");
    if (s->apply) attr_drop(s->n, "is_test");
    return true;
}

static bool ad_rnn7(step_ctx *s)
{
    if (s->apply) attr_drop(s->n, "output_sequence");
    return true;
}

static bool ad_bn9(step_ctx *s)
{
    int64_t spatial = 1;
    attr_int(s->n, "spatial", &spatial);
    if (!spatial) return refuse(s, "spatial=0 (statistics per activation) has no equivalent from 9");
    if (s->apply) attr_drop(s->n, "spatial");
    return true;
}

static bool ad_bn14(step_ctx *s)
{
    if (named_outputs(s->n)) return refuse(s, "its training outputs (mean, var, saved_mean, saved_var) change at 14");
    return true;
}

/* The mask turns from T to bool: fine when nobody reads it. */
static bool ad_dropout10(step_ctx *s)
{
    oc_node *n = s->n;
    if (n->n_outputs < 2 || !*n->outputs[1]) return true;
    if (!s->g || output_used(s->g, n->outputs[1])) return refuse(s, "its mask output becomes bool and is read");
    if (s->apply) n->n_outputs = 1;
    return true;
}

static bool ad_dropout12(step_ctx *s)
{
    double ratio;
    if (!attr_float(s->n, "ratio", &ratio)) return true; /* 0.5 either way */
    if (!s->apply) return true;
    const char *nm = new_scalar(s, "ratio", OC_DTYPE_FLOAT, ratio);
    if (!nm || !set_input(s, 1, nm)) return false;
    attr_drop(s->n, "ratio");
    return true;
}

static int cast_code(const char *name)
{
    static const char *const names[] = {"UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16", "INT32",
                                        "INT64", "STRING", "BOOL", "FLOAT16", "DOUBLE", "UINT32", "UINT64",
                                        "COMPLEX64", "COMPLEX128", "BFLOAT16"};
    for (int i = 1; i < (int)(sizeof(names) / sizeof(names[0])); i++)
        if (strcasecmp(name, names[i]) == 0) return i;
    return 0;
}

static bool ad_cast6(step_ctx *s)
{
    oc_attr *a = attr_get(s->n, "to");
    if (!a) return refuse(s, "no `to` attribute");
    if (a->has_i || a->type == OC_ATTR_INT) return true;
    char buf[32];
    const char *to = attr_str(s->n, "to", "", buf, sizeof(buf));
    int code = cast_code(to);
    if (!code) return refuse(s, "unknown type name '%s'", to);
    return !s->apply || attr_set_int(s, "to", code);
}

static bool ad_concat4(step_ctx *s)
{
    if (attr_get(s->n, "axis") || !s->apply) return true;
    return attr_set_int(s, "axis", 1);
}

static bool ad_reshape5(step_ctx *s)
{
    oc_attr *a = attr_get(s->n, "shape");
    if (!attr_is_ints(a)) return refuse(s, "no `shape` attribute");
    if (!s->apply) return true;
    const char *nm = new_ints(s, "shape", a->ints, a->n_ints);
    if (!nm || !set_input(s, 1, nm)) return false;
    attr_drop(s->n, "shape");
    attr_drop(s->n, "consumed_inputs");
    return true;
}

static bool ad_lppool2(step_ctx *s)
{
    oc_attr *a = attr_get(s->n, "p");
    if (!a || a->has_i || a->type == OC_ATTR_INT) return true;
    double p = a->f;
    if (p != floor(p) || p < 1 || p > 1e9) return refuse(s, "p=%g is not a whole number, as it must be from 2", p);
    return !s->apply || attr_set_int(s, "p", (int64_t)p);
}

static bool ad_pad2(step_ctx *s)
{
    oc_attr *a = attr_get(s->n, "paddings");
    if (a && s->apply) {
        a->name = oc_model_strdup(s->m, "pads");
        if (!a->name) return nomem(s);
    }
    return true;
}

static bool read_ints(const oc_tensor *t, int64_t *out, size_t cap, size_t *n)
{
    if (!is_int_type(t->dtype) || t->numel < 0 || (uint64_t)t->numel > cap) return false;
    for (int64_t i = 0; i < t->numel; i++) out[i] = (int64_t)oc_tensor_get(t, i);
    *n = (size_t)t->numel;
    return true;
}

static bool ad_split2(step_ctx *s)
{
    if (s->n->n_inputs < 2 || !*s->n->inputs[1]) return true;
    oc_tensor *w = weight(s, 1);
    int64_t v[256];
    size_t k = 0;
    if (!w || !read_ints(w, v, 256, &k)) return refuse(s, "its `split` input is not a constant");
    if (!s->apply) return true;
    if (!attr_set_ints(s, "split", v, k)) return false;
    s->n->n_inputs = 1;
    return true;
}

static bool ad_slice10(step_ctx *s)
{
    oc_node *n = s->n;
    oc_attr *st = attr_get(n, "starts"), *en = attr_get(n, "ends"), *ax = attr_get(n, "axes");
    if (!attr_is_ints(st) || !attr_is_ints(en)) return refuse(s, "no `starts`/`ends` attributes");
    if (!s->apply) return true;
    const char *a = new_ints(s, "starts", st->ints, st->n_ints);
    const char *b = a ? new_ints(s, "ends", en->ints, en->n_ints) : NULL;
    const char *c = b && attr_is_ints(ax) ? new_ints(s, "axes", ax->ints, ax->n_ints) : "";
    if (!a || !b || !c || !set_input(s, 1, a) || !set_input(s, 2, b) || (*c && !set_input(s, 3, c)))
        return false;
    attr_drop(n, "starts");
    attr_drop(n, "ends");
    attr_drop(n, "axes");
    return true;
}

static bool ad_topk10(step_ctx *s)
{
    int64_t k;
    if (!attr_int(s->n, "k", &k)) return refuse(s, "no `k` attribute");
    if (!s->apply) return true;
    const char *nm = new_ints(s, "k", &k, 1);
    if (!nm || !set_input(s, 1, nm)) return false;
    attr_drop(s->n, "k");
    return true;
}

static bool ad_clip11(step_ctx *s)
{
    double lo = 0, hi = 0;
    bool has_lo = attr_float(s->n, "min", &lo), has_hi = attr_float(s->n, "max", &hi);
    if (!has_lo && !has_hi) return true;
    int dt = fact_dtype0(s);
    if (!float_type_ok(dt))
        return refuse(s, "min/max become inputs of the input's type, which cannot be told (%s)",
                      dt ? oc_dtype_name(dt) : "unknown");
    if (!s->apply) return true;
    const char *a = has_lo ? new_scalar(s, "min", dt, lo) : "";
    const char *b = a && has_hi ? new_scalar(s, "max", dt, hi) : "";
    if (!a || !b) return false;
    if ((*a && !set_input(s, 1, a)) || (*b && !set_input(s, 2, b))) return false;
    attr_drop(s->n, "min");
    attr_drop(s->n, "max");
    return true;
}

static bool ad_pad11(step_ctx *s)
{
    oc_node *n = s->n;
    oc_attr *p = attr_get(n, "pads");
    if (!p) p = attr_get(n, "paddings"); /* a Pad-1 node in the check pass */
    if (!attr_is_ints(p)) return refuse(s, "no `pads` attribute");
    double value = 0;
    attr_float(n, "value", &value);
    int dt = 0;
    if (value != 0) {
        dt = fact_dtype0(s);
        if (!float_type_ok(dt))
            return refuse(s, "value becomes an input of the data's type, which cannot be told (%s)",
                          dt ? oc_dtype_name(dt) : "unknown");
    }
    if (!s->apply) return true;
    const char *a = new_ints(s, "pads", p->ints, p->n_ints);
    const char *b = a && value != 0 ? new_scalar(s, "value", dt, value) : "";
    if (!a || !b || !set_input(s, 1, a) || (*b && !set_input(s, 2, b))) return false;
    attr_drop(n, "pads");
    attr_drop(n, "value");
    return true;
}

static bool ad_scatter11(step_ctx *s)
{
    /* Scatter-11 is ScatterElements-11 under its old name */
    s->new_op = "ScatterElements";
    if (!s->apply) return true;
    s->n->op_type = oc_model_strdup(s->m, "ScatterElements");
    return s->n->op_type ? true : nomem(s);
}

static bool ad_onehot11(step_ctx *s)
{
    oc_tensor *w = weight(s, 0);
    if (!w || !(is_int_type(w->dtype) || w->dtype == OC_DTYPE_FLOAT || w->dtype == OC_DTYPE_DOUBLE))
        return refuse(s, "negative indices count from the back from 11, and its indices are not constant");
    for (int64_t i = 0; i < w->numel; i++)
        if (oc_tensor_get(w, i) < 0) return refuse(s, "it has negative indices, which count from the back from 11");
    return true;
}

/* Before 13, Softmax/LogSoftmax/Hardmax flatten the input to 2-D at `axis`
 * (default 1) and normalize each row; from 13 they work along `axis` alone
 * (default -1). Both agree when axis is the last dim. Otherwise the node
 * gets the old behaviour spelled out: Flatten(axis), the op along axis 1,
 * Reshape back to the input's shape. */
static bool ad_softmax13(step_ctx *s)
{
    oc_node *n = s->n;
    if (n->n_inputs < 1 || n->n_outputs < 1) return refuse(s, "has no input or no output");
    int64_t axis = 1;
    attr_int(n, "axis", &axis);
    int r = fact_rank(s, 0);
    if (r < 0 && s->g && !s->apply) /* the output has the input's rank */
        s->it->rank[0] = r = rank_of(s->g, n->outputs[0]);
    int64_t a = r >= 0 && axis < 0 ? axis + r : axis;
    bool last = r >= 0 && a == r - 1;
    if (!last && !s->g) return refuse(s, "axis %lld is not known to be the last", (long long)axis);
    if (!s->apply) return true;
    if (last) return attr_set_int(s, "axis", a);
    oc_graph *g = s->g;
    const char *x = n->inputs[0], *y = n->outputs[0];
    char base[256];
    snprintf(base, sizeof(base), "%s_2d", y);
    const char *flat = oc_graph_unique_name(g, base);
    snprintf(base, sizeof(base), "%s_out2d", y);
    const char *out2d = flat ? oc_graph_unique_name(g, base) : NULL;
    snprintf(base, sizeof(base), "%s_shape", y);
    const char *shp = out2d ? oc_graph_unique_name(g, base) : NULL;
    if (!shp) return nomem(s);
    size_t at = oc_graph_node_index(g, n);
    snprintf(base, sizeof(base), "%s_flatten", node_label(n));
    const char *nm1 = oc_graph_unique_name(g, base);
    snprintf(base, sizeof(base), "%s_shape", node_label(n));
    const char *nm2 = nm1 ? oc_graph_unique_name(g, base) : NULL;
    snprintf(base, sizeof(base), "%s_reshape", node_label(n));
    const char *nm3 = nm2 ? oc_graph_unique_name(g, base) : NULL;
    if (!nm3) return nomem(s);
    const char *fin[1] = {x}, *fout[1] = {flat}, *sout[1] = {shp};
    oc_node *fl = oc_graph_add_node(g, at, "Flatten", NULL, nm1, 1, fin, 1, fout);
    if (!fl) return nomem(s);
    oc_attr *fa = oc_node_add_attr(g, fl, "axis", OC_ATTR_INT);
    if (!fa) return nomem(s);
    fa->has_i = true;
    fa->i = axis;
    if (!oc_graph_add_node(g, at + 1, "Shape", NULL, nm2, 1, fin, 1, sout)) return nomem(s);
    const char *rin[2] = {out2d, shp}, *rout[1] = {y};
    n->inputs[0] = flat;
    n->outputs[0] = out2d;
    if (!attr_set_int(s, "axis", 1)) return false;
    if (!oc_graph_add_node(g, oc_graph_node_index(g, n) + 1, "Reshape", NULL, nm3, 2, rin, 1, rout)) return nomem(s);
    oc_graph_invalidate(g);
    return true;
}

static bool ad_split13(step_ctx *s)
{
    oc_attr *a = attr_get(s->n, "split");
    if (!attr_is_ints(a) || !s->apply) return true;
    const char *nm = new_ints(s, "split", a->ints, a->n_ints);
    if (!nm || !set_input(s, 1, nm)) return false;
    attr_drop(s->n, "split");
    return true;
}

static bool ad_axes_input(step_ctx *s)
{
    oc_attr *a = attr_get(s->n, "axes");
    if (!attr_is_ints(a)) {
        if (strcmp(s->n->op_type, "Unsqueeze") == 0) return refuse(s, "no `axes` attribute");
        return true; /* all axes (Reduce*) or all 1-dims (Squeeze), before and after */
    }
    if (!s->apply) return true;
    const char *nm = a->n_ints ? new_ints(s, "axes", a->ints, a->n_ints) : "";
    if (!nm || (*nm && !set_input(s, 1, nm))) return false;
    attr_drop(s->n, "axes");
    return true;
}

static bool ad_split18(step_ctx *s)
{
    /* equal parts: the count now has to be given */
    bool has_split = attr_is_ints(attr_get(s->n, "split")) || (s->n->n_inputs > 1 && *s->n->inputs[1]);
    if (has_split || !s->apply) return true;
    return attr_set_int(s, "num_outputs", (int64_t)s->n->n_outputs);
}

static bool fix_mode(step_ctx *s, const char *from, const char *to)
{
    char buf[32];
    const char *mode = attr_str(s->n, "mode", "", buf, sizeof(buf));
    if (strcmp(mode, from) != 0 || !s->apply) return true;
    return attr_set_string(s, "mode", to);
}

/* Upsample-1 (experimental) scaled the last two dims of an NCHW input. */
static bool ad_upsample7(step_ctx *s)
{
    double h = 0, w = 0;
    if (attr_get(s->n, "scales")) return fix_mode(s, "bilinear", "linear");
    if (!attr_float(s->n, "height_scale", &h) || !attr_float(s->n, "width_scale", &w))
        return refuse(s, "no height_scale/width_scale attributes");
    if (!s->apply) return true;
    float *f = oc_model_alloc(s->m, 4 * sizeof(float));
    oc_attr *a = f ? attr_new(s, "scales", OC_ATTR_FLOATS) : NULL;
    if (!a) return nomem(s);
    f[0] = f[1] = 1;
    f[2] = (float)h;
    f[3] = (float)w;
    a->floats = f;
    a->n_floats = 4;
    attr_drop(s->n, "height_scale");
    attr_drop(s->n, "width_scale");
    return fix_mode(s, "bilinear", "linear");
}

static bool ad_upsample9(step_ctx *s)
{
    oc_attr *a = attr_get(s->n, "scales");
    bool v1 = attr_get(s->n, "height_scale") && attr_get(s->n, "width_scale"); /* an Upsample-1 node */
    if (!v1 && !(a && (a->n_floats || a->type == OC_ATTR_FLOATS))) return refuse(s, "no `scales` attribute");
    if (!s->apply) return true;
    int64_t dims[1] = {(int64_t)a->n_floats};
    const char *nm = new_init(s, "scales", OC_DTYPE_FLOAT, 1, dims, a->floats, a->n_floats * sizeof(float));
    if (!nm || !set_input(s, 1, nm)) return false;
    attr_drop(s->n, "scales");
    return true;
}

static bool ad_upsample10(step_ctx *s)
{
    /* Resize-10 takes the same (X, scales) and modes */
    s->new_op = "Resize";
    if (!fix_mode(s, "bilinear", "linear")) return false;
    if (!s->apply) return true;
    s->n->op_type = oc_model_strdup(s->m, "Resize");
    return s->n->op_type ? true : nomem(s);
}

/* Resize-10 (and Upsample) map output to input coordinates as x / scale
 * ("asymmetric"); nearest picks floor(x) when an axis grows and ceil(x) when
 * it shrinks (ONNX Runtime's reading of the old definition). Resize-11
 * defaults to half_pixel and round_prefer_floor, so both are spelled out. */
static bool ad_resize11(step_ctx *s)
{
    char buf[32];
    const char *mode = attr_str(s->n, "mode", "nearest", buf, sizeof(buf));
    const char *nearest = NULL;
    if (strcmp(mode, "nearest") == 0) {
        if (strcmp(s->it->orig_op, "Upsample") == 0) {
            nearest = "floor"; /* Upsample's scales are >= 1 */
        } else {
            oc_tensor *w = weight(s, 1);
            if (!w || w->dtype != OC_DTYPE_FLOAT)
                return refuse(s, "nearest rounding depends on the scales, which are not constant");
            bool up = false, down = false;
            for (int64_t i = 0; i < w->numel; i++) {
                double v = oc_tensor_get(w, i);
                up |= v > 1;
                down |= v < 1;
            }
            if (up && down) return refuse(s, "its scales both grow and shrink axes, which round differently");
            nearest = down ? "ceil" : "floor";
        }
    }
    if (!s->apply) return true;
    if (s->n->n_inputs < 2) return refuse(s, "no scales input");
    const char *scales = s->n->inputs[1], *roi = "";
    if (s->target < 13) {
        int64_t dims[1] = {0};
        roi = new_init(s, "roi", OC_DTYPE_FLOAT, 1, dims, NULL, 0);
        if (!roi) return false;
    }
    if (!set_input(s, 2, scales)) return false;
    if (*roi) {
        if (!set_input(s, 1, roi)) return false;
    } else {
        s->n->inputs[1] = "";
    }
    if (!attr_set_string(s, "coordinate_transformation_mode", "asymmetric")) return false;
    return !nearest || attr_set_string(s, "nearest_mode", nearest);
}

/* 13 drops tf_half_pixel_for_nn, x_original = (x_resized + 0.5) / scale.
 * With nearest_mode floor that picks floor(x_original), which is what
 * half_pixel (x_original - 0.5) rounded half up gives: floor(v + 0.5). */
static bool ad_resize13(step_ctx *s)
{
    char buf[32], mbuf[32], nbuf[32];
    const char *ctm = attr_str(s->n, "coordinate_transformation_mode", "", buf, sizeof(buf));
    if (strcmp(ctm, "tf_half_pixel_for_nn") != 0) return true;
    const char *mode = attr_str(s->n, "mode", "nearest", mbuf, sizeof(mbuf));
    const char *nearest = attr_str(s->n, "nearest_mode", "round_prefer_floor", nbuf, sizeof(nbuf));
    if (strcmp(mode, "nearest") != 0 || strcmp(nearest, "floor") != 0)
        return refuse(s, "tf_half_pixel_for_nn is gone from 13 (only its nearest_mode=floor form has an equal)");
    if (!s->apply) return true;
    return attr_set_string(s, "coordinate_transformation_mode", "half_pixel") &&
           attr_set_string(s, "nearest_mode", "round_prefer_ceil");
}

static bool ad_roialign16(step_ctx *s)
{
    /* 16 shifts input coordinates by -0.5 by default; the old behaviour is
     * output_half_pixel */
    if (attr_get(s->n, "coordinate_transformation_mode") || !s->apply) return true;
    return attr_set_string(s, "coordinate_transformation_mode", "output_half_pixel");
}

static bool ad_gridsample20(step_ctx *s)
{
    if (!fix_mode(s, "bilinear", "linear")) return false;
    return fix_mode(s, "bicubic", "cubic");
}

static bool ad_groupnorm21(step_ctx *s)
{
    oc_node *n = s->n;
    int64_t groups = 0;
    if (!attr_int(n, "num_groups", &groups) || groups < 1) return refuse(s, "no num_groups attribute");
    oc_tensor *sc = weight(s, 1), *bi = weight(s, 2);
    int64_t c = s->g && n->n_inputs ? declared_dim(s->g, n->inputs[0], 1) : -1;
    if (!sc || !bi || sc->numel != groups || bi->numel != groups || sc->dtype != bi->dtype || c < 1 ||
        c % groups)
        return refuse(s, "scale and bias become per channel, and the channels or the constants are unknown");
    if (c == groups || !s->apply) return true;
    size_t es = (size_t)oc_dtype_bits(sc->dtype) / 8, per = (size_t)(c / groups);
    if (!es) return refuse(s, "unsupported element type");
    for (int k = 1; k <= 2; k++) {
        oc_tensor *t = k == 1 ? sc : bi;
        uint8_t *buf = oc_malloc((size_t)c * es);
        if (!buf) return nomem(s);
        for (int64_t i = 0; i < c; i++) memcpy(buf + (size_t)i * es, (const uint8_t *)t->data + (size_t)i / per * es, es);
        int64_t dims[1] = {c};
        const char *nm = new_init(s, k == 1 ? "scale" : "bias", t->dtype, 1, dims, buf, (size_t)c * es);
        oc_free(buf);
        if (!nm || !set_input(s, (size_t)k, nm)) return false;
    }
    return true;
}

static const adapt_fn adapters[] = {
    [AD_NEW] = ad_same,
    [AD_SAME] = ad_same,
    [AD_NONE] = ad_none,
    [AD_REMOVED] = ad_none,
    [AD_CONSUMED6] = ad_consumed6,
    [AD_BCAST7] = ad_bcast7,
    [AD_GEMM7] = ad_gemm7,
    [AD_PRELU7] = ad_prelu7,
    [AD_BN7] = ad_bn7,
    [AD_DROPOUT7] = ad_dropout7,
    [AD_RNN7] = ad_rnn7,
    [AD_BN9] = ad_bn9,
    [AD_BN14] = ad_bn14,
    [AD_DROPOUT10] = ad_dropout10,
    [AD_DROPOUT12] = ad_dropout12,
    [AD_CAST6] = ad_cast6,
    [AD_CONCAT4] = ad_concat4,
    [AD_RESHAPE5] = ad_reshape5,
    [AD_LPPOOL2] = ad_lppool2,
    [AD_PAD2] = ad_pad2,
    [AD_SPLIT2] = ad_split2,
    [AD_SLICE10] = ad_slice10,
    [AD_TOPK10] = ad_topk10,
    [AD_CLIP11] = ad_clip11,
    [AD_PAD11] = ad_pad11,
    [AD_SCATTER11] = ad_scatter11,
    [AD_ONEHOT11] = ad_onehot11,
    [AD_SOFTMAX13] = ad_softmax13,
    [AD_SPLIT13] = ad_split13,
    [AD_AXES_INPUT] = ad_axes_input,
    [AD_SPLIT18] = ad_split18,
    [AD_UPSAMPLE7] = ad_upsample7,
    [AD_UPSAMPLE9] = ad_upsample9,
    [AD_UPSAMPLE10] = ad_upsample10,
    [AD_RESIZE11] = ad_resize11,
    [AD_RESIZE13] = ad_resize13,
    [AD_ROIALIGN16] = ad_roialign16,
    [AD_GRIDSAMPLE20] = ad_gridsample20,
    [AD_GROUPNORM21] = ad_groupnorm21,
};
static_assert(sizeof(adapters) / sizeof(adapters[0]) == AD_COUNT, "every adapter kind has its function");

/* ---- the whole model ----------------------------------------------------- */

enum { B_NO_ADAPTER, B_REMOVED, B_UNKNOWN, B_REASON, B_IN_FUNCTION };

/* Refusals with the same operator, version and reason are told once. */
typedef struct blocker {
    int kind;
    char op[64];
    int since;
    char why[200];
    char node[96];
    size_t count;
} blocker;

typedef struct plan {
    oc_model *m;
    int64_t from, target;
    item *items;
    size_t n_items, cap_items;
    blocker blockers[32];
    size_t n_blockers, more_blockers;
    bool oom;
} plan;

static void add_blocker(plan *p, int kind, const char *op, int since, const char *why, const oc_node *n)
{
    for (size_t i = 0; i < p->n_blockers; i++) {
        blocker *b = &p->blockers[i];
        if (b->kind == kind && b->since == since && strcmp(b->op, op) == 0 && strcmp(b->why, why) == 0) {
            b->count++;
            return;
        }
    }
    if (p->n_blockers == sizeof(p->blockers) / sizeof(p->blockers[0])) {
        p->more_blockers++;
        return;
    }
    blocker *b = &p->blockers[p->n_blockers++];
    b->kind = kind;
    snprintf(b->op, sizeof(b->op), "%s", op);
    b->since = since;
    snprintf(b->why, sizeof(b->why), "%s", why);
    snprintf(b->node, sizeof(b->node), "%s", node_label(n));
    b->count = 1;
}

static void format_blockers(const plan *p, char *msg, size_t cap)
{
    if (!msg || !cap) return;
    size_t len = (size_t)snprintf(msg, cap, "cannot raise opset %lld to %lld: ", (long long)p->from,
                                  (long long)p->target);
    for (size_t i = 0; i < p->n_blockers && len < cap; i++) {
        const blocker *b = &p->blockers[i];
        char who[160];
        if (b->count > 1)
            snprintf(who, sizeof(who), "node '%s' and %zu more", b->node, b->count - 1);
        else
            snprintf(who, sizeof(who), "node '%s'", b->node);
        const char *sep = i ? ", " : "";
        switch (b->kind) {
        case B_NO_ADAPTER:
            len += (size_t)snprintf(msg + len, cap - len, "%sno adapter for %s (%s) changed at %d", sep, b->op, who,
                                    b->since);
            break;
        case B_REMOVED:
            len += (size_t)snprintf(msg + len, cap - len, "%s%s (%s) was removed from the standard at %d", sep,
                                    b->op, who, b->since);
            break;
        case B_UNKNOWN:
            len += (size_t)snprintf(msg + len, cap - len, "%s%s (%s) is no default-domain operator onnxcomp knows",
                                    sep, b->op, who);
            break;
        case B_IN_FUNCTION:
            len += (size_t)snprintf(msg + len, cap - len,
                                    "%s%s (%s) changed at %d inside model-local function '%s', which onnxcomp does "
                                    "not rewrite",
                                    sep, b->op, who, b->since, b->why);
            break;
        default:
            len += (size_t)snprintf(msg + len, cap - len, "%s%s (%s) changed at %d: %s", sep, b->op, who, b->since,
                                    b->why);
        }
    }
    if (p->more_blockers && len < cap)
        snprintf(msg + len, cap - len, ", and %zu more kinds of node", p->more_blockers);
}

static void add_item(plan *p, oc_graph *g, const oc_function *fn, oc_node *n, int64_t opset)
{
    if (p->n_items == p->cap_items) {
        size_t nc = p->cap_items ? p->cap_items * 2 : 64;
        item *ni = oc_realloc(p->items, nc * sizeof(item));
        if (!ni) {
            p->oom = true;
            return;
        }
        p->items = ni;
        p->cap_items = nc;
    }
    item *it = &p->items[p->n_items++];
    memset(it, 0, sizeof(*it));
    it->g = g;
    it->fn = fn;
    it->n = n;
    it->opset = opset;
    it->orig_op = n->op_type;
}

static void collect_graph(plan *p, oc_graph *g);

static void collect_sub(void *ud, oc_graph *sub)
{
    collect_graph(ud, sub);
}

static void collect_graph(plan *p, oc_graph *g)
{
    for (size_t i = 0; i < g->n_nodes && !p->oom; i++) {
        oc_node *n = g->nodes[i];
        if (oc_domain_is_default(n->domain)) add_item(p, g, NULL, n, p->from);
        oc_node_foreach_subgraph(n, collect_sub, p);
    }
}

static int64_t function_opset(const oc_function *fn, int64_t dflt)
{
    int64_t v = 0;
    for (size_t i = 0; i < fn->n_opsets; i++)
        if (oc_domain_is_default(fn->opsets[i].domain) && fn->opsets[i].version > v) v = fn->opsets[i].version;
    return v ? v : dflt;
}

/* Carries one node from its opset to the target: checks only, or edits.
 * Returns false when the node is refused (recorded) or memory ran out. */
static bool run_item(plan *p, item *it, bool apply)
{
    const char *op = it->n->op_type;
    const op_history *h = oc_opset_history_find(op);
    if (!h) {
        add_blocker(p, B_UNKNOWN, op, 0, "", it->n);
        return false;
    }
    int64_t level = it->opset;
    for (size_t k = 0; k < sizeof(h->steps) / sizeof(h->steps[0]) && h->steps[k].since; k++) {
        const step *st = &h->steps[k];
        /* a deprecated operator (Upsample from 10, Scatter from 11) turns
         * into its successor even when the model already reads it there */
        bool successor = st->ad == AD_UPSAMPLE10 || st->ad == AD_SCATTER11;
        if (st->since <= level && !successor) continue;
        if (st->since > p->target) break;
        if (st->ad == AD_NEW) { /* the op did not exist at the model's opset */
            level = st->since;
            continue;
        }
        if (!it->g && st->ad != AD_SAME) {
            add_blocker(p, B_IN_FUNCTION, op, st->since, it->fn->name ? it->fn->name : "", it->n);
            return false;
        }
        step_ctx s = {.m = p->m, .g = it->g, .n = it->n, .it = it, .target = p->target, .apply = apply};
        if (!adapters[st->ad](&s)) {
            if (s.oom) {
                p->oom = true;
                return false;
            }
            int kind = st->ad == AD_NONE ? B_NO_ADAPTER : st->ad == AD_REMOVED ? B_REMOVED : B_REASON;
            add_blocker(p, kind, op, st->since, s.why, it->n);
            return false;
        }
        if (st->since > level) level = st->since;
        if (s.new_op) { /* follow the new operator's history from here */
            op = s.new_op;
            h = oc_opset_history_find(op);
            if (!h) {
                add_blocker(p, B_UNKNOWN, op, 0, "", it->n);
                return false;
            }
            k = (size_t)-1; /* the loop's k++ restarts at 0 */
        }
    }
    return true;
}

static oc_status check_target(oc_ctx *ctx, int64_t target)
{
    RETURN_ERROR_IF(target < 1, ctx, OC_ERR_USAGE, "opset %lld is no opset", (long long)target);
    RETURN_ERROR_IF(target > OC_OPSET_MAX, ctx, OC_ERR_USAGE,
                    "opset %lld is newer than the %d onnxcomp knows the changes of", (long long)target,
                    OC_OPSET_MAX);
    return OC_OK;
}

/* Collects and checks. OC_OK when every node adapts; the plan then holds the
 * items for the apply pass (the caller frees p->items). */
static oc_status make_plan(oc_ctx *ctx, plan *p, oc_model *m, int64_t target)
{
    memset(p, 0, sizeof(*p));
    p->m = m;
    p->target = target;
    p->from = oc_model_opset(m, "");
    if (m->graph) collect_graph(p, m->graph);
    for (size_t f = 0; f < m->n_functions && !p->oom; f++) {
        const oc_function *fn = m->functions[f];
        int64_t v = function_opset(fn, p->from);
        for (size_t i = 0; i < fn->n_nodes && !p->oom; i++)
            if (oc_domain_is_default(fn->nodes[i]->domain)) add_item(p, NULL, fn, fn->nodes[i], v);
    }
    RETURN_ERROR_IF(p->oom, ctx, OC_ERR_NOMEM, "out of memory planning the opset upgrade");
    RETURN_ERROR_IF(p->from == 0 && p->n_items, ctx, OC_ERR_INVALID,
                    "the model uses default-domain operators but imports no default-domain opset");
    /* their nodes are kept serialized, so they could not be carried over */
    RETURN_ERROR_IF(m->n_training_info, ctx, OC_ERR_UNSUPPORTED,
                    "cannot raise opset %lld to %lld: the model's training_info graphs are not rewritten",
                    (long long)p->from, (long long)target);
    for (size_t i = 0; i < p->n_items; i++) {
        run_item(p, &p->items[i], false);
        RETURN_ERROR_IF(p->oom, ctx, OC_ERR_NOMEM, "out of memory planning the opset upgrade");
    }
    if (p->n_blockers) {
        char msg[sizeof(ctx->msg)];
        format_blockers(p, msg, sizeof(msg));
        return oc_fail(ctx, OC_ERR_UNSUPPORTED, "%s", msg);
    }
    return OC_OK;
}

bool oc_opset_can_upgrade(const oc_model *m, int64_t target, char *msg, size_t cap)
{
    oc_ctx ctx;
    oc_ctx_init(&ctx);
    if (msg && cap) msg[0] = 0;
    oc_status st = check_target(&ctx, target);
    if (st == OC_OK && oc_model_opset(m, "") >= target) return true;
    plan p;
    memset(&p, 0, sizeof(p));
    /* only the name caches are built; nothing of the model changes */
    if (st == OC_OK) st = make_plan(&ctx, &p, (oc_model *)m, target);
    oc_free(p.items);
    if (st != OC_OK && msg && cap) snprintf(msg, cap, "%s", ctx.msg);
    return st == OC_OK;
}

static oc_status set_opset_imports(oc_ctx *ctx, oc_model *m, int64_t target)
{
    bool found = false;
    for (size_t i = 0; i < m->n_opsets; i++)
        if (oc_domain_is_default(m->opsets[i].domain)) {
            m->opsets[i].version = target;
            m->opsets[i].has_version = true;
            found = true;
        }
    if (!found) {
        oc_opset *no = oc_model_alloc(m, (m->n_opsets + 1) * sizeof(oc_opset));
        const char *dom = oc_model_strdup(m, "");
        RETURN_ERROR_IF(!no || !dom, ctx, OC_ERR_NOMEM, "out of memory adding the opset import");
        if (m->n_opsets) memcpy(no, m->opsets, m->n_opsets * sizeof(oc_opset));
        no[m->n_opsets].domain = dom;
        no[m->n_opsets].version = target;
        no[m->n_opsets].has_version = true;
        m->opsets = no;
        m->n_opsets++;
    }
    for (size_t f = 0; f < m->n_functions; f++) {
        oc_function *fn = m->functions[f];
        for (size_t i = 0; i < fn->n_opsets; i++)
            if (oc_domain_is_default(fn->opsets[i].domain) && fn->opsets[i].version < target) {
                fn->opsets[i].version = target;
                fn->opsets[i].has_version = true;
            }
    }
    int64_t ir = oc_opset_min_ir_version(target);
    if (!m->has_ir_version || m->ir_version < ir) {
        /* Before IR 4 every initializer had to be listed as a graph input and
         * was a constant; from IR 4 an input with an initializer is a default
         * the caller may override. Keep them constants: drop those inputs. */
        if (m->ir_version < 4 && ir >= 4) drop_initializer_inputs(m->graph);
        m->ir_version = ir;
        m->has_ir_version = true;
    }
    return OC_OK;
}

oc_status oc_opset_upgrade(oc_ctx *ctx, oc_model *m, int64_t target)
{
    FORWARD_IF_ERROR(check_target(ctx, target));
    if (oc_model_opset(m, "") >= target) return OC_OK;
    plan p;
    oc_status st = make_plan(ctx, &p, m, target);
    if (st != OC_OK) goto cleanup;
    for (size_t i = 0; i < p.n_items; i++) {
        if (run_item(&p, &p.items[i], true)) continue;
        if (p.oom) {
            st = oc_fail(ctx, OC_ERR_NOMEM, "out of memory upgrading the opset");
        } else {
            const blocker *b = &p.blockers[0];
            st = oc_fail(ctx, OC_ERR_INTERNAL, "node '%s' (%s) passed the opset check but not its rewrite: %s",
                         b->node, b->op, b->why);
        }
        goto cleanup;
    }
    st = set_opset_imports(ctx, m, target);
cleanup:
    oc_free(p.items);
    return st;
}
