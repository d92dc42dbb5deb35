/* session.c - the subscriber session table fed by GTPv1-C (TS 29.060) and GTPv2-C (TS 29.274).
 *
 * Entries live in slab chunks (id = slab index, stable while the entry exists) and are
 * indexed by IMSI, UE IP, user-plane (TEID, endpoint) and control (TEID, endpoint). GTP-C
 * intake is session_gtpc.c, request/response pairing gtpc_txn.c (expired by the caller through
 * mcp_sessions_expire_transactions); what an accepted exchange changes is in
 * session_apply.c; the hash tables are session_htab.c.
 * Replaced or deleted facts stay resolvable for their grace period, driven by
 * mcp_sessions_expire() with packet or wall time. No allocation per message once warm.
 */
#include "session/session.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "util/hugemem.h"
#include "session/session_internal.h"

void mcp_sess_unmap(struct mcp_htab *t, const void *key, uint32_t id)
{
	uint32_t *v = mcp_htab_find(t, key);

	if (v && (*v & ~MCP_DIR_BIT) == id)
		mcp_htab_del(t, key);
}

struct mcp_sessions *mcp_sessions_create(const struct mcp_session_cfg *cfg)
{
	struct mcp_sessions *s = calloc(1, sizeof(*s));
	uint32_t max_txn;
	int err = 0;

	if (!s)
		return NULL;
	if (cfg)
		s->cfg = *cfg;
	if (!s->cfg.max_subscribers)
		s->cfg.max_subscribers = 1000000;
	if (!s->cfg.delete_grace_ms)
		s->cfg.delete_grace_ms = 60000;
	if (!s->cfg.handover_grace_ms)
		s->cfg.handover_grace_ms = 5000;
	if (!s->cfg.transaction_timeout_ms)
		s->cfg.transaction_timeout_ms = 10000;
	s->max_chunks = (s->cfg.max_subscribers + MCP_SESS_CHUNK - 1) / MCP_SESS_CHUNK;
	s->chunks = calloc(s->max_chunks, sizeof(*s->chunks));
	/* one pending request per subscriber: a burst of Creates for a full table is answered
	 * in full (gtpc_txn.c allocates slots in chunks as requests arrive, not up front) */
	max_txn = s->cfg.max_subscribers < 4096 ? 4096 : s->cfg.max_subscribers;
	s->txns = mcp_gtpc_txns_create(max_txn, s->cfg.transaction_timeout_ms, &s->stats);
	s->free_head = MCP_NONE;
	if (!s->chunks || !s->txns)
		goto err;
	/* indexes start at the size of a busy site's opening burst: growing one rehashes it
	 * on the packet path (8% of the packet thread during 10,000 attaches) */
	err |= mcp_htab_init(&s->by_tunnel, sizeof(struct mcp_teid_key), MCP_SESS_INDEX_START);
	err |= mcp_htab_init(&s->by_ctrl, sizeof(struct mcp_teid_key), MCP_SESS_INDEX_START);
	err |= mcp_htab_init(&s->by_ue, sizeof(struct mcp_ip), MCP_SESS_INDEX_START);
	err |= mcp_htab_init(&s->by_imsi, MCP_IMSI_LEN, MCP_SESS_INDEX_START);
	err |= mcp_ring_init(&s->q_stale_ho, sizeof(struct mcp_stale_q), 1024);
	err |= mcp_ring_init(&s->q_stale_del, sizeof(struct mcp_stale_q), 1024);
	err |= mcp_ring_init(&s->q_del, sizeof(struct mcp_del_q), 1024);
	if (err)
		goto err;
	return s;
err:
	mcp_sessions_destroy(s);
	return NULL;
}

void mcp_sessions_destroy(struct mcp_sessions *s)
{
	uint32_t i;

	if (!s)
		return;
	for (i = 0; s->chunks && i < s->nchunks; i++)
		mcp_huge_free(s->chunks[i], MCP_SESS_CHUNK * sizeof(struct mcp_sess_ent));
	free(s->chunks);
	mcp_gtpc_txns_destroy(s->txns);
	mcp_htab_free(&s->by_tunnel);
	mcp_htab_free(&s->by_ctrl);
	mcp_htab_free(&s->by_ue);
	mcp_htab_free(&s->by_imsi);
	mcp_ring_free(&s->q_stale_ho);
	mcp_ring_free(&s->q_stale_del);
	mcp_ring_free(&s->q_del);
	free(s);
}

/* ---- entries ---------------------------------------------------------------------------- */

struct mcp_sess_ent *mcp_sess_find_imsi(struct mcp_sessions *s, const char *imsi)
{
	char key[MCP_IMSI_LEN];
	uint32_t *v;

	mcp_imsi_key(key, imsi);
	v = mcp_htab_find(&s->by_imsi, key);
	return v ? mcp_sess_ent(s, *v) : NULL;
}

struct mcp_sess_ent *mcp_sess_alloc(struct mcp_sessions *s, const char *imsi)
{
	struct mcp_sess_ent *e;
	char key[MCP_IMSI_LEN];
	uint32_t id, gen;

	if (s->nused >= s->cfg.max_subscribers)
		goto full;
	if (s->free_head != MCP_NONE) {
		id = s->free_head;
		e = mcp_sess_ent(s, id);
		s->free_head = e->next_free;
		if (s->free_head != MCP_NONE) { /* the next attach will write this one */
			const char *nx = (const char *)mcp_sess_ent(s, s->free_head);
			size_t off;

			for (off = 0; off < sizeof(struct mcp_sess_ent); off += 64)
				__builtin_prefetch(nx + off, 1);
		}
	} else {
		if (s->nalloc == s->nchunks * MCP_SESS_CHUNK) {
			if (s->nchunks == s->max_chunks)
				goto full;
			s->chunks[s->nchunks] = mcp_huge_zalloc(MCP_SESS_CHUNK *
								sizeof(struct mcp_sess_ent));
			if (!s->chunks[s->nchunks])
				goto full;
			s->nchunks++;
		}
		id = s->nalloc++;
		e = mcp_sess_ent(s, id);
	}
	gen = e->gen + 1;
	/* clear the identity part only: tunnel and index arrays are valid up to their counts,
	 * and the entry is cold memory (each cache line written costs a miss) */
	memset(&e->sub, 0, offsetof(struct mcp_subscriber, tunnels));
	memset(e->sub.ctrl_teid, 0, sizeof(e->sub.ctrl_teid));
	e->sub.last_change_ms = 0;
	e->sub.deleted_ms = 0;
	e->nctrl = 0;
	e->nue = 0;
	e->gen = gen;
	e->used = 1;
	e->sub.id = id;
	mcp_sess_strcpy(e->sub.imsi, imsi, MCP_IMSI_LEN);
	s->tunnel_epoch++;
	mcp_imsi_key(key, imsi);
	if (mcp_htab_put(&s->by_imsi, key, id) < 0) {
		e->used = 0;
		e->next_free = s->free_head;
		s->free_head = id;
		goto full;
	}
	s->nused++;
	return e;
full:
	s->stats.table_full++;
	return NULL;
}

static void mcp_sess_free(struct mcp_sessions *s, struct mcp_sess_ent *e)
{
	struct mcp_teid_key k;
	char key[MCP_IMSI_LEN];
	int i;

	for (i = 0; i < e->sub.ntunnels; i++) {
		mcp_teid_key(&k, e->sub.tunnels[i].teid, &e->sub.tunnels[i].addr);
		mcp_sess_unmap(&s->by_tunnel, &k, e->sub.id);
	}
	for (i = 0; i < e->nctrl; i++) {
		mcp_teid_key(&k, e->ctrl[i].teid, &e->ctrl[i].addr);
		mcp_sess_unmap(&s->by_ctrl, &k, e->sub.id);
	}
	for (i = 0; i < e->nue; i++)
		mcp_sess_unmap(&s->by_ue, &e->ue[i], e->sub.id);
	mcp_imsi_key(key, e->sub.imsi);
	mcp_sess_unmap(&s->by_imsi, key, e->sub.id);
	e->used = 0;
	e->next_free = s->free_head;
	s->free_head = e->sub.id;
	s->nused--;
	s->tunnel_epoch++;
}

void mcp_sess_emit(struct mcp_sessions *s, enum mcp_session_event ev, struct mcp_sess_ent *e,
		   uint64_t ts_ms)
{
	e->sub.last_change_ms = ts_ms;
	s->tunnel_epoch++;
	switch (ev) {
	case MCP_EV_ATTACH:
		s->stats.created++;
		s->generation++;
		break;
	case MCP_EV_MODIFY:
		s->stats.modified++;
		s->generation++;
		break;
	case MCP_EV_DETACH:
		s->stats.deleted++;
		break;
	case MCP_EV_REMOVE:
		s->stats.removed++;
		break;
	}
	if (s->cfg.on_event)
		s->cfg.on_event(s->cfg.event_ctx, ev, &e->sub, ts_ms);
}

struct mcp_sess_ent *mcp_sess_by_ctrl(struct mcp_sessions *s, uint32_t teid,
				      const struct mcp_ip *addr, uint8_t *side)
{
	struct mcp_teid_key k;
	uint32_t *v;

	mcp_teid_key(&k, teid, addr);
	v = mcp_htab_find(&s->by_ctrl, &k);
	if (!v) { /* restored entries know their control TEIDs without the address */
		mcp_teid_key(&k, teid, NULL);
		v = mcp_htab_find(&s->by_ctrl, &k);
	}
	if (!v)
		return NULL;
	if (side)
		*side = !!(*v & MCP_DIR_BIT);
	return mcp_sess_ent(s, *v & ~MCP_DIR_BIT);
}

static void mcp_sess_stale(struct mcp_sessions *s, struct mcp_sess_ent *e,
			   const struct mcp_tunnel *t, uint32_t grace_ms, uint64_t ts_ms)
{
	struct mcp_stale_q q = { .until_ms = ts_ms + grace_ms, .id = e->sub.id, .teid = t->teid,
				 .addr = t->addr };
	struct mcp_teid_key k;

	if (grace_ms) {
		struct mcp_ring *r = grace_ms == s->cfg.handover_grace_ms ? &s->q_stale_ho :
									 &s->q_stale_del;
		if (mcp_ring_push(r, &q) == 0)
			return;
	}
	mcp_teid_key(&k, t->teid, &t->addr);
	mcp_sess_unmap(&s->by_tunnel, &k, e->sub.id); /* the epoch moved in drop_tunnel */
}

void mcp_sess_drop_tunnel(struct mcp_sessions *s, struct mcp_sess_ent *e, int i,
			  uint32_t grace_ms, uint64_t ts_ms)
{
	struct mcp_tunnel t = e->sub.tunnels[i];
	int last = e->sub.ntunnels - 1;

	e->sub.tunnels[i] = e->sub.tunnels[last];
	e->tun_lbi[i] = e->tun_lbi[last];
	e->sub.ntunnels--;
	s->tunnel_epoch++;
	mcp_sess_stale(s, e, &t, grace_ms, ts_ms);
}

int mcp_sess_set_tunnel(struct mcp_sessions *s, struct mcp_sess_ent *e, uint8_t ebi,
			uint8_t lbi, uint8_t iface, uint8_t dir, uint32_t teid,
			const struct mcp_ip *addr, uint64_t ts_ms)
{
	struct mcp_teid_key k;
	struct mcp_tunnel *t;
	int i;

	for (i = 0; i < e->sub.ntunnels; i++) {
		t = &e->sub.tunnels[i];
		if (t->ebi != ebi || t->iface != iface || t->dir != dir ||
		    mcp_ip_is_v4(&t->addr) != mcp_ip_is_v4(addr))
			continue;
		if (t->teid == teid && !mcp_ip_cmp(&t->addr, addr))
			return 0;
		/* handover: the old tunnel keeps resolving for in-flight packets */
		mcp_sess_drop_tunnel(s, e, i, s->cfg.handover_grace_ms, ts_ms);
		break;
	}
	if (e->sub.ntunnels >= MCP_MAX_TUNNELS) {
		s->stats.tunnels_full++;
		return 0;
	}
	mcp_teid_key(&k, teid, addr);
	s->tunnel_epoch++;
	if (mcp_htab_put(&s->by_tunnel, &k, e->sub.id | (dir == MCP_DIR_DOWN ? MCP_DIR_BIT : 0)))
		return 0;
	t = &e->sub.tunnels[e->sub.ntunnels];
	memset(t, 0, sizeof(*t));
	t->teid = teid;
	t->addr = *addr;
	t->dir = dir;
	t->ebi = ebi;
	t->iface = iface;
	e->tun_lbi[e->sub.ntunnels] = lbi;
	e->sub.ntunnels++;
	return 1;
}

int mcp_sess_add_ctrl(struct mcp_sessions *s, struct mcp_sess_ent *e, uint32_t teid,
		      const struct mcp_ip *addr, uint8_t side)
{
	struct mcp_teid_key k;
	int i;

	e->sub.ctrl_teid[side] = teid;
	for (i = 0; i < e->nctrl; i++)
		if (e->ctrl[i].teid == teid && !mcp_ip_cmp(&e->ctrl[i].addr, addr))
			return 0;
	if (e->nctrl == MCP_SESS_MAX_CTRL) { /* forget the oldest */
		mcp_teid_key(&k, e->ctrl[0].teid, &e->ctrl[0].addr);
		mcp_sess_unmap(&s->by_ctrl, &k, e->sub.id);
		memmove(&e->ctrl[0], &e->ctrl[1], sizeof(e->ctrl[0]) * (MCP_SESS_MAX_CTRL - 1));
		e->nctrl--;
	}
	mcp_teid_key(&k, teid, addr);
	if (mcp_htab_put(&s->by_ctrl, &k, e->sub.id | (side ? MCP_DIR_BIT : 0)) < 0)
		return 0;
	e->ctrl[e->nctrl].teid = teid;
	e->ctrl[e->nctrl].addr = *addr;
	e->ctrl[e->nctrl].side = side;
	e->nctrl++;
	return 1;
}

int mcp_sess_add_ue(struct mcp_sessions *s, struct mcp_sess_ent *e, const struct mcp_ip *ip)
{
	int i, v4 = mcp_ip_is_v4(ip);

	if (v4) {
		e->sub.ue_ipv4 = *ip;
		e->sub.has_ipv4 = 1;
	} else {
		e->sub.ue_ipv6 = *ip;
		e->sub.has_ipv6 = 1;
	}
	for (i = 0; i < e->nue; i++)
		if (!mcp_ip_cmp(&e->ue[i], ip))
			return 0;
	if (e->nue == MCP_SESS_MAX_UE_IP) {
		mcp_sess_unmap(&s->by_ue, &e->ue[0], e->sub.id);
		memmove(&e->ue[0], &e->ue[1], sizeof(e->ue[0]) * (MCP_SESS_MAX_UE_IP - 1));
		e->nue--;
	}
	if (mcp_htab_put(&s->by_ue, ip, e->sub.id) < 0)
		return 0;
	e->ue[e->nue++] = *ip;
	return 1;
}

void mcp_sess_reset(struct mcp_sessions *s, struct mcp_sess_ent *e, uint64_t ts_ms)
{
	struct mcp_teid_key k;
	int i;

	while (e->sub.ntunnels)
		mcp_sess_drop_tunnel(s, e, e->sub.ntunnels - 1, s->cfg.handover_grace_ms, ts_ms);
	for (i = 0; i < e->nctrl; i++) {
		mcp_teid_key(&k, e->ctrl[i].teid, &e->ctrl[i].addr);
		mcp_sess_unmap(&s->by_ctrl, &k, e->sub.id);
	}
	for (i = 0; i < e->nue; i++)
		mcp_sess_unmap(&s->by_ue, &e->ue[i], e->sub.id);
	e->nctrl = e->nue = 0;
	e->sub.has_ipv4 = e->sub.has_ipv6 = 0;
	memset(&e->sub.ue_ipv4, 0, sizeof(e->sub.ue_ipv4));
	memset(&e->sub.ue_ipv6, 0, sizeof(e->sub.ue_ipv6));
	memset(e->sub.ctrl_teid, 0, sizeof(e->sub.ctrl_teid));
	e->sub.state = MCP_SUB_ACTIVE;
	e->sub.deleted_ms = 0;
	e->gen++;
	s->tunnel_epoch++;
}

void mcp_sess_mark_deleted(struct mcp_sessions *s, struct mcp_sess_ent *e, uint64_t ts_ms)
{
	struct mcp_del_q q = { .until_ms = ts_ms + s->cfg.delete_grace_ms, .id = e->sub.id,
			       .gen = e->gen };

	e->sub.state = MCP_SUB_DELETED;
	e->sub.deleted_ms = ts_ms;
	if (mcp_ring_push(&s->q_del, &q) < 0)
		e->sub.deleted_ms = 0; /* cannot schedule: removed by the next expire */
	mcp_sess_emit(s, MCP_EV_DETACH, e, ts_ms); /* moves the tunnel epoch */
}

/* ---- public API ------------------------------------------------------------------------- */

const struct mcp_subscriber *mcp_sessions_by_tunnel(struct mcp_sessions *s, uint32_t teid,
						    const struct mcp_ip *addr, uint8_t *dir)
{
	struct mcp_teid_key k;
	uint32_t *v;

	mcp_teid_key(&k, teid, addr);
	v = mcp_htab_find(&s->by_tunnel, &k);
	if (!v)
		return NULL;
	if (dir)
		*dir = (*v & MCP_DIR_BIT) ? MCP_DIR_DOWN : MCP_DIR_UP;
	return &mcp_sess_ent(s, *v & ~MCP_DIR_BIT)->sub;
}

int mcp_sub_holds_tunnel(const struct mcp_subscriber *sub, uint32_t teid,
			 const struct mcp_ip *addr)
{
	for (int i = 0; i < sub->ntunnels; i++)
		if (sub->tunnels[i].teid == teid && !mcp_ip_cmp(&sub->tunnels[i].addr, addr))
			return 1;
	return 0;
}

const struct mcp_subscriber *mcp_sessions_by_ue_ip(struct mcp_sessions *s, const struct mcp_ip *ip)
{
	uint32_t *v = mcp_htab_find(&s->by_ue, ip);

	return v ? &mcp_sess_ent(s, *v)->sub : NULL;
}

const struct mcp_subscriber *mcp_sessions_by_imsi(struct mcp_sessions *s, const char *imsi)
{
	struct mcp_sess_ent *e = mcp_sess_find_imsi(s, imsi);

	return e ? &e->sub : NULL;
}

const struct mcp_subscriber *mcp_sessions_by_id(struct mcp_sessions *s, uint32_t id)
{
	struct mcp_sess_ent *e;

	if (id >= s->nalloc)
		return NULL;
	e = mcp_sess_ent(s, id);
	return e->used ? &e->sub : NULL;
}

void mcp_sessions_prefetch_id(struct mcp_sessions *s, uint32_t id)
{
	const char *e;

	if (id >= s->nalloc)
		return;
	e = (const char *)mcp_sess_ent(s, id);
	for (size_t at = 0; at <= offsetof(struct mcp_subscriber, gtp_version); at += 64)
		__builtin_prefetch(e + at);
	__builtin_prefetch(e + offsetof(struct mcp_sess_ent, used));
}

static void mcp_stale_expire(struct mcp_sessions *s, struct mcp_ring *r, uint64_t now_ms)
{
	struct mcp_stale_q *q;

	while ((q = mcp_ring_front(r)) && q->until_ms <= now_ms) {
		struct mcp_teid_key k;
		uint32_t *v;
		int i, active = 0;

		mcp_teid_key(&k, q->teid, &q->addr);
		v = mcp_htab_find(&s->by_tunnel, &k);
		if (v && (*v & ~MCP_DIR_BIT) == q->id) {
			struct mcp_sess_ent *e = mcp_sess_ent(s, q->id);

			/* the same F-TEID may have been handed out again to this subscriber */
			for (i = 0; e->used && i < e->sub.ntunnels; i++)
				if (e->sub.tunnels[i].teid == q->teid &&
				    !mcp_ip_cmp(&e->sub.tunnels[i].addr, &q->addr))
					active = 1;
			if (!active) {
				mcp_htab_del(&s->by_tunnel, &k);
				s->tunnel_epoch++;
			}
		}
		mcp_ring_pop(r);
	}
}

void mcp_sessions_expire(struct mcp_sessions *s, uint64_t now_ms)
{
	struct mcp_del_q *q;

	mcp_stale_expire(s, &s->q_stale_ho, now_ms);
	mcp_stale_expire(s, &s->q_stale_del, now_ms);
	while ((q = mcp_ring_front(&s->q_del)) && q->until_ms <= now_ms) {
		struct mcp_sess_ent *e = mcp_sess_ent(s, q->id);

		if (e->used && e->gen == q->gen && e->sub.state == MCP_SUB_DELETED) {
			mcp_sess_emit(s, MCP_EV_REMOVE, e, now_ms);
			mcp_sess_free(s, e);
		}
		mcp_ring_pop(&s->q_del);
	}
}

void mcp_sessions_foreach(struct mcp_sessions *s,
			  void (*fn)(void *ctx, const struct mcp_subscriber *sub), void *ctx)
{
	uint32_t id;

	for (id = 0; id < s->nalloc; id++) {
		struct mcp_sess_ent *e = mcp_sess_ent(s, id);

		if (e->used)
			fn(ctx, &e->sub);
	}
}

int mcp_sessions_restore(struct mcp_sessions *s, const struct mcp_subscriber *sub)
{
	struct mcp_sess_ent *e;
	struct mcp_subscriber copy;
	struct mcp_ip zero = { { 0 } };
	int i, n;

	if (!sub->imsi[0])
		return -EINVAL;
	copy = *sub;
	e = mcp_sess_find_imsi(s, copy.imsi);
	if (e) {
		mcp_sess_reset(s, e, sub->last_change_ms); /* replaced tunnels keep their grace */
	} else {
		e = mcp_sess_alloc(s, copy.imsi);
		if (!e)
			return -ENOSPC;
	}
	copy.id = e->sub.id;
	n = copy.ntunnels > MCP_MAX_TUNNELS ? MCP_MAX_TUNNELS : copy.ntunnels;
	copy.ntunnels = 0;
	copy.has_ipv4 = copy.has_ipv6 = 0;
	memset(copy.ctrl_teid, 0, sizeof(copy.ctrl_teid));
	e->sub = copy;
	s->tunnel_epoch++;
	for (i = 0; i < n; i++) {
		const struct mcp_tunnel *t = &sub->tunnels[i];

		mcp_sess_set_tunnel(s, e, t->ebi, t->ebi, t->iface, t->dir, t->teid, &t->addr,
				    sub->last_change_ms);
	}
	if (sub->has_ipv4)
		mcp_sess_add_ue(s, e, &sub->ue_ipv4);
	if (sub->has_ipv6)
		mcp_sess_add_ue(s, e, &sub->ue_ipv6);
	for (i = 0; i < 2; i++)
		if (sub->ctrl_teid[i])
			mcp_sess_add_ctrl(s, e, sub->ctrl_teid[i], &zero, (uint8_t)i);
	if (e->sub.state == MCP_SUB_DELETED) {
		struct mcp_del_q q = { .until_ms = e->sub.deleted_ms + s->cfg.delete_grace_ms,
				       .id = e->sub.id, .gen = e->gen };

		mcp_ring_push(&s->q_del, &q);
	}
	s->generation++;
	return 0;
}

uint64_t mcp_sessions_generation(const struct mcp_sessions *s)
{
	return s->generation;
}

uint64_t mcp_sessions_tunnel_epoch(const struct mcp_sessions *s)
{
	return s->tunnel_epoch;
}

const struct mcp_session_stats *mcp_sessions_stats(const struct mcp_sessions *s)
{
	return &s->stats;
}

const char *mcp_session_event_name(enum mcp_session_event ev)
{
	switch (ev) {
	case MCP_EV_ATTACH:
		return "attach";
	case MCP_EV_MODIFY:
		return "modify";
	case MCP_EV_DETACH:
		return "detach";
	case MCP_EV_REMOVE:
		return "remove";
	}
	return "unknown";
}

void mcp_supi_key(char key[MCP_IMSI_LEN], const char *supi)
{
	static const char hex[] = "0123456789abcdef";
	uint64_t h = XXH3_64bits(supi, strlen(supi)) >> 8;

	key[0] = 'n';
	for (int i = 14; i >= 1; i--, h >>= 4)
		key[i] = hex[h & 0xf];
	key[15] = '\0';
}
