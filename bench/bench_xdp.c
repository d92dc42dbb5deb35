/* bench_xdp.c - XDP cost per GTP-U packet: mcp_xdp_prog vs a bare XDP_PASS program, both run
 * with BPF_PROG_TEST_RUN (repeat) in the same process, alternating, best of several rounds.
 *
 * Frame: tests/data/xdp_frames.txt "gtpu_v4_tcp_up" (Eth/IPv4/UDP/GTP-U/IPv4/TCP, scapy-built)
 * with its tunnel installed and an AF_XDP socket on lo queue 0, so the measured path is the
 * full one: parse, tunnel lookup, subscriber counters, flow lookup, metadata, redirect.
 * The known-tunnel case is also timed with the flows lookup forced (a flow of the same hash but
 * another VLAN is installed, so the flow_hints slot is non-zero and the lookup misses): the
 * cost for frames whose hash slot holds some other installed flow.
 * For context it also times bpf/mcp_floor.bpf.c, which does nothing but one lookup of the
 * frame's tunnel key in a hash map like mcp_tunnels: what one lookup costs on this kernel.
 *
 *   bench_xdp [-n REPEAT] [-r ROUNDS] [FRAMES_FILE]      (root; prints ns/packet and ratio)
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <xdp/xsk.h>

#include "xdp/maps_user.h"
#include "mcp_bare.skel.h"
#include "mcp_floor.skel.h"

static int load_frame(const char *path, const char *name, uint8_t *buf, size_t cap)
{
	char *line = NULL, key[96];
	size_t lcap = 0;
	int n = -ENOENT;
	FILE *f = fopen(path, "r");

	if (!f)
		return -errno;
	snprintf(key, sizeof(key), "frame name=%s ", name);
	while (getline(&line, &lcap, f) > 0) {
		char *h;

		if (strncmp(line, key, strlen(key)) || !(h = strstr(line, " hex=")))
			continue;
		h += 5;
		for (n = 0; (size_t)n < cap && sscanf(h + 2 * n, "%2hhx", &buf[n]) == 1; n++)
			;
		break;
	}
	free(line);
	fclose(f);
	return n;
}

static int drop_record(void *ctx, void *data, size_t size)
{
	return 0;
}

/* Average ns per run over `repeat` runs, as measured by the kernel. */
static double time_prog(int fd, const uint8_t *frame, int len, uint32_t repeat, uint32_t *ret)
{
	static uint8_t out[4096];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = len, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = repeat);

	if (bpf_prog_test_run_opts(fd, &o)) {
		fprintf(stderr, "bench_xdp: test_run: %s\n", strerror(errno));
		exit(1);
	}
	*ret = o.retval;
	return o.duration;
}

struct result {
	const char *what;
	double best;
	uint32_t ret;
};

static void measure(struct result *r, int fd, const uint8_t *frame, int len, uint32_t repeat,
		    int round)
{
	double ns = time_prog(fd, frame, len, repeat, &r->ret);

	if (round == 0 || ns < r->best)
		r->best = ns;
}

int main(int argc, char **argv)
{
	const char *path = "tests/data/xdp_frames.txt";
	uint32_t repeat = 10000000, rounds = 5, i;
	struct xsk_socket_config xcfg = { .rx_size = 64, .tx_size = 64,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD, .bind_flags = XDP_COPY };
	struct xsk_ring_prod fq, tx;
	struct xsk_ring_cons cq, rx;
	struct xsk_socket *xsk = NULL;
	struct xsk_umem *umem = NULL;
	struct mcp_xdp_opts o;
	struct mcp_xdp_obj *x;
	struct mcp_bare *bare;
	struct mcp_floor *floor;
	struct mcp_tunnel_key tk;
	struct mcp_tunnel_val tv;
	struct mcp_subscriber sub;
	struct mcp_flow_key fk;
	struct mcp_ip a, b;
	struct result r_bare = { "bare XDP_PASS", 0, 0 };
	struct result r_floor = { "floor: one tunnel hash lookup", 0, 0 };
	struct result r_mcp = { "mcp_xdp GTP-U known tunnel", 0, 0 };
	struct result r_hint = { "mcp_xdp known tunnel, flow lookup", 0, 0 };
	struct result r_byp = { "mcp_xdp GTP-U bypassed flow", 0, 0 };
	struct result r_nocap = { "known tunnel, no capture", 0, 0 };
	struct result r_capother = { "known tunnel, other IMSI captured", 0, 0 };
	struct result r_capself = { "known tunnel, this IMSI captured", 0, 0 };
	uint64_t st[MCP_STATS__MAX];
	uint8_t frame[2048];
	void *area;
	int len, c, err;

	while ((c = getopt(argc, argv, "n:r:")) != -1) {
		if (c == 'n')
			repeat = strtoul(optarg, NULL, 0);
		else if (c == 'r')
			rounds = strtoul(optarg, NULL, 0);
		else
			return 2;
	}
	if (optind < argc)
		path = argv[optind];
	len = load_frame(path, "gtpu_v4_tcp_up", frame, sizeof(frame));
	if (len <= 0) {
		fprintf(stderr, "bench_xdp: no frame gtpu_v4_tcp_up in %s\n", path);
		return 1;
	}

	mcp_xdp_opts_default(&o); /* production map sizes */
	err = mcp_xdp_load_detached(&o, &x);
	bare = mcp_bare__open_and_load();
	floor = mcp_floor__open_and_load();
	if (err || !bare || !floor) {
		fprintf(stderr, "bench_xdp: cannot load the programs (root needed)\n");
		return 1;
	}
	memset(&sub, 0, sizeof(sub));
	sub.id = 7;
	snprintf(sub.imsi, sizeof(sub.imsi), "001010000000007");
	sub.ntunnels = 1;
	sub.tunnels[0].teid = 0x1234;
	mcp_ip_parse(&sub.tunnels[0].addr, "10.0.0.2");
	if (mcp_xdp_tunnel_update(x, &sub))
		return 1;
	memset(&tk, 0, sizeof(tk));
	memset(&tv, 0, sizeof(tv));
	tk.teid = sub.tunnels[0].teid;
	tk.addr = sub.tunnels[0].addr;
	tv.sub_idx = sub.id;
	if (bpf_map_update_elem(bpf_map__fd(floor->maps.floor_tunnels), &tk, &tv, BPF_ANY))
		return 1;
	if (unshare(CLONE_NEWNET)) /* private lo: no competition for its queue 0 */
		fprintf(stderr, "bench_xdp: unshare: %s (using the shared lo)\n", strerror(errno));
	if (posix_memalign(&area, getpagesize(), 64 * 4096) ||
	    xsk_umem__create(&umem, area, 64 * 4096, &fq, &cq, NULL) ||
	    xsk_socket__create(&xsk, "lo", 0, umem, &rx, &tx, &xcfg) ||
	    mcp_xdp_xsk_set(x, 0, xsk_socket__fd(xsk))) {
		fprintf(stderr, "bench_xdp: cannot bind an AF_XDP socket on lo\n");
		return 1;
	}

	for (i = 0; i < rounds; i++) {
		measure(&r_bare, bpf_program__fd(bare->progs.mcp_bare_prog), frame, len, repeat, i);
		measure(&r_floor, bpf_program__fd(floor->progs.mcp_floor_prog), frame, len, repeat, i);
		measure(&r_mcp, mcp_xdp_prog_fd(x), frame, len, repeat, i);
	}
	/* the timed path must be the real one: metadata written on every run (a test-run repeat
	 * does not reset the metadata area; the program reuses a full one), one-step parse */
	if (mcp_xdp_stats_read(x, st)) {
		fprintf(stderr, "bench_xdp: cannot read the counters\n");
		return 1;
	}
	mcp_ip_parse(&a, "192.168.1.10");
	mcp_ip_parse(&b, "8.8.8.8");
	mcp_flow_key_make(&fk, &a, &b, 40000, 443, 6, 1); /* VLAN 1: same hash, no match */
	mcp_xdp_flow_install(x, &fk, 7, 0);
	for (i = 0; i < rounds; i++)
		measure(&r_hint, mcp_xdp_prog_fd(x), frame, len, repeat, i);
	mcp_xdp_flow_remove(x, &fk);
	mcp_flow_key_make(&fk, &a, &b, 40000, 443, 6, 0);
	mcp_xdp_flow_install(x, &fk, 7, 0);
	for (i = 0; i < rounds; i++)
		measure(&r_byp, mcp_xdp_prog_fd(x), frame, len, repeat, i);

	/* mcp-capture -i: an active capture of another subscriber (index 8) against none, the
	 * cost to the traffic that is not captured; and a captured frame's copy to the ring,
	 * with runs few enough that the ring never fills (drained between rounds) */
	mcp_xdp_flow_remove(x, &fk);
	{
		uint32_t cap_runs = 20000;
		struct ring_buffer *rb = ring_buffer__new(mcp_xdp_map_fd(x, MCP_XMAP_CAPTURE_RING),
							  drop_record, NULL, NULL);

		for (i = 0; i < rounds; i++) {
			mcp_xdp_capture_set(x, 8, 0);
			measure(&r_nocap, mcp_xdp_prog_fd(x), frame, len, repeat, i);
			mcp_xdp_capture_set(x, 8, MCP_CAPTURE_ON);
			measure(&r_capother, mcp_xdp_prog_fd(x), frame, len, repeat, i);
			mcp_xdp_capture_set(x, 7, MCP_CAPTURE_ON);
			measure(&r_capself, mcp_xdp_prog_fd(x), frame, len, cap_runs, i);
			mcp_xdp_capture_set(x, 7, 0);
			if (rb)
				ring_buffer__consume(rb);
		}
		ring_buffer__free(rb);
	}

	printf("bench_xdp: %d-byte GTP-U frame, %u runs x best of %u rounds\n", len, repeat, rounds);
	printf("  %-32s %7.1f ns/packet (verdict %u)\n", r_bare.what, r_bare.best, r_bare.ret);
	printf("  %-32s %7.1f ns/packet (verdict %u)  ratio %.2fx\n", r_floor.what, r_floor.best,
	       r_floor.ret, r_floor.best / r_bare.best);
	printf("  %-32s %7.1f ns/packet (verdict %u)  ratio %.2fx\n", r_mcp.what, r_mcp.best,
	       r_mcp.ret, r_mcp.best / r_bare.best);
	printf("  %-32s %llu runs: %llu one-step parse, %llu metadata failed\n", "",
	       (unsigned long long)st[MCP_STAT_XDP(MCP_XDP_RX)],
	       (unsigned long long)st[MCP_STAT_XDP(MCP_XDP_FAST_PARSE)],
	       (unsigned long long)st[MCP_STAT_XDP(MCP_XDP_META_FAILED)]);
	printf("  %-32s %7.1f ns/packet (verdict %u)  ratio %.2fx\n", r_hint.what, r_hint.best,
	       r_hint.ret, r_hint.best / r_bare.best);
	printf("  %-32s %7.1f ns/packet (verdict %u)  ratio %.2fx\n", r_byp.what, r_byp.best,
	       r_byp.ret, r_byp.best / r_bare.best);

	printf("  %-32s %7.1f ns/packet (verdict %u)\n", r_nocap.what, r_nocap.best, r_nocap.ret);
	printf("  %-32s %7.1f ns/packet (verdict %u)  %+.1f%% (goal <= 5%%)\n", r_capother.what,
	       r_capother.best, r_capother.ret, 100.0 * (r_capother.best / r_nocap.best - 1));
	printf("  %-32s %7.1f ns/packet (verdict %u)  copy to the capture ring, 20000 runs\n",
	       r_capself.what, r_capself.best, r_capself.ret);

	xsk_socket__delete(xsk);
	xsk_umem__delete(umem);
	free(area);
	mcp_bare__destroy(bare);
	mcp_floor__destroy(floor);
	mcp_xdp_close(x);
	return r_mcp.ret == XDP_REDIRECT && st[MCP_STAT_XDP(MCP_XDP_META_FAILED)] == 0 && r_hint.ret == XDP_REDIRECT && r_byp.ret == XDP_DROP &&
	       r_floor.ret == XDP_PASS ? 0 : 1;
}
