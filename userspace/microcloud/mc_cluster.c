/* mc_cluster.c - microcloud connections: one Redis node, or Redis Cluster slot routing.
 *
 * Redis Cluster specification (redis.io/docs/reference/cluster-spec): a key's slot is
 * CRC16(key) mod 16384, where only the part inside the first non-empty {...} (hash tag) is
 * hashed. The slot map comes from CLUSTER SLOTS; a node that no longer serves a slot answers
 * "-MOVED <slot> <host>:<port>" (update the map, refresh it) or, while the slot migrates,
 * "-ASK <slot> <host>:<port>" (send ASKING then the command there, once). Pipelines are built
 * per node: commands go out in one write per node, then the replies are read in order.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "util/log.h"
#include "microcloud/mc_internal.h"

#define MC_MAX_REDIRECTS 5

/* CRC16-CCITT, polynomial 0x1021, init 0, no reflection (XMODEM), as in the cluster spec. */
uint16_t mcp_mc_crc16(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint16_t crc = 0;
	size_t i;
	int b;

	for (i = 0; i < len; i++) {
		crc ^= (uint16_t)p[i] << 8;
		for (b = 0; b < 8; b++)
			crc = crc & 0x8000 ? (uint16_t)(crc << 1 ^ 0x1021) : (uint16_t)(crc << 1);
	}
	return crc;
}

int mcp_mc_key_slot(const char *key, size_t len)
{
	size_t s, e;

	for (s = 0; s < len && key[s] != '{'; s++)
		;
	if (s < len) {
		for (e = s + 1; e < len && key[e] != '}'; e++)
			;
		/* only a non-empty tag counts: "{}" hashes the whole key */
		if (e < len && e > s + 1)
			return mcp_mc_crc16(key + s + 1, e - s - 1) & (MCP_MC_SLOTS - 1);
	}
	return mcp_mc_crc16(key, len) & (MCP_MC_SLOTS - 1);
}

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

static struct timeval mc_tv(uint32_t ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
	return tv;
}

/* AUTH and SELECT on a fresh connection. 0 or -errno (-EACCES for a refused AUTH). */
static int mc_node_hello(struct mcp_mc_link *l, redisContext *c)
{
	redisReply *r;
	int err = 0;

	if (l->password) {
		if (l->user && *l->user)
			r = redisCommand(c, "AUTH %s %s", l->user, l->password);
		else
			r = redisCommand(c, "AUTH %s", l->password);
		if (!r)
			return -EIO;
		if (r->type == REDIS_REPLY_ERROR) {
			/* the reply names no secret: safe to log (once, retries are counted) */
			if (!l->auth_warned++)
				mcp_warn("microcloud: AUTH refused: %s\n", r->str);
			err = -EACCES;
		}
		freeReplyObject(r);
		if (err)
			return err;
	}
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

static int mc_node_connect(struct mcp_mc_link *l, struct mcp_mc_node *n)
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

static void mc_node_drop(struct mcp_mc_node *n)
{
	if (n->c)
		redisFree(n->c);
	n->c = NULL;
}

static int mc_node_find(struct mcp_mc_link *l, const char *host, int port)
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
static int mc_split_hostport(const char *s, size_t len, char *host, size_t hsz, int *port)
{
	const char *colon;
	size_t hl;
	char *end;
	long p;

	if (len == 0 || len >= 300)
		return -EINVAL;
	colon = memrchr(s, ':', len);
	if (!colon)
		return -EINVAL;
	p = strtol(colon + 1, &end, 10);
	if (end != s + len || p <= 0 || p > 65535)
		return -EINVAL;
	hl = (size_t)(colon - s);
	if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {
		s++;
		hl -= 2;
	}
	if (hl == 0 || hl >= hsz)
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = 0;
	*port = (int)p;
	return 0;
}

/* CLUSTER SLOTS from node ni: rebuilds the slot map. 0 or -errno. */
static int mc_refresh_from(struct mcp_mc_link *l, int ni)
{
	struct mcp_mc_node *n = &l->nodes[ni];
	redisReply *r;
	size_t i;
	int err = 0, covered = 0;

	if (mc_node_connect(l, n))
		return -ECONNREFUSED;
	r = redisCommand(n->c, "CLUSTER SLOTS");
	if (!r) {
		mc_node_drop(n);
		return -EIO;
	}
	if (r->type != REDIS_REPLY_ARRAY) {
		mcp_warn("microcloud: CLUSTER SLOTS on %s:%d: %s\n", n->host, n->port,
			 r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
		freeReplyObject(r);
		return -EPROTO;
	}
	for (i = 0; i < r->elements; i++) {
		redisReply *e = r->element[i], *m;
		long long a, b, s;
		const char *host;
		int idx;

		if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
		    e->element[0]->type != REDIS_REPLY_INTEGER ||
		    e->element[1]->type != REDIS_REPLY_INTEGER ||
		    e->element[2]->type != REDIS_REPLY_ARRAY || e->element[2]->elements < 2)
			continue;
		m = e->element[2];
		if (m->element[0]->type != REDIS_REPLY_STRING ||
		    m->element[1]->type != REDIS_REPLY_INTEGER)
			continue;
		a = e->element[0]->integer;
		b = e->element[1]->integer;
		if (a < 0 || b >= MCP_MC_SLOTS || a > b)
			continue;
		/* an empty host means "the node you asked" */
		host = m->element[0]->len ? m->element[0]->str : n->host;
		idx = mc_node_find(l, host, (int)m->element[1]->integer);
		if (idx < 0) {
			err = idx;
			break;
		}
		for (s = a; s <= b; s++)
			l->slot_node[s] = (uint8_t)idx;
		covered += (int)(b - a + 1);
	}
	freeReplyObject(r);
	if (!err && covered == 0)
		err = -ENOENT;
	if (!err) {
		l->have_slots = 1;
		if (l->st)
			l->st->slot_refreshes++;
	}
	return err;
}

static int mc_refresh(struct mcp_mc_link *l)
{
	int i;

	/* known nodes first (a node we route to knows the topology), then the seeds */
	for (i = 0; i < l->nnodes; i++)
		if (l->nodes[i].c && !mc_refresh_from(l, i))
			return 0;
	for (i = 0; i < l->nnodes; i++)
		if (!mc_refresh_from(l, i))
			return 0;
	return -ENOTCONN;
}

int mcp_mc_link_open(struct mcp_mc_link *l)
{
	const char *s, *e;
	int err;

	if (!l->cluster) {
		if (l->nnodes == 0) {
			l->nnodes = 1;
			snprintf(l->nodes[0].host, sizeof(l->nodes[0].host), "%s",
				 l->unix_path ? l->unix_path : l->host);
			l->nodes[0].port = l->unix_path ? 0 : l->port;
		}
		return mc_node_connect(l, &l->nodes[0]);
	}
	for (s = l->seeds; s && *s; s = *e ? e + 1 : e) {
		char host[256];
		int port;

		e = strchrnul(s, ',');
		if (mc_split_hostport(s, (size_t)(e - s), host, sizeof(host), &port))
			continue;
		if (mc_node_find(l, host, port) < 0)
			break;
	}
	err = mc_refresh(l);
	if (err)
		mcp_mc_link_close(l);
	return err;
}

void mcp_mc_link_close(struct mcp_mc_link *l)
{
	int i;

	for (i = 0; i < l->nnodes; i++)
		mc_node_drop(&l->nodes[i]);
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

static int mc_cmd_node(struct mcp_mc_link *l, const struct mcp_mc_cmd *c)
{
	if (!l->cluster)
		return 0;
	if (c->asking)
		return c->ask_node;
	if (c->slot < 0) {
		int i;

		/* any connected node will do (PUBLISH is propagated cluster-wide) */
		for (i = 0; i < l->nnodes; i++)
			if (l->nodes[i].c)
				return i;
		return l->slot_node[0];
	}
	return l->slot_node[c->slot];
}

/* "MOVED 3999 127.0.0.1:6381" / "ASK ...": the node index, or -1. */
static int mc_parse_redirect(struct mcp_mc_link *l, const char *msg, int *slot)
{
	const char *sp = strchr(msg, ' '), *addr;
	char host[256];
	int port;

	if (!sp)
		return -1;
	*slot = atoi(sp + 1);
	addr = strchr(sp + 1, ' ');
	if (!addr || *slot < 0 || *slot >= MCP_MC_SLOTS)
		return -1;
	addr++;
	if (mc_split_hostport(addr, strlen(addr), host, sizeof(host), &port))
		return -1;
	return mc_node_find(l, host, port);
}

static int mc_cmds_contiguous(const struct mcp_mc_cmd *cmds, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i++)
		if (cmds[i].buf + cmds[i].len != cmds[i + 1].buf)
			return 0;
	return n > 0;
}

int mcp_mc_link_run(struct mcp_mc_link *l, struct mcp_mc_cmd *cmds, size_t n, int keep_replies,
		    size_t *acked)
{
	static const char asking[] = "*1\r\n$6\r\nASKING\r\n";
	int round, err = 0, pending_nodes[MCP_MC_MAX_NODES];
	size_t i, left = n, ok = 0;

	for (i = 0; i < n; i++) {
		cmds[i].done = 0;
		cmds[i].asking = 0;
		cmds[i].reply = NULL;
	}
	if (!mcp_mc_link_is_open(l) && (err = mcp_mc_link_open(l)))
		goto out;
	for (round = 0; left && round <= MC_MAX_REDIRECTS; round++) {
		int need_refresh = 0, ni;

		memset(pending_nodes, 0, sizeof(pending_nodes));
		/* one node, first round, commands back to back in one buffer (a batch): one
		 * append, so the output buffer is allocated once at its size, not doubled 9 times */
		if (!l->cluster && round == 0 && mc_cmds_contiguous(cmds, n)) {
			if ((err = mc_node_connect(l, &l->nodes[0])))
				goto out;
			for (i = 0; i < n; i++) {
				cmds[i].sent_node = 0;
				cmds[i].sent_asking = 0;
			}
			redisAppendFormattedCommand(l->nodes[0].c, cmds[0].buf,
						    (size_t)(cmds[n - 1].buf + cmds[n - 1].len -
							     cmds[0].buf));
			pending_nodes[0] = 1;
			goto read;
		}
		/* write: every pending command into its node's output buffer */
		for (i = 0; i < n; i++) {
			struct mcp_mc_cmd *c = &cmds[i];

			c->sent_node = -1;
			if (c->done)
				continue;
			ni = mc_cmd_node(l, c);
			c->sent_node = (int16_t)ni;
			c->sent_asking = c->asking;
			if ((err = mc_node_connect(l, &l->nodes[ni])))
				goto out;
			if (c->asking)
				redisAppendFormattedCommand(l->nodes[ni].c, asking, sizeof(asking) - 1);
			redisAppendFormattedCommand(l->nodes[ni].c, c->buf, (size_t)c->len);
			pending_nodes[ni] = 1;
		}
read:
		/* read: replies in the order written, per node */
		for (ni = 0; ni < l->nnodes; ni++) {
			if (!pending_nodes[ni])
				continue;
			for (i = 0; i < n; i++) {
				struct mcp_mc_cmd *c = &cmds[i];
				redisReply *r = NULL;
				int slot, to;

				if (c->done || c->sent_node != ni)
					continue;
				if (c->sent_asking) {
					if (redisGetReply(l->nodes[ni].c, (void **)&r) != REDIS_OK)
						goto io_err;
					freeReplyObject(r);
					r = NULL;
				}
				if (redisGetReply(l->nodes[ni].c, (void **)&r) != REDIS_OK)
					goto io_err;
				c->asking = 0;
				if (l->cluster && r->type == REDIS_REPLY_ERROR &&
				    (!strncmp(r->str, "MOVED ", 6) || !strncmp(r->str, "ASK ", 4))) {
					int is_ask = r->str[0] == 'A';

					to = mc_parse_redirect(l, r->str, &slot);
					freeReplyObject(r);
					if (to < 0)
						continue; /* retried next round via a refresh */
					if (is_ask) {
						c->asking = 1;
						c->ask_node = (uint16_t)to;
						if (l->st)
							l->st->ask++;
					} else {
						l->slot_node[slot] = (uint8_t)to;
						need_refresh = 1;
						if (l->st)
							l->st->moved++;
					}
					continue;
				}
				if (l->cluster && r->type == REDIS_REPLY_ERROR &&
				    (!strncmp(r->str, "TRYAGAIN", 8) ||
				     !strncmp(r->str, "CLUSTERDOWN", 11))) {
					freeReplyObject(r);
					need_refresh = 1;
					continue;
				}
				if (r->type == REDIS_REPLY_ERROR && l->st)
					l->st->cmd_errors++;
				c->done = 1;
				ok++;
				left--;
				if (keep_replies)
					c->reply = r;
				else
					freeReplyObject(r);
			}
		}
		if (need_refresh) {
			mc_refresh(l);
			if (round > 1)
				usleep(20000 * round); /* a migration in progress: let it settle */
		}
	}
	if (left)
		err = -EAGAIN;
	goto out;
io_err:
	err = -EIO;
out:
	if (err && err != -EAGAIN)
		mcp_mc_link_close(l); /* output buffers may hold unsent commands: start clean */
	if (acked)
		*acked = ok;
	return err;
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

int mcp_mc_link_masters(struct mcp_mc_link *l, int *idx, int max)
{
	int seen[MCP_MC_MAX_NODES] = { 0 }, n = 0, s;

	if (!l->cluster) {
		if (max > 0)
			idx[n++] = 0;
		return n;
	}
	if (!l->have_slots && mc_refresh(l))
		return 0;
	for (s = 0; s < MCP_MC_SLOTS; s++) {
		int ni = l->slot_node[s];

		if (!seen[ni] && n < max) {
			seen[ni] = 1;
			idx[n++] = ni;
		}
	}
	return n;
}

redisReply *mcp_mc_link_cmd_node(struct mcp_mc_link *l, int node, int argc, const char **argv,
				 const size_t *argvlen)
{
	struct mcp_mc_node *n;
	redisReply *r;

	if (node < 0 || node >= l->nnodes)
		return NULL;
	n = &l->nodes[node];
	if (mc_node_connect(l, n))
		return NULL;
	r = redisCommandArgv(n->c, argc, argv, argvlen);
	if (!r)
		mc_node_drop(n);
	return r;
}
