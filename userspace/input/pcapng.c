/* pcapng.c - streaming pcapng reader (draft-ietf-opsawg-pcapng, pcapng.h): SHB, IDB (with
 * if_tsresol), EPB, SPB and the obsolete PB; other blocks are skipped. A block is taken only
 * when its leading and trailing total lengths agree; damage is skipped byte by byte until a
 * known block is framed again, and counted.
 *
 *  Block: type(4) total_length(4) body(total_length - 12) total_length(4)
 *  SHB body starts with the byte-order magic 0x1a2b3c4d, which fixes the section's order.
 */
#include "input/pcapng.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BT_SHB 0x0a0d0d0a
#define BT_IDB 0x00000001
#define BT_PB  0x00000002
#define BT_SPB 0x00000003
#define BT_NRB 0x00000004
#define BT_ISB 0x00000005
#define BT_EPB 0x00000006
#define BT_DSB 0x0000000a
#define BT_CB  0x00000bad
#define BT_CB2 0x40000bad
#define BYTE_ORDER_MAGIC 0x1a2b3c4d
#define MAX_BLOCK (64u << 20)
/* A packet block is at most libpcap's largest snapshot (256 KiB) plus its header and
 * options; the window holds any such block whole, so it can be checked before it is taken. */
#define WINDOW_CAP (1u << 20)

static uint32_t rd32(int swap, const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return swap ? __builtin_bswap32(v) : v;
}

static uint16_t rd16(int swap, const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return swap ? __builtin_bswap16(v) : v;
}

static int fail(struct mcp_pcapng *r, int err, const char *msg)
{
	snprintf(r->err, sizeof(r->err), "%s", msg);
	return err;
}

void mcp_pcapng_attach(struct mcp_pcapng *r, struct mcp_window *w)
{
	memset(r, 0, sizeof(*r));
	r->w = *w;
	memset(w, 0, sizeof(*w));
}

int mcp_pcapng_open_stream(struct mcp_pcapng *r, FILE *fp)
{
	struct mcp_window w;

	memset(r, 0, sizeof(*r));
	if (mcp_window_init(&w, fp, WINDOW_CAP)) {
		fclose(fp);
		return fail(r, -ENOMEM, "out of memory");
	}
	mcp_pcapng_attach(r, &w);
	return 0;
}

int mcp_pcapng_open(struct mcp_pcapng *r, const char *path)
{
	FILE *fp = fopen(path, "rb");

	if (!fp) {
		int err = -errno;

		memset(r, 0, sizeof(*r));
		snprintf(r->err, sizeof(r->err), "%s", strerror(errno));
		return err;
	}
	return mcp_pcapng_open_stream(r, fp);
}

void mcp_pcapng_close(struct mcp_pcapng *r)
{
	mcp_window_free(&r->w);
}

static void parse_idb(struct mcp_pcapng *r, const uint8_t *b, uint32_t len)
{
	uint32_t i = r->nifaces, off = 16; /* type, length, linktype, reserved, snaplen */
	uint64_t units = 1000000;

	if (i >= MCP_PCAPNG_MAX_IFACES || len < 20)
		return;
	r->linktype[i] = rd16(r->swap, b + 8);
	while (off + 4 <= len - 4) {
		uint16_t code = rd16(r->swap, b + off), olen = rd16(r->swap, b + off + 2);

		if (code == 0 || off + 4 + olen > len - 4)
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

static int known_type(uint32_t t)
{
	return t == BT_IDB || t == BT_PB || t == BT_SPB || t == BT_NRB || t == BT_ISB ||
	       t == BT_EPB || t == BT_DSB || t == BT_CB || t == BT_CB2 || (t >= 7 && t <= 9);
}

/* The block at the window's front: its type, length and section byte order. 1 when the
 * header is plausible, 0 when not (damage), -1 at the end of the stream. */
static int block_header(struct mcp_pcapng *r, uint32_t *type, uint32_t *len, int *swap)
{
	size_t avail = mcp_window_fill(&r->w, 12);
	const uint8_t *h = mcp_window_peek(&r->w);

	if (avail < 8)
		return avail ? 0 : -1;
	memcpy(type, h, 4);
	*swap = r->swap;
	if (*type == BT_SHB) {
		uint32_t magic;

		if (avail < 12)
			return 0;
		memcpy(&magic, h + 8, 4);
		if (magic != BYTE_ORDER_MAGIC && __builtin_bswap32(magic) != BYTE_ORDER_MAGIC)
			return 0;
		*swap = magic != BYTE_ORDER_MAGIC;
		*len = rd32(*swap, h + 4);
		return *len >= 28 && *len <= MAX_BLOCK && !(*len & 3);
	}
	*type = rd32(*swap, h);
	*len = rd32(*swap, h + 4);
	if (*len < 12 || *len > MAX_BLOCK || (*len & 3))
		return 0;
	/* while scanning only a known block type ends the damage */
	return !r->scanning || known_type(*type);
}

/* Skips n bytes of damage; the first byte after good data opens a new damaged place. */
static void skip_damage(struct mcp_pcapng *r, size_t n)
{
	if (!r->scanning)
		r->resyncs++;
	r->scanning = 1;
	r->skipped_bytes += n;
	mcp_window_take(&r->w, n);
}

/* A packet block framed correctly: 1 with pkt filled, 0 when its content is inconsistent. */
static int packet(struct mcp_pcapng *r, uint32_t type, const uint8_t *b, uint32_t len,
		  struct mcp_pcapng_pkt *pkt)
{
	if (type == BT_SPB) {
		if (!r->nifaces || len < 16)
			return 0;
		pkt->wire_len = rd32(r->swap, b + 8);
		pkt->caplen = pkt->wire_len < len - 16 ? pkt->wire_len : len - 16;
		pkt->data = b + 12;
		pkt->ts_us = 0;
		pkt->linktype = r->linktype[0];
		return 1;
	}
	uint32_t ifid = type == BT_EPB ? rd32(r->swap, b + 8) : rd16(r->swap, b + 8);
	uint64_t ts;

	if (len < 32 || ifid >= r->nifaces)
		return 0;
	ts = (uint64_t)rd32(r->swap, b + 12) << 32 | rd32(r->swap, b + 16);
	pkt->caplen = rd32(r->swap, b + 20);
	pkt->wire_len = rd32(r->swap, b + 24);
	if (pkt->caplen > len - 32)
		return 0;
	pkt->data = b + 28;
	pkt->ts_us = to_us(ts, r->ts_units[ifid]);
	pkt->linktype = r->linktype[ifid];
	return 1;
}

/* A block larger than the window (a big name or custom block): skipped in pieces. */
static void skip_big(struct mcp_pcapng *r, uint32_t len)
{
	while (len) {
		size_t n = mcp_window_fill(&r->w, len < WINDOW_CAP ? len : WINDOW_CAP);

		if (!n)
			return;
		mcp_window_take(&r->w, n);
		len -= (uint32_t)n;
	}
}

/* The stream ended: the last cut-short block and anything skipped since it began are a
 * truncation, not damage (a capture cut by a full disk or a killed writer). */
static void end_of_stream(struct mcp_pcapng *r)
{
	size_t rest = r->w.len - r->w.pos;

	if (r->tail) {
		if (!r->w.stopped) /* a block cut by the stop is neither damage nor truncation */
			r->trunc_bytes += r->skipped_bytes - r->tail_skipped;
		r->skipped_bytes = r->tail_skipped;
		r->resyncs = r->tail_resyncs;
		r->tail = 0;
	}
	if (!r->w.stopped)
		r->trunc_bytes += rest;
	mcp_window_take(&r->w, rest);
}

int mcp_pcapng_next(struct mcp_pcapng *r, struct mcp_pcapng_pkt *pkt)
{
	for (;;) {
		uint32_t type, len;
		const uint8_t *b;
		int swap, ok = block_header(r, &type, &len, &swap);

		if (r->w.stopped && (ok <= 0 || mcp_window_fill(&r->w, len) < len)) {
			end_of_stream(r); /* cut by the stop: not damage */
			return 0;
		}
		if (ok < 0 || (!ok && r->w.eof && mcp_window_fill(&r->w, 12) < 12)) {
			end_of_stream(r);
			return r->w.err ? fail(r, -r->w.err, strerror(r->w.err)) : 0;
		}
		if (!ok || (len > WINDOW_CAP && (r->scanning || type == BT_EPB || type == BT_PB ||
						 type == BT_SPB || type == BT_SHB ||
						 type == BT_IDB))) {
			skip_damage(r, 1);
			continue;
		}
		if (len > WINDOW_CAP) {
			skip_big(r, len);
			continue;
		}
		if (mcp_window_fill(&r->w, len) < len) {
			if (r->w.stopped) {
				end_of_stream(r); /* cut by the stop: not damage */
				return 0;
			}
			/* the stream ends inside the block: truncation, unless a block follows */
			if (!r->tail && !r->scanning) {
				r->tail = 1;
				r->tail_skipped = r->skipped_bytes;
				r->tail_resyncs = r->resyncs;
			}
			skip_damage(r, 1);
			continue;
		}
		b = mcp_window_peek(&r->w);
		if (rd32(swap, b + len - 4) != len) { /* the two lengths disagree: not a block */
			skip_damage(r, 1);
			continue;
		}
		r->scanning = 0;
		r->tail = 0;
		if (type == BT_SHB) {
			r->swap = swap;
			r->nifaces = 0; /* interface ids are per section */
		} else if (type == BT_IDB) {
			parse_idb(r, b, len);
		} else if (type == BT_EPB || type == BT_PB || type == BT_SPB) {
			if (packet(r, type, b, len, pkt)) {
				mcp_window_take(&r->w, len);
				return 1;
			}
			r->resyncs++; /* framed, but names no interface or overruns: skip it */
			r->skipped_bytes += len;
		}
		mcp_window_take(&r->w, len);
	}
}
