/* resp_view.h - a read-only snapshot of keys for the RESP server: each key a hash of string
 * fields, sorted by key (binary search for reads, index = SCAN cursor). Built whole by the
 * snapshot provider, then swapped in; readers never see one being built.
 */
#ifndef MCP_RESP_VIEW_H
#define MCP_RESP_VIEW_H

#include <stddef.h>
#include <stdint.h>

struct mcp_resp_key {
	char *name;
	int nfields;
	char **fields; /* name, value, name, value, ... */
};

struct mcp_resp_view {
	struct mcp_resp_key *keys;
	size_t n, cap;
	int failed; /* an allocation failed while building: the view is incomplete */
	uint64_t owner_ns; /* time the probe's threads spent copying their state for it */
};

/* Starts a key; the fields that follow belong to it. */
void mcp_resp_view_key(struct mcp_resp_view *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void mcp_resp_view_field(struct mcp_resp_view *v, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Sorts the keys; call once after building. */
void mcp_resp_view_seal(struct mcp_resp_view *v);
const struct mcp_resp_key *mcp_resp_view_get(const struct mcp_resp_view *v, const char *name,
					     size_t len);
void mcp_resp_view_free(struct mcp_resp_view *v);

#endif /* MCP_RESP_VIEW_H */
