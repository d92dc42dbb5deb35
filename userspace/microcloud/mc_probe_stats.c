/* mc_probe_stats.c - the probe's session-table bound counters in the microcloud:
 * `P stats.<probe>`, a hash written with the counters (docs/microcloud.md), so that pressure
 * on one probe (sessions not created, requests not tracked) is visible to every reader. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "microcloud/mc_internal.h"

void mcp_mc_probe_stats(struct mcp_mc *m, const struct mcp_session_stats *ss)
{
	if (!m || !ss)
		return;
	pthread_mutex_lock(&m->lock);
	m->pstats = *ss;
	m->pstats_dirty = 1;
	pthread_mutex_unlock(&m->lock);
}

int mcp_mc_probe_stats_cmds(struct mcp_mc *m, struct mcp_mc_batch *b)
{
	struct mcp_session_stats s;
	char key[MCP_MC_KEY_LEN], v[7][24];
	int dirty;

	pthread_mutex_lock(&m->lock);
	dirty = m->pstats_dirty;
	s = m->pstats;
	m->pstats_dirty = 0;
	pthread_mutex_unlock(&m->lock);
	if (!dirty)
		return 0;
	if (mcp_mc_key_fmt(&m->keys, key, sizeof(key), "stats.%s", m->probe) < 0)
		return 0;
	snprintf(v[0], sizeof(v[0]), "%" PRIu64, s.table_full);
	snprintf(v[1], sizeof(v[1]), "%" PRIu64, s.txn_full);
	snprintf(v[2], sizeof(v[2]), "%" PRIu64, s.tunnels_full);
	snprintf(v[3], sizeof(v[3]), "%" PRIu64, s.unknown_session);
	snprintf(v[4], sizeof(v[4]), "%" PRIu64, s.discarded_ies);
	snprintf(v[5], sizeof(v[5]), "%" PRIu64, s.unmatched_responses);
	snprintf(v[6], sizeof(v[6]), "%" PRIu64, s.created);
	return mcp_mc_batch_addf(b, key,
				 "HSET %s table_full %s txn_full %s tunnels_full %s "
				 "unknown_session %s discarded_ies %s unmatched_responses %s "
				 "sessions_created %s",
				 key, v[0], v[1], v[2], v[3], v[4], v[5], v[6]) ? -ENOMEM : 0;
}
