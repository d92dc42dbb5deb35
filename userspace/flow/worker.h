/* worker.h - the per-worker pipeline stage: user packets -> flows -> nDPI -> expiry -> records.
 *
 * A worker owns its flow table and DPI state alone (no locks on the packet path). Offline
 * mode runs one worker; live mode runs one per thread, each owning disjoint subscribers.
 */
#ifndef MCP_WORKER_H
#define MCP_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include "decode/pkt.h"
#include "flow/record.h"
#include "session/session.h"

#define MCP_MAX_EXPORTERS 4

struct mcp_flow_key;
struct mcp_flow_val;

/* Kernel flow bypass (live mode): once nDPI has decided, a flow is installed in the XDP flow
 * map and its later packets are only counted in the kernel. A TCP flow is installed earlier,
 * pending, at its SYN: the kernel then counts the handshake's empty segments itself and sends
 * up only what nDPI can use. Each call returns 0 or -errno; counters in struct mcp_flow_val
 * are the kernel's since install (index 0 = lo -> hi). */
struct mcp_bypass_ops {
	/* pending: at a TCP SYN, before nDPI decided; the kernel counts every packet of the flow
	 * but still sends up those with payload (MCP_PKTF_KCOUNTED), until unpend. */
	int (*install)(void *ctx, const struct mcp_flow_key *key, uint32_t sub_id, int pending);
	/* nDPI decided, or the flow ends: its packets need no longer go up. Called once per
	 * successful pending install, before the flow is taken. */
	void (*unpend)(void *ctx, const struct mcp_flow_key *key);
	/* Reads without removing (active-timeout export). */
	int (*peek)(void *ctx, const struct mcp_flow_key *key, struct mcp_flow_val *val);
	/* Reads and removes in one step, so no packet falls between (final export). */
	int (*take)(void *ctx, const struct mcp_flow_key *key, struct mcp_flow_val *val);
	/* Calls fn on every installed flow (batched map walk); 0 or -errno. */
	int (*walk)(void *ctx, int (*fn)(void *arg, const struct mcp_flow_key *key,
					 const struct mcp_flow_val *val), void *arg);
	/* Adds to a subscriber's kernel counters what its flows counted and XDP did not credit
	 * to it ([0] up, [1] down): packets before the tunnel reached the kernel map, outer
	 * fragments, UE-address attribution. May be NULL. */
	void (*credit)(void *ctx, uint32_t sub_id, const uint64_t pkts[2], const uint64_t bytes[2]);
	void *ctx;
};

struct mcp_worker_cfg {
	uint32_t max_flows;        /* table bound; the oldest idle flows are exported when full */
	uint32_t idle_timeout_ms;  /* default 30000 */
	uint32_t active_timeout_ms;/* default 120000 */
	uint32_t linger_ms;        /* after both FINs or a RST (default 2000) */
	int dpi;                   /* run nDPI (default on) */
	struct mcp_sessions *sessions; /* subscriber lookups; may be NULL */
	/* Fixed-network user lookup by IP (RADIUS): 1 found (copied into name), 0 not; may be NULL. */
	int (*user_by_ip)(void *ctx, const struct mcp_ip *ip, char *name, size_t len);
	void *user_ctx;
	/* A GTP-U packet of a flow still without subscriber (another probe may know its
	 * tunnel: pipeline/peer_attr.h); may be NULL. */
	void (*unknown_tunnel)(void *ctx, const struct mcp_pkt *pkt);
	void *unknown_ctx;
	struct mcp_exporter exporters[MCP_MAX_EXPORTERS];
	int nexporters;
};

#define MCP_END_REASONS 6

struct mcp_worker_stats {
	uint64_t packets, bytes;               /* user packets and inner IP bytes counted in flows */
	uint64_t tunneled_packets;
	uint64_t gtpu_unknown_sub_packets;     /* GTP-U packets met while their flow had no subscriber */
	uint64_t gtpu_unattributed_exported;   /* GTP-U packets in records without a subscriber */
	uint64_t flows_created, flows_exported, flows_evicted;
	uint64_t exported_by_reason[MCP_END_REASONS];
	uint64_t flows_with_subscriber;
	uint64_t flows_attributed_late;        /* of them resolved after their first packet */
	uint64_t flows_moved_owner;            /* from a provisional owner to the key's new one */
	uint64_t bypass_installed, bypass_failed;  /* flows handed to the kernel */
	uint64_t bypass_pending;                   /* of them installed at the SYN (pending) */
	uint64_t kcounted_packets;                 /* sent up for nDPI, counted by the kernel */
	uint64_t bypassed_packets, bypassed_bytes; /* counted by the kernel, credited back */
	uint64_t bypass_orphans;                   /* kernel entries without a flow, removed */
	uint64_t kernel_credited_packets;          /* credited to kernel subscriber counters */
	/* Where the bypass takes over: the flow's packet number at install (summed over installed
	 * flows), packets of installed flows still handled in userspace (already queued in the
	 * socket ring when the flow was installed), and packets of flows that ended before. */
	uint64_t bypass_install_pkt_sum, bypass_late_packets;
	uint64_t bypass_never_flows, bypass_never_packets;
};

/* A packet's attribution decided before it reached the worker (pipeline shards: the thread
 * that owns the session table resolves it in frame order, so a shard never reads that table).
 * Used only when the packet starts a flow, as the worker's own lookups would be. */
struct mcp_attrib {
	uint8_t has_sub;      /* a subscriber owns the packet */
	uint8_t src_is_up;    /* with has_sub: the packet's source is the UE side */
	uint8_t user_side;    /* RADIUS: 0 none, 1 user owns the source, 2 the destination */
	uint8_t provisional;  /* with has_sub: the key that named it may be passing to an owner
			       * whose session is late (a deleted subscriber's key, a tunnel its
			       * session replaced, the UE address of a GTP-U packet whose TEID
			       * names nobody): a new owner may take the flow (attribution.h) */
	uint32_t sub_id;
	uint64_t changed_ms;  /* with has_sub: the subscriber's last_change_ms (late binding) */
	char imsi[16];
	const char *user;     /* with user_side: the user name, valid during the call */
};

/* The subscriber and direction a packet resolves to in s (by tunnel, else by UE address), as
 * a worker decides for a new flow; a->has_sub 0 when none (or s is NULL). No RADIUS user. */
void mcp_attrib_resolve(struct mcp_sessions *s, const struct mcp_pkt *pkt, struct mcp_attrib *a);
/* The same; 1 when the packet's tunnel key named the subscriber (the answer then depends on
 * that key and the table alone). */
int mcp_attrib_resolve_by_tunnel(struct mcp_sessions *s, const struct mcp_pkt *pkt,
				 struct mcp_attrib *a);

/* The shards' merger moved a tentative record from subscriber `from` (MCP_FLOW_NONE: gone
 * from the table, and its counters with it) to `to` (attribution.h): what `from`'s kernel
 * counters received for it goes along, as when a worker moves its flow. */
void mcp_record_credit_move(const struct mcp_bypass_ops *ops, const struct mcp_flow_record *r,
			    uint32_t from, uint32_t to);

struct mcp_worker;

void mcp_worker_cfg_defaults(struct mcp_worker_cfg *cfg);
struct mcp_worker *mcp_worker_create(const struct mcp_worker_cfg *cfg);
/* Flushes nothing: call mcp_worker_flush first to export what is left. */
void mcp_worker_destroy(struct mcp_worker *w);

/* Accounts one MCP_PKT_USER packet; time is the packet's (expiry runs from it too). */
void mcp_worker_packet(struct mcp_worker *w, const struct mcp_pkt *pkt);
/* A packet's flow will be looked up soon: flow_hash is mcp_flow_key_hash of its key (as
 * the worker makes it); stage as mcp_flow_table_prefetch. */
void mcp_worker_prefetch(const struct mcp_worker *w, uint32_t flow_hash, int stage);
/* The same as mcp_worker_packet with the attribution already resolved (a is not NULL;
 * cfg.sessions and cfg.user_by_ip are not consulted for it). */
void mcp_worker_packet_attr(struct mcp_worker *w, const struct mcp_pkt *pkt,
			    const struct mcp_attrib *a);
/* ... and with flow_hash, mcp_flow_key_hash of mcp_worker_flow_key's key, computed already
 * (the pipeline shards' dispatcher hashes each packet's key once for all). */
void mcp_worker_packet_hashed(struct mcp_worker *w, const struct mcp_pkt *pkt,
			      const struct mcp_attrib *a, uint32_t flow_hash);
/* The key a worker keeps pkt's flow under; 1 when pkt's source is the key's hi side. */
int mcp_worker_flow_key(const struct mcp_pkt *pkt, struct mcp_flow_key *key);
/* Exports flows idle, closed or past their active timeout at now_ms. */
void mcp_worker_expire(struct mcp_worker *w, uint64_t now_ms);
/* Exports every flow (end of input, shutdown) with end_reason flush. */
void mcp_worker_flush(struct mcp_worker *w);

/* Enables the kernel bypass (NULL disables it for new flows). */
void mcp_worker_set_bypass(struct mcp_worker *w, const struct mcp_bypass_ops *ops);
/* Turns the bypass off with a session table lent for the final late binding, for a worker
 * created without one (a shard: its dispatcher waits meanwhile, so nothing else reads it). */
void mcp_worker_bypass_off_lent(struct mcp_worker *w, struct mcp_sessions *lent);
/* Credits the kernel's counters of bypassed flows so far and refreshes their idle time.
 * Call about once a second with wall-clock ms (live mode). */
void mcp_worker_bypass_sync(struct mcp_worker *w, uint64_t now_ms);

uint32_t mcp_worker_flow_count(const struct mcp_worker *w);
/* Calls fn with the record of every live flow as it stands (the live view), its table hash
 * and the packets / bytes the kernel bypass counted for it. The worker's thread, or with it
 * stopped. */
typedef void (*mcp_worker_live_fn)(void *ctx, const struct mcp_flow_record *r, uint32_t hash,
				   uint64_t kernel_pkts, uint64_t kernel_bytes);
void mcp_worker_foreach_live(struct mcp_worker *w, mcp_worker_live_fn fn, void *ctx);
const struct mcp_worker_stats *mcp_worker_stats(const struct mcp_worker *w);
struct mcp_dpi;
const struct mcp_dpi *mcp_worker_dpi(const struct mcp_worker *w);

#endif /* MCP_WORKER_H */
