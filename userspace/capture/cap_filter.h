/* cap_filter.h - mcp-capture's entries in the probe's pinned capture map, found by IMSI.
 *
 * The capture map is indexed by subscriber index (include/mcp_map_layout.h), the index the
 * probe gives an IMSI in the subscribers map. The filter scans that map for the IMSIs, sets
 * its slot's bit in their capture entries (cap_slot.h), and keeps scanning: an IMSI that attaches later is found at its
 * next scan, and an index the probe removes (its tunnel_remove clears the entry) is dropped.
 * Handovers and re-attaches within the delete grace keep the index, so they need nothing.
 *
 * Loss accounting uses the per-subscriber counters XDP keeps for the same frames it
 * captures (known tunnel T-PDUs): frames counted while the entry was set, minus frames that
 * reached the file, were lost (ring full, or between reading the counters and setting the
 * entry). Frames of an IMSI that attached during the run, counted before the scan found it,
 * are the filter-update gap.
 */
#ifndef MCP_CAP_FILTER_H
#define MCP_CAP_FILTER_H

#include <stdint.h>

#include "capture/cap_slot.h"
#include "capture/imsi_set.h"

struct mcp_xdp_obj;

struct mcp_cap_filter_stats {
	uint64_t expected;     /* frames XDP counted for the captured indexes while set */
	uint64_t captured;     /* frames of those indexes that reached the writer */
	uint64_t gap;          /* frames of IMSIs attached during the run, before their scan */
	uint32_t active;       /* indexes set now */
	uint32_t found;        /* indexes set over the run */
};

struct mcp_cap_filter;

/* x: the probe's pinned maps (mcp_xdp_open_pinned); slot: this capture's. NULL on allocation
 * failure. */
struct mcp_cap_filter *mcp_cap_filter_create(struct mcp_xdp_obj *x, struct mcp_cap_slot *slot,
					     const struct mcp_imsi_set *imsis);
/* One pass over the subscribers map: sets new indexes of the IMSIs, drops removed ones.
 * Returns the number of indexes set now, or -errno. */
int mcp_cap_filter_scan(struct mcp_cap_filter *f);
/* A record of sub_idx reached the writer: 1 if the index is one of ours, else 0. */
int mcp_cap_filter_note(struct mcp_cap_filter *f, uint32_t sub_idx);
/* Clears this filter's bit in every entry it set and takes the final counts. 0 or -errno. */
int mcp_cap_filter_remove(struct mcp_cap_filter *f);
const struct mcp_cap_filter_stats *mcp_cap_filter_stats(struct mcp_cap_filter *f);
void mcp_cap_filter_destroy(struct mcp_cap_filter *f);

/* Calls fn for every set entry of the capture map of x, with its slot bits and the IMSI the
 * subscribers map holds at that index (mcp-load status). Returns the number or -errno. */
typedef void (*mcp_cap_entry_fn)(void *ctx, uint32_t sub_idx, uint32_t slots, const char *imsi);
int mcp_cap_filter_list(struct mcp_xdp_obj *x, mcp_cap_entry_fn fn, void *ctx);

#endif /* MCP_CAP_FILTER_H */
