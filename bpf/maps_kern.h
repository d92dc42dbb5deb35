/* maps.h - the BTF-defined maps of the XDP program; layouts in include/mcp_map_layout.h.
 *
 * Only the loader creates them (sizes set with bpf_map__set_max_entries before load) and pins
 * them under /sys/fs/bpf/mcprobe/<iface>/<name without mcp_>.
 */
#ifndef MCP_MAPS_KERN_H
#define MCP_MAPS_KERN_H

#include "mcp_map_layout.h"

/* GTP-U tunnel (TEID + receiving endpoint) -> subscriber index, direction, worker. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, MCP_DEF_MAX_TUNNELS);
	__type(key, struct mcp_tunnel_key);
	__type(value, struct mcp_tunnel_val);
} mcp_tunnels SEC(".maps");

/* Copy of mcp_tunnels that XDP reads without a call (include/mcp_map_layout.h); buckets set by
 * the loader with mcp_tunnel_index_buckets(max tunnels), mask in tunnel_index_mask. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct mcp_tunnel_bucket);
} mcp_tunnel_index SEC(".maps");

/* Subscriber index -> identity (IMSI digits, MSISDN, ...), written by userspace only. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, MCP_DEF_MAX_SUBSCRIBERS);
	__type(key, __u32);
	__type(value, struct mcp_sub_info);
} mcp_subscribers SEC(".maps");

/* Subscriber index -> per-CPU packets/bytes up and down. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MCP_DEF_MAX_SUBSCRIBERS);
	__type(key, __u32);
	__type(value, struct mcp_sub_counters);
} mcp_sub_counters SEC(".maps");

/* Subscriber index -> what userspace credited (late-bound packets, ...): added to the per-CPU
 * slots by every reader. Written only by userspace through mmap; XDP does not touch it. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, MCP_DEF_MAX_SUBSCRIBERS);
	__type(key, __u32);
	__type(value, struct mcp_sub_counters);
} mcp_sub_credit SEC(".maps");

/* Bypassed flows (canonical user 5-tuple + VLAN) -> counters per direction, last seen. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, MCP_DEF_MAX_FLOWS);
	__type(key, struct mcp_flow_key);
	__type(value, struct mcp_flow_val);
} mcp_flows SEC(".maps");

/* Installed flows per hash slot (include/mcp_map_layout.h): zero -> no flows lookup. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, MCP_FLOW_HINT_ELEMS);
	__type(key, __u32);
	__type(value, struct mcp_flow_hint);
} mcp_flow_hints SEC(".maps");

/* Subscriber index -> capture slots (bit s: copy to slot s's ring); include/mcp_map_layout.h. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MCP_DEF_MAX_SUBSCRIBERS);
	__type(key, __u32);
	__type(value, struct mcp_capture_val);
} mcp_capture SEC(".maps");

/* Slot -> that capture's ring buffer (struct mcp_capture_hdr + cap_len bytes per record),
 * inserted by mcp-capture. The inner definition is only the template: a capture's ring may
 * have another size. */
struct mcp_capture_ring_tmpl {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, MCP_MIN_RING);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, MCP_CAPTURE_SLOTS);
	__type(key, __u32);
	__array(values, struct mcp_capture_ring_tmpl);
} mcp_capture_rings SEC(".maps");

/* Who holds the capture slots; XDP reads only the follow mask. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mcp_capture_slots);
} mcp_capture_slots SEC(".maps");

/* Per-CPU frames copied / lost per capture slot. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mcp_capture_stats);
} mcp_capture_stats SEC(".maps");

/* Inline mode: copies of the frames userspace must see (the frames themselves go on to the
 * stack). The loader sizes it to one page in mirror mode. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, MCP_DEF_INLINE_RING);
} mcp_inline_ring SEC(".maps");

/* Per-CPU scratch record: lets bpf_ringbuf_output send a variable-length copy. */
struct mcp_capture_rec {
	struct mcp_capture_hdr hdr;
	__u8 data[MCP_CAPTURE_MAX_SNAP];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mcp_capture_rec);
} mcp_capture_buf SEC(".maps");

/* RX queue index -> AF_XDP socket. */
struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, MCP_DEF_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} mcp_xsks SEC(".maps");

/* Per-CPU counters, one entry: parse reasons then verdicts (struct mcp_xdp_stats). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mcp_xdp_stats);
} mcp_stats SEC(".maps");

/* One entry: ABI, mode flags, worker count, snaplen, attach info. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mcp_xdp_config);
} mcp_config SEC(".maps");

/* Per-CPU copy of the last metadata written, so BPF_PROG_TEST_RUN tests can read it. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mcp_meta);
} mcp_last_meta SEC(".maps");

#endif /* MCP_MAPS_KERN_H */
