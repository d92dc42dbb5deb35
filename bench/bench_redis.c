/* bench_redis.c - microcloud writer throughput and event latency against a local redis-server.
 *
 * Starts redis-server on a free loopback port (no persistence), then measures:
 *  0. writer only: N attaches queued while Redis is away, then Redis starts: the writer's
 *     resync + queue drain, commands acknowledged per second (no producer in the way);
 *  1. facts: N subscriber attaches + modifies (HSET, PERSIST, SET ip/msisdn/teid, and the
 *     events: 2 PUBLISH + XADD each) -> Redis commands acknowledged per second;
 *  2. counters: flow records from a producer thread for a few seconds (host./proto./agg.
 *     HINCRBY + EXPIRE, aggregated per flush) -> commands/s and flow records/s;
 *  3. event latency: control events 1 ms apart, idle and under the counter load, measured
 *     from mcp_mc_session_event() to the message arriving on a SUBSCRIBEd connection
 *     (p50/p99/max). Goals: >= 200,000 commands/s; p99 <= 50 ms.
 * Prints figures only; asserts nothing.
 * Usage: bench_redis [N subscribers, default 100000] [all|writer|facts|counters|latency].
 * Build: see docs/microcloud.md ("Benchmark"), output in $BUILD/bench/bench_redis.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "mc_redis_util.h"
#include "microcloud/microcloud.h"
#include "flow/record.h"

#define LAT_N 2000

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static pid_t redis_pid;

/* CPU seconds used so far by redis-server (utime + stime from /proc). */
static double redis_cpu(void)
{
	unsigned long ut = 0, st = 0;
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)redis_pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%*d %*s %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		ut = st = 0;
	fclose(f);
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Throughput each side could sustain on a core of its own (the machine may be shared). */
static void print_cpu(uint64_t cmds, double writer_s, double redis_s)
{
	printf("    CPU: writer thread %.3f s (%.2f us/cmd, %.0f cmds/s per core), redis-server "
	       "%.3f s (%.2f us/cmd)\n",
	       writer_s, writer_s * 1e6 / (double)cmds, (double)cmds / writer_s, redis_s,
	       redis_s * 1e6 / (double)cmds);
}

static struct mcp_mc *mc_new(int port)
{
	struct mcp_mc_cfg c;

	mcp_mc_cfg_defaults(&c);
	c.port = port;
	c.prefix = "b.";
	c.probe_name = "bench";
	c.queue_len = 1 << 18;
	c.stream_maxlen = 10000;
	return mcp_mc_create(&c);
}

static void bench_facts(int port, unsigned n)
{
	struct mcp_mc *m = mc_new(port);
	struct mcp_mc_stats a, b;
	struct mcp_subscriber s;
	uint64_t t0, t1;
	unsigned i;

	double rc0;

	mcp_mc_flush(m, 5000);
	mcp_mc_get_stats(m, &a);
	rc0 = redis_cpu();
	t0 = now_us();
	for (i = 0; i < n; i++) {
		tr_make_sub(&s, i, 0);
		mcp_mc_session_event(m, MCP_EV_ATTACH, &s, 1);
	}
	for (i = 0; i < n; i++) {
		tr_make_sub(&s, i, 1);
		mcp_mc_session_event(m, MCP_EV_MODIFY, &s, 2);
	}
	if (mcp_mc_flush(m, 120000))
		printf("facts: flush timed out\n");
	t1 = now_us();
	mcp_mc_get_stats(m, &b);
	printf("facts+events: %u attach + %u modify, %llu commands in %.3f s = %.0f commands/s "
	       "(%llu batches, %llu coalesced, %llu events dropped, %llu errors)\n",
	       n, n, (unsigned long long)(b.cmds_sent - a.cmds_sent), (double)(t1 - t0) / 1e6,
	       (double)(b.cmds_sent - a.cmds_sent) * 1e6 / (double)(t1 - t0),
	       (unsigned long long)(b.batches - a.batches), (unsigned long long)b.coalesced,
	       (unsigned long long)b.events_dropped, (unsigned long long)b.cmd_errors);
	print_cpu(b.cmds_sent - a.cmds_sent, (double)(b.writer_cpu_us - a.writer_cpu_us) / 1e6,
		  redis_cpu() - rc0);
	mcp_mc_destroy(m);
}

/* Writer only: the queue is filled while Redis is away, then Redis comes up and the writer
 * resyncs every fact and drains the queue (facts + events) as fast as it can. */
static void bench_writer(struct tr_redis *r, unsigned n)
{
	struct mcp_mc_cfg c;
	struct mcp_mc *m;
	struct mcp_mc_stats st, st0;
	struct mcp_subscriber s;
	uint64_t t0, t1;
	unsigned i;
	int port = r->port;
	double rc0;

	tr_redis_kill(r);
	mcp_mc_cfg_defaults(&c);
	c.port = port;
	c.prefix = "w.";
	c.probe_name = "bench";
	c.queue_len = 4 * n + 16;
	c.stream_maxlen = 10000;
	m = mcp_mc_create(&c);
	for (i = 0; i < n; i++) {
		tr_make_sub(&s, i, 0);
		mcp_mc_session_event(m, MCP_EV_ATTACH, &s, 1);
	}
	if (tr_redis_start(r, port, NULL)) {
		printf("writer: redis-server did not restart\n");
		mcp_mc_destroy(m);
		return;
	}
	redis_pid = r->pid;
	rc0 = redis_cpu();
	mcp_mc_get_stats(m, &st0);
	t0 = now_us();
	if (mcp_mc_flush(m, 120000))
		printf("writer: flush timed out\n");
	t1 = now_us();
	mcp_mc_get_stats(m, &st);
	/* the time includes the reconnect backoff (<= 200 ms here) */
	printf("writer only (queued while Redis was away): %llu commands in %.3f s = %.0f "
	       "commands/s (%llu batches, resync of %llu facts + %u queued attaches/events)\n",
	       (unsigned long long)st.cmds_sent, (double)(t1 - t0) / 1e6,
	       (double)st.cmds_sent * 1e6 / (double)(t1 - t0), (unsigned long long)st.batches,
	       (unsigned long long)st.facts_held, n);
	print_cpu(st.cmds_sent, (double)(st.writer_cpu_us - st0.writer_cpu_us) / 1e6,
		  redis_cpu() - rc0);
	mcp_mc_destroy(m);
}

struct load {
	struct mcp_mc *m;
	atomic_int stop;
	uint64_t flows;
};

static void *flow_load(void *arg)
{
	struct load *l = arg;
	struct mcp_flow_record r;
	static const char *apps[] = { "TLS.YouTube", "DNS", "HTTP", "QUIC.Google", "TLS",
				      "WhatsApp", "Facebook", "Netflix" };
	uint64_t i = 0;

	memset(&r, 0, sizeof(r));
	while (!atomic_load(&l->stop)) {
		uint8_t a[4] = { 10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i };
		uint8_t b[4] = { 172, 217, (uint8_t)(i % 7), (uint8_t)(i % 251) };

		mcp_ip_from_v4(&r.src_ip, a);
		mcp_ip_from_v4(&r.dst_ip, b);
		r.pkts_up = 10;
		r.pkts_down = 12;
		r.bytes_up = 1000;
		r.bytes_down = 15000;
		r.first_ms = 1700000000000ull + i;
		r.last_ms = r.first_ms + 2000;
		snprintf(r.app, sizeof(r.app), "%s", apps[i % 8]);
		snprintf(r.imsi, sizeof(r.imsi), "001010%09u", (unsigned)(i % 50000));
		mcp_mc_flow(l->m, &r);
		/* ~20k distinct hosts per second: the in-memory aggregation is what is measured */
		i = (i + 1) % 200000;
		l->flows++;
	}
	return NULL;
}

static void bench_counters(int port, unsigned seconds)
{
	struct load l = { .m = mc_new(port) };
	struct mcp_mc_stats a, b;
	pthread_t th;
	uint64_t t0, t1;

	double rc0;

	mcp_mc_flush(l.m, 5000);
	mcp_mc_get_stats(l.m, &a);
	rc0 = redis_cpu();
	t0 = now_us();
	pthread_create(&th, NULL, flow_load, &l);
	sleep(seconds);
	atomic_store(&l.stop, 1);
	pthread_join(th, NULL);
	mcp_mc_flush(l.m, 60000);
	t1 = now_us();
	mcp_mc_get_stats(l.m, &b);
	printf("counters: %llu flow records (%.0f/s), %llu commands in %.3f s = %.0f commands/s "
	       "(%llu batches, %llu counter keys dropped)\n",
	       (unsigned long long)l.flows, (double)l.flows * 1e6 / (double)(t1 - t0),
	       (unsigned long long)(b.cmds_sent - a.cmds_sent), (double)(t1 - t0) / 1e6,
	       (double)(b.cmds_sent - a.cmds_sent) * 1e6 / (double)(t1 - t0),
	       (unsigned long long)(b.batches - a.batches),
	       (unsigned long long)b.counter_keys_dropped);
	print_cpu(b.cmds_sent - a.cmds_sent, (double)(b.writer_cpu_us - a.writer_cpu_us) / 1e6,
		  redis_cpu() - rc0);
	mcp_mc_destroy(l.m);
}

struct lat {
	int port;
	uint64_t sent[LAT_N], recv[LAT_N];
	atomic_int ready, done;
};

static void *subscriber(void *arg)
{
	struct lat *lt = arg;
	redisContext *c = tr_connect(lt->port);
	struct timeval tv = { 0, 200000 };
	redisReply *r;
	int got = 0;

	/* a read timeout only re-checks 'done'; the subscription stays */

	r = redisCommand(c, "SUBSCRIBE b.events.imsi");
	freeReplyObject(r);
	redisSetTimeout(c, tv);
	atomic_store(&lt->ready, 1);
	while (got < LAT_N && !atomic_load(&lt->done)) {
		const char *p;
		unsigned idx;

		if (redisGetReply(c, (void **)&r) != REDIS_OK) {
			if (c->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				c->err = 0; /* hiredis marks a timeout as an error: clear it */
				continue;
			}
			break;
		}
		if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
		    (p = strstr(r->element[2]->str, "\"imsi\":\"")) &&
		    sscanf(p + 8, "9%05u", &idx) == 1 && idx < LAT_N && !lt->recv[idx]) {
			lt->recv[idx] = now_us();
			got++;
		}
		freeReplyObject(r);
	}
	redisFree(c);
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void bench_latency(int port, int loaded)
{
	struct lat *lt = calloc(1, sizeof(*lt));
	struct load l = { 0 };
	struct mcp_subscriber s;
	uint64_t d[LAT_N];
	pthread_t th, lth;
	unsigned i, n = 0;

	lt->port = port;
	l.m = mc_new(port);
	mcp_mc_flush(l.m, 5000);
	pthread_create(&th, NULL, subscriber, lt);
	while (!atomic_load(&lt->ready))
		usleep(1000);
	if (loaded)
		pthread_create(&lth, NULL, flow_load, &l);
	usleep(100000);
	for (i = 0; i < LAT_N; i++) {
		tr_make_sub(&s, i, 0);
		snprintf(s.imsi, sizeof(s.imsi), "9%05u", i); /* index in the IMSI */
		lt->sent[i] = now_us();
		mcp_mc_session_event(l.m, MCP_EV_ATTACH, &s, lt->sent[i] / 1000);
		usleep(1000);
	}
	usleep(500000);
	atomic_store(&lt->done, 1);
	pthread_join(th, NULL);
	if (loaded) {
		atomic_store(&l.stop, 1);
		pthread_join(lth, NULL);
	}
	for (i = 0; i < LAT_N; i++)
		if (lt->recv[i])
			d[n++] = lt->recv[i] - lt->sent[i];
	qsort(d, n, sizeof(d[0]), cmp_u64);
	if (n)
		printf("event latency (%s): %u/%u received, p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
		       loaded ? "under counter load" : "idle", n, LAT_N, (double)d[n / 2] / 1000,
		       (double)d[n * 99 / 100] / 1000, (double)d[n - 1] / 1000);
	else
		printf("event latency: no event received\n");
	mcp_mc_destroy(l.m);
	free(lt);
}

int main(int argc, char **argv)
{
	struct tr_redis r = { 0 };
	unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 100000;
	const char *only = argc > 2 ? argv[2] : "all";

	if (tr_redis_start(&r, 0, NULL)) {
		fprintf(stderr, "bench_redis: cannot start redis-server\n");
		return 1;
	}
	redis_pid = r.pid;
	printf("bench_redis: redis-server on 127.0.0.1:%d, writer flush 512 cmds / 50 ms, "
	       "%ld CPUs, load average at start: ", r.port, sysconf(_SC_NPROCESSORS_ONLN));
	{
		char la[64] = "?";
		FILE *f = fopen("/proc/loadavg", "r");

		if (f && fgets(la, sizeof(la), f))
			la[strcspn(la, "\n")] = 0;
		if (f)
			fclose(f);
		printf("%s\n", la);
	}
	if (!strcmp(only, "all") || !strcmp(only, "writer"))
		bench_writer(&r, n);
	if (!strcmp(only, "all") || !strcmp(only, "facts"))
		bench_facts(r.port, n);
	if (!strcmp(only, "all") || !strcmp(only, "counters"))
		bench_counters(r.port, 3);
	if (!strcmp(only, "all") || !strcmp(only, "latency")) {
		bench_latency(r.port, 0);
		bench_latency(r.port, 1);
	}
	tr_redis_stop(&r);
	return 0;
}
