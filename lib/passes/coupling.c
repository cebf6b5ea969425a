/* coupling.c: the channel-coupling analysis behind structured pruning (see
 * coupling.h).
 *
 * Exploration starts at the output channel axis of every Conv,
 * ConvTranspose, Gemm and MatMul with a constant weight, in the main graph
 * and in every body, and walks the space's own graph both ways: from a
 * space to the node producing its value and to every node reading it.
 * Each node is handled by the row of `op_table` for its op type,
 * which, given the axis the space sits on, names the spaces of the node's
 * other inputs and outputs that carry the same channels (with an offset
 * into a Concat, a block of columns after a Flatten), the constants to
 * slice, the attributes to rewrite, or a refusal. A handler never has to
 * know from which side it was entered: it works out every tie of the node
 * for that axis, and ties are idempotent. Unknown ops refuse: an op is
 * never assumed to be elementwise. */
#include "coupling_int.h"

/* A node's name for messages: its output's when it has none. */
const char *cpl_nname(const oc_node *n)
{
    if (n->name && *n->name) return n->name;
    return n->n_outputs ? n->outputs[0] : "";
}

bool cpl_fail_nomem(cpl *c)
{
    if (c->priv->st == OC_OK) c->priv->st = oc_fail(c->priv->r->ctx, OC_ERR_NOMEM, "out of memory analysing channels");
    return false;
}

/* Grows *arr (elements of `elem` bytes) to hold `need`. */
bool cpl_grow(cpl *c, void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return true;
    size_t nc = *cap ? *cap : 16;
    while (nc < need) nc *= 2;
    void *na = oc_realloc(*arr, nc * elem);
    if (!na) return cpl_fail_nomem(c);
    *arr = na;
    *cap = nc;
    return true;
}

static const char *keep_str(cpl *c, const char *s)
{
    priv *p = c->priv;
    size_t len = strlen(s);
    char *d = oc_malloc(len + 1);
    if (!d || !cpl_grow(c, (void **)&p->strs, &p->cap_strs, p->n_strs + 1, sizeof(char *))) {
        oc_free(d);
        cpl_fail_nomem(c);
        return NULL;
    }
    memcpy(d, s, len + 1);
    p->strs[p->n_strs++] = d;
    return d;
}

/* A new blank record (records never move). */
static shrec *rec_new(cpl *c)
{
    priv *p = c->priv;
    size_t b = p->n_recs / REC_BLOCK;
    if (p->n_recs % REC_BLOCK == 0) {
        if (!cpl_grow(c, (void **)&p->blocks, &p->cap_blocks, b + 1, sizeof(shrec *))) return NULL;
        p->blocks[b] = oc_malloc(REC_BLOCK * sizeof(shrec));
        if (!p->blocks[b]) {
            cpl_fail_nomem(c);
            return NULL;
        }
    }
    shrec *s = &p->blocks[b][p->n_recs % REC_BLOCK];
    p->n_recs++;
    memset(s, 0, sizeof(*s));
    s->n_vals = -1;
    return s;
}

/* The record of `name`, a name that means one value model-wide. */
static shrec *rec_get(cpl *c, const char *name, bool create)
{
    priv *p = c->priv;
    oc_strmap_entry *e = oc_strmap_get(&p->shape_map, name);
    if (e) return &p->blocks[(e->aux - 1) / REC_BLOCK][(e->aux - 1) % REC_BLOCK];
    if (!create) return NULL;
    bool added;
    e = oc_strmap_put(&p->shape_map, name, &added);
    shrec *s = e ? rec_new(c) : NULL;
    if (!e) cpl_fail_nomem(c);
    if (!s) return NULL;
    e->aux = (uint32_t)p->n_recs;
    return s;
}

static void observe(void *ud, const char *name, const oc_ten *t)
{
    cpl *c = ud;
    priv *p = c->priv;
    if (p->st != OC_OK || !name || !*name) return;
    shrec *s = rec_get(c, name, p->probe != 1);
    if (!s) return;
    /* filling in bodies after a --data sample: what the sample saw stands */
    if (p->probe == 2 && (s->seen & 1) && s->run == p->data_run) return;
    if (p->probe != 1 && (s->seen & 1) && s->run == p->run) {
        /* again in the same run: a loop body's value, per iteration */
        if (t->ndim != s->ndim) s->dyn = ~0u;
        for (int d = 0; d < t->ndim && d < s->ndim; d++)
            if (t->dims[d] != s->dims[d]) s->dyn |= 1u << d;
        bool ints = t->dtype == OC_DTYPE_INT64 || t->dtype == OC_DTYPE_INT32;
        if (s->n_vals >= 0 && (!ints || !t->data || t->numel != s->n_vals)) s->n_vals = -1;
        for (int64_t i = 0; s->n_vals > 0 && i < t->numel; i++) {
            int64_t v = t->dtype == OC_DTYPE_INT64 ? ((const int64_t *)t->data)[i] : ((const int32_t *)t->data)[i];
            if (v != s->vals[i]) s->n_vals = -1;
        }
        return;
    }
    if (p->probe != 1) {
        s->seen |= 1;
        s->run = p->run;
        s->ndim = t->ndim;
        memcpy(s->dims, t->dims, (size_t)t->ndim * sizeof(int64_t));
        bool ints = t->dtype == OC_DTYPE_INT64 || t->dtype == OC_DTYPE_INT32;
        if (ints && t->numel <= SHAPE_VALS && t->data) {
            s->n_vals = (int)t->numel;
            for (int64_t i = 0; i < t->numel; i++)
                s->vals[i] = t->dtype == OC_DTYPE_INT64 ? ((const int64_t *)t->data)[i] : ((const int32_t *)t->data)[i];
        }
        return;
    }
    s->seen |= 2;
    if (t->ndim != s->ndim) {
        s->dyn = ~0u;
        return;
    }
    for (int d = 0; d < t->ndim; d++)
        if (t->dims[d] != s->dims[d]) s->dyn |= 1u << d;
}

static bool has_symbolic_input(oc_session *s)
{
    for (size_t i = 0; i < oc_session_n_inputs(s); i++) {
        const oc_value *v = oc_session_input(s, i);
        if (!v->has_type || !v->type.has_shape) continue;
        for (int d = 0; d < v->type.ndim; d++)
            if (!oc_probe_dim_fixed(v, d) && !oc_probe_dim_batch(s, v, d)) return true;
    }
    return false;
}

/* One run on generated inputs; the observer sees the inputs too. */
static oc_status probe_run(cpl *c, oc_ctx *ctx, oc_session *s, int64_t fill)
{
    size_t ni = oc_session_n_inputs(s), no = oc_session_n_outputs(s);
    oc_ten *ins = oc_calloc(ni + 1, sizeof(oc_ten)), *outs = oc_calloc(no + 1, sizeof(oc_ten));
    oc_status st = ins && outs ? OC_OK : oc_fail(ctx, OC_ERR_NOMEM, "out of memory");
    c->priv->run++;
    if (st == OC_OK) st = oc_probe_inputs(ctx, s, fill, ins);
    if (st == OC_OK) {
        for (size_t i = 0; i < ni; i++) observe(c, oc_session_input(s, i)->name, &ins[i]);
        st = oc_session_run(ctx, s, ins, outs);
        for (size_t i = 0; i < ni; i++) oc_ten_release(&ins[i]);
        if (st == OC_OK)
            for (size_t i = 0; i < no; i++) oc_ten_release(&outs[i]);
    }
    oc_free(ins);
    oc_free(outs);
    return st;
}

static bool fill_differs(cpl *c, oc_session *s, int64_t fill)
{
    /* the second run must change every symbolic dim the first one used */
    for (size_t i = 0; i < oc_session_n_inputs(s); i++) {
        const oc_value *v = oc_session_input(s, i);
        const shrec *rc = rec_get(c, v->name, false);
        if (!rc || !v->has_type || !v->type.has_shape || rc->ndim != v->type.ndim) continue;
        for (int d = 0; d < v->type.ndim; d++)
            if (!oc_probe_dim_fixed(v, d) && !oc_probe_dim_batch(s, v, d) && rc->dims[d] == fill) return false;
    }
    return true;
}

/* Fills the shape records: a first run (the first --data sample, else
 * generated inputs with growing sizes for symbolic dims until one runs),
 * then, when inputs have symbolic dims, a second run with other sizes
 * marking the dims that follow them. Generated runs take both branches of
 * every If (oc_session_set_every_branch), so bodies a zero input does not
 * select still get shapes; a --data sample takes its own branches only, so
 * after one a generated run fills in the values it did not reach. */
static oc_status probe_shapes(cpl *c)
{
    static const int64_t fills[] = {1, 32, 64, 224, 1024, 16000};
    const size_t n_fills = sizeof(fills) / sizeof(fills[0]);
    priv *p = c->priv;
    oc_pass_run *r = p->r;
    oc_ctx local;
    oc_ctx_init(&local);
    oc_session *s = NULL;
    oc_run_opts ro = {.threads = r->popts->threads};
    if (oc_session_new(&local, c->m, &ro, &s) != OC_OK) { /* value_info only */
        snprintf(c->probe_error, sizeof(c->probe_error), "%.299s", local.msg);
        return OC_OK;
    }
    oc_session_set_observer(s, observe, c);
    oc_session_set_every_branch(s, true);
    oc_status st = OC_OK;
    size_t next = 0;
    p->probe = 0;
    if (r->popts->data_src) {
        oc_pipeline_opts po = *r->popts;
        po.data.limit = 1;
        oc_pass_run one = *r;
        one.popts = &po;
        one.ctx = &local;
        size_t count = 0;
        p->data_run = ++p->run;
        st = oc_pass_run_samples(&one, observe, c, &count);
        p->probe_ok = st == OC_OK && count > 0;
    }
    int64_t filled = -1; /* the fill of that filling-in run */
    if (r->popts->data_src && p->probe_ok && p->n_graphs > 1) {
        p->probe = 2;
        for (size_t k = 0; k < n_fills && filled < 0 && p->st == OC_OK; k++)
            if (probe_run(c, &local, s, fills[k]) == OC_OK) filled = fills[k];
        p->probe = 0;
    }
    for (; !p->probe_ok && next < n_fills && p->st == OC_OK; next++) {
        st = probe_run(c, &local, s, fills[next]);
        p->probe_ok = st == OC_OK;
    }
    if (p->probe_ok && p->st == OC_OK && has_symbolic_input(s)) {
        p->probe = 1;
        bool second = false;
        for (size_t k = 0; k < n_fills && !second && p->st == OC_OK; k++) {
            if (!fill_differs(c, s, fills[k]) || fills[k] == filled) continue;
            second = probe_run(c, &local, s, fills[k]) == OC_OK;
        }
        c->shape_source = second ? "interpreter" : "interpreter (one run)";
        p->second_ok = second;
    } else if (p->probe_ok) {
        c->shape_source = "interpreter";
    }
    if (!p->probe_ok) snprintf(c->probe_error, sizeof(c->probe_error), "%.299s", local.msg);
    p->probe = 0;
    oc_session_free(s);
    return p->st;
}

/* A value's shape: from the runs, a constant, or declared types (complete
 * in the main graph; in a body, symbolic dims become DIM_UNKNOWN). Looked
 * up in the graph being walked. A record found by name belongs to this
 * value only when the name means one value model-wide: it is the main
 * graph's, or no other graph defines it (what the observer reports);
 * otherwise the record is made afresh, unnamed. */
const shrec *cpl_shape_of(cpl *c, const char *name)
{
    oc_graph *g = cpl_cur(c), *d = g == c->g ? c->g : cpl_def_graph(c, g, name);
    bool named = d == c->g || cpl_name_unique(c, name);
    shrec *s = named ? rec_get(c, name, false) : NULL;
    if (s) {
        /* a body value the second run did not reach (an If branch taken
         * the first time only): which dims follow the inputs is unknown */
        if (d != c->g && (s->seen & 1) && c->priv->second_ok && !(s->seen & 2)) s->dyn = ~0u;
        return s;
    }
    oc_tensor *t = oc_graph_weight(g, name);
    if (t && t->ndim <= OC_MAX_DIMS) {
        s = named ? rec_get(c, name, true) : rec_new(c);
        if (!s) return NULL;
        s->ndim = t->ndim;
        if (t->ndim > 0) memcpy(s->dims, t->dims, (size_t)t->ndim * sizeof(int64_t));
        if (t->numel <= SHAPE_VALS && t->data && (t->dtype == OC_DTYPE_INT64 || t->dtype == OC_DTYPE_INT32)) {
            s->n_vals = (int)t->numel;
            for (int64_t i = 0; i < t->numel; i++) s->vals[i] = (int64_t)oc_tensor_get(t, i);
        }
        return s;
    }
    if (!d) return NULL;
    bool body = d != c->g;
    oc_value **lists[3] = {d->value_info, d->inputs, d->outputs};
    size_t counts[3] = {d->n_value_info, d->n_inputs, d->n_outputs};
    for (int l = 0; l < 3; l++)
        for (size_t i = 0; i < counts[l]; i++) {
            const oc_value *v = lists[l][i];
            if (strcmp(v->name, name) || !v->has_type || !v->type.has_shape || v->type.ndim > OC_MAX_DIMS) continue;
            bool full = true;
            for (int dd = 0; dd < v->type.ndim; dd++)
                full &= v->type.dims[dd].kind == OC_DIM_VALUE && (!body || v->type.dims[dd].value >= 0);
            if (!full && !body) continue;
            s = named ? rec_get(c, name, true) : rec_new(c);
            if (!s) return NULL;
            s->ndim = v->type.ndim;
            for (int dd = 0; dd < v->type.ndim; dd++) {
                bool known = v->type.dims[dd].kind == OC_DIM_VALUE && v->type.dims[dd].value >= 0;
                s->dims[dd] = known ? v->type.dims[dd].value : DIM_UNKNOWN;
                if (!known) s->dyn |= 1u << dd;
            }
            return s;
        }
    return NULL;
}

/* ---- union-finds ---- */

static int64_t efind(cpl *c, int64_t e)
{
    int64_t *pa = c->priv->parent;
    while (pa[e] != e) {
        pa[e] = pa[pa[e]];
        e = pa[e];
    }
    return e;
}

static void eunion(cpl *c, int64_t a, int64_t b)
{
    a = efind(c, a);
    b = efind(c, b);
    if (a == b) return;
    if (a < b) c->priv->parent[b] = a;
    else c->priv->parent[a] = b;
}

static size_t gfind(cpl *c, size_t s)
{
    size_t *pa = c->priv->gparent;
    while (pa[s] != s) {
        pa[s] = pa[pa[s]];
        s = pa[s];
    }
    return s;
}

static void gunion(cpl *c, size_t a, size_t b)
{
    a = gfind(c, a);
    b = gfind(c, b);
    if (a == b) return;
    if (a < b) c->priv->gparent[b] = a;
    else c->priv->gparent[a] = b;
}

/* ---- what handlers record ---- */



void cpl_refuse(cpl *c, size_t s, const char *fmt, ...)
{
    if (c->spaces[s].reason) return;
    char buf[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    c->spaces[s].reason = keep_str(c, buf);
}

static int64_t space_find(const cpl *c, const oc_graph *g, const char *value, int axis)
{
    const oc_strmap_entry *e = oc_strmap_get(&c->priv->space_map, value);
    for (size_t i = e ? e->aux : 0; i; i = c->priv->space_next[i - 1])
        if (c->spaces[i - 1].axis == axis && c->spaces[i - 1].graph == g) return (int64_t)(i - 1);
    return -1;
}

/* The space of value/axis in the graph being walked, created when new; -1
 * (with the entry's space refused, when there is one) when its shape is
 * unknown. */
int64_t cpl_space_get(cpl *c, const entry *e, const char *value, int axis)
{
    priv *p = c->priv;
    if (p->st != OC_OK) return -1;
    int64_t have = space_find(c, p->cur, value, axis);
    if (have >= 0) return have;
    const shrec *sh = cpl_shape_of(c, value);
    if (!sh || axis < 0 || axis >= sh->ndim || sh->dims[axis] < 0) {
        if (e) cpl_refuse(c, e->space, "shape of '%s' is unknown", value);
        return -1;
    }
    int64_t size = sh->dims[axis];
    size_t i = c->n_spaces;
    if (!cpl_grow(c, (void **)&c->spaces, &p->cap_spaces, i + 1, sizeof(oc_cspace))) return -1;
    size_t cap = p->cap_spaces;
    size_t *nn = oc_realloc(p->space_next, cap * sizeof(size_t));
    if (!nn) return cpl_fail_nomem(c), -1;
    p->space_next = nn;
    size_t *ng = oc_realloc(p->gparent, cap * sizeof(size_t));
    if (!ng) return cpl_fail_nomem(c), -1;
    p->gparent = ng;
    int64_t ne = c->n_elems + size;
    if (ne > p->cap_elems) {
        int64_t nc = p->cap_elems ? p->cap_elems : 1024;
        while (nc < ne) nc *= 2;
        int64_t *np = oc_realloc(p->parent, (size_t)nc * sizeof(int64_t));
        if (!np) return cpl_fail_nomem(c), -1;
        p->parent = np;
        p->cap_elems = nc;
    }
    bool added;
    oc_strmap_entry *me = oc_strmap_put(&p->space_map, value, &added);
    if (!me) return cpl_fail_nomem(c), -1;
    oc_cspace *sp = &c->spaces[i];
    memset(sp, 0, sizeof(*sp));
    sp->value = value;
    sp->graph = p->cur;
    sp->observable = p->cur == c->g || cpl_name_unique(c, value);
    sp->axis = axis;
    sp->size = size;
    sp->base = c->n_elems;
    for (int64_t k = 0; k < size; k++) p->parent[c->n_elems + k] = c->n_elems + k;
    c->n_elems = ne;
    p->space_next[i] = added ? 0 : me->aux;
    me->aux = (uint32_t)(i + 1);
    p->gparent[i] = i;
    c->n_spaces++;
    return (int64_t)i;
}

static bool visit_once(cpl *c, const oc_node *n, size_t s);

/* Elements a.off_a + j and b.off_b + j are one channel, j < len. The
 * handler linking them has seen both from its node: neither needs to enter
 * that node again. */
void cpl_link_range(cpl *c, const entry *e, size_t a, int64_t off_a, size_t b, int64_t off_b, int64_t len)
{
    if (off_a < 0 || off_b < 0 || len < 0 || off_a + len > c->spaces[a].size || off_b + len > c->spaces[b].size) {
        cpl_refuse(c, e->space, "channel counts of '%s' and '%s' do not match at node '%s' (%s)", c->spaces[a].value,
               c->spaces[b].value, cpl_nname(e->n), e->n->op_type);
        return;
    }
    for (int64_t j = 0; j < len; j++) eunion(c, c->spaces[a].base + off_a + j, c->spaces[b].base + off_b + j);
    gunion(c, a, b);
    visit_once(c, e->n, a);
    visit_once(c, e->n, b);
}

/* Element j of `merged` is channel (j / inner) % size of `ch` (a Flatten
 * of channels into columns; depthwise outputs per input channel). */
void cpl_link_block(cpl *c, const entry *e, size_t merged, size_t ch, int64_t inner)
{
    const oc_cspace *m = &c->spaces[merged], *s = &c->spaces[ch];
    for (int64_t j = 0; j < m->size; j++) eunion(c, m->base + j, s->base + (j / inner) % s->size);
    gunion(c, merged, ch);
    visit_once(c, e->n, merged);
    visit_once(c, e->n, ch);
}

/* Within space s, groups of `per` channels are tied position by position
 * (the same channels go from every group of a grouped convolution). */
void cpl_tie_groups(cpl *c, const entry *e, size_t s, int64_t groups, int64_t per)
{
    for (int64_t gi = 1; gi < groups; gi++) cpl_link_range(c, e, s, gi * per, s, 0, per);
}

static void note_reader(cpl *c, const char *name, const oc_node *n)
{
    priv *p = c->priv;
    for (size_t i = 0; i < p->n_readers; i++)
        if (p->readers[i].node == n && !strcmp(p->readers[i].name, name)) return;
    if (!cpl_grow(c, (void **)&p->readers, &p->cap_readers, p->n_readers + 1, sizeof(reader))) return;
    p->readers[p->n_readers++] = (reader){name, n};
}

/* Constant `name` (read by n) is sliced along `axis`: index j is element
 * offset + j of space s. len < 0: the tensor must span the rest of s. */
void cpl_add_member(cpl *c, const entry *e, oc_node *n, const char *name, int axis, size_t s, int64_t offset,
                       int64_t len, oc_crole role)
{
    priv *p = c->priv;
    oc_tensor *t = oc_graph_weight(p->cur, name);
    if (!t || p->st != OC_OK) return;
    int64_t want = len < 0 ? c->spaces[s].size - offset : len;
    if (axis < 0 || axis >= t->ndim || t->dims[axis] != want) {
        cpl_refuse(c, e->space, "constant '%s' of node '%s' (%s) does not have the %lld channels of '%s'", name, cpl_nname(n),
               n->op_type, (long long)want, c->spaces[s].value);
        return;
    }
    if (oc_dtype_bits(t->dtype) < 8 || t->dtype == OC_DTYPE_STRING || (!t->data && t->numel)) {
        cpl_refuse(c, e->space, "constant '%s' of node '%s' (%s) cannot be sliced (%s)", name, cpl_nname(n), n->op_type,
               oc_dtype_name(t->dtype));
        return;
    }
    note_reader(c, name, n);
    for (size_t i = 0; i < c->n_members; i++) {
        oc_cmember *m = &c->members[i];
        if (m->t != t || m->axis != axis) continue;
        /* one tensor read in several places (of any graph) ties those places */
        cpl_link_range(c, e, m->space, m->offset, s, offset, want);
        if (role == OC_CROLE_SOURCE) m->role = role;
        return;
    }
    if (!cpl_grow(c, (void **)&c->members, &p->cap_members, c->n_members + 1, sizeof(oc_cmember))) return;
    c->members[c->n_members++] = (oc_cmember){.node = n, .graph = p->cur, .name = name, .t = t, .axis = axis,
                                              .space = s, .offset = offset, .role = role};
    gunion(c, e->space, s);
}

oc_cedit *cpl_add_edit(cpl *c, oc_cedit_kind kind, oc_node *n, size_t s, int index)
{
    priv *p = c->priv;
    for (size_t i = 0; i < c->n_edits; i++)
        if (c->edits[i].node == n && c->edits[i].kind == kind && c->edits[i].index == index) return NULL;
    if (!cpl_grow(c, (void **)&c->edits, &p->cap_edits, c->n_edits + 1, sizeof(oc_cedit))) return NULL;
    oc_cedit *ed = &c->edits[c->n_edits++];
    *ed = (oc_cedit){.kind = kind, .node = n, .graph = p->cur, .space = s, .index = index};
    return ed;
}

void cpl_add_source(cpl *c, oc_node *n, const char *w, int w_axis, size_t s, int64_t offset, int64_t count)
{
    priv *p = c->priv;
    for (size_t i = 0; i < c->n_sources; i++)
        if (c->sources[i].node == n) return;
    if (!cpl_grow(c, (void **)&c->sources, &p->cap_sources, c->n_sources + 1, sizeof(oc_csource))) return;
    c->sources[c->n_sources++] = (oc_csource){.node = n, .graph = p->cur, .w_name = w, .w = oc_graph_weight(p->cur, w),
                                              .w_axis = w_axis, .space = s, .offset = offset, .count = count};
}

/* e->n, a normalisation over the channels of e->space, is let through
 * (norm_approx): the group it ends up in is pruned approximately. */
void cpl_add_approx(cpl *c, const entry *e)
{
    priv *p = c->priv;
    for (size_t i = 0; i < c->n_approx; i++)
        if (c->approx[i].node == e->n) return;
    if (!cpl_grow(c, (void **)&c->approx, &p->cap_approx, c->n_approx + 1, sizeof(oc_capprox))) return;
    c->approx[c->n_approx++] = (oc_capprox){.node = e->n, .graph = p->cur, .space = e->space};
}

/* ---- small helpers for handlers ---- */


const shrec *cpl_need_shape(cpl *c, const entry *e, const char *name)
{
    const shrec *s = cpl_shape_of(c, name);
    if (!s && c->priv->st == OC_OK) cpl_refuse(c, e->space, "shape of '%s' is unknown", name);
    return s;
}

int cpl_norm_axis(int64_t a, int rank)
{
    if (a < 0) a += rank;
    return a < 0 || a >= rank ? -1 : (int)a;
}

bool cpl_has_input(const oc_node *n, size_t k)
{
    return k < n->n_inputs && *n->inputs[k];
}

bool cpl_has_output(const oc_node *n, size_t k)
{
    return k < n->n_outputs && *n->outputs[k];
}

/* The integer values of constant input k, or of attribute `attr`; -1 when
 * neither is there, -2 when the input is computed. */
int cpl_int_list(cpl *c, const oc_node *n, size_t k, const char *attr, int64_t *out, int cap)
{
    if (cpl_has_input(n, k)) {
        const oc_tensor *t = oc_graph_weight(cpl_cur(c), n->inputs[k]);
        if (!t || !t->data || t->numel > cap) return -2;
        for (int64_t i = 0; i < t->numel; i++) out[i] = (int64_t)oc_tensor_get(t, i);
        return (int)t->numel;
    }
    const int64_t *v;
    int64_t nv = attr ? oc_attr_ints(n, attr, &v) : -1;
    if (nv < 0) return -1;
    if (nv > cap) return -2;
    memcpy(out, v, (size_t)nv * sizeof(int64_t));
    return (int)nv;
}

/* Ties value/axis to elements offset .. offset+len of space s: a constant
 * becomes a member, a computed value its own linked space. len < 0: the
 * value spans all of s. */
void cpl_bind(cpl *c, const entry *e, oc_node *n, const char *value, int axis, size_t s, int64_t offset,
                 int64_t len)
{
    if (!*value || c->priv->st != OC_OK) return;
    if (oc_graph_weight(cpl_cur(c), value)) {
        cpl_add_member(c, e, n, value, axis, s, offset, len, OC_CROLE_PARAM);
        return;
    }
    int64_t o = cpl_space_get(c, e, value, axis);
    if (o < 0) return;
    int64_t want = len < 0 ? c->spaces[s].size - offset : len;
    if (c->spaces[o].size != want) {
        cpl_refuse(c, e->space, "channel counts of '%s' and '%s' do not match at node '%s' (%s)", value,
               c->spaces[s].value, cpl_nname(n), n->op_type);
        return;
    }
    cpl_link_range(c, e, s, offset, (size_t)o, 0, want);
}

/* The space of output k at axis a (the entry's own when it is that one). */
int64_t cpl_out_space(cpl *c, const entry *e, size_t k, int a)
{
    if (e->out && e->slot == k && e->axis == a) return (int64_t)e->space;
    return cpl_space_get(c, e, e->n->outputs[k], a);
}

bool cpl_selected(cpl *c, const entry *e)
{
    if (oc_pass_node_selected(c->priv->r, e->n)) return true;
    cpl_refuse(c, e->space, "layer '%s' (%s) is left out by the node selection", cpl_nname(e->n), e->n->op_type);
    return false;
}

/* A filter bank feeding a magnitude or a log (STFT, log-mel front ends)
 * is not pruned: every feature would change (prune_layers.c and the
 * quantizers leave such layers alone too). */
bool cpl_source_ok(cpl *c, const entry *e)
{
    if (!e->n->n_outputs || !oc_qdq_feeds_sensitive(cpl_cur(c), e->n->outputs[0], 0)) return true;
    cpl_refuse(c, e->space, "layer '%s' (%s) feeds a magnitude/log computation", cpl_nname(e->n), e->n->op_type);
    return false;
}

/* ---- the walk ---- */

static bool visit_once(cpl *c, const oc_node *n, size_t s)
{
    priv *p = c->priv;
    if ((p->n_visited + 1) * 2 > p->cap_visited) {
        size_t nc = p->cap_visited ? p->cap_visited * 2 : 256;
        visit_slot *nv = oc_calloc(nc, sizeof(visit_slot));
        if (!nv) return cpl_fail_nomem(c);
        for (size_t i = 0; i < p->cap_visited; i++) {
            if (!p->visited[i].space) continue;
            uint64_t h = ((uint64_t)(uintptr_t)p->visited[i].n * 0x9E3779B97F4A7C15ull) ^ p->visited[i].space;
            size_t k = (size_t)(h * 0xff51afd7ed558ccdull >> 20) & (nc - 1);
            while (nv[k].space) k = (k + 1) & (nc - 1);
            nv[k] = p->visited[i];
        }
        oc_free(p->visited);
        p->visited = nv;
        p->cap_visited = nc;
    }
    uint64_t h = ((uint64_t)(uintptr_t)n * 0x9E3779B97F4A7C15ull) ^ (s + 1);
    size_t k = (size_t)(h * 0xff51afd7ed558ccdull >> 20) & (p->cap_visited - 1);
    while (p->visited[k].space) {
        if (p->visited[k].n == n && p->visited[k].space == s + 1) return false;
        k = (k + 1) & (p->cap_visited - 1);
    }
    p->visited[k] = (visit_slot){n, s + 1};
    p->n_visited++;
    return true;
}

static void handle(cpl *c, oc_node *n, bool out, size_t slot, size_t s)
{
    if (!visit_once(c, n, s)) return;
    entry e = {.n = n, .out = out, .slot = slot, .axis = c->spaces[s].axis, .space = s};
    if (!oc_domain_is_default(n->domain) && strcmp(n->domain, "ai.onnx")) {
        cpl_refuse(c, s, "op '%s' of custom domain '%s' at node '%s'", n->op_type, n->domain, cpl_nname(n));
        return;
    }
    if (!cpl_dispatch(c, &e)) cpl_refuse(c, s, "unsupported op '%s' at node '%s'", n->op_type, cpl_nname(n));
}

bool cpl_is_graph_output(const oc_graph *g, const char *name)
{
    for (size_t i = 0; i < g->n_outputs; i++)
        if (!strcmp(g->outputs[i]->name, name)) return true;
    return false;
}

bool cpl_local_node(const oc_graph *g, const oc_node *n)
{
    return oc_graph_node_index(g, n) < g->n_nodes;
}

static void explore(cpl *c, size_t s)
{
    oc_graph *g = c->priv->cur = c->spaces[s].graph;
    const char *v = c->spaces[s].value;
    char where[300] = "";
    if (g != c->g) cpl_graph_label(c, g, where, sizeof(where));
    if (cpl_is_graph_output(g, v)) {
        if (g == c->g) cpl_refuse(c, s, "reaches graph output '%s'", v);
        else cpl_refuse(c, s, "reaches output '%s' of %s", v, where);
    }
    size_t slot = 0;
    oc_node *prod = oc_graph_producer(g, v, &slot);
    if (prod && cpl_local_node(g, prod)) {
        handle(c, prod, true, slot, s);
    } else if (!oc_graph_weight(g, v)) {
        if (g == c->g) cpl_refuse(c, s, "reaches graph input '%s'", v);
        else if (cpl_def_graph(c, g, v) == g) cpl_refuse(c, s, "reaches input '%s' of %s", v, where);
        else cpl_refuse(c, s, "'%s' is captured from an enclosing graph by %s", v, where);
    }
    size_t nc = oc_graph_consumers(g, v, NULL, 0);
    if (!nc) return;
    oc_node **cons = oc_malloc(nc * sizeof(oc_node *));
    if (!cons) {
        cpl_fail_nomem(c);
        return;
    }
    nc = oc_graph_consumers(g, v, cons, nc);
    for (size_t i = 0; i < nc && c->priv->st == OC_OK; i++) {
        oc_node *n = cons[i];
        bool direct = false;
        for (size_t k = 0; k < n->n_inputs; k++)
            if (!strcmp(n->inputs[k], v)) {
                direct = true;
                handle(c, n, false, k, s);
            }
        if (!direct) cpl_refuse(c, s, "read inside a subgraph of node '%s' (%s)", cpl_nname(n), n->op_type);
    }
    oc_free(cons);
}

static bool layer_op(const oc_node *n)
{
    return !strcmp(n->op_type, "Conv") || !strcmp(n->op_type, "ConvTranspose") || !strcmp(n->op_type, "Gemm") ||
           !strcmp(n->op_type, "MatMul");
}

/* Starts a walk at the output channels of every layer with a constant
 * weight: the main graph's first (its groups keep their order), then each
 * body's. A body layer whose output has no known shape is counted. */
static void seed(cpl *c)
{
    priv *p = c->priv;
    for (size_t gi = 0; gi < p->n_graphs && p->st == OC_OK; gi++) {
        oc_graph *g = p->cur = p->graphs[gi].g;
        for (size_t i = 0; i < g->n_nodes && p->st == OC_OK; i++) {
            oc_node *n = g->nodes[i];
            if (!layer_op(n) || !oc_domain_is_default(n->domain) || !cpl_has_input(n, 1) || n->n_outputs < 1)
                continue;
            const oc_tensor *w = oc_graph_weight(g, n->inputs[1]);
            if (!w || (!strcmp(n->op_type, "MatMul") && oc_graph_weight(g, n->inputs[0]))) continue;
            const shrec *so = cpl_shape_of(c, n->outputs[0]);
            if (!so && gi > 0 && *n->outputs[0] && !c->n_unshaped++) c->unshaped_first = n;
            if (!so || so->ndim < 2) continue;
            int axis = !strcmp(n->op_type, "MatMul") ? so->ndim - 1 : 1;
            if (so->dims[axis] < 2) continue;
            cpl_space_get(c, NULL, n->outputs[0], axis);
        }
    }
}

/* ---- results ---- */

static oc_status finish(cpl *c)
{
    priv *p = c->priv;
    size_t *gid = oc_malloc((c->n_spaces + 1) * sizeof(size_t));
    c->unit = oc_malloc((size_t)(c->n_elems + 1) * sizeof(int64_t));
    if (!gid || !c->unit) {
        oc_free(gid);
        return oc_fail(p->r->ctx, OC_ERR_NOMEM, "out of memory analysing channels");
    }
    for (size_t s = 0; s < c->n_spaces; s++) gid[s] = SIZE_MAX;
    for (size_t s = 0; s < c->n_spaces; s++) {
        size_t root = gfind(c, s);
        if (gid[root] == SIZE_MAX) gid[root] = c->n_groups++;
        c->spaces[s].group = gid[root];
    }
    oc_free(gid);
    c->groups = oc_calloc(c->n_groups + 1, sizeof(oc_cgroup));
    int64_t *uid = oc_malloc((size_t)(c->n_elems + 1) * sizeof(int64_t));
    if (!c->groups || !uid) {
        oc_free(uid);
        return oc_fail(p->r->ctx, OC_ERR_NOMEM, "out of memory analysing channels");
    }
    for (int64_t e = 0; e < c->n_elems; e++) uid[e] = -1;
    for (int64_t e = 0; e < c->n_elems; e++) {
        int64_t root = efind(c, e);
        if (uid[root] < 0) uid[root] = c->n_units++;
        c->unit[e] = uid[root];
    }
    oc_free(uid);
    c->unit_group = oc_malloc((size_t)(c->n_units + 1) * sizeof(size_t));
    if (!c->unit_group) return oc_fail(p->r->ctx, OC_ERR_NOMEM, "out of memory analysing channels");
    for (size_t s = 0; s < c->n_spaces; s++) {
        oc_cspace *sp = &c->spaces[s];
        oc_cgroup *gr = &c->groups[sp->group];
        gr->n_spaces++;
        if (!gr->first_value) gr->first_value = sp->value;
        if (!gr->reason && sp->reason) gr->reason = sp->reason;
        for (int64_t j = 0; j < sp->size; j++) c->unit_group[c->unit[sp->base + j]] = sp->group;
    }
    for (int64_t u = 0; u < c->n_units; u++) c->groups[c->unit_group[u]].channels++;
    for (size_t i = 0; i < c->n_members; i++) {
        oc_cgroup *gr = &c->groups[c->spaces[c->members[i].space].group];
        gr->n_members++;
        gr->n_consumers += c->members[i].role == OC_CROLE_CONSUMER;
    }
    for (size_t i = 0; i < c->n_sources; i++) {
        c->sources[i].group = c->spaces[c->sources[i].space].group;
        c->groups[c->sources[i].group].n_sources++;
    }
    for (size_t i = 0; i < c->n_edits; i++) c->groups[c->spaces[c->edits[i].space].group].n_edits++;
    for (size_t i = 0; i < c->n_approx; i++) {
        oc_cgroup *gr = &c->groups[c->spaces[c->approx[i].space].group];
        if (!gr->n_approx++) gr->approx = c->approx[i].node;
    }
    return OC_OK;
}


oc_status oc_coupling_analyze(oc_pass_run *r, const oc_coupling_opts *o, oc_coupling **out)
{
    *out = NULL;
    if (!cpl_table_sorted()) return oc_fail(r->ctx, OC_ERR_INTERNAL, "coupling: the op table is not sorted");
    cpl *c = oc_calloc(1, sizeof(cpl));
    priv *p = oc_calloc(1, sizeof(priv));
    if (!c || !p) {
        oc_free(c);
        oc_free(p);
        return oc_fail(r->ctx, OC_ERR_NOMEM, "out of memory analysing channels");
    }
    c->priv = p;
    c->m = r->m;
    c->g = r->m->graph;
    c->shape_source = "value_info";
    p->r = r;
    p->opset = oc_model_opset(r->m, "");
    p->norm_approx = o && o->norm_approx;
    p->cur = c->g;
    oc_strmap_init(&p->shape_map);
    oc_strmap_init(&p->space_map);
    oc_strmap_init(&p->defs);
    oc_status st = cpl_graphs_collect(c) ? probe_shapes(c) : p->st;
    if (st == OC_OK) {
        /* the walk reads the graphs only: readers from one map per graph */
        oc_graph_cache_readers(c->m->graph, true);
        seed(c);
        for (size_t s = 0; s < c->n_spaces && p->st == OC_OK; s++) explore(c, s);
        if (p->st == OC_OK) cpl_check_readers(c);
        oc_graph_cache_readers(c->m->graph, false);
        st = p->st;
    }
    if (st == OC_OK) st = finish(c);
    if (st != OC_OK) {
        oc_coupling_free(c);
        return st;
    }
    *out = c;
    return OC_OK;
}

void oc_coupling_free(oc_coupling *c)
{
    if (!c) return;
    priv *p = c->priv;
    if (p) {
        oc_strmap_free(&p->shape_map);
        oc_strmap_free(&p->space_map);
        cpl_graphs_free(p);
        for (size_t i = 0; i * REC_BLOCK < p->n_recs; i++) oc_free(p->blocks[i]);
        oc_free(p->blocks);
        oc_free(p->space_next);
        oc_free(p->gparent);
        oc_free(p->parent);
        oc_free(p->visited);
        oc_free(p->readers);
        for (size_t i = 0; i < p->n_strs; i++) oc_free(p->strs[i]);
        oc_free(p->strs);
        oc_free(p);
    }
    for (size_t i = 0; i < c->n_edits; i++) oc_free(c->edits[i].sizes);
    oc_free(c->spaces);
    oc_free(c->members);
    oc_free(c->edits);
    oc_free(c->sources);
    oc_free(c->approx);
    oc_free(c->groups);
    oc_free(c->unit);
    oc_free(c->unit_group);
    oc_free(c);
}

int64_t oc_coupling_group_in(const oc_coupling *c, const oc_graph *g, const char *value, int axis)
{
    int64_t s = space_find(c, g, value, axis);
    return s < 0 ? -1 : (int64_t)c->spaces[s].group;
}

int64_t oc_coupling_group_of(const oc_coupling *c, const char *value, int axis)
{
    return oc_coupling_group_in(c, c->g, value, axis);
}

static const char *const role_names[] = {"source", "param", "consumer"};
_Static_assert(sizeof(role_names) / sizeof(role_names[0]) == OC_CROLE_CONSUMER + 1, "one name per role");
static const char *const edit_names[] = {"group", "reshape", "resize", "split", "slice"};
_Static_assert(sizeof(edit_names) / sizeof(edit_names[0]) == OC_CEDIT_SLICE + 1, "one name per edit");

void oc_coupling_describe(const oc_coupling *c, size_t gi, char *buf, size_t cap)
{
    size_t o = 0;
    int w;
    buf[0] = 0;
#define PUT(...)                                                                                                   \
    do {                                                                                                           \
        w = snprintf(buf + o, cap - o, __VA_ARGS__);                                                               \
        if (w < 0 || (size_t)w >= cap - o) return;                                                                 \
        o += (size_t)w;                                                                                            \
    } while (0)
    if (gi >= c->n_groups) return;
    const oc_cgroup *gr = &c->groups[gi];
    PUT("group %zu: %lld channels, %s\n", gi, (long long)gr->channels, gr->reason ? gr->reason : "ok");
    for (size_t s = 0; s < c->n_spaces; s++)
        if (c->spaces[s].group == gi)
            PUT("  space %s axis %d (%lld)\n", c->spaces[s].value, c->spaces[s].axis, (long long)c->spaces[s].size);
    for (size_t i = 0; i < c->n_sources; i++)
        if (c->sources[i].group == gi) PUT("  source %s (%s)\n", cpl_nname(c->sources[i].node), c->sources[i].w_name);
    for (size_t i = 0; i < c->n_members; i++) {
        const oc_cmember *m = &c->members[i];
        if (c->spaces[m->space].group == gi)
            PUT("  %s %s axis %d @%lld\n", role_names[m->role], m->name, m->axis, (long long)m->offset);
    }
    for (size_t i = 0; i < c->n_edits; i++)
        if (c->spaces[c->edits[i].space].group == gi)
            PUT("  edit %s %s [%d]\n", edit_names[c->edits[i].kind], cpl_nname(c->edits[i].node), c->edits[i].index);
    for (size_t i = 0; i < c->n_approx; i++)
        if (c->spaces[c->approx[i].space].group == gi)
            PUT("  approx %s (%s)\n", cpl_nname(c->approx[i].node), c->approx[i].node->op_type);
#undef PUT
}
