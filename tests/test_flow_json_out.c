/* test_flow_json_out.c - flow and session lines are valid JSON whatever bytes the packet gave:
 * parsed back with json-c and compared field by field. */
#include <criterion/criterion.h>
#include <errno.h>
#include <locale.h>
#include <stdint.h>
#include <wchar.h>
#include <json.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "flow/json_out.h"

static json_object *write_and_parse(const struct mcp_flow_record *r)
{
	char path[] = "/tmp/mcp_json_XXXXXX";
	int fd = mkstemp(path);
	struct mcp_json_out *o;
	char line[8192];
	FILE *f;

	cr_assert_geq(fd, 0);
	close(fd);
	o = mcp_json_out_open(path);
	cr_assert_not_null(o);
	mcp_json_out_flow(o, r);
	cr_assert_eq(mcp_json_out_close(o), 0);
	f = fopen(path, "r");
	cr_assert_not_null(fgets(line, sizeof(line), f));
	fclose(f);
	unlink(path);
	return json_tokener_parse(line);
}

Test(json_out, hostile_strings_stay_valid_json)
{
	struct mcp_flow_record r;
	json_object *j, *v;
	uint8_t a[4] = { 10, 0, 0, 1 }, b[4] = { 192, 0, 2, 1 };

	memset(&r, 0, sizeof(r));
	r.proto = 6;
	r.ip_version = 4;
	mcp_ip_from_v4(&r.src_ip, a);
	mcp_ip_from_v4(&r.dst_ip, b);
	r.src_port = 1234;
	r.dst_port = 80;
	r.bytes_up = 5000000000ull; /* beyond 32 bits */
	snprintf(r.app, sizeof(r.app), "HTTP");
	snprintf(r.host, sizeof(r.host), "a\"b\\c\n\x01\xff\xc3(end");
	snprintf(r.imsi, sizeof(r.imsi), "001010123456789");
	r.dns_rcode = -1;
	j = write_and_parse(&r);
	cr_assert_not_null(j, "line is not JSON");
	cr_assert(json_object_object_get_ex(j, "host", &v));
	cr_assert_str_eq(json_object_get_string(v),
			 "a\"b\\c\n\x01\xef\xbf\xbd\xef\xbf\xbd(end");
	cr_assert(json_object_object_get_ex(j, "bytes_up", &v));
	cr_assert_eq(json_object_get_int64(v), 5000000000ll);
	cr_assert(json_object_object_get_ex(j, "src_ip", &v));
	cr_assert_str_eq(json_object_get_string(v), "10.0.0.1");
	cr_assert(json_object_object_get_ex(j, "imsi", &v));
	cr_assert_str_eq(json_object_get_string(v), "001010123456789");
	cr_assert_not(json_object_object_get_ex(j, "teid_up", &v), "untunneled flow has no TEIDs");
	cr_assert_not(json_object_object_get_ex(j, "dns_rcode", &v));
	json_object_put(j);
}

Test(json_out, unwritable_path_fails_cleanly)
{
	cr_assert_null(mcp_json_out_open("/nonexistent-dir/x.json"));
}

/* One string field through the writer, parsed back by json-c (the independent parser). */
static json_object *format_host_and_parse(const char *host, struct mcp_jbuf *b)
{
	struct mcp_flow_record r;

	memset(&r, 0, sizeof(r));
	r.proto = 17;
	r.ip_version = 4;
	r.dns_rcode = -1;
	snprintf(r.host, sizeof(r.host), "%s", host);
	mcp_jbuf_reset(b);
	mcp_json_format_flow(b, &r);
	mcp_jbuf_raw(b, "", 1); /* NUL for the tokenizer */
	cr_assert_eq(b->p[b->len - 2], '\n', "one line per record");
	return json_tokener_parse(b->p);
}

/* Valid UTF-8 by glibc's own decoder (C.UTF-8), which is not the writer's. */
static int glibc_valid_utf8(const char *s)
{
	mbstate_t st;
	const char *p = s;

	memset(&st, 0, sizeof(st));
	return mbsrtowcs(NULL, &p, 0, &st) != (size_t)-1;
}

/* Checks one hostile string: the line parses; ASCII (every control character included) and
 * valid UTF-8 come back byte for byte; anything else comes back as valid UTF-8. */
static void check_roundtrip(const char *in, struct mcp_jbuf *b)
{
	json_object *j = format_host_and_parse(in, b), *v;
	const char *got;

	cr_assert_not_null(j, "not JSON for input of %zu bytes: %s", strlen(in), b->p);
	if (!in[0]) {
		cr_assert_not(json_object_object_get_ex(j, "host", &v), "empty host is left out");
		json_object_put(j);
		return;
	}
	cr_assert(json_object_object_get_ex(j, "host", &v));
	got = json_object_get_string(v);
	cr_assert(glibc_valid_utf8(got), "output is not UTF-8");
	if (glibc_valid_utf8(in))
		cr_assert_str_eq(got, in);
	else
		cr_assert_str_neq(got, in);
	json_object_put(j);
}

Test(json_out, every_byte_pair_round_trips_or_is_replaced)
{
	struct mcp_jbuf b = { 0 };
	char s[4];

	cr_assert_not_null(setlocale(LC_CTYPE, "C.UTF-8"), "C.UTF-8 locale missing (glibc)");
	for (int c1 = 1; c1 < 256; c1++) {
		for (int c2 = 0; c2 < 256; c2++) {
			s[0] = (char)c1, s[1] = (char)c2, s[2] = 'x', s[3] = 0;
			if (!c2)
				s[1] = 0;
			check_roundtrip(s, &b);
		}
	}
	mcp_jbuf_free(&b);
}

Test(json_out, random_hostile_strings_round_trip)
{
	/* bytes that stress the writer: quotes, backslashes, controls, UTF-8 leads and tails */
	static const unsigned char alphabet[] = { '"', '\\', '/', 'a', 0x01, 0x1f, '\n', '\t', 0x7f,
						  0x80, 0xbf, 0xc2, 0xc0, 0xe0, 0xed, 0xef, 0xf0,
						  0xf4, 0xf5, 0xff, 0xa0, 0x9f, 0xbd };
	struct mcp_jbuf b = { 0 };
	char s[MCP_HOST_LEN];
	uint32_t x = 12345;

	cr_assert_not_null(setlocale(LC_CTYPE, "C.UTF-8"), "C.UTF-8 locale missing (glibc)");
	for (int n = 0; n < 20000; n++) {
		int len = (int)(x % (sizeof(s) - 1));

		for (int i = 0; i < len; i++) {
			x = x * 1103515245u + 12345u;
			s[i] = (char)alphabet[(x >> 16) % sizeof(alphabet)];
		}
		s[len] = 0;
		x = x * 1103515245u + 12345u;
		check_roundtrip(s, &b);
	}
	/* valid multi-byte text of every length, and the largest code point */
	check_roundtrip("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf", &b);
	mcp_jbuf_free(&b);
}

Test(json_out, numbers_are_exact_at_their_limits)
{
	struct mcp_flow_record r;
	struct mcp_jbuf b = { 0 };
	json_object *j, *v;

	memset(&r, 0, sizeof(r));
	r.proto = 6;
	r.ip_version = 6;
	r.src_ip.b[15] = 1;
	r.dst_ip.b[0] = 0x20, r.dst_ip.b[1] = 0x01, r.dst_ip.b[15] = 0xff;
	r.pkts_up = 0;
	r.pkts_down = (uint64_t)INT64_MAX;
	r.first_ms = 1700000000123ull;
	r.src_port = 65535;
	r.dns_rcode = 0;
	r.tunneled = 1;
	r.teid_up = 0xffffffffu;
	mcp_ip_from_v4(&r.outer_src, "\xff\xff\xff\xff");
	mcp_ip_from_v4(&r.outer_dst, "\x00\x00\x00\x00");
	mcp_json_format_flow(&b, &r);
	mcp_jbuf_raw(&b, "", 1);
	j = json_tokener_parse(b.p);
	cr_assert_not_null(j, "%s", b.p);
	cr_assert(json_object_object_get_ex(j, "pkts_down", &v));
	cr_assert_eq(json_object_get_int64(v), INT64_MAX);
	cr_assert(json_object_object_get_ex(j, "pkts_up", &v));
	cr_assert_eq(json_object_get_int64(v), 0);
	cr_assert(json_object_object_get_ex(j, "first_ms", &v));
	cr_assert_eq(json_object_get_int64(v), 1700000000123ll);
	cr_assert(json_object_object_get_ex(j, "dns_rcode", &v));
	cr_assert_eq(json_object_get_int(v), 0);
	cr_assert(json_object_object_get_ex(j, "teid_up", &v));
	cr_assert_eq(json_object_get_int64(v), 4294967295ll);
	cr_assert(json_object_object_get_ex(j, "src_ip", &v));
	cr_assert_str_eq(json_object_get_string(v), "::1");
	cr_assert(json_object_object_get_ex(j, "dst_ip", &v));
	cr_assert_str_eq(json_object_get_string(v), "2001::ff");
	cr_assert(json_object_object_get_ex(j, "outer_src", &v));
	cr_assert_str_eq(json_object_get_string(v), "255.255.255.255");
	cr_assert(json_object_object_get_ex(j, "outer_dst", &v));
	cr_assert_str_eq(json_object_get_string(v), "0.0.0.0");
	json_object_put(j);
	mcp_jbuf_free(&b);
}

Test(json_out, write_errors_are_reported_at_close)
{
	struct mcp_json_out *o = mcp_json_out_open("/dev/full");
	struct mcp_flow_record r;

	cr_assert_not_null(o);
	memset(&r, 0, sizeof(r));
	r.dns_rcode = -1;
	for (int i = 0; i < 10000; i++) /* more than one chunk */
		mcp_json_out_flow(o, &r);
	cr_assert_eq(mcp_json_out_close(o), -ENOSPC);
}
