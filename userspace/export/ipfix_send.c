/* ipfix_send.c - collector transport: a bounded message queue drained by one thread per
 * collector (ipfix_send.h). TCP reconnects with exponential backoff and sends the templates
 * first on every new connection (RFC 7011 8.1); UDP just sends.
 */
#include "export/ipfix_send.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "export/ipfix_msg.h"
#include "util/log.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define CONNECT_TIMEOUT_MS 1000
#define SEND_TIMEOUT_S 2
#define IDLE_WAIT_MS 200

struct qmsg {
	uint8_t *data;
	size_t len;
	uint32_t records;
};

struct mcp_ipfix_link {
	char name[160];
	int tcp;
	struct sockaddr_storage sa;
	socklen_t salen;
	mcp_ipfix_templates_fn templates;
	void *tctx;
	pthread_t thread;
	int started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct qmsg *q;
	unsigned cap, head, count;
	int stop;
	uint64_t drain_deadline_ms;
	int fd;
	unsigned backoff_ms;
	uint64_t next_connect_ms;
	struct mcp_ipfix_link_stats st; /* under mu */
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* "HOST:PORT[/udp|/tcp]" or "[V6]:PORT[/...]" into l->sa. 0 or -EINVAL (logged). */
static int parse_spec(struct mcp_ipfix_link *l, const char *spec, int allow_tcp)
{
	char host[128], *port, *proto;
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICSERV }, *ai;
	int rc;

	if (snprintf(host, sizeof(host), "%s", spec) >= (int)sizeof(host))
		goto bad;
	proto = strchr(host, '/');
	if (proto) {
		*proto++ = 0;
		if (!strcmp(proto, "tcp") && allow_tcp)
			l->tcp = 1;
		else if (strcmp(proto, "udp"))
			goto bad;
	}
	port = strrchr(host, ':');
	if (!port || !port[1])
		goto bad;
	*port++ = 0;
	if (host[0] == '[' && strlen(host) > 2 && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = 0;
	}
	if ((rc = getaddrinfo(host, port, &hints, &ai))) {
		mcp_err("%s: %s\n", spec, gai_strerror(rc));
		return -EINVAL;
	}
	memcpy(&l->sa, ai->ai_addr, ai->ai_addrlen);
	l->salen = ai->ai_addrlen;
	freeaddrinfo(ai);
	snprintf(l->name, sizeof(l->name), "%s", spec);
	return 0;
bad:
	mcp_err("%s: expected HOST:PORT%s\n", spec, allow_tcp ? "[/udp|/tcp]" : "");
	return -EINVAL;
}

/* Non-blocking connect bounded by CONNECT_TIMEOUT_MS. The socket, or -1. */
static int tcp_connect(struct mcp_ipfix_link *l)
{
	int fd = socket(l->sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	struct timeval tv = { .tv_sec = SEND_TIMEOUT_S };
	int err = 0;
	socklen_t elen = sizeof(err);

	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&l->sa, l->salen) && errno != EINPROGRESS)
		goto fail;
	if (poll(&p, 1, CONNECT_TIMEOUT_MS) != 1 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) || err)
		goto fail;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
fail:
	close(fd);
	return -1;
}

static int send_all(int fd, const uint8_t *b, size_t len)
{
	while (len) {
		ssize_t n = send(fd, b, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A collector that went away has sent FIN or RST: notice it before writing into the void. */
static int peer_closed(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };
	char c;

	if (poll(&p, 1, 0) <= 0)
		return 0;
	if (p.revents & (POLLRDHUP | POLLHUP | POLLERR))
		return 1;
	return recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK) == 0;
}

static void tcp_close(struct mcp_ipfix_link *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

/* Connected (templates sent) or not yet: 1 / 0. Backoff doubles on every failure. */
static int tcp_ready(struct mcp_ipfix_link *l)
{
	uint8_t tmpl[MCP_IPFIX_MSG_MAX];
	size_t n;
	int ok;

	if (l->fd >= 0 && peer_closed(l->fd)) {
		mcp_warn("ipfix %s: collector closed the connection\n", l->name);
		tcp_close(l);
	}
	if (l->fd >= 0)
		return 1;
	if (now_ms() < l->next_connect_ms)
		return 0;
	l->fd = tcp_connect(l);
	n = l->fd >= 0 ? l->templates(l->tctx, tmpl, sizeof(tmpl)) : 0;
	ok = l->fd >= 0 && (!n || !send_all(l->fd, tmpl, n));
	pthread_mutex_lock(&l->mu);
	if (ok)
		l->st.connects++;
	else
		l->st.connect_failures++;
	pthread_mutex_unlock(&l->mu);
	if (ok) {
		l->backoff_ms = 0;
		mcp_info("ipfix %s: connected\n", l->name);
		return 1;
	}
	tcp_close(l);
	l->backoff_ms = l->backoff_ms ? l->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (l->backoff_ms > BACKOFF_MAX_MS)
		l->backoff_ms = BACKOFF_MAX_MS;
	l->next_connect_ms = now_ms() + l->backoff_ms;
	return 0;
}

/* 1 sent, 0 not connected (keep it queued), -1 failed (lost). */
static int deliver(struct mcp_ipfix_link *l, const struct qmsg *m)
{
	if (!l->tcp)
		return sendto(l->fd, m->data, m->len, MSG_NOSIGNAL, (struct sockaddr *)&l->sa,
			      l->salen) == (ssize_t)m->len ? 1 : -1;
	if (!tcp_ready(l))
		return 0;
	if (send_all(l->fd, m->data, m->len)) {
		mcp_warn("ipfix %s: send failed: %s\n", l->name, strerror(errno));
		tcp_close(l);
		return -1;
	}
	return 1;
}

static void wait_ms(struct mcp_ipfix_link *l, unsigned ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	ts.tv_sec += ms / 1000 + ts.tv_nsec / 1000000000;
	ts.tv_nsec %= 1000000000;
	pthread_cond_timedwait(&l->cv, &l->mu, &ts);
}

static void *link_thread(void *arg)
{
	struct mcp_ipfix_link *l = arg;

	pthread_mutex_lock(&l->mu);
	for (;;) {
		struct qmsg m;
		int rc;

		if (l->stop && (!l->count || now_ms() >= l->drain_deadline_ms))
			break;
		if (!l->count) {
			wait_ms(l, IDLE_WAIT_MS);
			continue;
		}
		m = l->q[l->head];
		pthread_mutex_unlock(&l->mu);
		rc = deliver(l, &m);
		pthread_mutex_lock(&l->mu);
		if (!rc) {
			wait_ms(l, 50);
			continue;
		}
		l->head = (l->head + 1) % l->cap;
		l->count--;
		if (rc > 0) {
			l->st.msgs_sent++;
			l->st.records_sent += m.records;
		} else {
			l->st.records_lost += m.records;
		}
		free(m.data);
	}
	for (; l->count; l->count--, l->head = (l->head + 1) % l->cap) {
		l->st.records_lost += l->q[l->head].records;
		free(l->q[l->head].data);
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

struct mcp_ipfix_link *mcp_ipfix_link_create(const char *spec, int allow_tcp, unsigned backlog,
					     mcp_ipfix_templates_fn templates, void *ctx)
{
	struct mcp_ipfix_link *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->fd = -1;
	l->cap = backlog ? backlog : 1;
	l->templates = templates;
	l->tctx = ctx;
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
	if (parse_spec(l, spec, allow_tcp) || !(l->q = calloc(l->cap, sizeof(*l->q))))
		goto err;
	if (!l->tcp && (l->fd = socket(l->sa.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0) {
		mcp_err("ipfix %s: socket: %s\n", spec, strerror(errno));
		goto err;
	}
	if (pthread_create(&l->thread, NULL, link_thread, l)) {
		mcp_err("ipfix %s: cannot start its thread\n", spec);
		goto err;
	}
	l->started = 1;
	return l;
err:
	mcp_ipfix_link_destroy(l);
	return NULL;
}

int mcp_ipfix_link_send(struct mcp_ipfix_link *l, const uint8_t *msg, size_t len,
			uint32_t records)
{
	uint8_t *copy = malloc(len);
	int rc = 0;

	pthread_mutex_lock(&l->mu);
	if (!copy || l->count == l->cap) {
		l->st.records_dropped += records;
		rc = -ENOBUFS;
	} else {
		memcpy(copy, msg, len);
		l->q[(l->head + l->count) % l->cap] = (struct qmsg){ copy, len, records };
		l->count++;
		copy = NULL;
		pthread_cond_signal(&l->cv);
	}
	pthread_mutex_unlock(&l->mu);
	free(copy);
	return rc;
}

int mcp_ipfix_link_is_tcp(const struct mcp_ipfix_link *l)
{
	return l->tcp;
}

void mcp_ipfix_link_stop(struct mcp_ipfix_link *l, unsigned drain_ms)
{
	if (l->started) {
		pthread_mutex_lock(&l->mu);
		l->stop = 1;
		l->drain_deadline_ms = now_ms() + drain_ms;
		pthread_cond_signal(&l->cv);
		pthread_mutex_unlock(&l->mu);
		pthread_join(l->thread, NULL);
		l->started = 0;
	}
}

void mcp_ipfix_link_destroy(struct mcp_ipfix_link *l)
{
	if (!l)
		return;
	mcp_ipfix_link_stop(l, 0);
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	free(l->q);
	l->q = NULL;
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cv);
	free(l);
}

void mcp_ipfix_link_stats(struct mcp_ipfix_link *l, struct mcp_ipfix_link_stats *s)
{
	pthread_mutex_lock(&l->mu);
	*s = l->st;
	pthread_mutex_unlock(&l->mu);
}

const char *mcp_ipfix_link_name(const struct mcp_ipfix_link *l)
{
	return l->name;
}
