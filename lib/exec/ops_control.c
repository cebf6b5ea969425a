/* ops_control.c: If, Loop and Scan, which run subgraphs through the
 * executor (oc_exec_subgraph); names a body takes from enclosing graphs are
 * resolved by the executor's frames. */
#include "exec.h"

#include <stdlib.h>
#include <string.h>

static oc_graph *graph_attr(const oc_node *n, const char *name)
{
    const oc_attr *a = oc_node_attr(n, name);
    return a ? a->g : NULL;
}

static oc_status copy_ten(oc_kctx *k, oc_ten *dst, const oc_ten *src)
{
    return oc_ten_copy_reshape(k, dst, src, src->ndim, src->dims);
}

/* ---- If ---- */

/* Does g, or a body below it, hold a Loop or Scan? */
static bool has_loop(const oc_graph *g, int depth)
{
    if (!g || depth > 100) return depth > 100;
    for (size_t i = 0; i < g->n_nodes; i++) {
        const oc_node *n = g->nodes[i];
        if (!strcmp(n->op_type, "Loop") || !strcmp(n->op_type, "Scan")) return true;
        for (size_t a = 0; a < n->n_attrs; a++) {
            if (has_loop(n->attrs[a].g, depth + 1)) return true;
            for (size_t j = 0; j < n->attrs[a].n_graphs; j++)
                if (has_loop(n->attrs[a].graphs[j], depth + 1)) return true;
        }
    }
    return false;
}

static oc_status if_prepare(oc_kctx *k)
{
    if (!graph_attr(k->node, "then_branch") || !graph_attr(k->node, "else_branch"))
        return oc_kfail(k, OC_ERR_INVALID, "needs then_branch and else_branch graphs");
    return OC_OK;
}

static oc_status if_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    if (n_in < 1 || !in[0] || in[0]->numel < 1) return oc_kfail(k, OC_ERR_INVALID, "needs a condition");
    bool c = oc_ten_get(in[0], 0) != 0.0;
    oc_graph *g = graph_attr(k->node, c ? "then_branch" : "else_branch");
    oc_status st = oc_exec_subgraph(k, g, 0, NULL, n_out, out);
    if (st != OC_OK || !oc_exec_every_branch(k->ex)) return st;
    /* a branch holding a loop is not run on values it was not meant for:
     * its trip count could be anything; its shapes stay unknown */
    oc_graph *og = graph_attr(k->node, c ? "else_branch" : "then_branch");
    if (has_loop(og, 0)) return OC_OK;
    /* a shape probe: the other branch runs too, for the observer only; its
     * outputs go and its failure (values it was not meant for) is dropped,
     * out of memory aside (the session frees out[] on failure) */
    oc_ctx quiet;
    oc_ctx_init(&quiet);
    oc_kctx other = *k;
    other.ctx = &quiet;
    oc_ten *drop = oc_calloc(n_out + 1, sizeof(oc_ten));
    if (!drop) return oc_kfail(k, OC_ERR_NOMEM, "out of memory");
    st = oc_exec_subgraph(&other, og, 0, NULL, n_out, drop);
    if (st == OC_OK)
        for (size_t i = 0; i < n_out; i++) oc_ten_release(&drop[i]);
    oc_free(drop);
    if (st == OC_ERR_NOMEM) return oc_kfail(k, OC_ERR_NOMEM, "%s", quiet.msg);
    return OC_OK;
}

/* ---- stacking per-iteration outputs along a new axis 0 ---- */

typedef struct stack {
    oc_ten *items;
    size_t n, cap;
} stack;

static oc_status stack_push(oc_kctx *k, stack *s, oc_ten *t)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 16;
        oc_ten *ni = oc_realloc(s->items, nc * sizeof(oc_ten));
        if (!ni) return oc_kfail(k, OC_ERR_NOMEM, "out of memory collecting scan outputs");
        s->items = ni;
        s->cap = nc;
    }
    s->items[s->n++] = *t;
    memset(t, 0, sizeof(*t));
    return OC_OK;
}

static void stack_free(stack *s)
{
    for (size_t i = 0; i < s->n; i++) oc_ten_release(&s->items[i]);
    oc_free(s->items);
    memset(s, 0, sizeof(*s));
}

/* Concatenates s's items along a new axis (0, or the last when reverse is
 * asked for order only: `reverse` stacks from the end). */
static oc_status stack_to(oc_kctx *k, stack *s, oc_ten *out, int fallback_dtype, bool reverse)
{
    if (s->n == 0) {
        int64_t d[1] = {0};
        return oc_ten_alloc(k, out, fallback_dtype ? fallback_dtype : OC_DTYPE_FLOAT, 1, d);
    }
    const oc_ten *f = &s->items[0];
    if (f->ndim + 1 > OC_MAX_DIMS) return oc_kfail(k, OC_ERR_UNSUPPORTED, "scan output rank too high");
    int64_t dims[OC_MAX_DIMS];
    dims[0] = (int64_t)s->n;
    for (int i = 0; i < f->ndim; i++) dims[i + 1] = f->dims[i];
    FORWARD_IF_ERROR(oc_ten_alloc(k, out, f->dtype, f->ndim + 1, dims));
    for (size_t i = 0; i < s->n; i++) {
        const oc_ten *t = &s->items[i];
        if (t->dtype != f->dtype || t->numel != f->numel || t->ndim != f->ndim)
            return oc_kfail(k, OC_ERR_INVALID, "scan output changes shape between iterations");
        size_t pos = reverse ? s->n - 1 - i : i;
        if (t->nbytes) memcpy((char *)out->data + pos * f->nbytes, t->data, t->nbytes);
    }
    return OC_OK;
}

static int graph_output_dtype(const oc_graph *g, size_t i)
{
    if (i >= g->n_outputs) return 0;
    const oc_value *v = g->outputs[i];
    return v->has_type && v->type.kind == OC_TYPE_TENSOR ? v->type.elem_type : 0;
}

/* ---- Loop ---- */

static oc_status loop_prepare(oc_kctx *k)
{
    oc_graph *body = graph_attr(k->node, "body");
    if (!body) return oc_kfail(k, OC_ERR_INVALID, "needs a body graph");
    if (body->n_inputs < 2 || body->n_outputs < 1)
        return oc_kfail(k, OC_ERR_INVALID, "body needs (iteration, condition, state...) inputs");
    return OC_OK;
}

static oc_status loop_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    oc_graph *body = graph_attr(k->node, "body");
    size_t n_carried = n_in >= 2 ? n_in - 2 : 0;
    size_t n_body_out = body->n_outputs;
    if (n_body_out < 1 + n_carried) return oc_kfail(k, OC_ERR_INVALID, "body has too few outputs");
    size_t n_scan = n_body_out - 1 - n_carried;
    if (n_out > n_carried + n_scan) return oc_kfail(k, OC_ERR_INVALID, "more outputs than the body gives");
    bool has_max = n_in > 0 && in[0];
    int64_t max_trip = has_max ? oc_ten_get_i64(in[0], 0) : 0;
    bool cond = n_in > 1 && in[1] ? oc_ten_get(in[1], 0) != 0.0 : true;

    oc_status st = OC_OK;
    oc_ten *carried = oc_calloc(n_carried + 1, sizeof(oc_ten));
    oc_ten *bout = oc_calloc(n_body_out + 1, sizeof(oc_ten));
    const oc_ten **bin = oc_calloc(n_carried + 2, sizeof(oc_ten *));
    stack *scans = oc_calloc(n_scan + 1, sizeof(stack));
    oc_ten iter_t = {0}, cond_t = {0};
    if (!carried || !bout || !bin || !scans) {
        st = oc_kfail(k, OC_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < n_carried && st == OC_OK; i++) {
        if (!in[2 + i]) {
            st = oc_kfail(k, OC_ERR_UNSUPPORTED, "an omitted loop-carried input");
            break;
        }
        st = copy_ten(k, &carried[i], in[2 + i]);
    }
    if (st != OC_OK) goto cleanup;
    st = oc_ten_alloc(k, &iter_t, OC_DTYPE_INT64, 0, NULL);
    if (st == OC_OK) st = oc_ten_alloc(k, &cond_t, OC_DTYPE_BOOL, 0, NULL);
    for (int64_t it = 0; st == OC_OK && cond && (!has_max || it < max_trip); it++) {
        memcpy(iter_t.data, &it, 8);
        *(uint8_t *)cond_t.data = 1;
        bin[0] = &iter_t;
        bin[1] = &cond_t;
        for (size_t i = 0; i < n_carried; i++) bin[2 + i] = &carried[i];
        st = oc_exec_subgraph(k, body, n_carried + 2, bin, n_body_out, bout);
        if (st != OC_OK) break;
        cond = bout[0].numel ? oc_ten_get(&bout[0], 0) != 0.0 : false;
        oc_ten_release(&bout[0]);
        for (size_t i = 0; i < n_carried; i++) {
            oc_ten_release(&carried[i]);
            carried[i] = bout[1 + i];
            memset(&bout[1 + i], 0, sizeof(oc_ten));
        }
        for (size_t i = 0; i < n_scan && st == OC_OK; i++) st = stack_push(k, &scans[i], &bout[1 + n_carried + i]);
    }
    if (st != OC_OK) goto cleanup;
    for (size_t i = 0; i < n_out && i < n_carried; i++) {
        out[i] = carried[i];
        memset(&carried[i], 0, sizeof(oc_ten));
    }
    for (size_t i = 0; i + n_carried < n_out && i < n_scan && st == OC_OK; i++)
        st = stack_to(k, &scans[i], &out[n_carried + i], graph_output_dtype(body, 1 + n_carried + i), false);
cleanup:
    if (carried)
        for (size_t i = 0; i < n_carried; i++) oc_ten_release(&carried[i]);
    if (bout)
        for (size_t i = 0; i < n_body_out; i++) oc_ten_release(&bout[i]);
    if (scans)
        for (size_t i = 0; i < n_scan; i++) stack_free(&scans[i]);
    oc_ten_release(&iter_t);
    oc_ten_release(&cond_t);
    oc_free(carried);
    oc_free(bout);
    oc_free(bin);
    oc_free(scans);
    return st;
}

/* ---- Scan (opset 9 and later: no batch axis) ---- */

static oc_status scan_prepare(oc_kctx *k)
{
    oc_graph *body = graph_attr(k->node, "body");
    if (!body) return oc_kfail(k, OC_ERR_INVALID, "needs a body graph");
    if (oc_node_attr(k->node, "num_scan_inputs") == NULL)
        return oc_kfail(k, OC_ERR_INVALID, "needs num_scan_inputs");
    const int64_t *axes;
    int64_t n = oc_attr_ints(k->node, "scan_input_axes", &axes);
    for (int64_t i = 0; i < n; i++)
        if (axes[i] != 0) return oc_kfail(k, OC_ERR_UNSUPPORTED, "scan_input_axes other than 0");
    n = oc_attr_ints(k->node, "scan_output_axes", &axes);
    for (int64_t i = 0; i < n; i++)
        if (axes[i] != 0) return oc_kfail(k, OC_ERR_UNSUPPORTED, "scan_output_axes other than 0");
    return OC_OK;
}

static oc_status scan_run(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out)
{
    oc_graph *body = graph_attr(k->node, "body");
    int64_t m = oc_attr_int(k->node, "num_scan_inputs", 0);
    if (m < 1 || (size_t)m > n_in) return oc_kfail(k, OC_ERR_INVALID, "bad num_scan_inputs");
    size_t n_state = n_in - (size_t)m;
    size_t n_body_out = body->n_outputs;
    if (n_body_out < n_state) return oc_kfail(k, OC_ERR_INVALID, "body has too few outputs");
    size_t n_scan_out = n_body_out - n_state;
    const int64_t *in_dirs = NULL, *out_dirs = NULL;
    int64_t n_in_dirs = oc_attr_ints(k->node, "scan_input_directions", &in_dirs);
    int64_t n_out_dirs = oc_attr_ints(k->node, "scan_output_directions", &out_dirs);
    int64_t len = -1;
    for (int64_t i = 0; i < m; i++) {
        const oc_ten *t = in[n_state + (size_t)i];
        if (!t || t->ndim < 1) return oc_kfail(k, OC_ERR_INVALID, "scan input %lld has no axis 0", (long long)i);
        if (len >= 0 && t->dims[0] != len) return oc_kfail(k, OC_ERR_INVALID, "scan inputs differ in length");
        len = t->dims[0];
    }
    oc_status st = OC_OK;
    oc_ten *state = oc_calloc(n_state + 1, sizeof(oc_ten));
    oc_ten *slices = oc_calloc((size_t)m + 1, sizeof(oc_ten));
    oc_ten *bout = oc_calloc(n_body_out + 1, sizeof(oc_ten));
    const oc_ten **bin = oc_calloc(n_state + (size_t)m + 1, sizeof(oc_ten *));
    stack *scans = oc_calloc(n_scan_out + 1, sizeof(stack));
    if (!state || !slices || !bout || !bin || !scans) {
        st = oc_kfail(k, OC_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < n_state && st == OC_OK; i++) st = copy_ten(k, &state[i], in[i]);
    for (int64_t it = 0; st == OC_OK && it < len; it++) {
        for (int64_t j = 0; j < m; j++) {
            const oc_ten *t = in[n_state + (size_t)j];
            bool rev = j < n_in_dirs && in_dirs[j] == 1;
            int64_t row = rev ? len - 1 - it : it;
            oc_ten *sl = &slices[j];
            memset(sl, 0, sizeof(*sl));
            sl->dtype = t->dtype;
            sl->ndim = t->ndim - 1;
            sl->numel = len ? t->numel / len : 0;
            for (int d = 1; d < t->ndim; d++) sl->dims[d - 1] = t->dims[d];
            sl->nbytes = len ? t->nbytes / (size_t)len : 0;
            sl->data = (char *)t->data + (size_t)row * sl->nbytes;
            sl->borrowed = true;
            bin[n_state + (size_t)j] = sl;
        }
        for (size_t i = 0; i < n_state; i++) bin[i] = &state[i];
        st = oc_exec_subgraph(k, body, n_state + (size_t)m, bin, n_body_out, bout);
        if (st != OC_OK) break;
        for (size_t i = 0; i < n_state; i++) {
            oc_ten_release(&state[i]);
            state[i] = bout[i];
            memset(&bout[i], 0, sizeof(oc_ten));
        }
        for (size_t i = 0; i < n_scan_out && st == OC_OK; i++) st = stack_push(k, &scans[i], &bout[n_state + i]);
    }
    if (st != OC_OK) goto cleanup;
    for (size_t i = 0; i < n_out && i < n_state; i++) {
        out[i] = state[i];
        memset(&state[i], 0, sizeof(oc_ten));
    }
    for (size_t i = 0; i + n_state < n_out && i < n_scan_out && st == OC_OK; i++) {
        bool rev = (int64_t)i < n_out_dirs && out_dirs[i] == 1;
        st = stack_to(k, &scans[i], &out[n_state + i], graph_output_dtype(body, n_state + i), rev);
    }
cleanup:
    if (state)
        for (size_t i = 0; i < n_state; i++) oc_ten_release(&state[i]);
    if (bout)
        for (size_t i = 0; i < n_body_out; i++) oc_ten_release(&bout[i]);
    if (scans)
        for (size_t i = 0; i < n_scan_out; i++) stack_free(&scans[i]);
    oc_free(state);
    oc_free(slices);
    oc_free(bout);
    oc_free(bin);
    oc_free(scans);
    return st;
}

const oc_op_def oc_ops_control[] = {
    {"", "If", 1, if_prepare, if_run},
    {"", "Loop", 1, loop_prepare, loop_run},
    {"", "Scan", 9, scan_prepare, scan_run},
};
const size_t oc_ops_control_count = sizeof(oc_ops_control) / sizeof(oc_ops_control[0]);
