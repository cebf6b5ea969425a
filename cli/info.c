/* info.c: `onnxcomp info MODEL...`: what a model is made of, as text or
 * --json. Fails per model (the others are still described) and exits with
 * the code of the first failure. */
#include "cli.h"
#include "dataopts.h"

#include <stdlib.h>
#include <string.h>

static const char info_help[] =
    "usage: onnxcomp info [--json] [--layers] [--no-run] [--dim NAME=V] MODEL...\n"
    "\n"
    "Prints each model's IR version, producer, opsets, inputs and outputs with\n"
    "types and shapes, an op histogram (subgraphs included), parameter counts\n"
    "and bytes per element type, the share of exact zeros in weights, and for\n"
    "the weighted layers (Conv, ConvTranspose, Gemm, MatMul with a constant\n"
    "weight, quantized or not) their parameters, sparsity and multiply-\n"
    "accumulates. MACs come from one run of the model on zero inputs with\n"
    "symbolic dims set to 1; FLOPs = 2 x MACs. Quantized weights count as zero\n"
    "where they equal their zero point.\n"
    "\n"
    "options:\n"
    "  --json      one JSON object per model, one per line (with every layer)\n"
    "  --layers    a line per weighted layer: op, weight shape, parameters,\n"
    "              sparsity, MACs\n"
    "  --no-run    skip the run that counts MACs (large models, unknown ops)\n"
    "  --dim NAME=V  pin a symbolic input dim for the MACs run (repeatable;\n"
    "              unpinned symbolic dims are 1)\n"
    "  -h, --help  this text\n";

typedef struct op_count {
    char *key;
    long long n;
} op_count;

typedef struct stats {
    op_count *ops;
    size_t n_ops, cap_ops;
    long long nodes, sub_nodes;
    long long params[OC_DTYPE_COUNT], bytes[OC_DTYPE_COUNT];
    long long weights, weight_elems, zero_elems, numeric_elems;
    bool oom;
    /* weighted layers */
    oc_layer_stats *layers;
    size_t n_layers;
    long long layer_params, layer_zeros, macs; /* macs -1: unknown */
    char why[256];
} stats;

static void layer_totals(stats *s)
{
    s->macs = 0;
    for (size_t i = 0; i < s->n_layers; i++) {
        const oc_layer_stats *l = &s->layers[i];
        s->layer_params += l->params;
        s->layer_zeros += l->zeros;
        if (l->macs < 0 || s->macs < 0) s->macs = -1;
        else s->macs += l->macs;
    }
}

static void shape_text(char *buf, size_t cap, int nd, const int64_t *d)
{
    size_t o = 0;
    buf[0] = 0;
    for (int i = 0; i < nd && o < cap; i++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%lld", i ? "x" : "", (long long)d[i]);
}

static void count_node(void *ud, oc_graph *g, oc_node *n)
{
    stats *s = ud;
    s->nodes++;
    if (!g || g->parent) s->sub_nodes++;
    char key[512];
    if (n->domain && *n->domain && strcmp(n->domain, "ai.onnx") != 0)
        snprintf(key, sizeof(key), "%s::%s", n->domain, n->op_type);
    else
        snprintf(key, sizeof(key), "%s", n->op_type);
    for (size_t i = 0; i < s->n_ops; i++)
        if (!strcmp(s->ops[i].key, key)) {
            s->ops[i].n++;
            return;
        }
    if (s->n_ops == s->cap_ops) {
        size_t nc = s->cap_ops ? s->cap_ops * 2 : 32;
        op_count *no = realloc(s->ops, nc * sizeof(*no));
        if (!no) {
            s->oom = true;
            return;
        }
        s->ops = no;
        s->cap_ops = nc;
    }
    s->ops[s->n_ops].key = strdup(key);
    if (!s->ops[s->n_ops].key) {
        s->oom = true;
        return;
    }
    s->ops[s->n_ops++].n = 1;
}

static void count_weight(void *ud, oc_graph *g, oc_node *c, oc_tensor *t)
{
    (void)g;
    (void)c;
    stats *s = ud;
    s->weights++;
    s->weight_elems += t->numel;
    if (t->dtype > 0 && t->dtype < OC_DTYPE_COUNT) {
        s->params[t->dtype] += t->numel;
        s->bytes[t->dtype] += t->dtype == OC_DTYPE_STRING ? 0 : (long long)t->nbytes;
    }
    if (t->dtype != OC_DTYPE_STRING && t->data) {
        s->numeric_elems += t->numel;
        s->zero_elems += oc_tensor_count_zeros(t);
    }
}

static int cmp_ops(const void *a, const void *b)
{
    const op_count *x = a, *y = b;
    if (x->n != y->n) return x->n < y->n ? 1 : -1;
    return strcmp(x->key, y->key);
}

static void dims_text(FILE *f, const oc_value *v)
{
    if (!v->has_type) {
        fputs("?", f);
        return;
    }
    if (v->type.kind != OC_TYPE_TENSOR && v->type.kind != OC_TYPE_SPARSE_TENSOR) {
        fputs(v->type.kind == OC_TYPE_SEQUENCE ? "sequence" : v->type.kind == OC_TYPE_MAP ? "map"
              : v->type.kind == OC_TYPE_OPTIONAL ? "optional" : "?", f);
        return;
    }
    fputs(oc_dtype_name(v->type.elem_type), f);
    if (!v->type.has_shape) {
        fputs("[?]", f);
        return;
    }
    fputc('[', f);
    for (int i = 0; i < v->type.ndim; i++) {
        const oc_dim *d = &v->type.dims[i];
        if (i) fputc(',', f);
        if (d->kind == OC_DIM_VALUE) fprintf(f, "%lld", (long long)d->value);
        else if (d->kind == OC_DIM_PARAM) fputs(d->param, f);
        else fputc('?', f);
    }
    fputc(']', f);
}

static void values_json(json *j, oc_value **v, size_t n, oc_graph *g, bool skip_inits)
{
    json_arr(j);
    for (size_t i = 0; i < n; i++) {
        if (skip_inits && oc_graph_initializer(g, v[i]->name)) continue;
        json_obj(j);
        json_key(j, "name");
        json_str(j, v[i]->name);
        json_key(j, "type");
        if (v[i]->has_type && (v[i]->type.kind == OC_TYPE_TENSOR || v[i]->type.kind == OC_TYPE_SPARSE_TENSOR))
            json_str(j, oc_dtype_name(v[i]->type.elem_type));
        else
            json_null(j);
        json_key(j, "shape");
        if (v[i]->has_type && v[i]->type.has_shape) {
            json_arr(j);
            for (int k = 0; k < v[i]->type.ndim; k++) {
                const oc_dim *d = &v[i]->type.dims[k];
                if (d->kind == OC_DIM_VALUE) json_int(j, d->value);
                else if (d->kind == OC_DIM_PARAM) json_str(j, d->param);
                else json_null(j);
            }
            json_arr_end(j);
        } else {
            json_null(j);
        }
        json_obj_end(j);
    }
    json_arr_end(j);
}

static void print_json(const char *path, oc_model *m, stats *s)
{
    json j;
    json_begin(&j, stdout);
    json_obj(&j);
    json_key(&j, "file");
    json_str(&j, path);
    json_key(&j, "file_bytes");
    json_int(&j, (long long)m->file_size);
    json_key(&j, "ir_version");
    json_int(&j, m->ir_version);
    json_key(&j, "producer_name");
    json_str(&j, m->producer_name ? m->producer_name : "");
    json_key(&j, "producer_version");
    json_str(&j, m->producer_version ? m->producer_version : "");
    json_key(&j, "opsets");
    json_obj(&j);
    for (size_t i = 0; i < m->n_opsets; i++) {
        const char *d = m->opsets[i].domain;
        json_key(&j, d && *d ? d : "ai.onnx");
        json_int(&j, m->opsets[i].version);
    }
    json_obj_end(&j);
    json_key(&j, "inputs");
    values_json(&j, m->graph->inputs, m->graph->n_inputs, m->graph, true);
    json_key(&j, "outputs");
    values_json(&j, m->graph->outputs, m->graph->n_outputs, m->graph, false);
    json_key(&j, "nodes");
    json_int(&j, s->nodes);
    json_key(&j, "subgraph_nodes");
    json_int(&j, s->sub_nodes);
    json_key(&j, "ops");
    json_obj(&j);
    for (size_t i = 0; i < s->n_ops; i++) {
        json_key(&j, s->ops[i].key);
        json_int(&j, s->ops[i].n);
    }
    json_obj_end(&j);
    json_key(&j, "weights");
    json_int(&j, s->weights);
    json_key(&j, "parameters");
    json_int(&j, s->weight_elems);
    json_key(&j, "parameters_by_type");
    json_obj(&j);
    for (int t = 1; t < OC_DTYPE_COUNT; t++) {
        if (!s->params[t] && !s->bytes[t]) continue;
        json_key(&j, oc_dtype_name(t));
        json_obj(&j);
        json_key(&j, "count");
        json_int(&j, s->params[t]);
        json_key(&j, "bytes");
        json_int(&j, s->bytes[t]);
        json_obj_end(&j);
    }
    json_obj_end(&j);
    json_key(&j, "zero_fraction");
    json_num(&j, s->numeric_elems ? (double)s->zero_elems / (double)s->numeric_elems : 0.0);
    json_key(&j, "layer_parameters");
    json_int(&j, s->layer_params);
    json_key(&j, "layer_sparsity");
    json_num(&j, s->layer_params ? (double)s->layer_zeros / (double)s->layer_params : 0.0);
    json_key(&j, "macs");
    if (s->macs >= 0) json_int(&j, s->macs);
    else json_null(&j);
    if (s->why[0]) {
        json_key(&j, "macs_unknown_because");
        json_str(&j, s->why);
    }
    json_key(&j, "layers");
    json_arr(&j);
    for (size_t i = 0; i < s->n_layers; i++) {
        const oc_layer_stats *l = &s->layers[i];
        json_obj(&j);
        json_key(&j, "name");
        json_str(&j, l->name);
        json_key(&j, "op");
        json_str(&j, l->op_type);
        json_key(&j, "weight");
        json_str(&j, l->weight);
        json_key(&j, "shape");
        json_arr(&j);
        for (int d = 0; d < l->w_ndim; d++) json_int(&j, l->w_dims[d]);
        json_arr_end(&j);
        json_key(&j, "parameters");
        json_int(&j, l->params);
        json_key(&j, "zeros");
        json_int(&j, l->zeros);
        json_key(&j, "quantized");
        json_bool(&j, l->quantized);
        json_key(&j, "macs");
        if (l->macs >= 0) json_int(&j, l->macs);
        else json_null(&j);
        json_obj_end(&j);
    }
    json_arr_end(&j);
    json_key(&j, "functions");
    json_int(&j, (long long)m->n_functions);
    json_key(&j, "metadata");
    json_obj(&j);
    for (size_t i = 0; i < m->n_metadata; i++) {
        json_key(&j, m->metadata[i].key ? m->metadata[i].key : "");
        json_str(&j, m->metadata[i].value ? m->metadata[i].value : "");
    }
    json_obj_end(&j);
    json_obj_end(&j);
}

static void human_bytes(char *buf, size_t n, double b)
{
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int i = 0;
    while (b >= 1024 && i < 4) {
        b /= 1024;
        i++;
    }
    snprintf(buf, n, i ? "%.2f %s" : "%.0f %s", b, u[i]);
}

static void print_text(const char *path, oc_model *m, stats *s, bool layers)
{
    char hb[32];
    human_bytes(hb, sizeof(hb), (double)m->file_size);
    printf("%s (%s)\n", path, hb);
    printf("  ir_version:  %lld\n", (long long)m->ir_version);
    printf("  producer:    %s %s\n", m->producer_name ? m->producer_name : "",
           m->producer_version ? m->producer_version : "");
    printf("  opsets:     ");
    for (size_t i = 0; i < m->n_opsets; i++) {
        const char *d = m->opsets[i].domain;
        printf(" %s:%lld", d && *d ? d : "ai.onnx", (long long)m->opsets[i].version);
    }
    printf("\n  inputs:\n");
    for (size_t i = 0; i < m->graph->n_inputs; i++) {
        oc_value *v = m->graph->inputs[i];
        if (oc_graph_initializer(m->graph, v->name)) continue;
        printf("    %s: ", v->name);
        dims_text(stdout, v);
        putchar('\n');
    }
    printf("  outputs:\n");
    for (size_t i = 0; i < m->graph->n_outputs; i++) {
        printf("    %s: ", m->graph->outputs[i]->name);
        dims_text(stdout, m->graph->outputs[i]);
        putchar('\n');
    }
    printf("  nodes:       %lld (%lld in subgraphs or functions)\n", s->nodes, s->sub_nodes);
    printf("  ops:        ");
    for (size_t i = 0; i < s->n_ops; i++) printf(" %s=%lld", s->ops[i].key, s->ops[i].n);
    putchar('\n');
    printf("  parameters:  %lld in %lld weights\n", s->weight_elems, s->weights);
    for (int t = 1; t < OC_DTYPE_COUNT; t++) {
        if (!s->params[t] && !s->bytes[t]) continue;
        human_bytes(hb, sizeof(hb), (double)s->bytes[t]);
        printf("    %-6s %lld (%s)\n", oc_dtype_name(t), s->params[t], hb);
    }
    printf("  zeros:       %.2f%% of weight elements\n",
           s->numeric_elems ? 100.0 * (double)s->zero_elems / (double)s->numeric_elems : 0.0);
    if (s->n_layers) {
        printf("  layers:      %zu weighted, %lld parameters, %.2f%% zero\n", s->n_layers, s->layer_params,
               s->layer_params ? 100.0 * (double)s->layer_zeros / (double)s->layer_params : 0.0);
        if (s->macs >= 0)
            printf("  compute:     %lld MACs (%.4g GFLOPs) per run (unpinned symbolic dims = 1)\n", s->macs,
                   2e-9 * (double)s->macs);
        else if (s->why[0])
            printf("  compute:     unknown (%s)\n", s->why);
    }
    if (layers && s->n_layers) {
        printf("  %-32s %-13s %-16s %12s %8s %14s\n", "layer", "op", "weight", "params", "zero", "MACs");
        for (size_t i = 0; i < s->n_layers; i++) {
            const oc_layer_stats *l = &s->layers[i];
            char sh[64], mc[32];
            shape_text(sh, sizeof(sh), l->w_ndim, l->w_dims);
            if (l->macs >= 0) snprintf(mc, sizeof(mc), "%lld", (long long)l->macs);
            else snprintf(mc, sizeof(mc), "?");
            printf("  %-32.32s %-13s %-16s %12lld %7.2f%% %14s%s\n", l->name[0] ? l->name : l->weight, l->op_type,
                   sh, (long long)l->params, l->params ? 100.0 * (double)l->zeros / (double)l->params : 0.0, mc,
                   l->quantized ? "  int" : "");
        }
    }
    if (m->n_functions) printf("  functions:   %zu\n", m->n_functions);
    for (size_t i = 0; i < m->n_metadata; i++)
        printf("  meta %s = %s\n", m->metadata[i].key ? m->metadata[i].key : "",
               m->metadata[i].value ? m->metadata[i].value : "");
}

int cmd_info(int argc, char **argv)
{
    bool as_json = false, layers = false, run = true;
    int first_fail = 0, n_models = 0;
    data_args da;
    data_args_init(&da);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) as_json = true;
        else if (!strcmp(argv[i], "--layers")) layers = true;
        else if (!strcmp(argv[i], "--no-run")) run = false;
        else if (!strcmp(argv[i], "--dim")) {
            if (i + 1 >= argc || !strchr(argv[i + 1], '=') || da.n_pins >= 32) {
                cli_error("info: --dim wants NAME=VALUE (at most 32)");
                return 1;
            }
            da.pins[da.n_pins++] = argv[++i];
        }
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(info_help, stdout);
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            cli_error("info: unknown option '%s' (try 'onnxcomp info --help')", argv[i]);
            return 1;
        }
    }
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dim")) {
            i++;
            continue;
        }
        if (argv[i][0] == '-' && argv[i][1]) continue;
        n_models++;
        oc_ctx ctx;
        oc_ctx_init(&ctx);
        oc_model *m = NULL;
        oc_status st = oc_model_load_file(&ctx, argv[i], NULL, &m);
        if (st != OC_OK) {
            cli_error("%s", ctx.msg);
            if (!first_fail) first_fail = oc_status_exit_code(st);
            continue;
        }
        if (data_args_pin(&da, m, argv[i])) {
            if (!first_fail) first_fail = 1;
            oc_model_free(m);
            continue;
        }
        stats s;
        memset(&s, 0, sizeof(s));
        oc_model_foreach_node(m, count_node, &s);
        oc_model_foreach_weight(m, count_weight, &s);
        if (!s.oom) {
            oc_ctx lctx;
            oc_ctx_init(&lctx);
            if (oc_model_layer_stats(&lctx, m, run, &s.layers, &s.n_layers, s.why, sizeof(s.why)) != OC_OK)
                s.oom = true;
            else
                layer_totals(&s);
        }
        if (s.oom) {
            cli_error("%s: out of memory", argv[i]);
            if (!first_fail) first_fail = oc_status_exit_code(OC_ERR_NOMEM);
        } else {
            qsort(s.ops, s.n_ops, sizeof(op_count), cmp_ops);
            if (as_json) print_json(argv[i], m, &s);
            else print_text(argv[i], m, &s, layers);
        }
        for (size_t k = 0; k < s.n_ops; k++) free(s.ops[k].key);
        free(s.ops);
        oc_layer_stats_free(s.layers);
        oc_model_free(m);
    }
    if (!n_models) {
        cli_error("info: no model given");
        return 1;
    }
    return first_fail;
}
