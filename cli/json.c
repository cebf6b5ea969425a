/* json.c: a streaming JSON writer for --json output: correct escaping and
 * commas, nothing more. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>

void json_begin(json *j, FILE *f)
{
    j->f = f;
    j->depth = 0;
    j->first[0] = true;
    j->after_key = false;
}

static void sep(json *j)
{
    if (j->after_key) {
        j->after_key = false;
        return;
    }
    if (!j->first[j->depth]) fputc(',', j->f);
    j->first[j->depth] = false;
}

static void open_(json *j, char c)
{
    sep(j);
    fputc(c, j->f);
    if (j->depth < 63) j->depth++;
    j->first[j->depth] = true;
}

static void close_(json *j, char c)
{
    if (j->depth > 0) j->depth--;
    fputc(c, j->f);
    if (j->depth == 0) fputc('\n', j->f);
}

void json_obj(json *j) { open_(j, '{'); }
void json_obj_end(json *j) { close_(j, '}'); }
void json_arr(json *j) { open_(j, '['); }
void json_arr_end(json *j) { close_(j, ']'); }

static void raw_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p < 0x20) fprintf(f, "\\u%04x", *p);
            else fputc(*p, f);
        }
    }
    fputc('"', f);
}

void json_key(json *j, const char *k)
{
    sep(j);
    raw_str(j->f, k);
    fputc(':', j->f);
    j->after_key = true;
}

void json_str(json *j, const char *s)
{
    sep(j);
    if (s) raw_str(j->f, s);
    else fputs("null", j->f);
}

void json_int(json *j, long long v)
{
    sep(j);
    fprintf(j->f, "%lld", v);
}

/* In the fewest digits (at least 6) that read back as the same double, so a
 * gate of 0.9999999 is not written as 1; null when not finite. */
void json_num(json *j, double v)
{
    sep(j);
    if (!isfinite(v)) {
        fputs("null", j->f);
        return;
    }
    char buf[40];
    for (int p = 6; p <= 17; p++) {
        snprintf(buf, sizeof(buf), "%.*g", p, v);
        if (strtod(buf, NULL) == v) break;
    }
    fputs(buf, j->f);
}

void json_bool(json *j, bool v)
{
    sep(j);
    fputs(v ? "true" : "false", j->f);
}

void json_null(json *j)
{
    sep(j);
    fputs("null", j->f);
}
