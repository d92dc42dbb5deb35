/* fuzz_sbi.c - libFuzzer target for the SBI path: TCP reassembly, HTTP/1.1 and HTTP/2 framing
 * with HPACK (libnghttp2), multipart, JSON (json-c, depth-limited), NAS-5GS and NGAP
 * extractors (NGAP setup request and response transfers, HTTP2-Settings). The first byte picks the target: 0 the extractors on the rest as one body, odd
 * an HTTP/1.1 connection, even an h2c one (preface sent first); the rest is cut into TCP
 * segments (2-byte lengths, the next byte's low bits giving direction, reordering, skew).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "control/sbi/h2.h"
#include "control/sbi/sbi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void extractors(const uint8_t *p, size_t n)
{
	struct mcp_sbi_part parts[MCP_SBI_MAX_PARTS];
	struct mcp_sbi_ident id;
	char imsi[16], nai[MCP_SBI_SUPI_LEN], ct[96] = "multipart/related; boundary=\"=-b\"";
	uint8_t set[96];
	int k;

	memset(&id, 0, sizeof(id));
	(void)mcp_sbi_json_ident(p, n, &id);
	(void)mcp_nas5gs_accept_address(p, n, &id);
	(void)mcp_ngap_setup_request_ul(p, n, &id);
	(void)mcp_ngap_setup_response_dl(p, n, &id);
	k = mcp_sbi_multipart(ct, p, n, parts, MCP_SBI_MAX_PARTS);
	for (int i = 0; i < k; i++)
		(void)mcp_sbi_json_ident(parts[i].p, parts[i].n, &id);
	if (n < sizeof(ct)) {
		memcpy(ct, p, n);
		ct[n] = '\0';
		(void)mcp_sbi_supi(ct, imsi, nai);
		(void)mcp_h2_upgrade_settings(ct, set, sizeof(set));
		(void)mcp_sbi_multipart(ct, p, n, parts, MCP_SBI_MAX_PARTS);
	}
}

static void segments(struct mcp_sbi *b, const uint8_t *p, size_t n, int h2)
{
	static const char h1[] = "POST /namf-comm/v1/ue-contexts/imsi-001010000000001/n1-n2-"
				 "messages HTTP/1.1\r\n";
	static const char pri[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	const char *start = h2 ? pri : h1;
	size_t slen = h2 ? sizeof(pri) - 1 : sizeof(h1) - 1;
	uint32_t seq[2] = { 1000, 5000 };
	struct mcp_pkt pkt;
	uint8_t a[4] = { 127, 0, 0, 1 }, z[4] = { 127, 0, 0, 5 };

	memset(&pkt, 0, sizeof(pkt));
	pkt.l4_proto = 6;
	pkt.flags = MCP_PKTF_HAS_PORTS;
	pkt.payload = (const uint8_t *)start;
	pkt.payload_len = (uint32_t)slen;
	mcp_ip_from_v4(&pkt.src, a);
	mcp_ip_from_v4(&pkt.dst, z);
	pkt.sport = 40000;
	pkt.dport = 7777;
	pkt.tcp_seq = seq[0];
	mcp_sbi_segment(b, &pkt);
	seq[0] += (uint32_t)slen;
	while (n >= 3) {
		size_t len = (size_t)(p[0] << 8 | p[1]) % 2048;
		uint8_t ctl = p[2];
		int dir = ctl & 1;

		p += 3, n -= 3;
		if (len > n)
			len = n;
		mcp_ip_from_v4(&pkt.src, dir ? z : a);
		mcp_ip_from_v4(&pkt.dst, dir ? a : z);
		pkt.sport = dir ? 7777 : 40000;
		pkt.dport = dir ? 40000 : 7777;
		pkt.tcp_flags = (uint8_t)(ctl & 0x80 ? 0x01 : 0); /* FIN now and then */
		pkt.tcp_seq = seq[dir] + (ctl & 0x02 ? 700u : 0u) - (ctl & 0x04 ? 10u : 0u);
		pkt.payload = p;
		pkt.payload_len = (uint32_t)len;
		pkt.ts_us += 1000;
		mcp_sbi_segment(b, &pkt);
		seq[dir] += (uint32_t)len;
		p += len, n -= len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mcp_sbi_cfg cfg = { .max_conns = 4 };
	struct mcp_sbi *b;

	if (!size)
		return 0;
	if (data[0] == 0) {
		extractors(data + 1, size - 1);
		return 0;
	}
	b = mcp_sbi_create(&cfg);
	if (!b)
		return 0;
	segments(b, data + 1, size - 1, !(data[0] & 1));
	mcp_sbi_destroy(b);
	return 0;
}
