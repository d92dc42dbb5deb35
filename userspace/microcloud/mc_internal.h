/* mc_internal.h - microcloud internals shared by the mc_*.c files (not a public API).
 *
 * struct mcp_mc_link (mc_link.c, mc_cluster.c; public part: mc_link.h) hides single node vs
 * Redis Cluster: pipelines of preformatted RESP commands are routed per key slot, MOVED/ASK
 * followed. mc_keys.c builds key names, batches, fact commands and event JSON; mc_writer.c
 * owns the writer thread, which drains (mc_drain.c) and sends (mc_send.c); mc_sync.c the
 * lifecycle and the synchronous reads. Lower files never call up: the counters get a flusher.
 */
#ifndef MCP_MC_INTERNAL_H
#define MCP_MC_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "microcloud/microcloud.h"
#include "microcloud/mc_link.h"

#define MCP_MC_SLOTS 16384
#define MCP_MC_KEY_LEN 512
#define MCP_MC_PROBE_LEN 64
#define MCP_MC_FLOW_BUF 16384 /* flow summaries buffered for the writer (x2, ~190 B each) */
#define MCP_MC_SESS_BUF                                                                            \
	16384 /* session changes buffered for the writer (~770 B each), at most
			   * queue_len */

/* ---- mc_link.c, mc_cluster.c: connections and routing ---- */

struct mcp_mc_node {
	char host[256];
	int port;
	redisContext *c;
};

/* A preformatted command; slot -1 = any node (PUBLISH). */
struct mcp_mc_cmd {
	const char *buf; /* RESP bytes (a batch: inside its buffer, see mcp_mc_batch_seal) */
	size_t off;
	int len;
	int slot;
	uint8_t asking;     /* internal: resend to ask_node with ASKING first */
	uint8_t done;
	uint16_t ask_node;
	int16_t sent_node;  /* internal: node written to in this round, -1 = not written */
	uint8_t sent_asking;
	redisReply *reply;  /* kept only when the batch asks for replies */
};

struct mcp_mc_link {
	/* configuration (borrowed from the owner) */
	const char *host, *unix_path, *user, *password, *seeds;
	int port, db, cluster;
	uint32_t timeout_ms;
	struct mcp_mc_stats *st; /* counters updated by the link (may be NULL) */
	/* state */
	struct mcp_mc_node nodes[MCP_MC_MAX_NODES];
	int nnodes;
	int have_slots;
	uint8_t slot_node[MCP_MC_SLOTS]; /* index into nodes */
};

void mcp_mc_link_init(struct mcp_mc_link *l, const struct mcp_mc_cfg *c, uint32_t timeout_ms,
		      struct mcp_mc_stats *st);
/* mc_link.c: mcp_mc_link_open/cmd/cmd_node (mc_link.h), and for the probe: */
void mcp_mc_link_close(struct mcp_mc_link *l);
int mcp_mc_link_is_open(const struct mcp_mc_link *l);
/* Runs a pipeline. Replies are stored in cmds[i].reply when keep_replies, else freed.
 * Returns 0 when every command got a reply (error replies included), else -errno and
 * *acked = number of commands that got one. A failure closes the link. */
int mcp_mc_link_run(struct mcp_mc_link *l, struct mcp_mc_cmd *cmds, size_t n, int keep_replies,
		    size_t *acked);
/* Single node: writes len bytes of commands now (0 or -errno), and reads n replies
 * (error replies counted in st->cmd_errors; *got = replies read). Failures close the link. */
int mcp_mc_link_send(struct mcp_mc_link *l, const char *buf, size_t len);
int mcp_mc_link_collect(struct mcp_mc_link *l, size_t n, size_t *got);
/* A node's connection (connected and authenticated if it was not), forgetting it, and its
 * index by address (added when new; -ENOSPC past MCP_MC_MAX_NODES). */
int mcp_mc_node_connect(struct mcp_mc_link *l, struct mcp_mc_node *n);
void mcp_mc_node_drop(struct mcp_mc_node *n);
int mcp_mc_node_find(struct mcp_mc_link *l, const char *host, int port);
/* mc_cluster.c: connects to the seeds and reads the slot map. 0 or -errno. */
int mcp_mc_cluster_open(struct mcp_mc_link *l);

/* CRC16-CCITT (XMODEM) as Redis Cluster uses it, and the key slot with hash tags. */
uint16_t mcp_mc_crc16(const void *buf, size_t len);
int mcp_mc_key_slot(const char *key, size_t len);

/* ---- mc_keys.c: key names, fact commands, event JSON ---- */

/* A growable batch of commands. */
struct mcp_mc_batch {
	struct mcp_mc_cmd *cmds;
	size_t n, cap;
	char *buf;          /* every command's RESP bytes, back to back */
	size_t blen, bcap;
	int cluster;
};

void mcp_mc_batch_free(struct mcp_mc_batch *b);
void mcp_mc_batch_reset(struct mcp_mc_batch *b);
/* Formats a command routed by key: fmt is space-separated literal words and %s (each a
 * whole argument). 0 or -ENOMEM. */
int mcp_mc_batch_addf(struct mcp_mc_batch *b, const char *key, const char *fmt, ...);
int mcp_mc_batch_addv(struct mcp_mc_batch *b, const char *key, int argc, const char **argv,
		      const size_t *argvlen);
/* Points every cmds[i].buf into the buffer: call once the batch is complete. */
void mcp_mc_batch_seal(struct mcp_mc_batch *b);

struct mcp_mc_keys {
	const char *prefix;
	int cluster;
};

/* imsi.<IMSI> (cluster: imsi.{<IMSI>}) and the others; return the length. */
int mcp_mc_key_imsi(const struct mcp_mc_keys *k, char *buf, size_t sz, const char *imsi);
int mcp_mc_key_agg(const struct mcp_mc_keys *k, char *buf, size_t sz, uint64_t epoch,
		   const char *imsi);
int mcp_mc_key_ip(const struct mcp_mc_keys *k, char *buf, size_t sz, const struct mcp_ip *ip);
int mcp_mc_key_teid(const struct mcp_mc_keys *k, char *buf, size_t sz, const struct mcp_ip *ep,
		    uint32_t teid);
int mcp_mc_key_fmt(const struct mcp_mc_keys *k, char *buf, size_t sz, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The local copy of one subscriber fact, as the writer writes it. */
struct mcp_mc_sub_fact {
	struct mcp_subscriber sub;
	char probe[MCP_MC_PROBE_LEN];
	int deleted;
	uint64_t expire_wall_ms; /* deleted: facts expire then */
};

/* Appends the commands writing (or, deleted, expiring) one subscriber's facts. The owned
 * keys (ip./teid./msisdn.) are SET to the IMSI; on detach they get PEXPIRE only if they
 * still name this IMSI. stale[] lists keys written before and no longer owned. */
int mcp_mc_fact_cmds(const struct mcp_mc_keys *k, struct mcp_mc_batch *b,
		     const struct mcp_mc_sub_fact *f, uint64_t now_wall_ms,
		     char (*stale)[MCP_MC_KEY_LEN], int nstale);
/* Owned keys of a subscriber (ip./teid./msisdn.): fills keys[], returns the count. */
int mcp_mc_fact_owned_keys(const struct mcp_mc_keys *k, const struct mcp_subscriber *s,
			   char (*keys)[MCP_MC_KEY_LEN], int max);
/* The event JSON (malloc'd). */
char *mcp_mc_event_json(enum mcp_session_event ev, const struct mcp_subscriber *s,
			const char *probe, uint64_t ts_ms);
/* Parses an imsi.* hash reply (HGETALL) into sub (imsi set by the caller). 0 or -EBADMSG.
 * *active = state field is "active". probe receives the probe field. */
int mcp_mc_fact_parse(const redisReply *r, struct mcp_subscriber *sub, int *active, char *probe,
		      size_t probe_len);
/* Strips prefix, "imsi." and hash tag braces from a key: the IMSI, or NULL. */
const char *mcp_mc_key_imsi_of(const struct mcp_mc_keys *k, const char *key, char *imsi, size_t sz);

/* Compare-and-delete / compare-and-pexpire Lua bodies. */
extern const char mcp_mc_lua_del_if[];
extern const char mcp_mc_lua_pexpire_if[];

/* ---- the microcloud object (mc_writer.c, mc_drain.c, mc_send.c, mc_events.c, mc_counters.c,
 * mc_sync.c) ---- */

#define MCP_MC_USER_LEN 254
#define MCP_MC_CALLING_LEN 64
#define MCP_MC_MAX_STALE 64

struct mcp_mc_user_fact {
	char name[MCP_MC_USER_LEN];
	char calling[MCP_MC_CALLING_LEN];
	struct mcp_ip ip;
	int has_ip;
	int deleted;
	uint64_t last_change_ms;
	uint64_t expire_wall_ms;
	char probe[MCP_MC_PROBE_LEN];
};

enum mcp_mc_entry_kind { MCP_MC_ENTRY_SUB = 's', MCP_MC_ENTRY_USER = 'u' };

#define MCP_MC_MAX_LINGER 64 /* per entry; more keep their grace in Redis, not in the copy */

struct mcp_mc_linger {
	char *key;
	uint64_t expire_wall_ms;
	/* its grace was not written yet: the detach that owned it was coalesced with the next
	 * value, so Redis still holds it without TTL; the entry's next write sends it */
	uint8_t unsent;
};

/* One persistent fact in the local copy (the source of truth for resyncs). */
struct mcp_mc_entry {
	struct mcp_mc_entry *next; /* hash chain */
	struct mcp_mc_entry *ovf_next; /* overflow list (queue was full) */
	uint8_t kind; /* enum mcp_mc_entry_kind */
	uint8_t queued;            /* a write of it is pending: later updates coalesce */
	int nstale;
	uint64_t seq;              /* sub: sequence number of the session change it holds: the
				    * fact's version (mc_sess_apply never goes back to a lower one) */
	char *stale[MCP_MC_MAX_STALE]; /* keys no longer owned, to delete at the next write */
	/* sub: keys of an earlier, detached value that Redis keeps until their grace ends (a
	 * re-attach with another IP or tunnels does not delete them); a resync restores them */
	struct mcp_mc_linger *linger;
	int nlinger;
	union {
		struct mcp_mc_sub_fact sub;
		struct mcp_mc_user_fact user;
	} f;
};

enum mcp_mc_op_type { MCP_MC_OP_FACT, MCP_MC_OP_EVENT };

struct mcp_mc_op {
	uint8_t type;
	uint8_t ev;
	struct mcp_mc_entry *e; /* MCP_MC_OP_FACT */
	char *json; /* MCP_MC_OP_EVENT (malloc'd) */
	char imsi[MCP_IMSI_LEN];
};

/* A session change as the producer hands it to the writer (mc_events.c): a copy, so the
 * packet thread neither formats nor allocates; the writer applies it to the local copy and
 * builds the event. seq orders changes applied by the writer and by a producer whose buffer
 * was full: a fact never goes back to an older change. */
struct mcp_mc_sess_change {
	uint64_t seq;
	uint64_t ts_ms;
	uint8_t ev;                /* enum mcp_session_event */
	struct mcp_subscriber sub;
};

struct mcp_mc_ctr_table; /* mc_probe_stats.c: HSET P stats.<probe> with the counters mcp_mc_probe_stats() gave, when
 * they changed since the last write. 0 or -ENOMEM. */
int mcp_mc_probe_stats_cmds(struct mcp_mc *m, struct mcp_mc_batch *b);

/* mc_counters.c */
struct mcp_mc_ttl_memo; /* mc_ttl.c */

/* A counter key's identity in binary form: the packet thread fills it without formatting a
 * name (the writer formats it when it writes the key). Zero-filled first, so two identities
 * compare with memcmp and hash as bytes. */
enum mcp_mc_ctr_kind { MCP_MC_CTR_HOST, MCP_MC_CTR_PROTO, MCP_MC_CTR_AGG };

/* What the counters need of one flow record: copied by the packet thread, credited to the
 * counter keys by the writer (mc_counters.c). */
struct mcp_mc_flow_sum {
	struct mcp_ip src_ip, dst_ip;
	uint64_t pkts_up, pkts_down, bytes_up, bytes_down;
	uint64_t first_ms, last_ms;
	char app[MCP_APP_NAME_LEN];  /* "Unknown" when nDPI named none */
	char imsi[MCP_IMSI_LEN];     /* "" when unknown */
	uint8_t dns;                 /* counts as a DNS query of src */
};

struct mcp_mc_cid {
	uint8_t kind; /* enum mcp_mc_ctr_kind */
	uint8_t pad[7];
	uint64_t epoch;                 /* agg: start of the bucket (s) */
	union {
		struct mcp_ip ip;           /* host */
		char app[MCP_APP_NAME_LEN]; /* proto */
		char imsi[MCP_IMSI_LEN];    /* agg */
	} u;
};

/* A stale-key deletion in a pipeline not yet acknowledged (writer thread only). */
struct mcp_mc_inflight {
	uint8_t kind;
	char name[MCP_MC_USER_LEN];
	char *key;
};

struct mcp_mc {
	struct mcp_mc_cfg cfg;     /* strings owned (copied) */
	struct mcp_mc_keys keys;
	char probe[MCP_MC_PROBE_LEN];

	pthread_mutex_t lock;      /* store, ring, overflow, stats of producers */
	pthread_cond_t wake, done;
	pthread_t thread;
	int started, stop, urgent;
	uint64_t flush_req, cycle_done;

	struct mcp_mc_entry **buckets;
	size_t nbuckets, nentries, ndeleted;
	int resync_active;

	struct mcp_mc_op *ring;
	uint64_t head, tail;       /* ring[i % queue_len] */
	struct mcp_mc_entry *ovf_head, *ovf_tail;

	pthread_mutex_t sess_lock; /* sring, shead, stail, sseq */
	struct mcp_mc_sess_change *sring; /* sring[i % slen]: changes not yet applied */
	uint64_t shead, stail, sseq;
	uint32_t slen;
	int sess_wake;             /* a wake-up for the buffered changes is pending (atomic) */

	pthread_mutex_t ctr_lock;     /* fbuf, fbuf_n, ctr */
	struct mcp_mc_flow_sum *fbuf; /* flow summaries for the writer to credit */
	size_t fbuf_n, fbuf_cap;
	struct mcp_mc_ctr_table *ctr; /* credited by producers when fbuf is full */
	struct mcp_mc_flow_sum *fbuf_spare; /* writer thread only, from here on */
	struct mcp_mc_ctr_table *wctr; /* credited by the writer from fbuf */
	size_t wctr_last_keys;
	struct mcp_mc_ttl_memo *ttl_memo;

	struct mcp_session_stats pstats; /* the probe's bound counters to write (m->lock) */
	int pstats_dirty;
	struct mcp_mc_stats st;    /* writer + producers */
	struct mcp_mc_link wl; /* writer link (writer thread only) */
	int connected;
	struct mcp_mc_inflight *inflight; /* writer thread only */
	size_t ninflight, capinflight;
	size_t prev_cmds, prev_inflight; /* single node: pipeline written, replies not read */

	pthread_mutex_t sync_lock;
	struct mcp_mc_link sl; /* synchronous reads */
	struct mcp_mc_stats sst;
	uint64_t sync_retry_ms;
};

/* Sends a batch that has grown full. The writer hands it to code that builds long batches
 * (the counters), so that code never calls up into the writer. */
struct mcp_mc_flusher {
	int (*fn)(void *ctx, struct mcp_mc_batch *b); /* 0 or -errno; leaves b empty */
	void *ctx;
	size_t at_cmds; /* call fn when the batch holds this many commands */
};

/* mc_store.c: the store and the queue (m->lock held by callers). */
void mcp_mc_entry_free(struct mcp_mc_entry *e);
uint64_t mcp_mc_ring_used(const struct mcp_mc *m);
struct mcp_mc_entry *mcp_mc_store_get(struct mcp_mc *m, uint8_t kind, const char *name, int create);
void mcp_mc_entry_add_stale(struct mcp_mc_entry *e, const char *key);
/* Remembers a key the fact's earlier (detached) value owned, until expire_wall_ms. */
void mcp_mc_entry_linger(struct mcp_mc_entry *e, const char *key, uint64_t expire_wall_ms);
/* Takes the lingering keys whose grace was not written (strdup'd into keys[], remaining grace
 * in ttl_ms[], at most max) and marks them written; returns how many (m->lock held). */
int mcp_mc_entry_take_unsent(struct mcp_mc_entry *e, char **keys, uint64_t *ttl_ms, int max,
			     uint64_t now_wall_ms);
/* Forgets lingering keys the value owns again (keys[0..n)) and those expired by now (once
 * their grace was written: an unsent one stays until a write gives it its TTL). */
void mcp_mc_entry_unlinger(struct mcp_mc_entry *e, char (*keys)[MCP_MC_KEY_LEN], int n,
			   uint64_t now_wall_ms);
void mcp_mc_enqueue_fact(struct mcp_mc *m, struct mcp_mc_entry *e);
/* Queues an event (takes json); drops and counts it when the queue is full. */
void mcp_mc_enqueue_event(struct mcp_mc *m, uint8_t ev, const char *imsi, char *json);
void mcp_mc_wake(struct mcp_mc *m);
/* mc_send.c (writer thread): sends a batch on the writer link. 0 or -errno (dropped,
 * counted). On one node its replies are read at the next flush or at mcp_mc_writer_sync().
 * In-flight stale-key deletions (key taken over) go back to their facts when their pipeline
 * fails; mcp_mc_pipeline_fail() drops what is outstanding and closes the link. */
int mcp_mc_writer_flush(struct mcp_mc *m, struct mcp_mc_batch *b);
int mcp_mc_writer_sync(struct mcp_mc *m);
void mcp_mc_inflight_add(struct mcp_mc *m, uint8_t kind, const char *name, char *key);
void mcp_mc_inflight_done(struct mcp_mc *m, int failed);
int mcp_mc_pipeline_fail(struct mcp_mc *m, size_t outstanding, int err);
/* mc_drain.c (writer thread): the queue, a full resync of the local copy, the counters into
 * pipelines. 0 or -errno (the link failed: reconnect). */
int mcp_mc_drain(struct mcp_mc *m, struct mcp_mc_batch *b);
int mcp_mc_resync(struct mcp_mc *m, struct mcp_mc_batch *b);
int mcp_mc_flush_counters(struct mcp_mc *m, struct mcp_mc_batch *b);
/* mc_writer.c: the writer thread. */
int mcp_mc_writer_start(struct mcp_mc *m);
void mcp_mc_writer_stop(struct mcp_mc *m);

/* mc_events.c: the writer applies up to max buffered session changes to the local copy,
 * queueing their writes and events (m->lock not held), and returns how many; the number of
 * changes still buffered; user fact commands. */
size_t mcp_mc_sess_pump(struct mcp_mc *m, size_t max);
uint64_t mcp_mc_sess_pending(struct mcp_mc *m);
int mcp_mc_user_cmds(const struct mcp_mc_keys *k, struct mcp_mc_batch *b,
		     const struct mcp_mc_user_fact *u, uint64_t now_wall_ms, char **stale,
		     int nstale);
int mcp_mc_event_cmds(struct mcp_mc *m, struct mcp_mc_batch *b, const struct mcp_mc_op *op);

/* mc_counters.c */
/* A table with room for expect_keys (grows beyond). */
struct mcp_mc_ctr_table *mcp_mc_ctr_create(size_t expect_keys);
void mcp_mc_ctr_destroy(struct mcp_mc_ctr_table *t);
/* Writer: credits the buffered flow summaries to m->wctr. 0 or -ENOMEM. */
int mcp_mc_ctr_drain(struct mcp_mc *m);
/* Appends HINCRBY/EXPIRE for every counter of t, handing the batch to flush whenever it
 * holds flush->at_cmds commands. 0 or -errno (from flush, or -ENOMEM). */
int mcp_mc_ctr_cmds(struct mcp_mc *m, struct mcp_mc_batch *b, struct mcp_mc_ctr_table *t,
		    const struct mcp_mc_flusher *flush);
size_t mcp_mc_ctr_keys(const struct mcp_mc_ctr_table *t);

/* mc_ttl.c: which counter keys got their EXPIRE recently (writer thread only). A key's TTL is
 * re-sent at most every refresh interval instead of at every counter flush. */
struct mcp_mc_ttl_memo *mcp_mc_ttl_create(size_t max_keys);
void mcp_mc_ttl_destroy(struct mcp_mc_ttl_memo *t);
/* Forgets everything: after a (re)connect Redis may have lost the keys and their TTLs. */
void mcp_mc_ttl_clear(struct mcp_mc_ttl_memo *t);
/* 1 when the key's EXPIRE must be sent now (never sent, or sent refresh_ms ago or more; also
 * when the memo is full), and then records now as the time it was sent; 0 otherwise. */
int mcp_mc_ttl_due(struct mcp_mc_ttl_memo *t, const struct mcp_mc_cid *id, uint64_t hash,
		   uint64_t now_ms, uint64_t refresh_ms);
/* The refresh interval for a TTL: a tenth of it, at most a minute (the key's remaining TTL
 * never drops below 90%, or TTL - 60 s). */
uint64_t mcp_mc_ttl_refresh_ms(uint32_t ttl_s);

uint64_t mcp_mc_wall_ms(void);
uint64_t mcp_mc_mono_ms(void);

#endif /* MCP_MC_INTERNAL_H */
