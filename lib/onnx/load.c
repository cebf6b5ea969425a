/* load.c: an ONNX file into our IR.
 *
 * The file is memory-mapped; wirescan.c checks its wire format and builds a
 * skeleton without the large raw_data payloads; protobuf-c unpacks the
 * skeleton into the model's arena (so strings and small arrays are borrowed
 * from there, not copied again); then each message is converted into the IR
 * and checked: element types, dims, data lengths, external data paths. Large
 * tensors end up pointing into the mapping of the model file or of their
 * external data file, which the model keeps until oc_model_free().
 *
 * Sub-messages onnxcomp never edits (value types, sparse tensors, training
 * info, quantization annotations) are also kept serialized, so the writer can
 * emit them exactly as they came. */
#include "../ir/ir.h"
#include "oc_proto.h"
#include "wirescan.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct loader {
    oc_ctx *ctx;
    oc_model *m;
    const char *path;
    const uint8_t *file;   /* the mapped model file */
    size_t file_size;
    char *dir_real;        /* realpath of the model's folder */
} loader;

#define FAIL(L, st, ...) oc_fail((L)->ctx, (st), __VA_ARGS__)
#define NOMEM(L) FAIL(L, OC_ERR_NOMEM, "%s: out of memory", (L)->path)

/* protobuf-c allocates from the model's arena; a failure is remembered so
 * that it is reported as out of memory, not as a malformed file (protobuf-c
 * returns NULL for both). */
typedef struct pc_arena {
    oc_arena *a;
    bool oom;
} pc_arena;

static void *pc_alloc(void *ud, size_t n)
{
    pc_arena *pa = ud;
    void *p = oc_arena_alloc(pa->a, n);
    if (!p) pa->oom = true;
    return p;
}

static void pc_free(void *ud, void *p)
{
    (void)ud;
    (void)p; /* the arena frees everything with the model */
}

/* realpath() into a buffer from the allocation hook (free with oc_free);
 * NULL with errno set. */
static char *real_path(const char *path)
{
    char *buf = oc_malloc(PATH_MAX);
    if (!buf) {
        errno = ENOMEM;
        return NULL;
    }
    if (!realpath(path, buf)) {
        int e = errno;
        oc_free(buf);
        errno = e;
        return NULL;
    }
    return buf;
}

oc_load_opts oc_load_opts_default(void)
{
    oc_load_opts o = {.borrow_min_bytes = 1024, .verify = true};
    return o;
}

/* ---- files ---- */

static oc_status map_file(oc_ctx *ctx, oc_model *m, const char *path, const char *shown,
                          const uint8_t **data, size_t *size)
{
    for (oc_mapping *mp = m->maps; mp; mp = mp->next)
        if (strcmp(mp->path, path) == 0) {
            *data = mp->addr;
            *size = mp->size;
            return OC_OK;
        }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return oc_fail(ctx, OC_ERR_READ, "%s: cannot open: %s", shown, strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return oc_fail(ctx, OC_ERR_READ, "%s: cannot stat: %s", shown, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return oc_fail(ctx, OC_ERR_READ, "%s: is a directory", shown);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return oc_fail(ctx, OC_ERR_READ, "%s: not a regular file", shown);
    }
    void *addr = NULL;
    size_t sz = (size_t)st.st_size;
    if (sz > 0) {
        addr = mmap(NULL, sz, PROT_READ, MAP_PRIVATE, fd, 0);
        if (addr == MAP_FAILED) {
            int e = errno;
            close(fd);
            return oc_fail(ctx, e == ENOMEM ? OC_ERR_NOMEM : OC_ERR_READ, "%s: cannot map: %s",
                           shown, strerror(e));
        }
        madvise(addr, sz, MADV_SEQUENTIAL);
    }
    close(fd);
    oc_mapping *mp = oc_arena_alloc(m->arena, sizeof(*mp));
    const char *pc = oc_arena_strdup(m->arena, path);
    if (!mp || !pc) {
        if (addr) munmap(addr, sz);
        return oc_fail(ctx, OC_ERR_NOMEM, "%s: out of memory", shown);
    }
    mp->path = pc;
    mp->addr = addr;
    mp->size = sz;
    mp->next = m->maps;
    m->maps = mp;
    *data = addr;
    *size = sz;
    return OC_OK;
}

/* ---- small conversions ---- */

static oc_unknowns unknowns_of(const ProtobufCMessage *b)
{
    oc_unknowns u = {b->n_unknown_fields, (oc_unknown *)b->unknown_fields};
    return u;
}

_Static_assert(sizeof(oc_unknown) == sizeof(ProtobufCMessageUnknownField) &&
                   offsetof(oc_unknown, tag) == offsetof(ProtobufCMessageUnknownField, tag) &&
                   offsetof(oc_unknown, wire_type) == offsetof(ProtobufCMessageUnknownField, wire_type) &&
                   offsetof(oc_unknown, len) == offsetof(ProtobufCMessageUnknownField, len) &&
                   offsetof(oc_unknown, data) == offsetof(ProtobufCMessageUnknownField, data),
               "oc_unknown mirrors protobuf-c's unknown field, field by field");

static oc_status pack_blob(loader *L, const ProtobufCMessage *msg, oc_blob *out)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    uint8_t *p = oc_arena_alloc(L->m->arena, n);
    if (!p) return NOMEM(L);
    protobuf_c_message_pack(msg, p);
    out->data = p;
    out->len = n;
    return OC_OK;
}

static oc_status conv_kvs(loader *L, size_t n, Onnx__StringStringEntryProto **src, oc_kv **out)
{
    *out = NULL;
    if (!n) return OC_OK;
    oc_kv *kv = oc_arena_array(L->m->arena, n, sizeof(oc_kv));
    if (!kv) return NOMEM(L);
    for (size_t i = 0; i < n; i++) {
        kv[i].key = src[i]->key;
        kv[i].value = src[i]->value;
        kv[i].unk = unknowns_of(&src[i]->base);
    }
    *out = kv;
    return OC_OK;
}

static oc_status conv_opsets(loader *L, size_t n, Onnx__OperatorSetIdProto **src, oc_opset **out)
{
    *out = NULL;
    if (!n) return OC_OK;
    oc_opset *o = oc_arena_array(L->m->arena, n, sizeof(oc_opset));
    if (!o) return NOMEM(L);
    for (size_t i = 0; i < n; i++) {
        o[i].domain = src[i]->domain;
        o[i].version = src[i]->version;
        o[i].has_version = src[i]->has_version;
        o[i].unk = unknowns_of(&src[i]->base);
    }
    *out = o;
    return OC_OK;
}

/* protobuf-c's {len, data} pairs into our {data, len} (bytes stay in the arena) */
static oc_status conv_byte_list(loader *L, const ProtobufCBinaryData *src, size_t n, oc_bytes **out)
{
    *out = NULL;
    if (!n) return OC_OK;
    oc_bytes *b = oc_arena_array(L->m->arena, n, sizeof(oc_bytes));
    if (!b) return NOMEM(L);
    for (size_t i = 0; i < n; i++) {
        b[i].data = src[i].data;
        b[i].len = src[i].len;
    }
    *out = b;
    return OC_OK;
}

/* ---- tensors ---- */

static bool parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s) return false;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return false;
        if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10) return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return true;
}

static oc_status load_external(loader *L, oc_tensor *t, const char *tname, int64_t need)
{
    const char *loc = NULL, *off_s = NULL, *len_s = NULL;
    for (size_t i = 0; i < t->n_ext; i++) {
        const char *k = t->ext[i].key ? t->ext[i].key : "";
        if (strcmp(k, "location") == 0) loc = t->ext[i].value;
        else if (strcmp(k, "offset") == 0) off_s = t->ext[i].value;
        else if (strcmp(k, "length") == 0) len_s = t->ext[i].value;
    }
    if (!loc || !*loc)
        return FAIL(L, OC_ERR_INVALID, "%s: tensor '%s': external data without a location", L->path, tname);
    if (loc[0] == '/')
        return FAIL(L, OC_ERR_INVALID, "%s: tensor '%s': external data location '%s' is an absolute path",
                    L->path, tname, loc);
    uint64_t off = 0, len = 0;
    if (off_s && !parse_u64(off_s, &off))
        return FAIL(L, OC_ERR_INVALID, "%s: tensor '%s': external data offset '%s' is not a number",
                    L->path, tname, off_s);
    if (len_s && !parse_u64(len_s, &len))
        return FAIL(L, OC_ERR_INVALID, "%s: tensor '%s': external data length '%s' is not a number",
                    L->path, tname, len_s);
    if (need < 0)
        return FAIL(L, OC_ERR_UNSUPPORTED, "%s: tensor '%s': external data of element type %d",
                    L->path, tname, t->dtype);
    if (len_s && len != (uint64_t)need)
        return FAIL(L, OC_ERR_INVALID,
                    "%s: tensor '%s': external data length %llu disagrees with its dims (%lld bytes)",
                    L->path, tname, (unsigned long long)len, (long long)need);
    len = (uint64_t)need;

    /* resolve and confine to the model's folder, symlinks included */
    size_t dl = strlen(L->m->dir), ll = strlen(loc);
    char *joined = oc_malloc(dl + ll + 2);
    if (!joined) return NOMEM(L);
    memcpy(joined, L->m->dir, dl);
    joined[dl] = '/';
    memcpy(joined + dl + 1, loc, ll + 1);
    char *real = real_path(joined);
    if (!real) {
        int e = errno;
        oc_free(joined);
        if (e == ENOMEM) return NOMEM(L);
        oc_status st = FAIL(L, OC_ERR_READ,
                            "%s: tensor '%s': external data file '%s': %s", L->path, tname, loc,
                            e == ENOENT ? "missing" : strerror(e));
        return st;
    }
    oc_free(joined);
    size_t rl = strlen(L->dir_real);
    bool inside = strncmp(real, L->dir_real, rl) == 0 &&
                  (real[rl] == '/' || (rl == 1 && L->dir_real[0] == '/'));
    if (!inside) {
        oc_status st = FAIL(L, OC_ERR_INVALID,
                            "%s: tensor '%s': external data location '%s' escapes the model's folder",
                            L->path, tname, loc);
        oc_free(real);
        return st;
    }
    const uint8_t *data;
    size_t size;
    oc_status st = map_file(L->ctx, L->m, real, real, &data, &size);
    oc_free(real);
    FORWARD_IF_ERROR(st);
    if (off > size || len > size - off)
        return FAIL(L, OC_ERR_INVALID,
                    "%s: tensor '%s': external data file '%s' is too short (%zu bytes, need %llu at offset %llu)",
                    L->path, tname, loc, size, (unsigned long long)len, (unsigned long long)off);
    t->data = data + off;
    t->nbytes = (size_t)len;
    t->mem = OC_MEM_BORROWED;
    t->enc = OC_ENC_EXTERNAL;
    return OC_OK;
}

/* Narrow typed int32_data / uint64_data into raw layout. */
static oc_status narrow_typed(loader *L, oc_tensor *t, const char *tname, const int32_t *i32,
                              size_t n32, const uint64_t *u64, size_t n64)
{
    int bits = oc_dtype_bits(t->dtype);
    int64_t need = oc_tensor_expected_nbytes(t->dtype, t->numel);
    size_t count = u64 ? n64 : n32;
    /* 4-bit types keep one packed byte (two elements) per int32 */
    size_t want = bits == 4 ? (size_t)need : (size_t)t->numel;
    if (count != want)
        return FAIL(L, OC_ERR_INVALID, "%s: tensor '%s': %zu typed values for %lld elements of %s",
                    L->path, tname, count, (long long)t->numel, oc_dtype_name(t->dtype));
    uint8_t *buf = oc_arena_alloc(L->m->arena, (size_t)need);
    if (!buf) return NOMEM(L);
    int w = bits == 4 ? 1 : bits / 8;
    for (size_t i = 0; i < count; i++) {
        uint64_t v = u64 ? u64[i] : (uint64_t)(uint32_t)i32[i];
        for (int b = 0; b < w; b++) buf[i * (size_t)w + (size_t)b] = (uint8_t)(v >> (8 * b));
    }
    t->data = buf;
    t->nbytes = (size_t)need;
    t->mem = OC_MEM_ARENA;
    return OC_OK;
}

static oc_status conv_tensor(loader *L, Onnx__TensorProto *src, oc_tensor **out)
{
    oc_arena *a = L->m->arena;
    oc_tensor *t = oc_arena_alloc(a, sizeof(*t));
    if (!t) return NOMEM(L);
    *out = t;
    t->name = src->name;
    t->doc_string = src->doc_string;
    t->has_dtype = src->has_data_type;
    t->dtype = src->data_type;
    const char *tname = t->name ? t->name : "(unnamed)";
    if (src->n_dims > 64)
        return FAIL(L, OC_ERR_INVALID, "%s: tensor '%s' has %zu dims", L->path, tname, src->n_dims);
    t->ndim = (int)src->n_dims;
    t->dims = src->dims;
    t->numel = 1;
    for (size_t i = 0; i < src->n_dims; i++) {
        if (src->dims[i] < 0)
            return FAIL(L, OC_ERR_INVALID, "%s: tensor '%s' has a negative dim (%lld)", L->path,
                        tname, (long long)src->dims[i]);
        if (oc_mul_overflow_i64(t->numel, src->dims[i], &t->numel))
            return FAIL(L, OC_ERR_INVALID, "%s: tensor '%s': the product of its dims overflows",
                        L->path, tname);
    }
    t->has_data_location = src->has_data_location;
    t->data_location = src->data_location;
    if (src->segment) {
        t->has_segment = true;
        t->has_seg_begin = src->segment->has_begin;
        t->has_seg_end = src->segment->has_end;
        t->seg_begin = src->segment->begin;
        t->seg_end = src->segment->end;
    }
    FORWARD_IF_ERROR(conv_kvs(L, src->n_external_data, src->external_data, &t->ext));
    t->n_ext = src->n_external_data;

    /* the marker of a stripped raw_data, and the other unknown fields */
    const ProtobufCMessage *b = &src->base;
    bool marked = false;
    uint64_t moff = 0, mlen = 0;
    size_t nunk = 0;
    oc_unknown *unk = NULL;
    if (b->n_unknown_fields) {
        unk = oc_arena_array(a, b->n_unknown_fields, sizeof(oc_unknown));
        if (!unk) return NOMEM(L);
        for (unsigned i = 0; i < b->n_unknown_fields; i++) {
            const ProtobufCMessageUnknownField *u = &b->unknown_fields[i];
            if (u->tag == OC_WIRE_MARK_FIELD) {
                if (!oc_wire_parse_marker(u->data, u->len, &moff, &mlen) || moff > L->file_size ||
                    mlen > L->file_size - moff)
                    return FAIL(L, OC_ERR_INTERNAL, "%s: tensor '%s': bad payload marker", L->path, tname);
                marked = true;
                continue;
            }
            memcpy(&unk[nunk++], u, sizeof(*u));
        }
    }
    t->unk.n = nunk;
    t->unk.v = unk;

    int ntyped = (src->n_float_data > 0) + (src->n_int32_data > 0) + (src->n_string_data > 0) +
                 (src->n_int64_data > 0) + (src->n_double_data > 0) + (src->n_uint64_data > 0);
    bool has_raw = marked || src->has_raw_data;
    bool external = src->has_data_location &&
                    src->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    if (ntyped + has_raw + external > 1)
        return FAIL(L, OC_ERR_INVALID, "%s: tensor '%s' stores its data in more than one field",
                    L->path, tname);
    if (!oc_dtype_valid(t->dtype))
        return FAIL(L, OC_ERR_UNSUPPORTED, "%s: tensor '%s' has element type %d, which onnxcomp does not know",
                    L->path, tname, t->dtype);
    int64_t need = oc_tensor_expected_nbytes(t->dtype, t->numel);
    if (t->dtype == OC_DTYPE_STRING) {
        if (has_raw || external)
            return FAIL(L, OC_ERR_INVALID, "%s: tensor '%s': strings must be in string_data", L->path, tname);
        if (src->n_string_data != (size_t)t->numel && !(src->n_string_data == 0 && t->numel == 0))
            return FAIL(L, OC_ERR_INVALID, "%s: tensor '%s': %zu strings for %lld elements", L->path,
                        tname, src->n_string_data, (long long)t->numel);
        FORWARD_IF_ERROR(conv_byte_list(L, src->string_data, src->n_string_data, &t->strings));
        t->enc = src->n_string_data ? OC_ENC_TYPED : OC_ENC_NONE;
        return OC_OK;
    }
    if (need < 0)
        return FAIL(L, OC_ERR_INVALID, "%s: tensor '%s': its size in bytes overflows", L->path, tname);
    if (external) {
        t->enc = OC_ENC_EXTERNAL;
        return load_external(L, t, tname, need);
    }
    if (has_raw) {
        size_t len = marked ? (size_t)mlen : src->raw_data.len;
        if ((uint64_t)len != (uint64_t)need)
            return FAIL(L, OC_ERR_INVALID,
                        "%s: tensor '%s': raw_data has %zu bytes but %lld elements of %s need %lld",
                        L->path, tname, len, (long long)t->numel, oc_dtype_name(t->dtype), (long long)need);
        t->enc = OC_ENC_RAW;
        t->nbytes = len;
        if (marked) {
            t->data = L->file + moff;
            t->mem = OC_MEM_BORROWED;
        } else {
            t->data = src->raw_data.data;
            t->mem = len ? OC_MEM_ARENA : OC_MEM_NONE;
        }
        return OC_OK;
    }
    if (ntyped == 0) {
        if (t->numel != 0)
            return FAIL(L, OC_ERR_INVALID, "%s: tensor '%s' has %lld elements but no data", L->path,
                        tname, (long long)t->numel);
        t->enc = OC_ENC_NONE;
        return OC_OK;
    }
    t->enc = OC_ENC_TYPED;
    const void *arr = NULL;
    size_t count = 0, per = 1;
    switch (t->dtype) {
    case OC_DTYPE_FLOAT: arr = src->float_data; count = src->n_float_data; break;
    case OC_DTYPE_COMPLEX64: arr = src->float_data; count = src->n_float_data; per = 2; break;
    case OC_DTYPE_DOUBLE: arr = src->double_data; count = src->n_double_data; break;
    case OC_DTYPE_COMPLEX128: arr = src->double_data; count = src->n_double_data; per = 2; break;
    case OC_DTYPE_INT64: arr = src->int64_data; count = src->n_int64_data; break;
    case OC_DTYPE_INT32: arr = src->int32_data; count = src->n_int32_data; break;
    case OC_DTYPE_UINT64: arr = src->uint64_data; count = src->n_uint64_data; break;
    case OC_DTYPE_UINT32:
        if (!src->n_uint64_data) break;
        return narrow_typed(L, t, tname, NULL, 0, src->uint64_data, src->n_uint64_data);
    default:
        if (!src->n_int32_data) break;
        return narrow_typed(L, t, tname, src->int32_data, src->n_int32_data, NULL, 0);
    }
    if (!arr)
        return FAIL(L, OC_ERR_INVALID, "%s: tensor '%s': its data is in a field that does not hold %s",
                    L->path, tname, oc_dtype_name(t->dtype));
    if (count != (size_t)t->numel * per)
        return FAIL(L, OC_ERR_INVALID, "%s: tensor '%s': %zu values for %lld elements of %s", L->path,
                    tname, count, (long long)t->numel, oc_dtype_name(t->dtype));
    t->data = arr; /* same layout as raw on little-endian machines */
    t->nbytes = (size_t)need;
    t->mem = OC_MEM_ARENA;
    return OC_OK;
}

/* Puts stripped payloads back into a protobuf-c tensor that is kept
 * serialized (sparse tensors, training info). */
static oc_status restore_payload(loader *L, Onnx__TensorProto *t)
{
    if (!t) return OC_OK;
    ProtobufCMessage *b = &t->base;
    unsigned w = 0;
    for (unsigned i = 0; i < b->n_unknown_fields; i++) {
        ProtobufCMessageUnknownField *u = &b->unknown_fields[i];
        uint64_t off, len;
        if (u->tag == OC_WIRE_MARK_FIELD && oc_wire_parse_marker(u->data, u->len, &off, &len) &&
            off <= L->file_size && len <= L->file_size - off) {
            t->has_raw_data = 1;
            t->raw_data.data = (uint8_t *)(L->file + off);
            t->raw_data.len = (size_t)len;
            continue;
        }
        b->unknown_fields[w++] = *u;
    }
    b->n_unknown_fields = w;
    return OC_OK;
}

static oc_status restore_sparse(loader *L, Onnx__SparseTensorProto *s)
{
    FORWARD_IF_ERROR(restore_payload(L, s->values));
    return restore_payload(L, s->indices);
}

static oc_status restore_graph(loader *L, Onnx__GraphProto *g, int depth);

static oc_status restore_attr(loader *L, Onnx__AttributeProto *a, int depth)
{
    FORWARD_IF_ERROR(restore_payload(L, a->t));
    for (size_t i = 0; i < a->n_tensors; i++) FORWARD_IF_ERROR(restore_payload(L, a->tensors[i]));
    if (a->sparse_tensor) FORWARD_IF_ERROR(restore_sparse(L, a->sparse_tensor));
    for (size_t i = 0; i < a->n_sparse_tensors; i++) FORWARD_IF_ERROR(restore_sparse(L, a->sparse_tensors[i]));
    if (a->g) FORWARD_IF_ERROR(restore_graph(L, a->g, depth + 1));
    for (size_t i = 0; i < a->n_graphs; i++) FORWARD_IF_ERROR(restore_graph(L, a->graphs[i], depth + 1));
    return OC_OK;
}

static oc_status restore_graph(loader *L, Onnx__GraphProto *g, int depth)
{
    if (!g || depth > 100) return OC_OK;
    for (size_t i = 0; i < g->n_initializer; i++) FORWARD_IF_ERROR(restore_payload(L, g->initializer[i]));
    for (size_t i = 0; i < g->n_sparse_initializer; i++)
        FORWARD_IF_ERROR(restore_sparse(L, g->sparse_initializer[i]));
    for (size_t i = 0; i < g->n_node; i++)
        for (size_t k = 0; k < g->node[i]->n_attribute; k++)
            FORWARD_IF_ERROR(restore_attr(L, g->node[i]->attribute[k], depth));
    return OC_OK;
}

/* ---- graphs ---- */

static oc_status conv_graph(loader *L, Onnx__GraphProto *src, oc_graph *parent, oc_graph **out);

static oc_status conv_type(loader *L, Onnx__TypeProto *tp, oc_type *ty, const char *vname)
{
    memset(ty, 0, sizeof(*ty));
    if (!tp) return OC_OK;
    ty->kind = (oc_type_kind)tp->value_case;
    Onnx__TensorShapeProto *shape = NULL;
    if (tp->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE && tp->tensor_type) {
        ty->elem_type = tp->tensor_type->elem_type;
        shape = tp->tensor_type->shape;
    } else if (tp->value_case == ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE && tp->sparse_tensor_type) {
        ty->elem_type = tp->sparse_tensor_type->elem_type;
        shape = tp->sparse_tensor_type->shape;
    }
    if (!shape) return OC_OK;
    if (shape->n_dim > 64)
        return FAIL(L, OC_ERR_INVALID, "%s: value '%s' has %zu dims", L->path, vname, shape->n_dim);
    ty->has_shape = true;
    ty->ndim = (int)shape->n_dim;
    ty->dims = oc_arena_array(L->m->arena, shape->n_dim ? shape->n_dim : 1, sizeof(oc_dim));
    if (!ty->dims) return NOMEM(L);
    int64_t numel = 1; /* of the known dims: no tensor can have more elements than int64 counts */
    for (size_t i = 0; i < shape->n_dim; i++) {
        Onnx__TensorShapeProto__Dimension *d = shape->dim[i];
        if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
            ty->dims[i].kind = OC_DIM_VALUE;
            ty->dims[i].value = d->dim_value;
            if (d->dim_value > 0 && oc_mul_overflow_i64(numel, d->dim_value, &numel))
                return FAIL(L, OC_ERR_INVALID, "%s: value '%s': the product of its dims overflows", L->path, vname);
        } else if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM) {
            ty->dims[i].kind = OC_DIM_PARAM;
            ty->dims[i].param = d->dim_param;
        }
    }
    return OC_OK;
}

static oc_status conv_values(loader *L, size_t n, Onnx__ValueInfoProto **src, oc_value ***out)
{
    *out = NULL;
    if (!n) return OC_OK;
    oc_value **vs = oc_arena_array(L->m->arena, n, sizeof(oc_value *));
    oc_value *v = oc_arena_array(L->m->arena, n, sizeof(oc_value));
    if (!vs || !v) return NOMEM(L);
    for (size_t i = 0; i < n; i++) {
        vs[i] = &v[i];
        v[i].name = src[i]->name ? src[i]->name : "";
        v[i].doc_string = src[i]->doc_string;
        v[i].has_type = src[i]->type != NULL;
        FORWARD_IF_ERROR(conv_type(L, src[i]->type, &v[i].type, v[i].name));
        FORWARD_IF_ERROR(pack_blob(L, &src[i]->base, &v[i].orig));
    }
    *out = vs;
    return OC_OK;
}

static oc_status conv_blobs(loader *L, size_t n, ProtobufCMessage **src, oc_blob **out)
{
    *out = NULL;
    if (!n) return OC_OK;
    oc_blob *b = oc_arena_array(L->m->arena, n, sizeof(oc_blob));
    if (!b) return NOMEM(L);
    for (size_t i = 0; i < n; i++) FORWARD_IF_ERROR(pack_blob(L, src[i], &b[i]));
    *out = b;
    return OC_OK;
}

static oc_status conv_attr(loader *L, Onnx__AttributeProto *src, oc_attr *a, oc_graph *owner,
                           const oc_node *n)
{
    oc_arena *ar = L->m->arena;
    a->name = src->name ? src->name : "";
    a->ref_attr_name = src->ref_attr_name;
    a->doc_string = src->doc_string;
    a->has_type = src->has_type;
    a->type = src->type;
    a->has_f = src->has_f;
    a->f = src->f;
    a->has_i = src->has_i;
    a->i = src->i;
    a->has_s = src->has_s;
    a->s.data = src->s.data;
    a->s.len = src->s.len;
    a->unk = unknowns_of(&src->base);
    if (src->t) FORWARD_IF_ERROR(conv_tensor(L, src->t, &a->t));
    if (src->g) FORWARD_IF_ERROR(conv_graph(L, src->g, owner, &a->g));
    if (src->sparse_tensor) {
        FORWARD_IF_ERROR(restore_sparse(L, src->sparse_tensor));
        FORWARD_IF_ERROR(pack_blob(L, &src->sparse_tensor->base, &a->sparse_tensor));
    }
    if (src->tp) FORWARD_IF_ERROR(pack_blob(L, &src->tp->base, &a->tp));
    a->n_floats = src->n_floats;
    a->floats = src->floats;
    a->n_ints = src->n_ints;
    a->ints = src->ints;
    a->n_strings = src->n_strings;
    FORWARD_IF_ERROR(conv_byte_list(L, src->strings, src->n_strings, &a->strings));
    if (src->n_tensors) {
        a->tensors = oc_arena_array(ar, src->n_tensors, sizeof(oc_tensor *));
        if (!a->tensors) return NOMEM(L);
        for (size_t i = 0; i < src->n_tensors; i++)
            FORWARD_IF_ERROR(conv_tensor(L, src->tensors[i], &a->tensors[i]));
        a->n_tensors = src->n_tensors;
    }
    if (src->n_graphs) {
        a->graphs = oc_arena_array(ar, src->n_graphs, sizeof(oc_graph *));
        if (!a->graphs) return NOMEM(L);
        for (size_t i = 0; i < src->n_graphs; i++)
            FORWARD_IF_ERROR(conv_graph(L, src->graphs[i], owner, &a->graphs[i]));
        a->n_graphs = src->n_graphs;
    }
    if (src->n_sparse_tensors) {
        for (size_t i = 0; i < src->n_sparse_tensors; i++)
            FORWARD_IF_ERROR(restore_sparse(L, src->sparse_tensors[i]));
        FORWARD_IF_ERROR(conv_blobs(L, src->n_sparse_tensors, (ProtobufCMessage **)src->sparse_tensors,
                                    &a->sparse_tensors));
        a->n_sparse_tensors = src->n_sparse_tensors;
    }
    if (src->n_type_protos) {
        FORWARD_IF_ERROR(conv_blobs(L, src->n_type_protos, (ProtobufCMessage **)src->type_protos,
                                    &a->type_protos));
        a->n_type_protos = src->n_type_protos;
    }
    (void)n;
    return OC_OK;
}

static oc_status conv_node(loader *L, Onnx__NodeProto *src, oc_graph *owner, oc_node **out)
{
    oc_node *n = oc_arena_alloc(L->m->arena, sizeof(*n));
    if (!n) return NOMEM(L);
    *out = n;
    n->name = src->name;
    n->op_type = src->op_type ? src->op_type : "";
    n->domain = src->domain;
    n->doc_string = src->doc_string;
    n->n_inputs = src->n_input;
    n->inputs = (const char **)src->input;
    n->n_outputs = src->n_output;
    n->outputs = (const char **)src->output;
    for (size_t i = 0; i < n->n_inputs; i++)
        if (!n->inputs[i]) n->inputs[i] = "";
    for (size_t i = 0; i < n->n_outputs; i++)
        if (!n->outputs[i]) n->outputs[i] = "";
    n->unk = unknowns_of(&src->base);
    if (!*n->op_type)
        return FAIL(L, OC_ERR_INVALID, "%s: node '%s' has no op_type", L->path, n->name ? n->name : "");
    if (src->n_attribute) {
        n->attrs = oc_arena_array(L->m->arena, src->n_attribute, sizeof(oc_attr));
        if (!n->attrs) return NOMEM(L);
        for (size_t i = 0; i < src->n_attribute; i++)
            FORWARD_IF_ERROR(conv_attr(L, src->attribute[i], &n->attrs[i], owner, n));
        n->n_attrs = src->n_attribute;
    }
    return OC_OK;
}

static oc_status conv_graph(loader *L, Onnx__GraphProto *src, oc_graph *parent, oc_graph **out)
{
    oc_graph *g = oc_graph_new(L->m, parent);
    if (!g) return NOMEM(L);
    *out = g;
    g->name = src->name;
    g->doc_string = src->doc_string;
    g->unk = unknowns_of(&src->base);
    oc_arena *a = L->m->arena;
    if (src->n_node) {
        g->nodes = oc_arena_array(a, src->n_node, sizeof(oc_node *));
        if (!g->nodes) return NOMEM(L);
        g->cap_nodes = src->n_node;
        for (size_t i = 0; i < src->n_node; i++) {
            FORWARD_IF_ERROR(conv_node(L, src->node[i], g, &g->nodes[i]));
            g->n_nodes = i + 1;
        }
    }
    if (src->n_initializer) {
        g->inits = oc_arena_array(a, src->n_initializer, sizeof(oc_tensor *));
        if (!g->inits) return NOMEM(L);
        g->cap_inits = src->n_initializer;
        for (size_t i = 0; i < src->n_initializer; i++) {
            FORWARD_IF_ERROR(conv_tensor(L, src->initializer[i], &g->inits[i]));
            g->n_inits = i + 1;
        }
    }
    for (size_t i = 0; i < src->n_sparse_initializer; i++)
        FORWARD_IF_ERROR(restore_sparse(L, src->sparse_initializer[i]));
    FORWARD_IF_ERROR(conv_blobs(L, src->n_sparse_initializer, (ProtobufCMessage **)src->sparse_initializer,
                                &g->sparse_inits));
    g->n_sparse_inits = src->n_sparse_initializer;
    FORWARD_IF_ERROR(conv_values(L, src->n_input, src->input, &g->inputs));
    g->n_inputs = src->n_input;
    FORWARD_IF_ERROR(conv_values(L, src->n_output, src->output, &g->outputs));
    g->n_outputs = src->n_output;
    FORWARD_IF_ERROR(conv_values(L, src->n_value_info, src->value_info, &g->value_info));
    g->n_value_info = src->n_value_info;
    FORWARD_IF_ERROR(conv_blobs(L, src->n_quantization_annotation,
                                (ProtobufCMessage **)src->quantization_annotation, &g->quant_annotations));
    g->n_quant_annotations = src->n_quantization_annotation;
    return OC_OK;
}

static oc_status conv_function(loader *L, Onnx__FunctionProto *src, oc_function **out)
{
    oc_function *f = oc_arena_alloc(L->m->arena, sizeof(*f));
    if (!f) return NOMEM(L);
    *out = f;
    f->name = src->name;
    f->domain = src->domain;
    f->doc_string = src->doc_string;
    f->n_inputs = src->n_input;
    f->inputs = (const char **)src->input;
    f->n_outputs = src->n_output;
    f->outputs = (const char **)src->output;
    f->n_attributes = src->n_attribute;
    f->attributes = (const char **)src->attribute;
    f->unk = unknowns_of(&src->base);
    FORWARD_IF_ERROR(conv_opsets(L, src->n_opset_import, src->opset_import, &f->opsets));
    f->n_opsets = src->n_opset_import;
    if (src->n_node) {
        f->nodes = oc_arena_array(L->m->arena, src->n_node, sizeof(oc_node *));
        if (!f->nodes) return NOMEM(L);
        for (size_t i = 0; i < src->n_node; i++) {
            FORWARD_IF_ERROR(conv_node(L, src->node[i], NULL, &f->nodes[i]));
            f->n_nodes = i + 1;
        }
    }
    return OC_OK;
}

static oc_status conv_model(loader *L, Onnx__ModelProto *src)
{
    oc_model *m = L->m;
    m->has_ir_version = src->has_ir_version;
    m->ir_version = src->ir_version;
    m->has_model_version = src->has_model_version;
    m->model_version = src->model_version;
    m->producer_name = src->producer_name;
    m->producer_version = src->producer_version;
    m->domain = src->domain;
    m->doc_string = src->doc_string;
    m->unk = unknowns_of(&src->base);
    FORWARD_IF_ERROR(conv_opsets(L, src->n_opset_import, src->opset_import, &m->opsets));
    m->n_opsets = src->n_opset_import;
    FORWARD_IF_ERROR(conv_kvs(L, src->n_metadata_props, src->metadata_props, &m->metadata));
    m->n_metadata = src->n_metadata_props;
    for (size_t i = 0; i < src->n_training_info; i++) {
        FORWARD_IF_ERROR(restore_graph(L, src->training_info[i]->initialization, 0));
        FORWARD_IF_ERROR(restore_graph(L, src->training_info[i]->algorithm, 0));
    }
    FORWARD_IF_ERROR(conv_blobs(L, src->n_training_info, (ProtobufCMessage **)src->training_info,
                                &m->training_info));
    m->n_training_info = src->n_training_info;
    if (src->n_functions) {
        m->functions = oc_arena_array(m->arena, src->n_functions, sizeof(oc_function *));
        if (!m->functions) return NOMEM(L);
        for (size_t i = 0; i < src->n_functions; i++) {
            FORWARD_IF_ERROR(conv_function(L, src->functions[i], &m->functions[i]));
            m->n_functions = i + 1;
        }
    }
    return conv_graph(L, src->graph, NULL, &m->graph);
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        char *d = oc_malloc(2);
        if (d) memcpy(d, ".", 2);
        return d;
    }
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    char *d = oc_malloc(n + 1);
    if (d) {
        memcpy(d, path, n);
        d[n] = 0;
    }
    return d;
}

oc_status oc_model_load_file(oc_ctx *ctx, const char *path, const oc_load_opts *opts, oc_model **out)
{
    *out = NULL;
    oc_load_opts o = opts ? *opts : oc_load_opts_default();
    oc_model *m = oc_model_new();
    if (!m) return oc_fail(ctx, OC_ERR_NOMEM, "%s: out of memory", path);
    loader L = {.ctx = ctx, .m = m, .path = path};
    oc_wire_skel sk = {0};
    Onnx__ModelProto *pm = NULL;
    char *dir = NULL;
    oc_status st;

    m->path = oc_arena_strdup(m->arena, path);
    dir = dir_of(path);
    if (!m->path || !dir) {
        st = NOMEM(&L);
        goto cleanup;
    }
    m->dir = oc_arena_strdup(m->arena, dir);
    if (!m->dir) {
        st = NOMEM(&L);
        goto cleanup;
    }
    st = map_file(ctx, m, path, path, &L.file, &L.file_size);
    if (st != OC_OK) goto cleanup;
    m->file_size = L.file_size;
    if (L.file_size == 0) {
        st = FAIL(&L, OC_ERR_INVALID, "%s: not an ONNX model: the file is empty", path);
        goto cleanup;
    }
    st = oc_wire_skeleton(ctx, path, L.file, L.file_size, o.borrow_min_bytes, &sk);
    if (st != OC_OK) goto cleanup;
    pc_arena pa = {m->arena, false};
    ProtobufCAllocator alloc = {pc_alloc, pc_free, &pa};
    pm = onnx__model_proto__unpack(&alloc, sk.len, sk.data);
    if (!pm && pa.oom) {
        st = NOMEM(&L);
        goto cleanup;
    }
    if (!pm) {
        st = FAIL(&L, OC_ERR_INVALID,
                  "%s: not a valid ONNX model: protobuf fields have the wrong types for ModelProto", path);
        goto cleanup;
    }
    if (!pm->graph) {
        st = FAIL(&L, OC_ERR_INVALID, "%s: not an ONNX model: it has no graph", path);
        goto cleanup;
    }
    if (!pm->has_ir_version && !pm->n_opset_import) {
        st = FAIL(&L, OC_ERR_INVALID, "%s: not an ONNX model: no IR version and no opset", path);
        goto cleanup;
    }
    L.dir_real = real_path(dir);
    if (!L.dir_real) {
        st = errno == ENOMEM ? NOMEM(&L)
                             : FAIL(&L, OC_ERR_READ, "%s: cannot resolve its folder: %s", path, strerror(errno));
        goto cleanup;
    }
    st = conv_model(&L, pm);
    if (st != OC_OK) goto cleanup;
    if (o.verify) {
        oc_ctx inner;
        oc_ctx_init(&inner);
        st = oc_graph_verify(&inner, m->graph);
        if (st != OC_OK) {
            oc_fail(ctx, st, "%s: %s", path, inner.msg);
            goto cleanup;
        }
    }
cleanup:
    oc_wire_skel_free(&sk);
    oc_free(L.dir_real);
    oc_free(dir);
    if (st != OC_OK) {
        oc_model_free(m);
        return st;
    }
    *out = m;
    return OC_OK;
}

/* ---- a lone TensorProto file (ONNX test data: input_0.pb ...) ---- */

oc_status oc_ten_load_pb(oc_ctx *ctx, const char *path, oc_ten *out, char *name, size_t name_cap)
{
    memset(out, 0, sizeof(*out));
    if (name && name_cap) name[0] = 0;
    oc_model *m = oc_model_new();
    if (!m) return oc_fail(ctx, OC_ERR_NOMEM, "%s: out of memory", path);
    loader L = {.ctx = ctx, .m = m, .path = path};
    char *dir = dir_of(path);
    oc_status st = OC_OK;
    if (!dir || !(m->dir = oc_arena_strdup(m->arena, dir))) {
        st = NOMEM(&L);
        goto cleanup;
    }
    st = map_file(ctx, m, path, path, &L.file, &L.file_size);
    if (st != OC_OK) goto cleanup;
    L.dir_real = real_path(dir);
    if (!L.dir_real) {
        st = errno == ENOMEM ? NOMEM(&L) : FAIL(&L, OC_ERR_READ, "%s: cannot resolve its folder", path);
        goto cleanup;
    }
    pc_arena pa = {m->arena, false};
    ProtobufCAllocator alloc = {pc_alloc, pc_free, &pa};
    Onnx__TensorProto *tp = onnx__tensor_proto__unpack(&alloc, L.file_size, L.file);
    if (!tp && pa.oom) {
        st = NOMEM(&L);
        goto cleanup;
    }
    if (!tp) {
        st = FAIL(&L, OC_ERR_INVALID, "%s: not a TensorProto file", path);
        goto cleanup;
    }
    oc_tensor *t;
    st = conv_tensor(&L, tp, &t);
    if (st != OC_OK) goto cleanup;
    if (t->dtype == OC_DTYPE_STRING) {
        st = FAIL(&L, OC_ERR_UNSUPPORTED, "%s: string tensors are not supported as data", path);
        goto cleanup;
    }
    if (t->ndim > OC_MAX_DIMS) {
        st = FAIL(&L, OC_ERR_UNSUPPORTED, "%s: rank %d tensor", path, t->ndim);
        goto cleanup;
    }
    st = oc_ten_new(ctx, out, t->dtype, t->ndim, t->dims);
    if (st != OC_OK) goto cleanup;
    if (t->nbytes != out->nbytes) {
        oc_ten_release(out);
        st = FAIL(&L, OC_ERR_INVALID, "%s: data size disagrees with dims", path);
        goto cleanup;
    }
    if (t->nbytes) memcpy(out->data, t->data, t->nbytes);
    if (name && name_cap && t->name) snprintf(name, name_cap, "%s", t->name);
cleanup:
    oc_free(L.dir_real);
    oc_free(dir);
    oc_model_free(m);
    return st;
}
