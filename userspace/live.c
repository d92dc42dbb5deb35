/* live.c - live capture over XDP + AF_XDP (see live.h). */
#include "live.h"

#include <string.h>

#include "log.h"

void mcp_live_cfg_defaults(struct mcp_live_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->workers = 1;
}

int mcp_live_run(const struct mcp_live_cfg *cfg, struct mcp_pipeline *p,
		 volatile sig_atomic_t *stop, double *elapsed)
{
	mcp_err("live capture is not available in this build\n");
	return 2;
}
