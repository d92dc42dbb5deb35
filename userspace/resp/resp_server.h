/* resp_server.h - read-only Redis-protocol (RESP2/RESP3) view of the live probe
 * (--resp-listen): one thread, a non-blocking epoll loop, bounded clients, requests and idle
 * time. Keys come from snapshots taken through the provider at most once a second, on demand.
 */
#ifndef MCP_RESP_SERVER_H
#define MCP_RESP_SERVER_H

#include <stdint.h>

#include "resp/resp_view.h"

/* Fills v (keys imsi.*, flow.*, host.*, stats) from the probe's current state. */
typedef void (*mcp_resp_snapshot_fn)(void *ctx, struct mcp_resp_view *v);

struct mcp_resp_cfg {
	const char *addr;        /* default 127.0.0.1 */
	uint16_t port;
	const char *password;    /* NULL: none (then only loopback may be bound) */
	uint32_t max_clients;    /* default 10000 */
	uint32_t idle_timeout_s; /* default 300 */
	mcp_resp_snapshot_fn snapshot;
	void *snapshot_ctx;
};

struct mcp_resp_server;

/* Binds and starts the thread. NULL on failure (logged). */
struct mcp_resp_server *mcp_resp_server_start(const struct mcp_resp_cfg *cfg);
void mcp_resp_server_stop(struct mcp_resp_server *s);

#endif /* MCP_RESP_SERVER_H */
