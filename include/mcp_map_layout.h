/* mcp_map_layout.h - keys and values of the XDP maps, shared by bpf/ and userspace/.
 *
 * The maps are pinned by mcp-load under /sys/fs/bpf/mcprobe/<iface>/ with the names below
 * (MCP_PIN_*). A pin does not say what its entries mean, so the loader stores MCP_MAP_ABI in
 * the config map and refuses to reuse pins that carry another value: bump MCP_MAP_ABI whenever
 * a key or value struct here changes. All keys are memset to zero before they are filled
 * because padding is hashed too; padding is written out as fields.
 */
#ifndef MCP_MAP_LAYOUT_H
#define MCP_MAP_LAYOUT_H

#include <linux/types.h>

#include "mcp_addr.h"
#include "mcp_meta.h"
#include "mcp_stats.h"

#define MCP_MAP_ABI 8

#define MCP_PIN_ROOT "/sys/fs/bpf/mcprobe"

/* Default sizes; mcp-load --max-* (bpf_map__set_max_entries before load) overrides them. */
#define MCP_DEF_MAX_TUNNELS     1000000
#define MCP_DEF_MAX_SUBSCRIBERS 500000
#define MCP_DEF_MAX_FLOWS       1000000
#define MCP_DEF_MAX_QUEUES      64
#define MCP_DEF_CAPTURE_RING    (8u << 20) /* bytes, power of two */
/* Inline mode: the frames userspace must see are copied into inline_ring (AF_XDP could only
 * take them away from the stack). Mirror mode sizes the ring to one page: it stays unused. */
#define MCP_DEF_INLINE_RING     (32u << 20) /* bytes, power of two: ~15k full-size frames */
#define MCP_MIN_RING            4096u

/* tunnels: GTP-U receiving endpoint -> subscriber. teid in host order; addr is the outer
 * destination address (IPv4 as ::ffff:a.b.c.d). */
struct mcp_tunnel_key {
	__u32 teid;
	__u32 pad;  /* zero */
	struct mcp_ip addr;
};

struct mcp_tunnel_val {
	__u32 sub_idx; /* index into subscribers / sub_counters / capture */
	__u8 dir;      /* MCP_META_DIR_UP or MCP_META_DIR_DOWN */
	__u8 ebi;      /* bearer (EBI / NSAPI), informational */
	__u16 worker;  /* sub_idx % nworkers when written (informational: XDP uses config) */
};

/* tunnel_index (array, BPF_F_MMAPABLE, a power of two of buckets >= max tunnels / 2): a copy of
 * the tunnels written through maps_user.c, which XDP reads without a kernel call (an array
 * element is an inlined load; a hash map lookup is a call, ~35 ns per frame on kernels with
 * return-thunk mitigations). A key sits in a slot of bucket mcp_tunnel_key_hash() & (buckets -
 * 1) unless the bucket was full. XDP uses a slot that matches and looks in tunnels otherwise,
 * so tunnels stays the authority for keys not in the index (full bucket, keys added with
 * bpftool); keys installed through maps_user.c must be changed or deleted through it too.
 * One writer (the session event path) writes the mmapped array: seq is odd while a bucket
 * changes, and XDP trusts a slot only if seq was even and did not change meanwhile. */
#define MCP_TUNNEL_BUCKET_SLOTS 4

struct mcp_tunnel_slot {
	struct mcp_tunnel_key key; /* key.pad = 1: slot in use */
	struct mcp_tunnel_val val;
};

struct mcp_tunnel_bucket {
	__u32 seq;
	__u32 pad;
	struct mcp_tunnel_slot slot[MCP_TUNNEL_BUCKET_SLOTS];
};

/* subscribers: index -> identity, for humans (bpftool map dump shows the digits) and tools. */
#define MCP_SUB_IMSI_LEN   16
#define MCP_SUB_MSISDN_LEN 16
#define MCP_SUB_IMEI_LEN   20
#define MCP_SUB_APN_LEN    64 /* truncated copy; the session table has the full APN */

struct mcp_sub_info {
	char imsi[MCP_SUB_IMSI_LEN];     /* digits, NUL-terminated */
	char msisdn[MCP_SUB_MSISDN_LEN];
	char imei[MCP_SUB_IMEI_LEN];
	char apn[MCP_SUB_APN_LEN];
	struct mcp_ip ue_ipv4;           /* zero when not assigned */
	struct mcp_ip ue_ipv6;
	__u8 rat;
	__u8 gtp_version;
	__u8 ntunnels;
	__u8 pad;
};

/* sub_counters (per-CPU array, index = sub_idx): bytes are inner IP lengths. XDP counts the
 * T-PDUs of the tunnels it knows. sub_credit (array, BPF_F_MMAPABLE, same index and value) holds
 * what userspace counted for the subscriber and XDP did not: packets that passed before the
 * tunnel reached the kernel map (late binding), outer-fragmented T-PDUs, traffic attributed by
 * UE address. Only userspace writes it (atomic adds on the mmapped array); XDP never reads it.
 * A subscriber's kernel totals are the per-CPU slots plus its credit slot, summed over the
 * interfaces (docs/xdp.md, "Subscriber counters"). */
struct mcp_sub_counters {
	__u64 pkts_up;
	__u64 pkts_down;
	__u64 bytes_up;
	__u64 bytes_down;
};

/* flows: bypassed flows, keyed by the user 5-tuple in canonical order (lo = the smaller of
 * (addr, port) pairs), so both directions hit one entry. Direction 0 = lo -> hi. */
struct mcp_flow_key {
	struct mcp_ip lo;
	struct mcp_ip hi;
	__u16 lo_port;  /* host order; 0 for protocols without ports */
	__u16 hi_port;
	__u8 proto;
	__u8 pad;       /* zero */
	__u16 vlan;     /* outermost VLAN id, 0 if untagged */
};

struct mcp_flow_val {
	__u64 pkts[2];  /* [0] lo -> hi, [1] hi -> lo; atomically added by XDP */
	__u64 bytes[2]; /* IP lengths */
	__u64 last_ns;  /* bpf_ktime_get_ns() of the last packet, 0 = never */
	__u32 sub_idx;  /* owner, set by userspace (informational) */
	__u32 flags;    /* MCP_FLOW_V_*, set by userspace at install (informational) */
	__u32 teid[2];  /* first GTP-U TEID XDP saw per direction (index as pkts), 0 = none */
	__u8 tcp_flags[2]; /* TCP flags XDP saw per direction, ORed (a rare race loses a bit) */
	__u16 worker;   /* the userspace worker (shard) that owns the flow, set at install */
	__u8 pad[4];
	/* of pkts/bytes: those XDP could not credit to a subscriber (no tunnel entry yet, or not
	 * a T-PDU), which userspace credits once it knows the flow's subscriber (sub_credit) */
	__u64 nosub_pkts[2];
	__u64 nosub_bytes[2];
};

#define MCP_FLOW_V_PENDING 0x1 /* installed before DPI decided (see flow_hints) */

/* flow_hints (array, BPF_F_MMAPABLE, MCP_FLOW_HINT_SLOTS counters in elements of
 * MCP_FLOW_HINT_PER_ELEM): slot mcp_flow_key_symhash() & (MCP_FLOW_HINT_SLOTS - 1) counts the
 * installed flows with that hash. Userspace (maps_user.c) adds 1 before inserting a flow and
 * subtracts 1 after deleting one, with atomic adds on the mmapped array, so a zero slot proves
 * that no installed flow can match and XDP skips the flows lookup (a hash map lookup is a
 * kernel call, the most expensive step of the fast path; the slot is an inlined array load).
 * The high half counts the installed flows of the slot that are still pending: installed at
 * their TCP SYN, before nDPI decided, so that the kernel counts (and drops) the segments
 * without payload of the handshake while every segment with payload still goes up, marked
 * MCP_META_F_KCOUNTED. Userspace subtracts MCP_FLOW_HINT_PENDING once nDPI has decided: no
 * map update, so no packet counted in between is lost. */
#define MCP_FLOW_HINT_PENDING    (1u << 16)
#define MCP_FLOW_HINT_COUNT_MASK 0xffffu
#define MCP_FLOW_HINT_SLOTS    (1u << 22) /* 16 MiB: false positives <= 22% with 1M flows */
#define MCP_FLOW_HINT_PER_ELEM 64
#define MCP_FLOW_HINT_ELEMS    (MCP_FLOW_HINT_SLOTS / MCP_FLOW_HINT_PER_ELEM)

struct mcp_flow_hint {
	__u32 n[MCP_FLOW_HINT_PER_ELEM];
};

/* Capture (docs/capture.md): up to MCP_CAPTURE_SLOTS mcp-capture runs at once on one
 * interface, each in its own slot with its own ring, so that one capture's drops are its own.
 *   capture       (array, index = sub_idx): bit s set = copy this subscriber's frames to slot
 *                 s's ring. Several bits = several captures of one IMSI (overlap).
 *   capture_rings (array of maps, index = slot): the slot's ring buffer, created by the
 *                 capture that owns the slot; empty when the slot is free.
 *   capture_slots (array, one entry): who holds each slot, and which slots follow the control
 *                 plane. Written by mcp-capture only, under its per-interface lock file.
 *   capture_stats (per-CPU array, one entry): frames copied / lost (ring full or missing) per
 *                 slot, written by XDP.
 * A slot whose owner died (its lock file is free) is stale: the next capture clears its bits,
 * its ring and its entry (userspace/capture/cap_slot.c). */
#define MCP_CAPTURE_SLOTS 16
#define MCP_CAPTURE_ON 1 /* slot 0's bit: the single capture of tests and benchmarks */
#define MCP_CAPTURE_DESC_LEN 96

struct mcp_capture_val {
	__u32 slots; /* bit s: slot s captures this subscriber */
};

#define MCP_CAPTURE_SLOT_USED   0x1
#define MCP_CAPTURE_SLOT_FOLLOW 0x2 /* also GTP-C, PFCP and unknown-tunnel T-PDUs */

struct mcp_capture_slot {
	__u32 flags;  /* MCP_CAPTURE_SLOT_* */
	__u32 pid;    /* owner, for humans (liveness is the owner's lock file) */
	__u64 started; /* owner's start, wall-clock seconds */
	char desc[MCP_CAPTURE_DESC_LEN]; /* the IMSIs, comma-separated, possibly truncated */
};

struct mcp_capture_slots {
	__u32 follow; /* bit s: slot s has MCP_CAPTURE_SLOT_FOLLOW (what XDP reads) */
	__u32 used;   /* bit s: slot s is held */
	struct mcp_capture_slot slot[MCP_CAPTURE_SLOTS];
};

struct mcp_capture_stats {
	__u64 copied[MCP_CAPTURE_SLOTS];
	__u64 lost[MCP_CAPTURE_SLOTS];
};

/* Record of the capture ring and of the inline ring: header followed by cap_len bytes of the
 * frame. */
#define MCP_CAPTURE_MAX_SNAP 2048 /* power of two: the verifier bound is a mask */
struct mcp_capture_hdr {
	__u64 ts_ns;    /* bpf_ktime_get_ns() */
	__u32 wire_len; /* frame length */
	__u32 cap_len;  /* bytes that follow */
	__u32 ifindex;
	__u32 rx_queue;
	struct mcp_meta meta;
};

/* config (array, one entry): set by the loader, read by XDP on every frame. */
#define MCP_CFG_F_INLINE 0x1 /* bypass -> XDP_PASS instead of XDP_DROP; frames for userspace
			      * are copied to inline_ring and passed, not redirected */

#define MCP_ATTACH_NONE    0
#define MCP_ATTACH_LIBXDP  1 /* through the libxdp dispatcher */
#define MCP_ATTACH_NETLINK 2 /* plain bpf_xdp_attach (dispatcher refused) */
#define MCP_ATTACH_LIBXDP_LEGACY 3 /* libxdp, but the kernel refused its dispatcher: alone */

struct mcp_xdp_config {
	__u32 abi;        /* MCP_MAP_ABI of the loader that created the pins */
	__u32 flags;      /* MCP_CFG_F_* */
	__u32 nworkers;   /* 0 is treated as 1 */
	__u32 snaplen;    /* capture bytes per frame, <= MCP_CAPTURE_MAX_SNAP */
	__u32 ifindex;
	__u32 queues;     /* rx queues the loader expects sockets on */
	__u8 xdp_mode;    /* enum xdp_attach_mode of libxdp (1 native, 2 skb, ...) */
	__u8 attach;      /* MCP_ATTACH_* */
	__u16 pad;
	__u32 capture_ring; /* bytes of each capture's ring (mcp-capture creates its own) */
};

/* stats (per-CPU array, one entry): all the counters of a CPU in one value, so XDP looks them
 * up once per frame. Counter i < MCP_PARSE__MAX counts parse reason i, counter MCP_STAT_XDP(c)
 * counts enum mcp_xdp_counter c; the fields are named after them so that bpftool prints names
 * (parse_TRUNC_GTPU, xdp_RX, ...). Index them with mcp_stat(). */
#define MCP_STAT_XDP(c) (MCP_PARSE__MAX + (c))
#define MCP_STATS__MAX  (MCP_PARSE__MAX + MCP_XDP__MAX)

#define MCP_STAT_PARSE_FIELD(n) __u64 parse_##n;
#define MCP_STAT_XDP_FIELD(n)   __u64 xdp_##n;
struct mcp_xdp_stats {
	MCP_PARSE_REASONS(MCP_STAT_PARSE_FIELD)
	MCP_XDP_COUNTERS(MCP_STAT_XDP_FIELD)
};
#undef MCP_STAT_PARSE_FIELD
#undef MCP_STAT_XDP_FIELD

_Static_assert(sizeof(struct mcp_tunnel_key) == 24, "tunnel key layout");
_Static_assert(sizeof(struct mcp_tunnel_val) == 8, "tunnel value layout");
_Static_assert(sizeof(struct mcp_tunnel_bucket) == 136, "tunnel index bucket layout");
_Static_assert(sizeof(struct mcp_sub_info) == 152, "subscriber info layout");
_Static_assert(sizeof(struct mcp_sub_counters) == 32, "subscriber counters layout");
_Static_assert(sizeof(struct mcp_flow_key) == 40, "flow key layout");
_Static_assert(sizeof(struct mcp_flow_val) == 96, "flow value layout");
_Static_assert(sizeof(struct mcp_flow_hint) == 256, "flow hint layout");
_Static_assert(sizeof(struct mcp_capture_hdr) == 48, "capture header layout");
_Static_assert(sizeof(struct mcp_capture_slot) == 112, "capture slot layout");
_Static_assert(sizeof(struct mcp_capture_stats) == 16 * MCP_CAPTURE_SLOTS, "capture stats");
_Static_assert(sizeof(struct mcp_xdp_config) == 32, "config layout");
_Static_assert(sizeof(struct mcp_xdp_stats) == MCP_STATS__MAX * 8, "stats layout: u64 per index");

/* Canonical flow key shared by XDP and userspace: the (addr, port) pair that compares lower
 * becomes lo. The order compares native-endian 32-bit words; it only has to be the same on
 * both sides of one host, which it is because both use this function. Returns the direction
 * of the packet: 0 if src is lo, 1 otherwise. key is fully written (padding zeroed). */
#ifdef __bpf__
#define MCP_MAPS_INLINE static __always_inline
#else
#define MCP_MAPS_INLINE static inline
#endif

/* Counter i of a struct mcp_xdp_stats (i < MCP_STATS__MAX). */
MCP_MAPS_INLINE __u64 *mcp_stat(struct mcp_xdp_stats *st, __u32 i)
{
	return (__u64 *)st + i;
}

MCP_MAPS_INLINE int mcp_ip_word_cmp(const struct mcp_ip *a, const struct mcp_ip *b)
{
#ifdef __bpf__
	const __u32 *x = (const __u32 *)a->b, *y = (const __u32 *)b->b; /* 4-aligned in BPF */
#else
	__u32 x[4], y[4];

	__builtin_memcpy(x, a->b, 16);
	__builtin_memcpy(y, b->b, 16);
#endif
	int i;

	for (i = 0; i < 4; i++) {
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	}
	return 0;
}

/* struct mcp_ip has byte alignment, so a plain assignment compiles to 16 byte moves in BPF;
 * every mcp_ip the XDP program copies sits 4-aligned in a key or on the stack. */
MCP_MAPS_INLINE void mcp_ip_copy(struct mcp_ip *d, const struct mcp_ip *s)
{
#ifdef __bpf__
	__u32 *dw = (__u32 *)d->b;
	const __u32 *sw = (const __u32 *)s->b;

	dw[0] = sw[0];
	dw[1] = sw[1];
	dw[2] = sw[2];
	dw[3] = sw[3];
#else
	*d = *s;
#endif
}

MCP_MAPS_INLINE int mcp_flow_key_make(struct mcp_flow_key *key, const struct mcp_ip *src,
				      const struct mcp_ip *dst, __u16 sport, __u16 dport,
				      __u8 proto, __u16 vlan)
{
	int c = mcp_ip_word_cmp(src, dst);
	int dir = c > 0 || (c == 0 && sport > dport);

	mcp_ip_copy(&key->lo, dir ? dst : src);
	mcp_ip_copy(&key->hi, dir ? src : dst);
	key->lo_port = dir ? dport : sport;
	key->hi_port = dir ? sport : dport;
	key->proto = proto;
	key->pad = 0;
	key->vlan = vlan;
	return dir;
}

/* Symmetric hash of a user 5-tuple: the same for both directions (either argument order).
 * XDP writes it into mcp_meta.hash and uses it for flow_hints; userspace computes it from a
 * flow key with mcp_flow_key_symhash(). Words are native-endian, as in mcp_ip_word_cmp. */
MCP_MAPS_INLINE __u32 mcp_ip_fold(const struct mcp_ip *ip)
{
#ifdef __bpf__
	const __u32 *w = (const __u32 *)ip->b;
#else
	__u32 w[4];

	__builtin_memcpy(w, ip->b, 16);
#endif
	return w[0] ^ w[1] ^ w[2] ^ w[3];
}

MCP_MAPS_INLINE __u32 mcp_flow_hash(const struct mcp_ip *a, const struct mcp_ip *b, __u16 pa,
				    __u16 pb, __u8 proto)
{
	__u32 h = mcp_ip_fold(a) ^ mcp_ip_fold(b) ^ (__u32)(pa ^ pb) ^ proto;

	h ^= h >> 16;
	h *= 0x7feb352d;
	h ^= h >> 15;
	h *= 0x846ca68b;
	h ^= h >> 16;
	return h;
}

/* Bucket hash of a tunnel key (tunnel_index). */
MCP_MAPS_INLINE __u32 mcp_tunnel_key_hash(const struct mcp_tunnel_key *k)
{
	__u32 h = k->teid * 0x9e3779b1u ^ mcp_ip_fold(&k->addr);

	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	return h;
}

/* Bucket count of tunnel_index for max_tunnels: a power of two >= max_tunnels / 2, >= 64. */
MCP_MAPS_INLINE __u32 mcp_tunnel_index_buckets(__u32 max_tunnels)
{
	__u32 n = 64;

	while (n < max_tunnels / 2 && n < (1u << 30))
		n <<= 1;
	return n;
}

MCP_MAPS_INLINE __u32 mcp_flow_key_symhash(const struct mcp_flow_key *k)
{
	return mcp_flow_hash(&k->lo, &k->hi, k->lo_port, k->hi_port, k->proto);
}

#endif /* MCP_MAP_LAYOUT_H */
