/* record_pack.c - packed flow records (record_pack.h).
 *
 * Layout: the struct's bytes in order, except that each string field listed below becomes a
 * length byte and that many bytes. Everything between the strings (numbers, addresses,
 * padding) is copied as it is, so a field added to the record is carried without a change
 * here; only a new string field needs its line to be packed small.
 */
#include "flow/record_pack.h"

#include <string.h>

#define STR(f) { offsetof(struct mcp_flow_record, f), sizeof(((struct mcp_flow_record *)0)->f) }

/* In the order of their offsets (out of order, a gap would wrap: test_flow_record_pack). */
static const struct {
	uint16_t off, size;
} strings[] = {
	STR(app),  STR(master_app), STR(category), STR(host),   STR(http_url), STR(user_agent),
	STR(imsi), STR(supi),       STR(msisdn),   STR(imei),   STR(apn),      STR(user),
};

#define NSTRINGS (sizeof(strings) / sizeof(strings[0]))

_Static_assert(MCP_HOST_LEN <= 256 && MCP_URL_LEN <= 256 && MCP_UA_LEN <= 256 &&
		       MCP_APP_NAME_LEN <= 256 && MCP_IMSI_LEN <= 256 && MCP_SUPI_LEN <= 256 &&
		       MCP_MSISDN_LEN <= 256 && MCP_IMEI_LEN <= 256 && MCP_APN_LEN <= 256,
	       "a string's length must fit its length byte");

size_t mcp_record_pack(const struct mcp_flow_record *r, uint8_t *out)
{
	const uint8_t *rb = (const uint8_t *)r;
	size_t at = 0, o = 0;

	for (size_t i = 0; i < NSTRINGS; i++) {
		size_t len = strnlen((const char *)rb + strings[i].off, strings[i].size - 1u);

		memcpy(out + o, rb + at, strings[i].off - at);
		o += strings[i].off - at;
		out[o++] = (uint8_t)len;
		memcpy(out + o, rb + strings[i].off, len);
		o += len;
		at = strings[i].off + strings[i].size;
	}
	memcpy(out + o, rb + at, sizeof(*r) - at);
	return o + sizeof(*r) - at;
}

size_t mcp_record_unpack(const uint8_t *in, struct mcp_flow_record *r)
{
	uint8_t *rb = (uint8_t *)r;
	size_t at = 0, i_at = 0;

	for (size_t i = 0; i < NSTRINGS; i++) {
		size_t len;

		memcpy(rb + at, in + i_at, strings[i].off - at);
		i_at += strings[i].off - at;
		len = in[i_at++];
		memcpy(rb + strings[i].off, in + i_at, len);
		memset(rb + strings[i].off + len, 0, strings[i].size - len);
		i_at += len;
		at = strings[i].off + strings[i].size;
	}
	memcpy(rb + at, in + i_at, sizeof(*r) - at);
	return i_at + sizeof(*r) - at;
}
