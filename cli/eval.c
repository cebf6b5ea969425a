/* eval.c: `onnxcomp eval REF CANDIDATE --data SRC`: runs both models on the
 * same samples and reports, per output, how far the candidate is from the
 * reference (cosine, SNR, max and mean absolute error), top-1 agreement for
 * classifier-shaped outputs, and accuracy against labels when the data has
 * them. This is how a user sees what compression cost; the computation is
 * evalcore.c's, shared with compress's quality gate. */
#include "dataopts.h"
#include "evalcore.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char eval_help[] =
    "usage: onnxcomp eval REF.onnx CANDIDATE.onnx --data SRC [--json] [data options]\n"
    "\n"
    "Runs both models on each sample and reports, per output: cosine similarity,\n"
    "SNR in dB (10 log10 of reference energy over error energy), max and mean\n"
    "absolute error; top-1 agreement when an output looks like class scores\n"
    "([C] or [1, C] with C > 1); accuracy of both models when the data has labels\n"
    "(top-1 of the first classifier-shaped output).\n"
    "\n"
    "options:\n"
    "  --json        one JSON object on stdout\n"
    "  -q, --quiet   no progress\n"
    "  -h, --help    this text\n"
    "\n";

static int open_model(oc_ctx *ctx, const char *path, const data_args *da, oc_model **m)
{
    oc_status st = oc_model_load_file(ctx, path, NULL, m);
    if (st != OC_OK) {
        cli_error("%s", ctx->msg);
        return oc_status_exit_code(st);
    }
    return data_args_pin(da, *m, path) ? 1 : 0;
}

/* "eval: k/n" on a terminal, at most about 6 times a second. */
static void show_progress(void *ud, size_t done, size_t total)
{
    struct timespec *last = ud;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double dt = (double)(now.tv_sec - last->tv_sec) + 1e-9 * (double)(now.tv_nsec - last->tv_nsec);
    if (dt < 0.16 && done < total) return;
    *last = now;
    fprintf(stderr, "\reval: %zu/%zu", done, total);
}

static void print_json(const eval_result *r, const char *ref, const char *cand)
{
    json j;
    json_begin(&j, stdout);
    json_obj(&j);
    json_key(&j, "reference");
    json_str(&j, ref);
    json_key(&j, "candidate");
    json_str(&j, cand);
    json_key(&j, "samples");
    json_int(&j, (long long)r->samples);
    json_key(&j, "outputs");
    json_arr(&j);
    for (size_t o = 0; o < r->n_outputs; o++) {
        const eval_output *x = &r->outputs[o];
        json_obj(&j);
        json_key(&j, "name");
        json_str(&j, x->name);
        json_key(&j, "cosine");
        json_num(&j, x->cosine);
        json_key(&j, "snr_db");
        json_num(&j, isinf(x->snr_db) ? 999.0 : x->snr_db);
        json_key(&j, "max_abs_error");
        json_num(&j, x->max_abs);
        json_key(&j, "mean_abs_error");
        json_num(&j, x->mean_abs);
        json_key(&j, "top1_agreement");
        if (x->classifier) json_num(&j, x->top1_agreement);
        else json_null(&j);
        json_obj_end(&j);
    }
    json_arr_end(&j);
    json_key(&j, "accuracy");
    if (r->labelled) {
        json_obj(&j);
        json_key(&j, "labelled");
        json_int(&j, r->labelled);
        json_key(&j, "reference");
        json_num(&j, r->acc_ref);
        json_key(&j, "candidate");
        json_num(&j, r->acc_cand);
        json_obj_end(&j);
    } else {
        json_null(&j);
    }
    json_obj_end(&j);
}

static void print_text(const eval_result *r, const char *ref, const char *cand)
{
    printf("%s vs %s on %zu sample%s\n", cand, ref, r->samples, r->samples == 1 ? "" : "s");
    for (size_t o = 0; o < r->n_outputs; o++) {
        const eval_output *x = &r->outputs[o];
        char snr_s[32];
        if (isinf(x->snr_db)) snprintf(snr_s, sizeof(snr_s), "inf");
        else snprintf(snr_s, sizeof(snr_s), "%.2f", x->snr_db);
        printf("  %s: cosine %.6f, SNR %s dB, max abs %.4g, mean abs %.4g", x->name, x->cosine, snr_s, x->max_abs,
               x->mean_abs);
        if (x->classifier) printf(", top-1 agreement %.2f%%", 100.0 * x->top1_agreement);
        putchar('\n');
    }
    if (r->labelled)
        printf("  accuracy on %lld labelled samples: reference %.2f%%, candidate %.2f%% (%+.2f points)\n",
               r->labelled, 100.0 * r->acc_ref, 100.0 * r->acc_cand, 100.0 * (r->acc_cand - r->acc_ref));
}

int cmd_eval(int argc, char **argv)
{
    const char *paths[2] = {NULL, NULL};
    bool as_json = false;
    data_args da;
    data_args_init(&da);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = data_args_parse(&da, argc, argv, &i);
        if (r < 0) return 1;
        if (r > 0) continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(eval_help, stdout);
            fputs(data_args_help, stdout);
            return 0;
        } else if (!strcmp(a, "--json")) {
            as_json = true;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            g_verbosity = 0;
        } else if (a[0] == '-' && a[1]) {
            cli_error("eval: unknown option '%s' (try 'onnxcomp eval --help')", a);
            return 1;
        } else if (!paths[0]) {
            paths[0] = a;
        } else if (!paths[1]) {
            paths[1] = a;
        } else {
            cli_error("eval: more than two models");
            return 1;
        }
    }
    if (!paths[1] || !da.src) {
        cli_error("eval: %s", !paths[1] ? "needs REF.onnx and CANDIDATE.onnx" : "no samples given (--data SRC)");
        return 1;
    }
    oc_ctx ctx;
    oc_ctx_init(&ctx);
    oc_model *m[2] = {NULL, NULL};
    eval_result res;
    memset(&res, 0, sizeof(res));
    int rc = 0;
    for (int k = 0; k < 2 && !rc; k++) rc = open_model(&ctx, paths[k], &da, &m[k]);
    if (!rc) {
        bool tty = isatty(2) && g_verbosity > 0;
        struct timespec last = {0, 0};
        char err[1200];
        rc = eval_compare(m[0], paths[0], m[1], paths[1], da.src, &da.o, da.threads, tty ? show_progress : NULL,
                          &last, &res, err, sizeof(err));
        if (tty && res.samples) fputc('\n', stderr);
        if (rc) cli_error("%s", err);
    }
    if (!rc) {
        if (as_json) print_json(&res, paths[0], paths[1]);
        else print_text(&res, paths[0], paths[1]);
    }
    eval_result_free(&res);
    for (int k = 0; k < 2; k++) oc_model_free(m[k]);
    return rc;
}
