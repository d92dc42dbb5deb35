/* gtpc_decode.c - GTP-C version dispatcher: the version bits of the first octet (TS 29.060
 * 6, TS 29.274 5.1) choose the GTPv1-C (gtpc_v1.c) or GTPv2-C (gtpc_v2.c) decoder. Kept apart
 * from the shared IE helpers (gtpc_ie.c) so that those never call up into the decoders.
 */
#include "control/gtpc.h"

#include <errno.h>

#include "mcp_gtp.h"

int mcp_gtpc_decode(const uint8_t *buf, size_t len, struct mcp_gtpc_msg *msg)
{
	if (len < 1) {
		msg->bad_reason = MCP_GTPC_BAD_TRUNC_HDR;
		return -EMSGSIZE;
	}
	switch (MCP_GTP1_VERSION(buf[0])) {
	case 1:
		return mcp_gtpc_v1_decode(buf, len, msg);
	case 2:
		return mcp_gtpc_v2_decode(buf, len, msg);
	}
	msg->bad_reason = MCP_GTPC_BAD_BAD_VERSION;
	return -EBADMSG;
}
