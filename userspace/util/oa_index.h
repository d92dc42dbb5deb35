/* oa_index.h - open-addressing index from a 32-bit hash to a 32-bit slot number: the caller
 * keeps the keys in its own slots and the index finds them.
 *
 * A power-of-two array of (hash, slot + 1) pairs, probed linearly, kept at most half full by
 * doubling up to a bound, and compacted by backward shift on removal so that lookups never
 * meet tombstones. One pair is 8 bytes: a probe run of a few pairs stays in one cache line.
 * Not thread-safe. Nothing allocates except the doublings.
 */
#ifndef MCP_OA_INDEX_H
#define MCP_OA_INDEX_H

#include <stdint.h>

#define MCP_OA_NONE UINT32_MAX

struct mcp_oa_pair {
	uint32_t hash;
	uint32_t slot1; /* slot + 1; 0 = empty */
};

struct mcp_oa_index {
	struct mcp_oa_pair *pairs;
	uint32_t mask;     /* pairs - 1 */
	uint32_t max_mask; /* never grows past this */
	uint32_t count;
};

/* Starts with at least start pairs and grows up to at least max_entries * 2 pairs (both
 * rounded up to powers of two, at least 16). 0 or -ENOMEM / -EINVAL. */
int mcp_oa_index_init(struct mcp_oa_index *x, uint32_t start, uint64_t max_entries);
void mcp_oa_index_free(struct mcp_oa_index *x);

/* Adds (hash, slot); the caller knows the key is absent. 0, or -ENOSPC when only the last
 * empty pair is left (growth failed or reached its bound). */
int mcp_oa_index_insert(struct mcp_oa_index *x, uint32_t hash, uint32_t slot);
/* Removes the pair (hash, slot). 0 or -ENOENT. */
int mcp_oa_index_remove(struct mcp_oa_index *x, uint32_t hash, uint32_t slot);

/* Starts loading the pairs where hash would be probed. */
static inline void mcp_oa_index_prefetch(const struct mcp_oa_index *x, uint32_t hash)
{
	__builtin_prefetch(&x->pairs[hash & x->mask]);
}

/* The slots stored under hash, in probe order: for (s = first(); s != NONE; s = next())
 * and compare the caller's key at each. *pos is the probe position. */
static inline uint32_t mcp_oa_index_next(const struct mcp_oa_index *x, uint32_t hash,
					 uint32_t *pos)
{
	for (;;) {
		const struct mcp_oa_pair *p = &x->pairs[*pos];

		*pos = (*pos + 1) & x->mask;
		if (!p->slot1)
			return MCP_OA_NONE;
		if (p->hash == hash)
			return p->slot1 - 1;
	}
}

static inline uint32_t mcp_oa_index_first(const struct mcp_oa_index *x, uint32_t hash,
					  uint32_t *pos)
{
	*pos = hash & x->mask;
	return mcp_oa_index_next(x, hash, pos);
}

static inline uint32_t mcp_oa_index_count(const struct mcp_oa_index *x)
{
	return x->count;
}

#endif /* MCP_OA_INDEX_H */
