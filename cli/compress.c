/* compress.c: `onnxcomp compress IN -o OUT`: load, run the pass pipeline,
 * write. With no passes it round-trips the model. The output is written to a
 * temporary file and renamed into place; SIGINT and SIGTERM remove it. */
#include "dataopts.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char compress_help[] =
    "usage: onnxcomp compress IN.onnx -o OUT.onnx [--prune P] [--quant Q] [options]\n"
    "\n"
    "Reads IN, runs the compression passes (prune passes first, then quant\n"
    "passes; with none, the model is written back as it came) and writes OUT\n"
    "through a temporary file renamed into place.\n"
    "\n"
    "options:\n"
    "  -o, --output FILE         where to write (required)\n"
    "  --quant NAME[:k=v,...]    add a quantization pass (repeatable)\n"
    "  --prune NAME[:k=v,...]    add a pruning pass (repeatable)\n"
    "  --list-passes             describe every pass and its options\n"
    "  --exclude-op OP           leave every OP node in float (repeatable)\n"
    "  --exclude-node NAME       leave node NAME in float (repeatable)\n"
    "  --only-node NAME          compress only the named nodes (repeatable)\n"
    "  --keep-first-last         leave the first and last weighted layers in float\n"
    "  -f, --force               replace an existing output file\n"
    "  --overwrite-input         allow OUT to be IN itself\n"
    "  --external-data[=BYTES]   write tensors of at least BYTES bytes (default\n"
    "                            1024) to OUT.data beside OUT; models over 2 GiB\n"
    "                            are written this way automatically\n"
    "  -q, --quiet               no summary line\n"
    "  -v, --verbose             more detail\n"
    "  -h, --help                this text\n"
    "\n";

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
    data_args da;
    data_args_init(&da);
    oc_ctx ctx;
    oc_ctx_init(&ctx);
    oc_pipeline *pl = oc_pipeline_new();
    const char *excl_ops[64], *excl_nodes[64], *only_nodes[64];
    size_t n_excl_ops = 0, n_excl_nodes = 0, n_only = 0;
    bool keep_first_last = false;
    int rc = 0;
    if (!pl) {
        cli_error("out of memory");
        return oc_status_exit_code(OC_ERR_NOMEM);
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = data_args_parse(&da, argc, argv, &i);
        if (r < 0) {
            rc = 1;
            goto done;
        }
        if (r > 0) continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            char desc[8192];
            oc_pipeline_describe(desc, sizeof(desc));
            fputs(compress_help, stdout);
            fputs("passes:\n", stdout);
            fputs(desc, stdout);
            fputs("\n", stdout);
            fputs(data_args_help, stdout);
            goto done;
        } else if (!strcmp(a, "--list-passes")) {
            char desc[8192];
            oc_pipeline_describe(desc, sizeof(desc));
            fputs(desc, stdout);
            goto done;
        } else if (!strcmp(a, "--quant") || !strcmp(a, "--prune")) {
            if (++i >= argc) {
                cli_error("compress: %s needs a pass, e.g. %s", a, a[2] == 'q' ? "weight:bits=8" : "magnitude:sparsity=0.5");
                rc = 1;
                goto done;
            }
            if (oc_pipeline_add(&ctx, pl, a + 2, argv[i]) != OC_OK) {
                cli_error("compress: %s", ctx.msg);
                rc = oc_status_exit_code(ctx.status);
                goto done;
            }
        } else if (!strcmp(a, "--keep-first-last")) {
            keep_first_last = true;
        } else if (!strcmp(a, "--exclude-op") || !strcmp(a, "--exclude-node") || !strcmp(a, "--only-node")) {
            if (++i >= argc) {
                cli_error("compress: %s needs a value", a);
                rc = 1;
                goto done;
            }
            const char **list = a[2] == 'o' ? only_nodes : a[10] == 'o' ? excl_ops : excl_nodes;
            size_t *n = a[2] == 'o' ? &n_only : a[10] == 'o' ? &n_excl_ops : &n_excl_nodes;
            if (*n >= 64) {
                cli_error("compress: at most 64 %s options", a);
                rc = 1;
                goto done;
            }
            list[(*n)++] = argv[i];
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (++i >= argc) {
                cli_error("compress: %s needs a file name", a);
                rc = 1;
                goto done;
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
                rc = 1;
                goto done;
            }
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            g_verbosity = 0;
        } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            g_verbosity = 2;
        } else if (a[0] == '-' && a[1]) {
            cli_error("compress: unknown option '%s' (try 'onnxcomp compress --help')", a);
            rc = 1;
            goto done;
        } else if (!in) {
            in = a;
        } else {
            cli_error("compress: more than one input ('%s' and '%s')", in, a);
            rc = 1;
            goto done;
        }
    }
    if (!in || !out) {
        cli_error("compress: %s", !in ? "no input model given" : "no output given (-o OUT.onnx)");
        rc = 1;
        goto done;
    }
    const char *which;
    if (oc_pipeline_needs_data(pl, &which) && !da.src) {
        cli_error("compress: --quant %s needs calibration samples: give --data SRC (a folder of .npy files, "
                  "ONNX test_data_set_* folders, an IDX file or an image folder)", which);
        rc = 1;
        goto done;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);

    oc_model *m = NULL;
    oc_status st = oc_model_load_file(&ctx, in, NULL, &m);
    if (st != OC_OK) {
        cli_error("%s", ctx.msg);
        rc = oc_status_exit_code(st);
        goto done;
    }
    if (data_args_pin(&da, m, in)) {
        rc = 1;
        goto done_model;
    }
    oc_pipeline_opts po = oc_pipeline_opts_default();
    po.data_src = da.src;
    po.data = da.o;
    po.threads = da.threads;
    po.exclude_ops = excl_ops;
    po.n_exclude_ops = n_excl_ops;
    po.exclude_nodes = excl_nodes;
    po.n_exclude_nodes = n_excl_nodes;
    po.only_nodes = only_nodes;
    po.n_only_nodes = n_only;
    po.keep_first_last = keep_first_last;
    oc_pipeline_report rep;
    st = oc_pipeline_run(&ctx, pl, m, &po, &rep);
    if (st != OC_OK) {
        cli_error("%s: %s", in, ctx.msg);
        rc = oc_status_exit_code(st);
        goto done_model;
    }
    if (rep.notices_len && g_verbosity >= 1) {
        /* each notice as its own "onnxcomp: IN: ..." line */
        char *line = rep.notices;
        while (*line) {
            char *nl = strchr(line, '\n');
            if (nl) *nl = 0;
            fprintf(stderr, "onnxcomp: %s: %s\n", in, line);
            if (!nl) break;
            line = nl + 1;
        }
    }
    if (oc_pipeline_size(pl)) {
        char text[2048];
        oc_pipeline_text(pl, text, sizeof(text));
        if (oc_model_set_metadata(m, "onnxcomp.version", OC_VERSION_STRING) != OC_OK ||
            oc_model_set_metadata(m, "onnxcomp.passes", text) != OC_OK ||
            (da.src && oc_model_set_metadata(m, "onnxcomp.calibration", da.src) != OC_OK)) {
            cli_error("%s: out of memory", in);
            rc = oc_status_exit_code(OC_ERR_NOMEM);
            goto done_model;
        }
    }
    st = oc_model_save_file(&ctx, m, out, &so);
    if (st != OC_OK) {
        cli_error("%s", ctx.msg);
        rc = oc_status_exit_code(st);
        goto done_model;
    }
    if (g_verbosity >= 1 && oc_pipeline_size(pl)) {
        struct stat sb;
        long long after = stat(out, &sb) == 0 ? (long long)sb.st_size : -1;
        char pruned[200] = "";
        size_t o = 0;
        if (rep.layers_pruned)
            o += (size_t)snprintf(pruned + o, sizeof(pruned) - o, ", %zu layers sparse (%.1f%% of their weights zero)",
                                  rep.layers_pruned,
                                  rep.weights_prunable ? 100.0 * (double)rep.weights_zero / (double)rep.weights_prunable
                                                       : 0.0);
        if (rep.channels_removed && o < sizeof(pruned))
            snprintf(pruned + o, sizeof(pruned) - o, ", %lld channels removed", (long long)rep.channels_removed);
        fprintf(stderr, "%s -> %s: %zu -> %lld bytes (%.2fx), %zu weights quantized%s\n", in, out, m->file_size, after,
                after > 0 ? (double)m->file_size / (double)after : 0.0, rep.weights_quantized, pruned);
    } else if (g_verbosity >= 2) {
        fprintf(stderr, "%s -> %s (%zu bytes in)\n", in, out, m->file_size);
    }
done_model:
    oc_model_free(m);
done:
    oc_pipeline_free(pl);
    return rc;
}
