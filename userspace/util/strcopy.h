/* strcopy.h - bounded string copy for per-flow fields: strlen + memcpy, always terminated.
 * snprintf("%s") did the same at several times the cost (format parsing, stdio setup), once
 * per record field. */
#ifndef MCP_STRCOPY_H
#define MCP_STRCOPY_H

#include <string.h>

static inline void mcp_strcopy(char *dst, size_t size, const char *src)
{
	size_t n;

	if (!size)
		return;
	n = strlen(src);
	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = 0;
}

#endif /* MCP_STRCOPY_H */
