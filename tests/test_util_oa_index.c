/* test_util_oa_index.c - the open-addressing index against a reference model: random
 * insert/lookup/remove sequences, with hashes that collide on purpose so that probe runs wrap
 * and backward shifts move pairs across the end of the array. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/oa_index.h"

#define NKEYS 4096

/* Hash of key k with only `bits` significant bits: many keys per home position. */
static uint32_t weak_hash(uint32_t k, int bits)
{
	uint32_t h = (k * 2654435761u) >> (32 - bits);

	return h ? h : 1;
}

static int index_has(const struct mcp_oa_index *x, uint32_t hash, uint32_t slot)
{
	uint32_t pos, s;

	for (s = mcp_oa_index_first(x, hash, &pos); s != MCP_OA_NONE;
	     s = mcp_oa_index_next(x, hash, &pos))
		if (s == slot)
			return 1;
	return 0;
}

static void run_model(uint32_t start, uint64_t max_entries, int bits, unsigned int seed,
		      int steps)
{
	static uint8_t present[NKEYS];
	struct mcp_oa_index x;
	uint32_t n = 0, k;
	int i;

	memset(present, 0, sizeof(present));
	srand(seed);
	cr_assert_eq(mcp_oa_index_init(&x, start, max_entries), 0);
	for (i = 0; i < steps; i++) {
		k = (uint32_t)rand() % NKEYS;
		switch (rand() % 3) {
		case 0: { /* insert if absent */
			int rc;

			if (present[k])
				break;
			rc = mcp_oa_index_insert(&x, weak_hash(k, bits), k);
			if (rc == -ENOSPC) {
				cr_assert_geq(n, max_entries, "full at %u of %llu", n,
					      (unsigned long long)max_entries);
				break;
			}
			cr_assert_eq(rc, 0);
			present[k] = 1;
			n++;
			break;
		}
		case 1: /* remove */
			cr_assert_eq(mcp_oa_index_remove(&x, weak_hash(k, bits), k),
				     present[k] ? 0 : -ENOENT, "remove %u (present %d)", k, present[k]);
			if (present[k])
				n--;
			present[k] = 0;
			break;
		default:
			cr_assert_eq(index_has(&x, weak_hash(k, bits), k), present[k],
				     "lookup %u at step %d", k, i);
		}
		cr_assert_eq(mcp_oa_index_count(&x), n);
		cr_assert_lt(x.count, x.mask + 1, "one pair always stays empty");
	}
	for (k = 0; k < NKEYS; k++) /* everything the model holds, nothing else */
		cr_assert_eq(index_has(&x, weak_hash(k, bits), k), present[k], "final %u", k);
	mcp_oa_index_free(&x);
}

Test(oa_index, matches_model_spread_hashes)
{
	run_model(16, NKEYS, 32, 1, 200000);
}

Test(oa_index, matches_model_colliding_hashes)
{
	/* 6 bits: ~64 keys per hash value; runs wrap around the array */
	run_model(16, NKEYS, 6, 2, 100000);
}

Test(oa_index, matches_model_bounded_growth)
{
	/* at most 100 entries asked: 256 pairs, the index refuses the 256th entry only */
	run_model(16, 100, 12, 3, 100000);
}

Test(oa_index, grows_and_stays_half_full)
{
	struct mcp_oa_index x;
	uint32_t k;

	cr_assert_eq(mcp_oa_index_init(&x, 16, 1 << 20), 0);
	for (k = 0; k < 10000; k++)
		cr_assert_eq(mcp_oa_index_insert(&x, weak_hash(k, 32), k), 0);
	cr_assert_leq(x.count * 2ull, x.mask + 1ull);
	cr_assert_eq(x.mask + 1, 32768);
	for (k = 0; k < 10000; k++)
		cr_assert(index_has(&x, weak_hash(k, 32), k));
	mcp_oa_index_free(&x);
}

Test(oa_index, refuses_bad_bounds)
{
	struct mcp_oa_index x;

	cr_assert_eq(mcp_oa_index_init(&x, 16, 0), -EINVAL);
	cr_assert_eq(mcp_oa_index_init(&x, 16, 1ull << 32), -EINVAL);
}

Test(oa_index, remove_of_absent_pair)
{
	struct mcp_oa_index x;

	cr_assert_eq(mcp_oa_index_init(&x, 16, 64), 0);
	cr_assert_eq(mcp_oa_index_remove(&x, 5, 1), -ENOENT);
	cr_assert_eq(mcp_oa_index_insert(&x, 5, 1), 0);
	cr_assert_eq(mcp_oa_index_remove(&x, 5, 2), -ENOENT);
	cr_assert_eq(mcp_oa_index_remove(&x, 5, 1), 0);
	cr_assert_eq(mcp_oa_index_count(&x), 0);
	mcp_oa_index_free(&x);
}
