/* test_pipeline_tunnel_attrs.c - the dispatcher's tunnel cache (pipeline/tunnel_attrs.h):
 * an answer comes back for its key at its epoch only. */
#include <criterion/criterion.h>
#include <string.h>

#include "pipeline/tunnel_attrs.h"

static struct mcp_ip v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	uint8_t x[4] = { a, b, c, d };
	struct mcp_ip ip;

	mcp_ip_from_v4(&ip, x);
	return ip;
}

static struct mcp_attrib answer(uint32_t sub_id, const char *imsi, int provisional)
{
	struct mcp_attrib a;

	memset(&a, 0, sizeof(a));
	a.has_sub = 1;
	a.src_is_up = 0;
	a.provisional = (uint8_t)provisional;
	a.sub_id = sub_id;
	a.changed_ms = 123456789;
	strcpy(a.imsi, imsi);
	return a;
}

Test(tunnel_attrs, answer_for_its_key_and_epoch_only)
{
	struct mcp_tunnel_attrs *t = mcp_tunnel_attrs_create(1024);
	struct mcp_ip enb = v4(10, 0, 2, 1), other = v4(10, 0, 2, 2);
	struct mcp_attrib in = answer(42, "001010000000042", 1), out;

	cr_assert_not_null(t);
	cr_expect_eq(mcp_tunnel_attrs_get(t, 0x66666666, &enb, 0, &out), 0, "empty");
	mcp_tunnel_attrs_put(t, 0x66666666, &enb, 7, &in);
	cr_assert_eq(mcp_tunnel_attrs_get(t, 0x66666666, &enb, 7, &out), 1);
	cr_expect_eq(out.has_sub, 1);
	cr_expect_eq(out.src_is_up, 0);
	cr_expect_eq(out.provisional, 1);
	cr_expect_eq(out.sub_id, 42);
	cr_expect_eq(out.changed_ms, 123456789);
	cr_expect_str_eq(out.imsi, "001010000000042");
	cr_expect_eq(out.user_side, 0);
	cr_expect_null(out.user);
	cr_expect_eq(mcp_tunnel_attrs_get(t, 0x66666666, &enb, 8, &out), 0, "the table moved on");
	cr_expect_eq(mcp_tunnel_attrs_get(t, 0x66666667, &enb, 7, &out), 0, "another TEID");
	cr_expect_eq(mcp_tunnel_attrs_get(t, 0x66666666, &other, 7, &out), 0, "another address");
	mcp_tunnel_attrs_destroy(t);
}

Test(tunnel_attrs, a_key_sharing_the_slot_replaces_the_old_answer)
{
	struct mcp_tunnel_attrs *t = mcp_tunnel_attrs_create(1); /* 64 slots */
	struct mcp_ip enb = v4(10, 0, 2, 1);
	struct mcp_attrib a = answer(1, "001010000000001", 0), out;
	uint32_t teid, hits = 0;

	cr_assert_not_null(t);
	for (teid = 1; teid <= 1000; teid++) {
		a.sub_id = teid;
		mcp_tunnel_attrs_put(t, teid, &enb, 3, &a);
	}
	for (teid = 1; teid <= 1000; teid++)
		if (mcp_tunnel_attrs_get(t, teid, &enb, 3, &out)) {
			cr_expect_eq(out.sub_id, teid, "a slot answers for its own key");
			hits++;
		}
	cr_expect_leq(hits, 64);
	cr_expect_geq(hits, 1);
	cr_expect_eq(mcp_tunnel_attrs_get(t, 1000, &enb, 3, &out), 1, "the last put stays");
	mcp_tunnel_attrs_destroy(t);
}
