/* xsk_socket.c - one AF_XDP socket per (interface, RX queue): UMEM, fill/completion/RX rings, the
 * zero-copy -> copy fallback, and the receive loop that hands frames and their XDP metadata
 * to a callback (see xsk.h; kernel Documentation/networking/af_xdp.rst).
 *
 * UMEM layout (aligned mode): nframes chunks of MCP_XSK_FRAME_SIZE bytes. The
 * kernel writes a frame at chunk + XDP_PACKET_HEADROOM (+ our headroom, 0), and the metadata
 * of bpf_xdp_adjust_meta() sits in the bytes right before it:
 *
 *   chunk: [ 256 B headroom ......... | struct mcp_meta (32 B) | frame ...... ]
 *                                                              ^ desc.addr
 */
#include "xdp/xsk_socket.h"

#include <errno.h>
#include <dirent.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/ethtool.h>
#include <linux/if_xdp.h>
#include <linux/sockios.h>

#include <xdp/xsk.h>

#include "util/log.h"

struct mcp_xsk {
	struct xsk_ring_prod fill;
	struct xsk_ring_cons comp;
	struct xsk_ring_cons rx;
	struct xsk_umem *umem;
	struct xsk_socket *sock;
	void *area;
	size_t area_len;
	uint32_t queue;
	uint32_t nframes; /* UMEM chunks; the RX ring has nframes / 2 entries */
	int zerocopy;
	uint64_t rx_frames, rx_bytes, with_meta;
	uint64_t *stash;  /* chunks received and done with, not yet back in the fill ring */
	uint32_t nstash;
};

_Static_assert((MCP_XSK_FRAME_SIZE & (MCP_XSK_FRAME_SIZE - 1)) == 0, "frame size power of 2");

static void xsk_teardown(struct mcp_xsk *x)
{
	if (x->sock)
		xsk_socket__delete(x->sock);
	x->sock = NULL;
	if (x->umem)
		xsk_umem__delete(x->umem);
	x->umem = NULL;
}

/* Hands every UMEM frame to the kernel through the fill ring. */
static int xsk_fill_all(struct mcp_xsk *x)
{
	uint32_t idx = 0;

	if (xsk_ring_prod__reserve(&x->fill, x->nframes, &idx) != x->nframes)
		return -ENOSPC;
	for (uint32_t i = 0; i < x->nframes; i++)
		*xsk_ring_prod__fill_addr(&x->fill, idx + i) = (uint64_t)i * MCP_XSK_FRAME_SIZE;
	xsk_ring_prod__submit(&x->fill, x->nframes);
	return 0;
}

/* One bind attempt with the given XDP_COPY / XDP_ZEROCOPY flag, on a fresh UMEM. */
static int xsk_try_bind(struct mcp_xsk *x, const char *ifname, uint16_t mode_flag)
{
	struct xsk_umem_config ucfg = {
		.fill_size = x->nframes * 2, /* room even when the kernel publishes late */
		.comp_size = XSK_RING_CONS__DEFAULT_NUM_DESCS,
		.frame_size = MCP_XSK_FRAME_SIZE,
		.frame_headroom = 0,
		.flags = 0,
	};
	struct xsk_socket_config scfg = {
		.rx_size = x->nframes / 2,
		.tx_size = 0,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD, /* our program, our XSKMAP */
		.xdp_flags = 0,
		.bind_flags = mode_flag | XDP_USE_NEED_WAKEUP,
	};
	int err;

	err = xsk_umem__create(&x->umem, x->area, x->area_len, &x->fill, &x->comp, &ucfg);
	if (err) {
		x->umem = NULL;
		return err < 0 ? err : -err;
	}
	err = xsk_socket__create(&x->sock, ifname, x->queue, x->umem, &x->rx, NULL, &scfg);
	if (err) {
		x->sock = NULL;
		xsk_teardown(x);
		return err < 0 ? err : -err;
	}
	err = xsk_fill_all(x);
	if (err) {
		xsk_teardown(x);
		return err;
	}
	return 0;
}

int mcp_xsk_create(const char *ifname, uint32_t queue, uint32_t nframes, int force_copy,
		   struct mcp_xsk **out)
{
	struct mcp_xsk *x;
	int err = -ENOMEM;

	*out = NULL;
	if (!mcp_xsk_frames_ok(nframes)) {
		mcp_err("%s queue %u: %u UMEM frames: need a power of two from %u to %u\n", ifname,
			queue, nframes, MCP_XSK_MIN_FRAMES, MCP_XSK_MAX_FRAMES);
		return -EINVAL;
	}
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->queue = queue;
	x->nframes = nframes;
	x->stash = calloc(nframes, sizeof(*x->stash));
	if (!x->stash)
		goto err;
	x->area_len = (size_t)nframes * MCP_XSK_FRAME_SIZE;
	x->area = mmap(NULL, x->area_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	if (x->area == MAP_FAILED) {
		err = -errno;
		x->area = NULL;
		mcp_err("%s queue %u: cannot allocate %zu bytes of UMEM: %s\n", ifname, queue,
			x->area_len, strerror(-err));
		goto err;
	}
	/* 2 MiB pages where the kernel has them (transparent huge pages): the packet thread
	 * touches a frame it has not seen for a ring's length, and with 4 KiB pages that first
	 * read (the metadata) missed the TLB for a quarter of the thread's time during bursts.
	 * Refused (THP off): 4 KiB pages, nothing else changes. */
	madvise(x->area, x->area_len, MADV_HUGEPAGE);
	if (!force_copy) {
		err = xsk_try_bind(x, ifname, XDP_ZEROCOPY);
		if (!err) {
			x->zerocopy = 1;
			goto done;
		}
		if (err == -ENODEV || err == -EPERM || err == -EBUSY || err == -ENOMEM)
			goto fail;
		mcp_info("%s queue %u: zero-copy refused (%s), using copy mode\n", ifname, queue,
			 strerror(-err));
	}
	err = xsk_try_bind(x, ifname, XDP_COPY);
	if (err)
		goto fail;
done:
	mcp_info("%s queue %u: AF_XDP socket bound (%s)\n", ifname, queue,
		 x->zerocopy ? "zero-copy" : "copy mode");
	*out = x;
	return 0;
fail:
	mcp_err("%s queue %u: cannot create the AF_XDP socket: %s\n", ifname, queue,
		strerror(-err));
err:
	mcp_xsk_destroy(x);
	return err;
}

void mcp_xsk_destroy(struct mcp_xsk *x)
{
	if (!x)
		return;
	xsk_teardown(x);
	if (x->area)
		munmap(x->area, x->area_len);
	free(x->stash);
	free(x);
}

int mcp_xsk_fd(const struct mcp_xsk *x)
{
	return xsk_socket__fd(x->sock);
}

/* Copies the metadata out of the UMEM if the XDP program wrote it for this frame, and
 * clears its magic so a later frame in the same chunk without metadata is not misread. */
static int xsk_take_meta(uint8_t *frame, uint64_t addr, struct mcp_meta *meta)
{
	uint64_t off = addr & (MCP_XSK_FRAME_SIZE - 1);

	if (off < sizeof(*meta))
		return 0;
	memcpy(meta, frame - sizeof(*meta), sizeof(*meta));
	if (meta->magic != MCP_META_MAGIC || meta->version != MCP_META_VERSION)
		return 0;
	memset(frame - sizeof(*meta), 0, sizeof(meta->magic));
	return 1;
}

/* Gives the stashed chunks back to the kernel, as many as the fill ring takes now. The kernel
 * publishes its fill-ring consumer index lazily, so the ring can look full for a while even
 * though it is sized for every chunk: never wait for it, keep the rest for the next call. */
static void xsk_refill(struct mcp_xsk *x)
{
	uint32_t idx = 0, n, i;

	if (!x->nstash)
		return;
	n = xsk_prod_nb_free(&x->fill, x->nstash);
	if (n > x->nstash)
		n = x->nstash;
	if (!n || xsk_ring_prod__reserve(&x->fill, n, &idx) != n)
		return;
	for (i = 0; i < n; i++)
		*xsk_ring_prod__fill_addr(&x->fill, idx + i) = x->stash[--x->nstash];
	xsk_ring_prod__submit(&x->fill, n);
}

unsigned int mcp_xsk_rx(struct mcp_xsk *x, unsigned int budget, mcp_xsk_frame_fn fn, void *ctx)
{
	uint32_t idx_rx = 0, n, i;
	uint64_t bytes = 0, with_meta = 0;

	xsk_refill(x);
	n = xsk_ring_cons__peek(&x->rx, budget, &idx_rx);
	if (!n)
		return 0; /* callers poll() when a round is empty: that wakes a sleeping driver */
	for (i = 0; i < n; i++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&x->rx, idx_rx + i);
		uint64_t addr = xsk_umem__extract_addr(d->addr);
		struct mcp_meta meta;
		uint8_t *frame;

		if (addr + d->len > x->area_len)
			continue; /* cannot happen with a sane kernel; never read outside */
		frame = xsk_umem__get_data(x->area, addr);
		bytes += d->len;
		if (xsk_take_meta(frame, addr, &meta)) {
			with_meta++;
			fn(ctx, frame, d->len, &meta);
		} else {
			fn(ctx, frame, d->len, NULL);
		}
	}
	/* One writer (this thread); the status line reads them from another thread. */
	__atomic_store_n(&x->rx_frames, x->rx_frames + n, __ATOMIC_RELAXED);
	__atomic_store_n(&x->rx_bytes, x->rx_bytes + bytes, __ATOMIC_RELAXED);
	__atomic_store_n(&x->with_meta, x->with_meta + with_meta, __ATOMIC_RELAXED);
	for (i = 0; i < n; i++) {
		uint64_t addr = xsk_ring_cons__rx_desc(&x->rx, idx_rx + i)->addr;

		x->stash[x->nstash++] =
			xsk_umem__extract_addr(addr) & ~(uint64_t)(MCP_XSK_FRAME_SIZE - 1);
	}
	xsk_ring_cons__release(&x->rx, n);
	xsk_refill(x);
	return n;
}

int mcp_xsk_stats_read(const struct mcp_xsk *x, struct mcp_xsk_stats *st)
{
	struct xdp_statistics ks;
	socklen_t len = sizeof(ks);

	memset(st, 0, sizeof(*st));
	st->rx_frames = __atomic_load_n(&x->rx_frames, __ATOMIC_RELAXED);
	st->rx_bytes = __atomic_load_n(&x->rx_bytes, __ATOMIC_RELAXED);
	st->with_meta = __atomic_load_n(&x->with_meta, __ATOMIC_RELAXED);
	memset(&ks, 0, sizeof(ks));
	if (getsockopt(xsk_socket__fd(x->sock), SOL_XDP, XDP_STATISTICS, &ks, &len))
		return -errno;
	st->rx_dropped = ks.rx_dropped;
	st->rx_ring_full = ks.rx_ring_full;
	st->fill_empty = ks.rx_fill_ring_empty_descs;
	st->rx_invalid = ks.rx_invalid_descs;
	return 0;
}

/* /sys/class/net/IF/queues/rx-N entries (the sysfs of the caller's network namespace). */
static int rx_queues_sysfs(const char *ifname)
{
	char path[64 + IF_NAMESIZE];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/sys/class/net/%s/queues", ifname);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "rx-", 3))
			n++;
	closedir(d);
	return n > 0 ? n : -ENOENT;
}

int mcp_if_rx_queues(const char *ifname)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	struct ifreq ifr;
	int fd, n, err;

	if (!ifname || strlen(ifname) >= IF_NAMESIZE)
		return -ENODEV;
	if (!if_nametoindex(ifname))
		return -ENODEV;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		memset(&ifr, 0, sizeof(ifr));
		memcpy(ifr.ifr_name, ifname, strlen(ifname));
		ifr.ifr_data = (void *)&ch;
		err = ioctl(fd, SIOCETHTOOL, &ifr);
		close(fd);
		if (!err) {
			/* Each queue is either RX-only or combined (RX + TX). */
			n = (int)(ch.rx_count + ch.combined_count);
			if (n > 0)
				return n;
		}
	}
	n = rx_queues_sysfs(ifname);
	return n > 0 ? n : 1; /* no channel info at all: a single-queue device */
}
