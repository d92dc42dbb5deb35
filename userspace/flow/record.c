/* record.c - names for the flow record enums. */
#include "flow/record.h"

const char *mcp_end_reason_name(enum mcp_end_reason r)
{
	static const char *const names[] = { "idle", "active", "fin", "rst", "flush", "evicted" };

	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "unknown";
}
