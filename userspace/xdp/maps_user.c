/* maps_user.c - userspace side of the XDP maps: session events -> tunnels/subscribers,
 * capture flags, flow bypass install and batched readback, counters summed over CPUs.
 *
 * Layouts: include/mcp_map_layout.h. Keys are memset before they are filled (padding is hashed).
 */
#include "xdp/maps_user.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "util/log.h"
#include "xdp/xdp_internal.h"

static const char *const stat_names[] = {
#define MCP_STAT_NAME(n) #n,
	MCP_PARSE_REASONS(MCP_STAT_NAME) MCP_XDP_COUNTERS(MCP_STAT_NAME)
#undef MCP_STAT_NAME
};

_Static_assert(sizeof(stat_names) / sizeof(stat_names[0]) == MCP_STATS__MAX, "stat names");

static char stat_lower[MCP_STATS__MAX][32];
static pthread_once_t stat_once = PTHREAD_ONCE_INIT;

static void stat_names_init(void)
{
	size_t i, j;

	for (i = 0; i < MCP_STATS__MAX; i++) {
		for (j = 0; stat_names[i][j] && j < sizeof(stat_lower[i]) - 1; j++)
			stat_lower[i][j] = (char)tolower((unsigned char)stat_names[i][j]);
		stat_lower[i][j] = 0;
	}
}

const char *mcp_xdp_stat_name(unsigned int i)
{
	if (i >= MCP_STATS__MAX)
		return NULL;
	pthread_once(&stat_once, stat_names_init);
	return stat_lower[i];
}

int mcp_xdp_map_fd(const struct mcp_xdp_obj *x, enum mcp_xdp_map m)
{
	return x && (unsigned int)m < MCP_XMAP__MAX ? x->map_fd[m] : -EINVAL;
}

int mcp_xdp_xsk_map_fd(const struct mcp_xdp_obj *x)
{
	return mcp_xdp_map_fd(x, MCP_XMAP_XSKS);
}

int mcp_xdp_prog_fd(const struct mcp_xdp_obj *x)
{
	return x ? x->prog_fd : -EINVAL;
}

int mcp_xdp_config_read(const struct mcp_xdp_obj *x, struct mcp_xdp_config *cfg)
{
	__u32 zero = 0;

	if (bpf_map_lookup_elem(x->map_fd[MCP_XMAP_CONFIG], &zero, cfg))
		return -errno;
	return 0;
}

int mcp_xdp_set_workers(struct mcp_xdp_obj *x, uint32_t nworkers)
{
	struct mcp_xdp_config cfg;
	__u32 zero = 0;
	int err;

	if (!nworkers || nworkers > 0xffff)
		return -EINVAL;
	err = mcp_xdp_config_read(x, &cfg);
	if (err)
		return err;
	cfg.nworkers = nworkers;
	if (bpf_map_update_elem(x->map_fd[MCP_XMAP_CONFIG], &zero, &cfg, BPF_ANY))
		return -errno;
	x->nworkers = nworkers;
	return 0;
}

int mcp_xdp_xsk_set(struct mcp_xdp_obj *x, uint32_t q, int xsk_fd)
{
	int fd = x->map_fd[MCP_XMAP_XSKS];

	if (xsk_fd < 0)
		return bpf_map_delete_elem(fd, &q) && errno != ENOENT ? -errno : 0;
	return bpf_map_update_elem(fd, &q, &xsk_fd, BPF_ANY) ? -errno : 0;
}

/* --- per-subscriber record of installed tunnels --- */

static struct mcp_xdp_subrec **subrec_slot(struct mcp_xdp_obj *x, uint32_t id, int create)
{
	struct mcp_xdp_subrec **pp;

	if (!x->subrecs) {
		if (!create)
			return NULL;
		x->subrecs = calloc(MCP_XDP_SUBREC_BUCKETS, sizeof(*x->subrecs));
		if (!x->subrecs)
			return NULL;
	}
	pp = &x->subrecs[(id * 2654435761u) >> 16 & (MCP_XDP_SUBREC_BUCKETS - 1)];
	while (*pp && (*pp)->id != id)
		pp = &(*pp)->next;
	return pp;
}

void mcp_xdp_subrecs_free(struct mcp_xdp_obj *x)
{
	struct mcp_xdp_subrec *r, *n;
	size_t i;

	if (!x->subrecs)
		return;
	for (i = 0; i < MCP_XDP_SUBREC_BUCKETS; i++)
		for (r = x->subrecs[i]; r; r = n) {
			n = r->next;
			free(r);
		}
	free(x->subrecs);
	x->subrecs = NULL;
}

static void copy_str(char *dst, size_t len, const char *src, size_t src_size)
{
	size_t n = strnlen(src, len - 1 < src_size ? len - 1 : src_size);

	memset(dst, 0, len);
	memcpy(dst, src, n);
}

/* --- tunnel_index: the copy of tunnels that XDP reads without a call (mcp_map_layout.h) ---
 * Only the session event path writes tunnels, so there is one writer per object. */

static struct mcp_tunnel_bucket *tindex_map(struct mcp_xdp_obj *x)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	void *m;

	if (x->tindex)
		return x->tindex;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(x->map_fd[MCP_XMAP_TUNNEL_INDEX], &info, &len))
		return NULL;
	m = mmap(NULL, (size_t)info.max_entries * sizeof(*x->tindex), PROT_READ | PROT_WRITE,
		 MAP_SHARED, x->map_fd[MCP_XMAP_TUNNEL_INDEX], 0);
	if (m == MAP_FAILED)
		return NULL;
	x->tindex_n = info.max_entries;
	x->tindex = m;
	return m;
}

/* seq odd while the bucket changes: XDP then falls back to the tunnels map. */
static void bucket_begin(struct mcp_tunnel_bucket *b)
{
	__atomic_store_n(&b->seq, b->seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static void bucket_end(struct mcp_tunnel_bucket *b)
{
	__atomic_store_n(&b->seq, b->seq + 1, __ATOMIC_RELEASE);
}

static struct mcp_tunnel_slot *bucket_find(struct mcp_tunnel_bucket *b,
					   const struct mcp_tunnel_key *k)
{
	int i;

	for (i = 0; i < MCP_TUNNEL_BUCKET_SLOTS; i++)
		if (b->slot[i].key.pad == 1 && b->slot[i].key.teid == k->teid &&
		    !mcp_ip_cmp(&b->slot[i].key.addr, &k->addr))
			return &b->slot[i];
	return NULL;
}

/* Writes key -> val into tunnels, then into its tunnel_index slot (a free one for a new key;
 * none if the bucket is full: XDP then finds the key in tunnels). */
static int tunnel_put(struct mcp_xdp_obj *x, const struct mcp_tunnel_key *k,
		      const struct mcp_tunnel_val *v)
{
	struct mcp_tunnel_bucket *idx = tindex_map(x), *b;
	struct mcp_tunnel_slot *s;
	int i;

	if (!idx)
		return -errno;
	if (x->batching)
		mcp_map_batch_put(&x->tunnel_batch, k, v); /* a refusal: tunnel_batch_failed */
	else if (bpf_map_update_elem(x->map_fd[MCP_XMAP_TUNNELS], k, v, BPF_ANY))
		return -errno;
	b = &idx[mcp_tunnel_key_hash(k) & (x->tindex_n - 1)];
	s = bucket_find(b, k);
	for (i = 0; i < MCP_TUNNEL_BUCKET_SLOTS && !s; i++)
		if (b->slot[i].key.pad != 1)
			s = &b->slot[i];
	if (s) {
		bucket_begin(b);
		s->key = *k;
		s->key.pad = 1;
		s->val = *v;
		bucket_end(b);
	}
	return 0;
}

static void tindex_forget(struct mcp_xdp_obj *x, const struct mcp_tunnel_key *k)
{
	struct mcp_tunnel_bucket *idx = tindex_map(x), *b;
	struct mcp_tunnel_slot *s;

	if (!idx)
		return;
	b = &idx[mcp_tunnel_key_hash(k) & (x->tindex_n - 1)];
	s = bucket_find(b, k);
	if (s) {
		bucket_begin(b);
		memset(s, 0, sizeof(*s));
		bucket_end(b);
	}
}

/* Deletes key from tunnel_index, then from tunnels. */
static int tunnel_del(struct mcp_xdp_obj *x, const struct mcp_tunnel_key *k)
{
	tindex_forget(x, k);
	if (x->batching) {
		mcp_map_batch_del(&x->tunnel_batch, k);
		return 0;
	}
	if (bpf_map_delete_elem(x->map_fd[MCP_XMAP_TUNNELS], k))
		return -errno;
	return x->tindex ? 0 : -ENOMEM;
}

/* Counted (mcp_xdp_writes_refused); the first one is a warning, the others debug lines. */
static void write_refused(struct mcp_xdp_obj *x, const char *what, int err)
{
	const char *why = err == -E2BIG ? "map full" : strerror(-err);

	if (__atomic_fetch_add(&x->writes_refused, 1, __ATOMIC_RELAXED) == 0)
		mcp_warn("%s: the kernel refused a %s write (%s): those subscribers' packets are "
			 "attributed in userspace only; raise the map sizes (mcp-load --max-tunnels, "
			 "--max-subscribers)\n", x->ifname, what, why);
	else
		mcp_dbg("%s: %s map write refused: %s\n", x->ifname, what, why);
}

/* A tunnel the kernel refused at a batch flush (map full): out of tunnel_index too, so XDP
 * and an operator reading the tunnels map agree. */
static void tunnel_batch_failed(void *ctx, const void *key, int put, int err)
{
	if (put)
		tindex_forget(ctx, key);
	write_refused(ctx, "tunnels", err);
}

static void sub_batch_failed(void *ctx, const void *key, int put, int err)
{
	(void)key;
	(void)put;
	write_refused(ctx, "subscribers", err);
}

uint64_t mcp_xdp_writes_refused(const struct mcp_xdp_obj *x)
{
	return x ? __atomic_load_n(&x->writes_refused, __ATOMIC_RELAXED) : 0;
}

/* Map writes are gathered until mcp_xdp_batch_commit (map_batch.h): one bpf() call per map
 * for a burst of session events instead of one per key. */
int mcp_xdp_batch_begin(struct mcp_xdp_obj *x)
{
	if (x->batching)
		return 0;
	if (!x->tunnel_batch.put_keys &&
	    (mcp_map_batch_init(&x->tunnel_batch, x->map_fd[MCP_XMAP_TUNNELS],
				sizeof(struct mcp_tunnel_key), sizeof(struct mcp_tunnel_val),
				MCP_XDP_BATCH_KEYS, tunnel_batch_failed, x) ||
	     mcp_map_batch_init(&x->sub_batch, x->map_fd[MCP_XMAP_SUBSCRIBERS], sizeof(__u32),
				sizeof(struct mcp_sub_info), MCP_XDP_BATCH_KEYS, sub_batch_failed,
				x))) {
		mcp_map_batch_free(&x->tunnel_batch);
		return -ENOMEM; /* writes stay one call per key */
	}
	x->batching = 1;
	return 0;
}

int mcp_xdp_batch_commit(struct mcp_xdp_obj *x)
{
	int failed;

	if (!x->batching)
		return 0;
	failed = mcp_map_batch_flush(&x->sub_batch) + mcp_map_batch_flush(&x->tunnel_batch);
	x->batching = 0;
	return failed;
}

void mcp_xdp_batch_free(struct mcp_xdp_obj *x)
{
	mcp_xdp_batch_commit(x);
	mcp_map_batch_free(&x->tunnel_batch);
	mcp_map_batch_free(&x->sub_batch);
}

static void tindex_clear(struct mcp_xdp_obj *x)
{
	struct mcp_tunnel_bucket *idx = tindex_map(x);
	uint32_t i;

	for (i = 0; idx && i < x->tindex_n; i++) {
		bucket_begin(&idx[i]);
		memset(idx[i].slot, 0, sizeof(idx[i].slot));
		bucket_end(&idx[i]);
	}
}

static void tunnel_key(struct mcp_tunnel_key *k, const struct mcp_tunnel *t)
{
	memset(k, 0, sizeof(*k));
	k->teid = t->teid;
	k->addr = t->addr;
}

static int key_in(const struct mcp_tunnel_key *k, const struct mcp_tunnel_key *set, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (!memcmp(k, &set[i], sizeof(*k)))
			return 1;
	return 0;
}

int mcp_xdp_tunnel_update(struct mcp_xdp_obj *x, const struct mcp_subscriber *sub)
{
	struct mcp_xdp_subrec **pp, *rec;
	struct mcp_tunnel_key keys[MCP_MAX_TUNNELS];
	struct mcp_tunnel_val val;
	struct mcp_sub_info info;
	uint32_t i, n = 0, idx = sub->id;
	int err = 0, err2;

	if (x->max_subscribers && idx >= x->max_subscribers)
		return -E2BIG;
	memset(&info, 0, sizeof(info));
	copy_str(info.imsi, sizeof(info.imsi), sub->imsi, sizeof(sub->imsi));
	copy_str(info.msisdn, sizeof(info.msisdn), sub->msisdn, sizeof(sub->msisdn));
	copy_str(info.imei, sizeof(info.imei), sub->imei, sizeof(sub->imei));
	copy_str(info.apn, sizeof(info.apn), sub->apn, sizeof(sub->apn));
	info.ue_ipv4 = sub->ue_ipv4;
	info.ue_ipv6 = sub->ue_ipv6;
	info.rat = sub->rat;
	info.gtp_version = sub->gtp_version;
	info.ntunnels = sub->ntunnels;
	if (x->batching)
		mcp_map_batch_put(&x->sub_batch, &idx, &info);
	else if (bpf_map_update_elem(x->map_fd[MCP_XMAP_SUBSCRIBERS], &idx, &info, BPF_ANY))
		return -errno;

	for (i = 0; i < sub->ntunnels && i < MCP_MAX_TUNNELS; i++) {
		tunnel_key(&keys[n], &sub->tunnels[i]);
		memset(&val, 0, sizeof(val));
		val.sub_idx = idx;
		val.dir = sub->tunnels[i].dir == MCP_DIR_DOWN ? MCP_META_DIR_DOWN : MCP_META_DIR_UP;
		val.ebi = sub->tunnels[i].ebi;
		val.worker = (__u16)(idx % (x->nworkers ? x->nworkers : 1));
		err2 = tunnel_put(x, &keys[n], &val);
		if (err2) {
			err = err2;
			continue; /* the others still go in; the caller counts the failure */
		}
		n++;
	}

	pp = subrec_slot(x, idx, 1);
	if (!pp)
		return -ENOMEM;
	rec = *pp;
	if (rec) {
		for (i = 0; i < rec->ntun; i++)
			if (!key_in(&rec->keys[i], keys, n))
				tunnel_del(x, &rec->keys[i]);
	} else {
		rec = calloc(1, sizeof(*rec));
		if (!rec)
			return -ENOMEM;
		rec->id = idx;
		*pp = rec;
	}
	memcpy(rec->keys, keys, n * sizeof(keys[0]));
	rec->ntun = n;
	return err;
}

int mcp_xdp_tunnel_remove(struct mcp_xdp_obj *x, const struct mcp_subscriber *sub)
{
	struct mcp_xdp_subrec **pp, *rec;
	struct mcp_tunnel_key k;
	uint32_t i, idx = sub->id, zero = 0;
	int ncpu = libbpf_num_possible_cpus();

	for (i = 0; i < sub->ntunnels && i < MCP_MAX_TUNNELS; i++) {
		tunnel_key(&k, &sub->tunnels[i]);
		tunnel_del(x, &k);
	}
	pp = subrec_slot(x, idx, 0);
	if (pp && *pp) {
		rec = *pp;
		for (i = 0; i < rec->ntun; i++)
			tunnel_del(x, &rec->keys[i]);
		*pp = rec->next;
		free(rec);
	}
	if (x->batching)
		mcp_map_batch_del(&x->sub_batch, &idx);
	else
		bpf_map_delete_elem(x->map_fd[MCP_XMAP_SUBSCRIBERS], &idx);
	if (x->max_subscribers && idx >= x->max_subscribers)
		return 0;
	bpf_map_update_elem(x->map_fd[MCP_XMAP_CAPTURE], &idx, &zero, BPF_ANY);
	if (ncpu > 0) {
		struct mcp_sub_counters *z = calloc(ncpu, sizeof(*z));

		if (!z)
			return -ENOMEM;
		bpf_map_update_elem(x->map_fd[MCP_XMAP_SUB_COUNTERS], &idx, z, BPF_ANY);
		free(z);
	}
	return 0;
}

void mcp_xdp_on_session_event(void *ctx, enum mcp_session_event ev,
			      const struct mcp_subscriber *sub, uint64_t ts_ms)
{
	struct mcp_xdp_obj *x = ctx;
	int err = 0;

	switch (ev) {
	case MCP_EV_ATTACH:
	case MCP_EV_MODIFY:
		err = mcp_xdp_tunnel_update(x, sub);
		break;
	case MCP_EV_REMOVE:
		err = mcp_xdp_tunnel_remove(x, sub);
		break;
	case MCP_EV_DETACH:
		break; /* tunnels stay resolvable until REMOVE (delete grace) */
	}
	if (err)
		write_refused(x, ev == MCP_EV_REMOVE ? "tunnel removal" : "tunnels/subscribers",
			      err);
}

/* Deletes every key of a hash map: collects the keys in one walk, then deletes them (restarting
 * get_next_key from NULL after each delete would rescan the emptied buckets every time). */
static int map_clear(int fd, size_t key_size)
{
	unsigned char *keys = NULL, *k;
	size_t n = 0, cap = 0, i;
	int err = 0;

	for (;;) {
		if (n == cap) {
			unsigned char *nk = realloc(keys, (cap ? cap * 2 : 256) * key_size);

			if (!nk) {
				err = -ENOMEM;
				goto out;
			}
			keys = nk;
			cap = cap ? cap * 2 : 256;
		}
		k = keys + n * key_size;
		if (bpf_map_get_next_key(fd, n ? k - key_size : NULL, k))
			break;
		n++;
	}
	for (i = 0; i < n; i++)
		if (bpf_map_delete_elem(fd, keys + i * key_size) && errno != ENOENT)
			err = -errno;
out:
	free(keys);
	return err ? err : (int)n;
}

int mcp_xdp_tunnels_clear(struct mcp_xdp_obj *x)
{
	int err;

	tindex_clear(x); /* first: XDP then finds nothing there, and tunnels empties next */
	err = map_clear(x->map_fd[MCP_XMAP_TUNNELS], sizeof(struct mcp_tunnel_key));

	if (err >= 0)
		err = map_clear(x->map_fd[MCP_XMAP_SUBSCRIBERS], sizeof(__u32));
	mcp_xdp_subrecs_free(x);
	return err < 0 ? err : 0;
}

int mcp_xdp_sub_counters(const struct mcp_xdp_obj *x, uint32_t sub_idx,
			 struct mcp_sub_counters *sum)
{
	int i, ncpu = libbpf_num_possible_cpus();
	struct mcp_sub_counters *v;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	v = calloc(ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	memset(sum, 0, sizeof(*sum));
	if (bpf_map_lookup_elem(x->map_fd[MCP_XMAP_SUB_COUNTERS], &sub_idx, v)) {
		free(v);
		return -errno;
	}
	for (i = 0; i < ncpu; i++) {
		sum->pkts_up += v[i].pkts_up;
		sum->pkts_down += v[i].pkts_down;
		sum->bytes_up += v[i].bytes_up;
		sum->bytes_down += v[i].bytes_down;
	}
	free(v);
	return 0;
}

int mcp_xdp_capture_set(struct mcp_xdp_obj *x, uint32_t sub_idx, uint32_t flag)
{
	return bpf_map_update_elem(x->map_fd[MCP_XMAP_CAPTURE], &sub_idx, &flag, BPF_ANY) ?
		       -errno : 0;
}

/* The flow_hints counters, mmapped on first use; several worker threads may race here. */
static uint32_t *flow_hints(struct mcp_xdp_obj *x)
{
	uint32_t *h = __atomic_load_n(&x->flow_hints, __ATOMIC_ACQUIRE), *none = NULL;
	void *m;

	if (h)
		return h;
	m = mmap(NULL, MCP_FLOW_HINT_SLOTS * sizeof(uint32_t), PROT_READ | PROT_WRITE, MAP_SHARED,
		 x->map_fd[MCP_XMAP_FLOW_HINTS], 0);
	if (m == MAP_FAILED)
		return NULL;
	if (!__atomic_compare_exchange_n(&x->flow_hints, &none, m, 0, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		munmap(m, MCP_FLOW_HINT_SLOTS * sizeof(uint32_t));
		return none; /* another thread mapped it first */
	}
	return m;
}

void mcp_xdp_maps_unmap(struct mcp_xdp_obj *x)
{
	if (x->flow_hints)
		munmap(x->flow_hints, MCP_FLOW_HINT_SLOTS * sizeof(uint32_t));
	x->flow_hints = NULL;
	if (x->tindex)
		munmap(x->tindex, (size_t)x->tindex_n * sizeof(*x->tindex));
	x->tindex = NULL;
}

static uint32_t *hint_slot(struct mcp_xdp_obj *x, const struct mcp_flow_key *key)
{
	uint32_t *h = flow_hints(x);

	return h ? &h[mcp_flow_key_symhash(key) & (MCP_FLOW_HINT_SLOTS - 1)] : NULL;
}

int mcp_xdp_flow_install(struct mcp_xdp_obj *x, const struct mcp_flow_key *key, uint32_t sub_idx,
			 int pending)
{
	uint32_t *slot = hint_slot(x, key), add = 1 + (pending ? MCP_FLOW_HINT_PENDING : 0);
	struct mcp_flow_val v;
	int err = 0;

	if (!slot)
		return -errno;
	memset(&v, 0, sizeof(v));
	v.sub_idx = sub_idx;
	v.flags = pending ? MCP_FLOW_V_PENDING : 0;
	/* count first: XDP must never see the flow with a zero slot, nor a pending flow as
	 * decided */
	__atomic_fetch_add(slot, add, __ATOMIC_SEQ_CST);
	if (bpf_map_update_elem(x->map_fd[MCP_XMAP_FLOWS], key, &v, BPF_NOEXIST)) {
		err = -errno;
		__atomic_fetch_sub(slot, add, __ATOMIC_SEQ_CST);
	}
	return err;
}

void mcp_xdp_flow_unpend(struct mcp_xdp_obj *x, const struct mcp_flow_key *key)
{
	uint32_t *slot = hint_slot(x, key);

	if (slot)
		__atomic_fetch_sub(slot, MCP_FLOW_HINT_PENDING, __ATOMIC_SEQ_CST);
}

int mcp_xdp_flows_clear(struct mcp_xdp_obj *x)
{
	int fd = x->map_fd[MCP_XMAP_FLOWS], n = 0, more;
	struct mcp_flow_key key, next;
	uint32_t *h = flow_hints(x);

	if (!h)
		return -errno;
	/* the next key is taken before the current one is deleted */
	for (more = bpf_map_get_next_key(fd, NULL, &key) == 0; more; key = next) {
		more = bpf_map_get_next_key(fd, &key, &next) == 0;
		if (bpf_map_delete_elem(fd, &key) == 0)
			n++;
	}
	/* entries first, then the slots: a non-zero slot without an entry only costs a lookup */
	memset(h, 0, MCP_FLOW_HINT_SLOTS * sizeof(*h));
	return n;
}

void mcp_xdp_flow_forget(struct mcp_xdp_obj *x, const struct mcp_flow_key *key)
{
	uint32_t *slot = hint_slot(x, key);

	if (slot)
		__atomic_fetch_sub(slot, 1, __ATOMIC_SEQ_CST);
}

int mcp_xdp_flow_remove(struct mcp_xdp_obj *x, const struct mcp_flow_key *key)
{
	if (bpf_map_delete_elem(x->map_fd[MCP_XMAP_FLOWS], key))
		return -errno;
	mcp_xdp_flow_forget(x, key);
	return 0;
}

int mcp_xdp_flow_read_batch(struct mcp_xdp_obj *x, uint32_t batch, mcp_xdp_flow_fn fn, void *ctx)
{
	struct mcp_flow_key *keys;
	struct mcp_flow_val *vals;
	__u32 in_batch, out_batch, count, i;
	int fd = x->map_fd[MCP_XMAP_FLOWS], err = 0, total = 0, first = 1;

	if (!batch)
		batch = 4096;
	keys = calloc(batch, sizeof(*keys));
	vals = calloc(batch, sizeof(*vals));
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		LIBBPF_OPTS(bpf_map_batch_opts, bo);

		count = batch;
		err = bpf_map_lookup_batch(fd, first ? NULL : &in_batch, &out_batch, keys, vals,
					   &count, &bo);
		if (err)
			err = -errno;
		if (err && err != -ENOENT)
			goto out;
		for (i = 0; i < count; i++) {
			total++;
			if (fn && fn(ctx, &keys[i], &vals[i]))
				goto done;
		}
		if (err == -ENOENT)
			break; /* walked the whole map */
		in_batch = out_batch;
		first = 0;
	}
done:
	err = 0;
out:
	free(keys);
	free(vals);
	return err ? err : total;
}

int mcp_xdp_stats_read(const struct mcp_xdp_obj *x, uint64_t *out)
{
	int ncpu = libbpf_num_possible_cpus(), c;
	struct mcp_xdp_stats *v;
	__u32 i, zero = 0;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	v = calloc(ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	memset(out, 0, MCP_STATS__MAX * sizeof(*out));
	if (bpf_map_lookup_elem(x->map_fd[MCP_XMAP_STATS], &zero, v)) {
		free(v);
		return -errno;
	}
	for (c = 0; c < ncpu; c++)
		for (i = 0; i < MCP_STATS__MAX; i++)
			out[i] += *mcp_stat(&v[c], i);
	free(v);
	return 0;
}

int mcp_xdp_last_meta(struct mcp_xdp_obj *x, struct mcp_meta *meta)
{
	int ncpu = libbpf_num_possible_cpus(), c, found = -ENOENT;
	struct mcp_meta *v;
	__u32 zero = 0;

	if (x->last_meta_fd < 0)
		return -EINVAL;
	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	v = calloc(ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(x->last_meta_fd, &zero, v)) {
		found = -errno;
		goto out;
	}
	for (c = 0; c < ncpu; c++) {
		if (v[c].magic == MCP_META_MAGIC && found) {
			*meta = v[c];
			found = 0;
		}
	}
	memset(v, 0, ncpu * sizeof(*v));
	bpf_map_update_elem(x->last_meta_fd, &zero, v, BPF_ANY);
out:
	free(v);
	return found;
}
