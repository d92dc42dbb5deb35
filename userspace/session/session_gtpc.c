/* session_gtpc.c - GTP-C intake of the session table: decode (piggybacked messages
 * included, TS 29.274 5.5.1), count, and pair requests with responses by (version, requester
 * IP and port, responder IP, sequence number) with a timeout (TS 29.060 7.6, TS 29.274 7.6).
 * Accepted exchanges go to session_apply.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/hugemem.h"
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

/* ---- transactions ----------------------------------------------------------------------- */

static struct mcp_txn *mcp_txn_at(struct mcp_sessions *s, uint32_t idx)
{
	return &s->txn_chunks[idx / MCP_TXN_CHUNK][idx % MCP_TXN_CHUNK];
}

static struct mcp_txn *mcp_txn_alloc(struct mcp_sessions *s, uint32_t *idx)
{
	struct mcp_txn *t;

	if (s->txn_free != MCP_NONE) {
		*idx = s->txn_free;
		t = mcp_txn_at(s, *idx);
		s->txn_free = t->next_free;
		return t;
	}
	if (s->txn_nalloc == s->txn_nchunks * MCP_TXN_CHUNK) {
		if (s->txn_nchunks == s->txn_max_chunks)
			return NULL;
		s->txn_chunks[s->txn_nchunks] =
			mcp_huge_zalloc(MCP_TXN_CHUNK * sizeof(struct mcp_txn));
		if (!s->txn_chunks[s->txn_nchunks])
			return NULL;
		s->txn_nchunks++;
	}
	*idx = s->txn_nalloc++;
	return mcp_txn_at(s, *idx);
}

static void mcp_txn_release(struct mcp_sessions *s, struct mcp_txn *t, uint32_t idx)
{
	mcp_htab_del(&s->by_txn, &t->key);
	t->used = 0;
	t->gen++;
	t->next_free = s->txn_free;
	s->txn_free = idx;
}

static void mcp_txn_key(struct mcp_txn_key *k, uint8_t version, uint32_t seq,
			const struct mcp_ip *req_ip, uint16_t req_port, const struct mcp_ip *rsp_ip)
{
	memset(k, 0, sizeof(*k));
	k->req_ip = *req_ip;
	k->rsp_ip = *rsp_ip;
	k->seq = seq;
	k->req_port = req_port;
	k->version = version;
}

void mcp_txn_expire(struct mcp_sessions *s, uint64_t now_ms)
{
	struct mcp_txn_q *q;

	while ((q = mcp_ring_front(&s->q_txn)) &&
	       q->ts_ms + s->cfg.transaction_timeout_ms <= now_ms) {
		struct mcp_txn *t = mcp_txn_at(s, q->idx);

		if (t->used && t->gen == q->gen) {
			s->stats.timed_out_requests++;
			mcp_txn_release(s, t, q->idx);
		}
		mcp_ring_pop(&s->q_txn);
	}
}

static void mcp_txn_request(struct mcp_sessions *s, const struct mcp_gtpc_msg *m,
			    const struct mcp_pkt *pkt, uint64_t ts_ms)
{
	struct mcp_txn_key k;
	struct mcp_txn_q q;
	struct mcp_txn *t;
	uint32_t idx;

	mcp_txn_key(&k, m->version, m->seq, &pkt->src, pkt->sport, &pkt->dst);
	if (mcp_htab_find(&s->by_txn, &k)) {
		s->stats.retransmissions++;
		return;
	}
	t = mcp_txn_alloc(s, &idx);
	if (!t) {
		s->stats.txn_full++;
		return;
	}
	if (mcp_htab_put(&s->by_txn, &k, idx) < 0) {
		t->next_free = s->txn_free;
		s->txn_free = idx;
		s->stats.txn_full++;
		return;
	}
	t->key = k;
	t->ts_ms = ts_ms;
	t->used = 1;
	memcpy(&t->req, m, mcp_gtpc_msg_size(m));
	q.ts_ms = ts_ms;
	q.idx = idx;
	q.gen = t->gen;
	if (mcp_ring_push(&s->q_txn, &q) < 0) { /* untracked timeout: drop it now */
		mcp_txn_release(s, t, idx);
		s->stats.txn_full++;
	}
}

static void mcp_txn_response(struct mcp_sessions *s, const struct mcp_gtpc_msg *m,
			     const struct mcp_pkt *pkt, uint64_t ts_ms)
{
	struct mcp_txn_key k;
	struct mcp_txn *t;
	uint32_t *v, idx;

	mcp_txn_key(&k, m->version, m->seq, &pkt->dst, pkt->dport, &pkt->src);
	v = mcp_htab_find(&s->by_txn, &k);
	if (!v) {
		s->stats.unmatched_responses++;
		return;
	}
	idx = *v;
	t = mcp_txn_at(s, idx);
	if (ts_ms > t->ts_ms + s->cfg.transaction_timeout_ms) {
		s->stats.timed_out_requests++;
		s->stats.unmatched_responses++;
		mcp_txn_release(s, t, idx);
		return;
	}
	if (t->req.type + 1 != m->type) {
		s->stats.unmatched_responses++;
		return;
	}
	if (!m->has_cause || !mcp_gtpc_cause_accepted(m->version, m->cause)) {
		s->stats.rejected_responses++;
	} else {
		s->stats.accepted_exchanges++;
		mcp_sess_prefetch(s, &t->req, m);
		mcp_sess_apply(s, &t->req, m, &t->key.req_ip, &t->key.rsp_ip, ts_ms);
	}
	mcp_txn_release(s, t, idx);
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

	mcp_txn_expire(s, ts_ms);
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
			mcp_txn_request(s, m, pkt, ts_ms);
		else if (mcp_gtpc_is_response(m->version, m->type))
			mcp_txn_response(s, m, pkt, ts_ms);
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

