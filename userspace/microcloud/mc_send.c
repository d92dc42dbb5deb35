/* mc_send.c - microcloud writer: sending pipelines and acknowledging them (writer thread only).
 *
 * A batch (mc_keys.c) goes out through mc_link (mc_link.c, mc_cluster.c). On one node the
 * replies of a pipeline are read only after the next one has been written; in a cluster they
 * are read at once (MOVED/ASK need them). A failed pipeline is dropped and counted; the stale
 * keys it was deleting go back to their facts, which are queued again. Redis protocol: RESP2
 * pipelining. Nothing here reads the queue: that is mc_drain.c, above this file.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "microcloud/mc_internal.h"

/* Stale-key deletions travel in a pipeline; until it is acknowledged they are kept here, so
 * a pipeline lost to a failure gives them back to their fact (re-queued: written again, with
 * the deletions, after the reconnect). key is taken over. */
void mcp_mc_inflight_add(struct mcp_mc *m, uint8_t kind, const char *name, char *key)
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

void mcp_mc_inflight_done(struct mcp_mc *m, int failed)
{
	mc_inflight_resolve(m, SIZE_MAX, failed);
}

/* Single node: the previous pipeline's replies are read only after the next pipeline has been
 * written, so Redis executes one batch while the writer formats the next (two CPUs busy
 * instead of taking turns). Nothing is retried on one node, so the commands need not be kept.
 * mcp_mc_writer_sync() reads what is still outstanding (end of a cycle: mcp_mc_flush's promise).
 * On failure both pipelines count as dropped and their deletions go back to their facts. */
int mcp_mc_pipeline_fail(struct mcp_mc *m, size_t outstanding, int err)
{
	m->st.batches_failed++;
	m->st.cmds_dropped += outstanding;
	m->prev_cmds = 0;
	m->prev_inflight = 0;
	mcp_mc_inflight_done(m, 1);
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
		return mcp_mc_pipeline_fail(m, m->prev_cmds - got + also_sent, err);
	mc_inflight_resolve(m, m->prev_inflight, 0);
	m->prev_cmds = 0;
	m->prev_inflight = 0;
	return 0;
}

int mcp_mc_writer_sync(struct mcp_mc *m)
{
	return mc_collect_prev(m, 0);
}

/* Cluster: MOVED/ASK need the commands and their replies now. The batch is reset. */
static int mc_flush_cluster(struct mcp_mc *m, struct mcp_mc_batch *b)
{
	size_t acked = 0, n = b->n;
	int err;

	err = mcp_mc_link_run(&m->wl, b->cmds, n, 0, &acked);
	mcp_mc_inflight_done(m, err != 0);
	m->st.cmds_sent += acked;
	if (err) {
		m->st.batches_failed++;
		m->st.cmds_dropped += n - acked;
		mcp_dbg("microcloud: pipeline of %zu commands failed (%s), %zu written\n", n,
			strerror(-err), acked);
	}
	mcp_mc_batch_reset(b);
	return err;
}

/* Sends the batch. 0, or -errno after counting the dropped commands. */
int mcp_mc_writer_flush(struct mcp_mc *m, struct mcp_mc_batch *b)
{
	size_t n = b->n;
	int err;

	if (!n)
		return 0;
	mcp_mc_batch_seal(b);
	m->st.batches++;
	if (m->keys.cluster)
		return mc_flush_cluster(m, b);
	err = mcp_mc_link_send(&m->wl, b->buf, b->blen);
	mcp_mc_batch_reset(b);
	if (err)
		return mcp_mc_pipeline_fail(m, m->prev_cmds + n, err);
	err = mc_collect_prev(m, n);
	if (err)
		return err;
	m->prev_cmds = n;
	m->prev_inflight = m->ninflight;
	return 0;
}
