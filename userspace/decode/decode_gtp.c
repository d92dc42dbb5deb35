/* decode_gtp.c - GTP on UDP: GTP-U (one level of decapsulation), GTP-C and GTP' recognition.
 *
 * TS 29.281 (GTP-U), TS 29.060 (GTPv1-C), TS 29.274 (GTPv2-C), TS 32.295 (GTP'),
 * TS 38.415 (PDU Session Container).
 *
 *  GTPv1-U: 0 ver(3) PT E S PN  1 type  2-3 length (after byte 8)  4-7 TEID
 *           [8-9 seq  10 N-PDU  11 next ext type]   when any of E/S/PN
 *  ext hdr: 0 length (4-octet units, 0 invalid)  1..4n-2 content  4n-1 next ext type
 *  PDU Session Container content: 0 PDU type(4) ...   1 ... QFI(6)
 *
 * GTP-U is recognised on the configured port. Destination port match is trusted (a bad header
 * there is malformed GTP-U); a source-port-only match must prove itself (version 1, PT 1, known
 * message type, length equal to the UDP payload, and for a T-PDU an IP packet of exactly the
 * remaining length), otherwise the datagram is ordinary UDP (zeek gtp3_false_gtp: DNS from 2152).
 */
#include <string.h>

#include "decode/decode_internal.h"
#include "mcp_gtp.h"

#define NOT_GTP (-2)

static inline int gtpu_type_known(uint8_t t)
{
	return t == MCP_GTPU_ECHO_REQ || t == MCP_GTPU_ECHO_RSP || t == MCP_GTPU_ERROR_IND ||
	       t == MCP_GTPU_SUPP_EXT || t == MCP_GTPU_END_MARKER || t == MCP_GTPU_TPDU;
}

/* For a source-port match: does the T-PDU payload look like one whole IP packet? */
static int inner_consistent(const uint8_t *p, uint32_t cap, uint32_t claimed)
{
	struct mcp_rd r = mcp_rd_init(p, cap);
	uint8_t v = mcp_rd_u8(&r) >> 4;

	if (v == 4) {
		mcp_rd_skip(&r, 1);
		return mcp_rd_be16(&r) == claimed && !r.err;
	}
	if (v == 6) {
		mcp_rd_skip(&r, 3);
		return 40u + mcp_rd_be16(&r) == claimed && !r.err;
	}
	return 0;
}

static void count_signal(struct mcp_decoder *d, uint8_t type)
{
	switch (type) {
	case MCP_GTPU_ECHO_REQ:
	case MCP_GTPU_ECHO_RSP:
		d->st.layer[MCP_LAYER_GTPU_ECHO]++;
		break;
	case MCP_GTPU_ERROR_IND:
		d->st.layer[MCP_LAYER_GTPU_ERROR_IND]++;
		break;
	case MCP_GTPU_END_MARKER:
		d->st.layer[MCP_LAYER_GTPU_END_MARKER]++;
		break;
	default:
		d->st.layer[MCP_LAYER_GTPU_OTHER]++;
		break;
	}
}

struct gtpu_ext {
	uint32_t hlen;  /* GTP-U header length including optional fields and extensions */
	int n;          /* extension headers seen */
	int psc;        /* a PDU Session Container was seen */
	uint8_t pdu_type, qfi;
};

/* Walks the extension header chain starting at x->hlen, first type next. Returns -1 when
 * the chain is sound, or the parse reason. */
static int gtpu_ext_walk(const uint8_t *msg, uint32_t cap, uint32_t end, uint8_t next,
			 struct gtpu_ext *x)
{
	uint32_t off = x->hlen, el;

	while (next != MCP_GTPU_EXT_NONE) {
		struct mcp_rd r;

		if (++x->n > MCP_GTPU_MAX_EXT || off + 1 > end)
			return MCP_PARSE_BAD_GTPU_EXT;
		if (off + 1 > cap)
			return MCP_PARSE_TRUNC_GTPU;
		el = msg[off] * 4u;
		if (!el || off + el > end)
			return MCP_PARSE_BAD_GTPU_EXT;
		if (off + el > cap)
			return MCP_PARSE_TRUNC_GTPU;
		r = mcp_rd_init(msg + off + 1, el - 1);
		if (next == MCP_GTPU_EXT_PDU_SESSION && el >= 4) {
			x->pdu_type = mcp_rd_u8(&r) >> 4;
			x->qfi = mcp_rd_u8(&r) & 0x3f;
			x->psc = 1;
		}
		next = msg[off + el - 1];
		off += el;
	}
	x->hlen = off;
	return -1;
}

/* The GTP-U header as read so far. */
struct gtpu_view {
	const uint8_t *msg;
	uint32_t cap;   /* bytes captured from the GTP-U header on */
	uint32_t end;   /* 8 + length field: where the message ends */
	uint8_t flags, type, next;
};

/* Fixed header (8 bytes): version, type, length, TEID. Once it is GTP-U the packet names its
 * tunnel, even if malformed further on. MCP_DEC_CONT, NOT_GTP or the failure verdict. */
static int gtpu_fixed_hdr(struct mcp_decoder *d, struct mcp_pkt *pkt, uint32_t claimed,
			  int sport_only, struct gtpu_view *v)
{
	struct mcp_rd r = mcp_rd_init(v->msg, v->cap);
	uint32_t glen, teid;

	if (v->cap < 8) {
		if (sport_only)
			return NOT_GTP;
		return mcp_dec_fail(d, pkt, claimed < 8 ? MCP_PARSE_BAD_GTPU_LEN :
							  MCP_PARSE_TRUNC_GTPU);
	}
	v->flags = mcp_rd_u8(&r);
	v->type = mcp_rd_u8(&r);
	glen = mcp_rd_be16(&r);
	teid = mcp_rd_be32(&r);
	if (MCP_GTP1_VERSION(v->flags) != 1 || !(v->flags & MCP_GTP1_PT))
		return sport_only ? NOT_GTP : mcp_dec_fail(d, pkt, MCP_PARSE_BAD_GTPU_VERSION);
	if (sport_only && (!gtpu_type_known(v->type) || 8 + glen != claimed))
		return NOT_GTP;
	pkt->tunnel = MCP_TUN_GTPU;
	pkt->gtpu_msg = v->type;
	pkt->teid = teid;
	pkt->outer_ip_version = pkt->ip_version;
	pkt->outer_src = pkt->src;
	pkt->outer_dst = pkt->dst;
	pkt->outer_sport = pkt->sport;
	pkt->outer_dport = pkt->dport;
	if (v->type == MCP_GTPU_TPDU && !sport_only)
		d->st.layer[MCP_LAYER_GTPU_TPDU]++; /* as tshark counts: before length checks */
	v->end = 8 + glen;
	if (v->end > claimed) {
		/* Length beyond the datagram (TS 29.281 5.1 says invalid; tshark still shows the
		 * inner packet): counted as malformed and still accounted, bounded by the datagram,
		 * so a subscriber's packet is never dropped silently (docs/5g.md). */
		if (claimed < 8 + (v->flags & MCP_GTP1_OPT ? 4u : 0u))
			return mcp_dec_fail(d, pkt, MCP_PARSE_BAD_GTPU_LEN);
		d->st.malformed[MCP_PARSE_BAD_GTPU_LEN]++;
		pkt->reason = MCP_PARSE_BAD_GTPU_LEN;
		v->end = claimed;
	}
	return MCP_DEC_CONT;
}

/* Optional fields (E, S or PN set) and the extension header chain into *x. */
static int gtpu_options(struct mcp_decoder *d, struct mcp_pkt *pkt, int sport_only,
			struct gtpu_view *v, struct gtpu_ext *x)
{
	int rc;

	if (v->flags & MCP_GTP1_OPT) {
		if (v->end < 12)
			return mcp_dec_fail(d, pkt, MCP_PARSE_BAD_GTPU_LEN);
		if (v->cap < 12)
			return sport_only ? NOT_GTP : mcp_dec_fail(d, pkt, MCP_PARSE_TRUNC_GTPU);
		v->next = v->msg[11];
		x->hlen = 12;
	}
	if ((v->flags & MCP_GTP1_E) && v->next != MCP_GTPU_EXT_NONE) {
		rc = gtpu_ext_walk(v->msg, v->cap, v->end, v->next, x);
		if (rc >= 0)
			return sport_only ? NOT_GTP : mcp_dec_fail(d, pkt, rc);
	}
	return MCP_DEC_CONT;
}

static void gtpu_count_ext(struct mcp_decoder *d, struct mcp_pkt *pkt, const struct gtpu_ext *x)
{
	if (x->n)
		d->st.layer[MCP_LAYER_GTPU_EXT_HDR]++;
	if (x->psc) {
		d->st.layer[MCP_LAYER_GTPU_PDU_SESSION]++;
		pkt->pdu_type = x->pdu_type;
		pkt->qfi = x->qfi;
		pkt->flags |= MCP_PKTF_GTPU_QFI;
	}
}

/* T-PDU: exactly one level, the inner IP packet replaces the user-traffic view. */
static int gtpu_tpdu(struct mcp_decoder *d, struct mcp_pkt *pkt, const struct gtpu_view *v,
		     uint32_t hlen, uint64_t ts_us)
{
	const uint8_t *msg = v->msg;
	uint32_t cap = mcp_min_u32(v->cap, v->end);
	struct mcp_l4 il4 = { 0 };
	int rc;

	if (v->end <= hlen)
		return mcp_dec_fail(d, pkt, MCP_PARSE_BAD_GTPU_INNER);
	if (cap <= hlen)
		return mcp_dec_fail(d, pkt, MCP_PARSE_TRUNC_GTPU);
	msg += hlen;
	cap -= hlen;
	if ((msg[0] >> 4) != 4 && (msg[0] >> 4) != 6)
		return mcp_dec_fail(d, pkt, MCP_PARSE_BAD_GTPU_INNER);
	pkt->flags &= (uint8_t) ~(MCP_PKTF_HAS_PORTS | MCP_PKTF_L4_TRUNC);
	pkt->sport = pkt->dport = 0;
	pkt->tcp_flags = 0;
	pkt->payload = NULL;
	pkt->payload_len = 0;
	pkt->frag_pkts = 0; /* an outer-fragmented T-PDU carries one user packet */
	pkt->frag_bytes = 0;
	rc = mcp_dec_ip(d, pkt, msg, cap, 0, ts_us, 1, &il4);
	if (rc != MCP_DEC_CONT)
		return rc;
	rc = mcp_dec_l4(d, pkt, &il4);
	if (rc != MCP_DEC_CONT)
		return rc;
	pkt->kind = MCP_PKT_USER;
	return MCP_PKT_USER;
}

/* GTP-U on UDP: header, options, extensions, then a signalling message or a T-PDU. With
 * sport_only, NOT_GTP when the datagram does not prove itself GTP-U. */
static int dec_gtpu(struct mcp_decoder *d, struct mcp_pkt *pkt, const struct mcp_l4 *l4,
		    uint64_t ts_us, int sport_only)
{
	struct gtpu_view v = { .msg = pkt->payload, .cap = pkt->payload_len };
	struct gtpu_ext x = { .hlen = 8 };
	int rc;

	rc = gtpu_fixed_hdr(d, pkt, l4->app_len, sport_only, &v);
	if (rc != MCP_DEC_CONT)
		return rc;
	rc = gtpu_options(d, pkt, sport_only, &v, &x);
	if (rc != MCP_DEC_CONT)
		return rc;
	/* A source-port-only T-PDU must carry one whole IP packet. */
	if (sport_only && v.type == MCP_GTPU_TPDU &&
	    (v.cap <= x.hlen || !inner_consistent(v.msg + x.hlen, v.cap - x.hlen, v.end - x.hlen)))
		return NOT_GTP;
	gtpu_count_ext(d, pkt, &x);
	if (v.type != MCP_GTPU_TPDU) {
		count_signal(d, v.type);
		pkt->payload_len = mcp_min_u32(v.cap, v.end);
		pkt->kind = MCP_PKT_GTPU_SIGNAL;
		return MCP_PKT_GTPU_SIGNAL;
	}
	if (sport_only)
		d->st.layer[MCP_LAYER_GTPU_TPDU]++;
	return gtpu_tpdu(d, pkt, &v, x.hlen, ts_us);
}

/* GTPv1-C (PT = 1) or GTPv2-C on the GTP-C port. */
static int is_gtpc(const struct mcp_pkt *pkt)
{
	uint8_t f, v;

	if (!pkt->payload_len)
		return 0;
	f = pkt->payload[0];
	v = MCP_GTP1_VERSION(f);
	return (v == 1 && (f & MCP_GTP1_PT)) || v == 2;
}

int mcp_dec_udp_app(struct mcp_decoder *d, struct mcp_pkt *pkt, const struct mcp_l4 *l4,
		    uint64_t ts_us)
{
	uint16_t gu = d->cfg.gtpu_port, gc = d->cfg.gtpc_port;
	int rc;

	if (pkt->dport == gu)
		return dec_gtpu(d, pkt, l4, ts_us, 0);
	if ((pkt->dport == gc || pkt->sport == gc) && is_gtpc(pkt)) {
		d->st.layer[MCP_LAYER_GTPC]++;
		pkt->kind = MCP_PKT_GTPC;
		return MCP_PKT_GTPC;
	}
	if (pkt->sport == gu) {
		rc = dec_gtpu(d, pkt, l4, ts_us, 1);
		if (rc != NOT_GTP)
			return rc;
		/* Not GTP-U after all: forget what the header check filled in. */
		pkt->tunnel = MCP_TUN_NONE;
		pkt->gtpu_msg = 0;
		pkt->teid = 0;
		pkt->outer_ip_version = 0;
		memset(&pkt->outer_src, 0, sizeof(pkt->outer_src));
		memset(&pkt->outer_dst, 0, sizeof(pkt->outer_dst));
		pkt->outer_sport = pkt->outer_dport = 0;
	}
	if ((pkt->dport == MCP_GTP_PRIME_PORT || pkt->sport == MCP_GTP_PRIME_PORT) &&
	    pkt->payload_len)
		d->st.layer[MCP_LAYER_GTP_PRIME]++;
	pkt->kind = MCP_PKT_USER;
	return MCP_PKT_USER;
}
