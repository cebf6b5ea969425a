/* arena.c: the chunked bump allocator every model keeps its graph in.
 *
 * Nodes, names, attributes and small tensors are allocated here and freed
 * together with the model; nothing in the IR is freed one by one. Requests
 * larger than a quarter chunk get a chunk of their own so a big tensor does
 * not waste the rest of a shared one. */
#include "common.h"

#include <stdlib.h>
#include <string.h>

#define CHUNK_SIZE ((size_t)64 * 1024)
#define ALIGN 16

typedef struct chunk {
    struct chunk *next;
    size_t size, used;
    _Alignas(16) unsigned char mem[];
} chunk;

struct oc_arena {
    chunk *head;
    size_t total;
};

oc_arena *oc_arena_new(void)
{
    return oc_calloc(1, sizeof(oc_arena));
}

void oc_arena_free(oc_arena *a)
{
    if (!a) return;
    chunk *c = a->head;
    while (c) {
        chunk *n = c->next;
        oc_free(c);
        c = n;
    }
    oc_free(a);
}

static chunk *chunk_new(size_t size)
{
    if (size > SIZE_MAX - sizeof(chunk)) return NULL;
    chunk *c = oc_malloc(sizeof(chunk) + size);
    if (!c) return NULL;
    c->next = NULL;
    c->size = size;
    c->used = 0;
    return c;
}

void *oc_arena_alloc(oc_arena *a, size_t size)
{
    if (size == 0) size = 1;
    if (size > SIZE_MAX - ALIGN) return NULL;
    size_t need = (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    chunk *c = a->head;
    if (need > CHUNK_SIZE / 4) {
        chunk *big = chunk_new(need);
        if (!big) return NULL;
        big->used = need;
        /* keep the current head chunk first so its space stays in use */
        if (c) {
            big->next = c->next;
            c->next = big;
        } else {
            a->head = big;
        }
        a->total += need;
        memset(big->mem, 0, need);
        return big->mem;
    }
    if (!c || c->size - c->used < need) {
        c = chunk_new(CHUNK_SIZE);
        if (!c) return NULL;
        c->next = a->head;
        a->head = c;
    }
    void *p = c->mem + c->used;
    c->used += need;
    a->total += need;
    memset(p, 0, need);
    return p;
}

void *oc_arena_array(oc_arena *a, size_t n, size_t elem)
{
    size_t bytes;
    if (oc_mul_overflow_size(n, elem, &bytes)) return NULL;
    return oc_arena_alloc(a, bytes);
}

void *oc_arena_memdup(oc_arena *a, const void *p, size_t n)
{
    void *q = oc_arena_alloc(a, n);
    if (q && n) memcpy(q, p, n);
    return q;
}

char *oc_arena_strdup(oc_arena *a, const char *s)
{
    if (!s) return NULL;
    size_t n = strlen(s);
    char *q = oc_arena_alloc(a, n + 1);
    if (q) memcpy(q, s, n + 1);
    return q;
}

size_t oc_arena_used(const oc_arena *a)
{
    return a->total;
}

bool oc_arena_grow(oc_arena *a, void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return true;
    size_t ncap = *cap ? *cap * 2 : 8;
    while (ncap < need) ncap *= 2;
    void *n = oc_arena_array(a, ncap, elem);
    if (!n) return false;
    if (*arr && *cap) memcpy(n, *arr, *cap * elem);
    *arr = n;
    *cap = ncap;
    return true;
}
