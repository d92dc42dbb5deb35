/* pfcp_internal.h - private to pfcp*.c: IE type numbers, the IE walker and value decoders. */
#ifndef MCP_PFCP_INTERNAL_H
#define MCP_PFCP_INTERNAL_H

#include <errno.h>

#include "control/pfcp.h"
#include "util/rd.h"

/* IE types (TS 29.244 8.1.2) */
#define MCP_PFCP_IE_CREATE_PDR      1
#define MCP_PFCP_IE_PDI             2
#define MCP_PFCP_IE_CREATE_FAR      3
#define MCP_PFCP_IE_FWD_PARAMS      4
#define MCP_PFCP_IE_CREATE_QER      7
#define MCP_PFCP_IE_CREATED_PDR     8
#define MCP_PFCP_IE_UPDATE_PDR      9
#define MCP_PFCP_IE_UPDATE_FAR      10
#define MCP_PFCP_IE_UPD_FWD_PARAMS  11
#define MCP_PFCP_IE_UPDATE_QER      14
#define MCP_PFCP_IE_CAUSE           19
#define MCP_PFCP_IE_SOURCE_IF       20
#define MCP_PFCP_IE_FTEID           21
#define MCP_PFCP_IE_NET_INST        22
#define MCP_PFCP_IE_DEST_IF         42
#define MCP_PFCP_IE_PDR_ID          56
#define MCP_PFCP_IE_FSEID           57
#define MCP_PFCP_IE_OHC             84
#define MCP_PFCP_IE_UE_IP           93
#define MCP_PFCP_IE_FAR_ID          108
#define MCP_PFCP_IE_QFI             124
#define MCP_PFCP_IE_USER_ID         141
#define MCP_PFCP_IE_DNN             159
#define MCP_PFCP_IE_IF_TYPE         160
#define MCP_PFCP_IE_SNSSAI          257

struct mcp_pfcp_ie {
	uint16_t type;
	struct mcp_rd v; /* the value (after the enterprise id of a vendor IE) */
};

typedef int (*mcp_pfcp_ie_fn)(void *ctx, struct mcp_pfcp_ie *ie, int depth,
			      struct mcp_pfcp_msg *m);

/* Records why decoding failed; -EMSGSIZE for a cut-short message, else -EBADMSG. */
static inline int mcp_pfcp_bad(struct mcp_pfcp_msg *m, enum mcp_pfcp_bad_reason r)
{
	m->bad_reason = (uint8_t)r;
	return r == MCP_PFCP_BAD_TRUNC_HDR || r == MCP_PFCP_BAD_TRUNC_MSG ? -EMSGSIZE : -EBADMSG;
}

/* pfcp.c */
int mcp_pfcp_ie_next(struct mcp_rd *r, struct mcp_pfcp_ie *ie);
int mcp_pfcp_walk(struct mcp_rd *r, int depth, mcp_pfcp_ie_fn fn, void *ctx,
		  struct mcp_pfcp_msg *m);

/* pfcp_ie.c: single IE values; 0 or the negative errno of mcp_pfcp_bad() */
int mcp_pfcp_fteid(struct mcp_rd *v, struct mcp_pfcp_fteid *f, struct mcp_pfcp_msg *m);
int mcp_pfcp_ue_ip(struct mcp_rd *v, struct mcp_pfcp_pdr *p, struct mcp_pfcp_msg *m);
int mcp_pfcp_ohc(struct mcp_rd *v, struct mcp_pfcp_far *f, struct mcp_pfcp_msg *m);
int mcp_pfcp_fseid(struct mcp_rd *v, struct mcp_pfcp_msg *m);
int mcp_pfcp_user_id(struct mcp_rd *v, struct mcp_pfcp_msg *m);
/* APN-style labels (as_labels) or plain text into out, printable ASCII only; never fails. */
void mcp_pfcp_text(struct mcp_rd *v, char *out, size_t outsz, int as_labels);

#endif /* MCP_PFCP_INTERNAL_H */
