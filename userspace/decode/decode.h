/* decode.h - frame decoder: link layer, VLAN/MPLS/PPPoE, IPv4/IPv6, L4, GTP-U decapsulation.
 *
 * One decoder per worker (not thread-safe). It owns an IP reassembly table, so a fragmented
 * datagram (outer or inner) is returned whole with the frame that completes it.
 */
#ifndef MCP_DECODE_H
#define MCP_DECODE_H

#include <stdint.h>

#include "mcp_stats.h"
#include "decode/pkt.h"

/* Per-layer counters: frames in which the decoder saw each header. */
#define MCP_LAYER_COUNTERS(X)                                                                   \
	X(ETH) X(VLAN) X(MPLS) X(PPPOE) X(SLL) X(SLL2) X(RAW_IP)                                  \
	X(IPV4) X(IPV6) X(IPV4_FRAG) X(IPV6_FRAG) X(REASSEMBLED)                                   \
	X(TCP) X(UDP) X(ICMP) X(ICMPV6) X(SCTP) X(GRE) X(OTHER_L4)                                 \
	X(GTPU_TPDU) X(GTPU_ECHO) X(GTPU_ERROR_IND) X(GTPU_END_MARKER) X(GTPU_OTHER)              \
	X(GTPU_EXT_HDR) X(GTPU_PDU_SESSION) X(GTPC) X(GTP_PRIME)

#define MCP_ENUM_LAYER(n) MCP_LAYER_##n,
enum mcp_layer_counter { MCP_LAYER_COUNTERS(MCP_ENUM_LAYER) MCP_LAYER__MAX };
#undef MCP_ENUM_LAYER

struct mcp_decode_stats {
	uint64_t layer[MCP_LAYER__MAX];
	uint64_t malformed[MCP_PARSE__MAX];
};

struct mcp_decoder_cfg {
	uint32_t max_frags;          /* datagrams under reassembly at once (default 4096) */
	uint32_t frag_timeout_ms;    /* drop an incomplete datagram after this (default 2000) */
	uint16_t gtpu_port;          /* default 2152 */
	uint16_t gtpc_port;          /* default 2123 */
};

struct mcp_decoder;

/* Returns NULL on allocation failure. cfg may be NULL for defaults. */
struct mcp_decoder *mcp_decoder_create(const struct mcp_decoder_cfg *cfg);
void mcp_decoder_destroy(struct mcp_decoder *d);

/* Link types accepted by mcp_decode (DLT_* values from pcap). 0 or -EPROTONOSUPPORT. */
int mcp_decode_linktype_supported(int dlt);

/* Decodes one frame of link type dlt. Fills *pkt and returns pkt->kind. Never fails hard:
 * malformed input yields MCP_PKT_MALFORMED with pkt->reason set and the reason counted. */
int mcp_decode(struct mcp_decoder *d, int dlt, const uint8_t *frame, uint32_t caplen,
	       uint32_t wire_len, uint64_t ts_us, struct mcp_pkt *pkt);

/* Where the XDP program found a GTP-U T-PDU's headers (its metadata, include/mcp_meta.h):
 * offsets from the first byte of the Ethernet frame. */
struct mcp_tpdu_hint {
	uint16_t outer_l3, inner_l3;
	uint16_t vlan;     /* outermost VLAN id, 0 if untagged */
	uint32_t teid;
	uint8_t qfi, has_qfi;
};

/* Decodes an Ethernet frame that XDP found to be a T-PDU from its inner IP header on: the
 * outer addresses are read at outer_l3, the rest of the outer layers comes from h (outer
 * ports and the GTP-U extension chain are not read: nothing downstream uses them). Counts the
 * outer layers as mcp_decode would. Returns pkt->kind, or -1 when the offsets do not fit the
 * frame (nothing counted: decode it with mcp_decode). */
int mcp_decode_tpdu_at(struct mcp_decoder *d, const uint8_t *frame, uint32_t caplen,
		       uint32_t wire_len, uint64_t ts_us, const struct mcp_tpdu_hint *h,
		       struct mcp_pkt *pkt);

const struct mcp_decode_stats *mcp_decoder_stats(const struct mcp_decoder *d);
const char *mcp_layer_name(enum mcp_layer_counter c);
const char *mcp_parse_reason_name(enum mcp_parse_reason r);

#endif /* MCP_DECODE_H */
