/* maps_user_credit.c - the subscriber credit slots (sub_credit, include/mcp_map_layout.h): what
 * userspace counted for a subscriber that XDP could not (packets that passed before the tunnel
 * reached the kernel map, outer-fragmented T-PDUs, UE-address attribution). The array is
 * mmapped on first use and written with atomic adds, so worker threads may credit at once and
 * a reader (mcp-load status, bpftool) never sees a torn counter.
 */
#include "xdp/maps_user.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "xdp/xdp_internal.h"

static size_t credit_len(const struct mcp_xdp_obj *x)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t len = (size_t)x->max_subscribers * sizeof(struct mcp_sub_counters);

	return (len + page - 1) / page * page;
}

static struct mcp_sub_counters *credit_map(struct mcp_xdp_obj *x)
{
	struct mcp_sub_counters *c = __atomic_load_n(&x->credit, __ATOMIC_ACQUIRE), *none = NULL;
	void *m;

	if (c || !x->max_subscribers)
		return c;
	m = mmap(NULL, credit_len(x), PROT_READ | PROT_WRITE, MAP_SHARED,
		 x->map_fd[MCP_XMAP_SUB_CREDIT], 0);
	if (m == MAP_FAILED)
		return NULL;
	if (!__atomic_compare_exchange_n(&x->credit, &none, m, 0, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		munmap(m, credit_len(x));
		return none; /* another thread mapped it first */
	}
	return m;
}

void mcp_xdp_credit_unmap(struct mcp_xdp_obj *x)
{
	if (x->credit)
		munmap(x->credit, credit_len(x));
	x->credit = NULL;
}

int mcp_xdp_sub_credit(struct mcp_xdp_obj *x, uint32_t sub_idx, const uint64_t pkts[2],
		       const uint64_t bytes[2])
{
	struct mcp_sub_counters *c;

	if (sub_idx >= x->max_subscribers)
		return -E2BIG;
	c = credit_map(x);
	if (!c)
		return -errno;
	c += sub_idx;
	if (pkts[0] || bytes[0]) {
		__atomic_fetch_add(&c->pkts_up, pkts[0], __ATOMIC_RELAXED);
		__atomic_fetch_add(&c->bytes_up, bytes[0], __ATOMIC_RELAXED);
	}
	if (pkts[1] || bytes[1]) {
		__atomic_fetch_add(&c->pkts_down, pkts[1], __ATOMIC_RELAXED);
		__atomic_fetch_add(&c->bytes_down, bytes[1], __ATOMIC_RELAXED);
	}
	return 0;
}

int mcp_xdp_sub_credit_read(const struct mcp_xdp_obj *x, uint32_t sub_idx,
			    struct mcp_sub_counters *out)
{
	if (bpf_map_lookup_elem(x->map_fd[MCP_XMAP_SUB_CREDIT], &sub_idx, out))
		return -errno;
	return 0;
}

void mcp_xdp_sub_credit_zero(struct mcp_xdp_obj *x, uint32_t sub_idx)
{
	struct mcp_sub_counters *c = sub_idx < x->max_subscribers ? credit_map(x) : NULL;

	if (!c)
		return;
	c += sub_idx;
	__atomic_store_n(&c->pkts_up, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&c->pkts_down, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&c->bytes_up, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&c->bytes_down, 0, __ATOMIC_RELAXED);
}
