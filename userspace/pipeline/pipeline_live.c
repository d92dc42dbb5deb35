/* pipeline_live.c - what the pipeline does only in live mode: frames with the XDP program's
 * metadata, the wall-clock tick and the kernel bypass, for one worker or for the shards
 * (pipeline.h, docs/live.md). */
#include "pipeline/pipeline.h"
#include "pipeline/pipeline_internal.h"

#include <inttypes.h>
#include <string.h>

#include "pipeline/shards.h"

/* A T-PDU in a tunnel the kernel knows, whole (not a fragment): its metadata is trusted. */
static int meta_known_tpdu(const struct mcp_meta *m)
{
	const uint16_t want = MCP_META_F_KNOWN | MCP_META_F_TPDU;

	return m && (m->flags & (want | MCP_META_F_FRAG)) == want &&
	       m->sub_idx != MCP_META_SUB_NONE && m->dir != MCP_META_DIR_UNKNOWN;
}

/* The subscriber and direction the metadata names; 0 when the session table no longer has
 * that subscriber (deleted since the kernel's entry was read): the pipeline resolves then. */
static int meta_attrib(struct mcp_pipeline *p, const struct mcp_meta *m,
		       struct mcp_pipeline_owned *own)
{
	const struct mcp_subscriber *sub = mcp_sessions_by_id(p->sessions, m->sub_idx);

	if (!sub) {
		p->meta_no_sub++;
		return 0;
	}
	memset(&own->attr, 0, sizeof(own->attr));
	own->attr.has_sub = 1;
	own->attr.src_is_up = m->dir == MCP_META_DIR_UP;
	own->attr.sub_id = sub->id;
	memcpy(own->attr.imsi, sub->imsi, sizeof(own->attr.imsi) - 1);
	own->owner = m->worker;
	return 1;
}

static void frame_meta(struct mcp_pipeline *p, const uint8_t *frame, uint32_t caplen,
		       uint32_t wire_len, uint64_t ts_us, const struct mcp_meta *meta)
{
	struct mcp_pipeline_owned own;
	struct mcp_pkt pkt;
	int kind = -1;

	if (meta_known_tpdu(meta)) {
		struct mcp_tpdu_hint h = {
			.outer_l3 = meta->outer_l3, .inner_l3 = meta->inner_l3, .vlan = meta->vlan,
			.teid = meta->teid, .qfi = meta->qfi,
			.has_qfi = !!(meta->flags & MCP_META_F_QFI),
		};

		p->meta_known++;
		kind = mcp_decode_tpdu_at(p->decoder, frame, caplen, wire_len, ts_us, &h, &pkt);
		if (kind >= 0)
			p->meta_inner++;
	}
	if (kind < 0)
		kind = mcp_decode(p->decoder, 1 /* DLT_EN10MB */, frame, caplen, wire_len, ts_us,
				  &pkt);
	pkt.flags |= mcp_pipeline_meta_pkt_flags(meta ? meta->flags : MCP_META_F_ABSENT);
	if (kind == MCP_PKT_USER && pkt.tunnel == MCP_TUN_GTPU && meta_known_tpdu(meta) &&
	    meta_attrib(p, meta, &own))
		mcp_pipeline_packet(p, kind, &pkt, 0, &own, NULL);
	else
		mcp_pipeline_packet(p, kind, &pkt, 0, NULL, NULL);
}

void mcp_pipeline_frame_meta(struct mcp_pipeline *p, const uint8_t *frame, uint32_t caplen,
			     uint32_t wire_len, uint64_t ts_us, const struct mcp_meta *meta)
{
	frame_meta(p, frame, caplen, wire_len, ts_us, meta);
	if (p->view) /* a pending snapshot request of the RESP view (one load) */
		mcp_pipeline_view_serve(p);
}

void mcp_pipeline_flush_batch(struct mcp_pipeline *p)
{
	if (p->shards)
		mcp_shards_flush(p->shards);
}

uint32_t mcp_pipeline_workers(const struct mcp_pipeline *p)
{
	return p->shards ? mcp_shards_count(p->shards) : 1;
}

void mcp_pipeline_set_bypass(struct mcp_pipeline *p, const struct mcp_bypass_ops *const *ops)
{
	if (p->shards)
		mcp_shards_set_bypass(p->shards, ops);
	else if (p->worker)
		mcp_worker_set_bypass(p->worker, ops ? ops[0] : NULL);
}

void mcp_pipeline_tick(struct mcp_pipeline *p, uint64_t now_ms)
{
	if (p->finished)
		return;
	if (now_ms >= p->last_bypass_sync_ms + 1000) {
		/* before expiry: a flow busy in the kernel is not idle (the shards do the same) */
		p->last_bypass_sync_ms = now_ms;
		if (p->worker)
			mcp_worker_bypass_sync(p->worker, now_ms);
		if (p->mc) /* once a second too: the bound counters for P stats.<probe> */
			mcp_mc_probe_stats(p->mc, mcp_sessions_stats(p->sessions));
	}
	if (p->shards)
		mcp_shards_tick(p->shards, now_ms);
	else
		mcp_worker_expire(p->worker, now_ms);
	mcp_pipeline_tick_common(p, now_ms);
	if (p->view)
		mcp_pipeline_view_serve(p);
}

void mcp_pipeline_print_meta(const struct mcp_pipeline *p, FILE *f)
{
	if (!p->meta_known)
		return;
	fprintf(f, "  xdp metadata: known tunnel   %" PRIu64 " (decoded from inner_l3 %" PRIu64
		   ", subscriber gone %" PRIu64 ")\n", p->meta_known, p->meta_inner, p->meta_no_sub);
}
