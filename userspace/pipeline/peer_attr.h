/* peer_attr.h - attribution across probes at run time, through the microcloud.
 *
 * A probe that sees only GTP-U (another one sees the S11/Gn control plane) learns tunnels
 * from the microcloud while it runs: a reader thread (never the packet thread) SUBSCRIBEs to
 * P events.imsi and fetches the facts of subscribers that other probes attached, moved or
 * detached, and looks up teid.<endpoint>.<teid> for tunnels the packet thread met without a
 * session. Answers come back through a ring and are restored into the session table, whose
 * generation change makes waiting flows look again (flow/attribution.h). A tunnel nobody
 * knew is asked again after 50 ms, then after twice as long each time, up to
 * MCP_PEER_RETRY_MAX_MS (a bounded negative cache). Single Redis node
 * (docs/microcloud.md, "Attribution across probes").
 */
#ifndef MCP_PEER_ATTR_H
#define MCP_PEER_ATTR_H

#include <stdint.h>
#include <stdio.h>

#include "microcloud/microcloud.h"
#include "session/session.h"

#ifndef MCP_PEER_RETRY_MIN_MS
#define MCP_PEER_RETRY_MIN_MS 50    /* first retry of a tunnel nobody knew */
#endif
#ifndef MCP_PEER_RETRY_MAX_MS
#define MCP_PEER_RETRY_MAX_MS 5000  /* backoff ceiling: at most one GET per tunnel this often */
#endif
#ifndef MCP_PEER_NEG_SLOTS
#define MCP_PEER_NEG_SLOTS 32768 /* negative cache entries (power of two, 1 MiB); a collision
				   * overwrites: the end-of-input settle re-asks only those kept */
#endif

struct mcp_peer_stats {
	uint64_t events, own_events;       /* received on the channel; of them our own */
	uint64_t lookups, lookups_found;   /* teid.* asked by the packet thread; answered */
	uint64_t facts_fetched, facts_restored;
	uint64_t requests_dropped;         /* request ring full: asked again at the next retry */
	uint64_t errors;
	uint64_t lat_us[2];                /* tunnel lookup latency: p50, p99 (request to restore) */
};

struct mcp_peer;

/* NULL on failure (logged). mc: the probe's microcloud (its sync channel does the reads). */
struct mcp_peer *mcp_peer_create(const struct mcp_mc_cfg *cfg, struct mcp_mc *mc);
void mcp_peer_destroy(struct mcp_peer *p);

/* Packet thread: a GTP-U packet's tunnel had no session. Cheap when asked recently. */
void mcp_peer_want_tunnel(struct mcp_peer *p, uint32_t teid, const struct mcp_ip *endpoint);
/* Packet thread: restores what the reader learnt. Returns the number restored. */
int mcp_peer_apply(struct mcp_peer *p, struct mcp_sessions *s);
/* Packet thread, at the end of input: waits up to timeout_ms for the lookups in flight, then
 * applies them, so the final export sees every answer. */
void mcp_peer_settle(struct mcp_peer *p, struct mcp_sessions *s, uint32_t timeout_ms);

void mcp_peer_get_stats(struct mcp_peer *p, struct mcp_peer_stats *st);
void mcp_peer_print_stats(struct mcp_peer *p, FILE *f);

#endif /* MCP_PEER_ATTR_H */
