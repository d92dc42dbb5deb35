/* gtpc.h - GTPv1-C (TS 29.060) and GTPv2-C (TS 29.274) message decoder: one message in,
 * one struct mcp_gtpc_msg out.
 *
 * The decoder is stateless and never allocates. It keeps only what the session table needs
 * (identities, UE addresses, F-TEIDs per bearer, causes, linkage) and counts the IEs it skips.
 * Every read goes through struct mcp_rd; a cut-short message is -EMSGSIZE, an inconsistent
 * one -EBADMSG, and msg->bad_reason says why.
 *
 * GTPv1 user-plane facts are normalised into the same per-bearer F-TEID list as GTPv2: the
 * NSAPI becomes the bearer id, TEID Data I plus the second GSN Address becomes an F-TEID with
 * iface MCP_GTPC_IFACE_V1_DATA, TEID C-plane plus the first GSN Address becomes msg->ctrl[0].
 */
#ifndef MCP_GTPC_H
#define MCP_GTPC_H

#include <stddef.h>
#include <stdint.h>

#include "mcp_addr.h"

#define MCP_GTPC_MAX_BEARERS 11 /* EBI 5..15 / NSAPI 5..15 */
#define MCP_GTPC_MAX_FTEIDS  4  /* user-plane F-TEIDs kept per bearer context */
#define MCP_GTPC_MAX_CTRL    2  /* control F-TEIDs kept per message (v2 instances 0 and 1) */
#define MCP_GTPC_MAX_EBIS    11 /* EBI list of a Delete Bearer Request */

/* GTPv1-C message types (TS 29.060 7.1) */
#define MCP_GTP1_ECHO_REQ        1
#define MCP_GTP1_ECHO_RSP        2
#define MCP_GTP1_CREATE_PDP_REQ  16
#define MCP_GTP1_CREATE_PDP_RSP  17
#define MCP_GTP1_UPDATE_PDP_REQ  18
#define MCP_GTP1_UPDATE_PDP_RSP  19
#define MCP_GTP1_DELETE_PDP_REQ  20
#define MCP_GTP1_DELETE_PDP_RSP  21

/* GTPv2-C message types (TS 29.274 6.1) */
#define MCP_GTP2_ECHO_REQ           1
#define MCP_GTP2_ECHO_RSP           2
#define MCP_GTP2_VERSION_NOT_SUPP   3
#define MCP_GTP2_CREATE_SESSION_REQ 32
#define MCP_GTP2_CREATE_SESSION_RSP 33
#define MCP_GTP2_MODIFY_BEARER_REQ  34
#define MCP_GTP2_MODIFY_BEARER_RSP  35
#define MCP_GTP2_DELETE_SESSION_REQ 36
#define MCP_GTP2_DELETE_SESSION_RSP 37
#define MCP_GTP2_CREATE_BEARER_REQ  95
#define MCP_GTP2_CREATE_BEARER_RSP  96
#define MCP_GTP2_UPDATE_BEARER_REQ  97
#define MCP_GTP2_UPDATE_BEARER_RSP  98
#define MCP_GTP2_DELETE_BEARER_REQ  99
#define MCP_GTP2_DELETE_BEARER_RSP  100
#define MCP_GTP2_RELEASE_AB_REQ     170
#define MCP_GTP2_RELEASE_AB_RSP     171

/* F-TEID interface types (TS 29.274 8.22, Table 8.22-1) */
#define MCP_GTPC_IFACE_S1U_ENB       0
#define MCP_GTPC_IFACE_S1U_SGW       1
#define MCP_GTPC_IFACE_S12_RNC       2
#define MCP_GTPC_IFACE_S12_SGW       3
#define MCP_GTPC_IFACE_S5U_SGW       4
#define MCP_GTPC_IFACE_S5U_PGW       5
#define MCP_GTPC_IFACE_S5C_SGW       6
#define MCP_GTPC_IFACE_S5C_PGW       7
#define MCP_GTPC_IFACE_S11_MME       10
#define MCP_GTPC_IFACE_S11_SGW       11
#define MCP_GTPC_IFACE_S4U_SGSN      15
#define MCP_GTPC_IFACE_S4U_SGW       16
#define MCP_GTPC_IFACE_V1_DATA       0xff /* GTPv1 TEID Data I + user GSN address */

/* Role of an F-TEID interface type. */
enum mcp_gtpc_iface_role {
	MCP_GTPC_ROLE_OTHER = 0, /* PMIP, unknown: ignored */
	MCP_GTPC_ROLE_UP,        /* user plane, receives uplink (core side endpoint) */
	MCP_GTPC_ROLE_DOWN,      /* user plane, receives downlink (access side endpoint) */
	MCP_GTPC_ROLE_CTRL_CORE, /* control plane, core side (SGW on S11, PGW on S5/S8) */
	MCP_GTPC_ROLE_CTRL_ACCESS, /* control plane, access side (MME, SGSN, SGW on S5/S8) */
};

/* Why a message was rejected (index into mcp_session_stats.malformed_reason). */
#define MCP_GTPC_BAD_REASONS(X)                                                                 \
	X(TRUNC_HDR)    /* shorter than the fixed header */                                       \
	X(TRUNC_MSG)    /* shorter than the header's length field says */                         \
	X(BAD_VERSION)  /* version not 1/2, or v1 with PT = GTP' */                               \
	X(BAD_LEN)      /* length field smaller than the mandatory header */                      \
	X(BAD_IE_LEN)   /* IE overruns the message or its fixed length is wrong */                \
	X(UNKNOWN_TV)   /* GTPv1 TV IE of unknown length: the rest cannot be walked */            \
	X(BAD_IE_VALUE) /* IE content inconsistent (F-TEID flags, PAA type, too many bearers) */  \
	X(BAD_PIGGYBACK) /* P flag set but the piggybacked message is malformed */

#define MCP_ENUM_GTPC_BAD(n) MCP_GTPC_BAD_##n,
enum mcp_gtpc_bad_reason { MCP_GTPC_BAD_REASONS(MCP_ENUM_GTPC_BAD) MCP_GTPC_BAD__MAX };
#undef MCP_ENUM_GTPC_BAD

_Static_assert(MCP_GTPC_BAD__MAX <= 8, "fits mcp_session_stats.malformed_reason");

/* One F-TEID (v2 IE 87) or its v1 equivalent (TEID + GSN address). */
struct mcp_gtpc_fteid {
	uint32_t teid;
	struct mcp_ip v4, v6;
	uint8_t has_v4, has_v6;
	uint8_t iface;    /* interface type, MCP_GTPC_IFACE_V1_DATA for GTPv1 */
	uint8_t instance; /* IE instance (v2) */
};

/* One Bearer Context (v2 IE 93) or the GTPv1 PDP context of the message. */
struct mcp_gtpc_bearer {
	uint8_t ebi;        /* EBI / NSAPI, 0 when absent */
	uint8_t instance;   /* Bearer Context IE instance */
	uint8_t has_cause;
	uint8_t cause;
	uint8_t nfteid;
	uint8_t has_ebi;    /* GTPv1: an NSAPI IE was present (NSAPI 0 is seen on real links) */
	uint8_t pad[2];
	struct mcp_gtpc_fteid fteid[MCP_GTPC_MAX_FTEIDS];
};

struct mcp_gtpc_msg {
	/* Header */
	uint8_t version;     /* 1 or 2 */
	uint8_t type;        /* message type */
	uint8_t has_teid;    /* v2 T flag; always 1 for v1 */
	uint8_t piggyback;   /* v2 P flag: another message follows this one */
	uint32_t teid;       /* header TEID: the receiver's control TEID */
	uint32_t seq;        /* 16-bit (v1, 0 if no S flag) or 24-bit (v2) */
	uint32_t len;        /* bytes of this message including its header */

	/* Result details */
	uint8_t bad_reason;  /* enum mcp_gtpc_bad_reason when decode failed */
	uint8_t has_cause, cause;
	uint8_t has_recovery, recovery;
	uint8_t has_rat, rat;
	uint8_t has_lbi, lbi;   /* v2 Linked EBI / v1 Linked NSAPI */
	uint8_t teardown;       /* v1 Teardown Ind */
	uint8_t selection_mode;
	uint8_t nebis;          /* v2 EBI IEs at top level, instance 1 (Delete Bearer Req) */
	uint8_t ebis[MCP_GTPC_MAX_EBIS];
	uint16_t unknown_ies;   /* IEs skipped without being understood */
	uint16_t discarded_ies; /* kept IEs repeated or of an unexpected instance: the first one
				 * wins (TS 29.274 7.7.8-7.7.9, TS 29.060 11.1.13) */

	/* Identities (NUL-terminated digit strings, empty when absent) */
	char imsi[16];
	char msisdn[16];
	char imei[17];
	char apn[101];
	char serving_net[7];    /* MCC+MNC digits (v2 Serving Network, v1 RAI/ULI) */

	/* Location (v2 ULI / v1 RAI, ULI); 0 when absent */
	uint8_t has_uli;
	uint16_t lac, tac, rac_sac_ci;
	uint32_t eci;
	uint32_t tlli;

	/* UE address (v2 PAA / v1 End User Address) */
	uint8_t pdn_type;       /* 1 IPv4, 2 IPv6, 3 IPv4v6 (v1 mapped to these), 0 absent */
	uint8_t has_ue_v4, has_ue_v6, ue_v6_plen;
	struct mcp_ip ue_v4, ue_v6;

	/* Control-plane F-TEIDs: v2 top-level F-TEID instances 0 (sender) and 1 (PGW S5/S8 on
	 * S11/S4); v1 ctrl[0] = TEID C-plane + first GSN address. */
	uint8_t nctrl;
	struct mcp_gtpc_fteid ctrl[MCP_GTPC_MAX_CTRL];

	/* GTPv1 raw facts (also normalised into bearers[0]) */
	uint8_t has_teid_data, has_teid_ctrl, ngsn;
	uint32_t teid_data, teid_ctrl;
	struct mcp_ip gsn[2];

	/* Bearer contexts (kept last: copies may stop after bearers[nbearers]) */
	uint8_t nbearers;
	struct mcp_gtpc_bearer bearers[MCP_GTPC_MAX_BEARERS];
};

/* Decodes the message at buf (v1 or v2 by the version bits; gtpc_decode.c). Returns the bytes it occupies
 * (> 0; with msg->piggyback another v2 message may follow), or -EMSGSIZE (cut short) or
 * -EBADMSG (invalid), with msg->bad_reason set. */
int mcp_gtpc_decode(const uint8_t *buf, size_t len, struct mcp_gtpc_msg *msg);
int mcp_gtpc_v1_decode(const uint8_t *buf, size_t len, struct mcp_gtpc_msg *msg);
int mcp_gtpc_v2_decode(const uint8_t *buf, size_t len, struct mcp_gtpc_msg *msg);

/* True for message types that are requests / responses of the exchanges we track. */
int mcp_gtpc_is_request(uint8_t version, uint8_t type);
int mcp_gtpc_is_response(uint8_t version, uint8_t type);
/* Accepted cause: v1 128..191, v2 16..63. */
int mcp_gtpc_cause_accepted(uint8_t version, uint8_t cause);
enum mcp_gtpc_iface_role mcp_gtpc_iface_role(uint8_t iface);
const char *mcp_gtpc_bad_reason_name(enum mcp_gtpc_bad_reason r);
/* "Create Session Request", ...; NULL for a type mcprobe does not name (gtpc_names.c). */
const char *mcp_gtpc_msg_name(uint8_t version, uint8_t type);

/* Shared IE helpers (gtpc_ie.c). */
/* TBCD digits (TS 29.002 / 23.003) into out (size outsz, NUL-terminated); filler 0xf ends.
 * Returns the number of digits or -EBADMSG for a non-digit nibble or overflow. */
int mcp_gtpc_tbcd(const uint8_t *in, size_t n, char *out, size_t outsz);
/* APN labels (TS 23.003 9.1) to dotted text; -EBADMSG if a label overruns or out is short. */
int mcp_gtpc_apn(const uint8_t *in, size_t n, char *out, size_t outsz);
/* MCC/MNC from the 3-byte PLMN encoding (TS 24.008 10.5.1.3) into out[7]. */
void mcp_gtpc_plmn(const uint8_t *in, char *out);

/* Bytes of msg worth copying (header fields plus the used bearer contexts). */
static inline size_t mcp_gtpc_msg_size(const struct mcp_gtpc_msg *msg)
{
	return offsetof(struct mcp_gtpc_msg, bearers) +
	       (size_t)msg->nbearers * sizeof(struct mcp_gtpc_bearer);
}

#endif /* MCP_GTPC_H */
