/* oc_upgrade.c: raises a model's default-domain opset (lib/passes/opset.c),
 * for testing the upgrade on real models.
 *
 *   oc-upgrade IN.onnx OUT.onnx TARGET
 *
 * On success prints "IN: opset A -> B, ir X -> Y" and writes OUT (replacing
 * it). On failure prints the library's message on stderr and exits with the
 * status's exit code (5 when some node has no adapter). */
#include "onnxcomp.h"
#include "passes/opset.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: oc-upgrade IN.onnx OUT.onnx TARGET\n");
        return oc_status_exit_code(OC_ERR_USAGE);
    }
    char *end = NULL;
    long long target = strtoll(argv[3], &end, 10);
    if (!end || *end || end == argv[3]) {
        fprintf(stderr, "oc-upgrade: TARGET must be a number, not '%s'\n", argv[3]);
        return oc_status_exit_code(OC_ERR_USAGE);
    }
    oc_ctx ctx;
    oc_ctx_init(&ctx);
    oc_model *m = NULL;
    oc_status st = oc_model_load_file(&ctx, argv[1], NULL, &m);
    if (st == OC_OK) {
        int64_t from = oc_model_opset(m, ""), ir = m->ir_version;
        st = oc_opset_upgrade(&ctx, m, target);
        if (st == OC_OK) {
            oc_save_opts so = oc_save_opts_default();
            so.force = true;
            st = oc_model_save_file(&ctx, m, argv[2], &so);
        }
        if (st == OC_OK)
            printf("%s: opset %lld -> %lld, ir %lld -> %lld\n", argv[1], (long long)from,
                   (long long)oc_model_opset(m, ""), (long long)ir, (long long)m->ir_version);
    }
    if (st != OC_OK) fprintf(stderr, "oc-upgrade: %s\n", ctx.msg);
    oc_model_free(m);
    return oc_status_exit_code(st);
}
