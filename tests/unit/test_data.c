/* test_data.c: sample data for the interpreter: .npy read/write and hostile
 * headers, PNG and JPEG written here with libpng/libjpeg and read back
 * (expansion of grey/palette/16-bit/alpha, resize, layouts, normalization),
 * hostile images, IDX plain and gzip with labels, ONNX test data folders,
 * the file-to-input matching, the split, and error messages that name the
 * file and the input. */
#include "data/data.h"
#include "unit.h"

#include <ftw.h>
#include <math.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jpeglib.h>
#include <png.h>
#include <zlib.h>

static char dir[256];

/* ---- helpers ---- */

static const char *P(const char *name)
{
    static char bufs[8][512];
    static int k;
    char *b = bufs[k++ & 7];
    snprintf(b, 512, "%s/%s", dir, name);
    return b;
}

static void mk(const char *name)
{
    mkdir(P(name), 0755);
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return;
    if (n) fwrite(data, 1, n, f);
    fclose(f);
}

static uint8_t *read_bytes(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)sz + 1);
    *n = fread(b, 1, (size_t)sz, f);
    fclose(f);
    return b;
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static void rm_tree(const char *p)
{
    nftw(p, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* A model input: dims < 0 are symbolic ("N"), ndim < 0 means no shape. */
typedef struct vspec {
    oc_value v;
    oc_dim d[OC_MAX_DIMS];
} vspec;

static const oc_value *input(vspec *s, const char *name, int dtype, int ndim, const int64_t *dims)
{
    memset(s, 0, sizeof(*s));
    s->v.name = name;
    s->v.has_type = true;
    s->v.type.kind = OC_TYPE_TENSOR;
    s->v.type.elem_type = dtype;
    if (ndim >= 0) {
        s->v.type.has_shape = true;
        s->v.type.ndim = ndim;
        s->v.type.dims = s->d;
        for (int i = 0; i < ndim; i++) {
            if (dims[i] >= 0) {
                s->d[i].kind = OC_DIM_VALUE;
                s->d[i].value = dims[i];
            } else {
                s->d[i].kind = OC_DIM_PARAM;
                s->d[i].param = "N";
            }
        }
    }
    return &s->v;
}

static bool msg_has(const oc_ctx *c, const char *s)
{
    bool ok = strstr(c->msg, s) != NULL;
    if (!ok) printf("  message '%s' lacks '%s'\n", c->msg, s);
    return ok;
}

static void ten_from(oc_ten *t, int dtype, int ndim, const int64_t *dims, const void *data)
{
    oc_ctx c;
    oc_ctx_init(&c);
    oc_ten_new(&c, t, dtype, ndim, dims);
    if (t->nbytes) memcpy(t->data, data, t->nbytes);
}

static void write_npy(const char *path, int dtype, int ndim, const int64_t *dims, const void *data)
{
    oc_ctx c;
    oc_ctx_init(&c);
    oc_ten t;
    ten_from(&t, dtype, ndim, dims, data);
    oc_npy_write(&c, path, &t);
    oc_ten_release(&t);
}

static float fat(const oc_ten *t, int64_t i)
{
    return ((const float *)t->data)[i];
}

/* One-input datasets: open, or fail with the message in c. */
static oc_status open1(oc_ctx *c, const char *src, const oc_value *v, const oc_data_opts *o, oc_dataset **d)
{
    oc_ctx_init(c);
    const oc_value *ins[1] = {v};
    return oc_dataset_open(c, src, 1, ins, o, d);
}

/* ---- npy ---- */

static void npy_round_trip(void)
{
    static const int types[] = {OC_DTYPE_FLOAT, OC_DTYPE_DOUBLE, OC_DTYPE_FLOAT16, OC_DTYPE_INT8,
                                OC_DTYPE_UINT8, OC_DTYPE_INT16, OC_DTYPE_UINT16, OC_DTYPE_INT32,
                                OC_DTYPE_UINT32, OC_DTYPE_INT64, OC_DTYPE_UINT64, OC_DTYPE_BOOL};
    const int64_t shapes[4][3] = {{0}, {5}, {2, 3, 4}, {3, 0, 2}};
    const int ranks[4] = {0, 1, 3, 3};
    for (size_t ti = 0; ti < sizeof(types) / sizeof(types[0]); ti++) {
        for (int si = 0; si < 4; si++) {
            oc_ctx c;
            oc_ctx_init(&c);
            oc_ten t, back;
            CHECK(oc_ten_new(&c, &t, types[ti], ranks[si], shapes[si]) == OC_OK);
            unsigned char *b = t.data;
            for (size_t i = 0; i < t.nbytes; i++) b[i] = (unsigned char)(i * 37 + 11);
            if (types[ti] == OC_DTYPE_BOOL)
                for (size_t i = 0; i < t.nbytes; i++) b[i] &= 1;
            const char *path = P("rt.npy");
            CHECK(oc_npy_write(&c, path, &t) == OC_OK);
            CHECK(oc_npy_read(&c, path, &back) == OC_OK);
            CHECK_EQ_INT(back.dtype, types[ti]);
            CHECK_EQ_INT(back.ndim, ranks[si]);
            for (int i = 0; i < ranks[si]; i++) CHECK_EQ_INT(back.dims[i], shapes[si][i]);
            CHECK_EQ_INT(back.nbytes, t.nbytes);
            CHECK(t.nbytes == 0 || memcmp(back.data, t.data, t.nbytes) == 0);
            /* the data starts 64-byte aligned, as numpy writes it */
            size_t n;
            uint8_t *raw = read_bytes(path, &n);
            CHECK(raw && (n - t.nbytes) % 64 == 0 && raw[n - t.nbytes - 1] == '\n');
            free(raw);
            oc_ten_release(&t);
            oc_ten_release(&back);
        }
    }
    /* the header numpy writes: byte for byte */
    size_t n;
    const int64_t d2[2] = {2, 3};
    float v[6] = {1, 2, 3, 4, 5, 6};
    write_npy(P("np.npy"), OC_DTYPE_FLOAT, 2, d2, v);
    uint8_t *raw = read_bytes(P("np.npy"), &n);
    const char *want = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    CHECK(raw && n == 128 + 24 && memcmp(raw + 10, want, strlen(want)) == 0);
    free(raw);
    /* no temporary file is left beside it */
    CHECK(access(P("np.npy.tmp"), F_OK) != 0);
    /* types numpy lacks: 4-bit unpacked one per byte, bfloat16 as its bits */
    oc_ctx c;
    oc_ctx_init(&c);
    oc_ten t4, back;
    CHECK(oc_ten_new(&c, &t4, OC_DTYPE_INT4, 1, (const int64_t[]){3}) == OC_OK);
    ((uint8_t *)t4.data)[0] = 0x9 | 0x7 << 4; /* -7, 7 */
    ((uint8_t *)t4.data)[1] = 0x8;            /* -8 */
    CHECK(oc_npy_write(&c, P("i4.npy"), &t4) == OC_OK);
    CHECK(oc_npy_read(&c, P("i4.npy"), &back) == OC_OK);
    CHECK(back.dtype == OC_DTYPE_INT8 && back.numel == 3);
    CHECK(back.data && ((int8_t *)back.data)[0] == -7 && ((int8_t *)back.data)[1] == 7 &&
          ((int8_t *)back.data)[2] == -8);
    oc_ten_release(&t4);
    oc_ten_release(&back);
    CHECK(oc_ten_new(&c, &t4, OC_DTYPE_BFLOAT16, 1, (const int64_t[]){2}) == OC_OK);
    ((uint16_t *)t4.data)[0] = 0x3f80; /* 1.0 */
    CHECK(oc_npy_write(&c, P("bf.npy"), &t4) == OC_OK);
    CHECK(oc_npy_read(&c, P("bf.npy"), &back) == OC_OK);
    CHECK(back.dtype == OC_DTYPE_UINT16 && ((uint16_t *)back.data)[0] == 0x3f80);
    oc_ten_release(&back);
    /* ... and feeds a bfloat16 input as such */
    vspec s;
    oc_dataset *d = NULL;
    mk("bfdir");
    CHECK(oc_npy_write(&c, P("bfdir/x.npy"), &t4) == OC_OK);
    oc_ten_release(&t4);
    memset(&s, 0, sizeof(s));
    s.v.name = "x";
    s.v.has_type = true;
    s.v.type.kind = OC_TYPE_TENSOR;
    s.v.type.elem_type = OC_DTYPE_BFLOAT16;
    const oc_value *ins[1] = {&s.v};
    CHECK(oc_dataset_open(&c, P("bfdir"), 1, ins, NULL, &d) == OC_OK);
    CHECK(oc_dataset_get(&c, d, 0, &back, NULL) == OC_OK);
    CHECK(back.dtype == OC_DTYPE_BFLOAT16 && ((uint16_t *)back.data)[0] == 0x3f80);
    oc_ten_release(&back);
    oc_dataset_free(d);
    CHECK(oc_ten_new(&c, &t4, OC_DTYPE_COMPLEX64, 1, (const int64_t[]){2}) == OC_OK);
    CHECK(oc_npy_write(&c, P("c.npy"), &t4) == OC_ERR_UNSUPPORTED);
    oc_ten_release(&t4);
}

/* A .npy with a given header dict (version 1.0) and data bytes. */
static void npy_raw(const char *path, int major, const char *dict, const void *data, size_t n)
{
    uint8_t buf[4096];
    size_t hl = strlen(dict), at = 0;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (uint8_t)major;
    buf[7] = 0;
    at = 8;
    if (major == 1) {
        buf[at++] = (uint8_t)hl, buf[at++] = (uint8_t)(hl >> 8);
    } else {
        for (int i = 0; i < 4; i++) buf[at++] = (uint8_t)(hl >> (8 * i));
    }
    memcpy(buf + at, dict, hl);
    at += hl;
    if (n) memcpy(buf + at, data, n);
    write_bytes(path, buf, at + n);
}

static oc_status npy_try(const char *dict, int major, size_t ndata, oc_ctx *c)
{
    uint8_t data[64] = {0};
    npy_raw(P("h.npy"), major, dict, data, ndata);
    oc_ctx_init(c);
    oc_ten t;
    oc_status st = oc_npy_read(c, P("h.npy"), &t);
    oc_ten_release(&t);
    return st;
}

static void npy_headers(void)
{
    oc_ctx c;
    /* accepted spellings */
    CHECK(npy_try("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }   \n", 1, 8, &c) == OC_OK);
    CHECK(npy_try("{\"shape\":(2,1),\"descr\":\"<i2\",\"fortran_order\":False}\n", 2, 4, &c) == OC_OK);
    CHECK(npy_try("{'descr': '|u1', 'fortran_order': False, 'shape': (3L,)}", 3, 3, &c) == OC_OK);
    CHECK(npy_try("{'descr': '<f8', 'fortran_order': False, 'shape': ()}", 1, 8, &c) == OC_OK);
    /* refused, each with a clean message naming the file */
    CHECK(npy_try("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", 1, 8, &c) == OC_ERR_UNSUPPORTED);
    CHECK(msg_has(&c, "h.npy") && msg_has(&c, "Fortran"));
    CHECK(npy_try("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 1, 8, &c) == OC_ERR_UNSUPPORTED);
    CHECK(msg_has(&c, "big-endian"));
    CHECK(npy_try("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", 1, 16, &c) == OC_ERR_UNSUPPORTED);
    CHECK(npy_try("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", 1, 8, &c) ==
          OC_ERR_UNSUPPORTED);
    CHECK(npy_try("{'descr': 'O', 'fortran_order': False, 'shape': (2,), }", 1, 16, &c) == OC_ERR_UNSUPPORTED);
    CHECK(npy_try("{'descr': '<f4', 'fortran_order': False, 'shape': (2), }", 1, 8, &c) == OC_ERR_INVALID);
    CHECK(npy_try("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", 1, 8, &c) == OC_ERR_INVALID);
    CHECK(npy_try("{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }", 1, 4, &c) ==
          OC_ERR_UNSUPPORTED);
    CHECK(npy_try("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", 1, 8, &c) == OC_ERR_INVALID);
    CHECK(npy_try("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", 1, 8, &c) ==
          OC_ERR_INVALID);
    CHECK(npy_try("{'descr': '<f4', 'shape': (2,)}", 1, 8, &c) == OC_ERR_INVALID);
    CHECK(msg_has(&c, "fortran_order"));
    CHECK(npy_try("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} x", 1, 8, &c) == OC_ERR_INVALID);
    CHECK(npy_try("garbage garbage garbage", 1, 8, &c) == OC_ERR_INVALID);
    CHECK(npy_try("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 1, 7, &c) == OC_ERR_INVALID);
    CHECK(msg_has(&c, "truncated"));
    CHECK(npy_try("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 1, 9, &c) == OC_ERR_INVALID);
    CHECK(msg_has(&c, "trailing"));
    CHECK(npy_try("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999,99999999999,), }", 1, 8,
                  &c) != OC_OK);
    CHECK(npy_try("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904,4,), }", 1, 8, &c) !=
          OC_OK);
    /* version 4 and a header length past the end of the file */
    uint8_t v4[] = {0x93, 'N', 'U', 'M', 'P', 'Y', 4, 0, 2, 0, '{', '}'};
    write_bytes(P("h.npy"), v4, sizeof(v4));
    oc_ten t;
    oc_ctx_init(&c);
    CHECK(oc_npy_read(&c, P("h.npy"), &t) == OC_ERR_UNSUPPORTED);
    uint8_t longhdr[] = {0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 0xff, 0xff, 0xff, 0x7f, '{', '}'};
    write_bytes(P("h.npy"), longhdr, sizeof(longhdr));
    oc_ctx_init(&c);
    CHECK(oc_npy_read(&c, P("h.npy"), &t) == OC_ERR_INVALID);
    CHECK(msg_has(&c, "past the end"));
    oc_ctx_init(&c);
    CHECK(oc_npy_read(&c, P("missing.npy"), &t) == OC_ERR_READ);

    /* every truncation and many byte flips of a good file: clean errors only */
    const int64_t d[2] = {3, 5};
    float v[15];
    for (int i = 0; i < 15; i++) v[i] = (float)i;
    write_npy(P("good.npy"), OC_DTYPE_FLOAT, 2, d, v);
    size_t n;
    uint8_t *good = read_bytes(P("good.npy"), &n);
    int ok = 0;
    for (size_t cut = 0; good && cut < n; cut++) {
        write_bytes(P("cut.npy"), good, cut);
        oc_ctx_init(&c);
        ok += oc_npy_read(&c, P("cut.npy"), &t) == OC_OK;
        oc_ten_release(&t);
    }
    CHECK_EQ_INT(ok, 0);
    uint32_t rng = 1;
    for (int k = 0; good && k < 3000; k++) {
        uint8_t *m = malloc(n);
        memcpy(m, good, n);
        rng = rng * 1103515245u + 12345u;
        size_t at = (rng >> 8) % 128;
        m[at] = (uint8_t)(rng >> 20);
        write_bytes(P("flip.npy"), m, n);
        oc_ctx_init(&c);
        if (oc_npy_read(&c, P("flip.npy"), &t) == OC_OK) {
            CHECK((size_t)t.numel * 4 <= n);
            oc_ten_release(&t);
        } else {
            CHECK(msg_has(&c, "flip.npy"));
        }
        free(m);
    }
    free(good);
}

static void half_conversion(void)
{
    CHECK(oc_data_half_to_float(0x3c00) == 1.0f);
    CHECK(oc_data_half_to_float(0xc000) == -2.0f);
    CHECK(oc_data_half_to_float(0x0001) == 0x1p-24f);
    CHECK(oc_data_half_to_float(0x7bff) == 65504.0f);
    CHECK(isinf(oc_data_half_to_float(0x7c00)));
    CHECK(isnan(oc_data_half_to_float(0x7e00)));
    CHECK_EQ_INT(oc_data_float_to_half(1.0f), 0x3c00);
    CHECK_EQ_INT(oc_data_float_to_half(65504.0f), 0x7bff);
    CHECK_EQ_INT(oc_data_float_to_half(65520.0f), 0x7c00);
    CHECK_EQ_INT(oc_data_float_to_half(0x1p-24f), 0x0001);
    CHECK_EQ_INT(oc_data_float_to_half(0x1p-25f), 0x0000);          /* tie to even */
    CHECK_EQ_INT(oc_data_float_to_half(1.0f + 0x1p-11f), 0x3c00);   /* tie to even */
    CHECK_EQ_INT(oc_data_float_to_half(1.0f + 0x3p-11f), 0x3c02);   /* tie to even, up */
    /* every half value survives half -> float -> half */
    int bad = 0;
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) continue; /* NaNs */
        bad += oc_data_float_to_half(oc_data_half_to_float((uint16_t)h)) != h;
    }
    CHECK_EQ_INT(bad, 0);
}

/* ---- npy folders ---- */

static void npy_folders(void)
{
    /* inputs named with '/' and ':' are matched by file name */
    mk("one");
    const int64_t da[2] = {1, 3}, db[1] = {2};
    float va[3] = {1, 2, 3};
    int32_t vb[2] = {7, -8};
    write_npy(P("one/in_a_0.npy"), OC_DTYPE_FLOAT, 2, da, va);
    write_npy(P("one/b.npy"), OC_DTYPE_INT32, 1, db, vb);
    vspec s1, s2;
    const int64_t sa[2] = {-1, 3}, sb[1] = {2};
    const oc_value *ins[2] = {input(&s1, "b", OC_DTYPE_INT64, 1, sb), input(&s2, "in/a:0", OC_DTYPE_FLOAT, 2, sa)};
    oc_ctx c;
    oc_ctx_init(&c);
    oc_dataset *d = NULL;
    CHECK(oc_dataset_open(&c, P("one"), 2, ins, NULL, &d) == OC_OK);
    CHECK_EQ_INT(oc_dataset_count(d), 1);
    CHECK(!oc_dataset_has_labels(d));
    CHECK(strcmp(oc_dataset_kind_name(d), "npy") == 0);
    oc_ten t[2];
    int64_t label = 5;
    CHECK(oc_dataset_get(&c, d, 0, t, &label) == OC_OK);
    CHECK_EQ_INT(label, -1);
    /* int32 data widened to the int64 input */
    CHECK_EQ_INT(t[0].dtype, OC_DTYPE_INT64);
    CHECK(((int64_t *)t[0].data)[0] == 7 && ((int64_t *)t[0].data)[1] == -8);
    CHECK(t[1].dtype == OC_DTYPE_FLOAT && t[1].dims[0] == 1 && t[1].dims[1] == 3 && fat(&t[1], 2) == 3.0f);
    oc_ten_release(&t[0]);
    oc_ten_release(&t[1]);
    CHECK(oc_dataset_get(&c, d, 1, t, NULL) == OC_ERR_USAGE);
    oc_dataset_free(d);

    /* float data for an int64 input: refused, naming file and input */
    write_npy(P("one/b.npy"), OC_DTYPE_FLOAT, 1, db, va);
    oc_ctx_init(&c);
    CHECK(oc_dataset_open(&c, P("one"), 2, ins, NULL, &d) == OC_ERR_USAGE);
    CHECK(msg_has(&c, "one/b.npy") && msg_has(&c, "input 'b'") && msg_has(&c, "f32"));
    /* out-of-range integers for a narrower input */
    int64_t big[2] = {1, 300};
    write_npy(P("one/b.npy"), OC_DTYPE_INT64, 1, db, big);
    vspec s3;
    const oc_value *ins8[2] = {input(&s3, "b", OC_DTYPE_UINT8, 1, sb), ins[1]};
    oc_ctx_init(&c);
    CHECK(oc_dataset_open(&c, P("one"), 2, ins8, NULL, &d) == OC_ERR_USAGE);
    CHECK(msg_has(&c, "one/b.npy") && msg_has(&c, "300"));

    /* shape mismatch: the message names the file and the input */
    write_npy(P("one/b.npy"), OC_DTYPE_INT32, 1, db, vb);
    const int64_t wrong[2] = {2, 3};
    write_npy(P("one/in_a_0.npy"), OC_DTYPE_FLOAT, 2, wrong, (float[6]){0});
    const int64_t fixed[2] = {1, 3};
    vspec s4;
    const oc_value *insf[2] = {ins[0], input(&s4, "in/a:0", OC_DTYPE_FLOAT, 2, fixed)};
    oc_ctx_init(&c);
    CHECK(oc_dataset_open(&c, P("one"), 2, insf, NULL, &d) == OC_ERR_USAGE);
    CHECK(msg_has(&c, "one/in_a_0.npy: input 'in/a:0': shape [2,3] does not fit the input's [1,3]"));
    /* the symbolic dim takes it */
    oc_ctx_init(&c);
    CHECK(oc_dataset_open(&c, P("one"), 2, ins, NULL, &d) == OC_OK);
    oc_dataset_free(d);

    /* by sorted order when names do not match but counts do */
    mk("ord");
    write_npy(P("ord/x1.npy"), OC_DTYPE_INT32, 1, db, vb);
    write_npy(P("ord/x2.npy"), OC_DTYPE_FLOAT, 2, da, va);
    oc_ctx_init(&c);
    CHECK(oc_dataset_open(&c, P("ord"), 2, ins, NULL, &d) == OC_OK);
    oc_dataset_free(d);
    /* wrong count of files */
    write_npy(P("ord/x3.npy"), OC_DTYPE_FLOAT, 2, da, va);
    oc_ctx_init(&c);
    CHECK(oc_dataset_open(&c, P("ord"), 2, ins, NULL, &d) == OC_ERR_USAGE);
    CHECK(msg_has(&c, "ord") && msg_has(&c, "input 'b'") && msg_has(&c, "3 .npy files for 2 inputs"));

    /* a folder of sample folders with labels.txt */
    mk("many");
    const int64_t d1[1] = {1};
    for (int i = 0; i < 4; i++) {
        char sub[64], f[64];
        snprintf(sub, sizeof(sub), "many/s%d", i);
        snprintf(f, sizeof(f), "many/s%d/x.npy", i);
        mk(sub);
        float v = (float)i;
        write_npy(P(f), OC_DTYPE_FLOAT, 1, d1, &v);
    }
    write_bytes(P("many/labels.txt"), "3\n1\n4\n1\n", 8);
    vspec sx;
    CHECK(open1(&c, P("many"), input(&sx, "x", OC_DTYPE_FLOAT, 1, d1), NULL, &d) == OC_OK);
    CHECK_EQ_INT(oc_dataset_count(d), 4);
    CHECK(oc_dataset_has_labels(d));
    const int64_t want_labels[4] = {3, 1, 4, 1};
    for (size_t i = 0; i < 4; i++) {
        CHECK(oc_dataset_get(&c, d, i, t, &label) == OC_OK);
        CHECK_EQ_INT(label, want_labels[i]);
        CHECK(fat(&t[0], 0) == (float)i);
        CHECK(strstr(oc_dataset_sample_name(d, i), "many/s") != NULL);
        oc_ten_release(&t[0]);
    }
    CHECK(oc_dataset_sample_name(d, 4) == NULL);
    oc_dataset_free(d);
    write_bytes(P("many/labels.txt"), "3\n1\n4\n", 6);
    CHECK(open1(&c, P("many"), &sx.v, NULL, &d) == OC_ERR_INVALID);
    CHECK(msg_has(&c, "labels.txt") && msg_has(&c, "3 labels for 4 samples"));
    write_bytes(P("many/labels.txt"), "3\n1\ncat\n1\n", 10);
    CHECK(open1(&c, P("many"), &sx.v, NULL, &d) == OC_ERR_INVALID);
    CHECK(msg_has(&c, "line 3") && msg_has(&c, "'cat'"));
    remove(P("many/labels.txt"));
    /* a sample folder without .npy files */
    mk("many/s9");
    CHECK(open1(&c, P("many"), &sx.v, NULL, &d) == OC_ERR_USAGE);
    CHECK(msg_has(&c, "many/s9"));
    rmdir(P("many/s9"));
    /* a lone .npy file */
    CHECK(open1(&c, P("many/s2/x.npy"), &sx.v, NULL, &d) == OC_OK);
    CHECK_EQ_INT(oc_dataset_count(d), 1);
    oc_dataset_free(d);
    /* nothing there */
    mk("empty");
    CHECK(open1(&c, P("empty"), &sx.v, NULL, &d) == OC_ERR_USAGE);
    CHECK(open1(&c, P("nope"), &sx.v, NULL, &d) == OC_ERR_READ);
}

/* ---- ONNX test data (TensorProto files encoded here) ---- */

static size_t varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    do {
        p[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    return n;
}

static void write_pb(const char *path, const char *name, int dtype, int ndim, const int64_t *dims, const void *raw,
                     size_t nraw)
{
    uint8_t buf[4096];
    size_t n = 0;
    for (int i = 0; i < ndim; i++) {
        buf[n++] = 0x08;
        n += varint(buf + n, (uint64_t)dims[i]);
    }
    buf[n++] = 0x10;
    n += varint(buf + n, (uint64_t)dtype);
    if (name) {
        buf[n++] = 0x42;
        n += varint(buf + n, strlen(name));
        memcpy(buf + n, name, strlen(name));
        n += strlen(name);
    }
    buf[n++] = 0x4a;
    n += varint(buf + n, nraw);
    memcpy(buf + n, raw, nraw);
    n += nraw;
    write_bytes(path, buf, n);
}

static void onnx_test_data(void)
{
    mk("tdata");
    const int64_t dm[2] = {1, 2};
    for (int s = 0; s < 3; s++) {
        char sub[64], f[64];
        snprintf(sub, sizeof(sub), "tdata/test_data_set_%d", s);
        mk(sub);
        float a[2] = {(float)s, 10.0f + (float)s};
        int64_t b[2] = {s, -s};
        /* stored in the other order than the model's: matched by tensor name */
        snprintf(f, sizeof(f), "tdata/test_data_set_%d/input_0.pb", s);
        write_pb(P(f), "b", OC_DTYPE_INT64, 2, dm, b, sizeof(b));
        snprintf(f, sizeof(f), "tdata/test_data_set_%d/input_1.pb", s);
        write_pb(P(f), "a", OC_DTYPE_FLOAT, 2, dm, a, sizeof(a));
        snprintf(f, sizeof(f), "tdata/test_data_set_%d/output_0.pb", s);
        write_pb(P(f), "y", OC_DTYPE_FLOAT, 2, dm, a, sizeof(a));
    }
    write_bytes(P("tdata/model.onnx"), "x", 1);
    vspec sa, sb;
    const int64_t sym[2] = {-1, 2};
    const oc_value *ins[2] = {input(&sa, "a", OC_DTYPE_FLOAT, 2, sym), input(&sb, "b", OC_DTYPE_INT64, 2, sym)};
    oc_ctx c;
    oc_ctx_init(&c);
    oc_dataset *d = NULL;
    CHECK(oc_dataset_open(&c, P("tdata"), 2, ins, NULL, &d) == OC_OK);
    CHECK_EQ_INT(oc_dataset_count(d), 3);
    CHECK(d && strcmp(oc_dataset_kind_name(d), "ONNX test data") == 0);
    for (size_t i = 0; i < oc_dataset_count(d); i++) {
        oc_ten t[2];
        CHECK(oc_dataset_get(&c, d, i, t, NULL) == OC_OK);
        CHECK(t[0].dtype == OC_DTYPE_FLOAT && fat(&t[0], 1) == 10.0f + (float)i);
        CHECK(t[1].dtype == OC_DTYPE_INT64 && ((int64_t *)t[1].data)[1] == -(int64_t)i);
        oc_ten_release(&t[0]);
        oc_ten_release(&t[1]);
    }
    oc_dataset_free(d);
    /* one test_data_set folder is one sample */
    oc_ctx_init(&c);
    CHECK(oc_dataset_open(&c, P("tdata/test_data_set_1"), 2, ins, NULL, &d) == OC_OK);
    CHECK_EQ_INT(oc_dataset_count(d), 1);
    oc_dataset_free(d);
    /* unnamed tensors go by order; a wrong type names file and input */
    float a[2] = {1, 2};
    write_pb(P("tdata/test_data_set_2/input_0.pb"), NULL, OC_DTYPE_FLOAT, 2, dm, a, sizeof(a));
    write_pb(P("tdata/test_data_set_2/input_1.pb"), NULL, OC_DTYPE_FLOAT, 2, dm, a, sizeof(a));
    oc_ctx_init(&c);
    CHECK(oc_dataset_open(&c, P("tdata/test_data_set_2"), 2, ins, NULL, &d) == OC_ERR_USAGE);
    CHECK(msg_has(&c, "test_data_set_2/input_1.pb: input 'b'") && msg_has(&c, "f32"));
    /* a corrupt .pb names its file */
    write_bytes(P("tdata/test_data_set_2/input_1.pb"), "\xff\xff\xff", 3);
    oc_ctx_init(&c);
    CHECK(oc_dataset_open(&c, P("tdata/test_data_set_2"), 2, ins, NULL, &d) != OC_OK);
    CHECK(msg_has(&c, "test_data_set_2/input_1.pb"));
    /* too few files */
    remove(P("tdata/test_data_set_2/input_1.pb"));
    oc_ctx_init(&c);
    CHECK(oc_dataset_open(&c, P("tdata"), 2, ins, NULL, &d) == OC_ERR_USAGE);
    CHECK(msg_has(&c, "test_data_set_2") && msg_has(&c, "1 input_*.pb files for 2"));
}

/* ---- images ---- */

static void write_png(const char *path, int w, int h, int color, int depth, const uint8_t *pix, size_t rowbytes,
                      const png_color *pal, int npal)
{
    FILE *f = fopen(path, "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fclose(f);
        return;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, color, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (pal) png_set_PLTE(png, info, pal, npal);
    png_write_info(png, info);
    for (int y = 0; y < h; y++) png_write_row(png, pix + (size_t)y * rowbytes);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    fclose(f);
}

static void write_jpeg(const char *path, int w, int h, int comps, const uint8_t *pix, int quality)
{
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr jerr;
    ci.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&ci);
    FILE *f = fopen(path, "wb");
    jpeg_stdio_dest(&ci, f);
    ci.image_width = (JDIMENSION)w;
    ci.image_height = (JDIMENSION)h;
    ci.input_components = comps;
    ci.in_color_space = comps == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, quality, TRUE);
    jpeg_start_compress(&ci, TRUE);
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW row = (JSAMPROW)(pix + (size_t)ci.next_scanline * (size_t)w * (size_t)comps);
        jpeg_write_scanlines(&ci, &row, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    fclose(f);
}

/* 4x2 RGB test pattern */
static const uint8_t pat[2][4][3] = {
    {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {10, 20, 30}},
    {{0, 0, 0}, {255, 255, 255}, {128, 64, 32}, {1, 2, 3}},
};

static void png_read_back(void)
{
    mk("img");
    write_png(P("img/a.png"), 4, 2, PNG_COLOR_TYPE_RGB, 8, &pat[0][0][0], 12, NULL, 0);
    oc_ctx c;
    oc_dataset *d = NULL;
    vspec s;
    /* NCHW, default scale 1/255 */
    const int64_t nchw[4] = {-1, 3, 2, 4};
    CHECK(open1(&c, P("img/a.png"), input(&s, "img", OC_DTYPE_FLOAT, 4, nchw), NULL, &d) == OC_OK);
    CHECK(d && strcmp(oc_dataset_kind_name(d), "image") == 0);
    oc_ten t;
    CHECK(oc_dataset_get(&c, d, 0, &t, NULL) == OC_OK);
    CHECK(t.ndim == 4 && t.dims[0] == 1 && t.dims[1] == 3 && t.dims[2] == 2 && t.dims[3] == 4);
    int bad = 0;
    for (int ch = 0; ch < 3; ch++)
        for (int y = 0; y < 2; y++)
            for (int x = 0; x < 4; x++)
                bad += fabsf(fat(&t, (ch * 2 + y) * 4 + x) - pat[y][x][ch] / 255.0f) > 1e-6f;
    CHECK_EQ_INT(bad, 0);
    oc_ten_release(&t);
    oc_dataset_free(d);

    /* NHWC, BGR, scale 1, mean/std in BGR order */
    oc_data_opts o = oc_data_opts_default();
    o.bgr = true;
    o.scale = 1.0f;
    o.mean[0] = 100, o.mean[1] = 50, o.mean[2] = 0;
    o.std[0] = 2, o.std[1] = 4, o.std[2] = 1;
    const int64_t nhwc[4] = {1, 2, 4, 3};
    CHECK(open1(&c, P("img/a.png"), input(&s, "img", OC_DTYPE_FLOAT, 4, nhwc), &o, &d) == OC_OK);
    CHECK(oc_dataset_get(&c, d, 0, &t, NULL) == OC_OK);
    bad = 0;
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 4; x++)
            for (int ch = 0; ch < 3; ch++)
                bad += fabsf(fat(&t, (y * 4 + x) * 3 + ch) - (pat[y][x][2 - ch] - o.mean[ch]) / o.std[ch]) > 1e-4f;
    CHECK_EQ_INT(bad, 0);
    oc_ten_release(&t);
    oc_dataset_free(d);

    /* grey input: luma; uint8 input: raw pixels; rank 3 without batch */
    const int64_t grey[4] = {1, 1, 2, 4};
    CHECK(open1(&c, P("img/a.png"), input(&s, "img", OC_DTYPE_FLOAT, 4, grey), NULL, &d) == OC_OK);
    CHECK(oc_dataset_get(&c, d, 0, &t, NULL) == OC_OK);
    CHECK(fabsf(fat(&t, 0) - 0.299f) < 1e-5f && fabsf(fat(&t, 5) - 1.0f) < 1e-5f);
    oc_ten_release(&t);
    oc_dataset_free(d);
    const int64_t hwc[3] = {2, 4, 3};
    CHECK(open1(&c, P("img/a.png"), input(&s, "img", OC_DTYPE_UINT8, 3, hwc), NULL, &d) == OC_OK);
    CHECK(oc_dataset_get(&c, d, 0, &t, NULL) == OC_OK);
    CHECK(t.ndim == 3 && t.dtype == OC_DTYPE_UINT8 && memcmp(t.data, pat, 24) == 0);
    oc_ten_release(&t);
    oc_dataset_free(d);

    /* grey, palette, 16-bit, RGBA and grey+alpha PNGs all decode to RGB */
    uint8_t g8[2][4] = {{0, 50, 100, 150}, {200, 250, 255, 1}};
    write_png(P("img/g8.png"), 4, 2, PNG_COLOR_TYPE_GRAY, 8, &g8[0][0], 4, NULL, 0);
    uint8_t g1[2][1] = {{0xA0}, {0x50}}; /* 1-bit grey: 1010 / 0101 */
    write_png(P("img/g1.png"), 4, 2, PNG_COLOR_TYPE_GRAY, 1, &g1[0][0], 1, NULL, 0);
    png_color pal[3] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}};
    uint8_t pidx[2][4] = {{0, 1, 2, 0}, {2, 2, 1, 0}};
    write_png(P("img/pal.png"), 4, 2, PNG_COLOR_TYPE_PALETTE, 8, &pidx[0][0], 4, pal, 3);
    uint8_t r16[2][4][6];
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 4; x++)
            for (int ch = 0; ch < 3; ch++) r16[y][x][2 * ch] = r16[y][x][2 * ch + 1] = pat[y][x][ch]; /* v * 257 */
    write_png(P("img/r16.png"), 4, 2, PNG_COLOR_TYPE_RGB, 16, &r16[0][0][0], 24, NULL, 0);
    uint8_t rgba[2][4][4];
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 4; x++) {
            memcpy(rgba[y][x], pat[y][x], 3);
            rgba[y][x][3] = (uint8_t)(x * 60);
        }
    write_png(P("img/rgba.png"), 4, 2, PNG_COLOR_TYPE_RGB_ALPHA, 8, &rgba[0][0][0], 16, NULL, 0);
    oc_image im;
    oc_ctx_init(&c);
    CHECK(oc_image_decode(&c, P("img/g8.png"), "g8", &im) == OC_OK);
    CHECK(im.w == 4 && im.h == 2 && im.rgb[3 * 5 + 0] == 250 && im.rgb[3 * 5 + 2] == 250);
    oc_image_free(&im);
    CHECK(oc_image_decode(&c, P("img/g1.png"), "g1", &im) == OC_OK);
    CHECK(im.rgb[0] == 255 && im.rgb[3] == 0 && im.rgb[3 * 4] == 0 && im.rgb[3 * 5 + 1] == 255);
    oc_image_free(&im);
    CHECK(oc_image_decode(&c, P("img/pal.png"), "pal", &im) == OC_OK);
    CHECK(im.rgb[3 * 1 + 1] == 255 && im.rgb[3 * 4 + 2] == 255 && im.rgb[3 * 7 + 0] == 255);
    oc_image_free(&im);
    CHECK(oc_image_decode(&c, P("img/r16.png"), "r16", &im) == OC_OK);
    CHECK(im.w == 4 && memcmp(im.rgb, pat, 24) == 0);
    oc_image_free(&im);
    CHECK(oc_image_decode(&c, P("img/rgba.png"), "rgba", &im) == OC_OK);
    CHECK(memcmp(im.rgb, pat, 24) == 0);
    oc_image_free(&im);

    /* a folder of images: sorted, unlabelled; non-images ignored */
    write_bytes(P("img/notes.txt"), "hi", 2);
    const int64_t n3[4] = {1, 3, 2, 4};
    CHECK(open1(&c, P("img"), input(&s, "img", OC_DTYPE_FLOAT, 4, n3), NULL, &d) == OC_OK);
    CHECK_EQ_INT(oc_dataset_count(d), 6);
    CHECK(!oc_dataset_has_labels(d));
    CHECK(strstr(oc_dataset_sample_name(d, 0), "img/a.png") && strstr(oc_dataset_sample_name(d, 5), "img/rgba.png"));
    oc_dataset_free(d);
}

/* The resize against a plain reference of its definition: source
 * coordinate (x + 0.5) * in / out - 0.5, clamped, linear between neighbours. */
static double ref_sample(const uint8_t *img, int sw, int sh, int ch, int c, double sx, double sy)
{
    sx = sx < 0 ? 0 : sx > sw - 1 ? sw - 1 : sx;
    sy = sy < 0 ? 0 : sy > sh - 1 ? sh - 1 : sy;
    int x0 = (int)floor(sx), y0 = (int)floor(sy);
    int x1 = x0 + 1 < sw ? x0 + 1 : x0, y1 = y0 + 1 < sh ? y0 + 1 : y0;
    double fx = sx - x0, fy = sy - y0;
#define PX(x, y) (double)img[((size_t)(y) * (size_t)sw + (size_t)(x)) * (size_t)ch + (size_t)c]
    return (1 - fy) * ((1 - fx) * PX(x0, y0) + fx * PX(x1, y0)) + fy * ((1 - fx) * PX(x0, y1) + fx * PX(x1, y1));
#undef PX
}

static void resize_bilinear(void)
{
    /* by hand: [0, 255] to 4 wide */
    const uint8_t two[2] = {0, 255};
    float out[4];
    CHECK(oc_image_resize(two, 2, 1, 1, out, 4, 1));
    CHECK(out[0] == 0.0f && out[1] == 63.75f && out[2] == 191.25f && out[3] == 255.0f);
    /* down and up, odd sizes, against the reference */
    const int sizes[][4] = {{7, 5, 3, 2}, {3, 2, 11, 7}, {16, 9, 16, 9}, {5, 5, 1, 1}, {1, 1, 3, 4}, {9, 4, 4, 13}};
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        int sw = sizes[k][0], sh = sizes[k][1], dw = sizes[k][2], dh = sizes[k][3];
        uint8_t *src = malloc((size_t)sw * sh * 3);
        float *dst = malloc(sizeof(float) * (size_t)dw * dh * 3);
        for (int i = 0; i < sw * sh * 3; i++) src[i] = (uint8_t)(i * 73 + 19);
        CHECK(oc_image_resize(src, sw, sh, 3, dst, dw, dh));
        double worst = 0;
        for (int y = 0; y < dh; y++)
            for (int x = 0; x < dw; x++)
                for (int c = 0; c < 3; c++) {
                    double sx = (x + 0.5) * sw / dw - 0.5, sy = (y + 0.5) * sh / dh - 0.5;
                    double e = fabs(dst[(y * dw + x) * 3 + c] - ref_sample(src, sw, sh, 3, c, sx, sy));
                    worst = e > worst ? e : worst;
                }
        CHECK(worst < 1e-3);
        free(src);
        free(dst);
    }
    /* through a dataset: resize given for a symbolic-size input */
    mk("rs");
    write_png(P("rs/a.png"), 4, 2, PNG_COLOR_TYPE_RGB, 8, &pat[0][0][0], 12, NULL, 0);
    oc_data_opts o = oc_data_opts_default();
    o.resize_w = 7, o.resize_h = 3;
    o.scale = 1;
    vspec s;
    const int64_t sym[4] = {-1, 3, -1, -1};
    oc_ctx c;
    oc_dataset *d = NULL;
    CHECK(open1(&c, P("rs"), input(&s, "x", OC_DTYPE_FLOAT, 4, sym), &o, &d) == OC_OK);
    oc_ten t;
    CHECK(oc_dataset_get(&c, d, 0, &t, NULL) == OC_OK);
    CHECK(t.dims[0] == 1 && t.dims[1] == 3 && t.dims[2] == 3 && t.dims[3] == 7);
    double worst = 0;
    for (int ch = 0; ch < 3; ch++)
        for (int y = 0; y < 3; y++)
            for (int x = 0; x < 7; x++) {
                double r = ref_sample(&pat[0][0][0], 4, 2, 3, ch, (x + 0.5) * 4 / 7 - 0.5, (y + 0.5) * 2 / 3 - 0.5);
                double e = fabs(fat(&t, (ch * 3 + y) * 7 + x) - r);
                worst = e > worst ? e : worst;
            }
    CHECK(worst < 1e-3);
    oc_ten_release(&t);
    oc_dataset_free(d);
    /* no size known: refused at open, naming the input */
    CHECK(open1(&c, P("rs"), &s.v, NULL, &d) == OC_ERR_USAGE);
    CHECK(msg_has(&c, "input 'x'") && msg_has(&c, "size"));
    /* a fixed size that disagrees with the one given */
    const int64_t fixed[4] = {1, 3, 224, 224};
    CHECK(open1(&c, P("rs"), input(&s, "x", OC_DTYPE_FLOAT, 4, fixed), &o, &d) == OC_ERR_USAGE);
    /* channels nowhere to be found */
    const int64_t odd[4] = {1, 5, 8, 8};
    CHECK(open1(&c, P("rs"), input(&s, "x", OC_DTYPE_FLOAT, 4, odd), NULL, &d) == OC_ERR_USAGE);
    CHECK(msg_has(&c, "layout"));
    /* an int64 input takes no image */
    const int64_t ok4[4] = {1, 3, 8, 8};
    CHECK(open1(&c, P("rs"), input(&s, "x", OC_DTYPE_INT64, 4, ok4), NULL, &d) == OC_ERR_USAGE);
    CHECK(msg_has(&c, "input 'x'"));
}

static void jpeg_read_back(void)
{
    mk("jp");
    uint8_t rgb[16 * 16 * 3], grey[16 * 16];
    for (int i = 0; i < 16 * 16; i++) {
        rgb[3 * i] = 200, rgb[3 * i + 1] = 100, rgb[3 * i + 2] = 50;
        grey[i] = 77;
    }
    write_jpeg(P("jp/c.JPG"), 16, 16, 3, rgb, 100);
    write_jpeg(P("jp/g.jpeg"), 16, 16, 1, grey, 100);
    oc_ctx c;
    oc_ctx_init(&c);
    oc_image im;
    CHECK(oc_image_decode(&c, P("jp/c.JPG"), "c", &im) == OC_OK);
    int bad = 0;
    for (int i = 0; i < 16 * 16 * 3; i++) bad += abs((int)im.rgb[i] - (int)rgb[i]) > 3;
    CHECK(im.w == 16 && im.h == 16 && bad == 0);
    oc_image_free(&im);
    CHECK(oc_image_decode(&c, P("jp/g.jpeg"), "g", &im) == OC_OK);
    bad = 0;
    for (int i = 0; i < 16 * 16 * 3; i++) bad += abs((int)im.rgb[i] - 77) > 1;
    CHECK(bad == 0);
    oc_image_free(&im);
    /* through a dataset: resized 16x16 -> 8x8, NHWC */
    vspec s;
    const int64_t nhwc[4] = {-1, 8, 8, 3};
    oc_dataset *d = NULL;
    CHECK(open1(&c, P("jp"), input(&s, "x", OC_DTYPE_FLOAT, 4, nhwc), NULL, &d) == OC_OK);
    CHECK_EQ_INT(oc_dataset_count(d), 2);
    oc_ten t;
    CHECK(oc_dataset_get(&c, d, 0, &t, NULL) == OC_OK);
    CHECK(t.dims[1] == 8 && t.dims[3] == 3 && fabsf(fat(&t, 0) - 200 / 255.0f) < 4 / 255.0f &&
          fabsf(fat(&t, 2) - 50 / 255.0f) < 4 / 255.0f);
    oc_ten_release(&t);
    oc_dataset_free(d);
}

static void class_folders(void)
{
    mk("cls");
    mk("cls/cat");
    mk("cls/dog");
    mk("cls/emu"); /* an empty class keeps its index */
    mk("cls/fox");
    write_png(P("cls/cat/1.png"), 4, 2, PNG_COLOR_TYPE_RGB, 8, &pat[0][0][0], 12, NULL, 0);
    write_png(P("cls/cat/2.png"), 4, 2, PNG_COLOR_TYPE_RGB, 8, &pat[0][0][0], 12, NULL, 0);
    write_png(P("cls/dog/1.png"), 4, 2, PNG_COLOR_TYPE_RGB, 8, &pat[0][0][0], 12, NULL, 0);
    write_png(P("cls/fox/a.png"), 4, 2, PNG_COLOR_TYPE_RGB, 8, &pat[0][0][0], 12, NULL, 0);
    vspec s;
    const int64_t n3[4] = {1, 3, 2, 4};
    oc_ctx c;
    oc_dataset *d = NULL;
    CHECK(open1(&c, P("cls"), input(&s, "x", OC_DTYPE_FLOAT, 4, n3), NULL, &d) == OC_OK);
    CHECK(oc_dataset_has_labels(d));
    CHECK_EQ_INT(oc_dataset_count(d), 4);
    const int64_t want[4] = {0, 0, 1, 3};
    for (size_t i = 0; i < 4; i++) {
        oc_ten t;
        int64_t label = -7;
        CHECK(oc_dataset_get(&c, d, i, &t, &label) == OC_OK);
        CHECK_EQ_INT(label, want[i]);
        oc_ten_release(&t);
    }
    oc_dataset_free(d);
}

static void hostile_images(void)
{
    mk("bad");
    oc_ctx c;
    oc_image im;
    /* truncated PNG and JPEG, at every length */
    uint8_t noise[32 * 32 * 3];
    for (size_t i = 0; i < sizeof(noise); i++) noise[i] = (uint8_t)(i * 2654435761u >> 13);
    write_png(P("bad/n.png"), 32, 32, PNG_COLOR_TYPE_RGB, 8, noise, 96, NULL, 0);
    write_jpeg(P("bad/n.jpg"), 32, 32, 3, noise, 90);
    const char *srcs[2] = {"bad/n.png", "bad/n.jpg"};
    for (int k = 0; k < 2; k++) {
        size_t n;
        uint8_t *good = read_bytes(P(srcs[k]), &n);
        CHECK(good != NULL);
        int ok = 0;
        /* up to the end of the pixel data (PNG: IEND, 12 bytes; JPEG: EOI, 2) */
        size_t tail = k == 0 ? 12 : 2;
        for (size_t cut = 0; good && cut < n - tail; cut++) {
            write_bytes(P("bad/cut.img"), good, cut);
            oc_ctx_init(&c);
            oc_status st = oc_image_decode(&c, P("bad/cut.img"), "cut.img", &im);
            if (st == OC_OK) {
                ok++;
                oc_image_free(&im);
            } else {
                CHECK(strncmp(c.msg, "cut.img: ", 9) == 0);
            }
        }
        CHECK_EQ_INT(ok, 0);
        /* byte flips past the signature: never a crash, errors name the file */
        uint32_t rng = 7;
        for (int it = 0; good && it < 1500; it++) {
            uint8_t *m = malloc(n);
            memcpy(m, good, n);
            for (int j = 0; j < 3; j++) {
                rng = rng * 1103515245u + 12345u;
                m[8 + (rng >> 4) % (n - 8)] = (uint8_t)(rng >> 24);
            }
            write_bytes(P("bad/flip.img"), m, n);
            oc_ctx_init(&c);
            if (oc_image_decode(&c, P("bad/flip.img"), "flip.img", &im) == OC_OK) {
                CHECK(im.w > 0 && im.h > 0 && im.w <= OC_IMAGE_MAX_SIDE);
                oc_image_free(&im);
            } else {
                CHECK(strncmp(c.msg, "flip.img: ", 10) == 0);
            }
            free(m);
        }
        free(good);
    }
    /* the truncation named through a dataset: file and input */
    size_t n;
    uint8_t *j = read_bytes(P("bad/n.jpg"), &n);
    write_bytes(P("bad/t.jpg"), j, n * 2 / 3);
    vspec s;
    const int64_t n3[4] = {1, 3, 32, 32};
    oc_dataset *d = NULL;
    CHECK(open1(&c, P("bad/t.jpg"), input(&s, "pic", OC_DTYPE_FLOAT, 4, n3), NULL, &d) == OC_ERR_INVALID);
    CHECK(msg_has(&c, "bad/t.jpg: input 'pic'") && msg_has(&c, "JPEG"));
    /* huge declared sizes: refused before any pixel memory */
    uint8_t *big = malloc(n);
    memcpy(big, j, n);
    for (size_t i = 0; i + 9 < n; i++)
        if (big[i] == 0xFF && big[i + 1] == 0xC0) {
            big[i + 5] = 0x4e, big[i + 6] = 0x20; /* height 20000 */
            big[i + 7] = 0x4e, big[i + 8] = 0x20; /* width 20000 */
            break;
        }
    write_bytes(P("bad/big.jpg"), big, n);
    oc_ctx_init(&c);
    CHECK(oc_image_decode(&c, P("bad/big.jpg"), "big.jpg", &im) == OC_ERR_INVALID);
    CHECK(msg_has(&c, "20000x20000") && msg_has(&c, "16384"));
    free(big);
    free(j);
    uint8_t png_big[8 + 25 + 12 + 12];
    memcpy(png_big, "\x89PNG\r\n\x1a\n", 8);
    uint8_t ihdr[4 + 4 + 13] = {0, 0, 0, 13, 'I', 'H', 'D', 'R', 0, 0, 0x4e, 0x20, 0, 0, 0x4e, 0x20, 8, 2, 0, 0, 0};
    memcpy(png_big + 8, ihdr, sizeof(ihdr));
    uint32_t crc = (uint32_t)crc32(0, ihdr + 4, 17);
    for (int i = 0; i < 4; i++) png_big[8 + 21 + i] = (uint8_t)(crc >> (24 - 8 * i));
    memcpy(png_big + 33, "\0\0\0\0IDAT\x35\xaf\x06\x1e\0\0\0\0IEND\xae\x42\x60\x82", 24);
    write_bytes(P("bad/big.png"), png_big, sizeof(png_big));
    oc_ctx_init(&c);
    CHECK(oc_image_decode(&c, P("bad/big.png"), "big.png", &im) == OC_ERR_INVALID);
    CHECK(msg_has(&c, "20000x20000"));
    /* garbage with an image name; a missing file */
    write_bytes(P("bad/g.png"), "not an image at all", 19);
    oc_ctx_init(&c);
    CHECK(oc_image_decode(&c, P("bad/g.png"), "g.png", &im) == OC_ERR_INVALID);
    oc_ctx_init(&c);
    CHECK(oc_image_decode(&c, P("bad/none.png"), "none.png", &im) == OC_ERR_READ);
    write_bytes(P("bad/h.jpg"), "\xff\xd8\xff\xe0 junk junk junk junk", 24);
    oc_ctx_init(&c);
    CHECK(oc_image_decode(&c, P("bad/h.jpg"), "h.jpg", &im) == OC_ERR_INVALID);
}

/* ---- IDX ---- */

static void write_idx(const char *path, int ndim, const uint32_t *dims, const uint8_t *data, size_t n, bool gz)
{
    uint8_t hdr[4 + 4 * 8] = {0, 0, 0x08, (uint8_t)ndim};
    for (int i = 0; i < ndim; i++)
        for (int b = 0; b < 4; b++) hdr[4 + 4 * i + b] = (uint8_t)(dims[i] >> (24 - 8 * b));
    if (gz) {
        gzFile g = gzopen(path, "wb");
        gzwrite(g, hdr, 4 + 4 * (unsigned)ndim);
        if (n) gzwrite(g, data, (unsigned)n);
        gzclose(g);
    } else {
        uint8_t *b = malloc(4 + 4 * (size_t)ndim + n + 1);
        memcpy(b, hdr, 4 + 4 * (size_t)ndim);
        if (n) memcpy(b + 4 + 4 * ndim, data, n);
        write_bytes(path, b, 4 + 4 * (size_t)ndim + n);
        free(b);
    }
}

static void idx_files(void)
{
    mk("idx");
    uint8_t px[3 * 2 * 3];
    for (int i = 0; i < 18; i++) px[i] = (uint8_t)(i * 15);
    uint8_t lab[3] = {7, 0, 9};
    const uint32_t di[3] = {3, 2, 3}, dl[1] = {3};
    for (int gz = 0; gz < 2; gz++) {
        const char *img = gz ? P("idx/t-images-idx3-ubyte.gz") : P("idx/t-images-idx3-ubyte");
        write_idx(img, 3, di, px, sizeof(px), gz);
        write_idx(gz ? P("idx/t-labels-idx1-ubyte.gz") : P("idx/t-labels-idx1-ubyte"), 1, dl, lab, 3, gz);
        /* [N,1,2,3]: the sample reshaped, N = 1 */
        vspec s;
        const int64_t sh[4] = {-1, 1, 2, 3};
        oc_ctx c;
        oc_dataset *d = NULL;
        CHECK(open1(&c, img, input(&s, "x", OC_DTYPE_FLOAT, 4, sh), NULL, &d) == OC_OK);
        CHECK_EQ_INT(oc_dataset_count(d), 3);
        CHECK(oc_dataset_has_labels(d));
        CHECK(d && strcmp(oc_dataset_sample_name(d, 2), "idx:2") == 0);
        for (size_t i = 0; i < 3; i++) {
            oc_ten t;
            int64_t l;
            CHECK(oc_dataset_get(&c, d, i, &t, &l) == OC_OK);
            CHECK(t.ndim == 4 && t.dims[0] == 1 && t.dims[3] == 3);
            CHECK_EQ_INT(l, lab[i]);
            int bad = 0;
            for (int k = 0; k < 6; k++) bad += fabsf(fat(&t, k) - px[i * 6 + (size_t)k] / 255.0f) > 1e-6f;
            CHECK_EQ_INT(bad, 0);
            oc_ten_release(&t);
        }
        oc_dataset_free(d);
        /* [1,6] with mean/std; a free dim takes the rest */
        oc_data_opts o = oc_data_opts_default();
        o.mean[0] = 0.5f, o.std[0] = 0.25f;
        const int64_t flat[2] = {1, -1};
        CHECK(open1(&c, img, input(&s, "x", OC_DTYPE_FLOAT, 2, flat), &o, &d) == OC_OK);
        oc_ten t;
        CHECK(oc_dataset_get(&c, d, 1, &t, NULL) == OC_OK);
        CHECK(t.dims[1] == 6 && fabsf(fat(&t, 5) - (px[11] / 255.0f - 0.5f) / 0.25f) < 1e-5f);
        oc_ten_release(&t);
        oc_dataset_free(d);
        /* uint8 input: raw pixels */
        const int64_t u8[3] = {1, 2, 3};
        CHECK(open1(&c, img, input(&s, "x", OC_DTYPE_UINT8, 3, u8), NULL, &d) == OC_OK);
        CHECK(oc_dataset_get(&c, d, 2, &t, NULL) == OC_OK);
        CHECK(memcmp(t.data, px + 12, 6) == 0);
        oc_ten_release(&t);
        oc_dataset_free(d);
        /* 7 values cannot hold a 2x3 sample */
        const int64_t seven[2] = {1, 7};
        CHECK(open1(&c, img, input(&s, "x", OC_DTYPE_FLOAT, 2, seven), NULL, &d) == OC_ERR_USAGE);
        CHECK(msg_has(&c, "t-images") && msg_has(&c, "input 'x'") && msg_has(&c, "[1,7]"));
        remove(img);
    }
    /* without labels; truncated; wrong label count; the labels file given */
    write_idx(P("idx/u-images-idx3-ubyte"), 3, di, px, sizeof(px), false);
    vspec s;
    const int64_t sh[3] = {-1, 2, 3};
    oc_ctx c;
    oc_dataset *d = NULL;
    CHECK(open1(&c, P("idx/u-images-idx3-ubyte"), input(&s, "x", OC_DTYPE_FLOAT, 3, sh), NULL, &d) == OC_OK);
    CHECK(!oc_dataset_has_labels(d));
    int64_t l = 3;
    oc_ten t;
    CHECK(oc_dataset_get(&c, d, 0, &t, &l) == OC_OK && l == -1);
    oc_ten_release(&t);
    oc_dataset_free(d);
    write_idx(P("idx/v-images-idx3-ubyte.gz"), 3, di, px, sizeof(px) - 1, true);
    CHECK(open1(&c, P("idx/v-images-idx3-ubyte.gz"), &s.v, NULL, &d) == OC_ERR_INVALID);
    CHECK(msg_has(&c, "truncated"));
    write_idx(P("idx/w-images-idx3-ubyte"), 3, di, px, sizeof(px), false);
    const uint32_t two[1] = {2};
    write_idx(P("idx/w-labels-idx1-ubyte"), 1, two, lab, 2, false);
    CHECK(open1(&c, P("idx/w-images-idx3-ubyte"), &s.v, NULL, &d) == OC_ERR_INVALID);
    CHECK(msg_has(&c, "w-labels-idx1-ubyte"));
    CHECK(open1(&c, P("idx/w-labels-idx1-ubyte"), &s.v, NULL, &d) == OC_ERR_USAGE);
    /* every truncation of a gzip IDX file: a clean error naming it */
    write_idx(P("idx/z-images-idx3-ubyte.gz"), 3, di, px, sizeof(px), true);
    size_t zn;
    uint8_t *z = read_bytes(P("idx/z-images-idx3-ubyte.gz"), &zn);
    int zok = 0;
    for (size_t cut = 0; z && cut < zn; cut++) {
        write_bytes(P("idx/cut-images-idx3-ubyte.gz"), z, cut);
        if (open1(&c, P("idx/cut-images-idx3-ubyte.gz"), &s.v, NULL, &d) == OC_OK) {
            zok++;
            oc_dataset_free(d);
        } else {
            CHECK(msg_has(&c, "cut-images"));
        }
    }
    CHECK_EQ_INT(zok, 0);
    free(z);
    /* a header declaring far more than the file holds */
    const uint32_t huge[3] = {60000000, 28, 28};
    write_idx(P("idx/h-images-idx3-ubyte"), 3, huge, px, sizeof(px), false);
    CHECK(open1(&c, P("idx/h-images-idx3-ubyte"), &s.v, NULL, &d) == OC_ERR_INVALID);
}

/* ---- the split ---- */

static void split_disjoint(void)
{
    mk("sp");
    enum { N = 101 };
    uint8_t px[N * 4];
    for (int i = 0; i < N * 4; i++) px[i] = (uint8_t)(i / 4);
    const uint32_t di[3] = {N, 2, 2};
    write_idx(P("sp/s-images-idx3-ubyte"), 3, di, px, sizeof(px), false);
    vspec s;
    const int64_t sh[4] = {-1, 1, 2, 2};
    input(&s, "x", OC_DTYPE_FLOAT, 4, sh);
    oc_ctx c;
    oc_data_opts o = oc_data_opts_default();
    size_t got[2][N], n[2];
    for (int part = 1; part <= 2; part++) {
        o.split = part;
        oc_dataset *d = NULL;
        CHECK(open1(&c, P("sp/s-images-idx3-ubyte"), &s.v, &o, &d) == OC_OK);
        n[part - 1] = oc_dataset_count(d);
        for (size_t i = 0; i < n[part - 1]; i++) {
            oc_ten t;
            CHECK(oc_dataset_get(&c, d, i, &t, NULL) == OC_OK);
            got[part - 1][i] = (size_t)lrintf(fat(&t, 0) * 255.0f);
            oc_ten_release(&t);
            /* in name order */
            if (i) CHECK(got[part - 1][i] > got[part - 1][i - 1]);
        }
        oc_dataset_free(d);
    }
    CHECK_EQ_INT(n[0], 51);
    CHECK_EQ_INT(n[0] + n[1], N);
    int seen[N] = {0};
    for (int p = 0; p < 2; p++)
        for (size_t i = 0; i < n[p]; i++) seen[got[p][i]]++;
    int once = 0;
    for (int i = 0; i < N; i++) once += seen[i] == 1;
    CHECK_EQ_INT(once, N);
    /* the same seed gives the same part; another seed another; a shuffle, not a cut */
    const char *names0[N];
    o.split = 1;
    oc_dataset *a = NULL, *b = NULL, *e = NULL;
    CHECK(open1(&c, P("sp/s-images-idx3-ubyte"), &s.v, &o, &a) == OC_OK);
    CHECK(open1(&c, P("sp/s-images-idx3-ubyte"), &s.v, &o, &b) == OC_OK);
    o.seed = 12345;
    CHECK(open1(&c, P("sp/s-images-idx3-ubyte"), &s.v, &o, &e) == OC_OK);
    int same = 0, diff = 0;
    for (size_t i = 0; i < oc_dataset_count(a); i++) {
        names0[i] = oc_dataset_sample_name(a, i);
        same += strcmp(names0[i], oc_dataset_sample_name(b, i)) == 0;
        diff += strcmp(names0[i], oc_dataset_sample_name(e, i)) != 0;
    }
    CHECK_EQ_INT(same, 51);
    CHECK(diff > 0);
    CHECK(got[0][n[0] - 1] > 51); /* not simply the first half */
    oc_dataset_free(a);
    oc_dataset_free(b);
    oc_dataset_free(e);
    /* limit after the split: a subset of the part */
    o.seed = 0;
    o.limit = 10;
    o.split = 2;
    CHECK(open1(&c, P("sp/s-images-idx3-ubyte"), &s.v, &o, &a) == OC_OK);
    CHECK_EQ_INT(oc_dataset_count(a), 10);
    int inpart = 0;
    for (size_t i = 0; i < 10; i++) {
        oc_ten t;
        CHECK(oc_dataset_get(&c, a, i, &t, NULL) == OC_OK);
        size_t v = (size_t)lrintf(fat(&t, 0) * 255.0f);
        for (size_t k = 0; k < n[1]; k++) inpart += got[1][k] == v;
        oc_ten_release(&t);
    }
    CHECK_EQ_INT(inpart, 10);
    oc_dataset_free(a);
    /* no split: all, limit takes the first ones */
    o.split = 0;
    o.limit = 5;
    CHECK(open1(&c, P("sp/s-images-idx3-ubyte"), &s.v, &o, &a) == OC_OK);
    CHECK(oc_dataset_count(a) == 5 && strcmp(oc_dataset_sample_name(a, 4), "idx:4") == 0);
    oc_dataset_free(a);
    /* one sample cannot feed both parts; bad options are refused */
    const uint32_t one[3] = {1, 2, 2};
    write_idx(P("sp/o-images-idx3-ubyte"), 3, one, px, 4, false);
    o.limit = 0;
    o.split = 2;
    CHECK(open1(&c, P("sp/o-images-idx3-ubyte"), &s.v, &o, &a) == OC_ERR_USAGE);
    CHECK(msg_has(&c, "evaluation"));
    o.split = 1;
    o.split_frac = 1.5;
    CHECK(open1(&c, P("sp/o-images-idx3-ubyte"), &s.v, &o, &a) == OC_ERR_USAGE);
    o.split_frac = 0.5;
    o.std[1] = 0;
    CHECK(open1(&c, P("sp/o-images-idx3-ubyte"), &s.v, &o, &a) == OC_ERR_USAGE);
}

/* ---- allocation failures: clean errors, nothing leaked (run under valgrind) ---- */

static void alloc_failures(void)
{
    vspec s;
    const int64_t n3[4] = {1, 3, 2, 4};
    input(&s, "img", OC_DTYPE_FLOAT, 4, n3);
    int failed = 0, ok = 0;
    for (uint64_t nth = 1; nth < 400; nth++) {
        oc_ctx c;
        oc_dataset *d = NULL;
        oc_ctx_init(&c);
        const oc_value *ins[1] = {&s.v};
        oc_alloc_fail_at(nth);
        oc_status st = oc_dataset_open(&c, P("img"), 1, ins, NULL, &d);
        oc_alloc_fail_at(0);
        if (st == OC_OK) {
            ok++;
            oc_dataset_free(d);
            break;
        }
        failed += st == OC_ERR_NOMEM;
        CHECK(d == NULL);
    }
    CHECK(ok == 1 && failed > 5);
}

int main(void)
{
    snprintf(dir, sizeof(dir), "/tmp/oc-test-data.XXXXXX");
    if (!mkdtemp(dir)) return 1;
    RUN(npy_round_trip);
    RUN(npy_headers);
    RUN(half_conversion);
    RUN(npy_folders);
    RUN(onnx_test_data);
    RUN(png_read_back);
    RUN(resize_bilinear);
    RUN(jpeg_read_back);
    RUN(class_folders);
    RUN(hostile_images);
    RUN(idx_files);
    RUN(split_disjoint);
    RUN(alloc_failures);
    /* KEEP=1 leaves the files for a look */
    if (!getenv("KEEP")) rm_tree(dir); else printf("kept %s\n", dir);
    UNIT_END("test_data");
}
