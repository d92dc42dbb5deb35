/* mcp_addr.h - one address type for IPv4 and IPv6, used in map keys and userspace tables.
 *
 * IPv4 is stored IPv4-mapped (::ffff:a.b.c.d, RFC 4291 2.5.5.2) so that every key has one
 * size and one hash, and BPF and userspace fill it the same way.
 */
#ifndef MCP_ADDR_H
#define MCP_ADDR_H

#include <linux/types.h>

struct mcp_ip {
	__u8 b[16];
};

_Static_assert(sizeof(struct mcp_ip) == 16, "mcp_ip is 16 bytes");

#ifndef __bpf__
#include <stdint.h>
#include <string.h>

static inline void mcp_ip_from_v4(struct mcp_ip *ip, const void *v4_be)
{
	memset(ip->b, 0, 10);
	ip->b[10] = 0xff;
	ip->b[11] = 0xff;
	memcpy(ip->b + 12, v4_be, 4);
}

static inline void mcp_ip_from_v6(struct mcp_ip *ip, const void *v6)
{
	memcpy(ip->b, v6, 16);
}

static inline int mcp_ip_is_v4(const struct mcp_ip *ip)
{
	static const __u8 prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	return memcmp(ip->b, prefix, 12) == 0;
}

static inline int mcp_ip_cmp(const struct mcp_ip *a, const struct mcp_ip *b)
{
	return memcmp(a->b, b->b, 16);
}

static inline int mcp_ip_is_zero(const struct mcp_ip *ip)
{
	static const __u8 zero[16];
	return memcmp(ip->b, zero, 16) == 0;
}

/* Text form (dotted quad for mapped IPv4); buf must hold MCP_IP_STRLEN bytes. */
#define MCP_IP_STRLEN 46
const char *mcp_ip_str(const struct mcp_ip *ip, char *buf);
/* Parses dotted quad or IPv6 text; 0 or -EINVAL. */
int mcp_ip_parse(struct mcp_ip *ip, const char *text);
#endif

#endif /* MCP_ADDR_H */
