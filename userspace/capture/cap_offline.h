/* cap_offline.h - mcp-capture -r: the captured IMSIs' frames out of a pcap/pcapng file,
 * selected by following the file's own GTP-C (cap_select.h), written by cap_file.h.
 */
#ifndef MCP_CAP_OFFLINE_H
#define MCP_CAP_OFFLINE_H

#include <signal.h>
#include <stdint.h>

#include "capture/cap_file.h"
#include "capture/imsi_set.h"

struct mcp_cap_limits {
	uint32_t snaplen;      /* bytes kept per frame, 0 = all */
	uint64_t count;        /* stop after this many frames written, 0 = no limit */
	uint64_t duration_ns;  /* stop this long after the first frame read, 0 = no limit */
};

struct mcp_cap_offline_result {
	uint64_t frames_read, written;
	uint64_t user, control, frag_held, malformed;
	int input_truncated;   /* the capture ended in the middle of a record */
};

struct mcp_cap_offline;

/* Opens the capture: -ENOENT/-EINVAL/... with one line logged (an input error: no output file
 * is created). */
int mcp_cap_offline_open(const char *path, struct mcp_cap_offline **out);
/* Link type of the capture, for the output file. */
int mcp_cap_offline_linktype(const struct mcp_cap_offline *o);
/* Reads to the end (or a limit, or *stop), writing the selected frames to w. 0, or -errno
 * when the output failed (logged). */
int mcp_cap_offline_run(struct mcp_cap_offline *o, const struct mcp_imsi_set *imsis,
			int control, const struct mcp_cap_limits *lim, struct mcp_cap_file *w,
			volatile sig_atomic_t *stop, struct mcp_cap_offline_result *res);
void mcp_cap_offline_close(struct mcp_cap_offline *o);

#endif /* MCP_CAP_OFFLINE_H */
