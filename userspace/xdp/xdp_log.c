/* xdp_log.c - libbpf and libxdp messages go through mcp_log: debug level, warnings at info
 * level except while xdp_attach.c loads (mcp_xdp_libbpf_quiet), when the loader prints one
 * clear line of its own instead.
 */
#include <stdarg.h>

#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "util/log.h"
#include "xdp/xdp_internal.h"

int mcp_xdp_libbpf_quiet;

static int mcp_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum mcp_log_level l = MCP_LOG_DEBUG;

	if (level == LIBBPF_WARN && !mcp_xdp_libbpf_quiet)
		l = MCP_LOG_INFO;
	mcp_vlog(l, fmt, ap);
	return 0;
}

static int mcp_libxdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	enum mcp_log_level l = MCP_LOG_DEBUG;

	if (level == LIBXDP_WARN && !mcp_xdp_libbpf_quiet)
		l = MCP_LOG_INFO;
	mcp_vlog(l, fmt, ap);
	return 0;
}

void mcp_xdp_route_logs(void)
{
	libbpf_set_print(mcp_libbpf_print);
	libxdp_set_print(mcp_libxdp_print);
}
