/* live_inline.h - the input of inline mode: copies of frames from the XDP program's inline
 * ring (BPF ring buffer), for interfaces whose program runs with MCP_CFG_F_INLINE.
 *
 * On a forwarding path every frame must reach the stack, and AF_XDP cannot both deliver a
 * frame to userspace and pass it on. So in inline mode the XDP program copies each frame that
 * userspace must see (header with the metadata + up to MCP_CAPTURE_MAX_SNAP bytes) into the
 * inline ring and returns XDP_PASS; a full ring costs userspace that frame (counted by XDP as
 * copy_lost), never the stack. One consumer for every interface's ring.
 */
#ifndef MCP_LIVE_INLINE_H
#define MCP_LIVE_INLINE_H

#include <stdint.h>

#include "mcp_meta.h"

struct mcp_live_inline;

/* Called for each copy: cap_len bytes of a wire_len-byte frame (truncated beyond
 * MCP_CAPTURE_MAX_SNAP), meta NULL when the record carries no valid metadata. */
typedef void (*mcp_inline_frame_fn)(void *ctx, const uint8_t *frame, uint32_t cap_len,
				    uint32_t wire_len, const struct mcp_meta *meta);

/* Adds the inline ring of one interface (map_fd), creating the consumer on the first call.
 * 0 or -errno. */
int mcp_live_inline_add(struct mcp_live_inline **li, int map_fd, mcp_inline_frame_fn fn,
			void *ctx);
/* Takes every copy waiting in the rings (never blocks). Returns the number of frames. */
unsigned int mcp_live_inline_consume(struct mcp_live_inline *li);
/* A descriptor that polls readable when a copy is waiting. */
int mcp_live_inline_fd(const struct mcp_live_inline *li);
/* Frames handed to fn, and malformed records skipped. */
void mcp_live_inline_counts(const struct mcp_live_inline *li, uint64_t *frames, uint64_t *bad);
void mcp_live_inline_free(struct mcp_live_inline *li);

#endif /* MCP_LIVE_INLINE_H */
