/* xdp_internal.h - private state shared by xdp_attach.c (load/pin), xdp_log.c and maps_user*.c. */
#ifndef MCP_XDP_INTERNAL_H
#define MCP_XDP_INTERNAL_H

#include <net/if.h>

#include "xdp/maps_user.h"
#include "xdp/map_batch.h"

struct mcp_xdp_subrec; /* maps_user_tunnels.c */

struct mcp_xdp_obj {
	char ifname[IF_NAMESIZE];
	int ifindex;
	int map_fd[MCP_XMAP__MAX];
	int prog_fd;
	int last_meta_fd;   /* mcp_last_meta, detached (test) loads only, else -1 */
	uint32_t nworkers;
	uint32_t max_subscribers;
	struct mcp_xdp_subrec **subrecs; /* hash heads (maps_user_tunnels.c), allocated lazily */
	uint32_t *flow_hints; /* mmapped flow_hints counters, mapped on first use (maps_user_flows.c) */
	struct mcp_tunnel_bucket *tindex; /* mmapped tunnel_index, mapped on first use */
	uint32_t tindex_n;                /* its bucket count */
	struct mcp_sub_counters *credit;  /* mmapped sub_credit, mapped on first use */
	/* between mcp_xdp_batch_begin and _commit, tunnels and subscribers writes wait here */
	int batching;
	struct mcp_map_batch tunnel_batch, sub_batch;
	uint64_t writes_refused; /* session event writes the kernel refused (atomic) */
};

/* Set while loading: libbpf's and libxdp's warnings become debug lines (xdp_log.c). */
extern int mcp_xdp_libbpf_quiet;

/* What mcp_xdp_close frees besides descriptors: */
void mcp_xdp_subrecs_free(struct mcp_xdp_obj *x);  /* maps_user_tunnels.c */
void mcp_xdp_tunnels_unmap(struct mcp_xdp_obj *x); /* tunnel_index, maps_user_tunnels.c */
void mcp_xdp_flows_unmap(struct mcp_xdp_obj *x);   /* flow_hints, maps_user_flows.c */
void mcp_xdp_credit_unmap(struct mcp_xdp_obj *x);  /* sub_credit, maps_user_credit.c */

#endif /* MCP_XDP_INTERNAL_H */
