/* parse_ip.h - IPv4 (RFC 791, IHL-sized header) and IPv6 (RFC 8200, bounded extension header
 * walk). Fills pi->src/dst/ip_len and the FRAG flag; returns the upper-layer protocol number
 * or MCP_STOP.
 *
 *   IPv4: ver|IHL TOS totlen(2) id(2) flags|frag(2) TTL proto csum(2) src(4) dst(4) [options]
 *   IPv6: ver|TC|flow(4) paylen(2) next hop src(16) dst(16) [ext: next len ...]*
 */
#ifndef MCP_BPF_PARSE_IP_H
#define MCP_BPF_PARSE_IP_H

#include <linux/ip.h>
#include <linux/ipv6.h>

#include "mcp_map_layout.h"
#include "parse_cursor.h"

static __always_inline void mcp_ip_set_v4(struct mcp_ip *ip, __be32 a)
{
	__u32 *w = (__u32 *)ip->b;

	w[0] = 0;
	w[1] = 0;
	w[2] = bpf_htonl(0x0000ffff);
	w[3] = a;
}

static __always_inline int parse_ip4(struct mcp_cur *cur, void *data_end, struct mcp_pinfo *pi)
{
	struct iphdr *iph = cur->pos;
	__u32 hlen, tot;

	if ((void *)(iph + 1) > data_end)
		return mcp_fail(pi, MCP_PARSE_TRUNC_IP4);
	if (iph->version != 4)
		return mcp_fail(pi, MCP_PARSE_BAD_IP_VERSION);
	hlen = iph->ihl * 4;
	tot = bpf_ntohs(iph->tot_len);
	if (hlen < sizeof(*iph) || hlen > tot)
		return mcp_fail(pi, MCP_PARSE_BAD_IP4_HLEN);
	if (cur->pos + hlen > data_end)
		return mcp_fail(pi, MCP_PARSE_TRUNC_IP4);
	if (iph->frag_off & (IP_MF_BE | IP_OFFSET_BE))
		pi->flags |= MCP_META_F_FRAG;
	else
		pi->flags &= ~MCP_META_F_FRAG;
	mcp_ip_set_v4(&pi->src, iph->saddr);
	mcp_ip_set_v4(&pi->dst, iph->daddr);
	pi->ip_len = tot;
	cur->pos += hlen;
	return iph->protocol;
}

static __always_inline int parse_ip6(struct mcp_cur *cur, void *data_end, struct mcp_pinfo *pi)
{
	struct ipv6hdr *ip6h = cur->pos;
	int next, i;

	if ((void *)(ip6h + 1) > data_end)
		return mcp_fail(pi, MCP_PARSE_TRUNC_IP6);
	if (ip6h->version != 6)
		return mcp_fail(pi, MCP_PARSE_BAD_IP_VERSION);
	mcp_ip_copy(&pi->src, (const struct mcp_ip *)&ip6h->saddr);
	mcp_ip_copy(&pi->dst, (const struct mcp_ip *)&ip6h->daddr);
	pi->ip_len = bpf_ntohs(ip6h->payload_len) + sizeof(*ip6h);
	pi->flags &= ~MCP_META_F_FRAG;
	next = ip6h->nexthdr;
	cur->pos = ip6h + 1;

	for (i = 0; i < MCP_MAX_IP6_EXT; i++) {
		__u8 *eh = cur->pos;
		__u32 len;

		if (next != IPPROTO_HOPOPTS_ && next != IPPROTO_ROUTING_ &&
		    next != IPPROTO_DSTOPTS_ && next != IPPROTO_FRAGMENT_ && next != IPPROTO_AH_)
			return next;
		if ((void *)(eh + 8) > data_end) /* every extension header is >= 8 bytes */
			return mcp_fail(pi, MCP_PARSE_TRUNC_IP6);
		if (next == IPPROTO_FRAGMENT_) {
			if ((eh[2] << 8 | eh[3]) & 0xfff9) /* offset or M */
				pi->flags |= MCP_META_F_FRAG;
			len = 8;
		} else if (next == IPPROTO_AH_) {
			len = (eh[1] + 2) * 4;
		} else {
			len = (eh[1] + 1) * 8;
		}
		if (cur->pos + len > data_end)
			return mcp_fail(pi, MCP_PARSE_TRUNC_IP6);
		next = eh[0];
		cur->pos += len;
	}
	return mcp_fail(pi, MCP_PARSE_BAD_IP6_EXT);
}

/* Dispatches on the EtherType (network order); non-IP is NOT_IP. */
static __always_inline int parse_ip(struct mcp_cur *cur, void *data_end, struct mcp_pinfo *pi,
				    int proto)
{
	if (proto == ETH_P_IP_BE) {
		pi->flags &= ~MCP_META_F_INNER_V6;
		return parse_ip4(cur, data_end, pi);
	}
	if (proto == ETH_P_IPV6_BE) {
		pi->flags |= MCP_META_F_INNER_V6;
		return parse_ip6(cur, data_end, pi);
	}
	return mcp_fail(pi, MCP_PARSE_NOT_IP);
}

#endif /* MCP_BPF_PARSE_IP_H */
