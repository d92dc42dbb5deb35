/* pfcp.c - PFCP message decoder (TS 29.244 7.2, 8.1, 8.2): header and IE walk.
 *
 *  Header: 0 ver(3) spare(2) FO MP S  1 type  2-3 length (after byte 4)
 *          [4-11 SEID when S]  seq(3)  MP priority(4) spare(4)
 *  IE:     0-1 type  2-3 length  [4-5 enterprise id when type & 0x8000]  value
 *
 * Grouped IEs (Create PDR > PDI, Create FAR > Forwarding Parameters, Update FAR > Update
 * Forwarding Parameters, Created PDR, Create/Update QER) recurse with a depth counter. The
 * value decoders of single IEs are in pfcp_ie.c.
 */
#include "control/pfcp.h"

#include <errno.h>
#include <string.h>

#include "control/pfcp_internal.h"

static const char *const bad_names[] = {
#define MCP_NAME(n) "pfcp " #n,
	MCP_PFCP_BAD_REASONS(MCP_NAME)
#undef MCP_NAME
};

const char *mcp_pfcp_bad_reason_name(enum mcp_pfcp_bad_reason r)
{
	return (unsigned)r < MCP_PFCP_BAD__MAX ? bad_names[r] : "?";
}

const char *mcp_pfcp_msg_name(uint8_t type)
{
	static const char *const names[] = {
		[1] = "Heartbeat Request", [2] = "Heartbeat Response",
		[5] = "Association Setup Request", [6] = "Association Setup Response",
		[50] = "Session Establishment Request", [51] = "Session Establishment Response",
		[52] = "Session Modification Request", [53] = "Session Modification Response",
		[54] = "Session Deletion Request", [55] = "Session Deletion Response",
		[56] = "Session Report Request", [57] = "Session Report Response",
	};

	return type < sizeof(names) / sizeof(names[0]) ? names[type] : NULL;
}

int mcp_pfcp_is_session_request(uint8_t type)
{
	return type == MCP_PFCP_SESS_EST_REQ || type == MCP_PFCP_SESS_MOD_REQ ||
	       type == MCP_PFCP_SESS_DEL_REQ || type == MCP_PFCP_SESS_REP_REQ;
}

int mcp_pfcp_is_session_response(uint8_t type)
{
	return type == MCP_PFCP_SESS_EST_RSP || type == MCP_PFCP_SESS_MOD_RSP ||
	       type == MCP_PFCP_SESS_DEL_RSP || type == MCP_PFCP_SESS_REP_RSP;
}

int mcp_pfcp_ie_next(struct mcp_rd *r, struct mcp_pfcp_ie *ie)
{
	uint16_t len;

	ie->type = mcp_rd_be16(r);
	len = mcp_rd_be16(r);
	if (r->err)
		return -EBADMSG; /* a partial IE header: the length fields disagree */
	ie->v = mcp_rd_sub(r, len);
	if (ie->v.err)
		return -EBADMSG;
	if (ie->type & 0x8000) /* vendor IE: enterprise id first, never understood here */
		mcp_rd_skip(&ie->v, 2);
	return ie->v.err ? -EBADMSG : 0;
}

/* Walks the IEs of r, calling fn for each; depth is the nesting of r. */
int mcp_pfcp_walk(struct mcp_rd *r, int depth, mcp_pfcp_ie_fn fn, void *ctx,
		  struct mcp_pfcp_msg *m)
{
	struct mcp_pfcp_ie ie;
	int rc;

	if (depth > MCP_PFCP_MAX_DEPTH)
		return mcp_pfcp_bad(m, MCP_PFCP_BAD_TOO_DEEP);
	while (mcp_rd_left(r)) {
		if (mcp_pfcp_ie_next(r, &ie))
			return mcp_pfcp_bad(m, MCP_PFCP_BAD_BAD_IE_LEN);
		rc = fn(ctx, &ie, depth, m);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- PDR ------------------------------------------------------------------------------- */

static int pdi_ie(void *ctx, struct mcp_pfcp_ie *ie, int depth, struct mcp_pfcp_msg *m)
{
	struct mcp_pfcp_pdr *p = ctx;

	switch (ie->type) {
	case MCP_PFCP_IE_SOURCE_IF:
		p->src_if = mcp_rd_u8(&ie->v) & 0x0f;
		break;
	case MCP_PFCP_IE_FTEID:
		p->has_fteid = 1;
		return mcp_pfcp_fteid(&ie->v, &p->fteid, m);
	case MCP_PFCP_IE_UE_IP:
		return mcp_pfcp_ue_ip(&ie->v, p, m);
	case MCP_PFCP_IE_NET_INST:
		mcp_pfcp_text(&ie->v, p->net_inst, sizeof(p->net_inst), 1);
		return 0;
	case MCP_PFCP_IE_QFI:
		if (p->nqfi < MCP_PFCP_MAX_QFI)
			p->qfi[p->nqfi++] = mcp_rd_u8(&ie->v) & 0x3f;
		break;
	case MCP_PFCP_IE_IF_TYPE:
		p->if_type = mcp_rd_u8(&ie->v) & 0x3f;
		break;
	default:
		m->unknown_ies++;
		return 0;
	}
	return ie->v.err ? mcp_pfcp_bad(m, MCP_PFCP_BAD_BAD_IE_LEN) : 0;
}

static int pdr_ie(void *ctx, struct mcp_pfcp_ie *ie, int depth, struct mcp_pfcp_msg *m)
{
	struct mcp_pfcp_pdr *p = ctx;

	switch (ie->type) {
	case MCP_PFCP_IE_PDR_ID:
		p->pdr_id = mcp_rd_be16(&ie->v);
		break;
	case MCP_PFCP_IE_FAR_ID:
		p->far_id = mcp_rd_be32(&ie->v);
		break;
	case MCP_PFCP_IE_PDI:
		return mcp_pfcp_walk(&ie->v, depth + 1, pdi_ie, p, m);
	case MCP_PFCP_IE_FTEID: /* Created PDR: the F-TEID the UP function chose */
	case MCP_PFCP_IE_UE_IP:
	case MCP_PFCP_IE_QFI:
		return pdi_ie(ctx, ie, depth, m);
	default:
		m->unknown_ies++;
		return 0;
	}
	return ie->v.err ? mcp_pfcp_bad(m, MCP_PFCP_BAD_BAD_IE_LEN) : 0;
}

static int add_pdr(struct mcp_pfcp_ie *ie, int depth, struct mcp_pfcp_msg *m,
		   struct mcp_pfcp_pdr *arr, uint8_t *n)
{
	struct mcp_pfcp_pdr tmp, *p = *n < MCP_PFCP_MAX_RULES ? &arr[*n] : &tmp;
	int rc;

	memset(p, 0, sizeof(*p));
	p->src_if = MCP_PFCP_IF_NONE;
	p->if_type = 0xff;
	rc = mcp_pfcp_walk(&ie->v, depth + 1, pdr_ie, p, m);
	if (rc < 0)
		return rc;
	if (p == &tmp)
		m->rules_dropped++;
	else
		(*n)++;
	return 0;
}

/* ---- FAR ------------------------------------------------------------------------------- */

static int fwd_ie(void *ctx, struct mcp_pfcp_ie *ie, int depth, struct mcp_pfcp_msg *m)
{
	struct mcp_pfcp_far *f = ctx;

	switch (ie->type) {
	case MCP_PFCP_IE_DEST_IF:
		f->dst_if = mcp_rd_u8(&ie->v) & 0x0f;
		break;
	case MCP_PFCP_IE_OHC:
		return mcp_pfcp_ohc(&ie->v, f, m);
	case MCP_PFCP_IE_NET_INST:
		mcp_pfcp_text(&ie->v, f->net_inst, sizeof(f->net_inst), 1);
		return 0;
	default:
		m->unknown_ies++;
		return 0;
	}
	return ie->v.err ? mcp_pfcp_bad(m, MCP_PFCP_BAD_BAD_IE_LEN) : 0;
}

static int far_ie(void *ctx, struct mcp_pfcp_ie *ie, int depth, struct mcp_pfcp_msg *m)
{
	struct mcp_pfcp_far *f = ctx;

	switch (ie->type) {
	case MCP_PFCP_IE_FAR_ID:
		f->far_id = mcp_rd_be32(&ie->v);
		break;
	case MCP_PFCP_IE_FWD_PARAMS:
	case MCP_PFCP_IE_UPD_FWD_PARAMS:
		return mcp_pfcp_walk(&ie->v, depth + 1, fwd_ie, f, m);
	default:
		m->unknown_ies++;
		return 0;
	}
	return ie->v.err ? mcp_pfcp_bad(m, MCP_PFCP_BAD_BAD_IE_LEN) : 0;
}

static int add_far(struct mcp_pfcp_ie *ie, int depth, struct mcp_pfcp_msg *m)
{
	struct mcp_pfcp_far tmp, *f = m->nfar < MCP_PFCP_MAX_RULES ? &m->far[m->nfar] : &tmp;
	int rc;

	memset(f, 0, sizeof(*f));
	f->dst_if = MCP_PFCP_IF_NONE;
	rc = mcp_pfcp_walk(&ie->v, depth + 1, far_ie, f, m);
	if (rc < 0)
		return rc;
	if (f == &tmp)
		m->rules_dropped++;
	else
		m->nfar++;
	return 0;
}

/* ---- QER and top level ----------------------------------------------------------------- */

static int qer_ie(void *ctx, struct mcp_pfcp_ie *ie, int depth, struct mcp_pfcp_msg *m)
{
	uint8_t q, i;

	if (ie->type != MCP_PFCP_IE_QFI)
		return 0;
	q = mcp_rd_u8(&ie->v) & 0x3f;
	if (ie->v.err)
		return mcp_pfcp_bad(m, MCP_PFCP_BAD_BAD_IE_LEN);
	for (i = 0; i < m->nqfi; i++)
		if (m->qfi[i] == q)
			return 0;
	if (m->nqfi < MCP_PFCP_MAX_QFI)
		m->qfi[m->nqfi++] = q;
	return 0;
}

static int top_ie(void *ctx, struct mcp_pfcp_ie *ie, int depth, struct mcp_pfcp_msg *m)
{
	switch (ie->type) {
	case MCP_PFCP_IE_CREATE_PDR:
	case MCP_PFCP_IE_UPDATE_PDR:
		return add_pdr(ie, depth, m, m->pdr, &m->npdr);
	case MCP_PFCP_IE_CREATED_PDR:
		return add_pdr(ie, depth, m, m->created, &m->ncreated);
	case MCP_PFCP_IE_CREATE_FAR:
	case MCP_PFCP_IE_UPDATE_FAR:
		return add_far(ie, depth, m);
	case MCP_PFCP_IE_CREATE_QER:
	case MCP_PFCP_IE_UPDATE_QER:
		return mcp_pfcp_walk(&ie->v, depth + 1, qer_ie, NULL, m);
	case MCP_PFCP_IE_CAUSE:
		m->cause = mcp_rd_u8(&ie->v);
		m->has_cause = !ie->v.err;
		break;
	case MCP_PFCP_IE_FSEID:
		return mcp_pfcp_fseid(&ie->v, m);
	case MCP_PFCP_IE_USER_ID:
		return mcp_pfcp_user_id(&ie->v, m);
	case MCP_PFCP_IE_DNN:
		mcp_pfcp_text(&ie->v, m->dnn, sizeof(m->dnn), 1);
		return 0;
	case MCP_PFCP_IE_SNSSAI:
		m->sst = mcp_rd_u8(&ie->v);
		if (mcp_rd_left(&ie->v) >= 3) {
			m->sd = mcp_rd_be24(&ie->v);
			m->has_sd = 1;
		}
		m->has_snssai = !ie->v.err;
		break;
	default:
		m->unknown_ies++;
		return 0;
	}
	return ie->v.err ? mcp_pfcp_bad(m, MCP_PFCP_BAD_BAD_IE_LEN) : 0;
}

/* Fixed header; returns the header length or a negative errno. */
static int decode_header(struct mcp_rd *r, size_t len, struct mcp_pfcp_msg *m)
{
	uint8_t flags = mcp_rd_u8(r);
	uint32_t need;

	m->type = mcp_rd_u8(r);
	m->len = mcp_rd_be16(r) + 4u;
	if (r->err)
		return mcp_pfcp_bad(m, MCP_PFCP_BAD_TRUNC_HDR);
	m->version = flags >> 5;
	m->follow_on = !!(flags & 0x04);
	m->has_seid = flags & 0x01;
	if (m->version != 1)
		return mcp_pfcp_bad(m, MCP_PFCP_BAD_BAD_VERSION);
	need = m->has_seid ? 16 : 8;
	if (m->len < need)
		return mcp_pfcp_bad(m, MCP_PFCP_BAD_BAD_LEN);
	if (len < need)
		return mcp_pfcp_bad(m, MCP_PFCP_BAD_TRUNC_HDR);
	if (len < m->len)
		return mcp_pfcp_bad(m, MCP_PFCP_BAD_TRUNC_MSG);
	if (m->has_seid) {
		m->seid = (uint64_t)mcp_rd_be32(r) << 32;
		m->seid |= mcp_rd_be32(r);
	}
	m->seq = mcp_rd_be24(r);
	mcp_rd_skip(r, 1);
	return (int)need;
}

int mcp_pfcp_decode(const uint8_t *buf, size_t len, struct mcp_pfcp_msg *m)
{
	struct mcp_rd r = mcp_rd_init(buf ? buf : (const uint8_t *)"", buf ? len : 0), body;
	int hlen, rc;

	/* clear the header part; the rule arrays are valid up to their counts */
	memset(m, 0, offsetof(struct mcp_pfcp_msg, pdr));
	hlen = decode_header(&r, buf ? len : 0, m);
	if (hlen < 0)
		return hlen;
	body = mcp_rd_init(buf + hlen, m->len - (uint32_t)hlen);
	rc = mcp_pfcp_walk(&body, 1, top_ie, NULL, m);
	if (rc < 0)
		return rc;
	return (int)m->len;
}
