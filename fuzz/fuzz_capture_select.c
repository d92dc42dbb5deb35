/* fuzz_capture_select.c - libFuzzer target for mcp-capture's frame selection
 * (userspace/capture/cap_select.c): decoder, GTP-C intake with piggybacked messages, the
 * session table, and the selector's own request/answer memory, over a run of frames.
 *
 * The input is a sequence of frames, each a 2-byte big-endian length then that many bytes of
 * an Ethernet frame (a length beyond the input takes the rest). One long-lived selector with
 * --control on sees every input, so sessions created by one input are looked up by the next.
 * Besides the sanitizers it checks that a selection is 0 or 1 and that the selected count
 * never exceeds the frames seen. Seeds: fuzz/seeds/capture_select/ (runs of frames of
 * tests/gen_scenario.py --subscribers 12 --seed 3: GTPv1/v2-C exchanges and GTP-U, framed
 * as above).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "capture/cap_select.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mcp_cap_select *s;
	static uint64_t ts = 1700000000000000ull;
	const struct mcp_cap_select_stats *st;
	size_t pos = 0;

	if (!s) {
		struct mcp_imsi_set set = { 0 };

		if (mcp_imsi_set_add(&set, "001010000000001") ||
		    mcp_imsi_set_add(&set, "987654112233445"))
			abort();
		s = mcp_cap_select_create(&set, 1);
		mcp_imsi_set_free(&set);
		if (!s)
			abort();
	}
	while (pos + 2 <= size) {
		size_t len = (size_t)data[pos] << 8 | data[pos + 1];
		int hit;

		pos += 2;
		if (len > size - pos)
			len = size - pos;
		ts += 7000;
		hit = mcp_cap_select_frame(s, 1, data + pos, (uint32_t)len, (uint32_t)len, ts);
		if (hit != 0 && hit != 1)
			__builtin_trap();
		pos += len;
	}
	st = mcp_cap_select_stats(s);
	if (st->user + st->control > st->frames)
		__builtin_trap();
	return 0;
}
