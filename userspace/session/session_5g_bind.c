/* session_5g_bind.c - a PDU session's facts into the one subscriber table: the entry of its
 * subscriber key (IMSI, or the key of a NAI SUPI; created, or re-created after a detach), rat NR, DNN as apn, S-NSSAI, QFIs, UE
 * addresses, and its F-TEIDs as tunnels whose ebi is the PDU session's slot. Unbinding drops
 * those tunnels; the subscriber is detached when its last PDU session goes.
 */
#include <string.h>

#include "session/session_5g_internal.h"

_Static_assert(MCP_SBI_SUPI_LEN == MCP_SUPI_LEN, "a NAI fits the subscriber's SUPI");

void mcp_s5g_ident_key(const struct mcp_sbi_ident *id, char key[MCP_IMSI_LEN])
{
	if (id->imsi[0] || !id->nai[0])
		mcp_sess_strcpy(key, id->imsi, MCP_IMSI_LEN);
	else
		mcp_supi_key(key, id->nai);
}

void mcp_s5g_take_ident(struct mcp_s5g_pdu *p, const struct mcp_sbi_ident *id)
{
	if (id->imsi[0] || id->nai[0]) {
		mcp_s5g_ident_key(id, p->imsi);
		mcp_sess_strcpy(p->supi, id->nai, sizeof(p->supi));
	}
	if (id->imei[0])
		memcpy(p->imei, id->imei, sizeof(p->imei));
	if (id->msisdn[0])
		memcpy(p->msisdn, id->msisdn, sizeof(p->msisdn));
	if (id->dnn[0])
		mcp_sess_strcpy(p->dnn, id->dnn, sizeof(p->dnn));
	if (id->snssai)
		p->snssai = id->snssai;
}

static int has_tunnel(const struct mcp_sess_ent *e, uint8_t slot, const struct mcp_s5g_tun *t)
{
	for (int i = 0; i < e->sub.ntunnels; i++) {
		const struct mcp_tunnel *x = &e->sub.tunnels[i];

		if (x->ebi == slot && x->teid == t->teid && x->dir == t->dir &&
		    !mcp_ip_cmp(&x->addr, &t->addr))
			return 1;
	}
	return 0;
}

static int pdu_has(const struct mcp_s5g_pdu *p, const struct mcp_tunnel *x)
{
	for (int i = 0; i < p->ntun; i++)
		if (x->teid == p->tun[i].teid && x->dir == p->tun[i].dir &&
		    !mcp_ip_cmp(&x->addr, &p->tun[i].addr))
			return 1;
	return 0;
}

/* Tunnels of the slot no longer in the PDU session leave (handover grace); new ones join. */
static int sync_tunnels(struct mcp_sessions *s, struct mcp_sess_ent *e,
			const struct mcp_s5g_pdu *p, uint64_t ts_ms)
{
	int i, changed = 0;

	for (i = e->sub.ntunnels - 1; i >= 0; i--) {
		if (e->sub.tunnels[i].ebi != p->slot || pdu_has(p, &e->sub.tunnels[i]))
			continue;
		mcp_sess_drop_tunnel(s, e, i, s->cfg.handover_grace_ms, ts_ms);
		changed = 1;
	}
	for (i = 0; i < p->ntun; i++) {
		const struct mcp_s5g_tun *t = &p->tun[i];

		if (!has_tunnel(e, p->slot, t))
			changed |= mcp_sess_set_tunnel(s, e, p->slot, p->slot, t->iface, t->dir,
						       t->teid, &t->addr, ts_ms);
	}
	return changed;
}

static int merge_facts(struct mcp_sess_ent *e, const struct mcp_s5g_pdu *p)
{
	struct mcp_subscriber *u = &e->sub;
	int changed = 0;

	if (p->supi[0] && strcmp(u->supi, p->supi))
		mcp_sess_strcpy(u->supi, p->supi, sizeof(u->supi)), changed = 1;
	if (p->imei[0] && strcmp(u->imei, p->imei))
		mcp_sess_strcpy(u->imei, p->imei, sizeof(u->imei)), changed = 1;
	if (p->msisdn[0] && strcmp(u->msisdn, p->msisdn))
		mcp_sess_strcpy(u->msisdn, p->msisdn, sizeof(u->msisdn)), changed = 1;
	if (p->dnn[0] && strcmp(u->apn, p->dnn))
		mcp_sess_strcpy(u->apn, p->dnn, sizeof(u->apn)), changed = 1;
	if (p->snssai && u->snssai != p->snssai)
		u->snssai = p->snssai, changed = 1;
	u->rat = MCP_RAT_NR;
	for (int i = 0; i < p->nqfi; i++) {
		int k;

		for (k = 0; k < u->nqfi && u->qfi[k] != p->qfi[i]; k++)
			;
		if (k == u->nqfi && u->nqfi < MCP_MAX_QFI)
			u->qfi[u->nqfi++] = p->qfi[i], changed = 1;
	}
	return changed;
}

void mcp_s5g_bind(struct mcp_s5g *g, struct mcp_s5g_pdu *p, uint64_t ts_ms)
{
	struct mcp_sessions *s = g->s;
	struct mcp_sess_ent *e = mcp_sess_find_imsi(s, p->imsi);
	int fresh = 0, changed;

	if (!e) {
		e = mcp_sess_alloc(s, p->imsi);
		if (!e)
			return;
		fresh = 1;
	} else if (e->sub.state == MCP_SUB_DELETED) {
		mcp_sess_reset(s, e, ts_ms);
		e->sub.nqfi = 0;
		fresh = 1;
	}
	p->bound = 1;
	changed = merge_facts(e, p);
	changed |= sync_tunnels(s, e, p, ts_ms);
	if (p->has_v4)
		changed |= mcp_sess_add_ue(s, e, &p->ue_v4);
	if (p->has_v6)
		changed |= mcp_sess_add_ue(s, e, &p->ue_v6);
	if (fresh)
		mcp_sess_emit(s, MCP_EV_ATTACH, e, ts_ms);
	else if (changed)
		mcp_sess_emit(s, MCP_EV_MODIFY, e, ts_ms);
}

void mcp_s5g_unbind(struct mcp_s5g *g, struct mcp_s5g_pdu *p, uint64_t ts_ms)
{
	struct mcp_sessions *s = g->s;
	struct mcp_sess_ent *e;
	int i;

	if (!p->bound)
		return;
	p->bound = 0;
	e = mcp_sess_find_imsi(s, p->imsi);
	if (!e || e->sub.state == MCP_SUB_DELETED)
		return;
	for (i = e->sub.ntunnels - 1; i >= 0; i--)
		if (e->sub.tunnels[i].ebi == p->slot)
			mcp_sess_drop_tunnel(s, e, i, s->cfg.delete_grace_ms, ts_ms);
	/* the last PDU session: a detach, addresses stay resolvable for the delete grace */
	for (i = 0; i < e->sub.ntunnels; i++)
		if (e->sub.tunnels[i].ebi >= MCP_S5G_SLOT_BASE)
			break;
	if (i == e->sub.ntunnels)
		mcp_sess_mark_deleted(s, e, ts_ms);
	else
		mcp_sess_emit(s, MCP_EV_MODIFY, e, ts_ms);
}
