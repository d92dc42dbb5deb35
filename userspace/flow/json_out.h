/* json_out.h - JSON-lines writers for flow records (--flows-json) and subscriber state
 * changes (--sessions-json). One object per line, written with json-c so every string the
 * packet or nDPI gave is escaped.
 */
#ifndef MCP_JSON_OUT_H
#define MCP_JSON_OUT_H

#include <stdint.h>

#include "flow/record.h"
#include "session/session.h"

struct mcp_json_out;

/* path "-" is stdout. NULL (errno set) if the file cannot be opened. */
struct mcp_json_out *mcp_json_out_open(const char *path);
/* The same, rotating the file by size or age (0: never); see out_file.h. SIGHUP's reopen
 * (mcp_out_file_request_reopen) applies to every JSON file. */
struct mcp_json_out *mcp_json_out_open_rotating(const char *path, uint64_t max_bytes,
						uint32_t max_age_s);
/* Flushes and closes; 0 or -errno (a write error, e.g. disk full, is reported here). */
int mcp_json_out_close(struct mcp_json_out *o);

/* Exporter callback: ctx is a struct mcp_json_out. */
void mcp_json_out_flow(void *ctx, const struct mcp_flow_record *r);
/* One subscriber state line; event names the change ("attach", ..., "final"). */
void mcp_json_out_session(struct mcp_json_out *o, const char *event,
			  const struct mcp_subscriber *sub);

const char *mcp_rat_name(uint8_t rat);

#endif /* MCP_JSON_OUT_H */
