/* session_htab.c - the session table's hash map (open addressing, XXH3) and FIFO ring. */
#include "session/session_htab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "util/hugemem.h"

#define SLOT(t, i) ((t)->slots + (size_t)(i) * (t)->slot_size)

static inline uint32_t mcp_htab_hash(const struct mcp_htab *t, const void *key)
{
	uint64_t h = XXH3_64bits(key, t->key_size);
	uint32_t v = (uint32_t)(h ^ (h >> 32));

	return v ? v : 1; /* 0 marks an empty slot */
}

static uint8_t *mcp_htab_alloc(uint32_t cap, uint32_t slot_size)
{
	return mcp_huge_zalloc((size_t)cap * slot_size);
}

static void mcp_htab_release(uint8_t *slots, uint32_t mask, uint32_t slot_size)
{
	mcp_huge_free(slots, ((size_t)mask + 1) * slot_size);
}

void mcp_htab_prefetch(const struct mcp_htab *t, const void *key)
{
	__builtin_prefetch(SLOT(t, mcp_htab_hash(t, key) & t->mask));
}

int mcp_htab_init(struct mcp_htab *t, uint32_t key_size, uint32_t capacity)
{
	uint32_t cap = 16;

	while (cap < capacity && cap < (1u << 30))
		cap <<= 1;
	t->key_size = key_size;
	/* power-of-two slots on 64-byte aligned memory: a probe touches one cache line */
	t->slot_size = 16;
	while (t->slot_size < 8 + key_size)
		t->slot_size <<= 1;
	t->mask = cap - 1;
	t->count = 0;
	t->slots = mcp_htab_alloc(cap, t->slot_size);
	return t->slots ? 0 : -ENOMEM;
}

void mcp_htab_free(struct mcp_htab *t)
{
	mcp_htab_release(t->slots, t->mask, t->slot_size);
	t->slots = NULL;
}

static uint8_t *mcp_htab_lookup(const struct mcp_htab *t, const void *key, uint32_t h)
{
	uint32_t i = h & t->mask;

	for (;;) {
		uint8_t *s = SLOT(t, i);
		uint32_t sh;

		memcpy(&sh, s, 4);
		if (!sh)
			return NULL;
		if (sh == h && !memcmp(s + 8, key, t->key_size))
			return s;
		i = (i + 1) & t->mask;
	}
}

uint32_t *mcp_htab_find(const struct mcp_htab *t, const void *key)
{
	uint8_t *s = mcp_htab_lookup(t, key, mcp_htab_hash(t, key));

	return s ? (uint32_t *)(void *)(s + 4) : NULL;
}

static void mcp_htab_place(struct mcp_htab *t, const uint8_t *src)
{
	uint32_t h, i;

	memcpy(&h, src, 4);
	for (i = h & t->mask;; i = (i + 1) & t->mask) {
		uint8_t *s = SLOT(t, i);
		uint32_t sh;

		memcpy(&sh, s, 4);
		if (!sh) {
			memcpy(s, src, t->slot_size);
			return;
		}
	}
}

static int mcp_htab_grow(struct mcp_htab *t)
{
	struct mcp_htab n = *t;
	uint32_t i;

	n.mask = t->mask * 2 + 1;
	n.slots = mcp_htab_alloc(n.mask + 1, t->slot_size);
	if (!n.slots)
		return -ENOMEM;
	for (i = 0; i <= t->mask; i++) {
		uint8_t *s = SLOT(t, i);
		uint32_t sh;

		memcpy(&sh, s, 4);
		if (sh)
			mcp_htab_place(&n, s);
	}
	mcp_htab_release(t->slots, t->mask, t->slot_size);
	*t = n;
	return 0;
}

int mcp_htab_put(struct mcp_htab *t, const void *key, uint32_t val)
{
	uint32_t h = mcp_htab_hash(t, key);
	uint8_t *s = mcp_htab_lookup(t, key, h);
	uint8_t tmp[128];

	if (s) {
		memcpy(s + 4, &val, 4);
		return 0;
	}
	if ((t->count + 1) * 2 > t->mask + 1 && mcp_htab_grow(t) < 0)
		return -ENOMEM;
	memset(tmp, 0, t->slot_size);
	memcpy(tmp, &h, 4);
	memcpy(tmp + 4, &val, 4);
	memcpy(tmp + 8, key, t->key_size);
	mcp_htab_place(t, tmp);
	t->count++;
	return 0;
}

int mcp_htab_del(struct mcp_htab *t, const void *key)
{
	uint32_t h = mcp_htab_hash(t, key);
	uint8_t *s = mcp_htab_lookup(t, key, h);
	uint32_t i, j;

	if (!s)
		return -ENOENT;
	i = (uint32_t)((s - t->slots) / t->slot_size);
	/* backward shift: move later members of the probe run into the hole */
	for (j = (i + 1) & t->mask;; j = (j + 1) & t->mask) {
		uint8_t *sj = SLOT(t, j);
		uint32_t hj, home;

		memcpy(&hj, sj, 4);
		if (!hj)
			break;
		home = hj & t->mask;
		/* sj may move to i only if i lies cyclically in [home, j) */
		if (((j - home) & t->mask) >= ((j - i) & t->mask)) {
			memcpy(SLOT(t, i), sj, t->slot_size);
			i = j;
		}
	}
	memset(SLOT(t, i), 0, t->slot_size);
	t->count--;
	return 0;
}

int mcp_ring_init(struct mcp_ring *q, uint32_t esz, uint32_t capacity)
{
	q->esz = esz;
	q->cap = capacity ? capacity : 16;
	q->head = q->count = 0;
	q->buf = malloc((size_t)q->cap * esz);
	return q->buf ? 0 : -ENOMEM;
}

void mcp_ring_free(struct mcp_ring *q)
{
	free(q->buf);
	q->buf = NULL;
}

int mcp_ring_push(struct mcp_ring *q, const void *e)
{
	if (q->count == q->cap) {
		uint8_t *nb = malloc((size_t)q->cap * 2 * q->esz);
		uint32_t i;

		if (!nb)
			return -ENOMEM;
		for (i = 0; i < q->count; i++)
			memcpy(nb + (size_t)i * q->esz,
			       q->buf + (size_t)((q->head + i) % q->cap) * q->esz, q->esz);
		free(q->buf);
		q->buf = nb;
		q->head = 0;
		q->cap *= 2;
	}
	memcpy(q->buf + (size_t)((q->head + q->count) % q->cap) * q->esz, e, q->esz);
	q->count++;
	return 0;
}

void *mcp_ring_front(struct mcp_ring *q)
{
	return q->count ? q->buf + (size_t)q->head * q->esz : NULL;
}

void mcp_ring_pop(struct mcp_ring *q)
{
	if (!q->count)
		return;
	q->head = (q->head + 1) % q->cap;
	q->count--;
}
