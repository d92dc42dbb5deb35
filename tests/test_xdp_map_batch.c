/* test_xdp_map_batch.c - batched map writes (userspace/xdp/map_batch.c) against a real kernel hash
 * map: the map ends as if every operation had been its own bpf() call, in fewer calls, and
 * keys the kernel refuses are reported without losing the others. Needs CAP_BPF (root). */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "xdp/map_batch.h"

struct key {
	uint32_t id;
	uint32_t pad;
};

static int make_map(uint32_t max_entries)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);
	int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "t_batch", sizeof(struct key),
				sizeof(uint64_t), max_entries, &o);

	cr_assert_geq(fd, 0, "cannot create a BPF hash map (%s): this test needs root/CAP_BPF",
		      strerror(errno));
	return fd;
}

static int lookup(int fd, uint32_t id, uint64_t *v)
{
	struct key k = { .id = id };

	return bpf_map_lookup_elem(fd, &k, v);
}

static uint32_t count_keys(int fd)
{
	struct key k, next;
	uint32_t n = 0;
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		n++;
	}
	return n;
}

struct fails {
	int n;
	uint32_t last_id;
	int last_put, last_err;
};

static void on_fail(void *ctx, const void *key, int put, int err)
{
	struct fails *f = ctx;

	f->n++;
	f->last_id = ((const struct key *)key)->id;
	f->last_put = put;
	f->last_err = err;
}

Test(map_batch, last_operation_per_key_wins)
{
	struct mcp_map_batch b;
	struct fails f = { 0 };
	int fd = make_map(1024);
	struct key k = { 0 };
	uint64_t v;

	/* key 1 already in the map, deleted in the batch; key 9 not there, deleted */
	k.id = 1;
	v = 100;
	cr_assert_eq(bpf_map_update_elem(fd, &k, &v, BPF_ANY), 0);
	cr_assert_eq(mcp_map_batch_init(&b, fd, sizeof(k), sizeof(v), 64, on_fail, &f), 0);
	mcp_map_batch_del(&b, &k);
	k.id = 9;
	mcp_map_batch_del(&b, &k);
	/* 2: put, delete, put again -> present with the last value */
	k.id = 2;
	v = 1;
	mcp_map_batch_put(&b, &k, &v);
	mcp_map_batch_del(&b, &k);
	v = 22;
	mcp_map_batch_put(&b, &k, &v);
	/* 3: put then delete -> absent; 4: put twice -> the second value */
	k.id = 3;
	mcp_map_batch_put(&b, &k, &v);
	mcp_map_batch_del(&b, &k);
	k.id = 4;
	v = 4;
	mcp_map_batch_put(&b, &k, &v);
	v = 44;
	mcp_map_batch_put(&b, &k, &v);
	/* queued: deletes of 1, 9 and 3; the put of 2 cancelled its delete */
	cr_assert_eq(b.ndel, 3, "%u deletes queued", b.ndel);
	/* nothing reaches the kernel before the flush */
	cr_assert_eq(lookup(fd, 1, &v), 0);
	cr_assert_neq(lookup(fd, 2, &v), 0);
	cr_assert_eq(mcp_map_batch_flush(&b), 0);
	cr_assert_eq(f.n, 0, "a delete of a missing key is no failure");
	cr_assert_neq(lookup(fd, 1, &v), 0);
	cr_assert_eq(lookup(fd, 2, &v), 0);
	cr_assert_eq(v, 22);
	cr_assert_neq(lookup(fd, 3, &v), 0);
	cr_assert_eq(lookup(fd, 4, &v), 0);
	cr_assert_eq(v, 44);
	cr_assert_eq(count_keys(fd), 2);
	cr_assert_leq(b.calls, 4, "%llu bpf() calls for one flush", (unsigned long long)b.calls);
	mcp_map_batch_free(&b);
	close(fd);
}

Test(map_batch, many_keys_in_few_calls_and_autoflush)
{
	struct mcp_map_batch b;
	int fd = make_map(4096);
	struct key k = { 0 };
	uint64_t v;
	uint32_t i;

	cr_assert_eq(mcp_map_batch_init(&b, fd, sizeof(k), sizeof(v), 1000, NULL, NULL), 0);
	for (i = 0; i < 2500; i++) {
		k.id = i;
		v = i * 3;
		mcp_map_batch_put(&b, &k, &v);
	}
	/* two full batches went out by themselves */
	cr_assert_eq(count_keys(fd), 2000);
	cr_assert_eq(mcp_map_batch_flush(&b), 0);
	cr_assert_eq(count_keys(fd), 2500);
	cr_assert_eq(b.calls, 3);
	for (i = 0; i < 2500; i += 499) {
		cr_assert_eq(lookup(fd, i, &v), 0);
		cr_assert_eq(v, (uint64_t)i * 3);
	}
	mcp_map_batch_free(&b);
	close(fd);
}

Test(map_batch, refused_keys_reported_the_rest_written)
{
	struct mcp_map_batch b;
	struct fails f = { 0 };
	int fd = make_map(10);
	struct key k = { 0 };
	uint64_t v = 7;
	uint32_t i;

	cr_assert_eq(mcp_map_batch_init(&b, fd, sizeof(k), sizeof(v), 64, on_fail, &f), 0);
	for (i = 0; i < 14; i++) {
		k.id = i;
		mcp_map_batch_put(&b, &k, &v);
	}
	/* the map holds 10: keys 10..13 are refused one by one, each reported */
	cr_assert_eq(mcp_map_batch_flush(&b), 4);
	cr_assert_eq(f.n, 4);
	cr_assert_eq(f.last_id, 13);
	cr_assert_eq(f.last_put, 1);
	cr_assert_eq(f.last_err, -E2BIG);
	cr_assert_eq(count_keys(fd), 10);
	/* an existing key can still be updated in a full map */
	k.id = 3;
	v = 33;
	mcp_map_batch_put(&b, &k, &v);
	cr_assert_eq(mcp_map_batch_flush(&b), 0);
	cr_assert_eq(lookup(fd, 3, &v), 0);
	cr_assert_eq(v, 33);
	mcp_map_batch_free(&b);
	close(fd);
}
