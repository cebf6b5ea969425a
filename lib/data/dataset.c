/* dataset.c: `--data SRC`: tells what SRC holds, lists its samples in a
 * deterministic order, splits them into calibration and evaluation parts,
 * and turns sample i into one tensor per model input.
 *
 * What is there decides the kind (see oc_data.h): input_*.pb files, then
 * .npy files, then images directly in SRC make SRC itself the data; else
 * test_data_set_* folders, else sub-folders holding .npy files (one sample
 * each), images (one class each) or input_*.pb files. A file SRC is an IDX
 * images file, or a lone .npy, .pb or image. Everything is sorted by name in
 * byte order, except input_N.pb which go by N.
 *
 * Opening checks as much as it can without reading every sample: the folder
 * layout, the file-to-input matching, every selected .npy header, labels,
 * and the whole of the first selected sample. A failure names the file and
 * the input: "<file>: input '<name>': <problem>". */
#include "data.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* labels.txt larger than this is not a labels file */
#define LABELS_MAX_BYTES ((long)64 << 20)
/* room for a path plus "input 'name'" in a message prefix */
#define WHO_CAP (PATH_MAX + 512)

typedef enum src_kind { SRC_NPY, SRC_PB, SRC_IDX, SRC_IMAGE } src_kind;

static const char *const kind_names[] = {"npy", "ONNX test data", "IDX", "image"};
static_assert(sizeof(kind_names) / sizeof(kind_names[0]) == SRC_IMAGE + 1, "a name per kind");

/* What a model input accepts, copied from its oc_value. */
typedef struct in_spec {
    const char *name;
    const char *npy;              /* file name matched to it: '/' and ':' -> '_', + ".npy" */
    int dtype;                    /* 0 when not declared */
    bool has_shape;
    int ndim;
    int64_t dims[OC_MAX_DIMS];    /* -1: symbolic or unknown */
    const char *syms[OC_MAX_DIMS];
} in_spec;

typedef struct sample {
    const char *name;             /* shown: the path, or "idx:N" */
    const char *path;             /* the file or folder */
    const char **files;           /* npy: one per input; pb: input_*.pb in N order */
    size_t n_files;
    size_t idx;                   /* IDX: index in the file */
    int64_t label;
} sample;

struct oc_dataset {
    src_kind kind;
    oc_arena *arena;
    oc_data_opts o;
    const char *src;
    size_t n_inputs;
    in_spec *in;
    sample *all;                  /* every sample, sorted */
    size_t n_all, cap_all;
    size_t *sel;                  /* the selected ones, ascending */
    size_t n_sel;
    bool has_labels;
    /* IDX */
    oc_idx idx;
    size_t idx_elems;             /* elements per sample */
    int out_ndim;                 /* the tensor shape of a sample */
    int64_t out_dims[OC_MAX_DIMS];
    /* images */
    oc_image_prep prep;
};

oc_data_opts oc_data_opts_default(void)
{
    return (oc_data_opts){
        .layout = 0,
        .scale = 1.0f / 255.0f,
        .mean = {0, 0, 0},
        .std = {1, 1, 1},
        .split = 0,
        .split_frac = 0.5,
    };
}

/* ---- small helpers ---- */

static const char *join(oc_arena *a, const char *dir, const char *name)
{
    size_t n = strlen(dir), m = strlen(name);
    bool slash = n && dir[n - 1] != '/';
    char *p = oc_arena_alloc(a, n + slash + m + 1);
    if (!p) return NULL;
    memcpy(p, dir, n);
    if (slash) p[n] = '/';
    memcpy(p + n + slash, name, m + 1);
    return p;
}

static bool ends_with_ci(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && strcasecmp(s + n - m, suffix) == 0;
}

/* "input_<digits>.pb": its number into *num. */
static bool pb_input_name(const char *name, unsigned long *num)
{
    if (strncmp(name, "input_", 6) != 0) return false;
    const char *p = name + 6;
    if (*p < '0' || *p > '9') return false;
    unsigned long v = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > 100000000ul) return false;
        v = v * 10 + (unsigned long)(*p - '0');
    }
    if (strcmp(p, ".pb") != 0) return false;
    *num = v;
    return true;
}

/* "[1,3,N,224]": a declared shape, symbols by name ("?" when unnamed). */
static void spec_text(const in_spec *in, char *buf, size_t cap)
{
    if (!in->has_shape) {
        snprintf(buf, cap, "(no shape)");
        return;
    }
    size_t n = 0;
    n += (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < in->ndim && n < cap; i++) {
        const char *sep = i ? "," : "";
        if (in->dims[i] >= 0)
            n += (size_t)snprintf(buf + n, cap - n, "%s%lld", sep, (long long)in->dims[i]);
        else
            n += (size_t)snprintf(buf + n, cap - n, "%s%s", sep, in->syms[i] ? in->syms[i] : "?");
    }
    if (n < cap) snprintf(buf + n, cap - n, "]");
}

static void dims_text(int ndim, const int64_t *dims, char *buf, size_t cap)
{
    size_t n = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? "," : "", (long long)dims[i]);
    if (n < cap) snprintf(buf + n, cap - n, "]");
}

static bool shape_fits(const in_spec *in, int ndim, const int64_t *dims)
{
    if (!in->has_shape) return true;
    if (ndim != in->ndim) return false;
    for (int i = 0; i < ndim; i++)
        if (in->dims[i] >= 0 && in->dims[i] != dims[i]) return false;
    return true;
}

/* 'f' float types, 'i' integers, 'b' bool, 0 anything else. */
static char family(int dtype)
{
    switch (dtype) {
    case OC_DTYPE_FLOAT16: case OC_DTYPE_FLOAT: case OC_DTYPE_DOUBLE: return 'f';
    case OC_DTYPE_INT8: case OC_DTYPE_UINT8: case OC_DTYPE_INT16: case OC_DTYPE_UINT16:
    case OC_DTYPE_INT32: case OC_DTYPE_UINT32: case OC_DTYPE_INT64: case OC_DTYPE_UINT64: return 'i';
    case OC_DTYPE_BOOL: return 'b';
    default: return 0;
    }
}

/* Bits of a type numpy lacks, stored the way ONNX's test data and
 * oc_npy_write store them: bfloat16 as u16, float8 as u8. */
static bool same_bits(int from, int to)
{
    if (from == OC_DTYPE_UINT16) return to == OC_DTYPE_BFLOAT16;
    if (from == OC_DTYPE_UINT8)
        return to == OC_DTYPE_FLOAT8E4M3FN || to == OC_DTYPE_FLOAT8E4M3FNUZ || to == OC_DTYPE_FLOAT8E5M2 ||
               to == OC_DTYPE_FLOAT8E5M2FNUZ;
    return false;
}

/* Data of type `from` can feed an input of type `to`: the same type, the
 * bits of a type numpy lacks, or another width of the same family
 * (integers checked for range). */
static bool convertible(int from, int to)
{
    return !to || from == to || same_bits(from, to) || (family(from) && family(from) == family(to));
}

/* Checks a data tensor's type and shape against an input. */
static oc_status check_fit(oc_ctx *ctx, const char *file, const in_spec *in, int dtype, int ndim, const int64_t *dims)
{
    if (!convertible(dtype, in->dtype))
        return oc_fail(ctx, OC_ERR_USAGE, "%s: input '%s': data is %s but the input is %s", file, in->name,
                       oc_dtype_name(dtype), oc_dtype_name(in->dtype));
    if (!shape_fits(in, ndim, dims)) {
        char a[200], b[200];
        dims_text(ndim, dims, a, sizeof(a));
        spec_text(in, b, sizeof(b));
        return oc_fail(ctx, OC_ERR_USAGE, "%s: input '%s': shape %s does not fit the input's %s", file, in->name,
                       a, b);
    }
    return OC_OK;
}

static double get_f(const void *p, int dtype, size_t i)
{
    const unsigned char *b = p;
    switch (dtype) {
    case OC_DTYPE_FLOAT16: { uint16_t v; memcpy(&v, b + 2 * i, 2); return oc_data_half_to_float(v); }
    case OC_DTYPE_FLOAT: { float v; memcpy(&v, b + 4 * i, 4); return v; }
    default: { double v; memcpy(&v, b + 8 * i, 8); return v; }
    }
}

static void put_f(void *p, int dtype, size_t i, double v)
{
    unsigned char *b = p;
    switch (dtype) {
    case OC_DTYPE_FLOAT16: { uint16_t h = oc_data_float_to_half((float)v); memcpy(b + 2 * i, &h, 2); break; }
    case OC_DTYPE_FLOAT: { float f = (float)v; memcpy(b + 4 * i, &f, 4); break; }
    default: memcpy(b + 8 * i, &v, 8); break;
    }
}

/* Integer element i; *big set for a u64 above INT64_MAX. */
static int64_t get_i(const void *p, int dtype, size_t i, bool *big)
{
    const unsigned char *b = p;
    *big = false;
    switch (dtype) {
    case OC_DTYPE_INT8: return (int8_t)b[i];
    case OC_DTYPE_UINT8: return b[i];
    case OC_DTYPE_INT16: { int16_t v; memcpy(&v, b + 2 * i, 2); return v; }
    case OC_DTYPE_UINT16: { uint16_t v; memcpy(&v, b + 2 * i, 2); return v; }
    case OC_DTYPE_INT32: { int32_t v; memcpy(&v, b + 4 * i, 4); return v; }
    case OC_DTYPE_UINT32: { uint32_t v; memcpy(&v, b + 4 * i, 4); return v; }
    case OC_DTYPE_INT64: { int64_t v; memcpy(&v, b + 8 * i, 8); return v; }
    default: {
        uint64_t v;
        memcpy(&v, b + 8 * i, 8);
        *big = v > (uint64_t)INT64_MAX;
        return (int64_t)v;
    }
    }
}

/* Stores v when the type holds it. */
static bool put_i(void *p, int dtype, size_t i, int64_t v)
{
    unsigned char *b = p;
    int64_t lo, hi;
    size_t size;
    switch (dtype) {
    case OC_DTYPE_INT8: lo = INT8_MIN, hi = INT8_MAX, size = 1; break;
    case OC_DTYPE_UINT8: lo = 0, hi = UINT8_MAX, size = 1; break;
    case OC_DTYPE_INT16: lo = INT16_MIN, hi = INT16_MAX, size = 2; break;
    case OC_DTYPE_UINT16: lo = 0, hi = UINT16_MAX, size = 2; break;
    case OC_DTYPE_INT32: lo = INT32_MIN, hi = INT32_MAX, size = 4; break;
    case OC_DTYPE_UINT32: lo = 0, hi = UINT32_MAX, size = 4; break;
    case OC_DTYPE_INT64: lo = INT64_MIN, hi = INT64_MAX, size = 8; break;
    default: lo = 0, hi = INT64_MAX, size = 8; break; /* UINT64 */
    }
    if (v < lo || v > hi) return false;
    /* little-endian two's complement: the low `size` bytes of v */
    uint64_t u = (uint64_t)v;
    for (size_t k = 0; k < size; k++) b[i * size + k] = (uint8_t)(u >> (8 * k));
    return true;
}

/* Moves data tensor *t into *out for input `in`, converting its type when
 * the input's differs. *t is consumed either way. */
static oc_status fit(oc_ctx *ctx, const char *file, const in_spec *in, oc_ten *t, oc_ten *out)
{
    oc_status st = check_fit(ctx, file, in, t->dtype, t->ndim, t->dims);
    if (st != OC_OK || !in->dtype || in->dtype == t->dtype || same_bits(t->dtype, in->dtype)) {
        if (st == OC_OK) {
            *out = *t;
            if (in->dtype) out->dtype = in->dtype;
            memset(t, 0, sizeof(*t));
        }
        oc_ten_release(t);
        return st;
    }
    oc_ctx inner;
    oc_ctx_init(&inner);
    st = oc_ten_new(&inner, out, in->dtype, t->ndim, t->dims);
    if (st != OC_OK) {
        oc_ten_release(t);
        return oc_fail(ctx, st, "%s: input '%s': %s", file, in->name, inner.msg);
    }
    size_t n = (size_t)t->numel;
    if (family(t->dtype) == 'f') {
        for (size_t i = 0; i < n; i++) put_f(out->data, out->dtype, i, get_f(t->data, t->dtype, i));
    } else {
        for (size_t i = 0; i < n; i++) {
            bool big;
            int64_t v = get_i(t->data, t->dtype, i, &big);
            if (big || !put_i(out->data, out->dtype, i, v)) {
                oc_ten_release(out);
                oc_ten_release(t);
                return oc_fail(ctx, OC_ERR_USAGE, "%s: input '%s': element %zu (%s%lld) does not fit the input's %s",
                               file, in->name, i, big ? "above " : "", big ? (long long)INT64_MAX : (long long)v,
                               oc_dtype_name(in->dtype));
            }
        }
    }
    oc_ten_release(t);
    return OC_OK;
}

/* ---- folders ---- */

typedef struct entry {
    const char *name, *path;
    bool dir;
} entry;

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->name, ((const entry *)b)->name);
}

/* The folder's visible entries (no dot-files), sorted by name; only folders
 * and regular files (symlinks followed). */
static oc_status list_dir(oc_ctx *ctx, oc_arena *a, const char *dir, entry **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    DIR *dp = opendir(dir);
    RETURN_ERROR_IF(!dp, ctx, OC_ERR_READ, "%s: cannot open the folder: %s", dir, strerror(errno));
    size_t cap = 0;
    struct dirent *de;
    oc_status st = OC_OK;
    while ((de = readdir(dp)) != NULL) {
        if (de->d_name[0] == '.') continue;
        const char *path = join(a, dir, de->d_name);
        const char *name = path ? oc_arena_strdup(a, de->d_name) : NULL;
        if (!name || !oc_arena_grow(a, (void **)out, &cap, *n + 1, sizeof(entry))) {
            st = oc_fail(ctx, OC_ERR_NOMEM, "%s: out of memory listing the folder", dir);
            break;
        }
        struct stat sb;
        if (stat(path, &sb) != 0) continue; /* a dangling link is no sample */
        if (!S_ISDIR(sb.st_mode) && !S_ISREG(sb.st_mode)) continue;
        (*out)[*n] = (entry){name, path, S_ISDIR(sb.st_mode)};
        (*n)++;
    }
    closedir(dp);
    if (st == OC_OK && *n) qsort(*out, *n, sizeof(entry), entry_cmp);
    return st;
}

typedef struct dir_scan {
    entry *e;
    size_t n;
    size_t n_npy, n_pb, n_img, n_dir, n_tds;
} dir_scan;

static oc_status scan_dir(oc_ctx *ctx, oc_arena *a, const char *dir, dir_scan *s)
{
    memset(s, 0, sizeof(*s));
    FORWARD_IF_ERROR(list_dir(ctx, a, dir, &s->e, &s->n));
    for (size_t i = 0; i < s->n; i++) {
        const entry *e = &s->e[i];
        unsigned long num;
        if (e->dir) {
            s->n_dir++;
            s->n_tds += strncmp(e->name, "test_data_set_", 14) == 0;
        } else if (ends_with_ci(e->name, ".npy")) {
            s->n_npy++;
        } else if (pb_input_name(e->name, &num)) {
            s->n_pb++;
        } else if (oc_image_name_ok(e->name)) {
            s->n_img++;
        }
    }
    return OC_OK;
}

static sample *add_sample(oc_ctx *ctx, oc_dataset *d, const char *path, const char *name)
{
    if (!oc_arena_grow(d->arena, (void **)&d->all, &d->cap_all, d->n_all + 1, sizeof(sample))) {
        oc_fail(ctx, OC_ERR_NOMEM, "%s: out of memory", d->src);
        return NULL;
    }
    sample *s = &d->all[d->n_all++];
    memset(s, 0, sizeof(*s));
    s->path = path;
    s->name = name ? name : path;
    s->label = -1;
    return s;
}

/* A folder of .npy files: one per input, by name, else by sorted order. */
static oc_status add_npy_sample(oc_ctx *ctx, oc_dataset *d, const char *dir, const dir_scan *sc)
{
    sample *s = add_sample(ctx, d, dir, NULL);
    if (!s) return ctx->status;
    s->files = oc_arena_array(d->arena, d->n_inputs ? d->n_inputs : 1, sizeof(char *));
    RETURN_ERROR_IF(!s->files, ctx, OC_ERR_NOMEM, "%s: out of memory", dir);
    s->n_files = d->n_inputs;
    size_t missing = SIZE_MAX;
    for (size_t k = 0; k < d->n_inputs; k++) {
        for (size_t i = 0; i < sc->n && !s->files[k]; i++)
            if (!sc->e[i].dir && strcmp(sc->e[i].name, d->in[k].npy) == 0) s->files[k] = sc->e[i].path;
        if (!s->files[k] && missing == SIZE_MAX) missing = k;
    }
    if (missing == SIZE_MAX) return OC_OK;
    if (sc->n_npy == d->n_inputs) {
        size_t k = 0;
        for (size_t i = 0; i < sc->n; i++)
            if (!sc->e[i].dir && ends_with_ci(sc->e[i].name, ".npy")) s->files[k++] = sc->e[i].path;
        return OC_OK;
    }
    return oc_fail(ctx, OC_ERR_USAGE, "%s: input '%s': no file '%s', and %zu .npy files for %zu inputs", dir,
                   d->in[missing].name, d->in[missing].npy, sc->n_npy, d->n_inputs);
}

typedef struct pb_file {
    const char *path;
    unsigned long num;
} pb_file;

static int pb_cmp(const void *a, const void *b)
{
    unsigned long x = ((const pb_file *)a)->num, y = ((const pb_file *)b)->num;
    return x < y ? -1 : x > y;
}

/* A test_data_set folder: its input_N.pb in N order. */
static oc_status add_pb_sample(oc_ctx *ctx, oc_dataset *d, const char *dir, const dir_scan *sc)
{
    if (sc->n_pb < d->n_inputs)
        return oc_fail(ctx, OC_ERR_USAGE, "%s: %zu input_*.pb files for %zu model inputs", dir, sc->n_pb,
                       d->n_inputs);
    sample *s = add_sample(ctx, d, dir, NULL);
    if (!s) return ctx->status;
    pb_file *pf = oc_arena_array(d->arena, sc->n_pb ? sc->n_pb : 1, sizeof(pb_file));
    s->files = oc_arena_array(d->arena, sc->n_pb ? sc->n_pb : 1, sizeof(char *));
    RETURN_ERROR_IF(!pf || !s->files, ctx, OC_ERR_NOMEM, "%s: out of memory", dir);
    size_t k = 0;
    for (size_t i = 0; i < sc->n; i++) {
        unsigned long num;
        if (!sc->e[i].dir && pb_input_name(sc->e[i].name, &num)) pf[k++] = (pb_file){sc->e[i].path, num};
    }
    qsort(pf, k, sizeof(pb_file), pb_cmp);
    for (size_t i = 0; i < k; i++) s->files[i] = pf[i].path;
    s->n_files = k;
    return OC_OK;
}

/* labels.txt: one integer per sample, in sample order. */
static oc_status read_labels(oc_ctx *ctx, oc_dataset *d, const char *path)
{
    FILE *f = fopen(path, "rb");
    RETURN_ERROR_IF(!f, ctx, OC_ERR_READ, "%s: cannot open: %s", path, strerror(errno));
    char *buf = NULL;
    oc_status st = OC_OK;
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
    if (size < 0 || size > LABELS_MAX_BYTES || fseek(f, 0, SEEK_SET) != 0) {
        st = oc_fail(ctx, OC_ERR_INVALID, "%s: not a labels file (size)", path);
        goto cleanup;
    }
    buf = oc_malloc((size_t)size + 1);
    if (!buf) {
        st = oc_fail(ctx, OC_ERR_NOMEM, "%s: out of memory", path);
        goto cleanup;
    }
    if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
        st = oc_fail(ctx, OC_ERR_READ, "%s: cannot read", path);
        goto cleanup;
    }
    buf[size] = 0;
    size_t n = 0, line = 1;
    for (char *p = buf; *p;) {
        if (*p == '\n') line++;
        if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
            p++;
            continue;
        }
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        bool sep = *end == 0 || *end == ' ' || *end == '\t' || *end == '\r' || *end == '\n';
        if (end == p || !sep || errno || v < 0) {
            char tok[24];
            size_t m = strcspn(p, " \t\r\n");
            snprintf(tok, sizeof(tok), "%.*s", (int)(m < 20 ? m : 20), p);
            st = oc_fail(ctx, OC_ERR_INVALID, "%s: line %zu: '%s' is not a class index", path, line, tok);
            goto cleanup;
        }
        if (n < d->n_all) d->all[n].label = v;
        n++;
        p = end;
    }
    if (n != d->n_all) {
        st = oc_fail(ctx, OC_ERR_INVALID, "%s: %zu labels for %zu samples", path, n, d->n_all);
        goto cleanup;
    }
    d->has_labels = true;
cleanup:
    oc_free(buf);
    fclose(f);
    return st;
}

static oc_status open_dir(oc_ctx *ctx, oc_dataset *d, const char *src)
{
    dir_scan sc;
    FORWARD_IF_ERROR(scan_dir(ctx, d->arena, src, &sc));
    if (sc.n_pb) {
        d->kind = SRC_PB;
        return add_pb_sample(ctx, d, src, &sc);
    }
    if (sc.n_npy) {
        d->kind = SRC_NPY;
        return add_npy_sample(ctx, d, src, &sc);
    }
    if (sc.n_img) {
        d->kind = SRC_IMAGE;
        for (size_t i = 0; i < sc.n; i++)
            if (!sc.e[i].dir && oc_image_name_ok(sc.e[i].name) && !add_sample(ctx, d, sc.e[i].path, NULL))
                return ctx->status;
        return OC_OK;
    }
    RETURN_ERROR_IF(!sc.n_dir, ctx, OC_ERR_USAGE,
                    "%s: no .npy, input_*.pb, PNG or JPEG files and no sub-folders: nothing to read", src);

    /* sub-folders: look at each before deciding */
    dir_scan *subs = oc_arena_array(d->arena, sc.n, sizeof(dir_scan));
    RETURN_ERROR_IF(!subs, ctx, OC_ERR_NOMEM, "%s: out of memory", src);
    size_t with_npy = 0, with_pb = 0, with_img = 0;
    for (size_t i = 0; i < sc.n; i++) {
        if (!sc.e[i].dir) continue;
        if (sc.n_tds && strncmp(sc.e[i].name, "test_data_set_", 14) != 0) continue;
        FORWARD_IF_ERROR(scan_dir(ctx, d->arena, sc.e[i].path, &subs[i]));
        with_npy += subs[i].n_npy > 0;
        with_pb += subs[i].n_pb > 0;
        with_img += subs[i].n_img > 0;
    }
    if (sc.n_tds || (with_pb && !with_npy)) {
        d->kind = SRC_PB;
        for (size_t i = 0; i < sc.n; i++) {
            if (!sc.e[i].dir || (sc.n_tds && strncmp(sc.e[i].name, "test_data_set_", 14) != 0)) continue;
            FORWARD_IF_ERROR(add_pb_sample(ctx, d, sc.e[i].path, &subs[i]));
        }
    } else if (with_npy) {
        d->kind = SRC_NPY;
        for (size_t i = 0; i < sc.n; i++) {
            if (!sc.e[i].dir) continue;
            RETURN_ERROR_IF(!subs[i].n_npy, ctx, OC_ERR_USAGE, "%s: no .npy files in this sample folder",
                            sc.e[i].path);
            FORWARD_IF_ERROR(add_npy_sample(ctx, d, sc.e[i].path, &subs[i]));
        }
    } else if (with_img) {
        /* one class per sub-folder: the label is its index among them */
        d->kind = SRC_IMAGE;
        d->has_labels = true;
        int64_t cls = 0;
        for (size_t i = 0; i < sc.n; i++) {
            if (!sc.e[i].dir) continue;
            for (size_t k = 0; k < subs[i].n; k++) {
                const entry *e = &subs[i].e[k];
                if (e->dir || !oc_image_name_ok(e->name)) continue;
                sample *s = add_sample(ctx, d, e->path, NULL);
                if (!s) return ctx->status;
                s->label = cls;
            }
            cls++;
        }
        return OC_OK;
    } else {
        return oc_fail(ctx, OC_ERR_USAGE, "%s: its sub-folders hold no .npy, input_*.pb, PNG or JPEG files", src);
    }
    /* npy and pb sample folders: optional labels.txt beside them */
    const char *lp = join(d->arena, src, "labels.txt");
    RETURN_ERROR_IF(!lp, ctx, OC_ERR_NOMEM, "%s: out of memory", src);
    struct stat sb;
    if (stat(lp, &sb) == 0) return read_labels(ctx, d, lp);
    return OC_OK;
}

/* ---- IDX ---- */

/* The shape a sample of `numel` elements takes for input `in`: fixed dims as
 * declared, a symbolic dim 0 (of rank >= 2) is 1, and one other symbolic
 * dim takes what remains. */
static oc_status idx_shape(oc_ctx *ctx, oc_dataset *d, const char *src)
{
    const in_spec *in = &d->in[0];
    const oc_idx *x = &d->idx;
    int64_t numel = (int64_t)d->idx_elems;
    char sdims[200], want[200];
    dims_text(x->ndim - 1, x->dims + 1, sdims, sizeof(sdims));
    spec_text(in, want, sizeof(want));
    if (!in->has_shape) {
        /* nothing declared: [1, dims of a sample] */
        d->out_ndim = x->ndim;
        d->out_dims[0] = 1;
        for (int i = 1; i < x->ndim; i++) d->out_dims[i] = x->dims[i];
        return OC_OK;
    }
    d->out_ndim = in->ndim;
    int64_t known = 1;
    int free_at = -1, n_free = 0;
    for (int i = 0; i < in->ndim; i++) {
        int64_t v = in->dims[i];
        if (v < 0 && i == 0 && in->ndim >= 2) v = 1;
        d->out_dims[i] = v;
        if (v < 0) {
            free_at = i;
            n_free++;
        } else if (oc_mul_overflow_i64(known, v, &known)) {
            known = -1;
            break;
        }
    }
    bool ok = known > 0 && n_free <= 1 && (n_free ? numel % known == 0 : numel == known);
    if (ok && n_free) d->out_dims[free_at] = numel / known;
    RETURN_ERROR_IF(!ok, ctx, OC_ERR_USAGE, "%s: input '%s': a sample of %s (%lld values) does not fit the input's %s",
                    src, in->name, sdims, (long long)numel, want);
    return OC_OK;
}

static oc_status open_idx(oc_ctx *ctx, oc_dataset *d, const char *src)
{
    d->kind = SRC_IDX;
    RETURN_ERROR_IF(d->n_inputs != 1, ctx, OC_ERR_USAGE, "%s: IDX images fit a model with one input; this one has %zu",
                    src, d->n_inputs);
    const in_spec *in = &d->in[0];
    int dt = in->dtype;
    RETURN_ERROR_IF(dt && dt != OC_DTYPE_FLOAT && dt != OC_DTYPE_FLOAT16 && dt != OC_DTYPE_DOUBLE &&
                        dt != OC_DTYPE_UINT8,
                    ctx, OC_ERR_USAGE, "%s: input '%s': the input is %s; IDX pixels fit float or uint8 inputs", src,
                    in->name, oc_dtype_name(dt));
    FORWARD_IF_ERROR(oc_idx_load(ctx, src, &d->idx));
    RETURN_ERROR_IF(d->idx.ndim < 2, ctx, OC_ERR_USAGE, "%s: an IDX file of rank 1 holds labels; give the images file",
                    src);
    size_t n = (size_t)d->idx.dims[0];
    d->idx_elems = n ? d->idx.nbytes / n : 0;
    if (!n) {
        size_t e = 1;
        for (int i = 1; i < d->idx.ndim; i++) e *= (size_t)d->idx.dims[i];
        d->idx_elems = e;
    }
    /* images of no pixels: nothing to feed, and a header can declare 2^32 of them for free */
    RETURN_ERROR_IF(n && !d->idx_elems, ctx, OC_ERR_INVALID, "%s: IDX images of 0 pixels", src);
    FORWARD_IF_ERROR(idx_shape(ctx, d, src));

    char lpath[PATH_MAX + 8];
    oc_idx lab = {0};
    if (oc_idx_labels_path(src, lpath, sizeof(lpath))) {
        FORWARD_IF_ERROR(oc_idx_load(ctx, lpath, &lab));
        if (lab.ndim != 1 || (size_t)lab.dims[0] != n) {
            oc_idx_free(&lab);
            return oc_fail(ctx, OC_ERR_INVALID, "%s: %s labels for the %zu images of %s", lpath,
                           lab.ndim == 1 ? "wrong count of" : "not a list of", n, src);
        }
        d->has_labels = true;
    }
    for (size_t i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof(name), "idx:%zu", i);
        const char *nm = oc_arena_strdup(d->arena, name);
        sample *s = nm ? add_sample(ctx, d, src, nm) : NULL;
        if (!s) {
            oc_idx_free(&lab);
            return oc_fail(ctx, OC_ERR_NOMEM, "%s: out of memory", src);
        }
        s->idx = i;
        if (lab.data) s->label = lab.data[i];
    }
    oc_idx_free(&lab);
    return OC_OK;
}

/* ---- images ---- */

static oc_status image_geometry(oc_ctx *ctx, oc_dataset *d, const char *src)
{
    RETURN_ERROR_IF(d->n_inputs != 1, ctx, OC_ERR_USAGE, "%s: images fit a model with one input; this one has %zu",
                    src, d->n_inputs);
    const in_spec *in = &d->in[0];
    const oc_data_opts *o = &d->o;
    oc_image_prep *p = &d->prep;
    char want[200];
    spec_text(in, want, sizeof(want));
    p->dtype = in->dtype ? in->dtype : OC_DTYPE_FLOAT;
    RETURN_ERROR_IF(p->dtype != OC_DTYPE_FLOAT && p->dtype != OC_DTYPE_FLOAT16 && p->dtype != OC_DTYPE_DOUBLE &&
                        p->dtype != OC_DTYPE_UINT8,
                    ctx, OC_ERR_USAGE, "%s: input '%s': the input is %s; images fit float or uint8 inputs", src,
                    in->name, oc_dtype_name(p->dtype));
    p->bgr = o->bgr;
    p->scale = o->scale;
    memcpy(p->mean, o->mean, sizeof(p->mean));
    memcpy(p->std, o->std, sizeof(p->std));
    if (!in->has_shape) {
        RETURN_ERROR_IF(!o->layout || !o->resize_w || !o->resize_h, ctx, OC_ERR_USAGE,
                        "%s: input '%s' declares no shape: give the layout and the size to resize to", src, in->name);
        p->layout = o->layout;
        p->batch = true;
        p->channels = 3;
        p->w = o->resize_w;
        p->h = o->resize_h;
        return OC_OK;
    }
    RETURN_ERROR_IF(in->ndim != 3 && in->ndim != 4, ctx, OC_ERR_USAGE,
                    "%s: input '%s' %s is not an image input (rank 3 or 4)", src, in->name, want);
    const int64_t *dm = in->dims;
    int off = in->ndim == 4;
    p->batch = off;
    RETURN_ERROR_IF(off && dm[0] > 1, ctx, OC_ERR_USAGE,
                    "%s: input '%s' %s takes a batch of %lld; image samples are one image each", src, in->name, want,
                    (long long)dm[0]);
    int last = in->ndim - 1;
    int layout = o->layout;
    if (!layout) {
        if (dm[off] == 1 || dm[off] == 3)
            layout = 1;
        else if (dm[last] == 1 || dm[last] == 3)
            layout = 2;
        else
            return oc_fail(ctx, OC_ERR_USAGE,
                           "%s: input '%s' %s: cannot tell where the channels are; give the layout (NCHW or NHWC)",
                           src, in->name, want);
    }
    p->layout = layout;
    int ca = layout == 1 ? off : last, ha = layout == 1 ? off + 1 : off, wa = ha + 1;
    RETURN_ERROR_IF(dm[ca] >= 0 && dm[ca] != 1 && dm[ca] != 3, ctx, OC_ERR_USAGE,
                    "%s: input '%s' %s has %lld channels in %s layout; images give 1 or 3", src, in->name, want,
                    (long long)dm[ca], layout == 1 ? "NCHW" : "NHWC");
    p->channels = dm[ca] >= 0 ? (int)dm[ca] : 3;
    const struct { int axis, given; int *dst; const char *what; } sides[2] = {
        {ha, o->resize_h, &p->h, "height"}, {wa, o->resize_w, &p->w, "width"}};
    for (int k = 0; k < 2; k++) {
        int64_t v = dm[sides[k].axis];
        if (sides[k].given) {
            RETURN_ERROR_IF(v >= 0 && v != sides[k].given, ctx, OC_ERR_USAGE,
                            "%s: input '%s' %s has a fixed %s of %lld, not %d", src, in->name, want, sides[k].what,
                            (long long)v, sides[k].given);
            *sides[k].dst = sides[k].given;
        } else {
            RETURN_ERROR_IF(v < 0, ctx, OC_ERR_USAGE, "%s: input '%s' %s has a free %s: give the size to resize to",
                            src, in->name, want, sides[k].what);
            RETURN_ERROR_IF(v == 0 || v > OC_IMAGE_MAX_SIDE, ctx, OC_ERR_USAGE, "%s: input '%s' %s: %s of %lld", src,
                            in->name, want, sides[k].what, (long long)v);
            *sides[k].dst = (int)v;
        }
    }
    return OC_OK;
}

/* ---- a lone file ---- */

static oc_status open_file(oc_ctx *ctx, oc_dataset *d, const char *src)
{
    bool npy = ends_with_ci(src, ".npy"), pb = ends_with_ci(src, ".pb");
    if (!npy && !pb && oc_idx_sniff(src)) return open_idx(ctx, d, src);
    if (!npy && !pb) {
        /* an image, by name or by its first bytes */
        unsigned char m[8] = {0};
        FILE *f = fopen(src, "rb");
        RETURN_ERROR_IF(!f, ctx, OC_ERR_READ, "%s: cannot open: %s", src, strerror(errno));
        size_t got = fread(m, 1, sizeof(m), f);
        fclose(f);
        bool img = oc_image_name_ok(src) || (got == 8 && memcmp(m, "\x89PNG\r\n\x1a\n", 8) == 0) ||
                   (got >= 3 && m[0] == 0xFF && m[1] == 0xD8 && m[2] == 0xFF);
        RETURN_ERROR_IF(!img, ctx, OC_ERR_USAGE, "%s: not a folder, .npy, .pb, IDX, PNG or JPEG file", src);
        d->kind = SRC_IMAGE;
        return add_sample(ctx, d, src, NULL) ? OC_OK : ctx->status;
    }
    RETURN_ERROR_IF(d->n_inputs != 1, ctx, OC_ERR_USAGE,
                    "%s: a single file fits a model with one input; this one has %zu (give a folder)", src,
                    d->n_inputs);
    d->kind = npy ? SRC_NPY : SRC_PB;
    sample *s = add_sample(ctx, d, src, NULL);
    if (!s) return ctx->status;
    s->files = oc_arena_array(d->arena, 1, sizeof(char *));
    RETURN_ERROR_IF(!s->files, ctx, OC_ERR_NOMEM, "%s: out of memory", src);
    s->files[0] = s->path;
    s->n_files = 1;
    return OC_OK;
}

/* ---- the split ---- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int size_cmp(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* Split 0 keeps every sample in name order (limit: the first ones). Splits
 * 1 and 2 shuffle with the seed, cut at split_frac (both parts non-empty
 * from two samples on), take `limit` of the part in shuffled order, and
 * return them in name order. */
static oc_status select_samples(oc_ctx *ctx, oc_dataset *d)
{
    size_t n = d->n_all;
    d->sel = oc_arena_array(d->arena, n ? n : 1, sizeof(size_t));
    RETURN_ERROR_IF(!d->sel, ctx, OC_ERR_NOMEM, "%s: out of memory", d->src);
    for (size_t i = 0; i < n; i++) d->sel[i] = i;
    size_t from = 0, count = n;
    if (d->o.split) {
        uint64_t st = d->o.seed ? d->o.seed : 0x6f6e6e78636f6d70ull; /* "onnxcomp" */
        for (size_t i = n; i > 1; i--) {
            size_t j = (size_t)(splitmix64(&st) % i);
            size_t t = d->sel[i - 1];
            d->sel[i - 1] = d->sel[j];
            d->sel[j] = t;
        }
        double f = d->o.split_frac;
        size_t ncal = (size_t)floor((double)n * f + 0.5);
        if (ncal > n) ncal = n;
        if (n >= 2 && f > 0 && f < 1) {
            if (ncal == 0) ncal = 1;
            if (ncal == n) ncal = n - 1;
        }
        from = d->o.split == 1 ? 0 : ncal;
        count = d->o.split == 1 ? ncal : n - ncal;
    }
    if (d->o.limit && d->o.limit < count) count = d->o.limit;
    memmove(d->sel, d->sel + from, count * sizeof(size_t));
    if (d->o.split) qsort(d->sel, count, sizeof(size_t), size_cmp);
    d->n_sel = count;
    static const char *const part[] = {"", " in the calibration part", " in the evaluation part"};
    RETURN_ERROR_IF(!count, ctx, OC_ERR_USAGE, "%s: no samples%s (%zu in all)", d->src, part[d->o.split], n);
    return OC_OK;
}

/* ---- reading a sample ---- */

static void who_of(char *who, const char *file, const in_spec *in)
{
    snprintf(who, WHO_CAP, "%s: input '%s'", file, in->name);
}

static oc_status get_npy(oc_ctx *ctx, oc_dataset *d, const sample *s, oc_ten *inputs)
{
    char who[WHO_CAP];
    for (size_t k = 0; k < d->n_inputs; k++) {
        oc_ten t;
        who_of(who, s->files[k], &d->in[k]);
        FORWARD_IF_ERROR(oc_npy_load(ctx, s->files[k], who, &t));
        FORWARD_IF_ERROR(fit(ctx, s->files[k], &d->in[k], &t, &inputs[k]));
    }
    return OC_OK;
}

/* Strips "<path>: " from the front of a message that already names it. */
static const char *after_path(const char *msg, const char *path)
{
    size_t n = strlen(path);
    return strncmp(msg, path, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ' ? msg + n + 2 : msg;
}

static oc_status get_pb(oc_ctx *ctx, oc_dataset *d, const sample *s, oc_ten *inputs)
{
    size_t nf = s->n_files;
    oc_ten *t = oc_calloc(nf ? nf : 1, sizeof(oc_ten));
    char(*names)[256] = oc_calloc(nf ? nf : 1, 256);
    oc_status st = OC_OK;
    if (!t || !names) {
        st = oc_fail(ctx, OC_ERR_NOMEM, "%s: out of memory", s->path);
        goto cleanup;
    }
    for (size_t i = 0; i < nf; i++) {
        oc_ctx inner;
        oc_ctx_init(&inner);
        st = oc_ten_load_pb(&inner, s->files[i], &t[i], names[i], sizeof(names[i]));
        if (st != OC_OK) {
            /* name the input it would feed when the match is by order */
            if (i < d->n_inputs)
                oc_fail(ctx, st, "%s: input '%s': %s", s->files[i], d->in[i].name, after_path(inner.msg, s->files[i]));
            else
                oc_fail(ctx, st, "%s", inner.msg);
            goto cleanup;
        }
    }
    /* by tensor name when every input is found so; else by order */
    bool by_name = true;
    for (size_t k = 0; k < d->n_inputs && by_name; k++) {
        bool found = false;
        for (size_t i = 0; i < nf && !found; i++) found = strcmp(names[i], d->in[k].name) == 0;
        by_name = found;
    }
    if (!by_name && nf != d->n_inputs) {
        st = oc_fail(ctx, OC_ERR_USAGE, "%s: %zu input_*.pb files for %zu inputs, and their tensor names do not match "
                     "the inputs' (first: '%s')", s->path, nf, d->n_inputs, d->n_inputs ? d->in[0].name : "");
        goto cleanup;
    }
    for (size_t k = 0; k < d->n_inputs; k++) {
        size_t i = k;
        if (by_name)
            for (i = 0; i < nf && strcmp(names[i], d->in[k].name) != 0; i++) continue;
        st = fit(ctx, s->files[i], &d->in[k], &t[i], &inputs[k]);
        if (st != OC_OK) goto cleanup;
    }
cleanup:
    for (size_t i = 0; t && i < nf; i++) oc_ten_release(&t[i]);
    oc_free(t);
    oc_free(names);
    return st;
}

static oc_status get_idx(oc_ctx *ctx, oc_dataset *d, const sample *s, oc_ten *out)
{
    const in_spec *in = &d->in[0];
    int dtype = in->dtype ? in->dtype : OC_DTYPE_FLOAT;
    oc_ctx inner;
    oc_ctx_init(&inner);
    oc_status st = oc_ten_new(&inner, out, dtype, d->out_ndim, d->out_dims);
    if (st != OC_OK) return oc_fail(ctx, st, "%s: input '%s': %s", d->src, in->name, inner.msg);
    const uint8_t *px = d->idx.data + s->idx * d->idx_elems;
    size_t n = d->idx_elems;
    if (dtype == OC_DTYPE_UINT8) {
        memcpy(out->data, px, n);
        return OC_OK;
    }
    const float a = d->o.scale / d->o.std[0], b = -d->o.mean[0] / d->o.std[0];
    if (dtype == OC_DTYPE_FLOAT) {
        float *o = out->data;
        for (size_t i = 0; i < n; i++) o[i] = (float)px[i] * a + b;
    } else {
        for (size_t i = 0; i < n; i++) put_f(out->data, dtype, i, (float)px[i] * a + b);
    }
    return OC_OK;
}

static oc_status get_image(oc_ctx *ctx, oc_dataset *d, const sample *s, oc_ten *out)
{
    char who[WHO_CAP];
    who_of(who, s->path, &d->in[0]);
    oc_image im;
    FORWARD_IF_ERROR(oc_image_decode(ctx, s->path, who, &im));
    oc_ctx inner;
    oc_ctx_init(&inner);
    oc_status st = oc_image_to_tensor(&inner, &im, &d->prep, out);
    oc_image_free(&im);
    if (st != OC_OK) return oc_fail(ctx, st, "%s: %s", who, inner.msg);
    return OC_OK;
}

oc_status oc_dataset_get(oc_ctx *ctx, oc_dataset *d, size_t i, oc_ten *inputs, int64_t *label)
{
    if (label) *label = -1;
    RETURN_ERROR_IF(!d || i >= d->n_sel, ctx, OC_ERR_USAGE, "sample %zu of %zu", i, d ? d->n_sel : 0);
    for (size_t k = 0; k < d->n_inputs; k++) memset(&inputs[k], 0, sizeof(oc_ten));
    const sample *s = &d->all[d->sel[i]];
    oc_status st;
    switch (d->kind) {
    case SRC_NPY: st = get_npy(ctx, d, s, inputs); break;
    case SRC_PB: st = get_pb(ctx, d, s, inputs); break;
    case SRC_IDX: st = get_idx(ctx, d, s, inputs); break;
    default: st = get_image(ctx, d, s, inputs); break;
    }
    if (st != OC_OK) {
        for (size_t k = 0; k < d->n_inputs; k++) oc_ten_release(&inputs[k]);
        return st;
    }
    if (label) *label = d->has_labels ? s->label : -1;
    return OC_OK;
}

/* ---- open / queries / free ---- */

static oc_status check_opts(oc_ctx *ctx, const char *src, const oc_data_opts *o)
{
    RETURN_ERROR_IF(o->layout < 0 || o->layout > 2, ctx, OC_ERR_USAGE, "%s: layout %d (0 auto, 1 NCHW, 2 NHWC)", src,
                    o->layout);
    RETURN_ERROR_IF(o->resize_w < 0 || o->resize_h < 0 || o->resize_w > OC_IMAGE_MAX_SIDE ||
                        o->resize_h > OC_IMAGE_MAX_SIDE,
                    ctx, OC_ERR_USAGE, "%s: resize to %dx%d (sides 1..%d)", src, o->resize_w, o->resize_h,
                    OC_IMAGE_MAX_SIDE);
    RETURN_ERROR_IF(!isfinite(o->scale), ctx, OC_ERR_USAGE, "%s: scale %g", src, (double)o->scale);
    for (int c = 0; c < 3; c++)
        RETURN_ERROR_IF(!isfinite(o->mean[c]) || !isfinite(o->std[c]) || o->std[c] == 0, ctx, OC_ERR_USAGE,
                        "%s: mean %g / std %g for channel %d", src, (double)o->mean[c], (double)o->std[c], c);
    RETURN_ERROR_IF(o->split < 0 || o->split > 2, ctx, OC_ERR_USAGE,
                    "%s: split %d (0 all, 1 calibration, 2 evaluation)", src, o->split);
    RETURN_ERROR_IF(!(o->split_frac >= 0 && o->split_frac <= 1), ctx, OC_ERR_USAGE,
                    "%s: split fraction %g is not in 0..1", src, o->split_frac);
    return OC_OK;
}

static oc_status copy_inputs(oc_ctx *ctx, oc_dataset *d, size_t n, const oc_value *const *inputs)
{
    d->n_inputs = n;
    d->in = oc_arena_array(d->arena, n ? n : 1, sizeof(in_spec));
    RETURN_ERROR_IF(!d->in, ctx, OC_ERR_NOMEM, "%s: out of memory", d->src);
    for (size_t k = 0; k < n; k++) {
        const oc_value *v = inputs[k];
        in_spec *in = &d->in[k];
        const char *name = v && v->name ? v->name : "";
        size_t len = strlen(name);
        char *npy = oc_arena_alloc(d->arena, len + 5);
        in->name = oc_arena_strdup(d->arena, name);
        RETURN_ERROR_IF(!npy || !in->name, ctx, OC_ERR_NOMEM, "%s: out of memory", d->src);
        for (size_t i = 0; i < len; i++) npy[i] = name[i] == '/' || name[i] == ':' ? '_' : name[i];
        memcpy(npy + len, ".npy", 5);
        in->npy = npy;
        if (!v || !v->has_type || v->type.kind != OC_TYPE_TENSOR) continue;
        in->dtype = v->type.elem_type;
        if (!v->type.has_shape) continue;
        RETURN_ERROR_IF(v->type.ndim < 0 || v->type.ndim > OC_MAX_DIMS, ctx, OC_ERR_UNSUPPORTED,
                        "%s: input '%s' has rank %d (at most %d)", d->src, name, v->type.ndim, OC_MAX_DIMS);
        in->has_shape = true;
        in->ndim = v->type.ndim;
        for (int i = 0; i < in->ndim; i++) {
            const oc_dim *dm = &v->type.dims[i];
            in->dims[i] = dm->kind == OC_DIM_VALUE && dm->value >= 0 ? dm->value : -1;
            if (dm->kind == OC_DIM_PARAM && dm->param) in->syms[i] = oc_arena_strdup(d->arena, dm->param);
        }
    }
    return OC_OK;
}

/* Every selected .npy header against its input, before anything runs. */
static oc_status check_npy_headers(oc_ctx *ctx, oc_dataset *d)
{
    char who[WHO_CAP];
    for (size_t i = 0; i < d->n_sel; i++) {
        const sample *s = &d->all[d->sel[i]];
        for (size_t k = 0; k < d->n_inputs; k++) {
            oc_npy_info info;
            who_of(who, s->files[k], &d->in[k]);
            FORWARD_IF_ERROR(oc_npy_peek(ctx, s->files[k], who, &info));
            FORWARD_IF_ERROR(check_fit(ctx, s->files[k], &d->in[k], info.dtype, info.ndim, info.dims));
        }
    }
    return OC_OK;
}

oc_status oc_dataset_open(oc_ctx *ctx, const char *src, size_t n_inputs, const oc_value *const *inputs,
                          const oc_data_opts *o, oc_dataset **out)
{
    *out = NULL;
    oc_data_opts def = oc_data_opts_default();
    if (!o) o = &def;
    RETURN_ERROR_IF(!src || !*src, ctx, OC_ERR_USAGE, "no data source given");
    FORWARD_IF_ERROR(check_opts(ctx, src, o));
    oc_dataset *d = oc_calloc(1, sizeof(*d));
    oc_arena *a = d ? oc_arena_new() : NULL;
    if (!a) {
        oc_free(d);
        return oc_fail(ctx, OC_ERR_NOMEM, "%s: out of memory", src);
    }
    d->arena = a;
    d->o = *o;
    oc_status st = OC_OK;
    d->src = oc_arena_strdup(a, src);
    if (!d->src) {
        st = oc_fail(ctx, OC_ERR_NOMEM, "%s: out of memory", src);
        goto cleanup;
    }
    st = copy_inputs(ctx, d, n_inputs, inputs);
    if (st != OC_OK) goto cleanup;
    struct stat sb;
    if (stat(src, &sb) != 0) {
        st = oc_fail(ctx, OC_ERR_READ, "%s: cannot open: %s", src, strerror(errno));
        goto cleanup;
    }
    if (S_ISDIR(sb.st_mode))
        st = open_dir(ctx, d, d->src);
    else if (S_ISREG(sb.st_mode))
        st = open_file(ctx, d, d->src);
    else
        st = oc_fail(ctx, OC_ERR_USAGE, "%s: not a file or folder", src);
    if (st == OC_OK && d->kind == SRC_IMAGE) st = image_geometry(ctx, d, d->src);
    if (st == OC_OK) st = select_samples(ctx, d);
    if (st == OC_OK && d->kind == SRC_NPY) st = check_npy_headers(ctx, d);
    if (st == OC_OK) {
        /* the whole first sample, so a source that cannot fit fails here */
        oc_ten *t = oc_calloc(d->n_inputs ? d->n_inputs : 1, sizeof(oc_ten));
        if (!t) {
            st = oc_fail(ctx, OC_ERR_NOMEM, "%s: out of memory", src);
            goto cleanup;
        }
        st = oc_dataset_get(ctx, d, 0, t, NULL);
        for (size_t k = 0; st == OC_OK && k < d->n_inputs; k++) oc_ten_release(&t[k]);
        oc_free(t);
    }
cleanup:
    if (st != OC_OK) {
        oc_dataset_free(d);
        return st;
    }
    *out = d;
    return OC_OK;
}

size_t oc_dataset_count(const oc_dataset *d)
{
    return d ? d->n_sel : 0;
}

bool oc_dataset_has_labels(const oc_dataset *d)
{
    return d && d->has_labels;
}

const char *oc_dataset_sample_name(const oc_dataset *d, size_t i)
{
    if (!d || i >= d->n_sel) return NULL;
    return d->all[d->sel[i]].name;
}

void oc_dataset_free(oc_dataset *d)
{
    if (!d) return;
    oc_idx_free(&d->idx);
    oc_arena_free(d->arena);
    oc_free(d);
}

const char *oc_dataset_kind_name(const oc_dataset *d)
{
    return d ? kind_names[d->kind] : "";
}
