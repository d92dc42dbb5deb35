/* cap_select.h - which frames belong to the subscribers under capture, decided by following
 * the capture's own GTP-C (offline mode of mcp-capture, and the --control part of live mode).
 *
 * The selector owns a decoder and a session table: GTP-C feeds the table, and a frame is
 * selected when its GTP-U tunnel (TEID + receiving endpoint, TS 29.281) or, for untunnelled
 * traffic, its source or destination address maps to a selected IMSI. With control on, GTP-C
 * messages are selected too: those carrying the IMSI, those addressed to one of the
 * subscriber's control TEIDs, and the answers to selected requests (same sequence number,
 * peers swapped: TS 29.060 7.6, TS 29.274 7.6), and their PFCP sessions (cap_pfcp.h).
 */
#ifndef MCP_CAP_SELECT_H
#define MCP_CAP_SELECT_H

#include <stdint.h>

#include "capture/imsi_set.h"

struct mcp_cap_select_stats {
	uint64_t frames;
	uint64_t user;          /* selected user-plane frames (GTP-U, untunnelled) */
	uint64_t control;       /* selected GTP-C frames */
	uint64_t frag_held;     /* fragments held for reassembly: attributed only via the last */
	uint64_t malformed;     /* frames the decoder refused (counted per reason there) */
};

struct mcp_cap_select;

/* imsis is copied; control: also select the subscribers' GTP-C. NULL on allocation failure. */
struct mcp_cap_select *mcp_cap_select_create(const struct mcp_imsi_set *imsis, int control);
void mcp_cap_select_destroy(struct mcp_cap_select *s);

/* 1 if the frame is selected, 0 if not. Frames must come in capture order. */
int mcp_cap_select_frame(struct mcp_cap_select *s, int dlt, const uint8_t *frame,
			 uint32_t caplen, uint32_t wire_len, uint64_t ts_us);

const struct mcp_cap_select_stats *mcp_cap_select_stats(const struct mcp_cap_select *s);

#endif /* MCP_CAP_SELECT_H */
