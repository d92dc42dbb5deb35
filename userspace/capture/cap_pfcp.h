/* cap_pfcp.h - the captured subscribers' PFCP messages (TS 29.244, N4 / Sxa-b), for
 * mcp-capture --control.
 *
 * A PFCP session belongs to a captured IMSI when its Session Establishment Request carries
 * that IMSI in the User ID IE (TS 29.244 8.2.101). From there its SEIDs are followed: the
 * request's F-SEID (the control plane's), the response's F-SEID (the user plane's), and every
 * message whose header SEID is one of them is selected, with the answers to selected requests
 * (same sequence number, peers swapped). A session that gets its IMSI only from the SBI is
 * not followed here (the user plane is, through the kernel's tunnel map).
 */
#ifndef MCP_CAP_PFCP_H
#define MCP_CAP_PFCP_H

#include <stdint.h>

#include "capture/imsi_set.h"
#include "decode/pkt.h"

struct mcp_cap_pfcp;

struct mcp_cap_pfcp *mcp_cap_pfcp_create(void);
void mcp_cap_pfcp_destroy(struct mcp_cap_pfcp *p);
/* pkt: a UDP datagram to or from the PFCP port. 1 if it is one of the IMSIs' messages. */
int mcp_cap_pfcp_selected(struct mcp_cap_pfcp *p, const struct mcp_imsi_set *imsis,
			  const struct mcp_pkt *pkt);

#endif /* MCP_CAP_PFCP_H */
