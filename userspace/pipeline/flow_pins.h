/* flow_pins.h - the dispatcher's record of which shard holds each live flow, so that a flow
 * stays whole when its packets' attribution changes under way (its first packets came before
 * the session, or the session went away): a flow is dispatched where it began. Pins are
 * removed when the flow's final record comes back through the merger.
 *
 * Open addressing with linear probing and backward-shift deletion (no tombstones); doubles
 * at half load. Only the dispatcher thread touches it.
 */
#ifndef MCP_FLOW_PINS_H
#define MCP_FLOW_PINS_H

#include <stdint.h>

#include "mcp_map_layout.h"

struct mcp_flow_pins;

struct mcp_flow_pins *mcp_flow_pins_create(uint32_t initial);
void mcp_flow_pins_destroy(struct mcp_flow_pins *p);
/* The shard k is pinned to, else pins it to want and returns want. Returns want unpinned if
 * memory runs out (counted). */
uint32_t mcp_flow_pins_get_or_pin(struct mcp_flow_pins *p, const struct mcp_flow_key *k,
				  uint32_t hash, uint32_t want);
void mcp_flow_pins_remove(struct mcp_flow_pins *p, const struct mcp_flow_key *k, uint32_t hash);
uint32_t mcp_flow_pins_count(const struct mcp_flow_pins *p);
uint64_t mcp_flow_pins_failures(const struct mcp_flow_pins *p);

#endif /* MCP_FLOW_PINS_H */
