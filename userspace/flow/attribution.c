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
	int provisional; /* the key may be passing to an owner whose session is late (see
			  * struct mcp_attrib): a new owner may take the flow */
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
	hit->provisional = hit->sub->state == MCP_SUB_DELETED ||
			!mcp_sub_holds_tunnel(hit->sub, teid, addr);
	/* side carries packets travelling in dir: it is the uplink iff dir is UP */
	hit->up_index = dir == MCP_DIR_UP ? side : !side;
	return 1;
}

/* What identifies a subscriber, kept by a flow or carried by its record. */
struct attr_keys {
	int tunneled, outer_up;
	uint32_t teid[2];            /* [0] up, [1] down */
	const struct mcp_ip *outer_src, *outer_dst, *up, *down;
};

static int by_tunnel(struct mcp_sessions *s, const struct attr_keys *k, struct attr_hit *hit)
{
	if (!k->tunneled)
		return 0;
	if (k->outer_up)
		return tunnel_try(s, k->teid[0], k->outer_dst, 0, hit) ||
		       tunnel_try(s, k->teid[1], k->outer_src, 1, hit);
	return tunnel_try(s, k->teid[1], k->outer_dst, 1, hit) ||
	       tunnel_try(s, k->teid[0], k->outer_src, 0, hit);
}

static int by_ue_ip(struct mcp_sessions *s, const struct attr_keys *k, struct attr_hit *hit)
{
	if ((hit->sub = mcp_sessions_by_ue_ip(s, k->up)))
		hit->up_index = 0;
	else if ((hit->sub = mcp_sessions_by_ue_ip(s, k->down)))
		hit->up_index = 1;
	else
		return 0;
	/* an active session's replaced address is unmapped at once: only a deleted one lingers;
	 * but a tunneled flow whose TEIDs name nobody may be the address's next holder's */
	hit->provisional = hit->sub->state == MCP_SUB_DELETED || k->tunneled;
	return 1;
}

static enum mcp_attr_result lookup(struct mcp_sessions *s, const struct attr_keys *k,
				   struct attr_hit *hit)
{
	if (by_tunnel(s, k, hit))
		return MCP_ATTR_TUNNEL;
	if (by_ue_ip(s, k, hit))
		return MCP_ATTR_UE_IP;
	return MCP_ATTR_NONE;
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
	t32 = f->uncredited_pkts[0], f->uncredited_pkts[0] = f->uncredited_pkts[1];
	f->uncredited_pkts[1] = t32;
	t64 = f->uncredited_bytes[0], f->uncredited_bytes[0] = f->uncredited_bytes[1];
	f->uncredited_bytes[1] = t64;
	f->up_is_a = (uint8_t)!f->up_is_a;
	if (f->flags & MCP_FLOWF_OUTER_UP) {
		/* taken from a packet that now goes down: mirrored, it is the uplink's view */
		a = f->outer_src, f->outer_src = f->outer_dst, f->outer_dst = a;
	} else if (f->flags & MCP_FLOWF_TUNNELED) {
		f->flags |= MCP_FLOWF_OUTER_UP; /* every packet so far went what is now up */
	}
}

/* A provisionally attributed flow looks again: the key's new owner takes it if its session
 * appeared within the bound after the flow began (it was late, not the flow). */
static enum mcp_attr_result recheck(struct mcp_flow *f, const struct attr_hit *hit)
{
	const struct mcp_subscriber *sub = hit->sub;

	if (hit->provisional)
		return MCP_ATTR_NONE; /* the key still names nobody else for sure */
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
	struct attr_keys k;
	enum mcp_attr_result how;

	if (!s || ((f->flags & MCP_FLOWF_HAS_SUB) && !f->attr_tentative))
		return MCP_ATTR_NONE;
	f->attr_gen = (uint32_t)mcp_sessions_generation(s);
	k.tunneled = !!(f->flags & MCP_FLOWF_TUNNELED);
	k.outer_up = !!(f->flags & MCP_FLOWF_OUTER_UP);
	k.teid[0] = f->teid[0];
	k.teid[1] = f->teid[1];
	k.outer_src = &f->outer_src;
	k.outer_dst = &f->outer_dst;
	k.up = f->up_is_a ? &f->key.lo : &f->key.hi;
	k.down = f->up_is_a ? &f->key.hi : &f->key.lo;
	how = lookup(s, &k, &hit);
	if (how == MCP_ATTR_NONE)
		return MCP_ATTR_NONE;
	if (f->flags & MCP_FLOWF_HAS_SUB)
		return recheck(f, &hit);
	/* a side set by a fixed-network user stays; a guess from the first packet gives way */
	if (hit.up_index == 1 && !f->dir_known)
		mcp_attr_turn_round(f);
	f->dir_known = 1;
	f->flags |= MCP_FLOWF_HAS_SUB;
	f->sub_id = hit.sub->id;
	f->attr_tentative = (uint8_t)hit.provisional;
	mcp_strcopy(f->imsi, sizeof(f->imsi), hit.sub->imsi);
	return how;
}

void mcp_attr_mark(struct mcp_sessions *s, struct mcp_flow *f, int provisional)
{
	if (!s)
		return;
	f->attr_gen = (uint32_t)mcp_sessions_generation(s);
	f->attr_tentative = (uint8_t)provisional;
}

/* The record's side swap: what mcp_attr_turn_round does to its flow. */
static void record_turn_round(struct mcp_flow_record *r)
{
	struct mcp_ip a;
	uint64_t t64;
	uint32_t t32;
	uint16_t t16;
	uint8_t t8;

	a = r->src_ip, r->src_ip = r->dst_ip, r->dst_ip = a;
	t16 = r->src_port, r->src_port = r->dst_port, r->dst_port = t16;
	t64 = r->pkts_up, r->pkts_up = r->pkts_down, r->pkts_down = t64;
	t64 = r->bytes_up, r->bytes_up = r->bytes_down, r->bytes_down = t64;
	t8 = r->tcp_flags_up, r->tcp_flags_up = r->tcp_flags_down, r->tcp_flags_down = t8;
	t64 = r->uncredited_pkts[0], r->uncredited_pkts[0] = r->uncredited_pkts[1];
	r->uncredited_pkts[1] = t64;
	t64 = r->uncredited_bytes[0], r->uncredited_bytes[0] = r->uncredited_bytes[1];
	r->uncredited_bytes[1] = t64;
	t32 = r->teid_up, r->teid_up = r->teid_down, r->teid_down = t32;
	if (r->outer_up)
		a = r->outer_src, r->outer_src = r->outer_dst, r->outer_dst = a;
	else if (r->tunneled)
		r->outer_up = 1;
}

enum mcp_attr_result mcp_attr_resolve_record(struct mcp_sessions *s, struct mcp_flow_record *r)
{
	struct attr_hit hit = { 0 };
	struct attr_keys k = {
		.tunneled = r->tunneled, .outer_up = r->outer_up,
		.teid = { r->teid_up, r->teid_down },
		.outer_src = &r->outer_src, .outer_dst = &r->outer_dst,
		.up = &r->src_ip, .down = &r->dst_ip,
	};
	enum mcp_attr_result how;

	if (!s || (r->imsi[0] && !r->attr_tentative))
		return MCP_ATTR_NONE;
	how = lookup(s, &k, &hit);
	if (how == MCP_ATTR_NONE || (r->imsi[0] && hit.provisional))
		return MCP_ATTR_NONE;
	if (r->imsi[0]) { /* mcp_attr_resolve's recheck */
		r->attr_tentative = 0;
		if (!strcmp(hit.sub->imsi, r->imsi) ||
		    hit.sub->last_change_ms > r->first_ms + MCP_ATTR_REUSE_BOUND_MS)
			return MCP_ATTR_NONE;
		mcp_strcopy(r->imsi, sizeof(r->imsi), hit.sub->imsi);
		r->sub_id = hit.sub->id;
		return MCP_ATTR_MOVED;
	}
	/* a side set by a fixed-network user stays, as in mcp_attr_resolve */
	if (hit.up_index == 1 && !r->user[0])
		record_turn_round(r);
	mcp_strcopy(r->imsi, sizeof(r->imsi), hit.sub->imsi);
	r->sub_id = hit.sub->id;
	r->attr_tentative = (uint8_t)hit.provisional;
	return how;
}
