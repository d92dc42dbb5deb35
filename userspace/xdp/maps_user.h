/* maps_user.h - load, attach, pin and reuse the XDP program (bpf/mcp_xdp.bpf.c) and its maps;
 * descriptors, config, AF_XDP sockets, capture flags and counters (xdp_attach.c, maps_user.c).
 *
 * Used by mcp-load and by mcprobe: mcprobe attaches itself when mcp-load has not (or opens
 * the pinned maps when it has). The session side (session events -> tunnel/subscriber maps)
 * is maps_user_tunnels.h, the flow side (bypass install and readback) maps_user_flows.h. Map
 * layouts are in include/mcp_map_layout.h; pins live under /sys/fs/bpf/mcprobe/<iface>/
 * (docs/xdp.md). All functions return 0 (or a count) on success and -errno on failure.
 */
#ifndef MCP_MAPS_USER_H
#define MCP_MAPS_USER_H

#include <stddef.h>
#include <stdint.h>

#include "mcp_map_layout.h"

/* The pinned maps, in pin order; names are the pin file names. */
#define MCP_XDP_MAPS(X)                                     \
	X(TUNNELS, tunnels, mcp_tunnels)                    \
	X(TUNNEL_INDEX, tunnel_index, mcp_tunnel_index)     \
	X(SUBSCRIBERS, subscribers, mcp_subscribers)        \
	X(SUB_COUNTERS, sub_counters, mcp_sub_counters)     \
	X(SUB_CREDIT, sub_credit, mcp_sub_credit)           \
	X(FLOWS, flows, mcp_flows)                          \
	X(FLOW_HINTS, flow_hints, mcp_flow_hints)           \
	X(CAPTURE, capture, mcp_capture)                    \
	X(CAPTURE_RINGS, capture_rings, mcp_capture_rings)  \
	X(CAPTURE_SLOTS, capture_slots, mcp_capture_slots)  \
	X(CAPTURE_STATS, capture_stats, mcp_capture_stats)  \
	X(INLINE_RING, inline_ring, mcp_inline_ring)        \
	X(XSKS, xsks, mcp_xsks)                             \
	X(STATS, stats, mcp_stats)                          \
	X(CONFIG, config, mcp_config)

#define MCP_ENUM_XMAP(e, pin, bpf) MCP_XMAP_##e,
enum mcp_xdp_map { MCP_XDP_MAPS(MCP_ENUM_XMAP) MCP_XMAP__MAX };
#undef MCP_ENUM_XMAP

#define MCP_XDP_PIN_PROG "prog" /* the program itself, pinned next to the maps */

enum mcp_xdp_mode { MCP_XDP_MODE_NATIVE = 1, MCP_XDP_MODE_SKB = 2 }; /* = libxdp's values */

struct mcp_xdp_opts {
	uint32_t max_tunnels;     /* default MCP_DEF_MAX_TUNNELS */
	uint32_t max_subscribers; /* default MCP_DEF_MAX_SUBSCRIBERS (also capture, counters) */
	uint32_t max_flows;       /* default MCP_DEF_MAX_FLOWS */
	uint32_t queues;          /* rx queues with an AF_XDP socket (xsks size), default 64 */
	uint32_t nworkers;        /* default 1 */
	uint32_t snaplen;         /* capture bytes per frame, default MCP_CAPTURE_MAX_SNAP */
	uint32_t ring_bytes;      /* each capture's ring size, default MCP_DEF_CAPTURE_RING */
	uint32_t inline_ring_bytes; /* inline ring size (inline mode), default MCP_DEF_INLINE_RING */
	int mode;                 /* enum mcp_xdp_mode, default native */
	int inline_mode;          /* bypassed flows -> XDP_PASS instead of XDP_DROP */
	int no_dispatcher;        /* skip libxdp, attach with bpf_xdp_attach directly */
	int debug_meta;           /* keep a copy of the last metadata (tests) */
	int no_fast_parse;        /* always the layer-by-layer parse (tests compare the two) */
};

struct mcp_xdp_obj;

void mcp_xdp_opts_default(struct mcp_xdp_opts *o);

/* "/sys/fs/bpf/mcprobe/<ifname>" into buf. -ENAMETOOLONG. */
int mcp_xdp_pin_dir(const char *ifname, char *buf, size_t len);

/* Checks that /sys/fs/bpf is a bpffs, mounting it if it is not. -ENOTSUP if that fails. */
int mcp_xdp_check_bpffs(void);

/* Loads, attaches (libxdp dispatcher, else plain bpf_xdp_attach) and pins under the pin dir.
 * -ENODEV unknown interface, -EEXIST already attached (pins present), -EPERM. */
int mcp_xdp_attach(const char *ifname, const struct mcp_xdp_opts *o, struct mcp_xdp_obj **out);

/* Opens the pinned maps of an attached interface. -ENOENT not attached, -EPROTO pins of
 * another MCP_MAP_ABI (detach and attach again). */
int mcp_xdp_open_pinned(const char *ifname, struct mcp_xdp_obj **out);

/* Opens the pins of an attached interface, or attaches first (what mcprobe -i does); a native
 * attach the driver refuses is retried in skb mode, with a warning. *attached (may be NULL)
 * is 1 when this call attached, so the caller knows to detach. */
int mcp_xdp_attach_or_open(const char *ifname, const struct mcp_xdp_opts *o,
			   struct mcp_xdp_obj **out, int *attached);

/* Detaches the program from ifname and removes the pins and the directory. Works when the
 * interface is gone (pins only). -ENOENT if nothing is pinned. */
int mcp_xdp_detach(const char *ifname);

/* Loads the program and creates its maps without attaching or pinning: for BPF_PROG_TEST_RUN
 * (tests, benchmarks). mcp_xdp_prog_fd() is the program. */
int mcp_xdp_load_detached(const struct mcp_xdp_opts *o, struct mcp_xdp_obj **out);

/* Closes descriptors; the program stays attached and the pins stay. NULL is fine. */
void mcp_xdp_close(struct mcp_xdp_obj *x);

int mcp_xdp_map_fd(const struct mcp_xdp_obj *x, enum mcp_xdp_map m);
int mcp_xdp_prog_fd(const struct mcp_xdp_obj *x);
const char *mcp_xdp_map_pin_name(enum mcp_xdp_map m);

int mcp_xdp_config_read(const struct mcp_xdp_obj *x, struct mcp_xdp_config *cfg);
/* Sets the worker count used for steering (tunnel values are written with it). */
int mcp_xdp_set_workers(struct mcp_xdp_obj *x, uint32_t nworkers);

/* Binds an AF_XDP socket fd to rx queue q (or removes it with fd < 0). */
int mcp_xdp_xsk_set(struct mcp_xdp_obj *x, uint32_t q, int xsk_fd);

/* Per-subscriber counters: the per-CPU slots XDP counts plus the credit slot userspace adds
 * (sub_credit, include/mcp_map_layout.h). */
int mcp_xdp_sub_counters(const struct mcp_xdp_obj *x, uint32_t sub_idx,
			 struct mcp_sub_counters *sum);
/* Credits a subscriber with packets XDP could not attribute to it ([0] up, [1] down): atomic
 * adds on the mmapped sub_credit array, any thread (maps_user_credit.c). -E2BIG beyond
 * --max-subscribers. */
int mcp_xdp_sub_credit(struct mcp_xdp_obj *x, uint32_t sub_idx, const uint64_t pkts[2],
		       const uint64_t bytes[2]);
/* The credit slot alone; and zeroing it (the subscriber was removed). */
int mcp_xdp_sub_credit_read(const struct mcp_xdp_obj *x, uint32_t sub_idx,
			    struct mcp_sub_counters *out);
void mcp_xdp_sub_credit_zero(struct mcp_xdp_obj *x, uint32_t sub_idx);
/* Capture slots of a subscriber (struct mcp_capture_val: MCP_CAPTURE_ON = slot 0, or 0). */
int mcp_xdp_capture_set(struct mcp_xdp_obj *x, uint32_t sub_idx, uint32_t slots);
/* Creates a ring buffer of the configured capture_ring size and puts it in slot s of
 * capture_rings (tests, benchmarks and mcp-capture). Returns the ring's fd or -errno. */
int mcp_xdp_capture_ring_add(struct mcp_xdp_obj *x, uint32_t slot);

/* Counters summed over CPUs: out[MCP_STATS__MAX], indexed like the stats map. */
int mcp_xdp_stats_read(const struct mcp_xdp_obj *x, uint64_t *out);
/* Name of stats index i ("trunc_gtpu", "redirected", ...), NULL beyond MCP_STATS__MAX. */
const char *mcp_xdp_stat_name(unsigned int i);

/* Detached loads with debug_meta: the metadata of the last frame that reached the socket
 * step (then cleared). -ENOENT if none since the last call. */
int mcp_xdp_last_meta(struct mcp_xdp_obj *x, struct mcp_meta *meta);

/* Routes libbpf and libxdp messages to mcp_log (debug level; warnings while not loading). */
void mcp_xdp_route_logs(void);

#endif /* MCP_MAPS_USER_H */
