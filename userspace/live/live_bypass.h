/* live_bypass.h - a worker's kernel flow bypass (worker.h) over the XDP flow maps of every
 * probed interface. One context per worker thread (shard): each installs its flows under its
 * own index (mcp_flow_val.worker) and reads back only those, and its counters are its own. */
#ifndef MCP_LIVE_BYPASS_H
#define MCP_LIVE_BYPASS_H

#include "xdp/maps_user_flows.h"
#include "flow/worker.h"

struct mcp_live_bypass {
	struct mcp_xdp_obj *xo[8];
	int n;
	uint16_t worker; /* the worker (shard) using this context */
	uint64_t install_failures, take_fallbacks;
	uint64_t credit_failures; /* subscriber credits refused (index beyond --max-subscribers) */
};

/* Fills ops so that they act on every map in b (b must outlive their use). */
void mcp_live_bypass_ops(struct mcp_live_bypass *b, struct mcp_bypass_ops *ops);

#endif /* MCP_LIVE_BYPASS_H */
