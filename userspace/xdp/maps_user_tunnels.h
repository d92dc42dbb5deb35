/* maps_user_tunnels.h - the session side of the XDP maps: subscribers and their tunnels go into
 * mcp_subscribers, mcp_tunnels and mcp_tunnel_index so XDP attributes GTP-U to subscribers
 * (maps_user_tunnels.c). 0 (or a count) on success, -errno on failure.
 */
#ifndef MCP_MAPS_USER_TUNNELS_H
#define MCP_MAPS_USER_TUNNELS_H

#include <stdint.h>

#include "session/session.h" /* the listener type this side implements */
#include "xdp/maps_user.h"

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

#endif /* MCP_MAPS_USER_TUNNELS_H */
