/* shards.h - N pipeline shards behind one dispatcher (docs/design.md, "Shards"). Live, every
 * shard is a thread; offline, shard 0 runs in the dispatcher's thread (first_inline).
 *
 * The thread that calls mcp_shards_packet (the reader) owns the session and RADIUS tables:
 * it resolves each user packet's subscriber in frame order and sends the packet, with that
 * attribution, to the shard owning the subscriber (a stable hash of the IMSI) or, without one,
 * the shard of its symmetric 5-tuple hash; a flow stays where it began (flow_pins.h). Shards
 * never read the session table, so nothing on the packet path takes a lock: ownership plus
 * message passing. Every MCP_SHARDS_EPOCH packets the reader closes an epoch and, one epoch
 * later, merges the records of the closed one, shard 0 first, then 1, ...: the output of a
 * given capture and shard count is the same on every run. Merged records get their
 * subscriber facts (MSISDN, APN, ...) from the table as it stands at the merge, and go to
 * the sinks (JSON, microcloud) from the reader's thread only.
 */
#ifndef MCP_SHARDS_H
#define MCP_SHARDS_H

#include <stdint.h>
#include <stdio.h>

#include "control/radius.h"
#include "flow/dpi.h"
#include "flow/worker.h"
#include "mcp_map_layout.h"
#include "pipeline/view_pub.h"
#include "session/session.h"

#define MCP_SHARDS_MAX 64
/* User packets per epoch: large enough that merging costs nothing per packet, small enough
 * that a record waits only moments and the shards stay two epochs apart at most. */
#define MCP_SHARDS_EPOCH 16384
/* An epoch also closes after this much packet time: the merger resolves late-bound records
 * against the session table at most two epochs after one worker would have exported them
 * (docs/sessions.md, "Late binding"), however slow the traffic. */
#define MCP_SHARDS_EPOCH_MS 1000

struct mcp_shards_cfg {
	uint32_t n;                      /* 2..MCP_SHARDS_MAX */
	struct mcp_worker_cfg worker;    /* each shard's; max_flows is divided among them;
					  * exporters are the final sinks */
	struct mcp_sessions *sessions;   /* the reader's table */
	struct mcp_radius_users *radius; /* may be NULL */
	const uint64_t *session_gen;     /* bumped on every session table change */
	int owner_by_sub_id;             /* live: a subscriber's shard is its id % n, as the XDP
					  * program steers (include/mcp_meta.h); else a hash of
					  * its IMSI */
	int first_inline;                /* shard 0 runs in the caller's thread: n workers are
					  * the reader and n - 1 shard threads, so that the reader
					  * does not take a core of its own from them (offline) */
	uint32_t threads;                /* threads running the other shards, each a share of
					  * them; 0: one per shard, but no more than the CPUs this
					  * process may run on, less the caller's (shards.c) */
};

struct mcp_shards;

/* NULL on failure (logged). */
struct mcp_shards *mcp_shards_create(const struct mcp_shards_cfg *cfg);
/* A user packet's flow as the dispatcher sees it: the worker's key (mcp_worker_flow_key),
 * the side the packet's source is on, the pin's hash and the worker's. */
struct mcp_shards_key {
	struct mcp_flow_key key;
	int side;
	uint32_t pin_hash;  /* mcp_flow_key_symhash */
	uint32_t flow_hash; /* mcp_flow_key_hash */
};

void mcp_shards_key_of(const struct mcp_pkt *pkt, struct mcp_shards_key *k);
/* One MCP_PKT_USER packet. frame_stable: its bytes stay where they are until frame_seq is
 * retired (mcp_shards_retire), so the shard reads them in place; otherwise the inner packet
 * is copied into the message. k: pkt's mcp_shards_key_of when the caller made it already
 * (decoding ahead), else NULL. */
void mcp_shards_packet(struct mcp_shards *sh, const struct mcp_pkt *pkt, int frame_stable,
		       uint64_t frame_seq, const struct mcp_shards_key *k);
/* The pin's prefetch in two stages, a few packets before mcp_shards_packet: stage 0 the index
 * pairs, stage 1 (later) the pin they name. */
void mcp_shards_prefetch(const struct mcp_shards *sh, uint32_t pin_hash, int stage);
/* Returns once no shard reads a frame up to seq any more (closing epochs early if it must:
 * the reader is about to reuse their memory). */
void mcp_shards_retire(struct mcp_shards *sh, uint64_t seq);
/* Live mode, a T-PDU the XDP program found in a known tunnel: its attribution a comes from
 * the metadata (sub_idx, dir) and owner is the metadata's worker. The flow's pin still wins
 * (a flow that began before its tunnel was in the kernel stays where it began). The inner
 * packet is copied (the frame goes back to the kernel). */
void mcp_shards_packet_owned(struct mcp_shards *sh, const struct mcp_pkt *pkt,
			     const struct mcp_attrib *a, uint32_t owner, uint64_t frame_seq);
/* Live mode, at least every 100 ms: every shard credits the kernel bypass (once a second) and
 * expires its flows at now_ms (wall clock), and the epoch closes, so that records are
 * written without waiting for traffic. */
void mcp_shards_tick(struct mcp_shards *sh, uint64_t now_ms);
/* Live mode: shard i's worker counts classified flows in the kernel with ops[i] (each shard
 * its own context); NULL turns the bypass off in every shard (done when this returns). */
void mcp_shards_set_bypass(struct mcp_shards *sh, const struct mcp_bypass_ops *const *ops);
/* Live mode, after each batch of frames: the shards see every packet dispatched so far
 * (instead of in bursts), so that a flow's verdict and kernel bypass come soon; a sleeping
 * shard is woken once a few packets or 1 ms have waited (mcp_shard_flush_lazy). */
void mcp_shards_flush(struct mcp_shards *sh);
uint32_t mcp_shards_count(const struct mcp_shards *sh);
/* End of input: every shard exports its flows; every record reaches the sinks. */
void mcp_shards_finish(struct mcp_shards *sh);
void mcp_shards_destroy(struct mcp_shards *sh);

uint32_t mcp_shards_flow_count(const struct mcp_shards *sh);
/* Makes every packet dispatched so far visible to its shard (the input waits for data). */
void mcp_shards_publish_pending(struct mcp_shards *sh);
/* The RESP view: shard i answers snapshot requests on slots[i] (view_pub.h). Before the
 * first packet. */
void mcp_shards_set_view(struct mcp_shards *sh, struct mcp_view_slot *slots);
/* Sums over the shards (after finish). */
void mcp_shards_stats(const struct mcp_shards *sh, struct mcp_worker_stats *ws,
		      struct mcp_dpi_stats *ds);
void mcp_shards_print_stats(const struct mcp_shards *sh, FILE *f);

#endif /* MCP_SHARDS_H */
