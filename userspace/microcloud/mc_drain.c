/* mc_drain.c - microcloud writer: turning the queue, the local copy and the counters into
 * batches (writer thread only).
 *
 * The drain takes queued facts and events (mc_store.c) and buffered session changes
 * (mc_events.c) and builds their commands; a resync re-writes every fact of the local copy
 * after a (re)connect; the counter flush writes the summed counters (mc_counters.c). Full
 * batches go to mc_send.c. A long resync or counter pass serves the queue between its
 * pipelines, so control events never wait behind it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "microcloud/mc_internal.h"

#define MC_RESYNC_CHUNK 64

/* A lingering key gets its remaining grace if it still names the subscriber (another one
 * may own it by now: left alone). */
static int mc_linger_cmd(struct mcp_mc_batch *b, const char *key, const char *imsi,
			 uint64_t ttl_ms)
{
	char ttl[24];

	snprintf(ttl, sizeof(ttl), "%" PRIu64, ttl_ms);
	return mcp_mc_batch_addf(b, key, "EVAL %s 1 %s %s %s", mcp_mc_lua_pexpire_if, key, imsi,
				 ttl);
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
	int nstale, nlinger;
	char *stale[MCP_MC_MAX_STALE];
	char *linger[MCP_MC_MAX_LINGER]; /* lingering keys whose grace this write sends */
	uint64_t linger_ttl_ms[MCP_MC_MAX_LINGER];
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
		x->nstale = x->nlinger = 0;
		if (x->op.type == MCP_MC_OP_FACT) {
			snap[n] = *x->op.e;
			x->nstale = x->op.e->nstale;
			memcpy(x->stale, x->op.e->stale, sizeof(x->stale));
			x->op.e->nstale = 0;
			x->op.e->queued = 0;
			if (x->op.e->nlinger)
				x->nlinger = mcp_mc_entry_take_unsent(x->op.e, x->linger,
								      x->linger_ttl_ms,
								      MCP_MC_MAX_LINGER,
								      mcp_mc_wall_ms());
		}
		n++;
	}
	*left = mcp_mc_ring_used(m);
	pthread_mutex_unlock(&m->lock);
	return n;
}

/* The rest of a failed batch: facts are queued again (with their stale keys), events are
 * dropped and counted. */
static void mc_requeue(struct mcp_mc *m, struct mc_drained *x)
{
	struct mcp_mc_entry *e = x->op.e;
	int i, j;

	pthread_mutex_lock(&m->lock);
	if (x->op.type == MCP_MC_OP_FACT) {
		for (i = 0; i < x->nstale; i++) {
			mcp_mc_entry_add_stale(e, x->stale[i]);
			free(x->stale[i]);
		}
		for (i = 0; i < x->nlinger; i++) { /* their grace is still to be written */
			for (j = 0; j < e->nlinger; j++)
				if (!strcmp(e->linger[j].key, x->linger[i]))
					e->linger[j].unsent = 1;
			free(x->linger[i]);
		}
		mcp_mc_enqueue_fact(m, e);
	} else {
		m->st.events_dropped++;
	}
	pthread_mutex_unlock(&m->lock);
	free(x->op.json);
}

/* Appends one taken op (snap: its fact's snapshot) and sends the batch once it is full. Its
 * stale-key deletions stay in flight until the pipeline is acknowledged. */
static int mc_drain_op(struct mcp_mc *m, struct mcp_mc_batch *b, struct mc_drained *x,
		       const struct mcp_mc_entry *snap)
{
	int err, i;

	if (x->op.type == MCP_MC_OP_FACT) {
		const char *name =
			snap->kind == MCP_MC_ENTRY_SUB ? snap->f.sub.sub.imsi : snap->f.user.name;

		err = mc_entry_cmds(m, b, snap, x->stale, x->nstale, mcp_mc_wall_ms());
		for (i = 0; i < x->nstale; i++)
			mcp_mc_inflight_add(m, snap->kind, name, x->stale[i]);
		/* after the fact's own commands, as a resync writes them; a failed pipeline
		 * leads to a resync, which writes every lingering key again */
		for (i = 0; i < x->nlinger; i++) {
			err |= mc_linger_cmd(b, x->linger[i], name, x->linger_ttl_ms[i]);
			free(x->linger[i]);
		}
	} else {
		err = mcp_mc_event_cmds(m, b, &x->op);
		free(x->op.json);
	}
	if (!err && b->n >= m->cfg.flush_cmds)
		err = mcp_mc_writer_flush(m, b);
	return err;
}

int mcp_mc_drain(struct mcp_mc *m, struct mcp_mc_batch *b)
{
	struct mcp_mc_entry *snap = malloc(MC_DRAIN_BATCH * sizeof(*snap));
	struct mc_drained *d = malloc(MC_DRAIN_BATCH * sizeof(*d));
	uint64_t left = 0;
	int err = 0, n, k;

	if (!snap || !d) {
		free(snap);
		free(d);
		return -ENOMEM;
	}
	while (!err) {
		/* buffered session changes become ops as the ring empties */
		if (left < MC_DRAIN_BATCH)
			mcp_mc_sess_pump(m, MC_SESS_PUMP);
		n = mc_take_ops(m, d, snap, &left);
		if (n <= 0)
			break;
		for (k = 0; k < n; k++) {
			if (err)
				mc_requeue(m, &d[k]);
			else
				err = mc_drain_op(m, b, &d[k], &snap[k]);
		}
	}
	free(snap);
	free(d);
	if (!err)
		err = mcp_mc_writer_flush(m, b);
	return err;
}

/* Sends a full batch, then serves the queue: a long counter or resync pass must not hold back
 * control events between its pipelines. The flusher the counters code is handed. */
static int mc_flush_serving(void *ctx, struct mcp_mc_batch *b)
{
	struct mcp_mc *m = ctx;
	int err;

	if (!b->n)
		return 0;
	err = mcp_mc_writer_flush(m, b);
	if (!err && (m->head != m->tail || mcp_mc_sess_pending(m)))
		err = mcp_mc_drain(m, b);
	return err;
}

/* Snapshots the entries of whole buckets from *bi on, at most MC_RESYNC_CHUNK (a longer
 * bucket alone is cut); returns how many. */
static size_t mc_resync_take(struct mcp_mc *m, struct mcp_mc_entry *snap, size_t *bi)
{
	struct mcp_mc_entry *e;
	size_t n = 0;

	pthread_mutex_lock(&m->lock);
	for (; *bi < m->nbuckets && n < MC_RESYNC_CHUNK; (*bi)++) {
		size_t cnt = 0;

		for (e = m->buckets[*bi]; e; e = e->next)
			cnt++;
		if (n && n + cnt > MC_RESYNC_CHUNK)
			break;
		for (e = m->buckets[*bi]; e && n < MC_RESYNC_CHUNK; e = e->next)
			snap[n++] = *e;
	}
	pthread_mutex_unlock(&m->lock);
	return n;
}

/* The entry named like snap as the local copy holds it now, and its lingering keys with
 * their remaining grace (ttl_ms[]). 0 when the entry is gone. */
static int mc_resync_fresh(struct mcp_mc *m, const struct mcp_mc_entry *snap,
			   struct mcp_mc_entry *cur, char (*linger)[MCP_MC_KEY_LEN],
			   uint64_t *ttl_ms, int *nlinger)
{
	const char *name = snap->kind == MCP_MC_ENTRY_SUB ? snap->f.sub.sub.imsi
							  : snap->f.user.name;
	uint64_t now = mcp_mc_wall_ms();
	struct mcp_mc_entry *e;
	int i;

	*nlinger = 0;
	pthread_mutex_lock(&m->lock);
	e = mcp_mc_store_get(m, snap->kind, name, 0);
	if (e) {
		*cur = *e;
		for (i = 0; i < e->nlinger; i++) {
			if (e->linger[i].expire_wall_ms <= now)
				continue;
			snprintf(linger[*nlinger], MCP_MC_KEY_LEN, "%s", e->linger[i].key);
			ttl_ms[(*nlinger)++] = e->linger[i].expire_wall_ms - now;
		}
	}
	pthread_mutex_unlock(&m->lock);
	return e != NULL;
}

/* Re-writes one fact and its lingering keys (a key another subscriber owns is left alone). */
static int mc_resync_entry(struct mcp_mc *m, struct mcp_mc_batch *b,
			   const struct mcp_mc_entry *snap)
{
	static __thread char linger[MCP_MC_MAX_LINGER][MCP_MC_KEY_LEN];
	uint64_t ttl_ms[MCP_MC_MAX_LINGER];
	struct mcp_mc_entry cur;
	int i, n, err;

	if (!mc_resync_fresh(m, snap, &cur, linger, ttl_ms, &n))
		return 0;
	/* stale keys stay with the entry: its queued write deletes them */
	err = mc_entry_cmds(m, b, &cur, NULL, 0, mcp_mc_wall_ms());
	for (i = 0; i < n && !err; i++)
		err = mc_linger_cmd(b, linger[i],
				    cur.kind == MCP_MC_ENTRY_SUB ? cur.f.sub.sub.imsi : cur.f.user.name,
				    ttl_ms[i]);
	return err;
}

/* Re-writes every fact of the local copy (after a (re)connect).
 *
 * Serving the queue between pipelines interleaves newer fact writes with the resync: each
 * fact's commands are therefore built from the value the local copy holds when they are
 * queued (mc_resync_fresh), never from the chunk's earlier snapshot. One connection keeps
 * the order, so every key receives its values oldest first and ends with the newest version,
 * whichever of the resync and the live updates wrote it last. */
int mcp_mc_resync(struct mcp_mc *m, struct mcp_mc_batch *b)
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
		n = mc_resync_take(m, snap, &bi);
		if (!n)
			break;
		for (i = 0; i < n && !err; i++) {
			err = mc_resync_entry(m, b, &snap[i]);
			if (!err && b->n >= m->cfg.flush_cmds)
				err = mc_flush_serving(m, b);
		}
	}
	if (!err)
		err = mc_flush_serving(m, b);
	pthread_mutex_lock(&m->lock);
	m->resync_active = 0;
	pthread_mutex_unlock(&m->lock);
	free(snap);
	if (!err)
		m->st.resyncs++;
	return err;
}

/* Writes the counters summed so far: the writer's table, then the producers' (swapped for a
 * fresh one). */
int mcp_mc_flush_counters(struct mcp_mc *m, struct mcp_mc_batch *b)
{
	const struct mcp_mc_flusher flusher = { mc_flush_serving, m, m->cfg.flush_cmds };
	struct mcp_mc_ctr_table *t, *fresh;
	size_t last_keys;
	int err;

	err = mcp_mc_ctr_drain(m);
	if (!err)
		err = mcp_mc_probe_stats_cmds(m, b);
	if (err)
		return err;
	/* the writer's own table: what it credited from the producers' summaries */
	if (mcp_mc_ctr_keys(m->wctr)) {
		t = m->wctr;
		m->wctr = NULL; /* the next drain creates it, sized like this one */
		m->wctr_last_keys = mcp_mc_ctr_keys(t);
		err = mcp_mc_ctr_cmds(m, b, t, &flusher);
		mcp_mc_ctr_destroy(t);
		if (err)
			return err;
	}
	/* the producers' table: records credited while the buffer was full */
	pthread_mutex_lock(&m->ctr_lock);
	last_keys = mcp_mc_ctr_keys(m->ctr);
	pthread_mutex_unlock(&m->ctr_lock);
	if (!last_keys)
		return mc_flush_serving(m, b);
	/* allocated outside the lock the packet thread takes */
	fresh = mcp_mc_ctr_create(last_keys);
	if (!fresh)
		return -ENOMEM;
	pthread_mutex_lock(&m->ctr_lock);
	t = m->ctr;
	m->ctr = fresh;
	pthread_mutex_unlock(&m->ctr_lock);
	err = mcp_mc_ctr_cmds(m, b, t, &flusher);
	mcp_mc_ctr_destroy(t);
	if (!err)
		err = mc_flush_serving(m, b);
	return err;
}
