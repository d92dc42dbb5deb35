/* cap_tunset.c - selected GTP-U tunnels with a grace for replaced ones (cap_tunset.h). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "capture/cap_tunset.h"

struct mcp_cap_tun {
	uint32_t teid;
	struct mcp_ip addr;
	char imsi[MCP_IMSI_LEN];
	uint64_t until_ms; /* UINT64_MAX while listed; else end of its grace */
};

struct mcp_cap_tunset {
	pthread_mutex_t lock;
	struct mcp_cap_tun *t;
	uint32_t n, alloc;
	uint32_t grace_ms;
};

struct mcp_cap_tunset *mcp_cap_tunset_create(uint32_t grace_ms)
{
	struct mcp_cap_tunset *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	pthread_mutex_init(&t->lock, NULL);
	t->grace_ms = grace_ms;
	return t;
}

void mcp_cap_tunset_destroy(struct mcp_cap_tunset *t)
{
	if (!t)
		return;
	pthread_mutex_destroy(&t->lock);
	free(t->t);
	free(t);
}

static struct mcp_cap_tun *mcp_tun_find(struct mcp_cap_tunset *t, uint32_t teid,
					const struct mcp_ip *addr)
{
	uint32_t i;

	for (i = 0; i < t->n; i++)
		if (t->t[i].teid == teid && !memcmp(&t->t[i].addr, addr, sizeof(*addr)))
			return &t->t[i];
	return NULL;
}

/* Drops keys whose grace ended. */
static void mcp_tun_expire(struct mcp_cap_tunset *t, uint64_t now_ms)
{
	uint32_t i = 0;

	while (i < t->n) {
		if (t->t[i].until_ms <= now_ms)
			t->t[i] = t->t[--t->n];
		else
			i++;
	}
}

int mcp_cap_tunset_refresh(struct mcp_cap_tunset *t, const struct mcp_subscriber *sub,
			   uint64_t now_ms)
{
	uint32_t i;
	int err = 0;

	pthread_mutex_lock(&t->lock);
	mcp_tun_expire(t, now_ms);
	for (i = 0; i < t->n; i++) /* everything of this IMSI starts its grace ... */
		if (!strcmp(t->t[i].imsi, sub->imsi) && t->t[i].until_ms == UINT64_MAX)
			t->t[i].until_ms = now_ms + t->grace_ms;
	for (i = 0; i < sub->ntunnels && i < MCP_MAX_TUNNELS; i++) { /* ... unless listed */
		const struct mcp_tunnel *tu = &sub->tunnels[i];
		struct mcp_cap_tun *e = mcp_tun_find(t, tu->teid, &tu->addr);

		if (!e) {
			if (t->n == t->alloc) {
				uint32_t alloc = t->alloc ? t->alloc * 2 : 16;
				void *p = realloc(t->t, alloc * sizeof(*t->t));

				if (!p) {
					err = -ENOMEM;
					break;
				}
				t->t = p;
				t->alloc = alloc;
			}
			e = &t->t[t->n++];
			e->teid = tu->teid;
			e->addr = tu->addr;
		}
		memcpy(e->imsi, sub->imsi, sizeof(e->imsi));
		e->until_ms = sub->state == MCP_SUB_ACTIVE ? UINT64_MAX : now_ms + t->grace_ms;
	}
	pthread_mutex_unlock(&t->lock);
	return err;
}

int mcp_cap_tunset_has(struct mcp_cap_tunset *t, uint32_t teid, const struct mcp_ip *addr,
		       uint64_t now_ms)
{
	const struct mcp_cap_tun *e;
	int hit;

	pthread_mutex_lock(&t->lock);
	e = mcp_tun_find(t, teid, addr);
	hit = e && e->until_ms > now_ms;
	pthread_mutex_unlock(&t->lock);
	return hit;
}

uint32_t mcp_cap_tunset_count(struct mcp_cap_tunset *t, uint64_t now_ms)
{
	uint32_t i, n = 0;

	pthread_mutex_lock(&t->lock);
	for (i = 0; i < t->n; i++)
		n += t->t[i].until_ms > now_ms;
	pthread_mutex_unlock(&t->lock);
	return n;
}
