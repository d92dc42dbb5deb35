/* gtpc_v2.c - GTPv2-C message decoder (TS 29.274): header, IEs, grouped Bearer Contexts.
 *
 *  Header (TS 29.274 5.1): 0: version(3)=2 P(1) T(1) MP(1) spare(2)  1: type
 *  2-3: length (after byte 4)  [4-7: TEID if T]  then sequence(3) and a spare/priority byte.
 *  With P set, another GTPv2 message (the piggybacked one) follows after `length + 4` bytes.
 *
 *  IE (8.1): type(1) length(2) spare(4)|instance(4) value(length). Bearer Context (8.28) is a
 *  grouped IE whose value is again a list of IEs.
 */
#include "control/gtpc.h"

#include <errno.h>
#include <string.h>

#include "mcp_gtp.h"
#include "util/rd.h"

/* IE types (TS 29.274 8.1) */
#define IE_IMSI       1
#define IE_CAUSE      2
#define IE_RECOVERY   3
#define IE_APN        71
#define IE_EBI        73
#define IE_MEI        75
#define IE_MSISDN     76
#define IE_PAA        79
#define IE_RAT        82
#define IE_SERVING_NW 83
#define IE_ULI        86
#define IE_FTEID      87
#define IE_BEARER_CTX 93
#define IE_SEL_MODE   128

/* IEs we recognise but do not need: skipped without counting them as unknown. */
static int mcp_gtp2_ie_known(uint8_t type)
{
	switch (type) {
	case 72:  /* AMBR */
	case 74:  /* IP Address */
	case 77:  /* Indication */
	case 78:  /* PCO */
	case 80:  /* Bearer QoS */
	case 81:  /* Flow QoS */
	case 84:  /* TFT */
	case 85:  /* TAD */
	case 94:  /* Charging ID */
	case 95:  /* Charging Characteristics */
	case 99:  /* PDN Type */
	case 114: /* UE Time Zone */
	case 126: /* Port Number */
	case 127: /* APN Restriction */
	case 136: /* FQDN */
	case 145: /* UCI */
	case 163: /* APCO */
	case 170: /* ULI Timestamp */
	case 176: /* Node Features */
	case 180: /* Load Control */
	case 181: /* Overload Control */
	case 197: /* ePCO */
	case 255: /* Private Extension */
		return 1;
	}
	return 0;
}

/* Bits of the per-message mask of IEs already kept. */
enum mcp_gtp2_once {
	ONCE_IMSI, ONCE_CAUSE, ONCE_RECOVERY, ONCE_APN, ONCE_MEI, ONCE_MSISDN, ONCE_PAA, ONCE_RAT,
	ONCE_SERVING_NW, ONCE_ULI, ONCE_SEL_MODE, ONCE_LBI, ONCE_FTEID0, ONCE_FTEID1,
};

/* The mask bit of a top-level IE the decoder keeps, or -1 when the IE may repeat (Bearer
 * Context, EBI instance 1) or is not kept. -2: an instance no tracked message defines. */
static int mcp_gtp2_once_bit(uint8_t type, uint8_t inst)
{
	int bit;

	switch (type) {
	case IE_IMSI:       bit = ONCE_IMSI; break;
	case IE_CAUSE:      bit = ONCE_CAUSE; break;
	case IE_RECOVERY:   bit = ONCE_RECOVERY; break;
	case IE_APN:        bit = ONCE_APN; break;
	case IE_MEI:        bit = ONCE_MEI; break;
	case IE_MSISDN:     bit = ONCE_MSISDN; break;
	case IE_PAA:        bit = ONCE_PAA; break;
	case IE_RAT:        bit = ONCE_RAT; break;
	case IE_SERVING_NW: bit = ONCE_SERVING_NW; break;
	case IE_ULI:        bit = ONCE_ULI; break;
	case IE_SEL_MODE:   bit = ONCE_SEL_MODE; break;
	case IE_EBI:
		return inst == 0 ? ONCE_LBI : inst == 1 ? -1 : -2;
	case IE_FTEID: /* sender (0) and PGW S5/S8 (1) control F-TEIDs */
		return inst <= 1 ? ONCE_FTEID0 + inst : -2;
	default:
		return -1;
	}
	return inst == 0 ? bit : -2;
}

/* True when the IE must be discarded: a repetition of, or an unexpected instance of, an IE
 * kept once per message (TS 29.274 7.7.8, 7.7.9: the first one is the one handled). */
static int mcp_gtp2_discard(uint32_t *kept, uint8_t type, uint8_t inst)
{
	int bit = mcp_gtp2_once_bit(type, inst);

	if (bit == -1)
		return 0;
	if (bit == -2 || (*kept & (1u << bit)))
		return 1;
	*kept |= 1u << bit;
	return 0;
}

/* F-TEID (8.22): flags V4 V6 iface(6), TEID/GRE key, [IPv4], [IPv6]. */
static int mcp_gtp2_fteid(struct mcp_rd *v, uint8_t instance, struct mcp_gtpc_fteid *f)
{
	uint8_t flags = mcp_rd_u8(v);

	memset(f, 0, sizeof(*f));
	f->iface = flags & 0x3f;
	f->instance = instance;
	f->teid = mcp_rd_be32(v);
	if (flags & 0x80) {
		const uint8_t *a = mcp_rd_bytes(v, 4);

		if (a)
			mcp_ip_from_v4(&f->v4, a);
		f->has_v4 = 1;
	}
	if (flags & 0x40) {
		const uint8_t *a = mcp_rd_bytes(v, 16);

		if (a)
			mcp_ip_from_v6(&f->v6, a);
		f->has_v6 = 1;
	}
	return v->err ? -EBADMSG : 0;
}

/* PDN Address Allocation (8.14): PDN type, then v4 / v6 prefix length + v6 / both. */
static int mcp_gtp2_paa(struct mcp_rd *v, struct mcp_gtpc_msg *msg)
{
	const uint8_t *a;

	msg->pdn_type = mcp_rd_u8(v) & 0x07;
	if (msg->pdn_type == 2 || msg->pdn_type == 3) {
		msg->ue_v6_plen = mcp_rd_u8(v);
		a = mcp_rd_bytes(v, 16);
		if (a) {
			mcp_ip_from_v6(&msg->ue_v6, a);
			msg->has_ue_v6 = 1;
		}
	}
	if (msg->pdn_type == 1 || msg->pdn_type == 3) {
		a = mcp_rd_bytes(v, 4);
		if (a) {
			mcp_ip_from_v4(&msg->ue_v4, a);
			msg->has_ue_v4 = 1;
		}
	}
	if (v->err || msg->ue_v6_plen > 128)
		return -EBADMSG;
	return 0;
}

/* User Location Information (8.21): flags, then CGI SAI RAI TAI ECGI LAI in that order. */
static void mcp_gtp2_uli(struct mcp_rd *v, struct mcp_gtpc_msg *msg)
{
	uint8_t flags = mcp_rd_u8(v);
	const uint8_t *p;
	int bit;

	for (bit = 0; bit < 6; bit++) {
		static const uint8_t sz[6] = { 7, 7, 7, 5, 7, 5 };

		if (!(flags & (1u << bit)))
			continue;
		p = mcp_rd_bytes(v, sz[bit]);
		if (!p)
			return;
		mcp_gtpc_plmn(p, msg->serving_net);
		msg->has_uli = 1;
		switch (bit) {
		case 0: /* CGI */
		case 1: /* SAI */
		case 2: /* RAI */
			msg->lac = (uint16_t)(p[3] << 8 | p[4]);
			msg->rac_sac_ci = (uint16_t)(p[5] << 8 | p[6]);
			break;
		case 3: /* TAI */
			msg->tac = (uint16_t)(p[3] << 8 | p[4]);
			break;
		case 4: /* ECGI: 28-bit ECI */
			msg->eci = ((uint32_t)p[3] << 24 | (uint32_t)p[4] << 16 | p[5] << 8 | p[6]) &
				   0x0fffffff;
			break;
		case 5: /* LAI */
			msg->lac = (uint16_t)(p[3] << 8 | p[4]);
			break;
		}
	}
}

/* Same rule inside a Bearer Context: each F-TEID instance once (bits 0-15), EBI (bit 16) and
 * Cause (bit 17) once with instance 0. */
static int mcp_gtp2_bearer_discard(uint32_t *kept, uint8_t type, uint8_t inst)
{
	uint32_t bit;

	if (type == IE_FTEID)
		bit = 1u << inst;
	else if (type == IE_EBI || type == IE_CAUSE)
		bit = inst ? 0 : 1u << (type == IE_EBI ? 16 : 17);
	else
		return 0;
	if (!bit || (*kept & bit))
		return 1;
	*kept |= bit;
	return 0;
}

/* The IEs inside one Bearer Context. 0 or -EBADMSG. */
static int mcp_gtp2_bearer(struct mcp_rd *v, struct mcp_gtpc_msg *msg, struct mcp_gtpc_bearer *b)
{
	uint32_t kept = 0; /* see mcp_gtp2_bearer_discard */

	while (mcp_rd_left(v)) {
		uint8_t type = mcp_rd_u8(v);
		uint16_t n = mcp_rd_be16(v);
		uint8_t inst = mcp_rd_u8(v) & 0x0f;
		struct mcp_rd iv = mcp_rd_sub(v, n);

		if (iv.err) {
			msg->bad_reason = MCP_GTPC_BAD_BAD_IE_LEN;
			return -EBADMSG;
		}
		if (mcp_gtp2_bearer_discard(&kept, type, inst)) {
			msg->discarded_ies++;
			continue;
		}
		switch (type) {
		case IE_EBI:
			b->ebi = mcp_rd_u8(&iv) & 0x0f;
			break;
		case IE_CAUSE:
			b->cause = mcp_rd_u8(&iv);
			b->has_cause = 1;
			break;
		case IE_FTEID:
			if (b->nfteid >= MCP_GTPC_MAX_FTEIDS) {
				msg->unknown_ies++;
				continue;
			}
			if (mcp_gtp2_fteid(&iv, inst, &b->fteid[b->nfteid]) < 0)
				goto bad;
			b->nfteid++;
			break;
		default:
			if (!mcp_gtp2_ie_known(type))
				msg->unknown_ies++;
			continue;
		}
		if (iv.err)
			goto bad;
	}
	return 0;
bad:
	msg->bad_reason = MCP_GTPC_BAD_BAD_IE_VALUE;
	return -EBADMSG;
}

/* One top-level IE: facts into msg. 0 or -EBADMSG (bad_reason set). */
static int mcp_gtp2_ie(uint8_t type, uint8_t inst, struct mcp_rd *iv, struct mcp_gtpc_msg *msg,
		       uint32_t *kept)
{
	size_t n = mcp_rd_left(iv);
	const uint8_t *p = iv->p;

	if (mcp_gtp2_discard(kept, type, inst)) {
		msg->discarded_ies++;
		return 0;
	}
	switch (type) {
	case IE_IMSI:
		if (mcp_gtpc_tbcd(p, n, msg->imsi, sizeof(msg->imsi)) < 0)
			goto bad;
		break;
	case IE_MSISDN:
		if (mcp_gtpc_tbcd(p, n, msg->msisdn, sizeof(msg->msisdn)) < 0)
			goto bad;
		break;
	case IE_MEI:
		if (mcp_gtpc_tbcd(p, n, msg->imei, sizeof(msg->imei)) < 0)
			goto bad;
		break;
	case IE_APN:
		if (mcp_gtpc_apn(p, n, msg->apn, sizeof(msg->apn)) < 0)
			goto bad;
		break;
	case IE_CAUSE:
		msg->cause = mcp_rd_u8(iv);
		msg->has_cause = 1;
		break;
	case IE_RECOVERY:
		msg->recovery = mcp_rd_u8(iv);
		msg->has_recovery = 1;
		break;
	case IE_RAT:
		msg->rat = mcp_rd_u8(iv);
		msg->has_rat = 1;
		break;
	case IE_SEL_MODE:
		msg->selection_mode = mcp_rd_u8(iv) & 0x03;
		break;
	case IE_SERVING_NW:
		p = mcp_rd_bytes(iv, 3);
		if (p)
			mcp_gtpc_plmn(p, msg->serving_net);
		break;
	case IE_ULI:
		mcp_gtp2_uli(iv, msg);
		return 0; /* location is best effort: a short ULI is not fatal */
	case IE_PAA:
		if (mcp_gtp2_paa(iv, msg) < 0)
			goto bad;
		break;
	case IE_EBI:
		/* instance 0: Linked EBI; instance 1: EBIs to delete (Delete Bearer Request) */
		if (inst == 0) {
			msg->lbi = mcp_rd_u8(iv) & 0x0f;
			msg->has_lbi = 1;
		} else if (msg->nebis < MCP_GTPC_MAX_EBIS) {
			msg->ebis[msg->nebis++] = mcp_rd_u8(iv) & 0x0f;
		}
		break;
	case IE_FTEID: /* instance 0 or 1, each once (mcp_gtp2_discard): nctrl stays <= 2 */
		if (mcp_gtp2_fteid(iv, inst, &msg->ctrl[msg->nctrl]) < 0)
			goto bad;
		msg->nctrl++;
		break;
	case IE_BEARER_CTX: {
		struct mcp_gtpc_bearer *b;

		if (msg->nbearers >= MCP_GTPC_MAX_BEARERS)
			goto bad;
		b = &msg->bearers[msg->nbearers];
		memset(b, 0, sizeof(*b));
		b->instance = inst;
		if (mcp_gtp2_bearer(iv, msg, b) < 0)
			return -EBADMSG;
		msg->nbearers++;
		return 0;
	}
	default:
		if (!mcp_gtp2_ie_known(type))
			msg->unknown_ies++;
		return 0;
	}
	if (iv->err)
		goto bad;
	return 0;
bad:
	msg->bad_reason = MCP_GTPC_BAD_BAD_IE_VALUE;
	return -EBADMSG;
}

int mcp_gtpc_v2_decode(const uint8_t *buf, size_t len, struct mcp_gtpc_msg *msg)
{
	struct mcp_rd r = mcp_rd_init(buf, len), body;
	uint32_t kept = 0; /* enum mcp_gtp2_once bits */
	uint8_t flags;
	uint16_t mlen;
	size_t hlen;

	memset(msg, 0, offsetof(struct mcp_gtpc_msg, bearers));
	flags = mcp_rd_u8(&r);
	msg->type = mcp_rd_u8(&r);
	mlen = mcp_rd_be16(&r);
	msg->version = 2;
	if (r.err) {
		msg->bad_reason = MCP_GTPC_BAD_TRUNC_HDR;
		return -EMSGSIZE;
	}
	if (MCP_GTP2_VERSION(flags) != 2) {
		msg->bad_reason = MCP_GTPC_BAD_BAD_VERSION;
		return -EBADMSG;
	}
	msg->piggyback = !!(flags & MCP_GTP2_P);
	msg->has_teid = !!(flags & MCP_GTP2_T);
	hlen = msg->has_teid ? 8 : 4; /* after the first 4 bytes */
	if (mlen < hlen) {
		msg->bad_reason = MCP_GTPC_BAD_BAD_LEN;
		return -EBADMSG;
	}
	msg->len = 4u + mlen;
	if (len < msg->len) {
		msg->bad_reason = len < 4 + hlen ? MCP_GTPC_BAD_TRUNC_HDR : MCP_GTPC_BAD_TRUNC_MSG;
		return -EMSGSIZE;
	}
	body = mcp_rd_sub(&r, mlen);
	if (msg->has_teid)
		msg->teid = mcp_rd_be32(&body);
	msg->seq = mcp_rd_be24(&body);
	mcp_rd_u8(&body); /* spare / message priority */

	while (mcp_rd_left(&body)) {
		uint8_t type = mcp_rd_u8(&body);
		uint16_t n = mcp_rd_be16(&body);
		uint8_t inst = mcp_rd_u8(&body) & 0x0f;
		struct mcp_rd iv = mcp_rd_sub(&body, n);

		if (iv.err) {
			msg->bad_reason = MCP_GTPC_BAD_BAD_IE_LEN;
			return -EBADMSG;
		}
		if (mcp_gtp2_ie(type, inst, &iv, msg, &kept) < 0)
			return -EBADMSG;
	}
	return (int)msg->len;
}
