/* gtpc_txn.h - the GTP-C transaction table: pending requests, paired with their response by
 * (version, requester IP and port, responder IP, sequence number) and forgotten after a
 * timeout (TS 29.060 7.6, TS 29.274 7.6). Private to the session table (session/).
 *
 * The table keeps a copy of each request so that a matched response can be applied together
 * with it. Expiry is a FIFO of (time, slot, generation); it is driven from outside (the
 * pipeline's tick through mcp_sessions_expire_transactions, and the intake before each
 * message), never from the session table's own expiry.
 */
#ifndef MCP_GTPC_TXN_H
#define MCP_GTPC_TXN_H

#include <stdint.h>

#include "control/gtpc.h"
#include "decode/pkt.h"
#include "session/session.h"

struct mcp_gtpc_txns;

/* A pending request that a response has just matched. */
struct mcp_gtpc_txn_match {
	const struct mcp_gtpc_msg *req;
	const struct mcp_ip *req_ip, *rsp_ip; /* requester and responder addresses */
};

/* Room for max_pending requests (rounded up to whole chunks of 1024); counts into stats. */
struct mcp_gtpc_txns *mcp_gtpc_txns_create(uint32_t max_pending, uint32_t timeout_ms,
					   struct mcp_session_stats *stats);
void mcp_gtpc_txns_destroy(struct mcp_gtpc_txns *x);
/* How many requests can be pending at once. */
uint32_t mcp_gtpc_txns_max(const struct mcp_gtpc_txns *x);

/* Records request m seen in pkt (a retransmission is counted and not recorded again). */
void mcp_gtpc_txns_request(struct mcp_gtpc_txns *x, const struct mcp_gtpc_msg *m,
			   const struct mcp_pkt *pkt, uint64_t ts_ms);
/* Finds the request that response m in pkt answers. 1 with *match filled: the caller uses it
 * and then calls mcp_gtpc_txns_done(); 0 when nothing matches (counted). */
int mcp_gtpc_txns_response(struct mcp_gtpc_txns *x, const struct mcp_gtpc_msg *m,
			   const struct mcp_pkt *pkt, uint64_t ts_ms,
			   struct mcp_gtpc_txn_match *match);
/* Forgets the transaction the last successful mcp_gtpc_txns_response() returned. */
void mcp_gtpc_txns_done(struct mcp_gtpc_txns *x);
/* Forgets requests older than the timeout (counted as timed out). */
void mcp_gtpc_txns_expire(struct mcp_gtpc_txns *x, uint64_t now_ms);

#endif /* MCP_GTPC_TXN_H */
