/* common.h: what every module of libonnxcomp shares: the arena, error
 * reporting macros, and overflow-checked arithmetic.
 *
 * Errors: a fallible function returns oc_status and, on failure, has written
 * one line into ctx->msg through oc_fail(). RETURN_ERROR_IF and FORWARD_IF_ERROR
 * keep each error path one line long. */
#ifndef OC_COMMON_H
#define OC_COMMON_H

#include "../onnxcomp.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define OC_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define OC_PRINTF(a, b)
#endif

/* Lets a min/max loop use the vector min/max (the caller has checked the
 * values are finite, and a signed zero is no range's end). GCC only: clang
 * has no per-function optimize attribute and keeps the scalar order. */
#if defined(__GNUC__) && !defined(__clang__)
#define OC_FINITE_MINMAX __attribute__((optimize("finite-math-only", "no-signed-zeros")))
#else
#define OC_FINITE_MINMAX
#endif

/* Records a failure in ctx and returns st. */
oc_status oc_fail(oc_ctx *ctx, oc_status st, const char *fmt, ...) OC_PRINTF(3, 4);

#define RETURN_ERROR_IF(cond, ctx, st, ...)                                   \
    do {                                                                      \
        if (cond) return oc_fail((ctx), (st), __VA_ARGS__);                   \
    } while (0)

#define FORWARD_IF_ERROR(expr)                                                \
    do {                                                                      \
        oc_status fwd_st_ = (expr);                                           \
        if (fwd_st_ != OC_OK) return fwd_st_;                                 \
    } while (0)

/* ---- arena: chunked bump allocator, freed all at once ---- */
typedef struct oc_arena oc_arena;

oc_arena *oc_arena_new(void);
void oc_arena_free(oc_arena *a);
/* Zeroed, 16-byte aligned memory; NULL when out of memory. */
void *oc_arena_alloc(oc_arena *a, size_t size);
void *oc_arena_array(oc_arena *a, size_t n, size_t elem);
char *oc_arena_strdup(oc_arena *a, const char *s);
void *oc_arena_memdup(oc_arena *a, const void *p, size_t n);
size_t oc_arena_used(const oc_arena *a);

/* ---- checked arithmetic ---- */
static inline bool oc_mul_overflow_i64(int64_t a, int64_t b, int64_t *out)
{
    return __builtin_mul_overflow(a, b, out);
}
static inline bool oc_mul_overflow_size(size_t a, size_t b, size_t *out)
{
    return __builtin_mul_overflow(a, b, out);
}

/* Allocation hook: every malloc-like call in lib goes through these, so a
 * test can fail the Nth one (oc_alloc_fail_at, oc_alloc_fail_once in
 * onnxcomp.h; lib/common/hooks.c). */
void *oc_malloc(size_t n);
void *oc_calloc(size_t n, size_t size);
void *oc_realloc(void *p, size_t n);
void oc_free(void *p);
/* Aligned storage (align a power of two >= sizeof(void*)); oc_aligned_free. */
void *oc_aligned_alloc(size_t align, size_t n);
void oc_aligned_free(void *p);
/* I/O hook: the writer calls this before each file-system call that can
 * fail (create, write, close, link, rename); non-zero is the errno the call
 * must fail with (oc_io_fail_at in onnxcomp.h). */
int oc_io_fail_check(void);

/* float16 / bfloat16 bit patterns: round to nearest even, NaN kept NaN,
 * overflow to infinity (lib/common/dtype.c). */
float oc_half_to_float(uint16_t h);
uint16_t oc_float_to_half(float f);
/* n floats at src (any alignment) to float16, each first clamped to
 * [-limit, limit] when limit > 0 (NaN stays NaN): oc_float_to_half's bits,
 * eight at a time with F16C where the CPU has it. */
void oc_float_to_half_n(const void *src, uint16_t *dst, size_t n, float limit);
float oc_bf16_to_float(uint16_t h);
uint16_t oc_float_to_bf16(float f);

/* Growable array helper: ensures *cap >= need, elements of `elem` bytes,
 * allocated from the arena (old contents copied). */
bool oc_arena_grow(oc_arena *a, void **arr, size_t *cap, size_t need, size_t elem);

#endif
