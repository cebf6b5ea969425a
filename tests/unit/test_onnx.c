/* test_onnx.c: the loader and writer on models crafted with protobuf-c:
 * every typed data field, raw and borrowed payloads, unknown fields, external
 * data, and the errors for broken files. */
#include "ir/ir.h"
#include "oc_proto.h"
#include "unit.h"

#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];

static void path_in(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", dir, name);
}

static void write_bytes(const char *p, const void *data, size_t n)
{
    FILE *f = fopen(p, "wb");
    if (!f) return;
    fwrite(data, 1, n, f);
    fclose(f);
}

static uint8_t *read_all(const char *p, size_t *n)
{
    FILE *f = fopen(p, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)sz + 1);
    *n = fread(b, 1, (size_t)sz, f);
    fclose(f);
    return b;
}

/* A model with one Identity per initializer, so every tensor is used. */
typedef struct builder {
    Onnx__ModelProto model;
    Onnx__GraphProto graph;
    Onnx__OperatorSetIdProto opset, *opsets[1];
    Onnx__TensorProto *inits[8];
    Onnx__NodeProto nodes[8], *node_ptrs[8];
    Onnx__ValueInfoProto outs[8], *out_ptrs[8];
    char *in_names[8][1], *out_names[8][1];
    char names[8][16];
    size_t n;
} builder;

static void b_init(builder *b)
{
    memset(b, 0, sizeof(*b));
    onnx__model_proto__init(&b->model);
    onnx__graph_proto__init(&b->graph);
    onnx__operator_set_id_proto__init(&b->opset);
    b->opset.domain = "";
    b->opset.has_version = 1;
    b->opset.version = 13;
    b->opsets[0] = &b->opset;
    b->model.has_ir_version = 1;
    b->model.ir_version = 7;
    b->model.producer_name = "unit";
    b->model.n_opset_import = 1;
    b->model.opset_import = b->opsets;
    b->model.graph = &b->graph;
    b->graph.name = "g";
}

static void b_add(builder *b, Onnx__TensorProto *t)
{
    size_t i = b->n++;
    b->inits[i] = t;
    snprintf(b->names[i], sizeof(b->names[i]), "out%zu", i);
    onnx__node_proto__init(&b->nodes[i]);
    b->in_names[i][0] = t->name;
    b->out_names[i][0] = b->names[i];
    b->nodes[i].op_type = "Identity";
    b->nodes[i].n_input = 1;
    b->nodes[i].input = b->in_names[i];
    b->nodes[i].n_output = 1;
    b->nodes[i].output = b->out_names[i];
    b->node_ptrs[i] = &b->nodes[i];
    onnx__value_info_proto__init(&b->outs[i]);
    b->outs[i].name = b->names[i];
    b->out_ptrs[i] = &b->outs[i];
    b->graph.n_initializer = b->n;
    b->graph.initializer = b->inits;
    b->graph.n_node = b->n;
    b->graph.node = b->node_ptrs;
    b->graph.n_output = b->n;
    b->graph.output = b->out_ptrs;
}

static void b_save(builder *b, const char *p)
{
    size_t n = onnx__model_proto__get_packed_size(&b->model);
    uint8_t *buf = malloc(n);
    onnx__model_proto__pack(&b->model, buf);
    write_bytes(p, buf, n);
    free(buf);
}

static Onnx__TensorProto *mk_tensor(Onnx__TensorProto *t, const char *name, int dtype, size_t ndim,
                                    int64_t *dims)
{
    onnx__tensor_proto__init(t);
    t->name = (char *)name;
    t->has_data_type = 1;
    t->data_type = dtype;
    t->n_dims = ndim;
    t->dims = dims;
    return t;
}

static oc_status load(const char *p, oc_model **m, oc_ctx *ctx)
{
    oc_ctx_init(ctx);
    return oc_model_load_file(ctx, p, NULL, m);
}

static bool files_equal(const char *a, const char *b)
{
    size_t na, nb;
    uint8_t *x = read_all(a, &na), *y = read_all(b, &nb);
    bool eq = x && y && na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return eq;
}

static void typed_fields_read_and_written_back(void)
{
    builder b;
    b_init(&b);
    int64_t d3[1] = {3}, d4[1] = {4}, d5[1] = {5};
    Onnx__TensorProto t[6];
    float fv[3] = {1.5f, -2.0f, 0.0f};
    mk_tensor(&t[0], "f", OC_DTYPE_FLOAT, 1, d3);
    t[0].n_float_data = 3;
    t[0].float_data = fv;
    int32_t hv[3] = {0x3c00, 0xc000, 0}; /* float16 bits in int32_data */
    mk_tensor(&t[1], "h", OC_DTYPE_FLOAT16, 1, d3);
    t[1].n_int32_data = 3;
    t[1].int32_data = hv;
    int32_t i8v[4] = {-128, -1, 0, 127};
    mk_tensor(&t[2], "i8", OC_DTYPE_INT8, 1, d4);
    t[2].n_int32_data = 4;
    t[2].int32_data = i8v;
    int64_t i64v[3] = {-5, 0, INT64_MAX};
    mk_tensor(&t[3], "i64", OC_DTYPE_INT64, 1, d3);
    t[3].n_int64_data = 3;
    t[3].int64_data = i64v;
    uint64_t u32v[3] = {0, 7, 0xffffffffu};
    mk_tensor(&t[4], "u32", OC_DTYPE_UINT32, 1, d3);
    t[4].n_uint64_data = 3;
    t[4].uint64_data = u32v;
    int32_t i4v[3] = {0x7f, 0x18, 0x09}; /* 5 int4 elements packed: -1,7,-8,1,-7 */
    mk_tensor(&t[5], "i4", OC_DTYPE_INT4, 1, d5);
    t[5].n_int32_data = 3;
    t[5].int32_data = i4v;
    for (int i = 0; i < 6; i++) b_add(&b, &t[i]);
    char in[512], out[512];
    path_in(in, sizeof(in), "typed.onnx");
    path_in(out, sizeof(out), "typed_out.onnx");
    b_save(&b, in);
    oc_model *m;
    oc_ctx ctx;
    CHECK(load(in, &m, &ctx) == OC_OK);
    if (!m) {
        printf("  %s\n", ctx.msg);
        return;
    }
    oc_graph *g = m->graph;
    CHECK(oc_tensor_get(oc_graph_initializer(g, "f"), 0) == 1.5);
    CHECK(oc_tensor_get(oc_graph_initializer(g, "h"), 1) == -2.0);
    CHECK(oc_tensor_get(oc_graph_initializer(g, "i8"), 0) == -128);
    CHECK(oc_tensor_get(oc_graph_initializer(g, "i8"), 3) == 127);
    CHECK(oc_tensor_get(oc_graph_initializer(g, "i64"), 0) == -5);
    CHECK(oc_tensor_get(oc_graph_initializer(g, "u32"), 2) == 4294967295.0);
    oc_tensor *q = oc_graph_initializer(g, "i4");
    CHECK(oc_tensor_get(q, 0) == -1 && oc_tensor_get(q, 1) == 7 && oc_tensor_get(q, 2) == -8);
    CHECK(oc_tensor_get(q, 3) == 1 && oc_tensor_get(q, 4) == -7);
    CHECK(oc_graph_initializer(g, "f")->enc == OC_ENC_TYPED);
    oc_save_opts so = oc_save_opts_default();
    CHECK(oc_model_save_file(&ctx, m, out, &so) == OC_OK);
    CHECK(files_equal(in, out)); /* typed fields written back as typed */
    oc_model_free(m);
}

static void raw_borrowed_and_unknown_fields(void)
{
    builder b;
    b_init(&b);
    int64_t d[2] = {64, 64};
    Onnx__TensorProto t;
    mk_tensor(&t, "big", OC_DTYPE_FLOAT, 2, d);
    float *vals = malloc(64 * 64 * 4);
    for (int i = 0; i < 64 * 64; i++) vals[i] = (float)i * 0.25f;
    t.has_raw_data = 1;
    t.raw_data.len = 64 * 64 * 4;
    t.raw_data.data = (uint8_t *)vals;
    /* a field from a newer ONNX: NodeProto field 9, as bytes */
    uint8_t unk_body[] = {3, 'a', 'b', 'c'};
    ProtobufCMessageUnknownField uf = {9, PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED, sizeof(unk_body), unk_body};
    b_add(&b, &t);
    b.nodes[0].base.n_unknown_fields = 1;
    b.nodes[0].base.unknown_fields = &uf;
    char in[512], out[512];
    path_in(in, sizeof(in), "raw.onnx");
    path_in(out, sizeof(out), "raw_out.onnx");
    b_save(&b, in);
    free(vals);
    oc_model *m;
    oc_ctx ctx;
    CHECK(load(in, &m, &ctx) == OC_OK);
    if (!m) return;
    oc_tensor *big = oc_graph_initializer(m->graph, "big");
    CHECK(big->mem == OC_MEM_BORROWED); /* 16 KiB: left in the mapping */
    CHECK(oc_tensor_get(big, 4095) == 4094 * 0.25 + 0.25);
    CHECK_EQ_INT(m->graph->nodes[0]->unk.n, 1);
    oc_save_opts so = oc_save_opts_default();
    CHECK(oc_model_save_file(&ctx, m, out, &so) == OC_OK);
    CHECK(files_equal(in, out));
    /* exists, no force: refused; input itself: refused */
    oc_ctx_init(&ctx);
    CHECK(oc_model_save_file(&ctx, m, out, &so) == OC_ERR_USAGE);
    oc_ctx_init(&ctx);
    so.force = true;
    CHECK(oc_model_save_file(&ctx, m, in, &so) == OC_ERR_USAGE);
    CHECK(strstr(ctx.msg, "input") != NULL);
    oc_model_free(m);
}

static void external_data_round_trip(void)
{
    builder b;
    b_init(&b);
    int64_t d[1] = {3000};
    Onnx__TensorProto t[2];
    float *v = malloc(3000 * 4);
    for (int i = 0; i < 3000; i++) v[i] = (float)i;
    mk_tensor(&t[0], "w0", OC_DTYPE_FLOAT, 1, d);
    t[0].has_raw_data = 1;
    t[0].raw_data.len = 12000;
    t[0].raw_data.data = (uint8_t *)v;
    int64_t ds[1] = {2};
    float sv[2] = {1, 2};
    mk_tensor(&t[1], "small", OC_DTYPE_FLOAT, 1, ds);
    t[1].has_raw_data = 1;
    t[1].raw_data.len = 8;
    t[1].raw_data.data = (uint8_t *)sv;
    b_add(&b, &t[0]);
    b_add(&b, &t[1]);
    char in[512], ext[512], back[512], data[512];
    path_in(in, sizeof(in), "ext_src.onnx");
    path_in(ext, sizeof(ext), "ext.onnx");
    path_in(back, sizeof(back), "ext_back.onnx");
    path_in(data, sizeof(data), "ext.onnx.data");
    b_save(&b, in);
    oc_model *m;
    oc_ctx ctx;
    CHECK(load(in, &m, &ctx) == OC_OK);
    if (!m) return;
    oc_save_opts so = oc_save_opts_default();
    so.external_min_bytes = 1024;
    CHECK(oc_model_save_file(&ctx, m, ext, &so) == OC_OK);
    oc_model_free(m);
    struct stat st;
    CHECK(stat(data, &st) == 0 && st.st_size == 12000);
    CHECK(load(ext, &m, &ctx) == OC_OK);
    if (!m) {
        printf("  %s\n", ctx.msg);
        free(v);
        return;
    }
    oc_tensor *w0 = oc_graph_initializer(m->graph, "w0");
    CHECK(w0->enc == OC_ENC_EXTERNAL && w0->nbytes == 12000);
    CHECK(oc_tensor_get(w0, 2999) == 2999.0);
    CHECK(oc_graph_initializer(m->graph, "small")->enc == OC_ENC_RAW);
    /* back inline: the same tensors, now in raw_data again */
    oc_tensor *ts[2] = {w0, oc_graph_initializer(m->graph, "small")};
    ts[0]->enc = OC_ENC_RAW;
    ts[0]->n_ext = 0;
    ts[0]->has_data_location = false;
    so.external_min_bytes = SIZE_MAX;
    CHECK(oc_model_save_file(&ctx, m, back, &so) == OC_OK);
    oc_model_free(m);
    CHECK(files_equal(in, back));
    free(v);
}

static void expect_error(const char *name, const void *bytes, size_t n, oc_status want, const char *needle)
{
    char p[512];
    path_in(p, sizeof(p), name);
    write_bytes(p, bytes, n);
    oc_model *m = NULL;
    oc_ctx ctx;
    oc_status st = load(p, &m, &ctx);
    if (st != want || !strstr(ctx.msg, needle) || !strstr(ctx.msg, p) || m) {
        printf("  %s: status %d msg '%s'\n", name, st, ctx.msg);
        unit_case_failed = 1;
    }
    oc_model_free(m);
}

static void broken_files(void)
{
    builder b;
    b_init(&b);
    int64_t d[1] = {3};
    float fv[3] = {1, 2, 3};
    Onnx__TensorProto t;
    mk_tensor(&t, "f", OC_DTYPE_FLOAT, 1, d);
    t.has_raw_data = 1;
    t.raw_data.len = 12;
    t.raw_data.data = (uint8_t *)fv;
    b_add(&b, &t);
    size_t n = onnx__model_proto__get_packed_size(&b.model);
    uint8_t *buf = malloc(n);
    onnx__model_proto__pack(&b.model, buf);
    expect_error("empty.onnx", "", 0, OC_ERR_INVALID, "empty");
    expect_error("trunc.onnx", buf, n - 5, OC_ERR_INVALID, "truncated");
    expect_error("text.onnx", "hello, I am not a model\n", 24, OC_ERR_INVALID, "not");
    /* a wrong raw_data length */
    t.raw_data.len = 8;
    onnx__model_proto__pack(&b.model, buf);
    expect_error("short_raw.onnx", buf, onnx__model_proto__get_packed_size(&b.model), OC_ERR_INVALID, "raw_data");
    t.raw_data.len = 12;
    /* dims whose product overflows */
    int64_t huge[2] = {1ll << 40, 1ll << 40};
    t.dims = huge;
    t.n_dims = 2;
    size_t n2 = onnx__model_proto__get_packed_size(&b.model);
    uint8_t *buf2 = malloc(n2);
    onnx__model_proto__pack(&b.model, buf2);
    expect_error("overflow.onnx", buf2, n2, OC_ERR_INVALID, "overflow");
    free(buf2);
    free(buf);
    char missing[512];
    path_in(missing, sizeof(missing), "does-not-exist.onnx");
    oc_model *m = NULL;
    oc_ctx ctx;
    CHECK(load(missing, &m, &ctx) == OC_ERR_READ);
    CHECK(strstr(ctx.msg, missing) != NULL);
}

static void deep_nesting_refused(void)
{
    /* 5000 nested attribute graphs: must fail cleanly, not blow the stack */
    size_t depth = 5000;
    size_t cap = depth * 16 + 64;
    uint8_t *buf = malloc(cap);
    /* build from the inside out: graph{node{attribute{g=graph{...}}}} */
    size_t len = 0;
    uint8_t *tmp = malloc(cap);
    for (size_t i = 0; i < depth; i++) {
        /* wrap current (a GraphProto body) as attr.g (field 6), node.attribute (5), graph.node (1) */
        uint8_t fields[3] = {6 << 3 | 2, 5 << 3 | 2, 1 << 3 | 2};
        for (int k = 0; k < 3; k++) {
            size_t h = 0;
            tmp[h++] = fields[k];
            size_t v = len;
            while (v >= 0x80) {
                tmp[h++] = (uint8_t)(v | 0x80);
                v >>= 7;
            }
            tmp[h++] = (uint8_t)v;
            memcpy(tmp + h, buf, len);
            len += h;
            memcpy(buf, tmp, len);
        }
    }
    uint8_t *model = malloc(len + 16);
    size_t h = 0;
    model[h++] = 7 << 3 | 2;
    size_t v = len;
    while (v >= 0x80) {
        model[h++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    model[h++] = (uint8_t)v;
    memcpy(model + h, buf, len);
    expect_error("deep.onnx", model, h + len, OC_ERR_INVALID, "nested");
    free(model);
    free(tmp);
    free(buf);
}

int main(void)
{
    snprintf(dir, sizeof(dir), "/tmp/oc-unit-onnx-XXXXXX");
    if (!mkdtemp(dir)) return 1;
    RUN(typed_fields_read_and_written_back);
    RUN(raw_borrowed_and_unknown_fields);
    RUN(external_data_round_trip);
    RUN(broken_files);
    RUN(deep_nesting_refused);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("could not remove %s\n", dir);
    UNIT_END("onnx");
}
