/* mcp-capture.c - write the packets of one or more subscribers (by IMSI) to pcap or pcapng.
 *
 *   mcp-capture -m IMSI [-m IMSI ...] -w FILE [-i IFACE | -r FILE] [--control] [--snaplen N]
 *               [--count N] [--duration S] [--rotate-size MB | --rotate-seconds S] [--keep N]
 *               [--redis HOST:PORT] [--pcapng] [-v]
 *
 * -r follows the file's own GTP-C (userspace/capture/cap_offline.c); -i takes a capture slot
 * of the probe (several captures run at once), sets the IMSIs in the pinned capture filter and
 * reads the slot's own ring (cap_live.c). docs/capture.md.
 * Exit status: 0 done with nothing lost; 1 a runtime failure (an output could not be written,
 * the probe went away); 2 a usage or input error, reported in one line, with no output file
 * and no filter left behind; 3 done, but frames were lost (ring full, filter update gap).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/cap_file.h"
#include "capture/cap_live.h"
#include "capture/cap_offline.h"
#include "capture/imsi_set.h"
#include "util/log.h"

#define EXIT_USAGE 2
#define EXIT_LOST  3
#define MCP_CAP_DEFAULT_SNAP 262144u /* the file header's snaplen when frames are whole */

struct capture_opts {
	struct mcp_imsi_set imsis;
	const char *write_path, *iface, *read_path, *redis, *redis_prefix;
	int control, pcapng, verbose;
	uint64_t snaplen, count, duration_s, rotate_mb, rotate_s, keep;
};

enum opt_id {
	O_CONTROL = 0x100, O_SNAPLEN, O_COUNT, O_DURATION, O_ROTATE_SIZE, O_ROTATE_SECONDS, O_KEEP,
	O_REDIS, O_REDIS_PREFIX, O_PCAPNG,
};

/* One table drives parsing and usage. */
struct opt_desc {
	struct option lo;
	const char *arg, *help;
};

static const struct opt_desc opt_table[] = {
	{ { "imsi", required_argument, NULL, 'm' }, "IMSI", "subscriber to capture (6-15 digits; repeat for more)" },
	{ { "write", required_argument, NULL, 'w' }, "FILE", "output file (pcap, nanosecond stamps)" },
	{ { "interface", required_argument, NULL, 'i' }, "IFACE", "live: the probe's interface (mcp-load attach)" },
	{ { "read", required_argument, NULL, 'r' }, "FILE", "offline: a pcap/pcapng capture, followed by its GTP-C" },
	{ { "control", no_argument, NULL, O_CONTROL }, "", "also the subscribers' GTP-C and PFCP messages" },
	{ { "snaplen", required_argument, NULL, O_SNAPLEN }, "N", "bytes kept per frame (live: at most 2048)" },
	{ { "count", required_argument, NULL, O_COUNT }, "N", "stop after N frames written" },
	{ { "duration", required_argument, NULL, O_DURATION }, "S", "stop after S seconds (offline: of capture time)" },
	{ { "rotate-size", required_argument, NULL, O_ROTATE_SIZE }, "MB", "new file every MB megabytes (10^6)" },
	{ { "rotate-seconds", required_argument, NULL, O_ROTATE_SECONDS }, "S", "new file every S seconds of packet time" },
	{ { "keep", required_argument, NULL, O_KEEP }, "N", "with rotation: keep the N newest files" },
	{ { "redis", required_argument, NULL, O_REDIS }, "HOST:PORT", "remote mode: tunnels and events from the microcloud" },
	{ { "redis-prefix", required_argument, NULL, O_REDIS_PREFIX }, "P", "microcloud key prefix (as mcprobe's; auth: MCP_REDIS_AUTH)" },
	{ { "pcapng", no_argument, NULL, O_PCAPNG }, "", "pcapng with the interface and a comment naming the IMSIs" },
	{ { "verbose", no_argument, NULL, 'v' }, "", "more messages" },
	{ { "help", no_argument, NULL, 'h' }, "", "this help" },
};

#define N_OPTS (sizeof(opt_table) / sizeof(opt_table[0]))

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: mcp-capture -m IMSI [-m IMSI ...] -w FILE [-i IFACE | -r FILE] [options]\n\n");
	for (i = 0; i < N_OPTS; i++) {
		char name[40];

		if (opt_table[i].lo.val < 0x100)
			snprintf(name, sizeof(name), "-%c, --%s %s", opt_table[i].lo.val,
				 opt_table[i].lo.name, opt_table[i].arg);
		else
			snprintf(name, sizeof(name), "    --%s %s", opt_table[i].lo.name,
				 opt_table[i].arg);
		fprintf(f, "  %-30s %s\n", name, opt_table[i].help);
	}
}

/* A positive number no larger than max; one message otherwise. */
static int parse_num(const char *opt, const char *arg, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (errno || *end || !*arg || arg[0] == '-' || v == 0 || v > max) {
		mcp_err("--%s wants a number from 1 to %" PRIu64 ", not '%s'\n", opt,
			max, arg);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int parse_one(struct capture_opts *o, int c, const char *arg)
{
	switch (c) {
	case 'm':
		if (mcp_imsi_valid(arg)) {
			mcp_err("-m '%s': an IMSI is 6 to 15 digits\n", arg);
			return -EINVAL;
		}
		return mcp_imsi_set_add(&o->imsis, arg);
	case 'w': o->write_path = arg; return 0;
	case 'i': o->iface = arg; return 0;
	case 'r': o->read_path = arg; return 0;
	case O_CONTROL: o->control = 1; return 0;
	case O_PCAPNG: o->pcapng = 1; return 0;
	case 'v': o->verbose = 1; return 0;
	case O_REDIS: o->redis = arg; return 0;
	case O_REDIS_PREFIX: o->redis_prefix = arg; return 0;
	case O_SNAPLEN: return parse_num("snaplen", arg, 262144, &o->snaplen);
	case O_COUNT: return parse_num("count", arg, UINT64_MAX / 2, &o->count);
	case O_DURATION: return parse_num("duration", arg, 100u * 365 * 86400, &o->duration_s);
	case O_ROTATE_SIZE: return parse_num("rotate-size", arg, 1000000, &o->rotate_mb);
	case O_ROTATE_SECONDS: return parse_num("rotate-seconds", arg, 100u * 365 * 86400, &o->rotate_s);
	case O_KEEP: return parse_num("keep", arg, 1000000, &o->keep);
	}
	return -EINVAL;
}

/* The combinations that make no sense, each with one message. */
static int check_opts(const struct capture_opts *o)
{
	const char *why = NULL;

	if (!o->imsis.n)
		why = "at least one -m IMSI is needed";
	else if (!o->write_path || !*o->write_path)
		why = "-w FILE is needed";
	else if (!o->iface == !o->read_path)
		why = "one of -i IFACE (live) or -r FILE (offline) is needed";
	else if (o->read_path && o->redis)
		why = "--redis is for live capture (-i), not -r";
	else if (o->rotate_mb && o->rotate_s)
		why = "--rotate-size and --rotate-seconds exclude each other";
	else if (o->keep && !o->rotate_mb && !o->rotate_s)
		why = "--keep needs --rotate-size or --rotate-seconds";
	else if (o->iface && o->snaplen > MCP_CAP_LIVE_MAX_SNAP)
		why = "--snaplen: live capture keeps at most 2048 bytes per frame";
	if (why) {
		mcp_err("%s (--help for usage)\n", why);
		return -EINVAL;
	}
	return 0;
}

static int parse_opts(int argc, char **argv, struct capture_opts *o)
{
	struct option lo[N_OPTS + 1];
	size_t i;
	int c;

	memset(lo, 0, sizeof(lo));
	for (i = 0; i < N_OPTS; i++)
		lo[i] = opt_table[i].lo;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":m:w:i:r:vh", lo, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			exit(0);
		}
		if (c == '?' || c == ':') {
			mcp_err("%s '%s' (--help for usage)\n",
				c == ':' ? "missing value for" : "unknown option", argv[optind - 1]);
			return -EINVAL;
		}
		if (parse_one(o, c, optarg))
			return -EINVAL;
	}
	if (optind < argc) {
		mcp_err("unexpected argument '%s' (--help for usage)\n", argv[optind]);
		return -EINVAL;
	}
	return check_opts(o);
}

static void file_cfg(const struct capture_opts *o, int linktype, const char *ifname,
		     char *comment, size_t comment_sz, struct mcp_cap_file_cfg *fc)
{
	memset(fc, 0, sizeof(*fc));
	mcp_imsi_set_describe(&o->imsis, comment, (uint32_t)comment_sz);
	fc->path = o->write_path;
	fc->pcapng = o->pcapng;
	fc->linktype = linktype;
	fc->snaplen = o->snaplen ? (uint32_t)o->snaplen :
		      o->iface ? MCP_CAP_LIVE_MAX_SNAP : MCP_CAP_DEFAULT_SNAP;
	fc->rotate_bytes = o->rotate_mb * 1000000u;
	fc->rotate_ns = o->rotate_s * 1000000000u;
	fc->keep = (uint32_t)o->keep;
	fc->comment = comment;
	fc->ifname = ifname;
}

static int run_offline(const struct capture_opts *o)
{
	struct mcp_cap_limits lim = { (uint32_t)o->snaplen, o->count, o->duration_s * 1000000000u };
	struct mcp_cap_offline_result res;
	struct mcp_cap_offline *in;
	struct mcp_cap_file_cfg fc;
	struct mcp_cap_file *w;
	char comment[512];
	int err;

	if (mcp_cap_offline_open(o->read_path, &in))
		return EXIT_USAGE;
	file_cfg(o, mcp_cap_offline_linktype(in), o->read_path, comment, sizeof(comment), &fc);
	if (mcp_cap_file_create(&fc, &w)) {
		mcp_cap_offline_close(in);
		return EXIT_USAGE;
	}
	err = mcp_cap_offline_run(in, &o->imsis, o->control, &lim, w, &stop_requested, &res);
	mcp_cap_offline_close(in);
	if (err) {
		mcp_cap_file_abort(w);
		return 1;
	}
	{
		const struct mcp_cap_file_stats st = *mcp_cap_file_stats(w);

		if (mcp_cap_file_close(w))
			return 1;
		fprintf(stderr, "mcp-capture: %" PRIu64 " frames read, %" PRIu64 " written (%" PRIu64
			" user plane, %" PRIu64 " control) to %u file(s)%s%s\n", res.frames_read,
			res.written, res.user, res.control, st.files_done + 1,
			res.frag_held ? "; fragments attributed by their last fragment only" : "",
			res.input_truncated ? "; the input ended early" : "");
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct capture_opts o;
	struct sigaction sa;
	int rc;

	memset(&o, 0, sizeof(o));
	if (parse_opts(argc, argv, &o)) {
		mcp_imsi_set_free(&o.imsis);
		return EXIT_USAGE;
	}
	if (o.verbose)
		mcp_log_set_level(MCP_LOG_DEBUG);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (o.read_path) {
		rc = run_offline(&o);
	} else {
		struct mcp_cap_live_cfg lc;
		struct mcp_cap_file_cfg fc;
		char comment[512];

		file_cfg(&o, 1 /* DLT_EN10MB */, o.iface, comment, sizeof(comment), &fc);
		memset(&lc, 0, sizeof(lc));
		lc.iface = o.iface;
		lc.redis = o.redis;
		lc.redis_prefix = o.redis_prefix;
		lc.imsis = &o.imsis;
		lc.control = o.control;
		lc.snaplen = (uint32_t)o.snaplen;
		lc.count = o.count;
		lc.duration_ns = o.duration_s * 1000000000u;
		lc.file = &fc;
		rc = mcp_cap_live_run(&lc, &stop_requested);
		rc = rc == MCP_CAP_LIVE_OK ? 0 : rc == MCP_CAP_LIVE_LOST ? EXIT_LOST :
		     rc == MCP_CAP_LIVE_USAGE ? EXIT_USAGE : 1;
	}
	mcp_imsi_set_free(&o.imsis);
	return rc;
}
