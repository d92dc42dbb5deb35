/* session_apply.c - what one accepted GTP-C exchange (request + response) does to the session
 * table: GTPv1-C Create/Update/Delete PDP Context (TS 29.060 7.3), GTPv2-C Create Session,
 * Modify Bearer, Delete Session, Create/Update/Delete Bearer, Release Access Bearers
 * (TS 29.274 7.2). Direction of a user-plane F-TEID: GTPv2 by interface type (8.22),
 * GTPv1 by who sent it (the SGSN's TEID Data I receives downlink, the GGSN's uplink).
 */
#include <string.h>

#include "session/session_internal.h"

static const struct mcp_ip *mcp_fteid_addr(const struct mcp_gtpc_fteid *f)
{
	if (f->has_v4)
		return &f->v4;
	if (f->has_v6)
		return &f->v6;
	return NULL;
}

static int mcp_copy_str(char *dst, size_t sz, const char *src)
{
	if (!src[0] || !strncmp(dst, src, sz))
		return 0;
	mcp_sess_strcpy(dst, src, sz);
	return 1;
}

/* Identities and RAT carried by a message. Returns 1 if anything changed. */
static int mcp_apply_ids(struct mcp_sess_ent *e, const struct mcp_gtpc_msg *m)
{
	int ch = 0;

	ch |= mcp_copy_str(e->sub.msisdn, sizeof(e->sub.msisdn), m->msisdn);
	ch |= mcp_copy_str(e->sub.imei, sizeof(e->sub.imei), m->imei);
	ch |= mcp_copy_str(e->sub.apn, sizeof(e->sub.apn), m->apn);
	if (m->has_rat && e->sub.rat != m->rat) {
		e->sub.rat = m->rat;
		ch = 1;
	}
	if (e->sub.gtp_version != m->version) {
		e->sub.gtp_version = m->version;
		ch = 1;
	}
	return ch;
}

static int mcp_msg_has_ue(const struct mcp_gtpc_msg *m)
{
	return (m->has_ue_v4 && !mcp_ip_is_zero(&m->ue_v4) &&
		memcmp(m->ue_v4.b + 12, "\0\0\0\0", 4)) ||
	       (m->has_ue_v6 && !mcp_ip_is_zero(&m->ue_v6));
}

static int mcp_apply_ue(struct mcp_sessions *s, struct mcp_sess_ent *e, const struct mcp_gtpc_msg *m)
{
	int ch = 0;

	if (m->has_ue_v4 && memcmp(m->ue_v4.b + 12, "\0\0\0\0", 4))
		ch |= mcp_sess_add_ue(s, e, &m->ue_v4);
	if (m->has_ue_v6 && !mcp_ip_is_zero(&m->ue_v6))
		ch |= mcp_sess_add_ue(s, e, &m->ue_v6);
	return ch;
}

/* The UE address of an exchange: the response's (assigned), else a static one requested. */
static int mcp_apply_ue_pair(struct mcp_sessions *s, struct mcp_sess_ent *e,
			     const struct mcp_gtpc_msg *req, const struct mcp_gtpc_msg *rsp)
{
	return mcp_apply_ue(s, e, mcp_msg_has_ue(rsp) ? rsp : req);
}

static int mcp_apply_ctrl_v2(struct mcp_sessions *s, struct mcp_sess_ent *e,
			     const struct mcp_gtpc_msg *m)
{
	int i, ch = 0;

	/* instance 1 (the PGW's, carried on S11/S4) first, so that ctrl_teid[] ends up with
	 * the sender's own F-TEID (instance 0) */
	for (i = 0; i < 2 * m->nctrl; i++) {
		const struct mcp_gtpc_fteid *f = &m->ctrl[i % m->nctrl];
		enum mcp_gtpc_iface_role role = mcp_gtpc_iface_role(f->iface);
		const struct mcp_ip *a = mcp_fteid_addr(f);

		if ((f->instance == 0) != (i >= m->nctrl) || !f->teid)
			continue;
		if (!a || (role != MCP_GTPC_ROLE_CTRL_CORE && role != MCP_GTPC_ROLE_CTRL_ACCESS))
			continue;
		ch |= mcp_sess_add_ctrl(s, e, f->teid, a, role == MCP_GTPC_ROLE_CTRL_ACCESS);
	}
	return ch;
}

static int mcp_add_ctrl_v1(struct mcp_sessions *s, struct mcp_sess_ent *e,
			   const struct mcp_gtpc_fteid *f, int side)
{
	static const struct mcp_ip zero;
	const struct mcp_ip *a = mcp_fteid_addr(f);

	return mcp_sess_add_ctrl(s, e, f->teid, a ? a : &zero, (uint8_t)side);
}

static uint8_t mcp_tunnel_lbi(const struct mcp_sess_ent *e, uint8_t ebi)
{
	int i;

	for (i = 0; i < e->sub.ntunnels; i++)
		if (e->sub.tunnels[i].ebi == ebi)
			return e->tun_lbi[i];
	return ebi;
}

/* User-plane F-TEIDs of one bearer context. dir_v1: direction for GTPv1 (iface 0xff). */
static int mcp_apply_bearer(struct mcp_sessions *s, struct mcp_sess_ent *e,
			    const struct mcp_gtpc_bearer *b, uint8_t ebi, uint8_t lbi, int dir_v1,
			    uint64_t ts_ms)
{
	int i, ch = 0;

	if (!ebi && !b->has_ebi)
		return 0;
	for (i = 0; i < b->nfteid; i++) {
		const struct mcp_gtpc_fteid *f = &b->fteid[i];
		const struct mcp_ip *a = mcp_fteid_addr(f);
		int dir;

		if (!a)
			continue;
		if (f->iface == MCP_GTPC_IFACE_V1_DATA) {
			dir = dir_v1;
		} else {
			enum mcp_gtpc_iface_role role = mcp_gtpc_iface_role(f->iface);

			if (role == MCP_GTPC_ROLE_UP)
				dir = MCP_DIR_UP;
			else if (role == MCP_GTPC_ROLE_DOWN)
				dir = MCP_DIR_DOWN;
			else
				continue;
		}
		/* a dual-stack endpoint receives on either address: index both */
		if (f->has_v4)
			ch |= mcp_sess_set_tunnel(s, e, ebi, lbi, f->iface, (uint8_t)dir, f->teid,
						  &f->v4, ts_ms);
		if (f->has_v6)
			ch |= mcp_sess_set_tunnel(s, e, ebi, lbi, f->iface, (uint8_t)dir, f->teid,
						  &f->v6, ts_ms);
	}
	return ch;
}

/* A Create conflicts with the entry when it brings a different F-TEID for a bearer and
 * interface the entry already has: the subscriber attached again without us seeing the
 * delete. The same F-TEID (seen on S11 and again on S5) is no conflict. */
static int mcp_conflicts(const struct mcp_sess_ent *e, const struct mcp_gtpc_msg *m, int dir_v1)
{
	int b, i, j;

	for (b = 0; b < m->nbearers; b++) {
		const struct mcp_gtpc_bearer *bc = &m->bearers[b];

		for (i = 0; i < bc->nfteid; i++) {
			const struct mcp_gtpc_fteid *f = &bc->fteid[i];
			const struct mcp_ip *a = mcp_fteid_addr(f);

			for (j = 0; a && j < e->sub.ntunnels; j++) {
				const struct mcp_tunnel *t = &e->sub.tunnels[j];

				if (t->ebi != bc->ebi || t->iface != f->iface ||
				    mcp_ip_is_v4(&t->addr) != mcp_ip_is_v4(a))
					continue;
				if (f->iface == MCP_GTPC_IFACE_V1_DATA && t->dir != dir_v1)
					continue;
				if (t->teid != f->teid || mcp_ip_cmp(&t->addr, a))
					return 1;
			}
		}
	}
	return 0;
}

/* Removes the tunnels of bearer ebi (or of every bearer linked to lbi when by_lbi). */
static int mcp_remove_bearers(struct mcp_sessions *s, struct mcp_sess_ent *e, uint8_t id,
			      int by_lbi, uint64_t ts_ms)
{
	int i, ch = 0;

	for (i = e->sub.ntunnels - 1; i >= 0; i--) {
		if ((by_lbi ? e->tun_lbi[i] : e->sub.tunnels[i].ebi) != id)
			continue;
		mcp_sess_drop_tunnel(s, e, i, s->cfg.delete_grace_ms, ts_ms);
		ch = 1;
	}
	return ch;
}

/* The entry a TEID-addressed exchange is about; recv_side = control side of the request's
 * receiver (0 core, 1 access) when known. */
static struct mcp_sess_ent *mcp_find_addressed(struct mcp_sessions *s,
					       const struct mcp_gtpc_msg *req,
					       const struct mcp_gtpc_msg *rsp,
					       const struct mcp_ip *req_src,
					       const struct mcp_ip *req_dst, int *recv_side)
{
	struct mcp_sess_ent *e = NULL;
	uint8_t side;

	*recv_side = -1;
	if (req->has_teid && req->teid) {
		e = mcp_sess_by_ctrl(s, req->teid, req_dst, &side);
		if (e)
			*recv_side = side;
	}
	if (!e && rsp->has_teid && rsp->teid) {
		e = mcp_sess_by_ctrl(s, rsp->teid, req_src, &side);
		if (e)
			*recv_side = !side;
	}
	if (!e && req->imsi[0])
		e = mcp_sess_find_imsi(s, req->imsi);
	if (!e || !e->used)
		s->stats.unknown_session++;
	return e && e->used ? e : NULL;
}

/* Create Session / Create PDP Context: the entry for the IMSI, new or re-attached. */
static struct mcp_sess_ent *mcp_attach_entry(struct mcp_sessions *s,
					     const struct mcp_gtpc_msg *req,
					     const struct mcp_gtpc_msg *rsp,
					     const struct mcp_ip *req_dst, int secondary,
					     uint64_t ts_ms, int *attach)
{
	struct mcp_sess_ent *e = NULL;
	uint8_t side;

	*attach = 0;
	if (req->imsi[0])
		e = mcp_sess_find_imsi(s, req->imsi);
	else if (req->teid)
		e = mcp_sess_by_ctrl(s, req->teid, req_dst, &side);
	if (!e) {
		if (!req->imsi[0]) {
			s->stats.unknown_session++;
			return NULL;
		}
		*attach = 1;
		return mcp_sess_alloc(s, req->imsi);
	}
	if (e->sub.state == MCP_SUB_DELETED ||
	    (!secondary && (mcp_conflicts(e, req, MCP_DIR_DOWN) ||
			    mcp_conflicts(e, rsp, MCP_DIR_UP)))) {
		mcp_sess_reset(s, e, ts_ms);
		*attach = 1;
	}
	return e;
}

static void mcp_finish(struct mcp_sessions *s, struct mcp_sess_ent *e, int attach, int ch,
		       uint64_t ts_ms)
{
	if (attach)
		mcp_sess_emit(s, MCP_EV_ATTACH, e, ts_ms);
	else if (ch)
		mcp_sess_emit(s, MCP_EV_MODIFY, e, ts_ms);
}

/* Deletes what is left after removing bearers: DETACH when no tunnel remains. */
static void mcp_finish_delete(struct mcp_sessions *s, struct mcp_sess_ent *e, int ch,
			      uint64_t ts_ms)
{
	if (!e->sub.ntunnels)
		mcp_sess_mark_deleted(s, e, ts_ms);
	else if (ch)
		mcp_sess_emit(s, MCP_EV_MODIFY, e, ts_ms);
}

static void mcp_apply_v1(struct mcp_sessions *s, const struct mcp_gtpc_msg *req,
			 const struct mcp_gtpc_msg *rsp, const struct mcp_ip *req_src,
			 const struct mcp_ip *req_dst, uint64_t ts_ms)
{
	const struct mcp_gtpc_bearer *qb = req->nbearers ? &req->bearers[0] : NULL;
	const struct mcp_gtpc_bearer *pb = rsp->nbearers ? &rsp->bearers[0] : NULL;
	uint8_t nsapi = qb && qb->ebi ? qb->ebi : pb ? pb->ebi : 0;
	struct mcp_sess_ent *e;
	int attach = 0, ch = 0, side, req_dir;

	switch (req->type) {
	case MCP_GTP1_CREATE_PDP_REQ: {
		uint8_t lbi = req->has_lbi ? req->lbi : nsapi;

		e = mcp_attach_entry(s, req, rsp, req_dst, req->has_lbi, ts_ms, &attach);
		if (!e)
			return;
		ch |= mcp_apply_ids(e, req);
		if (req->nctrl)
			ch |= mcp_add_ctrl_v1(s, e, &req->ctrl[0], 1);
		if (rsp->nctrl)
			ch |= mcp_add_ctrl_v1(s, e, &rsp->ctrl[0], 0);
		ch |= mcp_apply_ue_pair(s, e, req, rsp);
		/* the SGSN's TEID Data I receives downlink, the GGSN's uplink */
		if (qb)
			ch |= mcp_apply_bearer(s, e, qb, nsapi, lbi, MCP_DIR_DOWN, ts_ms);
		if (pb) {
			/* the response names no NSAPI: it answers the request's, even NSAPI 0 */
			struct mcp_gtpc_bearer rb = *pb;

			rb.has_ebi |= qb && qb->has_ebi;
			ch |= mcp_apply_bearer(s, e, &rb, nsapi, lbi, MCP_DIR_UP, ts_ms);
		}
		mcp_finish(s, e, attach, ch, ts_ms);
		return;
	}
	case MCP_GTP1_UPDATE_PDP_REQ:
		e = mcp_find_addressed(s, req, rsp, req_src, req_dst, &side);
		if (!e)
			return;
		/* sent to the GGSN (core side) = from an SGSN: its TEID Data I is downlink */
		req_dir = side == 1 ? MCP_DIR_UP : MCP_DIR_DOWN;
		ch |= mcp_apply_ids(e, req);
		if (req->nctrl)
			ch |= mcp_add_ctrl_v1(s, e, &req->ctrl[0],
						req_dir == MCP_DIR_DOWN);
		if (rsp->nctrl)
			ch |= mcp_add_ctrl_v1(s, e, &rsp->ctrl[0],
						req_dir != MCP_DIR_DOWN);
		ch |= mcp_apply_ue_pair(s, e, req, rsp);
		if (qb)
			ch |= mcp_apply_bearer(s, e, qb, nsapi, mcp_tunnel_lbi(e, nsapi), req_dir,
					       ts_ms);
		if (pb)
			ch |= mcp_apply_bearer(s, e, pb, nsapi, mcp_tunnel_lbi(e, nsapi), !req_dir,
					       ts_ms);
		mcp_finish(s, e, 0, ch, ts_ms);
		return;
	case MCP_GTP1_DELETE_PDP_REQ:
		e = mcp_find_addressed(s, req, rsp, req_src, req_dst, &side);
		if (!e || e->sub.state == MCP_SUB_DELETED)
			return;
		if (!nsapi) {
			mcp_sess_mark_deleted(s, e, ts_ms);
			return;
		}
		/* Teardown Ind: every context sharing the PDP address (7.3.5) */
		if (req->teardown)
			ch = mcp_remove_bearers(s, e, mcp_tunnel_lbi(e, nsapi), 1, ts_ms);
		else
			ch = mcp_remove_bearers(s, e, nsapi, 0, ts_ms);
		mcp_finish_delete(s, e, ch, ts_ms);
		return;
	}
}

/* The response's bearer context for ebi, NULL if none. */
static const struct mcp_gtpc_bearer *mcp_rsp_bearer(const struct mcp_gtpc_msg *rsp, uint8_t ebi)
{
	int i;

	for (i = 0; i < rsp->nbearers; i++)
		if (rsp->bearers[i].ebi == ebi)
			return &rsp->bearers[i];
	return NULL;
}

static int mcp_bearer_ok(const struct mcp_gtpc_bearer *b)
{
	return !b || !b->has_cause || mcp_gtpc_cause_accepted(2, b->cause);
}

/* Modify Bearer / Update Bearer: F-TEIDs of bearers to be modified, removal of others. */
static int mcp_apply_modify_v2(struct mcp_sessions *s, struct mcp_sess_ent *e,
			       const struct mcp_gtpc_msg *req, const struct mcp_gtpc_msg *rsp,
			       uint64_t ts_ms)
{
	int i, ch = 0;

	for (i = 0; i < req->nbearers; i++) {
		const struct mcp_gtpc_bearer *b = &req->bearers[i];

		if (b->instance == 1) /* bearer contexts to be removed */
			ch |= mcp_remove_bearers(s, e, b->ebi, 0, ts_ms);
		else if (mcp_bearer_ok(mcp_rsp_bearer(rsp, b->ebi)))
			ch |= mcp_apply_bearer(s, e, b, b->ebi, mcp_tunnel_lbi(e, b->ebi), 0,
					       ts_ms);
	}
	for (i = 0; i < rsp->nbearers; i++) {
		const struct mcp_gtpc_bearer *b = &rsp->bearers[i];

		if (b->instance == 0 && mcp_bearer_ok(b))
			ch |= mcp_apply_bearer(s, e, b, b->ebi, mcp_tunnel_lbi(e, b->ebi), 0,
					       ts_ms);
	}
	return ch;
}

/* GTPv2 Create Session: a new subscriber, or a re-attach of a known IMSI. */
static void mcp_v2_create_session(struct mcp_sessions *s, const struct mcp_gtpc_msg *req,
				  const struct mcp_gtpc_msg *rsp, const struct mcp_ip *req_dst,
				  uint64_t ts_ms)
{
	struct mcp_sess_ent *e;
	int attach = 0, ch = 0, i;
	uint8_t lbi;

	e = mcp_attach_entry(s, req, rsp, req_dst, 0, ts_ms, &attach);
	if (!e)
		return;
	ch |= mcp_apply_ids(e, req);
	ch |= mcp_apply_ctrl_v2(s, e, req);
	ch |= mcp_apply_ctrl_v2(s, e, rsp);
	ch |= mcp_apply_ue_pair(s, e, req, rsp);
	/* bearer contexts to be created / created are instance 0 */
	lbi = req->nbearers ? req->bearers[0].ebi : rsp->nbearers ? rsp->bearers[0].ebi : 0;
	for (i = 0; i < req->nbearers; i++)
		if (req->bearers[i].instance == 0 &&
		    mcp_bearer_ok(mcp_rsp_bearer(rsp, req->bearers[i].ebi)))
			ch |= mcp_apply_bearer(s, e, &req->bearers[i], req->bearers[i].ebi, lbi, 0,
					       ts_ms);
	for (i = 0; i < rsp->nbearers; i++)
		if (rsp->bearers[i].instance == 0 && mcp_bearer_ok(&rsp->bearers[i]))
			ch |= mcp_apply_bearer(s, e, &rsp->bearers[i], rsp->bearers[i].ebi, lbi, 0,
					       ts_ms);
	mcp_finish(s, e, attach, ch, ts_ms);
}

/* Modify Bearer / Update Bearer: identities, control and user-plane F-TEIDs may change. */
static void mcp_v2_modify(struct mcp_sessions *s, struct mcp_sess_ent *e,
			  const struct mcp_gtpc_msg *req, const struct mcp_gtpc_msg *rsp,
			  uint64_t ts_ms)
{
	int ch = 0;

	ch |= mcp_apply_ids(e, req);
	ch |= mcp_apply_ctrl_v2(s, e, req);
	ch |= mcp_apply_ctrl_v2(s, e, rsp);
	ch |= mcp_apply_modify_v2(s, e, req, rsp, ts_ms);
	mcp_finish(s, e, 0, ch, ts_ms);
}

/* Create Bearer: dedicated bearers under the linked default bearer. */
static void mcp_v2_create_bearer(struct mcp_sessions *s, struct mcp_sess_ent *e,
				 const struct mcp_gtpc_msg *req, const struct mcp_gtpc_msg *rsp,
				 uint64_t ts_ms)
{
	uint8_t lbi = req->has_lbi ? req->lbi : 0;
	int ch = 0, i;

	/* the request's bearers have EBI 0: the response assigns them, in order */
	for (i = 0; i < req->nbearers; i++) {
		const struct mcp_gtpc_bearer *rb = i < rsp->nbearers ? &rsp->bearers[i] : NULL;
		uint8_t ebi = rb && rb->ebi ? rb->ebi : req->bearers[i].ebi;

		if (!mcp_bearer_ok(rb))
			continue;
		ch |= mcp_apply_bearer(s, e, &req->bearers[i], ebi, lbi ? lbi : ebi, 0, ts_ms);
		if (rb)
			ch |= mcp_apply_bearer(s, e, rb, ebi, lbi ? lbi : ebi, 0, ts_ms);
	}
	mcp_finish(s, e, 0, ch, ts_ms);
}

/* Delete Session: one PDN connection (by LBI) or, with the last one, the subscriber. */
static void mcp_v2_delete_session(struct mcp_sessions *s, struct mcp_sess_ent *e,
				  const struct mcp_gtpc_msg *req, uint64_t ts_ms)
{
	int i;

	if (req->has_lbi) {
		/* other PDN connections survive; the last one takes the subscriber */
		for (i = 0; i < e->sub.ntunnels; i++)
			if (e->tun_lbi[i] != req->lbi)
				break;
		if (i < e->sub.ntunnels) {
			mcp_finish_delete(s, e, mcp_remove_bearers(s, e, req->lbi, 1, ts_ms), ts_ms);
			return;
		}
	}
	mcp_sess_mark_deleted(s, e, ts_ms);
}

/* Delete Bearer: the listed EBIs the response accepts, or the whole linked PDN connection. */
static void mcp_v2_delete_bearer(struct mcp_sessions *s, struct mcp_sess_ent *e,
				 const struct mcp_gtpc_msg *req, const struct mcp_gtpc_msg *rsp,
				 uint64_t ts_ms)
{
	int ch = 0, i;

	for (i = 0; i < req->nebis; i++)
		if (mcp_bearer_ok(mcp_rsp_bearer(rsp, req->ebis[i])))
			ch |= mcp_remove_bearers(s, e, req->ebis[i], 0, ts_ms);
	if (!req->nebis && req->has_lbi)
		ch |= mcp_remove_bearers(s, e, req->lbi, 1, ts_ms);
	mcp_finish_delete(s, e, ch, ts_ms);
}

/* Release Access Bearers: idle mode, the access side tunnels go away until the next Modify
 * Bearer. */
static void mcp_v2_release_access(struct mcp_sessions *s, struct mcp_sess_ent *e,
				  uint64_t ts_ms)
{
	int ch = 0, i;

	for (i = e->sub.ntunnels - 1; i >= 0; i--) {
		uint8_t f = e->sub.tunnels[i].iface;

		if (f == MCP_GTPC_IFACE_S1U_ENB || f == MCP_GTPC_IFACE_S12_RNC ||
		    f == MCP_GTPC_IFACE_S4U_SGSN) {
			mcp_sess_drop_tunnel(s, e, i, s->cfg.handover_grace_ms, ts_ms);
			ch = 1;
		}
	}
	mcp_finish(s, e, 0, ch, ts_ms);
}

/* One accepted GTPv2 exchange: Create Session makes the entry, the others find it by the
 * control TEID the request was addressed to. A deleted entry takes only Release Access. */
static void mcp_apply_v2(struct mcp_sessions *s, const struct mcp_gtpc_msg *req,
			 const struct mcp_gtpc_msg *rsp, const struct mcp_ip *req_src,
			 const struct mcp_ip *req_dst, uint64_t ts_ms)
{
	struct mcp_sess_ent *e;
	int side;

	if (req->type == MCP_GTP2_CREATE_SESSION_REQ) {
		mcp_v2_create_session(s, req, rsp, req_dst, ts_ms);
		return;
	}
	e = mcp_find_addressed(s, req, rsp, req_src, req_dst, &side);
	if (!e)
		return;
	if (e->sub.state == MCP_SUB_DELETED && req->type != MCP_GTP2_RELEASE_AB_REQ)
		return;
	switch (req->type) {
	case MCP_GTP2_MODIFY_BEARER_REQ:
	case MCP_GTP2_UPDATE_BEARER_REQ:
		mcp_v2_modify(s, e, req, rsp, ts_ms);
		break;
	case MCP_GTP2_CREATE_BEARER_REQ:
		mcp_v2_create_bearer(s, e, req, rsp, ts_ms);
		break;
	case MCP_GTP2_DELETE_SESSION_REQ:
		mcp_v2_delete_session(s, e, req, ts_ms);
		break;
	case MCP_GTP2_DELETE_BEARER_REQ:
		mcp_v2_delete_bearer(s, e, req, rsp, ts_ms);
		break;
	case MCP_GTP2_RELEASE_AB_REQ:
		mcp_v2_release_access(s, e, ts_ms);
		break;
	}
}

void mcp_sess_apply(struct mcp_sessions *s, const struct mcp_gtpc_msg *req,
		    const struct mcp_gtpc_msg *rsp, const struct mcp_ip *req_src,
		    const struct mcp_ip *req_dst, uint64_t ts_ms)
{
	if (req->version == 1)
		mcp_apply_v1(s, req, rsp, req_src, req_dst, ts_ms);
	else
		mcp_apply_v2(s, req, rsp, req_src, req_dst, ts_ms);
}
