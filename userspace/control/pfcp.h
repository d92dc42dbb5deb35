/* pfcp.h - PFCP (TS 29.244, N4 / Sxa-b) message decoder: one message in, one struct
 * mcp_pfcp_msg out.
 *
 * Stateless, never allocates. It keeps what the 5G session join needs: the F-SEID, the User ID
 * (IMSI, IMEI, MSISDN, NAI), DNN, S-NSSAI, and per PDR the PDI (source interface, F-TEID with
 * CHOOSE, UE IP address, network instance, QFI), per FAR the destination interface and the
 * Outer Header Creation (the peer's F-TEID), the Created PDRs of a response and the QFIs of
 * the QERs. Grouped IEs are walked with a depth limit; every read goes through struct mcp_rd.
 * A cut-short message is -EMSGSIZE, an inconsistent one -EBADMSG, msg->bad_reason says why.
 */
#ifndef MCP_PFCP_H
#define MCP_PFCP_H

#include <stddef.h>
#include <stdint.h>

#include "mcp_addr.h"

#define MCP_PFCP_PORT 8805

#ifndef MCP_PFCP_MAX_RULES
#define MCP_PFCP_MAX_RULES 16 /* PDRs / FARs / Created PDRs kept per message (more: counted) */
#endif
#define MCP_PFCP_MAX_DEPTH 4  /* grouped IE nesting walked (Update FAR > Update Fwd Params) */
#define MCP_PFCP_MAX_QFI   8
#define MCP_PFCP_TEXT_LEN  64 /* network instance, NAI, SUPI/GPSI/PEI text */

/* Session message types (TS 29.244 7.3) */
#define MCP_PFCP_SESS_EST_REQ 50
#define MCP_PFCP_SESS_EST_RSP 51
#define MCP_PFCP_SESS_MOD_REQ 52
#define MCP_PFCP_SESS_MOD_RSP 53
#define MCP_PFCP_SESS_DEL_REQ 54
#define MCP_PFCP_SESS_DEL_RSP 55
#define MCP_PFCP_SESS_REP_REQ 56
#define MCP_PFCP_SESS_REP_RSP 57

#define MCP_PFCP_CAUSE_ACCEPTED 1

/* Source / destination interface values (TS 29.244 8.2.2, 8.2.24) */
#define MCP_PFCP_IF_ACCESS 0
#define MCP_PFCP_IF_CORE   1
#define MCP_PFCP_IF_SGI    2
#define MCP_PFCP_IF_CP     3
#define MCP_PFCP_IF_NONE   0xff

#define MCP_PFCP_BAD_REASONS(X)                                                                 \
	X(TRUNC_HDR)     /* shorter than the fixed header */                                       \
	X(TRUNC_MSG)     /* shorter than the header's length field says */                         \
	X(BAD_VERSION)   /* version is not 1 */                                                   \
	X(BAD_LEN)       /* length field smaller than the mandatory header */                     \
	X(BAD_IE_LEN)    /* IE overruns its message or grouped IE, or is too short for its type */ \
	X(BAD_IE_VALUE)  /* IE content inconsistent (F-TEID flags, address type, digits) */       \
	X(TOO_DEEP)      /* grouped IEs nested beyond MCP_PFCP_MAX_DEPTH */                       \
	X(BAD_FOLLOW_ON) /* FO flag set but the next message is malformed or missing */

#define MCP_ENUM_PFCP_BAD(n) MCP_PFCP_BAD_##n,
enum mcp_pfcp_bad_reason { MCP_PFCP_BAD_REASONS(MCP_ENUM_PFCP_BAD) MCP_PFCP_BAD__MAX };
#undef MCP_ENUM_PFCP_BAD

/* F-TEID (8.2.3). With choose set the UP function allocates it: TEID and address come in the
 * response's Created PDR with the same PDR ID. */
struct mcp_pfcp_fteid {
	uint32_t teid;
	struct mcp_ip v4, v6;
	uint8_t has_v4, has_v6;
	uint8_t choose, has_choose_id, choose_id;
	uint8_t pad[3];
};

/* One Create PDR, Update PDR or Created PDR. */
struct mcp_pfcp_pdr {
	uint16_t pdr_id;
	uint8_t src_if;            /* MCP_PFCP_IF_*, MCP_PFCP_IF_NONE when absent */
	uint8_t if_type;           /* 3GPP Interface Type (8.2.118), 0xff when absent */
	uint8_t has_fteid, has_ue_v4, has_ue_v6, ue_dst; /* ue_dst: S/D flag (UE is destination) */
	uint8_t nqfi;
	uint8_t qfi[MCP_PFCP_MAX_QFI];
	uint32_t far_id;
	struct mcp_pfcp_fteid fteid;
	struct mcp_ip ue_v4, ue_v6;
	char net_inst[MCP_PFCP_TEXT_LEN];
};

/* One Create FAR or Update FAR: where matching packets go. */
struct mcp_pfcp_far {
	uint32_t far_id;
	uint8_t dst_if;             /* MCP_PFCP_IF_*, MCP_PFCP_IF_NONE when absent */
	uint8_t has_ohc, ohc_has_v4, ohc_has_v6;
	uint16_t ohc_desc;          /* Outer Header Creation Description (8.2.56) */
	uint32_t ohc_teid;          /* the peer's TEID: GTP-U it receives */
	struct mcp_ip ohc_v4, ohc_v6;
	char net_inst[MCP_PFCP_TEXT_LEN];
};

struct mcp_pfcp_msg {
	uint8_t version, type, has_seid, follow_on;
	uint8_t bad_reason;         /* enum mcp_pfcp_bad_reason when decode failed */
	uint8_t has_cause, cause;
	uint8_t has_fseid, fseid_has_v4, fseid_has_v6;
	uint64_t seid;              /* header SEID: the receiver's session */
	uint32_t seq;               /* 24 bits */
	uint32_t len;               /* bytes of this message including its header */
	uint64_t fseid;             /* F-SEID: the sender's own session id */
	struct mcp_ip fseid_v4, fseid_v6;
	uint16_t unknown_ies;       /* IEs skipped without being understood */
	uint16_t rules_dropped;     /* PDRs/FARs beyond MCP_PFCP_MAX_RULES */

	/* User ID (8.2.101) and session facts; NUL-terminated, empty when absent */
	char imsi[16];
	char imei[17];
	char msisdn[16];
	char nai[MCP_PFCP_TEXT_LEN];
	char dnn[101];
	uint8_t has_snssai, sst;
	uint8_t has_sd;
	uint32_t sd;                /* 24 bits */
	uint8_t nqfi;               /* QFIs of Create/Update QERs */
	uint8_t qfi[MCP_PFCP_MAX_QFI];

	uint8_t npdr, nfar, ncreated;
	struct mcp_pfcp_pdr pdr[MCP_PFCP_MAX_RULES];     /* Create PDR, Update PDR */
	struct mcp_pfcp_far far[MCP_PFCP_MAX_RULES];     /* Create FAR, Update FAR */
	struct mcp_pfcp_pdr created[MCP_PFCP_MAX_RULES]; /* Created PDR (responses) */
};

/* Decodes the PFCP message at buf. Returns the bytes it occupies (> 0; with msg->follow_on
 * another message may follow), or -EMSGSIZE (cut short) or -EBADMSG (invalid). */
int mcp_pfcp_decode(const uint8_t *buf, size_t len, struct mcp_pfcp_msg *msg);

/* True for the session request/response types the join tracks (50..57). */
int mcp_pfcp_is_session_request(uint8_t type);
int mcp_pfcp_is_session_response(uint8_t type);
const char *mcp_pfcp_bad_reason_name(enum mcp_pfcp_bad_reason r);
const char *mcp_pfcp_msg_name(uint8_t type);

#endif /* MCP_PFCP_H */
