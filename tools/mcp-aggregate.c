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
 * Key schema: docs/microcloud.md. Exit status: 0 ok, 2 usage or Redis/IO error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "util/log.h"
#include "microcloud/mc_internal.h"

struct agg_row {
	uint64_t epoch;
	uint32_t period;
	char imsi[MCP_IMSI_LEN];
	char app[80];
	long long pkts, bytes, flows, dur_ms;
};

struct agg_opts {
	struct mcp_mc_cfg cfg;
	int all, del;
	long long epoch;
	const char *outdir;
};

struct agg_state {
	struct agg_row *rows;
	size_t n, cap;
	char **keys;      /* buckets read (for --delete) */
	uint64_t *key_end; /* epoch + period of each */
	size_t nkeys, capkeys;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mcp-aggregate --redis HOST:PORT|unix:/path | --redis-cluster H:P[,H:P...]\n"
		"                     [--redis-auth [USER:]PASSWORD] [--redis-db N]\n"
		"                     [--redis-prefix P] [--epoch N | --all] [--outdir DIR] [--delete]\n"
		"Prints '# Timestamp IMSI Granularity Protocol Packets Bytes Flows Duration(sec)'\n"
		"then one line per (period, IMSI, protocol). MCP_REDIS_AUTH is read when\n"
		"--redis-auth is absent.\n");
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

/* Parses "<prefix>agg.<epoch>.<IMSI>" or "...{<IMSI>}". 0 or -EINVAL. */
static int parse_key(const char *prefix, const char *key, uint64_t *epoch, char *imsi)
{
	size_t pl = strlen(prefix), n;
	const char *p;
	char *end;

	if (strncmp(key, prefix, pl) || strncmp(key + pl, "agg.", 4))
		return -EINVAL;
	p = key + pl + 4;
	*epoch = strtoull(p, &end, 10);
	if (end == p || *end != '.')
		return -EINVAL;
	p = end + 1;
	if (*p == '{')
		p++;
	n = strcspn(p, "}");
	if (n == 0 || n >= MCP_IMSI_LEN)
		return -EINVAL;
	memcpy(imsi, p, n);
	imsi[n] = 0;
	return 0;
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

	if (parse_key(prefix, key, &epoch, imsi))
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

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "redis", required_argument, NULL, 'r' },
		{ "redis-cluster", required_argument, NULL, 'c' },
		{ "redis-auth", required_argument, NULL, 'a' },
		{ "redis-db", required_argument, NULL, 'd' },
		{ "redis-prefix", required_argument, NULL, 'p' },
		{ "epoch", required_argument, NULL, 'e' },
		{ "all", no_argument, NULL, 'A' },
		{ "outdir", required_argument, NULL, 'o' },
		{ "delete", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct agg_opts o = { .epoch = -1 };
	struct agg_state s = { 0 };
	const char *auth = NULL;
	char pattern[MCP_MC_KEY_LEN], *end;
	struct mcp_mc_link l;
	int opt, err, have_ep = 0, ret = 2;
	size_t i;
	struct stat sb;

	mcp_mc_cfg_defaults(&o.cfg);
	while ((opt = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (opt) {
		case 'r':
			if (mcp_mc_parse_endpoint(&o.cfg, optarg)) {
				mcp_err("invalid --redis '%s' (HOST:PORT or unix:/path)\n", optarg);
				return 2;
			}
			have_ep = 1;
			break;
		case 'c':
			o.cfg.cluster_seeds = optarg;
			have_ep = 1;
			break;
		case 'a':
			auth = optarg;
			break;
		case 'd':
			o.cfg.db = (int)strtol(optarg, &end, 10);
			if (*end || o.cfg.db < 0) {
				mcp_err("invalid --redis-db '%s'\n", optarg);
				return 2;
			}
			break;
		case 'p':
			o.cfg.prefix = optarg;
			break;
		case 'e':
			o.epoch = strtoll(optarg, &end, 10);
			if (*end || o.epoch < 0) {
				mcp_err("invalid --epoch '%s' (seconds since 1970)\n", optarg);
				return 2;
			}
			break;
		case 'A':
			o.all = 1;
			break;
		case 'o':
			o.outdir = optarg;
			break;
		case 'D':
			o.del = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc || !have_ep || (o.all && o.epoch >= 0)) {
		if (!have_ep)
			mcp_err("--redis or --redis-cluster is required\n");
		else if (o.all && o.epoch >= 0)
			mcp_err("--epoch and --all exclude each other\n");
		else
			mcp_err("unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (o.outdir && (stat(o.outdir, &sb) || !S_ISDIR(sb.st_mode))) {
		mcp_err("--outdir %s: not a directory\n", o.outdir);
		return 2;
	}
	if (mcp_mc_parse_auth(&o.cfg, auth)) {
		mcp_err("invalid --redis-auth (expected [USER:]PASSWORD)\n");
		return 2;
	}
	if (o.epoch >= 0)
		err = mcp_mc_key_fmt(&(struct mcp_mc_keys){ .prefix = o.cfg.prefix }, pattern,
				     sizeof(pattern), "agg.%lld.*", o.epoch);
	else
		err = mcp_mc_key_fmt(&(struct mcp_mc_keys){ .prefix = o.cfg.prefix }, pattern,
				     sizeof(pattern), "agg.*");
	if (err < 0) {
		mcp_err("--redis-prefix too long\n");
		goto out_auth;
	}
	mcp_mc_link_init(&l, &o.cfg, 5000, NULL);
	err = mcp_mc_link_open(&l);
	if (err) {
		if (o.cfg.cluster_seeds)
			mcp_err("cannot reach Redis Cluster %s: %s\n", o.cfg.cluster_seeds,
				strerror(-err));
		else if (o.cfg.unix_path)
			mcp_err("cannot connect to Redis at unix:%s: %s\n", o.cfg.unix_path,
				strerror(-err));
		else
			mcp_err("cannot connect to Redis at %s:%d: %s\n", o.cfg.host, o.cfg.port,
				err == -EACCES ? "authentication refused" : strerror(-err));
		goto out_auth;
	}
	err = scan_all(&l, &s, o.cfg.prefix, pattern);
	if (err) {
		mcp_err("reading the buckets failed: %s\n", strerror(-err));
		goto out;
	}
	qsort(s.rows, s.n, sizeof(*s.rows), row_cmp);
	if (write_out(&o, &s))
		goto out;
	if (o.del && delete_written(&l, &s))
		goto out;
	ret = 0;
out:
	mcp_mc_link_close(&l);
	for (i = 0; i < s.nkeys; i++)
		free(s.keys[i]);
	free(s.keys);
	free(s.key_end);
	free(s.rows);
out_auth:
	mcp_mc_cfg_free_auth(&o.cfg);
	return ret;
}
