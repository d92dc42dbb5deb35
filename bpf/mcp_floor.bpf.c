// SPDX-License-Identifier: GPL-2.0
/* mcp_floor.bpf.c - the cost floor of bench/bench_xdp.c: one tunnel hash lookup per frame.
 *
 * Reads the TEID and the outer IPv4 destination at the fixed offsets of an untagged
 * Eth/IPv4(IHL 5)/UDP/GTP-U frame, builds a struct mcp_tunnel_key and looks it up in a hash map
 * of the production type and size, and nothing else: no parse, no counters, no metadata.
 * XDP_PASS when the tunnel is found, XDP_DROP otherwise (so the bench can check the hit).
 */
#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "mcp_map_layout.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, MCP_DEF_MAX_TUNNELS);
	__type(key, struct mcp_tunnel_key);
	__type(value, struct mcp_tunnel_val);
} floor_tunnels SEC(".maps");

#define FLOOR_DST  (14 + 16)          /* IPv4 destination */
#define FLOOR_TEID (14 + 20 + 8 + 4)  /* GTP-U TEID */

SEC("xdp")
int mcp_floor_prog(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct mcp_tunnel_key k;
	__u32 *w = (__u32 *)k.addr.b;

	if (data + FLOOR_TEID + 4 > data_end)
		return XDP_DROP;
	k.teid = bpf_ntohl(*(__u32 *)(data + FLOOR_TEID));
	k.pad = 0;
	w[0] = 0;
	w[1] = 0;
	w[2] = bpf_htonl(0xffff);
	w[3] = *(__u32 *)(data + FLOOR_DST);
	return bpf_map_lookup_elem(&floor_tunnels, &k) ? XDP_PASS : XDP_DROP;
}
