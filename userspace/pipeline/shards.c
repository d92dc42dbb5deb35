/* shards.c - the dispatcher and the merger of the pipeline shards (shards.h). */
#include "pipeline/shards.h"

#include <inttypes.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>

#include "flow/attribution.h"
#include "flow/record_pack.h"
#include "pipeline/flow_pins.h"
#include "pipeline/shard.h"
#include "pipeline/tunnel_attrs.h"
#include "util/log.h"
#include "util/strcopy.h"

/* Inner-packet bytes a message carries inline when it must copy (a larger packet, e.g. a
 * reassembled datagram, is copied to the heap). */
#define SHARD_SLOT_DATA 2048

struct mcp_shards {
	uint32_t n;
	struct mcp_shard *shard[MCP_SHARDS_MAX];
	uint64_t dispatched[MCP_SHARDS_MAX]; /* user packets sent to each shard */
	struct mcp_exporter sinks[MCP_MAX_EXPORTERS];
	int nsinks;
	struct mcp_sessions *sessions;
	struct mcp_radius_users *radius;
	struct mcp_flow_pins *pins;
	struct mcp_tunnel_attrs *tunnel_attrs; /* NULL without a session table */
	const uint64_t *session_gen;
	int owner_by_sub_id;
	int first_inline;        /* shard 0 runs in the reader's thread (shards.h) */
	uint32_t inline_share;   /* ... and gets this part of SHARE_SCALE */
	uint8_t part_owner[1024]; /* first_inline: the shard owning each part (SHARE_SCALE) */
	uint32_t threads;        /* the threads running the other shards */
	uint64_t resolved;       /* session table lookups (once per flow, direction, change) */
	uint64_t tunnel_hits;    /* ... answered by the tunnel cache instead */
	uint64_t epoch;          /* the open epoch */
	uint32_t in_epoch;       /* packets dispatched in it */
	uint64_t epoch_end[4];   /* last_seq at the close of epoch e, at [e % 4] */
	uint64_t retired;        /* frames up to this seq are read by no shard any more */
	uint64_t clock_ms;       /* the latest packet time dispatched */
	uint64_t epoch_start_ms; /* clock_ms when the open epoch began */
	uint64_t merged;         /* epochs merged so far */
	uint64_t last_seq;       /* frame_seq of the last packet dispatched */
	uint64_t copied, referenced, copy_failures, waits;
	uint64_t bound_records;  /* records without an IMSI that the merger resolved */
	uint64_t bound_flows;    /* ... that were their flow's last */
	uint64_t bound_gtpu;     /* GTP-U packets in those records */
	uint64_t moved_flows;    /* flows moved from a provisional owner to the new one */
	const struct mcp_bypass_ops *credit; /* live, bypass on: shard 0's ops, for the merger's
					      * kernel subscriber credit (atomic adds, any thread) */
	uint64_t credited;       /* packets the merger credited to kernel subscriber counters */
	int finished;
	int ready;               /* every shard's worker is made (shards_ready) */
	struct mcp_worker_stats ws;
	struct mcp_dpi_stats ds;
	struct mcp_flow_record rec[2]; /* the record being merged and the next, unpacked */
};

/* The hash space is SHARE_SCALE parts; the inline shard takes an eighth of a fair share,
 * about what is left of the reader's thread once it has read, decoded, dispatched and
 * merged: with a quarter, 2 workers on 2 cores left the reader 54% of the run's samples and
 * the shard thread 46%; an eighth balances them (13 same-round pairs: 1.57x one worker at
 * best against 1.52x). */
#define SHARE_SCALE 1024u
/* Tunnel keys the dispatcher's cache holds (tunnel_attrs.h), 4 MiB: a busy site's active
 * tunnels; others share slots and are looked up in the table again. */
#define TUNNEL_ATTR_SLOTS 65536u

/* Waits with growing patience for a full ring: yield, then sleep. */
static void backoff(unsigned *spins)
{
	struct timespec ts = { 0, 20000 };

	if (++*spins < 64)
		sched_yield();
	else
		nanosleep(&ts, NULL);
}

/* The hash space's parts: the inline shard's first, the rest split evenly over the threads
 * and each thread's part evenly over its shards (shard i runs on thread (i - 1) % threads,
 * start_runners), so that threads carry equal loads when their shard counts differ. */
static void deal_parts(struct mcp_shards *sh)
{
	uint32_t rest = SHARE_SCALE - sh->inline_share, part = 0;

	_Static_assert(sizeof(sh->part_owner) == SHARE_SCALE, "a part's owner each");
	_Static_assert(MCP_SHARDS_MAX <= 256, "owners fit in a byte");
	while (part < sh->inline_share)
		sh->part_owner[part++] = 0;
	for (uint32_t t = 0; t < sh->threads; t++) {
		uint32_t mine = rest / sh->threads + (t < rest % sh->threads), shards = 0;

		for (uint32_t i = 1 + t; i < sh->n; i += sh->threads)
			shards++;
		for (uint32_t j = 0; j < mine; j++, part++)
			sh->part_owner[part] = (uint8_t)(1 + t + sh->threads * (j * shards / mine));
	}
}

/* CPUs this process may run on (its affinity mask), at least 1. */
static uint32_t cpus_usable(void)
{
	cpu_set_t set;
	long n;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return (uint32_t)CPU_COUNT(&set);
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (uint32_t)n : 1;
}

/* Threads for the shards that are not inline: one each, but never more busy threads than
 * CPUs (the caller's thread takes one). More would only take turns on the same cores, each
 * switch costing the cache the other had warmed: 8 shards on 2 CPUs took 1.17x one worker's
 * CPU seconds for the bench capture with a thread each, 1.11x on one thread (5 rounds). */
static uint32_t shard_threads(const struct mcp_shards_cfg *cfg, uint32_t threaded)
{
	uint32_t t = cfg->threads;

	if (!t) {
		uint32_t cpus = cpus_usable();

		t = cpus > 1 ? cpus - 1 : 1;
	}
	return t < threaded ? t : threaded;
}

/* Deals the threaded shards out to sh->threads runners, as evenly as they go. Each shard
 * ends up with a runner or FAILED (mcp_shard_wait_ready), also when one fails to start. */
static int start_runners(struct mcp_shards *sh)
{
	uint32_t first = sh->first_inline ? 1 : 0;
	int rc = 0;

	for (uint32_t t = 0; t < sh->threads; t++) {
		struct mcp_shard *mine[MCP_SHARDS_MAX];
		uint32_t k = 0;

		for (uint32_t i = first + t; i < sh->n; i += sh->threads)
			mine[k++] = sh->shard[i];
		if (!mcp_shard_runner_start(mine, k))
			rc = -1;
	}
	return rc;
}

/* The shards make their workers (nDPI's init, tens of ms each) side by side with the
 * reader's first frames, and are waited for at the first message the reader sends. A shard
 * whose worker could not be made (out of memory, logged) stops the probe there: exit 1,
 * before any user packet was counted. */
static void shards_ready(struct mcp_shards *sh)
{
	int failed = 0;

	if (sh->ready)
		return;
	for (uint32_t i = 0; i < sh->n; i++)
		failed |= sh->shard[i] && mcp_shard_wait_ready(sh->shard[i]) < 0;
	if (failed) {
		mcp_err("shards: a shard has no worker: cannot go on\n");
		exit(1);
	}
	sh->ready = 1;
}

static struct mcp_shard_msg *reserve_wait(struct mcp_shards *sh, struct mcp_shard *s)
{
	struct mcp_shard_msg *m;

	shards_ready(sh);
	m = mcp_shard_reserve(s);
	if (m)
		return m;
	sh->waits++;
	while (!(m = mcp_shard_reserve(s)))
		mcp_shard_wait_space(s);
	return m;
}

struct mcp_shards *mcp_shards_create(const struct mcp_shards_cfg *cfg)
{
	struct mcp_shards *sh = calloc(1, sizeof(*sh));
	struct mcp_worker_cfg wcfg = cfg->worker;

	if (!sh)
		return NULL;
	sh->n = cfg->n < 2 ? 2 : cfg->n > MCP_SHARDS_MAX ? MCP_SHARDS_MAX : cfg->n;
	sh->sessions = cfg->sessions;
	sh->radius = cfg->radius;
	sh->session_gen = cfg->session_gen;
	sh->owner_by_sub_id = cfg->owner_by_sub_id;
	sh->first_inline = cfg->first_inline;
	sh->threads = shard_threads(cfg, sh->n - (cfg->first_inline != 0));
	if (cfg->first_inline) { /* of a thread's fair share, whatever the shards per thread */
		sh->inline_share = SHARE_SCALE / (8 * (sh->threads + 1));
		deal_parts(sh);
	}
	sh->nsinks = cfg->worker.nexporters;
	memcpy(sh->sinks, cfg->worker.exporters, sizeof(sh->sinks));
	/* shards never read the reader's tables: attribution comes with each packet */
	wcfg.sessions = NULL;
	wcfg.user_by_ip = NULL;
	wcfg.max_flows = wcfg.max_flows / sh->n ? wcfg.max_flows / sh->n : 1;
	sh->pins = mcp_flow_pins_create(cfg->worker.max_flows ? cfg->worker.max_flows : 1);
	if (sh->sessions)
		sh->tunnel_attrs = mcp_tunnel_attrs_create(TUNNEL_ATTR_SLOTS);
	if (!sh->pins || (sh->sessions && !sh->tunnel_attrs)) {
		mcp_err("shards: out of memory\n");
		goto err;
	}
	for (uint32_t i = 0; i < sh->n; i++)
		if (!(sh->shard[i] = mcp_shard_create((int)i, &wcfg, SHARD_SLOT_DATA,
						      i == 0 && cfg->first_inline)))
			goto err_unstarted;
	if (start_runners(sh) < 0)
		goto err;
	return sh; /* their workers are waited for at the first message (shards_ready) */
err_unstarted:
	for (uint32_t i = 0; i < sh->n; i++)
		mcp_shard_destroy(sh->shard[i]); /* no runner yet: nothing to finish */
	mcp_tunnel_attrs_destroy(sh->tunnel_attrs);
	mcp_flow_pins_destroy(sh->pins);
	free(sh);
	return NULL;
err:
	/* no thread left creating its worker, and none that failed left to be finished */
	for (uint32_t i = 0; i < sh->n; i++)
		if (sh->shard[i] && mcp_shard_wait_ready(sh->shard[i]) < 0) {
			mcp_shard_destroy(sh->shard[i]);
			sh->shard[i] = NULL;
		}
	mcp_shards_finish(sh);
	mcp_shards_destroy(sh);
	return NULL;
}

/* The facts of a merged record's subscriber, from the table as it stands now. */
static void fill_subscriber(struct mcp_shards *sh, struct mcp_flow_record *r)
{
	/* by id first, as one worker does: one entry read instead of the IMSI index's probe */
	const struct mcp_subscriber *sub = mcp_sessions_by_id(sh->sessions, r->sub_id);

	if (!sub || strcmp(sub->imsi, r->imsi))
		sub = mcp_sessions_by_imsi(sh->sessions, r->imsi);
	if (!sub)
		return; /* removed since: the IMSI alone still names it */
	mcp_strcopy(r->supi, sizeof(r->supi), sub->supi);
	mcp_strcopy(r->msisdn, sizeof(r->msisdn), sub->msisdn);
	mcp_strcopy(r->imei, sizeof(r->imei), sub->imei);
	mcp_strcopy(r->apn, sizeof(r->apn), sub->apn);
	r->rat = sub->rat;
	r->gtp_version = sub->gtp_version;
	r->ue_ip = r->src_ip;
	r->has_ue_ip = 1;
}

/* The flow key a record was kept under (flow_get in worker.c). */
static void record_key(const struct mcp_flow_record *r, struct mcp_flow_key *k)
{
	mcp_flow_key_make(k, &r->src_ip, &r->dst_ip, r->src_port, r->dst_port, r->proto,
			  r->tunneled ? 0 : r->vlan);
}

/* Late binding across shards: a shard never reads the session table, so a flow that began
 * before its session and met no packet the dispatcher could attribute leaves its shard
 * without an IMSI; the merger, which owns the table, resolves its record from the TEIDs,
 * outer endpoints and inner addresses it carries before any sink sees it. */
/* What the record's flow counted and XDP credited to no subscriber goes to the kernel's
 * counters of the subscriber the merger found (docs/xdp.md, "Subscriber counters"). */
static void credit_kernel(struct mcp_shards *sh, struct mcp_flow_record *r)
{
	const struct mcp_subscriber *sub;

	if (!sh->credit || !sh->credit->credit || !(r->uncredited_pkts[0] | r->uncredited_pkts[1]))
		return;
	sub = mcp_sessions_by_imsi(sh->sessions, r->imsi);
	if (!sub)
		return;
	sh->credit->credit(sh->credit->ctx, sub->id, r->uncredited_pkts, r->uncredited_bytes);
	sh->credited += r->uncredited_pkts[0] + r->uncredited_pkts[1];
	r->uncredited_pkts[0] = r->uncredited_pkts[1] = 0;
	r->uncredited_bytes[0] = r->uncredited_bytes[1] = 0;
}

static void late_bind(struct mcp_shards *sh, struct mcp_flow_record *r)
{
	const struct mcp_subscriber *sub;
	enum mcp_attr_result how;
	uint32_t was = MCP_FLOW_NONE;

	if (!sh->sessions || (r->imsi[0] && !r->attr_tentative))
		return;
	if (r->imsi[0] && (sub = mcp_sessions_by_imsi(sh->sessions, r->imsi)))
		was = sub->id;
	how = mcp_attr_resolve_record(sh->sessions, r);
	if (how == MCP_ATTR_NONE)
		return;
	sh->bound_records++;
	if (how == MCP_ATTR_MOVED) {
		sh->moved_flows += r->end_reason != MCP_END_ACTIVE;
		if ((sub = mcp_sessions_by_imsi(sh->sessions, r->imsi)))
			mcp_record_credit_move(sh->credit, r, was, sub->id);
		return;
	}
	if (r->end_reason != MCP_END_ACTIVE)
		sh->bound_flows++;
	if (r->tunneled)
		sh->bound_gtpu += r->pkts_up + r->pkts_down;
	credit_kernel(sh, r);
}

/* Each record is unpacked a record ahead, and its subscriber's entry fetched meanwhile: the
 * entry is cold, and a miss per record was a third of the merge. */
static void emit_batch(struct mcp_shards *sh, struct mcp_shard_batch *b)
{
	struct mcp_flow_record *r = &sh->rec[0], *next = &sh->rec[1], *t;
	struct mcp_flow_key k;
	size_t at = 0;

	if (b->n)
		at += mcp_record_unpack(b->packed, r);
	for (uint32_t i = 0; i < b->n; i++, t = r, r = next, next = t) {
		if (i + 1 < b->n) {
			at += mcp_record_unpack(b->packed + at, next);
			if (next->imsi[0] && sh->sessions)
				mcp_sessions_prefetch_id(sh->sessions, next->sub_id);
		}
		late_bind(sh, r);
		if (r->imsi[0] && sh->sessions)
			fill_subscriber(sh, r);
		if (r->end_reason != MCP_END_ACTIVE) {
			record_key(r, &k);
			mcp_flow_pins_remove(sh->pins, &k, mcp_flow_key_symhash(&k), b->seqs[i]);
		}
		for (int e = 0; e < sh->nsinks; e++)
			sh->sinks[e].flow(sh->sinks[e].ctx, r);
	}
}

/* Takes shard i's next batch (waiting for it, and for the chunks that continue it), emits
 * it; returns its last flag. */
static int merge_next(struct mcp_shards *sh, uint32_t i)
{
	struct mcp_shard_batch *b;
	int last, more;

	do {
		unsigned spins = 0;

		while (!(b = mcp_shard_batch_peek(sh->shard[i])))
			backoff(&spins);
		emit_batch(sh, b);
		last = b->last;
		more = b->more;
		mcp_shard_batch_release(sh->shard[i]);
	} while (more);
	return last;
}

/* Closes the open epoch; merges the one before it, shard by shard (the fixed point in the
 * packet sequence at which it happens makes the output deterministic). */
static void close_epoch(struct mcp_shards *sh)
{
	for (uint32_t i = 0; i < sh->n; i++) {
		struct mcp_shard_msg *m = reserve_wait(sh, sh->shard[i]);

		m->type = MCP_SHARD_EPOCH;
		m->epoch = sh->epoch;
		m->now_ms = sh->clock_ms;
		mcp_shard_publish(sh->shard[i]);
		mcp_shard_flush(sh->shard[i]);
	}
	sh->epoch_end[sh->epoch % 4] = sh->last_seq;
	sh->epoch++;
	sh->in_epoch = 0;
	sh->epoch_start_ms = sh->clock_ms;
	if (sh->epoch < 2)
		return;
	for (uint32_t i = 0; i < sh->n; i++)
		merge_next(sh, i);
	/* every shard handed over this epoch's batch: it has read all of its packets */
	sh->retired = sh->epoch_end[sh->merged % 4];
	sh->merged++;
}

void mcp_shards_retire(struct mcp_shards *sh, uint64_t seq)
{
	/* frames after the last packet dispatched (GTP-C, non-IP, ...) went to no shard: without
	 * this bound a buffer of them would be waited for forever */
	if (seq > sh->last_seq)
		seq = sh->last_seq;
	/* epochs closed early: at most three closes reach a merge past seq */
	while (sh->retired < seq && !sh->finished)
		close_epoch(sh);
}

/* Fills m's inner-packet copy; the shard points pkt at it (shard.c). */
static void copy_inner(struct mcp_shards *sh, struct mcp_shard_msg *m, const struct mcp_pkt *pkt)
{
	uint32_t n = pkt->l3 ? pkt->l3_caplen : 0;
	uint8_t *dst = m->data;

	if (pkt->payload && (pkt->payload < pkt->l3 || pkt->payload > pkt->l3 + n))
		m->pkt.payload = NULL; /* not inside the copy (shards do not read it) */
	if (n > SHARD_SLOT_DATA) {
		dst = m->heap = malloc(n);
		if (!dst) {
			sh->copy_failures++; /* counted in flows, not seen by nDPI */
			n = 0;
			dst = m->data;
		}
	}
	memcpy(dst, pkt->l3, n);
	m->pkt.l3_caplen = n;
	m->copied = 1;
	sh->copied++;
}

/* RADIUS: the user owning either address of an untunneled packet (worker.c's rule). */
static void resolve_user(struct mcp_shards *sh, const struct mcp_pkt *pkt,
			 struct mcp_shard_msg *m)
{
	m->attr.user_side = 0;
	if (!sh->radius || pkt->tunnel != MCP_TUN_NONE)
		return;
	if (mcp_radius_user_by_ip(sh->radius, &pkt->src, m->user, sizeof(m->user)) == 1)
		m->attr.user_side = 1;
	else if (mcp_radius_user_by_ip(sh->radius, &pkt->dst, m->user, sizeof(m->user)) == 1)
		m->attr.user_side = 2;
}

/* The packet's attribution looked up: from the tunnel cache while the table's tunnel epoch
 * stands, else in the table (kept in the cache when the tunnel key answered). */
static void resolve(struct mcp_shards *sh, const struct mcp_pkt *pkt, struct mcp_attrib *a)
{
	uint64_t epoch;

	if (!sh->tunnel_attrs || pkt->tunnel != MCP_TUN_GTPU) {
		mcp_attrib_resolve(sh->sessions, pkt, a);
		sh->resolved++;
		return;
	}
	epoch = mcp_sessions_tunnel_epoch(sh->sessions);
	if (mcp_tunnel_attrs_get(sh->tunnel_attrs, pkt->teid, &pkt->outer_dst, epoch, a)) {
		sh->tunnel_hits++;
		return;
	}
	if (mcp_attrib_resolve_by_tunnel(sh->sessions, pkt, a))
		mcp_tunnel_attrs_put(sh->tunnel_attrs, pkt->teid, &pkt->outer_dst, epoch, a);
	sh->resolved++;
}

/* The packet's attribution, from its pin's cache while the session table is unchanged. */
static void attribution(struct mcp_shards *sh, struct mcp_flow_pin *pin, int side,
			const struct mcp_pkt *pkt, struct mcp_attrib *a)
{
	uint32_t gen = sh->session_gen ? (uint32_t)*sh->session_gen + 1 : 0;
	struct mcp_pin_attr *c = pin ? &pin->attr[side] : NULL;

	if (c && gen && pin->attr_gen[side] == gen) {
		mcp_pin_attr_load(c, a);
		return;
	}
	resolve(sh, pkt, a);
	if (c) {
		mcp_pin_attr_keep(c, a);
		pin->attr_gen[side] = gen;
	}
}

/* A subscriber's flows meet in its owner; other traffic goes by its symmetric hash. */
static uint32_t owner_shard(const struct mcp_shards *sh, const struct mcp_attrib *a,
			    uint32_t hash)
{
	uint64_t h;

	if (a->has_sub && sh->owner_by_sub_id)
		return a->sub_id % sh->n;
	h = a->has_sub ? XXH3_64bits(a->imsi, strlen(a->imsi)) : hash;
	if (!sh->first_inline)
		return (uint32_t)(h % sh->n);
	/* the inline shard takes its share of the hash space, the threads the rest evenly */
	return sh->part_owner[h % SHARE_SCALE];
}

/* A flow stays where it began: the pin (if any) keeps idx, the shard chosen for its first
 * packet, and the frame that last read it. */
static uint32_t pin_to(struct mcp_flow_pin *pin, uint32_t idx, uint64_t frame_seq)
{
	if (pin) {
		pin->shard = (uint16_t)idx;
		pin->last_seq = frame_seq;
	}
	return idx;
}

/* A packet message for shard idx, reserved and filled but for its inner packet's bytes. */
static struct mcp_shard_msg *packet_msg(struct mcp_shards *sh, uint32_t idx,
					const struct mcp_pkt *pkt, const struct mcp_attrib *a,
					uint32_t flow_hash, uint64_t frame_seq)
{
	struct mcp_shard_msg *m = reserve_wait(sh, sh->shard[idx]);

	m->type = MCP_SHARD_PKT;
	m->flow_hash = flow_hash; /* the shard's prefetch, and its worker's lookup */
	m->seq = frame_seq;
	m->now_ms = sh->clock_ms;
	m->pkt = *pkt;
	m->attr = *a;
	m->heap = NULL;
	m->copied = 0;
	return m;
}

void mcp_shards_key_of(const struct mcp_pkt *pkt, struct mcp_shards_key *k)
{
	k->side = mcp_worker_flow_key(pkt, &k->key);
	k->pin_hash = mcp_flow_key_symhash(&k->key);
	k->flow_hash = mcp_flow_key_hash(&k->key);
}

void mcp_shards_prefetch(const struct mcp_shards *sh, uint32_t pin_hash, int stage)
{
	mcp_flow_pins_prefetch(sh->pins, pin_hash, stage);
}

void mcp_shards_packet(struct mcp_shards *sh, const struct mcp_pkt *pkt, int frame_stable,
		       uint64_t frame_seq, const struct mcp_shards_key *k)
{
	struct mcp_attrib a;
	struct mcp_shards_key own;
	struct mcp_flow_pin *pin;
	struct mcp_shard_msg *m;
	uint32_t idx;
	int added;

	if (!k) {
		mcp_shards_key_of(pkt, &own);
		k = &own;
	}

	/* the clock goes with the packet: a shard expires as one worker would have by then */
	if (pkt->ts_us / 1000 > sh->clock_ms) {
		sh->clock_ms = pkt->ts_us / 1000;
		if (!sh->epoch_start_ms)
			sh->epoch_start_ms = sh->clock_ms;
	}
	pin = mcp_flow_pins_get(sh->pins, &k->key, k->pin_hash, &added);
	attribution(sh, pin, k->side, pkt, &a);
	idx = pin_to(pin, pin && !added ? pin->shard : owner_shard(sh, &a, k->pin_hash),
		     frame_seq);
	m = packet_msg(sh, idx, pkt, &a, k->flow_hash, frame_seq);
	resolve_user(sh, pkt, m);
	if (!frame_stable || (pkt->flags & MCP_PKTF_REASSEMBLED))
		copy_inner(sh, m, pkt);
	else
		sh->referenced++;
	mcp_shard_publish(sh->shard[idx]);
	sh->dispatched[idx]++;
	sh->last_seq = frame_seq;
	if (++sh->in_epoch == MCP_SHARDS_EPOCH ||
	    sh->clock_ms >= sh->epoch_start_ms + MCP_SHARDS_EPOCH_MS)
		close_epoch(sh);
}

/* Adds every uint64_t counter of src into dst (both structs are only such counters). */
static void add_counters(uint64_t *dst, const uint64_t *src, size_t bytes)
{
	for (size_t i = 0; i < bytes / sizeof(uint64_t); i++)
		dst[i] += src[i];
}

_Static_assert(sizeof(struct mcp_worker_stats) % sizeof(uint64_t) == 0, "counters only");
_Static_assert(sizeof(struct mcp_dpi_stats) % sizeof(uint64_t) == 0, "counters only");

void mcp_shards_finish(struct mcp_shards *sh)
{
	int done[MCP_SHARDS_MAX] = { 0 }, left = 0;

	if (!sh || sh->finished)
		return;
	sh->finished = 1;
	for (uint32_t i = 0; i < sh->n; i++) {
		struct mcp_shard_msg *m;

		if (!sh->shard[i])
			continue;
		m = reserve_wait(sh, sh->shard[i]);
		m->type = MCP_SHARD_FINISH;
		m->seq = sh->last_seq + 1;
		m->now_ms = sh->clock_ms; /* offline; live leaves it 0 */
		mcp_shard_publish(sh->shard[i]);
		mcp_shard_flush(sh->shard[i]);
		left++;
	}
	/* every shard has the same epochs left, then its last batch: merge them in order */
	while (left) {
		for (uint32_t i = 0; i < sh->n; i++) {
			if (!sh->shard[i] || done[i])
				continue;
			if (merge_next(sh, i)) {
				done[i] = 1;
				left--;
			}
		}
	}
	for (uint32_t i = 0; i < sh->n; i++) {
		const struct mcp_worker_stats *ws;
		const struct mcp_dpi_stats *ds;

		if (!sh->shard[i])
			continue;
		mcp_shard_join(sh->shard[i]);
		mcp_shard_stats(sh->shard[i], &ws, &ds);
		add_counters((uint64_t *)&sh->ws, (const uint64_t *)ws, sizeof(sh->ws));
		if (ds)
			add_counters((uint64_t *)&sh->ds, (const uint64_t *)ds, sizeof(sh->ds));
	}
	/* the merger's late bindings, counted as one worker counts its own */
	sh->ws.flows_with_subscriber += sh->bound_flows;
	sh->ws.flows_attributed_late += sh->bound_flows;
	sh->ws.gtpu_unattributed_exported -= sh->bound_gtpu;
	sh->ws.flows_moved_owner += sh->moved_flows;
	sh->ws.kernel_credited_packets += sh->credited;
}

void mcp_shards_destroy(struct mcp_shards *sh)
{
	if (!sh)
		return;
	mcp_shards_finish(sh);
	for (uint32_t i = 0; i < sh->n; i++)
		mcp_shard_destroy(sh->shard[i]);
	mcp_flow_pins_destroy(sh->pins);
	mcp_tunnel_attrs_destroy(sh->tunnel_attrs);
	free(sh);
}

void mcp_shards_publish_pending(struct mcp_shards *sh)
{
	for (uint32_t i = 0; i < sh->n; i++)
		mcp_shard_flush(sh->shard[i]);
}

void mcp_shards_set_view(struct mcp_shards *sh, struct mcp_view_slot *slots)
{
	for (uint32_t i = 0; i < sh->n; i++)
		mcp_shard_set_view(sh->shard[i], &slots[i]);
}

uint32_t mcp_shards_flow_count(const struct mcp_shards *sh)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < sh->n; i++)
		n += sh->shard[i] ? mcp_shard_flow_count(sh->shard[i]) : 0;
	return n;
}

void mcp_shards_stats(const struct mcp_shards *sh, struct mcp_worker_stats *ws,
		      struct mcp_dpi_stats *ds)
{
	*ws = sh->ws;
	*ds = sh->ds;
}

/* The part of the hash space shard i owns. */
static double intended_share(const struct mcp_shards *sh, uint32_t i)
{
	uint32_t parts = 0;

	if (!sh->first_inline)
		return 1.0 / sh->n;
	for (uint32_t p = 0; p < SHARE_SCALE; p++)
		parts += sh->part_owner[p] == i;
	return (double)parts / SHARE_SCALE;
}

void mcp_shards_print_stats(const struct mcp_shards *sh, FILE *f)
{
	uint64_t total = 0;
	double largest = 0;

	for (uint32_t i = 0; i < sh->n; i++)
		total += sh->dispatched[i];
	for (uint32_t i = 0; i < sh->n && total; i++) {
		double r = (double)sh->dispatched[i] / (double)total / intended_share(sh, i);

		largest = r > largest ? r : largest;
	}
	fprintf(f, "  shards                       %u%s, the %s on %u thread%s (largest %.3f of "
		   "its share)\n", sh->n, sh->first_inline ? ", shard 0 in the reader's thread" : "",
		sh->first_inline ? "others" : "shards", sh->threads, sh->threads == 1 ? "" : "s",
		largest);
	for (uint32_t i = 0; i < sh->n; i++)
		fprintf(f, "    shard %-2u user packets      %" PRIu64 " (share %.4f)\n", i,
			sh->dispatched[i], intended_share(sh, i));
	fprintf(f, "    packets read in place        %" PRIu64 " (copied %" PRIu64 ", lost to OOM %"
		   PRIu64 ")\n", sh->referenced, sh->copied, sh->copy_failures);
	fprintf(f, "    dispatcher waits (full ring) %" PRIu64 "\n", sh->waits);
	fprintf(f, "    session lookups (dispatcher) %" PRIu64 " (tunnel cache hits %" PRIu64 ")\n",
		sh->resolved, sh->tunnel_hits);
	fprintf(f, "    records bound by the merger  %" PRIu64 " (%" PRIu64 " flows)\n",
		sh->bound_records, sh->bound_flows);
	fprintf(f, "    flows pinned at the end      %u\n", mcp_flow_pins_count(sh->pins));
}

/* --- live mode (docs/live.md, "Threads") --- */

void mcp_shards_packet_owned(struct mcp_shards *sh, const struct mcp_pkt *pkt,
			     const struct mcp_attrib *a, uint32_t owner, uint64_t frame_seq)
{
	struct mcp_shards_key k;
	struct mcp_flow_pin *pin;
	struct mcp_shard_msg *m;
	uint32_t idx;
	int added;

	mcp_shards_key_of(pkt, &k); /* tunneled: no VLAN in the key */
	pin = mcp_flow_pins_get(sh->pins, &k.key, k.pin_hash, &added);
	idx = pin_to(pin, pin && !added ? pin->shard : owner % sh->n, frame_seq);
	m = packet_msg(sh, idx, pkt, a, k.flow_hash, frame_seq);
	m->attr.user_side = 0; /* tunneled: no RADIUS user */
	copy_inner(sh, m, pkt);
	mcp_shard_publish(sh->shard[idx]);
	sh->dispatched[idx]++;
	sh->last_seq = frame_seq;
	if (++sh->in_epoch == MCP_SHARDS_EPOCH)
		close_epoch(sh);
}

void mcp_shards_tick(struct mcp_shards *sh, uint64_t now_ms)
{
	if (sh->finished)
		return;
	for (uint32_t i = 0; i < sh->n; i++) {
		struct mcp_shard_msg *m = reserve_wait(sh, sh->shard[i]);

		m->type = MCP_SHARD_TICK;
		m->seq = sh->last_seq + 1;
		m->now_ms = now_ms;
		m->heap = NULL;
		mcp_shard_publish(sh->shard[i]);
	}
	close_epoch(sh); /* flushes every ring */
}

void mcp_shards_set_bypass(struct mcp_shards *sh, const struct mcp_bypass_ops *const *ops)
{
	shards_ready(sh);
	for (uint32_t i = 0; i < sh->n && !sh->finished; i++)
		mcp_shard_set_bypass(sh->shard[i], ops ? ops[i] : NULL, sh->sessions);
	sh->credit = ops ? ops[0] : NULL;
}

void mcp_shards_flush(struct mcp_shards *sh)
{
	for (uint32_t i = 0; i < sh->n && !sh->finished; i++)
		mcp_shard_flush_lazy(sh->shard[i]);
}

uint32_t mcp_shards_count(const struct mcp_shards *sh)
{
	return sh->n;
}
