/* cap_live.c - mcp-capture -i (cap_live.h). */
#include "capture/cap_live.h"
#include "util/log.h"

int mcp_cap_live_run(const struct mcp_cap_live_cfg *cfg, volatile sig_atomic_t *stop)
{
	(void)stop;
	mcp_err("-i %s: live capture is not built yet\n", cfg->iface);
	return MCP_CAP_LIVE_USAGE;
}
