/* microcloud.h - the shared Redis knowledge base: subscriber facts, counters, aggregates, events.
 *
 * Microcloud architecture (Deri & Fusco): every probe writes time-sensitive facts into Redis
 * as soon as it learns them and publishes events. Two channels per probe:
 *  - an asynchronous pipelined writer on its own thread (batches flushed at flush_cmds
 *    commands or flush_ms milliseconds), fed through a bounded queue; callers never block
 *    on Redis. A full queue coalesces facts latest-value-per-key and counts it;
 *  - a synchronous connection for the few reads that need an answer now.
 * Redis down, killed, restarted or slow: processing continues, the writer reconnects with
 * backoff and re-writes every persistent fact it holds (full resync). Redis Cluster is
 * supported (CLUSTER SLOTS, CRC16 key slots with hash tags, MOVED/ASK, per-node pipelines).
 * Key schema and examples: docs/microcloud.md.
 */
#ifndef MCP_MICROCLOUD_H
#define MCP_MICROCLOUD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mcp_addr.h"
#include "flow/record.h"
#include "session/session.h"

#define MCP_MC_DEFAULT_PORT 6379

struct mcp_mc_cfg {
	const char *host;          /* default "127.0.0.1" */
	int port;                  /* default 6379 */
	const char *unix_path;     /* non-NULL: connect to this UNIX socket instead */
	const char *user;          /* ACL user (Redis 6+), NULL = "default" */
	const char *password;      /* NULL = no AUTH */
	int db;                    /* SELECT db (not in cluster mode) */
	const char *prefix;        /* prepended to every key and channel, default "" */
	const char *cluster_seeds; /* "h:p,h:p": Redis Cluster mode; NULL = single node */
	const char *probe_name;    /* written in facts and events, default hostname */
	uint32_t agg_period_s;     /* per-IMSI application buckets, default 300, 0 = off */
	uint32_t agg_retention_s;  /* bucket TTL, default 86400 */
	uint32_t counter_ttl_s;    /* host./proto. TTL, default 2 * period (600 if period 0) */
	uint32_t flush_cmds;       /* flush a pipeline at this many commands, default 512 */
	uint32_t flush_ms;         /* ... or after this many ms, default 50 */
	uint32_t counter_flush_ms; /* host./proto./agg. sums are written this often, default 1000
				    * (volatile counters: summing longer in memory saves Redis
				    * most of their commands); 0 = every flush */
	uint32_t queue_len;        /* bounded writer queue (ops), default 65536 */
	uint32_t stream_maxlen;    /* XADD events MAXLEN ~ N, default 100000; 0 = no stream */
	uint32_t grace_ms;         /* detached facts expire after this, default 60000 */
	uint32_t timeout_ms;       /* connect/command timeout, default 2000 */
	uint32_t sync_timeout_ms;  /* synchronous reads, default 200 */
	uint32_t max_counter_keys; /* in-memory counter keys between flushes, default 1,000,000 */
	char host_buf[256];        /* mcp_mc_parse_endpoint stores a host taken from "h:p" here */
};

/* Writer and reader statistics (--stats). */
struct mcp_mc_stats {
	uint64_t cmds_sent;        /* commands written (acknowledged) */
	uint64_t cmd_errors;       /* error replies (other than MOVED/ASK) */
	uint64_t batches;          /* pipelines flushed */
	uint64_t batches_failed;   /* pipelines lost to a connection failure (dropped, counted) */
	uint64_t cmds_dropped;     /* commands in those pipelines */
	uint64_t connects, connect_failures, disconnects, resyncs;
	uint64_t auth_failures;    /* connects refused for AUTH: wrong, or missing (NOAUTH) */
	uint64_t facts_written;    /* subscriber fact rewrites */
	uint64_t coalesced;        /* fact updates merged into a pending one (latest value wins) */
	uint64_t queue_full;       /* ops that found the queue full */
	uint64_t events_published, events_dropped;
	uint64_t counter_keys_dropped; /* counter table full */
	uint64_t moved, ask, slot_refreshes;
	uint64_t sync_reads, sync_errors;
	uint64_t reloaded;         /* sessions restored at startup */
	uint64_t queue_depth;      /* current, not cumulative */
	uint64_t facts_held;       /* current number of subscriber facts in the local copy */
	uint64_t writer_cpu_us;    /* CPU time used by the writer thread so far */
	int connected;             /* writer currently connected */
};

struct mcp_mc;

/* Fills the defaults above (host, port, period, ...). */
void mcp_mc_cfg_defaults(struct mcp_mc_cfg *c);

/* "HOST:PORT", "HOST" (port 6379), "[v6addr]:PORT" or "unix:/path". 0 or -EINVAL.
 * c->host points into arg or c->host_buf; unix_path points into arg (keep arg alive). */
int mcp_mc_parse_endpoint(struct mcp_mc_cfg *c, const char *arg);

/* "[USER:]PASSWORD". If arg is NULL the environment variable MCP_REDIS_AUTH is used (absent:
 * 0, no auth). Copies the strings (freed by mcp_mc_cfg_free_auth). Never logs the secret. */
int mcp_mc_parse_auth(struct mcp_mc_cfg *c, const char *arg);
void mcp_mc_cfg_free_auth(struct mcp_mc_cfg *c);

/* Starts the writer thread. Never blocks on Redis: a down Redis is (re)connected by the
 * writer with backoff. NULL on allocation failure or invalid cfg (logged). */
struct mcp_mc *mcp_mc_create(const struct mcp_mc_cfg *c);

/* Flushes everything queued (for at most timeout, default 2 s if Redis is reachable),
 * stops the writer, closes both connections. */
void mcp_mc_destroy(struct mcp_mc *m);

/* Session change (ATTACH/MODIFY write the facts and publish; DETACH marks them deleted,
 * publishes and lets them expire after grace_ms; REMOVE forgets the local copy).
 * Thread-safe, non-blocking. */
void mcp_mc_session_event(struct mcp_mc *m, enum mcp_session_event ev,
			  const struct mcp_subscriber *sub, uint64_t ts_ms);
/* Same, with the signature of mcp_session_event_fn (ctx = struct mcp_mc *). */
void mcp_mc_on_session_event(void *ctx, enum mcp_session_event ev,
			     const struct mcp_subscriber *sub, uint64_t ts_ms);

/* One exported flow: host./proto. counters and the per-IMSI application bucket.
 * Thread-safe, non-blocking (aggregated in memory, written at the next flush). */
void mcp_mc_flow(struct mcp_mc *m, const struct mcp_flow_record *r);
/* Same, with the signature of struct mcp_exporter.flow (ctx = struct mcp_mc *). */
void mcp_mc_export_flow(void *ctx, const struct mcp_flow_record *r);

/* RADIUS accounting: user.<name> fact and ip.<addr> -> name (active), or their expiry after
 * grace (stopped). Thread-safe, non-blocking. */
void mcp_mc_radius_user(struct mcp_mc *m, const char *name, const struct mcp_ip *ip,
			const char *calling_station, int active, uint64_t ts_ms);
/* Startup: reads every active imsi.* fact (SCAN, every master in cluster mode) and restores
 * it into the session table (mcp_sessions_restore) and the local copy. Synchronous.
 * Returns the number restored or -errno (-ENOTCONN when Redis cannot be reached). */
int mcp_mc_reload_sessions(struct mcp_mc *m, struct mcp_sessions *s);

/* Synchronous reads (short timeout). 1 found, 0 not found, -errno on failure. */
int mcp_mc_lookup_ip(struct mcp_mc *m, const struct mcp_ip *ip, char *owner, size_t len);
/* A detached subscriber (in its grace period) comes back with state MCP_SUB_DELETED. */
int mcp_mc_lookup_subscriber(struct mcp_mc *m, const char *imsi, struct mcp_subscriber *out);
/* teid.<endpoint>.<teid>: the IMSI owning the tunnel (any probe's). */
int mcp_mc_lookup_tunnel(struct mcp_mc *m, uint32_t teid, const struct mcp_ip *endpoint,
			 char *imsi, size_t len);

/* Waits until everything queued so far has been written (or dropped). 0, or -ETIMEDOUT. */
int mcp_mc_flush(struct mcp_mc *m, uint32_t timeout_ms);
/* At the end of the run, from the packet thread: mcp_mc_flush_start() sets the writer on
 * what is queued without waiting (Redis applies it while the last flows are exported), then
 * mcp_mc_flush_final() waits for everything; the writer may use the caller's CPUs meanwhile. */
void mcp_mc_flush_start(struct mcp_mc *m);
int mcp_mc_flush_final(struct mcp_mc *m, uint32_t timeout_ms);

/* Per-IMSI application buckets, P agg.<epoch>.<IMSI> (cluster: agg.<epoch>.{<IMSI>}): the
 * SCAN pattern of one period (epoch >= 0) or of every one (epoch < 0), its length or
 * -ENAMETOOLONG; and a bucket key's epoch and IMSI, 0 or -EINVAL (not a bucket). */
int mcp_mc_agg_pattern(const char *prefix, long long epoch, char *buf, size_t sz);
int mcp_mc_agg_key_parse(const char *prefix, const char *key, uint64_t *epoch, char *imsi,
			 size_t imsi_sz);

/* The probe's session-table bound counters (table_full, txn_full, tunnels_full, ...): written
 * to P stats.<probe> with the next counter flush. Thread-safe, non-blocking. */
void mcp_mc_probe_stats(struct mcp_mc *m, const struct mcp_session_stats *ss);

void mcp_mc_get_stats(struct mcp_mc *m, struct mcp_mc_stats *st);
void mcp_mc_print_stats(struct mcp_mc *m, FILE *f);

#endif /* MCP_MICROCLOUD_H */
