/* mc_events.c - microcloud producers: session changes, RADIUS users, and their events.
 *
 * A session change updates the local fact copy, queues its write, and queues the event: a
 * JSON object PUBLISHed on P events.imsi and P events.imsi.<IMSI> and appended to the stream
 * P events (XADD MAXLEN ~ N). The fact write is queued first, so a client that receives the
 * event and then reads imsi.<IMSI> sees the new fact (single node; in a cluster, the channel
 * and the fact may be on different nodes). Callers never block on Redis.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "microcloud/mc_internal.h"

/* Keys owned by the old value and not by the new one become stale (deleted if unchanged). */
static void mc_sub_diff(struct mcp_mc *m, struct mcp_mc_entry *e, const struct mcp_subscriber *nw)
{
	static __thread char oldk[MCP_MAX_TUNNELS + 3][MCP_MC_KEY_LEN],
		newk[MCP_MAX_TUNNELS + 3][MCP_MC_KEY_LEN];
	int no, nn, i, j;

	no = mcp_mc_fact_owned_keys(&m->keys, &e->f.sub.sub, oldk, MCP_MAX_TUNNELS + 3);
	nn = mcp_mc_fact_owned_keys(&m->keys, nw, newk, MCP_MAX_TUNNELS + 3);
	for (i = 0; i < no; i++) {
		for (j = 0; j < nn; j++)
			if (!strcmp(oldk[i], newk[j]))
				break;
		if (j == nn)
			mcp_mc_entry_add_stale(e, oldk[i]);
	}
}

/* A detached value's keys keep their grace in Redis when the next value does not own them:
 * remembered so that a resync restores them; keys the new value owns are no longer lingering. */
static void mc_sub_linger(struct mcp_mc *m, struct mcp_mc_entry *e, const struct mcp_subscriber *nw)
{
	static __thread char oldk[MCP_MAX_TUNNELS + 3][MCP_MC_KEY_LEN],
		newk[MCP_MAX_TUNNELS + 3][MCP_MC_KEY_LEN];
	int no = 0, nn, i, j;

	if (e->f.sub.sub.imsi[0] && e->f.sub.deleted)
		no = mcp_mc_fact_owned_keys(&m->keys, &e->f.sub.sub, oldk, MCP_MAX_TUNNELS + 3);
	nn = mcp_mc_fact_owned_keys(&m->keys, nw, newk, MCP_MAX_TUNNELS + 3);
	mcp_mc_entry_unlinger(e, newk, nn, mcp_mc_wall_ms());
	for (i = 0; i < no; i++) {
		for (j = 0; j < nn; j++)
			if (!strcmp(oldk[i], newk[j]))
				break;
		if (j == nn)
			mcp_mc_entry_linger(e, oldk[i], e->f.sub.expire_wall_ms);
	}
}

/* Applies one change to the local copy and queues its fact write and its event (m->lock
 * held; json is taken). A change older than the one the fact holds (applied by a producer
 * while the buffer was full) only publishes its event. */
static void mc_sess_apply(struct mcp_mc *m, const struct mcp_mc_sess_change *c, char *json)
{
	const struct mcp_subscriber *sub = &c->sub;
	struct mcp_mc_entry *e = mcp_mc_store_get(m, MCP_MC_ENTRY_SUB, sub->imsi, 1);

	if (!e) {
		m->st.queue_full++; /* out of memory: the fact is lost, counted */
	} else if (c->seq >= e->seq) {
		int was_deleted = e->f.sub.deleted;

		if (e->f.sub.sub.imsi[0] && !was_deleted)
			mc_sub_diff(m, e, sub);
		if (was_deleted || e->nlinger)
			mc_sub_linger(m, e, sub);
		e->seq = c->seq;
		e->f.sub.sub = *sub;
		snprintf(e->f.sub.probe, sizeof(e->f.sub.probe), "%s", m->probe);
		e->f.sub.deleted = c->ev == MCP_EV_DETACH;
		if (e->f.sub.deleted) {
			e->f.sub.sub.state = MCP_SUB_DELETED;
			e->f.sub.expire_wall_ms = mcp_mc_wall_ms() + m->cfg.grace_ms;
		}
		m->ndeleted += e->f.sub.deleted - was_deleted;
		mcp_mc_enqueue_fact(m, e);
	} else {
		m->st.coalesced++; /* a later value is already there: latest wins */
	}
	mcp_mc_enqueue_event(m, c->ev, sub->imsi, json);
}

/* One wake-up per burst: the writer clears sess_wake before it takes changes. */
static void mc_sess_wake(struct mcp_mc *m)
{
	if (__atomic_exchange_n(&m->sess_wake, 1, __ATOMIC_ACQ_REL))
		return;
	pthread_mutex_lock(&m->lock);
	mcp_mc_wake(m);
	pthread_mutex_unlock(&m->lock);
}

/* The producer (packet or control thread) only copies the change into a buffer; the writer
 * thread formats the event and the keys (mcp_mc_sess_pump). When the buffer is full (the writer
 * is behind), the change is applied here: slower, nothing lost. */
void mcp_mc_session_event(struct mcp_mc *m, enum mcp_session_event ev,
			  const struct mcp_subscriber *sub, uint64_t ts_ms)
{
	struct mcp_mc_sess_change *c, full;
	char *json;

	if (!m || !sub || !sub->imsi[0] || ev == MCP_EV_REMOVE)
		return; /* REMOVE: the keys expire by themselves (grace set at DETACH) */
	pthread_mutex_lock(&m->sess_lock);
	c = m->shead - m->stail < m->slen ? &m->sring[m->shead++ % m->slen] : &full;
	c->seq = ++m->sseq;
	c->ts_ms = ts_ms;
	c->ev = (uint8_t)ev;
	c->sub = *sub;
	pthread_mutex_unlock(&m->sess_lock);
	if (c != &full) {
		mc_sess_wake(m);
		return;
	}
	json = mcp_mc_event_json(ev, sub, m->probe, ts_ms);
	pthread_mutex_lock(&m->lock);
	m->st.queue_full++;
	mc_sess_apply(m, &full, json);
	pthread_mutex_unlock(&m->lock);
}

#define MC_SESS_TAKE 16

size_t mcp_mc_sess_pump(struct mcp_mc *m, size_t max)
{
	struct mcp_mc_sess_change take[MC_SESS_TAKE];
	char *json[MC_SESS_TAKE];
	size_t done = 0, n, i;

	__atomic_store_n(&m->sess_wake, 0, __ATOMIC_RELEASE);
	while (done < max) {
		pthread_mutex_lock(&m->sess_lock);
		for (n = 0; n < MC_SESS_TAKE && done + n < max && m->stail != m->shead; n++)
			take[n] = m->sring[m->stail++ % m->slen];
		pthread_mutex_unlock(&m->sess_lock);
		if (!n)
			break;
		for (i = 0; i < n; i++) /* outside m->lock: producers may need it */
			json[i] = mcp_mc_event_json(take[i].ev, &take[i].sub, m->probe,
						    take[i].ts_ms);
		pthread_mutex_lock(&m->lock);
		for (i = 0; i < n; i++)
			mc_sess_apply(m, &take[i], json[i]);
		pthread_mutex_unlock(&m->lock);
		done += n;
	}
	return done;
}

uint64_t mcp_mc_sess_pending(struct mcp_mc *m)
{
	uint64_t n;

	pthread_mutex_lock(&m->sess_lock);
	n = m->shead - m->stail;
	pthread_mutex_unlock(&m->sess_lock);
	return n;
}

void mcp_mc_on_session_event(void *ctx, enum mcp_session_event ev,
			     const struct mcp_subscriber *sub, uint64_t ts_ms)
{
	mcp_mc_session_event(ctx, ev, sub, ts_ms);
}

void mcp_mc_radius_user(struct mcp_mc *m, const char *name, const struct mcp_ip *ip,
			const char *calling_station, int active, uint64_t ts_ms)
{
	struct mcp_mc_user_fact *u;
	struct mcp_mc_entry *e;
	char key[MCP_MC_KEY_LEN];

	if (!m || !name || !*name || strlen(name) >= MCP_MC_USER_LEN)
		return;
	pthread_mutex_lock(&m->lock);
	e = mcp_mc_store_get(m, MCP_MC_ENTRY_USER, name, 1);
	if (!e) {
		m->st.queue_full++;
		pthread_mutex_unlock(&m->lock);
		return;
	}
	u = &e->f.user;
	/* the old IP key: stale when the value was active; a stopped value's keeps its grace
	 * (lingering: its Stop may never have been written, coalesced with this Start) */
	if (u->has_ip && (!ip || mcp_ip_cmp(ip, &u->ip)) &&
	    mcp_mc_key_ip(&m->keys, key, sizeof(key), &u->ip) > 0) {
		if (!u->deleted)
			mcp_mc_entry_add_stale(e, key);
		else if (active)
			mcp_mc_entry_linger(e, key, u->expire_wall_ms);
	}
	if (e->nlinger) { /* a lingering key the new value owns again is its own */
		int n = ip && mcp_mc_key_ip(&m->keys, key, sizeof(key), ip) > 0;

		mcp_mc_entry_unlinger(e, &key, n, mcp_mc_wall_ms());
	}
	if (ip) {
		u->ip = *ip;
		u->has_ip = 1;
	} else if (active) {
		u->has_ip = 0;
	}
	if (calling_station)
		snprintf(u->calling, sizeof(u->calling), "%s", calling_station);
	m->ndeleted += !active - u->deleted;
	u->deleted = !active;
	u->last_change_ms = ts_ms;
	u->expire_wall_ms = active ? 0 : mcp_mc_wall_ms() + m->cfg.grace_ms;
	snprintf(u->probe, sizeof(u->probe), "%s", m->probe);
	mcp_mc_enqueue_fact(m, e);
	mcp_mc_wake(m);
	pthread_mutex_unlock(&m->lock);
}

int mcp_mc_user_cmds(const struct mcp_mc_keys *k, struct mcp_mc_batch *b,
		     const struct mcp_mc_user_fact *u, uint64_t now_wall_ms, char **stale,
		     int nstale)
{
	char key[MCP_MC_KEY_LEN], ipk[MCP_MC_KEY_LEN], ip[MCP_IP_STRLEN] = "", lc[24], ttl[24];
	int i, err = 0;

	if (mcp_mc_key_fmt(k, key, sizeof(key), "user.%s", u->name) < 0)
		return 0; /* cannot be named: skipped */
	snprintf(ttl, sizeof(ttl), "%" PRIu64,
		 u->expire_wall_ms > now_wall_ms ? u->expire_wall_ms - now_wall_ms : 1);
	snprintf(lc, sizeof(lc), "%" PRIu64, u->last_change_ms);
	if (u->has_ip)
		mcp_ip_str(&u->ip, ip);
	for (i = 0; i < nstale; i++)
		err |= mcp_mc_batch_addf(b, stale[i], "EVAL %s 1 %s %s", mcp_mc_lua_del_if,
					 stale[i], u->name);
	err |= mcp_mc_batch_addf(
		b, key, "HSET %s ip %s calling_station %s state %s probe %s last_change %s", key,
		ip, u->calling, u->deleted ? "deleted" : "active", u->probe, lc);
	if (u->deleted)
		err |= mcp_mc_batch_addf(b, key, "PEXPIRE %s %s", key, ttl);
	else
		err |= mcp_mc_batch_addf(b, key, "PERSIST %s", key);
	if (u->has_ip && mcp_mc_key_ip(k, ipk, sizeof(ipk), &u->ip) > 0) {
		if (u->deleted)
			err |= mcp_mc_batch_addf(b, ipk, "EVAL %s 1 %s %s %s",
						 mcp_mc_lua_pexpire_if, ipk, u->name, ttl);
		else
			err |= mcp_mc_batch_addf(b, ipk, "SET %s %s", ipk, u->name);
	}
	return err ? -ENOMEM : 0;
}

int mcp_mc_event_cmds(struct mcp_mc *m, struct mcp_mc_batch *b, const struct mcp_mc_op *op)
{
	char ch[MCP_MC_KEY_LEN], chi[MCP_MC_KEY_LEN], st[MCP_MC_KEY_LEN], maxlen[16];
	int err = 0;

	if (mcp_mc_key_fmt(&m->keys, ch, sizeof(ch), "events.imsi") < 0 ||
	    mcp_mc_key_fmt(&m->keys, chi, sizeof(chi), "events.imsi.%s", op->imsi) < 0 ||
	    mcp_mc_key_fmt(&m->keys, st, sizeof(st), "events") < 0)
		return 0;
	err |= mcp_mc_batch_addf(b, NULL, "PUBLISH %s %s", ch, op->json);
	err |= mcp_mc_batch_addf(b, NULL, "PUBLISH %s %s", chi, op->json);
	if (m->cfg.stream_maxlen) {
		snprintf(maxlen, sizeof(maxlen), "%u", m->cfg.stream_maxlen);
		err |= mcp_mc_batch_addf(b, st, "XADD %s MAXLEN ~ %s * event %s imsi %s json %s",
					 st, maxlen, mcp_session_event_name(op->ev), op->imsi,
					 op->json);
	}
	if (!err)
		m->st.events_published++;
	return err ? -ENOMEM : 0;
}
