/* kernel_test.h: attribute builders the kernel tests share (test_ops_*.c):
 * an oc_attr of each kind, on the stack, pointing at the caller's data. */
#ifndef OC_KERNEL_TEST_H
#define OC_KERNEL_TEST_H

#include "onnxcomp.h"

#include <string.h>

static inline oc_attr ut_attr(const char *name, int type)
{
    oc_attr a;
    memset(&a, 0, sizeof(a));
    a.name = name;
    a.has_type = true;
    a.type = type;
    return a;
}

static inline oc_attr ut_attr_int(const char *name, int64_t v)
{
    oc_attr a = ut_attr(name, OC_ATTR_INT);
    a.i = v;
    a.has_i = true;
    return a;
}

static inline oc_attr ut_attr_float(const char *name, float v)
{
    oc_attr a = ut_attr(name, OC_ATTR_FLOAT);
    a.f = v;
    a.has_f = true;
    return a;
}

static inline oc_attr ut_attr_str(const char *name, const char *s)
{
    oc_attr a = ut_attr(name, OC_ATTR_STRING);
    a.s.data = (const uint8_t *)s;
    a.s.len = strlen(s);
    a.has_s = true;
    return a;
}

static inline oc_attr ut_attr_ints(const char *name, const int64_t *v, size_t n)
{
    oc_attr a = ut_attr(name, OC_ATTR_INTS);
    a.ints = (int64_t *)v;
    a.n_ints = n;
    return a;
}

static inline oc_attr ut_attr_floats(const char *name, const float *v, size_t n)
{
    oc_attr a = ut_attr(name, OC_ATTR_FLOATS);
    a.floats = (float *)v;
    a.n_floats = n;
    return a;
}

static inline oc_attr ut_attr_tensor(const char *name, oc_tensor *t)
{
    oc_attr a = ut_attr(name, OC_ATTR_TENSOR);
    a.t = t;
    return a;
}

#endif
