/* cap_live.c - mcp-capture -i: a capture slot of its own (cap_slot.c), capture entries set
 * by IMSI (cap_filter.c), frames from the slot's ring (a BPF ring buffer of struct
 * mcp_capture_hdr + frame bytes) to the file writer (cap_file.c), and the loss account.
 *
 * The slot follows the control plane: XDP also copies GTP-C, PFCP and T-PDUs of tunnels it
 * does not know (sub_idx MCP_META_SUB_NONE) to the ring. Those go through a selector that
 * follows the GTP-C (cap_select.c): it writes the subscribers' control messages with
 * --control, and their T-PDUs that arrived before the probe installed the tunnel.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "capture/cap_filter.h"
#include "capture/cap_live.h"
#include "capture/cap_remote.h"
#include "capture/cap_select.h"
#include "capture/cap_slot.h"
#include "util/log.h"
#include "xdp/maps_user.h"

#define MCP_CAP_POLL_MS 20          /* ring wait; also the filter scan period */
#define MCP_CAP_RECLAIM_MS 1000     /* stale slots of dead captures */
/* After one of the IMSIs' control messages, the probe is about to install (or move) its
 * tunnels: scan the subscribers every millisecond for a while, so that the filter is set
 * within ~1 ms of the probe's update instead of within a scan period. */
#define MCP_CAP_EAGER_MS 300
#define MCP_CAP_DLT_EN10MB 1

struct mcp_cap_live {
	const struct mcp_cap_live_cfg *cfg;
	struct mcp_cap_slot slot;
	struct mcp_cap_filter *filter;
	struct mcp_cap_select *sel;    /* follows GTP-C: control messages, early T-PDUs */
	struct mcp_cap_file *w;
	int64_t mono_to_real_ns;       /* add to bpf_ktime_get_ns() for the wall clock */
	uint64_t written, foreign, malformed;
	uint64_t control, early;       /* written from the follow path */
	uint64_t reclaimed;            /* stale slots of dead captures cleared */
	uint64_t eager_until;          /* monotonic ns: scan every ms until then */
	uint64_t last_scan;            /* monotonic ns of the last subscribers scan */
	int err, done;
};

static uint64_t mcp_clock_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A subscribers scan when one is due: every ms while eager, else every poll period. Also
 * called between records, so a long backlog in the ring (a burst of attaches) does not delay
 * the filter of an IMSI that has just attached. */
static void mcp_cap_scan_due(struct mcp_cap_live *l, uint64_t now)
{
	uint64_t period = now < l->eager_until ? 1000000u : MCP_CAP_POLL_MS * 1000000u;

	if (now - l->last_scan < period)
		return;
	mcp_cap_filter_scan(l->filter);
	l->last_scan = now;
}

static int mcp_cap_on_record(void *ctx, void *data, size_t size)
{
	struct mcp_cap_live *l = ctx;
	struct mcp_capture_hdr h;
	uint32_t cap;

	if (size < sizeof(h)) {
		l->malformed++;
		return 0;
	}
	memcpy(&h, data, sizeof(h));
	if (h.cap_len > size - sizeof(h)) {
		l->malformed++;
		return 0;
	}
	if (l->err)
		return 0;
	if (l->eager_until)
		mcp_cap_scan_due(l, mcp_clock_ns(CLOCK_MONOTONIC));
	if (h.meta.sub_idx == MCP_META_SUB_NONE) {
		if (l->done)
			return 0;
		/* control plane, or a tunnel not installed yet: ours if the selector says so */
		uint64_t ts_us = (h.ts_ns + (uint64_t)l->mono_to_real_ns) / 1000;

		if (!mcp_cap_select_frame(l->sel, MCP_CAP_DLT_EN10MB, (const uint8_t *)data +
					  sizeof(h), h.cap_len, h.wire_len, ts_us))
			return 0;
		if (h.meta.flags & MCP_META_F_TPDU) {
			l->early++;
		} else {
			l->eager_until = mcp_clock_ns(CLOCK_MONOTONIC) + MCP_CAP_EAGER_MS * 1000000u;
			if (!l->cfg->control)
				return 0; /* followed, not written */
			l->control++;
		}
	} else if (!mcp_cap_filter_note(l->filter, h.meta.sub_idx)) {
		l->foreign++; /* an index that left us before its frame was read */
		return 0;
	}
	if (l->done)
		return 0; /* beyond --count: noted above for the loss account, not written */
	cap = h.cap_len;
	if (l->cfg->snaplen && cap > l->cfg->snaplen)
		cap = l->cfg->snaplen;
	l->err = mcp_cap_file_write(l->w, h.ts_ns + (uint64_t)l->mono_to_real_ns,
				    (const uint8_t *)data + sizeof(h), cap, h.wire_len);
	if (l->err)
		return 0;
	l->written++;
	if (l->cfg->count && l->written >= l->cfg->count)
		l->done = 1;
	return 0;
}

static int mcp_cap_open_probe(const struct mcp_cap_live_cfg *cfg, struct mcp_xdp_obj **x)
{
	int err;

	mcp_xdp_route_logs();
	err = mcp_xdp_open_pinned(cfg->iface, x);
	if (err == -ENOENT)
		mcp_err("%s: no mcprobe XDP program here (mcp-load attach %s, or mcprobe -i %s), "
			"and no --redis\n", cfg->iface, cfg->iface, cfg->iface);
	else if (err == -EPERM || err == -EACCES)
		mcp_err("%s: permission denied opening the probe's maps (run as root)\n", cfg->iface);
	else if (err && err != -EPROTO)
		mcp_err("%s: cannot open the probe's maps: %s\n", cfg->iface, strerror(-err));
	return err;
}

/* Polls the ring and rescans the subscribers until a stop condition. */
static void mcp_cap_loop(struct mcp_cap_live *l, struct ring_buffer *rb,
			 volatile sig_atomic_t *stop)
{
	uint64_t t0 = mcp_clock_ns(CLOCK_MONOTONIC);
	uint64_t next_reclaim = t0 + MCP_CAP_RECLAIM_MS * 1000000u;

	while (!*stop && !l->done && !l->err) {
		uint64_t now = mcp_clock_ns(CLOCK_MONOTONIC);
		int eager = now < l->eager_until;
		int rc = ring_buffer__poll(rb, eager ? 1 : MCP_CAP_POLL_MS);

		if (rc < 0 && rc != -EINTR) {
			mcp_err("capture ring: %s\n", strerror(-rc));
			l->err = rc;
			break;
		}
		now = mcp_clock_ns(CLOCK_MONOTONIC);
		if (l->cfg->duration_ns && now >= t0 + l->cfg->duration_ns)
			break;
		mcp_cap_scan_due(l, now);
		if (now >= next_reclaim) {
			int n = mcp_cap_slot_reclaim(&l->slot);

			if (n > 0) {
				mcp_warn("%s: reclaimed %d capture slot(s) of captures that died\n",
					 l->cfg->iface, n);
				l->reclaimed += (uint64_t)n;
			}
			next_reclaim = now + MCP_CAP_RECLAIM_MS * 1000000u;
		}
	}
}

/* The closing summary; returns the exit class. */
static int mcp_cap_report(struct mcp_cap_live *l)
{
	const struct mcp_cap_filter_stats *fs = mcp_cap_filter_stats(l->filter);
	uint64_t lost = fs->expected > fs->captured ? fs->expected - fs->captured : 0;
	uint64_t copied = 0, ring_lost = 0;

	mcp_cap_slot_counts(&l->slot, &copied, &ring_lost);
	fprintf(stderr, "mcp-capture: %" PRIu64 " frames written (slot %u); %u subscriber "
		"index(es) captured; lost: %" PRIu64 " (XDP counted %" PRIu64 ", %" PRIu64
		" reached us), capture ring full %" PRIu64 ", before the filter was set %" PRIu64
		"; before the tunnel was installed %" PRIu64 " captured; control %" PRIu64 "\n",
		l->written, l->slot.slot, fs->found, lost, fs->expected, fs->captured, ring_lost,
		fs->gap, l->early, l->control);
	if (!fs->found)
		mcp_warn("none of the IMSIs attached during the capture\n");
	return lost || ring_lost || fs->gap ? MCP_CAP_LIVE_LOST : MCP_CAP_LIVE_OK;
}

/* Takes a capture slot; one line when none is free. */
static int mcp_cap_live_slot(struct mcp_cap_live *l, struct mcp_xdp_obj *x)
{
	char desc[MCP_CAPTURE_DESC_LEN];
	int n = 0, err;

	mcp_imsi_set_describe(l->cfg->imsis, desc, sizeof(desc));
	err = mcp_cap_slot_take(x, l->cfg->iface, desc, 1, &l->slot, &n);
	if (n > 0)
		mcp_warn("%s: reclaimed %d capture slot(s) of captures that died\n",
			 l->cfg->iface, n);
	if (err == -EBUSY)
		mcp_err("%s: all %u capture slots are in use (mcp-load status %s)\n",
			l->cfg->iface, MCP_CAPTURE_SLOTS, l->cfg->iface);
	else if (err)
		mcp_err("%s: cannot take a capture slot: %s\n", l->cfg->iface, strerror(-err));
	return err;
}

int mcp_cap_live_run(const struct mcp_cap_live_cfg *cfg, volatile sig_atomic_t *stop)
{
	struct mcp_cap_live l = { .cfg = cfg, .slot = { .own_fd = -1, .ring_fd = -1 } };
	struct mcp_xdp_obj *x = NULL;
	struct ring_buffer *rb = NULL;
	int rc = MCP_CAP_LIVE_USAGE;

	if (cfg->redis)
		return mcp_cap_remote_run(cfg, stop);
	if (mcp_cap_open_probe(cfg, &x) || mcp_cap_live_slot(&l, x))
		goto out;
	l.filter = mcp_cap_filter_create(x, &l.slot, cfg->imsis);
	l.sel = mcp_cap_select_create(cfg->imsis, 1); /* written only with --control */
	if (!l.filter || !l.sel) {
		mcp_err("%s: cannot read the probe's capture map\n", cfg->iface);
		goto out;
	}
	if (mcp_cap_file_create(cfg->file, &l.w))
		goto out;
	rc = MCP_CAP_LIVE_FAIL;
	rb = ring_buffer__new(l.slot.ring_fd, mcp_cap_on_record, &l, NULL);
	if (!rb) {
		mcp_err("%s: cannot read the capture ring: %s\n", cfg->iface, strerror(errno));
		goto out;
	}
	l.mono_to_real_ns = (int64_t)(mcp_clock_ns(CLOCK_REALTIME) - mcp_clock_ns(CLOCK_MONOTONIC));
	l.last_scan = mcp_clock_ns(CLOCK_MONOTONIC);
	if (mcp_cap_filter_scan(l.filter) < 0) {
		mcp_err("%s: cannot read the probe's subscriber map\n", cfg->iface);
		goto out;
	}
	mcp_info("%s: capture running (slot %u)\n", cfg->iface, l.slot.slot);
	mcp_cap_loop(&l, rb, stop);
	if (mcp_cap_filter_remove(l.filter))
		mcp_err("%s: could not clear every capture entry\n", cfg->iface);
	ring_buffer__consume(rb); /* what XDP wrote before the entries went */
	if (l.err) {
		mcp_cap_file_abort(l.w);
		l.w = NULL;
		goto out;
	}
	if (mcp_cap_file_close(l.w) == 0)
		rc = mcp_cap_report(&l);
	l.w = NULL;
out:
	if (l.w)
		mcp_cap_file_abort(l.w);
	if (l.filter) {
		mcp_cap_filter_remove(l.filter);
		mcp_cap_filter_destroy(l.filter);
	}
	mcp_cap_select_destroy(l.sel);
	ring_buffer__free(rb);
	mcp_cap_slot_release(&l.slot);
	mcp_xdp_close(x);
	return rc;
}
