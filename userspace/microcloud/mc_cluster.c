/* mc_cluster.c - microcloud routing: key slots, the Redis Cluster slot map, pipeline rounds.
 *
 * Redis Cluster specification (redis.io/docs/reference/cluster-spec): a key's slot is
 * CRC16(key) mod 16384, where only the part inside the first non-empty {...} (hash tag) is
 * hashed. The slot map comes from CLUSTER SLOTS; a node that no longer serves a slot answers
 * "-MOVED <slot> <host>:<port>" (update the map, refresh it) or, while the slot migrates,
 * "-ASK <slot> <host>:<port>" (send ASKING then the command there, once). Pipelines are built
 * per node: commands go out in one write per node, then the replies are read in order
 * (mcp_mc_link_run, one named step per phase of a round; on one node too). Connections:
 * mc_link.c.
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

	if (mcp_mc_node_connect(l, n))
		return -ECONNREFUSED;
	r = redisCommand(n->c, "CLUSTER SLOTS");
	if (!r) {
		mcp_mc_node_drop(n);
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
		idx = mcp_mc_node_find(l, host, (int)m->element[1]->integer);
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

int mcp_mc_cluster_open(struct mcp_mc_link *l)
{
	const char *s, *e;
	int err;

	for (s = l->seeds; s && *s; s = *e ? e + 1 : e) {
		char host[256];
		int port;

		e = strchrnul(s, ',');
		if (mc_split_hostport(s, (size_t)(e - s), host, sizeof(host), &port))
			continue;
		if (mcp_mc_node_find(l, host, port) < 0)
			break;
	}
	err = mc_refresh(l);
	if (err)
		mcp_mc_link_close(l);
	return err;
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
	return mcp_mc_node_find(l, host, port);
}

static int mc_cmds_contiguous(const struct mcp_mc_cmd *cmds, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i++)
		if (cmds[i].buf + cmds[i].len != cmds[i + 1].buf)
			return 0;
	return n > 0;
}

/* The state of one mcp_mc_link_run(). */
struct mc_run {
	struct mcp_mc_cmd *cmds;
	size_t n, left, ok;
	int keep_replies;
	int need_refresh; /* this round: re-read the slot map */
	int pending[MCP_MC_MAX_NODES]; /* this round: nodes written to */
};

/* One node, first round, commands back to back in one buffer (a batch): one append, so the
 * output buffer is allocated once at its size, not doubled 9 times. 0 or -errno. */
static int mc_write_contiguous(struct mcp_mc_link *l, struct mc_run *run)
{
	struct mcp_mc_cmd *first = &run->cmds[0], *last = &run->cmds[run->n - 1];
	size_t i;
	int err;

	if ((err = mcp_mc_node_connect(l, &l->nodes[0])))
		return err;
	for (i = 0; i < run->n; i++) {
		run->cmds[i].sent_node = 0;
		run->cmds[i].sent_asking = 0;
	}
	redisAppendFormattedCommand(l->nodes[0].c, first->buf,
				    (size_t)(last->buf + last->len - first->buf));
	run->pending[0] = 1;
	return 0;
}

/* Writes every command still without a reply into its node's output buffer. 0 or -errno. */
static int mc_write_round(struct mcp_mc_link *l, struct mc_run *run)
{
	static const char asking[] = "*1\r\n$6\r\nASKING\r\n";
	size_t i;
	int ni, err;

	for (i = 0; i < run->n; i++) {
		struct mcp_mc_cmd *c = &run->cmds[i];

		c->sent_node = -1;
		if (c->done)
			continue;
		ni = mc_cmd_node(l, c);
		c->sent_node = (int16_t)ni;
		c->sent_asking = c->asking;
		if ((err = mcp_mc_node_connect(l, &l->nodes[ni])))
			return err;
		if (c->asking)
			redisAppendFormattedCommand(l->nodes[ni].c, asking, sizeof(asking) - 1);
		redisAppendFormattedCommand(l->nodes[ni].c, c->buf, (size_t)c->len);
		run->pending[ni] = 1;
	}
	return 0;
}

static int mc_reply_starts(const redisReply *r, const char *word)
{
	return r->type == REDIS_REPLY_ERROR && !strncmp(r->str, word, strlen(word));
}

/* A MOVED or ASK reply (freed here): where c goes in the next round. */
static void mc_redirect(struct mcp_mc_link *l, struct mc_run *run, struct mcp_mc_cmd *c,
			redisReply *r)
{
	int is_ask = r->str[0] == 'A', slot, to;

	to = mc_parse_redirect(l, r->str, &slot);
	freeReplyObject(r);
	if (to < 0)
		return; /* sent again next round */
	if (is_ask) {
		c->asking = 1;
		c->ask_node = (uint16_t)to;
		if (l->st)
			l->st->ask++;
	} else {
		l->slot_node[slot] = (uint8_t)to;
		run->need_refresh = 1;
		if (l->st)
			l->st->moved++;
	}
}

/* c's reply: a redirection or a cluster in flux sends c again next round; anything else
 * (an error reply too) is c's answer. */
static void mc_take_reply(struct mcp_mc_link *l, struct mc_run *run, struct mcp_mc_cmd *c,
			  redisReply *r)
{
	c->asking = 0;
	if (l->cluster && (mc_reply_starts(r, "MOVED ") || mc_reply_starts(r, "ASK "))) {
		mc_redirect(l, run, c, r);
		return;
	}
	if (l->cluster && (mc_reply_starts(r, "TRYAGAIN") || mc_reply_starts(r, "CLUSTERDOWN"))) {
		freeReplyObject(r);
		run->need_refresh = 1;
		return;
	}
	if (r->type == REDIS_REPLY_ERROR && l->st)
		l->st->cmd_errors++;
	c->done = 1;
	run->ok++;
	run->left--;
	if (run->keep_replies)
		c->reply = r;
	else
		freeReplyObject(r);
}

/* Reads node ni's replies in the order its commands were written. 0 or -EIO. */
static int mc_read_node(struct mcp_mc_link *l, struct mc_run *run, int ni)
{
	redisContext *ctx = l->nodes[ni].c;
	size_t i;

	for (i = 0; i < run->n; i++) {
		struct mcp_mc_cmd *c = &run->cmds[i];
		redisReply *r = NULL;

		if (c->done || c->sent_node != ni)
			continue;
		if (c->sent_asking) {
			if (redisGetReply(ctx, (void **)&r) != REDIS_OK)
				return -EIO;
			freeReplyObject(r); /* +OK of ASKING */
			r = NULL;
		}
		if (redisGetReply(ctx, (void **)&r) != REDIS_OK)
			return -EIO;
		mc_take_reply(l, run, c, r);
	}
	return 0;
}

/* One round: write what has no reply yet, read the replies, follow redirections. 0 or -errno. */
static int mc_run_round(struct mcp_mc_link *l, struct mc_run *run, int round)
{
	int ni, err;

	memset(run->pending, 0, sizeof(run->pending));
	run->need_refresh = 0;
	if (!l->cluster && round == 0 && mc_cmds_contiguous(run->cmds, run->n))
		err = mc_write_contiguous(l, run);
	else
		err = mc_write_round(l, run);
	if (err)
		return err;
	for (ni = 0; ni < l->nnodes; ni++)
		if (run->pending[ni] && (err = mc_read_node(l, run, ni)))
			return err;
	if (run->need_refresh) {
		mc_refresh(l);
		if (round > 1)
			usleep(20000 * round); /* a migration in progress: let it settle */
	}
	return 0;
}

int mcp_mc_link_run(struct mcp_mc_link *l, struct mcp_mc_cmd *cmds, size_t n, int keep_replies,
		    size_t *acked)
{
	struct mc_run run = { .cmds = cmds, .n = n, .left = n, .keep_replies = keep_replies };
	int round, err = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		cmds[i].done = 0;
		cmds[i].asking = 0;
		cmds[i].reply = NULL;
	}
	if (!mcp_mc_link_is_open(l))
		err = mcp_mc_link_open(l);
	for (round = 0; !err && run.left && round <= MC_MAX_REDIRECTS; round++)
		err = mc_run_round(l, &run, round);
	if (!err && run.left)
		err = -EAGAIN;
	if (err && err != -EAGAIN)
		mcp_mc_link_close(l); /* output buffers may hold unsent commands: start clean */
	if (acked)
		*acked = run.ok;
	return err;
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
