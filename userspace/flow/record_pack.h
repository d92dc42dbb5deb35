/* record_pack.h - a flow record in as many bytes as its strings hold.
 *
 * A struct mcp_flow_record is 1632 bytes, most of it string space that a record leaves
 * empty (URL, user agent, RADIUS user, ...). The shards hand their records to the merger on
 * another core: packed, a record crosses in a fifth of the cache lines, and the batches that
 * carry them stay small enough not to fault in fresh pages at the final flush.
 */
#ifndef MCP_RECORD_PACK_H
#define MCP_RECORD_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "flow/record.h"

/* The most bytes mcp_record_pack writes (a string takes its length byte and at most its
 * field's size - 1 bytes). */
#define MCP_RECORD_PACK_MAX sizeof(struct mcp_flow_record)

/* Writes r to out (MCP_RECORD_PACK_MAX bytes free); returns the bytes written. A string
 * without its NUL in the field is cut to size - 1 bytes. */
size_t mcp_record_pack(const struct mcp_flow_record *r, uint8_t *out);
/* Reads a record mcp_record_pack wrote into r (every byte of r is set: unused string space
 * is zero); returns the bytes read. */
size_t mcp_record_unpack(const uint8_t *in, struct mcp_flow_record *r);

#endif /* MCP_RECORD_PACK_H */
