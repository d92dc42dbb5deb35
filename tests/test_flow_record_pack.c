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
#define FIELD(f) { offsetof(struct mcp_flow_record, f), sizeof(((struct mcp_flow_record *)0)->f) }
static const struct {
	size_t off, size;
} strings[] = {
	FIELD(app),  FIELD(master_app), FIELD(category), FIELD(host), FIELD(http_url),
	FIELD(user_agent), FIELD(imsi), FIELD(supi), FIELD(msisdn), FIELD(imei), FIELD(apn),
	FIELD(user),
};
#define NSTRINGS (sizeof(strings) / sizeof(strings[0]))

/* Every non-string byte set to a pattern (padding too: it is copied as it is). */
static void numbers(struct mcp_flow_record *r, uint8_t seed)
{
	uint8_t *b = (uint8_t *)r;

	for (size_t i = 0; i < sizeof(*r); i++)
		b[i] = (uint8_t)(seed + i * 7);
	for (size_t i = 0; i < NSTRINGS; i++)
		memset(b + strings[i].off, 0, strings[i].size);
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

	size_t string_bytes = 0;

	for (size_t i = 0; i < NSTRINGS; i++)
		string_bytes += strings[i].size;
	numbers(&r, 3);
	round_trip(&r, sizeof(r) - string_bytes + NSTRINGS);
}

Test(record_pack, full_strings_and_any_byte)
{
	struct mcp_flow_record r;

	numbers(&r, 9);
	for (size_t i = 0; i < NSTRINGS; i++) /* full: size - 1 bytes and the NUL */
		fill((char *)&r + strings[i].off, strings[i].size - 1, (uint8_t)(i + 1));
	round_trip(&r, sizeof(r));
}

Test(record_pack, unterminated_string_is_cut_and_terminated)
{
	static uint8_t buf[MCP_RECORD_PACK_MAX];
	struct mcp_flow_record r, back;

	numbers(&r, 5);
	fill(r.host, sizeof(r.host), 4); /* no NUL in the field */
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
