/* maps_user_flows.h - the flow side of the XDP maps: classified flows are installed in
 * mcp_flows, where XDP counts their packets instead of sending them up, and their counters are
 * read back in batches (maps_user_flows.c). 0 (or a count) on success, -errno on failure.
 */
#ifndef MCP_MAPS_USER_FLOWS_H
#define MCP_MAPS_USER_FLOWS_H

#include <stdint.h>

#include "xdp/maps_user.h"

/* Flow bypass: install (counters zero) or remove one canonical key (mcp_flow_key_make). Both
 * keep the flow_hints count of the key's hash slot (mcp_map_layout.h); whoever deletes a flow from
 * the flows map by fd must call mcp_xdp_flow_forget() after each successful delete.
 * A pending install (before nDPI decided) also marks the slot pending: XDP counts every packet
 * of the flow but still sends up those with payload; mcp_xdp_flow_unpend() (once, before the
 * flow is removed) ends that without touching the entry. */
int mcp_xdp_flow_install(struct mcp_xdp_obj *x, const struct mcp_flow_key *key, uint32_t sub_idx,
			 int pending);
/* The same, naming the worker that owns the flow (mcp_flow_val.worker): with several worker
 * threads, each reads back only its own flows. */
int mcp_xdp_flow_install_owned(struct mcp_xdp_obj *x, const struct mcp_flow_key *key,
			       uint32_t sub_idx, uint16_t worker, int pending);
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

#endif /* MCP_MAPS_USER_FLOWS_H */
