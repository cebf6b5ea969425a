/* fuzz_pb.c: serialized TensorProto bytes (ONNX test data,
 * input_0.pb) through oc_ten_load_pb and the dataset reader.
 *
 * A tensor that loads must have consistent dims, element count and size, and
 * must be writable as .npy (or be refused with a message). Then the file is
 * opened as a data source three ways: the lone .pb file for an input without
 * a shape, for a float input of the tensor's rank with fixed dims, and the
 * test_data_set_0 folder holding it for an int64 input of symbolic dims. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char x[600], dir[600], y[600];
    fz_path(x, sizeof(x), "test_data_set_0/input_0.pb");
    fz_path(y, sizeof(y), "out.npy");
    fz_path(dir, sizeof(dir), "test_data_set_0");
    fz_write(x, data, size);

    oc_ctx ctx;
    oc_ctx_init(&ctx);
    oc_ten t;
    char name[64];
    oc_status st = oc_ten_load_pb(&ctx, x, &t, name, sizeof(name));
    int ndim = -1;
    int64_t dims[OC_MAX_DIMS];
    if (st == OC_OK) {
        FZ_CHECK(t.ndim >= 0 && t.ndim <= OC_MAX_DIMS, "rank %d", t.ndim);
        FZ_CHECK(memchr(name, 0, sizeof(name)) != NULL, "the name is not terminated");
        int64_t numel = 1;
        for (int k = 0; k < t.ndim; k++) numel *= t.dims[k];
        FZ_CHECK(numel == t.numel, "numel %lld for dims giving %lld", (long long)t.numel, (long long)numel);
        int64_t want = oc_tensor_expected_nbytes(t.dtype, t.numel);
        FZ_CHECK(want >= 0 && (size_t)want == t.nbytes, "%zu bytes for %lld elements of %s", t.nbytes,
                 (long long)t.numel, oc_dtype_name(t.dtype));
        fz_touch(t.data, t.nbytes);
        oc_ctx wctx;
        oc_ctx_init(&wctx);
        st = oc_npy_write(&wctx, y, &t);
        if (st != OC_OK) fz_check_error(&wctx, st);
        ndim = t.ndim;
        memcpy(dims, t.dims, sizeof(int64_t) * (size_t)t.ndim);
        oc_ten_release(&t);
    } else {
        fz_check_error(&ctx, st);
        FZ_CHECK(t.data == NULL, "a failed load left data");
    }

    oc_value v;
    oc_dim vd[OC_MAX_DIMS];
    int64_t sym[OC_MAX_DIMS] = {-1, -1, -1, -1, -1, -1, -1, -1};
    oc_data_opts o = oc_data_opts_default();
    fz_input(&v, vd, "x", OC_DTYPE_UNDEFINED, -1, NULL);
    fz_read_dataset(x, &v, &o, 1);
    if (ndim >= 0) {
        fz_input(&v, vd, "x", OC_DTYPE_FLOAT, ndim, dims);
        fz_read_dataset(x, &v, &o, 1);
        fz_input(&v, vd, "x", OC_DTYPE_INT64, ndim, sym);
        fz_read_dataset(dir, &v, &o, 1);
    } else {
        fz_input(&v, vd, "x", OC_DTYPE_INT64, 2, sym);
        fz_read_dataset(dir, &v, &o, 1);
    }
    return 0;
}
