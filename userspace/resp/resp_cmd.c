/* resp_cmd.c - the read-only command table of the RESP view: connection commands, INFO,
 * keyspace reads over the current snapshot; every write answers -READONLY. */
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "resp/resp_internal.h"

#define SNAPSHOT_MAX_AGE_MS 1000
#define KEYS_MAX 100000 /* KEYS answers an error beyond: SCAN is the way */
#define SCAN_COUNT_MAX 10000

typedef void (*cmd_fn)(struct mcp_resp_server *s, struct resp_client *c,
		       struct mcp_resp_req *r);

struct cmd {
	const char *name;
	int arity;     /* >0 exact argc, <0 at least -arity */
	int needs_keys; /* refreshes the snapshot first */
	cmd_fn fn;
};

static int arg_is(const struct mcp_resp_req *r, int i, const char *s)
{
	return r->argl[i] == strlen(s) && !strncasecmp(r->argv[i], s, r->argl[i]);
}

/* NUL-terminated copy of argument i into buf (cut to fit). */
static const char *arg_str(const struct mcp_resp_req *r, int i, char *buf, size_t len)
{
	size_t n = r->argl[i] < len - 1 ? r->argl[i] : len - 1;

	memcpy(buf, r->argv[i], n);
	buf[n] = 0;
	return buf;
}

static int arg_ll(const struct mcp_resp_req *r, int i, long long *v)
{
	char buf[32], *end;

	if (r->argl[i] == 0 || r->argl[i] >= sizeof(buf))
		return -1;
	*v = strtoll(arg_str(r, i, buf, sizeof(buf)), &end, 10);
	return *end ? -1 : 0;
}

static const struct mcp_resp_key *lookup(struct mcp_resp_server *s, const struct mcp_resp_req *r,
					 int i)
{
	return s->view ? mcp_resp_view_get(s->view, r->argv[i], r->argl[i]) : NULL;
}

static const char *field(const struct mcp_resp_key *k, const char *name, size_t len)
{
	for (int i = 0; i < k->nfields; i++)
		if (strlen(k->fields[2 * i]) == len && !memcmp(k->fields[2 * i], name, len))
			return k->fields[2 * i + 1];
	return NULL;
}

static void c_ping(struct mcp_resp_server *s, struct resp_client *c, struct mcp_resp_req *r)
{
	if (r->argc > 2)
		return mcp_resp_error(&c->out, "ERR wrong number of arguments for 'ping' command");
	if (r->argc == 2)
		return mcp_resp_bulk(&c->out, r->argv[1], r->argl[1]);
	mcp_resp_simple(&c->out, "PONG");
}

static void c_echo(struct mcp_resp_server *s, struct resp_client *c, struct mcp_resp_req *r)
{
	mcp_resp_bulk(&c->out, r->argv[1], r->argl[1]);
}

static void c_quit(struct mcp_resp_server *s, struct resp_client *c, struct mcp_resp_req *r)
{
	mcp_resp_simple(&c->out, "OK");
	c->closing = 1;
}

static int check_password(struct mcp_resp_server *s, const struct mcp_resp_req *r, int i)
{
	const char *pw = s->cfg.password;

	return pw && r->argl[i] == strlen(pw) && !memcmp(r->argv[i], pw, r->argl[i]);
}

static void c_auth(struct mcp_resp_server *s, struct resp_client *c, struct mcp_resp_req *r)
{
	if (!s->cfg.password)
		return mcp_resp_error(&c->out, "ERR AUTH <password> called without any password "
					       "configured for the default user");
	if (r->argc > 3)
		return mcp_resp_error(&c->out, "ERR syntax error");
	if (r->argc == 3 && !arg_is(r, 1, "default"))
		return mcp_resp_error(&c->out, "WRONGPASS invalid username-password pair");
	if (!check_password(s, r, r->argc - 1))
		return mcp_resp_error(&c->out, "WRONGPASS invalid username-password pair");
	c->authed = 1;
	mcp_resp_simple(&c->out, "OK");
}

static void hello_reply(struct mcp_resp_server *s, struct resp_client *c)
{
	mcp_resp_map(&c->out, 7);
	mcp_resp_str(&c->out, "server");
	mcp_resp_str(&c->out, "mcprobe");
	mcp_resp_str(&c->out, "version");
	mcp_resp_str(&c->out, "7.0.0");
	mcp_resp_str(&c->out, "proto");
	mcp_resp_int(&c->out, c->out.resp3 ? 3 : 2);
	mcp_resp_str(&c->out, "id");
	mcp_resp_int(&c->out, (long long)c->id);
	mcp_resp_str(&c->out, "mode");
	mcp_resp_str(&c->out, "standalone");
	mcp_resp_str(&c->out, "role");
	mcp_resp_str(&c->out, "replica");
	mcp_resp_str(&c->out, "modules");
	mcp_resp_array(&c->out, 0);
}

static void c_hello(struct mcp_resp_server *s, struct resp_client *c, struct mcp_resp_req *r)
{
	long long ver = c->out.resp3 ? 3 : 2;
	int i = 2;

	if (r->argc >= 2 && (arg_ll(r, 1, &ver) || ver < 2 || ver > 3))
		return mcp_resp_error(&c->out, "NOPROTO unsupported protocol version");
	for (; i < r->argc; i++) {
		if (arg_is(r, i, "AUTH") && i + 2 < r->argc) {
			if (!s->cfg.password || !check_password(s, r, i + 2))
				return mcp_resp_error(&c->out,
						      "WRONGPASS invalid username-password pair");
			c->authed = 1;
			i += 2;
		} else if (arg_is(r, i, "SETNAME") && i + 1 < r->argc) {
			arg_str(r, ++i, c->name, sizeof(c->name));
		} else {
			return mcp_resp_error(&c->out, "ERR syntax error in HELLO option");
		}
	}
	if (s->cfg.password && !c->authed)
		return mcp_resp_error(&c->out, "NOAUTH HELLO must be called with the client "
					       "already authenticated");
	c->out.resp3 = ver == 3;
	hello_reply(s, c);
}

static void c_client(struct mcp_resp_server *s, struct resp_client *c, struct mcp_resp_req *r)
{
	if (arg_is(r, 1, "SETNAME") && r->argc == 3) {
		if (memchr(r->argv[2], ' ', r->argl[2]))
			return mcp_resp_error(&c->out, "ERR Client names cannot contain spaces");
		arg_str(r, 2, c->name, sizeof(c->name));
		return mcp_resp_simple(&c->out, "OK");
	}
	if (arg_is(r, 1, "GETNAME") && r->argc == 2)
		return c->name[0] ? mcp_resp_str(&c->out, c->name) : mcp_resp_null(&c->out);
	if (arg_is(r, 1, "ID") && r->argc == 2)
		return mcp_resp_int(&c->out, (long long)c->id);
	if (arg_is(r, 1, "SETINFO") && r->argc == 4)
		return mcp_resp_simple(&c->out, "OK"); /* redis-py sends it; nothing to keep */
	mcp_resp_error(&c->out, "ERR unknown or unsupported CLIENT subcommand");
}

static const struct cmd cmds[];
static const size_t ncmds;

static void c_command(struct mcp_resp_server *s, struct resp_client *c, struct mcp_resp_req *r)
{
	if (r->argc >= 2 && arg_is(r, 1, "COUNT"))
		return mcp_resp_int(&c->out, (long long)ncmds);
	if (r->argc >= 2 && arg_is(r, 1, "DOCS")) /* minimal: no docs, as the issue allows */
		return mcp_resp_map(&c->out, 0);
	mcp_resp_array(&c->out, ncmds);
	for (size_t i = 0; i < ncmds; i++) {
		mcp_resp_array(&c->out, 2);
		mcp_resp_str(&c->out, cmds[i].name);
		mcp_resp_int(&c->out, cmds[i].arity);
	}
}

static void c_info(struct mcp_resp_server *s, struct resp_client *c, struct mcp_resp_req *r)
{
	char buf[1024];
	int n;

	n = snprintf(buf, sizeof(buf),
		     "# Server\r\nredis_version:7.0.0\r\nserver_name:mcprobe\r\n"
		     "uptime_in_seconds:%" PRIu64 "\r\ntcp_port:%u\r\n\r\n"
		     "# Stats\r\ntotal_connections_received:%" PRIu64 "\r\n"
		     "rejected_connections:%" PRIu64 "\r\ntotal_commands_processed:%" PRIu64 "\r\n"
		     "connected_clients:%u\r\nprotocol_errors:%" PRIu64 "\r\n"
		     "idle_clients_closed:%" PRIu64 "\r\nsnapshots:%" PRIu64 "\r\n"
		     "snapshot_owner_us:%" PRIu64 "\r\n\r\n"
		     "# Keyspace\r\ndb0:keys=%zu,expires=0,avg_ttl=0\r\n",
		     (mcp_resp_now_ms() - s->start_ms) / 1000, s->cfg.port, s->st.connections,
		     s->st.rejected, s->st.commands, s->nclients, s->st.protocol_errors,
		     s->st.idle_closed, s->st.snapshots, s->st.snapshot_owner_us,
		     s->view ? s->view->n : 0);
	mcp_resp_bulk(&c->out, buf, (size_t)n);
}

static void c_dbsize(struct mcp_resp_server *s, struct resp_client *c, struct mcp_resp_req *r)
{
	mcp_resp_int(&c->out, s->view ? (long long)s->view->n : 0);
}

static int matches(const char *pattern, const char *name)
{
	return !pattern || !fnmatch(pattern, name, 0);
}

static void c_keys(struct mcp_resp_server *s, struct resp_client *c, struct mcp_resp_req *r)
{
	char pat[512];
	size_t n = 0, total = s->view ? s->view->n : 0;

	arg_str(r, 1, pat, sizeof(pat));
	for (size_t i = 0; i < total; i++)
		n += (size_t)matches(pat, s->view->keys[i].name);
	if (n > KEYS_MAX)
		return mcp_resp_error(&c->out, "ERR KEYS would return too many keys: use SCAN");
	mcp_resp_array(&c->out, n);
	for (size_t i = 0; i < total; i++)
		if (matches(pat, s->view->keys[i].name))
			mcp_resp_str(&c->out, s->view->keys[i].name);
}

/* SCAN cursor [MATCH p] [COUNT n] [TYPE t]: the cursor is an index in the sorted snapshot
 * (a new snapshot may skip or repeat keys, as Redis's SCAN may while keys change). */
static void c_scan(struct mcp_resp_server *s, struct resp_client *c, struct mcp_resp_req *r)
{
	char pat[512], *pattern = NULL, buf[32];
	long long cur, count = 10;
	int hash_only = 1;
	size_t i, total = s->view ? s->view->n : 0, nout = 0, start;

	if (arg_ll(r, 1, &cur) || cur < 0)
		return mcp_resp_error(&c->out, "ERR invalid cursor");
	for (int a = 2; a < r->argc; a += 2) {
		if (a + 1 >= r->argc)
			return mcp_resp_error(&c->out, "ERR syntax error");
		if (arg_is(r, a, "MATCH"))
			pattern = (char *)arg_str(r, a + 1, pat, sizeof(pat));
		else if (arg_is(r, a, "COUNT") && !arg_ll(r, a + 1, &count) && count > 0)
			count = count > SCAN_COUNT_MAX ? SCAN_COUNT_MAX : count;
		else if (arg_is(r, a, "TYPE"))
			hash_only = arg_is(r, a + 1, "hash");
		else
			return mcp_resp_error(&c->out, "ERR syntax error");
	}
	start = (size_t)cur < total ? (size_t)cur : total;
	for (i = start; i < total && i < start + (size_t)count; i++)
		nout += (size_t)(hash_only && matches(pattern, s->view->keys[i].name));
	mcp_resp_array(&c->out, 2);
	snprintf(buf, sizeof(buf), "%zu", i < total ? i : (size_t)0);
	mcp_resp_str(&c->out, buf);
	mcp_resp_array(&c->out, nout);
	for (size_t j = start; j < i; j++)
		if (hash_only && matches(pattern, s->view->keys[j].name))
			mcp_resp_str(&c->out, s->view->keys[j].name);
}

static void c_type(struct mcp_resp_server *s, struct resp_client *c, struct mcp_resp_req *r)
{
	mcp_resp_simple(&c->out, lookup(s, r, 1) ? "hash" : "none");
}

static void c_exists(struct mcp_resp_server *s, struct resp_client *c, struct mcp_resp_req *r)
{
	long long n = 0;

	for (int i = 1; i < r->argc; i++)
		n += lookup(s, r, i) != NULL;
	mcp_resp_int(&c->out, n);
}

static void c_ttl(struct mcp_resp_server *s, struct resp_client *c, struct mcp_resp_req *r)
{
	mcp_resp_int(&c->out, lookup(s, r, 1) ? -1 : -2);
}

static void c_get(struct mcp_resp_server *s, struct resp_client *c, struct mcp_resp_req *r)
{
	if (lookup(s, r, 1))
		return mcp_resp_error(&c->out, "WRONGTYPE Operation against a key holding the "
					       "wrong kind of value");
	mcp_resp_null(&c->out);
}

static void c_hget(struct mcp_resp_server *s, struct resp_client *c, struct mcp_resp_req *r)
{
	const struct mcp_resp_key *k = lookup(s, r, 1);
	const char *v = k ? field(k, r->argv[2], r->argl[2]) : NULL;

	if (v)
		return mcp_resp_str(&c->out, v);
	mcp_resp_null(&c->out);
}

static void c_hmget(struct mcp_resp_server *s, struct resp_client *c, struct mcp_resp_req *r)
{
	const struct mcp_resp_key *k = lookup(s, r, 1);

	mcp_resp_array(&c->out, (size_t)r->argc - 2);
	for (int i = 2; i < r->argc; i++) {
		const char *v = k ? field(k, r->argv[i], r->argl[i]) : NULL;

		if (v)
			mcp_resp_str(&c->out, v);
		else
			mcp_resp_null(&c->out);
	}
}

static void c_hgetall(struct mcp_resp_server *s, struct resp_client *c, struct mcp_resp_req *r)
{
	const struct mcp_resp_key *k = lookup(s, r, 1);

	mcp_resp_map(&c->out, k ? (size_t)k->nfields : 0);
	for (int i = 0; k && i < k->nfields * 2; i++)
		mcp_resp_str(&c->out, k->fields[i]);
}

static void c_readonly(struct mcp_resp_server *s, struct resp_client *c, struct mcp_resp_req *r)
{
	mcp_resp_error(&c->out, "READONLY You can't write against a read only replica.");
}

static const struct cmd cmds[] = {
	{ "ping", -1, 0, c_ping }, { "echo", 2, 0, c_echo }, { "quit", -1, 0, c_quit },
	{ "auth", -2, 0, c_auth }, { "hello", -1, 0, c_hello }, { "client", -2, 0, c_client },
	{ "command", -1, 0, c_command }, { "info", -1, 1, c_info }, { "dbsize", 1, 1, c_dbsize },
	{ "scan", -2, 1, c_scan }, { "keys", 2, 1, c_keys }, { "type", 2, 1, c_type },
	{ "exists", -2, 1, c_exists }, { "ttl", 2, 1, c_ttl }, { "pttl", 2, 1, c_ttl },
	{ "get", 2, 1, c_get }, { "hget", 3, 1, c_hget }, { "hmget", -3, 1, c_hmget },
	{ "hgetall", 2, 1, c_hgetall },
	/* writes: the view is read-only */
	{ "set", -1, 0, c_readonly }, { "del", -1, 0, c_readonly }, { "hset", -1, 0, c_readonly },
	{ "hdel", -1, 0, c_readonly }, { "expire", -1, 0, c_readonly },
	{ "flushdb", -1, 0, c_readonly }, { "flushall", -1, 0, c_readonly },
	{ "incr", -1, 0, c_readonly }, { "lpush", -1, 0, c_readonly },
	{ "rpush", -1, 0, c_readonly }, { "sadd", -1, 0, c_readonly },
	{ "zadd", -1, 0, c_readonly }, { "publish", -1, 0, c_readonly },
	{ "unlink", -1, 0, c_readonly }, { "rename", -1, 0, c_readonly },
};
static const size_t ncmds = sizeof(cmds) / sizeof(cmds[0]);

static void refresh_view(struct mcp_resp_server *s)
{
	uint64_t now = mcp_resp_now_ms();
	struct mcp_resp_view *v;

	if (s->view && now < s->view_ms + SNAPSHOT_MAX_AGE_MS)
		return;
	if (!(v = calloc(1, sizeof(*v))))
		return;
	s->cfg.snapshot(s->cfg.snapshot_ctx, v);
	mcp_resp_view_seal(v);
	mcp_resp_view_free(s->view);
	s->view = v;
	s->view_ms = now;
	s->st.snapshots++;
	s->st.snapshot_owner_us += v->owner_ns / 1000;
}

void mcp_resp_exec(struct mcp_resp_server *s, struct resp_client *c, struct mcp_resp_req *r)
{
	const struct cmd *cmd = NULL;
	char msg[160], name[40];

	s->st.commands++;
	for (size_t i = 0; i < ncmds && !cmd; i++)
		if (arg_is(r, 0, cmds[i].name))
			cmd = &cmds[i];
	arg_str(r, 0, name, sizeof(name));
	for (char *p = name; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == '\'')
			*p = '?';
	if (!cmd) {
		snprintf(msg, sizeof(msg), "ERR unknown command '%s'", name);
		return mcp_resp_error(&c->out, msg);
	}
	if ((cmd->arity > 0 && r->argc != cmd->arity) || (cmd->arity < 0 && r->argc < -cmd->arity)) {
		snprintf(msg, sizeof(msg), "ERR wrong number of arguments for '%s' command", name);
		return mcp_resp_error(&c->out, msg);
	}
	if (s->cfg.password && !c->authed && cmd->fn != c_auth && cmd->fn != c_hello &&
	    cmd->fn != c_quit)
		return mcp_resp_error(&c->out, "NOAUTH Authentication required.");
	if (cmd->needs_keys)
		refresh_view(s);
	cmd->fn(s, c, r);
}
