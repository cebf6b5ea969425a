/* prune_sparse.c: unstructured and N:M pruning, the passes `magnitude`,
 * `wanda` and `nm`.
 *
 * Each pass scores the weights of the prunable layers (prune_layers.c),
 * sets the lowest-scoring ones to exactly 0.0f and, with reconstruct=1,
 * moves the kept weights of each layer so that its outputs on the
 * calibration samples change as little as possible under the fixed mask
 * (SparseGPT's OBS column sweep, lib/quant/lsq.c). The Grams come from one
 * run of the samples through the unpruned model, for every layer at once,
 * where SparseGPT feeds each layer the outputs of the already pruned ones:
 * one run instead of one per layer, at some cost in deep models.
 *
 *   magnitude  score |w|: exactly round(sparsity * numel) zeros per layer,
 *              or one threshold across all layers (scope=global) that no
 *              layer follows past max_layer of its weights
 *   wanda      score |w_ij| * ||X_j||_2, X_j the j-th input column over the
 *              samples (Sun et al. 2023), ranked within each output row or
 *              across the layer
 *   nm         keep the n best of every m consecutive weights along the
 *              input-channel axis (the 2:4 / 4:8 sparse tensor core layout)
 *
 * Promises: pruned weights are exactly zero; weights already zero count
 * toward a target (they score below everything); among equal scores the
 * lowest position goes first, so runs repeat. Scores are compared as the
 * bits of non-negative floats, and selection is linear and reads the
 * weights in place: a sample brackets the threshold, one counting pass
 * and one copying pass narrow it to a few percent of the keys (a two-level
 * radix histogram when the sample misses), so a global threshold over
 * 100M weights costs a few passes over them and no copy of them. */
#include "prune.h"
#include "prune_gram.h"

#include "../quant/lsq.h"

#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

const oc_pass_opt oc_magnitude_opts[OC_MAGNITUDE_N_OPTS] = {
    {"sparsity", OC_OPT_FLOAT, "0.5", 0, 0.99, NULL, "fraction of each layer's weights (or of all, scope=global) set to zero"},
    {"scope", OC_OPT_ENUM, "layer", 0, 0, "layer|global", "one threshold per layer, or one across all layers"},
    {"max_layer", OC_OPT_FLOAT, "0.95", 0, 0.99, NULL, "scope=global: no layer pruned beyond this fraction"},
    {"min_elems", OC_OPT_INT, "256", 0, 1e12, NULL, "leave weights with fewer elements alone"},
    {"reconstruct", OC_OPT_BOOL, "0", 0, 1, NULL, "update the kept weights to reproduce each layer's outputs on --data samples (SparseGPT/OBS)"},
    {"samples", OC_OPT_INT, "256", 1, 1e9, NULL, "calibration samples for reconstruct (--limit overrides; want more samples x positions than a layer has inputs)"},
};
const oc_pass_opt oc_wanda_opts[OC_WANDA_N_OPTS] = {
    {"sparsity", OC_OPT_FLOAT, "0.5", 0, 0.99, NULL, "fraction of each layer's weights set to zero"},
    {"group", OC_OPT_ENUM, "row", 0, 0, "row|layer", "compare scores within each output unit (Wanda's choice) or across the layer"},
    {"min_elems", OC_OPT_INT, "256", 0, 1e12, NULL, "leave weights with fewer elements alone"},
    {"reconstruct", OC_OPT_BOOL, "0", 0, 1, NULL, "update the kept weights to reproduce each layer's outputs (SparseGPT/OBS)"},
    {"samples", OC_OPT_INT, "256", 1, 1e9, NULL, "calibration samples (--limit overrides)"},
};
const oc_pass_opt oc_nm_opts[OC_NM_N_OPTS] = {
    {"n", OC_OPT_INT, "2", 1, 16, NULL, "weights kept in every group of m"},
    {"m", OC_OPT_INT, "4", 2, 32, NULL, "group length along the input-channel axis"},
    {"criterion", OC_OPT_ENUM, "magnitude", 0, 0, "magnitude|wanda", "which weights of a group stay: |w|, or |w| x input norm (wanda needs --data)"},
    {"min_elems", OC_OPT_INT, "256", 0, 1e12, NULL, "leave weights with fewer elements alone"},
    {"reconstruct", OC_OPT_BOOL, "0", 0, 1, NULL, "update the kept weights on --data samples (SparseGPT/OBS)"},
    {"samples", OC_OPT_INT, "256", 1, 1e9, NULL, "calibration samples (--limit overrides)"},
};
static_assert(sizeof(oc_magnitude_opts) / sizeof(oc_magnitude_opts[0]) == 6, "magnitude options");
static_assert(sizeof(oc_wanda_opts) / sizeof(oc_wanda_opts[0]) == 5, "wanda options");
static_assert(sizeof(oc_nm_opts) / sizeof(oc_nm_opts[0]) == 6, "nm options");

/* Option positions the wants_data hooks read (they see values, not names). */
enum { MAG_RECONSTRUCT = 4, NM_CRITERION = 2, NM_RECONSTRUCT = 4 };

bool oc_prune_magnitude_wants_data(const oc_pass_vals *v)
{
    return v->v[MAG_RECONSTRUCT] != 0;
}

bool oc_prune_nm_wants_data(const oc_pass_vals *v)
{
    return v->v[NM_CRITERION] != 0 || v->v[NM_RECONSTRUCT] != 0;
}

/* ---- scores as keys ---- */

/* A score as an ordered integer: the bits of a non-negative float sort like
 * the float. Magnitude keys are |w|'s bits, so exact zeros (either sign)
 * are key 0 and come first. Score keys are shifted by one so that an
 * exact-zero weight (key 0) also comes before a nonzero weight that merely
 * scores zero (an input that was always zero). NaN sorts last: kept. */
static inline uint32_t mag_key(float w)
{
    uint32_t b;
    memcpy(&b, &w, sizeof(b));
    return b & 0x7fffffffu;
}

static inline uint32_t score_key(float w, float s)
{
    return w == 0.0f ? 0 : mag_key(s) + 1;
}

/* Keys to select from: read off magnitudes (`w`) or precomputed (`keys`). */
typedef struct keysrc {
    const float *w;
    const uint32_t *keys;
    int64_t n;
} keysrc;

static inline uint32_t src_key(const keysrc *s, int64_t i)
{
    return s->keys ? s->keys[i] : mag_key(s->w[i]);
}

/* A threshold key and how many keys lie below it and equal it. */
typedef struct pick {
    uint32_t t;
    int64_t below, equal;
} pick;

#define HIST_BINS 65536
#define SMALL_SELECT 32768 /* inputs up to this many keys are copied and quickselected */
#define SAMPLE 32768       /* keys sampled to bracket the answer in larger inputs */

typedef struct selector {
    uint64_t *hist;  /* HIST_BINS counts */
    uint32_t *small; /* SMALL_SELECT keys */
} selector;

static oc_status selector_init(oc_ctx *ctx, selector *s)
{
    s->hist = oc_malloc(HIST_BINS * sizeof(uint64_t));
    s->small = oc_malloc(SMALL_SELECT * sizeof(uint32_t));
    if (!s->hist || !s->small) {
        oc_free(s->hist);
        oc_free(s->small);
        s->hist = NULL;
        s->small = NULL;
        return oc_fail(ctx, OC_ERR_NOMEM, "out of memory");
    }
    return OC_OK;
}

static void selector_free(selector *s)
{
    oc_free(s->hist);
    oc_free(s->small);
}

/* How many keys of s are below t, and equal to it. */
static void count_keys(const keysrc *s, uint32_t t, int64_t *below, int64_t *equal)
{
    int64_t b = 0, e = 0;
    if (s->keys) {
        for (int64_t i = 0; i < s->n; i++) {
            b += s->keys[i] < t;
            e += s->keys[i] == t;
        }
    } else {
        for (int64_t i = 0; i < s->n; i++) {
            uint32_t k = mag_key(s->w[i]);
            b += k < t;
            e += k == t;
        }
    }
    *below = b;
    *equal = e;
}

static void count_all(const keysrc *src, size_t ns, pick *p)
{
    p->below = p->equal = 0;
    for (size_t i = 0; i < ns; i++) {
        int64_t b, e;
        count_keys(&src[i], p->t, &b, &e);
        p->below += b;
        p->equal += e;
    }
}

/* Histogram of key >> 16 (level 0), or of key & 0xffff over the keys whose
 * high half is `hi` (level 1). */
static void hist_add(uint64_t *h, const keysrc *s, int level, uint32_t hi)
{
    for (int64_t i = 0; i < s->n; i++) {
        uint32_t k = src_key(s, i);
        if (level == 0) h[k >> 16]++;
        else if ((k >> 16) == hi) h[k & 0xffff]++;
    }
}

/* The bin holding the k-th (1-based) counted key; k becomes its rank in it. */
static uint32_t pick_bin(const uint64_t *h, int64_t *k)
{
    uint32_t b = 0;
    while (b < HIST_BINS - 1 && (int64_t)h[b] < *k) *k -= (int64_t)h[b++];
    return b;
}

/* The k-th smallest key by a two-level radix histogram: two passes, no
 * memory but the histogram, no bad cases. The fallback of the others. */
static uint32_t radix_select(selector *sel, const keysrc *src, size_t ns, int64_t k)
{
    memset(sel->hist, 0, HIST_BINS * sizeof(uint64_t));
    for (size_t i = 0; i < ns; i++) hist_add(sel->hist, &src[i], 0, 0);
    uint32_t hi = pick_bin(sel->hist, &k);
    memset(sel->hist, 0, HIST_BINS * sizeof(uint64_t));
    for (size_t i = 0; i < ns; i++) hist_add(sel->hist, &src[i], 1, hi);
    uint32_t lo = pick_bin(sel->hist, &k);
    return hi << 16 | lo;
}

static inline void swap_keys(uint32_t *a, int64_t i, int64_t j)
{
    uint32_t t = a[i];
    a[i] = a[j];
    a[j] = t;
}

/* Hoare's selection with a median-of-three pivot and a three-way split (so
 * runs of equal keys, like many zeros, cost one round): the key of rank k
 * (0-based) of a[0..n), reordering a. Falls back to the radix histogram
 * when the pivots keep being poor. */
static uint32_t quick_select(selector *sel, uint32_t *a, int64_t n, int64_t k)
{
    int64_t lo = 0, hi = n - 1;
    for (int rounds = 0; lo < hi; rounds++) {
        if (rounds > 64) {
            keysrc rest = {.keys = a + lo, .n = hi - lo + 1};
            return radix_select(sel, &rest, 1, k - lo + 1);
        }
        uint32_t x = a[lo], y = a[lo + (hi - lo) / 2], z = a[hi];
        uint32_t p = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
        /* [lo, lt) < p, [lt, i) == p, (gt, hi] > p */
        int64_t lt = lo, i = lo, gt = hi;
        while (i <= gt) {
            if (a[i] < p) swap_keys(a, lt++, i++);
            else if (a[i] > p) swap_keys(a, i, gt--);
            else i++;
        }
        if (k < lt) hi = lt - 1;
        else if (k > gt) lo = gt + 1;
        else return p;
    }
    return a[k];
}

/* Adds to the counts of keys below lo, at lo, and in (lo, hi]. One loop per
 * kind of source, so that each vectorizes. */
static void bracket_count(const keysrc *s, uint32_t lo, uint32_t hi, int64_t *below, int64_t *at_lo, int64_t *inside)
{
    int64_t b = 0, a = 0, in = 0;
    if (s->keys) {
        for (int64_t i = 0; i < s->n; i++) {
            uint32_t key = s->keys[i];
            b += key < lo;
            a += key == lo;
            in += key > lo && key <= hi;
        }
    } else {
        for (int64_t i = 0; i < s->n; i++) {
            uint32_t key = mag_key(s->w[i]);
            b += key < lo;
            a += key == lo;
            in += key > lo && key <= hi;
        }
    }
    *below += b;
    *at_lo += a;
    *inside += in;
}

/* Floyd and Rivest's idea for large inputs: the order statistics of a
 * fixed pseudo-random sample bracket the answer in [lo, hi] with high
 * probability; a counting pass finds how many keys lie below lo, at lo and
 * in (lo, hi], a second copies those in (lo, hi] (a few percent), and the
 * answer is selected among them. false when the bracket missed or was
 * too wide (then the caller uses the radix histogram). */
static bool sample_select(selector *sel, const keysrc *src, size_t ns, int64_t total, int64_t k, pick *out)
{
    /* the sample: per source in proportion to its size */
    uint64_t x = 0x9e3779b97f4a7c15u;
    int64_t m = 0;
    for (size_t s = 0; s < ns; s++) {
        int64_t want = (int64_t)((double)SAMPLE * (double)src[s].n / (double)total) + 1;
        for (int64_t j = 0; j < want && m < SMALL_SELECT && src[s].n > 0; j++) {
            x = x * 6364136223846793005u + 1442695040888963407u;
            sel->small[m++] = src_key(&src[s], (int64_t)((x >> 17) % (uint64_t)src[s].n));
        }
    }
    double at = (double)(k - 1) / (double)total * (double)m, spread = 1.5 * sqrt((double)m) + 32;
    int64_t rlo = (int64_t)(at - spread), rhi = (int64_t)(at + spread);
    uint32_t lo = rlo <= 0 ? 0 : quick_select(sel, sel->small, m, rlo);
    uint32_t hi = rhi >= m - 1 ? UINT32_MAX : quick_select(sel, sel->small, m, rhi);
    /* count below lo, at lo and in (lo, hi] (a loop that vectorizes), then
     * copy the few in (lo, hi] when the bracket holds the answer */
    int64_t below = 0, at_lo = 0, inside = 0;
    for (size_t s = 0; s < ns; s++) bracket_count(&src[s], lo, hi, &below, &at_lo, &inside);
    if (k <= below || k > below + at_lo + inside) return false;
    if (k <= below + at_lo) {
        *out = (pick){.t = lo, .below = below, .equal = at_lo};
        return true;
    }
    if (inside > total / 8 + SMALL_SELECT) return false; /* a poor bracket: not worth the memory */
    uint32_t *buf = oc_malloc((size_t)inside * sizeof(uint32_t));
    if (!buf) return false;
    /* lo < key <= hi as one unsigned compare: a branch that is rarely
     * taken, where `key > lo` alone would be a coin toss */
    const uint32_t span = hi - lo - 1;
    int64_t got = 0;
    for (size_t s = 0; s < ns; s++) {
        const keysrc *sr = &src[s];
        if (sr->keys) {
            for (int64_t i = 0; i < sr->n; i++)
                if (sr->keys[i] - lo - 1 <= span && got < inside) buf[got++] = sr->keys[i];
        } else {
            for (int64_t i = 0; i < sr->n; i++) {
                uint32_t key = mag_key(sr->w[i]);
                if (key - lo - 1 <= span && got < inside) buf[got++] = key;
            }
        }
    }
    assert(got == inside); /* hi > lo here: inside >= 1 */
    uint32_t t = quick_select(sel, buf, inside, k - below - at_lo - 1);
    int64_t b2 = below + at_lo, e = 0;
    for (int64_t i = 0; i < inside; i++) {
        b2 += buf[i] < t;
        e += buf[i] == t;
    }
    *out = (pick){.t = t, .below = b2, .equal = e};
    oc_free(buf);
    return true;
}
/* The k-th smallest key (1 <= k <= their count) over the sources, with the
 * counts below and at it. */
static pick select_key(selector *sel, const keysrc *src, size_t ns, int64_t k)
{
    pick p;
    int64_t total = 0;
    for (size_t i = 0; i < ns; i++) total += src[i].n;
    if (total <= SMALL_SELECT) {
        int64_t m = 0;
        for (size_t s = 0; s < ns; s++)
            for (int64_t i = 0; i < src[s].n; i++) sel->small[m++] = src_key(&src[s], i);
        p.t = quick_select(sel, sel->small, m, k - 1);
        p.below = p.equal = 0;
        for (int64_t i = 0; i < m; i++) {
            p.below += sel->small[i] < p.t;
            p.equal += sel->small[i] == p.t;
        }
        return p;
    }
    if (sample_select(sel, src, ns, total, k, &p)) return p;
    p.t = radix_select(sel, src, ns, k);
    count_all(src, ns, &p);
    return p;
}

/* Zeros the weights whose magnitude key is below t, then the first `ties`
 * equal to it: a blend the compiler vectorizes, then a scan for the ties
 * (rare but for runs of equal weights). */
static void cut_flat(float *w, int64_t n, uint32_t t, int64_t ties)
{
    for (int64_t i = 0; i < n; i++) w[i] = mag_key(w[i]) < t ? 0.0f : w[i];
    if (t == 0) return; /* the ties are zeros already */
    for (int64_t i = 0; i < n && ties > 0; i++)
        if (mag_key(w[i]) == t) {
            w[i] = 0.0f;
            ties--;
        }
}

/* Zeros the k lowest-magnitude weights of w[0..n) (ties: lowest index). */
static void prune_flat(selector *sel, float *w, int64_t n, int64_t k)
{
    if (k <= 0) return;
    if (k > n) k = n;
    keysrc s = {.w = w, .n = n};
    pick p = select_key(sel, &s, 1, k);
    cut_flat(w, n, p.t, k - p.below);
}

static int64_t count_zeros(const float *w, int64_t n)
{
    int64_t z = 0;
    for (int64_t i = 0; i < n; i++) z += w[i] == 0.0f;
    return z;
}

/* ---- the matrix view ---- */

/* Every layout prune.h describes is separable: element (row, col) of the
 * view sits at rbase[row] + coff[col] in the tensor, which makes walking a
 * row as cheap as walking an array. */
typedef struct lview {
    int64_t rows, cols;
    int64_t *rbase, *coff;
} lview;

static const char *lname(const oc_prune_layer *l)
{
    return l->node->name && *l->node->name ? l->node->name : l->w_name;
}

static void view_free(lview *v)
{
    oc_free(v->rbase);
    oc_free(v->coff);
    v->rbase = v->coff = NULL;
}

static oc_status view_init(oc_ctx *ctx, const oc_prune_layer *l, lview *v)
{
    memset(v, 0, sizeof(*v));
    int64_t numel;
    RETURN_ERROR_IF(l->rows <= 0 || l->cols <= 0 || oc_mul_overflow_i64(l->rows, l->cols, &numel) ||
                        numel != l->w->numel,
                    ctx, OC_ERR_INTERNAL, "layer '%s' (%s): a %lld x %lld view of a weight of %lld elements", lname(l),
                    l->node->op_type, (long long)l->rows, (long long)l->cols, (long long)l->w->numel);
    v->rows = l->rows;
    v->cols = l->cols;
    v->rbase = oc_malloc((size_t)v->rows * sizeof(int64_t));
    v->coff = oc_malloc((size_t)v->cols * sizeof(int64_t));
    if (!v->rbase || !v->coff) {
        view_free(v);
        return oc_fail(ctx, OC_ERR_NOMEM, "out of memory viewing the weight of layer '%s'", lname(l));
    }
    int64_t base0 = oc_prune_index(l, 0, 0);
    for (int64_t r = 0; r < v->rows; r++) v->rbase[r] = oc_prune_index(l, r, 0);
    for (int64_t c = 0; c < v->cols; c++) v->coff[c] = oc_prune_index(l, 0, c) - base0;
    /* the separability this relies on, checked where it could break */
    int64_t probe[2] = {v->rows / 2, v->rows - 1};
    for (int p = 0; p < 2; p++)
        for (int64_t c = 0; c < v->cols; c++) {
            int64_t at = oc_prune_index(l, probe[p], c);
            if (at != v->rbase[probe[p]] + v->coff[c] || at < 0 || at >= numel) {
                view_free(v);
                return oc_fail(ctx, OC_ERR_INTERNAL, "layer '%s' (%s): weight layout is not row/column separable",
                               lname(l), l->node->op_type);
            }
        }
    return OC_OK;
}

/* ---- one run of a pass ---- */

/* Layer names for one notice line, cut short when long. */
typedef struct namelist {
    char s[480];
    size_t len, count;
} namelist;

static void names_add(namelist *nl, const char *name, const char *extra)
{
    nl->count++;
    size_t room = sizeof(nl->s) - nl->len;
    if (room < 8) return;
    int w = snprintf(nl->s + nl->len, room, "%s'%s'%s", nl->len ? ", " : "", name, extra ? extra : "");
    if (w < 0 || (size_t)w >= room) {
        snprintf(nl->s + nl->len, room, "%s...", nl->len ? ", " : "");
        nl->len = sizeof(nl->s);
        return;
    }
    nl->len += (size_t)w;
}

typedef struct sparse_run {
    oc_pass_run *r;
    const char *pass;       /* message prefix */
    oc_prune_layer *layers;
    size_t n;
    oc_gram *grams;         /* one per layer when samples ran, else NULL */
    selector sel;
    bool reconstruct;
    namelist unseen;        /* layers the samples never reached */
    namelist no_update;     /* reconstruct: layers left as masked */
    namelist thin;          /* reconstruct: fewer input rows than inputs */
    float *dense;           /* reconstruct: the layer's weights before the mask */
    size_t pruned;
    int64_t zeros, numel;
} sparse_run;

static void run_end(sparse_run *s)
{
    if (s->grams)
        for (size_t i = 0; i < s->n; i++) oc_gram_free(&s->grams[i]);
    oc_free(s->grams);
    oc_free(s->dense);
    oc_free(s->layers);
    selector_free(&s->sel);
}

/* Lists the layers and, when the pass wants input norms or reconstructs,
 * runs the samples once for their Grams (before any weight changes). */
static oc_status run_begin(sparse_run *s, oc_pass_run *r, const char *pass, bool need_norms)
{
    memset(s, 0, sizeof(*s));
    s->r = r;
    s->pass = pass;
    s->reconstruct = oc_pass_val(r, "reconstruct") != 0;
    int64_t min_elems = (int64_t)oc_pass_val(r, "min_elems");
    FORWARD_IF_ERROR(oc_prune_layers(r, true, min_elems, &s->layers, &s->n));
    oc_status st = selector_init(r->ctx, &s->sel);
    if (st == OC_OK && s->n && (need_norms || s->reconstruct)) {
        s->grams = oc_calloc(s->n, sizeof(oc_gram));
        if (!s->grams) st = oc_fail(r->ctx, OC_ERR_NOMEM, "out of memory");
        else st = oc_prune_gram_collect(r, s->layers, s->n, s->reconstruct, s->grams);
    }
    if (st != OC_OK) run_end(s);
    return st;
}

static oc_status check_gram(sparse_run *s, size_t i)
{
    const oc_prune_layer *l = &s->layers[i];
    const oc_gram *g = &s->grams[i];
    RETURN_ERROR_IF(g->n != l->cols || g->groups < 1 || l->rows % g->groups, s->r->ctx, OC_ERR_INTERNAL,
                    "layer '%s' (%s): input statistics of %lld groups x %lld columns for a %lld x %lld weight",
                    lname(l), l->node->op_type, (long long)g->groups, (long long)g->n, (long long)l->rows,
                    (long long)l->cols);
    return OC_OK;
}

/* ||X_j||_2 per (group, column) of layer i, as groups x cols floats, or
 * *out NULL when the samples never reached the layer. */
static oc_status layer_norms(sparse_run *s, size_t i, float **out, int64_t *groups)
{
    *out = NULL;
    *groups = 1;
    const oc_gram *g = s->grams ? &s->grams[i] : NULL;
    if (!g || !g->count || (!g->diag && !g->h)) return OC_OK;
    FORWARD_IF_ERROR(check_gram(s, i));
    int64_t n = g->n, total = g->groups * g->n;
    float *v = oc_malloc((size_t)total * sizeof(float));
    RETURN_ERROR_IF(!v, s->r->ctx, OC_ERR_NOMEM, "out of memory for the input norms of layer '%s'",
                    lname(&s->layers[i]));
    for (int64_t gi = 0; gi < g->groups; gi++)
        for (int64_t j = 0; j < n; j++) {
            double d = g->diag ? g->diag[gi * n + j] : g->h[(gi * n + j) * n + j];
            v[gi * n + j] = (float)sqrt(d > 0 ? d : 0);
        }
    *out = v;
    *groups = g->groups;
    return OC_OK;
}

/* Whether layer i gets SparseGPT's update: the samples reached it, its
 * Gram fit in memory, and no other reader depends on the weight (the
 * update fits the weight to this layer's inputs only). */
static bool will_reconstruct(const sparse_run *s, size_t i)
{
    const oc_gram *g = s->grams ? &s->grams[i] : NULL;
    return s->reconstruct && g && g->count && g->h && !s->layers[i].shared;
}

/* Before masking layer i: a copy of its dense weights, which the update
 * starts from (each pruned weight's value is the error it spreads). */
static oc_status save_dense(sparse_run *s, size_t i, const float *w)
{
    oc_free(s->dense);
    s->dense = NULL;
    if (!will_reconstruct(s, i)) return OC_OK;
    const oc_prune_layer *l = &s->layers[i];
    s->dense = oc_malloc((size_t)l->w->numel * sizeof(float));
    RETURN_ERROR_IF(!s->dense, s->r->ctx, OC_ERR_NOMEM, "out of memory reconstructing layer '%s'", lname(l));
    memcpy(s->dense, w, (size_t)l->w->numel * sizeof(float));
    return OC_OK;
}

/* SparseGPT's update of layer i: from the dense weights saved before the
 * mask, with the mask fixed to the zeros of w, per convolution group. */
static oc_status reconstruct_layer(sparse_run *s, size_t i, float *w)
{
    oc_prune_layer *l = &s->layers[i];
    const oc_gram *g = &s->grams[i];
    oc_ctx *ctx = s->r->ctx;
    if (!s->dense) {
        names_add(&s->no_update, lname(l), NULL);
        return OC_OK;
    }
    FORWARD_IF_ERROR(check_gram(s, i));
    lview v;
    FORWARD_IF_ERROR(view_init(ctx, l, &v));
    oc_status st = OC_OK;
    const int64_t rows = v.rows, cols = v.cols, rpg = rows / g->groups;
    float *buf = oc_malloc((size_t)(rows * cols) * sizeof(float));
    uint8_t *keep = oc_malloc((size_t)(rows * cols));
    if (!buf || !keep) {
        st = oc_fail(ctx, OC_ERR_NOMEM, "out of memory reconstructing layer '%s'", lname(l));
        goto cleanup;
    }
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++) {
            int64_t at = v.rbase[r] + v.coff[c];
            buf[r * cols + c] = s->dense[at];
            keep[r * cols + c] = w[at] != 0.0f;
        }
    for (int64_t gi = 0; gi < g->groups && st == OC_OK; gi++)
        st = oc_lsq_obs_prune(ctx, buf + gi * rpg * cols, rpg, cols, keep + gi * rpg * cols, g->h + gi * cols * cols,
                              OC_LSQ_DAMP_DEFAULT);
    if (st != OC_OK) {
        if (st == OC_ERR_NOMEM) goto cleanup;
        /* an input that overflowed or a Gram beyond damping: keep the mask */
        oc_pass_notice(s->r, "%s: layer '%s' (%s) not reconstructed: %s", s->pass, lname(l), l->node->op_type,
                       ctx->msg);
        oc_ctx_init(ctx); /* handled: the next failure gets its own message */
        st = OC_OK;
        goto cleanup;
    }
    for (int64_t j = 0; j < rows * cols; j++)
        if (!isfinite(buf[j])) {
            names_add(&s->no_update, lname(l), NULL);
            goto cleanup;
        }
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++)
            w[v.rbase[r] + v.coff[c]] = keep[r * cols + c] ? buf[r * cols + c] : 0.0f;
    if (g->count < cols) names_add(&s->thin, lname(l), NULL); /* H is rank-deficient: damping decides */
cleanup:
    oc_free(buf);
    oc_free(keep);
    view_free(&v);
    return st;
}

/* After the mask: reconstruct, count and report layer i. */
static oc_status finish_layer(sparse_run *s, size_t i, float *w)
{
    oc_prune_layer *l = &s->layers[i];
    if (s->reconstruct) {
        oc_status st = reconstruct_layer(s, i, w);
        oc_free(s->dense);
        s->dense = NULL;
        FORWARD_IF_ERROR(st);
    }
    int64_t z = count_zeros(w, l->w->numel);
    oc_prune_report_layer(s->r, l, z);
    s->pruned++;
    s->zeros += z;
    s->numel += l->w->numel;
    return OC_OK;
}

static void summary(sparse_run *s)
{
    oc_pass_run *r = s->r;
    if (s->unseen.count)
        oc_pass_notice(r, "%s: %zu layer%s the samples do not reach (in subgraphs, or never computed) ranked by |w| alone: %s", s->pass,
                       s->unseen.count, s->unseen.count == 1 ? "" : "s", s->unseen.s);
    if (s->no_update.count)
        oc_pass_notice(r, "%s: %zu layer%s kept as masked, without reconstruction (not reached by the samples, "
                       "shared with another reader, or a Gram too large): %s",
                       s->pass, s->no_update.count, s->no_update.count == 1 ? "" : "s", s->no_update.s);
    if (s->thin.count)
        oc_pass_notice(r, "%s: %zu layer%s reconstructed from fewer input rows than it has inputs, which may "
                       "overfit the samples (give more with --data/--limit): %s",
                       s->pass, s->thin.count, s->thin.count == 1 ? "" : "s", s->thin.s);
    oc_pass_notice(r, "%s: %zu layer%s, %lld of %lld weights zero (%.1f%%)", s->pass, s->pruned,
                   s->pruned == 1 ? "" : "s", (long long)s->zeros,
                   (long long)s->numel, s->numel ? 100.0 * (double)s->zeros / (double)s->numel : 0.0);
}

/* ---- magnitude ---- */

static int64_t target(double frac, int64_t n)
{
    int64_t k = llround(frac * (double)n);
    return k < 0 ? 0 : k > n ? n : k;
}

/* One threshold across all layers, capped per layer: layers the threshold
 * would prune past their cap are pruned at the cap and left out, and the
 * threshold is found again for the others with what remains of the
 * target, until no layer passes its cap. */
static oc_status magnitude_global(sparse_run *s, float **w, double sparsity, double max_layer)
{
    oc_pass_run *r = s->r;
    size_t n = s->n;
    oc_status st = OC_OK;
    keysrc *src = oc_malloc(n * sizeof(keysrc));
    int64_t *cap = oc_malloc(n * sizeof(int64_t));
    int64_t *below = oc_malloc(n * sizeof(int64_t));
    int64_t *equal = oc_malloc(n * sizeof(int64_t));
    bool *capped = oc_calloc(n, sizeof(bool));
    if (!src || !cap || !below || !equal || !capped) {
        st = oc_fail(r->ctx, OC_ERR_NOMEM, "out of memory");
        goto cleanup;
    }
    int64_t total = 0, room = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t numel = s->layers[i].w->numel;
        int64_t z = count_zeros(w[i], numel);
        cap[i] = (int64_t)floor(max_layer * (double)numel);
        if (cap[i] < z) cap[i] = z; /* zeros already there stay */
        total += numel;
        room += cap[i];
    }
    int64_t k = target(sparsity, total);
    if (k > room) {
        oc_pass_notice(r, "%s: max_layer=%g caps the overall sparsity at %.1f%% (asked %.1f%%)", s->pass, max_layer,
                       100.0 * (double)room / (double)total, 100.0 * sparsity);
        k = room;
    }
    int64_t fixed = 0; /* zeros given to capped layers */
    size_t n_capped = 0;
    uint32_t t = 0;
    bool have_t = false;
    for (;;) {
        size_t na = 0;
        for (size_t i = 0; i < n; i++)
            if (!capped[i]) src[na++] = (keysrc){.w = w[i], .n = s->layers[i].w->numel};
        int64_t want = k - fixed;
        if (na == 0 || want <= 0) {
            have_t = false;
            break;
        }
        t = select_key(&s->sel, src, na, want).t;
        have_t = true;
        bool more = false;
        for (size_t i = 0; i < n; i++) {
            if (capped[i]) continue;
            keysrc one = {.w = w[i], .n = s->layers[i].w->numel};
            count_keys(&one, t, &below[i], &equal[i]);
            if (below[i] + equal[i] > cap[i]) {
                capped[i] = true;
                fixed += cap[i];
                n_capped++;
                more = true;
            }
        }
        if (!more) break;
    }
    /* capped layers at their cap; the rest at t, ties in layer order */
    int64_t ties = 0;
    if (have_t) {
        ties = k - fixed;
        for (size_t i = 0; i < n; i++)
            if (!capped[i]) ties -= below[i];
    }
    for (size_t i = 0; i < n && st == OC_OK; i++) {
        int64_t numel = s->layers[i].w->numel;
        st = save_dense(s, i, w[i]);
        if (st != OC_OK) break;
        if (capped[i]) {
            prune_flat(&s->sel, w[i], numel, cap[i]);
        } else if (have_t) {
            int64_t take = ties < equal[i] ? ties : equal[i];
            if (take < 0) take = 0;
            ties -= take;
            cut_flat(w[i], numel, t, take);
        }
        st = finish_layer(s, i, w[i]);
    }
    if (st == OC_OK && n) {
        float thr = 0;
        if (have_t) memcpy(&thr, &t, sizeof(thr)); /* a magnitude key is |w|'s bits */
        oc_pass_notice(r, "%s: global threshold |w| <= %g; %zu layer%s held at max_layer=%g", s->pass, (double)thr,
                       n_capped, n_capped == 1 ? "" : "s", max_layer);
    }
cleanup:
    oc_free(src);
    oc_free(cap);
    oc_free(below);
    oc_free(equal);
    oc_free(capped);
    return st;
}

oc_status oc_pass_prune_magnitude(oc_pass_run *r)
{
    sparse_run s;
    FORWARD_IF_ERROR(run_begin(&s, r, "magnitude", false));
    const double sparsity = oc_pass_val(r, "sparsity");
    const bool global = oc_pass_val(r, "scope") == 1;
    oc_status st = OC_OK;
    float **w = oc_malloc((s.n ? s.n : 1) * sizeof(float *));
    if (!w) st = oc_fail(r->ctx, OC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < s.n && st == OC_OK; i++)
        if (!(w[i] = oc_prune_weight_mut(r, &s.layers[i]))) st = r->ctx->status ? r->ctx->status : OC_ERR_NOMEM;
    if (st == OC_OK && global) {
        st = magnitude_global(&s, w, sparsity, oc_pass_val(r, "max_layer"));
    } else {
        for (size_t i = 0; i < s.n && st == OC_OK; i++) {
            int64_t numel = s.layers[i].w->numel;
            st = save_dense(&s, i, w[i]);
            if (st != OC_OK) break;
            prune_flat(&s.sel, w[i], numel, target(sparsity, numel));
            st = finish_layer(&s, i, w[i]);
        }
    }
    if (st == OC_OK) summary(&s);
    oc_free(w);
    run_end(&s);
    return st;
}

/* ---- wanda ---- */

/* Keys of layer i in view order (row-major): |w| x ||X_col|| of the row's
 * group, or |w| without norms. */
/* View rows are walked ROW_BLOCK at a time, column by column across the
 * block: a MatMul's view rows are the columns of its stored [K, N] weight,
 * and a row at a time would touch one cache line per element. */
enum { ROW_BLOCK = 16 };

static void wanda_keys(const lview *v, const float *w, const float *norms, int64_t groups, uint32_t *keys)
{
    const int64_t rpg = v->rows / groups;
    for (int64_t r0 = 0; r0 < v->rows; r0 += ROW_BLOCK) {
        const int64_t r1 = v->rows - r0 < ROW_BLOCK ? v->rows : r0 + ROW_BLOCK;
        for (int64_t c = 0; c < v->cols; c++)
            for (int64_t r = r0; r < r1; r++) {
                const float *nr = norms ? norms + (r / rpg) * v->cols : NULL;
                const float x = w[v->rbase[r] + v->coff[c]];
                keys[r * v->cols + c] = score_key(x, nr ? fabsf(x) * nr[c] : x);
            }
    }
}

/* Zeros the entries of view rows [r0, r1) whose key (keys from row r0) is
 * of rank <= k among them: those below the k-th key, then ties in order. */
static void mask_rows(selector *sel, float *w, const lview *v, int64_t r0, int64_t r1, const uint32_t *keys,
                      int64_t k)
{
    if (k <= 0) return;
    keysrc src = {.keys = keys, .n = (r1 - r0) * v->cols};
    if (k > src.n) k = src.n;
    pick p = select_key(sel, &src, 1, k);
    const uint32_t t = p.t;
    int64_t ties = k - p.below;
    for (int64_t r = r0; r < r1; r++) {
        const uint32_t *kr = keys + (r - r0) * v->cols;
        for (int64_t c = 0; c < v->cols; c++) {
            bool cut = kr[c] < t;
            if (!cut && kr[c] == t && ties > 0) {
                cut = true;
                ties--;
            }
            if (cut) w[v->rbase[r] + v->coff[c]] = 0.0f;
        }
    }
}

/* mask_rows on every view row alone (k of each row's entries), the rows
 * of a block chosen first and then zeroed column by column across the
 * block; ties go in column order within each row, as mask_rows does. */
static void mask_each_row(selector *sel, float *w, const lview *v, const uint32_t *keys, int64_t k)
{
    if (k <= 0 || v->cols <= 0) return;
    if (k > v->cols) k = v->cols;
    uint32_t t[ROW_BLOCK];
    int64_t ties[ROW_BLOCK];
    for (int64_t r0 = 0; r0 < v->rows; r0 += ROW_BLOCK) {
        const int64_t r1 = v->rows - r0 < ROW_BLOCK ? v->rows : r0 + ROW_BLOCK;
        for (int64_t r = r0; r < r1; r++) {
            keysrc src = {.keys = keys + r * v->cols, .n = v->cols};
            pick p = select_key(sel, &src, 1, k);
            t[r - r0] = p.t;
            ties[r - r0] = k - p.below;
        }
        for (int64_t c = 0; c < v->cols; c++)
            for (int64_t r = r0; r < r1; r++) {
                const uint32_t key = keys[r * v->cols + c];
                bool cut = key < t[r - r0];
                if (!cut && key == t[r - r0] && ties[r - r0] > 0) {
                    cut = true;
                    ties[r - r0]--;
                }
                if (cut) w[v->rbase[r] + v->coff[c]] = 0.0f;
            }
    }
}

static int64_t max_numel(const sparse_run *s)
{
    int64_t m = 1;
    for (size_t i = 0; i < s->n; i++)
        if (s->layers[i].w->numel > m) m = s->layers[i].w->numel;
    return m;
}

oc_status oc_pass_prune_wanda(oc_pass_run *r)
{
    sparse_run s;
    FORWARD_IF_ERROR(run_begin(&s, r, "wanda", true));
    const double sparsity = oc_pass_val(r, "sparsity");
    const bool per_row = oc_pass_val(r, "group") == 0;
    oc_status st = OC_OK;
    uint32_t *keys = oc_malloc((size_t)max_numel(&s) * sizeof(uint32_t));
    if (!keys) st = oc_fail(r->ctx, OC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < s.n && st == OC_OK; i++) {
        oc_prune_layer *l = &s.layers[i];
        float *norms = NULL;
        int64_t groups = 1;
        lview v;
        st = layer_norms(&s, i, &norms, &groups);
        if (st != OC_OK) break;
        if (!norms) names_add(&s.unseen, lname(l), NULL);
        float *w = oc_prune_weight_mut(r, l);
        st = !w ? (r->ctx->status ? r->ctx->status : OC_ERR_NOMEM) : view_init(r->ctx, l, &v);
        if (st != OC_OK) {
            oc_free(norms);
            break;
        }
        st = save_dense(&s, i, w);
        if (st != OC_OK) {
            view_free(&v);
            oc_free(norms);
            break;
        }
        wanda_keys(&v, w, norms, groups, keys);
        if (per_row) {
            mask_each_row(&s.sel, w, &v, keys, target(sparsity, v.cols));
        } else {
            mask_rows(&s.sel, w, &v, 0, v.rows, keys, target(sparsity, l->w->numel));
        }
        view_free(&v);
        oc_free(norms);
        st = finish_layer(&s, i, w);
    }
    if (st == OC_OK) summary(&s);
    oc_free(keys);
    run_end(&s);
    return st;
}

/* ---- N:M ---- */

/* Kernel elements per input channel: the view's columns are (cin, k...). */
static int64_t kernel_size(const oc_prune_layer *l)
{
    const char *op = l->node->op_type;
    if (strcmp(op, "Conv") && strcmp(op, "ConvTranspose")) return 1;
    int64_t k = 1;
    for (int i = 2; i < l->w->ndim; i++) k *= l->w->dims[i];
    return k;
}

/* In every row, for every kernel offset, keeps the n best-scored of each
 * run of m input channels (columns j, j+K, ..., j+(m-1)K) and zeros the
 * rest; the earlier channel wins a tie. */
static void nm_mask(float *w, const lview *v, int64_t ksz, int64_t n, int64_t m, const float *norms, int64_t groups)
{
    const int64_t cin = v->cols / ksz, rpg = v->rows / groups;
    int64_t at[32];
    uint32_t key[32];
    for (int64_t r = 0; r < v->rows; r++) {
        const float *nr = norms ? norms + (r / rpg) * v->cols : NULL;
        for (int64_t koff = 0; koff < ksz; koff++)
            for (int64_t b = 0; b < cin; b += m) {
                for (int64_t i = 0; i < m; i++) {
                    int64_t col = (b + i) * ksz + koff;
                    float x = w[v->rbase[r] + v->coff[col]];
                    at[i] = v->rbase[r] + v->coff[col];
                    key[i] = score_key(x, nr ? fabsf(x) * nr[col] : x);
                }
                /* zero the m - n lowest: each time the last-placed minimum */
                for (int64_t cut = 0; cut < m - n; cut++) {
                    int64_t lo = -1;
                    for (int64_t i = 0; i < m; i++)
                        if (at[i] >= 0 && (lo < 0 || key[i] <= key[lo])) lo = i;
                    w[at[lo]] = 0.0f;
                    at[lo] = -1;
                }
            }
    }
}

oc_status oc_pass_prune_nm(oc_pass_run *r)
{
    const int64_t n = (int64_t)oc_pass_val(r, "n"), m = (int64_t)oc_pass_val(r, "m");
    RETURN_ERROR_IF(n >= m, r->ctx, OC_ERR_USAGE, "nm: n (%lld) must be less than m (%lld)", (long long)n,
                    (long long)m);
    const bool wanda = oc_pass_val(r, "criterion") == 1;
    sparse_run s;
    FORWARD_IF_ERROR(run_begin(&s, r, "nm", wanda));
    namelist skipped = {.len = 0};
    oc_status st = OC_OK;
    for (size_t i = 0; i < s.n && st == OC_OK; i++) {
        oc_prune_layer *l = &s.layers[i];
        const int64_t ksz = kernel_size(l);
        const int64_t cin = ksz > 0 && l->cols % ksz == 0 ? l->cols / ksz : 0;
        if (cin == 0 || cin % m) {
            char what[32];
            snprintf(what, sizeof(what), " (%lld)", (long long)cin);
            names_add(&skipped, lname(l), what);
            continue;
        }
        float *norms = NULL;
        int64_t groups = 1;
        if (wanda) {
            st = layer_norms(&s, i, &norms, &groups);
            if (st != OC_OK) break;
            if (!norms) names_add(&s.unseen, lname(l), NULL);
        }
        lview v;
        float *w = oc_prune_weight_mut(r, l);
        st = !w ? (r->ctx->status ? r->ctx->status : OC_ERR_NOMEM) : view_init(r->ctx, l, &v);
        if (st != OC_OK) {
            oc_free(norms);
            break;
        }
        st = save_dense(&s, i, w);
        if (st == OC_OK) nm_mask(w, &v, ksz, n, m, norms, groups);
        view_free(&v);
        oc_free(norms);
        if (st == OC_OK) st = finish_layer(&s, i, w);
    }
    if (st == OC_OK) {
        if (skipped.count)
            oc_pass_notice(r, "nm: left %zu layer%s alone, input channels (per group) not a multiple of %lld: %s",
                           skipped.count, skipped.count == 1 ? "" : "s", (long long)m, skipped.s);
        summary(&s);
    }
    run_end(&s);
    return st;
}
