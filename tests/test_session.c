/* test_session.c - the session table (session.h) driven by scapy-built GTP-C exchanges
 * (tests/data/gtpc_cases.h): attach, handover with grace, delete with grace, re-attach,
 * secondary PDP, dedicated bearers, rejected/retransmitted/lost/late responses, table full. */
#include <criterion/criterion.h>
#include <errno.h>

#include "data/gtpc_cases.h"
#include "control/gtpc.h"
#include "session/session.h"

#define IMSI_V2 "001010123456789"
#define IMSI_V1 "262011234567890"
#define HO_GRACE 5000
#define DEL_GRACE 60000
#define TXN_TIMEOUT 10000

struct ev_rec {
	enum mcp_session_event ev;
	char imsi[MCP_IMSI_LEN];
	uint64_t ts;
};

static struct ev_rec evs[64];
static int nev;
static struct mcp_sessions *s;

static void on_event(void *ctx, enum mcp_session_event ev, const struct mcp_subscriber *sub,
		     uint64_t ts_ms)
{
	(void)ctx;
	cr_assert_lt(nev, 64);
	evs[nev].ev = ev;
	strcpy(evs[nev].imsi, sub->imsi);
	evs[nev].ts = ts_ms;
	nev++;
}

static void setup_n(uint32_t max)
{
	struct mcp_session_cfg cfg = {
		.max_subscribers = max,
		.delete_grace_ms = DEL_GRACE,
		.handover_grace_ms = HO_GRACE,
		.transaction_timeout_ms = TXN_TIMEOUT,
		.on_event = on_event,
	};

	nev = 0;
	mcp_sessions_destroy(s); /* a test may replace the suite's table (.init = NULL still runs it) */
	s = mcp_sessions_create(&cfg);
	cr_assert_not_null(s);
}

static void setup(void)
{
	setup_n(1000);
}

static void teardown(void)
{
	mcp_sessions_destroy(s);
	s = NULL;
}

static int feed_buf(const struct gtpc_case *c, const uint8_t *buf, unsigned int len,
		    uint64_t ts_ms)
{
	struct mcp_pkt pkt;

	memset(&pkt, 0, sizeof(pkt));
	pkt.kind = MCP_PKT_GTPC;
	pkt.ts_us = ts_ms * 1000;
	cr_assert_eq(mcp_ip_parse(&pkt.src, c->src), 0);
	cr_assert_eq(mcp_ip_parse(&pkt.dst, c->dst), 0);
	pkt.sport = c->sport;
	pkt.dport = c->dport;
	pkt.l4_proto = 17;
	pkt.payload = buf;
	pkt.payload_len = len;
	return mcp_sessions_handle_gtpc(s, &pkt);
}

static int feed(const char *name, uint64_t ts_ms)
{
	const struct gtpc_case *c = gtpc_case_get(name);

	cr_assert_not_null(c, "case %s", name);
	return feed_buf(c, c->buf, c->len, ts_ms);
}

static void exchange(const char *req, const char *rsp, uint64_t ts_ms)
{
	cr_assert_eq(feed(req, ts_ms), 0, "%s", req);
	cr_assert_eq(feed(rsp, ts_ms + 1), 0, "%s", rsp);
}

static const struct mcp_subscriber *tun(uint32_t teid, const char *addr, uint8_t *dir)
{
	struct mcp_ip ip;

	cr_assert_eq(mcp_ip_parse(&ip, addr), 0);
	return mcp_sessions_by_tunnel(s, teid, &ip, dir);
}

static const struct mcp_subscriber *ue(const char *addr)
{
	struct mcp_ip ip;

	cr_assert_eq(mcp_ip_parse(&ip, addr), 0);
	return mcp_sessions_by_ue_ip(s, &ip);
}

static void assert_tun(uint32_t teid, const char *addr, const char *imsi, uint8_t want_dir)
{
	const struct mcp_subscriber *sub;
	uint8_t dir = 0xee;

	sub = tun(teid, addr, &dir);
	cr_assert_not_null(sub, "tunnel %#x@%s not mapped", teid, addr);
	cr_assert_str_eq(sub->imsi, imsi);
	cr_assert_eq(dir, want_dir, "tunnel %#x@%s dir %u", teid, addr, dir);
}

static void assert_events(int n, const enum mcp_session_event *want)
{
	int i;

	cr_assert_eq(nev, n, "events %d want %d", nev, n);
	for (i = 0; i < n; i++)
		cr_assert_eq(evs[i].ev, want[i], "event %d is %d want %d", i, evs[i].ev, want[i]);
}

static const struct mcp_session_stats *st(void)
{
	return mcp_sessions_stats(s);
}

TestSuite(session, .init = setup, .fini = teardown);

Test(session, v2_attach)
{
	const struct mcp_subscriber *sub;
	struct mcp_ip ip;
	char buf[MCP_IP_STRLEN];

	exchange("v2_csr", "v2_csrsp", 1000);
	assert_events(1, (enum mcp_session_event[]){ MCP_EV_ATTACH });
	cr_assert_eq(evs[0].ts, 1001);
	sub = mcp_sessions_by_imsi(s, IMSI_V2);
	cr_assert_not_null(sub);
	cr_assert_str_eq(sub->msisdn, "33612345678");
	cr_assert_str_eq(sub->imei, "3534900698733015");
	cr_assert_str_eq(sub->apn, "internet.mnc001.mcc001.gprs");
	cr_assert_eq(sub->rat, 6);
	cr_assert_eq(sub->gtp_version, 2);
	cr_assert_eq(sub->state, MCP_SUB_ACTIVE);
	cr_assert(sub->has_ipv4);
	cr_assert_not(sub->has_ipv6);
	cr_assert_str_eq(mcp_ip_str(&sub->ue_ipv4, buf), "10.45.0.7");
	cr_assert_eq(sub->ntunnels, 2);
	cr_assert_eq(sub->ctrl_teid[0], 0x22222222);
	cr_assert_eq(sub->ctrl_teid[1], 0x11111111);
	assert_tun(0x44444444, "10.0.1.2", IMSI_V2, MCP_DIR_UP);
	assert_tun(0x55555555, "10.0.1.3", IMSI_V2, MCP_DIR_UP);
	cr_assert_null(tun(0x44444444, "10.0.1.3", NULL), "TEID on another endpoint");
	cr_assert_eq(ue("10.45.0.7"), sub);
	cr_assert_eq(mcp_sessions_by_id(s, sub->id), sub);
	cr_assert_eq(st()->created, 1);
	cr_assert_eq(st()->v2_msgs[32], 1);
	cr_assert_eq(st()->v2_msgs[33], 1);
	cr_assert_eq(st()->accepted_exchanges, 1);
	cr_assert_eq(mcp_ip_parse(&ip, "10.45.0.8"), 0);
	cr_assert_null(mcp_sessions_by_ue_ip(s, &ip));
}

Test(session, v2_modify_and_handover_grace)
{
	const struct mcp_subscriber *sub;

	exchange("v2_csr", "v2_csrsp", 1000);
	exchange("v2_mbr", "v2_mbrsp", 2000);
	assert_events(2, (enum mcp_session_event[]){ MCP_EV_ATTACH, MCP_EV_MODIFY });
	sub = mcp_sessions_by_imsi(s, IMSI_V2);
	cr_assert_eq(sub->ntunnels, 3);
	assert_tun(0x66666666, "10.0.2.1", IMSI_V2, MCP_DIR_DOWN);
	/* X2 handover at t=3000: the old eNodeB tunnel resolves for the grace period */
	exchange("v2_mbr_ho", "v2_mbrsp_ho", 3000);
	assert_events(3, (enum mcp_session_event[]){ MCP_EV_ATTACH, MCP_EV_MODIFY, MCP_EV_MODIFY });
	cr_assert_eq(sub->ntunnels, 3);
	assert_tun(0x77777777, "10.0.2.2", IMSI_V2, MCP_DIR_DOWN);
	assert_tun(0x66666666, "10.0.2.1", IMSI_V2, MCP_DIR_DOWN);
	mcp_sessions_expire(s, 3001 + HO_GRACE - 1);
	assert_tun(0x66666666, "10.0.2.1", IMSI_V2, MCP_DIR_DOWN);
	mcp_sessions_expire(s, 3001 + HO_GRACE);
	cr_assert_null(tun(0x66666666, "10.0.2.1", NULL));
	assert_tun(0x77777777, "10.0.2.2", IMSI_V2, MCP_DIR_DOWN);
	assert_tun(0x44444444, "10.0.1.2", IMSI_V2, MCP_DIR_UP);
	cr_assert_eq(st()->modified, 2);
}

Test(session, v2_dedicated_bearer)
{
	const struct mcp_subscriber *sub;
	int i;

	exchange("v2_csr", "v2_csrsp", 1000);
	exchange("v2_mbr", "v2_mbrsp", 2000);
	exchange("v2_cbr", "v2_cbrsp", 3000);
	sub = mcp_sessions_by_imsi(s, IMSI_V2);
	cr_assert_eq(sub->ntunnels, 6);
	assert_tun(0xaaaaaaaa, "10.0.2.1", IMSI_V2, MCP_DIR_DOWN);
	assert_tun(0x88888888, "10.0.1.2", IMSI_V2, MCP_DIR_UP);
	assert_tun(0x99999999, "10.0.1.3", IMSI_V2, MCP_DIR_UP);
	for (i = 0; i < sub->ntunnels; i++)
		if (sub->tunnels[i].teid == 0xaaaaaaaa)
			cr_assert_eq(sub->tunnels[i].ebi, 6);
	/* Update Bearer without F-TEIDs changes nothing */
	exchange("v2_ubr", "v2_ubrsp", 3500);
	cr_assert_eq(nev, 3);
	exchange("v2_dbr", "v2_dbrsp", 4000);
	assert_events(4, (enum mcp_session_event[]){ MCP_EV_ATTACH, MCP_EV_MODIFY, MCP_EV_MODIFY,
						     MCP_EV_MODIFY });
	cr_assert_eq(sub->ntunnels, 3);
	for (i = 0; i < sub->ntunnels; i++)
		cr_assert_eq(sub->tunnels[i].ebi, 5);
	assert_tun(0xaaaaaaaa, "10.0.2.1", IMSI_V2, MCP_DIR_DOWN); /* delete grace */
	mcp_sessions_expire(s, 4001 + DEL_GRACE);
	cr_assert_null(tun(0xaaaaaaaa, "10.0.2.1", NULL));
	cr_assert_null(tun(0x99999999, "10.0.1.3", NULL));
	assert_tun(0x66666666, "10.0.2.1", IMSI_V2, MCP_DIR_DOWN);
	assert_tun(0x55555555, "10.0.1.3", IMSI_V2, MCP_DIR_UP);
	cr_assert_eq(sub->state, MCP_SUB_ACTIVE);
}

Test(session, v2_release_access_bearers)
{
	const struct mcp_subscriber *sub;

	exchange("v2_csr", "v2_csrsp", 1000);
	exchange("v2_mbr", "v2_mbrsp", 2000);
	exchange("v2_rabr", "v2_rabrsp", 3000);
	sub = mcp_sessions_by_imsi(s, IMSI_V2);
	cr_assert_eq(sub->ntunnels, 2);
	cr_assert_eq(evs[nev - 1].ev, MCP_EV_MODIFY);
	mcp_sessions_expire(s, 3001 + HO_GRACE);
	cr_assert_null(tun(0x66666666, "10.0.2.1", NULL));
	/* paging brings the UE back: a new Modify Bearer maps the eNodeB again */
	exchange("v2_mbr_ho", "v2_mbrsp_ho", 9000);
	assert_tun(0x77777777, "10.0.2.2", IMSI_V2, MCP_DIR_DOWN);
}

Test(session, v2_delete_with_grace)
{
	const struct mcp_subscriber *sub;

	exchange("v2_csr", "v2_csrsp", 1000);
	exchange("v2_dsr", "v2_dsrsp", 2000);
	assert_events(2, (enum mcp_session_event[]){ MCP_EV_ATTACH, MCP_EV_DETACH });
	sub = mcp_sessions_by_imsi(s, IMSI_V2);
	cr_assert_not_null(sub);
	cr_assert_eq(sub->state, MCP_SUB_DELETED);
	cr_assert_eq(sub->deleted_ms, 2001);
	assert_tun(0x44444444, "10.0.1.2", IMSI_V2, MCP_DIR_UP);
	cr_assert_not_null(ue("10.45.0.7"));
	mcp_sessions_expire(s, 2001 + DEL_GRACE - 1);
	cr_assert_not_null(mcp_sessions_by_imsi(s, IMSI_V2));
	mcp_sessions_expire(s, 2001 + DEL_GRACE);
	assert_events(3, (enum mcp_session_event[]){ MCP_EV_ATTACH, MCP_EV_DETACH, MCP_EV_REMOVE });
	cr_assert_null(mcp_sessions_by_imsi(s, IMSI_V2));
	cr_assert_null(tun(0x44444444, "10.0.1.2", NULL));
	cr_assert_null(ue("10.45.0.7"));
	cr_assert_eq(st()->deleted, 1);
	cr_assert_eq(st()->removed, 1);
	/* a late Modify Bearer for the removed session finds nothing */
	exchange("v2_mbr", "v2_mbrsp", 70000);
	cr_assert_eq(st()->unknown_session, 1);
	cr_assert_eq(nev, 3);
}

Test(session, v2_reattach_new_ip)
{
	const struct mcp_subscriber *sub;

	exchange("v2_csr", "v2_csrsp", 1000);
	sub = mcp_sessions_by_imsi(s, IMSI_V2);
	exchange("v2_csr2", "v2_csrsp2", 2000);
	assert_events(2, (enum mcp_session_event[]){ MCP_EV_ATTACH, MCP_EV_ATTACH });
	cr_assert_eq(mcp_sessions_by_imsi(s, IMSI_V2), sub, "same entry, same id");
	cr_assert_null(ue("10.45.0.7"), "old UE IP mapping replaced");
	cr_assert_eq(ue("10.45.0.9"), sub);
	cr_assert_eq(sub->ctrl_teid[1], 0x1111aaaa);
	assert_tun(0x4444aaaa, "10.0.1.2", IMSI_V2, MCP_DIR_UP);
	mcp_sessions_expire(s, 2001 + HO_GRACE);
	cr_assert_null(tun(0x44444444, "10.0.1.2", NULL));
	cr_assert_eq(st()->created, 2);
}

Test(session, v2_reattach_after_delete)
{
	exchange("v2_csr", "v2_csrsp", 1000);
	exchange("v2_dsr", "v2_dsrsp", 2000);
	exchange("v2_csr2", "v2_csrsp2", 3000);
	assert_events(3, (enum mcp_session_event[]){ MCP_EV_ATTACH, MCP_EV_DETACH, MCP_EV_ATTACH });
	cr_assert_eq(mcp_sessions_by_imsi(s, IMSI_V2)->state, MCP_SUB_ACTIVE);
	mcp_sessions_expire(s, 2001 + DEL_GRACE + 10);
	cr_assert_eq(nev, 3, "the old delete must not remove the new session");
	cr_assert_not_null(ue("10.45.0.9"));
}

Test(session, v2_rejected_response)
{
	exchange("v2_csr", "v2_csrsp_rej", 1000);
	cr_assert_eq(nev, 0);
	cr_assert_null(mcp_sessions_by_imsi(s, IMSI_V2));
	cr_assert_eq(st()->rejected_responses, 1);
	cr_assert_eq(st()->created, 0);
}

Test(session, v2_retransmitted_request)
{
	cr_assert_eq(feed("v2_csr", 1000), 0);
	cr_assert_eq(feed("v2_csr", 1500), 0);
	cr_assert_eq(feed("v2_csrsp", 1600), 0);
	cr_assert_eq(st()->retransmissions, 1);
	cr_assert_eq(st()->created, 1);
	assert_events(1, (enum mcp_session_event[]){ MCP_EV_ATTACH });
	/* the duplicated response has nothing left to match */
	cr_assert_eq(feed("v2_csrsp", 1700), 0);
	cr_assert_eq(st()->unmatched_responses, 1);
	cr_assert_eq(nev, 1);
}

Test(session, v2_lost_response_times_out)
{
	cr_assert_eq(feed("v2_csr", 1000), 0);
	mcp_sessions_expire_transactions(s, 1000 + TXN_TIMEOUT - 1);
	cr_assert_eq(st()->timed_out_requests, 0);
	mcp_sessions_expire_transactions(s, 1000 + TXN_TIMEOUT);
	cr_assert_eq(st()->timed_out_requests, 1);
	cr_assert_eq(feed("v2_csrsp", 1000 + TXN_TIMEOUT + 1), 0);
	cr_assert_eq(st()->unmatched_responses, 1);
	cr_assert_null(mcp_sessions_by_imsi(s, IMSI_V2));
	cr_assert_eq(nev, 0);
}

Test(session, v2_late_response_without_expire)
{
	cr_assert_eq(feed("v2_csr", 1000), 0);
	cr_assert_eq(feed("v2_csrsp", 1000 + TXN_TIMEOUT + 5), 0);
	cr_assert_eq(st()->timed_out_requests, 1);
	cr_assert_eq(st()->unmatched_responses, 1);
	cr_assert_null(mcp_sessions_by_imsi(s, IMSI_V2));
}

Test(session, unmatched_response)
{
	cr_assert_eq(feed("v2_mbrsp", 1000), 0);
	cr_assert_eq(st()->unmatched_responses, 1);
	cr_assert_eq(nev, 0);
}

Test(session, table_full, .init = NULL)
{
	setup_n(1);
	exchange("v2_csr", "v2_csrsp", 1000);
	exchange("v2_csr3", "v2_csrsp3", 2000);
	cr_assert_eq(st()->table_full, 1);
	cr_assert_not_null(mcp_sessions_by_imsi(s, IMSI_V2));
	cr_assert_null(mcp_sessions_by_imsi(s, "001010000000003"));
	cr_assert_null(ue("10.45.0.3"));
	assert_events(1, (enum mcp_session_event[]){ MCP_EV_ATTACH });
	/* once the first is removed, there is room again */
	exchange("v2_dsr", "v2_dsrsp", 3000);
	mcp_sessions_expire(s, 3001 + DEL_GRACE);
	exchange("v2_csr3", "v2_csrsp3", 70000);
	cr_assert_not_null(mcp_sessions_by_imsi(s, "001010000000003"));
}

Test(session, v2_dual_stack)
{
	const struct mcp_subscriber *sub;

	exchange("v2_csr_v6", "v2_csrsp_v6", 1000);
	sub = mcp_sessions_by_imsi(s, "001010000000006");
	cr_assert_not_null(sub);
	cr_assert(sub->has_ipv4 && sub->has_ipv6);
	cr_assert_eq(ue("10.45.0.6"), sub);
	cr_assert_eq(ue("2001:db8:1::"), sub);
	assert_tun(0x44440006, "2001:db8:ff::2", "001010000000006", MCP_DIR_UP);
	/* an F-TEID with IPv4 and IPv6 resolves on both */
	assert_tun(0x55555555, "10.0.1.3", "001010000000006", MCP_DIR_UP);
	assert_tun(0x55555555, "2001:db8:ff::3", "001010000000006", MCP_DIR_UP);
	cr_assert_eq(sub->ntunnels, 3);
}

Test(session, v2_piggyback)
{
	const struct gtpc_case *c = gtpc_case_get("v2_echo");
	uint8_t buf[64];

	cr_assert_eq(feed("v2_piggy", 1000), 0);
	cr_assert_eq(st()->v2_msgs[33], 1);
	cr_assert_eq(st()->v2_msgs[95], 1);
	cr_assert_eq(st()->unmatched_responses, 1);
	/* P flag set but nothing (or garbage) follows */
	memcpy(buf, c->buf, c->len);
	buf[0] |= 0x10;
	cr_assert_eq(feed_buf(c, buf, c->len, 1100), -EBADMSG);
	buf[c->len] = 0x48;
	cr_assert_eq(feed_buf(c, buf, c->len + 1, 1200), -EMSGSIZE);
	cr_assert_eq(st()->malformed_reason[MCP_GTPC_BAD_BAD_PIGGYBACK], 2);
	cr_assert_eq(st()->v2_msgs[1], 2);
}

Test(session, malformed_counted)
{
	const struct gtpc_case *c = gtpc_case_get("v2_csr");

	cr_assert_eq(feed_buf(c, c->buf, c->len - 1, 1000), -EMSGSIZE);
	cr_assert_eq(feed_buf(c, c->buf, 3, 1000), -EMSGSIZE);
	cr_assert_eq(st()->malformed, 2);
	cr_assert_eq(st()->malformed_reason[MCP_GTPC_BAD_TRUNC_MSG], 1);
	cr_assert_eq(st()->malformed_reason[MCP_GTPC_BAD_TRUNC_HDR], 1);
	cr_assert_eq(st()->v2_msgs[32], 0);
}

Test(session, v1_lifecycle)
{
	const struct mcp_subscriber *sub;
	char buf[MCP_IP_STRLEN];

	exchange("v1_cpdp", "v1_cpdprsp", 1000);
	assert_events(1, (enum mcp_session_event[]){ MCP_EV_ATTACH });
	sub = mcp_sessions_by_imsi(s, IMSI_V1);
	cr_assert_not_null(sub);
	cr_assert_eq(sub->gtp_version, 1);
	cr_assert_str_eq(sub->msisdn, "491711234567");
	cr_assert_str_eq(sub->imei, "3534900698733015");
	cr_assert_str_eq(sub->apn, "web.operator.com");
	cr_assert_eq(sub->rat, 1);
	cr_assert_str_eq(mcp_ip_str(&sub->ue_ipv4, buf), "10.1.2.3");
	cr_assert_eq(sub->ntunnels, 2);
	cr_assert_eq(sub->ctrl_teid[0], 0x11121314);
	cr_assert_eq(sub->ctrl_teid[1], 0x01020304);
	assert_tun(0x0a0b0c0d, "192.168.1.2", IMSI_V1, MCP_DIR_DOWN);
	assert_tun(0x1a1b1c1d, "192.168.2.2", IMSI_V1, MCP_DIR_UP);
	cr_assert_eq(ue("10.1.2.3"), sub);

	/* secondary PDP context: same subscriber, NSAPI 6 linked to 5 */
	exchange("v1_cpdp2", "v1_cpdprsp2", 2000);
	assert_events(2, (enum mcp_session_event[]){ MCP_EV_ATTACH, MCP_EV_MODIFY });
	cr_assert_eq(sub->ntunnels, 4);
	assert_tun(0x0a0b0c0e, "192.168.1.2", IMSI_V1, MCP_DIR_DOWN);
	assert_tun(0x1a1b1c1e, "192.168.2.2", IMSI_V1, MCP_DIR_UP);

	/* inter-SGSN RAU: the new SGSN's tunnel takes the downlink of NSAPI 5 */
	exchange("v1_updp", "v1_updprsp", 3000);
	cr_assert_eq(evs[nev - 1].ev, MCP_EV_MODIFY);
	assert_tun(0x0c0c0c0c, "192.168.3.2", IMSI_V1, MCP_DIR_DOWN);
	assert_tun(0x0a0b0c0d, "192.168.1.2", IMSI_V1, MCP_DIR_DOWN);
	assert_tun(0x1a1b1c1d, "192.168.2.2", IMSI_V1, MCP_DIR_UP);
	cr_assert_eq(sub->ntunnels, 4);
	mcp_sessions_expire(s, 3001 + HO_GRACE);
	cr_assert_null(tun(0x0a0b0c0d, "192.168.1.2", NULL));

	/* delete the secondary only, then the primary with teardown */
	exchange("v1_dpdp2", "v1_dpdprsp2", 10000);
	cr_assert_eq(evs[nev - 1].ev, MCP_EV_MODIFY);
	cr_assert_eq(sub->ntunnels, 2);
	cr_assert_eq(sub->state, MCP_SUB_ACTIVE);
	exchange("v1_dpdp", "v1_dpdprsp", 11000);
	cr_assert_eq(evs[nev - 1].ev, MCP_EV_DETACH);
	cr_assert_eq(sub->state, MCP_SUB_DELETED);
	assert_tun(0x0c0c0c0c, "192.168.3.2", IMSI_V1, MCP_DIR_DOWN);
	mcp_sessions_expire(s, 11001 + DEL_GRACE);
	cr_assert_eq(evs[nev - 1].ev, MCP_EV_REMOVE);
	cr_assert_null(tun(0x0c0c0c0c, "192.168.3.2", NULL));
	cr_assert_null(tun(0x0a0b0c0e, "192.168.1.2", NULL));
	cr_assert_null(mcp_sessions_by_imsi(s, IMSI_V1));
	cr_assert_eq(st()->v1_msgs[16], 2);
	cr_assert_eq(st()->v1_msgs[21], 2);
}

Test(session, v1_rejected_and_v6)
{
	const struct mcp_subscriber *sub;

	exchange("v1_cpdp", "v1_cpdprsp_rej", 1000);
	cr_assert_eq(st()->rejected_responses, 1);
	cr_assert_null(mcp_sessions_by_imsi(s, IMSI_V1));
	exchange("v1_cpdp_v6", "v1_cpdprsp_v6", 2000);
	sub = mcp_sessions_by_imsi(s, "262010000000006");
	cr_assert_not_null(sub);
	cr_assert(sub->has_ipv4 && sub->has_ipv6);
	cr_assert_eq(ue("2001:db8:2::6"), sub);
	assert_tun(0x0606, "2001:db8:a::2", "262010000000006", MCP_DIR_DOWN);
	assert_tun(0x1606, "2001:db8:b::2", "262010000000006", MCP_DIR_UP);
	/* echo is counted, never a transaction */
	cr_assert_eq(feed("v1_echo", 3000), 0);
	cr_assert_eq(st()->v1_msgs[1], 1);
	cr_assert_eq(st()->unknown_msgs, 0);
}

Test(session, restore_without_event)
{
	struct mcp_subscriber copy;
	const struct mcp_subscriber *sub;

	exchange("v2_csr", "v2_csrsp", 1000);
	exchange("v2_mbr", "v2_mbrsp", 2000);
	copy = *mcp_sessions_by_imsi(s, IMSI_V2);
	teardown();
	setup();
	cr_assert_eq(mcp_sessions_restore(s, &copy), 0);
	cr_assert_eq(nev, 0);
	sub = mcp_sessions_by_imsi(s, IMSI_V2);
	cr_assert_not_null(sub);
	cr_assert_str_eq(sub->msisdn, "33612345678");
	cr_assert_eq(sub->ntunnels, 3);
	assert_tun(0x66666666, "10.0.2.1", IMSI_V2, MCP_DIR_DOWN);
	cr_assert_eq(ue("10.45.0.7"), sub);
	/* the restored control TEIDs address later exchanges */
	exchange("v2_mbr_ho", "v2_mbrsp_ho", 3000);
	assert_events(1, (enum mcp_session_event[]){ MCP_EV_MODIFY });
	assert_tun(0x77777777, "10.0.2.2", IMSI_V2, MCP_DIR_DOWN);
}

/* A NAI SUPI's subscriber key (docs/5g.md): "n" + 14 hex digits, stable, never an IMSI, and
 * different for different NAIs. */
Test(session, supi_key_form)
{
	char a[MCP_IMSI_LEN], b[MCP_IMSI_LEN], c[MCP_IMSI_LEN];

	mcp_supi_key(a, "nai-alice@example.org");
	mcp_supi_key(b, "nai-alice@example.org");
	mcp_supi_key(c, "nai-bob@example.org");
	cr_expect_eq(strlen(a), 15);
	cr_expect_eq(a[0], 'n');
	cr_expect_eq(strspn(a + 1, "0123456789abcdef"), 14);
	cr_expect_str_eq(a, b);
	cr_expect_str_neq(a, c);
	cr_expect(mcp_key_is_supi(a) && !mcp_key_is_supi("001010000000001"));
}

/* The tunnel epoch (mcp_sessions_tunnel_epoch) moves at every change of what a tunnel key
 * resolves to, including the end of a handover's grace, which emits no event, and stays
 * through lookups and expiries that change nothing: the dispatcher's tunnel cache relies on
 * both (pipeline/tunnel_attrs.h). */
Test(session, tunnel_epoch_moves_with_what_tunnels_resolve_to)
{
	uint64_t e;

	e = mcp_sessions_tunnel_epoch(s);
	exchange("v2_csr", "v2_csrsp", 1000);
	cr_expect_neq(mcp_sessions_tunnel_epoch(s), e, "attach");
	e = mcp_sessions_tunnel_epoch(s);
	assert_tun(0x44444444, "10.0.1.2", IMSI_V2, MCP_DIR_UP);
	mcp_sessions_expire(s, 1500);
	cr_expect_eq(mcp_sessions_tunnel_epoch(s), e, "lookups and an empty expiry");
	exchange("v2_mbr", "v2_mbrsp", 2000);
	cr_expect_neq(mcp_sessions_tunnel_epoch(s), e, "modify");
	exchange("v2_mbr_ho", "v2_mbrsp_ho", 3000);
	e = mcp_sessions_tunnel_epoch(s);
	mcp_sessions_expire(s, 3001 + HO_GRACE - 1);
	cr_expect_eq(mcp_sessions_tunnel_epoch(s), e, "grace not over");
	mcp_sessions_expire(s, 3001 + HO_GRACE);
	cr_assert_null(tun(0x66666666, "10.0.2.1", NULL));
	cr_expect_neq(mcp_sessions_tunnel_epoch(s), e, "the old tunnel's grace ended");
	e = mcp_sessions_tunnel_epoch(s);
	exchange("v2_dsr", "v2_dsrsp", 9000);
	cr_expect_neq(mcp_sessions_tunnel_epoch(s), e, "delete");
	e = mcp_sessions_tunnel_epoch(s);
	mcp_sessions_expire(s, 9001 + DEL_GRACE);
	cr_assert_null(mcp_sessions_by_imsi(s, IMSI_V2));
	cr_expect_neq(mcp_sessions_tunnel_epoch(s), e, "remove");
}
