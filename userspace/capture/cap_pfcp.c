/* cap_pfcp.c - follows the captured subscribers' PFCP sessions by SEID (cap_pfcp.h). */
#include <stdlib.h>
#include <string.h>

#include "capture/cap_pfcp.h"
#include "control/pfcp.h"

/* A handful of captured subscribers, each a few PDU sessions: rings that overwrite the
 * oldest are enough. */
#define MCP_CAP_PFCP_SEIDS 256
#define MCP_CAP_PFCP_EXCH 128

struct mcp_cap_pfcp_exch {
	struct mcp_ip req, rsp;
	uint32_t seq;
	uint8_t used;
};

struct mcp_cap_pfcp {
	uint64_t seid[MCP_CAP_PFCP_SEIDS];
	uint32_t nseid;
	struct mcp_cap_pfcp_exch exch[MCP_CAP_PFCP_EXCH];
	uint32_t nexch;
	struct mcp_pfcp_msg msg;
};

struct mcp_cap_pfcp *mcp_cap_pfcp_create(void)
{
	return calloc(1, sizeof(struct mcp_cap_pfcp));
}

void mcp_cap_pfcp_destroy(struct mcp_cap_pfcp *p)
{
	free(p);
}

static int mcp_cap_pfcp_has_seid(const struct mcp_cap_pfcp *p, uint64_t seid)
{
	uint32_t i, n = p->nseid < MCP_CAP_PFCP_SEIDS ? p->nseid : MCP_CAP_PFCP_SEIDS;

	for (i = 0; seid && i < n; i++)
		if (p->seid[i] == seid)
			return 1;
	return 0;
}

static void mcp_cap_pfcp_add_seid(struct mcp_cap_pfcp *p, uint64_t seid)
{
	if (seid && !mcp_cap_pfcp_has_seid(p, seid))
		p->seid[p->nseid++ % MCP_CAP_PFCP_SEIDS] = seid;
}

/* An answer to a selected request: same sequence number, peers swapped. */
static int mcp_cap_pfcp_answers(const struct mcp_cap_pfcp *p, uint32_t seq,
				const struct mcp_pkt *pkt)
{
	uint32_t i;

	for (i = 0; i < MCP_CAP_PFCP_EXCH; i++) {
		const struct mcp_cap_pfcp_exch *e = &p->exch[i];

		if (e->used && e->seq == seq && !memcmp(&e->req, &pkt->dst, sizeof(e->req)) &&
		    !memcmp(&e->rsp, &pkt->src, sizeof(e->rsp)))
			return 1;
	}
	return 0;
}

int mcp_cap_pfcp_selected(struct mcp_cap_pfcp *p, const struct mcp_imsi_set *imsis,
			  const struct mcp_pkt *pkt)
{
	struct mcp_pfcp_msg *m = &p->msg;
	int hit;

	if (!pkt->payload || mcp_pfcp_decode(pkt->payload, pkt->payload_len, m) < 0)
		return 0;
	hit = (m->imsi[0] && mcp_imsi_set_has(imsis, m->imsi)) ||
	      (m->has_seid && mcp_cap_pfcp_has_seid(p, m->seid)) ||
	      (mcp_pfcp_is_session_response(m->type) && mcp_cap_pfcp_answers(p, m->seq, pkt));
	if (!hit)
		return 0;
	if (m->has_fseid)
		mcp_cap_pfcp_add_seid(p, m->fseid); /* the sender's end of the session */
	if (mcp_pfcp_is_session_request(m->type)) {
		struct mcp_cap_pfcp_exch *e = &p->exch[p->nexch++ % MCP_CAP_PFCP_EXCH];

		e->req = pkt->src;
		e->rsp = pkt->dst;
		e->seq = m->seq;
		e->used = 1;
	}
	return 1;
}
