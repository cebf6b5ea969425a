/* fuzz_options.c: pass-option strings through oc_pipeline_add().
 *
 * The input is lines; each line is one pass: its first byte picks the stage
 * ('p': "prune", 'q': "quant", '!': the stage is the text up to the first
 * space, anything else: by its lowest bit) and the rest is the spec,
 * "NAME[:key=value,...]". Every add must succeed or fail with a message.
 *
 * A spec that is accepted must have meant what the pipeline's canonical text
 * (what a compressed model records in its metadata) says: every number
 * given reads back as the same number, every word given as the same word,
 * and a value too long for the parser to read whole is not accepted. Then
 * the whole text must parse back, pass by pass, into a pipeline with the
 * same text and the same need for samples. */
#include "harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINES 16

/* Adds every "--STAGE SPEC" of a pipeline text to p. */
static void add_text(oc_pipeline *p, char *text)
{
    char *s = text;
    while (s && *s) {
        FZ_CHECK(strncmp(s, "--", 2) == 0, "pipeline text '%s' at '%s'", text, s);
        char *stage = s + 2, *sp = strchr(stage, ' ');
        FZ_CHECK(sp != NULL, "pipeline text '%s': no space after the stage", text);
        *sp = 0;
        char *spec = sp + 1, *next = strstr(spec, " --");
        if (next) *next = 0;
        oc_ctx ctx;
        oc_ctx_init(&ctx);
        oc_status st = oc_pipeline_add(&ctx, p, stage, spec);
        FZ_CHECK(st == OC_OK, "the pipeline's own text does not parse back: --%s %s: %s", stage, spec, ctx.msg);
        s = next ? next + 1 : NULL;
    }
}

/* The whole of v is a finite number (as strtod reads it). */
static bool numeric(const char *v, size_t len, double *out)
{
    char buf[512];
    if (len == 0 || len >= sizeof(buf)) return false;
    memcpy(buf, v, len);
    buf[len] = 0;
    char *end;
    *out = strtod(buf, &end);
    return *end == 0 && isfinite(*out);
}

/* The value of `key` in a one-pass pipeline text "--STAGE NAME:k=v,k=v". */
static bool text_value(const char *text, const char *key, size_t kl, const char **v, size_t *vl)
{
    const char *c = strchr(text, ':');
    while (c) {
        c++;
        const char *comma = strchr(c, ',');
        const char *eq = strchr(c, '=');
        if (eq && (!comma || eq < comma) && (size_t)(eq - c) == kl && !strncmp(c, key, kl)) {
            *v = eq + 1;
            *vl = comma ? (size_t)(comma - eq - 1) : strlen(eq + 1);
            return true;
        }
        c = comma;
    }
    return false;
}

/* spec was accepted: its values must be what the canonical text records */
static void check_meaning(const char *stage, const char *spec)
{
    oc_ctx ctx;
    oc_ctx_init(&ctx);
    oc_pipeline *one = oc_pipeline_new();
    if (!one) abort();
    oc_status st = oc_pipeline_add(&ctx, one, stage, spec);
    FZ_CHECK(st == OC_OK, "accepted once, refused again: %s", ctx.msg);
    static char text[8192];
    oc_pipeline_text(one, text, sizeof(text));
    oc_pipeline_free(one);
    const char *c = strchr(spec, ':');
    while (c && *c) {
        c++;
        if (!*c) break; /* "NAME:" and "k=v," end with nothing: fine */
        const char *comma = strchr(c, ',');
        size_t len = comma ? (size_t)(comma - c) : strlen(c);
        const char *eq = memchr(c, '=', len);
        FZ_CHECK(eq != NULL, "accepted an option without a value");
        size_t kl = (size_t)(eq - c), vl = len - kl - 1;
        const char *v = eq + 1;
        /* a later "key=" overrides this one */
        bool later = false;
        for (const char *n = comma; n && !later; n = strchr(n + 1, ',')) {
            const char *e2 = strchr(n + 1, '=');
            const char *c2 = strchr(n + 1, ',');
            if (e2 && (!c2 || e2 < c2) && (size_t)(e2 - n - 1) == kl && !strncmp(n + 1, c, kl)) later = true;
        }
        double given, shown;
        bool is_num = numeric(v, vl, &given);
        FZ_CHECK(vl < 128 || is_num, "accepted a value of %zu bytes that is no number: '%.40s...'", vl, v);
        const char *tv;
        size_t tl;
        if (!later && text_value(text, c, kl, &tv, &tl)) {
            if (is_num) {
                FZ_CHECK(numeric(tv, tl, &shown) && shown == given,
                         "option '%.*s=%.*s' is recorded as '%.*s' in '%s'", (int)kl, c, (int)vl, v, (int)tl, tv, text);
            } else if (!numeric(tv, tl, &shown)) {
                FZ_CHECK(tl == vl && !strncmp(tv, v, vl), "option '%.*s=%.*s' is recorded as '%.*s'", (int)kl, c,
                         (int)vl, v, (int)tl, tv);
            }
        }
        c = comma;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (!buf) abort();
    memcpy(buf, data, size);
    buf[size] = 0;
    oc_pipeline *p = oc_pipeline_new(), *q = oc_pipeline_new();
    if (!p || !q) abort();
    size_t added = 0;
    char *line = buf;
    for (int k = 0; k < MAX_LINES && line; k++) {
        char *nl = memchr(line, '\n', size - (size_t)(line - buf));
        if (nl) *nl = 0;
        if (*line) {
            const char *stage, *spec = line + 1;
            if (line[0] == 'p') stage = "prune";
            else if (line[0] == 'q') stage = "quant";
            else if (line[0] == '!') {
                char *sp = strchr(line + 1, ' ');
                stage = line + 1;
                spec = "";
                if (sp) {
                    *sp = 0;
                    spec = sp + 1;
                }
            } else stage = (line[0] & 1) ? "quant" : "prune";
            oc_ctx ctx;
            oc_ctx_init(&ctx);
            oc_status st = oc_pipeline_add(&ctx, p, stage, spec);
            if (st == OC_OK) {
                added++;
                check_meaning(stage, spec);
            } else {
                fz_check_error(&ctx, st);
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    FZ_CHECK(oc_pipeline_size(p) == added, "%zu passes after %zu successful adds", oc_pipeline_size(p), added);

    static char t1[1 << 16], t2[1 << 16];
    oc_pipeline_text(p, t1, sizeof(t1));
    FZ_CHECK(added == 0 || t1[0], "no text for %zu passes", added);
    char *copy = strdup(t1);
    if (!copy) abort();
    add_text(q, copy);
    free(copy);
    oc_pipeline_text(q, t2, sizeof(t2));
    FZ_CHECK(strcmp(t1, t2) == 0, "the pipeline text changes when parsed back: '%s' -> '%s'", t1, t2);
    FZ_CHECK(oc_pipeline_size(q) == added, "%zu passes parsed back from %zu", oc_pipeline_size(q), added);
    const char *w1 = NULL, *w2 = NULL;
    bool n1 = oc_pipeline_needs_data(p, &w1), n2 = oc_pipeline_needs_data(q, &w2);
    /* which pass is named may differ: it is the first needing samples in the order given */
    FZ_CHECK(n1 == n2 && (!n1 || (w1 && w2)), "need for samples changes when parsed back");
    oc_pipeline_free(p);
    oc_pipeline_free(q);
    free(buf);
    return 0;
}
