/* main.c - mcprobe: read packets (pcap/pcapng file, or live interfaces), turn them into
 * subscriber-aware flow records. Option parsing and the offline read loop; the work is in
 * pipeline.c. Exit status: 0 success, 1 runtime failure (an output could not be written),
 * 2 usage or input error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "live/live.h"
#include "xdp/xsk_socket.h"
#include "input/pcapng.h"
#include "util/cpu_pin.h"
#include "util/log.h"
#include "pipeline/pipeline.h"

#define MCP_VERSION "0.1.0"
#define MAX_IFACES 8

struct options {
	const char *read_file;
	const char *ifaces[MAX_IFACES];
	int nifaces;
	int stats;
	int verbose;
	int quiet;
	struct mcp_pipeline_cfg pipe;
	struct mcp_mc_cfg redis;
	int use_redis;
	struct mcp_live_cfg live;
};

enum {
	OPT_FLOWS_JSON = 256, OPT_SESSIONS_JSON, OPT_STATS, OPT_IDLE, OPT_ACTIVE, OPT_MAX_FLOWS,
	OPT_NO_DPI, OPT_MAX_SUBS, OPT_DELETE_GRACE, OPT_HANDOVER_GRACE, OPT_REDIS, OPT_REDIS_AUTH,
	OPT_REDIS_DB, OPT_REDIS_PREFIX, OPT_REDIS_CLUSTER, OPT_IMSI_AGG, OPT_AGG_RETENTION,
	OPT_PROBE_NAME, OPT_NO_RELOAD, OPT_WORKERS, OPT_XSK_FRAMES, OPT_INLINE, OPT_MODE, OPT_VERSION,
	OPT_MAX_FRAGS, OPT_NO_BYPASS, OPT_HELPER_CPUS,
};

static const struct option long_opts[] = {
	{ "read", required_argument, NULL, 'r' },
	{ "interface", required_argument, NULL, 'i' },
	{ "flows-json", required_argument, NULL, OPT_FLOWS_JSON },
	{ "sessions-json", required_argument, NULL, OPT_SESSIONS_JSON },
	{ "stats", no_argument, NULL, OPT_STATS },
	{ "idle-timeout", required_argument, NULL, OPT_IDLE },
	{ "active-timeout", required_argument, NULL, OPT_ACTIVE },
	{ "max-flows", required_argument, NULL, OPT_MAX_FLOWS },
	{ "max-frags", required_argument, NULL, OPT_MAX_FRAGS },
	{ "no-dpi", no_argument, NULL, OPT_NO_DPI },
	{ "max-subscribers", required_argument, NULL, OPT_MAX_SUBS },
	{ "delete-grace", required_argument, NULL, OPT_DELETE_GRACE },
	{ "handover-grace", required_argument, NULL, OPT_HANDOVER_GRACE },
	{ "redis", required_argument, NULL, OPT_REDIS },
	{ "redis-auth", required_argument, NULL, OPT_REDIS_AUTH },
	{ "redis-db", required_argument, NULL, OPT_REDIS_DB },
	{ "redis-prefix", required_argument, NULL, OPT_REDIS_PREFIX },
	{ "redis-cluster", required_argument, NULL, OPT_REDIS_CLUSTER },
	{ "imsi-aggregation", optional_argument, NULL, OPT_IMSI_AGG },
	{ "aggregation-retention", required_argument, NULL, OPT_AGG_RETENTION },
	{ "probe-name", required_argument, NULL, OPT_PROBE_NAME },
	{ "no-reload", no_argument, NULL, OPT_NO_RELOAD },
	{ "workers", required_argument, NULL, OPT_WORKERS },
	{ "xsk-frames", required_argument, NULL, OPT_XSK_FRAMES },
	{ "inline", no_argument, NULL, OPT_INLINE },
	{ "no-bypass", no_argument, NULL, OPT_NO_BYPASS },
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "helper-cpus", required_argument, NULL, OPT_HELPER_CPUS },
	{ 0 },
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: mcprobe -r FILE [options]\n"
		"       mcprobe -i IFACE [-i IFACE2] [options]\n"
		"Subscriber-aware GTP probe: packets -> flows -> nDPI -> flow records.\n\n"
		"Input:\n"
		"  -r, --read FILE            read a pcap or pcapng file, FIFO or '-' (streamed)\n"
		"  -i, --interface IFACE      capture live with XDP + AF_XDP (repeatable)\n"
		"      --workers N            live: worker threads (default 1)\n"
		"      --xsk-frames N         live: 2 KiB UMEM frames per queue, a power of two\n"
		"                             (default 256 MiB per interface split over its\n"
		"                             queues, 16384-65536 each; the RX ring holds N/2)\n"
		"      --mode native|skb      live: XDP attach mode (default native, falls back to skb)\n"
		"      --inline               live: every frame goes on to the stack, the probe reads\n"
		"                             copies (default: mirror port, frames dropped)\n"
		"      --no-bypass            live: send every packet to userspace (no kernel flow bypass)\n"
		"Output:\n"
		"      --flows-json PATH      one JSON flow record per line ('-' = stdout)\n"
		"      --sessions-json PATH   one JSON line per subscriber change, final dump at exit\n"
		"      --stats                print a summary at the end (stderr)\n"
		"Flows:\n"
		"      --idle-timeout S       export flows idle for S seconds (default 30)\n"
		"      --active-timeout S     export long flows every S seconds (default 120)\n"
		"      --max-flows N          flow table bound (default 1000000)\n"
		"      --max-frags N          IP datagrams under reassembly (default 4096)\n"
		"      --no-dpi               skip nDPI classification\n"
		"Subscribers:\n"
		"      --max-subscribers N    session table bound (default 1000000)\n"
		"      --delete-grace S       deleted sessions stay resolvable S seconds (default 60)\n"
		"      --handover-grace S     replaced tunnels stay resolvable S seconds (default 5)\n"
		"Microcloud (Redis):\n"
		"      --redis HOST:PORT|unix:/path   write facts, counters, aggregates and events\n"
		"      --redis-cluster H:P[,H:P...]   Redis Cluster seeds\n"
		"      --redis-auth [USER:]PASSWORD   or set MCP_REDIS_AUTH\n"
		"      --redis-db N                   database number\n"
		"      --redis-prefix P               key prefix (default none)\n"
		"      --imsi-aggregation[=S]         per-IMSI application buckets of S s (default 300)\n"
		"      --aggregation-retention S      bucket lifetime (default 86400)\n"
		"      --probe-name NAME              name written in facts and events (default hostname)\n"
		"      --no-reload                    do not restore sessions from Redis at start\n"
		"Other:\n"
		"      --helper-cpus LIST     run helper threads (Redis writer, live control) on\n"
		"                             these CPUs, e.g. 0 or 0,2-3 (pin packet threads with\n"
		"                             taskset)\n"
		"  -v, --verbose              more messages (repeatable)\n"
		"  -q, --quiet                errors only\n"
		"  -h, --help                 this text\n"
		"      --version              version\n");
}

/* Strict unsigned parsing: the whole string, in [min, max]. */
static int parse_u32(const char *opt, const char *arg, uint32_t min, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (!arg || !*arg || *arg == '-' || *arg == '+')
		goto bad;
	v = strtoull(arg, &end, 10);
	if (errno || *end || v < min || v > max)
		goto bad;
	*out = (uint32_t)v;
	return 0;
bad:
	mcp_err("invalid value for %s: '%s' (expected an integer from %u to %u)\n", opt,
		arg ? arg : "", min, max);
	return -EINVAL;
}

static int parse_seconds_ms(const char *opt, const char *arg, uint32_t min_s, uint32_t *ms)
{
	uint32_t s;

	if (parse_u32(opt, arg, min_s, 86400 * 7, &s))
		return -EINVAL;
	*ms = s * 1000;
	return 0;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	struct mcp_pipeline_cfg *p = &o->pipe;
	uint32_t v;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":r:i:vqh", long_opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			o->read_file = optarg;
			break;
		case 'i':
			if (o->nifaces >= MAX_IFACES) {
				mcp_err("at most %d interfaces\n", MAX_IFACES);
				return -EINVAL;
			}
			o->ifaces[o->nifaces++] = optarg;
			break;
		case OPT_FLOWS_JSON:
			p->flows_json = optarg;
			break;
		case OPT_SESSIONS_JSON:
			p->sessions_json = optarg;
			break;
		case OPT_STATS:
			o->stats = 1;
			break;
		case OPT_IDLE:
			if (parse_seconds_ms("--idle-timeout", optarg, 1, &p->worker.idle_timeout_ms))
				return -EINVAL;
			break;
		case OPT_ACTIVE:
			if (parse_seconds_ms("--active-timeout", optarg, 1,
					     &p->worker.active_timeout_ms))
				return -EINVAL;
			break;
		case OPT_MAX_FLOWS:
			if (parse_u32("--max-flows", optarg, 1, 100000000, &p->worker.max_flows))
				return -EINVAL;
			break;
		case OPT_MAX_FRAGS:
			if (parse_u32("--max-frags", optarg, 1, 1000000, &p->decoder.max_frags))
				return -EINVAL;
			break;
		case OPT_NO_DPI:
			p->worker.dpi = 0;
			break;
		case OPT_MAX_SUBS:
			if (parse_u32("--max-subscribers", optarg, 1, 50000000,
				      &p->sessions.max_subscribers))
				return -EINVAL;
			break;
		case OPT_DELETE_GRACE:
			if (parse_seconds_ms("--delete-grace", optarg, 0,
					     &p->sessions.delete_grace_ms))
				return -EINVAL;
			break;
		case OPT_HANDOVER_GRACE:
			if (parse_seconds_ms("--handover-grace", optarg, 0,
					     &p->sessions.handover_grace_ms))
				return -EINVAL;
			break;
		case OPT_REDIS:
			if (mcp_mc_parse_endpoint(&o->redis, optarg)) {
				mcp_err("invalid --redis '%s' (expected HOST:PORT or unix:/path)\n",
					optarg);
				return -EINVAL;
			}
			o->use_redis = 1;
			break;
		case OPT_REDIS_CLUSTER:
			o->redis.cluster_seeds = optarg;
			o->use_redis = 1;
			break;
		case OPT_REDIS_AUTH:
			if (mcp_mc_parse_auth(&o->redis, optarg)) {
				mcp_err("invalid --redis-auth (expected [USER:]PASSWORD)\n");
				return -EINVAL;
			}
			break;
		case OPT_REDIS_DB:
			if (parse_u32("--redis-db", optarg, 0, 1000000, &v))
				return -EINVAL;
			o->redis.db = (int)v;
			break;
		case OPT_REDIS_PREFIX:
			o->redis.prefix = optarg;
			break;
		case OPT_IMSI_AGG:
			if (!optarg && optind < argc && argv[optind][0] >= '0' && argv[optind][0] <= '9')
				optarg = argv[optind++]; /* "--imsi-aggregation 60" */
			if (optarg) {
				if (parse_u32("--imsi-aggregation", optarg, 1, 86400,
					      &o->redis.agg_period_s))
					return -EINVAL;
			} else {
				o->redis.agg_period_s = 300;
			}
			break;
		case OPT_AGG_RETENTION:
			if (parse_u32("--aggregation-retention", optarg, 1, 86400 * 366,
				      &o->redis.agg_retention_s))
				return -EINVAL;
			break;
		case OPT_PROBE_NAME:
			o->redis.probe_name = optarg;
			break;
		case OPT_NO_RELOAD:
			p->redis_reload = 0;
			break;
		case OPT_WORKERS:
			if (parse_u32("--workers", optarg, 1, 64, &o->live.workers))
				return -EINVAL;
			break;
		case OPT_XSK_FRAMES:
			if (parse_u32("--xsk-frames", optarg, MCP_XSK_MIN_FRAMES, MCP_XSK_MAX_FRAMES,
				      &o->live.xsk_frames))
				return -EINVAL;
			if (!mcp_xsk_frames_ok(o->live.xsk_frames)) {
				mcp_err("--xsk-frames %u: must be a power of two\n",
					o->live.xsk_frames);
				return -EINVAL;
			}
			break;
		case OPT_INLINE:
			o->live.inline_mode = 1;
			break;
		case OPT_HELPER_CPUS:
			if (mcp_helper_cpus_set(optarg))
				return -EINVAL;
			break;
		case OPT_NO_BYPASS:
			o->live.no_bypass = 1;
			break;
		case OPT_MODE:
			if (strcmp(optarg, "native") && strcmp(optarg, "skb")) {
				mcp_err("invalid --mode '%s' (expected native or skb)\n", optarg);
				return -EINVAL;
			}
			o->live.skb_mode = !strcmp(optarg, "skb");
			break;
		case 'v':
			o->verbose++;
			break;
		case 'q':
			o->quiet = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case OPT_VERSION:
			printf("mcprobe %s (nDPI, libbpf, libxdp, hiredis)\n", MCP_VERSION);
			exit(0);
		case ':':
			mcp_err("option '%s' needs a value (see --help)\n", argv[optind - 1]);
			return -EINVAL;
		default:
			mcp_err("unknown option '%s' (see --help)\n", argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		mcp_err("unexpected argument '%s' (see --help)\n", argv[optind]);
		return -EINVAL;
	}
	if (!!o->read_file + !!o->nifaces != 1) {
		mcp_err("give exactly one input: -r FILE or -i IFACE (see --help)\n");
		return -EINVAL;
	}
	return 0;
}

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	stop_requested = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One progress line, rewritten in place, while a big file is read on a terminal. */
static void progress(struct mcp_pipeline *p, pcap_t *pc, off_t size, double t0)
{
	struct mcp_pipeline_totals t;
	long pos = ftell(pcap_file(pc));
	double el = now_s() - t0;

	mcp_pipeline_totals(p, &t);
	fprintf(stderr, "\r%5.1f%%  %" PRIu64 " packets  %.0f pkt/s  %u flows   ",
		size > 0 && pos >= 0 ? 100.0 * pos / size : 0.0, t.frames,
		el > 0 ? t.frames / el : 0.0, t.flows_active);
}

/* Opens the capture, reporting why it cannot be used (exit status 2). */
static pcap_t *open_capture(const char *path, int *dlt)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	struct stat st;
	pcap_t *pc;

	if (strcmp(path, "-") && stat(path, &st)) { /* "-" is standard input (libpcap) */
		mcp_err("%s: %s\n", path, strerror(errno));
		return NULL;
	}
	if (strcmp(path, "-") && S_ISDIR(st.st_mode)) {
		mcp_err("%s: is a directory, not a capture file\n", path);
		return NULL;
	}
	if (strcmp(path, "-") && S_ISREG(st.st_mode) && st.st_size == 0) { /* FIFOs stream */
		mcp_err("%s: empty file, not a pcap or pcapng capture\n", path);
		return NULL;
	}
	if (!strcmp(path, "-")) {
		pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO,
							     errbuf);
	} else {
		/* Our own stream with a 1 MiB buffer: libpcap's stdio default (a few KiB) costs
		 * one read(2) per few packets, a tenth of the run time in a VM. */
		static char iobuf[1 << 20]; /* glibc ignores the size unless given the buffer */
		FILE *fp = fopen(path, "rb");

		if (!fp) {
			mcp_err("%s: %s\n", path, strerror(errno));
			return NULL;
		}
		setvbuf(fp, iobuf, _IOFBF, sizeof(iobuf));
		pc = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO,
							      errbuf);
		if (!pc)
			fclose(fp);
	}
	if (!pc) {
		mcp_err("%s: not a readable pcap/pcapng capture: %s\n", path, errbuf);
		return NULL;
	}
	*dlt = pcap_datalink(pc);
	if (mcp_decode_linktype_supported(*dlt)) {
		const char *name = pcap_datalink_val_to_name(*dlt);

		mcp_err("%s: unsupported link type %d (%s)\n", path, *dlt, name ? name : "unknown");
		pcap_close(pc);
		return NULL;
	}
	return pc;
}

/* Re-reads a pcapng file with mcp_pcapng, skipping the packets libpcap already gave. */
static int run_pcapng_rest(struct options *o, struct mcp_pipeline *p, uint64_t skip,
			   uint64_t *total)
{
	struct mcp_pcapng r;
	struct mcp_pcapng_pkt pkt;
	uint64_t n = 0;
	int rc;

	if (mcp_pcapng_open(&r, o->read_file)) {
		mcp_err("%s: %s\n", o->read_file, r.err);
		return 2;
	}
	while (!stop_requested && (rc = mcp_pcapng_next(&r, &pkt)) == 1) {
		if (n++ < skip)
			continue;
		mcp_pipeline_frame(p, pkt.linktype, pkt.data, pkt.caplen, pkt.wire_len, pkt.ts_us);
	}
	if (rc < 0)
		mcp_warn("%s: capture truncated after %" PRIu64 " packets: %s\n", o->read_file, n,
			 r.err);
	*total = n;
	mcp_pcapng_close(&r);
	return 0;
}

static int run_offline(struct options *o, pcap_t *pc, int dlt, struct mcp_pipeline *p,
		       double *elapsed)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	struct stat st;
	int show_progress = isatty(STDERR_FILENO) && !o->quiet;
	double t0 = now_s(), next_progress = t0 + 1;
	uint64_t n = 0;
	int rc = 0;

	if (fstat(fileno(pcap_file(pc)), &st))
		st.st_size = 0;
	while (!stop_requested && (rc = pcap_next_ex(pc, &h, &data)) == 1) {
		uint64_t ts_us = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;

		mcp_pipeline_frame(p, dlt, data, h->caplen, h->len, ts_us);
		n++;
		if (show_progress && !(n & 0xffff) && now_s() >= next_progress) {
			progress(p, pc, st.st_size, t0);
			next_progress = now_s() + 1;
		}
	}
	*elapsed = now_s() - t0;
	if (show_progress && n > 0xffff)
		fprintf(stderr, "\r%*s\r", 70, "");
	if (!stop_requested && rc == PCAP_ERROR && strstr(pcap_geterr(pc), "different from")) {
		/* libpcap 1.10 stops at a second interface with another link type or snapshot
		 * length; read the rest with our own pcapng reader. */
		rc = run_pcapng_rest(o, p, n, &n);
		*elapsed = now_s() - t0;
		return rc;
	}
	if (!stop_requested && rc == PCAP_ERROR) {
		/* libpcap stops at a record cut short: everything before it was processed. */
		mcp_warn("%s: capture truncated after %" PRIu64 " packets: %s\n", o->read_file, n,
			 pcap_geterr(pc));
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct options o;
	struct mcp_pipeline *p = NULL;
	pcap_t *pc = NULL;
	double elapsed = 0;
	int rc, err, dlt = 0;

	/* nDPI, json-c and the microcloud allocate and free per flow: keep freed heap instead of
	 * returning it to the kernel and faulting it back in (a fifth of the run time in a VM). */
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	mallopt(M_TOP_PAD, 64 << 20);
	memset(&o, 0, sizeof(o));
	mcp_pipeline_cfg_defaults(&o.pipe);
	mcp_mc_cfg_defaults(&o.redis);
	mcp_live_cfg_defaults(&o.live);
	o.pipe.redis_reload = 1;
	if (parse_args(argc, argv, &o))
		return 2;
	mcp_log_set_level(o.quiet ? MCP_LOG_ERR : o.verbose >= 2 ? MCP_LOG_DEBUG
					  : o.verbose	   ? MCP_LOG_INFO
							   : MCP_LOG_WARN);
	if (o.use_redis) {
		if (!o.redis.password && mcp_mc_parse_auth(&o.redis, NULL)) {
			mcp_err("invalid MCP_REDIS_AUTH (expected [USER:]PASSWORD)\n");
			return 2;
		}
		o.pipe.redis = &o.redis;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);

	/* Validate the input before creating outputs: no partial files on bad input. */
	if (o.read_file && !(pc = open_capture(o.read_file, &dlt)))
		return 2;
	p = mcp_pipeline_create(&o.pipe);
	if (!p) {
		if (pc)
			pcap_close(pc);
		return 1;
	}
	if (pc) {
		rc = run_offline(&o, pc, dlt, p, &elapsed);
		pcap_close(pc);
	} else {
		o.live.ifaces = o.ifaces;
		o.live.nifaces = o.nifaces;
		rc = mcp_live_run(&o.live, p, &stop_requested, &elapsed);
	}
	err = mcp_pipeline_finish(p);
	if (err) {
		mcp_err("writing records failed: %s\n", strerror(-err));
		if (!rc)
			rc = 1;
	}
	if (o.stats)
		mcp_pipeline_print_stats(p, stderr, elapsed);
	mcp_pipeline_destroy(p);
	mcp_mc_cfg_free_auth(&o.redis);
	return rc;
}
