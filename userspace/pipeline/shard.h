/* shard.h - one pipeline shard: a thread that alone owns a worker (flow table, nDPI state,
 * expiry, counters), fed by the dispatcher through a lock-free single-producer ring, handing
 * its flow records back in batches, one batch per epoch (docs/design.md, "Shards").
 *
 * Messages are struct mcp_shard_msg in the ring's slots. A packet's pointers (l3, payload)
 * either reference memory that stays valid until the shard has finished (a mapped capture
 * file), or point into the slot's own data, where the dispatcher copied the inner packet.
 */
#ifndef MCP_SHARD_H
#define MCP_SHARD_H

#include <stdint.h>

#include "decode/pkt.h"
#include "flow/dpi.h"
#include "flow/record.h"
#include "flow/worker.h"
#include "pipeline/view_pub.h"

enum mcp_shard_msg_type {
	MCP_SHARD_PKT,    /* a user packet for the worker */
	MCP_SHARD_EPOCH,  /* end of an epoch: hand over the records exported so far */
	MCP_SHARD_FINISH, /* end of input: export every flow, hand over the last batch, stop */
	MCP_SHARD_TICK,   /* live: wall-clock time now_ms: bypass credit (once a second), expiry */
	MCP_SHARD_BYPASS, /* live: the worker's kernel bypass is now ops (NULL: off); acked */
};

struct mcp_shard_msg {
	uint32_t type;     /* enum mcp_shard_msg_type */
	uint32_t copied;   /* bytes of the inner packet copied into data (0: pkt references) */
	uint64_t epoch;    /* MCP_SHARD_EPOCH */
	uint32_t flow_hash; /* MCP_SHARD_PKT: mcp_flow_key_hash of the worker's key (prefetch) */
	uint32_t pad;
	uint64_t seq;      /* MCP_SHARD_PKT: the frame's sequence number (dispatcher's count);
			    * MCP_SHARD_TICK, MCP_SHARD_FINISH: the next one (records it exports
			    * end their flows before it) */
	uint64_t now_ms;   /* MCP_SHARD_TICK: the wall clock; MCP_SHARD_EPOCH and, offline,
			    * MCP_SHARD_PKT and MCP_SHARD_FINISH: the reader's packet clock (the
			    * shard expires to it first; 0: none) */
	const struct mcp_bypass_ops *ops; /* MCP_SHARD_BYPASS */
	struct mcp_sessions *lent;        /* MCP_SHARD_BYPASS off: the table, for late binding */
	void *heap;        /* a copy too large for the slot (freed by the shard), or NULL */
	struct mcp_pkt pkt;
	struct mcp_attrib attr;
	char user[MCP_HOST_LEN]; /* attr.user's text when a RADIUS user was found */
	uint8_t *data;     /* the slot's room for a copied inner packet (slot_data bytes), set
			    * when the ring is made: frames read in place never touch it */
};

/* Records of one epoch of one shard, in the order the worker exported them. */
struct mcp_shard_batch {
	uint64_t epoch;
	uint32_t n, cap;   /* records, and room in seqs */
	int last;          /* the shard's final batch (after MCP_SHARD_FINISH) */
	int more;          /* the final flush goes on in the next batch (one batch to merge) */
	uint8_t *packed;   /* the n records back to back, packed (flow/record_pack.h) */
	size_t used, packed_cap;
	uint64_t *seqs;    /* per record: seq of the packet being handled when it was exported */
};

struct mcp_shard;

struct mcp_shard_runner;

/* Makes a shard. wcfg's exporters are replaced by the shard's own (records go to its
 * batches); slot_data is the inner-packet bytes a message can carry inline. An inline shard
 * has no thread and no input ring: each message is handled when it is published, in the
 * publisher's thread. Any other shard is run by a runner (below). NULL on failure (logged). */
struct mcp_shard *mcp_shard_create(int index, const struct mcp_worker_cfg *wcfg,
				   uint32_t slot_data, int inline_mode);
/* Starts a thread that runs these n shards (not inline ones), a turn of messages each,
 * after making their workers. NULL on failure (logged; the shards are FAILED). A runner is
 * freed with the last of its shards. */
struct mcp_shard_runner *mcp_shard_runner_start(struct mcp_shard *const *shards, uint32_t n);
/* A shard's worker is made in another thread (its runner, or for an inline shard a
 * short-lived one): waits for that; 0, or -1 if it could not (logged; destroy the shard).
 * Before the first message to the shard. */
int mcp_shard_wait_ready(struct mcp_shard *s);

/* Producer (dispatcher): a free message slot, or NULL while the ring is full. */
struct mcp_shard_msg *mcp_shard_reserve(struct mcp_shard *s);
/* Producer, after mcp_shard_reserve found the ring full: sleeps until a quarter of it is
 * free (returns at once for an inline shard). */
void mcp_shard_wait_space(struct mcp_shard *s);
/* Marks the reserved message filled; the shard sees filled messages in batches, at the
 * latest at mcp_shard_flush (also done when the ring is full). */
void mcp_shard_publish(struct mcp_shard *s);
void mcp_shard_flush(struct mcp_shard *s);
/* Live, after a round of polls: publishes like mcp_shard_flush, but wakes a sleeping shard
 * only once SHARD_WAKE_BATCH messages wait or the oldest has waited 1 ms (a sleeping shard
 * also looks at its ring every 10 ms). */
void mcp_shard_flush_lazy(struct mcp_shard *s);
uint32_t mcp_shard_slot_data(const struct mcp_shard *s);

/* Live: sets the worker's kernel bypass (worker.h) in the shard's thread and returns once it
 * is done, so that the caller may close the maps after turning it off. Turning it off, the
 * shard binds its flows late with lent (the caller's session table, which it does not touch
 * until this returns) and credits their kernel subscriber counters while the maps are open. */
void mcp_shard_set_bypass(struct mcp_shard *s, const struct mcp_bypass_ops *ops,
			  struct mcp_sessions *lent);

/* Consumer of records (merger): the oldest batch not yet taken, or NULL. */
struct mcp_shard_batch *mcp_shard_batch_peek(struct mcp_shard *s);
/* Gives the batch returned by mcp_shard_batch_peek back to its shard for reuse. */
void mcp_shard_batch_release(struct mcp_shard *s);

/* The RESP view's slot this shard answers snapshot requests on (its thread checks it between
 * messages and while idle). */
void mcp_shard_set_view(struct mcp_shard *s, struct mcp_view_slot *slot);

/* Flows in the shard's table (approximate while it runs). */
uint32_t mcp_shard_flow_count(const struct mcp_shard *s);
/* Waits for its runner's thread (after MCP_SHARD_FINISH to each of the runner's shards;
 * each has freed its worker by then). */
void mcp_shard_join(struct mcp_shard *s);
/* The worker's counters, and nDPI's (NULL when the worker has no DPI): a thread's shard
 * snapshots them when it ends, and frees its worker there. After mcp_shard_join. */
void mcp_shard_stats(const struct mcp_shard *s, const struct mcp_worker_stats **ws,
		     const struct mcp_dpi_stats **ds);
/* Joins, then frees everything. */
void mcp_shard_destroy(struct mcp_shard *s);

#endif /* MCP_SHARD_H */
