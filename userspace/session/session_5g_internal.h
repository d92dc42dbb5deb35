/* session_5g_internal.h - private to session_5g*.c: the PDU session table, the PFCP
 * transaction slots and the SBI identity hints.
 */
#ifndef MCP_SESSION_5G_INTERNAL_H
#define MCP_SESSION_5G_INTERNAL_H

#include <stdint.h>

#include "session/session_5g.h"
#include "session/session_internal.h"

#define MCP_S5G_MAX_TUN   8    /* F-TEIDs kept per PDU session (N3, N9, CP, both ways) */
#define MCP_S5G_MAX_FAR   8    /* FAR destinations remembered (an Update FAR may omit it) */
#define MCP_S5G_TXN_SLOTS 4096 /* pending PFCP requests (direct-mapped: a clash replaces) */
#define MCP_S5G_HINTS     4096 /* SBI identities waiting for their PFCP session (ring) */
#define MCP_S5G_SLOT_BASE 0x80 /* tunnels' ebi of 5G sessions: 0x80 | PDU index (docs/5g.md) */
#define MCP_S5G_IFACE     0x80 /* tunnels' iface: 0x80 | kind << 4 | PFCP interface value */
#define MCP_S5G_KIND_PDR  1    /* the UPF receives on a PDR's F-TEID */
#define MCP_S5G_KIND_FAR  2    /* the peer receives on a FAR's Outer Header Creation */

/* (address, SEID) of one side of a PFCP session. */
struct mcp_s5g_key {
	struct mcp_ip addr;
	uint64_t seid;
};

struct mcp_s5g_tun {
	uint32_t teid;
	struct mcp_ip addr;
	uint8_t dir, iface;
};

struct mcp_s5g_pdu {
	uint8_t used, bound, ntun, has_v4, has_v6, has_up, nqfi, slot;
	uint8_t qfi[MCP_PFCP_MAX_QFI];
	uint32_t snssai;
	uint32_t next_free;
	struct mcp_s5g_key cp, up;
	struct mcp_ip ue_v4, ue_v6;
	char imsi[MCP_IMSI_LEN];   /* subscriber key: IMSI digits or mcp_supi_key(supi) */
	char supi[MCP_SUPI_LEN];   /* a NAI SUPI's text, else empty */
	char imei[MCP_IMEI_LEN];
	char msisdn[MCP_MSISDN_LEN];
	char dnn[MCP_APN_LEN];
	struct mcp_s5g_tun tun[MCP_S5G_MAX_TUN];
	uint8_t nfar;
	uint8_t far_dst[MCP_S5G_MAX_FAR];
	uint32_t far_id[MCP_S5G_MAX_FAR];
};

struct mcp_s5g_txn {
	uint8_t used;
	uint16_t req_port;
	uint32_t seq;
	uint64_t ts_ms;
	struct mcp_ip req_ip, rsp_ip;
	struct mcp_pfcp_msg req; /* only the used parts of the rule arrays are copied */
};

struct mcp_s5g {
	struct mcp_sessions *s;
	struct mcp_s5g_stats st;
	uint32_t max_pdu, npdu_alloc, free_head, txn_timeout_ms;
	struct mcp_s5g_pdu *pdu;
	struct mcp_s5g_txn *txn;
	struct mcp_htab by_seid;      /* struct mcp_s5g_key -> PDU index (both sides) */
	struct mcp_htab by_ue;        /* UE address -> PDU index */
	struct mcp_htab by_ul;        /* UPF uplink F-TEID (mcp_teid_key) -> PDU index */
	struct mcp_sbi_ident *hints;  /* ring of SBI identities */
	uint32_t hint_next;
	struct mcp_htab hint_by_ue, hint_by_ul;
	struct mcp_pfcp_msg msg;      /* decode buffer */
};

/* session_5g.c: what an accepted exchange does to the PDU session table */
void mcp_s5g_apply(struct mcp_s5g *g, const struct mcp_pfcp_msg *req,
		   const struct mcp_pfcp_msg *rsp, const struct mcp_ip *req_src,
		   const struct mcp_ip *req_dst, uint64_t ts_ms);

/* session_5g_bind.c: the PDU session's facts into the subscriber table */
void mcp_s5g_bind(struct mcp_s5g *g, struct mcp_s5g_pdu *p, uint64_t ts_ms);
void mcp_s5g_unbind(struct mcp_s5g *g, struct mcp_s5g_pdu *p, uint64_t ts_ms);
/* Copies an SBI identity into the PDU session (empty fields keep what it had). */
void mcp_s5g_take_ident(struct mcp_s5g_pdu *p, const struct mcp_sbi_ident *id);
/* The subscriber key of an SBI identity (IMSI digits or mcp_supi_key of its NAI). */
void mcp_s5g_ident_key(const struct mcp_sbi_ident *id, char key[MCP_IMSI_LEN]);

#endif /* MCP_SESSION_5G_INTERNAL_H */
