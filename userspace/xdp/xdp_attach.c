/* xdp_attach.c - load the XDP skeleton, attach it (libxdp dispatcher, else bpf_xdp_attach),
 * pin its maps under /sys/fs/bpf/mcprobe/<iface>/, reopen and remove the pins.
 *
 * The pins are the contract between mcp-load, mcprobe and bpftool (docs/xdp.md). The config
 * map records MCP_MAP_ABI and how the program was attached; pins with another ABI are refused
 * because a pin does not say what its entries mean.
 */
#include "xdp/maps_user.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <xdp/libxdp.h>

#include "util/log.h"
#include "mcp_xdp.skel.h"
#include "xdp/maps_user_flows.h"
#include "xdp/maps_user_tunnels.h"
#include "xdp/xdp_internal.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

static const char *const map_pin_names[] = {
#define MCP_XMAP_PIN(e, pin, bpf) #pin,
	MCP_XDP_MAPS(MCP_XMAP_PIN)
#undef MCP_XMAP_PIN
};

const char *mcp_xdp_map_pin_name(enum mcp_xdp_map m)
{
	return (unsigned int)m < MCP_XMAP__MAX ? map_pin_names[m] : NULL;
}

void mcp_xdp_opts_default(struct mcp_xdp_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->max_tunnels = MCP_DEF_MAX_TUNNELS;
	o->max_subscribers = MCP_DEF_MAX_SUBSCRIBERS;
	o->max_flows = MCP_DEF_MAX_FLOWS;
	o->queues = MCP_DEF_MAX_QUEUES;
	o->nworkers = 1;
	o->snaplen = MCP_CAPTURE_MAX_SNAP;
	o->ring_bytes = MCP_DEF_CAPTURE_RING;
	o->inline_ring_bytes = MCP_DEF_INLINE_RING;
	o->mode = MCP_XDP_MODE_NATIVE;
}

int mcp_xdp_pin_dir(const char *ifname, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s", MCP_PIN_ROOT, ifname);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int mcp_xdp_check_bpffs(void)
{
	struct statfs st;

	if (statfs("/sys/fs/bpf", &st) == 0 && st.f_type == BPF_FS_MAGIC)
		return 0;
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, NULL) == 0 &&
	    statfs("/sys/fs/bpf", &st) == 0 && st.f_type == BPF_FS_MAGIC) {
		mcp_info("mounted bpffs on /sys/fs/bpf\n");
		return 0;
	}
	return errno == EPERM ? -EPERM : -ENOTSUP;
}

static int pin_path(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Removes every pin we create (and nothing else), then the directory. */
static void unpin_all(const char *dir)
{
	char p[PATH_MAX];
	int i;

	for (i = 0; i < MCP_XMAP__MAX; i++)
		if (pin_path(p, sizeof(p), dir, map_pin_names[i]) == 0)
			unlink(p);
	if (pin_path(p, sizeof(p), dir, MCP_XDP_PIN_PROG) == 0)
		unlink(p);
	rmdir(dir);
}

static struct mcp_xdp *skel_open(const struct mcp_xdp_opts *o)
{
	uint32_t q = o->queues ? o->queues : MCP_DEF_MAX_QUEUES;
	struct mcp_xdp *s = mcp_xdp__open();

	if (!s)
		return NULL;
	s->rodata->debug_meta = o->debug_meta ? 1 : 0;
	s->rodata->no_fast_parse = o->no_fast_parse ? 1 : 0;
	s->rodata->tunnel_index_mask = mcp_tunnel_index_buckets(o->max_tunnels) - 1;
	if (bpf_map__set_max_entries(s->maps.mcp_tunnels, o->max_tunnels) ||
	    bpf_map__set_max_entries(s->maps.mcp_tunnel_index,
				     mcp_tunnel_index_buckets(o->max_tunnels)) ||
	    bpf_map__set_max_entries(s->maps.mcp_subscribers, o->max_subscribers) ||
	    bpf_map__set_max_entries(s->maps.mcp_sub_counters, o->max_subscribers) ||
	    bpf_map__set_max_entries(s->maps.mcp_sub_credit, o->max_subscribers) ||
	    bpf_map__set_max_entries(s->maps.mcp_capture, o->max_subscribers) ||
	    bpf_map__set_max_entries(s->maps.mcp_flows, o->max_flows) ||
	    bpf_map__set_max_entries(s->maps.mcp_inline_ring,
				     o->inline_mode ? o->inline_ring_bytes : MCP_MIN_RING) ||
	    bpf_map__set_max_entries(s->maps.mcp_xsks, q)) {
		mcp_xdp__destroy(s);
		errno = EINVAL;
		return NULL;
	}
	return s;
}

static struct bpf_map *skel_map(struct mcp_xdp *s, enum mcp_xdp_map m)
{
	switch (m) {
#define MCP_XMAP_CASE(e, pin, bpf) case MCP_XMAP_##e: return s->maps.bpf;
	MCP_XDP_MAPS(MCP_XMAP_CASE)
#undef MCP_XMAP_CASE
	default:
		return NULL;
	}
}

/* Attaches through libxdp (which loads the object as an freplace of its dispatcher). On
 * failure the skeleton is unusable and the caller reopens it. */
static int attach_libxdp(struct mcp_xdp *s, int ifindex, int mode, struct xdp_program **out)
{
	DECLARE_LIBXDP_OPTS(xdp_program_opts, po, .obj = s->obj, .prog_name = "mcp_xdp_prog");
	struct xdp_program *p;
	int err;

	p = xdp_program__create(&po);
	err = libxdp_get_error(p);
	if (err)
		return err < 0 ? err : -err;
	err = xdp_program__attach(p, ifindex, mode, 0);
	if (err) {
		xdp_program__close(p);
		return err;
	}
	*out = p;
	return 0;
}

/* Whether libxdp attached through its dispatcher or fell back to a single program. */
static int attach_kind(int ifindex)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	int kind = MCP_ATTACH_LIBXDP;

	if (!libxdp_get_error(mp) && mp) {
		if (xdp_multiprog__is_legacy(mp))
			kind = MCP_ATTACH_LIBXDP_LEGACY;
		xdp_multiprog__close(mp);
	}
	return kind;
}

static int write_config(struct mcp_xdp *s, const struct mcp_xdp_opts *o, int ifindex,
			int attach)
{
	struct mcp_xdp_config cfg;
	__u32 zero = 0;

	memset(&cfg, 0, sizeof(cfg));
	cfg.abi = MCP_MAP_ABI;
	cfg.flags = o->inline_mode ? MCP_CFG_F_INLINE : 0;
	cfg.nworkers = o->nworkers ? o->nworkers : 1;
	cfg.snaplen = o->snaplen;
	cfg.capture_ring = o->ring_bytes ? o->ring_bytes : MCP_DEF_CAPTURE_RING;
	cfg.ifindex = ifindex;
	cfg.queues = o->queues;
	cfg.xdp_mode = o->mode;
	cfg.attach = attach;
	if (bpf_map_update_elem(bpf_map__fd(s->maps.mcp_config), &zero, &cfg, BPF_ANY))
		return -errno;
	return 0;
}

static int pin_everything(struct mcp_xdp *s, const char *dir, int prog_fd)
{
	char p[PATH_MAX];
	int i, err;

	if (mkdir(MCP_PIN_ROOT, 0755) && errno != EEXIST)
		return -errno;
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	for (i = 0; i < MCP_XMAP__MAX; i++) {
		err = pin_path(p, sizeof(p), dir, map_pin_names[i]);
		if (!err)
			err = bpf_map__pin(skel_map(s, i), p);
		if (err) {
			mcp_err("cannot pin map %s at %s: %s\n", map_pin_names[i], p, strerror(-err));
			return err;
		}
	}
	err = pin_path(p, sizeof(p), dir, MCP_XDP_PIN_PROG);
	if (!err && bpf_obj_pin(prog_fd, p))
		err = -errno;
	return err;
}

/* One attach in progress: what to undo if a later step fails. */
struct attach_state {
	struct mcp_xdp *skel;
	struct xdp_program *xp; /* libxdp attached it */
	int ifindex;
	int attach;   /* MCP_ATTACH_* */
	int prog_fd;
	int xdp_err;  /* why libxdp failed, when bpf_xdp_attach took over */
	__u32 flags;  /* bpf_xdp_attach flags */
};

/* libxdp first (the dispatcher lets other XDP programs share the interface). Returns 0 when
 * attached, -EPERM/-EACCES (no fallback helps), or 1: try bpf_xdp_attach. */
static int attach_with_libxdp(struct attach_state *as, const char *ifname,
			      const struct mcp_xdp_opts *o)
{
	int err;

	as->skel = skel_open(o);
	if (!as->skel)
		return -errno;
	err = attach_libxdp(as->skel, as->ifindex, o->mode, &as->xp);
	if (!err) {
		as->attach = attach_kind(as->ifindex);
		as->prog_fd = xdp_program__fd(as->xp);
		if (as->attach == MCP_ATTACH_LIBXDP_LEGACY)
			mcp_warn("the kernel refused the libxdp dispatcher on %s: the program is "
				 "attached alone (as with bpf_xdp_attach), other XDP programs "
				 "cannot share the interface\n", ifname);
		return 0;
	}
	if (err == -EPERM || err == -EACCES)
		return err; /* no privileges: the fallback would fail the same way */
	as->xdp_err = err;
	mcp_dbg("libxdp attach on %s: %s; trying bpf_xdp_attach\n", ifname, strerror(-err));
	mcp_xdp__destroy(as->skel);
	as->skel = NULL;
	return 1;
}

/* The program alone on the interface, through netlink. */
static int attach_with_netlink(struct attach_state *as, const char *ifname,
			       const struct mcp_xdp_opts *o)
{
	int err;

	as->skel = skel_open(o);
	if (!as->skel)
		return -errno;
	err = mcp_xdp__load(as->skel);
	if (err) {
		if (err != -EPERM && err != -EACCES)
			mcp_err("cannot load the XDP program: %s\n", strerror(-err));
		return err;
	}
	as->prog_fd = bpf_program__fd(as->skel->progs.mcp_xdp_prog);
	as->flags = XDP_FLAGS_UPDATE_IF_NOEXIST |
		    (o->mode == MCP_XDP_MODE_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE);
	if (bpf_xdp_attach(as->ifindex, as->prog_fd, as->flags, NULL))
		return -errno;
	as->attach = MCP_ATTACH_NETLINK;
	if (as->xdp_err)
		mcp_warn("libxdp could not attach to %s (%s): attached with bpf_xdp_attach, "
			 "without the dispatcher\n", ifname, strerror(-as->xdp_err));
	return 0;
}

static void attach_undo(struct attach_state *as, const struct mcp_xdp_opts *o)
{
	if (as->xp)
		xdp_program__detach(as->xp, as->ifindex, o->mode, 0);
	else if (as->attach == MCP_ATTACH_NETLINK)
		bpf_xdp_detach(as->ifindex, as->flags, NULL);
}

/* The pin directory of ifname, with -EEXIST when its config pin is there already. */
static int attach_pin_dir(const char *ifname, char *dir, size_t len)
{
	char cfgpin[PATH_MAX];
	int err = mcp_xdp_pin_dir(ifname, dir, len);

	if (!err)
		err = pin_path(cfgpin, sizeof(cfgpin), dir, map_pin_names[MCP_XMAP_CONFIG]);
	if (err)
		return err;
	return access(cfgpin, F_OK) == 0 ? -EEXIST : 0;
}

int mcp_xdp_attach(const char *ifname, const struct mcp_xdp_opts *o, struct mcp_xdp_obj **out)
{
	struct attach_state as = { .attach = MCP_ATTACH_NONE, .prog_fd = -1 };
	struct mcp_xdp_opts def;
	char dir[PATH_MAX];
	int err = 1;

	if (!o) {
		mcp_xdp_opts_default(&def);
		o = &def;
	}
	as.ifindex = if_nametoindex(ifname);
	if (!as.ifindex)
		return -ENODEV;
	err = mcp_xdp_check_bpffs();
	if (!err)
		err = attach_pin_dir(ifname, dir, sizeof(dir));
	if (err)
		return err;

	mcp_xdp_libbpf_quiet = 1;
	err = o->no_dispatcher ? 1 : attach_with_libxdp(&as, ifname, o);
	if (err == 1)
		err = attach_with_netlink(&as, ifname, o);
	if (!err)
		err = write_config(as.skel, o, as.ifindex, as.attach);
	if (!err)
		err = pin_everything(as.skel, dir, as.prog_fd);
	if (err && as.attach != MCP_ATTACH_NONE) {
		attach_undo(&as, o);
		unpin_all(dir);
	}
	mcp_xdp_libbpf_quiet = 0;
	if (as.xp)
		xdp_program__close(as.xp);
	mcp_xdp__destroy(as.skel);
	if (err)
		return err;
	mcp_info("attached to %s (%s, %s mode)\n", ifname,
		 as.attach == MCP_ATTACH_LIBXDP ? "libxdp dispatcher" :
		 as.attach == MCP_ATTACH_LIBXDP_LEGACY ? "libxdp, no dispatcher" : "bpf_xdp_attach",
		 o->mode == MCP_XDP_MODE_SKB ? "skb" : "native");
	return out ? mcp_xdp_open_pinned(ifname, out) : 0;
}

static struct mcp_xdp_obj *obj_new(void)
{
	struct mcp_xdp_obj *x = calloc(1, sizeof(*x));
	int i;

	if (!x)
		return NULL;
	for (i = 0; i < MCP_XMAP__MAX; i++)
		x->map_fd[i] = -1;
	x->prog_fd = -1;
	x->last_meta_fd = -1;
	return x;
}

int mcp_xdp_load_detached(const struct mcp_xdp_opts *o, struct mcp_xdp_obj **out)
{
	struct mcp_xdp_obj *x;
	struct mcp_xdp *s;
	int i, err;

	s = skel_open(o);
	if (!s)
		return -errno;
	err = mcp_xdp__load(s);
	if (!err)
		err = write_config(s, o, 0, MCP_ATTACH_NONE);
	x = err ? NULL : obj_new();
	if (!err && !x)
		err = -ENOMEM;
	if (err)
		goto out;
	for (i = 0; i < MCP_XMAP__MAX; i++)
		x->map_fd[i] = fcntl(bpf_map__fd(skel_map(s, i)), F_DUPFD_CLOEXEC, 3);
	x->prog_fd = fcntl(bpf_program__fd(s->progs.mcp_xdp_prog), F_DUPFD_CLOEXEC, 3);
	x->last_meta_fd = fcntl(bpf_map__fd(s->maps.mcp_last_meta), F_DUPFD_CLOEXEC, 3);
	x->nworkers = o->nworkers ? o->nworkers : 1;
	x->max_subscribers = o->max_subscribers;
	*out = x;
out:
	mcp_xdp__destroy(s);
	return err;
}

static int open_pin(const char *dir, const char *name)
{
	char p[PATH_MAX];
	int fd;

	if (pin_path(p, sizeof(p), dir, name))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(p);
	return fd < 0 ? -errno : fd;
}

int mcp_xdp_open_pinned(const char *ifname, struct mcp_xdp_obj **out)
{
	struct mcp_xdp_config cfg;
	struct mcp_xdp_obj *x;
	char dir[PATH_MAX];
	__u32 zero = 0;
	int i, err;

	err = mcp_xdp_pin_dir(ifname, dir, sizeof(dir));
	if (err)
		return err;
	x = obj_new();
	if (!x)
		return -ENOMEM;
	snprintf(x->ifname, sizeof(x->ifname), "%s", ifname);
	for (i = 0; i < MCP_XMAP__MAX; i++) {
		x->map_fd[i] = open_pin(dir, map_pin_names[i]);
		if (x->map_fd[i] < 0) {
			err = x->map_fd[i];
			goto err;
		}
	}
	x->prog_fd = open_pin(dir, MCP_XDP_PIN_PROG);
	if (bpf_map_lookup_elem(x->map_fd[MCP_XMAP_CONFIG], &zero, &cfg)) {
		err = -errno;
		goto err;
	}
	if (cfg.abi != MCP_MAP_ABI) {
		mcp_err("pins under %s have map ABI %u, this build uses %u: detach and attach again\n",
			dir, cfg.abi, MCP_MAP_ABI);
		err = -EPROTO;
		goto err;
	}
	x->ifindex = cfg.ifindex;
	x->nworkers = cfg.nworkers ? cfg.nworkers : 1;
	{
		struct bpf_map_info info;
		__u32 len = sizeof(info);

		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(x->map_fd[MCP_XMAP_SUB_COUNTERS], &info, &len) == 0)
			x->max_subscribers = info.max_entries;
	}
	*out = x;
	return 0;
err:
	mcp_xdp_close(x);
	return err;
}

/* A refusal that skb mode would not fix: no privileges, no interface, already attached. */
static int skb_mode_may_help(int err)
{
	return err && err != -EEXIST && err != -EPERM && err != -EACCES && err != -ENODEV;
}

int mcp_xdp_attach_or_open(const char *ifname, const struct mcp_xdp_opts *o,
			   struct mcp_xdp_obj **out, int *attached)
{
	struct mcp_xdp_opts skb;
	int err = mcp_xdp_open_pinned(ifname, out);

	if (attached)
		*attached = 0;
	if (err != -ENOENT)
		return err;
	if (!o) {
		mcp_xdp_opts_default(&skb);
		o = &skb;
	}
	err = mcp_xdp_attach(ifname, o, out);
	if (skb_mode_may_help(err) && o->mode != MCP_XDP_MODE_SKB) {
		mcp_warn("%s: native XDP refused (%s), falling back to skb mode\n", ifname,
			 strerror(-err));
		skb = *o;
		skb.mode = MCP_XDP_MODE_SKB;
		err = mcp_xdp_attach(ifname, &skb, out);
	}
	if (!err && attached)
		*attached = 1;
	else if (err == -EEXIST) /* someone attached meanwhile */
		err = mcp_xdp_open_pinned(ifname, out);
	return err;
}

void mcp_xdp_close(struct mcp_xdp_obj *x)
{
	int i;

	if (!x)
		return;
	for (i = 0; i < MCP_XMAP__MAX; i++)
		if (x->map_fd[i] >= 0)
			close(x->map_fd[i]);
	if (x->prog_fd >= 0)
		close(x->prog_fd);
	if (x->last_meta_fd >= 0)
		close(x->last_meta_fd);
	mcp_xdp_batch_free(x);
	mcp_xdp_subrecs_free(x);
	mcp_xdp_tunnels_unmap(x);
	mcp_xdp_flows_unmap(x);
	mcp_xdp_credit_unmap(x);
	free(x);
}

/* Detaches the program pinned in dir from ifindex, the way it was attached. */
static int detach_prog(const char *dir, const struct mcp_xdp_config *cfg, int ifindex)
{
	struct xdp_program *xp;
	int fd, err = 0;

	fd = open_pin(dir, MCP_XDP_PIN_PROG);
	if (fd < 0)
		return fd;
	if (cfg->attach == MCP_ATTACH_LIBXDP || cfg->attach == MCP_ATTACH_LIBXDP_LEGACY) {
		xp = xdp_program__from_fd(fd);
		err = libxdp_get_error(xp);
		if (!err) {
			err = xdp_program__detach(xp, ifindex, cfg->xdp_mode, 0);
			xdp_program__close(xp);
		}
	} else {
		LIBBPF_OPTS(bpf_xdp_attach_opts, ao, .old_prog_fd = fd);
		__u32 flags = cfg->xdp_mode == MCP_XDP_MODE_SKB ? XDP_FLAGS_SKB_MODE :
								   XDP_FLAGS_DRV_MODE;

		if (bpf_xdp_detach(ifindex, flags, &ao))
			err = -errno;
	}
	close(fd);
	return err;
}

int mcp_xdp_detach(const char *ifname)
{
	struct mcp_xdp_config cfg;
	char dir[PATH_MAX];
	__u32 zero = 0;
	int fd, ifindex, err;

	err = mcp_xdp_pin_dir(ifname, dir, sizeof(dir));
	if (err)
		return err;
	fd = open_pin(dir, map_pin_names[MCP_XMAP_CONFIG]);
	if (fd < 0) {
		if (access(dir, F_OK) == 0) { /* partial pins: clean them up */
			unpin_all(dir);
			return 0;
		}
		return -ENOENT;
	}
	if (bpf_map_lookup_elem(fd, &zero, &cfg))
		memset(&cfg, 0, sizeof(cfg));
	close(fd);
	ifindex = if_nametoindex(ifname);
	err = 0;
	if (ifindex && (cfg.ifindex == 0 || (int)cfg.ifindex == ifindex)) {
		mcp_xdp_libbpf_quiet = 1;
		err = detach_prog(dir, &cfg, ifindex);
		mcp_xdp_libbpf_quiet = 0;
		if (err)
			mcp_warn("detaching from %s: %s (removing the pins anyway)\n", ifname,
				 strerror(-err));
	}
	unpin_all(dir);
	return 0;
}
