/* cli.h: what the onnxcomp command's files share. The CLI uses only the
 * library's public header. */
#ifndef OC_CLI_H
#define OC_CLI_H

#include "onnxcomp.h"

#include <stdio.h>

extern int g_verbosity; /* 0 quiet, 1 normal, 2 verbose */

/* Prints "onnxcomp: <msg>" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int cmd_info(int argc, char **argv);
int cmd_compress(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_eval(int argc, char **argv);
/* Creates the folders above path, mkdir -p of its dirname (compress.c):
 * 0 or an errno value. */
int cli_make_parents(const char *path);
/* A file-name-safe copy of s (run.c). */
void cli_safe_name(char *dst, size_t cap, const char *s);

/* ---- tiny JSON writer ---- */
typedef struct json {
    FILE *f;
    int depth;
    bool first[64];
    bool after_key;
} json;

void json_begin(json *j, FILE *f);
void json_obj(json *j);
void json_obj_end(json *j);
void json_arr(json *j);
void json_arr_end(json *j);
void json_key(json *j, const char *k);
void json_str(json *j, const char *s);
void json_int(json *j, long long v);
void json_num(json *j, double v);
void json_bool(json *j, bool v);
void json_null(json *j);

#endif
