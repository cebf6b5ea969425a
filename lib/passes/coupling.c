/* coupling.c: the channel-coupling analysis behind structured pruning (see
 * coupling.h).
 *
 * Exploration starts at the output channel axis of every Conv,
 * ConvTranspose, Gemm and MatMul with a constant weight and walks the graph
 * both ways: from a space to the node producing its value and to every node
 * reading it. Each node is handled by the row of `op_table` for its op type,
 * which, given the axis the space sits on, names the spaces of the node's
 * other inputs and outputs that carry the same channels (with an offset
 * into a Concat, a block of columns after a Flatten), the constants to
 * slice, the attributes to rewrite, or a refusal. A handler never has to
 * know from which side it was entered: it works out every tie of the node
 * for that axis, and ties are idempotent. Unknown ops refuse: an op is
 * never assumed to be elementwise. */
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

/* A node's name for messages: its output's when it has none. */
static const char *nname(const oc_node *n)
{
    if (n->name && *n->name) return n->name;
    return n->n_outputs ? n->outputs[0] : "";
}

static bool fail_nomem(cpl *c)
{
    if (c->priv->st == OC_OK) c->priv->st = oc_fail(c->priv->r->ctx, OC_ERR_NOMEM, "out of memory analysing channels");
    return false;
}

/* Grows *arr (elements of `elem` bytes) to hold `need`. */
static bool grow(cpl *c, void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return true;
    size_t nc = *cap ? *cap : 16;
    while (nc < need) nc *= 2;
    void *na = oc_realloc(*arr, nc * elem);
    if (!na) return fail_nomem(c);
    *arr = na;
    *cap = nc;
    return true;
}

static const char *keep_str(cpl *c, const char *s)
{
    priv *p = c->priv;
    size_t len = strlen(s);
    char *d = oc_malloc(len + 1);
    if (!d || !grow(c, (void **)&p->strs, &p->cap_strs, p->n_strs + 1, sizeof(char *))) {
        oc_free(d);
        fail_nomem(c);
        return NULL;
    }
    memcpy(d, s, len + 1);
    p->strs[p->n_strs++] = d;
    return d;
}

static shrec *rec_get(cpl *c, const char *name, bool create)
{
    priv *p = c->priv;
    oc_strmap_entry *e = oc_strmap_get(&p->shape_map, name);
    if (e) return &p->blocks[(e->aux - 1) / REC_BLOCK][(e->aux - 1) % REC_BLOCK];
    if (!create) return NULL;
    size_t b = p->n_recs / REC_BLOCK;
    if (p->n_recs % REC_BLOCK == 0) {
        if (!grow(c, (void **)&p->blocks, &p->cap_blocks, b + 1, sizeof(shrec *))) return NULL;
        p->blocks[b] = oc_malloc(REC_BLOCK * sizeof(shrec));
        if (!p->blocks[b]) {
            fail_nomem(c);
            return NULL;
        }
    }
    bool added;
    e = oc_strmap_put(&p->shape_map, name, &added);
    if (!e) {
        if (p->n_recs % REC_BLOCK == 0) {
            oc_free(p->blocks[b]);
            p->blocks[b] = NULL;
        }
        fail_nomem(c);
        return NULL;
    }
    shrec *s = &p->blocks[b][p->n_recs % REC_BLOCK];
    p->n_recs++;
    memset(s, 0, sizeof(*s));
    s->n_vals = -1;
    e->aux = (uint32_t)p->n_recs;
    return s;
}

static void observe(void *ud, const char *name, const oc_ten *t)
{
    cpl *c = ud;
    priv *p = c->priv;
    if (p->st != OC_OK || !name || !*name) return;
    shrec *s = rec_get(c, name, p->probe == 0);
    if (!s) return;
    if (p->probe == 0) {
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
    if (t->ndim != s->ndim) {
        s->dyn = ~0u;
        return;
    }
    for (int d = 0; d < t->ndim; d++)
        if (t->dims[d] != s->dims[d]) s->dyn |= 1u << d;
}

/* Whether a dim of input value v is fixed by the model. */
static bool dim_fixed(const oc_value *v, int d)
{
    return v->type.dims[d].kind == OC_DIM_VALUE && v->type.dims[d].value > 0;
}

/* A symbolic dim named like one found at axis 0 of some input is a batch
 * size: it gets 1; other symbolic dims get `fill`. */
static bool batch_like(oc_session *s, const oc_value *v, int d)
{
    if (d == 0) return true;
    const char *pn = v->type.dims[d].kind == OC_DIM_PARAM ? v->type.dims[d].param : NULL;
    if (!pn) return false;
    for (size_t i = 0; i < oc_session_n_inputs(s); i++) {
        const oc_value *o = oc_session_input(s, i);
        if (o->has_type && o->type.has_shape && o->type.ndim > 0 && o->type.dims[0].kind == OC_DIM_PARAM &&
            o->type.dims[0].param && !strcmp(o->type.dims[0].param, pn))
            return true;
    }
    return false;
}

/* Zero-filled inputs from the graph inputs' declared types, symbolic and
 * unknown dims filled as batch_like() says. */
static oc_status make_inputs(oc_ctx *ctx, oc_session *s, int64_t fill, oc_ten *ins)
{
    size_t n = oc_session_n_inputs(s);
    for (size_t i = 0; i < n; i++) {
        const oc_value *v = oc_session_input(s, i);
        oc_status st = OC_OK;
        if (!v->has_type || v->type.kind != OC_TYPE_TENSOR || !v->type.has_shape || v->type.ndim > OC_MAX_DIMS ||
            v->type.elem_type == OC_DTYPE_STRING || !oc_dtype_valid(v->type.elem_type) ||
            oc_dtype_bits(v->type.elem_type) < 8)
            st = oc_fail(ctx, OC_ERR_UNSUPPORTED, "input '%s': no tensor shape to make a probe input from", v->name);
        int64_t dims[OC_MAX_DIMS];
        for (int d = 0; st == OC_OK && d < v->type.ndim; d++)
            dims[d] = dim_fixed(v, d) ? v->type.dims[d].value : batch_like(s, v, d) ? 1 : fill;
        if (st == OC_OK) st = oc_ten_new(ctx, &ins[i], v->type.elem_type ? v->type.elem_type : OC_DTYPE_FLOAT,
                                         v->type.ndim, dims);
        if (st != OC_OK) {
            for (size_t k = 0; k < i; k++) oc_ten_release(&ins[k]);
            return st;
        }
    }
    return OC_OK;
}

static bool has_symbolic_input(oc_session *s)
{
    for (size_t i = 0; i < oc_session_n_inputs(s); i++) {
        const oc_value *v = oc_session_input(s, i);
        if (!v->has_type || !v->type.has_shape) continue;
        for (int d = 0; d < v->type.ndim; d++)
            if (!dim_fixed(v, d) && !batch_like(s, v, d)) return true;
    }
    return false;
}

/* One run on generated inputs; the observer sees the inputs too. */
static oc_status probe_run(cpl *c, oc_ctx *ctx, oc_session *s, int64_t fill)
{
    size_t ni = oc_session_n_inputs(s), no = oc_session_n_outputs(s);
    oc_ten *ins = oc_calloc(ni + 1, sizeof(oc_ten)), *outs = oc_calloc(no + 1, sizeof(oc_ten));
    oc_status st = ins && outs ? OC_OK : oc_fail(ctx, OC_ERR_NOMEM, "out of memory");
    if (st == OC_OK) st = make_inputs(ctx, s, fill, ins);
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
            if (!dim_fixed(v, d) && !batch_like(s, v, d) && rc->dims[d] == fill) return false;
    }
    return true;
}

/* Fills the shape records: a first run (the first --data sample, else
 * generated inputs with growing sizes for symbolic dims until one runs),
 * then, when inputs have symbolic dims, a second run with other sizes
 * marking the dims that follow them. */
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
        st = oc_pass_run_samples(&one, observe, c, &count);
        p->probe_ok = st == OC_OK && count > 0;
    }
    for (; !p->probe_ok && next < n_fills && p->st == OC_OK; next++) {
        st = probe_run(c, &local, s, fills[next]);
        p->probe_ok = st == OC_OK;
    }
    if (p->probe_ok && p->st == OC_OK && has_symbolic_input(s)) {
        p->probe = 1;
        bool second = false;
        for (size_t k = 0; k < n_fills && !second && p->st == OC_OK; k++) {
            if (!fill_differs(c, s, fills[k])) continue;
            second = probe_run(c, &local, s, fills[k]) == OC_OK;
        }
        c->shape_source = second ? "interpreter" : "interpreter (one run)";
    } else if (p->probe_ok) {
        c->shape_source = "interpreter";
    }
    if (!p->probe_ok) snprintf(c->probe_error, sizeof(c->probe_error), "%.299s", local.msg);
    p->probe = 0;
    oc_session_free(s);
    return p->st;
}

/* A value's shape: from the runs, a constant, or complete declared types. */
static const shrec *shape_of(cpl *c, const char *name)
{
    shrec *s = rec_get(c, name, false);
    if (s) return s;
    oc_tensor *t = oc_graph_weight(c->g, name);
    if (t && t->ndim <= OC_MAX_DIMS) {
        s = rec_get(c, name, true);
        if (!s) return NULL;
        s->ndim = t->ndim;
        memcpy(s->dims, t->dims, (size_t)t->ndim * sizeof(int64_t));
        if (t->numel <= SHAPE_VALS && t->data && (t->dtype == OC_DTYPE_INT64 || t->dtype == OC_DTYPE_INT32)) {
            s->n_vals = (int)t->numel;
            for (int64_t i = 0; i < t->numel; i++) s->vals[i] = (int64_t)oc_tensor_get(t, i);
        }
        return s;
    }
    oc_graph *g = c->g;
    oc_value **lists[3] = {g->value_info, g->inputs, g->outputs};
    size_t counts[3] = {g->n_value_info, g->n_inputs, g->n_outputs};
    for (int l = 0; l < 3; l++)
        for (size_t i = 0; i < counts[l]; i++) {
            const oc_value *v = lists[l][i];
            if (strcmp(v->name, name) || !v->has_type || !v->type.has_shape || v->type.ndim > OC_MAX_DIMS) continue;
            bool full = true;
            for (int d = 0; d < v->type.ndim; d++) full &= v->type.dims[d].kind == OC_DIM_VALUE;
            if (!full) continue;
            s = rec_get(c, name, true);
            if (!s) return NULL;
            s->ndim = v->type.ndim;
            for (int d = 0; d < v->type.ndim; d++) s->dims[d] = v->type.dims[d].value;
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

typedef struct entry {
    oc_node *n;
    bool out;     /* the space is on one of n's outputs */
    size_t slot;  /* which input or output */
    int axis;
    size_t space;
} entry;

static void refuse(cpl *c, size_t s, const char *fmt, ...) OC_PRINTF(3, 4);

static void refuse(cpl *c, size_t s, const char *fmt, ...)
{
    if (c->spaces[s].reason) return;
    char buf[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    c->spaces[s].reason = keep_str(c, buf);
}

static int64_t space_find(const cpl *c, const char *value, int axis)
{
    const oc_strmap_entry *e = oc_strmap_get(&c->priv->space_map, value);
    for (size_t i = e ? e->aux : 0; i; i = c->priv->space_next[i - 1])
        if (c->spaces[i - 1].axis == axis) return (int64_t)(i - 1);
    return -1;
}

/* The space of value/axis, created when new; -1 (with the entry's space
 * refused, when there is one) when its shape is unknown. */
static int64_t space_get(cpl *c, const entry *e, const char *value, int axis)
{
    priv *p = c->priv;
    if (p->st != OC_OK) return -1;
    int64_t have = space_find(c, value, axis);
    if (have >= 0) return have;
    const shrec *sh = shape_of(c, value);
    if (!sh || axis < 0 || axis >= sh->ndim) {
        if (e) refuse(c, e->space, "shape of '%s' is unknown", value);
        return -1;
    }
    int64_t size = sh->dims[axis];
    size_t i = c->n_spaces;
    if (!grow(c, (void **)&c->spaces, &p->cap_spaces, i + 1, sizeof(oc_cspace))) return -1;
    size_t cap = p->cap_spaces;
    size_t *nn = oc_realloc(p->space_next, cap * sizeof(size_t));
    if (!nn) return fail_nomem(c), -1;
    p->space_next = nn;
    size_t *ng = oc_realloc(p->gparent, cap * sizeof(size_t));
    if (!ng) return fail_nomem(c), -1;
    p->gparent = ng;
    int64_t ne = c->n_elems + size;
    if (ne > p->cap_elems) {
        int64_t nc = p->cap_elems ? p->cap_elems : 1024;
        while (nc < ne) nc *= 2;
        int64_t *np = oc_realloc(p->parent, (size_t)nc * sizeof(int64_t));
        if (!np) return fail_nomem(c), -1;
        p->parent = np;
        p->cap_elems = nc;
    }
    bool added;
    oc_strmap_entry *me = oc_strmap_put(&p->space_map, value, &added);
    if (!me) return fail_nomem(c), -1;
    oc_cspace *sp = &c->spaces[i];
    memset(sp, 0, sizeof(*sp));
    sp->value = value;
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
static void link_range(cpl *c, const entry *e, size_t a, int64_t off_a, size_t b, int64_t off_b, int64_t len)
{
    if (off_a < 0 || off_b < 0 || len < 0 || off_a + len > c->spaces[a].size || off_b + len > c->spaces[b].size) {
        refuse(c, e->space, "channel counts of '%s' and '%s' do not match at node '%s' (%s)", c->spaces[a].value,
               c->spaces[b].value, nname(e->n), e->n->op_type);
        return;
    }
    for (int64_t j = 0; j < len; j++) eunion(c, c->spaces[a].base + off_a + j, c->spaces[b].base + off_b + j);
    gunion(c, a, b);
    visit_once(c, e->n, a);
    visit_once(c, e->n, b);
}

/* Element j of `merged` is channel (j / inner) % size of `ch` (a Flatten
 * of channels into columns; depthwise outputs per input channel). */
static void link_block(cpl *c, const entry *e, size_t merged, size_t ch, int64_t inner)
{
    const oc_cspace *m = &c->spaces[merged], *s = &c->spaces[ch];
    for (int64_t j = 0; j < m->size; j++) eunion(c, m->base + j, s->base + (j / inner) % s->size);
    gunion(c, merged, ch);
    visit_once(c, e->n, merged);
    visit_once(c, e->n, ch);
}

/* Within space s, groups of `per` channels are tied position by position
 * (the same channels go from every group of a grouped convolution). */
static void tie_groups(cpl *c, const entry *e, size_t s, int64_t groups, int64_t per)
{
    for (int64_t gi = 1; gi < groups; gi++) link_range(c, e, s, gi * per, s, 0, per);
}

static void note_reader(cpl *c, const char *name, const oc_node *n)
{
    priv *p = c->priv;
    for (size_t i = 0; i < p->n_readers; i++)
        if (p->readers[i].node == n && !strcmp(p->readers[i].name, name)) return;
    if (!grow(c, (void **)&p->readers, &p->cap_readers, p->n_readers + 1, sizeof(reader))) return;
    p->readers[p->n_readers++] = (reader){name, n};
}

/* Constant `name` (read by n) is sliced along `axis`: index j is element
 * offset + j of space s. len < 0: the tensor must span the rest of s. */
static void add_member(cpl *c, const entry *e, oc_node *n, const char *name, int axis, size_t s, int64_t offset,
                       int64_t len, oc_crole role)
{
    priv *p = c->priv;
    oc_tensor *t = oc_graph_weight(c->g, name);
    if (!t || p->st != OC_OK) return;
    int64_t want = len < 0 ? c->spaces[s].size - offset : len;
    if (axis < 0 || axis >= t->ndim || t->dims[axis] != want) {
        refuse(c, e->space, "constant '%s' of node '%s' (%s) does not have the %lld channels of '%s'", name, nname(n),
               n->op_type, (long long)want, c->spaces[s].value);
        return;
    }
    if (oc_dtype_bits(t->dtype) < 8 || t->dtype == OC_DTYPE_STRING || (!t->data && t->numel)) {
        refuse(c, e->space, "constant '%s' of node '%s' (%s) cannot be sliced (%s)", name, nname(n), n->op_type,
               oc_dtype_name(t->dtype));
        return;
    }
    note_reader(c, name, n);
    for (size_t i = 0; i < c->n_members; i++) {
        oc_cmember *m = &c->members[i];
        if (strcmp(m->name, name) || m->axis != axis) continue;
        /* one tensor read in several places ties those places */
        link_range(c, e, m->space, m->offset, s, offset, want);
        if (role == OC_CROLE_SOURCE) m->role = role;
        return;
    }
    if (!grow(c, (void **)&c->members, &p->cap_members, c->n_members + 1, sizeof(oc_cmember))) return;
    c->members[c->n_members++] = (oc_cmember){.node = n, .name = name, .t = t, .axis = axis, .space = s,
                                              .offset = offset, .role = role};
    gunion(c, e->space, s);
}

static oc_cedit *add_edit(cpl *c, oc_cedit_kind kind, oc_node *n, size_t s, int index)
{
    priv *p = c->priv;
    for (size_t i = 0; i < c->n_edits; i++)
        if (c->edits[i].node == n && c->edits[i].kind == kind && c->edits[i].index == index) return NULL;
    if (!grow(c, (void **)&c->edits, &p->cap_edits, c->n_edits + 1, sizeof(oc_cedit))) return NULL;
    oc_cedit *ed = &c->edits[c->n_edits++];
    *ed = (oc_cedit){.kind = kind, .node = n, .space = s, .index = index};
    return ed;
}

static void add_source(cpl *c, oc_node *n, const char *w, int w_axis, size_t s, int64_t offset, int64_t count)
{
    priv *p = c->priv;
    for (size_t i = 0; i < c->n_sources; i++)
        if (c->sources[i].node == n) return;
    if (!grow(c, (void **)&c->sources, &p->cap_sources, c->n_sources + 1, sizeof(oc_csource))) return;
    c->sources[c->n_sources++] = (oc_csource){.node = n, .w_name = w, .w = oc_graph_weight(c->g, w), .w_axis = w_axis,
                                              .space = s, .offset = offset, .count = count};
}

/* ---- small helpers for handlers ---- */

static bool local_node(const oc_graph *g, const oc_node *n);
static bool is_graph_output(const oc_graph *g, const char *name);

static const shrec *need_shape(cpl *c, const entry *e, const char *name)
{
    const shrec *s = shape_of(c, name);
    if (!s && c->priv->st == OC_OK) refuse(c, e->space, "shape of '%s' is unknown", name);
    return s;
}

static int norm_axis(int64_t a, int rank)
{
    if (a < 0) a += rank;
    return a < 0 || a >= rank ? -1 : (int)a;
}

static bool has_input(const oc_node *n, size_t k)
{
    return k < n->n_inputs && *n->inputs[k];
}

static bool has_output(const oc_node *n, size_t k)
{
    return k < n->n_outputs && *n->outputs[k];
}

/* The integer values of constant input k, or of attribute `attr`; -1 when
 * neither is there, -2 when the input is computed. */
static int int_list(cpl *c, const oc_node *n, size_t k, const char *attr, int64_t *out, int cap)
{
    if (has_input(n, k)) {
        const oc_tensor *t = oc_graph_weight(c->g, n->inputs[k]);
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
static void bind(cpl *c, const entry *e, oc_node *n, const char *value, int axis, size_t s, int64_t offset,
                 int64_t len)
{
    if (!*value || c->priv->st != OC_OK) return;
    if (oc_graph_weight(c->g, value)) {
        add_member(c, e, n, value, axis, s, offset, len, OC_CROLE_PARAM);
        return;
    }
    int64_t o = space_get(c, e, value, axis);
    if (o < 0) return;
    int64_t want = len < 0 ? c->spaces[s].size - offset : len;
    if (c->spaces[o].size != want) {
        refuse(c, e->space, "channel counts of '%s' and '%s' do not match at node '%s' (%s)", value,
               c->spaces[s].value, nname(n), n->op_type);
        return;
    }
    link_range(c, e, s, offset, (size_t)o, 0, want);
}

/* The space of output k at axis a (the entry's own when it is that one). */
static int64_t out_space(cpl *c, const entry *e, size_t k, int a)
{
    if (e->out && e->slot == k && e->axis == a) return (int64_t)e->space;
    return space_get(c, e, e->n->outputs[k], a);
}

static bool selected(cpl *c, const entry *e)
{
    if (oc_pass_node_selected(c->priv->r, e->n)) return true;
    refuse(c, e->space, "layer '%s' (%s) is left out by the node selection", nname(e->n), e->n->op_type);
    return false;
}

/* A filter bank feeding a magnitude or a log (STFT, log-mel front ends)
 * is not pruned: every feature would change (prune_layers.c and the
 * quantizers leave such layers alone too). */
static bool source_ok(cpl *c, const entry *e)
{
    if (!e->n->n_outputs || !oc_qdq_feeds_sensitive(c->g, e->n->outputs[0], 0)) return true;
    refuse(c, e->space, "layer '%s' (%s) feeds a magnitude/log computation", nname(e->n), e->n->op_type);
    return false;
}

/* ---- handlers ---- */

typedef void (*handler_fn)(cpl *c, const entry *e);

/* Refuses entries through inputs other than the data input. */
static bool data_input(cpl *c, const entry *e)
{
    if (e->out || e->slot == 0) return true;
    refuse(c, e->space, "channels reach input %zu of node '%s' (%s)", e->slot, nname(e->n), e->n->op_type);
    return false;
}

/* Input 0 and every output: one space (elementwise unary ops, Dropout's
 * mask, Cast). */
static void h_unary(cpl *c, const entry *e)
{
    if (!data_input(c, e)) return;
    oc_node *n = e->n;
    int64_t s = e->out ? (int64_t)e->space : out_space(c, e, 0, e->axis);
    if (s < 0) return;
    bind(c, e, n, n->inputs[0], e->axis, (size_t)s, 0, -1);
    for (size_t k = 0; k < n->n_outputs; k++)
        if (has_output(n, k)) bind(c, e, n, n->outputs[k], e->axis, (size_t)s, 0, -1);
}

/* BatchNormalization / InstanceNormalization: per-channel parameters on
 * axis 1 are sliced; any other axis passes through. */
static void h_norm(cpl *c, const entry *e)
{
    oc_node *n = e->n;
    if (!data_input(c, e)) return;
    for (size_t k = 1; k < n->n_outputs; k++)
        if (has_output(n, k)) {
            refuse(c, e->space, "%s '%s' computes running statistics (training mode)", n->op_type, nname(n));
            return;
        }
    if (e->out && e->slot != 0) return;
    h_unary(c, e);
    if (e->axis != 1) return;
    int64_t s = out_space(c, e, 0, 1);
    if (s < 0) return;
    size_t last = !strcmp(n->op_type, "BatchNormalization") ? 4 : 2;
    for (size_t k = 1; k <= last && k < n->n_inputs; k++) {
        if (!has_input(n, k)) continue;
        if (!oc_graph_weight(c->g, n->inputs[k])) {
            refuse(c, e->space, "%s '%s' has computed parameters", n->op_type, nname(n));
            return;
        }
        add_member(c, e, n, n->inputs[k], 0, (size_t)s, 0, -1, OC_CROLE_PARAM);
    }
}

/* Broadcasting elementwise ops over any number of operands: each operand's
 * axis aligned from the right; size-1 operands broadcast and stay out. */
static void h_eltwise(cpl *c, const entry *e)
{
    oc_node *n = e->n;
    if (e->out && e->slot != 0) {
        refuse(c, e->space, "channels reach output %zu of node '%s' (%s)", e->slot, nname(n), n->op_type);
        return;
    }
    const shrec *so = need_shape(c, e, n->outputs[0]);
    const shrec *si = e->out ? so : need_shape(c, e, n->inputs[e->slot]);
    if (!so || !si) return;
    int ao = e->out ? e->axis : e->axis + so->ndim - si->ndim;
    int64_t s = out_space(c, e, 0, ao);
    if (s < 0) return;
    int64_t ch = c->spaces[s].size;
    for (size_t k = 0; k < n->n_inputs; k++) {
        if (!has_input(n, k)) continue;
        const shrec *sk = need_shape(c, e, n->inputs[k]);
        if (!sk) return;
        int ak = ao - (so->ndim - sk->ndim);
        if (ak < 0) continue;
        if (sk->dims[ak] == 1 && ch != 1) continue;
        bind(c, e, n, n->inputs[k], ak, (size_t)s, 0, -1);
    }
}

/* Pooling keeps channels apart; over spatial axes it is not followed. */
static void h_pool(cpl *c, const entry *e)
{
    oc_node *n = e->n;
    if (!data_input(c, e)) return;
    if (e->axis >= 2 || has_output(n, 1)) {
        refuse(c, e->space, "op '%s' at node '%s' over axis %d", n->op_type, nname(n), e->axis);
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
    const shrec *si = need_shape(c, e, n->inputs[0]), *so = need_shape(c, e, n->outputs[0]);
    if (!si || !so) return;
    if (si->ndim != so->ndim || si->dims[e->axis] != so->dims[e->axis]) {
        refuse(c, e->space, "%s '%s' resizes the channel axis", n->op_type, nname(n));
        return;
    }
    bool sizes = !strcmp(n->op_type, "Resize") && has_input(n, 3);
    if (sizes && !oc_graph_weight(c->g, n->inputs[3])) {
        refuse(c, e->space, "Resize '%s' has computed sizes it cannot follow", nname(n));
        return;
    }
    if (sizes && oc_node_attr(n, "axes")) {
        refuse(c, e->space, "Resize '%s' with an axes attribute", nname(n));
        return;
    }
    h_unary(c, e);
    int64_t s = out_space(c, e, 0, e->axis);
    oc_cedit *ed = sizes && s >= 0 ? add_edit(c, OC_CEDIT_RESIZE, n, (size_t)s, e->axis) : NULL;
    if (ed) ed->slot = 3;
}

static void h_pad(cpl *c, const entry *e)
{
    oc_node *n = e->n;
    if (!data_input(c, e)) return;
    const shrec *si = need_shape(c, e, n->inputs[0]);
    if (!si) return;
    int64_t pads[2 * OC_MAX_DIMS], axes[OC_MAX_DIMS];
    int np = int_list(c, n, 1, c->priv->opset < 11 ? (oc_node_attr(n, "pads") ? "pads" : "paddings") : NULL, pads,
                      2 * OC_MAX_DIMS);
    int na = has_input(n, 3) ? int_list(c, n, 3, NULL, axes, OC_MAX_DIMS) : -1;
    if (np < 0 || na == -2) {
        refuse(c, e->space, "Pad '%s' has computed pads it cannot follow", nname(n));
        return;
    }
    int k = -1, cnt = na >= 0 ? na : si->ndim;
    for (int i = 0; i < cnt; i++)
        if ((na >= 0 ? norm_axis(axes[i], si->ndim) : i) == e->axis) k = i;
    if (np != 2 * cnt || (k >= 0 && (pads[k] != 0 || pads[k + cnt] != 0))) {
        refuse(c, e->space, "Pad '%s' pads the channel axis", nname(n));
        return;
    }
    h_unary(c, e);
}

static void h_concat(cpl *c, const entry *e)
{
    oc_node *n = e->n;
    if (e->out && e->slot != 0) return;
    const shrec *so = need_shape(c, e, n->outputs[0]);
    if (!so) return;
    int ca = norm_axis(oc_attr_int(n, "axis", 0), so->ndim);
    int64_t s = out_space(c, e, 0, e->axis);
    if (s < 0 || ca < 0) return;
    int64_t off = 0;
    for (size_t k = 0; k < n->n_inputs; k++) {
        if (!has_input(n, k)) continue;
        const shrec *sk = need_shape(c, e, n->inputs[k]);
        if (!sk) return;
        if (sk->ndim != so->ndim) {
            refuse(c, e->space, "Concat '%s' of inputs of different ranks", nname(n));
            return;
        }
        if (ca != e->axis) {
            bind(c, e, n, n->inputs[k], e->axis, (size_t)s, 0, -1);
            continue;
        }
        int64_t d = sk->dims[ca];
        if (d > 0) bind(c, e, n, n->inputs[k], ca, (size_t)s, off, d);
        off += d;
    }
}

static void h_split(cpl *c, const entry *e)
{
    oc_node *n = e->n;
    if (!data_input(c, e)) return;
    const shrec *si = need_shape(c, e, n->inputs[0]);
    if (!si) return;
    int sa = norm_axis(oc_attr_int(n, "axis", 0), si->ndim);
    if (oc_graph_weight(c->g, n->inputs[0])) {
        refuse(c, e->space, "Split '%s' of a constant", nname(n));
        return;
    }
    int64_t s = e->out ? space_get(c, e, n->inputs[0], e->axis) : (int64_t)e->space;
    if (s < 0 || sa < 0) return;
    if (sa != e->axis) {
        for (size_t k = 0; k < n->n_outputs; k++)
            if (has_output(n, k)) bind(c, e, n, n->outputs[k], e->axis, (size_t)s, 0, -1);
        return;
    }
    if (has_input(n, 1) && !oc_graph_weight(c->g, n->inputs[1])) {
        refuse(c, e->space, "Split '%s' has computed sizes it cannot follow", nname(n));
        return;
    }
    int64_t *sizes = oc_calloc(n->n_outputs + 1, sizeof(int64_t));
    if (!sizes) {
        fail_nomem(c);
        return;
    }
    int64_t off = 0;
    for (size_t k = 0; k < n->n_outputs; k++) {
        const shrec *sk = has_output(n, k) ? need_shape(c, e, n->outputs[k]) : NULL;
        if (!sk) {
            if (has_output(n, k) || k + 1 < n->n_outputs)
                refuse(c, e->space, "Split '%s' has an output it cannot size", nname(n));
            oc_free(sizes);
            return;
        }
        sizes[k] = sk->dims[sa];
        if (sizes[k] > 0) bind(c, e, n, n->outputs[k], sa, (size_t)s, off, sizes[k]);
        off += sizes[k];
    }
    oc_cedit *ed = add_edit(c, OC_CEDIT_SPLIT, n, (size_t)s, sa);
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
    const shrec *si = need_shape(c, e, n->inputs[0]), *so = need_shape(c, e, n->outputs[0]);
    if (!si || !so) return;
    bool attrs = c->priv->opset < 10;
    int64_t st[OC_MAX_DIMS], en[OC_MAX_DIMS], ax[OC_MAX_DIMS], sp[OC_MAX_DIMS];
    int ns = int_list(c, n, attrs ? SIZE_MAX : 1, "starts", st, OC_MAX_DIMS);
    int ne = int_list(c, n, attrs ? SIZE_MAX : 2, "ends", en, OC_MAX_DIMS);
    int na = int_list(c, n, attrs ? SIZE_MAX : 3, "axes", ax, OC_MAX_DIMS);
    int nst = attrs ? -1 : int_list(c, n, 4, NULL, sp, OC_MAX_DIMS);
    if (na == -2 || nst == -2) {
        refuse(c, e->space, "Slice '%s' has computed axes it cannot follow", nname(n));
        return;
    }
    if (na == -1 && ns < 0) {
        refuse(c, e->space, "Slice '%s' has computed bounds it cannot follow", nname(n));
        return;
    }
    int cnt = na >= 0 ? na : ns;
    int pos = -1;
    for (int i = 0; i < cnt; i++)
        if ((na >= 0 ? norm_axis(ax[i], si->ndim) : i) == e->axis) pos = i;
    if (pos < 0) {
        h_unary(c, e);
        return;
    }
    if (ns < 0 || ne < 0 || ns != ne || (nst >= 0 && sp[pos] != 1)) {
        refuse(c, e->space, "Slice '%s' over the channel axis with computed or stepped bounds", nname(n));
        return;
    }
    int64_t dim = si->dims[e->axis];
    int64_t b = st[pos] < 0 ? st[pos] + dim : st[pos], f = en[pos] < 0 ? en[pos] + dim : en[pos];
    b = b < 0 ? 0 : b > dim ? dim : b;
    f = f < b ? b : f > dim ? dim : f;
    if (f - b != so->dims[e->axis]) {
        refuse(c, e->space, "Slice '%s': its bounds do not give its output size", nname(n));
        return;
    }
    int64_t s_in = e->out ? space_get(c, e, n->inputs[0], e->axis) : (int64_t)e->space;
    int64_t s_out = out_space(c, e, 0, e->axis);
    if (s_in < 0 || s_out < 0) return;
    if (f > b) link_range(c, e, (size_t)s_in, b, (size_t)s_out, 0, f - b);
    oc_cedit *ed = add_edit(c, OC_CEDIT_SLICE, n, (size_t)s_in, pos);
    if (ed) {
        ed->start = b;
        ed->len = f - b;
    }
}

static void h_transpose(cpl *c, const entry *e)
{
    oc_node *n = e->n;
    if (!data_input(c, e)) return;
    const shrec *si = need_shape(c, e, n->inputs[0]);
    if (!si) return;
    int64_t perm[OC_MAX_DIMS];
    int np = int_list(c, n, SIZE_MAX, "perm", perm, OC_MAX_DIMS);
    if (np < 0)
        for (np = 0; np < si->ndim; np++) perm[np] = si->ndim - 1 - np;
    if (np != si->ndim) return;
    int ai = e->axis, ao = -1;
    if (e->out) ai = (int)perm[e->axis];
    for (int o = 0; o < np; o++)
        if (perm[o] == ai) ao = o;
    int64_t s = out_space(c, e, 0, ao);
    if (s >= 0) bind(c, e, n, n->inputs[0], ai, (size_t)s, 0, -1);
}

/* Where entry `index` of input `slot` of n comes from a constant: through
 * Cast, Identity and Concat (the shape vectors exporters assemble), the
 * node reading that constant, its slot and the entry's index there. */
static bool trace_const(cpl *c, oc_node *n, size_t slot, int index, oc_node **cn, size_t *cslot, int *cidx)
{
    for (int depth = 0; depth < 8; depth++) {
        const char *v = n->inputs[slot];
        if (oc_graph_weight(c->g, v)) {
            *cn = n;
            *cslot = slot;
            *cidx = index;
            return true;
        }
        size_t ps;
        oc_node *p = oc_graph_producer(c->g, v, &ps);
        /* a shape vector read elsewhere too would change there as well */
        if (!p || !local_node(c->g, p) || oc_graph_consumers(c->g, v, NULL, 0) != 1 || is_graph_output(c->g, v))
            return false;
        if ((!strcmp(p->op_type, "Cast") || !strcmp(p->op_type, "Identity")) && has_input(p, 0)) {
            n = p;
            slot = 0;
            continue;
        }
        if (strcmp(p->op_type, "Concat") || oc_attr_int(p, "axis", 0) != 0) return false;
        int64_t off = 0;
        size_t k = 0;
        for (; k < p->n_inputs; k++) {
            const shrec *sk = has_input(p, k) ? shape_of(c, p->inputs[k]) : NULL;
            if (!sk || sk->ndim != 1) return false;
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
    const shrec *si = need_shape(c, e, n->inputs[0]), *so = need_shape(c, e, n->outputs[0]);
    if (!si || !so) return;
    if (c->spaces[e->space].size < 2) {
        refuse(c, e->space, "%s '%s' it cannot follow (a single channel)", n->op_type, nname(n));
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
        refuse(c, e->space, "%s '%s' it cannot follow (no matching axes)", n->op_type, nname(n));
        return;
    }
    if (bo0 != bo1) {
        refuse(c, e->space, "%s '%s' it cannot follow (it splits the channel axis)", n->op_type, nname(n));
        return;
    }
    if (e->out && bi0 != bi1) {
        refuse(c, e->space, "%s '%s' it cannot follow (its output merges several axes)", n->op_type, nname(n));
        return;
    }
    int a = e->out ? ii[bi0] : e->axis, ao = oo[bo0];
    int64_t inner = 1;
    for (int k = bi0; k <= bi1; k++) {
        if (ii[k] != a && (si->dyn >> ii[k]) & 1) {
            refuse(c, e->space, "%s '%s' it cannot follow (merges the channels with a dynamic axis)", n->op_type,
                   nname(n));
            return;
        }
        if (ii[k] > a) inner *= si->dims[ii[k]];
    }
    oc_node *cn = n;
    size_t cslot = 1;
    int cidx = ao;
    if (!strcmp(n->op_type, "Reshape")) {
        const shrec *sv = has_input(n, 1) ? shape_of(c, n->inputs[1]) : NULL;
        bool cst = has_input(n, 1) && trace_const(c, n, 1, ao, &cn, &cslot, &cidx);
        if (!sv || sv->n_vals != so->ndim) {
            refuse(c, e->space, "Reshape '%s' it cannot follow (unknown shape values)", nname(n));
            return;
        }
        int64_t v = sv->vals[ao];
        bool zero_ok = v == 0 && bi0 == bi1 && a == ao && !oc_attr_int(n, "allowzero", 0);
        if (v == 0 && !zero_ok) {
            refuse(c, e->space, "Reshape '%s' it cannot follow (copies a dim across axes)", nname(n));
            return;
        }
        if (v > 0 && !cst) {
            refuse(c, e->space, "Reshape '%s' it cannot follow (computed shape)", nname(n));
            return;
        }
    }
    int64_t s_out = out_space(c, e, 0, ao);
    int64_t s_in = e->out ? space_get(c, e, n->inputs[0], a) : (int64_t)e->space;
    if (s_out < 0 || s_in < 0) return;
    if (bi0 == bi1) link_range(c, e, (size_t)s_in, 0, (size_t)s_out, 0, c->spaces[s_in].size);
    else link_block(c, e, (size_t)s_out, (size_t)s_in, inner);
    const shrec *sv = !strcmp(n->op_type, "Reshape") ? shape_of(c, n->inputs[1]) : NULL;
    oc_cedit *ed = sv && sv->vals[ao] > 0 ? add_edit(c, OC_CEDIT_RESHAPE, cn, (size_t)s_out, cidx) : NULL;
    if (ed) ed->slot = cslot;
}

/* Softmax-like ops and LpNormalization: an op over one axis (or, before
 * opset 13, over every axis from `axis` on). */
static void h_axis_op(cpl *c, const entry *e)
{
    oc_node *n = e->n;
    if (!data_input(c, e)) return;
    const shrec *si = need_shape(c, e, n->inputs[0]);
    if (!si) return;
    bool lp = !strcmp(n->op_type, "LpNormalization");
    bool old = !lp && c->priv->opset < 13;
    int ax = norm_axis(oc_attr_int(n, "axis", old ? 1 : -1), si->ndim);
    if (ax < 0 || (old ? e->axis >= ax : e->axis == ax)) {
        refuse(c, e->space, "op '%s' over the channel axis at node '%s'", n->op_type, nname(n));
        return;
    }
    h_unary(c, e);
}

/* LayerNormalization normalises every axis from `axis` on. */
static void h_layernorm(cpl *c, const entry *e)
{
    oc_node *n = e->n;
    if (!data_input(c, e)) return;
    const shrec *si = need_shape(c, e, n->inputs[0]);
    if (!si) return;
    int ax = norm_axis(oc_attr_int(n, "axis", -1), si->ndim);
    if (ax < 0 || e->axis >= ax || has_output(n, 1) || has_output(n, 2)) {
        refuse(c, e->space, "op '%s' over the channel axis at node '%s'", n->op_type, nname(n));
        return;
    }
    if (e->out && e->slot != 0) return;
    int64_t s = out_space(c, e, 0, e->axis);
    if (s >= 0) bind(c, e, n, n->inputs[0], e->axis, (size_t)s, 0, -1);
}

/* Ops mixing the channels of axis 1 (LRN, GroupNormalization). */
static void h_axis1(cpl *c, const entry *e)
{
    if (e->axis == 1) {
        refuse(c, e->space, "op '%s' over the channel axis at node '%s'", e->n->op_type, nname(e->n));
        return;
    }
    if (!strcmp(e->n->op_type, "GroupNormalization")) {
        refuse(c, e->space, "op '%s' at node '%s'", e->n->op_type, nname(e->n));
        return;
    }
    h_unary(c, e);
}

static void h_reduce(cpl *c, const entry *e)
{
    oc_node *n = e->n;
    if (!data_input(c, e)) return;
    const shrec *si = need_shape(c, e, n->inputs[0]);
    if (!si) return;
    int64_t axes[OC_MAX_DIMS];
    int na;
    bool arg = !strcmp(n->op_type, "ArgMax") || !strcmp(n->op_type, "ArgMin");
    if (arg) {
        axes[0] = oc_attr_int(n, "axis", 0);
        na = 1;
    } else {
        na = int_list(c, n, 1, "axes", axes, OC_MAX_DIMS);
    }
    if (na == -2) {
        refuse(c, e->space, "op '%s' at node '%s' with computed axes", n->op_type, nname(n));
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
        int d = norm_axis(axes[k], si->ndim);
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
        refuse(c, e->space, "op '%s' over the channel axis at node '%s'", n->op_type, nname(n));
        return;
    }
    int ao = a;
    if (!keep)
        for (int d = 0; d < a; d++) ao -= red[d];
    int64_t s = out_space(c, e, 0, ao);
    if (s >= 0) bind(c, e, n, n->inputs[0], a, (size_t)s, 0, -1);
}

static void h_qdq(cpl *c, const entry *e)
{
    oc_node *n = e->n;
    if (!data_input(c, e)) return;
    const shrec *si = need_shape(c, e, n->inputs[0]);
    if (!si) return;
    if (oc_attr_int(n, "block_size", 0) > 0) {
        refuse(c, e->space, "%s '%s' with blocked scales", n->op_type, nname(n));
        return;
    }
    const oc_tensor *sc = has_input(n, 1) ? oc_graph_weight(c->g, n->inputs[1]) : NULL;
    if (!sc) {
        refuse(c, e->space, "%s '%s' with a computed scale", n->op_type, nname(n));
        return;
    }
    h_unary(c, e);
    int qa = norm_axis(oc_attr_int(n, "axis", 1), si->ndim);
    if (sc->numel <= 1 || qa != e->axis) return;
    int64_t s = out_space(c, e, 0, e->axis);
    if (s < 0) return;
    add_member(c, e, n, n->inputs[1], 0, (size_t)s, 0, -1, OC_CROLE_PARAM);
    if (has_input(n, 2)) add_member(c, e, n, n->inputs[2], 0, (size_t)s, 0, -1, OC_CROLE_PARAM);
}

/* Whether every reader of shape vector `v` (entries [0, len), the channel
 * dim at `pos`) leaves that entry alone: Gather or Slice of other constant
 * positions, through Cast and Identity. Names the reader that does not. */
static const oc_node *shape_reader(cpl *c, const char *v, int64_t pos, int64_t len, int depth)
{
    oc_node *cons[64];
    size_t nc = oc_graph_consumers(c->g, v, cons, 64);
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
            int k = int_list(c, u, 1, NULL, vals, SHAPE_VALS);
            ok = k >= 0;
            for (int j = 0; j < k; j++) ok &= (vals[j] < 0 ? vals[j] + len : vals[j]) != pos;
        } else if (!strcmp(u->op_type, "Slice") && !strcmp(u->inputs[0], v)) {
            int64_t s0[1], e0[1], st[1];
            bool attrs = c->priv->opset < 10;
            int k1 = int_list(c, u, attrs ? SIZE_MAX : 1, "starts", s0, 1);
            int k2 = int_list(c, u, attrs ? SIZE_MAX : 2, "ends", e0, 1);
            int k4 = !attrs && has_input(u, 4) ? int_list(c, u, 4, NULL, st, 1) : -1;
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
        refuse(c, e->space, "channels reach the output of Shape '%s'", nname(n));
        return;
    }
    const shrec *si = need_shape(c, e, n->inputs[0]);
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
        refuse(c, e->space, "shape computation at node '%s' (%s) reading Shape '%s' it cannot follow", nname(bad),
               bad->op_type, nname(n));
}

static void h_gather(cpl *c, const entry *e)
{
    oc_node *n = e->n;
    if (!data_input(c, e)) return;
    const shrec *si = need_shape(c, e, n->inputs[0]), *sx = need_shape(c, e, n->inputs[1]);
    if (!si || !sx) return;
    int ga = norm_axis(oc_attr_int(n, "axis", 0), si->ndim);
    int a = e->axis;
    if (e->out) a = e->axis < ga ? e->axis : e->axis >= ga + sx->ndim ? e->axis - sx->ndim + 1 : -1;
    if (a < 0 || a == ga || ga < 0) {
        refuse(c, e->space, "Gather '%s' over the channel axis", nname(n));
        return;
    }
    int ao = a < ga ? a : a + sx->ndim - 1;
    int64_t s = out_space(c, e, 0, ao);
    if (s >= 0) bind(c, e, n, n->inputs[0], a, (size_t)s, 0, -1);
}

/* Conv: W [Cout, Cin/g, k...]. A plain or grouped conv starts a space at
 * its output and ends one at its input (grouped: the same positions go
 * from every group). A depthwise conv (Cin/g == 1) carries its input
 * channels to its outputs: one space, `group` follows the kept count. */
static void h_conv(cpl *c, const entry *e)
{
    oc_node *n = e->n;
    if (!data_input(c, e)) return;
    const oc_tensor *w = has_input(n, 1) ? oc_graph_weight(c->g, n->inputs[1]) : NULL;
    if (!w || w->ndim < 3) {
        refuse(c, e->space, "%s '%s' has a computed weight", n->op_type, nname(n));
        return;
    }
    if (e->axis != 1 || (e->out && e->slot != 0)) {
        refuse(c, e->space, "%s '%s' over axis %d", n->op_type, nname(n), e->axis);
        return;
    }
    if (!selected(c, e)) return;
    bool tr = !strcmp(n->op_type, "ConvTranspose");
    int64_t g = oc_attr_int(n, "group", 1);
    int64_t cin = tr ? w->dims[0] : w->dims[1] * g, cout = tr ? w->dims[1] * g : w->dims[0];
    if (g < 1 || cin % g || cout % g) {
        refuse(c, e->space, "%s '%s' has odd groups", n->op_type, nname(n));
        return;
    }
    int64_t ipg = cin / g, opg = cout / g;
    const char *wn = n->inputs[1];
    const char *bn = has_input(n, 2) ? n->inputs[2] : "";
    int out_ax = tr ? 1 : 0, in_ax = tr ? 0 : 1;
    if ((g > 1 && ipg == 1) || e->out) {
        if (!source_ok(c, e)) return;
    }
    if (g > 1 && ipg == 1) {
        int64_t si = e->out ? space_get(c, e, n->inputs[0], 1) : (int64_t)e->space;
        int64_t so = out_space(c, e, 0, 1);
        if (si < 0 || so < 0) return;
        if (c->spaces[si].size != cin || c->spaces[so].size != cout) {
            refuse(c, e->space, "%s '%s': channel counts do not match its weight", n->op_type, nname(n));
            return;
        }
        link_block(c, e, (size_t)so, (size_t)si, opg);
        if (tr) {
            add_member(c, e, n, wn, 0, (size_t)si, 0, -1, OC_CROLE_SOURCE);
            add_source(c, n, wn, 0, (size_t)si, 0, cin);
        } else {
            add_member(c, e, n, wn, 0, (size_t)so, 0, -1, OC_CROLE_SOURCE);
            add_source(c, n, wn, 0, (size_t)so, 0, cout);
        }
        if (*bn) bind(c, e, n, bn, 0, (size_t)so, 0, -1);
        add_edit(c, OC_CEDIT_GROUP, n, (size_t)si, 0);
        return;
    }
    if (e->out) {
        if (c->spaces[e->space].size != cout) {
            refuse(c, e->space, "%s '%s': channel counts do not match its weight", n->op_type, nname(n));
            return;
        }
        add_member(c, e, n, wn, out_ax, e->space, 0, w->dims[out_ax], OC_CROLE_SOURCE);
        add_source(c, n, wn, out_ax, e->space, 0, w->dims[out_ax]);
        if (*bn) bind(c, e, n, bn, 0, e->space, 0, -1);
        if (g > 1) tie_groups(c, e, e->space, g, opg);
        return;
    }
    if (c->spaces[e->space].size != cin) {
        refuse(c, e->space, "%s '%s': channel counts do not match its weight", n->op_type, nname(n));
        return;
    }
    add_member(c, e, n, wn, in_ax, e->space, 0, w->dims[in_ax], OC_CROLE_CONSUMER);
    if (g > 1) tie_groups(c, e, e->space, g, ipg);
}

static void h_gemm(cpl *c, const entry *e)
{
    oc_node *n = e->n;
    const oc_tensor *w = has_input(n, 1) ? oc_graph_weight(c->g, n->inputs[1]) : NULL;
    if (!w || w->ndim != 2 || oc_attr_int(n, "transA", 0)) {
        refuse(c, e->space, "Gemm '%s' %s", nname(n), w ? "with transA=1" : "has a computed weight");
        return;
    }
    if (!e->out && e->slot == 1) return; /* cannot happen: w is constant */
    if (!selected(c, e)) return;
    bool tb = oc_attr_int(n, "transB", 0) != 0;
    int out_ax = tb ? 0 : 1, in_ax = tb ? 1 : 0;
    if (!e->out && e->slot == 0) {
        if (e->axis != 1) {
            refuse(c, e->space, "Gemm '%s' over its row axis", nname(n));
            return;
        }
        add_member(c, e, n, n->inputs[1], in_ax, e->space, 0, -1, OC_CROLE_CONSUMER);
        return;
    }
    /* the output, or a computed bias C on it */
    if (!source_ok(c, e)) return;
    const shrec *so = need_shape(c, e, n->outputs[0]);
    if (!so || so->ndim != 2) return;
    int64_t s = e->out ? (e->axis == 1 ? (int64_t)e->space : -1) : space_get(c, e, n->outputs[0], 1);
    if (s < 0) {
        refuse(c, e->space, "Gemm '%s' over its row axis", nname(n));
        return;
    }
    if (!e->out) { /* entered through C: which axis of C is the column one */
        const shrec *sc = need_shape(c, e, n->inputs[2]);
        if (!sc || e->axis != sc->ndim - 1) {
            refuse(c, e->space, "Gemm '%s' bias over its row axis", nname(n));
            return;
        }
    }
    add_member(c, e, n, n->inputs[1], out_ax, (size_t)s, 0, -1, OC_CROLE_SOURCE);
    add_source(c, n, n->inputs[1], out_ax, (size_t)s, 0, w->dims[out_ax]);
    if (has_input(n, 2)) {
        const shrec *sc = need_shape(c, e, n->inputs[2]);
        if (!sc) return;
        if (sc->ndim >= 1 && !(sc->dims[sc->ndim - 1] == 1 && c->spaces[s].size != 1))
            bind(c, e, n, n->inputs[2], sc->ndim - 1, (size_t)s, 0, -1);
    }
}

static void h_matmul(cpl *c, const entry *e)
{
    oc_node *n = e->n;
    const oc_tensor *w = oc_graph_weight(c->g, n->inputs[1]);
    if (!w || w->ndim < 2) {
        refuse(c, e->space, "MatMul '%s' multiplies computed tensors", nname(n));
        return;
    }
    if (!selected(c, e)) return;
    if (!e->out) {
        const shrec *sa = need_shape(c, e, n->inputs[0]);
        if (!sa) return;
        if (e->axis != sa->ndim - 1) {
            refuse(c, e->space, "MatMul '%s' over a row axis", nname(n));
            return;
        }
        add_member(c, e, n, n->inputs[1], w->ndim - 2, e->space, 0, -1, OC_CROLE_CONSUMER);
        return;
    }
    if (!source_ok(c, e)) return;
    const shrec *so = need_shape(c, e, n->outputs[0]);
    if (!so) return;
    if (e->axis != so->ndim - 1) {
        refuse(c, e->space, "MatMul '%s' over a row axis", nname(n));
        return;
    }
    add_member(c, e, n, n->inputs[1], w->ndim - 1, e->space, 0, -1, OC_CROLE_SOURCE);
    add_source(c, n, n->inputs[1], w->ndim - 1, e->space, 0, w->dims[w->ndim - 1]);
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

/* ---- the walk ---- */

static bool visit_once(cpl *c, const oc_node *n, size_t s)
{
    priv *p = c->priv;
    if ((p->n_visited + 1) * 2 > p->cap_visited) {
        size_t nc = p->cap_visited ? p->cap_visited * 2 : 256;
        visit_slot *nv = oc_calloc(nc, sizeof(visit_slot));
        if (!nv) return fail_nomem(c);
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
        refuse(c, s, "op '%s' of custom domain '%s' at node '%s'", n->op_type, n->domain, nname(n));
        return;
    }
    const op_row *row = find_op(n->op_type);
    if (!row) {
        refuse(c, s, "unsupported op '%s' at node '%s'", n->op_type, nname(n));
        return;
    }
    handlers[row->kind](c, &e);
}

static bool is_graph_output(const oc_graph *g, const char *name)
{
    for (size_t i = 0; i < g->n_outputs; i++)
        if (!strcmp(g->outputs[i]->name, name)) return true;
    return false;
}

static bool local_node(const oc_graph *g, const oc_node *n)
{
    for (size_t i = 0; i < g->n_nodes; i++)
        if (g->nodes[i] == n) return true;
    return false;
}

static void explore(cpl *c, size_t s)
{
    oc_graph *g = c->g;
    const char *v = c->spaces[s].value;
    if (is_graph_output(g, v)) refuse(c, s, "reaches graph output '%s'", v);
    size_t slot = 0;
    oc_node *prod = oc_graph_producer(g, v, &slot);
    if (prod && local_node(g, prod)) {
        handle(c, prod, true, slot, s);
    } else if (!oc_graph_weight(g, v)) {
        refuse(c, s, "reaches graph input '%s'", v);
    }
    size_t nc = oc_graph_consumers(g, v, NULL, 0);
    if (!nc) return;
    oc_node **cons = oc_malloc(nc * sizeof(oc_node *));
    if (!cons) {
        fail_nomem(c);
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
        if (!direct) refuse(c, s, "read inside a subgraph of node '%s' (%s)", nname(n), n->op_type);
    }
    oc_free(cons);
}

static bool layer_op(const oc_node *n)
{
    return !strcmp(n->op_type, "Conv") || !strcmp(n->op_type, "ConvTranspose") || !strcmp(n->op_type, "Gemm") ||
           !strcmp(n->op_type, "MatMul");
}

/* Starts a walk at the output channels of every layer with a constant
 * weight. */
static void seed(cpl *c)
{
    oc_graph *g = c->g;
    for (size_t i = 0; i < g->n_nodes && c->priv->st == OC_OK; i++) {
        oc_node *n = g->nodes[i];
        if (!layer_op(n) || !oc_domain_is_default(n->domain) || !has_input(n, 1) || n->n_outputs < 1) continue;
        const oc_tensor *w = oc_graph_weight(g, n->inputs[1]);
        if (!w || (!strcmp(n->op_type, "MatMul") && oc_graph_weight(g, n->inputs[0]))) continue;
        const shrec *so = shape_of(c, n->outputs[0]);
        if (!so || so->ndim < 2) continue;
        int axis = !strcmp(n->op_type, "MatMul") ? so->ndim - 1 : 1;
        if (so->dims[axis] < 2) continue;
        space_get(c, NULL, n->outputs[0], axis);
    }
}

/* ---- results ---- */

/* Every reader of a member must be a node that registered it. */
static void check_readers(cpl *c)
{
    priv *p = c->priv;
    for (size_t i = 0; i < c->n_members && p->st == OC_OK; i++) {
        const oc_cmember *m = &c->members[i];
        if (is_graph_output(c->g, m->name)) {
            refuse(c, m->space, "constant '%s' is a graph output", m->name);
            continue;
        }
        size_t nc = oc_graph_consumers(c->g, m->name, NULL, 0);
        oc_node **cons = oc_malloc((nc ? nc : 1) * sizeof(oc_node *));
        if (!cons) {
            fail_nomem(c);
            return;
        }
        nc = oc_graph_consumers(c->g, m->name, cons, nc);
        for (size_t k = 0; k < nc; k++) {
            bool known = false;
            for (size_t j = 0; j < p->n_readers && !known; j++)
                known = p->readers[j].node == cons[k] && !strcmp(p->readers[j].name, m->name);
            if (!known) {
                refuse(c, m->space, "constant '%s' is also read by node '%s' (%s)", m->name, nname(cons[k]),
                       cons[k]->op_type);
                break;
            }
        }
        oc_free(cons);
    }
}

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
    return OC_OK;
}

static bool table_sorted(void)
{
    for (size_t i = 1; i < sizeof(op_table) / sizeof(op_table[0]); i++)
        if (strcmp(op_table[i - 1].op, op_table[i].op) >= 0) return false;
    return true;
}

oc_status oc_coupling_analyze(oc_pass_run *r, oc_coupling **out)
{
    *out = NULL;
    if (!table_sorted()) return oc_fail(r->ctx, OC_ERR_INTERNAL, "coupling: the op table is not sorted");
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
    oc_strmap_init(&p->shape_map);
    oc_strmap_init(&p->space_map);
    oc_status st = probe_shapes(c);
    if (st == OC_OK) {
        seed(c);
        for (size_t s = 0; s < c->n_spaces && p->st == OC_OK; s++) explore(c, s);
        if (p->st == OC_OK) check_readers(c);
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
    oc_free(c->groups);
    oc_free(c->unit);
    oc_free(c->unit_group);
    oc_free(c);
}

int64_t oc_coupling_group_of(const oc_coupling *c, const char *value, int axis)
{
    int64_t s = space_find(c, value, axis);
    return s < 0 ? -1 : (int64_t)c->spaces[s].group;
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
        if (c->sources[i].group == gi) PUT("  source %s (%s)\n", nname(c->sources[i].node), c->sources[i].w_name);
    for (size_t i = 0; i < c->n_members; i++) {
        const oc_cmember *m = &c->members[i];
        if (c->spaces[m->space].group == gi)
            PUT("  %s %s axis %d @%lld\n", role_names[m->role], m->name, m->axis, (long long)m->offset);
    }
    for (size_t i = 0; i < c->n_edits; i++)
        if (c->spaces[c->edits[i].space].group == gi)
            PUT("  edit %s %s [%d]\n", edit_names[c->edits[i].kind], nname(c->edits[i].node), c->edits[i].index);
#undef PUT
}
