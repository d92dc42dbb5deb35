/* parse_cursor.h - the header cursor and the parse summary shared by the parse_*.h steps.
 *
 * Each step has the form parse_<hdr>(&cur, data_end, pi): it checks that the header fits
 * (hdr + 1 > data_end -> pi->reason = MCP_PARSE_TRUNC_*), moves cur.pos past it and returns
 * the next protocol (>= 0) or MCP_STOP with pi->reason set. Offsets are relative to the
 * frame start and fit in 16 bits (XDP frames are at most a page).
 */
#ifndef MCP_BPF_PARSE_CURSOR_H
#define MCP_BPF_PARSE_CURSOR_H

#include "consts.h"
#include "mcp_addr.h"

struct mcp_cur {
	void *pos;
	void *start; /* frame start, for offsets */
};

/* What the parse found; fed to the tunnel/flow lookups and to struct mcp_meta. */
struct mcp_pinfo {
	struct mcp_ip src, dst;       /* user packet (inner when tunneled) */
	struct mcp_ip outer_dst;      /* GTP-U receiving endpoint */
	__u32 teid;
	__u32 ip_len;                 /* user IP length from its header */
	__u16 vlan;
	__u16 sport, dport;           /* host order, valid with MCP_META_F_PORTS */
	__u16 outer_l3, inner_l3, inner_l4;
	__u16 next_off;               /* where the next layer starts (between global steps) */
	__u16 flags;                  /* MCP_META_F_* */
	__u16 udp_end;                /* offset just past the outer UDP datagram (by its length) */
	__u8 proto;                   /* user L4 protocol */
	__u8 gtp_type;
	__u8 qfi, pdu_type;
	__u8 reason;                  /* enum mcp_parse_reason when a step returned MCP_STOP */
	__u8 tcp_flags;               /* user TCP segment's flags byte, 0 otherwise */
	__u8 tcp_bare;                /* 1: a user TCP segment without payload */
	__u8 pad;
};

static __always_inline __u16 mcp_off(const struct mcp_cur *cur, const void *p)
{
	return (__u16)((const __u8 *)p - (const __u8 *)cur->start);
}

static __always_inline int mcp_fail(struct mcp_pinfo *pi, int reason)
{
	pi->reason = reason;
	return MCP_STOP;
}

#endif /* MCP_BPF_PARSE_CURSOR_H */
