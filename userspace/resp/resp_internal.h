/* resp_internal.h - the RESP server's client and server state, shared by the event loop
 * (resp_server.c) and the command table (resp_cmd.c). */
#ifndef MCP_RESP_INTERNAL_H
#define MCP_RESP_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "resp/resp_out.h"
#include "resp/resp_parse.h"
#include "resp/resp_server.h"

#define RESP_NAME_MAX 128

struct resp_client {
	int fd;
	uint64_t id;
	char name[RESP_NAME_MAX];
	int authed;
	int closing;      /* QUIT or a protocol error: close once the reply is out */
	uint64_t last_ms; /* last request, for the idle timeout */
	char *in;
	size_t in_len, in_cap;
	size_t out_sent;
	struct mcp_resp_out out;
	struct resp_client *prev, *next;
};

struct resp_stats {
	uint64_t connections, rejected, commands, protocol_errors, idle_closed, snapshots;
	uint64_t snapshot_owner_us; /* summed mcp_resp_view.owner_ns: the packet path's share */
};

struct mcp_resp_server {
	struct mcp_resp_cfg cfg;
	int lfd, epfd, wake_fd;
	pthread_t thread;
	volatile int stop;
	struct resp_client *clients;
	uint32_t nclients;
	uint64_t next_id;
	uint64_t start_ms;
	struct mcp_resp_view *view;
	uint64_t view_ms;
	struct resp_stats st;
};

uint64_t mcp_resp_now_ms(void);
/* Runs one parsed request; the reply goes to c->out. */
void mcp_resp_exec(struct mcp_resp_server *s, struct resp_client *c, struct mcp_resp_req *r);

#endif /* MCP_RESP_INTERNAL_H */
