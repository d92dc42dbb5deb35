/* tcp_reasm.h - bounded in-order TCP stream reassembler, for any TCP-based decoder (the SBI).
 *
 * One entry per connection (both directions), found by the canonical 5-tuple. Each direction
 * delivers its bytes in sequence order to the caller's callback: retransmitted bytes are
 * delivered once, out-of-order segments wait (bounded per direction), a connection seen
 * mid-stream starts at its first segment. When a gap cannot be filled within the bounds the
 * direction gives up on the missing bytes, counts it, and tells the callback (data == NULL),
 * so the application parser resynchronises. Connections end on FIN/RST, idle timeout, or
 * eviction of the oldest when the table is full. Not thread-safe (one per worker).
 */
#ifndef MCP_TCP_REASM_H
#define MCP_TCP_REASM_H

#include <stddef.h>
#include <stdint.h>

#include "decode/pkt.h"

struct mcp_tcp_reasm_cfg {
	uint32_t max_conns;       /* connections tracked at once (default 4096) */
	uint32_t max_pending;     /* out-of-order bytes held per direction (default 65536) */
	uint32_t max_segments;    /* out-of-order segments held per direction (default 32) */
	uint32_t idle_timeout_ms; /* a silent connection is dropped after this (default 300000) */
};

struct mcp_tcp_reasm_stats {
	uint64_t segments, bytes_delivered, retransmitted_bytes, out_of_order;
	uint64_t gaps;            /* missing bytes given up on (limit reached, or FIN past a hole) */
	uint64_t midstream;       /* connections first seen without their SYN */
	uint64_t conns, evicted, timed_out, table_full;
};

/* A connection as the application sees it. */
struct mcp_tcp_app {
	void *app;                /* the application's parser state, NULL until it sets it */
};

/* Called with in-order bytes of direction dir (0: from the connection's first sender,
 * 1: the other way), or data == NULL and len = bytes lost for a gap. */
typedef void (*mcp_tcp_data_fn)(void *ctx, struct mcp_tcp_app *a, int dir, const uint8_t *data,
				size_t len, const struct mcp_pkt *pkt);
/* Called once when a connection whose app state is set ends. */
typedef void (*mcp_tcp_free_fn)(void *ctx, struct mcp_tcp_app *a);

struct mcp_tcp_reasm;

/* NULL on allocation failure; cfg may be NULL for defaults. */
struct mcp_tcp_reasm *mcp_tcp_reasm_create(const struct mcp_tcp_reasm_cfg *cfg,
					   mcp_tcp_data_fn on_data, mcp_tcp_free_fn on_free,
					   void *ctx);
void mcp_tcp_reasm_destroy(struct mcp_tcp_reasm *r);

/* Feeds one TCP segment (pkt->l4_proto 6, payload, tcp_flags, tcp_seq). A connection not yet
 * tracked is created only when may_create. Returns 1 if the segment's connection is tracked. */
int mcp_tcp_reasm_segment(struct mcp_tcp_reasm *r, const struct mcp_pkt *pkt, int may_create);
/* Drops connections idle since before now_ms - idle timeout. */
void mcp_tcp_reasm_expire(struct mcp_tcp_reasm *r, uint64_t now_ms);

const struct mcp_tcp_reasm_stats *mcp_tcp_reasm_stats(const struct mcp_tcp_reasm *r);

#endif /* MCP_TCP_REASM_H */
