/* test_control_pfcp.c - PFCP decoder (control/pfcp*.c) and the 5G session join
 * (session/session_5g*.c) on messages built here from TS 29.244 with known values.
 *
 * Establishment with User ID and a CHOOSE F-TEID resolved from the response's Created PDR,
 * modification with the gNB's F-TEID in an Update FAR, deletion; join by SBI identity when
 * the PFCP has no User ID, in both orders; malformed input: every prefix, IE overrun, grouped
 * IEs nested where they do not belong, bad version; unmatched, timed-out, unknown-SEID.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "control/pfcp.h"
#include "session/session_5g.h"

struct b {
	uint8_t d[1024];
	size_t n;
};

static void put(struct b *b, const void *p, size_t n)
{
	cr_assert_leq(b->n + n, sizeof(b->d));
	memcpy(b->d + b->n, p, n);
	b->n += n;
}

static void u8(struct b *b, uint8_t v)
{
	put(b, &v, 1);
}

static void u16(struct b *b, uint16_t v)
{
	u8(b, (uint8_t)(v >> 8));
	u8(b, (uint8_t)v);
}

static void u32(struct b *b, uint32_t v)
{
	u16(b, (uint16_t)(v >> 16));
	u16(b, (uint16_t)v);
}

/* IE header; returns the offset of its length field for end_ie(). */
static size_t ie(struct b *b, uint16_t type)
{
	size_t at;

	u16(b, type);
	at = b->n;
	u16(b, 0);
	return at;
}

static void end_ie(struct b *b, size_t at)
{
	uint16_t len = (uint16_t)(b->n - at - 2);

	b->d[at] = (uint8_t)(len >> 8);
	b->d[at + 1] = (uint8_t)len;
}

static void hdr(struct b *b, uint8_t type, uint64_t seid, uint32_t seq)
{
	b->n = 0;
	u8(b, 0x21); /* version 1, S */
	u8(b, type);
	u16(b, 0);
	u32(b, (uint32_t)(seid >> 32));
	u32(b, (uint32_t)seid);
	u8(b, (uint8_t)(seq >> 16));
	u16(b, (uint16_t)seq);
	u8(b, 0);
}

static void fin(struct b *b)
{
	b->d[2] = (uint8_t)((b->n - 4) >> 8);
	b->d[3] = (uint8_t)(b->n - 4);
}

static void fseid(struct b *b, uint64_t seid, uint8_t last)
{
	size_t a = ie(b, 57);

	u8(b, 0x02);
	u32(b, (uint32_t)(seid >> 32));
	u32(b, (uint32_t)seid);
	put(b, (uint8_t[]){ 192, 0, 2, last }, 4);
	end_ie(b, a);
}

/* Create PDR (id, source interface Access, F-TEID CHOOSE or teid@192.0.2.20, UE 10.0.0.9, QFI 5) */
static void pdr(struct b *b, uint16_t id, int choose, uint32_t teid)
{
	size_t a = ie(b, 1), p, x;

	x = ie(b, 56), u16(b, id), end_ie(b, x);
	p = ie(b, 2);
	x = ie(b, 20), u8(b, 0), end_ie(b, x);
	x = ie(b, 21);
	if (choose) {
		u8(b, 0x05);
	} else {
		u8(b, 0x01);
		u32(b, teid);
		put(b, (uint8_t[]){ 192, 0, 2, 20 }, 4);
	}
	end_ie(b, x);
	x = ie(b, 93), u8(b, 0x06), put(b, (uint8_t[]){ 10, 0, 0, 9 }, 4), end_ie(b, x);
	x = ie(b, 124), u8(b, 5), end_ie(b, x);
	end_ie(b, p);
	end_ie(b, a);
}

static void est_req(struct b *b, int with_user_id)
{
	size_t a;

	hdr(b, 50, 0, 1);
	fseid(b, 0x1122, 10);
	pdr(b, 1, 1, 0);
	a = ie(b, 3); /* Create FAR 1: to the access, no outer header yet */
	{
		size_t x = ie(b, 108), f;

		u32(b, 1), end_ie(b, x);
		f = ie(b, 4);
		x = ie(b, 42), u8(b, 0), end_ie(b, x);
		end_ie(b, f);
	}
	end_ie(b, a);
	if (with_user_id) {
		a = ie(b, 141);
		u8(b, 0x03);
		u8(b, 8), put(b, (uint8_t[]){ 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0xf1 }, 8);
		u8(b, 8), put(b, (uint8_t[]){ 0x34, 0x07, 0x18, 0x16, 0x52, 0x18, 0x16, 0x15 }, 8);
		end_ie(b, a);
	}
	a = ie(b, 159), u8(b, 3), put(b, "ims", 3), end_ie(b, a);
	fin(b);
}

static void est_rsp(struct b *b)
{
	size_t a, x;

	hdr(b, 51, 0x1122, 1);
	a = ie(b, 19), u8(b, 1), end_ie(b, a);
	fseid(b, 0x3344, 20);
	a = ie(b, 8); /* Created PDR 1: the UPF chose 0xabcd@192.0.2.20 */
	x = ie(b, 56), u16(b, 1), end_ie(b, x);
	x = ie(b, 21), u8(b, 0x01), u32(b, 0xabcd), put(b, (uint8_t[]){ 192, 0, 2, 20 }, 4);
	end_ie(b, x);
	end_ie(b, a);
	fin(b);
}

static void mod_req(struct b *b)
{
	size_t a = 0, x, f;

	hdr(b, 52, 0x3344, 2);
	a = ie(b, 10); /* Update FAR 1: outer header to the gNB, 0x77@192.0.2.30 */
	x = ie(b, 108), u32(b, 1), end_ie(b, x);
	f = ie(b, 11);
	x = ie(b, 84), u16(b, 0x0100), u32(b, 0x77), put(b, (uint8_t[]){ 192, 0, 2, 30 }, 4);
	end_ie(b, x);
	end_ie(b, f);
	end_ie(b, a);
	fin(b);
}

static void simple(struct b *b, uint8_t type, uint64_t seid, uint32_t seq, int cause)
{
	hdr(b, type, seid, seq);
	if (cause) {
		size_t a = ie(b, 19);

		u8(b, 1), end_ie(b, a);
	}
	fin(b);
}

static struct mcp_pfcp_msg m;

Test(pfcp, establishment_fields)
{
	struct b b;

	est_req(&b, 1);
	cr_assert_eq(mcp_pfcp_decode(b.d, b.n, &m), (int)b.n);
	cr_expect_eq(m.type, 50);
	cr_expect_eq(m.seq, 1);
	cr_expect_eq(m.fseid, 0x1122);
	cr_expect_str_eq(m.imsi, "001010000000001");
	cr_expect_str_eq(m.imei, "4370816125816151");
	cr_expect_str_eq(m.dnn, "ims");
	cr_assert_eq(m.npdr, 1);
	cr_expect(m.pdr[0].fteid.choose);
	cr_expect_eq(m.pdr[0].src_if, 0);
	cr_expect(m.pdr[0].has_ue_v4);
	cr_expect_eq(m.pdr[0].nqfi, 1);
	cr_expect_eq(m.pdr[0].qfi[0], 5);
	cr_assert_eq(m.nfar, 1);
	cr_expect_eq(m.far[0].dst_if, 0);
}

Test(pfcp, malformed)
{
	struct b b;
	uint8_t deep[64];
	size_t k = 0;

	est_req(&b, 1);
	for (size_t n = 0; n < b.n; n++)
		cr_expect_lt(mcp_pfcp_decode(b.d, n, &m), 0, "prefix %zu", n);
	b.d[20] = 0x7f; /* first IE length beyond the message */
	cr_expect_eq(mcp_pfcp_decode(b.d, b.n, &m), -EBADMSG);
	cr_expect_eq(m.bad_reason, MCP_PFCP_BAD_BAD_IE_LEN);
	/* Update FAR > Update Forwarding Parameters > Update FAR ...: grouped IEs are only
	 * entered where the spec puts them, so a nesting like this is skipped, not recursed */
	memcpy(deep, (uint8_t[]){ 0x20, 50, 0, 0, 0, 0, 1, 0 }, 8);
	k = 8;
	for (int i = 0; i < 6; i++) {
		deep[k++] = 0, deep[k++] = i & 1 ? 11 : 10;
		deep[k++] = 0, deep[k++] = (uint8_t)(4 * (5 - i));
	}
	deep[3] = (uint8_t)(k - 4);
	cr_expect_eq(mcp_pfcp_decode(deep, k, &m), (int)k);
	cr_expect_eq(m.unknown_ies, 1);
	deep[0] = 0x40; /* version 2 */
	cr_expect_eq(mcp_pfcp_decode(deep, k, &m), -EBADMSG);
	cr_expect_eq(m.bad_reason, MCP_PFCP_BAD_BAD_VERSION);
}

struct ev {
	int n[4];
	struct mcp_subscriber last;
};

static void on_event(void *ctx, enum mcp_session_event e, const struct mcp_subscriber *s,
		     uint64_t ts)
{
	struct ev *v = ctx;

	v->n[e]++;
	v->last = *s;
}

static struct mcp_sessions *mk(struct ev *v)
{
	struct mcp_session_cfg cfg = { .max_subscribers = 16, .on_event = on_event, .event_ctx = v };

	memset(v, 0, sizeof(*v));
	return mcp_sessions_create(&cfg);
}

static void send(struct mcp_s5g *g, const struct b *b, int from_upf, uint64_t ts)
{
	struct mcp_ip smf, upf;

	mcp_ip_from_v4(&smf, (uint8_t[]){ 192, 0, 2, 10 });
	mcp_ip_from_v4(&upf, (uint8_t[]){ 192, 0, 2, 20 });
	cr_assert_gt(mcp_pfcp_decode(b->d, b->n, &m), 0);
	mcp_s5g_pfcp_msg(g, &m, from_upf ? &upf : &smf, 8805, from_upf ? &smf : &upf, 8805, ts);
}

static int has_tunnel(const struct mcp_subscriber *s, uint32_t teid, uint8_t last, uint8_t dir)
{
	struct mcp_ip a;

	mcp_ip_from_v4(&a, (uint8_t[]){ 192, 0, 2, last });
	for (int i = 0; i < s->ntunnels; i++)
		if (s->tunnels[i].teid == teid && !mcp_ip_cmp(&s->tunnels[i].addr, &a) &&
		    s->tunnels[i].dir == dir)
			return 1;
	return 0;
}

Test(pfcp, session_join_by_user_id)
{
	struct ev v;
	struct mcp_sessions *s = mk(&v);
	struct mcp_s5g *g = mcp_s5g_create(s, 16, 1000);
	const struct mcp_subscriber *sub;
	struct mcp_ip ue, gnb;
	uint8_t dir;
	struct b b;

	est_req(&b, 1), send(g, &b, 0, 1000);
	est_rsp(&b), send(g, &b, 1, 1001);
	cr_assert_eq(v.n[MCP_EV_ATTACH], 1);
	sub = mcp_sessions_by_imsi(s, "001010000000001");
	cr_assert_not_null(sub);
	cr_expect_eq(sub->rat, MCP_RAT_NR);
	cr_expect_str_eq(sub->apn, "ims");
	cr_expect(has_tunnel(sub, 0xabcd, 20, MCP_DIR_UP), "CHOOSE resolved by the Created PDR");
	mcp_ip_from_v4(&ue, (uint8_t[]){ 10, 0, 0, 9 });
	cr_expect_eq(mcp_sessions_by_ue_ip(s, &ue), sub);
	mod_req(&b), send(g, &b, 0, 1002);
	simple(&b, 53, 0x1122, 2, 1), send(g, &b, 1, 1003);
	cr_expect(has_tunnel(sub, 0x77, 30, MCP_DIR_DOWN), "gNB F-TEID from the Update FAR");
	mcp_ip_from_v4(&gnb, (uint8_t[]){ 192, 0, 2, 30 });
	cr_expect_eq(mcp_sessions_by_tunnel(s, 0x77, &gnb, &dir), sub);
	cr_expect_eq(dir, MCP_DIR_DOWN);
	simple(&b, 54, 0x3344, 3, 0), send(g, &b, 0, 1004);
	simple(&b, 55, 0x1122, 3, 1), send(g, &b, 1, 1005);
	cr_expect_eq(v.n[MCP_EV_DETACH], 1);
	cr_expect_eq(mcp_s5g_stats(g)->pdu_deleted, 1);
	mcp_s5g_destroy(g);
	mcp_sessions_destroy(s);
}

static void sbi_ident(struct mcp_sbi_ident *id)
{
	memset(id, 0, sizeof(*id));
	strcpy(id->imsi, "001010000000002");
	strcpy(id->dnn, "internet");
	mcp_ip_from_v4(&id->ue_v4, (uint8_t[]){ 10, 0, 0, 9 });
	id->has_ue_v4 = 1;
}

Test(pfcp, session_join_by_sbi_in_both_orders)
{
	struct mcp_sbi_ident id;
	struct ev v;
	struct b b;

	for (int sbi_first = 0; sbi_first < 2; sbi_first++) {
		struct mcp_sessions *s = mk(&v);
		struct mcp_s5g *g = mcp_s5g_create(s, 16, 1000);

		sbi_ident(&id);
		if (sbi_first)
			mcp_s5g_sbi_ident(g, &id, 999);
		est_req(&b, 0), send(g, &b, 0, 1000);
		est_rsp(&b), send(g, &b, 1, 1001);
		cr_expect_eq(v.n[MCP_EV_ATTACH], sbi_first, "attributed at once when SBI came first");
		if (!sbi_first) {
			cr_expect_eq(mcp_s5g_stats(g)->pdu_without_sub, 1);
			mcp_s5g_sbi_ident(g, &id, 1002);
		}
		cr_expect_eq(v.n[MCP_EV_ATTACH], 1, "sbi_first %d", sbi_first);
		cr_expect_str_eq(v.last.imsi, "001010000000002");
		cr_expect_str_eq(v.last.apn, "internet");
		cr_expect(has_tunnel(&v.last, 0xabcd, 20, MCP_DIR_UP));
		mcp_s5g_destroy(g);
		mcp_sessions_destroy(s);
	}
}

Test(pfcp, unmatched_and_rejected)
{
	struct ev v;
	struct mcp_sessions *s = mk(&v);
	struct mcp_s5g *g = mcp_s5g_create(s, 16, 1000);
	struct b b;

	est_rsp(&b), send(g, &b, 1, 1000);
	cr_expect_eq(mcp_s5g_stats(g)->unmatched_responses, 1);
	est_req(&b, 1), send(g, &b, 0, 1000);
	est_rsp(&b), send(g, &b, 1, 5000); /* past the 1 s transaction timeout */
	cr_expect_eq(mcp_s5g_stats(g)->timed_out, 1);
	simple(&b, 54, 0x9999, 7, 0), send(g, &b, 0, 6000);
	simple(&b, 55, 0x1122, 7, 1), send(g, &b, 1, 6001);
	cr_expect_eq(mcp_s5g_stats(g)->unknown_seid, 1);
	cr_expect_eq(v.n[MCP_EV_ATTACH], 0);
	mcp_s5g_destroy(g);
	mcp_sessions_destroy(s);
}
