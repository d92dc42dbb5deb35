/* window.h - a look-ahead window over a capture stream (file, FIFO or standard input).
 *
 * The own capture readers (pcapng.c, pcapfile.c) validate a record before they take it and,
 * after damage, slide forward one byte at a time until a plausible record starts again. Both
 * need to look ahead without consuming, also on a stream that cannot seek: this window holds
 * up to its capacity of the stream's next bytes.
 */
#ifndef MCP_INPUT_WINDOW_H
#define MCP_INPUT_WINDOW_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct mcp_window {
	FILE *fp;
	uint8_t *buf;
	size_t cap, pos, len; /* buf[pos, len) are the stream's next bytes */
	uint64_t off;         /* stream offset of buf[pos] */
	int eof, err;         /* err: a read error (errno), not the end */
	/* Called every MCP_WINDOW_IDLE_MS while a read would wait for data (a stream), if set */
	void (*idle)(void *ctx);
	void *idle_ctx;
	/* If set and non-zero (SIGINT/SIGTERM), a read that would wait ends the stream instead,
	 * with stopped set: a quiet FIFO must not keep the probe from stopping */
	volatile sig_atomic_t *stop;
	int stopped;
	/* Stable mode (mcp_window_stable): the bytes left at a slide go to the other buffer, so a
	 * record taken stays where it is until the slide after next; before_reuse is called
	 * before that buffer is overwritten. */
	uint8_t *alt;
	void (*before_reuse)(void *ctx);
	void *reuse_ctx;
};

#define MCP_WINDOW_IDLE_MS 50

/* 0 or -ENOMEM. The window owns fp from now on (mcp_window_free closes it). */
int mcp_window_init(struct mcp_window *w, FILE *fp, size_t cap);
void mcp_window_free(struct mcp_window *w);
/* Switches w to two buffers of cap bytes each, in 2 MiB pages (util/hugemem), keeping what
 * is buffered: records stay in place until before_reuse(ctx) returns at the slide after the
 * next. 0 or -ENOMEM (w unchanged). */
int mcp_window_stable(struct mcp_window *w, size_t cap, void (*before_reuse)(void *ctx),
		      void *ctx);
/* Makes up to n bytes available (n <= cap) and returns how many are (fewer only at the end
 * of the stream). */
size_t mcp_window_fill(struct mcp_window *w, size_t n);
static inline const uint8_t *mcp_window_peek(const struct mcp_window *w)
{
	return w->buf + w->pos;
}
/* Consumes n available bytes. */
static inline void mcp_window_take(struct mcp_window *w, size_t n)
{
	w->pos += n;
	w->off += n;
}

#endif /* MCP_INPUT_WINDOW_H */
