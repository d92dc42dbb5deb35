/* tunnel_attrs.h - the dispatcher's cache of what GTP-U tunnel keys resolve to.
 *
 * A flow's pin caches its attribution per direction, so the session table is looked up once
 * per flow and direction: 103,000 lookups for the 52,000 flows of the bench capture, each a
 * probe of the tunnel index and three or four lines of a cold subscriber entry, 12% of the
 * reader's time with 2 workers. Most flows share their tunnels with the subscriber's other
 * flows: this direct-mapped cache answers for a tunnel key what mcp_attrib_resolve answered
 * for it last, while the table's tunnel epoch (mcp_sessions_tunnel_epoch) is unchanged, from
 * one line. Only answers found by the tunnel key are kept: those depend on the key and the
 * table alone. The line is not prefetched: it is read only where the pin has no answer, and
 * a prefetch at every packet cost more than that one miss (the core's outstanding misses
 * were already the limit). Only the dispatcher thread touches it.
 */
#ifndef MCP_TUNNEL_ATTRS_H
#define MCP_TUNNEL_ATTRS_H

#include <stdint.h>

#include "flow/worker.h"
#include "mcp_addr.h"

struct mcp_tunnel_attrs;

/* nslots is rounded up to a power of two. NULL on failure. */
struct mcp_tunnel_attrs *mcp_tunnel_attrs_create(uint32_t nslots);
void mcp_tunnel_attrs_destroy(struct mcp_tunnel_attrs *t);
/* 1 and *a (subscriber part; no RADIUS user) when (teid, addr) was stored at epoch. */
int mcp_tunnel_attrs_get(const struct mcp_tunnel_attrs *t, uint32_t teid,
			 const struct mcp_ip *addr, uint64_t epoch, struct mcp_attrib *a);
/* Keeps a, which (teid, addr) resolved to at epoch (replacing whatever shared its slot). */
void mcp_tunnel_attrs_put(struct mcp_tunnel_attrs *t, uint32_t teid, const struct mcp_ip *addr,
			  uint64_t epoch, const struct mcp_attrib *a);

#endif /* MCP_TUNNEL_ATTRS_H */
