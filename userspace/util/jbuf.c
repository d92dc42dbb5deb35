/* jbuf.c - streaming JSON primitives into a growable buffer (jbuf.h; RFC 8259, RFC 3629). */
#include "util/jbuf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int mcp_jbuf_reserve(struct mcp_jbuf *b, size_t more)
{
	size_t want = b->len + more, cap = b->cap ? b->cap : 4096;
	char *p;

	if (want <= b->cap)
		return 0;
	if (b->oom)
		return -ENOMEM;
	while (cap < want)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->oom = 1;
		return -ENOMEM;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void mcp_jbuf_free(struct mcp_jbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* Length of the valid UTF-8 sequence at s (2..4; s[0] >= 0x80), or 0 if it is not one. The
 * string is NUL-terminated, so a cut sequence fails at the NUL (not a continuation byte). */
static int utf8_seq_len(const unsigned char *s)
{
	uint32_t cp;
	int n;

	if ((s[0] & 0xe0) == 0xc0)
		n = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0; /* overlong, out of range or a surrogate */
	return n;
}

/* Worst case per input byte: a control character becomes 6 bytes (\u001f), an invalid byte
 * 3 (U+FFFD). */
#define JSON_ESC_MAX 6

void mcp_jbuf_str(struct mcp_jbuf *b, const char *str)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str);
	char *o;

	if (mcp_jbuf_reserve(b, n * JSON_ESC_MAX + 2))
		return;
	o = b->p + b->len;
	*o++ = '"';
	while (*s) {
		unsigned char c = *s;
		int len;

		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			*o++ = (char)c; /* the common case: printable ASCII */
			s++;
			continue;
		}
		if (c >= 0x80) {
			len = utf8_seq_len(s);
			if (len) {
				memcpy(o, s, (size_t)len);
				o += len;
				s += len;
			} else {
				memcpy(o, "\xef\xbf\xbd", 3);
				o += 3;
				s++;
			}
			continue;
		}
		*o++ = '\\';
		switch (c) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '\b': *o++ = 'b'; break;
		case '\f': *o++ = 'f'; break;
		case '\n': *o++ = 'n'; break;
		case '\r': *o++ = 'r'; break;
		case '\t': *o++ = 't'; break;
		default:
			memcpy(o, "u00", 3);
			o[3] = hex[c >> 4];
			o[4] = hex[c & 15];
			o += 5;
		}
		s++;
	}
	*o++ = '"';
	b->len = (size_t)(o - b->p);
}

void mcp_jbuf_u64(struct mcp_jbuf *b, uint64_t v)
{
	char tmp[20];
	int n = 0;

	do {
		tmp[sizeof(tmp) - 1 - n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	mcp_jbuf_raw(b, tmp + sizeof(tmp) - n, (size_t)n);
}

void mcp_jbuf_i64(struct mcp_jbuf *b, int64_t v)
{
	if (v < 0) {
		mcp_jbuf_raw(b, "-", 1);
		mcp_jbuf_u64(b, (uint64_t)0 - (uint64_t)v);
		return;
	}
	mcp_jbuf_u64(b, (uint64_t)v);
}

/* One byte as decimal, no leading zeros. */
static char *put_u8(char *o, unsigned v)
{
	if (v >= 100)
		*o++ = (char)('0' + v / 100);
	if (v >= 10)
		*o++ = (char)('0' + v / 10 % 10);
	*o++ = (char)('0' + v % 10);
	return o;
}

void mcp_jbuf_ip(struct mcp_jbuf *b, const struct mcp_ip *ip)
{
	char tmp[MCP_IP_STRLEN + 2], *o = tmp;

	*o++ = '"';
	if (mcp_ip_is_v4(ip)) {
		for (int i = 12; i < 16; i++) {
			o = put_u8(o, ip->b[i]);
			*o++ = '.';
		}
		o--; /* the last dot */
	} else {
		inet_ntop(AF_INET6, ip->b, o, MCP_IP_STRLEN);
		o += strlen(o);
	}
	*o++ = '"';
	mcp_jbuf_raw(b, tmp, (size_t)(o - tmp));
}
