/* tcp_reasm.c - bounded in-order TCP stream reassembler (RFC 9293 sequence space).
 *
 * Connections live in a fixed array with hash chains; a full table evicts round robin.
 * Sequence numbers compare modulo 2^32. Out-of-order segments are copied (bounded count and
 * bytes per direction) and released as soon as the hole before them fills.
 */
#include "decode/tcp_reasm.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define NONE UINT32_MAX

struct conn_key {
	struct mcp_ip lo, hi;
	uint16_t lo_port, hi_port;
};

struct ooo_seg {
	uint32_t seq, len;
	uint8_t *data;
};

struct half {
	uint8_t init, fin;
	uint32_t next;       /* next sequence number to deliver */
	uint32_t nseg, pending;
	struct ooo_seg *segs; /* max_segments slots, allocated at the first out-of-order one */
	struct mcp_tcp_app *a; /* the connection's */
};

struct conn {
	struct conn_key k;
	uint8_t used, first_is_lo;
	uint32_t next;       /* hash chain */
	uint64_t last_ms;
	struct mcp_tcp_app a;
	struct half h[2];
};

struct mcp_tcp_reasm {
	struct mcp_tcp_reasm_cfg cfg;
	struct mcp_tcp_reasm_stats st;
	mcp_tcp_data_fn on_data;
	mcp_tcp_free_fn on_free;
	void *ctx;
	struct conn *conns;
	uint32_t *bucket, nbuckets, free_head, hand;
	uint32_t nused; /* expiry and destroy scan the slots only when some are in use */
	uint64_t last_expire_ms;
};

static inline int32_t seq_diff(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

struct mcp_tcp_reasm *mcp_tcp_reasm_create(const struct mcp_tcp_reasm_cfg *cfg,
					   mcp_tcp_data_fn on_data, mcp_tcp_free_fn on_free,
					   void *ctx)
{
	struct mcp_tcp_reasm *r = calloc(1, sizeof(*r));
	uint32_t i;

	if (!r)
		return NULL;
	if (cfg)
		r->cfg = *cfg;
	if (!r->cfg.max_conns)
		r->cfg.max_conns = 4096;
	if (!r->cfg.max_pending)
		r->cfg.max_pending = 65536;
	if (!r->cfg.max_segments)
		r->cfg.max_segments = 32;
	if (!r->cfg.idle_timeout_ms)
		r->cfg.idle_timeout_ms = 300000;
	r->on_data = on_data;
	r->on_free = on_free;
	r->ctx = ctx;
	for (r->nbuckets = 1; r->nbuckets < 2 * r->cfg.max_conns; r->nbuckets <<= 1)
		;
	r->conns = calloc(r->cfg.max_conns, sizeof(*r->conns));
	r->bucket = malloc(r->nbuckets * sizeof(*r->bucket));
	if (!r->conns || !r->bucket) {
		mcp_tcp_reasm_destroy(r);
		return NULL;
	}
	for (i = 0; i < r->nbuckets; i++)
		r->bucket[i] = NONE;
	for (i = 0; i < r->cfg.max_conns; i++)
		r->conns[i].next = i + 1 < r->cfg.max_conns ? i + 1 : NONE;
	r->free_head = 0;
	return r;
}

static void half_clear(struct mcp_tcp_reasm *r, struct half *h)
{
	for (uint32_t i = 0; i < h->nseg; i++)
		free(h->segs[i].data);
	free(h->segs);
	memset(h, 0, sizeof(*h));
}

static uint32_t key_bucket(const struct mcp_tcp_reasm *r, const struct conn_key *k)
{
	return (uint32_t)XXH3_64bits(k, sizeof(*k)) & (r->nbuckets - 1);
}

static void conn_free(struct mcp_tcp_reasm *r, uint32_t idx)
{
	struct conn *c = &r->conns[idx];
	uint32_t *pp = &r->bucket[key_bucket(r, &c->k)];

	while (*pp != NONE && *pp != idx)
		pp = &r->conns[*pp].next;
	if (*pp == idx)
		*pp = c->next;
	half_clear(r, &c->h[0]);
	half_clear(r, &c->h[1]);
	if (c->a.app && r->on_free)
		r->on_free(r->ctx, &c->a);
	c->a.app = NULL;
	c->used = 0;
	r->nused--;
	c->next = r->free_head;
	r->free_head = idx;
}

void mcp_tcp_reasm_destroy(struct mcp_tcp_reasm *r)
{
	if (!r)
		return;
	for (uint32_t i = 0; r->conns && r->nused && i < r->cfg.max_conns; i++)
		if (r->conns[i].used)
			conn_free(r, i);
	free(r->conns);
	free(r->bucket);
	free(r);
}

/* The connection of pkt, created if absent and may_create; *dir is pkt's direction in it. */
static struct conn *conn_get(struct mcp_tcp_reasm *r, const struct mcp_pkt *pkt, int *dir,
			     int may_create)
{
	struct conn_key k;
	int src_lo = memcmp(pkt->src.b, pkt->dst.b, 16) < 0 ||
		     (!memcmp(pkt->src.b, pkt->dst.b, 16) && pkt->sport <= pkt->dport);
	uint32_t b, idx;
	struct conn *c;

	memset(&k, 0, sizeof(k));
	k.lo = src_lo ? pkt->src : pkt->dst;
	k.hi = src_lo ? pkt->dst : pkt->src;
	k.lo_port = src_lo ? pkt->sport : pkt->dport;
	k.hi_port = src_lo ? pkt->dport : pkt->sport;
	b = key_bucket(r, &k);
	for (idx = r->bucket[b]; idx != NONE; idx = r->conns[idx].next)
		if (!memcmp(&r->conns[idx].k, &k, sizeof(k)))
			break;
	if (idx == NONE && !may_create)
		return NULL;
	if (idx == NONE) {
		if (r->free_head == NONE) { /* full: evict round robin, then take its slot */
			r->st.evicted++;
			r->st.table_full++;
			conn_free(r, r->hand);
			r->hand = (r->hand + 1) % r->cfg.max_conns;
		}
		idx = r->free_head;
		c = &r->conns[idx];
		r->free_head = c->next;
		memset(c, 0, sizeof(*c));
		c->k = k;
		c->used = 1;
		r->nused++;
		c->first_is_lo = (uint8_t)src_lo;
		c->h[0].a = c->h[1].a = &c->a;
		c->next = r->bucket[b];
		r->bucket[b] = idx;
		r->st.conns++;
	}
	c = &r->conns[idx];
	*dir = src_lo == c->first_is_lo ? 0 : 1;
	return c;
}

static void deliver(struct mcp_tcp_reasm *r, struct half *h, int dir, const uint8_t *p,
		    size_t n, const struct mcp_pkt *pkt)
{
	if (!n)
		return;
	h->next += (uint32_t)n;
	r->st.bytes_delivered += n;
	r->on_data(r->ctx, h->a, dir, p, n, pkt);
}

/* Releases held segments that the advancing next reached. */
static void drain(struct mcp_tcp_reasm *r, struct half *h, int dir, const struct mcp_pkt *pkt)
{
	int progress = 1;

	while (progress && h->nseg) {
		progress = 0;
		for (uint32_t i = 0; i < h->nseg; i++) {
			struct ooo_seg s = h->segs[i];
			int32_t off = seq_diff(h->next, s.seq);

			if (off < 0)
				continue;
			h->segs[i] = h->segs[--h->nseg];
			h->pending -= s.len;
			if ((uint32_t)off < s.len)
				deliver(r, h, dir, s.data + off, s.len - (uint32_t)off, pkt);
			free(s.data);
			progress = 1;
			break;
		}
	}
}

/* Gives up on the hole before the earliest held segment (or before seq). */
static void skip_gap(struct mcp_tcp_reasm *r, struct half *h, int dir, uint32_t seq,
		     const struct mcp_pkt *pkt)
{
	uint32_t to = seq;

	for (uint32_t i = 0; i < h->nseg; i++)
		if (seq_diff(h->segs[i].seq, to) < 0)
			to = h->segs[i].seq;
	r->st.gaps++;
	r->on_data(r->ctx, h->a, dir, NULL, (uint32_t)seq_diff(to, h->next), pkt);
	h->next = to;
	drain(r, h, dir, pkt);
}

static void hold(struct mcp_tcp_reasm *r, struct half *h, int dir, uint32_t seq,
		 const uint8_t *p, uint32_t n, const struct mcp_pkt *pkt)
{
	struct ooo_seg *s;

	r->st.out_of_order++;
	if (h->nseg == r->cfg.max_segments || h->pending + n > r->cfg.max_pending) {
		int32_t off;

		/* bounds met: the holes up to this segment will not be waited for (each round
		 * skips one hole and delivers a held segment, or reaches seq) */
		while (seq_diff(seq, h->next) > 0)
			skip_gap(r, h, dir, seq, pkt);
		off = seq_diff(h->next, seq);
		if ((uint32_t)off < n)
			deliver(r, h, dir, p + off, n - (uint32_t)off, pkt), drain(r, h, dir, pkt);
		return;
	}
	if (!h->segs && !(h->segs = calloc(r->cfg.max_segments, sizeof(*h->segs))))
		return;
	s = &h->segs[h->nseg];
	if (!(s->data = malloc(n)))
		return;
	memcpy(s->data, p, n);
	s->seq = seq;
	s->len = n;
	h->nseg++;
	h->pending += n;
}

static void segment_data(struct mcp_tcp_reasm *r, struct half *h, int dir, uint32_t seq,
			 const uint8_t *p, uint32_t n, const struct mcp_pkt *pkt)
{
	int32_t off = seq_diff(h->next, seq);

	if (off < 0) {
		hold(r, h, dir, seq, p, n, pkt);
		return;
	}
	if ((uint32_t)off >= n) {
		r->st.retransmitted_bytes += n;
		return;
	}
	r->st.retransmitted_bytes += (uint32_t)off;
	deliver(r, h, dir, p + off, n - (uint32_t)off, pkt);
	drain(r, h, dir, pkt);
}

int mcp_tcp_reasm_segment(struct mcp_tcp_reasm *r, const struct mcp_pkt *pkt, int may_create)
{
	uint32_t seq = pkt->tcp_seq, n = pkt->payload ? pkt->payload_len : 0;
	uint8_t fl = pkt->tcp_flags;
	struct conn *c;
	struct half *h;
	int dir;

	if (pkt->l4_proto != 6 || !(pkt->flags & MCP_PKTF_HAS_PORTS))
		return 0;
	c = conn_get(r, pkt, &dir, may_create);
	if (!c)
		return 0;
	r->st.segments++;
	c->last_ms = pkt->ts_us / 1000;
	h = &c->h[dir];
	if (fl & TCP_SYN) {
		h->init = 1;
		h->next = ++seq;
	} else if (!h->init) {
		h->init = 1;
		h->next = seq;
		if (!c->h[!dir].init)
			r->st.midstream++;
	}
	if (n)
		segment_data(r, h, dir, seq, pkt->payload, n, pkt);
	if (fl & TCP_FIN) {
		if (h->nseg) /* a hole nobody will fill: give it up, deliver what follows */
			skip_gap(r, h, dir, h->segs[0].seq, pkt);
		h->fin = 1;
	}
	if ((fl & TCP_RST) || (c->h[0].fin && c->h[1].fin))
		conn_free(r, (uint32_t)(c - r->conns));
	return 1;
}

void mcp_tcp_reasm_expire(struct mcp_tcp_reasm *r, uint64_t now_ms)
{
	if (now_ms < r->last_expire_ms + 1000)
		return;
	r->last_expire_ms = now_ms;
	for (uint32_t i = 0; r->nused && i < r->cfg.max_conns; i++) {
		struct conn *c = &r->conns[i];

		if (c->used && c->last_ms + r->cfg.idle_timeout_ms <= now_ms) {
			r->st.timed_out++;
			conn_free(r, i);
		}
	}
}

const struct mcp_tcp_reasm_stats *mcp_tcp_reasm_stats(const struct mcp_tcp_reasm *r)
{
	return &r->st;
}
