/* prune.h: what the prune passes share.
 *
 *   prune_layers.c   the prunable layers of a model (Conv, ConvTranspose,
 *                    Gemm, MatMul with a constant float weight) and a
 *                    writable float view of their weights
 *   prune_gram.c     Gram matrices of layer inputs over calibration samples
 *                    (Wanda norms, SparseGPT, least-squares refits)
 *   prune_sparse.c   the magnitude, wanda and nm passes
 *   prune_channel.c  the channel pass (structured), with coupling.c's
 *                    channel groups
 *
 * The option counts are macros because the pass table in pipeline.c needs
 * constant expressions; each .c static_asserts its table's size. */
#ifndef OC_PRUNE_H
#define OC_PRUNE_H

#include "pass.h"

/* A weighted layer. The weight is viewed as a matrix of `rows` output
 * units by `cols` reduction entries, in the order the reconstruction
 * solvers and the N:M rule use:
 *   Conv          W [Cout, Cin/g, k...]: row = output channel, col = (cin, k...)
 *   ConvTranspose W [Cin, Cout/g, k...]: row = (output channel), col = (cin, k...)
 *   Gemm          B [N, K] (transB=1) or [K, N]: row = n, col = k
 *   MatMul        B [..., K, N]: row = n, col = k (batched B: per matrix)
 * `out_axis` / `in_axis` are the tensor axes of the output and input
 * channels. */
typedef struct oc_prune_layer {
    oc_graph *g;        /* graph holding the node */
    oc_node *node;
    const char *w_name; /* the weight's value name */
    oc_tensor *w;       /* float32, with data */
    int out_axis, in_axis;
    int64_t group;      /* Conv/ConvTranspose group, else 1 */
    int64_t rows, cols; /* the matrix view (per group for grouped convs: rows = all outputs) */
    bool shared;        /* the weight also feeds another node */
} oc_prune_layer;

/* Every prunable layer of the model, main graph first then subgraphs
 * (`subgraphs` false: main graph only), in node order, selected by the
 * user's --exclude-op/--exclude-node/--only-node, with at least
 * `min_elems` weight elements, and, when r->popts asks, not the first or
 * last weighted layer. Layers whose output feeds Pow/Sqrt/Log/Div (STFT and
 * log-mel filter banks) are left out, with a notice. A weight read by several layers is listed once
 * (the first) with `shared` set. *out is oc_malloc'd; free it. */
oc_status oc_prune_layers(oc_pass_run *r, bool subgraphs, int64_t min_elems, oc_prune_layer **out, size_t *n);

/* The weight's float data, made writable (copied out of a mapped file the
 * first time). NULL on out-of-memory, with the error set. */
float *oc_prune_weight_mut(oc_pass_run *r, oc_prune_layer *l);

/* Element index in the weight tensor of matrix entry (row, col). */
int64_t oc_prune_index(const oc_prune_layer *l, int64_t row, int64_t col);

/* Records in the report that `zeros` of `numel` weights of a layer are now
 * zero (counted once per layer by the pass that pruned it). */
void oc_prune_report_layer(oc_pass_run *r, const oc_prune_layer *l, int64_t zeros);

/* Sets the report's layers_pruned / weights_zero / weights_prunable from
 * the model as it is now: the layers (all of them, selection applied) with
 * at least one zero weight. Run once after the prune passes. */
oc_status oc_prune_recount(oc_pass_run *r);

/* ---- the passes ---- */
oc_status oc_pass_prune_magnitude(oc_pass_run *r);
oc_status oc_pass_prune_wanda(oc_pass_run *r);
oc_status oc_pass_prune_nm(oc_pass_run *r);
oc_status oc_pass_prune_channel(oc_pass_run *r);

#define OC_MAGNITUDE_N_OPTS 6
#define OC_WANDA_N_OPTS 5
#define OC_NM_N_OPTS 6
#define OC_CHANNEL_N_OPTS 10
extern const oc_pass_opt oc_magnitude_opts[OC_MAGNITUDE_N_OPTS];
extern const oc_pass_opt oc_wanda_opts[OC_WANDA_N_OPTS];
extern const oc_pass_opt oc_nm_opts[OC_NM_N_OPTS];
extern const oc_pass_opt oc_channel_opts[OC_CHANNEL_N_OPTS];

/* Whether a pass with these option values needs samples (reconstruct=1,
 * criterion=activation...). */
bool oc_prune_magnitude_wants_data(const oc_pass_vals *v);
bool oc_prune_nm_wants_data(const oc_pass_vals *v);
bool oc_prune_channel_wants_data(const oc_pass_vals *v);

#endif
