/* decode_inner.c - the decoder's entry at the inner IP header of a GTP-U T-PDU whose outer
 * headers the XDP program already parsed (decode.h, mcp_decode_tpdu_at). */
#include "decode/decode_internal.h"

#include <string.h>

#include "mcp_gtp.h"

/* The outer addresses at outer_l3, the only outer fields the pipeline keeps (tunnel key,
 * record, reassembly context). 0, or -1 when they are not in the frame. */
static int outer_addrs(struct mcp_pkt *pkt, const uint8_t *frame, uint32_t caplen, uint32_t off)
{
	const uint8_t *p = frame + off;

	if (off >= caplen)
		return -1;
	if ((p[0] >> 4) == 4 && caplen - off >= 20) {
		mcp_ip_from_v4(&pkt->outer_src, p + 12);
		mcp_ip_from_v4(&pkt->outer_dst, p + 16);
		pkt->outer_ip_version = 4;
		return 0;
	}
	if ((p[0] >> 4) == 6 && caplen - off >= 40) {
		memcpy(pkt->outer_src.b, p + 8, 16);
		memcpy(pkt->outer_dst.b, p + 24, 16);
		pkt->outer_ip_version = 6;
		return 0;
	}
	return -1;
}

int mcp_decode_tpdu_at(struct mcp_decoder *d, const uint8_t *frame, uint32_t caplen,
		       uint32_t wire_len, uint64_t ts_us, const struct mcp_tpdu_hint *h,
		       struct mcp_pkt *pkt)
{
	struct mcp_l4 l4 = { 0 };
	int rc;

	memset(pkt, 0, sizeof(*pkt));
	pkt->ts_us = ts_us;
	pkt->wire_len = wire_len;
	if (!frame || h->inner_l3 <= h->outer_l3 || h->inner_l3 >= caplen ||
	    outer_addrs(pkt, frame, caplen, h->outer_l3))
		return -1;
	/* the layers XDP walked, counted as the full decode would count them */
	d->st.layer[MCP_LAYER_ETH]++;
	if (h->vlan)
		d->st.layer[MCP_LAYER_VLAN]++;
	d->st.layer[pkt->outer_ip_version == 4 ? MCP_LAYER_IPV4 : MCP_LAYER_IPV6]++;
	d->st.layer[MCP_LAYER_UDP]++;
	d->st.layer[MCP_LAYER_GTPU_TPDU]++;
	pkt->vlan = h->vlan;
	pkt->tunnel = MCP_TUN_GTPU;
	pkt->gtpu_msg = MCP_GTPU_TPDU;
	pkt->teid = h->teid;
	if (h->has_qfi) {
		d->st.layer[MCP_LAYER_GTPU_EXT_HDR]++;
		d->st.layer[MCP_LAYER_GTPU_PDU_SESSION]++;
		pkt->qfi = h->qfi;
		pkt->flags |= MCP_PKTF_GTPU_QFI;
	}
	rc = mcp_dec_ip(d, pkt, frame + h->inner_l3, caplen - h->inner_l3, 0, ts_us, 1, &l4);
	if (rc != MCP_DEC_CONT)
		return rc;
	rc = mcp_dec_l4(d, pkt, &l4);
	if (rc != MCP_DEC_CONT)
		return rc;
	pkt->kind = MCP_PKT_USER;
	return MCP_PKT_USER;
}
