/* bench_gtpc.c - control-plane micro-benchmark: GTPv2-C (TS 29.274) Create Session
 * Request/Response exchanges per second through the decoder and the session table, one core.
 *
 * Builds N distinct exchanges in memory first (distinct IMSIs, F-TEIDs, UE IPv4 addresses,
 * sequence numbers), then times only mcp_sessions_handle_gtpc() on all of them.
 * Prints "gtpc_create_session_per_s <rate>". Usage: bench_gtpc [N] (default 1000000).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_wire.h"
#include "session/session.h"

#define MSG_MAX 256

static void ie(struct wr *w, uint8_t type, uint8_t inst, const void *val, uint16_t len)
{
	put8(w, type);
	put16(w, len);
	put8(w, inst);
	memcpy(w->p + w->n, val, len);
	w->n += len;
}

static void fteid(struct wr *w, uint8_t inst, uint8_t iface, uint32_t teid, uint32_t v4)
{
	uint8_t v[9] = { (uint8_t)(0x80 | iface), (uint8_t)(teid >> 24), (uint8_t)(teid >> 16),
			 (uint8_t)(teid >> 8), (uint8_t)teid, (uint8_t)(v4 >> 24),
			 (uint8_t)(v4 >> 16), (uint8_t)(v4 >> 8), (uint8_t)v4 };

	ie(w, 87, inst, v, sizeof(v));
}

static void tbcd(uint8_t *out, const char *digits)
{
	size_t i, n = strlen(digits);

	for (i = 0; i < (n + 1) / 2; i++) {
		uint8_t lo = (uint8_t)(digits[2 * i] - '0');
		uint8_t hi = 2 * i + 1 < n ? (uint8_t)(digits[2 * i + 1] - '0') : 0x0f;

		out[i] = (uint8_t)(hi << 4 | lo);
	}
}

/* GTPv2 header with TEID; the length is patched once the IEs are written. */
static void hdr(struct wr *w, uint8_t type, uint32_t teid, uint32_t seq)
{
	put8(w, 0x48);
	put8(w, type);
	put16(w, 0);
	put32(w, teid);
	put8(w, (uint8_t)(seq >> 16));
	put16(w, (uint16_t)seq);
	put8(w, 0);
}

static void fin(struct wr *w)
{
	w->p[2] = (uint8_t)((w->n - 4) >> 8);
	w->p[3] = (uint8_t)(w->n - 4);
}

static size_t build_req(uint8_t *buf, uint32_t i)
{
	static const uint8_t apn[] = { 8, 'i', 'n', 't', 'e', 'r', 'n', 'e', 't' };
	struct wr w = { buf, 0 };
	char digits[16];
	uint8_t v[8], bc[64];
	struct wr b = { bc, 0 };
	uint8_t ebi = 5, rat = 6, paa[5] = { 1, 0, 0, 0, 0 };

	hdr(&w, 32, 0, i & 0xffffff);
	snprintf(digits, sizeof(digits), "00101%010u", i);
	tbcd(v, digits);
	ie(&w, 1, 0, v, 8);
	snprintf(digits, sizeof(digits), "336%08u", i % 100000000u);
	tbcd(v, digits);
	ie(&w, 76, 0, v, 6);
	ie(&w, 82, 0, &rat, 1);
	fteid(&w, 0, 10, i + 1, 0x0a000001);
	fteid(&w, 1, 7, 0, 0x0a000003);
	ie(&w, 71, 0, apn, sizeof(apn));
	ie(&w, 79, 0, paa, sizeof(paa));
	ie(&b, 73, 0, &ebi, 1);
	ie(&w, 93, 0, bc, (uint16_t)b.n);
	fin(&w);
	return w.n;
}

static size_t build_rsp(uint8_t *buf, uint32_t i)
{
	struct wr w = { buf, 0 };
	uint8_t bc[64], cause[2] = { 16, 0 }, ebi = 5;
	uint32_t ue = 0x0a000000u + 0x100000u + i;
	uint8_t paa[5] = { 1, (uint8_t)(ue >> 24), (uint8_t)(ue >> 16), (uint8_t)(ue >> 8),
			   (uint8_t)ue };
	struct wr b = { bc, 0 };

	hdr(&w, 33, i + 1, i & 0xffffff);
	ie(&w, 2, 0, cause, 2);
	fteid(&w, 0, 11, 0x80000000u + i, 0x0a000002);
	fteid(&w, 1, 7, 0x40000000u + i, 0x0a000003);
	ie(&w, 79, 0, paa, sizeof(paa));
	ie(&b, 73, 0, &ebi, 1);
	ie(&b, 2, 0, cause, 2);
	fteid(&b, 0, 1, 0x20000000u + i, 0x0a000102);
	fteid(&b, 2, 5, 0x10000000u + i, 0x0a000103);
	ie(&w, 93, 0, bc, (uint16_t)b.n);
	fin(&w);
	return w.n;
}

static size_t build_del(uint8_t *buf, uint32_t i, int rsp)
{
	struct wr w = { buf, 0 };
	uint8_t cause[2] = { 16, 0 }, ebi = 5;

	hdr(&w, rsp ? 37 : 36, rsp ? i + 1 : 0x80000000u + i, (i + 0x800000) & 0xffffff);
	if (rsp)
		ie(&w, 2, 0, cause, 2);
	else
		ie(&w, 73, 0, &ebi, 1);
	fin(&w);
	return w.n;
}

static double now_s(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Feeds all exchanges; checks that each created a subscriber. Times in *wall / *cpu. */
static int run(struct mcp_sessions *s, const uint8_t *msgs, const uint16_t *lens, uint32_t n,
	       struct mcp_pkt *req, struct mcp_pkt *rsp, uint64_t ts0, double *wall, double *cpu)
{
	const struct mcp_session_stats *st = mcp_sessions_stats(s);
	uint64_t created0 = st->created;
	double t0, c0;
	uint32_t i;

	t0 = now_s(CLOCK_MONOTONIC);
	c0 = now_s(CLOCK_THREAD_CPUTIME_ID);
	for (i = 0; i < n; i++) {
		req->ts_us = ts0 + 2ull * i;
		req->payload = msgs + (size_t)2 * i * MSG_MAX;
		req->payload_len = lens[2 * i];
		mcp_sessions_handle_gtpc(s, req);
		rsp->ts_us = req->ts_us + 1;
		rsp->payload = msgs + ((size_t)2 * i + 1) * MSG_MAX;
		rsp->payload_len = lens[2 * i + 1];
		mcp_sessions_handle_gtpc(s, rsp);
	}
	*wall = now_s(CLOCK_MONOTONIC) - t0;
	*cpu = now_s(CLOCK_THREAD_CPUTIME_ID) - c0;
	if (st->created - created0 != n || st->malformed || st->unmatched_responses) {
		fprintf(stderr, "bench_gtpc: created %llu of %u (malformed %llu, unmatched %llu)\n",
			(unsigned long long)(st->created - created0), n,
			(unsigned long long)st->malformed,
			(unsigned long long)st->unmatched_responses);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	uint32_t n = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 0) : 1000000, i;
	struct mcp_session_cfg cfg = { 0 };
	const struct mcp_session_stats *st;
	struct mcp_sessions *s;
	uint8_t *msgs, v4[4];
	uint16_t *lens;
	struct mcp_pkt req, rsp;
	double wall, cpu;

	msgs = malloc((size_t)n * 2 * MSG_MAX);
	lens = malloc((size_t)n * 2 * sizeof(*lens));
	if (!n || !msgs || !lens) {
		fprintf(stderr, "bench_gtpc: out of memory\n");
		return 1;
	}
	for (i = 0; i < n; i++) {
		lens[2 * i] = (uint16_t)build_req(msgs + (size_t)2 * i * MSG_MAX, i);
		lens[2 * i + 1] = (uint16_t)build_rsp(msgs + ((size_t)2 * i + 1) * MSG_MAX, i);
	}
	cfg.max_subscribers = n;
	s = mcp_sessions_create(&cfg);
	if (!s) {
		fprintf(stderr, "bench_gtpc: cannot create the session table\n");
		return 1;
	}
	memset(&req, 0, sizeof(req));
	req.kind = MCP_PKT_GTPC;
	memcpy(v4, "\x0a\x00\x00\x01", 4);
	mcp_ip_from_v4(&req.src, v4);
	memcpy(v4, "\x0a\x00\x00\x02", 4);
	mcp_ip_from_v4(&req.dst, v4);
	req.sport = req.dport = 2123;
	rsp = req;
	rsp.src = req.dst;
	rsp.dst = req.src;

	/* pass 1 (cold): the table grows from empty, every entry and index slot is new memory */
	if (run(s, msgs, lens, n, &req, &rsp, 1700000000000000ull, &wall, &cpu) < 0)
		return 1;
	printf("gtpc_exchanges %u\n", n);
	printf("gtpc_create_session_cold_per_s %.0f\n", n / cpu);
	/* detach everybody and let the delete grace expire: entries go back to the free lists */
	for (i = 0; i < n; i++) {
		uint8_t dbuf[2][64];

		req.payload = dbuf[0];
		req.payload_len = (uint32_t)build_del(dbuf[0], i, 0);
		rsp.payload = dbuf[1];
		rsp.payload_len = (uint32_t)build_del(dbuf[1], i, 1);
		mcp_sessions_handle_gtpc(s, &req);
		mcp_sessions_handle_gtpc(s, &rsp);
	}
	mcp_sessions_expire(s, 1800000000000ull);
	st = mcp_sessions_stats(s);
	if (st->removed != n) {
		fprintf(stderr, "bench_gtpc: removed %llu of %u\n", (unsigned long long)st->removed,
			n);
		return 1;
	}
	/* pass 2 (steady state): the same number of new attaches into a warm table */
	if (run(s, msgs, lens, n, &req, &rsp, 1800000001000000ull, &wall, &cpu) < 0)
		return 1;
	/* CPU time of this thread: the cost on one core, even on a loaded machine */
	printf("gtpc_wall_seconds %.3f\n", wall);
	printf("gtpc_cpu_seconds %.3f\n", cpu);
	printf("gtpc_create_session_wall_per_s %.0f\n", n / wall);
	printf("gtpc_create_session_per_s %.0f\n", n / cpu);
	mcp_sessions_destroy(s);
	free(msgs);
	free(lens);
	return 0;
}
