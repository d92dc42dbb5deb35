/* session_5g_pfcp.c - PFCP intake of the 5G session join: decode (follow-on messages
 * included, TS 29.244 7.2.2.1), count, and pair session requests with their responses by
 * (requester address and port, responder address, sequence number) in direct-mapped slots
 * with a timeout. Accepted exchanges go to mcp_s5g_apply() (session_5g.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "control/pfcp.h"
#include "session/session_5g_internal.h"

#define MAX_FOLLOW_ON 4 /* messages decoded per datagram */

int mcp_s5g_is_pfcp(const struct mcp_pkt *pkt)
{
	return pkt->l4_proto == 17 && (pkt->flags & MCP_PKTF_HAS_PORTS) &&
	       (pkt->dport == MCP_PFCP_PORT || pkt->sport == MCP_PFCP_PORT);
}

static uint32_t txn_slot(uint32_t seq, const struct mcp_ip *req_ip, uint16_t req_port,
			 const struct mcp_ip *rsp_ip)
{
	uint32_t h = seq * 2654435761u ^ req_port;

	for (int i = 0; i < 16; i += 4) {
		uint32_t a, b;

		memcpy(&a, req_ip->b + i, 4);
		memcpy(&b, rsp_ip->b + i, 4);
		h = (h ^ a) * 0x9e3779b1u;
		h = (h ^ b) * 0x85ebca77u;
	}
	return (h ^ h >> 15) % MCP_S5G_TXN_SLOTS;
}

/* Copies the header part and the used rules only (the arrays are most of the struct). */
static void copy_msg(struct mcp_pfcp_msg *dst, const struct mcp_pfcp_msg *src)
{
	memcpy(dst, src, offsetof(struct mcp_pfcp_msg, pdr));
	memcpy(dst->pdr, src->pdr, src->npdr * sizeof(src->pdr[0]));
	memcpy(dst->far, src->far, src->nfar * sizeof(src->far[0]));
	memcpy(dst->created, src->created, src->ncreated * sizeof(src->created[0]));
}

static void txn_request(struct mcp_s5g *g, const struct mcp_pfcp_msg *m, const struct mcp_ip *src,
			uint16_t sport, const struct mcp_ip *dst, uint64_t ts_ms)
{
	struct mcp_s5g_txn *t = &g->txn[txn_slot(m->seq, src, sport, dst)];

	if (t->used && (t->seq != m->seq || t->req_port != sport ||
			mcp_ip_cmp(&t->req_ip, src) || mcp_ip_cmp(&t->rsp_ip, dst)))
		g->st.txn_replaced++;
	t->used = 1;
	t->seq = m->seq;
	t->req_port = sport;
	t->req_ip = *src;
	t->rsp_ip = *dst;
	t->ts_ms = ts_ms;
	copy_msg(&t->req, m);
}

static void txn_response(struct mcp_s5g *g, const struct mcp_pfcp_msg *m,
			 const struct mcp_ip *src, const struct mcp_ip *dst, uint16_t dport,
			 uint64_t ts_ms)
{
	struct mcp_s5g_txn *t = &g->txn[txn_slot(m->seq, dst, dport, src)];

	if (!t->used || t->seq != m->seq || t->req_port != dport || mcp_ip_cmp(&t->req_ip, dst) ||
	    mcp_ip_cmp(&t->rsp_ip, src) || t->req.type + 1 != m->type) {
		g->st.unmatched_responses++;
		return;
	}
	t->used = 0;
	if (ts_ms > t->ts_ms + g->txn_timeout_ms) {
		g->st.timed_out++;
		g->st.unmatched_responses++;
		return;
	}
	if (!m->has_cause || m->cause != MCP_PFCP_CAUSE_ACCEPTED) {
		g->st.rejected++;
		return;
	}
	g->st.accepted++;
	mcp_s5g_apply(g, &t->req, m, &t->req_ip, &t->rsp_ip, ts_ms);
}

void mcp_s5g_pfcp_msg(struct mcp_s5g *g, const struct mcp_pfcp_msg *m, const struct mcp_ip *src,
		      uint16_t sport, const struct mcp_ip *dst, uint16_t dport, uint64_t ts_ms)
{
	g->st.pfcp_msgs[m->type]++;
	g->st.unknown_ies += m->unknown_ies;
	if (mcp_pfcp_is_session_request(m->type))
		txn_request(g, m, src, sport, dst, ts_ms);
	else if (mcp_pfcp_is_session_response(m->type))
		txn_response(g, m, src, dst, dport, ts_ms);
}

static void count_bad(struct mcp_s5g *g, uint8_t reason)
{
	g->st.pfcp_malformed++;
	if (reason < MCP_PFCP_BAD__MAX)
		g->st.pfcp_malformed_reason[reason]++;
}

/* The transaction slot a session message will use, loaded while it is being decoded: the
 * slots are cold (4096 of them, each written once per exchange). Header (TS 29.244 7.2.2):
 * flags(1, S = 0x01) type(1) length(2) [SEID(8)] seq(3) spare(1). */
static void prefetch_txn(struct mcp_s5g *g, const struct mcp_pkt *pkt)
{
	const uint8_t *p = pkt->payload;
	uint32_t off, seq;
	const char *t;

	if (!p || pkt->payload_len < 16)
		return;
	off = p[0] & 0x01 ? 12 : 4;
	seq = (uint32_t)p[off] << 16 | (uint32_t)p[off + 1] << 8 | p[off + 2];
	if (mcp_pfcp_is_session_request(p[1]))
		t = (const char *)&g->txn[txn_slot(seq, &pkt->src, pkt->sport, &pkt->dst)];
	else if (mcp_pfcp_is_session_response(p[1]))
		t = (const char *)&g->txn[txn_slot(seq, &pkt->dst, pkt->dport, &pkt->src)];
	else
		return;
	/* the slot's header, the message header and the first rules: what copy_msg writes */
	for (off = 0; off < offsetof(struct mcp_s5g_txn, req.pdr) + 2 * sizeof(struct mcp_pfcp_pdr);
	     off += 64)
		__builtin_prefetch(t + off, 1);
}

int mcp_s5g_handle_pfcp(struct mcp_s5g *g, const struct mcp_pkt *pkt)
{
	const uint8_t *p = pkt->payload;
	size_t left = pkt->payload ? pkt->payload_len : 0;
	uint64_t ts_ms = pkt->ts_us / 1000;
	struct mcp_pfcp_msg *m = &g->msg;
	int i, rc;

	prefetch_txn(g, pkt);
	for (i = 0; i < MAX_FOLLOW_ON; i++) {
		rc = mcp_pfcp_decode(p, left, m);
		if (rc < 0) {
			count_bad(g, i ? MCP_PFCP_BAD_BAD_FOLLOW_ON : m->bad_reason);
			return rc;
		}
		mcp_s5g_pfcp_msg(g, m, &pkt->src, pkt->sport, &pkt->dst, pkt->dport, ts_ms);
		if (!m->follow_on)
			return 0;
		p += rc;
		left -= (size_t)rc;
	}
	count_bad(g, MCP_PFCP_BAD_BAD_FOLLOW_ON);
	return -EBADMSG;
}

void mcp_s5g_print_stats(const struct mcp_s5g *g, FILE *f)
{
	const struct mcp_s5g_stats *st = &g->st;
	uint64_t n = 0;

	for (int t = 0; t < 256; t++)
		n += st->pfcp_msgs[t];
	if (!n && !st->pfcp_malformed && !st->sbi_idents)
		return;
	fprintf(f, "  pfcp messages                %" PRIu64 " (malformed %" PRIu64 ")\n", n,
		st->pfcp_malformed);
	for (int t = 0; t < 256; t++) {
		const char *name = mcp_pfcp_msg_name((uint8_t)t);

		if (st->pfcp_msgs[t])
			fprintf(f, "    pfcp %-29s %" PRIu64 "\n", name ? name : "other",
				st->pfcp_msgs[t]);
	}
	for (int i = 0; i < MCP_PFCP_BAD__MAX; i++)
		if (st->pfcp_malformed_reason[i])
			fprintf(f, "    %-34s %" PRIu64 "\n", mcp_pfcp_bad_reason_name(i),
				st->pfcp_malformed_reason[i]);
	fprintf(f, "  pfcp exchanges accepted      %" PRIu64 " (rejected %" PRIu64
		   ", unmatched %" PRIu64 ", unknown seid %" PRIu64 ")\n",
		st->accepted, st->rejected, st->unmatched_responses, st->unknown_seid);
	fprintf(f, "  pdu sessions created         %" PRIu64 " (deleted %" PRIu64 ", table full %"
		   PRIu64 ")\n", st->pdu_created, st->pdu_deleted, st->pdu_full);
	fprintf(f, "  pdu sessions by user id      %" PRIu64 "\n", st->pdu_by_user_id);
	fprintf(f, "  pdu sessions by sbi          %" PRIu64 "\n", st->pdu_by_sbi);
	fprintf(f, "  pdu sessions without subscr. %" PRIu64 " (at establishment)\n",
		st->pdu_without_sub);
	fprintf(f, "  sbi identities               %" PRIu64 "\n", st->sbi_idents);
}
