/* fuzz_gtpc.h - the body shared by the GTPv1-C and GTPv2-C libFuzzer targets: one decoder
 * plus a persistent session table, with the version bits forced to FUZZ_GTPC_VERSION.
 *
 * Input: byte 0 picks the carrying endpoints (which peer sends) and the time step, the rest
 * is one GTP-C UDP payload. The table sees the whole run, so sequences of inputs exercise
 * matching, expiry, grace periods and reuse.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/gtpc.h"
#include "session/session.h"

static struct mcp_sessions *fz_sessions;
static uint64_t fz_now_ms = 1000;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t a[4] = { 10, 0, 0, 1 }, b[4] = { 10, 0, 0, 2 };
	struct mcp_gtpc_msg msg;
	struct mcp_pkt pkt;
	uint8_t *buf;

	if (!fz_sessions) {
		struct mcp_session_cfg cfg = { .max_subscribers = 64, .delete_grace_ms = 3000,
					       .handover_grace_ms = 1000,
					       .transaction_timeout_ms = 2000 };

		fz_sessions = mcp_sessions_create(&cfg);
		if (!fz_sessions)
			abort();
	}
	if (size < 2)
		return 0;
	buf = malloc(size - 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size - 1);
	buf[0] = (uint8_t)((buf[0] & 0x1f) | (FUZZ_GTPC_VERSION << 5));
	(void)mcp_gtpc_decode(buf, size - 1, &msg);

	memset(&pkt, 0, sizeof(pkt));
	pkt.kind = MCP_PKT_GTPC;
	fz_now_ms += (data[0] >> 2) * 50u;
	pkt.ts_us = fz_now_ms * 1000;
	mcp_ip_from_v4(&pkt.src, (data[0] & 1) ? a : b);
	mcp_ip_from_v4(&pkt.dst, (data[0] & 1) ? b : a);
	pkt.sport = (data[0] & 2) ? 2123 : 40000;
	pkt.dport = 2123;
	pkt.payload = buf;
	pkt.payload_len = (uint32_t)(size - 1);
	(void)mcp_sessions_handle_gtpc(fz_sessions, &pkt);
	mcp_sessions_expire(fz_sessions, fz_now_ms);
	mcp_sessions_expire_transactions(fz_sessions, fz_now_ms);
	free(buf);
	return 0;
}
