/* session_internal.h - private to session*.c: the session table's internal structures and the
 * helpers shared by the table (session.c), the GTP-C intake (session_gtpc.c) and the exchange
 * semantics (session_apply.c). Call graph: session_gtpc.c -> gtpc_txn.c, session_apply.c ->
 * session.c; session.c calls neither.
 */
#ifndef MCP_SESSION_INTERNAL_H
#define MCP_SESSION_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include "control/gtpc.h"
#include "session/session.h"
#include "session/gtpc_txn.h"
#include "session/session_htab.h"

#define MCP_SESS_CHUNK     4096 /* subscribers per slab chunk */
#define MCP_SESS_INDEX_START 65536 /* initial slots of each session index */
#define MCP_SESS_MAX_CTRL  8    /* control F-TEIDs indexed per subscriber */
#define MCP_SESS_MAX_UE_IP 4    /* UE addresses indexed per subscriber (PDN connections) */
#define MCP_NONE           UINT32_MAX  /* empty free list */
#define MCP_DIR_BIT        0x80000000u /* in hash values: tunnel dir / ctrl side */

/* (TEID, endpoint) key of the tunnel and control indexes. */
struct mcp_teid_key {
	uint32_t teid;
	struct mcp_ip addr;
};

struct mcp_ctrl_ent {
	uint32_t teid;
	struct mcp_ip addr;
	uint8_t side; /* 0 core, 1 access (as ctrl_teid[]) */
};

struct mcp_sess_ent {
	struct mcp_subscriber sub;
	uint32_t gen;
	uint32_t next_free;
	uint8_t used;
	uint8_t nctrl, nue;
	uint8_t tun_lbi[MCP_MAX_TUNNELS]; /* default bearer each tunnel belongs to */
	struct mcp_ctrl_ent ctrl[MCP_SESS_MAX_CTRL];
	struct mcp_ip ue[MCP_SESS_MAX_UE_IP];
};

/* Queue records for timed expiry. */
struct mcp_stale_q {
	uint64_t until_ms;
	uint32_t id;
	uint32_t teid;
	struct mcp_ip addr;
};

struct mcp_del_q {
	uint64_t until_ms;
	uint32_t id, gen;
};

struct mcp_sessions {
	struct mcp_session_cfg cfg;
	struct mcp_session_stats stats;

	struct mcp_sess_ent **chunks;
	uint32_t nchunks, max_chunks, nalloc; /* nalloc: ids handed out so far */
	uint32_t free_head;                   /* UINT32_MAX when empty */
	uint32_t nused;
	uint64_t generation; /* bumped whenever a tunnel or UE IP may have become resolvable */
	/* bumped at every change of what a tunnel key resolves to: the tunnel index, a
	 * subscriber's tunnels, state, last change or its entry (mcp_sessions_tunnel_epoch) */
	uint64_t tunnel_epoch;

	struct mcp_htab by_tunnel, by_ctrl, by_ue, by_imsi;
	struct mcp_ring q_stale_ho, q_stale_del, q_del;

	struct mcp_gtpc_txns *txns; /* pending GTP-C requests (gtpc_txn.c) */

	struct mcp_gtpc_msg msg; /* decode buffer */
	unsigned int pressure_warned; /* bounds already warned about (session_pressure.c) */
};

/* Warns once per bound hit (session table, pending requests, tunnels per subscriber). */
void mcp_sess_pressure_check(struct mcp_sessions *s);

/* Bounded string copy that always terminates (sz > 0). */
static inline void mcp_sess_strcpy(char *dst, const char *src, size_t sz)
{
	size_t n = strnlen(src, sz - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static inline void mcp_teid_key(struct mcp_teid_key *k, uint32_t teid, const struct mcp_ip *addr)
{
	memset(k, 0, sizeof(*k));
	k->teid = teid;
	if (addr)
		k->addr = *addr;
}

static inline void mcp_imsi_key(char key[MCP_IMSI_LEN], const char *imsi)
{
	memset(key, 0, MCP_IMSI_LEN);
	mcp_sess_strcpy(key, imsi, MCP_IMSI_LEN);
}

static inline struct mcp_sess_ent *mcp_sess_ent(struct mcp_sessions *s, uint32_t id)
{
	return &s->chunks[id / MCP_SESS_CHUNK][id % MCP_SESS_CHUNK];
}

/* session.c: entries and indexes */
/* Deletes key from t if it maps to subscriber id (a TEID or IP may have changed owner). */
void mcp_sess_unmap(struct mcp_htab *t, const void *key, uint32_t id);
struct mcp_sess_ent *mcp_sess_find_imsi(struct mcp_sessions *s, const char *imsi);
struct mcp_sess_ent *mcp_sess_alloc(struct mcp_sessions *s, const char *imsi);
struct mcp_sess_ent *mcp_sess_by_ctrl(struct mcp_sessions *s, uint32_t teid,
				      const struct mcp_ip *addr, uint8_t *side);
void mcp_sess_emit(struct mcp_sessions *s, enum mcp_session_event ev, struct mcp_sess_ent *e,
		   uint64_t ts_ms);
/* Tunnel i leaves the entry; its mapping stays for grace_ms (0: unmapped now). */
void mcp_sess_drop_tunnel(struct mcp_sessions *s, struct mcp_sess_ent *e, int i,
			  uint32_t grace_ms, uint64_t ts_ms);
/* Adds or replaces the tunnel (ebi, iface, dir); returns 1 if anything changed. */
int mcp_sess_set_tunnel(struct mcp_sessions *s, struct mcp_sess_ent *e, uint8_t ebi,
			uint8_t lbi, uint8_t iface, uint8_t dir, uint32_t teid,
			const struct mcp_ip *addr, uint64_t ts_ms);
int mcp_sess_add_ctrl(struct mcp_sessions *s, struct mcp_sess_ent *e, uint32_t teid,
		      const struct mcp_ip *addr, uint8_t side);
int mcp_sess_add_ue(struct mcp_sessions *s, struct mcp_sess_ent *e, const struct mcp_ip *ip);
/* Forgets tunnels (with handover grace), UE IPs and control TEIDs: before a re-attach. */
void mcp_sess_reset(struct mcp_sessions *s, struct mcp_sess_ent *e, uint64_t ts_ms);
void mcp_sess_mark_deleted(struct mcp_sessions *s, struct mcp_sess_ent *e, uint64_t ts_ms);

/* session_apply.c: what an accepted exchange does to the table */
void mcp_sess_apply(struct mcp_sessions *s, const struct mcp_gtpc_msg *req,
		    const struct mcp_gtpc_msg *rsp, const struct mcp_ip *req_src,
		    const struct mcp_ip *req_dst, uint64_t ts_ms);

#endif /* MCP_SESSION_INTERNAL_H */
