/* shard.c - a pipeline shard's thread: ring in, worker, batches of records out (shard.h). */
#include "pipeline/shard.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "flow/record_pack.h"
#include "pipeline/shards.h"
#include "util/hugemem.h"
#include "util/log.h"
#include "util/prefetch.h"
#include "util/spsc.h"

/* Ring sizes: the input ring absorbs the dispatcher's bursts; the batch ring holds more
 * epochs than the dispatcher lets a shard run ahead of the merger (shards.c). */
#define SHARD_RING_SLOTS  1024
#define SHARD_BATCH_SLOTS 1024
/* Messages the dispatcher fills before it makes them visible at once: one cache-line
 * transfer of the ring's head per batch instead of per packet. */
#define SHARD_PUBLISH_EVERY 64
/* A sleeping shard is woken when this much waits for it (or at an epoch's end, the finish or
 * a full ring): one wake-up per burst, not per batch (a futex wake is a system call). */
#define SHARD_WAKE_AT 256
/* Live, after each round of polls (mcp_shard_flush_lazy): a handful of frames per round woke
 * the shard at almost every frame, a futex call on each side (bench_live, 2 workers: 458,000
 * futex calls for 92,600 frames up). Waiting for a few messages or 1 ms bounds that to
 * 1,000 wake-ups a second per shard. */
#define SHARD_WAKE_BATCH 32
/* Records per chunk of a shard's final flush (publish_chunk): about 90 KiB packed. */
#define SHARD_FINAL_CHUNK 256
/* A dispatcher that finds the ring full sleeps until this many slots are free (a quarter of
 * the ring, a few hundred microseconds of the shard's work), not just one: it took each slot
 * as it came free, a sched_yield and a transfer of the ring's tail line per packet, 12% of
 * the 2-worker run's CPU. */
#define SHARD_RESUME_FREE (SHARD_RING_SLOTS / 4)
#define SHARD_WAKE_AFTER_NS 1000000
/* Lines of a slot a message fills (its header, packet summary and attribution; the user
 * name and the inline copy only at times), and how far ahead the dispatcher takes them for
 * writing: the shard read them last, and a store to a line the other core holds waits for
 * it, then holds up the reader's next stores and loads (measured: 2 workers 0.93 -> 0.78 s
 * with the line split below, 0.67 s with this). */
#define MSG_LINES ((sizeof(struct mcp_spsc_slot) + offsetof(struct mcp_shard_msg, user) + 63) / 64)
#define PREFETCH_SLOT_W 8

/* A shard thread creates its worker itself (nDPI's init is tens of ms per shard: the shards
 * make theirs side by side, and each touches its memory first on its own core). */
enum { SHARD_STARTING, SHARD_READY, SHARD_FAILED };

struct mcp_shard {
	struct mcp_spsc in;      /* dispatcher -> shard: struct mcp_shard_msg */
	struct mcp_spsc out;     /* shard -> merger: struct mcp_shard_batch * */
	struct mcp_spsc spare;   /* merger -> shard: emptied batches, their arrays kept (no
				  * page faults of fresh arrays every epoch) */
	/* The dispatcher's own line: the shard thread writes the next one per message, and a
	 * line both write bounces between the cores on every packet. */
	_Alignas(64) uint32_t unpublished; /* filled slots past in.head not yet visible */
	uint32_t slot_data;
	uint8_t *copies;           /* the slots' rooms for copied packets (msg->data) */
	struct mcp_shard_msg *one; /* inline: the message being filled (no thread, no ring) */
	uint64_t wait_since_ns;    /* mcp_shard_flush_lazy: a sleeper was first left waiting */
	/* the shard thread's */
	_Alignas(64) struct mcp_worker *worker;
	struct mcp_shard_batch *cur;
	uint64_t cur_seq;        /* seq of the packet in the worker (records are stamped) */
	uint64_t clock_ms;       /* the reader's packet clock of the last message (offline) */
	struct mcp_shard_runner *runner; /* the thread that runs it (none: inline) */
	int ended;               /* its runner handled its MCP_SHARD_FINISH */
	_Alignas(64) uint32_t flow_count; /* published for progress lines */
	struct mcp_view_slot *view; /* --resp-listen (set once, read atomically) */
	uint32_t acks;           /* MCP_SHARD_BYPASS messages done (mcp_shard_set_bypass) */
	uint64_t last_sync_ms;   /* last bypass credit (ticks) */
	int index;
	int alloc_failed;        /* a batch could not grow: records were lost (logged once) */
	pthread_t thread;        /* inline: the short-lived thread that makes its worker */
	int started;
	struct mcp_worker_cfg cfg; /* for the thread, which creates its own worker */
	uint32_t state;          /* SHARD_STARTING, then _READY or _FAILED (futex word) */
	int finishing;           /* in the final flush: records go out in chunks */
	/* a thread's shard: its worker's counters, kept when it frees the worker at its end */
	struct mcp_worker_stats end_ws;
	struct mcp_dpi_stats end_ds;
	int end_has_dpi;
	/* A dispatcher that found the ring full sleeps until the shard's tail reaches
	 * space_want (mcp_shard_wait_space); the shard reads space_waiting per message, a line
	 * written only around such a wait. */
	_Alignas(64) uint32_t space_waiting;
	uint32_t space_want;
	uint32_t space_seq;      /* futex word: bumped by the shard when it wakes the dispatcher */
};

/* A thread running one or more shards, each a turn of up to RUNNER_TURN messages. An idle
 * runner sleeps on a futex instead of spinning (the host may have fewer cores than threads):
 * it sets sleeping, re-checks its rings, waits on wake_seq; the dispatcher bumps wake_seq and
 * wakes it when it publishes to a shard of a sleeper. */
struct mcp_shard_runner {
	_Alignas(64) uint32_t sleeping;
	uint32_t wake_seq;
	_Alignas(64) struct mcp_shard *shard[MCP_SHARDS_MAX];
	uint32_t n;
	uint32_t refs;           /* its shards not yet destroyed */
	pthread_t thread;
	int started;
};

/* Messages a runner handles from one shard before it looks at the next: long enough that a
 * shard's tables stay in cache, short against the ring (the dispatcher waits on a full one). */
#define RUNNER_TURN 128

static void batch_free(struct mcp_shard_batch *b)
{
	if (b) {
		free(b->packed);
		free(b->seqs);
		free(b);
	}
}

/* The next batch: an emptied one back from the merger, else a new one. */
static struct mcp_shard_batch *batch_next(struct mcp_shard *s, uint64_t epoch)
{
	struct mcp_spsc_slot *slot = mcp_spsc_peek(&s->spare);
	struct mcp_shard_batch *b = NULL;

	if (slot) {
		memcpy(&b, slot->data, sizeof(b));
		mcp_spsc_release(&s->spare);
		b->n = 0;
		b->used = 0;
		b->last = 0;
		b->more = 0;
	} else if (!(b = calloc(1, sizeof(*b)))) {
		return NULL;
	}
	b->epoch = epoch;
	return b;
}

/* Doubles a batch's room: 0, or -1 (the batch unchanged). */
static int grow_seqs(struct mcp_shard_batch *b)
{
	uint32_t cap = b->cap ? b->cap * 2 : 64;
	uint64_t *q = realloc(b->seqs, cap * sizeof(*q));

	if (!q)
		return -1;
	b->seqs = q;
	b->cap = cap;
	return 0;
}

static int grow_packed(struct mcp_shard_batch *b)
{
	size_t bytes = b->packed_cap ? 2 * b->packed_cap : 64 * MCP_RECORD_PACK_MAX;
	uint8_t *p = realloc(b->packed, bytes);

	if (!p)
		return -1;
	b->packed = p;
	b->packed_cap = bytes;
	return 0;
}

static void publish_chunk(struct mcp_shard *s);

/* Exporter of the shard's worker: the record joins the current batch. */
static void shard_export(void *ctx, const struct mcp_flow_record *r)
{
	struct mcp_shard *s = ctx;
	struct mcp_shard_batch *b = s->cur;

	if (!b)
		return;
	if ((b->n == b->cap && grow_seqs(b)) ||
	    (b->packed_cap - b->used < MCP_RECORD_PACK_MAX && grow_packed(b))) {
		if (!s->alloc_failed++)
			mcp_err("shard %d: out of memory: flow records lost\n", s->index);
		return;
	}
	b->seqs[b->n++] = s->cur_seq;
	b->used += mcp_record_pack(r, b->packed + b->used);
	if (s->finishing && b->n >= SHARD_FINAL_CHUNK)
		publish_chunk(s);
}

/* Waits with growing patience: spin, then yield, then sleep (an idle shard costs no core). */
static void backoff(unsigned *spins)
{
	struct timespec ts = { 0, 50000 };

	if (++*spins < 64)
		sched_yield();
	else
		nanosleep(&ts, NULL);
}

/* Bounded: a shard re-checks its ring at least every 10 ms whatever happens. */
static void futex_wait(uint32_t *addr, uint32_t val)
{
	struct timespec ts = { 0, 10000000 };

	syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, &ts, NULL, 0);
}

static void futex_wake(uint32_t *addr)
{
	syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void futex_wake_all(uint32_t *addr)
{
	syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
}

/* The shard's side of mcp_shard_wait_space, after each message: wakes a dispatcher that
 * waits for the tail the shard has reached. A check that misses a dispatcher just starting to
 * wait (the tail's store still buffered) is repeated at the next message, and before the
 * shard sleeps, after a full fence. */
static void space_check(struct mcp_shard *s)
{
	if (!__atomic_load_n(&s->space_waiting, __ATOMIC_RELAXED) ||
	    (int32_t)(s->in.tail - __atomic_load_n(&s->space_want, __ATOMIC_RELAXED)) < 0)
		return;
	__atomic_store_n(&s->space_waiting, 0, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->space_seq, 1, __ATOMIC_RELEASE);
	futex_wake(&s->space_seq);
}

/* The runner's wait for input: a short spin, then sleep until the dispatcher publishes to
 * one of its shards. */
static void wait_input(struct mcp_shard_runner *r, unsigned *spins)
{
	uint32_t seq;
	int ready = 0;

	if (++*spins < 128) {
		__builtin_ia32_pause();
		return;
	}
	seq = __atomic_load_n(&r->wake_seq, __ATOMIC_ACQUIRE);
	__atomic_store_n(&r->sleeping, 1, __ATOMIC_SEQ_CST);
	for (uint32_t i = 0; i < r->n; i++) {
		space_check(r->shard[i]);
		/* published between our check and the flag: go on */
		ready |= !r->shard[i]->ended && mcp_spsc_peek(&r->shard[i]->in) != NULL;
	}
	if (!ready)
		futex_wait(&r->wake_seq, seq);
	__atomic_store_n(&r->sleeping, 0, __ATOMIC_RELAXED);
	*spins = 0;
}

/* Hands the current batch to the merger and starts the next one. */
static void publish_batch(struct mcp_shard *s, uint64_t next_epoch, int last)
{
	unsigned spins = 0;
	void **slot;

	s->cur->last = last;
	while (!(slot = (void **)mcp_spsc_reserve(&s->out)))
		backoff(&spins); /* the dispatcher keeps shards within the ring (shards.c) */
	((struct mcp_spsc_slot *)slot)->len = sizeof(void *);
	memcpy(((struct mcp_spsc_slot *)slot)->data, &s->cur, sizeof(void *));
	mcp_spsc_publish(&s->out);
	s->cur = last ? NULL : batch_next(s, next_epoch);
	__atomic_store_n(&s->flow_count, mcp_worker_flow_count(s->worker), __ATOMIC_RELAXED);
}

/* In the final flush of a thread's shard: hands over the records so far as part of the
 * final batch, so that the merger writes them while the shard packs the rest (the flush of
 * the capture's last 11,000 flows, then their merge, ran one after the other). */
static void publish_chunk(struct mcp_shard *s)
{
	uint64_t epoch = s->cur->epoch;

	s->cur->more = 1;
	publish_batch(s, epoch, 0);
}

/* Points a copied packet's pointers at the slot's copy. */
static void relocate(struct mcp_shard_msg *m)
{
	const uint8_t *base = m->heap ? m->heap : m->data;
	size_t poff = m->pkt.payload ? (size_t)(m->pkt.payload - m->pkt.l3) : 0;

	m->pkt.payload = m->pkt.payload ? base + poff : NULL;
	m->pkt.l3 = base;
	if (m->attr.user_side)
		m->attr.user = m->user;
}

/* Answers a pending snapshot request of the RESP view with the worker's flows. */
static void serve_view(struct mcp_shard *s)
{
	struct mcp_view_slot *vs = __atomic_load_n(&s->view, __ATOMIC_ACQUIRE);
	struct mcp_view_part *part;

	/* an inline shard's worker may still be in the making: the request waits for it */
	if (!vs || !mcp_view_wanted(vs) ||
	    __atomic_load_n(&s->state, __ATOMIC_ACQUIRE) != SHARD_READY ||
	    !(part = mcp_view_part_new()))
		return;
	mcp_view_add_worker(part, s->worker);
	mcp_view_publish(vs, part);
}

/* Live mode's wall clock: what the pipeline's tick does for its one worker (pipeline.c). */
static void shard_tick(struct mcp_shard *s, const struct mcp_shard_msg *m)
{
	s->cur_seq = m->seq;
	if (m->now_ms >= s->last_sync_ms + 1000) {
		/* before expiry: a flow busy in the kernel is not idle */
		s->last_sync_ms = m->now_ms;
		mcp_worker_bypass_sync(s->worker, m->now_ms);
	}
	mcp_worker_expire(s->worker, m->now_ms);
	__atomic_store_n(&s->flow_count, mcp_worker_flow_count(s->worker), __ATOMIC_RELAXED);
}

/* Handles one message in the shard's own thread (or the caller's, inline); 1 after
 * MCP_SHARD_FINISH. */
static int handle(struct mcp_shard *s, struct mcp_shard_msg *m)
{
	if (m->type == MCP_SHARD_PKT) {
		if (m->copied)
			relocate(m);
		else if (m->attr.user_side)
			m->attr.user = m->user;
		s->cur_seq = m->seq;
		if (m->now_ms > s->clock_ms) { /* a packet of another shard moved the clock */
			s->clock_ms = m->now_ms;
			mcp_worker_expire(s->worker, m->now_ms);
		}
		mcp_worker_packet_hashed(s->worker, &m->pkt, &m->attr, m->flow_hash);
		free(m->heap);
	} else if (m->type == MCP_SHARD_EPOCH) {
		/* a shard without packets of late still ends its idle flows in time */
		mcp_worker_expire(s->worker, m->now_ms);
		publish_batch(s, m->epoch + 1, 0);
	} else if (m->type == MCP_SHARD_TICK) {
		shard_tick(s, m);
	} else if (m->type == MCP_SHARD_BYPASS) {
		if (m->ops)
			mcp_worker_set_bypass(s->worker, m->ops);
		else
			mcp_worker_bypass_off_lent(s->worker, m->lent);
		__atomic_add_fetch(&s->acks, 1, __ATOMIC_RELEASE);
	} else {
		/* what one worker ended at the last packets' clock, before the flush */
		s->cur_seq = m->seq;
		if (m->now_ms > s->clock_ms)
			mcp_worker_expire(s->worker, m->now_ms);
		s->cur_seq = UINT64_MAX; /* the flush follows every packet */
		/* an inline shard's chunks would wait for a merger in its own thread */
		s->finishing = !s->one;
		mcp_worker_flush(s->worker);
		publish_batch(s, 0, 1);
		return 1;
	}
	return 0;
}

/* Messages ahead of the one handled that are prefetched: the farthest one itself (written on
 * the other core), the far one's flow index pairs, the near one's flow (its pairs came in at
 * the far stage) and its first packet bytes. A shard would otherwise wait for memory at
 * every packet. */
#define PREFETCH_MSG  16
#define PREFETCH_FAR  8
#define PREFETCH_NEAR 4

static void prefetch_ahead(struct mcp_shard *s)
{
	struct mcp_spsc *r = &s->in;
	uint32_t ready = r->cached_head - r->tail;
	const struct mcp_shard_msg *m;

	if (ready > PREFETCH_MSG) {
		const uint8_t *b = (const uint8_t *)mcp_spsc_slot_at(r, r->tail + PREFETCH_MSG);

		for (size_t l = 0; l < MSG_LINES; l++)
			__builtin_prefetch(b + 64 * l);
	}
	if (ready > PREFETCH_FAR) {
		m = (const struct mcp_shard_msg *)mcp_spsc_slot_at(r, r->tail + PREFETCH_FAR)->data;
		if (m->type == MCP_SHARD_PKT)
			mcp_worker_prefetch(s->worker, m->flow_hash, 0);
	}
	if (ready > PREFETCH_NEAR) {
		m = (const struct mcp_shard_msg *)mcp_spsc_slot_at(r, r->tail + PREFETCH_NEAR)->data;
		if (m->type == MCP_SHARD_PKT) {
			mcp_worker_prefetch(s->worker, m->flow_hash, 1);
			if (m->pkt.l3)
				__builtin_prefetch(m->pkt.l3);
		}
	}
}

/* Creates the shard's worker: 0, or -1 (logged). */
static int create_worker(struct mcp_shard *s)
{
	s->worker = mcp_worker_create(&s->cfg);
	if (!s->worker)
		mcp_err("shard %d: out of memory (flow table of %u flows, nDPI)\n", s->index,
			s->cfg.max_flows);
	return s->worker ? 0 : -1;
}

/* An inline shard's worker is made by a short-lived thread, so that nDPI's init overlaps the
 * reader's first frames (GTP-C needs no shard) instead of holding it up. */
static void *inline_init_main(void *arg)
{
	struct mcp_shard *s = arg;
	int ok = create_worker(s) == 0;

	__atomic_store_n(&s->state, ok ? SHARD_READY : SHARD_FAILED, __ATOMIC_RELEASE);
	futex_wake_all(&s->state);
	return NULL;
}

/* A shard's turn in its runner: up to RUNNER_TURN messages; how many it handled. */
static uint32_t shard_turn(struct mcp_shard *s)
{
	uint32_t k;

	serve_view(s);
	for (k = 0; k < RUNNER_TURN && !s->ended; k++) {
		struct mcp_spsc_slot *slot = mcp_spsc_peek(&s->in);

		if (!slot)
			break;
		prefetch_ahead(s);
		s->ended = handle(s, (struct mcp_shard_msg *)slot->data);
		mcp_spsc_release(&s->in);
		space_check(s);
	}
	if (s->ended) {
		/* freeing the worker (nDPI's state, the flow table) here overlaps the merge of
		 * the last records; the counters stay for mcp_shard_stats */
		s->end_ws = *mcp_worker_stats(s->worker);
		if ((s->end_has_dpi = mcp_worker_dpi(s->worker) != NULL))
			s->end_ds = *mcp_dpi_stats(mcp_worker_dpi(s->worker));
		mcp_worker_destroy(s->worker);
		s->worker = NULL;
	}
	return k;
}

/* Makes the runner's workers, then says so for all of them at once: a runner that could not
 * make one (logged) frees the others and ends, every one of its shards FAILED, so that no
 * shard is ready without a thread to run it. */
static int runner_workers(struct mcp_shard_runner *r)
{
	int failed = 0;
	uint32_t st;

	for (uint32_t i = 0; i < r->n && !failed; i++)
		failed = create_worker(r->shard[i]) < 0;
	for (uint32_t i = 0; i < r->n; i++) {
		struct mcp_shard *s = r->shard[i];

		if (failed) {
			mcp_worker_destroy(s->worker);
			s->worker = NULL;
			s->ended = 1;
		}
		st = failed ? SHARD_FAILED : SHARD_READY;
		__atomic_store_n(&s->state, st, __ATOMIC_RELEASE);
		futex_wake_all(&s->state);
	}
	return failed ? -1 : 0;
}

static void *runner_main(void *arg)
{
	struct mcp_shard_runner *r = arg;
	uint32_t live = r->n;
	unsigned spins = 0;

	if (runner_workers(r) < 0)
		return NULL;
	while (live) {
		uint32_t handled = 0;

		live = 0;
		for (uint32_t i = 0; i < r->n; i++) {
			if (r->shard[i]->ended)
				continue;
			handled += shard_turn(r->shard[i]);
			live += !r->shard[i]->ended;
		}
		if (handled)
			spins = 0;
		else if (live)
			wait_input(r, &spins);
	}
	return NULL;
}

/* The input ring holds message headers only, back to back (576 KiB for 1024), and each slot
 * points at its room in a separate area for copied packets: frames read in place never touch
 * that area, so its pages are never faulted in, and the headers the shard streams through
 * sit four times closer than with the room inline. */
static int in_ring_init(struct mcp_shard *s)
{
	if (mcp_spsc_init(&s->in, SHARD_RING_SLOTS, sizeof(struct mcp_shard_msg)))
		return -1;
	s->copies = mcp_huge_zalloc((size_t)(s->in.mask + 1) * s->slot_data);
	if (!s->copies)
		return -1;
	for (uint32_t i = 0; i <= s->in.mask; i++)
		((struct mcp_shard_msg *)mcp_spsc_slot_at(&s->in, i)->data)->data =
			s->copies + (size_t)i * s->slot_data;
	return 0;
}

struct mcp_shard *mcp_shard_create(int index, const struct mcp_worker_cfg *wcfg,
				   uint32_t slot_data, int inline_mode)
{
	/* its lines split by writer (_Alignas above): calloc only promises 16 bytes */
	struct mcp_shard *s = aligned_alloc(_Alignof(struct mcp_shard), sizeof(*s));
	struct mcp_worker_cfg cfg = *wcfg;
	int err;

	if (!s)
		return NULL;
	memset(s, 0, sizeof(*s));
	s->index = index;
	s->slot_data = slot_data;
	if (inline_mode && (s->one = malloc(sizeof(*s->one) + slot_data)))
		s->one->data = (uint8_t *)(s->one + 1);
	cfg.nexporters = 1;
	cfg.exporters[0] = (struct mcp_exporter){ .flow = shard_export, .ctx = s };
	s->cfg = cfg;
	if ((inline_mode ? !s->one : in_ring_init(s) != 0) ||
	    mcp_spsc_init(&s->out, SHARD_BATCH_SLOTS, sizeof(void *)) ||
	    mcp_spsc_init(&s->spare, SHARD_BATCH_SLOTS, sizeof(void *)) ||
	    !(s->cur = batch_next(s, 0))) {
		mcp_err("shard %d: out of memory (rings)\n", index);
		goto err;
	}
	if (!inline_mode)
		return s; /* its runner makes its worker (mcp_shard_runner_start) */
	err = pthread_create(&s->thread, NULL, inline_init_main, s);
	if (err) {
		mcp_err("shard %d: cannot start its thread: %s\n", index, strerror(err));
		goto err;
	}
	s->started = 1;
	return s;
err:
	mcp_shard_destroy(s);
	return NULL;
}

static void prefetch_slot_w(const struct mcp_spsc_slot *slot)
{
	for (size_t l = 0; l < MSG_LINES; l++)
		mcp_prefetch_w((const uint8_t *)slot + 64 * l);
}

/* The producer half of the ring with deferred publication: slots head .. head+unpublished-1
 * are filled but not yet visible (mcp_shard_flush). */
struct mcp_shard_msg *mcp_shard_reserve(struct mcp_shard *s)
{
	struct mcp_spsc *r = &s->in;
	uint32_t idx = r->head + s->unpublished;

	if (s->one)
		return s->one;
	if (idx - r->cached_tail > r->mask) {
		mcp_shard_flush(s); /* the shard must see what it is to drain */
		r->cached_tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
		if (idx - r->cached_tail > r->mask)
			return NULL;
	}
	prefetch_slot_w(mcp_spsc_slot_at(r, idx + PREFETCH_SLOT_W));
	return (struct mcp_shard_msg *)mcp_spsc_slot_at(r, idx)->data;
}

static void wake(struct mcp_shard *s)
{
	s->wait_since_ns = 0;
	__atomic_add_fetch(&s->runner->wake_seq, 1, __ATOMIC_RELEASE);
	futex_wake(&s->runner->wake_seq);
}

static int runner_sleeps(const struct mcp_shard *s)
{
	return __atomic_load_n(&s->runner->sleeping, __ATOMIC_SEQ_CST);
}

/* Makes the filled messages visible; wakes a sleeping shard when forced or enough waits. */
static void flush(struct mcp_shard *s, int force)
{
	if (s->unpublished) {
		__atomic_store_n(&s->in.head, s->in.head + s->unpublished, __ATOMIC_SEQ_CST);
		s->unpublished = 0;
	}
	if (runner_sleeps(s) &&
	    (force || s->in.head - __atomic_load_n(&s->in.tail, __ATOMIC_ACQUIRE) >= SHARD_WAKE_AT))
		wake(s);
}

void mcp_shard_wait_space(struct mcp_shard *s)
{
	struct mcp_spsc *r = &s->in;
	/* the tail at which SHARD_RESUME_FREE slots are free again */
	uint32_t want = r->head + s->unpublished - r->mask - 1 + SHARD_RESUME_FREE;

	if (s->one)
		return;
	flush(s, 1); /* all of it visible, and the shard awake to drain it */
	while ((int32_t)(__atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) - want) < 0) {
		uint32_t seq = __atomic_load_n(&s->space_seq, __ATOMIC_ACQUIRE);

		__atomic_store_n(&s->space_want, want, __ATOMIC_RELAXED);
		__atomic_store_n(&s->space_waiting, 1, __ATOMIC_SEQ_CST);
		if ((int32_t)(__atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) - want) >= 0)
			break;
		futex_wait(&s->space_seq, seq);
	}
	__atomic_store_n(&s->space_waiting, 0, __ATOMIC_RELAXED);
	r->cached_tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void mcp_shard_flush_lazy(struct mcp_shard *s)
{
	uint32_t waiting;
	uint64_t now;

	if (s->one) {
		serve_view(s);
		return;
	}
	flush(s, 0);
	if (!runner_sleeps(s)) {
		s->wait_since_ns = 0;
		return;
	}
	waiting = s->in.head - __atomic_load_n(&s->in.tail, __ATOMIC_ACQUIRE);
	if (!waiting)
		return;
	now = mono_ns();
	if (!s->wait_since_ns)
		s->wait_since_ns = now;
	if (waiting >= SHARD_WAKE_BATCH || now - s->wait_since_ns >= SHARD_WAKE_AFTER_NS)
		wake(s);
}

void mcp_shard_publish(struct mcp_shard *s)
{
	if (s->one) {
		serve_view(s);
		handle(s, s->one);
		return;
	}
	if (++s->unpublished >= SHARD_PUBLISH_EVERY)
		flush(s, 0);
}

void mcp_shard_flush(struct mcp_shard *s)
{
	if (s->one)
		serve_view(s); /* the reader idles: an inline shard answers the view now */
	else
		flush(s, 1);
}

void mcp_shard_set_bypass(struct mcp_shard *s, const struct mcp_bypass_ops *ops,
			  struct mcp_sessions *lent)
{
	uint32_t acks = __atomic_load_n(&s->acks, __ATOMIC_ACQUIRE);
	struct mcp_shard_msg *m;
	unsigned spins = 0;

	while (!(m = mcp_shard_reserve(s)))
		backoff(&spins);
	m->type = MCP_SHARD_BYPASS;
	m->ops = ops;
	m->lent = lent;
	m->heap = NULL;
	mcp_shard_publish(s);
	mcp_shard_flush(s);
	spins = 0;
	while (__atomic_load_n(&s->acks, __ATOMIC_ACQUIRE) == acks)
		backoff(&spins);
}

uint32_t mcp_shard_slot_data(const struct mcp_shard *s)
{
	return s->slot_data;
}

struct mcp_shard_batch *mcp_shard_batch_peek(struct mcp_shard *s)
{
	struct mcp_spsc_slot *slot = mcp_spsc_peek(&s->out);
	struct mcp_shard_batch *b;

	if (!slot)
		return NULL;
	memcpy(&b, slot->data, sizeof(b));
	return b;
}

void mcp_shard_batch_release(struct mcp_shard *s)
{
	struct mcp_shard_batch *b = mcp_shard_batch_peek(s);
	struct mcp_spsc_slot *slot;

	if (!b)
		return;
	mcp_spsc_release(&s->out);
	/* back to the shard for reuse; freed if it has enough (the ring is as large as out) */
	if (b->last || !(slot = mcp_spsc_reserve(&s->spare))) {
		batch_free(b);
		return;
	}
	slot->len = sizeof(b);
	memcpy(slot->data, &b, sizeof(b));
	mcp_spsc_publish(&s->spare);
}

void mcp_shard_set_view(struct mcp_shard *s, struct mcp_view_slot *slot)
{
	__atomic_store_n(&s->view, slot, __ATOMIC_RELEASE);
}

uint32_t mcp_shard_flow_count(const struct mcp_shard *s)
{
	return __atomic_load_n(&s->flow_count, __ATOMIC_RELAXED);
}

int mcp_shard_wait_ready(struct mcp_shard *s)
{
	uint32_t st;

	while ((st = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE)) == SHARD_STARTING)
		futex_wait(&s->state, SHARD_STARTING);
	return st == SHARD_READY ? 0 : -1;
}

void mcp_shard_join(struct mcp_shard *s)
{
	if (!s)
		return;
	if (s->started) {
		pthread_join(s->thread, NULL);
		s->started = 0;
	}
	if (s->runner && s->runner->started) {
		pthread_join(s->runner->thread, NULL);
		s->runner->started = 0;
	}
}

struct mcp_shard_runner *mcp_shard_runner_start(struct mcp_shard *const *shards, uint32_t n)
{
	struct mcp_shard_runner *r = aligned_alloc(_Alignof(struct mcp_shard_runner), sizeof(*r));
	int err = ENOMEM;

	if (r) {
		memset(r, 0, sizeof(*r));
		r->n = n < MCP_SHARDS_MAX ? n : MCP_SHARDS_MAX;
		r->refs = r->n;
		for (uint32_t i = 0; i < r->n; i++) {
			r->shard[i] = shards[i];
			shards[i]->runner = r;
		}
		err = pthread_create(&r->thread, NULL, runner_main, r);
		if (!err) {
			r->started = 1;
			return r;
		}
	}
	mcp_err("shards: cannot start a thread: %s\n", strerror(err));
	for (uint32_t i = 0; i < n; i++) {
		__atomic_store_n(&shards[i]->state, SHARD_FAILED, __ATOMIC_RELEASE);
		shards[i]->ended = 1;
	}
	return NULL;
}

void mcp_shard_stats(const struct mcp_shard *s, const struct mcp_worker_stats **ws,
		     const struct mcp_dpi_stats **ds)
{
	if (!s->worker) {
		*ws = &s->end_ws;
		*ds = s->end_has_dpi ? &s->end_ds : NULL;
		return;
	}
	*ws = mcp_worker_stats(s->worker);
	*ds = mcp_worker_dpi(s->worker) ? mcp_dpi_stats(mcp_worker_dpi(s->worker)) : NULL;
}

void mcp_shard_destroy(struct mcp_shard *s)
{
	if (!s)
		return;
	mcp_shard_join(s);
	while (s->out.mem && mcp_shard_batch_peek(s))
		mcp_shard_batch_release(s);
	if (s->in.mem) {
		struct mcp_spsc_slot *slot;

		while ((slot = mcp_spsc_peek(&s->in))) { /* never consumed: free their copies */
			free(((struct mcp_shard_msg *)slot->data)->heap);
			mcp_spsc_release(&s->in);
		}
		mcp_spsc_free(&s->in);
	}
	mcp_huge_free(s->copies, (size_t)(s->in.mask + 1) * s->slot_data);
	if (s->out.mem)
		mcp_spsc_free(&s->out);
	if (s->spare.mem) {
		struct mcp_spsc_slot *slot;

		while ((slot = mcp_spsc_peek(&s->spare))) {
			struct mcp_shard_batch *b;

			memcpy(&b, slot->data, sizeof(b));
			batch_free(b);
			mcp_spsc_release(&s->spare);
		}
		mcp_spsc_free(&s->spare);
	}
	batch_free(s->cur);
	free(s->one);
	mcp_worker_destroy(s->worker);
	if (s->runner && --s->runner->refs == 0)
		free(s->runner);
	free(s);
}
