/* test_control_gtpc_v1.c - GTPv1-C decoder (TS 29.060) on scapy-built messages with known values
 * (tests/gen_gtpc_cases.py -> tests/data/gtpc_cases.h, verified clean by tshark). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>

#include "gtpc_test_util.h"

Test(gtpc_v1, create_pdp_request)
{
	const struct gtpc_case *c = gtpc_case_get("v1_cpdp");

	cr_assert_eq(dec("v1_cpdp"), (int)c->len);
	cr_assert_eq(msg.version, 1);
	cr_assert_eq(msg.type, MCP_GTP1_CREATE_PDP_REQ);
	cr_assert_eq(msg.teid, 0);
	cr_assert_eq(msg.seq, 0x1234);
	cr_assert_str_eq(msg.imsi, "262011234567890");
	cr_assert_str_eq(msg.msisdn, "491711234567");
	cr_assert_str_eq(msg.imei, "3534900698733015");
	cr_assert_str_eq(msg.apn, "web.operator.com");
	cr_assert_str_eq(msg.serving_net, "26201");
	cr_assert_eq(msg.lac, 0x1234);
	cr_assert(msg.has_uli);
	cr_assert_eq(msg.rac_sac_ci, 0x5678);
	cr_assert(msg.has_recovery);
	cr_assert_eq(msg.recovery, 7);
	cr_assert(msg.has_rat);
	cr_assert_eq(msg.rat, 1);
	cr_assert_eq(msg.selection_mode, 0);
	cr_assert(msg.has_teid_data && msg.has_teid_ctrl);
	cr_assert_eq(msg.teid_data, 0x0a0b0c0d);
	cr_assert_eq(msg.teid_ctrl, 0x01020304);
	cr_assert_eq(msg.ngsn, 2);
	assert_ip(&msg.gsn[0], "192.168.1.1");
	assert_ip(&msg.gsn[1], "192.168.1.2");
	cr_assert_eq(msg.pdn_type, 1);
	cr_assert_not(msg.has_ue_v4); /* dynamic address requested */
	/* normalised: ctrl = TEID C + first GSN address, bearer = NSAPI + TEID Data I + second */
	cr_assert_eq(msg.nctrl, 1);
	cr_assert_eq(msg.ctrl[0].teid, 0x01020304);
	assert_ip(&msg.ctrl[0].v4, "192.168.1.1");
	cr_assert_eq(msg.nbearers, 1);
	cr_assert_eq(msg.bearers[0].ebi, 5);
	cr_assert_eq(msg.bearers[0].nfteid, 1);
	cr_assert_eq(msg.bearers[0].fteid[0].teid, 0x0a0b0c0d);
	cr_assert_eq(msg.bearers[0].fteid[0].iface, MCP_GTPC_IFACE_V1_DATA);
	assert_ip(&msg.bearers[0].fteid[0].v4, "192.168.1.2");
	cr_assert_not(msg.has_lbi);
	cr_assert_eq(msg.unknown_ies, 0);
}

Test(gtpc_v1, create_pdp_response)
{
	cr_assert_gt(dec("v1_cpdprsp"), 0);
	cr_assert_eq(msg.type, MCP_GTP1_CREATE_PDP_RSP);
	cr_assert_eq(msg.teid, 0x01020304);
	cr_assert_eq(msg.cause, 128);
	cr_assert(mcp_gtpc_cause_accepted(1, msg.cause));
	cr_assert_eq(msg.recovery, 9);
	cr_assert_eq(msg.teid_data, 0x1a1b1c1d);
	cr_assert_eq(msg.teid_ctrl, 0x11121314);
	cr_assert(msg.has_ue_v4);
	assert_ip(&msg.ue_v4, "10.1.2.3");
	assert_ip(&msg.ctrl[0].v4, "192.168.2.1");
	assert_ip(&msg.bearers[0].fteid[0].v4, "192.168.2.2");
	cr_assert_gt(dec("v1_cpdprsp_rej"), 0);
	cr_assert_eq(msg.cause, 199);
	cr_assert_not(mcp_gtpc_cause_accepted(1, msg.cause));
}

Test(gtpc_v1, secondary_pdp)
{
	cr_assert_gt(dec("v1_cpdp2"), 0);
	cr_assert_eq(msg.teid, 0x11121314);
	cr_assert_str_eq(msg.imsi, "");
	cr_assert_eq(msg.bearers[0].ebi, 6);
	cr_assert(msg.has_lbi);
	cr_assert_eq(msg.lbi, 5);
	cr_assert_eq(msg.bearers[0].fteid[0].teid, 0x0a0b0c0e);
	cr_assert_eq(msg.nctrl, 0);
}

Test(gtpc_v1, update_and_delete)
{
	cr_assert_gt(dec("v1_updp"), 0);
	cr_assert_eq(msg.type, MCP_GTP1_UPDATE_PDP_REQ);
	cr_assert_eq(msg.teid, 0x11121314);
	cr_assert_eq(msg.lac, 0x4321);
	cr_assert_eq(msg.tlli, 0x11223344);
	cr_assert_eq(msg.teid_ctrl, 0x03030303);
	assert_ip(&msg.bearers[0].fteid[0].v4, "192.168.3.2");
	cr_assert_gt(dec("v1_updprsp"), 0);
	cr_assert_eq(msg.type, MCP_GTP1_UPDATE_PDP_RSP);
	cr_assert_eq(msg.teid, 0x03030303);
	cr_assert_gt(dec("v1_dpdp"), 0);
	cr_assert_eq(msg.type, MCP_GTP1_DELETE_PDP_REQ);
	cr_assert_eq(msg.teardown, 1);
	cr_assert_eq(msg.bearers[0].ebi, 5);
	cr_assert_gt(dec("v1_dpdp2"), 0);
	cr_assert_eq(msg.teardown, 0);
	cr_assert_eq(msg.bearers[0].ebi, 6);
	cr_assert_gt(dec("v1_dpdprsp"), 0);
	cr_assert_eq(msg.cause, 128);
	cr_assert_gt(dec("v1_echo"), 0);
	cr_assert_eq(msg.type, MCP_GTP1_ECHO_REQ);
}

Test(gtpc_v1, ipv4v6_and_ipv6_gsn)
{
	cr_assert_gt(dec("v1_cpdp_v6"), 0);
	cr_assert_eq(msg.pdn_type, 3);
	cr_assert_not(msg.has_ue_v4 || msg.has_ue_v6);
	cr_assert(msg.ctrl[0].has_v6);
	assert_ip(&msg.ctrl[0].v6, "2001:db8:a::1");
	assert_ip(&msg.bearers[0].fteid[0].v6, "2001:db8:a::2");
	cr_assert_gt(dec("v1_cpdprsp_v6"), 0);
	cr_assert(msg.has_ue_v4 && msg.has_ue_v6);
	assert_ip(&msg.ue_v4, "10.1.2.6");
	assert_ip(&msg.ue_v6, "2001:db8:2::6");
}

Test(gtpc_v1, every_prefix)
{
	unsigned int i, n;

	for (i = 0; i < GTPC_NCASES; i++) {
		const struct gtpc_case *c = &gtpc_cases[i];
		int full;

		if (c->name[1] != '1')
			continue;
		full = mcp_gtpc_decode(c->buf, c->len, &msg);
		cr_assert_eq(full, (int)c->len, "%s", c->name);
		for (n = 0; n < c->len; n++) {
			uint8_t *copy = malloc(n ? n : 1);

			memcpy(copy, c->buf, n);
			cr_assert_eq(mcp_gtpc_decode(copy, n, &msg), -EMSGSIZE, "%s prefix %u",
				     c->name, n);
			free(copy);
		}
	}
}

Test(gtpc_v1, malformed)
{
	const struct gtpc_case *c = gtpc_case_get("v1_cpdp");
	uint8_t buf[512];

	memcpy(buf, c->buf, c->len);
	buf[12] = 0x60; /* first IE type: TV 96 has no known length */
	cr_assert_eq(mcp_gtpc_decode(buf, c->len, &msg), -EBADMSG);
	cr_assert_eq(msg.bad_reason, MCP_GTPC_BAD_UNKNOWN_TV);
	memcpy(buf, c->buf, c->len);
	buf[0] = 0x22; /* PT = 0: GTP' */
	cr_assert_eq(mcp_gtpc_decode(buf, c->len, &msg), -EBADMSG);
	cr_assert_eq(msg.bad_reason, MCP_GTPC_BAD_BAD_VERSION);
	/* a TLV whose length runs past the message */
	memcpy(buf, c->buf, c->len);
	buf[c->len] = 0x85;
	buf[c->len + 1] = 0x00;
	buf[c->len + 2] = 0x10;
	{
		uint16_t l = (uint16_t)((buf[2] << 8 | buf[3]) + 3);

		buf[2] = (uint8_t)(l >> 8);
		buf[3] = (uint8_t)l;
	}
	cr_assert_eq(mcp_gtpc_decode(buf, c->len + 3, &msg), -EBADMSG);
	cr_assert_eq(msg.bad_reason, MCP_GTPC_BAD_BAD_IE_LEN);
}
