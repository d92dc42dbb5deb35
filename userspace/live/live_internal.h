/* live_internal.h - private state of live capture, shared by live.c (run loop, session events),
 * live_iface.c (attach, sockets) and live_status.c (counters).
 */
#ifndef MCP_LIVE_INTERNAL_H
#define MCP_LIVE_INTERNAL_H

#include <signal.h>
#include <stdint.h>

#include "live/live.h"
#include "live/live_ctl.h"
#include "live/live_bypass.h"
#include "live/live_inline.h"
#include "xdp/maps_user.h"
#include "xdp/xsk_socket.h"

#define LIVE_RX_BUDGET   256  /* frames per socket per turn */
#define LIVE_TICK_MS     100  /* pipeline expiry at least this often */
#define LIVE_POLL_MS     50

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

struct live {
	const struct mcp_live_cfg *cfg;
	struct mcp_pipeline *p;
	volatile sig_atomic_t *stop;
	struct live_iface *ifs;
	int nifs;
	uint64_t now_us;       /* batch timestamp */
	uint64_t no_meta;      /* frames without XDP metadata */
	struct mcp_live_inline *inl; /* inline rings of the inline-mode interfaces, or NULL */
	struct mcp_live_ctl *ctl; /* session events -> maps, off the packet path */
	struct mcp_live_bypass *bypass;     /* one per worker (MCP_SHARDS_MAX) */
	struct mcp_bypass_ops *bypass_ops;  /* their ops */
	/* status line */
	uint64_t last_rx, last_redirected, last_frames;
};

uint64_t mcp_live_wall_us(void);
/* Inline mode: a copy from the inline ring into the pipeline (live.c). */
void mcp_live_on_frame_inline(void *ctx, const uint8_t *frame, uint32_t cap_len,
			      uint32_t wire_len, const struct mcp_meta *meta);

/* live_iface.c: attach (or reuse mcp-load's program), lock, sockets. 0 or -errno; an error
 * already reported sets li->logged. */
int mcp_live_iface_attach(struct live *lv, struct live_iface *li);
void mcp_live_iface_detach(struct live_iface *li);
/* One clear line for a setup error; returns the exit status (2). */
int mcp_live_setup_error(const char *ifname, int err);

/* live_status.c: the once-a-second status line and the summary at exit. */
void mcp_live_status_line(struct live *lv, double dt);
void mcp_live_log_summary(struct live *lv);

#endif /* MCP_LIVE_INTERNAL_H */
