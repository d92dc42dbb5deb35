/* maps_user.c - userspace side of the XDP maps: descriptors, config, AF_XDP sockets, capture
 * flags, counters summed over CPUs, the debug metadata. Session events go to the tunnel maps in
 * maps_user_tunnels.c, flow bypass is maps_user_flows.c.
 *
 * Layouts: include/mcp_map_layout.h.
 */
#include "xdp/maps_user.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

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
	/* the credit first: a packet credited meanwhile was not in the per-CPU slots */
	if (mcp_xdp_sub_credit_read(x, sub_idx, sum))
		memset(sum, 0, sizeof(*sum)); /* pins without the credit map cannot pass the ABI */
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

int mcp_xdp_capture_set(struct mcp_xdp_obj *x, uint32_t sub_idx, uint32_t slots)
{
	struct mcp_capture_val v = { .slots = slots };

	return bpf_map_update_elem(x->map_fd[MCP_XMAP_CAPTURE], &sub_idx, &v, BPF_ANY) ?
		       -errno : 0;
}

int mcp_xdp_capture_ring_add(struct mcp_xdp_obj *x, uint32_t slot)
{
	struct mcp_xdp_config cfg;
	int fd, err;

	if (slot >= MCP_CAPTURE_SLOTS)
		return -EINVAL;
	err = mcp_xdp_config_read(x, &cfg);
	if (err)
		return err;
	fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "mcp_cap_ring", 0, 0,
			    cfg.capture_ring ? cfg.capture_ring : MCP_DEF_CAPTURE_RING, NULL);
	if (fd < 0)
		return -errno;
	if (bpf_map_update_elem(x->map_fd[MCP_XMAP_CAPTURE_RINGS], &slot, &fd, BPF_ANY)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
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