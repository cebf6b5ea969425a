/* ir.h: what lib/ modules share about the IR beyond the public header: the
 * model's file mappings and the helpers load and write use. */
#ifndef OC_IR_H
#define OC_IR_H

#include "../common/common.h"
#include "../common/strmap.h"

/* A file mapped read-only for the life of the model. */
typedef struct oc_mapping {
    struct oc_mapping *next;
    const char *path;
    void *addr;
    size_t size;
} oc_mapping;

/* A new empty model with its arena; NULL when out of memory. */
oc_model *oc_model_new(void);
oc_graph *oc_graph_new(oc_model *m, oc_graph *parent);
/* Registers a malloc'd buffer to be freed with the model. */
bool oc_model_own(oc_model *m, void *p);
/* Drops g's name index (after edits). */
void oc_graph_invalidate(oc_graph *g);

/* Calls fn for each subgraph attribute of node n. */
typedef void (*oc_subgraph_fn)(void *ud, oc_graph *sub);
void oc_node_foreach_subgraph(oc_node *n, oc_subgraph_fn fn, void *ud);

bool oc_node_is_constant(const oc_node *n);
bool oc_domain_is_default(const char *domain);

#endif
