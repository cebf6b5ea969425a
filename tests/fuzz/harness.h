/* harness.h: what onnxcomp's fuzz targets share.
 *
 * Each target is a libFuzzer entry point, LLVMFuzzerTestOneInput(), that
 * uses only the library's public API (lib/onnxcomp.h). The library reads
 * models and data from files, so a target writes its input into a private
 * scratch folder first (created on first use under $TMPDIR, else /dev/shm,
 * else /tmp; removed at exit).
 *
 * A target returns normally when the library rejects an input cleanly; it
 * aborts through FZ_CHECK when a property fails (a written model that does
 * not load, two writes that differ, an error without a message), so that
 * libFuzzer and the replay driver (replay.c) see it like any sanitizer
 * report. The same sources build with clang -fsanitize=fuzzer (scripts/fuzz.sh)
 * and with plain gcc + ASan + UBSan under replay.c (`make test`). */
#ifndef OC_FUZZ_HARNESS_H
#define OC_FUZZ_HARNESS_H

#include "onnxcomp.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Prints "fuzz check failed: <what>" with the location and aborts. */
#define FZ_CHECK(cond, ...)                                                   \
    do {                                                                      \
        if (!(cond)) fz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);         \
    } while (0)

_Noreturn void fz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The scratch folder of this process (made on first call; never NULL: a
 * folder that cannot be made aborts, it is not the input's fault). */
const char *fz_dir(void);
/* "<scratch>/<name>" into buf; sub-folders of name are created. */
const char *fz_path(char *buf, size_t cap, const char *name);
/* Replaces the file at path with n bytes of data (aborts on an I/O error). */
void fz_write(const char *path, const void *data, size_t n);
/* Removes a file if it exists. */
void fz_unlink(const char *path);
/* Removes "<scratch>/<name>" and everything under it, if it exists. */
void fz_remove_tree(const char *name);
/* Whether the two files exist with equal contents (both missing: true). */
bool fz_same_file(const char *a, const char *b);

/* A failed call must leave a one-line message and a status that is not OK. */
void fz_check_error(const oc_ctx *ctx, oc_status st);

/* Fills *v as a model input named `name` of element type dtype: ndim < 0
 * declares no shape; a dim of -1 is symbolic ("N"). dims_store holds ndim
 * entries and must outlive v. */
void fz_input(oc_value *v, oc_dim *dims_store, const char *name, int dtype, int ndim, const int64_t *dims);

/* Opens src as a data source for the one input v, reads up to max_samples
 * samples, and checks what comes back: the declared dims where fixed, the
 * element type asked for. Failures must carry a message. */
void fz_read_dataset(const char *src, const oc_value *v, const oc_data_opts *o, size_t max_samples);

/* Reads every byte of [p, p + n) (so ASan sees a buffer that is short). */
void fz_touch(const void *p, size_t n);

/* A 64-bit hash of the input, to pick variants without spending input bytes
 * on a selector (seeds stay plain files of their format). */
uint64_t fz_hash(const uint8_t *data, size_t size);

#endif
