/* resp_out.h - RESP2/RESP3 reply encoding into a growable buffer. */
#ifndef MCP_RESP_OUT_H
#define MCP_RESP_OUT_H

#include <stddef.h>

struct mcp_resp_out {
	char *b;
	size_t len, cap;
	int resp3;
	int failed; /* out of memory: the client is closed */
};

void mcp_resp_raw(struct mcp_resp_out *o, const char *s, size_t n);
void mcp_resp_simple(struct mcp_resp_out *o, const char *s);  /* +s */
void mcp_resp_error(struct mcp_resp_out *o, const char *s);   /* -s */
void mcp_resp_int(struct mcp_resp_out *o, long long v);
void mcp_resp_bulk(struct mcp_resp_out *o, const char *s, size_t n);
void mcp_resp_str(struct mcp_resp_out *o, const char *s);     /* bulk of a C string */
void mcp_resp_null(struct mcp_resp_out *o);
void mcp_resp_array(struct mcp_resp_out *o, size_t n);
void mcp_resp_map(struct mcp_resp_out *o, size_t pairs);       /* RESP2: array of 2n */
void mcp_resp_set(struct mcp_resp_out *o, size_t n);           /* RESP2: array */

#endif /* MCP_RESP_OUT_H */
