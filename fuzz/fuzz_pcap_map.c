/* fuzz_pcap_map.c - libFuzzer target for the mapped classic-pcap reader (input/pcap_map.c).
 *
 * The input is the whole file. Besides the sanitizers it checks the contract: every frame
 * returned lies inside the buffer, wire_len >= caplen, the reader moves forward, and it
 * ends (0) exactly at the end of the buffer or refuses (-1) with a reason.
 * Seeds: fuzz/seeds/pcap_map/ (small captures of the test suite).
 */
#include <stddef.h>
#include <stdint.h>

#include "input/pcap_map.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mcp_pcap_map m;
	struct mcp_pcap_map_pkt p;
	size_t last = 0;
	int rc;

	if (mcp_pcap_map_init(&m, data, size))
		return 0;
	while ((rc = mcp_pcap_map_next(&m, &p)) == 1) {
		if (p.data < data || p.data + p.caplen > data + size || p.wire_len < p.caplen)
			__builtin_trap();
		if (m.pos <= last)
			__builtin_trap();
		last = m.pos;
	}
	if ((rc == 0 && m.pos != size) || (rc < 0 && !m.err[0]))
		__builtin_trap();
	mcp_pcap_map_close(&m);
	return 0;
}
