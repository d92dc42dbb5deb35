/* mc_link.h - a connection to the microcloud's Redis, for tools that read or tidy it.
 *
 * The probe's own connection code (mc_link.c, mc_cluster.c): the same endpoint, UNIX socket,
 * AUTH, db and Redis Cluster options (struct mcp_mc_cfg, parsed by mcp_mc_parse_endpoint and
 * mcp_mc_parse_auth), commands routed by key slot with MOVED/ASK followed, and a list of the
 * masters to SCAN. Replies are hiredis replies: the caller frees them (freeReplyObject).
 * Used by mcp-aggregate; key schema: docs/microcloud.md.
 */
#ifndef MCP_MC_LINK_H
#define MCP_MC_LINK_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "microcloud/microcloud.h"

#define MCP_MC_MAX_NODES 64 /* cluster nodes a link knows */

struct mcp_mc_link;

/* A link set up from c (its strings are borrowed: keep c alive), each connect and command
 * timing out after timeout_ms. Not connected yet. NULL when out of memory. */
struct mcp_mc_link *mcp_mc_link_create(const struct mcp_mc_cfg *c, uint32_t timeout_ms);
/* Closes and frees (NULL is fine). */
void mcp_mc_link_destroy(struct mcp_mc_link *l);

/* Connects (single node) or discovers the slot map (cluster). 0 or -errno: -EACCES when AUTH
 * was refused, -ECONNREFUSED or -ENOTCONN when Redis cannot be reached. */
int mcp_mc_link_open(struct mcp_mc_link *l);

/* Runs one command, routed by key (NULL: any node), and returns its reply (error replies
 * included), or NULL when the connection failed. */
redisReply *mcp_mc_link_cmd(struct mcp_mc_link *l, const char *key, size_t keylen, int argc,
			    const char **argv, const size_t *argvlen);

/* The distinct master nodes (cluster) or the one node: fills idx[], returns the count (0 when
 * none can be reached). */
int mcp_mc_link_masters(struct mcp_mc_link *l, int *idx, int max);
/* Runs a command on one node (an index from mcp_mc_link_masters), e.g. SCAN. */
redisReply *mcp_mc_link_cmd_node(struct mcp_mc_link *l, int node, int argc, const char **argv,
				 const size_t *argvlen);

#endif /* MCP_MC_LINK_H */
