/* session_htab.c - the session table's hash map (XXH3 over util/oa_index) and FIFO ring. */
#include "session/session_htab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define MCP_HTAB_MAX_ENTRIES (1u << 30)
#define MCP_HTAB_NONE        UINT32_MAX

static inline uint32_t mcp_htab_hash(const struct mcp_htab *t, const void *key)
{
	uint64_t h = XXH3_64bits(key, t->key_size);

	return (uint32_t)(h ^ (h >> 32));
}

static inline uint8_t *mcp_htab_rec(const struct mcp_htab *t, uint32_t r)
{
	return t->recs + (size_t)r * t->rec_size;
}

void mcp_htab_prefetch(const struct mcp_htab *t, const void *key)
{
	mcp_oa_index_prefetch(&t->index, mcp_htab_hash(t, key));
}

int mcp_htab_init(struct mcp_htab *t, uint32_t key_size, uint32_t capacity)
{
	memset(t, 0, sizeof(*t));
	t->key_size = key_size;
	t->rec_size = (4 + key_size + 3) & ~3u;
	t->free_head = MCP_HTAB_NONE;
	/* capacity is in index pairs, as before: half of them fill before the first doubling */
	return mcp_oa_index_init(&t->index, capacity, MCP_HTAB_MAX_ENTRIES);
}

void mcp_htab_free(struct mcp_htab *t)
{
	mcp_oa_index_free(&t->index);
	free(t->recs);
	t->recs = NULL;
}

/* Record number holding key, or MCP_HTAB_NONE. */
static uint32_t mcp_htab_lookup(const struct mcp_htab *t, const void *key, uint32_t h)
{
	uint32_t pos, r;

	for (r = mcp_oa_index_first(&t->index, h, &pos); r != MCP_OA_NONE;
	     r = mcp_oa_index_next(&t->index, h, &pos))
		if (!memcmp(mcp_htab_rec(t, r) + 4, key, t->key_size))
			return r;
	return MCP_HTAB_NONE;
}

uint32_t *mcp_htab_find(const struct mcp_htab *t, const void *key)
{
	uint32_t r = mcp_htab_lookup(t, key, mcp_htab_hash(t, key));

	return r == MCP_HTAB_NONE ? NULL : (uint32_t *)(void *)mcp_htab_rec(t, r);
}

/* A free record number (the array doubles when all are in use), or MCP_HTAB_NONE. */
static uint32_t mcp_htab_rec_alloc(struct mcp_htab *t)
{
	uint32_t r;

	if (t->free_head != MCP_HTAB_NONE) {
		r = t->free_head;
		memcpy(&t->free_head, mcp_htab_rec(t, r), 4);
		if (t->free_head != MCP_HTAB_NONE) /* freed records are scattered: the next put's */
			__builtin_prefetch(mcp_htab_rec(t, t->free_head), 1);
		return r;
	}
	if (t->nrecs == t->cap) {
		uint32_t ncap = t->cap ? t->cap * 2 : 1024;
		uint8_t *nr;

		if (ncap > MCP_HTAB_MAX_ENTRIES)
			return MCP_HTAB_NONE;
		nr = realloc(t->recs, (size_t)ncap * t->rec_size);
		if (!nr)
			return MCP_HTAB_NONE;
		t->recs = nr;
		t->cap = ncap;
	}
	return t->nrecs++;
}

static void mcp_htab_rec_release(struct mcp_htab *t, uint32_t r)
{
	memcpy(mcp_htab_rec(t, r), &t->free_head, 4);
	t->free_head = r;
}

int mcp_htab_put(struct mcp_htab *t, const void *key, uint32_t val)
{
	uint32_t h = mcp_htab_hash(t, key);
	uint32_t r = mcp_htab_lookup(t, key, h);
	uint8_t *rec;

	if (r != MCP_HTAB_NONE) {
		memcpy(mcp_htab_rec(t, r), &val, 4);
		return 0;
	}
	r = mcp_htab_rec_alloc(t);
	if (r == MCP_HTAB_NONE)
		return -ENOMEM;
	if (mcp_oa_index_insert(&t->index, h, r) < 0) {
		mcp_htab_rec_release(t, r);
		return -ENOMEM;
	}
	rec = mcp_htab_rec(t, r);
	memcpy(rec, &val, 4);
	memcpy(rec + 4, key, t->key_size);
	return 0;
}

int mcp_htab_del(struct mcp_htab *t, const void *key)
{
	uint32_t h = mcp_htab_hash(t, key);
	uint32_t r = mcp_htab_lookup(t, key, h);

	if (r == MCP_HTAB_NONE)
		return -ENOENT;
	mcp_oa_index_remove(&t->index, h, r);
	mcp_htab_rec_release(t, r);
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
