/* mc_sync.c - microcloud lifecycle, configuration, and the synchronous read channel.
 *
 * The synchronous connection answers the few questions that need an answer now (who owns
 * this IP, what are this IMSI's tunnels) with a short timeout, and reloads active sessions at
 * startup (SCAN, never KEYS, on every master). It is separate from the writer's connection,
 * so a read never waits behind a pipeline. A failed read closes it; the next read after a
 * backoff reconnects.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "microcloud/mc_internal.h"

#define MC_SYNC_RETRY_MS 500

void mcp_mc_cfg_defaults(struct mcp_mc_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->host = "127.0.0.1";
	c->port = MCP_MC_DEFAULT_PORT;
	c->prefix = "";
	c->agg_period_s = 300;
	c->agg_retention_s = 86400;
	c->flush_cmds = 512;
	c->flush_ms = 50;
	c->counter_flush_ms = 1000;
	c->queue_len = 65536;
	c->stream_maxlen = 100000;
	c->grace_ms = 60000;
	c->timeout_ms = 2000;
	c->sync_timeout_ms = 200;
	c->max_counter_keys = 1000000;
}

int mcp_mc_parse_endpoint(struct mcp_mc_cfg *c, const char *arg)
{
	const char *colon;
	char *end;
	long port;

	if (!arg || !*arg)
		return -EINVAL;
	if (!strncmp(arg, "unix:", 5)) {
		if (!arg[5])
			return -EINVAL;
		c->unix_path = arg + 5;
		return 0;
	}
	c->unix_path = NULL;
	colon = strrchr(arg, ':');
	/* a bare IPv6 address has several colons and no brackets: no port */
	if (!colon || (arg[0] != '[' && strchr(arg, ':') != colon)) {
		c->host = arg;
		c->port = MCP_MC_DEFAULT_PORT;
		return 0;
	}
	port = strtol(colon + 1, &end, 10);
	if (*end || port <= 0 || port > 65535 || colon == arg)
		return -EINVAL;
	{
		const char *h = arg;
		size_t n = (size_t)(colon - arg);

		if (arg[0] == '[') {
			if (n < 3 || arg[n - 1] != ']')
				return -EINVAL;
			h++;
			n -= 2;
		}
		if (n >= sizeof(c->host_buf))
			return -EINVAL;
		memcpy(c->host_buf, h, n);
		c->host_buf[n] = 0;
		c->host = c->host_buf;
	}
	c->port = (int)port;
	return 0;
}

int mcp_mc_parse_auth(struct mcp_mc_cfg *c, const char *arg)
{
	const char *colon;

	if (!arg)
		arg = getenv("MCP_REDIS_AUTH");
	if (!arg)
		return 0;
	if (!*arg)
		return -EINVAL;
	mcp_mc_cfg_free_auth(c);
	colon = strchr(arg, ':');
	if (colon) {
		c->user = strndup(arg, (size_t)(colon - arg));
		c->password = strdup(colon + 1);
	} else {
		c->password = strdup(arg);
	}
	if (!c->password || (colon && !c->user))
		return -ENOMEM;
	return 0;
}

void mcp_mc_cfg_free_auth(struct mcp_mc_cfg *c)
{
	if (c->password)
		memset((char *)c->password, 0, strlen(c->password)); /* do not leave it in memory */
	free((char *)c->user);
	free((char *)c->password);
	c->user = c->password = NULL;
}

static char *mc_dup(const char *s)
{
	return s ? strdup(s) : NULL;
}

struct mcp_mc *mcp_mc_create(const struct mcp_mc_cfg *c)
{
	struct mcp_mc *m = calloc(1, sizeof(*m));
	pthread_condattr_t ca;
	char host[MCP_MC_PROBE_LEN];

	if (!m)
		return NULL;
	m->cfg = *c;
	m->cfg.host = mc_dup(c->host ? c->host : "127.0.0.1");
	m->cfg.unix_path = mc_dup(c->unix_path);
	m->cfg.user = mc_dup(c->user);
	m->cfg.password = mc_dup(c->password);
	m->cfg.prefix = mc_dup(c->prefix ? c->prefix : "");
	m->cfg.cluster_seeds = c->cluster_seeds && *c->cluster_seeds ? strdup(c->cluster_seeds) :
									NULL;
	if (!m->cfg.port)
		m->cfg.port = MCP_MC_DEFAULT_PORT;
	if (!m->cfg.flush_cmds)
		m->cfg.flush_cmds = 512;
	if (!m->cfg.flush_ms)
		m->cfg.flush_ms = 50;
	if (!m->cfg.queue_len)
		m->cfg.queue_len = 65536;
	if (!m->cfg.timeout_ms)
		m->cfg.timeout_ms = 2000;
	if (!m->cfg.sync_timeout_ms)
		m->cfg.sync_timeout_ms = 200;
	if (!m->cfg.max_counter_keys)
		m->cfg.max_counter_keys = 1000000;
	if (!m->cfg.counter_ttl_s)
		m->cfg.counter_ttl_s = m->cfg.agg_period_s ? 2 * m->cfg.agg_period_s : 600;
	if (!m->cfg.agg_retention_s)
		m->cfg.agg_retention_s = 86400;
	if (c->probe_name && *c->probe_name) {
		snprintf(m->probe, sizeof(m->probe), "%s", c->probe_name);
	} else {
		if (gethostname(host, sizeof(host)))
			snprintf(host, sizeof(host), "mcprobe");
		host[sizeof(host) - 1] = 0;
		snprintf(m->probe, sizeof(m->probe), "%s", host);
	}
	m->cfg.probe_name = m->probe;
	m->keys.prefix = m->cfg.prefix;
	m->keys.cluster = m->cfg.cluster_seeds != NULL;
	if (m->keys.cluster && strchr(m->cfg.prefix, '{'))
		mcp_warn("microcloud: a '{' in the prefix defeats the per-subscriber hash tags\n");

	pthread_mutex_init(&m->lock, NULL);
	pthread_mutex_init(&m->ctr_lock, NULL);
	pthread_mutex_init(&m->sess_lock, NULL);
	pthread_mutex_init(&m->sync_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->wake, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&m->done, NULL);
	m->nbuckets = 1024;
	m->buckets = calloc(m->nbuckets, sizeof(*m->buckets));
	m->ctr = mcp_mc_ctr_create(0);
	/* 50 ms of flow records at 300k records/s before producers credit them themselves */
	m->fbuf_cap = MCP_MC_FLOW_BUF;
	m->fbuf = calloc(m->fbuf_cap, sizeof(*m->fbuf));
	m->fbuf_spare = calloc(m->fbuf_cap, sizeof(*m->fbuf_spare));
	m->ttl_memo = mcp_mc_ttl_create(m->cfg.max_counter_keys);
	mcp_mc_link_init(&m->wl, &m->cfg, m->cfg.timeout_ms, &m->st);
	mcp_mc_link_init(&m->sl, &m->cfg, m->cfg.sync_timeout_ms, &m->sst);
	if (!m->buckets || !m->ctr || !m->ttl_memo || !m->fbuf || !m->fbuf_spare ||
	    (m->cfg.host == NULL) ||
	    (c->cluster_seeds && *c->cluster_seeds && !m->cfg.cluster_seeds) ||
	    mcp_mc_writer_start(m)) {
		mcp_err("microcloud: cannot start the writer\n");
		mcp_mc_destroy(m);
		return NULL;
	}
	return m;
}

void mcp_mc_destroy(struct mcp_mc *m)
{
	if (!m)
		return;
	mcp_mc_writer_stop(m);
	mcp_mc_link_close(&m->sl);
	mcp_mc_ctr_destroy(m->ctr);
	mcp_mc_ctr_destroy(m->wctr);
	free(m->fbuf);
	free(m->fbuf_spare);
	mcp_mc_ttl_destroy(m->ttl_memo);
	pthread_mutex_destroy(&m->lock);
	pthread_mutex_destroy(&m->ctr_lock);
	pthread_mutex_destroy(&m->sess_lock);
	pthread_mutex_destroy(&m->sync_lock);
	pthread_cond_destroy(&m->wake);
	pthread_cond_destroy(&m->done);
	free((char *)m->cfg.host);
	free((char *)m->cfg.unix_path);
	free((char *)m->cfg.user);
	if (m->cfg.password)
		memset((char *)m->cfg.password, 0, strlen(m->cfg.password));
	free((char *)m->cfg.password);
	free((char *)m->cfg.prefix);
	free((char *)m->cfg.cluster_seeds);
	free(m);
}

/* Opens the sync link if needed (sync_lock held). 0 or -ENOTCONN (fails fast during backoff). */
static int mc_sync_ready(struct mcp_mc *m)
{
	uint64_t now = mcp_mc_mono_ms();

	if (mcp_mc_link_is_open(&m->sl))
		return 0;
	if (now < m->sync_retry_ms)
		return -ENOTCONN;
	if (mcp_mc_link_open(&m->sl)) {
		m->sync_retry_ms = now + MC_SYNC_RETRY_MS;
		return -ENOTCONN;
	}
	return 0;
}

static redisReply *mc_sync_get(struct mcp_mc *m, int argc, const char **argv)
{
	size_t len[4];
	redisReply *r;
	int i;

	for (i = 0; i < argc; i++)
		len[i] = strlen(argv[i]);
	r = mcp_mc_link_cmd(&m->sl, argv[1], len[1], argc, argv, len);
	m->sst.sync_reads++;
	if (!r || r->type == REDIS_REPLY_ERROR) {
		m->sst.sync_errors++;
		if (r)
			freeReplyObject(r);
		else
			m->sync_retry_ms = mcp_mc_mono_ms() + MC_SYNC_RETRY_MS;
		return NULL;
	}
	return r;
}

/* GET of one string key into out on the synchronous channel: 1, 0 (absent) or -errno. */
static int mc_sync_get_string(struct mcp_mc *m, char *key, char *out, size_t len)
{
	const char *argv[2] = { "GET", key };
	redisReply *r;
	int ret;

	pthread_mutex_lock(&m->sync_lock);
	if ((ret = mc_sync_ready(m)))
		goto out;
	r = mc_sync_get(m, 2, argv);
	if (!r) {
		ret = -EIO;
		goto out;
	}
	if (r->type == REDIS_REPLY_STRING && len) {
		snprintf(out, len, "%.*s", (int)r->len, r->str);
		ret = 1;
	}
	freeReplyObject(r);
out:
	pthread_mutex_unlock(&m->sync_lock);
	return ret;
}

int mcp_mc_lookup_ip(struct mcp_mc *m, const struct mcp_ip *ip, char *owner, size_t len)
{
	char key[MCP_MC_KEY_LEN];

	if (mcp_mc_key_ip(&m->keys, key, sizeof(key), ip) < 0)
		return -EINVAL;
	return mc_sync_get_string(m, key, owner, len);
}

/* HGETALL of one imsi key into sub (sync_lock held). 1, 0 (absent) or -errno. */
static int mc_sync_fact(struct mcp_mc *m, const char *key, const char *imsi,
			struct mcp_subscriber *sub, int *active, char *probe)
{
	const char *argv[2] = { "HGETALL", key };
	redisReply *r = mc_sync_get(m, 2, argv);
	int err;

	if (!r)
		return -EIO;
	memset(sub, 0, sizeof(*sub));
	snprintf(sub->imsi, sizeof(sub->imsi), "%s", imsi);
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 0) {
		freeReplyObject(r);
		return 0;
	}
	err = mcp_mc_fact_parse(r, sub, active, probe, MCP_MC_PROBE_LEN);
	freeReplyObject(r);
	return err ? err : 1;
}

int mcp_mc_lookup_subscriber(struct mcp_mc *m, const char *imsi, struct mcp_subscriber *out)
{
	char key[MCP_MC_KEY_LEN], probe[MCP_MC_PROBE_LEN];
	int ret, active;

	if (!imsi || strlen(imsi) >= MCP_IMSI_LEN ||
	    mcp_mc_key_imsi(&m->keys, key, sizeof(key), imsi) < 0)
		return -EINVAL;
	pthread_mutex_lock(&m->sync_lock);
	ret = mc_sync_ready(m);
	if (!ret)
		ret = mc_sync_fact(m, key, imsi, out, &active, probe);
	pthread_mutex_unlock(&m->sync_lock);
	if (ret == 1 && !active) {
		out->state = MCP_SUB_DELETED; /* detached, in its grace period */
		out->deleted_ms = out->last_change_ms;
	}
	return ret;
}

int mcp_mc_lookup_tunnel(struct mcp_mc *m, uint32_t teid, const struct mcp_ip *endpoint,
			 char *imsi, size_t len)
{
	char key[MCP_MC_KEY_LEN];

	if (mcp_mc_key_teid(&m->keys, key, sizeof(key), endpoint, teid) < 0)
		return -EINVAL;
	return mc_sync_get_string(m, key, imsi, len);
}

/* Keeps the reloaded fact in the local copy (so a later resync rewrites it). */
static void mc_adopt(struct mcp_mc *m, const struct mcp_subscriber *sub, const char *probe)
{
	struct mcp_mc_entry *e;

	pthread_mutex_lock(&m->lock);
	e = mcp_mc_store_get(m, MCP_MC_ENTRY_SUB, sub->imsi, 1);
	if (e && !e->queued) {
		e->f.sub.sub = *sub;
		snprintf(e->f.sub.probe, sizeof(e->f.sub.probe), "%s", probe);
	}
	pthread_mutex_unlock(&m->lock);
}

int mcp_mc_reload_sessions(struct mcp_mc *m, struct mcp_sessions *s)
{
	int nodes[MCP_MC_MAX_NODES], nn, i, restored = 0, err = 0;
	char pattern[MCP_MC_KEY_LEN];

	if (mcp_mc_key_fmt(&m->keys, pattern, sizeof(pattern), "imsi.*") < 0)
		return -EINVAL;
	pthread_mutex_lock(&m->sync_lock);
	m->sync_retry_ms = 0;
	/* reload may take longer than one quick read */
	m->sl.timeout_ms = m->cfg.timeout_ms;
	if ((err = mc_sync_ready(m)))
		goto out;
	nn = mcp_mc_link_masters(&m->sl, nodes, MCP_MC_MAX_NODES);
	for (i = 0; i < nn && !err; i++) {
		char cursor[32] = "0";

		do {
			const char *argv[6] = { "SCAN", cursor, "MATCH", pattern, "COUNT", "1000" };
			size_t len[6];
			redisReply *r;
			size_t j;
			int k;

			for (k = 0; k < 6; k++)
				len[k] = strlen(argv[k]);
			r = mcp_mc_link_cmd_node(&m->sl, nodes[i], 6, argv, len);
			if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
			    r->element[0]->type != REDIS_REPLY_STRING ||
			    r->element[1]->type != REDIS_REPLY_ARRAY) {
				if (r)
					freeReplyObject(r);
				err = -EIO;
				break;
			}
			snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
			for (j = 0; j < r->element[1]->elements; j++) {
				redisReply *kr = r->element[1]->element[j];
				char imsi[MCP_IMSI_LEN], probe[MCP_MC_PROBE_LEN];
				struct mcp_subscriber sub;
				int active = 0, ret;

				if (kr->type != REDIS_REPLY_STRING ||
				    !mcp_mc_key_imsi_of(&m->keys, kr->str, imsi, sizeof(imsi)))
					continue;
				ret = mc_sync_fact(m, kr->str, imsi, &sub, &active, probe);
				if (ret < 0 && ret != -EBADMSG) {
					err = ret;
					break;
				}
				if (ret != 1 || !active)
					continue; /* deleted, expiring, or unreadable: not restored */
				if (s && mcp_sessions_restore(s, &sub))
					continue;
				mc_adopt(m, &sub, probe);
				restored++;
			}
			freeReplyObject(r);
		} while (!err && strcmp(cursor, "0"));
	}
out:
	m->sl.timeout_ms = m->cfg.sync_timeout_ms;
	mcp_mc_link_close(&m->sl); /* reopened with the short timeout */
	m->sst.reloaded += restored > 0 ? (uint64_t)restored : 0;
	pthread_mutex_unlock(&m->sync_lock);
	if (err) {
		mcp_warn("microcloud: session reload failed: %s\n", strerror(-err));
		return err;
	}
	mcp_info("microcloud: %d active sessions reloaded\n", restored);
	return restored;
}

void mcp_mc_get_stats(struct mcp_mc *m, struct mcp_mc_stats *st)
{
	uint64_t pending = mcp_mc_sess_pending(m);

	pthread_mutex_lock(&m->lock);
	*st = m->st;
	st->queue_depth = m->head - m->tail + pending;
	st->facts_held = m->nentries;
	pthread_mutex_unlock(&m->lock);
	pthread_mutex_lock(&m->sync_lock);
	st->sync_reads = m->sst.sync_reads;
	st->sync_errors = m->sst.sync_errors;
	st->reloaded = m->sst.reloaded;
	st->moved += m->sst.moved;
	st->ask += m->sst.ask;
	st->auth_failures += m->sst.auth_failures;
	pthread_mutex_unlock(&m->sync_lock);
}

void mcp_mc_print_stats(struct mcp_mc *m, FILE *f)
{
	struct mcp_mc_stats s;

	mcp_mc_get_stats(m, &s);
	fprintf(f,
		"microcloud: %s, %llu cmds in %llu batches (%llu failed, %llu cmds dropped, %llu "
		"errors), connects %llu (%llu failed, %llu refused AUTH), resyncs %llu, facts %llu (held %llu, "
		"coalesced %llu, queue full %llu), events %llu (dropped %llu), counter keys "
		"dropped %llu, cluster moved %llu ask %llu refreshes %llu, sync reads %llu (%llu "
		"errors), reloaded %llu\n",
		s.connected ? "connected" : "disconnected", (unsigned long long)s.cmds_sent,
		(unsigned long long)s.batches, (unsigned long long)s.batches_failed,
		(unsigned long long)s.cmds_dropped, (unsigned long long)s.cmd_errors,
		(unsigned long long)s.connects, (unsigned long long)s.connect_failures,
		(unsigned long long)s.auth_failures, (unsigned long long)s.resyncs, (unsigned long long)s.facts_written,
		(unsigned long long)s.facts_held, (unsigned long long)s.coalesced,
		(unsigned long long)s.queue_full, (unsigned long long)s.events_published,
		(unsigned long long)s.events_dropped, (unsigned long long)s.counter_keys_dropped,
		(unsigned long long)s.moved, (unsigned long long)s.ask,
		(unsigned long long)s.slot_refreshes, (unsigned long long)s.sync_reads,
		(unsigned long long)s.sync_errors, (unsigned long long)s.reloaded);
}
