/* compress.c: `onnxcomp compress IN... [-o OUT | --output-dir DIR]`: the
 * options, and one model's work: load, run the pass pipeline, check the
 * quality gate, write. Many models, workers, progress and reports are
 * batch.c's. An output is written to a temporary file and renamed into
 * place; SIGINT and SIGTERM remove it. An existing output is kept unless -f
 * (or -u for an out-of-date one onnxcomp made); an up-to-date one is
 * skipped, told by the metadata the output records about how it was made. */
#include "batch.h"
#include "recipe.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char compress_help[] =
    "usage: onnxcomp compress IN.onnx... [-o OUT.onnx | --output-dir DIR] [-r] [-j N]\n"
    "                         [--preset NAME | --recipe FILE.json | --prune P | --quant Q]... [options]\n"
    "\n"
    "Reads each IN, runs the compression passes (prune passes first, then quant\n"
    "passes; with none, the model is written back as it came) and writes its\n"
    "output through a temporary file renamed into place. A model that fails does\n"
    "not stop the others: the failures are listed at the end.\n"
    "\n"
    "inputs and outputs:\n"
    "  -o, --output FILE         the output of a single input\n"
    "  --output-dir DIR          write each output into DIR, mirroring the folders\n"
    "                            given with -r (created as needed)\n"
    "                            (neither: IN.onnxcomp.onnx beside each IN, when\n"
    "                            there are passes)\n"
    "  -r, --recursive           a folder input gives every *.onnx below it (not\n"
    "                            *.onnxcomp.onnx, hidden names, DIR, or symlinked\n"
    "                            folders), in sorted order\n"
    "  -j, --jobs N              compress N models at once in worker processes\n"
    "                            (0: one per core; default 1)\n"
    "  -f, --force               replace existing outputs, even up-to-date ones\n"
    "  -u, --update              replace an existing output onnxcomp made when it\n"
    "                            is out of date (input newer, other passes, ...);\n"
    "                            without -f or -u an existing output is kept, and\n"
    "                            skipped when it is up to date\n"
    "  --overwrite-input         allow OUT to be IN itself\n"
    "  --external-data[=BYTES]   write tensors of at least BYTES bytes (default\n"
    "                            1024) to OUT.data beside OUT; models over 2 GiB\n"
    "                            are written this way automatically\n"
    "\n"
    "passes:\n"
    "  --preset NAME             add a preset's passes (below; repeatable)\n"
    "  --recipe FILE.json        add a recipe file's passes and settings (data,\n"
    "                            limit, exclusions, keep_first_last); flags given\n"
    "                            here override its data, limit and keep_first_last\n"
    "                            and add to its exclusions\n"
    "  --quant NAME[:k=v,...]    add a quantization pass (repeatable)\n"
    "  --prune NAME[:k=v,...]    add a pruning pass (repeatable)\n"
    "  --list-passes             describe every pass and its options\n"
    "  --exclude-op OP           leave every OP node in float (repeatable)\n"
    "  --exclude-node NAME       leave node NAME in float (repeatable)\n"
    "  --only-node NAME          compress only the named nodes (repeatable)\n"
    "  --keep-first-last         leave the first and last weighted layers in float\n"
    "  --round-to N              --prune channel keeps channel counts at multiples\n"
    "                            of N (its round_to option)\n"
    "  --calib SRC               calibration samples: the same as --data SRC\n"
    "\n"
    "quality gate (the output is compared with its input on samples, as by\n"
    "`onnxcomp eval`; a model that falls short is reported, exit code 9):\n"
    "  --min-cosine C            every output's cosine similarity at least C\n"
    "  --max-drop POINTS         top-1 accuracy at most POINTS percentage points\n"
    "                            below the input's (the samples need labels)\n"
    "  --gate-data SRC           samples for the gate, all of them (default: the\n"
    "                            --data source; with --split calib the gate takes\n"
    "                            the eval part, so the two never overlap)\n"
    "  --gate-limit N            at most N gate samples (default: --limit)\n"
    "  --gate-deletes            do not keep a model below the gate (OUT is not\n"
    "                            written; an earlier OUT is removed)\n"
    "\n"
    "reports:\n"
    "  --report FILE.json        one JSON record per model (fields in the README),\n"
    "                            written through a temporary file; replaces FILE\n"
    "  -q, --quiet               nothing but errors\n"
    "  -v, --verbose             more detail (twice: phase timings)\n"
    "  -h, --help                this text\n"
    "\n"
    "exit codes: 0 success; 1-7 as `onnxcomp --help` for a single model;\n"
    "  8 some models of a batch failed; 9 a model fell short of the quality gate;\n"
    "  130 / 143 interrupted by SIGINT / SIGTERM (no partial output is left)\n"
    "\n";

#define MAX_LIST 64

static bool parse_size(const char *s, size_t *out)
{
    if (!*s) return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || s[0] == '-') return false;
    *out = (size_t)v;
    return true;
}

static bool parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v)) return false;
    *out = v;
    return true;
}

/* ---- one model ---- */

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void set_fail(job_result *res, job_status st, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void set_fail(job_result *res, job_status st, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->error, sizeof(res->error), fmt, ap);
    va_end(ap);
    res->status = st;
    res->exit_code = code;
}

static long long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode) ? (long long)sb.st_size : -1;
}

static bool newer(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec > b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec > b->tv_nsec);
}

static uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

/* "BYTES bytes, hash HEX": a 64-bit hash of every byte of the file (four
 * multiply-rotate lanes: page-cache speed), recorded as onnxcomp.input so
 * that an output made from another file of the same name is not taken for
 * up to date. Not cryptographic: it guards against mistakes, not attacks. */
static bool file_fingerprint(const char *path, char *buf, size_t cap)
{
    const uint64_t P1 = 0x9E3779B185EBCA87ULL, P2 = 0xC2B2AE3D27D4EB4FULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    size_t bufsz = 1 << 20;
    unsigned char *b = malloc(bufsz);
    if (!b) {
        close(fd);
        return false;
    }
    uint64_t lane[4] = {P1, P2, P1 ^ P2, ~P1}, total = 0;
    unsigned char tail[32];
    size_t nt = 0;
    bool ok = true;
    for (;;) {
        ssize_t r = read(fd, b, bufsz);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            ok = false;
            break;
        }
        if (r == 0) break;
        size_t n = (size_t)r, i = 0;
        total += n;
        while (i < n) {
            if (nt == 0 && n - i >= 32) {
                for (int k = 0; k < 4; k++) {
                    uint64_t w;
                    memcpy(&w, b + i + 8 * k, 8);
                    lane[k] = rotl(lane[k] + w * P2, 31) * P1;
                }
                i += 32;
            } else {
                tail[nt++] = b[i++];
                if (nt == 32) {
                    for (int k = 0; k < 4; k++) {
                        uint64_t w;
                        memcpy(&w, tail + 8 * k, 8);
                        lane[k] = rotl(lane[k] + w * P2, 31) * P1;
                    }
                    nt = 0;
                }
            }
        }
    }
    close(fd);
    free(b);
    if (!ok) return false;
    uint64_t h = rotl(lane[0], 1) + rotl(lane[1], 7) + rotl(lane[2], 12) + rotl(lane[3], 18) + total;
    for (size_t i = 0; i < nt; i++) h = rotl(h ^ (tail[i] * P1), 11) * P2;
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    snprintf(buf, cap, "%llu bytes, hash %016llx", (unsigned long long)total, (unsigned long long)h);
    return true;
}

/* The fingerprint of a big input, taken on a thread of its own while the
 * model loads and compresses (it reads every byte once more: on a 600 MB
 * model, a tenth of the run). */
enum { FP_THREAD_MIN = 64 << 20 };

typedef struct fp_job {
    const char *path;
    char buf[96];
    bool ok, started;
    pthread_t th;
} fp_job;

static void *fp_main(void *p)
{
    fp_job *j = p;
    j->ok = file_fingerprint(j->path, j->buf, sizeof(j->buf));
    return NULL;
}

static void fp_start(fp_job *j, const char *path)
{
    j->path = path;
    j->started = file_size(path) >= FP_THREAD_MIN && pthread_create(&j->th, NULL, fp_main, j) == 0;
}

/* Joins a started job; true with its fingerprint in buf when it had one. */
static bool fp_finish(fp_job *j, char *buf, size_t cap)
{
    if (!j->started) return false;
    pthread_join(j->th, NULL);
    j->started = false;
    if (j->ok) snprintf(buf, cap, "%s", j->buf);
    return j->ok;
}

static const char *meta(const oc_model *m, const char *key)
{
    for (size_t i = 0; i < m->n_metadata; i++)
        if (m->metadata[i].key && !strcmp(m->metadata[i].key, key)) return m->metadata[i].value;
    return NULL;
}

/* Removes a metadata_props entry, so that what an earlier compress recorded
 * about an input (its samples, options) does not pass for this run's. */
static void meta_drop(oc_model *m, const char *key)
{
    size_t j = 0;
    for (size_t i = 0; i < m->n_metadata; i++)
        if (!m->metadata[i].key || strcmp(m->metadata[i].key, key)) m->metadata[j++] = m->metadata[i];
    m->n_metadata = j;
}

static bool same_text(const char *a, const char *b)
{
    return (!a || !*a) ? (!b || !*b) : (b && !strcmp(a, b));
}

typedef enum out_state { OUT_ABSENT, OUT_UP_TO_DATE, OUT_STALE, OUT_FOREIGN } out_state;

/* What an existing OUT is: up to date (newer than IN and onnxcomp, made by
 * this version from these bytes with these passes, samples and options),
 * out of date (why says how), or not something onnxcomp recorded making. */
static out_state check_output(const compress_settings *cs, const char *in, const char *out, const char *fp,
                              char *why, size_t cap)
{
    struct stat so_, si;
    if (stat(out, &so_) != 0) return OUT_ABSENT;
    if (!oc_pipeline_size(cs->pl) || !S_ISREG(so_.st_mode)) return OUT_FOREIGN;
    oc_ctx ctx;
    oc_ctx_init(&ctx);
    oc_load_opts lo = oc_load_opts_default();
    lo.verify = false;
    oc_model *m = NULL;
    if (oc_model_load_file(&ctx, out, &lo, &m) != OC_OK) return OUT_FOREIGN;
    out_state st = OUT_UP_TO_DATE;
    const char *passes = meta(m, "onnxcomp.passes");
    struct stat se;
    if (!passes) {
        st = OUT_FOREIGN;
    } else if (stat(in, &si) == 0 && newer(&si.st_mtim, &so_.st_mtim)) {
        snprintf(why, cap, "the input is newer");
    } else if (stat("/proc/self/exe", &se) == 0 && newer(&se.st_mtim, &so_.st_mtim)) {
        snprintf(why, cap, "onnxcomp is newer");
    } else if (!same_text(meta(m, "onnxcomp.version"), OC_VERSION_STRING)) {
        snprintf(why, cap, "made by onnxcomp %s", meta(m, "onnxcomp.version") ? meta(m, "onnxcomp.version") : "?");
    } else if (!same_text(passes, cs->passes)) {
        snprintf(why, cap, "made with other passes: %s", passes);
    } else if (!same_text(meta(m, "onnxcomp.calibration"), cs->da.src)) {
        snprintf(why, cap, "calibrated on other samples: %s",
                 meta(m, "onnxcomp.calibration") ? meta(m, "onnxcomp.calibration") : "none");
    } else if (!same_text(meta(m, "onnxcomp.options"), cs->options)) {
        snprintf(why, cap, "made with other options: %s",
                 meta(m, "onnxcomp.options") ? meta(m, "onnxcomp.options") : "none");
    } else if (!fp || !same_text(meta(m, "onnxcomp.input"), fp)) {
        snprintf(why, cap, "made from another input");
    }
    if (st == OUT_UP_TO_DATE && why[0]) st = OUT_STALE;
    oc_model_free(m);
    return st;
}

/* Bytes of the model file and of the distinct external data files it names. */
typedef struct ext_sum {
    const char *dir;
    const char *seen[64];
    size_t n;
    long long bytes;
} ext_sum;

static void add_ext(void *ud, oc_graph *g, oc_node *n, oc_tensor *t)
{
    (void)g;
    (void)n;
    ext_sum *e = ud;
    if (t->enc != OC_ENC_EXTERNAL) return;
    for (size_t k = 0; k < t->n_ext; k++) {
        if (!t->ext[k].key || strcmp(t->ext[k].key, "location") || !t->ext[k].value) continue;
        const char *loc = t->ext[k].value;
        for (size_t i = 0; i < e->n; i++)
            if (!strcmp(e->seen[i], loc)) return;
        if (e->n < 64) e->seen[e->n++] = loc;
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/%s", e->dir && *e->dir ? e->dir : ".", loc);
        long long s = file_size(p);
        if (s > 0) e->bytes += s;
    }
}

static long long model_bytes(oc_model *m)
{
    ext_sum e = {.dir = m->dir};
    e.bytes = (long long)m->file_size;
    oc_model_foreach_weight(m, add_ext, &e);
    return e.bytes;
}

int cli_make_parents(const char *path)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) return ENAMETOOLONG;
    char *slash = strrchr(buf, '/');
    if (!slash || slash == buf) return 0;
    *slash = 0;
    for (char *p = buf + 1; ; p++) {
        if (*p == '/' || *p == 0) {
            char c = *p;
            *p = 0;
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) return errno;
            *p = c;
            if (!c) break;
        }
    }
    struct stat sb;
    if (stat(buf, &sb) != 0) return errno;
    return S_ISDIR(sb.st_mode) ? 0 : ENOTDIR;
}

static void gate_progress(void *ud, size_t done, size_t total)
{
    (void)ud;
    batch_phase("gate", done, total);
}

static bool gate_on(const compress_settings *cs)
{
    return !isnan(cs->min_cosine) || !isnan(cs->max_drop);
}

/* Runs the gate: the compressed model m against a fresh load of IN. Returns
 * false when the gate could not run (res says why). */
static bool run_gate(const compress_settings *cs, const char *in, const char *out, oc_model *m, job_result *res)
{
    oc_ctx ctx;
    oc_ctx_init(&ctx);
    oc_model *ref = NULL;
    oc_status st = oc_model_load_file(&ctx, in, NULL, &ref);
    if (st != OC_OK) {
        set_fail(res, JOB_FAILED, oc_status_exit_code(st), "%s", ctx.msg);
        return false;
    }
    char err[1200];
    if (data_args_pin_msg(&cs->da, ref, in, err, sizeof(err))) {
        set_fail(res, JOB_FAILED, 1, "%s", err);
        oc_model_free(ref);
        return false;
    }
    batch_phase("gate", 0, 0);
    int rc = eval_compare(ref, in, m, out, cs->gate_src, &cs->gate_o, cs->da.threads, gate_progress, NULL, &res->ev,
                          err, sizeof(err));
    oc_model_free(ref);
    if (rc) {
        set_fail(res, JOB_FAILED, rc, "%s: quality gate: %s", in, err);
        return false;
    }
    res->has_eval = true;
    res->gate_passed = true;
    size_t w = 0;
    double mc = eval_min_cosine(&res->ev, &w);
    if (!isnan(cs->min_cosine) && !(mc >= cs->min_cosine)) {
        res->gate_passed = false;
        set_fail(res, JOB_GATE_FAILED, EXIT_GATE_FAILED, "%s: below the quality gate: output '%s' has cosine %.6f < %.10g",
                 in, res->ev.outputs[w].name, mc, cs->min_cosine);
    }
    if (!isnan(cs->max_drop)) {
        if (!res->ev.labelled) {
            set_fail(res, JOB_FAILED, 1, "%s: --max-drop needs labelled samples, and %s has no labels", in,
                     cs->gate_src);
            return false;
        }
        double drop = 100.0 * (res->ev.acc_ref - res->ev.acc_cand);
        if (drop > cs->max_drop && res->gate_passed) {
            res->gate_passed = false;
            set_fail(res, JOB_GATE_FAILED, EXIT_GATE_FAILED,
                     "%s: below the quality gate: accuracy %.2f%% -> %.2f%% loses %.2f points > %.10g", in,
                     100.0 * res->ev.acc_ref, 100.0 * res->ev.acc_cand, drop, cs->max_drop);
        }
    }
    return true;
}

static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

void compress_one(const compress_settings *cs, const char *in, const char *out, job_result *res)
{
    memset(res, 0, sizeof(*res));
    res->done = true;
    res->bytes_in = res->bytes_out = -1;
    double t0 = now_s(), t_phase = t0;
    struct timespec wall0;
    clock_gettime(CLOCK_REALTIME_COARSE, &wall0);
    oc_ctx ctx;
    oc_ctx_init(&ctx);
    oc_model *m = NULL;
    oc_save_opts so = cs->so;
    char fp[96] = "", why[1100] = "";
    bool have_fp = false;
    fp_job fpj = {0};
    bool pipeline = oc_pipeline_size(cs->pl) > 0;

    struct stat si;
    if (stat(in, &si) == 0 && S_ISDIR(si.st_mode)) {
        set_fail(res, JOB_FAILED, oc_status_exit_code(OC_ERR_READ),
                 "%s: is a directory (use -r to compress the .onnx files below it)", in);
        goto done;
    }
    if (same_file(in, out) && !so.allow_overwrite_input) {
        set_fail(res, JOB_FAILED, 1, "%s: is the input itself (use --overwrite-input to replace it)", out);
        goto done;
    }
    if (!so.force && !so.allow_overwrite_input) {
        if (pipeline && access(out, F_OK) == 0) have_fp = file_fingerprint(in, fp, sizeof(fp));
        switch (check_output(cs, in, out, have_fp ? fp : NULL, why, sizeof(why))) {
        case OUT_ABSENT: break;
        case OUT_UP_TO_DATE:
            res->status = JOB_SKIPPED;
            res->bytes_in = file_size(in);
            res->bytes_out = file_size(out);
            goto done;
        case OUT_STALE:
            if (cs->update) {
                batch_say(2, "%s: replacing %s: %s", in, out, why);
                so.force = true;
                break;
            }
            set_fail(res, JOB_FAILED, 1, "%s: already exists and is out of date (%s): use -u or -f to replace it", out,
                     why);
            goto done;
        case OUT_FOREIGN:
            set_fail(res, JOB_FAILED, 1, "%s: already exists (use -f to replace it)", out);
            goto done;
        }
    }

    if (pipeline && !have_fp) fp_start(&fpj, in);
    batch_phase("loading", 0, 0);
    oc_status st = oc_model_load_file(&ctx, in, NULL, &m);
    if (st != OC_OK) {
        set_fail(res, JOB_FAILED, oc_status_exit_code(st), "%s", ctx.msg);
        goto done;
    }
    res->bytes_in = model_bytes(m);
    if (data_args_pin_msg(&cs->da, m, in, why, sizeof(why))) {
        set_fail(res, JOB_FAILED, 1, "%s", why);
        goto done;
    }
    if (g_verbosity >= 3) batch_say(3, "%s: loaded in %.3f s", in, now_s() - t_phase);
    t_phase = now_s();

    oc_pipeline_opts po = oc_pipeline_opts_default();
    po.data_src = cs->da.src;
    po.data = cs->da.o;
    po.threads = cs->da.threads;
    po.exclude_ops = cs->exclude_ops;
    po.n_exclude_ops = cs->n_exclude_ops;
    po.exclude_nodes = cs->exclude_nodes;
    po.n_exclude_nodes = cs->n_exclude_nodes;
    po.only_nodes = cs->only_nodes;
    po.n_only_nodes = cs->n_only_nodes;
    po.keep_first_last = cs->keep_first_last;
    oc_pipeline_report *rep = calloc(1, sizeof(*rep));
    if (!rep) {
        set_fail(res, JOB_FAILED, oc_status_exit_code(OC_ERR_NOMEM), "%s: out of memory", in);
        goto done;
    }
    if (pipeline) batch_phase(oc_pipeline_needs_data(cs->pl, NULL) ? "calibrating" : "compressing", 0, 0);
    st = oc_pipeline_run(&ctx, cs->pl, m, &po, rep);
    if (st != OC_OK) {
        set_fail(res, JOB_FAILED, oc_status_exit_code(st), "%s: %s", in, ctx.msg);
        free(rep);
        goto done;
    }
    res->weights_quantized = rep->weights_quantized;
    res->nodes_quantized = rep->nodes_quantized;
    res->activations_quantized = rep->activations_quantized;
    res->layers_pruned = rep->layers_pruned;
    res->weights_zero = rep->weights_zero;
    res->weights_prunable = rep->weights_prunable;
    res->channels_removed = rep->channels_removed;
    res->groups_left = (int64_t)rep->groups_skipped;
    res->groups_approx = (int64_t)rep->groups_approx;
    if (rep->notices_len) {
        /* each notice as its own "onnxcomp: IN: ..." line */
        char *line = rep->notices;
        while (*line) {
            char *nl = strchr(line, '\n');
            if (nl) *nl = 0;
            batch_say(1, "onnxcomp: %s: %s", in, line);
            if (!nl) break;
            line = nl + 1;
        }
    }
    free(rep);
    if (pipeline && g_verbosity >= 3) batch_say(3, "%s: passes ran in %.3f s", in, now_s() - t_phase);
    t_phase = now_s();

    if (pipeline) {
        if (!have_fp) have_fp = fp_finish(&fpj, fp, sizeof(fp)) || file_fingerprint(in, fp, sizeof(fp));
        meta_drop(m, "onnxcomp.calibration");
        meta_drop(m, "onnxcomp.options");
        meta_drop(m, "onnxcomp.input");
        if (oc_model_set_metadata(m, "onnxcomp.version", OC_VERSION_STRING) != OC_OK ||
            oc_model_set_metadata(m, "onnxcomp.passes", cs->passes) != OC_OK ||
            (cs->da.src && oc_model_set_metadata(m, "onnxcomp.calibration", cs->da.src) != OC_OK) ||
            (cs->options[0] && oc_model_set_metadata(m, "onnxcomp.options", cs->options) != OC_OK) ||
            (have_fp && oc_model_set_metadata(m, "onnxcomp.input", fp) != OC_OK)) {
            set_fail(res, JOB_FAILED, oc_status_exit_code(OC_ERR_NOMEM), "%s: out of memory", in);
            goto done;
        }
    }

    if (gate_on(cs)) {
        if (!run_gate(cs, in, out, m, res)) goto done;
        if (g_verbosity >= 3) batch_say(3, "%s: gate ran in %.3f s", in, now_s() - t_phase);
        t_phase = now_s();
        if (!res->gate_passed && cs->gate_deletes) {
            char data_path[PATH_MAX + 8];
            snprintf(data_path, sizeof(data_path), "%s.data", out);
            if (!same_file(in, out) && access(out, F_OK) == 0) {
                unlink(out);
                unlink(data_path);
            }
            size_t l = strlen(res->error);
            snprintf(res->error + l, sizeof(res->error) - l, " (%s not written: --gate-deletes)", out);
            goto done;
        }
    }

    if (cs->make_dirs) {
        int e = cli_make_parents(out);
        if (e) {
            set_fail(res, JOB_FAILED, oc_status_exit_code(OC_ERR_WRITE), "%s: cannot create its folder: %s", out,
                     strerror(e));
            goto done;
        }
    }
    batch_phase("writing", 0, 0);
    st = oc_model_save_file(&ctx, m, out, &so);
    if (st != OC_OK) {
        set_fail(res, JOB_FAILED, oc_status_exit_code(st), "%s", ctx.msg);
        goto done;
    }
    res->output_written = true;
    if (g_verbosity >= 3) batch_say(3, "%s: written in %.3f s", out, now_s() - t_phase);
    res->bytes_out = file_size(out);
    {
        char data_path[PATH_MAX + 8];
        struct stat sd;
        snprintf(data_path, sizeof(data_path), "%s.data", out);
        if (res->bytes_out >= 0 && stat(data_path, &sd) == 0 && !newer(&wall0, &sd.st_mtim))
            res->bytes_out += (long long)sd.st_size;
    }
    if (res->status == JOB_GATE_FAILED) {
        size_t l = strlen(res->error);
        snprintf(res->error + l, sizeof(res->error) - l, " (%s written all the same)", out);
    }
done:
    fp_finish(&fpj, fp, sizeof(fp));
    oc_model_free(m);
    res->seconds = now_s() - t0;
}

/* ---- options ---- */

/* Adds s to a fixed list, or says the list is full. */
static bool list_add(const char **list, size_t *n, const char *s, const char *opt)
{
    if (*n >= MAX_LIST) {
        cli_error("compress: at most %d %s options", MAX_LIST, opt);
        return false;
    }
    list[(*n)++] = s;
    return true;
}

/* Appends printf-style text to buf, a space before it unless buf is empty. */
static void append(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t cap, const char *fmt, ...)
{
    size_t l = strlen(buf);
    if (l && l + 1 < cap) {
        buf[l++] = ' ';
        buf[l] = 0;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + l, cap - l, fmt, ap);
    va_end(ap);
}

/* The settings besides the passes that change the output, recorded as
 * onnxcomp.options so that a run with other ones does not skip it:
 * "--exclude-op Conv --keep-first-last --limit 100 --split calib". */
static void options_text(compress_settings *cs)
{
    char *b = cs->options;
    size_t cap = sizeof(cs->options);
    b[0] = 0;
    for (size_t i = 0; i < cs->n_exclude_ops; i++) append(b, cap, "--exclude-op %s", cs->exclude_ops[i]);
    for (size_t i = 0; i < cs->n_exclude_nodes; i++) append(b, cap, "--exclude-node %s", cs->exclude_nodes[i]);
    for (size_t i = 0; i < cs->n_only_nodes; i++) append(b, cap, "--only-node %s", cs->only_nodes[i]);
    if (cs->keep_first_last) append(b, cap, "--keep-first-last");
    char data[1024];
    data_args_text(&cs->da, data, sizeof(data));
    if (data[0]) append(b, cap, "%s", data + 1);
    if (cs->so.external_min_bytes != SIZE_MAX) append(b, cap, "--external-data=%zu", cs->so.external_min_bytes);
}

static void print_help(void)
{
    char desc[8192];
    oc_pipeline_describe(desc, sizeof(desc));
    fputs(compress_help, stdout);
    fputs("presets (--preset NAME):\n", stdout);
    fputs(recipe_presets_help(), stdout);
    fputs("\npasses (--prune / --quant NAME[:key=value,...]):\n", stdout);
    fputs(desc, stdout);
    fputs("\n", stdout);
    fputs(data_args_help, stdout);
}

int cmd_compress(int argc, char **argv)
{
    compress_settings cs;
    memset(&cs, 0, sizeof(cs));
    cs.so = oc_save_opts_default();
    cs.min_cosine = cs.max_drop = NAN;
    data_args_init(&cs.da);
    batch_opts bo = {.jobs = 1};
    oc_ctx ctx;
    oc_ctx_init(&ctx);
    recipe_settings rs;
    memset(&rs, 0, sizeof(rs));
    const char *excl_ops[MAX_LIST], *excl_nodes[MAX_LIST], *only_nodes[MAX_LIST];
    const char **inputs = calloc((size_t)argc + 1, sizeof(*inputs));
    const char *recipe_path = NULL, *preset_needing_data = NULL, *round_to = NULL;
    size_t gate_limit = 0;
    bool gate_limit_given = false, jobs_given = false, options_done = false;
    int rc = 0;
    cs.pl = oc_pipeline_new();
    if (!cs.pl || !inputs) {
        cli_error("out of memory");
        rc = oc_status_exit_code(OC_ERR_NOMEM);
        goto done;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (options_done || a[0] != '-' || !a[1]) {
            inputs[bo.n_inputs++] = a;
            continue;
        }
        if (!strcmp(a, "--")) {
            options_done = true;
            continue;
        }
        if (!strcmp(a, "--calib")) {
            if (++i >= argc) {
                cli_error("--calib needs a value");
                rc = 1;
                goto done;
            }
            cs.da.src = argv[i];
            continue;
        }
        int r = data_args_parse(&cs.da, argc, argv, &i);
        if (r < 0) {
            rc = 1;
            goto done;
        }
        if (r > 0) continue;
        /* options with a value */
        static const char *const valued[] = {"--quant", "--prune", "--exclude-op", "--exclude-node", "--only-node",
                                             "-o", "--output", "--output-dir", "-j", "--jobs", "--report",
                                             "--preset", "--recipe", "--min-cosine", "--max-drop", "--gate-data",
                                             "--gate-limit", "--round-to", NULL};
        const char *v = NULL;
        for (int k = 0; valued[k]; k++)
            if (!strcmp(a, valued[k])) {
                if (++i >= argc) {
                    cli_error("compress: %s needs a value%s", a,
                              !strcmp(a, "--quant")   ? ", e.g. weight:bits=8"
                              : !strcmp(a, "--prune") ? ", e.g. magnitude:sparsity=0.5"
                                                      : "");
                    rc = 1;
                    goto done;
                }
                v = argv[i];
                break;
            }
        if (!v && !strncmp(a, "-j", 2) && a[2] >= '0' && a[2] <= '9') {
            v = a + 2;
            a = "-j";
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            print_help();
            goto done;
        } else if (!strcmp(a, "--list-passes")) {
            char desc[8192];
            oc_pipeline_describe(desc, sizeof(desc));
            fputs(desc, stdout);
            goto done;
        } else if (!strcmp(a, "--quant") || !strcmp(a, "--prune")) {
            if (oc_pipeline_add(&ctx, cs.pl, a + 2, v) != OC_OK) {
                cli_error("compress: %s", ctx.msg);
                rc = oc_status_exit_code(ctx.status);
                goto done;
            }
        } else if (!strcmp(a, "--preset")) {
            int r2 = recipe_preset(&ctx, cs.pl, v);
            if (r2) {
                cli_error("compress: %s", ctx.msg);
                rc = r2;
                goto done;
            }
            if (!preset_needing_data && recipe_preset_needs_data(v)) preset_needing_data = v;
        } else if (!strcmp(a, "--recipe")) {
            if (recipe_path) {
                cli_error("compress: one --recipe at a time ('%s' and '%s')", recipe_path, v);
                rc = 1;
                goto done;
            }
            recipe_path = v;
            int r2 = recipe_load(&ctx, cs.pl, v, &rs);
            if (r2) {
                cli_error("compress: %s", ctx.msg);
                rc = r2;
                goto done;
            }
        } else if (!strcmp(a, "--round-to")) {
            round_to = v;
        } else if (!strcmp(a, "--keep-first-last")) {
            cs.keep_first_last = true;
        } else if (!strcmp(a, "--exclude-op")) {
            if (!list_add(excl_ops, &cs.n_exclude_ops, v, a)) rc = 1;
        } else if (!strcmp(a, "--exclude-node")) {
            if (!list_add(excl_nodes, &cs.n_exclude_nodes, v, a)) rc = 1;
        } else if (!strcmp(a, "--only-node")) {
            if (!list_add(only_nodes, &cs.n_only_nodes, v, a)) rc = 1;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            bo.output = v;
        } else if (!strcmp(a, "--output-dir")) {
            bo.output_dir = v;
        } else if (!strcmp(a, "-j") || !strcmp(a, "--jobs")) {
            size_t n;
            if (!parse_size(v, &n) || n > 256) {
                cli_error("compress: %s wants a number of jobs from 0 to 256, got '%s'", a, v);
                rc = 1;
                goto done;
            }
            if (n == 0) {
                long c = sysconf(_SC_NPROCESSORS_ONLN);
                n = c > 0 ? (size_t)c : 1;
            }
            bo.jobs = (int)(n > 256 ? 256 : n);
            jobs_given = true;
        } else if (!strcmp(a, "--report")) {
            bo.report = v;
        } else if (!strcmp(a, "--min-cosine") || !strcmp(a, "--max-drop")) {
            double d;
            bool cos = a[3] == 'i';
            if (!parse_double(v, &d) || (cos ? (d < -1 || d > 1) : (d < 0 || d > 100))) {
                cli_error("compress: %s wants %s, got '%s'", a, cos ? "a cosine from -1 to 1" : "points from 0 to 100",
                          v);
                rc = 1;
                goto done;
            }
            if (cos) cs.min_cosine = d;
            else cs.max_drop = d;
        } else if (!strcmp(a, "--gate-data")) {
            cs.gate_src = v;
        } else if (!strcmp(a, "--gate-limit")) {
            if (!parse_size(v, &gate_limit) || !gate_limit) {
                cli_error("compress: --gate-limit wants a count, got '%s'", v);
                rc = 1;
                goto done;
            }
            gate_limit_given = true;
        } else if (!strcmp(a, "--gate-deletes")) {
            cs.gate_deletes = true;
        } else if (!strcmp(a, "-r") || !strcmp(a, "--recursive")) {
            bo.recursive = true;
        } else if (!strcmp(a, "-f") || !strcmp(a, "--force")) {
            cs.so.force = true;
        } else if (!strcmp(a, "-u") || !strcmp(a, "--update")) {
            cs.update = true;
        } else if (!strcmp(a, "--overwrite-input")) {
            cs.so.allow_overwrite_input = true;
            cs.so.force = true;
        } else if (!strcmp(a, "--external-data")) {
            cs.so.external_min_bytes = 1024;
        } else if (!strncmp(a, "--external-data=", 16)) {
            if (!parse_size(a + 16, &cs.so.external_min_bytes)) {
                cli_error("compress: --external-data wants a byte count, got '%s'", a + 16);
                rc = 1;
                goto done;
            }
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            g_verbosity = 0;
        } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            g_verbosity = (g_verbosity < 1 ? 1 : g_verbosity) + 1;
        } else {
            cli_error("compress: unknown option '%s' (try 'onnxcomp compress --help')", a);
            rc = 1;
            goto done;
        }
        if (rc) goto done;
    }

    if (round_to && oc_pipeline_set(&ctx, cs.pl, "prune", "channel", "round_to", round_to, "--round-to") != OC_OK) {
        cli_error("compress: %s", ctx.msg);
        rc = oc_status_exit_code(ctx.status);
        goto done;
    }
    /* the recipe's settings, where the command line did not say */
    if (!cs.da.src && rs.data) cs.da.src = rs.data;
    if (!cs.da.o.limit && rs.limit > 0) cs.da.o.limit = (size_t)rs.limit;
    if (!cs.keep_first_last && rs.has_keep_first_last) cs.keep_first_last = rs.keep_first_last;
    for (size_t k = 0; k < rs.n_exclude_ops && !rc; k++)
        if (!list_add(excl_ops, &cs.n_exclude_ops, rs.exclude_ops[k], "--exclude-op")) rc = 1;
    for (size_t k = 0; k < rs.n_exclude_nodes && !rc; k++)
        if (!list_add(excl_nodes, &cs.n_exclude_nodes, rs.exclude_nodes[k], "--exclude-node")) rc = 1;
    if (rc) goto done;
    cs.exclude_ops = excl_ops;
    cs.exclude_nodes = excl_nodes;
    cs.only_nodes = only_nodes;
    bo.inputs = inputs;

    if (!bo.n_inputs) {
        cli_error("compress: no input model given");
        rc = 1;
        goto done;
    }
    if (bo.output && bo.output_dir) {
        cli_error("compress: -o and --output-dir do not go together");
        rc = 1;
        goto done;
    }
    if (bo.output && (bo.n_inputs > 1 || bo.recursive)) {
        cli_error("compress: -o names the output of one input; with %s, give --output-dir DIR",
                  bo.recursive ? "-r" : "several inputs");
        rc = 1;
        goto done;
    }
    if (!bo.output && !bo.output_dir && !oc_pipeline_size(cs.pl)) {
        cli_error("compress: no output given (-o OUT.onnx or --output-dir DIR); with no passes the default "
                  "output would be a copy of the input");
        rc = 1;
        goto done;
    }
    const char *which;
    if (oc_pipeline_needs_data(cs.pl, &which) && !cs.da.src) {
        if (preset_needing_data)
            cli_error("compress: --preset %s needs calibration samples: give --data SRC (a folder of .npy files, "
                      "ONNX test_data_set_* folders, an IDX file or an image folder)", preset_needing_data);
        else
            cli_error("compress: --quant %s needs calibration samples: give --data SRC (a folder of .npy files, "
                      "ONNX test_data_set_* folders, an IDX file or an image folder)", which);
        rc = 1;
        goto done;
    }
    if (gate_on(&cs)) {
        if (!cs.gate_src && !cs.da.src) {
            cli_error("compress: the quality gate needs samples: give --data SRC or --gate-data SRC");
            rc = 1;
            goto done;
        }
        cs.gate_o = cs.da.o;
        if (cs.gate_src) {
            cs.gate_o.split = 0;
            cs.gate_o.limit = gate_limit;
        } else {
            cs.gate_src = cs.da.src;
            cs.gate_o.split = cs.da.o.split == 1 ? 2 : cs.da.o.split == 2 ? 1 : 0;
            if (gate_limit_given) cs.gate_o.limit = gate_limit;
            if (!cs.da.o.split && oc_pipeline_needs_data(cs.pl, NULL))
                batch_say(1, "onnxcomp: notice: the quality gate runs on the calibration samples; give --split calib "
                             "to calibrate on one part of %s and gate on the other", cs.da.src);
        }
    } else if (cs.gate_src || gate_limit_given || cs.gate_deletes) {
        cli_error("compress: %s needs a gate: --min-cosine C or --max-drop POINTS",
                  cs.gate_src ? "--gate-data" : gate_limit_given ? "--gate-limit" : "--gate-deletes");
        rc = 1;
        goto done;
    }

    /* worker processes share the cores unless --threads says otherwise */
    if (!cs.da.threads && jobs_given && bo.jobs > 1) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        cs.da.threads = c > bo.jobs ? (int)(c / bo.jobs) : 1;
    }
    oc_pipeline_text(cs.pl, cs.passes, sizeof(cs.passes));
    options_text(&cs);
    cs.make_dirs = bo.output_dir != NULL;
    rc = batch_run(&cs, &bo);
done:
    recipe_settings_free(&rs);
    oc_pipeline_free(cs.pl);
    free(inputs);
    return rc;
}
