/* cap_slot.c - live capture slots: take, mark, reclaim, release (cap_slot.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "capture/cap_slot.h"
#include "xdp/maps_user.h"

#define MCP_CAP_LOCK_DIR "/run/mcprobe"
#define MCP_CAP_BATCH 1024u

static int mcp_slot_lock_path(char *buf, size_t len, const char *iface, int slot)
{
	int n = slot < 0 ? snprintf(buf, len, MCP_CAP_LOCK_DIR "/capture-%s.lock", iface) :
			   snprintf(buf, len, MCP_CAP_LOCK_DIR "/capture-%s.slot%d.lock", iface, slot);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* flock on a lock file: the fd holding it, -EWOULDBLOCK when another holds it, or -errno. */
static int mcp_slot_flock(const char *iface, int slot, int wait)
{
	char path[256];
	int fd, err = mcp_slot_lock_path(path, sizeof(path), iface, slot);

	if (err)
		return err;
	mkdir(MCP_CAP_LOCK_DIR, 0755);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB))) {
		err = errno == EWOULDBLOCK ? -EWOULDBLOCK : -errno;
		if (err == -EINTR)
			continue;
		close(fd);
		return err;
	}
	return fd;
}

/* 1 if the slot's owner holds its lock, 0 if not (the lock is free: stale), or -errno. */
static int mcp_slot_alive(const char *iface, uint32_t slot)
{
	int fd = mcp_slot_flock(iface, (int)slot, 0);

	if (fd == -EWOULDBLOCK)
		return 1;
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

static int mcp_slot_table(struct mcp_xdp_obj *x, struct mcp_capture_slots *t, int write)
{
	uint32_t zero = 0;
	int fd = mcp_xdp_map_fd(x, MCP_XMAP_CAPTURE_SLOTS);
	int rc = write ? bpf_map_update_elem(fd, &zero, t, BPF_ANY) :
			 bpf_map_lookup_elem(fd, &zero, t);

	return rc ? -errno : 0;
}

/* Clears bit `slot` in every capture entry (interface lock held). */
static int mcp_slot_clear_bits(struct mcp_xdp_obj *x, uint32_t slot)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	int fd = mcp_xdp_map_fd(x, MCP_XMAP_CAPTURE), err, rc = 0;
	uint32_t *keys = calloc(MCP_CAP_BATCH, sizeof(*keys)), in = 0, out = 0, count, i;
	struct mcp_capture_val *vals = calloc(MCP_CAP_BATCH, sizeof(*vals));
	int first = 1;

	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -ENOMEM;
	}
	do {
		count = MCP_CAP_BATCH;
		err = bpf_map_lookup_batch(fd, first ? NULL : &in, &out, keys, vals, &count, &opts);
		if (err && errno != ENOENT) {
			rc = -errno;
			break;
		}
		for (i = 0; i < count; i++) {
			if (!(vals[i].slots & (1u << slot)))
				continue;
			vals[i].slots &= ~(1u << slot);
			if (bpf_map_update_elem(fd, &keys[i], &vals[i], BPF_ANY) && !rc)
				rc = -errno;
		}
		in = out;
		first = 0;
	} while (!err && count);
	free(keys);
	free(vals);
	return rc;
}

/* Frees a slot in the table and the maps (interface lock held). */
static void mcp_slot_free(struct mcp_xdp_obj *x, struct mcp_capture_slots *t, uint32_t slot)
{
	mcp_slot_clear_bits(x, slot);
	bpf_map_delete_elem(mcp_xdp_map_fd(x, MCP_XMAP_CAPTURE_RINGS), &slot);
	memset(&t->slot[slot], 0, sizeof(t->slot[slot]));
	t->used &= ~(1u << slot);
	t->follow &= ~(1u << slot);
}

/* Frees the slots whose owners died (interface lock held). Returns how many. */
static int mcp_slot_reclaim_locked(struct mcp_xdp_obj *x, const char *iface,
				   struct mcp_capture_slots *t)
{
	uint32_t s;
	int n = 0;

	for (s = 0; s < MCP_CAPTURE_SLOTS; s++) {
		if (!(t->used & (1u << s)) || mcp_slot_alive(iface, s) != 0)
			continue;
		mcp_slot_free(x, t, s);
		n++;
	}
	return n;
}

static int mcp_slot_stats(struct mcp_xdp_obj *x, uint32_t slot, uint64_t *copied,
			  uint64_t *lost)
{
	int ncpu = libbpf_num_possible_cpus(), c;
	struct mcp_capture_stats *v;
	uint32_t zero = 0;

	if (ncpu <= 0)
		return -EINVAL;
	v = calloc(ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	*copied = *lost = 0;
	if (bpf_map_lookup_elem(mcp_xdp_map_fd(x, MCP_XMAP_CAPTURE_STATS), &zero, v)) {
		free(v);
		return -errno;
	}
	for (c = 0; c < ncpu; c++) {
		*copied += v[c].copied[slot];
		*lost += v[c].lost[slot];
	}
	free(v);
	return 0;
}

/* Takes slot n for s: its lock, its ring, its row (interface lock held). */
static int mcp_slot_claim(struct mcp_cap_slot *s, struct mcp_capture_slots *t, uint32_t n,
			  const char *desc, int follow)
{
	struct mcp_capture_slot *row = &t->slot[n];
	int own = mcp_slot_flock(s->iface, (int)n, 0), ring;

	if (own < 0)
		return own;
	ring = mcp_xdp_capture_ring_add(s->x, n);
	if (ring < 0) {
		close(own);
		return ring;
	}
	s->slot = n;
	s->own_fd = own;
	s->ring_fd = ring;
	mcp_slot_stats(s->x, n, &s->copied0, &s->lost0);
	memset(row, 0, sizeof(*row));
	row->flags = MCP_CAPTURE_SLOT_USED | (follow ? MCP_CAPTURE_SLOT_FOLLOW : 0);
	row->pid = (uint32_t)getpid();
	row->started = (uint64_t)time(NULL);
	snprintf(row->desc, sizeof(row->desc), "%s", desc);
	t->used |= 1u << n;
	if (follow)
		t->follow |= 1u << n;
	return 0;
}

int mcp_cap_slot_take(struct mcp_xdp_obj *x, const char *iface, const char *desc, int follow,
		      struct mcp_cap_slot *s, int *reclaimed)
{
	struct mcp_capture_slots t;
	int lock, err = -EBUSY, n;
	uint32_t i;

	memset(s, 0, sizeof(*s));
	s->x = x;
	s->own_fd = s->ring_fd = -1;
	snprintf(s->iface, sizeof(s->iface), "%s", iface);
	lock = mcp_slot_flock(iface, -1, 1);
	if (lock < 0)
		return lock;
	n = mcp_slot_table(x, &t, 0);
	if (n) {
		err = n;
		goto out;
	}
	n = mcp_slot_reclaim_locked(x, iface, &t);
	if (reclaimed)
		*reclaimed = n;
	for (i = 0; i < MCP_CAPTURE_SLOTS && err == -EBUSY; i++) {
		if (t.used & (1u << i))
			continue;
		err = mcp_slot_claim(s, &t, i, desc, follow);
		if (err == -EWOULDBLOCK)
			err = -EBUSY; /* an owner between take and row: try the next slot */
	}
	if ((!err || n) && (n = mcp_slot_table(x, &t, 1)) && !err) {
		err = n;
		mcp_cap_slot_release(s);
	}
out:
	close(lock);
	return err;
}

int mcp_cap_slot_mark(struct mcp_cap_slot *s, uint32_t idx, int on)
{
	int fd = mcp_xdp_map_fd(s->x, MCP_XMAP_CAPTURE), lock, err = 0;
	struct mcp_capture_val v;

	lock = mcp_slot_flock(s->iface, -1, 1);
	if (lock < 0)
		return lock;
	if (bpf_map_lookup_elem(fd, &idx, &v)) {
		err = -errno;
	} else {
		v.slots = on ? v.slots | (1u << s->slot) : v.slots & ~(1u << s->slot);
		if (bpf_map_update_elem(fd, &idx, &v, BPF_ANY))
			err = -errno;
	}
	close(lock);
	return err;
}

int mcp_cap_slot_reclaim(struct mcp_cap_slot *s)
{
	struct mcp_capture_slots t;
	int lock = mcp_slot_flock(s->iface, -1, 1), n;

	if (lock < 0)
		return lock;
	n = mcp_slot_table(s->x, &t, 0);
	if (n == 0) {
		n = mcp_slot_reclaim_locked(s->x, s->iface, &t);
		if (n > 0 && mcp_slot_table(s->x, &t, 1))
			n = -errno;
	}
	close(lock);
	return n;
}

int mcp_cap_slot_counts(struct mcp_cap_slot *s, uint64_t *copied, uint64_t *lost)
{
	int err = mcp_slot_stats(s->x, s->slot, copied, lost);

	if (err)
		return err;
	*copied -= s->copied0;
	*lost -= s->lost0;
	return 0;
}

void mcp_cap_slot_release(struct mcp_cap_slot *s)
{
	struct mcp_capture_slots t;
	int lock;

	if (s->own_fd < 0)
		return;
	lock = mcp_slot_flock(s->iface, -1, 1);
	if (mcp_slot_table(s->x, &t, 0) == 0) {
		mcp_slot_free(s->x, &t, s->slot);
		mcp_slot_table(s->x, &t, 1);
	}
	if (lock >= 0)
		close(lock);
	close(s->own_fd);
	s->own_fd = -1;
	if (s->ring_fd >= 0)
		close(s->ring_fd);
	s->ring_fd = -1;
}

int mcp_cap_slot_list(struct mcp_xdp_obj *x, const char *iface, mcp_cap_slot_fn fn, void *ctx)
{
	struct mcp_capture_slots t;
	uint32_t s;
	int n = 0, err = mcp_slot_table(x, &t, 0);

	if (err)
		return err;
	for (s = 0; s < MCP_CAPTURE_SLOTS; s++) {
		if (!(t.used & (1u << s)))
			continue;
		t.slot[s].desc[MCP_CAPTURE_DESC_LEN - 1] = 0;
		fn(ctx, s, &t.slot[s], mcp_slot_alive(iface, s) != 0);
		n++;
	}
	return n;
}
