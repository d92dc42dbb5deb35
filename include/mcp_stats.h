/* mcp_stats.h - per-reason counter lists shared by the XDP program and the userspace decoder.
 *
 * One X-macro list per counter family generates the enum and the name table, so the BPF
 * per-CPU array, the worker arrays, `mcprobe --stats` and `mcp-load status` agree on names.
 */
#ifndef MCP_STATS_H
#define MCP_STATS_H

/* Why a frame (or one layer of it) could not be used. Truncated = the capture ended early;
 * invalid = a length or version field is wrong. Both are normal outcomes, never crashes. */
#define MCP_PARSE_REASONS(X)                                                                    \
	X(TRUNC_LINK)        /* link-layer header cut short */                                      \
	X(TRUNC_VLAN)        /* 802.1Q/QinQ tag cut short */                                        \
	X(TRUNC_MPLS)        /* MPLS label stack cut short or without bottom-of-stack */            \
	X(TRUNC_PPPOE)       /* PPPoE session header cut short */                                   \
	X(TRUNC_IP4)         /* IPv4 header cut short */                                            \
	X(TRUNC_IP6)         /* IPv6 header or extension header cut short */                        \
	X(TRUNC_L4)          /* TCP/UDP/ICMP/SCTP/GRE header cut short */                           \
	X(TRUNC_GTPU)        /* GTP-U header, optional fields or extension chain cut short */       \
	X(BAD_LINKTYPE)      /* capture link type not supported */                                 \
	X(BAD_IP_VERSION)    /* IP version nibble is neither 4 nor 6 */                             \
	X(BAD_IP4_HLEN)      /* IPv4 IHL < 5 or beyond total length */                             \
	X(BAD_IP_LEN)        /* IP total/payload length smaller than the headers */                 \
	X(BAD_IP6_EXT)       /* IPv6 extension header chain too long or inconsistent */             \
	X(BAD_TCP_HLEN)      /* TCP data offset < 5 or beyond the segment */                        \
	X(BAD_UDP_LEN)       /* UDP length field smaller than 8 or beyond the datagram */          \
	X(BAD_GTPU_VERSION)  /* GTP-U version is not 1 or PT is not GTP */                          \
	X(BAD_GTPU_LEN)      /* GTP-U length field inconsistent with the datagram */                \
	X(BAD_GTPU_EXT)      /* GTP-U extension header length 0 or chain too long */                \
	X(BAD_GTPU_INNER)    /* T-PDU payload is not an IPv4/IPv6 packet */                         \
	X(FRAG_DROPPED)      /* fragment that could not be reassembled (table full, overlap, timeout) */ \
	X(NOT_IP)            /* frame is not IP (ARP, LLDP, ...): counted, not malformed */

#define MCP_ENUM_PARSE(n) MCP_PARSE_##n,
enum mcp_parse_reason { MCP_PARSE_REASONS(MCP_ENUM_PARSE) MCP_PARSE__MAX };
#undef MCP_ENUM_PARSE

/* What the XDP program did with a frame (bpf/mcp_xdp.bpf.c). Verdicts: every frame counts in rx
 * and in exactly one of redirected, copied, bypassed, passed, dropped; the others are events. */
#define MCP_XDP_COUNTERS(X)                                                                     \
	X(RX)                /* frames seen */                                                      \
	X(REDIRECTED)        /* sent to the AF_XDP socket of the rx queue */                        \
	X(COPIED)            /* inline mode: copied to the inline ring, frame passed to the stack */ \
	X(BYPASSED)          /* matched an installed flow: counted in the kernel only */            \
	X(PASSED)            /* XDP_PASS: malformed, not IP, no socket bound, inline bypass */      \
	X(DROPPED)           /* XDP_DROP (bypass in mirror mode is counted in bypassed, not here) */ \
	X(GTPU)              /* GTP-U frames (any message type) */                                  \
	X(GTPU_SIGNAL)       /* GTP-U echo, error indication, end marker, ... */                    \
	X(GTPC)              /* GTP-C frames (UDP 2123): always for userspace */                    \
	X(KNOWN_TUNNEL)      /* T-PDU whose TEID + endpoint is in the tunnel map */                 \
	X(NO_TUNNEL)         /* T-PDU whose tunnel is unknown: sent up without a subscriber */      \
	X(NOT_TUNNELED)      /* plain IP traffic (fixed network, or not GTP) */                     \
	X(FRAGMENT)          /* (inner) IP fragment: sent up without L4 for reassembly */           \
	X(CAPTURED)          /* copy of a captured subscriber's frame written to the ring buffer */ \
	X(CAPTURE_LOST)      /* ring buffer full: capture copy lost */                              \
	X(NO_XSK)            /* no AF_XDP socket bound on the rx queue: passed */                   \
	X(META_FAILED)       /* bpf_xdp_adjust_meta refused (driver without metadata) */            \
	X(COPY_LOST)         /* inline ring full: frame passed, userspace never saw it */           \
	X(FAST_PARSE)        /* parsed by the one-step common-case parse (bpf/parse_fast.h) */       \
	X(PENDING_UP)        /* payload of a flow waiting for DPI: counted in the kernel, sent up */

#define MCP_ENUM_XDP(n) MCP_XDP_##n,
enum mcp_xdp_counter { MCP_XDP_COUNTERS(MCP_ENUM_XDP) MCP_XDP__MAX };
#undef MCP_ENUM_XDP

#endif /* MCP_STATS_H */
