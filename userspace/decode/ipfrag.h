/* ipfrag.h - bounded IPv4/IPv6 fragment reassembly for the frame decoder.
 *
 * RFC 791 (IPv4 fragmentation), RFC 8200 4.5 (IPv6 Fragment header), RFC 5722 (overlapping
 * fragments are dropped). One table per decoder; not thread-safe. Time is packet time.
 *
 * A datagram is keyed by (version, src, dst, id, protocol for IPv4, level, ctx) where level
 * separates outer (0) and tunnelled inner (1) datagrams and ctx the tunnels (a hash of the
 * outer addresses and TEID): a probe tapping several hops sees the same inner fragments in
 * different tunnels, and each copy is its own datagram. The reassembled datagram is built
 * as: the unfragmentable part of the offset-0 fragment (IPv4 header with options, or the
 * IPv6 header and extension headers before the Fragment header) followed by the payload.
 * IPv4: total length and fragment field rewritten, checksum recomputed. IPv6: the Fragment
 * header is removed, the preceding next-header byte and the payload length are rewritten.
 */
#ifndef MCP_IPFRAG_H
#define MCP_IPFRAG_H

#include <stdint.h>

#include "mcp_addr.h"

#define MCP_IPFRAG_LEVELS 2      /* outer, inner */
#ifndef MCP_IPFRAG_MAX_PIECES
#define MCP_IPFRAG_MAX_PIECES 64 /* fragments per datagram; more is treated as an attack */
#endif
#ifndef MCP_IPFRAG_HDR_ROOM
#define MCP_IPFRAG_HDR_ROOM 512  /* longest unfragmentable part kept (IPv6 + ext headers) */
#endif

struct mcp_ipfrag;

struct mcp_ipfrag_key {
	struct mcp_ip src, dst;
	uint32_t id;     /* IPv4: 16-bit identification; IPv6: 32-bit */
	uint32_t ctx;    /* tunnel context of an inner datagram, 0 for outer */
	uint8_t proto;   /* IPv4 protocol; 0 for IPv6 (not part of the RFC 8200 key) */
	uint8_t version; /* 4 or 6 */
	uint8_t level;   /* 0 outer, 1 inner */
	uint8_t pad;
};

/* One fragment as seen by the decoder. hdr/hdr_len is the unfragmentable part of this
 * fragment (only used when offset == 0); data/len its fragmentable payload. */
struct mcp_ipfrag_piece {
	const uint8_t *hdr;
	uint32_t hdr_len;
	uint32_t nh_off;    /* IPv6: offset in hdr of the next-header byte naming Fragment */
	uint8_t next_proto; /* IPv6: next header after the Fragment header */
	uint8_t more;       /* MF / M flag */
	uint32_t offset;    /* payload offset in bytes */
	const uint8_t *data;
	uint32_t len;
	uint32_t wire_len;  /* this fragment's IP length (header included), for the wire count */
};

/* Returns NULL on allocation failure. */
struct mcp_ipfrag *mcp_ipfrag_create(uint32_t max_dgrams, uint32_t timeout_ms);
void mcp_ipfrag_destroy(struct mcp_ipfrag *f);

/* Adds a fragment. Returns 1 when it completes a datagram (*out, *out_len: the whole IP
 * datagram, valid until the next completion at the same level), 0 when it is held, or
 * -EBADMSG (overlap, oversize, bad length, too many pieces, header too long): the datagram
 * is dropped. Datagrams dropped for other reasons (timeout, table full) while adding are
 * counted in mcp_ipfrag_take_drops(). */
int mcp_ipfrag_add(struct mcp_ipfrag *f, const struct mcp_ipfrag_key *key,
		   const struct mcp_ipfrag_piece *pc, uint64_t ts_us, const uint8_t **out,
		   uint32_t *out_len);

/* The datagram the last completion at level handed out was this many fragments on the wire
 * (exact duplicates included: each was a packet), whose IP lengths add up to *bytes. */
void mcp_ipfrag_last_wire(const struct mcp_ipfrag *f, uint8_t level, uint32_t *pkts,
			  uint32_t *bytes);

/* Datagrams dropped by timeout or eviction since the last call; resets the count. */
uint64_t mcp_ipfrag_take_drops(struct mcp_ipfrag *f);

/* Datagrams currently under reassembly. */
uint32_t mcp_ipfrag_pending(const struct mcp_ipfrag *f);

#endif /* MCP_IPFRAG_H */
