/* pcapng.c - minimal streaming pcapng reader (draft-ietf-opsawg-pcapng): SHB, IDB (with
 * if_tsresol), EPB, SPB and the obsolete PB; other blocks are skipped. Every length is checked
 * against the block and the file; a block cut short is reported as truncation.
 */
#include "input/pcapng.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BT_SHB 0x0a0d0d0a
#define BT_IDB 0x00000001
#define BT_PB  0x00000002
#define BT_SPB 0x00000003
#define BT_EPB 0x00000006
#define BYTE_ORDER_MAGIC 0x1a2b3c4d
#define MAX_BLOCK (64u << 20)

static uint32_t rd32(const struct mcp_pcapng *r, const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return r->swap ? __builtin_bswap32(v) : v;
}

static uint16_t rd16(const struct mcp_pcapng *r, const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return r->swap ? __builtin_bswap16(v) : v;
}

static int fail(struct mcp_pcapng *r, int err, const char *msg)
{
	snprintf(r->err, sizeof(r->err), "%s", msg);
	return err;
}

int mcp_pcapng_open(struct mcp_pcapng *r, const char *path)
{
	memset(r, 0, sizeof(*r));
	r->fp = fopen(path, "rb");
	if (!r->fp) {
		int err = -errno;

		snprintf(r->err, sizeof(r->err), "%s", strerror(errno));
		return err;
	}
	return 0;
}

void mcp_pcapng_open_stream(struct mcp_pcapng *r, FILE *fp)
{
	memset(r, 0, sizeof(*r));
	r->fp = fp;
}

void mcp_pcapng_close(struct mcp_pcapng *r)
{
	if (r->fp)
		fclose(r->fp);
	free(r->buf);
	r->fp = NULL;
	r->buf = NULL;
}

/* Reads the rest of a block (after type and length) into r->buf. */
static int read_body(struct mcp_pcapng *r, uint32_t len)
{
	if (len < 12 || len > MAX_BLOCK || (len & 3))
		return fail(r, -EBADMSG, "invalid block length");
	if (len > r->buf_size) {
		uint8_t *nb = realloc(r->buf, len);

		if (!nb)
			return fail(r, -ENOMEM, "out of memory");
		r->buf = nb;
		r->buf_size = len;
	}
	if (fread(r->buf, 1, len - 8, r->fp) != len - 8)
		return fail(r, -EMSGSIZE, "capture truncated inside a block");
	return 0;
}

static void parse_idb(struct mcp_pcapng *r, uint32_t len)
{
	uint32_t i = r->nifaces, off = 8;
	const uint8_t *b = r->buf;
	uint64_t units = 1000000;

	if (i >= MCP_PCAPNG_MAX_IFACES || len < 20)
		return;
	r->linktype[i] = rd16(r, b);
	/* options start after linktype(2) reserved(2) snaplen(4); end 4 bytes before the end */
	while (off + 4 <= len - 12) {
		uint16_t code = rd16(r, b + off), olen = rd16(r, b + off + 2);

		if (code == 0 || off + 4 + olen > len - 12)
			break;
		if (code == 9 && olen >= 1) { /* if_tsresol */
			uint8_t v = b[off + 4];
			uint64_t u = 1;

			for (int k = 0; k < (v & 0x7f) && u < 1000000000000ull; k++)
				u *= (v & 0x80) ? 2 : 10;
			units = u;
		}
		off += 4 + ((olen + 3u) & ~3u);
	}
	r->ts_units[i] = units;
	r->nifaces++;
}

static uint64_t to_us(uint64_t ticks, uint64_t units)
{
	if (units == 1000000)
		return ticks;
	if (units > 1000000)
		return ticks / (units / 1000000);
	return ticks * (1000000 / units);
}

int mcp_pcapng_next(struct mcp_pcapng *r, struct mcp_pcapng_pkt *pkt)
{
	uint8_t hdr[8];
	size_t n;

	for (;;) {
		uint32_t type, len;
		int err;

		n = fread(hdr, 1, 8, r->fp);
		if (n == 0)
			return 0;
		if (n != 8)
			return fail(r, -EMSGSIZE, "capture truncated inside a block header");
		memcpy(&type, hdr, 4);
		if (type == BT_SHB) {
			uint32_t magic;

			if (fread(&magic, 1, 4, r->fp) != 4)
				return fail(r, -EMSGSIZE, "capture truncated in section header");
			r->swap = magic != BYTE_ORDER_MAGIC;
			if (r->swap && __builtin_bswap32(magic) != BYTE_ORDER_MAGIC)
				return fail(r, -EBADMSG, "not a pcapng section header");
			len = rd32(r, hdr + 4);
			if (len < 28 || len > MAX_BLOCK || (len & 3))
				return fail(r, -EBADMSG, "invalid section header length");
			if (fseek(r->fp, len - 12, SEEK_CUR))
				return fail(r, -EMSGSIZE, "capture truncated in section header");
			r->nifaces = 0; /* interface ids are per section */
			continue;
		}
		type = rd32(r, hdr);
		len = rd32(r, hdr + 4);
		if ((err = read_body(r, len)))
			return err;
		if (type == BT_IDB) {
			parse_idb(r, len);
		} else if (type == BT_EPB || type == BT_PB) {
			uint32_t ifid = type == BT_EPB ? rd32(r, r->buf) : rd16(r, r->buf);
			uint64_t ts;

			if (len < 32)
				return fail(r, -EBADMSG, "packet block too short");
			if (ifid >= r->nifaces)
				return fail(r, -EBADMSG, "packet block names an unknown interface");
			ts = (uint64_t)rd32(r, r->buf + 4) << 32 | rd32(r, r->buf + 8);
			pkt->caplen = rd32(r, r->buf + 12);
			pkt->wire_len = rd32(r, r->buf + 16);
			if (pkt->caplen > len - 32)
				return fail(r, -EBADMSG, "packet longer than its block");
			pkt->data = r->buf + 20;
			pkt->ts_us = to_us(ts, r->ts_units[ifid]);
			pkt->linktype = r->linktype[ifid];
			return 1;
		} else if (type == BT_SPB) {
			if (!r->nifaces)
				return fail(r, -EBADMSG, "simple packet block before any interface");
			pkt->wire_len = rd32(r, r->buf);
			pkt->caplen = pkt->wire_len < len - 16 ? pkt->wire_len : len - 16;
			pkt->data = r->buf + 4;
			pkt->ts_us = 0;
			pkt->linktype = r->linktype[0];
			return 1;
		}
	}
}
