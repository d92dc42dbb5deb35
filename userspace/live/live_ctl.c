/* live_ctl.c - the control thread of live capture: session events applied to the BPF maps in
 * order, off the packet path (see live_ctl.h, docs/live.md).
 */
#include "live/live_ctl.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/cpu_pin.h"
#include "util/spsc.h"

/* ~25 MiB: the opening burst of a capture (10,000 attaches and modifies) without waiting;
 * a waiting packet thread lets the socket rings overflow */
#define CTL_SLOTS 32768
/* events applied between two commits: a batch of map writes is one bpf() call per map */
#define CTL_COMMIT_EVERY 256

struct ctl_event {
	uint32_t ev;
	uint64_t ts_ms;
	struct mcp_subscriber sub;
};

struct mcp_live_ctl {
	struct mcp_spsc ring;
	pthread_t tid;
	int stop;                 /* set with a release store, read with acquire */
	mcp_live_ctl_apply_fn apply;
	mcp_live_ctl_commit_fn commit;
	void *ctx;
	uint64_t waits;           /* poster side only */
};

static unsigned int ctl_drain(struct mcp_live_ctl *c)
{
	struct mcp_spsc_slot *s;
	struct ctl_event e;
	unsigned int n = 0;

	while ((s = mcp_spsc_peek(&c->ring))) {
		memcpy(&e, s->data, sizeof(e));
		mcp_spsc_release(&c->ring);
		c->apply(c->ctx, e.ev, &e.sub, e.ts_ms);
		if (++n % CTL_COMMIT_EVERY == 0 && c->commit)
			c->commit(c->ctx);
	}
	if (n % CTL_COMMIT_EVERY && c->commit)
		c->commit(c->ctx);
	return n;
}

/* The ring has no wakeup: poll it, backing off from 50 us to 1 ms while idle. */
static void *ctl_main(void *arg)
{
	struct mcp_live_ctl *c = arg;
	unsigned int idle = 0;

	mcp_helper_thread_start("mcp-ctl");
	while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
		idle = ctl_drain(c) ? 0 : idle + 1;
		if (idle)
			usleep(idle < 20 ? 50 * idle : 1000);
	}
	ctl_drain(c); /* everything posted before the stop */
	return NULL;
}

int mcp_live_ctl_start(struct mcp_live_ctl **out, mcp_live_ctl_apply_fn apply,
		       mcp_live_ctl_commit_fn commit, void *ctx)
{
	struct mcp_live_ctl *c = calloc(1, sizeof(*c));
	int err;

	*out = NULL;
	if (!c)
		return -ENOMEM;
	c->apply = apply;
	c->commit = commit;
	c->ctx = ctx;
	err = mcp_spsc_init(&c->ring, CTL_SLOTS, sizeof(struct ctl_event));
	if (err)
		goto err;
	err = -pthread_create(&c->tid, NULL, ctl_main, c);
	if (err) {
		mcp_spsc_free(&c->ring);
		goto err;
	}
	*out = c;
	return 0;
err:
	free(c);
	return err;
}

void mcp_live_ctl_post(struct mcp_live_ctl *c, enum mcp_session_event ev,
		       const struct mcp_subscriber *sub, uint64_t ts_ms)
{
	struct mcp_spsc_slot *s;
	struct ctl_event e;

	while (!(s = mcp_spsc_reserve(&c->ring))) {
		c->waits++;
		sched_yield();
	}
	memset(&e, 0, sizeof(e));
	e.ev = ev;
	e.ts_ms = ts_ms;
	e.sub = *sub;
	memcpy(s->data, &e, sizeof(e));
	mcp_spsc_publish(&c->ring);
}

void mcp_live_ctl_stop(struct mcp_live_ctl *c)
{
	if (!c)
		return;
	__atomic_store_n(&c->stop, 1, __ATOMIC_RELEASE);
	pthread_join(c->tid, NULL);
	mcp_spsc_free(&c->ring);
	free(c);
}

uint64_t mcp_live_ctl_waits(const struct mcp_live_ctl *c)
{
	return c ? c->waits : 0;
}
