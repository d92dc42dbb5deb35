/* dpi.h - nDPI (Debian's libndpi 4.2) behind a small interface: classify a flow from its first
 * packets, keep the verdict and metadata, free nDPI's per-flow state as soon as it has decided.
 */
#ifndef MCP_DPI_H
#define MCP_DPI_H

#include <stdint.h>

#include "flow/record.h"

struct ndpi_flow_struct;

/* Metadata nDPI extracted; allocated only for flows that have some. */
struct mcp_dpi_meta {
	char host[MCP_HOST_LEN];
	char url[MCP_URL_LEN];
	char user_agent[MCP_UA_LEN];
	uint16_t http_status;
	int16_t dns_rcode;
};

/* Per-flow DPI state: 24 bytes once nDPI's own state is released. */
struct mcp_dpi_flow {
	struct ndpi_flow_struct *ndpi; /* NULL once done */
	struct mcp_dpi_meta *meta;
	uint16_t app, master, category;
	uint8_t done;
	uint8_t pkts;                  /* packets fed so far (bounded by the give-up limits) */
	uint8_t extra;                 /* packets fed after the verdict, for metadata */
};

struct mcp_dpi_stats {
	uint64_t flows_started, flows_classified, flows_guessed, flows_unknown;
	uint64_t packets_fed, alloc_failures;
};

struct mcp_dpi;

struct mcp_dpi *mcp_dpi_create(void);
void mcp_dpi_destroy(struct mcp_dpi *d);

/* Feeds one IP packet of the flow to nDPI unless it has already decided. Returns 1 once the
 * flow is classified (metadata collected, nDPI state freed), 0 while it still wants packets. */
int mcp_dpi_feed(struct mcp_dpi *d, struct mcp_dpi_flow *f, uint8_t proto, const uint8_t *l3,
		 uint32_t len, uint64_t ts_ms);

/* Ends DPI for a flow being exported: gives up (with nDPI's guess) if undecided. */
void mcp_dpi_finish(struct mcp_dpi *d, struct mcp_dpi_flow *f);

/* Fills the record's app, master_app, category, host, url, user_agent, status, rcode. */
void mcp_dpi_fill_record(struct mcp_dpi *d, const struct mcp_dpi_flow *f,
			 struct mcp_flow_record *r);

/* Releases the flow's DPI state (nDPI flow and metadata). */
void mcp_dpi_release(struct mcp_dpi_flow *f);

const struct mcp_dpi_stats *mcp_dpi_stats(const struct mcp_dpi *d);
/* nDPI's name of a protocol id ("Unknown" for 0). */
const char *mcp_dpi_proto_name(const struct mcp_dpi *d, uint16_t proto);

#endif /* MCP_DPI_H */
