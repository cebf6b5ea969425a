/* evalcore.c: runs a reference and a candidate model on the same samples and
 * accumulates, per output, cosine similarity, SNR, max and mean absolute
 * error and top-1 agreement, and both models' accuracy when the samples have
 * labels. Used by `onnxcomp eval` and by `compress`'s quality gate, so the
 * gate checks exactly what eval reports. Nothing is printed here: failures
 * come back as one line for the caller to show or record. */
#include "evalcore.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef struct acc {
    double dot, rr, cc, err2;
    double max_abs, sum_abs;
    long long n_elems;
    long long agree, classified;
    bool classifier;
} acc;

static double get(const oc_ten *t, int64_t i)
{
    oc_tensor v = {.dtype = t->dtype, .numel = t->numel, .data = t->data, .nbytes = t->nbytes};
    return oc_tensor_get(&v, i);
}

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
        double v = get(t, i);
        if (v > bv) {
            bv = v;
            best = i;
        }
    }
    return best;
}

static int fail(char *err, size_t cap, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t cap, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return code;
}

static void release_all(oc_ten *t, size_t n)
{
    for (size_t i = 0; t && i < n; i++) oc_ten_release(&t[i]);
}

/* Opens src shaped for session s's inputs. */
static oc_status open_for(oc_ctx *ctx, oc_session *s, const char *src, const oc_data_opts *o, oc_dataset **ds)
{
    size_t ni = oc_session_n_inputs(s);
    const oc_value **iv = calloc(ni + 1, sizeof(*iv));
    if (!iv) return OC_ERR_NOMEM;
    for (size_t i = 0; i < ni; i++) iv[i] = oc_session_input(s, i);
    oc_status st = oc_dataset_open(ctx, src, ni, iv, o, ds);
    free(iv);
    return st;
}

/* Adds one sample's outputs to the accumulators; the label counts once, on
 * the first classifier-shaped output. */
static void accumulate(acc *os, size_t no, const oc_ten *r_out, const oc_ten *c_out, int64_t label,
                       eval_result *res, long long correct[2])
{
    bool counted_label = false;
    for (size_t o = 0; o < no; o++) {
        const oc_ten *r = &r_out[o], *c = &c_out[o];
        acc *x = &os[o];
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
                res->labelled++;
                correct[0] += ar == label;
                correct[1] += ac == label;
            }
        }
    }
}

int eval_compare(oc_model *ref, const char *ref_path, oc_model *cand, const char *cand_path, const char *src,
                 const oc_data_opts *o, int threads, eval_progress_fn progress, void *ud, eval_result *out,
                 char *err, size_t err_cap)
{
    memset(out, 0, sizeof(*out));
    err[0] = 0;
    oc_ctx ctx;
    oc_ctx_init(&ctx);
    oc_model *m[2] = {ref, cand};
    const char *path[2] = {ref_path, cand_path};
    oc_session *s[2] = {NULL, NULL};
    oc_dataset *ds[2] = {NULL, NULL};
    oc_ten *ins[2] = {NULL, NULL}, *outs[2] = {NULL, NULL};
    acc *os = NULL;
    long long correct[2] = {0, 0};
    size_t ni = 0, no = 0;
    int rc = 0;
    oc_run_opts ro = {.threads = threads};
    for (int k = 0; k < 2 && !rc; k++) {
        oc_status st = oc_session_new(&ctx, m[k], &ro, &s[k]);
        if (st != OC_OK) rc = fail(err, err_cap, oc_status_exit_code(st), "%s: %s", path[k], ctx.msg);
    }
    if (rc) goto done;
    ni = oc_session_n_inputs(s[0]);
    no = oc_session_n_outputs(s[0]);
    if (oc_session_n_inputs(s[1]) != ni || oc_session_n_outputs(s[1]) != no) {
        rc = fail(err, err_cap, 1, "%s: has %zu inputs and %zu outputs, %s has %zu and %zu", cand_path,
                  oc_session_n_inputs(s[1]), oc_session_n_outputs(s[1]), ref_path, ni, no);
        goto done;
    }
    for (int k = 0; k < 2 && !rc; k++) {
        oc_status st = open_for(&ctx, s[k], src, o, &ds[k]);
        if (st == OC_ERR_NOMEM && !ctx.msg[0]) rc = fail(err, err_cap, oc_status_exit_code(st), "out of memory");
        else if (st != OC_OK) rc = fail(err, err_cap, oc_status_exit_code(st), "%s", ctx.msg);
    }
    if (rc) goto done;
    size_t n = oc_dataset_count(ds[0]);
    if (oc_dataset_count(ds[1]) != n) {
        rc = fail(err, err_cap, 1, "%s: the two models see different sample counts", src);
        goto done;
    }
    if (!n) {
        rc = fail(err, err_cap, 1, "%s: no samples", src);
        goto done;
    }
    out->n_outputs = no;
    out->outputs = calloc(no + 1, sizeof(eval_output));
    for (int k = 0; k < 2; k++) {
        ins[k] = calloc(ni + 1, sizeof(oc_ten));
        outs[k] = calloc(no + 1, sizeof(oc_ten));
    }
    os = calloc(no + 1, sizeof(acc));
    if (!out->outputs || !ins[0] || !ins[1] || !outs[0] || !outs[1] || !os) {
        rc = fail(err, err_cap, oc_status_exit_code(OC_ERR_NOMEM), "out of memory");
        goto done;
    }
    for (size_t o_i = 0; o_i < no; o_i++) {
        out->outputs[o_i].name = strdup(oc_session_output(s[0], o_i)->name);
        if (!out->outputs[o_i].name) {
            rc = fail(err, err_cap, oc_status_exit_code(OC_ERR_NOMEM), "out of memory");
            goto done;
        }
    }
    for (size_t k = 0; k < n; k++) {
        int64_t label[2] = {-1, -1};
        for (int j = 0; j < 2 && !rc; j++) {
            oc_status st = oc_dataset_get(&ctx, ds[j], k, ins[j], &label[j]);
            if (st != OC_OK) rc = fail(err, err_cap, oc_status_exit_code(st), "%s", ctx.msg);
        }
        for (int j = 0; j < 2 && !rc; j++) {
            oc_status st = oc_session_run(&ctx, s[j], ins[j], outs[j]);
            if (st != OC_OK)
                rc = fail(err, err_cap, oc_status_exit_code(st), "%s: sample '%s': %s", path[j],
                          oc_dataset_sample_name(ds[0], k), ctx.msg);
        }
        release_all(ins[0], ni);
        release_all(ins[1], ni);
        for (size_t o_i = 0; o_i < no && !rc; o_i++)
            if (outs[0][o_i].numel != outs[1][o_i].numel)
                rc = fail(err, err_cap, 1, "%s: output '%s' has %lld elements, the reference %lld", cand_path,
                          out->outputs[o_i].name, (long long)outs[1][o_i].numel, (long long)outs[0][o_i].numel);
        if (!rc) accumulate(os, no, outs[0], outs[1], label[0], out, correct);
        release_all(outs[0], no);
        release_all(outs[1], no);
        if (rc) goto done;
        out->samples = k + 1;
        if (progress) progress(ud, k + 1, n);
    }
    for (size_t o_i = 0; o_i < no; o_i++) {
        const acc *x = &os[o_i];
        eval_output *e = &out->outputs[o_i];
        e->cosine = x->rr > 0 && x->cc > 0 ? x->dot / sqrt(x->rr * x->cc) : (x->rr == x->cc ? 1.0 : 0.0);
        e->snr_db = x->err2 > 0 ? 10.0 * log10(x->rr / x->err2) : INFINITY;
        e->max_abs = x->max_abs;
        e->mean_abs = x->n_elems ? x->sum_abs / (double)x->n_elems : 0;
        e->classifier = x->classifier;
        e->top1_agreement = x->classified ? (double)x->agree / (double)x->classified : 0;
    }
    if (out->labelled) {
        out->acc_ref = (double)correct[0] / (double)out->labelled;
        out->acc_cand = (double)correct[1] / (double)out->labelled;
    }
done:
    for (int k = 0; k < 2; k++) {
        free(ins[k]);
        free(outs[k]);
        oc_dataset_free(ds[k]);
        oc_session_free(s[k]);
    }
    free(os);
    return rc;
}

void eval_result_free(eval_result *r)
{
    if (!r) return;
    for (size_t i = 0; r->outputs && i < r->n_outputs; i++) free(r->outputs[i].name);
    free(r->outputs);
    memset(r, 0, sizeof(*r));
}

double eval_min_cosine(const eval_result *r, size_t *which)
{
    double best = 1.0;
    size_t w = 0;
    for (size_t i = 0; i < r->n_outputs; i++)
        if (r->outputs[i].cosine < best || r->outputs[i].cosine != r->outputs[i].cosine) {
            best = r->outputs[i].cosine;
            w = i;
            if (best != best) break;
        }
    if (which) *which = w;
    return best;
}
