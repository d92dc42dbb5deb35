/* test_resp_parse.c - the RESP request parser: whole, split and pipelined requests, inline
 * commands, and each malformed or oversized form refused with its reason. */
#include <criterion/criterion.h>
#include <string.h>

#include "resp/resp_parse.h"

static struct mcp_resp_req r;

static int parse(const char *s)
{
	return mcp_resp_parse(s, strlen(s), &r);
}

Test(resp_parse, multibulk)
{
	cr_assert_eq(parse("*3\r\n$4\r\nHGET\r\n$5\r\nstats\r\n$0\r\n\r\n"), 1);
	cr_assert_eq(r.argc, 3);
	cr_assert_eq(r.argl[0], 4);
	cr_assert_eq(memcmp(r.argv[1], "stats", 5), 0);
	cr_assert_eq(r.argl[2], 0);
	cr_assert_eq(r.used, strlen("*3\r\n$4\r\nHGET\r\n$5\r\nstats\r\n$0\r\n\r\n"));
}

Test(resp_parse, every_split_point_is_incomplete)
{
	const char *s = "*2\r\n$4\r\nECHO\r\n$3\r\na\0b\r\n";
	size_t len = 23;

	for (size_t i = 0; i < len; i++)
		cr_assert_eq(mcp_resp_parse(s, i, &r), 0, "prefix of %zu bytes", i);
	cr_assert_eq(mcp_resp_parse(s, len, &r), 1);
	cr_assert_eq(r.argl[1], 3); /* binary-safe */
}

Test(resp_parse, pipelined_and_inline)
{
	const char *s = "PING\r\n  ECHO   hi \r\n*1\r\n$4\r\nQUIT\r\n";

	cr_assert_eq(parse(s), 1);
	cr_assert_eq(r.argc, 1);
	cr_assert_eq(r.used, 6);
	cr_assert_eq(mcp_resp_parse(s + 6, strlen(s + 6), &r), 1);
	cr_assert_eq(r.argc, 2);
	cr_assert_eq(r.argl[1], 2);
}

Test(resp_parse, malformed_is_refused_with_a_reason)
{
	const char *bad[] = { "*x\r\n", "*2\r\n+PING\r\n", "*1\r\n$-5\r\n", "*1\r\n$4\r\nPINGxx",
			      "*99999\r\n", "*1\r\n$99999999\r\n", "*-2\r\n" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(parse(bad[i]), -1, "'%s' accepted", bad[i]);
		cr_assert_not_null(r.error);
		cr_assert_eq(strncmp(r.error, "ERR Protocol error", 18), 0);
	}
}

Test(resp_parse, empty_and_null_arrays)
{
	cr_assert_eq(parse("*0\r\n"), 1);
	cr_assert_eq(r.argc, 0);
	cr_assert_eq(parse("*-1\r\n"), 1);
	cr_assert_eq(r.argc, 0);
	cr_assert_eq(r.used, 5);
}
