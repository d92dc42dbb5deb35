/* pipeline_view.c - the live probe as RESP keys (--resp-listen): imsi.<IMSI>, flow.<id>,
 * host.<addr>, stats. The RESP thread calls mcp_pipeline_snapshot at most once a second, on
 * demand: it asks the packet thread and every shard for their parts (view_pub.h), which each
 * copies at its next frame, message or idle moment, and formats the keys on its own thread.
 * No lock is taken on the packet path (docs/export.md, "Snapshots").
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "flow/json_out.h"
#include "pipeline/pipeline.h"
#include "pipeline/pipeline_internal.h"
#include "pipeline/shards.h"
#include "pipeline/view_pub.h"

/* How long a RESP command waits for the owners' answers before it uses their last parts. */
#define VIEW_WAIT_MS 500

struct counted {
	char key[MCP_IP_STRLEN > MCP_IMSI_LEN ? MCP_IP_STRLEN : MCP_IMSI_LEN];
	uint64_t flows, pkts_up, pkts_down, bytes_up, bytes_down;
};

struct tally {
	struct counted *v;
	size_t n, cap;
	int failed;
};

struct snap {
	struct mcp_resp_view *view;
	struct tally imsi, host;
};

static void tally_add(struct tally *t, const char *key, const struct mcp_view_flow *r, int rev)
{
	struct counted *c;

	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 1024;
		struct counted *v = realloc(t->v, cap * sizeof(*v));

		if (!v) {
			t->failed = 1;
			return;
		}
		t->v = v;
		t->cap = cap;
	}
	c = &t->v[t->n++];
	snprintf(c->key, sizeof(c->key), "%s", key);
	c->flows = 1;
	c->pkts_up = rev ? r->pkts_down : r->pkts_up;
	c->pkts_down = rev ? r->pkts_up : r->pkts_down;
	c->bytes_up = rev ? r->bytes_down : r->bytes_up;
	c->bytes_down = rev ? r->bytes_up : r->bytes_down;
}

static int counted_cmp(const void *a, const void *b)
{
	return strcmp(((const struct counted *)a)->key, ((const struct counted *)b)->key);
}

/* Sorts and merges equal keys. */
static void tally_merge(struct tally *t)
{
	size_t o = 0;

	if (!t->n)
		return;
	qsort(t->v, t->n, sizeof(*t->v), counted_cmp);
	for (size_t i = 1; i < t->n; i++) {
		struct counted *d = &t->v[o], *s = &t->v[i];

		if (!strcmp(d->key, s->key)) {
			d->flows += s->flows;
			d->pkts_up += s->pkts_up;
			d->pkts_down += s->pkts_down;
			d->bytes_up += s->bytes_up;
			d->bytes_down += s->bytes_down;
		} else {
			t->v[++o] = *s;
		}
	}
	t->n = o + 1;
}

static void counters(struct mcp_resp_view *v, const struct counted *c)
{
	struct counted zero = { .flows = 0 };

	if (!c)
		c = &zero;
	mcp_resp_view_field(v, "flows", "%" PRIu64, c->flows);
	mcp_resp_view_field(v, "pkts_up", "%" PRIu64, c->pkts_up);
	mcp_resp_view_field(v, "pkts_down", "%" PRIu64, c->pkts_down);
	mcp_resp_view_field(v, "bytes_up", "%" PRIu64, c->bytes_up);
	mcp_resp_view_field(v, "bytes_down", "%" PRIu64, c->bytes_down);
}

static void flow_key(struct snap *s, const struct mcp_view_flow *r)
{
	struct mcp_resp_view *v = s->view;
	char a[MCP_IP_STRLEN], b[MCP_IP_STRLEN];

	mcp_ip_str(&r->src, a);
	mcp_ip_str(&r->dst, b);
	mcp_resp_view_key(v, "flow.%08x%013" PRIx64, r->hash, r->first_ms);
	mcp_resp_view_field(v, "src_ip", "%s", a);
	mcp_resp_view_field(v, "src_port", "%u", r->sport);
	mcp_resp_view_field(v, "dst_ip", "%s", b);
	mcp_resp_view_field(v, "dst_port", "%u", r->dport);
	mcp_resp_view_field(v, "proto", "%u", r->proto);
	mcp_resp_view_field(v, "pkts_up", "%" PRIu64, r->pkts_up);
	mcp_resp_view_field(v, "pkts_down", "%" PRIu64, r->pkts_down);
	mcp_resp_view_field(v, "bytes_up", "%" PRIu64, r->bytes_up);
	mcp_resp_view_field(v, "bytes_down", "%" PRIu64, r->bytes_down);
	mcp_resp_view_field(v, "kernel_pkts", "%" PRIu64, r->kpkts);
	mcp_resp_view_field(v, "kernel_bytes", "%" PRIu64, r->kbytes);
	mcp_resp_view_field(v, "first_ms", "%" PRIu64, r->first_ms);
	mcp_resp_view_field(v, "last_ms", "%" PRIu64, r->last_ms);
	mcp_resp_view_field(v, "app", "%s", r->app);
	mcp_resp_view_field(v, "host", "%s", r->host);
	mcp_resp_view_field(v, "imsi", "%s", r->imsi);
	if (r->imsi[0])
		tally_add(&s->imsi, r->imsi, r, 0);
	tally_add(&s->host, a, r, 0);
	tally_add(&s->host, b, r, 1);
}

static const struct counted *find(const struct tally *t, const char *key)
{
	struct counted k;

	snprintf(k.key, sizeof(k.key), "%s", key);
	return t->n ? bsearch(&k, t->v, t->n, sizeof(k), counted_cmp) : NULL;
}

static void imsi_key(struct snap *s, const struct mcp_view_sub *sub)
{
	struct mcp_resp_view *v = s->view;
	const char *rat = mcp_rat_name(sub->rat);
	char ip[MCP_IP_STRLEN];

	mcp_resp_view_key(v, "imsi.%s", sub->imsi);
	mcp_resp_view_field(v, "msisdn", "%s", sub->msisdn);
	mcp_resp_view_field(v, "imei", "%s", sub->imei);
	mcp_resp_view_field(v, "apn", "%s", sub->apn);
	mcp_resp_view_field(v, "ue_ipv4", "%s", sub->has_ipv4 ? mcp_ip_str(&sub->ue_ipv4, ip) : "");
	mcp_resp_view_field(v, "ue_ipv6", "%s", sub->has_ipv6 ? mcp_ip_str(&sub->ue_ipv6, ip) : "");
	mcp_resp_view_field(v, "rat", "%s", rat ? rat : "");
	mcp_resp_view_field(v, "gtp_version", "%u", sub->gtp_version);
	mcp_resp_view_field(v, "state", "%s", sub->state == MCP_SUB_DELETED ? "deleted" : "active");
	mcp_resp_view_field(v, "tunnels", "%u", sub->ntunnels);
	mcp_resp_view_field(v, "last_change_ms", "%" PRIu64, sub->last_change_ms);
	counters(v, find(&s->imsi, sub->imsi));
}

static void stats_key(struct mcp_resp_view *v, const struct mcp_view_totals *t, size_t nsubs)
{
	mcp_resp_view_key(v, "stats");
	mcp_resp_view_field(v, "packets", "%" PRIu64, t->frames);
	mcp_resp_view_field(v, "bytes", "%" PRIu64, t->frame_bytes);
	mcp_resp_view_field(v, "user_packets", "%" PRIu64, t->user_packets);
	mcp_resp_view_field(v, "user_bytes", "%" PRIu64, t->user_bytes);
	mcp_resp_view_field(v, "flows_active", "%" PRIu64, t->flows_active);
	mcp_resp_view_field(v, "flows_created", "%" PRIu64, t->flows_created);
	mcp_resp_view_field(v, "flows_exported", "%" PRIu64, t->flows_exported);
	mcp_resp_view_field(v, "subscribers", "%zu", nsubs);
}

void mcp_pipeline_view_serve(struct mcp_pipeline *p)
{
	struct mcp_view_slot *slot = &p->view->slots[0];
	struct mcp_view_part *part;

	if (!mcp_view_wanted(slot) || !(part = mcp_view_part_new()))
		return;
	if (p->worker)
		mcp_view_add_worker(part, p->worker);
	mcp_sessions_foreach(p->sessions, mcp_view_add_sub, part);
	part->t.frames = p->frames;
	part->t.frame_bytes = p->frame_bytes;
	mcp_view_publish(slot, part);
}

int mcp_pipeline_share(struct mcp_pipeline *p)
{
	if (p->view)
		return 0;
	p->view = mcp_view_pub_create(1 + (p->shards ? mcp_shards_count(p->shards) : 0));
	if (!p->view)
		return -1;
	if (p->shards)
		mcp_shards_set_view(p->shards, &p->view->slots[1]);
	return 0;
}

void mcp_pipeline_idle(void *ctx)
{
	struct mcp_pipeline *p = ctx;

	mcp_pipeline_drain(p);
	if (p->shards) /* the shards see the packets the dispatcher holds back for a batch */
		mcp_shards_publish_pending(p->shards);
	if (p->view)
		mcp_pipeline_view_serve(p);
}

void mcp_pipeline_snapshot(void *ctx, struct mcp_resp_view *v)
{
	struct mcp_pipeline *p = ctx;
	struct mcp_view_pub *vp = p->view;
	struct snap s = { .view = v };
	struct mcp_view_totals t = { 0 };
	const struct mcp_view_part *owner;

	mcp_view_pub_collect(vp, VIEW_WAIT_MS);
	v->owner_ns = vp->owner_ns;
	for (uint32_t i = 0; i < vp->n; i++) {
		const struct mcp_view_part *part = vp->last[i];

		if (!part)
			continue;
		for (size_t f = 0; f < part->nflows; f++)
			flow_key(&s, &part->flows[f]);
		t.frames += part->t.frames;
		t.frame_bytes += part->t.frame_bytes;
		t.user_packets += part->t.user_packets;
		t.user_bytes += part->t.user_bytes;
		t.flows_created += part->t.flows_created;
		t.flows_exported += part->t.flows_exported;
		t.flows_active += part->t.flows_active;
		v->failed |= part->failed;
	}
	tally_merge(&s.imsi);
	tally_merge(&s.host);
	owner = vp->last[0];
	for (size_t i = 0; owner && i < owner->nsubs; i++)
		imsi_key(&s, &owner->subs[i]);
	stats_key(v, &t, owner ? owner->nsubs : 0);
	for (size_t i = 0; i < s.host.n; i++) {
		mcp_resp_view_key(v, "host.%s", s.host.v[i].key);
		counters(v, &s.host.v[i]);
	}
	if (s.imsi.failed || s.host.failed)
		v->failed = 1;
	free(s.imsi.v);
	free(s.host.v);
}
