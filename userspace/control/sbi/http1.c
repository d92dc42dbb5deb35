/* http1.c - HTTP/1.1 message framing (RFC 9112 2-6) for the SBI over TCP.
 *
 *  request:  method SP request-target SP HTTP/1.x CRLF *(field CRLF) CRLF [body]
 *  response: HTTP/1.x SP 3DIGIT SP reason CRLF *(field CRLF) CRLF [body]
 *
 * Only Content-Length bodies are followed (what the SBI's NFs send over HTTP/1.1).
 */
#include "control/sbi/http1.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ST_HDR  0
#define ST_BODY 1
#define ST_SKIP 2

void mcp_http1_gap(struct mcp_http1 *h)
{
	h->state = ST_HDR;
	h->hlen = 0;
	h->need = h->blen = 0;
}

void mcp_http1_free(struct mcp_http1 *h)
{
	free(h->body);
	h->body = NULL;
}

/* Copies the field value (after optional whitespace) into out. */
static void field_value(const char *v, const char *end, char *out, size_t outsz)
{
	size_t n;

	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	n = (size_t)(end - v) < outsz - 1 ? (size_t)(end - v) : outsz - 1;
	memcpy(out, v, n);
	out[n] = '\0';
}

static int start_line(struct mcp_http_msg *m, const char *l, const char *end)
{
	const char *sp1 = memchr(l, ' ', (size_t)(end - l)), *sp2;

	if (!sp1)
		return -1;
	if (end - l >= 12 && !memcmp(l, "HTTP/1.", 7)) {
		if (sp1 - l != 8 || end - sp1 < 4)
			return -1;
		for (int i = 1; i <= 3; i++)
			if (sp1[i] < '0' || sp1[i] > '9')
				return -1;
		m->status = (sp1[1] - '0') * 100 + (sp1[2] - '0') * 10 + (sp1[3] - '0');
		return 0;
	}
	sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1));
	if (!sp2 || sp1 - l >= (long)sizeof(m->method) || sp1 == l || end - sp2 < 9 ||
	    memcmp(sp2 + 1, "HTTP/1.", 7))
		return -1;
	for (const char *c = l; c < sp1; c++)
		if (*c < 'A' || *c > 'Z')
			return -1;
	memcpy(m->method, l, (size_t)(sp1 - l));
	m->method[sp1 - l] = '\0';
	field_value(sp1 + 1, sp2, m->path, sizeof(m->path));
	m->is_request = 1;
	return 0;
}

/* Parses the header block hdr[0..len) (without the final CRLF CRLF). 0 or -1. */
static int header_block(struct mcp_http1 *h, uint32_t len, int *chunked)
{
	const char *p = h->hdr, *end = h->hdr + len, *eol, *colon;
	struct mcp_http_msg *m = &h->msg;
	unsigned long cl = 0;

	memset(m, 0, sizeof(*m));
	*chunked = 0;
	eol = memmem(p, (size_t)(end - p), "\r\n", 2);
	if (start_line(m, p, eol ? eol : end) < 0)
		return -1;
	h->need = 0;
	for (p = eol ? eol + 2 : end; p < end; p = eol + 2) {
		eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		if (!eol)
			eol = end;
		colon = memchr(p, ':', (size_t)(eol - p));
		if (!colon)
			continue;
		if (colon - p == 14 && !strncasecmp(p, "Content-Length", 14)) {
			char num[16];

			field_value(colon + 1, eol, num, sizeof(num));
			cl = strtoul(num, NULL, 10);
			h->need = cl > UINT32_MAX ? UINT32_MAX : (uint32_t)cl;
		} else if (colon - p == 12 && !strncasecmp(p, "Content-Type", 12)) {
			field_value(colon + 1, eol, m->content_type, sizeof(m->content_type));
		} else if (colon - p == 8 && !strncasecmp(p, "Location", 8)) {
			field_value(colon + 1, eol, m->location, sizeof(m->location));
		} else if (colon - p == 14 && !strncasecmp(p, "HTTP2-Settings", 14)) {
			field_value(colon + 1, eol, m->h2_settings, sizeof(m->h2_settings));
		} else if (colon - p == 17 && !strncasecmp(p, "Transfer-Encoding", 17)) {
			*chunked = memmem(colon, (size_t)(eol - colon), "chunked", 7) != NULL;
		}
		if (eol == end)
			break;
	}
	return 0;
}

/* A complete header block of hlen bytes is in hdr: decide what follows. */
static void headers_done(struct mcp_http1 *h, uint32_t hlen, mcp_http_msg_fn fn, void *ctx)
{
	int chunked;

	h->hlen = 0;
	if (header_block(h, hlen, &chunked) < 0) {
		h->err[MCP_HTTP1_ERR_START]++;
		return;
	}
	if (chunked) {
		h->err[MCP_HTTP1_ERR_CHUNKED]++;
		return;
	}
	h->blen = 0;
	if (!h->need) {
		fn(ctx, &h->msg);
		return;
	}
	if (h->need > MCP_HTTP1_MAX_BODY) {
		h->err[MCP_HTTP1_ERR_BODY_SIZE]++;
		h->state = ST_SKIP;
		return;
	}
	if (!h->body && !(h->body = malloc(MCP_HTTP1_MAX_BODY))) {
		h->state = ST_SKIP;
		return;
	}
	h->state = ST_BODY;
}

/* Header bytes: returns how many of p were used. */
static size_t feed_hdr(struct mcp_http1 *h, const uint8_t *p, size_t n, mcp_http_msg_fn fn,
		       void *ctx)
{
	uint32_t old = h->hlen, from = old > 3 ? old - 3 : 0;
	size_t take = n < MCP_HTTP1_MAX_HDR - old ? n : MCP_HTTP1_MAX_HDR - old;
	char *e;

	if (!old) { /* CRLFs between messages */
		size_t i = 0;

		if (n >= 4 && !memcmp(p, "PRI ", 4)) { /* the h2 preface after an upgrade */
			h->stop = 1;
			return 0;
		}

		while (i < n && (p[i] == '\r' || p[i] == '\n'))
			i++;
		if (i)
			return i;
	}
	memcpy(h->hdr + old, p, take);
	h->hlen += (uint32_t)take;
	e = memmem(h->hdr + from, h->hlen - from, "\r\n\r\n", 4);
	if (e) {
		uint32_t blk = (uint32_t)(e - h->hdr);

		headers_done(h, blk, fn, ctx);
		return blk + 4 - old;
	}
	if (h->hlen == MCP_HTTP1_MAX_HDR) {
		h->err[MCP_HTTP1_ERR_HDR_SIZE]++;
		memmove(h->hdr, h->hdr + h->hlen - 3, 3); /* a CRLFCRLF may straddle the cut */
		h->hlen = 3;
	}
	return take;
}

size_t mcp_http1_feed(struct mcp_http1 *h, const uint8_t *p, size_t n, mcp_http_msg_fn fn,
		      void *ctx)
{
	size_t k, used = 0;

	while (n && !h->stop) {
		switch (h->state) {
		case ST_HDR:
			k = feed_hdr(h, p, n, fn, ctx);
			break;
		case ST_BODY:
			k = n < h->need - h->blen ? n : h->need - h->blen;
			memcpy(h->body + h->blen, p, k);
			h->blen += (uint32_t)k;
			if (h->blen == h->need) {
				h->msg.body = h->body;
				h->msg.body_len = h->blen;
				h->state = ST_HDR;
				fn(ctx, &h->msg);
			}
			break;
		default:
			k = n < h->need ? n : h->need;
			h->need -= (uint32_t)k;
			if (!h->need)
				h->state = ST_HDR;
			break;
		}
		p += k;
		n -= k;
		used += k;
	}
	return used;
}
