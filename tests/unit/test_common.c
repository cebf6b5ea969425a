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

int main(void)
{
    RUN(arena_alignment_and_big_blocks);
    RUN(arena_grow_keeps_contents);
    RUN(strmap_put_get);
    RUN(dtype_table);
    RUN(status_codes);
    RUN(alloc_hook_fails_nth);
    UNIT_END("common");
}
