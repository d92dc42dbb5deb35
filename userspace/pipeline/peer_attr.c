/* peer_attr.c - attribution across probes through the microcloud (peer_attr.h).
 *
 * Packet thread -> reader: a ring of tunnel lookups (teid, endpoint, time asked). Reader ->
 * packet thread: a ring of subscriber facts (with the time their lookup was asked, 0 for an
 * event). The reader owns a SUBSCRIBE connection of its own and reads facts through the
 * microcloud's synchronous channel, so the packet thread never waits for Redis.
 */
#include "pipeline/peer_attr.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <json-c/json.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "util/privs.h"
#include "util/spsc.h"

#define PEER_RING_SLOTS 4096
#define PEER_POLL_MS 20
#define PEER_RECONNECT_MS 1000
#define PEER_LAT_BUCKETS 32 /* log2 of microseconds */

struct peer_req {
	uint32_t teid;
	struct mcp_ip addr;
	uint64_t asked_us;
};

struct peer_res {
	uint64_t asked_us; /* 0: learnt from an event */
	struct mcp_subscriber sub;
};

struct peer_neg {
	uint32_t teid;
	uint8_t used;
	uint8_t tries; /* backoff exponent */
	struct mcp_ip addr;
	uint64_t retry_ms;
};

struct mcp_peer {
	struct mcp_mc *mc;
	struct mcp_mc_cfg cfg;
	char channel[256], probe[256];
	struct mcp_spsc req, res;
	pthread_t thr;
	int started, stop;
	uint64_t sent, done; /* requests: pushed by the packet thread, finished by the reader */
	struct peer_neg *neg;
	uint64_t lat[PEER_LAT_BUCKETS];
	struct mcp_peer_stats st; /* reader's fields written with __atomic */
};

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000;
}

static void count(uint64_t *c)
{
	__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

/* Reader: hands one fact to the packet thread (waits while the ring is full: never loses). */
static void push_fact(struct mcp_peer *p, const struct mcp_subscriber *sub, uint64_t asked_us)
{
	struct mcp_spsc_slot *s;
	struct peer_res *r;

	while (!(s = mcp_spsc_reserve(&p->res))) {
		if (__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE))
			return;
		usleep(1000);
	}
	r = (struct peer_res *)s->data;
	r->asked_us = asked_us;
	r->sub = *sub;
	s->len = sizeof(*r);
	mcp_spsc_publish(&p->res);
	count(&p->st.facts_fetched);
}

static void fetch_fact(struct mcp_peer *p, const char *imsi, uint64_t asked_us)
{
	struct mcp_subscriber sub;
	int rc = mcp_mc_lookup_subscriber(p->mc, imsi, &sub);

	if (rc == 1)
		push_fact(p, &sub, asked_us);
	else if (rc < 0)
		count(&p->st.errors);
}

static void serve_requests(struct mcp_peer *p)
{
	struct mcp_spsc_slot *s;

	while ((s = mcp_spsc_peek(&p->req))) {
		struct peer_req q;
		char imsi[MCP_IMSI_LEN];
		int rc;

		memcpy(&q, s->data, sizeof(q));
		mcp_spsc_release(&p->req);
		count(&p->st.lookups);
		rc = mcp_mc_lookup_tunnel(p->mc, q.teid, &q.addr, imsi, sizeof(imsi));
		if (rc == 1) {
			count(&p->st.lookups_found);
			fetch_fact(p, imsi, q.asked_us);
		} else if (rc < 0) {
			count(&p->st.errors);
		}
		__atomic_add_fetch(&p->done, 1, __ATOMIC_RELEASE);
	}
}

/* One PUBLISHed event: another probe's subscriber changed; fetch its fact. */
static void on_event(struct mcp_peer *p, const char *json, size_t len)
{
	struct json_object *o = json_tokener_parse(json), *v;
	const char *imsi = NULL, *probe = NULL;

	(void)len;
	count(&p->st.events);
	if (!o) {
		count(&p->st.errors);
		return;
	}
	if (json_object_object_get_ex(o, "imsi", &v))
		imsi = json_object_get_string(v);
	if (json_object_object_get_ex(o, "probe", &v))
		probe = json_object_get_string(v);
	if (probe && !strcmp(probe, p->probe))
		count(&p->st.own_events);
	else if (imsi && strlen(imsi) < MCP_IMSI_LEN)
		fetch_fact(p, imsi, 0);
	json_object_put(o);
}

static redisContext *subscribe(struct mcp_peer *p)
{
	struct timeval tv = { .tv_sec = 2 };
	redisContext *c = p->cfg.unix_path ? redisConnectUnixWithTimeout(p->cfg.unix_path, tv) :
		redisConnectWithTimeout(p->cfg.host ? p->cfg.host : "127.0.0.1",
					p->cfg.port ? p->cfg.port : 6379, tv);
	redisReply *r = NULL;

	if (!c || c->err)
		goto err;
	/* the connect timeout covers only the connect: a paused Redis must not hold AUTH or
	 * SUBSCRIBE (and with them mcp_peer_destroy's join) for ever */
	redisSetTimeout(c, tv);
	if (p->cfg.password) {
		r = p->cfg.user ? redisCommand(c, "AUTH %s %s", p->cfg.user, p->cfg.password) :
				  redisCommand(c, "AUTH %s", p->cfg.password);
		if (!r || r->type == REDIS_REPLY_ERROR)
			goto err;
		freeReplyObject(r);
	}
	r = redisCommand(c, "SUBSCRIBE %s", p->channel);
	if (!r || r->type == REDIS_REPLY_ERROR)
		goto err;
	freeReplyObject(r);
	return c;
err:
	if (r)
		freeReplyObject(r);
	if (c)
		redisFree(c);
	count(&p->st.errors);
	return NULL;
}

/* Reads what the channel has (waits at most PEER_POLL_MS). -1 when the link broke. */
static int read_events(struct mcp_peer *p, redisContext *c)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	void *rep;

	if (poll(&pfd, 1, PEER_POLL_MS) <= 0)
		return 0;
	if (redisBufferRead(c) != REDIS_OK)
		return -1;
	while (redisGetReplyFromReader(c, &rep) == REDIS_OK && rep) {
		redisReply *r = rep;

		if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
		    r->element[2]->type == REDIS_REPLY_STRING)
			on_event(p, r->element[2]->str, r->element[2]->len);
		freeReplyObject(r);
	}
	return 0;
}

static void *reader_main(void *arg)
{
	struct mcp_peer *p = arg;
	redisContext *c = NULL;
	uint64_t next_try = 0;

	mcp_privs_drop_thread(); /* reads Redis only: no capability (util/privs.h) */
	while (!__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE)) {
		serve_requests(p);
		if (!c && now_us() >= next_try) {
			c = subscribe(p);
			next_try = now_us() + PEER_RECONNECT_MS * 1000u;
		}
		if (!c) {
			usleep(PEER_POLL_MS * 1000);
			continue;
		}
		if (read_events(p, c) < 0) {
			count(&p->st.errors);
			redisFree(c);
			c = NULL;
		}
	}
	if (c)
		redisFree(c);
	return NULL;
}

struct mcp_peer *mcp_peer_create(const struct mcp_mc_cfg *cfg, struct mcp_mc *mc)
{
	struct mcp_peer *p = calloc(1, sizeof(*p));
	char host[128];

	if (!p)
		return NULL;
	p->mc = mc;
	p->cfg = *cfg;
	if (cfg->probe_name && *cfg->probe_name) {
		snprintf(p->probe, sizeof(p->probe), "%s", cfg->probe_name);
	} else { /* the microcloud's default name (mcp_mc_create) */
		if (gethostname(host, sizeof(host)))
			snprintf(host, sizeof(host), "mcprobe");
		host[sizeof(host) - 1] = 0;
		snprintf(p->probe, sizeof(p->probe), "%s", host);
	}
	snprintf(p->channel, sizeof(p->channel), "%sevents.imsi", cfg->prefix ? cfg->prefix : "");
	p->neg = calloc(MCP_PEER_NEG_SLOTS, sizeof(*p->neg));
	if (!p->neg || mcp_spsc_init(&p->req, PEER_RING_SLOTS, sizeof(struct peer_req)) ||
	    mcp_spsc_init(&p->res, PEER_RING_SLOTS, sizeof(struct peer_res)))
		goto err;
	if (pthread_create(&p->thr, NULL, reader_main, p))
		goto err;
	p->started = 1;
	return p;
err:
	mcp_err("microcloud: cannot start the peer attribution reader\n");
	mcp_peer_destroy(p);
	return NULL;
}

void mcp_peer_destroy(struct mcp_peer *p)
{
	if (!p)
		return;
	if (p->started) {
		__atomic_store_n(&p->stop, 1, __ATOMIC_RELEASE);
		pthread_join(p->thr, NULL);
	}
	mcp_spsc_free(&p->req);
	mcp_spsc_free(&p->res);
	free(p->neg);
	free(p);
}

static struct peer_neg *neg_slot(struct mcp_peer *p, uint32_t teid, const struct mcp_ip *a)
{
	uint32_t h = teid * 2654435761u, w;

	for (int i = 0; i < 16; i += 4) {
		memcpy(&w, a->b + i, 4);
		h = (h ^ w) * 0x9e3779b1u;
	}
	return &p->neg[(h ^ (h >> 16)) & (MCP_PEER_NEG_SLOTS - 1)];
}

/* 0, or -1 when the request ring is full (counted: asked again at the next retry). */
static int ask(struct mcp_peer *p, uint32_t teid, const struct mcp_ip *addr)
{
	struct mcp_spsc_slot *s = mcp_spsc_reserve(&p->req);
	struct peer_req q = { .teid = teid, .addr = *addr, .asked_us = now_us() };

	if (!s) {
		p->st.requests_dropped++;
		return -1;
	}
	memcpy(s->data, &q, sizeof(q));
	s->len = sizeof(q);
	mcp_spsc_publish(&p->req);
	p->sent++;
	return 0;
}

void mcp_peer_want_tunnel(struct mcp_peer *p, uint32_t teid, const struct mcp_ip *endpoint)
{
	struct peer_neg *n = neg_slot(p, teid, endpoint);
	uint64_t now_ms = now_us() / 1000;

	uint64_t wait;

	if (n->used && n->teid == teid && !mcp_ip_cmp(&n->addr, endpoint)) {
		if (now_ms < n->retry_ms)
			return; /* asked recently */
		if (n->tries < 16)
			n->tries++;
	} else { /* a new tunnel takes the slot (the cache is bounded: the old one is forgotten) */
		n->used = 1;
		n->tries = 0;
		n->teid = teid;
		n->addr = *endpoint;
	}
	wait = (uint64_t)MCP_PEER_RETRY_MIN_MS << n->tries;
	n->retry_ms = now_ms + (wait < MCP_PEER_RETRY_MAX_MS ? wait : MCP_PEER_RETRY_MAX_MS);
	ask(p, teid, endpoint);
}

static void note_latency(struct mcp_peer *p, uint64_t asked_us)
{
	uint64_t d = now_us() - asked_us;
	int b = 0;

	while (d > 1 && b < PEER_LAT_BUCKETS - 1) {
		d >>= 1;
		b++;
	}
	p->lat[b]++;
}

int mcp_peer_apply(struct mcp_peer *p, struct mcp_sessions *s)
{
	struct mcp_spsc_slot *slot;
	int n = 0;

	while ((slot = mcp_spsc_peek(&p->res))) {
		const struct peer_res *r = (const struct peer_res *)slot->data;
		const struct mcp_subscriber *have = mcp_sessions_by_imsi(s, r->sub.imsi);

		if (r->asked_us)
			note_latency(p, r->asked_us);
		/* what this probe learnt itself, or more recently, stays */
		if (!have || have->last_change_ms < r->sub.last_change_ms ||
		    (have->last_change_ms == r->sub.last_change_ms && have->state != r->sub.state)) {
			if (mcp_sessions_restore(s, &r->sub) == 0) {
				p->st.facts_restored++;
				n++;
			}
		}
		mcp_spsc_release(&p->res);
	}
	return n;
}

void mcp_peer_settle(struct mcp_peer *p, struct mcp_sessions *s, uint32_t timeout_ms)
{
	uint64_t until = now_us() + (uint64_t)timeout_ms * 1000;

	/* the negative cache is the list of tunnels asked: ask again those still unknown, waiting
	 * for room in the request ring (more tunnels than slots are usual at the end of a file) */
	for (uint32_t i = 0; i < MCP_PEER_NEG_SLOTS; i++) {
		struct peer_neg *n = &p->neg[i];
		uint8_t dir;

		if (!n->used || mcp_sessions_by_tunnel(s, n->teid, &n->addr, &dir))
			continue;
		while (ask(p, n->teid, &n->addr) && now_us() < until) {
			mcp_peer_apply(p, s);
			usleep(200);
		}
	}
	while (__atomic_load_n(&p->done, __ATOMIC_ACQUIRE) < p->sent && now_us() < until) {
		mcp_peer_apply(p, s);
		usleep(1000);
	}
	mcp_peer_apply(p, s);
}

void mcp_peer_get_stats(struct mcp_peer *p, struct mcp_peer_stats *st)
{
	uint64_t total = 0, seen = 0;
	int q = 0;

	*st = p->st;
	for (int b = 0; b < PEER_LAT_BUCKETS; b++)
		total += p->lat[b];
	st->lat_us[0] = st->lat_us[1] = 0;
	for (int b = 0; b < PEER_LAT_BUCKETS && total && q < 2; b++) {
		seen += p->lat[b];
		while (q < 2 && seen * 100 >= total * (q ? 99 : 50))
			st->lat_us[q++] = 1ull << b; /* upper bound of the bucket */
	}
}

void mcp_peer_print_stats(struct mcp_peer *p, FILE *f)
{
	struct mcp_peer_stats s;

	mcp_peer_get_stats(p, &s);
	fprintf(f, "  peer events                  %llu (%llu our own)\n",
		(unsigned long long)s.events, (unsigned long long)s.own_events);
	fprintf(f, "  peer tunnel lookups          %llu (%llu found), facts %llu fetched, %llu "
		   "restored, %llu errors\n", (unsigned long long)s.lookups,
		(unsigned long long)s.lookups_found, (unsigned long long)s.facts_fetched,
		(unsigned long long)s.facts_restored, (unsigned long long)s.errors);
	fprintf(f, "  peer lookup latency p50/p99  <= %llu / %llu us\n",
		(unsigned long long)s.lat_us[0], (unsigned long long)s.lat_us[1]);
}
