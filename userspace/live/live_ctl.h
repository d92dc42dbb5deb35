/* live_ctl.h - a control thread that applies subscriber events off the packet path.
 *
 * Live capture pushes every session change into the BPF tunnel/subscriber maps; each change
 * costs several bpf() syscalls, too slow for the packet loop during a GTP-C burst. The packet
 * thread posts a copy of the event into a lock-free SPSC ring (spsc.h); the control thread
 * calls the apply function on it, in order, and the commit function after each run of at
 * most 256 events (the maps' writes are batched in between). A full ring makes the poster
 * wait: no event is dropped or reordered. See docs/live.md.
 */
#ifndef MCP_LIVE_CTL_H
#define MCP_LIVE_CTL_H

#include <stdint.h>

#include "session/session.h"

struct mcp_live_ctl;

/* Runs in the control thread (or in the poster's, once the thread is stopped). */
typedef void (*mcp_live_ctl_apply_fn)(void *ctx, enum mcp_session_event ev,
				      const struct mcp_subscriber *sub, uint64_t ts_ms);

/* After a run of applied events (NULL: none). */
typedef void (*mcp_live_ctl_commit_fn)(void *ctx);

/* Starts the thread. 0 or -errno (-ENOMEM, pthread_create's error). */
int mcp_live_ctl_start(struct mcp_live_ctl **out, mcp_live_ctl_apply_fn apply,
		       mcp_live_ctl_commit_fn commit, void *ctx);
/* Queues one event (one producer thread only). */
void mcp_live_ctl_post(struct mcp_live_ctl *c, enum mcp_session_event ev,
		       const struct mcp_subscriber *sub, uint64_t ts_ms);
/* Applies everything queued, joins the thread, frees. NULL is fine. */
void mcp_live_ctl_stop(struct mcp_live_ctl *c);
/* Times the poster found the ring full. */
uint64_t mcp_live_ctl_waits(const struct mcp_live_ctl *c);

#endif /* MCP_LIVE_CTL_H */
