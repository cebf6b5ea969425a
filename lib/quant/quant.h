/* quant.h: quantization numerics: ranges to scale/zero point, quantizing
 * weights per tensor, per channel or block-wise (4-bit packed), an
 * error-minimising clipping search, and streaming calibration observers
 * (MinMax, Percentile, Entropy, MSE) whose memory does not grow with the
 * number of samples. Pure functions over float arrays: no graph here. */
#ifndef OC_QUANT_H
#define OC_QUANT_H

#include "../common/common.h"

/* Integer range of a quantized type: int8 [-128,127] (symmetric: [-127,127]),
 * uint8 [0,255], int4 [-8,7] (symmetric: [-7,7]), uint4 [0,15], int16,
 * uint16. False for other types. */
bool oc_q_range(int dtype, bool symmetric, int32_t *qmin, int32_t *qmax);

typedef struct oc_qparams {
    float scale;
    int32_t zero_point;
} oc_qparams;

/* Scale and zero point for the float range [rmin, rmax], widened to hold 0
 * (so 0 is exact). Symmetric: zero point 0 (or the type's midpoint for
 * unsigned types: 128 / 8) and range +-max(|rmin|, |rmax|). A degenerate
 * range gives scale 1 (never 0, never subnormal). */
oc_qparams oc_q_params(float rmin, float rmax, int dtype, bool symmetric);

/* q = saturate(round_half_even(x / scale) + zero_point) */
int32_t oc_q_quantize1(float x, oc_qparams p, int32_t qmin, int32_t qmax);

/* A row-major [K, N] float matrix w as symmetric int8 (zero
 * point 0, values in [-qmax, qmax]) with one scale per column: amax[N]
 * gets each column's largest finite |w| (oc_q_absmax_cols), and
 * oc_q_symmetric8_cols writes what oc_q_quantize1 gives element by element,
 * in vector loops that read the matrix once, row by row. */
void oc_q_absmax_cols(const float *w, int64_t K, int64_t N, float *amax);
void oc_q_symmetric8_cols(const float *w, int64_t K, int64_t N, const float *scale, int32_t qmax, int8_t *q);

/* How to quantize a weight. */
typedef struct oc_qweight_opts {
    int dtype;      /* OC_DTYPE_INT8, UINT8, INT4, UINT4 */
    bool symmetric;
    int axis;       /* per-channel/blocked axis; -1 = per-tensor */
    int64_t block;  /* 0 = none; > 0: blocks of this many along `axis` (per-channel is block 0 with axis >= 0) */
    bool mse;       /* search clipping ranges minimising squared error, instead of min/max */
    /* Not NULL: quantize with these scales and zero points (an earlier
     * oc_quantize_weight of a weight of this shape with these options)
     * instead of fitting new ones; `mse` is then ignored. */
    const struct oc_qweight *fixed;
} oc_qweight_opts;

/* A quantized weight, ready to become DequantizeLinear inputs. */
typedef struct oc_qweight {
    void *data;           /* dtype in ONNX raw layout (4-bit: two per byte, low nibble first), malloc'd */
    size_t nbytes;
    float *scale;         /* malloc'd, scale_numel entries */
    void *zero_point;     /* malloc'd, same count, in dtype raw layout (4-bit packed) */
    size_t zp_nbytes;
    int scale_ndim;       /* 0 (scalar, per-tensor), 1 (per-channel: [dims[axis]]), or ndim (blocked: dims with dims[axis] = ceil(D / block)) */
    int64_t scale_dims[OC_MAX_DIMS];
    int64_t scale_numel;
    double sq_error;      /* sum of squared dequantization errors, for reports */
} oc_qweight;

/* Quantizes w (float32, numel = prod(dims)) as o says. Exact zeros stay
 * exactly zero after dequantization. */
oc_status oc_quantize_weight(oc_ctx *ctx, const float *w, int ndim, const int64_t *dims,
                             const oc_qweight_opts *o, oc_qweight *out);
void oc_qweight_free(oc_qweight *q);

/* The scale group (index into oc_qweight.scale) of element k of a weight of
 * shape dims quantized as o says. */
int64_t oc_qweight_group(int ndim, const int64_t *dims, const oc_qweight_opts *o, int64_t k);

/* Zero point of group g of q, whose elements are of type dtype. */
int32_t oc_qweight_zero_point(const oc_qweight *q, int dtype, int64_t g);

/* Bias for a quantized Conv/Gemm: int32 with scale = input_scale *
 * weight_scale[c] (one per output channel, or one), zero point 0. */
void oc_quantize_bias(const float *b, int64_t n, float input_scale, const float *w_scale, int64_t n_wscale,
                      int32_t *out, float *out_scale);

/* ---- calibration observers ---- */

typedef enum oc_calib_method {
    OC_CALIB_MINMAX = 0,
    OC_CALIB_PERCENTILE = 1,
    OC_CALIB_ENTROPY = 2,
    OC_CALIB_MSE = 3,
} oc_calib_method;

typedef struct oc_observer oc_observer;

/* percentile: e.g. 99.99 (for OC_CALIB_PERCENTILE). */
oc_observer *oc_observer_new(oc_calib_method method, double percentile);
void oc_observer_free(oc_observer *o);
/* Streams n values in; memory stays constant (a histogram whose range grows
 * by merging bins). NaN and infinities are ignored. */
void oc_observer_update(oc_observer *o, const float *x, size_t n);
/* The range to quantize to for dtype (uint8/int8...), after every update. */
void oc_observer_range(const oc_observer *o, int dtype, bool symmetric, float *rmin, float *rmax);
/* min and max seen */
void oc_observer_minmax(const oc_observer *o, float *mn, float *mx);

#endif
