/* xsk_socket.h - one AF_XDP socket bound to one (interface, RX queue), on libxdp's <xdp/xsk.h>.
 *
 * Each socket owns its UMEM (frames of MCP_XSK_FRAME_SIZE bytes), fill, completion and RX
 * rings; no TX. Binding tries zero-copy first and falls back to copy mode when the driver
 * refuses it (veth, generic XDP). Frames are handed to a callback together with the metadata
 * the XDP program wrote in front of them (include/mcp_meta.h), then go straight back to the
 * fill ring. Kernel documentation: Documentation/networking/af_xdp.rst.
 */
#ifndef MCP_XSK_H
#define MCP_XSK_H

#include <stdint.h>

#include "mcp_meta.h"

/* 2 KiB chunks hold a 1518-byte frame after the kernel's 256-byte headroom; all sit in the
 * fill ring when idle, and the RX ring holds half as many. They are what userspace can fall
 * behind by: a signalling storm (a mass re-attach after an MME restart) is all userspace
 * work. By default an interface gets 256 MiB of them split over its queues, between 16384
 * (32 MiB) and 65536 (128 MiB) per queue; --xsk-frames sets the count per queue. */
#define MCP_XSK_FRAME_SIZE 2048u
#define MCP_XSK_MIN_FRAMES 2048u
#define MCP_XSK_MAX_FRAMES (1u << 20) /* 2 GiB of UMEM per socket */
#define MCP_XSK_DEF_BUDGET (256u << 20)
#define MCP_XSK_DEF_MIN 16384u
#define MCP_XSK_DEF_MAX 65536u

/* Whether n UMEM frames per socket is allowed: a power of two in [MIN, MAX]. */
static inline int mcp_xsk_frames_ok(uint32_t n)
{
	return n >= MCP_XSK_MIN_FRAMES && n <= MCP_XSK_MAX_FRAMES && !(n & (n - 1));
}

/* Frames per socket for an interface with nqueues queues when --xsk-frames is not given. */
static inline uint32_t mcp_xsk_default_frames(uint32_t nqueues)
{
	uint32_t n = MCP_XSK_DEF_MAX;

	while (n > MCP_XSK_DEF_MIN &&
	       (uint64_t)n * MCP_XSK_FRAME_SIZE * (nqueues ? nqueues : 1) > MCP_XSK_DEF_BUDGET)
		n /= 2;
	return n;
}

struct mcp_xsk;

struct mcp_xsk_stats {
	uint64_t rx_frames;      /* frames taken from the RX ring */
	uint64_t rx_bytes;
	uint64_t with_meta;      /* frames carrying valid mcp_meta */
	uint64_t rx_dropped;     /* kernel: dropped for other reasons */
	uint64_t rx_ring_full;   /* kernel: RX ring full (userspace too slow) */
	uint64_t fill_empty;     /* kernel: no free frame in the fill ring */
	uint64_t rx_invalid;     /* kernel: invalid descriptors */
};

/* Called for each received frame. meta is NULL when the XDP program wrote none. The frame
 * memory is only valid during the call. */
typedef void (*mcp_xsk_frame_fn)(void *ctx, const uint8_t *frame, uint32_t len,
				 const struct mcp_meta *meta);

/* Creates the socket on ifname/queue with nframes UMEM frames (a power of two between
 * MCP_XSK_MIN_FRAMES and MCP_XSK_MAX_FRAMES; the RX ring gets half as many entries).
 * force_copy skips the zero-copy attempt (XDP skb mode). The XDP program must already be
 * attached; the caller puts mcp_xsk_fd() in the XSKMAP. 0, or -errno (logged): -EINVAL,
 * -ENODEV, -EPERM, -ENOMEM, -EBUSY (queue bound by another socket). */
int mcp_xsk_create(const char *ifname, uint32_t queue, uint32_t nframes, int force_copy,
		   struct mcp_xsk **out);
void mcp_xsk_destroy(struct mcp_xsk *x);

int mcp_xsk_fd(const struct mcp_xsk *x);

/* Takes up to budget frames from the RX ring, calls fn on each, refills. Returns the number
 * of frames handled (0 when the ring is empty). Never blocks; when a round over all sockets
 * returns 0, poll() their fds: that also wakes drivers waiting for XDP_RING_NEED_WAKEUP. */
unsigned int mcp_xsk_rx(struct mcp_xsk *x, unsigned int budget, mcp_xsk_frame_fn fn, void *ctx);

/* Userspace counters plus the kernel's XDP_STATISTICS for this socket. 0 or -errno. */
int mcp_xsk_stats_read(const struct mcp_xsk *x, struct mcp_xsk_stats *st);

/* Number of RX queues of ifname (ETHTOOL_GCHANNELS, else /sys/class/net/IF/queues/rx-*).
 * Returns >= 1, or -errno (-ENODEV unknown interface). */
int mcp_if_rx_queues(const char *ifname);

#endif /* MCP_XSK_H */
