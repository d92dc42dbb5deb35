/* window.c - a look-ahead window over a capture stream (window.h). */
#include "input/window.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/hugemem.h"

#define WINDOW_READ_MAX (256u << 10)

int mcp_window_init(struct mcp_window *w, FILE *fp, size_t cap)
{
	memset(w, 0, sizeof(*w));
	w->buf = malloc(cap);
	if (!w->buf)
		return -ENOMEM;
	w->fp = fp;
	w->cap = cap;
	return 0;
}

int mcp_window_stable(struct mcp_window *w, size_t cap, void (*before_reuse)(void *ctx),
		      void *ctx)
{
	uint8_t *a, *b;

	if (w->alt || cap < w->len - w->pos)
		return -EINVAL;
	a = mcp_huge_zalloc(cap);
	b = a ? mcp_huge_zalloc(cap) : NULL;
	if (!b) {
		mcp_huge_free(a, cap);
		return -ENOMEM;
	}
	memcpy(a, w->buf + w->pos, w->len - w->pos);
	free(w->buf);
	w->buf = a;
	w->alt = b;
	w->len -= w->pos;
	w->pos = 0;
	w->cap = cap;
	w->before_reuse = before_reuse;
	w->reuse_ctx = ctx;
	return 0;
}

void mcp_window_free(struct mcp_window *w)
{
	if (w->fp)
		fclose(w->fp);
	if (w->alt) {
		mcp_huge_free(w->buf, w->cap);
		mcp_huge_free(w->alt, w->cap);
	} else {
		free(w->buf);
	}
	memset(w, 0, sizeof(*w));
}

static int stop_requested(const struct mcp_window *w)
{
	return w->stop && *w->stop;
}

/* Until fd has data (or its end, or an error), calling the idle hook now and then; 0 once a
 * stop is requested (a signal interrupts the poll). */
static int wait_readable(struct mcp_window *w, int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int n;

	while (!stop_requested(w)) {
		n = poll(&pfd, 1, MCP_WINDOW_IDLE_MS);
		if (n > 0 || (n < 0 && errno != EINTR))
			return 1; /* the read says which */
		if (n == 0)
			w->idle(w->idle_ctx);
	}
	return 0;
}

size_t mcp_window_fill(struct mcp_window *w, size_t n)
{
	if (n > w->cap)
		n = w->cap;
	if (w->len - w->pos >= n || w->eof)
		return w->len - w->pos;
	if (w->pos + n > w->cap && w->alt) { /* what is left goes to the other buffer */
		uint8_t *next = w->alt;

		if (w->before_reuse)
			w->before_reuse(w->reuse_ctx);
		memcpy(next, w->buf + w->pos, w->len - w->pos);
		w->alt = w->buf;
		w->buf = next;
		w->len -= w->pos;
		w->pos = 0;
	} else if (w->pos + n > w->cap) { /* slide what is left to the front */
		memmove(w->buf, w->buf + w->pos, w->len - w->pos);
		w->len -= w->pos;
		w->pos = 0;
	}
	/* read(2), not fread: on a FIFO it returns what has arrived, so records are handled
	 * as they come instead of once a whole window is full */
	while (w->len - w->pos < n && !w->eof) {
		int fd = fileno(w->fp); /* -1 for a memory stream (fuzz targets) */
		ssize_t got;

		if (fd >= 0 && w->idle && !wait_readable(w, fd)) {
			w->eof = w->stopped = 1;
			break;
		}
		/* a bounded read: what it copies is still in cache when the records are parsed */
		size_t want = w->cap - w->len < WINDOW_READ_MAX ? w->cap - w->len : WINDOW_READ_MAX;

		got = fd >= 0 ? read(fd, w->buf + w->len, want)
			      : (ssize_t)fread(w->buf + w->len, 1, want, w->fp);

		if (got < 0 && errno == EINTR) {
			if (stop_requested(w)) {
				w->eof = w->stopped = 1;
				break;
			}
			continue;
		}
		if (got <= 0) {
			w->eof = 1;
			w->err = got < 0 ? errno : 0;
			break;
		}
		w->len += (size_t)got;
	}
	return w->len - w->pos;
}
