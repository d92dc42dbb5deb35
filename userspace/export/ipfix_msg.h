/* ipfix_msg.h - IPFIX (RFC 7011) and NetFlow v9 (RFC 3954) message encoding for flow records:
 * templates, data sets and message headers, with no I/O (ipfix_send.c is the transport).
 *
 * Four templates per collector: inner IPv4/IPv6 x outer (GTP-U) IPv4/IPv6 endpoints. The
 * fields are the table in ipfix_msg.c (documented in docs/export.md).
 */
#ifndef MCP_IPFIX_MSG_H
#define MCP_IPFIX_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "flow/record.h"

/* Private Enterprise Number of mcprobe's own IEs: 32473 is IANA's number reserved for
 * documentation (RFC 5612) until mcprobe has one of its own. */
#define MCP_IPFIX_PEN 32473
/* RFC 5103 reverse (biflow) information elements. */
#define MCP_IPFIX_REVERSE_PEN 29305

#define MCP_IPFIX_MSG_MAX 8192

enum mcp_ipfix_version { MCP_IPFIX_V10 = 10, MCP_IPFIX_V9 = 9 };

struct mcp_ipfix_enc {
	enum mcp_ipfix_version version;
	int uniflow;      /* two records (up, down) per flow instead of one biflow */
	uint32_t domain;  /* observation domain (v9: source id) */
	size_t mtu;       /* largest message */
};

struct mcp_ipfix_msg {
	uint8_t buf[MCP_IPFIX_MSG_MAX];
	size_t len;
	size_t set_start;  /* offset of the open set's header, 0 = none */
	uint16_t set_id;
	uint32_t records;  /* data records */
	uint32_t v9_count; /* v9 header count: template and data records */
};

void mcp_ipfix_msg_begin(const struct mcp_ipfix_enc *e, struct mcp_ipfix_msg *m);
/* Adds the four templates. 0 or -ENOSPC. */
int mcp_ipfix_msg_add_templates(const struct mcp_ipfix_enc *e, struct mcp_ipfix_msg *m);
/* Adds the record (one, or two in uniflow mode; a direction with no packets is skipped).
 * 0, or -ENOSPC with m unchanged: finish the message and add it to a new one. */
int mcp_ipfix_msg_add_flow(const struct mcp_ipfix_enc *e, struct mcp_ipfix_msg *m,
			   const struct mcp_flow_record *r);
/* Closes the open set and writes the header. seq: IPFIX data records before this message,
 * v9 messages before this one. uptime_ms: v9 sysUptime. */
void mcp_ipfix_msg_finish(const struct mcp_ipfix_enc *e, struct mcp_ipfix_msg *m,
			  uint32_t export_s, uint32_t seq, uint32_t uptime_ms);

/* The IE table, for docs and tests: calls fn once per field of the IPFIX biflow templates. */
void mcp_ipfix_foreach_ie(void (*fn)(void *ctx, uint32_t pen, uint16_t id, const char *name,
				     const char *type, uint16_t v9_id),
			  void *ctx);

#endif /* MCP_IPFIX_MSG_H */
