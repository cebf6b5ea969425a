/* fuzz_image.c: PNG and JPEG bytes through the dataset reader (libpng and
 * libjpeg behind lib/data/image.c, then resize and normalization).
 *
 * The file is named x.png or x.jpg by its first bytes (anything else gets
 * .png, so the reader's own refusal of a misnamed file runs too) and opened
 * for two inputs: float NCHW [1, 3, 16, 16], and a shapeless uint8 input
 * resized to 12 x 10 NHWC in BGR with a mean and std. */
#include "harness.h"

#include <stdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bool jpeg = size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF;
    char x[600];
    fz_path(x, sizeof(x), jpeg ? "img/x.jpg" : "img/x.png");
    fz_write(x, data, size);

    oc_value v;
    oc_dim vd[4];
    oc_data_opts o = oc_data_opts_default();
    const int64_t nchw[4] = {1, 3, 16, 16};
    fz_input(&v, vd, "img", OC_DTYPE_FLOAT, 4, nchw);
    fz_read_dataset(x, &v, &o, 1);

    fz_input(&v, vd, "img", OC_DTYPE_UINT8, -1, NULL);
    o.layout = 2;
    o.resize_w = 12;
    o.resize_h = 10;
    o.bgr = true;
    o.mean[0] = 0.5f;
    o.std[0] = 0.25f;
    fz_read_dataset(x, &v, &o, 1);
    fz_unlink(x);
    return 0;
}
