/* record.c - names for flow record and session event enums. */
#include "flow/record.h"
#include "session/session.h"

const char *mcp_end_reason_name(enum mcp_end_reason r)
{
	static const char *const names[] = { "idle", "active", "fin", "rst", "flush", "evicted" };

	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "unknown";
}

const char *mcp_session_event_name(enum mcp_session_event ev)
{
	switch (ev) {
	case MCP_EV_ATTACH:
		return "attach";
	case MCP_EV_MODIFY:
		return "modify";
	case MCP_EV_DETACH:
		return "detach";
	case MCP_EV_REMOVE:
		return "remove";
	}
	return "unknown";
}
