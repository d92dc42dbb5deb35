/* imsi_set.h - the IMSIs one mcp-capture run selects: validated (TS 23.003 2.2: at most 15
 * digits; mcp-capture also wants at least 6, MCC + MNC + one MSIN digit), sorted, searchable.
 */
#ifndef MCP_IMSI_SET_H
#define MCP_IMSI_SET_H

#include <stdint.h>

#define MCP_IMSI_MIN_DIGITS 6
#define MCP_IMSI_MAX_DIGITS 15

struct mcp_imsi_set {
	char (*imsi)[16];  /* sorted, unique, NUL-terminated digits */
	uint32_t n;
};

/* 0 if s is 6 to 15 decimal digits, -EINVAL otherwise. */
int mcp_imsi_valid(const char *s);
/* Adds one IMSI (validated; a duplicate is ignored). 0, -EINVAL or -ENOMEM. */
int mcp_imsi_set_add(struct mcp_imsi_set *set, const char *imsi);
/* 1 if imsi is in the set. */
int mcp_imsi_set_has(const struct mcp_imsi_set *set, const char *imsi);
/* Copies src into dst (dst empty). 0 or -ENOMEM. */
int mcp_imsi_set_copy(struct mcp_imsi_set *dst, const struct mcp_imsi_set *src);
/* "IMSI a,b,c" (truncated with "..." to fit), for file comments and messages. */
void mcp_imsi_set_describe(const struct mcp_imsi_set *set, char *out, uint32_t outsz);
void mcp_imsi_set_free(struct mcp_imsi_set *set);

#endif /* MCP_IMSI_SET_H */
