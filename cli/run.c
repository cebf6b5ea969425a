/* run.c: `onnxcomp run MODEL --data SRC [-o DIR]`: runs the model in the
 * built-in interpreter on every sample and writes each output as .npy. */
#include "dataopts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char run_help[] =
    "usage: onnxcomp run MODEL --data SRC [-o DIR] [data options]\n"
    "\n"
    "Runs MODEL in onnxcomp's interpreter on each sample of SRC and writes every\n"
    "output as DIR/<output>.npy (one sample) or DIR/<sample>/<output>.npy.\n"
    "\n"
    "options:\n"
    "  -o, --output DIR      where to write, created with its parents (default:\n"
    "                        outputs)\n"
    "  --save-inputs         also write each sample's inputs, as the model saw\n"
    "                        them after preprocessing, as <input>.input.npy\n"
    "  -f, --force           write into an existing DIR\n"
    "  -q, --quiet           no summary line\n"
    "  -h, --help            this text\n"
    "\n";

/* A file-name-safe copy of s. */
void cli_safe_name(char *dst, size_t cap, const char *s)
{
    size_t j = 0;
    for (; *s && j + 1 < cap; s++) {
        char c = *s;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                  c == '_' || c == '.';
        dst[j++] = ok ? c : '_';
    }
    if (j == 0 && cap > 1) dst[j++] = '_';
    if (j && dst[0] == '.') dst[0] = '_';
    dst[j] = 0;
}

int cmd_run(int argc, char **argv)
{
    const char *model_path = NULL, *outdir = "outputs";
    bool force = false, save_inputs = false;
    data_args da;
    data_args_init(&da);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = data_args_parse(&da, argc, argv, &i);
        if (r < 0) return 1;
        if (r > 0) continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(run_help, stdout);
            fputs(data_args_help, stdout);
            return 0;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (++i >= argc) {
                cli_error("run: %s needs a folder", a);
                return 1;
            }
            outdir = argv[i];
        } else if (!strcmp(a, "-f") || !strcmp(a, "--force")) {
            force = true;
        } else if (!strcmp(a, "--save-inputs")) {
            save_inputs = true;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            g_verbosity = 0;
        } else if (a[0] == '-' && a[1]) {
            cli_error("run: unknown option '%s' (try 'onnxcomp run --help')", a);
            return 1;
        } else if (!model_path) {
            model_path = a;
        } else {
            cli_error("run: more than one model ('%s' and '%s')", model_path, a);
            return 1;
        }
    }
    if (!model_path || !da.src) {
        cli_error("run: %s", !model_path ? "no model given" : "no samples given (--data SRC)");
        return 1;
    }
    struct stat st;
    if (stat(outdir, &st) == 0 && !force) {
        cli_error("%s: already exists (use -f to write into it)", outdir);
        return 1;
    }
    oc_ctx ctx;
    oc_ctx_init(&ctx);
    oc_model *m = NULL;
    oc_session *s = NULL;
    oc_dataset *ds = NULL;
    oc_ten *ins = NULL, *outs = NULL;
    int rc = 0;
    oc_status sts = oc_model_load_file(&ctx, model_path, NULL, &m);
    if (sts != OC_OK) goto fail;
    if (data_args_pin(&da, m, model_path)) {
        rc = 1;
        goto done;
    }
    oc_run_opts ro = {.threads = da.threads};
    sts = oc_session_new(&ctx, m, &ro, &s);
    if (sts != OC_OK) goto fail_model;
    size_t ni = oc_session_n_inputs(s), no = oc_session_n_outputs(s);
    const oc_value **iv = calloc(ni + 1, sizeof(*iv));
    for (size_t i = 0; i < ni; i++) iv[i] = oc_session_input(s, i);
    sts = oc_dataset_open(&ctx, da.src, ni, iv, &da.o, &ds);
    free(iv);
    if (sts != OC_OK) goto fail;
    size_t n = oc_dataset_count(ds);
    if (n == 0) {
        cli_error("%s: no samples", da.src);
        rc = 1;
        goto done;
    }
    /* the folders above "DIR/." are DIR and its parents: made, and DIR
     * checked to be a folder */
    char probe[4096];
    int pe = snprintf(probe, sizeof(probe), "%s/.", outdir) >= (int)sizeof(probe) ? ENAMETOOLONG : cli_make_parents(probe);
    if (pe) {
        cli_error("%s: cannot create: %s", outdir, strerror(pe));
        rc = oc_status_exit_code(OC_ERR_WRITE);
        goto done;
    }
    ins = calloc(ni + 1, sizeof(oc_ten));
    outs = calloc(no + 1, sizeof(oc_ten));
    for (size_t k = 0; k < n; k++) {
        int64_t label;
        sts = oc_dataset_get(&ctx, ds, k, ins, &label);
        if (sts != OC_OK) goto fail;
        sts = oc_session_run(&ctx, s, ins, outs);
        if (sts != OC_OK) {
            for (size_t i = 0; i < ni; i++) oc_ten_release(&ins[i]);
            char msg[1200];
            snprintf(msg, sizeof(msg), "%s: sample '%s': %s", model_path, oc_dataset_sample_name(ds, k), ctx.msg);
            cli_error("%s", msg);
            rc = oc_status_exit_code(sts);
            goto done;
        }
        char dir[4096];
        if (n == 1) {
            snprintf(dir, sizeof(dir), "%s", outdir);
        } else {
            char sn[256];
            cli_safe_name(sn, sizeof(sn), oc_dataset_sample_name(ds, k));
            snprintf(dir, sizeof(dir), "%s/%06zu_%s", outdir, k, sn);
            if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
                cli_error("%s: cannot create: %s", dir, strerror(errno));
                rc = oc_status_exit_code(OC_ERR_WRITE);
                for (size_t i = 0; i < ni; i++) oc_ten_release(&ins[i]);
                for (size_t i = 0; i < no; i++) oc_ten_release(&outs[i]);
                goto done;
            }
        }
        for (size_t i = 0; i < ni && rc == 0 && save_inputs; i++) {
            char on[256], path[4600];
            cli_safe_name(on, sizeof(on), oc_session_input(s, i)->name);
            snprintf(path, sizeof(path), "%s/%s.input.npy", dir, on);
            if (oc_npy_write(&ctx, path, &ins[i]) != OC_OK) {
                cli_error("%s", ctx.msg);
                rc = oc_status_exit_code(ctx.status);
            }
        }
        for (size_t i = 0; i < ni; i++) oc_ten_release(&ins[i]);
        for (size_t i = 0; i < no && rc == 0; i++) {
            char on[256], path[4600];
            cli_safe_name(on, sizeof(on), oc_session_output(s, i)->name);
            snprintf(path, sizeof(path), "%s/%s.npy", dir, on);
            if (oc_npy_write(&ctx, path, &outs[i]) != OC_OK) {
                cli_error("%s", ctx.msg);
                rc = oc_status_exit_code(ctx.status);
            }
        }
        for (size_t i = 0; i < no; i++) oc_ten_release(&outs[i]);
        if (rc) goto done;
    }
    if (g_verbosity >= 1) fprintf(stderr, "%s: %zu sample%s, outputs in %s\n", model_path, n, n == 1 ? "" : "s", outdir);
    goto done;
fail_model:
    cli_error("%s: %s", model_path, ctx.msg);
    rc = oc_status_exit_code(sts);
    goto done;
fail:
    cli_error("%s", ctx.msg);
    rc = oc_status_exit_code(sts);
done:
    free(ins);
    free(outs);
    oc_dataset_free(ds);
    oc_session_free(s);
    oc_model_free(m);
    return rc;
}
