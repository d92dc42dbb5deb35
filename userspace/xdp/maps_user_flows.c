/* maps_user_flows.c - flow bypass, userspace side: install and remove flows in mcp_flows, keep
 * the flow_hints counts XDP tests first, read the kernel's per-flow counters back in batches.
 *
 * Layouts: include/mcp_map_layout.h; docs/xdp.md ("Bypass") and docs/live.md.
 */
#include "xdp/maps_user_flows.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xdp/xdp_internal.h"

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

void mcp_xdp_flows_unmap(struct mcp_xdp_obj *x)
{
	if (x->flow_hints)
		munmap(x->flow_hints, MCP_FLOW_HINT_SLOTS * sizeof(uint32_t));
	x->flow_hints = NULL;
}

static uint32_t *hint_slot(struct mcp_xdp_obj *x, const struct mcp_flow_key *key)
{
	uint32_t *h = flow_hints(x);

	return h ? &h[mcp_flow_key_symhash(key) & (MCP_FLOW_HINT_SLOTS - 1)] : NULL;
}

int mcp_xdp_flow_install(struct mcp_xdp_obj *x, const struct mcp_flow_key *key, uint32_t sub_idx,
			 int pending)
{
	return mcp_xdp_flow_install_owned(x, key, sub_idx, 0, pending);
}

int mcp_xdp_flow_install_owned(struct mcp_xdp_obj *x, const struct mcp_flow_key *key,
			       uint32_t sub_idx, uint16_t owner, int pending)
{
	uint32_t *slot = hint_slot(x, key), add = 1 + (pending ? MCP_FLOW_HINT_PENDING : 0);
	struct mcp_flow_val v;
	int err = 0;

	if (!slot)
		return -errno;
	memset(&v, 0, sizeof(v));
	v.sub_idx = sub_idx;
	v.worker = owner;
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
