/* maps_user_tunnels.c - session events -> the tunnel, tunnel_index and subscriber maps, so XDP
 * attributes GTP-U to subscribers (docs/xdp.md, "Maps").
 *
 * Layouts: include/mcp_map_layout.h. Keys are memset before they are filled (padding is hashed).
 * Only the session event path writes tunnels, so there is one writer per object.
 */
#include "xdp/maps_user_tunnels.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "util/log.h"
#include "xdp/xdp_internal.h"

/* --- per-subscriber record of installed tunnels --- */

/* Tunnels installed per subscriber, so an update can delete the ones that went away. */
struct mcp_xdp_subrec {
	uint32_t id;
	uint32_t ntun;
	struct mcp_tunnel_key keys[MCP_MAX_TUNNELS];
	struct mcp_xdp_subrec *next;
};

#define MCP_XDP_SUBREC_BUCKETS 65536

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
	mcp_xdp_sub_credit_zero(x, idx);
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

void mcp_xdp_tunnels_unmap(struct mcp_xdp_obj *x)
{
	if (x->tindex)
		munmap(x->tindex, (size_t)x->tindex_n * sizeof(*x->tindex));
	x->tindex = NULL;
}
