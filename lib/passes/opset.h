/* opset.h: raising a model's default-domain operator set.
 *
 * Quantization wants DequantizeLinear with `axis` (opset 13) and int4 with
 * `block_size` (opset 21), while many published models are opset 8 to 12.
 * Raising the opset number alone would silently change what some nodes mean
 * (Softmax's axis, attributes that became inputs, ...), so every node whose
 * operator was redefined between the model's opset and the target is either
 * rewritten to the newer definition with the same meaning, or the whole
 * upgrade is refused with a message naming every node that stops it. Nothing
 * is half done: the model is only edited once every node is known to adapt.
 *
 *     oc_ctx ctx;
 *     oc_ctx_init(&ctx);
 *     if (oc_opset_upgrade(&ctx, m, 21) != OC_OK)
 *         fprintf(stderr, "%s\n", ctx.msg);
 *         // "cannot raise opset 9 to 21: no adapter for Tile (node 't') changed at 13, ..."
 */
#ifndef OC_PASSES_OPSET_H
#define OC_PASSES_OPSET_H

#include "../onnxcomp.h"

/* The newest default-domain opset whose changes onnxcomp knows. */
#define OC_OPSET_MAX 21

/* Raises m's default-domain ("" / "ai.onnx") opset import to `target`
 * (nothing happens when it is already >= target). Every node of the main
 * graph and its subgraphs whose operator changed in (current, target] is
 * rewritten to the newer definition: attributes that became inputs turn into
 * new initializers, deprecated operators into their successors, changed
 * semantics get equivalent nodes around them. The IR version is raised to at
 * least what the target needs. Model-local functions are left as they are
 * (only their opset import follows) and refused when one of their nodes would
 * need a rewrite.
 *
 * Returns OC_OK; OC_ERR_UNSUPPORTED (nothing changed) when some node has no
 * adapter, with ctx->msg listing each blocking operator, node and version
 * ("cannot raise opset 9 to 21: no adapter for Scan (node 's') changed at
 * 9, ..."), or when the model has training_info graphs; OC_ERR_USAGE for a
 * target outside 1..OC_OPSET_MAX; OC_ERR_NOMEM, after which the model may be
 * half rewritten and is only good for oc_model_free(). New nodes, names and
 * tensors belong to the model. */
oc_status oc_opset_upgrade(oc_ctx *ctx, oc_model *m, int64_t target);

/* Whether oc_opset_upgrade(m, target) would succeed. When it would not,
 * `msg` (may be NULL) receives the message it would give. The model is not
 * changed (name lookups may build their caches). */
bool oc_opset_can_upgrade(const oc_model *m, int64_t target, char *msg, size_t cap);

/* The lowest IR version a model importing default-domain opset `opset`
 * needs (the ONNX release that introduced that opset), or 0 past
 * OC_OPSET_MAX. */
int64_t oc_opset_min_ir_version(int64_t opset);

#endif
