/* flow_pins.c - flow -> shard pins of the dispatcher (flow_pins.h). */
#include "pipeline/flow_pins.h"

#include <stdlib.h>
#include <string.h>

struct mcp_flow_pins {
	struct mcp_flow_pin *slots;
	uint32_t mask, count;
	uint64_t failures;
};

struct mcp_flow_pins *mcp_flow_pins_create(uint32_t initial)
{
	struct mcp_flow_pins *p = calloc(1, sizeof(*p));
	uint32_t n = 1024;

	if (!p)
		return NULL;
	while (n < initial && n < (1u << 30))
		n <<= 1;
	p->slots = calloc(n, sizeof(*p->slots));
	if (!p->slots) {
		free(p);
		return NULL;
	}
	p->mask = n - 1;
	return p;
}

void mcp_flow_pins_destroy(struct mcp_flow_pins *p)
{
	if (p)
		free(p->slots);
	free(p);
}

static struct mcp_flow_pin *find(struct mcp_flow_pins *p, const struct mcp_flow_key *k, uint32_t hash)
{
	for (uint32_t i = hash & p->mask;; i = (i + 1) & p->mask) {
		struct mcp_flow_pin *s = &p->slots[i];

		if (!s->used)
			return s;
		if (s->hash == hash && !memcmp(&s->key, k, sizeof(*k)))
			return s;
	}
}

/* Doubles the table; 0 or -1 when out of memory (the old table stays). */
static int grow(struct mcp_flow_pins *p)
{
	struct mcp_flow_pins bigger = { .mask = p->mask * 2 + 1 };

	if (bigger.mask >= (1u << 30))
		return -1;
	bigger.slots = calloc((size_t)bigger.mask + 1, sizeof(*bigger.slots));
	if (!bigger.slots)
		return -1;
	for (uint32_t i = 0; i <= p->mask; i++)
		if (p->slots[i].used)
			*find(&bigger, &p->slots[i].key, p->slots[i].hash) = p->slots[i];
	free(p->slots);
	p->slots = bigger.slots;
	p->mask = bigger.mask;
	return 0;
}

struct mcp_flow_pin *mcp_flow_pins_get(struct mcp_flow_pins *p, const struct mcp_flow_key *k,
				       uint32_t hash, int *added)
{
	struct mcp_flow_pin *s = find(p, k, hash);

	*added = 0;
	if (s->used)
		return s;
	if ((p->count + 1) * 2 > p->mask + 1) {
		if (grow(p)) {
			p->failures++;
			return NULL;
		}
		s = find(p, k, hash);
	}
	memset(s, 0, sizeof(*s));
	s->key = *k;
	s->hash = hash;
	s->used = 1;
	p->count++;
	*added = 1;
	return s;
}

void mcp_flow_pins_remove(struct mcp_flow_pins *p, const struct mcp_flow_key *k, uint32_t hash,
			  uint64_t end_seq)
{
	struct mcp_flow_pin *s = find(p, k, hash);
	uint32_t hole, i;

	if (!s->used || s->last_seq >= end_seq)
		return;
	hole = (uint32_t)(s - p->slots);
	p->count--;
	/* backward shift: move up every later entry of the run that may sit in the hole */
	for (i = (hole + 1) & p->mask; p->slots[i].used; i = (i + 1) & p->mask) {
		uint32_t home = p->slots[i].hash & p->mask;

		if (((i - home) & p->mask) >= ((i - hole) & p->mask)) {
			p->slots[hole] = p->slots[i];
			hole = i;
		}
	}
	memset(&p->slots[hole], 0, sizeof(p->slots[hole]));
}

uint32_t mcp_flow_pins_count(const struct mcp_flow_pins *p)
{
	return p->count;
}

uint64_t mcp_flow_pins_failures(const struct mcp_flow_pins *p)
{
	return p->failures;
}
