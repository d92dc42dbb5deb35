/* live_iface.c - live capture, per interface: attach the XDP program (or reuse the one mcp-load
 * attached), take the interface's lock, and open an AF_XDP socket per RX queue or, in inline
 * mode, read the inline ring (docs/live.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "live/live_internal.h"
#include "util/log.h"
#include "util/privs.h"
#include "xdp/maps_user_tunnels.h"

int mcp_live_setup_error(const char *ifname, int err)
{
	switch (err) {
	case -ENODEV:
		mcp_err("%s: no such network interface\n", ifname);
		break;
	case -EPERM:
	case -EACCES:
		mcp_err("%s: permission denied: live capture needs CAP_NET_ADMIN, CAP_NET_RAW and "
			"CAP_BPF (to attach, more: docs/deploy.md)\n", ifname);
		break;
	case -ENOTSUP:
		mcp_err("%s: no BPF filesystem on /sys/fs/bpf and it could not be mounted: run "
			"'mount -t bpf bpf /sys/fs/bpf'\n", ifname);
		break;
	case -EWOULDBLOCK:
		mcp_err("%s: another mcprobe is already capturing on this interface\n", ifname);
		break;
	case -EPROTO:
		mcp_err("%s: pinned maps are from another mcprobe version: run "
			"'mcp-load detach %s'\n", ifname, ifname);
		break;
	default:
		mcp_err("%s: cannot set up live capture: %s\n", ifname, strerror(-err));
		break;
	}
	return 2;
}

/* Takes the per-interface lock: an exclusive flock on the pin directory, held until exit. */
static int lock_iface(struct live_iface *li)
{
	char dir[PATH_MAX];
	int err = mcp_xdp_pin_dir(li->name, dir, sizeof(dir));

	if (err)
		return err;
	li->lock_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (li->lock_fd < 0)
		return -errno;
	if (flock(li->lock_fd, LOCK_EX | LOCK_NB))
		return errno == EWOULDBLOCK ? -EWOULDBLOCK : -errno;
	return 0;
}

/* The interface's RX queue count (capped), after checking what setup needs: the interface,
 * root, a bpffs. */
static int iface_queues(struct live_iface *li)
{
	int err, nq;

	if (!if_nametoindex(li->name))
		return -ENODEV;
	nq = mcp_if_rx_queues(li->name);
	if (nq < 0)
		return nq;
	if (nq > MCP_DEF_MAX_QUEUES) {
		mcp_warn("%s: %d RX queues, using the first %d\n", li->name, nq,
			 MCP_DEF_MAX_QUEUES);
		nq = MCP_DEF_MAX_QUEUES;
	}
	if (!mcp_privs_live_capable()) /* capabilities, not the uid (docs/deploy.md) */
		return -EPERM;
	err = mcp_xdp_check_bpffs();
	return err ? err : nq;
}

/* Reuses what mcp-load attached; attaches (and later detaches) ourselves otherwise. */
static int open_or_attach(const struct mcp_live_cfg *cfg, struct live_iface *li)
{
	struct mcp_xdp_opts o;

	mcp_xdp_opts_default(&o);
	o.mode = cfg->skb_mode ? MCP_XDP_MODE_SKB : MCP_XDP_MODE_NATIVE;
	o.inline_mode = cfg->inline_mode;
	o.nworkers = cfg->workers;
	return mcp_xdp_attach_or_open(li->name, &o, &li->xo, &li->attached);
}

static int config_inline(const struct live_iface *li)
{
	struct mcp_xdp_config xc;

	return !mcp_xdp_config_read(li->xo, &xc) && (xc.flags & MCP_CFG_F_INLINE);
}

/* Our worker count for steering; maps reused from mcp-load start from an empty tunnel table
 * (our session table is the truth). The program's mode (mirror, inline) is the one it was
 * attached with. */
static int adopt_maps(const struct mcp_live_cfg *cfg, struct live_iface *li)
{
	int err;

	if (!li->attached) {
		mcp_xdp_tunnels_clear(li->xo);
		if (config_inline(li) && !cfg->inline_mode)
			mcp_info("%s: program attached by mcp-load runs in inline mode\n", li->name);
	}
	err = mcp_xdp_set_workers(li->xo, cfg->workers);
	if (err)
		return err;
	li->inline_mode = config_inline(li);
	if (cfg->inline_mode && !li->inline_mode)
		mcp_warn("%s: program attached by mcp-load runs in mirror mode: --inline ignored\n",
			 li->name);
	return 0;
}

static int open_inline_ring(struct live *lv, struct live_iface *li)
{
	int err = mcp_live_inline_add(&lv->inl, mcp_xdp_map_fd(li->xo, MCP_XMAP_INLINE_RING),
				      mcp_live_on_frame_inline, lv);

	if (err) {
		mcp_err("%s: cannot read the inline ring: %s\n", li->name, strerror(-err));
		li->logged = 1;
		return err;
	}
	mcp_info("%s: inline mode: frames go on to the stack, copies to the probe\n", li->name);
	return 0;
}

/* One AF_XDP socket per RX queue, each in the XSKMAP slot of its queue. */
static int open_sockets(const struct mcp_live_cfg *cfg, struct live_iface *li, int nq)
{
	struct mcp_xdp_config xc;
	int err, force_copy = cfg->skb_mode;
	uint32_t frames = cfg->xsk_frames ? cfg->xsk_frames : mcp_xsk_default_frames((uint32_t)nq);

	if (!mcp_xdp_config_read(li->xo, &xc) && xc.xdp_mode == MCP_XDP_MODE_SKB)
		force_copy = 1;
	li->xsks = calloc(nq, sizeof(*li->xsks));
	if (!li->xsks)
		return -ENOMEM;
	for (int q = 0; q < nq; q++) {
		err = mcp_xsk_create(li->name, q, frames, force_copy, &li->xsks[q]);
		if (err) {
			li->logged = 1; /* with the queue and the reason */
			return err;
		}
		li->nxsks++;
		err = mcp_xdp_xsk_set(li->xo, q, mcp_xsk_fd(li->xsks[q]));
		if (err) {
			mcp_err("%s queue %d: cannot insert the socket in the XSKMAP: %s\n", li->name,
				q, strerror(-err));
			li->logged = 1;
			return err;
		}
	}
	mcp_info("%s: %d AF_XDP socket(s), program %s\n", li->name, nq,
		 li->attached ? "attached by mcprobe" : "attached by mcp-load");
	return 0;
}

int mcp_live_iface_attach(struct live *lv, struct live_iface *li)
{
	int err, nq = iface_queues(li);

	if (nq < 0)
		return nq;
	err = open_or_attach(lv->cfg, li);
	if (!err)
		err = lock_iface(li);
	if (!err)
		err = adopt_maps(lv->cfg, li);
	if (err)
		return err;
	return li->inline_mode ? open_inline_ring(lv, li) : open_sockets(lv->cfg, li, nq);
}

void mcp_live_iface_detach(struct live_iface *li)
{
	for (int q = 0; q < li->nxsks; q++) {
		if (li->xo)
			mcp_xdp_xsk_set(li->xo, q, -1);
		mcp_xsk_destroy(li->xsks[q]);
	}
	free(li->xsks);
	li->xsks = NULL;
	li->nxsks = 0;
	mcp_xdp_close(li->xo);
	li->xo = NULL;
	if (li->attached) {
		int err = mcp_xdp_detach(li->name);

		if (err)
			mcp_warn("%s: detaching XDP: %s\n", li->name, strerror(-err));
		li->attached = 0;
	}
	if (li->lock_fd >= 0)
		close(li->lock_fd);
	li->lock_fd = -1;
}

