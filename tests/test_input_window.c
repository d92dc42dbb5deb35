/* test_input_window.c - the capture window's stable mode (input/window.c), which lets shards
 * read frames in place: a record taken stays intact, at the same address, until
 * before_reuse has been called for the buffer that holds it, and the stream's bytes come
 * out whole and in order across every turn of the two buffers. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "input/window.h"

#define REC 100          /* bytes per record: record i is REC bytes of (uint8_t)i */
#define NREC 5000
#define CAP 1024         /* each buffer: ten records and a part, so records straddle turns */

struct taken {
	const uint8_t *at;
	int rec;
};

static struct taken taken[NREC];
static int ntaken, reuses, checked_from;

/* Every record taken before the previous turn may now be overwritten: check that it was
 * intact until now; from here on only the later ones are checked. */
static void before_reuse(void *ctx)
{
	int *upto = ctx;

	for (int i = checked_from; i < *upto; i++) {
		for (int b = 0; b < REC; b++)
			cr_assert_eq(taken[i].at[b], (uint8_t)taken[i].rec,
				     "record %d changed before its buffer was released", i);
	}
	checked_from = *upto;
	*upto = ntaken;
	reuses++;
}

Test(window, stable_records_stay_until_their_buffer_is_released)
{
	static uint8_t stream[REC * NREC];
	struct mcp_window w;
	FILE *fp;
	int upto = 0;

	for (int i = 0; i < NREC; i++)
		memset(stream + (size_t)i * REC, i, REC);
	fp = fmemopen(stream, sizeof(stream), "rb");
	cr_assert_not_null(fp);
	cr_assert_eq(mcp_window_init(&w, fp, 16), 0); /* a small first read: stable keeps it */
	cr_assert_geq(mcp_window_fill(&w, 10), 10);
	cr_assert_eq(mcp_window_stable(&w, CAP, before_reuse, &upto), 0);
	for (int i = 0; i < NREC; i++) {
		cr_assert_geq(mcp_window_fill(&w, REC), REC, "record %d cut short", i);
		taken[ntaken++] = (struct taken){ .at = mcp_window_peek(&w), .rec = i };
		for (int b = 0; b < REC; b++)
			cr_assert_eq(mcp_window_peek(&w)[b], (uint8_t)i, "record %d byte %d", i, b);
		mcp_window_take(&w, REC);
		/* the unreleased ones, taken in this turn or the one before, are still intact */
		for (int j = checked_from; j < ntaken; j++)
			cr_assert_eq(taken[j].at[0], (uint8_t)taken[j].rec, "record %d overwritten", j);
	}
	cr_assert_eq(mcp_window_fill(&w, REC), 0, "the stream's end");
	cr_assert_geq(reuses, NREC * REC / CAP - 1, "%d turns", reuses);
	mcp_window_free(&w);
}
