/* flow_pins.h - the dispatcher's record of which shard holds each live flow, so that a flow
 * stays whole when its packets' attribution changes under way (its first packets came before
 * the session, or the session went away): a flow is dispatched where it began. Pins are
 * removed when the flow's final record comes back through the merger.
 *
 * Pins are found through util/oa_index, whose 8-byte pairs keep
 * the probing of a few thousand live flows in cache: one pin is read per user packet, so the
 * table's footprint is the dispatcher's. Only the dispatcher thread touches it.
 */
#ifndef MCP_FLOW_PINS_H
#define MCP_FLOW_PINS_H

#include <stdint.h>
#include <string.h>

#include "flow/worker.h"
#include "mcp_map_layout.h"

/* The session part of a struct mcp_attrib (RADIUS users are looked up per packet), as the
 * dispatcher's caches keep it (the pins, pipeline/tunnel_attrs.h). */
struct mcp_pin_attr {
	uint8_t has_sub, src_is_up, provisional, pad;
	uint32_t sub_id;
	uint64_t changed_ms;
	char imsi[16];
};

static inline void mcp_pin_attr_keep(struct mcp_pin_attr *c, const struct mcp_attrib *a)
{
	*c = (struct mcp_pin_attr){ .has_sub = a->has_sub, .src_is_up = a->src_is_up,
				    .provisional = a->provisional, .sub_id = a->sub_id,
				    .changed_ms = a->changed_ms };
	memcpy(c->imsi, a->imsi, sizeof(c->imsi));
}

/* *a as c kept it, with no RADIUS user. */
static inline void mcp_pin_attr_load(const struct mcp_pin_attr *c, struct mcp_attrib *a)
{
	memset(a, 0, sizeof(*a));
	a->has_sub = c->has_sub;
	a->src_is_up = c->src_is_up;
	a->provisional = c->provisional;
	a->sub_id = c->sub_id;
	a->changed_ms = c->changed_ms;
	memcpy(a->imsi, c->imsi, sizeof(a->imsi));
}

/* One pinned flow, two cache lines. It also caches the attribution each direction of the
 * flow resolved to, valid while the session table has not changed since (attr_gen == the
 * table generation + 1, modulo 2^32), so the dispatcher looks the session table up once per
 * flow and direction, as one worker does, not once per packet. */
struct mcp_flow_pin {
	struct mcp_flow_key key;
	uint32_t hash;
	uint16_t shard;
	uint64_t last_seq;          /* seq of the last packet dispatched under the pin */
	uint32_t attr_gen[2];       /* [0] the packet's source is the key's lo side, [1] hi */
	struct mcp_pin_attr attr[2];
} __attribute__((aligned(64)));

_Static_assert(sizeof(struct mcp_flow_pin) == 128, "a pin is two cache lines");

struct mcp_flow_pins;

/* Room for max_pins flows (the flow bound of all shards together). */
struct mcp_flow_pins *mcp_flow_pins_create(uint32_t max_pins);
void mcp_flow_pins_destroy(struct mcp_flow_pins *p);
/* k's pin; a new one (*added = 1, shard 0) when k has none. NULL when max_pins are in use
 * (counted): the caller dispatches unpinned. Valid until it is removed. */
struct mcp_flow_pin *mcp_flow_pins_get(struct mcp_flow_pins *p, const struct mcp_flow_key *k,
				       uint32_t hash, int *added);
/* Removes k's pin unless a packet was dispatched under it at or after end_seq: that packet
 * began a new flow on the pinned shard, which must stay there. */
void mcp_flow_pins_remove(struct mcp_flow_pins *p, const struct mcp_flow_key *k, uint32_t hash,
			  uint64_t end_seq);
/* Starts loading hash's pin, in two stages some packets apart: 0 the index pairs it is
 * probed at, 1 the pin the first matching pair names (none if there is none yet). */
void mcp_flow_pins_prefetch(const struct mcp_flow_pins *p, uint32_t hash, int stage);
uint32_t mcp_flow_pins_count(const struct mcp_flow_pins *p);
uint64_t mcp_flow_pins_failures(const struct mcp_flow_pins *p);

#endif /* MCP_FLOW_PINS_H */
