/* resp_parse.c - bounded RESP request parser (resp_parse.h). */
#include "resp/resp_parse.h"

#include <string.h>

#define NUM_INCOMPLETE -2
#define NUM_BAD -1
#define NUM_NULL -3 /* "-1": a null array */

/* Reads "<digits>\r\n" at *pos (at most max): the value or NUM_*. */
static long long read_num(const char *b, size_t len, size_t *pos, long long max)
{
	long long v = 0;
	size_t p = *pos, start;
	int neg = p < len && b[p] == '-';

	p += (size_t)neg;
	start = p;
	for (; p < len && b[p] >= '0' && b[p] <= '9'; p++) {
		v = v * 10 + (b[p] - '0');
		if (v > max)
			return NUM_BAD;
	}
	if (p + 1 >= len)
		return NUM_INCOMPLETE;
	if (p == start || b[p] != '\r' || b[p + 1] != '\n')
		return NUM_BAD;
	*pos = p + 2;
	if (neg)
		return v == 1 ? NUM_NULL : NUM_BAD;
	return v;
}

static int fail(struct mcp_resp_req *r, const char *why)
{
	r->error = why;
	return -1;
}

/* "PING\r\n" as typed into telnet: words split on blanks. */
static int parse_inline(const char *b, size_t len, struct mcp_resp_req *r)
{
	const char *nl = memchr(b, '\n', len);
	size_t end, p = 0;

	if (!nl)
		return len >= MCP_RESP_MAX_ARG ? fail(r, "ERR Protocol error: too big inline request")
					       : 0;
	end = (size_t)(nl - b);
	r->used = end + 1;
	if (end && b[end - 1] == '\r')
		end--;
	while (p < end) {
		size_t s;

		while (p < end && (b[p] == ' ' || b[p] == '\t'))
			p++;
		if (p >= end)
			break;
		if (r->argc >= MCP_RESP_MAX_ARGS)
			return fail(r, "ERR Protocol error: too many arguments");
		s = p;
		while (p < end && b[p] != ' ' && b[p] != '\t')
			p++;
		r->argv[r->argc] = b + s;
		r->argl[r->argc++] = p - s;
	}
	return 1;
}

int mcp_resp_parse(const char *b, size_t len, struct mcp_resp_req *r)
{
	size_t pos = 1;
	long long n;

	r->error = NULL;
	r->argc = 0;
	if (!len)
		return 0;
	if (b[0] != '*')
		return parse_inline(b, len, r);
	n = read_num(b, len, &pos, MCP_RESP_MAX_ARGS);
	if (n == NUM_INCOMPLETE)
		return 0;
	if (n == NUM_BAD)
		return fail(r, "ERR Protocol error: invalid multibulk length");
	for (long long i = 0; i < n; i++) {
		long long l;

		if (pos >= len)
			return 0;
		if (b[pos] != '$')
			return fail(r, "ERR Protocol error: expected '$'");
		pos++;
		l = read_num(b, len, &pos, MCP_RESP_MAX_ARG);
		if (l == NUM_INCOMPLETE)
			return 0;
		if (l < 0)
			return fail(r, "ERR Protocol error: invalid bulk length");
		if (len - pos < (size_t)l + 2)
			return 0;
		if (b[pos + l] != '\r' || b[pos + l + 1] != '\n')
			return fail(r, "ERR Protocol error: bulk not followed by CRLF");
		r->argv[r->argc] = b + pos;
		r->argl[r->argc++] = (size_t)l;
		pos += (size_t)l + 2;
	}
	r->used = pos;
	return 1;
}
