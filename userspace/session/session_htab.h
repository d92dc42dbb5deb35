/* session_htab.h - private to the session table: hash map with fixed-size keys and 32-bit
 * values over util/oa_index, and a growable FIFO ring. Not thread-safe (one per control worker).
 */
#ifndef MCP_SESSION_HTAB_H
#define MCP_SESSION_HTAB_H

#include <stdint.h>

#include "util/oa_index.h"

/* Records (value, key) in a growable array with a free list; the index maps the key's hash
 * to the record number. */
struct mcp_htab {
	struct mcp_oa_index index;
	uint8_t *recs;
	uint32_t key_size;
	uint32_t rec_size;  /* 4 + key_size, 4-aligned */
	uint32_t nrecs, cap; /* records handed out / allocated */
	uint32_t free_head; /* free records linked through their value */
};

int mcp_htab_init(struct mcp_htab *t, uint32_t key_size, uint32_t capacity);
void mcp_htab_free(struct mcp_htab *t);
/* Pointer to the value stored for key, or NULL. Valid until the next put/del. */
uint32_t *mcp_htab_find(const struct mcp_htab *t, const void *key);
/* Inserts or replaces. 0 or -ENOMEM. */
int mcp_htab_put(struct mcp_htab *t, const void *key, uint32_t val);
/* Starts loading the slot where key would live (batching independent lookups). */
void mcp_htab_prefetch(const struct mcp_htab *t, const void *key);
/* Removes key. 0 or -ENOENT. */
int mcp_htab_del(struct mcp_htab *t, const void *key);

/* FIFO of fixed-size records, growing by doubling. */
struct mcp_ring {
	uint8_t *buf;
	uint32_t esz, cap, head, count;
};

int mcp_ring_init(struct mcp_ring *q, uint32_t esz, uint32_t capacity);
void mcp_ring_free(struct mcp_ring *q);
int mcp_ring_push(struct mcp_ring *q, const void *e); /* 0 or -ENOMEM */
void *mcp_ring_front(struct mcp_ring *q);              /* NULL when empty */
void mcp_ring_pop(struct mcp_ring *q);

#endif /* MCP_SESSION_HTAB_H */
