// SPDX-License-Identifier: GPL-2.0
/* mcp_xdp.bpf.c - the mcprobe XDP fast path: parse, attribute GTP-U to subscribers, count,
 * bypass known flows, capture, and steer everything else to the AF_XDP socket of the queue.
 *
 * Ethernet / VLAN / MPLS / IPv4 / IPv6 / UDP / GTP-U (TS 29.281) with its extension chain
 * (PDU Session Container, TS 38.415) / inner IP / ports; GTP-C (TS 29.060, TS 29.274) is
 * recognised by port 2123 and always sent to userspace. Map layouts: include/mcp_map_layout.h;
 * metadata: include/mcp_meta.h; counters: include/mcp_stats.h. docs/xdp.md explains it all.
 *
 * Verdicts: malformed, not IP, or no socket on the queue -> XDP_PASS; bypassed flow ->
 * XDP_DROP (mirror mode) or XDP_PASS (inline mode); otherwise XDP_REDIRECT to mcp_xsks, or in
 * inline mode a copy to mcp_inline_ring and XDP_PASS.
 */
#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "mcp_gtp.h"
#include "mcp_map_layout.h"
#include "mcp_meta.h"
#include "mcp_stats.h"

#include "consts.h"
#include "maps_kern.h"
#include "parse_cursor.h"
#include "parse_eth.h"
#include "parse_ip.h"
#include "parse_l4.h"
#include "parse_gtp.h"
#include "parse_fast.h"

char LICENSE[] SEC("license") = "GPL";

/* Write the last metadata into mcp_last_meta too (tests set it before load). */
const volatile __u32 debug_meta = 0;
/* Tests set it to compare the full parse with mcp_parse_fast on the same frames. */
const volatile __u32 no_fast_parse = 0;
/* Buckets of mcp_tunnel_index - 1 (the loader sets both). */
const volatile __u32 tunnel_index_mask = 63;

/* st: this CPU's counters, looked up once per frame; idx < MCP_STATS__MAX. */
static __always_inline void mcp_count(struct mcp_xdp_stats *st, __u32 idx)
{
	*mcp_stat(st, idx) += 1;
}

/* Same value for both directions of a conversation (include/mcp_map_layout.h). */
static __always_inline __u32 mcp_sym_hash(const struct mcp_pinfo *pi)
{
	return mcp_flow_hash(&pi->src, &pi->dst, pi->sport, pi->dport, pi->proto);
}

#define mcp_barrier() asm volatile("" ::: "memory")

/* Tunnel lookup: a matching slot of the tunnel_index bucket (no kernel call), else the
 * tunnels hash map. Loads are not reordered with loads on x86, so compiler barriers around
 * the slot reads make the seq check sound. */
static __always_inline int mcp_tunnel_find(const struct mcp_tunnel_key *tk,
					   struct mcp_tunnel_val *tv)
{
	__u32 i = mcp_tunnel_key_hash(tk) & tunnel_index_mask, seq;
	struct mcp_tunnel_bucket *b = bpf_map_lookup_elem(&mcp_tunnel_index, &i);
	const __u32 *kw = (const __u32 *)tk->addr.b;
	struct mcp_tunnel_val *hv;
	int j;

	if (!b)
		goto slow;
	seq = *(volatile __u32 *)&b->seq;
	mcp_barrier();
	for (j = 0; j < MCP_TUNNEL_BUCKET_SLOTS; j++) {
		struct mcp_tunnel_slot *s = &b->slot[j];
		const __u32 *sw = (const __u32 *)s->key.addr.b;

		if (s->key.teid == tk->teid && s->key.pad == 1 && sw[3] == kw[3] &&
		    sw[2] == kw[2] && sw[1] == kw[1] && sw[0] == kw[0]) {
			*tv = s->val;
			mcp_barrier();
			if (!(seq & 1) && *(volatile __u32 *)&b->seq == seq)
				return 1;
			break; /* changed under us: ask the hash map */
		}
	}
slow:
	hv = bpf_map_lookup_elem(&mcp_tunnels, tk);
	if (!hv)
		return 0;
	*tv = *hv;
	return 1;
}

/* The flow_hints slot of this hash: 0 when no installed flow can have it; the high half
 * counts pending flows (include/mcp_map_layout.h). */
static __always_inline __u32 mcp_flow_hint(__u32 hash)
{
	__u32 slot = hash & (MCP_FLOW_HINT_SLOTS - 1), elem = slot / MCP_FLOW_HINT_PER_ELEM;
	struct mcp_flow_hint *fh = bpf_map_lookup_elem(&mcp_flow_hints, &elem);

	return fh ? fh->n[slot % MCP_FLOW_HINT_PER_ELEM] : 0;
}

/* The parse is one step per layer group; each takes the offset where its header starts in
 * pi->next_off, re-derives the packet pointers from ctx, and stores where the next header
 * starts. They used to be global (separately verified) functions; inlined, the verifier walks
 * every path of the whole program (~120k instructions processed, limit 1M) but each
 * bpf-to-bpf call cost ~13 ns per frame on a kernel with return-thunk mitigations (SRSO safe
 * RET), which was most of the parse cost (docs/xdp.md, "Cost"). */
#define MCP_MAX_OFF 1024 /* headers beyond this are not parsed (a page holds the frame) */

static __always_inline int mcp_cur_at(struct xdp_md *ctx, struct mcp_cur *cur, __u32 off)
{
	void *data = (void *)(long)ctx->data;

	if (off > MCP_MAX_OFF)
		return MCP_STOP;
	/* a no-op the compiler cannot drop: it may test one copy of off and add another, and
	 * the verifier needs the bound on the register that moves the packet pointer */
	asm volatile("%[o] &= 2047" : [o] "+r"(off));
	cur->start = data;
	cur->pos = data + off;
	return 0;
}

/* Ethernet, VLAN tags, MPLS: returns the EtherType of the IP header. */
static __always_inline int mcp_parse_l2(struct xdp_md *ctx, struct mcp_pinfo *pi)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct mcp_cur cur;
	int proto;

	if (!pi || mcp_cur_at(ctx, &cur, 0) < 0)
		return MCP_STOP;
	proto = parse_ethhdr(&cur, data_end, pi);
	if (proto < 0)
		return MCP_STOP;
	proto = parse_vlans(&cur, data_end, pi, proto);
	if (proto < 0)
		return MCP_STOP;
	proto = parse_mpls(&cur, data_end, pi, proto);
	if (proto < 0)
		return MCP_STOP;
	pi->next_off = mcp_off(&cur, cur.pos);
	return proto;
}

/* IPv4 or IPv6 at next_off: returns the L4 protocol. */
static __always_inline int mcp_parse_l3(struct xdp_md *ctx, struct mcp_pinfo *pi, int proto)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct mcp_cur cur;

	if (!pi || mcp_cur_at(ctx, &cur, pi->next_off) < 0)
		return MCP_STOP;
	proto = parse_ip(&cur, data_end, pi, proto);
	if (proto < 0)
		return MCP_STOP;
	pi->next_off = mcp_off(&cur, cur.pos);
	return proto;
}

/* Outer UDP at next_off: returns the UDP payload length. */
static __always_inline int mcp_parse_udp(struct xdp_md *ctx, struct mcp_pinfo *pi)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct mcp_cur cur;
	int plen;

	if (!pi || mcp_cur_at(ctx, &cur, pi->next_off) < 0)
		return MCP_STOP;
	plen = parse_udp(&cur, data_end, pi, pi->outer_l3);
	if (plen < 0)
		return MCP_STOP;
	pi->next_off = mcp_off(&cur, cur.pos);
	return plen;
}

/* GTP-U at next_off: returns the inner EtherType, 0 for signalling. */
static __always_inline int mcp_parse_gtpu(struct xdp_md *ctx, struct mcp_pinfo *pi,
					  int udp_payload)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct mcp_cur cur;
	int proto;

	if (!pi || udp_payload < 0 || mcp_cur_at(ctx, &cur, pi->next_off) < 0)
		return MCP_STOP;
	proto = parse_gtpu(&cur, data_end, pi, udp_payload);
	if (proto < 0)
		return MCP_STOP;
	pi->next_off = mcp_off(&cur, cur.pos);
	return proto;
}

/* User L4 header at next_off: ports. Returns 0. */
static __always_inline int mcp_parse_l4(struct xdp_md *ctx, struct mcp_pinfo *pi, int proto)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct mcp_cur cur;

	if (!pi || mcp_cur_at(ctx, &cur, pi->next_off) < 0)
		return MCP_STOP;
	return parse_l4_ports(&cur, data_end, pi, proto);
}

/* Parses the whole frame into pi, layer by layer (mcp_parse_fast takes the common frame in
 * one step first, see parse_fast.h). Returns 0 when pi describes something worth sending up,
 * MCP_STOP with pi->reason set otherwise. */
static __always_inline int mcp_parse(struct xdp_md *ctx, struct mcp_pinfo *pi)
{
	int proto, udp_payload;

	__builtin_memset(pi, 0, sizeof(*pi)); /* the steps set only what their headers have */
	pi->reason = MCP_PARSE__MAX;
	proto = mcp_parse_l2(ctx, pi);
	if (proto < 0)
		return MCP_STOP;
	pi->outer_l3 = pi->next_off;
	pi->inner_l3 = pi->next_off;
	proto = mcp_parse_l3(ctx, pi, proto);
	if (proto < 0)
		return MCP_STOP;
	if (pi->flags & MCP_META_F_FRAG) {
		pi->proto = proto;
		return 0; /* reassembly is userspace work */
	}
	if (proto != IPPROTO_UDP)
		return mcp_parse_l4(ctx, pi, proto);

	pi->inner_l4 = pi->next_off;
	udp_payload = mcp_parse_udp(ctx, pi);
	if (udp_payload < 0)
		return MCP_STOP;
	pi->udp_end = pi->next_off + udp_payload;
	pi->proto = IPPROTO_UDP;
	pi->flags |= MCP_META_F_PORTS;
	if (pi->dport == MCP_GTPC_PORT || pi->sport == MCP_GTPC_PORT) {
		if (pi->dport != MCP_GTPU_PORT) {
			pi->flags |= MCP_META_F_GTPC;
			return 0;
		}
	}
	if (pi->dport != MCP_GTPU_PORT && pi->sport != MCP_GTPU_PORT)
		return 0;

	/* GTP-U: from here the outer addresses are the tunnel's, the user packet is inside. */
	mcp_ip_copy(&pi->outer_dst, &pi->dst);
	if (pi->flags & MCP_META_F_INNER_V6)
		pi->flags |= MCP_META_F_OUTER_V6;
	proto = mcp_parse_gtpu(ctx, pi, udp_payload);
	if (proto <= 0)
		return proto; /* 0: signalling, sent up as is */
	pi->inner_l3 = pi->next_off;
	pi->inner_l4 = 0;
	pi->flags &= ~MCP_META_F_PORTS;
	proto = mcp_parse_l3(ctx, pi, proto);
	if (proto < 0)
		return MCP_STOP;
	/* the user packet must fit in the datagram, or its length would inflate the counters */
	if ((__u32)pi->inner_l3 + pi->ip_len > pi->udp_end) {
		pi->reason = MCP_PARSE_BAD_IP_LEN;
		return MCP_STOP;
	}
	return mcp_parse_l4(ctx, pi, proto);
}

/* The metadata of a frame, every field written (m may be the frame's metadata area). */
static __always_inline void mcp_meta_fill(struct mcp_meta *m, const struct mcp_pinfo *pi,
					  __u32 sub_idx, __u8 dir, __u16 worker)
{
	m->magic = MCP_META_MAGIC;
	m->version = MCP_META_VERSION;
	m->dir = dir;
	m->sub_idx = sub_idx;
	m->teid = pi->teid;
	m->flags = pi->flags;
	m->worker = worker;
	m->outer_l3 = pi->outer_l3;
	m->inner_l3 = pi->inner_l3;
	m->vlan = pi->vlan;
	m->qfi = pi->qfi;
	m->pad = 0;
}

#include "capture_kern.h"

/* Counts the frame on its installed flow, if any. hint is the flow's flow_hints slot; sub_idx
 * the subscriber credited with the frame, MCP_META_SUB_NONE if none (userspace credits it). */
static __always_inline int mcp_bypass(const struct mcp_pinfo *pi, __u32 hint, __u32 sub_idx)
{
	struct mcp_flow_key key;
	struct mcp_flow_val *fv;
	int dir;

	dir = mcp_flow_key_make(&key, &pi->src, &pi->dst, pi->sport, pi->dport, pi->proto,
				pi->vlan);
	fv = bpf_map_lookup_elem(&mcp_flows, &key);
	if (!fv)
		return MCP_BYPASS_NONE;
	dir &= 1;
	__sync_fetch_and_add(&fv->pkts[dir], 1);
	__sync_fetch_and_add(&fv->bytes[dir], pi->ip_len);
	if (sub_idx == MCP_META_SUB_NONE) {
		__sync_fetch_and_add(&fv->nosub_pkts[dir], 1);
		__sync_fetch_and_add(&fv->nosub_bytes[dir], pi->ip_len);
	}
	fv->last_ns = bpf_ktime_get_coarse_ns(); /* jiffies resolution is enough for expiry */
	/* what the record would have learnt from the packets userspace no longer sees; written
	 * only when new, so the cache line stays shared while nothing changes */
	if ((pi->flags & MCP_META_F_GTPU) && !fv->teid[dir])
		fv->teid[dir] = pi->teid;
	if (pi->tcp_flags & ~fv->tcp_flags[dir])
		fv->tcp_flags[dir] |= pi->tcp_flags;
	if ((hint & ~MCP_FLOW_HINT_COUNT_MASK) && !pi->tcp_bare)
		return MCP_BYPASS_COUNTED; /* a pending flow's payload: nDPI needs it */
	return MCP_BYPASS_DONE;
}

/* Counts what kind of frame this is (GTP-C, GTP-U, signalling, plain, fragment). */
static __always_inline void mcp_count_kind(struct mcp_xdp_stats *st, const struct mcp_pinfo *pi)
{
	if (pi->flags & MCP_META_F_GTPC) {
		mcp_count(st, MCP_STAT_XDP(MCP_XDP_GTPC));
	} else if (pi->flags & MCP_META_F_GTPU) {
		mcp_count(st, MCP_STAT_XDP(MCP_XDP_GTPU));
		if (!(pi->flags & MCP_META_F_TPDU))
			mcp_count(st, MCP_STAT_XDP(MCP_XDP_GTPU_SIGNAL));
	} else {
		mcp_count(st, MCP_STAT_XDP(MCP_XDP_NOT_TUNNELED));
	}
	if (pi->flags & MCP_META_F_FRAG)
		mcp_count(st, MCP_STAT_XDP(MCP_XDP_FRAGMENT));
}

/* What the tunnel lookup of a T-PDU tells the rest of the program. */
struct mcp_tunnel_hit {
	__u32 sub_idx; /* MCP_META_SUB_NONE when the tunnel is unknown */
	__u32 owner;   /* steering input: the subscriber when known, else the flow hash */
	__u8 dir;      /* MCP_META_DIR_* */
};

/* A T-PDU: attributes it to its subscriber through the tunnel (TEID + outer destination),
 * counts it on the subscriber, and copies it to the capture ring when the subscriber is under
 * capture. Fills th; th->owner stays as set by the caller when the tunnel is unknown. */
static __always_inline void mcp_known_tunnel(struct xdp_md *ctx, struct mcp_pinfo *pi,
					     const struct mcp_xdp_config *cfg,
					     struct mcp_xdp_stats *st, __u32 nworkers,
					     struct mcp_tunnel_hit *th)
{
	struct mcp_sub_counters *sc;
	struct mcp_tunnel_key tk;
	struct mcp_tunnel_val tv;
	struct mcp_meta meta;
	struct mcp_capture_val *cap;
	__u32 idx, follow;

	tk.teid = pi->teid;
	tk.pad = 0;
	mcp_ip_copy(&tk.addr, &pi->outer_dst);
	if (!mcp_tunnel_find(&tk, &tv)) {
		mcp_count(st, MCP_STAT_XDP(MCP_XDP_NO_TUNNEL));
		/* a tunnel the probe has not installed yet: captures that follow GTP-C find it */
		follow = mcp_capture_follow();
		if (follow) {
			mcp_meta_fill(&meta, pi, MCP_META_SUB_NONE, MCP_META_DIR_UNKNOWN, 0);
			mcp_capture_frame(ctx, &meta, cfg, st, follow);
		}
		return;
	}
	idx = tv.sub_idx;
	mcp_count(st, MCP_STAT_XDP(MCP_XDP_KNOWN_TUNNEL));
	pi->flags |= MCP_META_F_KNOWN;
	th->sub_idx = idx;
	th->dir = tv.dir;
	th->owner = idx; /* worker from config, so a new worker count applies at once */
	sc = bpf_map_lookup_elem(&mcp_sub_counters, &idx);
	if (sc) {
		if (tv.dir == MCP_META_DIR_UP) {
			sc->pkts_up++;
			sc->bytes_up += pi->ip_len;
		} else {
			sc->pkts_down++;
			sc->bytes_down += pi->ip_len;
		}
	}
	cap = bpf_map_lookup_elem(&mcp_capture, &idx);
	if (cap && cap->slots) {
		pi->flags |= MCP_META_F_CAPTURE;
		mcp_meta_fill(&meta, pi, idx, tv.dir, idx % nworkers);
		mcp_capture_frame(ctx, &meta, cfg, st, cap->slots);
	}
}

/* Frames that may belong to an installed flow: user packets, plain or in a T-PDU, whole. */
static __always_inline int mcp_bypass_candidate(const struct mcp_pinfo *pi)
{
	return (pi->flags & (MCP_META_F_GTPC | MCP_META_F_FRAG)) == 0 &&
	       (!(pi->flags & MCP_META_F_GTPU) || (pi->flags & MCP_META_F_TPDU));
}

/* Inline: AF_XDP would take the frame away from the stack, so userspace gets a copy (the
 * whole frame, up to MCP_CAPTURE_MAX_SNAP bytes) and the frame goes on. Returns the verdict
 * counter. */
static __always_inline __u32 mcp_send_inline(struct xdp_md *ctx, const struct mcp_meta *meta,
					     struct mcp_xdp_stats *st)
{
	if (mcp_copy_frame(ctx, meta, MCP_CAPTURE_MAX_SNAP, &mcp_inline_ring) == 0)
		return MCP_XDP_COPIED;
	mcp_count(st, MCP_STAT_XDP(MCP_XDP_COPY_LOST));
	return MCP_XDP_PASSED;
}

/* end == ctx->data, tested apart from the bounds check: merged with it, the compiler would
 * turn both into one != that does not prove the bounds to the verifier. */
static __always_inline int meta_is_exactly(void *end, struct xdp_md *ctx)
{
	asm volatile("" : "+r"(end));
	return end >= (void *)(long)ctx->data;
}

/* Mirror: the metadata goes in front of the frame and the frame to the AF_XDP socket of its
 * queue. Returns the XDP action and sets *verdict. */
static __always_inline int mcp_send_xsk(struct xdp_md *ctx, const struct mcp_pinfo *pi,
					struct mcp_xdp_stats *st, const struct mcp_tunnel_hit *th, __u16 worker, __u32 *verdict)
{
	struct mcp_meta *m;
	int action;

	/* The kernel refuses to grow a metadata area past 32 bytes: if the area is already ours
	 * (the previous iteration of a BPF_PROG_TEST_RUN repeat does not reset it), ours goes into
	 * it; one of another size (left by a program before us) is not ours to use, since
	 * userspace reads sizeof(*m) bytes right before the frame. */
	bpf_xdp_adjust_meta(ctx, -(int)sizeof(*m));
	m = (void *)(long)ctx->data_meta;
	if ((void *)(m + 1) <= (void *)(long)ctx->data && meta_is_exactly(m + 1, ctx))
		mcp_meta_fill(m, pi, th->sub_idx, th->dir, worker);
	else
		mcp_count(st, MCP_STAT_XDP(MCP_XDP_META_FAILED));
	/* No lookup of the socket first: bpf_redirect_map says XDP_PASS when the queue has none,
	 * and the metadata in front of a passed frame is ignored by the stack. */
	action = bpf_redirect_map(&mcp_xsks, ctx->rx_queue_index, XDP_PASS);
	if (action == XDP_REDIRECT)
		*verdict = MCP_XDP_REDIRECTED;
	else
		mcp_count(st, MCP_STAT_XDP(MCP_XDP_NO_XSK));
	return action;
}

/* The table of contents: parse, classify, attribute, bypass, then inline copy or AF_XDP. */
SEC("xdp")
int mcp_xdp_prog(struct xdp_md *ctx)
{
	struct mcp_pinfo pi; /* written by mcp_parse */
	struct mcp_meta meta;
	struct mcp_xdp_config *cfg;
	struct mcp_xdp_stats *st;
	struct mcp_tunnel_hit th = { .sub_idx = MCP_META_SUB_NONE, .dir = MCP_META_DIR_UNKNOWN };
	__u32 zero = 0, nworkers, hash, hint, verdict = MCP_XDP_PASSED;
	__u16 worker;
	int action = XDP_PASS;

	st = bpf_map_lookup_elem(&mcp_stats, &zero);
	if (!st)
		return XDP_PASS; /* cannot happen: one entry per CPU */
	mcp_count(st, MCP_STAT_XDP(MCP_XDP_RX));
	cfg = bpf_map_lookup_elem(&mcp_config, &zero);
	if (!cfg)
		goto out;

	if (!no_fast_parse && mcp_parse_fast(ctx, &pi) == 0) {
		mcp_count(st, MCP_STAT_XDP(MCP_XDP_FAST_PARSE));
	} else if (mcp_parse(ctx, &pi) < 0) {
		if (pi.reason < MCP_PARSE__MAX)
			mcp_count(st, pi.reason);
		goto out;
	} else if (pi.reason < MCP_PARSE__MAX) {
		mcp_count(st, pi.reason); /* malformed yet accounted: GTP-U length (parse_gtp.h) */
	}

	hash = mcp_sym_hash(&pi);
	nworkers = cfg->nworkers ? cfg->nworkers : 1;
	th.owner = hash;
	if (cfg->flags & MCP_CFG_F_INLINE)
		pi.flags |= MCP_META_F_INLINE;
	mcp_count_kind(st, &pi);
	if (pi.flags & MCP_META_F_TPDU)
		mcp_known_tunnel(ctx, &pi, cfg, st, nworkers, &th);
	else if (mcp_is_control(&pi))
		mcp_capture_control(ctx, &pi, cfg, st);
	worker = th.owner % nworkers; /* one division per frame */

	if (mcp_bypass_candidate(&pi) && (hint = mcp_flow_hint(hash)) != 0) {
		int b = mcp_bypass(&pi, hint, th.sub_idx);

		if (b == MCP_BYPASS_DONE) {
			verdict = MCP_XDP_BYPASSED;
			action = (cfg->flags & MCP_CFG_F_INLINE) ? XDP_PASS : XDP_DROP;
			goto out;
		}
		if (b == MCP_BYPASS_COUNTED) {
			pi.flags |= MCP_META_F_KCOUNTED;
			mcp_count(st, MCP_STAT_XDP(MCP_XDP_PENDING_UP));
		}
	}

	if (debug_meta) {
		struct mcp_meta *dm = bpf_map_lookup_elem(&mcp_last_meta, &zero);

		if (dm)
			mcp_meta_fill(dm, &pi, th.sub_idx, th.dir, worker);
	}
	if (cfg->flags & MCP_CFG_F_INLINE) {
		mcp_meta_fill(&meta, &pi, th.sub_idx, th.dir, worker);
		verdict = mcp_send_inline(ctx, &meta, st);
		goto out;
	}
	action = mcp_send_xsk(ctx, &pi, st, &th, worker, &verdict);
out:
	if (action == XDP_DROP && verdict != MCP_XDP_BYPASSED)
		verdict = MCP_XDP_DROPPED;
	mcp_count(st, MCP_STAT_XDP(verdict));
	return action;
}
