/* test_decode_ipfrag.c - Criterion tests of the IP reassembly table (userspace/decode/ipfrag.c).
 *
 * Hand-made IPv4/IPv6 headers and payload pieces with known contents: order, duplicates,
 * overlaps (RFC 5722), oversize, bad lengths, timeout, eviction, and buffer lifetime.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "decode/ipfrag.h"

static uint8_t payload[4000];

static void init_payload(void)
{
	size_t i;

	for (i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7 + 3);
}

static const uint8_t ip4_hdr[20] = { 0x45, 0, 0, 0, 0x12, 0x34, 0x20, 0, 64, 17, 0, 0,
				     10, 0, 0, 1, 10, 0, 0, 2 };

static struct mcp_ipfrag_key key4(uint32_t id, uint8_t level)
{
	struct mcp_ipfrag_key k;
	uint8_t a[4] = { 10, 0, 0, 1 }, b[4] = { 10, 0, 0, 2 };

	memset(&k, 0, sizeof(k));
	mcp_ip_from_v4(&k.src, a);
	mcp_ip_from_v4(&k.dst, b);
	k.id = id;
	k.proto = 17;
	k.version = 4;
	k.level = level;
	return k;
}

static int add4(struct mcp_ipfrag *f, uint32_t id, uint32_t off, uint32_t len, int more,
		uint64_t ts, const uint8_t **out, uint32_t *out_len)
{
	struct mcp_ipfrag_key k = key4(id, 0);
	struct mcp_ipfrag_piece pc = { .hdr = ip4_hdr, .hdr_len = 20, .more = (uint8_t)more,
				       .offset = off, .data = payload + off % 2000,
				       .len = len };

	return mcp_ipfrag_add(f, &k, &pc, ts, out, out_len);
}

static uint16_t csum(const uint8_t *h, size_t n)
{
	uint32_t s = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)h[i] << 8 | h[i + 1];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

Test(ipfrag, ipv4_out_of_order_and_header_rewrite, .init = init_payload)
{
	struct mcp_ipfrag *f = mcp_ipfrag_create(16, 1000);
	const uint8_t *out = NULL;
	uint32_t len = 0;

	cr_assert_not_null(f);
	cr_expect_eq(add4(f, 1, 1600, 100, 0, 1, &out, &len), 0);
	cr_expect_eq(add4(f, 1, 800, 800, 1, 2, &out, &len), 0);
	cr_expect_eq(mcp_ipfrag_pending(f), 1);
	cr_assert_eq(add4(f, 1, 0, 800, 1, 3, &out, &len), 1);
	cr_expect_eq(len, 20 + 1700);
	cr_expect_eq(out[2] << 8 | out[3], 1720, "total length rewritten");
	cr_expect_eq(out[6] & 0x3f, 0, "MF/offset cleared");
	cr_expect_eq(out[7], 0);
	cr_expect_eq(csum(out, 20), 0, "header checksum valid");
	cr_expect_eq(memcmp(out + 20, payload, 800), 0, "payload in order");
	cr_expect_eq(memcmp(out + 820, payload + 800, 800), 0);
	cr_expect_eq(memcmp(out + 1620, payload + 1600 % 2000, 100), 0);
	cr_expect_eq(mcp_ipfrag_pending(f), 0);
	cr_expect_eq(mcp_ipfrag_take_drops(f), 0);
	mcp_ipfrag_destroy(f);
}

Test(ipfrag, duplicate_is_ignored, .init = init_payload)
{
	struct mcp_ipfrag *f = mcp_ipfrag_create(16, 1000);
	const uint8_t *out;
	uint32_t len;

	cr_expect_eq(add4(f, 2, 0, 800, 1, 1, &out, &len), 0);
	cr_expect_eq(add4(f, 2, 0, 800, 1, 1, &out, &len), 0);
	cr_expect_eq(add4(f, 2, 800, 8, 0, 1, &out, &len), 1);
	cr_expect_eq(len, 828);
	mcp_ipfrag_destroy(f);
}

Test(ipfrag, invalid_pieces_drop_the_datagram, .init = init_payload)
{
	struct mcp_ipfrag *f = mcp_ipfrag_create(16, 1000);
	const uint8_t *out;
	uint32_t len;

	/* overlap */
	cr_expect_eq(add4(f, 3, 0, 800, 1, 1, &out, &len), 0);
	cr_expect_eq(add4(f, 3, 400, 800, 1, 1, &out, &len), -EBADMSG);
	cr_expect_eq(mcp_ipfrag_pending(f), 0);
	/* non-last fragment not a multiple of 8 */
	cr_expect_eq(add4(f, 4, 0, 801, 1, 1, &out, &len), -EBADMSG);
	/* empty non-last fragment */
	cr_expect_eq(add4(f, 4, 8, 0, 1, 1, &out, &len), -EBADMSG);
	/* beyond 65535 */
	cr_expect_eq(add4(f, 5, 65528, 16, 0, 1, &out, &len), -EBADMSG);
	/* two different last fragments */
	cr_expect_eq(add4(f, 6, 800, 8, 0, 1, &out, &len), 0);
	cr_expect_eq(add4(f, 6, 1600, 8, 0, 1, &out, &len), -EBADMSG);
	/* data beyond a known end */
	cr_expect_eq(add4(f, 7, 800, 8, 0, 1, &out, &len), 0);
	cr_expect_eq(add4(f, 7, 1600, 8, 1, 1, &out, &len), -EBADMSG);
	/* last fragment ending before data already received */
	cr_expect_eq(add4(f, 8, 1600, 8, 1, 1, &out, &len), 0);
	cr_expect_eq(add4(f, 8, 0, 800, 0, 1, &out, &len), -EBADMSG);
	cr_expect_eq(mcp_ipfrag_pending(f), 0);
	cr_expect_eq(mcp_ipfrag_take_drops(f), 0, "explicit drops are reported by the return");
	mcp_ipfrag_destroy(f);
}

Test(ipfrag, too_many_pieces, .init = init_payload)
{
	struct mcp_ipfrag *f = mcp_ipfrag_create(4, 1000);
	const uint8_t *out;
	uint32_t len, i;
	int rc = 0;

	for (i = 0; i < MCP_IPFRAG_MAX_PIECES; i++)
		cr_assert_eq(add4(f, 9, 8 + i * 8, 8, 1, 1, &out, &len), 0);
	rc = add4(f, 9, 8 + i * 8, 8, 1, 1, &out, &len);
	cr_expect_eq(rc, -EBADMSG);
	mcp_ipfrag_destroy(f);
}

Test(ipfrag, timeout_uses_packet_time, .init = init_payload)
{
	struct mcp_ipfrag *f = mcp_ipfrag_create(16, 2000);
	const uint8_t *out;
	uint32_t len;

	cr_expect_eq(add4(f, 10, 0, 800, 1, 1000000, &out, &len), 0);
	cr_expect_eq(add4(f, 11, 0, 800, 1, 2500000, &out, &len), 0);
	/* 3.0 s + 1 us: datagram 10 (first seen at 1.0 s) is older than 2 s */
	cr_expect_eq(add4(f, 11, 800, 8, 0, 3000001, &out, &len), 1);
	cr_expect_eq(mcp_ipfrag_take_drops(f), 1);
	cr_expect_eq(mcp_ipfrag_take_drops(f), 0, "take resets");
	cr_expect_eq(add4(f, 10, 800, 8, 0, 3000002, &out, &len), 0, "10 starts over");
	mcp_ipfrag_destroy(f);
}

Test(ipfrag, table_full_evicts_oldest, .init = init_payload)
{
	struct mcp_ipfrag *f = mcp_ipfrag_create(2, 60000);
	const uint8_t *out;
	uint32_t len;

	cr_expect_eq(add4(f, 20, 0, 800, 1, 1, &out, &len), 0);
	cr_expect_eq(add4(f, 21, 0, 800, 1, 2, &out, &len), 0);
	cr_expect_eq(add4(f, 22, 0, 800, 1, 3, &out, &len), 0);
	cr_expect_eq(mcp_ipfrag_pending(f), 2);
	cr_expect_eq(mcp_ipfrag_take_drops(f), 1);
	cr_expect_eq(add4(f, 21, 800, 8, 0, 4, &out, &len), 1);
	cr_expect_eq(add4(f, 22, 800, 8, 0, 5, &out, &len), 1);
	cr_expect_eq(add4(f, 20, 800, 8, 0, 6, &out, &len), 0, "20 was evicted");
	mcp_ipfrag_destroy(f);
}

Test(ipfrag, ipv6_removes_fragment_header, .init = init_payload)
{
	struct mcp_ipfrag *f = mcp_ipfrag_create(16, 1000);
	uint8_t hdr[48] = { 0x60, 0, 0, 0, 0, 0, 0 /* HBH */, 64 };
	struct mcp_ipfrag_key k;
	struct mcp_ipfrag_piece pc = { .hdr = hdr, .hdr_len = 48, .nh_off = 40, .next_proto = 6 };
	const uint8_t *out;
	uint32_t len;

	memset(&k, 0, sizeof(k));
	k.src.b[15] = 1;
	k.dst.b[15] = 2;
	k.id = 0xdeadbeef;
	k.version = 6;
	hdr[40] = 44; /* HBH next header = Fragment */
	pc.offset = 1200;
	pc.data = payload + 1200;
	pc.len = 50;
	cr_expect_eq(mcp_ipfrag_add(f, &k, &pc, 1, &out, &len), 0);
	pc.offset = 0;
	pc.data = payload;
	pc.len = 1200;
	pc.more = 1;
	cr_assert_eq(mcp_ipfrag_add(f, &k, &pc, 1, &out, &len), 1);
	cr_expect_eq(len, 48 + 1250);
	cr_expect_eq(out[4] << 8 | out[5], 8 + 1250, "payload length");
	cr_expect_eq(out[6], 0, "IPv6 next header still HBH");
	cr_expect_eq(out[40], 6, "HBH next header now TCP");
	cr_expect_eq(memcmp(out + 48, payload, 1250), 0);
	mcp_ipfrag_destroy(f);
}

Test(ipfrag, outer_output_survives_inner_completion, .init = init_payload)
{
	struct mcp_ipfrag *f = mcp_ipfrag_create(16, 1000);
	struct mcp_ipfrag_key ko = key4(30, 0), ki = key4(30, 1);
	struct mcp_ipfrag_piece pc = { .hdr = ip4_hdr, .hdr_len = 20, .more = 1, .data = payload,
				       .len = 8 };
	const uint8_t *outer, *inner;
	uint32_t olen, ilen;
	uint8_t copy[36];

	cr_expect_eq(mcp_ipfrag_add(f, &ko, &pc, 1, &outer, &olen), 0);
	pc.more = 0;
	pc.offset = 8;
	pc.data = payload + 8;
	cr_assert_eq(mcp_ipfrag_add(f, &ko, &pc, 1, &outer, &olen), 1);
	memcpy(copy, outer, olen);
	/* an inner datagram with the same addresses and id completes at level 1 */
	pc.offset = 0;
	pc.more = 1;
	pc.data = payload + 100;
	cr_expect_eq(mcp_ipfrag_add(f, &ki, &pc, 2, &inner, &ilen), 0);
	pc.offset = 8;
	pc.more = 0;
	cr_assert_eq(mcp_ipfrag_add(f, &ki, &pc, 2, &inner, &ilen), 1);
	cr_expect_neq(inner, outer);
	cr_expect_eq(memcmp(copy, outer, olen), 0, "outer datagram intact");
	mcp_ipfrag_destroy(f);
}

/* A full table evicts its oldest datagram; a completed datagram's entry is taken again
 * before any the table never used (both halves of its free list). */
Test(ipfrag, full_table_evicts_oldest_and_reuses_entries, .init = init_payload)
{
	struct mcp_ipfrag *f = mcp_ipfrag_create(2, 10000);
	const uint8_t *out;
	uint32_t len;

	cr_assert_eq(add4(f, 1, 0, 800, 1, 1000, &out, &len), 0);
	cr_assert_eq(add4(f, 2, 0, 800, 1, 2000, &out, &len), 0);
	cr_expect_eq(add4(f, 3, 0, 800, 1, 3000, &out, &len), 0);
	cr_expect_eq(mcp_ipfrag_take_drops(f), 1, "datagram 1, the oldest, made room");
	cr_expect_eq(add4(f, 2, 800, 8, 0, 4000, &out, &len), 1, "2 was kept");
	cr_expect_eq(len, 20 + 808);
	cr_expect_eq(add4(f, 1, 800, 8, 0, 5000, &out, &len), 0, "1 starts over");
	cr_expect_eq(mcp_ipfrag_take_drops(f), 0, "2's entry was free for it");
	cr_expect_eq(add4(f, 3, 800, 8, 0, 6000, &out, &len), 1, "3 was kept");
	cr_expect_eq(add4(f, 4, 0, 800, 1, 7000, &out, &len), 0);
	cr_expect_eq(mcp_ipfrag_take_drops(f), 0, "3's entry was free for it");
	mcp_ipfrag_destroy(f);
}
