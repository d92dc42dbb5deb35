/* attribution.h - who a flow belongs to, whatever came first: its user plane or the control
 * plane that names its tunnel (late binding).
 *
 * A flow keeps what identifies its subscriber: the first TEID of each direction and the outer
 * endpoints of a packet (struct mcp_flow). A flow that found no subscriber when it began looks
 * again whenever the session table changed since its last look (one integer compare per
 * packet), and at the latest just before each export. When the lookup says the flow's guessed
 * "up" side was in fact the downlink, its per-direction counters, flags and TEIDs are swapped,
 * so the record comes out as if the control plane had come first. Callable from any worker
 * that owns the flow and reads the session table (docs/sessions.md, "Late binding").
 */
#ifndef MCP_ATTRIBUTION_H
#define MCP_ATTRIBUTION_H

#include <stdint.h>

#include "flow/flow.h"
#include "flow/record.h"
#include "session/session.h"

/* The key that names a flow's subscriber may be passing to a new owner whose session has not
 * been seen yet (live, control and user plane come on different queues): a tunnel or UE IP
 * in its grace period (its subscriber was deleted, or its session replaced the tunnel in a
 * handover or re-attach), or the UE address of a GTP-U flow whose TEIDs name nobody yet. A
 * flow found through such a key is tentative; it moves to the key's new owner if that one's
 * session appeared at most this long after the flow began (docs/sessions.md, "Late
 * binding"). */
#ifndef MCP_ATTR_REUSE_BOUND_MS
#define MCP_ATTR_REUSE_BOUND_MS 500
#endif

/* Who resolved a flow, for the worker's counters. */
enum mcp_attr_result {
	MCP_ATTR_NONE = 0,   /* no subscriber (yet) */
	MCP_ATTR_TUNNEL,     /* by a TEID and the endpoint that received it */
	MCP_ATTR_UE_IP,      /* by the inner address of the UE */
	MCP_ATTR_MOVED,      /* from a provisional owner to the key's new one */
};

/* Looks the flow's subscriber up from its TEIDs, endpoints and inner addresses; on success
 * sets MCP_FLOWF_HAS_SUB, sub_id, imsi and dir_known, and turns the flow round if the lookup
 * says its up side was the other one. A flow that has a subscriber keeps it (through a
 * handover too) unless it was tentative and a new owner appeared within
 * MCP_ATTR_REUSE_BOUND_MS of the flow's start. Records the table's generation. */
enum mcp_attr_result mcp_attr_resolve(struct mcp_sessions *s, struct mcp_flow *f);

/* The same only when the table changed since this flow last looked: the per-packet check. */
static inline enum mcp_attr_result mcp_attr_retry(struct mcp_sessions *s, struct mcp_flow *f)
{
	if (!s || ((f->flags & MCP_FLOWF_HAS_SUB) && !f->attr_tentative) ||
	    f->attr_gen == (uint32_t)mcp_sessions_generation(s))
		return MCP_ATTR_NONE;
	return mcp_attr_resolve(s, f);
}

/* For a flow resolved elsewhere on its first packet: remembers the table's generation and
 * whether that attribution was provisional (struct mcp_attrib), which makes it tentative. */
void mcp_attr_mark(struct mcp_sessions *s, struct mcp_flow *f, int provisional);

/* The same for an exported record that has no IMSI, from the TEIDs, outer endpoints and
 * inner addresses it carries (a shard's record, resolved by the session table's owner when
 * it merges it: pipeline/shards.c). On success sets imsi (the caller fills the rest) and
 * turns the record round if its up side was the downlink. */
enum mcp_attr_result mcp_attr_resolve_record(struct mcp_sessions *s, struct mcp_flow_record *r);

/* Swaps the flow's up and down sides (counters, TCP flags, TEIDs, outer endpoints). */
void mcp_attr_turn_round(struct mcp_flow *f);

#endif /* MCP_ATTRIBUTION_H */
