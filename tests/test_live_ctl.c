/* test_live_ctl.c - the live-capture control thread (userspace/live/live_ctl.c): every posted
 * session event is applied once, in order, with its subscriber intact, including the ones
 * still queued when it is stopped and bursts larger than its ring; a commit follows at most
 * 256 applied events and the last of them.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "live/live_ctl.h"

#define N_EVENTS 100000u /* three times the ring: the poster has to wait */

struct seen {
	uint32_t n;
	uint32_t bad;
	uint32_t uncommitted, max_uncommitted, commits;
};

static void commit(void *ctx)
{
	struct seen *s = ctx;

	if (s->uncommitted > s->max_uncommitted)
		s->max_uncommitted = s->uncommitted;
	s->uncommitted = 0;
	s->commits++;
}

static void record(void *ctx, enum mcp_session_event ev, const struct mcp_subscriber *sub,
		   uint64_t ts_ms)
{
	struct seen *s = ctx;
	char imsi[MCP_IMSI_LEN];

	snprintf(imsi, sizeof(imsi), "%015u", s->n);
	if (sub->id != s->n || ts_ms != (uint64_t)s->n * 7 ||
	    ev != (enum mcp_session_event)(s->n % 4) ||
	    strcmp(sub->imsi, imsi) || sub->ntunnels != s->n % MCP_MAX_TUNNELS ||
	    sub->tunnels[0].teid != s->n)
		s->bad++;
	s->n++;
	s->uncommitted++;
}

Test(live_ctl, applies_everything_in_order)
{
	struct mcp_live_ctl *c;
	struct mcp_subscriber sub;
	struct seen s = { 0 };

	cr_assert_eq(mcp_live_ctl_start(&c, record, commit, &s), 0);
	for (uint32_t i = 0; i < N_EVENTS; i++) {
		memset(&sub, 0, sizeof(sub));
		sub.id = i;
		snprintf(sub.imsi, sizeof(sub.imsi), "%015u", i);
		sub.ntunnels = (uint8_t)(i % MCP_MAX_TUNNELS);
		sub.tunnels[0].teid = i;
		mcp_live_ctl_post(c, (enum mcp_session_event)(i % 4), &sub, (uint64_t)i * 7);
	}
	mcp_live_ctl_stop(c); /* must apply what is still queued */
	cr_assert_eq(s.n, N_EVENTS, "applied %u of %u events", s.n, N_EVENTS);
	cr_assert_eq(s.bad, 0, "%u events out of order or damaged", s.bad);
	cr_assert_eq(s.uncommitted, 0, "the last events were never committed");
	cr_assert_leq(s.max_uncommitted, 256);
	cr_assert_geq(s.commits, N_EVENTS / 256);
}

Test(live_ctl, stop_null_and_idle)
{
	struct mcp_live_ctl *c;
	struct seen s = { 0 };

	mcp_live_ctl_stop(NULL);
	cr_assert_eq(mcp_live_ctl_waits(NULL), 0);
	cr_assert_eq(mcp_live_ctl_start(&c, record, NULL, &s), 0);
	mcp_live_ctl_stop(c);
	cr_assert_eq(s.n, 0);
}
