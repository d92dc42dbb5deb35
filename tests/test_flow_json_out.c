/* test_flow_json_out.c - flow and session lines are valid JSON whatever bytes the packet gave:
 * parsed back with json-c and compared field by field. */
#include <criterion/criterion.h>
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
