/* ipfix.h - the IPFIX / NetFlow v9 flow exporter (--ipfix, --netflow9): one sink of the
 * exported-record stream, fanned out to every configured collector. Records are packed into
 * messages under a lock held only for encoding; the network is ipfix_send.c's threads.
 */
#ifndef MCP_EXPORT_IPFIX_H
#define MCP_EXPORT_IPFIX_H

#include <stdint.h>
#include <stdio.h>

#include "flow/record.h"

#define MCP_IPFIX_MAX_COLLECTORS 8

struct mcp_ipfix_cfg {
	const char *spec[MCP_IPFIX_MAX_COLLECTORS]; /* HOST:PORT[/udp|/tcp] */
	uint8_t version[MCP_IPFIX_MAX_COLLECTORS];  /* 10 IPFIX, 9 NetFlow v9 */
	int n;
	int uniflow;          /* --ipfix-uniflow */
	uint32_t backlog;     /* queued messages per collector (default 4096) */
	uint32_t domain;      /* observation domain / source id */
};

struct mcp_ipfix;

/* NULL on a bad collector spec or a resource failure (logged). */
struct mcp_ipfix *mcp_ipfix_create(const struct mcp_ipfix_cfg *cfg);
/* Exporter callback (struct mcp_exporter); ctx is a struct mcp_ipfix. Never blocks on I/O. */
void mcp_ipfix_flow(void *ctx, const struct mcp_flow_record *r);
/* Sends a partly filled message older than a second (live mode, from the pipeline tick). */
void mcp_ipfix_tick(struct mcp_ipfix *x);
/* Sends what is pending, waits at most drain_ms for the collectors. */
void mcp_ipfix_finish(struct mcp_ipfix *x, unsigned drain_ms);
void mcp_ipfix_print_stats(struct mcp_ipfix *x, FILE *f);
void mcp_ipfix_destroy(struct mcp_ipfix *x);

#endif /* MCP_EXPORT_IPFIX_H */
