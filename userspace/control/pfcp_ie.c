/* pfcp_ie.c - PFCP single-IE value decoders (TS 29.244 8.2): F-TEID (8.2.3), UE IP Address
 * (8.2.62), Outer Header Creation (8.2.56), F-SEID (8.2.37), User ID (8.2.101), and the
 * label or text form of Network Instance (8.2.4) and APN/DNN (8.2.103).
 *
 *  F-TEID:  flags (CHID CH V6 V4)  [TEID(4) [IPv4(4)] [IPv6(16)]] | [choose id(1) when CHID]
 *  UE IP:   flags (IP6PL CHV6 CHV4 IPv6D S/D V4 V6)  [IPv4(4)] [IPv6(16)] ...
 *  OHC:     description(2)  [TEID(4)] [IPv4(4)] [IPv6(16)] [port(2)] ...
 *  User ID: flags (PEIF GPSIF SUPIF NAIF MSISDNF IMEIF IMSIF)  then len(1)+value for each
 */
#include <string.h>

#include "control/gtpc.h"
#include "control/pfcp_internal.h"

static void read_v4(struct mcp_rd *v, struct mcp_ip *ip)
{
	const uint8_t *p = mcp_rd_bytes(v, 4);

	if (p)
		mcp_ip_from_v4(ip, p);
}

static void read_v6(struct mcp_rd *v, struct mcp_ip *ip)
{
	const uint8_t *p = mcp_rd_bytes(v, 16);

	if (p)
		mcp_ip_from_v6(ip, p);
}

int mcp_pfcp_fteid(struct mcp_rd *v, struct mcp_pfcp_fteid *f, struct mcp_pfcp_msg *m)
{
	uint8_t flags = mcp_rd_u8(v);

	memset(f, 0, sizeof(*f));
	if (flags & 0x04) { /* CH: the UP function allocates; no TEID or address follow */
		f->choose = 1;
		if (flags & 0x08) {
			f->has_choose_id = 1;
			f->choose_id = mcp_rd_u8(v);
		}
	} else {
		if (flags & 0x08)
			return mcp_pfcp_bad(m, MCP_PFCP_BAD_BAD_IE_VALUE); /* CHID without CH */
		f->teid = mcp_rd_be32(v);
		if (flags & 0x01) {
			f->has_v4 = 1;
			read_v4(v, &f->v4);
		}
		if (flags & 0x02) {
			f->has_v6 = 1;
			read_v6(v, &f->v6);
		}
		if (!(flags & 0x03))
			return mcp_pfcp_bad(m, MCP_PFCP_BAD_BAD_IE_VALUE);
	}
	return v->err ? mcp_pfcp_bad(m, MCP_PFCP_BAD_BAD_IE_LEN) : 0;
}

int mcp_pfcp_ue_ip(struct mcp_rd *v, struct mcp_pfcp_pdr *p, struct mcp_pfcp_msg *m)
{
	uint8_t flags = mcp_rd_u8(v);

	p->ue_dst = !!(flags & 0x04);
	if (flags & 0x02) {
		p->has_ue_v4 = 1;
		read_v4(v, &p->ue_v4);
	}
	if (flags & 0x01) {
		p->has_ue_v6 = 1;
		read_v6(v, &p->ue_v6);
	}
	return v->err ? mcp_pfcp_bad(m, MCP_PFCP_BAD_BAD_IE_LEN) : 0;
}

int mcp_pfcp_ohc(struct mcp_rd *v, struct mcp_pfcp_far *f, struct mcp_pfcp_msg *m)
{
	uint16_t d = mcp_rd_be16(v);
	uint8_t o5 = (uint8_t)(d >> 8);

	f->has_ohc = 1;
	f->ohc_desc = d;
	if (o5 & 0x03)
		f->ohc_teid = mcp_rd_be32(v);
	if (o5 & 0x15) {
		f->ohc_has_v4 = 1;
		read_v4(v, &f->ohc_v4);
	}
	if (o5 & 0x2a) {
		f->ohc_has_v6 = 1;
		read_v6(v, &f->ohc_v6);
	}
	return v->err ? mcp_pfcp_bad(m, MCP_PFCP_BAD_BAD_IE_LEN) : 0;
}

int mcp_pfcp_fseid(struct mcp_rd *v, struct mcp_pfcp_msg *m)
{
	uint8_t flags = mcp_rd_u8(v);

	m->fseid = (uint64_t)mcp_rd_be32(v) << 32;
	m->fseid |= mcp_rd_be32(v);
	if (flags & 0x02) {
		m->fseid_has_v4 = 1;
		read_v4(v, &m->fseid_v4);
	}
	if (flags & 0x01) {
		m->fseid_has_v6 = 1;
		read_v6(v, &m->fseid_v6);
	}
	if (v->err)
		return mcp_pfcp_bad(m, MCP_PFCP_BAD_BAD_IE_LEN);
	m->has_fseid = 1;
	return 0;
}

void mcp_pfcp_text(struct mcp_rd *v, char *out, size_t outsz, int as_labels)
{
	size_t n = mcp_rd_left(v), i;
	const uint8_t *p = mcp_rd_bytes(v, n);

	out[0] = '\0';
	if (!p || !n)
		return;
	if (as_labels && mcp_gtpc_apn(p, n, out, outsz) >= 0)
		return;
	/* not labels (some cores send plain text): keep it, printable ASCII only */
	if (n >= outsz)
		n = outsz - 1;
	for (i = 0; i < n; i++)
		out[i] = p[i] >= 0x20 && p[i] <= 0x7e && p[i] != '"' && p[i] != '\\' ? (char)p[i]
										       : '_';
	out[n] = '\0';
}

/* One length-prefixed User ID field: TBCD digits (IMSI, IMEI, MSISDN) or text (NAI). */
static int user_field(struct mcp_rd *v, char *out, size_t outsz, int tbcd, struct mcp_pfcp_msg *m)
{
	uint8_t n = mcp_rd_u8(v);
	struct mcp_rd f = mcp_rd_sub(v, n);

	if (f.err)
		return mcp_pfcp_bad(m, MCP_PFCP_BAD_BAD_IE_LEN);
	if (!tbcd) {
		mcp_pfcp_text(&f, out, outsz, 0);
		return 0;
	}
	if (mcp_gtpc_tbcd(f.p, n, out, outsz) < 0)
		return mcp_pfcp_bad(m, MCP_PFCP_BAD_BAD_IE_VALUE);
	return 0;
}

int mcp_pfcp_user_id(struct mcp_rd *v, struct mcp_pfcp_msg *m)
{
	uint8_t flags = mcp_rd_u8(v);
	char skip[MCP_PFCP_TEXT_LEN];
	int rc = v->err ? mcp_pfcp_bad(m, MCP_PFCP_BAD_BAD_IE_LEN) : 0;

	if (!rc && (flags & 0x01))
		rc = user_field(v, m->imsi, sizeof(m->imsi), 1, m);
	if (!rc && (flags & 0x02))
		rc = user_field(v, m->imei, sizeof(m->imei), 1, m);
	if (!rc && (flags & 0x04))
		rc = user_field(v, m->msisdn, sizeof(m->msisdn), 1, m);
	if (!rc && (flags & 0x08))
		rc = user_field(v, m->nai, sizeof(m->nai), 0, m);
	/* SUPI, GPSI, PEI (Rel-16 text forms): the digit fields above already name the UE */
	for (int bit = 0x10; !rc && bit <= 0x40; bit <<= 1)
		if (flags & bit)
			rc = user_field(v, skip, sizeof(skip), 0, m);
	return rc;
}
