/* npy.c: NumPy .npy files, read and written, and the element conversions the
 * data module shares (float16 <-> float32, element sizes).
 *
 * The format: the magic "\x93NUMPY", a version (1.0: 2-byte header length;
 * 2.0 and 3.0: 4-byte), then a Python dict literal with exactly the keys
 * 'descr', 'fortran_order' and 'shape', padded with spaces and a newline,
 * then the array bytes. The header is parsed strictly (no evaluation of
 * anything but the literals those three keys take) and the data must fill
 * the rest of the file exactly. */
#include "data.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A header longer than this is hostile: real ones are under 200 bytes. */
#define NPY_MAX_HEADER ((uint32_t)1 << 20)

/* ---- element conversion ---- */

float oc_data_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t e = (h >> 10) & 0x1f, m = h & 0x3ff;
    uint32_t bits;
    if (e == 0) {
        /* zero or subnormal: m * 2^-24, exact in float */
        float f = (float)m * 0x1p-24f;
        return sign ? -f : f;
    }
    if (e == 31)
        bits = sign | 0x7f800000u | (m << 13);
    else
        bits = sign | ((e + 112) << 23) | (m << 13);
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t oc_data_float_to_half(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) return (uint16_t)(sign | 0x7c00 | (ax > 0x7f800000u ? 0x200 : 0));
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00); /* >= 65520 rounds to infinity */
    if (ax < 0x38800000u) {
        /* below the smallest normal half: a multiple of 2^-24, rounded to even */
        float a;
        memcpy(&a, &ax, 4);
        return (uint16_t)(sign | (uint16_t)lrintf(a * 0x1p24f));
    }
    uint32_t h = ((ax >> 23) - 112) << 10 | ((ax & 0x7fffffu) >> 13);
    uint32_t rem = ax & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) h++;
    return (uint16_t)(sign | h);
}

size_t oc_data_elem_size(int dtype)
{
    switch (dtype) {
    case OC_DTYPE_BOOL: case OC_DTYPE_INT8: case OC_DTYPE_UINT8: return 1;
    case OC_DTYPE_FLOAT16: case OC_DTYPE_INT16: case OC_DTYPE_UINT16: return 2;
    case OC_DTYPE_FLOAT: case OC_DTYPE_INT32: case OC_DTYPE_UINT32: return 4;
    case OC_DTYPE_DOUBLE: case OC_DTYPE_INT64: case OC_DTYPE_UINT64: return 8;
    default: return 0;
    }
}

/* ---- dtype descriptors ---- */

static const struct {
    char kind;   /* numpy kind letter */
    int size;
    int dtype;
} npy_types[] = {
    {'f', 2, OC_DTYPE_FLOAT16}, {'f', 4, OC_DTYPE_FLOAT},  {'f', 8, OC_DTYPE_DOUBLE},
    {'i', 1, OC_DTYPE_INT8},    {'i', 2, OC_DTYPE_INT16},  {'i', 4, OC_DTYPE_INT32},
    {'i', 8, OC_DTYPE_INT64},   {'u', 1, OC_DTYPE_UINT8},  {'u', 2, OC_DTYPE_UINT16},
    {'u', 4, OC_DTYPE_UINT32},  {'u', 8, OC_DTYPE_UINT64}, {'b', 1, OC_DTYPE_BOOL},
};

/* The oc_dtype of a descr string, or 0 with a reason in *why. */
static int descr_dtype(const char *d, const char **why)
{
    size_t n = strlen(d);
    *why = "is not a supported dtype";
    if (n != 3 || d[2] < '1' || d[2] > '8') return 0;
    char order = d[0], kind = d[1];
    int size = d[2] - '0';
    for (size_t i = 0; i < sizeof(npy_types) / sizeof(npy_types[0]); i++) {
        if (npy_types[i].kind != kind || npy_types[i].size != size) continue;
        /* one-byte types carry '|' (numpy) or '<'; wider ones must be little-endian */
        if (order == '<' || (size == 1 && (order == '|' || order == '=')))
            return npy_types[i].dtype;
        if (order == '>') *why = "is big-endian (only little-endian data is supported)";
        return 0;
    }
    return 0;
}

/* The descr a tensor is written with. numpy has no bfloat16, float8 or 4-bit
 * types: those are written as their bits, the way ONNX's test data does
 * (bf16 as <u2, float8 as |u1), and 4-bit elements one per byte. */
static const char *dtype_descr(int dtype)
{
    switch (dtype) {
    case OC_DTYPE_BFLOAT16: return "<u2";
    case OC_DTYPE_FLOAT8E4M3FN: case OC_DTYPE_FLOAT8E4M3FNUZ: case OC_DTYPE_FLOAT8E5M2:
    case OC_DTYPE_FLOAT8E5M2FNUZ: case OC_DTYPE_UINT4: case OC_DTYPE_FLOAT4E2M1: return "|u1";
    case OC_DTYPE_INT4: return "|i1";
    case OC_DTYPE_FLOAT16: return "<f2";
    case OC_DTYPE_FLOAT: return "<f4";
    case OC_DTYPE_DOUBLE: return "<f8";
    case OC_DTYPE_INT8: return "|i1";
    case OC_DTYPE_INT16: return "<i2";
    case OC_DTYPE_INT32: return "<i4";
    case OC_DTYPE_INT64: return "<i8";
    case OC_DTYPE_UINT8: return "|u1";
    case OC_DTYPE_UINT16: return "<u2";
    case OC_DTYPE_UINT32: return "<u4";
    case OC_DTYPE_UINT64: return "<u8";
    case OC_DTYPE_BOOL: return "|b1";
    default: return NULL;
    }
}

/* ---- the header dict ---- */

typedef struct cursor {
    const char *p, *start, *end;
} cursor;

static void skip_ws(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static bool take(cursor *c, char ch)
{
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

static bool take_word(cursor *c, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0) return false;
    c->p += n;
    return true;
}

/* A quoted string without escapes, of printable ASCII, into buf. */
static bool take_string(cursor *c, char *buf, size_t cap)
{
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return false;
    char q = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        unsigned char ch = (unsigned char)*c->p;
        if (ch < 0x20 || ch > 0x7e || ch == '\\' || n + 1 >= cap) return false;
        buf[n++] = (char)ch;
        c->p++;
    }
    if (c->p >= c->end) return false;
    c->p++;
    buf[n] = 0;
    return true;
}

/* A non-negative decimal integer (Python 2's "3L" accepted). */
static bool take_int(cursor *c, int64_t *v)
{
    int64_t x = 0;
    int digits = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        if (digits == 18) return false; /* past 10^18: no real dim */
        x = x * 10 + (*c->p - '0');
        digits++;
        c->p++;
    }
    if (!digits) return false;
    take(c, 'L');
    *v = x;
    return true;
}

#define HDR_FAIL(st, ...)                                                                      \
    do {                                                                                       \
        char d_[160];                                                                          \
        snprintf(d_, sizeof(d_), __VA_ARGS__);                                                 \
        return oc_fail(ctx, (st), "%s: bad .npy header: %s (at header byte %zu)", who, d_,     \
                       (size_t)(c.p - c.start));                                               \
    } while (0)

static oc_status parse_header(oc_ctx *ctx, const char *who, const char *h, size_t n, oc_npy_info *info)
{
    cursor c = {h, h, h + n};
    bool have_descr = false, have_order = false, have_shape = false;
    char key[32], descr[32];
    skip_ws(&c);
    if (!take(&c, '{')) HDR_FAIL(OC_ERR_INVALID, "not a dict");
    for (;;) {
        skip_ws(&c);
        if (take(&c, '}')) break;
        if (!take_string(&c, key, sizeof(key))) HDR_FAIL(OC_ERR_INVALID, "expected a quoted key");
        skip_ws(&c);
        if (!take(&c, ':')) HDR_FAIL(OC_ERR_INVALID, "expected ':' after '%s'", key);
        skip_ws(&c);
        if (strcmp(key, "descr") == 0) {
            if (have_descr) HDR_FAIL(OC_ERR_INVALID, "'descr' given twice");
            if (c.p < c.end && *c.p == '[')
                HDR_FAIL(OC_ERR_UNSUPPORTED, "structured dtypes are not supported");
            if (!take_string(&c, descr, sizeof(descr))) HDR_FAIL(OC_ERR_INVALID, "'descr' is not a string");
            const char *why;
            info->dtype = descr_dtype(descr, &why);
            if (!info->dtype) HDR_FAIL(OC_ERR_UNSUPPORTED, "dtype '%s' %s", descr, why);
            have_descr = true;
        } else if (strcmp(key, "fortran_order") == 0) {
            if (have_order) HDR_FAIL(OC_ERR_INVALID, "'fortran_order' given twice");
            if (take_word(&c, "True"))
                HDR_FAIL(OC_ERR_UNSUPPORTED, "Fortran-ordered arrays are not supported (save in C order)");
            if (!take_word(&c, "False")) HDR_FAIL(OC_ERR_INVALID, "'fortran_order' is not True or False");
            have_order = true;
        } else if (strcmp(key, "shape") == 0) {
            if (have_shape) HDR_FAIL(OC_ERR_INVALID, "'shape' given twice");
            if (!take(&c, '(')) HDR_FAIL(OC_ERR_INVALID, "'shape' is not a tuple");
            skip_ws(&c);
            int nd = 0;
            if (!take(&c, ')')) {
                for (;;) {
                    if (nd == OC_MAX_DIMS) HDR_FAIL(OC_ERR_UNSUPPORTED, "rank over %d", OC_MAX_DIMS);
                    if (!take_int(&c, &info->dims[nd])) HDR_FAIL(OC_ERR_INVALID, "bad dim in 'shape'");
                    nd++;
                    skip_ws(&c);
                    if (take(&c, ',')) {
                        skip_ws(&c);
                        if (take(&c, ')')) break;
                        continue;
                    }
                    if (nd == 1) HDR_FAIL(OC_ERR_INVALID, "'shape' is not a tuple");
                    if (take(&c, ')')) break;
                    HDR_FAIL(OC_ERR_INVALID, "expected ',' or ')' in 'shape'");
                }
            }
            info->ndim = nd;
            have_shape = true;
        } else {
            HDR_FAIL(OC_ERR_INVALID, "unexpected key '%s'", key);
        }
        skip_ws(&c);
        if (take(&c, ',')) continue;
        if (take(&c, '}')) break;
        HDR_FAIL(OC_ERR_INVALID, "expected ',' or '}'");
    }
    skip_ws(&c);
    if (c.p != c.end) HDR_FAIL(OC_ERR_INVALID, "text after the dict");
    if (!have_descr || !have_order || !have_shape)
        HDR_FAIL(OC_ERR_INVALID, "missing '%s'", !have_descr ? "descr" : !have_order ? "fortran_order" : "shape");
    int64_t numel = 1;
    for (int i = 0; i < info->ndim; i++)
        if (oc_mul_overflow_i64(numel, info->dims[i], &numel)) HDR_FAIL(OC_ERR_INVALID, "shape overflows");
    info->numel = numel;
    return OC_OK;
}

/* Opens path and reads its header; *fp is left at the data. */
static oc_status npy_open(oc_ctx *ctx, const char *path, const char *who, FILE **fp, oc_npy_info *info)
{
    memset(info, 0, sizeof(*info));
    *fp = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return oc_fail(ctx, OC_ERR_READ, "%s: cannot open: %s", who, strerror(errno));
    oc_status st = OC_OK;
    char *h = NULL;
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = oc_fail(ctx, OC_ERR_READ, "%s: not a regular file", who);
        goto cleanup;
    }
    uint64_t size = (uint64_t)sb.st_size;
    unsigned char pre[12];
    if (size < 10 || fread(pre, 1, 8, f) != 8 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        st = oc_fail(ctx, OC_ERR_INVALID, "%s: not a .npy file", who);
        goto cleanup;
    }
    int major = pre[6], minor = pre[7];
    if (major < 1 || major > 3 || minor != 0) {
        st = oc_fail(ctx, OC_ERR_UNSUPPORTED, "%s: .npy version %d.%d (1.0, 2.0 and 3.0 are supported)", who,
                     major, minor);
        goto cleanup;
    }
    size_t lenlen = major == 1 ? 2 : 4;
    if (size < 8 + lenlen || fread(pre + 8, 1, lenlen, f) != lenlen) {
        st = oc_fail(ctx, OC_ERR_INVALID, "%s: truncated .npy header", who);
        goto cleanup;
    }
    uint32_t hlen = (uint32_t)pre[8] | (uint32_t)pre[9] << 8;
    if (lenlen == 4) hlen |= (uint32_t)pre[10] << 16 | (uint32_t)pre[11] << 24;
    uint64_t pre_len = 8 + lenlen;
    if (hlen > size - pre_len) {
        st = oc_fail(ctx, OC_ERR_INVALID, "%s: .npy header of %u bytes runs past the end of the file (%llu bytes)",
                     who, hlen, (unsigned long long)size);
        goto cleanup;
    }
    if (hlen > NPY_MAX_HEADER) {
        st = oc_fail(ctx, OC_ERR_INVALID, "%s: .npy header of %u bytes is too long", who, hlen);
        goto cleanup;
    }
    h = oc_malloc((size_t)hlen + 1);
    if (!h) {
        st = oc_fail(ctx, OC_ERR_NOMEM, "%s: out of memory", who);
        goto cleanup;
    }
    if (fread(h, 1, hlen, f) != hlen) {
        st = oc_fail(ctx, OC_ERR_READ, "%s: cannot read the .npy header", who);
        goto cleanup;
    }
    h[hlen] = 0;
    st = parse_header(ctx, who, h, hlen, info);
    if (st != OC_OK) goto cleanup;
    size_t es = oc_data_elem_size(info->dtype);
    int64_t nbytes;
    if (oc_mul_overflow_i64(info->numel, (int64_t)es, &nbytes)) {
        st = oc_fail(ctx, OC_ERR_INVALID, "%s: .npy array size overflows", who);
        goto cleanup;
    }
    info->data_off = (size_t)(pre_len + hlen);
    uint64_t have = size - info->data_off;
    if (have != (uint64_t)nbytes) {
        st = oc_fail(ctx, OC_ERR_INVALID, "%s: .npy file holds %llu data bytes but its header declares %lld (%s)",
                     who, (unsigned long long)have, (long long)nbytes,
                     have < (uint64_t)nbytes ? "truncated" : "trailing bytes");
        goto cleanup;
    }
    info->nbytes = (size_t)nbytes;
cleanup:
    oc_free(h);
    if (st != OC_OK)
        fclose(f);
    else
        *fp = f;
    return st;
}

oc_status oc_npy_peek(oc_ctx *ctx, const char *path, const char *who, oc_npy_info *info)
{
    FILE *f;
    FORWARD_IF_ERROR(npy_open(ctx, path, who, &f, info));
    fclose(f);
    return OC_OK;
}

oc_status oc_npy_load(oc_ctx *ctx, const char *path, const char *who, oc_ten *out)
{
    memset(out, 0, sizeof(*out));
    FILE *f;
    oc_npy_info info;
    FORWARD_IF_ERROR(npy_open(ctx, path, who, &f, &info));
    oc_ctx inner;
    oc_ctx_init(&inner);
    oc_status st = oc_ten_new(&inner, out, info.dtype, info.ndim, info.dims);
    if (st != OC_OK) {
        fclose(f);
        return oc_fail(ctx, st, "%s: %s", who, inner.msg);
    }
    if (info.nbytes && fread(out->data, 1, info.nbytes, f) != info.nbytes) {
        fclose(f);
        oc_ten_release(out);
        return oc_fail(ctx, OC_ERR_READ, "%s: cannot read the array data", who);
    }
    fclose(f);
    return OC_OK;
}

oc_status oc_npy_read(oc_ctx *ctx, const char *path, oc_ten *out)
{
    return oc_npy_load(ctx, path, path, out);
}

/* ---- writing ---- */

oc_status oc_npy_write(oc_ctx *ctx, const char *path, const oc_ten *t)
{
    const char *descr = dtype_descr(t->dtype);
    RETURN_ERROR_IF(!descr, ctx, OC_ERR_UNSUPPORTED, "%s: cannot write a %s tensor as .npy", path,
                    oc_dtype_name(t->dtype));
    RETURN_ERROR_IF(t->ndim < 0 || t->ndim > OC_MAX_DIMS, ctx, OC_ERR_USAGE, "%s: tensor of rank %d", path, t->ndim);
    int64_t numel = 1, nbytes;
    for (int i = 0; i < t->ndim; i++) {
        RETURN_ERROR_IF(t->dims[i] < 0 || oc_mul_overflow_i64(numel, t->dims[i], &numel), ctx, OC_ERR_USAGE,
                        "%s: bad tensor dims", path);
    }
    const bool nibbles = oc_dtype_bits(t->dtype) == 4;
    int64_t have = (numel + 1) / 2;
    RETURN_ERROR_IF((!nibbles && oc_mul_overflow_i64(numel, oc_dtype_bits(t->dtype) / 8, &have)) ||
                        (uint64_t)have > t->nbytes || (have && !t->data),
                    ctx, OC_ERR_USAGE, "%s: tensor data is smaller than its dims say", path);
    nbytes = nibbles ? numel : have;
    /* 4-bit elements: one per byte, sign-extended for INT4 */
    uint8_t *unpacked = NULL;
    const void *payload = t->data;
    if (nibbles && numel) {
        unpacked = oc_malloc((size_t)numel);
        RETURN_ERROR_IF(!unpacked, ctx, OC_ERR_NOMEM, "%s: out of memory", path);
        const uint8_t *src = t->data;
        for (int64_t i = 0; i < numel; i++) {
            uint8_t v = (uint8_t)((src[i / 2] >> ((i & 1) * 4)) & 0xf);
            unpacked[i] = t->dtype == OC_DTYPE_INT4 && v >= 8 ? (uint8_t)(v | 0xf0) : v;
        }
        payload = unpacked;
    }

    /* header: the dict, padded with spaces so the data starts 64-byte aligned */
    char hdr[512];
    int n = snprintf(hdr, sizeof(hdr), "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (int i = 0; i < t->ndim; i++)
        n += snprintf(hdr + n, sizeof(hdr) - (size_t)n, "%s%lld", i ? ", " : "", (long long)t->dims[i]);
    n += snprintf(hdr + n, sizeof(hdr) - (size_t)n, "%s), }", t->ndim == 1 ? "," : "");
    size_t total = 10 + (size_t)n + 1;
    size_t pad = (64 - total % 64) % 64;
    memset(hdr + n, ' ', pad);
    hdr[(size_t)n + pad] = '\n';
    size_t hlen = (size_t)n + pad + 1;
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff),
                             (unsigned char)(hlen >> 8)};

    /* a temporary file beside the destination, renamed over it when complete */
    size_t plen = strlen(path);
    char *tmp = oc_malloc(plen + 16);
    if (!tmp) {
        oc_free(unpacked);
        return oc_fail(ctx, OC_ERR_NOMEM, "%s: out of memory", path);
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmpXXXXXX", 11);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        oc_free(tmp);
        oc_free(unpacked);
        return oc_fail(ctx, OC_ERR_WRITE, "%s: cannot create a temporary file beside it: %s", path, strerror(e));
    }
    mode_t um = umask(0);
    umask(um);
    fchmod(fd, 0666 & ~um);
    FILE *f = fdopen(fd, "wb");
    bool ok = f != NULL;
    if (!f) close(fd);
    ok = ok && fwrite(pre, 1, 10, f) == 10 && fwrite(hdr, 1, hlen, f) == hlen;
    ok = ok && (nbytes == 0 || fwrite(payload, 1, (size_t)nbytes, f) == (size_t)nbytes);
    int e = errno;
    oc_free(unpacked);
    if (f && fclose(f) != 0 && ok) {
        ok = false;
        e = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = false;
        e = errno;
    }
    if (!ok) {
        unlink(tmp);
        oc_free(tmp);
        return oc_fail(ctx, OC_ERR_WRITE, "%s: cannot write: %s", path, strerror(e));
    }
    oc_free(tmp);
    return OC_OK;
}
