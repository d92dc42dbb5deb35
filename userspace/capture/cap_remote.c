/* cap_remote.c - mcp-capture -i IFACE --redis: the subscribers' tunnels from the microcloud
 * (imsi.<IMSI> facts, events.imsi.<IMSI> pub/sub: docs/microcloud.md), frames from an
 * AF_PACKET socket (libpcap) on IFACE.
 *
 * The kernel filter is fixed ("GTP-U"), and the selection by tunnel happens here, so an event
 * never changes a kernel filter and no frame can fall between two filters. A thread keeps
 * the SUBSCRIBE connection; on every event it re-reads the subscriber's fact. If Redis goes
 * away, capture goes on with the tunnels known, it says so, and it resubscribes (and re-reads
 * every fact) once Redis is back.
 *
 * --control widens the kernel filter to GTP-C and PFCP, and a selector that follows them
 * (cap_select.c) writes the subscribers' messages.
 */
#include <errno.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "capture/cap_live.h"
#include "capture/cap_remote.h"
#include "capture/cap_select.h"
#include "capture/cap_tunset.h"
#include "decode/decode.h"
#include "microcloud/microcloud.h"
#include "util/log.h"

#define MCP_REMOTE_GRACE_MS 60000   /* = the microcloud's default delete grace */
#define MCP_REMOTE_RETRY_MS 1000
#define MCP_REMOTE_POLL_MS 200
#define MCP_REMOTE_FILTER "udp port 2152 or (vlan and udp port 2152)"
#define MCP_REMOTE_PORTS_CTL "(udp port 2152 or udp port 2123 or udp port 8805)"
#define MCP_REMOTE_FILTER_CTL MCP_REMOTE_PORTS_CTL " or (vlan and " MCP_REMOTE_PORTS_CTL ")"

struct mcp_remote {
	const struct mcp_cap_live_cfg *cfg;
	struct mcp_mc_cfg mc_cfg;
	struct mcp_mc *mc;
	struct mcp_cap_tunset *tun;
	struct mcp_decoder *dec;
	struct mcp_cap_select *sel;    /* --control: GTP-C and PFCP of the IMSIs */
	struct mcp_cap_file *w;
	pthread_t thread;
	volatile int stop;
	volatile uint64_t outages, refreshes;
	uint64_t written, control;
	int err, done;
};

static uint64_t mcp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Re-reads one IMSI's fact. 0 (found or not attached yet) or -errno (Redis unreachable). */
static int mcp_remote_refresh(struct mcp_remote *r, const char *imsi)
{
	struct mcp_subscriber sub;
	int rc = mcp_mc_lookup_subscriber(r->mc, imsi, &sub);

	if (rc < 0)
		return rc;
	r->refreshes++;
	if (rc == 1) {
		mcp_cap_tunset_refresh(r->tun, &sub, mcp_now_ms());
		mcp_dbg("IMSI %s: %u tunnels\n", imsi, sub.ntunnels);
	}
	return 0;
}

static redisContext *mcp_remote_connect(const struct mcp_mc_cfg *c)
{
	struct timeval tv = { 2, 0 };
	redisContext *ctx;
	redisReply *rep = NULL;

	if (c->unix_path)
		ctx = redisConnectUnixWithTimeout(c->unix_path, tv);
	else
		ctx = redisConnectWithTimeout(c->host, c->port, tv);
	if (!ctx || ctx->err)
		goto err;
	if (c->password) {
		rep = c->user ? redisCommand(ctx, "AUTH %s %s", c->user, c->password) :
				redisCommand(ctx, "AUTH %s", c->password);
		if (!rep || rep->type == REDIS_REPLY_ERROR)
			goto err;
		freeReplyObject(rep);
	}
	return ctx;
err:
	if (rep)
		freeReplyObject(rep);
	if (ctx)
		redisFree(ctx);
	return NULL;
}

/* SUBSCRIBE to every IMSI's channel, then read every fact (events from here on are seen). */
static int mcp_remote_subscribe(struct mcp_remote *r, redisContext *ctx)
{
	const struct mcp_imsi_set *s = r->cfg->imsis;
	const char *p = r->mc_cfg.prefix ? r->mc_cfg.prefix : "";
	redisReply *rep;
	uint32_t i;

	for (i = 0; i < s->n; i++) {
		rep = redisCommand(ctx, "SUBSCRIBE %sevents.imsi.%s", p, s->imsi[i]);
		if (!rep || rep->type == REDIS_REPLY_ERROR) {
			if (rep)
				freeReplyObject(rep);
			return -EIO;
		}
		freeReplyObject(rep);
	}
	for (i = 0; i < s->n; i++)
		if (mcp_remote_refresh(r, s->imsi[i]))
			return -EIO;
	return 0;
}

/* One message of a subscription: ["message", channel, payload]; the IMSI ends the channel. */
static void mcp_remote_on_message(struct mcp_remote *r, const redisReply *rep)
{
	const char *ch, *dot;

	if (rep->type != REDIS_REPLY_ARRAY)
		return;
	if (rep->elements < 3 || rep->element[1]->type != REDIS_REPLY_STRING)
		return;
	ch = rep->element[1]->str;
	dot = strrchr(ch, '.');
	if (dot && mcp_imsi_set_has(r->cfg->imsis, dot + 1))
		mcp_remote_refresh(r, dot + 1);
}

/* Reads subscription messages until the connection fails or the run stops. */
static void mcp_remote_listen(struct mcp_remote *r, redisContext *ctx)
{
	while (!r->stop) {
		struct pollfd pfd = { .fd = ctx->fd, .events = POLLIN };
		void *rep = NULL;

		if (redisGetReplyFromReader(ctx, &rep) != REDIS_OK)
			return;
		if (rep) {
			mcp_remote_on_message(r, rep);
			freeReplyObject(rep);
			continue;
		}
		if (poll(&pfd, 1, MCP_REMOTE_POLL_MS) < 0 && errno != EINTR)
			return;
		if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) && redisBufferRead(ctx) != REDIS_OK)
			return;
	}
}

static void *mcp_remote_thread(void *arg)
{
	struct mcp_remote *r = arg;
	int down = 0;

	while (!r->stop) {
		redisContext *ctx = mcp_remote_connect(&r->mc_cfg);

		if (ctx && mcp_remote_subscribe(r, ctx) == 0) {
			if (down)
				mcp_warn("microcloud back: resubscribed, %u tunnels selected\n",
					 mcp_cap_tunset_count(r->tun, mcp_now_ms()));
			down = 0;
			mcp_remote_listen(r, ctx);
		}
		if (ctx)
			redisFree(ctx);
		if (r->stop)
			break;
		if (!down) {
			r->outages++;
			mcp_warn("microcloud lost: still capturing the %u known tunnels; "
				 "resubscribing every %u ms\n",
				 mcp_cap_tunset_count(r->tun, mcp_now_ms()), MCP_REMOTE_RETRY_MS);
		}
		down = 1;
		usleep(MCP_REMOTE_RETRY_MS * 1000);
	}
	return NULL;
}

static void mcp_remote_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
	struct mcp_remote *r = (struct mcp_remote *)user;
	uint64_t ts_ns = (uint64_t)h->ts.tv_sec * 1000000000u + (uint64_t)h->ts.tv_usec;
	struct mcp_pkt pkt;
	uint32_t cap = h->caplen;

	if (r->done || r->err)
		return;
	mcp_decode(r->dec, DLT_EN10MB, data, h->caplen, h->len, ts_ns / 1000, &pkt);
	if (pkt.tunnel != MCP_TUN_GTPU) {
		if (!r->sel || !mcp_cap_select_frame(r->sel, DLT_EN10MB, data, h->caplen, h->len,
						     ts_ns / 1000))
			return;
		r->control++;
	} else if (!mcp_cap_tunset_has(r->tun, pkt.teid, &pkt.outer_dst, ts_ns / 1000000)) {
		return;
	}
	if (r->cfg->snaplen && cap > r->cfg->snaplen)
		cap = r->cfg->snaplen;
	r->err = mcp_cap_file_write(r->w, ts_ns, data, cap, h->len);
	if (!r->err && ++r->written == r->cfg->count)
		r->done = 1;
}

/* AF_PACKET on the interface: nanosecond stamps, immediate delivery, a fixed filter. */
static pcap_t *mcp_remote_pcap(const char *iface, int control)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	struct bpf_program prog;
	pcap_t *pc = pcap_create(iface, errbuf);

	if (!pc) {
		mcp_err("%s: %s\n", iface, errbuf);
		return NULL;
	}
	pcap_set_snaplen(pc, 262144);
	pcap_set_immediate_mode(pc, 1);
	pcap_set_buffer_size(pc, 64 << 20);
	pcap_set_timeout(pc, MCP_REMOTE_POLL_MS);
	pcap_set_tstamp_precision(pc, PCAP_TSTAMP_PRECISION_NANO);
	if (pcap_activate(pc) < 0 || pcap_datalink(pc) != DLT_EN10MB ||
	    pcap_compile(pc, &prog, control ? MCP_REMOTE_FILTER_CTL : MCP_REMOTE_FILTER, 1,
			 PCAP_NETMASK_UNKNOWN) ||
	    pcap_setfilter(pc, &prog)) {
		mcp_err("%s: cannot capture: %s\n", iface, pcap_geterr(pc));
		pcap_close(pc);
		return NULL;
	}
	pcap_freecode(&prog);
	if (pcap_setnonblock(pc, 1, errbuf)) {
		mcp_err("%s: %s\n", iface, errbuf);
		pcap_close(pc);
		return NULL;
	}
	return pc;
}

/* Connects and reads the facts once: a Redis that refuses is an input error. */
static int mcp_remote_start(struct mcp_remote *r)
{
	redisContext *ctx;

	mcp_mc_cfg_defaults(&r->mc_cfg);
	if (mcp_mc_parse_endpoint(&r->mc_cfg, r->cfg->redis)) {
		mcp_err("invalid --redis '%s' (expected HOST:PORT or unix:/path)\n", r->cfg->redis);
		return -EINVAL;
	}
	r->mc_cfg.prefix = r->cfg->redis_prefix;
	if (mcp_mc_parse_auth(&r->mc_cfg, NULL))
		return -EINVAL;
	ctx = mcp_remote_connect(&r->mc_cfg);
	if (!ctx) {
		mcp_err("--redis %s: cannot connect or authenticate\n", r->cfg->redis);
		return -ECONNREFUSED;
	}
	redisFree(ctx);
	r->mc = mcp_mc_create(&r->mc_cfg);
	r->tun = mcp_cap_tunset_create(MCP_REMOTE_GRACE_MS);
	r->dec = mcp_decoder_create(NULL);
	if (r->cfg->control)
		r->sel = mcp_cap_select_create(r->cfg->imsis, 1);
	return r->mc && r->tun && r->dec && (r->sel || !r->cfg->control) ? 0 : -ENOMEM;
}

static void mcp_remote_free(struct mcp_remote *r)
{
	if (r->mc)
		mcp_mc_destroy(r->mc);
	mcp_mc_cfg_free_auth(&r->mc_cfg);
	mcp_cap_tunset_destroy(r->tun);
	if (r->dec)
		mcp_decoder_destroy(r->dec);
	mcp_cap_select_destroy(r->sel);
}

int mcp_cap_remote_run(const struct mcp_cap_live_cfg *cfg, volatile sig_atomic_t *stop)
{
	struct mcp_remote r = { .cfg = cfg };
	struct pcap_stat ps = { 0 };
	uint64_t t0 = mcp_now_ms();
	pcap_t *pc = NULL;
	int rc = MCP_CAP_LIVE_USAGE, started = 0;

	if (mcp_remote_start(&r))
		goto out;
	pc = mcp_remote_pcap(cfg->iface, cfg->control);
	if (!pc || mcp_cap_file_create(cfg->file, &r.w))
		goto out;
	rc = MCP_CAP_LIVE_FAIL;
	if (pthread_create(&r.thread, NULL, mcp_remote_thread, &r))
		goto out;
	started = 1;
	mcp_info("%s: capture running (remote, microcloud %s)\n", cfg->iface, cfg->redis);
	while (!*stop && !r.done && !r.err) {
		struct pollfd pfd = { .fd = pcap_get_selectable_fd(pc), .events = POLLIN };

		/* our own wait: libpcap's would resume after the signal that asks us to stop */
		if (poll(&pfd, 1, MCP_REMOTE_POLL_MS) < 0 && errno != EINTR) {
			r.err = -errno;
			break;
		}
		if (pcap_dispatch(pc, -1, mcp_remote_packet, (u_char *)&r) < 0) {
			mcp_err("%s: %s\n", cfg->iface, pcap_geterr(pc));
			r.err = -EIO;
		}
		if (cfg->duration_ns && (mcp_now_ms() - t0) * 1000000u >= cfg->duration_ns)
			break;
	}
	pcap_stats(pc, &ps);
	r.stop = 1;
	pthread_join(r.thread, NULL);
	started = 0;
	if (r.err || mcp_cap_file_close(r.w)) {
		if (r.err)
			mcp_cap_file_abort(r.w);
		r.w = NULL;
		goto out;
	}
	r.w = NULL;
	fprintf(stderr, "mcp-capture: %" PRIu64 " frames written (control %" PRIu64 "); lost: %u "
		"(socket drops %u, interface drops %u); microcloud outages %" PRIu64 ", fact reads %"
		PRIu64 "\n", r.written, r.control, ps.ps_drop + ps.ps_ifdrop, ps.ps_drop,
		ps.ps_ifdrop, r.outages, r.refreshes);
	rc = ps.ps_drop || ps.ps_ifdrop || r.outages ? MCP_CAP_LIVE_LOST : MCP_CAP_LIVE_OK;
out:
	r.stop = 1;
	if (started)
		pthread_join(r.thread, NULL);
	if (r.w)
		mcp_cap_file_abort(r.w);
	if (pc)
		pcap_close(pc);
	mcp_remote_free(&r);
	return rc;
}
