/* oc_recipe.c: a test driver for cli/recipe.c (presets and recipe files),
 * compiled into build/oc-recipe with the recipe code itself, so the recipe
 * layer can be tested before and apart from `onnxcomp compress`.
 *
 *   oc-recipe preset NAME...   the pipeline the presets make, in order
 *   oc-recipe recipe FILE      the pipeline and the settings a recipe makes
 *   oc-recipe flags --quant SPEC --prune SPEC ...
 *                              the pipeline the same passes given as flags
 *                              make (what a preset or recipe must equal)
 *   oc-recipe needs-data NAME  "yes" or "no"
 *   oc-recipe help             recipe_presets_help()
 *
 * The pipeline is printed as oc_pipeline_text() gives it (every option,
 * defaults included) on a line "passes: ..."; settings follow one per line.
 * A failure prints "oc-recipe: MESSAGE" on stderr and exits with the code
 * the recipe layer returned. */
#include "../../cli/recipe.c"

static void print_list(const char *key, char *const *v, size_t n)
{
    if (!n) return;
    printf("%s:", key);
    for (size_t i = 0; i < n; i++) printf(" %s", v[i]);
    printf("\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "help") && argc < 3)) {
        fprintf(stderr, "usage: oc-recipe preset NAME... | recipe FILE | flags --STAGE SPEC... | needs-data NAME | help\n");
        return 1;
    }
    if (!strcmp(argv[1], "help")) {
        fputs(recipe_presets_help(), stdout);
        return 0;
    }
    if (!strcmp(argv[1], "needs-data")) {
        printf("%s\n", recipe_preset_needs_data(argv[2]) ? "yes" : "no");
        return 0;
    }
    oc_ctx ctx;
    oc_ctx_init(&ctx);
    oc_pipeline *p = oc_pipeline_new();
    if (!p) {
        fprintf(stderr, "oc-recipe: out of memory\n");
        return 6;
    }
    recipe_settings rs;
    memset(&rs, 0, sizeof(rs));
    int rc = 0;
    if (!strcmp(argv[1], "preset")) {
        for (int i = 2; i < argc && !rc; i++) rc = recipe_preset(&ctx, p, argv[i]);
    } else if (!strcmp(argv[1], "recipe")) {
        rc = recipe_load(&ctx, p, argv[2], &rs);
    } else if (!strcmp(argv[1], "flags")) {
        for (int i = 2; i + 1 < argc && !rc; i += 2) {
            if (strncmp(argv[i], "--", 2)) {
                snprintf(ctx.msg, sizeof(ctx.msg), "flags: '%s' is not --prune or --quant", argv[i]);
                rc = 1;
            } else {
                rc = oc_status_exit_code(oc_pipeline_add(&ctx, p, argv[i] + 2, argv[i + 1]));
            }
        }
    } else {
        fprintf(stderr, "oc-recipe: unknown command '%s'\n", argv[1]);
        rc = 1;
        ctx.msg[0] = 0;
    }
    if (rc) {
        if (ctx.msg[0]) fprintf(stderr, "oc-recipe: %s\n", ctx.msg);
        /* a failed load leaves the pipeline as it was: empty here */
        if (oc_pipeline_size(p)) fprintf(stderr, "oc-recipe: the pipeline was changed by a failed call\n");
    } else {
        char text[4096];
        oc_pipeline_text(p, text, sizeof(text));
        printf("passes: %s\n", text);
        const char *which = NULL;
        if (oc_pipeline_needs_data(p, &which)) printf("needs data: %s\n", which);
        if (rs.data) printf("data: %s\n", rs.data);
        if (rs.limit) printf("limit: %ld\n", rs.limit);
        print_list("exclude_op", rs.exclude_ops, rs.n_exclude_ops);
        print_list("exclude_node", rs.exclude_nodes, rs.n_exclude_nodes);
        if (rs.has_keep_first_last) printf("keep_first_last: %d\n", rs.keep_first_last ? 1 : 0);
    }
    recipe_settings_free(&rs);
    oc_pipeline_free(p);
    return rc;
}
