/* exec.h: the interpreter's internal interface: runtime tensors, the kernel
 * signature, attribute helpers and the op table every kernel family fills.
 *
 * A kernel gets its node (for attributes), the opset version of the node's
 * domain, its inputs (NULL for an omitted optional input) and its outputs,
 * which it allocates itself with oc_ten_alloc() once it knows their shapes:
 * shapes are resolved from the actual inputs at run time. Kernels compute in
 * float32 (plus int64/int32/bool/uint8 for shape arithmetic and the 8- and
 * 4-bit integer types for quantization ops). An op, attribute value or type a
 * kernel does not implement is refused in `prepare` (before anything runs)
 * when it can be seen from the node, else at run time, with the node's name. */
#ifndef OC_EXEC_H
#define OC_EXEC_H

#include "../common/common.h"

struct oc_exec;

typedef struct oc_kctx {
    oc_ctx *ctx;
    const oc_node *node;
    int64_t opset;        /* version of the node's domain in the model */
    struct oc_exec *ex;   /* allocation and subgraph execution */
    int threads;
} oc_kctx;

typedef oc_status (*oc_kernel_fn)(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out,
                                  size_t n_out);
/* Static checks of a node's attributes and arity; NULL when there are none. */
typedef oc_status (*oc_prepare_fn)(oc_kctx *k);

typedef struct oc_op_def {
    const char *domain;  /* "" for the default domain */
    const char *op_type;
    int since;           /* first opset version this kernel implements */
    oc_prepare_fn prepare;
    oc_kernel_fn run;
} oc_op_def;

/* Each kernel family exports one table (see lib/exec/ops_*.c). */
#define OC_OP_FAMILY(name)                                                    \
    extern const oc_op_def oc_ops_##name[];                                   \
    extern const size_t oc_ops_##name##_count
OC_OP_FAMILY(elementwise);
OC_OP_FAMILY(shape);
OC_OP_FAMILY(index);
OC_OP_FAMILY(nn);
OC_OP_FAMILY(reduce);
OC_OP_FAMILY(rnn);
OC_OP_FAMILY(quant);
OC_OP_FAMILY(control);

/* The kernel for (domain, op_type) at `opset`: the entry with the highest
 * `since` <= opset, or NULL. */
const oc_op_def *oc_op_find(const char *domain, const char *op_type, int64_t opset);

/* ---- tensors ---- */

/* Shapes out to `dims` with numel (checked for overflow) and allocates
 * 64-byte-aligned, zeroed storage. Fails cleanly on absurd sizes. */
oc_status oc_ten_alloc(oc_kctx *k, oc_ten *t, int dtype, int ndim, const int64_t *dims);
/* The same without zeroing the data, for kernels that write every element
 * (Conv, unary and binary elementwise ops, Transpose, Concat): skipping the
 * memset saved about a tenth of the run time of CNNs. */
oc_status oc_ten_alloc_full(oc_kctx *k, oc_ten *t, int dtype, int ndim, const int64_t *dims);
/* Allocates `out` with in's type and the given shape and copies in's data
 * (Reshape, Identity, Squeeze...: outputs never alias inputs, so every
 * tensor can be freed after its last reader). */
oc_status oc_ten_copy_reshape(oc_kctx *k, oc_ten *out, const oc_ten *in, int ndim, const int64_t *dims);
size_t oc_ten_elem_size(int dtype); /* bytes; 0 for 4-bit and strings */
/* Whether any of in[0..n_in) is float16 or bfloat16. */
bool oc_ten_any_half(const oc_ten *const *in, size_t n_in);
/* Runs fn with every float16/bfloat16 input widened to float32, then
 * narrows float32 outputs back to input 0's type when input 0 was widened
 * (results follow input 0: elementwise ops, Conv, MatMul, pools...). How a
 * float32 kernel serves half-precision tensors: the elementwise family calls
 * it directly, and the executor for any other kernel that refuses them, as
 * ONNX Runtime's CPU provider computes float16 ops it has no kernel for. */
oc_status oc_run_widened(oc_kctx *k, const oc_ten *const *in, size_t n_in, oc_ten *out, size_t n_out,
                         oc_kernel_fn fn);
/* Whether model bytes at p can be read in place as dtype elements: C asks a
 * typed read for the element's own alignment, and no kernel asks for more
 * (vector code loads unaligned or through memcpy). Weights in a protobuf
 * file sit at any offset; those that fail this are copied once. */
static inline bool oc_ten_misaligned(const void *p, int dtype)
{
    size_t a = oc_ten_elem_size(dtype);
    if (a < 1) a = 1;
    if (a > 16) a = 16;
    return ((uintptr_t)p & (a - 1)) != 0;
}
/* Element i as double / stored from double, for numeric types (slow path:
 * shape arithmetic and odd types; float kernels use the float pointer). */
double oc_ten_get(const oc_ten *t, int64_t i);
void oc_ten_set(oc_ten *t, int64_t i, double v);
int64_t oc_ten_get_i64(const oc_ten *t, int64_t i);

/* ---- attributes ---- */
const oc_attr *oc_node_attr(const oc_node *n, const char *name);
int64_t oc_attr_int(const oc_node *n, const char *name, int64_t def);
float oc_attr_float(const oc_node *n, const char *name, float def);
/* The string attribute as a NUL-terminated copy in buf (truncated to cap). */
const char *oc_attr_str(const oc_node *n, const char *name, const char *def, char *buf, size_t cap);
/* Number of ints, or -1 when the attribute is absent. */
int64_t oc_attr_ints(const oc_node *n, const char *name, const int64_t **out);
int64_t oc_attr_floats(const oc_node *n, const char *name, const float **out);

/* ---- errors ---- */
/* "node 'conv1' (Conv): <detail>" with status st. */
oc_status oc_kfail(oc_kctx *k, oc_status st, const char *fmt, ...) OC_PRINTF(3, 4);

/* ---- broadcasting ---- */
/* Numpy-style broadcast of a and b dims into out; false when incompatible. */
bool oc_broadcast_shape(int na, const int64_t *a, int nb, const int64_t *b, int *nout, int64_t *out);
/* Strides (in elements) of `t` seen through the broadcast shape out[nout]:
 * 0 along broadcast axes. */
void oc_broadcast_strides(const oc_ten *t, int nout, const int64_t *out, int64_t *strides);

/* ---- buffer reuse ---- */
/* A buffer of at least cap bytes (64-byte aligned) that a released tensor
 * gave back to the running session, or NULL. */
void *oc_exec_buf_get(struct oc_exec *ex, size_t cap);

/* ---- subgraphs (If / Loop / Scan) ---- */
/* Runs g with the given inputs (bound to g's inputs in order); outer-scope
 * names resolve through the running executor. outs[] receive g's outputs
 * (owned by the caller, release with oc_ten_release). */
oc_status oc_exec_subgraph(oc_kctx *k, oc_graph *g, size_t n_in, const oc_ten *const *in,
                           size_t n_out, oc_ten *outs);
/* Whether the running session is in "every branch" mode (below). */
bool oc_exec_every_branch(const struct oc_exec *ex);

/* ---- probe runs (probe.c): one run on generated inputs to learn shapes ---- */

/* Whether dim d of input v is a fixed positive number. */
bool oc_probe_dim_fixed(const oc_value *v, int d);
/* Whether dim d of input v is a batch size: axis 0, or a symbol found at
 * axis 0 of some input. */
bool oc_probe_dim_batch(oc_session *s, const oc_value *v, int d);
/* Zero-filled tensors for every session input, from the declared types:
 * batch dims 1, other symbolic or unknown dims `fill`. On failure none is
 * left allocated. */
oc_status oc_probe_inputs(oc_ctx *ctx, oc_session *s, int64_t fill, oc_ten *ins);
/* Shape probes only: when on, an If also runs the branch its condition does
 * not take, on the same values, after the one it takes, so an observer sees
 * the values of both (the channel analysis needs shapes in every branch).
 * That run's outputs are dropped and its failure is ignored: the model's
 * results are those of the branch taken, as always. Off by default. */
void oc_session_set_every_branch(oc_session *s, bool on);

#endif
