/* capture_kern.h - copies of frames for mcp-capture's slots and for the inline ring.
 *
 * Included by mcp_xdp.bpf.c after mcp_count() and mcp_meta_fill(), which it uses. A frame is
 * copied (snaplen bytes, with a header carrying its metadata) into a per-CPU scratch record,
 * then output to the ring of every capture slot that wants it; each slot counts its own copies
 * and losses (docs/capture.md).
 */
#ifndef MCP_CAPTURE_KERN_H
#define MCP_CAPTURE_KERN_H

/* Copies the first cap bytes of the frame, with a header carrying the metadata, into the
 * per-CPU scratch record. Returns the record, or NULL when the copy failed. */
static __always_inline struct mcp_capture_rec *mcp_copy_rec(struct xdp_md *ctx,
							    const struct mcp_meta *meta, __u32 cap)
{
	__u32 zero = 0, len = ctx->data_end - ctx->data;
	struct mcp_capture_rec *rec = bpf_map_lookup_elem(&mcp_capture_buf, &zero);

	if (!rec)
		return NULL;
	if (cap == 0 || cap > MCP_CAPTURE_MAX_SNAP)
		cap = MCP_CAPTURE_MAX_SNAP;
	if (cap > len)
		cap = len;
	if (cap < 1)
		return NULL;
	cap = ((cap - 1) & (MCP_CAPTURE_MAX_SNAP - 1)) + 1; /* no-op, but the verifier sees 1..max */
	if (bpf_xdp_load_bytes(ctx, 0, rec->data, cap) < 0)
		return NULL;
	rec->hdr.ts_ns = bpf_ktime_get_ns();
	rec->hdr.wire_len = len;
	rec->hdr.cap_len = cap;
	rec->hdr.ifindex = ctx->ingress_ifindex;
	rec->hdr.rx_queue = ctx->rx_queue_index;
	rec->hdr.meta = *meta;
	return rec;
}

/* The scratch record into a ring buffer. 0, or -1 when the ring was full. */
static __always_inline int mcp_rec_output(struct mcp_capture_rec *rec, void *ring)
{
	__u32 cap = ((rec->hdr.cap_len - 1) & (MCP_CAPTURE_MAX_SNAP - 1)) + 1;

	return bpf_ringbuf_output(ring, rec, sizeof(rec->hdr) + cap, 0) == 0 ? 0 : -1;
}

/* Copies the frame into a ring buffer (the inline ring). 0, or -1 when full or failed. */
static __always_inline int mcp_copy_frame(struct xdp_md *ctx, const struct mcp_meta *meta,
					  __u32 cap, void *ring)
{
	struct mcp_capture_rec *rec = mcp_copy_rec(ctx, meta, cap);

	return rec ? mcp_rec_output(rec, ring) : -1;
}

/* The frame, snaplen bytes, into the ring of every capture slot in slots (mcp-capture). Each
 * slot counts its own copies and losses, so one capture's full ring shows in its own count. */
static __always_inline void mcp_capture_frame(struct xdp_md *ctx, const struct mcp_meta *meta,
					      const struct mcp_xdp_config *cfg,
					      struct mcp_xdp_stats *st, __u32 slots)
{
	struct mcp_capture_rec *rec = mcp_copy_rec(ctx, meta, cfg->snaplen);
	__u32 zero = 0, s;
	struct mcp_capture_stats *cs = bpf_map_lookup_elem(&mcp_capture_stats, &zero);

	if (!cs)
		return;
	for (s = 0; s < MCP_CAPTURE_SLOTS; s++) {
		__u32 key = s, i = s & (MCP_CAPTURE_SLOTS - 1); /* the key's address is taken */
		void *ring;

		if (!(slots & (1u << s)))
			continue;
		ring = bpf_map_lookup_elem(&mcp_capture_rings, &key);
		if (rec && ring && mcp_rec_output(rec, ring) == 0) {
			cs->copied[i]++;
			mcp_count(st, MCP_STAT_XDP(MCP_XDP_CAPTURED));
		} else {
			cs->lost[i]++;
			mcp_count(st, MCP_STAT_XDP(MCP_XDP_CAPTURE_LOST));
		}
	}
}

/* Slots that follow the control plane (GTP-C, PFCP, T-PDUs of tunnels not installed yet), or
 * 0: one array load per such frame. */
static __always_inline __u32 mcp_capture_follow(void)
{
	__u32 zero = 0;
	struct mcp_capture_slots *cs = bpf_map_lookup_elem(&mcp_capture_slots, &zero);

	return cs ? cs->follow : 0;
}

#define MCP_BYPASS_NONE    0 /* no installed flow: userspace counts the frame */
#define MCP_BYPASS_DONE    1 /* counted here, nothing for userspace */
#define MCP_BYPASS_COUNTED 2 /* counted here, and userspace still wants it (pending flow) */

/* GTP-C, or PFCP (UDP port 8805, TS 29.244): what captures that follow sessions read. */
static __always_inline int mcp_is_control(const struct mcp_pinfo *pi)
{
	return (pi->flags & MCP_META_F_GTPC) ||
	       (pi->proto == IPPROTO_UDP && !(pi->flags & MCP_META_F_GTPU) &&
		(pi->sport == MCP_PFCP_PORT || pi->dport == MCP_PFCP_PORT));
}

/* A control message, copied to the captures that follow sessions (they select it). */
static __always_inline void mcp_capture_control(struct xdp_md *ctx, const struct mcp_pinfo *pi,
						const struct mcp_xdp_config *cfg,
						struct mcp_xdp_stats *st)
{
	__u32 follow = mcp_capture_follow();
	struct mcp_meta meta;

	if (!follow)
		return;
	mcp_meta_fill(&meta, pi, MCP_META_SUB_NONE, MCP_META_DIR_UNKNOWN, 0);
	mcp_capture_frame(ctx, &meta, cfg, st, follow);
}

#endif /* MCP_CAPTURE_KERN_H */
