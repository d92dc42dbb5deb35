/* attribution.c - late binding of flows to subscribers (attribution.h).
 *
 * The tunnel a GTP-U packet travels in is keyed by its TEID and the endpoint that receives it
 * (the outer destination). A flow stores the first TEID of each of its directions and the outer
 * endpoints of one packet: those of its first "up" packet once it had one (MCP_FLOWF_OUTER_UP),
 * else those of its first packet, which then went "down". So one (TEID, endpoint) pair is exact
 * and the other direction's pair is the mirror (eNodeB and SGW receive on the addresses they
 * send from), tried second.
 */
#include "flow/attribution.h"

#include <stdio.h>
#include <string.h>

#include "util/strcopy.h"

struct attr_hit {
	const struct mcp_subscriber *sub;
	int up_index; /* which of the flow's sides (0 = its current "up") is the uplink */
};

static int tunnel_try(struct mcp_sessions *s, uint32_t teid, const struct mcp_ip *addr,
		      int side, struct attr_hit *hit)
{
	uint8_t dir;

	if (!teid)
		return 0;
	hit->sub = mcp_sessions_by_tunnel(s, teid, addr, &dir);
	if (!hit->sub)
		return 0;
	/* side carries packets travelling in dir: it is the uplink iff dir is UP */
	hit->up_index = dir == MCP_DIR_UP ? side : !side;
	return 1;
}

static int by_tunnel(struct mcp_sessions *s, const struct mcp_flow *f, struct attr_hit *hit)
{
	if (!(f->flags & MCP_FLOWF_TUNNELED))
		return 0;
	if (f->flags & MCP_FLOWF_OUTER_UP)
		return tunnel_try(s, f->teid[0], &f->outer_dst, 0, hit) ||
		       tunnel_try(s, f->teid[1], &f->outer_src, 1, hit);
	return tunnel_try(s, f->teid[1], &f->outer_dst, 1, hit) ||
	       tunnel_try(s, f->teid[0], &f->outer_src, 0, hit);
}

static int by_ue_ip(struct mcp_sessions *s, const struct mcp_flow *f, struct attr_hit *hit)
{
	const struct mcp_ip *up = f->up_is_a ? &f->key.lo : &f->key.hi;
	const struct mcp_ip *down = f->up_is_a ? &f->key.hi : &f->key.lo;

	if ((hit->sub = mcp_sessions_by_ue_ip(s, up))) {
		hit->up_index = 0;
		return 1;
	}
	if ((hit->sub = mcp_sessions_by_ue_ip(s, down))) {
		hit->up_index = 1;
		return 1;
	}
	return 0;
}

void mcp_attr_turn_round(struct mcp_flow *f)
{
	uint64_t t64;
	uint32_t t32;
	uint8_t t8;
	struct mcp_ip a;

	t64 = f->pkts[0], f->pkts[0] = f->pkts[1], f->pkts[1] = t64;
	t64 = f->bytes[0], f->bytes[0] = f->bytes[1], f->bytes[1] = t64;
	t8 = f->tcp_flags[0], f->tcp_flags[0] = f->tcp_flags[1], f->tcp_flags[1] = t8;
	t32 = f->teid[0], f->teid[0] = f->teid[1], f->teid[1] = t32;
	f->up_is_a = (uint8_t)!f->up_is_a;
	if (f->flags & MCP_FLOWF_OUTER_UP) {
		/* taken from a packet that now goes down: mirrored, it is the uplink's view */
		a = f->outer_src, f->outer_src = f->outer_dst, f->outer_dst = a;
	} else if (f->flags & MCP_FLOWF_TUNNELED) {
		f->flags |= MCP_FLOWF_OUTER_UP; /* every packet so far went what is now up */
	}
}

/* A flow given to a deleted subscriber looks again: the tunnel's new owner takes it if its
 * session appeared within the bound after the flow began (it was late, not the flow). */
static enum mcp_attr_result recheck(struct mcp_flow *f, const struct attr_hit *hit)
{
	const struct mcp_subscriber *sub = hit->sub;

	if (sub->state == MCP_SUB_DELETED)
		return MCP_ATTR_NONE; /* still the deleted one's (grace) or another deleted one */
	f->attr_tentative = 0;
	if (!strcmp(sub->imsi, f->imsi) || sub->last_change_ms > f->first_ms + MCP_ATTR_REUSE_BOUND_MS)
		return MCP_ATTR_NONE;
	f->sub_id = sub->id;
	mcp_strcopy(f->imsi, sizeof(f->imsi), sub->imsi);
	return MCP_ATTR_MOVED;
}

enum mcp_attr_result mcp_attr_resolve(struct mcp_sessions *s, struct mcp_flow *f)
{
	struct attr_hit hit = { 0 };
	enum mcp_attr_result how;

	if (!s || ((f->flags & MCP_FLOWF_HAS_SUB) && !f->attr_tentative))
		return MCP_ATTR_NONE;
	f->attr_gen = (uint32_t)mcp_sessions_generation(s);
	if (by_tunnel(s, f, &hit))
		how = MCP_ATTR_TUNNEL;
	else if (by_ue_ip(s, f, &hit))
		how = MCP_ATTR_UE_IP;
	else
		return MCP_ATTR_NONE;
	if (f->flags & MCP_FLOWF_HAS_SUB)
		return recheck(f, &hit);
	/* a side set by a fixed-network user stays; a guess from the first packet gives way */
	if (hit.up_index == 1 && !f->dir_known)
		mcp_attr_turn_round(f);
	f->dir_known = 1;
	f->flags |= MCP_FLOWF_HAS_SUB;
	f->sub_id = hit.sub->id;
	f->attr_tentative = hit.sub->state == MCP_SUB_DELETED;
	mcp_strcopy(f->imsi, sizeof(f->imsi), hit.sub->imsi);
	return how;
}

void mcp_attr_mark(struct mcp_sessions *s, struct mcp_flow *f, const struct mcp_subscriber *sub)
{
	if (!s)
		return;
	f->attr_gen = (uint32_t)mcp_sessions_generation(s);
	f->attr_tentative = sub && sub->state == MCP_SUB_DELETED;
}
