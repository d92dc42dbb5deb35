/* json_out.c - flow and session records as JSON lines (json-c does the escaping). */
#include "flow/json_out.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

struct mcp_json_out {
	FILE *fp;
	int is_stdout;
	int err;
};

struct mcp_json_out *mcp_json_out_open(const char *path)
{
	struct mcp_json_out *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	if (!strcmp(path, "-")) {
		o->fp = stdout;
		o->is_stdout = 1;
	} else if (!(o->fp = fopen(path, "w"))) {
		int err = errno;

		free(o);
		errno = err;
		return NULL;
	}
	return o;
}

int mcp_json_out_close(struct mcp_json_out *o)
{
	int err;

	if (!o)
		return 0;
	err = o->err;
	if (fflush(o->fp) && !err)
		err = -errno;
	if (!o->is_stdout && fclose(o->fp) && !err)
		err = -errno;
	free(o);
	return err;
}

static void write_obj(struct mcp_json_out *o, json_object *j)
{
	const char *s = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN |
							      JSON_C_TO_STRING_NOSLASHESCAPE);

	if (fputs(s, o->fp) == EOF || fputc('\n', o->fp) == EOF)
		o->err = -errno;
	json_object_put(j);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if it is not one. */
static int utf8_seq_len(const unsigned char *s)
{
	int n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		n = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0; /* overlong, out of range or a surrogate */
	return n;
}

/* Strings come from packets: invalid UTF-8 bytes become U+FFFD so every line is valid JSON
 * (json-c escapes quotes and control characters itself). */
static void add_str(json_object *j, const char *k, const char *v)
{
	const unsigned char *s = (const unsigned char *)v;
	char buf[3 * 512 + 1];
	size_t o = 0;
	int n;

	for (; *s; s += n) {
		n = utf8_seq_len(s);
		if (o + 4 >= sizeof(buf))
			break;
		if (n) {
			memcpy(buf + o, s, (size_t)n);
			o += (size_t)n;
		} else {
			memcpy(buf + o, "\xef\xbf\xbd", 3);
			o += 3;
			n = 1;
		}
	}
	buf[o] = 0;
	json_object_object_add(j, k, json_object_new_string(buf));
}

static void add_int(json_object *j, const char *k, int64_t v)
{
	json_object_object_add(j, k, json_object_new_int64(v));
}

static void add_ip(json_object *j, const char *k, const struct mcp_ip *ip)
{
	char buf[MCP_IP_STRLEN];

	add_str(j, k, mcp_ip_str(ip, buf));
}

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

static void add_rat(json_object *j, uint8_t rat)
{
	const char *name = mcp_rat_name(rat);
	char buf[16];

	if (!rat)
		return;
	if (!name) {
		snprintf(buf, sizeof(buf), "%u", rat);
		name = buf;
	}
	add_str(j, "rat", name);
}

void mcp_json_out_flow(void *ctx, const struct mcp_flow_record *r)
{
	struct mcp_json_out *o = ctx;
	json_object *j = json_object_new_object();

	add_int(j, "proto", r->proto);
	add_int(j, "ip_version", r->ip_version);
	add_ip(j, "src_ip", &r->src_ip);
	add_int(j, "src_port", r->src_port);
	add_ip(j, "dst_ip", &r->dst_ip);
	add_int(j, "dst_port", r->dst_port);
	add_int(j, "pkts_up", (int64_t)r->pkts_up);
	add_int(j, "pkts_down", (int64_t)r->pkts_down);
	add_int(j, "bytes_up", (int64_t)r->bytes_up);
	add_int(j, "bytes_down", (int64_t)r->bytes_down);
	add_int(j, "first_ms", (int64_t)r->first_ms);
	add_int(j, "last_ms", (int64_t)r->last_ms);
	if (r->proto == 6) {
		add_int(j, "tcp_flags_up", r->tcp_flags_up);
		add_int(j, "tcp_flags_down", r->tcp_flags_down);
	}
	if (r->app[0]) {
		add_str(j, "app", r->app);
		add_str(j, "master_app", r->master_app);
		add_str(j, "category", r->category);
	}
	if (r->host[0])
		add_str(j, "host", r->host);
	if (r->http_url[0])
		add_str(j, "http_url", r->http_url);
	if (r->user_agent[0])
		add_str(j, "user_agent", r->user_agent);
	if (r->http_status)
		add_int(j, "http_status", r->http_status);
	if (r->dns_rcode >= 0)
		add_int(j, "dns_rcode", r->dns_rcode);
	add_str(j, "end_reason", mcp_end_reason_name(r->end_reason));
	add_int(j, "vlan", r->vlan);
	if (r->tunneled) {
		add_int(j, "teid_up", r->teid_up);
		add_int(j, "teid_down", r->teid_down);
		add_ip(j, "outer_src", &r->outer_src);
		add_ip(j, "outer_dst", &r->outer_dst);
		if (r->has_qfi)
			add_int(j, "qfi", r->qfi);
	}
	if (r->imsi[0]) {
		add_str(j, "imsi", r->imsi);
		if (r->msisdn[0])
			add_str(j, "msisdn", r->msisdn);
		if (r->imei[0])
			add_str(j, "imei", r->imei);
		if (r->apn[0])
			add_str(j, "apn", r->apn);
		if (r->has_ue_ip)
			add_ip(j, "ue_ip", &r->ue_ip);
		add_rat(j, r->rat);
	}
	if (r->user[0])
		add_str(j, "user", r->user);
	write_obj(o, j);
}

/* 5G facts of a subscriber: S-NSSAI ("sst" and "sd" hex as in the SBI) and QFIs. */
static void add_5g(json_object *j, const struct mcp_subscriber *sub)
{
	char sd[8];

	if (sub->snssai) {
		add_int(j, "sst", sub->snssai >> 24);
		if ((sub->snssai & 0xffffff) != 0xffffff) {
			snprintf(sd, sizeof(sd), "%06x", sub->snssai & 0xffffff);
			add_str(j, "sd", sd);
		}
	}
	if (sub->nqfi) {
		json_object *q = json_object_new_array();

		for (int i = 0; i < sub->nqfi && i < MCP_MAX_QFI; i++)
			json_object_array_add(q, json_object_new_int(sub->qfi[i]));
		json_object_object_add(j, "qfi", q);
	}
}

void mcp_json_out_session(struct mcp_json_out *o, const char *event,
			  const struct mcp_subscriber *sub)
{
	json_object *j = json_object_new_object();
	json_object *tunnels = json_object_new_array();

	add_str(j, "event", event);
	add_str(j, "imsi", sub->imsi);
	if (sub->msisdn[0])
		add_str(j, "msisdn", sub->msisdn);
	if (sub->imei[0])
		add_str(j, "imei", sub->imei);
	if (sub->apn[0])
		add_str(j, "apn", sub->apn);
	if (sub->has_ipv4)
		add_ip(j, "ue_ipv4", &sub->ue_ipv4);
	if (sub->has_ipv6)
		add_ip(j, "ue_ipv6", &sub->ue_ipv6);
	add_rat(j, sub->rat);
	add_int(j, "gtp_version", sub->gtp_version);
	add_5g(j, sub);
	add_str(j, "state", sub->state == MCP_SUB_DELETED ? "deleted" : "active");
	for (int i = 0; i < sub->ntunnels && i < MCP_MAX_TUNNELS; i++) {
		const struct mcp_tunnel *t = &sub->tunnels[i];
		json_object *tj = json_object_new_object();

		add_int(tj, "teid", t->teid);
		add_ip(tj, "addr", &t->addr);
		add_str(tj, "dir", t->dir == MCP_DIR_UP ? "up" : "down");
		add_int(tj, "ebi", t->ebi);
		json_object_array_add(tunnels, tj);
	}
	json_object_object_add(j, "tunnels", tunnels);
	add_int(j, "last_change_ms", (int64_t)sub->last_change_ms);
	write_obj(o, j);
}
