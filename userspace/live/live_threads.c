/* live_threads.c - live capture with --workers N: N socket threads, each polling its share of
 * the AF_XDP sockets, copy frames into their own lock-free SPSC ring (spsc.h); the pipeline
 * thread drains the rings (the session table is single-threaded). docs/live.md.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "live/live_internal.h"

static void on_frame_ring(void *ctx, const uint8_t *frame, uint32_t len,
			  const struct mcp_meta *meta)
{
	struct live_rx_thread *t = ctx;
	struct mcp_spsc_slot *s;

	/* Back-pressure rather than loss: wait for the pipeline; the kernel counts its own
	 * drops (ring full) if this lasts. */
	while (!(s = mcp_spsc_reserve(&t->ring))) {
		t->ring_full_waits++;
		if (t->lv->threads_stop)
			return;
		sched_yield();
	}
	s->len = len < t->ring.slot_bytes ? len : t->ring.slot_bytes;
	s->wire_len = len;
	s->ts_us = t->now_us;
	s->meta_flags = meta ? meta->flags : MCP_META_F_ABSENT;
	memcpy(s->data, frame, s->len);
	mcp_spsc_publish(&t->ring);
}

static void *rx_thread_main(void *arg)
{
	struct live_rx_thread *t = arg;
	struct pollfd pfd[MCP_DEF_MAX_QUEUES * 8];
	int n = t->nxsks < (int)(sizeof(pfd) / sizeof(pfd[0])) ? t->nxsks :
								 (int)(sizeof(pfd) / sizeof(pfd[0]));

	for (int i = 0; i < n; i++)
		pfd[i] = (struct pollfd){ .fd = mcp_xsk_fd(t->xsks[i]), .events = POLLIN };
	while (!t->lv->threads_stop) {
		unsigned int got = 0;

		t->now_us = mcp_live_wall_us();
		for (int i = 0; i < n; i++)
			got += mcp_xsk_rx(t->xsks[i], LIVE_RX_BUDGET, on_frame_ring, t);
		if (!got)
			poll(pfd, n, LIVE_POLL_MS);
	}
	return NULL;
}

/* Drains every ring once into the pipeline. Returns frames processed. */
unsigned int mcp_live_drain_rings(struct live *lv, unsigned int budget)
{
	unsigned int total = 0;

	for (int i = 0; i < lv->nthr; i++) {
		struct live_rx_thread *t = &lv->thr[i];
		struct mcp_spsc_slot *s;
		unsigned int n = 0;

		while (n < budget && (s = mcp_spsc_peek(&t->ring))) {
			mcp_pipeline_frame_meta(lv->p, LIVE_DLT_EN10MB, s->data, s->len,
						s->wire_len, s->ts_us, s->meta_flags);
			mcp_spsc_release(&t->ring);
			n++;
		}
		total += n;
	}
	return total;
}

int mcp_live_threads_start(struct live *lv)
{
	int nsock = 0, k = 0;

	for (int i = 0; i < lv->nifs; i++)
		nsock += lv->ifs[i].nxsks;
	lv->nthr = (int)lv->cfg->workers < nsock ? (int)lv->cfg->workers : nsock;
	if (lv->nthr < 1)
		return nsock ? -EINVAL : 0; /* inline mode only: no socket to poll */
	lv->thr = calloc((size_t)lv->nthr, sizeof(*lv->thr));
	if (!lv->thr)
		return -ENOMEM;
	for (int i = 0; i < lv->nthr; i++) {
		lv->thr[i].lv = lv;
		lv->thr[i].xsks = calloc((size_t)nsock, sizeof(struct mcp_xsk *));
		if (!lv->thr[i].xsks || mcp_spsc_init(&lv->thr[i].ring, LIVE_RING_SLOTS,
						      LIVE_SLOT_BYTES))
			return -ENOMEM;
	}
	/* Sockets are dealt round-robin over the threads. */
	for (int i = 0; i < lv->nifs; i++)
		for (int q = 0; q < lv->ifs[i].nxsks; q++, k++) {
			struct live_rx_thread *t = &lv->thr[k % lv->nthr];

			t->xsks[t->nxsks++] = lv->ifs[i].xsks[q];
		}
	for (int i = 0; i < lv->nthr; i++) {
		int err = pthread_create(&lv->thr[i].tid, NULL, rx_thread_main, &lv->thr[i]);

		if (err)
			return -err;
		lv->thr[i].started = 1;
	}
	return 0;
}

void mcp_live_threads_stop(struct live *lv)
{
	lv->threads_stop = 1;
	for (int i = 0; i < lv->nthr; i++)
		if (lv->thr[i].started)
			pthread_join(lv->thr[i].tid, NULL);
	mcp_live_drain_rings(lv, UINT32_MAX); /* what the threads had already taken */
	for (int i = 0; i < lv->nthr; i++) {
		mcp_spsc_free(&lv->thr[i].ring);
		free(lv->thr[i].xsks);
	}
	free(lv->thr);
	lv->thr = NULL;
	lv->nthr = 0;
}
