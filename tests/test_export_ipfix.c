/* test_export_ipfix.c - IPFIX / NetFlow v9 encoding: message and set lengths, the record's
 * field values at known offsets, a record that does not fit, v9 padding, and docs/export.md
 * listing every information element the code sends. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "export/ipfix_msg.h"

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void sample(struct mcp_flow_record *r)
{
	uint8_t a[4] = { 10, 0, 0, 1 }, b[4] = { 192, 0, 2, 7 };

	memset(r, 0, sizeof(*r));
	r->ip_version = 4;
	r->proto = 6;
	mcp_ip_from_v4(&r->src_ip, a);
	mcp_ip_from_v4(&r->dst_ip, b);
	r->src_port = 40000;
	r->dst_port = 443;
	r->pkts_up = 3;
	r->pkts_down = 5;
	r->bytes_up = 300;
	r->bytes_down = 5000;
	r->tunneled = 1;
	mcp_ip_from_v4(&r->outer_src, a);
	mcp_ip_from_v4(&r->outer_dst, b);
	strcpy(r->imsi, "001010123456789");
	strcpy(r->app, "TLS");
}

/* Walks the sets of a finished message: their lengths must add up to the message. */
static int count_sets(const struct mcp_ipfix_msg *m, size_t hdr, uint16_t *ids, int max)
{
	size_t pos = hdr;
	int n = 0;

	while (pos + 4 <= m->len) {
		uint16_t len = get16(m->buf + pos + 2);

		cr_assert_geq(len, 4);
		if (n < max)
			ids[n] = get16(m->buf + pos);
		n++;
		pos += len;
	}
	cr_assert_eq(pos, m->len, "sets end at %zu, message at %zu", pos, m->len);
	return n;
}

Test(export_ipfix, ipfix_message_layout)
{
	struct mcp_ipfix_enc e = { .version = MCP_IPFIX_V10, .mtu = 1400, .domain = 7 };
	static struct mcp_ipfix_msg m;
	struct mcp_flow_record r;
	uint16_t ids[4];

	sample(&r);
	mcp_ipfix_msg_begin(&e, &m);
	cr_assert_eq(mcp_ipfix_msg_add_templates(&e, &m), 0);
	cr_assert_eq(mcp_ipfix_msg_add_flow(&e, &m, &r), 0);
	mcp_ipfix_msg_finish(&e, &m, 1700000000, 42, 0);
	cr_assert_eq(get16(m.buf), 10);
	cr_assert_eq(get16(m.buf + 2), m.len);
	cr_assert_eq(ntohl(*(uint32_t *)(m.buf + 8)), 42);
	cr_assert_eq(ntohl(*(uint32_t *)(m.buf + 12)), 7);
	cr_assert_eq(count_sets(&m, 16, ids, 4), 2);
	cr_assert_eq(ids[0], 2);   /* template set */
	cr_assert_eq(ids[1], 256); /* inner v4, outer v4 */
	cr_assert_eq(m.records, 1);
	/* the data set starts with source, destination, ports */
	{
		size_t pos = 16 + get16(m.buf + 16 + 2);
		const uint8_t *p = m.buf + pos + 4;

		cr_assert_eq(memcmp(p, "\x0a\x00\x00\x01\xc0\x00\x02\x07", 8), 0);
		cr_assert_eq(get16(p + 8), 40000);
		cr_assert_eq(get16(p + 10), 443);
		cr_assert_eq(p[12], 6);
	}
}

Test(export_ipfix, full_message_is_left_unchanged)
{
	struct mcp_ipfix_enc e = { .version = MCP_IPFIX_V10, .mtu = 200 };
	static struct mcp_ipfix_msg m;
	struct mcp_flow_record r;
	size_t len;

	sample(&r);
	mcp_ipfix_msg_begin(&e, &m);
	cr_assert_eq(mcp_ipfix_msg_add_templates(&e, &m), -ENOSPC);
	cr_assert_eq(m.len, 16);
	cr_assert_eq(mcp_ipfix_msg_add_flow(&e, &m, &r), 0);
	len = m.len;
	while (mcp_ipfix_msg_add_flow(&e, &m, &r) == 0)
		len = m.len;
	cr_assert_eq(m.len, len);
	cr_assert_leq(m.len, 200);
	mcp_ipfix_msg_finish(&e, &m, 0, 0, 0);
	cr_assert_eq(get16(m.buf + 2), m.len);
}

Test(export_ipfix, v9_sets_are_padded_and_counted)
{
	struct mcp_ipfix_enc e = { .version = MCP_IPFIX_V9, .mtu = 1400, .uniflow = 1 };
	static struct mcp_ipfix_msg m;
	struct mcp_flow_record r;
	uint16_t ids[4];

	sample(&r);
	mcp_ipfix_msg_begin(&e, &m);
	cr_assert_eq(mcp_ipfix_msg_add_templates(&e, &m), 0);
	cr_assert_eq(mcp_ipfix_msg_add_flow(&e, &m, &r), 0);
	mcp_ipfix_msg_finish(&e, &m, 0, 0, 0);
	cr_assert_eq(get16(m.buf), 9);
	cr_assert_eq(get16(m.buf + 2), 4 + 2); /* four templates, two uniflow records */
	cr_assert_eq(count_sets(&m, 20, ids, 4), 2);
	cr_assert_eq(ids[0], 0);
	for (size_t pos = 20; pos < m.len; pos += get16(m.buf + pos + 2))
		cr_assert_eq(get16(m.buf + pos + 2) % 4, 0);
}

static char *docs;

static void check_doc_row(void *ctx, uint32_t pen, uint16_t id, const char *name,
			  const char *type, uint16_t v9_id)
{
	char row[160];

	snprintf(row, sizeof(row), "| %u | %u | `%s` | %s |", pen, id, name, type);
	cr_expect_not_null(strstr(docs, row), "docs/export.md lacks the row '%s'", row);
}

Test(export_ipfix, docs_list_every_ie)
{
	static char buf[65536];
	FILE *f = fopen("docs/export.md", "r");
	size_t n;

	cr_assert_not_null(f, "docs/export.md not found (run from the source tree)");
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	docs = buf;
	mcp_ipfix_foreach_ie(check_doc_row, NULL);
}
