/* mc_link.c - microcloud connections: open, authenticate, send and read, one node or many.
 *
 * struct mcp_mc_link (mc_internal.h) is the writer's and the synchronous reader's connection,
 * and, through mc_link.h, the tools'. Single node: one hiredis context (TCP or UNIX socket),
 * AUTH and SELECT on connect. Redis Cluster: one context per node, the slot routing and the
 * redirections are in mc_cluster.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "microcloud/mc_internal.h"

void mcp_mc_link_init(struct mcp_mc_link *l, const struct mcp_mc_cfg *c, uint32_t timeout_ms,
		      struct mcp_mc_stats *st)
{
	memset(l, 0, sizeof(*l));
	l->host = c->host;
	l->port = c->port;
	l->unix_path = c->unix_path;
	l->user = c->user;
	l->password = c->password;
	l->seeds = c->cluster_seeds;
	l->cluster = c->cluster_seeds && *c->cluster_seeds;
	l->db = c->db;
	l->timeout_ms = timeout_ms;
	l->st = st;
}

struct mcp_mc_link *mcp_mc_link_create(const struct mcp_mc_cfg *c, uint32_t timeout_ms)
{
	struct mcp_mc_link *l = malloc(sizeof(*l));

	if (l)
		mcp_mc_link_init(l, c, timeout_ms, NULL);
	return l;
}

void mcp_mc_link_destroy(struct mcp_mc_link *l)
{
	if (!l)
		return;
	mcp_mc_link_close(l);
	free(l);
}

static struct timeval mc_tv(uint32_t ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
	return tv;
}

/* Said once per process: the writer and the reader connect (and retry) on their own. */
static int mc_auth_said;

/* AUTH (or, without a password, a PING that finds out whether Redis wants one) on a fresh
 * connection. 0 or -EACCES (counted in auth_failures, said once). */
static int mc_node_auth(struct mcp_mc_link *l, redisContext *c)
{
	redisReply *r;
	int err = 0;

	if (!l->password)
		r = redisCommand(c, "PING");
	else if (l->user && *l->user)
		r = redisCommand(c, "AUTH %s %s", l->user, l->password);
	else
		r = redisCommand(c, "AUTH %s", l->password);
	if (!r)
		return -EIO;
	if (r->type == REDIS_REPLY_ERROR && (l->password || !strncmp(r->str, "NOAUTH", 6))) {
		err = -EACCES;
		if (l->st)
			l->st->auth_failures++;
		/* the reply names no secret: safe to log */
		if (!__atomic_exchange_n(&mc_auth_said, 1, __ATOMIC_RELAXED)) {
			if (l->password)
				mcp_warn("microcloud: AUTH refused: %s\n", r->str);
			else
				mcp_warn("microcloud: Redis requires a password (--redis-auth, "
					 "--redis-auth-file or MCP_REDIS_AUTH)\n");
		}
	}
	freeReplyObject(r);
	return err;
}

/* AUTH and SELECT on a fresh connection. 0 or -errno (-EACCES for a refused AUTH). */
static int mc_node_hello(struct mcp_mc_link *l, redisContext *c)
{
	redisReply *r;
	int err = mc_node_auth(l, c);

	if (err)
		return err;
	if (!l->cluster && l->db > 0) {
		r = redisCommand(c, "SELECT %d", l->db);
		if (!r)
			return -EIO;
		if (r->type == REDIS_REPLY_ERROR) {
			mcp_warn("microcloud: SELECT %d: %s\n", l->db, r->str);
			err = -EINVAL;
		}
		freeReplyObject(r);
	}
	return err;
}

int mcp_mc_node_connect(struct mcp_mc_link *l, struct mcp_mc_node *n)
{
	struct timeval tv = mc_tv(l->timeout_ms);
	redisContext *c;
	int err;

	if (n->c)
		return 0;
	if (n->port == 0)
		c = redisConnectUnixWithTimeout(n->host, tv);
	else
		c = redisConnectWithTimeout(n->host, n->port, tv);
	if (!c)
		return -ENOMEM;
	if (c->err) {
		mcp_dbg("microcloud: connect %s:%d: %s\n", n->host, n->port, c->errstr);
		redisFree(c);
		return -ECONNREFUSED;
	}
	redisSetTimeout(c, tv);
	if (n->port)
		redisEnableKeepAlive(c);
	err = mc_node_hello(l, c);
	if (err) {
		redisFree(c);
		return err;
	}
	n->c = c;
	return 0;
}

void mcp_mc_node_drop(struct mcp_mc_node *n)
{
	if (n->c)
		redisFree(n->c);
	n->c = NULL;
}

int mcp_mc_node_find(struct mcp_mc_link *l, const char *host, int port)
{
	int i;

	for (i = 0; i < l->nnodes; i++)
		if (l->nodes[i].port == port && !strcmp(l->nodes[i].host, host))
			return i;
	if (l->nnodes == MCP_MC_MAX_NODES)
		return -ENOSPC;
	snprintf(l->nodes[l->nnodes].host, sizeof(l->nodes[0].host), "%s", host);
	l->nodes[l->nnodes].port = port;
	l->nodes[l->nnodes].c = NULL;
	return l->nnodes++;
}

/* "host:port" or "[v6]:port" into host/port. 0 or -EINVAL. */
int mcp_mc_link_open(struct mcp_mc_link *l)
{
	if (l->cluster)
		return mcp_mc_cluster_open(l);
	if (l->nnodes == 0) {
		l->nnodes = 1;
		snprintf(l->nodes[0].host, sizeof(l->nodes[0].host), "%s",
			 l->unix_path ? l->unix_path : l->host);
		l->nodes[0].port = l->unix_path ? 0 : l->port;
	}
	return mcp_mc_node_connect(l, &l->nodes[0]);
}

void mcp_mc_link_close(struct mcp_mc_link *l)
{
	int i;

	for (i = 0; i < l->nnodes; i++)
		mcp_mc_node_drop(&l->nodes[i]);
	l->have_slots = 0;
}

int mcp_mc_link_is_open(const struct mcp_mc_link *l)
{
	int i;

	if (l->cluster)
		return l->have_slots;
	for (i = 0; i < l->nnodes; i++)
		if (l->nodes[i].c)
			return 1;
	return 0;
}

int mcp_mc_link_send(struct mcp_mc_link *l, const char *buf, size_t len)
{
	redisContext *c;
	int done = 0;

	if (!mcp_mc_link_is_open(l) && mcp_mc_link_open(l))
		return -ENOTCONN;
	c = l->nodes[0].c;
	if (redisAppendFormattedCommand(c, buf, len) != REDIS_OK)
		goto fail;
	while (!done)
		if (redisBufferWrite(c, &done) != REDIS_OK)
			goto fail;
	return 0;
fail:
	mcp_mc_link_close(l);
	return -EIO;
}

int mcp_mc_link_collect(struct mcp_mc_link *l, size_t n, size_t *got)
{
	redisContext *c = l->nodes[0].c;
	size_t i;

	*got = 0;
	if (!c)
		return -ENOTCONN;
	for (i = 0; i < n; i++) {
		redisReply *r = NULL;

		if (redisGetReply(c, (void **)&r) != REDIS_OK || !r) {
			mcp_mc_link_close(l);
			return -EIO;
		}
		if (r->type == REDIS_REPLY_ERROR && l->st)
			l->st->cmd_errors++;
		freeReplyObject(r);
		(*got)++;
	}
	return 0;
}

redisReply *mcp_mc_link_cmd(struct mcp_mc_link *l, const char *key, size_t keylen, int argc,
			    const char **argv, const size_t *argvlen)
{
	struct mcp_mc_cmd c = { 0 };
	redisReply *r;
	char *buf;

	c.len = redisFormatCommandArgv(&buf, argc, argv, argvlen);
	if (c.len < 0)
		return NULL;
	c.buf = buf;
	c.slot = key && l->cluster ? mcp_mc_key_slot(key, keylen) : -1;
	if (mcp_mc_link_run(l, &c, 1, 1, NULL))
		c.reply = NULL;
	r = c.reply;
	redisFreeCommand(buf);
	return r;
}

redisReply *mcp_mc_link_cmd_node(struct mcp_mc_link *l, int node, int argc, const char **argv,
				 const size_t *argvlen)
{
	struct mcp_mc_node *n;
	redisReply *r;

	if (node < 0 || node >= l->nnodes)
		return NULL;
	n = &l->nodes[node];
	if (mcp_mc_node_connect(l, n))
		return NULL;
	r = redisCommandArgv(n->c, argc, argv, argvlen);
	if (!r)
		mcp_mc_node_drop(n);
	return r;
}
