/* test_pipeline_flow_pins.c - the dispatcher's flow -> shard pins (pipeline/flow_pins.c):
 * random inserts and removals against a plain array model (backward-shift deletion and
 * growth keep every other pin findable), and the rule that a pin outlives a record when a
 * packet was dispatched under it after the flow ended. */
#include <criterion/criterion.h>
#include <string.h>

#include "pipeline/flow_pins.h"

#define NKEYS 5000

static void key_of(struct mcp_flow_key *k, uint32_t i)
{
	memset(k, 0, sizeof(*k));
	k->lo.b[15] = (uint8_t)i;
	k->lo.b[14] = (uint8_t)(i >> 8);
	k->hi.b[15] = 1;
	k->lo_port = (uint16_t)(i * 7);
	k->proto = 6;
}

/* A deliberately poor hash: long probe runs, so deletions shift entries across them. */
static uint32_t weak_hash(uint32_t i)
{
	return i % 97;
}

Test(flow_pins, random_ops_match_a_model)
{
	struct mcp_flow_pins *p = mcp_flow_pins_create(NKEYS);
	static int pinned[NKEYS];
	static uint16_t shard[NKEYS];
	struct mcp_flow_key k;
	uint32_t x = 1, count = 0;
	int added;

	cr_assert_not_null(p);
	for (int op = 0; op < 200000; op++) {
		uint32_t i;

		x = x * 1103515245u + 12345u;
		i = (x >> 8) % NKEYS;
		key_of(&k, i);
		if ((x >> 4) & 1) {
			struct mcp_flow_pin *pin = mcp_flow_pins_get(p, &k, weak_hash(i), &added);

			cr_assert_not_null(pin);
			cr_assert_eq(added, !pinned[i], "key %u: added %d, model %d", i, added, pinned[i]);
			if (added) {
				pin->shard = (uint16_t)(x % 8);
				shard[i] = pin->shard;
				pinned[i] = 1;
				count++;
			}
			cr_assert_eq(pin->shard, shard[i]);
		} else if (pinned[i]) {
			mcp_flow_pins_remove(p, &k, weak_hash(i), 1); /* last_seq 0 < 1: removed */
			pinned[i] = 0;
			count--;
		}
		cr_assert_eq(mcp_flow_pins_count(p), count);
	}
	for (uint32_t i = 0; i < NKEYS; i++) {
		struct mcp_flow_pin *pin;

		key_of(&k, i);
		pin = mcp_flow_pins_get(p, &k, weak_hash(i), &added);
		cr_assert_eq(added, !pinned[i], "key %u lost or resurrected", i);
		if (!added)
			cr_assert_eq(pin->shard, shard[i]);
	}
	mcp_flow_pins_destroy(p);
}

Test(flow_pins, the_bound_is_kept_and_freed_pins_are_reused)
{
	struct mcp_flow_pins *p = mcp_flow_pins_create(64);
	struct mcp_flow_key k;
	int added;

	for (uint32_t i = 0; i < 64; i++) {
		key_of(&k, i);
		cr_assert_not_null(mcp_flow_pins_get(p, &k, weak_hash(i), &added));
	}
	key_of(&k, 64);
	cr_assert_null(mcp_flow_pins_get(p, &k, weak_hash(64), &added), "65 pins in 64");
	cr_assert_eq(mcp_flow_pins_failures(p), 1);
	key_of(&k, 7);
	mcp_flow_pins_remove(p, &k, weak_hash(7), 1);
	key_of(&k, 64);
	cr_assert_not_null(mcp_flow_pins_get(p, &k, weak_hash(64), &added), "a freed pin is reused");
	cr_assert_eq(added, 1);
	cr_assert_eq(mcp_flow_pins_count(p), 64);
	mcp_flow_pins_destroy(p);
}

Test(flow_pins, a_packet_after_the_end_keeps_the_pin)
{
	struct mcp_flow_pins *p = mcp_flow_pins_create(16);
	struct mcp_flow_key k;
	struct mcp_flow_pin *pin;
	int added;

	key_of(&k, 42);
	pin = mcp_flow_pins_get(p, &k, 7, &added);
	pin->shard = 3;
	pin->last_seq = 100; /* a packet at seq 100 */
	mcp_flow_pins_remove(p, &k, 7, 100); /* the flow ended while seq 100 was handled */
	pin = mcp_flow_pins_get(p, &k, 7, &added);
	cr_assert_eq(added, 0, "seq 100 began a new flow on shard 3: the pin must stay");
	cr_assert_eq(pin->shard, 3);
	mcp_flow_pins_remove(p, &k, 7, 101); /* ended after its last packet */
	mcp_flow_pins_get(p, &k, 7, &added);
	cr_assert_eq(added, 1);
	mcp_flow_pins_destroy(p);
}
