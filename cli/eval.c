/* eval.c: `onnxcomp eval REF CANDIDATE --data SRC`: runs both models on the
 * same samples and reports, per output, how far the candidate is from the
 * reference (cosine, SNR, max and mean absolute error), top-1 agreement for
 * classifier-shaped outputs, and accuracy against labels when the data has
 * them. This is how a user sees what compression cost. */
#include "dataopts.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
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

typedef struct out_stats {
    double dot, rr, cc, err2;
    double max_abs, sum_abs;
    long long n_elems;
    long long agree, classified;
    bool classifier;
} out_stats;

static bool classifier_shaped(const oc_ten *t)
{
    if (t->ndim == 0 || t->numel < 2) return false;
    int64_t c = t->dims[t->ndim - 1];
    return c > 1 && c == t->numel;
}

static int64_t argmax(const oc_ten *t)
{
    int64_t best = 0;
    double bv = -INFINITY;
    for (int64_t i = 0; i < t->numel; i++) {
        double v = oc_tensor_get(&(oc_tensor){.dtype = t->dtype, .numel = t->numel, .data = t->data, .nbytes = t->nbytes}, i);
        if (v > bv) {
            bv = v;
            best = i;
        }
    }
    return best;
}

static double get(const oc_ten *t, int64_t i)
{
    oc_tensor v = {.dtype = t->dtype, .numel = t->numel, .data = t->data, .nbytes = t->nbytes};
    return oc_tensor_get(&v, i);
}

static int open_model(oc_ctx *ctx, const char *path, const data_args *da, oc_model **m, oc_session **s)
{
    oc_status st = oc_model_load_file(ctx, path, NULL, m);
    if (st != OC_OK) {
        cli_error("%s", ctx->msg);
        return oc_status_exit_code(st);
    }
    if (data_args_pin(da, *m, path)) return 1;
    oc_run_opts ro = {.threads = da->threads};
    st = oc_session_new(ctx, *m, &ro, s);
    if (st != OC_OK) {
        cli_error("%s: %s", path, ctx->msg);
        return oc_status_exit_code(st);
    }
    return 0;
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
    oc_session *s[2] = {NULL, NULL};
    oc_dataset *ds = NULL, *ds2 = NULL;
    oc_ten *ins = NULL, *ins2 = NULL, *outs[2] = {NULL, NULL};
    out_stats *os = NULL;
    int rc = 0;
    long long correct[2] = {0, 0}, labelled = 0;
    for (int k = 0; k < 2 && !rc; k++) rc = open_model(&ctx, paths[k], &da, &m[k], &s[k]);
    if (rc) goto done;
    size_t ni = oc_session_n_inputs(s[0]), no = oc_session_n_outputs(s[0]);
    if (oc_session_n_inputs(s[1]) != ni || oc_session_n_outputs(s[1]) != no) {
        cli_error("%s: has %zu inputs and %zu outputs, %s has %zu and %zu", paths[1], oc_session_n_inputs(s[1]),
                  oc_session_n_outputs(s[1]), paths[0], ni, no);
        rc = 1;
        goto done;
    }
    /* each model reads the samples shaped for its own inputs (NCHW vs NHWC...) */
    const oc_value **iv = calloc(ni + 1, sizeof(*iv));
    for (size_t i = 0; i < ni; i++) iv[i] = oc_session_input(s[0], i);
    oc_status st = oc_dataset_open(&ctx, da.src, ni, iv, &da.o, &ds);
    for (size_t i = 0; i < ni && st == OC_OK; i++) iv[i] = oc_session_input(s[1], i);
    if (st == OC_OK) st = oc_dataset_open(&ctx, da.src, ni, iv, &da.o, &ds2);
    free(iv);
    if (st == OC_OK && oc_dataset_count(ds) != oc_dataset_count(ds2)) {
        cli_error("%s: the two models see different sample counts", da.src);
        rc = 1;
        goto done;
    }
    if (st != OC_OK) {
        cli_error("%s", ctx.msg);
        rc = oc_status_exit_code(st);
        goto done;
    }
    size_t n = oc_dataset_count(ds);
    if (!n) {
        cli_error("%s: no samples", da.src);
        rc = 1;
        goto done;
    }
    ins = calloc(ni + 1, sizeof(oc_ten));
    ins2 = calloc(ni + 1, sizeof(oc_ten));
    outs[0] = calloc(no + 1, sizeof(oc_ten));
    outs[1] = calloc(no + 1, sizeof(oc_ten));
    os = calloc(no + 1, sizeof(out_stats));
    bool tty = isatty(2) && g_verbosity > 0;
    for (size_t k = 0; k < n; k++) {
        int64_t label = -1;
        st = oc_dataset_get(&ctx, ds, k, ins, &label);
        if (st != OC_OK) {
            cli_error("%s", ctx.msg);
            rc = oc_status_exit_code(st);
            goto done;
        }
        int64_t label2;
        st = oc_dataset_get(&ctx, ds2, k, ins2, &label2);
        if (st != OC_OK) {
            cli_error("%s", ctx.msg);
            rc = oc_status_exit_code(st);
            for (size_t i = 0; i < ni; i++) oc_ten_release(&ins[i]);
            goto done;
        }
        for (int j = 0; j < 2 && !rc; j++) {
            st = oc_session_run(&ctx, s[j], j ? ins2 : ins, outs[j]);
            if (st != OC_OK) {
                cli_error("%s: sample '%s': %s", paths[j], oc_dataset_sample_name(ds, k), ctx.msg);
                rc = oc_status_exit_code(st);
            }
        }
        for (size_t i = 0; i < ni; i++) {
            oc_ten_release(&ins[i]);
            oc_ten_release(&ins2[i]);
        }
        if (rc) goto done;
        bool counted_label = false;
        for (size_t o = 0; o < no; o++) {
            const oc_ten *r = &outs[0][o], *c = &outs[1][o];
            if (r->numel != c->numel) {
                cli_error("%s: output '%s' has %lld elements, the reference %lld", paths[1],
                          oc_session_output(s[0], o)->name, (long long)c->numel, (long long)r->numel);
                rc = 1;
                goto done;
            }
            out_stats *x = &os[o];
            for (int64_t e = 0; e < r->numel; e++) {
                double a = get(r, e), b = get(c, e), d = fabs(a - b);
                x->dot += a * b;
                x->rr += a * a;
                x->cc += b * b;
                x->err2 += (a - b) * (a - b);
                x->sum_abs += d;
                if (d > x->max_abs || d != d) x->max_abs = d;
            }
            x->n_elems += r->numel;
            if (classifier_shaped(r)) {
                x->classifier = true;
                int64_t ar = argmax(r), ac = argmax(c);
                x->classified++;
                x->agree += ar == ac;
                if (label >= 0 && !counted_label) {
                    counted_label = true;
                    labelled++;
                    correct[0] += ar == label;
                    correct[1] += ac == label;
                }
            }
        }
        for (int j = 0; j < 2; j++)
            for (size_t o = 0; o < no; o++) oc_ten_release(&outs[j][o]);
        if (tty) fprintf(stderr, "\reval: %zu/%zu", k + 1, n);
    }
    if (tty) fputc('\n', stderr);
    json j;
    json_begin(&j, stdout);
    if (as_json) {
        json_obj(&j);
        json_key(&j, "reference");
        json_str(&j, paths[0]);
        json_key(&j, "candidate");
        json_str(&j, paths[1]);
        json_key(&j, "samples");
        json_int(&j, (long long)n);
        json_key(&j, "outputs");
        json_arr(&j);
    } else {
        printf("%s vs %s on %zu sample%s\n", paths[1], paths[0], n, n == 1 ? "" : "s");
    }
    for (size_t o = 0; o < no; o++) {
        out_stats *x = &os[o];
        double cosv = x->rr > 0 && x->cc > 0 ? x->dot / sqrt(x->rr * x->cc) : (x->rr == x->cc ? 1.0 : 0.0);
        double snr = x->err2 > 0 ? 10.0 * log10(x->rr / x->err2) : INFINITY;
        double mean_abs = x->n_elems ? x->sum_abs / (double)x->n_elems : 0;
        const char *name = oc_session_output(s[0], o)->name;
        if (as_json) {
            json_obj(&j);
            json_key(&j, "name");
            json_str(&j, name);
            json_key(&j, "cosine");
            json_num(&j, cosv);
            json_key(&j, "snr_db");
            json_num(&j, isinf(snr) ? 999.0 : snr);
            json_key(&j, "max_abs_error");
            json_num(&j, x->max_abs);
            json_key(&j, "mean_abs_error");
            json_num(&j, mean_abs);
            json_key(&j, "top1_agreement");
            if (x->classifier) json_num(&j, (double)x->agree / (double)x->classified);
            else json_null(&j);
            json_obj_end(&j);
        } else {
            char snr_s[32];
            if (isinf(snr)) snprintf(snr_s, sizeof(snr_s), "inf");
            else snprintf(snr_s, sizeof(snr_s), "%.2f", snr);
            printf("  %s: cosine %.6f, SNR %s dB, max abs %.4g, mean abs %.4g", name, cosv, snr_s, x->max_abs,
                   mean_abs);
            if (x->classifier) printf(", top-1 agreement %.2f%%", 100.0 * (double)x->agree / (double)x->classified);
            putchar('\n');
        }
    }
    if (as_json) {
        json_arr_end(&j);
        json_key(&j, "accuracy");
        if (labelled) {
            json_obj(&j);
            json_key(&j, "labelled");
            json_int(&j, labelled);
            json_key(&j, "reference");
            json_num(&j, (double)correct[0] / (double)labelled);
            json_key(&j, "candidate");
            json_num(&j, (double)correct[1] / (double)labelled);
            json_obj_end(&j);
        } else {
            json_null(&j);
        }
        json_obj_end(&j);
    } else if (labelled) {
        printf("  accuracy on %lld labelled samples: reference %.2f%%, candidate %.2f%% (%+.2f points)\n", labelled,
               100.0 * (double)correct[0] / (double)labelled, 100.0 * (double)correct[1] / (double)labelled,
               100.0 * (double)(correct[1] - correct[0]) / (double)labelled);
    }
done:
    free(ins);
    free(ins2);
    free(outs[0]);
    free(outs[1]);
    free(os);
    oc_dataset_free(ds);
    oc_dataset_free(ds2);
    for (int k = 0; k < 2; k++) {
        oc_session_free(s[k]);
        oc_model_free(m[k]);
    }
    return rc;
}
