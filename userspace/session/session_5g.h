/* session_5g.h - 5G SA PDU sessions (PFCP on N4, identities from the SBI) feeding the one
 * subscriber session table of session.h.
 *
 * A PFCP session (matched request/response by sequence number and peers, then by SEID) is a
 * PDU session: its UE addresses and F-TEIDs (UPF-side PDR F-TEIDs, CHOOSE resolved from the
 * Created PDR; peer-side FAR Outer Header Creation) become the tunnels of a subscriber keyed
 * by the IMSI from the PFCP User ID, or, without one, by the SUPI that the SBI gives for the
 * same UE address or UL F-TEID. Until then the PDU session is kept without a subscriber, so a
 * later SBI message still attributes it. Join rules: docs/5g.md.
 */
#ifndef MCP_SESSION_5G_H
#define MCP_SESSION_5G_H

#include <stdint.h>
#include <stdio.h>

#include "control/pfcp.h"
#include "control/sbi/sbi.h"
#include "decode/pkt.h"
#include "session/session.h"


struct mcp_s5g_stats {
	uint64_t pfcp_msgs[256];
	uint64_t pfcp_malformed, pfcp_malformed_reason[MCP_PFCP_BAD__MAX];
	uint64_t unknown_ies;
	uint64_t accepted, rejected, unmatched_responses, txn_replaced, timed_out;
	uint64_t unknown_seid;          /* modification/deletion of a session never established */
	uint64_t pdu_created, pdu_deleted, pdu_full;
	uint64_t pdu_by_user_id;        /* attributed by the PFCP User ID IMSI */
	uint64_t pdu_by_sbi;            /* attributed by an SBI identity */
	uint64_t pdu_without_sub;       /* kept without a subscriber at establishment */
	uint64_t sbi_idents;            /* SBI identities received */
};

struct mcp_s5g;

/* Works on the table s (which outlives it). NULL on allocation failure. */
struct mcp_s5g *mcp_s5g_create(struct mcp_sessions *s, uint32_t max_pdu_sessions,
			       uint32_t transaction_timeout_ms);
void mcp_s5g_destroy(struct mcp_s5g *g);

/* True for a UDP datagram to or from the PFCP port. */
int mcp_s5g_is_pfcp(const struct mcp_pkt *pkt);
/* Feeds one PFCP datagram (payload of pkt). 0, or -EBADMSG/-EMSGSIZE (counted). */
int mcp_s5g_handle_pfcp(struct mcp_s5g *g, const struct mcp_pkt *pkt);
/* Decoded PFCP message with its carrying addresses (tests, bench). */
void mcp_s5g_pfcp_msg(struct mcp_s5g *g, const struct mcp_pfcp_msg *m, const struct mcp_ip *src,
		      uint16_t sport, const struct mcp_ip *dst, uint16_t dport, uint64_t ts_ms);
/* An identity from the SBI: attributes the matching PDU session now or when it appears. */
void mcp_s5g_sbi_ident(struct mcp_s5g *g, const struct mcp_sbi_ident *id, uint64_t ts_ms);

const struct mcp_s5g_stats *mcp_s5g_stats(const struct mcp_s5g *g);
/* The --stats lines (nothing when no PFCP or SBI was seen). */
void mcp_s5g_print_stats(const struct mcp_s5g *g, FILE *f);

#endif /* MCP_SESSION_5G_H */
