/* session_gtpc.c - GTP-C intake of the session table: decode (piggybacked messages
 * included, TS 29.274 5.5.1), count, and pair requests with responses through the
 * transaction table (gtpc_txn.c, TS 29.060 7.6, TS 29.274 7.6). Accepted exchanges go to
 * session_apply.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "session/session_internal.h"

static void mcp_prefetch_fteid(struct mcp_sessions *s, struct mcp_htab *t,
			       const struct mcp_gtpc_fteid *f)
{
	struct mcp_teid_key k;

	if (!f->has_v4 && !f->has_v6)
		return;
	mcp_teid_key(&k, f->teid, f->has_v4 ? &f->v4 : &f->v6);
	mcp_htab_prefetch(t, &k);
}

/* The index slots an exchange will touch are independent: start loading them all at once,
 * so that the cache misses of a large table overlap instead of adding up. */
static void mcp_sess_prefetch(struct mcp_sessions *s, const struct mcp_gtpc_msg *req,
			      const struct mcp_gtpc_msg *rsp)
{
	const struct mcp_gtpc_msg *m[2] = { req, rsp };
	char key[MCP_IMSI_LEN];
	int i, b, f;

	if (req->imsi[0]) {
		mcp_imsi_key(key, req->imsi);
		mcp_htab_prefetch(&s->by_imsi, key);
	}
	for (i = 0; i < 2; i++) {
		for (f = 0; f < m[i]->nctrl; f++)
			mcp_prefetch_fteid(s, &s->by_ctrl, &m[i]->ctrl[f]);
		for (b = 0; b < m[i]->nbearers; b++)
			for (f = 0; f < m[i]->bearers[b].nfteid; f++)
				mcp_prefetch_fteid(s, &s->by_tunnel, &m[i]->bearers[b].fteid[f]);
		if (m[i]->has_ue_v4)
			mcp_htab_prefetch(&s->by_ue, &m[i]->ue_v4);
		if (m[i]->has_ue_v6)
			mcp_htab_prefetch(&s->by_ue, &m[i]->ue_v6);
	}
}

/* Applies an accepted exchange; the transaction is forgotten either way. */
static void mcp_sess_response(struct mcp_sessions *s, const struct mcp_gtpc_msg *m,
			      const struct mcp_pkt *pkt, uint64_t ts_ms)
{
	struct mcp_gtpc_txn_match t;

	if (!mcp_gtpc_txns_response(s->txns, m, pkt, ts_ms, &t))
		return;
	if (!m->has_cause || !mcp_gtpc_cause_accepted(m->version, m->cause)) {
		s->stats.rejected_responses++;
	} else {
		s->stats.accepted_exchanges++;
		mcp_sess_prefetch(s, t.req, m);
		mcp_sess_apply(s, t.req, m, t.req_ip, t.rsp_ip, ts_ms);
	}
	mcp_gtpc_txns_done(s->txns);
}

void mcp_sessions_expire_transactions(struct mcp_sessions *s, uint64_t now_ms)
{
	mcp_gtpc_txns_expire(s->txns, now_ms);
}

/* ---- intake ---------------------------------------------------------------------------- */

static void mcp_sessions_count_bad(struct mcp_sessions *s, enum mcp_gtpc_bad_reason r)
{
	s->stats.malformed++;
	if ((unsigned int)r < MCP_GTPC_BAD__MAX)
		s->stats.malformed_reason[r]++;
}

int mcp_sessions_handle_gtpc(struct mcp_sessions *s, const struct mcp_pkt *pkt)
{
	const uint8_t *p = pkt->payload;
	size_t left = pkt->payload ? pkt->payload_len : 0;
	uint64_t ts_ms = pkt->ts_us / 1000;
	struct mcp_gtpc_msg *m = &s->msg;
	int i, rc;

	mcp_gtpc_txns_expire(s->txns, ts_ms); /* a late retransmission is a new request */
	/* a piggybacked message may follow the first one (TS 29.274 5.5.1): at most one */
	for (i = 0; i < 2; i++) {
		rc = mcp_gtpc_decode(p, left, m);
		if (rc < 0) {
			mcp_sessions_count_bad(s, i ? MCP_GTPC_BAD_BAD_PIGGYBACK : m->bad_reason);
			return rc;
		}
		if (m->version == 1)
			s->stats.v1_msgs[m->type]++;
		else
			s->stats.v2_msgs[m->type]++;
		s->stats.unknown_ies += m->unknown_ies;
		s->stats.discarded_ies += m->discarded_ies;
		if (mcp_gtpc_is_request(m->version, m->type))
			mcp_gtpc_txns_request(s->txns, m, pkt, ts_ms);
		else if (mcp_gtpc_is_response(m->version, m->type))
			mcp_sess_response(s, m, pkt, ts_ms);
		else if (!(m->type == 1 || m->type == 2 || (m->version == 2 && m->type == 3)))
			s->stats.unknown_msgs++;
		if (m->version != 2 || !m->piggyback)
			break;
		p += rc;
		left -= (size_t)rc;
		if (!left) {
			mcp_sessions_count_bad(s, MCP_GTPC_BAD_BAD_PIGGYBACK);
			return -EBADMSG;
		}
	}
	if (s->stats.table_full | s->stats.txn_full | s->stats.tunnels_full)
		mcp_sess_pressure_check(s);
	return 0;
}

