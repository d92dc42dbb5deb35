/* imsi_set.c - a sorted set of IMSIs for mcp-capture (imsi_set.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/imsi_set.h"

int mcp_imsi_valid(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (s[n] < '0' || s[n] > '9' || n >= MCP_IMSI_MAX_DIGITS)
			return -EINVAL;
	return n >= MCP_IMSI_MIN_DIGITS ? 0 : -EINVAL;
}

static int mcp_imsi_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

int mcp_imsi_set_add(struct mcp_imsi_set *set, const char *imsi)
{
	char (*grown)[16];

	if (mcp_imsi_valid(imsi))
		return -EINVAL;
	if (mcp_imsi_set_has(set, imsi))
		return 0;
	grown = realloc(set->imsi, (set->n + 1) * sizeof(*set->imsi));
	if (!grown)
		return -ENOMEM;
	set->imsi = grown;
	snprintf(set->imsi[set->n++], sizeof(*set->imsi), "%s", imsi);
	qsort(set->imsi, set->n, sizeof(*set->imsi), mcp_imsi_cmp);
	return 0;
}

int mcp_imsi_set_has(const struct mcp_imsi_set *set, const char *imsi)
{
	if (!set->n || !imsi[0])
		return 0;
	return bsearch(imsi, set->imsi, set->n, sizeof(*set->imsi), mcp_imsi_cmp) != NULL;
}

int mcp_imsi_set_copy(struct mcp_imsi_set *dst, const struct mcp_imsi_set *src)
{
	dst->n = 0;
	dst->imsi = NULL;
	if (!src->n)
		return 0;
	dst->imsi = malloc(src->n * sizeof(*src->imsi));
	if (!dst->imsi)
		return -ENOMEM;
	memcpy(dst->imsi, src->imsi, src->n * sizeof(*src->imsi));
	dst->n = src->n;
	return 0;
}

void mcp_imsi_set_describe(const struct mcp_imsi_set *set, char *out, uint32_t outsz)
{
	uint32_t i, len;

	if (!outsz)
		return;
	len = (uint32_t)snprintf(out, outsz, "IMSI ");
	for (i = 0; i < set->n && len < outsz; i++) {
		if (len + 20 > outsz) {
			snprintf(out + len, outsz - len, "...");
			return;
		}
		len += (uint32_t)snprintf(out + len, outsz - len, "%s%s", i ? "," : "",
					  set->imsi[i]);
	}
}

void mcp_imsi_set_free(struct mcp_imsi_set *set)
{
	free(set->imsi);
	set->imsi = NULL;
	set->n = 0;
}
