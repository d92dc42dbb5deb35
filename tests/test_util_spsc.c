/* test_util_spsc.c - the lock-free SPSC frame ring (userspace/util/spsc.h) and the RX queue count helper
 * of userspace/xdp/xsk_socket.c: full/empty edges, index wrap-around, and a two-thread run that checks
 * every frame arrives once, in order, with its bytes intact.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>

#include "util/spsc.h"
#include "xdp/xsk_socket.h"

Test(spsc, rounds_up_and_rejects_bad_sizes)
{
	struct mcp_spsc r;

	cr_assert_eq(mcp_spsc_init(&r, 0, 64), -EINVAL);
	cr_assert_eq(mcp_spsc_init(&r, 8, 0), -EINVAL);
	cr_assert_eq(mcp_spsc_init(&r, 5, 64), 0);
	cr_assert_eq(r.mask, 7);
	cr_assert_eq(r.stride % MCP_SPSC_CACHELINE, 0);
	cr_assert_geq(r.stride, sizeof(struct mcp_spsc_slot) + 64);
	mcp_spsc_free(&r);
}

Test(spsc, full_and_empty)
{
	struct mcp_spsc r;
	struct mcp_spsc_slot *s;

	cr_assert_eq(mcp_spsc_init(&r, 4, 16), 0);
	cr_assert_null(mcp_spsc_peek(&r));
	for (int i = 0; i < 4; i++) {
		s = mcp_spsc_reserve(&r);
		cr_assert_not_null(s);
		s->len = (uint32_t)i;
		mcp_spsc_publish(&r);
	}
	cr_assert_null(mcp_spsc_reserve(&r), "a full ring must refuse a fifth slot");
	cr_assert_eq(mcp_spsc_count(&r), 4);
	s = mcp_spsc_peek(&r);
	cr_assert_eq(s->len, 0);
	mcp_spsc_release(&r);
	cr_assert_not_null(mcp_spsc_reserve(&r), "one release frees one slot");
	for (int i = 1; i < 4; i++) {
		s = mcp_spsc_peek(&r);
		cr_assert_eq(s->len, (uint32_t)i);
		mcp_spsc_release(&r);
	}
	cr_assert_null(mcp_spsc_peek(&r));
	mcp_spsc_free(&r);
}

Test(spsc, indices_wrap_around_uint32)
{
	struct mcp_spsc r;
	struct mcp_spsc_slot *s;

	cr_assert_eq(mcp_spsc_init(&r, 4, 16), 0);
	/* Start just below the 32-bit wrap: the free-running arithmetic must still work. */
	r.head = r.tail = r.cached_head = r.cached_tail = UINT32_MAX - 2;
	for (uint32_t i = 0; i < 20; i++) {
		s = mcp_spsc_reserve(&r);
		cr_assert_not_null(s);
		s->len = i;
		mcp_spsc_publish(&r);
		s = mcp_spsc_peek(&r);
		cr_assert_not_null(s);
		cr_assert_eq(s->len, i);
		mcp_spsc_release(&r);
	}
	cr_assert_null(mcp_spsc_peek(&r));
	mcp_spsc_free(&r);
}

#define N_FRAMES 300000u

static void *producer(void *arg)
{
	struct mcp_spsc *r = arg;

	for (uint32_t i = 0; i < N_FRAMES; i++) {
		struct mcp_spsc_slot *s;

		while (!(s = mcp_spsc_reserve(r)))
			sched_yield();
		s->len = 4 + i % 60;
		memcpy(s->data, &i, 4); /* the sequence number, then a pattern */
		memset(s->data + 4, (int)(i & 0xff), s->len - 4);
		mcp_spsc_publish(r);
	}
	return NULL;
}

Test(spsc, two_threads_in_order_intact)
{
	struct mcp_spsc r;
	pthread_t t;
	uint32_t next = 0;

	cr_assert_eq(mcp_spsc_init(&r, 64, 64), 0);
	cr_assert_eq(pthread_create(&t, NULL, producer, &r), 0);
	while (next < N_FRAMES) {
		struct mcp_spsc_slot *s = mcp_spsc_peek(&r);

		if (!s) {
			sched_yield();
			continue;
		}
		uint32_t seq;

		memcpy(&seq, s->data, 4);
		cr_assert_eq(seq, next, "frame %u arrived as %u", next, seq);
		cr_assert_eq(s->len, 4 + next % 60);
		for (uint32_t k = 4; k < s->len; k++)
			cr_assert_eq(s->data[k], next & 0xff, "frame %u byte %u", next, k);
		mcp_spsc_release(&r);
		next++;
	}
	pthread_join(t, NULL);
	cr_assert_null(mcp_spsc_peek(&r));
	mcp_spsc_free(&r);
}

Test(xsk, rx_queue_count)
{
	cr_assert_geq(mcp_if_rx_queues("lo"), 1);
	cr_assert_eq(mcp_if_rx_queues("mcp-no-such0"), -ENODEV);
	cr_assert_eq(mcp_if_rx_queues("an-interface-name-far-too-long"), -ENODEV);
	cr_assert_eq(mcp_if_rx_queues(NULL), -ENODEV);
}
