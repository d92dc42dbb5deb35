/* worker_internal.h - the worker's state, shared by worker.c (flows, export) and
 * worker_bypass.c (kernel flow bypass: install, credit, take back, profile).
 */
#ifndef MCP_WORKER_INTERNAL_H
#define MCP_WORKER_INTERNAL_H

#include <stdint.h>

#include "flow/dpi.h"
#include "flow/flow.h"
#include "flow/worker.h"

/* Bypass profile per DPI label (master protocol, else app): where flows of each kind are
 * installed and how many of their packets still reach userspace. Printed when the bypass is
 * turned off (-v). The last slot takes every label beyond the first ones. */
#define BYPASS_LABELS 12

struct bypass_label {
	uint16_t proto;
	uint8_t used;
	uint64_t flows, at_sum, at_max, late, never_flows, never_pkts;
};

struct mcp_worker {
	struct mcp_worker_cfg cfg;
	struct bypass_label labels[BYPASS_LABELS];
	struct mcp_bypass_ops bypass;
	int bypass_on;
	struct mcp_flow_table *flows;
	struct mcp_dpi *dpi;
	uint64_t now_ms;
	struct mcp_worker_stats stats;
};

/* worker_bypass.c. Credit: adds what the kernel counted since the last credit (v: its entry). */
void mcp_worker_bypass_credit(struct mcp_worker *w, struct mcp_flow *f,
			      const struct mcp_flow_val *v);
/* Before a record is written: credit the kernel's share; a final export also removes it. */
void mcp_worker_bypass_settle(struct mcp_worker *w, struct mcp_flow *f, int final);
/* A flow that ends without ever being installed (the profile counts it). */
void mcp_worker_bypass_count_never(struct mcp_worker *w, const struct mcp_flow *f);
/* Kernel subscriber counters: np/nb counted in f on side d (0 up) that XDP credited to no
 * subscriber; credited through the bypass ops as soon as f has a subscriber (_flush). */
void mcp_worker_credit_add(struct mcp_worker *w, struct mcp_flow *f, int d, uint64_t np,
			   uint64_t nb);
void mcp_worker_credit_flush(struct mcp_worker *w, struct mcp_flow *f);
/* f moved from subscriber `from` to f->sub_id: what `from` received for it goes along. */
void mcp_worker_credit_move(struct mcp_worker *w, const struct mcp_flow *f, uint32_t from);
/* Notes np/nb on side d (0 up) as received by f->sub_id's kernel counters (flow.h). */
static inline void mcp_worker_owner_credited(struct mcp_flow *f, int d, uint64_t np,
					     uint64_t nb)
{
	f->owner_credit_pkts[d] += (uint32_t)np;
	f->owner_credit_bytes[d] += nb;
}
/* worker.c: the session of a flow that had none may have appeared since (attribution.h); 1 if
 * that turned the flow round. */
int mcp_worker_late_bind(struct mcp_worker *w, struct mcp_flow *f);
/* Installs a classified flow; _pending at a TCP SYN, before nDPI decided. */
void mcp_worker_bypass_install(struct mcp_worker *w, struct mcp_flow *f);
void mcp_worker_bypass_install_pending(struct mcp_worker *w, struct mcp_flow *f);

#endif /* MCP_WORKER_INTERNAL_H */
