/* log.h - the one logging module: printf-checked, level-filtered, to stderr.
 *
 * Never log per packet: count instead. libbpf and hiredis messages are routed here too.
 */
#ifndef MCP_LOG_H
#define MCP_LOG_H

#include <stdarg.h>

enum mcp_log_level { MCP_LOG_ERR, MCP_LOG_WARN, MCP_LOG_INFO, MCP_LOG_DEBUG };

/* Messages above this level are dropped; -v raises it. */
void mcp_log_set_level(enum mcp_log_level level);
enum mcp_log_level mcp_log_get_level(void);
void mcp_log(enum mcp_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mcp_vlog(enum mcp_log_level level, const char *fmt, va_list ap);

#define mcp_err(...)  mcp_log(MCP_LOG_ERR, __VA_ARGS__)
#define mcp_warn(...) mcp_log(MCP_LOG_WARN, __VA_ARGS__)
#define mcp_info(...) mcp_log(MCP_LOG_INFO, __VA_ARGS__)
#define mcp_dbg(...)  mcp_log(MCP_LOG_DEBUG, __VA_ARGS__)

#endif /* MCP_LOG_H */
