/* options.c - mcprobe's option table (options.h). Each row names the option, its value, where
 * the value goes and its help line; getopt_long's array and the usage text are built from the
 * rows, so the four lists that used to be kept in step (enum, long options, usage, switch)
 * are one.
 */
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/options.h"
#include "util/cpu_pin.h"
#include "util/log.h"
#include "xdp/xsk_socket.h"

enum opt_kind {
	K_SECTION, /* a heading in the usage text, not an option */
	K_FLAG,    /* int set to 1 */
	K_COUNT,   /* int incremented */
	K_CLEAR,   /* int set to 0 (--no-...) */
	K_STR,     /* const char * kept as given */
	K_U32,     /* uint32_t in [min, max] */
	K_MS,      /* seconds in [min, max] stored as uint32_t milliseconds */
	K_FN,      /* its own parser */
};

struct opt_row;
typedef int (*opt_fn)(struct mcp_options *o, const char *arg);

struct opt_row {
	const char *name;  /* long name; heading text for K_SECTION */
	char short_name;   /* 0: none */
	const char *arg;   /* value name in the usage; NULL: no value; "[=S]": optional */
	enum opt_kind kind;
	size_t off;        /* into struct mcp_options */
	uint32_t min, max; /* K_U32, K_MS */
	opt_fn fn;         /* K_FN */
	const char *help;  /* '\n' continues on the next usage line */
};

#define OFF(f) offsetof(struct mcp_options, f)
#define SECTION(title) { title, 0, NULL, K_SECTION, 0, 0, 0, NULL, NULL }
#define WEEK_S (86400u * 7)

static int opt_iface(struct mcp_options *o, const char *arg);
static int opt_redis(struct mcp_options *o, const char *arg);
static int opt_redis_cluster(struct mcp_options *o, const char *arg);
static int opt_redis_auth(struct mcp_options *o, const char *arg);
static int opt_redis_auth_file(struct mcp_options *o, const char *arg);
static int opt_redis_db(struct mcp_options *o, const char *arg);
static int opt_imsi_agg(struct mcp_options *o, const char *arg);
static int opt_xsk_frames(struct mcp_options *o, const char *arg);
static int opt_mode(struct mcp_options *o, const char *arg);
static int opt_helper_cpus(struct mcp_options *o, const char *arg);
static int opt_ipfix(struct mcp_options *o, const char *arg);
static int opt_rotate_size(struct mcp_options *o, const char *arg);
static int opt_resp_listen(struct mcp_options *o, const char *arg);
static int opt_netflow9(struct mcp_options *o, const char *arg);

static const struct opt_row rows[] = {
	SECTION("Input"),
	{ "read", 'r', "FILE", K_STR, OFF(read_file), 0, 0, NULL,
	  "read a pcap or pcapng file, FIFO or '-' (streamed)" },
	{ "interface", 'i', "IFACE", K_FN, 0, 0, 0, opt_iface,
	  "capture live with XDP + AF_XDP (repeatable)" },
	{ "workers", 0, "N", K_U32, OFF(live.workers), 1, 64, NULL,
	  "worker threads (default 1): N shards that own\n"
	  "disjoint subscribers, fed by the reader (-r) or\n"
	  "by the thread that polls the sockets (-i)" },
	{ "shard-threads", 0, "N", K_U32, OFF(pipe.shard_threads), 1, 64, NULL,
	  "threads that run the shards (default: one per\n"
	  "shard, at most the CPUs usable less one; a thread\n"
	  "runs its shards by turns)" },
	{ "xsk-frames", 0, "N", K_FN, 0, 0, 0, opt_xsk_frames,
	  "live: 2 KiB UMEM frames per queue, a power of two\n"
	  "(default 256 MiB per interface split over its\n"
	  "queues, 16384-65536 each; the RX ring holds N/2)" },
	{ "mode", 0, "native|skb", K_FN, 0, 0, 0, opt_mode,
	  "live: XDP attach mode (default native, falls back to skb)" },
	{ "inline", 0, NULL, K_FLAG, OFF(live.inline_mode), 0, 0, NULL,
	  "live: every frame goes on to the stack, the probe reads\n"
	  "copies (default: mirror port, frames dropped)" },
	{ "no-bypass", 0, NULL, K_FLAG, OFF(live.no_bypass), 0, 0, NULL,
	  "live: send every packet to userspace (no kernel flow bypass)" },
	SECTION("Output"),
	{ "flows-json", 0, "PATH", K_STR, OFF(pipe.flows_json), 0, 0, NULL,
	  "one JSON flow record per line ('-' = stdout)" },
	{ "flows-rotate-size", 0, "N[k|M|G]", K_FN, 0, 0, 0, opt_rotate_size,
	  "start a new --flows-json file after N bytes" },
	{ "flows-rotate-time", 0, "S", K_U32, OFF(pipe.flows_rotate_s), 1, WEEK_S, NULL,
	  "start a new --flows-json file every S seconds\n"
	  "(old: PATH.<UTC time>; SIGHUP reopens PATH)" },
	{ "sessions-json", 0, "PATH", K_STR, OFF(pipe.sessions_json), 0, 0, NULL,
	  "one JSON line per subscriber change, final dump at exit" },
	{ "ipfix", 0, "HOST:PORT[/udp|/tcp]", K_FN, 0, 0, 0, opt_ipfix,
	  "export flow records over IPFIX (repeatable)" },
	{ "netflow9", 0, "HOST:PORT", K_FN, 0, 0, 0, opt_netflow9,
	  "export flow records over NetFlow v9 / UDP (repeatable)" },
	{ "ipfix-uniflow", 0, NULL, K_FLAG, OFF(pipe.ipfix.uniflow), 0, 0, NULL,
	  "IPFIX/v9: two uniflow records per flow, not one biflow" },
	{ "ipfix-backlog", 0, "N", K_U32, OFF(pipe.ipfix.backlog), 1, 1000000, NULL,
	  "IPFIX/v9: messages queued per collector (default 4096)" },
	{ "stats", 0, NULL, K_FLAG, OFF(stats), 0, 0, NULL, "print a summary at the end (stderr)" },
	SECTION("Flows"),
	{ "idle-timeout", 0, "S", K_MS, OFF(pipe.worker.idle_timeout_ms), 1, WEEK_S, NULL,
	  "export flows idle for S seconds (default 30)" },
	{ "active-timeout", 0, "S", K_MS, OFF(pipe.worker.active_timeout_ms), 1, WEEK_S, NULL,
	  "export long flows every S seconds (default 120)" },
	{ "max-flows", 0, "N", K_U32, OFF(pipe.worker.max_flows), 1, 100000000, NULL,
	  "flow table bound (default 1000000)" },
	{ "max-frags", 0, "N", K_U32, OFF(pipe.decoder.max_frags), 1, 1000000, NULL,
	  "IP datagrams under reassembly (default 4096)" },
	{ "no-dpi", 0, NULL, K_CLEAR, OFF(pipe.worker.dpi), 0, 0, NULL, "skip nDPI classification" },
	SECTION("Subscribers"),
	{ "max-subscribers", 0, "N", K_U32, OFF(pipe.sessions.max_subscribers), 1, 50000000, NULL,
	  "session table bound (default 1000000)" },
	{ "delete-grace", 0, "S", K_MS, OFF(pipe.sessions.delete_grace_ms), 0, WEEK_S, NULL,
	  "deleted sessions stay resolvable S seconds (default 60)" },
	{ "handover-grace", 0, "S", K_MS, OFF(pipe.sessions.handover_grace_ms), 0, WEEK_S, NULL,
	  "replaced tunnels stay resolvable S seconds (default 5)" },
	SECTION("Microcloud (Redis)"),
	{ "redis", 0, "HOST:PORT|unix:/path", K_FN, 0, 0, 0, opt_redis,
	  "write facts, counters, aggregates and events" },
	{ "redis-cluster", 0, "H:P[,H:P...]", K_FN, 0, 0, 0, opt_redis_cluster, "Redis Cluster seeds" },
	{ "redis-auth", 0, "[USER:]PASSWORD", K_FN, 0, 0, 0, opt_redis_auth,
	  "visible in the process list: prefer MCP_REDIS_AUTH\n"
	  "or --redis-auth-file" },
	{ "redis-auth-file", 0, "PATH", K_FN, 0, 0, 0, opt_redis_auth_file,
	  "read [USER:]PASSWORD from the first line of PATH" },
	{ "redis-db", 0, "N", K_FN, 0, 0, 0, opt_redis_db, "database number" },
	{ "redis-prefix", 0, "P", K_STR, OFF(redis.prefix), 0, 0, NULL, "key prefix (default none)" },
	{ "imsi-aggregation", 0, "[=S]", K_FN, 0, 0, 0, opt_imsi_agg,
	  "per-IMSI application buckets of S s (default 300)" },
	{ "aggregation-retention", 0, "S", K_U32, OFF(redis.agg_retention_s), 1, 86400 * 366, NULL,
	  "bucket lifetime (default 86400)" },
	{ "probe-name", 0, "NAME", K_STR, OFF(redis.probe_name), 0, 0, NULL,
	  "name written in facts and events (default hostname)" },
	{ "no-reload", 0, NULL, K_CLEAR, OFF(pipe.redis_reload), 0, 0, NULL,
	  "do not restore sessions from Redis at start" },
	{ "no-peer-lookup", 0, NULL, K_CLEAR, OFF(pipe.redis_peers), 0, 0, NULL,
	  "do not learn other probes' tunnels while running\n"
	  "(events and teid.* lookups)" },
	SECTION("Live view (Redis protocol, read-only)"),
	{ "resp-listen", 0, "[ADDR:]PORT", K_FN, 0, 0, 0, opt_resp_listen,
	  "serve imsi.*, flow.*, host.*, stats (default 127.0.0.1)" },
	{ "resp-auth", 0, "PASSWORD", K_STR, OFF(resp.password), 0, 0, NULL,
	  "require AUTH (needed to bind a non-loopback address)" },
	{ "resp-max-clients", 0, "N", K_U32, OFF(resp.max_clients), 1, 1000000, NULL,
	  "connections at once (default 10000)" },
	{ "resp-idle-timeout", 0, "S", K_U32, OFF(resp.idle_timeout_s), 1, WEEK_S, NULL,
	  "close a client silent for S seconds (default 300)" },
	SECTION("Other"),
	{ "helper-cpus", 0, "LIST", K_FN, 0, 0, 0, opt_helper_cpus,
	  "run helper threads (Redis writer, live control) on\n"
	  "these CPUs, e.g. 0 or 0,2-3 (pin packet threads with\n"
	  "taskset)" },
	{ "verbose", 'v', NULL, K_COUNT, OFF(verbose), 0, 0, NULL, "more messages (repeatable)" },
	{ "quiet", 'q', NULL, K_FLAG, OFF(quiet), 0, 0, NULL, "errors only" },
	{ "help", 'h', NULL, K_FLAG, OFF(help), 0, 0, NULL, "this text" },
	{ "version", 0, NULL, K_FLAG, OFF(version), 0, 0, NULL, "version" },
};

#define N_ROWS (sizeof(rows) / sizeof(rows[0]))
#define HELP_COL 30

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

static int opt_iface(struct mcp_options *o, const char *arg)
{
	if (o->nifaces >= MCP_MAX_IFACES) {
		mcp_err("at most %d interfaces\n", MCP_MAX_IFACES);
		return -EINVAL;
	}
	o->ifaces[o->nifaces++] = arg;
	return 0;
}

static int opt_redis(struct mcp_options *o, const char *arg)
{
	if (mcp_mc_parse_endpoint(&o->redis, arg)) {
		mcp_err("invalid --redis '%s' (expected HOST:PORT or unix:/path)\n", arg);
		return -EINVAL;
	}
	o->use_redis = 1;
	return 0;
}

static int opt_redis_cluster(struct mcp_options *o, const char *arg)
{
	o->redis.cluster_seeds = arg;
	o->use_redis = 1;
	return 0;
}

static int opt_redis_auth(struct mcp_options *o, const char *arg)
{
	if (mcp_mc_parse_auth(&o->redis, arg)) {
		mcp_err("invalid --redis-auth (expected [USER:]PASSWORD)\n");
		return -EINVAL;
	}
	return 0;
}

/* The secret stays out of /proc/PID/cmdline: only the file's name is on the command line. */
static int opt_redis_auth_file(struct mcp_options *o, const char *arg)
{
	char line[1024];
	struct stat st;
	size_t n;
	FILE *f = fopen(arg, "r");
	int err = 0;

	if (!f) {
		mcp_err("--redis-auth-file %s: %s\n", arg, strerror(errno));
		return -EINVAL;
	}
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	if (!fstat(fileno(f), &st) && (st.st_mode & 0077))
		mcp_warn("--redis-auth-file %s: readable by group or others (chmod 600)\n", arg);
	fclose(f);
	if (!n || mcp_mc_parse_auth(&o->redis, line)) {
		mcp_err("--redis-auth-file %s: expected [USER:]PASSWORD on the first line\n", arg);
		err = -EINVAL;
	}
	explicit_bzero(line, sizeof(line));
	return err;
}

static int opt_redis_db(struct mcp_options *o, const char *arg)
{
	uint32_t v;

	if (parse_u32("--redis-db", arg, 0, 1000000, &v))
		return -EINVAL;
	o->redis.db = (int)v;
	return 0;
}

/* "--imsi-aggregation", "--imsi-aggregation=60" and "--imsi-aggregation 60" alike. */
static int opt_imsi_agg(struct mcp_options *o, const char *arg)
{
	o->redis.agg_period_s = 300;
	return arg ? parse_u32("--imsi-aggregation", arg, 1, 86400, &o->redis.agg_period_s) : 0;
}

static int opt_xsk_frames(struct mcp_options *o, const char *arg)
{
	if (parse_u32("--xsk-frames", arg, MCP_XSK_MIN_FRAMES, MCP_XSK_MAX_FRAMES,
		      &o->live.xsk_frames))
		return -EINVAL;
	if (!mcp_xsk_frames_ok(o->live.xsk_frames)) {
		mcp_err("--xsk-frames %u: must be a power of two\n", o->live.xsk_frames);
		return -EINVAL;
	}
	return 0;
}

static int opt_mode(struct mcp_options *o, const char *arg)
{
	if (strcmp(arg, "native") && strcmp(arg, "skb")) {
		mcp_err("invalid --mode '%s' (expected native or skb)\n", arg);
		return -EINVAL;
	}
	o->live.skb_mode = !strcmp(arg, "skb");
	return 0;
}

static int opt_helper_cpus(struct mcp_options *o, const char *arg)
{
	return mcp_helper_cpus_set(arg) ? -EINVAL : 0;
}

/* Syntax only (HOST:PORT[/udp|/tcp]); the address is resolved when the exporter starts. */
static int add_collector(struct mcp_options *o, const char *opt, const char *arg, int version)
{
	struct mcp_ipfix_cfg *c = &o->pipe.ipfix;
	const char *slash = strchr(arg, '/'), *colon = strrchr(arg, ':');
	int proto_ok = !slash || !strcmp(slash, "/udp") || (version == 10 && !strcmp(slash, "/tcp"));

	if (!colon || colon == arg || (slash && colon > slash) || !proto_ok ||
	    strtoul(colon + 1, NULL, 10) - 1 > 65534) {
		mcp_err("invalid %s '%s' (expected HOST:PORT%s)\n", opt, arg,
			version == 10 ? "[/udp|/tcp]" : "");
		return -EINVAL;
	}
	if (c->n >= MCP_IPFIX_MAX_COLLECTORS) {
		mcp_err("at most %d IPFIX / NetFlow collectors\n", MCP_IPFIX_MAX_COLLECTORS);
		return -EINVAL;
	}
	c->spec[c->n] = arg;
	c->version[c->n++] = (uint8_t)version;
	return 0;
}

/* [ADDR:]PORT, [V6]:PORT; a non-loopback address needs --resp-auth (checked after parsing). */
static int opt_resp_listen(struct mcp_options *o, const char *arg)
{
	const char *colon = strrchr(arg, ':'), *port = colon ? colon + 1 : arg;
	size_t alen = colon ? (size_t)(colon - arg) : 0;
	uint32_t v;

	if (alen >= 2 && arg[0] == '[' && arg[alen - 1] == ']')
		arg++, alen -= 2;
	if (alen >= sizeof(o->resp_addr) || parse_u32("--resp-listen", port, 1, 65535, &v))
		return -EINVAL;
	memcpy(o->resp_addr, arg, alen);
	o->resp_addr[alen] = 0;
	o->resp.addr = alen ? o->resp_addr : "127.0.0.1";
	o->resp.port = (uint16_t)v;
	o->use_resp = 1;
	return 0;
}

/* Bytes with an optional binary suffix: 1 byte to 1 TiB. */
static int opt_rotate_size(struct mcp_options *o, const char *arg)
{
	const char *units = "kMG";
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (*end && end[1] == 0 && strchr(units, *end))
		v <<= 10 * (strchr(units, *end) - units + 1), end++;
	if (errno || end == arg || *end || *arg == '-' || !v || v > (1ULL << 40)) {
		mcp_err("invalid --flows-rotate-size '%s' (bytes, suffix k, M or G, at most 1T)\n",
			arg);
		return -EINVAL;
	}
	o->pipe.flows_rotate_bytes = v;
	return 0;
}

static int opt_ipfix(struct mcp_options *o, const char *arg)
{
	return add_collector(o, "--ipfix", arg, 10);
}

static int opt_netflow9(struct mcp_options *o, const char *arg)
{
	return add_collector(o, "--netflow9", arg, 9);
}

static int apply_row(const struct opt_row *r, struct mcp_options *o, const char *arg)
{
	char *field = (char *)o + r->off;
	char opt[64];
	uint32_t s;

	snprintf(opt, sizeof(opt), "--%s", r->name);
	switch (r->kind) {
	case K_FLAG:
		*(int *)field = 1;
		return 0;
	case K_COUNT:
		(*(int *)field)++;
		return 0;
	case K_CLEAR:
		*(int *)field = 0;
		return 0;
	case K_STR:
		*(const char **)field = arg;
		return 0;
	case K_U32:
		return parse_u32(opt, arg, r->min, r->max, (uint32_t *)field);
	case K_MS:
		if (parse_u32(opt, arg, r->min, r->max, &s))
			return -EINVAL;
		*(uint32_t *)field = s * 1000;
		return 0;
	case K_FN:
		return r->fn(o, arg);
	case K_SECTION:
		break;
	}
	return -EINVAL;
}

static int has_optional_value(const struct opt_row *r)
{
	return r->arg && !strncmp(r->arg, "[=", 2);
}

/* getopt_long's view of the table; val is the row index + 256, or the short letter. */
static void build_getopt(struct option *lo, char *shorts)
{
	size_t n = 0, ns = 0;

	shorts[ns++] = ':';
	for (size_t i = 0; i < N_ROWS; i++) {
		const struct opt_row *r = &rows[i];

		if (r->kind == K_SECTION)
			continue;
		lo[n].name = r->name;
		lo[n].has_arg = !r->arg ? no_argument
					: has_optional_value(r) ? optional_argument : required_argument;
		lo[n].flag = NULL;
		lo[n].val = r->short_name ? r->short_name : (int)(256 + i);
		n++;
		if (r->short_name) {
			shorts[ns++] = r->short_name;
			if (r->arg)
				shorts[ns++] = ':';
		}
	}
	memset(&lo[n], 0, sizeof(lo[n]));
	shorts[ns] = '\0';
}

static const struct opt_row *row_of(int c)
{
	if (c >= 256 && (size_t)(c - 256) < N_ROWS)
		return &rows[c - 256];
	for (size_t i = 0; i < N_ROWS; i++)
		if (rows[i].kind != K_SECTION && rows[i].short_name == c)
			return &rows[i];
	return NULL;
}

/* An optional value may also be the next word when it is a number ("--imsi-aggregation 60"). */
static const char *optional_value(int argc, char **argv)
{
	if (optarg)
		return optarg;
	if (optind < argc && argv[optind][0] >= '0' && argv[optind][0] <= '9')
		return argv[optind++];
	return NULL;
}

static void defaults(struct mcp_options *o)
{
	memset(o, 0, sizeof(*o));
	mcp_pipeline_cfg_defaults(&o->pipe);
	mcp_mc_cfg_defaults(&o->redis);
	mcp_live_cfg_defaults(&o->live);
	o->pipe.redis_reload = 1;
	o->pipe.redis_peers = 1;
}

static int check_inputs(const struct mcp_options *o, int argc, char **argv)
{
	if (o->help || o->version)
		return 0;
	if (optind < argc) {
		mcp_err("unexpected argument '%s' (see --help)\n", argv[optind]);
		return -EINVAL;
	}
	if (!!o->read_file + !!o->nifaces != 1) {
		mcp_err("give exactly one input: -r FILE or -i IFACE (see --help)\n");
		return -EINVAL;
	}
	if (o->use_resp && !o->resp.password && strcmp(o->resp.addr, "127.0.0.1") &&
	    strcmp(o->resp.addr, "::1")) {
		mcp_err("--resp-listen on %s needs --resp-auth (only loopback may go without)\n",
			o->resp.addr);
		return -EINVAL;
	}
	return 0;
}

int mcp_options_parse(int argc, char **argv, struct mcp_options *o)
{
	struct option lo[N_ROWS + 1];
	char shorts[2 * N_ROWS + 2];
	int c;

	defaults(o);
	build_getopt(lo, shorts);
	opterr = 0;
	while ((c = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
		const struct opt_row *r = row_of(c);

		if (c == ':') {
			mcp_err("option '%s' needs a value (see --help)\n", argv[optind - 1]);
			return -EINVAL;
		}
		if (!r) {
			mcp_err("unknown option '%s' (see --help)\n", argv[optind - 1]);
			return -EINVAL;
		}
		if (apply_row(r, o, has_optional_value(r) ? optional_value(argc, argv) : optarg))
			return -EINVAL;
	}
	o->pipe.shards = o->live.workers; /* the pipeline's shards, -r and -i alike */
	o->pipe.shard_by_sub_id = !o->read_file; /* live: the shard XDP names (mcp_meta.h) */
	return check_inputs(o, argc, argv);
}

static void usage_row(FILE *f, const struct opt_row *r)
{
	char left[64];
	const char *h = r->help, *nl;
	int n;

	n = snprintf(left, sizeof(left), "  %c%c%s--%s%s%s", r->short_name ? '-' : ' ',
		     r->short_name ? r->short_name : ' ', r->short_name ? ", " : "  ", r->name,
		     r->arg && !has_optional_value(r) ? " " : "", r->arg ? r->arg : "");
	fprintf(f, "%s", left);
	if (n >= HELP_COL - 1)
		fprintf(f, "\n%*s", HELP_COL, "");
	else
		fprintf(f, "%*s", HELP_COL - n, "");
	while ((nl = strchr(h, '\n'))) {
		fprintf(f, "%.*s\n%*s", (int)(nl - h), h, HELP_COL, "");
		h = nl + 1;
	}
	fprintf(f, "%s\n", h);
}

void mcp_options_usage(FILE *f)
{
	fprintf(f, "Usage: mcprobe -r FILE [options]\n"
		   "       mcprobe -i IFACE [-i IFACE2] [options]\n"
		   "Subscriber-aware GTP probe: packets -> flows -> nDPI -> flow records.\n");
	for (size_t i = 0; i < N_ROWS; i++) {
		if (rows[i].kind == K_SECTION)
			fprintf(f, "%s%s:\n", i ? "" : "\n", rows[i].name);
		else
			usage_row(f, &rows[i]);
	}
}
