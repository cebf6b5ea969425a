/* wirescan.c: a first pass over the model's protobuf bytes, before protobuf-c
 * sees them.
 *
 * It does two things. It checks the wire format of every message on the
 * paths that hold graphs, nodes, attributes, tensors and types, bounding
 * every length by what remains and every nesting by a depth limit, so that
 * hostile bytes get a precise message ("truncated at byte N inside
 * TensorProto") and protobuf-c's recursive parser never meets a nesting deep
 * enough to exhaust the stack. And it builds a "skeleton" of the file in
 * which every TensorProto.raw_data of at least min_bytes is replaced by a
 * small marker field holding the payload's offset and length in the file.
 * protobuf-c then unpacks the skeleton, copying only small fields, and the
 * loader points the tensor at the payload inside the memory-mapped file. This
 * is how a 600 MB model loads without a second copy of its weights. */
#include "wirescan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum msg {
    M_NONE, M_MODEL, M_GRAPH, M_NODE, M_ATTR, M_TENSOR, M_SPARSE, M_FUNCTION,
    M_TRAINING, M_VALUEINFO, M_TYPE, M_TYPE_TENSOR, M_TYPE_SEQ, M_TYPE_MAP,
    M_TYPE_OPT, M_SHAPE, M_COUNT
};

static const char *const msg_names[M_COUNT] = {
    [M_NONE] = "?", [M_MODEL] = "ModelProto", [M_GRAPH] = "GraphProto",
    [M_NODE] = "NodeProto", [M_ATTR] = "AttributeProto", [M_TENSOR] = "TensorProto",
    [M_SPARSE] = "SparseTensorProto", [M_FUNCTION] = "FunctionProto",
    [M_TRAINING] = "TrainingInfoProto", [M_VALUEINFO] = "ValueInfoProto",
    [M_TYPE] = "TypeProto", [M_TYPE_TENSOR] = "TypeProto.Tensor",
    [M_TYPE_SEQ] = "TypeProto.Sequence", [M_TYPE_MAP] = "TypeProto.Map",
    [M_TYPE_OPT] = "TypeProto.Optional", [M_SHAPE] = "TensorShapeProto",
};

/* Which length-delimited fields hold which nested message. */
static const struct {
    enum msg parent;
    uint32_t field;
    enum msg child;
} children[] = {
    {M_MODEL, 7, M_GRAPH},        {M_MODEL, 20, M_TRAINING},    {M_MODEL, 25, M_FUNCTION},
    {M_TRAINING, 1, M_GRAPH},     {M_TRAINING, 2, M_GRAPH},     {M_GRAPH, 1, M_NODE},
    {M_GRAPH, 5, M_TENSOR},       {M_GRAPH, 15, M_SPARSE},      {M_GRAPH, 11, M_VALUEINFO},
    {M_GRAPH, 12, M_VALUEINFO},   {M_GRAPH, 13, M_VALUEINFO},   {M_NODE, 5, M_ATTR},
    {M_ATTR, 5, M_TENSOR},        {M_ATTR, 6, M_GRAPH},         {M_ATTR, 10, M_TENSOR},
    {M_ATTR, 11, M_GRAPH},        {M_ATTR, 22, M_SPARSE},       {M_ATTR, 23, M_SPARSE},
    {M_ATTR, 14, M_TYPE},         {M_ATTR, 15, M_TYPE},         {M_SPARSE, 1, M_TENSOR},
    {M_SPARSE, 2, M_TENSOR},      {M_FUNCTION, 7, M_NODE},      {M_VALUEINFO, 2, M_TYPE},
    {M_TYPE, 1, M_TYPE_TENSOR},   {M_TYPE, 8, M_TYPE_TENSOR},   {M_TYPE, 4, M_TYPE_SEQ},
    {M_TYPE, 5, M_TYPE_MAP},      {M_TYPE, 9, M_TYPE_OPT},      {M_TYPE_SEQ, 1, M_TYPE},
    {M_TYPE_MAP, 2, M_TYPE},      {M_TYPE_OPT, 1, M_TYPE},      {M_TYPE_TENSOR, 2, M_SHAPE},
};

static enum msg child_of(enum msg parent, uint32_t field)
{
    for (size_t i = 0; i < sizeof(children) / sizeof(children[0]); i++)
        if (children[i].parent == parent && children[i].field == field) return children[i].child;
    return M_NONE;
}

#define MAX_DEPTH 100

typedef struct edit {
    size_t pos;      /* where the replaced bytes start in the input */
    size_t old_len;  /* how many input bytes are replaced */
    int kind;        /* EDIT_LEN or EDIT_STRIP */
    uint64_t a, b;   /* new length; or payload offset and length */
} edit;

enum { EDIT_LEN = 1, EDIT_STRIP = 2 };

typedef struct scan {
    oc_ctx *ctx;
    const char *path;
    const uint8_t *base;
    size_t min_bytes;
    edit *edits;
    size_t n_edits, cap_edits;
    size_t n_stripped;
    uint64_t stripped_bytes;
} scan;

static size_t varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static size_t put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* Reads a varint at *p (< end). Returns false when it runs past end or is
 * longer than 10 bytes. */
static bool get_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (*p >= end) return false;
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

static bool add_edit(scan *s, edit e)
{
    if (s->n_edits == s->cap_edits) {
        size_t nc = s->cap_edits ? s->cap_edits * 2 : 256;
        edit *ne = oc_realloc(s->edits, nc * sizeof(edit));
        if (!ne) return false;
        s->edits = ne;
        s->cap_edits = nc;
    }
    s->edits[s->n_edits++] = e;
    return true;
}

static size_t marker_size(uint64_t off, uint64_t len)
{
    size_t body = varint_size(off) + varint_size(len);
    return varint_size((uint64_t)OC_WIRE_MARK_FIELD << 3 | 2) + varint_size(body) + body;
}

static oc_status bad(scan *s, enum msg m, const uint8_t *at, const char *what)
{
    return oc_fail(s->ctx, OC_ERR_INVALID, "%s: not a valid ONNX model: %s at byte %zu (inside %s)",
                   s->path, what, (size_t)(at - s->base), msg_names[m]);
}

/* Scans the message of type m in [p, end); *new_len receives its length
 * once stripped payloads are replaced by markers. */
static oc_status scan_msg(scan *s, enum msg m, const uint8_t *p, const uint8_t *end,
                          int depth, uint64_t *new_len)
{
    if (depth > MAX_DEPTH)
        return oc_fail(s->ctx, OC_ERR_INVALID,
                       "%s: not a valid ONNX model: messages nested more than %d deep",
                       s->path, MAX_DEPTH);
    uint64_t total = 0;
    while (p < end) {
        const uint8_t *field_start = p;
        uint64_t key;
        if (!get_varint(&p, end, &key)) return bad(s, m, field_start, "truncated field tag");
        uint32_t field = (uint32_t)(key >> 3);
        int wt = (int)(key & 7);
        if (key >> 3 == 0 || key >> 3 > 0x1fffffff) return bad(s, m, field_start, "invalid field number");
        if (m == M_TENSOR && field == OC_WIRE_MARK_FIELD)
            return bad(s, m, field_start, "reserved field number");
        uint64_t v;
        switch (wt) {
        case 0:
            if (!get_varint(&p, end, &v)) return bad(s, m, field_start, "truncated varint");
            break;
        case 1:
            if (end - p < 8) return bad(s, m, field_start, "truncated 64-bit field");
            p += 8;
            break;
        case 5:
            if (end - p < 4) return bad(s, m, field_start, "truncated 32-bit field");
            p += 4;
            break;
        case 2: {
            const uint8_t *len_at = p;
            if (!get_varint(&p, end, &v)) return bad(s, m, field_start, "truncated length");
            if (v > (uint64_t)(end - p)) return bad(s, m, field_start, "length runs past the end (truncated file?)");
            const uint8_t *body = p, *body_end = p + v;
            p = body_end;
            enum msg child = child_of(m, field);
            if (child != M_NONE) {
                uint64_t child_len;
                FORWARD_IF_ERROR(scan_msg(s, child, body, body_end, depth + 1, &child_len));
                if (child_len != v) {
                    edit e = {(size_t)(len_at - s->base), (size_t)(body - len_at), EDIT_LEN, child_len, 0};
                    if (!add_edit(s, e)) return oc_fail(s->ctx, OC_ERR_NOMEM, "%s: out of memory", s->path);
                    total += (uint64_t)(len_at - field_start) + varint_size(child_len) + child_len;
                } else {
                    /* kept as it is: its length varint may be longer than
                     * varint_size() (protobuf allows padded varints) */
                    total += (uint64_t)(body_end - field_start);
                }
                continue;
            }
            if (m == M_TENSOR && field == 9 && s->min_bytes && v >= s->min_bytes) {
                uint64_t off = (uint64_t)(body - s->base);
                edit e = {(size_t)(field_start - s->base), (size_t)(body_end - field_start), EDIT_STRIP, off, v};
                if (!add_edit(s, e)) return oc_fail(s->ctx, OC_ERR_NOMEM, "%s: out of memory", s->path);
                s->n_stripped++;
                s->stripped_bytes += v;
                total += marker_size(off, v);
                continue;
            }
            break;
        }
        case 3:
        case 4:
            return bad(s, m, field_start, "protobuf groups are not used by ONNX");
        default:
            return bad(s, m, field_start, "invalid wire type");
        }
        total += (uint64_t)(p - field_start);
    }
    *new_len = total;
    return OC_OK;
}

static int cmp_edit(const void *a, const void *b)
{
    size_t x = ((const edit *)a)->pos, y = ((const edit *)b)->pos;
    return x < y ? -1 : x > y;
}

oc_status oc_wire_skeleton(oc_ctx *ctx, const char *path, const uint8_t *buf, size_t n,
                           size_t min_bytes, oc_wire_skel *out)
{
    memset(out, 0, sizeof(*out));
    scan s = {.ctx = ctx, .path = path, .base = buf, .min_bytes = min_bytes};
    uint64_t new_len = 0;
    oc_status st = scan_msg(&s, M_MODEL, buf, buf + n, 0, &new_len);
    if (st != OC_OK) goto cleanup;
    out->n_stripped = s.n_stripped;
    out->stripped_bytes = s.stripped_bytes;
    if (s.n_edits == 0) {
        /* nothing to strip or resize: protobuf-c may read the file itself */
        out->data = buf;
        out->len = n;
        goto cleanup;
    }
    uint8_t *sk = oc_malloc(new_len ? new_len : 1);
    if (!sk) {
        st = oc_fail(ctx, OC_ERR_NOMEM, "%s: out of memory", path);
        goto cleanup;
    }
    qsort(s.edits, s.n_edits, sizeof(edit), cmp_edit);
    size_t in = 0, o = 0;
    for (size_t i = 0; i < s.n_edits; i++) {
        const edit *e = &s.edits[i];
        memcpy(sk + o, buf + in, e->pos - in);
        o += e->pos - in;
        if (e->kind == EDIT_LEN) {
            o += put_varint(sk + o, e->a);
        } else {
            uint8_t body[20];
            size_t bl = put_varint(body, e->a);
            bl += put_varint(body + bl, e->b);
            o += put_varint(sk + o, (uint64_t)OC_WIRE_MARK_FIELD << 3 | 2);
            o += put_varint(sk + o, bl);
            memcpy(sk + o, body, bl);
            o += bl;
        }
        in = e->pos + e->old_len;
    }
    memcpy(sk + o, buf + in, n - in);
    o += n - in;
    if (o != new_len) {
        oc_free(sk);
        st = oc_fail(ctx, OC_ERR_INTERNAL, "%s: skeleton size mismatch (%zu vs %llu)", path, o,
                     (unsigned long long)new_len);
        goto cleanup;
    }
    out->data = sk;
    out->len = o;
    out->owned = sk;
cleanup:
    oc_free(s.edits);
    return st;
}

void oc_wire_skel_free(oc_wire_skel *sk)
{
    oc_free(sk->owned);
    memset(sk, 0, sizeof(*sk));
}

bool oc_wire_parse_marker(const uint8_t *data, size_t len, uint64_t *off, uint64_t *plen)
{
    /* protobuf-c keeps a length-delimited unknown field with its length */
    const uint8_t *p = data, *end = data + len;
    uint64_t body;
    if (!get_varint(&p, end, &body) || body != (uint64_t)(end - p)) return false;
    return get_varint(&p, end, off) && get_varint(&p, end, plen) && p == end;
}
