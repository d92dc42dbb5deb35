/* test_xdp_prog.c - the XDP program (bpf/mcp_xdp.bpf.c) run with BPF_PROG_TEST_RUN on scapy-built
 * frames (tests/data/xdp_frames.txt, from tests/data/gen_xdp_frames.py): verdicts, metadata,
 * per-subscriber, per-reason, bypass and capture counters, and every truncation at every
 * header boundary. Also covers the map helpers in userspace/xdp/maps_user.c.
 *
 * Needs root (BPF) and an AF_XDP socket on lo queue 0 of a private network namespace (so
 * XDP_REDIRECT is reachable).
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <xdp/xsk.h>

#include "xdp/maps_user_flows.h"
#include "xdp/maps_user_tunnels.h"
#include "util/log.h"

#define MAX_FRAMES 64
#define MAX_CUTS 16
#define NWORKERS 4

struct frame {
	char name[64], verdict[16], reason[32];
	unsigned int flags, len, hdr_end, teid, outer_l3, inner_l3, inner_l4, proto, ip_len;
	unsigned int sport, dport, vlan, qfi, pdu, gtp_type;
	int sub, dir, ncuts;
	struct {
		unsigned int start;
		char reason[32];
	} cuts[MAX_CUTS];
	uint8_t data[2048];
};

struct tun {
	uint32_t teid, sub, dir;
	char addr[64];
};

static struct frame frames[MAX_FRAMES];
static int nframes;
static struct tun tuns[16];
static int ntuns;
static struct mcp_xdp_obj *x;
static struct xsk_socket *xsk;
static struct xsk_umem *umem;
static void *umem_area;

static void parse_frame(char *line, struct frame *f)
{
	char *tok, *save, *v;

	memset(f, 0, sizeof(*f));
	for (tok = strtok_r(line, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
		v = strchr(tok, '=');
		if (!v)
			continue;
		*v++ = 0;
#define U(k) else if (!strcmp(tok, #k)) f->k = (unsigned int)strtoul(v, NULL, 0)
		if (!strcmp(tok, "name"))
			snprintf(f->name, sizeof(f->name), "%s", v);
		else if (!strcmp(tok, "verdict"))
			snprintf(f->verdict, sizeof(f->verdict), "%s", v);
		else if (!strcmp(tok, "reason"))
			snprintf(f->reason, sizeof(f->reason), "%s", v);
		else if (!strcmp(tok, "sub"))
			f->sub = atoi(v);
		else if (!strcmp(tok, "dir"))
			f->dir = atoi(v);
		U(flags); U(len); U(hdr_end); U(teid); U(outer_l3); U(inner_l3); U(inner_l4);
		U(proto); U(ip_len); U(sport); U(dport); U(vlan); U(qfi); U(pdu); U(gtp_type);
		else if (!strcmp(tok, "cuts") && strcmp(v, "-")) {
			char *c, *s2;

			for (c = strtok_r(v, ",", &s2); c && f->ncuts < MAX_CUTS;
			     c = strtok_r(NULL, ",", &s2)) {
				char *r = strchr(c, ':');

				cr_assert(r, "bad cut %s", c);
				*r++ = 0;
				f->cuts[f->ncuts].start = strtoul(c, NULL, 0);
				snprintf(f->cuts[f->ncuts].reason, 32, "%s", r);
				f->ncuts++;
			}
		} else if (!strcmp(tok, "hex")) {
			size_t i, n = strlen(v) / 2;

			cr_assert(n <= sizeof(f->data));
			for (i = 0; i < n; i++)
				sscanf(v + 2 * i, "%2hhx", &f->data[i]);
			cr_assert_eq(n, f->len, "%s: hex length", f->name);
		}
#undef U
	}
}

static void load_data(void)
{
	char path[512], *line = NULL, *slash;
	size_t cap = 0;
	FILE *fp;

	snprintf(path, sizeof(path), "%s", __FILE__);
	slash = strrchr(path, '/');
	snprintf(slash ? slash + 1 : path, sizeof(path) - (slash ? slash + 1 - path : 0),
		 "data/xdp_frames.txt");
	fp = fopen(path, "r");
	cr_assert(fp, "cannot open %s: %s (run from the repository root)", path, strerror(errno));
	while (getline(&line, &cap, fp) > 0) {
		if (!strncmp(line, "tunnel ", 7)) {
			struct tun *t = &tuns[ntuns++];

			cr_assert(sscanf(line, "tunnel teid=%u addr=%63s sub=%u dir=%u", &t->teid,
					 t->addr, &t->sub, &t->dir) == 4);
		} else if (!strncmp(line, "frame ", 6)) {
			cr_assert(nframes < MAX_FRAMES);
			parse_frame(line + 6, &frames[nframes++]);
		}
	}
	free(line);
	fclose(fp);
	cr_assert(nframes > 20 && ntuns > 0, "data file looks empty");
}

static struct frame *frame(const char *name)
{
	int i;

	for (i = 0; i < nframes; i++)
		if (!strcmp(frames[i].name, name))
			return &frames[i];
	cr_assert_fail("no frame %s in the data file", name);
	return NULL;
}

/* Installs the data file's tunnels through the session-event path. */
static void install_tunnels_in(struct mcp_xdp_obj *obj)
{
	struct mcp_subscriber sub;
	uint32_t ids[16];
	int i, j, nids = 0;

	for (i = 0; i < ntuns; i++) {
		for (j = 0; j < nids && ids[j] != tuns[i].sub; j++)
			;
		if (j == nids)
			ids[nids++] = tuns[i].sub;
	}
	for (j = 0; j < nids; j++) {
		memset(&sub, 0, sizeof(sub));
		sub.id = ids[j];
		snprintf(sub.imsi, sizeof(sub.imsi), "0010100000000%02u", ids[j]);
		snprintf(sub.msisdn, sizeof(sub.msisdn), "3312345%04u", ids[j]);
		for (i = 0; i < ntuns; i++) {
			struct mcp_tunnel *t;

			if (tuns[i].sub != ids[j])
				continue;
			t = &sub.tunnels[sub.ntunnels++];
			t->teid = tuns[i].teid;
			t->dir = tuns[i].dir;
			cr_assert_eq(mcp_ip_parse(&t->addr, tuns[i].addr), 0);
		}
		cr_assert_eq(mcp_xdp_tunnel_update(obj, &sub), 0);
	}
}

static void install_tunnels(void)
{
	install_tunnels_in(x);
}

static void bind_xsk(void)
{
	struct xsk_socket_config cfg = {
		.rx_size = 64, .tx_size = 64,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = XDP_COPY,
	};
	static struct xsk_ring_prod fq, tx;
	static struct xsk_ring_cons cq, rx;
	size_t size = 64 * 4096;
	int err;

	/* A private network namespace per test process: its own lo, so parallel tests (and other
	 * suites) never compete for lo's queue 0. It disappears with the process. */
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare(CLONE_NEWNET): %s", strerror(errno));
	cr_assert_eq(posix_memalign(&umem_area, getpagesize(), size), 0);
	err = xsk_umem__create(&umem, umem_area, size, &fq, &cq, NULL);
	cr_assert_eq(err, 0, "AF_XDP umem: %s", strerror(-err));
	err = xsk_socket__create(&xsk, "lo", 0, umem, &rx, &tx, &cfg);
	cr_assert_eq(err, 0, "AF_XDP socket on lo queue 0: %s", strerror(-err));
	cr_assert_eq(mcp_xdp_xsk_set(x, 0, xsk_socket__fd(xsk)), 0);
}

/* The test object: small maps, NWORKERS workers, the debug metadata copy. */
static int load_test_obj(int no_fast_parse, struct mcp_xdp_obj **out)
{
	struct mcp_xdp_opts o;

	mcp_xdp_opts_default(&o);
	o.max_tunnels = 1024;
	o.max_subscribers = 1024;
	o.max_flows = 1024;
	o.ring_bytes = 1 << 20;
	o.nworkers = NWORKERS;
	o.debug_meta = 1;
	o.no_fast_parse = no_fast_parse;
	return mcp_xdp_load_detached(&o, out);
}

static void setup(void)
{
	int err;

	mcp_xdp_route_logs();
	load_data();
	err = load_test_obj(0, &x);
	cr_assert_eq(err, 0, "loading the XDP object: %s (root needed)", strerror(-err));
	install_tunnels();
	bind_xsk();
}

static void teardown(void)
{
	if (xsk)
		xsk_socket__delete(xsk);
	if (umem)
		xsk_umem__delete(umem);
	free(umem_area);
	mcp_xdp_close(x);
}

TestSuite(xdp, .init = setup, .fini = teardown);

static uint32_t run_in(struct mcp_xdp_obj *obj, const uint8_t *d, uint32_t len, uint8_t *out,
		       uint32_t *outlen)
{
	static uint8_t buf[4096];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = d, .data_size_in = len,
		    .data_out = out ? out : buf, .data_size_out = sizeof(buf), .repeat = 1);
	int err = bpf_prog_test_run_opts(mcp_xdp_prog_fd(obj), &o);

	cr_assert_eq(err, 0, "test_run (%u bytes): %s", len, strerror(errno));
	if (outlen)
		*outlen = o.data_size_out;
	return o.retval;
}

static uint32_t run(const uint8_t *d, uint32_t len, uint8_t *out, uint32_t *outlen)
{
	return run_in(x, d, len, out, outlen);
}

static int stat_index(const char *name)
{
	unsigned int i;

	for (i = 0; i < MCP_STATS__MAX; i++)
		if (!strcasecmp(mcp_xdp_stat_name(i), name))
			return (int)i;
	cr_assert_fail("no counter %s", name);
	return -1;
}

/* Runs one frame and returns the counter deltas in d. */
static uint32_t run_counted_in(struct mcp_xdp_obj *obj, const uint8_t *data, uint32_t len,
			       int64_t *d)
{
	uint64_t before[MCP_STATS__MAX], after[MCP_STATS__MAX];
	uint32_t ret;
	int i;

	cr_assert_eq(mcp_xdp_stats_read(obj, before), 0);
	ret = run_in(obj, data, len, NULL, NULL);
	cr_assert_eq(mcp_xdp_stats_read(obj, after), 0);
	for (i = 0; i < MCP_STATS__MAX; i++)
		d[i] = (int64_t)(after[i] - before[i]);
	return ret;
}

static uint32_t run_counted(const uint8_t *data, uint32_t len, int64_t *d)
{
	return run_counted_in(x, data, len, d);
}

static int64_t parse_sum(const int64_t *d)
{
	int64_t s = 0;
	int i;

	for (i = 0; i < MCP_PARSE__MAX; i++)
		s += d[i];
	return s;
}

#define XDP_STAT(n) MCP_STAT_XDP(MCP_XDP_##n)

static void check_meta(const struct frame *f, const struct mcp_meta *m)
{
	cr_expect_eq(m->magic, MCP_META_MAGIC, "%s: magic", f->name);
	cr_expect_eq(m->version, MCP_META_VERSION, "%s: version", f->name);
	cr_expect_eq(m->flags & ~MCP_META_F_INLINE, f->flags, "%s: flags %#x, want %#x", f->name,
		     m->flags, f->flags);
	cr_expect_eq(m->teid, f->teid, "%s: teid", f->name);
	cr_expect_eq(m->outer_l3, f->outer_l3, "%s: outer_l3", f->name);
	cr_expect_eq(m->inner_l3, f->inner_l3, "%s: inner_l3 %u want %u", f->name, m->inner_l3,
		     f->inner_l3);
	cr_expect_eq(m->vlan, f->vlan, "%s: vlan", f->name);
	if (f->flags & MCP_META_F_QFI)
		cr_expect_eq(m->qfi, f->qfi, "%s: qfi", f->name);
	if (f->sub >= 0) {
		cr_expect_eq(m->sub_idx, (uint32_t)f->sub, "%s: sub", f->name);
		cr_expect_eq(m->dir, f->dir, "%s: dir", f->name);
		cr_expect_eq(m->worker, f->sub % NWORKERS, "%s: worker", f->name);
	} else {
		cr_expect_eq(m->sub_idx, MCP_META_SUB_NONE, "%s: sub", f->name);
		cr_expect_eq(m->dir, MCP_META_DIR_UNKNOWN, "%s: dir", f->name);
		cr_expect_lt(m->worker, NWORKERS, "%s: worker from the flow hash", f->name);
	}
}

Test(xdp, verdicts_metadata_and_reasons)
{
	int64_t d[MCP_STATS__MAX];
	int i;

	for (i = 0; i < nframes; i++) {
		const struct frame *f = &frames[i];
		uint32_t ret = run_counted(f->data, f->len, d);

		cr_expect_eq(d[XDP_STAT(RX)], 1, "%s: rx", f->name);
		if (!strcmp(f->verdict, "redirect")) {
			struct mcp_meta m;

			cr_expect_eq(ret, XDP_REDIRECT, "%s: verdict %u", f->name, ret);
			cr_expect_eq(d[XDP_STAT(REDIRECTED)], 1, "%s: redirected", f->name);
			if (strcmp(f->reason, "-")) /* malformed yet accounted (GTP-U length) */
				cr_expect_eq(d[stat_index(f->reason)], 1, "%s: reason %s", f->name,
					     f->reason);
			cr_expect_eq(parse_sum(d), strcmp(f->reason, "-") ? 1 : 0,
				     "%s: parse reasons", f->name);
			cr_assert_eq(mcp_xdp_last_meta(x, &m), 0, "%s: no metadata", f->name);
			check_meta(f, &m);
			if ((f->flags & MCP_META_F_TPDU))
				cr_expect_eq(d[f->sub >= 0 ? XDP_STAT(KNOWN_TUNNEL) : XDP_STAT(NO_TUNNEL)], 1,
					     "%s: tunnel lookup counter", f->name);
			if (f->flags & MCP_META_F_GTPC)
				cr_expect_eq(d[XDP_STAT(GTPC)], 1, "%s: gtpc", f->name);
			if ((f->flags & MCP_META_F_GTPU) && !(f->flags & MCP_META_F_TPDU))
				cr_expect_eq(d[XDP_STAT(GTPU_SIGNAL)], 1, "%s: signal", f->name);
			if (f->flags & MCP_META_F_FRAG)
				cr_expect_eq(d[XDP_STAT(FRAGMENT)], 1, "%s: fragment", f->name);
		} else {
			cr_expect_eq(ret, XDP_PASS, "%s: verdict %u", f->name, ret);
			cr_expect_eq(d[XDP_STAT(PASSED)], 1, "%s: passed", f->name);
			cr_expect_eq(d[stat_index(f->reason)], 1, "%s: reason %s", f->name, f->reason);
			cr_expect_eq(parse_sum(d), 1, "%s: exactly one reason", f->name);
		}
	}
}

/* The kernel hands the metadata back in data_out (before the frame) when it supports it. */
Test(xdp, metadata_in_front_of_frame)
{
	const struct frame *f = frame("gtpu_v4_tcp_up");
	uint8_t out[4096];
	struct mcp_meta m, dbg;
	uint32_t outlen;

	cr_assert_eq(run(f->data, f->len, out, &outlen), XDP_REDIRECT);
	cr_assert_eq(mcp_xdp_last_meta(x, &dbg), 0);
	cr_assert_eq(outlen, f->len + sizeof(m), "data_out %u bytes: metadata not returned", outlen);
	memcpy(&m, out, sizeof(m));
	cr_expect_eq(memcmp(&m, &dbg, sizeof(m)), 0, "metadata in front of the frame");
	cr_expect_eq(memcmp(out + sizeof(m), f->data, f->len), 0, "frame intact");
}

Test(xdp, every_truncation_is_counted_and_not_redirected)
{
	int64_t d[MCP_STATS__MAX];
	int i, c, checked = 0;
	uint32_t L;

	for (i = 0; i < nframes; i++) {
		const struct frame *f = &frames[i];

		for (L = 14; L < f->len; L++) {
			uint32_t ret = run_counted(f->data, L, d);
			const char *want = NULL;
			struct mcp_meta m;

			cr_expect_eq(d[XDP_STAT(RX)], 1);
			if (!strcmp(f->verdict, "pass")) {
				cr_expect_neq(ret, XDP_REDIRECT, "%s cut at %u redirected", f->name, L);
				cr_expect_eq(parse_sum(d), 1, "%s cut at %u: one reason", f->name, L);
				continue;
			}
			if (L >= f->hdr_end) { /* headers complete: offsets inside the frame */
				cr_expect_eq(ret, XDP_REDIRECT, "%s cut at %u (payload)", f->name, L);
				cr_assert_eq(mcp_xdp_last_meta(x, &m), 0);
				cr_expect_lt(m.inner_l3, L);
				continue;
			}
			for (c = 0; c < f->ncuts; c++)
				if (f->cuts[c].start <= L)
					want = f->cuts[c].reason;
			cr_assert(want, "%s: no cut covers %u", f->name, L);
			cr_expect_eq(ret, XDP_PASS, "%s cut at %u: verdict %u", f->name, L, ret);
			cr_expect_eq(d[XDP_STAT(REDIRECTED)], 0, "%s cut at %u", f->name, L);
			cr_expect_eq(d[stat_index(want)], 1, "%s cut at %u: want %s", f->name, L, want);
			cr_expect_eq(parse_sum(d), 1, "%s cut at %u: exactly one reason", f->name, L);
			mcp_xdp_last_meta(x, &m); /* clear */
			checked++;
		}
	}
	cr_expect_gt(checked, 300, "only %d header cuts checked", checked);
}

Test(xdp, subscriber_counters)
{
	const struct frame *up = frame("gtpu_v4_tcp_up"), *down = frame("gtpu_v4_tcp_down");
	const struct frame *ext = frame("gtpu_qinq_pdu_v6");
	struct mcp_sub_counters c;
	int i;

	for (i = 0; i < 3; i++)
		run(up->data, up->len, NULL, NULL);
	run(down->data, down->len, NULL, NULL);
	run(ext->data, ext->len, NULL, NULL);
	cr_assert_eq(mcp_xdp_sub_counters(x, 7, &c), 0);
	cr_expect_eq(c.pkts_up, 3);
	cr_expect_eq(c.bytes_up, 3 * up->ip_len);
	cr_expect_eq(c.pkts_down, 1);
	cr_expect_eq(c.bytes_down, down->ip_len);
	cr_assert_eq(mcp_xdp_sub_counters(x, 11, &c), 0);
	cr_expect_eq(c.pkts_up, 1);
	cr_expect_eq(c.bytes_up, ext->ip_len);
}

/* A GTP-U length beyond the datagram (open5gs-testregistration frame 139) is counted as
 * BAD_GTPU_LEN and still credited to the tunnel's subscriber and sent up (docs/5g.md). */
Test(xdp, gtpu_length_beyond_datagram_counted_and_credited)
{
	const struct frame *f = frame("gtpu_len_too_big");
	struct mcp_sub_counters before, after;
	int64_t d[MCP_STATS__MAX];
	uint16_t glen = (uint16_t)(f->data[f->inner_l3 - 6] << 8 | f->data[f->inner_l3 - 5]);

	cr_assert_gt(glen + 8u, f->inner_l3 - 8u + f->ip_len, "the frame's GTP-U length must lie");
	cr_assert_eq(mcp_xdp_sub_counters(x, 7, &before), 0);
	cr_expect_eq(run_counted(f->data, f->len, d), XDP_REDIRECT);
	cr_expect_eq(d[stat_index("BAD_GTPU_LEN")], 1);
	cr_expect_eq(d[XDP_STAT(KNOWN_TUNNEL)], 1);
	cr_assert_eq(mcp_xdp_sub_counters(x, 7, &after), 0);
	cr_expect_eq(after.pkts_up - before.pkts_up, 1);
	cr_expect_eq(after.bytes_up - before.bytes_up, f->ip_len);
}

struct flow_seen {
	int n;
	struct mcp_flow_val v;
};

static int count_flow(void *ctx, const struct mcp_flow_key *k, const struct mcp_flow_val *v)
{
	struct flow_seen *s = ctx;

	s->n++;
	s->v = *v;
	return 0;
}

/* Installed flows counted in the key's flow_hints slot (include/mcp_map_layout.h). */
static uint32_t hint_count(const struct mcp_flow_key *k)
{
	uint32_t slot = mcp_flow_key_symhash(k) & (MCP_FLOW_HINT_SLOTS - 1);
	uint32_t elem = slot / MCP_FLOW_HINT_PER_ELEM;
	struct mcp_flow_hint h;

	cr_assert_eq(bpf_map_lookup_elem(mcp_xdp_map_fd(x, MCP_XMAP_FLOW_HINTS), &elem, &h), 0);
	return h.n[slot % MCP_FLOW_HINT_PER_ELEM];
}

Test(xdp, bypass_mirror_and_inline)
{
	const struct frame *up = frame("gtpu_v4_tcp_up"), *down = frame("gtpu_v4_tcp_down");
	struct mcp_ip a, b;
	struct mcp_flow_key k;
	struct mcp_xdp_config cfg;
	struct flow_seen s = { 0 };
	int64_t d[MCP_STATS__MAX];
	int dir_up;
	__u32 zero = 0;

	mcp_ip_parse(&a, "192.168.1.10");
	mcp_ip_parse(&b, "8.8.8.8");
	dir_up = mcp_flow_key_make(&k, &a, &b, 40000, 443, 6, 0);
	cr_expect_eq(hint_count(&k), 0);
	cr_assert_eq(mcp_xdp_flow_install(x, &k, 7, 0), 0);
	cr_expect_eq(mcp_xdp_flow_install(x, &k, 7, 0), -EEXIST);
	cr_expect_eq(hint_count(&k), 1, "a failed install leaves the hint as it was");

	cr_expect_eq(run_counted(up->data, up->len, d), XDP_DROP);
	cr_expect_eq(d[XDP_STAT(BYPASSED)], 1);
	cr_expect_eq(d[XDP_STAT(REDIRECTED)], 0);
	cr_expect_eq(d[XDP_STAT(DROPPED)], 0, "bypass counts as bypassed, not dropped");
	cr_expect_eq(d[XDP_STAT(KNOWN_TUNNEL)], 1, "subscriber still counted");
	cr_expect_eq(run(down->data, down->len, NULL, NULL), XDP_DROP);

	cr_assert_eq(mcp_xdp_flow_read_batch(x, 1, count_flow, &s), 1);
	cr_expect_eq(s.n, 1);
	cr_expect_eq(s.v.pkts[dir_up], 1);
	cr_expect_eq(s.v.pkts[!dir_up], 1);
	cr_expect_eq(s.v.bytes[dir_up], up->ip_len);
	cr_expect_eq(s.v.bytes[!dir_up], down->ip_len);
	cr_expect_neq(s.v.last_ns, 0);
	cr_expect_eq(s.v.sub_idx, 7);
	cr_expect_eq(s.v.nosub_pkts[0] + s.v.nosub_pkts[1], 0, "XDP credited the subscriber");

	/* inline mode: bypassed flows go on to the stack */
	cr_assert_eq(mcp_xdp_config_read(x, &cfg), 0);
	cfg.flags |= MCP_CFG_F_INLINE;
	cr_assert_eq(bpf_map_update_elem(mcp_xdp_map_fd(x, MCP_XMAP_CONFIG), &zero, &cfg, 0), 0);
	cr_expect_eq(run_counted(up->data, up->len, d), XDP_PASS);
	cr_expect_eq(d[XDP_STAT(BYPASSED)], 1);

	cr_assert_eq(mcp_xdp_flow_remove(x, &k), 0);
	cr_expect_eq(hint_count(&k), 0);
	/* no longer bypassed: inline mode copies it to the inline ring and passes it too */
	cr_expect_eq(run_counted(up->data, up->len, d), XDP_PASS);
	cr_expect_eq(d[XDP_STAT(COPIED)] + d[XDP_STAT(COPY_LOST)], 1);
	cr_expect_eq(d[XDP_STAT(REDIRECTED)], 0);
	cfg.flags &= ~MCP_CFG_F_INLINE;
	cr_assert_eq(bpf_map_update_elem(mcp_xdp_map_fd(x, MCP_XMAP_CONFIG), &zero, &cfg, 0), 0);
	cr_expect_eq(run(up->data, up->len, NULL, NULL), XDP_REDIRECT);
	cr_expect_eq(mcp_xdp_flow_remove(x, &k), -ENOENT);
	cr_expect_eq(hint_count(&k), 0, "a failed remove leaves the hint as it was");
}

/* A bypassed flow whose tunnel XDP does not know (its session came later): the packets it
 * counts are also counted as credited to no subscriber, which userspace then credits to the
 * subscriber's kernel counters through sub_credit, added by every reader. */
Test(xdp, bypass_counts_unattributed_and_credit_adds_to_counters)
{
	const struct frame *unk = frame("gtpu_unknown_teid");
	struct mcp_sub_counters before, after, cr;
	struct flow_seen s = { 0 };
	struct mcp_flow_key k;
	struct mcp_ip a, b;
	uint64_t pk[2] = { 2, 1 }, by[2] = { 2 * unk->ip_len, 40 };
	int dir;

	mcp_ip_parse(&a, "192.168.1.10");
	mcp_ip_parse(&b, "8.8.8.8");
	dir = mcp_flow_key_make(&k, &a, &b, 5000, 53, 17, 0);
	cr_assert_eq(mcp_xdp_flow_install(x, &k, MCP_META_SUB_NONE, 0), 0);
	cr_expect_eq(run(unk->data, unk->len, NULL, NULL), XDP_DROP);
	cr_expect_eq(run(unk->data, unk->len, NULL, NULL), XDP_DROP);
	cr_assert_eq(mcp_xdp_flow_read_batch(x, 16, count_flow, &s), 1);
	cr_expect_eq(s.v.pkts[dir], 2);
	cr_expect_eq(s.v.nosub_pkts[dir], 2);
	cr_expect_eq(s.v.nosub_bytes[dir], 2 * unk->ip_len);
	cr_expect_eq(s.v.nosub_pkts[!dir], 0);
	cr_assert_eq(mcp_xdp_flow_remove(x, &k), 0);

	cr_assert_eq(mcp_xdp_sub_counters(x, 7, &before), 0);
	cr_assert_eq(mcp_xdp_sub_credit(x, 7, pk, by), 0);
	cr_assert_eq(mcp_xdp_sub_credit_read(x, 7, &cr), 0);
	cr_expect_eq(cr.pkts_up, 2);
	cr_expect_eq(cr.bytes_up, 2 * unk->ip_len);
	cr_expect_eq(cr.pkts_down, 1);
	cr_expect_eq(cr.bytes_down, 40);
	cr_assert_eq(mcp_xdp_sub_counters(x, 7, &after), 0);
	cr_expect_eq(after.pkts_up, before.pkts_up + 2);
	cr_expect_eq(after.bytes_down, before.bytes_down + 40);
	cr_expect_eq(mcp_xdp_sub_credit(x, 1024, pk, by), -E2BIG);
	mcp_xdp_sub_credit_zero(x, 7);
	cr_assert_eq(mcp_xdp_sub_credit_read(x, 7, &cr), 0);
	cr_expect_eq(cr.pkts_up + cr.pkts_down + cr.bytes_up + cr.bytes_down, 0);
}

/* A flow installed pending (at its SYN, before nDPI decided): the kernel counts every packet,
 * drops the empty segments, and still sends the ones with payload up, marked as counted; once
 * unpended it is an ordinary bypassed flow. The entry keeps both TEIDs and the TCP flags. */
Test(xdp, pending_flow_counts_all_sends_payload_up)
{
	const struct frame *synack = frame("gtpu_v4_tcp_synack_down");
	const struct frame *up = frame("gtpu_v4_tcp_up"), *down = frame("gtpu_v4_tcp_down");
	struct flow_seen s = { 0 };
	struct mcp_flow_key k;
	struct mcp_ip a, b;
	struct mcp_meta m;
	int64_t d[MCP_STATS__MAX];
	int dir_up;

	mcp_ip_parse(&a, "192.168.1.10");
	mcp_ip_parse(&b, "8.8.8.8");
	dir_up = mcp_flow_key_make(&k, &a, &b, 40000, 443, 6, 0);
	cr_assert_eq(mcp_xdp_flow_install(x, &k, 7, 1), 0);
	cr_expect_eq(hint_count(&k), 1 + MCP_FLOW_HINT_PENDING);

	cr_expect_eq(run_counted(synack->data, synack->len, d), XDP_DROP, "empty SYN-ACK kept");
	cr_expect_eq(d[XDP_STAT(BYPASSED)], 1);
	cr_expect_eq(run_counted(up->data, up->len, d), XDP_REDIRECT, "payload goes up");
	cr_expect_eq(d[XDP_STAT(REDIRECTED)], 1);
	cr_expect_eq(d[XDP_STAT(PENDING_UP)], 1);
	cr_assert_eq(mcp_xdp_last_meta(x, &m), 0);
	cr_expect(m.flags & MCP_META_F_KCOUNTED, "flags %#x: not marked as counted", m.flags);

	mcp_xdp_flow_unpend(x, &k);
	cr_expect_eq(hint_count(&k), 1);
	cr_expect_eq(run_counted(down->data, down->len, d), XDP_DROP, "decided: payload kept");
	cr_expect_eq(d[XDP_STAT(BYPASSED)], 1);
	cr_expect_eq(d[XDP_STAT(PENDING_UP)], 0);

	cr_assert_eq(mcp_xdp_flow_read_batch(x, 1, count_flow, &s), 1);
	cr_expect_eq(s.v.pkts[dir_up], 1);
	cr_expect_eq(s.v.pkts[!dir_up], 2);
	cr_expect_eq(s.v.bytes[dir_up], up->ip_len);
	cr_expect_eq(s.v.bytes[!dir_up], synack->ip_len + down->ip_len);
	cr_expect_eq(s.v.teid[dir_up], up->teid, "uplink TEID %#x", s.v.teid[dir_up]);
	cr_expect_eq(s.v.teid[!dir_up], synack->teid, "downlink TEID from the SYN-ACK");
	cr_expect_eq(s.v.tcp_flags[dir_up], 0x10, "uplink flags %#x", s.v.tcp_flags[dir_up]);
	cr_expect_eq(s.v.tcp_flags[!dir_up], 0x12 | 0x10, "downlink flags %#x",
		     s.v.tcp_flags[!dir_up]);
	cr_expect_eq(s.v.flags, MCP_FLOW_V_PENDING);
	cr_assert_eq(mcp_xdp_flow_remove(x, &k), 0);
	cr_expect_eq(hint_count(&k), 0);
}

/* What an earlier probe left in the flow map goes, with its hints. */
Test(xdp, flows_clear_removes_entries_and_hints)
{
	struct mcp_flow_key k[3];
	struct mcp_ip a, b;
	int i;

	mcp_ip_parse(&a, "10.7.0.1");
	mcp_ip_parse(&b, "10.7.0.2");
	for (i = 0; i < 3; i++) {
		mcp_flow_key_make(&k[i], &a, &b, (uint16_t)(2000 + i), 80, 6, 0);
		cr_assert_eq(mcp_xdp_flow_install(x, &k[i], 1, i == 0), 0);
	}
	cr_expect_eq(mcp_xdp_flows_clear(x), 3);
	for (i = 0; i < 3; i++)
		cr_expect_eq(hint_count(&k[i]), 0);
	cr_expect_eq(mcp_xdp_flows_clear(x), 0);
}

Test(xdp, batch_readback_many_flows)
{
	struct flow_seen s = { 0 };
	struct mcp_flow_key k;
	struct mcp_ip a, b;
	int i;

	for (i = 0; i < 700; i++) {
		mcp_ip_parse(&a, "10.9.0.1");
		mcp_ip_parse(&b, "10.9.0.2");
		mcp_flow_key_make(&k, &a, &b, (uint16_t)(1000 + i), 80, 6, 0);
		cr_assert_eq(mcp_xdp_flow_install(x, &k, 1, 0), 0);
	}
	cr_expect_eq(mcp_xdp_flow_read_batch(x, 64, count_flow, &s), 700);
	cr_expect_eq(s.n, 700);
}

Test(xdp, no_socket_on_queue_passes)
{
	const struct frame *up = frame("gtpu_v4_tcp_up");
	int64_t d[MCP_STATS__MAX];

	cr_assert_eq(mcp_xdp_xsk_set(x, 0, -1), 0);
	cr_expect_eq(run_counted(up->data, up->len, d), XDP_PASS);
	cr_expect_eq(d[XDP_STAT(NO_XSK)], 1);
	cr_expect_eq(d[XDP_STAT(PASSED)], 1);
}

static int got_capture(void *ctx, void *data, size_t size)
{
	const struct mcp_capture_hdr *h = data;
	const struct frame *f = frame("gtpu_v4_tcp_up");
	int *n = ctx;

	cr_assert_geq(size, sizeof(*h));
	cr_expect_eq(h->wire_len, f->len);
	cr_expect_eq(h->cap_len, f->len);
	cr_expect_eq(size, sizeof(*h) + h->cap_len);
	cr_expect_eq(h->meta.sub_idx, 7);
	cr_expect(h->meta.flags & MCP_META_F_CAPTURE);
	cr_expect_eq(memcmp((const uint8_t *)data + sizeof(*h), f->data, f->len), 0);
	(*n)++;
	return 0;
}

Test(xdp, capture_copies_to_ring)
{
	const struct frame *up = frame("gtpu_v4_tcp_up"), *other = frame("gtpu_qinq_pdu_v6");
	struct ring_buffer *rb;
	int64_t d[MCP_STATS__MAX];
	int n = 0;

	cr_assert_eq(mcp_xdp_capture_set(x, 7, MCP_CAPTURE_ON), 0);
	rb = ring_buffer__new(mcp_xdp_capture_ring_add(x, 0), got_capture, &n, NULL);
	cr_assert(rb);
	cr_expect_eq(run_counted(up->data, up->len, d), XDP_REDIRECT);
	cr_expect_eq(d[XDP_STAT(CAPTURED)], 1);
	run(other->data, other->len, NULL, NULL); /* subscriber 11: not captured */
	cr_expect_eq(ring_buffer__consume(rb), 1);
	cr_expect_eq(n, 1);
	ring_buffer__free(rb);
}

struct inline_seen {
	int n;
	uint8_t data[256];
	struct mcp_capture_hdr h;
};

static int got_inline(void *ctx, void *data, size_t size)
{
	struct inline_seen *s = ctx;

	cr_assert_geq(size, sizeof(s->h));
	memcpy(&s->h, data, sizeof(s->h));
	cr_assert_eq(size, sizeof(s->h) + s->h.cap_len);
	if (s->h.cap_len <= sizeof(s->data))
		memcpy(s->data, (const uint8_t *)data + sizeof(s->h), s->h.cap_len);
	s->n++;
	return 0;
}

/* Inline mode: every frame goes on to the stack; userspace gets a whole copy with the
 * metadata through the inline ring; a full ring loses the copy (counted), never the frame. */
Test(xdp, inline_copies_to_ring_and_passes)
{
	const struct frame *up = frame("gtpu_v4_tcp_up");
	struct inline_seen seen = { 0 };
	struct mcp_xdp_config cfg;
	struct ring_buffer *rb;
	int64_t d[MCP_STATS__MAX];
	__u32 zero = 0;
	int i, lost = 0, copied = 0;

	cr_assert_eq(mcp_xdp_config_read(x, &cfg), 0);
	cfg.flags |= MCP_CFG_F_INLINE;
	cr_assert_eq(bpf_map_update_elem(mcp_xdp_map_fd(x, MCP_XMAP_CONFIG), &zero, &cfg, 0), 0);
	rb = ring_buffer__new(mcp_xdp_map_fd(x, MCP_XMAP_INLINE_RING), got_inline, &seen, NULL);
	cr_assert(rb);

	cr_expect_eq(run_counted(up->data, up->len, d), XDP_PASS);
	cr_expect_eq(d[XDP_STAT(COPIED)], 1);
	cr_expect_eq(d[XDP_STAT(PASSED)] + d[XDP_STAT(REDIRECTED)], 0, "one verdict per frame");
	cr_expect_eq(ring_buffer__consume(rb), 1);
	cr_assert_eq(seen.n, 1);
	cr_expect_eq(seen.h.wire_len, up->len);
	cr_expect_eq(seen.h.cap_len, up->len, "the whole frame");
	cr_expect_eq(memcmp(seen.data, up->data, up->len), 0);
	check_meta(up, &seen.h.meta);
	cr_expect(seen.h.meta.flags & MCP_META_F_INLINE);

	/* the ring of a detached mirror-mode load is one page: it fills up without a reader */
	for (i = 0; i < 64; i++) {
		cr_expect_eq(run_counted(up->data, up->len, d), XDP_PASS, "frame %d", i);
		copied += (int)d[XDP_STAT(COPIED)];
		lost += (int)d[XDP_STAT(COPY_LOST)];
		cr_expect_eq(d[XDP_STAT(PASSED)], d[XDP_STAT(COPY_LOST)], "a lost copy: passed");
	}
	cr_expect_gt(lost, 0, "a full ring must count lost copies");
	cr_expect_eq(copied + lost, 64);
	seen.n = 0;
	ring_buffer__consume(rb);
	cr_expect_eq(seen.n, copied, "every counted copy is in the ring");
	ring_buffer__free(rb);
}

/* Subscriber 7 of the fixture after a MODIFY that dropped its downlink tunnel. */
static void uplink_only_sub7(struct mcp_subscriber *sub)
{
	memset(sub, 0, sizeof(*sub));
	sub->id = 7;
	snprintf(sub->imsi, sizeof(sub->imsi), "001010000000007");
	sub->ntunnels = 1;
	sub->tunnels[0].teid = 0x1234;
	sub->tunnels[0].dir = MCP_DIR_UP;
	cr_assert_eq(mcp_ip_parse(&sub->tunnels[0].addr, "10.0.0.2"), 0);
}

Test(xdp, tunnel_update_drops_stale_and_remove)
{
	const struct frame *up = frame("gtpu_v4_tcp_up"), *down = frame("gtpu_v4_tcp_down");
	struct mcp_subscriber sub;
	int64_t d[MCP_STATS__MAX];
	struct mcp_sub_info info;
	uint32_t idx = 7;

	uplink_only_sub7(&sub);
	cr_assert_eq(mcp_xdp_tunnel_update(x, &sub), 0); /* MODIFY: the downlink tunnel went away */
	run_counted(down->data, down->len, d);
	cr_expect_eq(d[XDP_STAT(NO_TUNNEL)], 1, "stale tunnel still installed");
	run_counted(up->data, up->len, d);
	cr_expect_eq(d[XDP_STAT(KNOWN_TUNNEL)], 1);
	cr_assert_eq(bpf_map_lookup_elem(mcp_xdp_map_fd(x, MCP_XMAP_SUBSCRIBERS), &idx, &info), 0);
	cr_expect_str_eq(info.imsi, "001010000000007");

	mcp_xdp_on_session_event(x, MCP_EV_REMOVE, &sub, 0);
	run_counted(up->data, up->len, d);
	cr_expect_eq(d[XDP_STAT(NO_TUNNEL)], 1, "removed subscriber still resolves");
	cr_expect_neq(bpf_map_lookup_elem(mcp_xdp_map_fd(x, MCP_XMAP_SUBSCRIBERS), &idx, &info), 0);
}

static int tunnel_in_map(uint32_t teid, const char *addr)
{
	struct mcp_tunnel_key k;
	struct mcp_tunnel_val v;

	memset(&k, 0, sizeof(k));
	k.teid = teid;
	cr_assert_eq(mcp_ip_parse(&k.addr, addr), 0);
	return !bpf_map_lookup_elem(mcp_xdp_map_fd(x, MCP_XMAP_TUNNELS), &k, &v);
}

/* The live control thread's way: a burst of events between begin and commit. XDP resolves a
 * new tunnel at once (tunnel_index), the tunnels and subscribers maps get the final state at
 * commit, as if every event had been written by itself. */
Test(xdp, batched_session_events_end_as_unbatched)
{
	const struct frame *up = frame("gtpu_v4_tcp_up"), *down = frame("gtpu_v4_tcp_down");
	struct mcp_subscriber sub, other, third;
	int64_t d[MCP_STATS__MAX];
	struct mcp_sub_info info;
	uint32_t idx = 7, idx2 = 20, idx3 = 21;
	int fd = mcp_xdp_map_fd(x, MCP_XMAP_SUBSCRIBERS);

	uplink_only_sub7(&sub);
	other = sub;
	other.id = 20;
	snprintf(other.imsi, sizeof(other.imsi), "001010000000020");
	other.tunnels[0].teid = 0x7777;
	third = other;
	third.id = 21;
	snprintf(third.imsi, sizeof(third.imsi), "001010000000021");
	third.tunnels[0].teid = 0x9999;

	cr_assert_eq(mcp_xdp_batch_begin(x), 0);
	mcp_xdp_on_session_event(x, MCP_EV_ATTACH, &third, 0);
	mcp_xdp_on_session_event(x, MCP_EV_MODIFY, &sub, 0); /* the downlink tunnel goes */
	mcp_xdp_on_session_event(x, MCP_EV_ATTACH, &other, 0);
	mcp_xdp_on_session_event(x, MCP_EV_REMOVE, &other, 0); /* attached and gone: nothing */
	run_counted(up->data, up->len, d);
	cr_expect_eq(d[XDP_STAT(KNOWN_TUNNEL)], 1, "XDP resolves before the commit");
	cr_expect_neq(bpf_map_lookup_elem(fd, &idx3, &info), 0,
		      "nothing reaches the subscribers map before the commit");
	cr_expect_not(tunnel_in_map(0x9999, "10.0.0.2"), "nor the tunnels map");
	cr_assert_eq(mcp_xdp_batch_commit(x), 0);
	cr_expect(tunnel_in_map(0x9999, "10.0.0.2"));
	cr_assert_eq(bpf_map_lookup_elem(fd, &idx3, &info), 0);
	cr_expect_str_eq(info.imsi, "001010000000021");

	run_counted(down->data, down->len, d);
	cr_expect_eq(d[XDP_STAT(NO_TUNNEL)], 1, "stale tunnel still installed");
	cr_expect(tunnel_in_map(0x1234, "10.0.0.2"));
	cr_expect_not(tunnel_in_map(0x7777, "10.0.0.2"), "removed in the batch, still in the map");
	cr_assert_eq(bpf_map_lookup_elem(fd, &idx, &info), 0);
	cr_expect_str_eq(info.imsi, "001010000000007");
	cr_expect_neq(bpf_map_lookup_elem(fd, &idx2, &info), 0);

	/* outside a batch, writes are immediate again */
	mcp_xdp_on_session_event(x, MCP_EV_REMOVE, &third, 0);
	mcp_xdp_on_session_event(x, MCP_EV_REMOVE, &sub, 0);
	cr_expect_not(tunnel_in_map(0x1234, "10.0.0.2"));
	cr_expect_neq(bpf_map_lookup_elem(fd, &idx, &info), 0);
}

static int index_has(const struct mcp_tunnel_bucket *b, const struct mcp_tunnel_key *k)
{
	int i;

	for (i = 0; i < MCP_TUNNEL_BUCKET_SLOTS; i++)
		if (b->slot[i].key.pad == 1 && b->slot[i].key.teid == k->teid &&
		    !mcp_ip_cmp(&b->slot[i].key.addr, &k->addr))
			return 1;
	return 0;
}

/* Is k in its tunnel_index bucket (the copy XDP reads first)? */
static int tunnel_in_index(const struct mcp_tunnel_key *k)
{
	uint32_t bi = mcp_tunnel_key_hash(k) & (mcp_tunnel_index_buckets(1024) - 1);
	struct mcp_tunnel_bucket b;

	cr_assert_eq(bpf_map_lookup_elem(mcp_xdp_map_fd(x, MCP_XMAP_TUNNEL_INDEX), &bi, &b), 0);
	return index_has(&b, k);
}

/* A full tunnel_index bucket: the next key of that bucket is found through tunnels. */
Test(xdp, tunnel_index_bucket_overflow)
{
	const struct frame *up = frame("gtpu_v4_tcp_up");
	struct mcp_subscriber fill, sub;
	struct mcp_tunnel_bucket b;
	struct mcp_tunnel_key k;
	struct mcp_tunnel_val v;
	struct mcp_sub_counters c;
	int64_t d[MCP_STATS__MAX];
	uint32_t mask = mcp_tunnel_index_buckets(1024) - 1, bi, teid;

	memset(&k, 0, sizeof(k));
	k.teid = 0x1234; /* the uplink tunnel of "gtpu_v4_tcp_up" */
	cr_assert_eq(mcp_ip_parse(&k.addr, "10.0.0.2"), 0);
	bi = mcp_tunnel_key_hash(&k) & mask;
	cr_assert_eq(mcp_xdp_tunnels_clear(x), 0);

	memset(&fill, 0, sizeof(fill)); /* four other keys of the same bucket fill it */
	fill.id = 20;
	for (teid = 1; fill.ntunnels < MCP_TUNNEL_BUCKET_SLOTS; teid++) {
		struct mcp_tunnel_key o = k;

		o.teid = teid;
		if (teid == k.teid || (mcp_tunnel_key_hash(&o) & mask) != bi)
			continue;
		fill.tunnels[fill.ntunnels].teid = teid;
		fill.tunnels[fill.ntunnels++].addr = k.addr;
	}
	cr_assert_eq(mcp_xdp_tunnel_update(x, &fill), 0);
	memset(&sub, 0, sizeof(sub));
	sub.id = 7;
	sub.ntunnels = 1;
	sub.tunnels[0].teid = k.teid;
	sub.tunnels[0].addr = k.addr;
	cr_assert_eq(mcp_xdp_tunnel_update(x, &sub), 0);
	cr_assert_eq(bpf_map_lookup_elem(mcp_xdp_map_fd(x, MCP_XMAP_TUNNEL_INDEX), &bi, &b), 0);
	cr_expect_eq(index_has(&b, &k), 0, "the fifth key of a bucket is in tunnels only");
	cr_expect_eq(b.seq % 2, 0);

	run_counted(up->data, up->len, d);
	cr_expect_eq(d[XDP_STAT(KNOWN_TUNNEL)], 1, "overflowed key found through tunnels");
	cr_assert_eq(mcp_xdp_sub_counters(x, 7, &c), 0);
	cr_expect_eq(c.pkts_up, 1);

	mcp_xdp_on_session_event(x, MCP_EV_REMOVE, &fill, 0); /* slots free, key still outside */
	run_counted(up->data, up->len, d);
	cr_expect_eq(d[XDP_STAT(KNOWN_TUNNEL)], 1);
	mcp_xdp_on_session_event(x, MCP_EV_REMOVE, &sub, 0);
	run_counted(up->data, up->len, d);
	cr_expect_eq(d[XDP_STAT(NO_TUNNEL)], 1, "removed overflowed key still resolves");

	cr_assert_eq(mcp_xdp_tunnel_update(x, &sub), 0); /* now in a slot */
	cr_assert_eq(bpf_map_lookup_elem(mcp_xdp_map_fd(x, MCP_XMAP_TUNNEL_INDEX), &bi, &b), 0);
	cr_expect_eq(index_has(&b, &k), 1);
	run_counted(up->data, up->len, d);
	cr_expect_eq(d[XDP_STAT(KNOWN_TUNNEL)], 1);

	/* a key written with bpftool (tunnels only) is found too */
	mcp_xdp_on_session_event(x, MCP_EV_REMOVE, &sub, 0);
	memset(&v, 0, sizeof(v));
	v.sub_idx = 7;
	cr_assert_eq(bpf_map_update_elem(mcp_xdp_map_fd(x, MCP_XMAP_TUNNELS), &k, &v, 0), 0);
	run_counted(up->data, up->len, d);
	cr_expect_eq(d[XDP_STAT(KNOWN_TUNNEL)], 1, "key in tunnels only");
}

Test(xdp, subscriber_index_beyond_map_refused)
{
	struct mcp_subscriber sub;

	memset(&sub, 0, sizeof(sub));
	sub.id = 5000; /* maps sized 1024 */
	cr_expect_eq(mcp_xdp_tunnel_update(x, &sub), -E2BIG);
}

/* Writes the kernel refuses (maps full, index beyond the subscribers map) are counted, one
 * by one, batched or not; the tunnels that did not fit are not left in tunnel_index. */
Test(xdp, refused_map_writes_counted)
{
	const struct frame *up = frame("gtpu_v4_tcp_up");
	int tfd = mcp_xdp_map_fd(x, MCP_XMAP_TUNNELS);
	uint64_t before = mcp_xdp_writes_refused(x);
	struct mcp_subscriber sub;
	int64_t d[MCP_STATS__MAX];
	uint32_t i, j, in_map = 0, resolved = 0;
	int refused;

	memset(&sub, 0, sizeof(sub));
	sub.id = 5000; /* maps sized 1024 */
	snprintf(sub.imsi, sizeof(sub.imsi), "001010000005000");
	mcp_xdp_on_session_event(x, MCP_EV_ATTACH, &sub, 0);
	cr_assert_eq(mcp_xdp_writes_refused(x), before + 1);

	/* 100 subscribers x 20 tunnels = 2000 keys for a 1024-entry map (the kernel's limit on
	 * a map without preallocation is approximate: count what went in) */
	cr_assert_eq(mcp_xdp_batch_begin(x), 0);
	for (i = 0; i < 100; i++) {
		memset(&sub, 0, sizeof(sub));
		sub.id = 100 + i;
		snprintf(sub.imsi, sizeof(sub.imsi), "0010100000%05u", sub.id);
		sub.ntunnels = 20;
		for (j = 0; j < 20; j++) {
			sub.tunnels[j].teid = 0x100000 + i * 20 + j;
			sub.tunnels[j].dir = MCP_DIR_UP;
			cr_assert_eq(mcp_ip_parse(&sub.tunnels[j].addr, "10.9.0.1"), 0);
		}
		mcp_xdp_on_session_event(x, MCP_EV_ATTACH, &sub, 0);
	}
	refused = mcp_xdp_batch_commit(x);
	cr_assert_gt(refused, 0);
	cr_expect_eq(mcp_xdp_writes_refused(x), before + 1 + (uint64_t)refused);
	for (i = 0; i < 2000; i++) {
		struct mcp_tunnel_key k;
		struct mcp_tunnel_val v;
		int in = 0;

		memset(&k, 0, sizeof(k));
		k.teid = 0x100000 + i;
		mcp_ip_parse(&k.addr, "10.9.0.1");
		in = !bpf_map_lookup_elem(tfd, &k, &v);
		in_map += in;
		resolved += tunnel_in_index(&k);
		if (!in)
			cr_expect_not(tunnel_in_index(&k), "TEID 0x%x refused but in tunnel_index",
				      k.teid);
	}
	cr_expect_eq(in_map, 2000 - (uint32_t)refused);
	cr_expect_leq(resolved, in_map);
	/* the fixture's own tunnel still resolves */
	run_counted(up->data, up->len, d);
	cr_expect_eq(d[XDP_STAT(KNOWN_TUNNEL)], 1);
}

Test(xdp, tunnels_clear_empties_tunnels_and_subscribers)
{
	const struct frame *up = frame("gtpu_v4_tcp_up");
	struct mcp_subscriber sub;
	int64_t d[MCP_STATS__MAX];
	uint32_t id, key, next;
	int i;

	for (id = 100; id < 145; id++) { /* 45 x 22 tunnels: the key list grows twice */
		memset(&sub, 0, sizeof(sub));
		sub.id = id;
		sub.ntunnels = MCP_MAX_TUNNELS;
		for (i = 0; i < MCP_MAX_TUNNELS; i++) {
			sub.tunnels[i].teid = id * 100 + i;
			mcp_ip_parse(&sub.tunnels[i].addr, "10.20.30.40");
		}
		cr_assert_eq(mcp_xdp_tunnel_update(x, &sub), 0);
	}
	cr_assert_eq(mcp_xdp_tunnels_clear(x), 0);
	cr_expect_neq(bpf_map_get_next_key(mcp_xdp_map_fd(x, MCP_XMAP_TUNNELS), NULL, &next), 0,
		      "tunnels left");
	cr_expect_neq(bpf_map_get_next_key(mcp_xdp_map_fd(x, MCP_XMAP_SUBSCRIBERS), NULL, &key), 0,
		      "subscribers left");
	run_counted(up->data, up->len, d);
	cr_expect_eq(d[XDP_STAT(NO_TUNNEL)], 1);
}

/* The one-step parse (bpf/parse_fast.h) must decide exactly like the layer-by-layer parse:
 * every test frame, whole and cut to every length, through this program and through a second
 * copy loaded with no_fast_parse: same verdict, same counters, same metadata. */
Test(xdp, fast_parse_agrees_with_full_parse)
{
	const int fast_i = MCP_STAT_XDP(MCP_XDP_FAST_PARSE);
	struct mcp_xdp_obj *ref = NULL;
	int64_t d[MCP_STATS__MAX], dr[MCP_STATS__MAX];
	int i, j, nfast = 0, ncompared = 0;
	uint32_t len;

	cr_assert_eq(load_test_obj(1, &ref), 0, "loading the reference program");
	install_tunnels_in(ref);
	cr_assert_eq(mcp_xdp_xsk_set(ref, 0, xsk_socket__fd(xsk)), 0);

	for (i = 0; i < nframes; i++) {
		const struct frame *f = &frames[i];

		for (len = 14; len <= f->len; len++) { /* test_run needs an Ethernet header */
			uint32_t ret = run_counted_in(x, f->data, len, d);
			uint32_t rret = run_counted_in(ref, f->data, len, dr);

			cr_assert_eq(dr[fast_i], 0, "%s/%u: the reference took the one-step parse",
				     f->name, len);
			nfast += (int)d[fast_i];
			d[fast_i] = 0;
			cr_expect_eq(ret, rret, "%s/%u: verdict %u, full parse %u", f->name, len, ret,
				     rret);
			for (j = 0; j < MCP_STATS__MAX; j++)
				cr_expect_eq(d[j], dr[j], "%s/%u: counter %s %lld, full parse %lld",
					     f->name, len, mcp_xdp_stat_name(j), (long long)d[j],
					     (long long)dr[j]);
			if (ret == XDP_REDIRECT) {
				struct mcp_meta m, mr;

				cr_assert_eq(mcp_xdp_last_meta(x, &m), 0);
				cr_assert_eq(mcp_xdp_last_meta(ref, &mr), 0);
				cr_expect_eq(memcmp(&m, &mr, sizeof(m)), 0, "%s/%u: metadata differs",
					     f->name, len);
			}
			ncompared++;
		}
	}
	/* whole frames of the fast shapes, and their cuts that still hold every header */
	cr_expect_geq(nfast, 4 * 23, "only %d of %d runs took the one-step parse", nfast,
		      ncompared);
	{
		const char *fast_shapes[] = { "gtpu_v4_tcp_up", "gtpu_v4_tcp_down", "gtpu_v4_udp_up",
					      "gtpu_vlan_v4_tcp_down", "gtpu_unknown_teid" };

		for (i = 0; i < (int)(sizeof(fast_shapes) / sizeof(fast_shapes[0])); i++) {
			const struct frame *f = frame(fast_shapes[i]);

			run_counted(f->data, f->len, d);
			cr_expect_eq(d[fast_i], 1, "%s: not taken by the one-step parse", f->name);
		}
	}
	mcp_xdp_close(ref);
}

static int count_record(void *ctx, void *data, size_t size)
{
	const struct mcp_capture_hdr *h = data;
	int *n = ctx;

	cr_assert_geq(size, sizeof(*h));
	n[h->meta.sub_idx == MCP_META_SUB_NONE ? 1 : 0]++;
	return 0;
}

static const struct frame *first_frame(unsigned int want_flags, int known)
{
	int i;

	for (i = 0; i < nframes; i++)
		if (!strcmp(frames[i].verdict, "redirect") &&
		    (frames[i].flags & want_flags) == want_flags && (frames[i].sub >= 0) == known &&
		    !(frames[i].flags & MCP_META_F_FRAG))
			return &frames[i];
	return NULL;
}

static void capture_stats_of(uint32_t slot, uint64_t *copied, uint64_t *lost)
{
	int ncpu = libbpf_num_possible_cpus(), c;
	struct mcp_capture_stats *v = calloc(ncpu, sizeof(*v));
	uint32_t zero = 0;

	cr_assert(v);
	cr_assert_eq(bpf_map_lookup_elem(mcp_xdp_map_fd(x, MCP_XMAP_CAPTURE_STATS), &zero, v), 0);
	*copied = *lost = 0;
	for (c = 0; c < ncpu; c++) {
		*copied += v[c].copied[slot];
		*lost += v[c].lost[slot];
	}
	free(v);
}

/* Two capture slots on one subscriber: a copy in each ring, each counted on its slot; a slot
 * that follows the control plane also gets GTP-C and T-PDUs of unknown tunnels; a bit whose
 * slot has no ring is a loss of that slot. */
Test(xdp, capture_slots_own_rings_and_follow)
{
	const struct frame *up = frame("gtpu_v4_tcp_up");
	const struct frame *gtpc = first_frame(MCP_META_F_GTPC, 0);
	const struct frame *unknown = first_frame(MCP_META_F_TPDU, 0);
	struct mcp_capture_slots t;
	struct ring_buffer *r2, *r3;
	uint64_t c2, l2, c3, l3, c5, l5, c2b, l2b, c3b, l3b, c5b, l5b;
	int n2[2] = { 0 }, n3[2] = { 0 };
	uint32_t zero = 0;

	cr_assert(gtpc && unknown, "frames: a GTP-C one and an unknown-tunnel T-PDU");
	capture_stats_of(2, &c2, &l2);
	capture_stats_of(3, &c3, &l3);
	capture_stats_of(5, &c5, &l5);
	r2 = ring_buffer__new(mcp_xdp_capture_ring_add(x, 2), count_record, n2, NULL);
	r3 = ring_buffer__new(mcp_xdp_capture_ring_add(x, 3), count_record, n3, NULL);
	cr_assert(r2 && r3);
	memset(&t, 0, sizeof(t));
	t.used = t.follow = 1u << 3;
	cr_assert_eq(bpf_map_update_elem(mcp_xdp_map_fd(x, MCP_XMAP_CAPTURE_SLOTS), &zero, &t, 0), 0);
	cr_assert_eq(mcp_xdp_capture_set(x, 7, (1u << 2) | (1u << 3) | (1u << 5)), 0);
	run(up->data, up->len, NULL, NULL);
	run(gtpc->data, gtpc->len, NULL, NULL);
	run(unknown->data, unknown->len, NULL, NULL);
	ring_buffer__consume(r2);
	ring_buffer__consume(r3);
	cr_expect_eq(n2[0], 1, "slot 2: the subscriber's frame");
	cr_expect_eq(n2[1], 0, "slot 2 does not follow the control plane");
	cr_expect_eq(n3[0], 1, "slot 3: the subscriber's frame");
	cr_expect_eq(n3[1], 2, "slot 3 follows: GTP-C and the unknown tunnel's T-PDU");
	capture_stats_of(2, &c2b, &l2b);
	capture_stats_of(3, &c3b, &l3b);
	capture_stats_of(5, &c5b, &l5b);
	cr_expect(c2b - c2 == 1 && l2b == l2, "slot 2 counts");
	cr_expect(c3b - c3 == 3 && l3b == l3, "slot 3 counts");
	cr_expect(c5b == c5 && l5b - l5 == 1, "slot 5 has no ring: its loss");
	memset(&t, 0, sizeof(t));
	bpf_map_update_elem(mcp_xdp_map_fd(x, MCP_XMAP_CAPTURE_SLOTS), &zero, &t, 0);
	mcp_xdp_capture_set(x, 7, 0);
	ring_buffer__free(r2);
	ring_buffer__free(r3);
}
