/* live_inline.c - inline mode's input: copies from the inline ring (live_inline.h). */
#include "live/live_inline.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "mcp_map_layout.h"

struct mcp_live_inline {
	struct ring_buffer *rb;
	mcp_inline_frame_fn fn;
	void *ctx;
	uint64_t frames, bad;
};

/* One ring record: struct mcp_capture_hdr, then cap_len bytes. The kernel wrote it, but a
 * record is still checked before its lengths are trusted. */
static int on_record(void *ctx, void *data, size_t size)
{
	struct mcp_live_inline *li = ctx;
	struct mcp_capture_hdr h;

	if (size < sizeof(h)) {
		li->bad++;
		return 0;
	}
	memcpy(&h, data, sizeof(h));
	if (h.cap_len == 0 || h.cap_len > size - sizeof(h) || h.wire_len < h.cap_len) {
		li->bad++;
		return 0;
	}
	li->frames++;
	li->fn(li->ctx, (const uint8_t *)data + sizeof(h), h.cap_len, h.wire_len,
	       h.meta.magic == MCP_META_MAGIC ? &h.meta : NULL);
	return 0;
}

int mcp_live_inline_add(struct mcp_live_inline **lip, int map_fd, mcp_inline_frame_fn fn,
			void *ctx)
{
	struct mcp_live_inline *li = *lip;

	if (!li) {
		li = calloc(1, sizeof(*li));
		if (!li)
			return -ENOMEM;
		li->fn = fn;
		li->ctx = ctx;
		li->rb = ring_buffer__new(map_fd, on_record, li, NULL);
		if (!li->rb) {
			int err = -errno;

			free(li);
			return err ? err : -EINVAL;
		}
		*lip = li;
		return 0;
	}
	return ring_buffer__add(li->rb, map_fd, on_record, li);
}

unsigned int mcp_live_inline_consume(struct mcp_live_inline *li)
{
	uint64_t before;

	if (!li)
		return 0;
	before = li->frames + li->bad;
	ring_buffer__consume(li->rb);
	return (unsigned int)(li->frames + li->bad - before);
}

int mcp_live_inline_fd(const struct mcp_live_inline *li)
{
	return li ? ring_buffer__epoll_fd(li->rb) : -1;
}

void mcp_live_inline_counts(const struct mcp_live_inline *li, uint64_t *frames, uint64_t *bad)
{
	*frames = li ? li->frames : 0;
	*bad = li ? li->bad : 0;
}

void mcp_live_inline_free(struct mcp_live_inline *li)
{
	if (!li)
		return;
	ring_buffer__free(li->rb);
	free(li);
}
