/* batch.h: `onnxcomp compress` over many models. compress.c parses the
 * options and does one model's work (compress_one); batch.c turns the inputs
 * into a list of models and outputs, runs them in this process or in worker
 * processes, shows progress, and reports: a line per model, a total, the
 * failures, and the --report JSON file. */
#ifndef OC_CLI_BATCH_H
#define OC_CLI_BATCH_H

#include "dataopts.h"
#include "evalcore.h"

/* Exit codes beyond the library's 0-7 (README "Exit codes"). */
enum {
    EXIT_BATCH_FAILED = 8, /* some models of a batch failed */
    EXIT_GATE_FAILED = 9,  /* a model fell short of the quality gate */
};

/* Everything that is the same for every model of a run. */
typedef struct compress_settings {
    oc_pipeline *pl;
    char passes[4096];       /* the pipeline's text: metadata onnxcomp.passes */
    char options[2048];      /* other settings that change the output: onnxcomp.options */
    data_args da;            /* calibration samples (--data / --calib) */
    const char *const *exclude_ops, *const *exclude_nodes, *const *only_nodes;
    size_t n_exclude_ops, n_exclude_nodes, n_only_nodes;
    bool keep_first_last;
    oc_save_opts so;         /* .force is -f */
    bool update;             /* -u: replace out-of-date outputs onnxcomp made */
    bool make_dirs;          /* --output-dir: create the output's folders */
    /* quality gate: off when both limits are NAN */
    double min_cosine, max_drop;
    const char *gate_src;    /* --gate-data, else the calibration source */
    oc_data_opts gate_o;     /* the gate's sample selection */
    bool gate_deletes;
} compress_settings;

typedef enum job_status { JOB_OK, JOB_SKIPPED, JOB_FAILED, JOB_GATE_FAILED } job_status;

/* What one model's work gave; plain data apart from ev, so a worker can
 * send it through a pipe. */
typedef struct job_result {
    job_status status;
    bool done;               /* filled (false: never ran, e.g. interrupted) */
    int exit_code;           /* 0, an oc_status exit code, or EXIT_GATE_FAILED */
    char error[1280];        /* "FILE: problem" when failed or below the gate */
    long long bytes_in, bytes_out; /* -1 when unknown */
    double seconds;
    size_t weights_quantized, nodes_quantized, activations_quantized, layers_pruned;
    int64_t weights_zero, weights_prunable, channels_removed;
    int64_t groups_left, groups_approx; /* channel groups left alone / pruned through a normalisation */
    bool has_eval;           /* the gate ran: ev holds its metrics */
    bool gate_passed;
    bool output_written;
    eval_result ev;
} job_result;

/* Loads IN, runs the pipeline, checks the gate and writes OUT (or finds OUT
 * up to date). Never prints errors: they go into res. */
void compress_one(const compress_settings *cs, const char *in, const char *out, job_result *res);

/* How the models are found and where their outputs go. */
typedef struct batch_opts {
    const char **inputs;     /* as given on the command line */
    size_t n_inputs;
    bool recursive;          /* -r: folders give every *.onnx below them */
    const char *output;      /* -o: one input only */
    const char *output_dir;  /* --output-dir: mirror the inputs there */
    int jobs;                /* -j: models in parallel (worker processes) */
    const char *report;      /* --report FILE.json */
} batch_opts;

/* Runs every model; returns the exit code of the run. */
int batch_run(const compress_settings *cs, const batch_opts *bo);

/* A whole line on stderr when g_verbosity >= level, kept apart from the
 * progress line (and, in a worker, sent to the parent that prints it). */
void batch_say(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* What the current model is doing: a phase ("loading", "calibrating",
 * "gate"...) and, when known, done of total. For the progress line. */
void batch_phase(const char *phase, size_t done, size_t total);

#endif
