/* fuzz_pcapng.c - libFuzzer target: the own pcapng reader (with its resync) on arbitrary files, every
 * packet it returns decoded under its interface's link type. */
#include <stdint.h>
#include <stdio.h>

#include "decode/decode.h"
#include "input/pcapng.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mcp_decoder *d;
	struct mcp_pcapng r;
	struct mcp_pcapng_pkt pkt;
	struct mcp_pkt out;
	FILE *fp;

	if (!d)
		d = mcp_decoder_create(NULL);
	if (!size)
		return 0;
	fp = fmemopen((void *)data, size, "rb");
	if (!fp)
		return 0;
	if (mcp_pcapng_open_stream(&r, fp))
		return 0;
	for (int i = 0; i < 1000 && mcp_pcapng_next(&r, &pkt) == 1; i++)
		mcp_decode(d, pkt.linktype, pkt.data, pkt.caplen, pkt.wire_len, pkt.ts_us, &out);
	mcp_pcapng_close(&r);
	return 0;
}
