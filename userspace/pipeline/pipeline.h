/* pipeline.h - one probe pipeline: decoder -> (GTP-C -> sessions) / (user -> worker) ->
 * exporters (JSON lines, microcloud), fed frame by frame from a pcap file or a socket.
 */
#ifndef MCP_PIPELINE_H
#define MCP_PIPELINE_H

#include <stdint.h>
#include <stdio.h>

#include "decode/decode.h"
#include "export/ipfix.h"
#include "resp/resp_view.h"
#include "microcloud/microcloud.h"
#include "control/radius.h"
#include "session/session.h"
#include "flow/worker.h"
#include "mcp_meta.h"

struct mcp_pipeline_cfg {
	struct mcp_decoder_cfg decoder;
	struct mcp_session_cfg sessions; /* on_event is the pipeline's own */
	struct mcp_worker_cfg worker;    /* sessions and exporters are filled in by the pipeline */
	struct mcp_radius_cfg radius;    /* on_event is the pipeline's own */
	const char *flows_json;          /* NULL = no flow records file */
	uint64_t flows_rotate_bytes;     /* rotate flows_json at this size, 0 = never */
	uint32_t flows_rotate_s;         /* ... or at this age (seconds), 0 = never */
	int records_write_through;       /* input streams (FIFO, stdin, live): no chunking */
	const char *sessions_json;       /* NULL = no session log */
	const struct mcp_mc_cfg *redis;  /* NULL = no microcloud */
	int redis_reload;                /* restore sessions from the microcloud at start */
	uint32_t shards;                 /* > 1: that many worker threads (shards.h) */
	uint32_t shard_threads;          /* threads running them, 0: by the CPUs (shards.h) */
	int shard_by_sub_id;             /* live: subscribers' shard as XDP steers (shards.h) */
	int redis_peers;                 /* learn other probes' tunnels at run time (peer_attr.h) */
	struct mcp_ipfix_cfg ipfix;      /* n == 0: no IPFIX / NetFlow v9 export */
};

#define MCP_MAX_SESSION_LISTENERS 4

struct mcp_pipeline;

void mcp_pipeline_cfg_defaults(struct mcp_pipeline_cfg *cfg);
/* NULL on failure (logged: e.g. the flow file cannot be created). */
struct mcp_pipeline *mcp_pipeline_create(const struct mcp_pipeline_cfg *cfg);
/* Adds a listener for subscriber changes (BPF tunnel map, ...). 0 or -ENOSPC. */
int mcp_pipeline_add_session_listener(struct mcp_pipeline *p, mcp_session_event_fn fn, void *ctx);
/* Removes the listener added with this fn and ctx (before ctx goes away). 0 or -ENOENT. */
int mcp_pipeline_remove_session_listener(struct mcp_pipeline *p, mcp_session_event_fn fn,
					 void *ctx);

/* Processes one captured frame. */
void mcp_pipeline_frame(struct mcp_pipeline *p, int dlt, const uint8_t *frame, uint32_t caplen,
			uint32_t wire_len, uint64_t ts_us);
/* The same for a frame whose bytes stay where they are until mcp_pipeline_retire passes it:
 * shards read it in place instead of a copy. */
void mcp_pipeline_frame_stable(struct mcp_pipeline *p, int dlt, const uint8_t *frame,
			       uint32_t caplen, uint32_t wire_len, uint64_t ts_us);
/* Returns when frames up to this number are read by nobody any more. */
void mcp_pipeline_retire(struct mcp_pipeline *p, uint64_t frames);
/* Live mode: an Ethernet frame with the XDP program's metadata (NULL if none). A T-PDU of a
 * known tunnel is decoded from its inner header on, attributed to the metadata's subscriber
 * and direction and sent to its worker (pipeline_live.c); any other frame is decoded whole.
 * MCP_META_F_KCOUNTED keeps the kernel's flow count from being doubled, MCP_META_F_KNOWN (or
 * no metadata) says XDP credited the subscriber's counters. The frame is not read
 * after the call (the shards get a copy of the inner packet). */
void mcp_pipeline_frame_meta(struct mcp_pipeline *p, const uint8_t *frame, uint32_t caplen,
			     uint32_t wire_len, uint64_t ts_us, const struct mcp_meta *meta);
/* Live mode, after each batch of frames: the worker threads get what was handed to them. */
void mcp_pipeline_flush_batch(struct mcp_pipeline *p);
/* Workers the pipeline runs: 1, or the shards' count. */
uint32_t mcp_pipeline_workers(const struct mcp_pipeline *p);
/* Live mode: worker i counts classified flows in the kernel with ops[i] (worker.h), one
 * context per worker thread; ops NULL turns it off everywhere (done when this returns). */
void mcp_pipeline_set_bypass(struct mcp_pipeline *p, const struct mcp_bypass_ops *const *ops);
/* Runs timeouts without traffic (live mode, wall clock) in every worker, credits bypassed
 * flows once a second, and with shards writes the records merged so far. */
void mcp_pipeline_tick(struct mcp_pipeline *p, uint64_t now_ms);

/* Exports every flow, writes the final session dump, closes outputs. 0 or -errno (an output
 * could not be written). The pipeline is then only good for stats and destroy. */
int mcp_pipeline_finish(struct mcp_pipeline *p);
void mcp_pipeline_destroy(struct mcp_pipeline *p);

struct mcp_pipeline_totals {
	uint64_t frames, frame_bytes;
	uint32_t flows_active;
};
void mcp_pipeline_totals(const struct mcp_pipeline *p, struct mcp_pipeline_totals *t);
void mcp_pipeline_print_stats(const struct mcp_pipeline *p, FILE *f, double elapsed_s);

struct mcp_sessions *mcp_pipeline_sessions(struct mcp_pipeline *p);
/* After finish: microcloud writes that did not reach Redis (0 without --redis). */
uint64_t mcp_pipeline_mc_lost(struct mcp_pipeline *p);

/* Before the RESP view starts: the packet thread and the shards then answer its snapshot
 * requests (view_pub.h) at their frames, ticks and mcp_pipeline_idle. 0, or -1 on OOM. */
int mcp_pipeline_share(struct mcp_pipeline *p);
/* The input has nothing to read for now (a stream waiting for data): the shards get the
 * packets held back for a batch, and a snapshot request is answered. ctx is the pipeline. */
void mcp_pipeline_idle(void *ctx);
/* The RESP view's snapshot provider (resp_server.h); ctx is the pipeline. */
void mcp_pipeline_snapshot(void *ctx, struct mcp_resp_view *v);

#endif /* MCP_PIPELINE_H */
