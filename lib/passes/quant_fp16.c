/* quant_fp16.c: float16 weights and compute.
 *
 * Every float32 weight (initializer or Constant value) and every float32
 * value a node computes becomes float16, while the model's float32 inputs
 * and outputs stay as they were: a Cast to float16 follows each input that
 * converted nodes read, a Cast back to float32 produces each output. Some
 * nodes stay float32, with Casts around them:
 *  - ops that break or lose too much in float16 (keep_default=1): Resize and
 *    Upsample (their scales and roi are float32 anyway), Range, TopK,
 *    CumSum, NonMaxSuppression, RoiAlign, GridSample, and shape arithmetic:
 *    whatever computes a Reshape/Expand/Tile/Slice/ConstantOfShape/...
 *    shape input (float16 counts integers exactly only up to 2048);
 *  - nodes whose inputs or outputs exceeded `range_limit` in magnitude on
 *    the --data samples, when samples are given (float16 ends at 65504:
 *    an STFT of int16-valued audio overflows), and nodes with weights
 *    beyond float16's range;
 *  - ops without a float16 rule here (random generators, sequences,
 *    custom-domain ops, anything unknown), and --exclude-op/--exclude-node
 *    selections.
 * Cast nodes whose target is float32 inside the converted region target
 * float16 instead; ConstantOfShape values and Constant values follow their
 * node. If/Loop/Scan bodies are converted inside, with their inputs and
 * outputs kept in their original types (Casts at the boundary), so both
 * branches of an If always agree. A weight read both by converted and by
 * float32 nodes stays float32 once, and converted readers get a Cast (ONNX
 * Runtime folds it at load). value_info entries follow the new types.
 *
 * Initializers also listed as graph inputs (IR 3, or old exporters' default)
 * are weights too: when converted, their declared input type follows.
 *
 * Types are inferred from the graph (declared inputs, initializers, per-op
 * rules, value_info); a value whose type cannot be told is never changed,
 * and nodes reading it stay float32. An op converts only when the model's
 * version of it takes float16 (Range, Celu and NonMaxSuppression never do;
 * IsInf from opset 20, CumSum from 14).
 *
 * What it buys on ONNX Runtime's CPU provider (1.30, x86-64): half the file
 * and memory for weights, but no speed: Conv, Gemm, MatMul and most other
 * ops have no float16 CPU kernel, so ORT computes them in float32 between
 * Casts it inserts itself. The float16 compute is for GPU providers. */
#include "opset.h"
#include "passes_extra.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const oc_pass_opt oc_fp16_opts[] = {
    {"keep_io", OC_OPT_BOOL, "1", 0, 1, NULL, "float32 graph inputs and outputs, with Casts at the boundary (0: float16)"},
    {"keep_default", OC_OPT_BOOL, "1", 0, 1, NULL,
     "keep shape arithmetic, Resize, Upsample, Range, TopK, CumSum, NMS, RoiAlign, GridSample in float32"},
    {"range_limit", OC_OPT_FLOAT, "16384", 1, 65504, NULL,
     "with --data: nodes whose values exceed this magnitude on the samples stay float32"},
    {"samples", OC_OPT_INT, "8", 1, 1e6, NULL, "--data samples run for the range check"},
};
const size_t oc_fp16_n_opts = sizeof(oc_fp16_opts) / sizeof(oc_fp16_opts[0]);
static_assert(sizeof(oc_fp16_opts) / sizeof(oc_fp16_opts[0]) == OC_FP16_N_OPTS, "option count");

#define HALF_MAX 65504.0f

/* ---- float16 numerics ---- */

/* Round-to-nearest-even float32 -> float16 bits; finite values beyond the
 * float16 range saturate to +-65504 (a weight should not become inf). */
static uint16_t to_half(float f)
{
    if (f > HALF_MAX) f = HALF_MAX;
    if (f < -HALF_MAX) f = -HALF_MAX;
    return oc_float_to_half(f);
}

/* ---- what each op does with its float type ---- */

#define SLOT(k) (1u << ((k) < 31 ? (k) : 31))
#define ALL 0xffffffffu

/* in_t: input slots of the op's float type T (all must be float32 for the
 * node to convert); in_flex: slots converted along when they are float32
 * (Pow's exponent); out_t: output slots of type T. Other float slots keep
 * their type (Resize scales, Dropout ratio, LayerNormalization's mean). */
typedef struct opspec {
    const char *op;
    uint32_t in_t, in_flex, out_t;
    int since; /* first opset whose definition takes float16 (0: all) */
} opspec;

#define UNARY(name) {name, SLOT(0), 0, SLOT(0), 0}
static const opspec op_specs[] = {
    UNARY("Abs"), UNARY("Acos"), UNARY("Acosh"), UNARY("Asin"), UNARY("Asinh"), UNARY("Atan"), UNARY("Atanh"),
    UNARY("Ceil"), UNARY("Cos"), UNARY("Cosh"), UNARY("DepthToSpace"), UNARY("Det"), UNARY("Elu"),
    UNARY("Erf"), UNARY("Exp"), UNARY("Flatten"), UNARY("Floor"), UNARY("Gelu"), UNARY("GlobalAveragePool"),
    UNARY("GlobalLpPool"), UNARY("GlobalMaxPool"), UNARY("HardSigmoid"), UNARY("HardSwish"), UNARY("Hardmax"),
    UNARY("Identity"), UNARY("LRN"), UNARY("LeakyRelu"), UNARY("Log"), UNARY("LogSoftmax"), UNARY("LpNormalization"),
    UNARY("LpPool"), UNARY("MeanVarianceNormalization"), UNARY("Mish"), UNARY("Neg"), UNARY("Reciprocal"),
    UNARY("Relu"), UNARY("Round"), UNARY("Selu"), UNARY("Shrink"), UNARY("Sigmoid"), UNARY("Sign"), UNARY("Sin"),
    UNARY("Sinh"), UNARY("Softmax"), UNARY("Softplus"), UNARY("Softsign"), UNARY("SpaceToDepth"), UNARY("Sqrt"),
    UNARY("Tan"), UNARY("Tanh"), UNARY("ThresholdedRelu"), UNARY("Transpose"),
    /* data movement with integer side inputs */
    UNARY("Reshape"), UNARY("Expand"), UNARY("Tile"), UNARY("Squeeze"), UNARY("Unsqueeze"), UNARY("Slice"),
    UNARY("Gather"), UNARY("GatherElements"), UNARY("GatherND"), UNARY("Compress"), UNARY("ReverseSequence"),
    UNARY("Trilu"), UNARY("CenterCropPad"), UNARY("AveragePool"), UNARY("MaxPool"), UNARY("MaxRoiPool"),
    UNARY("Dropout"), UNARY("ReduceL1"), UNARY("ReduceL2"), UNARY("ReduceLogSum"), UNARY("ReduceLogSumExp"),
    UNARY("ReduceMax"), UNARY("ReduceMean"), UNARY("ReduceMin"), UNARY("ReduceProd"), UNARY("ReduceSum"),
    UNARY("ReduceSumSquare"), UNARY("Resize"), UNARY("Upsample"), UNARY("TopK"),
    {"CumSum", SLOT(0), 0, SLOT(0), 14},
    {"Pad", SLOT(0) | SLOT(2), 0, SLOT(0), 0},
    {"Scatter", SLOT(0) | SLOT(2), 0, SLOT(0), 0},
    {"ScatterElements", SLOT(0) | SLOT(2), 0, SLOT(0), 0},
    {"ScatterND", SLOT(0) | SLOT(2), 0, SLOT(0), 0},
    {"Split", SLOT(0), 0, ALL, 0},
    {"Concat", ALL, 0, SLOT(0), 0},
    {"Sum", ALL, 0, SLOT(0), 0},
    {"Mean", ALL, 0, SLOT(0), 0},
    {"Max", ALL, 0, SLOT(0), 0},
    {"Min", ALL, 0, SLOT(0), 0},
    {"Einsum", ALL, 0, SLOT(0), 0},
    {"Add", SLOT(0) | SLOT(1), 0, SLOT(0), 0},
    {"Sub", SLOT(0) | SLOT(1), 0, SLOT(0), 0},
    {"Mul", SLOT(0) | SLOT(1), 0, SLOT(0), 0},
    {"Div", SLOT(0) | SLOT(1), 0, SLOT(0), 0},
    {"Mod", SLOT(0) | SLOT(1), 0, SLOT(0), 0},
    {"PRelu", SLOT(0) | SLOT(1), 0, SLOT(0), 0},
    {"MatMul", SLOT(0) | SLOT(1), 0, SLOT(0), 0},
    {"Pow", SLOT(0), SLOT(1), SLOT(0), 0},
    {"Equal", SLOT(0) | SLOT(1), 0, 0, 0},
    {"Less", SLOT(0) | SLOT(1), 0, 0, 0},
    {"LessOrEqual", SLOT(0) | SLOT(1), 0, 0, 0},
    {"Greater", SLOT(0) | SLOT(1), 0, 0, 0},
    {"GreaterOrEqual", SLOT(0) | SLOT(1), 0, 0, 0},
    {"ArgMax", SLOT(0), 0, 0, 0},
    {"ArgMin", SLOT(0), 0, 0, 0},
    {"IsInf", SLOT(0), 0, 0, 20},
    {"IsNaN", SLOT(0), 0, 0, 0},
    {"Clip", SLOT(0) | SLOT(1) | SLOT(2), 0, SLOT(0), 0},
    {"Where", SLOT(1) | SLOT(2), 0, SLOT(0), 0},
    {"Gemm", SLOT(0) | SLOT(1) | SLOT(2), 0, SLOT(0), 0},
    {"Conv", SLOT(0) | SLOT(1) | SLOT(2), 0, SLOT(0), 0},
    {"ConvTranspose", SLOT(0) | SLOT(1) | SLOT(2), 0, SLOT(0), 0},
    {"BatchNormalization", SLOT(0) | SLOT(1) | SLOT(2) | SLOT(3) | SLOT(4), 0, SLOT(0) | SLOT(1) | SLOT(2), 0},
    {"InstanceNormalization", SLOT(0) | SLOT(1) | SLOT(2), 0, SLOT(0), 0},
    {"LayerNormalization", SLOT(0) | SLOT(1) | SLOT(2), 0, SLOT(0), 0},
    {"GroupNormalization", SLOT(0) | SLOT(1) | SLOT(2), 0, SLOT(0), 0},
    {"LSTM", SLOT(0) | SLOT(1) | SLOT(2) | SLOT(3) | SLOT(5) | SLOT(6) | SLOT(7), 0, ALL, 0},
    {"GRU", SLOT(0) | SLOT(1) | SLOT(2) | SLOT(3) | SLOT(5), 0, ALL, 0},
    {"RNN", SLOT(0) | SLOT(1) | SLOT(2) | SLOT(3) | SLOT(5), 0, ALL, 0},
    {"RoiAlign", SLOT(0) | SLOT(1), 0, SLOT(0), 0},
    {"GridSample", SLOT(0), SLOT(1), SLOT(0), 0},
    {"OneHot", SLOT(2), 0, SLOT(0), 0},
    {"CastLike", SLOT(1), 0, SLOT(0), 0},
    {"DFT", SLOT(0), 0, SLOT(0), 17},
    {"STFT", SLOT(0) | SLOT(2), 0, SLOT(0), 17},
};
#undef UNARY

/* Kept in float32 by default: results that change meaning with float16
 * rounding (sizes, sorting, running sums, boxes) or whose side inputs must
 * be float32. */
static const char *const keep_ops[] = {"Resize", "Upsample", "Range", "TopK", "CumSum", "NonMaxSuppression",
                                       "RoiAlign", "GridSample", NULL};

/* Kept in float32 always, keep_default=0 too: what ONNX Runtime 1.30 cannot
 * load or run in float16 (so no choice of precision). MeanVariance-
 * Normalization runs as its function body, whose epsilon is a float32
 * constant: a float16 input does not load. A Scatter that accumulates
 * (reduction add/mul/...) has no float16 kernel on the CPU provider. A
 * Dropout given a training_mode input draws its random mask differently in
 * float16, so even a seeded one changes. */
static bool float32_for_ort(const oc_node *n)
{
    if (!strcmp(n->op_type, "MeanVarianceNormalization")) return true;
    if (!strcmp(n->op_type, "Dropout")) return n->n_inputs > 2 && *n->inputs[2];
    if (strcmp(n->op_type, "ScatterElements") && strcmp(n->op_type, "ScatterND")) return false;
    for (size_t i = 0; i < n->n_attrs; i++)
        if (!strcmp(n->attrs[i].name, "reduction"))
            return !(n->attrs[i].s.len == 4 && !memcmp(n->attrs[i].s.data, "none", 4));
    return false;
}

/* Inputs that are shapes, sizes, axes or counts: whatever computes them is
 * shape arithmetic. */
typedef struct shapespec {
    const char *op;
    uint32_t slots;
} shapespec;

static const shapespec shape_specs[] = {
    {"Reshape", SLOT(1)}, {"Expand", SLOT(1)}, {"Tile", SLOT(1)}, {"ConstantOfShape", SLOT(0)},
    {"Slice", SLOT(1) | SLOT(2) | SLOT(3) | SLOT(4)}, {"Range", ALL}, {"Resize", SLOT(1) | SLOT(2) | SLOT(3)},
    {"Upsample", SLOT(1)}, {"Pad", SLOT(1) | SLOT(3)}, {"Squeeze", SLOT(1)}, {"Unsqueeze", SLOT(1)},
    {"Split", SLOT(1)}, {"TopK", SLOT(1)}, {"OneHot", SLOT(1)}, {"CenterCropPad", SLOT(1)}, {"Trilu", SLOT(1)},
    {"ReduceL1", SLOT(1)}, {"ReduceL2", SLOT(1)}, {"ReduceLogSum", SLOT(1)}, {"ReduceLogSumExp", SLOT(1)},
    {"ReduceMax", SLOT(1)}, {"ReduceMean", SLOT(1)}, {"ReduceMin", SLOT(1)}, {"ReduceProd", SLOT(1)},
    {"ReduceSum", SLOT(1)}, {"ReduceSumSquare", SLOT(1)},
};

static bool in_mask(uint32_t mask, size_t k)
{
    return (mask & SLOT(k)) != 0;
}

static const opspec *find_spec(const char *op)
{
    for (size_t i = 0; i < sizeof(op_specs) / sizeof(op_specs[0]); i++)
        if (!strcmp(op_specs[i].op, op)) return &op_specs[i];
    return NULL;
}

static uint32_t shape_slots(const char *op)
{
    for (size_t i = 0; i < sizeof(shape_specs) / sizeof(shape_specs[0]); i++)
        if (!strcmp(shape_specs[i].op, op)) return shape_specs[i].slots;
    return 0;
}

static bool is_op(const oc_node *n, const char *op)
{
    return !strcmp(n->op_type, op);
}

static bool in_list(const char *s, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (!strcmp(s, list[i])) return true;
    return false;
}

static const oc_attr *find_attr(const oc_node *n, const char *name)
{
    for (size_t i = 0; i < n->n_attrs; i++)
        if (!strcmp(n->attrs[i].name, name)) return &n->attrs[i];
    return NULL;
}

static int64_t attr_int(const oc_node *n, const char *name, int64_t def)
{
    const oc_attr *a = find_attr(n, name);
    return a && (a->has_i || a->type == OC_ATTR_INT) ? a->i : def;
}

static bool has_subgraph(const oc_node *n)
{
    for (size_t i = 0; i < n->n_attrs; i++)
        if (n->attrs[i].g || n->attrs[i].n_graphs) return true;
    return false;
}

/* ---- per-graph state ---- */

enum { DEF_INPUT = 1, DEF_INIT = 2, DEF_NODE = 3 };
enum { WANT_ANY = 0, WANT_ORIG = 1, WANT_F16 = 2 };

struct gstate;

/* What is known about one value. */
typedef struct vinfo {
    const char *name;
    int otype, ntype;      /* element type before and after the pass (0: not a tensor or unknown) */
    int def;               /* DEF_* */
    size_t node, slot;     /* producer: index in the state's node snapshot, output slot */
    bool is_const;         /* produced by a Constant node */
    bool listed_input;     /* an initializer also listed as a graph input */
    oc_tensor *w;          /* initializer or Constant value tensor */
    int n16, n32;          /* readers wanting float16 / the original type */
    bool has_range;
    float maxabs;          /* observed on the --data samples */
    bool has_wmax;
    float wmax;            /* largest weight magnitude */
    const char *cast16, *cast32; /* Cast outputs made for readers */
    struct gstate *home;
} vinfo;

typedef struct gstate {
    oc_graph *g;
    struct gstate *parent;
    oc_strmap vals; /* name -> vinfo* defined here */
    oc_strmap decl; /* name -> element type declared by value_info or the graph's outputs (aux) */
    vinfo **list;   /* the same, in definition order */
    size_t n_list, cap_list;
    oc_node **nodes; /* the graph's nodes before any edit */
    size_t n_nodes;
    unsigned char *conv;  /* per node: computes in float16 */
    unsigned char *shape; /* per node: shape arithmetic */
} gstate;

/* A value seen while running the --data samples. */
typedef struct seen {
    int dtype;
    float maxabs;
} seen;

typedef struct fctx {
    oc_pass_run *r;
    oc_arena *a; /* scratch for this run */
    bool keep_io, keep_default;
    float limit;
    int64_t opset; /* the model's default-domain opset */
    gstate **gs; /* every graph, parents before their subgraphs */
    size_t n_gs, cap_gs;
    oc_strmap seen; /* name -> seen* (main graph, with --data) */
    bool have_seen;
    size_t n_conv, n_list_kept, n_ort_kept, n_shape_kept, n_range_kept, n_wrange_kept, n_excluded, n_norule, n_casts;
    size_t n_weights, n_cast_to, n_listed;
    char norule_ops[256];
    oc_status st;
} fctx;

static void nomem(fctx *f)
{
    if (f->st == OC_OK) f->st = oc_fail(f->r->ctx, OC_ERR_NOMEM, "out of memory");
}

static vinfo *vlocal(const gstate *s, const char *name)
{
    oc_strmap_entry *e = oc_strmap_get(&s->vals, name);
    return e ? e->val : NULL;
}

static vinfo *vlook(const gstate *s, const char *name)
{
    for (; s; s = s->parent) {
        vinfo *v = vlocal(s, name);
        if (v) return v;
    }
    return NULL;
}

static int otype_of(const gstate *s, const char *name)
{
    const vinfo *v = *name ? vlook(s, name) : NULL;
    return v ? v->otype : 0;
}

static vinfo *vadd(fctx *f, gstate *s, const char *name, int def)
{
    vinfo *have = vlocal(s, name);
    if (have) return have;
    vinfo *v = oc_arena_alloc(f->a, sizeof(vinfo));
    bool added;
    oc_strmap_entry *e = NULL;
    if (v && oc_arena_grow(f->a, (void **)&s->list, &s->cap_list, s->n_list + 1, sizeof(vinfo *)))
        e = oc_strmap_put(&s->vals, name, &added);
    if (!e) {
        nomem(f);
        return NULL;
    }
    v->name = name;
    v->def = def;
    v->home = s;
    s->list[s->n_list++] = v;
    e->val = v;
    return v;
}

static int value_elem(const oc_value *v)
{
    return v->has_type && v->type.kind == OC_TYPE_TENSOR ? v->type.elem_type : 0;
}

/* The type value_info or the graph's outputs declare for `name`. */
static int declared(const gstate *s, const char *name)
{
    oc_strmap_entry *e = oc_strmap_get(&s->decl, name);
    return e ? (int)e->aux : 0;
}

static void note_declared(fctx *f, gstate *s, const oc_value *v)
{
    int t = value_elem(v);
    if (!t) return;
    bool added;
    oc_strmap_entry *e = oc_strmap_put(&s->decl, v->name, &added);
    if (!e) {
        nomem(f);
        return;
    }
    if (added) e->aux = (uint32_t)t;
}

/* ---- type inference ---- */

static gstate *child_state(fctx *f, const oc_graph *sub)
{
    for (size_t i = 0; i < f->n_gs; i++)
        if (f->gs[i]->g == sub) return f->gs[i];
    return NULL;
}

/* Type of output k of subgraph attribute `attr` of n. */
static int sub_output(fctx *f, const oc_node *n, const char *attr, size_t k)
{
    const oc_attr *a = find_attr(n, attr);
    gstate *c = a && a->g ? child_state(f, a->g) : NULL;
    if (!c || k >= c->g->n_outputs) return 0;
    int t = otype_of(c, c->g->outputs[k]->name);
    return t ? t : value_elem(c->g->outputs[k]);
}

static int constant_type(const oc_node *n)
{
    for (size_t i = 0; i < n->n_attrs; i++) {
        const oc_attr *a = &n->attrs[i];
        if (!strcmp(a->name, "value") && a->t) return a->t->dtype;
        if (!strcmp(a->name, "value_float") || !strcmp(a->name, "value_floats")) return OC_DTYPE_FLOAT;
        if (!strcmp(a->name, "value_int") || !strcmp(a->name, "value_ints")) return OC_DTYPE_INT64;
        if (!strcmp(a->name, "value_string") || !strcmp(a->name, "value_strings")) return OC_DTYPE_STRING;
    }
    return 0;
}

static int input_type(const gstate *s, const oc_node *n, size_t k)
{
    return k < n->n_inputs ? otype_of(s, n->inputs[k]) : 0;
}

/* The element type of output k of n, from its inputs and the op's rules;
 * 0 when not known. */
static int infer(fctx *f, const gstate *s, const oc_node *n, size_t k)
{
    if (!oc_domain_is_default(n->domain)) return 0;
    const char *op = n->op_type;
    if (!strcmp(op, "Cast")) return (int)attr_int(n, "to", 0);
    if (!strcmp(op, "Constant")) return constant_type(n);
    if (!strcmp(op, "ConstantOfShape")) {
        const oc_attr *a = find_attr(n, "value");
        return a && a->t ? a->t->dtype : OC_DTYPE_FLOAT;
    }
    static const char *const i64_ops[] = {"Shape", "Size", "NonZero", "ArgMax", "ArgMin", "NonMaxSuppression", NULL};
    static const char *const bool_ops[] = {"Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "And", "Or",
                                           "Xor", "Not", "IsNaN", "IsInf", NULL};
    if (in_list(op, i64_ops)) return OC_DTYPE_INT64;
    if (in_list(op, bool_ops)) return OC_DTYPE_BOOL;
    if (!strcmp(op, "QuantizeLinear")) {
        if (n->n_inputs > 2 && *n->inputs[2]) return input_type(s, n, 2);
        int64_t od = attr_int(n, "output_dtype", 0);
        return od ? (int)od : OC_DTYPE_UINT8;
    }
    if (!strcmp(op, "DequantizeLinear")) return input_type(s, n, 1);
    if (!strcmp(op, "DynamicQuantizeLinear")) return k == 1 ? OC_DTYPE_FLOAT : OC_DTYPE_UINT8;
    if (!strcmp(op, "MatMulInteger") || !strcmp(op, "ConvInteger")) return OC_DTYPE_INT32;
    if (!strcmp(op, "QLinearConv") || !strcmp(op, "QLinearMatMul")) return input_type(s, n, 7);
    if (!strcmp(op, "If")) return sub_output(f, n, "then_branch", k);
    if (!strcmp(op, "Loop")) return sub_output(f, n, "body", k + 1);
    if (!strcmp(op, "Scan")) return sub_output(f, n, "body", k);
    if (!strcmp(op, "RandomNormal") || !strcmp(op, "RandomUniform")) return (int)attr_int(n, "dtype", OC_DTYPE_FLOAT);
    if (!strcmp(op, "RandomNormalLike") || !strcmp(op, "RandomUniformLike") || !strcmp(op, "EyeLike") ||
        !strcmp(op, "Bernoulli")) {
        int64_t dt = attr_int(n, "dtype", 0);
        return dt ? (int)dt : input_type(s, n, 0);
    }
    if (!strcmp(op, "Range") || !strcmp(op, "Celu")) return input_type(s, n, 0);
    if (!strcmp(op, "HannWindow") || !strcmp(op, "HammingWindow") || !strcmp(op, "BlackmanWindow") ||
        !strcmp(op, "MelWeightMatrix"))
        return (int)attr_int(n, "output_datatype", OC_DTYPE_FLOAT);
    if (!strcmp(op, "Multinomial")) return (int)attr_int(n, "dtype", OC_DTYPE_INT32);
    if (!strcmp(op, "TopK") || !strcmp(op, "MaxPool") || !strcmp(op, "Unique"))
        return k == 0 ? input_type(s, n, 0) : OC_DTYPE_INT64;
    if (!strcmp(op, "Dropout")) return k == 0 ? input_type(s, n, 0) : OC_DTYPE_BOOL;
    if (!strcmp(op, "LayerNormalization")) return k == 0 ? input_type(s, n, 0) : OC_DTYPE_FLOAT;
    const opspec *sp = find_spec(op);
    if (sp && in_mask(sp->out_t, k))
        for (size_t i = 0; i < n->n_inputs; i++)
            if (*n->inputs[i] && in_mask(sp->in_t, i)) {
                int t = input_type(s, n, i);
                if (t) return t;
            }
    return 0;
}

/* ---- shape arithmetic ---- */

static void mark_shape(gstate *s, const char *name, int depth)
{
    vinfo *v = *name ? vlocal(s, name) : NULL;
    if (!v || v->def != DEF_NODE || depth > 12 || s->shape[v->node]) return;
    s->shape[v->node] = 1;
    const oc_node *n = s->nodes[v->node];
    if (is_op(n, "Shape") || is_op(n, "Size")) return; /* the data it measures is not arithmetic */
    for (size_t k = 0; k < n->n_inputs; k++) mark_shape(s, n->inputs[k], depth + 1);
}

/* ---- decisions ---- */

static float weight_maxabs(const oc_tensor *t)
{
    float m = 0;
    const unsigned char *p = t->data; /* may be unaligned when borrowed */
    for (int64_t i = 0; i < t->numel; i++) {
        float v;
        memcpy(&v, p + (size_t)i * 4, 4);
        if (fabsf(v) > m) m = fabsf(v); /* NaN compares false */
    }
    return m;
}

/* The largest magnitude of weight v (an initializer or a Constant). */
static float weight_range(vinfo *v)
{
    if (v->has_wmax) return v->wmax;
    float m = 0;
    if (v->w && v->w->data && v->w->nbytes >= (size_t)v->w->numel * 4) {
        m = weight_maxabs(v->w);
    } else if (v->is_const && v->node < v->home->n_nodes) { /* value_float(s) */
        const oc_node *n = v->home->nodes[v->node];
        const oc_attr *a = find_attr(n, "value_float");
        if (a) m = fabsf(a->f);
        a = find_attr(n, "value_floats");
        for (size_t i = 0; a && i < a->n_floats; i++)
            if (fabsf(a->floats[i]) > m) m = fabsf(a->floats[i]);
    }
    v->wmax = m;
    v->has_wmax = true;
    return m;
}

static bool too_large(fctx *f, const vinfo *v)
{
    return v && v->has_range && v->maxabs > f->limit;
}

static void note_norule(fctx *f, const char *op)
{
    size_t len = strlen(f->norule_ops);
    char pat[80];
    snprintf(pat, sizeof(pat), " %s,", op);
    char padded[260];
    snprintf(padded, sizeof(padded), " %s", f->norule_ops);
    if (strstr(padded, pat)) return;
    if (len + strlen(op) + 3 < sizeof(f->norule_ops))
        snprintf(f->norule_ops + len, sizeof(f->norule_ops) - len, "%s%s,", len ? " " : "", op);
}

/* Does node idx of s compute in float16? Counts why not, for the notice. */
static bool decide(fctx *f, gstate *s, size_t idx)
{
    const oc_node *n = s->nodes[idx];
    if (!oc_domain_is_default(n->domain) || has_subgraph(n) || is_op(n, "Constant")) return false;
    bool sel = oc_pass_node_selected(f->r, n);
    if (is_op(n, "Cast") || is_op(n, "ConstantOfShape")) {
        if (!n->n_outputs || !*n->outputs[0]) return false;
        const vinfo *o = vlocal(s, n->outputs[0]);
        if (!o || o->otype != OC_DTYPE_FLOAT || !sel) return false;
        if (f->keep_default && s->shape[idx]) return false;
        return !too_large(f, o);
    }
    const opspec *sp = find_spec(n->op_type);
    bool touches = false;
    if (is_op(n, "Shape") || is_op(n, "Size")) return false; /* any input type, an int64 result */
    for (size_t k = 0; k < n->n_inputs && !touches; k++) touches = input_type(s, n, k) == OC_DTYPE_FLOAT;
    for (size_t k = 0; k < n->n_outputs && !touches; k++)
        touches = *n->outputs[k] && otype_of(s, n->outputs[k]) == OC_DTYPE_FLOAT;
    if (sp && sp->since > f->opset) sp = NULL; /* the model's version of the op has no float16 */
    if (!sp) {
        if (touches && in_list(n->op_type, keep_ops)) {
            f->n_list_kept++;
        } else if (touches) {
            f->n_norule++;
            note_norule(f, n->op_type);
        }
        return false;
    }
    bool any = false;
    for (size_t k = 0; k < n->n_inputs; k++) {
        if (!*n->inputs[k] || !in_mask(sp->in_t, k)) continue;
        if (input_type(s, n, k) != OC_DTYPE_FLOAT) return false; /* another type, or not known */
        any = true;
    }
    if (!any) return false;
    if (!sel) {
        f->n_excluded++;
        return false;
    }
    if (float32_for_ort(n)) {
        f->n_ort_kept++;
        return false;
    }
    if (f->keep_default && in_list(n->op_type, keep_ops)) {
        f->n_list_kept++;
        return false;
    }
    if (f->keep_default && s->shape[idx]) {
        f->n_shape_kept++;
        return false;
    }
    for (size_t k = 0; k < n->n_inputs; k++) {
        if (!*n->inputs[k] || !(in_mask(sp->in_t, k) || in_mask(sp->in_flex, k))) continue;
        vinfo *v = vlook(s, n->inputs[k]);
        if (v && (v->def == DEF_INIT || v->is_const)) { /* a weight: stored as float16, or not */
            if (weight_range(v) > HALF_MAX) {
                f->n_wrange_kept++;
                return false;
            }
        } else if (too_large(f, v)) {
            f->n_range_kept++;
            return false;
        }
    }
    for (size_t k = 0; k < n->n_outputs; k++)
        if (*n->outputs[k] && in_mask(sp->out_t, k) && too_large(f, vlocal(s, n->outputs[k]))) {
            f->n_range_kept++;
            return false;
        }
    return true;
}

/* ---- analysis: types and decisions, graph by graph ---- */

static void analyse(fctx *f, oc_graph *g, gstate *parent);

typedef struct sub_ctx {
    fctx *f;
    gstate *parent;
} sub_ctx;

static void analyse_sub(void *ud, oc_graph *sub)
{
    sub_ctx *c = ud;
    analyse(c->f, sub, c->parent);
}

static void from_seen(fctx *f, vinfo *v)
{
    if (!f->have_seen) return;
    oc_strmap_entry *e = oc_strmap_get(&f->seen, v->name);
    if (!e) return;
    const seen *sn = e->val;
    if (!v->otype) v->otype = sn->dtype;
    if (sn->dtype == OC_DTYPE_FLOAT) {
        v->has_range = true;
        v->maxabs = sn->maxabs;
    }
}

static void analyse(fctx *f, oc_graph *g, gstate *parent)
{
    if (f->st != OC_OK) return;
    gstate *s = oc_arena_alloc(f->a, sizeof(gstate));
    if (!s || !oc_arena_grow(f->a, (void **)&f->gs, &f->cap_gs, f->n_gs + 1, sizeof(gstate *))) {
        nomem(f);
        return;
    }
    f->gs[f->n_gs++] = s;
    s->g = g;
    s->parent = parent;
    oc_strmap_init(&s->vals);
    oc_strmap_init(&s->decl);
    for (size_t i = 0; i < g->n_value_info; i++) note_declared(f, s, g->value_info[i]);
    for (size_t i = 0; i < g->n_outputs; i++) note_declared(f, s, g->outputs[i]);
    s->n_nodes = g->n_nodes;
    size_t nn = s->n_nodes ? s->n_nodes : 1;
    s->nodes = oc_arena_array(f->a, nn, sizeof(oc_node *));
    s->conv = oc_arena_alloc(f->a, nn);
    s->shape = oc_arena_alloc(f->a, nn);
    size_t *order = oc_arena_array(f->a, nn, sizeof(size_t));
    if (!s->nodes || !s->conv || !s->shape || !order) {
        nomem(f);
        return;
    }
    memcpy(s->nodes, g->nodes, s->n_nodes * sizeof(oc_node *));
    bool main_graph = parent == NULL;

    for (size_t i = 0; i < g->n_inputs; i++) {
        vinfo *v = vadd(f, s, g->inputs[i]->name, DEF_INPUT);
        if (!v) return;
        v->otype = value_elem(g->inputs[i]);
        if (main_graph) from_seen(f, v);
    }
    for (size_t i = 0; i < g->n_inits; i++) {
        oc_tensor *t = g->inits[i];
        if (!t->name) continue;
        /* also listed as a graph input (every initializer in IR 3; an
         * "overridable" one after): still a weight, whose declared input
         * type follows it */
        vinfo *v = vlocal(s, t->name);
        if (v) v->listed_input = true;
        else if (!(v = vadd(f, s, t->name, DEF_INIT)))
            return;
        v->def = DEF_INIT;
        v->otype = t->dtype;
        v->w = t;
    }
    oc_status st = oc_graph_topo_order(f->r->ctx, g, order);
    if (st != OC_OK) {
        f->st = st;
        return;
    }
    for (size_t oi = 0; oi < s->n_nodes && f->st == OC_OK; oi++) {
        size_t idx = order[oi];
        oc_node *n = s->nodes[idx];
        sub_ctx sc = {f, s};
        oc_node_foreach_subgraph(n, analyse_sub, &sc);
        if (f->st != OC_OK) return;
        for (size_t k = 0; k < n->n_outputs; k++) {
            if (!*n->outputs[k]) continue;
            int t = infer(f, s, n, k);
            vinfo *v = vadd(f, s, n->outputs[k], DEF_NODE);
            if (!v) return;
            v->node = idx;
            v->slot = k;
            v->otype = t ? t : declared(s, n->outputs[k]);
            if (main_graph) from_seen(f, v);
            if (is_op(n, "Constant") && oc_domain_is_default(n->domain)) {
                v->is_const = true;
                const oc_attr *a = find_attr(n, "value");
                if (a && a->t) v->w = a->t;
            }
        }
    }
    if (f->keep_default)
        for (size_t i = 0; i < s->n_nodes; i++) {
            const oc_node *n = s->nodes[i];
            uint32_t ss = oc_domain_is_default(n->domain) ? shape_slots(n->op_type) : 0;
            for (size_t k = 0; k < n->n_inputs && ss; k++)
                if (in_mask(ss, k)) mark_shape(s, n->inputs[k], 0);
        }
    for (size_t i = 0; i < s->n_nodes; i++) {
        s->conv[i] = decide(f, s, i);
        if (!s->conv[i]) continue;
        f->n_conv++;
        const oc_node *n = s->nodes[i];
        const opspec *sp = find_spec(n->op_type);
        for (size_t k = 0; k < n->n_outputs; k++) {
            vinfo *v = *n->outputs[k] ? vlocal(s, n->outputs[k]) : NULL;
            if (v && v->otype == OC_DTYPE_FLOAT && (!sp || in_mask(sp->out_t, k))) v->ntype = OC_DTYPE_FLOAT16;
        }
    }
}

/* ---- what each reader wants ---- */

static int want_of(const gstate *s, size_t idx, size_t k)
{
    const oc_node *n = s->nodes[idx];
    if (oc_domain_is_default(n->domain) && k == 0 &&
        (is_op(n, "Shape") || is_op(n, "Size") || is_op(n, "Cast") || is_op(n, "CastLike")))
        return WANT_ANY; /* reads any type */
    if (!s->conv[idx]) return WANT_ORIG;
    const opspec *sp = find_spec(n->op_type);
    if (!sp) return WANT_ORIG;
    if (in_mask(sp->in_t, k)) return WANT_F16;
    if (in_mask(sp->in_flex, k) && input_type(s, n, k) == OC_DTYPE_FLOAT) return WANT_F16;
    return WANT_ORIG;
}

static int want_out(const fctx *f, const gstate *s)
{
    return s->parent == NULL && !f->keep_io ? WANT_F16 : WANT_ORIG;
}

static void count_wants(fctx *f)
{
    for (size_t gi = 0; gi < f->n_gs; gi++) {
        gstate *s = f->gs[gi];
        for (size_t i = 0; i < s->n_nodes; i++) {
            const oc_node *n = s->nodes[i];
            for (size_t k = 0; k < n->n_inputs; k++) {
                vinfo *v = *n->inputs[k] ? vlook(s, n->inputs[k]) : NULL;
                if (!v || v->otype != OC_DTYPE_FLOAT) continue;
                int w = want_of(s, i, k);
                if (w == WANT_F16) v->n16++;
                else if (w == WANT_ORIG) v->n32++;
            }
        }
        for (size_t i = 0; i < s->g->n_outputs; i++) {
            vinfo *v = vlook(s, s->g->outputs[i]->name);
            if (!v || v->otype != OC_DTYPE_FLOAT) continue;
            if (want_out(f, s) == WANT_F16) v->n16++;
            else v->n32++;
        }
    }
    /* a converted Cast or ConstantOfShape that only float32 nodes read
     * would be cast straight back: it keeps its float32 result */
    for (size_t gi = 0; gi < f->n_gs; gi++) {
        gstate *s = f->gs[gi];
        for (size_t i = 0; i < s->n_nodes; i++) {
            const oc_node *n = s->nodes[i];
            if (!s->conv[i] || !(is_op(n, "Cast") || is_op(n, "ConstantOfShape"))) continue;
            vinfo *v = vlocal(s, n->outputs[0]);
            if (!v || v->n16) continue;
            s->conv[i] = 0;
            v->ntype = v->otype;
            f->n_conv--;
        }
    }
    /* weights convert when every reader wants float16; inputs with keep_io=0 */
    for (size_t gi = 0; gi < f->n_gs; gi++) {
        gstate *s = f->gs[gi];
        for (size_t i = 0; i < s->n_list; i++) {
            vinfo *v = s->list[i];
            if (!v->ntype) v->ntype = v->otype;
            if (v->otype != OC_DTYPE_FLOAT) continue;
            bool weight = v->def == DEF_INIT || v->is_const;
            if (weight && v->n16 && !v->n32 && (v->is_const || (v->w && v->w->data))) v->ntype = OC_DTYPE_FLOAT16;
            if (v->def == DEF_INPUT && s->parent == NULL && !f->keep_io) v->ntype = OC_DTYPE_FLOAT16;
        }
    }
}

/* ---- edits ---- */

static bool set_int_attr(fctx *f, oc_graph *g, oc_node *n, const char *key, int64_t v)
{
    for (size_t i = 0; i < n->n_attrs; i++)
        if (!strcmp(n->attrs[i].name, key)) {
            n->attrs[i].i = v;
            n->attrs[i].has_i = true;
            return true;
        }
    oc_attr *a = oc_node_add_attr(g, n, key, OC_ATTR_INT);
    if (!a) {
        nomem(f);
        return false;
    }
    a->i = v;
    a->has_i = true;
    return true;
}

/* Where the node producing `name` sits in g, or g->n_nodes. A plain scan:
 * the graph's name index may fail to build when memory is short, and a
 * Cast placed before its input's producer would break the graph. */
static size_t producer_pos(const oc_graph *g, const char *name)
{
    for (size_t i = 0; i < g->n_nodes; i++)
        for (size_t k = 0; k < g->nodes[i]->n_outputs; k++)
            if (!strcmp(g->nodes[i]->outputs[k], name)) return i;
    return g->n_nodes;
}

/* Every read of `from` in g and its subgraphs reads `to` (an arena
 * string): no allocation, so nothing is left half renamed. */
static void rename_reads(oc_graph *g, const char *from, const char *to);

typedef struct rename_ctx {
    const char *from, *to;
} rename_ctx;

static void rename_sub(void *ud, oc_graph *sub)
{
    const rename_ctx *c = ud;
    rename_reads(sub, c->from, c->to);
}

static void rename_reads(oc_graph *g, const char *from, const char *to)
{
    rename_ctx c = {from, to};
    for (size_t i = 0; i < g->n_nodes; i++) {
        oc_node *n = g->nodes[i];
        for (size_t k = 0; k < n->n_inputs; k++)
            if (!strcmp(n->inputs[k], from)) n->inputs[k] = to;
        oc_node_foreach_subgraph(n, rename_sub, &c);
    }
}

/* Rewrites float32 tensor t as float16, in place. */
static bool halve_tensor(fctx *f, oc_tensor *t)
{
    size_t n = (size_t)t->numel;
    if (t->nbytes < n * 4) return false;
    uint16_t *h = oc_malloc(n ? n * 2 : 2);
    if (!h) {
        nomem(f);
        return false;
    }
    oc_float_to_half_n(t->data, h, n, HALF_MAX); /* to_half's bits, in vector loops */
    f->r->rep->weight_bytes_before += (int64_t)t->nbytes;
    f->r->rep->weight_bytes_after += (int64_t)(n * 2);
    oc_tensor_set_data(f->r->m, t, h, n * 2);
    if (!t->data) { /* the model could not take the buffer */
        nomem(f);
        return false;
    }
    t->dtype = OC_DTYPE_FLOAT16;
    t->has_dtype = true;
    return true;
}

/* A new float16 tensor holding `n` values. */
static oc_tensor *half_tensor(fctx *f, const float *vals, size_t n, int ndim)
{
    oc_model *m = f->r->m;
    oc_tensor *t = oc_model_alloc(m, sizeof(oc_tensor));
    int64_t *dims = oc_model_alloc(m, sizeof(int64_t));
    uint16_t *h = oc_malloc(n ? n * 2 : 2);
    if (!t || !dims || !h) {
        oc_free(h);
        nomem(f);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) h[i] = to_half(vals[i]);
    dims[0] = (int64_t)n;
    t->dtype = OC_DTYPE_FLOAT16;
    t->has_dtype = true;
    t->ndim = ndim;
    t->dims = dims;
    t->numel = (int64_t)n;
    oc_tensor_set_data(m, t, h, n * 2);
    if (!t->data) {
        nomem(f);
        return NULL;
    }
    return t;
}

/* A Constant node's float value as float16: a `value` tensor converted in
 * place, value_float / value_floats turned into a `value` tensor. */
static void halve_constant(fctx *f, oc_node *n)
{
    for (size_t i = 0; i < n->n_attrs; i++) {
        oc_attr *a = &n->attrs[i];
        if (!strcmp(a->name, "value") && a->t) {
            if (halve_tensor(f, a->t)) f->n_weights++;
            return;
        }
        bool one = !strcmp(a->name, "value_float"), many = !strcmp(a->name, "value_floats");
        if (!one && !many) continue;
        oc_tensor *t = one ? half_tensor(f, &a->f, 1, 0) : half_tensor(f, a->floats, a->n_floats, 1);
        if (!t) return;
        a->name = "value";
        a->type = OC_ATTR_TENSOR;
        a->has_f = false;
        a->n_floats = 0;
        a->floats = NULL;
        a->t = t;
        f->n_weights++;
        return;
    }
}

static void set_declared(oc_value *v, int elem)
{
    if (!v->has_type || v->type.kind != OC_TYPE_TENSOR) {
        v->has_type = true;
        v->type.kind = OC_TYPE_TENSOR;
    }
    v->type.elem_type = elem;
    v->dirty = true;
}

/* The name of v converted to `target` for a reader: a Cast placed right
 * after v's producer in the graph defining v (shared by every reader,
 * subgraphs included). */
static const char *cast_of(fctx *f, vinfo *v, int target)
{
    const char **slot = target == OC_DTYPE_FLOAT16 ? &v->cast16 : &v->cast32;
    if (*slot) return *slot;
    gstate *d = v->home;
    oc_graph *g = d->g;
    size_t at = 0;
    if (v->def == DEF_NODE) {
        at = producer_pos(g, v->name);
        if (at == g->n_nodes) { /* a node produces it: it must be found */
            f->st = oc_fail(f->r->ctx, OC_ERR_INTERNAL, "fp16: no producer of '%s' in its graph", v->name);
            return NULL;
        }
        at++;
    }
    char base[600];
    snprintf(base, sizeof(base), "%.500s_%s", v->name, target == OC_DTYPE_FLOAT16 ? "fp16" : "fp32");
    const char *out = oc_graph_unique_name(g, base);
    snprintf(base, sizeof(base), "%.500s_Cast_%s", v->name, target == OC_DTYPE_FLOAT16 ? "fp16" : "fp32");
    const char *nm = out ? oc_graph_unique_name(g, base) : NULL;
    const char *ins[1] = {v->name}, *outs[1] = {out};
    oc_node *c = nm ? oc_graph_add_node(g, at, "Cast", NULL, nm, 1, ins, 1, outs) : NULL;
    if (!c) {
        nomem(f);
        return NULL;
    }
    if (!set_int_attr(f, g, c, "to", target)) return NULL;
    f->n_casts++;
    *slot = c->outputs[0];
    return *slot;
}

/* Graph output i of s, produced here in the wrong type: the producer's
 * value is renamed and a Cast produces the output's name. */
static void retype_output(fctx *f, gstate *s, size_t i, int want)
{
    oc_graph *g = s->g;
    const char *name = g->outputs[i]->name;
    vinfo *v = vlook(s, name);
    if (v->def == DEF_NODE && v->home == s) {
        oc_node *p = s->nodes[v->node];
        char base[600];
        snprintf(base, sizeof(base), "%.500s_%s", name, v->ntype == OC_DTYPE_FLOAT16 ? "fp16" : "fp32");
        const char *nn = oc_graph_unique_name(g, base);
        if (!nn) {
            nomem(f);
            return;
        }
        rename_reads(g, name, nn);
        p->outputs[v->slot] = nn;
        oc_graph_invalidate(g);
        vinfo *w = vadd(f, s, nn, DEF_NODE);
        if (!w) return;
        w->otype = v->otype;
        w->ntype = v->ntype;
        w->node = v->node;
        w->slot = v->slot;
        const char *c = cast_of(f, w, want);
        if (!c) return;
        /* the Cast writes the output's own name */
        for (size_t k = 0; k < g->n_nodes; k++) {
            oc_node *n = g->nodes[k];
            if (is_op(n, "Cast") && n->n_outputs == 1 && n->outputs[0] == c) n->outputs[0] = name;
        }
        oc_graph_invalidate(g);
        if (want == OC_DTYPE_FLOAT16) w->cast16 = name;
        else w->cast32 = name;
        v->ntype = want; /* the name now comes out of the Cast */
        return;
    }
    /* a subgraph output passing an outer value through */
    const char *c = cast_of(f, v, want);
    if (!c) return;
    g->outputs[i]->name = c;
    g->outputs[i]->dirty = true;
}

static void edit_graph(fctx *f, gstate *s)
{
    oc_graph *g = s->g;
    bool main_graph = s->parent == NULL;
    /* weights */
    for (size_t i = 0; i < s->n_list && f->st == OC_OK; i++) {
        vinfo *v = s->list[i];
        if (v->otype != OC_DTYPE_FLOAT || v->ntype != OC_DTYPE_FLOAT16) continue;
        if (v->is_const) {
            halve_constant(f, s->nodes[v->node]);
        } else if (v->def == DEF_INIT) {
            if (!halve_tensor(f, v->w)) continue;
            f->n_weights++;
            if (v->listed_input) {
                for (size_t k = 0; k < g->n_inputs; k++)
                    if (!strcmp(g->inputs[k]->name, v->name)) set_declared(g->inputs[k], OC_DTYPE_FLOAT16);
                f->n_listed++;
            }
        } else if (v->def == DEF_INPUT && main_graph) {
            for (size_t k = 0; k < g->n_inputs; k++)
                if (!strcmp(g->inputs[k]->name, v->name)) set_declared(g->inputs[k], OC_DTYPE_FLOAT16);
        }
    }
    /* Cast targets and ConstantOfShape values inside the converted region */
    for (size_t i = 0; i < s->n_nodes && f->st == OC_OK; i++) {
        if (!s->conv[i]) continue;
        oc_node *n = s->nodes[i];
        if (is_op(n, "Cast")) {
            set_int_attr(f, g, n, "to", OC_DTYPE_FLOAT16);
            f->n_cast_to++;
        } else if (is_op(n, "ConstantOfShape")) {
            oc_attr *a = NULL;
            for (size_t k = 0; k < n->n_attrs; k++)
                if (!strcmp(n->attrs[k].name, "value")) a = &n->attrs[k];
            if (a && a->t) {
                halve_tensor(f, a->t);
            } else {
                float zero = 0;
                oc_tensor *t = half_tensor(f, &zero, 1, 1);
                if (!t) return;
                if (!(a = oc_node_add_attr(g, n, "value", OC_ATTR_TENSOR))) {
                    nomem(f);
                    return;
                }
                a->t = t;
            }
        }
    }
    /* graph outputs */
    int wo = want_out(f, s) == WANT_F16 ? OC_DTYPE_FLOAT16 : OC_DTYPE_FLOAT;
    for (size_t i = 0; i < g->n_outputs && f->st == OC_OK; i++) {
        vinfo *v = vlook(s, g->outputs[i]->name);
        if (!v || v->otype != OC_DTYPE_FLOAT) continue;
        if (v->ntype != wo) retype_output(f, s, i, wo);
        if (main_graph && wo == OC_DTYPE_FLOAT16) set_declared(g->outputs[i], OC_DTYPE_FLOAT16);
    }
    /* readers */
    for (size_t i = 0; i < s->n_nodes && f->st == OC_OK; i++) {
        oc_node *n = s->nodes[i];
        for (size_t k = 0; k < n->n_inputs && f->st == OC_OK; k++) {
            vinfo *v = *n->inputs[k] ? vlook(s, n->inputs[k]) : NULL;
            if (!v || v->otype != OC_DTYPE_FLOAT) continue;
            int w = want_of(s, i, k);
            if (w == WANT_ANY) continue;
            int target = w == WANT_F16 ? OC_DTYPE_FLOAT16 : OC_DTYPE_FLOAT;
            if (v->ntype == target) continue;
            const char *c = cast_of(f, v, target);
            if (c) n->inputs[k] = c;
        }
    }
    oc_graph_invalidate(g);
    /* declared types of values now float16 */
    for (size_t i = 0; i < g->n_value_info; i++) {
        oc_value *val = g->value_info[i];
        vinfo *v = vlocal(s, val->name);
        if (v && v->otype == OC_DTYPE_FLOAT && v->ntype == OC_DTYPE_FLOAT16 && value_elem(val) == OC_DTYPE_FLOAT)
            set_declared(val, OC_DTYPE_FLOAT16);
    }
}

/* ---- the range check on --data samples ---- */

static void observe(void *ud, const char *name, const oc_ten *t)
{
    fctx *f = ud;
    if (f->st != OC_OK) return;
    oc_strmap_entry *e = oc_strmap_get(&f->seen, name);
    if (!e) {
        const char *key = oc_arena_strdup(f->a, name);
        seen *sn = oc_arena_alloc(f->a, sizeof(seen));
        bool added;
        e = key && sn ? oc_strmap_put(&f->seen, key, &added) : NULL;
        if (!e) {
            nomem(f);
            return;
        }
        sn->dtype = t->dtype;
        e->val = sn;
    }
    seen *sn = e->val;
    if (t->dtype != OC_DTYPE_FLOAT || !t->data) return;
    const unsigned char *p = t->data; /* a view of an initializer may be unaligned */
    float m = sn->maxabs;
    for (int64_t i = 0; i < t->numel; i++) {
        float a;
        memcpy(&a, p + (size_t)i * 4, 4);
        a = fabsf(a);
        if (a > m) m = a; /* NaN compares false: ignored; inf counts */
    }
    sn->maxabs = m;
}

static oc_status run_samples(fctx *f)
{
    size_t n = 0;
    oc_status st = oc_pass_run_samples(f->r, observe, f, &n);
    if (st == OC_OK) st = f->st; /* the observer's own failure (out of memory) */
    if (st == OC_OK) {
        f->have_seen = true;
        oc_pass_notice(f->r, "fp16: value ranges from %zu sample%s of %s", n, n == 1 ? "" : "s",
                       f->r->popts->data_src);
    }
    return st;
}

oc_status oc_pass_quant_fp16(oc_pass_run *r)
{
    fctx f;
    memset(&f, 0, sizeof(f));
    f.r = r;
    f.keep_io = oc_pass_val(r, "keep_io") != 0;
    f.keep_default = oc_pass_val(r, "keep_default") != 0;
    f.limit = (float)oc_pass_val(r, "range_limit");
    f.opset = oc_model_opset(r->m, "");
    if (f.opset < 6) {
        /* Cast-1 names its target with a string, and ONNX Runtime's own
         * float16 Casts (around ops it has no float16 kernel for) break
         * such a graph: raise it to opset 6 first, or refuse */
        char why[1024];
        if (!oc_opset_can_upgrade(r->m, 6, why, sizeof(why)))
            return oc_fail(r->ctx, OC_ERR_UNSUPPORTED, "fp16: needs opset 6 (Cast with a numeric target), the model has "
                           "%lld: %s", (long long)f.opset, why);
        FORWARD_IF_ERROR(oc_opset_upgrade(r->ctx, r->m, 6));
        oc_pass_notice(r, "fp16: raised the model's opset from %lld to 6", (long long)f.opset);
        f.opset = 6;
    }
    f.a = oc_arena_new();
    oc_strmap_init(&f.seen);
    if (!f.a) return oc_fail(r->ctx, OC_ERR_NOMEM, "out of memory");
    if (r->popts->data_src) {
        oc_status st = run_samples(&f);
        if (st == OC_ERR_NOMEM) {
            f.st = st;
            goto done;
        }
        if (st != OC_OK) {
            oc_pass_notice(r, "fp16: no range check: %s", r->ctx->msg);
            f.st = OC_OK;
        }
    } else {
        oc_pass_notice(r, "fp16: no --data: value ranges unchecked (float16 overflows past 65504; give samples "
                          "to keep such layers in float32)");
    }
    analyse(&f, r->m->graph, NULL);
    if (f.st != OC_OK) goto done;
    count_wants(&f);
    for (size_t i = 0; i < f.n_gs && f.st == OC_OK; i++) edit_graph(&f, f.gs[i]);
    if (f.st != OC_OK) goto done;
    r->rep->weights_quantized += f.n_weights;
    r->rep->nodes_quantized += f.n_conv;
    oc_pass_notice(r, "fp16: %zu nodes compute in float16 (%zu of them Casts now targeting float16), %zu weights "
                   "stored as float16, %zu Casts added", f.n_conv, f.n_cast_to, f.n_weights, f.n_casts);
    if (f.n_ort_kept)
        oc_pass_notice(r, "fp16: kept %zu MeanVarianceNormalization/accumulating Scatter/training Dropout node%s in "
                       "float32: ONNX Runtime cannot run them in float16", f.n_ort_kept, f.n_ort_kept == 1 ? "" : "s");
    if (f.n_list_kept || f.n_shape_kept)
        oc_pass_notice(r, "fp16: kept in float32: %zu Resize/Range/TopK/... nodes, %zu in shape arithmetic "
                       "(keep_default=0 converts them)", f.n_list_kept, f.n_shape_kept);
    if (f.n_range_kept) oc_pass_notice(r, "fp16: kept %zu nodes in float32: values beyond %g on the samples",
                                       f.n_range_kept, (double)f.limit);
    if (f.n_wrange_kept) oc_pass_notice(r, "fp16: kept %zu nodes in float32: weights beyond float16's range",
                                        f.n_wrange_kept);
    if (f.n_norule) oc_pass_notice(r, "fp16: kept %zu nodes in float32 with no float16 rule (%s)", f.n_norule,
                                   f.norule_ops);
    if (f.n_listed && r->m->ir_version >= 4)
        oc_pass_notice(r, "fp16: %zu initializers also listed as graph inputs now declare float16 (a caller "
                       "overriding them feeds float16)", f.n_listed);
    if (f.n_excluded) oc_pass_notice(r, "fp16: %zu excluded nodes stay float32", f.n_excluded);
done:
    for (size_t i = 0; i < f.n_gs; i++) {
        oc_strmap_free(&f.gs[i]->vals);
        oc_strmap_free(&f.gs[i]->decl);
    }
    oc_strmap_free(&f.seen);
    oc_arena_free(f.a);
    return f.st;
}
