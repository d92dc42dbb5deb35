/* consts.h - limits and constants of the XDP program (bpf/mcp_xdp.bpf.c).
 *
 * Every loop over headers has a fixed bound so the verifier can prove termination; frames
 * that need more are counted as malformed and passed, not parsed further. Each bound can be
 * overridden with -D at build time.
 */
#ifndef MCP_BPF_CONSTS_H
#define MCP_BPF_CONSTS_H

/* 802.1Q/802.1ad tags: QinQ is two; a third covers provider networks stacking one more. */
#ifndef MCP_MAX_VLAN
#define MCP_MAX_VLAN 3
#endif

/* MPLS labels before bottom-of-stack: mobile backhaul rarely uses more than 3 (transport,
 * service, entropy). A stack without bottom-of-stack within the bound is TRUNC_MPLS. */
#ifndef MCP_MAX_MPLS
#define MCP_MAX_MPLS 4
#endif

/* IPv6 extension headers walked before the upper-layer header (hop-by-hop, routing,
 * fragment, destination options, AH). Longer chains are BAD_IP6_EXT. */
#ifndef MCP_MAX_IP6_EXT
#define MCP_MAX_IP6_EXT 4
#endif

/* GTP-U extension headers (TS 29.281 5.2): MCP_GTPU_MAX_EXT from include/mcp_gtp.h. */

#define ETH_P_8021Q_BE  bpf_htons(0x8100)
#define ETH_P_8021AD_BE bpf_htons(0x88a8)
#define ETH_P_QINQ1_BE  bpf_htons(0x9100) /* pre-standard QinQ */
#define ETH_P_MPLS_UC_BE bpf_htons(0x8847)
#define ETH_P_MPLS_MC_BE bpf_htons(0x8848)
#define ETH_P_IP_BE     bpf_htons(0x0800)
#define ETH_P_IPV6_BE   bpf_htons(0x86dd)

#define IP_MF_BE        bpf_htons(0x2000)
#define IP_OFFSET_BE    bpf_htons(0x1fff)

#define IPPROTO_HOPOPTS_ 0
#define IPPROTO_ROUTING_ 43
#define IPPROTO_FRAGMENT_ 44
#define IPPROTO_AH_      51
#define IPPROTO_DSTOPTS_ 60

/* Internal "keep going" result of the parse steps (any value >= 0 is data). */
#define MCP_STOP (-1)

#endif /* MCP_BPF_CONSTS_H */
