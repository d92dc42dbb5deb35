/* cap_filter.c - set, follow and clear mcp-capture's entries of the capture map
 * (cap_filter.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "capture/cap_filter.h"
#include "util/log.h"
#include "xdp/maps_user.h"

#define MCP_CAP_SCAN_BATCH 1024u
/* Session indexes are handed out from 0 and reused, so the used ones are dense at the start:
 * a scan stops this far past the last used index it saw, and every MCP_CAP_FULL_EVERY-th scan
 * reads the whole map in case the table grew in a way this misses. */
#define MCP_CAP_SCAN_SLACK 1024u
#define MCP_CAP_FULL_EVERY 512u

struct mcp_cap_entry {
	uint32_t idx;
	char imsi[MCP_SUB_IMSI_LEN];
	uint64_t base, last; /* frames counted by XDP before the entry was set / at the last scan */
	uint64_t captured;
	int set;
};

struct mcp_cap_filter {
	struct mcp_xdp_obj *x;
	struct mcp_cap_slot *slot;
	struct mcp_imsi_set imsis;
	uint32_t max_subs;
	struct mcp_cap_entry *e;
	uint32_t n, alloc;
	uint32_t scans;
	int removed;       /* mcp_cap_filter_remove ran: counts are final */
	uint32_t *keys;
	struct mcp_sub_info *vals;
	struct mcp_cap_filter_stats st;   /* entries no longer set */
	struct mcp_cap_filter_stats view;  /* st plus the entries still set */
};

static int mcp_cap_map_fd(const struct mcp_cap_filter *f, enum mcp_xdp_map m)
{
	return mcp_xdp_map_fd(f->x, m);
}

struct mcp_cap_filter *mcp_cap_filter_create(struct mcp_xdp_obj *x, struct mcp_cap_slot *slot,
					     const struct mcp_imsi_set *imsis)
{
	struct mcp_cap_filter *f = calloc(1, sizeof(*f));
	struct bpf_map_info info;
	__u32 len = sizeof(info);

	if (!f)
		return NULL;
	f->x = x;
	f->slot = slot;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(mcp_cap_map_fd(f, MCP_XMAP_CAPTURE), &info, &len) == 0)
		f->max_subs = info.max_entries;
	f->keys = calloc(MCP_CAP_SCAN_BATCH, sizeof(*f->keys));
	f->vals = calloc(MCP_CAP_SCAN_BATCH, sizeof(*f->vals));
	if (!f->max_subs || !f->keys || !f->vals || mcp_imsi_set_copy(&f->imsis, imsis)) {
		mcp_cap_filter_destroy(f);
		return NULL;
	}
	return f;
}

void mcp_cap_filter_destroy(struct mcp_cap_filter *f)
{
	if (!f)
		return;
	mcp_imsi_set_free(&f->imsis);
	free(f->keys);
	free(f->vals);
	free(f->e);
	free(f);
}

static int mcp_cap_set(struct mcp_cap_filter *f, uint32_t idx, int on)
{
	return mcp_cap_slot_mark(f->slot, idx, on);
}

static uint64_t mcp_cap_counted(struct mcp_cap_filter *f, uint32_t idx)
{
	struct mcp_sub_counters c;

	if (mcp_xdp_sub_counters(f->x, idx, &c))
		return 0;
	return c.pkts_up + c.pkts_down;
}

static int mcp_cap_imsi_at(struct mcp_cap_filter *f, uint32_t idx, char *imsi)
{
	struct mcp_sub_info si;

	if (bpf_map_lookup_elem(mcp_cap_map_fd(f, MCP_XMAP_SUBSCRIBERS), &idx, &si))
		return -errno;
	memcpy(imsi, si.imsi, MCP_SUB_IMSI_LEN);
	imsi[MCP_SUB_IMSI_LEN - 1] = 0;
	return 0;
}

static struct mcp_cap_entry *mcp_cap_find(struct mcp_cap_filter *f, uint32_t idx)
{
	uint32_t i;

	for (i = 0; i < f->n; i++)
		if (f->e[i].set && f->e[i].idx == idx)
			return &f->e[i];
	return NULL;
}

/* An index of one of our IMSIs that has no entry yet: count, set, confirm. */
static int mcp_cap_add(struct mcp_cap_filter *f, uint32_t idx, const char *imsi)
{
	struct mcp_cap_entry *e;
	char now[MCP_SUB_IMSI_LEN];
	uint64_t base;
	int err;

	if (f->n == f->alloc) {
		uint32_t alloc = f->alloc ? f->alloc * 2 : 8;
		void *p = realloc(f->e, alloc * sizeof(*f->e));

		if (!p)
			return -ENOMEM;
		f->e = p;
		f->alloc = alloc;
	}
	base = mcp_cap_counted(f, idx);
	err = mcp_cap_set(f, idx, 1);
	if (err)
		return err;
	/* the probe may have removed the index in between: then the entry is not ours */
	if (mcp_cap_imsi_at(f, idx, now) || strcmp(now, imsi)) {
		mcp_cap_set(f, idx, 0);
		return 0;
	}
	e = &f->e[f->n++];
	memset(e, 0, sizeof(*e));
	e->idx = idx;
	snprintf(e->imsi, sizeof(e->imsi), "%s", imsi);
	e->base = e->last = base;
	e->set = 1;
	if (f->scans) /* attached during the run: what XDP counted before now was missed */
		f->st.gap += base;
	f->st.found++;
	mcp_info("capturing IMSI %s (subscriber index %u)%s\n", imsi, idx,
		 f->scans ? ", attached during the capture" : "");
	return 0;
}

/* The entries whose index now holds another IMSI (removed by the probe): final counts. */
static void mcp_cap_check_entries(struct mcp_cap_filter *f)
{
	char now[MCP_SUB_IMSI_LEN];
	uint32_t i;

	for (i = 0; i < f->n; i++) {
		struct mcp_cap_entry *e = &f->e[i];

		if (!e->set)
			continue;
		if (mcp_cap_imsi_at(f, e->idx, now) == 0 && !strcmp(now, e->imsi)) {
			e->last = mcp_cap_counted(f, e->idx);
			continue;
		}
		e->set = 0; /* the probe's removal cleared the capture entry and the counters */
		if (now[0])
			mcp_cap_set(f, e->idx, 0);
		f->st.expected += e->last - e->base;
		f->st.captured += e->captured;
		mcp_info("IMSI %s left subscriber index %u\n", e->imsi, e->idx);
	}
}

int mcp_cap_filter_scan(struct mcp_cap_filter *f)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	int fd = mcp_cap_map_fd(f, MCP_XMAP_SUBSCRIBERS), full, err = 0;
	uint32_t in = 0, out = 0, count, i, last_used = 0, first = 1;

	mcp_cap_check_entries(f);
	full = f->scans % MCP_CAP_FULL_EVERY == 0;
	for (;;) {
		count = MCP_CAP_SCAN_BATCH;
		err = bpf_map_lookup_batch(fd, first ? NULL : &in, &out, f->keys, f->vals, &count,
					   &opts);
		if (err && errno != ENOENT)
			return -errno;
		for (i = 0; i < count; i++) {
			const char *imsi = f->vals[i].imsi;

			if (!imsi[0])
				continue;
			last_used = f->keys[i];
			if (mcp_imsi_set_has(&f->imsis, imsi) && !mcp_cap_find(f, f->keys[i]))
				mcp_cap_add(f, f->keys[i], imsi);
		}
		if (err || !count)
			break; /* ENOENT: the end of the map */
		if (!full && f->keys[count - 1] > last_used + MCP_CAP_SCAN_SLACK)
			break;
		in = out;
		first = 0;
	}
	f->scans++;
	f->st.active = 0;
	for (i = 0; i < f->n; i++)
		f->st.active += f->e[i].set;
	return (int)f->st.active;
}

int mcp_cap_filter_note(struct mcp_cap_filter *f, uint32_t sub_idx)
{
	struct mcp_cap_entry *e = mcp_cap_find(f, sub_idx);

	if (!e)
		return 0;
	e->captured++;
	return 1;
}

int mcp_cap_filter_remove(struct mcp_cap_filter *f)
{
	uint32_t i;
	int err = 0, rc;

	if (f->removed)
		return 0;
	f->removed = 1;
	for (i = 0; i < f->n; i++) {
		struct mcp_cap_entry *e = &f->e[i];

		if (!e->set)
			continue;
		e->last = mcp_cap_counted(f, e->idx);
		rc = mcp_cap_set(f, e->idx, 0);
		if (rc && !err)
			err = rc;
	}
	return err;
}

const struct mcp_cap_filter_stats *mcp_cap_filter_stats(struct mcp_cap_filter *f)
{
	uint32_t i;

	f->view = f->st;
	f->view.active = 0;
	for (i = 0; i < f->n; i++) {
		const struct mcp_cap_entry *e = &f->e[i];

		if (!e->set)
			continue;
		f->view.active++;
		f->view.expected += e->last - e->base;
		f->view.captured += e->captured;
	}
	return &f->view;
}

int mcp_cap_filter_list(struct mcp_xdp_obj *x, mcp_cap_entry_fn fn, void *ctx)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	int fd = mcp_xdp_map_fd(x, MCP_XMAP_CAPTURE), n = 0, err;
	uint32_t keys[256], in = 0, out = 0, count, i, first = 1;
	struct mcp_capture_val vals[256];
	struct mcp_sub_info si;

	do {
		count = 256;
		err = bpf_map_lookup_batch(fd, first ? NULL : &in, &out, keys, vals, &count, &opts);
		if (err && errno != ENOENT)
			return -errno;
		for (i = 0; i < count; i++) {
			if (!vals[i].slots)
				continue;
			n++;
			if (bpf_map_lookup_elem(mcp_xdp_map_fd(x, MCP_XMAP_SUBSCRIBERS), &keys[i], &si))
				si.imsi[0] = 0;
			si.imsi[MCP_SUB_IMSI_LEN - 1] = 0;
			fn(ctx, keys[i], vals[i].slots, si.imsi);
		}
		in = out;
		first = 0;
	} while (!err && count);
	return n;
}
