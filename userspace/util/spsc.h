/* spsc.h - lock-free single-producer single-consumer ring of fixed-size frame slots.
 *
 * Carries messages from one thread to another: packets to a pipeline shard (pipeline/shard.c),
 * session events to the live control thread (live/live_ctl.c). One thread
 * only ever calls the producer half (reserve/publish), one thread only the consumer half
 * (peek/release); the indices are free-running 32-bit counters published with release
 * stores and read with acquire loads (C11 memory model via the __atomic builtins), so no lock
 * and no read-modify-write instruction sits on the packet path. Each side keeps a cached copy
 * of the other side's index and re-reads the shared one only when the cache says full/empty,
 * so the two cache lines bounce at most once per batch.
 *
 *   slot i:  struct mcp_spsc_slot { len } + data[slot_bytes] (8-byte aligned)
 */
#ifndef MCP_SPSC_H
#define MCP_SPSC_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/hugemem.h"

#define MCP_SPSC_CACHELINE 64

struct mcp_spsc_slot {
	uint32_t len;      /* bytes of data used */
	uint32_t pad;
	_Alignas(8) uint8_t data[]; /* slot_bytes */
};

struct mcp_spsc {
	/* producer side */
	_Alignas(MCP_SPSC_CACHELINE) uint32_t head; /* next slot to write (shared) */
	uint32_t cached_tail;                       /* producer's view of tail */
	/* consumer side */
	_Alignas(MCP_SPSC_CACHELINE) uint32_t tail; /* next slot to read (shared) */
	uint32_t cached_head;                       /* consumer's view of head */
	/* read-only after create */
	_Alignas(MCP_SPSC_CACHELINE) uint32_t mask;
	uint32_t slot_bytes; /* data bytes per slot */
	size_t stride;       /* bytes between slots */
	uint8_t *mem;
};

/* nslots is rounded up to a power of two. 0 or -ENOMEM / -EINVAL. */
static inline int mcp_spsc_init(struct mcp_spsc *r, uint32_t nslots, uint32_t slot_bytes)
{
	uint32_t n = 1;

	if (nslots == 0 || nslots > (1u << 24) || slot_bytes == 0)
		return -EINVAL;
	while (n < nslots)
		n <<= 1;
	memset(r, 0, sizeof(*r));
	r->mask = n - 1;
	r->slot_bytes = slot_bytes;
	r->stride = (sizeof(struct mcp_spsc_slot) + slot_bytes + MCP_SPSC_CACHELINE - 1) &
		    ~(size_t)(MCP_SPSC_CACHELINE - 1);
	r->mem = mcp_huge_zalloc_flags(r->stride * n, 1); /* its faults off the packet path */
	return r->mem ? 0 : -ENOMEM;
}

static inline void mcp_spsc_free(struct mcp_spsc *r)
{
	mcp_huge_free(r->mem, r->stride * (r->mask + 1ull));
	r->mem = NULL;
}

static inline struct mcp_spsc_slot *mcp_spsc_slot_at(const struct mcp_spsc *r, uint32_t idx)
{
	return (struct mcp_spsc_slot *)(r->mem + (size_t)(idx & r->mask) * r->stride);
}

/* Producer: the next free slot, or NULL when the ring is full (the caller counts a drop). */
static inline struct mcp_spsc_slot *mcp_spsc_reserve(struct mcp_spsc *r)
{
	if (r->head - r->cached_tail > r->mask) {
		r->cached_tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
		if (r->head - r->cached_tail > r->mask)
			return NULL;
	}
	return mcp_spsc_slot_at(r, r->head);
}

/* Producer: makes the slot returned by mcp_spsc_reserve visible to the consumer. */
static inline void mcp_spsc_publish(struct mcp_spsc *r)
{
	__atomic_store_n(&r->head, r->head + 1, __ATOMIC_RELEASE);
}

/* Consumer: the oldest filled slot, or NULL when empty. */
static inline struct mcp_spsc_slot *mcp_spsc_peek(struct mcp_spsc *r)
{
	if (r->cached_head == r->tail) {
		r->cached_head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
		if (r->cached_head == r->tail)
			return NULL;
	}
	return mcp_spsc_slot_at(r, r->tail);
}

/* Consumer: gives the slot returned by mcp_spsc_peek back to the producer. */
static inline void mcp_spsc_release(struct mcp_spsc *r)
{
	__atomic_store_n(&r->tail, r->tail + 1, __ATOMIC_RELEASE);
}

/* Either side: filled slots right now (approximate while the other side runs). */
static inline uint32_t mcp_spsc_count(const struct mcp_spsc *r)
{
	return __atomic_load_n(&r->head, __ATOMIC_ACQUIRE) -
	       __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
}

#endif /* MCP_SPSC_H */
