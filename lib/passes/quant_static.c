/* quant_static.c: static (calibrated) quantization of weights and
 * activations, in the QDQ form ONNX Runtime's graph transformer fuses into
 * QLinearConv, QLinearMatMul, QLinearAdd and friends.
 *
 * Where pairs go (../shared/QDQ-RULES.md has the reasons):
 *  - compute ops (Conv, ConvTranspose, Gemm, MatMul, Add, Mul, Concat,
 *    AveragePool, GlobalAveragePool, Resize, Softmax, Sigmoid, LeakyRelu)
 *    get a pair on every float activation input and on their output;
 *  - an output read only by one Relu/Clip is not quantized: the activation's
 *    output carries the range (ORT then drops the Relu into the Q);
 *  - data-movement ops (Reshape, Transpose, Squeeze, Unsqueeze, Flatten,
 *    Slice, Gather, MaxPool, Split, Pad, DepthToSpace, SpaceToDepth) whose
 *    input is quantized give their output the same scale and zero point, so
 *    nothing is requantized;
 *  - normalisation statistics (the ReduceMean/Sub/Pow/Sqrt/Div chains of a
 *    decomposed LayerNorm, a mean smoothed and subtracted from features)
 *    stay float, and so do tensors custom-domain nodes read or write;
 *  - with keep_sensitive, layers feeding Pow/Sqrt/Log/Div (STFT, log-mel)
 *    stay float whole, and so does a Concat joining such a tensor to others;
 *  - with keep_sensitive too, Sigmoid/Tanh gates driven so hard that one
 *    int8 step of their input flips them (a written-out LSTM cell) keep
 *    everything before them float;
 *  - one pair per tensor, shared by all readers; weights int8 per channel,
 *    biases int32 with scale = input scale x weight scale.
 * If/Loop/Scan bodies follow the same rules. A pair goes into the graph that
 * defines its tensor, so a body reads an outer tensor's DequantizeLinear; an
 * outer weight's integers are stored once, where it lives, and each graph
 * reading it gets its own DequantizeLinear (ORT fuses only within a graph);
 * a body output that gets a pair keeps its name (and float type) on the
 * DequantizeLinear, so bodies keep their signatures. A body the samples never
 * ran (the If branch not taken) has no ranges and its activations stay float,
 * with a notice; so does a tensor whose name more than one graph defines (the
 * observer cannot tell them apart).
 * Ranges come from running the float model in the interpreter over the
 * calibration samples, streaming every tensor's values into an observer
 * (MinMax, Percentile, Entropy or MSE) whose memory does not grow; a Loop or
 * Scan body adds every iteration's values to the same observer. */
#include "opset.h"
#include "qdq.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* (Upsample is met only by the probe, on a model below opset 10: raised, it
 * becomes a Resize) */
static const char *const compute_ops[] = {"Conv", "ConvTranspose", "Gemm", "MatMul", "Add", "Mul", "Concat",
                                          "AveragePool", "GlobalAveragePool", "Resize", "Softmax", "Sigmoid",
                                          "LeakyRelu", "Upsample", NULL};
static const char *const share_ops[] = {"Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten", "Slice",
                                        "Gather", "MaxPool", "Split", "Pad", "DepthToSpace", "SpaceToDepth",
                                        "Identity", NULL};
static const char *const norm_ops[] = {"ReduceMean", "Pow", "Sqrt", "Reciprocal", NULL};

static bool is_in(const char *op, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (!strcmp(op, list[i])) return true;
    return false;
}

/* which inputs of a compute op are activations to quantize */
static bool act_input(const oc_node *n, size_t k)
{
    const char *op = n->op_type;
    if (!strcmp(op, "Conv") || !strcmp(op, "ConvTranspose")) return k == 0;
    if (!strcmp(op, "Gemm")) return k == 0 || k == 1;
    if (!strcmp(op, "Resize")) return k == 0;
    if (!strcmp(op, "Softmax") || !strcmp(op, "Sigmoid") || !strcmp(op, "LeakyRelu") ||
        !strcmp(op, "AveragePool") || !strcmp(op, "GlobalAveragePool"))
        return k == 0;
    return true; /* MatMul, Add, Mul, Concat: every input */
}

/* One graph the pass works on: the main graph or an If/Loop/Scan body. */
typedef struct gstate {
    oc_graph *g;
    const oc_node *owner; /* the node holding the body; NULL for the main graph */
    const char *attr;     /* then_branch, else_branch, body */
    int parent;           /* index of the enclosing graph; -1 for the main graph */
    size_t *order;        /* topological order of g's nodes */
    oc_strmap norm;       /* nodes (by first output) in normalisation chains */
    oc_strmap stats;      /* tensors computed from ReduceMean outputs alone */
    oc_strmap nonfloat;   /* inputs, outputs and value_info declared as tensors of another type */
    size_t n_marks;       /* tensors of this graph planned for a pair */
    size_t n_quantized;   /* pairs and weighted layers placed here */
    bool ran;             /* a value it computes was observed */
} gstate;

typedef struct mark {
    const char *name;
    int gi;                 /* the graph defining the tensor */
    oc_observer *obs;
    const char *share_from; /* takes this tensor's parameters */
    bool is_float;          /* seen as float32 during calibration */
    bool wanted;            /* planned again once we know which bodies ran */
    oc_qparams p;
    bool done;
} mark;

/* A Sigmoid or Tanh input, watched for saturation. */
typedef struct gate {
    const char *name;
    const oc_node *node;
    int gi;
    float absmax;
} gate;

typedef struct sctx {
    oc_pass_run *r;
    gstate *gs; /* [0] is the main graph; bodies follow their parent */
    size_t n_gs, cap_gs;
    oc_strmap defs;  /* tensor name -> defining graph (aux); val = &dup_tag when several define it */
    oc_strmap dups;  /* names a plan met that several graphs define */
    oc_strmap marks; /* name -> mark* */
    mark *m;
    size_t n_m, cap_m;
    int act_dtype;
    bool act_sym;
    oc_calib_method method;
    double percentile;
    bool keep_sensitive;
    bool confirm; /* second planning pass: only graphs that ran, only existing marks */
    gate *gates;
    size_t n_gates, cap_gates;
    oc_strmap gate_ix; /* gate input name -> index (aux) */
    oc_strmap cone;    /* tensors feeding hard-saturated gates: kept float */
    /* weights and biases now made by a DequantizeLinear, with their graph */
    const char **deq;
    oc_graph **deq_home;
    size_t n_deq, cap_deq;
    size_t body_layers, body_acts; /* quantized inside bodies, for the notice */
} sctx;

static char dup_tag;

/* ---- the graphs ---- */

static oc_status add_graph(sctx *s, oc_graph *g, const oc_node *owner, const char *attr, int parent, int depth)
{
    if (depth > 100) return oc_fail(s->r->ctx, OC_ERR_UNSUPPORTED, "static: subgraphs nested deeper than 100");
    if (s->n_gs == s->cap_gs) {
        size_t nc = s->cap_gs ? s->cap_gs * 2 : 8;
        gstate *ng = oc_realloc(s->gs, nc * sizeof(gstate));
        if (!ng) return oc_fail(s->r->ctx, OC_ERR_NOMEM, "out of memory");
        s->gs = ng;
        s->cap_gs = nc;
    }
    int me = (int)s->n_gs++;
    gstate *gs = &s->gs[me];
    memset(gs, 0, sizeof(*gs));
    gs->g = g;
    gs->owner = owner;
    gs->attr = attr;
    gs->parent = parent;
    oc_strmap_init(&gs->norm);
    oc_strmap_init(&gs->stats);
    oc_strmap_init(&gs->nonfloat);
    oc_value **const lists[3] = {g->inputs, g->outputs, g->value_info};
    const size_t counts[3] = {g->n_inputs, g->n_outputs, g->n_value_info};
    for (int l = 0; l < 3; l++)
        for (size_t i = 0; i < counts[l]; i++) {
            const oc_value *v = lists[l][i];
            if (!v->has_type || v->type.kind != OC_TYPE_TENSOR || !v->type.elem_type ||
                v->type.elem_type == OC_DTYPE_FLOAT)
                continue;
            bool added;
            if (!oc_strmap_put(&s->gs[me].nonfloat, v->name, &added))
                return oc_fail(s->r->ctx, OC_ERR_NOMEM, "out of memory");
        }
    for (size_t i = 0; i < g->n_nodes; i++) {
        oc_node *n = g->nodes[i];
        for (size_t a = 0; a < n->n_attrs; a++) {
            const oc_attr *at = &n->attrs[a];
            if (at->g) FORWARD_IF_ERROR(add_graph(s, at->g, n, at->name, me, depth + 1));
            for (size_t k = 0; k < at->n_graphs; k++)
                FORWARD_IF_ERROR(add_graph(s, at->graphs[k], n, at->name, me, depth + 1));
        }
    }
    return OC_OK;
}

/* Is graph j graph h or a body inside it? */
static bool within(const sctx *s, int j, int h)
{
    for (; j >= 0; j = s->gs[j].parent)
        if (j == h) return true;
    return false;
}

static bool def_name(sctx *s, const char *name, int gi)
{
    if (!name || !*name) return true;
    bool added;
    oc_strmap_entry *e = oc_strmap_put(&s->defs, name, &added);
    if (!e) return false;
    if (added) e->aux = (uint32_t)gi;
    else if ((int)e->aux != gi) e->val = &dup_tag; /* an input with an initializer default is one value */
    return true;
}

/* Which graph defines each name, noting names several graphs define. */
static oc_status index_names(sctx *s)
{
    for (size_t gi = 0; gi < s->n_gs; gi++) {
        oc_graph *g = s->gs[gi].g;
        bool ok = true;
        for (size_t i = 0; i < g->n_inputs; i++) ok &= def_name(s, g->inputs[i]->name, (int)gi);
        for (size_t i = 0; i < g->n_inits; i++) ok &= def_name(s, g->inits[i]->name, (int)gi);
        for (size_t i = 0; i < g->n_nodes; i++)
            for (size_t k = 0; k < g->nodes[i]->n_outputs; k++) ok &= def_name(s, g->nodes[i]->outputs[k], (int)gi);
        if (!ok) return oc_fail(s->r->ctx, OC_ERR_NOMEM, "out of memory");
    }
    return OC_OK;
}

/* The graph defining `name`, or -1: unknown, or defined by several graphs
 * (sibling branches reusing a name, a body shadowing an outer one). The
 * observer never reports such a name from a body, and a rename in one graph
 * would reach the others: it stays float. */
static int home_of(sctx *s, const char *name)
{
    oc_strmap_entry *e = oc_strmap_get(&s->defs, name);
    if (!e) return -1;
    if (e->val == &dup_tag) {
        oc_strmap_put(&s->dups, e->key, NULL);
        return -1;
    }
    return (int)e->aux;
}

/* Folding (BatchNormalization and constant affine ops into layers,
 * hard-swish into one op) in g and every body below it. */
static oc_status fold_all(oc_pass_run *r, oc_graph *g, size_t *affine, size_t *hswish, int depth)
{
    if (depth > 100) return OC_OK;
    size_t k;
    FORWARD_IF_ERROR(oc_fold_affine(r, g, &k));
    *affine += k;
    FORWARD_IF_ERROR(oc_fold_hardswish(r, g, &k));
    *hswish += k;
    for (size_t i = 0; i < g->n_nodes; i++) {
        oc_node *n = g->nodes[i];
        for (size_t a = 0; a < n->n_attrs; a++) {
            if (n->attrs[a].g) FORWARD_IF_ERROR(fold_all(r, n->attrs[a].g, affine, hswish, depth + 1));
            for (size_t j = 0; j < n->attrs[a].n_graphs; j++)
                FORWARD_IF_ERROR(fold_all(r, n->attrs[a].graphs[j], affine, hswish, depth + 1));
        }
    }
    return OC_OK;
}

/* ---- planning ---- */

static mark *get_mark(sctx *s, const char *name)
{
    oc_strmap_entry *e = oc_strmap_get(&s->marks, name);
    return e ? &s->m[e->aux] : NULL;
}

static mark *add_mark(sctx *s, const char *name, int gi)
{
    mark *have = get_mark(s, name);
    if (have) return have;
    if (s->n_m == s->cap_m) {
        size_t nc = s->cap_m ? s->cap_m * 2 : 64;
        mark *nm = oc_realloc(s->m, nc * sizeof(mark));
        if (!nm) return NULL;
        s->m = nm;
        s->cap_m = nc;
    }
    bool added;
    oc_strmap_entry *e = oc_strmap_put(&s->marks, name, &added);
    if (!e) return NULL;
    e->aux = (uint32_t)s->n_m;
    mark *mk = &s->m[s->n_m++];
    memset(mk, 0, sizeof(*mk));
    mk->name = name;
    mk->gi = gi;
    s->gs[gi].n_marks++;
    return mk;
}

/* A tensor to give a pair: a new mark on the first pass; on the confirming
 * pass the existing mark, now wanted. *out is NULL only when out of memory. */
static oc_status want(sctx *s, const char *name, int gi, mark **out)
{
    mark *mk;
    if (s->confirm) {
        mk = get_mark(s, name);
        if (mk) mk->wanted = true;
        if (out) *out = mk;
        return OC_OK;
    }
    mk = add_mark(s, name, gi);
    if (out) *out = mk;
    return mk ? OC_OK : oc_fail(s->r->ctx, OC_ERR_NOMEM, "out of memory");
}

static bool foreign_reader(const oc_node *n)
{
    return !oc_domain_is_default(n->domain) || !strcmp(n->op_type, "QuantizeLinear");
}

/* Is `name` something to quantize: an activation (not a weight or other
 * constant) defined by one graph, not produced or read by a custom-domain
 * node. *gi receives the defining graph. */
static bool quantizable_tensor(sctx *s, const char *name, int *gi)
{
    if (!*name || oc_strmap_get(&s->cone, name)) return false;
    int h = home_of(s, name);
    if (h < 0) return false;
    oc_graph *g = s->gs[h].g;
    if (oc_graph_weight(g, name) || oc_strmap_get(&s->gs[h].nonfloat, name)) return false;
    oc_node *p = oc_graph_producer(g, name, NULL);
    if (p && (!oc_domain_is_default(p->domain) || !strcmp(p->op_type, "DequantizeLinear") ||
              !strcmp(p->op_type, "Constant") || !strcmp(p->op_type, "Shape")))
        return false;
    /* readers: in the defining graph and in the bodies below it (the
     * consumers of each graph, cached while planning, then their inputs) */
    for (size_t j = (size_t)h; j < s->n_gs; j++) {
        if (!within(s, (int)j, h)) continue;
        oc_graph *b = s->gs[j].g;
        oc_node *rd[16];
        const size_t nr = oc_graph_consumers(b, name, rd, 16);
        for (size_t i = 0; i < nr; i++) {
            const oc_node *n = i < 16 ? rd[i] : NULL;
            if (!n) {
                /* more readers than fit: the full scan */
                for (size_t q = 0; q < b->n_nodes; q++)
                    for (size_t k = 0; k < b->nodes[q]->n_inputs; k++)
                        if (!strcmp(b->nodes[q]->inputs[k], name) && foreign_reader(b->nodes[q])) return false;
                break;
            }
            for (size_t k = 0; k < n->n_inputs; k++)
                if (!strcmp(n->inputs[k], name) && foreign_reader(n)) return false;
        }
    }
    *gi = h;
    return true;
}

static const char *const stat_ops[] = {"Slice", "Concat", "Pad", "Reshape", "Transpose", "Squeeze", "Unsqueeze",
                                       "Neg", "Identity", "Conv", "ReduceMean", NULL};

/* Nodes of decomposed normalisations: from every ReduceMean, follow readers
 * through Sub/Pow/ReduceMean/Add/Sqrt/Div/Mul/Reciprocal for a few steps.
 * Statistics proper, what is computed from ReduceMean outputs alone (a mean
 * padded, smoothed by a Conv, averaged again and negated, as silero-vad's
 * adaptive normalisation does), stay float, and so does the statistic where
 * an Add or Mul applies it to the data: an int8 error there shifts every
 * feature at once. Pooled features going on to a Gemm or MatMul (a
 * classifier head) are not held back. */
static void find_norm_chains(gstate *gs)
{
    oc_graph *g = gs->g;
    for (size_t oi = 0; oi < g->n_nodes; oi++) {
        oc_node *n = g->nodes[gs->order[oi]];
        bool stat = !strcmp(n->op_type, "ReduceMean") && n->n_inputs > 0;
        if (!stat && is_in(n->op_type, stat_ops)) {
            size_t n_stat = 0, n_act = 0;
            for (size_t k = 0; k < n->n_inputs; k++) {
                if (!*n->inputs[k] || oc_graph_weight(g, n->inputs[k])) continue;
                n_act++;
                n_stat += oc_strmap_get(&gs->stats, n->inputs[k]) != NULL;
            }
            stat = n_act > 0 && n_stat == n_act;
        }
        if (!stat) continue;
        for (size_t k = 0; k < n->n_outputs; k++)
            if (*n->outputs[k]) oc_strmap_put(&gs->stats, n->outputs[k], NULL);
        if (n->n_outputs) oc_strmap_put(&gs->norm, n->outputs[0], NULL);
    }
    for (size_t i = 0; i < g->n_nodes; i++) {
        oc_node *n = g->nodes[i];
        if (!is_in(n->op_type, norm_ops) || !n->n_outputs) continue;
        oc_strmap_put(&gs->norm, n->outputs[0], NULL);
        /* the readers of a statistic (x - mean, var + eps, / std) */
        oc_node *cons[16];
        size_t nc = oc_graph_consumers(g, n->outputs[0], cons, 16);
        for (size_t k = 0; k < nc && k < 16; k++)
            if (cons[k]->n_outputs) oc_strmap_put(&gs->norm, cons[k]->outputs[0], NULL);
    }
}

static bool in_norm(const gstate *gs, const oc_node *n)
{
    return n->n_outputs && oc_strmap_get(&gs->norm, n->outputs[0]);
}

static bool only_reader_is_act(sctx *s, oc_graph *g, const char *name, oc_node **act)
{
    oc_node *cons[4];
    size_t nc = oc_graph_consumers(g, name, cons, 4);
    if (nc != 1) return false;
    for (size_t i = 0; i < g->n_outputs; i++)
        if (!strcmp(g->outputs[i]->name, name)) return false;
    if (strcmp(cons[0]->op_type, "Relu") && strcmp(cons[0]->op_type, "Clip")) return false;
    if (!oc_pass_node_selected(s->r, cons[0])) return false;
    *act = cons[0];
    return true;
}

/* A tensor keep_sensitive keeps float: it feeds Pow/Sqrt/Log/Div (see
 * oc_qdq_feeds_sensitive), or a Concat joins such a tensor to others: a
 * magnitude spectrum set beside normalised features keeps its dynamic
 * range, and a quiet sample's magnitudes would fall below one int8 step. */
static bool sensitive_tensor(const sctx *s, int h, const char *name)
{
    if (!s->keep_sensitive) return false;
    oc_graph *g = s->gs[h].g;
    if (oc_qdq_feeds_sensitive(g, name, 0)) return true;
    oc_node *p = oc_graph_producer(g, name, NULL);
    if (!p || strcmp(p->op_type, "Concat")) return false;
    for (size_t k = 0; k < p->n_inputs; k++)
        if (*p->inputs[k] && !oc_graph_weight(g, p->inputs[k]) && oc_qdq_feeds_sensitive(g, p->inputs[k], 0))
            return true;
    return false;
}

/* A layer whose output feeds Pow/Sqrt/Log/Div (an STFT, a mel filter bank)
 * stays float whole: int8 audio buries a quiet sample under one step, and
 * int8 basis weights leak a loud bin's energy into its quiet neighbours (a
 * noise floor near -48 dB), both of which the logarithm then magnifies
 * (silero-vad v4's LSTM state: cosine 0.97-0.98 either way). With a float
 * output no QLinear kernel would absorb the pairs anyway. */
static bool sensitive_layer(const sctx *s, oc_graph *g, const oc_node *n)
{
    return s->keep_sensitive && n->n_outputs && *n->outputs[0] && oc_qdq_feeds_sensitive(g, n->outputs[0], 0);
}

/* Is `name` a statistic that n applies to the data (x + -mean, x * scale)? */
static bool meets_stat(const sctx *s, int h, const oc_node *n, const char *name)
{
    return (!strcmp(n->op_type, "Add") || !strcmp(n->op_type, "Mul")) && oc_strmap_get(&s->gs[h].stats, name);
}

/* compute ops: their activation inputs and their output */
static oc_status plan_compute(sctx *s, int gi)
{
    gstate *gs = &s->gs[gi];
    oc_graph *g = gs->g;
    for (size_t oi = 0; oi < g->n_nodes; oi++) {
        oc_node *n = g->nodes[gs->order[oi]];
        if (!is_in(n->op_type, compute_ops) || !oc_pass_node_selected(s->r, n) || in_norm(gs, n)) continue;
        if (sensitive_layer(s, g, n)) continue;
        int h;
        for (size_t k = 0; k < n->n_inputs; k++) {
            if (!act_input(n, k) || !quantizable_tensor(s, n->inputs[k], &h)) continue;
            if (sensitive_tensor(s, h, n->inputs[k]) || meets_stat(s, h, n, n->inputs[k])) continue;
            FORWARD_IF_ERROR(want(s, n->inputs[k], h, NULL));
        }
        if (!n->n_outputs || !*n->outputs[0]) continue;
        oc_node *act = NULL;
        const char *out = n->outputs[0];
        if (only_reader_is_act(s, g, out, &act) && act->n_outputs) out = act->outputs[0];
        if (quantizable_tensor(s, out, &h) && !sensitive_tensor(s, h, out)) FORWARD_IF_ERROR(want(s, out, h, NULL));
    }
    return OC_OK;
}

/* data movement shares its input's parameters */
static oc_status plan_share(sctx *s, int gi)
{
    gstate *gs = &s->gs[gi];
    oc_graph *g = gs->g;
    for (size_t oi = 0; oi < g->n_nodes; oi++) {
        oc_node *n = g->nodes[gs->order[oi]];
        if (!is_in(n->op_type, share_ops) || !oc_pass_node_selected(s->r, n) || !n->n_inputs) continue;
        if (!strcmp(n->op_type, "Pad")) {
            /* constant padding with a non-zero value would change the range */
            if (n->n_inputs > 2 && *n->inputs[2]) continue;
        }
        mark *in = get_mark(s, n->inputs[0]);
        if (!in || (s->confirm && !in->wanted)) continue;
        const char *from = in->share_from ? in->share_from : in->name;
        for (size_t k = 0; k < n->n_outputs; k++) {
            int h;
            if (!*n->outputs[k] || !quantizable_tensor(s, n->outputs[k], &h)) continue;
            mark *mo;
            FORWARD_IF_ERROR(want(s, n->outputs[k], h, &mo));
            if (mo && !s->confirm) mo->share_from = from;
        }
    }
    return OC_OK;
}

/* Every graph on the first pass; on the confirming pass only the graphs
 * that ran, so a branch the samples never took adds nothing (not even pairs
 * on the outer values it reads). */
static oc_status plan(sctx *s)
{
    /* planning reads the graphs without editing them: who reads what comes
     * from one map per graph rather than a scan per question */
    for (size_t gi = 0; gi < s->n_gs; gi++) oc_graph_cache_readers(s->gs[gi].g, true);
    oc_status st = OC_OK;
    for (size_t gi = 0; gi < s->n_gs && st == OC_OK; gi++)
        if (!s->confirm || s->gs[gi].ran) st = plan_compute(s, (int)gi);
    for (size_t gi = 0; gi < s->n_gs && st == OC_OK; gi++)
        if (!s->confirm || s->gs[gi].ran) st = plan_share(s, (int)gi);
    for (size_t gi = 0; gi < s->n_gs; gi++) oc_graph_cache_readers(s->gs[gi].g, false);
    return st;
}

/* ---- saturated gates ----
 * An LSTM cell written out as Gemm + Sigmoid/Tanh whose gate inputs reach
 * the thousands (silero-vad v5 here: +-5000 on speech) takes a yes/no
 * decision per unit: int8 noise anywhere before the gate, a few units of
 * the pre-activation, flips the units near zero, and the state it carries
 * comes out different. When one int8 step of its input is wider than the
 * gate's transition, a gate is such a step (a steep output Sigmoid, as
 * ppocr's binarisation map with inputs near +-150, is not): everything
 * feeding it stays float (back to the graph inputs, through the producers
 * of each graph; a body's internals are not followed through its node). */
static bool is_gate(const oc_node *n)
{
    return (!strcmp(n->op_type, "Sigmoid") || !strcmp(n->op_type, "Tanh") || !strcmp(n->op_type, "Softmax") ||
            !strcmp(n->op_type, "LogSoftmax")) &&
           oc_domain_is_default(n->domain);
}

static float hard_input(const oc_node *n)
{
    /* one int8 step (absmax / 127) wider than the transition: Sigmoid goes
     * from 0.02 to 0.98 over [-4, 4], Tanh from -0.96 to 0.96 over [-2, 2];
     * Softmax weighs its inputs by e^x, so one step wider than 1 changes a
     * class's odds by more than a factor e (ONNX's test_softmax_large_number,
     * inputs up to 10,003: cosine 0.72 when quantized) */
    if (!strcmp(n->op_type, "Softmax") || !strcmp(n->op_type, "LogSoftmax")) return 127.0f;
    return strcmp(n->op_type, "Tanh") ? 127.0f * 8 : 127.0f * 4;
}

static oc_status find_gates(sctx *s)
{
    for (size_t gi = 0; gi < s->n_gs; gi++) {
        oc_graph *g = s->gs[gi].g;
        for (size_t i = 0; i < g->n_nodes; i++) {
            const oc_node *n = g->nodes[i];
            if (!is_gate(n) || n->n_inputs < 1 || !*n->inputs[0]) continue;
            bool added;
            oc_strmap_entry *e = oc_strmap_put(&s->gate_ix, n->inputs[0], &added);
            if (!e) return oc_fail(s->r->ctx, OC_ERR_NOMEM, "out of memory");
            if (!added) continue;
            if (s->n_gates == s->cap_gates) {
                size_t nc = s->cap_gates ? s->cap_gates * 2 : 16;
                gate *ng = oc_realloc(s->gates, nc * sizeof(gate));
                if (!ng) return oc_fail(s->r->ctx, OC_ERR_NOMEM, "out of memory");
                s->gates = ng;
                s->cap_gates = nc;
            }
            e->aux = (uint32_t)s->n_gates;
            s->gates[s->n_gates++] = (gate){.name = n->inputs[0], .node = n, .gi = (int)gi, .absmax = 0};
        }
    }
    return OC_OK;
}

/* Puts `name` and every activation it is computed from into the cone. */
static oc_status add_cone(sctx *s, const char *name, size_t *n_tensors)
{
    const char **stack = NULL;
    size_t n = 0, cap = 0;
    oc_status st = OC_OK;
    bool added;
    if (!oc_strmap_put(&s->cone, name, &added)) return oc_fail(s->r->ctx, OC_ERR_NOMEM, "out of memory");
    if (!added) return OC_OK;
    (*n_tensors)++;
    for (const char *t = name; t; t = n ? stack[--n] : NULL) {
        int h = home_of(s, t);
        oc_node *p = h >= 0 ? oc_graph_producer(s->gs[h].g, t, NULL) : NULL;
        for (size_t k = 0; p && k < p->n_inputs; k++) {
            const char *in = p->inputs[k];
            if (!*in || oc_graph_weight(s->gs[h].g, in)) continue;
            oc_strmap_entry *e = oc_strmap_put(&s->cone, in, &added);
            if (!e) {
                st = oc_fail(s->r->ctx, OC_ERR_NOMEM, "out of memory");
                break;
            }
            if (!added) continue;
            (*n_tensors)++;
            if (n == cap) {
                size_t nc = cap ? cap * 2 : 32;
                const char **ns = oc_realloc(stack, nc * sizeof(char *));
                if (!ns) {
                    st = oc_fail(s->r->ctx, OC_ERR_NOMEM, "out of memory");
                    break;
                }
                stack = ns;
                cap = nc;
            }
            stack[n++] = in;
        }
        if (st != OC_OK) break;
    }
    oc_free(stack);
    return st;
}

static oc_status hard_gates(sctx *s)
{
    size_t hard = 0, tensors = 0;
    const gate *worst = NULL;
    if (!s->keep_sensitive) return OC_OK;
    for (size_t i = 0; i < s->n_gates; i++) {
        const gate *gt = &s->gates[i];
        if (!(gt->absmax >= hard_input(gt->node)) || !s->gs[gt->gi].ran) continue;
        hard++;
        if (!worst || gt->absmax > worst->absmax) worst = gt;
        FORWARD_IF_ERROR(add_cone(s, gt->name, &tensors));
    }
    if (!hard) return OC_OK;
    const gstate *wg = &s->gs[worst->gi];
    char where[300] = "";
    if (wg->owner)
        snprintf(where, sizeof(where), " in %s '%s' %s", wg->owner->op_type,
                 wg->owner->name && *wg->owner->name ? wg->owner->name : "?", wg->attr);
    oc_pass_notice(s->r, "static: %zu Sigmoid/Tanh/Softmax input%s too wide for int8 (%s '%s'%s takes inputs up to %.0f, "
                   "one int8 step wider than its transition): int8 noise before %s would flip %s outputs, so the %zu "
                   "tensor%s feeding %s stay%s float",
                   hard, hard == 1 ? " is" : "s are", worst->node->op_type,
                   worst->node->name && *worst->node->name ? worst->node->name : worst->name, where,
                   (double)worst->absmax, hard == 1 ? "it" : "them", hard == 1 ? "its" : "their", tensors,
                   tensors == 1 ? "" : "s", hard == 1 ? "it" : "them", tensors == 1 ? "s" : "");
    return OC_OK;
}

/* ---- calibration ---- */

static void observe(void *ud, const char *name, const oc_ten *t)
{
    sctx *s = ud;
    const oc_strmap_entry *d = oc_strmap_get(&s->defs, name);
    if (d && d->val != &dup_tag) s->gs[d->aux].ran = true;
    const oc_strmap_entry *ge = s->n_gates && t->dtype == OC_DTYPE_FLOAT ? oc_strmap_get(&s->gate_ix, name) : NULL;
    if (ge) {
        gate *gt = &s->gates[ge->aux];
        const float *x = t->data;
        for (int64_t i = 0; i < t->numel; i++)
            if (fabsf(x[i]) > gt->absmax) gt->absmax = fabsf(x[i]); /* NaN compares false */
    }
    mark *mk = get_mark(s, name);
    if (!mk || !mk->obs) return;
    if (t->dtype != OC_DTYPE_FLOAT) return;
    mk->is_float = true;
    oc_observer_update(mk->obs, t->data, (size_t)t->numel);
}

static oc_status calibrate(sctx *s)
{
    oc_pass_run *r = s->r;
    for (size_t i = 0; i < s->n_m; i++) {
        if (s->m[i].share_from) continue;
        s->m[i].obs = oc_observer_new(s->method, s->percentile);
        if (!s->m[i].obs) return oc_fail(r->ctx, OC_ERR_NOMEM, "out of memory");
    }
    size_t n = 0;
    s->gs[0].ran = true;
    /* min/max ranges, gate maxima and "ran" flags do not depend on sample
     * order: the samples may run in parallel; histograms do */
    oc_status st = s->method == OC_CALIB_MINMAX ? oc_pass_run_samples_any_order(s->r, observe, s, &n)
                                                 : oc_pass_run_samples(s->r, observe, s, &n);
    if (st == OC_OK)
        oc_pass_notice(r, "static: calibrated on %zu sample%s of %s", n, n == 1 ? "" : "s", r->popts->data_src);
    return st;
}

/* A body the samples never ran (the If branch not taken, a Loop of zero
 * trips) has no ranges: it stays float, said once for its outermost body. */
static void notice_unrun(sctx *s)
{
    for (size_t gi = 1; gi < s->n_gs; gi++) {
        const gstate *gs = &s->gs[gi];
        if (gs->ran || !s->gs[gs->parent].ran) continue;
        size_t planned = 0;
        for (size_t j = gi; j < s->n_gs; j++)
            if (within(s, (int)j, (int)gi)) planned += s->gs[j].n_marks;
        if (!planned) continue;
        oc_pass_notice(s->r,
                       "static: %s '%s' %s never ran on the calibration samples: no ranges, its activations "
                       "stay float (%zu tensor%s)",
                       gs->owner->op_type, gs->owner->name && *gs->owner->name ? gs->owner->name : "?", gs->attr,
                       planned, planned == 1 ? "" : "s");
    }
}

/* ---- bias correction ----
 * Per-channel means of each biased Conv/Gemm output, once in the float
 * model, then in the quantized model as it will be written (int8 weights
 * and activations: rounding near-zero activations to the zero point, most
 * of all after wide-ranged ones, shifts whole channels); the difference is
 * systematic and comes off the bias, int32 or float. A layer's measured
 * shift includes what the layers before it pass on, so the layers are
 * corrected one at a time in the order the graph runs, each measured with
 * the corrections before it in place (correcting all at once from one
 * measurement counts the passed-on shift twice, and overshoots): one run
 * over at most BC_SAMPLES samples per corrected layer. */

enum { BC_SAMPLES = 32 };

static const char *weight_opnd(const oc_node *n, size_t *slot, int *axis, int *bias_slot);

typedef struct chan_mean {
    const char *name; /* output tensor */
    oc_node *node;
    oc_graph *g;      /* the node's graph */
    int axis;         /* channel axis of the output: 1 for Conv, last for Gemm */
    int64_t c;
    double *sum[2];   /* float run, quantized-weight run */
    int64_t cnt[2];
} chan_mean;

typedef struct bc_ctx {
    chan_mean *cm;
    size_t n, cap;
    int phase;
    oc_strmap ix; /* output name -> index + 1 */
} bc_ctx;

/* (Re)builds the name map: a quantized graph output moved its layer's
 * output to another name. */
static oc_status bc_index(sctx *s, bc_ctx *b)
{
    oc_strmap_free(&b->ix);
    oc_strmap_init(&b->ix);
    for (size_t i = 0; i < b->n; i++) {
        b->cm[i].name = b->cm[i].node->outputs[0];
        bool added;
        oc_strmap_entry *e = oc_strmap_put(&b->ix, b->cm[i].name, &added);
        if (!e) return oc_fail(s->r->ctx, OC_ERR_NOMEM, "out of memory");
        e->aux = added ? (uint32_t)i + 1 : 0; /* a name two layers write: neither */
    }
    return OC_OK;
}

static void bc_observe(void *ud, const char *name, const oc_ten *t)
{
    bc_ctx *b = ud;
    if (t->dtype != OC_DTYPE_FLOAT) return;
    const oc_strmap_entry *hit = oc_strmap_get(&b->ix, name);
    if (hit && hit->aux) {
        chan_mean *m = &b->cm[hit->aux - 1];
        int ax = m->axis < 0 ? t->ndim - 1 : m->axis;
        if (ax >= t->ndim || t->dims[ax] != m->c) return;
        int64_t inner = 1, outer = 1;
        for (int d = ax + 1; d < t->ndim; d++) inner *= t->dims[d];
        for (int d = 0; d < ax; d++) outer *= t->dims[d];
        const float *x = t->data;
        for (int64_t o = 0; o < outer; o++)
            for (int64_t c = 0; c < m->c; c++) {
                const float *p = x + (o * m->c + c) * inner;
                double acc = 0;
                for (int64_t e = 0; e < inner; e++) acc += p[e];
                m->sum[b->phase][c] += acc;
            }
        m->cnt[b->phase] += outer * inner;
    }
}

static oc_status bias_collect(sctx *s, bc_ctx *b)
{
    size_t total = 0;
    for (size_t gi = 0; gi < s->n_gs; gi++) total += s->gs[gi].g->n_nodes;
    b->cm = oc_calloc(total + 1, sizeof(chan_mean));
    if (!b->cm) return oc_fail(s->r->ctx, OC_ERR_NOMEM, "out of memory");
    b->cap = total;
    for (size_t gi = 0; gi < s->n_gs; gi++) {
        const gstate *gs = &s->gs[gi];
        oc_graph *g = gs->g;
        if (!gs->ran) continue;
        for (size_t i = 0; i < g->n_nodes && b->n < b->cap; i++) {
            oc_node *n = g->nodes[gs->order[i]];
            bool conv = !strcmp(n->op_type, "Conv"), gemm = !strcmp(n->op_type, "Gemm");
            if ((!conv && !gemm) || n->n_inputs < 3 || !*n->inputs[2] || !n->n_outputs) continue;
            size_t ws;
            int wa, bslot;
            if (gemm && (!weight_opnd(n, &ws, &wa, &bslot) || bslot != 2)) continue; /* beta != 1 */
            if (!oc_pass_node_selected(s->r, n)) continue;
            oc_tensor *bias = oc_graph_weight(g, n->inputs[2]);
            if (!bias || bias->dtype != OC_DTYPE_FLOAT || bias->ndim != 1 || !oc_qdq_init_home(g, n->inputs[2]))
                continue;
            chan_mean *m = &b->cm[b->n];
            m->name = n->outputs[0];
            m->node = n;
            m->g = g;
            m->axis = conv ? 1 : -1;
            m->c = bias->numel;
            m->sum[0] = oc_calloc((size_t)m->c + 1, sizeof(double));
            m->sum[1] = oc_calloc((size_t)m->c + 1, sizeof(double));
            b->n++;
            if (!m->sum[0] || !m->sum[1]) return oc_fail(s->r->ctx, OC_ERR_NOMEM, "out of memory");
        }
    }
    return OC_OK;
}

/* Takes delta[c] off the bias of m's layer: its float initializer, or the
 * int32 integers of the DequantizeLinear the static pass gave it (in steps
 * of its scale, saturating). False when the bias is neither. */
static bool shift_bias(sctx *s, const chan_mean *m, const double *delta, bool *nomem)
{
    const char *bn = m->node->inputs[2];
    oc_tensor *t = oc_graph_weight(m->g, bn);
    if (t && t->dtype == OC_DTYPE_FLOAT && t->numel == m->c && t->data) {
        float *nb = oc_malloc((size_t)m->c * sizeof(float));
        if (!nb) return !(*nomem = true);
        memcpy(nb, t->data, (size_t)m->c * sizeof(float));
        for (int64_t c = 0; c < m->c; c++) nb[c] -= (float)delta[c];
        oc_tensor_set_data(s->r->m, t, nb, (size_t)m->c * sizeof(float));
        return true;
    }
    oc_node *dq = oc_graph_producer(m->g, bn, NULL);
    if (!dq || strcmp(dq->op_type, "DequantizeLinear") || dq->n_inputs < 2) return false;
    oc_tensor *q = oc_graph_weight(m->g, dq->inputs[0]), *sc = oc_graph_weight(m->g, dq->inputs[1]);
    if (!q || q->dtype != OC_DTYPE_INT32 || q->numel != m->c || !q->data || !sc || sc->dtype != OC_DTYPE_FLOAT ||
        !sc->data || (sc->numel != 1 && sc->numel != m->c))
        return false;
    int32_t *nq = oc_malloc((size_t)m->c * sizeof(int32_t));
    if (!nq) return !(*nomem = true);
    memcpy(nq, q->data, (size_t)m->c * sizeof(int32_t));
    for (int64_t c = 0; c < m->c; c++) {
        float step;
        memcpy(&step, (const char *)sc->data + 4 * (sc->numel == 1 ? 0 : c), 4);
        if (!(step > 0)) continue;
        const double v = nearbyint((double)nq[c] - delta[c] / step);
        nq[c] = v >= (double)INT32_MAX ? INT32_MAX : v <= (double)INT32_MIN ? INT32_MIN : (int32_t)v;
    }
    oc_tensor_set_data(s->r->m, q, nq, (size_t)m->c * sizeof(int32_t));
    return true;
}

/* One round: each layer's bias loses the mean shift its output shows on
 * the samples against the float model's. */
static oc_status bias_apply(sctx *s, bc_ctx *b, size_t *done, size_t only)
{
    *done = 0;
    int64_t maxc = 1;
    for (size_t i = 0; i < b->n; i++) maxc = b->cm[i].c > maxc ? b->cm[i].c : maxc;
    double *delta = oc_malloc((size_t)maxc * sizeof(double));
    if (!delta) return oc_fail(s->r->ctx, OC_ERR_NOMEM, "out of memory");
    bool nomem = false;
    for (size_t i = 0; i < b->n && !nomem; i++) {
        chan_mean *m = &b->cm[i];
        if (only != SIZE_MAX && i != only) continue;
        if (!m->cnt[0] || m->cnt[0] != m->cnt[1]) continue;
        const double per = (double)m->cnt[0]; /* values seen per channel */
        for (int64_t c = 0; c < m->c; c++) delta[c] = (m->sum[1][c] - m->sum[0][c]) / per;
        *done += shift_bias(s, m, delta, &nomem);
    }
    oc_free(delta);
    return nomem ? oc_fail(s->r->ctx, OC_ERR_NOMEM, "out of memory") : OC_OK;
}

/* Float means first (before any edit), then the rounds on the finished
 * quantized model. */
static oc_status bias_float_means(sctx *s, bc_ctx *b)
{
    size_t n;
    FORWARD_IF_ERROR(bias_collect(s, b));
    FORWARD_IF_ERROR(bc_index(s, b));
    b->phase = 0;
    return oc_pass_run_samples_upto(s->r, bc_observe, b, &n, BC_SAMPLES);
}

static oc_status bias_correct(sctx *s, bc_ctx *b)
{
    size_t n, done = 0;
    FORWARD_IF_ERROR(bc_index(s, b));
    b->phase = 1;
    for (size_t i = 0; i < b->n; i++) {
        for (size_t j = 0; j < b->n; j++) {
            memset(b->cm[j].sum[1], 0, (size_t)b->cm[j].c * sizeof(double));
            b->cm[j].cnt[1] = 0;
        }
        FORWARD_IF_ERROR(oc_pass_run_samples_upto(s->r, bc_observe, b, &n, BC_SAMPLES));
        size_t d;
        FORWARD_IF_ERROR(bias_apply(s, b, &d, i));
        done += d;
    }
    if (done)
        oc_pass_notice(s->r, "static: corrected %zu bias%s, layer by layer, for the mean output shift of the "
                             "quantized model (on %zu sample%s)", done, done == 1 ? "" : "es", n, n == 1 ? "" : "s");
    return OC_OK;
}

static void bias_free(bc_ctx *b)
{
    for (size_t i = 0; i < b->n; i++) {
        oc_free(b->cm[i].sum[0]);
        oc_free(b->cm[i].sum[1]);
    }
    oc_free(b->cm);
    oc_strmap_free(&b->ix);
}

/* ---- editing ---- */

static const char *weight_opnd(const oc_node *n, size_t *slot, int *axis, int *bias_slot)
{
    const char *op = n->op_type;
    *bias_slot = -1;
    if (!strcmp(op, "Conv")) {
        *slot = 1;
        *axis = 0;
        *bias_slot = 2;
    } else if (!strcmp(op, "ConvTranspose")) {
        *slot = 1;
        *axis = 1;
        /* int32 too (with group > 1 a per-channel weight has fewer scales
         * than the bias has channels: oc_qdq_bias leaves that one float);
         * left float, ORT quantizes it at load with a Round opset 10 lacks */
        *bias_slot = 2;
    } else if (!strcmp(op, "Gemm")) {
        int64_t tb = 0;
        float beta = 1;
        for (size_t i = 0; i < n->n_attrs; i++) {
            if (!strcmp(n->attrs[i].name, "transB")) tb = n->attrs[i].i;
            if (!strcmp(n->attrs[i].name, "beta")) beta = n->attrs[i].f;
        }
        *slot = 1;
        *axis = tb ? 0 : 1;
        if (beta == 1.0f) *bias_slot = 2;
    } else if (!strcmp(op, "MatMul")) {
        *slot = 1;
        *axis = -2; /* last axis, known from the weight's rank */
    } else {
        return NULL;
    }
    return *slot < n->n_inputs ? n->inputs[*slot] : NULL;
}

/* Notes that `name` (copied) is now made by a DequantizeLinear in home. */
static oc_status note_deq(sctx *s, oc_graph *home, const char *name)
{
    if (s->n_deq == s->cap_deq) {
        size_t nc = s->cap_deq ? s->cap_deq * 2 : 32;
        const char **nn = oc_realloc(s->deq, nc * sizeof(char *));
        if (nn) s->deq = nn;
        oc_graph **nh = nn ? oc_realloc(s->deq_home, nc * sizeof(oc_graph *)) : NULL;
        if (!nh) return oc_fail(s->r->ctx, OC_ERR_NOMEM, "out of memory");
        s->deq_home = nh;
        s->cap_deq = nc;
    }
    const char *c = oc_model_strdup(s->r->m, name);
    if (!c) return oc_fail(s->r->ctx, OC_ERR_NOMEM, "out of memory");
    s->deq[s->n_deq] = c;
    s->deq_home[s->n_deq++] = home;
    return OC_OK;
}

/* How often the nodes of g itself (not its bodies) read `name`; with `to`,
 * those reads are renamed. */
static size_t own_reads(oc_graph *g, const char *name, const char *to, const oc_node *skip)
{
    size_t n = 0;
    for (size_t i = 0; i < g->n_nodes; i++) {
        oc_node *nd = g->nodes[i];
        if (nd == skip) continue;
        for (size_t k = 0; k < nd->n_inputs; k++)
            if (!strcmp(nd->inputs[k], name)) {
                n++;
                if (to) nd->inputs[k] = to;
            }
    }
    if (to && n) oc_graph_invalidate(g);
    return n;
}

/* ONNX Runtime fuses DequantizeLinear -> Conv into QLinearConv only when
 * both are nodes of one graph: a body reading an outer weight gets its own
 * DequantizeLinear of the outer integers (stored once, in the weight's
 * graph), and the outer one goes when nothing else reads it. */
static oc_status localize_dq(sctx *s, oc_graph *hg, const char *name)
{
    int home = -1;
    for (size_t gi = 0; gi < s->n_gs && home < 0; gi++)
        if (s->gs[gi].g == hg) home = (int)gi;
    oc_node *dq = home >= 0 ? oc_graph_producer(hg, name, NULL) : NULL;
    if (!dq || strcmp(dq->op_type, "DequantizeLinear")) return OC_OK;
    bool kept = own_reads(hg, name, NULL, NULL) > 0;
    for (size_t i = 0; i < hg->n_outputs; i++) kept |= !strcmp(hg->outputs[i]->name, name);
    for (size_t j = (size_t)home + 1; j < s->n_gs; j++) {
        if (!within(s, (int)j, home)) continue;
        oc_graph *b = s->gs[j].g;
        for (size_t i = 0; i < b->n_outputs; i++) kept |= !strcmp(b->outputs[i]->name, name);
        if (!own_reads(b, name, NULL, NULL)) continue;
        char base[600];
        snprintf(base, sizeof(base), "%s_local", name);
        const char *out = oc_graph_unique_name(b, base);
        snprintf(base, sizeof(base), "%s_DequantizeLinear", name);
        const char *nn = out ? oc_graph_unique_name(b, base) : NULL;
        oc_node *c = nn ? oc_graph_add_node(b, 0, "DequantizeLinear", NULL, nn, dq->n_inputs, dq->inputs, 1, &out)
                        : NULL;
        if (!c) return oc_fail(s->r->ctx, OC_ERR_NOMEM, "out of memory");
        for (size_t k = 0; k < dq->n_attrs; k++) {
            oc_attr *a = oc_node_add_attr(b, c, dq->attrs[k].name, dq->attrs[k].type);
            if (!a) return oc_fail(s->r->ctx, OC_ERR_NOMEM, "out of memory");
            a->i = dq->attrs[k].i; /* DequantizeLinear's attributes (axis, block_size) are ints */
            a->has_i = dq->attrs[k].has_i;
        }
        own_reads(b, name, c->outputs[0], c);
    }
    if (!kept) {
        size_t w = 0;
        for (size_t i = 0; i < hg->n_nodes; i++)
            if (hg->nodes[i] != dq) hg->nodes[w++] = hg->nodes[i];
        hg->n_nodes = w;
        oc_graph_invalidate(hg);
    }
    return OC_OK;
}

/* The bias of node n (graph g) as int32 at input scale x weight scale. */
static oc_status quantize_bias(sctx *s, oc_graph *g, const oc_node *n, int bias_slot, const mark *in,
                               const float *w_scale, int64_t n_wscale, oc_strmap *done)
{
    if (bias_slot < 0 || (size_t)bias_slot >= n->n_inputs || !*n->inputs[bias_slot]) return OC_OK;
    const char *bname = n->inputs[bias_slot];
    const mark *src = in->share_from ? get_mark(s, in->share_from) : in;
    oc_tensor *b = oc_graph_weight(g, bname);
    oc_graph *bh = b ? oc_qdq_init_home(g, bname) : NULL;
    oc_node *c = NULL;
    const int h = home_of(s, bname);
    if (b && !bh && h >= 0) {
        /* a Constant node (exporters that write every weight that way): in
         * the graph that defines the name. Left float, ONNX Runtime would
         * quantize it itself at load, with a Round that opset 10 lacks. */
        bh = s->gs[h].g;
        c = oc_graph_producer(bh, bname, NULL);
        if (!c) bh = NULL;
    }
    if (!b || !bh || b->dtype != OC_DTYPE_FLOAT || !b->data || !src || !src->done || oc_strmap_get(done, bname) ||
        h < 0)
        return OC_OK;
    char bcopy[512];
    snprintf(bcopy, sizeof(bcopy), "%s", bname);
    const char *key = oc_model_strdup(s->r->m, bcopy);
    if (!key || !oc_strmap_put(done, key, NULL)) return oc_fail(s->r->ctx, OC_ERR_NOMEM, "out of memory");
    FORWARD_IF_ERROR(oc_qdq_bias(s->r, bh, c, bcopy, b, src->p.scale, w_scale, n_wscale));
    return note_deq(s, bh, bcopy);
}

/* Weights and their biases. A weight from an enclosing graph is quantized there, once: every reader,
 * in any body, then reads its DequantizeLinear. */
static oc_status quantize_graph_weights(sctx *s, int gi, bool per_channel, oc_strmap *done)
{
    gstate *gs = &s->gs[gi];
    oc_graph *g = gs->g;
    oc_pass_run *r = s->r;
    size_t n_nodes = g->n_nodes;
    oc_node **snap = oc_malloc((n_nodes ? n_nodes : 1) * sizeof(oc_node *));
    size_t *ord = oc_malloc((n_nodes ? n_nodes : 1) * sizeof(size_t));
    /* folding and earlier graphs' edits changed nodes: order the graph as it is now */
    oc_status st = snap && ord ? oc_graph_topo_order(r->ctx, g, ord) : OC_ERR_NOMEM;
    if (st != OC_OK) {
        oc_free(snap);
        oc_free(ord);
        return st == OC_ERR_NOMEM ? oc_fail(r->ctx, OC_ERR_NOMEM, "out of memory") : st;
    }
    for (size_t i = 0; i < n_nodes; i++) snap[i] = g->nodes[ord[i]];
    oc_free(ord);
    /* which layers feed magnitude/log computations, asked of the graph as it
     * is now, from the readers map (the edits below add weights' and biases'
     * DequantizeLinear nodes, which change no layer output's readers) */
    bool *sens = oc_calloc(n_nodes + 1, sizeof(bool));
    if (!sens) {
        oc_free(snap);
        return oc_fail(r->ctx, OC_ERR_NOMEM, "out of memory");
    }
    oc_graph_cache_readers(g, true);
    for (size_t i = 0; i < n_nodes; i++) {
        size_t sl;
        int ax, bs;
        const char *wn = weight_opnd(snap[i], &sl, &ax, &bs);
        sens[i] = wn && *wn && sensitive_layer(s, g, snap[i]);
    }
    oc_graph_cache_readers(g, false);
    for (size_t i = 0; i < n_nodes && st == OC_OK; i++) {
        oc_node *n = snap[i];
        size_t slot;
        int axis, bias_slot;
        const char *wname = weight_opnd(n, &slot, &axis, &bias_slot);
        if (!wname || !*wname || !oc_pass_node_selected(r, n) || in_norm(gs, n) || sens[i]) continue;
        mark *in = get_mark(s, n->inputs[0]);
        if (!in || !in->done) continue; /* the activation stays float: so does the weight */
        if (oc_strmap_get(done, wname)) continue;
        oc_tensor *t = oc_graph_weight(g, wname);
        if (!t || t->dtype != OC_DTYPE_FLOAT || !t->data || t->ndim < 2) continue;
        if (axis == -2) axis = t->ndim - 1;
        int wh = home_of(s, wname);
        if (wh < 0) continue;
        oc_graph *home = oc_qdq_init_home(g, wname);
        oc_node *c = NULL;
        if (!home) {
            /* a Constant node: in the graph that defines the name */
            home = s->gs[wh].g;
            c = oc_graph_producer(home, wname, NULL);
            if (!c) continue;
        }
        oc_qweight_opts qo = {.dtype = OC_DTYPE_INT8, .symmetric = true, .axis = per_channel ? axis : -1};
        oc_qweight sc;
        char wcopy[512];
        snprintf(wcopy, sizeof(wcopy), "%s", wname);
        const char *key = oc_model_strdup(r->m, wcopy);
        if (!key || !oc_strmap_put(done, key, NULL)) {
            st = oc_fail(r->ctx, OC_ERR_NOMEM, "out of memory");
            break;
        }
        st = oc_qdq_weight(r, home, c, wcopy, t, &qo, per_channel, &sc);
        if (st != OC_OK) break;
        st = note_deq(s, home, wcopy);
        if (st != OC_OK) {
            oc_qweight_free(&sc);
            break;
        }
        r->rep->nodes_quantized++;
        if (gi > 0) {
            s->body_layers++;
            gs->n_quantized++;
        }
        if (oc_pass_val(r, "bias"))
            st = quantize_bias(s, g, n, bias_slot, in, sc.scale, sc.scale_numel, done);
        oc_qweight_free(&sc);
    }
    oc_free(sens);
    oc_free(snap);
    return st;
}

static oc_status quantize_weights(sctx *s, bool per_channel)
{
    oc_strmap done;
    oc_strmap_init(&done);
    oc_status st = OC_OK;
    for (size_t gi = 0; gi < s->n_gs && st == OC_OK; gi++)
        if (s->gs[gi].ran) st = quantize_graph_weights(s, (int)gi, per_channel, &done);
    oc_strmap_free(&done);
    return st;
}

/* Ranges to scales: own ranges first, then the shared ones. Marks the
 * confirming plan did not want (read only by a body that never ran) stay
 * float. */
static void set_params(sctx *s)
{
    for (size_t i = 0; i < s->n_m; i++) {
        mark *mk = &s->m[i];
        if (mk->share_from || !mk->is_float || !mk->wanted) continue;
        float lo, hi;
        oc_observer_range(mk->obs, s->act_dtype, s->act_sym, &lo, &hi);
        oc_node *p = oc_graph_producer(s->gs[mk->gi].g, mk->name, NULL);
        if (p && !strcmp(p->op_type, "Softmax")) {
            lo = 0; /* a probability: [0, 1] */
            hi = 1;
        }
        mk->p = oc_q_params(lo, hi, s->act_dtype, s->act_sym);
        mk->done = true;
    }
    for (size_t i = 0; i < s->n_m; i++) {
        mark *mk = &s->m[i];
        if (!mk->share_from || !mk->wanted) continue;
        mark *src = get_mark(s, mk->share_from);
        if (!src || !src->done) continue;
        mk->is_float = true; /* moved, not computed: the same type as its source */
        mk->p = src->p;
        mk->done = true;
    }
}

/* Raises the opset for QuantizeLinear (10) or per-channel scales (13). */
static oc_status need_opset(oc_pass_run *r, bool *per_channel)
{
    int64_t have = oc_model_opset(r->m, "");
    int64_t need = *per_channel ? 13 : 10;
    if (have >= need) return OC_OK;
    char why[1024];
    if (oc_opset_can_upgrade(r->m, need, why, sizeof(why))) {
        FORWARD_IF_ERROR(oc_opset_upgrade(r->ctx, r->m, need));
        oc_pass_notice(r, "static: raised the model's opset from %lld to %lld", (long long)have, (long long)need);
    } else if (*per_channel && have >= 10) {
        oc_pass_notice(r, "static: opset %lld cannot be raised to 13 (%s): per-tensor weight scales", (long long)have,
                       why);
        *per_channel = false;
    } else {
        return oc_fail(r->ctx, OC_ERR_UNSUPPORTED, "static: QuantizeLinear needs opset 10, the model has %lld: %s",
                       (long long)have, why);
    }
    return OC_OK;
}

/* The whole pass; with probe, only the first plan on the model as it came
 * (no opset raise, no folding, no calibration): *work tells whether any
 * tensor would be quantized. */
static oc_status static_pass(oc_pass_run *r, bool probe, bool *work)
{
    sctx s;
    memset(&s, 0, sizeof(s));
    s.r = r;
    bc_ctx bc;
    memset(&bc, 0, sizeof(bc));
    oc_strmap_init(&bc.ix);
    s.act_dtype = oc_pass_val(r, "activations") == 1 ? OC_DTYPE_INT8 : OC_DTYPE_UINT8;
    s.act_sym = oc_pass_val(r, "symmetric") != 0;
    s.method = (oc_calib_method)(int)oc_pass_val(r, "method");
    s.percentile = oc_pass_val(r, "percentile");
    s.keep_sensitive = oc_pass_val(r, "keep_sensitive") != 0;
    bool per_channel = oc_pass_val(r, "per_channel") != 0;
    oc_strmap_init(&s.marks);
    oc_strmap_init(&s.defs);
    oc_strmap_init(&s.dups);
    oc_strmap_init(&s.gate_ix);
    oc_strmap_init(&s.cone);

    oc_status st = probe ? OC_OK : need_opset(r, &per_channel);
    if (st != OC_OK) goto done;
    if (!probe && oc_pass_val(r, "fold")) {
        size_t affine = 0, hswish = 0;
        st = fold_all(r, r->m->graph, &affine, &hswish, 0);
        if (st != OC_OK) goto done;
        if (affine)
            oc_pass_notice(r, "static: folded %zu BatchNormalization/Mul/Add node%s into the Conv before them",
                           affine, affine == 1 ? "" : "s");
        if (hswish) oc_pass_notice(r, "static: rewrote %zu hard-swish chain%s (x * Clip(x + 3, 0, 6) / 6) as one op",
                                   hswish, hswish == 1 ? "" : "s");
    }
    /* the graphs (after folding, which may drop nodes holding bodies) */
    st = add_graph(&s, r->m->graph, NULL, NULL, -1, 0);
    if (st == OC_OK) st = index_names(&s);
    if (st != OC_OK) goto done;
    bool already = false;
    for (size_t gi = 0; gi < s.n_gs; gi++) {
        gstate *gs = &s.gs[gi];
        for (size_t i = 0; i < gs->g->n_nodes; i++) {
            const char *op = gs->g->nodes[i]->op_type;
            if (!strcmp(op, "QuantizeLinear") || !strcmp(op, "DequantizeLinear") || !strncmp(op, "QLinear", 7) ||
                strstr(op, "Integer"))
                already = true;
        }
        gs->order = oc_malloc((gs->g->n_nodes ? gs->g->n_nodes : 1) * sizeof(size_t));
        if (!gs->order) {
            st = oc_fail(r->ctx, OC_ERR_NOMEM, "out of memory");
            goto done;
        }
        st = oc_graph_topo_order(r->ctx, gs->g, gs->order);
        if (st != OC_OK) goto done;
        if (oc_pass_val(r, "keep_norm")) find_norm_chains(gs);
    }
    if (already && !probe) oc_pass_notice(r, "static: the model is already partly quantized; those parts are left alone");

    st = find_gates(&s);
    if (st == OC_OK) st = plan(&s);
    if (probe) {
        *work = s.n_m > 0;
        goto done;
    }
    if (st == OC_OK) st = calibrate(&s);
    if (st == OC_OK) st = hard_gates(&s);
    if (st != OC_OK) goto done;
    /* again, knowing which bodies ran and which tensors feed hard gates */
    s.confirm = true;
    st = plan(&s);
    if (st != OC_OK) goto done;
    notice_unrun(&s);
    if (s.dups.count) {
        const char *eg = NULL;
        for (size_t i = 0; i < s.dups.cap && !eg; i++) eg = s.dups.slots[i].key;
        oc_pass_notice(r, "static: %zu tensor name%s defined by more than one graph (e.g. '%s'): left float",
                       s.dups.count, s.dups.count == 1 ? " is" : "s are", eg ? eg : "");
    }
    set_params(&s);
    const bool correct = oc_pass_val(r, "bias_correction") != 0;
    if (correct) st = bias_float_means(&s, &bc);
    if (st == OC_OK) st = quantize_weights(&s, per_channel);
    /* (without bodies, every DequantizeLinear made has a reader in its graph) */
    for (size_t i = 0; i < s.n_deq && st == OC_OK && s.n_gs > 1; i++) st = localize_dq(&s, s.deq_home[i], s.deq[i]);
    if (st != OC_OK) goto done;
    /* the pairs, each in the graph defining its tensor (a body reads an
     * outer tensor's DequantizeLinear; a body output keeps its float name
     * on the DequantizeLinear): names are copied first, since edits rename
     * readers */
    oc_qdq_renames rn;
    oc_qdq_renames_init(&rn);
    for (size_t i = 0; i < s.n_m && st == OC_OK; i++) {
        mark *mk = &s.m[i];
        if (!mk->done) continue;
        char name[512];
        snprintf(name, sizeof(name), "%s", mk->name);
        st = oc_qdq_activation(r, s.gs[mk->gi].g, name, mk->p, s.act_dtype, &rn);
        if (st == OC_OK && mk->gi > 0) {
            s.body_acts++;
            s.gs[mk->gi].n_quantized++;
        }
    }
    if (st == OC_OK) oc_qdq_renames_apply(r->m->graph, &rn);
    oc_qdq_renames_free(&rn);
    if (st == OC_OK && correct) st = bias_correct(&s, &bc);
    if (st == OC_OK && (s.body_layers || s.body_acts)) {
        size_t bodies = 0;
        for (size_t gi = 1; gi < s.n_gs; gi++) bodies += s.gs[gi].n_quantized > 0;
        oc_pass_notice(r,
                       "static: inside %zu subgraph bod%s: %zu layer%s with int8 weights, %zu activation%s quantized",
                       bodies, bodies == 1 ? "y" : "ies", s.body_layers, s.body_layers == 1 ? "" : "s", s.body_acts,
                       s.body_acts == 1 ? "" : "s");
    }
done:
    bias_free(&bc);
    for (size_t i = 0; i < s.n_m; i++) oc_observer_free(s.m[i].obs);
    oc_free(s.m);
    for (size_t gi = 0; gi < s.n_gs; gi++) {
        oc_free(s.gs[gi].order);
        oc_strmap_free(&s.gs[gi].norm);
        oc_strmap_free(&s.gs[gi].stats);
        oc_strmap_free(&s.gs[gi].nonfloat);
    }
    oc_free(s.gs);
    oc_strmap_free(&s.marks);
    oc_strmap_free(&s.defs);
    oc_strmap_free(&s.dups);
    oc_strmap_free(&s.gate_ix);
    oc_strmap_free(&s.cone);
    oc_free(s.gates);
    oc_free(s.deq);
    oc_free(s.deq_home);
    return st;
}

oc_status oc_pass_quant_static(oc_pass_run *r)
{
    /* a model with nothing to quantize is left as it came: no opset raised,
     * nothing folded, no calibration run */
    bool work = false;
    FORWARD_IF_ERROR(static_pass(r, true, &work));
    if (!work) {
        oc_pass_notice(r, "static: no float activation to quantize; the model is left as it was");
        return OC_OK;
    }
    return static_pass(r, false, NULL);
}
