/* cap_live.c - mcp-capture -i: capture entries set by IMSI (cap_filter.c), frames from the
 * probe's capture ring (a BPF ring buffer of struct mcp_capture_hdr + frame bytes) to the
 * file writer (cap_file.c), and the loss account at the end.
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
#include "util/log.h"
#include "xdp/maps_user.h"

#define MCP_CAP_POLL_MS 20          /* ring wait; also the filter scan period */
#define MCP_CAP_LOCK_DIR "/run/mcprobe"

struct mcp_cap_live {
	const struct mcp_cap_live_cfg *cfg;
	struct mcp_cap_filter *filter;
	struct mcp_cap_file *w;
	int64_t mono_to_real_ns;       /* add to bpf_ktime_get_ns() for the wall clock */
	uint64_t written, foreign, malformed;
	int err, done;
};

static uint64_t mcp_clock_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
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
	if (!mcp_cap_filter_note(l->filter, h.meta.sub_idx)) {
		l->foreign++; /* set by someone else after our start: not ours to write */
		return 0;
	}
	if (l->done || l->err)
		return 0;
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

/* One live capture per interface: the capture ring has one reader. -EBUSY if taken. */
static int mcp_cap_lock(const char *iface)
{
	char path[256];
	int fd;

	mkdir(MCP_CAP_LOCK_DIR, 0755);
	snprintf(path, sizeof(path), MCP_CAP_LOCK_DIR "/capture-%s.lock", iface);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		int err = errno == EWOULDBLOCK ? -EBUSY : -errno;

		close(fd);
		return err;
	}
	return fd;
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

static uint64_t mcp_cap_ring_lost(struct mcp_xdp_obj *x)
{
	uint64_t st[MCP_STATS__MAX];

	if (mcp_xdp_stats_read(x, st))
		return 0;
	return st[MCP_STAT_XDP(MCP_XDP_CAPTURE_LOST)];
}

/* Polls the ring and rescans the subscribers until a stop condition. */
static void mcp_cap_loop(struct mcp_cap_live *l, struct ring_buffer *rb,
			 volatile sig_atomic_t *stop)
{
	uint64_t t0 = mcp_clock_ns(CLOCK_MONOTONIC), next_scan = t0 + MCP_CAP_POLL_MS * 1000000u;

	while (!*stop && !l->done && !l->err) {
		uint64_t now;
		int rc = ring_buffer__poll(rb, MCP_CAP_POLL_MS);

		if (rc < 0 && rc != -EINTR) {
			mcp_err("capture ring: %s\n", strerror(-rc));
			l->err = rc;
			break;
		}
		now = mcp_clock_ns(CLOCK_MONOTONIC);
		if (l->cfg->duration_ns && now >= t0 + l->cfg->duration_ns)
			break;
		if (now >= next_scan) {
			mcp_cap_filter_scan(l->filter);
			next_scan = now + MCP_CAP_POLL_MS * 1000000u;
		}
	}
}

/* The closing summary; returns the exit class. */
static int mcp_cap_report(struct mcp_cap_live *l, uint64_t ring_lost)
{
	const struct mcp_cap_filter_stats *fs = mcp_cap_filter_stats(l->filter);
	uint64_t lost = fs->expected > fs->captured ? fs->expected - fs->captured : 0;

	fprintf(stderr, "mcp-capture: %" PRIu64 " frames written; %u subscriber index(es) "
		"captured; lost: %" PRIu64 " (XDP counted %" PRIu64 ", %" PRIu64 " reached us), "
		"capture ring full %" PRIu64 ", before the filter was set %" PRIu64 "\n",
		l->written, fs->found, lost, fs->expected, fs->captured, ring_lost, fs->gap);
	if (!fs->found)
		mcp_warn("none of the IMSIs attached during the capture\n");
	return lost || ring_lost || fs->gap ? MCP_CAP_LIVE_LOST : MCP_CAP_LIVE_OK;
}

static int mcp_cap_live_check(const struct mcp_cap_live_cfg *cfg)
{
	if (cfg->control) {
		mcp_err("--control with -i: XDP does not copy GTP-C to the capture ring in this "
			"build; use -r on a capture of the interface\n");
		return -ENOTSUP;
	}
	return 0;
}

int mcp_cap_live_run(const struct mcp_cap_live_cfg *cfg, volatile sig_atomic_t *stop)
{
	struct mcp_cap_live l = { .cfg = cfg };
	struct mcp_xdp_obj *x = NULL;
	struct ring_buffer *rb = NULL;
	uint64_t lost0;
	int lock, rc = MCP_CAP_LIVE_USAGE, n;

	if (mcp_cap_live_check(cfg))
		return MCP_CAP_LIVE_USAGE;
	if (cfg->redis)
		return mcp_cap_remote_run(cfg, stop);
	lock = mcp_cap_lock(cfg->iface);
	if (lock < 0) {
		mcp_err("%s: %s\n", cfg->iface, lock == -EBUSY ?
			"another mcp-capture is capturing here (one live capture per interface; "
			"give it several -m)" : strerror(-lock));
		return MCP_CAP_LIVE_USAGE;
	}
	if (mcp_cap_open_probe(cfg, &x))
		goto out;
	l.filter = mcp_cap_filter_create(x, cfg->imsis);
	if (!l.filter) {
		mcp_err("%s: cannot read the probe's capture map\n", cfg->iface);
		goto out;
	}
	if (mcp_cap_file_create(cfg->file, &l.w))
		goto out;
	rc = MCP_CAP_LIVE_FAIL;
	rb = ring_buffer__new(mcp_xdp_map_fd(x, MCP_XMAP_CAPTURE_RING), mcp_cap_on_record, &l, NULL);
	if (!rb) {
		mcp_err("%s: cannot read the capture ring: %s\n", cfg->iface, strerror(errno));
		goto out;
	}
	n = mcp_cap_filter_clear_stale(l.filter);
	if (n > 0)
		mcp_warn("%s: cleared %d capture entries left by an earlier capture\n", cfg->iface, n);
	ring_buffer__consume(rb); /* their frames: not ours (not noted, counted as foreign) */
	l.foreign = 0;
	lost0 = mcp_cap_ring_lost(x);
	l.mono_to_real_ns = (int64_t)(mcp_clock_ns(CLOCK_REALTIME) - mcp_clock_ns(CLOCK_MONOTONIC));
	if (mcp_cap_filter_scan(l.filter) < 0) {
		mcp_err("%s: cannot read the probe's subscriber map\n", cfg->iface);
		goto out;
	}
	mcp_info("%s: capture running\n", cfg->iface);
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
		rc = mcp_cap_report(&l, mcp_cap_ring_lost(x) - lost0);
	l.w = NULL;
out:
	if (l.w)
		mcp_cap_file_abort(l.w);
	if (l.filter) {
		mcp_cap_filter_remove(l.filter);
		mcp_cap_filter_destroy(l.filter);
	}
	ring_buffer__free(rb);
	mcp_xdp_close(x);
	close(lock);
	return rc;
}
