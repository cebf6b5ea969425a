/* harness.c: the scratch folder, file helpers and checks the fuzz targets
 * share (see harness.h). */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char scratch[512];

void fz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
    fprintf(stderr, "fuzz check failed at %s:%d: %s: ", file, line, cond);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    abort();
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void remove_scratch(void)
{
    if (scratch[0]) nftw(scratch, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void fz_remove_tree(const char *name)
{
    char path[700];
    snprintf(path, sizeof(path), "%s/%s", fz_dir(), name);
    struct stat sb;
    if (lstat(path, &sb) == 0) nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *fz_dir(void)
{
    if (scratch[0]) return scratch;
    const char *bases[] = {getenv("TMPDIR"), "/dev/shm", "/tmp"};
    for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
        struct stat sb;
        if (!bases[i] || !*bases[i] || stat(bases[i], &sb) != 0 || !S_ISDIR(sb.st_mode)) continue;
        snprintf(scratch, sizeof(scratch), "%s/onnxcomp-fuzz.XXXXXX", bases[i]);
        if (mkdtemp(scratch)) {
            atexit(remove_scratch);
            return scratch;
        }
    }
    fprintf(stderr, "fuzz harness: cannot make a scratch folder: %s\n", strerror(errno));
    abort();
}

const char *fz_path(char *buf, size_t cap, const char *name)
{
    int n = snprintf(buf, cap, "%s/%s", fz_dir(), name);
    if (n < 0 || (size_t)n >= cap) {
        fprintf(stderr, "fuzz harness: path too long: %s\n", name);
        abort();
    }
    /* make the folders on the way */
    for (char *p = buf + strlen(scratch) + 1; (p = strchr(p, '/')) != NULL; p++) {
        *p = 0;
        if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
            fprintf(stderr, "fuzz harness: cannot make %s: %s\n", buf, strerror(errno));
            abort();
        }
        *p = '/';
    }
    return buf;
}

void fz_write(const char *path, const void *data, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "fuzz harness: cannot write %s: %s\n", path, strerror(errno));
        abort();
    }
    const uint8_t *p = data;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            fprintf(stderr, "fuzz harness: cannot write %s: %s\n", path, strerror(errno));
            abort();
        }
        p += w;
        n -= (size_t)w;
    }
    close(fd);
}

void fz_unlink(const char *path)
{
    if (unlink(path) != 0 && errno != ENOENT) {
        fprintf(stderr, "fuzz harness: cannot remove %s: %s\n", path, strerror(errno));
        abort();
    }
}

/* The whole file, malloc'd; NULL when it does not exist. */
static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 4096;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) abort();
            buf = nb;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        if (!got) break;
        len += got;
    }
    fclose(f);
    *n = len;
    return buf;
}

bool fz_same_file(const char *a, const char *b)
{
    size_t na = 0, nb = 0;
    uint8_t *da = slurp(a, &na), *db = slurp(b, &nb);
    bool same = (!da && !db) || (da && db && na == nb && (na == 0 || memcmp(da, db, na) == 0));
    free(da);
    free(db);
    return same;
}

void fz_check_error(const oc_ctx *ctx, oc_status st)
{
    FZ_CHECK(st > OC_OK && st < OC_STATUS_COUNT, "status %d out of range", (int)st);
    FZ_CHECK(ctx->msg[0] != 0, "a failure (%s) without a message", oc_status_name(st));
}

uint64_t fz_hash(const uint8_t *data, size_t size)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < size; i++) {
        h ^= data[i];
        h *= 1099511628211ull;
    }
    return h;
}

void fz_input(oc_value *v, oc_dim *dims_store, const char *name, int dtype, int ndim, const int64_t *dims)
{
    memset(v, 0, sizeof(*v));
    v->name = name;
    v->has_type = true;
    v->type.kind = OC_TYPE_TENSOR;
    v->type.elem_type = dtype;
    if (ndim < 0) return;
    v->type.has_shape = true;
    v->type.ndim = ndim;
    v->type.dims = dims_store;
    for (int i = 0; i < ndim; i++) {
        memset(&dims_store[i], 0, sizeof(dims_store[i]));
        if (dims[i] < 0) {
            dims_store[i].kind = OC_DIM_PARAM;
            dims_store[i].param = "N";
        } else {
            dims_store[i].kind = OC_DIM_VALUE;
            dims_store[i].value = dims[i];
        }
    }
}

void fz_read_dataset(const char *src, const oc_value *v, const oc_data_opts *o, size_t max_samples)
{
    oc_ctx ctx;
    oc_ctx_init(&ctx);
    oc_dataset *d = NULL;
    const oc_value *ins[1] = {v};
    oc_status st = oc_dataset_open(&ctx, src, 1, ins, o, &d);
    if (st != OC_OK) {
        FZ_CHECK(d == NULL, "a failed open returned a dataset");
        fz_check_error(&ctx, st);
        return;
    }
    size_t n = oc_dataset_count(d);
    FZ_CHECK(n > 0, "an open dataset without samples");
    FZ_CHECK(oc_dataset_kind_name(d) != NULL, "no kind name");
    FZ_CHECK(oc_dataset_sample_name(d, n) == NULL, "a name for sample %zu of %zu", n, n);
    for (size_t i = 0; i < n && i < max_samples; i++) {
        FZ_CHECK(oc_dataset_sample_name(d, i) != NULL, "no name for sample %zu", i);
        oc_ten t;
        memset(&t, 0, sizeof(t));
        int64_t label = -2;
        st = oc_dataset_get(&ctx, d, i, &t, &label);
        if (st != OC_OK) {
            fz_check_error(&ctx, st);
            FZ_CHECK(t.data == NULL, "a failed get left a tensor");
            continue;
        }
        FZ_CHECK(label >= -1, "label %lld", (long long)label);
        FZ_CHECK(oc_dataset_has_labels(d) || label == -1, "a label without labels");
        if (v->type.elem_type) FZ_CHECK(t.dtype == v->type.elem_type, "dtype %d for an input of %d", t.dtype,
                                        v->type.elem_type);
        if (v->type.has_shape) {
            FZ_CHECK(t.ndim == v->type.ndim, "rank %d for an input of rank %d", t.ndim, v->type.ndim);
            for (int k = 0; k < t.ndim; k++)
                if (v->type.dims[k].kind == OC_DIM_VALUE)
                    FZ_CHECK(t.dims[k] == v->type.dims[k].value, "dim %d is %lld, not %lld", k,
                             (long long)t.dims[k], (long long)v->type.dims[k].value);
        }
        int64_t numel = 1;
        for (int k = 0; k < t.ndim; k++) numel *= t.dims[k];
        FZ_CHECK(numel == t.numel, "numel %lld for dims giving %lld", (long long)t.numel, (long long)numel);
        int bits = oc_dtype_bits(t.dtype);
        FZ_CHECK(bits <= 0 || t.nbytes == (size_t)((t.numel * bits + 7) / 8), "%zu bytes for %lld elements",
                 t.nbytes, (long long)t.numel);
        fz_touch(t.data, t.nbytes);
        oc_ten_release(&t);
    }
    oc_dataset_free(d);
}

static volatile uint8_t touch_sink;

void fz_touch(const void *p, size_t n)
{
    uint8_t sum = 0;
    for (size_t i = 0; i < n; i++) sum = (uint8_t)(sum + ((const uint8_t *)p)[i]);
    touch_sink = sum;
}
