/* compress.c: `onnxcomp compress IN -o OUT`: load, run the pass pipeline,
 * write. With no passes it round-trips the model. The output is written to a
 * temporary file and renamed into place; SIGINT and SIGTERM remove it. */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char compress_help[] =
    "usage: onnxcomp compress IN.onnx -o OUT.onnx [options]\n"
    "\n"
    "Reads IN, runs the compression passes (none yet: the model is written back\n"
    "as it came) and writes OUT through a temporary file renamed into place.\n"
    "\n"
    "options:\n"
    "  -o, --output FILE         where to write (required)\n"
    "  -f, --force               replace an existing output file\n"
    "  --overwrite-input         allow OUT to be IN itself\n"
    "  --external-data[=BYTES]   write tensors of at least BYTES bytes (default\n"
    "                            1024) to OUT.data beside OUT; models over 2 GiB\n"
    "                            are written this way automatically\n"
    "  -q, --quiet               no summary line\n"
    "  -v, --verbose             more detail\n"
    "  -h, --help                this text\n";

static void on_signal(int sig)
{
    oc_remove_pending_outputs();
    signal(sig, SIG_DFL);
    raise(sig);
}

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

int cmd_compress(int argc, char **argv)
{
    const char *in = NULL, *out = NULL;
    oc_save_opts so = oc_save_opts_default();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(compress_help, stdout);
            return 0;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (++i >= argc) {
                cli_error("compress: %s needs a file name", a);
                return 1;
            }
            out = argv[i];
        } else if (!strcmp(a, "-f") || !strcmp(a, "--force")) {
            so.force = true;
        } else if (!strcmp(a, "--overwrite-input")) {
            so.allow_overwrite_input = true;
            so.force = true;
        } else if (!strcmp(a, "--external-data")) {
            so.external_min_bytes = 1024;
        } else if (!strncmp(a, "--external-data=", 16)) {
            if (!parse_size(a + 16, &so.external_min_bytes)) {
                cli_error("compress: --external-data wants a byte count, got '%s'", a + 16);
                return 1;
            }
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            g_verbosity = 0;
        } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            g_verbosity = 2;
        } else if (a[0] == '-' && a[1]) {
            cli_error("compress: unknown option '%s' (try 'onnxcomp compress --help')", a);
            return 1;
        } else if (!in) {
            in = a;
        } else {
            cli_error("compress: more than one input ('%s' and '%s')", in, a);
            return 1;
        }
    }
    if (!in || !out) {
        cli_error("compress: %s", !in ? "no input model given" : "no output given (-o OUT.onnx)");
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);

    oc_ctx ctx;
    oc_ctx_init(&ctx);
    oc_model *m = NULL;
    oc_status st = oc_model_load_file(&ctx, in, NULL, &m);
    if (st != OC_OK) {
        cli_error("%s", ctx.msg);
        return oc_status_exit_code(st);
    }
    st = oc_model_save_file(&ctx, m, out, &so);
    size_t in_size = m->file_size;
    oc_model_free(m);
    if (st != OC_OK) {
        cli_error("%s", ctx.msg);
        return oc_status_exit_code(st);
    }
    if (g_verbosity >= 2) fprintf(stderr, "%s -> %s (%zu bytes in)\n", in, out, in_size);
    return 0;
}
