/* http1.h - HTTP/1.1 message framing (RFC 9112) over one direction of a reassembled stream:
 * start line, the header fields the SBI needs, a Content-Length body. Bounded: a header block
 * beyond MCP_HTTP1_MAX_HDR or a body beyond MCP_HTTP1_MAX_BODY is skipped and counted; after
 * a stream gap the parser waits for the next valid start line.
 */
#ifndef MCP_HTTP1_H
#define MCP_HTTP1_H

#include <stddef.h>
#include <stdint.h>

#ifndef MCP_HTTP1_MAX_HDR
#define MCP_HTTP1_MAX_HDR 8192
#endif
#ifndef MCP_HTTP1_MAX_BODY
#define MCP_HTTP1_MAX_BODY 65536
#endif

/* One message, valid during the callback. */
struct mcp_http_msg {
	uint8_t is_request;
	uint32_t stream;            /* HTTP/2 stream id; 0 for HTTP/1.1 */
	int status;                 /* responses */
	char method[8];             /* requests */
	char path[256];
	char content_type[160];
	char location[256];
	/* HTTP2-Settings of an upgrade request (RFC 7540 3.2.1); one byte beyond
	 * MCP_H2_MAX_UPGRADE_SETTINGS so that a longer value shows as such */
	char h2_settings[130];
	const uint8_t *body;
	uint32_t body_len;
};

enum mcp_http1_err {
	MCP_HTTP1_ERR_START,       /* a header block without a valid start line (skipped) */
	MCP_HTTP1_ERR_HDR_SIZE,    /* header block too large */
	MCP_HTTP1_ERR_BODY_SIZE,   /* body too large: skipped */
	MCP_HTTP1_ERR_CHUNKED,     /* chunked transfer coding: not followed (stream resyncs) */
	MCP_HTTP1_ERR__MAX
};

typedef void (*mcp_http_msg_fn)(void *ctx, const struct mcp_http_msg *m);

struct mcp_http1 {
	uint8_t state;              /* 0 headers, 1 body kept, 2 body skipped */
	uint8_t stop;               /* set (by the callback, or at "PRI "): feed returns early */
	uint32_t hlen, need, blen;
	uint8_t *body;              /* MCP_HTTP1_MAX_BODY bytes, allocated at the first body */
	struct mcp_http_msg msg;
	uint64_t *err;              /* MCP_HTTP1_ERR__MAX counters, set by the caller */
	char hdr[MCP_HTTP1_MAX_HDR];
};

/* Feeds in-order bytes; calls fn for each complete message. Returns the bytes used: all of
 * them, unless h->stop was set (a 101 Switching Protocols the callback marked, or the HTTP/2
 * preface at a message start), where the rest belongs to the next protocol. */
size_t mcp_http1_feed(struct mcp_http1 *h, const uint8_t *p, size_t n, mcp_http_msg_fn fn,
		      void *ctx);
/* Bytes were lost: forget the partial message, wait for a start line. */
void mcp_http1_gap(struct mcp_http1 *h);
void mcp_http1_free(struct mcp_http1 *h);

#endif /* MCP_HTTP1_H */
