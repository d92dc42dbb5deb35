/* cap_tunset.h - the GTP-U tunnels (TEID + receiving endpoint, TS 29.281) of the subscribers
 * a remote capture follows, refreshed from the microcloud, with a grace for replaced ones.
 *
 * A refresh lists one subscriber's current tunnels; keys it no longer lists stay selected
 * for grace_ms (end markers to the old eNB, stragglers after a delete), then go.
 * Thread-safe: the Redis thread refreshes, the packet thread looks up.
 */
#ifndef MCP_CAP_TUNSET_H
#define MCP_CAP_TUNSET_H

#include <stdint.h>

#include "mcp_addr.h"
#include "session/session.h"

struct mcp_cap_tunset;

struct mcp_cap_tunset *mcp_cap_tunset_create(uint32_t grace_ms);
void mcp_cap_tunset_destroy(struct mcp_cap_tunset *t);
/* Replaces sub->imsi's tunnels with sub's (the old ones start their grace). 0 or -ENOMEM. */
int mcp_cap_tunset_refresh(struct mcp_cap_tunset *t, const struct mcp_subscriber *sub,
			   uint64_t now_ms);
/* 1 if (teid, addr) is selected at now_ms. */
int mcp_cap_tunset_has(struct mcp_cap_tunset *t, uint32_t teid, const struct mcp_ip *addr,
		       uint64_t now_ms);
/* Tunnels selected now (for messages). */
uint32_t mcp_cap_tunset_count(struct mcp_cap_tunset *t, uint64_t now_ms);

#endif /* MCP_CAP_TUNSET_H */
