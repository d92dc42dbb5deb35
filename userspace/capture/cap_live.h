/* cap_live.h - mcp-capture -i: the captured IMSIs' frames from the probe's XDP program.
 *
 * The tool takes a capture slot (cap_slot.h), sets its bit in the subscribers' entries of the
 * pinned capture map (indexed by subscriber, not by tunnel: the kernel's tunnel map already
 * points every new tunnel of a handover or a re-attach at the same subscriber), reads its
 * slot's ring, and clears its bits and frees the slot on exit.
 */
#ifndef MCP_CAP_LIVE_H
#define MCP_CAP_LIVE_H

#include <signal.h>
#include <stdint.h>

#include "capture/cap_file.h"
#include "capture/imsi_set.h"

#define MCP_CAP_LIVE_MAX_SNAP 2048 /* = MCP_CAPTURE_MAX_SNAP: what XDP copies at most */

enum mcp_cap_live_rc {
	MCP_CAP_LIVE_OK = 0,  /* done, nothing lost */
	MCP_CAP_LIVE_FAIL,    /* runtime failure (logged) */
	MCP_CAP_LIVE_USAGE,   /* bad input: no probe on the interface, ... (one line logged) */
	MCP_CAP_LIVE_LOST,    /* done, but frames were lost (reported) */
};

struct mcp_cap_live_cfg {
	const char *iface;
	const char *redis;               /* remote mode; NULL = the local probe's maps */
	const char *redis_prefix;        /* microcloud key prefix (mcprobe --redis-prefix) */
	const struct mcp_imsi_set *imsis;
	int control;
	uint32_t snaplen;                /* 0 = what the probe's XDP copies */
	uint64_t count, duration_ns;     /* 0 = no limit */
	const struct mcp_cap_file_cfg *file;
};

/* Runs until *stop, --count or --duration. Returns enum mcp_cap_live_rc. */
int mcp_cap_live_run(const struct mcp_cap_live_cfg *cfg, volatile sig_atomic_t *stop);

#endif /* MCP_CAP_LIVE_H */
