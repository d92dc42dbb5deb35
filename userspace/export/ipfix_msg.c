/* ipfix_msg.c - IPFIX / NetFlow v9 templates and data records for flow records (ipfix_msg.h).
 *
 * One table lists every field once, with its IPFIX identity (PEN, id, length) and its NetFlow
 * v9 equivalent; templates and records are both produced by walking it, so they cannot
 * disagree. IPFIX strings are variable-length (RFC 7011 7.); v9 has no variable length, so
 * its strings are fixed-size, NUL-padded and may be cut.
 */
#include "export/ipfix_msg.h"

#include <errno.h>
#include <string.h>

#include "mcp_addr.h"

#define VARLEN 0xffff
#define IPFIX_TEMPLATE_SET 2
#define V9_TEMPLATE_FLOWSET 0
#define TEMPLATE_BASE 256
#define PANA_L7_PEN 20 /* RFC 6759 classification engine: PEN + selector */

enum fkey {
	K_SRC4, K_DST4, K_SRC6, K_DST6, K_SPORT, K_DPORT, K_PROTO, K_TCPFLAGS, K_OCTETS, K_PKTS,
	K_REV_OCTETS, K_REV_PKTS, K_REV_TCPFLAGS, K_START, K_END, K_ENDREASON, K_VLAN, K_IMSI,
	K_MSISDN, K_HOST, K_APPNAME, K_APPID, K_IMEI, K_APN, K_RAT, K_CATEGORY, K_USER, K_MASTER,
	K_OSRC4, K_ODST4, K_OSRC6, K_ODST6, K_TEID_UP, K_TEID_DOWN, K_QFI,
};

/* Which templates carry the field. */
enum { W_ALL, W_IN4, W_IN6, W_OUT4, W_OUT6, W_BI };

struct ie {
	uint8_t key, when;
	uint16_t id;
	uint32_t pen;
	uint16_t len;              /* IPFIX length, VARLEN for strings */
	uint16_t v9_id, v9_len;    /* v9_id 0: not exported over v9 */
	const char *name, *type;
};

#define P MCP_IPFIX_PEN
#define R MCP_IPFIX_REVERSE_PEN
static const struct ie ies[] = {
	{ K_SRC4, W_IN4, 8, 0, 4, 8, 4, "sourceIPv4Address", "ipv4Address" },
	{ K_DST4, W_IN4, 12, 0, 4, 12, 4, "destinationIPv4Address", "ipv4Address" },
	{ K_SRC6, W_IN6, 27, 0, 16, 27, 16, "sourceIPv6Address", "ipv6Address" },
	{ K_DST6, W_IN6, 28, 0, 16, 28, 16, "destinationIPv6Address", "ipv6Address" },
	{ K_SPORT, W_ALL, 7, 0, 2, 7, 2, "sourceTransportPort", "unsigned16" },
	{ K_DPORT, W_ALL, 11, 0, 2, 11, 2, "destinationTransportPort", "unsigned16" },
	{ K_PROTO, W_ALL, 4, 0, 1, 4, 1, "protocolIdentifier", "unsigned8" },
	{ K_TCPFLAGS, W_ALL, 6, 0, 2, 6, 1, "tcpControlBits", "unsigned16" },
	{ K_OCTETS, W_ALL, 1, 0, 8, 1, 8, "octetDeltaCount", "unsigned64" },
	{ K_PKTS, W_ALL, 2, 0, 8, 2, 8, "packetDeltaCount", "unsigned64" },
	{ K_REV_OCTETS, W_BI, 1, R, 8, 23, 8, "reverseOctetDeltaCount", "unsigned64" },
	{ K_REV_PKTS, W_BI, 2, R, 8, 24, 8, "reversePacketDeltaCount", "unsigned64" },
	{ K_REV_TCPFLAGS, W_BI, 6, R, 2, 0, 0, "reverseTcpControlBits", "unsigned16" },
	{ K_START, W_ALL, 152, 0, 8, 152, 8, "flowStartMilliseconds", "dateTimeMilliseconds" },
	{ K_END, W_ALL, 153, 0, 8, 153, 8, "flowEndMilliseconds", "dateTimeMilliseconds" },
	{ K_ENDREASON, W_ALL, 136, 0, 1, 136, 1, "flowEndReason", "unsigned8" },
	{ K_VLAN, W_ALL, 58, 0, 2, 58, 2, "vlanId", "unsigned16" },
	{ K_IMSI, W_ALL, 455, 0, VARLEN, 455, 16, "mobileIMSI", "string" },
	{ K_MSISDN, W_ALL, 456, 0, VARLEN, 456, 16, "mobileMSISDN", "string" },
	{ K_HOST, W_ALL, 460, 0, VARLEN, 460, 64, "httpRequestHost", "string" },
	{ K_APPNAME, W_ALL, 96, 0, VARLEN, 96, 32, "applicationName", "string" },
	{ K_APPID, W_ALL, 95, 0, 7, 95, 7, "applicationId", "octetArray" },
	{ K_IMEI, W_ALL, 1, P, VARLEN, 0, 0, "mcpImei", "string" },
	{ K_APN, W_ALL, 2, P, VARLEN, 0, 0, "mcpApn", "string" },
	{ K_RAT, W_ALL, 3, P, 1, 0, 0, "mcpRatType", "unsigned8" },
	{ K_CATEGORY, W_ALL, 4, P, VARLEN, 0, 0, "mcpNdpiCategory", "string" },
	{ K_USER, W_ALL, 5, P, VARLEN, 0, 0, "mcpRadiusUser", "string" },
	{ K_MASTER, W_ALL, 6, P, VARLEN, 0, 0, "mcpNdpiMasterApplication", "string" },
	{ K_OSRC4, W_OUT4, 7, P, 4, 0, 0, "mcpTunnelSourceIPv4Address", "ipv4Address" },
	{ K_ODST4, W_OUT4, 8, P, 4, 0, 0, "mcpTunnelDestinationIPv4Address", "ipv4Address" },
	{ K_OSRC6, W_OUT6, 9, P, 16, 0, 0, "mcpTunnelSourceIPv6Address", "ipv6Address" },
	{ K_ODST6, W_OUT6, 10, P, 16, 0, 0, "mcpTunnelDestinationIPv6Address", "ipv6Address" },
	{ K_TEID_UP, W_ALL, 11, P, 4, 0, 0, "mcpGtpTeidUplink", "unsigned32" },
	{ K_TEID_DOWN, W_ALL, 12, P, 4, 0, 0, "mcpGtpTeidDownlink", "unsigned32" },
	{ K_QFI, W_ALL, 13, P, 1, 0, 0, "mcpQosFlowId", "unsigned8" },
};
#undef P
#undef R
#define N_IES (sizeof(ies) / sizeof(ies[0]))

/* Write cursor over the message buffer; err once anything did not fit. */
struct cur {
	uint8_t *b;
	size_t len, cap;
	int err;
};

static void put(struct cur *c, const void *v, size_t n)
{
	if (c->err || n > c->cap - c->len) {
		c->err = 1;
		return;
	}
	memcpy(c->b + c->len, v, n);
	c->len += n;
}

static void put8(struct cur *c, uint8_t v)
{
	put(c, &v, 1);
}

static void put16(struct cur *c, uint16_t v)
{
	uint8_t b[2] = { v >> 8, v & 0xff };

	put(c, b, 2);
}

static void put32(struct cur *c, uint32_t v)
{
	put16(c, v >> 16);
	put16(c, v & 0xffff);
}

static void put64(struct cur *c, uint64_t v)
{
	put32(c, v >> 32);
	put32(c, v & 0xffffffff);
}

static void set16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void set32(uint8_t *p, uint32_t v)
{
	set16(p, v >> 16);
	set16(p + 2, v & 0xffff);
}

static int in_template(const struct mcp_ipfix_enc *e, const struct ie *f, int in6, int out6)
{
	if (e->version == MCP_IPFIX_V9 && !f->v9_id)
		return 0;
	switch (f->when) {
	case W_IN4: return !in6;
	case W_IN6: return in6;
	case W_OUT4: return !out6;
	case W_OUT6: return out6;
	case W_BI: return !e->uniflow;
	default: return 1;
	}
}

static uint16_t template_id(int in6, int out6)
{
	return TEMPLATE_BASE + (in6 ? 1 : 0) + (out6 ? 2 : 0);
}

static size_t header_len(const struct mcp_ipfix_enc *e)
{
	return e->version == MCP_IPFIX_V9 ? 20 : 16;
}

void mcp_ipfix_msg_begin(const struct mcp_ipfix_enc *e, struct mcp_ipfix_msg *m)
{
	m->len = header_len(e);
	m->set_start = 0;
	m->set_id = 0;
	m->records = 0;
	m->v9_count = 0;
	memset(m->buf, 0, m->len);
}

/* Room for sets; v9 keeps 3 bytes for the closing set's padding. */
static size_t msg_cap(const struct mcp_ipfix_enc *e)
{
	size_t cap = e->mtu && e->mtu < MCP_IPFIX_MSG_MAX ? e->mtu : MCP_IPFIX_MSG_MAX;

	return e->version == MCP_IPFIX_V9 ? cap - 3 : cap;
}

/* Closes the open set: its length, and v9's padding to 32 bits (RFC 3954 5.3). */
static void close_set(const struct mcp_ipfix_enc *e, struct mcp_ipfix_msg *m)
{
	if (!m->set_start)
		return;
	if (e->version == MCP_IPFIX_V9)
		while ((m->len - m->set_start) % 4)
			m->buf[m->len++] = 0;
	set16(m->buf + m->set_start + 2, (uint16_t)(m->len - m->set_start));
	m->set_start = 0;
	m->set_id = 0;
}

static void open_set(const struct mcp_ipfix_enc *e, struct mcp_ipfix_msg *m, struct cur *c,
		     uint16_t id)
{
	if (m->set_start && m->set_id == id)
		return;
	close_set(e, m);
	c->len = m->len;
	m->set_start = m->len;
	m->set_id = id;
	put16(c, id);
	put16(c, 0); /* length, at close */
}

/* Where the message stood before an addition that may not fit. */
struct saved_pos {
	size_t len, set_start;
	uint16_t set_id;
};

static struct saved_pos save_pos(const struct mcp_ipfix_msg *m)
{
	return (struct saved_pos){ m->len, m->set_start, m->set_id };
}

static void restore_pos(struct mcp_ipfix_msg *m, struct saved_pos s)
{
	m->len = s.len;
	m->set_start = s.set_start;
	m->set_id = s.set_id;
}

static void put_template(const struct mcp_ipfix_enc *e, struct cur *c, int in6, int out6)
{
	uint16_t n = 0;

	for (size_t i = 0; i < N_IES; i++)
		n += (uint16_t)in_template(e, &ies[i], in6, out6);
	put16(c, template_id(in6, out6));
	put16(c, n);
	for (size_t i = 0; i < N_IES; i++) {
		const struct ie *f = &ies[i];

		if (!in_template(e, f, in6, out6))
			continue;
		if (e->version == MCP_IPFIX_V9) {
			put16(c, f->v9_id);
			put16(c, f->v9_len);
			continue;
		}
		put16(c, (uint16_t)(f->id | (f->pen ? 0x8000 : 0)));
		put16(c, f->len);
		if (f->pen)
			put32(c, f->pen);
	}
}

int mcp_ipfix_msg_add_templates(const struct mcp_ipfix_enc *e, struct mcp_ipfix_msg *m)
{
	struct saved_pos saved = save_pos(m);
	struct cur c = { m->buf, m->len, msg_cap(e), 0 };

	open_set(e, m, &c, e->version == MCP_IPFIX_V9 ? V9_TEMPLATE_FLOWSET : IPFIX_TEMPLATE_SET);
	for (int t = 0; t < 4; t++)
		put_template(e, &c, t & 1, !!(t & 2));
	if (c.err) {
		restore_pos(m, saved);
		return -ENOSPC;
	}
	m->len = c.len;
	m->v9_count += 4;
	close_set(e, m);
	return 0;
}

/* One direction of a flow as the record fields see it. */
struct view {
	const struct mcp_flow_record *r;
	int down; /* uniflow record of the down direction: src/dst swapped */
};

static void put_str(const struct mcp_ipfix_enc *e, struct cur *c, const struct ie *f,
		    const char *s)
{
	size_t n = strnlen(s, 0xfffe);

	if (e->version == MCP_IPFIX_V9) {
		uint8_t pad[64] = { 0 };
		size_t k = n < f->v9_len ? n : f->v9_len;

		put(c, s, k);
		put(c, pad, f->v9_len - k);
		return;
	}
	if (n < 255) {
		put8(c, (uint8_t)n);
	} else {
		put8(c, 255);
		put16(c, (uint16_t)n);
	}
	put(c, s, n);
}

static void put_addr(struct cur *c, const struct mcp_ip *ip, int v6)
{
	if (v6)
		put(c, ip->b, 16);
	else
		put(c, ip->b + 12, 4);
}

/* RFC 5102 flowEndReason: 1 idle, 2 active, 3 end of flow (FIN/RST), 4 forced (exit),
 * 5 lack of resources (table full). */
static uint8_t end_reason(uint8_t r)
{
	switch (r) {
	case MCP_END_IDLE: return 1;
	case MCP_END_ACTIVE: return 2;
	case MCP_END_FIN:
	case MCP_END_RST: return 3;
	case MCP_END_EVICTED: return 5;
	default: return 4;
	}
}

static void put_app_id(struct cur *c, uint16_t app_id)
{
	put8(c, PANA_L7_PEN);
	put32(c, MCP_IPFIX_PEN);
	put16(c, app_id);
}

static void put_counters(struct cur *c, const struct view *v, uint8_t key)
{
	const struct mcp_flow_record *r = v->r;
	int rev = key == K_REV_OCTETS || key == K_REV_PKTS;
	int down = v->down ^ rev;

	if (key == K_OCTETS || key == K_REV_OCTETS)
		put64(c, down ? r->bytes_down : r->bytes_up);
	else
		put64(c, down ? r->pkts_down : r->pkts_up);
}

static void put_value(const struct mcp_ipfix_enc *e, struct cur *c, const struct ie *f,
		      const struct view *v)
{
	const struct mcp_flow_record *r = v->r;
	const struct mcp_ip *src = v->down ? &r->dst_ip : &r->src_ip;
	const struct mcp_ip *dst = v->down ? &r->src_ip : &r->dst_ip;
	int v9 = e->version == MCP_IPFIX_V9;
	uint8_t flags = v->down ? r->tcp_flags_down : r->tcp_flags_up;

	switch (f->key) {
	case K_SRC4: case K_SRC6: put_addr(c, src, f->key == K_SRC6); break;
	case K_DST4: case K_DST6: put_addr(c, dst, f->key == K_DST6); break;
	case K_SPORT: put16(c, v->down ? r->dst_port : r->src_port); break;
	case K_DPORT: put16(c, v->down ? r->src_port : r->dst_port); break;
	case K_PROTO: put8(c, r->proto); break;
	case K_TCPFLAGS: v9 ? put8(c, flags) : put16(c, flags); break;
	case K_REV_TCPFLAGS: put16(c, r->tcp_flags_down); break;
	case K_OCTETS: case K_PKTS: case K_REV_OCTETS: case K_REV_PKTS:
		put_counters(c, v, f->key);
		break;
	case K_START: put64(c, r->first_ms); break;
	case K_END: put64(c, r->last_ms); break;
	case K_ENDREASON: put8(c, end_reason(r->end_reason)); break;
	case K_VLAN: put16(c, r->vlan); break;
	case K_IMSI: put_str(e, c, f, r->imsi); break;
	case K_MSISDN: put_str(e, c, f, r->msisdn); break;
	case K_HOST: put_str(e, c, f, r->host); break;
	case K_APPNAME: put_str(e, c, f, r->app); break;
	case K_APPID: put_app_id(c, r->app_id); break;
	case K_IMEI: put_str(e, c, f, r->imei); break;
	case K_APN: put_str(e, c, f, r->apn); break;
	case K_RAT: put8(c, r->rat); break;
	case K_CATEGORY: put_str(e, c, f, r->category); break;
	case K_USER: put_str(e, c, f, r->user); break;
	case K_MASTER: put_str(e, c, f, r->master_app); break;
	case K_OSRC4: case K_OSRC6: put_addr(c, &r->outer_src, f->key == K_OSRC6); break;
	case K_ODST4: case K_ODST6: put_addr(c, &r->outer_dst, f->key == K_ODST6); break;
	case K_TEID_UP: put32(c, r->teid_up); break;
	case K_TEID_DOWN: put32(c, r->teid_down); break;
	case K_QFI: put8(c, r->has_qfi ? r->qfi : 0xff); break; /* 0xff: none seen */
	}
}

static int outer_v6(const struct mcp_flow_record *r)
{
	return r->tunneled && !mcp_ip_is_v4(&r->outer_src);
}

static void put_record(const struct mcp_ipfix_enc *e, struct mcp_ipfix_msg *m, struct cur *c,
		       const struct view *v)
{
	int in6 = v->r->ip_version == 6, out6 = outer_v6(v->r);

	open_set(e, m, c, template_id(in6, out6));
	for (size_t i = 0; i < N_IES; i++)
		if (in_template(e, &ies[i], in6, out6))
			put_value(e, c, &ies[i], v);
}

int mcp_ipfix_msg_add_flow(const struct mcp_ipfix_enc *e, struct mcp_ipfix_msg *m,
			   const struct mcp_flow_record *r)
{
	struct saved_pos saved = save_pos(m);
	struct cur c = { m->buf, m->len, msg_cap(e), 0 };
	uint32_t n = 0;

	if (!e->uniflow || r->pkts_up || !r->pkts_down) {
		put_record(e, m, &c, &(struct view){ r, 0 });
		n++;
	}
	if (e->uniflow && r->pkts_down) {
		put_record(e, m, &c, &(struct view){ r, 1 });
		n++;
	}
	if (c.err) {
		restore_pos(m, saved);
		return -ENOSPC;
	}
	m->len = c.len;
	m->records += n;
	m->v9_count += n;
	return 0;
}

void mcp_ipfix_msg_finish(const struct mcp_ipfix_enc *e, struct mcp_ipfix_msg *m,
			  uint32_t export_s, uint32_t seq, uint32_t uptime_ms)
{
	uint8_t *h = m->buf;

	close_set(e, m);
	set16(h, (uint16_t)e->version);
	if (e->version == MCP_IPFIX_V9) {
		set16(h + 2, (uint16_t)m->v9_count);
		set32(h + 4, uptime_ms);
		set32(h + 8, export_s);
		set32(h + 12, seq);
		set32(h + 16, e->domain);
		return;
	}
	set16(h + 2, (uint16_t)m->len);
	set32(h + 4, export_s);
	set32(h + 8, seq);
	set32(h + 12, e->domain);
}

void mcp_ipfix_foreach_ie(void (*fn)(void *ctx, uint32_t pen, uint16_t id, const char *name,
				     const char *type, uint16_t v9_id),
			  void *ctx)
{
	for (size_t i = 0; i < N_IES; i++)
		fn(ctx, ies[i].pen, ies[i].id, ies[i].name, ies[i].type, ies[i].v9_id);
}
