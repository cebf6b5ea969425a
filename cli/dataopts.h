/* dataopts.h: the --data family of options shared by run, eval and
 * compress: source, preprocessing, limit, split, pinned dims, threads. */
#ifndef OC_CLI_DATAOPTS_H
#define OC_CLI_DATAOPTS_H

#include "cli.h"

typedef struct data_args {
    const char *src;
    oc_data_opts o;
    const char *pins[32]; /* NAME=VALUE */
    int n_pins;
    int threads;
} data_args;

void data_args_init(data_args *a);
/* Consumes argv[*i] (and its value) if it is a data option. Returns 1 when
 * consumed, 0 when not a data option, -1 on a bad value (message printed). */
int data_args_parse(data_args *a, int argc, char **argv, int *i);
/* Pins symbolic dims of m's graph inputs from --dim NAME=V. */
int data_args_pin(const data_args *a, oc_model *m, const char *model_path);
/* The same, putting the message in err instead of printing it. */
int data_args_pin_msg(const data_args *a, oc_model *m, const char *model_path, char *err, size_t err_cap);
/* The options that change what the samples are (" --limit 100 --split
 * calib --scale 1 --dim N=1"; defaults left out), for the output's metadata:
 * with them a different run can tell it would calibrate on other samples. */
void data_args_text(const data_args *a, char *buf, size_t cap);
extern const char data_args_help[];

#endif
