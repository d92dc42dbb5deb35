/* worker.c - user packets into flows: direction, subscriber attribution, counters, nDPI,
 * timeouts, export.
 *
 * Direction: a GTP-U packet whose tunnel is known says uplink or downlink; otherwise a known
 * UE IP marks the UE side; otherwise the first packet's sender (the initiator) is "up".
 * The subscriber is resolved when the flow is created and kept for its lifetime, so a flow
 * does not split or change owner at a handover; a flow created before the control plane was
 * seen is resolved when its session appears, at its export at the latest (attribution.h).
 */
#include "flow/worker.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow/attribution.h"
#include "flow/dpi.h"
#include "flow/flow.h"
#include "flow/worker_internal.h"
#include "util/strcopy.h"

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

void mcp_worker_cfg_defaults(struct mcp_worker_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_flows = 1000000;
	cfg->idle_timeout_ms = 30000;
	cfg->active_timeout_ms = 120000;
	cfg->linger_ms = 2000;
	cfg->dpi = 1;
}

struct mcp_worker *mcp_worker_create(const struct mcp_worker_cfg *cfg)
{
	struct mcp_worker *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->cfg = *cfg;
	w->flows = mcp_flow_table_create(cfg->max_flows);
	if (!w->flows)
		goto err;
	if (cfg->dpi) {
		w->dpi = mcp_dpi_create();
		if (!w->dpi)
			goto err;
	}
	return w;
err:
	mcp_flow_table_destroy(w->flows);
	free(w);
	return NULL;
}

static void release_flow(void *ctx, struct mcp_flow *f)
{
	mcp_dpi_release(&f->dpi);
	free(f->user);
	f->user = NULL;
	free(f->bypass);
	f->bypass = NULL;
}

void mcp_worker_destroy(struct mcp_worker *w)
{
	if (!w)
		return;
	mcp_flow_table_foreach(w->flows, release_flow, NULL);
	mcp_flow_table_destroy(w->flows);
	mcp_dpi_destroy(w->dpi);
	free(w);
}

static void fill_subscriber(struct mcp_worker *w, const struct mcp_flow *f,
			    struct mcp_flow_record *r)
{
	const struct mcp_subscriber *sub = NULL;

	if (!(f->flags & MCP_FLOWF_HAS_SUB))
		return;
	if (w->cfg.sessions) {
		sub = mcp_sessions_by_id(w->cfg.sessions, f->sub_id);
		if (!sub || strcmp(sub->imsi, f->imsi))
			sub = mcp_sessions_by_imsi(w->cfg.sessions, f->imsi);
	}
	mcp_strcopy(r->imsi, sizeof(r->imsi), f->imsi);
	r->sub_id = f->sub_id;
	if (!sub)
		return; /* removed since: the IMSI alone still names it */
	mcp_strcopy(r->supi, sizeof(r->supi), sub->supi);
	mcp_strcopy(r->msisdn, sizeof(r->msisdn), sub->msisdn);
	mcp_strcopy(r->imei, sizeof(r->imei), sub->imei);
	mcp_strcopy(r->apn, sizeof(r->apn), sub->apn);
	r->rat = sub->rat;
	r->gtp_version = sub->gtp_version;
	/* The UE address is the up side's inner address when it matches one of the UE's. */
	r->ue_ip = r->src_ip;
	r->has_ue_ip = 1;
}

/* The record of f as it stands (exporters, and the live view's snapshots). */
static void fill_record(struct mcp_worker *w, struct mcp_flow *f, enum mcp_end_reason why,
			struct mcp_flow_record *r)
{
	const struct mcp_flow_key *k = &f->key;

	memset(r, 0, sizeof(*r));
	r->ip_version = f->ip_version;
	r->proto = k->proto;
	r->vlan = f->vlan;
	if (f->up_is_a) {
		r->src_ip = k->lo, r->src_port = k->lo_port, r->dst_ip = k->hi, r->dst_port = k->hi_port;
	} else {
		r->src_ip = k->hi, r->src_port = k->hi_port, r->dst_ip = k->lo, r->dst_port = k->lo_port;
	}
	r->pkts_up = f->pkts[0];
	r->pkts_down = f->pkts[1];
	r->bytes_up = f->bytes[0];
	r->bytes_down = f->bytes[1];
	r->first_ms = f->first_ms;
	r->last_ms = f->last_ms;
	r->tcp_flags_up = f->tcp_flags[0];
	r->tcp_flags_down = f->tcp_flags[1];
	r->end_reason = why;
	r->uncredited_pkts[0] = f->uncredited_pkts[0], r->uncredited_pkts[1] = f->uncredited_pkts[1];
	r->uncredited_bytes[0] = f->uncredited_bytes[0], r->uncredited_bytes[1] = f->uncredited_bytes[1];
	if (f->flags & MCP_FLOWF_TUNNELED) {
		r->tunneled = 1;
		r->teid_up = f->teid[0];
		r->teid_down = f->teid[1];
		r->outer_src = f->outer_src;
		r->outer_dst = f->outer_dst;
		r->outer_up = !!(f->flags & MCP_FLOWF_OUTER_UP);
		r->attr_tentative = f->attr_tentative;
		for (int d = 0; d < 2; d++) {
			r->owner_credit_pkts[d] = f->owner_credit_pkts[d];
			r->owner_credit_bytes[d] = f->owner_credit_bytes[d];
		}
		r->has_qfi = !!f->qfi;
		r->qfi = f->qfi & 0x3f;
	}
	r->dns_rcode = -1;
	if (w->dpi)
		mcp_dpi_fill_record(w->dpi, &f->dpi, r);
	fill_subscriber(w, f, r);
	if (f->user)
		mcp_strcopy(r->user, sizeof(r->user), f->user);
}

/* The session of a flow that had none may have appeared since: 1 if that turned the flow
 * round (its guessed up side was the downlink). Its packets XDP could not credit go to the
 * kernel's subscriber counters now. */
int mcp_worker_late_bind(struct mcp_worker *w, struct mcp_flow *f)
{
	uint8_t up_was_a = f->up_is_a;
	uint32_t was_sub = f->sub_id;
	enum mcp_attr_result how;

	if (f->attr_tentative && f->bypass && w->bypass_on && w->cfg.sessions &&
	    f->attr_gen != (uint32_t)mcp_sessions_generation(w->cfg.sessions))
		mcp_worker_bypass_settle(w, f, 0); /* a move takes the kernel's share along */
	how = mcp_attr_retry(w->cfg.sessions, f);
	if (how == MCP_ATTR_NONE)
		return 0;
	if (how == MCP_ATTR_MOVED) {
		mcp_worker_credit_move(w, f, was_sub); /* before the new owner is credited */
		mcp_worker_credit_flush(w, f);
		w->stats.flows_moved_owner++;
		return 0;
	}
	mcp_worker_credit_flush(w, f);
	w->stats.flows_with_subscriber++;
	w->stats.flows_attributed_late++;
	return f->up_is_a != up_was_a;
}

/* Shards: the dispatcher found this packet's subscriber while its flow has none (it began
 * before its session) or a provisional one (mcp_attr_resolve's rule for a key's new owner).
 * is_up: the packet went the flow's up side. 1 if that turned the flow round. */
static int late_bind_pre(struct mcp_worker *w, struct mcp_flow *f, const struct mcp_attrib *a,
			 int is_up)
{
	int turn = (!!a->src_is_up != !!is_up) && !f->dir_known;

	if (f->flags & MCP_FLOWF_HAS_SUB) {
		if (a->provisional)
			return 0; /* still provisional: the new owner is not known yet */
		f->attr_tentative = 0;
		if (!strcmp(a->imsi, f->imsi) || a->changed_ms > f->first_ms + MCP_ATTR_REUSE_BOUND_MS)
			return 0;
		uint32_t was_sub = f->sub_id;

		f->sub_id = a->sub_id;
		mcp_strcopy(f->imsi, sizeof(f->imsi), a->imsi);
		mcp_worker_credit_move(w, f, was_sub);
		w->stats.flows_moved_owner++;
		return 0;
	}
	f->attr_tentative = a->provisional;
	if (turn)
		mcp_attr_turn_round(f);
	f->dir_known = 1;
	f->flags |= MCP_FLOWF_HAS_SUB;
	f->sub_id = a->sub_id;
	mcp_strcopy(f->imsi, sizeof(f->imsi), a->imsi);
	mcp_worker_credit_flush(w, f); /* what XDP could not credit, as mcp_worker_late_bind does */
	w->stats.flows_with_subscriber++;
	w->stats.flows_attributed_late++;
	return turn;
}

static void export_flow(struct mcp_worker *w, struct mcp_flow *f, enum mcp_end_reason why)
{
	struct mcp_flow_record r;
	/* ended (or evicted) before the bypass took it: every packet was in userspace */
	int never = w->bypass_on && !f->bypass && why != MCP_END_ACTIVE;

	mcp_worker_bypass_settle(w, f, why != MCP_END_ACTIVE);
	mcp_worker_late_bind(w, f); /* after the kernel's share: it may bring the other side's TEID */
	if ((f->flags & (MCP_FLOWF_TUNNELED | MCP_FLOWF_HAS_SUB)) == MCP_FLOWF_TUNNELED)
		w->stats.gtpu_unattributed_exported += f->pkts[0] + f->pkts[1];
	if (w->dpi && why != MCP_END_ACTIVE)
		mcp_dpi_finish(w->dpi, &f->dpi);
	fill_record(w, f, why, &r);
	if (never)
		mcp_worker_bypass_count_never(w, f); /* after mcp_dpi_finish: labelled by the final verdict */
	for (int i = 0; i < w->cfg.nexporters; i++)
		w->cfg.exporters[i].flow(w->cfg.exporters[i].ctx, &r);
	w->stats.flows_exported++;
	w->stats.exported_by_reason[why]++;
}

struct live_walk {
	struct mcp_worker *w;
	mcp_worker_live_fn fn;
	void *ctx;
};

static void live_one(void *arg, struct mcp_flow *f)
{
	struct live_walk *lw = arg;
	struct mcp_flow_record r;
	uint64_t kpkts = 0, kbytes = 0;

	fill_record(lw->w, f, MCP_END_ACTIVE, &r);
	if (f->bypass) {
		kpkts = f->bypass->pkts[0] + f->bypass->pkts[1];
		kbytes = f->bypass->bytes[0] + f->bypass->bytes[1];
	}
	lw->fn(lw->ctx, &r, f->hash, kpkts, kbytes);
}

void mcp_worker_foreach_live(struct mcp_worker *w, mcp_worker_live_fn fn, void *ctx)
{
	struct live_walk lw = { w, fn, ctx };

	mcp_flow_table_foreach(w->flows, live_one, &lw);
}

/* Exports and removes a flow. */
static void end_flow(struct mcp_worker *w, struct mcp_flow *f, enum mcp_end_reason why)
{
	export_flow(w, f, why);
	release_flow(NULL, f);
	mcp_flow_table_remove(w->flows, f);
}

/* Fixed networks: a RADIUS user owning either address becomes the flow's up side. The name is
 * taken now, so a record names who had the address when the flow began. */
static void classify_fixed_user(struct mcp_worker *w, struct mcp_flow *f,
				const struct mcp_pkt *pkt, int src_is_a)
{
	char name[MCP_HOST_LEN];

	if (w->cfg.user_by_ip(w->cfg.user_ctx, &pkt->src, name, sizeof(name)) != 1) {
		if (w->cfg.user_by_ip(w->cfg.user_ctx, &pkt->dst, name, sizeof(name)) != 1)
			return;
		f->up_is_a = (uint8_t)!src_is_a;
	}
	f->dir_known = 1;
	f->user = strdup(name); /* NULL on OOM: the record just lacks the user */
}

void mcp_attrib_resolve(struct mcp_sessions *s, const struct mcp_pkt *pkt, struct mcp_attrib *a)
{
	mcp_attrib_resolve_by_tunnel(s, pkt, a);
}

int mcp_attrib_resolve_by_tunnel(struct mcp_sessions *s, const struct mcp_pkt *pkt,
				 struct mcp_attrib *a)
{
	const struct mcp_subscriber *sub = NULL;
	int by_tunnel = 0;
	uint8_t dir;

	memset(a, 0, sizeof(*a));
	a->src_is_up = 1;
	if (!s)
		return 0;
	if (pkt->tunnel == MCP_TUN_GTPU &&
	    (sub = mcp_sessions_by_tunnel(s, pkt->teid, &pkt->outer_dst, &dir))) {
		a->src_is_up = dir == MCP_DIR_UP;
		a->provisional = !mcp_sub_holds_tunnel(sub, pkt->teid, &pkt->outer_dst);
		by_tunnel = 1;
	} else if ((sub = mcp_sessions_by_ue_ip(s, &pkt->src))) {
		a->src_is_up = 1;
		a->provisional = pkt->tunnel == MCP_TUN_GTPU;
	} else if ((sub = mcp_sessions_by_ue_ip(s, &pkt->dst))) {
		a->src_is_up = 0;
		a->provisional = pkt->tunnel == MCP_TUN_GTPU;
	}
	if (!sub)
		return 0;
	a->has_sub = 1;
	a->provisional |= sub->state == MCP_SUB_DELETED;
	a->changed_ms = sub->last_change_ms;
	a->sub_id = sub->id;
	mcp_strcopy(a->imsi, sizeof(a->imsi), sub->imsi);
	return by_tunnel;
}

/* Decides the up side and the subscriber of a new flow (pre, when given, was resolved by the
 * pipeline's session owner). */
static void classify_new_flow(struct mcp_worker *w, struct mcp_flow *f, const struct mcp_pkt *pkt,
			      int src_is_a, const struct mcp_attrib *pre)
{
	struct mcp_attrib own;
	const struct mcp_attrib *a = pre;

	f->up_is_a = (uint8_t)src_is_a; /* default: the initiator is up */
	if (!pre) {
		if (w->cfg.user_by_ip && pkt->tunnel == MCP_TUN_NONE)
			classify_fixed_user(w, f, pkt, src_is_a);
		mcp_attrib_resolve(w->cfg.sessions, pkt, &own);
		a = &own;
		if (w->cfg.sessions) /* late binding (docs/sessions.md) */
			mcp_attr_mark(w->cfg.sessions, f, own.has_sub && own.provisional);
	} else if (pre->user_side && pre->user) {
		f->up_is_a = (uint8_t)(pre->user_side == 1 ? src_is_a : !src_is_a);
		f->dir_known = 1;
		f->user = strdup(pre->user);
	}
	if (!a->has_sub)
		return;
	f->dir_known = 1;
	f->up_is_a = (uint8_t)(a->src_is_up ? src_is_a : !src_is_a);
	f->flags |= MCP_FLOWF_HAS_SUB;
	f->sub_id = a->sub_id;
	if (pre)
		f->attr_tentative = pre->provisional;
	mcp_strcopy(f->imsi, sizeof(f->imsi), a->imsi);
	w->stats.flows_with_subscriber++;
}

void mcp_worker_prefetch(const struct mcp_worker *w, uint32_t flow_hash, int stage)
{
	mcp_flow_table_prefetch(w->flows, flow_hash, stage);
}

/* The packet's flow, created unless the kernel already counted the packet (its flow ended
 * while the packet was on its way up). */
int mcp_worker_flow_key(const struct mcp_pkt *pkt, struct mcp_flow_key *key)
{
	uint16_t vlan = pkt->tunnel == MCP_TUN_NONE ? pkt->vlan : 0;
	/* an echo request and its reply are one flow, keyed on the identifier */
	int echo = mcp_icmp_is_echo(pkt->l4_proto, pkt->sport);

	return mcp_flow_key_make(key, &pkt->src, &pkt->dst, echo ? pkt->dport : pkt->sport,
				 pkt->dport, pkt->l4_proto, vlan);
}

/* hash: mcp_flow_key_hash of the packet's key when the caller has it, else NULL. */
static struct mcp_flow *flow_get(struct mcp_worker *w, const struct mcp_pkt *pkt,
				 const struct mcp_attrib *pre, const uint32_t *hash_in, int *is_up)
{
	struct mcp_flow_key key;
	int src_is_a = !mcp_worker_flow_key(pkt, &key);
	uint32_t hash = hash_in ? *hash_in : mcp_flow_key_hash(&key);
	struct mcp_flow *f = mcp_flow_table_lookup(w->flows, &key, hash);

	if (!f && (pkt->flags & MCP_PKTF_KCOUNTED))
		return NULL;
	if (!f) {
		while (!(f = mcp_flow_table_insert(w->flows, &key, hash))) {
			struct mcp_flow *old = mcp_flow_table_oldest(w->flows);

			if (!old)
				old = mcp_flow_table_oldest_closing(w->flows);
			if (!old)
				return NULL;
			w->stats.flows_evicted++;
			end_flow(w, old, MCP_END_EVICTED);
		}
		f->ip_version = pkt->ip_version;
		f->vlan = pkt->vlan;
		f->first_ms = pkt->ts_us / 1000;
		if (pkt->tunnel == MCP_TUN_GTPU) {
			f->flags |= MCP_FLOWF_TUNNELED;
			f->outer_src = pkt->outer_src;
			f->outer_dst = pkt->outer_dst;
		}
		classify_new_flow(w, f, pkt, src_is_a, pre);
		w->stats.flows_created++;
		*is_up = f->up_is_a == src_is_a;
		return f;
	}
	*is_up = f->up_is_a == src_is_a;
	return f;
}

/* An active-timeout export: the record ends here and the flow goes on with fresh counters. */
static void restart_flow(struct mcp_worker *w, struct mcp_flow *f, uint64_t ts_ms)
{
	export_flow(w, f, MCP_END_ACTIVE);
	f->pkts[0] = f->pkts[1] = f->bytes[0] = f->bytes[1] = 0;
	f->tcp_flags[0] = f->tcp_flags[1] = 0;
	f->first_ms = ts_ms;
}

/* A packet XDP credited to a subscriber: whether that was the tentative flow's own, which a
 * move must then debit. XDP's tunnel map mirrors the session table: the packet's tunnel owner
 * now (pre: as the pipeline resolved it) is the one it credited. */
static int kernel_credited_owner(struct mcp_worker *w, const struct mcp_flow *f,
				 const struct mcp_pkt *pkt, const struct mcp_attrib *pre)
{
	const struct mcp_subscriber *sub;

	if (!f->attr_tentative || !(f->flags & MCP_FLOWF_HAS_SUB) || pkt->tunnel != MCP_TUN_GTPU)
		return 0;
	if (pre)
		return pre->has_sub && pre->sub_id == f->sub_id;
	sub = w->cfg.sessions ? mcp_sessions_by_tunnel(w->cfg.sessions, pkt->teid,
						       &pkt->outer_dst, NULL) : NULL;
	return sub && sub->id == f->sub_id;
}

/* Counts the packet as on the wire (IPFIX): each fragment of a reassembled datagram is a
 * packet, its IP length its bytes. d: 0 up, 1 down. */
static void count_packet(struct mcp_worker *w, struct mcp_flow *f, const struct mcp_pkt *pkt,
			 const struct mcp_attrib *pre, int d)
{
	uint32_t np = pkt->frag_pkts ? pkt->frag_pkts : 1;
	uint32_t nb = pkt->frag_pkts ? pkt->frag_bytes : pkt->ip_len;

	f->tcp_flags[d] |= pkt->tcp_flags;
	if (pkt->flags & MCP_PKTF_KCOUNTED) {
		/* a pending flow's payload: the kernel counted it, nDPI still reads it */
		w->stats.kcounted_packets++;
		return;
	}
	if (f->bypass && !f->bypass->pending) {
		/* queued before the install reached the kernel */
		w->stats.bypass_late_packets++;
		w->labels[f->bypass->label].late++;
	}
	f->pkts[d] += np;
	f->bytes[d] += nb;
	w->stats.packets += np;
	w->stats.bytes += nb;
	if (!(pkt->flags & MCP_PKTF_KSUB))
		mcp_worker_credit_add(w, f, d, np, nb); /* XDP credited no subscriber with it */
	else if (kernel_credited_owner(w, f, pkt, pre))
		mcp_worker_owner_credited(f, d, np, nb);
}

/* What the record and late binding keep of the tunnel: first TEID per direction, and the
 * outer endpoints as the uplink sees them (eNB -> core). */
static void note_tunnel(struct mcp_worker *w, struct mcp_flow *f, const struct mcp_pkt *pkt,
			int is_up)
{
	int d = is_up ? 0 : 1;

	w->stats.tunneled_packets++;
	if (!f->teid[d]) {
		f->teid[d] = pkt->teid;
		if (f->attr_tentative)
			f->attr_gen--; /* a new key to look up: the next retry looks */
	}
	if (!f->qfi && (pkt->flags & MCP_PKTF_GTPU_QFI))
		f->qfi = (uint8_t)(0x80 | pkt->qfi);
	if (is_up && !(f->flags & MCP_FLOWF_OUTER_UP)) {
		/* report the tunnel as the uplink sees it (eNB -> core) */
		f->outer_src = pkt->outer_src;
		f->outer_dst = pkt->outer_dst;
		f->flags |= MCP_FLOWF_OUTER_UP;
	}
}

static void handle_packet(struct mcp_worker *w, const struct mcp_pkt *pkt,
			  const struct mcp_attrib *pre, const uint32_t *hash);

void mcp_worker_packet(struct mcp_worker *w, const struct mcp_pkt *pkt)
{
	handle_packet(w, pkt, NULL, NULL);
}

void mcp_worker_packet_attr(struct mcp_worker *w, const struct mcp_pkt *pkt,
			    const struct mcp_attrib *a)
{
	handle_packet(w, pkt, a, NULL);
}

void mcp_worker_packet_hashed(struct mcp_worker *w, const struct mcp_pkt *pkt,
			      const struct mcp_attrib *a, uint32_t flow_hash)
{
	handle_packet(w, pkt, a, &flow_hash);
}

static void handle_packet(struct mcp_worker *w, const struct mcp_pkt *pkt,
			  const struct mcp_attrib *pre, const uint32_t *hash)
{
	uint64_t ts_ms = pkt->ts_us / 1000;
	struct mcp_flow *f;
	int is_up, d;

	if (ts_ms > w->now_ms) {
		w->now_ms = ts_ms;
		mcp_worker_expire(w, ts_ms);
	}
	f = flow_get(w, pkt, pre, hash, &is_up);
	if (!f)
		return;
	d = is_up ? 0 : 1;
	if (f->pkts[0] + f->pkts[1] && ts_ms >= f->first_ms + w->cfg.active_timeout_ms)
		restart_flow(w, f, ts_ms);
	if (!f->first_ms || ts_ms < f->first_ms)
		f->first_ms = ts_ms; /* captures with out-of-order timestamps */
	if (ts_ms > f->last_ms)
		f->last_ms = ts_ms;
	count_packet(w, f, pkt, pre, d);
	if (pkt->tunnel == MCP_TUN_GTPU)
		note_tunnel(w, f, pkt, is_up);
	if (mcp_worker_late_bind(w, f) ||
	    (pre && pre->has_sub && (!(f->flags & MCP_FLOWF_HAS_SUB) || f->attr_tentative) &&
	     late_bind_pre(w, f, pre, is_up))) {
		is_up = !is_up;
		d = !d;
	}
	if (pkt->tunnel == MCP_TUN_GTPU && !(f->flags & MCP_FLOWF_HAS_SUB)) {
		w->stats.gtpu_unknown_sub_packets++;
		if (w->cfg.unknown_tunnel)
			w->cfg.unknown_tunnel(w->cfg.unknown_ctx, pkt);
	}
	if (w->dpi && !f->dpi.done)
		mcp_dpi_feed(w->dpi, &f->dpi, pkt->l4_proto, pkt->l3, pkt->l3_caplen, ts_ms);
	/* The kernel keeps the first TEID of each direction for the record (bypass_credit). A
	 * tentative flow stays up while it may still move: its next packet after the new owner's
	 * session moves it at once, with the kernel credits it had so far (credit_move). */
	if (w->bypass_on && !(f->flags & MCP_FLOWF_BYPASS_TRIED) &&
	    !(f->attr_tentative && w->now_ms <= f->first_ms + MCP_ATTR_REUSE_BOUND_MS)) {
		if (!w->dpi || f->dpi.done) {
			f->flags |= MCP_FLOWF_BYPASS_TRIED;
			mcp_worker_bypass_install(w, f);
		} else if (!f->bypass && pkt->l4_proto == IPPROTO_TCP &&
			   (pkt->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN &&
			   f->pkts[0] + f->pkts[1] == 1) {
			mcp_worker_bypass_install_pending(w, f);
		}
	}

	if (pkt->l4_proto == IPPROTO_TCP && (pkt->tcp_flags & (TCP_FIN | TCP_RST))) {
		int src_is_a = is_up ? f->up_is_a : !f->up_is_a;

		if (pkt->tcp_flags & TCP_RST)
			f->flags |= MCP_FLOWF_RST;
		else
			f->flags |= src_is_a ? MCP_FLOWF_FIN_A : MCP_FLOWF_FIN_B;
		if ((f->flags & MCP_FLOWF_RST) ||
		    (f->flags & (MCP_FLOWF_FIN_A | MCP_FLOWF_FIN_B)) ==
			    (MCP_FLOWF_FIN_A | MCP_FLOWF_FIN_B)) {
			if (!(f->flags & MCP_FLOWF_CLOSING))
				f->list_ms = w->now_ms;
			mcp_flow_table_close(w->flows, f);
		}
	}
	if (!(f->flags & MCP_FLOWF_CLOSING))
		f->list_ms = w->now_ms;
	mcp_flow_table_touch(w->flows, f);
}

void mcp_worker_expire(struct mcp_worker *w, uint64_t now_ms)
{
	struct mcp_flow *f;

	if (now_ms > w->now_ms)
		w->now_ms = now_ms;
	while ((f = mcp_flow_table_oldest_closing(w->flows)) &&
	       f->list_ms + w->cfg.linger_ms <= now_ms)
		end_flow(w, f, (f->flags & MCP_FLOWF_RST) ? MCP_END_RST : MCP_END_FIN);
	while ((f = mcp_flow_table_oldest(w->flows)) &&
	       (f->list_ms > f->last_ms ? f->list_ms : f->last_ms) + w->cfg.idle_timeout_ms <=
		       now_ms) /* last_ms: a bypassed flow's kernel time (worker_bypass.c) */
		end_flow(w, f, MCP_END_IDLE);
}

static void flush_one(void *ctx, struct mcp_flow *f)
{
	end_flow(ctx, f, MCP_END_FLUSH);
}

void mcp_worker_flush(struct mcp_worker *w)
{
	mcp_flow_table_foreach(w->flows, flush_one, w);
}

uint32_t mcp_worker_flow_count(const struct mcp_worker *w)
{
	return mcp_flow_table_count(w->flows);
}

const struct mcp_worker_stats *mcp_worker_stats(const struct mcp_worker *w)
{
	return &w->stats;
}

const struct mcp_dpi *mcp_worker_dpi(const struct mcp_worker *w)
{
	return w->dpi;
}
