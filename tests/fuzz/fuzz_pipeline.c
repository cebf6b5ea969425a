/* fuzz_pipeline.c: model bytes -> load -> the default pipeline -> write ->
 * the output loads.
 *
 * The pipeline is the one the README leads with: `--prune magnitude:
 * sparsity=0.5` then `--quant static`, calibrated on two generated samples
 * (.npy files matching the model's inputs, written with oc_npy_write into a
 * folder per sample). Models with an input that is not float get
 * `--quant weight` instead, which needs no samples.
 *
 * The interpreter runs every calibration sample, so models whose run could
 * be large are skipped before anything runs: more than MAX_NODES nodes
 * (subgraphs included), Loop or Scan (their trip counts come from the data),
 * more than MAX_INPUTS inputs, an input of more than MAX_INPUT_ELEMS
 * elements (symbolic dims count 1), and for now a node without outputs or
 * inputs (see gate_node). Tensors computed inside still depend on the model (Expand,
 * Tile, ConstantOfShape): ASan is told to refuse single allocations over
 * 64 MB, which the library must report as out of memory. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NODES 64
#define MAX_INPUTS 8
#define MAX_INPUT_ELEMS 4096

const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1:max_allocation_size_mb=64";
}

typedef struct gate {
    size_t nodes;
    bool skip;
} gate;

static void gate_node(void *ud, oc_graph *g, oc_node *n)
{
    (void)g;
    gate *gt = ud;
    gt->nodes++;
    if (!strcmp(n->op_type, "Loop") || !strcmp(n->op_type, "Scan")) gt->skip = true;
    /* nodes without inputs or outputs are refused by the session planner
     * (tests/fuzz/regress/pipeline: the "-without-" inputs) */
}

/* The graph inputs that are not initializers, as the interpreter sees them. */
static size_t model_inputs(oc_model *m, const oc_value **out, size_t cap)
{
    oc_graph *g = m->graph;
    size_t n = 0;
    for (size_t i = 0; i < g->n_inputs; i++) {
        const oc_value *v = g->inputs[i];
        if (v->name && oc_graph_initializer(g, v->name)) continue;
        if (n == cap) return cap + 1;
        out[n++] = v;
    }
    return n;
}

/* Fixed dims as declared, symbolic or unknown ones 1; false when the input
 * is not a tensor of at most MAX_INPUT_ELEMS elements. */
static bool sample_shape(const oc_value *v, int *ndim, int64_t *dims)
{
    if (!v->has_type || v->type.kind != OC_TYPE_TENSOR) return false;
    if (!v->type.has_shape) {
        *ndim = 1;
        dims[0] = 1;
        return true;
    }
    if (v->type.ndim > OC_MAX_DIMS) return false;
    int64_t numel = 1;
    for (int k = 0; k < v->type.ndim; k++) {
        const oc_dim *d = &v->type.dims[k];
        int64_t x = d->kind == OC_DIM_VALUE ? d->value : 1;
        if (x < 0 || x > MAX_INPUT_ELEMS) return false;
        numel *= x;
        if (numel > MAX_INPUT_ELEMS) return false;
        dims[k] = x;
    }
    *ndim = v->type.ndim;
    return true;
}

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Writes calib/sK/NN.npy for every input; false when an input does not fit. */
static bool write_samples(const oc_value **ins, size_t n, uint64_t seed, char *dir, size_t cap)
{
    char path[700];
    fz_remove_tree("calib");
    fz_path(dir, cap, "calib/");
    dir[strlen(dir) - 1] = 0;
    for (int s = 0; s < 2; s++) {
        for (size_t i = 0; i < n; i++) {
            char name[64];
            snprintf(name, sizeof(name), "calib/s%d/%02zu.npy", s, i);
            fz_path(path, sizeof(path), name);
            int ndim;
            int64_t dims[OC_MAX_DIMS];
            if (!sample_shape(ins[i], &ndim, dims)) return false;
            oc_ctx ctx;
            oc_ctx_init(&ctx);
            oc_ten t;
            if (oc_ten_new(&ctx, &t, OC_DTYPE_FLOAT, ndim, dims) != OC_OK) return false;
            float *f = t.data;
            for (int64_t k = 0; k < t.numel; k++)
                f[k] = (float)((double)(next_rand(&seed) >> 11) / (double)(1ull << 53) * 2.0 - 1.0);
            oc_status st = oc_npy_write(&ctx, path, &t);
            oc_ten_release(&t);
            FZ_CHECK(st == OC_OK, "cannot write a sample: %s", ctx.msg);
        }
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char in[600], out[600], outd[600], calib[600];
    fz_path(in, sizeof(in), "in/model.onnx");
    fz_path(out, sizeof(out), "out/model.onnx");
    fz_path(outd, sizeof(outd), "out/model.onnx.data");
    fz_unlink(out);
    fz_unlink(outd);
    fz_write(in, data, size);

    oc_ctx ctx;
    oc_ctx_init(&ctx);
    oc_model *m = NULL, *m2 = NULL;
    oc_pipeline *p = NULL;
    oc_status st = oc_model_load_file(&ctx, in, NULL, &m);
    if (st != OC_OK) return 0;

    gate gt = {0};
    oc_model_foreach_node(m, gate_node, &gt);
    const oc_value *ins[MAX_INPUTS];
    size_t n_in = model_inputs(m, ins, MAX_INPUTS);
    if (gt.nodes > MAX_NODES || gt.skip || n_in > MAX_INPUTS) goto done;
    bool all_float = true;
    for (size_t i = 0; i < n_in; i++) {
        int ndim;
        int64_t dims[OC_MAX_DIMS];
        if (!sample_shape(ins[i], &ndim, dims)) goto done;
        if (ins[i]->type.elem_type != OC_DTYPE_FLOAT) all_float = false;
    }
    uint64_t seed = fz_hash(data, size) | 1;
    if (all_float && !write_samples(ins, n_in, seed, calib, sizeof(calib))) goto done;

    p = oc_pipeline_new();
    if (!p) abort();
    st = oc_pipeline_add(&ctx, p, "prune", "magnitude:sparsity=0.5");
    FZ_CHECK(st == OC_OK, "%s", ctx.msg);
    st = oc_pipeline_add(&ctx, p, "quant", all_float ? "static" : "weight");
    FZ_CHECK(st == OC_OK, "%s", ctx.msg);
    oc_pipeline_opts po = oc_pipeline_opts_default();
    po.threads = 1;
    po.data_src = all_float ? calib : NULL;
    oc_pipeline_report rep;
    st = oc_pipeline_run(&ctx, p, m, &po, &rep);
    if (getenv("FUZZ_VERBOSE"))
        fprintf(stderr, "pipeline %s: %s\n", all_float ? "static" : "weight", st == OC_OK ? "ok" : ctx.msg);
    if (st != OC_OK) {
        fz_check_error(&ctx, st);
        goto done;
    }
    FZ_CHECK(rep.notices_len < sizeof(rep.notices), "notices overflow");
    oc_save_opts so = oc_save_opts_default();
    so.force = true;
    st = oc_model_save_file(&ctx, m, out, &so);
    if (st != OC_OK) {
        /* only memory may run out here (ASan's allocation cap) */
        FZ_CHECK(st == OC_ERR_NOMEM, "the compressed model cannot be written: %s", ctx.msg);
        goto done;
    }
    st = oc_model_load_file(&ctx, out, NULL, &m2);
    FZ_CHECK(st == OC_OK || st == OC_ERR_NOMEM, "the compressed model does not load: %s", ctx.msg);
done:
    oc_model_free(m2);
    oc_model_free(m);
    oc_pipeline_free(p);
    return 0;
}
