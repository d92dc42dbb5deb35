/* gtpc_txn.c - the GTP-C transaction table (gtpc_txn.h): requests paired with responses by
 * (version, requester IP and port, responder IP, sequence number), TS 29.060 7.6 and
 * TS 29.274 7.6. Slab chunks of transactions, a hash index on the key, a FIFO for timeouts.
 */
#include "session/gtpc_txn.h"

#include <stdlib.h>
#include <string.h>

#include "session/session_htab.h"
#include "util/hugemem.h"

#define MCP_TXN_CHUNK      1024
#define MCP_TXN_INDEX_START 65536 /* index slots: a busy site's opening burst without a rehash */
#define MCP_TXN_NONE       UINT32_MAX

/* Transaction key: requester endpoint, responder address, sequence, version. */
struct mcp_txn_key {
	struct mcp_ip req_ip, rsp_ip;
	uint32_t seq;
	uint16_t req_port;
	uint8_t version;
	uint8_t pad;
};

struct mcp_txn {
	struct mcp_txn_key key;
	uint64_t ts_ms;
	uint32_t gen;
	uint32_t next_free;
	uint8_t used;
	struct mcp_gtpc_msg req; /* only mcp_gtpc_msg_size(&req) bytes are valid */
};

/* Timeout queue record: stale when the slot's generation moved on. */
struct mcp_txn_q {
	uint64_t ts_ms;
	uint32_t idx, gen;
};

struct mcp_gtpc_txns {
	struct mcp_session_stats *stats;
	uint32_t timeout_ms;
	struct mcp_txn **chunks;
	uint32_t nchunks, max_chunks, nalloc, free_head;
	uint32_t matched; /* slot returned by the last successful response */
	struct mcp_htab by_key;
	struct mcp_ring q_timeout;
};

struct mcp_gtpc_txns *mcp_gtpc_txns_create(uint32_t max_pending, uint32_t timeout_ms,
					   struct mcp_session_stats *stats)
{
	struct mcp_gtpc_txns *x = calloc(1, sizeof(*x));

	if (!x)
		return NULL;
	x->stats = stats;
	x->timeout_ms = timeout_ms;
	x->max_chunks = (max_pending + MCP_TXN_CHUNK - 1) / MCP_TXN_CHUNK;
	x->free_head = MCP_TXN_NONE;
	x->matched = MCP_TXN_NONE;
	x->chunks = calloc(x->max_chunks ? x->max_chunks : 1, sizeof(*x->chunks));
	if (!x->chunks ||
	    mcp_htab_init(&x->by_key, sizeof(struct mcp_txn_key), MCP_TXN_INDEX_START) < 0 ||
	    mcp_ring_init(&x->q_timeout, sizeof(struct mcp_txn_q), 1024) < 0) {
		mcp_gtpc_txns_destroy(x);
		return NULL;
	}
	return x;
}

uint32_t mcp_gtpc_txns_max(const struct mcp_gtpc_txns *x)
{
	return x->max_chunks * MCP_TXN_CHUNK;
}

void mcp_gtpc_txns_destroy(struct mcp_gtpc_txns *x)
{
	uint32_t i;

	if (!x)
		return;
	for (i = 0; x->chunks && i < x->nchunks; i++)
		mcp_huge_free(x->chunks[i], MCP_TXN_CHUNK * sizeof(struct mcp_txn));
	free(x->chunks);
	mcp_htab_free(&x->by_key);
	mcp_ring_free(&x->q_timeout);
	free(x);
}

static struct mcp_txn *mcp_txn_at(struct mcp_gtpc_txns *x, uint32_t idx)
{
	return &x->chunks[idx / MCP_TXN_CHUNK][idx % MCP_TXN_CHUNK];
}

static struct mcp_txn *mcp_txn_alloc(struct mcp_gtpc_txns *x, uint32_t *idx)
{
	struct mcp_txn *t;

	if (x->free_head != MCP_TXN_NONE) {
		*idx = x->free_head;
		t = mcp_txn_at(x, *idx);
		x->free_head = t->next_free;
		return t;
	}
	if (x->nalloc == x->nchunks * MCP_TXN_CHUNK) {
		if (x->nchunks == x->max_chunks)
			return NULL;
		x->chunks[x->nchunks] = mcp_huge_zalloc(MCP_TXN_CHUNK * sizeof(struct mcp_txn));
		if (!x->chunks[x->nchunks])
			return NULL;
		x->nchunks++;
	}
	*idx = x->nalloc++;
	return mcp_txn_at(x, *idx);
}

static void mcp_txn_release(struct mcp_gtpc_txns *x, struct mcp_txn *t, uint32_t idx)
{
	mcp_htab_del(&x->by_key, &t->key);
	t->used = 0;
	t->gen++;
	t->next_free = x->free_head;
	x->free_head = idx;
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

void mcp_gtpc_txns_expire(struct mcp_gtpc_txns *x, uint64_t now_ms)
{
	struct mcp_txn_q *q;

	while ((q = mcp_ring_front(&x->q_timeout)) && q->ts_ms + x->timeout_ms <= now_ms) {
		struct mcp_txn *t = mcp_txn_at(x, q->idx);

		if (t->used && t->gen == q->gen) {
			x->stats->timed_out_requests++;
			mcp_txn_release(x, t, q->idx);
		}
		mcp_ring_pop(&x->q_timeout);
	}
}

void mcp_gtpc_txns_request(struct mcp_gtpc_txns *x, const struct mcp_gtpc_msg *m,
			   const struct mcp_pkt *pkt, uint64_t ts_ms)
{
	struct mcp_txn_key k;
	struct mcp_txn_q q;
	struct mcp_txn *t;
	uint32_t idx;

	mcp_txn_key(&k, m->version, m->seq, &pkt->src, pkt->sport, &pkt->dst);
	if (mcp_htab_find(&x->by_key, &k)) {
		x->stats->retransmissions++;
		return;
	}
	t = mcp_txn_alloc(x, &idx);
	if (!t) {
		x->stats->txn_full++;
		return;
	}
	if (mcp_htab_put(&x->by_key, &k, idx) < 0) {
		t->next_free = x->free_head;
		x->free_head = idx;
		x->stats->txn_full++;
		return;
	}
	t->key = k;
	t->ts_ms = ts_ms;
	t->used = 1;
	memcpy(&t->req, m, mcp_gtpc_msg_size(m));
	q.ts_ms = ts_ms;
	q.idx = idx;
	q.gen = t->gen;
	if (mcp_ring_push(&x->q_timeout, &q) < 0) { /* untracked timeout: drop it now */
		mcp_txn_release(x, t, idx);
		x->stats->txn_full++;
	}
}

int mcp_gtpc_txns_response(struct mcp_gtpc_txns *x, const struct mcp_gtpc_msg *m,
			   const struct mcp_pkt *pkt, uint64_t ts_ms,
			   struct mcp_gtpc_txn_match *match)
{
	struct mcp_txn_key k;
	struct mcp_txn *t;
	uint32_t *v, idx;

	mcp_txn_key(&k, m->version, m->seq, &pkt->dst, pkt->dport, &pkt->src);
	v = mcp_htab_find(&x->by_key, &k);
	if (!v) {
		x->stats->unmatched_responses++;
		return 0;
	}
	idx = *v;
	t = mcp_txn_at(x, idx);
	if (ts_ms > t->ts_ms + x->timeout_ms) {
		x->stats->timed_out_requests++;
		x->stats->unmatched_responses++;
		mcp_txn_release(x, t, idx);
		return 0;
	}
	if (t->req.type + 1 != m->type) {
		x->stats->unmatched_responses++;
		return 0;
	}
	x->matched = idx;
	match->req = &t->req;
	match->req_ip = &t->key.req_ip;
	match->rsp_ip = &t->key.rsp_ip;
	return 1;
}

void mcp_gtpc_txns_done(struct mcp_gtpc_txns *x)
{
	if (x->matched == MCP_TXN_NONE)
		return;
	mcp_txn_release(x, mcp_txn_at(x, x->matched), x->matched);
	x->matched = MCP_TXN_NONE;
}
