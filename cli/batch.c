/* batch.c: compress many models. The inputs become a list of jobs (folders
 * walked with -r, outputs named by -o, --output-dir or beside the input),
 * checked for outputs that would collide or replace another input; then the
 * jobs run one after the other in this process, or with -j N in worker
 * processes, one per model, which send their stderr lines, progress and
 * results back through a pipe so that the parent alone writes to the
 * terminal (lines stay whole). A failing model does not stop the others.
 *
 * Interrupts: SIGINT/SIGTERM/SIGHUP remove the temporary files of saves in
 * progress (oc_remove_pending_outputs) and of the report, and the process
 * dies of the signal (exit status 128 + signal). With workers the parent
 * forwards the signal, waits for every worker to clean up and die, then
 * dies of it too. What was renamed into place is complete; nothing else is
 * left. */
#include "batch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORKERS 256

/* ---- stderr: whole lines and a progress line ---- */

static pthread_mutex_t g_out_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_worker_fd = -1;              /* in a worker: the pipe to the parent */
static bool g_tty;                        /* draw a progress line */
static volatile sig_atomic_t g_line_shown; /* a progress line is on screen */

/* What the model in this process is doing (in-process runs). */
static struct {
    char label[PATH_MAX];
    char phase[24];
    size_t done, total;
    double t0;
    size_t index, count;
    bool active;
} g_cur;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static bool write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        c += w;
        n -= (size_t)w;
    }
    return true;
}

/* Prints one line on stderr, first clearing the progress line. */
static void print_line(const char *text)
{
    pthread_mutex_lock(&g_out_lock);
    size_t n = strlen(text);
    char *buf = malloc(n + 8);
    if (buf) {
        size_t o = 0;
        if (g_line_shown) {
            memcpy(buf, "\r\033[K", 4);
            o = 4;
            g_line_shown = 0;
        }
        memcpy(buf + o, text, n);
        buf[o + n] = '\n';
        write_all(2, buf, o + n + 1);
        free(buf);
    }
    pthread_mutex_unlock(&g_out_lock);
}

/* Draws the progress line (already composed) in place. */
static void draw_line(const char *text)
{
    struct winsize ws;
    size_t width = ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10 ? ws.ws_col : 80;
    char buf[1024];
    size_t n = strlen(text);
    if (n > width - 1) n = width - 1;
    if (n > sizeof(buf) - 8) n = sizeof(buf) - 8;
    memcpy(buf, "\r\033[K", 4);
    memcpy(buf + 4, text, n);
    write_all(2, buf, n + 4);
    g_line_shown = 1;
}

static void clear_line(void)
{
    pthread_mutex_lock(&g_out_lock);
    if (g_line_shown) write_all(2, "\r\033[K", 4);
    g_line_shown = 0;
    pthread_mutex_unlock(&g_out_lock);
}

/* A record from a worker to its parent: a line, a progress update or the
 * result. Same binary on both ends, so structs go as they are. */
typedef struct rec_hdr {
    char type; /* 'L', 'P', 'R' */
    uint32_t len;
} rec_hdr;

typedef struct prog_msg {
    char phase[24];
    uint64_t done, total;
} prog_msg;

static void send_record(char type, const void *p, size_t n)
{
    rec_hdr h = {.type = type, .len = (uint32_t)n};
    char stackbuf[4096];
    char *buf = sizeof(h) + n <= sizeof(stackbuf) ? stackbuf : malloc(sizeof(h) + n);
    if (!buf) return;
    memcpy(buf, &h, sizeof(h));
    memcpy(buf + sizeof(h), p, n);
    write_all(g_worker_fd, buf, sizeof(h) + n);
    if (buf != stackbuf) free(buf);
}

void batch_say(int level, const char *fmt, ...)
{
    if (g_verbosity < level) return;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (g_worker_fd >= 0) send_record('L', line, strlen(line) + 1);
    else print_line(line);
}

void batch_phase(const char *phase, size_t done, size_t total)
{
    if (g_worker_fd >= 0) {
        static double last;
        static char last_phase[24];
        double t = now_s();
        if (!strcmp(last_phase, phase) && t - last < 0.1 && done != total) return;
        last = t;
        snprintf(last_phase, sizeof(last_phase), "%s", phase);
        prog_msg pm;
        memset(&pm, 0, sizeof(pm));
        snprintf(pm.phase, sizeof(pm.phase), "%s", phase);
        pm.done = done;
        pm.total = total;
        send_record('P', &pm, sizeof(pm));
        return;
    }
    pthread_mutex_lock(&g_out_lock);
    snprintf(g_cur.phase, sizeof(g_cur.phase), "%s", phase);
    g_cur.done = done;
    g_cur.total = total;
    pthread_mutex_unlock(&g_out_lock);
}

/* "calibrating 3.2s" or "gate 40/100" */
static void phase_text(char *buf, size_t cap, const char *phase, size_t done, size_t total, double t0)
{
    static const char spin[] = "|/-\\";
    if (total)
        snprintf(buf, cap, "%s %zu/%zu (%d%%)", phase, done, total, (int)(100.0 * (double)done / (double)total));
    else
        snprintf(buf, cap, "%s %c %.1fs", phase, spin[(int)(now_s() * 6) & 3], now_s() - t0);
}

/* The in-process progress line, redrawn about 6 times a second. */
static volatile bool g_ticker_stop;

static void *ticker(void *arg)
{
    (void)arg;
    while (!g_ticker_stop) {
        struct timespec ts = {0, 160 * 1000 * 1000};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&g_out_lock);
        if (g_cur.active && !g_ticker_stop) {
            char ph[96], line[PATH_MAX + 160];
            phase_text(ph, sizeof(ph), g_cur.phase[0] ? g_cur.phase : "starting", g_cur.done, g_cur.total, g_cur.t0);
            if (g_cur.count > 1)
                snprintf(line, sizeof(line), "[%zu/%zu] %s: %s", g_cur.index + 1, g_cur.count, g_cur.label, ph);
            else
                snprintf(line, sizeof(line), "%s: %s", g_cur.label, ph);
            draw_line(line);
        }
        pthread_mutex_unlock(&g_out_lock);
    }
    return NULL;
}

/* ---- signals ---- */

static char g_report_tmp[PATH_MAX];          /* the report's temporary file ... */
static volatile sig_atomic_t g_report_live;  /* ... while this is set */
static volatile pid_t g_pids[MAX_WORKERS];   /* live workers, for forwarding */
static volatile sig_atomic_t g_sig;          /* the signal that interrupted the parent */

/* This process's own work is interrupted: remove its temporary files and die
 * of the signal. */
static void die_on_signal(int sig)
{
    oc_remove_pending_outputs();
    if (g_report_live) unlink(g_report_tmp);
    if (g_line_shown && g_worker_fd < 0) (void)!write(2, "\r\033[K", 4);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* The parent of workers: pass the signal on; the loop waits for them. */
static void forward_signal(int sig)
{
    if (!g_sig) g_sig = sig;
    for (int i = 0; i < MAX_WORKERS; i++)
        if (g_pids[i] > 0) kill(g_pids[i], sig);
}

static const int g_signals[] = {SIGINT, SIGTERM, SIGHUP};

static void set_handlers(void (*fn)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = fn;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(g_signals) / sizeof(g_signals[0]); i++) sigaction(g_signals[i], &sa, NULL);
}

static void block_signals(bool block, sigset_t *old)
{
    sigset_t s;
    sigemptyset(&s);
    for (size_t i = 0; i < sizeof(g_signals) / sizeof(g_signals[0]); i++) sigaddset(&s, g_signals[i]);
    if (block) sigprocmask(SIG_BLOCK, &s, old);
    else sigprocmask(SIG_SETMASK, old, NULL);
}

/* ---- jobs ---- */

typedef struct job {
    char *in, *out;
    char *rel;           /* path below the -r folder (or the file's name), for --output-dir */
    bool planned_fail;   /* failed while planning: res says why */
    job_result res;
    /* a worker running it */
    pid_t pid;
    int fd;
    char *buf;
    size_t len, cap;
    char phase[24];
    size_t done, total;
    double t0;
} job;

typedef struct joblist {
    job *v;
    size_t n, cap;
} joblist;

static job *add_job(joblist *jl, const char *in, const char *rel)
{
    if (jl->n == jl->cap) {
        size_t nc = jl->cap ? jl->cap * 2 : 16;
        job *nv = realloc(jl->v, nc * sizeof(job));
        if (!nv) return NULL;
        jl->v = nv;
        jl->cap = nc;
    }
    job *j = &jl->v[jl->n];
    memset(j, 0, sizeof(*j));
    j->fd = -1;
    j->in = strdup(in);
    j->rel = strdup(rel);
    if (!j->in || !j->rel) {
        free(j->in);
        free(j->rel);
        return NULL;
    }
    jl->n++;
    return j;
}

static void plan_fail(job *j, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void plan_fail(job *j, int code, const char *fmt, ...)
{
    if (j->planned_fail) return;
    j->planned_fail = true;
    j->res.done = true;
    j->res.status = JOB_FAILED;
    j->res.exit_code = code;
    j->res.bytes_in = j->res.bytes_out = -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->res.error, sizeof(j->res.error), fmt, ap);
    va_end(ap);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

static char *join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    bool slash = la && a[la - 1] != '/';
    char *r = malloc(la + lb + 2);
    if (!r) return NULL;
    memcpy(r, a, la);
    if (slash) r[la] = '/';
    memcpy(r + la + slash, b, lb + 1);
    return r;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef struct walker {
    joblist *jl;
    const char *root;
    bool skip_dir;      /* the output folder exists: leave it out of the walk */
    dev_t skip_dev;
    ino_t skip_ino;
    bool nomem;
} walker;

/* Adds every *.onnx below dir (rel: its path below the root), sorted. */
static void walk(walker *w, const char *dir, const char *rel, int depth)
{
    DIR *d = opendir(dir);
    if (!d) {
        job *j = add_job(w->jl, dir, rel);
        if (!j) w->nomem = true;
        else plan_fail(j, oc_status_exit_code(OC_ERR_READ), "%s: cannot read the folder: %s", dir, strerror(errno));
        return;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue; /* ., .., hidden files, temporary files */
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 32;
            char **nn = realloc(names, nc * sizeof(*nn));
            if (!nn) break;
            names = nn;
            cap = nc;
        }
        if (!(names[n] = strdup(e->d_name))) break;
        n++;
    }
    closedir(d);
    if (n) qsort(names, n, sizeof(*names), cmp_str);
    for (size_t i = 0; i < n; i++) {
        char *path = join(dir, names[i]);
        char *r = *rel ? join(rel, names[i]) : strdup(names[i]);
        struct stat ls, st;
        if (!path || !r) {
            w->nomem = true;
        } else if (lstat(path, &ls) == 0) {
            bool link = S_ISLNK(ls.st_mode);
            bool ok = link ? stat(path, &st) == 0 : (st = ls, true);
            if (ok && S_ISDIR(st.st_mode) && !link) {
                bool skip = w->skip_dir && st.st_dev == w->skip_dev && st.st_ino == w->skip_ino;
                if (!skip && depth < 64) walk(w, path, r, depth + 1);
            } else if (ok && S_ISREG(st.st_mode) && ends_with(names[i], ".onnx") &&
                       !ends_with(names[i], ".onnxcomp.onnx")) {
                if (!add_job(w->jl, path, r)) w->nomem = true;
            }
        }
        free(path);
        free(r);
        free(names[i]);
    }
    free(names);
}

/* IN.onnx -> IN.onnxcomp.onnx (or IN + ".onnxcomp.onnx"). */
static char *default_output(const char *in)
{
    size_t l = strlen(in);
    if (ends_with(in, ".onnx")) l -= 5;
    char *r = malloc(l + 16);
    if (!r) return NULL;
    memcpy(r, in, l);
    memcpy(r + l, ".onnxcomp.onnx", 15);
    return r;
}

/* An absolute, symlink-free spelling of path (its folder resolved when it
 * exists), so two spellings of one file compare equal. */
static char *canonical(const char *path)
{
    char *r = realpath(path, NULL);
    if (r) return r;
    const char *slash = strrchr(path, '/');
    char dir[PATH_MAX];
    const char *base = slash ? slash + 1 : path;
    if (slash) snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path == 0 ? 1 : slash - path), path);
    else snprintf(dir, sizeof(dir), ".");
    char *d = realpath(dir, NULL);
    if (d) {
        r = join(d, base);
        free(d);
        return r;
    }
    if (path[0] == '/') return strdup(path);
    char cwd[PATH_MAX];
    return getcwd(cwd, sizeof(cwd)) ? join(cwd, path) : strdup(path);
}

typedef struct key {
    char *path;
    size_t job;
    int kind; /* 0: an input, 1: an output */
} key;

static int cmp_key(const void *a, const void *b)
{
    const key *x = a, *y = b;
    int c = strcmp(x->path, y->path);
    if (c) return c;
    if (x->kind != y->kind) return x->kind - y->kind;
    return x->job < y->job ? -1 : x->job > y->job;
}

/* Outputs that two jobs share, or that are another job's input, fail their
 * jobs before anything runs (the report file must be none of them). */
static int check_collisions(joblist *jl, const char *report)
{
    key *k = calloc(2 * jl->n + 1, sizeof(key));
    size_t n = 0;
    int rc = 0;
    if (!k) return oc_status_exit_code(OC_ERR_NOMEM);
    for (size_t i = 0; i < jl->n && !rc; i++) {
        if (jl->v[i].planned_fail) continue;
        k[n] = (key){canonical(jl->v[i].in), i, 0};
        if (!k[n].path) rc = oc_status_exit_code(OC_ERR_NOMEM);
        else n++;
        k[n] = (key){canonical(jl->v[i].out), i, 1};
        if (!k[n].path && !rc) rc = oc_status_exit_code(OC_ERR_NOMEM);
        else if (k[n].path) n++;
    }
    char *rep = report && !rc ? canonical(report) : NULL;
    if (!rc) qsort(k, n, sizeof(key), cmp_key);
    for (size_t a = 0; a < n && !rc; a++) {
        if (rep && !strcmp(k[a].path, rep)) {
            cli_error("compress: --report %s would replace %s", report,
                      k[a].kind ? jl->v[k[a].job].out : jl->v[k[a].job].in);
            rc = 1;
            break;
        }
        size_t b = a;
        while (b + 1 < n && !strcmp(k[b + 1].path, k[a].path)) b++;
        /* k[a..b] name one file: inputs first, then outputs by job order */
        const key *first_in = k[a].kind == 0 ? &k[a] : NULL;
        const key *first_out = NULL;
        for (size_t c = a; c <= b; c++) {
            if (k[c].kind == 0) continue;
            job *j = &jl->v[k[c].job];
            if (first_in && first_in->job != k[c].job)
                plan_fail(j, 1, "%s: would replace %s, another input (give --output-dir DIR)", j->out,
                          jl->v[first_in->job].in);
            else if (first_out)
                plan_fail(j, 1, "%s: is also the output of %s (give --output-dir DIR elsewhere)", j->out,
                          jl->v[first_out->job].in);
            else first_out = &k[c];
        }
        a = b;
    }
    for (size_t i = 0; i < n; i++) free(k[i].path);
    free(k);
    free(rep);
    return rc;
}

/* Turns the command line's inputs into jobs with their outputs. */
static int plan(const batch_opts *bo, joblist *jl)
{
    walker w = {.jl = jl};
    struct stat od;
    if (bo->output_dir && stat(bo->output_dir, &od) == 0) {
        w.skip_dir = true;
        w.skip_dev = od.st_dev;
        w.skip_ino = od.st_ino;
    }
    for (size_t i = 0; i < bo->n_inputs; i++) {
        const char *in = bo->inputs[i];
        struct stat sb;
        if (bo->recursive && stat(in, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            size_t before = jl->n;
            w.root = in;
            walk(&w, in, "", 0);
            if (w.nomem) return oc_status_exit_code(OC_ERR_NOMEM);
            if (jl->n == before) {
                job *j = add_job(jl, in, "");
                if (!j) return oc_status_exit_code(OC_ERR_NOMEM);
                plan_fail(j, 1, "%s: no .onnx models below it", in);
            }
            continue;
        }
        const char *base = strrchr(in, '/');
        base = base && base[1] ? base + 1 : in;
        if (!add_job(jl, in, base)) return oc_status_exit_code(OC_ERR_NOMEM);
    }
    for (size_t i = 0; i < jl->n; i++) {
        job *j = &jl->v[i];
        if (bo->output) j->out = strdup(bo->output);
        else if (bo->output_dir) j->out = join(bo->output_dir, j->rel);
        else j->out = default_output(j->in);
        if (!j->out) return oc_status_exit_code(OC_ERR_NOMEM);
    }
    return check_collisions(jl, bo->report);
}

static void free_jobs(joblist *jl)
{
    for (size_t i = 0; i < jl->n; i++) {
        job *j = &jl->v[i];
        free(j->in);
        free(j->out);
        free(j->rel);
        free(j->buf);
        eval_result_free(&j->res.ev);
    }
    free(jl->v);
}

/* ---- what each model gave ---- */

static double ratio(long long in, long long out)
{
    return in > 0 && out > 0 ? (double)in / (double)out : NAN;
}

static void print_gate_detail(const job *j)
{
    const eval_result *ev = &j->res.ev;
    for (size_t o = 0; o < ev->n_outputs; o++) {
        const eval_output *x = &ev->outputs[o];
        char snr[32];
        if (isinf(x->snr_db)) snprintf(snr, sizeof(snr), "inf");
        else snprintf(snr, sizeof(snr), "%.2f", x->snr_db);
        char agree[48] = "";
        if (x->classifier) snprintf(agree, sizeof(agree), ", top-1 agreement %.2f%%", 100.0 * x->top1_agreement);
        batch_say(2, "  %s: cosine %.6f, SNR %s dB, max abs %.4g, mean abs %.4g%s", x->name, x->cosine, snr,
                  x->max_abs, x->mean_abs, agree);
    }
    if (ev->labelled)
        batch_say(2, "  accuracy on %lld labelled samples: input %.2f%%, output %.2f%% (%+.2f points)", ev->labelled,
                  100.0 * ev->acc_ref, 100.0 * ev->acc_cand, 100.0 * (ev->acc_cand - ev->acc_ref));
}

/* The line (or lines) for a finished model. */
static void report_job(const compress_settings *cs, const job *j)
{
    const job_result *r = &j->res;
    bool passes = oc_pipeline_size(cs->pl) > 0;
    if (r->status == JOB_FAILED) {
        char line[sizeof(r->error) + 16];
        snprintf(line, sizeof(line), "onnxcomp: %s", r->error);
        print_line(line);
        return;
    }
    if (r->status == JOB_SKIPPED) {
        batch_say(1, "%s -> %s: skipped (up to date)", j->in, j->out);
        return;
    }
    if (r->output_written && g_verbosity >= (passes ? 1 : 2)) {
        char line[2048];
        size_t o = 0;
#define ADD(...)                                                                  \
    do {                                                                          \
        if (o < sizeof(line)) o += (size_t)snprintf(line + o, sizeof(line) - o, __VA_ARGS__); \
    } while (0)
        ADD("%s -> %s: %lld -> %lld bytes (%.2fx), %zu weights quantized", j->in, j->out, r->bytes_in, r->bytes_out,
            r->bytes_out > 0 ? (double)r->bytes_in / (double)r->bytes_out : 0.0, r->weights_quantized);
        if (r->nodes_quantized) ADD(", %zu nodes quantized", r->nodes_quantized);
        if (r->layers_pruned)
            ADD(", %zu layers sparse (%.1f%% of their weights zero)", r->layers_pruned,
                r->weights_prunable ? 100.0 * (double)r->weights_zero / (double)r->weights_prunable : 0.0);
        if (r->channels_removed) ADD(", %lld channels removed", (long long)r->channels_removed);
        if (r->has_eval) {
            double mc = eval_min_cosine(&r->ev, NULL);
            ADD(", gate %s: cosine %.6f", r->gate_passed ? "passed" : "FAILED", mc);
            if (r->ev.labelled) ADD(", accuracy %.2f%% -> %.2f%%", 100.0 * r->ev.acc_ref, 100.0 * r->ev.acc_cand);
        }
        ADD(", %.2f s", r->seconds);
#undef ADD
        batch_say(1, "%s", line);
        if (g_verbosity >= 2) batch_say(2, "  passes: %s", cs->passes[0] ? cs->passes : "(none)");
    }
    if (r->has_eval) print_gate_detail(j);
    if (r->status == JOB_GATE_FAILED) {
        char line[sizeof(r->error) + 16];
        snprintf(line, sizeof(line), "onnxcomp: %s", r->error);
        print_line(line);
    }
}

static const char *status_name(job_status s)
{
    switch (s) {
    case JOB_OK: return "ok";
    case JOB_SKIPPED: return "skipped";
    case JOB_FAILED: return "failed";
    case JOB_GATE_FAILED: return "gate_failed";
    }
    return "failed";
}

static void json_num_or_null(json *jw, double v)
{
    if (isnan(v)) json_null(jw);
    else json_num(jw, v);
}

static void json_eval(json *jw, const compress_settings *cs, const eval_result *ev)
{
    json_obj(jw);
    json_key(jw, "source");
    json_str(jw, cs->gate_src);
    json_key(jw, "samples");
    json_int(jw, (long long)ev->samples);
    json_key(jw, "outputs");
    json_arr(jw);
    for (size_t o = 0; o < ev->n_outputs; o++) {
        const eval_output *x = &ev->outputs[o];
        json_obj(jw);
        json_key(jw, "name");
        json_str(jw, x->name);
        json_key(jw, "cosine");
        json_num(jw, x->cosine);
        json_key(jw, "snr_db");
        json_num(jw, isinf(x->snr_db) ? 999.0 : x->snr_db);
        json_key(jw, "max_abs");
        json_num(jw, x->max_abs);
        json_key(jw, "mean_abs");
        json_num(jw, x->mean_abs);
        json_key(jw, "top1_agreement");
        if (x->classifier) json_num(jw, x->top1_agreement);
        else json_null(jw);
        json_obj_end(jw);
    }
    json_arr_end(jw);
    json_key(jw, "accuracy");
    if (ev->labelled) {
        json_obj(jw);
        json_key(jw, "labelled");
        json_int(jw, ev->labelled);
        json_key(jw, "reference");
        json_num(jw, ev->acc_ref);
        json_key(jw, "candidate");
        json_num(jw, ev->acc_cand);
        json_key(jw, "drop_points");
        json_num(jw, 100.0 * (ev->acc_ref - ev->acc_cand));
        json_obj_end(jw);
    } else {
        json_null(jw);
    }
    json_obj_end(jw);
}

static void json_model(json *jw, const compress_settings *cs, const job *j)
{
    const job_result *r = &j->res;
    bool ran = r->status == JOB_OK || r->status == JOB_GATE_FAILED;
    json_obj(jw);
    json_key(jw, "input");
    json_str(jw, j->in);
    json_key(jw, "output");
    json_str(jw, r->output_written || r->status == JOB_SKIPPED ? j->out : NULL);
    json_key(jw, "status");
    json_str(jw, status_name(r->status));
    json_key(jw, "error");
    json_str(jw, r->status == JOB_FAILED || r->status == JOB_GATE_FAILED ? r->error : NULL);
    json_key(jw, "exit_code");
    json_int(jw, r->exit_code);
    json_key(jw, "bytes_in");
    if (r->bytes_in >= 0) json_int(jw, r->bytes_in);
    else json_null(jw);
    json_key(jw, "bytes_out");
    if (r->bytes_out >= 0) json_int(jw, r->bytes_out);
    else json_null(jw);
    json_key(jw, "ratio");
    json_num_or_null(jw, ratio(r->bytes_in, r->bytes_out));
    json_key(jw, "seconds");
    json_num(jw, r->seconds);
    static const char *const counts[] = {"weights_quantized", "nodes_quantized", "activations_quantized",
                                         "layers_pruned", "channels_removed", "channel_groups_left",
                                         "channel_groups_approx"};
    const long long cv[] = {(long long)r->weights_quantized, (long long)r->nodes_quantized,
                            (long long)r->activations_quantized, (long long)r->layers_pruned,
                            (long long)r->channels_removed, (long long)r->groups_left,
                            (long long)r->groups_approx};
    for (size_t k = 0; k < sizeof(cv) / sizeof(cv[0]); k++) {
        json_key(jw, counts[k]);
        if (ran) json_int(jw, cv[k]);
        else json_null(jw);
    }
    json_key(jw, "weight_sparsity");
    if (ran) json_num(jw, r->weights_prunable ? (double)r->weights_zero / (double)r->weights_prunable : 0.0);
    else json_null(jw);
    json_key(jw, "passes");
    json_str(jw, cs->passes);
    json_key(jw, "eval");
    if (r->has_eval) json_eval(jw, cs, &r->ev);
    else json_null(jw);
    json_key(jw, "gate_passed");
    if (r->has_eval && (r->status == JOB_OK || r->status == JOB_GATE_FAILED)) json_bool(jw, r->gate_passed);
    else json_null(jw);
    json_obj_end(jw);
}

typedef struct totals {
    size_t ok, skipped, failed, gate_failed, written;
    long long bytes_in, bytes_out;
    double seconds;
} totals;

static totals count(const joblist *jl, double seconds)
{
    totals t = {.seconds = seconds};
    for (size_t i = 0; i < jl->n; i++) {
        const job_result *r = &jl->v[i].res;
        switch (r->status) {
        case JOB_OK: t.ok++; break;
        case JOB_SKIPPED: t.skipped++; break;
        case JOB_FAILED: t.failed++; break;
        case JOB_GATE_FAILED: t.gate_failed++; break;
        }
        t.written += r->output_written;
        if (r->bytes_in >= 0 && r->bytes_out >= 0) {
            t.bytes_in += r->bytes_in;
            t.bytes_out += r->bytes_out;
        }
    }
    return t;
}

/* Writes the report through a temporary file renamed into place. */
static int write_report(const compress_settings *cs, const joblist *jl, const char *path, const totals *t, int rc)
{
    const char *slash = strrchr(path, '/');
    char tmp[PATH_MAX];
    int n = snprintf(tmp, sizeof(tmp), "%.*s.%s.tmp%ld", slash ? (int)(slash + 1 - path) : 0, path,
                     slash ? slash + 1 : path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        cli_error("%s: path too long", path);
        return oc_status_exit_code(OC_ERR_WRITE);
    }
    memcpy(g_report_tmp, tmp, (size_t)n + 1);
    g_report_live = 1; /* before the file exists: no moment leaves it unknown to the handler */
    int fd = open(g_report_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        int e = errno;
        if (fd >= 0) close(fd);
        g_report_live = 0;
        unlink(tmp);
        cli_error("%s: cannot write the report: %s", path, strerror(e));
        return oc_status_exit_code(OC_ERR_WRITE);
    }
    json jw;
    json_begin(&jw, f);
    json_obj(&jw);
    json_key(&jw, "onnxcomp_version");
    json_str(&jw, OC_VERSION_STRING);
    json_key(&jw, "passes");
    json_str(&jw, cs->passes);
    json_key(&jw, "options");
    json_str(&jw, cs->options);
    json_key(&jw, "calibration");
    json_str(&jw, cs->da.src);
    json_key(&jw, "gate");
    if (!isnan(cs->min_cosine) || !isnan(cs->max_drop)) {
        json_obj(&jw);
        json_key(&jw, "min_cosine");
        json_num_or_null(&jw, cs->min_cosine);
        json_key(&jw, "max_drop");
        json_num_or_null(&jw, cs->max_drop);
        json_key(&jw, "data");
        json_str(&jw, cs->gate_src);
        json_key(&jw, "deletes");
        json_bool(&jw, cs->gate_deletes);
        json_obj_end(&jw);
    } else {
        json_null(&jw);
    }
    json_key(&jw, "exit_code");
    json_int(&jw, rc);
    json_key(&jw, "totals");
    json_obj(&jw);
    json_key(&jw, "models");
    json_int(&jw, (long long)jl->n);
    json_key(&jw, "ok");
    json_int(&jw, (long long)t->ok);
    json_key(&jw, "skipped");
    json_int(&jw, (long long)t->skipped);
    json_key(&jw, "failed");
    json_int(&jw, (long long)t->failed);
    json_key(&jw, "gate_failed");
    json_int(&jw, (long long)t->gate_failed);
    json_key(&jw, "bytes_in");
    json_int(&jw, t->bytes_in);
    json_key(&jw, "bytes_out");
    json_int(&jw, t->bytes_out);
    json_key(&jw, "ratio");
    json_num_or_null(&jw, ratio(t->bytes_in, t->bytes_out));
    json_key(&jw, "seconds");
    json_num(&jw, t->seconds);
    json_obj_end(&jw);
    json_key(&jw, "models");
    json_arr(&jw);
    for (size_t i = 0; i < jl->n; i++) json_model(&jw, cs, &jl->v[i]);
    json_arr_end(&jw);
    json_obj_end(&jw);
    bool ok = !ferror(f);
    int e = errno;
    if (fclose(f) != 0 && ok) {
        ok = false;
        e = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = false;
        e = errno;
    }
    if (!ok) {
        g_report_live = 0;
        unlink(tmp);
        cli_error("%s: cannot write the report: %s", path, strerror(e));
        return oc_status_exit_code(OC_ERR_WRITE);
    }
    g_report_live = 0;
    return 0;
}

/* ---- workers ---- */

/* The result as bytes: the struct, then each output's metrics and name. */
static void send_result(const job_result *r)
{
    size_t n = sizeof(*r);
    for (size_t o = 0; r->has_eval && o < r->ev.n_outputs; o++)
        n += sizeof(eval_output) + sizeof(uint32_t) + strlen(r->ev.outputs[o].name);
    char *b = malloc(n);
    if (!b) return; /* the parent reports a worker that sent nothing */
    size_t at = 0;
    memcpy(b, r, sizeof(*r));
    at += sizeof(*r);
    for (size_t o = 0; r->has_eval && o < r->ev.n_outputs; o++) {
        const eval_output *x = &r->ev.outputs[o];
        uint32_t l = (uint32_t)strlen(x->name);
        memcpy(b + at, x, sizeof(*x));
        at += sizeof(*x);
        memcpy(b + at, &l, sizeof(l));
        at += sizeof(l);
        memcpy(b + at, x->name, l);
        at += l;
    }
    send_record('R', b, n);
    free(b);
}

static bool recv_result(job_result *r, const char *p, size_t n)
{
    if (n < sizeof(*r)) return false;
    memcpy(r, p, sizeof(*r));
    size_t at = sizeof(*r);
    r->ev.outputs = NULL;
    size_t no = r->has_eval ? r->ev.n_outputs : 0;
    r->ev.n_outputs = 0;
    if (!no) return true;
    r->ev.outputs = calloc(no, sizeof(eval_output));
    if (!r->ev.outputs) return false;
    for (size_t o = 0; o < no; o++) {
        eval_output x;
        uint32_t l;
        if (n - at < sizeof(x) + sizeof(l)) return false;
        memcpy(&x, p + at, sizeof(x));
        at += sizeof(x);
        memcpy(&l, p + at, sizeof(l));
        at += sizeof(l);
        if (n - at < l) return false;
        x.name = strndup(p + at, l);
        at += l;
        if (!x.name) return false;
        r->ev.outputs[o] = x;
        r->ev.n_outputs = o + 1;
    }
    return true;
}

/* Handles the complete records in j's buffer. */
static void drain(const compress_settings *cs, job *j)
{
    size_t at = 0;
    while (j->len - at >= sizeof(rec_hdr)) {
        rec_hdr h;
        memcpy(&h, j->buf + at, sizeof(h));
        if (j->len - at - sizeof(h) < h.len) break;
        const char *p = j->buf + at + sizeof(h);
        if (h.type == 'L' && h.len) {
            char *line = strndup(p, h.len);
            if (line) print_line(line);
            free(line);
        } else if (h.type == 'P' && h.len == sizeof(prog_msg)) {
            prog_msg pm;
            memcpy(&pm, p, sizeof(pm));
            memcpy(j->phase, pm.phase, sizeof(j->phase));
            j->phase[sizeof(j->phase) - 1] = 0;
            j->done = (size_t)pm.done;
            j->total = (size_t)pm.total;
        } else if (h.type == 'R') {
            eval_result_free(&j->res.ev);
            if (!recv_result(&j->res, p, h.len)) {
                eval_result_free(&j->res.ev);
                memset(&j->res, 0, sizeof(j->res));
            }
        }
        at += sizeof(h) + h.len;
    }
    (void)cs;
    memmove(j->buf, j->buf + at, j->len - at);
    j->len -= at;
}

/* In the child: do the job, send the result, leave. */
static void worker_main(const compress_settings *cs, job *j, int fd)
{
    g_worker_fd = fd;
    g_tty = false;
    compress_one(cs, j->in, j->out, &j->res);
    send_result(&j->res);
    close(fd);
}

static bool launch(const compress_settings *cs, joblist *jl, size_t idx, int slot)
{
    job *j = &jl->v[idx];
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return false;
    fflush(stdout);
    fflush(stderr);
    sigset_t old;
    block_signals(true, &old);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        set_handlers(die_on_signal);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) raise(SIGTERM);
        for (int i = 0; i < MAX_WORKERS; i++) g_pids[i] = 0;
        for (size_t i = 0; i < jl->n; i++)
            if (jl->v[i].fd >= 0) close(jl->v[i].fd);
        close(fds[0]);
        block_signals(false, &old);
        worker_main(cs, j, fds[1]);
        exit(0);
    }
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        block_signals(false, &old);
        return false;
    }
    j->pid = pid;
    j->fd = fds[0];
    j->t0 = now_s();
    j->phase[0] = 0;
    g_pids[slot] = pid;
    block_signals(false, &old);
    return true;
}

static void draw_workers(const joblist *jl, size_t finished)
{
    char line[1024];
    size_t o = (size_t)snprintf(line, sizeof(line), "[%zu/%zu]", finished, jl->n);
    for (size_t i = 0; i < jl->n && o < sizeof(line); i++) {
        const job *j = &jl->v[i];
        if (j->fd < 0) continue;
        char ph[96];
        phase_text(ph, sizeof(ph), j->phase[0] ? j->phase : "starting", j->done, j->total, j->t0);
        const char *name = strrchr(j->in, '/');
        o += (size_t)snprintf(line + o, sizeof(line) - o, " %s: %s |", name ? name + 1 : j->in, ph);
    }
    if (o < sizeof(line) && o > 0 && line[o - 1] == '|') line[o - 2] = 0;
    pthread_mutex_lock(&g_out_lock);
    draw_line(line);
    pthread_mutex_unlock(&g_out_lock);
}

/* Runs the jobs in up to `jobs` worker processes. Returns false when
 * interrupted (every worker is gone by then). */
static bool run_workers(const compress_settings *cs, joblist *jl, int jobs)
{
    set_handlers(forward_signal);
    size_t next = 0, finished = 0;
    int running = 0;
    int slot_of[MAX_WORKERS];
    size_t job_of[MAX_WORKERS];
    for (int s = 0; s < MAX_WORKERS; s++) slot_of[s] = -1;
    double last_draw = 0;
    while (finished < jl->n) {
        while (!g_sig && running < jobs && next < jl->n) {
            size_t i = next++;
            job *j = &jl->v[i];
            if (j->planned_fail) {
                report_job(cs, j);
                finished++;
                continue;
            }
            int s = 0;
            while (slot_of[s] >= 0) s++;
            if (!launch(cs, jl, i, s)) {
                plan_fail(j, oc_status_exit_code(OC_ERR_INTERNAL), "%s: cannot start a worker: %s", j->in,
                          strerror(errno));
                report_job(cs, j);
                finished++;
                continue;
            }
            slot_of[s] = 1;
            job_of[s] = i;
            running++;
        }
        if (!running) {
            if (g_sig) break;
            continue;
        }
        struct pollfd pf[MAX_WORKERS];
        int ps[MAX_WORKERS], np = 0;
        for (int s = 0; s < MAX_WORKERS; s++)
            if (slot_of[s] >= 0) {
                pf[np] = (struct pollfd){.fd = jl->v[job_of[s]].fd, .events = POLLIN};
                ps[np++] = s;
            }
        int pr = poll(pf, (nfds_t)np, 160);
        if (pr < 0 && errno != EINTR) { /* ENOMEM: try again shortly, the workers still need reaping */
            struct timespec ts = {0, 50 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        for (int k = 0; pr > 0 && k < np; k++) {
            if (!(pf[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            int s = ps[k];
            job *j = &jl->v[job_of[s]];
            if (j->cap - j->len < 65536) {
                size_t nc = j->cap ? j->cap * 2 : 131072;
                char *nb = realloc(j->buf, nc);
                if (nb) {
                    j->buf = nb;
                    j->cap = nc;
                }
            }
            ssize_t r = j->cap > j->len ? read(j->fd, j->buf + j->len, j->cap - j->len) : -1;
            if (r > 0) {
                j->len += (size_t)r;
                drain(cs, j);
                continue;
            }
            if (r < 0 && errno == EINTR) continue;
            /* end of file: the worker is done (or dead) */
            close(j->fd);
            j->fd = -1;
            pid_t pid = j->pid;
            g_pids[s] = 0;
            int status = 0;
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
            slot_of[s] = -1;
            running--;
            finished++;
            if (!j->res.done && !g_sig) {
                if (WIFSIGNALED(status))
                    plan_fail(j, oc_status_exit_code(OC_ERR_INTERNAL), "%s: the worker died of signal %d (%s)", j->in,
                              WTERMSIG(status), strsignal(WTERMSIG(status)));
                else
                    plan_fail(j, oc_status_exit_code(OC_ERR_INTERNAL), "%s: the worker exited with %d and no result",
                              j->in, WEXITSTATUS(status));
            }
            if (j->res.done) report_job(cs, j);
        }
        if (g_tty && !g_sig && running && now_s() - last_draw >= 0.16) {
            last_draw = now_s();
            draw_workers(jl, finished);
        }
        if (g_sig && !running) break;
    }
    clear_line();
    return !g_sig;
}

/* ---- the run ---- */

int batch_run(const compress_settings *cs, const batch_opts *bo)
{
    joblist jl = {0};
    double t0 = now_s();
    g_tty = isatty(2) && g_verbosity >= 1;
    int rc = plan(bo, &jl);
    if (rc) {
        if (rc == oc_status_exit_code(OC_ERR_NOMEM)) cli_error("out of memory");
        free_jobs(&jl);
        return rc;
    }
    bool workers = bo->jobs > 1 && jl.n > 1;
    if (workers) {
        if (!run_workers(cs, &jl, bo->jobs)) {
            int sig = g_sig;
            free_jobs(&jl);
            set_handlers(SIG_DFL);
            raise(sig);
            return 128 + sig;
        }
        set_handlers(die_on_signal); /* the report, from here on */
    } else {
        set_handlers(die_on_signal);
        pthread_t th;
        bool ticking = g_tty && pthread_create(&th, NULL, ticker, NULL) == 0;
        for (size_t i = 0; i < jl.n; i++) {
            job *j = &jl.v[i];
            if (!j->planned_fail) {
                pthread_mutex_lock(&g_out_lock);
                snprintf(g_cur.label, sizeof(g_cur.label), "%s", j->in);
                g_cur.phase[0] = 0;
                g_cur.done = g_cur.total = 0;
                g_cur.t0 = now_s();
                g_cur.index = i;
                g_cur.count = jl.n;
                g_cur.active = true;
                pthread_mutex_unlock(&g_out_lock);
                compress_one(cs, j->in, j->out, &j->res);
                pthread_mutex_lock(&g_out_lock);
                g_cur.active = false;
                pthread_mutex_unlock(&g_out_lock);
            }
            report_job(cs, j);
        }
        if (ticking) {
            g_ticker_stop = true;
            pthread_join(th, NULL);
        }
        clear_line();
    }

    totals t = count(&jl, now_s() - t0);
    if (jl.n == 1) {
        rc = jl.v[0].res.exit_code;
    } else {
        rc = t.failed ? EXIT_BATCH_FAILED : t.gate_failed ? EXIT_GATE_FAILED : 0;
        char line[512];
        size_t o = (size_t)snprintf(line, sizeof(line), "total: %zu models in %.2f s: %zu written", jl.n, t.seconds,
                                    t.written);
        if (t.skipped) o += (size_t)snprintf(line + o, sizeof(line) - o, ", %zu skipped (up to date)", t.skipped);
        if (t.failed && o < sizeof(line)) o += (size_t)snprintf(line + o, sizeof(line) - o, ", %zu failed", t.failed);
        if (t.gate_failed && o < sizeof(line))
            o += (size_t)snprintf(line + o, sizeof(line) - o, ", %zu below the quality gate", t.gate_failed);
        if (t.bytes_out > 0 && o < sizeof(line))
            snprintf(line + o, sizeof(line) - o, "; %lld -> %lld bytes (%.2fx)", t.bytes_in, t.bytes_out,
                     (double)t.bytes_in / (double)t.bytes_out);
        batch_say(1, "%s", line);
        if (t.failed || t.gate_failed) {
            char head[128];
            snprintf(head, sizeof(head), "onnxcomp: %zu of %zu models %s:", t.failed + t.gate_failed, jl.n,
                     !t.gate_failed ? "failed" : !t.failed ? "fell below the quality gate"
                                                           : "failed or fell below the quality gate");
            print_line(head);
            for (size_t i = 0; i < jl.n; i++) {
                const job_result *r = &jl.v[i].res;
                if (r->status != JOB_FAILED && r->status != JOB_GATE_FAILED) continue;
                char l[sizeof(r->error) + 64];
                snprintf(l, sizeof(l), "onnxcomp:   %s [exit %d]", r->error, r->exit_code);
                print_line(l);
            }
        }
    }
    if (bo->report) {
        int r2 = write_report(cs, &jl, bo->report, &t, rc);
        if (r2 && !rc) rc = r2;
    }
    free_jobs(&jl);
    return rc;
}
