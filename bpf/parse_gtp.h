/* parse_gtp.h - GTP-U (TS 29.281): the 8-byte header, the optional sequence/N-PDU/next-type
 * word, and a bounded walk of the extension header chain, reading QFI and PDU type from a
 * PDU Session Container (TS 38.415 5.5.2). Returns the inner EtherType (network order) for a
 * T-PDU, 0 for GTP-U signalling (echo, error indication, end marker), or MCP_STOP. A length
 * beyond the datagram leaves pi->reason set on success (counted, not dropped).
 *
 *   flags(1) type(1) length(2) TEID(4) [seq(2) N-PDU(1) next(1)]
 *   extension: len(1, in 4-byte units) content(len*4-2) next(1)
 */
#ifndef MCP_BPF_PARSE_GTP_H
#define MCP_BPF_PARSE_GTP_H

#include "mcp_gtp.h"
#include "parse_cursor.h"

static __always_inline int parse_gtpu(struct mcp_cur *cur, void *data_end, struct mcp_pinfo *pi,
				      __u32 udp_payload)
{
	struct mcp_gtp1_hdr *gh = cur->pos;
	__u32 glen, used = 0;
	__u8 next = MCP_GTPU_EXT_NONE;
	__u8 *nib;
	int i;

	if ((void *)(gh + 1) > data_end)
		return mcp_fail(pi, MCP_PARSE_TRUNC_GTPU);
	if (MCP_GTP1_VERSION(gh->flags) != 1 || !(gh->flags & MCP_GTP1_PT))
		return mcp_fail(pi, MCP_PARSE_BAD_GTPU_VERSION);
	glen = bpf_ntohs(gh->length);
	if (glen + sizeof(*gh) > udp_payload) {
		/* Beyond its datagram (TS 29.281 5.1: invalid; tshark decodes it anyway): the
		 * reason is noted without stopping and the message is bounded by the datagram,
		 * so the subscriber's packet is still accounted (docs/5g.md, as decode_gtp.c). */
		if (udp_payload < sizeof(*gh))
			return mcp_fail(pi, MCP_PARSE_BAD_GTPU_LEN);
		pi->reason = MCP_PARSE_BAD_GTPU_LEN;
		glen = udp_payload - sizeof(*gh);
	}
	pi->teid = bpf_ntohl(gh->teid);
	pi->gtp_type = gh->type;
	pi->flags |= MCP_META_F_GTPU;
	cur->pos = gh + 1;

	if (gh->flags & MCP_GTP1_OPT) {
		struct mcp_gtp1_opt *opt = cur->pos;

		if ((void *)(opt + 1) > data_end)
			return mcp_fail(pi, MCP_PARSE_TRUNC_GTPU);
		if (glen < sizeof(*opt))
			return mcp_fail(pi, MCP_PARSE_BAD_GTPU_LEN);
		if (gh->flags & MCP_GTP1_E)
			next = opt->next_ext;
		used = sizeof(*opt);
		cur->pos = opt + 1;
	}

	for (i = 0; i < MCP_GTPU_MAX_EXT; i++) {
		__u8 *eh = cur->pos, *np;
		__u32 elen;

		if (next == MCP_GTPU_EXT_NONE)
			break;
		if ((void *)(eh + 1) > data_end)
			return mcp_fail(pi, MCP_PARSE_TRUNC_GTPU);
		elen = (__u32)eh[0] * 4;
		if (elen == 0)
			return mcp_fail(pi, MCP_PARSE_BAD_GTPU_EXT);
		np = cur->pos + elen - 1;
		if ((void *)(np + 1) > data_end)
			return mcp_fail(pi, MCP_PARSE_TRUNC_GTPU);
		if (used + elen > glen)
			return mcp_fail(pi, MCP_PARSE_BAD_GTPU_LEN);
		if (next == MCP_GTPU_EXT_PDU_SESSION && elen >= 4) {
			if ((void *)(eh + 3) > data_end)
				return mcp_fail(pi, MCP_PARSE_TRUNC_GTPU);
			pi->pdu_type = eh[1] >> 4;
			pi->qfi = eh[2] & 0x3f;
			pi->flags |= MCP_META_F_QFI;
		}
		next = *np;
		used += elen;
		cur->pos += elen;
	}
	if (next != MCP_GTPU_EXT_NONE)
		return mcp_fail(pi, MCP_PARSE_BAD_GTPU_EXT);

	if (gh->type != MCP_GTPU_TPDU)
		return 0;
	pi->flags |= MCP_META_F_TPDU;
	nib = cur->pos;
	if (used >= glen)
		return mcp_fail(pi, MCP_PARSE_BAD_GTPU_INNER); /* empty T-PDU */
	if ((void *)(nib + 1) > data_end)
		return mcp_fail(pi, MCP_PARSE_TRUNC_GTPU);
	if ((*nib >> 4) == 4)
		return ETH_P_IP_BE;
	if ((*nib >> 4) == 6)
		return ETH_P_IPV6_BE;
	return mcp_fail(pi, MCP_PARSE_BAD_GTPU_INNER);
}

#endif /* MCP_BPF_PARSE_GTP_H */
