/* pipeline.c: the pass table, option parsing and validation, and running a
 * pipeline: prune passes first, then quant passes, each in the order given.
 * The table is the only place a pass is described: parsing, validation and
 * `--help` all read it. */
#include "pass.h"
#include "passes_extra.h"
#include "prune.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the table ---- */

static const oc_pass_opt weight_opts[] = {
    {"bits", OC_OPT_INT, "8", 4, 8, NULL, "4 or 8: integer width of the stored weights"},
    {"signed", OC_OPT_BOOL, "1", 0, 1, NULL, "int8/int4 (1) or uint8/uint4 (0)"},
    {"symmetric", OC_OPT_ENUM, "auto", 0, 0, "auto|yes|no", "zero point 0, or a min/max range; auto: symmetric for MatMul/Gemm/Gather (ORT's fused kernels want it), asymmetric for Conv (never fused weight-only, and skewed 1x1 kernels lose less)"},
    {"per_channel", OC_OPT_BOOL, "1", 0, 1, NULL, "one scale per output channel (needs opset 13)"},
    {"block", OC_OPT_INT, "0", 0, 4096, NULL, "block size along the reduction axis (32, 64, 128; needs opset 21; 0 = none)"},
    {"method", OC_OPT_ENUM, "minmax", 0, 0, "minmax|mse|gptq", "scale from min/max, an error-minimising clipping search, or min/max scales with each layer's rounding chosen on --data samples to keep its outputs (GPTQ)"},
    {"gather", OC_OPT_BOOL, "0", 0, 1, NULL, "also quantize Gather embedding tables"},
    {"min_elems", OC_OPT_INT, "16", 0, 1e12, NULL, "leave weights with fewer elements in float"},
    {"keep_sensitive", OC_OPT_BOOL, "1", 0, 1, NULL, "keep layers feeding Pow/Sqrt/Log/Div (STFT, log-mel) in float"},
    {"samples", OC_OPT_INT, "256", 1, 1e9, NULL, "method=gptq: calibration samples (--limit overrides); a layer with fewer input patches than inputs is rounded to nearest"},
};
#define WEIGHT_METHOD 5 /* weight_opts' "method" */

static bool weight_wants_data(const oc_pass_vals *v)
{
    return v->v[WEIGHT_METHOD] == 2; /* gptq */
}

static const oc_pass_opt static_opts[] = {
    {"activations", OC_OPT_ENUM, "uint8", 0, 0, "uint8|int8", "activation type"},
    {"symmetric", OC_OPT_BOOL, "0", 0, 1, NULL, "symmetric activation ranges (zero point 0 / 128)"},
    {"method", OC_OPT_ENUM, "minmax", 0, 0, "minmax|percentile|entropy|mse", "calibration method"},
    {"percentile", OC_OPT_FLOAT, "99.999", 90, 100, NULL, "for method=percentile"},
    {"samples", OC_OPT_INT, "100", 1, 1e9, NULL, "calibration samples to use (--limit overrides)"},
    {"per_channel", OC_OPT_BOOL, "1", 0, 1, NULL, "int8 weights with one scale per output channel"},
    {"bias", OC_OPT_BOOL, "1", 0, 1, NULL, "Conv/Gemm biases as int32 at input x weight scale"},
    {"keep_norm", OC_OPT_BOOL, "1", 0, 1, NULL, "keep normalisation statistics (ReduceMean/Pow/Sqrt chains) in float"},
    {"keep_sensitive", OC_OPT_BOOL, "1", 0, 1, NULL, "keep tensors and layers feeding Pow/Sqrt/Log/Div in float"},
    {"fold", OC_OPT_BOOL, "1", 0, 1, NULL, "first fold BatchNormalization and constant Mul/Add/Sub/Div into the Conv before them, and hard-swish chains into one op"},
    {"bias_correction", OC_OPT_BOOL, "0", 0, 1, NULL, "shift Conv/Gemm biases, layer by layer, by the mean output shift of the quantized model (one run over up to 32 samples per layer)"},
    {"bits", OC_OPT_INT, "8", 8, 8, NULL, "activation and weight width (8: what ONNX Runtime fuses)"},
};

const oc_pass oc_passes[] = {
    {"prune", "magnitude", "unstructured: the smallest |w| of Conv/ConvTranspose/Gemm/MatMul weights set to exactly zero, per layer or one global threshold",
     oc_magnitude_opts, OC_MAGNITUDE_N_OPTS, false, oc_pass_prune_magnitude, oc_prune_magnitude_wants_data},
    {"prune", "wanda", "unstructured, data-aware: score |w| x the norm of its input activation over calibration samples (Wanda)",
     oc_wanda_opts, OC_WANDA_N_OPTS, true, oc_pass_prune_wanda, NULL},
    {"prune", "nm", "semi-structured N:M: keep N of every M consecutive input-channel weights (2:4, 4:8 sparse tensor cores)",
     oc_nm_opts, OC_NM_N_OPTS, false, oc_pass_prune_nm, oc_prune_nm_wants_data},
    {"prune", "channel", "structured: remove whole output channels and shrink every coupled tensor (BN, residual Adds, Concat, next layers)",
     oc_channel_opts, OC_CHANNEL_N_OPTS, false, oc_pass_prune_channel, oc_prune_channel_wants_data},
    {"quant", "weight", "weight-only: Conv/ConvTranspose/Gemm/MatMul weights stored as int8/int4 feeding DequantizeLinear",
     weight_opts, sizeof(weight_opts) / sizeof(weight_opts[0]), false, oc_pass_quant_weight, weight_wants_data},
    {"quant", "static", "static QDQ: int8 weights and calibrated uint8/int8 activations, placed for ONNX Runtime's QLinear fusions",
     static_opts, sizeof(static_opts) / sizeof(static_opts[0]), true, oc_pass_quant_static, NULL},
    {"quant", "dynamic", "dynamic int8 for MatMul/Gemm: int8 weights, activations quantized at run time (DynamicQuantizeLinear + MatMulInteger, no calibration)",
     oc_dynamic_opts, OC_DYNAMIC_N_OPTS, false, oc_pass_quant_dynamic, NULL},
    {"quant", "fp16", "float16 weights and compute (float32 inputs/outputs kept; Resize, shape arithmetic and, with --data, overflowing layers stay float32)",
     oc_fp16_opts, OC_FP16_N_OPTS, false, oc_pass_quant_fp16, NULL},
};
const size_t oc_passes_count = sizeof(oc_passes) / sizeof(oc_passes[0]);

/* ---- pipelines ---- */

typedef struct step {
    const oc_pass *pass;
    oc_pass_vals vals;
} step;

struct oc_pipeline {
    step *steps;
    size_t n, cap;
};

oc_pipeline_opts oc_pipeline_opts_default(void)
{
    oc_pipeline_opts o;
    memset(&o, 0, sizeof(o));
    o.data = oc_data_opts_default();
    return o;
}

oc_pipeline *oc_pipeline_new(void)
{
    return oc_calloc(1, sizeof(oc_pipeline));
}

void oc_pipeline_free(oc_pipeline *p)
{
    if (!p) return;
    oc_free(p->steps);
    oc_free(p);
}

size_t oc_pipeline_size(const oc_pipeline *p)
{
    return p->n;
}

static const oc_pass *find_pass(const char *stage, const char *name, size_t len)
{
    for (size_t i = 0; i < oc_passes_count; i++)
        if (!strcmp(oc_passes[i].stage, stage) && strlen(oc_passes[i].name) == len &&
            !strncmp(oc_passes[i].name, name, len))
            return &oc_passes[i];
    return NULL;
}

static void names_of(const char *stage, char *buf, size_t cap)
{
    size_t o = 0;
    buf[0] = 0;
    for (size_t i = 0; i < oc_passes_count; i++) {
        if (strcmp(oc_passes[i].stage, stage)) continue;
        int w = snprintf(buf + o, cap - o, "%s%s", o ? ", " : "", oc_passes[i].name);
        if (w < 0 || (size_t)w >= cap - o) break;
        o += (size_t)w;
    }
}

/* Parses one option value per its table row. */
static oc_status parse_value(oc_ctx *ctx, const oc_pass *ps, const oc_pass_opt *opt, const char *v, size_t vl,
                             double *out)
{
    char buf[128];
    /* cut short, a longer value could read as a valid one */
    if (vl >= sizeof(buf))
        return oc_fail(ctx, OC_ERR_USAGE, "%s: option '%s': a value of %zu bytes is too long", ps->name, opt->key, vl);
    memcpy(buf, v, vl);
    buf[vl] = 0;
    char *end;
    switch (opt->kind) {
    case OC_OPT_BOOL:
        if (!strcmp(buf, "1") || !strcmp(buf, "true") || !strcmp(buf, "yes")) *out = 1;
        else if (!strcmp(buf, "0") || !strcmp(buf, "false") || !strcmp(buf, "no")) *out = 0;
        else return oc_fail(ctx, OC_ERR_USAGE, "%s: option '%s' wants 0 or 1, got '%s'", ps->name, opt->key, buf);
        return OC_OK;
    case OC_OPT_INT:
    case OC_OPT_FLOAT: {
        errno = 0;
        double d = strtod(buf, &end);
        bool bad = errno || end == buf || *end || !isfinite(d);
        if (!bad && opt->kind == OC_OPT_INT && d != floor(d)) bad = true;
        if (bad || d < opt->min || d > opt->max)
            return oc_fail(ctx, OC_ERR_USAGE, "%s: option '%s' wants %s from %g to %g, got '%s'", ps->name, opt->key,
                           opt->kind == OC_OPT_INT ? "an integer" : "a number", opt->min, opt->max, buf);
        *out = d;
        return OC_OK;
    }
    case OC_OPT_ENUM: {
        const char *c = opt->choices;
        for (int idx = 0; c && *c; idx++) {
            const char *bar = strchr(c, '|');
            size_t cl = bar ? (size_t)(bar - c) : strlen(c);
            if (cl == strlen(buf) && !strncmp(c, buf, cl)) {
                *out = idx;
                return OC_OK;
            }
            c = bar ? bar + 1 : NULL;
        }
        return oc_fail(ctx, OC_ERR_USAGE, "%s: option '%s' wants one of %s, got '%s'", ps->name, opt->key,
                       opt->choices, buf);
    }
    }
    return OC_ERR_INTERNAL;
}

oc_status oc_pipeline_add(oc_ctx *ctx, oc_pipeline *p, const char *stage, const char *spec)
{
    const char *colon = strchr(spec, ':');
    size_t nl = colon ? (size_t)(colon - spec) : strlen(spec);
    const oc_pass *ps = find_pass(stage, spec, nl);
    if (!ps) {
        char names[512];
        names_of(stage, names, sizeof(names));
        return oc_fail(ctx, OC_ERR_USAGE, "--%s: no pass '%.*s' (%s passes: %s)", stage, (int)nl, spec, stage,
                       *names ? names : "none yet");
    }
    step st;
    memset(&st, 0, sizeof(st));
    st.pass = ps;
    for (size_t i = 0; i < ps->n_opts; i++)
        FORWARD_IF_ERROR(parse_value(ctx, ps, &ps->opts[i], ps->opts[i].def, strlen(ps->opts[i].def), &st.vals.v[i]));
    const char *c = colon ? colon + 1 : NULL;
    while (c && *c) {
        const char *comma = strchr(c, ',');
        size_t len = comma ? (size_t)(comma - c) : strlen(c);
        const char *eq = memchr(c, '=', len);
        if (!eq)
            return oc_fail(ctx, OC_ERR_USAGE, "%s: option '%.*s' needs a value (key=value)", ps->name, (int)len, c);
        size_t kl = (size_t)(eq - c);
        size_t oi = ps->n_opts;
        for (size_t i = 0; i < ps->n_opts; i++)
            if (strlen(ps->opts[i].key) == kl && !strncmp(ps->opts[i].key, c, kl)) oi = i;
        if (oi == ps->n_opts) {
            char keys[512];
            size_t o = 0;
            keys[0] = 0;
            for (size_t i = 0; i < ps->n_opts; i++) {
                int w = snprintf(keys + o, sizeof(keys) - o, "%s%s", i ? ", " : "", ps->opts[i].key);
                if (w > 0 && (size_t)w < sizeof(keys) - o) o += (size_t)w;
            }
            return oc_fail(ctx, OC_ERR_USAGE, "%s: no option '%.*s' (options: %s)", ps->name, (int)kl, c, keys);
        }
        FORWARD_IF_ERROR(parse_value(ctx, ps, &ps->opts[oi], eq + 1, len - kl - 1, &st.vals.v[oi]));
        st.vals.given[oi] = true;
        c = comma ? comma + 1 : NULL;
    }
    if (p->n == p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 4;
        step *ns = oc_realloc(p->steps, nc * sizeof(step));
        if (!ns) return oc_fail(ctx, OC_ERR_NOMEM, "out of memory");
        p->steps = ns;
        p->cap = nc;
    }
    p->steps[p->n++] = st;
    return OC_OK;
}

static size_t opt_index(const oc_pass *ps, const char *key);

oc_status oc_pipeline_set(oc_ctx *ctx, oc_pipeline *p, const char *stage, const char *pass, const char *key,
                          const char *value, const char *flag)
{
    size_t hits = 0;
    for (size_t i = 0; i < p->n; i++) {
        step *st = &p->steps[i];
        if (strcmp(st->pass->stage, stage) || strcmp(st->pass->name, pass)) continue;
        size_t oi = opt_index(st->pass, key);
        if (oi == st->pass->n_opts) return oc_fail(ctx, OC_ERR_INTERNAL, "%s: no option '%s'", pass, key);
        /* an explicit key=value in the pass spec wins over the flag only if they agree */
        double v;
        FORWARD_IF_ERROR(parse_value(ctx, st->pass, &st->pass->opts[oi], value, strlen(value), &v));
        if (st->vals.given[oi] && st->vals.v[oi] != v)
            return oc_fail(ctx, OC_ERR_USAGE, "%s %s disagrees with %s:%s=%g", flag, value, pass, key, st->vals.v[oi]);
        st->vals.v[oi] = v;
        st->vals.given[oi] = true;
        hits++;
    }
    if (!hits) return oc_fail(ctx, OC_ERR_USAGE, "%s applies to --%s %s, which is not given", flag, stage, pass);
    return OC_OK;
}

static bool step_needs_data(const step *s)
{
    return s->pass->needs_data || (s->pass->wants_data && s->pass->wants_data(&s->vals));
}

bool oc_pipeline_needs_data(const oc_pipeline *p, const char **which)
{
    for (size_t i = 0; i < p->n; i++)
        if (step_needs_data(&p->steps[i])) {
            if (which) *which = p->steps[i].pass->name;
            return true;
        }
    return false;
}

static void value_text(const oc_pass_opt *opt, double v, char *buf, size_t cap)
{
    if (opt->kind == OC_OPT_ENUM) {
        const char *c = opt->choices;
        for (int idx = 0; c; idx++) {
            const char *bar = strchr(c, '|');
            size_t cl = bar ? (size_t)(bar - c) : strlen(c);
            if (idx == (int)v) {
                snprintf(buf, cap, "%.*s", (int)cl, c);
                return;
            }
            c = bar ? bar + 1 : NULL;
        }
    }
    /* as many digits as it takes to read back the same number (%g keeps 6:
     * samples=1234567 would be recorded as 1.23457e+06) */
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) return;
    }
}

void oc_pipeline_text(const oc_pipeline *p, char *buf, size_t cap)
{
    size_t o = 0;
    buf[0] = 0;
    for (int pass = 0; pass < 2; pass++) {
        const char *stage = pass == 0 ? "prune" : "quant";
        for (size_t i = 0; i < p->n; i++) {
            const step *s = &p->steps[i];
            if (strcmp(s->pass->stage, stage)) continue;
            int w = snprintf(buf + o, cap - o, "%s--%s %s", o ? " " : "", stage, s->pass->name);
            if (w < 0 || (size_t)w >= cap - o) return;
            o += (size_t)w;
            for (size_t k = 0; k < s->pass->n_opts; k++) {
                char v[64];
                value_text(&s->pass->opts[k], s->vals.v[k], v, sizeof(v));
                w = snprintf(buf + o, cap - o, "%s%s=%s", k ? "," : ":", s->pass->opts[k].key, v);
                if (w < 0 || (size_t)w >= cap - o) return;
                o += (size_t)w;
            }
        }
    }
}

void oc_pipeline_describe(char *buf, size_t cap)
{
    size_t o = 0;
    buf[0] = 0;
    for (size_t i = 0; i < oc_passes_count; i++) {
        const oc_pass *ps = &oc_passes[i];
        int w = snprintf(buf + o, cap - o, "  --%s %s%s\n      %s\n", ps->stage, ps->name,
                         ps->needs_data ? "   (needs --data)" : ps->wants_data ? "   (needs --data with some options)" : "", ps->summary);
        if (w < 0 || (size_t)w >= cap - o) return;
        o += (size_t)w;
        for (size_t k = 0; k < ps->n_opts; k++) {
            const oc_pass_opt *op = &ps->opts[k];
            char range[96];
            if (op->kind == OC_OPT_ENUM) snprintf(range, sizeof(range), "%s", op->choices);
            else if (op->kind == OC_OPT_BOOL) snprintf(range, sizeof(range), "0|1");
            else snprintf(range, sizeof(range), "%g..%g", op->min, op->max);
            w = snprintf(buf + o, cap - o, "      %-12s %-18s default %-7s %s\n", op->key, range, op->def, op->help);
            if (w < 0 || (size_t)w >= cap - o) return;
            o += (size_t)w;
        }
    }
}

/* ---- helpers for passes ---- */

static size_t opt_index(const oc_pass *ps, const char *key)
{
    for (size_t i = 0; i < ps->n_opts; i++)
        if (!strcmp(ps->opts[i].key, key)) return i;
    return 0;
}

double oc_pass_val(const oc_pass_run *r, const char *key)
{
    return r->vals->v[opt_index(r->pass, key)];
}

bool oc_pass_given(const oc_pass_run *r, const char *key)
{
    return r->vals->given[opt_index(r->pass, key)];
}

void oc_pass_notice(oc_pass_run *r, const char *fmt, ...)
{
    oc_pipeline_report *rep = r->rep;
    size_t room = sizeof(rep->notices) - rep->notices_len;
    if (room < 2) return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(rep->notices + rep->notices_len, room - 1, fmt, ap);
    va_end(ap);
    if (w < 0) return;
    size_t n = (size_t)w < room - 1 ? (size_t)w : room - 2;
    rep->notices_len += n;
    rep->notices[rep->notices_len++] = '\n';
    rep->notices[rep->notices_len] = 0;
}

static bool in_list(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; s && i < n; i++)
        if (!strcmp(s, list[i])) return true;
    return false;
}

bool oc_pass_node_selected(const oc_pass_run *r, const oc_node *n)
{
    const oc_pipeline_opts *o = r->popts;
    if (!oc_domain_is_default(n->domain)) return false; /* custom-domain nodes pass through */
    if (in_list(n->op_type, o->exclude_ops, o->n_exclude_ops)) return false;
    if (in_list(n->name, o->exclude_nodes, o->n_exclude_nodes)) return false;
    if (o->n_only_nodes && !in_list(n->name, o->only_nodes, o->n_only_nodes)) return false;
    if (n == r->first_layer || n == r->last_layer) return false;
    return true;
}

/* The first and last Conv/ConvTranspose/Gemm/MatMul with a constant weight,
 * in the order the main graph runs. */
static oc_status find_first_last(oc_ctx *ctx, oc_model *m, const oc_node **first, const oc_node **last)
{
    oc_graph *g = m->graph;
    *first = *last = NULL;
    size_t *order = oc_malloc((g->n_nodes ? g->n_nodes : 1) * sizeof(size_t));
    if (!order) return oc_fail(ctx, OC_ERR_NOMEM, "out of memory");
    oc_status st = oc_graph_topo_order(ctx, g, order);
    for (size_t i = 0; i < g->n_nodes && st == OC_OK; i++) {
        oc_node *n = g->nodes[order[i]];
        bool weighted = !strcmp(n->op_type, "Conv") || !strcmp(n->op_type, "ConvTranspose") ||
                        !strcmp(n->op_type, "Gemm") || !strcmp(n->op_type, "MatMul");
        if (!weighted || n->n_inputs < 2 || !oc_graph_weight(g, n->inputs[1])) continue;
        if (!*first) *first = n;
        *last = n;
    }
    oc_free(order);
    return st;
}

oc_status oc_pipeline_run(oc_ctx *ctx, oc_pipeline *p, oc_model *m, const oc_pipeline_opts *o,
                          oc_pipeline_report *rep)
{
    oc_pipeline_opts defo = oc_pipeline_opts_default();
    oc_pipeline_report local;
    if (!o) o = &defo;
    if (!rep) rep = &local;
    memset(rep, 0, sizeof(*rep));
    const oc_node *first = NULL, *last = NULL;
    if (o->keep_first_last) FORWARD_IF_ERROR(find_first_last(ctx, m, &first, &last));
    const oc_pass_vals *pruned = NULL;
    for (int pass = 0; pass < 2; pass++) {
        const char *stage = pass == 0 ? "prune" : "quant";
        for (size_t i = 0; i < p->n; i++) {
            const step *s = &p->steps[i];
            if (strcmp(s->pass->stage, stage)) continue;
            if (step_needs_data(s) && !o->data_src)
                return oc_fail(ctx, OC_ERR_USAGE, "--%s %s needs samples: give --data SRC (a folder of .npy files, "
                               "ONNX test data, an IDX file or an image folder)", stage, s->pass->name);
            oc_pass_run r = {.ctx = ctx, .m = m, .pass = s->pass, .vals = &s->vals, .popts = o, .rep = rep,
                             .first_layer = first, .last_layer = last};
            FORWARD_IF_ERROR(s->pass->run(&r));
            if (pass == 0) pruned = &s->vals;
        }
        if (pass == 0 && pruned) {
            /* chained prune passes would each count the same layers: count once, as the model is now */
            oc_pass_run r = {.ctx = ctx, .m = m, .pass = NULL, .vals = pruned, .popts = o, .rep = rep,
                             .first_layer = first, .last_layer = last};
            FORWARD_IF_ERROR(oc_prune_recount(&r));
        }
    }
    return OC_OK;
}
