/* live_status.c - live capture counters: the kernel's (XDP), the sockets', the inline ring's,
 * summed over interfaces for the status line (a terminal only) and the summary at exit.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "live/live_internal.h"
#include "util/log.h"
#include "xdp/maps_user_tunnels.h"

static void count_sub(void *ctx, const struct mcp_subscriber *sub)
{
	uint32_t *n = ctx;

	if (sub->state == MCP_SUB_ACTIVE)
		(*n)++;
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

void mcp_live_status_line(struct live *lv, double dt)
{
	struct mcp_pipeline_totals pt;
	struct live_totals t;
	uint64_t rx, redir, byp;
	uint32_t nsubs = 0;

	live_totals(lv, &t);
	mcp_pipeline_totals(lv->p, &pt);
	mcp_sessions_foreach(mcp_pipeline_sessions(lv->p), count_sub, &nsubs);
	rx = t.xdp[MCP_STAT_XDP(MCP_XDP_RX)];
	redir = t.xdp[MCP_STAT_XDP(MCP_XDP_REDIRECTED)];
	byp = t.xdp[MCP_STAT_XDP(MCP_XDP_BYPASSED)];
	fprintf(stderr,
		"\rkernel %.0f pkt/s in, %.0f pkt/s up | bypass %.1f%% | drops %" PRIu64
		" | flows %u | subscribers %u   ",
		dt > 0 ? (rx - lv->last_rx) / dt : 0.0,
		dt > 0 ? (redir - lv->last_redirected) / dt : 0.0, rx ? 100.0 * byp / rx : 0.0,
		t.drops, pt.flows_active, nsubs);
	lv->last_rx = rx;
	lv->last_redirected = redir;
}

void mcp_live_log_summary(struct live *lv)
{
	struct live_totals t;

	live_totals(lv, &t);
	mcp_info("live: xdp rx %" PRIu64 ", to sockets %" PRIu64 ", inline copies %" PRIu64
		 ", bypassed %" PRIu64 ", passed %" PRIu64 ", known tunnel %" PRIu64
		 ", socket frames %" PRIu64
		 ", socket drops %" PRIu64 ", without metadata %" PRIu64
		 ", session event waits %" PRIu64 ", map writes refused %" PRIu64 "\n",
		 t.xdp[MCP_STAT_XDP(MCP_XDP_RX)], t.xdp[MCP_STAT_XDP(MCP_XDP_REDIRECTED)],
		 t.xdp[MCP_STAT_XDP(MCP_XDP_COPIED)], t.xdp[MCP_STAT_XDP(MCP_XDP_BYPASSED)],
		 t.xdp[MCP_STAT_XDP(MCP_XDP_PASSED)], t.xdp[MCP_STAT_XDP(MCP_XDP_KNOWN_TUNNEL)], t.rx, t.drops, lv->no_meta,
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
