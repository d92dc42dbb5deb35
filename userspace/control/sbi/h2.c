/* h2.c - HTTP/2 frames of one direction (RFC 9113 4, 6) and their header blocks through
 * libnghttp2's HPACK inflater (RFC 7541).
 *
 *  frame: length(24) type(8) flags(8) R(1) stream(31) payload
 *  DATA 0 [pad len] data [pad]            HEADERS 1 [pad len] [E dep(31) weight] block [pad]
 *  SETTINGS 4 (id(16) value(32))*         PUSH_PROMISE 5 [pad len] R promised(31) block [pad]
 *  CONTINUATION 9 block                   flags: END_STREAM 0x1 END_HEADERS 0x4 PADDED 0x8
 *                                                PRIORITY 0x20 (SETTINGS: ACK 0x1)
 */
#include "control/sbi/h2.h"

#include <errno.h>
#include <nghttp2/nghttp2.h>
#include <stdlib.h>
#include <string.h>

#define F_END_STREAM  0x01
#define F_END_HEADERS 0x04
#define F_PADDED      0x08
#define F_PRIORITY    0x20
#define SETTINGS_HEADER_TABLE_SIZE 1
#define SETTINGS_MAX_FRAME_SIZE    5
#define MIN_MAX_FRAME_SIZE 16384    /* RFC 9113 6.5.2: the smallest value a peer may set */
#define MAX_MAX_FRAME_SIZE 16777215

struct mcp_h2_stream {
	uint32_t id;                  /* 0: free */
	uint8_t overflow;
	struct mcp_http_msg msg;
	uint8_t *body;
	uint32_t blen;
};

static void fail(struct mcp_h2 *h, enum mcp_h2_err e, int dead)
{
	h->err[e]++;
	if (dead)
		h->dead = 1;
}

int mcp_h2_init(struct mcp_h2 *h, int client, uint64_t *err)
{
	nghttp2_hd_inflater *inf;

	memset(h, 0, sizeof(*h));
	h->err = err;
	h->client = (uint8_t)client;
	h->preface_left = client ? MCP_H2_PREFACE_LEN : 0;
	h->max_frame = MCP_H2_MAX_FRAME; /* until the receiver says less (a mid-stream start) */
	if (nghttp2_hd_inflate_new(&inf))
		return -ENOMEM;
	h->inflater = inf;
	h->streams = calloc(MCP_H2_MAX_STREAMS, sizeof(*h->streams));
	return h->streams ? 0 : -ENOMEM;
}

void mcp_h2_free(struct mcp_h2 *h)
{
	if (h->inflater)
		nghttp2_hd_inflate_del(h->inflater);
	for (int i = 0; h->streams && i < MCP_H2_MAX_STREAMS; i++)
		free(h->streams[i].body);
	free(h->streams);
	free(h->frame);
	free(h->block);
	memset(h, 0, sizeof(*h));
}

void mcp_h2_gap(struct mcp_h2 *h)
{
	h->dead = 1;
}

static struct mcp_h2_stream *stream_of(struct mcp_h2 *h, uint32_t id)
{
	for (int i = 0; i < MCP_H2_MAX_STREAMS; i++)
		if (h->streams[i].id == id)
			return &h->streams[i];
	return NULL;
}

static void copy_val(char *dst, size_t sz, const nghttp2_nv *nv)
{
	size_t n = nv->valuelen < sz - 1 ? nv->valuelen : sz - 1;

	memcpy(dst, nv->value, n);
	dst[n] = '\0';
}

static void take_header(struct mcp_http_msg *m, const nghttp2_nv *nv)
{
	const char *n = (const char *)nv->name;

	if (nv->namelen == 7 && !memcmp(n, ":method", 7)) {
		copy_val(m->method, sizeof(m->method), nv);
		m->is_request = 1;
	} else if (nv->namelen == 5 && !memcmp(n, ":path", 5)) {
		copy_val(m->path, sizeof(m->path), nv);
	} else if (nv->namelen == 7 && !memcmp(n, ":status", 7) && nv->valuelen == 3) {
		m->status = atoi((const char *)nv->value);
	} else if (nv->namelen == 12 && !memcmp(n, "content-type", 12)) {
		copy_val(m->content_type, sizeof(m->content_type), nv);
	} else if (nv->namelen == 8 && !memcmp(n, "location", 8)) {
		copy_val(m->location, sizeof(m->location), nv);
	}
}

/* Inflates the whole block (always, to keep the dynamic table in step). 0, or -1 if the
 * message is to be dropped (list too large), or -2 on an HPACK error. */
static int inflate_block(struct mcp_h2 *h, const uint8_t *in, size_t n, struct mcp_http_msg *m)
{
	size_t list = 0;

	for (;;) {
		nghttp2_nv nv;
		int fl = 0;
		ssize_t rv = nghttp2_hd_inflate_hd2(h->inflater, &nv, &fl, in, n, 1);

		if (rv < 0)
			return -2;
		in += rv;
		n -= (size_t)rv;
		if (fl & NGHTTP2_HD_INFLATE_EMIT) {
			list += nv.namelen + nv.valuelen + 32;
			if (list <= MCP_H2_MAX_LIST)
				take_header(m, &nv);
		}
		if (fl & NGHTTP2_HD_INFLATE_FINAL) {
			nghttp2_hd_inflate_end_headers(h->inflater);
			break;
		}
		if (!(fl & NGHTTP2_HD_INFLATE_EMIT) && !n)
			return -2; /* the block ended inside a field */
	}
	return list > MCP_H2_MAX_LIST ? -1 : 0;
}

static void block_done(struct mcp_h2 *h, mcp_http_msg_fn fn, mcp_h2_want_fn want, void *ctx)
{
	struct mcp_http_msg m;
	struct mcp_h2_stream *s;
	int rc;

	memset(&m, 0, sizeof(m));
	m.stream = h->block_stream;
	h->in_block = 0;
	rc = inflate_block(h, h->block, h->blen, &m);
	if (rc == -2) {
		fail(h, MCP_H2_ERR_HPACK, 1);
		return;
	}
	if (rc == -1) {
		fail(h, MCP_H2_ERR_LIST_SIZE, 0);
		return;
	}
	if (h->block_discard || (s = stream_of(h, h->block_stream))) /* push, trailers */
		return;
	if (!m.is_request || h->block_end_stream || !want(ctx, &m)) {
		fn(ctx, &m);
		return;
	}
	if (!(s = stream_of(h, 0))) {
		fail(h, MCP_H2_ERR_STREAMS, 0);
		return;
	}
	memset(s, 0, sizeof(*s));
	s->id = h->block_stream;
	s->msg = m;
}

/* Adds a header block fragment; the block ends with END_HEADERS. */
static void block_add(struct mcp_h2 *h, const uint8_t *p, uint32_t n, uint8_t flags,
		      mcp_http_msg_fn fn, mcp_h2_want_fn want, void *ctx)
{
	if (!h->block && !(h->block = malloc(MCP_H2_MAX_BLOCK))) {
		h->dead = 1;
		return;
	}
	if (h->blen + n > MCP_H2_MAX_BLOCK) {
		fail(h, MCP_H2_ERR_CONTINUATION, 1);
		return;
	}
	memcpy(h->block + h->blen, p, n);
	h->blen += n;
	if (flags & F_END_HEADERS)
		block_done(h, fn, want, ctx);
}

static void data_frame(struct mcp_h2 *h, uint32_t sid, uint8_t flags, const uint8_t *p,
		       uint32_t n, mcp_http_msg_fn fn, void *ctx)
{
	struct mcp_h2_stream *s = stream_of(h, sid);

	if (!s || !sid)
		return;
	if (s->blen + n > MCP_HTTP1_MAX_BODY) {
		if (!s->overflow)
			fail(h, MCP_H2_ERR_BODY_SIZE, 0);
		s->overflow = 1;
	} else if (n) {
		if (!s->body && !(s->body = malloc(MCP_HTTP1_MAX_BODY))) {
			s->overflow = 1;
			return;
		}
		memcpy(s->body + s->blen, p, n);
		s->blen += n;
	}
	if (flags & F_END_STREAM) {
		if (!s->overflow) {
			s->msg.body = s->body;
			s->msg.body_len = s->blen;
			fn(ctx, &s->msg);
		}
		free(s->body);
		memset(s, 0, sizeof(*s));
	}
}

int mcp_h2_apply_settings(struct mcp_h2 *h, const uint8_t *p, uint32_t n)
{
	int rc = n % 6 ? -EBADMSG : 0;

	if (!h->inflater)
		return 0; /* that direction is not HTTP/2 (yet): nothing to size */
	for (uint32_t i = 0; i + 6 <= n; i += 6) {
		uint16_t id = (uint16_t)(p[i] << 8 | p[i + 1]);
		uint32_t v = (uint32_t)p[i + 2] << 24 | (uint32_t)p[i + 3] << 16 |
			     (uint32_t)p[i + 4] << 8 | p[i + 5];

		if (id == SETTINGS_HEADER_TABLE_SIZE) {
			nghttp2_hd_inflate_change_table_size(h->inflater,
							     v < MCP_H2_MAX_TABLE ? v : MCP_H2_MAX_TABLE);
		} else if (id == SETTINGS_MAX_FRAME_SIZE) {
			if (v < MIN_MAX_FRAME_SIZE || v > MAX_MAX_FRAME_SIZE)
				rc = -EBADMSG;
			else
				h->max_frame = v < MCP_H2_MAX_FRAME ? v : MCP_H2_MAX_FRAME;
		}
	}
	if (rc)
		h->err[MCP_H2_ERR_SETTINGS]++;
	return rc;
}

static int b64url_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '-' ? 62 : c == '_' ? 63 : -1;
}

int mcp_h2_upgrade_settings(const char *b64, uint8_t *out, size_t outsz)
{
	size_t len = strnlen(b64, MCP_H2_MAX_UPGRADE_SETTINGS + 1), o = 0;
	uint32_t acc = 0;
	int bits = 0;

	if (len > MCP_H2_MAX_UPGRADE_SETTINGS)
		return -EBADMSG;
	while (len && b64[len - 1] == '=')
		len--;
	for (size_t i = 0; i < len; i++) {
		int v = b64url_value(b64[i]);

		if (v < 0)
			return -EBADMSG;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == outsz)
				return -EBADMSG;
			out[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc || o % 6) /* leftover bits must be zero padding; whole settings only */
		return -EBADMSG;
	return (int)o;
}

static void settings_frame(struct mcp_h2 *h, uint8_t flags, const uint8_t *p, uint32_t n)
{
	if (flags & 0x01)
		return; /* ACK */
	/* what the sender of h receives: the limits of the other direction */
	if (h->peer)
		mcp_h2_apply_settings(h->peer, p, n);
}

/* Padding and priority fields removed from a HEADERS / PUSH_PROMISE / DATA payload. */
static int unpad(uint8_t type, uint8_t flags, const uint8_t **p, uint32_t *n)
{
	uint32_t pad = 0, skip = 0;

	if ((flags & F_PADDED) && type != 9) {
		if (!*n)
			return -1;
		pad = (*p)[0];
		skip = 1;
	}
	if (type == 1 && (flags & F_PRIORITY))
		skip += 5;
	if (type == 5)
		skip += 4;
	if (skip + pad > *n)
		return -1;
	*p += skip;
	*n -= skip + pad;
	return 0;
}

static void frame_done(struct mcp_h2 *h, mcp_http_msg_fn fn, mcp_h2_want_fn want, void *ctx)
{
	uint8_t type = h->fh[3], flags = h->fh[4];
	uint32_t sid = ((uint32_t)h->fh[5] << 24 | (uint32_t)h->fh[6] << 16 |
			(uint32_t)h->fh[7] << 8 | h->fh[8]) & 0x7fffffff;
	const uint8_t *p = h->frame;
	uint32_t n = h->flen;

	if (h->in_block != (type == 9) || (type == 9 && sid != h->block_stream)) {
		fail(h, MCP_H2_ERR_CONTINUATION, 1); /* RFC 9113 6.10: nothing may interleave */
		return;
	}
	if ((type <= 1 || type == 5) && unpad(type, flags, &p, &n) < 0) {
		fail(h, MCP_H2_ERR_FRAME_SIZE, type != 0);
		return;
	}
	switch (type) {
	case 0:
		data_frame(h, sid, flags, p, n, fn, ctx);
		break;
	case 1:
	case 5:
		h->in_block = 1;
		h->blen = 0;
		h->ncont = 0;
		h->block_stream = sid;
		h->block_end_stream = flags & F_END_STREAM;
		h->block_discard = type == 5;
		block_add(h, p, n, flags, fn, want, ctx);
		break;
	case 9:
		if (++h->ncont > MCP_H2_MAX_CONT)
			fail(h, MCP_H2_ERR_CONTINUATION, 1);
		else
			block_add(h, p, n, flags, fn, want, ctx);
		break;
	case 3: { /* RST_STREAM */
		struct mcp_h2_stream *s = sid ? stream_of(h, sid) : NULL;

		if (s)
			free(s->body), memset(s, 0, sizeof(*s));
		break;
	}
	case 4:
		settings_frame(h, flags, p, n);
		break;
	default: /* PRIORITY, PING, GOAWAY, WINDOW_UPDATE, extensions */
		break;
	}
}

void mcp_h2_feed(struct mcp_h2 *h, const uint8_t *p, size_t n, mcp_http_msg_fn fn,
		 mcp_h2_want_fn want, void *ctx)
{
	while (n && !h->dead) {
		size_t k;

		if (h->preface_left) {
			k = n < h->preface_left ? n : h->preface_left;
			static const char preface[] = MCP_H2_PREFACE;

			if (memcmp(p, preface + (MCP_H2_PREFACE_LEN - h->preface_left), k)) {
				fail(h, MCP_H2_ERR_PREFACE, 1);
				return;
			}
			h->preface_left -= (uint32_t)k;
		} else if (h->fhlen < 9) {
			k = n < 9 - h->fhlen ? n : 9 - h->fhlen;
			memcpy(h->fh + h->fhlen, p, k);
			h->fhlen += (uint32_t)k;
			if (h->fhlen == 9) {
				h->flen = (uint32_t)h->fh[0] << 16 | (uint32_t)h->fh[1] << 8 | h->fh[2];
				h->fgot = 0;
				if (h->flen > h->max_frame) {
					fail(h, MCP_H2_ERR_FRAME_SIZE, 1);
					return;
				}
				if (!h->frame && !(h->frame = malloc(MCP_H2_MAX_FRAME))) {
					h->dead = 1;
					return;
				}
			}
		} else {
			k = n < h->flen - h->fgot ? n : h->flen - h->fgot;
			memcpy(h->frame + h->fgot, p, k);
			h->fgot += (uint32_t)k;
		}
		p += k;
		n -= k;
		if (h->fhlen == 9 && h->fgot == h->flen) {
			h->fhlen = 0;
			frame_done(h, fn, want, ctx);
		}
	}
}
