/* fuzz_pfcp.c - libFuzzer target for the PFCP decoder (TS 29.244) and the 5G session join:
 * any bytes must decode or be counted as malformed, never crash or overread. The input is
 * split at "\n--\n" into datagrams sent alternately SMF -> UPF and UPF -> SMF, so requests,
 * responses, CHOOSE resolution, modification and deletion paths are all reachable.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "control/pfcp.h"
#include "session/session_5g.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void feed(struct mcp_s5g *g, const uint8_t *p, size_t n, int up, uint64_t ts)
{
	struct mcp_pkt pkt;
	uint8_t smf[4] = { 127, 0, 0, 4 }, upf[4] = { 127, 0, 0, 7 };

	memset(&pkt, 0, sizeof(pkt));
	pkt.kind = MCP_PKT_USER;
	pkt.l4_proto = 17;
	pkt.flags = MCP_PKTF_HAS_PORTS;
	mcp_ip_from_v4(&pkt.src, up ? upf : smf);
	mcp_ip_from_v4(&pkt.dst, up ? smf : upf);
	pkt.sport = pkt.dport = MCP_PFCP_PORT;
	pkt.payload = p;
	pkt.payload_len = (uint32_t)n;
	pkt.ts_us = ts * 1000;
	mcp_s5g_handle_pfcp(g, &pkt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mcp_sessions *s;
	static struct mcp_s5g *g;
	static struct mcp_pfcp_msg m;
	static uint64_t ts;
	const uint8_t *p = data, *end = data + size, *sep;
	int up = 0;

	if (!s) {
		struct mcp_session_cfg cfg = { .max_subscribers = 4096 };

		s = mcp_sessions_create(&cfg);
		g = mcp_s5g_create(s, 1024, 1000);
	}
	(void)mcp_pfcp_decode(data, size, &m);
	while (p < end) {
		sep = memmem(p, (size_t)(end - p), "\n--\n", 4);
		if (!sep)
			sep = end;
		feed(g, p, (size_t)(sep - p), up, ++ts);
		up = !up;
		p = sep + (sep < end ? 4 : 0);
	}
	mcp_sessions_expire(s, ts);
	return 0;
}
