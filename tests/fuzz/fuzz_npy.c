/* fuzz_npy.c: .npy bytes through oc_npy_read, oc_npy_write and the dataset
 * reader.
 *
 * A file oc_npy_read accepts must come back from oc_npy_write + oc_npy_read
 * as the same type, dims and bytes. Then the file is opened as a data source
 * for a model input four ways (no shape; float with a symbolic batch;
 * int64 of the file's rank, all symbolic; uint8 with the file's dims fixed),
 * which exercises the header check, the shape fit and element conversion. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char x[600], y[600];
    fz_path(x, sizeof(x), "npy/x.npy");
    fz_path(y, sizeof(y), "npy/y.npy");
    fz_write(x, data, size);

    oc_ctx ctx;
    oc_ctx_init(&ctx);
    oc_ten t, u;
    memset(&u, 0, sizeof(u));
    oc_status st = oc_npy_read(&ctx, x, &t);
    int ndim = -1;
    int64_t dims[OC_MAX_DIMS];
    if (st == OC_OK) {
        FZ_CHECK(t.ndim >= 0 && t.ndim <= OC_MAX_DIMS, "rank %d", t.ndim);
        int bits = oc_dtype_bits(t.dtype);
        FZ_CHECK(bits > 0 && t.nbytes == (size_t)t.numel * (size_t)(bits / 8), "%zu bytes for %lld elements of %s",
                 t.nbytes, (long long)t.numel, oc_dtype_name(t.dtype));
        st = oc_npy_write(&ctx, y, &t);
        FZ_CHECK(st == OC_OK, "a tensor read from .npy cannot be written back: %s", ctx.msg);
        st = oc_npy_read(&ctx, y, &u);
        FZ_CHECK(st == OC_OK, "a written .npy does not read: %s", ctx.msg);
        FZ_CHECK(u.dtype == t.dtype && u.ndim == t.ndim && u.nbytes == t.nbytes &&
                     !memcmp(u.dims, t.dims, sizeof(int64_t) * (size_t)t.ndim) &&
                     (t.nbytes == 0 || !memcmp(u.data, t.data, t.nbytes)),
                 "a .npy changes when written and read back");
        ndim = t.ndim;
        memcpy(dims, t.dims, sizeof(int64_t) * (size_t)t.ndim);
        oc_ten_release(&t);
        oc_ten_release(&u);
    } else {
        fz_check_error(&ctx, st);
        FZ_CHECK(t.data == NULL, "a failed read left data");
    }

    oc_value v;
    oc_dim vd[OC_MAX_DIMS];
    int64_t sym[OC_MAX_DIMS] = {-1, -1, -1, -1, -1, -1, -1, -1};
    oc_data_opts o = oc_data_opts_default();
    fz_input(&v, vd, "x", OC_DTYPE_UNDEFINED, -1, NULL);
    fz_read_dataset(x, &v, &o, 1);
    int64_t batch[2] = {-1, 4};
    fz_input(&v, vd, "x", OC_DTYPE_FLOAT, 2, batch);
    fz_read_dataset(x, &v, &o, 1);
    if (ndim >= 0) {
        fz_input(&v, vd, "x", OC_DTYPE_INT64, ndim, sym);
        fz_read_dataset(x, &v, &o, 1);
        fz_input(&v, vd, "x", OC_DTYPE_UINT8, ndim, dims);
        fz_read_dataset(x, &v, &o, 1);
    }
    return 0;
}
