/* cap_select.c - selects the frames of the captured IMSIs by following GTP-C (cap_select.h).
 *
 * GTPv1-C TS 29.060, GTPv2-C TS 29.274, GTP-U TS 29.281. The session table does the
 * following: handovers move tunnels, re-attaches bring new ones and a new UE IP, deletes keep
 * the old ones resolvable through the grace period (end markers and stragglers still belong
 * to the subscriber). This file only asks it who owns each frame.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "capture/cap_pfcp.h"
#include "capture/cap_select.h"
#include "control/gtpc.h"
#include "decode/decode.h"
#include "session/session.h"
#include "session/session_5g.h"

/* Selected exchanges remembered so that their answers are selected too. A request is
 * answered within seconds (T3 x N3); 256 open exchanges of the captured subscribers is more
 * than a handful of subscribers ever have. */
#define MCP_CAP_EXCH 256
#define MCP_CAP_MAX_PIGGYBACK 4 /* v2 messages examined per datagram */
#define MCP_CAP_EXPIRE_EVERY_MS 100

struct mcp_cap_exch {
	struct mcp_ip a, b; /* requester, responder */
	uint32_t seq;
	uint8_t version, used;
};

struct mcp_cap_select {
	struct mcp_imsi_set imsis;
	int control;
	struct mcp_decoder *dec;
	struct mcp_sessions *sess;
	struct mcp_cap_pfcp *pfcp;  /* with control: the IMSIs' PFCP sessions */
	struct mcp_cap_exch exch[MCP_CAP_EXCH];
	uint32_t exch_next;
	uint64_t last_expire_ms;
	struct mcp_gtpc_msg msg;
	struct mcp_cap_select_stats st;
};

struct mcp_cap_select *mcp_cap_select_create(const struct mcp_imsi_set *imsis, int control)
{
	struct mcp_cap_select *s = calloc(1, sizeof(*s));
	struct mcp_session_cfg scfg;

	if (!s)
		return NULL;
	memset(&scfg, 0, sizeof(scfg));
	if (mcp_imsi_set_copy(&s->imsis, imsis))
		goto err;
	s->control = control;
	s->dec = mcp_decoder_create(NULL);
	s->sess = mcp_sessions_create(&scfg);
	s->pfcp = mcp_cap_pfcp_create();
	if (!s->dec || !s->sess || !s->pfcp)
		goto err;
	return s;
err:
	mcp_cap_select_destroy(s);
	return NULL;
}

void mcp_cap_select_destroy(struct mcp_cap_select *s)
{
	if (!s)
		return;
	if (s->dec)
		mcp_decoder_destroy(s->dec);
	if (s->sess)
		mcp_sessions_destroy(s->sess);
	mcp_cap_pfcp_destroy(s->pfcp);
	mcp_imsi_set_free(&s->imsis);
	free(s);
}

static int mcp_cap_sub_selected(const struct mcp_cap_select *s, const struct mcp_subscriber *sub)
{
	return sub && mcp_imsi_set_has(&s->imsis, sub->imsi);
}

/* A header TEID that is one of the captured subscribers' control TEIDs. */
static int mcp_cap_ctrl_teid_selected(struct mcp_cap_select *s, uint32_t teid)
{
	uint32_t i;

	if (!teid)
		return 0;
	for (i = 0; i < s->imsis.n; i++) {
		const struct mcp_subscriber *sub = mcp_sessions_by_imsi(s->sess, s->imsis.imsi[i]);

		if (sub && (sub->ctrl_teid[0] == teid || sub->ctrl_teid[1] == teid))
			return 1;
	}
	return 0;
}

static int mcp_cap_exch_find(const struct mcp_cap_select *s, const struct mcp_gtpc_msg *m,
			     const struct mcp_pkt *pkt)
{
	uint32_t i;

	for (i = 0; i < MCP_CAP_EXCH; i++) {
		const struct mcp_cap_exch *e = &s->exch[i];

		if (e->used && e->seq == m->seq && e->version == m->version &&
		    !memcmp(&e->a, &pkt->dst, sizeof(e->a)) && !memcmp(&e->b, &pkt->src, sizeof(e->b)))
			return 1;
	}
	return 0;
}

static void mcp_cap_exch_add(struct mcp_cap_select *s, const struct mcp_gtpc_msg *m,
			     const struct mcp_pkt *pkt)
{
	struct mcp_cap_exch *e = &s->exch[s->exch_next++ % MCP_CAP_EXCH];

	e->a = pkt->src;
	e->b = pkt->dst;
	e->seq = m->seq;
	e->version = m->version;
	e->used = 1;
}

/* Decides before the table sees the message, so that a Delete still finds its session. */
static int mcp_cap_control_selected(struct mcp_cap_select *s, const struct mcp_pkt *pkt)
{
	const uint8_t *p = pkt->payload;
	uint32_t left = pkt->payload_len;
	int i, hit = 0, rc;

	for (i = 0; i < MCP_CAP_MAX_PIGGYBACK && left; i++) {
		/* a message cut short still names what its header and first IEs say */
		memset(&s->msg, 0, offsetof(struct mcp_gtpc_msg, bearers));
		rc = mcp_gtpc_decode(p, left, &s->msg);
		if (mcp_imsi_set_has(&s->imsis, s->msg.imsi) ||
		    mcp_cap_ctrl_teid_selected(s, s->msg.teid) || mcp_cap_exch_find(s, &s->msg, pkt))
			hit = 1;
		if (hit && mcp_gtpc_is_request(s->msg.version, s->msg.type))
			mcp_cap_exch_add(s, &s->msg, pkt);
		if (rc <= 0 || !s->msg.piggyback || (uint32_t)rc >= left)
			break;
		p += rc;
		left -= (uint32_t)rc;
	}
	return hit;
}

static int mcp_cap_user_selected(struct mcp_cap_select *s, const struct mcp_pkt *pkt)
{
	uint8_t dir;

	if (pkt->tunnel == MCP_TUN_GTPU)
		return mcp_cap_sub_selected(s, mcp_sessions_by_tunnel(s->sess, pkt->teid,
								      &pkt->outer_dst, &dir));
	if (pkt->kind != MCP_PKT_USER)
		return 0;
	/* Untunnelled (SGi / N6 side): the UE address names the subscriber. */
	return mcp_cap_sub_selected(s, mcp_sessions_by_ue_ip(s->sess, &pkt->src)) ||
	       mcp_cap_sub_selected(s, mcp_sessions_by_ue_ip(s->sess, &pkt->dst));
}

int mcp_cap_select_frame(struct mcp_cap_select *s, int dlt, const uint8_t *frame,
			 uint32_t caplen, uint32_t wire_len, uint64_t ts_us)
{
	struct mcp_pkt pkt;
	uint64_t ts_ms = ts_us / 1000;
	int kind, hit = 0;

	s->st.frames++;
	kind = mcp_decode(s->dec, dlt, frame, caplen, wire_len, ts_us, &pkt);
	if (ts_ms >= s->last_expire_ms + MCP_CAP_EXPIRE_EVERY_MS) {
		s->last_expire_ms = ts_ms;
		mcp_sessions_expire(s->sess, ts_ms);
	}
	switch (kind) {
	case MCP_PKT_GTPC:
		if (s->control && mcp_cap_control_selected(s, &pkt)) {
			hit = 1;
			s->st.control++;
		}
		mcp_sessions_handle_gtpc(s->sess, &pkt);
		return hit;
	case MCP_PKT_FRAG_HELD:
		s->st.frag_held++;
		return 0;
	case MCP_PKT_MALFORMED:
		s->st.malformed++;
		break;
	default:
		break;
	}
	if (kind == MCP_PKT_USER && mcp_s5g_is_pfcp(&pkt)) {
		hit = s->control && mcp_cap_pfcp_selected(s->pfcp, &s->imsis, &pkt);
		s->st.control += (uint64_t)hit;
		return hit;
	}
	hit = mcp_cap_user_selected(s, &pkt);
	s->st.user += hit;
	return hit;
}

const struct mcp_cap_select_stats *mcp_cap_select_stats(const struct mcp_cap_select *s)
{
	return &s->st;
}
