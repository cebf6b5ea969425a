/* qdq.h: graph edits shared by the quantization passes (see qdq.c). */
#ifndef OC_QDQ_H
#define OC_QDQ_H

#include "../quant/quant.h"
#include "pass.h"

#include "../common/strmap.h"

/* The graph holding initializer `name`: g or an enclosing graph. */
oc_graph *oc_qdq_init_home(oc_graph *g, const char *name);
/* Replaces weight `name` (tensor t: an initializer of `home`, or the value of
 * Constant node const_node in `home`) by integer initializers and a
 * DequantizeLinear producing `name`. scales_out (may be NULL) receives a
 * copy of the scales (free with oc_qweight_free); on failure it holds
 * nothing. */
oc_status oc_qdq_weight(oc_pass_run *r, oc_graph *home, oc_node *const_node, const char *name, const oc_tensor *t,
                        const oc_qweight_opts *qo, bool axis_attr, oc_qweight *scales_out);
/* An int32 bias with scale input_scale * w_scale[c], zero point 0; the
 * float bias was an initializer of home, or const_node's value. */
oc_status oc_qdq_bias(oc_pass_run *r, oc_graph *home, oc_node *const_node, const char *name, const oc_tensor *t,
                      float input_scale,
                      const float *w_scale, int64_t n_wscale);
/* Readers to move to DequantizeLinear outputs, in one sweep over the model
 * instead of one per pair (a scan of the graph each: quadratic on big
 * graphs). Every `from` must be a name defined once in the model. */
typedef struct oc_qdq_renames {
    oc_strmap map;      /* from -> to (val), index into q (aux) */
    const oc_node **q;  /* the QuantizeLinear reading `from`, which keeps it */
    size_t n, cap;
} oc_qdq_renames;
void oc_qdq_renames_init(oc_qdq_renames *rn);
void oc_qdq_renames_free(oc_qdq_renames *rn);
/* Renames in g and every body below it, then drops their indexes. */
void oc_qdq_renames_apply(oc_graph *g, const oc_qdq_renames *rn);

/* One QuantizeLinear -> DequantizeLinear pair on activation `tensor` of g,
 * read by all its consumers: moved at once, or, given rn, recorded there
 * for oc_qdq_renames_apply. */
oc_status oc_qdq_activation(oc_pass_run *r, oc_graph *g, const char *tensor, oc_qparams p, int dtype,
                            oc_qdq_renames *rn);

/* Does `tensor` reach Pow/Sqrt/Log/Div/Reciprocal/Exp, directly or through a
 * few data-movement ops? Such layers (STFT magnitudes, log-mel features)
 * stay in float: int8 errors there are amplified. */
bool oc_qdq_feeds_sensitive(oc_graph *g, const char *tensor, int depth);
/* A new initializer of g named after `base`, owning `data` (freed on
 * failure too); *name_out receives its name. */
oc_status oc_qdq_new_init(oc_pass_run *r, oc_graph *g, const char *base, int dtype, int ndim, const int64_t *dims,
                          void *data, size_t nbytes, const char **name_out);

/* fold.c. Folds inference BatchNormalization and Mul/Add/Sub/Div by
 * per-channel or scalar constants into the Conv/ConvTranspose that alone
 * feeds them (new weight and bias initializers; the old ones go if nothing
 * else reads them), as every quantizer's pre-processing does: each would be
 * a tensor quantized on its own, and a Q/DQ pair after the layer stops ORT's
 * Conv fusion. */
oc_status oc_fold_affine(oc_pass_run *r, oc_graph *g, size_t *folded);
/* Rewrites x * Clip(x + 3, 0, 6) / 6 (either order of the product and the
 * division) as HardSwish(x) (opset >= 14) or x * HardSigmoid(x, 1/6, 1/2). */
oc_status oc_fold_hardswish(oc_pass_run *r, oc_graph *g, size_t *rewritten);

#endif
