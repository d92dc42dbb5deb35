/* gtpc_ie.c - helpers shared by the GTPv1-C (TS 29.060) and GTPv2-C (TS 29.274) decoders:
 * TBCD digit strings (TS 29.002, 23.003), APN labels (TS 23.003 9.1), PLMN ids
 * (TS 24.008 10.5.1.3), F-TEID interface roles (TS 29.274 8.22), cause classes.
 */
#include "control/gtpc.h"

#include <errno.h>
#include <string.h>

#include "mcp_gtp.h"

int mcp_gtpc_tbcd(const uint8_t *in, size_t n, char *out, size_t outsz)
{
	size_t i, k = 0;
	int filler = 0;

	if (!outsz)
		return -EBADMSG;
	for (i = 0; i < 2 * n; i++) {
		uint8_t d = (i & 1) ? in[i / 2] >> 4 : in[i / 2] & 0x0f;

		if (d == 0x0f) {
			filler = 1; /* filler: every later nibble must be filler too */
			continue;
		}
		if (filler || d > 9 || k + 1 >= outsz)
			goto bad;
		out[k++] = (char)('0' + d);
	}
	out[k] = '\0';
	return (int)k;
bad:
	out[0] = '\0';
	return -EBADMSG;
}

int mcp_gtpc_apn(const uint8_t *in, size_t n, char *out, size_t outsz)
{
	size_t i = 0, k = 0;

	if (!outsz)
		return -EBADMSG;
	while (i < n) {
		size_t l = in[i++];

		if (l > n - i || k + (k ? 1 : 0) + l >= outsz)
			goto bad;
		if (k)
			out[k++] = '.';
		memcpy(out + k, in + i, l);
		k += l;
		i += l;
	}
	out[k] = '\0';
	/* labels are LDH text; anything else would break JSON and keys downstream */
	for (i = 0; i < k; i++) {
		unsigned char c = (unsigned char)out[i];

		if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
			out[i] = '_';
	}
	return (int)k;
bad:
	out[0] = '\0';
	return -EBADMSG;
}

void mcp_gtpc_plmn(const uint8_t *in, char *out)
{
	static const char hex[] = "0123456789abcdef";
	int k = 0;

	out[k++] = hex[in[0] & 0x0f];
	out[k++] = hex[in[0] >> 4];
	out[k++] = hex[in[1] & 0x0f];
	out[k++] = hex[in[2] & 0x0f];
	out[k++] = hex[in[2] >> 4];
	if ((in[1] >> 4) != 0x0f)
		out[k++] = hex[in[1] >> 4];
	out[k] = '\0';
}

enum mcp_gtpc_iface_role mcp_gtpc_iface_role(uint8_t iface)
{
	switch (iface) {
	case 0:  /* S1-U eNodeB GTP-U */
	case 2:  /* S12 RNC GTP-U */
	case 4:  /* S5/S8 SGW GTP-U: receives downlink from the PGW */
	case 15: /* S4 SGSN GTP-U */
	case 19: /* eNodeB/gNodeB GTP-U for DL data forwarding */
	case 21: /* RNC GTP-U for data forwarding */
	case 22: /* SGSN GTP-U for data forwarding */
	case 23: /* SGW/UPF GTP-U for DL data forwarding */
	case 29: /* Sn SGSN GTP-U (MBMS, downlink only) */
	case 31: /* S2b-U ePDG GTP-U */
	case 34: /* S2a TWAN GTP-U */
	case 38: /* S11-U MME GTP-U */
		return MCP_GTPC_ROLE_DOWN;
	case 1:  /* S1-U SGW GTP-U */
	case 3:  /* S12 SGW GTP-U */
	case 5:  /* S5/S8 PGW GTP-U */
	case 16: /* S4 SGW GTP-U */
	case 20: /* eNodeB GTP-U for UL data forwarding */
	case 28: /* SGW GTP-U for UL data forwarding */
	case 33: /* S2b-U PGW GTP-U */
	case 37: /* S2a PGW GTP-U */
	case 39: /* S11-U SGW GTP-U */
	case 41: /* N19mb UPF GTP-U */
		return MCP_GTPC_ROLE_UP;
	case 7:  /* S5/S8 PGW GTP-C */
	case 11: /* S11/S4 SGW GTP-C */
	case 24: /* Sm MBMS GW GTP-C */
	case 25: /* Sn MBMS GW GTP-C */
	case 32: /* S2b PGW GTP-C */
	case 36: /* S2a PGW GTP-C */
		return MCP_GTPC_ROLE_CTRL_CORE;
	case 6:  /* S5/S8 SGW GTP-C */
	case 10: /* S11 MME GTP-C */
	case 12: /* S10/N26 MME GTP-C */
	case 13: /* S3 MME GTP-C */
	case 14: /* S3 SGSN GTP-C */
	case 17: /* S4 SGSN GTP-C */
	case 18: /* S16 SGSN GTP-C */
	case 26: /* Sm MME GTP-C */
	case 27: /* Sn SGSN GTP-C */
	case 30: /* S2b ePDG GTP-C */
	case 35: /* S2a TWAN GTP-C */
	case 40: /* N26 AMF GTP-C */
		return MCP_GTPC_ROLE_CTRL_ACCESS;
	default: /* 8, 9: PMIPv6; unassigned */
		return MCP_GTPC_ROLE_OTHER;
	}
}

int mcp_gtpc_cause_accepted(uint8_t version, uint8_t cause)
{
	if (version == 1)
		return cause >= 128 && cause <= 191;
	return cause >= 16 && cause <= 63;
}

int mcp_gtpc_is_request(uint8_t version, uint8_t type)
{
	if (version == 1)
		return type == MCP_GTP1_CREATE_PDP_REQ || type == MCP_GTP1_UPDATE_PDP_REQ ||
		       type == MCP_GTP1_DELETE_PDP_REQ;
	switch (type) {
	case MCP_GTP2_CREATE_SESSION_REQ:
	case MCP_GTP2_MODIFY_BEARER_REQ:
	case MCP_GTP2_DELETE_SESSION_REQ:
	case MCP_GTP2_CREATE_BEARER_REQ:
	case MCP_GTP2_UPDATE_BEARER_REQ:
	case MCP_GTP2_DELETE_BEARER_REQ:
	case MCP_GTP2_RELEASE_AB_REQ:
		return 1;
	}
	return 0;
}

int mcp_gtpc_is_response(uint8_t version, uint8_t type)
{
	if (version == 1)
		return type == MCP_GTP1_CREATE_PDP_RSP || type == MCP_GTP1_UPDATE_PDP_RSP ||
		       type == MCP_GTP1_DELETE_PDP_RSP;
	switch (type) {
	case MCP_GTP2_CREATE_SESSION_RSP:
	case MCP_GTP2_MODIFY_BEARER_RSP:
	case MCP_GTP2_DELETE_SESSION_RSP:
	case MCP_GTP2_CREATE_BEARER_RSP:
	case MCP_GTP2_UPDATE_BEARER_RSP:
	case MCP_GTP2_DELETE_BEARER_RSP:
	case MCP_GTP2_RELEASE_AB_RSP:
		return 1;
	}
	return 0;
}

const char *mcp_gtpc_bad_reason_name(enum mcp_gtpc_bad_reason r)
{
#define MCP_NAME_GTPC_BAD(n) #n,
	static const char *const names[] = { MCP_GTPC_BAD_REASONS(MCP_NAME_GTPC_BAD) };
#undef MCP_NAME_GTPC_BAD
	if ((unsigned int)r >= MCP_GTPC_BAD__MAX)
		return "?";
	return names[r];
}
