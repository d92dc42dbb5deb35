/* json_out.h - JSON-lines writers for flow records (--flows-json) and subscriber state
 * changes (--sessions-json). One object per line, streamed (util/jbuf.h: no object model, no
 * printf; about 0.3 us per flow record against 4.6-4.9 us with json-c, bench_json) with every string the packet or nDPI
 * gave escaped. Output is buffered in large chunks; write errors are reported at close.
 */
#ifndef MCP_JSON_OUT_H
#define MCP_JSON_OUT_H

#include <stdint.h>

#include "flow/record.h"
#include "util/jbuf.h"
#include "session/session.h"

struct mcp_json_out;

/* path "-" is stdout. NULL (errno set) if the file cannot be opened. */
struct mcp_json_out *mcp_json_out_open(const char *path);
/* The same, rotating the file by size or age (0: never); see out_file.h. SIGHUP's reopen
 * (mcp_out_file_request_reopen) applies to every JSON file. */
struct mcp_json_out *mcp_json_out_open_rotating(const char *path, uint64_t max_bytes,
						uint32_t max_age_s);
/* Every line is written when it is complete (input that streams: a FIFO, stdin, live), not
 * gathered into chunks that would wait for the next line. */
void mcp_json_out_write_through(struct mcp_json_out *o);
/* Flushes and closes; 0 or -errno (a write error, e.g. disk full, is reported here). */
int mcp_json_out_close(struct mcp_json_out *o);

/* Appends one flow record line (with its newline) to b: shard workers format in parallel. */
void mcp_json_format_flow(struct mcp_jbuf *b, const struct mcp_flow_record *r);
/* Appends preformatted lines (from mcp_json_format_flow) to the output. */
void mcp_json_out_write(struct mcp_json_out *o, const char *p, size_t n);

/* Exporter callback: ctx is a struct mcp_json_out. */
void mcp_json_out_flow(void *ctx, const struct mcp_flow_record *r);
/* One subscriber state line; event names the change ("attach", ..., "final"). */
void mcp_json_out_session(struct mcp_json_out *o, const char *event,
			  const struct mcp_subscriber *sub);

const char *mcp_rat_name(uint8_t rat);

#endif /* MCP_JSON_OUT_H */
