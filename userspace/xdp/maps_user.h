/* maps_user.h - load, attach, pin and reuse the XDP program (bpf/mcp_xdp.bpf.c) and its maps.
 *
 * Used by mcp-load and by mcprobe: mcprobe attaches itself when mcp-load has not (or opens
 * the pinned maps when it has), pushes session events into the tunnel/subscriber maps,
 * installs bypassed flows and reads their counters back in batches. Map layouts are in
 * include/mcp_map_layout.h; pins live under /sys/fs/bpf/mcprobe/<iface>/ (docs/xdp.md).
 * All functions return 0 (or a count) on success and -errno on failure.
 */
#ifndef MCP_MAPS_USER_H
#define MCP_MAPS_USER_H

#include <stddef.h>
#include <stdint.h>

#include "mcp_map_layout.h"
#include "session/session.h"

/* The pinned maps, in pin order; names are the pin file names. */
#define MCP_XDP_MAPS(X)                                     \
	X(TUNNELS, tunnels, mcp_tunnels)                    \
	X(TUNNEL_INDEX, tunnel_index, mcp_tunnel_index)     \
	X(SUBSCRIBERS, subscribers, mcp_subscribers)        \
	X(SUB_COUNTERS, sub_counters, mcp_sub_counters)     \
	X(FLOWS, flows, mcp_flows)                          \
	X(FLOW_HINTS, flow_hints, mcp_flow_hints)           \
	X(CAPTURE, capture, mcp_capture)                    \
	X(CAPTURE_RING, capture_ring, mcp_capture_ring)     \
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
	uint32_t ring_bytes;      /* capture ring size, default MCP_DEF_CAPTURE_RING */
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

/* Attaches unless attached already, then opens the pins (what mcprobe -i does). */
int mcp_xdp_attach_or_open(const char *ifname, const struct mcp_xdp_opts *o,
			   struct mcp_xdp_obj **out);

/* Detaches the program from ifname and removes the pins and the directory. Works when the
 * interface is gone (pins only). -ENOENT if nothing is pinned. */
int mcp_xdp_detach(const char *ifname);

/* Loads the program and creates its maps without attaching or pinning: for BPF_PROG_TEST_RUN
 * (tests, benchmarks). mcp_xdp_prog_fd() is the program. */
int mcp_xdp_load_detached(const struct mcp_xdp_opts *o, struct mcp_xdp_obj **out);

/* Closes descriptors; the program stays attached and the pins stay. NULL is fine. */
void mcp_xdp_close(struct mcp_xdp_obj *x);

int mcp_xdp_map_fd(const struct mcp_xdp_obj *x, enum mcp_xdp_map m);
int mcp_xdp_xsk_map_fd(const struct mcp_xdp_obj *x);
int mcp_xdp_prog_fd(const struct mcp_xdp_obj *x);
const char *mcp_xdp_map_pin_name(enum mcp_xdp_map m);

int mcp_xdp_config_read(const struct mcp_xdp_obj *x, struct mcp_xdp_config *cfg);
/* Sets the worker count used for steering (tunnel values are written with it). */
int mcp_xdp_set_workers(struct mcp_xdp_obj *x, uint32_t nworkers);

/* Binds an AF_XDP socket fd to rx queue q (or removes it with fd < 0). */
int mcp_xdp_xsk_set(struct mcp_xdp_obj *x, uint32_t q, int xsk_fd);

/* Session table -> kernel: writes the subscriber's identity and all its tunnels, deleting
 * tunnels it installed earlier for this subscriber that are no longer listed. -E2BIG when the
 * subscriber index or a map is beyond its size. */
int mcp_xdp_tunnel_update(struct mcp_xdp_obj *x, const struct mcp_subscriber *sub);
/* Removes the subscriber's tunnels, identity and capture flag, and zeroes its counters. */
int mcp_xdp_tunnel_remove(struct mcp_xdp_obj *x, const struct mcp_subscriber *sub);
/* mcp_session_event_fn adapter (ctx = struct mcp_xdp_obj *): ATTACH/MODIFY update, REMOVE
 * removes, DETACH keeps the tunnels for the grace period. */
void mcp_xdp_on_session_event(void *ctx, enum mcp_session_event ev,
			      const struct mcp_subscriber *sub, uint64_t ts_ms);
/* Writes to tunnels and subscribers made between begin and commit (mcp_xdp_tunnel_update,
 * _remove, mcp_xdp_on_session_event) reach the kernel at commit, in one bpf() call per map
 * and kind (the live control thread applies GTP-C bursts this way); tunnel_index, which XDP
 * reads first, is written at once. begin: 0 or -ENOMEM (then nothing waits); commit: the
 * number of keys the kernel refused (logged, and out of tunnel_index too). */
#define MCP_XDP_BATCH_KEYS 1024
int mcp_xdp_batch_begin(struct mcp_xdp_obj *x);
int mcp_xdp_batch_commit(struct mcp_xdp_obj *x);
/* Commits, then frees the batch buffers (on close). */
void mcp_xdp_batch_free(struct mcp_xdp_obj *x);
/* Session event writes the kernel refused so far (maps full, subscriber index beyond
 * --max-subscribers); the first one was logged as a warning. */
uint64_t mcp_xdp_writes_refused(const struct mcp_xdp_obj *x);
/* Empties tunnels and subscribers (start of a run over reused pins, before restoring). */
int mcp_xdp_tunnels_clear(struct mcp_xdp_obj *x);

/* Per-subscriber counters summed over CPUs. */
int mcp_xdp_sub_counters(const struct mcp_xdp_obj *x, uint32_t sub_idx,
			 struct mcp_sub_counters *sum);
/* Capture flag of a subscriber (MCP_CAPTURE_ON or 0). */
int mcp_xdp_capture_set(struct mcp_xdp_obj *x, uint32_t sub_idx, uint32_t flag);

/* Flow bypass: install (counters zero) or remove one canonical key (mcp_flow_key_make). Both
 * keep the flow_hints count of the key's hash slot (mcp_map_layout.h); whoever deletes a flow from
 * the flows map by fd must call mcp_xdp_flow_forget() after each successful delete.
 * A pending install (before nDPI decided) also marks the slot pending: XDP counts every packet
 * of the flow but still sends up those with payload; mcp_xdp_flow_unpend() (once, before the
 * flow is removed) ends that without touching the entry. */
int mcp_xdp_flow_install(struct mcp_xdp_obj *x, const struct mcp_flow_key *key, uint32_t sub_idx,
			 int pending);
void mcp_xdp_flow_unpend(struct mcp_xdp_obj *x, const struct mcp_flow_key *key);
int mcp_xdp_flow_remove(struct mcp_xdp_obj *x, const struct mcp_flow_key *key);
void mcp_xdp_flow_forget(struct mcp_xdp_obj *x, const struct mcp_flow_key *key);
/* Removes every installed flow and zeroes flow_hints: what an earlier probe left behind
 * (done before this probe installs any). Returns the number of flows removed or -errno. */
int mcp_xdp_flows_clear(struct mcp_xdp_obj *x);
/* Reads every bypassed flow in batches of `batch` (bpf_map_lookup_batch) and calls fn for
 * each; fn returning non-zero stops the walk. Returns the number of flows seen. */
typedef int (*mcp_xdp_flow_fn)(void *ctx, const struct mcp_flow_key *key,
			       const struct mcp_flow_val *val);
int mcp_xdp_flow_read_batch(struct mcp_xdp_obj *x, uint32_t batch, mcp_xdp_flow_fn fn, void *ctx);

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
