/* pipeline.c - wires decoder, session table, worker and exporters for one packet source. */
#include "pipeline/pipeline.h"
#include "pipeline/pipeline_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "flow/dpi.h"
#include "control/gtpc.h"
#include "flow/json_out.h"
#include "util/log.h"
#include "control/radius.h"
#include "pipeline/shards.h"
#include "session/session_5g.h"
#include "control/sbi/sbi.h"
#include "pipeline/peer_attr.h"

/* How long the last IPFIX messages may take to reach their collectors at exit. */
#define IPFIX_DRAIN_MS 3000

/* Session table housekeeping runs at most this often (packet time). */
#define SESSION_EXPIRE_EVERY_MS 1000

void mcp_pipeline_cfg_defaults(struct mcp_pipeline_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->decoder.max_frags = 4096;
	cfg->decoder.frag_timeout_ms = 2000;
	cfg->decoder.gtpu_port = 2152;
	cfg->decoder.gtpc_port = 2123;
	cfg->sessions.max_subscribers = 1000000;
	cfg->sessions.delete_grace_ms = 60000;
	cfg->sessions.handover_grace_ms = 5000;
	cfg->sessions.transaction_timeout_ms = 10000;
	cfg->radius.port = 1813;
	cfg->radius.max_users = 1000000;
	mcp_worker_cfg_defaults(&cfg->worker);
}

static void on_session_event(void *ctx, enum mcp_session_event ev,
			     const struct mcp_subscriber *sub, uint64_t ts_ms)
{
	struct mcp_pipeline *p = ctx;

	p->session_gen++;
	if (p->sessions_out && ev != MCP_EV_REMOVE)
		mcp_json_out_session(p->sessions_out, mcp_session_event_name(ev), sub);
	for (int i = 0; i < p->nlisteners; i++)
		p->listeners[i].fn(p->listeners[i].ctx, ev, sub, ts_ms);
}

static void on_radius_event(void *ctx, const char *user, const struct mcp_ip *ip,
			    const char *calling_station, int active, uint64_t ts_ms)
{
	struct mcp_pipeline *p = ctx;

	if (p->mc)
		mcp_mc_radius_user(p->mc, user, ip, calling_station, active, ts_ms);
}

static void on_sbi_ident(void *ctx, const struct mcp_sbi_ident *id, uint64_t ts_ms)
{
	mcp_s5g_sbi_ident(ctx, id, ts_ms);
}

static int radius_user_by_ip(void *ctx, const struct mcp_ip *ip, char *name, size_t len)
{
	return mcp_radius_user_by_ip(ctx, ip, name, len);
}

int mcp_pipeline_add_session_listener(struct mcp_pipeline *p, mcp_session_event_fn fn, void *ctx)
{
	if (p->nlisteners >= MCP_MAX_SESSION_LISTENERS)
		return -ENOSPC;
	p->listeners[p->nlisteners].fn = fn;
	p->listeners[p->nlisteners].ctx = ctx;
	p->nlisteners++;
	return 0;
}

/* A tunnel this probe has no session for may be another probe's: ask the microcloud. */
static void peer_want(void *ctx, const struct mcp_pkt *pkt)
{
	struct mcp_pipeline *p = ctx;
	uint8_t dir;

	if (!mcp_sessions_by_tunnel(p->sessions, pkt->teid, &pkt->outer_dst, &dir))
		mcp_peer_want_tunnel(p->peer, pkt->teid, &pkt->outer_dst);
}

int mcp_pipeline_remove_session_listener(struct mcp_pipeline *p, mcp_session_event_fn fn,
					 void *ctx)
{
	for (int i = 0; i < p->nlisteners; i++)
		if (p->listeners[i].fn == fn && p->listeners[i].ctx == ctx) {
			/* keeps the others in order: listeners see events in the order added */
			memmove(&p->listeners[i], &p->listeners[i + 1],
				(size_t)(p->nlisteners - i - 1) * sizeof(p->listeners[0]));
			p->nlisteners--;
			return 0;
		}
	return -ENOENT;
}

static struct mcp_json_out *open_out(const char *path, const char *what)
{
	struct mcp_json_out *o = mcp_json_out_open(path);

	if (!o)
		mcp_err("%s: cannot create %s file: %s\n", path, what, strerror(errno));
	return o;
}

static struct mcp_pipeline *create_shards(struct mcp_pipeline *p, uint32_t n,
					  const struct mcp_worker_cfg *wcfg)
{
	struct mcp_shards_cfg scfg = {
		.n = n, .worker = *wcfg, .sessions = p->sessions, .radius = p->radius,
		.session_gen = &p->session_gen, .owner_by_sub_id = p->shard_by_sub_id,
		/* live, the thread that polls the sockets must not wait for DPI */
		.first_inline = !p->shard_by_sub_id,
		.threads = p->shard_threads,
	};

	p->shards = mcp_shards_create(&scfg);
	if (!p->shards) {
		p->finished = 1;
		mcp_pipeline_destroy(p);
		return NULL;
	}
	return p;
}

struct mcp_pipeline *mcp_pipeline_create(const struct mcp_pipeline_cfg *cfg)
{
	struct mcp_pipeline *p = calloc(1, sizeof(*p));
	struct mcp_session_cfg scfg = cfg->sessions;
	struct mcp_worker_cfg wcfg = cfg->worker;
	struct mcp_radius_cfg rcfg = cfg->radius;

	if (!p)
		return NULL;
	if (cfg->flows_json) {
		p->flows_out = mcp_json_out_open_rotating(cfg->flows_json,
							  cfg->flows_rotate_bytes,
							  cfg->flows_rotate_s);
		if (!p->flows_out) {
			mcp_err("%s: cannot create flow records file: %s\n", cfg->flows_json,
				strerror(errno));
			goto err;
		}
	}
	if (cfg->sessions_json && !(p->sessions_out = open_out(cfg->sessions_json, "session")))
		goto err;
	if (cfg->records_write_through) {
		mcp_json_out_write_through(p->flows_out);
		mcp_json_out_write_through(p->sessions_out);
	}
	p->decoder = mcp_decoder_create(&cfg->decoder);
	scfg.on_event = on_session_event;
	scfg.event_ctx = p;
	p->sessions = mcp_sessions_create(&scfg);
	if (p->sessions)
		p->s5g = mcp_s5g_create(p->sessions, 0, scfg.transaction_timeout_ms);
	if (p->s5g)
		p->sbi = mcp_sbi_create(&(struct mcp_sbi_cfg){ .on_ident = on_sbi_ident,
							      .ctx = p->s5g });
	if (!p->decoder || !p->sessions || !p->s5g || !p->sbi) {
		mcp_err("out of memory creating the decoder and session table\n");
		goto err;
	}
	if (cfg->redis) {
		p->mc = mcp_mc_create(cfg->redis);
		if (!p->mc)
			goto err;
		mcp_pipeline_add_session_listener(p, mcp_mc_on_session_event, p->mc);
		/* subscribed before the reload, so no change falls between the two */
		if (cfg->redis_peers && !cfg->redis->cluster_seeds &&
		    !(p->peer = mcp_peer_create(cfg->redis, p->mc)))
			goto err;
		if (cfg->redis_reload) {
			int n = mcp_mc_reload_sessions(p->mc, p->sessions);

			if (n < 0)
				mcp_warn("microcloud: could not reload sessions: %s\n", strerror(-n));
			else if (n > 0)
				mcp_info("microcloud: reloaded %d sessions\n", n);
		}
	}
	rcfg.on_event = on_radius_event;
	rcfg.event_ctx = p;
	p->radius = mcp_radius_users_create(&rcfg);
	if (!p->radius) {
		mcp_err("out of memory creating the RADIUS user table\n");
		goto err;
	}
	p->pipe_dpi = wcfg.dpi;
	wcfg.sessions = p->sessions;
	wcfg.user_by_ip = radius_user_by_ip;
	wcfg.user_ctx = p->radius;
	if (p->peer) {
		wcfg.unknown_tunnel = peer_want;
		wcfg.unknown_ctx = p;
	}
	wcfg.nexporters = 0;
	if (p->flows_out)
		wcfg.exporters[wcfg.nexporters++] =
			(struct mcp_exporter){ .flow = mcp_json_out_flow, .ctx = p->flows_out };
	if (p->mc)
		wcfg.exporters[wcfg.nexporters++] =
			(struct mcp_exporter){ .flow = mcp_mc_export_flow, .ctx = p->mc };
	if (cfg->ipfix.n && !(p->ipfix = mcp_ipfix_create(&cfg->ipfix)))
		goto err;
	if (p->ipfix)
		wcfg.exporters[wcfg.nexporters++] =
			(struct mcp_exporter){ .flow = mcp_ipfix_flow, .ctx = p->ipfix };
	p->shard_by_sub_id = cfg->shard_by_sub_id;
	p->shard_threads = cfg->shard_threads;
	if (cfg->shards > 1)
		return create_shards(p, cfg->shards, &wcfg);
	p->worker = mcp_worker_create(&wcfg);
	if (!p->worker) {
		mcp_err("cannot create the flow table (%u flows): out of memory or nDPI failed\n",
			wcfg.max_flows);
		goto err;
	}
	return p;
err:
	p->finished = 1;
	mcp_pipeline_destroy(p);
	return NULL;
}

static struct mcp_pipe_ahead *ahead_at(struct mcp_pipeline *p, uint32_t i)
{
	return &p->ahead[(p->ahead_head + i) % (MCP_PIPE_AHEAD + 1)];
}

static void ahead_handle_oldest(struct mcp_pipeline *p)
{
	struct mcp_pipe_ahead *a = ahead_at(p, 0);

	p->ahead_head = (p->ahead_head + 1) % (MCP_PIPE_AHEAD + 1);
	p->ahead_n--;
	mcp_pipeline_packet(p, MCP_PKT_USER, &a->pkt, 1, NULL, &a->key);
}

void mcp_pipeline_drain(struct mcp_pipeline *p)
{
	while (p->ahead_n)
		ahead_handle_oldest(p);
}

/* A frame read in place, with shards (MCP_PIPE_AHEAD): decoded into the look-ahead ring; a
 * user packet waits there, anything else drains the ring and is handled at once. */
static void frame_ahead(struct mcp_pipeline *p, int dlt, const uint8_t *frame, uint32_t caplen,
			uint32_t wire_len, uint64_t ts_us)
{
	struct mcp_pipe_ahead *a = ahead_at(p, p->ahead_n);
	int kind = mcp_decode(p->decoder, dlt, frame, caplen, wire_len, ts_us, &a->pkt);

	if (kind != MCP_PKT_USER || (a->pkt.flags & MCP_PKTF_REASSEMBLED)) {
		/* a reassembled datagram lives in the decoder's buffer, valid until the next
		 * decode: it is handled now, after the packets before it */
		mcp_pipeline_drain(p);
		mcp_pipeline_packet(p, kind, &a->pkt, 1, NULL, NULL);
		return;
	}
	mcp_shards_key_of(&a->pkt, &a->key);
	mcp_shards_prefetch(p->shards, a->key.pin_hash, 0);
	if (p->ahead_n)
		mcp_shards_prefetch(p->shards, ahead_at(p, p->ahead_n - 1)->key.pin_hash, 1);
	if (++p->ahead_n > MCP_PIPE_AHEAD)
		ahead_handle_oldest(p);
}

static void frame_in(struct mcp_pipeline *p, int dlt, const uint8_t *frame, uint32_t caplen,
		     uint32_t wire_len, uint64_t ts_us, int stable)
{
	struct mcp_pkt pkt;
	int kind;

	if (p->shards && stable) {
		frame_ahead(p, dlt, frame, caplen, wire_len, ts_us);
		return;
	}
	mcp_pipeline_drain(p);
	kind = mcp_decode(p->decoder, dlt, frame, caplen, wire_len, ts_us, &pkt);
	mcp_pipeline_packet(p, kind, &pkt, stable, NULL, NULL);
}

/* With the RESP view on, a pending snapshot request is answered after the frame (one load). */
static void frame_served(struct mcp_pipeline *p, int dlt, const uint8_t *frame, uint32_t caplen,
			 uint32_t wire_len, uint64_t ts_us, int stable)
{
	frame_in(p, dlt, frame, caplen, wire_len, ts_us, stable);
	if (p->view) {
		if (p->ahead_n && mcp_view_wanted(&p->view->slots[0]))
			mcp_pipeline_drain(p); /* a snapshot counts every frame read */
		mcp_pipeline_view_serve(p);
	}
}

void mcp_pipeline_frame(struct mcp_pipeline *p, int dlt, const uint8_t *frame, uint32_t caplen,
			uint32_t wire_len, uint64_t ts_us)
{
	frame_served(p, dlt, frame, caplen, wire_len, ts_us, 0);
}

void mcp_pipeline_frame_stable(struct mcp_pipeline *p, int dlt, const uint8_t *frame,
			       uint32_t caplen, uint32_t wire_len, uint64_t ts_us)
{
	frame_served(p, dlt, frame, caplen, wire_len, ts_us, 1);
}

void mcp_pipeline_retire(struct mcp_pipeline *p, uint64_t frames)
{
	mcp_pipeline_drain(p); /* their frames are among those retired */
	if (p->shards)
		mcp_shards_retire(p->shards, frames);
}

void mcp_pipeline_packet(struct mcp_pipeline *p, int kind, struct mcp_pkt *pkt, int stable,
			 const struct mcp_pipeline_owned *own, const struct mcp_shards_key *key)
{
	uint64_t ts_ms = pkt->ts_us / 1000;

	if (p->peer) /* before the worker: its expiry must see what other probes told */
		mcp_peer_apply(p->peer, p->sessions);
	p->frames++;
	p->frame_bytes += pkt->wire_len;
	if (kind >= 0 && kind <= MCP_PKT_MALFORMED)
		p->kind_counts[kind]++;
	switch (kind) {
	case MCP_PKT_USER:
		if (mcp_radius_match(p->radius, pkt))
			mcp_radius_handle(p->radius, pkt); /* also a flow like any other */
		else if (mcp_s5g_is_pfcp(pkt))
			mcp_s5g_handle_pfcp(p->s5g, pkt); /* also a flow */
		else if (pkt->l4_proto == 6 && pkt->tunnel == MCP_TUN_NONE)
			mcp_sbi_segment(p->sbi, pkt); /* SBI over TCP; also a flow */
		if (own && p->shards)
			mcp_shards_packet_owned(p->shards, pkt, &own->attr, own->owner, p->frames);
		else if (p->shards)
			mcp_shards_packet(p->shards, pkt, stable, p->frames, key);
		else if (own)
			mcp_worker_packet_attr(p->worker, pkt, &own->attr);
		else
			mcp_worker_packet(p->worker, pkt);
		break;
	case MCP_PKT_GTPC:
		mcp_sessions_handle_gtpc(p->sessions, pkt);
		break;
	default:
		break;
	}
	if (ts_ms >= p->last_session_expire_ms + SESSION_EXPIRE_EVERY_MS) {
		p->last_session_expire_ms = ts_ms;
		mcp_sessions_expire(p->sessions, ts_ms);
		mcp_sessions_expire_transactions(p->sessions, ts_ms);
		mcp_sbi_expire(p->sbi, ts_ms);
	}
}

/* The housekeeping of a tick: peers, IPFIX, sessions. */
void mcp_pipeline_tick_common(struct mcp_pipeline *p, uint64_t now_ms)
{
	if (p->peer)
		mcp_peer_apply(p->peer, p->sessions);
	if (p->ipfix)
		mcp_ipfix_tick(p->ipfix);
	mcp_sessions_expire(p->sessions, now_ms);
	mcp_sessions_expire_transactions(p->sessions, now_ms);
}

static void final_session_dump(void *ctx, const struct mcp_subscriber *sub)
{
	mcp_json_out_session(ctx, "final", sub);
}

int mcp_pipeline_finish(struct mcp_pipeline *p)
{
	int err = 0, e;

	if (p->finished)
		return 0;
	mcp_pipeline_drain(p);
	p->finished = 1;
	if (p->peer) /* the last answers from other probes, before the final export */
		mcp_peer_settle(p->peer, p->sessions, 2000);
	if (p->mc) {
		mcp_mc_probe_stats(p->mc, mcp_sessions_stats(p->sessions));
		mcp_mc_flush_start(p->mc); /* Redis works on the sums so far while flows are exported */
	}
	if (p->shards)
		mcp_shards_finish(p->shards); /* every record merged into the sinks */
	else
		mcp_worker_flush(p->worker);
	if (p->sessions_out)
		mcp_sessions_foreach(p->sessions, final_session_dump, p->sessions_out);
	if (p->mc) {
		p->mc_unflushed = mcp_mc_flush_final(p->mc, 2000) != 0;
	}
	mcp_ipfix_finish(p->ipfix, IPFIX_DRAIN_MS);
	if ((e = mcp_json_out_close(p->flows_out)) && !err)
		err = e;
	if ((e = mcp_json_out_close(p->sessions_out)) && !err)
		err = e;
	p->flows_out = p->sessions_out = NULL;
	return err;
}

void mcp_pipeline_destroy(struct mcp_pipeline *p)
{
	if (!p)
		return;
	if (!p->finished)
		mcp_pipeline_finish(p);
	mcp_json_out_close(p->flows_out);
	mcp_json_out_close(p->sessions_out);
	mcp_worker_destroy(p->worker);
	mcp_shards_destroy(p->shards);
	mcp_peer_destroy(p->peer); /* before the microcloud whose sync channel it reads */
	mcp_mc_destroy(p->mc);
	mcp_ipfix_destroy(p->ipfix);
	mcp_sbi_destroy(p->sbi);
	mcp_s5g_destroy(p->s5g);
	mcp_sessions_destroy(p->sessions);
	mcp_radius_users_destroy(p->radius);
	mcp_decoder_destroy(p->decoder);
	mcp_view_pub_destroy(p->view);
	free(p);
}

void mcp_pipeline_totals(const struct mcp_pipeline *p, struct mcp_pipeline_totals *t)
{
	t->frames = p->frames;
	t->frame_bytes = p->frame_bytes;
	t->flows_active = p->worker ? mcp_worker_flow_count(p->worker)
		      : p->shards ? mcp_shards_flow_count(p->shards) : 0;
}

uint64_t mcp_pipeline_mc_lost(struct mcp_pipeline *p)
{
	struct mcp_mc_stats s;
	uint64_t lost;

	if (!p->mc)
		return 0;
	mcp_mc_get_stats(p->mc, &s);
	/* commands of pipelines cut by a failure, error replies (NOAUTH, OOM, ...), events and
	 * counter keys that found no room, and what was still queued when the flush gave up */
	lost = s.cmds_dropped + s.cmd_errors + s.events_dropped + s.counter_keys_dropped;
	if (p->mc_unflushed)
		lost += s.queue_depth ? s.queue_depth : 1;
	return lost;
}

struct mcp_sessions *mcp_pipeline_sessions(struct mcp_pipeline *p)
{
	return p->sessions;
}

static void print_counter(FILE *f, const char *name, uint64_t v)
{
	if (v)
		fprintf(f, "    %-34s %" PRIu64 "\n", name, v);
}

/* The worker's counters, or the sums over the shards; 1 if nDPI ran (ds filled). */
static int worker_totals(const struct mcp_pipeline *p, struct mcp_worker_stats *ws,
			 struct mcp_dpi_stats *ds)
{
	const struct mcp_dpi *dpi;

	memset(ds, 0, sizeof(*ds));
	if (p->shards) {
		mcp_shards_stats(p->shards, ws, ds);
		return p->pipe_dpi;
	}
	*ws = *mcp_worker_stats(p->worker);
	dpi = mcp_worker_dpi(p->worker);
	if (dpi)
		*ds = *mcp_dpi_stats(dpi);
	return dpi != NULL;
}

static void print_packets(const struct mcp_pipeline *p, FILE *f, double elapsed_s)
{
	const struct mcp_decode_stats *ds = mcp_decoder_stats(p->decoder);
	struct mcp_worker_stats wsv, *ws = &wsv;
	struct mcp_dpi_stats dsv;
	uint64_t malformed = 0;

	worker_totals(p, ws, &dsv);
	for (int i = 0; i < MCP_PARSE__MAX; i++)
		if (i != MCP_PARSE_NOT_IP)
			malformed += ds->malformed[i];
	fprintf(f, "  packets                      %" PRIu64 "\n", p->frames);
	fprintf(f, "  bytes (wire)                 %" PRIu64 "\n", p->frame_bytes);
	if (elapsed_s > 0)
		fprintf(f, "  packets/s                    %.0f (%.3f s)\n", p->frames / elapsed_s,
			elapsed_s);
	fprintf(f, "  user packets                 %" PRIu64 " (%" PRIu64 " tunneled)\n",
		ws->packets, ws->tunneled_packets);
	fprintf(f, "  user bytes (inner IP)        %" PRIu64 "\n", ws->bytes);
	fprintf(f, "  gtp-c messages               %" PRIu64 "\n", p->kind_counts[MCP_PKT_GTPC]);
	fprintf(f, "  gtp-u signalling             %" PRIu64 "\n",
		p->kind_counts[MCP_PKT_GTPU_SIGNAL]);
	fprintf(f, "  fragments held               %" PRIu64 "\n", p->kind_counts[MCP_PKT_FRAG_HELD]);
	fprintf(f, "  not ip / untracked           %" PRIu64 "\n", p->kind_counts[MCP_PKT_OTHER]);
	fprintf(f, "  malformed                    %" PRIu64 "\n", malformed);
	for (int i = 0; i < MCP_PARSE__MAX; i++)
		print_counter(f, mcp_parse_reason_name(i), ds->malformed[i]);
	mcp_pipeline_print_meta(p, f);
	fprintf(f, "  layers\n");
	for (int i = 0; i < MCP_LAYER__MAX; i++)
		print_counter(f, mcp_layer_name(i), ds->layer[i]);
}

static void print_bypass(const struct mcp_worker_stats *ws, FILE *f)
{
	if (!ws->bypass_installed && !ws->bypass_failed)
		return;
	fprintf(f, "  flows bypassed in kernel     %" PRIu64 " (%" PRIu64 " failed)\n",
		ws->bypass_installed, ws->bypass_failed);
	fprintf(f, "  user packets in kernel       %" PRIu64 " (%.1f%% of user packets)\n",
		ws->bypassed_packets, ws->packets ? 100.0 * ws->bypassed_packets / ws->packets : 0.0);
	print_counter(f, "bypass orphans removed", ws->bypass_orphans);
	print_counter(f, "flows pending at their SYN", ws->bypass_pending);
	print_counter(f, "packets counted in kernel, sent up for nDPI", ws->kcounted_packets);
	print_counter(f, "packets credited to kernel subscribers", ws->kernel_credited_packets);
}

static void print_flows(const struct mcp_pipeline *p, FILE *f)
{
	struct mcp_worker_stats wsv, *ws = &wsv;
	struct mcp_dpi_stats dsv, *d = &dsv;
	int has_dpi = worker_totals(p, ws, d);
	char name[32];

	fprintf(f, "  flows created                %" PRIu64 "\n", ws->flows_created);
	fprintf(f, "  flows exported               %" PRIu64 "\n", ws->flows_exported);
	for (int i = 0; i < MCP_END_REASONS; i++) {
		snprintf(name, sizeof(name), "end %s", mcp_end_reason_name(i));
		print_counter(f, name, ws->exported_by_reason[i]);
	}
	fprintf(f, "  flows evicted (table full)   %" PRIu64 "\n", ws->flows_evicted);
	fprintf(f, "  flows with subscriber        %" PRIu64 "\n", ws->flows_with_subscriber);
	fprintf(f, "  gtp-u pkts, unknown subscr.  %" PRIu64 "\n", ws->gtpu_unknown_sub_packets);
	fprintf(f, "  flows attributed late        %" PRIu64 "\n", ws->flows_attributed_late);
	print_counter(f, "flows moved to a tunnel's new owner", ws->flows_moved_owner);
	fprintf(f, "  gtp-u pkts in untagged recs  %" PRIu64 "\n", ws->gtpu_unattributed_exported);
	print_bypass(ws, f);
	if (has_dpi) {
		fprintf(f, "  dpi flows classified         %" PRIu64 " (guessed %" PRIu64
			   ", unknown %" PRIu64 ")\n",
			d->flows_classified, d->flows_guessed, d->flows_unknown);
		fprintf(f, "  dpi packets inspected        %" PRIu64 "\n", d->packets_fed);
	}
	if (p->shards)
		mcp_shards_print_stats(p->shards, f);
}

/* Every GTP-C message type seen, by version, named when known. */
static void print_gtpc_msgs(const struct mcp_session_stats *ss, FILE *f)
{
	char lname[64];

	for (int v = 1; v <= 2; v++) {
		for (int t = 0; t < 256; t++) {
			const char *mn = mcp_gtpc_msg_name((uint8_t)v, (uint8_t)t);

			if (mn)
				snprintf(lname, sizeof(lname), "v%d %s", v, mn);
			else
				snprintf(lname, sizeof(lname), "v%d type %d", v, t);
			print_counter(f, lname, v == 1 ? ss->v1_msgs[t] : ss->v2_msgs[t]);
		}
	}
}

static void print_sessions(const struct mcp_pipeline *p, FILE *f)
{
	const struct mcp_session_stats *ss = mcp_sessions_stats(p->sessions);

	fprintf(f, "  sessions created             %" PRIu64 "\n", ss->created);
	fprintf(f, "  sessions modified            %" PRIu64 "\n", ss->modified);
	fprintf(f, "  sessions deleted             %" PRIu64 "\n", ss->deleted);
	fprintf(f, "  unmatched responses          %" PRIu64 "\n", ss->unmatched_responses);
	fprintf(f, "  rejected responses           %" PRIu64 "\n", ss->rejected_responses);
	fprintf(f, "  retransmitted requests       %" PRIu64 "\n", ss->retransmissions);
	fprintf(f, "  timed-out requests           %" PRIu64 "\n", ss->timed_out_requests);
	mcp_sessions_print_pressure(f, ss);
	fprintf(f, "  gtp-c malformed              %" PRIu64 "\n", ss->malformed);
	fprintf(f, "  gtp-c unknown IEs / msgs     %" PRIu64 " / %" PRIu64 "\n", ss->unknown_ies,
		ss->unknown_msgs);
	print_gtpc_msgs(ss, f);
	for (int i = 0; i < MCP_GTPC_BAD__MAX; i++)
		print_counter(f, mcp_gtpc_bad_reason_name(i), ss->malformed_reason[i]);
}

static void print_radius(const struct mcp_pipeline *p, FILE *f)
{
	struct mcp_radius_stats rs;

	mcp_radius_get_stats(p->radius, &rs);
	if (!rs.requests && !rs.malformed)
		return;
	fprintf(f, "  radius accounting requests   %" PRIu64 " (start %" PRIu64 ", interim %" PRIu64
		   ", stop %" PRIu64 "), users %" PRIu64 "\n",
		rs.requests, rs.starts, rs.interims, rs.stops, rs.users);
	fprintf(f, "  radius malformed             %" PRIu64 "\n", rs.malformed);
	for (int i = 0; i < MCP_RADIUS_BAD__MAX; i++)
		print_counter(f, mcp_radius_malformed_name(i), rs.malformed_reason[i]);
}

void mcp_pipeline_print_stats(const struct mcp_pipeline *p, FILE *f, double elapsed_s)
{
	fprintf(f, "mcprobe statistics\n");
	print_packets(p, f, elapsed_s);
	print_flows(p, f);
	print_sessions(p, f);
	mcp_s5g_print_stats(p->s5g, f);
	mcp_sbi_print_stats(p->sbi, f);
	print_radius(p, f);
	if (p->mc)
		mcp_mc_print_stats(p->mc, f);
	if (p->ipfix)
		mcp_ipfix_print_stats(p->ipfix, f);
	if (p->peer)
		mcp_peer_print_stats(p->peer, f);
}
