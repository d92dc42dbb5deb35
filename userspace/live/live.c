/* live.c - live capture: XDP (attached here, or by mcp-load) + one AF_XDP socket per RX queue
 * feeding the same pipeline as offline mode (see live.h, docs/live.md).
 *
 *   NIC queue q --XDP--> XSKMAP[q] --> AF_XDP socket q --> pipeline thread (decode, sessions)
 *                                                              |
 *   --workers 1: the pipeline thread polls every socket and runs the flow worker itself.
 *   --workers N: it polls every socket, decodes (from the inner header when the metadata
 *                names a known tunnel), and hands each user packet, copied, to the shard
 *                that owns it (pipeline/shards.h); the UMEM chunk goes straight back.
 *
 * Session events go into the BPF tunnel/subscriber maps (applied by the control thread of
 * live_ctl.c) so the XDP program attributes GTP-U to subscribers. Frames carry wall-clock
 * timestamps; expiry runs on the wall clock. This file is the run loop and the session
 * listener; live_iface.c sets up each interface, live_status.c the counters.
 */
#include "live/live.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "live/live_bypass.h"
#include "live/live_internal.h"
#include "pipeline/shards.h"
#include "util/log.h"
#include "util/privs.h"
#include "xdp/maps_user_flows.h"
#include "xdp/maps_user_tunnels.h"

void mcp_live_cfg_defaults(struct mcp_live_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->workers = 1;
	cfg->xsk_frames = 0; /* per interface: mcp_xsk_default_frames */
}

uint64_t mcp_live_wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* --- session events -> BPF maps of every interface --- */

static void apply_session_event(void *ctx, enum mcp_session_event ev,
				const struct mcp_subscriber *sub, uint64_t ts_ms)
{
	struct live *lv = ctx;

	for (int i = 0; i < lv->nifs; i++)
		if (lv->ifs[i].xo) {
			mcp_xdp_batch_begin(lv->ifs[i].xo); /* -ENOMEM: writes go one by one */
			mcp_xdp_on_session_event(lv->ifs[i].xo, ev, sub, ts_ms);
		}
}

/* The control thread's batch of map writes goes to the kernel (maps_user.h). */
static void commit_session_events(void *ctx)
{
	struct live *lv = ctx;

	for (int i = 0; i < lv->nifs; i++)
		if (lv->ifs[i].xo)
			mcp_xdp_batch_commit(lv->ifs[i].xo);
}

/* Map updates go through the control thread (live_ctl.h) so GTP-C bursts do not stall the
 * packet loop; without it (start failed, or after the stop) they are applied here. */
static void live_on_session_event(void *ctx, enum mcp_session_event ev,
				  const struct mcp_subscriber *sub, uint64_t ts_ms)
{
	struct live *lv = ctx;

	if (lv->ctl) {
		mcp_live_ctl_post(lv->ctl, ev, sub, ts_ms);
	} else {
		apply_session_event(lv, ev, sub, ts_ms);
		commit_session_events(lv);
	}
}

static void push_existing_session(void *ctx, const struct mcp_subscriber *sub)
{
	struct mcp_xdp_obj *xo = ctx;

	if (sub->state == MCP_SUB_ACTIVE || sub->state == MCP_SUB_DELETED)
		mcp_xdp_tunnel_update(xo, sub);
}

/* --- frames --- */

static void on_frame_direct(void *ctx, const uint8_t *frame, uint32_t len,
			    const struct mcp_meta *meta)
{
	struct live *lv = ctx;

	if (!meta)
		lv->no_meta++;
	mcp_pipeline_frame_meta(lv->p, frame, len, len, lv->now_us, meta);
}

/* Inline mode: copies from the inline ring, consumed by the pipeline thread in either mode. */
void mcp_live_on_frame_inline(void *ctx, const uint8_t *frame, uint32_t cap_len,
			    uint32_t wire_len, const struct mcp_meta *meta)
{
	struct live *lv = ctx;

	if (!meta)
		lv->no_meta++;
	mcp_pipeline_frame_meta(lv->p, frame, cap_len, wire_len, mcp_live_wall_us(), meta);
}

/* --- main loop --- */

/* The pipeline thread polls every socket and the inline ring; returns the pollfd count. */
static int loop_pollfds(struct live *lv, struct pollfd *pfd, int cap)
{
	int npfd = 0;

	for (int i = 0; i < lv->nifs; i++)
		for (int q = 0; q < lv->ifs[i].nxsks; q++)
			if (npfd < cap - 1)
				pfd[npfd++] = (struct pollfd){ .fd = mcp_xsk_fd(lv->ifs[i].xsks[q]),
							       .events = POLLIN };
	if (lv->inl)
		pfd[npfd++] = (struct pollfd){ .fd = mcp_live_inline_fd(lv->inl), .events = POLLIN };
	return npfd;
}

/* One turn over every socket and the inline ring, waiting when idle. */
static void turn_direct(struct live *lv, struct pollfd *pfd, int npfd)
{
	unsigned int got = 0;

	lv->now_us = mcp_live_wall_us();
	for (int i = 0; i < lv->nifs; i++)
		for (int q = 0; q < lv->ifs[i].nxsks; q++)
			got += mcp_xsk_rx(lv->ifs[i].xsks[q], LIVE_RX_BUDGET, on_frame_direct, lv);
	got += mcp_live_inline_consume(lv->inl);
	if (got)
		mcp_pipeline_flush_batch(lv->p);
	else
		poll(pfd, npfd, LIVE_POLL_MS);
}

static void run_loop(struct live *lv)
{
	int show_status = isatty(STDERR_FILENO) && mcp_log_get_level() >= MCP_LOG_WARN;
	uint64_t next_tick = mono_ms() + LIVE_TICK_MS, next_status = mono_ms() + 1000;
	uint64_t last_status = mono_ms();
	struct pollfd pfd[MCP_DEF_MAX_QUEUES * 8];
	int npfd = loop_pollfds(lv, pfd, (int)(sizeof(pfd) / sizeof(pfd[0])));

	while (!*lv->stop) {
		uint64_t now;

		turn_direct(lv, pfd, npfd);
		now = mono_ms();
		if (now >= next_tick) {
			mcp_pipeline_tick(lv->p, mcp_live_wall_us() / 1000);
			next_tick = now + LIVE_TICK_MS;
		}
		if (show_status && now >= next_status) {
			mcp_live_status_line(lv, (now - last_status) / 1000.0);
			last_status = now;
			next_status = now + 1000;
		}
	}
	if (show_status)
		fprintf(stderr, "\r%*s\r", 100, "");
}

/* Frames still queued in the sockets when the stop came: take them (bounded) so that a
 * replay that just ended is counted completely. */
static void drain_sockets(struct live *lv)
{
	for (int round = 0; round < 64; round++) {
		unsigned int got = mcp_live_inline_consume(lv->inl);

		lv->now_us = mcp_live_wall_us();
		for (int i = 0; i < lv->nifs; i++)
			for (int q = 0; q < lv->ifs[i].nxsks; q++)
				got += mcp_xsk_rx(lv->ifs[i].xsks[q], LIVE_RX_BUDGET,
						  on_frame_direct, lv);
		if (!got)
			break;
	}
}

/* --- steps of mcp_live_run --- */

/* Names the interfaces; one given twice is a usage error. Returns an exit status. */
static int live_init(struct live *lv, const struct mcp_live_cfg *cfg, struct mcp_pipeline *p,
		     volatile sig_atomic_t *stop)
{
	memset(lv, 0, sizeof(*lv));
	lv->cfg = cfg;
	lv->p = p;
	lv->stop = stop;
	lv->ifs = calloc(cfg->nifaces, sizeof(*lv->ifs));
	lv->bypass = calloc(MCP_SHARDS_MAX, sizeof(*lv->bypass));
	lv->bypass_ops = calloc(MCP_SHARDS_MAX, sizeof(*lv->bypass_ops));
	if (!lv->ifs || !lv->bypass || !lv->bypass_ops)
		return 1;
	for (int i = 0; i < cfg->nifaces; i++) {
		lv->ifs[i].name = cfg->ifaces[i];
		lv->ifs[i].lock_fd = -1;
		for (int j = 0; j < i; j++)
			if (!strcmp(cfg->ifaces[j], cfg->ifaces[i])) {
				mcp_err("%s: interface given twice\n", cfg->ifaces[i]);
				return 2;
			}
	}
	lv->nifs = cfg->nifaces;
	return 0;
}

static int attach_all(struct live *lv)
{
	for (int i = 0; i < lv->nifs; i++) {
		int err = mcp_live_iface_attach(lv, &lv->ifs[i]);

		if (err)
			return lv->ifs[i].logged ? 2 : mcp_live_setup_error(lv->ifs[i].name, err);
	}
	return 0;
}

/* Set up: only what map updates (and our own detach at exit) need is kept, before any
 * packet or control thread exists, so that they inherit the smaller set (util/privs.h). */
static void drop_privileges(struct live *lv)
{
	int detach = 0;

	for (int i = 0; i < lv->nifs; i++)
		detach |= lv->ifs[i].attached;
	mcp_privs_drop_live(detach);
}

/* One bypass context per worker (live_bypass.h): copies of the first, each with its index. */
static void set_bypass(struct live *lv)
{
	const struct mcp_bypass_ops *ptr[MCP_SHARDS_MAX];
	uint32_t n = mcp_pipeline_workers(lv->p);

	for (uint32_t i = 0; i < n && i < MCP_SHARDS_MAX; i++) {
		lv->bypass[i] = lv->bypass[0];
		lv->bypass[i].worker = (uint16_t)i;
		mcp_live_bypass_ops(&lv->bypass[i], &lv->bypass_ops[i]);
		ptr[i] = &lv->bypass_ops[i];
	}
	mcp_pipeline_set_bypass(lv->p, ptr);
}

/* Sessions known before the start (microcloud reload) go into the maps now, later changes
 * through the listener; classified flows are counted in the kernel from now on (worker.c).
 * Whatever an earlier probe left in the flow maps (reused pins) belongs to no flow of ours. */
static void connect_kernel(struct live *lv)
{
	struct mcp_live_bypass *bypass = lv->bypass;
	int err;

	for (int i = 0; i < lv->nifs; i++)
		mcp_sessions_foreach(mcp_pipeline_sessions(lv->p), push_existing_session,
				     lv->ifs[i].xo);
	for (int i = 0; i < lv->nifs && i < (int)(sizeof(bypass->xo) / sizeof(bypass->xo[0]));
	     i++) {
		int n = mcp_xdp_flows_clear(lv->ifs[i].xo);

		if (n > 0)
			mcp_info("live: %s: removed %d flows an earlier probe left in the kernel\n",
				 lv->ifs[i].name, n);
		bypass->xo[bypass->n++] = lv->ifs[i].xo;
	}
	if (!lv->cfg->no_bypass)
		set_bypass(lv);
	drop_privileges(lv);
	if (mcp_pipeline_add_session_listener(lv->p, live_on_session_event, lv))
		mcp_warn("too many session listeners: the kernel will not know subscribers\n");
	err = mcp_live_ctl_start(&lv->ctl, apply_session_event, commit_session_events, lv);
	if (err)
		mcp_warn("no control thread (%s): map updates run on the packet path\n",
			 strerror(-err));
}

/* Runs until the stop, then takes what the sockets still hold. Returns an exit status. */
static int capture(struct live *lv)
{
	mcp_info("live capture running (%u worker(s)); stop with Ctrl-C\n",
		 mcp_pipeline_workers(lv->p));
	run_loop(lv);
	drain_sockets(lv);
	mcp_live_log_summary(lv);
	return 0;
}

/* Undoes connect_kernel and the attach, in the order the kernel side needs. */
static void live_teardown(struct live *lv)
{
	mcp_pipeline_set_bypass(lv->p, NULL); /* kernel counts back into the flows before detach */
	mcp_live_inline_free(lv->inl); /* before the maps it reads are closed */
	lv->inl = NULL;
	/* the pipeline outlives this run: no event may reach the maps once they are closed */
	mcp_pipeline_remove_session_listener(lv->p, live_on_session_event, lv);
	mcp_live_ctl_stop(lv->ctl); /* applies what is queued while the maps are still open */
	lv->ctl = NULL;
	for (int i = 0; i < lv->nifs; i++)
		mcp_live_iface_detach(&lv->ifs[i]);
	free(lv->ifs);
	free(lv->bypass);
	free(lv->bypass_ops);
}

int mcp_live_run(const struct mcp_live_cfg *cfg, struct mcp_pipeline *p,
		 volatile sig_atomic_t *stop, double *elapsed)
{
	uint64_t t0 = mono_ms();
	struct live lv;
	int rc;

	*elapsed = 0;
	if (!cfg->nifaces)
		return 2;
	mcp_xdp_route_logs();
	rc = live_init(&lv, cfg, p, stop);
	if (!rc)
		rc = attach_all(&lv);
	if (!rc) {
		connect_kernel(&lv);
		rc = capture(&lv);
	}
	*elapsed = (mono_ms() - t0) / 1000.0;
	live_teardown(&lv);
	return rc;
}
