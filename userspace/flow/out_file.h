/* out_file.h - an append-only record file that can be reopened (SIGHUP, for logrotate's
 * move-then-signal scheme) and rotates itself by size or age (--flows-rotate-*).
 *
 * A rotated file is renamed PATH.<UTC yyyymmddThhmmss>[.n] and a new PATH is opened; the
 * check runs before each record, in the writing thread, so no lock is needed and a record
 * never straddles two files. "-" is stdout, never rotated.
 */
#ifndef MCP_OUT_FILE_H
#define MCP_OUT_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct mcp_out_file;

/* NULL (errno set) if the file cannot be opened. max_bytes / max_age_s 0: no rotation. */
struct mcp_out_file *mcp_out_file_open(const char *path, uint64_t max_bytes, uint32_t max_age_s);
/* The stream to write one record to, after any reopen or rotation that is due; NULL if the
 * file could not be reopened (the error is kept for close). */
FILE *mcp_out_file_begin(struct mcp_out_file *f);
/* Accounts a record of len bytes just written; err < 0 is kept for close. */
void mcp_out_file_end(struct mcp_out_file *f, size_t len, int err);
/* Flushes and closes: 0 or the first -errno seen. */
int mcp_out_file_close(struct mcp_out_file *f);

/* Async-signal-safe: every open file reopens its path before its next record. */
void mcp_out_file_request_reopen(void);

#endif /* MCP_OUT_FILE_H */
