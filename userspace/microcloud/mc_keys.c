/* mc_keys.c - microcloud key schema: key names, subscriber fact commands, event JSON.
 *
 * Schema (docs/microcloud.md), every key prefixed by --redis-prefix P:
 *   P imsi.<IMSI>            hash: msisdn imei apn ue_ipv4 ue_ipv6 rat gtp_version state probe
 *                            last_change tunnels ("teid@addr/dir,...") bearers ("ebi/iface,...")
 *                            ctrl_teid supi (a 5G NAI subscriber's SUPI text: its <IMSI> is
 *                            then the key mcp_supi_key, "n" + 14 hex); in cluster mode imsi.{<IMSI>} (hash tag: one slot per
 *                            subscriber, shared with its agg buckets)
 *   P ip.<addr>, P teid.<endpoint>.<teid>, P msisdn.<MSISDN>  string -> IMSI
 *   P agg.<epoch>.<IMSI>     per-IMSI application bucket (cluster: agg.<epoch>.{<IMSI>})
 * Persistent facts carry no TTL while active; on detach PEXPIRE grace.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "microcloud/mc_internal.h"

/* KEYS[1] still names ARGV[1]: delete it / (re)write it expiring in ARGV[2] ms (also when it
 * is missing: a resync after a Redis restart restores detached facts with their remaining
 * grace). Guards keys that another subscriber took over (an IP reassigned) from removal. */
const char mcp_mc_lua_del_if[] =
	"if redis.call('get',KEYS[1])==ARGV[1] then return redis.call('del',KEYS[1]) end return 0";
const char mcp_mc_lua_pexpire_if[] =
	"local v=redis.call('get',KEYS[1]) if v==false or v==ARGV[1] then "
	"return redis.call('set',KEYS[1],ARGV[1],'px',ARGV[2]) end return 0";

void mcp_mc_batch_free(struct mcp_mc_batch *b)
{
	mcp_mc_batch_reset(b);
	free(b->cmds);
	free(b->buf);
	b->cmds = NULL;
	b->buf = NULL;
	b->cap = b->bcap = 0;
}

void mcp_mc_batch_reset(struct mcp_mc_batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		if (b->cmds[i].reply)
			freeReplyObject(b->cmds[i].reply);
	b->n = 0;
	b->blen = 0;
}

static int mc_batch_room(struct mcp_mc_batch *b, size_t more)
{
	size_t cap;
	char *nb;

	if (b->blen + more <= b->bcap)
		return 0;
	cap = b->bcap ? b->bcap : 65536;
	while (cap < b->blen + more)
		cap *= 2;
	nb = realloc(b->buf, cap);
	if (!nb)
		return -ENOMEM;
	b->buf = nb;
	b->bcap = cap;
	return 0;
}

static int mc_put_num(struct mcp_mc_batch *b, char type, size_t v)
{
	char tmp[24];
	int n = 0;

	if (mc_batch_room(b, 24))
		return -ENOMEM;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	b->buf[b->blen++] = type;
	while (n)
		b->buf[b->blen++] = tmp[--n];
	b->buf[b->blen++] = '\r';
	b->buf[b->blen++] = '\n';
	return 0;
}

static int mc_put_arg(struct mcp_mc_batch *b, const char *s, size_t len)
{
	if (mc_put_num(b, '$', len) || mc_batch_room(b, len + 2))
		return -ENOMEM;
	memcpy(b->buf + b->blen, s, len);
	b->blen += len;
	b->buf[b->blen++] = '\r';
	b->buf[b->blen++] = '\n';
	return 0;
}

/* Starts a command: its slot (from key) and the RESP array header. */
static struct mcp_mc_cmd *mc_batch_begin(struct mcp_mc_batch *b, const char *key, int argc)
{
	struct mcp_mc_cmd *c;

	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 1024;
		struct mcp_mc_cmd *nc = realloc(b->cmds, cap * sizeof(*nc));

		if (!nc)
			return NULL;
		b->cmds = nc;
		b->cap = cap;
	}
	c = &b->cmds[b->n];
	memset(c, 0, sizeof(*c));
	c->slot = key && b->cluster ? mcp_mc_key_slot(key, strlen(key)) : -1;
	c->off = b->blen;
	if (mc_put_num(b, '*', (size_t)argc))
		return NULL;
	return c;
}

static void mc_batch_end(struct mcp_mc_batch *b, struct mcp_mc_cmd *c)
{
	c->len = (int)(b->blen - c->off);
	b->n++;
}

/* The format is a space-separated list of literal words and %s (one whole argument each,
 * binary-safe up to the NUL): a small subset of hiredis' format, without printf. */
int mcp_mc_batch_addf(struct mcp_mc_batch *b, const char *key, const char *fmt, ...)
{
	const char *p, *w;
	struct mcp_mc_cmd *c;
	int argc = 1, err = 0;
	va_list ap;

	for (p = fmt; *p; p++)
		argc += *p == ' ';
	c = mc_batch_begin(b, key, argc);
	if (!c)
		return -ENOMEM;
	va_start(ap, fmt);
	for (w = fmt; !err; w = p + 1) {
		p = strchrnul(w, ' ');
		if (p - w == 2 && w[0] == '%' && w[1] == 's') {
			const char *a = va_arg(ap, const char *);

			err = mc_put_arg(b, a, strlen(a));
		} else {
			err = mc_put_arg(b, w, (size_t)(p - w));
		}
		if (!*p)
			break;
	}
	va_end(ap);
	if (err) {
		b->blen = c->off; /* drop the partial command */
		return err;
	}
	mc_batch_end(b, c);
	return 0;
}

int mcp_mc_batch_addv(struct mcp_mc_batch *b, const char *key, int argc, const char **argv,
		      const size_t *argvlen)
{
	struct mcp_mc_cmd *c = mc_batch_begin(b, key, argc);
	int i;

	if (!c)
		return -ENOMEM;
	for (i = 0; i < argc; i++)
		if (mc_put_arg(b, argv[i], argvlen[i])) {
			b->blen = c->off;
			return -ENOMEM;
		}
	mc_batch_end(b, c);
	return 0;
}

void mcp_mc_batch_seal(struct mcp_mc_batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		b->cmds[i].buf = b->buf + b->cmds[i].off;
}

int mcp_mc_key_fmt(const struct mcp_mc_keys *k, char *buf, size_t sz, const char *fmt, ...)
{
	va_list ap;
	int n, m;

	n = snprintf(buf, sz, "%s", k->prefix ? k->prefix : "");
	if (n < 0 || (size_t)n >= sz)
		return -ENAMETOOLONG;
	va_start(ap, fmt);
	m = vsnprintf(buf + n, sz - (size_t)n, fmt, ap);
	va_end(ap);
	if (m < 0 || (size_t)(n + m) >= sz)
		return -ENAMETOOLONG;
	return n + m;
}

int mcp_mc_key_imsi(const struct mcp_mc_keys *k, char *buf, size_t sz, const char *imsi)
{
	return mcp_mc_key_fmt(k, buf, sz, k->cluster ? "imsi.{%s}" : "imsi.%s", imsi);
}

int mcp_mc_key_agg(const struct mcp_mc_keys *k, char *buf, size_t sz, uint64_t epoch,
		   const char *imsi)
{
	return mcp_mc_key_fmt(k, buf, sz,
			      k->cluster ? "agg.%" PRIu64 ".{%s}" : "agg.%" PRIu64 ".%s", epoch,
			      imsi);
}

int mcp_mc_key_ip(const struct mcp_mc_keys *k, char *buf, size_t sz, const struct mcp_ip *ip)
{
	char a[MCP_IP_STRLEN];

	return mcp_mc_key_fmt(k, buf, sz, "ip.%s", mcp_ip_str(ip, a));
}

int mcp_mc_key_teid(const struct mcp_mc_keys *k, char *buf, size_t sz, const struct mcp_ip *ep,
		    uint32_t teid)
{
	char a[MCP_IP_STRLEN];

	return mcp_mc_key_fmt(k, buf, sz, "teid.%s.%u", mcp_ip_str(ep, a), teid);
}

const char *mcp_mc_key_imsi_of(const struct mcp_mc_keys *k, const char *key, char *imsi, size_t sz)
{
	size_t pl = k->prefix ? strlen(k->prefix) : 0, n;
	const char *p;

	if (strncmp(key, k->prefix ? k->prefix : "", pl) || strncmp(key + pl, "imsi.", 5))
		return NULL;
	p = key + pl + 5;
	if (*p == '{')
		p++;
	n = strcspn(p, "}");
	if (n == 0 || n >= sz)
		return NULL;
	memcpy(imsi, p, n);
	imsi[n] = 0;
	return imsi;
}

int mcp_mc_agg_pattern(const char *prefix, long long epoch, char *buf, size_t sz)
{
	const struct mcp_mc_keys k = { .prefix = prefix };

	if (epoch >= 0)
		return mcp_mc_key_fmt(&k, buf, sz, "agg.%lld.*", epoch);
	return mcp_mc_key_fmt(&k, buf, sz, "agg.*");
}

int mcp_mc_agg_key_parse(const char *prefix, const char *key, uint64_t *epoch, char *imsi,
			 size_t imsi_sz)
{
	size_t pl = prefix ? strlen(prefix) : 0, n;
	const char *p;
	char *end;

	if (strncmp(key, prefix ? prefix : "", pl) || strncmp(key + pl, "agg.", 4))
		return -EINVAL;
	p = key + pl + 4;
	*epoch = strtoull(p, &end, 10);
	if (end == p || *end != '.')
		return -EINVAL;
	p = end + 1;
	if (*p == '{')
		p++;
	n = strcspn(p, "}");
	if (n == 0 || n >= imsi_sz)
		return -EINVAL;
	memcpy(imsi, p, n);
	imsi[n] = 0;
	return 0;
}

int mcp_mc_fact_owned_keys(const struct mcp_mc_keys *k, const struct mcp_subscriber *s,
			   char (*keys)[MCP_MC_KEY_LEN], int max)
{
	int n = 0, i;

	if (s->has_ipv4 && n < max && mcp_mc_key_ip(k, keys[n], MCP_MC_KEY_LEN, &s->ue_ipv4) > 0)
		n++;
	if (s->has_ipv6 && n < max && mcp_mc_key_ip(k, keys[n], MCP_MC_KEY_LEN, &s->ue_ipv6) > 0)
		n++;
	if (s->msisdn[0] && n < max &&
	    mcp_mc_key_fmt(k, keys[n], MCP_MC_KEY_LEN, "msisdn.%.*s", MCP_MSISDN_LEN, s->msisdn) >
		    0)
		n++;
	for (i = 0; i < s->ntunnels && i < MCP_MAX_TUNNELS && n < max; i++)
		if (mcp_mc_key_teid(k, keys[n], MCP_MC_KEY_LEN, &s->tunnels[i].addr,
				    s->tunnels[i].teid) > 0)
			n++;
	return n;
}

static void mc_tunnels_str(const struct mcp_subscriber *s, char *t, size_t tsz, char *b,
			   size_t bsz)
{
	size_t tl = 0, bl = 0;
	int i;

	t[0] = b[0] = 0;
	for (i = 0; i < s->ntunnels && i < MCP_MAX_TUNNELS; i++) {
		const struct mcp_tunnel *tu = &s->tunnels[i];
		char a[MCP_IP_STRLEN];
		int n;

		n = snprintf(t + tl, tsz - tl, "%s%u@%s/%s", i ? "," : "", tu->teid,
			     mcp_ip_str(&tu->addr, a), tu->dir == MCP_DIR_UP ? "up" : "down");
		if (n > 0 && (size_t)n < tsz - tl)
			tl += (size_t)n;
		n = snprintf(b + bl, bsz - bl, "%s%u/%u", i ? "," : "", tu->ebi, tu->iface);
		if (n > 0 && (size_t)n < bsz - bl)
			bl += (size_t)n;
	}
}

int mcp_mc_fact_cmds(const struct mcp_mc_keys *k, struct mcp_mc_batch *b,
		     const struct mcp_mc_sub_fact *f, uint64_t now_wall_ms,
		     char (*stale)[MCP_MC_KEY_LEN], int nstale)
{
	const struct mcp_subscriber *s = &f->sub;
	char key[MCP_MC_KEY_LEN], owned[MCP_MAX_TUNNELS + 3][MCP_MC_KEY_LEN];
	char tun[MCP_MAX_TUNNELS * 64], bear[MCP_MAX_TUNNELS * 8], v4[MCP_IP_STRLEN] = "",
		v6[MCP_IP_STRLEN] = "", rat[8], ver[8], lc[24], ctrl[24], ttl[24];
	uint64_t left = 0;
	int i, n, err = 0;

	if (mcp_mc_key_imsi(k, key, sizeof(key), s->imsi) < 0)
		return -ENAMETOOLONG;
	if (f->deleted) {
		if (f->expire_wall_ms <= now_wall_ms)
			left = 1; /* already due: expire at once */
		else
			left = f->expire_wall_ms - now_wall_ms;
	}
	mc_tunnels_str(s, tun, sizeof(tun), bear, sizeof(bear));
	if (s->has_ipv4)
		mcp_ip_str(&s->ue_ipv4, v4);
	if (s->has_ipv6)
		mcp_ip_str(&s->ue_ipv6, v6);
	snprintf(rat, sizeof(rat), "%u", s->rat);
	snprintf(ver, sizeof(ver), "%u", s->gtp_version);
	snprintf(lc, sizeof(lc), "%" PRIu64, s->last_change_ms);
	snprintf(ctrl, sizeof(ctrl), "%u,%u", s->ctrl_teid[0], s->ctrl_teid[1]);
	snprintf(ttl, sizeof(ttl), "%" PRIu64, left);

	/* stale keys first: a key this subscriber no longer owns (changed IP, replaced tunnel) */
	for (i = 0; i < nstale; i++)
		err |= mcp_mc_batch_addf(b, stale[i], "EVAL %s 1 %s %s", mcp_mc_lua_del_if,
					 stale[i], s->imsi);
	/* every field every time: HSET replaces the whole fact, no DEL window for readers */
	err |= mcp_mc_batch_addf(b, key,
				 "HSET %s msisdn %s imei %s apn %s ue_ipv4 %s ue_ipv6 %s rat %s "
				 "gtp_version %s state %s probe %s last_change %s tunnels %s "
				 "bearers %s ctrl_teid %s supi %s",
				 key, s->msisdn, s->imei, s->apn, v4, v6, rat, ver,
				 f->deleted ? "deleted" : "active", f->probe, lc, tun, bear, ctrl,
				 s->supi);
	if (f->deleted)
		err |= mcp_mc_batch_addf(b, key, "PEXPIRE %s %s", key, ttl);
	else
		err |= mcp_mc_batch_addf(b, key, "PERSIST %s", key);
	n = mcp_mc_fact_owned_keys(k, s, owned, MCP_MAX_TUNNELS + 3);
	for (i = 0; i < n; i++) {
		if (f->deleted)
			err |= mcp_mc_batch_addf(b, owned[i], "EVAL %s 1 %s %s %s",
						 mcp_mc_lua_pexpire_if, owned[i], s->imsi, ttl);
		else
			err |= mcp_mc_batch_addf(b, owned[i], "SET %s %s", owned[i], s->imsi);
	}
	return err ? -ENOMEM : 0;
}

/* Appends s as a JSON string (quotes, escapes, control bytes as \u00XX). */
static void mc_json_str(char **p, char *end, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	char *o = *p;

	if (o < end)
		*o++ = '"';
	for (; *s && o + 7 < end; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			*o++ = '\\';
			*o++ = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			/* bytes outside ASCII may not be UTF-8: escape them as code points */
			*o++ = '\\';
			*o++ = 'u';
			*o++ = '0';
			*o++ = '0';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		} else {
			*o++ = (char)c;
		}
	}
	if (o < end)
		*o++ = '"';
	*p = o;
}

#define MC_JSON_APPEND(p, end, ...)                                                              \
	do {                                                                                     \
		int _n = snprintf(p, (size_t)(end - p), __VA_ARGS__);                            \
		p += _n > 0 && _n < end - p ? _n : 0;                                            \
	} while (0)

char *mcp_mc_event_json(enum mcp_session_event ev, const struct mcp_subscriber *s,
			const char *probe, uint64_t ts_ms)
{
	/* built on the stack, then copied at its size: a small block the allocator recycles */
	char buf[1024 + MCP_MAX_TUNNELS * 96 + MCP_APN_LEN * 6], *p = buf, *end, a[MCP_IP_STRLEN];
	int i;

	end = buf + sizeof(buf) - 1;
	MC_JSON_APPEND(p, end, "{\"event\":\"%s\",\"imsi\":", mcp_session_event_name(ev));
	mc_json_str(&p, end, s->imsi);
	if (s->supi[0]) { /* a NAI subscriber: imsi is its key (docs/5g.md) */
		MC_JSON_APPEND(p, end, ",\"supi\":");
		mc_json_str(&p, end, s->supi);
	}
	MC_JSON_APPEND(p, end, ",\"msisdn\":");
	mc_json_str(&p, end, s->msisdn);
	MC_JSON_APPEND(p, end, ",\"imei\":");
	mc_json_str(&p, end, s->imei);
	MC_JSON_APPEND(p, end, ",\"apn\":");
	mc_json_str(&p, end, s->apn);
	if (s->has_ipv4)
		MC_JSON_APPEND(p, end, ",\"ue_ip\":\"%s\"", mcp_ip_str(&s->ue_ipv4, a));
	else
		MC_JSON_APPEND(p, end, ",\"ue_ip\":null");
	if (s->has_ipv6)
		MC_JSON_APPEND(p, end, ",\"ue_ipv6\":\"%s\"", mcp_ip_str(&s->ue_ipv6, a));
	MC_JSON_APPEND(p, end, ",\"rat\":%u,\"state\":\"%s\",\"tunnels\":[", s->rat,
		       s->state == MCP_SUB_DELETED || ev >= MCP_EV_DETACH ? "deleted" : "active");
	for (i = 0; i < s->ntunnels && i < MCP_MAX_TUNNELS; i++)
		MC_JSON_APPEND(p, end, "%s{\"teid\":%u,\"addr\":\"%s\",\"dir\":\"%s\",\"ebi\":%u}",
			       i ? "," : "", s->tunnels[i].teid, mcp_ip_str(&s->tunnels[i].addr, a),
			       s->tunnels[i].dir == MCP_DIR_UP ? "up" : "down", s->tunnels[i].ebi);
	MC_JSON_APPEND(p, end, "],\"probe\":");
	mc_json_str(&p, end, probe);
	MC_JSON_APPEND(p, end, ",\"time\":%" PRIu64 "}", ts_ms);
	*p = 0;
	return strdup(buf);
}

static int mc_field_is(const redisReply *f, const char *name)
{
	return f->type == REDIS_REPLY_STRING && f->len == strlen(name) &&
	       !memcmp(f->str, name, f->len);
}

static void mc_copy_field(char *dst, size_t sz, const redisReply *v)
{
	size_t n = v->len < sz - 1 ? v->len : sz - 1;

	memcpy(dst, v->str, n);
	dst[n] = 0;
}

/* "teid@addr/dir,..." plus "ebi/iface,..." into s->tunnels. */
static int mc_parse_tunnels(struct mcp_subscriber *s, const char *t, const char *b)
{
	char buf[MCP_MAX_TUNNELS * 64], *save = NULL, *tok;
	int n = 0;

	snprintf(buf, sizeof(buf), "%s", t);
	for (tok = strtok_r(buf, ",", &save); tok && n < MCP_MAX_TUNNELS;
	     tok = strtok_r(NULL, ",", &save)) {
		struct mcp_tunnel *tu = &s->tunnels[n];
		char *at = strchr(tok, '@'), *sl, *end;
		unsigned long teid;

		if (!at)
			return -EBADMSG;
		*at = 0;
		sl = strchr(at + 1, '/');
		if (!sl)
			return -EBADMSG;
		*sl = 0;
		teid = strtoul(tok, &end, 10);
		if (*end || teid > UINT32_MAX || mcp_ip_parse(&tu->addr, at + 1))
			return -EBADMSG;
		memset(tu, 0, sizeof(*tu));
		mcp_ip_parse(&tu->addr, at + 1);
		tu->teid = (uint32_t)teid;
		tu->dir = strcmp(sl + 1, "up") ? MCP_DIR_DOWN : MCP_DIR_UP;
		tu->iface = 0xff;
		n++;
	}
	s->ntunnels = (uint8_t)n;
	for (n = 0; b && *b && n < s->ntunnels; n++) {
		unsigned ebi = 0, iface = 0xff;

		if (sscanf(b, "%u/%u", &ebi, &iface) >= 1) {
			s->tunnels[n].ebi = (uint8_t)ebi;
			s->tunnels[n].iface = (uint8_t)iface;
		}
		b = strchr(b, ',');
		if (!b)
			break;
		b++;
	}
	return 0;
}

int mcp_mc_fact_parse(const redisReply *r, struct mcp_subscriber *sub, int *active, char *probe,
		      size_t probe_len)
{
	char tun[MCP_MAX_TUNNELS * 64] = "", bear[MCP_MAX_TUNNELS * 8] = "", tmp[64];
	size_t i;

	*active = 0;
	if (probe_len)
		probe[0] = 0;
	if (r->type != REDIS_REPLY_ARRAY || r->elements % 2 || r->elements == 0)
		return -EBADMSG;
	for (i = 0; i + 1 < r->elements; i += 2) {
		const redisReply *f = r->element[i], *v = r->element[i + 1];

		if (v->type != REDIS_REPLY_STRING)
			continue;
		if (mc_field_is(f, "msisdn")) {
			mc_copy_field(sub->msisdn, sizeof(sub->msisdn), v);
		} else if (mc_field_is(f, "supi")) {
			mc_copy_field(sub->supi, sizeof(sub->supi), v);
		} else if (mc_field_is(f, "imei")) {
			mc_copy_field(sub->imei, sizeof(sub->imei), v);
		} else if (mc_field_is(f, "apn")) {
			mc_copy_field(sub->apn, sizeof(sub->apn), v);
		} else if (mc_field_is(f, "ue_ipv4")) {
			mc_copy_field(tmp, sizeof(tmp), v);
			sub->has_ipv4 = tmp[0] && !mcp_ip_parse(&sub->ue_ipv4, tmp);
		} else if (mc_field_is(f, "ue_ipv6")) {
			mc_copy_field(tmp, sizeof(tmp), v);
			sub->has_ipv6 = tmp[0] && !mcp_ip_parse(&sub->ue_ipv6, tmp);
		} else if (mc_field_is(f, "rat")) {
			mc_copy_field(tmp, sizeof(tmp), v);
			sub->rat = (uint8_t)atoi(tmp);
		} else if (mc_field_is(f, "gtp_version")) {
			mc_copy_field(tmp, sizeof(tmp), v);
			sub->gtp_version = (uint8_t)atoi(tmp);
		} else if (mc_field_is(f, "state")) {
			*active = v->len == 6 && !memcmp(v->str, "active", 6);
		} else if (mc_field_is(f, "probe")) {
			if (probe_len)
				mc_copy_field(probe, probe_len, v);
		} else if (mc_field_is(f, "last_change")) {
			mc_copy_field(tmp, sizeof(tmp), v);
			sub->last_change_ms = strtoull(tmp, NULL, 10);
		} else if (mc_field_is(f, "tunnels")) {
			mc_copy_field(tun, sizeof(tun), v);
		} else if (mc_field_is(f, "bearers")) {
			mc_copy_field(bear, sizeof(bear), v);
		} else if (mc_field_is(f, "ctrl_teid")) {
			unsigned a = 0, b = 0;

			mc_copy_field(tmp, sizeof(tmp), v);
			if (sscanf(tmp, "%u,%u", &a, &b) == 2) {
				sub->ctrl_teid[0] = a;
				sub->ctrl_teid[1] = b;
			}
		}
	}
	sub->state = *active ? MCP_SUB_ACTIVE : MCP_SUB_DELETED;
	return mc_parse_tunnels(sub, tun, bear);
}
