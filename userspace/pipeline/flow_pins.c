/* flow_pins.c - flow -> shard pins of the dispatcher (flow_pins.h): an array of pins with a
 * free list, indexed by util/oa_index. The array is reserved for the bound in 2 MiB pages
 * (util/hugemem) and touched only as pins are used: in 4 KiB pages every pin read missed the
 * TLB (a page walk of a guest's tables, about as slow as the cache miss itself). */
#include "pipeline/flow_pins.h"

#include <stdlib.h>
#include <string.h>

#include "util/hugemem.h"
#include "util/oa_index.h"

#define PINS_INDEX_START 8192 /* pairs: 64 KiB, doubling with the pin count */

struct mcp_flow_pins {
	struct mcp_flow_pin *pins;
	struct mcp_oa_index index; /* key hash -> pins[] slot */
	uint32_t cap, used_hw;     /* pins[0..used_hw) handed out at least once, of cap */
	uint32_t free_head;        /* free list through last_seq of unused pins */
	uint64_t failures;
};

struct mcp_flow_pins *mcp_flow_pins_create(uint32_t max_pins)
{
	struct mcp_flow_pins *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->cap = max_pins < 64 ? 64 : max_pins;
	p->free_head = UINT32_MAX;
	p->pins = mcp_huge_zalloc((size_t)p->cap * sizeof(*p->pins));
	if (!p->pins || mcp_oa_index_init(&p->index, PINS_INDEX_START, p->cap) < 0) {
		mcp_flow_pins_destroy(p);
		return NULL;
	}
	return p;
}

void mcp_flow_pins_destroy(struct mcp_flow_pins *p)
{
	if (!p)
		return;
	mcp_oa_index_free(&p->index);
	mcp_huge_free(p->pins, (size_t)p->cap * sizeof(*p->pins));
	free(p);
}

static struct mcp_flow_pin *find(struct mcp_flow_pins *p, const struct mcp_flow_key *k,
				 uint32_t hash)
{
	uint32_t pos, i;

	for (i = mcp_oa_index_first(&p->index, hash, &pos); i != MCP_OA_NONE;
	     i = mcp_oa_index_next(&p->index, hash, &pos))
		if (!memcmp(&p->pins[i].key, k, sizeof(*k)))
			return &p->pins[i];
	return NULL;
}

void mcp_flow_pins_prefetch(const struct mcp_flow_pins *p, uint32_t hash, int stage)
{
	uint32_t pos, i;

	if (!stage) {
		mcp_oa_index_prefetch(&p->index, hash);
		return;
	}
	i = mcp_oa_index_first(&p->index, hash, &pos);
	if (i != MCP_OA_NONE) {
		__builtin_prefetch(&p->pins[i]);
		__builtin_prefetch((const char *)&p->pins[i] + 64);
	}
}

/* A free slot of pins[]; UINT32_MAX when all max_pins are in use. */
static uint32_t slot_take(struct mcp_flow_pins *p)
{
	uint32_t i = p->free_head;

	if (i != UINT32_MAX) {
		p->free_head = (uint32_t)p->pins[i].last_seq;
		return i;
	}
	return p->used_hw < p->cap ? p->used_hw++ : UINT32_MAX;
}

struct mcp_flow_pin *mcp_flow_pins_get(struct mcp_flow_pins *p, const struct mcp_flow_key *k,
				       uint32_t hash, int *added)
{
	struct mcp_flow_pin *s = find(p, k, hash);
	uint32_t i;

	*added = 0;
	if (s)
		return s;
	i = slot_take(p);
	if (i == UINT32_MAX || mcp_oa_index_insert(&p->index, hash, i) < 0) {
		if (i != UINT32_MAX) {
			p->pins[i].last_seq = p->free_head;
			p->free_head = i;
		}
		p->failures++;
		return NULL;
	}
	s = &p->pins[i];
	memset(s, 0, sizeof(*s));
	s->key = *k;
	s->hash = hash;
	*added = 1;
	return s;
}

void mcp_flow_pins_remove(struct mcp_flow_pins *p, const struct mcp_flow_key *k, uint32_t hash,
			  uint64_t end_seq)
{
	struct mcp_flow_pin *s = find(p, k, hash);
	uint32_t i;

	if (!s || s->last_seq >= end_seq)
		return;
	i = (uint32_t)(s - p->pins);
	mcp_oa_index_remove(&p->index, hash, i);
	s->last_seq = p->free_head;
	p->free_head = i;
}

uint32_t mcp_flow_pins_count(const struct mcp_flow_pins *p)
{
	return mcp_oa_index_count(&p->index);
}

uint64_t mcp_flow_pins_failures(const struct mcp_flow_pins *p)
{
	return p->failures;
}
