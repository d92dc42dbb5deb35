/* ipfix.c - flow records to IPFIX / NetFlow v9 collectors (ipfix.h). Encoding is
 * ipfix_msg.c, transport ipfix_send.c.
 *
 * UDP collectors get the templates at the start of the first message and again every
 * TEMPLATE_EVERY_MSGS messages or TEMPLATE_EVERY_MS (RFC 7011 8.4); TCP collectors get them
 * once per connection, from the transport.
 */
#include "export/ipfix.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "export/ipfix_msg.h"
#include "export/ipfix_send.h"
#include "util/log.h"

#define UDP_MTU 1400
#define TCP_MSG 8192
#define TEMPLATE_EVERY_MSGS 64
#define TEMPLATE_EVERY_MS 10000
#define FLUSH_AFTER_MS 1000

struct collector {
	struct mcp_ipfix_enc enc;
	struct mcp_ipfix_link *link;
	struct mcp_ipfix_msg *msg;  /* being filled; msg->records == 0: empty */
	uint64_t msg_started_ms;
	uint32_t seq;               /* IPFIX: data records so far; v9: messages so far */
	uint32_t msgs_since_tmpl;
	uint64_t last_tmpl_ms;
	uint64_t too_big;           /* records that do not fit an empty message */
};

struct mcp_ipfix {
	pthread_mutex_t mu;
	struct collector c[MCP_IPFIX_MAX_COLLECTORS];
	int n;
	uint64_t start_ms;
	uint64_t flows;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Templates message for a new TCP connection (transport thread: reads only fixed fields). */
static size_t tcp_templates(void *ctx, uint8_t *buf, size_t cap)
{
	struct collector *c = ctx;
	struct mcp_ipfix_msg *m = malloc(sizeof(*m));
	size_t n = 0;

	if (!m)
		return 0;
	mcp_ipfix_msg_begin(&c->enc, m);
	if (!mcp_ipfix_msg_add_templates(&c->enc, m) && m->len <= cap) {
		mcp_ipfix_msg_finish(&c->enc, m, (uint32_t)time(NULL),
				     __atomic_load_n(&c->seq, __ATOMIC_RELAXED), 0);
		memcpy(buf, m->buf, m->len);
		n = m->len;
	}
	free(m);
	return n;
}

static void begin_msg(struct mcp_ipfix *x, struct collector *c)
{
	uint64_t now = mono_ms();

	mcp_ipfix_msg_begin(&c->enc, c->msg);
	c->msg_started_ms = now;
	if (mcp_ipfix_link_is_tcp(c->link))
		return;
	if (!c->last_tmpl_ms || c->msgs_since_tmpl >= TEMPLATE_EVERY_MSGS ||
	    now >= c->last_tmpl_ms + TEMPLATE_EVERY_MS) {
		mcp_ipfix_msg_add_templates(&c->enc, c->msg);
		c->last_tmpl_ms = now;
		c->msgs_since_tmpl = 0;
	}
}

static void send_msg(struct mcp_ipfix *x, struct collector *c)
{
	struct mcp_ipfix_msg *m = c->msg;
	uint32_t seq = c->seq;

	if (!m->records)
		return;
	mcp_ipfix_msg_finish(&c->enc, m, (uint32_t)time(NULL), seq,
			     (uint32_t)(mono_ms() - x->start_ms));
	__atomic_store_n(&c->seq, c->enc.version == MCP_IPFIX_V9 ? seq + 1 : seq + m->records,
			 __ATOMIC_RELAXED);
	mcp_ipfix_link_send(c->link, m->buf, m->len, m->records);
	c->msgs_since_tmpl++;
	begin_msg(x, c);
}

static void add_flow(struct mcp_ipfix *x, struct collector *c, const struct mcp_flow_record *r)
{
	if (!mcp_ipfix_msg_add_flow(&c->enc, c->msg, r))
		return;
	send_msg(x, c);
	if (mcp_ipfix_msg_add_flow(&c->enc, c->msg, r))
		c->too_big++;
}

void mcp_ipfix_flow(void *ctx, const struct mcp_flow_record *r)
{
	struct mcp_ipfix *x = ctx;

	pthread_mutex_lock(&x->mu);
	x->flows++;
	for (int i = 0; i < x->n; i++)
		add_flow(x, &x->c[i], r);
	pthread_mutex_unlock(&x->mu);
}

void mcp_ipfix_tick(struct mcp_ipfix *x)
{
	uint64_t now = mono_ms();

	pthread_mutex_lock(&x->mu);
	for (int i = 0; i < x->n; i++)
		if (x->c[i].msg->records && now >= x->c[i].msg_started_ms + FLUSH_AFTER_MS)
			send_msg(x, &x->c[i]);
	pthread_mutex_unlock(&x->mu);
}

static int is_tcp_spec(const char *spec)
{
	size_t n = strlen(spec);

	return n > 4 && !strcmp(spec + n - 4, "/tcp");
}

struct mcp_ipfix *mcp_ipfix_create(const struct mcp_ipfix_cfg *cfg)
{
	struct mcp_ipfix *x = calloc(1, sizeof(*x));

	if (!x)
		return NULL;
	pthread_mutex_init(&x->mu, NULL);
	x->start_ms = mono_ms();
	for (int i = 0; i < cfg->n && i < MCP_IPFIX_MAX_COLLECTORS; i++) {
		struct collector *c = &x->c[i];

		c->enc.version = cfg->version[i] == 9 ? MCP_IPFIX_V9 : MCP_IPFIX_V10;
		c->enc.uniflow = cfg->uniflow;
		c->enc.domain = cfg->domain;
		/* the encoder is complete before the transport thread may read it */
		c->enc.mtu = is_tcp_spec(cfg->spec[i]) ? TCP_MSG : UDP_MTU;
		c->msg = malloc(sizeof(*c->msg));
		c->link = mcp_ipfix_link_create(cfg->spec[i], c->enc.version == MCP_IPFIX_V10,
						cfg->backlog ? cfg->backlog : 4096, tcp_templates,
						c);
		x->n = i + 1;
		if (!c->msg || !c->link) {
			mcp_ipfix_destroy(x);
			return NULL;
		}
		begin_msg(x, c);
	}
	return x;
}

void mcp_ipfix_finish(struct mcp_ipfix *x, unsigned drain_ms)
{
	if (!x)
		return;
	pthread_mutex_lock(&x->mu);
	for (int i = 0; i < x->n; i++)
		send_msg(x, &x->c[i]);
	pthread_mutex_unlock(&x->mu);
	for (int i = 0; i < x->n; i++)
		mcp_ipfix_link_stop(x->c[i].link, drain_ms);
}

void mcp_ipfix_print_stats(struct mcp_ipfix *x, FILE *f)
{
	fprintf(f, "  ipfix flows exported         %" PRIu64 "\n", x->flows);
	for (int i = 0; i < x->n; i++) {
		struct mcp_ipfix_link_stats s;

		mcp_ipfix_link_stats(x->c[i].link, &s);
		fprintf(f, "  %s %s: records sent %" PRIu64 ", dropped (backlog full) %" PRIu64
			   ", lost %" PRIu64 ", too big %" PRIu64 ", messages %" PRIu64
			   ", connects %" PRIu64 " (%" PRIu64 " failed)\n",
			x->c[i].enc.version == MCP_IPFIX_V9 ? "netflow9" : "ipfix",
			mcp_ipfix_link_name(x->c[i].link), s.records_sent, s.records_dropped,
			s.records_lost, x->c[i].too_big, s.msgs_sent, s.connects,
			s.connect_failures);
	}
}

void mcp_ipfix_destroy(struct mcp_ipfix *x)
{
	if (!x)
		return;
	for (int i = 0; i < x->n; i++) {
		mcp_ipfix_link_destroy(x->c[i].link);
		free(x->c[i].msg);
	}
	pthread_mutex_destroy(&x->mu);
	free(x);
}
