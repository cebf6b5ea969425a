/* fold.c: float rewrites the static pass makes before calibration, as every
 * quantizer's pre-processing does, so that fewer tensors get rounded:
 *
 *  - per-channel affine ops after a Conv or ConvTranspose with constant
 *    weights (inference BatchNormalization; Mul, Add, Sub, Div by a constant
 *    that is a scalar or varies along the channel axis only) become part of
 *    its weights and bias. Each one left would be a tensor quantized on its
 *    own, a rounding error and a requantization in ONNX Runtime;
 *  - hard-swish written out as x * Clip(x + 3, 0, 6) / 6 (four nodes, three
 *    of them tensors quantized with ranges up to six times the input's)
 *    becomes HardSwish (opset >= 14) or x * HardSigmoid(x).
 *
 * Both keep the model's outputs within float rounding. Nodes left out of the
 * pass (--exclude-node, --only-node) are not touched. */
#include "qdq.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_output(const oc_graph *g, const char *name)
{
    for (size_t k = 0; k < g->n_outputs; k++)
        if (!strcmp(g->outputs[k]->name, name)) return true;
    return false;
}

/* The one node of g reading `name`, which is no graph output; else NULL
 * (the consumers of g are g's own nodes). */
static oc_node *sole_reader(oc_graph *g, const char *name)
{
    oc_node *c[2];
    if (is_output(g, name) || oc_graph_consumers(g, name, c, 2) != 1) return NULL;
    return c[0];
}

static bool is_op(const oc_node *n, const char *op)
{
    return n && !strcmp(n->op_type, op) && oc_domain_is_default(n->domain);
}

/* A float constant's elements as a fresh array, or NULL (not a float
 * constant, or out of memory: *nomem tells). */
static float *floats_of(const oc_tensor *t, bool *nomem)
{
    if (!t || t->dtype != OC_DTYPE_FLOAT || !t->data || t->nbytes != (size_t)t->numel * sizeof(float)) return NULL;
    float *v = oc_malloc((size_t)t->numel * sizeof(float) + 1);
    if (!v) *nomem = true;
    else memcpy(v, t->data, (size_t)t->numel * sizeof(float));
    return v;
}

static int64_t int_attr(const oc_node *n, const char *key, int64_t dflt)
{
    for (size_t a = 0; a < n->n_attrs; a++)
        if (!strcmp(n->attrs[a].name, key) && n->attrs[a].has_i) return n->attrs[a].i;
    return dflt;
}

static float float_attr(const oc_node *n, const char *key, float dflt)
{
    for (size_t a = 0; a < n->n_attrs; a++)
        if (!strcmp(n->attrs[a].name, key) && n->attrs[a].has_f) return n->attrs[a].f;
    return dflt;
}

/* Is c, broadcast against an output of rank `rank` with `ch` channels on
 * axis 1, one value (scalar) or one per channel, without raising the rank?
 * Sets *per_channel. */
static bool channel_const(const oc_tensor *c, int rank, int64_t ch, bool *per_channel)
{
    if (!c || c->dtype != OC_DTYPE_FLOAT || c->ndim > rank) return false;
    if (c->numel == 1) {
        *per_channel = false;
        return true;
    }
    for (int k = 0; k < c->ndim; k++) {
        const int axis = rank - c->ndim + k; /* right-aligned */
        if (c->dims[k] != 1 && !(axis == 1 && c->dims[k] == ch)) return false;
    }
    *per_channel = true;
    return c->numel == ch;
}

/* ---- per-channel affine ops into the layer before them ---- */

typedef struct layer {
    oc_node *n;
    bool transpose;
    const oc_tensor *w;
    int64_t ch;    /* output channels */
    int64_t group;
} layer;

/* y = a[c] * x + b[c] for the node reading the layer's output, or false. */
static bool affine_of(oc_graph *g, const layer *L, oc_node *n, double *a, double *b, bool *nomem)
{
    const char *y = L->n->outputs[0];
    const int rank = L->w->ndim;
    for (int64_t c = 0; c < L->ch; c++) a[c] = 1, b[c] = 0;
    if (is_op(n, "BatchNormalization")) {
        if (n->n_inputs < 5 || strcmp(n->inputs[0], y) || int_attr(n, "training_mode", 0) || !int_attr(n, "spatial", 1))
            return false;
        for (size_t k = 1; k < n->n_outputs; k++)
            if (*n->outputs[k]) return false;
        const double eps = float_attr(n, "epsilon", 1e-5f);
        float *v[4] = {NULL};
        bool ok = true;
        for (int k = 0; k < 4 && ok; k++) {
            const oc_tensor *t = oc_graph_weight(g, n->inputs[k + 1]);
            ok = t && t->ndim == 1 && t->numel == L->ch && (v[k] = floats_of(t, nomem));
        }
        for (int64_t c = 0; c < L->ch && ok; c++) {
            a[c] = (double)v[0][c] / sqrt((double)v[3][c] + eps);
            b[c] = (double)v[1][c] - (double)v[2][c] * a[c];
            ok = isfinite(a[c]) && isfinite(b[c]);
        }
        for (int k = 0; k < 4; k++) oc_free(v[k]);
        return ok;
    }
    const bool mul = is_op(n, "Mul"), add = is_op(n, "Add"), sub = is_op(n, "Sub"), div = is_op(n, "Div");
    if (!(mul || add || sub || div) || n->n_inputs != 2 || n->n_outputs != 1) return false;
    const int slot = !strcmp(n->inputs[0], y) ? 0 : 1;
    if (strcmp(n->inputs[slot], y) || !strcmp(n->inputs[1 - slot], y)) return false;
    if ((sub || div) && slot != 0) return false; /* c - y, c / y: not affine in y per channel */
    bool per = false;
    const oc_tensor *ct = oc_graph_weight(g, n->inputs[1 - slot]);
    if (!channel_const(ct, rank, L->ch, &per)) return false;
    float *v = floats_of(ct, nomem);
    if (!v) return false;
    bool ok = true;
    for (int64_t c = 0; c < L->ch && ok; c++) {
        const double k = v[per ? c : 0];
        if (mul) a[c] = k;
        else if (add) b[c] = k;
        else if (sub) b[c] = -k;
        else {
            ok = k != 0;
            a[c] = 1 / k;
        }
        ok = ok && isfinite(a[c]) && isfinite(b[c]);
    }
    oc_free(v);
    return ok;
}

/* Scales output channel c of the layer's weight by a[c] in place. */
static void scale_weight(const layer *L, float *w, const double *a)
{
    const oc_tensor *t = L->w;
    if (!L->transpose) {
        const int64_t per = t->numel / L->ch;
        for (int64_t c = 0; c < L->ch; c++)
            for (int64_t e = 0; e < per; e++) w[c * per + e] = (float)(w[c * per + e] * a[c]);
        return;
    }
    /* ConvTranspose: [C_in, C_out / group, k...]; output channel
     * gi * (C_out / group) + j for rows of group gi */
    const int64_t cin = t->dims[0], cpg = t->dims[1], per = t->numel / (cin * cpg);
    const int64_t rows_pg = cin / L->group;
    for (int64_t r = 0; r < cin; r++)
        for (int64_t j = 0; j < cpg; j++) {
            const double s = a[(r / rows_pg) * cpg + j];
            float *p = w + (r * cpg + j) * per;
            for (int64_t e = 0; e < per; e++) p[e] = (float)(p[e] * s);
        }
}

static bool layer_of(oc_pass_run *r, oc_graph *g, oc_node *n, layer *L)
{
    memset(L, 0, sizeof(*L));
    L->transpose = is_op(n, "ConvTranspose");
    if (!(L->transpose || is_op(n, "Conv")) || n->n_inputs < 2 || n->n_outputs != 1 || !oc_pass_node_selected(r, n))
        return false;
    const oc_tensor *w = oc_graph_weight(g, n->inputs[1]);
    if (!w || w->dtype != OC_DTYPE_FLOAT || !w->data || w->ndim < 3 || w->numel <= 0) return false;
    L->n = n;
    L->w = w;
    L->group = int_attr(n, "group", 1);
    if (L->group < 1) return false;
    if (L->transpose) {
        if (w->dims[0] % L->group) return false;
        L->ch = w->dims[1] * L->group;
    } else {
        L->ch = w->dims[0];
    }
    if (L->ch < 1 || w->numel % L->ch) return false;
    if (n->n_inputs > 2 && *n->inputs[2]) {
        const oc_tensor *b = oc_graph_weight(g, n->inputs[2]);
        if (!b || b->dtype != OC_DTYPE_FLOAT || !b->data || b->ndim != 1 || b->numel != L->ch) return false;
    }
    return true;
}

/* Folds the node after layer L into it; false when there is none to fold. */
static oc_status fold_next(oc_pass_run *r, oc_graph *g, const layer *L, bool *done)
{
    *done = false;
    oc_node *n = sole_reader(g, L->n->outputs[0]);
    if (!n || !oc_pass_node_selected(r, n)) return OC_OK;
    bool nomem = false;
    double *a = oc_malloc((size_t)L->ch * 2 * sizeof(double));
    if (!a) return oc_fail(r->ctx, OC_ERR_NOMEM, "out of memory folding '%s'", n->op_type);
    double *b = a + L->ch;
    float *w = NULL, *bias = NULL;
    if (!affine_of(g, L, n, a, b, &nomem)) goto out;
    w = floats_of(L->w, &nomem);
    bias = oc_calloc((size_t)L->ch + 1, sizeof(float));
    if (!w || !bias) {
        nomem = true;
        goto out;
    }
    if (L->n->n_inputs > 2 && *L->n->inputs[2]) memcpy(bias, oc_graph_weight(g, L->n->inputs[2])->data,
                                                       (size_t)L->ch * sizeof(float));
    scale_weight(L, w, a);
    for (int64_t c = 0; c < L->ch; c++) bias[c] = (float)(bias[c] * a[c] + b[c]);
    char base[600];
    const char *wn, *bname;
    snprintf(base, sizeof(base), "%s_folded", L->n->inputs[1]);
    oc_status st = oc_qdq_new_init(r, g, base, OC_DTYPE_FLOAT, L->w->ndim, L->w->dims, w,
                                   (size_t)L->w->numel * sizeof(float), &wn);
    w = NULL;
    if (st == OC_OK) {
        snprintf(base, sizeof(base), "%s_bias_folded", L->n->name && *L->n->name ? L->n->name : L->n->inputs[1]);
        const int64_t bd[1] = {L->ch};
        st = oc_qdq_new_init(r, g, base, OC_DTYPE_FLOAT, 1, bd, bias, (size_t)L->ch * sizeof(float), &bname);
    }
    bias = NULL;
    if (st != OC_OK) {
        oc_free(a);
        return st;
    }
    const char **ins = oc_model_alloc(r->m, 3 * sizeof(char *));
    if (!ins) {
        oc_free(a);
        return oc_fail(r->ctx, OC_ERR_NOMEM, "out of memory");
    }
    ins[0] = L->n->inputs[0];
    ins[1] = wn;
    ins[2] = bname;
    L->n->inputs = ins;
    L->n->n_inputs = 3;
    L->n->outputs[0] = n->outputs[0];
    oc_graph_remove_node(g, n);
    oc_graph_invalidate(g); /* L's inputs and output were written directly */
    *done = true;
out:
    oc_free(a);
    oc_free(w);
    oc_free(bias);
    if (nomem) return oc_fail(r->ctx, OC_ERR_NOMEM, "out of memory folding '%s' into its layer", n->op_type);
    return OC_OK;
}

/* Initializers nobody reads go, with the graph input entries old exporters
 * add for every initializer; so do dead nodes (Constant nodes of weights
 * replaced by folded copies). */
static void drop_unused(oc_graph *g)
{
    oc_graph_remove_dead(g);
    size_t w = 0;
    for (size_t i = 0; i < g->n_inits; i++) {
        oc_tensor *t = g->inits[i];
        oc_node *c[1];
        bool used = !t->name || oc_graph_consumers(g, t->name, c, 1) > 0 || is_output(g, t->name);
        if (used) {
            g->inits[w++] = t;
            continue;
        }
        size_t iw = 0;
        for (size_t k = 0; k < g->n_inputs; k++)
            if (strcmp(g->inputs[k]->name, t->name)) g->inputs[iw++] = g->inputs[k];
        g->n_inputs = iw;
    }
    g->n_inits = w;
    oc_graph_invalidate(g);
}

oc_status oc_fold_affine(oc_pass_run *r, oc_graph *g, size_t *folded)
{
    *folded = 0;
    /* who reads what, from one map rather than a scan per layer; a fold
     * edits the graph and drops the map, which the next question rebuilds */
    oc_graph_cache_readers(g, true);
    oc_status st = OC_OK;
    for (size_t i = 0; i < g->n_nodes && st == OC_OK; i++) {
        layer L;
        for (bool done = true; done && st == OC_OK && layer_of(r, g, g->nodes[i], &L);) {
            st = fold_next(r, g, &L, &done);
            *folded += done;
            if (done) oc_graph_cache_readers(g, true);
        }
    }
    oc_graph_cache_readers(g, false);
    if (st == OC_OK && *folded) drop_unused(g);
    return st;
}

/* ---- hard-swish ---- */

/* Is `name` a float constant equal to v (to float precision)? */
static bool const_is(oc_graph *g, const char *name, double v)
{
    const oc_tensor *t = oc_graph_weight(g, name);
    if (!t || t->dtype != OC_DTYPE_FLOAT || t->numel != 1 || t->nbytes != sizeof(float)) return false;
    float f;
    memcpy(&f, t->data, sizeof(f));
    return fabs((double)f - v) <= 1e-6 * fabs(v) + 1e-12;
}

/* The input of n other than `x` when n is a binary op of `op` reading x
 * once; else NULL. */
static const char *other_input(const oc_node *n, const char *op, const char *x)
{
    if (!is_op(n, op) || n->n_inputs != 2 || n->n_outputs != 1) return NULL;
    if (!strcmp(n->inputs[0], x) && strcmp(n->inputs[1], x)) return n->inputs[1];
    if (!strcmp(n->inputs[1], x) && strcmp(n->inputs[0], x)) return n->inputs[0];
    return NULL;
}

/* Clip(v, 0, 6), as inputs (opset >= 11) or attributes. */
static bool is_relu6(oc_graph *g, const oc_node *n)
{
    if (!is_op(n, "Clip") || n->n_outputs != 1) return false;
    if (n->n_inputs >= 3)
        return *n->inputs[1] && *n->inputs[2] && const_is(g, n->inputs[1], 0) && const_is(g, n->inputs[2], 6);
    return n->n_inputs == 1 && float_attr(n, "min", -1) == 0.0f && float_attr(n, "max", -1) == 6.0f;
}

/* n scales its input `v` by 1/6: Div(v, 6) or Mul(v, 1/6). */
static bool is_sixth(oc_graph *g, const oc_node *n, const char *v)
{
    const char *k = other_input(n, "Div", v);
    if (k && !strcmp(n->inputs[0], v)) return const_is(g, k, 6);
    k = other_input(n, "Mul", v);
    return k && const_is(g, k, 1.0 / 6);
}

/* Matches hard-swish at the Clip node c; fills the nodes to remove (add,
 * clip, two more) and x and the result's name. */
static bool match_hardswish(oc_pass_run *r, oc_graph *g, oc_node *c, oc_node *rm[4], const char **x,
                            const char **y)
{
    if (!is_relu6(g, c) || !oc_pass_node_selected(r, c)) return false;
    size_t slot;
    oc_node *add = oc_graph_producer(g, c->inputs[0], &slot);
    if (!add || oc_graph_node_index(g, add) == g->n_nodes || !is_op(add, "Add") || add->n_inputs != 2 || !oc_pass_node_selected(r, add))
        return false;
    const int xi = const_is(g, add->inputs[1], 3) ? 0 : const_is(g, add->inputs[0], 3) ? 1 : -1;
    if (xi < 0 || sole_reader(g, add->outputs[0]) != c) return false;
    *x = add->inputs[xi];
    oc_node *n1 = sole_reader(g, c->outputs[0]);
    if (!n1 || !oc_pass_node_selected(r, n1)) return false;
    oc_node *n2 = NULL;
    const char *o = other_input(n1, "Mul", c->outputs[0]);
    if (o && !strcmp(o, *x)) {
        /* x * clip, then / 6 */
        n2 = sole_reader(g, n1->outputs[0]);
        if (!n2 || !is_sixth(g, n2, n1->outputs[0])) return false;
    } else if (is_sixth(g, n1, c->outputs[0])) {
        /* clip / 6, then x * */
        n2 = sole_reader(g, n1->outputs[0]);
        o = n2 ? other_input(n2, "Mul", n1->outputs[0]) : NULL;
        if (!o || strcmp(o, *x)) return false;
    } else {
        return false;
    }
    if (!oc_pass_node_selected(r, n2)) return false;
    rm[0] = add, rm[1] = c, rm[2] = n1, rm[3] = n2;
    *y = n2->outputs[0];
    return true;
}

oc_status oc_fold_hardswish(oc_pass_run *r, oc_graph *g, size_t *rewritten)
{
    *rewritten = 0;
    const bool op14 = oc_model_opset(r->m, "") >= 14;
    for (size_t i = 0; i < g->n_nodes; i++) {
        oc_node *rm[4];
        const char *x, *y;
        if (!match_hardswish(r, g, g->nodes[i], rm, &x, &y)) continue;
        /* the new nodes go where the Add was: x is ready there */
        const size_t at = oc_graph_node_index(g, rm[0]);
        const char *nm = rm[3]->name && *rm[3]->name ? rm[3]->name : y;
        char base[600];
        if (op14) {
            snprintf(base, sizeof(base), "%s_hardswish", nm);
            const char *name = oc_graph_unique_name(g, base);
            if (!name || !oc_graph_add_node(g, at, "HardSwish", "", name, 1, &x, 1, &y))
                return oc_fail(r->ctx, OC_ERR_NOMEM, "out of memory");
        } else {
            snprintf(base, sizeof(base), "%s_hardsigmoid", nm);
            const char *hs_name = oc_graph_unique_name(g, base);
            snprintf(base, sizeof(base), "%s_hardsigmoid_out", nm);
            const char *hs_out = hs_name ? oc_graph_unique_name(g, base) : NULL;
            oc_node *hs = hs_out ? oc_graph_add_node(g, at, "HardSigmoid", "", hs_name, 1, &x, 1, &hs_out) : NULL;
            /* one attribute at a time: adding one may move the others */
            oc_attr *at_ = hs ? oc_node_add_attr(g, hs, "alpha", OC_ATTR_FLOAT) : NULL;
            if (at_) at_->f = 1.0f / 6, at_->has_f = true;
            at_ = at_ ? oc_node_add_attr(g, hs, "beta", OC_ATTR_FLOAT) : NULL;
            if (!at_) return oc_fail(r->ctx, OC_ERR_NOMEM, "out of memory");
            at_->f = 0.5f, at_->has_f = true;
            snprintf(base, sizeof(base), "%s_hardswish", nm);
            const char *mul_name = oc_graph_unique_name(g, base);
            const char *ins[2] = {x, hs_out};
            if (!mul_name || !oc_graph_add_node(g, at + 1, "Mul", "", mul_name, 2, ins, 1, &y))
                return oc_fail(r->ctx, OC_ERR_NOMEM, "out of memory");
        }
        /* the four old nodes go (y now comes from the new ones) */
        for (int k = 0; k < 4; k++) oc_graph_remove_node(g, rm[k]);
        (*rewritten)++;
        i = (size_t)-1; /* indexes shifted: rescan (matches are few) */
    }
    if (*rewritten) drop_unused(g);
    return OC_OK;
}
