/* flow.c - the flow table: slab of flows, open-addressing index, LRU and closing lists.
 *
 * Flows live in one slab allocated up front (pages are touched only as flows are used, so
 * RSS follows the real flow count); the index is a power-of-two array of (hash, slot) pairs
 * at most half full, probed linearly and compacted by backward shift on removal, so lookups
 * never meet tombstones. The index starts small and doubles with the flow count: sized for
 * the table's bound it would spread a few thousand live flows over megabytes and every
 * lookup would miss the cache. Nothing here allocates per packet except those doublings.
 */
#include "flow/flow.h"

#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "util/hugemem.h"

struct flow_slot {
	uint32_t hash;
	uint32_t idx1; /* flow index + 1; 0 = empty */
};

struct flow_list {
	uint32_t head, tail;
};

struct mcp_flow_table {
	struct mcp_flow *flows;
	struct flow_slot *slots;
	uint32_t mask;          /* slots - 1 */
	uint32_t max_mask;      /* the index never needs more than 2 x max_flows slots */
	uint32_t max_flows;
	uint32_t used_hw;       /* flows[0..used_hw) have been handed out at least once */
	uint32_t free_head;     /* free list through flow.next */
	uint32_t count;
	struct flow_list lru, closing;
};

struct mcp_flow_table *mcp_flow_table_create(uint32_t max_flows)
{
	struct mcp_flow_table *t = calloc(1, sizeof(*t));
	uint64_t max_slots = 16;

	if (!t || !max_flows)
		goto err;
	while (max_slots < 2ull * max_flows)
		max_slots <<= 1;
	if (max_slots > UINT32_MAX)
		goto err;
	t->max_mask = (uint32_t)(max_slots - 1);
	t->mask = (max_slots < 1024 ? (uint32_t)max_slots : 1024) - 1;
	t->flows = mcp_huge_zalloc((size_t)max_flows * sizeof(*t->flows));
	t->slots = mcp_huge_zalloc((t->mask + 1ull) * sizeof(*t->slots));
	if (!t->flows || !t->slots)
		goto err;
	t->max_flows = max_flows;
	t->free_head = MCP_FLOW_NONE;
	t->lru.head = t->lru.tail = MCP_FLOW_NONE;
	t->closing.head = t->closing.tail = MCP_FLOW_NONE;
	return t;
err:
	if (t) {
		mcp_huge_free(t->flows, (size_t)max_flows * sizeof(*t->flows));
		mcp_huge_free(t->slots, (t->mask + 1ull) * sizeof(*t->slots));
		free(t);
	}
	return NULL;
}

void mcp_flow_table_destroy(struct mcp_flow_table *t)
{
	if (!t)
		return;
	mcp_huge_free(t->flows, (size_t)t->max_flows * sizeof(*t->flows));
	mcp_huge_free(t->slots, (t->mask + 1ull) * sizeof(*t->slots));
	free(t);
}

uint32_t mcp_flow_key_hash(const struct mcp_flow_key *k)
{
	return (uint32_t)XXH3_64bits(k, sizeof(*k));
}

static uint32_t flow_idx(const struct mcp_flow_table *t, const struct mcp_flow *f)
{
	return (uint32_t)(f - t->flows);
}

struct mcp_flow *mcp_flow_table_lookup(struct mcp_flow_table *t, const struct mcp_flow_key *k,
				       uint32_t hash)
{
	uint32_t i = hash & t->mask;

	for (;;) {
		const struct flow_slot *s = &t->slots[i];

		if (!s->idx1)
			return NULL;
		if (s->hash == hash) {
			struct mcp_flow *f = &t->flows[s->idx1 - 1];

			if (!memcmp(&f->key, k, sizeof(*k)))
				return f;
		}
		i = (i + 1) & t->mask;
	}
}

static void list_unlink(struct mcp_flow_table *t, struct flow_list *l, struct mcp_flow *f)
{
	if (f->prev != MCP_FLOW_NONE)
		t->flows[f->prev].next = f->next;
	else
		l->head = f->next;
	if (f->next != MCP_FLOW_NONE)
		t->flows[f->next].prev = f->prev;
	else
		l->tail = f->prev;
	f->prev = f->next = MCP_FLOW_NONE;
}

static void list_append(struct mcp_flow_table *t, struct flow_list *l, struct mcp_flow *f)
{
	uint32_t idx = flow_idx(t, f);

	f->next = MCP_FLOW_NONE;
	f->prev = l->tail;
	if (l->tail != MCP_FLOW_NONE)
		t->flows[l->tail].next = idx;
	else
		l->head = idx;
	l->tail = idx;
}

static struct flow_list *flow_list_of(struct mcp_flow_table *t, const struct mcp_flow *f)
{
	return (f->flags & MCP_FLOWF_CLOSING) ? &t->closing : &t->lru;
}

static void slots_place(struct flow_slot *slots, uint32_t mask, uint32_t hash, uint32_t idx1)
{
	uint32_t i;

	for (i = hash & mask; slots[i].idx1; i = (i + 1) & mask)
		;
	slots[i].hash = hash;
	slots[i].idx1 = idx1;
}

/* Doubles the index when it would pass half full; on allocation failure it stays as it is
 * (longer probes, still correct, since it never exceeds one entry per slot). */
static void slots_grow(struct mcp_flow_table *t)
{
	uint32_t nmask = t->mask * 2 + 1;
	struct flow_slot *ns;

	if ((t->count + 1) * 2ull <= t->mask + 1ull || t->mask >= t->max_mask)
		return;
	ns = mcp_huge_zalloc((nmask + 1ull) * sizeof(*ns));
	if (!ns)
		return;
	for (uint64_t i = 0; i <= t->mask; i++)
		if (t->slots[i].idx1)
			slots_place(ns, nmask, t->slots[i].hash, t->slots[i].idx1);
	mcp_huge_free(t->slots, (t->mask + 1ull) * sizeof(*t->slots));
	t->slots = ns;
	t->mask = nmask;
}

struct mcp_flow *mcp_flow_table_insert(struct mcp_flow_table *t, const struct mcp_flow_key *k,
				       uint32_t hash)
{
	struct mcp_flow *f;
	uint32_t idx;

	if (t->count >= t->max_flows || t->count >= t->mask) /* keep one slot empty */
		return NULL;
	slots_grow(t);
	if (t->free_head != MCP_FLOW_NONE) {
		idx = t->free_head;
		t->free_head = t->flows[idx].next;
	} else {
		idx = t->used_hw++;
	}
	f = &t->flows[idx];
	memset(f, 0, sizeof(*f));
	f->key = *k;
	f->hash = hash;
	slots_place(t->slots, t->mask, hash, idx + 1);
	t->count++;
	list_append(t, &t->lru, f);
	return f;
}

/* Backward-shift deletion keeps every probe sequence unbroken without tombstones. */
static void slots_delete(struct mcp_flow_table *t, uint32_t i)
{
	uint32_t j = i;

	for (;;) {
		uint32_t home;

		j = (j + 1) & t->mask;
		if (!t->slots[j].idx1)
			break;
		home = t->slots[j].hash & t->mask;
		/* Move j into the hole at i unless its home lies cyclically in (i, j]. */
		if (((j - home) & t->mask) >= ((j - i) & t->mask)) {
			t->slots[i] = t->slots[j];
			i = j;
		}
	}
	t->slots[i].idx1 = 0;
	t->slots[i].hash = 0;
}

void mcp_flow_table_remove(struct mcp_flow_table *t, struct mcp_flow *f)
{
	uint32_t idx = flow_idx(t, f);
	uint32_t i;

	for (i = f->hash & t->mask; t->slots[i].idx1 != idx + 1; i = (i + 1) & t->mask)
		;
	slots_delete(t, i);
	list_unlink(t, flow_list_of(t, f), f);
	f->flags = 0;
	f->next = t->free_head;
	t->free_head = idx;
	t->count--;
}

void mcp_flow_table_touch(struct mcp_flow_table *t, struct mcp_flow *f)
{
	struct flow_list *l = flow_list_of(t, f);

	if (l->tail == flow_idx(t, f))
		return;
	list_unlink(t, l, f);
	list_append(t, l, f);
}

void mcp_flow_table_close(struct mcp_flow_table *t, struct mcp_flow *f)
{
	if (f->flags & MCP_FLOWF_CLOSING)
		return;
	list_unlink(t, &t->lru, f);
	f->flags |= MCP_FLOWF_CLOSING;
	list_append(t, &t->closing, f);
}

struct mcp_flow *mcp_flow_table_oldest(struct mcp_flow_table *t)
{
	return t->lru.head == MCP_FLOW_NONE ? NULL : &t->flows[t->lru.head];
}

struct mcp_flow *mcp_flow_table_oldest_closing(struct mcp_flow_table *t)
{
	return t->closing.head == MCP_FLOW_NONE ? NULL : &t->flows[t->closing.head];
}

uint32_t mcp_flow_table_count(const struct mcp_flow_table *t)
{
	return t->count;
}

uint32_t mcp_flow_table_capacity(const struct mcp_flow_table *t)
{
	return t->max_flows;
}

void mcp_flow_table_foreach(struct mcp_flow_table *t, void (*fn)(void *ctx, struct mcp_flow *f),
			    void *ctx)
{
	struct flow_list *lists[2] = { &t->lru, &t->closing };

	for (int l = 0; l < 2; l++) {
		uint32_t idx = lists[l]->head;

		while (idx != MCP_FLOW_NONE) {
			uint32_t next = t->flows[idx].next; /* fn may remove this flow */

			fn(ctx, &t->flows[idx]);
			idx = next;
		}
	}
}
