/* map_batch.c - batched writes to one BPF hash map (see map_batch.h). */
#include "map_batch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

int mcp_map_batch_init(struct mcp_map_batch *b, int fd, uint32_t key_size, uint32_t val_size,
		       uint32_t cap, mcp_map_batch_fail_fn on_fail, void *ctx)
{
	memset(b, 0, sizeof(*b));
	b->fd = fd;
	b->key_size = key_size;
	b->val_size = val_size;
	b->cap = cap ? cap : 1;
	b->on_fail = on_fail;
	b->ctx = ctx;
	b->put_keys = malloc((size_t)b->cap * key_size);
	b->put_vals = malloc((size_t)b->cap * val_size);
	b->del_keys = malloc((size_t)b->cap * key_size);
	if (!b->put_keys || !b->put_vals || !b->del_keys) {
		mcp_map_batch_free(b);
		return -ENOMEM;
	}
	return 0;
}

void mcp_map_batch_free(struct mcp_map_batch *b)
{
	free(b->put_keys);
	free(b->put_vals);
	free(b->del_keys);
	b->put_keys = b->put_vals = b->del_keys = NULL;
	b->nput = b->ndel = 0;
}

/* Removes every copy of key from keys[0..*n) (and the matching vals when vals != NULL). */
static void drop_key(uint8_t *keys, uint8_t *vals, uint32_t *n, const void *key,
		     uint32_t ksz, uint32_t vsz)
{
	uint32_t i = 0;

	while (i < *n) {
		if (memcmp(keys + (size_t)i * ksz, key, ksz)) {
			i++;
			continue;
		}
		(*n)--;
		memmove(keys + (size_t)i * ksz, keys + (size_t)(i + 1) * ksz,
			(size_t)(*n - i) * ksz);
		if (vals)
			memmove(vals + (size_t)i * vsz, vals + (size_t)(i + 1) * vsz,
				(size_t)(*n - i) * vsz);
	}
}

/* The kernel stops a batch at the first key it refuses and says how many went before it:
 * that key is reported and the rest sent again. A call refused as a whole (count untouched,
 * a kernel without batch support for this map) falls back to one call per key. */
static int send_deletes(struct mcp_map_batch *b)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint32_t done = 0, count;
	int failed = 0, err;

	while (done < b->ndel) {
		const uint8_t *k = b->del_keys + (size_t)done * b->key_size;

		count = b->ndel - done;
		b->calls++;
		err = bpf_map_delete_batch(b->fd, k, &count, &opts) ? errno : 0;
		if (!err)
			break;
		if (count >= b->ndel - done) {
			count = 0;
			b->calls++;
			err = bpf_map_delete_elem(b->fd, k) ? errno : 0;
		}
		done += count;
		k = b->del_keys + (size_t)done * b->key_size;
		if (err && err != ENOENT) { /* already gone is what a delete wants */
			failed++;
			if (b->on_fail)
				b->on_fail(b->ctx, k, 0, -err);
		}
		done++;
	}
	b->ndel = 0;
	return failed;
}

static int send_puts(struct mcp_map_batch *b)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);
	uint32_t done = 0, count;
	int failed = 0, err;

	while (done < b->nput) {
		const uint8_t *k = b->put_keys + (size_t)done * b->key_size;
		const uint8_t *v = b->put_vals + (size_t)done * b->val_size;

		count = b->nput - done;
		b->calls++;
		err = bpf_map_update_batch(b->fd, k, v, &count, &opts) ? errno : 0;
		if (!err)
			break;
		if (count >= b->nput - done) {
			count = 0;
			b->calls++;
			err = bpf_map_update_elem(b->fd, k, v, BPF_ANY) ? errno : 0;
		}
		done += count;
		k = b->put_keys + (size_t)done * b->key_size;
		if (err) {
			failed++;
			if (b->on_fail)
				b->on_fail(b->ctx, k, 1, -err);
		}
		done++;
	}
	b->nput = 0;
	return failed;
}

/* Refusals accumulate in b->refused until mcp_map_batch_flush reports them. */
static void send_all(struct mcp_map_batch *b)
{
	b->refused += (uint32_t)(send_deletes(b) + send_puts(b));
}

void mcp_map_batch_put(struct mcp_map_batch *b, const void *key, const void *val)
{
	if (b->nput == b->cap)
		send_all(b);
	/* deletes are rare (handovers, removals): only then is there something to cancel */
	if (b->ndel)
		drop_key(b->del_keys, NULL, &b->ndel, key, b->key_size, 0);
	memcpy(b->put_keys + (size_t)b->nput * b->key_size, key, b->key_size);
	memcpy(b->put_vals + (size_t)b->nput * b->val_size, val, b->val_size);
	b->nput++; /* a repeated key stays twice: the kernel applies the batch in order */
}

void mcp_map_batch_del(struct mcp_map_batch *b, const void *key)
{
	uint32_t i;

	if (b->ndel == b->cap)
		send_all(b);
	drop_key(b->put_keys, b->put_vals, &b->nput, key, b->key_size, b->val_size);
	for (i = 0; i < b->ndel; i++)
		if (!memcmp(b->del_keys + (size_t)i * b->key_size, key, b->key_size))
			return;
	memcpy(b->del_keys + (size_t)b->ndel * b->key_size, key, b->key_size);
	b->ndel++;
}

int mcp_map_batch_flush(struct mcp_map_batch *b)
{
	int refused;

	send_all(b);
	refused = (int)b->refused;
	b->refused = 0;
	return refused;
}
