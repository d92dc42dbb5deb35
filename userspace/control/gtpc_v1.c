/* gtpc_v1.c - GTPv1-C message decoder (TS 29.060): header, TV/TLV information elements.
 *
 *  Header (TS 29.060 6): 0: version(3)=1 PT(1)=1 spare E S PN  1: type  2-3: length (after
 *  byte 8)  4-7: TEID  [8-9: sequence  10: N-PDU  11: next extension header type] [ext...]
 *
 *  IEs (7.7): type < 128 is TV with a length fixed by the type (table below, 7.7.1-7.7.26);
 *  type >= 128 is TLV with a 2-byte length. A TV type we do not know stops the walk: its
 *  length cannot be known, so the message is counted as UNKNOWN_TV.
 */
#include "control/gtpc.h"

#include <errno.h>
#include <string.h>

#include "mcp_gtp.h"
#include "util/rd.h"

/* TS 29.060 7.7: value length of each TV information element (0 = unknown type). */
static const uint8_t mcp_gtp1_tv_len[128] = {
	[1] = 1,   /* Cause */
	[2] = 8,   /* IMSI */
	[3] = 6,   /* Routeing Area Identity */
	[4] = 4,   /* TLLI */
	[5] = 4,   /* P-TMSI */
	[8] = 1,   /* Reordering Required */
	[9] = 28,  /* Authentication Triplet */
	[11] = 1,  /* MAP Cause */
	[12] = 3,  /* P-TMSI Signature */
	[13] = 1,  /* MS Validated */
	[14] = 1,  /* Recovery */
	[15] = 1,  /* Selection Mode */
	[16] = 4,  /* TEID Data I */
	[17] = 4,  /* TEID C-plane */
	[18] = 5,  /* TEID Data II */
	[19] = 1,  /* Teardown Ind */
	[20] = 1,  /* NSAPI */
	[21] = 1,  /* RANAP Cause */
	[22] = 9,  /* RAB Context */
	[23] = 1,  /* Radio Priority SMS */
	[24] = 1,  /* Radio Priority */
	[25] = 2,  /* Packet Flow Id */
	[26] = 2,  /* Charging Characteristics */
	[27] = 2,  /* Trace Reference */
	[28] = 2,  /* Trace Type */
	[29] = 1,  /* MS Not Reachable Reason */
	[127] = 4, /* Charging ID */
};

/* TLV IEs we recognise but do not need: skipped without counting them as unknown. */
static int mcp_gtp1_tlv_known(uint8_t type)
{
	switch (type) {
	case 129: /* MM Context */
	case 130: /* PDP Context */
	case 132: /* Protocol Configuration Options */
	case 135: /* Quality of Service Profile */
	case 137: /* Traffic Flow Template */
	case 141: /* Common Flags */
	case 142: /* APN Restriction */
	case 148: /* Charging Gateway Address (old) / RAT */
	case 153: /* MS Time Zone */
	case 182: /* Evolved ARP I */
	case 191: /* APN-AMBR */
	case 251: /* Charging Gateway Address */
	case 255: /* Private Extension */
		return 1;
	}
	return 0;
}

static void mcp_gtp1_addr(const uint8_t *v, size_t n, struct mcp_ip *ip, uint8_t *is_v6)
{
	*is_v6 = n == 16;
	if (n == 4)
		mcp_ip_from_v4(ip, v);
	else
		mcp_ip_from_v6(ip, v);
}

/* End User Address (7.7.27): spare/org, PDP type number, address(es). */
static int mcp_gtp1_eua(const uint8_t *v, size_t n, struct mcp_gtpc_msg *msg)
{
	if (n < 2)
		return -EBADMSG;
	if ((v[0] & 0x0f) != 1) /* ETSI org: PPP, no IP address */
		return 0;
	switch (v[1]) {
	case 0x21:
		msg->pdn_type = 1;
		if (n >= 6) {
			mcp_ip_from_v4(&msg->ue_v4, v + 2);
			msg->has_ue_v4 = 1;
		}
		break;
	case 0x57:
		msg->pdn_type = 2;
		if (n >= 18) {
			mcp_ip_from_v6(&msg->ue_v6, v + 2);
			msg->has_ue_v6 = 1;
			msg->ue_v6_plen = 64;
		}
		break;
	case 0x8d:
		msg->pdn_type = 3;
		if (n >= 22) {
			mcp_ip_from_v4(&msg->ue_v4, v + 2);
			mcp_ip_from_v6(&msg->ue_v6, v + 6);
			msg->has_ue_v4 = msg->has_ue_v6 = 1;
			msg->ue_v6_plen = 64;
		} else if (n >= 18) {
			mcp_ip_from_v6(&msg->ue_v6, v + 2);
			msg->has_ue_v6 = 1;
			msg->ue_v6_plen = 64;
		} else if (n >= 6) {
			mcp_ip_from_v4(&msg->ue_v4, v + 2);
			msg->has_ue_v4 = 1;
		}
		break;
	}
	return 0;
}

/* User Location Information (7.7.51): type, PLMN, LAC, CI/SAC/RAC. */
static void mcp_gtp1_uli(const uint8_t *v, size_t n, struct mcp_gtpc_msg *msg)
{
	if (n < 8)
		return;
	mcp_gtpc_plmn(v + 1, msg->serving_net);
	msg->lac = (uint16_t)(v[4] << 8 | v[5]);
	msg->rac_sac_ci = (uint16_t)(v[6] << 8 | v[7]);
	msg->has_uli = 1;
}

/* What the IE walk has kept so far, for the first-one-wins rule. */
struct mcp_gtp1_walk {
	uint64_t kept[4]; /* bit per IE type kept once per message */
	uint8_t nnsapi;   /* NSAPIs seen: the context's own, then the Linked NSAPI */
	uint8_t ngsn;     /* GSN Addresses seen: control, user, and their two alternatives */
};

/* True when the IE must be discarded: a repetition of an IE the decoder keeps once per
 * message (TS 29.060 11.1.13: only the first one is handled). */
static int mcp_gtp1_discard(struct mcp_gtp1_walk *w, uint8_t type)
{
	switch (type) {
	case 20:
		return w->nnsapi >= 2;
	case 133:
		return ++w->ngsn > 4;
	case 1: case 2: case 3: case 4: case 14: case 15: case 16: case 17: case 19:
	case 128: case 131: case 134: case 151: case 152: case 154:
		if (w->kept[type / 64] & (1ull << (type % 64)))
			return 1;
		w->kept[type / 64] |= 1ull << (type % 64);
		return 0;
	}
	return 0;
}

/* One IE: facts into msg. 0 or -EBADMSG (bad_reason set). */
static int mcp_gtp1_ie(uint8_t type, const uint8_t *v, size_t n, struct mcp_gtpc_msg *msg,
		       struct mcp_gtp1_walk *w)
{
	uint8_t *nnsapi = &w->nnsapi;

	if (mcp_gtp1_discard(w, type)) {
		msg->discarded_ies++;
		return 0;
	}
	switch (type) {
	case 1:
		msg->has_cause = 1;
		msg->cause = v[0];
		break;
	case 2:
		if (mcp_gtpc_tbcd(v, n, msg->imsi, sizeof(msg->imsi)) < 0)
			goto bad;
		break;
	case 3:
		mcp_gtpc_plmn(v, msg->serving_net);
		msg->lac = (uint16_t)(v[3] << 8 | v[4]);
		break;
	case 4:
		msg->tlli = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 | v[2] << 8 | v[3];
		break;
	case 14:
		msg->has_recovery = 1;
		msg->recovery = v[0];
		break;
	case 15:
		msg->selection_mode = v[0] & 0x03;
		break;
	case 16:
		msg->has_teid_data = 1;
		msg->teid_data = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 | v[2] << 8 | v[3];
		break;
	case 17:
		msg->has_teid_ctrl = 1;
		msg->teid_ctrl = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 | v[2] << 8 | v[3];
		break;
	case 19:
		msg->teardown = v[0] & 0x01;
		break;
	case 20:
		/* the first NSAPI is the context's own, a second one is the Linked NSAPI */
		if (*nnsapi == 0) {
			msg->bearers[0].ebi = v[0] & 0x0f;
			msg->bearers[0].has_ebi = 1;
		} else { /* a third is discarded before this (mcp_gtp1_discard) */
			msg->has_lbi = 1;
			msg->lbi = v[0] & 0x0f;
		}
		(*nnsapi)++;
		break;
	case 128:
		if (mcp_gtp1_eua(v, n, msg) < 0)
			goto bad;
		break;
	case 131:
		if (mcp_gtpc_apn(v, n, msg->apn, sizeof(msg->apn)) < 0)
			goto bad;
		break;
	case 133: {
		uint8_t is_v6;

		if (n == 5 || n == 17) { /* with the address type/length octet */
			v++;
			n--;
		}
		if (n != 4 && n != 16)
			goto bad;
		if (msg->ngsn < 2) {
			mcp_gtp1_addr(v, n, &msg->gsn[msg->ngsn], &is_v6);
			msg->ngsn++;
		}
		break;
	}
	case 134:
		if (n < 1 || mcp_gtpc_tbcd(v + 1, n - 1, msg->msisdn, sizeof(msg->msisdn)) < 0)
			goto bad;
		break;
	case 151:
		if (n < 1)
			goto bad;
		msg->has_rat = 1;
		msg->rat = v[0];
		break;
	case 152:
		mcp_gtp1_uli(v, n, msg);
		break;
	case 154:
		if (mcp_gtpc_tbcd(v, n, msg->imei, sizeof(msg->imei)) < 0)
			goto bad;
		break;
	default:
		if (type < 128 ? type != 127 && !mcp_gtp1_tv_len[type] : !mcp_gtp1_tlv_known(type))
			msg->unknown_ies++;
		break;
	}
	return 0;
bad:
	msg->bad_reason = MCP_GTPC_BAD_BAD_IE_VALUE;
	return -EBADMSG;
}

static void mcp_gtp1_fill_fteid(struct mcp_gtpc_fteid *f, uint32_t teid, const struct mcp_ip *a)
{
	memset(f, 0, sizeof(*f));
	f->teid = teid;
	f->iface = MCP_GTPC_IFACE_V1_DATA;
	if (!a)
		return;
	if (mcp_ip_is_v4(a)) {
		f->v4 = *a;
		f->has_v4 = 1;
	} else {
		f->v6 = *a;
		f->has_v6 = 1;
	}
}

/* Normalises TEID/GSN facts into ctrl[0] and bearers[0] (see gtpc.h). */
static void mcp_gtp1_normalise(struct mcp_gtpc_msg *msg)
{
	const struct mcp_ip *cp = msg->ngsn ? &msg->gsn[0] : NULL;
	const struct mcp_ip *up = msg->ngsn > 1 ? &msg->gsn[1] : cp;
	struct mcp_gtpc_bearer *b = &msg->bearers[0];

	if (msg->has_teid_ctrl) {
		mcp_gtp1_fill_fteid(&msg->ctrl[0], msg->teid_ctrl, cp);
		msg->nctrl = 1;
	}
	if (b->ebi || b->has_ebi || msg->has_teid_data) {
		msg->nbearers = 1;
		if (msg->has_teid_data) {
			mcp_gtp1_fill_fteid(&b->fteid[0], msg->teid_data, up);
			b->nfteid = 1;
		}
	}
	if (msg->has_cause) {
		b->has_cause = 1;
		b->cause = msg->cause;
	}
}

int mcp_gtpc_v1_decode(const uint8_t *buf, size_t len, struct mcp_gtpc_msg *msg)
{
	struct mcp_rd r = mcp_rd_init(buf, len), body;
	struct mcp_gtp1_walk walk = { 0 };
	uint8_t flags;
	uint16_t mlen;
	int i;

	memset(msg, 0, offsetof(struct mcp_gtpc_msg, bearers));
	memset(&msg->bearers[0], 0, sizeof(msg->bearers[0]));
	flags = mcp_rd_u8(&r);
	msg->type = mcp_rd_u8(&r);
	mlen = mcp_rd_be16(&r);
	msg->teid = mcp_rd_be32(&r);
	if (r.err) {
		msg->bad_reason = MCP_GTPC_BAD_TRUNC_HDR;
		return -EMSGSIZE;
	}
	msg->version = 1;
	msg->has_teid = 1;
	if (MCP_GTP1_VERSION(flags) != 1 || !(flags & MCP_GTP1_PT)) {
		msg->bad_reason = MCP_GTPC_BAD_BAD_VERSION;
		return -EBADMSG;
	}
	msg->len = 8u + mlen;
	if (len < msg->len) {
		msg->bad_reason = MCP_GTPC_BAD_TRUNC_MSG;
		return -EMSGSIZE;
	}
	body = mcp_rd_sub(&r, mlen);
	if (flags & MCP_GTP1_OPT) {
		uint16_t seq = mcp_rd_be16(&body);
		uint8_t next;

		mcp_rd_u8(&body); /* N-PDU number */
		next = mcp_rd_u8(&body);
		if (flags & MCP_GTP1_S)
			msg->seq = seq;
		/* extension headers: length in 4-byte units, last byte is the next type */
		for (i = 0; next && (flags & MCP_GTP1_E); i++) {
			uint8_t elen = mcp_rd_u8(&body);

			if (i >= MCP_GTPU_MAX_EXT || elen == 0) {
				msg->bad_reason = MCP_GTPC_BAD_BAD_LEN;
				return -EBADMSG;
			}
			mcp_rd_skip(&body, elen * 4u - 2);
			next = mcp_rd_u8(&body);
		}
		if (body.err) {
			msg->bad_reason = MCP_GTPC_BAD_BAD_LEN;
			return -EBADMSG;
		}
	}

	while (mcp_rd_left(&body)) {
		uint8_t type = mcp_rd_u8(&body);
		const uint8_t *v;
		size_t n;

		if (type < 128) {
			n = mcp_gtp1_tv_len[type];
			if (!n) {
				msg->bad_reason = MCP_GTPC_BAD_UNKNOWN_TV;
				return -EBADMSG;
			}
		} else {
			n = mcp_rd_be16(&body);
		}
		v = mcp_rd_bytes(&body, n);
		if (!v) {
			msg->bad_reason = MCP_GTPC_BAD_BAD_IE_LEN;
			return -EBADMSG;
		}
		if (mcp_gtp1_ie(type, v, n, msg, &walk) < 0)
			return -EBADMSG;
	}
	mcp_gtp1_normalise(msg);
	return (int)msg->len;
}
