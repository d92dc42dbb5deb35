/* ipfrag.c - bounded IPv4/IPv6 fragment reassembly (RFC 791, RFC 8200 4.5, RFC 5722).
 *
 * A fixed array of max_dgrams entries, a chained hash over them and a list in arrival order
 * for timeouts. Each entry keeps the byte ranges received (no overlap allowed, so the datagram
 * is complete when the last fragment is known and the bytes received equal its end) and one
 * buffer laid out as [HDR_ROOM | payload]: the unfragmentable part is written right-aligned in
 * the room, so the completed datagram is contiguous without a second copy. Buffers are grown
 * with realloc and kept on the entry for reuse; the only per-packet copy is the fragment data.
 * The completed datagram's buffer is swapped with a per-level output buffer, so the outer
 * datagram stays valid while an inner datagram found in it is reassembled.
 */
#include "decode/ipfrag.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NIL UINT32_MAX
#define IP_MAX_LEN 65535u
#define KEEP_BUF_MAX (16u * 1024) /* larger buffers are freed when their entry is released */

struct frag_range {
	uint32_t start, end;
};

struct frag_ent {
	struct mcp_ipfrag_key key;
	uint64_t first_ts;
	uint32_t hnext;           /* hash chain */
	uint32_t prev, next;      /* arrival list, or free list (next) */
	uint32_t total;           /* payload length, known once the last fragment arrived */
	uint32_t have;            /* payload bytes received */
	uint32_t hdr_len;         /* unfragmentable part, 0 until the offset-0 fragment arrived */
	uint32_t wire_pkts, wire_bytes; /* fragments seen and their IP lengths (wire count) */
	uint16_t nranges;
	uint8_t has_last;
	uint8_t used;
	uint8_t *buf;
	uint32_t cap;
	struct frag_range r[MCP_IPFRAG_MAX_PIECES];
};

struct mcp_ipfrag {
	uint32_t max;
	uint32_t nbuckets; /* power of two */
	uint64_t timeout_us;
	uint32_t *bucket;
	struct frag_ent *ent;
	/* Free entries: the released ones, then ent[used_hw..max) never used (linking all of
	 * them at create touched the whole table, 2.4 MiB of page faults at every start) */
	uint32_t free_head, used_hw;
	uint32_t head, tail; /* oldest first */
	uint32_t pending;
	uint64_t drops;
	uint8_t *out[MCP_IPFRAG_LEVELS];
	uint32_t out_cap[MCP_IPFRAG_LEVELS];
	uint32_t out_pkts[MCP_IPFRAG_LEVELS], out_bytes[MCP_IPFRAG_LEVELS];
};

struct mcp_ipfrag *mcp_ipfrag_create(uint32_t max_dgrams, uint32_t timeout_ms)
{
	struct mcp_ipfrag *f;
	uint32_t i;

	if (!max_dgrams)
		max_dgrams = 1;
	if (max_dgrams > (1u << 24))
		max_dgrams = 1u << 24;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->max = max_dgrams;
	f->timeout_us = (uint64_t)timeout_ms * 1000;
	f->nbuckets = 16;
	while (f->nbuckets < 2 * max_dgrams)
		f->nbuckets <<= 1;
	f->bucket = malloc(sizeof(*f->bucket) * f->nbuckets);
	f->ent = calloc(max_dgrams, sizeof(*f->ent));
	if (!f->bucket || !f->ent) {
		mcp_ipfrag_destroy(f);
		return NULL;
	}
	for (i = 0; i < f->nbuckets; i++)
		f->bucket[i] = NIL;
	f->free_head = NIL;
	f->head = f->tail = NIL;
	return f;
}

void mcp_ipfrag_destroy(struct mcp_ipfrag *f)
{
	uint32_t i;

	if (!f)
		return;
	if (f->ent)
		for (i = 0; i < f->used_hw; i++) /* the rest never held a buffer */
			free(f->ent[i].buf);
	for (i = 0; i < MCP_IPFRAG_LEVELS; i++)
		free(f->out[i]);
	free(f->ent);
	free(f->bucket);
	free(f);
}

uint64_t mcp_ipfrag_take_drops(struct mcp_ipfrag *f)
{
	uint64_t n = f->drops;

	f->drops = 0;
	return n;
}

uint32_t mcp_ipfrag_pending(const struct mcp_ipfrag *f)
{
	return f->pending;
}

static uint32_t key_hash(const struct mcp_ipfrag_key *k)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ k->id ^ ((uint64_t)k->ctx << 16) ^
		     ((uint64_t)k->proto << 32) ^
		     ((uint64_t)k->level << 40) ^ ((uint64_t)k->version << 48);
	uint64_t w;
	int i;

	for (i = 0; i < 16; i += 8) {
		memcpy(&w, k->src.b + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		memcpy(&w, k->dst.b + i, 8);
		h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
	}
	h ^= h >> 29;
	return (uint32_t)h;
}

static int key_eq(const struct mcp_ipfrag_key *a, const struct mcp_ipfrag_key *b)
{
	return a->id == b->id && a->ctx == b->ctx && a->proto == b->proto &&
	       a->version == b->version && a->level == b->level && !mcp_ip_cmp(&a->src, &b->src) &&
	       !mcp_ip_cmp(&a->dst, &b->dst);
}

static void list_unlink(struct mcp_ipfrag *f, uint32_t i)
{
	struct frag_ent *e = &f->ent[i];

	if (e->prev != NIL)
		f->ent[e->prev].next = e->next;
	else
		f->head = e->next;
	if (e->next != NIL)
		f->ent[e->next].prev = e->prev;
	else
		f->tail = e->prev;
}

/* Removes entry i from the hash and the arrival list and puts it on the free list. */
static void ent_release(struct mcp_ipfrag *f, uint32_t i)
{
	struct frag_ent *e = &f->ent[i];
	uint32_t *pp = &f->bucket[key_hash(&e->key) & (f->nbuckets - 1)];

	while (*pp != NIL && *pp != i)
		pp = &f->ent[*pp].hnext;
	if (*pp == i)
		*pp = e->hnext;
	list_unlink(f, i);
	if (e->cap > KEEP_BUF_MAX) {
		free(e->buf);
		e->buf = NULL;
		e->cap = 0;
	}
	e->used = 0;
	e->next = f->free_head;
	f->free_head = i;
	f->pending--;
}

static void expire(struct mcp_ipfrag *f, uint64_t now)
{
	while (f->head != NIL && f->ent[f->head].first_ts + f->timeout_us < now) {
		ent_release(f, f->head);
		f->drops++;
	}
}

static uint32_t ent_find_or_add(struct mcp_ipfrag *f, const struct mcp_ipfrag_key *k,
				uint64_t now)
{
	uint32_t b = key_hash(k) & (f->nbuckets - 1);
	uint32_t i;
	struct frag_ent *e;

	for (i = f->bucket[b]; i != NIL; i = f->ent[i].hnext)
		if (key_eq(&f->ent[i].key, k))
			return i;
	if (f->free_head == NIL && f->used_hw < f->max) {
		i = f->used_hw++;
		e = &f->ent[i];
	} else {
		if (f->free_head == NIL) {
			/* Table full: evict the oldest datagram, it is the least likely to
			 * complete. */
			ent_release(f, f->head);
			f->drops++;
		}
		i = f->free_head;
		e = &f->ent[i];
		f->free_head = e->next;
	}
	e->key = *k;
	e->first_ts = now;
	e->total = e->have = e->hdr_len = 0;
	e->wire_pkts = e->wire_bytes = 0;
	e->nranges = 0;
	e->has_last = 0;
	e->used = 1;
	e->hnext = f->bucket[b];
	f->bucket[b] = i;
	e->prev = f->tail;
	e->next = NIL;
	if (f->tail != NIL)
		f->ent[f->tail].next = i;
	else
		f->head = i;
	f->tail = i;
	f->pending++;
	return i;
}

static int buf_reserve(uint8_t **buf, uint32_t *cap, uint32_t need)
{
	uint32_t n = *cap ? *cap : 2048;
	uint8_t *nb;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	nb = realloc(*buf, n);
	if (!nb)
		return -ENOMEM;
	*buf = nb;
	*cap = n;
	return 0;
}

static void ip4_fix_header(uint8_t *h, uint32_t hlen, uint32_t tot)
{
	uint32_t sum = 0, i;

	h[2] = (uint8_t)(tot >> 8);
	h[3] = (uint8_t)tot;
	h[6] &= 0x40; /* keep DF, clear MF and the offset */
	h[7] = 0;
	h[10] = h[11] = 0;
	for (i = 0; i + 1 < hlen; i += 2)
		sum += (uint32_t)h[i] << 8 | h[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;
	h[10] = (uint8_t)(sum >> 8);
	h[11] = (uint8_t)sum;
}

/* Checks the new range against the received ones. 1 = exact duplicate, 0 = new, -1 = overlap */
static int range_check(const struct frag_ent *e, uint32_t start, uint32_t end)
{
	uint16_t i;

	for (i = 0; i < e->nranges; i++) {
		if (e->r[i].start == start && e->r[i].end == end)
			return 1;
		if (start < e->r[i].end && e->r[i].start < end)
			return -1;
	}
	return 0;
}

/* Largest payload a datagram with this unfragmentable part may carry. */
static uint32_t payload_max(const struct mcp_ipfrag_key *k, uint32_t hdr_len)
{
	if (k->version == 4)
		return IP_MAX_LEN - (hdr_len ? hdr_len : 20);
	return IP_MAX_LEN - (hdr_len > 40 ? hdr_len - 40 : 0);
}

/* Does the piece fit what is known of its datagram? 0 yes, -1 no (the datagram is dropped). */
static int piece_fits(const struct frag_ent *e, const struct mcp_ipfrag_key *key,
		      const struct mcp_ipfrag_piece *pc, uint32_t end)
{
	/* Non-last fragments carry a multiple of 8 bytes (RFC 791, RFC 8200). */
	if ((pc->more && (pc->len == 0 || (pc->len & 7))) || pc->offset > IP_MAX_LEN)
		return -1;
	if (pc->offset == 0 && (pc->hdr_len > MCP_IPFRAG_HDR_ROOM || pc->hdr_len < 20))
		return -1;
	if (end > payload_max(key, pc->offset == 0 ? pc->hdr_len : e->hdr_len))
		return -1;
	if (e->has_last && end > e->total)
		return -1;
	if (!pc->more) {
		if (e->has_last && e->total != end)
			return -1;
		for (uint16_t j = 0; j < e->nranges; j++)
			if (e->r[j].end > end)
				return -1;
	}
	return 0;
}

/* Copies the piece (and the first fragment's header) into the entry. 0, or -1 to drop. */
static int piece_store(struct frag_ent *e, const struct mcp_ipfrag_key *key,
		       const struct mcp_ipfrag_piece *pc, uint32_t end)
{
	if (pc->len)
		memcpy(e->buf + MCP_IPFRAG_HDR_ROOM + pc->offset, pc->data, pc->len);
	if (pc->offset == 0) {
		memcpy(e->buf + MCP_IPFRAG_HDR_ROOM - pc->hdr_len, pc->hdr, pc->hdr_len);
		e->hdr_len = pc->hdr_len;
		if (key->version == 6) {
			if (pc->nh_off >= pc->hdr_len)
				return -1;
			e->buf[MCP_IPFRAG_HDR_ROOM - pc->hdr_len + pc->nh_off] = pc->next_proto;
		}
	}
	e->r[e->nranges].start = pc->offset;
	e->r[e->nranges].end = end;
	e->nranges++;
	e->have += pc->len;
	if (!pc->more) {
		e->has_last = 1;
		e->total = end;
	}
	return 0;
}

/* Complete: finish the header, hand the buffer out, keep the old output buffer. 1 with *out
 * set, or -1 when the datagram would be too long. */
static int datagram_finish(struct mcp_ipfrag *f, uint32_t i, const struct mcp_ipfrag_key *key,
			   uint32_t lvl, const uint8_t **out, uint32_t *out_len)
{
	struct frag_ent *e = &f->ent[i];
	uint8_t *hdr = e->buf + MCP_IPFRAG_HDR_ROOM - e->hdr_len, *tmp;
	uint32_t tot = e->hdr_len + e->total, tcap;

	if ((key->version == 4 && tot > IP_MAX_LEN) || (key->version == 6 && tot - 40 > IP_MAX_LEN))
		return -1;
	if (key->version == 4) {
		ip4_fix_header(hdr, e->hdr_len, tot);
	} else {
		hdr[4] = (uint8_t)((tot - 40) >> 8);
		hdr[5] = (uint8_t)(tot - 40);
	}
	tmp = f->out[lvl];
	tcap = f->out_cap[lvl];
	f->out[lvl] = e->buf;
	f->out_cap[lvl] = e->cap;
	e->buf = tmp;
	e->cap = tcap;
	f->out_pkts[lvl] = e->wire_pkts;
	f->out_bytes[lvl] = e->wire_bytes;
	ent_release(f, i);
	*out = hdr;
	*out_len = tot;
	return 1;
}

int mcp_ipfrag_add(struct mcp_ipfrag *f, const struct mcp_ipfrag_key *key,
		   const struct mcp_ipfrag_piece *pc, uint64_t ts_us, const uint8_t **out,
		   uint32_t *out_len)
{
	uint32_t end = pc->offset + pc->len;
	uint32_t i, lvl = key->level < MCP_IPFRAG_LEVELS ? key->level : MCP_IPFRAG_LEVELS - 1;
	struct frag_ent *e;
	int rc;

	expire(f, ts_us);
	i = ent_find_or_add(f, key, ts_us);
	e = &f->ent[i];
	if (piece_fits(e, key, pc, end) < 0)
		goto drop;
	rc = range_check(e, pc->offset, end);
	if (rc < 0)
		goto drop;
	e->wire_pkts++;
	e->wire_bytes += pc->wire_len;
	if (rc > 0)
		return 0; /* exact duplicate: keep the first copy (it still was a packet) */
	if (e->nranges >= MCP_IPFRAG_MAX_PIECES)
		goto drop;
	if (buf_reserve(&e->buf, &e->cap, MCP_IPFRAG_HDR_ROOM + end))
		goto drop;
	if (piece_store(e, key, pc, end) < 0)
		goto drop;
	if (!e->has_last || e->have != e->total || !e->hdr_len)
		return 0;
	if (datagram_finish(f, i, key, lvl, out, out_len) < 0)
		goto drop;
	return 1;

drop:
	ent_release(f, i);
	return -EBADMSG;
}

void mcp_ipfrag_last_wire(const struct mcp_ipfrag *f, uint8_t level, uint32_t *pkts,
			  uint32_t *bytes)
{
	uint32_t lvl = level < MCP_IPFRAG_LEVELS ? level : MCP_IPFRAG_LEVELS - 1;

	*pkts = f->out_pkts[lvl];
	*bytes = f->out_bytes[lvl];
}
