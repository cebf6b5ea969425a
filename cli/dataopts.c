/* dataopts.c: parsing of the options that describe sample data. */
#include "dataopts.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const char data_args_help[] =
    "data options:\n"
    "  --data SRC            samples: a folder of .npy files (one per input, or\n"
    "                        sub-folders per sample), ONNX test_data_set_* folders,\n"
    "                        an IDX file (MNIST style, labels beside it), or a\n"
    "                        folder of PNG/JPEG images (sub-folders = classes)\n"
    "  --limit N             use at most N samples\n"
    "  --split calib|eval    use the calibration or the evaluation part of a\n"
    "                        deterministic split (--split-frac F, default 0.5;\n"
    "                        --seed S)\n"
    "  --resize WxH          images: size (default: the model input's H and W)\n"
    "  --layout nchw|nhwc    images: layout (default: from the model input)\n"
    "  --bgr                 images: BGR channel order\n"
    "  --scale F             images/IDX: pixel (0..255) times F (default 1/255)\n"
    "  --mean A,B,C --std A,B,C   then (x - mean) / std per channel\n"
    "  --dim NAME=V          pin a symbolic input dim (repeatable)\n"
    "  --threads N           threads for matrix work (default: all cores)\n";

void data_args_init(data_args *a)
{
    memset(a, 0, sizeof(*a));
    a->o = oc_data_opts_default();
}

static int bad(const char *opt, const char *v, const char *want)
{
    cli_error("%s: bad value '%s' (%s)", opt, v ? v : "", want);
    return -1;
}

static bool parse_f3(const char *s, float *out)
{
    char *end;
    for (int i = 0; i < 3; i++) {
        errno = 0;
        out[i] = strtof(s, &end);
        if (errno || end == s) return false;
        if (i < 2) {
            if (*end == 0) { /* one value: use it for all channels */
                out[1] = out[2] = out[0];
                return i == 0;
            }
            if (*end != ',') return false;
            s = end + 1;
        }
    }
    return *end == 0;
}

static bool parse_ull(const char *s, unsigned long long *v)
{
    char *end;
    errno = 0;
    if (!*s || *s == '-') return false;
    *v = strtoull(s, &end, 10);
    return !errno && !*end;
}

int data_args_parse(data_args *a, int argc, char **argv, int *i)
{
    const char *opt = argv[*i];
    static const char *const with_value[] = {"--data", "--limit", "--split", "--split-frac", "--seed",
                                             "--resize", "--layout", "--scale", "--mean", "--std",
                                             "--dim", "--threads", NULL};
    bool known = !strcmp(opt, "--bgr");
    for (int k = 0; with_value[k] && !known; k++) known = !strcmp(opt, with_value[k]);
    if (!known) return 0;
    if (!strcmp(opt, "--bgr")) {
        a->o.bgr = true;
        return 1;
    }
    if (*i + 1 >= argc) {
        cli_error("%s needs a value", opt);
        return -1;
    }
    const char *v = argv[++*i];
    unsigned long long u;
    if (!strcmp(opt, "--data")) {
        a->src = v;
    } else if (!strcmp(opt, "--limit")) {
        if (!parse_ull(v, &u)) return bad(opt, v, "a count");
        a->o.limit = (size_t)u;
    } else if (!strcmp(opt, "--split")) {
        if (!strcmp(v, "calib")) a->o.split = 1;
        else if (!strcmp(v, "eval")) a->o.split = 2;
        else if (!strcmp(v, "all")) a->o.split = 0;
        else return bad(opt, v, "calib, eval or all");
    } else if (!strcmp(opt, "--split-frac")) {
        char *end;
        double f = strtod(v, &end);
        if (*end || !(f > 0 && f < 1)) return bad(opt, v, "a fraction between 0 and 1");
        a->o.split_frac = f;
    } else if (!strcmp(opt, "--seed")) {
        if (!parse_ull(v, &u)) return bad(opt, v, "a number");
        a->o.seed = u;
    } else if (!strcmp(opt, "--resize")) {
        unsigned w, h;
        char x;
        if (sscanf(v, "%u%c%u", &w, &x, &h) != 3 || (x != 'x' && x != 'X') || !w || !h || w > 16384 || h > 16384)
            return bad(opt, v, "WxH, e.g. 224x224");
        a->o.resize_w = (int)w;
        a->o.resize_h = (int)h;
    } else if (!strcmp(opt, "--layout")) {
        if (!strcmp(v, "nchw")) a->o.layout = 1;
        else if (!strcmp(v, "nhwc")) a->o.layout = 2;
        else return bad(opt, v, "nchw or nhwc");
    } else if (!strcmp(opt, "--scale")) {
        char *end;
        a->o.scale = strtof(v, &end);
        if (*end || end == v) return bad(opt, v, "a number");
    } else if (!strcmp(opt, "--mean")) {
        if (!parse_f3(v, a->o.mean)) return bad(opt, v, "one or three numbers: A or A,B,C");
    } else if (!strcmp(opt, "--std")) {
        if (!parse_f3(v, a->o.std)) return bad(opt, v, "one or three numbers: A or A,B,C");
        if (a->o.std[0] == 0 || a->o.std[1] == 0 || a->o.std[2] == 0) return bad(opt, v, "non-zero");
    } else if (!strcmp(opt, "--dim")) {
        const char *eq = strchr(v, '=');
        if (!eq || eq == v || !parse_ull(eq + 1, &u) || u == 0) return bad(opt, v, "NAME=VALUE with VALUE > 0");
        if (a->n_pins >= 32) return bad(opt, v, "at most 32 --dim options");
        a->pins[a->n_pins++] = v;
    } else if (!strcmp(opt, "--threads")) {
        if (!parse_ull(v, &u) || u == 0 || u > 256) return bad(opt, v, "1 to 256");
        a->threads = (int)u;
    }
    return 1;
}

int data_args_pin_msg(const data_args *a, oc_model *m, const char *model_path, char *err, size_t err_cap)
{
    for (int p = 0; p < a->n_pins; p++) {
        const char *eq = strchr(a->pins[p], '=');
        size_t nl = (size_t)(eq - a->pins[p]);
        long long val = atoll(eq + 1);
        bool used = false;
        for (size_t i = 0; i < m->graph->n_inputs; i++) {
            oc_value *v = m->graph->inputs[i];
            for (int d = 0; v->has_type && v->type.has_shape && d < v->type.ndim; d++) {
                oc_dim *dim = &v->type.dims[d];
                if (dim->kind == OC_DIM_PARAM && strlen(dim->param) == nl && !strncmp(dim->param, a->pins[p], nl)) {
                    dim->kind = OC_DIM_VALUE;
                    dim->value = val;
                    v->dirty = true;
                    used = true;
                }
            }
        }
        if (!used) {
            snprintf(err, err_cap, "%s: --dim %s: no input has a symbolic dim of that name", model_path, a->pins[p]);
            return 1;
        }
    }
    return 0;
}

int data_args_pin(const data_args *a, oc_model *m, const char *model_path)
{
    char err[1200];
    if (!data_args_pin_msg(a, m, model_path, err, sizeof(err))) return 0;
    cli_error("%s", err);
    return 1;
}

/* Appends " --opt value" to buf at *o, quietly stopping when full. */
static void add_text(char *buf, size_t cap, size_t *o, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void add_text(char *buf, size_t cap, size_t *o, const char *fmt, ...)
{
    if (*o >= cap) return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf + *o, cap - *o, fmt, ap);
    va_end(ap);
    if (w > 0) *o = (size_t)w >= cap - *o ? cap : *o + (size_t)w;
}

void data_args_text(const data_args *a, char *buf, size_t cap)
{
    oc_data_opts d = oc_data_opts_default();
    const oc_data_opts *x = &a->o;
    size_t o = 0;
    buf[0] = 0;
    if (a->src) {
        if (x->limit) add_text(buf, cap, &o, " --limit %zu", x->limit);
        if (x->split) add_text(buf, cap, &o, " --split %s", x->split == 1 ? "calib" : "eval");
        if (x->split && x->split_frac != d.split_frac) add_text(buf, cap, &o, " --split-frac %g", x->split_frac);
        if (x->split && x->seed != d.seed) add_text(buf, cap, &o, " --seed %llu", (unsigned long long)x->seed);
        if (x->resize_w) add_text(buf, cap, &o, " --resize %dx%d", x->resize_w, x->resize_h);
        if (x->layout) add_text(buf, cap, &o, " --layout %s", x->layout == 1 ? "nchw" : "nhwc");
        if (x->bgr) add_text(buf, cap, &o, " --bgr");
        if (x->scale != d.scale) add_text(buf, cap, &o, " --scale %g", (double)x->scale);
        if (memcmp(x->mean, d.mean, sizeof(d.mean)))
            add_text(buf, cap, &o, " --mean %g,%g,%g", (double)x->mean[0], (double)x->mean[1], (double)x->mean[2]);
        if (memcmp(x->std, d.std, sizeof(d.std)))
            add_text(buf, cap, &o, " --std %g,%g,%g", (double)x->std[0], (double)x->std[1], (double)x->std[2]);
    }
    for (int p = 0; p < a->n_pins; p++) add_text(buf, cap, &o, " --dim %s", a->pins[p]);
    if (o >= cap && cap) buf[cap - 1] = 0;
}
