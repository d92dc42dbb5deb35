/* flow.h - bounded bidirectional flow table: open addressing on the inner 5-tuple (+ VLAN),
 * an LRU list for idle expiry and eviction, a FIFO of closing (FIN/RST) flows.
 *
 * Both directions of a connection share one entry: the key (include/mcp_map_layout.h, the same one
 * the XDP bypass map uses) is in canonical order, lo before hi, and each flow remembers which
 * side is "up". The VLAN is part of the key for untunneled traffic only.
 */
#ifndef MCP_FLOW_H
#define MCP_FLOW_H

#include <stdint.h>

#include "flow/dpi.h"
#include "mcp_addr.h"
#include "mcp_map_layout.h" /* struct mcp_flow_key and mcp_flow_key_make, shared with the XDP bypass */

#define MCP_FLOWF_TUNNELED 0x01
#define MCP_FLOWF_FIN_A    0x02 /* FIN seen from the lo side */
#define MCP_FLOWF_FIN_B    0x04
#define MCP_FLOWF_RST      0x08
#define MCP_FLOWF_CLOSING  0x10 /* on the closing FIFO */
#define MCP_FLOWF_HAS_SUB  0x20
#define MCP_FLOWF_OUTER_UP 0x40 /* outer_src/dst taken from an uplink packet */
#define MCP_FLOWF_BYPASS_TRIED 0x80 /* handed (or offered) to the kernel bypass once */

#define MCP_FLOW_NONE UINT32_MAX

struct mcp_flow {
	struct mcp_flow_key key;
	uint32_t hash;
	uint32_t prev, next;    /* LRU (or closing FIFO) links: flow indices */
	uint8_t up_is_a;        /* 1 if the lo side of the key is the up (UE / initiator) side */
	uint8_t ip_version;
	uint8_t flags;          /* MCP_FLOWF_* */
	uint8_t tcp_flags[2];   /* [0] up, [1] down */
	uint8_t dir_known;      /* direction came from a tunnel or UE IP, not a guess */
	uint16_t vlan;          /* VLAN of the first packet (reported) */
	uint8_t qfi;            /* 5G QoS flow id of the first PDU Session Container | 0x80; 0 none */
	uint32_t teid[2];       /* [0] uplink TEID, [1] downlink TEID; 0 = not seen */
	uint32_t sub_id;        /* session table id when MCP_FLOWF_HAS_SUB */
	uint32_t attr_gen;      /* session generation of the last lookup (attribution.h) */
	uint8_t attr_tentative; /* attributed provisionally (attribution.h): a new owner may
				 * come */
	char imsi[16];          /* kept so the record names the subscriber after it is removed */
	char *user;             /* RADIUS user owning the up side when the flow began (heap) */
	uint64_t pkts[2], bytes[2];
	/* of them, not yet in the kernel's subscriber counters ([0] up): credited once the flow
	 * has a subscriber (worker_bypass.c, live mode only) */
	uint32_t uncredited_pkts[2];
	uint64_t uncredited_bytes[2];
	/* live: what sub_id's kernel counters received on the flow's behalf ([0] up): this
	 * worker's credits, and XDP's for a tentative flow's packets through sub_id's own tunnel.
	 * A move to a key's new owner takes exactly this along (mcp_worker_credit_move). */
	uint32_t owner_credit_pkts[2];
	uint64_t owner_credit_bytes[2];
	uint64_t first_ms, last_ms; /* its packets' earliest and latest time (reported) */
	/* The worker's clock (the latest packet time it has seen) when the flow took its place
	 * in its list: at its last packet on the LRU, at its close on the closing FIFO. Each
	 * list is thus in time order however the capture's stamps jump, and expiry ends a prefix
	 * of it: the same flows whichever other flows share the worker (shards, docs/design.md). */
	uint64_t list_ms;
	struct mcp_ip outer_src, outer_dst;
	struct mcp_dpi_flow dpi;
	struct mcp_flow_bypass *bypass; /* non-NULL while installed in the kernel flow map */
};

/* Kernel counters already credited to a bypassed flow (index 0 = lo -> hi). */
struct mcp_flow_bypass {
	uint64_t pkts[2], bytes[2];
	uint64_t nosub_pkts[2], nosub_bytes[2]; /* of them, credited to no subscriber by XDP */
	uint8_t label;   /* worker.c's bypass profile slot */
	uint8_t pending; /* installed at the SYN, nDPI still undecided (worker.h) */
};

struct mcp_flow_table;

/* Returns NULL on allocation failure; max_flows >= 1. */
struct mcp_flow_table *mcp_flow_table_create(uint32_t max_flows);
void mcp_flow_table_destroy(struct mcp_flow_table *t);

/* Starts loading what a lookup of hash reads: stage 0 its index pairs; stage 1 (the pairs
 * loaded by an earlier stage 0) the first flow stored under hash. Touches nothing else. */
void mcp_flow_table_prefetch(const struct mcp_flow_table *t, uint32_t hash, int stage);
/* Finds a flow; NULL if absent. */
struct mcp_flow *mcp_flow_table_lookup(struct mcp_flow_table *t, const struct mcp_flow_key *k,
				       uint32_t hash);
uint32_t mcp_flow_key_hash(const struct mcp_flow_key *k);

/* Inserts a zeroed flow for k (the caller checked it is absent). NULL when the table is full:
 * the caller evicts (mcp_flow_table_oldest) and retries. */
struct mcp_flow *mcp_flow_table_insert(struct mcp_flow_table *t, const struct mcp_flow_key *k,
				       uint32_t hash);

/* Removes f from the table and its list; the caller has already released its contents. */
void mcp_flow_table_remove(struct mcp_flow_table *t, struct mcp_flow *f);

/* Marks f as just used (tail of the LRU); a closing flow keeps its place in the FIFO. */
void mcp_flow_table_touch(struct mcp_flow_table *t, struct mcp_flow *f);
/* Moves f to the closing FIFO (FIN/RST): it expires after the linger time. */
void mcp_flow_table_close(struct mcp_flow_table *t, struct mcp_flow *f);

/* Oldest flow of the LRU / closing FIFO, or NULL. */
struct mcp_flow *mcp_flow_table_oldest(struct mcp_flow_table *t);
struct mcp_flow *mcp_flow_table_oldest_closing(struct mcp_flow_table *t);

uint32_t mcp_flow_table_count(const struct mcp_flow_table *t);

/* Calls fn on every flow (final flush); fn may remove the flow it is given. */
void mcp_flow_table_foreach(struct mcp_flow_table *t, void (*fn)(void *ctx, struct mcp_flow *f),
			    void *ctx);

#endif /* MCP_FLOW_H */
