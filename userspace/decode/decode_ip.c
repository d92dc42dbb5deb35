/* decode_ip.c - IPv4/IPv6 header, fragment hand-off and L4 header decoding.
 *
 * RFC 791 (IPv4), RFC 8200 (IPv6 and extension headers), RFC 4302 (AH), RFC 9293 (TCP),
 * RFC 768 (UDP), RFC 9260 (SCTP), RFC 792/4443 (ICMP/ICMPv6), RFC 2784 (GRE).
 *
 *  IPv4: 0 ver|IHL  1 TOS  2-3 total length  4-5 id  6-7 flags|offset  8 TTL  9 proto
 *        10-11 checksum  12-15 src  16-19 dst  [options up to IHL*4]
 *  IPv6: 0-3 ver|class|flow  4-5 payload length  6 next header  7 hop limit  8-23 src  24-39 dst
 *        ext header: 0 next header  1 length (8-octet units beyond the first 8; AH: 4-octet
 *        units minus 2)   Fragment: 0 next  1 reserved  2-3 offset|M  4-7 id
 *
 * Truncated (the capture ended) and invalid (a length field is wrong) are separate outcomes.
 * A capture that ends inside L4 still yields user traffic with what is known.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "decode/decode_internal.h"

/* mcp_ip_from_v4() built in a register and stored once: the GTP-U path reads the address
 * back as 16 bytes (outer_src), and piecewise stores would stall that load. */
static inline void ip_from_v4(struct mcp_ip *dst, const uint8_t *v4)
{
	struct mcp_ip t = { { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff } };

	memcpy(t.b + 12, v4, 4);
	*dst = t;
}

/* Tunnel context of an inner fragment: which GTP-U tunnel carried it. */
static uint32_t tun_ctx(const struct mcp_pkt *pkt)
{
	uint32_t h = pkt->teid * 2654435761u + 1, w;
	int i;

	for (i = 0; i < 16; i += 4) {
		memcpy(&w, pkt->outer_src.b + i, 4);
		h = (h ^ w) * 0x9e3779b1u;
		memcpy(&w, pkt->outer_dst.b + i, 4);
		h = (h ^ w) * 0x85ebca6bu;
	}
	return h ^ (h >> 15);
}

static int dec_frag(struct mcp_decoder *d, struct mcp_pkt *pkt, const struct mcp_ipfrag_key *k,
		    const struct mcp_ipfrag_piece *pc, uint64_t ts_us, const uint8_t **out,
		    uint32_t *out_len)
{
	int rc = mcp_ipfrag_add(d->frag, k, pc, ts_us, out, out_len);

	d->st.malformed[MCP_PARSE_FRAG_DROPPED] += mcp_ipfrag_take_drops(d->frag);
	if (rc < 0)
		return mcp_dec_fail(d, pkt, MCP_PARSE_FRAG_DROPPED);
	if (rc == 0) {
		pkt->kind = MCP_PKT_FRAG_HELD;
		return MCP_PKT_FRAG_HELD;
	}
	pkt->flags |= MCP_PKTF_REASSEMBLED;
	d->st.layer[MCP_LAYER_REASSEMBLED]++;
	{
		uint32_t n, bytes;

		/* an outer datagram's count is replaced (by 0) when its inner packet is decoded */
		mcp_ipfrag_last_wire(d->frag, k->level, &n, &bytes);
		pkt->frag_pkts = (uint16_t)(n > UINT16_MAX ? UINT16_MAX : n);
		pkt->frag_bytes = bytes;
	}
	return MCP_DEC_CONT;
}

static int dec_ip4(struct mcp_decoder *d, struct mcp_pkt *pkt, const uint8_t *p, uint32_t caplen,
		   uint64_t ts_us, int level, struct mcp_l4 *l4)
{
	struct mcp_rd r = mcp_rd_init(p, caplen);
	uint32_t ihl, tot, avail;
	uint16_t id, frag;
	uint8_t proto;
	const uint8_t *src, *dst;
	int rc;

	if (caplen < 20)
		return mcp_dec_fail(d, pkt, MCP_PARSE_TRUNC_IP4);
	ihl = (mcp_rd_u8(&r) & 0x0f) * 4u;
	mcp_rd_skip(&r, 1);
	tot = mcp_rd_be16(&r);
	id = mcp_rd_be16(&r);
	frag = mcp_rd_be16(&r);
	mcp_rd_skip(&r, 1);
	proto = mcp_rd_u8(&r);
	mcp_rd_skip(&r, 2);
	src = mcp_rd_bytes(&r, 4);
	dst = mcp_rd_bytes(&r, 4);
	if (r.err)
		return mcp_dec_fail(d, pkt, MCP_PARSE_TRUNC_IP4);
	if (ihl < 20)
		return mcp_dec_fail(d, pkt, MCP_PARSE_BAD_IP4_HLEN);
	if (tot < 20)
		return mcp_dec_fail(d, pkt, MCP_PARSE_BAD_IP_LEN);
	if (ihl > tot)
		return mcp_dec_fail(d, pkt, MCP_PARSE_BAD_IP4_HLEN);
	if (ihl > caplen)
		return mcp_dec_fail(d, pkt, MCP_PARSE_TRUNC_IP4);
	d->st.layer[MCP_LAYER_IPV4]++;
	pkt->ip_version = 4;
	pkt->l4_proto = proto;
	ip_from_v4(&pkt->src, src);
	ip_from_v4(&pkt->dst, dst);
	avail = mcp_min_u32(caplen, tot);

	if (frag & 0x3fff) {
		struct mcp_ipfrag_key k = { .src = pkt->src, .dst = pkt->dst, .id = id,
					    .ctx = level ? tun_ctx(pkt) : 0, .proto = proto,
					    .version = 4, .level = (uint8_t)level };
		struct mcp_ipfrag_piece pc = { .hdr = p, .hdr_len = ihl, .more = !!(frag & 0x2000),
					       .offset = (frag & 0x1fffu) * 8, .data = p + ihl,
					       .len = tot - ihl, .wire_len = tot };

		d->st.layer[MCP_LAYER_IPV4_FRAG]++;
		pkt->l3 = p;
		pkt->l3_caplen = avail;
		pkt->ip_len = tot;
		if (avail < tot) /* the capture cut the fragment: it can never complete */
			return mcp_dec_fail(d, pkt, MCP_PARSE_FRAG_DROPPED);
		rc = dec_frag(d, pkt, &k, &pc, ts_us, &p, &tot);
		if (rc != MCP_DEC_CONT)
			return rc;
		avail = tot;
	}
	pkt->l3 = p;
	pkt->l3_caplen = avail;
	pkt->ip_len = tot;
	l4->p = p + ihl;
	l4->caplen = avail - ihl;
	l4->len = tot - ihl;
	return MCP_DEC_CONT;
}

/* Length of the IPv6 extension header nh at p (2 bytes readable), 0 if nh is not one. */
static inline uint32_t ip6_ext_len(uint8_t nh, const uint8_t *p)
{
	switch (nh) {
	case IPPROTO_HOPOPTS:
	case IPPROTO_ROUTING:
	case IPPROTO_DSTOPTS:
	case 139: /* HIP */
	case 140: /* Shim6 */
		return ((uint32_t)p[1] + 1) * 8;
	case IPPROTO_AH:
		return ((uint32_t)p[1] + 2) * 4;
	case IPPROTO_FRAGMENT:
		return 8;
	default:
		return 0;
	}
}

static inline int ip6_is_ext(uint8_t nh)
{
	return nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING || nh == IPPROTO_DSTOPTS ||
	       nh == IPPROTO_AH || nh == IPPROTO_FRAGMENT || nh == 139 || nh == 140;
}

#define FRAG_DONE (-2) /* dec_ip6_frag(): reassembled, *p and *tot replaced */

/* Fragment header e at offset off of the IPv6 packet *p (nh_off: the byte naming it). Sets
 * *nh to the next header. An atomic fragment (RFC 6946) is skipped (MCP_DEC_CONT). */
static int dec_ip6_frag(struct mcp_decoder *d, struct mcp_pkt *pkt, struct mcp_rd *e,
			const uint8_t **p, uint32_t off, uint32_t nh_off, uint32_t *tot,
			uint64_t ts_us, int level, uint8_t *nh)
{
	struct mcp_ipfrag_key k = { .src = pkt->src, .dst = pkt->dst, .version = 6,
				    .level = (uint8_t)level };
	struct mcp_ipfrag_piece pc = { .hdr = *p, .hdr_len = off, .nh_off = nh_off };
	uint16_t fo;
	int rc;

	*nh = pc.next_proto = mcp_rd_u8(e);
	mcp_rd_skip(e, 1);
	fo = mcp_rd_be16(e);
	k.id = mcp_rd_be32(e);
	d->st.layer[MCP_LAYER_IPV6_FRAG]++;
	if (!(fo & 0xfff9))
		return MCP_DEC_CONT;
	k.ctx = level ? tun_ctx(pkt) : 0;
	pc.more = fo & 1;
	pc.offset = fo & 0xfff8u;
	pc.data = *p + off + 8;
	pc.len = *tot - off - 8;
	pc.wire_len = *tot;
	if (pkt->l3_caplen < *tot)
		return mcp_dec_fail(d, pkt, MCP_PARSE_FRAG_DROPPED);
	rc = dec_frag(d, pkt, &k, &pc, ts_us, p, tot);
	if (rc != MCP_DEC_CONT)
		return rc;
	pkt->l3 = *p;
	pkt->l3_caplen = *tot;
	pkt->ip_len = *tot;
	return FRAG_DONE;
}

static int dec_ip6(struct mcp_decoder *d, struct mcp_pkt *pkt, const uint8_t *p, uint32_t caplen,
		   uint64_t ts_us, int level, struct mcp_l4 *l4)
{
	struct mcp_rd r = mcp_rd_init(p, caplen);
	uint32_t tot, avail, off = 40, nh_off = 6, hl;
	uint8_t nh;
	int i, rc;

	if (caplen < 40)
		return mcp_dec_fail(d, pkt, MCP_PARSE_TRUNC_IP6);
	mcp_rd_skip(&r, 4);
	tot = 40u + mcp_rd_be16(&r);
	nh = mcp_rd_u8(&r);
	mcp_rd_skip(&r, 1);
	mcp_ip_from_v6(&pkt->src, mcp_rd_bytes(&r, 16));
	mcp_ip_from_v6(&pkt->dst, mcp_rd_bytes(&r, 16));
	d->st.layer[MCP_LAYER_IPV6]++;
	pkt->ip_version = 6;
	avail = mcp_min_u32(caplen, tot);
	pkt->l3 = p;
	pkt->l3_caplen = avail;
	pkt->ip_len = tot;

	for (i = 0; ip6_is_ext(nh); i++) {
		struct mcp_rd e;

		if (i >= MCP_IP6_MAX_EXT)
			return mcp_dec_fail(d, pkt, MCP_PARSE_BAD_IP6_EXT);
		if (off + 2 > tot)
			return mcp_dec_fail(d, pkt, MCP_PARSE_BAD_IP6_EXT);
		if (off + 2 > avail)
			return mcp_dec_fail(d, pkt, MCP_PARSE_TRUNC_IP6);
		hl = ip6_ext_len(nh, p + off);
		if (off + hl > tot)
			return mcp_dec_fail(d, pkt, MCP_PARSE_BAD_IP6_EXT);
		if (off + hl > avail)
			return mcp_dec_fail(d, pkt, MCP_PARSE_TRUNC_IP6);
		e = mcp_rd_init(p + off, hl);
		if (nh == IPPROTO_FRAGMENT) {
			rc = dec_ip6_frag(d, pkt, &e, &p, off, nh_off, &tot, ts_us, level, &nh);
			if (rc == FRAG_DONE) {
				/* Fragment header gone: go on after the unfragmentable part */
				avail = tot;
				continue;
			}
			if (rc != MCP_DEC_CONT)
				return rc;
		} else {
			nh = mcp_rd_u8(&e);
		}
		nh_off = off;
		off += hl;
	}
	pkt->l4_proto = nh;
	l4->p = p + off;
	l4->caplen = avail - off;
	l4->len = tot - off;
	return MCP_DEC_CONT;
}

int mcp_dec_ip(struct mcp_decoder *d, struct mcp_pkt *pkt, const uint8_t *p, uint32_t caplen,
	       int want_version, uint64_t ts_us, int level, struct mcp_l4 *l4)
{
	int v;

	if (!caplen)
		return mcp_dec_fail(d, pkt, want_version == 6 ? MCP_PARSE_TRUNC_IP6 :
								MCP_PARSE_TRUNC_IP4);
	v = p[0] >> 4;
	if (want_version && v != want_version)
		return mcp_dec_fail(d, pkt, MCP_PARSE_BAD_IP_VERSION);
	if (v == 4)
		return dec_ip4(d, pkt, p, caplen, ts_us, level, l4);
	if (v == 6)
		return dec_ip6(d, pkt, p, caplen, ts_us, level, l4);
	return mcp_dec_fail(d, pkt, MCP_PARSE_BAD_IP_VERSION);
}

/* The capture ended inside the L4 header: still user traffic, flagged and counted. */
static int l4_trunc(struct mcp_decoder *d, struct mcp_pkt *pkt)
{
	d->st.malformed[MCP_PARSE_TRUNC_L4]++;
	pkt->flags |= MCP_PKTF_L4_TRUNC;
	return MCP_DEC_CONT;
}

static inline void set_payload(struct mcp_pkt *pkt, const struct mcp_l4 *l4, uint32_t hlen)
{
	if (l4->caplen > hlen) {
		pkt->payload = l4->p + hlen;
		pkt->payload_len = l4->caplen - hlen;
	}
}

int mcp_dec_l4(struct mcp_decoder *d, struct mcp_pkt *pkt, struct mcp_l4 *l4)
{
	struct mcp_rd r = mcp_rd_init(l4->p, l4->caplen);
	uint32_t hlen, ulen;

	switch (pkt->l4_proto) {
	case IPPROTO_TCP:
		d->st.layer[MCP_LAYER_TCP]++;
		if (l4->len < 20)
			return mcp_dec_fail(d, pkt, MCP_PARSE_BAD_TCP_HLEN);
		if (l4->caplen < 20)
			return l4_trunc(d, pkt);
		pkt->sport = mcp_rd_be16(&r);
		pkt->dport = mcp_rd_be16(&r);
		pkt->tcp_seq = mcp_rd_be32(&r);
		mcp_rd_skip(&r, 4);
		hlen = (mcp_rd_u8(&r) >> 4) * 4u;
		pkt->tcp_flags = mcp_rd_u8(&r);
		if (hlen < 20 || hlen > l4->len)
			return mcp_dec_fail(d, pkt, MCP_PARSE_BAD_TCP_HLEN);
		pkt->flags |= MCP_PKTF_HAS_PORTS;
		set_payload(pkt, l4, hlen);
		return MCP_DEC_CONT;
	case IPPROTO_UDP:
		d->st.layer[MCP_LAYER_UDP]++;
		if (l4->len < 8)
			return mcp_dec_fail(d, pkt, MCP_PARSE_BAD_UDP_LEN);
		if (l4->caplen < 8)
			return l4_trunc(d, pkt);
		pkt->sport = mcp_rd_be16(&r);
		pkt->dport = mcp_rd_be16(&r);
		ulen = mcp_rd_be16(&r);
		if (ulen < 8 || ulen > l4->len)
			return mcp_dec_fail(d, pkt, MCP_PARSE_BAD_UDP_LEN);
		pkt->flags |= MCP_PKTF_HAS_PORTS;
		l4->app_len = ulen - 8;
		if (l4->caplen > 8) {
			pkt->payload = l4->p + 8;
			pkt->payload_len = mcp_min_u32(l4->caplen, ulen) - 8;
		}
		return MCP_DEC_CONT;
	case IPPROTO_SCTP:
		d->st.layer[MCP_LAYER_SCTP]++;
		if (l4->caplen < 12)
			return l4_trunc(d, pkt);
		pkt->sport = mcp_rd_be16(&r);
		pkt->dport = mcp_rd_be16(&r);
		pkt->flags |= MCP_PKTF_HAS_PORTS;
		set_payload(pkt, l4, 12);
		return MCP_DEC_CONT;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		d->st.layer[pkt->l4_proto == IPPROTO_ICMP ? MCP_LAYER_ICMP : MCP_LAYER_ICMPV6]++;
		if (l4->caplen < 4)
			return l4_trunc(d, pkt);
		pkt->sport = mcp_rd_be16(&r); /* type << 8 | code */
		if (mcp_icmp_is_echo(pkt->l4_proto, pkt->sport) && l4->caplen >= 8) {
			mcp_rd_skip(&r, 2);
			pkt->dport = mcp_rd_be16(&r); /* echo identifier: pairs request and reply */
		}
		set_payload(pkt, l4, 8);
		return MCP_DEC_CONT;
	case IPPROTO_GRE:
		d->st.layer[MCP_LAYER_GRE]++;
		if (l4->caplen < 4)
			return l4_trunc(d, pkt);
		set_payload(pkt, l4, 0);
		return MCP_DEC_CONT;
	default:
		d->st.layer[MCP_LAYER_OTHER_L4]++;
		set_payload(pkt, l4, 0);
		return MCP_DEC_CONT;
	}
}
