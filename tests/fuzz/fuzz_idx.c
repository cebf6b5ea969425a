/* fuzz_idx.c: IDX image files (MNIST style), plain and gzip-compressed,
 * through the dataset reader.
 *
 * The input is written as it is to raw/t10k-images-idx3-ubyte and opened for
 * three inputs: no shape, float [N, 1, 28, 28] and uint8 [N, free]. Then the
 * same bytes are gzip-compressed by the harness (mutating the raw bytes
 * reaches far more of the reader than mutating a deflate stream would) into
 * gz/t10k-images-idx3-ubyte.gz, with a labels file beside it holding one
 * label per image the header declares (taken from the input), so the labels
 * path runs too. A file given as it is (not compressed by us) may also be a
 * gzip stream: seeds include some, which covers the reader's own gzip
 * checks (truncated trailer, data past the end). */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void write_gz(const char *path, const uint8_t *data, size_t n)
{
    gzFile g = gzopen(path, "wb1");
    if (!g) abort();
    if (n && gzwrite(g, data, (unsigned)n) != (int)n) abort();
    if (gzclose(g) != Z_OK) abort();
}

static void read_all(const char *src)
{
    oc_value v;
    oc_dim vd[OC_MAX_DIMS];
    oc_data_opts o = oc_data_opts_default();
    fz_input(&v, vd, "img", OC_DTYPE_UNDEFINED, -1, NULL);
    fz_read_dataset(src, &v, &o, 4);
    const int64_t nchw[4] = {-1, 1, 28, 28};
    fz_input(&v, vd, "img", OC_DTYPE_FLOAT, 4, nchw);
    o.split = 1;
    o.limit = 3;
    fz_read_dataset(src, &v, &o, 4);
    const int64_t flat[2] = {-1, -1};
    fz_input(&v, vd, "img", OC_DTYPE_UINT8, 2, flat);
    o.split = 2;
    o.split_frac = 0.25;
    o.seed = 7;
    fz_read_dataset(src, &v, &o, 4);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20)) return 0;
    char raw[600], gz[600], lab[600];
    fz_path(raw, sizeof(raw), "raw/t10k-images-idx3-ubyte");
    fz_path(gz, sizeof(gz), "gz/t10k-images-idx3-ubyte.gz");
    fz_path(lab, sizeof(lab), "gz/t10k-labels-idx1-ubyte.gz");
    fz_write(raw, data, size);
    read_all(raw);

    write_gz(gz, data, size);
    /* one label per image the header declares, when that is few */
    uint32_t n = size >= 8 ? (uint32_t)data[4] << 24 | (uint32_t)data[5] << 16 | (uint32_t)data[6] << 8 | data[7]
                           : 0;
    if (size >= 8 && n <= 4096) {
        uint8_t *l = malloc(8 + (size_t)n);
        if (!l) abort();
        memcpy(l, "\0\0\x08\x01", 4);
        memcpy(l + 4, data + 4, 4);
        for (uint32_t i = 0; i < n; i++) l[8 + i] = data[(8 + i) % size];
        write_gz(lab, l, 8 + (size_t)n);
        free(l);
    } else {
        fz_unlink(lab);
    }
    read_all(gz);
    return 0;
}
