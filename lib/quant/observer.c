/* observer.c: calibration observers. Activations stream through an observer
 * batch after batch; at the end it proposes the float range to quantize to.
 *
 * MinMax keeps the extremes. Percentile, Entropy and MSE keep histograms of
 * NBINS bins whose range grows as data arrives: when a value falls outside,
 * every pair of neighbouring bins merges into one bin of twice the width and
 * the range doubles, towards the value or around the data. Counts are only ever summed, never
 * split, so no sample is lost and memory is fixed at creation: an update never
 * allocates, whatever the number of samples (ONNX Runtime's calibrators keep
 * every batch and run out of memory on large sets).
 *
 * Two histograms are kept: one of |x| starting at 0 (symmetric ranges), one
 * of x holding 0 (asymmetric ranges). Both receive every finite value. */
#include "quant.h"

#include <float.h>
#include <math.h>
#include <string.h>

enum { NBINS = 2048 };

/* Bin k holds [lo + k bw, lo + (k + 1) bw); the top edge goes in the last bin. */
typedef struct hist {
    double lo, hi, bw, inv_bw;
    uint64_t *bin;
} hist;

struct oc_observer {
    oc_calib_method method;
    double percentile;
    uint64_t count; /* finite values seen */
    uint64_t zeros; /* of which exactly 0: they carry no rounding error */
    float mn, mx;
    bool ready;     /* the histograms have a range: a nonzero value was seen */
    hist mag;       /* |x|, over [0, hi] */
    hist val;       /* x, over [lo, hi] with lo <= 0 <= hi */
    uint64_t bins[]; /* 2 * NBINS for the histogram methods, none for MinMax */
};

oc_observer *oc_observer_new(oc_calib_method method, double percentile)
{
    if (method < OC_CALIB_MINMAX || method > OC_CALIB_MSE) return NULL;
    if (method == OC_CALIB_PERCENTILE && !(percentile > 0 && percentile <= 100)) return NULL;
    const size_t nb = method == OC_CALIB_MINMAX ? 0 : 2 * NBINS;
    oc_observer *o = oc_calloc(1, sizeof(*o) + nb * sizeof(uint64_t));
    if (!o) return NULL;
    o->method = method;
    o->percentile = percentile;
    o->mag.bin = o->bins;
    o->val.bin = o->bins + NBINS;
    return o;
}

void oc_observer_free(oc_observer *o)
{
    oc_free(o);
}

/* ---- histogram growth ---- */

static void set_width(hist *h, double bw)
{
    h->bw = bw;
    h->inv_bw = 1.0 / bw;
    h->hi = h->lo + NBINS * bw;
}

/* Doubles the width of every bin, summing pairs, and puts the old range at
 * bin k of the new one (0 <= k <= NBINS/2, so the old range stays inside):
 * the range doubles, k/NBINS of the growth below and the rest above. */
static void regrid(hist *h, int k)
{
    for (int j = 0; j < NBINS / 2; j++) h->bin[j] = h->bin[2 * j] + h->bin[2 * j + 1];
    memmove(h->bin + k, h->bin, NBINS / 2 * sizeof(uint64_t));
    memset(h->bin, 0, (size_t)k * sizeof(uint64_t));
    memset(h->bin + k + NBINS / 2, 0, (size_t)(NBINS / 2 - k) * sizeof(uint64_t));
    h->lo -= 2.0 * k * h->bw;
    set_width(h, 2 * h->bw);
}

/* Grows h until it holds v, where the values seen so far, v and 0 span
 * [dmin, dmax]. Data on one side of 0 only (ReLU outputs, |x|) grows away
 * from 0 and wastes no bins on the other side; data on both sides is
 * centred, so that small excursions on either side later need no growth
 * (two one-sided doublings would leave it a quarter of the bins). */
static void grow_to(hist *h, double v, double dmin, double dmax)
{
    while (v < h->lo || v > h->hi) {
        const double step = 2 * h->bw, span = h->hi - h->lo; /* new bin width; old range */
        const double fit_lo = ceil((h->lo - dmin) / step), fit_hi = floor((h->lo + 2 * span - dmax) / step);
        double k;
        if (fit_lo > fit_hi) k = v > h->hi ? 0 : NBINS / 2; /* more than one doubling to go */
        else {
            if (dmin >= 0) k = 0;
            else if (dmax <= 0) k = NBINS / 2;
            else k = nearbyint((h->lo + span - 0.5 * (dmin + dmax)) / step);
            k = k < fit_lo ? fit_lo : (k > fit_hi ? fit_hi : k);
        }
        regrid(h, k < 0 ? 0 : (k > NBINS / 2 ? NBINS / 2 : (int)k));
    }
}

static inline int bin_of(const hist *h, double v)
{
    int64_t k = (int64_t)((v - h->lo) * h->inv_bw);
    return k < 0 ? 0 : (k >= NBINS ? NBINS - 1 : (int)k);
}

static inline void hist_add(hist *h, double v, double dmin, double dmax)
{
    if (v < h->lo || v > h->hi) grow_to(h, v, dmin, dmax);
    h->bin[bin_of(h, v)]++;
}

/* Gives the histograms the range of the first batch holding a nonzero value;
 * the values seen before it were all zeros and go in the bins of 0. */
static void start_histograms(oc_observer *o, const float *x, size_t n)
{
    float mn = 0, mx = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i])) continue;
        mn = x[i] < mn ? x[i] : mn;
        mx = x[i] > mx ? x[i] : mx;
    }
    if (mn == 0 && mx == 0) return;
    o->mag.lo = 0;
    set_width(&o->mag, fmax(-(double)mn, (double)mx) / NBINS);
    o->val.lo = mn;
    set_width(&o->val, ((double)mx - mn) / NBINS);
    o->mag.bin[0] += o->count;
    o->val.bin[bin_of(&o->val, 0)] += o->count;
    o->ready = true;
}

/* min, max, zero and non-finite counts of x[0..n) in one pass the compiler
 * vectorizes. It may use the vector min/max (they differ from the C
 * expressions only for NaN and signed zeros), so the NaN/infinity count looks
 * at the bits: an all-ones exponent. The caller redoes a chunk that has one. */
__attribute__((target_clones("avx512f", "avx2", "default"))) OC_FINITE_MINMAX
static void chunk_stats(const float *x, size_t n, float *mn_, float *mx_, uint32_t *zeros_, uint32_t *bad_)
{
    float mn = x[0], mx = x[0];
    uint32_t zeros = 0, bad = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t b;
        memcpy(&b, &x[i], sizeof(b));
        zeros += (b & 0x7fffffffu) == 0;
        bad += (b & 0x7f800000u) == 0x7f800000u;
        mn = x[i] < mn ? x[i] : mn;
        mx = x[i] > mx ? x[i] : mx;
    }
    *mn_ = mn, *mx_ = mx, *zeros_ = zeros, *bad_ = bad;
}

void oc_observer_update(oc_observer *o, const float *x, size_t n)
{
    if (!o || !x) return;
    const bool histograms = o->method != OC_CALIB_MINMAX;
    if (histograms && !o->ready) start_histograms(o, x, n);
    const bool binning = histograms && o->ready;
    float mn = o->count ? o->mn : INFINITY, mx = o->count ? o->mx : -INFINITY;
    uint64_t count = o->count, zeros = o->zeros;
    size_t i = 0;
    if (!binning) {
        enum { CHUNK = 4096 };
        for (; i < n; i += CHUNK) {
            const size_t len = n - i < CHUNK ? n - i : CHUNK;
            float cmn, cmx;
            uint32_t cz, cbad;
            chunk_stats(x + i, len, &cmn, &cmx, &cz, &cbad);
            if (cbad) break; /* a NaN or an infinity: the exact loop below */
            count += len;
            zeros += cz;
            mn = cmn < mn ? cmn : mn;
            mx = cmx > mx ? cmx : mx;
        }
    }
    for (; i < n; i++) {
        const float v = x[i];
        if (!isfinite(v)) continue;
        count++;
        zeros += v == 0;
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
        if (binning) {
            const double a = fabs((double)v);
            hist_add(&o->mag, a, 0, a);
            hist_add(&o->val, v, fmin(mn, 0), fmax(mx, 0));
        }
    }
    o->count = count;
    o->zeros = zeros;
    if (count) o->mn = mn, o->mx = mx;
}

void oc_observer_minmax(const oc_observer *o, float *mn, float *mx)
{
    const bool any = o && o->count;
    if (mn) *mn = any ? o->mn : 0;
    if (mx) *mx = any ? o->mx : 0;
}

/* ---- reading the histograms ---- */

/* [*k0, *k1): the bins from the first to the last nonzero one. */
static void extent(const hist *h, int *k0, int *k1)
{
    int a = 0, e = NBINS;
    while (a < NBINS && !h->bin[a]) a++;
    while (e > a && !h->bin[e - 1]) e--;
    *k0 = a, *k1 = e;
}

/* The value below which a fraction q of the total lies, interpolating
 * linearly inside the bin where the cumulative count crosses it. */
static double quantile(const hist *h, uint64_t total, double q)
{
    const double target = q * (double)total;
    double cum = 0;
    int k0, k1;
    extent(h, &k0, &k1);
    for (int k = k0; k < k1; k++) {
        const double c = (double)h->bin[k];
        if (c == 0) continue;
        if (cum + c >= target) {
            double f = (target - cum) / c;
            f = f < 0 ? 0 : (f > 1 ? 1 : f);
            return h->lo + (k + f) * h->bw;
        }
        cum += c;
    }
    return h->lo + k1 * h->bw;
}

/* The integer range and codes available for dtype; int8 when it is none of
 * the quantized types. */
typedef struct levels {
    int dtype;
    int32_t qmin, qmax;
    int64_t n; /* codes: for symmetric, those from the zero point up */
} levels;

static levels levels_of(int dtype, bool symmetric)
{
    levels l = {.dtype = dtype};
    if (!oc_q_range(dtype, symmetric, &l.qmin, &l.qmax)) {
        l.dtype = symmetric ? OC_DTYPE_INT8 : OC_DTYPE_UINT8;
        oc_q_range(l.dtype, symmetric, &l.qmin, &l.qmax);
    }
    if (symmetric) {
        const int32_t mid = l.qmin < 0 ? 0 : (l.qmax + 1) / 2;
        l.n = (int64_t)l.qmax - mid + 1;
    } else {
        l.n = (int64_t)l.qmax - l.qmin + 1;
    }
    return l;
}

/* ---- entropy ---- */

/* KL(P || Q) for the window [a, e) of h's bins quantized to L levels (the
 * TensorRT recipe): P is the histogram clipped to the window, with the mass
 * outside folded into its edge bins (what saturation does); Q spreads each of
 * L equal groups of the unclipped window's counts evenly over the group's bins
 * where P is nonzero (what rounding to one level does). Clipping too much
 * makes P's edge bins disagree with Q; too little makes the groups coarse. */
static double kl_window(const hist *h, int a, int e, int64_t L, double total)
{
    double left = 0, right = 0;
    for (int k = 0; k < a; k++) left += (double)h->bin[k];
    for (int k = e; k < NBINS; k++) right += (double)h->bin[k];
    const double inside = total - left - right;
    if (inside <= 0) return INFINITY;
    const int width = e - a;
    double kl = 0;
    for (int64_t g = 0; g < L; g++) {
        const int g0 = a + (int)(g * width / L), g1 = a + (int)((g + 1) * width / L);
        double sum = 0;
        int nz = 0;
        for (int k = g0; k < g1; k++) {
            const double p = (double)h->bin[k] + (k == a ? left : 0) + (k == e - 1 ? right : 0);
            sum += (double)h->bin[k];
            nz += p > 0;
        }
        if (!nz) continue;
        /* a group emptied of all but folded outliers: Q has nothing there */
        const double q = fmax(sum / nz / inside, 1e-12);
        for (int k = g0; k < g1; k++) {
            const double p = ((double)h->bin[k] + (k == a ? left : 0) + (k == e - 1 ? right : 0)) / total;
            if (p > 0) kl += p * log(p / q);
        }
    }
    return kl;
}

/* Candidates per search: enough to resolve a bin or so, bounded in time. */
enum { SEARCH_STEPS = 512 };

static double entropy_symmetric(const oc_observer *o, const levels *l)
{
    const hist *h = &o->mag;
    int k0, k1;
    extent(h, &k0, &k1);
    if (k1 <= l->n) return h->lo + k1 * h->bw; /* as many levels as bins: nothing to gain by clipping */
    const int span = k1 - (int)l->n;
    const int step = span / SEARCH_STEPS + 1;
    double best = INFINITY;
    int best_i = k1;
    for (int i = k1; i >= l->n; i -= step) {
        const double kl = kl_window(h, 0, i, l->n, (double)o->count);
        if (kl < best) best = kl, best_i = i; /* ties keep the wider range */
    }
    return best_i * h->bw;
}

/* The asymmetric windows keep the ratio of the negative and positive sides
 * of the observed range and shrink both towards 0 together. */
static void entropy_asymmetric(const oc_observer *o, const levels *l, double *rmin, double *rmax)
{
    const hist *h = &o->val;
    int k0, k1;
    extent(h, &k0, &k1);
    const double z = -h->lo * h->inv_bw; /* where 0 falls, in bins */
    const double dl = fmin(k0, floor(z)), dh = fmax(k1, ceil(z));
    *rmin = h->lo + dl * h->bw, *rmax = h->lo + dh * h->bw;
    double best = INFINITY;
    int pa = -1, pe = -1;
    for (int j = SEARCH_STEPS; j >= 1; j--) {
        const double f = (double)j / SEARCH_STEPS;
        int a = (int)floor(z - f * (z - dl)), e = (int)ceil(z + f * (dh - z));
        a = a < 0 ? 0 : a;
        e = e > NBINS ? NBINS : e;
        if (e - a < l->n) break;
        if (a == pa && e == pe) continue;
        pa = a, pe = e;
        const double kl = kl_window(h, a, e, l->n, (double)o->count);
        if (kl < best) best = kl, *rmin = h->lo + a * h->bw, *rmax = h->lo + e * h->bw;
    }
}

/* ---- mean squared error ---- */

static inline double cube(double v)
{
    return v * v * v;
}

/* Expected squared error of quantizing h's values with step s and clipping
 * at [clo, chi], values spread evenly inside each bin: rounding noise s^2/12
 * inside (none for exact zeros), (x - edge)^2 integrated outside. */
static double expected_sq_error(const hist *h, int k0, int k1, double clo, double chi, double s, double zeros)
{
    const double noise = s * s / 12;
    double err = 0;
    for (int k = k0; k < k1; k++) {
        const double c = (double)h->bin[k];
        if (c == 0) continue;
        const double e0 = h->lo + k * h->bw, e1 = e0 + h->bw;
        const double in = fmin(e1, chi) - fmax(e0, clo);
        if (in > 0) err += c * in * h->inv_bw * noise;
        if (e1 > chi) err += c * h->inv_bw * (cube(e1 - chi) - cube(fmax(e0, chi) - chi)) / 3;
        if (e0 < clo) err += c * h->inv_bw * (cube(clo - e0) - cube(clo - fmin(e1, clo))) / 3;
    }
    return fmax(err - zeros * noise, 0);
}

/* Tries ranges f * [mn, mx] for f from 1 down to 1/SEARCH_STEPS, scoring
 * each with the scale and zero point oc_q_params would pick for it. */
static void mse_search(const oc_observer *o, const levels *l, bool symmetric, double mn, double mx, double *rmin,
                       double *rmax)
{
    const hist *h = symmetric ? &o->mag : &o->val;
    int k0, k1;
    extent(h, &k0, &k1);
    double best = INFINITY;
    *rmin = mn, *rmax = mx;
    for (int j = SEARCH_STEPS; j >= 1; j--) {
        const double f = (double)j / SEARCH_STEPS;
        const float lo = (float)(f * mn), hi = (float)(f * mx);
        const oc_qparams p = oc_q_params(lo, hi, l->dtype, symmetric);
        const double clo = symmetric ? -INFINITY : ((double)l->qmin - p.zero_point) * p.scale;
        const double chi = ((double)l->qmax - p.zero_point) * p.scale;
        const double err = expected_sq_error(h, k0, k1, clo, chi, p.scale, (double)o->zeros);
        if (err < best) best = err, *rmin = lo, *rmax = hi; /* ties keep the wider range */
    }
}

void oc_observer_range(const oc_observer *o, int dtype, bool symmetric, float *rmin, float *rmax)
{
    double lo = 0, hi = 0;
    if (o && o->count) {
        const double mn = fmin(o->mn, 0), mx = fmax(o->mx, 0), absmax = fmax(-mn, mx);
        const levels l = levels_of(dtype, symmetric);
        double t = absmax;
        lo = mn, hi = mx;
        if (o->ready) {
            switch (o->method) {
            case OC_CALIB_MINMAX: break;
            case OC_CALIB_PERCENTILE:
                if (symmetric) {
                    t = quantile(&o->mag, o->count, o->percentile / 100);
                } else {
                    lo = quantile(&o->val, o->count, 1 - o->percentile / 100);
                    hi = quantile(&o->val, o->count, o->percentile / 100);
                }
                break;
            case OC_CALIB_ENTROPY:
                if (symmetric) t = entropy_symmetric(o, &l);
                else entropy_asymmetric(o, &l, &lo, &hi);
                break;
            case OC_CALIB_MSE:
                if (symmetric) mse_search(o, &l, true, -absmax, absmax, &lo, &t), lo = -t;
                else mse_search(o, &l, false, mn, mx, &lo, &hi);
                break;
            }
        }
        /* never beyond what was seen, always holding 0 */
        if (symmetric && o->method != OC_CALIB_MINMAX) {
            t = fmin(fmax(t, 0), absmax);
            lo = -t, hi = t;
        } else {
            lo = fmin(fmax(lo, mn), 0);
            hi = fmax(fmin(hi, mx), 0);
        }
    }
    if (rmin) *rmin = (float)lo;
    if (rmax) *rmax = (float)hi;
}
