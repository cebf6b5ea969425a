/* write.c: our IR back into an ONNX file, safely.
 *
 * The IR is converted into protobuf-c structs allocated from a scratch arena;
 * tensor payloads are not copied: raw_data points at the bytes wherever they
 * live (the mapped input file, the arena, a pass's buffer). protobuf-c then
 * packs the model straight into a buffered writer on a temporary file in the
 * destination folder, which is renamed over the destination only once every
 * byte is written. A failure at any point removes the temporary files and
 * leaves the destination as it was; a signal handler can remove them too
 * (oc_remove_pending_outputs). Temporary names are unique per process and
 * per save, so several savers of one output (threads or processes) each
 * leave one complete file, the last rename winning. Every file-system call
 * here can be made to fail on purpose (oc_io_fail_at) to test all this.
 *
 * Tensors are written as they came (raw_data, typed fields or external data)
 * unless a pass replaced their data. External data goes to one file,
 * "<output file name>.data", beside the output. */
#include "../ir/ir.h"
#include "oc_proto.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROTOBUF_LIMIT ((uint64_t)INT32_MAX)

oc_save_opts oc_save_opts_default(void)
{
    oc_save_opts o = {.external_min_bytes = SIZE_MAX, .allow_overwrite_input = false, .force = false};
    return o;
}

/* ---- temporary files a signal handler may remove ----
 *
 * A save puts the name of each temporary file it creates in a slot of this
 * table before creating it, and frees the slot once the file is renamed into
 * place or removed; oc_remove_pending_outputs() unlinks every live one. Slots
 * are claimed atomically, so saves running on several threads each have
 * their own, and the handler reads only lock-free atomics and finished
 * names. */
#define PENDING_SLOTS 64
enum { SLOT_FREE = 0, SLOT_CLAIMED = 1, SLOT_LIVE = 2 };
static char pending_path[PENDING_SLOTS][PATH_MAX];
static _Atomic int pending_state[PENDING_SLOTS];
/* saves between their first and last rename (see commit()) */
static _Atomic int committing;
static_assert(ATOMIC_INT_LOCK_FREE == 2, "the signal handler needs lock-free atomics");

void oc_remove_pending_outputs(void)
{
    /* A save renaming its files on another thread (its own thread holds
     * signals off meanwhile) finishes first: a process that dies between
     * a data file's rename and its model's would leave a mismatched pair. */
    while (atomic_load(&committing) > 0) {
    }
    for (int i = 0; i < PENDING_SLOTS; i++)
        if (atomic_load(&pending_state[i]) == SLOT_LIVE) unlink(pending_path[i]);
}

/* A free slot, or -1 when all are taken (that file then goes unregistered:
 * only a signal would leave it behind). */
static int slot_claim(void)
{
    for (int i = 0; i < PENDING_SLOTS; i++) {
        int expect = SLOT_FREE;
        if (atomic_compare_exchange_strong(&pending_state[i], &expect, SLOT_CLAIMED)) return i;
    }
    return -1;
}

/* ---- file-system calls, each failing on demand (oc_io_fail_at) ---- */

static ssize_t io_write(int fd, const void *p, size_t n)
{
    int e = oc_io_fail_check();
    if (e) {
        errno = e;
        return -1;
    }
    return write(fd, p, n);
}

/* The descriptor is closed even when a failure is injected. */
static int io_close(int fd)
{
    int e = oc_io_fail_check();
    int r = close(fd);
    if (e) {
        errno = e;
        return -1;
    }
    return r;
}

static int io_rename(const char *from, const char *to)
{
    int e = oc_io_fail_check();
    if (e) {
        errno = e;
        return -1;
    }
    return rename(from, to);
}

static int io_link(const char *from, const char *to)
{
    int e = oc_io_fail_check();
    if (e) {
        errno = e;
        return -1;
    }
    return link(from, to);
}

static int io_create(const char *path)
{
    int e = oc_io_fail_check();
    if (e) {
        errno = e;
        return -1;
    }
    return open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
}

/* ---- buffered file writer fed by protobuf-c ---- */

typedef struct file_out {
    ProtobufCBuffer base;
    int fd;
    uint8_t *buf;
    size_t len, cap;
    uint64_t written;
    int err; /* first errno */
} file_out;

static void out_flush(file_out *o)
{
    size_t off = 0;
    while (off < o->len && !o->err) {
        ssize_t w = io_write(o->fd, o->buf + off, o->len - off);
        if (w < 0) {
            if (errno == EINTR) continue;
            o->err = errno;
            break;
        }
        off += (size_t)w;
    }
    o->written += o->len;
    o->len = 0;
}

static void out_direct(file_out *o, const uint8_t *data, size_t len)
{
    while (len && !o->err) {
        size_t chunk = len > (1u << 30) ? (1u << 30) : len;
        ssize_t w = io_write(o->fd, data, chunk);
        if (w < 0) {
            if (errno == EINTR) continue;
            o->err = errno;
            break;
        }
        data += w;
        len -= (size_t)w;
        o->written += (uint64_t)w;
    }
}

static void out_append(ProtobufCBuffer *b, size_t len, const uint8_t *data)
{
    file_out *o = (file_out *)b;
    if (o->err || len == 0) return;
    if (len >= o->cap / 2) {
        out_flush(o);
        out_direct(o, data, len);
        return;
    }
    if (o->len + len > o->cap) out_flush(o);
    memcpy(o->buf + o->len, data, len);
    o->len += len;
}

/* ---- IR -> protobuf-c ---- */

typedef struct writer {
    oc_ctx *ctx;
    const oc_model *m;
    const char *path;       /* destination, for messages */
    oc_arena *a;            /* scratch for the protobuf-c structs */
    size_t ext_min;         /* externalize tensors of at least this size */
    const char *ext_name;   /* location written into the model */
    /* external data to write: tensor payloads in order */
    const oc_tensor **ext_t;
    uint64_t *ext_off;
    size_t n_ext, cap_ext;
    uint64_t ext_size;
    bool oom;
} writer;

static void *pc_alloc(void *ud, size_t n)
{
    return oc_arena_alloc(ud, n);
}

static void pc_free(void *ud, void *p)
{
    (void)ud;
    (void)p;
}

static void *W_alloc(writer *w, size_t n)
{
    void *p = oc_arena_alloc(w->a, n);
    if (!p) w->oom = true;
    return p;
}

static void *W_array(writer *w, size_t n, size_t elem)
{
    void *p = oc_arena_array(w->a, n ? n : 1, elem);
    if (!p) w->oom = true;
    return p;
}

static void set_unknowns(ProtobufCMessage *b, const oc_unknowns *u)
{
    b->n_unknown_fields = (unsigned)u->n;
    b->unknown_fields = (ProtobufCMessageUnknownField *)u->v;
}

static ProtobufCMessage *unblob(writer *w, const ProtobufCMessageDescriptor *d, const oc_blob *b)
{
    ProtobufCAllocator alloc = {pc_alloc, pc_free, w->a};
    ProtobufCMessage *msg = protobuf_c_message_unpack(d, &alloc, b->len, b->data);
    if (!msg) w->oom = true; /* it parsed once: only memory can fail now */
    return msg;
}

static ProtobufCBinaryData *byte_list(writer *w, const oc_bytes *b, size_t n)
{
    if (!n || !b) return NULL;
    ProtobufCBinaryData *out = W_array(w, n, sizeof(*out));
    if (!out) return NULL;
    for (size_t i = 0; i < n; i++) {
        out[i].data = (uint8_t *)b[i].data;
        out[i].len = b[i].len;
    }
    return out;
}

static Onnx__StringStringEntryProto **kvs(writer *w, const oc_kv *kv, size_t n)
{
    if (!n) return NULL;
    Onnx__StringStringEntryProto **v = W_array(w, n, sizeof(*v));
    Onnx__StringStringEntryProto *e = W_array(w, n, sizeof(*e));
    if (!v || !e) return NULL;
    for (size_t i = 0; i < n; i++) {
        onnx__string_string_entry_proto__init(&e[i]);
        e[i].key = (char *)kv[i].key;
        e[i].value = (char *)kv[i].value;
        set_unknowns(&e[i].base, &kv[i].unk);
        v[i] = &e[i];
    }
    return v;
}

static Onnx__OperatorSetIdProto **opsets(writer *w, const oc_opset *o, size_t n)
{
    if (!n) return NULL;
    Onnx__OperatorSetIdProto **v = W_array(w, n, sizeof(*v));
    Onnx__OperatorSetIdProto *e = W_array(w, n, sizeof(*e));
    if (!v || !e) return NULL;
    for (size_t i = 0; i < n; i++) {
        onnx__operator_set_id_proto__init(&e[i]);
        e[i].domain = (char *)o[i].domain;
        e[i].has_version = o[i].has_version;
        e[i].version = o[i].version;
        set_unknowns(&e[i].base, &o[i].unk);
        v[i] = &e[i];
    }
    return v;
}

static char *fmt_u64(writer *w, uint64_t v)
{
    char *s = W_alloc(w, 24);
    if (s) snprintf(s, 24, "%llu", (unsigned long long)v);
    return s;
}

static bool add_ext(writer *w, const oc_tensor *t, uint64_t *off)
{
    if (w->n_ext == w->cap_ext) {
        size_t nc = w->cap_ext ? w->cap_ext * 2 : 64;
        const oc_tensor **nt = oc_realloc(w->ext_t, nc * sizeof(*nt));
        if (!nt) return false;
        w->ext_t = nt;
        uint64_t *no = oc_realloc(w->ext_off, nc * sizeof(*no));
        if (!no) return false;
        w->ext_off = no;
        w->cap_ext = nc;
    }
    /* page-align large payloads so readers can map them */
    uint64_t align = t->nbytes >= 4096 ? 4096 : 64;
    uint64_t o = (w->ext_size + align - 1) / align * align;
    w->ext_t[w->n_ext] = t;
    w->ext_off[w->n_ext] = o;
    w->n_ext++;
    w->ext_size = o + t->nbytes;
    *off = o;
    return true;
}

/* Typed arrays from raw layout, for tensors that came in typed fields. */
static void put_typed(writer *w, const oc_tensor *t, Onnx__TensorProto *p)
{
    size_t n = (size_t)t->numel;
    const uint8_t *d = t->data;
    int bits = oc_dtype_bits(t->dtype);
    switch (t->dtype) {
    case OC_DTYPE_FLOAT:
    case OC_DTYPE_COMPLEX64: {
        size_t c = t->nbytes / 4;
        float *f = W_array(w, c, 4);
        if (f) memcpy(f, d, c * 4);
        p->n_float_data = c;
        p->float_data = f;
        return;
    }
    case OC_DTYPE_DOUBLE:
    case OC_DTYPE_COMPLEX128: {
        size_t c = t->nbytes / 8;
        double *f = W_array(w, c, 8);
        if (f) memcpy(f, d, c * 8);
        p->n_double_data = c;
        p->double_data = f;
        return;
    }
    case OC_DTYPE_INT64: {
        int64_t *f = W_array(w, n, 8);
        if (f) memcpy(f, d, n * 8);
        p->n_int64_data = n;
        p->int64_data = f;
        return;
    }
    case OC_DTYPE_UINT64:
    case OC_DTYPE_UINT32: {
        uint64_t *f = W_array(w, n, 8);
        if (!f) return;
        for (size_t i = 0; i < n; i++) {
            if (t->dtype == OC_DTYPE_UINT64) {
                memcpy(&f[i], d + 8 * i, 8);
            } else {
                uint32_t v;
                memcpy(&v, d + 4 * i, 4);
                f[i] = v;
            }
        }
        p->n_uint64_data = n;
        p->uint64_data = f;
        return;
    }
    default: {
        /* int32_data: one element per entry, or one packed byte for 4-bit */
        size_t c = bits == 4 ? t->nbytes : n;
        int wb = bits == 4 ? 1 : bits / 8;
        int32_t *f = W_array(w, c, 4);
        if (!f) return;
        for (size_t i = 0; i < c; i++) {
            uint32_t v = 0;
            for (int b = 0; b < wb; b++) v |= (uint32_t)d[i * (size_t)wb + (size_t)b] << (8 * b);
            if (t->dtype == OC_DTYPE_INT8) f[i] = (int8_t)v;
            else if (t->dtype == OC_DTYPE_INT16) f[i] = (int16_t)v;
            else f[i] = (int32_t)v;
        }
        p->n_int32_data = c;
        p->int32_data = f;
        return;
    }
    }
}

static Onnx__TensorProto *tensor(writer *w, const oc_tensor *t)
{
    Onnx__TensorProto *p = W_alloc(w, sizeof(*p));
    if (!p) return NULL;
    onnx__tensor_proto__init(p);
    p->name = (char *)t->name;
    p->doc_string = (char *)t->doc_string;
    p->has_data_type = t->has_dtype;
    p->data_type = t->dtype;
    p->n_dims = (size_t)t->ndim;
    p->dims = t->dims;
    if (t->has_segment) {
        Onnx__TensorProto__Segment *s = W_alloc(w, sizeof(*s));
        if (!s) return NULL;
        onnx__tensor_proto__segment__init(s);
        s->has_begin = t->has_seg_begin;
        s->begin = t->seg_begin;
        s->has_end = t->has_seg_end;
        s->end = t->seg_end;
        p->segment = s;
    }
    set_unknowns(&p->base, &t->unk);
    p->has_data_location = t->has_data_location;
    p->data_location = t->data_location;
    if (t->dtype == OC_DTYPE_STRING) {
        p->n_string_data = t->strings ? (size_t)t->numel : 0;
        p->string_data = byte_list(w, t->strings, p->n_string_data);
        return p;
    }
    bool external = t->enc == OC_ENC_EXTERNAL || (t->enc != OC_ENC_NONE && t->nbytes >= w->ext_min);
    if (external && t->nbytes > 0) {
        uint64_t off;
        if (!add_ext(w, t, &off)) {
            w->oom = true;
            return NULL;
        }
        oc_kv kv[3] = {{"location", w->ext_name, {0}}, {"offset", fmt_u64(w, off), {0}},
                       {"length", fmt_u64(w, t->nbytes), {0}}};
        p->n_external_data = 3;
        p->external_data = kvs(w, kv, 3);
        p->has_data_location = true;
        p->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
        return p;
    }
    if (t->enc == OC_ENC_EXTERNAL) { /* empty external tensor: keep it inline */
        p->has_data_location = false;
        p->has_raw_data = true;
        return p;
    }
    if (t->enc == OC_ENC_TYPED) {
        put_typed(w, t, p);
        return p;
    }
    if (t->enc == OC_ENC_RAW) {
        p->has_raw_data = true;
        p->raw_data.len = t->nbytes;
        p->raw_data.data = (uint8_t *)t->data;
    }
    return p;
}

static Onnx__GraphProto *graph(writer *w, const oc_graph *g);

static Onnx__ValueInfoProto **values(writer *w, oc_value *const *v, size_t n)
{
    if (!n) return NULL;
    Onnx__ValueInfoProto **out = W_array(w, n, sizeof(*out));
    if (!out) return NULL;
    for (size_t i = 0; i < n; i++) {
        const oc_value *val = v[i];
        if (!val->dirty && val->orig.len) {
            out[i] = (Onnx__ValueInfoProto *)unblob(w, &onnx__value_info_proto__descriptor, &val->orig);
            continue;
        }
        Onnx__ValueInfoProto *p = W_alloc(w, sizeof(*p));
        if (!p) return NULL;
        onnx__value_info_proto__init(p);
        p->name = (char *)val->name;
        p->doc_string = (char *)val->doc_string;
        if (val->has_type && val->type.kind == OC_TYPE_TENSOR) {
            Onnx__TypeProto *tp = W_alloc(w, sizeof(*tp));
            Onnx__TypeProto__Tensor *tt = W_alloc(w, sizeof(*tt));
            if (!tp || !tt) return NULL;
            onnx__type_proto__init(tp);
            onnx__type_proto__tensor__init(tt);
            tt->has_elem_type = true;
            tt->elem_type = val->type.elem_type;
            if (val->type.has_shape) {
                Onnx__TensorShapeProto *sh = W_alloc(w, sizeof(*sh));
                if (!sh) return NULL;
                onnx__tensor_shape_proto__init(sh);
                sh->n_dim = (size_t)val->type.ndim;
                sh->dim = W_array(w, sh->n_dim, sizeof(*sh->dim));
                Onnx__TensorShapeProto__Dimension *ds = W_array(w, sh->n_dim, sizeof(*ds));
                if (!sh->dim || !ds) return NULL;
                for (size_t k = 0; k < sh->n_dim; k++) {
                    onnx__tensor_shape_proto__dimension__init(&ds[k]);
                    const oc_dim *d = &val->type.dims[k];
                    if (d->kind == OC_DIM_VALUE) {
                        ds[k].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
                        ds[k].dim_value = d->value;
                    } else if (d->kind == OC_DIM_PARAM) {
                        ds[k].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
                        ds[k].dim_param = (char *)d->param;
                    }
                    sh->dim[k] = &ds[k];
                }
                tt->shape = sh;
            }
            tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
            tp->tensor_type = tt;
            p->type = tp;
        }
        out[i] = p;
    }
    return out;
}

static void *blobs(writer *w, const ProtobufCMessageDescriptor *d, const oc_blob *b, size_t n)
{
    if (!n) return NULL;
    ProtobufCMessage **out = W_array(w, n, sizeof(*out));
    if (!out) return NULL;
    for (size_t i = 0; i < n; i++) out[i] = unblob(w, d, &b[i]);
    return out;
}

static Onnx__AttributeProto *attr(writer *w, const oc_attr *a)
{
    Onnx__AttributeProto *p = W_alloc(w, sizeof(*p));
    if (!p) return NULL;
    onnx__attribute_proto__init(p);
    p->name = (char *)a->name;
    p->ref_attr_name = (char *)a->ref_attr_name;
    p->doc_string = (char *)a->doc_string;
    p->has_type = a->has_type;
    p->type = a->type;
    p->has_f = a->has_f;
    p->f = a->f;
    p->has_i = a->has_i;
    p->i = a->i;
    p->has_s = a->has_s;
    p->s.len = a->s.len;
    p->s.data = (uint8_t *)a->s.data;
    if (a->t) p->t = tensor(w, a->t);
    if (a->g) p->g = graph(w, a->g);
    if (a->sparse_tensor.len)
        p->sparse_tensor = (Onnx__SparseTensorProto *)unblob(w, &onnx__sparse_tensor_proto__descriptor, &a->sparse_tensor);
    if (a->tp.len) p->tp = (Onnx__TypeProto *)unblob(w, &onnx__type_proto__descriptor, &a->tp);
    p->n_floats = a->n_floats;
    p->floats = a->floats;
    p->n_ints = a->n_ints;
    p->ints = a->ints;
    p->n_strings = a->n_strings;
    p->strings = byte_list(w, a->strings, a->n_strings);
    if (a->n_tensors) {
        p->tensors = W_array(w, a->n_tensors, sizeof(*p->tensors));
        if (!p->tensors) return NULL;
        for (size_t i = 0; i < a->n_tensors; i++) p->tensors[i] = tensor(w, a->tensors[i]);
        p->n_tensors = a->n_tensors;
    }
    if (a->n_graphs) {
        p->graphs = W_array(w, a->n_graphs, sizeof(*p->graphs));
        if (!p->graphs) return NULL;
        for (size_t i = 0; i < a->n_graphs; i++) p->graphs[i] = graph(w, a->graphs[i]);
        p->n_graphs = a->n_graphs;
    }
    p->sparse_tensors = blobs(w, &onnx__sparse_tensor_proto__descriptor, a->sparse_tensors, a->n_sparse_tensors);
    p->n_sparse_tensors = p->sparse_tensors ? a->n_sparse_tensors : 0;
    p->type_protos = blobs(w, &onnx__type_proto__descriptor, a->type_protos, a->n_type_protos);
    p->n_type_protos = p->type_protos ? a->n_type_protos : 0;
    set_unknowns(&p->base, &a->unk);
    return p;
}

static Onnx__NodeProto *node(writer *w, const oc_node *n)
{
    Onnx__NodeProto *p = W_alloc(w, sizeof(*p));
    if (!p) return NULL;
    onnx__node_proto__init(p);
    p->n_input = n->n_inputs;
    p->input = (char **)n->inputs;
    p->n_output = n->n_outputs;
    p->output = (char **)n->outputs;
    p->name = (char *)n->name;
    p->op_type = (char *)n->op_type;
    p->domain = (char *)n->domain;
    p->doc_string = (char *)n->doc_string;
    if (n->n_attrs) {
        p->attribute = W_array(w, n->n_attrs, sizeof(*p->attribute));
        if (!p->attribute) return NULL;
        for (size_t i = 0; i < n->n_attrs; i++) p->attribute[i] = attr(w, &n->attrs[i]);
        p->n_attribute = n->n_attrs;
    }
    set_unknowns(&p->base, &n->unk);
    return p;
}

static Onnx__GraphProto *graph(writer *w, const oc_graph *g)
{
    Onnx__GraphProto *p = W_alloc(w, sizeof(*p));
    if (!p) return NULL;
    onnx__graph_proto__init(p);
    p->name = (char *)g->name;
    p->doc_string = (char *)g->doc_string;
    if (g->n_nodes) {
        p->node = W_array(w, g->n_nodes, sizeof(*p->node));
        if (!p->node) return NULL;
        for (size_t i = 0; i < g->n_nodes; i++) p->node[i] = node(w, g->nodes[i]);
        p->n_node = g->n_nodes;
    }
    if (g->n_inits) {
        p->initializer = W_array(w, g->n_inits, sizeof(*p->initializer));
        if (!p->initializer) return NULL;
        for (size_t i = 0; i < g->n_inits; i++) p->initializer[i] = tensor(w, g->inits[i]);
        p->n_initializer = g->n_inits;
    }
    p->sparse_initializer = blobs(w, &onnx__sparse_tensor_proto__descriptor, g->sparse_inits, g->n_sparse_inits);
    p->n_sparse_initializer = p->sparse_initializer ? g->n_sparse_inits : 0;
    p->input = values(w, g->inputs, g->n_inputs);
    p->n_input = p->input ? g->n_inputs : 0;
    p->output = values(w, g->outputs, g->n_outputs);
    p->n_output = p->output ? g->n_outputs : 0;
    p->value_info = values(w, g->value_info, g->n_value_info);
    p->n_value_info = p->value_info ? g->n_value_info : 0;
    p->quantization_annotation =
        blobs(w, &onnx__tensor_annotation__descriptor, g->quant_annotations, g->n_quant_annotations);
    p->n_quantization_annotation = p->quantization_annotation ? g->n_quant_annotations : 0;
    set_unknowns(&p->base, &g->unk);
    return p;
}

static Onnx__FunctionProto *function(writer *w, const oc_function *f)
{
    Onnx__FunctionProto *p = W_alloc(w, sizeof(*p));
    if (!p) return NULL;
    onnx__function_proto__init(p);
    p->name = (char *)f->name;
    p->domain = (char *)f->domain;
    p->doc_string = (char *)f->doc_string;
    p->n_input = f->n_inputs;
    p->input = (char **)f->inputs;
    p->n_output = f->n_outputs;
    p->output = (char **)f->outputs;
    p->n_attribute = f->n_attributes;
    p->attribute = (char **)f->attributes;
    p->opset_import = opsets(w, f->opsets, f->n_opsets);
    p->n_opset_import = p->opset_import ? f->n_opsets : 0;
    if (f->n_nodes) {
        p->node = W_array(w, f->n_nodes, sizeof(*p->node));
        if (!p->node) return NULL;
        for (size_t i = 0; i < f->n_nodes; i++) p->node[i] = node(w, f->nodes[i]);
        p->n_node = f->n_nodes;
    }
    set_unknowns(&p->base, &f->unk);
    return p;
}

static Onnx__ModelProto *model(writer *w, const oc_model *m)
{
    Onnx__ModelProto *p = W_alloc(w, sizeof(*p));
    if (!p) return NULL;
    onnx__model_proto__init(p);
    p->has_ir_version = m->has_ir_version;
    p->ir_version = m->ir_version;
    p->opset_import = opsets(w, m->opsets, m->n_opsets);
    p->n_opset_import = p->opset_import ? m->n_opsets : 0;
    p->producer_name = (char *)m->producer_name;
    p->producer_version = (char *)m->producer_version;
    p->domain = (char *)m->domain;
    p->has_model_version = m->has_model_version;
    p->model_version = m->model_version;
    p->doc_string = (char *)m->doc_string;
    p->graph = m->graph ? graph(w, m->graph) : NULL;
    p->metadata_props = kvs(w, m->metadata, m->n_metadata);
    p->n_metadata_props = p->metadata_props ? m->n_metadata : 0;
    p->training_info = blobs(w, &onnx__training_info_proto__descriptor, m->training_info, m->n_training_info);
    p->n_training_info = p->training_info ? m->n_training_info : 0;
    if (m->n_functions) {
        p->functions = W_array(w, m->n_functions, sizeof(*p->functions));
        if (!p->functions) return NULL;
        for (size_t i = 0; i < m->n_functions; i++) p->functions[i] = function(w, m->functions[i]);
        p->n_functions = m->n_functions;
    }
    set_unknowns(&p->base, &m->unk);
    return p;
}

/* ---- files ---- */

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* A temporary file being written beside its destination. */
typedef struct temp_file {
    char path[PATH_MAX]; /* "" when there is none (any more) */
    int fd;
    int slot;            /* in the pending table, or -1 */
} temp_file;

static _Atomic unsigned temp_counter;

/* "DIR/.NAME.<tag><pid>-<n>" beside `path`, unique in this process and,
 * through the pid, among live processes. */
static bool temp_name(const char *path, const char *tag, char *out, size_t cap)
{
    const char *b = base_name(path);
    unsigned k = atomic_fetch_add(&temp_counter, 1);
    int n = snprintf(out, cap, "%.*s.%s.%s%ld-%u", (int)(b - path), path, b, tag, (long)getpid(), k);
    return n > 0 && (size_t)n < cap;
}

static oc_status dir_failure(oc_ctx *ctx, const char *path, int e)
{
    const char *b = base_name(path);
    return oc_fail(ctx, OC_ERR_WRITE, "%s: cannot create a file in folder '%.*s': %s", path,
                   b == path ? 1 : (int)(b - path), b == path ? "." : path, strerror(e));
}

/* Creates the temporary file for `path`, registered for the signal handler
 * before it exists so that no moment leaves it unregistered. */
static oc_status temp_create(oc_ctx *ctx, const char *path, temp_file *t)
{
    t->path[0] = 0;
    t->fd = -1;
    t->slot = slot_claim();
    for (int attempt = 0; attempt < 1000; attempt++) {
        char name[PATH_MAX];
        if (!temp_name(path, "tmp", name, sizeof(name))) break;
        if (t->slot >= 0) {
            memcpy(pending_path[t->slot], name, strlen(name) + 1);
            atomic_store(&pending_state[t->slot], SLOT_LIVE);
        }
        int fd = io_create(name);
        if (fd >= 0) {
            memcpy(t->path, name, strlen(name) + 1);
            t->fd = fd;
            return OC_OK;
        }
        int e = errno;
        if (t->slot >= 0) atomic_store(&pending_state[t->slot], SLOT_CLAIMED);
        if (e == EEXIST) continue; /* left by a dead process that had our pid */
        if (t->slot >= 0) atomic_store(&pending_state[t->slot], SLOT_FREE);
        t->slot = -1;
        return dir_failure(ctx, path, e);
    }
    if (t->slot >= 0) atomic_store(&pending_state[t->slot], SLOT_FREE);
    t->slot = -1;
    return oc_fail(ctx, OC_ERR_WRITE, "%s: path too long", path);
}

/* The file is in place (or gone): nothing for the handler to remove. */
static void temp_forget(temp_file *t)
{
    if (t->slot >= 0) atomic_store(&pending_state[t->slot], SLOT_FREE);
    t->slot = -1;
    t->path[0] = 0;
}

/* Closes and removes whatever is left of t. */
static void temp_drop(temp_file *t)
{
    if (t->fd >= 0) close(t->fd);
    t->fd = -1;
    if (t->path[0]) unlink(t->path);
    temp_forget(t);
}

/* Closes t's descriptor; a failure here can be a deferred write error. */
static oc_status temp_close(oc_ctx *ctx, temp_file *t, const char *shown)
{
    int fd = t->fd;
    t->fd = -1;
    if (io_close(fd) != 0) return oc_fail(ctx, OC_ERR_WRITE, "%s: write failed: %s", shown, strerror(errno));
    return OC_OK;
}

static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (stat(a, &sa) != 0 || stat(b, &sb) != 0) return false;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static oc_status write_ext(writer *w, int fd, const char *shown)
{
    file_out o = {.fd = fd};
    uint8_t zeros[4096] = {0};
    uint64_t pos = 0;
    for (size_t i = 0; i < w->n_ext && !o.err; i++) {
        const oc_tensor *t = w->ext_t[i];
        while (pos < w->ext_off[i] && !o.err) {
            uint64_t gap = w->ext_off[i] - pos;
            size_t k = gap > sizeof(zeros) ? sizeof(zeros) : (size_t)gap;
            out_direct(&o, zeros, k);
            pos += k;
        }
        out_direct(&o, t->data, t->nbytes);
        pos += t->nbytes;
    }
    if (o.err) return oc_fail(w->ctx, OC_ERR_WRITE, "%s: write failed: %s", shown, strerror(o.err));
    return OC_OK;
}

/* Puts the finished files in place: the external data first (when there is
 * some), then the model, whose rename is the moment the new output appears.
 *
 * Signals are held off meanwhile, so an interrupt comes before the first
 * rename (the temporary files go, the old output stays) or after the last
 * (the new output is complete); a handler running on another thread waits
 * for the renames to end (oc_remove_pending_outputs). A model with external data is two files
 * that cannot be replaced in one step: an exclusive flock() on the folder
 * keeps two onnxcomp processes from interleaving their pairs, and the old
 * data file is kept under a second name (a hard link) until the model's
 * rename succeeds, so that a failure puts it back. */
static oc_status commit(oc_ctx *ctx, temp_file *model, const char *path, temp_file *data,
                        const char *data_path)
{
    oc_status st = OC_OK;
    sigset_t hold, old;
    sigemptyset(&hold);
    sigaddset(&hold, SIGINT);
    sigaddset(&hold, SIGTERM);
    sigaddset(&hold, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &hold, &old);
    atomic_fetch_add(&committing, 1);
    int dir_fd = -1;
    char backup[PATH_MAX] = "";
    if (data) {
        const char *b = base_name(path);
        char dir[PATH_MAX];
        snprintf(dir, sizeof(dir), "%.*s", b == path ? 1 : (int)(b - path), b == path ? "." : path);
        dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd >= 0) {
            while (flock(dir_fd, LOCK_EX) != 0 && errno == EINTR) {
            }
        }
        /* no lock (a folder we may not read, a file system without flock):
         * the pair is still written, only not serialized */
        if (!temp_name(data_path, "old", backup, sizeof(backup)) || io_link(data_path, backup) != 0)
            backup[0] = 0;
        if (io_rename(data->path, data_path) != 0) {
            st = oc_fail(ctx, OC_ERR_WRITE, "%s: cannot rename into place: %s", data_path, strerror(errno));
            goto done;
        }
        temp_forget(data);
    }
    if (io_rename(model->path, path) != 0) {
        st = oc_fail(ctx, OC_ERR_WRITE, "%s: cannot rename into place: %s", path, strerror(errno));
        if (data) {
            /* the old model still names the old data: put that back */
            if (backup[0] && rename(backup, data_path) == 0) backup[0] = 0;
            else unlink(data_path);
        }
        goto done;
    }
    temp_forget(model);
done:
    if (backup[0]) unlink(backup);
    if (dir_fd >= 0) close(dir_fd); /* releases the lock */
    atomic_fetch_sub(&committing, 1);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return st;
}

oc_status oc_model_save_file(oc_ctx *ctx, const oc_model *m, const char *path, const oc_save_opts *opts)
{
    oc_save_opts so = opts ? *opts : oc_save_opts_default();
    oc_status st = OC_OK;
    writer w = {.ctx = ctx, .m = m, .path = path, .ext_min = so.external_min_bytes};
    char data_path[PATH_MAX];
    temp_file tm = {.fd = -1, .slot = -1}, td = {.fd = -1, .slot = -1};
    file_out out = {.fd = -1};

    if (m->path && !so.allow_overwrite_input && same_file(m->path, path))
        return oc_fail(ctx, OC_ERR_USAGE, "%s: refusing to overwrite the input model", path);
    struct stat sst;
    if (!so.force && stat(path, &sst) == 0)
        return oc_fail(ctx, OC_ERR_USAGE, "%s: already exists (use -f to overwrite)", path);
    if (stat(path, &sst) == 0 && S_ISDIR(sst.st_mode))
        return oc_fail(ctx, OC_ERR_WRITE, "%s: is a directory", path);
    int dn = snprintf(data_path, sizeof(data_path), "%s.data", path);
    if (dn < 0 || (size_t)dn >= sizeof(data_path)) return oc_fail(ctx, OC_ERR_WRITE, "%s: path too long", path);
    w.ext_name = base_name(data_path);

    w.a = oc_arena_new();
    if (!w.a) return oc_fail(ctx, OC_ERR_NOMEM, "%s: out of memory", path);
    Onnx__ModelProto *pm = model(&w, m);
    if (!pm || w.oom) {
        st = oc_fail(ctx, OC_ERR_NOMEM, "%s: out of memory", path);
        goto cleanup;
    }
    if (protobuf_c_message_get_packed_size(&pm->base) > PROTOBUF_LIMIT && w.ext_min > 1024) {
        /* over protobuf's 2 GiB limit: move the tensors out */
        oc_arena_free(w.a);
        w.a = oc_arena_new();
        w.n_ext = 0;
        w.ext_size = 0;
        w.ext_min = 1024;
        if (!w.a || !(pm = model(&w, m)) || w.oom) {
            st = oc_fail(ctx, OC_ERR_NOMEM, "%s: out of memory", path);
            goto cleanup;
        }
    }
    if (protobuf_c_message_get_packed_size(&pm->base) > PROTOBUF_LIMIT) {
        st = oc_fail(ctx, OC_ERR_UNSUPPORTED, "%s: the model is over 2 GiB even without its tensors", path);
        goto cleanup;
    }
    if (w.n_ext) {
        for (oc_mapping *mp = m->maps; mp; mp = mp->next)
            if (same_file(mp->path, data_path) && !so.force) {
                st = oc_fail(ctx, OC_ERR_USAGE, "%s: would replace the input's external data", data_path);
                goto cleanup;
            }
        st = temp_create(ctx, data_path, &td);
        if (st != OC_OK) goto cleanup;
        st = write_ext(&w, td.fd, data_path);
        if (st != OC_OK) goto cleanup;
        st = temp_close(ctx, &td, data_path);
        if (st != OC_OK) goto cleanup;
    }
    out.base.append = out_append;
    out.cap = (size_t)1 << 20;
    out.buf = oc_malloc(out.cap);
    if (!out.buf) {
        st = oc_fail(ctx, OC_ERR_NOMEM, "%s: out of memory", path);
        goto cleanup;
    }
    st = temp_create(ctx, path, &tm);
    if (st != OC_OK) goto cleanup;
    out.fd = tm.fd;
    protobuf_c_message_pack_to_buffer(&pm->base, &out.base);
    out_flush(&out);
    if (out.err) {
        st = oc_fail(ctx, OC_ERR_WRITE, "%s: write failed: %s", path, strerror(out.err));
        goto cleanup;
    }
    st = temp_close(ctx, &tm, path);
    if (st != OC_OK) goto cleanup;
    st = commit(ctx, &tm, path, w.n_ext ? &td : NULL, data_path);
cleanup:
    temp_drop(&tm);
    temp_drop(&td);
    oc_free(out.buf);
    oc_free(w.ext_t);
    oc_free(w.ext_off);
    oc_arena_free(w.a);
    return st;
}
