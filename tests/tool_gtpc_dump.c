/* tool_gtpc_dump.c - oracle dumper: decodes every GTP-C message (UDP or TCP port 2123) of a
 * capture with mcp_gtpc_decode() and prints one JSON line per message, for comparison with
 * tshark (tests/it_gtpc_oracle.py). TS 29.060 / TS 29.274 decoding is the library's; the
 * minimal Ethernet / Linux SLL / SLL2 / raw IP, VLAN, IPv4/IPv6, UDP/TCP walk is done here,
 * bounds-checked with struct mcp_rd, so the oracle does not depend on the frame decoder.
 *
 * Usage: tool_gtpc_dump [--sessions] FILE.pcap
 *   --sessions: feed the GTP-C messages into a session table (events as JSON lines) and
 *   print, for every GTP-U T-PDU (UDP 2152), the subscriber its (TEID, outer dst) maps to.
 */
#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>

#include "control/gtpc.h"
#include "mcp_addr.h"
#include "util/rd.h"
#include "session/session.h"

#define DLT_SLL_  113
#define DLT_SLL2_ 276

static struct mcp_gtpc_msg msg;

/* Link layer to the ethertype of the network layer; 0 if unusable. */
static uint16_t link_walk(int dlt, struct mcp_rd *r)
{
	uint16_t et = 0;
	int i;

	switch (dlt) {
	case DLT_EN10MB:
		mcp_rd_skip(r, 12);
		et = mcp_rd_be16(r);
		break;
	case DLT_SLL_:
		mcp_rd_skip(r, 14);
		et = mcp_rd_be16(r);
		break;
	case DLT_SLL2_:
		et = mcp_rd_be16(r);
		mcp_rd_skip(r, 18);
		break;
	case 101: /* LINKTYPE_RAW */
	case 12:
	case 14: {
		uint8_t v = r->p < r->end ? r->p[0] >> 4 : 0;

		return v == 4 ? 0x0800 : v == 6 ? 0x86dd : 0;
	}
	default:
		return 0;
	}
	for (i = 0; i < 4 && (et == 0x8100 || et == 0x88a8); i++) {
		mcp_rd_skip(r, 2);
		et = mcp_rd_be16(r);
	}
	return r->err ? 0 : et;
}

/* The carrying IP/UDP of the last walked frame (for the session table). */
static struct mcp_pkt cur;

/* IP + UDP/TCP: payload of a segment to or from port 2123 (or, with gtpu, UDP 2152) in
 * *pl / *pll; fills cur's addresses and ports. */
static int ip_walk(uint16_t et, struct mcp_rd *r, const uint8_t **pl, size_t *pll, int gtpu)
{
	uint8_t proto;
	size_t iplen;
	const uint8_t *a;

	if (et == 0x0800) {
		uint8_t vihl = mcp_rd_u8(r);
		uint16_t tot, frag;
		size_t hl = (size_t)(vihl & 0x0f) * 4;

		mcp_rd_skip(r, 1);
		tot = mcp_rd_be16(r);
		mcp_rd_skip(r, 2);
		frag = mcp_rd_be16(r);
		mcp_rd_skip(r, 1);
		proto = mcp_rd_u8(r);
		mcp_rd_skip(r, 2);
		a = mcp_rd_bytes(r, 8);
		if (r->err || hl < 20 || tot < hl || (frag & 0x3fff))
			return -1;
		mcp_ip_from_v4(&cur.src, a);
		mcp_ip_from_v4(&cur.dst, a + 4);
		mcp_rd_skip(r, hl - 20);
		iplen = tot - hl;
	} else if (et == 0x86dd) {
		mcp_rd_skip(r, 4);
		iplen = mcp_rd_be16(r);
		proto = mcp_rd_u8(r);
		mcp_rd_skip(r, 1);
		a = mcp_rd_bytes(r, 32);
		if (!a)
			return -1;
		mcp_ip_from_v6(&cur.src, a);
		mcp_ip_from_v6(&cur.dst, a + 16);
	} else {
		return -1;
	}
	if (r->err)
		return -1;
	if (iplen < mcp_rd_left(r))
		r->end = r->p + iplen;
	if (proto == 17) {
		uint16_t sp = mcp_rd_be16(r), dp = mcp_rd_be16(r);

		mcp_rd_skip(r, 4);
		if (r->err || (sp != 2123 && dp != 2123 && !(gtpu && dp == 2152)))
			return -1;
		cur.sport = sp;
		cur.dport = dp;
		cur.l4_proto = 17;
	} else if (proto == 6) {
		uint16_t sp = mcp_rd_be16(r), dp = mcp_rd_be16(r);
		uint8_t off;

		mcp_rd_skip(r, 8);
		off = mcp_rd_u8(r) >> 4;
		mcp_rd_skip(r, 7);
		if (r->err || off < 5 || (sp != 2123 && dp != 2123))
			return -1;
		cur.l4_proto = 6;
		mcp_rd_skip(r, (size_t)(off - 5) * 4);
	} else {
		return -1;
	}
	if (r->err || !mcp_rd_left(r))
		return -1;
	*pl = r->p;
	*pll = mcp_rd_left(r);
	return 0;
}

static void print_fteid(const struct mcp_gtpc_fteid *f, int bearer, int ebi, int *first)
{
	char a4[MCP_IP_STRLEN] = "", a6[MCP_IP_STRLEN] = "";

	if (f->has_v4)
		mcp_ip_str(&f->v4, a4);
	if (f->has_v6)
		mcp_ip_str(&f->v6, a6);
	printf("%s{\"teid\":%u,\"v4\":\"%s\",\"v6\":\"%s\",\"iface\":%u,\"inst\":%u,"
	       "\"bearer\":%d,\"ebi\":%d}",
	       *first ? "" : ",", f->teid, a4, a6, f->iface, f->instance, bearer, ebi);
	*first = 0;
}

static void print_msg(uint64_t frame, int idx, int rc)
{
	char u4[MCP_IP_STRLEN] = "", u6[MCP_IP_STRLEN] = "", g[2][MCP_IP_STRLEN] = { "", "" };
	int i, j, first = 1;

	if (rc < 0) {
		printf("{\"frame\":%llu,\"idx\":%d,\"version\":%u,\"err\":\"%s\"}\n",
		       (unsigned long long)frame, idx, msg.version,
		       mcp_gtpc_bad_reason_name(msg.bad_reason));
		return;
	}
	if (msg.has_ue_v4)
		mcp_ip_str(&msg.ue_v4, u4);
	if (msg.has_ue_v6)
		mcp_ip_str(&msg.ue_v6, u6);
	for (i = 0; i < msg.ngsn && i < 2; i++)
		mcp_ip_str(&msg.gsn[i], g[i]);
	printf("{\"frame\":%llu,\"idx\":%d,\"version\":%u,\"type\":%u,\"seq\":%u,\"teid\":%u,"
	       "\"imsi\":\"%s\",\"msisdn\":\"%s\",\"imei\":\"%s\",\"apn\":\"%s\",\"ue_v4\":\"%s\","
	       "\"ue_v6\":\"%s\",\"cause\":%d,\"lbi\":%d,\"rat\":%d,\"unknown_ies\":%u,"
	       "\"discarded_ies\":%u,",
	       (unsigned long long)frame, idx, msg.version, msg.type, msg.seq, msg.teid, msg.imsi,
	       msg.msisdn, msg.imei, msg.apn, u4, u6, msg.has_cause ? msg.cause : -1,
	       msg.has_lbi ? msg.lbi : -1, msg.has_rat ? msg.rat : -1, msg.unknown_ies,
	       msg.discarded_ies);
	if (msg.version == 1)
		printf("\"teid_data\":%lld,\"teid_ctrl\":%lld,\"gsn\":[\"%s\",\"%s\"],\"ngsn\":%u,",
		       msg.has_teid_data ? (long long)msg.teid_data : -1LL,
		       msg.has_teid_ctrl ? (long long)msg.teid_ctrl : -1LL, g[0], g[1], msg.ngsn);
	printf("\"fteids\":[");
	if (msg.version == 2)
		for (i = 0; i < msg.nctrl; i++)
			print_fteid(&msg.ctrl[i], -1, -1, &first);
	for (i = 0; i < msg.nbearers; i++)
		for (j = 0; j < msg.bearers[i].nfteid; j++)
			print_fteid(&msg.bearers[i].fteid[j], i, msg.bearers[i].ebi, &first);
	printf("],\"ebis\":[");
	for (i = 0; i < msg.nbearers; i++)
		printf("%s%u", i ? "," : "", msg.bearers[i].ebi);
	printf("],\"bearer_causes\":[");
	for (i = 0, first = 1; msg.version == 2 && i < msg.nbearers; i++) {
		if (!msg.bearers[i].has_cause)
			continue;
		printf("%s%u", first ? "" : ",", msg.bearers[i].cause);
		first = 0;
	}
	printf("]}\n");
}

static void on_event(void *ctx, enum mcp_session_event ev, const struct mcp_subscriber *sub,
		     uint64_t ts_ms)
{
	static const char *const names[] = { "ATTACH", "MODIFY", "DETACH", "REMOVE" };
	char u4[MCP_IP_STRLEN] = "";

	if (sub->has_ipv4)
		mcp_ip_str(&sub->ue_ipv4, u4);
	printf("{\"frame\":%llu,\"event\":\"%s\",\"imsi\":\"%s\",\"ue_v4\":\"%s\","
	       "\"ntunnels\":%u}\n",
	       (unsigned long long)*(uint64_t *)ctx, names[ev], sub->imsi, u4, sub->ntunnels);
}

/* --sessions: GTP-C into a session table, then every GTP-U T-PDU attributed through it. */
static void feed_sessions(struct mcp_sessions *s, uint64_t frame, const struct pcap_pkthdr *h,
			  const uint8_t *pl, size_t left)
{
	uint64_t ts_us = (uint64_t)h->ts.tv_sec * 1000000 + (uint64_t)h->ts.tv_usec;

	if (cur.dport == 2152 && cur.sport != 2123) {
		struct mcp_rd g = mcp_rd_init(pl, left);
		uint8_t flags = mcp_rd_u8(&g), type = mcp_rd_u8(&g), dir = 0;
		const struct mcp_subscriber *sub;
		char a[MCP_IP_STRLEN];
		uint32_t teid;

		mcp_rd_skip(&g, 2);
		teid = mcp_rd_be32(&g);
		if (g.err || (flags >> 5) != 1 || type != 0xff)
			return;
		sub = mcp_sessions_by_tunnel(s, teid, &cur.dst, &dir);
		printf("{\"frame\":%llu,\"gtpu\":1,\"teid\":%u,\"dst\":\"%s\",\"imsi\":\"%s\","
		       "\"dir\":%d}\n",
		       (unsigned long long)frame, teid, mcp_ip_str(&cur.dst, a),
		       sub ? sub->imsi : "", sub ? dir : -1);
		return;
	}
	if (cur.l4_proto != 17)
		return;
	cur.kind = MCP_PKT_GTPC;
	cur.ts_us = ts_us;
	cur.payload = pl;
	cur.payload_len = (uint32_t)left;
	mcp_sessions_expire(s, ts_us / 1000);
	mcp_sessions_expire_transactions(s, ts_us / 1000);
	mcp_sessions_handle_gtpc(s, &cur);
}

int main(int argc, char **argv)
{
	struct mcp_sessions *sessions = NULL;
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const uint8_t *data;
	uint64_t frame = 0;
	pcap_t *pc;
	int dlt;

	if (argc == 3 && !strcmp(argv[1], "--sessions")) {
		struct mcp_session_cfg cfg = { .on_event = on_event, .event_ctx = &frame };

		sessions = mcp_sessions_create(&cfg);
		if (!sessions)
			return 1;
		argv++;
		argc--;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: %s [--sessions] FILE.pcap\n", argv[0]);
		return 2;
	}
	pc = pcap_open_offline(argv[1], errbuf);
	if (!pc) {
		fprintf(stderr, "%s: %s\n", argv[1], errbuf);
		return 1;
	}
	dlt = pcap_datalink(pc);
	while (pcap_next_ex(pc, &h, &data) == 1) {
		struct mcp_rd r = mcp_rd_init(data, h->caplen);
		const uint8_t *pl;
		size_t left;
		uint16_t et;
		int idx, rc;

		frame++;
		et = link_walk(dlt, &r);
		if (!et || ip_walk(et, &r, &pl, &left, !!sessions) < 0)
			continue;
		if (sessions) {
			feed_sessions(sessions, frame, h, pl, left);
			continue;
		}
		for (idx = 0; idx < 2 && left; idx++) {
			rc = mcp_gtpc_decode(pl, left, &msg);
			print_msg(frame, idx, rc);
			if (rc < 0 || msg.version != 2 || !msg.piggyback)
				break;
			pl += rc;
			left -= (size_t)rc;
			if (!left)
				printf("{\"frame\":%llu,\"idx\":%d,\"version\":2,\"err\":\"%s\"}\n",
				       (unsigned long long)frame, idx + 1,
				       mcp_gtpc_bad_reason_name(MCP_GTPC_BAD_BAD_PIGGYBACK));
		}
	}
	pcap_close(pc);
	if (sessions) {
		const struct mcp_session_stats *st = mcp_sessions_stats(sessions);

		printf("{\"stats\":1,\"created\":%llu,\"modified\":%llu,\"deleted\":%llu,"
		       "\"unmatched\":%llu,\"rejected\":%llu,\"malformed\":%llu,"
		       "\"unknown_session\":%llu,\"discarded_ies\":%llu}\n",
		       (unsigned long long)st->created, (unsigned long long)st->modified,
		       (unsigned long long)st->deleted, (unsigned long long)st->unmatched_responses,
		       (unsigned long long)st->rejected_responses, (unsigned long long)st->malformed,
		       (unsigned long long)st->unknown_session,
		       (unsigned long long)st->discarded_ies);
		mcp_sessions_destroy(sessions);
	}
	return 0;
}
