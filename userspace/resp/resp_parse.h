/* resp_parse.h - RESP request parser (multibulk "*N\r\n$len\r\n..." and inline commands) for
 * the read-only Redis view. Bounded: argument count, argument size and request size. The
 * parser never reads outside [buf, buf + len).
 */
#ifndef MCP_RESP_PARSE_H
#define MCP_RESP_PARSE_H

#include <stddef.h>

#define MCP_RESP_MAX_ARGS 1024
#define MCP_RESP_MAX_ARG (64 * 1024)
#define MCP_RESP_MAX_REQUEST (1024 * 1024)

struct mcp_resp_req {
	int argc;
	const char *argv[MCP_RESP_MAX_ARGS]; /* point into the buffer; not NUL-terminated */
	size_t argl[MCP_RESP_MAX_ARGS];
	size_t used;                         /* bytes of the buffer this request took */
	const char *error;                   /* when the parse failed: why */
};

/* 1: one request parsed into r (argc may be 0: ignore it); 0: incomplete, read more (the
 * caller closes the client once its buffer holds MCP_RESP_MAX_REQUEST bytes); -1: malformed,
 * r->error says why (reply with it, then close: the stream cannot be resynchronised). */
int mcp_resp_parse(const char *buf, size_t len, struct mcp_resp_req *r);

#endif /* MCP_RESP_PARSE_H */
