/* mcp_gtp.h - GTP wire constants and the fixed GTP-U header, shared by bpf/ and userspace/.
 *
 * TS 29.281 (GTP-U), TS 29.060 (GTPv1-C), TS 29.274 (GTPv2-C), TS 38.415 (PDU Session
 * Container). Only fixed-layout headers are structs; TLV bodies are walked with readers.
 *
 *  GTPv1 header (GTP-U and GTPv1-C), 8 bytes + 4 optional when any of E/S/PN is set:
 *   0: version(3) PT(1) spare(1) E(1) S(1) PN(1)   1: message type   2-3: length
 *   4-7: TEID   [8-9: sequence  10: N-PDU number  11: next extension header type]
 */
#ifndef MCP_GTP_H
#define MCP_GTP_H

#include <linux/types.h>

#define MCP_GTPU_PORT 2152
#define MCP_GTPC_PORT 2123
#define MCP_GTP_PRIME_PORT 3386
#define MCP_PFCP_PORT 8805 /* TS 29.244 (N4, Sxa/Sxb) */

/* GTPv1 flags byte */
#define MCP_GTP1_VERSION(f) ((f) >> 5)
#define MCP_GTP1_PT   0x10 /* protocol type: 1 = GTP, 0 = GTP' */
#define MCP_GTP1_E    0x04 /* extension header present */
#define MCP_GTP1_S    0x02 /* sequence number present */
#define MCP_GTP1_PN   0x01 /* N-PDU number present */
#define MCP_GTP1_OPT  (MCP_GTP1_E | MCP_GTP1_S | MCP_GTP1_PN)

/* GTP-U message types (TS 29.281 6.1) */
#define MCP_GTPU_ECHO_REQ   1
#define MCP_GTPU_ECHO_RSP   2
#define MCP_GTPU_ERROR_IND  26
#define MCP_GTPU_SUPP_EXT   31
#define MCP_GTPU_END_MARKER 254
#define MCP_GTPU_TPDU       255

/* GTP-U extension header types (TS 29.281 5.2.1) */
#define MCP_GTPU_EXT_NONE        0x00
#define MCP_GTPU_EXT_UDP_PORT    0x40
#define MCP_GTPU_EXT_PDU_SESSION 0x85 /* TS 38.415 PDU Session Container */
#define MCP_GTPU_EXT_PDCP_PDU    0xc0
#define MCP_GTPU_MAX_EXT         8    /* longer chains are treated as malformed */

struct mcp_gtp1_hdr {
	__u8 flags;
	__u8 type;
	__be16 length; /* bytes after the first 8 */
	__be32 teid;
} __attribute__((packed));

struct mcp_gtp1_opt {
	__be16 seq;
	__u8 npdu;
	__u8 next_ext;
} __attribute__((packed));

_Static_assert(sizeof(struct mcp_gtp1_hdr) == 8, "GTPv1 header is 8 bytes");
_Static_assert(sizeof(struct mcp_gtp1_opt) == 4, "GTPv1 optional fields are 4 bytes");

/* GTPv2-C flags byte: version(3) P(1) T(1) MP(1) spare(2) */
#define MCP_GTP2_VERSION(f) ((f) >> 5)
#define MCP_GTP2_P 0x10 /* piggybacked message follows */
#define MCP_GTP2_T 0x08 /* TEID present */

#endif /* MCP_GTP_H */
