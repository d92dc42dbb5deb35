/* test_decode_tcp_reasm.c - the bounded in-order TCP stream reassembler (decode/tcp_reasm.c).
 *
 * A known byte stream is cut into segments and fed in order, with retransmissions and
 * overlaps, out of order, mid-stream, with a hole that never fills (a gap once the bounds are
 * met, or at FIN), across the 2^32 sequence wrap, and with more connections than the table
 * holds. The oracle is the stream itself: what comes out must be exactly its bytes, in order,
 * with gaps reported where bytes were lost.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "decode/tcp_reasm.h"

#define STREAM 4000

static uint8_t stream[STREAM];
static uint8_t out[2][STREAM * 2];
static size_t outlen[2], gap_bytes[2];
static int gaps[2], frees;

static void on_data(void *ctx, struct mcp_tcp_app *a, int dir, const uint8_t *d, size_t n,
		    const struct mcp_pkt *pkt)
{
	a->app = (void *)1;
	if (!d) {
		gaps[dir]++;
		gap_bytes[dir] += n;
		return;
	}
	cr_assert_leq(outlen[dir] + n, sizeof(out[dir]));
	memcpy(out[dir] + outlen[dir], d, n);
	outlen[dir] += n;
}

static void on_free(void *ctx, struct mcp_tcp_app *a)
{
	frees++;
}

static void setup(void)
{
	for (int i = 0; i < STREAM; i++)
		stream[i] = (uint8_t)(i * 7 + i / 256);
	memset(outlen, 0, sizeof(outlen));
	memset(gap_bytes, 0, sizeof(gap_bytes));
	memset(gaps, 0, sizeof(gaps));
	frees = 0;
}

TestSuite(tcp_reasm, .init = setup);

/* dir 0: client -> server; the reassembler's own direction 0 is whoever spoke first. */
static void seg(struct mcp_tcp_reasm *r, int dir, uint32_t isn, uint32_t off, uint32_t len,
		uint8_t flags, uint16_t cport)
{
	struct mcp_pkt p;
	uint8_t a[4] = { 10, 0, 0, 1 }, b[4] = { 10, 0, 0, 2 };

	memset(&p, 0, sizeof(p));
	p.l4_proto = 6;
	p.flags = MCP_PKTF_HAS_PORTS;
	mcp_ip_from_v4(&p.src, dir ? b : a);
	mcp_ip_from_v4(&p.dst, dir ? a : b);
	p.sport = dir ? 7777 : cport;
	p.dport = dir ? cport : 7777;
	p.tcp_seq = isn + off;
	p.tcp_flags = flags;
	p.payload = len ? stream + off : NULL;
	p.payload_len = len;
	mcp_tcp_reasm_segment(r, &p, 1);
}

static struct mcp_tcp_reasm *mk(uint32_t max_conns, uint32_t max_segments)
{
	struct mcp_tcp_reasm_cfg cfg = { .max_conns = max_conns, .max_segments = max_segments };
	struct mcp_tcp_reasm *r = mcp_tcp_reasm_create(&cfg, on_data, on_free, NULL);

	cr_assert_not_null(r);
	return r;
}

Test(tcp_reasm, in_order_with_retransmission_and_overlap)
{
	struct mcp_tcp_reasm *r = mk(16, 8);
	uint32_t isn = 1000;

	seg(r, 0, isn - 1, 0, 0, 0x02, 40000); /* SYN: data starts at isn */
	seg(r, 0, isn, 0, 1000, 0, 40000);
	seg(r, 0, isn, 0, 1000, 0, 40000);   /* retransmission */
	seg(r, 0, isn, 500, 1500, 0, 40000); /* overlap: 500 old, 1000 new */
	seg(r, 0, isn, 2000, 2000, 0, 40000);
	cr_expect_eq(outlen[0], STREAM);
	cr_expect_eq(memcmp(out[0], stream, STREAM), 0);
	cr_expect_eq(mcp_tcp_reasm_stats(r)->retransmitted_bytes, 1500);
	cr_expect_eq(gaps[0], 0);
	mcp_tcp_reasm_destroy(r);
	cr_expect_eq(frees, 1, "the app state is released once per connection");
}

Test(tcp_reasm, out_of_order_waits_for_the_hole)
{
	struct mcp_tcp_reasm *r = mk(16, 8);
	uint32_t isn = 0xfffffe00u; /* the stream crosses the 2^32 sequence wrap */

	seg(r, 0, isn, 0, 100, 0, 40001); /* mid-stream, from the server side: starts here */
	seg(r, 0, isn, 300, 700, 0, 40001);
	seg(r, 0, isn, 1000, 3000, 0, 40001);
	cr_expect_eq(outlen[0], 100, "held until the hole fills");
	seg(r, 0, isn, 100, 200, 0, 40001);
	cr_expect_eq(outlen[0], STREAM);
	cr_expect_eq(memcmp(out[0], stream, STREAM), 0);
	cr_expect_eq(mcp_tcp_reasm_stats(r)->midstream, 1);
	cr_expect_eq(mcp_tcp_reasm_stats(r)->out_of_order, 2);
	mcp_tcp_reasm_destroy(r);
}

Test(tcp_reasm, a_hole_beyond_the_bounds_is_a_counted_gap)
{
	struct mcp_tcp_reasm *r = mk(16, 2);
	uint32_t isn = 77;

	seg(r, 0, isn, 0, 100, 0, 40002);
	seg(r, 0, isn, 200, 100, 0, 40002);
	seg(r, 0, isn, 400, 100, 0, 40002);
	seg(r, 0, isn, 600, 100, 0, 40002); /* third held segment: over the limit of 2 */
	cr_expect_eq(gaps[0], 3, "holes 100-200, 300-400, 500-600 given up");
	cr_expect_eq(gap_bytes[0], 300);
	cr_expect_eq(outlen[0], 400);
	cr_expect_eq(memcmp(out[0] + 100, stream + 200, 100), 0);
	cr_expect_eq(memcmp(out[0] + 300, stream + 600, 100), 0);
	seg(r, 0, isn, 700, 100, 0, 40002);
	cr_expect_eq(outlen[0], 500, "in order again after the gap");
	cr_expect_eq(mcp_tcp_reasm_stats(r)->gaps, 3);
	mcp_tcp_reasm_destroy(r);
}

Test(tcp_reasm, fin_gives_up_a_hole_and_ends_the_connection)
{
	struct mcp_tcp_reasm *r = mk(16, 8);

	seg(r, 0, 5, 0, 100, 0, 40003);
	seg(r, 0, 5, 150, 50, 0x01, 40003); /* FIN with its data after a hole */
	cr_expect_eq(gaps[0], 1);
	cr_expect_eq(outlen[0], 150);
	seg(r, 1, 9, 0, 10, 0x01, 40003);
	cr_expect_eq(frees, 1, "both FINs: connection gone");
	seg(r, 1, 9, 10, 10, 0, 40003); /* after the end: a new, mid-stream connection */
	cr_expect_eq(mcp_tcp_reasm_stats(r)->conns, 2);
	mcp_tcp_reasm_destroy(r);
}

Test(tcp_reasm, full_table_evicts_and_untracked_segments_are_ignored)
{
	struct mcp_tcp_reasm *r = mk(4, 8);
	struct mcp_pkt p;

	for (uint16_t c = 0; c < 10; c++)
		seg(r, 0, 1, 0, 10, 0, (uint16_t)(41000 + c));
	cr_expect_eq(mcp_tcp_reasm_stats(r)->evicted, 6);
	cr_expect_eq(frees, 6);
	memset(&p, 0, sizeof(p));
	p.l4_proto = 6;
	p.flags = MCP_PKTF_HAS_PORTS;
	p.sport = 1;
	p.dport = 2;
	cr_expect_eq(mcp_tcp_reasm_segment(r, &p, 0), 0, "not created without may_create");
	mcp_tcp_reasm_destroy(r);
}
