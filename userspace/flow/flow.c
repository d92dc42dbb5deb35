/* flow.c - the flow table: slab of flows, open-addressing index, LRU and closing lists.
 *
 * Flows live in one slab allocated up front (pages are touched only as flows are used, so
 * RSS follows the real flow count); the index is util/oa_index.c, (hash, slot) pairs probed
 * linearly. It starts small and doubles with the flow count: sized for the table's bound it
 * would spread a few thousand live flows over megabytes and every lookup would miss the
 * cache. Nothing here allocates per packet except those doublings.
 */
#include "flow/flow.h"

#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "util/hugemem.h"
#include "util/oa_index.h"

#define FLOW_INDEX_START 1024 /* pairs: 8 KiB, in cache while the table is small */

struct flow_list {
	uint32_t head, tail;
};

struct mcp_flow_table {
	struct mcp_flow *flows;
	struct mcp_oa_index index; /* key hash -> flow index */
	uint32_t max_flows;
	uint32_t used_hw;       /* flows[0..used_hw) have been handed out at least once */
	uint32_t free_head;     /* free list through flow.next */
	uint32_t count;
	struct flow_list lru, closing;
};

struct mcp_flow_table *mcp_flow_table_create(uint32_t max_flows)
{
	struct mcp_flow_table *t = calloc(1, sizeof(*t));

	if (!t || !max_flows)
		goto err;
	t->flows = mcp_huge_zalloc((size_t)max_flows * sizeof(*t->flows));
	if (!t->flows || mcp_oa_index_init(&t->index, FLOW_INDEX_START, max_flows) < 0)
		goto err;
	t->max_flows = max_flows;
	t->free_head = MCP_FLOW_NONE;
	t->lru.head = t->lru.tail = MCP_FLOW_NONE;
	t->closing.head = t->closing.tail = MCP_FLOW_NONE;
	return t;
err:
	if (t) {
		mcp_huge_free(t->flows, (size_t)max_flows * sizeof(*t->flows));
		free(t);
	}
	return NULL;
}

void mcp_flow_table_destroy(struct mcp_flow_table *t)
{
	if (!t)
		return;
	mcp_huge_free(t->flows, (size_t)t->max_flows * sizeof(*t->flows));
	mcp_oa_index_free(&t->index);
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

void mcp_flow_table_prefetch(const struct mcp_flow_table *t, uint32_t hash, int stage)
{
	uint32_t pos, idx;

	if (!stage) {
		mcp_oa_index_prefetch(&t->index, hash);
		return;
	}
	idx = mcp_oa_index_first(&t->index, hash, &pos);
	if (idx != MCP_OA_NONE) {
		__builtin_prefetch(&t->flows[idx]);
		__builtin_prefetch((const char *)&t->flows[idx] + 64);
	}
}

struct mcp_flow *mcp_flow_table_lookup(struct mcp_flow_table *t, const struct mcp_flow_key *k,
				       uint32_t hash)
{
	uint32_t pos, idx;

	for (idx = mcp_oa_index_first(&t->index, hash, &pos); idx != MCP_OA_NONE;
	     idx = mcp_oa_index_next(&t->index, hash, &pos)) {
		struct mcp_flow *f = &t->flows[idx];

		if (!memcmp(&f->key, k, sizeof(*k)))
			return f;
	}
	return NULL;
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

struct mcp_flow *mcp_flow_table_insert(struct mcp_flow_table *t, const struct mcp_flow_key *k,
				       uint32_t hash)
{
	struct mcp_flow *f;
	uint32_t idx;

	if (t->count >= t->max_flows)
		return NULL;
	idx = t->free_head != MCP_FLOW_NONE ? t->free_head : t->used_hw;
	if (mcp_oa_index_insert(&t->index, hash, idx) < 0)
		return NULL;
	if (idx == t->free_head)
		t->free_head = t->flows[idx].next;
	else
		t->used_hw++;
	f = &t->flows[idx];
	memset(f, 0, sizeof(*f));
	f->key = *k;
	f->hash = hash;
	t->count++;
	list_append(t, &t->lru, f);
	return f;
}

void mcp_flow_table_remove(struct mcp_flow_table *t, struct mcp_flow *f)
{
	uint32_t idx = flow_idx(t, f);

	mcp_oa_index_remove(&t->index, f->hash, idx);
	list_unlink(t, flow_list_of(t, f), f);
	f->flags = 0;
	f->next = t->free_head;
	t->free_head = idx;
	t->count--;
}

void mcp_flow_table_touch(struct mcp_flow_table *t, struct mcp_flow *f)
{
	struct flow_list *l = flow_list_of(t, f);

	if ((f->flags & MCP_FLOWF_CLOSING) || l->tail == flow_idx(t, f))
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
