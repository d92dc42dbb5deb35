/* pipeline_internal.h - the pipeline's state, shared by pipeline.c and pipeline_view.c. */
#ifndef MCP_PIPELINE_INTERNAL_H
#define MCP_PIPELINE_INTERNAL_H

#include <stdint.h>
#include <stdio.h>

#include "decode/pkt.h"
#include "mcp_meta.h"
#include "pipeline/pipeline.h"
#include "pipeline/shards.h"
#include "pipeline/view_pub.h"

/* Live mode: what the XDP metadata's flags tell the worker (worker.h): the kernel counted the
 * packet on its flow entry (KCOUNTED), or credited its subscriber (KSUB; a frame without
 * metadata is taken as credited). */
static inline uint8_t mcp_pipeline_meta_pkt_flags(uint16_t meta_flags)
{
	return (meta_flags & MCP_META_F_KCOUNTED ? MCP_PKTF_KCOUNTED : 0) |
	       (meta_flags & (MCP_META_F_KNOWN | MCP_META_F_ABSENT) ? MCP_PKTF_KSUB : 0);
}

struct session_listener {
	mcp_session_event_fn fn;
	void *ctx;
};

/* Offline with shards, frames read in place: a user packet is dispatched MCP_PIPE_AHEAD
 * frames after it was decoded, while its flow pin is fetched in two steps (the index pair,
 * then the pin); the reader's one lookup per packet would otherwise wait for memory twice.
 * Frames are still handled in their order: only decoding runs ahead (pipeline.c). */
#define MCP_PIPE_AHEAD 2

struct mcp_pipe_ahead {
	struct mcp_pkt pkt;
	struct mcp_shards_key key; /* its flow, keyed and hashed when decoded */
};

struct mcp_pipeline {
	struct mcp_decoder *decoder;
	struct mcp_sessions *sessions;
	struct mcp_s5g *s5g; /* 5G SA: PFCP and SBI into the same sessions */
	struct mcp_sbi *sbi;
	struct mcp_worker *worker;       /* one worker in this thread, or */
	struct mcp_shards *shards;       /* N of them in their own threads */
	struct mcp_json_out *flows_out, *sessions_out;
	struct mcp_mc *mc;
	struct mcp_ipfix *ipfix;
	struct mcp_peer *peer;
	struct mcp_radius_users *radius;
	struct session_listener listeners[MCP_MAX_SESSION_LISTENERS];
	int nlisteners;
	uint64_t frames, frame_bytes;
	uint64_t session_gen;            /* bumped on every subscriber change (shards' caches) */
	uint64_t last_session_expire_ms;
	uint64_t last_bypass_sync_ms;
	uint64_t kind_counts[MCP_PKT_MALFORMED + 1];
	int finished;
	int mc_unflushed;                /* the final microcloud flush timed out */
	int pipe_dpi;                    /* nDPI runs (stats) */
	/* live: frames the XDP metadata marked as T-PDUs of a known tunnel, those decoded from
	 * their inner header on, and those whose sub_idx named no subscriber of ours */
	uint64_t meta_known, meta_inner, meta_no_sub;
	int shard_by_sub_id;
	uint32_t shard_threads;  /* threads running the shards, 0: by the CPUs (shards.h) */
	struct mcp_view_pub *view;       /* --resp-listen: snapshot requests (view_pub.h) */
	struct mcp_pipe_ahead ahead[MCP_PIPE_AHEAD + 1]; /* decoded, not yet handled ... */
	uint32_t ahead_head, ahead_n;    /* ... the oldest, and how many */
};

/* Handles the user packets decoded ahead (before anything that must see them). pipeline.c. */
void mcp_pipeline_drain(struct mcp_pipeline *p);
/* Answers a pending snapshot request of the RESP view (pipeline_view.c). */
void mcp_pipeline_view_serve(struct mcp_pipeline *p);

/* A live packet whose subscriber and owning worker the XDP metadata gave. */
struct mcp_pipeline_owned {
	struct mcp_attrib attr;
	uint32_t owner;
};

/* The decoded frame into the session table or the worker(s); own (live, known tunnel) or
 * NULL (the pipeline resolves the subscriber); key: the user packet's flow keyed already
 * (decoding ahead), or NULL. pipeline.c. */
void mcp_pipeline_packet(struct mcp_pipeline *p, int kind, struct mcp_pkt *pkt, int stable,
			 const struct mcp_pipeline_owned *own, const struct mcp_shards_key *key);
/* The part of a tick that is the same for one worker and for shards. pipeline.c. */
void mcp_pipeline_tick_common(struct mcp_pipeline *p, uint64_t now_ms);
/* The metadata counters for --stats. pipeline_live.c. */
void mcp_pipeline_print_meta(const struct mcp_pipeline *p, FILE *f);

#endif /* MCP_PIPELINE_INTERNAL_H */
