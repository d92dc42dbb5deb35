/* pkt.h - the decoder's summary of one frame, the contract between decode and the pipeline.
 *
 * The decoder fills it once per frame; nothing downstream re-parses headers. Pointers refer
 * to the frame (or to the decoder's reassembly buffer) and are valid until the next decode.
 */
#ifndef MCP_PKT_H
#define MCP_PKT_H

#include <stdint.h>

#include "mcp_addr.h"

/* What the frame turned out to be, i.e. where the pipeline sends it. */
enum mcp_pkt_kind {
	MCP_PKT_USER,        /* user traffic: l3..l4 describe it (the inner packet when tunneled) */
	MCP_PKT_GTPC,        /* GTP-C message: payload = GTP-C bytes, src/dst/ports = carrying IP/UDP */
	MCP_PKT_GTPU_SIGNAL, /* GTP-U echo, error indication, end marker, ...: counted only */
	MCP_PKT_FRAG_HELD,   /* a fragment kept for reassembly: nothing to do yet */
	MCP_PKT_OTHER,       /* not IP, or IP we do not track (counted) */
	MCP_PKT_MALFORMED,   /* see reason */
};

enum mcp_tunnel_type { MCP_TUN_NONE, MCP_TUN_GTPU };

/* Flags on struct mcp_pkt. */
#define MCP_PKTF_REASSEMBLED 0x01 /* l3 points to a reassembled datagram (outer or inner) */
#define MCP_PKTF_HAS_PORTS   0x02 /* sport/dport are meaningful (TCP/UDP/SCTP) */
#define MCP_PKTF_GTPU_QFI    0x04 /* a PDU Session Container gave qfi/pdu_type */
#define MCP_PKTF_L4_TRUNC    0x08 /* L4 header missing (capture cut it): flow still counted */
#define MCP_PKTF_KCOUNTED    0x10 /* live: already counted in the kernel flow entry (for DPI) */
#define MCP_PKTF_KSUB        0x20 /* live: XDP credited the packet to a subscriber (or cannot say) */

struct mcp_pkt {
	uint64_t ts_us;        /* capture time, microseconds since the epoch */
	uint32_t wire_len;     /* frame length on the wire */
	uint16_t vlan;         /* outermost 802.1Q VLAN id, 0 if untagged */
	uint8_t kind;          /* enum mcp_pkt_kind */
	uint8_t reason;        /* enum mcp_parse_reason when kind == MCP_PKT_MALFORMED */
	uint8_t flags;         /* MCP_PKTF_* */

	/* Tunnel (GTP-U) context: the carrying IP/UDP and the GTP-U header. */
	uint8_t tunnel;        /* enum mcp_tunnel_type */
	uint8_t gtpu_msg;      /* GTP-U message type (0xff = T-PDU) */
	uint8_t qfi;           /* 5G QoS flow id from the PDU Session Container */
	uint8_t pdu_type;      /* 0 = DL PDU SESSION INFORMATION, 1 = UL */
	uint8_t outer_ip_version;
	uint32_t teid;         /* host order */
	struct mcp_ip outer_src, outer_dst;
	uint16_t outer_sport, outer_dport;

	/* The (inner) IP packet: user traffic, or the IP/UDP carrying GTP-C. */
	uint8_t ip_version;    /* 4 or 6 */
	uint8_t l4_proto;      /* IPPROTO_* after IPv6 extension headers */
	uint8_t tcp_flags;     /* TCP flags byte, 0 for other protocols */
	struct mcp_ip src, dst;
	uint16_t sport, dport; /* host order; ICMP: type/code in sport, 0 in dport (echo: its
				* identifier) */
	uint32_t tcp_seq;      /* TCP sequence number (stream reassembly), host order */
	const uint8_t *l3;     /* first byte of the (inner) IP header */
	uint32_t l3_caplen;    /* bytes of it available in memory */
	uint32_t ip_len;       /* IP length from the header (total length / 40 + payload length) */
	/* A reassembled user datagram: the fragments it was on the wire (each one a packet) and
	 * the sum of their IP lengths; frag_pkts is 0 for a packet that was not fragmented. */
	uint32_t frag_bytes;
	uint16_t frag_pkts;
	const uint8_t *payload; /* L4 payload (GTP-C message for MCP_PKT_GTPC) */
	uint32_t payload_len;  /* bytes of payload available in memory */
};

/* ICMP / ICMPv6 echo request or reply (RFC 792, RFC 4443), type_code = type << 8 | code. */
static inline int mcp_icmp_is_echo(uint8_t l4_proto, uint16_t type_code)
{
	uint8_t type = (uint8_t)(type_code >> 8);

	if (l4_proto == 1)
		return type == 8 || type == 0;
	return l4_proto == 58 && (type == 128 || type == 129);
}

#endif /* MCP_PKT_H */
