/* mc_writer.c - microcloud asynchronous writer thread: its loop, start/stop, and flush waits.
 *
 * Producers (workers, the control thread) update the local copy of each persistent fact and
 * queue a reference to it (mc_store.c, mc_events.c); the writer reads the latest value when it
 * builds the commands, so a fact already queued is not queued twice (coalesced, counted). When
 * the bounded ring is full, facts go to an overflow list (same latest-value rule, counted) and
 * events are dropped (counted). Every flush_ms (or at once when woken) one cycle drains the
 * queue into pipelines (mc_drain.c, mc_send.c); counters go out every counter_flush_ms. A
 * failed pipeline is dropped and counted; the writer reconnects with exponential backoff and
 * then re-writes every fact of the local copy (full resync), so Redis ends up with the facts
 * it would hold had it never failed.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/cpu_pin.h"
#include "util/hugemem.h"
#include "util/log.h"
#include "util/privs.h"
#include "microcloud/mc_internal.h"

#define MC_BACKOFF_MIN_MS 100
#define MC_BACKOFF_MAX_MS 5000
#define MC_GC_EVERY_MS 1000

/* The writer loop's state (writer thread only). */
struct mc_loop {
	struct mcp_mc_batch b;
	uint64_t backoff, next_try, next_cycle, next_gc, next_counters;
	uint64_t now; /* start of this cycle (monotonic ms) */
	uint64_t cyc; /* flush requests this cycle answers */
	int need_resync, stop;
};

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

/* Sleeps until the next cycle (or reconnect attempt), a wake-up or stop, then takes the flush
 * requests this cycle will answer. */
static void mc_loop_wait(struct mcp_mc *m, struct mc_loop *w)
{
	uint64_t until = w->next_cycle;
	struct timespec ts;

	if (!m->connected && w->next_try > until)
		until = w->next_try;
	pthread_mutex_lock(&m->lock);
	while (!m->stop && !m->urgent && mcp_mc_mono_ms() < until) {
		ts.tv_sec = (time_t)(until / 1000);
		ts.tv_nsec = (long)(until % 1000) * 1000000;
		pthread_cond_timedwait(&m->wake, &m->lock, &ts);
	}
	m->urgent = 0;
	w->stop = m->stop;
	w->cyc = m->flush_req;
	m->st.connected = m->connected;
	pthread_mutex_unlock(&m->lock);
	w->now = mcp_mc_mono_ms();
	w->next_cycle = w->now + m->cfg.flush_ms;
}

/* Disconnected: keeps session changes in the local copy and, when the backoff allows, tries to
 * connect. 1 when connected now (a resync follows), 0 otherwise. */
static int mc_loop_connect(struct mcp_mc *m, struct mc_loop *w)
{
	int err;

	/* session changes go to the local copy (for the resync) with Redis down */
	mcp_mc_sess_pump(m, SIZE_MAX);
	if (w->now < w->next_try && !w->stop)
		return 0;
	err = mcp_mc_link_open(&m->wl);
	if (err) {
		m->st.connect_failures++;
		if (m->st.connect_failures == 1 || w->backoff == MC_BACKOFF_MAX_MS / 2)
			mcp_warn("microcloud: cannot reach Redis (%s), retrying\n", strerror(-err));
		w->next_try = w->now + w->backoff;
		w->backoff =
			w->backoff * 2 > MC_BACKOFF_MAX_MS ? MC_BACKOFF_MAX_MS : w->backoff * 2;
		return 0;
	}
	m->connected = 1;
	m->st.connects++;
	w->need_resync = 1;
	mcp_mc_ttl_clear(m->ttl_memo); /* keys and TTLs may be gone: set them again */
	w->backoff = MC_BACKOFF_MIN_MS;
	mcp_info("microcloud: connected\n");
	return 1;
}

/* One connected cycle: the resync still owed, the queue, the counters when due (or when a
 * flush was asked for), then the last replies. 0 or -errno (the connection failed). */
static int mc_loop_write(struct mcp_mc *m, struct mc_loop *w)
{
	int err = 0;

	if (w->need_resync) {
		err = mcp_mc_resync(m, &w->b);
		if (!err)
			w->need_resync = 0;
	}
	if (!err)
		err = mcp_mc_drain(m, &w->b);
	if (!err && (w->stop || w->cyc != m->cycle_done || w->now >= w->next_counters)) {
		err = mcp_mc_flush_counters(m, &w->b);
		if (!err)
			w->next_counters = w->now + m->cfg.counter_flush_ms;
	}
	if (!err)
		err = mcp_mc_writer_sync(m);
	return err;
}

/* The connection failed during a cycle: what was built or outstanding is dropped (counted),
 * deletions go back to their facts, and a reconnect is scheduled. */
static void mc_loop_lost(struct mcp_mc *m, struct mc_loop *w, int err)
{
	mcp_mc_batch_reset(&w->b);
	if (m->prev_cmds)
		mcp_mc_pipeline_fail(m, m->prev_cmds, err);
	mcp_mc_inflight_done(m, 1); /* deletions built but never sent */
	mcp_mc_link_close(&m->wl);
	m->connected = 0;
	m->st.disconnects++;
	w->next_try = w->now + w->backoff;
	mcp_warn("microcloud: Redis connection lost (%s), reconnecting\n", strerror(-err));
}

/* A cycle went through: collects expired facts now and then, and answers the flush waits. */
static void mc_loop_done(struct mcp_mc *m, struct mc_loop *w)
{
	struct timespec cpu;

	if (w->now >= w->next_gc) {
		mc_gc(m);
		w->next_gc = w->now + MC_GC_EVERY_MS;
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
	pthread_mutex_lock(&m->lock);
	m->st.writer_cpu_us = (uint64_t)cpu.tv_sec * 1000000 + (uint64_t)cpu.tv_nsec / 1000;
	m->cycle_done = w->cyc;
	m->st.connected = 1;
	pthread_cond_broadcast(&m->done);
	pthread_mutex_unlock(&m->lock);
}

static void *mc_writer_main(void *arg)
{
	struct mcp_mc *m = arg;
	struct mc_loop w = { .b = { .cluster = m->keys.cluster }, .backoff = MC_BACKOFF_MIN_MS };
	int err;

	mcp_helper_thread_start("mcp-redis");
	mcp_privs_drop_thread(); /* talks to Redis only: no capability (util/privs.h) */
	for (;;) {
		mc_loop_wait(m, &w);
		/* credit the packet thread's flow summaries every cycle, with Redis up or not, so
		 * its buffer rarely fills (sums wait in m->wctr for the counter flush) */
		mcp_mc_ctr_drain(m);
		if (!m->connected && !mc_loop_connect(m, &w)) {
			if (w.stop)
				break;
			continue;
		}
		err = mc_loop_write(m, &w);
		if (err)
			mc_loop_lost(m, &w, err);
		else
			mc_loop_done(m, &w);
		if (w.stop)
			break;
	}
	mcp_mc_batch_free(&w.b);
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
	mcp_mc_inflight_done(m, 0);
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
