/* test_flow_worker.c - the worker stage: direction, counters, every end reason, eviction, and nDPI
 * on a real DNS query. Packets are built by hand with known values; records are captured
 * through a test exporter. */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <time.h>

#include "mcp_map_layout.h"
#include "flow/worker.h"

#define MAX_RECS 64
static struct mcp_flow_record recs[MAX_RECS];
static int nrecs;

static void capture(void *ctx, const struct mcp_flow_record *r)
{
	cr_assert_lt(nrecs, MAX_RECS);
	recs[nrecs++] = *r;
}

static struct mcp_worker *make_worker(uint32_t max_flows, int dpi)
{
	struct mcp_worker_cfg cfg;

	mcp_worker_cfg_defaults(&cfg);
	cfg.max_flows = max_flows;
	cfg.dpi = dpi;
	cfg.exporters[0] = (struct mcp_exporter){ .flow = capture };
	cfg.nexporters = 1;
	nrecs = 0;
	return mcp_worker_create(&cfg);
}

static struct mcp_pkt pkt4(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
			   uint8_t proto, uint32_t ip_len, uint64_t ts_ms, uint8_t tcp_flags)
{
	struct mcp_pkt p;
	uint8_t s[4] = { src >> 24, src >> 16, src >> 8, src };
	uint8_t d[4] = { dst >> 24, dst >> 16, dst >> 8, dst };

	memset(&p, 0, sizeof(p));
	p.kind = MCP_PKT_USER;
	p.ip_version = 4;
	p.l4_proto = proto;
	mcp_ip_from_v4(&p.src, s);
	mcp_ip_from_v4(&p.dst, d);
	p.sport = sport;
	p.dport = dport;
	p.ip_len = ip_len;
	p.ts_us = ts_ms * 1000;
	p.tcp_flags = tcp_flags;
	p.flags = MCP_PKTF_HAS_PORTS;
	return p;
}

#define UE 0x0a000001u
#define SRV 0x08080808u

Test(worker, initiator_is_up_and_counts_inner_bytes)
{
	struct mcp_worker *w = make_worker(16, 0);
	struct mcp_pkt p;

	p = pkt4(UE, 40000, SRV, 443, IPPROTO_TCP, 60, 1000, 0x02);
	mcp_worker_packet(w, &p);
	p = pkt4(SRV, 443, UE, 40000, IPPROTO_TCP, 60, 1010, 0x12);
	mcp_worker_packet(w, &p);
	p = pkt4(UE, 40000, SRV, 443, IPPROTO_TCP, 1400, 1020, 0x10);
	mcp_worker_packet(w, &p);
	mcp_worker_flush(w);
	cr_assert_eq(nrecs, 1);
	cr_assert_eq(recs[0].src_port, 40000);
	cr_assert_eq(recs[0].dst_port, 443);
	cr_assert_eq(recs[0].pkts_up, 2);
	cr_assert_eq(recs[0].pkts_down, 1);
	cr_assert_eq(recs[0].bytes_up, 1460);
	cr_assert_eq(recs[0].bytes_down, 60);
	cr_assert_eq(recs[0].first_ms, 1000);
	cr_assert_eq(recs[0].last_ms, 1020);
	cr_assert_eq(recs[0].tcp_flags_up, 0x12); /* SYN, then ACK */
	cr_assert_eq(recs[0].tcp_flags_down, 0x12);
	cr_assert_eq(recs[0].end_reason, MCP_END_FLUSH);
	mcp_worker_destroy(w);
}

Test(worker, idle_timeout_exports)
{
	struct mcp_worker *w = make_worker(16, 0);
	struct mcp_pkt p = pkt4(UE, 5000, SRV, 53, IPPROTO_UDP, 70, 1000, 0);

	mcp_worker_packet(w, &p);
	mcp_worker_expire(w, 1000 + 29999);
	cr_assert_eq(nrecs, 0, "exported before the idle timeout");
	mcp_worker_expire(w, 1000 + 30000);
	cr_assert_eq(nrecs, 1);
	cr_assert_eq(recs[0].end_reason, MCP_END_IDLE);
	cr_assert_eq(mcp_worker_flow_count(w), 0);
	mcp_worker_destroy(w);
}

Test(worker, active_timeout_splits_and_totals_add_up)
{
	struct mcp_worker *w = make_worker(16, 0);
	uint64_t pk = 0, by = 0;

	/* one packet every 10 s for 300 s: never idle, exported every 120 s */
	for (int i = 0; i <= 30; i++) {
		struct mcp_pkt p = pkt4(UE, 6000, SRV, 80, IPPROTO_TCP, 100 + i, 10000u * i, 0x10);

		mcp_worker_packet(w, &p);
	}
	mcp_worker_flush(w);
	cr_assert_eq(nrecs, 3);
	cr_assert_eq(recs[0].end_reason, MCP_END_ACTIVE);
	cr_assert_eq(recs[1].end_reason, MCP_END_ACTIVE);
	cr_assert_eq(recs[2].end_reason, MCP_END_FLUSH);
	for (int i = 0; i < nrecs; i++) {
		pk += recs[i].pkts_up;
		by += recs[i].bytes_up;
	}
	cr_assert_eq(pk, 31);
	cr_assert_eq(by, 31 * 100 + 30 * 31 / 2);
	mcp_worker_destroy(w);
}

Test(worker, fin_both_sides_then_linger)
{
	struct mcp_worker *w = make_worker(16, 0);
	struct mcp_pkt p;

	p = pkt4(UE, 7000, SRV, 80, IPPROTO_TCP, 52, 1000, 0x11);
	mcp_worker_packet(w, &p);
	mcp_worker_expire(w, 5000);
	cr_assert_eq(nrecs, 0, "one FIN must not end the flow");
	p = pkt4(SRV, 80, UE, 7000, IPPROTO_TCP, 52, 5000, 0x11);
	mcp_worker_packet(w, &p);
	p = pkt4(UE, 7000, SRV, 80, IPPROTO_TCP, 40, 5001, 0x10); /* last ACK: same flow */
	mcp_worker_packet(w, &p);
	mcp_worker_expire(w, 5000 + 1999);
	cr_assert_eq(nrecs, 0);
	mcp_worker_expire(w, 5000 + 2000);
	cr_assert_eq(nrecs, 1);
	cr_assert_eq(recs[0].end_reason, MCP_END_FIN);
	cr_assert_eq(recs[0].pkts_up, 2);
	cr_assert_eq(recs[0].pkts_down, 1);
	mcp_worker_destroy(w);
}

Test(worker, rst_ends_flow)
{
	struct mcp_worker *w = make_worker(16, 0);
	struct mcp_pkt p = pkt4(UE, 7001, SRV, 80, IPPROTO_TCP, 40, 1000, 0x04);

	mcp_worker_packet(w, &p);
	mcp_worker_expire(w, 3000);
	cr_assert_eq(nrecs, 1);
	cr_assert_eq(recs[0].end_reason, MCP_END_RST);
	mcp_worker_destroy(w);
}

Test(worker, full_table_evicts_oldest_and_counts)
{
	struct mcp_worker *w = make_worker(2, 0);
	struct mcp_pkt p;

	for (uint16_t i = 0; i < 3; i++) {
		p = pkt4(UE, (uint16_t)(8000 + i), SRV, 53, IPPROTO_UDP, 60, 1000 + i, 0);
		mcp_worker_packet(w, &p);
	}
	cr_assert_eq(nrecs, 1);
	cr_assert_eq(recs[0].end_reason, MCP_END_EVICTED);
	cr_assert_eq(recs[0].src_port, 8000);
	cr_assert_eq(mcp_worker_stats(w)->flows_evicted, 1);
	mcp_worker_flush(w);
	cr_assert_eq(nrecs, 3);
	mcp_worker_destroy(w);
}

/* A DNS query for www.example.com (A) from 10.0.0.1 to 192.0.2.53 (a documentation address,
 * so nDPI's IP lists name no owner), IPv4/UDP, checksums zero. */
static const uint8_t dns_query[] = {
	0x45, 0, 0, 61, 0x12, 0x34, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 192, 0, 2, 53,
	0x9c, 0x40, 0, 53, 0, 41, 0, 0,
	0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
	3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
	0, 1, 0, 1,
};

Test(worker, ndpi_classifies_dns_and_extracts_query)
{
	struct mcp_worker *w = make_worker(16, 1);
	struct mcp_pkt p = pkt4(UE, 40000, 0xc0000235, 53, IPPROTO_UDP, sizeof(dns_query), 1000, 0);

	cr_assert_not_null(w);
	cr_assert_eq(sizeof(dns_query), 61);
	p.l3 = dns_query;
	p.l3_caplen = sizeof(dns_query);
	mcp_worker_packet(w, &p);
	mcp_worker_flush(w);
	cr_assert_eq(nrecs, 1);
	cr_assert_str_eq(recs[0].app, "DNS", "app=%s master=%s host=%s", recs[0].app, recs[0].master_app, recs[0].host);
	cr_assert_str_eq(recs[0].host, "www.example.com");
	cr_assert_str_eq(recs[0].category, "Network");
	mcp_worker_destroy(w);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A fake kernel flow map: one entry, counters set by the test. */
static struct {
	int installed, taken, pending, unpended, taken_pending;
	struct mcp_flow_key key;
	struct mcp_flow_val val;
} kmap;

static int fk_install(void *ctx, const struct mcp_flow_key *key, uint32_t sub, int pending)
{
	kmap.installed++;
	kmap.pending += pending;
	kmap.key = *key;
	memset(&kmap.val, 0, sizeof(kmap.val));
	return 0;
}

static void fk_unpend(void *ctx, const struct mcp_flow_key *key)
{
	kmap.unpended++;
}

static int fk_peek(void *ctx, const struct mcp_flow_key *key, struct mcp_flow_val *v)
{
	if (memcmp(key, &kmap.key, sizeof(*key)))
		return -ENOENT;
	*v = kmap.val;
	return 0;
}

static int fk_take(void *ctx, const struct mcp_flow_key *key, struct mcp_flow_val *v)
{
	kmap.taken++;
	kmap.taken_pending += kmap.pending > kmap.unpended; /* unpend must come first */
	return fk_peek(ctx, key, v);
}

static int fk_walk(void *ctx, int (*fn)(void *, const struct mcp_flow_key *,
					 const struct mcp_flow_val *), void *arg)
{
	return kmap.installed > kmap.taken ? fn(arg, &kmap.key, &kmap.val) : 0;
}

/* Bypass: counts the kernel makes while the flow lives there are credited by difference
 * (a sync, then an active-timeout export, then the final one) and never twice. */
Test(worker, bypass_credits_kernel_counts_exactly)
{
	struct mcp_worker *w = make_worker(16, 0); /* no DPI: bypass at the first packet */
	struct mcp_bypass_ops ops = { .install = fk_install, .unpend = fk_unpend, .peek = fk_peek,
				      .take = fk_take, .walk = fk_walk };
	struct mcp_pkt p = pkt4(UE, 40000, SRV, 443, IPPROTO_TCP, 100, 1000, 0x10);
	uint64_t up = 0, down = 0, bup = 0;

	memset(&kmap, 0, sizeof(kmap));
	mcp_worker_set_bypass(w, &ops);
	mcp_worker_packet(w, &p);
	cr_assert_eq(kmap.installed, 1);
	/* UE (10.0.0.1) is the lo side: kernel index 0 is uplink */
	kmap.val.pkts[0] = 5;
	kmap.val.bytes[0] = 500;
	kmap.val.pkts[1] = 7;
	kmap.val.bytes[1] = 7000;
	kmap.val.last_ns = now_ns();
	mcp_worker_bypass_sync(w, 20000);
	mcp_worker_bypass_sync(w, 21000); /* same counters again: nothing more */
	kmap.val.pkts[0] = 6;
	kmap.val.bytes[0] = 600;
	/* kernel activity keeps the flow from going idle (30 s) until the active timeout */
	for (uint64_t t = 40000; t < 121000; t += 20000) {
		kmap.val.last_ns = now_ns();
		mcp_worker_bypass_sync(w, t);
		mcp_worker_expire(w, t);
		cr_assert_eq(nrecs, 0, "exported while busy in the kernel at %lu", t);
	}
	p = pkt4(SRV, 443, UE, 40000, IPPROTO_TCP, 50, 1000 + 120000, 0x10); /* a late downlink */
	mcp_worker_packet(w, &p); /* crosses the active timeout: record 1 */
	kmap.val.pkts[1] = 9;
	kmap.val.bytes[1] = 9000;
	mcp_worker_flush(w); /* record 2, final take */
	cr_assert_eq(kmap.taken, 1);
	cr_assert_eq(nrecs, 2);
	for (int i = 0; i < nrecs; i++) {
		up += recs[i].pkts_up;
		down += recs[i].pkts_down;
		bup += recs[i].bytes_up;
	}
	cr_assert_eq(up, 1 + 6, "uplink: 1 in userspace + 6 in the kernel, got %lu", up);
	cr_assert_eq(down, 1 + 9, "downlink: 1 in userspace + 9 in the kernel, got %lu", down);
	cr_assert_eq(bup, 100 + 600);
	cr_assert_eq(mcp_worker_stats(w)->bypassed_packets, 15);
	/* profile: installed at its first packet; the late downlink was still seen in userspace */
	cr_assert_eq(mcp_worker_stats(w)->bypass_install_pkt_sum, 1);
	cr_assert_eq(mcp_worker_stats(w)->bypass_late_packets, 1);
	cr_assert_eq(mcp_worker_stats(w)->bypass_never_flows, 0);
	mcp_worker_destroy(w);
}

/* IPv4/TCP bytes for nDPI: 20-byte headers and the payload. */
static struct mcp_pkt tcp_bytes(uint8_t *buf, uint32_t src, uint32_t dst, uint16_t sport,
				uint16_t dport, uint8_t flags, const char *payload, uint64_t ts_ms)
{
	uint32_t plen = (uint32_t)strlen(payload), len = 40 + plen;
	struct mcp_pkt p = pkt4(src, sport, dst, dport, IPPROTO_TCP, len, ts_ms, flags);

	memset(buf, 0, 40);
	buf[0] = 0x45;
	buf[2] = (uint8_t)(len >> 8);
	buf[3] = (uint8_t)len;
	buf[8] = 64;
	buf[9] = IPPROTO_TCP;
	for (int i = 0; i < 4; i++) {
		buf[12 + i] = (uint8_t)(src >> (24 - 8 * i));
		buf[16 + i] = (uint8_t)(dst >> (24 - 8 * i));
	}
	buf[20] = (uint8_t)(sport >> 8);
	buf[21] = (uint8_t)sport;
	buf[22] = (uint8_t)(dport >> 8);
	buf[23] = (uint8_t)dport;
	buf[32] = 5 << 4;
	buf[33] = flags;
	memcpy(buf + 40, payload, plen);
	p.l3 = buf;
	p.l3_caplen = len;
	p.tunnel = MCP_TUN_GTPU;
	p.teid = src == UE ? 0x1234 : 0x5678;
	return p;
}

/* Pending bypass: a TCP flow goes to the kernel at its SYN; what the kernel counted (the
 * SYN-ACK, a payload segment it also sent up for nDPI) is credited once, with the TEID and
 * flags only the kernel saw; the flow's end unpends before it takes the entry. */
Test(worker, pending_bypass_counts_each_packet_once)
{
	struct mcp_worker *w = make_worker(16, 1);
	struct mcp_bypass_ops ops = { .install = fk_install, .unpend = fk_unpend, .peek = fk_peek,
				      .take = fk_take, .walk = fk_walk };
	uint8_t b1[128], b2[128];
	struct mcp_pkt p;
	uint64_t created;

	memset(&kmap, 0, sizeof(kmap));
	mcp_worker_set_bypass(w, &ops);
	p = tcp_bytes(b1, UE, SRV, 40000, 7777, 0x02, "", 1000);
	mcp_worker_packet(w, &p);
	cr_assert_eq(kmap.installed, 1, "not installed at the SYN");
	cr_assert_eq(kmap.pending, 1, "not pending");
	/* the kernel kept the empty SYN-ACK and counted this payload segment before sending it */
	p = tcp_bytes(b2, UE, SRV, 40000, 7777, 0x18, "no protocol nDPI knows", 1020);
	p.flags |= MCP_PKTF_KCOUNTED;
	mcp_worker_packet(w, &p);
	cr_expect_eq(mcp_worker_stats(w)->kcounted_packets, 1);
	kmap.val.pkts[0] = 1; /* UE (10.0.0.1) is the lo side */
	kmap.val.bytes[0] = p.ip_len;
	kmap.val.pkts[1] = 1;
	kmap.val.bytes[1] = 40;
	kmap.val.teid[1] = 0x5678;
	kmap.val.tcp_flags[0] = 0x18;
	kmap.val.tcp_flags[1] = 0x12;
	kmap.val.last_ns = now_ns();
	mcp_worker_flush(w);
	cr_assert_eq(nrecs, 1);
	cr_expect_eq(recs[0].pkts_up, 2, "SYN in userspace + 1 in the kernel: %lu", recs[0].pkts_up);
	cr_expect_eq(recs[0].pkts_down, 1);
	cr_expect_eq(recs[0].bytes_up, 40 + p.ip_len);
	cr_expect_eq(recs[0].bytes_down, 40);
	cr_expect_eq(recs[0].teid_up, 0x1234);
	cr_expect_eq(recs[0].teid_down, 0x5678, "downlink TEID from the kernel");
	cr_expect_eq(recs[0].tcp_flags_up, 0x02 | 0x18);
	cr_expect_eq(recs[0].tcp_flags_down, 0x12, "SYN-ACK seen only by the kernel");
	cr_expect_eq(kmap.unpended, 1);
	cr_expect_eq(kmap.taken, 1);
	cr_expect_eq(kmap.taken_pending, 0, "taken while still pending");
	/* a counted packet whose flow has ended makes no new flow */
	created = mcp_worker_stats(w)->flows_created;
	mcp_worker_packet(w, &p);
	cr_expect_eq(mcp_worker_stats(w)->flows_created, created);
	mcp_worker_destroy(w);
}
