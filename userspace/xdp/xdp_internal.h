/* xdp_internal.h - private state shared by xdp_attach.c (load/pin) and maps_user.c (map helpers). */
#ifndef MCP_XDP_INTERNAL_H
#define MCP_XDP_INTERNAL_H

#include <net/if.h>

#include "xdp/maps_user.h"
#include "xdp/map_batch.h"

/* Tunnels installed per subscriber, so an update can delete the ones that went away. */
struct mcp_xdp_subrec {
	uint32_t id;
	uint32_t ntun;
	struct mcp_tunnel_key keys[MCP_MAX_TUNNELS];
	struct mcp_xdp_subrec *next;
};

#define MCP_XDP_SUBREC_BUCKETS 65536

struct mcp_xdp_obj {
	char ifname[IF_NAMESIZE];
	int ifindex;
	int map_fd[MCP_XMAP__MAX];
	int prog_fd;
	int last_meta_fd;   /* mcp_last_meta, detached (test) loads only, else -1 */
	uint32_t nworkers;
	uint32_t max_subscribers;
	struct mcp_xdp_subrec **subrecs; /* MCP_XDP_SUBREC_BUCKETS heads, allocated lazily */
	uint32_t *flow_hints; /* mmapped flow_hints counters, mapped on first use (maps_user.c) */
	struct mcp_tunnel_bucket *tindex; /* mmapped tunnel_index, mapped on first use */
	uint32_t tindex_n;                /* its bucket count */
	/* between mcp_xdp_batch_begin and _commit, tunnels and subscribers writes wait here */
	int batching;
	struct mcp_map_batch tunnel_batch, sub_batch;
	uint64_t writes_refused; /* session event writes the kernel refused (atomic) */
};

void mcp_xdp_subrecs_free(struct mcp_xdp_obj *x);
void mcp_xdp_maps_unmap(struct mcp_xdp_obj *x); /* the mmapped maps (maps_user.c) */

#endif /* MCP_XDP_INTERNAL_H */
