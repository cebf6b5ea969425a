/* pass.h: what a compression pass is: a row of data (name, stage, summary,
 * options with kinds, defaults and ranges, whether it needs samples, and a
 * run function). One table (passes.c) drives option parsing and validation,
 * `--list-passes` and `--help`; the pipeline runs prune passes, then quant
 * passes, in the order given. */
#ifndef OC_PASS_H
#define OC_PASS_H

#include "../common/common.h"
#include "../ir/ir.h"

#include <stdio.h>

typedef enum oc_opt_kind {
    OC_OPT_INT = 0,
    OC_OPT_FLOAT = 1,
    OC_OPT_BOOL = 2,
    OC_OPT_ENUM = 3, /* one of `choices`, "a|b|c"; the value is the index */
} oc_opt_kind;

#define OC_PASS_MAX_OPTS 16

typedef struct oc_pass_opt {
    const char *key;
    oc_opt_kind kind;
    const char *def;     /* default, as text */
    double min, max;     /* INT and FLOAT ranges */
    const char *choices; /* ENUM */
    const char *help;
} oc_pass_opt;

struct oc_pass;

/* Option values as parsed, in the order of the pass's option table. */
typedef struct oc_pass_vals {
    double v[OC_PASS_MAX_OPTS];
    bool given[OC_PASS_MAX_OPTS];
} oc_pass_vals;

typedef struct oc_pass_run {
    oc_ctx *ctx;
    oc_model *m;
    const struct oc_pass *pass;
    const oc_pass_vals *vals;
    const oc_pipeline_opts *popts; /* samples, exclusions... */
    oc_pipeline_report *rep;
    /* the first and last weighted layers (keep_first_last), or NULL */
    const oc_node *first_layer, *last_layer;
} oc_pass_run;

typedef struct oc_pass {
    const char *stage; /* "prune" or "quant" */
    const char *name;
    const char *summary;
    const oc_pass_opt *opts;
    size_t n_opts;
    bool needs_data;
    oc_status (*run)(oc_pass_run *r);
    /* when set, whether samples are needed given the option values (a pass
     * that needs them only with some options); needs_data is then false */
    bool (*wants_data)(const oc_pass_vals *v);
} oc_pass;

extern const oc_pass oc_passes[];
extern const size_t oc_passes_count;

/* Value of option `key` (by table position lookup; key must exist). */
double oc_pass_val(const oc_pass_run *r, const char *key);
bool oc_pass_given(const oc_pass_run *r, const char *key);
/* Appends a notice line to the report (and to stderr-bound notices). */
void oc_pass_notice(oc_pass_run *r, const char *fmt, ...) OC_PRINTF(2, 3);

/* Is node n chosen by the user's --exclude-op / --exclude-node /
 * --only-node selections? */
bool oc_pass_node_selected(const oc_pass_run *r, const oc_node *n);

/* Runs the model as it is now over the pass's samples (--data, at most
 * --limit or the pass's "samples" option), handing fn every input and every
 * computed value (subgraph values as oc_session_set_observer says). *count
 * receives the sample count. */
oc_status oc_pass_run_samples(oc_pass_run *r, oc_observe_fn fn, void *ud, size_t *count);
/* The same over at most `cap` of those samples (the first ones). */
oc_status oc_pass_run_samples_upto(oc_pass_run *r, oc_observe_fn fn, void *ud, size_t *count, size_t cap);
/* The same for an observer whose end state does not depend on the order it
 * sees samples in (min/max, counts): samples run on one session per worker
 * thread (--threads, else one per core), fn called under a lock from any of
 * them. An error names the first failing sample in sample order. */
oc_status oc_pass_run_samples_any_order(oc_pass_run *r, oc_observe_fn fn, void *ud, size_t *count);

/* The passes themselves. */
oc_status oc_pass_quant_weight(oc_pass_run *r);
oc_status oc_pass_quant_static(oc_pass_run *r);

#endif
