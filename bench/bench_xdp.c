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

#include "xdp/maps_user_flows.h"
#include "xdp/maps_user_tunnels.h"
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

/* Subscriber 7's tunnel (TEID 0x1234 to 10.0.0.2, the frame's) in mcp_xdp and in the floor
 * program's map. */
static int install_tunnel(struct mcp_xdp_obj *x, struct mcp_floor *floor)
{
	struct mcp_subscriber sub;
	struct mcp_tunnel_key tk;
	struct mcp_tunnel_val tv;

	memset(&sub, 0, sizeof(sub));
	sub.id = 7;
	snprintf(sub.imsi, sizeof(sub.imsi), "001010000000007");
	sub.ntunnels = 1;
	sub.tunnels[0].teid = 0x1234;
	mcp_ip_parse(&sub.tunnels[0].addr, "10.0.0.2");
	if (mcp_xdp_tunnel_update(x, &sub))
		return -1;
	memset(&tk, 0, sizeof(tk));
	memset(&tv, 0, sizeof(tv));
	tk.teid = sub.tunnels[0].teid;
	tk.addr = sub.tunnels[0].addr;
	tv.sub_idx = sub.id;
	return bpf_map_update_elem(bpf_map__fd(floor->maps.floor_tunnels), &tk, &tv, BPF_ANY);
}

/* An AF_XDP socket on lo queue 0, in the xsks map, so the redirect succeeds. */
struct bench_xsk {
	struct xsk_socket *xsk;
	struct xsk_umem *umem;
	void *area;
};

static int bind_xsk(struct mcp_xdp_obj *x, struct bench_xsk *bx)
{
	struct xsk_socket_config xcfg = { .rx_size = 64, .tx_size = 64,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD, .bind_flags = XDP_COPY };
	struct xsk_ring_prod fq, tx;
	struct xsk_ring_cons cq, rx;

	if (unshare(CLONE_NEWNET)) /* private lo: no competition for its queue 0 */
		fprintf(stderr, "bench_xdp: unshare: %s (using the shared lo)\n", strerror(errno));
	if (posix_memalign(&bx->area, getpagesize(), 64 * 4096) ||
	    xsk_umem__create(&bx->umem, bx->area, 64 * 4096, &fq, &cq, NULL) ||
	    xsk_socket__create(&bx->xsk, "lo", 0, bx->umem, &rx, &tx, &xcfg) ||
	    mcp_xdp_xsk_set(x, 0, xsk_socket__fd(bx->xsk))) {
		fprintf(stderr, "bench_xdp: cannot bind an AF_XDP socket on lo\n");
		return -1;
	}
	return 0;
}

static void unbind_xsk(struct bench_xsk *bx)
{
	xsk_socket__delete(bx->xsk);
	xsk_umem__delete(bx->umem);
	free(bx->area);
}

struct bench_frame {
	uint8_t data[2048];
	int len;
	uint32_t repeat, rounds;
};

static void measure_rounds(struct result *r, int fd, const struct bench_frame *bf)
{
	for (uint32_t i = 0; i < bf->rounds; i++)
		measure(r, fd, bf->data, bf->len, bf->repeat, i);
}

/* The two flow cases: a flow of the same hash but another VLAN (the flows lookup runs and
 * misses), then the frame's own flow (bypassed). */
static void measure_flows(struct mcp_xdp_obj *x, const struct bench_frame *bf,
			  struct result *r_hint, struct result *r_byp)
{
	struct mcp_flow_key fk;
	struct mcp_ip a, b;

	mcp_ip_parse(&a, "192.168.1.10");
	mcp_ip_parse(&b, "8.8.8.8");
	mcp_flow_key_make(&fk, &a, &b, 40000, 443, 6, 1); /* VLAN 1: same hash, no match */
	mcp_xdp_flow_install(x, &fk, 7, 0);
	measure_rounds(r_hint, mcp_xdp_prog_fd(x), bf);
	mcp_xdp_flow_remove(x, &fk);
	mcp_flow_key_make(&fk, &a, &b, 40000, 443, 6, 0);
	mcp_xdp_flow_install(x, &fk, 7, 0);
	measure_rounds(r_byp, mcp_xdp_prog_fd(x), bf);
}

static int drop_record(void *ctx, void *data, size_t size)
{
	return 0;
}

/* mcp-capture -i: an active capture of another subscriber (index 8) against none, the cost
 * to the frames that are not captured (interleaved, after the bypassed flow is gone); and a
 * captured frame's copy to the ring, with runs few enough that the ring never fills (it is
 * drained between rounds). */
/* Two captures of other IMSIs (slots 0 and 1, both following the control plane, as
 * mcp-capture -i sets them) instead of one. */
static void capture_two(struct mcp_xdp_obj *x, int on)
{
	struct mcp_capture_slots t;
	uint32_t zero = 0;

	memset(&t, 0, sizeof(t));
	t.used = t.follow = on ? 3 : 0;
	bpf_map_update_elem(mcp_xdp_map_fd(x, MCP_XMAP_CAPTURE_SLOTS), &zero, &t, BPF_ANY);
	mcp_xdp_capture_set(x, 8, on ? 1 : 0);
	mcp_xdp_capture_set(x, 9, on ? 3 : 0);
}

static void measure_capture(struct mcp_xdp_obj *x, const struct bench_frame *bf,
			    struct result *r_nocap, struct result *r_other, struct result *r_two,
			    struct result *r_self)
{
	struct ring_buffer *rb = ring_buffer__new(mcp_xdp_capture_ring_add(x, 0),
						  drop_record, NULL, NULL);
	int fd = mcp_xdp_prog_fd(x);
	struct mcp_flow_key fk;
	struct mcp_ip a, b;

	mcp_ip_parse(&a, "192.168.1.10");
	mcp_ip_parse(&b, "8.8.8.8");
	mcp_flow_key_make(&fk, &a, &b, 40000, 443, 6, 0);
	mcp_xdp_flow_remove(x, &fk); /* measure_flows' bypassed flow */
	for (uint32_t i = 0; i < bf->rounds; i++) {
		mcp_xdp_capture_set(x, 8, 0);
		measure(r_nocap, fd, bf->data, bf->len, bf->repeat, i);
		mcp_xdp_capture_set(x, 8, MCP_CAPTURE_ON);
		measure(r_other, fd, bf->data, bf->len, bf->repeat, i);
		capture_two(x, 1);
		measure(r_two, fd, bf->data, bf->len, bf->repeat, i);
		capture_two(x, 0);
		mcp_xdp_capture_set(x, 7, MCP_CAPTURE_ON);
		measure(r_self, fd, bf->data, bf->len, 20000, i);
		mcp_xdp_capture_set(x, 7, 0);
		if (rb)
			ring_buffer__consume(rb);
	}
	ring_buffer__free(rb);
}

static void print_capture(const struct result *none, const struct result *other,
			  const struct result *two, const struct result *self)
{
	printf("  %-32s %7.1f ns/packet (verdict %u)\n", none->what, none->best, none->ret);
	printf("  %-32s %7.1f ns/packet (verdict %u)  %+.1f%% (goal <= 5%%)\n", other->what,
	       other->best, other->ret, 100.0 * (other->best / none->best - 1));
	printf("  %-32s %7.1f ns/packet (verdict %u)  %+.1f%% (goal <= 5%%)\n", two->what,
	       two->best, two->ret, 100.0 * (two->best / none->best - 1));
	printf("  %-32s %7.1f ns/packet (verdict %u)  copy to the capture ring, 20000 runs\n",
	       self->what, self->best, self->ret);
}

static void print_ratio(const struct result *r, const struct result *bare)
{
	printf("  %-32s %7.1f ns/packet (verdict %u)  ratio %.2fx\n", r->what, r->best, r->ret,
	       r->best / bare->best);
}

static int parse_args(int argc, char **argv, struct bench_frame *bf)
{
	const char *path = "tests/data/xdp_frames.txt";
	int c;

	bf->repeat = 10000000;
	bf->rounds = 5;
	while ((c = getopt(argc, argv, "n:r:")) != -1) {
		if (c == 'n')
			bf->repeat = strtoul(optarg, NULL, 0);
		else if (c == 'r')
			bf->rounds = strtoul(optarg, NULL, 0);
		else
			return 2;
	}
	if (optind < argc)
		path = argv[optind];
	bf->len = load_frame(path, "gtpu_v4_tcp_up", bf->data, sizeof(bf->data));
	if (bf->len <= 0) {
		fprintf(stderr, "bench_xdp: no frame gtpu_v4_tcp_up in %s\n", path);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct bench_frame bf;
	struct bench_xsk bx = { 0 };
	struct mcp_xdp_opts o;
	struct mcp_xdp_obj *x;
	struct mcp_bare *bare;
	struct mcp_floor *floor;
	struct result r_bare = { "bare XDP_PASS", 0, 0 };
	struct result r_floor = { "floor: one tunnel hash lookup", 0, 0 };
	struct result r_mcp = { "mcp_xdp GTP-U known tunnel", 0, 0 };
	struct result r_hint = { "mcp_xdp known tunnel, flow lookup", 0, 0 };
	struct result r_byp = { "mcp_xdp GTP-U bypassed flow", 0, 0 };
	struct result r_nocap = { "known tunnel, no capture", 0, 0 };
	struct result r_capother = { "known tunnel, other IMSI captured", 0, 0 };
	struct result r_capself = { "known tunnel, this IMSI captured", 0, 0 };
	struct result r_captwo = { "known tunnel, two captures of others", 0, 0 };
	uint64_t st[MCP_STATS__MAX];
	int err = parse_args(argc, argv, &bf);

	if (err)
		return err;
	mcp_xdp_opts_default(&o); /* production map sizes */
	err = mcp_xdp_load_detached(&o, &x);
	bare = mcp_bare__open_and_load();
	floor = mcp_floor__open_and_load();
	if (err || !bare || !floor) {
		fprintf(stderr, "bench_xdp: cannot load the programs (root needed)\n");
		return 1;
	}
	if (install_tunnel(x, floor) || bind_xsk(x, &bx))
		return 1;

	for (uint32_t i = 0; i < bf.rounds; i++) { /* interleaved: the VM's speed drifts */
		measure(&r_bare, bpf_program__fd(bare->progs.mcp_bare_prog), bf.data, bf.len,
			bf.repeat, i);
		measure(&r_floor, bpf_program__fd(floor->progs.mcp_floor_prog), bf.data, bf.len,
			bf.repeat, i);
		measure(&r_mcp, mcp_xdp_prog_fd(x), bf.data, bf.len, bf.repeat, i);
	}
	/* the timed path must be the real one: metadata written on every run (a test-run repeat
	 * does not reset the metadata area; the program reuses a full one), one-step parse */
	if (mcp_xdp_stats_read(x, st)) {
		fprintf(stderr, "bench_xdp: cannot read the counters\n");
		return 1;
	}
	measure_flows(x, &bf, &r_hint, &r_byp);
	measure_capture(x, &bf, &r_nocap, &r_capother, &r_captwo, &r_capself);

	printf("bench_xdp: %d-byte GTP-U frame, %u runs x best of %u rounds\n", bf.len, bf.repeat,
	       bf.rounds);
	printf("  %-32s %7.1f ns/packet (verdict %u)\n", r_bare.what, r_bare.best, r_bare.ret);
	print_ratio(&r_floor, &r_bare);
	print_ratio(&r_mcp, &r_bare);
	printf("  %-32s %llu runs: %llu one-step parse, %llu metadata failed\n", "",
	       (unsigned long long)st[MCP_STAT_XDP(MCP_XDP_RX)],
	       (unsigned long long)st[MCP_STAT_XDP(MCP_XDP_FAST_PARSE)],
	       (unsigned long long)st[MCP_STAT_XDP(MCP_XDP_META_FAILED)]);
	print_ratio(&r_hint, &r_bare);
	print_ratio(&r_byp, &r_bare);
	print_capture(&r_nocap, &r_capother, &r_captwo, &r_capself);

	unbind_xsk(&bx);
	mcp_bare__destroy(bare);
	mcp_floor__destroy(floor);
	mcp_xdp_close(x);
	return r_mcp.ret == XDP_REDIRECT && st[MCP_STAT_XDP(MCP_XDP_META_FAILED)] == 0 &&
	       r_hint.ret == XDP_REDIRECT && r_byp.ret == XDP_DROP && r_floor.ret == XDP_PASS ? 0 : 1;
}
