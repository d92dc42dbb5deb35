/* resp_out.c - RESP reply encoding (resp_out.h). */
#include "resp/resp_out.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mcp_resp_raw(struct mcp_resp_out *o, const char *s, size_t n)
{
	if (o->failed)
		return;
	if (o->len + n > o->cap) {
		size_t cap = o->cap ? o->cap : 512;
		char *b;

		while (cap < o->len + n)
			cap *= 2;
		if (!(b = realloc(o->b, cap))) {
			o->failed = 1;
			return;
		}
		o->b = b;
		o->cap = cap;
	}
	memcpy(o->b + o->len, s, n);
	o->len += n;
}

static void line(struct mcp_resp_out *o, char type, const char *s)
{
	mcp_resp_raw(o, &type, 1);
	mcp_resp_raw(o, s, strlen(s));
	mcp_resp_raw(o, "\r\n", 2);
}

static void header(struct mcp_resp_out *o, char type, long long n)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%c%lld\r\n", type, n);
	mcp_resp_raw(o, buf, strlen(buf));
}

void mcp_resp_simple(struct mcp_resp_out *o, const char *s)
{
	line(o, '+', s);
}

void mcp_resp_error(struct mcp_resp_out *o, const char *s)
{
	line(o, '-', s);
}

void mcp_resp_int(struct mcp_resp_out *o, long long v)
{
	header(o, ':', v);
}

void mcp_resp_bulk(struct mcp_resp_out *o, const char *s, size_t n)
{
	header(o, '$', (long long)n);
	mcp_resp_raw(o, s, n);
	mcp_resp_raw(o, "\r\n", 2);
}

void mcp_resp_str(struct mcp_resp_out *o, const char *s)
{
	mcp_resp_bulk(o, s, strlen(s));
}

void mcp_resp_null(struct mcp_resp_out *o)
{
	if (o->resp3)
		mcp_resp_raw(o, "_\r\n", 3);
	else
		mcp_resp_raw(o, "$-1\r\n", 5);
}

void mcp_resp_array(struct mcp_resp_out *o, size_t n)
{
	header(o, '*', (long long)n);
}

void mcp_resp_map(struct mcp_resp_out *o, size_t pairs)
{
	if (o->resp3)
		header(o, '%', (long long)pairs);
	else
		header(o, '*', (long long)pairs * 2);
}

void mcp_resp_set(struct mcp_resp_out *o, size_t n)
{
	header(o, o->resp3 ? '~' : '*', (long long)n);
}
