/* mcp-load.c - attach, detach and inspect the mcprobe XDP program (bpf/mcp_xdp.bpf.c).
 *
 *   mcp-load attach IFACE [--mode native|skb] [--queues N] [--workers N] [--inline]
 *                         [--max-tunnels N] [--max-subscribers N] [--max-flows N]
 *                         [--snaplen N] [--no-dispatcher] [-v]
 *   mcp-load detach IFACE
 *   mcp-load status [IFACE] [--json] [--subscribers]
 *
 * Maps and the program are pinned under /sys/fs/bpf/mcprobe/<iface>/ (docs/xdp.md). Exit 0 on
 * success, 1 on a runtime failure, 2 on a usage error, unknown interface, missing privileges,
 * missing bpffs, or an interface that is already attached.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "capture/cap_filter.h"
#include "capture/cap_slot.h"
#include "xdp/maps_user.h"
#include "util/log.h"

struct load_opts {
	struct mcp_xdp_opts xdp;
	const char *ifname;
	int json;
	int subscribers;
	int verbose;
};

enum opt_kind { OPT_U32, OPT_FLAG, OPT_MODE };

/* The options table: every subcommand parses with it; `cmds` says which accept it. */
struct opt_desc {
	const char *name;
	enum opt_kind kind;
	size_t off;      /* into struct load_opts */
	const char *cmds; /* "a" attach, "d" detach, "s" status */
	const char *help;
};

#define OFF(f) offsetof(struct load_opts, f)

static const struct opt_desc opt_table[] = {
	{ "mode", OPT_MODE, OFF(xdp.mode), "a", "native|skb (default native)" },
	{ "queues", OPT_U32, OFF(xdp.queues), "a", "rx queues with AF_XDP sockets (default 64)" },
	{ "workers", OPT_U32, OFF(xdp.nworkers), "a", "workers to steer to (default 1)" },
	{ "inline", OPT_FLAG, OFF(xdp.inline_mode), "a", "every frame goes on to the stack (userspace gets copies)" },
	{ "max-tunnels", OPT_U32, OFF(xdp.max_tunnels), "a", "tunnel map size (default 1000000)" },
	{ "max-subscribers", OPT_U32, OFF(xdp.max_subscribers), "a",
	  "subscriber maps size (default 500000)" },
	{ "max-flows", OPT_U32, OFF(xdp.max_flows), "a", "bypass flow map size (default 1000000)" },
	{ "snaplen", OPT_U32, OFF(xdp.snaplen), "a", "capture bytes per frame (default 2048)" },
	{ "no-dispatcher", OPT_FLAG, OFF(xdp.no_dispatcher), "a",
	  "attach with bpf_xdp_attach, without libxdp" },
	{ "json", OPT_FLAG, OFF(json), "s", "machine-readable status" },
	{ "subscribers", OPT_FLAG, OFF(subscribers), "s",
	  "per-subscriber counters (XDP's per-CPU slots + userspace credit)" },
	{ "verbose", OPT_FLAG, OFF(verbose), "ads", "log libbpf/libxdp messages" },
};

#define N_OPTS (sizeof(opt_table) / sizeof(opt_table[0]))

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: mcp-load attach IFACE [options]\n"
		   "       mcp-load detach IFACE\n"
		   "       mcp-load status [IFACE] [--json] [--subscribers]\n\noptions:\n");
	for (i = 0; i < N_OPTS; i++)
		fprintf(f, "  --%-18s %s%s\n", opt_table[i].name,
			opt_table[i].kind == OPT_U32 ? "N  " : "", opt_table[i].help);
}

/* Parses argv after the subcommand; the one positional argument is the interface. */
static int parse_opts(int argc, char **argv, char cmd, struct load_opts *o)
{
	struct option lo[N_OPTS + 2];
	size_t i;
	int c, idx;

	memset(lo, 0, sizeof(lo));
	for (i = 0; i < N_OPTS; i++) {
		lo[i].name = opt_table[i].name;
		lo[i].has_arg = opt_table[i].kind == OPT_FLAG ? no_argument : required_argument;
		lo[i].val = 0x100 + (int)i;
	}
	lo[N_OPTS].name = "help";
	lo[N_OPTS].val = 'h';
	optind = 1;
	while ((c = getopt_long(argc, argv, "vh", lo, &idx)) != -1) {
		const struct opt_desc *d;
		char *end;
		unsigned long v;

		if (c == 'v') {
			o->verbose = 1;
			continue;
		}
		if (c == 'h') {
			usage(stdout);
			exit(0);
		}
		if (c < 0x100 || c >= 0x100 + (int)N_OPTS)
			return -EINVAL;
		d = &opt_table[c - 0x100];
		if (!strchr(d->cmds, cmd)) {
			mcp_err("--%s does not apply to this command\n", d->name);
			return -EINVAL;
		}
		switch (d->kind) {
		case OPT_FLAG:
			*(int *)((char *)o + d->off) = 1;
			break;
		case OPT_U32:
			errno = 0;
			v = strtoul(optarg, &end, 0);
			if (errno || *end || !*optarg || v == 0 || v > UINT32_MAX) {
				mcp_err("--%s wants a positive number, not '%s'\n", d->name, optarg);
				return -EINVAL;
			}
			*(uint32_t *)((char *)o + d->off) = (uint32_t)v;
			break;
		case OPT_MODE:
			if (!strcmp(optarg, "native") || !strcmp(optarg, "drv"))
				o->xdp.mode = MCP_XDP_MODE_NATIVE;
			else if (!strcmp(optarg, "skb") || !strcmp(optarg, "generic"))
				o->xdp.mode = MCP_XDP_MODE_SKB;
			else {
				mcp_err("--mode is native or skb, not '%s'\n", optarg);
				return -EINVAL;
			}
			break;
		}
	}
	if (optind < argc)
		o->ifname = argv[optind++];
	if (optind < argc) {
		mcp_err("unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

/* One clear line for the errors a user can fix; returns the exit code. */
static int report(const char *what, const char *ifname, int err)
{
	switch (err) {
	case -ENODEV:
		mcp_err("%s: no interface named '%s'\n", what, ifname);
		return 2;
	case -EPERM:
	case -EACCES:
		mcp_err("%s %s: permission denied (needs root, or CAP_BPF + CAP_NET_ADMIN)\n", what,
			ifname);
		return 2;
	case -ENOTSUP: /* == -EOPNOTSUPP; bpffs problems are reported by check_bpffs() */
		mcp_err("%s %s: the driver does not support this XDP mode (try --mode skb)\n", what,
			ifname);
		return 2;
	case -EEXIST:
		mcp_err("%s: %s is already attached (pins in %s/%s): detach it first\n", what,
			ifname, MCP_PIN_ROOT, ifname);
		return 2;
	case -EPROTO: /* open_pinned said which ABI */
		mcp_err("%s: stale pins in %s/%s: run 'mcp-load detach %s' and attach again\n", what,
			MCP_PIN_ROOT, ifname, ifname);
		return 2;
	case -ENOENT:
		mcp_err("%s: nothing attached on %s (no pins in %s/%s)\n", what, ifname,
			MCP_PIN_ROOT, ifname);
		return 2;
	default:
		mcp_err("%s %s: %s\n", what, ifname, strerror(-err));
		return 1;
	}
}

/* bpffs first, so its errors are not confused with the attach's. Returns an exit code. */
static int check_bpffs(void)
{
	int err = mcp_xdp_check_bpffs();

	if (!err)
		return 0;
	if (err == -EPERM || err == -EACCES)
		mcp_err("/sys/fs/bpf: permission denied (needs root, or CAP_BPF + CAP_NET_ADMIN)\n");
	else
		mcp_err("/sys/fs/bpf is not a bpffs and could not be mounted: "
			"run 'mount -t bpf bpf /sys/fs/bpf'\n");
	return 2;
}

static int do_attach(struct load_opts *o)
{
	int err;

	if (!o->ifname) {
		usage(stderr);
		return 2;
	}
	if (!if_nametoindex(o->ifname))
		return report("attach", o->ifname, -ENODEV);
	err = check_bpffs();
	if (err)
		return err;
	err = mcp_xdp_attach(o->ifname, &o->xdp, NULL);
	if (err)
		return report("attach", o->ifname, err);
	printf("attached to %s\n", o->ifname);
	return 0;
}

static int do_detach(struct load_opts *o)
{
	int err;

	if (!o->ifname) {
		usage(stderr);
		return 2;
	}
	err = mcp_xdp_detach(o->ifname);
	if (err)
		return report("detach", o->ifname, err);
	printf("detached from %s\n", o->ifname);
	return 0;
}

static const char *map_type_name(__u32 t)
{
	const char *n = libbpf_bpf_map_type_str(t);

	return n ? n : "unknown";
}

/* Entries in use: counted for hash maps, max_entries for arrays. */
static long map_entries(int fd, const struct bpf_map_info *info)
{
	unsigned char key[64], next[64];
	long n = 0;

	if (info->type != BPF_MAP_TYPE_HASH || info->key_size > sizeof(key))
		return -1;
	if (bpf_map_get_next_key(fd, NULL, next))
		return 0;
	do {
		n++;
		memcpy(key, next, info->key_size);
	} while (bpf_map_get_next_key(fd, key, next) == 0);
	return n;
}

static const char *attach_name(int a)
{
	switch (a) {
	case MCP_ATTACH_LIBXDP:
		return "libxdp";
	case MCP_ATTACH_LIBXDP_LEGACY:
		return "libxdp-no-dispatcher";
	case MCP_ATTACH_NETLINK:
		return "bpf_xdp_attach";
	default:
		return "none";
	}
}

struct capture_print {
	int json, n;
};

/* "0,3": the slots of a mask. */
static void slot_list(uint32_t slots, char *buf, size_t len)
{
	size_t o = 0;
	uint32_t s;

	buf[0] = 0;
	for (s = 0; s < MCP_CAPTURE_SLOTS && o < len; s++)
		if (slots & (1u << s))
			o += (size_t)snprintf(buf + o, len - o, "%s%u", o ? "," : "", s);
}

static void print_capture_entry(void *ctx, uint32_t sub_idx, uint32_t slots, const char *imsi)
{
	struct capture_print *c = ctx;
	char sl[64];

	slot_list(slots, sl, sizeof(sl));
	if (c->json)
		printf("%s{\"index\":%u,\"imsi\":\"%s\",\"slots\":[%s]}", c->n++ ? "," : "",
		       sub_idx, imsi, sl);
	else
		printf("    IMSI %-16s subscriber index %-8u slot(s) %s\n", imsi[0] ? imsi : "(none)",
		       sub_idx, sl);
}

static void print_capture_slot(void *ctx, uint32_t slot, const struct mcp_capture_slot *row,
			       int alive)
{
	struct capture_print *c = ctx;

	if (c->json)
		printf("%s{\"slot\":%u,\"pid\":%u,\"started\":%llu,\"imsis\":\"%s\","
		       "\"follow\":%s,\"alive\":%s}", c->n++ ? "," : "", slot, row->pid,
		       (unsigned long long)row->started, row->desc,
		       row->flags & MCP_CAPTURE_SLOT_FOLLOW ? "true" : "false",
		       alive ? "true" : "false");
	else
		printf("    slot %-2u pid %-7u IMSIs %s%s\n", slot, row->pid, row->desc,
		       alive ? "" : "  (owner died: reclaimed by the next capture)");
}

/* The active captures (mcp-capture -i): their slots, then the filters by subscriber. */
static void print_captures(struct mcp_xdp_obj *x, const char *ifname, int json)
{
	struct capture_print c = { json, 0 };

	printf(json ? ",\"capture_slots\":[" : "  capture slots (mcp-capture):\n");
	if (mcp_cap_slot_list(x, ifname, print_capture_slot, &c) <= 0 && !json)
		printf("    none\n");
	c.n = 0;
	printf(json ? "],\"capture\":[" : "  capture filters (mcp-capture):\n");
	if (mcp_cap_filter_list(x, print_capture_entry, &c) == 0 && !json)
		printf("    none\n");
	printf(json ? "]" : "");
}

/* Every subscriber in the subscribers map with its counters: the per-CPU slots XDP counted plus
 * the credit slot (mcp_xdp_sub_counters), as the flow records count them. */
static void print_subscribers(struct mcp_xdp_obj *x, int json)
{
	int fd = mcp_xdp_map_fd(x, MCP_XMAP_SUBSCRIBERS), more, n = 0;
	struct mcp_sub_counters c;
	struct mcp_sub_info si;
	__u32 key, next;

	printf(json ? ",\"subscribers\":[" : "  subscribers (packets/bytes up, down):\n");
	for (more = bpf_map_get_next_key(fd, NULL, &key) == 0; more; key = next) {
		more = bpf_map_get_next_key(fd, &key, &next) == 0;
		if (bpf_map_lookup_elem(fd, &key, &si) || mcp_xdp_sub_counters(x, key, &c))
			continue; /* removed meanwhile */
		si.imsi[sizeof(si.imsi) - 1] = 0;
		if (json)
			printf("%s{\"index\":%u,\"imsi\":\"%s\",\"pkts_up\":%llu,\"pkts_down\":%llu,"
			       "\"bytes_up\":%llu,\"bytes_down\":%llu}", n++ ? "," : "", key, si.imsi,
			       (unsigned long long)c.pkts_up, (unsigned long long)c.pkts_down,
			       (unsigned long long)c.bytes_up, (unsigned long long)c.bytes_down);
		else
			printf("    %-16s %-7u %llu/%llu %llu/%llu\n", si.imsi, key,
			       (unsigned long long)c.pkts_up, (unsigned long long)c.bytes_up,
			       (unsigned long long)c.pkts_down, (unsigned long long)c.bytes_down);
	}
	printf(json ? "]" : "");
}

/* Prints one interface's status; first says whether a JSON comma is needed. */
static int status_one(const char *ifname, int json, int subs, int first)
{
	uint64_t stats[MCP_STATS__MAX];
	struct bpf_prog_info pinfo;
	struct mcp_xdp_config cfg;
	struct mcp_xdp_obj *x;
	__u32 len = sizeof(pinfo);
	int i, err, attached;

	err = mcp_xdp_open_pinned(ifname, &x);
	if (err)
		return err;
	err = mcp_xdp_config_read(x, &cfg);
	if (!err)
		err = mcp_xdp_stats_read(x, stats);
	if (err)
		goto out;
	memset(&pinfo, 0, sizeof(pinfo));
	if (mcp_xdp_prog_fd(x) < 0 || bpf_obj_get_info_by_fd(mcp_xdp_prog_fd(x), &pinfo, &len))
		memset(&pinfo, 0, sizeof(pinfo));
	attached = if_nametoindex(ifname) == cfg.ifindex && pinfo.id;

	if (json)
		printf("%s{\"iface\":\"%s\",\"ifindex\":%u,\"attached\":%s,\"prog_id\":%u,"
		       "\"prog_name\":\"%s\",\"attach\":\"%s\",\"mode\":\"%s\",\"queues\":%u,"
		       "\"workers\":%u,\"inline\":%s,\"abi\":%u,\"maps\":{",
		       first ? "" : ",", ifname, cfg.ifindex, attached ? "true" : "false", pinfo.id,
		       pinfo.name, attach_name(cfg.attach),
		       cfg.xdp_mode == MCP_XDP_MODE_SKB ? "skb" : "native", cfg.queues, cfg.nworkers,
		       cfg.flags & MCP_CFG_F_INLINE ? "true" : "false", cfg.abi);
	else
		printf("%s: %s prog id %u (%s) via %s, %s mode, %u queues, %u workers, %s mode, "
		       "map ABI %u\n  maps in %s/%s:\n",
		       ifname, attached ? "attached," : "NOT attached (interface gone?),", pinfo.id,
		       pinfo.name, attach_name(cfg.attach),
		       cfg.xdp_mode == MCP_XDP_MODE_SKB ? "skb" : "native", cfg.queues, cfg.nworkers,
		       cfg.flags & MCP_CFG_F_INLINE ? "inline" : "mirror", cfg.abi, MCP_PIN_ROOT,
		       ifname);
	for (i = 0; i < MCP_XMAP__MAX; i++) {
		struct bpf_map_info mi;
		__u32 ml = sizeof(mi);
		int fd = mcp_xdp_map_fd(x, i);
		long n;

		memset(&mi, 0, sizeof(mi));
		if (bpf_obj_get_info_by_fd(fd, &mi, &ml))
			continue;
		n = map_entries(fd, &mi);
		if (json)
			printf("%s\"%s\":{\"id\":%u,\"type\":\"%s\",\"max_entries\":%u,\"entries\":%ld}",
			       i ? "," : "", mcp_xdp_map_pin_name(i), mi.id, map_type_name(mi.type),
			       mi.max_entries, n < 0 ? (long)mi.max_entries : n);
		else if (n >= 0)
			printf("    %-13s id %-6u %-14s %ld / %u entries\n", mcp_xdp_map_pin_name(i),
			       mi.id, map_type_name(mi.type), n, mi.max_entries);
		else
			printf("    %-13s id %-6u %-14s %u slots\n", mcp_xdp_map_pin_name(i), mi.id,
			       map_type_name(mi.type), mi.max_entries);
	}
	printf(json ? "},\"counters\":{" : "  counters (all CPUs):\n");
	for (i = 0; i < MCP_STATS__MAX; i++) {
		if (json)
			printf("%s\"%s\":%llu", i ? "," : "", mcp_xdp_stat_name(i),
			       (unsigned long long)stats[i]);
		else if (stats[i] || i >= MCP_PARSE__MAX)
			printf("    %-18s %llu\n", mcp_xdp_stat_name(i), (unsigned long long)stats[i]);
	}
	printf(json ? "}" : "");
	print_captures(x, ifname, json);
	if (subs)
		print_subscribers(x, json);
	printf(json ? "}" : "");
out:
	mcp_xdp_close(x);
	return err;
}

static int do_status(struct load_opts *o)
{
	struct dirent *de;
	int err = 0, n = 0;
	DIR *d;

	if (o->json)
		printf("[");
	if (o->ifname) {
		err = status_one(o->ifname, o->json, o->subscribers, 1);
		n = !err;
	} else if (!(d = opendir(MCP_PIN_ROOT)) && (errno == EACCES || errno == EPERM)) {
		err = -EACCES;
	} else if (d) {
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			int e = status_one(de->d_name, o->json, o->subscribers, n == 0);

			if (e == 0)
				n++;
			else if (e != -ENOENT)
				mcp_warn("status %s: %s\n", de->d_name, strerror(-e));
		}
		closedir(d);
	}
	if (o->json)
		printf("]\n");
	else if (!n && !err)
		printf("nothing attached (no pins under %s)\n", MCP_PIN_ROOT);
	if (err)
		return report("status", o->ifname ? o->ifname : MCP_PIN_ROOT, err);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		char key;
		int (*fn)(struct load_opts *o);
	} cmds[] = { { "attach", 'a', do_attach }, { "detach", 'd', do_detach },
		     { "status", 's', do_status } };
	struct load_opts o;
	size_t i;

	memset(&o, 0, sizeof(o));
	mcp_xdp_opts_default(&o.xdp);
	mcp_xdp_route_logs();
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[1], cmds[i].name))
			continue;
		if (parse_opts(argc - 1, argv + 1, cmds[i].key, &o)) {
			usage(stderr);
			return 2;
		}
		if (o.verbose)
			mcp_log_set_level(MCP_LOG_DEBUG);
		return cmds[i].fn(&o);
	}
	mcp_err("unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
