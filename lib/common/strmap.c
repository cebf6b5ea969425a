/* strmap.c: string-keyed hash map (FNV-1a, linear probing, load <= 1/2). */
#include "strmap.h"
#include "common.h"

#include <string.h>

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

void oc_strmap_init(oc_strmap *m)
{
    memset(m, 0, sizeof(*m));
}

void oc_strmap_free(oc_strmap *m)
{
    oc_free(m->slots);
    memset(m, 0, sizeof(*m));
}

static bool grow(oc_strmap *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 64;
    oc_strmap_entry *ns = oc_calloc(ncap, sizeof(*ns));
    if (!ns) return false;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].key) continue;
        size_t j = hash_str(m->slots[i].key) & (ncap - 1);
        while (ns[j].key) j = (j + 1) & (ncap - 1);
        ns[j] = m->slots[i];
    }
    oc_free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return true;
}

oc_strmap_entry *oc_strmap_put(oc_strmap *m, const char *key, bool *added)
{
    if ((m->count + 1) * 2 > m->cap && !grow(m)) return NULL;
    size_t j = hash_str(key) & (m->cap - 1);
    while (m->slots[j].key) {
        if (strcmp(m->slots[j].key, key) == 0) {
            if (added) *added = false;
            return &m->slots[j];
        }
        j = (j + 1) & (m->cap - 1);
    }
    m->slots[j].key = key;
    m->slots[j].val = NULL;
    m->slots[j].aux = 0;
    m->count++;
    if (added) *added = true;
    return &m->slots[j];
}

oc_strmap_entry *oc_strmap_get(const oc_strmap *m, const char *key)
{
    if (!m->cap) return NULL;
    size_t j = hash_str(key) & (m->cap - 1);
    while (m->slots[j].key) {
        if (strcmp(m->slots[j].key, key) == 0) return &m->slots[j];
        j = (j + 1) & (m->cap - 1);
    }
    return NULL;
}
