/* ipfix_send.h - one collector connection (UDP, or TCP with reconnect and backoff) on its own
 * thread, fed through a bounded queue of finished messages, so the packet path never waits
 * for the network. What cannot be queued or sent is counted, never lost silently.
 */
#ifndef MCP_IPFIX_SEND_H
#define MCP_IPFIX_SEND_H

#include <stddef.h>
#include <stdint.h>

struct mcp_ipfix_link;

struct mcp_ipfix_link_stats {
	uint64_t msgs_sent, records_sent;
	uint64_t records_dropped; /* the backlog was full */
	uint64_t records_lost;    /* a send failed, or unsent at exit */
	uint64_t connects, connect_failures;
};

/* Builds the template message sent first on each new TCP connection: its length, or 0. */
typedef size_t (*mcp_ipfix_templates_fn)(void *ctx, uint8_t *buf, size_t cap);

/* spec "HOST:PORT[/udp|/tcp]" (IPv6 as [ADDR]:PORT). backlog: queued messages at most.
 * NULL on a bad spec or address (one message logged). */
struct mcp_ipfix_link *mcp_ipfix_link_create(const char *spec, int allow_tcp, unsigned backlog,
					     mcp_ipfix_templates_fn templates, void *ctx);
/* Queues a finished message holding `records` data records; never blocks. 0 or -ENOBUFS
 * (dropped and counted). */
int mcp_ipfix_link_send(struct mcp_ipfix_link *l, const uint8_t *msg, size_t len,
			uint32_t records);
int mcp_ipfix_link_is_tcp(const struct mcp_ipfix_link *l);
/* Sends what is queued for at most drain_ms, stops the thread, counts the rest as lost.
 * Stats stay readable until destroy. */
void mcp_ipfix_link_stop(struct mcp_ipfix_link *l, unsigned drain_ms);
void mcp_ipfix_link_destroy(struct mcp_ipfix_link *l);
void mcp_ipfix_link_stats(struct mcp_ipfix_link *l, struct mcp_ipfix_link_stats *s);
const char *mcp_ipfix_link_name(const struct mcp_ipfix_link *l);

#endif /* MCP_IPFIX_SEND_H */
