/* oa_index.c - open-addressing hash -> slot index (oa_index.h): linear probing, doubling at
 * half load, backward-shift removal. Used by the flow table and the session indexes. */
#include "util/oa_index.h"

#include <errno.h>

#include "util/hugemem.h"

static struct mcp_oa_pair *mcp_oa_alloc(uint32_t mask)
{
	return mcp_huge_zalloc((mask + 1ull) * sizeof(struct mcp_oa_pair));
}

static void mcp_oa_release(struct mcp_oa_pair *pairs, uint32_t mask)
{
	mcp_huge_free(pairs, (mask + 1ull) * sizeof(struct mcp_oa_pair));
}

static uint32_t mcp_oa_mask_for(uint64_t n)
{
	uint64_t cap = 16;

	while (cap < n)
		cap <<= 1;
	return (uint32_t)(cap - 1);
}

int mcp_oa_index_init(struct mcp_oa_index *x, uint32_t start, uint64_t max_entries)
{
	if (!max_entries || max_entries > (1ull << 31))
		return -EINVAL;
	x->max_mask = mcp_oa_mask_for(2 * max_entries);
	x->mask = mcp_oa_mask_for(start);
	if (x->mask > x->max_mask)
		x->mask = x->max_mask;
	x->count = 0;
	x->pairs = mcp_oa_alloc(x->mask);
	return x->pairs ? 0 : -ENOMEM;
}

void mcp_oa_index_free(struct mcp_oa_index *x)
{
	if (x->pairs)
		mcp_oa_release(x->pairs, x->mask);
	x->pairs = NULL;
}

static void mcp_oa_place(struct mcp_oa_pair *pairs, uint32_t mask, uint32_t hash, uint32_t slot1)
{
	uint32_t i;

	for (i = hash & mask; pairs[i].slot1; i = (i + 1) & mask)
		;
	pairs[i].hash = hash;
	pairs[i].slot1 = slot1;
}

/* Doubles the index when one more entry would pass half full; on allocation failure it stays
 * as it is (longer probes, still correct while one pair stays empty). */
static void mcp_oa_grow(struct mcp_oa_index *x)
{
	uint32_t nmask = x->mask * 2 + 1;
	struct mcp_oa_pair *np;
	uint64_t i;

	if ((x->count + 1) * 2ull <= x->mask + 1ull || x->mask >= x->max_mask)
		return;
	np = mcp_oa_alloc(nmask);
	if (!np)
		return;
	for (i = 0; i <= x->mask; i++)
		if (x->pairs[i].slot1)
			mcp_oa_place(np, nmask, x->pairs[i].hash, x->pairs[i].slot1);
	mcp_oa_release(x->pairs, x->mask);
	x->pairs = np;
	x->mask = nmask;
}

int mcp_oa_index_insert(struct mcp_oa_index *x, uint32_t hash, uint32_t slot)
{
	mcp_oa_grow(x);
	if (x->count >= x->mask) /* keep one pair empty: probes end */
		return -ENOSPC;
	mcp_oa_place(x->pairs, x->mask, hash, slot + 1);
	x->count++;
	return 0;
}

/* Backward shift: later members of the probe run move into the hole, so that every run stays
 * unbroken without tombstones. */
static void mcp_oa_delete_at(struct mcp_oa_index *x, uint32_t i)
{
	uint32_t j = i;

	for (;;) {
		uint32_t home;

		j = (j + 1) & x->mask;
		if (!x->pairs[j].slot1)
			break;
		home = x->pairs[j].hash & x->mask;
		/* j may move to i only if its home does not lie cyclically in (i, j] */
		if (((j - home) & x->mask) >= ((j - i) & x->mask)) {
			x->pairs[i] = x->pairs[j];
			i = j;
		}
	}
	x->pairs[i].slot1 = 0;
	x->pairs[i].hash = 0;
	x->count--;
}

int mcp_oa_index_remove(struct mcp_oa_index *x, uint32_t hash, uint32_t slot)
{
	uint32_t i = hash & x->mask;

	for (;; i = (i + 1) & x->mask) {
		if (!x->pairs[i].slot1)
			return -ENOENT;
		if (x->pairs[i].slot1 == slot + 1) {
			mcp_oa_delete_at(x, i);
			return 0;
		}
	}
}
