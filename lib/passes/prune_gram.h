/* prune_gram.h: Gram matrices of the inputs of prunable layers, gathered
 * by running the model over the pass's calibration samples. They feed
 * Wanda's input norms (the diagonal), SparseGPT / OBS reconstruction and
 * least-squares refits (lib/quant/lsq.h).
 *
 * A layer computes, at each output position, y = W x with W its matrix view
 * (prune.h: rows = output units, cols = reduction entries) and x the input
 * patch in the same column order:
 *   Conv           x[(ci, k...)] = input[g*C/g + ci, p*stride - pad_begin + k*dilation]
 *                  (0 in the padding), one patch per output position p and
 *                  group g (auto_pad resolved as the interpreter does);
 *   ConvTranspose  exactly the same idea seen from the output: for output
 *                  position q, x[(ci, k...)] = input[g*C/g + ci, t / stride]
 *                  with t = q + pad_begin - k*dilation when t is a multiple
 *                  of the stride inside the input, else 0. So y[q] = W x
 *                  holds for every output position and H measures the true
 *                  output error (not the input replicated over k);
 *   Gemm / MatMul  the input's rows of K (all leading dims flattened; a
 *                  batched MatMul weight shares one Gram over its batch).
 * H = sum over samples and positions of x x^T. */
#ifndef OC_PRUNE_GRAM_H
#define OC_PRUNE_GRAM_H

#include "prune.h"

/* Bytes of full Gram matrices held at once. Layers that together need more
 * are done in batches, running the samples once per batch; a layer whose
 * Gram alone needs more gets no h (its diag is still filled). See
 * oc_prune_gram_budget(). */
#define OC_GRAM_BUDGET_BYTES ((int64_t)1 << 30)

typedef struct oc_gram {
    int64_t n;      /* layer->cols */
    int64_t groups; /* layer->group for Conv/ConvTranspose, else 1 */
    /* groups blocks of n x n doubles, row-major, full symmetric: group g's
     * block at h + g * n * n. NULL when only diagonals were asked, when the
     * layer is over OC_GRAM_BUDGET_BYTES, or when count is 0. */
    double *h;
    /* groups x n: the diagonals (sum of squared inputs, Wanda's ||X_j||^2 is
     * its square root). NULL when count is 0. */
    double *diag;
    /* patches accumulated per group (samples x batch x output positions);
     * 0 when the layer's input is not a main-graph value (subgraph layers)
     * or was never computed: then fall back to a data-free criterion. */
    int64_t count;
} oc_gram;

/* Runs the model as it is now over the pass's samples (oc_pass_run_samples:
 * --data, the pass's `samples` option) and accumulates, for each of the n
 * layers, the Gram of its input as the layer sees it (see above). full:
 * whole matrices, else only the diagonals (one cheap run). out[n] must be
 * zeroed by the caller; on success each entry owns its buffers (free with
 * oc_gram_free), on failure everything is freed and zeroed again. An input
 * that does not fit its weight fails with OC_ERR_INVALID naming the node. */
oc_status oc_prune_gram_collect(oc_pass_run *r, const oc_prune_layer *layers, size_t n, bool full, oc_gram *out);

/* Sets the byte budget of full Gram matrices held at once (initially
 * OC_GRAM_BUDGET_BYTES) when bytes > 0; returns the one before. Process-wide,
 * not thread-safe: for tests of the batching. */
int64_t oc_prune_gram_budget(int64_t bytes);

/* Frees g's buffers and zeroes it; NULL is fine. */
void oc_gram_free(oc_gram *g);

#endif
