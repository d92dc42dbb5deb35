/* resp_server.c - the RESP view's event loop (resp_server.h): one thread, epoll, non-blocking
 * sockets. Hostile clients are bounded: request size (resp_parse.h), pending reply size,
 * client count, idle time; a protocol error is answered, then the connection closed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "resp/resp_internal.h"
#include "util/log.h"

#define MAX_EVENTS 256
#define LOOP_WAIT_MS 200
#define READ_CHUNK 16384
#define MAX_PENDING_OUT (64u << 20) /* a client that reads nothing is dropped */

uint64_t mcp_resp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void client_close(struct mcp_resp_server *s, struct resp_client *c)
{
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nclients--;
	free(c->in);
	free(c->out.b);
	free(c);
}

/* Writes what is pending; asks for EPOLLOUT while some remains. 0, or -1: close it. */
static int client_flush(struct mcp_resp_server *s, struct resp_client *c)
{
	struct epoll_event ev = { .data.ptr = c };

	while (c->out_sent < c->out.len) {
		ssize_t n = send(c->fd, c->out.b + c->out_sent, c->out.len - c->out_sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0)
			return -1;
		c->out_sent += (size_t)n;
	}
	if (c->out_sent == c->out.len) {
		c->out.len = c->out_sent = 0;
		if (c->closing)
			return -1;
	}
	ev.events = EPOLLIN | (c->out.len ? EPOLLOUT : 0);
	epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev);
	return c->out.len - c->out_sent > MAX_PENDING_OUT || c->out.failed ? -1 : 0;
}

/* Runs every complete request in the input buffer. -1 on a protocol error (answered). */
static int client_requests(struct mcp_resp_server *s, struct resp_client *c)
{
	static struct mcp_resp_req r; /* 16 KiB of pointers: this thread only */
	size_t off = 0;
	int rc = 0;

	while (!c->closing && off < c->in_len) {
		rc = mcp_resp_parse(c->in + off, c->in_len - off, &r);
		if (rc <= 0)
			break;
		off += r.used;
		if (r.argc)
			mcp_resp_exec(s, c, &r);
	}
	if (rc < 0) {
		s->st.protocol_errors++;
		mcp_resp_error(&c->out, r.error);
		c->closing = 1;
	}
	memmove(c->in, c->in + off, c->in_len - off);
	c->in_len -= off;
	if (!c->closing && c->in_len >= MCP_RESP_MAX_REQUEST) {
		s->st.protocol_errors++;
		mcp_resp_error(&c->out, "ERR Protocol error: request too big");
		c->closing = 1;
	}
	return 0;
}

static int client_read(struct mcp_resp_server *s, struct resp_client *c)
{
	for (int rounds = 0; rounds < 16; rounds++) {
		ssize_t n;

		if (c->in_cap - c->in_len < READ_CHUNK) {
			size_t cap = c->in_cap ? c->in_cap * 2 : READ_CHUNK * 2;
			char *b = cap <= 2 * MCP_RESP_MAX_REQUEST ? realloc(c->in, cap) : NULL;

			if (!b)
				return -1;
			c->in = b;
			c->in_cap = cap;
		}
		n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0)
			return -1;
		c->in_len += (size_t)n;
		c->last_ms = mcp_resp_now_ms();
		client_requests(s, c);
		if (c->closing)
			break;
	}
	return client_flush(s, c);
}

static void accept_clients(struct mcp_resp_server *s)
{
	for (;;) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct resp_client *c;
		struct epoll_event ev = { .events = EPOLLIN };

		if (fd < 0)
			return;
		if (s->nclients >= s->cfg.max_clients || !(c = calloc(1, sizeof(*c)))) {
			static const char full[] = "-ERR max number of clients reached\r\n";

			s->st.rejected++;
			if (send(fd, full, sizeof(full) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
				mcp_dbg("resp: could not tell a rejected client why\n");
			close(fd);
			continue;
		}
		c->fd = fd;
		c->id = ++s->next_id;
		c->last_ms = mcp_resp_now_ms();
		c->authed = !s->cfg.password;
		ev.data.ptr = c;
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev)) {
			close(fd);
			free(c);
			continue;
		}
		c->next = s->clients;
		if (c->next)
			c->next->prev = c;
		s->clients = c;
		s->nclients++;
		s->st.connections++;
	}
}

static void close_idle(struct mcp_resp_server *s)
{
	uint64_t now = mcp_resp_now_ms(), limit = (uint64_t)s->cfg.idle_timeout_s * 1000;

	for (struct resp_client *c = s->clients, *next; c; c = next) {
		next = c->next;
		if (now >= c->last_ms + limit) {
			s->st.idle_closed++;
			client_close(s, c);
		}
	}
}

static void *server_thread(void *arg)
{
	struct mcp_resp_server *s = arg;
	struct epoll_event ev[MAX_EVENTS];
	uint64_t last_idle_check = mcp_resp_now_ms();

	while (!s->stop) {
		int n = epoll_wait(s->epfd, ev, MAX_EVENTS, LOOP_WAIT_MS);

		for (int i = 0; i < n; i++) {
			struct resp_client *c = ev[i].data.ptr;

			if (c == NULL) {
				accept_clients(s);
				continue;
			}
			if (c == (void *)s)
				continue; /* the wake-up eventfd: stop is set */
			if ((ev[i].events & (EPOLLERR | EPOLLHUP)) ||
			    ((ev[i].events & EPOLLIN) ? client_read(s, c) : client_flush(s, c)))
				client_close(s, c);
		}
		if (mcp_resp_now_ms() >= last_idle_check + 1000) {
			last_idle_check = mcp_resp_now_ms();
			close_idle(s);
		}
	}
	while (s->clients)
		client_close(s, s->clients);
	return NULL;
}

/* Enough descriptors for max_clients: the soft limit is raised up to the hard one. */
static void raise_fd_limit(uint32_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= want + 64)
		return;
	rl.rlim_cur = rl.rlim_max < want + 64 ? rl.rlim_max : want + 64;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		mcp_warn("resp: cannot raise the open-file limit for %u clients\n", want);
}

static int listen_on(const struct mcp_resp_cfg *cfg)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl;
	int fd, one = 1;

	if (inet_pton(AF_INET, cfg->addr, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(cfg->port);
		sl = sizeof(*a4);
	} else if (inet_pton(AF_INET6, cfg->addr, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(cfg->port);
		sl = sizeof(*a6);
	} else {
		mcp_err("--resp-listen: '%s' is not an IP address\n", cfg->addr);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) || listen(fd, 4096)) {
		mcp_err("--resp-listen %s:%u: %s\n", cfg->addr, cfg->port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

struct mcp_resp_server *mcp_resp_server_start(const struct mcp_resp_cfg *cfg)
{
	struct mcp_resp_server *s = calloc(1, sizeof(*s));
	struct epoll_event lev = { .events = EPOLLIN, .data.ptr = NULL };
	struct epoll_event wev = { .events = EPOLLIN };

	if (!s)
		return NULL;
	s->cfg = *cfg;
	if (!s->cfg.addr)
		s->cfg.addr = "127.0.0.1";
	if (!s->cfg.max_clients)
		s->cfg.max_clients = 10000;
	if (!s->cfg.idle_timeout_s)
		s->cfg.idle_timeout_s = 300;
	s->start_ms = mcp_resp_now_ms();
	s->lfd = s->epfd = s->wake_fd = -1;
	raise_fd_limit(s->cfg.max_clients);
	wev.data.ptr = s;
	if ((s->lfd = listen_on(&s->cfg)) < 0 || (s->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0 ||
	    epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->lfd, &lev) ||
	    epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->wake_fd, &wev) ||
	    pthread_create(&s->thread, NULL, server_thread, s)) {
		if (s->lfd >= 0)
			mcp_err("--resp-listen: cannot start the server: %s\n", strerror(errno));
		s->stop = 1;
		goto err;
	}
	mcp_info("resp: listening on %s:%u\n", s->cfg.addr, s->cfg.port);
	return s;
err:
	if (s->lfd >= 0)
		close(s->lfd);
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	free(s);
	return NULL;
}

void mcp_resp_server_stop(struct mcp_resp_server *s)
{
	uint64_t one = 1;

	if (!s)
		return;
	s->stop = 1;
	if (write(s->wake_fd, &one, sizeof(one)) < 0)
		mcp_dbg("resp: wake-up write failed\n"); /* the loop wakes within 200 ms anyway */
	pthread_join(s->thread, NULL);
	close(s->lfd);
	close(s->epfd);
	close(s->wake_fd);
	mcp_resp_view_free(s->view);
	free(s);
}
