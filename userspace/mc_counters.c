/* mc_counters.c - microcloud volatile counters and per-IMSI application buckets.
 *
 * Flow records are summed in memory per (key, field) between flushes; each flush writes one
 * HINCRBY per field and one EXPIRE per key (microcloud: counters are volatile, with a TTL).
 *   P host.<addr>   bytes.up bytes.down pkts.up pkts.down flows [dns.queries]  (both ends of a
 *                   flow; "up" is always UE -> network, i.e. the record's up direction)
 *   P proto.<app>   bytes pkts flows
 *   P agg.<epoch>.<IMSI>  <app>.pkts <app>.bytes <app>.flows <app>.duration_ms, period
 * A record is credited whole to the bucket holding its last_ms (epoch = start of that period),
 * so the sum over a subscriber's buckets equals its traffic in flow records exactly.
 * While Redis is unreachable the sums keep growing in memory (bounded: max_counter_keys).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mc_internal.h"

#define MC_CTR_BUCKETS 4096

enum mc_ctr_kind { MC_CTR_HOST, MC_CTR_PROTO, MC_CTR_AGG };

/* Fixed fields of host./proto. keys; agg. keys hold one mc_capp per application. */
enum { HF_BYTES_UP, HF_BYTES_DOWN, HF_PKTS_UP, HF_PKTS_DOWN, HF_FLOWS, HF_DNS, HF__MAX };
static const char *const host_fields[HF__MAX] = { "bytes.up", "bytes.down", "pkts.up",
						  "pkts.down", "flows", "dns.queries" };
enum { PF_BYTES, PF_PKTS, PF_FLOWS, PF__MAX };
static const char *const proto_fields[PF__MAX] = { "bytes", "pkts", "flows" };

struct mc_capp {
	struct mc_capp *next;
	int64_t pkts, bytes, flows, dur_ms;
	char app[MCP_APP_NAME_LEN];
};

struct mc_ckey {
	struct mc_ckey *next;
	struct mc_capp *apps;
	int64_t v[HF__MAX];
	uint64_t hash;
	uint8_t kind;
	char key[];
};

/* Keys and per-application sums of one table live in chunks freed together: the table is
 * swapped out and dropped every counter flush, and per-key malloc/free (the free on the writer
 * thread) cost the packet thread more than the counting itself. */
struct mc_chunk {
	struct mc_chunk *next;
	size_t used, size;
	char data[];
};

#define MC_CHUNK_BYTES (64 * 1024)

struct mc_ctr_table {
	struct mc_ckey **b;
	size_t nb, nkeys;
	struct mc_chunk *chunks;
};

/* Zeroed, 8-byte aligned memory from the table's chunks; NULL when out of memory. */
static void *mc_ctr_alloc(struct mc_ctr_table *t, size_t n)
{
	struct mc_chunk *c = t->chunks;
	void *p;

	n = (n + 7) & ~(size_t)7;
	if (!c || c->size - c->used < n) {
		size_t size = n > MC_CHUNK_BYTES ? n : MC_CHUNK_BYTES;

		c = malloc(sizeof(*c) + size);
		if (!c)
			return NULL;
		c->used = 0;
		c->size = size;
		c->next = t->chunks;
		t->chunks = c;
	}
	p = c->data + c->used;
	c->used += n;
	memset(p, 0, n);
	return p;
}

struct mc_ctr_table *mc_ctr_create(void)
{
	struct mc_ctr_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->nb = MC_CTR_BUCKETS;
	t->b = calloc(t->nb, sizeof(*t->b));
	if (!t->b) {
		free(t);
		return NULL;
	}
	return t;
}

void mc_ctr_destroy(struct mc_ctr_table *t)
{
	struct mc_chunk *c, *next;

	if (!t)
		return;
	for (c = t->chunks; c; c = next) {
		next = c->next;
		free(c);
	}
	free(t->b);
	free(t);
}

size_t mc_ctr_keys(const struct mc_ctr_table *t)
{
	return t ? t->nkeys : 0;
}

static void mc_ctr_grow(struct mc_ctr_table *t)
{
	size_t nb = t->nb * 2, i;
	struct mc_ckey **b = calloc(nb, sizeof(*b));

	if (!b)
		return;
	for (i = 0; i < t->nb; i++) {
		struct mc_ckey *k = t->b[i], *next;

		for (; k; k = next) {
			next = k->next;
			k->next = b[k->hash & (nb - 1)];
			b[k->hash & (nb - 1)] = k;
		}
	}
	free(t->b);
	t->b = b;
	t->nb = nb;
}

static struct mc_ckey *mc_ctr_key(struct mcp_mc *m, struct mc_ctr_table *t, const char *key,
				  uint8_t kind)
{
	uint64_t h = 1469598103934665603ull;
	struct mc_ckey *k;
	const char *s;
	size_t len;

	for (s = key; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	for (k = t->b[h & (t->nb - 1)]; k; k = k->next)
		if (k->hash == h && !strcmp(k->key, key))
			return k;
	if (t->nkeys >= m->cfg.max_counter_keys) {
		m->st.counter_keys_dropped++;
		return NULL;
	}
	len = strlen(key);
	k = mc_ctr_alloc(t, sizeof(*k) + len + 1);
	if (!k) {
		m->st.counter_keys_dropped++;
		return NULL;
	}
	memcpy(k->key, key, len + 1);
	k->kind = kind;
	k->hash = h;
	k->next = t->b[h & (t->nb - 1)];
	t->b[h & (t->nb - 1)] = k;
	if (++t->nkeys > t->nb * 2)
		mc_ctr_grow(t);
	return k;
}

static struct mc_capp *mc_ctr_app(struct mc_ctr_table *t, struct mc_ckey *k, const char *app)
{
	struct mc_capp *f;

	for (f = k->apps; f; f = f->next)
		if (!strcmp(f->app, app))
			return f;
	f = mc_ctr_alloc(t, sizeof(*f));
	if (!f)
		return NULL;
	snprintf(f->app, sizeof(f->app), "%s", app);
	f->next = k->apps;
	k->apps = f;
	return f;
}

static void mc_ctr_host(struct mc_ckey *k, const struct mcp_flow_record *r, int dns)
{
	if (!k)
		return;
	k->v[HF_BYTES_UP] += (int64_t)r->bytes_up;
	k->v[HF_BYTES_DOWN] += (int64_t)r->bytes_down;
	k->v[HF_PKTS_UP] += (int64_t)r->pkts_up;
	k->v[HF_PKTS_DOWN] += (int64_t)r->pkts_down;
	k->v[HF_FLOWS]++;
	k->v[HF_DNS] += dns;
}

static int mc_is_dns(const struct mcp_flow_record *r)
{
	return !strcmp(r->app, "DNS") || !strcmp(r->master_app, "DNS") ||
	       (r->proto == 17 && r->dst_port == 53);
}

/* A counter-safe application name: the nDPI name, "Unknown" when empty. Dots are kept
 * (agg fields are "<app>.<what>": parse from the right). */
static const char *mc_app(const struct mcp_flow_record *r)
{
	return r->app[0] ? r->app : "Unknown";
}

void mcp_mc_flow(struct mcp_mc *m, const struct mcp_flow_record *r)
{
	char hs[MC_KEY_LEN], hd[MC_KEY_LEN], pk[MC_KEY_LEN], ak[MC_KEY_LEN];
	int64_t pkts, bytes;
	const char *app;
	int have_agg = 0, have_dst;
	struct mc_ckey *k;
	uint64_t epoch;
	char as[MCP_IP_STRLEN], ad[MCP_IP_STRLEN];

	if (!m || !r)
		return;
	pkts = (int64_t)(r->pkts_up + r->pkts_down);
	bytes = (int64_t)(r->bytes_up + r->bytes_down);
	app = mc_app(r);
	if (mc_key_fmt(&m->keys, hs, sizeof(hs), "host.%s", mcp_ip_str(&r->src_ip, as)) < 0 ||
	    mc_key_fmt(&m->keys, hd, sizeof(hd), "host.%s", mcp_ip_str(&r->dst_ip, ad)) < 0 ||
	    mc_key_fmt(&m->keys, pk, sizeof(pk), "proto.%s", app) < 0)
		return;
	have_dst = strcmp(hs, hd) != 0;
	if (m->cfg.agg_period_s && r->imsi[0]) {
		epoch = r->last_ms / 1000 / m->cfg.agg_period_s * m->cfg.agg_period_s;
		have_agg = mc_key_agg(&m->keys, ak, sizeof(ak), epoch, r->imsi) > 0;
	}

	pthread_mutex_lock(&m->ctr_lock);
	mc_ctr_host(mc_ctr_key(m, m->ctr, hs, MC_CTR_HOST), r, mc_is_dns(r));
	if (have_dst)
		mc_ctr_host(mc_ctr_key(m, m->ctr, hd, MC_CTR_HOST), r, 0);
	k = mc_ctr_key(m, m->ctr, pk, MC_CTR_PROTO);
	if (k) {
		k->v[PF_BYTES] += bytes;
		k->v[PF_PKTS] += pkts;
		k->v[PF_FLOWS]++;
	}
	if (have_agg && (k = mc_ctr_key(m, m->ctr, ak, MC_CTR_AGG))) {
		struct mc_capp *a = mc_ctr_app(m->ctr, k, app);

		if (a) {
			a->pkts += pkts;
			a->bytes += bytes;
			a->flows++;
			a->dur_ms += r->last_ms > r->first_ms ? (int64_t)(r->last_ms - r->first_ms) : 0;
		} else {
			m->st.counter_keys_dropped++;
		}
	}
	pthread_mutex_unlock(&m->ctr_lock);
}

void mcp_mc_export_flow(void *ctx, const struct mcp_flow_record *r)
{
	mcp_mc_flow(ctx, r);
}

static int mc_hincr(struct mc_batch *b, const char *key, const char *field, int64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRId64, v);
	return mc_batch_addf(b, key, "HINCRBY %s %s %s", key, field, num);
}

int mc_ctr_cmds(struct mcp_mc *m, struct mc_batch *b, struct mc_ctr_table *t)
{
	char ttl[16], per[16], f[MCP_APP_NAME_LEN + 16];
	size_t i;
	int err = 0, j;

	snprintf(per, sizeof(per), "%u", m->cfg.agg_period_s);
	for (i = 0; i < t->nb && !err; i++) {
		struct mc_ckey *k;

		for (k = t->b[i]; k && !err; k = k->next) {
			struct mc_capp *a;

			if (k->kind == MC_CTR_HOST) {
				for (j = 0; j < HF__MAX; j++)
					if (j != HF_DNS || k->v[j])
						err |= mc_hincr(b, k->key, host_fields[j], k->v[j]);
			} else if (k->kind == MC_CTR_PROTO) {
				for (j = 0; j < PF__MAX; j++)
					err |= mc_hincr(b, k->key, proto_fields[j], k->v[j]);
			}
			for (a = k->apps; a; a = a->next) {
				snprintf(f, sizeof(f), "%s.pkts", a->app);
				err |= mc_hincr(b, k->key, f, a->pkts);
				snprintf(f, sizeof(f), "%s.bytes", a->app);
				err |= mc_hincr(b, k->key, f, a->bytes);
				snprintf(f, sizeof(f), "%s.flows", a->app);
				err |= mc_hincr(b, k->key, f, a->flows);
				snprintf(f, sizeof(f), "%s.duration_ms", a->app);
				err |= mc_hincr(b, k->key, f, a->dur_ms);
			}
			if (k->kind == MC_CTR_AGG) {
				err |= mc_batch_addf(b, k->key, "HSET %s period %s", k->key, per);
				snprintf(ttl, sizeof(ttl), "%u", m->cfg.agg_retention_s);
			} else {
				snprintf(ttl, sizeof(ttl), "%u", m->cfg.counter_ttl_s);
			}
			err |= mc_batch_addf(b, k->key, "EXPIRE %s %s", k->key, ttl);
			if (!err && b->n >= m->cfg.flush_cmds)
				err = mc_writer_flush(m, b);
		}
	}
	return err < 0 ? err : err ? -ENOMEM : 0;
}
