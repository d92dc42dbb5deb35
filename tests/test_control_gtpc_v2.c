/* test_control_gtpc_v2.c - GTPv2-C decoder (TS 29.274) on scapy-built messages with known values
 * (tests/gen_gtpc_cases.py -> tests/data/gtpc_cases.h, verified clean by tshark). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>

#include "gtpc_test_util.h"

static void assert_fteid(const struct mcp_gtpc_fteid *f, uint8_t iface, uint32_t teid,
			 const char *v4, uint8_t inst)
{
	cr_assert_eq(f->iface, iface, "iface %u", f->iface);
	cr_assert_eq(f->teid, teid, "teid %#x", f->teid);
	cr_assert_eq(f->instance, inst);
	cr_assert(f->has_v4);
	assert_ip(&f->v4, v4);
}

Test(gtpc_v2, create_session_request)
{
	const struct gtpc_case *c = gtpc_case_get("v2_csr");

	cr_assert_eq(dec("v2_csr"), (int)c->len);
	cr_assert_eq(msg.version, 2);
	cr_assert_eq(msg.type, MCP_GTP2_CREATE_SESSION_REQ);
	cr_assert(msg.has_teid);
	cr_assert_eq(msg.teid, 0);
	cr_assert_eq(msg.seq, 0x000101);
	cr_assert_str_eq(msg.imsi, "001010123456789");
	cr_assert_str_eq(msg.msisdn, "33612345678");
	cr_assert_str_eq(msg.imei, "3534900698733015");
	cr_assert_str_eq(msg.apn, "internet.mnc001.mcc001.gprs");
	cr_assert_str_eq(msg.serving_net, "00101");
	cr_assert(msg.has_rat);
	cr_assert_eq(msg.rat, 6);
	cr_assert(msg.has_uli);
	cr_assert_eq(msg.tac, 1);
	cr_assert_eq(msg.eci, 0x101);
	cr_assert(msg.has_recovery);
	cr_assert_eq(msg.recovery, 3);
	cr_assert_eq(msg.pdn_type, 1);
	cr_assert_eq(msg.nctrl, 2);
	assert_fteid(&msg.ctrl[0], MCP_GTPC_IFACE_S11_MME, 0x11111111, "10.0.0.1", 0);
	assert_fteid(&msg.ctrl[1], MCP_GTPC_IFACE_S5C_PGW, 0, "10.0.0.3", 1);
	cr_assert_eq(msg.nbearers, 1);
	cr_assert_eq(msg.bearers[0].ebi, 5);
	cr_assert_eq(msg.bearers[0].nfteid, 0);
	cr_assert_eq(msg.unknown_ies, 0);
}

Test(gtpc_v2, create_session_response)
{
	cr_assert_gt(dec("v2_csrsp"), 0);
	cr_assert_eq(msg.type, MCP_GTP2_CREATE_SESSION_RSP);
	cr_assert_eq(msg.teid, 0x11111111);
	cr_assert(msg.has_cause);
	cr_assert_eq(msg.cause, 16);
	cr_assert(mcp_gtpc_cause_accepted(2, msg.cause));
	assert_fteid(&msg.ctrl[0], MCP_GTPC_IFACE_S11_SGW, 0x22222222, "10.0.0.2", 0);
	assert_fteid(&msg.ctrl[1], MCP_GTPC_IFACE_S5C_PGW, 0x33333333, "10.0.0.3", 1);
	cr_assert(msg.has_ue_v4);
	assert_ip(&msg.ue_v4, "10.45.0.7");
	cr_assert_eq(msg.nbearers, 1);
	cr_assert_eq(msg.bearers[0].instance, 0);
	cr_assert_eq(msg.bearers[0].ebi, 5);
	cr_assert(msg.bearers[0].has_cause);
	cr_assert_eq(msg.bearers[0].cause, 16);
	cr_assert_eq(msg.bearers[0].nfteid, 2);
	assert_fteid(&msg.bearers[0].fteid[0], MCP_GTPC_IFACE_S1U_SGW, 0x44444444, "10.0.1.2", 0);
	assert_fteid(&msg.bearers[0].fteid[1], MCP_GTPC_IFACE_S5U_PGW, 0x55555555, "10.0.1.3", 2);
}

Test(gtpc_v2, rejected_response)
{
	cr_assert_gt(dec("v2_csrsp_rej"), 0);
	cr_assert_eq(msg.cause, 73);
	cr_assert_not(mcp_gtpc_cause_accepted(2, msg.cause));
	cr_assert_eq(msg.nbearers, 0);
}

Test(gtpc_v2, modify_bearer)
{
	cr_assert_gt(dec("v2_mbr"), 0);
	cr_assert_eq(msg.type, MCP_GTP2_MODIFY_BEARER_REQ);
	cr_assert_eq(msg.teid, 0x22222222);
	cr_assert_eq(msg.nbearers, 1);
	cr_assert_eq(msg.bearers[0].ebi, 5);
	assert_fteid(&msg.bearers[0].fteid[0], MCP_GTPC_IFACE_S1U_ENB, 0x66666666, "10.0.2.1", 0);
	cr_assert_gt(dec("v2_mbrsp"), 0);
	cr_assert_eq(msg.type, MCP_GTP2_MODIFY_BEARER_RSP);
	assert_fteid(&msg.bearers[0].fteid[0], MCP_GTPC_IFACE_S1U_SGW, 0x44444444, "10.0.1.2", 0);
}

Test(gtpc_v2, create_bearer)
{
	cr_assert_gt(dec("v2_cbr"), 0);
	cr_assert_eq(msg.type, MCP_GTP2_CREATE_BEARER_REQ);
	cr_assert(msg.has_lbi);
	cr_assert_eq(msg.lbi, 5);
	cr_assert_eq(msg.bearers[0].ebi, 0);
	cr_assert_eq(msg.bearers[0].nfteid, 2);
	assert_fteid(&msg.bearers[0].fteid[1], MCP_GTPC_IFACE_S5U_PGW, 0x99999999, "10.0.1.3", 1);
	cr_assert_gt(dec("v2_cbrsp"), 0);
	cr_assert_eq(msg.bearers[0].ebi, 6);
	assert_fteid(&msg.bearers[0].fteid[0], MCP_GTPC_IFACE_S1U_ENB, 0xaaaaaaaa, "10.0.2.1", 0);
}

Test(gtpc_v2, update_delete_bearer_release)
{
	cr_assert_gt(dec("v2_ubr"), 0);
	cr_assert_eq(msg.type, MCP_GTP2_UPDATE_BEARER_REQ);
	cr_assert_eq(msg.bearers[0].ebi, 6);
	cr_assert_gt(dec("v2_dbr"), 0);
	cr_assert_eq(msg.type, MCP_GTP2_DELETE_BEARER_REQ);
	cr_assert_not(msg.has_lbi);
	cr_assert_eq(msg.nebis, 1);
	cr_assert_eq(msg.ebis[0], 6);
	cr_assert_gt(dec("v2_dbrsp"), 0);
	cr_assert_eq(msg.bearers[0].cause, 16);
	cr_assert_gt(dec("v2_rabr"), 0);
	cr_assert_eq(msg.type, MCP_GTP2_RELEASE_AB_REQ);
	cr_assert_eq(msg.teid, 0x22222222);
	cr_assert_gt(dec("v2_rabrsp"), 0);
	cr_assert_eq(msg.cause, 16);
}

Test(gtpc_v2, delete_session_and_echo)
{
	cr_assert_gt(dec("v2_dsr"), 0);
	cr_assert_eq(msg.type, MCP_GTP2_DELETE_SESSION_REQ);
	cr_assert(msg.has_lbi);
	cr_assert_eq(msg.lbi, 5);
	cr_assert_gt(dec("v2_dsrsp"), 0);
	cr_assert_eq(msg.type, MCP_GTP2_DELETE_SESSION_RSP);
	cr_assert_gt(dec("v2_echo"), 0);
	cr_assert_eq(msg.type, MCP_GTP2_ECHO_REQ);
	cr_assert_not(msg.has_teid);
	cr_assert_eq(msg.seq, 1);
	cr_assert_eq(msg.recovery, 3);
}

Test(gtpc_v2, dual_stack_paa_and_ipv6_fteid)
{
	cr_assert_gt(dec("v2_csrsp_v6"), 0);
	cr_assert_eq(msg.pdn_type, 3);
	cr_assert(msg.has_ue_v4 && msg.has_ue_v6);
	assert_ip(&msg.ue_v4, "10.45.0.6");
	assert_ip(&msg.ue_v6, "2001:db8:1::");
	cr_assert_eq(msg.ue_v6_plen, 64);
	cr_assert_eq(msg.bearers[0].fteid[0].iface, MCP_GTPC_IFACE_S1U_SGW);
	cr_assert(msg.bearers[0].fteid[0].has_v6);
	cr_assert_not(msg.bearers[0].fteid[0].has_v4);
	assert_ip(&msg.bearers[0].fteid[0].v6, "2001:db8:ff::2");
	cr_assert(msg.bearers[0].fteid[1].has_v4 && msg.bearers[0].fteid[1].has_v6);
	assert_ip(&msg.bearers[0].fteid[1].v4, "10.0.1.3");
	assert_ip(&msg.bearers[0].fteid[1].v6, "2001:db8:ff::3");
}

Test(gtpc_v2, piggybacked)
{
	const struct gtpc_case *c = gtpc_case_get("v2_piggy");
	int n = mcp_gtpc_decode(c->buf, c->len, &msg);

	cr_assert_gt(n, 0);
	cr_assert_lt(n, (int)c->len);
	cr_assert(msg.piggyback);
	cr_assert_eq(msg.type, MCP_GTP2_CREATE_SESSION_RSP);
	cr_assert_eq(mcp_gtpc_decode(c->buf + n, c->len - n, &msg), (int)c->len - n);
	cr_assert_eq(msg.type, MCP_GTP2_CREATE_BEARER_REQ);
	cr_assert_eq(msg.seq, 0x000602);
	cr_assert_eq(msg.bearers[0].fteid[0].teid, 0x8888bbbb);
}

/* Every prefix is rejected with -EMSGSIZE; the whole message parses. */
Test(gtpc_v2, every_prefix)
{
	unsigned int i, n;

	for (i = 0; i < GTPC_NCASES; i++) {
		const struct gtpc_case *c = &gtpc_cases[i];
		int full;

		if (c->name[1] != '2')
			continue;
		full = mcp_gtpc_decode(c->buf, c->len, &msg);
		cr_assert_gt(full, 0, "%s", c->name);
		for (n = 0; n < (unsigned int)full; n++) {
			uint8_t *copy = malloc(n ? n : 1);

			memcpy(copy, c->buf, n);
			cr_assert_eq(mcp_gtpc_decode(copy, n, &msg), -EMSGSIZE, "%s prefix %u",
				     c->name, n);
			free(copy);
		}
	}
}

/* Corrupted IE lengths: invalid, never a crash. */
Test(gtpc_v2, bad_ie_length)
{
	const struct gtpc_case *c = gtpc_case_get("v2_csrsp");
	uint8_t buf[512];

	memcpy(buf, c->buf, c->len);
	buf[13] = 0xff; /* first IE (Cause) length high byte */
	cr_assert_eq(mcp_gtpc_decode(buf, c->len, &msg), -EBADMSG);
	cr_assert_eq(msg.bad_reason, MCP_GTPC_BAD_BAD_IE_LEN);
	memcpy(buf, c->buf, c->len);
	buf[0] = 0x68; /* version 3 */
	cr_assert_eq(mcp_gtpc_decode(buf, c->len, &msg), -EBADMSG);
	cr_assert_eq(msg.bad_reason, MCP_GTPC_BAD_BAD_VERSION);
	memcpy(buf, c->buf, c->len);
	buf[2] = 0;
	buf[3] = 2; /* length smaller than the TEID + sequence */
	cr_assert_eq(mcp_gtpc_decode(buf, c->len, &msg), -EBADMSG);
	cr_assert_eq(msg.bad_reason, MCP_GTPC_BAD_BAD_LEN);
}

Test(gtpc_v2, iface_roles)
{
	cr_assert_eq(mcp_gtpc_iface_role(0), MCP_GTPC_ROLE_DOWN);
	cr_assert_eq(mcp_gtpc_iface_role(1), MCP_GTPC_ROLE_UP);
	cr_assert_eq(mcp_gtpc_iface_role(2), MCP_GTPC_ROLE_DOWN);
	cr_assert_eq(mcp_gtpc_iface_role(3), MCP_GTPC_ROLE_UP);
	cr_assert_eq(mcp_gtpc_iface_role(4), MCP_GTPC_ROLE_DOWN);
	cr_assert_eq(mcp_gtpc_iface_role(5), MCP_GTPC_ROLE_UP);
	cr_assert_eq(mcp_gtpc_iface_role(6), MCP_GTPC_ROLE_CTRL_ACCESS);
	cr_assert_eq(mcp_gtpc_iface_role(7), MCP_GTPC_ROLE_CTRL_CORE);
	cr_assert_eq(mcp_gtpc_iface_role(10), MCP_GTPC_ROLE_CTRL_ACCESS);
	cr_assert_eq(mcp_gtpc_iface_role(11), MCP_GTPC_ROLE_CTRL_CORE);
	cr_assert_eq(mcp_gtpc_iface_role(15), MCP_GTPC_ROLE_DOWN);
	cr_assert_eq(mcp_gtpc_iface_role(16), MCP_GTPC_ROLE_UP);
	cr_assert_eq(mcp_gtpc_iface_role(8), MCP_GTPC_ROLE_OTHER);
}

Test(gtpc_ie, tbcd_apn_plmn)
{
	static const uint8_t imsi[] = { 0x00, 0x01, 0x21, 0x43, 0x65, 0x87, 0xf9 };
	static const uint8_t bad[] = { 0x1a };
	static const uint8_t apn[] = { 3, 'w', 'e', 'b', 2, 'o', 'p' };
	static const uint8_t apn_bad[] = { 9, 'w', 'e', 'b' };
	static const uint8_t plmn[] = { 0x00, 0xf1, 0x10 };
	char out[32];

	cr_assert_eq(mcp_gtpc_tbcd(imsi, sizeof(imsi), out, 16), 13);
	cr_assert_str_eq(out, "0010123456789");
	cr_assert_eq(mcp_gtpc_tbcd(bad, 1, out, 16), -EBADMSG);
	cr_assert_eq(mcp_gtpc_tbcd(imsi, sizeof(imsi), out, 5), -EBADMSG);
	cr_assert_eq(mcp_gtpc_apn(apn, sizeof(apn), out, sizeof(out)), 6);
	cr_assert_str_eq(out, "web.op");
	cr_assert_eq(mcp_gtpc_apn(apn_bad, sizeof(apn_bad), out, sizeof(out)), -EBADMSG);
	cr_assert_eq(mcp_gtpc_apn(apn, sizeof(apn), out, 6), -EBADMSG);
	mcp_gtpc_plmn(plmn, out);
	cr_assert_str_eq(out, "00101");
}
