/* mc_store.c - microcloud local fact copy and bounded writer queue (producer side).
 *
 * The local copy (one entry per IMSI or RADIUS user, hashed by name) is what the writer
 * writes and what a resync re-writes after Redis comes back. The queue holds references to
 * entries (a queued entry is not queued twice: later updates coalesce into it, latest value
 * wins) and events; when it is full, entries go to an overflow list and events are dropped,
 * both counted. Callers hold m->lock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "microcloud/mc_internal.h"

static uint64_t mc_clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t mcp_mc_wall_ms(void)
{
	return mc_clock_ms(CLOCK_REALTIME);
}

uint64_t mcp_mc_mono_ms(void)
{
	return mc_clock_ms(CLOCK_MONOTONIC);
}

static uint64_t mc_hash(uint8_t kind, const char *s)
{
	uint64_t h = 1469598103934665603ull ^ kind;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h;
}

static const char *mc_entry_name(const struct mcp_mc_entry *e)
{
	return e->kind == MCP_MC_ENTRY_SUB ? e->f.sub.sub.imsi : e->f.user.name;
}

static void mc_store_grow(struct mcp_mc *m)
{
	size_t nb = m->nbuckets * 2, i;
	struct mcp_mc_entry **b = calloc(nb, sizeof(*b));

	if (!b)
		return; /* keep the longer chains */
	for (i = 0; i < m->nbuckets; i++) {
		struct mcp_mc_entry *e = m->buckets[i], *next;

		for (; e; e = next) {
			size_t h = mc_hash(e->kind, mc_entry_name(e)) & (nb - 1);

			next = e->next;
			e->next = b[h];
			b[h] = e;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = nb;
}

struct mcp_mc_entry *mcp_mc_store_get(struct mcp_mc *m, uint8_t kind, const char *name, int create)
{
	size_t h = mc_hash(kind, name) & (m->nbuckets - 1);
	struct mcp_mc_entry *e;

	for (e = m->buckets[h]; e; e = e->next)
		if (e->kind == kind && !strcmp(mc_entry_name(e), name))
			return e;
	if (!create)
		return NULL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->kind = kind;
	if (kind == MCP_MC_ENTRY_SUB)
		snprintf(e->f.sub.sub.imsi, sizeof(e->f.sub.sub.imsi), "%s", name);
	else
		snprintf(e->f.user.name, sizeof(e->f.user.name), "%s", name);
	e->next = m->buckets[h];
	m->buckets[h] = e;
	m->nentries++;
	/* a resync walks the buckets by index: do not move entries under it */
	if (m->nentries > m->nbuckets && !m->resync_active)
		mc_store_grow(m);
	return e;
}

void mcp_mc_entry_add_stale(struct mcp_mc_entry *e, const char *key)
{
	int i;

	for (i = 0; i < e->nstale; i++)
		if (!strcmp(e->stale[i], key))
			return;
	if (e->nstale == MCP_MC_MAX_STALE)
		return; /* bounded: such a key keeps its value until it expires or is reused */
	e->stale[e->nstale] = strdup(key);
	if (e->stale[e->nstale])
		e->nstale++;
}

void mcp_mc_entry_linger(struct mcp_mc_entry *e, const char *key, uint64_t expire_wall_ms)
{
	struct mcp_mc_linger *nl;
	int i;

	for (i = 0; i < e->nlinger; i++)
		if (!strcmp(e->linger[i].key, key)) {
			e->linger[i].expire_wall_ms = expire_wall_ms;
			e->linger[i].unsent = 1;
			return;
		}
	if (e->nlinger == MCP_MC_MAX_LINGER)
		return; /* bounded: Redis still holds it with its TTL; only a resync misses it */
	nl = realloc(e->linger, (size_t)(e->nlinger + 1) * sizeof(*nl));
	if (!nl)
		return;
	e->linger = nl;
	nl[e->nlinger].key = strdup(key);
	nl[e->nlinger].expire_wall_ms = expire_wall_ms;
	nl[e->nlinger].unsent = 1;
	if (nl[e->nlinger].key)
		e->nlinger++;
}

int mcp_mc_entry_take_unsent(struct mcp_mc_entry *e, char **keys, uint64_t *ttl_ms, int max,
			     uint64_t now_wall_ms)
{
	int i, n = 0;

	for (i = 0; i < e->nlinger && n < max; i++) {
		struct mcp_mc_linger *l = &e->linger[i];

		if (!l->unsent)
			continue;
		keys[n] = strdup(l->key);
		if (!keys[n])
			break; /* stays unsent: the next write or a resync sends it */
		/* grace already over: expire at once (left without TTL it would never go) */
		ttl_ms[n++] = l->expire_wall_ms > now_wall_ms ? l->expire_wall_ms - now_wall_ms : 1;
		l->unsent = 0;
	}
	return n;
}

void mcp_mc_entry_unlinger(struct mcp_mc_entry *e, char (*keys)[MCP_MC_KEY_LEN], int n,
			   uint64_t now_wall_ms)
{
	int i = 0, j;

	while (i < e->nlinger) {
		/* an unsent one stays until written, expired or not (it has no TTL in Redis yet) */
		int drop = e->linger[i].expire_wall_ms <= now_wall_ms && !e->linger[i].unsent;

		for (j = 0; j < n && !drop; j++)
			drop = !strcmp(e->linger[i].key, keys[j]);
		if (!drop) {
			i++;
			continue;
		}
		free(e->linger[i].key);
		e->linger[i] = e->linger[--e->nlinger];
	}
}

void mcp_mc_entry_free(struct mcp_mc_entry *e)
{
	int i;

	for (i = 0; i < e->nstale; i++)
		free(e->stale[i]);
	for (i = 0; i < e->nlinger; i++)
		free(e->linger[i].key);
	free(e->linger);
	free(e);
}

uint64_t mcp_mc_ring_used(const struct mcp_mc *m)
{
	return m->head - m->tail;
}

void mcp_mc_wake(struct mcp_mc *m)
{
	/* Already pending: the writer checks urgent under the lock before it sleeps, so one
	 * signal serves a burst (a futex wake per GTP-C event cost the packet thread 2%). */
	if (m->urgent)
		return;
	m->urgent = 1;
	pthread_cond_signal(&m->wake);
}

void mcp_mc_enqueue_fact(struct mcp_mc *m, struct mcp_mc_entry *e)
{
	if (e->queued) {
		m->st.coalesced++;
		return;
	}
	e->queued = 1;
	if (mcp_mc_ring_used(m) >= m->cfg.queue_len) {
		m->st.queue_full++;
		m->st.coalesced++;
		e->ovf_next = NULL;
		if (m->ovf_tail)
			m->ovf_tail->ovf_next = e;
		else
			m->ovf_head = e;
		m->ovf_tail = e;
		return;
	}
	m->ring[m->head++ % m->cfg.queue_len] =
		(struct mcp_mc_op){ .type = MCP_MC_OP_FACT, .e = e };
	if (mcp_mc_ring_used(m) >= m->cfg.flush_cmds)
		mcp_mc_wake(m);
}

void mcp_mc_enqueue_event(struct mcp_mc *m, uint8_t ev, const char *imsi, char *json)
{
	struct mcp_mc_op *op;

	if (!json || mcp_mc_ring_used(m) >= m->cfg.queue_len) {
		m->st.queue_full += json != NULL;
		m->st.events_dropped++;
		free(json);
		return;
	}
	op = &m->ring[m->head++ % m->cfg.queue_len];
	*op = (struct mcp_mc_op){ .type = MCP_MC_OP_EVENT, .ev = ev, .json = json };
	snprintf(op->imsi, sizeof(op->imsi), "%s", imsi);
	mcp_mc_wake(m); /* control events are rare and latency matters: flush now */
}
