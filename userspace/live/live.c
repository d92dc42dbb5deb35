/* live.c - live capture: XDP (attached here, or by mcp-load) + one AF_XDP socket per RX queue
 * feeding the same pipeline as offline mode (see live.h, docs/live.md).
 *
 *   NIC queue q --XDP--> XSKMAP[q] --> AF_XDP socket q --+--> pipeline (decode, sessions, flows)
 *                                                       |
 *   --workers 1: one thread polls every socket and runs the pipeline itself.
 *   --workers N: N socket threads, each polling its share of the sockets, copy frames into
 *                their own lock-free SPSC ring (spsc.h); the calling thread drains the rings
 *                into the single pipeline (the session table is single-threaded).
 *
 * Session events go into the BPF tunnel/subscriber maps (applied by the control thread of
 * live_ctl.c) so the XDP program attributes GTP-U to subscribers. Frames carry wall-clock
 * timestamps; expiry runs on the wall clock.
 */
#include "live/live.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "xdp/maps_user.h"
#include "live/live_bypass.h"
#include "live/live_ctl.h"
#include "live/live_inline.h"
#include "util/log.h"
#include "util/privs.h"
#include "util/spsc.h"
#include "xdp/xsk_socket.h"

#define LIVE_DLT_EN10MB  1    /* DLT_EN10MB: AF_XDP frames are Ethernet */
#define LIVE_RX_BUDGET   256  /* frames per socket per turn */
#define LIVE_TICK_MS     100  /* pipeline expiry at least this often */
#define LIVE_POLL_MS     50
#define LIVE_RING_SLOTS  8192 /* per socket thread */
#define LIVE_SLOT_BYTES  (MCP_XSK_FRAME_SIZE - 256) /* the most a UMEM chunk can hold */

struct live_iface {
	const char *name;
	struct mcp_xdp_obj *xo;
	int attached;  /* we attached the program: detach (and unpin) on exit */
	int lock_fd;   /* flock on the pin directory: one probe per interface */
	int logged;    /* the setup error was already reported */
	int nxsks;
	struct mcp_xsk **xsks;
	int inline_mode; /* the program copies to the inline ring instead of redirecting */
};

struct live_rx_thread {
	struct live *lv;
	pthread_t tid;
	int started;
	struct mcp_spsc ring;
	struct mcp_xsk **xsks; /* the sockets this thread polls */
	int nxsks;
	uint64_t ring_full_waits;
	uint64_t now_us;       /* batch timestamp */
};

struct live {
	const struct mcp_live_cfg *cfg;
	struct mcp_pipeline *p;
	volatile sig_atomic_t *stop;
	struct live_iface *ifs;
	int nifs;
	struct live_rx_thread *thr;
	int nthr;
	volatile int threads_stop;
	uint64_t now_us;       /* batch timestamp (single-thread mode) */
	uint64_t no_meta;      /* frames without XDP metadata */
	struct mcp_live_inline *inl; /* inline rings of the inline-mode interfaces, or NULL */
	int session_hook_active;
	struct mcp_live_ctl *ctl; /* session events -> maps, off the packet path */
	/* status line */
	uint64_t last_rx, last_redirected, last_frames;
};

/* The session listener outlives mcp_live_run (the pipeline keeps the pointer until destroy),
 * so it refers to a static that is switched off when the maps are closed. */
static struct live *live_listener;

static void on_frame_inline(void *ctx, const uint8_t *frame, uint32_t cap_len,
			    uint32_t wire_len, const struct mcp_meta *meta);

void mcp_live_cfg_defaults(struct mcp_live_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->workers = 1;
	cfg->xsk_frames = 0; /* per interface: mcp_xsk_default_frames */
}

static uint64_t wall_us(void)
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
	struct live *lv = live_listener;

	if (!lv || !lv->session_hook_active)
		return;
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

/* --- setup --- */

/* One clear line for a setup error; returns the exit status (2). */
static int setup_error(const char *ifname, int err)
{
	switch (err) {
	case -ENODEV:
		mcp_err("%s: no such network interface\n", ifname);
		break;
	case -EPERM:
	case -EACCES:
		mcp_err("%s: permission denied: live capture needs CAP_NET_ADMIN, CAP_NET_RAW and "
			"CAP_BPF (to attach, more: docs/deploy.md)\n", ifname);
		break;
	case -ENOTSUP:
		mcp_err("%s: no BPF filesystem on /sys/fs/bpf and it could not be mounted: run "
			"'mount -t bpf bpf /sys/fs/bpf'\n", ifname);
		break;
	case -EWOULDBLOCK:
		mcp_err("%s: another mcprobe is already capturing on this interface\n", ifname);
		break;
	case -EPROTO:
		mcp_err("%s: pinned maps are from another mcprobe version: run "
			"'mcp-load detach %s'\n", ifname, ifname);
		break;
	default:
		mcp_err("%s: cannot set up live capture: %s\n", ifname, strerror(-err));
		break;
	}
	return 2;
}

/* Takes the per-interface lock: an exclusive flock on the pin directory, held until exit. */
static int lock_iface(struct live_iface *li)
{
	char dir[PATH_MAX];
	int err = mcp_xdp_pin_dir(li->name, dir, sizeof(dir));

	if (err)
		return err;
	li->lock_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (li->lock_fd < 0)
		return -errno;
	if (flock(li->lock_fd, LOCK_EX | LOCK_NB))
		return errno == EWOULDBLOCK ? -EWOULDBLOCK : -errno;
	return 0;
}

static int attach_iface(struct live *lv, struct live_iface *li)
{
	const struct mcp_live_cfg *cfg = lv->cfg;
	struct mcp_xdp_opts o;
	int err, nq;

	if (!if_nametoindex(li->name))
		return -ENODEV;
	nq = mcp_if_rx_queues(li->name);
	if (nq < 0)
		return nq;
	if (nq > MCP_DEF_MAX_QUEUES) {
		mcp_warn("%s: %d RX queues, using the first %d\n", li->name, nq,
			 MCP_DEF_MAX_QUEUES);
		nq = MCP_DEF_MAX_QUEUES;
	}
	if (!mcp_privs_live_capable()) /* capabilities, not the uid (docs/deploy.md) */
		return -EPERM;
	err = mcp_xdp_check_bpffs();
	if (err)
		return err;

	/* Reuse what mcp-load attached; attach (and later detach) ourselves otherwise. */
	err = mcp_xdp_open_pinned(li->name, &li->xo);
	if (err == -ENOENT) {
		mcp_xdp_opts_default(&o);
		o.mode = cfg->skb_mode ? MCP_XDP_MODE_SKB : MCP_XDP_MODE_NATIVE;
		o.inline_mode = cfg->inline_mode;
		o.nworkers = cfg->workers;
		err = mcp_xdp_attach(li->name, &o, &li->xo);
		if (err && err != -EEXIST && err != -EPERM && err != -ENODEV && !cfg->skb_mode) {
			mcp_warn("%s: native XDP refused (%s), falling back to skb mode\n",
				 li->name, strerror(-err));
			o.mode = MCP_XDP_MODE_SKB;
			err = mcp_xdp_attach(li->name, &o, &li->xo);
		}
		if (!err)
			li->attached = 1;
		else if (err == -EEXIST) /* attached by someone else meanwhile */
			err = mcp_xdp_open_pinned(li->name, &li->xo);
	}
	if (err)
		return err;
	err = lock_iface(li);
	if (err)
		return err;
	if (!li->attached) {
		struct mcp_xdp_config xc;

		/* Maps reused from mcp-load: start from an empty tunnel table (our session table
		 * is the truth) and use our worker count for steering. */
		mcp_xdp_tunnels_clear(li->xo);
		if (!mcp_xdp_config_read(li->xo, &xc) && (xc.flags & MCP_CFG_F_INLINE) &&
		    !cfg->inline_mode)
			mcp_info("%s: program attached by mcp-load runs in inline mode\n", li->name);
	}
	err = mcp_xdp_set_workers(li->xo, cfg->workers);
	if (err)
		return err;
	{
		struct mcp_xdp_config xc;

		if (!mcp_xdp_config_read(li->xo, &xc) && (xc.flags & MCP_CFG_F_INLINE))
			li->inline_mode = 1;
	}
	if (cfg->inline_mode && !li->inline_mode)
		mcp_warn("%s: program attached by mcp-load runs in mirror mode: --inline ignored\n",
			 li->name);
	if (li->inline_mode) {
		err = mcp_live_inline_add(&lv->inl, mcp_xdp_map_fd(li->xo, MCP_XMAP_INLINE_RING),
					  on_frame_inline, lv);
		if (err) {
			mcp_err("%s: cannot read the inline ring: %s\n", li->name, strerror(-err));
			li->logged = 1;
			return err;
		}
		mcp_info("%s: inline mode: frames go on to the stack, copies to the probe\n",
			 li->name);
		return 0;
	}

	li->xsks = calloc(nq, sizeof(*li->xsks));
	if (!li->xsks)
		return -ENOMEM;
	for (int q = 0; q < nq; q++) {
		struct mcp_xdp_config xc;
		int force_copy = cfg->skb_mode;

		if (!mcp_xdp_config_read(li->xo, &xc) && xc.xdp_mode == MCP_XDP_MODE_SKB)
			force_copy = 1;
		err = mcp_xsk_create(li->name, q, cfg->xsk_frames ? cfg->xsk_frames :
							  mcp_xsk_default_frames((uint32_t)nq),
				     force_copy, &li->xsks[q]);
		if (err) {
			li->logged = 1; /* with the queue and the reason */
			return err;
		}
		li->nxsks++;
		err = mcp_xdp_xsk_set(li->xo, q, mcp_xsk_fd(li->xsks[q]));
		if (err) {
			mcp_err("%s queue %d: cannot insert the socket in the XSKMAP: %s\n", li->name,
				q, strerror(-err));
			li->logged = 1;
			return err;
		}
	}
	mcp_info("%s: %d AF_XDP socket(s), program %s\n", li->name, nq,
		 li->attached ? "attached by mcprobe" : "attached by mcp-load");
	return 0;
}

static void detach_iface(struct live_iface *li)
{
	for (int q = 0; q < li->nxsks; q++) {
		if (li->xo)
			mcp_xdp_xsk_set(li->xo, q, -1);
		mcp_xsk_destroy(li->xsks[q]);
	}
	free(li->xsks);
	li->xsks = NULL;
	li->nxsks = 0;
	mcp_xdp_close(li->xo);
	li->xo = NULL;
	if (li->attached) {
		int err = mcp_xdp_detach(li->name);

		if (err)
			mcp_warn("%s: detaching XDP: %s\n", li->name, strerror(-err));
		li->attached = 0;
	}
	if (li->lock_fd >= 0)
		close(li->lock_fd);
	li->lock_fd = -1;
}

/* --- status line --- */

static uint32_t count_subs;

static void count_sub(void *ctx, const struct mcp_subscriber *sub)
{
	if (sub->state == MCP_SUB_ACTIVE)
		count_subs++;
}

struct live_totals {
	uint64_t xdp[MCP_STATS__MAX];
	uint64_t drops;   /* AF_XDP: ring full, no fill entry, other */
	uint64_t rx;      /* frames taken from the sockets */
	uint64_t refused; /* session event map writes the kernel refused */
};

static void live_totals(struct live *lv, struct live_totals *t)
{
	uint64_t v[MCP_STATS__MAX];

	memset(t, 0, sizeof(*t));
	for (int i = 0; i < lv->nifs; i++) {
		struct live_iface *li = &lv->ifs[i];

		if (li->xo && !mcp_xdp_stats_read(li->xo, v))
			for (int k = 0; k < MCP_STATS__MAX; k++)
				t->xdp[k] += v[k];
		t->refused += mcp_xdp_writes_refused(li->xo);
		for (int q = 0; q < li->nxsks; q++) {
			struct mcp_xsk_stats st;

			if (mcp_xsk_stats_read(li->xsks[q], &st))
				continue;
			t->rx += st.rx_frames;
			t->drops += st.rx_dropped + st.rx_ring_full + st.fill_empty + st.rx_invalid;
		}
	}
	if (lv->inl) { /* inline mode: copies taken from the ring, copies the ring had no room for */
		uint64_t frames, bad;

		mcp_live_inline_counts(lv->inl, &frames, &bad);
		t->rx += frames;
		t->drops += bad + t->xdp[MCP_STAT_XDP(MCP_XDP_COPY_LOST)];
	}
}

static void status_line(struct live *lv, double dt)
{
	struct mcp_pipeline_totals pt;
	struct live_totals t;
	uint64_t rx, redir, byp;

	live_totals(lv, &t);
	mcp_pipeline_totals(lv->p, &pt);
	count_subs = 0;
	mcp_sessions_foreach(mcp_pipeline_sessions(lv->p), count_sub, NULL);
	rx = t.xdp[MCP_STAT_XDP(MCP_XDP_RX)];
	redir = t.xdp[MCP_STAT_XDP(MCP_XDP_REDIRECTED)];
	byp = t.xdp[MCP_STAT_XDP(MCP_XDP_BYPASSED)];
	fprintf(stderr,
		"\rkernel %.0f pkt/s in, %.0f pkt/s up | bypass %.1f%% | drops %" PRIu64
		" | flows %u | subscribers %u   ",
		dt > 0 ? (rx - lv->last_rx) / dt : 0.0,
		dt > 0 ? (redir - lv->last_redirected) / dt : 0.0, rx ? 100.0 * byp / rx : 0.0,
		t.drops, pt.flows_active, count_subs);
	lv->last_rx = rx;
	lv->last_redirected = redir;
}

/* --- single-thread mode --- */

static void on_frame_direct(void *ctx, const uint8_t *frame, uint32_t len,
			    const struct mcp_meta *meta)
{
	struct live *lv = ctx;

	if (!meta)
		lv->no_meta++;
	mcp_pipeline_frame_meta(lv->p, LIVE_DLT_EN10MB, frame, len, len, lv->now_us,
				meta ? meta->flags : 0);
}

/* Inline mode: copies from the inline ring, consumed by the pipeline thread in either mode. */
static void on_frame_inline(void *ctx, const uint8_t *frame, uint32_t cap_len,
			    uint32_t wire_len, const struct mcp_meta *meta)
{
	struct live *lv = ctx;

	if (!meta)
		lv->no_meta++;
	mcp_pipeline_frame_meta(lv->p, LIVE_DLT_EN10MB, frame, cap_len, wire_len, wall_us(),
				meta ? meta->flags : 0);
}

/* --- multi-thread mode: socket threads -> SPSC rings -> pipeline thread --- */

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
	s->meta_flags = meta ? meta->flags : 0;
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

		t->now_us = wall_us();
		for (int i = 0; i < n; i++)
			got += mcp_xsk_rx(t->xsks[i], LIVE_RX_BUDGET, on_frame_ring, t);
		if (!got)
			poll(pfd, n, LIVE_POLL_MS);
	}
	return NULL;
}

/* Drains every ring once into the pipeline. Returns frames processed. */
static unsigned int drain_rings(struct live *lv, unsigned int budget)
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

static int start_threads(struct live *lv)
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

static void stop_threads(struct live *lv)
{
	lv->threads_stop = 1;
	for (int i = 0; i < lv->nthr; i++)
		if (lv->thr[i].started)
			pthread_join(lv->thr[i].tid, NULL);
	drain_rings(lv, UINT32_MAX); /* what the threads had already taken */
	for (int i = 0; i < lv->nthr; i++) {
		mcp_spsc_free(&lv->thr[i].ring);
		free(lv->thr[i].xsks);
	}
	free(lv->thr);
	lv->thr = NULL;
	lv->nthr = 0;
}

/* --- main loop --- */

static void run_loop(struct live *lv)
{
	int show_status = isatty(STDERR_FILENO) && mcp_log_get_level() >= MCP_LOG_WARN;
	uint64_t next_tick = mono_ms() + LIVE_TICK_MS, next_status = mono_ms() + 1000;
	uint64_t last_status = mono_ms();
	struct pollfd pfd[MCP_DEF_MAX_QUEUES * 8];
	unsigned int idle = 0;
	int npfd = 0;

	if (lv->nthr == 0) {
		for (int i = 0; i < lv->nifs; i++)
			for (int q = 0; q < lv->ifs[i].nxsks; q++)
				if (npfd < (int)(sizeof(pfd) / sizeof(pfd[0])) - 1)
					pfd[npfd++] = (struct pollfd){
						.fd = mcp_xsk_fd(lv->ifs[i].xsks[q]), .events = POLLIN
					};
		if (lv->inl)
			pfd[npfd++] = (struct pollfd){ .fd = mcp_live_inline_fd(lv->inl),
						       .events = POLLIN };
	}
	while (!*lv->stop) {
		unsigned int got = 0;
		uint64_t now;

		if (lv->nthr == 0) {
			lv->now_us = wall_us();
			for (int i = 0; i < lv->nifs; i++)
				for (int q = 0; q < lv->ifs[i].nxsks; q++)
					got += mcp_xsk_rx(lv->ifs[i].xsks[q], LIVE_RX_BUDGET,
							  on_frame_direct, lv);
			got += mcp_live_inline_consume(lv->inl);
			if (!got)
				poll(pfd, npfd, LIVE_POLL_MS);
		} else {
			/* The rings have no wakeup: back off from 20 us to 1 ms while idle. */
			got = drain_rings(lv, LIVE_RX_BUDGET * 4);
			got += mcp_live_inline_consume(lv->inl);
			idle = got ? 0 : idle + 1;
			if (idle)
				usleep(idle < 50 ? 20 * idle : 1000);
		}
		now = mono_ms();
		if (now >= next_tick) {
			mcp_pipeline_tick(lv->p, wall_us() / 1000);
			next_tick = now + LIVE_TICK_MS;
		}
		if (show_status && now >= next_status) {
			status_line(lv, (now - last_status) / 1000.0);
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

		lv->now_us = wall_us();
		for (int i = 0; i < lv->nifs; i++)
			for (int q = 0; q < lv->ifs[i].nxsks; q++)
				got += mcp_xsk_rx(lv->ifs[i].xsks[q], LIVE_RX_BUDGET,
						  on_frame_direct, lv);
		if (!got)
			break;
	}
}

static void log_summary(struct live *lv)
{
	struct live_totals t;

	live_totals(lv, &t);
	mcp_info("live: xdp rx %" PRIu64 ", to sockets %" PRIu64 ", inline copies %" PRIu64
		 ", bypassed %" PRIu64 ", passed %" PRIu64 ", socket frames %" PRIu64
		 ", socket drops %" PRIu64 ", without metadata %" PRIu64
		 ", session event waits %" PRIu64 ", map writes refused %" PRIu64 "\n",
		 t.xdp[MCP_STAT_XDP(MCP_XDP_RX)], t.xdp[MCP_STAT_XDP(MCP_XDP_REDIRECTED)],
		 t.xdp[MCP_STAT_XDP(MCP_XDP_COPIED)], t.xdp[MCP_STAT_XDP(MCP_XDP_BYPASSED)],
		 t.xdp[MCP_STAT_XDP(MCP_XDP_PASSED)], t.rx, t.drops, lv->no_meta,
		 mcp_live_ctl_waits(lv->ctl), t.refused);
	for (int i = 0; i < lv->nifs; i++)
		for (int q = 0; q < lv->ifs[i].nxsks; q++) {
			struct mcp_xsk_stats st;

			if (!mcp_xsk_stats_read(lv->ifs[i].xsks[q], &st))
				mcp_info("live: %s queue %d: %" PRIu64 " frames, %" PRIu64
					 " with metadata, %" PRIu64 " ring full, %" PRIu64
					 " fill empty\n", lv->ifs[i].name, q, st.rx_frames,
					 st.with_meta, st.rx_ring_full, st.fill_empty);
		}
}

int mcp_live_run(const struct mcp_live_cfg *cfg, struct mcp_pipeline *p,
		 volatile sig_atomic_t *stop, double *elapsed)
{
	struct live lv;
	struct mcp_live_bypass bypass = { 0 };
	struct mcp_bypass_ops bypass_ops;
	uint64_t t0 = mono_ms();
	int rc = 0, err = 0;

	*elapsed = 0;
	if (!cfg->nifaces)
		return 2;
	memset(&lv, 0, sizeof(lv));
	lv.cfg = cfg;
	lv.p = p;
	lv.stop = stop;
	lv.ifs = calloc(cfg->nifaces, sizeof(*lv.ifs));
	if (!lv.ifs)
		return 1;
	mcp_xdp_route_logs();
	for (int i = 0; i < cfg->nifaces; i++) {
		lv.ifs[i].name = cfg->ifaces[i];
		lv.ifs[i].lock_fd = -1;
		for (int j = 0; j < i; j++)
			if (!strcmp(cfg->ifaces[j], cfg->ifaces[i])) {
				mcp_err("%s: interface given twice\n", cfg->ifaces[i]);
				rc = 2;
				goto out;
			}
	}
	lv.nifs = cfg->nifaces;
	for (int i = 0; i < lv.nifs; i++) {
		err = attach_iface(&lv, &lv.ifs[i]);
		if (err) {
			rc = lv.ifs[i].logged ? 2 : setup_error(lv.ifs[i].name, err);
			goto out;
		}
	}
	/* Sessions known before the start (microcloud reload) go into the maps now, later
	 * changes through the listener. */
	for (int i = 0; i < lv.nifs; i++)
		mcp_sessions_foreach(mcp_pipeline_sessions(p), push_existing_session, lv.ifs[i].xo);
	/* Classified flows are counted in the kernel from now on (worker.c); whatever an earlier
	 * probe left in the flow maps (reused pins) belongs to no flow of ours. */
	for (int i = 0; i < lv.nifs && i < (int)(sizeof(bypass.xo) / sizeof(bypass.xo[0])); i++) {
		int n = mcp_xdp_flows_clear(lv.ifs[i].xo);

		if (n > 0)
			mcp_info("live: %s: removed %d flows an earlier probe left in the kernel\n",
				 lv.ifs[i].name, n);
		bypass.xo[bypass.n++] = lv.ifs[i].xo;
	}
	if (!cfg->no_bypass) {
		mcp_live_bypass_ops(&bypass, &bypass_ops);
		mcp_pipeline_set_bypass(p, &bypass_ops);
	}
	/* set up: keep only what map updates (and our own detach) need, before any packet thread
	 * exists, so that they inherit the smaller set */
	{
		int detach = 0;

		for (int i = 0; i < lv.nifs; i++)
			detach |= lv.ifs[i].attached;
		mcp_privs_drop_live(detach);
	}
	live_listener = &lv;
	lv.session_hook_active = 1;
	if (mcp_pipeline_add_session_listener(p, live_on_session_event, NULL))
		mcp_warn("too many session listeners: the kernel will not know subscribers\n");
	err = mcp_live_ctl_start(&lv.ctl, apply_session_event, commit_session_events, &lv);
	if (err)
		mcp_warn("no control thread (%s): map updates run on the packet path\n",
			 strerror(-err));
	if (cfg->workers > 1) {
		err = start_threads(&lv);
		if (err) {
			mcp_err("cannot start the socket threads: %s\n", strerror(-err));
			stop_threads(&lv);
			rc = 1;
			goto out;
		}
	}
	mcp_info("live capture running (%u socket thread(s)); stop with Ctrl-C\n",
		 lv.nthr ? lv.nthr : 1);
	run_loop(&lv);
	if (lv.nthr)
		stop_threads(&lv);
	drain_sockets(&lv);
	log_summary(&lv);
out:
	*elapsed = (mono_ms() - t0) / 1000.0;
	mcp_pipeline_set_bypass(p, NULL); /* kernel counts back into the flows before detach */
	mcp_live_inline_free(lv.inl); /* before the maps it reads are closed */
	lv.inl = NULL;
	mcp_live_ctl_stop(lv.ctl); /* applies what is queued while the maps are still open */
	lv.ctl = NULL;
	lv.session_hook_active = 0;
	live_listener = NULL;
	for (int i = 0; i < lv.nifs; i++)
		detach_iface(&lv.ifs[i]);
	free(lv.ifs);
	return rc;
}
