/* replay.c: runs a fuzz target's LLVMFuzzerTestOneInput over files, without
 * libFuzzer, so the corpus and the regression inputs run under plain gcc +
 * ASan + UBSan in `make test` (tests/fuzz/replay.sh).
 *
 *     replay-NAME [-n NAME] PATH...
 *
 * Every PATH is a file or a folder (read recursively, in byte order of the
 * names). Prints "PASS fuzz-replay NAME: N inputs" and exits 0 when every
 * input ran; a sanitizer report or a failed check of the target stops the
 * run (its exit code is the sanitizer's, or 134 for an abort); every input
 * is named on stderr before it runs, so the last name is the culprit. */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));
void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));

static const char *current; /* the input being run, for crash reports */

static void say_current(void)
{
    if (!current) return;
    static const char pre[] = "\nreplay: crashed on input: ";
    ssize_t w = write(2, pre, sizeof(pre) - 1);
    w = write(2, current, strlen(current));
    w = write(2, "\n", 1);
    (void)w;
}

static void on_signal(int sig)
{
    say_current();
    signal(sig, SIG_DFL);
    raise(sig);
}

typedef struct list {
    char **v;
    size_t n, cap;
} list;

static void list_free(list *l)
{
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static void push(list *l, const char *s)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->v = realloc(l->v, l->cap * sizeof(char *));
        if (!l->v) abort();
    }
    l->v[l->n] = strdup(s);
    if (!l->v[l->n]) abort();
    l->n++;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds the regular files under path (or path itself). */
static int collect(list *l, const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (S_ISREG(sb.st_mode)) {
        push(l, path);
        return 0;
    }
    if (!S_ISDIR(sb.st_mode)) return 0;
    DIR *d = opendir(path);
    if (!d) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    list names = {0};
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') push(&names, e->d_name);
    closedir(d);
    qsort(names.v, names.n, sizeof(char *), by_name);
    int rc = 0;
    for (size_t i = 0; i < names.n; i++) {
        size_t len = strlen(path) + strlen(names.v[i]) + 2;
        char *p = malloc(len);
        if (!p) abort();
        snprintf(p, len, "%s/%s", path, names.v[i]);
        if (collect(l, p) != 0) rc = -1;
        free(p);
    }
    list_free(&names);
    return rc;
}

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 65536;
            buf = realloc(buf, cap);
            if (!buf) abort();
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        if (!got) break;
        len += got;
    }
    fclose(f);
    *n = len;
    return buf;
}

int main(int argc, char **argv)
{
    const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    if (strncmp(name, "replay-", 7) == 0) name += 7;
    int first = 1;
    if (argc > 2 && strcmp(argv[1], "-n") == 0) {
        name = argv[2];
        first = 3;
    }
    if (first >= argc) {
        fprintf(stderr, "usage: %s [-n NAME] FILE_OR_FOLDER...\n", argv[0]);
        return 2;
    }
    list files = {0};
    int rc = 0;
    for (int i = first; i < argc; i++)
        if (collect(&files, argv[i]) != 0) rc = 1;
    if (rc || files.n == 0) {
        printf("FAIL fuzz-replay %s: %s\n", name, rc ? "cannot read the inputs" : "no inputs");
        list_free(&files);
        return 1;
    }
    if (__sanitizer_set_death_callback) __sanitizer_set_death_callback(say_current);
    signal(SIGABRT, on_signal);
    signal(SIGSEGV, on_signal);
    signal(SIGFPE, on_signal);
    if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    size_t bytes = 0;
    for (size_t i = 0; i < files.n; i++) {
        size_t n = 0;
        uint8_t *data = slurp(files.v[i], &n);
        if (!data) {
            printf("FAIL fuzz-replay %s: cannot read %s\n", name, files.v[i]);
            list_free(&files);
            return 1;
        }
        /* an exact-size copy, so ASan sees reads past the input's end */
        uint8_t *copy = malloc(n ? n : 1);
        if (!copy) abort();
        if (n) memcpy(copy, data, n);
        free(data);
        current = files.v[i];
        /* named before it runs: some deaths (UBSan's exit, a timeout's
         * SIGKILL) run no callback, and the last name is the culprit */
        fprintf(stderr, "replay: input %s\n", current);
        LLVMFuzzerTestOneInput(copy, n);
        current = NULL;
        free(copy);
        bytes += n;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("PASS fuzz-replay %s: %zu inputs, %zu bytes, %.1fs\n", name, files.n, bytes, secs);
    list_free(&files);
    return 0;
}
