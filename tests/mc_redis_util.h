/* mc_redis_util.h - test helpers: start/stop a real redis-server on a free loopback port,
 * poll it, build synthetic subscribers. Used by tests/test_microcloud*.c and bench/.
 */
#ifndef MCP_MC_REDIS_UTIL_H
#define MCP_MC_REDIS_UTIL_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "mcp_addr.h"
#include "session/session.h"

struct tr_redis {
	pid_t pid;
	int port;
	char dir[64];
	char args[512];
};

static inline uint64_t tr_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static inline void tr_sleep_ms(unsigned ms)
{
	usleep(ms * 1000);
}

/* A loopback port nobody listens on (bound then released). */
static inline int tr_free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(fd, (struct sockaddr *)&a, &l)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static inline int tr_port_free(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				 .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

	if (fd < 0)
		return 0;
	ok = !bind(fd, (struct sockaddr *)&a, sizeof(a));
	close(fd);
	return ok;
}

/* A port P for a cluster node: P and its bus port P + 10000 are both free and below the
 * ephemeral range (so nobody else is handed them meanwhile). */
static inline int tr_free_cluster_port(void)
{
	static unsigned seed;
	int i;

	if (!seed)
		seed = (unsigned)getpid() * 2654435761u ^ (unsigned)time(NULL);
	for (i = 0; i < 1000; i++) {
		int p;

		seed = seed * 1103515245u + 12345u;
		p = 12000 + (int)((seed >> 8) % 8000);
		if (tr_port_free(p) && tr_port_free(p + 10000))
			return p;
	}
	return -1;
}

/* Waits until OUR server (pid) answers: INFO names its process_id, or (AUTH required) it
 * answers NOAUTH while the child is alive. A port taken by someone else is detected. 0 / -1. */
static inline int tr_wait_up_pid(int port, pid_t pid, unsigned timeout_ms)
{
	uint64_t end = tr_now_ms() + timeout_ms;
	struct timeval tv = { 0, 200000 };
	char want[32];

	snprintf(want, sizeof(want), "process_id:%d\r", (int)pid);
	while (tr_now_ms() < end) {
		redisContext *c;
		redisReply *r;
		int st = 0;

		if (pid > 0 && waitpid(pid, &st, WNOHANG) == pid)
			return -1; /* it exited: port in use, bad option, ... */
		c = redisConnectWithTimeout("127.0.0.1", port, tv);
		if (c && !c->err && (r = redisCommand(c, "INFO server"))) {
			int ok = 0;

			if (r->type == REDIS_REPLY_STRING)
				ok = pid <= 0 || strstr(r->str, want) != NULL;
			else if (r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "NOAUTH", 6))
				ok = 1;
			freeReplyObject(r);
			redisFree(c);
			if (ok && pid > 0) {
				tr_sleep_ms(30);
				if (waitpid(pid, &st, WNOHANG) == pid)
					return -1;
			}
			if (ok)
				return 0;
			if (pid > 0)
				return -1; /* someone else's server */
			tr_sleep_ms(20);
			continue;
		}
		if (c)
			redisFree(c);
		tr_sleep_ms(20);
	}
	return -1;
}

static inline int tr_wait_up(int port, unsigned timeout_ms)
{
	return tr_wait_up_pid(port, 0, timeout_ms);
}

static inline int tr_redis_try(struct tr_redis *r, int port, const char *extra)
{
	char *argv[64], *tok, *save = NULL;
	int argc = 0;
	pid_t pid;

	if (!r->dir[0]) {
		snprintf(r->dir, sizeof(r->dir), "/tmp/mcp-redis-XXXXXX");
		if (!mkdtemp(r->dir))
			return -1;
	}
	r->port = port ? port : tr_free_port();
	snprintf(r->args, sizeof(r->args), "%s", extra ? extra : "");
	fflush(NULL); /* the child must not write our buffered output again */
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		static char ps[16];
		char *a;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		snprintf(ps, sizeof(ps), "%d", r->port);
		argv[argc++] = "redis-server";
		argv[argc++] = "--port";
		argv[argc++] = ps;
		argv[argc++] = "--bind";
		argv[argc++] = "127.0.0.1";
		argv[argc++] = "--save";
		argv[argc++] = "";
		argv[argc++] = "--appendonly";
		argv[argc++] = "no";
		argv[argc++] = "--dir";
		argv[argc++] = r->dir;
		argv[argc++] = "--loglevel";
		argv[argc++] = "warning";
		for (tok = strtok_r(r->args, " ", &save); tok && argc < 62;
		     tok = strtok_r(NULL, " ", &save)) {
			for (a = tok; *a; a++)
				if (*a == '\x01')
					*a = ' ';
			argv[argc++] = tok;
		}
		argv[argc] = NULL;
		if (!freopen("/dev/null", "w", stdout))
			_exit(126);
		execvp("redis-server", argv);
		_exit(127);
	}
	r->pid = pid;
	if (tr_wait_up_pid(r->port, pid, 5000)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		r->pid = 0;
		return -1;
	}
	return 0;
}

/* Starts redis-server on port (0: a free one, -1: a free cluster port) with extra
 * space-separated args (use \x01 for a space inside an arg). Dies with the test process.
 * A chosen port that turns out taken is replaced (up to 5 tries). 0 or -1. */
static inline int tr_redis_start(struct tr_redis *r, int port, const char *extra)
{
	int i;

	for (i = 0; i < 5; i++) {
		int p = port > 0 ? port : port < 0 ? tr_free_cluster_port() : tr_free_port();

		if (!tr_redis_try(r, p, extra))
			return 0;
		if (port > 0)
			tr_sleep_ms(200); /* a fixed port (restart): it may still be closing */
	}
	return -1;
}

static inline void tr_redis_kill(struct tr_redis *r)
{
	if (r->pid > 0) {
		kill(r->pid, SIGKILL);
		waitpid(r->pid, NULL, 0);
		r->pid = 0;
	}
}

static inline void tr_redis_stop(struct tr_redis *r)
{
	char cmd[128];

	tr_redis_kill(r);
	if (r->dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", r->dir);
		if (system(cmd))
			(void)0;
		r->dir[0] = 0;
	}
}

static inline redisContext *tr_connect(int port)
{
	struct timeval tv = { 2, 0 };
	redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);

	if (c && c->err) {
		redisFree(c);
		return NULL;
	}
	return c;
}

/* One command, the reply as a string ("" for nil, "(err)..." for errors, integers in text). */
static inline char *tr_cmd_str(redisContext *c, char *buf, size_t sz, const char *fmt, ...)
{
	redisReply *r;
	va_list ap;

	va_start(ap, fmt);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);
	buf[0] = 0;
	if (!r)
		return snprintf(buf, sz, "(io)"), buf;
	if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS)
		snprintf(buf, sz, "%.*s", (int)r->len, r->str);
	else if (r->type == REDIS_REPLY_ERROR)
		snprintf(buf, sz, "(err)%s", r->str);
	else if (r->type == REDIS_REPLY_INTEGER)
		snprintf(buf, sz, "%lld", r->integer);
	freeReplyObject(r);
	return buf;
}

static inline long long tr_cmd_int(redisContext *c, const char *fmt, ...)
{
	redisReply *r;
	long long v = -999;
	va_list ap;

	va_start(ap, fmt);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);
	if (r && r->type == REDIS_REPLY_INTEGER)
		v = r->integer;
	else if (r && r->type == REDIS_REPLY_STRING)
		v = strtoll(r->str, NULL, 10);
	if (r)
		freeReplyObject(r);
	return v;
}

/* HGET field of a hash as a string. */
static inline char *tr_hget(redisContext *c, char *buf, size_t sz, const char *key,
			    const char *field)
{
	return tr_cmd_str(c, buf, sz, "HGET %s %s", key, field);
}

/* A synthetic subscriber n: IMSI 00101000000<n>, MSISDN, IPv4 10.<n>, 2 tunnels. */
static inline void tr_make_sub(struct mcp_subscriber *s, unsigned n, unsigned ver)
{
	uint8_t v4[4] = { 10, (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n };
	uint8_t sgw[4] = { 192, 168, 1, (uint8_t)(1 + (ver & 7)) }, enb[4] = { 172, 16, 0, 9 };

	memset(s, 0, sizeof(*s));
	snprintf(s->imsi, sizeof(s->imsi), "001010%09u", n % 1000000000u);
	snprintf(s->msisdn, sizeof(s->msisdn), "3361%07u", n);
	snprintf(s->imei, sizeof(s->imei), "35%013u", n);
	snprintf(s->apn, sizeof(s->apn), "internet.v%u", ver);
	mcp_ip_from_v4(&s->ue_ipv4, v4);
	s->has_ipv4 = 1;
	s->rat = 6;
	s->gtp_version = 2;
	s->state = MCP_SUB_ACTIVE;
	s->ntunnels = 2;
	s->tunnels[0].teid = 0x10000000u + n * 16 + ver;
	mcp_ip_from_v4(&s->tunnels[0].addr, sgw);
	s->tunnels[0].dir = MCP_DIR_UP;
	s->tunnels[0].ebi = 5;
	s->tunnels[0].iface = 1;
	s->tunnels[1].teid = 0x20000000u + n * 16 + ver;
	mcp_ip_from_v4(&s->tunnels[1].addr, enb);
	s->tunnels[1].dir = MCP_DIR_DOWN;
	s->tunnels[1].ebi = 5;
	s->tunnels[1].iface = 0;
	s->last_change_ms = 1700000000000ull + n * 1000 + ver;
}

#endif /* MCP_MC_REDIS_UTIL_H */
