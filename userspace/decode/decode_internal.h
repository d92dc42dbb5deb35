/* decode_internal.h - internals shared by the frame decoder's files (decode*.c); not a contract.
 *
 * The decoder is split by layer: decode.c (link layer, entry point), decode_ip.c (IPv4, IPv6,
 * fragments, L4) and decode_gtp.c (GTP-U, GTP-C, GTP' on UDP). Each step returns
 * MCP_DEC_CONT to go on, or the final enum mcp_pkt_kind.
 */
#ifndef MCP_DECODE_INTERNAL_H
#define MCP_DECODE_INTERNAL_H

#include <stdint.h>

#include "decode/decode.h"
#include "decode/ipfrag.h"
#include "util/rd.h"

#define MCP_DEC_CONT (-1)

#ifndef MCP_IP6_MAX_EXT
#define MCP_IP6_MAX_EXT 8 /* IPv6 extension headers walked before giving up (BAD_IP6_EXT) */
#endif

struct mcp_decoder {
	struct mcp_decoder_cfg cfg;
	struct mcp_decode_stats st;
	struct mcp_ipfrag *frag;
};

/* The L4 part of an IP datagram as found by mcp_dec_ip(), completed by mcp_dec_l4(). */
struct mcp_l4 {
	const uint8_t *p; /* first L4 byte */
	uint32_t caplen;  /* L4 bytes in memory */
	uint32_t len;     /* L4 length claimed by the IP header */
	uint32_t app_len; /* UDP: payload length claimed by the UDP header */
};

static inline int mcp_dec_fail(struct mcp_decoder *d, struct mcp_pkt *pkt,
			       enum mcp_parse_reason r)
{
	d->st.malformed[r]++;
	pkt->reason = (uint8_t)r;
	pkt->kind = MCP_PKT_MALFORMED;
	return MCP_PKT_MALFORMED;
}

static inline uint32_t mcp_min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/* Decodes the IP header at p (version nibble; want_version 4/6 or 0 for any), reassembling
 * fragments. Fills ip_version, src, dst, l4_proto, l3, l3_caplen, ip_len and *l4. */
int mcp_dec_ip(struct mcp_decoder *d, struct mcp_pkt *pkt, const uint8_t *p, uint32_t caplen,
	       int want_version, uint64_t ts_us, int level, struct mcp_l4 *l4);

/* Decodes the L4 header: ports, tcp_flags, payload. */
int mcp_dec_l4(struct mcp_decoder *d, struct mcp_pkt *pkt, struct mcp_l4 *l4);

/* Classifies a UDP datagram of the outer level: GTP-U (decapsulated), GTP-C, GTP', user. */
int mcp_dec_udp_app(struct mcp_decoder *d, struct mcp_pkt *pkt, const struct mcp_l4 *l4,
		    uint64_t ts_us);

#endif /* MCP_DECODE_INTERNAL_H */
