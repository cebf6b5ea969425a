/* hooks.c: the seams failure tests pull on.
 *
 * Every allocation libonnxcomp makes goes through oc_malloc and friends, and
 * every file-system call the model writer makes asks oc_io_fail_check()
 * first, so a test can make the Nth allocation (oc_alloc_fail_at,
 * oc_alloc_fail_once) or the Nth writer I/O call (oc_io_fail_at) fail and
 * check that the library cleans up and says so. With no failure armed a
 * hook costs one relaxed atomic increment.
 *
 * Counters are process-wide and atomic, so interpreter threads may allocate
 * while a test counts; which allocation is "the Nth" is only reproducible
 * from one thread (the failure tests run with threads = 1). */
#include "common.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

/* ---- allocation ---- */

static _Atomic uint64_t alloc_count, alloc_fail_nth;
static _Atomic bool alloc_fail_only_nth;

static uint64_t arm_alloc(uint64_t nth, bool once)
{
    atomic_store(&alloc_fail_nth, 0);
    uint64_t n = atomic_exchange(&alloc_count, 0);
    atomic_store(&alloc_fail_only_nth, once);
    atomic_store(&alloc_fail_nth, nth);
    return n;
}

uint64_t oc_alloc_fail_at(uint64_t nth)
{
    return arm_alloc(nth, false);
}

uint64_t oc_alloc_fail_once(uint64_t nth)
{
    return arm_alloc(nth, true);
}

static bool should_fail(void)
{
    uint64_t c = atomic_fetch_add_explicit(&alloc_count, 1, memory_order_relaxed) + 1;
    uint64_t nth = atomic_load_explicit(&alloc_fail_nth, memory_order_relaxed);
    if (!nth) return false;
    return atomic_load_explicit(&alloc_fail_only_nth, memory_order_relaxed) ? c == nth : c >= nth;
}

void *oc_malloc(size_t n)
{
    if (should_fail()) return NULL;
    return malloc(n ? n : 1);
}

void *oc_calloc(size_t n, size_t size)
{
    if (should_fail()) return NULL;
    return calloc(n ? n : 1, size ? size : 1);
}

void *oc_realloc(void *p, size_t n)
{
    if (should_fail()) return NULL;
    return realloc(p, n ? n : 1);
}

void oc_free(void *p)
{
    free(p);
}

void *oc_aligned_alloc(size_t align, size_t n)
{
    if (should_fail()) return NULL;
    void *p = NULL;
    if (posix_memalign(&p, align, n ? n : 1) != 0) return NULL;
    return p;
}

void oc_aligned_free(void *p)
{
    free(p);
}

/* ---- writer I/O ---- */

static _Atomic uint64_t io_count, io_fail_nth;
static _Atomic int io_fail_errno;

uint64_t oc_io_fail_at(uint64_t nth, int err)
{
    atomic_store(&io_fail_nth, 0);
    uint64_t n = atomic_exchange(&io_count, 0);
    atomic_store(&io_fail_errno, err ? err : EIO);
    atomic_store(&io_fail_nth, nth);
    return n;
}

int oc_io_fail_check(void)
{
    uint64_t c = atomic_fetch_add_explicit(&io_count, 1, memory_order_relaxed) + 1;
    uint64_t nth = atomic_load_explicit(&io_fail_nth, memory_order_relaxed);
    if (!nth || c < nth) return 0;
    return atomic_load_explicit(&io_fail_errno, memory_order_relaxed);
}
