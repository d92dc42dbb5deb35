/* map_batch.h - writes to one BPF hash map gathered and sent in batches.
 *
 * A bpf() call costs more than the update it carries (1.3 us of 1.8 us per key on the
 * paravirtualised CI machines), and a GTP-C burst writes thousands of keys. Puts and deletes
 * are kept per key, the last one wins (a put after a delete of the same key cancels the
 * delete and the other way round), so sending all deletes and then all puts gives the map
 * the state it would have had with one call per operation.
 */
#ifndef MCP_MAP_BATCH_H
#define MCP_MAP_BATCH_H

#include <stddef.h>
#include <stdint.h>

/* Called at flush for a key the kernel refused (err < 0: -E2BIG when the map is full, ...);
 * put = 1 for a put, 0 for a delete (a delete of a missing key is not a failure). */
typedef void (*mcp_map_batch_fail_fn)(void *ctx, const void *key, int put, int err);

struct mcp_map_batch {
	int fd;
	uint32_t key_size, val_size, cap;
	uint8_t *put_keys, *put_vals, *del_keys;
	uint32_t nput, ndel;
	mcp_map_batch_fail_fn on_fail;
	void *ctx;
	uint32_t refused; /* keys refused since the last mcp_map_batch_flush returned */
	uint64_t calls;   /* bpf() calls made by flushes (tests, docs) */
};

/* cap operations of each kind are held before a flush happens by itself. 0 or -ENOMEM. */
int mcp_map_batch_init(struct mcp_map_batch *b, int fd, uint32_t key_size, uint32_t val_size,
		       uint32_t cap, mcp_map_batch_fail_fn on_fail, void *ctx);
void mcp_map_batch_free(struct mcp_map_batch *b);
/* Queue a put / a delete (sending what is queued first when full). */
void mcp_map_batch_put(struct mcp_map_batch *b, const void *key, const void *val);
void mcp_map_batch_del(struct mcp_map_batch *b, const void *key);
/* Sends what is queued: deletes, then puts. Returns the number of keys refused since the
 * last call (each also reported to on_fail; a flush that a full batch made by itself is
 * included), 0 when all went in. */
int mcp_map_batch_flush(struct mcp_map_batch *b);

#endif /* MCP_MAP_BATCH_H */
