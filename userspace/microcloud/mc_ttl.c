/* mc_ttl.c - when each counter key last got its EXPIRE, so a counter flush sends only the
 * HINCRBYs of a key whose TTL was set less than a refresh interval ago.
 *
 * Counters are flushed every second; re-sending EXPIRE (and an agg bucket's HSET period) at
 * every flush was a fifth of all the probe's Redis commands. The memo lives in the writer
 * thread only. It is cleared at every (re)connect, because a restarted Redis has lost the
 * keys and their TTLs, and a pipeline lost with a broken connection may have held an EXPIRE.
 * Entries older than the refresh interval are useless and swept, so the memo holds at most the
 * keys written during one interval (and never more than max_keys: past that, EXPIRE is always
 * sent, as before).
 */
#include <stdlib.h>
#include <string.h>

#include "microcloud/mc_internal.h"

#define MC_TTL_MIN_BUCKETS 1024

struct mc_ttl_ent {
	struct mc_ttl_ent *next;
	uint64_t hash;
	uint64_t sent_ms;
	struct mcp_mc_cid id;
};

struct mcp_mc_ttl_memo {
	struct mc_ttl_ent **b;
	size_t nb, n, max;
	uint64_t swept_ms, longest_refresh_ms;
};

uint64_t mcp_mc_ttl_refresh_ms(uint32_t ttl_s)
{
	uint64_t r = (uint64_t)ttl_s * 100; /* a tenth, in ms */

	return r > 60000 ? 60000 : r;
}

struct mcp_mc_ttl_memo *mcp_mc_ttl_create(size_t max_keys)
{
	struct mcp_mc_ttl_memo *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->nb = MC_TTL_MIN_BUCKETS;
	t->max = max_keys;
	t->b = calloc(t->nb, sizeof(*t->b));
	if (!t->b) {
		free(t);
		return NULL;
	}
	return t;
}

void mcp_mc_ttl_clear(struct mcp_mc_ttl_memo *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->nb; i++) {
		struct mc_ttl_ent *e = t->b[i], *next;

		for (; e; e = next) {
			next = e->next;
			free(e);
		}
		t->b[i] = NULL;
	}
	t->n = 0;
}

void mcp_mc_ttl_destroy(struct mcp_mc_ttl_memo *t)
{
	if (!t)
		return;
	mcp_mc_ttl_clear(t);
	free(t->b);
	free(t);
}

/* Drops the entries every key kind would re-send anyway. */
static void mc_ttl_sweep(struct mcp_mc_ttl_memo *t, uint64_t now_ms)
{
	size_t i;

	for (i = 0; i < t->nb; i++) {
		struct mc_ttl_ent **pp = &t->b[i], *e;

		while ((e = *pp)) {
			if (now_ms - e->sent_ms >= t->longest_refresh_ms) {
				*pp = e->next;
				free(e);
				t->n--;
			} else {
				pp = &e->next;
			}
		}
	}
	t->swept_ms = now_ms;
}

static void mc_ttl_grow(struct mcp_mc_ttl_memo *t)
{
	size_t nb = t->nb * 2, i;
	struct mc_ttl_ent **b = calloc(nb, sizeof(*b));

	if (!b)
		return; /* longer chains, still correct */
	for (i = 0; i < t->nb; i++) {
		struct mc_ttl_ent *e = t->b[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	}
	free(t->b);
	t->b = b;
	t->nb = nb;
}

int mcp_mc_ttl_due(struct mcp_mc_ttl_memo *t, const struct mcp_mc_cid *id, uint64_t hash,
		   uint64_t now_ms, uint64_t refresh_ms)
{
	struct mc_ttl_ent *e;

	if (!t || !refresh_ms)
		return 1;
	if (refresh_ms > t->longest_refresh_ms)
		t->longest_refresh_ms = refresh_ms;
	if (now_ms - t->swept_ms >= t->longest_refresh_ms)
		mc_ttl_sweep(t, now_ms);
	for (e = t->b[hash & (t->nb - 1)]; e; e = e->next) {
		if (e->hash != hash || memcmp(&e->id, id, sizeof(*id)))
			continue;
		if (now_ms - e->sent_ms < refresh_ms)
			return 0;
		e->sent_ms = now_ms;
		return 1;
	}
	if (t->n >= t->max)
		return 1;
	e = malloc(sizeof(*e));
	if (!e)
		return 1;
	e->hash = hash;
	e->sent_ms = now_ms;
	e->id = *id;
	e->next = t->b[hash & (t->nb - 1)];
	t->b[hash & (t->nb - 1)] = e;
	if (++t->n > t->nb * 2)
		mc_ttl_grow(t);
	return 1;
}
