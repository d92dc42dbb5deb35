/* test_decode.c - Criterion tests of the frame decoder (userspace/decode*.c).
 *
 * The frames come from tests/gen_decode_cases.py (scapy), with the values they were built
 * from as expectations: every layer, every GTP-U variant, every malformed variant, and
 * reassembly sequences. Every prefix of every frame is decoded too (copied to a buffer of
 * exactly that size, so ASan sees any over-read).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode/decode.h"

struct dc_exp {
	int64_t kind, reason, vlan, tunnel, gtpu_msg, teid, qfi, pdu_type, flags_set, flags_clear,
		ip_version, l4_proto, tcp_flags, sport, dport, outer_ip_version, outer_sport,
		outer_dport, ip_len, payload_len;
	const char *src, *dst, *outer_src, *outer_dst, *layer, *payload_head;
};

struct dc_case {
	const char *name;
	int dlt;
	const uint8_t *buf;
	uint32_t len, wire_len;
	uint64_t ts;
	struct dc_exp e;
};

struct dc_seq {
	const char *name;
	uint32_t max_frags, timeout_ms;
	const struct dc_case *frames;
	int n;
	uint64_t frag_dropped;
};

#include "data/decode_cases.h"

#define NCASES (sizeof(dc_cases) / sizeof(dc_cases[0]))
#define NSEQS (sizeof(dc_seqs) / sizeof(dc_seqs[0]))

static int layer_index(const char *name)
{
	int i;

	for (i = 0; i < MCP_LAYER__MAX; i++)
		if (!strcmp(mcp_layer_name(i), name))
			return i;
	return -1;
}

#define EXPECT_NUM(field, actual)                                                               \
	do {                                                                                    \
		if (e->field >= 0)                                                              \
			cr_expect_eq((int64_t)(actual), e->field,                               \
				     "%s: " #field " = %lld, want %lld", c->name,               \
				     (long long)(actual), (long long)e->field);                 \
	} while (0)

static void expect_ip(const char *name, const char *what, const char *want,
		      const struct mcp_ip *got)
{
	struct mcp_ip w;
	char buf[MCP_IP_STRLEN];

	if (!want)
		return;
	cr_assert_eq(mcp_ip_parse(&w, want), 0, "%s: bad expected address %s", name, want);
	cr_expect(!mcp_ip_cmp(&w, got), "%s: %s = %s, want %s", name, what, mcp_ip_str(got, buf),
		  want);
}

/* Decodes c with d and checks every expectation; returns the kind. */
static int check_case(struct mcp_decoder *d, const struct dc_case *c)
{
	const struct dc_exp *e = &c->e;
	uint64_t before = 0;
	struct mcp_pkt pkt;
	int li = -1, k;

	if (e->layer) {
		li = layer_index(e->layer);
		cr_assert_geq(li, 0, "%s: unknown layer name %s", c->name, e->layer);
		before = mcp_decoder_stats(d)->layer[li];
	}
	k = mcp_decode(d, c->dlt, c->buf, c->len, c->wire_len, c->ts, &pkt);
	cr_expect_eq(k, pkt.kind, "%s: return %d != pkt.kind %d", c->name, k, pkt.kind);
	cr_expect_eq(pkt.wire_len, c->wire_len, "%s: wire_len", c->name);
	cr_expect_eq(pkt.ts_us, c->ts, "%s: ts_us", c->name);
	if (e->kind >= 0 && k != e->kind)
		cr_expect_fail("%s: kind %d (reason %s), want %lld", c->name, k,
			       k == MCP_PKT_MALFORMED ? mcp_parse_reason_name(pkt.reason) : "-",
			       (long long)e->kind);
	if (e->reason >= 0)
		cr_expect_eq(pkt.reason, e->reason, "%s: reason %s, want %s", c->name,
			     mcp_parse_reason_name(pkt.reason), mcp_parse_reason_name(e->reason));
	EXPECT_NUM(vlan, pkt.vlan);
	EXPECT_NUM(tunnel, pkt.tunnel);
	EXPECT_NUM(gtpu_msg, pkt.gtpu_msg);
	EXPECT_NUM(teid, pkt.teid);
	EXPECT_NUM(qfi, pkt.qfi);
	EXPECT_NUM(pdu_type, pkt.pdu_type);
	EXPECT_NUM(ip_version, pkt.ip_version);
	EXPECT_NUM(l4_proto, pkt.l4_proto);
	EXPECT_NUM(tcp_flags, pkt.tcp_flags);
	EXPECT_NUM(sport, pkt.sport);
	EXPECT_NUM(dport, pkt.dport);
	EXPECT_NUM(outer_ip_version, pkt.outer_ip_version);
	EXPECT_NUM(outer_sport, pkt.outer_sport);
	EXPECT_NUM(outer_dport, pkt.outer_dport);
	EXPECT_NUM(ip_len, pkt.ip_len);
	EXPECT_NUM(payload_len, pkt.payload_len);
	if (e->flags_set >= 0)
		cr_expect_eq(pkt.flags & e->flags_set, e->flags_set, "%s: flags 0x%x lack 0x%llx",
			     c->name, pkt.flags, (long long)e->flags_set);
	if (e->flags_clear >= 0)
		cr_expect_eq(pkt.flags & e->flags_clear, 0, "%s: flags 0x%x have 0x%llx", c->name,
			     pkt.flags, (long long)e->flags_clear);
	expect_ip(c->name, "src", e->src, &pkt.src);
	expect_ip(c->name, "dst", e->dst, &pkt.dst);
	expect_ip(c->name, "outer_src", e->outer_src, &pkt.outer_src);
	expect_ip(c->name, "outer_dst", e->outer_dst, &pkt.outer_dst);
	if (e->payload_head) {
		size_t n = strlen(e->payload_head) / 2, i;
		char hex[64] = "";

		cr_assert(pkt.payload && pkt.payload_len >= n, "%s: payload missing", c->name);
		for (i = 0; i < n && i < 31; i++)
			snprintf(hex + 2 * i, 3, "%02x", pkt.payload[i]);
		cr_expect_str_eq(hex, e->payload_head, "%s: payload starts %s, want %s", c->name,
				 hex, e->payload_head);
	}
	if (li >= 0)
		cr_expect_gt(mcp_decoder_stats(d)->layer[li], before, "%s: layer %s not counted",
			     c->name, e->layer);
	if (k == MCP_PKT_USER && pkt.l3 && !(pkt.flags & MCP_PKTF_REASSEMBLED))
		cr_expect(pkt.l3 >= c->buf && pkt.l3 + pkt.l3_caplen <= c->buf + c->len,
			  "%s: l3 outside the frame", c->name);
	return k;
}

Test(decode, cases_by_construction)
{
	struct mcp_decoder *d = mcp_decoder_create(NULL);
	size_t i;

	cr_assert_not_null(d);
	cr_assert_gt(NCASES, 100);
	for (i = 0; i < NCASES; i++)
		check_case(d, &dc_cases[i]);
	mcp_decoder_destroy(d);
}

Test(decode, reassembly_sequences)
{
	size_t i;
	int j;

	for (i = 0; i < NSEQS; i++) {
		const struct dc_seq *s = &dc_seqs[i];
		struct mcp_decoder_cfg cfg = { .max_frags = s->max_frags,
					       .frag_timeout_ms = s->timeout_ms };
		struct mcp_decoder *d = mcp_decoder_create(&cfg);

		cr_assert_not_null(d);
		for (j = 0; j < s->n; j++) {
			struct dc_case c = s->frames[j];
			char name[128];

			snprintf(name, sizeof(name), "%s/%s", s->name, c.name);
			c.name = name;
			check_case(d, &c);
		}
		uint64_t dropped = mcp_decoder_stats(d)->malformed[MCP_PARSE_FRAG_DROPPED];

		cr_expect_eq(dropped, s->frag_dropped, "%s: FRAG_DROPPED %llu, want %llu", s->name,
			     (unsigned long long)dropped, (unsigned long long)s->frag_dropped);
		mcp_decoder_destroy(d);
	}
}

static int is_trunc_reason(int r)
{
	switch (r) {
	case MCP_PARSE_TRUNC_LINK:
	case MCP_PARSE_TRUNC_VLAN:
	case MCP_PARSE_TRUNC_MPLS:
	case MCP_PARSE_TRUNC_PPPOE:
	case MCP_PARSE_TRUNC_IP4:
	case MCP_PARSE_TRUNC_IP6:
	case MCP_PARSE_TRUNC_L4:
	case MCP_PARSE_TRUNC_GTPU:
	case MCP_PARSE_FRAG_DROPPED: /* a cut fragment can never complete */
		return 1;
	default:
		return 0;
	}
}

/* Every prefix of c: no crash, no over-read, sane result; a cut frame is never "invalid". */
static void check_prefixes(struct mcp_decoder *d, const struct dc_case *c, int full_kind)
{
	uint32_t n;

	for (n = 0; n <= c->len; n++) {
		uint8_t *b = malloc(n ? n : 1);
		struct mcp_pkt pkt;
		int k;

		cr_assert_not_null(b);
		memcpy(b, c->buf, n);
		k = mcp_decode(d, c->dlt, b, n, c->wire_len, c->ts, &pkt);
		cr_assert(k >= MCP_PKT_USER && k <= MCP_PKT_MALFORMED, "%s[%u]: kind %d", c->name,
			  n, k);
		if (k == MCP_PKT_MALFORMED) {
			cr_assert_lt(pkt.reason, MCP_PARSE__MAX, "%s[%u]: reason", c->name, n);
			if (n < c->len && full_kind != MCP_PKT_MALFORMED)
				cr_expect(is_trunc_reason(pkt.reason),
					  "%s[%u]: cut frame reported as %s", c->name, n,
					  mcp_parse_reason_name(pkt.reason));
		}
		if (!(pkt.flags & MCP_PKTF_REASSEMBLED)) {
			if (pkt.payload)
				cr_assert(pkt.payload >= b &&
						  pkt.payload + pkt.payload_len <= b + n,
					  "%s[%u]: payload outside the frame", c->name, n);
			if (pkt.l3)
				cr_assert(pkt.l3 >= b && pkt.l3 + pkt.l3_caplen <= b + n,
					  "%s[%u]: l3 outside the frame", c->name, n);
		}
		free(b);
	}
}

Test(decode, every_prefix)
{
	struct mcp_decoder *d = mcp_decoder_create(NULL);
	struct mcp_pkt pkt;
	size_t i;
	int j;

	cr_assert_not_null(d);
	for (i = 0; i < NCASES; i++) {
		const struct dc_case *c = &dc_cases[i];
		int k = mcp_decode(d, c->dlt, c->buf, c->len, c->wire_len, c->ts, &pkt);

		/* a frame that is itself cut has no "valid full frame" to compare with */
		check_prefixes(d, c, c->len == c->wire_len ? k : MCP_PKT_MALFORMED);
	}
	for (i = 0; i < NSEQS; i++)
		for (j = 0; j < dc_seqs[i].n; j++)
			check_prefixes(d, &dc_seqs[i].frames[j], MCP_PKT_MALFORMED);
	mcp_decoder_destroy(d);
}

Test(decode, huge_wire_len_and_null_frame)
{
	struct mcp_decoder *d = mcp_decoder_create(NULL);
	const struct dc_case *c = &dc_cases[0];
	struct mcp_pkt pkt;

	cr_assert_eq(mcp_decode(d, c->dlt, c->buf, c->len, 0x80000000u, 1, &pkt), MCP_PKT_USER);
	cr_expect_eq(pkt.wire_len, 0x80000000u);
	cr_assert_eq(mcp_decode(d, c->dlt, c->buf, c->len, UINT32_MAX, 1, &pkt), MCP_PKT_USER);
	cr_assert_eq(mcp_decode(d, 1, NULL, 0, 0, 0, &pkt), MCP_PKT_MALFORMED);
	cr_expect_eq(pkt.reason, MCP_PARSE_TRUNC_LINK);
	cr_assert_eq(mcp_decode(d, 12, NULL, 0, 0, 0, &pkt), MCP_PKT_MALFORMED);
	mcp_decoder_destroy(d);
}

Test(decode, counters_and_names)
{
	struct mcp_decoder *d = mcp_decoder_create(NULL);
	const struct mcp_decode_stats *st = mcp_decoder_stats(d);
	struct mcp_pkt pkt;
	size_t i;
	int a, b;

	for (a = 0; a < MCP_LAYER__MAX; a++) {
		cr_assert_str_neq(mcp_layer_name(a), "?");
		for (b = 0; b < a; b++)
			cr_expect_str_neq(mcp_layer_name(a), mcp_layer_name(b));
	}
	for (a = 0; a < MCP_PARSE__MAX; a++)
		cr_assert_str_neq(mcp_parse_reason_name(a), "?");
	cr_expect_str_eq(mcp_layer_name(MCP_LAYER_GTPU_TPDU), "GTPU_TPDU");
	cr_expect_str_eq(mcp_parse_reason_name(MCP_PARSE_BAD_GTPU_INNER), "BAD_GTPU_INNER");
	cr_expect_str_eq(mcp_layer_name(MCP_LAYER__MAX), "?");
	cr_expect_str_eq(mcp_parse_reason_name(MCP_PARSE__MAX), "?");

	/* Each malformed case counts its reason exactly once. */
	for (i = 0; i < NCASES; i++) {
		const struct dc_case *c = &dc_cases[i];
		uint64_t before;

		if (c->e.kind != MCP_PKT_MALFORMED || c->e.reason < 0)
			continue;
		before = st->malformed[c->e.reason];
		mcp_decode(d, c->dlt, c->buf, c->len, c->wire_len, c->ts, &pkt);
		cr_expect_eq(st->malformed[c->e.reason], before + 1, "%s: %s not counted once",
			     c->name, mcp_parse_reason_name(c->e.reason));
	}
	mcp_decoder_destroy(d);
}

Test(decode, linktypes)
{
	static const int ok[] = { 0, 1, 12, 101, 108, 113, 228, 229, 276 };
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		cr_expect_eq(mcp_decode_linktype_supported(ok[i]), 0, "dlt %d", ok[i]);
	cr_expect_eq(mcp_decode_linktype_supported(105), -EPROTONOSUPPORT);
	cr_expect_eq(mcp_decode_linktype_supported(-1), -EPROTONOSUPPORT);
}

Test(decode, custom_ports)
{
	struct mcp_decoder_cfg cfg = { .gtpu_port = 9999 };
	struct mcp_decoder *d = mcp_decoder_create(&cfg);
	struct mcp_pkt pkt;
	size_t i;

	for (i = 0; i < NCASES; i++)
		if (!strcmp(dc_cases[i].name, "gtpu_basic"))
			break;
	cr_assert_lt(i, NCASES);
	/* 2152 is no longer the GTP-U port: plain UDP. */
	cr_expect_eq(mcp_decode(d, 1, dc_cases[i].buf, dc_cases[i].len, dc_cases[i].len, 0, &pkt),
		     MCP_PKT_USER);
	cr_expect_eq(pkt.tunnel, MCP_TUN_NONE);
	cr_expect_eq(pkt.l4_proto, 17);
	mcp_decoder_destroy(d);
}

/* The Ethernet frame's first IP header, after VLAN tags; 0 when something else comes first. */
static uint32_t eth_ip_offset(const uint8_t *b, uint32_t len)
{
	uint32_t off = 12;

	while (off + 2 <= len && b[off] == 0x81 && b[off + 1] == 0x00)
		off += 4;
	if (off + 2 > len)
		return 0;
	if ((b[off] == 0x08 && b[off + 1] == 0x00) || (b[off] == 0x86 && b[off + 1] == 0xdd))
		return off + 2;
	return 0;
}

/* The entry at the inner header (live mode, XDP metadata) gives the packet the full decode
 * gives, for every T-PDU case, when handed the offsets and fields XDP would write. */
Test(decode, tpdu_at_inner_header_equals_full_decode)
{
	struct mcp_decoder *full = mcp_decoder_create(NULL), *fast = mcp_decoder_create(NULL);
	size_t i, compared = 0;

	cr_assert(full && fast);
	for (i = 0; i < NCASES; i++) {
		const struct dc_case *c = &dc_cases[i];
		struct mcp_pkt a, b;
		struct mcp_tpdu_hint h = { 0 };
		int k;

		if (c->dlt != 1)
			continue;
		k = mcp_decode(full, c->dlt, c->buf, c->len, c->wire_len, c->ts, &a);
		if (k != MCP_PKT_USER || a.tunnel != MCP_TUN_GTPU ||
		    (a.flags & MCP_PKTF_REASSEMBLED) || !(h.outer_l3 = eth_ip_offset(c->buf, c->len)))
			continue;
		h.inner_l3 = (uint16_t)(a.l3 - c->buf);
		h.vlan = a.vlan;
		h.teid = a.teid;
		h.qfi = a.qfi;
		h.has_qfi = !!(a.flags & MCP_PKTF_GTPU_QFI);
		k = mcp_decode_tpdu_at(fast, c->buf, c->len, c->wire_len, c->ts, &h, &b);
		cr_expect_eq(k, MCP_PKT_USER, "%s: kind %d", c->name, k);
		cr_expect(a.l3 == b.l3 && a.l3_caplen == b.l3_caplen && a.ip_len == b.ip_len,
			  "%s: inner IP", c->name);
		cr_expect(!memcmp(&a.src, &b.src, sizeof(a.src)) &&
			  !memcmp(&a.dst, &b.dst, sizeof(a.dst)), "%s: inner addresses", c->name);
		cr_expect(!memcmp(&a.outer_src, &b.outer_src, sizeof(a.outer_src)) &&
			  !memcmp(&a.outer_dst, &b.outer_dst, sizeof(a.outer_dst)) &&
			  a.outer_ip_version == b.outer_ip_version, "%s: outer addresses", c->name);
		cr_expect(a.sport == b.sport && a.dport == b.dport && a.l4_proto == b.l4_proto &&
			  a.tcp_flags == b.tcp_flags && a.ip_version == b.ip_version,
			  "%s: inner L4", c->name);
		cr_expect(a.payload == b.payload && a.payload_len == b.payload_len,
			  "%s: payload", c->name);
		cr_expect(a.teid == b.teid && a.vlan == b.vlan && a.qfi == b.qfi &&
			  a.tunnel == b.tunnel && a.gtpu_msg == b.gtpu_msg && a.flags == b.flags &&
			  a.wire_len == b.wire_len && a.ts_us == b.ts_us, "%s: tunnel fields", c->name);
		compared++;
	}
	cr_expect_gt(compared, 10, "only %zu T-PDU cases", compared);
	mcp_decoder_destroy(full);
	mcp_decoder_destroy(fast);
}

/* Offsets that do not fit the frame: nothing decoded, nothing counted (-1). */
Test(decode, tpdu_at_rejects_offsets_outside_the_frame)
{
	struct mcp_decoder *d = mcp_decoder_create(NULL);
	uint8_t frame[60] = { 0 };
	struct mcp_tpdu_hint h = { .outer_l3 = 14, .inner_l3 = 50 };
	struct mcp_pkt pkt;
	uint64_t before = 0, after = 0;

	cr_assert_not_null(d);
	frame[14] = 0x45;
	for (int i = 0; i < MCP_LAYER__MAX; i++)
		before += mcp_decoder_stats(d)->layer[i];
	cr_expect_eq(mcp_decode_tpdu_at(d, frame, 40, 40, 0, &h, &pkt), -1, "inner_l3 past caplen");
	h.inner_l3 = 10;
	cr_expect_eq(mcp_decode_tpdu_at(d, frame, 60, 60, 0, &h, &pkt), -1, "inner before outer");
	h = (struct mcp_tpdu_hint){ .outer_l3 = 14, .inner_l3 = 50 };
	frame[14] = 0x15; /* not IPv4 or IPv6 */
	cr_expect_eq(mcp_decode_tpdu_at(d, frame, 60, 60, 0, &h, &pkt), -1, "outer not IP");
	cr_expect_eq(mcp_decode_tpdu_at(d, NULL, 60, 60, 0, &h, &pkt), -1, "no frame");
	for (int i = 0; i < MCP_LAYER__MAX; i++)
		after += mcp_decoder_stats(d)->layer[i];
	cr_expect_eq(after, before, "layers counted");
	mcp_decoder_destroy(d);
}
