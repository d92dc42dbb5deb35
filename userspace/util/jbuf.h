/* jbuf.h - a growable byte buffer with streaming JSON primitives (RFC 8259), for writers that
 * must format a record in well under a microsecond: no object model, no printf.
 *
 * Strings come from packets, so mcp_jbuf_str escapes '"', '\\' and every control character,
 * and replaces each byte that is not part of a valid UTF-8 sequence (overlong forms,
 * surrogates and code points above U+10FFFF included) by U+FFFD: every line parses. Keys are
 * the caller's literals and are written as given.
 */
#ifndef MCP_JBUF_H
#define MCP_JBUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mcp_addr.h"

struct mcp_jbuf {
	char *p;
	size_t len, cap;
	int oom; /* sticky: an allocation failed, the content is incomplete */
};

/* 0 or -ENOMEM; an empty buffer needs no init beyond zeroing. */
int mcp_jbuf_reserve(struct mcp_jbuf *b, size_t more);
void mcp_jbuf_free(struct mcp_jbuf *b);

static inline void mcp_jbuf_reset(struct mcp_jbuf *b)
{
	b->len = 0;
}

/* Raw bytes, no escaping (syntax the caller owns). Inline: a record makes dozens of these. */
static inline void mcp_jbuf_raw(struct mcp_jbuf *b, const char *s, size_t n)
{
	if (b->cap - b->len < n && mcp_jbuf_reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
}
/* "s" with s escaped; s is NUL-terminated. */
void mcp_jbuf_str(struct mcp_jbuf *b, const char *s);
void mcp_jbuf_u64(struct mcp_jbuf *b, uint64_t v);
void mcp_jbuf_i64(struct mcp_jbuf *b, int64_t v);
/* "a.b.c.d" for mapped IPv4, RFC 5952 text for IPv6. */
void mcp_jbuf_ip(struct mcp_jbuf *b, const struct mcp_ip *ip);

/* Object members: `,"key":` before the value, or `{"key":` for the first one. */
static inline void mcp_jbuf_key(struct mcp_jbuf *b, const char *key_literal, size_t keylen,
				int *first)
{
	mcp_jbuf_raw(b, *first ? "{\"" : ",\"", 2);
	mcp_jbuf_raw(b, key_literal, keylen);
	mcp_jbuf_raw(b, "\":", 2);
	*first = 0;
}

#endif /* MCP_JBUF_H */
