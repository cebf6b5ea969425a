/* recipe.c: presets and recipe files for `onnxcomp compress`.
 *
 * A preset is a row of a table: a name and the pass specs it stands for. A
 * recipe is a JSON file (parsed with cJSON) whose pass objects become the
 * same "NAME:key=value,..." text the --prune and --quant flags take, so the
 * library's pass table is the only judge of names, options and ranges. Each
 * option is tried on its own first, so that a bad one is reported with the
 * file and the JSON path holding it. The whole recipe is checked before its
 * first pass reaches the caller's pipeline: a bad recipe adds nothing. */
#include "recipe.h"

#include <cjson/cJSON.h>

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- messages ---- */

/* Sets ctx's status and message (one line, control characters from the
 * recipe made visible as '?'). The arguments may point into ctx->msg. */
static oc_status fail(oc_ctx *ctx, oc_status st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static oc_status fail(oc_ctx *ctx, oc_status st, const char *fmt, ...)
{
    char buf[sizeof(ctx->msg)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    for (char *c = buf; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = (*c == '\n' || *c == '\t') ? ' ' : '?';
    memcpy(ctx->msg, buf, sizeof(buf));
    ctx->status = st;
    return st;
}

/* The library's message for a bad --STAGE spec without its "--STAGE: "
 * lead, which means nothing inside a recipe file. */
static const char *lib_msg(const oc_ctx *lc, const char *stage)
{
    size_t sl = strlen(stage);
    if (!strncmp(lc->msg, "--", 2) && !strncmp(lc->msg + 2, stage, sl) && !strncmp(lc->msg + 2 + sl, ": ", 2))
        return lc->msg + 4 + sl;
    return lc->msg;
}

/* ---- presets ---- */

typedef struct preset_step {
    const char *stage; /* "prune" or "quant"; NULL ends the list */
    const char *spec;  /* as --prune / --quant take it */
} preset_step;

#define PRESET_MAX_STEPS 2

typedef struct preset {
    const char *name;
    const char *summary;
    preset_step steps[PRESET_MAX_STEPS];
} preset;

static const preset presets[] = {
    {"int8", "static int8: int8 weights per channel, calibrated uint8 activations",
     {{"quant", "static:bits=8,per_channel=1"}}},
    {"int8-weights", "weight-only int8, one scale per output channel (no samples needed)",
     {{"quant", "weight:bits=8,per_channel=1"}}},
    {"int4-weights", "weight-only int4 in blocks of 32 along the reduction axis (opset 21)",
     {{"quant", "weight:bits=4,block=32"}}},
    {"sparse50-int8", "half of each layer's weights pruned by magnitude, then static int8",
     {{"prune", "magnitude:sparsity=0.5"}, {"quant", "static:bits=8,per_channel=1"}}},
    {"fp16", "float16 weights and compute, float32 inputs and outputs", {{"quant", "fp16"}}},
};
#define N_PRESETS (sizeof(presets) / sizeof(presets[0]))

static const preset *find_preset(const char *name)
{
    for (size_t i = 0; i < N_PRESETS; i++)
        if (!strcmp(presets[i].name, name)) return &presets[i];
    return NULL;
}

static void preset_names(char *buf, size_t cap)
{
    size_t o = 0;
    buf[0] = 0;
    for (size_t i = 0; i < N_PRESETS; i++) {
        int w = snprintf(buf + o, cap - o, "%s%s", i ? ", " : "", presets[i].name);
        if (w < 0 || (size_t)w >= cap - o) return;
        o += (size_t)w;
    }
}

static oc_status add_preset(oc_ctx *ctx, oc_pipeline *p, const preset *ps)
{
    for (size_t k = 0; k < PRESET_MAX_STEPS && ps->steps[k].stage; k++) {
        oc_ctx lc;
        oc_ctx_init(&lc);
        oc_status st = oc_pipeline_add(&lc, p, ps->steps[k].stage, ps->steps[k].spec);
        if (st != OC_OK) return fail(ctx, st, "preset '%s': %s", ps->name, lib_msg(&lc, ps->steps[k].stage));
    }
    return OC_OK;
}

int recipe_preset(oc_ctx *ctx, oc_pipeline *p, const char *name)
{
    const preset *ps = find_preset(name);
    if (!ps) {
        char names[256];
        preset_names(names, sizeof(names));
        return oc_status_exit_code(fail(ctx, OC_ERR_USAGE, "no preset '%s' (presets: %s)", name, names));
    }
    return oc_status_exit_code(add_preset(ctx, p, ps));
}

bool recipe_preset_needs_data(const char *name)
{
    const preset *ps = find_preset(name);
    oc_pipeline *p = ps ? oc_pipeline_new() : NULL;
    oc_ctx lc;
    oc_ctx_init(&lc);
    bool needs = p && add_preset(&lc, p, ps) == OC_OK && oc_pipeline_needs_data(p, NULL);
    oc_pipeline_free(p);
    return needs;
}

const char *recipe_presets_help(void)
{
    static char text[2048];
    if (text[0]) return text;
    size_t o = 0;
    for (size_t i = 0; i < N_PRESETS; i++) {
        const preset *ps = &presets[i];
        int w = snprintf(text + o, sizeof(text) - o, "  %-15s %s%s\n%18s=", ps->name, ps->summary,
                         recipe_preset_needs_data(ps->name) ? " (needs --data)" : "", "");
        if (w < 0 || (size_t)w >= sizeof(text) - o) break;
        o += (size_t)w;
        for (size_t k = 0; k < PRESET_MAX_STEPS && ps->steps[k].stage; k++) {
            w = snprintf(text + o, sizeof(text) - o, " --%s %s", ps->steps[k].stage, ps->steps[k].spec);
            if (w < 0 || (size_t)w >= sizeof(text) - o) break;
            o += (size_t)w;
        }
        if (o + 1 < sizeof(text)) {
            text[o++] = '\n';
            text[o] = 0;
        }
    }
    return text;
}

/* ---- recipe files ---- */

#define RECIPE_MAX_BYTES (1u << 20)
#define RECIPE_MAX_LIMIT 1000000000.0

/* A pass spec checked against the pass table, waiting to be added. */
typedef struct checked_pass {
    const char *stage;
    char *spec;
} checked_pass;

typedef struct loader {
    oc_ctx *ctx;
    const char *path; /* as the user gave it: every message starts with it */
    checked_pass *passes;
    size_t n_passes, cap_passes;
    const preset *preset;
    recipe_settings *out;
} loader;

/* "PATH: AT: problem", a usage error. */
static oc_status bad(loader *L, const char *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static oc_status bad(loader *L, const char *at, const char *fmt, ...)
{
    char what[sizeof(L->ctx->msg)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return fail(L->ctx, OC_ERR_USAGE, "%s: %s: %s", L->path, at, what);
}

static oc_status nomem(loader *L)
{
    return fail(L->ctx, OC_ERR_NOMEM, "%s: out of memory", L->path);
}

static const char *type_name(const cJSON *v)
{
    if (cJSON_IsObject(v)) return "an object";
    if (cJSON_IsArray(v)) return "an array";
    if (cJSON_IsString(v)) return "a string";
    if (cJSON_IsNumber(v)) return "a number";
    if (cJSON_IsBool(v)) return "a boolean";
    if (cJSON_IsNull(v)) return "null";
    return "an invalid value";
}

/* Letters, digits and '_': what a pass or option name can be, and nothing
 * the spec syntax (':', ',', '=') would read as structure. */
static bool is_word(const char *s)
{
    if (!*s) return false;
    for (; *s; s++)
        if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
            return false;
    return true;
}

/* The shortest text that reads back as d. */
static void number_text(double d, char *buf, size_t cap)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, d);
        if (strtod(buf, NULL) == d) return;
    }
}

/* An option value as spec text: numbers as written, true/false as 1/0,
 * strings as they are. */
static oc_status value_text(loader *L, const char *at, const cJSON *v, char *buf, size_t cap)
{
    if (cJSON_IsBool(v)) {
        snprintf(buf, cap, "%d", cJSON_IsTrue(v) ? 1 : 0);
    } else if (cJSON_IsNumber(v)) {
        if (!isfinite(v->valuedouble)) return bad(L, at, "the number is too large");
        number_text(v->valuedouble, buf, cap);
    } else if (cJSON_IsString(v)) {
        if (strchr(v->valuestring, ','))
            return bad(L, at, "'%s': an option value cannot hold a ','", v->valuestring);
        if (strlen(v->valuestring) >= cap)
            return bad(L, at, "a value of %zu characters: longer than any option takes", strlen(v->valuestring));
        snprintf(buf, cap, "%s", v->valuestring);
    } else {
        return bad(L, at, "wants a number, true/false or a string, got %s", type_name(v));
    }
    return OC_OK;
}

/* Tries spec on a fresh pipeline; a failure is reported at `at`. */
static oc_status try_spec(loader *L, const char *stage, const char *spec, const char *at)
{
    oc_pipeline *scratch = oc_pipeline_new();
    if (!scratch) return nomem(L);
    oc_ctx lc;
    oc_ctx_init(&lc);
    oc_status st = oc_pipeline_add(&lc, scratch, stage, spec);
    oc_pipeline_free(scratch);
    if (st == OC_ERR_NOMEM) return nomem(L);
    if (st != OC_OK) return fail(L->ctx, st, "%s: %s: %s", L->path, at, lib_msg(&lc, stage));
    return OC_OK;
}

/* A growable string for a spec. */
typedef struct sbuf {
    char *s;
    size_t len, cap;
} sbuf;

static bool sb_put(sbuf *b, const char *s)
{
    size_t n = strlen(s);
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 64;
        while (nc < b->len + n + 1) nc *= 2;
        char *ns = realloc(b->s, nc);
        if (!ns) return false;
        b->s = ns;
        b->cap = nc;
    }
    memcpy(b->s + b->len, s, n + 1);
    b->len += n;
    return true;
}

/* One element of "prune" or "quant": {"pass": NAME, OPTION: VALUE, ...}. */
static oc_status load_pass(loader *L, const char *stage, size_t idx, const cJSON *obj)
{
    char at[64], jp[160], val[128];
    snprintf(at, sizeof(at), "%s[%zu]", stage, idx);
    const char *example = stage[0] == 'q' ? "static" : "magnitude";
    if (!cJSON_IsObject(obj))
        return bad(L, at, "wants a pass object like {\"pass\": \"%s\", ...}, got %s", example, type_name(obj));
    const cJSON *name = NULL;
    for (const cJSON *c = obj->child; c && !name; c = c->next)
        if (!strcmp(c->string, "pass")) name = c;
    if (!name) return bad(L, at, "no \"pass\" key naming the pass (e.g. \"pass\": \"%s\")", example);
    snprintf(jp, sizeof(jp), "%s.pass", at);
    if (!cJSON_IsString(name)) return bad(L, jp, "wants the pass name as a string, got %s", type_name(name));
    if (!is_word(name->valuestring))
        return bad(L, jp, "'%s' is not a pass name (options go in keys of their own)", name->valuestring);
    oc_status st = try_spec(L, stage, name->valuestring, jp);
    if (st != OC_OK) return st;

    sbuf spec = {0}, one = {0};
    if (!sb_put(&spec, name->valuestring)) return nomem(L);
    size_t n_opts = 0;
    for (const cJSON *c = obj->child; c && st == OC_OK; c = c->next) {
        if (c == name) continue;
        snprintf(jp, sizeof(jp), "%s.%s", at, c->string);
        /* every key before c was checked, so this loop is short */
        for (const cJSON *d = obj->child; d != c && st == OC_OK; d = d->next)
            if (!strcmp(d->string, c->string)) st = bad(L, jp, "given twice");
        if (st != OC_OK) break;
        if (!is_word(c->string)) {
            st = bad(L, jp, "not an option name (letters, digits and '_')");
            break;
        }
        st = value_text(L, jp, c, val, sizeof(val));
        if (st != OC_OK) break;
        one.len = 0;
        if (!sb_put(&one, name->valuestring) || !sb_put(&one, ":") || !sb_put(&one, c->string) ||
            !sb_put(&one, "=") || !sb_put(&one, val) || !sb_put(&spec, n_opts++ ? "," : ":") ||
            !sb_put(&spec, c->string) || !sb_put(&spec, "=") || !sb_put(&spec, val)) {
            st = nomem(L);
            break;
        }
        st = try_spec(L, stage, one.s, jp);
    }
    free(one.s);
    if (st == OC_OK) st = try_spec(L, stage, spec.s, at);
    if (st == OC_OK && L->n_passes == L->cap_passes) {
        size_t nc = L->cap_passes ? 2 * L->cap_passes : 8;
        checked_pass *np = realloc(L->passes, nc * sizeof(*np));
        if (!np) {
            st = nomem(L);
        } else {
            L->passes = np;
            L->cap_passes = nc;
        }
    }
    if (st != OC_OK) {
        free(spec.s);
        return st;
    }
    L->passes[L->n_passes++] = (checked_pass){.stage = stage, .spec = spec.s};
    return OC_OK;
}

static oc_status load_pass_list(loader *L, const char *stage, const cJSON *arr)
{
    if (!cJSON_IsArray(arr))
        return bad(L, stage, "wants an array of pass objects [{\"pass\": \"%s\", ...}], got %s",
                   stage[0] == 'q' ? "static" : "magnitude", type_name(arr));
    size_t i = 0;
    for (const cJSON *c = arr->child; c; c = c->next, i++) {
        oc_status st = load_pass(L, stage, i, c);
        if (st != OC_OK) return st;
    }
    return OC_OK;
}

static oc_status load_strings(loader *L, const char *key, const cJSON *arr, char ***list, size_t *n)
{
    if (!cJSON_IsArray(arr)) return bad(L, key, "wants an array of strings, got %s", type_name(arr));
    size_t count = (size_t)cJSON_GetArraySize(arr);
    if (!count) return OC_OK;
    *list = calloc(count, sizeof(char *));
    if (!*list) return nomem(L);
    size_t i = 0;
    for (const cJSON *c = arr->child; c && i < count; c = c->next, i++) {
        char at[96];
        snprintf(at, sizeof(at), "%s[%zu]", key, i);
        if (!cJSON_IsString(c)) return bad(L, at, "wants a string, got %s", type_name(c));
        if (!c->valuestring[0]) return bad(L, at, "an empty name");
        (*list)[i] = strdup(c->valuestring);
        if (!(*list)[i]) return nomem(L);
        (*n)++;
    }
    return OC_OK;
}

/* SRC from a recipe, taken from the recipe's folder when relative. */
static char *resolve_path(const char *recipe_path, const char *src)
{
    const char *slash = strrchr(recipe_path, '/');
    if (src[0] == '/' || !slash) return strdup(src);
    size_t dl = (size_t)(slash - recipe_path) + 1, sl = strlen(src);
    char *s = malloc(dl + sl + 1);
    if (!s) return NULL;
    memcpy(s, recipe_path, dl);
    memcpy(s + dl, src, sl + 1);
    return s;
}

static const char *const top_keys[] = {
    "preset", "prune", "quant", "data", "limit", "exclude_op", "exclude_node", "keep_first_last", "comment",
};
#define N_TOP_KEYS (sizeof(top_keys) / sizeof(top_keys[0]))

static oc_status load_member(loader *L, size_t k, const cJSON *v)
{
    const char *key = top_keys[k];
    recipe_settings *out = L->out;
    switch (k) {
    case 0: /* preset */
        if (!cJSON_IsString(v)) return bad(L, key, "wants a preset name, got %s", type_name(v));
        L->preset = find_preset(v->valuestring);
        if (!L->preset) {
            char names[256];
            preset_names(names, sizeof(names));
            return bad(L, key, "no preset '%s' (presets: %s)", v->valuestring, names);
        }
        return OC_OK;
    case 1: /* prune */
    case 2: /* quant */
        return load_pass_list(L, key, v);
    case 3: /* data */
        if (!cJSON_IsString(v)) return bad(L, key, "wants a path (a string), got %s", type_name(v));
        if (!v->valuestring[0]) return bad(L, key, "an empty path");
        out->data = resolve_path(L->path, v->valuestring);
        return out->data ? OC_OK : nomem(L);
    case 4: { /* limit */
        double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
        if (!cJSON_IsNumber(v))
            return bad(L, key, "wants a whole number from 1 to %.0f, got %s", RECIPE_MAX_LIMIT, type_name(v));
        if (!(d >= 1 && d <= RECIPE_MAX_LIMIT) || d != floor(d))
            return bad(L, key, "wants a whole number from 1 to %.0f, got %g", RECIPE_MAX_LIMIT, d);
        out->limit = (long)d;
        return OC_OK;
    }
    case 5: /* exclude_op */
        return load_strings(L, key, v, &out->exclude_ops, &out->n_exclude_ops);
    case 6: /* exclude_node */
        return load_strings(L, key, v, &out->exclude_nodes, &out->n_exclude_nodes);
    case 7: /* keep_first_last */
        if (!cJSON_IsBool(v)) return bad(L, key, "wants true or false, got %s", type_name(v));
        out->keep_first_last = cJSON_IsTrue(v);
        out->has_keep_first_last = true;
        return OC_OK;
    case 8: /* comment */
        if (!cJSON_IsString(v)) return bad(L, key, "wants a string, got %s", type_name(v));
        return OC_OK;
    }
    return fail(L->ctx, OC_ERR_INTERNAL, "%s: recipe key %zu has no reader", L->path, k);
}

static oc_status load_root(loader *L, const cJSON *root)
{
    if (!cJSON_IsObject(root))
        return fail(L->ctx, OC_ERR_USAGE, "%s: a recipe is a JSON object {\"quant\": [...], ...}, not %s", L->path,
                    type_name(root));
    static_assert(N_TOP_KEYS <= 32, "the seen mask has 32 bits");
    uint32_t seen = 0;
    for (const cJSON *c = root->child; c; c = c->next) {
        size_t k = 0;
        while (k < N_TOP_KEYS && strcmp(top_keys[k], c->string)) k++;
        if (k == N_TOP_KEYS) {
            char keys[256];
            size_t o = 0;
            keys[0] = 0;
            for (size_t i = 0; i < N_TOP_KEYS; i++) {
                int w = snprintf(keys + o, sizeof(keys) - o, "%s%s", i ? ", " : "", top_keys[i]);
                if (w > 0 && (size_t)w < sizeof(keys) - o) o += (size_t)w;
            }
            return bad(L, c->string, "not a recipe key (keys: %s)", keys);
        }
        if (seen & (1u << k)) return bad(L, c->string, "given twice");
        seen |= 1u << k;
        oc_status st = load_member(L, k, c);
        if (st != OC_OK) return st;
    }
    return OC_OK;
}

/* Reads the whole file: at most RECIPE_MAX_BYTES, NUL-terminated. */
static oc_status read_text(oc_ctx *ctx, const char *path, char **text, size_t *len)
{
    *text = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return fail(ctx, OC_ERR_READ, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    oc_status st = OC_OK;
    char *buf = NULL;
    size_t n = 0;
    if (fstat(fileno(f), &sb) == 0 && S_ISDIR(sb.st_mode)) {
        st = fail(ctx, OC_ERR_READ, "%s: is a folder, not a recipe file", path);
        goto done;
    }
    buf = malloc(RECIPE_MAX_BYTES + 2);
    if (!buf) {
        st = fail(ctx, OC_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    n = fread(buf, 1, RECIPE_MAX_BYTES + 1, f);
    if (ferror(f)) {
        st = fail(ctx, OC_ERR_READ, "%s: cannot read: %s", path, strerror(errno));
    } else if (n > RECIPE_MAX_BYTES) {
        st = fail(ctx, OC_ERR_USAGE, "%s: over %u bytes: too large for a recipe", path, RECIPE_MAX_BYTES);
    } else {
        buf[n] = 0;
        *text = buf;
        *len = n;
        buf = NULL;
    }
done:
    free(buf);
    fclose(f);
    return st;
}

/* "PATH:LINE:COL: invalid JSON near '...'" for a parse that stopped at
 * offset (columns count bytes, from 1). */
static oc_status json_error(oc_ctx *ctx, const char *path, const char *text, size_t len, size_t offset)
{
    if (offset > len) offset = len;
    size_t line = 1, col = 1;
    for (size_t i = 0; i < offset; i++) {
        if (text[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    if (offset < len && text[offset] == 0)
        return fail(ctx, OC_ERR_USAGE, "%s:%zu:%zu: invalid JSON: a NUL byte", path, line, col);
    char near[24];
    size_t k = 0;
    for (size_t i = offset; i < len && k < 16 && text[i] != '\n' && text[i] != '\r' && text[i]; i++)
        near[k++] = text[i];
    near[k] = 0;
    if (!k)
        return fail(ctx, OC_ERR_USAGE, "%s:%zu:%zu: invalid JSON at the end of %s", path, line, col,
                    offset >= len ? "the file" : "the line");
    return fail(ctx, OC_ERR_USAGE, "%s:%zu:%zu: invalid JSON near '%s'", path, line, col, near);
}

void recipe_settings_free(recipe_settings *s)
{
    if (!s) return;
    free(s->data);
    for (size_t i = 0; i < s->n_exclude_ops; i++) free(s->exclude_ops[i]);
    free(s->exclude_ops);
    for (size_t i = 0; i < s->n_exclude_nodes; i++) free(s->exclude_nodes[i]);
    free(s->exclude_nodes);
    memset(s, 0, sizeof(*s));
}

int recipe_load(oc_ctx *ctx, oc_pipeline *p, const char *path, recipe_settings *out)
{
    memset(out, 0, sizeof(*out));
    loader L = {.ctx = ctx, .path = path, .out = out};
    char *text = NULL;
    size_t len = 0;
    cJSON *root = NULL;
    oc_status st = read_text(ctx, path, &text, &len);
    if (st != OC_OK) goto cleanup;
    const char *nul = memchr(text, 0, len);
    if (nul) {
        st = json_error(ctx, path, text, len, (size_t)(nul - text));
        goto cleanup;
    }
    if (strspn(text, " \t\r\n") == len) {
        st = fail(ctx, OC_ERR_USAGE, "%s: empty: a recipe is a JSON object {\"quant\": [...], ...}", path);
        goto cleanup;
    }
    const char *end = NULL;
    root = cJSON_ParseWithLengthOpts(text, len + 1, &end, 1);
    if (!root) {
        size_t off = end && end >= text ? (size_t)(end - text) : 0;
        st = json_error(ctx, path, text, len, off);
        goto cleanup;
    }
    st = load_root(&L, root);
    if (st != OC_OK) goto cleanup;
    /* all checked: now the caller's pipeline gets the passes */
    if (L.preset) {
        st = add_preset(ctx, p, L.preset);
        if (st != OC_OK) goto cleanup;
    }
    for (size_t i = 0; i < L.n_passes; i++) {
        oc_ctx lc;
        oc_ctx_init(&lc);
        st = oc_pipeline_add(&lc, p, L.passes[i].stage, L.passes[i].spec);
        if (st != OC_OK) {
            fail(ctx, st, "%s: %s", path, lib_msg(&lc, L.passes[i].stage));
            goto cleanup;
        }
    }
cleanup:
    if (st != OC_OK) recipe_settings_free(out);
    for (size_t i = 0; i < L.n_passes; i++) free(L.passes[i].spec);
    free(L.passes);
    cJSON_Delete(root);
    free(text);
    return oc_status_exit_code(st);
}
