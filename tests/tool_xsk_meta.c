/* tool_xsk_meta.c - test helper for tests/it_mcp_load.sh: binds an AF_XDP socket to queue 0 of
 * an interface attached by mcp-load (pinned xsks map), receives frames and prints, per frame,
 * the struct mcp_meta found in front of it (include/mcp_meta.h) as one line of key=value.
 *
 *   tool_xsk_meta IFACE COUNT TIMEOUT_MS [copy|zc]   exit 0 when COUNT GTP-U T-PDUs arrived
 *
 * Every frame is printed (the kernel's own IPv6 chatter on a fresh veth too); only T-PDUs
 * count towards COUNT.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xdp/xsk.h>

#include "xdp/maps_user.h"
#include "util/log.h"

#define NFRAMES 256
#define FSIZE XSK_UMEM__DEFAULT_FRAME_SIZE

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	struct xsk_socket_config cfg = { .rx_size = NFRAMES, .tx_size = NFRAMES,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD, .bind_flags = XDP_COPY };
	struct xsk_ring_prod fq, tx;
	struct xsk_ring_cons cq, rx;
	struct xsk_socket *xsk;
	struct xsk_umem *umem;
	struct mcp_xdp_obj *x;
	int want, got = 0, err;
	long deadline;
	__u32 idx, i;
	void *area;

	if (argc < 4)
		return 2;
	want = atoi(argv[2]);
	deadline = now_ms() + atol(argv[3]);
	if (argc > 4 && !strcmp(argv[4], "zc"))
		cfg.bind_flags = XDP_ZEROCOPY;
	mcp_xdp_route_logs();
	err = mcp_xdp_open_pinned(argv[1], &x);
	if (err) {
		fprintf(stderr, "tool_xsk_meta: open pins of %s: %s\n", argv[1], strerror(-err));
		return 1;
	}
	if (posix_memalign(&area, getpagesize(), NFRAMES * FSIZE))
		return 1;
	err = xsk_umem__create(&umem, area, NFRAMES * FSIZE, &fq, &cq, NULL);
	if (!err)
		err = xsk_socket__create(&xsk, argv[1], 0, umem, &rx, &tx, &cfg);
	if (!err)
		err = mcp_xdp_xsk_set(x, 0, xsk_socket__fd(xsk));
	if (err) {
		fprintf(stderr, "tool_xsk_meta: AF_XDP on %s: %s\n", argv[1], strerror(-err));
		return 1;
	}
	if (xsk_ring_prod__reserve(&fq, NFRAMES, &idx) != NFRAMES)
		return 1;
	for (i = 0; i < NFRAMES; i++)
		*xsk_ring_prod__fill_addr(&fq, idx + i) = (__u64)i * FSIZE;
	xsk_ring_prod__submit(&fq, NFRAMES);
	printf("ready\n");
	fflush(stdout);

	while (got < want && now_ms() < deadline) {
		struct pollfd p = { .fd = xsk_socket__fd(xsk), .events = POLLIN };
		__u32 n;

		poll(&p, 1, 100);
		n = xsk_ring_cons__peek(&rx, 64, &idx);
		for (i = 0; i < n; i++) {
			const struct xdp_desc *d = xsk_ring_cons__rx_desc(&rx, idx + i);
			const unsigned char *frame = xsk_umem__get_data(area, d->addr);
			struct mcp_meta m;

			/* metadata sits right before the frame (never past the frame's chunk start) */
			if ((d->addr % FSIZE) >= sizeof(m))
				memcpy(&m, frame - sizeof(m), sizeof(m));
			else
				memset(&m, 0, sizeof(m));
			printf("len=%u magic=%#x version=%u sub=%u dir=%u teid=%#x flags=%#x worker=%u "
			       "outer_l3=%u inner_l3=%u vlan=%u\n",
			       d->len, m.magic, m.version, m.sub_idx, m.dir, m.teid, m.flags, m.worker,
			       m.outer_l3, m.inner_l3, m.vlan);
			if (m.magic == MCP_META_MAGIC && (m.flags & MCP_META_F_TPDU))
				got++;
		}
		if (n)
			xsk_ring_cons__release(&rx, n);
	}
	fflush(stdout);
	mcp_xdp_xsk_set(x, 0, -1);
	xsk_socket__delete(xsk);
	xsk_umem__delete(umem);
	free(area);
	mcp_xdp_close(x);
	return got >= want ? 0 : 1;
}
