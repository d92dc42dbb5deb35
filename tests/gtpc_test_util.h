/* gtpc_test_util.h - helpers shared by the GTPv1-C and GTPv2-C decoder tests: decode a named
 * case of tests/data/gtpc_cases.h into `msg`, compare an address with its text form. */
#ifndef MCP_GTPC_TEST_UTIL_H
#define MCP_GTPC_TEST_UTIL_H

#include <criterion/criterion.h>

#include "data/gtpc_cases.h"
#include "control/gtpc.h"

static struct mcp_gtpc_msg msg;

static int dec(const char *name)
{
	const struct gtpc_case *c = gtpc_case_get(name);

	cr_assert_not_null(c, "case %s", name);
	return mcp_gtpc_decode(c->buf, c->len, &msg);
}

static void assert_ip(const struct mcp_ip *ip, const char *text)
{
	struct mcp_ip want;
	char buf[MCP_IP_STRLEN];

	cr_assert_eq(mcp_ip_parse(&want, text), 0);
	cr_assert_eq(mcp_ip_cmp(ip, &want), 0, "got %s want %s", mcp_ip_str(ip, buf), text);
}

#endif /* MCP_GTPC_TEST_UTIL_H */
