/* radius.c - RADIUS accounting dissector (RFC 2866) and the user <-> IP table.
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |     Code      |  Identifier   |            Length             |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                   Request Authenticator (16)                  |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  Attributes: Type (1) | Length (2 + value) | Value ...
 *
 * Code 4 = Accounting-Request. Attributes used (RFC 2865 5, RFC 2866 5, RFC 6911 3.1):
 * 1 User-Name, 4 NAS-IP-Address, 8 Framed-IP-Address, 31 Calling-Station-Id,
 * 40 Acct-Status-Type, 44 Acct-Session-Id, 168 Framed-IPv6-Address. The authenticator is not
 * verified (the probe has no shared secret): a passive observer trusts what the NAS sent.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/radius.h"
#include "util/rd.h"

#define RADIUS_HDR_LEN 20
#define RADIUS_MAX_LEN 4096
#define RADIUS_ACCT_REQUEST 4

enum {
	RADIUS_ATTR_USER_NAME = 1,
	RADIUS_ATTR_NAS_IP = 4,
	RADIUS_ATTR_FRAMED_IP = 8,
	RADIUS_ATTR_CALLING_STATION = 31,
	RADIUS_ATTR_ACCT_STATUS = 40,
	RADIUS_ATTR_ACCT_SESSION = 44,
	RADIUS_ATTR_FRAMED_IPV6 = 168,
};

static const char *const radius_bad_names[] = {
#define MCP_RADIUS_NAME(n) #n,
	MCP_RADIUS_MALFORMED(MCP_RADIUS_NAME)
#undef MCP_RADIUS_NAME
};

const char *mcp_radius_malformed_name(enum mcp_radius_malformed r)
{
	return r < MCP_RADIUS_BAD__MAX ? radius_bad_names[r] : "?";
}

static void radius_str(char *dst, size_t sz, const uint8_t *v, size_t n)
{
	if (n > sz - 1)
		n = sz - 1;
	memcpy(dst, v, n);
	dst[n] = 0;
}

#define RADIUS_FAIL(why, e)                  \
	do {                                 \
		*reason = MCP_RADIUS_BAD_##why; \
		return (e);                  \
	} while (0)

int mcp_radius_parse(const uint8_t *buf, size_t len, struct mcp_radius_acct *out,
		     enum mcp_radius_malformed *reason)
{
	struct mcp_rd r = mcp_rd_init(buf, len), attrs;
	uint16_t length;

	memset(out, 0, sizeof(*out));
	out->code = mcp_rd_u8(&r);
	out->id = mcp_rd_u8(&r);
	length = mcp_rd_be16(&r);
	mcp_rd_skip(&r, 16); /* authenticator */
	if (r.err)
		RADIUS_FAIL(TRUNC_HEADER, -EMSGSIZE);
	if (length < RADIUS_HDR_LEN || length > RADIUS_MAX_LEN)
		RADIUS_FAIL(BAD_LENGTH, -EBADMSG);
	if (length > len)
		RADIUS_FAIL(TRUNC_PACKET, -EMSGSIZE);
	if (out->code != RADIUS_ACCT_REQUEST)
		return -ENOMSG;
	/* bytes past Length are padding (RFC 2865 3): ignored */
	attrs = mcp_rd_sub(&r, length - RADIUS_HDR_LEN);
	while (mcp_rd_left(&attrs)) {
		uint8_t type, alen;
		const uint8_t *v;
		size_t vlen;

		if (mcp_rd_left(&attrs) < 2)
			RADIUS_FAIL(TRUNC_ATTR, -EMSGSIZE);
		type = mcp_rd_u8(&attrs);
		alen = mcp_rd_u8(&attrs);
		if (alen < 2)
			RADIUS_FAIL(BAD_ATTR_LEN, -EBADMSG);
		vlen = alen - 2u;
		v = mcp_rd_bytes(&attrs, vlen);
		if (!v)
			RADIUS_FAIL(TRUNC_ATTR, -EMSGSIZE);
		switch (type) {
		case RADIUS_ATTR_USER_NAME:
			if (vlen == 0)
				RADIUS_FAIL(BAD_ATTR_VALUE, -EBADMSG);
			radius_str(out->user, sizeof(out->user), v, vlen);
			break;
		case RADIUS_ATTR_CALLING_STATION:
			radius_str(out->calling, sizeof(out->calling), v, vlen);
			break;
		case RADIUS_ATTR_ACCT_SESSION:
			radius_str(out->session_id, sizeof(out->session_id), v, vlen);
			break;
		case RADIUS_ATTR_FRAMED_IP:
		case RADIUS_ATTR_NAS_IP:
			if (vlen != 4)
				RADIUS_FAIL(BAD_ATTR_VALUE, -EBADMSG);
			if (type == RADIUS_ATTR_FRAMED_IP) {
				mcp_ip_from_v4(&out->framed_ip, v);
				out->has_framed_ip = 1;
			} else {
				mcp_ip_from_v4(&out->nas_ip, v);
				out->has_nas_ip = 1;
			}
			break;
		case RADIUS_ATTR_FRAMED_IPV6:
			if (vlen != 16)
				RADIUS_FAIL(BAD_ATTR_VALUE, -EBADMSG);
			mcp_ip_from_v6(&out->framed_ipv6, v);
			out->has_framed_ipv6 = 1;
			break;
		case RADIUS_ATTR_ACCT_STATUS:
			if (vlen != 4)
				RADIUS_FAIL(BAD_ATTR_VALUE, -EBADMSG);
			out->status = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 |
				      (uint32_t)v[2] << 8 | v[3];
			break;
		default:
			break; /* vendor-specific and the rest: not needed */
		}
	}
	if (!out->status)
		RADIUS_FAIL(NO_STATUS_TYPE, -EBADMSG);
	if (!out->user[0] && (out->status == MCP_RADIUS_START || out->status == MCP_RADIUS_STOP ||
			      out->status == MCP_RADIUS_INTERIM))
		RADIUS_FAIL(NO_USER_NAME, -EBADMSG);
	return 0;
}

/* ---- the user table ---- */

struct radius_user {
	struct radius_user *next_name, *next_ip;
	struct mcp_ip ip;
	uint8_t has_ip;
	uint64_t last_ms;
	char calling[MCP_RADIUS_STR_LEN];
	char name[MCP_RADIUS_USER_LEN];
};

struct mcp_radius_users {
	struct mcp_radius_cfg cfg;
	pthread_rwlock_t lock;
	struct radius_user **by_name, **by_ip;
	size_t nb;
	struct mcp_radius_stats st;
};

static uint64_t radius_hash(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 1469598103934665603ull;

	while (n--)
		h = (h ^ *b++) * 1099511628211ull;
	return h;
}

struct mcp_radius_users *mcp_radius_users_create(const struct mcp_radius_cfg *cfg)
{
	struct mcp_radius_users *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	if (cfg)
		u->cfg = *cfg;
	if (!u->cfg.port)
		u->cfg.port = MCP_RADIUS_ACCT_PORT;
	if (!u->cfg.max_users)
		u->cfg.max_users = 1000000;
	u->nb = 4096;
	while (u->nb < u->cfg.max_users / 2 && u->nb < (1u << 20))
		u->nb <<= 1;
	u->by_name = calloc(u->nb, sizeof(*u->by_name));
	u->by_ip = calloc(u->nb, sizeof(*u->by_ip));
	if (!u->by_name || !u->by_ip) {
		mcp_radius_users_destroy(u);
		return NULL;
	}
	pthread_rwlock_init(&u->lock, NULL);
	return u;
}

void mcp_radius_users_destroy(struct mcp_radius_users *u)
{
	size_t i;

	if (!u)
		return;
	/* no walk of the (mostly never touched) buckets when nobody was learnt */
	for (i = 0; u->by_name && u->st.users && i < u->nb; i++) {
		struct radius_user *e = u->by_name[i], *n;

		for (; e; e = n) {
			n = e->next_name;
			free(e);
		}
	}
	free(u->by_name);
	free(u->by_ip);
	if (u->by_name && u->by_ip)
		pthread_rwlock_destroy(&u->lock);
	free(u);
}

static struct radius_user **radius_name_slot(struct mcp_radius_users *u, const char *name)
{
	struct radius_user **pp = &u->by_name[radius_hash(name, strlen(name)) & (u->nb - 1)];

	while (*pp && strcmp((*pp)->name, name))
		pp = &(*pp)->next_name;
	return pp;
}

static struct radius_user **radius_ip_slot(struct mcp_radius_users *u, const struct mcp_ip *ip,
					   const struct radius_user *want)
{
	struct radius_user **pp = &u->by_ip[radius_hash(ip->b, 16) & (u->nb - 1)];

	while (*pp && (want ? *pp != want : mcp_ip_cmp(&(*pp)->ip, ip)))
		pp = &(*pp)->next_ip;
	return pp;
}

static void radius_unlink_ip(struct mcp_radius_users *u, struct radius_user *e)
{
	struct radius_user **pp;

	if (!e->has_ip)
		return;
	pp = radius_ip_slot(u, &e->ip, e);
	if (*pp)
		*pp = e->next_ip;
	e->has_ip = 0;
}

static void radius_link_ip(struct mcp_radius_users *u, struct radius_user *e,
			   const struct mcp_ip *ip)
{
	struct radius_user **pp = radius_ip_slot(u, ip, NULL);

	/* the address moved to this user: the previous holder loses it */
	if (*pp && *pp != e)
		radius_unlink_ip(u, *pp);
	pp = &u->by_ip[radius_hash(ip->b, 16) & (u->nb - 1)];
	e->ip = *ip;
	e->has_ip = 1;
	e->next_ip = *pp;
	*pp = e;
}

int mcp_radius_apply(struct mcp_radius_users *u, const struct mcp_radius_acct *a, uint64_t ts_ms)
{
	const struct mcp_ip *ip = a->has_framed_ip ? &a->framed_ip :
				  a->has_framed_ipv6 ? &a->framed_ipv6 : NULL;
	struct radius_user **pp, *e;
	int changed = 0, active;

	switch (a->status) {
	case MCP_RADIUS_START:
	case MCP_RADIUS_INTERIM:
		active = 1;
		break;
	case MCP_RADIUS_STOP:
		active = 0;
		break;
	case MCP_RADIUS_ACCT_ON:
	case MCP_RADIUS_ACCT_OFF:
		pthread_rwlock_wrlock(&u->lock);
		u->st.acct_on_off++;
		pthread_rwlock_unlock(&u->lock);
		return 0;
	default:
		pthread_rwlock_wrlock(&u->lock);
		u->st.other_status++;
		pthread_rwlock_unlock(&u->lock);
		return 0;
	}
	pthread_rwlock_wrlock(&u->lock);
	u->st.starts += a->status == MCP_RADIUS_START;
	u->st.interims += a->status == MCP_RADIUS_INTERIM;
	u->st.stops += a->status == MCP_RADIUS_STOP;
	pp = radius_name_slot(u, a->user);
	e = *pp;
	if (!active) {
		if (e) {
			*pp = e->next_name;
			radius_unlink_ip(u, e);
			u->st.users--;
			free(e);
		}
		pthread_rwlock_unlock(&u->lock);
		if (u->cfg.on_event)
			u->cfg.on_event(u->cfg.event_ctx, a->user, ip, a->calling, 0, ts_ms);
		return 0;
	}
	if (!e) {
		if (u->st.users >= u->cfg.max_users) {
			u->st.table_full++;
			pthread_rwlock_unlock(&u->lock);
			return -ENOSPC;
		}
		e = calloc(1, sizeof(*e));
		if (!e) {
			pthread_rwlock_unlock(&u->lock);
			return -ENOMEM;
		}
		snprintf(e->name, sizeof(e->name), "%s", a->user);
		*pp = e;
		u->st.users++;
		changed = 1;
	}
	if (ip && (!e->has_ip || mcp_ip_cmp(&e->ip, ip))) {
		radius_unlink_ip(u, e);
		radius_link_ip(u, e, ip);
		changed = 1;
	}
	if (a->calling[0] && strcmp(e->calling, a->calling)) {
		snprintf(e->calling, sizeof(e->calling), "%s", a->calling);
		changed = 1;
	}
	e->last_ms = ts_ms;
	pthread_rwlock_unlock(&u->lock);
	/* Interim updates that change nothing are not news */
	if (changed && u->cfg.on_event)
		u->cfg.on_event(u->cfg.event_ctx, a->user, ip, a->calling, 1, ts_ms);
	return 0;
}

int mcp_radius_match(const struct mcp_radius_users *u, const struct mcp_pkt *pkt)
{
	return pkt->kind == MCP_PKT_USER && pkt->l4_proto == 17 &&
	       (pkt->flags & MCP_PKTF_HAS_PORTS) &&
	       (pkt->dport == u->cfg.port || pkt->sport == u->cfg.port);
}

int mcp_radius_handle(struct mcp_radius_users *u, const struct mcp_pkt *pkt)
{
	enum mcp_radius_malformed why = MCP_RADIUS_BAD__MAX;
	struct mcp_radius_acct a;
	int err;

	if (!mcp_radius_match(u, pkt) || !pkt->payload)
		return -ENOENT;
	err = mcp_radius_parse(pkt->payload, pkt->payload_len, &a, &why);
	if (err == -ENOMSG) {
		pthread_rwlock_wrlock(&u->lock);
		u->st.other_codes++;
		pthread_rwlock_unlock(&u->lock);
		return err;
	}
	if (err) {
		pthread_rwlock_wrlock(&u->lock);
		u->st.malformed++;
		if (why < MCP_RADIUS_BAD__MAX)
			u->st.malformed_reason[why]++;
		pthread_rwlock_unlock(&u->lock);
		return err;
	}
	pthread_rwlock_wrlock(&u->lock);
	u->st.requests++;
	pthread_rwlock_unlock(&u->lock);
	return mcp_radius_apply(u, &a, pkt->ts_us / 1000);
}

int mcp_radius_user_by_ip(struct mcp_radius_users *u, const struct mcp_ip *ip, char *name,
			  size_t len)
{
	struct radius_user *e;
	int found = 0;

	pthread_rwlock_rdlock(&u->lock);
	e = *radius_ip_slot(u, ip, NULL);
	if (e) {
		if (len)
			snprintf(name, len, "%s", e->name);
		found = 1;
	}
	pthread_rwlock_unlock(&u->lock);
	return found;
}

int mcp_radius_ip_by_user(struct mcp_radius_users *u, const char *name, struct mcp_ip *ip)
{
	struct radius_user *e;
	int found = 0;

	pthread_rwlock_rdlock(&u->lock);
	e = *radius_name_slot(u, name);
	if (e && e->has_ip) {
		*ip = e->ip;
		found = 1;
	}
	pthread_rwlock_unlock(&u->lock);
	return found;
}

void mcp_radius_get_stats(struct mcp_radius_users *u, struct mcp_radius_stats *st)
{
	pthread_rwlock_rdlock(&u->lock);
	*st = u->st;
	pthread_rwlock_unlock(&u->lock);
}

const struct mcp_radius_stats *mcp_radius_stats(const struct mcp_radius_users *u)
{
	return &u->st;
}
