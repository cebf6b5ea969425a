/* data.h: internals of the sample-data module: the .npy header reader, the
 * IDX file reader, image decoding and preprocessing, and element conversion.
 *
 * Convention: functions that read a file take `who`, the text an error
 * message starts with ("a/x.npy" or "a/x.npy: input 'img'"), and report
 * "<who>: <problem>" through oc_fail(). Every length and count read from a
 * file is checked against what the file holds before it is used. */
#ifndef OC_DATA_INTERNAL_H
#define OC_DATA_INTERNAL_H

#include "../common/common.h"
#include "oc_data.h"

/* Longest side of an image we decode; larger declared sizes are refused. */
#define OC_IMAGE_MAX_SIDE 16384

/* ---- npy (npy.c) ---- */

typedef struct oc_npy_info {
    int dtype;                   /* oc_dtype */
    int ndim;
    int64_t dims[OC_MAX_DIMS];
    int64_t numel;
    size_t data_off;             /* where the array data starts */
    size_t nbytes;               /* numel * element size, == file size - data_off */
} oc_npy_info;

/* Reads and checks the header of the .npy file at path (and that the file
 * holds exactly the data it declares) without reading the data. */
oc_status oc_npy_peek(oc_ctx *ctx, const char *path, const char *who, oc_npy_info *info);
/* oc_npy_read with the message prefix `who`. */
oc_status oc_npy_load(oc_ctx *ctx, const char *path, const char *who, oc_ten *out);

/* ---- IDX (idx.c) ---- */

typedef struct oc_idx {
    int type;                    /* IDX type code: 0x08 u8, 0x09 i8, 0x0B i16, ... */
    int ndim;
    int64_t dims[OC_MAX_DIMS];
    uint8_t *data;               /* big-endian elements as in the file; oc_free */
    size_t nbytes;
} oc_idx;

/* True when the file (gzip or plain) starts like an IDX file. */
bool oc_idx_sniff(const char *path);
/* Reads a whole IDX file (gzip or plain). Only unsigned-byte files are
 * accepted (the MNIST family); the rank must be 1..OC_MAX_DIMS. */
oc_status oc_idx_load(oc_ctx *ctx, const char *path, oc_idx *out);
void oc_idx_free(oc_idx *x);
/* The labels file beside an images file ("...-images-idx3-ubyte[.gz]" ->
 * "...-labels-idx1-ubyte[.gz]") written into buf when it exists. */
bool oc_idx_labels_path(const char *images, char *buf, size_t cap);

/* ---- images (image.c) ---- */

typedef struct oc_image {
    int w, h;
    uint8_t *rgb;                /* h rows of w RGB triples; oc_free */
} oc_image;

/* Decodes a PNG or JPEG (told by its first bytes) to 8-bit RGB: grey is
 * replicated, alpha dropped, 16-bit scaled to 8, palettes expanded, CMYK
 * converted. Truncated or corrupt files and sides over OC_IMAGE_MAX_SIDE
 * fail with OC_ERR_INVALID (OC_ERR_READ when the file cannot be opened). */
oc_status oc_image_decode(oc_ctx *ctx, const char *path, const char *who, oc_image *out);
void oc_image_free(oc_image *im);
/* True for names ending in .png, .jpg or .jpeg (any case). */
bool oc_image_name_ok(const char *name);

typedef struct oc_image_prep {
    int layout;                  /* 1 NCHW, 2 NHWC */
    bool batch;                  /* a leading batch dim of 1 */
    int channels;                /* 1 (luma) or 3 */
    int w, h;
    bool bgr;
    int dtype;                   /* FLOAT, FLOAT16, DOUBLE (normalized) or UINT8 (raw pixels) */
    float scale, mean[3], std[3];
} oc_image_prep;

/* Resizes (bilinear, half-pixel centres), reorders and normalizes im into a
 * new tensor shaped by p. */
oc_status oc_image_to_tensor(oc_ctx *ctx, const oc_image *im, const oc_image_prep *p, oc_ten *out);
/* Bilinear resize with half-pixel centres of an interleaved 8-bit image with
 * `ch` channels to dw x dh, as floats in 0..255 (interleaved); false when
 * out of memory for its index tables. */
bool oc_image_resize(const uint8_t *src, int sw, int sh, int ch, float *dst, int dw, int dh);

/* ---- element conversion (npy.c) ---- */

float oc_data_half_to_float(uint16_t h);
uint16_t oc_data_float_to_half(float f);
/* Bytes per element for the fixed-width numeric types we read, else 0. */
size_t oc_data_elem_size(int dtype);

#endif
