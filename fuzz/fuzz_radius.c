/* fuzz_radius.c - libFuzzer target for the RADIUS accounting dissector (RFC 2866) and the
 * user table: any bytes must decode or be counted as malformed, never crash or overread.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "control/radius.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mcp_radius_users *u;
	struct mcp_radius_acct a;
	enum mcp_radius_malformed why;
	struct mcp_pkt pkt;

	if (!u) {
		struct mcp_radius_cfg cfg = { .max_users = 1024 };

		u = mcp_radius_users_create(&cfg);
	}
	if (mcp_radius_parse(data, size, &a, &why) == 0) {
		char name[MCP_RADIUS_USER_LEN];

		mcp_radius_apply(u, &a, 1);
		if (a.has_framed_ip)
			mcp_radius_user_by_ip(u, &a.framed_ip, name, sizeof(name));
	}
	memset(&pkt, 0, sizeof(pkt));
	pkt.kind = MCP_PKT_USER;
	pkt.l4_proto = 17;
	pkt.flags = MCP_PKTF_HAS_PORTS;
	pkt.dport = MCP_RADIUS_ACCT_PORT;
	pkt.payload = data;
	pkt.payload_len = (uint32_t)size;
	mcp_radius_handle(u, &pkt);
	return 0;
}
