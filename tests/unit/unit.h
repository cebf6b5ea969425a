/* unit.h: a minimal test harness. Each CHECK prints nothing when it holds and
 * one "FAIL file:line: expr" line when it does not; each TEST prints
 * "PASS name" or "FAIL name"; main ends with "unit <file>: N passed, N failed". */
#ifndef OC_UNIT_H
#define OC_UNIT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int unit_passed, unit_failed, unit_case_failed;

#define CHECK(cond)                                                               \
    do {                                                                          \
        if (!(cond)) {                                                            \
            printf("  check failed %s:%d: %s\n", __FILE__, __LINE__, #cond);     \
            unit_case_failed = 1;                                                 \
        }                                                                         \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                        \
    do {                                                                          \
        long long a_ = (long long)(a), b_ = (long long)(b);                       \
        if (a_ != b_) {                                                           \
            printf("  check failed %s:%d: %s == %s (%lld vs %lld)\n", __FILE__,   \
                   __LINE__, #a, #b, a_, b_);                                     \
            unit_case_failed = 1;                                                 \
        }                                                                         \
    } while (0)

#define RUN(fn)                                                                   \
    do {                                                                          \
        unit_case_failed = 0;                                                     \
        fn();                                                                     \
        if (unit_case_failed) {                                                   \
            printf("FAIL %s\n", #fn);                                             \
            unit_failed++;                                                        \
        } else {                                                                  \
            printf("PASS %s\n", #fn);                                             \
            unit_passed++;                                                        \
        }                                                                         \
    } while (0)

#define UNIT_END(name)                                                            \
    do {                                                                          \
        printf("unit %s: %d passed, %d failed\n", name, unit_passed, unit_failed); \
        return unit_failed ? 1 : 0;                                               \
    } while (0)

#endif
