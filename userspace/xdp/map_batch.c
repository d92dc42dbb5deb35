/* map_batch.c - batched writes to one BPF hash map (see map_batch.h). */
#include "xdp/map_batch.h"

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

/* One bpf() call for count keys from k (and values from v, for puts): 0 or errno, and
 * *count = the keys done before the first one refused. */
static int batch_call(const struct mcp_map_batch *b, int put, const uint8_t *k,
		      const uint8_t *v, uint32_t *count)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);

	if (put)
		return bpf_map_update_batch(b->fd, k, v, count, &opts) ? errno : 0;
	return bpf_map_delete_batch(b->fd, k, count, &opts) ? errno : 0;
}

static int single_call(const struct mcp_map_batch *b, int put, const uint8_t *k,
		       const uint8_t *v)
{
	if (put)
		return bpf_map_update_elem(b->fd, k, v, BPF_ANY) ? errno : 0;
	return bpf_map_delete_elem(b->fd, k) ? errno : 0;
}

/* Sends the queued puts (put = 1) or deletes. The kernel stops a batch at the first key it
 * refuses and says how many went before it: that key is reported and the rest sent again. A
 * call refused as a whole (count untouched, a kernel without batch support for this map)
 * falls back to one call per key. Returns the keys refused. */
static int send_queue(struct mcp_map_batch *b, int put)
{
	const uint8_t *keys = put ? b->put_keys : b->del_keys;
	uint32_t *n = put ? &b->nput : &b->ndel, done = 0, count;
	int failed = 0, err;

	while (done < *n) {
		const uint8_t *k = keys + (size_t)done * b->key_size;
		const uint8_t *v = put ? b->put_vals + (size_t)done * b->val_size : NULL;

		count = *n - done;
		b->calls++;
		err = batch_call(b, put, k, v, &count);
		if (!err)
			break;
		if (count >= *n - done) {
			count = 0;
			b->calls++;
			err = single_call(b, put, k, v);
		}
		done += count;
		if (err && (put || err != ENOENT)) { /* already gone is what a delete wants */
			failed++;
			if (b->on_fail)
				b->on_fail(b->ctx, keys + (size_t)done * b->key_size, put, -err);
		}
		done++;
	}
	*n = 0;
	return failed;
}

/* Refusals accumulate in b->refused until mcp_map_batch_flush reports them. */
static void send_all(struct mcp_map_batch *b)
{
	b->refused += (uint32_t)(send_queue(b, 0) + send_queue(b, 1));
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
