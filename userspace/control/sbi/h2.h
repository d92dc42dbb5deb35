/* h2.h - HTTP/2 cleartext (RFC 9113) framing for one direction of a reassembled SBI stream,
 * with HPACK (RFC 7541) through libnghttp2's inflater (one per direction, state kept across
 * requests). Bounded: frame size, header block size and CONTINUATION count, header list size,
 * HPACK dynamic table size (a peer's SETTINGS above the limit are clamped, and a block that
 * then fails to decode ends the connection's decoding), streams with a kept body, body size.
 * A violation that desynchronises HPACK marks the direction dead (counted): nothing more is
 * decoded on it.
 */
#ifndef MCP_H2_H
#define MCP_H2_H

#include <stddef.h>
#include <stdint.h>

#include "control/sbi/http1.h"

#define MCP_H2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define MCP_H2_PREFACE_LEN 24
#ifndef MCP_H2_MAX_FRAME
#define MCP_H2_MAX_FRAME 65536   /* frame payload accepted (SETTINGS_MAX_FRAME_SIZE beyond) */
#endif
#define MCP_H2_MAX_BLOCK 16384   /* one header block, HEADERS + CONTINUATION */
#define MCP_H2_MAX_CONT 16       /* CONTINUATION frames per header block */
#define MCP_H2_MAX_LIST 16384    /* header list size (RFC 9113 6.5.2: name + value + 32) */
#define MCP_H2_MAX_TABLE 65536   /* HPACK dynamic table size accepted */
#define MCP_H2_MAX_STREAMS 8     /* streams whose body is kept at once */
#define MCP_H2_MAX_UPGRADE_SETTINGS 128 /* base64url characters of HTTP2-Settings (16 settings) */

enum mcp_h2_err {
	MCP_H2_ERR_FRAME_SIZE,   /* frame larger than MCP_H2_MAX_FRAME: direction dead */
	MCP_H2_ERR_HPACK,        /* HPACK error (Huffman, index, table size): direction dead */
	MCP_H2_ERR_LIST_SIZE,    /* header list too large: message dropped */
	MCP_H2_ERR_CONTINUATION, /* CONTINUATION chain too long / too large / misplaced: dead */
	MCP_H2_ERR_STREAMS,      /* more concurrent kept streams than MCP_H2_MAX_STREAMS */
	MCP_H2_ERR_BODY_SIZE,    /* body beyond MCP_HTTP1_MAX_BODY: message dropped */
	MCP_H2_ERR_PREFACE,      /* client direction without the connection preface: dead */
	MCP_H2_ERR_SETTINGS,     /* SETTINGS or HTTP2-Settings malformed / out of range: ignored */
	MCP_H2_ERR__MAX
};

struct mcp_h2_stream;

/* Does the SBI want this request's body? (else only its headers are looked at) */
typedef int (*mcp_h2_want_fn)(void *ctx, const struct mcp_http_msg *m);

struct mcp_h2 {
	uint8_t dead, client, in_block, block_end_stream, block_discard, ncont;
	uint32_t preface_left;
	void *inflater;               /* nghttp2_hd_inflater */
	struct mcp_h2 *peer;          /* the other direction: its SETTINGS size our table */
	uint8_t fh[9];
	uint32_t fhlen, flen, fgot;
	uint32_t max_frame;           /* the receiver's SETTINGS_MAX_FRAME_SIZE, capped by ours */
	uint8_t *frame;               /* MCP_H2_MAX_FRAME bytes, allocated at the first frame */
	uint8_t *block;               /* MCP_H2_MAX_BLOCK bytes */
	uint32_t blen, block_stream;
	struct mcp_h2_stream *streams; /* MCP_H2_MAX_STREAMS */
	uint64_t *err;                /* MCP_H2_ERR__MAX counters, the caller's */
};

/* 0 or -ENOMEM. client: this direction starts with the connection preface. */
int mcp_h2_init(struct mcp_h2 *h, int client, uint64_t *err);
void mcp_h2_free(struct mcp_h2 *h);
/* Feeds in-order bytes; fn gets each complete request (with its body when want said so) and
 * each response's headers. */
void mcp_h2_feed(struct mcp_h2 *h, const uint8_t *p, size_t n, mcp_http_msg_fn fn,
		 mcp_h2_want_fn want, void *ctx);
/* Bytes were lost: HPACK state is unknown from here, the direction is dead. */
void mcp_h2_gap(struct mcp_h2 *h);
/* SETTINGS the receiver of direction h announced (a SETTINGS frame of the other direction,
 * or an upgrade request's HTTP2-Settings): SETTINGS_HEADER_TABLE_SIZE sizes h's HPACK table,
 * SETTINGS_MAX_FRAME_SIZE h's frame limit, each capped by the bounds above. Returns 0, or
 * -EBADMSG (counted MCP_H2_ERR_SETTINGS) for a payload that is not whole settings or a value
 * out of range (that one is ignored). SETTINGS_MAX_HEADER_LIST_SIZE is advisory (RFC 9113
 * 6.5.2): MCP_H2_MAX_LIST stays the bound. */
int mcp_h2_apply_settings(struct mcp_h2 *h, const uint8_t *p, uint32_t n);
/* The base64url HTTP2-Settings value (RFC 7540 3.2.1, trailing '=' tolerated) into out:
 * the SETTINGS payload's length, or -EBADMSG (alphabet, length, beyond
 * MCP_H2_MAX_UPGRADE_SETTINGS characters or outsz bytes). */
int mcp_h2_upgrade_settings(const char *b64, uint8_t *out, size_t outsz);

#endif /* MCP_H2_H */
