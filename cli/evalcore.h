/* evalcore.h: how far a candidate model is from its reference on samples:
 * the metrics `onnxcomp eval` prints and `onnxcomp compress`'s quality gate
 * checks. Both models run in the built-in interpreter on the same samples,
 * each fed them shaped for its own inputs (an NCHW and an NHWC export of one
 * network can be compared). */
#ifndef OC_CLI_EVALCORE_H
#define OC_CLI_EVALCORE_H

#include "cli.h"

/* One output's agreement over all samples. */
typedef struct eval_output {
    char *name;            /* the reference's output name (owned) */
    double cosine;         /* of the concatenated outputs; 1 when both are all zero */
    double snr_db;         /* 10 log10(reference energy / error energy); INFINITY when equal */
    double max_abs, mean_abs;
    bool classifier;       /* [C] or [1, C], C > 1: top-1 agreement is known */
    double top1_agreement; /* share of samples whose argmax agrees */
} eval_output;

typedef struct eval_result {
    size_t samples;
    size_t n_outputs;
    eval_output *outputs;
    long long labelled;    /* samples with a label (top-1 of the first classifier output) */
    double acc_ref, acc_cand; /* accuracy as a share of `labelled` */
} eval_result;

/* Called after each sample: done of total. */
typedef void (*eval_progress_fn)(void *ud, size_t done, size_t total);

/* Runs ref and cand (loaded, dims pinned) on the samples of src selected by
 * o, accumulating the metrics into *out (freed with eval_result_free, also
 * on failure). Returns 0, or an exit code with a one-line message "FILE:
 * problem" in err. The sessions borrow the models. */
int eval_compare(oc_model *ref, const char *ref_path, oc_model *cand, const char *cand_path, const char *src,
                 const oc_data_opts *o, int threads, eval_progress_fn progress, void *ud, eval_result *out,
                 char *err, size_t err_cap);
void eval_result_free(eval_result *r);

/* The lowest cosine over the outputs (1 with no outputs), and which output. */
double eval_min_cosine(const eval_result *r, size_t *which);

#endif
