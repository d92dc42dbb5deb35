/* live_bypass.c - install, read and remove bypassed flows in the XDP flow map of each
 * interface (include/mcp_map_layout.h). A flow's two directions may arrive on two interfaces, so
 * its kernel counters are the sum over the interfaces' maps; crediting is by difference
 * (worker.c), so handing the same sum twice is harmless.
 */
#include "live/live_bypass.h"

#include <errno.h>
#include <string.h>

#include <bpf/bpf.h>

static int flows_fd(const struct mcp_xdp_obj *x)
{
	return mcp_xdp_map_fd(x, MCP_XMAP_FLOWS);
}

static void add_val(struct mcp_flow_val *sum, const struct mcp_flow_val *v)
{
	for (int d = 0; d < 2; d++) {
		sum->pkts[d] += v->pkts[d];
		sum->bytes[d] += v->bytes[d];
	}
	if (v->last_ns > sum->last_ns)
		sum->last_ns = v->last_ns;
	for (int d = 0; d < 2; d++) {
		if (!sum->teid[d])
			sum->teid[d] = v->teid[d];
		sum->tcp_flags[d] |= v->tcp_flags[d];
	}
}

/* A pending flow is installed on every interface or on none: unpend must find its mark on
 * each, and a flow half in the kernel would hide the handshake of one side from nobody. */
static int lb_install(void *ctx, const struct mcp_flow_key *key, uint32_t sub_id, int pending)
{
	struct mcp_live_bypass *b = ctx;
	int ok = 0, err = -ENODEV, i;

	for (i = 0; i < b->n; i++) {
		err = mcp_xdp_flow_install_owned(b->xo[i], key, sub_id, b->worker, pending);
		if (!err || (err == -EEXIST && !pending)) {
			ok++;
			continue;
		}
		b->install_failures++; /* map full: that interface keeps sending the flow up */
		if (pending)
			break;
	}
	if (pending && i < b->n) {
		while (i-- > 0) {
			mcp_xdp_flow_unpend(b->xo[i], key);
			mcp_xdp_flow_remove(b->xo[i], key);
		}
		return err;
	}
	return ok ? 0 : err;
}

static void lb_unpend(void *ctx, const struct mcp_flow_key *key)
{
	struct mcp_live_bypass *b = ctx;

	for (int i = 0; i < b->n; i++)
		mcp_xdp_flow_unpend(b->xo[i], key);
}

static int lb_peek(void *ctx, const struct mcp_flow_key *key, struct mcp_flow_val *val)
{
	struct mcp_live_bypass *b = ctx;
	struct mcp_flow_val v;
	int found = 0;

	memset(val, 0, sizeof(*val));
	for (int i = 0; i < b->n; i++) {
		if (bpf_map_lookup_elem(flows_fd(b->xo[i]), key, &v) == 0) {
			add_val(val, &v);
			found++;
		}
	}
	return found ? 0 : -ENOENT;
}

static int lb_take(void *ctx, const struct mcp_flow_key *key, struct mcp_flow_val *val)
{
	struct mcp_live_bypass *b = ctx;
	struct mcp_flow_val v;
	int found = 0;

	memset(val, 0, sizeof(*val));
	for (int i = 0; i < b->n; i++) {
		int fd = flows_fd(b->xo[i]);

		if (bpf_map_lookup_and_delete_elem(fd, key, &v) == 0) {
			mcp_xdp_flow_forget(b->xo[i], key);
			add_val(val, &v);
			found++;
		} else if (errno == EINVAL || errno == 524 /* ENOTSUPP */ || errno == EOPNOTSUPP) {
			/* kernels before 5.14: a packet may slip between the two calls */
			b->take_fallbacks++;
			if (bpf_map_lookup_elem(fd, key, &v) == 0) {
				add_val(val, &v);
				found++;
			}
			if (bpf_map_delete_elem(fd, key) == 0)
				mcp_xdp_flow_forget(b->xo[i], key);
		}
	}
	return found ? 0 : -ENOENT;
}

struct walk_arg {
	struct mcp_live_bypass *b;
	int (*fn)(void *arg, const struct mcp_flow_key *key, const struct mcp_flow_val *val);
	void *arg;
};

static int walk_one(void *ctx, const struct mcp_flow_key *key, const struct mcp_flow_val *val)
{
	struct walk_arg *wa = ctx;
	struct mcp_flow_val sum;

	if (val->worker != wa->b->worker)
		return 0; /* another worker's flow */
	if (wa->b->n == 1)
		return wa->fn(wa->arg, key, val);
	if (lb_peek(wa->b, key, &sum))
		return 0; /* removed meanwhile */
	return wa->fn(wa->arg, key, &sum);
}

static int lb_walk(void *ctx, int (*fn)(void *arg, const struct mcp_flow_key *key,
					const struct mcp_flow_val *val), void *arg)
{
	struct mcp_live_bypass *b = ctx;
	struct walk_arg wa = { .b = b, .fn = fn, .arg = arg };
	int err = 0;

	for (int i = 0; i < b->n; i++) {
		int n = mcp_xdp_flow_read_batch(b->xo[i], 4096, walk_one, &wa);

		if (n < 0)
			err = n;
	}
	return err;
}

/* Subscriber indexes are the session table's, the same on every interface: the credit goes to
 * the first one's map (readers sum the interfaces, as for the per-CPU slots). */
static void lb_credit(void *ctx, uint32_t sub_id, const uint64_t pkts[2], const uint64_t bytes[2])
{
	struct mcp_live_bypass *b = ctx;

	if (b->n && mcp_xdp_sub_credit(b->xo[0], sub_id, pkts, bytes))
		b->credit_failures++;
}

void mcp_live_bypass_ops(struct mcp_live_bypass *b, struct mcp_bypass_ops *ops)
{
	memset(ops, 0, sizeof(*ops));
	ops->install = lb_install;
	ops->unpend = lb_unpend;
	ops->peek = lb_peek;
	ops->take = lb_take;
	ops->walk = lb_walk;
	ops->credit = lb_credit;
	ops->ctx = b;
}
