/* log.c - level-filtered logging to stderr, prefixed with the program name. */
#include "util/log.h"

#include <errno.h> /* program_invocation_short_name (GNU) */
#include <stdio.h>


static enum mcp_log_level log_level = MCP_LOG_WARN;

void mcp_log_set_level(enum mcp_log_level level)
{
	log_level = level;
}

enum mcp_log_level mcp_log_get_level(void)
{
	return log_level;
}

void mcp_vlog(enum mcp_log_level level, const char *fmt, va_list ap)
{
	int saved = errno; /* callers often log right before using errno */

	if (level > log_level)
		return;
	fprintf(stderr, "%s: ", program_invocation_short_name);
	vfprintf(stderr, fmt, ap);
	errno = saved;
}

void mcp_log(enum mcp_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mcp_vlog(level, fmt, ap);
	va_end(ap);
}
