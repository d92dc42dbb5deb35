/* parse_fast.h - the common frame of a mobile core link in one step: Ethernet, untagged or
 * with one 802.1Q tag / IPv4 without options / UDP to port 2152 / GTP-U T-PDU without optional
 * fields (flags 0x30) / IPv4 without options / TCP or UDP, none of them fragmented.
 *
 * One bounds check covers the headers, the fields land in pi exactly as the layer-by-layer
 * parse (mcp_parse) would put them, and any frame that is not exactly this shape, or whose
 * lengths the full parse would reject, returns MCP_STOP without touching pi, so that the full
 * parse decides and counts it. Why: the per-layer steps (cursor, loops over VLAN/MPLS/extension
 * headers, re-derived packet pointers) were about a sixth of the program's cost for the frame
 * that is nearly all of the traffic. tests/test_xdp_prog.c runs every test frame, cut to every
 * length, through both parses and compares verdicts, counters and metadata.
 *
 *   eth(14) [0x8100 TCI(2) 0x0800] | 0x45 .. proto 17 (20) | sport 2152 len csum (8)
 *   | 0x30 0xff length TEID (8) | 0x45 .. proto 6/17 (20) | sport dport ...
 */
#ifndef MCP_BPF_PARSE_FAST_H
#define MCP_BPF_PARSE_FAST_H

#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include "mcp_gtp.h"
#include "parse_cursor.h"
#include "parse_eth.h"
#include "parse_ip.h"

/* Everything after the link header. */
struct mcp_fast_hdr {
	struct iphdr ip;
	struct udphdr udp;
	struct mcp_gtp1_hdr gtp;
	struct iphdr in;
	__be16 ports[2];
} __attribute__((packed));

#define MCP_FAST_UDP      sizeof(struct iphdr)
#define MCP_FAST_INNER_L3 (MCP_FAST_UDP + sizeof(struct udphdr) + sizeof(struct mcp_gtp1_hdr))
#define MCP_FAST_INNER_L4 (MCP_FAST_INNER_L3 + sizeof(struct iphdr))
#define MCP_FAST_GTP_FLAGS 0x30 /* version 1, PT, no E/S/PN */

/* The headers at data + l2 (a constant: each caller gets its own copy). */
static __always_inline int mcp_parse_fast_at(void *data, void *data_end, struct mcp_pinfo *pi,
					     __u32 l2, __u16 vlan)
{
	struct mcp_fast_hdr *h = data + l2;
	__u32 tot, ulen, glen, in_tot, l4_hdr = sizeof(struct udphdr);
	__u8 *vihl, *in_vihl, tcp_flags = 0;

	if ((void *)(h + 1) > data_end)
		return MCP_STOP;
	vihl = (__u8 *)&h->ip;
	in_vihl = (__u8 *)&h->in;
	if (*vihl != 0x45 || h->ip.protocol != IPPROTO_UDP ||
	    (h->ip.frag_off & (IP_MF_BE | IP_OFFSET_BE)) || h->udp.dest != bpf_htons(MCP_GTPU_PORT) ||
	    h->gtp.flags != MCP_FAST_GTP_FLAGS || h->gtp.type != MCP_GTPU_TPDU ||
	    *in_vihl != 0x45 || (h->in.frag_off & (IP_MF_BE | IP_OFFSET_BE)))
		return MCP_STOP;
	if (h->in.protocol == IPPROTO_TCP) {
		struct tcphdr *th = (void *)&h->ports;

		if ((void *)(th + 1) > data_end || th->doff < 5)
			return MCP_STOP;
		l4_hdr = th->doff * 4;
		tcp_flags = ((__u8 *)th)[13];
	} else if (h->in.protocol != IPPROTO_UDP) {
		return MCP_STOP;
	} else if ((void *)&h->ports + sizeof(struct udphdr) > data_end) {
		return MCP_STOP;
	}
	/* the length checks of parse_udp, parse_gtpu and mcp_parse, in that order */
	tot = bpf_ntohs(h->ip.tot_len);
	ulen = bpf_ntohs(h->udp.len);
	glen = bpf_ntohs(h->gtp.length);
	in_tot = bpf_ntohs(h->in.tot_len);
	if (ulen < sizeof(struct udphdr) || sizeof(struct iphdr) + ulen > tot ||
	    glen == 0 || glen + sizeof(struct mcp_gtp1_hdr) > ulen - sizeof(struct udphdr) ||
	    in_tot < sizeof(struct iphdr) ||
	    MCP_FAST_INNER_L3 + in_tot > MCP_FAST_UDP + ulen)
		return MCP_STOP;

	mcp_ip_set_v4(&pi->outer_dst, h->ip.daddr);
	mcp_ip_set_v4(&pi->src, h->in.saddr);
	mcp_ip_set_v4(&pi->dst, h->in.daddr);
	pi->teid = bpf_ntohl(h->gtp.teid);
	pi->ip_len = in_tot;
	pi->vlan = vlan;
	pi->sport = bpf_ntohs(h->ports[0]);
	pi->dport = bpf_ntohs(h->ports[1]);
	pi->outer_l3 = l2;
	pi->inner_l3 = l2 + MCP_FAST_INNER_L3;
	pi->inner_l4 = l2 + MCP_FAST_INNER_L4;
	pi->udp_end = l2 + MCP_FAST_UDP + ulen;
	pi->flags = MCP_META_F_GTPU | MCP_META_F_TPDU | MCP_META_F_PORTS;
	pi->proto = h->in.protocol;
	pi->gtp_type = MCP_GTPU_TPDU;
	pi->qfi = 0;
	pi->pdu_type = 0;
	pi->tcp_flags = tcp_flags;
	pi->tcp_bare = h->in.protocol == IPPROTO_TCP && in_tot <= sizeof(struct iphdr) + l4_hdr;
	return 0;
}

/* Untagged or one 802.1Q tag: 0 with pi filled, or MCP_STOP (pi untouched). */
static __always_inline int mcp_parse_fast(struct xdp_md *ctx, struct mcp_pinfo *pi)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct mcp_vlan_hdr *vh = (void *)(eth + 1);

	if ((void *)(vh + 1) > data_end)
		return MCP_STOP;
	if (eth->h_proto == ETH_P_IP_BE)
		return mcp_parse_fast_at(data, data_end, pi, sizeof(*eth), 0);
	if (eth->h_proto == ETH_P_8021Q_BE && vh->proto == ETH_P_IP_BE)
		return mcp_parse_fast_at(data, data_end, pi, sizeof(*eth) + sizeof(*vh),
					 bpf_ntohs(vh->tci) & 0x0fff);
	return MCP_STOP;
}

#endif /* MCP_BPF_PARSE_FAST_H */
