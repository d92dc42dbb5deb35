/* json_out.c - flow and session records as JSON lines, streamed into a buffer (util/jbuf.h
 * escapes every string the packet gave) and written in large chunks. */
#include "flow/json_out.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Buffered bytes before a write: large enough that the write(2) cost vanishes per record. */
#define JSON_OUT_CHUNK (256u << 10)

#include "flow/out_file.h"

/* Buffered lines wait at most this long: a live probe's file stays current to the second. */
#define JSON_OUT_MAX_WAIT_MS 1000

static uint64_t coarse_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct mcp_json_out {
	struct mcp_out_file *file;
	int write_through; /* each line written at once: rotation, streamed or live input */
	uint64_t since_ms; /* when the oldest buffered line came (monotonic, coarse) */
	int err;
	struct mcp_jbuf buf;
};

struct mcp_json_out *mcp_json_out_open(const char *path)
{
	return mcp_json_out_open_rotating(path, 0, 0);
}

struct mcp_json_out *mcp_json_out_open_rotating(const char *path, uint64_t max_bytes,
						uint32_t max_age_s)
{
	struct mcp_json_out *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	o->file = mcp_out_file_open(path, max_bytes, max_age_s);
	if (!o->file) {
		int err = errno;

		free(o);
		errno = err;
		return NULL;
	}
	o->write_through = max_bytes || max_age_s; /* rotation is checked per line */
	return o;
}

/* Writes the buffered lines as one unit of out_file (which reopens or rotates before it). */
static void out_flush(struct mcp_json_out *o)
{
	FILE *fp;
	int err = 0;

	if (o->buf.oom && !o->err)
		o->err = -ENOMEM; /* records were lost: say so at close */
	if (!o->buf.len)
		goto done;
	fp = mcp_out_file_begin(o->file);
	if (fp && fwrite(o->buf.p, 1, o->buf.len, fp) != o->buf.len)
		err = errno ? -errno : -EIO;
	mcp_out_file_end(o->file, fp ? o->buf.len : 0, fp ? err : -EIO);
done:
	mcp_jbuf_reset(&o->buf);
}

/* After a line was appended: write when rotating, when the chunk is full, or when the oldest
 * line has waited long enough. */
static void out_maybe_flush(struct mcp_json_out *o, size_t len_before)
{
	uint64_t now = coarse_ms();

	if (!len_before)
		o->since_ms = now;
	if (o->write_through || o->buf.len >= JSON_OUT_CHUNK ||
	    now >= o->since_ms + JSON_OUT_MAX_WAIT_MS)
		out_flush(o);
}

void mcp_json_out_write_through(struct mcp_json_out *o)
{
	if (o)
		o->write_through = 1;
}

int mcp_json_out_close(struct mcp_json_out *o)
{
	int err;

	if (!o)
		return 0;
	out_flush(o);
	err = mcp_out_file_close(o->file);
	if (!err)
		err = o->err;
	mcp_jbuf_free(&o->buf);
	free(o);
	return err;
}

void mcp_json_out_write(struct mcp_json_out *o, const char *p, size_t n)
{
	size_t before = o->buf.len;

	mcp_jbuf_raw(&o->buf, p, n);
	out_maybe_flush(o, before);
}

#define KEY(b, k) mcp_jbuf_key(b, k, sizeof(k) - 1, &first)

const char *mcp_rat_name(uint8_t rat)
{
	static const char *const names[] = {
		[1] = "UTRAN", [2] = "GERAN", [3] = "WLAN", [4] = "GAN", [5] = "HSPA-Evolution",
		[6] = "EUTRAN", [7] = "Virtual", [8] = "EUTRAN-NB-IoT", [9] = "LTE-M", [10] = "NR",
	};

	if (rat < sizeof(names) / sizeof(names[0]) && names[rat])
		return names[rat];
	return NULL;
}

/* "rat": the name, or the number for a value TS 29.274 8.17 does not name. */
static void put_rat(struct mcp_jbuf *b, uint8_t rat, int *first_p)
{
	const char *name = mcp_rat_name(rat);
	int first = *first_p;

	if (!rat)
		return;
	KEY(b, "rat");
	if (name) {
		mcp_jbuf_str(b, name);
	} else {
		mcp_jbuf_raw(b, "\"", 1);
		mcp_jbuf_u64(b, rat);
		mcp_jbuf_raw(b, "\"", 1);
	}
	*first_p = first;
}

/* "imsi" for an IMSI subscriber; a NAI one has "supi" (its text, while known) and "sub_key"
 * (the key of its microcloud facts and aggregates, docs/5g.md). */
static void put_subscriber_key(struct mcp_jbuf *b, const char *key, const char *supi,
			       int *first_p)
{
	int first = *first_p;

	if (!mcp_key_is_supi(key)) {
		KEY(b, "imsi"), mcp_jbuf_str(b, key);
	} else {
		if (supi[0])
			KEY(b, "supi"), mcp_jbuf_str(b, supi);
		KEY(b, "sub_key"), mcp_jbuf_str(b, key);
	}
	*first_p = first;
}

/* The subscriber fields of a flow record. */
static void put_flow_subscriber(struct mcp_jbuf *b, const struct mcp_flow_record *r, int *first_p)
{
	int first = *first_p;

	if (r->imsi[0]) {
		put_subscriber_key(b, r->imsi, r->supi, &first);
		if (r->msisdn[0])
			KEY(b, "msisdn"), mcp_jbuf_str(b, r->msisdn);
		if (r->imei[0])
			KEY(b, "imei"), mcp_jbuf_str(b, r->imei);
		if (r->apn[0])
			KEY(b, "apn"), mcp_jbuf_str(b, r->apn);
		if (r->has_ue_ip)
			KEY(b, "ue_ip"), mcp_jbuf_ip(b, &r->ue_ip);
		put_rat(b, r->rat, &first);
	}
	if (r->user[0])
		KEY(b, "user"), mcp_jbuf_str(b, r->user);
	*first_p = first;
}

void mcp_json_format_flow(struct mcp_jbuf *b, const struct mcp_flow_record *r)
{
	int first = 1;

	KEY(b, "proto"), mcp_jbuf_u64(b, r->proto);
	KEY(b, "ip_version"), mcp_jbuf_u64(b, r->ip_version);
	KEY(b, "src_ip"), mcp_jbuf_ip(b, &r->src_ip);
	KEY(b, "src_port"), mcp_jbuf_u64(b, r->src_port);
	KEY(b, "dst_ip"), mcp_jbuf_ip(b, &r->dst_ip);
	KEY(b, "dst_port"), mcp_jbuf_u64(b, r->dst_port);
	KEY(b, "pkts_up"), mcp_jbuf_u64(b, r->pkts_up);
	KEY(b, "pkts_down"), mcp_jbuf_u64(b, r->pkts_down);
	KEY(b, "bytes_up"), mcp_jbuf_u64(b, r->bytes_up);
	KEY(b, "bytes_down"), mcp_jbuf_u64(b, r->bytes_down);
	KEY(b, "first_ms"), mcp_jbuf_u64(b, r->first_ms);
	KEY(b, "last_ms"), mcp_jbuf_u64(b, r->last_ms);
	if (r->proto == 6) {
		KEY(b, "tcp_flags_up"), mcp_jbuf_u64(b, r->tcp_flags_up);
		KEY(b, "tcp_flags_down"), mcp_jbuf_u64(b, r->tcp_flags_down);
	}
	if (r->app[0]) {
		KEY(b, "app"), mcp_jbuf_str(b, r->app);
		KEY(b, "master_app"), mcp_jbuf_str(b, r->master_app);
		KEY(b, "category"), mcp_jbuf_str(b, r->category);
	}
	if (r->host[0])
		KEY(b, "host"), mcp_jbuf_str(b, r->host);
	if (r->http_url[0])
		KEY(b, "http_url"), mcp_jbuf_str(b, r->http_url);
	if (r->user_agent[0])
		KEY(b, "user_agent"), mcp_jbuf_str(b, r->user_agent);
	if (r->http_status)
		KEY(b, "http_status"), mcp_jbuf_u64(b, r->http_status);
	if (r->dns_rcode >= 0)
		KEY(b, "dns_rcode"), mcp_jbuf_i64(b, r->dns_rcode);
	KEY(b, "end_reason"), mcp_jbuf_str(b, mcp_end_reason_name(r->end_reason));
	KEY(b, "vlan"), mcp_jbuf_u64(b, r->vlan);
	if (r->tunneled) {
		KEY(b, "teid_up"), mcp_jbuf_u64(b, r->teid_up);
		KEY(b, "teid_down"), mcp_jbuf_u64(b, r->teid_down);
		KEY(b, "outer_src"), mcp_jbuf_ip(b, &r->outer_src);
		KEY(b, "outer_dst"), mcp_jbuf_ip(b, &r->outer_dst);
		if (r->has_qfi)
			KEY(b, "qfi"), mcp_jbuf_u64(b, r->qfi);
	}
	put_flow_subscriber(b, r, &first);
	mcp_jbuf_raw(b, "}\n", 2);
}

void mcp_json_out_flow(void *ctx, const struct mcp_flow_record *r)
{
	struct mcp_json_out *o = ctx;

	size_t before = o->buf.len;

	mcp_json_format_flow(&o->buf, r);
	out_maybe_flush(o, before);
}

/* 5G facts of a subscriber: S-NSSAI ("sst" and "sd" hex as in the SBI) and QFIs. */
static void put_5g(struct mcp_jbuf *b, const struct mcp_subscriber *sub, int *first_p)
{
	static const char hex[] = "0123456789abcdef";
	int first = *first_p;
	char sd[8];

	if (sub->snssai) {
		KEY(b, "sst"), mcp_jbuf_u64(b, sub->snssai >> 24);
		if ((sub->snssai & 0xffffff) != 0xffffff) {
			for (int i = 0; i < 6; i++)
				sd[i] = hex[(sub->snssai >> (20 - 4 * i)) & 15];
			sd[6] = 0;
			KEY(b, "sd"), mcp_jbuf_str(b, sd);
		}
	}
	if (sub->nqfi) {
		KEY(b, "qfi"), mcp_jbuf_raw(b, "[", 1);
		for (int i = 0; i < sub->nqfi && i < MCP_MAX_QFI; i++) {
			if (i)
				mcp_jbuf_raw(b, ",", 1);
			mcp_jbuf_u64(b, sub->qfi[i]);
		}
		mcp_jbuf_raw(b, "]", 1);
	}
	*first_p = first;
}

static void put_tunnels(struct mcp_jbuf *b, const struct mcp_subscriber *sub)
{
	mcp_jbuf_raw(b, "[", 1);
	for (int i = 0; i < sub->ntunnels && i < MCP_MAX_TUNNELS; i++) {
		const struct mcp_tunnel *t = &sub->tunnels[i];
		int first = 1;

		if (i)
			mcp_jbuf_raw(b, ",", 1);
		KEY(b, "teid"), mcp_jbuf_u64(b, t->teid);
		KEY(b, "addr"), mcp_jbuf_ip(b, &t->addr);
		KEY(b, "dir"), mcp_jbuf_str(b, t->dir == MCP_DIR_UP ? "up" : "down");
		KEY(b, "ebi"), mcp_jbuf_u64(b, t->ebi);
		mcp_jbuf_raw(b, "}", 1);
	}
	mcp_jbuf_raw(b, "]", 1);
}

void mcp_json_out_session(struct mcp_json_out *o, const char *event,
			  const struct mcp_subscriber *sub)
{
	struct mcp_jbuf *b = &o->buf;
	size_t before = b->len;
	int first = 1;

	KEY(b, "event"), mcp_jbuf_str(b, event);
	put_subscriber_key(b, sub->imsi, sub->supi, &first);
	if (sub->msisdn[0])
		KEY(b, "msisdn"), mcp_jbuf_str(b, sub->msisdn);
	if (sub->imei[0])
		KEY(b, "imei"), mcp_jbuf_str(b, sub->imei);
	if (sub->apn[0])
		KEY(b, "apn"), mcp_jbuf_str(b, sub->apn);
	if (sub->has_ipv4)
		KEY(b, "ue_ipv4"), mcp_jbuf_ip(b, &sub->ue_ipv4);
	if (sub->has_ipv6)
		KEY(b, "ue_ipv6"), mcp_jbuf_ip(b, &sub->ue_ipv6);
	put_rat(b, sub->rat, &first);
	KEY(b, "gtp_version"), mcp_jbuf_u64(b, sub->gtp_version);
	put_5g(b, sub, &first);
	KEY(b, "state"), mcp_jbuf_str(b, sub->state == MCP_SUB_DELETED ? "deleted" : "active");
	KEY(b, "tunnels"), put_tunnels(b, sub);
	KEY(b, "last_change_ms"), mcp_jbuf_u64(b, sub->last_change_ms);
	mcp_jbuf_raw(b, "}\n", 2);
	out_maybe_flush(o, before);
}
