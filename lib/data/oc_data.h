/* oc_data.h: sample data for the interpreter (`--data SRC` of `onnxcomp run`,
 * `eval` and calibration). Public API; to be merged into onnxcomp.h.
 *
 * A data source is opened against the model's inputs (the graph inputs that
 * are not initializers, in order) and yields one tensor per input for each
 * sample, already shaped, typed and normalized to fit. What SRC holds is told
 * from what is there:
 *   - a folder of .npy files (one per input) = one sample, or a folder of such
 *     folders = one sample each (optional labels.txt: one integer per sample);
 *   - ONNX test data: a test_data_set_N folder (input_0.pb ...), or a folder
 *     holding test_data_set_* folders;
 *   - an IDX images file (MNIST style, maybe .gz) with its sibling labels file;
 *   - a folder of PNG/JPEG images, or of class sub-folders of images;
 *   - a single .npy, .pb, PNG or JPEG file = one sample of a one-input model.
 *
 * A worked example: feed every calibration sample of a folder to a session.
 *
 *     oc_data_opts o = oc_data_opts_default();
 *     o.split = 1;                       // the calibration part
 *     const oc_value *ins[8];
 *     size_t n = oc_session_n_inputs(s);
 *     for (size_t i = 0; i < n; i++) ins[i] = oc_session_input(s, i);
 *     oc_dataset *d = NULL;
 *     if (oc_dataset_open(&ctx, "images/", n, ins, &o, &d) != OC_OK) return ...;
 *     for (size_t i = 0; i < oc_dataset_count(d); i++) {
 *         oc_ten in[8] = {0}, out[8] = {0};
 *         int64_t label;
 *         if (oc_dataset_get(&ctx, d, i, in, &label) != OC_OK) break; // names the file
 *         oc_session_run(&ctx, s, in, out);
 *         ...
 *         for (size_t k = 0; k < n; k++) oc_ten_release(&in[k]);
 *     }
 *     oc_dataset_free(d);
 *
 * Errors name the file and the input: "a/x.npy: input 'img': shape [1,3,32,32]
 * does not fit the input's [N,3,224,224]". Samples come sorted by name (byte
 * order) so runs are deterministic; the calibration and evaluation parts of a
 * split never overlap. oc_dataset_get() keeps no state between calls, so
 * different samples may be read from several threads at once.
 */
#ifndef OC_DATA_H
#define OC_DATA_H

#include "../onnxcomp.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct oc_data_opts {
    /* images: 0 = from the model input's shape (channels 1 or 3 at axis 1 =>
     * NCHW, else at the last axis => NHWC), 1 = NCHW, 2 = NHWC */
    int layout;
    /* images: 0 = take H, W from the model input's fixed dims (an error when
     * they are symbolic and not given here) */
    int resize_w, resize_h;
    bool bgr;                /* images: channel order BGR instead of RGB */
    float scale;             /* pixel (0..255) times scale; default 1/255 */
    /* then (x - mean[c]) / std[c], c in the output channel order (BGR when
     * bgr is set); defaults 0 and 1. Grey inputs use [0]. IDX pixels use [0]. */
    float mean[3], std[3];
    size_t limit;            /* at most this many samples (0 = all), after the split */
    int split;               /* 0 = all samples; 1 = the calibration part; 2 = the evaluation part */
    double split_frac;       /* share of samples in the calibration part (default 0.5) */
    uint64_t seed;           /* shuffle seed of the split (0: a fixed constant) */
} oc_data_opts;

oc_data_opts oc_data_opts_default(void);

typedef struct oc_dataset oc_dataset;

/* Opens SRC for a model whose inputs (non-initializer graph inputs, in
 * order) are given; `o` may be NULL for the defaults. The dataset copies what
 * it needs from `inputs`. Checks the layout of SRC, every .npy header and the
 * first selected sample, so a source that does not fit fails here. On
 * success *out is freed with oc_dataset_free(). An empty selection is an
 * error (OC_ERR_USAGE). */
oc_status oc_dataset_open(oc_ctx *ctx, const char *src, size_t n_inputs, const oc_value *const *inputs,
                          const oc_data_opts *o, oc_dataset **out);
/* Samples selected (after split and limit). */
size_t oc_dataset_count(const oc_dataset *d);
bool oc_dataset_has_labels(const oc_dataset *d);
/* Fills inputs[0..n_inputs) with new tensors (the caller releases them with
 * oc_ten_release) for sample i < oc_dataset_count(d); *label (may be NULL)
 * receives the class index, or -1 without labels. On failure nothing is left
 * allocated in inputs[]. */
oc_status oc_dataset_get(oc_ctx *ctx, oc_dataset *d, size_t i, oc_ten *inputs, int64_t *label);
/* The sample's file or folder path, or "idx:<index in the file>"; NULL when
 * i is out of range. Owned by the dataset. */
const char *oc_dataset_sample_name(const oc_dataset *d, size_t i);
void oc_dataset_free(oc_dataset *d);
/* What SRC was taken for: "npy", "ONNX test data", "IDX" or "image". */
const char *oc_dataset_kind_name(const oc_dataset *d);

/* Reads a NumPy .npy file (versions 1.0, 2.0, 3.0; little-endian
 * f2 f4 f8 i1 u1 i2 u2 i4 u4 i8 u8 b1; C order; rank <= OC_MAX_DIMS) into a
 * new tensor the caller releases. */
oc_status oc_npy_read(oc_ctx *ctx, const char *path, oc_ten *out);
/* Writes t as a version 1.0 .npy file through a temporary file in the same
 * folder, renamed into place when complete (an existing file is replaced).
 * Types numpy lacks are written as their bits, as ONNX's test data does:
 * bfloat16 as <u2, float8 as |u1; INT4/UINT4/FLOAT4E2M1 one element per
 * byte (|i1 sign-extended, |u1, |u1 codes). Strings are refused. */
oc_status oc_npy_write(oc_ctx *ctx, const char *path, const oc_ten *t);

#ifdef __cplusplus
}
#endif
#endif
