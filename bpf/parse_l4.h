/* parse_l4.h - the outer UDP header (RFC 768, length checked against the IP packet) and the
 * ports of the user packet's TCP (RFC 9293), UDP, SCTP (RFC 9260) or ICMP header.
 *
 *   UDP: sport(2) dport(2) len(2) csum(2)      TCP: sport(2) dport(2) seq ack off|flags ...
 */
#ifndef MCP_BPF_PARSE_L4_H
#define MCP_BPF_PARSE_L4_H

#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include "parse_cursor.h"

/* Outer UDP: validates the length against the IP packet; returns the UDP payload length. */
static __always_inline int parse_udp(struct mcp_cur *cur, void *data_end, struct mcp_pinfo *pi,
				     __u32 l3_off)
{
	struct udphdr *uh = cur->pos;
	__u32 ulen, l4_off = mcp_off(cur, uh);

	if ((void *)(uh + 1) > data_end)
		return mcp_fail(pi, MCP_PARSE_TRUNC_L4);
	ulen = bpf_ntohs(uh->len);
	if (ulen < sizeof(*uh) || l4_off - l3_off + ulen > pi->ip_len)
		return mcp_fail(pi, MCP_PARSE_BAD_UDP_LEN);
	pi->sport = bpf_ntohs(uh->source);
	pi->dport = bpf_ntohs(uh->dest);
	cur->pos = uh + 1;
	return ulen - sizeof(*uh);
}

/* User packet L4: ports for TCP/UDP/SCTP (MCP_META_F_PORTS), type/code checked for ICMP,
 * nothing for other protocols or fragments. Returns 0 or MCP_STOP. */
static __always_inline int parse_l4_ports(struct mcp_cur *cur, void *data_end,
					  struct mcp_pinfo *pi, int proto)
{
	__u32 need;
	__be16 *ports = cur->pos;

	pi->proto = proto;
	pi->sport = 0;
	pi->dport = 0;
	if (pi->flags & MCP_META_F_FRAG)
		return 0;
	switch (proto) {
	case IPPROTO_TCP:
		need = sizeof(struct tcphdr);
		break;
	case IPPROTO_UDP:
		need = sizeof(struct udphdr);
		break;
	case IPPROTO_SCTP:
		need = 12;
		break;
	case IPPROTO_ICMP:
	case 58: /* ICMPv6 */
		need = 4;
		break;
	default:
		return 0;
	}
	pi->inner_l4 = mcp_off(cur, ports);
	if (cur->pos + need > data_end) {
		pi->inner_l4 = 0;
		return mcp_fail(pi, MCP_PARSE_TRUNC_L4);
	}
	if (need < 8)
		return 0;
	if (proto == IPPROTO_TCP && (((struct tcphdr *)ports)->doff < 5)) {
		pi->inner_l4 = 0;
		return mcp_fail(pi, MCP_PARSE_BAD_TCP_HLEN);
	}
	if (proto == IPPROTO_TCP) {
		struct tcphdr *th = (void *)ports;
		__u32 hdrs = (__u32)(pi->inner_l4 - pi->inner_l3) + th->doff * 4;

		pi->tcp_flags = ((__u8 *)th)[13];
		pi->tcp_bare = pi->ip_len <= hdrs;
	}
	pi->sport = bpf_ntohs(ports[0]);
	pi->dport = bpf_ntohs(ports[1]);
	pi->flags |= MCP_META_F_PORTS;
	return 0;
}

#endif /* MCP_BPF_PARSE_L4_H */
