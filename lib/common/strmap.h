/* strmap.h: an open-addressing hash map from C strings (not copied: they must
 * outlive the map, as arena strings do) to a pointer and a small integer. */
#ifndef OC_STRMAP_H
#define OC_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct oc_strmap_entry {
    const char *key;
    void *val;
    uint32_t aux;
} oc_strmap_entry;

typedef struct oc_strmap {
    oc_strmap_entry *slots;
    size_t cap, count;
} oc_strmap;

void oc_strmap_init(oc_strmap *m);
void oc_strmap_free(oc_strmap *m);
/* Inserts key unless present. Returns the entry (new or existing) and sets
 * *added; NULL when out of memory. */
oc_strmap_entry *oc_strmap_put(oc_strmap *m, const char *key, bool *added);
oc_strmap_entry *oc_strmap_get(const oc_strmap *m, const char *key);

#endif
