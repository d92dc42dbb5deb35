/* mc_counters.c - microcloud volatile counters and per-IMSI application buckets.
 *
 * Flow records are summed in memory per (key, field) between flushes; each flush writes one
 * HINCRBY per field, and an EXPIRE per key when its TTL is due (mc_ttl.c: at most once per
 * refresh interval; microcloud counters are volatile, with a TTL).
 *   P host.<addr>   bytes.up bytes.down pkts.up pkts.down flows [dns.queries]  (both ends of a
 *                   flow; "up" is always UE -> network, i.e. the record's up direction)
 *   P proto.<app>   bytes pkts flows
 *   P agg.<epoch>.<IMSI>  <app>.pkts <app>.bytes <app>.flows <app>.duration_ms, period
 * A record is credited whole to the bucket holding its last_ms (epoch = start of that period),
 * so the sum over a subscriber's buckets equals its traffic in flow records exactly.
 * The packet thread only copies a summary of each record into a buffer (mcp_mc_flow); the
 * writer sums the summaries under binary key identities (struct mcp_mc_cid, mcp_mc_ctr_drain) and
 * formats key names when it writes them.
 * While Redis is unreachable the sums keep growing in memory (bounded: max_counter_keys).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "util/log.h"
#include "microcloud/mc_internal.h"

#define MC_CTR_BUCKETS 4096

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
	struct mcp_mc_cid id;
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

struct mcp_mc_ctr_table {
	struct mc_ckey **b;
	size_t nb, nkeys;
	uint64_t dropped; /* counter keys (or applications) that found no room */
	struct mc_chunk *chunks;
};

/* Zeroed, 8-byte aligned memory from the table's chunks; NULL when out of memory. */
static void *mc_ctr_alloc(struct mcp_mc_ctr_table *t, size_t n)
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

struct mcp_mc_ctr_table *mcp_mc_ctr_create(size_t expect_keys)
{
	struct mcp_mc_ctr_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->nb = MC_CTR_BUCKETS;
	while (t->nb < expect_keys && t->nb < ((size_t)1 << 24))
		t->nb *= 2; /* sized like the last cycle: no rehash while the packet thread waits */
	t->b = calloc(t->nb, sizeof(*t->b));
	if (!t->b) {
		free(t);
		return NULL;
	}
	return t;
}

void mcp_mc_ctr_destroy(struct mcp_mc_ctr_table *t)
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

size_t mcp_mc_ctr_keys(const struct mcp_mc_ctr_table *t)
{
	return t ? t->nkeys : 0;
}

static void mc_ctr_grow(struct mcp_mc_ctr_table *t)
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

static struct mc_ckey *mc_ctr_key(struct mcp_mc *m, struct mcp_mc_ctr_table *t,
				  const struct mcp_mc_cid *id)
{
	uint64_t h = XXH3_64bits(id, sizeof(*id));
	struct mc_ckey *k;

	for (k = t->b[h & (t->nb - 1)]; k; k = k->next)
		if (k->hash == h && !memcmp(&k->id, id, sizeof(*id)))
			return k;
	if (t->nkeys >= m->cfg.max_counter_keys) {
		t->dropped++;
		return NULL;
	}
	k = mc_ctr_alloc(t, sizeof(*k));
	if (!k) {
		t->dropped++;
		return NULL;
	}
	k->id = *id;
	k->hash = h;
	k->next = t->b[h & (t->nb - 1)];
	t->b[h & (t->nb - 1)] = k;
	if (++t->nkeys > t->nb * 2)
		mc_ctr_grow(t);
	return k;
}

static struct mc_capp *mc_ctr_app(struct mcp_mc_ctr_table *t, struct mc_ckey *k, const char *app)
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

static void mc_ctr_host(struct mc_ckey *k, const struct mcp_mc_flow_sum *r, int dns)
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

static void mc_cid_str(struct mcp_mc_cid *id, uint8_t kind, char *dst, size_t sz, const char *src)
{
	size_t n = strnlen(src, sz - 1);

	memset(id, 0, sizeof(*id));
	id->kind = kind;
	memcpy(dst, src, n); /* the rest stays zero: the identity compares as bytes */
}

/* Credits one flow summary to its host., proto. and agg. keys in t. */
static void mc_ctr_add(struct mcp_mc *m, struct mcp_mc_ctr_table *t,
		       const struct mcp_mc_flow_sum *r)
{
	struct mcp_mc_cid src, dst, proto, agg;
	int64_t pkts = (int64_t)(r->pkts_up + r->pkts_down);
	int64_t bytes = (int64_t)(r->bytes_up + r->bytes_down);
	struct mc_ckey *k;

	memset(&src, 0, sizeof(src));
	src.kind = MCP_MC_CTR_HOST;
	src.u.ip = r->src_ip;
	mc_ctr_host(mc_ctr_key(m, t, &src), r, r->dns);
	if (mcp_ip_cmp(&r->src_ip, &r->dst_ip)) {
		dst = src;
		dst.u.ip = r->dst_ip;
		mc_ctr_host(mc_ctr_key(m, t, &dst), r, 0);
	}
	mc_cid_str(&proto, MCP_MC_CTR_PROTO, proto.u.app, sizeof(proto.u.app), r->app);
	k = mc_ctr_key(m, t, &proto);
	if (k) {
		k->v[PF_BYTES] += bytes;
		k->v[PF_PKTS] += pkts;
		k->v[PF_FLOWS]++;
	}
	if (!m->cfg.agg_period_s || !r->imsi[0])
		return;
	mc_cid_str(&agg, MCP_MC_CTR_AGG, agg.u.imsi, sizeof(agg.u.imsi), r->imsi);
	agg.epoch = r->last_ms / 1000 / m->cfg.agg_period_s * m->cfg.agg_period_s;
	k = mc_ctr_key(m, t, &agg);
	if (k) {
		struct mc_capp *a = mc_ctr_app(t, k, r->app);

		if (a) {
			a->pkts += pkts;
			a->bytes += bytes;
			a->flows++;
			a->dur_ms += r->last_ms > r->first_ms ? (int64_t)(r->last_ms - r->first_ms) : 0;
		} else {
			t->dropped++;
		}
	}
}

/* The packet thread only copies what the counters need into a buffer (a few tens of ns); the
 * writer thread does the key lookups (mcp_mc_ctr_drain). When the buffer is full (the writer is
 * behind, or Redis is down and the writer is not draining), the record is credited here,
 * straight into the shared table: slower, nothing lost. */
void mcp_mc_flow(struct mcp_mc *m, const struct mcp_flow_record *r)
{
	struct mcp_mc_flow_sum s;

	if (!m || !r)
		return;
	memset(&s, 0, sizeof(s));
	s.src_ip = r->src_ip;
	s.dst_ip = r->dst_ip;
	s.pkts_up = r->pkts_up;
	s.pkts_down = r->pkts_down;
	s.bytes_up = r->bytes_up;
	s.bytes_down = r->bytes_down;
	s.first_ms = r->first_ms;
	s.last_ms = r->last_ms;
	s.dns = (uint8_t)mc_is_dns(r);
	/* the counter-safe application name: "Unknown" when nDPI named none */
	snprintf(s.app, sizeof(s.app), "%s", r->app[0] ? r->app : "Unknown");
	memcpy(s.imsi, r->imsi, sizeof(s.imsi));
	s.imsi[sizeof(s.imsi) - 1] = 0;

	pthread_mutex_lock(&m->ctr_lock);
	if (m->fbuf_n < m->fbuf_cap)
		m->fbuf[m->fbuf_n++] = s;
	else
		mc_ctr_add(m, m->ctr, &s);
	pthread_mutex_unlock(&m->ctr_lock);
}

int mcp_mc_ctr_drain(struct mcp_mc *m)
{
	struct mcp_mc_flow_sum *full;
	size_t n, i;

	if (!m->wctr && !(m->wctr = mcp_mc_ctr_create(m->wctr_last_keys)))
		return -ENOMEM;
	pthread_mutex_lock(&m->ctr_lock);
	full = m->fbuf;
	n = m->fbuf_n;
	m->fbuf = m->fbuf_spare;
	m->fbuf_n = 0;
	pthread_mutex_unlock(&m->ctr_lock);
	for (i = 0; i < n; i++)
		mc_ctr_add(m, m->wctr, &full[i]);
	m->fbuf_spare = full;
	return 0;
}

void mcp_mc_export_flow(void *ctx, const struct mcp_flow_record *r)
{
	mcp_mc_flow(ctx, r);
}

static int mc_hincr(struct mcp_mc_batch *b, const char *key, size_t klen, const char *field,
		    size_t flen, int64_t v)
{
	char num[24];
	const char *argv[4] = { "HINCRBY", key, field, num };
	size_t argvlen[4] = { 7, klen, flen, 0 };

	argvlen[3] = (size_t)snprintf(num, sizeof(num), "%" PRId64, v);
	return mcp_mc_batch_addv(b, key, 4, argv, argvlen);
}

/* The key's name, as Redis sees it. Length, or < 0 when the prefix makes it too long. */
static int mc_cid_name(const struct mcp_mc *m, const struct mcp_mc_cid *id, char *buf, size_t sz)
{
	char a[MCP_IP_STRLEN];

	switch (id->kind) {
	case MCP_MC_CTR_HOST:
		return mcp_mc_key_fmt(&m->keys, buf, sz, "host.%s", mcp_ip_str(&id->u.ip, a));
	case MCP_MC_CTR_PROTO:
		return mcp_mc_key_fmt(&m->keys, buf, sz, "proto.%s", id->u.app);
	default:
		return mcp_mc_key_agg(&m->keys, buf, sz, id->epoch, id->u.imsi);
	}
}

/* HINCRBY of one key's fields. */
static int mc_ctr_key_cmds(struct mcp_mc_batch *b, const struct mc_ckey *k, const char *key,
			   size_t klen)
{
	static const char *const what[4] = { ".pkts", ".bytes", ".flows", ".duration_ms" };
	char f[MCP_APP_NAME_LEN + 16];
	const struct mc_capp *a;
	int err = 0, j;

	if (k->id.kind == MCP_MC_CTR_HOST) {
		for (j = 0; j < HF__MAX; j++)
			if (j != HF_DNS || k->v[j])
				err |= mc_hincr(b, key, klen, host_fields[j],
						strlen(host_fields[j]), k->v[j]);
	} else if (k->id.kind == MCP_MC_CTR_PROTO) {
		for (j = 0; j < PF__MAX; j++)
			err |= mc_hincr(b, key, klen, proto_fields[j], strlen(proto_fields[j]),
					k->v[j]);
	}
	for (a = k->apps; a; a = a->next) {
		const int64_t v[4] = { a->pkts, a->bytes, a->flows, a->dur_ms };
		size_t alen = strlen(a->app);

		memcpy(f, a->app, alen);
		for (j = 0; j < 4; j++) {
			size_t wl = strlen(what[j]);

			memcpy(f + alen, what[j], wl + 1);
			err |= mc_hincr(b, key, klen, f, alen + wl, v[j]);
		}
	}
	return err;
}

int mcp_mc_ctr_cmds(struct mcp_mc *m, struct mcp_mc_batch *b, struct mcp_mc_ctr_table *t,
		    const struct mcp_mc_flusher *flush)
{
	uint64_t now = mcp_mc_mono_ms(), host_refresh, agg_refresh;
	char ttl[16], agg_ttl[16], per[16], key[MCP_MC_KEY_LEN];
	size_t i;
	int err = 0, klen;

	snprintf(per, sizeof(per), "%u", m->cfg.agg_period_s);
	snprintf(ttl, sizeof(ttl), "%u", m->cfg.counter_ttl_s);
	snprintf(agg_ttl, sizeof(agg_ttl), "%u", m->cfg.agg_retention_s);
	if (t->dropped) {
		pthread_mutex_lock(&m->lock);
		m->st.counter_keys_dropped += t->dropped;
		pthread_mutex_unlock(&m->lock);
		t->dropped = 0;
	}
	host_refresh = mcp_mc_ttl_refresh_ms(m->cfg.counter_ttl_s);
	agg_refresh = mcp_mc_ttl_refresh_ms(m->cfg.agg_retention_s);
	for (i = 0; i < t->nb && !err; i++) {
		struct mc_ckey *k;

		for (k = t->b[i]; k && !err; k = k->next) {
			int is_agg = k->id.kind == MCP_MC_CTR_AGG;

			klen = mc_cid_name(m, &k->id, key, sizeof(key));
			if (klen < 0) {
				m->st.counter_keys_dropped++;
				continue;
			}
			err |= mc_ctr_key_cmds(b, k, key, (size_t)klen);
			if (mcp_mc_ttl_due(m->ttl_memo, &k->id, k->hash, now,
					   is_agg ? agg_refresh : host_refresh)) {
				if (is_agg)
					err |= mcp_mc_batch_addf(b, key, "HSET %s period %s", key,
								 per);
				err |= mcp_mc_batch_addf(b, key, "EXPIRE %s %s", key,
							 is_agg ? agg_ttl : ttl);
			}
			if (!err && b->n >= flush->at_cmds)
				err = flush->fn(flush->ctx, b);
		}
	}
	return err < 0 ? err : err ? -ENOMEM : 0;
}
