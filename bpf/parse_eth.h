/* parse_eth.h - Ethernet II (IEEE 802.3), 802.1Q/802.1ad VLAN tags (QinQ) and MPLS label
 * stacks (RFC 3032) in front of IP. Returns the EtherType of the next header (network order)
 * or MCP_STOP.
 *
 *   dst(6) src(6) type(2) [ TPID 0x8100/0x88a8 | TCI(2) type(2) ]*  [ label(20) TC(3) S(1) TTL(8) ]*
 */
#ifndef MCP_BPF_PARSE_ETH_H
#define MCP_BPF_PARSE_ETH_H

#include <linux/if_ether.h>

#include "parse_cursor.h"

struct mcp_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

static __always_inline int mcp_is_vlan(__be16 proto)
{
	return proto == ETH_P_8021Q_BE || proto == ETH_P_8021AD_BE || proto == ETH_P_QINQ1_BE;
}

static __always_inline int parse_ethhdr(struct mcp_cur *cur, void *data_end,
					struct mcp_pinfo *pi)
{
	struct ethhdr *eth = cur->pos;

	if ((void *)(eth + 1) > data_end)
		return mcp_fail(pi, MCP_PARSE_TRUNC_LINK);
	cur->pos = eth + 1;
	return eth->h_proto;
}

/* Skips up to MCP_MAX_VLAN tags; pi->vlan keeps the outermost id. */
static __always_inline int parse_vlans(struct mcp_cur *cur, void *data_end, struct mcp_pinfo *pi,
				       __be16 proto)
{
	int i;

#pragma unroll
	for (i = 0; i < MCP_MAX_VLAN; i++) {
		struct mcp_vlan_hdr *vh = cur->pos;

		if (!mcp_is_vlan(proto))
			return proto;
		if ((void *)(vh + 1) > data_end)
			return mcp_fail(pi, MCP_PARSE_TRUNC_VLAN);
		if (i == 0)
			pi->vlan = bpf_ntohs(vh->tci) & 0x0fff;
		proto = vh->proto;
		cur->pos = vh + 1;
	}
	if (mcp_is_vlan(proto))
		return mcp_fail(pi, MCP_PARSE_TRUNC_VLAN); /* more tags than we walk */
	return proto;
}

/* Skips an MPLS stack to bottom-of-stack and guesses IPv4/IPv6 from the first nibble (MPLS
 * carries no next-protocol field). Anything else is NOT_IP. */
static __always_inline int parse_mpls(struct mcp_cur *cur, void *data_end, struct mcp_pinfo *pi,
				      __be16 proto)
{
	__u8 *nib;
	int i;

	if (proto != ETH_P_MPLS_UC_BE && proto != ETH_P_MPLS_MC_BE)
		return proto;
#pragma unroll
	for (i = 0; i < MCP_MAX_MPLS; i++) {
		__be32 *lse = cur->pos;

		if ((void *)(lse + 1) > data_end)
			return mcp_fail(pi, MCP_PARSE_TRUNC_MPLS);
		cur->pos = lse + 1;
		if (bpf_ntohl(*lse) & 0x100) /* bottom of stack */
			goto bos;
	}
	return mcp_fail(pi, MCP_PARSE_TRUNC_MPLS);
bos:
	nib = cur->pos;
	if ((void *)(nib + 1) > data_end)
		return mcp_fail(pi, MCP_PARSE_TRUNC_MPLS);
	if ((*nib >> 4) == 4)
		return ETH_P_IP_BE;
	if ((*nib >> 4) == 6)
		return ETH_P_IPV6_BE;
	return mcp_fail(pi, MCP_PARSE_NOT_IP);
}

#endif /* MCP_BPF_PARSE_ETH_H */
