/* mcp-aggregate.c - export the microcloud's per-IMSI application buckets as text lines.
 *
 *   mcp-aggregate --redis HOST:PORT|unix:/path | --redis-cluster H:P[,H:P]
 *                 [--redis-auth [USER:]PW] [--redis-db N] [--redis-prefix P]
 *                 [--epoch N | --all] [--outdir DIR] [--delete]
 *
 * Walks P agg.<epoch>.<IMSI> (cluster: agg.<epoch>.{<IMSI>}) with SCAN on every master
 * (never KEYS: it would block Redis) and prints
 *   # Timestamp IMSI Granularity Protocol Packets Bytes Flows Duration(sec)
 * then one line per (period, IMSI, protocol), sorted, to stdout or to DIR/mcp-agg-<epoch>.txt
 * (one file per period). --delete removes the buckets it wrote, except periods still open.
 * One option table drives getopt_long, the usage text and the parsing (as in mcp-load.c); main
 * only dispatches. Redis is reached through the public link API (microcloud/mc_link.h).
 * Key schema: docs/microcloud.md. Exit status: 0 ok, 2 usage or Redis/IO error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "util/log.h"
#include "microcloud/mc_link.h"

struct agg_row {
	uint64_t epoch;
	uint32_t period;
	char imsi[MCP_IMSI_LEN];
	char app[80];
	long long pkts, bytes, flows, dur_ms;
};

struct agg_opts {
	struct mcp_mc_cfg cfg;
	int all, del, have_endpoint;
	long long epoch;
	const char *outdir;
	const char *auth;
};

struct agg_state {
	struct agg_row *rows;
	size_t n, cap;
	char **keys;      /* buckets read (for --delete) */
	uint64_t *key_end; /* epoch + period of each */
	size_t nkeys, capkeys;
};

enum opt_kind {
	OPT_REDIS,
	OPT_CLUSTER,
	OPT_AUTH,
	OPT_DB,
	OPT_PREFIX,
	OPT_EPOCH,
	OPT_ALL,
	OPT_OUTDIR,
	OPT_DELETE
};

/* The options table: getopt_long, the usage text and parse_opt all read it. */
struct opt_desc {
	const char *name;
	const char *arg; /* NULL: a flag */
	enum opt_kind kind;
	const char *help;
};

static const struct opt_desc opt_table[] = {
	{ "redis", "HOST:PORT|unix:/path", OPT_REDIS, "the microcloud's Redis" },
	{ "redis-cluster", "H:P[,H:P...]", OPT_CLUSTER, "or its Redis Cluster (seed nodes)" },
	{ "redis-auth", "[USER:]PASSWORD", OPT_AUTH, "AUTH (default: $MCP_REDIS_AUTH)" },
	{ "redis-db", "N", OPT_DB, "SELECT N (single node)" },
	{ "redis-prefix", "P", OPT_PREFIX, "the probe's key prefix" },
	{ "epoch", "N", OPT_EPOCH, "only the period starting at N (seconds since 1970)" },
	{ "all", NULL, OPT_ALL, "every period (the default)" },
	{ "outdir", "DIR", OPT_OUTDIR, "one file per period, DIR/mcp-agg-<epoch>.txt" },
	{ "delete", NULL, OPT_DELETE, "delete the buckets written, except periods still open" },
};

#define N_OPTS (sizeof(opt_table) / sizeof(opt_table[0]))

static void usage(FILE *f)
{
	char left[64];
	size_t i;

	fprintf(f,
		"usage: mcp-aggregate --redis HOST:PORT|unix:/path | --redis-cluster H:P[,H:P...]\n"
		"                     [options]\n\noptions:\n");
	for (i = 0; i < N_OPTS; i++) {
		snprintf(left, sizeof(left), "--%s%s%s", opt_table[i].name,
			 opt_table[i].arg ? " " : "", opt_table[i].arg ? opt_table[i].arg : "");
		fprintf(f, "  %-36s %s\n", left, opt_table[i].help);
	}
	fprintf(f,
		"Prints '# Timestamp IMSI Granularity Protocol Packets Bytes Flows Duration(sec)'\n"
		"then one line per (period, IMSI, protocol).\n");
}

/* A whole non-negative decimal number. 0 or -EINVAL. */
static int parse_count(const char *s, long long *v)
{
	char *end;

	errno = 0;
	*v = strtoll(s, &end, 10);
	return errno || !*s || *end || *v < 0 ? -EINVAL : 0;
}

/* Applies one option. 0, or -EINVAL after saying what is wrong. */
static int parse_opt(struct agg_opts *o, const struct opt_desc *d, const char *arg)
{
	long long v;

	switch (d->kind) {
	case OPT_REDIS:
		if (mcp_mc_parse_endpoint(&o->cfg, arg)) {
			mcp_err("invalid --redis '%s' (HOST:PORT or unix:/path)\n", arg);
			return -EINVAL;
		}
		o->have_endpoint = 1;
		break;
	case OPT_CLUSTER:
		o->cfg.cluster_seeds = arg;
		o->have_endpoint = 1;
		break;
	case OPT_AUTH:
		o->auth = arg;
		break;
	case OPT_DB:
		if (parse_count(arg, &v) || v > INT_MAX) {
			mcp_err("invalid --redis-db '%s'\n", arg);
			return -EINVAL;
		}
		o->cfg.db = (int)v;
		break;
	case OPT_PREFIX:
		o->cfg.prefix = arg;
		break;
	case OPT_EPOCH:
		if (parse_count(arg, &o->epoch)) {
			mcp_err("invalid --epoch '%s' (seconds since 1970)\n", arg);
			return -EINVAL;
		}
		break;
	case OPT_ALL:
		o->all = 1;
		break;
	case OPT_OUTDIR:
		o->outdir = arg;
		break;
	case OPT_DELETE:
		o->del = 1;
		break;
	}
	return 0;
}

/* Checks what the options say together. 0, or -EINVAL after saying what is wrong. */
static int check_opts(const struct agg_opts *o)
{
	struct stat sb;

	if (!o->have_endpoint) {
		mcp_err("--redis or --redis-cluster is required\n");
		usage(stderr);
		return -EINVAL;
	}
	if (o->all && o->epoch >= 0) {
		mcp_err("--epoch and --all exclude each other\n");
		usage(stderr);
		return -EINVAL;
	}
	if (o->outdir && (stat(o->outdir, &sb) || !S_ISDIR(sb.st_mode))) {
		mcp_err("--outdir %s: not a directory\n", o->outdir);
		return -ENOTDIR;
	}
	return 0;
}

/* Parses argv into o. 0, 1 after --help, or -EINVAL (said why; usage on stderr if unknown). */
static int parse_args(int argc, char **argv, struct agg_opts *o)
{
	struct option lo[N_OPTS + 2];
	size_t i;
	int c;

	memset(lo, 0, sizeof(lo));
	for (i = 0; i < N_OPTS; i++) {
		lo[i].name = opt_table[i].name;
		lo[i].has_arg = opt_table[i].arg ? required_argument : no_argument;
		lo[i].val = 0x100 + (int)i;
	}
	lo[N_OPTS].name = "help";
	lo[N_OPTS].val = 'h';
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 1;
		}
		if (c < 0x100 || c >= 0x100 + (int)N_OPTS) {
			usage(stderr);
			return -EINVAL;
		}
		if (parse_opt(o, &opt_table[c - 0x100], optarg))
			return -EINVAL;
	}
	if (optind < argc) {
		mcp_err("unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return -EINVAL;
	}
	return check_opts(o);
}

static int row_cmp(const void *a, const void *b)
{
	const struct agg_row *x = a, *y = b;
	int c;

	if (x->epoch != y->epoch)
		return x->epoch < y->epoch ? -1 : 1;
	c = strcmp(x->imsi, y->imsi);
	return c ? c : strcmp(x->app, y->app);
}

static struct agg_row *row_get(struct agg_state *s, uint64_t epoch, const char *imsi,
			       const char *app, size_t app_len, size_t first)
{
	struct agg_row *r;
	size_t i;

	/* rows of one bucket are contiguous from first: a short linear search */
	for (i = first; i < s->n; i++)
		if (strlen(s->rows[i].app) == app_len && !memcmp(s->rows[i].app, app, app_len))
			return &s->rows[i];
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		struct agg_row *nr = realloc(s->rows, cap * sizeof(*nr));

		if (!nr)
			return NULL;
		s->rows = nr;
		s->cap = cap;
	}
	r = &s->rows[s->n++];
	memset(r, 0, sizeof(*r));
	r->epoch = epoch;
	snprintf(r->imsi, sizeof(r->imsi), "%s", imsi);
	snprintf(r->app, sizeof(r->app), "%.*s", (int)app_len, app);
	return r;
}

static int read_bucket(struct mcp_mc_link *l, struct agg_state *s, const char *prefix,
		       const char *key)
{
	const char *argv[2] = { "HGETALL", key };
	size_t len[2] = { 7, strlen(key) }, i, first = s->n;
	char imsi[MCP_IMSI_LEN];
	uint32_t period = 300;
	uint64_t epoch;
	redisReply *r;

	if (mcp_mc_agg_key_parse(prefix, key, &epoch, imsi, sizeof(imsi)))
		return 0; /* not a bucket of ours */
	r = mcp_mc_link_cmd(l, key, len[1], 2, argv, len);
	if (!r || r->type != REDIS_REPLY_ARRAY) {
		mcp_err("HGETALL %s: %s\n", key, r && r->type == REDIS_REPLY_ERROR ? r->str :
									      "no reply");
		if (r)
			freeReplyObject(r);
		return -EIO;
	}
	for (i = 0; i + 1 < r->elements; i += 2)
		if (r->element[i]->type == REDIS_REPLY_STRING &&
		    !strcmp(r->element[i]->str, "period"))
			period = (uint32_t)strtoul(r->element[i + 1]->str, NULL, 10);
	for (i = 0; i + 1 < r->elements; i += 2) {
		const redisReply *f = r->element[i], *v = r->element[i + 1];
		const char *dot;
		struct agg_row *row;
		long long val;

		if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
			continue;
		/* "<app>.<what>": app names may hold dots, so split at the last one */
		dot = strrchr(f->str, '.');
		if (!dot || dot == f->str)
			continue;
		row = row_get(s, epoch, imsi, f->str, (size_t)(dot - f->str), first);
		if (!row) {
			freeReplyObject(r);
			return -ENOMEM;
		}
		row->period = period;
		val = strtoll(v->str, NULL, 10);
		if (!strcmp(dot, ".pkts"))
			row->pkts += val;
		else if (!strcmp(dot, ".bytes"))
			row->bytes += val;
		else if (!strcmp(dot, ".flows"))
			row->flows += val;
		else if (!strcmp(dot, ".duration_ms"))
			row->dur_ms += val;
	}
	freeReplyObject(r);
	if (s->nkeys == s->capkeys) {
		size_t cap = s->capkeys ? s->capkeys * 2 : 1024;
		char **nk = realloc(s->keys, cap * sizeof(*nk));
		uint64_t *ne = realloc(s->key_end, cap * sizeof(*ne));

		if (nk)
			s->keys = nk;
		if (ne)
			s->key_end = ne;
		if (!nk || !ne)
			return -ENOMEM;
		s->capkeys = cap;
	}
	s->keys[s->nkeys] = strdup(key);
	s->key_end[s->nkeys] = epoch + period;
	if (!s->keys[s->nkeys])
		return -ENOMEM;
	s->nkeys++;
	return 0;
}

static int scan_all(struct mcp_mc_link *l, struct agg_state *s, const char *prefix,
		    const char *pattern)
{
	int nodes[MCP_MC_MAX_NODES], nn, i, err = 0;

	nn = mcp_mc_link_masters(l, nodes, MCP_MC_MAX_NODES);
	if (nn == 0)
		return -ENOTCONN;
	for (i = 0; i < nn && !err; i++) {
		char cursor[32] = "0";

		do {
			const char *argv[6] = { "SCAN", cursor, "MATCH", pattern, "COUNT", "1000" };
			size_t len[6], j;
			redisReply *r;
			int k;

			for (k = 0; k < 6; k++)
				len[k] = strlen(argv[k]);
			r = mcp_mc_link_cmd_node(l, nodes[i], 6, argv, len);
			if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
				mcp_err("SCAN failed: %s\n", r && r->type == REDIS_REPLY_ERROR ?
								     r->str : "no reply");
				if (r)
					freeReplyObject(r);
				return -EIO;
			}
			snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
			for (j = 0; j < r->element[1]->elements && !err; j++)
				err = read_bucket(l, s, prefix, r->element[1]->element[j]->str);
			freeReplyObject(r);
		} while (!err && strcmp(cursor, "0"));
	}
	return err;
}

static void print_row(FILE *f, const struct agg_row *r)
{
	fprintf(f, "%" PRIu64 " %s %u %s %lld %lld %lld %.3f\n", r->epoch, r->imsi, r->period,
		r->app, r->pkts, r->bytes, r->flows, (double)r->dur_ms / 1000.0);
}

static const char header[] =
	"# Timestamp IMSI Granularity Protocol Packets Bytes Flows Duration(sec)\n";

static int write_out(const struct agg_opts *o, struct agg_state *s)
{
	FILE *f = NULL;
	uint64_t cur = UINT64_MAX;
	char path[4096];
	size_t i;

	if (!o->outdir) {
		fputs(header, stdout);
		for (i = 0; i < s->n; i++)
			print_row(stdout, &s->rows[i]);
		return fflush(stdout) ? -EIO : 0;
	}
	for (i = 0; i < s->n; i++) {
		if (s->rows[i].epoch != cur) {
			if (f && fclose(f))
				return -EIO;
			cur = s->rows[i].epoch;
			snprintf(path, sizeof(path), "%s/mcp-agg-%" PRIu64 ".txt", o->outdir, cur);
			f = fopen(path, "w");
			if (!f) {
				int err = -errno;

				mcp_err("cannot write %s: %s\n", path, strerror(-err));
				return err;
			}
			fputs(header, f);
		}
		print_row(f, &s->rows[i]);
	}
	if (f && fclose(f))
		return -EIO;
	return 0;
}

static int delete_written(struct mcp_mc_link *l, struct agg_state *s)
{
	uint64_t now = (uint64_t)time(NULL);
	size_t i, kept = 0;

	for (i = 0; i < s->nkeys; i++) {
		const char *argv[2] = { "DEL", s->keys[i] };
		size_t len[2] = { 3, strlen(s->keys[i]) };
		redisReply *r;

		if (s->key_end[i] > now) {
			kept++; /* the period is still open: the probe keeps adding to it */
			continue;
		}
		r = mcp_mc_link_cmd(l, s->keys[i], len[1], 2, argv, len);
		if (!r || r->type == REDIS_REPLY_ERROR) {
			mcp_err("DEL %s failed\n", s->keys[i]);
			if (r)
				freeReplyObject(r);
			return -EIO;
		}
		freeReplyObject(r);
	}
	if (kept)
		mcp_warn("%zu buckets of open periods kept (not deleted)\n", kept);
	return 0;
}

/* One clear line for a link that could not be opened. */
static void report_connect(const struct mcp_mc_cfg *c, int err)
{
	if (c->cluster_seeds)
		mcp_err("cannot reach Redis Cluster %s: %s\n", c->cluster_seeds, strerror(-err));
	else if (c->unix_path)
		mcp_err("cannot connect to Redis at unix:%s: %s\n", c->unix_path, strerror(-err));
	else
		mcp_err("cannot connect to Redis at %s:%d: %s\n", c->host, c->port,
			err == -EACCES ? "authentication refused" : strerror(-err));
}

/* Reads the buckets, writes them out, and deletes them if asked. 0 or -errno (said). */
static int do_aggregate(const struct agg_opts *o, struct mcp_mc_link *l, struct agg_state *s,
			const char *pattern)
{
	int err = mcp_mc_link_open(l);

	if (err) {
		report_connect(&o->cfg, err);
		return err;
	}
	err = scan_all(l, s, o->cfg.prefix, pattern);
	if (err) {
		mcp_err("reading the buckets failed: %s\n", strerror(-err));
		return err;
	}
	qsort(s->rows, s->n, sizeof(*s->rows), row_cmp);
	err = write_out(o, s);
	if (!err && o->del)
		err = delete_written(l, s);
	return err;
}

static void state_free(struct agg_state *s)
{
	size_t i;

	for (i = 0; i < s->nkeys; i++)
		free(s->keys[i]);
	free(s->keys);
	free(s->key_end);
	free(s->rows);
}

int main(int argc, char **argv)
{
	struct agg_opts o = { .epoch = -1 };
	struct agg_state s = { 0 };
	char pattern[512];
	struct mcp_mc_link *l = NULL;
	int err, ret = 2;

	mcp_mc_cfg_defaults(&o.cfg);
	err = parse_args(argc, argv, &o);
	if (err)
		return err > 0 ? 0 : 2;
	if (mcp_mc_parse_auth(&o.cfg, o.auth)) {
		mcp_err("invalid --redis-auth (expected [USER:]PASSWORD)\n");
		return 2;
	}
	if (mcp_mc_agg_pattern(o.cfg.prefix, o.epoch, pattern, sizeof(pattern)) < 0) {
		mcp_err("--redis-prefix too long\n");
		goto out;
	}
	l = mcp_mc_link_create(&o.cfg, 5000);
	if (!l) {
		mcp_err("out of memory\n");
		goto out;
	}
	if (!do_aggregate(&o, l, &s, pattern))
		ret = 0;
out:
	mcp_mc_link_destroy(l);
	state_free(&s);
	mcp_mc_cfg_free_auth(&o.cfg);
	return ret;
}
