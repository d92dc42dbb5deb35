/* test_flow_attribution.c - late binding (flow/attribution.c) through the worker and a real
 * session table fed scapy-built GTPv2-C (tests/data/gtpc_cases.h): GTP-U before its Create
 * Session gives the same record as after it; also the wire count of fragments and one flow
 * per ICMP echo identifier. */
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <string.h>

#include "data/gtpc_cases.h"
#include "flow/attribution.h"
#include "flow/worker.h"
#include "mcp_map_layout.h"
#include "session/session.h"

#define IMSI_V2 "001010123456789" /* v2_csr / v2_csrsp: UE 10.45.0.7, S1-U SGW 0x44444444@10.0.1.2 */
#define MAX_RECS 8

static struct mcp_flow_record recs[MAX_RECS];
static int nrecs;

static void capture(void *ctx, const struct mcp_flow_record *r)
{
	(void)ctx;
	cr_assert_lt(nrecs, MAX_RECS);
	recs[nrecs++] = *r;
}

static struct mcp_sessions *sessions(void)
{
	struct mcp_session_cfg cfg = { .max_subscribers = 64, .delete_grace_ms = 60000,
				       .handover_grace_ms = 5000, .transaction_timeout_ms = 10000 };
	struct mcp_sessions *s = mcp_sessions_create(&cfg);

	cr_assert_not_null(s);
	return s;
}

static struct mcp_worker *worker(struct mcp_sessions *s)
{
	struct mcp_worker_cfg cfg;
	struct mcp_worker *w;

	mcp_worker_cfg_defaults(&cfg);
	cfg.max_flows = 16;
	cfg.dpi = 0;
	cfg.sessions = s;
	cfg.exporters[0] = (struct mcp_exporter){ .flow = capture };
	cfg.nexporters = 1;
	nrecs = 0;
	w = mcp_worker_create(&cfg);
	cr_assert_not_null(w);
	return w;
}

static void gtpc(struct mcp_sessions *s, const char *name, uint64_t ts_ms)
{
	const struct gtpc_case *c = gtpc_case_get(name);
	struct mcp_pkt pkt;

	cr_assert_not_null(c, "case %s", name);
	memset(&pkt, 0, sizeof(pkt));
	pkt.kind = MCP_PKT_GTPC;
	pkt.ts_us = ts_ms * 1000;
	cr_assert_eq(mcp_ip_parse(&pkt.src, c->src), 0);
	cr_assert_eq(mcp_ip_parse(&pkt.dst, c->dst), 0);
	pkt.sport = c->sport;
	pkt.dport = c->dport;
	pkt.l4_proto = IPPROTO_UDP;
	pkt.payload = c->buf;
	pkt.payload_len = c->len;
	cr_assert_eq(mcp_sessions_handle_gtpc(s, &pkt), 0, "%s", name);
}

static void attach(struct mcp_sessions *s, uint64_t ts_ms)
{
	gtpc(s, "v2_csr", ts_ms);
	gtpc(s, "v2_csrsp", ts_ms + 1);
}

static struct mcp_pkt user(const char *src, uint16_t sport, const char *dst, uint16_t dport,
			   uint32_t ip_len, uint64_t ts_ms)
{
	struct mcp_pkt p;

	memset(&p, 0, sizeof(p));
	p.kind = MCP_PKT_USER;
	p.ip_version = 4;
	p.l4_proto = IPPROTO_UDP;
	cr_assert_eq(mcp_ip_parse(&p.src, src), 0);
	cr_assert_eq(mcp_ip_parse(&p.dst, dst), 0);
	p.sport = sport;
	p.dport = dport;
	p.ip_len = ip_len;
	p.ts_us = ts_ms * 1000;
	p.flags = MCP_PKTF_HAS_PORTS;
	return p;
}

static struct mcp_pkt gtpu(struct mcp_pkt p, uint32_t teid, const char *osrc, const char *odst)
{
	p.tunnel = MCP_TUN_GTPU;
	p.gtpu_msg = 0xff;
	p.teid = teid;
	cr_assert_eq(mcp_ip_parse(&p.outer_src, osrc), 0);
	cr_assert_eq(mcp_ip_parse(&p.outer_dst, odst), 0);
	return p;
}

/* The server speaks first (downlink, in a tunnel nobody announced), then the UE (uplink,
 * 0x44444444 to the SGW). control_at: when the Create Session exchange is seen. */
static struct mcp_flow_record run(uint64_t control_at, struct mcp_worker_stats *out_st)
{
	struct mcp_sessions *s = sessions();
	struct mcp_worker *w = worker(s);
	struct mcp_pkt down = gtpu(user("8.8.8.8", 53, "10.45.0.7", 40000, 120, 1000), 0x777,
				   "10.0.1.2", "10.0.2.1");
	struct mcp_pkt up = gtpu(user("10.45.0.7", 40000, "8.8.8.8", 53, 60, 1010), 0x44444444,
				 "10.0.2.1", "10.0.1.2");
	struct mcp_flow_record r;

	if (control_at < 1000)
		attach(s, control_at);
	mcp_worker_packet(w, &down);
	mcp_worker_packet(w, &up);
	if (control_at >= 1000)
		attach(s, control_at);
	up.ts_us += 10000;
	mcp_worker_packet(w, &up);
	mcp_worker_flush(w);
	cr_assert_eq(nrecs, 1);
	r = recs[0];
	if (out_st)
		*out_st = *mcp_worker_stats(w);
	mcp_worker_destroy(w);
	mcp_sessions_destroy(s);
	return r;
}

Test(attribution, user_plane_before_control_equals_control_first)
{
	struct mcp_worker_stats late_st, first_st;
	struct mcp_flow_record first = run(500, &first_st);
	struct mcp_flow_record late = run(1015, &late_st);
	char a[MCP_IP_STRLEN];

	cr_assert_str_eq(first.imsi, IMSI_V2);
	cr_assert_eq(first_st.flows_attributed_late, 0);
	cr_assert_str_eq(late.imsi, IMSI_V2);
	cr_assert_eq(late_st.flows_attributed_late, 1, "resolved at the packet after the session");
	cr_assert_eq(late_st.flows_with_subscriber, 1);
	/* turned round: the UE is up although the server sent the first packet */
	cr_assert_str_eq(mcp_ip_str(&late.src_ip, a), "10.45.0.7");
	cr_assert_eq(late.src_port, 40000);
	cr_assert_eq(late.pkts_up, 2);
	cr_assert_eq(late.bytes_up, 120);
	cr_assert_eq(late.pkts_down, 1);
	cr_assert_eq(late.bytes_down, 120);
	cr_assert_eq(late.teid_up, 0x44444444);
	cr_assert_eq(late.teid_down, 0x777);
	cr_assert_str_eq(mcp_ip_str(&late.outer_src, a), "10.0.2.1");
	cr_assert_str_eq(mcp_ip_str(&late.outer_dst, a), "10.0.1.2");
	cr_assert_str_eq(late.msisdn, "33612345678");
	/* the whole record is the one the control-first run wrote */
	cr_assert_eq(memcmp(&late, &first, sizeof(late)), 0, "records differ");
}

Test(attribution, resolved_at_export_when_no_packet_follows)
{
	struct mcp_sessions *s = sessions();
	struct mcp_worker *w = worker(s);
	struct mcp_pkt up = gtpu(user("10.45.0.7", 40001, "8.8.8.8", 53, 70, 1000), 0x44444444,
				 "10.0.2.1", "10.0.1.2");

	mcp_worker_packet(w, &up);
	cr_assert_eq(mcp_worker_stats(w)->gtpu_unknown_sub_packets, 1);
	attach(s, 1500);
	mcp_worker_flush(w);
	cr_assert_eq(nrecs, 1);
	cr_assert_str_eq(recs[0].imsi, IMSI_V2);
	cr_assert_eq(recs[0].pkts_up, 1);
	cr_assert_eq(mcp_worker_stats(w)->flows_attributed_late, 1);
	cr_assert_eq(mcp_worker_stats(w)->gtpu_unattributed_exported, 0);
	mcp_worker_destroy(w);
	mcp_sessions_destroy(s);
}

Test(attribution, never_known_stays_unknown_and_is_counted)
{
	struct mcp_sessions *s = sessions();
	struct mcp_worker *w = worker(s);
	struct mcp_pkt up = gtpu(user("10.99.0.1", 40002, "8.8.8.8", 53, 70, 1000), 0x123,
				 "10.0.2.9", "10.0.1.9");

	mcp_worker_packet(w, &up);
	attach(s, 1500); /* someone else's session */
	mcp_worker_packet(w, &up);
	mcp_worker_flush(w);
	cr_assert_eq(nrecs, 1);
	cr_assert_eq(recs[0].imsi[0], 0);
	cr_assert_eq(mcp_worker_stats(w)->gtpu_unattributed_exported, 2);
	mcp_worker_destroy(w);
	mcp_sessions_destroy(s);
}

Test(attribution, fragments_count_as_on_the_wire)
{
	struct mcp_worker *w = worker(NULL);
	struct mcp_pkt p = user("10.45.0.7", 5060, "10.4.0.1", 5060, 2900, 1000);

	p.flags |= MCP_PKTF_REASSEMBLED;
	p.frag_pkts = 3;            /* 1500 + 1420 + 20 on the wire (each with a 20-byte header) */
	p.frag_bytes = 1500 + 1420 + 20;
	mcp_worker_packet(w, &p);
	p = user("10.45.0.7", 5060, "10.4.0.1", 5060, 400, 1001);
	mcp_worker_packet(w, &p);
	mcp_worker_flush(w);
	cr_assert_eq(nrecs, 1);
	cr_assert_eq(recs[0].pkts_up, 4);
	cr_assert_eq(recs[0].bytes_up, 1500 + 1420 + 20 + 400);
	cr_assert_eq(mcp_worker_stats(w)->packets, 4);
	mcp_worker_destroy(w);
}

Test(attribution, icmp_echo_request_and_reply_are_one_flow)
{
	struct mcp_worker *w = worker(NULL);
	struct mcp_pkt req = user("10.45.0.7", 0x0800, "1.1.1.1", 77, 84, 1000);
	struct mcp_pkt rep = user("1.1.1.1", 0x0000, "10.45.0.7", 77, 84, 1010);
	struct mcp_pkt other = user("10.45.0.7", 0x0800, "1.1.1.1", 78, 84, 1020);

	req.l4_proto = rep.l4_proto = other.l4_proto = IPPROTO_ICMP;
	req.flags = rep.flags = other.flags = 0;
	mcp_worker_packet(w, &req);
	mcp_worker_packet(w, &rep);
	mcp_worker_packet(w, &other); /* another identifier: another flow */
	mcp_worker_flush(w);
	cr_assert_eq(nrecs, 2);
	for (int i = 0; i < nrecs; i++) {
		if (recs[i].src_port != 77)
			continue;
		cr_assert_eq(recs[i].dst_port, 77);
		cr_assert_eq(recs[i].pkts_up, 1);
		cr_assert_eq(recs[i].pkts_down, 1);
		mcp_worker_destroy(w);
		return;
	}
	cr_assert_fail("no flow for identifier 77");
}

/* Kernel subscriber counters (docs/xdp.md, "Subscriber counters"): a fake bypass whose
 * credit op keeps a ledger, and a kernel flow entry whose packets XDP counted without a
 * subscriber (nosub). What XDP did not credit is credited once the flow has its subscriber,
 * on the right side although the flow was turned round; a packet XDP credited is not. */
static struct mcp_flow_key kkey;
static struct mcp_flow_val kval;
static uint64_t credit_pkts[2], credit_bytes[2];
static uint32_t credit_sub = UINT32_MAX;

static int k_install(void *ctx, const struct mcp_flow_key *key, uint32_t sub_id, int pending)
{
	(void)ctx, (void)sub_id, (void)pending;
	kkey = *key;
	return 0;
}

static void k_unpend(void *ctx, const struct mcp_flow_key *key)
{
	(void)ctx, (void)key;
}

static int k_peek(void *ctx, const struct mcp_flow_key *key, struct mcp_flow_val *val)
{
	(void)ctx, (void)key;
	*val = kval;
	return 0;
}

static int k_walk(void *ctx, int (*fn)(void *arg, const struct mcp_flow_key *key,
				       const struct mcp_flow_val *val), void *arg)
{
	(void)ctx;
	return fn(arg, &kkey, &kval);
}

static void k_credit(void *ctx, uint32_t sub_id, const uint64_t pkts[2], const uint64_t bytes[2])
{
	(void)ctx;
	credit_sub = sub_id;
	for (int d = 0; d < 2; d++) {
		credit_pkts[d] += pkts[d];
		credit_bytes[d] += bytes[d];
	}
}

static void credit_run(int stop_first)
{
	struct mcp_bypass_ops ops = { .install = k_install, .unpend = k_unpend, .peek = k_peek,
				      .take = k_peek, .walk = k_walk, .credit = k_credit };
	struct mcp_sessions *s = sessions();
	struct mcp_worker *w = worker(s);
	struct mcp_pkt down = gtpu(user("8.8.8.8", 53, "10.45.0.7", 40000, 120, 1000), 0x777,
				   "10.0.1.2", "10.0.2.1");
	struct mcp_flow_key k;
	struct mcp_ip ue, srv;
	int up_d;

	memset(&kval, 0, sizeof(kval));
	memset(credit_pkts, 0, sizeof(credit_pkts));
	memset(credit_bytes, 0, sizeof(credit_bytes));
	credit_sub = UINT32_MAX;
	mcp_worker_set_bypass(w, &ops);
	mcp_worker_packet(w, &down); /* no KSUB: XDP did not know the tunnel; installed (no DPI) */
	mcp_ip_parse(&ue, "10.45.0.7");
	mcp_ip_parse(&srv, "8.8.8.8");
	up_d = mcp_flow_key_make(&k, &ue, &srv, 40000, 53, IPPROTO_UDP, 0);
	kval.pkts[up_d] = kval.nosub_pkts[up_d] = 2; /* two uplink packets before the tunnel */
	kval.bytes[up_d] = kval.nosub_bytes[up_d] = 120;
	kval.pkts[up_d] += 1; /* and one after it: XDP credited that one itself */
	kval.bytes[up_d] += 60;
	mcp_worker_bypass_sync(w, 1100);
	cr_expect_eq(credit_pkts[0] + credit_pkts[1], 0, "no subscriber yet: nothing credited");
	attach(s, 1500);
	if (stop_first) {
		mcp_worker_set_bypass(w, NULL); /* the maps go: credit before the final export */
		cr_expect_eq(credit_pkts[0], 2);
	}
	mcp_worker_flush(w);
	cr_assert_eq(nrecs, 1);
	cr_expect_eq(credit_sub, mcp_sessions_by_imsi(s, IMSI_V2)->id);
	cr_expect_eq(recs[0].pkts_up, 3, "turned round: the kernel's uplink packets are up");
	cr_expect_eq(recs[0].pkts_down, 1);
	cr_expect_eq(credit_pkts[0], 2, "up: the two XDP counted for nobody");
	cr_expect_eq(credit_bytes[0], 120);
	cr_expect_eq(credit_pkts[1], 1, "down: the packet that came up without KNOWN");
	cr_expect_eq(credit_bytes[1], 120);
	cr_expect_eq(mcp_worker_stats(w)->kernel_credited_packets, 3);
	mcp_worker_destroy(w);
	mcp_sessions_destroy(s);
}

Test(attribution, kernel_credit_follows_late_binding)
{
	credit_run(0);
	credit_run(1);
}

/* Shards: the shard's worker reads no session table. Both packets come before the session:
 * the record leaves unbound, and the merger resolves it from what it carries
 * (mcp_attr_resolve_record), turned round as the control-first record is. */
Test(attribution, shard_record_resolved_by_the_merger)
{
	struct mcp_flow_record first = run(500, NULL), r;
	struct mcp_sessions *s = sessions();
	struct mcp_worker *w = worker(NULL);
	struct mcp_pkt down = gtpu(user("8.8.8.8", 53, "10.45.0.7", 40000, 120, 1000), 0x777,
				   "10.0.1.2", "10.0.2.1");
	struct mcp_pkt up = gtpu(user("10.45.0.7", 40000, "8.8.8.8", 53, 60, 1010), 0x44444444,
				 "10.0.2.1", "10.0.1.2");
	struct mcp_attrib none = { .src_is_up = 1 };

	mcp_worker_packet_attr(w, &down, &none);
	mcp_worker_packet_attr(w, &up, &none);
	up.ts_us += 10000;
	mcp_worker_packet_attr(w, &up, &none);
	mcp_worker_flush(w);
	cr_assert_eq(nrecs, 1);
	r = recs[0];
	cr_assert_eq(r.imsi[0], 0);
	attach(s, 1015);
	cr_assert_eq(mcp_attr_resolve_record(s, &r), MCP_ATTR_TUNNEL);
	cr_assert_str_eq(r.imsi, IMSI_V2);
	cr_assert_eq(mcp_ip_cmp(&r.src_ip, &first.src_ip), 0);
	cr_assert_eq(r.src_port, first.src_port);
	cr_assert_eq(r.pkts_up, first.pkts_up);
	cr_assert_eq(r.bytes_up, first.bytes_up);
	cr_assert_eq(r.pkts_down, first.pkts_down);
	cr_assert_eq(r.bytes_down, first.bytes_down);
	cr_assert_eq(r.teid_up, first.teid_up);
	cr_assert_eq(r.teid_down, first.teid_down);
	cr_assert_eq(mcp_ip_cmp(&r.outer_src, &first.outer_src), 0);
	cr_assert_eq(mcp_ip_cmp(&r.outer_dst, &first.outer_dst), 0);
	cr_assert_eq(mcp_attr_resolve_record(s, &r), MCP_ATTR_NONE, "bound once");
	mcp_worker_destroy(w);
	mcp_sessions_destroy(s);
}

/* Shards: a packet after the session comes with the dispatcher's attribution; the shard binds
 * the flow then (and turns it round), so the record leaves with its IMSI. */
Test(attribution, shard_flow_bound_by_a_later_packet)
{
	struct mcp_flow_record first = run(500, NULL);
	struct mcp_sessions *s = sessions();
	struct mcp_worker *w = worker(NULL);
	struct mcp_pkt down = gtpu(user("8.8.8.8", 53, "10.45.0.7", 40000, 120, 1000), 0x777,
				   "10.0.1.2", "10.0.2.1");
	struct mcp_pkt up = gtpu(user("10.45.0.7", 40000, "8.8.8.8", 53, 60, 1010), 0x44444444,
				 "10.0.2.1", "10.0.1.2");
	struct mcp_attrib a = { .src_is_up = 1 };

	mcp_worker_packet_attr(w, &down, &a);
	mcp_worker_packet_attr(w, &up, &a);
	attach(s, 1015);
	up.ts_us += 10000;
	mcp_attrib_resolve(s, &up, &a);
	cr_assert(a.has_sub);
	mcp_worker_packet_attr(w, &up, &a);
	mcp_worker_flush(w);
	cr_assert_eq(nrecs, 1);
	cr_assert_str_eq(recs[0].imsi, IMSI_V2);
	cr_assert_eq(mcp_ip_cmp(&recs[0].src_ip, &first.src_ip), 0);
	cr_assert_eq(recs[0].pkts_up, first.pkts_up);
	cr_assert_eq(recs[0].bytes_down, first.bytes_down);
	cr_assert_eq(recs[0].teid_up, first.teid_up);
	cr_assert_eq(mcp_ip_cmp(&recs[0].outer_dst, &first.outer_dst), 0);
	cr_assert_eq(mcp_worker_stats(w)->flows_attributed_late, 1);
	mcp_worker_destroy(w);
	mcp_sessions_destroy(s);
}

/* RSS disorder (docs/sessions.md, "Late binding"): subscriber A's re-attach replaced tunnel
 * T, which keeps resolving to A for its handover grace; B's new session reuses T. B's first
 * packet is polled before B's Create Session: found through T in its grace, the flow is A's
 * only tentatively, stays out of the kernel bypass, and B's next packet moves it to B. A's
 * kernel counters give back exactly what they received for it; what XDP credited to B itself
 * stays. */
#define IMSI_A "001010000000001"
#define IMSI_B "001010000000002"
static int64_t net_pkts[64];
static int ninstalls;

static void net_credit(void *ctx, uint32_t sub_id, const uint64_t pkts[2],
		       const uint64_t bytes[2])
{
	(void)ctx, (void)bytes;
	cr_assert_lt(sub_id, 64);
	net_pkts[sub_id] += (int64_t)(pkts[0] + pkts[1]);
}

static int net_install(void *ctx, const struct mcp_flow_key *key, uint32_t sub_id, int pending)
{
	ninstalls++;
	return k_install(ctx, key, sub_id, pending);
}

static const struct mcp_bypass_ops net_ops = { .install = net_install, .unpend = k_unpend,
					       .peek = k_peek, .take = k_peek, .walk = k_walk,
					       .credit = net_credit };

static void net_reset(void)
{
	memset(net_pkts, 0, sizeof(net_pkts));
	memset(&kval, 0, sizeof(kval));
	ninstalls = 0;
}

static void restore(struct mcp_sessions *s, const char *imsi, uint32_t teid, const char *ue,
		    uint64_t ts_ms)
{
	struct mcp_subscriber sub;

	memset(&sub, 0, sizeof(sub));
	snprintf(sub.imsi, sizeof(sub.imsi), "%s", imsi);
	sub.ntunnels = 1;
	sub.tunnels[0] = (struct mcp_tunnel){ .teid = teid, .dir = MCP_DIR_UP, .ebi = 5,
					      .iface = 1 };
	cr_assert_eq(mcp_ip_parse(&sub.tunnels[0].addr, "10.0.1.2"), 0);
	cr_assert_eq(mcp_ip_parse(&sub.ue_ipv4, ue), 0);
	sub.has_ipv4 = 1;
	sub.last_change_ms = ts_ms;
	cr_assert_eq(mcp_sessions_restore(s, &sub), 0);
}

static void overtaken_run(uint64_t b_at, const char *want_imsi)
{
	struct mcp_sessions *s = sessions();
	struct mcp_worker *w = worker(s);
	struct mcp_pkt up = gtpu(user("10.45.0.9", 40000, "8.8.8.8", 53, 60, 3000), 0x100,
				 "10.0.2.1", "10.0.1.2");
	uint32_t a_id, b_id;

	net_reset();
	mcp_worker_set_bypass(w, &net_ops);
	restore(s, IMSI_A, 0x100, "10.45.0.1", 1000);
	restore(s, IMSI_A, 0x200, "10.45.0.1", 2000); /* 0x100 replaced: in its grace */
	mcp_worker_packet(w, &up); /* XDP: no tunnel entry, nothing credited */
	cr_expect_eq(ninstalls, 0, "tentative: not in the kernel while it may move");
	restore(s, IMSI_B, 0x100, "10.45.0.9", b_at);
	up.ts_us += 200000;
	up.flags |= MCP_PKTF_KSUB; /* XDP found 0x100 (B's now) and credited B */
	mcp_worker_packet(w, &up);
	mcp_worker_flush(w);
	cr_assert_eq(nrecs, 1);
	cr_expect_str_eq(recs[0].imsi, want_imsi);
	cr_expect_eq(recs[0].pkts_up, 2);
	a_id = mcp_sessions_by_imsi(s, IMSI_A)->id;
	b_id = mcp_sessions_by_imsi(s, IMSI_B)->id;
	if (!strcmp(want_imsi, IMSI_B)) {
		cr_expect_eq(mcp_worker_stats(w)->flows_moved_owner, 1);
		cr_expect_eq(net_pkts[a_id], 0, "A gives back the packet it was credited");
		cr_expect_eq(net_pkts[b_id], 1, "B: that packet (XDP credited it the other)");
		cr_expect_eq(ninstalls, 1, "settled: installed at the move");
	} else {
		cr_expect_eq(mcp_worker_stats(w)->flows_moved_owner, 0);
		cr_expect_eq(net_pkts[a_id], 1);
	}
	mcp_worker_destroy(w);
	mcp_sessions_destroy(s);
}

Test(attribution, flow_on_a_replaced_tunnel_moves_to_its_new_owner)
{
	overtaken_run(3100, IMSI_B);
}

Test(attribution, new_owner_past_the_bound_does_not_take_the_flow)
{
	overtaken_run(3600, IMSI_A);
}

/* The same with the UE address: B's first packet carries a TEID nobody announced yet and B's
 * address, still A's (A's Delete is on the control queue too). Provisional, then B's. A's own
 * packet on a tunnel its Modify has not announced yet stays A's once the Modify names it. */
static void by_address_run(int a_leaves, const char *want_imsi)
{
	struct mcp_sessions *s = sessions();
	struct mcp_worker *w = worker(s);
	struct mcp_pkt up = gtpu(user("10.45.0.9", 40000, "8.8.8.8", 53, 60, 3000), 0x300,
				 "10.0.2.1", "10.0.1.2");
	struct mcp_subscriber gone;

	restore(s, IMSI_A, 0x100, "10.45.0.9", 1000);
	mcp_worker_packet(w, &up);
	if (a_leaves) {
		gone = *mcp_sessions_by_imsi(s, IMSI_A);
		gone.state = MCP_SUB_DELETED;
		gone.deleted_ms = 3050;
		gone.has_ipv4 = 0;
		cr_assert_eq(mcp_sessions_restore(s, &gone), 0);
		restore(s, IMSI_B, 0x300, "10.45.0.9", 3100);
	} else {
		restore(s, IMSI_A, 0x300, "10.45.0.9", 3100); /* A's Modify: its new tunnel */
	}
	up.ts_us += 200000;
	mcp_worker_packet(w, &up);
	mcp_worker_flush(w);
	cr_assert_eq(nrecs, 1);
	cr_expect_str_eq(recs[0].imsi, want_imsi);
	cr_expect_eq(recs[0].pkts_up, 2);
	cr_expect_eq(mcp_worker_stats(w)->flows_moved_owner, a_leaves);
	mcp_worker_destroy(w);
	mcp_sessions_destroy(s);
}

Test(attribution, flow_on_a_reused_address_moves_to_its_new_owner)
{
	by_address_run(1, IMSI_B);
}

Test(attribution, own_packet_before_its_modify_stays_with_its_owner)
{
	by_address_run(0, IMSI_A);
}

/* Shards, live: the shard's worker reads no table. B's only packets come before B's session,
 * found through A's replaced tunnel by the dispatcher; the record leaves A's, tentative, with
 * what A's counters received for it. The merger moves it to B, and those counters with it. */
Test(attribution, merger_moves_a_tentative_record_and_its_credit)
{
	struct mcp_sessions *s = sessions();
	struct mcp_worker *w = worker(NULL);
	struct mcp_pkt up = gtpu(user("10.45.0.9", 40000, "8.8.8.8", 53, 60, 3000), 0x100,
				 "10.0.2.1", "10.0.1.2");
	struct mcp_attrib a;
	struct mcp_flow_record r;
	uint32_t a_id, b_id;

	net_reset();
	mcp_worker_set_bypass(w, &net_ops);
	restore(s, IMSI_A, 0x100, "10.45.0.1", 1000);
	restore(s, IMSI_A, 0x200, "10.45.0.1", 2000);
	a_id = mcp_sessions_by_imsi(s, IMSI_A)->id;
	for (int i = 0; i < 3; i++) {
		mcp_attrib_resolve(s, &up, &a);
		cr_assert(a.has_sub && a.provisional);
		mcp_worker_packet_attr(w, &up, &a); /* XDP: no entry for 0x100, none credited */
		up.ts_us += 10000;
	}
	mcp_worker_set_bypass(w, NULL);
	mcp_worker_flush(w);
	cr_assert_eq(nrecs, 1);
	r = recs[0];
	cr_assert_str_eq(r.imsi, IMSI_A);
	cr_assert(r.attr_tentative);
	cr_assert_eq(net_pkts[a_id], 3, "the worker credited A");
	restore(s, IMSI_B, 0x100, "10.45.0.9", 3100);
	b_id = mcp_sessions_by_imsi(s, IMSI_B)->id;
	cr_assert_eq(mcp_attr_resolve_record(s, &r), MCP_ATTR_MOVED);
	cr_assert_str_eq(r.imsi, IMSI_B);
	mcp_record_credit_move(&net_ops, &r, a_id, b_id);
	cr_expect_eq(net_pkts[a_id], 0);
	cr_expect_eq(net_pkts[b_id], 3);
	mcp_worker_destroy(w);
	mcp_sessions_destroy(s);
}
