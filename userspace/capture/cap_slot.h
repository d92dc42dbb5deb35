/* cap_slot.h - one live capture's slot on an interface: its own ring in capture_rings, its
 * bit in the capture map entries of its subscribers, its row in capture_slots
 * (include/mcp_map_layout.h).
 *
 * Up to MCP_CAPTURE_SLOTS captures run at once on one interface. Each holds, for its whole
 * life, an exclusive flock on /run/mcprobe/capture-IFACE.slotN.lock: the kernel drops it when
 * the process dies, even by SIGKILL, so a slot whose lock can be taken is stale. Every change
 * to the slot table and every read-modify-write of a capture entry's bits is done under a
 * short flock on /run/mcprobe/capture-IFACE.lock, shared by all captures of the interface.
 * A stale slot is reclaimed (its bits cleared in every entry, its ring and row removed) by
 * the next capture that starts, and by every running capture once a second.
 */
#ifndef MCP_CAP_SLOT_H
#define MCP_CAP_SLOT_H

#include <stdint.h>

#include "mcp_map_layout.h"

struct mcp_xdp_obj;

struct mcp_cap_slot {
	struct mcp_xdp_obj *x;
	char iface[64];
	uint32_t slot;
	int ring_fd;           /* this capture's ring buffer */
	int own_fd;            /* the slot's lock file, held while the capture lives */
	uint64_t copied0, lost0; /* the slot's XDP counters when it was taken */
};

/* Reclaims stale slots, takes a free one (-EBUSY: all taken), creates its ring. desc names
 * the IMSIs (capture_slots, mcp-load status); follow: XDP also copies GTP-C, PFCP and
 * unknown-tunnel T-PDUs to this slot. *reclaimed (may be NULL): stale slots cleared. */
int mcp_cap_slot_take(struct mcp_xdp_obj *x, const char *iface, const char *desc, int follow,
		      struct mcp_cap_slot *s, int *reclaimed);
/* Sets (on) or clears this slot's bit in capture entry idx. 0 or -errno. */
int mcp_cap_slot_mark(struct mcp_cap_slot *s, uint32_t idx, int on);
/* Reclaims the slots whose owners died. Returns how many, or -errno. */
int mcp_cap_slot_reclaim(struct mcp_cap_slot *s);
/* Frames XDP copied to this slot's ring / lost for it (ring full) since the slot was taken. */
int mcp_cap_slot_counts(struct mcp_cap_slot *s, uint64_t *copied, uint64_t *lost);
/* Clears the slot's bits in every entry, removes its ring and row, drops its lock. */
void mcp_cap_slot_release(struct mcp_cap_slot *s);

/* Calls fn for every held slot of x (mcp-load status): its row, and whether its owner lives. */
typedef void (*mcp_cap_slot_fn)(void *ctx, uint32_t slot, const struct mcp_capture_slot *row,
				int alive);
int mcp_cap_slot_list(struct mcp_xdp_obj *x, const char *iface, mcp_cap_slot_fn fn, void *ctx);

#endif /* MCP_CAP_SLOT_H */
