// SPDX-License-Identifier: GPL-2.0
/* mcp_bare.bpf.c - the cheapest XDP program (XDP_PASS): the baseline of bench/bench_xdp.c. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int mcp_bare_prog(struct xdp_md *ctx)
{
	return XDP_PASS;
}
