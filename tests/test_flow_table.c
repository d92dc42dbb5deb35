/* test_flow_table.c - flow table: canonical keys, lookup/insert/remove against a reference model,
 * LRU order, closing FIFO, capacity bound. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "flow/flow.h"

static struct mcp_ip ip4(uint32_t v)
{
	struct mcp_ip ip;
	uint8_t b[4] = { v >> 24, v >> 16, v >> 8, v };

	mcp_ip_from_v4(&ip, b);
	return ip;
}

Test(flow, key_is_canonical_both_directions)
{
	struct mcp_ip a = ip4(0x0a000001), b = ip4(0x0a000002);
	struct mcp_flow_key k1, k2;
	int d1 = mcp_flow_key_make(&k1, &a, &b, 1000, 80, 6, 0);
	int d2 = mcp_flow_key_make(&k2, &b, &a, 80, 1000, 6, 0);

	cr_assert_eq(memcmp(&k1, &k2, sizeof(k1)), 0);
	cr_assert_eq(d1, 0, "10.0.0.1 is the lo side");
	cr_assert_eq(d2, 1);
	cr_assert_eq(mcp_flow_key_hash(&k1), mcp_flow_key_hash(&k2));
	/* same addresses, ports decide the order */
	mcp_flow_key_make(&k1, &a, &a, 2000, 1000, 17, 0);
	cr_assert_eq(k1.lo_port, 1000);
	/* VLAN and protocol are part of the key */
	mcp_flow_key_make(&k2, &a, &a, 2000, 1000, 17, 5);
	cr_assert_neq(memcmp(&k1, &k2, sizeof(k1)), 0);
}

/* Random inserts and removes checked against a simple presence array: exercises the
 * backward-shift deletion with many collisions in a small table. */
Test(flow, random_ops_match_reference)
{
	enum { N = 2000, OPS = 200000 };
	struct mcp_flow_table *t = mcp_flow_table_create(N);
	struct mcp_flow *present[N * 2] = { 0 };
	struct mcp_ip a = ip4(0x01020304), b = ip4(0x05060708);
	uint32_t count = 0;

	cr_assert_not_null(t);
	srand(7);
	for (int op = 0; op < OPS; op++) {
		uint16_t port = (uint16_t)(rand() % (N * 2));
		struct mcp_flow_key k;
		uint32_t h;
		struct mcp_flow *f;

		mcp_flow_key_make(&k, &a, &b, port, 443, 6, 0);
		h = mcp_flow_key_hash(&k);
		f = mcp_flow_table_lookup(t, &k, h);
		cr_assert_eq(f, present[port], "lookup of port %u disagrees at op %d", port, op);
		if (f) {
			mcp_flow_table_remove(t, f);
			present[port] = NULL;
			count--;
		} else if (count < N) {
			f = mcp_flow_table_insert(t, &k, h);
			cr_assert_not_null(f);
			present[port] = f;
			count++;
		} else {
			cr_assert_null(mcp_flow_table_insert(t, &k, h), "insert beyond capacity");
		}
		cr_assert_eq(mcp_flow_table_count(t), count);
	}
	mcp_flow_table_destroy(t);
}

Test(flow, lru_and_closing_order)
{
	struct mcp_flow_table *t = mcp_flow_table_create(8);
	struct mcp_ip a = ip4(1), b = ip4(2);
	struct mcp_flow *f[3];

	for (int i = 0; i < 3; i++) {
		struct mcp_flow_key k;

		mcp_flow_key_make(&k, &a, &b, (uint16_t)(100 + i), 53, 17, 0);
		f[i] = mcp_flow_table_insert(t, &k, mcp_flow_key_hash(&k));
	}
	cr_assert_eq(mcp_flow_table_oldest(t), f[0]);
	mcp_flow_table_touch(t, f[0]);
	cr_assert_eq(mcp_flow_table_oldest(t), f[1]);
	mcp_flow_table_close(t, f[1]);
	cr_assert_eq(mcp_flow_table_oldest(t), f[2]);
	cr_assert_eq(mcp_flow_table_oldest_closing(t), f[1]);
	mcp_flow_table_remove(t, f[1]);
	cr_assert_null(mcp_flow_table_oldest_closing(t));
	cr_assert_eq(mcp_flow_table_count(t), 2);
	mcp_flow_table_destroy(t);
}
