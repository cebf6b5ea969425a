/* test_common.c: arena, string map, dtype table, status codes, alloc hook. */
#include "common/common.h"
#include "common/strmap.h"
#include "unit.h"

#include <stdint.h>

static void arena_alignment_and_big_blocks(void)
{
    oc_arena *a = oc_arena_new();
    CHECK(a != NULL);
    for (int i = 1; i < 200; i++) {
        unsigned char *p = oc_arena_alloc(a, (size_t)i * 7);
        CHECK(p != NULL);
        CHECK(((uintptr_t)p & 15) == 0);
        for (int k = 0; k < i * 7; k++) CHECK(p[k] == 0);
        memset(p, 0xab, (size_t)i * 7);
    }
    void *big = oc_arena_alloc(a, 1 << 20);
    CHECK(big != NULL && ((uintptr_t)big & 15) == 0);
    char *s = oc_arena_strdup(a, "hello");
    CHECK(s && strcmp(s, "hello") == 0);
    CHECK(oc_arena_strdup(a, NULL) == NULL);
    CHECK(oc_arena_array(a, SIZE_MAX / 2, 4) == NULL); /* overflow refused */
    oc_arena_free(a);
    oc_arena_free(NULL);
}

static void arena_grow_keeps_contents(void)
{
    oc_arena *a = oc_arena_new();
    int *arr = NULL;
    size_t cap = 0;
    for (int i = 0; i < 1000; i++) {
        CHECK(oc_arena_grow(a, (void **)&arr, &cap, (size_t)i + 1, sizeof(int)));
        arr[i] = i;
    }
    for (int i = 0; i < 1000; i++) CHECK(arr[i] == i);
    oc_arena_free(a);
}

static void strmap_put_get(void)
{
    oc_strmap m;
    oc_strmap_init(&m);
    char keys[3000][16];
    for (int i = 0; i < 3000; i++) {
        snprintf(keys[i], sizeof(keys[i]), "k%d", i);
        bool added = false;
        oc_strmap_entry *e = oc_strmap_put(&m, keys[i], &added);
        CHECK(e && added);
        e->aux = (uint32_t)i;
    }
    bool added = true;
    CHECK(oc_strmap_put(&m, "k17", &added) && !added);
    for (int i = 0; i < 3000; i++) {
        oc_strmap_entry *e = oc_strmap_get(&m, keys[i]);
        CHECK(e && e->aux == (uint32_t)i);
    }
    CHECK(oc_strmap_get(&m, "nope") == NULL);
    CHECK_EQ_INT(m.count, 3000);
    oc_strmap_free(&m);
}

static void dtype_table(void)
{
    CHECK_EQ_INT(oc_dtype_bits(OC_DTYPE_FLOAT), 32);
    CHECK_EQ_INT(oc_dtype_bits(OC_DTYPE_INT4), 4);
    CHECK_EQ_INT(oc_dtype_bits(OC_DTYPE_BFLOAT16), 16);
    CHECK_EQ_INT(oc_dtype_bits(OC_DTYPE_COMPLEX128), 128);
    CHECK_EQ_INT(oc_dtype_bits(999), 0);
    CHECK(strcmp(oc_dtype_name(OC_DTYPE_FLOAT16), "f16") == 0);
    CHECK(strcmp(oc_dtype_name(-1), "?") == 0);
    CHECK(!oc_dtype_valid(0) && oc_dtype_valid(22) && !oc_dtype_valid(OC_DTYPE_COUNT));
    CHECK_EQ_INT(oc_tensor_expected_nbytes(OC_DTYPE_INT4, 5), 3);
    CHECK_EQ_INT(oc_tensor_expected_nbytes(OC_DTYPE_FLOAT, 5), 20);
    CHECK_EQ_INT(oc_tensor_expected_nbytes(OC_DTYPE_DOUBLE, INT64_MAX / 4), -1);
}

static void status_codes(void)
{
    CHECK_EQ_INT(oc_status_exit_code(OC_OK), 0);
    CHECK_EQ_INT(oc_status_exit_code(OC_ERR_USAGE), 1);
    CHECK_EQ_INT(oc_status_exit_code(OC_ERR_READ), 2);
    CHECK_EQ_INT(oc_status_exit_code(OC_ERR_INVALID), 3);
    CHECK_EQ_INT(oc_status_exit_code(OC_ERR_WRITE), 4);
    CHECK_EQ_INT(oc_status_exit_code(OC_ERR_UNSUPPORTED), 5);
    CHECK_EQ_INT(oc_status_exit_code(OC_ERR_NOMEM), 6);
    CHECK_EQ_INT(oc_status_exit_code(OC_ERR_INTERNAL), 7);
    oc_ctx ctx;
    oc_ctx_init(&ctx);
    CHECK(oc_fail(&ctx, OC_ERR_INVALID, "first\nline %d", 1) == OC_ERR_INVALID);
    oc_fail(&ctx, OC_ERR_READ, "second");
    CHECK(strcmp(ctx.msg, "first line 1") == 0); /* first failure kept, one line */
    CHECK(ctx.status == OC_ERR_INVALID);
}

static void alloc_hook_fails_nth(void)
{
    oc_alloc_fail_at(3);
    void *a = oc_malloc(8), *b = oc_malloc(8), *c = oc_malloc(8);
    CHECK(a && b && !c);
    oc_free(a);
    oc_free(b);
    uint64_t n = oc_alloc_fail_at(0);
    CHECK_EQ_INT(n, 3);
    void *d = oc_malloc(8);
    CHECK(d != NULL);
    oc_free(d);
}

/* float16 conversion: known bit patterns, and the eight-at-a-time path
 * (F16C where the CPU has it) against the one-at-a-time one, clamped and
 * not, from a misaligned buffer, on rounding ties, subnormals, overflow,
 * infinities and NaNs with payloads (all 2^32 floats agreed once, by a
 * throwaway program: too slow for the suite) */
static void float_to_half(void)
{
    CHECK_EQ_INT(oc_float_to_half(1.0f), 0x3c00);
    CHECK_EQ_INT(oc_float_to_half(-2.0f), 0xc000);
    CHECK_EQ_INT(oc_float_to_half(65504.0f), 0x7bff);
    CHECK_EQ_INT(oc_float_to_half(65520.0f), 0x7c00);           /* rounds up to infinity */
    CHECK_EQ_INT(oc_float_to_half(5.9604645e-8f), 0x0001);      /* the smallest subnormal */
    CHECK_EQ_INT(oc_float_to_half(2.9802322e-8f), 0x0000);      /* half of it: a tie, to even */
    CHECK_EQ_INT(oc_float_to_half(1.0f + 1.0f / 2048), 0x3c00); /* a tie at 1: to even */
    enum { N = 4099 };
    static unsigned char raw[N * 4 + 3];
    static uint32_t bits[N];
    static uint16_t got[N];
    uint64_t r = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < N; i++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        bits[i] = (uint32_t)r;
        if (i % 5 == 0) bits[i] = (bits[i] & 0x80001fffu) | (uint32_t)(0x33 + i % 80) << 23; /* near half's range */
        if (i % 5 == 1) bits[i] = (bits[i] & 0x807fe000u) | 0x1000u | (uint32_t)(100 + i % 40) << 23; /* ties */
    }
    const uint32_t special[] = {0x7f800000u, 0xff800000u, 0x7fc00000u, 0xffc00001u, 0x7f800001u, 0x7fbfffffu,
                                0x477ff000u, 0x477fefffu, 0x00000001u, 0x80000000u, 0x33000000u, 0x33000001u};
    for (size_t k = 0; k < sizeof(special) / sizeof(special[0]); k++) bits[k * 7 + 3] = special[k];
    memcpy(raw + 3, bits, sizeof(bits));
    for (int li = 0; li < 2; li++) {
        const float lim = li ? 65504.0f : 0.0f;
        oc_float_to_half_n(raw + 3, got, N, lim);
        int bad = 0;
        for (int i = 0; i < N; i++) {
            float f;
            memcpy(&f, &bits[i], 4);
            if (lim > 0) f = f > lim ? lim : (f < -lim ? -lim : f);
            bad += got[i] != oc_float_to_half(f);
        }
        CHECK_EQ_INT(bad, 0);
    }
    oc_float_to_half_n(raw + 3, got, 0, 0); /* nothing to do */
}

int main(void)
{
    RUN(arena_alignment_and_big_blocks);
    RUN(arena_grow_keeps_contents);
    RUN(strmap_put_get);
    RUN(dtype_table);
    RUN(float_to_half);
    RUN(status_codes);
    RUN(alloc_hook_fails_nth);
    UNIT_END("common");
}
