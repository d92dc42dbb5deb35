/* fuzz_decode.c - libFuzzer target for the frame decoder (userspace/decode*.c, ipfrag.c).
 *
 * Each input is decoded as one frame under every supported link type, by one long-lived
 * decoder with a small reassembly table, so fragments from earlier inputs meet later ones
 * and eviction and timeouts run too. Besides the sanitizers, it checks the contract: a
 * known kind, a known reason, and payload/l3 inside the frame unless reassembled.
 * Seeds: fuzz/seeds/decode/ (written by tests/gen_decode_cases.py --seeds).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "decode/decode.h"

static const int dlts[] = { 1, 113, 276, 12, 101, 228, 229, 0, 108 };

static void check(const struct mcp_pkt *pkt, int kind, const uint8_t *data, size_t size)
{
	if (kind < MCP_PKT_USER || kind > MCP_PKT_MALFORMED || kind != pkt->kind)
		__builtin_trap();
	if (kind == MCP_PKT_MALFORMED && pkt->reason >= MCP_PARSE__MAX)
		__builtin_trap();
	if (pkt->flags & MCP_PKTF_REASSEMBLED)
		return;
	if (pkt->payload && (pkt->payload < data || pkt->payload + pkt->payload_len > data + size))
		__builtin_trap();
	if (pkt->l3 && (pkt->l3 < data || pkt->l3 + pkt->l3_caplen > data + size))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mcp_decoder *d;
	static uint64_t ts;
	struct mcp_pkt pkt;
	size_t i;

	if (!d) {
		struct mcp_decoder_cfg cfg = { .max_frags = 8, .frag_timeout_ms = 50 };

		d = mcp_decoder_create(&cfg);
		if (!d)
			abort();
	}
	for (i = 0; i < sizeof(dlts) / sizeof(dlts[0]); i++) {
		int k;

		ts += 1000; /* 1 ms per frame: the 50 ms timeout fires now and then */
		k = mcp_decode(d, dlts[i], data, (uint32_t)size, UINT32_MAX, ts, &pkt);
		check(&pkt, k, data, size);
	}
	return 0;
}
