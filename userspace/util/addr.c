/* addr.c - text conversion of struct mcp_ip (IPv4-mapped or IPv6). */
#include "mcp_addr.h"

#include <arpa/inet.h>
#include <errno.h>

const char *mcp_ip_str(const struct mcp_ip *ip, char *buf)
{
	if (mcp_ip_is_v4(ip))
		inet_ntop(AF_INET, ip->b + 12, buf, MCP_IP_STRLEN);
	else
		inet_ntop(AF_INET6, ip->b, buf, MCP_IP_STRLEN);
	return buf;
}

int mcp_ip_parse(struct mcp_ip *ip, const char *text)
{
	__u8 v4[4];

	if (inet_pton(AF_INET, text, v4) == 1) {
		mcp_ip_from_v4(ip, v4);
		return 0;
	}
	if (inet_pton(AF_INET6, text, ip->b) == 1)
		return 0;
	return -EINVAL;
}
