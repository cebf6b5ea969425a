/* passes_extra.h: the float16 pass (quant_fp16.c) and the dynamic int8
 * pass (quant_dynamic.c), with their option tables for the pass registry.
 *
 * The option counts are also given as macros because a file-scope
 * initializer (the pass table in pipeline.c) needs a constant expression:
 *
 *     {"quant", "fp16", "...", oc_fp16_opts, OC_FP16_N_OPTS, false, oc_pass_quant_fp16},
 *
 * Each .c file static_asserts that its table has exactly that many rows. */
#ifndef OC_PASSES_EXTRA_H
#define OC_PASSES_EXTRA_H

#include "pass.h"

/* float16 weights and compute, float32 graph inputs and outputs. */
oc_status oc_pass_quant_fp16(oc_pass_run *r);
/* int8 weights, activations quantized at run time (DynamicQuantizeLinear +
 * MatMulInteger) for MatMul and Gemm with constant weights. */
oc_status oc_pass_quant_dynamic(oc_pass_run *r);

#define OC_FP16_N_OPTS 4
#define OC_DYNAMIC_N_OPTS 4

extern const oc_pass_opt oc_fp16_opts[OC_FP16_N_OPTS];
extern const size_t oc_fp16_n_opts;
extern const oc_pass_opt oc_dynamic_opts[OC_DYNAMIC_N_OPTS];
extern const size_t oc_dynamic_n_opts;

#endif
