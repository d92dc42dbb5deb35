/* session_pressure.c - the session table's bounds made visible: a warning the first time each
 * bound is hit, and the counters in --stats (session.h). A bound hit silently means sessions
 * not created or responses not matched while every output looks complete.
 */
#include <inttypes.h>
#include <stdio.h>

#include "session/gtpc_txn.h"
#include "session/session_internal.h"
#include "util/log.h"

/* The --stats rows: a counter and its label. */
struct mcp_pressure_row {
	size_t off; /* into struct mcp_session_stats */
	const char *label;
};

#define ROW(f, l) { offsetof(struct mcp_session_stats, f), l }
static const struct mcp_pressure_row rows[] = {
	ROW(table_full, "sessions not created (table full)"),
	ROW(txn_full, "requests not tracked (pending full)"),
	ROW(tunnels_full, "tunnels dropped (subscriber full)"),
	ROW(unknown_session, "exchanges of unknown sessions"),
	ROW(discarded_ies, "gtp-c repeated IEs discarded"),
};

static uint64_t counter(const struct mcp_session_stats *st, size_t off)
{
	return *(const uint64_t *)((const char *)st + off);
}

/* True the first time the counter is non-zero. */
static int first_hit(struct mcp_sessions *s, uint64_t n, unsigned int bit)
{
	if (!n || (s->pressure_warned & bit))
		return 0;
	s->pressure_warned |= bit;
	return 1;
}

void mcp_sess_pressure_check(struct mcp_sessions *s)
{
	if (first_hit(s, s->stats.table_full, 1))
		mcp_warn("session table full (--max-subscribers %" PRIu32 "): new subscribers are "
			 "not tracked (counted in --stats)\n", s->cfg.max_subscribers);
	if (first_hit(s, s->stats.txn_full, 2))
		mcp_warn("pending-request table full (%" PRIu32 " requests): their responses will "
			 "be unmatched (counted in --stats)\n", mcp_gtpc_txns_max(s->txns));
	if (first_hit(s, s->stats.tunnels_full, 4))
		mcp_warn("a subscriber has %d tunnels: further F-TEIDs are dropped (counted in "
			 "--stats)\n", MCP_MAX_TUNNELS);
}

void mcp_sessions_print_pressure(FILE *f, const struct mcp_session_stats *st)
{
	for (unsigned int i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		fprintf(f, "  %-36s %" PRIu64 "\n", rows[i].label, counter(st, rows[i].off));
}
