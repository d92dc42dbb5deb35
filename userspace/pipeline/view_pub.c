/* view_pub.c - parts of the RESP view published by the threads that own them (view_pub.h). */
#include "pipeline/view_pub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct mcp_view_part *mcp_view_part_new(void)
{
	struct mcp_view_part *part = calloc(1, sizeof(*part));

	if (part)
		part->copy_ns = mono_ns();
	return part;
}

void mcp_view_part_free(struct mcp_view_part *part)
{
	if (!part)
		return;
	free(part->flows);
	free(part->subs);
	free(part);
}

/* Room for one more element of size sz in *v (n used of *cap); 0 on OOM. */
static int grow(void **v, size_t n, size_t *cap, size_t sz)
{
	size_t c;
	void *p;

	if (n < *cap)
		return 1;
	c = *cap ? *cap * 2 : 256;
	p = realloc(*v, c * sz);
	if (!p)
		return 0;
	*v = p;
	*cap = c;
	return 1;
}

void mcp_view_add_flow(void *ctx, const struct mcp_flow_record *r, uint32_t hash,
		       uint64_t kpkts, uint64_t kbytes)
{
	struct mcp_view_part *part = ctx;
	struct mcp_view_flow *f;

	if (!grow((void **)&part->flows, part->nflows, &part->capf, sizeof(*f))) {
		part->failed = 1;
		return;
	}
	f = &part->flows[part->nflows++];
	f->src = r->src_ip;
	f->dst = r->dst_ip;
	f->sport = r->src_port;
	f->dport = r->dst_port;
	f->proto = r->proto;
	f->hash = hash;
	f->pkts_up = r->pkts_up;
	f->pkts_down = r->pkts_down;
	f->bytes_up = r->bytes_up;
	f->bytes_down = r->bytes_down;
	f->kpkts = kpkts;
	f->kbytes = kbytes;
	f->first_ms = r->first_ms;
	f->last_ms = r->last_ms;
	memcpy(f->app, r->app, sizeof(f->app));
	memcpy(f->host, r->host, sizeof(f->host));
	memcpy(f->imsi, r->imsi, sizeof(f->imsi));
	part->t.flows_active++;
}

void mcp_view_add_sub(void *ctx, const struct mcp_subscriber *sub)
{
	struct mcp_view_part *part = ctx;
	struct mcp_view_sub *s;

	if (!grow((void **)&part->subs, part->nsubs, &part->caps, sizeof(*s))) {
		part->failed = 1;
		return;
	}
	s = &part->subs[part->nsubs++];
	memcpy(s->imsi, sub->imsi, sizeof(s->imsi));
	memcpy(s->msisdn, sub->msisdn, sizeof(s->msisdn));
	memcpy(s->imei, sub->imei, sizeof(s->imei));
	memcpy(s->apn, sub->apn, sizeof(s->apn));
	s->ue_ipv4 = sub->ue_ipv4;
	s->ue_ipv6 = sub->ue_ipv6;
	s->has_ipv4 = sub->has_ipv4;
	s->has_ipv6 = sub->has_ipv6;
	s->rat = sub->rat;
	s->gtp_version = sub->gtp_version;
	s->state = sub->state;
	s->ntunnels = sub->ntunnels;
	s->last_change_ms = sub->last_change_ms;
}

void mcp_view_add_worker(struct mcp_view_part *part, struct mcp_worker *w)
{
	const struct mcp_worker_stats *ws = mcp_worker_stats(w);

	mcp_worker_foreach_live(w, mcp_view_add_flow, part);
	part->t.user_packets = ws->packets;
	part->t.user_bytes = ws->bytes;
	part->t.flows_created = ws->flows_created;
	part->t.flows_exported = ws->flows_exported;
}

void mcp_view_publish(struct mcp_view_slot *s, struct mcp_view_part *part)
{
	uint32_t want = __atomic_load_n(&s->want, __ATOMIC_ACQUIRE);
	struct mcp_view_part *old;

	part->copy_ns = mono_ns() - part->copy_ns;
	/* a part the RESP thread did not take (it timed out) is replaced */
	old = __atomic_exchange_n(&s->pub, part, __ATOMIC_ACQ_REL);

	mcp_view_part_free(old);
	__atomic_store_n(&s->done, want, __ATOMIC_RELEASE);
}

struct mcp_view_pub *mcp_view_pub_create(uint32_t nslots)
{
	struct mcp_view_pub *vp = calloc(1, sizeof(*vp));

	if (!vp)
		return NULL;
	vp->n = nslots;
	vp->slots = aligned_alloc(64, nslots * sizeof(*vp->slots));
	vp->last = calloc(nslots, sizeof(*vp->last));
	if (!vp->slots || !vp->last) {
		free(vp->slots);
		free(vp->last);
		free(vp);
		return NULL;
	}
	memset(vp->slots, 0, nslots * sizeof(*vp->slots));
	return vp;
}

void mcp_view_pub_destroy(struct mcp_view_pub *vp)
{
	if (!vp)
		return;
	for (uint32_t i = 0; i < vp->n; i++) {
		mcp_view_part_free(vp->last[i]);
		mcp_view_part_free(__atomic_exchange_n(&vp->slots[i].pub, NULL, __ATOMIC_ACQ_REL));
	}
	free(vp->slots);
	free(vp->last);
	free(vp);
}

static int all_done(const struct mcp_view_pub *vp)
{
	for (uint32_t i = 0; i < vp->n; i++)
		if (__atomic_load_n(&vp->slots[i].done, __ATOMIC_ACQUIRE) != vp->req)
			return 0;
	return 1;
}

void mcp_view_pub_collect(struct mcp_view_pub *vp, uint32_t timeout_ms)
{
	struct timespec nap = { 0, 200000 };
	uint32_t waited_us = 0;

	vp->req++;
	vp->owner_ns = 0;
	for (uint32_t i = 0; i < vp->n; i++)
		__atomic_store_n(&vp->slots[i].want, vp->req, __ATOMIC_RELEASE);
	/* owners answer at their next frame, shard message, tick or idle moment */
	while (!all_done(vp) && waited_us < timeout_ms * 1000u) {
		nanosleep(&nap, NULL);
		waited_us += 200;
	}
	if (!all_done(vp))
		vp->timeouts++;
	for (uint32_t i = 0; i < vp->n; i++) {
		struct mcp_view_part *p = __atomic_exchange_n(&vp->slots[i].pub, NULL,
							      __ATOMIC_ACQ_REL);

		if (p) {
			vp->owner_ns += p->copy_ns;
			mcp_view_part_free(vp->last[i]);
			vp->last[i] = p;
		}
	}
}
