/* cap_remote.h - mcp-capture -i IFACE --redis: capture on a host without the probe's maps,
 * following the subscribers through the microcloud (cap_remote.c).
 */
#ifndef MCP_CAP_REMOTE_H
#define MCP_CAP_REMOTE_H

#include <signal.h>

#include "capture/cap_live.h"

/* Runs until *stop, --count or --duration. Returns enum mcp_cap_live_rc. */
int mcp_cap_remote_run(const struct mcp_cap_live_cfg *cfg, volatile sig_atomic_t *stop);

#endif /* MCP_CAP_REMOTE_H */
