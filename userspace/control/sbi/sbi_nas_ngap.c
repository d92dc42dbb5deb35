/* sbi_nas_ngap.c - the two binary SBI containers the join needs, decoded with bounds checks.
 *
 * NAS-5GS (TS 24.501 8.3.2): PDU Session Establishment Accept
 *   0 EPD 0x2e  1 PSI  2 PTI  3 type 0xc2  4 SSC mode | PDU session type
 *   QoS rules (LV-E)  Session-AMBR (LV)  then optional IEs; 0x29 PDU address (TLV):
 *   type(3 bits) [IPv6 IID(8)] [IPv4(4)]           (9.11.4.10)
 * Optional IE formats: IEI 0x8-..0xF- type 1 (TV, 1 byte); 0x59, 0x56 TV 2 bytes;
 * 0x7x TLV-E; the rest TLV.
 *
 * NGAP (TS 38.413 9.3.4.1, ALIGNED PER): PDU Session Resource Setup Request Transfer
 *   ext(1) pad  count(16)  then per ProtocolIE-Field: id(16) criticality(2)+pad
 *   open type length (1 byte < 128, or 2 bytes 10xxxxxx)  value
 *   id 139 UL-NGU-UP-TNLInformation = CHOICE (no extension marker) gTPTunnel: choice(1)
 *   sequence ext(1) opt(1) bitstring size ext(1) len-1(8) pad(4) | address (len bits,
 *   octet aligned) | TEID(4)
 *
 * NGAP (TS 38.413 9.3.4.2): PDU Session Resource Setup Response Transfer, a SEQUENCE whose
 *   first component is dLQosFlowPerTNLInformation: its uPTransportLayerInformation starts
 *   the encoding, before any optional component, so the preamble bits fixed:
 *   ext(1) 4 optional(4) | QosFlowPerTNLInformation ext(1) opt(1) | CHOICE gTPTunnel(1)=0 |
 *   GTPTunnel ext(1) opt(1) | bit string size ext(1)=0 len-1(8) pad(5) | address | TEID(4)
 */
#include <errno.h>
#include <string.h>

#include "control/sbi/sbi.h"
#include "util/rd.h"

#define NAS_EPD_5GSM 0x2e
#define NAS_PDU_SESS_EST_ACCEPT 0xc2
#define NAS_IEI_PDU_ADDRESS 0x29
#define NGAP_ID_UL_NGU_UP_TNL 139
#define MAX_NAS_IES 32
#define MAX_NGAP_IES 64

static int pdu_address(struct mcp_rd *v, struct mcp_sbi_ident *id)
{
	uint8_t type = mcp_rd_u8(v) & 0x07;
	const uint8_t *iid = NULL, *v4 = NULL;
	uint8_t v6[16] = { 0xfe, 0x80 };

	if (type == 2 || type == 3)
		iid = mcp_rd_bytes(v, 8);
	if (type == 1 || type == 3)
		v4 = mcp_rd_bytes(v, 4);
	if (v->err || (!iid && !v4))
		return -EBADMSG;
	if (v4) {
		mcp_ip_from_v4(&id->ue_v4, v4);
		id->has_ue_v4 = 1;
	}
	if (iid) { /* link-local form: the prefix comes later by router advertisement */
		memcpy(v6 + 8, iid, 8);
		mcp_ip_from_v6(&id->ue_v6, v6);
		id->has_ue_v6 = 1;
	}
	return 0;
}

int mcp_nas5gs_accept_address(const uint8_t *p, size_t n, struct mcp_sbi_ident *id)
{
	struct mcp_rd r = mcp_rd_init(p ? p : (const uint8_t *)"", p ? n : 0), v;
	uint8_t iei, psi;
	int i;

	if (mcp_rd_u8(&r) != NAS_EPD_5GSM)
		return -EBADMSG;
	psi = mcp_rd_u8(&r);
	mcp_rd_skip(&r, 1);
	if (mcp_rd_u8(&r) != NAS_PDU_SESS_EST_ACCEPT)
		return -EBADMSG;
	mcp_rd_skip(&r, 1);
	mcp_rd_skip(&r, mcp_rd_be16(&r)); /* authorized QoS rules */
	mcp_rd_skip(&r, mcp_rd_u8(&r));   /* session AMBR */
	if (r.err)
		return -EBADMSG;
	if (!id->pdu_session_id)
		id->pdu_session_id = psi;
	for (i = 0; i < MAX_NAS_IES && mcp_rd_left(&r); i++) {
		iei = mcp_rd_u8(&r);
		if (iei >= 0x80) {
			continue;
		} else if (iei == 0x59 || iei == 0x56) {
			mcp_rd_skip(&r, 1);
		} else if ((iei & 0xf0) == 0x70) {
			mcp_rd_skip(&r, mcp_rd_be16(&r));
		} else {
			v = mcp_rd_sub(&r, mcp_rd_u8(&r));
			if (iei == NAS_IEI_PDU_ADDRESS && !v.err)
				return pdu_address(&v, id);
		}
		if (r.err)
			return -EBADMSG;
	}
	return -EBADMSG; /* an accept always carries the PDU address for IP sessions */
}

/* Open type length determinant (X.691 10.9, aligned): one or two bytes. */
static uint32_t per_length(struct mcp_rd *r)
{
	uint8_t b = mcp_rd_u8(r);

	if (!(b & 0x80))
		return b;
	if ((b & 0xc0) == 0x80)
		return (uint32_t)(b & 0x3f) << 8 | mcp_rd_u8(r);
	r->err = -EMSGSIZE; /* fragmented form: not in a transfer this small */
	return 0;
}

/* A TransportLayerAddress of len bits at a: IPv4 (32), IPv6 (128) or both (160, IPv4 kept). */
static int tnl_address(const uint8_t *a, uint32_t len, struct mcp_ip *addr)
{
	if (len == 128)
		mcp_ip_from_v6(addr, a);
	else if (len == 32 || len == 160)
		mcp_ip_from_v4(addr, a); /* 160: IPv4 first, then IPv6 */
	else
		return -EBADMSG;
	return 0;
}

static int gtp_tunnel(struct mcp_rd *v, struct mcp_sbi_ident *id)
{
	uint16_t bits = mcp_rd_be16(v);
	uint32_t len = ((bits >> 4) & 0xff) + 1u, nb = (len + 7) / 8;
	const uint8_t *a;

	/* choice gTPTunnel, no extensions (else the layout differs) */
	if (v->err || (bits & 0xf000))
		return -EBADMSG;
	a = mcp_rd_bytes(v, nb);
	id->ul_teid = mcp_rd_be32(v);
	if (v->err || tnl_address(a, len, &id->ul_addr) < 0)
		return -EBADMSG;
	id->has_ul_fteid = 1;
	return 0;
}

int mcp_ngap_setup_request_ul(const uint8_t *p, size_t n, struct mcp_sbi_ident *id)
{
	struct mcp_rd r = mcp_rd_init(p ? p : (const uint8_t *)"", p ? n : 0), v;
	uint16_t count, ie;
	uint32_t len;

	if (mcp_rd_u8(&r) & 0x80) /* extension bit: not a form this decoder knows */
		return -EBADMSG;
	count = mcp_rd_be16(&r);
	if (r.err || count > MAX_NGAP_IES)
		return -EBADMSG;
	while (count--) {
		ie = mcp_rd_be16(&r);
		mcp_rd_skip(&r, 1);
		len = per_length(&r);
		v = mcp_rd_sub(&r, len);
		if (r.err)
			return -EBADMSG;
		if (ie == NGAP_ID_UL_NGU_UP_TNL)
			return gtp_tunnel(&v, id);
	}
	return -EBADMSG;
}

int mcp_ngap_setup_response_dl(const uint8_t *p, size_t n, struct mcp_sbi_ident *id)
{
	struct mcp_rd r = mcp_rd_init(p ? p : (const uint8_t *)"", p ? n : 0);
	const uint8_t *pre = mcp_rd_bytes(&r, 3), *a;
	uint32_t len, teid;
	struct mcp_ip addr;

	if (!pre || (pre[0] & 0x01) || (pre[1] & 0x20)) /* not gTPTunnel / size extended */
		return -EBADMSG;
	len = (((uint32_t)pre[1] << 8 | pre[2]) >> 5 & 0xff) + 1u;
	a = mcp_rd_bytes(&r, (len + 7) / 8);
	teid = mcp_rd_be32(&r);
	if (r.err || tnl_address(a, len, &addr) < 0)
		return -EBADMSG;
	id->dl_teid = teid;
	id->dl_addr = addr;
	id->has_dl_fteid = 1;
	return 0;
}
