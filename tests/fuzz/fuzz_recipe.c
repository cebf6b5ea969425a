/* fuzz_recipe.c: recipe files (`onnxcomp compress --recipe r.json`) through
 * the CLI's recipe reader, cli/recipe.c, compiled into this target by path
 * (the CLI is not part of the library).
 *
 * A recipe that loads must give a pipeline whose canonical text parses back
 * into the same text, and settings that hold together (a list's count with
 * its entries); one that fails must say why, add no pass and leave the
 * settings empty. Inputs of a few printable bytes are also tried as a
 * preset name. */
#include "../../cli/recipe.c"

#include "harness.h"

/* Adds every "--STAGE SPEC" of a pipeline text to p. */
static void add_text(oc_pipeline *p, char *text)
{
    char *s = text;
    while (s && *s) {
        FZ_CHECK(strncmp(s, "--", 2) == 0, "pipeline text '%s' at '%s'", text, s);
        char *stage = s + 2, *sp = strchr(stage, ' ');
        FZ_CHECK(sp != NULL, "pipeline text '%s': no space after the stage", text);
        *sp = 0;
        char *spec = sp + 1, *next = strstr(spec, " --");
        if (next) *next = 0;
        oc_ctx ctx;
        oc_ctx_init(&ctx);
        oc_status st = oc_pipeline_add(&ctx, p, stage, spec);
        FZ_CHECK(st == OC_OK, "the pipeline's own text does not parse back: --%s %s: %s", stage, spec, ctx.msg);
        s = next ? next + 1 : NULL;
    }
}

static void check_round_trip(oc_pipeline *p)
{
    static char t1[1 << 16], t2[1 << 16];
    oc_pipeline_text(p, t1, sizeof(t1));
    char *copy = strdup(t1);
    if (!copy) abort();
    oc_pipeline *q = oc_pipeline_new();
    if (!q) abort();
    add_text(q, copy);
    free(copy);
    oc_pipeline_text(q, t2, sizeof(t2));
    FZ_CHECK(strcmp(t1, t2) == 0, "the pipeline text changes when parsed back: '%s' -> '%s'", t1, t2);
    FZ_CHECK(oc_pipeline_size(q) == oc_pipeline_size(p), "%zu passes parsed back from %zu", oc_pipeline_size(q),
             oc_pipeline_size(p));
    oc_pipeline_free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[600];
    fz_path(path, sizeof(path), "recipe/r.json");
    fz_write(path, data, size);

    oc_ctx ctx;
    oc_ctx_init(&ctx);
    oc_pipeline *p = oc_pipeline_new();
    if (!p) abort();
    recipe_settings rs;
    int rc = recipe_load(&ctx, p, path, &rs);
    if (rc == 0) {
        FZ_CHECK(rs.n_exclude_ops == 0 || rs.exclude_ops, "exclude_op count without entries");
        FZ_CHECK(rs.n_exclude_nodes == 0 || rs.exclude_nodes, "exclude_node count without entries");
        for (size_t i = 0; i < rs.n_exclude_ops; i++) FZ_CHECK(rs.exclude_ops[i], "exclude_op %zu is NULL", i);
        for (size_t i = 0; i < rs.n_exclude_nodes; i++)
            FZ_CHECK(rs.exclude_nodes[i], "exclude_node %zu is NULL", i);
        FZ_CHECK(rs.limit >= 0, "limit %ld", rs.limit);
        if (rs.data) (void)strlen(rs.data);
        check_round_trip(p);
    } else {
        FZ_CHECK(ctx.status != OC_OK && oc_status_exit_code(ctx.status) == rc, "exit code %d for status %d", rc,
                 (int)ctx.status);
        fz_check_error(&ctx, ctx.status);
        FZ_CHECK(oc_pipeline_size(p) == 0, "a failed recipe added %zu passes", oc_pipeline_size(p));
        FZ_CHECK(!rs.data && !rs.exclude_ops && !rs.exclude_nodes && !rs.limit, "a failed recipe left settings");
    }
    recipe_settings_free(&rs);
    oc_pipeline_free(p);

    if (size > 0 && size < 32 && !memchr(data, 0, size)) {
        char name[32];
        memcpy(name, data, size);
        name[size] = 0;
        p = oc_pipeline_new();
        if (!p) abort();
        oc_ctx_init(&ctx);
        rc = recipe_preset(&ctx, p, name);
        if (rc == 0) check_round_trip(p);
        else fz_check_error(&ctx, ctx.status);
        (void)recipe_preset_needs_data(name);
        oc_pipeline_free(p);
    }
    return 0;
}
