/* test_graph.c: name lookups, consumers, topological order, verification,
 * and the edit operations, on graphs built by hand. */
#include "ir/ir.h"
#include "unit.h"

static oc_model *m;
static oc_graph *g;

static oc_value *mkval(const char *name)
{
    oc_value *v = oc_model_alloc(m, sizeof(*v));
    v->name = oc_model_strdup(m, name);
    v->has_type = true;
    v->type.kind = OC_TYPE_TENSOR;
    v->type.elem_type = OC_DTYPE_FLOAT;
    return v;
}

/* x -> Relu -> a ; (a, w) -> Add -> b ; b -> Relu -> y */
static void build(void)
{
    m = oc_model_new();
    g = oc_graph_new(m, NULL);
    m->graph = g;
    g->name = "main";
    g->inputs = oc_model_alloc(m, sizeof(oc_value *));
    g->inputs[0] = mkval("x");
    g->n_inputs = 1;
    g->outputs = oc_model_alloc(m, sizeof(oc_value *));
    g->outputs[0] = mkval("y");
    g->n_outputs = 1;
    int64_t d[1] = {4};
    oc_tensor *w = oc_graph_add_initializer(g, "w", OC_DTYPE_FLOAT, 1, d);
    float *buf = oc_malloc(16);
    for (int i = 0; i < 4; i++) buf[i] = (float)i;
    oc_tensor_set_data(m, w, buf, 16);
    const char *in1[] = {"x"}, *out1[] = {"a"};
    const char *in2[] = {"a", "w"}, *out2[] = {"b"};
    const char *in3[] = {"b"}, *out3[] = {"y"};
    oc_graph_add_node(g, SIZE_MAX, "Relu", NULL, "r1", 1, in1, 1, out1);
    oc_graph_add_node(g, SIZE_MAX, "Add", NULL, "add", 2, in2, 1, out2);
    oc_graph_add_node(g, SIZE_MAX, "Relu", NULL, "r2", 1, in3, 1, out3);
}

static void done(void)
{
    oc_model_free(m);
    m = NULL;
    g = NULL;
}

static void lookups(void)
{
    build();
    size_t slot = 9;
    oc_node *p = oc_graph_producer(g, "b", &slot);
    CHECK(p && strcmp(p->name, "add") == 0 && slot == 0);
    CHECK(oc_graph_producer(g, "x", NULL) == NULL);
    CHECK(oc_graph_initializer(g, "w") != NULL);
    CHECK(oc_graph_weight(g, "w") != NULL);
    CHECK(oc_graph_is_input(g, "x"));
    oc_node *c[4];
    CHECK_EQ_INT(oc_graph_consumers(g, "a", c, 4), 1);
    CHECK(strcmp(c[0]->name, "add") == 0);
    CHECK_EQ_INT(oc_graph_consumers(g, "y", c, 4), 0);
    oc_ctx ctx;
    oc_ctx_init(&ctx);
    CHECK(oc_graph_verify(&ctx, g) == OC_OK);
    done();
}

static void topo_unsorted(void)
{
    build();
    /* reverse the node list: still acyclic, order must come out right */
    oc_node *t = g->nodes[0];
    g->nodes[0] = g->nodes[2];
    g->nodes[2] = t;
    oc_graph_invalidate(g);
    size_t order[3];
    oc_ctx ctx;
    oc_ctx_init(&ctx);
    CHECK(oc_graph_topo_order(&ctx, g, order) == OC_OK);
    CHECK(strcmp(g->nodes[order[0]]->name, "r1") == 0);
    CHECK(strcmp(g->nodes[order[1]]->name, "add") == 0);
    CHECK(strcmp(g->nodes[order[2]]->name, "r2") == 0);
    done();
}

static void cycle_detected(void)
{
    build();
    oc_node_set_input(g, g->nodes[0], 0, "y"); /* r1 now reads r2's output */
    oc_graph_invalidate(g);
    oc_ctx ctx;
    oc_ctx_init(&ctx);
    CHECK(oc_graph_verify(&ctx, g) == OC_ERR_INVALID);
    CHECK(strstr(ctx.msg, "cycle") != NULL);
    done();
}

static void dangling_input(void)
{
    build();
    oc_node_set_input(g, g->nodes[1], 1, "nobody");
    oc_ctx ctx;
    oc_ctx_init(&ctx);
    CHECK(oc_graph_verify(&ctx, g) == OC_ERR_INVALID);
    CHECK(strstr(ctx.msg, "'nobody'") != NULL);
    CHECK(strstr(ctx.msg, "add") != NULL);
    done();
}

static void duplicate_producer(void)
{
    build();
    const char *in[] = {"x"}, *out[] = {"a"};
    oc_graph_add_node(g, SIZE_MAX, "Neg", NULL, "neg", 1, in, 1, out);
    oc_ctx ctx;
    oc_ctx_init(&ctx);
    CHECK(oc_graph_verify(&ctx, g) == OC_ERR_INVALID);
    CHECK(strstr(ctx.msg, "more than once") != NULL);
    done();
}

static void subgraph_outer_reads(void)
{
    build();
    /* an If whose then-branch reads "a" from the outer graph */
    oc_graph *sub = oc_graph_new(m, g);
    sub->name = "then";
    const char *sin[] = {"a"}, *sout[] = {"s"};
    oc_graph_add_node(sub, SIZE_MAX, "Neg", NULL, "sneg", 1, sin, 1, sout);
    sub->outputs = oc_model_alloc(m, sizeof(oc_value *));
    sub->outputs[0] = mkval("s");
    sub->n_outputs = 1;
    const char *iin[] = {"x"}, *iout[] = {"z"};
    oc_node *ifn = oc_graph_add_node(g, 0, "If", NULL, "if", 1, iin, 1, iout);
    oc_attr *at = oc_node_add_attr(g, ifn, "then_branch", OC_ATTR_GRAPH);
    at->g = sub;
    /* If was inserted first but depends on r1 through its subgraph */
    size_t order[4];
    oc_ctx ctx;
    oc_ctx_init(&ctx);
    CHECK(oc_graph_topo_order(&ctx, g, order) == OC_OK);
    size_t pos_if = 9, pos_r1 = 9;
    for (size_t i = 0; i < 4; i++) {
        if (g->nodes[order[i]] == ifn) pos_if = i;
        if (strcmp(g->nodes[order[i]]->name, "r1") == 0) pos_r1 = i;
    }
    CHECK(pos_r1 < pos_if);
    oc_node *c[4];
    CHECK_EQ_INT(oc_graph_consumers(g, "a", c, 4), 2);
    CHECK(oc_graph_producer(sub, "a", NULL) != NULL); /* through the scope */
    CHECK(oc_graph_verify(&ctx, g) == OC_OK);
    /* renaming reaches into the subgraph */
    CHECK_EQ_INT(oc_graph_rename_uses(g, "a", "x"), 2);
    CHECK(strcmp(sub->nodes[0]->inputs[0], "x") == 0);
    done();
}

static void remove_dead_and_unique_names(void)
{
    build();
    const char *in[] = {"x"}, *out[] = {"unused"};
    oc_graph_add_node(g, SIZE_MAX, "Neg", NULL, "dead", 1, in, 1, out);
    int64_t d[1] = {1};
    oc_graph_add_initializer(g, "orphan", OC_DTYPE_FLOAT, 1, d);
    CHECK_EQ_INT(oc_graph_remove_dead(g), 2);
    CHECK_EQ_INT(g->n_nodes, 3);
    CHECK_EQ_INT(g->n_inits, 1);
    const char *n1 = oc_graph_unique_name(g, "a");
    const char *n2 = oc_graph_unique_name(g, "a");
    const char *n3 = oc_graph_unique_name(g, "fresh");
    CHECK(n1 && n2 && n3);
    CHECK(strcmp(n1, "a") != 0 && strcmp(n1, n2) != 0);
    CHECK(strcmp(n3, "fresh") == 0);
    done();
}

static void constant_weights(void)
{
    build();
    const char *out[] = {"c"};
    oc_node *cn = oc_graph_add_node(g, 0, "Constant", NULL, "k", 0, NULL, 1, out);
    oc_attr *at = oc_node_add_attr(g, cn, "value", OC_ATTR_TENSOR);
    at->t = oc_model_alloc(m, sizeof(oc_tensor));
    at->t->dtype = OC_DTYPE_FLOAT;
    at->t->numel = 1;
    CHECK(oc_graph_weight(g, "c") == at->t);
    CHECK(oc_graph_initializer(g, "c") == NULL);
    done();
}

static void tensor_get_types(void)
{
    oc_tensor t;
    memset(&t, 0, sizeof(t));
    uint8_t i4[2] = {0x7f, 0x08}; /* low nibble first: -1, 7, then -8 */
    t.dtype = OC_DTYPE_INT4;
    t.numel = 3;
    t.data = i4;
    t.nbytes = 2;
    CHECK(oc_tensor_get(&t, 0) == -1);
    CHECK(oc_tensor_get(&t, 1) == 7);
    CHECK(oc_tensor_get(&t, 2) == -8);
    uint16_t h[3] = {0x3c00, 0xc000, 0x0001}; /* 1, -2, smallest subnormal */
    t.dtype = OC_DTYPE_FLOAT16;
    t.data = h;
    t.nbytes = 6;
    CHECK(oc_tensor_get(&t, 0) == 1.0);
    CHECK(oc_tensor_get(&t, 1) == -2.0);
    CHECK(oc_tensor_get(&t, 2) > 5.9e-8 && oc_tensor_get(&t, 2) < 6.0e-8);
    float f[4] = {0.0f, -0.0f, 1.0f, 0.0f};
    t.dtype = OC_DTYPE_FLOAT;
    t.numel = 4;
    t.data = f;
    t.nbytes = 16;
    CHECK_EQ_INT(oc_tensor_count_zeros(&t), 3);
    CHECK(oc_tensor_get(&t, 9) == 0.0); /* out of range reads nothing */
}

/* The name index follows edits made through the edit functions (no rebuild
 * per edit), and the readers map answers like the scan, before and after
 * edits drop it. */
static void index_through_edits(void)
{
    build();
    oc_node *c[4];
    CHECK(oc_graph_producer(g, "a", NULL) != NULL); /* index built */
    const char *in[] = {"b"}, *out[] = {"z"};
    oc_node *t = oc_graph_add_node(g, 1, "Tanh", NULL, "t", 1, in, 1, out);
    CHECK(oc_graph_producer(g, "z", NULL) == t);
    int64_t d[1] = {2};
    oc_tensor *k = oc_graph_add_initializer(g, "k", OC_DTYPE_FLOAT, 1, d);
    CHECK(oc_graph_weight(g, "k") == k);
    oc_graph_remove_node(g, t);
    CHECK(oc_graph_producer(g, "z", NULL) == NULL);
    CHECK_EQ_INT(g->n_nodes, 3);
    oc_graph_remove_initializer(g, "k");
    CHECK(oc_graph_weight(g, "k") == NULL && oc_graph_initializer(g, "w") != NULL);
    /* a name defined again after its definition went */
    const char *out2[] = {"z"};
    oc_node *t2 = oc_graph_add_node(g, 3, "Tanh", NULL, "t2", 1, in, 1, out2);
    CHECK(oc_graph_producer(g, "z", NULL) == t2);
    oc_ctx ctx;
    oc_ctx_init(&ctx);
    CHECK(oc_graph_verify(&ctx, g) == OC_OK);

    oc_graph_cache_readers(g, true);
    CHECK_EQ_INT(oc_graph_consumers(g, "b", c, 4), 2); /* r2 and t2, in node order */
    CHECK(c[0] == g->nodes[2] && c[1] == t2);
    CHECK_EQ_INT(oc_graph_consumers(g, "a", c, 1), 1);
    CHECK_EQ_INT(oc_graph_consumers(g, "nothing", c, 4), 0);
    const char *in3[] = {"a", "a"}, *out3[] = {"q"};
    oc_graph_add_node(g, SIZE_MAX, "Mul", NULL, "sq", 2, in3, 1, out3); /* drops the map */
    CHECK_EQ_INT(oc_graph_consumers(g, "a", c, 4), 2); /* add and sq, sq once */
    oc_graph_rename_uses(g, "a", "b");
    CHECK_EQ_INT(oc_graph_consumers(g, "a", c, 4), 0);
    CHECK_EQ_INT(oc_graph_consumers(g, "b", c, 4), 4);
    oc_graph_cache_readers(g, false);
    CHECK_EQ_INT(oc_graph_consumers(g, "b", c, 4), 4);
    done();
}

int main(void)
{
    RUN(lookups);
    RUN(topo_unsorted);
    RUN(cycle_detected);
    RUN(dangling_input);
    RUN(duplicate_producer);
    RUN(subgraph_outer_reads);
    RUN(remove_dead_and_unique_names);
    RUN(constant_weights);
    RUN(tensor_get_types);
    RUN(index_through_edits);
    UNIT_END("graph");
}
