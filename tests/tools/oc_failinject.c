/* oc_failinject.c: failure injection through libonnxcomp's public hooks.
 *
 *   oc-failinject alloc MODEL WORK [--once] [--only PIPELINE N]
 *   oc-failinject io MODEL WORK
 *
 * alloc: writes two samples for MODEL's inputs under WORK/data, compresses
 * MODEL once with nothing failing (load -> magnitude prune -> weight-only
 * quantization -> static quantization calibrated on the two samples ->
 * metadata -> save) as the reference, then again and again with allocation
 * N failing (and every one after it; with --once only the Nth), for N = 1,
 * 2, ... until a run makes fewer than N allocations. Every run with a
 * failure must end in OC_ERR_NOMEM with a message, or (only possible when
 * the code recovers) in an output identical to the reference; it must leave
 * no output and no temporary file; the run with no failure must give the
 * reference byte for byte. Built with LeakSanitizer, the heap is checked for
 * leaks after every run.
 *
 * io: makes the writer's Nth file-system call fail (and every one after it)
 * with ENOSPC, EIO and ENOENT (a removed folder), for N = 1, 2, ... until a
 * save makes fewer than N calls; for a plain save, a save with external
 * data, and a save over an existing output (model + data file). A failed
 * save must return OC_ERR_WRITE with a message naming the file and the
 * errno's text, leave no temporary file and leave an existing output as it
 * was; the save with no failure must give the reference.
 *
 * MODEL itself must be unchanged at the end. Prints one PASS or FAIL line
 * per check; exits 1 when something failed. */
#include "onnxcomp.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* LeakSanitizer's interface, present only in a sanitizer build. */
int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

static int failures;

static void fail(const char *check, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(const char *check, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL %s: ", check);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    failures++;
}

/* printf into a path buffer; a path that does not fit ends the test. */
#define PATH_CAP 4096
static void pathf(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pathf(char *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, PATH_CAP, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= PATH_CAP) {
        fprintf(stderr, "oc-failinject: path too long\n");
        exit(2);
    }
}

/* ---- files ---- */

typedef struct blob {
    unsigned char *data;
    size_t len;
    bool ok;
} blob;

static blob read_all(const char *path)
{
    blob b = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return b;
    size_t cap = 1 << 16;
    b.data = malloc(cap);
    while (b.data) {
        size_t n = fread(b.data + b.len, 1, cap - b.len, f);
        b.len += n;
        if (b.len < cap) break;
        unsigned char *nd = realloc(b.data, cap * 2);
        if (!nd) {
            free(b.data);
            b.data = NULL;
            break;
        }
        b.data = nd;
        cap *= 2;
    }
    b.ok = b.data && !ferror(f);
    fclose(f);
    return b;
}

static bool blob_eq(const blob *a, const blob *b)
{
    return a->ok && b->ok && a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

static bool file_is(const char *path, const blob *want)
{
    blob b = read_all(path);
    bool eq = blob_eq(&b, want);
    free(b.data);
    return eq;
}

static bool write_all(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return false;
    bool ok = fwrite(p, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

/* Names in dir (not . and ..), space-separated into buf; the count. */
static int list_dir(const char *dir, char *buf, size_t cap)
{
    int n = 0;
    size_t o = 0;
    buf[0] = 0;
    DIR *d = opendir(dir);
    if (!d) return -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        n++;
        if (o < cap) o += (size_t)snprintf(buf + o, cap - o, "%s%s", o ? " " : "", e->d_name);
    }
    closedir(d);
    return n;
}

static void empty_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char p[PATH_CAP];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        pathf(p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
}

static bool make_dir(const char *path)
{
    return mkdir(path, 0755) == 0 || errno == EEXIST;
}

/* ---- samples ---- */

/* Two samples for the model's inputs (symbolic dims as 1), values a fixed
 * function of the index, as WORK/data/s0 and s1 (one .npy per input). */
static bool write_samples(const char *model, const char *data_dir)
{
    oc_ctx ctx;
    oc_ctx_init(&ctx);
    oc_model *m = NULL;
    if (oc_model_load_file(&ctx, model, NULL, &m) != OC_OK) {
        fail("samples", "%s", ctx.msg);
        return false;
    }
    bool ok = make_dir(data_dir);
    for (int s = 0; s < 2 && ok; s++) {
        char dir[PATH_CAP];
        pathf(dir, "%s/s%d", data_dir, s);
        ok = make_dir(dir);
        for (size_t i = 0; i < m->graph->n_inputs && ok; i++) {
            const oc_value *v = m->graph->inputs[i];
            if (oc_graph_initializer(m->graph, v->name)) continue;
            int64_t dims[OC_MAX_DIMS];
            int nd = v->type.has_shape ? v->type.ndim : 0;
            if (nd > OC_MAX_DIMS) nd = OC_MAX_DIMS;
            for (int k = 0; k < nd; k++)
                dims[k] = v->type.dims[k].kind == OC_DIM_VALUE ? v->type.dims[k].value : 1;
            oc_ten t;
            if (oc_ten_new(&ctx, &t, OC_DTYPE_FLOAT, nd, dims) != OC_OK) {
                fail("samples", "%s", ctx.msg);
                ok = false;
                break;
            }
            float *f = t.data;
            for (int64_t k = 0; k < t.numel; k++)
                f[k] = (float)((k * 37 + s * 101) % 97) / 48.0f - 1.0f;
            char path[PATH_CAP];
            pathf(path, "%s/%s.npy", dir, v->name);
            if (oc_npy_write(&ctx, path, &t) != OC_OK) {
                fail("samples", "%s", ctx.msg);
                ok = false;
            }
            oc_ten_release(&t);
        }
    }
    oc_model_free(m);
    return ok;
}

/* ---- the compression run ---- */

/* Two pipelines: weight-only quantization before static (static then
 * quantizes the activations around weights already quantized), and static
 * alone (which quantizes the weights its own way). */
typedef struct pipeline_spec {
    const char *name;
    const char *passes[4][2];
} pipeline_spec;

static const pipeline_spec pipelines[] = {
    {"prune+weight+static",
     {{"prune", "magnitude:sparsity=0.5"}, {"quant", "weight"}, {"quant", "static:samples=2"}, {NULL, NULL}}},
    {"prune+static", {{"prune", "magnitude:sparsity=0.5"}, {"quant", "static:samples=2"}, {NULL, NULL}}},
};

/* load -> passes -> metadata -> save, the way `onnxcomp compress` does it. */
static oc_status compress(oc_ctx *ctx, const pipeline_spec *ps, const char *model, const char *data,
                          const char *out)
{
    oc_model *m = NULL;
    oc_pipeline *p = oc_pipeline_new();
    oc_status st = p ? OC_OK : OC_ERR_NOMEM;
    if (!p) snprintf(ctx->msg, sizeof(ctx->msg), "pipeline: out of memory");
    for (size_t i = 0; ps->passes[i][0] && st == OC_OK; i++)
        st = oc_pipeline_add(ctx, p, ps->passes[i][0], ps->passes[i][1]);
    if (st == OC_OK) st = oc_model_load_file(ctx, model, NULL, &m);
    if (st == OC_OK) {
        oc_pipeline_opts po = oc_pipeline_opts_default();
        po.data_src = data;
        po.threads = 1; /* one thread: the Nth allocation is the same every run */
        oc_pipeline_report rep;
        st = oc_pipeline_run(ctx, p, m, &po, &rep);
    }
    if (st == OC_OK) {
        char text[2048];
        oc_pipeline_text(p, text, sizeof(text));
        st = oc_model_set_metadata(m, "onnxcomp.passes", text);
        if (st != OC_OK) snprintf(ctx->msg, sizeof(ctx->msg), "metadata: out of memory");
    }
    if (st == OC_OK) {
        oc_save_opts so = oc_save_opts_default();
        st = oc_model_save_file(ctx, m, out, &so);
    }
    oc_model_free(m);
    oc_pipeline_free(p);
    return st;
}

static void alloc_test(const char *model, const char *work, const pipeline_spec *ps, bool once, uint64_t only)
{
    char mode[160];
    const char *slash = strrchr(model, '/');
    snprintf(mode, sizeof(mode), "%s %.60s %s", once ? "alloc-once" : "alloc", slash ? slash + 1 : model, ps->name);
    char data[PATH_CAP], ref_path[PATH_CAP], out_dir[PATH_CAP], out[PATH_CAP], left[512];
    pathf(data, "%s/data", work);
    pathf(ref_path, "%s/ref-%s.onnx", work, ps->name);
    pathf(out_dir, "%s/out-%s%s", work, ps->name, once ? "-once" : "");
    pathf(out, "%s/x.onnx", out_dir);
    if (!make_dir(work) || !make_dir(out_dir)) {
        fail(mode, "cannot create %s", out_dir);
        return;
    }
    blob input = read_all(model);
    if (!input.ok) {
        fail(mode, "cannot read %s", model);
        return;
    }
    if (!write_samples(model, data)) {
        free(input.data);
        return;
    }
    oc_ctx ctx;
    oc_ctx_init(&ctx);
    unlink(ref_path);
    oc_alloc_fail_at(0);
    if (compress(&ctx, ps, model, data, ref_path) != OC_OK) {
        fail(mode, "the reference run failed: %s", ctx.msg);
        free(input.data);
        return;
    }
    uint64_t total = oc_alloc_fail_at(0);
    blob ref = read_all(ref_path);

    uint64_t n = only ? only : 1, leak_at = 0, bad = 0, recovered = 0;
    for (;; n++) {
        oc_ctx_init(&ctx);
        if (once) oc_alloc_fail_once(n);
        else oc_alloc_fail_at(n);
        oc_status st = compress(&ctx, ps, model, data, out);
        uint64_t made = oc_alloc_fail_at(0);
        bool injected = made >= n;
        if (!injected) {
            if (st != OC_OK) fail(mode, "N=%llu: nothing failed, yet: %s", (unsigned long long)n, ctx.msg);
            else if (!file_is(out, &ref)) fail(mode, "N=%llu: nothing failed, but the output differs from the reference",
                                               (unsigned long long)n);
            else if (list_dir(out_dir, left, sizeof(left)) != 1)
                fail(mode, "N=%llu: the output folder holds more than the output: %s", (unsigned long long)n, left);
            else printf("PASS %s: N=%llu, no failure injected (%llu allocations): output identical to the reference\n",
                        mode, (unsigned long long)n, (unsigned long long)made);
            break;
        }
        char check[224];
        snprintf(check, sizeof(check), "%s N=%llu", mode, (unsigned long long)n);
        if (st == OC_OK) {
            /* the failed allocation was absorbed: then the result must be right */
            if (!file_is(out, &ref)) {
                if (bad++ < 20) fail(check, "succeeded, but the output differs from the reference");
            } else {
                recovered++;
            }
            empty_dir(out_dir);
        } else {
            if (st != OC_ERR_NOMEM) {
                if (bad++ < 20) fail(check, "status '%s' instead of out of memory: %s", oc_status_name(st), ctx.msg);
            } else if (!ctx.msg[0] || strchr(ctx.msg, '\n')) {
                if (bad++ < 20) fail(check, "out of memory, but the message is '%s'", ctx.msg);
            }
            if (list_dir(out_dir, left, sizeof(left)) != 0) {
                if (bad++ < 20) fail(check, "left in the output folder: %s", left);
                empty_dir(out_dir);
            }
        }
        if (__lsan_do_recoverable_leak_check && !leak_at && __lsan_do_recoverable_leak_check()) {
            leak_at = n;
            fail(check, "memory leaked (LeakSanitizer's report is on stderr)");
        }
        if (only) break;
        if (n > total + 1000) {
            fail(mode, "N=%llu: still failing past the %llu allocations of the reference run", (unsigned long long)n,
                 (unsigned long long)total);
            break;
        }
    }
    if (!bad && !only) {
        char absorbed[128] = "";
        if (recovered)
            snprintf(absorbed, sizeof(absorbed), " (%llu absorbed the failure and wrote the reference output)",
                     (unsigned long long)recovered);
        printf("PASS %s: N=1..%llu each ended in a clean out-of-memory error, nothing written%s\n", mode,
               (unsigned long long)(n - 1), absorbed);
    }
    if (__lsan_do_recoverable_leak_check && !leak_at)
        printf("PASS %s: no leak after any of the %llu runs (LeakSanitizer)\n", mode, (unsigned long long)n);
    if (file_is(model, &input)) printf("PASS %s: input unchanged\n", mode);
    else fail(mode, "the input model changed");
    free(input.data);
    free(ref.data);
    empty_dir(out_dir);
    rmdir(out_dir);
}

/* ---- I/O failures ---- */

typedef struct io_case {
    const char *name;
    bool external;  /* tensors of >= 1 KiB to x.onnx.data */
    bool existing;  /* an older x.onnx (+ x.onnx.data) is there, -f */
} io_case;

static const io_case io_cases[] = {
    {"plain", false, false},
    {"external-data", true, false},
    {"over-existing", true, true},
};

static const struct {
    int err;
    const char *name;
} io_errs[] = {{ENOSPC, "ENOSPC"}, {EIO, "EIO"}, {ENOENT, "ENOENT"}};

static int io_test(const char *model, const char *work)
{
    oc_ctx ctx;
    oc_ctx_init(&ctx);
    blob input = read_all(model);
    if (!input.ok || !make_dir(work)) {
        fail("io", "cannot read %s or create %s", model, work);
        return 1;
    }
    oc_model *m = NULL;
    if (oc_model_load_file(&ctx, model, NULL, &m) != OC_OK) {
        fail("io", "%s", ctx.msg);
        return 1;
    }
    static const char old_model[] = "an older model", old_data[] = "its external data";
    blob old_m = {(unsigned char *)old_model, sizeof(old_model) - 1, true};
    blob old_d = {(unsigned char *)old_data, sizeof(old_data) - 1, true};
    for (size_t c = 0; c < sizeof(io_cases) / sizeof(io_cases[0]); c++) {
        const io_case *ic = &io_cases[c];
        oc_save_opts so = oc_save_opts_default();
        so.external_min_bytes = ic->external ? 1024 : SIZE_MAX;
        so.force = ic->existing;
        /* the reference, written with nothing failing */
        char rdir[PATH_CAP], rpath[PATH_CAP], rdata[PATH_CAP];
        pathf(rdir, "%s/ref-%s", work, ic->name);
        pathf(rpath, "%s/x.onnx", rdir);
        pathf(rdata, "%s.data", rpath);
        make_dir(rdir);
        empty_dir(rdir);
        oc_io_fail_at(0, 0);
        if (oc_model_save_file(&ctx, m, rpath, &so) != OC_OK) {
            fail("io", "%s: the reference save failed: %s", ic->name, ctx.msg);
            continue;
        }
        blob ref_m = read_all(rpath), ref_d = read_all(rdata);
        if (ic->external && !ref_d.ok) fail("io", "%s: the reference has no external data file", ic->name);
        for (size_t e = 0; e < sizeof(io_errs) / sizeof(io_errs[0]); e++) {
            char check[128], dir[PATH_CAP], path[PATH_CAP], dpath[PATH_CAP], left[512];
            snprintf(check, sizeof(check), "io %s %s", ic->name, io_errs[e].name);
            pathf(dir, "%s/%s-%s", work, ic->name, io_errs[e].name);
            pathf(path, "%s/x.onnx", dir);
            pathf(dpath, "%s.data", path);
            make_dir(dir);
            empty_dir(dir);
            const char *errtext = strerror(io_errs[e].err);
            int bad = 0;
            uint64_t n = 1;
            for (;; n++) {
                if (ic->existing && (!write_all(path, old_model, sizeof(old_model) - 1) ||
                                     !write_all(dpath, old_data, sizeof(old_data) - 1))) {
                    fail(check, "cannot write the existing output");
                    break;
                }
                oc_ctx_init(&ctx);
                oc_io_fail_at(n, io_errs[e].err);
                oc_status st = oc_model_save_file(&ctx, m, path, &so);
                uint64_t made = oc_io_fail_at(0, 0);
                if (made < n) {
                    if (st != OC_OK) fail(check, "N=%llu: nothing failed, yet: %s", (unsigned long long)n, ctx.msg);
                    else if (!file_is(path, &ref_m) || (ic->external && !file_is(dpath, &ref_d)))
                        fail(check, "N=%llu: the output differs from the reference", (unsigned long long)n);
                    else if (list_dir(dir, left, sizeof(left)) != (ic->external ? 2 : 1))
                        fail(check, "N=%llu: the folder holds more than the output: %s", (unsigned long long)n, left);
                    break;
                }
                if (st != OC_ERR_WRITE) {
                    if (bad++ < 10)
                        fail(check, "N=%llu: status '%s' instead of a write error: %s", (unsigned long long)n,
                             oc_status_name(st), ctx.msg);
                } else if (!strstr(ctx.msg, errtext) || !strstr(ctx.msg, path)) {
                    if (bad++ < 10)
                        fail(check, "N=%llu: the message does not name the file and '%s': %s", (unsigned long long)n,
                             errtext, ctx.msg);
                }
                int want = ic->existing ? 2 : 0;
                int have = list_dir(dir, left, sizeof(left));
                if (have != want) {
                    if (bad++ < 10)
                        fail(check, "N=%llu: the folder should hold %d files, it holds: %s", (unsigned long long)n,
                             want, left);
                } else if (ic->existing && (!file_is(path, &old_m) || !file_is(dpath, &old_d))) {
                    if (bad++ < 10) fail(check, "N=%llu: the existing output was changed", (unsigned long long)n);
                }
                empty_dir(dir);
                if (n > 100000) {
                    fail(check, "no end to the I/O calls");
                    break;
                }
            }
            if (!bad)
                printf("PASS %s: N=1..%llu each failed cleanly (write error naming the file and '%s'%s)\n", check,
                       (unsigned long long)(n - 1), errtext,
                       ic->existing ? ", existing output untouched" : ", nothing left");
            empty_dir(dir);
            rmdir(dir);
        }
        free(ref_m.data);
        free(ref_d.data);
        empty_dir(rdir);
        rmdir(rdir);
    }
    oc_model_free(m);
    if (file_is(model, &input)) printf("PASS io: input unchanged\n");
    else fail("io", "the input model changed");
    free(input.data);
    return failures != 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && !strcmp(argv[1], "alloc")) {
        bool once = false;
        uint64_t only = 0; /* --only N: that run alone, for a debugger */
        size_t which = SIZE_MAX;
        for (int i = 4; i < argc; i++) {
            if (!strcmp(argv[i], "--once")) once = true;
            else if (!strcmp(argv[i], "--only") && i + 2 < argc) {
                which = strtoul(argv[++i], NULL, 10);
                only = strtoull(argv[++i], NULL, 10);
            }
        }
        for (size_t i = 0; i < sizeof(pipelines) / sizeof(pipelines[0]); i++)
            if (which == SIZE_MAX || which == i) alloc_test(argv[2], argv[3], &pipelines[i], once, only);
        return failures != 0;
    }
    if (argc == 4 && !strcmp(argv[1], "io")) return io_test(argv[2], argv[3]);
    fprintf(stderr, "usage: oc-failinject alloc MODEL WORK [--once] [--only PIPELINE N] | io MODEL WORK\n");
    return 2;
}
