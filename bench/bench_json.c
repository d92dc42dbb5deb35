/* bench_json.c - flow record export cost: the streaming writer (flow/json_out.c) against the
 * json-c object model it replaced (json_object_new_* + json_object_to_json_string_ext +
 * fputs, rebuilt here as the peer), same records, same run, written to /dev/null.
 *
 * Records are varied like a mobile capture's: TLS with SNI, HTTP with URL and User-Agent,
 * DNS with rcode, QUIC, IPv4 and IPv6, tunneled with a subscriber or not, and a share of
 * hostile strings (quotes, controls, invalid UTF-8). Prints "json_ns_per_record <ns>" and
 * "jsonc_ns_per_record <ns>" (CPU time of the best of 5 rounds) and their ratio.
 * Usage: bench_json [N] (default 1000000 records per round).
 */
#include <json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flow/json_out.h"

#define NREC 256
#define ROUNDS 5

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void make_record(struct mcp_flow_record *r, unsigned i)
{
	static const char *const hosts[] = { "www.youtube.com", "graph.facebook.com",
					     "api.whatsapp.net", "i.ytimg.com", "example.org" };
	uint8_t a[4] = { 10, 45, (uint8_t)(i >> 8), (uint8_t)i }, b[4] = { 142, 250, 74, 46 };

	memset(r, 0, sizeof(*r));
	r->proto = (i % 4 == 1) ? 17 : 6;
	r->ip_version = (i % 16 == 3) ? 6 : 4;
	if (r->ip_version == 4) {
		mcp_ip_from_v4(&r->src_ip, a);
		mcp_ip_from_v4(&r->dst_ip, b);
	} else {
		r->src_ip.b[0] = 0x20, r->src_ip.b[1] = 0x01, r->src_ip.b[15] = (uint8_t)i;
		r->dst_ip.b[0] = 0x2a, r->dst_ip.b[1] = 0x00, r->dst_ip.b[14] = 0x14;
	}
	r->src_port = (uint16_t)(32768 + i), r->dst_port = r->proto == 17 ? 53 : 443;
	r->pkts_up = 14 + i % 100, r->pkts_down = 19 + i % 1000;
	r->bytes_up = 2130 + i * 7ull, r->bytes_down = 18771 + i * 1500ull;
	r->first_ms = 1700000000120ull + i, r->last_ms = r->first_ms + 1260;
	r->tcp_flags_up = 0x1b, r->tcp_flags_down = 0x1b;
	r->end_reason = (uint8_t)(i % 3);
	r->dns_rcode = r->proto == 17 ? 0 : -1;
	snprintf(r->app, sizeof(r->app), "%s", r->proto == 17 ? "DNS" : "YouTube");
	snprintf(r->master_app, sizeof(r->master_app), "%s", r->proto == 17 ? "DNS" : "TLS");
	snprintf(r->category, sizeof(r->category), "Media");
	snprintf(r->host, sizeof(r->host), "%s", hosts[i % 5]);
	if (i % 8 == 5) {
		snprintf(r->http_url, sizeof(r->http_url), "/watch?v=%u&list=\"x\"", i);
		snprintf(r->user_agent, sizeof(r->user_agent), "Mozilla/5.0 (Linux; Android 14)");
		r->http_status = 200;
	}
	if (i % 32 == 7) /* hostile bytes from a packet */
		snprintf(r->host, sizeof(r->host), "a\"b\\c\n\x01\xff\xc3(evil\xed\xa0\x80.com");
	if (i % 4 != 3) {
		r->tunneled = 1;
		r->teid_up = 1000 + i, r->teid_down = 2000 + i;
		mcp_ip_from_v4(&r->outer_src, "\xc0\x00\x02\x0a");
		mcp_ip_from_v4(&r->outer_dst, "\xc0\x00\x02\x01");
		snprintf(r->imsi, sizeof(r->imsi), "0010100%08u", i);
		snprintf(r->msisdn, sizeof(r->msisdn), "336%08u", i);
		snprintf(r->apn, sizeof(r->apn), "internet");
		r->ue_ip = r->src_ip, r->has_ue_ip = 1;
		r->rat = 6;
	}
}

/* The peer: what json_out.c did before, one json-c object per record. */
static void jsonc_str(json_object *j, const char *k, const char *v)
{
	json_object_object_add(j, k, json_object_new_string(v));
}

static void jsonc_ip(json_object *j, const char *k, const struct mcp_ip *ip)
{
	char buf[MCP_IP_STRLEN];

	jsonc_str(j, k, mcp_ip_str(ip, buf));
}

static void jsonc_int(json_object *j, const char *k, int64_t v)
{
	json_object_object_add(j, k, json_object_new_int64(v));
}

static void jsonc_flow(FILE *fp, const struct mcp_flow_record *r)
{
	json_object *j = json_object_new_object();

	jsonc_int(j, "proto", r->proto);
	jsonc_int(j, "ip_version", r->ip_version);
	jsonc_ip(j, "src_ip", &r->src_ip);
	jsonc_int(j, "src_port", r->src_port);
	jsonc_ip(j, "dst_ip", &r->dst_ip);
	jsonc_int(j, "dst_port", r->dst_port);
	jsonc_int(j, "pkts_up", (int64_t)r->pkts_up);
	jsonc_int(j, "pkts_down", (int64_t)r->pkts_down);
	jsonc_int(j, "bytes_up", (int64_t)r->bytes_up);
	jsonc_int(j, "bytes_down", (int64_t)r->bytes_down);
	jsonc_int(j, "first_ms", (int64_t)r->first_ms);
	jsonc_int(j, "last_ms", (int64_t)r->last_ms);
	jsonc_int(j, "tcp_flags_up", r->tcp_flags_up);
	jsonc_int(j, "tcp_flags_down", r->tcp_flags_down);
	jsonc_str(j, "app", r->app);
	jsonc_str(j, "master_app", r->master_app);
	jsonc_str(j, "category", r->category);
	jsonc_str(j, "host", r->host);
	if (r->http_url[0])
		jsonc_str(j, "http_url", r->http_url);
	jsonc_str(j, "end_reason", mcp_end_reason_name(r->end_reason));
	jsonc_int(j, "vlan", r->vlan);
	if (r->tunneled) {
		jsonc_int(j, "teid_up", r->teid_up);
		jsonc_int(j, "teid_down", r->teid_down);
		jsonc_ip(j, "outer_src", &r->outer_src);
		jsonc_ip(j, "outer_dst", &r->outer_dst);
	}
	if (r->imsi[0]) {
		jsonc_str(j, "imsi", r->imsi);
		jsonc_str(j, "msisdn", r->msisdn);
		jsonc_str(j, "apn", r->apn);
		jsonc_ip(j, "ue_ip", &r->ue_ip);
		jsonc_str(j, "rat", "EUTRAN");
	}
	fputs(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN |
						      JSON_C_TO_STRING_NOSLASHESCAPE), fp);
	fputc('\n', fp);
	json_object_put(j);
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 1000000u;
	static struct mcp_flow_record recs[NREC];
	double best = 1e9, best_c = 1e9;

	if (!n) {
		fprintf(stderr, "usage: bench_json [records]\n");
		return 2;
	}
	for (unsigned i = 0; i < NREC; i++)
		make_record(&recs[i], i);
	for (int round = 0; round < ROUNDS; round++) {
		struct mcp_json_out *o = mcp_json_out_open("/dev/null");
		FILE *fp = fopen("/dev/null", "w");
		double t0, t1, t2;

		if (!o || !fp) {
			fprintf(stderr, "bench_json: cannot open /dev/null\n");
			return 1;
		}
		t0 = cpu_s();
		for (unsigned i = 0; i < n; i++)
			mcp_json_out_flow(o, &recs[i % NREC]);
		if (mcp_json_out_close(o)) {
			fprintf(stderr, "bench_json: write failed\n");
			return 1;
		}
		t1 = cpu_s();
		for (unsigned i = 0; i < n / 4; i++) /* the peer is slow: a quarter is enough */
			jsonc_flow(fp, &recs[i % NREC]);
		fclose(fp);
		t2 = cpu_s();
		if (t1 - t0 < best)
			best = t1 - t0;
		if ((t2 - t1) * 4 < best_c)
			best_c = (t2 - t1) * 4;
	}
	printf("json_records %u\n", n);
	printf("json_ns_per_record %.0f\n", best / n * 1e9);
	printf("jsonc_ns_per_record %.0f\n", best_c / n * 1e9);
	printf("json_speedup_vs_jsonc %.2fx\n", best_c / best);
	printf("goal json export <= 1 us per record: %s\n", best / n <= 1e-6 ? "MET" : "NOT MET");
	return 0;
}
