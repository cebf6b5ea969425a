/* oc_conform.c: runs ONNX conformance test folders (model.onnx plus
 * test_data_set_N/input_K.pb and output_K.pb) in onnxcomp's interpreter and
 * compares with the expected outputs.
 *
 *   oc-conform DIR...     prints PASS/FAIL/SKIP DIR per folder
 *
 * Tolerance: |got - want| <= 1e-4 + 1e-3 * |want| for floating point (the
 * ONNX backend tests' rtol, with a slightly looser atol), exact for integers
 * and booleans, NaN equal to NaN. A model whose ops or attributes the
 * interpreter lacks is a SKIP with the reason; so is string data. */
#include "onnxcomp.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static double get(const oc_ten *t, int64_t i)
{
    oc_tensor v;
    memset(&v, 0, sizeof(v));
    v.dtype = t->dtype;
    v.numel = t->numel;
    v.data = t->data;
    v.nbytes = t->nbytes;
    return oc_tensor_get(&v, i);
}

static bool is_float(int dt)
{
    return dt == OC_DTYPE_FLOAT || dt == OC_DTYPE_DOUBLE || dt == OC_DTYPE_FLOAT16 || dt == OC_DTYPE_BFLOAT16;
}

/* 0 equal, else writes why */
static int compare(const oc_ten *got, const oc_ten *want, char *why, size_t cap)
{
    if (got->dtype != want->dtype) {
        snprintf(why, cap, "type %s, want %s", oc_dtype_name(got->dtype), oc_dtype_name(want->dtype));
        return 1;
    }
    if (got->ndim != want->ndim || got->numel != want->numel) {
        snprintf(why, cap, "rank %d numel %lld, want rank %d numel %lld", got->ndim, (long long)got->numel,
                 want->ndim, (long long)want->numel);
        return 1;
    }
    for (int d = 0; d < got->ndim; d++)
        if (got->dims[d] != want->dims[d]) {
            snprintf(why, cap, "dim %d is %lld, want %lld", d, (long long)got->dims[d], (long long)want->dims[d]);
            return 1;
        }
    double rtol = want->dtype == OC_DTYPE_FLOAT16 || want->dtype == OC_DTYPE_BFLOAT16 ? 1e-2 : 1e-3;
    for (int64_t i = 0; i < got->numel; i++) {
        double a = get(got, i), b = get(want, i);
        if (is_float(got->dtype)) {
            if (isnan(a) && isnan(b)) continue;
            if (isinf(b) && a == b) continue;
            if (!(fabs(a - b) <= 1e-4 + rtol * fabs(b))) {
                snprintf(why, cap, "element %lld is %.9g, want %.9g", (long long)i, a, b);
                return 1;
            }
        } else if (a != b) {
            snprintf(why, cap, "element %lld is %.17g, want %.17g", (long long)i, a, b);
            return 1;
        }
    }
    return 0;
}

static int run_set(oc_session *s, const char *set, char *why, size_t cap, int *skip)
{
    size_t ni = oc_session_n_inputs(s), no = oc_session_n_outputs(s);
    oc_ten *in = calloc(ni + 1, sizeof(oc_ten)), *out = calloc(no + 1, sizeof(oc_ten));
    int rc = 0;
    oc_ctx ctx;
    oc_ctx_init(&ctx);
    char path[8192];
    for (size_t i = 0; i < ni; i++) {
        snprintf(path, sizeof(path), "%s/input_%zu.pb", set, i);
        if (oc_ten_load_pb(&ctx, path, &in[i], NULL, 0) != OC_OK) {
            snprintf(why, cap, "%s", ctx.msg);
            *skip = ctx.status == OC_ERR_UNSUPPORTED || ctx.status == OC_ERR_READ;
            rc = 1;
            goto done;
        }
        /* ONNX's test data stores bfloat16 tensors as uint16 bits */
        const oc_value *v = oc_session_input(s, i);
        if (in[i].dtype == OC_DTYPE_UINT16 && v->has_type && v->type.elem_type == OC_DTYPE_BFLOAT16)
            in[i].dtype = OC_DTYPE_BFLOAT16;
    }
    oc_status st = oc_session_run(&ctx, s, in, out);
    if (st != OC_OK) {
        /* OC_ERR_USAGE: the test data disagrees with the model's declared
         * inputs (a few bfloat16 CastLike tests): not the interpreter's fault */
        snprintf(why, cap, "%s%s", st == OC_ERR_USAGE ? "test data does not fit the model: " : "", ctx.msg);
        *skip = st == OC_ERR_UNSUPPORTED || st == OC_ERR_USAGE;
        rc = 1;
        goto done;
    }
    for (size_t i = 0; i < no; i++) {
        oc_ten want;
        snprintf(path, sizeof(path), "%s/output_%zu.pb", set, i);
        oc_ctx_init(&ctx);
        if (oc_ten_load_pb(&ctx, path, &want, NULL, 0) != OC_OK) {
            snprintf(why, cap, "%s", ctx.msg);
            *skip = 1;
            rc = 1;
            goto done_out;
        }
        char w[600];
        if (want.dtype == OC_DTYPE_UINT16 && out[i].dtype == OC_DTYPE_BFLOAT16) want.dtype = OC_DTYPE_BFLOAT16;
        if (compare(&out[i], &want, w, sizeof(w))) {
            snprintf(why, cap, "output %zu ('%s'): %s", i, oc_session_output(s, i)->name, w);
            rc = 1;
        }
        oc_ten_release(&want);
        if (rc) goto done_out;
    }
done_out:
    for (size_t i = 0; i < no; i++) oc_ten_release(&out[i]);
done:
    for (size_t i = 0; i < ni; i++) oc_ten_release(&in[i]);
    free(in);
    free(out);
    return rc;
}

int main(int argc, char **argv)
{
    int failed = 0;
    for (int a = 1; a < argc; a++) {
        const char *dir = argv[a];
        char path[8192], why[1200] = "";
        snprintf(path, sizeof(path), "%s/model.onnx", dir);
        oc_ctx ctx;
        oc_ctx_init(&ctx);
        oc_model *m = NULL;
        if (oc_model_load_file(&ctx, path, NULL, &m) != OC_OK) {
            printf("%s %s: %s\n", ctx.status == OC_ERR_UNSUPPORTED ? "SKIP" : "FAIL", dir, ctx.msg);
            failed += ctx.status != OC_ERR_UNSUPPORTED;
            continue;
        }
        oc_session *s = NULL;
        oc_run_opts ro = {.threads = 1};
        if (oc_session_new(&ctx, m, &ro, &s) != OC_OK) {
            bool sk = ctx.status == OC_ERR_UNSUPPORTED;
            printf("%s %s: %s\n", sk ? "SKIP" : "FAIL", dir, ctx.msg);
            failed += !sk;
            oc_model_free(m);
            continue;
        }
        int rc = 0, skip = 0, sets = 0;
        for (int k = 0; k < 16 && !rc; k++) {
            char set[4096 + 32];
            struct stat st;
            snprintf(set, sizeof(set), "%s/test_data_set_%d", dir, k);
            if (stat(set, &st) != 0) break;
            sets++;
            rc = run_set(s, set, why, sizeof(why), &skip);
        }
        if (!sets) {
            printf("SKIP %s: no test_data_set_0\n", dir);
        } else if (rc) {
            printf("%s %s: %s\n", skip ? "SKIP" : "FAIL", dir, why);
            failed += !skip;
        } else {
            printf("PASS %s\n", dir);
        }
        oc_session_free(s);
        oc_model_free(m);
    }
    return failed ? 1 : 0;
}
