/* fuzz_pcapfile.c - libFuzzer target: the own classic-pcap reader (with its resync after
 * damage) on arbitrary files, every packet it returns decoded as Ethernet. */
#include <stdint.h>
#include <stdio.h>

#include "decode/decode.h"
#include "input/pcapfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mcp_decoder *d;
	struct mcp_pcapfile r;
	struct mcp_pcapfile_pkt pkt;
	struct mcp_window w;
	struct mcp_pkt out;
	FILE *fp;

	if (!d)
		d = mcp_decoder_create(NULL);
	if (!size)
		return 0;
	fp = fmemopen((void *)data, size, "rb");
	if (!fp)
		return 0;
	if (mcp_window_init(&w, fp, 1u << 20)) {
		fclose(fp);
		return 0;
	}
	if (mcp_pcapfile_attach(&r, &w) == 0)
		for (int i = 0; i < 1000 && mcp_pcapfile_next(&r, &pkt, i < 2) == 1; i++)
			mcp_decode(d, r.linktype, pkt.data, pkt.caplen, pkt.wire_len, pkt.ts_us,
				   &out);
	mcp_pcapfile_close(&r);
	return 0;
}
