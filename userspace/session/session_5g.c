/* session_5g.c - 5G SA PDU sessions: PFCP intake (TS 29.244 6.3, 7.5), request/response
 * pairing by (requester address and port, responder address, sequence number), the PDU
 * session table indexed by both F-SEIDs, UE address and uplink F-TEID, and the SBI identity
 * hints that attribute a PDU session whose PFCP lacks a User ID. Binding to the subscriber
 * table is session_5g_bind.c. Join rules: docs/5g.md.
 */
#include "session/session_5g.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session/session_5g_internal.h"

struct mcp_s5g *mcp_s5g_create(struct mcp_sessions *s, uint32_t max_pdu, uint32_t txn_timeout_ms)
{
	struct mcp_s5g *g = calloc(1, sizeof(*g));
	int err = 0;

	if (!g)
		return NULL;
	g->s = s;
	g->max_pdu = max_pdu ? max_pdu : 65536;
	g->txn_timeout_ms = txn_timeout_ms ? txn_timeout_ms : 10000;
	g->free_head = MCP_NONE;
	g->pdu = calloc(g->max_pdu, sizeof(*g->pdu));
	g->txn = calloc(MCP_S5G_TXN_SLOTS, sizeof(*g->txn));
	g->hints = calloc(MCP_S5G_HINTS, sizeof(*g->hints));
	if (!g->pdu || !g->txn || !g->hints)
		goto err;
	err |= mcp_htab_init(&g->by_seid, sizeof(struct mcp_s5g_key), 1024);
	err |= mcp_htab_init(&g->by_ue, sizeof(struct mcp_ip), 1024);
	err |= mcp_htab_init(&g->by_ul, sizeof(struct mcp_teid_key), 1024);
	err |= mcp_htab_init(&g->hint_by_ue, sizeof(struct mcp_ip), 1024);
	err |= mcp_htab_init(&g->hint_by_ul, sizeof(struct mcp_teid_key), 1024);
	if (err)
		goto err;
	return g;
err:
	mcp_s5g_destroy(g);
	return NULL;
}

void mcp_s5g_destroy(struct mcp_s5g *g)
{
	if (!g)
		return;
	mcp_htab_free(&g->by_seid);
	mcp_htab_free(&g->by_ue);
	mcp_htab_free(&g->by_ul);
	mcp_htab_free(&g->hint_by_ue);
	mcp_htab_free(&g->hint_by_ul);
	free(g->pdu);
	free(g->txn);
	free(g->hints);
	free(g);
}

const struct mcp_s5g_stats *mcp_s5g_stats(const struct mcp_s5g *g)
{
	return &g->st;
}

/* ---- PDU session table ------------------------------------------------------------------ */

static void seid_key(struct mcp_s5g_key *k, const struct mcp_ip *addr, uint64_t seid)
{
	memset(k, 0, sizeof(*k));
	k->addr = *addr;
	k->seid = seid;
}

static struct mcp_s5g_pdu *pdu_alloc(struct mcp_s5g *g, uint32_t *idx)
{
	struct mcp_s5g_pdu *p;

	if (g->free_head != MCP_NONE) {
		*idx = g->free_head;
		g->free_head = g->pdu[*idx].next_free;
		if (g->free_head != MCP_NONE) /* the next establishment writes this one */
			for (size_t off = 0; off < sizeof(*p); off += 64)
				__builtin_prefetch((const char *)&g->pdu[g->free_head] + off, 1);
	} else if (g->npdu_alloc < g->max_pdu) {
		*idx = g->npdu_alloc++;
	} else {
		g->st.pdu_full++;
		return NULL;
	}
	p = &g->pdu[*idx];
	memset(p, 0, sizeof(*p));
	p->used = 1;
	p->slot = (uint8_t)(MCP_S5G_SLOT_BASE | (*idx % 0x7f));
	return p;
}

static void unmap_idx(struct mcp_htab *t, const void *key, uint32_t idx)
{
	uint32_t *v = mcp_htab_find(t, key);

	if (v && *v == idx)
		mcp_htab_del(t, key);
}

static void pdu_free(struct mcp_s5g *g, struct mcp_s5g_pdu *p)
{
	uint32_t idx = (uint32_t)(p - g->pdu);
	struct mcp_s5g_key k;
	struct mcp_teid_key tk;

	seid_key(&k, &p->cp.addr, p->cp.seid);
	unmap_idx(&g->by_seid, &k, idx);
	if (p->has_up) {
		seid_key(&k, &p->up.addr, p->up.seid);
		unmap_idx(&g->by_seid, &k, idx);
	}
	if (p->has_v4)
		unmap_idx(&g->by_ue, &p->ue_v4, idx);
	if (p->has_v6)
		unmap_idx(&g->by_ue, &p->ue_v6, idx);
	for (int i = 0; i < p->ntun; i++) {
		mcp_teid_key(&tk, p->tun[i].teid, &p->tun[i].addr);
		unmap_idx(&g->by_ul, &tk, idx);
	}
	p->used = 0;
	p->next_free = g->free_head;
	g->free_head = idx;
	g->st.pdu_deleted++;
}

static struct mcp_s5g_pdu *pdu_by_seid(struct mcp_s5g *g, const struct mcp_ip *addr,
				       uint64_t seid)
{
	struct mcp_s5g_key k;
	uint32_t *v;

	seid_key(&k, addr, seid);
	v = mcp_htab_find(&g->by_seid, &k);
	return v ? &g->pdu[*v] : NULL;
}

/* Adds (or, same role, replaces) one F-TEID; indexes uplink ones for the SBI join. */
static void pdu_add_tun(struct mcp_s5g *g, struct mcp_s5g_pdu *p, uint8_t kind, uint8_t ifv,
			uint32_t teid, const struct mcp_ip *addr)
{
	uint8_t iface = (uint8_t)(MCP_S5G_IFACE | kind << 4 | (ifv & 0x0f)), dir;
	struct mcp_teid_key tk;
	int i;

	if (kind == MCP_S5G_KIND_PDR) /* from the access: uplink; from core or CP: downlink */
		dir = ifv == MCP_PFCP_IF_ACCESS ? MCP_DIR_UP : MCP_DIR_DOWN;
	else /* towards the access: downlink; towards core or CP: uplink */
		dir = ifv == MCP_PFCP_IF_ACCESS ? MCP_DIR_DOWN : MCP_DIR_UP;
	if (ifv > MCP_PFCP_IF_CP || ifv == MCP_PFCP_IF_SGI)
		return;
	for (i = 0; i < p->ntun; i++)
		if (p->tun[i].iface == iface && mcp_ip_is_v4(&p->tun[i].addr) == mcp_ip_is_v4(addr))
			break;
	if (i == p->ntun) {
		if (p->ntun == MCP_S5G_MAX_TUN)
			return;
		p->ntun++;
	}
	p->tun[i] = (struct mcp_s5g_tun){ .teid = teid, .addr = *addr, .dir = dir, .iface = iface };
	if (dir == MCP_DIR_UP && kind == MCP_S5G_KIND_PDR) {
		mcp_teid_key(&tk, teid, addr);
		mcp_htab_put(&g->by_ul, &tk, (uint32_t)(p - g->pdu));
	}
}

static void pdu_add_ue(struct mcp_s5g *g, struct mcp_s5g_pdu *p, const struct mcp_pfcp_pdr *r)
{
	uint32_t idx = (uint32_t)(p - g->pdu);

	if (r->has_ue_v4) {
		p->ue_v4 = r->ue_v4;
		p->has_v4 = 1;
		mcp_htab_put(&g->by_ue, &r->ue_v4, idx);
	}
	if (r->has_ue_v6) {
		p->ue_v6 = r->ue_v6;
		p->has_v6 = 1;
		mcp_htab_put(&g->by_ue, &r->ue_v6, idx);
	}
}

static void pdu_add_qfi(struct mcp_s5g_pdu *p, const uint8_t *q, uint8_t n)
{
	for (uint8_t i = 0; i < n; i++) {
		uint8_t k;

		for (k = 0; k < p->nqfi && p->qfi[k] != q[i]; k++)
			;
		if (k == p->nqfi && p->nqfi < MCP_PFCP_MAX_QFI)
			p->qfi[p->nqfi++] = q[i];
	}
}

/* The destination interface of FAR f: its own, or the one its FAR ID was created with. */
static uint8_t far_dst_if(struct mcp_s5g_pdu *p, const struct mcp_pfcp_far *f)
{
	int i;

	for (i = 0; i < p->nfar && p->far_id[i] != f->far_id; i++)
		;
	if (f->dst_if != MCP_PFCP_IF_NONE) {
		if (i == p->nfar && p->nfar < MCP_S5G_MAX_FAR)
			p->far_id[p->nfar++] = f->far_id;
		if (i < p->nfar)
			p->far_dst[i] = f->dst_if;
		return f->dst_if;
	}
	return i < p->nfar ? p->far_dst[i] : MCP_PFCP_IF_NONE;
}

/* The rules of a request (with the Created PDRs of its response for CHOOSE F-TEIDs). */
static void pdu_take_rules(struct mcp_s5g *g, struct mcp_s5g_pdu *p,
			   const struct mcp_pfcp_msg *req, const struct mcp_pfcp_msg *rsp)
{
	int i, k;

	for (i = 0; i < req->npdr; i++) {
		const struct mcp_pfcp_pdr *r = &req->pdr[i];
		const struct mcp_pfcp_fteid *f = r->has_fteid ? &r->fteid : NULL;

		pdu_add_ue(g, p, r);
		pdu_add_qfi(p, r->qfi, r->nqfi);
		for (k = 0; f && f->choose && k < rsp->ncreated; k++)
			if (rsp->created[k].pdr_id == r->pdr_id && rsp->created[k].has_fteid)
				f = &rsp->created[k].fteid;
		if (!f || f->choose)
			continue;
		if (f->has_v4)
			pdu_add_tun(g, p, MCP_S5G_KIND_PDR, r->src_if, f->teid, &f->v4);
		if (f->has_v6)
			pdu_add_tun(g, p, MCP_S5G_KIND_PDR, r->src_if, f->teid, &f->v6);
	}
	for (i = 0; i < req->nfar; i++) {
		const struct mcp_pfcp_far *f = &req->far[i];
		uint8_t dst = far_dst_if(p, f);

		if (!f->has_ohc || !(f->ohc_desc & 0x0300)) /* GTP-U outer headers only */
			continue;
		if (f->ohc_has_v4)
			pdu_add_tun(g, p, MCP_S5G_KIND_FAR, dst, f->ohc_teid, &f->ohc_v4);
		if (f->ohc_has_v6)
			pdu_add_tun(g, p, MCP_S5G_KIND_FAR, dst, f->ohc_teid, &f->ohc_v6);
	}
	pdu_add_qfi(p, req->qfi, req->nqfi);
}

/* ---- SBI identities ------------------------------------------------------------------- */

/* The identity's facts, and the gNB's DL F-TEID of an UpdateSMContext: the role of a FAR
 * outer header towards the access, which it replaces (the same F-TEID when N4 is seen). */
static void take_sbi(struct mcp_s5g *g, struct mcp_s5g_pdu *p, const struct mcp_sbi_ident *id)
{
	mcp_s5g_take_ident(p, id);
	if (id->has_dl_fteid)
		pdu_add_tun(g, p, MCP_S5G_KIND_FAR, MCP_PFCP_IF_ACCESS, id->dl_teid, &id->dl_addr);
}

static const struct mcp_sbi_ident *hint_for(struct mcp_s5g *g, const struct mcp_s5g_pdu *p)
{
	struct mcp_teid_key tk;
	uint32_t *v = NULL;
	int i;

	if (p->has_v4)
		v = mcp_htab_find(&g->hint_by_ue, &p->ue_v4);
	if (!v && p->has_v6)
		v = mcp_htab_find(&g->hint_by_ue, &p->ue_v6);
	for (i = 0; !v && i < p->ntun; i++) {
		if (p->tun[i].dir != MCP_DIR_UP)
			continue;
		mcp_teid_key(&tk, p->tun[i].teid, &p->tun[i].addr);
		v = mcp_htab_find(&g->hint_by_ul, &tk);
	}
	return v ? &g->hints[*v] : NULL;
}

static void hint_unmap(struct mcp_s5g *g, uint32_t idx)
{
	const struct mcp_sbi_ident *h = &g->hints[idx];
	struct mcp_teid_key tk;

	if (h->has_ue_v4)
		unmap_idx(&g->hint_by_ue, &h->ue_v4, idx);
	if (h->has_ue_v6)
		unmap_idx(&g->hint_by_ue, &h->ue_v6, idx);
	if (h->has_ul_fteid) {
		mcp_teid_key(&tk, h->ul_teid, &h->ul_addr);
		unmap_idx(&g->hint_by_ul, &tk, idx);
	}
}

/* Remembers the identity for a PDU session that is not there yet (bounded ring). */
static void hint_store(struct mcp_s5g *g, const struct mcp_sbi_ident *id)
{
	uint32_t idx = g->hint_next++ % MCP_S5G_HINTS;
	struct mcp_teid_key tk;

	hint_unmap(g, idx);
	g->hints[idx] = *id;
	if (id->has_ue_v4)
		mcp_htab_put(&g->hint_by_ue, &id->ue_v4, idx);
	if (id->has_ue_v6)
		mcp_htab_put(&g->hint_by_ue, &id->ue_v6, idx);
	if (id->has_ul_fteid) {
		mcp_teid_key(&tk, id->ul_teid, &id->ul_addr);
		mcp_htab_put(&g->hint_by_ul, &tk, idx);
	}
}

void mcp_s5g_sbi_ident(struct mcp_s5g *g, const struct mcp_sbi_ident *id, uint64_t ts_ms)
{
	char key[MCP_IMSI_LEN];
	struct mcp_teid_key tk;
	uint32_t *v = NULL;

	g->st.sbi_idents++;
	if (!id->imsi[0] && !id->nai[0])
		return;
	mcp_s5g_ident_key(id, key);
	if (id->has_ue_v4)
		v = mcp_htab_find(&g->by_ue, &id->ue_v4);
	if (!v && id->has_ue_v6)
		v = mcp_htab_find(&g->by_ue, &id->ue_v6);
	if (!v && id->has_ul_fteid) {
		mcp_teid_key(&tk, id->ul_teid, &id->ul_addr);
		v = mcp_htab_find(&g->by_ul, &tk);
	}
	hint_store(g, id); /* also when found: a later re-establishment reuses the address */
	if (!v)
		return;
	if (!g->pdu[*v].bound)
		g->st.pdu_by_sbi++;
	else if (strcmp(g->pdu[*v].imsi, key))
		mcp_s5g_unbind(g, &g->pdu[*v], ts_ms); /* the address changed hands */
	take_sbi(g, &g->pdu[*v], id);
	mcp_s5g_bind(g, &g->pdu[*v], ts_ms);
}

/* ---- what an accepted exchange does ---------------------------------------------------- */

/* The index slots an establishment touches are independent: load them all at once so the
 * cache misses of large tables overlap (as session_gtpc.c does for GTP-C). */
static void prefetch_establishment(struct mcp_s5g *g, const struct mcp_pfcp_msg *req,
				   const struct mcp_pfcp_msg *rsp, const struct mcp_ip *req_src,
				   const struct mcp_ip *rsp_src)
{
	struct mcp_sessions *s = g->s;
	char key[MCP_IMSI_LEN];
	struct mcp_s5g_key k;
	struct mcp_teid_key tk;
	int i;

	if (req->imsi[0]) {
		mcp_imsi_key(key, req->imsi);
		mcp_htab_prefetch(&s->by_imsi, key);
	}
	if (req->has_fseid) {
		seid_key(&k, req->fseid_has_v4 ? &req->fseid_v4 : req_src, req->fseid);
		mcp_htab_prefetch(&g->by_seid, &k);
	}
	if (rsp->has_fseid) {
		seid_key(&k, rsp->fseid_has_v4 ? &rsp->fseid_v4 : rsp->fseid_has_v6 ?
			 &rsp->fseid_v6 : rsp_src, rsp->fseid);
		mcp_htab_prefetch(&g->by_seid, &k);
	}
	for (i = 0; i < req->npdr; i++) {
		if (req->pdr[i].has_ue_v4) {
			mcp_htab_prefetch(&s->by_ue, &req->pdr[i].ue_v4);
			mcp_htab_prefetch(&g->by_ue, &req->pdr[i].ue_v4);
		}
	}
	for (i = 0; i < rsp->ncreated; i++) {
		if (!rsp->created[i].fteid.has_v4)
			continue;
		mcp_teid_key(&tk, rsp->created[i].fteid.teid, &rsp->created[i].fteid.v4);
		mcp_htab_prefetch(&s->by_tunnel, &tk);
		mcp_htab_prefetch(&g->by_ul, &tk);
	}
}

/* A PFCP User ID NAI (without IMSI) as the SUPI "nai-<NAI>", if it is a valid one. */
static void user_id_nai(struct mcp_s5g_pdu *p, const char *nai)
{
	char supi[MCP_SUPI_LEN], imsi[16];

	if (snprintf(supi, sizeof(supi), "nai-%s", nai) < (int)sizeof(supi) &&
	    mcp_sbi_supi(supi, imsi, p->supi) == 1)
		mcp_supi_key(p->imsi, p->supi);
}

static void apply_establishment(struct mcp_s5g *g, const struct mcp_pfcp_msg *req,
				const struct mcp_pfcp_msg *rsp, const struct mcp_ip *req_src,
				const struct mcp_ip *rsp_src, uint64_t ts_ms)
{
	const struct mcp_sbi_ident *h;
	struct mcp_s5g_pdu *p;
	struct mcp_s5g_key k;
	uint32_t idx;

	if (!req->has_fseid)
		return;
	prefetch_establishment(g, req, rsp, req_src, rsp_src);
	p = pdu_by_seid(g, req->fseid_has_v4 ? &req->fseid_v4 : req_src, req->fseid);
	if (p) /* a second establishment for a live F-SEID replaces the old session */
		mcp_s5g_unbind(g, p, ts_ms), pdu_free(g, p);
	if (!(p = pdu_alloc(g, &idx)))
		return;
	g->st.pdu_created++;
	seid_key(&p->cp, req->fseid_has_v4 ? &req->fseid_v4 : req->fseid_has_v6 ? &req->fseid_v6 :
									     req_src, req->fseid);
	mcp_htab_put(&g->by_seid, &p->cp, idx);
	if (rsp->has_fseid) {
		seid_key(&p->up, rsp->fseid_has_v4 ? &rsp->fseid_v4 : rsp->fseid_has_v6 ?
			 &rsp->fseid_v6 : rsp_src, rsp->fseid);
		p->has_up = 1;
		seid_key(&k, &p->up.addr, p->up.seid);
		mcp_htab_put(&g->by_seid, &k, idx);
	}
	pdu_take_rules(g, p, req, rsp);
	memcpy(p->imsi, req->imsi, sizeof(p->imsi));
	if (!p->imsi[0] && req->nai[0])
		user_id_nai(p, req->nai);
	memcpy(p->imei, req->imei, sizeof(p->imei));
	memcpy(p->msisdn, req->msisdn, sizeof(p->msisdn));
	mcp_sess_strcpy(p->dnn, req->dnn, sizeof(p->dnn));
	if (req->has_snssai)
		p->snssai = (uint32_t)req->sst << 24 | (req->has_sd ? req->sd : 0xffffff);
	if (p->imsi[0]) {
		g->st.pdu_by_user_id++;
	} else if ((h = hint_for(g, p))) {
		g->st.pdu_by_sbi++;
		take_sbi(g, p, h);
	} else {
		g->st.pdu_without_sub++;
		return;
	}
	mcp_s5g_bind(g, p, ts_ms);
}

/* Modification and deletion name the receiver's SEID in the header. */
static struct mcp_s5g_pdu *session_of(struct mcp_s5g *g, const struct mcp_pfcp_msg *req,
				      const struct mcp_ip *req_dst)
{
	struct mcp_s5g_pdu *p = req->has_seid ? pdu_by_seid(g, req_dst, req->seid) : NULL;

	if (!p)
		g->st.unknown_seid++;
	return p;
}

void mcp_s5g_apply(struct mcp_s5g *g, const struct mcp_pfcp_msg *req,
		   const struct mcp_pfcp_msg *rsp, const struct mcp_ip *req_src,
		   const struct mcp_ip *req_dst, uint64_t ts_ms)
{
	struct mcp_s5g_pdu *p;

	switch (req->type) {
	case MCP_PFCP_SESS_EST_REQ:
		apply_establishment(g, req, rsp, req_src, req_dst, ts_ms);
		break;
	case MCP_PFCP_SESS_MOD_REQ:
		if (!(p = session_of(g, req, req_dst)))
			break;
		pdu_take_rules(g, p, req, rsp);
		if (!p->bound && !p->imsi[0]) {
			const struct mcp_sbi_ident *h = hint_for(g, p);

			if (h) {
				g->st.pdu_by_sbi++;
				take_sbi(g, p, h);
			}
		}
		if (p->imsi[0])
			mcp_s5g_bind(g, p, ts_ms);
		break;
	case MCP_PFCP_SESS_DEL_REQ:
		if (!(p = session_of(g, req, req_dst)))
			break;
		mcp_s5g_unbind(g, p, ts_ms);
		pdu_free(g, p);
		break;
	default:
		break;
	}
}
