/* bench_pfcp.c - control-plane micro-benchmark: PFCP (TS 29.244) Session Establishment
 * Request/Response exchanges per second through the PFCP decoder, the 5G PDU session table
 * and the subscriber table, one core.
 *
 * Builds N distinct exchanges in memory first, as an Open5GS SMF sends them (F-SEID, an
 * Access PDR with a CHOOSE F-TEID, a Core PDR with the UE address, two FARs, a QER with its
 * QFI, User ID with IMSI, DNN, S-NSSAI; the response's Created PDR carries the F-TEID), then
 * times only mcp_s5g_handle_pfcp() on all of them. Each exchange must attach a subscriber.
 * Pass "cold" fills empty tables (page faults included); then every session is deleted
 * (PFCP Session Deletion) and removed, and pass "warm" establishes them again (R rounds of
 * delete + establish, the best one counts: a shared host's speed drifts).
 * Prints "pfcp_establishment_per_s cold <rate> warm <rate>".
 * Usage: bench_pfcp [N] [R] (1000000 3).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_wire.h"
#include "session/session_5g.h"

#define MSG_MAX 320

static size_t open_ie(struct wr *w, uint16_t type)
{
	size_t at;

	put16(w, type);
	at = w->n;
	put16(w, 0);
	return at;
}

static void close_ie(struct wr *w, size_t at)
{
	w->p[at] = (uint8_t)((w->n - at - 2) >> 8);
	w->p[at + 1] = (uint8_t)(w->n - at - 2);
}

static void ie(struct wr *w, uint16_t type, const void *v, uint16_t len)
{
	put16(w, type);
	put16(w, len);
	memcpy(w->p + w->n, v, len);
	w->n += len;
}

static void hdr(struct wr *w, uint8_t type, uint64_t seid, uint32_t seq)
{
	put8(w, 0x21);
	put8(w, type);
	put16(w, 0);
	put32(w, (uint32_t)(seid >> 32));
	put32(w, (uint32_t)seid);
	put8(w, (uint8_t)(seq >> 16));
	put16(w, (uint16_t)seq);
	put8(w, 0);
}

static void fin(struct wr *w)
{
	w->p[2] = (uint8_t)((w->n - 4) >> 8);
	w->p[3] = (uint8_t)(w->n - 4);
}

static void fseid(struct wr *w, uint64_t seid, uint32_t v4)
{
	uint8_t v[13] = { 0x02 };

	for (int i = 0; i < 8; i++)
		v[1 + i] = (uint8_t)(seid >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		v[9 + i] = (uint8_t)(v4 >> (24 - 8 * i));
	ie(w, 57, v, sizeof(v));
}

static void pdr(struct wr *w, uint16_t id, uint8_t src_if, uint32_t ue, uint32_t far)
{
	static const uint8_t ni[] = { 8, 'i', 'n', 't', 'e', 'r', 'n', 'e', 't' };
	size_t a = open_ie(w, 1), p;
	uint8_t v[5];

	put16(w, 56), put16(w, 2), put16(w, id);
	p = open_ie(w, 2);
	ie(w, 20, &src_if, 1);
	if (src_if == 0) {
		uint8_t ch = 0x05;

		ie(w, 21, &ch, 1);
	} else {
		v[0] = 0x06;
		v[1] = (uint8_t)(ue >> 24), v[2] = (uint8_t)(ue >> 16), v[3] = (uint8_t)(ue >> 8);
		v[4] = (uint8_t)ue;
		ie(w, 93, v, 5);
	}
	ie(w, 22, ni, sizeof(ni));
	close_ie(w, p);
	put16(w, 108), put16(w, 4), put32(w, far);
	close_ie(w, a);
}

static void far(struct wr *w, uint32_t id, uint8_t dst_if)
{
	size_t a = open_ie(w, 3), f;
	uint8_t act[2] = { 0x02, 0 };

	put16(w, 108), put16(w, 4), put32(w, id);
	ie(w, 44, act, 2);
	f = open_ie(w, 4);
	ie(w, 42, &dst_if, 1);
	close_ie(w, f);
	close_ie(w, a);
}

static size_t build_req(uint8_t *buf, uint32_t i)
{
	static const uint8_t dnn[] = { 8, 'i', 'n', 't', 'e', 'r', 'n', 'e', 't' };
	uint8_t uid[10] = { 0x01, 8 }, nssai[4] = { 1, 0xff, 0xff, 0xff }, qfi = 1;
	struct wr w = { buf, 0 };
	char d[16];
	size_t a;

	hdr(&w, 50, 0, i & 0xffffff);
	fseid(&w, 0x100000000ull + i, 0x0a000004);
	pdr(&w, 1, 1, 0x0a800000u + i, 1);
	pdr(&w, 2, 0, 0, 2);
	far(&w, 1, 0);
	far(&w, 2, 1);
	a = open_ie(&w, 7);
	put16(&w, 109), put16(&w, 4), put32(&w, 1);
	ie(&w, 124, &qfi, 1);
	close_ie(&w, a);
	snprintf(d, sizeof(d), "00101%010u", i);
	for (int k = 0; k < 8; k++)
		uid[2 + k] = (uint8_t)((k * 2 + 1 < 15 ? (d[2 * k + 1] - '0') << 4 : 0xf0) |
				       (d[2 * k] - '0'));
	ie(&w, 141, uid, sizeof(uid));
	ie(&w, 159, dnn, sizeof(dnn));
	ie(&w, 257, nssai, sizeof(nssai));
	fin(&w);
	return w.n;
}

static size_t build_rsp(uint8_t *buf, uint32_t i)
{
	struct wr w = { buf, 0 };
	uint8_t cause = 1, ft[9] = { 0x01 };
	size_t a;

	hdr(&w, 51, 0x100000000ull + i, i & 0xffffff);
	ie(&w, 19, &cause, 1);
	fseid(&w, 0x200000000ull + i, 0x0a000007);
	a = open_ie(&w, 8);
	put16(&w, 56), put16(&w, 2), put16(&w, 2);
	ft[1] = (uint8_t)(i >> 24), ft[2] = (uint8_t)(i >> 16), ft[3] = (uint8_t)(i >> 8);
	ft[4] = (uint8_t)i;
	ft[5] = 10, ft[6] = 0, ft[7] = 0, ft[8] = 7;
	ie(&w, 21, ft, sizeof(ft));
	close_ie(&w, a);
	fin(&w);
	return w.n;
}

static size_t build_del(uint8_t *buf, uint32_t i, int rsp)
{
	struct wr w = { buf, 0 };
	uint8_t cause = 1;

	hdr(&w, rsp ? 55 : 54, rsp ? 0x100000000ull + i : 0x200000000ull + i,
	    (i + 0x800000) & 0xffffff);
	if (rsp)
		ie(&w, 19, &cause, 1);
	fin(&w);
	return w.n;
}

static double now_s(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct bench {
	struct mcp_s5g *g;
	struct mcp_pkt req, rsp;
	uint8_t *msgs;
	uint16_t *lens;
	uint32_t n;
};

/* Feeds exchange pairs [0, n) of b->msgs; returns the CPU seconds. */
static double pass(struct bench *b, uint64_t ts0)
{
	double c0 = now_s(CLOCK_THREAD_CPUTIME_ID);

	for (uint32_t i = 0; i < b->n; i++) {
		b->req.ts_us = ts0 + 2ull * i;
		b->req.payload = b->msgs + (size_t)2 * i * MSG_MAX;
		b->req.payload_len = b->lens[2 * i];
		mcp_s5g_handle_pfcp(b->g, &b->req);
		b->rsp.ts_us = b->req.ts_us + 1;
		b->rsp.payload = b->msgs + ((size_t)2 * i + 1) * MSG_MAX;
		b->rsp.payload_len = b->lens[2 * i + 1];
		mcp_s5g_handle_pfcp(b->g, &b->rsp);
	}
	return now_s(CLOCK_THREAD_CPUTIME_ID) - c0;
}

static void build(struct bench *b, int del)
{
	for (uint32_t i = 0; i < b->n; i++) {
		uint8_t *q = b->msgs + (size_t)2 * i * MSG_MAX;

		b->lens[2 * i] = (uint16_t)(del ? build_del(q, i, 0) : build_req(q, i));
		b->lens[2 * i + 1] = (uint16_t)(del ? build_del(q + MSG_MAX, i, 1) :
						      build_rsp(q + MSG_MAX, i));
	}
}

int main(int argc, char **argv)
{
	uint32_t n = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 0) : 1000000;
	uint32_t rounds = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 0) : 3;
	struct mcp_session_cfg cfg = { .max_subscribers = n + 16 };
	struct mcp_sessions *s = mcp_sessions_create(&cfg);
	struct bench b = { .g = mcp_s5g_create(s, n + 16, 10000), .n = n };
	const struct mcp_s5g_stats *st;
	uint64_t ts0 = 1700000000000000ull;
	double cold, warm = 0;

	b.msgs = malloc((size_t)2 * n * MSG_MAX);
	b.lens = malloc((size_t)2 * n * sizeof(*b.lens));
	if (!n || !rounds || !s || !b.g || !b.msgs || !b.lens) {
		fprintf(stderr, "bench_pfcp: out of memory\n");
		return 1;
	}
	b.req.l4_proto = 17;
	b.req.flags = MCP_PKTF_HAS_PORTS;
	b.req.sport = b.req.dport = 8805;
	mcp_ip_from_v4(&b.req.src, (uint8_t[]){ 10, 0, 0, 4 });
	mcp_ip_from_v4(&b.req.dst, (uint8_t[]){ 10, 0, 0, 7 });
	b.rsp = b.req;
	b.rsp.src = b.req.dst;
	b.rsp.dst = b.req.src;
	build(&b, 0);
	cold = pass(&b, ts0);
	for (uint32_t r = 0; r < rounds; r++) {
		uint64_t t = ts0 + (r + 1) * 7200000000ull;
		double w;

		build(&b, 1);
		pass(&b, t - 3600000000ull);
		mcp_sessions_expire(s, t / 1000 - 1800000); /* past the delete grace: freed */
		build(&b, 0);
		w = pass(&b, t);
		warm = r && w > warm ? warm : w;
	}
	st = mcp_s5g_stats(b.g);
	if (st->pdu_by_user_id != (1ull + rounds) * n ||
	    mcp_sessions_stats(s)->created != (1ull + rounds) * n ||
	    st->pdu_deleted != (uint64_t)rounds * n || st->pfcp_malformed) {
		fprintf(stderr, "bench_pfcp: %llu of %llu attributed (malformed %llu, unmatched %llu)\n",
			(unsigned long long)st->pdu_by_user_id, (1ull + rounds) * n,
			(unsigned long long)st->pfcp_malformed,
			(unsigned long long)st->unmatched_responses);
		return 1;
	}
	printf("pfcp_establishment_per_s cold %.0f warm %.0f (%u exchanges, %.0f / %.0f ns each)\n",
	       n / cold, n / warm, n, cold * 1e9 / n, warm * 1e9 / n);
	mcp_s5g_destroy(b.g);
	mcp_sessions_destroy(s);
	free(b.msgs);
	free(b.lens);
	return 0;
}
