/* worker_bypass.c - the worker's side of the kernel flow bypass (docs/live.md): classified flows
 * (TCP ones already at their SYN, as pending) are installed through the bypass ops, the kernel's
 * counts are credited back to the flows, and a flow leaving the kernel settles its share.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flow/worker_internal.h"
#include "util/log.h"

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void mcp_worker_credit_add(struct mcp_worker *w, struct mcp_flow *f, int d, uint64_t np,
			   uint64_t nb)
{
	if (!w->bypass_on || !w->bypass.credit)
		return; /* offline: there are no kernel counters */
	f->uncredited_pkts[d] += (uint32_t)np;
	f->uncredited_bytes[d] += nb;
	mcp_worker_credit_flush(w, f);
}

void mcp_worker_credit_flush(struct mcp_worker *w, struct mcp_flow *f)
{
	uint64_t pkts[2], bytes[2];

	if (!(f->flags & MCP_FLOWF_HAS_SUB) || !(f->uncredited_pkts[0] | f->uncredited_pkts[1]))
		return;
	if (w->bypass_on && w->bypass.credit) {
		pkts[0] = f->uncredited_pkts[0], pkts[1] = f->uncredited_pkts[1];
		bytes[0] = f->uncredited_bytes[0], bytes[1] = f->uncredited_bytes[1];
		w->bypass.credit(w->bypass.ctx, f->sub_id, pkts, bytes);
		w->stats.kernel_credited_packets += pkts[0] + pkts[1];
		mcp_worker_owner_credited(f, 0, pkts[0], bytes[0]);
		mcp_worker_owner_credited(f, 1, pkts[1], bytes[1]);
	}
	f->uncredited_pkts[0] = f->uncredited_pkts[1] = 0;
	f->uncredited_bytes[0] = f->uncredited_bytes[1] = 0;
}

/* Debits from (unless MCP_FLOW_NONE) and credits to the same counts. */
static void credit_transfer(const struct mcp_bypass_ops *ops, uint32_t from, uint32_t to,
			    const uint64_t pkts[2], const uint64_t bytes[2])
{
	uint64_t neg_pkts[2] = { -pkts[0], -pkts[1] }, neg_bytes[2] = { -bytes[0], -bytes[1] };

	if (from != MCP_FLOW_NONE)
		ops->credit(ops->ctx, from, neg_pkts, neg_bytes);
	ops->credit(ops->ctx, to, pkts, bytes);
}

/* A flow moved from a provisional owner to its key's new owner (attribution.h): what XDP or
 * this worker credited to the old one on the flow's behalf goes to the new one (a debit is a
 * wrapping add). What XDP credited to the new owner directly (its tunnel was in the kernel
 * map first) stays. Call before crediting anything to the new owner. */
void mcp_worker_credit_move(struct mcp_worker *w, const struct mcp_flow *f, uint32_t from)
{
	uint64_t pkts[2] = { f->owner_credit_pkts[0], f->owner_credit_pkts[1] };

	if (!w->bypass_on || !w->bypass.credit || from == f->sub_id)
		return;
	credit_transfer(&w->bypass, from, f->sub_id, pkts, f->owner_credit_bytes);
}

void mcp_record_credit_move(const struct mcp_bypass_ops *ops, const struct mcp_flow_record *r,
			    uint32_t from, uint32_t to)
{
	if (ops && ops->credit && from != to)
		credit_transfer(ops, from, to, r->owner_credit_pkts, r->owner_credit_bytes);
}

/* Adds what the kernel counted since the last credit and moves last_ms to the kernel's time of
 * the flow's last packet (bpf_ktime is CLOCK_MONOTONIC: mapped onto the wall clock now). What
 * XDP counted on the flow without a subscriber goes to the subscriber's kernel counters. */
void mcp_worker_bypass_credit(struct mcp_worker *w, struct mcp_flow *f,
			      const struct mcp_flow_val *v)
{
	struct mcp_flow_bypass *b = f->bypass;

	for (int d = 0; d < 2; d++) {
		int up = (d == 0) == !!f->up_is_a; /* d 0 is lo -> hi */
		uint64_t dp = v->pkts[d] - b->pkts[d], db = v->bytes[d] - b->bytes[d];

		if (v->pkts[d] < b->pkts[d] || v->bytes[d] < b->bytes[d])
			continue; /* never moves backwards; a reinstalled entry restarts at 0 */
		f->pkts[up ? 0 : 1] += dp;
		f->bytes[up ? 0 : 1] += db;
		/* what the record learns only from packets the kernel kept: the other side's TEID
		 * (its first packet may have been an empty SYN-ACK), the FIN at the end */
		if (!f->teid[up ? 0 : 1])
			f->teid[up ? 0 : 1] = v->teid[d];
		f->tcp_flags[up ? 0 : 1] |= v->tcp_flags[d];
		b->pkts[d] = v->pkts[d];
		b->bytes[d] = v->bytes[d];
		if (v->nosub_pkts[d] >= b->nosub_pkts[d] && v->nosub_bytes[d] >= b->nosub_bytes[d]) {
			mcp_worker_credit_add(w, f, up ? 0 : 1, v->nosub_pkts[d] - b->nosub_pkts[d],
					      v->nosub_bytes[d] - b->nosub_bytes[d]);
			b->nosub_pkts[d] = v->nosub_pkts[d];
			b->nosub_bytes[d] = v->nosub_bytes[d];
		}
		w->stats.packets += dp;
		w->stats.bytes += db;
		w->stats.bypassed_packets += dp;
		w->stats.bypassed_bytes += db;
	}
	if (v->last_ns) {
		uint64_t now = mono_ns(), age_ms = now > v->last_ns ? (now - v->last_ns) / 1000000 : 0;
		uint64_t seen_ms = w->now_ms > age_ms ? w->now_ms - age_ms : 0;

		if (seen_ms > f->last_ms)
			f->last_ms = seen_ms;
	}
}

/* Before a record is written: credit the kernel's share; a final export also removes it. */
void mcp_worker_bypass_settle(struct mcp_worker *w, struct mcp_flow *f, int final)
{
	struct mcp_flow_val v;
	int err;

	if (!f->bypass)
		return;
	if (final && f->bypass->pending) {
		w->bypass.unpend(w->bypass.ctx, &f->key);
		f->bypass->pending = 0;
	}
	memset(&v, 0, sizeof(v));
	err = final ? w->bypass.take(w->bypass.ctx, &f->key, &v)
		    : w->bypass.peek(w->bypass.ctx, &f->key, &v);
	if (!err)
		mcp_worker_bypass_credit(w, f, &v);
	if (final) {
		free(f->bypass);
		f->bypass = NULL;
	}
}

static struct bypass_label *bypass_label(struct mcp_worker *w, const struct mcp_flow *f)
{
	uint16_t proto = f->dpi.master ? f->dpi.master : f->dpi.app;
	int i;

	for (i = 0; i < BYPASS_LABELS - 1; i++) {
		if (w->labels[i].used && w->labels[i].proto == proto)
			return &w->labels[i];
		if (!w->labels[i].used)
			break;
	}
	w->labels[i].used = 1;
	if (i < BYPASS_LABELS - 1)
		w->labels[i].proto = proto;
	return &w->labels[i];
}

/* A flow leaves the bypass's reach without having been installed: all its packets so far were
 * handled in userspace. */
void mcp_worker_bypass_count_never(struct mcp_worker *w, const struct mcp_flow *f)
{
	struct bypass_label *l = bypass_label(w, f);

	l->never_flows++;
	l->never_pkts += f->pkts[0] + f->pkts[1];
	w->stats.bypass_never_flows++;
	w->stats.bypass_never_packets += f->pkts[0] + f->pkts[1];
}

/* Puts f in the kernel flow map; pending: nDPI has not decided yet. 0 or -1. */
static int bypass_put(struct mcp_worker *w, struct mcp_flow *f, int pending)
{
	f->bypass = calloc(1, sizeof(*f->bypass));
	if (!f->bypass || w->bypass.install(w->bypass.ctx, &f->key,
					    (f->flags & MCP_FLOWF_HAS_SUB) ? f->sub_id : UINT32_MAX,
					    pending)) {
		free(f->bypass);
		f->bypass = NULL;
		w->stats.bypass_failed++;
		return -1;
	}
	f->bypass->pending = (uint8_t)pending;
	return 0;
}

/* A new TCP flow's SYN: in the kernel at once, pending, so that the empty segments of the
 * handshake (and any before nDPI decides) are counted there instead of sent up. */
void mcp_worker_bypass_install_pending(struct mcp_worker *w, struct mcp_flow *f)
{
	if (bypass_put(w, f, 1) == 0)
		w->stats.bypass_pending++;
}

/* nDPI has decided: later packets of this flow need only be counted, in the kernel. */
void mcp_worker_bypass_install(struct mcp_worker *w, struct mcp_flow *f)
{
	struct bypass_label *l;
	uint64_t at = f->pkts[0] + f->pkts[1];

	if (f->bypass && f->bypass->pending) {
		w->bypass.unpend(w->bypass.ctx, &f->key);
		f->bypass->pending = 0;
	} else if (f->bypass || (f->flags & MCP_FLOWF_CLOSING) || bypass_put(w, f, 0)) {
		return;
	}
	w->stats.bypass_installed++;
	w->stats.bypass_install_pkt_sum += at;
	l = bypass_label(w, f);
	f->bypass->label = (uint8_t)(l - w->labels);
	l->flows++;
	l->at_sum += at;
	if (at > l->at_max)
		l->at_max = at;
}

/* -v: one line per DPI label, then the totals (docs/live.md, "What determines the share"). */
static void bypass_log_profile(struct mcp_worker *w)
{
	const struct mcp_worker_stats *s = &w->stats;

	for (int i = 0; i < BYPASS_LABELS && w->labels[i].used; i++) {
		const struct bypass_label *l = &w->labels[i];
		const char *name = i == BYPASS_LABELS - 1 ? "other" :
				   w->dpi ? mcp_dpi_proto_name(w->dpi, l->proto) : "all";

		mcp_info("live: bypass %-10s %8" PRIu64 " flows installed at packet %.1f (mean, max %"
			 PRIu64 "), %.2f packets/flow after install; %" PRIu64 " flows (%" PRIu64
			 " packets) not installed\n", name, l->flows,
			 l->flows ? (double)l->at_sum / l->flows : 0.0, l->at_max,
			 l->flows ? (double)l->late / l->flows : 0.0, l->never_flows, l->never_pkts);
	}
	mcp_info("live: bypass userspace packets: %" PRIu64 " before install, %" PRIu64
		 " after install (in flight), %" PRIu64 " of %" PRIu64
		 " flows not installed (ended or still open before it); %" PRIu64
		 " counted in the kernel\n",
		 s->bypass_install_pkt_sum, s->bypass_late_packets, s->bypass_never_packets,
		 s->bypass_never_flows, s->bypassed_packets);
}

static void bypass_take_back(void *ctx, struct mcp_flow *f)
{
	struct mcp_worker *w = ctx;

	if (f->bypass) {
		mcp_worker_bypass_settle(w, f, 1);
	} else if (!(f->flags & MCP_FLOWF_BYPASS_TRIED)) {
		mcp_worker_bypass_count_never(w, f); /* still open, DPI undecided */
	}
	/* the kernel's subscriber counters go with the maps: credit what a session that came
	 * after the flow's last packet now attributes (the export would be too late) */
	mcp_worker_late_bind(w, f);
}

void mcp_worker_set_bypass(struct mcp_worker *w, const struct mcp_bypass_ops *ops)
{
	/* Turning it off (the maps are about to go): every flow takes its kernel share back
	 * and counts in userspace from now on. */
	if (w->bypass_on && !ops) {
		mcp_flow_table_foreach(w->flows, bypass_take_back, w);
		bypass_log_profile(w);
	}
	w->bypass_on = ops != NULL;
	if (ops)
		w->bypass = *ops;
}

void mcp_worker_bypass_off_lent(struct mcp_worker *w, struct mcp_sessions *lent)
{
	struct mcp_sessions *own = w->cfg.sessions;

	if (!own)
		w->cfg.sessions = lent;
	mcp_worker_set_bypass(w, NULL);
	w->cfg.sessions = own;
}

static int bypass_sync_one(void *arg, const struct mcp_flow_key *key,
			   const struct mcp_flow_val *val)
{
	struct mcp_worker *w = arg;
	struct mcp_flow *f = mcp_flow_table_lookup(w->flows, key, mcp_flow_key_hash(key));
	struct mcp_flow_val v;

	if (!f || !f->bypass) {
		/* left by a flow that ended without removing it (or by an earlier probe) */
		w->bypass.take(w->bypass.ctx, key, &v);
		w->stats.bypass_orphans++;
		return 0;
	}
	mcp_worker_bypass_credit(w, f, val);
	mcp_flow_table_touch(w->flows, f);
	return 0;
}

void mcp_worker_bypass_sync(struct mcp_worker *w, uint64_t now_ms)
{
	if (now_ms > w->now_ms)
		w->now_ms = now_ms;
	if (w->bypass_on)
		w->bypass.walk(w->bypass.ctx, bypass_sync_one, w);
}
