/* view_pub.h - snapshots of the live probe for the RESP view, with no lock on the packet path
 * (docs/export.md, "Snapshots").
 *
 * Every thread that owns state has a slot: the pipeline's packet thread (sessions, frame
 * totals, and the flows of its worker when there is one), and each shard (its flows). The
 * RESP thread asks by bumping the slots' request number; an owner sees the request at its
 * next frame, message, tick or idle moment (one relaxed load), copies what it owns into a new
 * part and publishes it with an atomic exchange; the RESP thread takes the part (exchange
 * with NULL) and owns it from then on. Nobody waits for anybody: an owner pays only for its
 * copy, when asked; the RESP thread waits a bounded time and otherwise uses the part it has.
 */
#ifndef MCP_VIEW_PUB_H
#define MCP_VIEW_PUB_H

#include <stddef.h>
#include <stdint.h>

#include "flow/record.h"
#include "flow/worker.h"
#include "session/session.h"

struct mcp_view_flow {
	struct mcp_ip src, dst;
	uint16_t sport, dport;
	uint8_t proto;
	uint32_t hash;
	uint64_t pkts_up, pkts_down, bytes_up, bytes_down, kpkts, kbytes, first_ms, last_ms;
	char app[MCP_APP_NAME_LEN];
	char host[MCP_HOST_LEN];
	char imsi[MCP_IMSI_LEN];
};

struct mcp_view_sub {
	char imsi[MCP_IMSI_LEN], msisdn[MCP_MSISDN_LEN], imei[MCP_IMEI_LEN], apn[MCP_APN_LEN];
	struct mcp_ip ue_ipv4, ue_ipv6;
	uint8_t has_ipv4, has_ipv6, rat, gtp_version, state, ntunnels;
	uint64_t last_change_ms;
};

/* Sums: each owner fills what it counts (zero elsewhere). */
struct mcp_view_totals {
	uint64_t frames, frame_bytes, user_packets, user_bytes, flows_created, flows_exported;
	uint64_t flows_active;
};

struct mcp_view_part {
	struct mcp_view_flow *flows;
	size_t nflows, capf;
	struct mcp_view_sub *subs;
	size_t nsubs, caps;
	struct mcp_view_totals t;
	int failed; /* an allocation failed: the part is incomplete */
	uint64_t copy_ns; /* the owner's time to build it (what the snapshot cost its thread) */
};

struct mcp_view_slot {
	_Alignas(64) uint32_t want;      /* written by the RESP thread: its request number */
	_Alignas(64) uint32_t done;      /* written by the owner: the request it last answered */
	struct mcp_view_part *pub;       /* published, not yet taken */
};

/* Owner: a request is pending (the per-frame check). */
static inline int mcp_view_wanted(const struct mcp_view_slot *s)
{
	return __atomic_load_n(&s->want, __ATOMIC_RELAXED) != s->done;
}

/* Owner: building a part (its clock starts). NULL on OOM (the request stays pending). */
struct mcp_view_part *mcp_view_part_new(void);
void mcp_view_part_free(struct mcp_view_part *part);
/* mcp_worker_live_fn and mcp_sessions_foreach callbacks; ctx is the part. */
void mcp_view_add_flow(void *ctx, const struct mcp_flow_record *r, uint32_t hash,
		       uint64_t kpkts, uint64_t kbytes);
void mcp_view_add_sub(void *ctx, const struct mcp_subscriber *sub);
/* A worker's share: its live flows and its counters. */
void mcp_view_add_worker(struct mcp_view_part *part, struct mcp_worker *w);
/* Owner: publishes the part as the answer to the pending request (its clock stops). */
void mcp_view_publish(struct mcp_view_slot *s, struct mcp_view_part *part);

/* The RESP thread's side: n slots and the freshest part taken from each. */
struct mcp_view_pub {
	uint32_t n, req;
	struct mcp_view_slot *slots;
	struct mcp_view_part **last;
	uint64_t timeouts;  /* collections some owner did not answer in time */
	uint64_t owner_ns;  /* the owners' copy time of the parts taken by the last collection */
};

struct mcp_view_pub *mcp_view_pub_create(uint32_t nslots);
void mcp_view_pub_destroy(struct mcp_view_pub *vp);
/* Asks every owner, waits at most timeout_ms for all answers, then takes what was published:
 * last[i] is owner i's freshest part (or NULL before its first). */
void mcp_view_pub_collect(struct mcp_view_pub *vp, uint32_t timeout_ms);

#endif /* MCP_VIEW_PUB_H */
