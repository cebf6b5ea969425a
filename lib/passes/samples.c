/* samples.c: running the model over a pass's samples (--data), handing an
 * observer every input and computed value: in order on one session, or, for
 * observers that do not care about order, on several sessions at once.
 *
 * Calibration is the model run over each sample plus an observer update per
 * tensor. On the small CNNs most people compress, one sample is too little
 * work to spread across cores op by op (a thread per Conv costs more than the
 * Conv), while whole samples spread perfectly: each worker thread owns a
 * session and takes the next sample; observer calls are serialized under one
 * lock. Whatever the order samples finish in, an order-independent observer
 * (min/max, counts, flags) ends in the same state, so outputs stay
 * byte-identical run to run and for any thread count. */
#include "pass.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { MAX_WORKERS = 16 };

typedef struct runner {
    oc_pass_run *r;
    oc_dataset *ds;
    oc_observe_fn fn;
    void *ud;
    size_t n;
    size_t ni, no;
    const oc_value **iv;
    atomic_size_t next;
    atomic_bool stop;
    pthread_mutex_t lock; /* observer calls, and the error below */
    oc_status st;
    size_t err_k; /* sample of the error kept: the first one in sample order */
    char err[sizeof(((oc_ctx *)0)->msg)];
} runner;

typedef struct worker {
    runner *R;
    oc_session *sess;
    oc_ten *ins, *outs;
    oc_ctx ctx;
} worker;

static oc_status open_data(oc_pass_run *r, oc_session *sess, const oc_value ***iv, size_t *ni, oc_dataset **ds,
                           size_t cap)
{
    *ni = oc_session_n_inputs(sess);
    *iv = oc_calloc(*ni + 1, sizeof(**iv));
    if (!*iv) return oc_fail(r->ctx, OC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < *ni; i++) (*iv)[i] = oc_session_input(sess, i);
    oc_data_opts dopt = r->popts->data;
    if (!dopt.limit) dopt.limit = (size_t)oc_pass_val(r, "samples");
    if (dopt.limit > cap) dopt.limit = cap;
    return oc_dataset_open(r->ctx, r->popts->data_src, *ni, *iv, &dopt, ds);
}

/* Runs sample k of ds on sess: its inputs go to fn first (they are not
 * computed, so the session's observer never sees them), then the model. */
static oc_status run_sample(oc_ctx *ctx, oc_dataset *ds, size_t k, oc_session *sess, const oc_value **iv, size_t ni,
                            oc_ten *ins, oc_ten *outs, oc_observe_fn fn, void *ud)
{
    int64_t label;
    FORWARD_IF_ERROR(oc_dataset_get(ctx, ds, k, ins, &label));
    for (size_t i = 0; i < ni; i++) fn(ud, iv[i]->name, &ins[i]);
    oc_status st = oc_session_run(ctx, sess, ins, outs);
    for (size_t i = 0; i < ni; i++) oc_ten_release(&ins[i]);
    for (size_t i = 0; i < oc_session_n_outputs(sess); i++) oc_ten_release(&outs[i]);
    return st;
}

/* Every sample of ds, in order, on sess. */
static oc_status run_in_order(oc_pass_run *r, oc_session *sess, oc_dataset *ds, const oc_value **iv, size_t ni,
                              oc_observe_fn fn, void *ud)
{
    oc_ten *ins = oc_calloc(ni + 1, sizeof(oc_ten));
    oc_ten *outs = oc_calloc(oc_session_n_outputs(sess) + 1, sizeof(oc_ten));
    oc_status st = ins && outs ? OC_OK : oc_fail(r->ctx, OC_ERR_NOMEM, "out of memory");
    oc_session_set_observer(sess, fn, ud);
    for (size_t k = 0; k < oc_dataset_count(ds) && st == OC_OK; k++)
        st = run_sample(r->ctx, ds, k, sess, iv, ni, ins, outs, fn, ud);
    oc_free(ins);
    oc_free(outs);
    return st;
}

/* A model with more weights than this runs its samples in order on one
 * single-threaded session, for any observer. Each session holds its own
 * aligned copy of the weights, and a pass over big weights is bound by
 * memory bandwidth, which more sessions only share (a 624 MiB transformer:
 * 4.2 s and 1.9 GB on two sessions, 2.0 s and 1.3 GB on one). One thread,
 * not the matrix work spread over every core (1.7 s there): that changes
 * the last bits of the ranges with the thread count, and outputs stay the
 * same for any --threads and -j. (fashion-mnist, ultraface and yolo gave
 * the same bits on one thread and on two: below this, sessions keep the
 * thread count asked for.) */
#define SAMPLE_PARALLEL_MAX_WEIGHTS (64u << 20)

static void add_bytes(void *ud, oc_graph *g, oc_node *constant_node, oc_tensor *t)
{
    (void)g;
    (void)constant_node;
    *(uint64_t *)ud += t->nbytes;
}

static bool big_weights(oc_model *m)
{
    uint64_t wbytes = 0;
    oc_model_foreach_weight(m, add_bytes, &wbytes);
    return wbytes > SAMPLE_PARALLEL_MAX_WEIGHTS;
}

oc_status oc_pass_run_samples(oc_pass_run *r, oc_observe_fn fn, void *ud, size_t *count)
{
    return oc_pass_run_samples_upto(r, fn, ud, count, SIZE_MAX);
}

oc_status oc_pass_run_samples_upto(oc_pass_run *r, oc_observe_fn fn, void *ud, size_t *count, size_t cap)
{
    oc_session *sess = NULL;
    oc_dataset *ds = NULL;
    const oc_value **iv = NULL;
    size_t ni = 0;
    oc_run_opts ro = {.threads = big_weights(r->m) ? 1 : r->popts->threads};
    FORWARD_IF_ERROR(oc_session_new(r->ctx, r->m, &ro, &sess));
    oc_status st = open_data(r, sess, &iv, &ni, &ds, cap);
    if (st == OC_OK) {
        *count = oc_dataset_count(ds);
        st = run_in_order(r, sess, ds, iv, ni, fn, ud);
    }
    oc_free(iv);
    oc_dataset_free(ds);
    oc_session_free(sess);
    return st;
}

/* ---- any order ---- */

static void locked_observe(void *wp, const char *name, const oc_ten *t)
{
    runner *R = ((worker *)wp)->R;
    pthread_mutex_lock(&R->lock);
    R->fn(R->ud, name, t);
    pthread_mutex_unlock(&R->lock);
}

static void fail_at(runner *R, size_t k, oc_status st, const char *msg)
{
    pthread_mutex_lock(&R->lock);
    if (R->st == OC_OK || k < R->err_k) {
        R->st = st;
        R->err_k = k;
        snprintf(R->err, sizeof(R->err), "%s", msg);
    }
    pthread_mutex_unlock(&R->lock);
    atomic_store(&R->stop, true);
}

static void *work(void *wp)
{
    worker *w = wp;
    runner *R = w->R;
    for (;;) {
        if (atomic_load(&R->stop)) break;
        const size_t k = atomic_fetch_add(&R->next, 1);
        if (k >= R->n) break;
        const oc_status st = run_sample(&w->ctx, R->ds, k, w->sess, R->iv, R->ni, w->ins, w->outs, locked_observe, w);
        if (st != OC_OK) {
            fail_at(R, k, st, w->ctx.msg);
            break;
        }
    }
    return NULL;
}

/* Workers: --threads, else one per core; never more than the samples. */
static size_t n_workers(const oc_pass_run *r, size_t n)
{
    long nt = r->popts->threads > 0 ? r->popts->threads : sysconf(_SC_NPROCESSORS_ONLN);
    if (nt < 1) nt = 1;
    if (nt > MAX_WORKERS) nt = MAX_WORKERS;
    return (size_t)nt < n ? (size_t)nt : n;
}

oc_status oc_pass_run_samples_any_order(oc_pass_run *r, oc_observe_fn fn, void *ud, size_t *count)
{
    const bool big = big_weights(r->m);

    /* the samples first, on a session used to learn the inputs */
    oc_session *first = NULL;
    oc_run_opts ro = {.threads = 1};
    FORWARD_IF_ERROR(oc_session_new(r->ctx, r->m, &ro, &first));
    runner R = {.r = r, .fn = fn, .ud = ud, .no = oc_session_n_outputs(first)};
    oc_status st = open_data(r, first, &R.iv, &R.ni, &R.ds, SIZE_MAX);
    size_t nw = 0;
    worker w[MAX_WORKERS];
    memset(w, 0, sizeof(w));
    if (st == OC_OK) {
        R.n = oc_dataset_count(R.ds);
        *count = R.n;
        nw = big ? 1 : n_workers(r, R.n);
    }
    if (st == OC_OK && nw <= 1) st = run_in_order(r, first, R.ds, R.iv, R.ni, fn, ud); /* one worker: no threads */
    for (size_t i = 0; i < nw && nw > 1 && st == OC_OK; i++) {
        w[i].R = &R;
        oc_ctx_init(&w[i].ctx);
        if (i == 0) w[i].sess = first, first = NULL;
        else st = oc_session_new(r->ctx, r->m, &ro, &w[i].sess);
        w[i].ins = oc_calloc(R.ni + 1, sizeof(oc_ten));
        w[i].outs = oc_calloc(R.no + 1, sizeof(oc_ten));
        if (st == OC_OK && (!w[i].ins || !w[i].outs)) st = oc_fail(r->ctx, OC_ERR_NOMEM, "out of memory");
        if (w[i].sess) oc_session_set_observer(w[i].sess, locked_observe, &w[i]);
    }
    if (st == OC_OK && nw > 1) {
        pthread_mutex_init(&R.lock, NULL);
        atomic_init(&R.next, 0);
        atomic_init(&R.stop, false);
        pthread_t th[MAX_WORKERS];
        bool started[MAX_WORKERS] = {false};
        for (size_t i = 1; i < nw; i++) started[i] = pthread_create(&th[i], NULL, work, &w[i]) == 0;
        work(&w[0]); /* the calling thread is worker 0; a thread that did not start leaves its share to the others */
        for (size_t i = 1; i < nw; i++)
            if (started[i]) pthread_join(th[i], NULL);
        pthread_mutex_destroy(&R.lock);
        if (R.st != OC_OK) st = oc_fail(r->ctx, R.st, "%s", R.err);
    }
    for (size_t i = 0; i < nw; i++) {
        oc_session_free(w[i].sess);
        oc_free(w[i].ins);
        oc_free(w[i].outs);
    }
    oc_session_free(first);
    oc_free(R.iv);
    oc_dataset_free(R.ds);
    return st;
}
