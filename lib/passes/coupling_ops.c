/* coupling_ops.c: the handlers of the channel-coupling analysis, one per
 * kind of op, and the sorted op table that picks them (see coupling.c for
 * the walk that calls them). */
#include "coupling_int.h"

/* ---- handlers ---- */

/* Whether dim `axis` of shape s of `name` (every dim: axis < 0) is known;
 * refuses when not (a symbolic dim of a body's value_info). */
static bool dims_known(cpl *c, const entry *e, const char *name, const shrec *s, int axis)
{
    for (int d = axis < 0 ? 0 : axis; d < (axis < 0 ? s->ndim : axis + 1) && d < s->ndim; d++)
        if (s->dims[d] < 0) {
            cpl_refuse(c, e->space, "shape of '%s' is unknown at axis %d, at node '%s' (%s)", name, d,
                       cpl_nname(e->n), e->n->op_type);
            return false;
        }
    return true;
}

/* Refuses entries through inputs other than the data input. */
static bool data_input(cpl *c, const entry *e)
{
    if (e->out || e->slot == 0) return true;
    cpl_refuse(c, e->space, "channels reach input %zu of node '%s' (%s)", e->slot, cpl_nname(e->n), e->n->op_type);
    return false;
}

/* Input 0 and every output: one space (elementwise unary ops, Dropout's
 * mask, Cast). */
static void h_unary(cpl *c, const entry *e)
{
    if (!data_input(c, e)) return;
    oc_node *n = e->n;
    int64_t s = e->out ? (int64_t)e->space : cpl_out_space(c, e, 0, e->axis);
    if (s < 0) return;
    cpl_bind(c, e, n, n->inputs[0], e->axis, (size_t)s, 0, -1);
    for (size_t k = 0; k < n->n_outputs; k++)
        if (cpl_has_output(n, k)) cpl_bind(c, e, n, n->outputs[k], e->axis, (size_t)s, 0, -1);
}

/* BatchNormalization / InstanceNormalization: per-channel parameters on
 * axis 1 are sliced; any other axis passes through. */
static void h_norm(cpl *c, const entry *e)
{
    oc_node *n = e->n;
    if (!data_input(c, e)) return;
    for (size_t k = 1; k < n->n_outputs; k++)
        if (cpl_has_output(n, k)) {
            cpl_refuse(c, e->space, "%s '%s' computes running statistics (training mode)", n->op_type, cpl_nname(n));
            return;
        }
    if (e->out && e->slot != 0) return;
    h_unary(c, e);
    if (e->axis != 1) return;
    int64_t s = cpl_out_space(c, e, 0, 1);
    if (s < 0) return;
    size_t last = !strcmp(n->op_type, "BatchNormalization") ? 4 : 2;
    for (size_t k = 1; k <= last && k < n->n_inputs; k++) {
        if (!cpl_has_input(n, k)) continue;
        if (!oc_graph_weight(cpl_cur(c), n->inputs[k])) {
            cpl_refuse(c, e->space, "%s '%s' has computed parameters", n->op_type, cpl_nname(n));
            return;
        }
        cpl_add_member(c, e, n, n->inputs[k], 0, (size_t)s, 0, -1, OC_CROLE_PARAM);
    }
}

/* Broadcasting elementwise ops over any number of operands: each operand's
 * axis aligned from the right; size-1 operands broadcast and stay out. */
static void h_eltwise(cpl *c, const entry *e)
{
    oc_node *n = e->n;
    if (e->out && e->slot != 0) {
        cpl_refuse(c, e->space, "channels reach output %zu of node '%s' (%s)", e->slot, cpl_nname(n), n->op_type);
        return;
    }
    const shrec *so = cpl_need_shape(c, e, n->outputs[0]);
    const shrec *si = e->out ? so : cpl_need_shape(c, e, n->inputs[e->slot]);
    if (!so || !si) return;
    int ao = e->out ? e->axis : e->axis + so->ndim - si->ndim;
    int64_t s = cpl_out_space(c, e, 0, ao);
    if (s < 0) return;
    int64_t ch = c->spaces[s].size;
    for (size_t k = 0; k < n->n_inputs; k++) {
        if (!cpl_has_input(n, k)) continue;
        const shrec *sk = cpl_need_shape(c, e, n->inputs[k]);
        if (!sk) return;
        int ak = ao - (so->ndim - sk->ndim);
        if (ak < 0) continue;
        if (sk->dims[ak] == 1 && ch != 1) continue;
        cpl_bind(c, e, n, n->inputs[k], ak, (size_t)s, 0, -1);
    }
}

/* Pooling keeps channels apart; over spatial axes it is not followed. */
static void h_pool(cpl *c, const entry *e)
{
    oc_node *n = e->n;
    if (!data_input(c, e)) return;
    if (e->axis >= 2 || cpl_has_output(n, 1)) {
        cpl_refuse(c, e->space, "op '%s' at node '%s' over axis %d", n->op_type, cpl_nname(n), e->axis);
        return;
    }
    h_unary(c, e);
}

/* Resize / Upsample must leave the axis alone; explicit sizes get the
 * new count. */
static void h_resize(cpl *c, const entry *e)
{
    oc_node *n = e->n;
    if (!data_input(c, e)) return;
    const shrec *si = cpl_need_shape(c, e, n->inputs[0]), *so = cpl_need_shape(c, e, n->outputs[0]);
    if (!si || !so) return;
    if (si->ndim == so->ndim && (!dims_known(c, e, n->inputs[0], si, e->axis) ||
                                 !dims_known(c, e, n->outputs[0], so, e->axis)))
        return;
    if (si->ndim != so->ndim || si->dims[e->axis] != so->dims[e->axis]) {
        cpl_refuse(c, e->space, "%s '%s' resizes the channel axis", n->op_type, cpl_nname(n));
        return;
    }
    bool sizes = !strcmp(n->op_type, "Resize") && cpl_has_input(n, 3);
    if (sizes && !oc_graph_weight(cpl_cur(c), n->inputs[3])) {
        cpl_refuse(c, e->space, "Resize '%s' has computed sizes it cannot follow", cpl_nname(n));
        return;
    }
    if (sizes && oc_node_attr(n, "axes")) {
        cpl_refuse(c, e->space, "Resize '%s' with an axes attribute", cpl_nname(n));
        return;
    }
    h_unary(c, e);
    int64_t s = cpl_out_space(c, e, 0, e->axis);
    oc_cedit *ed = sizes && s >= 0 ? cpl_add_edit(c, OC_CEDIT_RESIZE, n, (size_t)s, e->axis) : NULL;
    if (ed) ed->slot = 3;
}

static void h_pad(cpl *c, const entry *e)
{
    oc_node *n = e->n;
    if (!data_input(c, e)) return;
    const shrec *si = cpl_need_shape(c, e, n->inputs[0]);
    if (!si) return;
    int64_t pads[2 * OC_MAX_DIMS], axes[OC_MAX_DIMS];
    int np = cpl_int_list(c, n, 1, c->priv->opset < 11 ? (oc_node_attr(n, "pads") ? "pads" : "paddings") : NULL, pads,
                      2 * OC_MAX_DIMS);
    int na = cpl_has_input(n, 3) ? cpl_int_list(c, n, 3, NULL, axes, OC_MAX_DIMS) : -1;
    if (np < 0 || na == -2) {
        cpl_refuse(c, e->space, "Pad '%s' has computed pads it cannot follow", cpl_nname(n));
        return;
    }
    int k = -1, cnt = na >= 0 ? na : si->ndim;
    for (int i = 0; i < cnt; i++)
        if ((na >= 0 ? cpl_norm_axis(axes[i], si->ndim) : i) == e->axis) k = i;
    if (np != 2 * cnt || (k >= 0 && (pads[k] != 0 || pads[k + cnt] != 0))) {
        cpl_refuse(c, e->space, "Pad '%s' pads the channel axis", cpl_nname(n));
        return;
    }
    h_unary(c, e);
}

static void h_concat(cpl *c, const entry *e)
{
    oc_node *n = e->n;
    if (e->out && e->slot != 0) return;
    const shrec *so = cpl_need_shape(c, e, n->outputs[0]);
    if (!so) return;
    int ca = cpl_norm_axis(oc_attr_int(n, "axis", 0), so->ndim);
    int64_t s = cpl_out_space(c, e, 0, e->axis);
    if (s < 0 || ca < 0) return;
    int64_t off = 0;
    for (size_t k = 0; k < n->n_inputs; k++) {
        if (!cpl_has_input(n, k)) continue;
        const shrec *sk = cpl_need_shape(c, e, n->inputs[k]);
        if (!sk) return;
        if (sk->ndim != so->ndim) {
            cpl_refuse(c, e->space, "Concat '%s' of inputs of different ranks", cpl_nname(n));
            return;
        }
        if (ca != e->axis) {
            cpl_bind(c, e, n, n->inputs[k], e->axis, (size_t)s, 0, -1);
            continue;
        }
        if (!dims_known(c, e, n->inputs[k], sk, ca)) return;
        int64_t d = sk->dims[ca];
        if (d > 0) cpl_bind(c, e, n, n->inputs[k], ca, (size_t)s, off, d);
        off += d;
    }
}

static void h_split(cpl *c, const entry *e)
{
    oc_node *n = e->n;
    if (!data_input(c, e)) return;
    const shrec *si = cpl_need_shape(c, e, n->inputs[0]);
    if (!si) return;
    int sa = cpl_norm_axis(oc_attr_int(n, "axis", 0), si->ndim);
    if (oc_graph_weight(cpl_cur(c), n->inputs[0])) {
        cpl_refuse(c, e->space, "Split '%s' of a constant", cpl_nname(n));
        return;
    }
    int64_t s = e->out ? cpl_space_get(c, e, n->inputs[0], e->axis) : (int64_t)e->space;
    if (s < 0 || sa < 0) return;
    if (sa != e->axis) {
        for (size_t k = 0; k < n->n_outputs; k++)
            if (cpl_has_output(n, k)) cpl_bind(c, e, n, n->outputs[k], e->axis, (size_t)s, 0, -1);
        return;
    }
    if (cpl_has_input(n, 1) && !oc_graph_weight(cpl_cur(c), n->inputs[1])) {
        cpl_refuse(c, e->space, "Split '%s' has computed sizes it cannot follow", cpl_nname(n));
        return;
    }
    int64_t *sizes = oc_calloc(n->n_outputs + 1, sizeof(int64_t));
    if (!sizes) {
        cpl_fail_nomem(c);
        return;
    }
    int64_t off = 0;
    for (size_t k = 0; k < n->n_outputs; k++) {
        const shrec *sk = cpl_has_output(n, k) ? cpl_need_shape(c, e, n->outputs[k]) : NULL;
        if (!sk) {
            if (cpl_has_output(n, k) || k + 1 < n->n_outputs)
                cpl_refuse(c, e->space, "Split '%s' has an output it cannot size", cpl_nname(n));
            oc_free(sizes);
            return;
        }
        if (!dims_known(c, e, n->outputs[k], sk, sa)) {
            oc_free(sizes);
            return;
        }
        sizes[k] = sk->dims[sa];
        if (sizes[k] > 0) cpl_bind(c, e, n, n->outputs[k], sa, (size_t)s, off, sizes[k]);
        off += sizes[k];
    }
    oc_cedit *ed = cpl_add_edit(c, OC_CEDIT_SPLIT, n, (size_t)s, sa);
    if (ed) {
        ed->sizes = sizes;
        ed->n_sizes = n->n_outputs;
    } else {
        oc_free(sizes);
    }
}

static void h_slice(cpl *c, const entry *e)
{
    oc_node *n = e->n;
    if (!data_input(c, e)) return;
    const shrec *si = cpl_need_shape(c, e, n->inputs[0]), *so = cpl_need_shape(c, e, n->outputs[0]);
    if (!si || !so) return;
    bool attrs = c->priv->opset < 10;
    int64_t st[OC_MAX_DIMS], en[OC_MAX_DIMS], ax[OC_MAX_DIMS], sp[OC_MAX_DIMS];
    int ns = cpl_int_list(c, n, attrs ? SIZE_MAX : 1, "starts", st, OC_MAX_DIMS);
    int ne = cpl_int_list(c, n, attrs ? SIZE_MAX : 2, "ends", en, OC_MAX_DIMS);
    int na = cpl_int_list(c, n, attrs ? SIZE_MAX : 3, "axes", ax, OC_MAX_DIMS);
    int nst = attrs ? -1 : cpl_int_list(c, n, 4, NULL, sp, OC_MAX_DIMS);
    if (na == -2 || nst == -2) {
        cpl_refuse(c, e->space, "Slice '%s' has computed axes it cannot follow", cpl_nname(n));
        return;
    }
    if (na == -1 && ns < 0) {
        cpl_refuse(c, e->space, "Slice '%s' has computed bounds it cannot follow", cpl_nname(n));
        return;
    }
    int cnt = na >= 0 ? na : ns;
    int pos = -1;
    for (int i = 0; i < cnt; i++)
        if ((na >= 0 ? cpl_norm_axis(ax[i], si->ndim) : i) == e->axis) pos = i;
    if (pos < 0) {
        h_unary(c, e);
        return;
    }
    if (ns < 0 || ne < 0 || ns != ne || (nst >= 0 && sp[pos] != 1)) {
        cpl_refuse(c, e->space, "Slice '%s' over the channel axis with computed or stepped bounds", cpl_nname(n));
        return;
    }
    if (!dims_known(c, e, n->inputs[0], si, e->axis) || !dims_known(c, e, n->outputs[0], so, e->axis)) return;
    int64_t dim = si->dims[e->axis];
    int64_t b = st[pos] < 0 ? st[pos] + dim : st[pos], f = en[pos] < 0 ? en[pos] + dim : en[pos];
    b = b < 0 ? 0 : b > dim ? dim : b;
    f = f < b ? b : f > dim ? dim : f;
    if (f - b != so->dims[e->axis]) {
        cpl_refuse(c, e->space, "Slice '%s': its bounds do not give its output size", cpl_nname(n));
        return;
    }
    int64_t s_in = e->out ? cpl_space_get(c, e, n->inputs[0], e->axis) : (int64_t)e->space;
    int64_t s_out = cpl_out_space(c, e, 0, e->axis);
    if (s_in < 0 || s_out < 0) return;
    if (f > b) cpl_link_range(c, e, (size_t)s_in, b, (size_t)s_out, 0, f - b);
    oc_cedit *ed = cpl_add_edit(c, OC_CEDIT_SLICE, n, (size_t)s_in, pos);
    if (ed) {
        ed->start = b;
        ed->len = f - b;
    }
}

static void h_transpose(cpl *c, const entry *e)
{
    oc_node *n = e->n;
    if (!data_input(c, e)) return;
    const shrec *si = cpl_need_shape(c, e, n->inputs[0]);
    if (!si) return;
    int64_t perm[OC_MAX_DIMS];
    int np = cpl_int_list(c, n, SIZE_MAX, "perm", perm, OC_MAX_DIMS);
    if (np < 0)
        for (np = 0; np < si->ndim; np++) perm[np] = si->ndim - 1 - np;
    if (np != si->ndim) return;
    int ai = e->axis, ao = -1;
    if (e->out) ai = (int)perm[e->axis];
    for (int o = 0; o < np; o++)
        if (perm[o] == ai) ao = o;
    int64_t s = cpl_out_space(c, e, 0, ao);
    if (s >= 0) cpl_bind(c, e, n, n->inputs[0], ai, (size_t)s, 0, -1);
}

/* Where entry `index` of input `slot` of n comes from a constant: through
 * Cast, Identity and Concat (the shape vectors exporters assemble), the
 * node reading that constant, its slot and the entry's index there. */
static bool trace_const(cpl *c, oc_node *n, size_t slot, int index, oc_node **cn, size_t *cslot, int *cidx)
{
    for (int depth = 0; depth < 8; depth++) {
        const char *v = n->inputs[slot];
        if (oc_graph_weight(cpl_cur(c), v)) {
            *cn = n;
            *cslot = slot;
            *cidx = index;
            return true;
        }
        size_t ps;
        oc_node *p = oc_graph_producer(cpl_cur(c), v, &ps);
        /* a shape vector read elsewhere too would change there as well */
        oc_graph *g = cpl_cur(c);
        if (!p || !cpl_local_node(g, p) || oc_graph_consumers(g, v, NULL, 0) != 1 || cpl_is_graph_output(g, v))
            return false;
        if ((!strcmp(p->op_type, "Cast") || !strcmp(p->op_type, "Identity")) && cpl_has_input(p, 0)) {
            n = p;
            slot = 0;
            continue;
        }
        if (strcmp(p->op_type, "Concat") || oc_attr_int(p, "axis", 0) != 0) return false;
        int64_t off = 0;
        size_t k = 0;
        for (; k < p->n_inputs; k++) {
            const shrec *sk = cpl_has_input(p, k) ? cpl_shape_of(c, p->inputs[k]) : NULL;
            if (!sk || sk->ndim != 1 || sk->dims[0] < 0) return false;
            if (index < off + sk->dims[0]) break;
            off += sk->dims[0];
        }
        if (k == p->n_inputs) return false;
        n = p;
        slot = k;
        index -= (int)off;
    }
    return false;
}

/* Reshape, Flatten, Squeeze, Unsqueeze: the axes of size > 1 on both
 * sides are cut into blocks of equal products. A block of one input axis
 * and one output axis carries the channels across; input axes merged into
 * one output axis give columns in blocks (channel c = column / inner %
 * C, the Flatten before a Gemm); a channel axis split in several or
 * entered from a merged output is not followed. */
static void h_reshape(cpl *c, const entry *e)
{
    oc_node *n = e->n;
    if (!data_input(c, e)) return;
    const shrec *si = cpl_need_shape(c, e, n->inputs[0]), *so = cpl_need_shape(c, e, n->outputs[0]);
    if (!si || !so || !dims_known(c, e, n->inputs[0], si, -1) || !dims_known(c, e, n->outputs[0], so, -1)) return;
    if (c->spaces[e->space].size < 2) {
        cpl_refuse(c, e->space, "%s '%s' it cannot follow (a single channel)", n->op_type, cpl_nname(n));
        return;
    }
    int ii[OC_MAX_DIMS], oo[OC_MAX_DIMS], ni = 0, no = 0;
    for (int d = 0; d < si->ndim; d++)
        if (si->dims[d] != 1) ii[ni++] = d;
    for (int d = 0; d < so->ndim; d++)
        if (so->dims[d] != 1) oo[no++] = d;
    int bi0 = -1, bi1 = -1, bo0 = -1, bo1 = -1; /* the block holding the channel axis */
    int i = 0, o = 0;
    while (i < ni && o < no && bi0 < 0) {
        int i0 = i, o0 = o;
        int64_t pi = si->dims[ii[i]], po = so->dims[oo[o]];
        while (pi != po) {
            if (pi < po) {
                if (++i >= ni) break;
                pi *= si->dims[ii[i]];
            } else {
                if (++o >= no) break;
                po *= so->dims[oo[o]];
            }
        }
        if (i >= ni || o >= no) break;
        bool here = e->out ? e->axis >= oo[o0] && e->axis <= oo[o] : e->axis >= ii[i0] && e->axis <= ii[i];
        if (here) {
            bi0 = i0;
            bi1 = i;
            bo0 = o0;
            bo1 = o;
        }
        i++;
        o++;
    }
    if (bi0 < 0) {
        cpl_refuse(c, e->space, "%s '%s' it cannot follow (no matching axes)", n->op_type, cpl_nname(n));
        return;
    }
    if (bo0 != bo1) {
        cpl_refuse(c, e->space, "%s '%s' it cannot follow (it splits the channel axis)", n->op_type, cpl_nname(n));
        return;
    }
    if (e->out && bi0 != bi1) {
        cpl_refuse(c, e->space, "%s '%s' it cannot follow (its output merges several axes)", n->op_type, cpl_nname(n));
        return;
    }
    int a = e->out ? ii[bi0] : e->axis, ao = oo[bo0];
    int64_t inner = 1;
    for (int k = bi0; k <= bi1; k++) {
        if (ii[k] != a && (si->dyn >> ii[k]) & 1) {
            cpl_refuse(c, e->space, "%s '%s' it cannot follow (merges the channels with a dynamic axis)", n->op_type,
                   cpl_nname(n));
            return;
        }
        if (ii[k] > a) inner *= si->dims[ii[k]];
    }
    oc_node *cn = n;
    size_t cslot = 1;
    int cidx = ao;
    if (!strcmp(n->op_type, "Reshape")) {
        const shrec *sv = cpl_has_input(n, 1) ? cpl_shape_of(c, n->inputs[1]) : NULL;
        bool cst = cpl_has_input(n, 1) && trace_const(c, n, 1, ao, &cn, &cslot, &cidx);
        if (!sv || sv->n_vals != so->ndim) {
            cpl_refuse(c, e->space, "Reshape '%s' it cannot follow (unknown shape values)", cpl_nname(n));
            return;
        }
        int64_t v = sv->vals[ao];
        bool zero_ok = v == 0 && bi0 == bi1 && a == ao && !oc_attr_int(n, "allowzero", 0);
        if (v == 0 && !zero_ok) {
            cpl_refuse(c, e->space, "Reshape '%s' it cannot follow (copies a dim across axes)", cpl_nname(n));
            return;
        }
        if (v > 0 && !cst) {
            cpl_refuse(c, e->space, "Reshape '%s' it cannot follow (computed shape)", cpl_nname(n));
            return;
        }
    }
    int64_t s_out = cpl_out_space(c, e, 0, ao);
    int64_t s_in = e->out ? cpl_space_get(c, e, n->inputs[0], a) : (int64_t)e->space;
    if (s_out < 0 || s_in < 0) return;
    if (bi0 == bi1) cpl_link_range(c, e, (size_t)s_in, 0, (size_t)s_out, 0, c->spaces[s_in].size);
    else cpl_link_block(c, e, (size_t)s_out, (size_t)s_in, inner);
    const shrec *sv = !strcmp(n->op_type, "Reshape") ? cpl_shape_of(c, n->inputs[1]) : NULL;
    oc_cedit *ed = sv && sv->vals[ao] > 0 ? cpl_add_edit(c, OC_CEDIT_RESHAPE, cn, (size_t)s_out, cidx) : NULL;
    if (ed) ed->slot = cslot;
}

/* Softmax-like ops and LpNormalization: an op over one axis (or, before
 * opset 13, over every axis from `axis` on). */
static void h_axis_op(cpl *c, const entry *e)
{
    oc_node *n = e->n;
    if (!data_input(c, e)) return;
    const shrec *si = cpl_need_shape(c, e, n->inputs[0]);
    if (!si) return;
    bool lp = !strcmp(n->op_type, "LpNormalization");
    bool old = !lp && c->priv->opset < 13;
    int ax = cpl_norm_axis(oc_attr_int(n, "axis", old ? 1 : -1), si->ndim);
    if (ax < 0 || (old ? e->axis >= ax : e->axis == ax)) {
        cpl_refuse(c, e->space, "op '%s' over the channel axis at node '%s'", n->op_type, cpl_nname(n));
        return;
    }
    h_unary(c, e);
}

/* What a refusal adds when norm_approx would have let the op through. */
#define NORM_HINT " (norm=approx prunes through it, approximately)"

/* LayerNormalization normalises every axis from `axis` on. Over the
 * channel axis alone (the last) and with norm_approx, it passes the
 * channels on and its scale and bias are sliced: an approximation, the
 * statistics then cover the kept channels only. */
static void h_layernorm(cpl *c, const entry *e)
{
    oc_node *n = e->n;
    if (!data_input(c, e)) return;
    const shrec *si = cpl_need_shape(c, e, n->inputs[0]);
    if (!si) return;
    int ax = cpl_norm_axis(oc_attr_int(n, "axis", -1), si->ndim);
    bool stats = cpl_has_output(n, 1) || cpl_has_output(n, 2);
    bool alone = ax >= 0 && ax == si->ndim - 1 && e->axis == ax && !stats;
    if (alone && c->priv->norm_approx) {
        int64_t s = cpl_out_space(c, e, 0, ax);
        if (s < 0) return;
        cpl_bind(c, e, n, n->inputs[0], ax, (size_t)s, 0, -1);
        for (size_t k = 1; k <= 2 && k < n->n_inputs; k++) {
            if (!cpl_has_input(n, k)) continue;
            const oc_tensor *t = oc_graph_weight(cpl_cur(c), n->inputs[k]);
            if (!t) {
                cpl_refuse(c, e->space, "%s '%s' has a computed scale or bias", n->op_type, cpl_nname(n));
                return;
            }
            cpl_add_member(c, e, n, n->inputs[k], t->ndim - 1, (size_t)s, 0, -1, OC_CROLE_PARAM);
        }
        cpl_add_approx(c, e);
        return;
    }
    if (ax < 0 || e->axis >= ax || stats) {
        cpl_refuse(c, e->space, "op '%s' over the channel axis at node '%s'%s", n->op_type, cpl_nname(n),
                   alone ? NORM_HINT : "");
        return;
    }
    if (e->out && e->slot != 0) return;
    int64_t s = cpl_out_space(c, e, 0, e->axis);
    if (s >= 0) cpl_bind(c, e, n, n->inputs[0], e->axis, (size_t)s, 0, -1);
}

/* Ops mixing the channels of axis 1 (LRN, GroupNormalization). */
static void h_axis1(cpl *c, const entry *e)
{
    if (e->axis == 1) {
        cpl_refuse(c, e->space, "op '%s' over the channel axis at node '%s'", e->n->op_type, cpl_nname(e->n));
        return;
    }
    if (!strcmp(e->n->op_type, "GroupNormalization")) {
        cpl_refuse(c, e->space, "op '%s' at node '%s'", e->n->op_type, cpl_nname(e->n));
        return;
    }
    h_unary(c, e);
}

static void h_reduce(cpl *c, const entry *e)
{
    oc_node *n = e->n;
    if (!data_input(c, e)) return;
    const shrec *si = cpl_need_shape(c, e, n->inputs[0]);
    if (!si) return;
    int64_t axes[OC_MAX_DIMS];
    int na;
    bool arg = !strcmp(n->op_type, "ArgMax") || !strcmp(n->op_type, "ArgMin");
    if (arg) {
        axes[0] = oc_attr_int(n, "axis", 0);
        na = 1;
    } else {
        na = cpl_int_list(c, n, 1, "axes", axes, OC_MAX_DIMS);
    }
    if (na == -2) {
        cpl_refuse(c, e->space, "op '%s' at node '%s' with computed axes", n->op_type, cpl_nname(n));
        return;
    }
    bool red[OC_MAX_DIMS] = {false};
    if (na <= 0) {
        if (oc_attr_int(n, "noop_with_empty_axes", 0)) {
            h_unary(c, e);
            return;
        }
        for (int d = 0; d < si->ndim; d++) red[d] = true;
    }
    for (int k = 0; k < na; k++) {
        int d = cpl_norm_axis(axes[k], si->ndim);
        if (d >= 0) red[d] = true;
    }
    bool keep = oc_attr_int(n, "keepdims", 1) != 0;
    int a = e->axis;
    if (e->out && !keep) { /* the e->axis-th axis kept */
        int seen = -1;
        for (a = 0; a < si->ndim; a++)
            if (!red[a] && ++seen == e->axis) break;
    }
    if (a >= si->ndim || red[a]) {
        /* a ReduceMean keeping dims over the channel axis alone: the mean
         * (or variance) of a decomposed LayerNorm; with norm_approx a sink
         * whose size-1 output axis carries no channels */
        bool alone = a < si->ndim && keep && !e->out && !strcmp(n->op_type, "ReduceMean");
        for (int d = 0; d < si->ndim && alone; d++) alone = red[d] == (d == a);
        if (alone && c->priv->norm_approx) {
            cpl_add_approx(c, e);
            return;
        }
        cpl_refuse(c, e->space, "op '%s' over the channel axis at node '%s'%s", n->op_type, cpl_nname(n),
                   alone ? NORM_HINT : "");
        return;
    }
    int ao = a;
    if (!keep)
        for (int d = 0; d < a; d++) ao -= red[d];
    int64_t s = cpl_out_space(c, e, 0, ao);
    if (s >= 0) cpl_bind(c, e, n, n->inputs[0], a, (size_t)s, 0, -1);
}

static void h_qdq(cpl *c, const entry *e)
{
    oc_node *n = e->n;
    if (!data_input(c, e)) return;
    const shrec *si = cpl_need_shape(c, e, n->inputs[0]);
    if (!si) return;
    if (oc_attr_int(n, "block_size", 0) > 0) {
        cpl_refuse(c, e->space, "%s '%s' with blocked scales", n->op_type, cpl_nname(n));
        return;
    }
    const oc_tensor *sc = cpl_has_input(n, 1) ? oc_graph_weight(cpl_cur(c), n->inputs[1]) : NULL;
    if (!sc) {
        cpl_refuse(c, e->space, "%s '%s' with a computed scale", n->op_type, cpl_nname(n));
        return;
    }
    h_unary(c, e);
    int qa = cpl_norm_axis(oc_attr_int(n, "axis", 1), si->ndim);
    if (sc->numel <= 1 || qa != e->axis) return;
    int64_t s = cpl_out_space(c, e, 0, e->axis);
    if (s < 0) return;
    cpl_add_member(c, e, n, n->inputs[1], 0, (size_t)s, 0, -1, OC_CROLE_PARAM);
    if (cpl_has_input(n, 2)) cpl_add_member(c, e, n, n->inputs[2], 0, (size_t)s, 0, -1, OC_CROLE_PARAM);
}

/* Whether every reader of shape vector `v` (entries [0, len), the channel
 * dim at `pos`) leaves that entry alone: Gather or Slice of other constant
 * positions, through Cast and Identity. Names the reader that does not. */
static const oc_node *shape_reader(cpl *c, const char *v, int64_t pos, int64_t len, int depth)
{
    oc_node *cons[64];
    size_t nc = oc_graph_consumers(cpl_cur(c), v, cons, 64);
    if (nc > 64 || depth > 4) return nc ? cons[0] : NULL;
    for (size_t i = 0; i < nc; i++) {
        oc_node *u = cons[i];
        int64_t vals[SHAPE_VALS];
        bool ok = false;
        if ((!strcmp(u->op_type, "Cast") || !strcmp(u->op_type, "Identity")) && !strcmp(u->inputs[0], v)) {
            const oc_node *bad = shape_reader(c, u->outputs[0], pos, len, depth + 1);
            if (bad) return bad;
            ok = true;
        } else if (!strcmp(u->op_type, "Gather") && !strcmp(u->inputs[0], v) && oc_attr_int(u, "axis", 0) == 0) {
            int k = cpl_int_list(c, u, 1, NULL, vals, SHAPE_VALS);
            ok = k >= 0;
            for (int j = 0; j < k; j++) ok &= (vals[j] < 0 ? vals[j] + len : vals[j]) != pos;
        } else if (!strcmp(u->op_type, "Slice") && !strcmp(u->inputs[0], v)) {
            int64_t s0[1], e0[1], st[1];
            bool attrs = c->priv->opset < 10;
            int k1 = cpl_int_list(c, u, attrs ? SIZE_MAX : 1, "starts", s0, 1);
            int k2 = cpl_int_list(c, u, attrs ? SIZE_MAX : 2, "ends", e0, 1);
            int k4 = !attrs && cpl_has_input(u, 4) ? cpl_int_list(c, u, 4, NULL, st, 1) : -1;
            if (k1 == 1 && k2 == 1 && (k4 < 0 || (k4 == 1 && st[0] == 1))) {
                int64_t lo = s0[0] < 0 ? s0[0] + len : s0[0], hi = e0[0] < 0 ? e0[0] + len : e0[0];
                ok = pos < lo || pos >= hi;
            }
        }
        if (!ok) return u;
    }
    return NULL;
}

/* Shape of a channel tensor: fine while only other dims are read. */
static void h_shape(cpl *c, const entry *e)
{
    oc_node *n = e->n;
    if (e->out) {
        cpl_refuse(c, e->space, "channels reach the output of Shape '%s'", cpl_nname(n));
        return;
    }
    const shrec *si = cpl_need_shape(c, e, n->inputs[0]);
    if (!si) return;
    int r = si->ndim;
    int64_t b = oc_attr_int(n, "start", 0), f = oc_attr_int(n, "end", r);
    b = b < 0 ? b + r : b;
    f = f < 0 ? f + r : f;
    b = b < 0 ? 0 : b > r ? r : b;
    f = f < b ? b : f > r ? r : f;
    if (e->axis < b || e->axis >= f) return;
    const oc_node *bad = shape_reader(c, n->outputs[0], e->axis - b, f - b, 0);
    if (bad)
        cpl_refuse(c, e->space, "shape computation at node '%s' (%s) reading Shape '%s' it cannot follow", cpl_nname(bad),
               bad->op_type, cpl_nname(n));
}

static void h_gather(cpl *c, const entry *e)
{
    oc_node *n = e->n;
    if (!data_input(c, e)) return;
    const shrec *si = cpl_need_shape(c, e, n->inputs[0]), *sx = cpl_need_shape(c, e, n->inputs[1]);
    if (!si || !sx) return;
    int ga = cpl_norm_axis(oc_attr_int(n, "axis", 0), si->ndim);
    int a = e->axis;
    if (e->out) a = e->axis < ga ? e->axis : e->axis >= ga + sx->ndim ? e->axis - sx->ndim + 1 : -1;
    if (a < 0 || a == ga || ga < 0) {
        cpl_refuse(c, e->space, "Gather '%s' over the channel axis", cpl_nname(n));
        return;
    }
    int ao = a < ga ? a : a + sx->ndim - 1;
    int64_t s = cpl_out_space(c, e, 0, ao);
    if (s >= 0) cpl_bind(c, e, n, n->inputs[0], a, (size_t)s, 0, -1);
}

/* Conv: W [Cout, Cin/g, k...]. A plain or grouped conv starts a space at
 * its output and ends one at its input (grouped: the same positions go
 * from every group). A depthwise conv (Cin/g == 1) carries its input
 * channels to its outputs: one space, `group` follows the kept count. */
static void h_conv(cpl *c, const entry *e)
{
    oc_node *n = e->n;
    if (!data_input(c, e)) return;
    const oc_tensor *w = cpl_has_input(n, 1) ? oc_graph_weight(cpl_cur(c), n->inputs[1]) : NULL;
    if (!w || w->ndim < 3) {
        cpl_refuse(c, e->space, "%s '%s' has a computed weight", n->op_type, cpl_nname(n));
        return;
    }
    if (e->axis != 1 || (e->out && e->slot != 0)) {
        cpl_refuse(c, e->space, "%s '%s' over axis %d", n->op_type, cpl_nname(n), e->axis);
        return;
    }
    if (!cpl_selected(c, e)) return;
    bool tr = !strcmp(n->op_type, "ConvTranspose");
    int64_t g = oc_attr_int(n, "group", 1);
    int64_t cin = tr ? w->dims[0] : w->dims[1] * g, cout = tr ? w->dims[1] * g : w->dims[0];
    if (g < 1 || cin % g || cout % g) {
        cpl_refuse(c, e->space, "%s '%s' has odd groups", n->op_type, cpl_nname(n));
        return;
    }
    int64_t ipg = cin / g, opg = cout / g;
    const char *wn = n->inputs[1];
    const char *bn = cpl_has_input(n, 2) ? n->inputs[2] : "";
    int out_ax = tr ? 1 : 0, in_ax = tr ? 0 : 1;
    if ((g > 1 && ipg == 1) || e->out) {
        if (!cpl_source_ok(c, e)) return;
    }
    if (g > 1 && ipg == 1) {
        int64_t si = e->out ? cpl_space_get(c, e, n->inputs[0], 1) : (int64_t)e->space;
        int64_t so = cpl_out_space(c, e, 0, 1);
        if (si < 0 || so < 0) return;
        if (c->spaces[si].size != cin || c->spaces[so].size != cout) {
            cpl_refuse(c, e->space, "%s '%s': channel counts do not match its weight", n->op_type, cpl_nname(n));
            return;
        }
        cpl_link_block(c, e, (size_t)so, (size_t)si, opg);
        if (tr) {
            cpl_add_member(c, e, n, wn, 0, (size_t)si, 0, -1, OC_CROLE_SOURCE);
            cpl_add_source(c, n, wn, 0, (size_t)si, 0, cin);
        } else {
            cpl_add_member(c, e, n, wn, 0, (size_t)so, 0, -1, OC_CROLE_SOURCE);
            cpl_add_source(c, n, wn, 0, (size_t)so, 0, cout);
        }
        if (*bn) cpl_bind(c, e, n, bn, 0, (size_t)so, 0, -1);
        cpl_add_edit(c, OC_CEDIT_GROUP, n, (size_t)si, 0);
        return;
    }
    if (e->out) {
        if (c->spaces[e->space].size != cout) {
            cpl_refuse(c, e->space, "%s '%s': channel counts do not match its weight", n->op_type, cpl_nname(n));
            return;
        }
        cpl_add_member(c, e, n, wn, out_ax, e->space, 0, w->dims[out_ax], OC_CROLE_SOURCE);
        cpl_add_source(c, n, wn, out_ax, e->space, 0, w->dims[out_ax]);
        if (*bn) cpl_bind(c, e, n, bn, 0, e->space, 0, -1);
        if (g > 1) cpl_tie_groups(c, e, e->space, g, opg);
        return;
    }
    if (c->spaces[e->space].size != cin) {
        cpl_refuse(c, e->space, "%s '%s': channel counts do not match its weight", n->op_type, cpl_nname(n));
        return;
    }
    cpl_add_member(c, e, n, wn, in_ax, e->space, 0, w->dims[in_ax], OC_CROLE_CONSUMER);
    if (g > 1) cpl_tie_groups(c, e, e->space, g, ipg);
}

static void h_gemm(cpl *c, const entry *e)
{
    oc_node *n = e->n;
    const oc_tensor *w = cpl_has_input(n, 1) ? oc_graph_weight(cpl_cur(c), n->inputs[1]) : NULL;
    if (!w || w->ndim != 2 || oc_attr_int(n, "transA", 0)) {
        cpl_refuse(c, e->space, "Gemm '%s' %s", cpl_nname(n), w ? "with transA=1" : "has a computed weight");
        return;
    }
    if (!e->out && e->slot == 1) return; /* cannot happen: w is constant */
    if (!cpl_selected(c, e)) return;
    bool tb = oc_attr_int(n, "transB", 0) != 0;
    int out_ax = tb ? 0 : 1, in_ax = tb ? 1 : 0;
    if (!e->out && e->slot == 0) {
        if (e->axis != 1) {
            cpl_refuse(c, e->space, "Gemm '%s' over its row axis", cpl_nname(n));
            return;
        }
        cpl_add_member(c, e, n, n->inputs[1], in_ax, e->space, 0, -1, OC_CROLE_CONSUMER);
        return;
    }
    /* the output, or a computed bias C on it */
    if (!cpl_source_ok(c, e)) return;
    const shrec *so = cpl_need_shape(c, e, n->outputs[0]);
    if (!so || so->ndim != 2) return;
    int64_t s = e->out ? (e->axis == 1 ? (int64_t)e->space : -1) : cpl_space_get(c, e, n->outputs[0], 1);
    if (s < 0) {
        cpl_refuse(c, e->space, "Gemm '%s' over its row axis", cpl_nname(n));
        return;
    }
    if (!e->out) { /* entered through C: which axis of C is the column one */
        const shrec *sc = cpl_need_shape(c, e, n->inputs[2]);
        if (!sc || e->axis != sc->ndim - 1) {
            cpl_refuse(c, e->space, "Gemm '%s' bias over its row axis", cpl_nname(n));
            return;
        }
    }
    cpl_add_member(c, e, n, n->inputs[1], out_ax, (size_t)s, 0, -1, OC_CROLE_SOURCE);
    cpl_add_source(c, n, n->inputs[1], out_ax, (size_t)s, 0, w->dims[out_ax]);
    if (cpl_has_input(n, 2)) {
        const shrec *sc = cpl_need_shape(c, e, n->inputs[2]);
        if (!sc) return;
        if (sc->ndim >= 1 && !(sc->dims[sc->ndim - 1] == 1 && c->spaces[s].size != 1))
            cpl_bind(c, e, n, n->inputs[2], sc->ndim - 1, (size_t)s, 0, -1);
    }
}

static void h_matmul(cpl *c, const entry *e)
{
    oc_node *n = e->n;
    const oc_tensor *w = oc_graph_weight(cpl_cur(c), n->inputs[1]);
    if (!w || w->ndim < 2) {
        cpl_refuse(c, e->space, "MatMul '%s' multiplies computed tensors", cpl_nname(n));
        return;
    }
    if (!cpl_selected(c, e)) return;
    if (!e->out) {
        const shrec *sa = cpl_need_shape(c, e, n->inputs[0]);
        if (!sa) return;
        if (e->axis != sa->ndim - 1) {
            cpl_refuse(c, e->space, "MatMul '%s' over a row axis", cpl_nname(n));
            return;
        }
        cpl_add_member(c, e, n, n->inputs[1], w->ndim - 2, e->space, 0, -1, OC_CROLE_CONSUMER);
        return;
    }
    if (!cpl_source_ok(c, e)) return;
    const shrec *so = cpl_need_shape(c, e, n->outputs[0]);
    if (!so) return;
    if (e->axis != so->ndim - 1) {
        cpl_refuse(c, e->space, "MatMul '%s' over a row axis", cpl_nname(n));
        return;
    }
    cpl_add_member(c, e, n, n->inputs[1], w->ndim - 1, e->space, 0, -1, OC_CROLE_SOURCE);
    cpl_add_source(c, n, n->inputs[1], w->ndim - 1, e->space, 0, w->dims[w->ndim - 1]);
}

/* ---- the op table ---- */

typedef enum hkind {
    HK_UNARY,
    HK_NORM,
    HK_ELTWISE,
    HK_POOL,
    HK_RESIZE,
    HK_PAD,
    HK_CONCAT,
    HK_SPLIT,
    HK_SLICE,
    HK_TRANSPOSE,
    HK_RESHAPE,
    HK_AXIS_OP,
    HK_LAYERNORM,
    HK_AXIS1,
    HK_REDUCE,
    HK_QDQ,
    HK_SHAPE,
    HK_GATHER,
    HK_CONV,
    HK_GEMM,
    HK_MATMUL,
    HK_COUNT
} hkind;

static const handler_fn handlers[] = {
    [HK_UNARY] = h_unary,         [HK_NORM] = h_norm,         [HK_ELTWISE] = h_eltwise,
    [HK_POOL] = h_pool,           [HK_RESIZE] = h_resize,     [HK_PAD] = h_pad,
    [HK_CONCAT] = h_concat,       [HK_SPLIT] = h_split,       [HK_SLICE] = h_slice,
    [HK_TRANSPOSE] = h_transpose, [HK_RESHAPE] = h_reshape,   [HK_AXIS_OP] = h_axis_op,
    [HK_LAYERNORM] = h_layernorm, [HK_AXIS1] = h_axis1,       [HK_REDUCE] = h_reduce,
    [HK_QDQ] = h_qdq,             [HK_SHAPE] = h_shape,       [HK_GATHER] = h_gather,
    [HK_CONV] = h_conv,           [HK_GEMM] = h_gemm,         [HK_MATMUL] = h_matmul,
};
_Static_assert(sizeof(handlers) / sizeof(handlers[0]) == HK_COUNT, "one handler per kind");

typedef struct op_row {
    const char *op;
    hkind kind;
} op_row;

/* Sorted by op type (checked once at first use). */
static const op_row op_table[] = {
    {"Abs", HK_UNARY},
    {"Add", HK_ELTWISE},
    {"And", HK_ELTWISE},
    {"ArgMax", HK_REDUCE},
    {"ArgMin", HK_REDUCE},
    {"AveragePool", HK_POOL},
    {"BatchNormalization", HK_NORM},
    {"Cast", HK_UNARY},
    {"CastLike", HK_UNARY},
    {"Ceil", HK_UNARY},
    {"Celu", HK_UNARY},
    {"Clip", HK_UNARY},
    {"Concat", HK_CONCAT},
    {"Conv", HK_CONV},
    {"ConvTranspose", HK_CONV},
    {"Cos", HK_UNARY},
    {"DequantizeLinear", HK_QDQ},
    {"Div", HK_ELTWISE},
    {"Dropout", HK_UNARY},
    {"Elu", HK_UNARY},
    {"Equal", HK_ELTWISE},
    {"Erf", HK_UNARY},
    {"Exp", HK_UNARY},
    {"Flatten", HK_RESHAPE},
    {"Floor", HK_UNARY},
    {"Gather", HK_GATHER},
    {"Gelu", HK_UNARY},
    {"Gemm", HK_GEMM},
    {"GlobalAveragePool", HK_POOL},
    {"GlobalLpPool", HK_POOL},
    {"GlobalMaxPool", HK_POOL},
    {"Greater", HK_ELTWISE},
    {"GreaterOrEqual", HK_ELTWISE},
    {"GroupNormalization", HK_AXIS1},
    {"HardSigmoid", HK_UNARY},
    {"HardSwish", HK_UNARY},
    {"Hardmax", HK_AXIS_OP},
    {"Identity", HK_UNARY},
    {"InstanceNormalization", HK_NORM},
    {"IsInf", HK_UNARY},
    {"IsNaN", HK_UNARY},
    {"LRN", HK_AXIS1},
    {"LayerNormalization", HK_LAYERNORM},
    {"LeakyRelu", HK_UNARY},
    {"Less", HK_ELTWISE},
    {"LessOrEqual", HK_ELTWISE},
    {"Log", HK_UNARY},
    {"LogSoftmax", HK_AXIS_OP},
    {"LpNormalization", HK_AXIS_OP},
    {"LpPool", HK_POOL},
    {"MatMul", HK_MATMUL},
    {"Max", HK_ELTWISE},
    {"MaxPool", HK_POOL},
    {"Mean", HK_ELTWISE},
    {"Min", HK_ELTWISE},
    {"Mish", HK_UNARY},
    {"Mod", HK_ELTWISE},
    {"Mul", HK_ELTWISE},
    {"Neg", HK_UNARY},
    {"Not", HK_UNARY},
    {"Or", HK_ELTWISE},
    {"PRelu", HK_ELTWISE},
    {"Pad", HK_PAD},
    {"Pow", HK_ELTWISE},
    {"QuantizeLinear", HK_QDQ},
    {"Reciprocal", HK_UNARY},
    {"ReduceL1", HK_REDUCE},
    {"ReduceL2", HK_REDUCE},
    {"ReduceLogSum", HK_REDUCE},
    {"ReduceLogSumExp", HK_REDUCE},
    {"ReduceMax", HK_REDUCE},
    {"ReduceMean", HK_REDUCE},
    {"ReduceMin", HK_REDUCE},
    {"ReduceProd", HK_REDUCE},
    {"ReduceSum", HK_REDUCE},
    {"ReduceSumSquare", HK_REDUCE},
    {"Relu", HK_UNARY},
    {"Reshape", HK_RESHAPE},
    {"Resize", HK_RESIZE},
    {"Round", HK_UNARY},
    {"Selu", HK_UNARY},
    {"Shape", HK_SHAPE},
    {"Shrink", HK_UNARY},
    {"Sigmoid", HK_UNARY},
    {"Sign", HK_UNARY},
    {"Sin", HK_UNARY},
    {"Slice", HK_SLICE},
    {"Softmax", HK_AXIS_OP},
    {"Softplus", HK_UNARY},
    {"Softsign", HK_UNARY},
    {"Split", HK_SPLIT},
    {"Sqrt", HK_UNARY},
    {"Squeeze", HK_RESHAPE},
    {"Sub", HK_ELTWISE},
    {"Sum", HK_ELTWISE},
    {"Tan", HK_UNARY},
    {"Tanh", HK_UNARY},
    {"ThresholdedRelu", HK_UNARY},
    {"Transpose", HK_TRANSPOSE},
    {"Unsqueeze", HK_RESHAPE},
    {"Upsample", HK_RESIZE},
    {"Where", HK_ELTWISE},
    {"Xor", HK_ELTWISE},
};

static int cmp_row(const void *k, const void *row)
{
    return strcmp((const char *)k, ((const op_row *)row)->op);
}

static const op_row *find_op(const char *op)
{
    return bsearch(op, op_table, sizeof(op_table) / sizeof(op_table[0]), sizeof(op_row), cmp_row);
}


/* Runs the handler of e->n's op; false when the op has no row. */
bool cpl_dispatch(cpl *c, const entry *e)
{
    const op_row *row = find_op(e->n->op_type);
    if (!row) return false;
    handlers[row->kind](c, e);
    return true;
}

bool cpl_table_sorted(void)
{
    for (size_t i = 1; i < sizeof(op_table) / sizeof(op_table[0]); i++)
        if (strcmp(op_table[i - 1].op, op_table[i].op) >= 0) return false;
    return true;
}
