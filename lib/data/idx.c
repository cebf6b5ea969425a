/* idx.c: IDX files, the format of MNIST and its relatives (Fashion-MNIST,
 * EMNIST, KMNIST), plain or gzip-compressed (zlib reads both).
 *
 * Layout: two zero bytes, a type code, a rank, then one big-endian u32 per
 * dim and the elements. Only unsigned-byte files are accepted: that is what
 * every image and label file of that family holds. The data is read in
 * growing chunks, so a header declaring more than the file holds costs no
 * more memory than the file, and must be followed by exactly nothing. */
#include "data.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

/* More than any IDX file in use (EMNIST by_class is under 1 GiB). */
#define IDX_MAX_BYTES ((uint64_t)1 << 33)

static const char *type_name(int t)
{
    switch (t) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "short";
    case 0x0C: return "int";
    case 0x0D: return "float";
    case 0x0E: return "double";
    default: return NULL;
    }
}

bool oc_idx_sniff(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) return false;
    gzFile g = gzopen(path, "rb");
    if (!g) return false;
    unsigned char m[4];
    int n = gzread(g, m, 4);
    gzclose(g);
    return n == 4 && m[0] == 0 && m[1] == 0 && type_name(m[2]) && m[3] >= 1 && m[3] <= OC_MAX_DIMS;
}

void oc_idx_free(oc_idx *x)
{
    if (!x) return;
    oc_free(x->data);
    memset(x, 0, sizeof(*x));
}

/* Reads n bytes; false on a short read. */
static bool gz_read_all(gzFile g, void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n) {
        unsigned chunk = n > (1u << 30) ? (1u << 30) : (unsigned)n;
        int got = gzread(g, p, chunk);
        if (got <= 0) return false;
        p += got;
        n -= (size_t)got;
    }
    return true;
}

oc_status oc_idx_load(oc_ctx *ctx, const char *path, oc_idx *out)
{
    memset(out, 0, sizeof(*out));
    struct stat sb;
    if (stat(path, &sb) != 0) return oc_fail(ctx, OC_ERR_READ, "%s: cannot open: %s", path, strerror(errno));
    RETURN_ERROR_IF(!S_ISREG(sb.st_mode), ctx, OC_ERR_READ, "%s: not a regular file", path);
    gzFile g = gzopen(path, "rb");
    RETURN_ERROR_IF(!g, ctx, OC_ERR_READ, "%s: cannot open: %s", path, strerror(errno));
    oc_status st = OC_OK;
    unsigned char m[4], d[4 * OC_MAX_DIMS];
    if (!gz_read_all(g, m, 4) || m[0] != 0 || m[1] != 0 || !type_name(m[2])) {
        st = oc_fail(ctx, OC_ERR_INVALID, "%s: not an IDX file", path);
        goto cleanup;
    }
    if (m[3] < 1 || m[3] > OC_MAX_DIMS) {
        st = oc_fail(ctx, OC_ERR_UNSUPPORTED, "%s: IDX file of rank %d (1..%d supported)", path, m[3], OC_MAX_DIMS);
        goto cleanup;
    }
    if (m[2] != 0x08) {
        st = oc_fail(ctx, OC_ERR_UNSUPPORTED, "%s: IDX elements are %s; only unsigned-byte files are supported",
                     path, type_name(m[2]));
        goto cleanup;
    }
    out->type = m[2];
    out->ndim = m[3];
    if (!gz_read_all(g, d, 4 * (size_t)out->ndim)) {
        st = oc_fail(ctx, OC_ERR_INVALID, "%s: truncated IDX header", path);
        goto cleanup;
    }
    uint64_t total = 1;
    for (int i = 0; i < out->ndim; i++) {
        const unsigned char *q = d + 4 * i;
        out->dims[i] = (int64_t)((uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3]);
        total *= (uint64_t)out->dims[i];
        if (total > IDX_MAX_BYTES) {
            st = oc_fail(ctx, OC_ERR_INVALID, "%s: IDX header declares more than %llu bytes", path,
                         (unsigned long long)IDX_MAX_BYTES);
            goto cleanup;
        }
    }
    /* read in chunks that grow with what actually arrives */
    size_t want = (size_t)total, have = 0, cap = 0;
    while (have < want) {
        if (have == cap) {
            size_t ncap = cap ? cap * 2 : ((size_t)1 << 20);
            if (ncap > want) ncap = want;
            uint8_t *nd = oc_realloc(out->data, ncap);
            if (!nd) {
                st = oc_fail(ctx, OC_ERR_NOMEM, "%s: out of memory for %zu bytes", path, ncap);
                goto cleanup;
            }
            out->data = nd;
            cap = ncap;
        }
        size_t room = cap - have;
        unsigned chunk = room > (1u << 30) ? (1u << 30) : (unsigned)room;
        int got = gzread(g, out->data + have, chunk);
        if (got <= 0) {
            int zerr = 0;
            const char *zmsg = gzerror(g, &zerr);
            st = oc_fail(ctx, OC_ERR_INVALID, "%s: truncated IDX file: %zu of %zu data bytes%s%s", path, have, want,
                         zerr && zerr != Z_BUF_ERROR ? ": " : "", zerr && zerr != Z_BUF_ERROR ? zmsg : "");
            goto cleanup;
        }
        have += (size_t)got;
    }
    out->nbytes = want;
    unsigned char extra;
    if (gzread(g, &extra, 1) != 0) {
        st = oc_fail(ctx, OC_ERR_INVALID, "%s: IDX file has data past the %zu bytes its header declares", path, want);
        goto cleanup;
    }
cleanup:
    /* a gzip stream cut inside its trailer still gave every byte: refuse it too */
    if (gzclose(g) == Z_BUF_ERROR && st == OC_OK)
        st = oc_fail(ctx, OC_ERR_INVALID, "%s: truncated gzip stream", path);
    if (st != OC_OK) oc_idx_free(out);
    return st;
}

bool oc_idx_labels_path(const char *images, char *buf, size_t cap)
{
    const char *base = strrchr(images, '/');
    base = base ? base + 1 : images;
    const char *at = strstr(base, "images");
    if (!at) return false;
    int n = snprintf(buf, cap, "%.*slabels%s", (int)(at - images), images, at + 6);
    if (n < 0 || (size_t)n + 4 >= cap) return false;
    /* "idx3" -> "idx1" in the part after the directory */
    char *k = strstr(buf + (base - images), "idx3");
    if (k) k[3] = '1';
    struct stat sb;
    if (stat(buf, &sb) == 0 && S_ISREG(sb.st_mode)) return true;
    /* the other compression: with or without ".gz" */
    size_t len = strlen(buf);
    if (len > 3 && strcmp(buf + len - 3, ".gz") == 0)
        buf[len - 3] = 0;
    else
        memcpy(buf + len, ".gz", 4);
    return stat(buf, &sb) == 0 && S_ISREG(sb.st_mode);
}
