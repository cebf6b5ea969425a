/* recipe.h: presets and recipe files for `onnxcomp compress`.
 *
 * A preset is a name for a few pass specs (`--preset int8` is
 * `--quant static:bits=8,per_channel=1`); a recipe is a JSON file naming
 * passes with their options plus the settings that go with them (samples,
 * exclusions). Both end up as oc_pipeline_add() calls, so the library's one
 * pass table checks every name, option and range: a preset or recipe can
 * ask for nothing the flags could not.
 *
 * Use from compress.c:
 *
 *     if (recipe_preset(&ctx, pl, "int8")) ... print ctx.msg, exit with rc
 *
 *     recipe_settings rs;
 *     int rc = recipe_load(&ctx, pl, "r.json", &rs);
 *     if (rc) { cli_error("compress: %s", ctx.msg); return rc; }
 *     ... rs.data (when not NULL) is --data, rs.limit (when > 0) is --limit,
 *     rs.exclude_ops / exclude_nodes add to --exclude-op / --exclude-node,
 *     rs.keep_first_last applies when rs.has_keep_first_last ...
 *     recipe_settings_free(&rs);
 *
 * The recipe file format is described at recipe_load() below and in
 * onnxcomp(1). Messages name the file and the JSON path of the culprit:
 * "r.json: quant[0].bits: weight: option 'bits' wants an integer from 4 to
 * 8, got '3'".
 */
#ifndef OC_CLI_RECIPE_H
#define OC_CLI_RECIPE_H

#include "onnxcomp.h"

#include <stdbool.h>
#include <stddef.h>

/* Adds the passes of preset NAME to p. Returns 0, or an exit code
 * (oc_status_exit_code) with the message in ctx: an unknown NAME is a usage
 * error listing the presets. */
int recipe_preset(oc_ctx *ctx, oc_pipeline *p, const char *name);

/* Whether preset NAME has a pass that needs samples (--data); false for an
 * unknown NAME. For a message that names the preset rather than its pass. */
bool recipe_preset_needs_data(const char *name);

/* What a recipe sets besides its passes. Everything is owned by the struct
 * (free with recipe_settings_free); unset fields are NULL / 0 / false. */
typedef struct recipe_settings {
    char *data;              /* "data": samples, resolved against the recipe's folder */
    long limit;              /* "limit": at most this many samples; 0 when not given */
    char **exclude_ops;      /* "exclude_op": op types left in float */
    size_t n_exclude_ops;
    char **exclude_nodes;    /* "exclude_node": node names left in float */
    size_t n_exclude_nodes;
    bool keep_first_last;    /* "keep_first_last" ... */
    bool has_keep_first_last; /* ... and whether the recipe gave it */
} recipe_settings;

/* Reads the recipe file at PATH, adds its passes to p and fills *out.
 *
 * A recipe is one JSON object (RFC 8259; no comments, no duplicate keys):
 *   "preset": "NAME"           a preset's passes, added before the others
 *   "prune": [PASS, ...]       prune passes, in order
 *   "quant": [PASS, ...]       quant passes, in order
 *   "data": "SRC"              calibration samples; a relative SRC is taken
 *                              from the recipe's folder
 *   "limit": N                 use at most N samples (1..1000000000)
 *   "exclude_op": ["OP", ...]  op types left in float
 *   "exclude_node": ["NAME", ...]  nodes left in float
 *   "keep_first_last": BOOL    first and last weighted layers left in float
 *   "comment": "TEXT"          ignored
 * PASS is {"pass": "NAME", "OPTION": VALUE, ...} with the options of
 * `onnxcomp compress --list-passes`: a VALUE is a number, true/false (1/0)
 * or a string (the choices of an enum option). Every other key is an error.
 *
 * *out is overwritten, not freed first: give an uninitialised struct or one
 * emptied by recipe_settings_free().
 *
 * Returns 0, or an exit code with the message in ctx: 2 when the file cannot
 * be read, 1 for anything wrong inside it, 6 out of memory. On failure p is
 * left as it was and *out is empty. */
int recipe_load(oc_ctx *ctx, oc_pipeline *p, const char *path, recipe_settings *out);

/* Frees what *s owns and empties it; an emptied or zeroed *s is fine. */
void recipe_settings_free(recipe_settings *s);

/* Lines for --help: each preset, what it is for, and the passes it expands
 * to ("  int8  ...\n        = --quant static:bits=8,per_channel=1\n").
 * Static storage; no header line. */
const char *recipe_presets_help(void);

#endif
