/* mcp_meta.h - the metadata the XDP program writes in front of each frame for AF_XDP.
 *
 * Written with bpf_xdp_adjust_meta() (at most 32 bytes, a multiple of 4), so in the UMEM it
 * sits in the sizeof(struct mcp_meta) bytes right before the frame's first byte. Userspace
 * checks magic and version. It holds only what userspace reads (docs/live.md, "Threads"):
 *   - every frame: flags (MCP_META_F_KCOUNTED: already counted in the kernel);
 *   - a T-PDU of a known tunnel (MCP_META_F_KNOWN | MCP_META_F_TPDU, not MCP_META_F_FRAG):
 *     the live pipeline decodes it from inner_l3 on, reads the outer addresses at outer_l3,
 *     takes teid, vlan and qfi from here, attributes it to subscriber sub_idx (its id in the
 *     session table) in direction dir, and hands it to shard `worker`;
 *   - flags MCP_META_F_KNOWN: XDP credited the subscriber's kernel counters (else userspace
 *     credits them once it knows the flow's subscriber: sub_credit, docs/xdp.md);
 *   - mcp-capture reads sub_idx of captured frames (the capture ring's records carry this).
 * Other frames are decoded from layer 2 in userspace. The offline shards (pipeline/shards.h)
 * steer the way worker is computed: the subscriber's owner, else the symmetric hash.
 * Offsets are from the first byte of the Ethernet header and are only set (non-zero) when
 * that header was completely inside the frame.
 *
 * Layout (bytes):  0 magic  2 version  3 dir  4 sub_idx  8 teid  12 flags  14 worker
 *                 16 outer_l3  18 inner_l3  20 vlan  22 qfi  23 pad
 */
#ifndef MCP_META_H
#define MCP_META_H

#include <linux/types.h>

#define MCP_META_MAGIC   0x4d43 /* "MC" */
#define MCP_META_VERSION 2

/* flags */
#define MCP_META_F_GTPU     0x0001 /* carried in GTP-U (any message type) */
#define MCP_META_F_TPDU     0x0002 /* GTP-U T-PDU: inner_l3 is the user packet */
#define MCP_META_F_GTPC     0x0004 /* GTP-C (UDP 2123): payload for the control plane */
#define MCP_META_F_KNOWN    0x0008 /* tunnel found: sub_idx and dir are valid */
#define MCP_META_F_INNER_V6 0x0010 /* the (inner) IP packet is IPv6 */
#define MCP_META_F_OUTER_V6 0x0020 /* the outer IP packet is IPv6 (tunneled frames) */
#define MCP_META_F_PORTS    0x0040 /* the user packet has TCP/UDP/SCTP ports (parsed) */
#define MCP_META_F_FRAG     0x0080 /* the (inner) packet is an IP fragment: no L4 parsed */
#define MCP_META_F_CAPTURE  0x0100 /* subscriber under capture: copy sent to the ring */
#define MCP_META_F_QFI      0x0200 /* a PDU Session Container gave qfi and pdu_type */
#define MCP_META_F_INLINE   0x0400 /* program runs in inline mode */
#define MCP_META_F_KCOUNTED 0x0800 /* already counted in its pending kernel flow entry */
/* Never written by XDP: userspace passes it for a frame that came without metadata, so the
 * pipeline does not take "no KNOWN" to mean that XDP credited no subscriber. */
#define MCP_META_F_ABSENT   0x8000

#define MCP_META_DIR_UP      0
#define MCP_META_DIR_DOWN    1
#define MCP_META_DIR_UNKNOWN 0xff
#define MCP_META_SUB_NONE    0xffffffffu

struct mcp_meta {
	__u16 magic;       /* MCP_META_MAGIC */
	__u8 version;      /* MCP_META_VERSION */
	__u8 dir;          /* MCP_META_DIR_* (from the tunnel map) */
	__u32 sub_idx;     /* subscriber index (= its id in the session table), or
			    * MCP_META_SUB_NONE */
	__u32 teid;        /* GTP-U TEID, host order (0 when not GTP-U) */
	__u16 flags;       /* MCP_META_F_* */
	__u16 worker;      /* sub_idx % nworkers when the tunnel is known, else the symmetric
			    * hash of the user addresses % nworkers */
	__u16 outer_l3;    /* offset of the outer (or only) IP header */
	__u16 inner_l3;    /* offset of the user IP header (== outer_l3 when not tunneled) */
	__u16 vlan;        /* outermost VLAN id, 0 if untagged */
	__u8 qfi;          /* 5G QoS flow id (TS 38.415), valid with MCP_META_F_QFI */
	__u8 pad;          /* zero */
};

_Static_assert(sizeof(struct mcp_meta) == 24, "XDP metadata: a multiple of 4, at most 32 bytes");

#endif /* MCP_META_H */
