/* test_flow_record_pack.c - packed flow records (userspace/flow/record_pack.h): a record
 * comes back byte for byte whatever its strings hold (empty, full, any byte), an empty
 * record packs to its non-string bytes plus one length byte per string, and records packed
 * back to back are read back in turn.
 */
#include <criterion/criterion.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "flow/record_pack.h"

/* The string fields, listed here again as the oracle of the packed size. */
#define F(f) sizeof(((struct mcp_flow_record *)0)->f)
static const size_t string_bytes = F(app) + F(master_app) + F(category) + F(host) +
				   F(http_url) + F(user_agent) + F(imsi) + F(supi) + F(msisdn) +
				   F(imei) + F(apn) + F(user);
#define NSTRINGS 12

/* Every non-string byte set to a pattern (padding too: it is copied as it is). */
static void numbers(struct mcp_flow_record *r, uint8_t seed)
{
	uint8_t *b = (uint8_t *)r;

	for (size_t i = 0; i < sizeof(*r); i++)
		b[i] = (uint8_t)(seed + i * 7);
	memset(r->app, 0, sizeof(r->app));
	memset(r->master_app, 0, sizeof(r->master_app));
	memset(r->category, 0, sizeof(r->category));
	memset(r->host, 0, sizeof(r->host));
	memset(r->http_url, 0, sizeof(r->http_url));
	memset(r->user_agent, 0, sizeof(r->user_agent));
	memset(r->imsi, 0, sizeof(r->imsi));
	memset(r->supi, 0, sizeof(r->supi));
	memset(r->msisdn, 0, sizeof(r->msisdn));
	memset(r->imei, 0, sizeof(r->imei));
	memset(r->apn, 0, sizeof(r->apn));
	memset(r->user, 0, sizeof(r->user));
}

/* A string of n bytes from 1..255 (any byte but NUL: exporters escape them). */
static void fill(char *f, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		f[i] = (char)(1 + (seed + i * 13) % 255);
}

static void round_trip(const struct mcp_flow_record *r, size_t want_len)
{
	static uint8_t buf[MCP_RECORD_PACK_MAX];
	struct mcp_flow_record back;
	size_t n = mcp_record_pack(r, buf);

	memset(&back, 0xa5, sizeof(back)); /* every byte must be written */
	cr_assert_leq(n, MCP_RECORD_PACK_MAX);
	if (want_len)
		cr_assert_eq(n, want_len, "packed %zu bytes, want %zu", n, want_len);
	cr_assert_eq(mcp_record_unpack(buf, &back), n);
	cr_assert(!memcmp(r, &back, sizeof(back)), "the record changed on the way");
}

Test(record_pack, empty_strings_take_a_byte_each)
{
	struct mcp_flow_record r;

	numbers(&r, 3);
	round_trip(&r, sizeof(r) - string_bytes + NSTRINGS);
}

Test(record_pack, full_strings_and_any_byte)
{
	struct mcp_flow_record r;

	numbers(&r, 9);
	fill(r.app, sizeof(r.app) - 1, 1);
	fill(r.master_app, sizeof(r.master_app) - 1, 2);
	fill(r.category, sizeof(r.category) - 1, 3);
	fill(r.host, sizeof(r.host) - 1, 4);
	fill(r.http_url, sizeof(r.http_url) - 1, 5);
	fill(r.user_agent, sizeof(r.user_agent) - 1, 6);
	fill(r.imsi, sizeof(r.imsi) - 1, 7);
	fill(r.supi, sizeof(r.supi) - 1, 8);
	fill(r.msisdn, sizeof(r.msisdn) - 1, 9);
	fill(r.imei, sizeof(r.imei) - 1, 10);
	fill(r.apn, sizeof(r.apn) - 1, 11);
	fill(r.user, sizeof(r.user) - 1, 12);
	round_trip(&r, sizeof(r));
}

Test(record_pack, unterminated_string_is_cut_and_terminated)
{
	static uint8_t buf[MCP_RECORD_PACK_MAX];
	struct mcp_flow_record r, back;

	numbers(&r, 5);
	fill(r.host, sizeof(r.host), 4); /* no NUL in the field */
	mcp_record_unpack(buf, &back);   /* (buf is zero: an all-empty record) */
	mcp_record_pack(&r, buf);
	mcp_record_unpack(buf, &back);
	cr_assert_eq(strlen(back.host), sizeof(back.host) - 1);
	cr_assert(!memcmp(back.host, r.host, sizeof(back.host) - 1));
}

Test(record_pack, back_to_back)
{
	static uint8_t buf[3 * MCP_RECORD_PACK_MAX];
	struct mcp_flow_record r[3], back;
	size_t off = 0;

	for (int i = 0; i < 3; i++) {
		numbers(&r[i], (uint8_t)(20 + i));
		fill(r[i].imsi, 15, (uint8_t)i);
		fill(r[i].host, (size_t)(10 * i), (uint8_t)i);
		off += mcp_record_pack(&r[i], buf + off);
	}
	off = 0;
	for (int i = 0; i < 3; i++) {
		off += mcp_record_unpack(buf + off, &back);
		cr_assert(!memcmp(&r[i], &back, sizeof(back)), "record %d", i);
	}
}
