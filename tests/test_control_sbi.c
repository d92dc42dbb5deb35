/* test_control_sbi.c - SBI extractors and HTTP/1.1 framing (userspace/control/sbi/).
 *
 * Inputs are built here from the specs with known values (TS 29.571 SUPI/GPSI/PEI forms,
 * TS 24.501 8.3.2 accept, TS 38.413 9.3.4.1 transfer as in open5gs-testregistration frame 126,
 * RFC 2046 multipart, RFC 7540 3.2.1 HTTP2-Settings with hand-encoded HPACK, RFC 7541 C.2);
 * every prefix of a binary container must be refused, never overread, and the limits (JSON
 * depth, header size, HTTP/2 frame size and HPACK table size) must hold.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "control/sbi/h2.h"
#include "control/sbi/http1.h"
#include "control/sbi/sbi.h"

Test(sbi, supi_forms)
{
	char imsi[16], nai[MCP_SBI_SUPI_LEN], big[MCP_SBI_SUPI_LEN + 8];

	cr_expect_eq(mcp_sbi_supi("imsi-001010000000001", imsi, nai), 0);
	cr_expect_str_eq(imsi, "001010000000001");
	cr_expect_str_eq(nai, "");
	cr_expect_eq(mcp_sbi_supi("nai-alice@example.org", imsi, nai), 1);
	cr_expect_str_eq(imsi, "");
	cr_expect_str_eq(nai, "nai-alice@example.org");
	cr_expect_eq(mcp_sbi_supi("imsi-0010100000000012", imsi, nai), -EBADMSG, "16 digits");
	cr_expect_str_eq(nai, "");
	cr_expect_eq(mcp_sbi_supi("imsi-00101x", imsi, nai), -EBADMSG);
	cr_expect_eq(mcp_sbi_supi("suci-0-001-01-0-0-0-1", imsi, nai), -EBADMSG);
	cr_expect_eq(mcp_sbi_supi("nai-", imsi, nai), -EBADMSG, "empty NAI");
	cr_expect_eq(mcp_sbi_supi("nai-a b@c", imsi, nai), -EBADMSG, "space");
	cr_expect_eq(mcp_sbi_supi("nai-a\"b@c", imsi, nai), -EBADMSG, "quote");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "nai-", 4);
	cr_expect_eq(mcp_sbi_supi(big, imsi, nai), -EBADMSG, "longer than kept");
	big[MCP_SBI_SUPI_LEN - 1] = '\0';
	cr_expect_eq(mcp_sbi_supi(big, imsi, nai), 1, "the longest kept");
	cr_expect_eq(strlen(nai), MCP_SBI_SUPI_LEN - 1);
}

Test(sbi, json_smcontext)
{
	static const char body[] =
		"{\"supi\":\"imsi-001010000000001\",\"gpsi\":\"msisdn-33612345678\","
		"\"pei\":\"imeisv-4370816125816151\",\"pduSessionId\":7,\"dnn\":\"ims\","
		"\"sNssai\":{\"sst\":2,\"sd\":\"00a1b2\"},\"nested\":[[[1]]]}";
	struct mcp_sbi_ident id;

	memset(&id, 0, sizeof(id));
	cr_assert_eq(mcp_sbi_json_ident((const uint8_t *)body, strlen(body), &id), 0);
	cr_expect_str_eq(id.imsi, "001010000000001");
	cr_expect_str_eq(id.msisdn, "33612345678");
	cr_expect_str_eq(id.imei, "4370816125816151");
	cr_expect_str_eq(id.dnn, "ims");
	cr_expect_eq(id.pdu_session_id, 7);
	cr_expect_eq(id.snssai, 0x0200a1b2u);
}

Test(sbi, json_limits)
{
	char deep[256];
	struct mcp_sbi_ident id;
	int i, k = 0;

	k += sprintf(deep + k, "{\"a\":");
	for (i = 0; i < MCP_SBI_JSON_MAX_DEPTH + 2; i++)
		deep[k++] = '[';
	for (i = 0; i < MCP_SBI_JSON_MAX_DEPTH + 2; i++)
		deep[k++] = ']';
	deep[k++] = '}';
	memset(&id, 0, sizeof(id));
	cr_expect_eq(mcp_sbi_json_ident((const uint8_t *)deep, (size_t)k, &id), -EBADMSG,
		     "nesting beyond the depth limit is refused");
	cr_expect_eq(mcp_sbi_json_ident((const uint8_t *)"[1,2]", 5, &id), -EBADMSG, "not an object");
	cr_expect_eq(mcp_sbi_json_ident((const uint8_t *)"{\"supi\":", 8, &id), -EBADMSG);
	cr_expect_eq(mcp_sbi_json_ident((const uint8_t *)"{\"supi\":\"x\"}", 12, &id), -EBADMSG);
}

Test(sbi, multipart_parts)
{
	static const char body[] = "preamble\r\n--=-b0\r\nContent-Type: application/json\r\n\r\n"
				   "{\"pduSessionId\":5}\r\n--=-b0\r\nContent-Id: n1\r\n"
				   "Content-Type: application/vnd.3gpp.5gnas\r\n\r\nAB\r\n--=-b0--\r\n";
	struct mcp_sbi_part parts[MCP_SBI_MAX_PARTS];
	int n = mcp_sbi_multipart("multipart/related; boundary=\"=-b0\"", (const uint8_t *)body,
				  strlen(body), parts, MCP_SBI_MAX_PARTS);

	cr_assert_eq(n, 2);
	cr_expect_str_eq(parts[0].type, "application/json");
	cr_expect_eq(parts[0].n, 18);
	cr_expect_str_eq(parts[1].type, "application/vnd.3gpp.5gnas");
	cr_expect_eq(parts[1].n, 2);
	cr_expect_eq(memcmp(parts[1].p, "AB", 2), 0);
	cr_expect_eq(mcp_sbi_multipart("multipart/related", (const uint8_t *)body, strlen(body),
				       parts, MCP_SBI_MAX_PARTS), -EBADMSG, "no boundary");
}

/* PDU Session Establishment Accept: PSI 5, IPv4v6, one QoS rule, AMBR, 5GSM cause, address */
static const uint8_t nas_accept[] = {
	0x2e, 0x05, 0x01, 0xc2, 0x13, 0x00, 0x03, 0x01, 0x00, 0x00, 0x06, 0x0a, 0x00, 0x03, 0x0a,
	0x00, 0x03, 0x59, 0x1a, 0x91, 0x29, 0x0d, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x02, 0x0a, 0x2d, 0x00, 0x02, 0x22, 0x01, 0x01,
};

/* PDU Session Resource Setup Request Transfer (as in open5gs-testregistration frame 126) */
static const uint8_t ngap_transfer[] = {
	0x00, 0x00, 0x04, 0x00, 0x82, 0x00, 0x0a, 0x0c, 0x3e, 0x80, 0x00, 0x00, 0x30, 0x3e, 0x80,
	0x00, 0x00, 0x00, 0x8b, 0x00, 0x1a, 0x09, 0xf0, 0x7f, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x12, 0x34,
	0x56, 0x78, 0x00, 0x86, 0x00, 0x01, 0x20, 0x00, 0x88, 0x00, 0x07, 0x00, 0x01, 0x00, 0x00,
	0x09, 0x1c, 0x00,
};

Test(sbi, nas_pdu_address)
{
	struct mcp_sbi_ident id;
	char buf[MCP_IP_STRLEN];

	memset(&id, 0, sizeof(id));
	cr_assert_eq(mcp_nas5gs_accept_address(nas_accept, sizeof(nas_accept), &id), 0);
	cr_expect(id.has_ue_v4 && id.has_ue_v6);
	cr_expect_str_eq(mcp_ip_str(&id.ue_v4, buf), "10.45.0.2");
	cr_expect_str_eq(mcp_ip_str(&id.ue_v6, buf), "fe80::2");
	cr_expect_eq(id.pdu_session_id, 5);
	for (size_t n = 0; n < 33; n++) /* every prefix that cuts the address off */
		cr_expect_eq(mcp_nas5gs_accept_address(nas_accept, n, &id), -EBADMSG, "prefix %zu", n);
}

Test(sbi, ngap_ul_fteid)
{
	struct mcp_sbi_ident id;
	char buf[MCP_IP_STRLEN];
	uint8_t bad[sizeof(ngap_transfer)];

	memset(&id, 0, sizeof(id));
	cr_assert_eq(mcp_ngap_setup_request_ul(ngap_transfer, sizeof(ngap_transfer), &id), 0);
	cr_expect(id.has_ul_fteid);
	cr_expect_eq(id.ul_teid, 0x12345678u);
	cr_expect_str_eq(mcp_ip_str(&id.ul_addr, buf), "127.0.0.7");
	for (size_t n = 0; n < 47; n++)
		cr_expect_eq(mcp_ngap_setup_request_ul(ngap_transfer, n, &id), -EBADMSG, "prefix %zu", n);
	memcpy(bad, ngap_transfer, sizeof(bad));
	bad[20] = 0x7f; /* open type length beyond the transfer */
	cr_expect_eq(mcp_ngap_setup_request_ul(bad, sizeof(bad), &id), -EBADMSG);
}

/* PDU Session Resource Setup Response Transfer (open5gs-testregistration frame 132, tshark:
 * gTPTunnel 127.0.0.2 TEID 0x00000001, QFI 1) */
static const uint8_t ngap_response[] = {
	0x00, 0x03, 0xe0, 0x7f, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01,
};

Test(sbi, ngap_dl_fteid)
{
	/* IPv6 (128 bits) with the optional-component bits set, which do not move the tunnel */
	static const uint8_t v6[] = { 0x7e, 0xcf, 0xe0, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0,
				      0, 0, 0, 0, 0, 0x09, 0xca, 0xfe, 0xba, 0xbe, 0x00, 0x01 };
	struct mcp_sbi_ident id;
	char buf[MCP_IP_STRLEN];
	uint8_t bad[sizeof(ngap_response)];

	memset(&id, 0, sizeof(id));
	cr_assert_eq(mcp_ngap_setup_response_dl(ngap_response, sizeof(ngap_response), &id), 0);
	cr_expect(id.has_dl_fteid && !id.has_ul_fteid);
	cr_expect_eq(id.dl_teid, 1);
	cr_expect_str_eq(mcp_ip_str(&id.dl_addr, buf), "127.0.0.2");
	memset(&id, 0, sizeof(id));
	cr_assert_eq(mcp_ngap_setup_response_dl(v6, sizeof(v6), &id), 0);
	cr_expect_eq(id.dl_teid, 0xcafebabeu);
	cr_expect_str_eq(mcp_ip_str(&id.dl_addr, buf), "2001:db8::9");
	memset(&id, 0, sizeof(id));
	for (size_t n = 0; n < 11; n++) /* every prefix that cuts the address or TEID off */
		cr_expect_eq(mcp_ngap_setup_response_dl(ngap_response, n, &id), -EBADMSG, "prefix %zu", n);
	cr_expect_eq(mcp_ngap_setup_response_dl(NULL, 0, &id), -EBADMSG);
	memcpy(bad, ngap_response, sizeof(bad));
	bad[0] |= 0x01; /* the CHOICE's extension alternative */
	cr_expect_eq(mcp_ngap_setup_response_dl(bad, sizeof(bad), &id), -EBADMSG);
	memcpy(bad, ngap_response, sizeof(bad));
	bad[1] |= 0x20; /* a size outside the root of TransportLayerAddress */
	cr_expect_eq(mcp_ngap_setup_response_dl(bad, sizeof(bad), &id), -EBADMSG);
	memcpy(bad, ngap_response, sizeof(bad));
	bad[1] = 0x02; /* 24 bits: not an address length */
	cr_expect_eq(mcp_ngap_setup_response_dl(bad, sizeof(bad), &id), -EBADMSG);
	cr_expect(!id.has_dl_fteid, "a refused transfer sets nothing");
}

static int nmsg;
static struct mcp_http_msg last;
static char last_body[64];

static void on_msg(void *ctx, const struct mcp_http_msg *m)
{
	nmsg++;
	last = *m;
	memcpy(last_body, m->body ? (const char *)m->body : "", m->body_len < 63 ? m->body_len : 63);
	last_body[m->body_len < 63 ? m->body_len : 63] = '\0';
}

Test(sbi, http1_framing_at_every_cut)
{
	static const char msgs[] = "POST /nsmf-pdusession/v1/sm-contexts HTTP/1.1\r\nHost: x\r\n"
				   "content-length: 5\r\nContent-Type: application/json\r\n\r\n{\"a\"}"
				   "HTTP/1.1 201 Created\r\nLocation: http://s/sm-contexts/9\r\n"
				   "Content-Length: 0\r\n\r\n";
	size_t n = strlen(msgs);
	uint64_t err[MCP_HTTP1_ERR__MAX];

	for (size_t cut = 1; cut < n; cut++) {
		static struct mcp_http1 h;

		memset(&h, 0, sizeof(h));
		memset(err, 0, sizeof(err));
		h.err = err;
		nmsg = 0;
		mcp_http1_feed(&h, (const uint8_t *)msgs, cut, on_msg, NULL);
		mcp_http1_feed(&h, (const uint8_t *)msgs + cut, n - cut, on_msg, NULL);
		cr_expect_eq(nmsg, 2, "cut %zu", cut);
		cr_expect_eq(last.status, 201);
		cr_expect_str_eq(last.location, "http://s/sm-contexts/9");
		mcp_http1_free(&h);
	}
}

Test(sbi, http1_limits_and_resync)
{
	static struct mcp_http1 h;
	static char big[MCP_HTTP1_MAX_HDR + 100];
	static const char ok[] = "\r\n\r\nPUT /nudm-uecm/v1/x HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi";
	uint64_t err[MCP_HTTP1_ERR__MAX] = { 0 };

	memset(&h, 0, sizeof(h));
	h.err = err;
	nmsg = 0;
	memset(big, 'a', sizeof(big));
	mcp_http1_feed(&h, (const uint8_t *)big, sizeof(big), on_msg, NULL);
	cr_expect_eq(err[MCP_HTTP1_ERR_HDR_SIZE], 1);
	mcp_http1_feed(&h, (const uint8_t *)ok, strlen(ok), on_msg, NULL);
	cr_expect_eq(err[MCP_HTTP1_ERR_START], 1, "the tail of the oversized block is refused");
	cr_expect_eq(nmsg, 1, "the next message is found again");
	cr_expect_str_eq(last.method, "PUT");
	cr_expect_str_eq(last_body, "hi");
	mcp_http1_gap(&h);
	mcp_http1_feed(&h, (const uint8_t *)"Content-Length: 99999999\r\n\r\n", 28, on_msg, NULL);
	cr_expect_eq(err[MCP_HTTP1_ERR_START], 2, "mid-body bytes after a gap are not a message");
	mcp_http1_free(&h);
}

/* ---- HTTP/2: an upgrade request's HTTP2-Settings applied to the server's direction ---- */

static int want_none(void *ctx, const struct mcp_http_msg *m)
{
	(void)ctx, (void)m;
	return 0;
}

static size_t h2_frame(uint8_t *out, uint8_t type, uint8_t flags, uint32_t sid, const uint8_t *p,
		       uint32_t n)
{
	uint8_t fh[9] = { (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n, type, flags,
			  (uint8_t)(sid >> 24), (uint8_t)(sid >> 16), (uint8_t)(sid >> 8), (uint8_t)sid };

	memcpy(out, fh, 9);
	if (n)
		memcpy(out + 9, p, n);
	return 9 + n;
}

/* Two responses: the first (after a dynamic table size update to 0 when `update`, as an
 * encoder must send after a smaller SETTINGS_HEADER_TABLE_SIZE, RFC 7541 4.2) inserts
 * "foo: bar" into the dynamic table (6.2.1), the second refers to it (index 62). Returns the
 * HPACK errors counted on the direction; nmsg the responses decoded. */
static uint64_t two_responses(const char *http2_settings, int update, int *rc)
{
	static const uint8_t b1[] = { 0x20, 0x88, 0x40, 3, 'f', 'o', 'o', 3, 'b', 'a', 'r' };
	static const uint8_t b2[] = { 0x88, 0xbe };
	uint64_t err[MCP_H2_ERR__MAX] = { 0 };
	uint8_t set[96], wire[64];
	struct mcp_h2 h;
	size_t n;

	cr_assert_eq(mcp_h2_init(&h, 0, err), 0);
	*rc = mcp_h2_upgrade_settings(http2_settings, set, sizeof(set));
	if (*rc > 0)
		mcp_h2_apply_settings(&h, set, (uint32_t)*rc);
	nmsg = 0;
	n = h2_frame(wire, 1, 5, 1, b1 + !update, (uint32_t)sizeof(b1) - !update);
	n += h2_frame(wire + n, 1, 5, 3, b2, sizeof(b2));
	mcp_h2_feed(&h, wire, n, on_msg, want_none, NULL);
	mcp_h2_free(&h);
	return err[MCP_H2_ERR_HPACK];
}

Test(sbi, h2_upgrade_settings_header_table_size)
{
	int rc;

	/* SETTINGS_MAX_CONCURRENT_STREAMS 100, SETTINGS_INITIAL_WINDOW_SIZE 65535: table kept */
	cr_expect_eq(two_responses("AAMAAABkAAQAAP__", 0, &rc), 0);
	cr_expect_eq(rc, 12);
	cr_expect_eq(nmsg, 2);
	/* SETTINGS_HEADER_TABLE_SIZE 0: the encoder signals it and may index nothing, so
	 * index 62 of the second block is an error */
	cr_expect_eq(two_responses("AAEAAAAA", 1, &rc), 1);
	cr_expect_eq(rc, 6);
	cr_expect_eq(nmsg, 1, "the second block must not decode");
	/* ... and an encoder that does not signal the smaller table fails at once */
	cr_expect_eq(two_responses("AAEAAAAA", 0, &rc), 1);
	cr_expect_eq(nmsg, 0);
}

Test(sbi, h2_upgrade_settings_max_frame_size)
{
	static uint8_t wire[9 + 20000], payload[20000];
	uint64_t err[MCP_H2_ERR__MAX] = { 0 };
	uint8_t set[12];
	struct mcp_h2 h;
	size_t n = h2_frame(wire, 0, 0, 1, payload, sizeof(payload)); /* DATA, 20000 bytes */

	for (int limited = 0; limited < 2; limited++) {
		memset(err, 0, sizeof(err));
		cr_assert_eq(mcp_h2_init(&h, 0, err), 0);
		/* SETTINGS_MAX_FRAME_SIZE 16384 */
		cr_assert_eq(mcp_h2_upgrade_settings("AAUAAEAA", set, sizeof(set)), 6);
		if (limited)
			cr_expect_eq(mcp_h2_apply_settings(&h, set, 6), 0);
		mcp_h2_feed(&h, wire, n, on_msg, want_none, NULL);
		cr_expect_eq(err[MCP_H2_ERR_FRAME_SIZE], (uint64_t)limited, "limited %d", limited);
		cr_expect_eq(h.dead, limited);
		mcp_h2_free(&h);
	}
}

Test(sbi, h2_upgrade_settings_refused)
{
	static char big[MCP_H2_MAX_UPGRADE_SETTINGS + 2];
	uint64_t err[MCP_H2_ERR__MAX] = { 0 };
	static const uint8_t small_frame[6] = { 0, 5, 0, 0, 0x10, 0 }; /* 4096 < 16384 */
	uint8_t set[96];
	struct mcp_h2 h;

	cr_expect_eq(mcp_h2_upgrade_settings("AAEAAAAA==", set, sizeof(set)), 6, "padding tolerated");
	cr_expect_eq(mcp_h2_upgrade_settings("AAEAAA+A", set, sizeof(set)), -EBADMSG, "not url");
	cr_expect_eq(mcp_h2_upgrade_settings("AAEAAA", set, sizeof(set)), -EBADMSG, "half a setting");
	cr_expect_eq(mcp_h2_upgrade_settings("AAEAAAAAB", set, sizeof(set)), -EBADMSG, "stray bits");
	cr_expect_eq(mcp_h2_upgrade_settings("AAEAAAAA", set, 4), -EBADMSG, "beyond out");
	memset(big, 'A', sizeof(big) - 1);
	cr_expect_eq(mcp_h2_upgrade_settings(big, set, sizeof(set)), -EBADMSG, "too long");
	cr_expect_eq(mcp_h2_upgrade_settings("", set, sizeof(set)), 0, "no settings");
	cr_assert_eq(mcp_h2_init(&h, 0, err), 0);
	cr_expect_eq(mcp_h2_apply_settings(&h, small_frame, 6), -EBADMSG);
	cr_expect_eq(mcp_h2_apply_settings(&h, small_frame, 5), -EBADMSG);
	cr_expect_eq(err[MCP_H2_ERR_SETTINGS], 2);
	cr_expect_eq(h.max_frame, MCP_H2_MAX_FRAME, "an out-of-range value is ignored");
	mcp_h2_free(&h);
}
