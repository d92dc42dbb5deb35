/* live.h - live capture: XDP attach (or reuse mcp-load's), one AF_XDP socket per RX queue
 * (or the inline ring), frames fed to the same single pipeline as offline mode.
 */
#ifndef MCP_LIVE_H
#define MCP_LIVE_H

#include <signal.h>
#include <stdint.h>

#include "pipeline/pipeline.h"

struct mcp_live_cfg {
	const char **ifaces;
	int nifaces;
	uint32_t workers;    /* default 1 */
	int skb_mode;        /* XDP generic mode instead of native */
	int inline_mode;     /* pass accounted frames to the stack instead of dropping them */
	int no_bypass;       /* keep every packet in userspace (no kernel flow bypass) */
	uint32_t xsk_frames; /* UMEM frames per AF_XDP socket, 0 = mcp_xsk_default_frames */
};

void mcp_live_cfg_defaults(struct mcp_live_cfg *cfg);

/* Runs until *stop is set (SIGINT/SIGTERM). Returns an exit status: 0, or 2 for setup errors
 * (unknown interface, missing privileges or bpffs, interface already probed), logged. */
int mcp_live_run(const struct mcp_live_cfg *cfg, struct mcp_pipeline *p,
		 volatile sig_atomic_t *stop, double *elapsed);

#endif /* MCP_LIVE_H */
