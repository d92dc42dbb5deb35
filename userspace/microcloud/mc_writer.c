/* mc_writer.c - microcloud asynchronous writer thread (the store and queue: mc_store.c).
 *
 * Producers (workers, the control thread) update the local copy of each persistent fact and
 * queue a reference to it; the writer reads the latest value when it builds the commands, so
 * a fact already queued is not queued twice (coalesced, counted). When the bounded ring is
 * full, facts go to an overflow list (same latest-value rule, counted) and events are dropped
 * (counted). The writer pipelines commands through mcp_mc_link and flushes at flush_cmds commands
 * or every flush_ms. A failed pipeline is dropped and counted; the writer reconnects with
 * exponential backoff and then re-writes every fact of the local copy (full resync), so Redis
 * ends up with the facts it would hold had it never failed. Redis protocol: RESP2 pipelining.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/cpu_pin.h"
#include "util/hugemem.h"
#include "util/log.h"
#include "microcloud/mc_internal.h"

#define MC_BACKOFF_MIN_MS 100
#define MC_BACKOFF_MAX_MS 5000
#define MC_RESYNC_CHUNK 64
#define MC_GC_EVERY_MS 1000

static int mc_drain(struct mcp_mc *m, struct mcp_mc_batch *b);

/* Stale-key deletions travel in a pipeline; until it is acknowledged they are kept here, so
 * a pipeline lost to a failure gives them back to their fact (re-queued: written again, with
 * the deletions, after the reconnect). key is taken over. */
static void mc_inflight_add(struct mcp_mc *m, uint8_t kind, const char *name, char *key)
{
	struct mcp_mc_inflight *f;

	if (m->ninflight == m->capinflight) {
		size_t cap = m->capinflight ? m->capinflight * 2 : 256;
		struct mcp_mc_inflight *n = realloc(m->inflight, cap * sizeof(*n));

		if (!n) {
			free(key); /* best effort: the key keeps its value until it expires */
			return;
		}
		m->inflight = n;
		m->capinflight = cap;
	}
	f = &m->inflight[m->ninflight++];
	f->kind = kind;
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->key = key;
}

/* Resolves the first n in-flight deletions (all if n > count): freed when their pipeline
 * was acknowledged, given back to their facts (and re-queued) when it failed. */
static void mc_inflight_resolve(struct mcp_mc *m, size_t n, int failed)
{
	size_t i;

	if (n > m->ninflight)
		n = m->ninflight;
	if (failed)
		pthread_mutex_lock(&m->lock);
	for (i = 0; i < n; i++) {
		struct mcp_mc_inflight *f = &m->inflight[i];
		struct mcp_mc_entry *e;

		if (failed && (e = mcp_mc_store_get(m, f->kind, f->name, 0))) {
			mcp_mc_entry_add_stale(e, f->key);
			mcp_mc_enqueue_fact(m, e);
		}
		free(f->key);
	}
	if (failed)
		pthread_mutex_unlock(&m->lock);
	if (n)
		memmove(m->inflight, m->inflight + n, (m->ninflight - n) * sizeof(*m->inflight));
	m->ninflight -= n;
}

static void mc_inflight_done(struct mcp_mc *m, int failed)
{
	mc_inflight_resolve(m, SIZE_MAX, failed);
}

/* Single node: the previous pipeline's replies are read only after the next pipeline has been
 * written, so Redis executes one batch while the writer formats the next (two CPUs busy
 * instead of taking turns). Nothing is retried on one node, so the commands need not be kept.
 * mcp_mc_writer_sync() reads what is still outstanding (end of a cycle: mcp_mc_flush's promise).
 * On failure both pipelines count as dropped and their deletions go back to their facts. */
static int mc_pipeline_fail(struct mcp_mc *m, size_t outstanding, int err)
{
	m->st.batches_failed++;
	m->st.cmds_dropped += outstanding;
	m->prev_cmds = 0;
	m->prev_inflight = 0;
	mc_inflight_done(m, 1);
	mcp_mc_link_close(&m->wl);
	mcp_dbg("microcloud: pipeline failed (%s), %zu commands dropped\n", strerror(-err),
		outstanding);
	return err;
}

static int mc_collect_prev(struct mcp_mc *m, size_t also_sent)
{
	size_t got = 0;
	int err;

	if (!m->prev_cmds)
		return 0;
	err = mcp_mc_link_collect(&m->wl, m->prev_cmds, &got);
	m->st.cmds_sent += got;
	if (err)
		return mc_pipeline_fail(m, m->prev_cmds - got + also_sent, err);
	mc_inflight_resolve(m, m->prev_inflight, 0);
	m->prev_cmds = 0;
	m->prev_inflight = 0;
	return 0;
}

int mcp_mc_writer_sync(struct mcp_mc *m)
{
	return mc_collect_prev(m, 0);
}

/* Sends the batch. 0, or -errno after counting the dropped commands. */
int mcp_mc_writer_flush(struct mcp_mc *m, struct mcp_mc_batch *b)
{
	size_t acked = 0, n = b->n;
	int err;

	if (!n)
		return 0;
	mcp_mc_batch_seal(b);
	m->st.batches++;
	if (!m->keys.cluster) {
		err = mcp_mc_link_send(&m->wl, b->buf, b->blen);
		mcp_mc_batch_reset(b);
		if (err)
			return mc_pipeline_fail(m, m->prev_cmds + n, err);
		err = mc_collect_prev(m, n);
		if (err)
			return err;
		m->prev_cmds = n;
		m->prev_inflight = m->ninflight;
	} else {
		/* cluster: MOVED/ASK need the commands and their replies now */
		err = mcp_mc_link_run(&m->wl, b->cmds, n, 0, &acked);
		mc_inflight_done(m, err != 0);
		m->st.cmds_sent += acked;
		if (err) {
			m->st.batches_failed++;
			m->st.cmds_dropped += n - acked;
			mcp_dbg("microcloud: pipeline of %zu commands failed (%s), %zu written\n", n,
				strerror(-err), acked);
		}
		mcp_mc_batch_reset(b);
		if (err)
			return err;
	}
	/* a long counter or resync pass must not hold back control events: serve the queue
	 * between its pipelines */
	if (!m->in_drain && (m->head != m->tail || mcp_mc_sess_pending(m)))
		err = mc_drain(m, b);
	return err;
}

/* Appends the commands for one entry snapshot (taken under the lock). */
static int mc_entry_cmds(struct mcp_mc *m, struct mcp_mc_batch *b, const struct mcp_mc_entry *snap,
			 char **stale, int nstale, uint64_t now)
{
	char keys[MCP_MC_MAX_STALE][MCP_MC_KEY_LEN];
	int i;

	if (snap->kind == MCP_MC_ENTRY_USER)
		return mcp_mc_user_cmds(&m->keys, b, &snap->f.user, now, stale, nstale);
	for (i = 0; i < nstale; i++)
		snprintf(keys[i], MCP_MC_KEY_LEN, "%s", stale[i]);
	m->st.facts_written++;
	return mcp_mc_fact_cmds(&m->keys, b, &snap->f.sub, now, keys, nstale);
}

/* Drains the ring and the overflow list into pipelines. */
/* Ops taken from the queue per lock: the producers (packet thread) and the writer share
 * m->lock, and one handover per op made both sides sleep and wake each other on futexes
 * during GTP-C bursts. */
#define MC_DRAIN_BATCH 32

struct mc_drained {
	struct mcp_mc_op op;
	int nstale;
	char *stale[MCP_MC_MAX_STALE];
};

/* Session changes applied at a time, when the ring runs low: enough that an attach and the
 * modify that follows it usually coalesce into one fact write, few enough that an event
 * does not wait behind many others. */
#define MC_SESS_PUMP 256

/* Takes up to MC_DRAIN_BATCH ops under one lock; facts are snapshotted into snap[]. *left
 * is what stays in the ring. */
static int mc_take_ops(struct mcp_mc *m, struct mc_drained *d, struct mcp_mc_entry *snap,
		       uint64_t *left)
{
	int n = 0;

	pthread_mutex_lock(&m->lock);
	while (n < MC_DRAIN_BATCH) {
		struct mc_drained *x = &d[n];

		if (m->head != m->tail) {
			x->op = m->ring[m->tail++ % m->cfg.queue_len];
		} else if (m->ovf_head) {
			x->op = (struct mcp_mc_op){ .type = MCP_MC_OP_FACT, .e = m->ovf_head };
			m->ovf_head = m->ovf_head->ovf_next;
			if (!m->ovf_head)
				m->ovf_tail = NULL;
		} else {
			break;
		}
		x->nstale = 0;
		if (x->op.type == MCP_MC_OP_FACT) {
			snap[n] = *x->op.e;
			x->nstale = x->op.e->nstale;
			memcpy(x->stale, x->op.e->stale, sizeof(x->stale));
			x->op.e->nstale = 0;
			x->op.e->queued = 0;
		}
		n++;
	}
	*left = mcp_mc_ring_used(m);
	pthread_mutex_unlock(&m->lock);
	return n;
}

static int mc_drain(struct mcp_mc *m, struct mcp_mc_batch *b)
{
	struct mcp_mc_entry *snap = malloc(MC_DRAIN_BATCH * sizeof(*snap));
	struct mc_drained *d = malloc(MC_DRAIN_BATCH * sizeof(*d));
	uint64_t left = 0;
	int err = 0, n, k, i;

	if (!snap || !d) {
		free(snap);
		free(d);
		return -ENOMEM;
	}
	m->in_drain = 1;
	for (;;) {
		/* buffered session changes become ops as the ring empties */
		if (left < MC_DRAIN_BATCH)
			mcp_mc_sess_pump(m, MC_SESS_PUMP);
		n = mc_take_ops(m, d, snap, &left);
		if (n <= 0)
			break;
		for (k = 0; k < n; k++) {
			struct mc_drained *x = &d[k];

			if (err) { /* the rest of a failed batch: facts re-queued, events dropped */
				pthread_mutex_lock(&m->lock);
				if (x->op.type == MCP_MC_OP_FACT) {
					for (i = 0; i < x->nstale; i++) {
						mcp_mc_entry_add_stale(x->op.e, x->stale[i]);
						free(x->stale[i]);
					}
					mcp_mc_enqueue_fact(m, x->op.e);
				} else {
					m->st.events_dropped++;
				}
				pthread_mutex_unlock(&m->lock);
				free(x->op.json);
				continue;
			}
			if (x->op.type == MCP_MC_OP_FACT) {
				struct mcp_mc_entry *e = &snap[k];

				err = mc_entry_cmds(m, b, e, x->stale, x->nstale, mcp_mc_wall_ms());
				for (i = 0; i < x->nstale; i++)
					mc_inflight_add(m, e->kind,
							e->kind == MCP_MC_ENTRY_SUB
								? e->f.sub.sub.imsi
								: e->f.user.name,
							x->stale[i]);
			} else {
				err = mcp_mc_event_cmds(m, b, &x->op);
				free(x->op.json);
			}
			if (!err && b->n >= m->cfg.flush_cmds)
				err = mcp_mc_writer_flush(m, b);
		}
		if (err)
			break;
	}
	free(snap);
	free(d);
	if (!err)
		err = mcp_mc_writer_flush(m, b);
	m->in_drain = 0;
	return err;
}

/* Re-writes every fact of the local copy (after a (re)connect). */
static int mc_resync(struct mcp_mc *m, struct mcp_mc_batch *b)
{
	struct mcp_mc_entry *snap = malloc(MC_RESYNC_CHUNK * sizeof(*snap));
	size_t bi = 0, n, i;
	int err = 0;

	if (!snap)
		return -ENOMEM;
	pthread_mutex_lock(&m->lock);
	m->resync_active = 1;
	pthread_mutex_unlock(&m->lock);
	while (!err) {
		struct mcp_mc_entry *e;

		n = 0;
		pthread_mutex_lock(&m->lock);
		for (; bi < m->nbuckets && n < MC_RESYNC_CHUNK; bi++) {
			size_t cnt = 0;

			for (e = m->buckets[bi]; e; e = e->next)
				cnt++;
			if (n && n + cnt > MC_RESYNC_CHUNK)
				break;
			for (e = m->buckets[bi]; e && n < MC_RESYNC_CHUNK; e = e->next)
				snap[n++] = *e;
		}
		pthread_mutex_unlock(&m->lock);
		if (!n)
			break;
		for (i = 0; i < n && !err; i++) {
			/* stale keys stay with the entry: its queued write deletes them */
			err = mc_entry_cmds(m, b, &snap[i], NULL, 0, mcp_mc_wall_ms());
			if (!err && b->n >= m->cfg.flush_cmds)
				err = mcp_mc_writer_flush(m, b);
		}
	}
	if (!err)
		err = mcp_mc_writer_flush(m, b);
	pthread_mutex_lock(&m->lock);
	m->resync_active = 0;
	pthread_mutex_unlock(&m->lock);
	free(snap);
	if (!err)
		m->st.resyncs++;
	return err;
}

static int mc_flush_counters(struct mcp_mc *m, struct mcp_mc_batch *b)
{
	struct mcp_mc_ctr_table *t, *fresh;
	size_t last_keys;
	int err;

	err = mcp_mc_ctr_drain(m);
	if (err)
		return err;
	/* the writer's own table: what it credited from the producers' summaries */
	if (mcp_mc_ctr_keys(m->wctr)) {
		t = m->wctr;
		m->wctr = NULL; /* the next drain creates it, sized like this one */
		m->wctr_last_keys = mcp_mc_ctr_keys(t);
		err = mcp_mc_ctr_cmds(m, b, t);
		mcp_mc_ctr_destroy(t);
		if (err)
			return err;
	}
	/* the producers' table: records credited while the buffer was full */
	pthread_mutex_lock(&m->ctr_lock);
	last_keys = mcp_mc_ctr_keys(m->ctr);
	pthread_mutex_unlock(&m->ctr_lock);
	if (!last_keys)
		return mcp_mc_writer_flush(m, b);
	fresh = mcp_mc_ctr_create(
		last_keys); /* allocated outside the lock the packet thread takes */
	if (!fresh)
		return -ENOMEM;
	pthread_mutex_lock(&m->ctr_lock);
	t = m->ctr;
	m->ctr = fresh;
	pthread_mutex_unlock(&m->ctr_lock);
	err = mcp_mc_ctr_cmds(m, b, t);
	mcp_mc_ctr_destroy(t);
	if (!err)
		err = mcp_mc_writer_flush(m, b);
	return err;
}

/* Frees detached facts whose grace is over and that have no write pending. */
static void mc_gc(struct mcp_mc *m)
{
	uint64_t now = mcp_mc_wall_ms();
	size_t i;

	pthread_mutex_lock(&m->lock);
	for (i = 0; m->ndeleted && i < m->nbuckets; i++) {
		struct mcp_mc_entry **pp = &m->buckets[i], *e;

		while ((e = *pp)) {
			int del =
				e->kind == MCP_MC_ENTRY_SUB ? e->f.sub.deleted : e->f.user.deleted;
			uint64_t exp = e->kind == MCP_MC_ENTRY_SUB ? e->f.sub.expire_wall_ms
								   : e->f.user.expire_wall_ms;

			if (del && exp <= now && !e->queued) {
				*pp = e->next;
				mcp_mc_entry_free(e);
				m->nentries--;
				m->ndeleted--;
			} else {
				pp = &e->next;
			}
		}
	}
	pthread_mutex_unlock(&m->lock);
}

static void *mc_writer_main(void *arg)
{
	struct mcp_mc *m = arg;
	struct mcp_mc_batch b = { .cluster = m->keys.cluster };
	uint64_t backoff = MC_BACKOFF_MIN_MS, next_try = 0, next_cycle = 0, next_gc = 0;
	int need_resync = 0, stop = 0, err;
	uint64_t next_counters = 0;
	struct timespec cpu;
	uint64_t cyc;

	mcp_helper_thread_start("mcp-redis");
	for (;;) {
		uint64_t now = mcp_mc_mono_ms(), until = next_cycle;
		struct timespec ts;

		if (!m->connected && next_try > until)
			until = next_try;
		pthread_mutex_lock(&m->lock);
		while (!m->stop && !m->urgent && mcp_mc_mono_ms() < until) {
			ts.tv_sec = (time_t)(until / 1000);
			ts.tv_nsec = (long)(until % 1000) * 1000000;
			pthread_cond_timedwait(&m->wake, &m->lock, &ts);
		}
		m->urgent = 0;
		stop = m->stop;
		cyc = m->flush_req;
		m->st.connected = m->connected;
		pthread_mutex_unlock(&m->lock);
		now = mcp_mc_mono_ms();
		next_cycle = now + m->cfg.flush_ms;
		/* credit the packet thread's flow summaries every cycle, with Redis up or not, so
		 * its buffer rarely fills (sums wait in m->wctr for the counter flush) */
		mcp_mc_ctr_drain(m);

		if (!m->connected) {
			/* session changes go to the local copy (for the resync) with Redis down */
			mcp_mc_sess_pump(m, SIZE_MAX);
			if (now < next_try && !stop)
				continue;
			err = mcp_mc_link_open(&m->wl);
			if (err) {
				m->st.connect_failures++;
				if (m->st.connect_failures == 1 || backoff == MC_BACKOFF_MAX_MS / 2)
					mcp_warn("microcloud: cannot reach Redis (%s), retrying\n",
						 strerror(-err));
				next_try = now + backoff;
				backoff = backoff * 2 > MC_BACKOFF_MAX_MS ? MC_BACKOFF_MAX_MS : backoff * 2;
				if (stop)
					break;
				continue;
			}
			m->connected = 1;
			m->st.connects++;
			need_resync = 1;
			mcp_mc_ttl_clear(
				m->ttl_memo); /* keys and TTLs may be gone: set them again */
			backoff = MC_BACKOFF_MIN_MS;
			mcp_info("microcloud: connected\n");
		}
		err = 0;
		if (need_resync) {
			err = mc_resync(m, &b);
			if (!err)
				need_resync = 0;
		}
		if (!err)
			err = mc_drain(m, &b);
		/* counters: every counter_flush_ms, and whenever everything must go out now */
		if (!err && (stop || cyc != m->cycle_done || now >= next_counters)) {
			err = mc_flush_counters(m, &b);
			if (!err)
				next_counters = now + m->cfg.counter_flush_ms;
		}
		if (!err)
			err = mcp_mc_writer_sync(m);
		if (err) {
			mcp_mc_batch_reset(&b);
			if (m->prev_cmds)
				mc_pipeline_fail(m, m->prev_cmds, err);
			mc_inflight_done(m, 1); /* deletions built but never sent */
			mcp_mc_link_close(&m->wl);
			m->connected = 0;
			m->st.disconnects++;
			next_try = now + backoff;
			mcp_warn("microcloud: Redis connection lost (%s), reconnecting\n",
				 strerror(-err));
			if (stop)
				break;
			continue;
		}
		if (now >= next_gc) {
			mc_gc(m);
			next_gc = now + MC_GC_EVERY_MS;
		}
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
		pthread_mutex_lock(&m->lock);
		m->st.writer_cpu_us = (uint64_t)cpu.tv_sec * 1000000 + (uint64_t)cpu.tv_nsec / 1000;
		m->cycle_done = cyc;
		m->st.connected = 1;
		pthread_cond_broadcast(&m->done);
		pthread_mutex_unlock(&m->lock);
		if (stop)
			break;
	}
	mcp_mc_batch_free(&b);
	mcp_mc_link_close(&m->wl);
	pthread_mutex_lock(&m->lock);
	m->st.connected = 0;
	pthread_cond_broadcast(&m->done);
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

int mcp_mc_writer_start(struct mcp_mc *m)
{
	int err;

	m->ring = calloc(m->cfg.queue_len, sizeof(*m->ring));
	m->slen = m->cfg.queue_len < MCP_MC_SESS_BUF ? m->cfg.queue_len : MCP_MC_SESS_BUF;
	/* written by the packet thread: faulted in now, not during a burst */
	m->sring = mcp_huge_zalloc_flags((size_t)m->slen * sizeof(*m->sring), 1);
	if (!m->ring || !m->sring)
		return -ENOMEM;
	err = pthread_create(&m->thread, NULL, mc_writer_main, m);
	if (err)
		return -err;
	m->started = 1;
	return 0;
}

void mcp_mc_writer_stop(struct mcp_mc *m)
{
	size_t i;

	if (m->started) {
		pthread_mutex_lock(&m->lock);
		m->stop = 1;
		mcp_mc_wake(m);
		pthread_mutex_unlock(&m->lock);
		pthread_join(m->thread, NULL);
		m->started = 0;
	}
	for (; m->ring && m->tail != m->head; m->tail++)
		if (m->ring[m->tail % m->cfg.queue_len].type == MCP_MC_OP_EVENT)
			free(m->ring[m->tail % m->cfg.queue_len].json);
	free(m->ring);
	m->ring = NULL;
	mcp_huge_free(m->sring, (size_t)m->slen * sizeof(*m->sring));
	m->sring = NULL;
	mc_inflight_done(m, 0);
	free(m->inflight);
	m->inflight = NULL;
	for (i = 0; m->buckets && i < m->nbuckets; i++) {
		struct mcp_mc_entry *e = m->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			mcp_mc_entry_free(e);
		}
	}
	free(m->buckets);
	m->buckets = NULL;
}

void mcp_mc_flush_start(struct mcp_mc *m)
{
	if (m->started)
		mcp_helper_thread_lend_cpus(m->thread);
	pthread_mutex_lock(&m->lock);
	++m->flush_req;
	mcp_mc_wake(m);
	pthread_mutex_unlock(&m->lock);
}

int mcp_mc_flush_final(struct mcp_mc *m, uint32_t timeout_ms)
{
	if (m->started)
		mcp_helper_thread_lend_cpus(m->thread);
	return mcp_mc_flush(m, timeout_ms);
}

int mcp_mc_flush(struct mcp_mc *m, uint32_t timeout_ms)
{
	uint64_t req, deadline = mcp_mc_wall_ms() + timeout_ms;
	struct timespec ts;
	int err = 0;

	pthread_mutex_lock(&m->lock);
	req = ++m->flush_req;
	mcp_mc_wake(m);
	while (m->cycle_done < req && m->started && !m->stop) {
		ts.tv_sec = (time_t)(deadline / 1000);
		ts.tv_nsec = (long)(deadline % 1000) * 1000000;
		if (pthread_cond_timedwait(&m->done, &m->lock, &ts) == ETIMEDOUT) {
			err = m->cycle_done >= req ? 0 : -ETIMEDOUT;
			break;
		}
	}
	pthread_mutex_unlock(&m->lock);
	return err;
}
