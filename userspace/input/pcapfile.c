/* pcapfile.c - streaming classic-pcap reader with resynchronisation (pcapfile.h).
 *
 *  File header: magic(4) major(2) minor(2) thiszone(4) sigfigs(4) snaplen(4) linktype(4)
 *  Record:      ts_sec(4) ts_usec_or_nsec(4) caplen(4) len(4) data(caplen)
 */
#include "input/pcapfile.h"

#include <errno.h>
#include <string.h>

#define MAGIC_US 0xa1b2c3d4
#define MAGIC_NS 0xa1b23c4d
#define MAX_CAPLEN 262144u     /* libpcap's largest snapshot length */
#define MAX_GAP_S 86400u       /* after damage, a record within a day of the last good one */

static uint32_t rd32(int swap, const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return swap ? __builtin_bswap32(v) : v;
}

int mcp_pcapfile_magic(const uint8_t *p)
{
	uint32_t m = rd32(0, p), s = __builtin_bswap32(m);

	return m == MAGIC_US || m == MAGIC_NS || s == MAGIC_US || s == MAGIC_NS;
}

int mcp_pcapfile_attach(struct mcp_pcapfile *r, struct mcp_window *w)
{
	const uint8_t *h;
	uint32_t m;

	memset(r, 0, sizeof(*r));
	r->w = *w;
	memset(w, 0, sizeof(*w));
	if (mcp_window_fill(&r->w, 24) < 24) {
		snprintf(r->err, sizeof(r->err), "file header cut short");
		return -EMSGSIZE;
	}
	h = mcp_window_peek(&r->w);
	if (!mcp_pcapfile_magic(h)) {
		snprintf(r->err, sizeof(r->err), "not a pcap file");
		return -EBADMSG;
	}
	m = rd32(0, h);
	r->swap = m != MAGIC_US && m != MAGIC_NS;
	r->nano = rd32(r->swap, h) == MAGIC_NS;
	r->linktype = (int)(rd32(r->swap, h + 20) & 0x0fffffff); /* upper bits: FCS info */
	mcp_window_take(&r->w, 24);
	return 0;
}

void mcp_pcapfile_close(struct mcp_pcapfile *r)
{
	mcp_window_free(&r->w);
}

/* Lengths and sub-second field of the header at h. */
static int header_sane(const struct mcp_pcapfile *r, const uint8_t *h)
{
	uint32_t frac = rd32(r->swap, h + 4), cap = rd32(r->swap, h + 8), len = rd32(r->swap, h + 12);

	return frac < (r->nano ? 1000000000u : 1000000u) && cap <= len && cap <= MAX_CAPLEN &&
	       len <= MAX_CAPLEN && len > 0;
}

/* After damage: the header at the front is sane, near the last good time, and followed by
 * the end of the stream or another sane header. The window holds header and record. */
static int header_resyncs(const struct mcp_pcapfile *r, size_t avail)
{
	const uint8_t *h = mcp_window_peek(&r->w);
	uint32_t cap = rd32(r->swap, h + 8);
	int64_t dt = (int64_t)rd32(r->swap, h) - (int64_t)r->last_ts_s;

	if (!header_sane(r, h) || (r->last_ts_s && (dt < -(int64_t)MAX_GAP_S || dt > MAX_GAP_S)))
		return 0;
	if (avail < 16 + (size_t)cap + 16)
		return avail >= 16 + (size_t)cap && r->w.eof; /* the last record */
	return header_sane(r, h + 16 + cap);
}

static void skip_damage(struct mcp_pcapfile *r)
{
	if (!r->scanning)
		r->resyncs++;
	r->scanning = 1;
	r->skipped_bytes++;
	mcp_window_take(&r->w, 1);
}

static int end_of_stream(struct mcp_pcapfile *r)
{
	size_t rest = r->w.len - r->w.pos;

	if (r->tail) { /* see pcapng.c: damage that began at a cut record is truncation */
		if (!r->w.stopped) /* a record cut by the stop is neither damage nor truncation */
			r->trunc_bytes += r->skipped_bytes - r->tail_skipped;
		r->skipped_bytes = r->tail_skipped;
		r->resyncs = r->tail_resyncs;
		r->tail = 0;
	}
	if (!r->w.stopped)
		r->trunc_bytes += rest;
	mcp_window_take(&r->w, rest);
	if (r->w.err) {
		snprintf(r->err, sizeof(r->err), "%s", strerror(r->w.err));
		return -r->w.err;
	}
	return 0;
}

int mcp_pcapfile_next(struct mcp_pcapfile *r, struct mcp_pcapfile_pkt *pkt, int lax)
{
	for (;;) {
		/* only the bytes needed: on a FIFO, more would wait for packets not sent yet */
		size_t avail = mcp_window_fill(&r->w, 16);
		const uint8_t *h;
		uint32_t cap;
		int ok;

		if (avail < 16)
			return end_of_stream(r);
		h = mcp_window_peek(&r->w);
		cap = rd32(r->swap, h + 8);
		if (lax)
			ok = cap <= MAX_CAPLEN;
		else
			ok = header_sane(r, h);
		if (ok) {
			avail = mcp_window_fill(&r->w, 16 + (size_t)cap + (r->scanning ? 16 : 0));
			if (r->w.stopped && avail < 16 + (size_t)cap + (r->scanning ? 16 : 0))
				return end_of_stream(r); /* cut by the stop: not damage */
			h = mcp_window_peek(&r->w);
			if (r->scanning)
				ok = header_resyncs(r, avail);
		}
		if (ok && avail < 16 + (size_t)cap) { /* the stream ends inside the record */
			if (!r->tail && !r->scanning) {
				r->tail = 1;
				r->tail_skipped = r->skipped_bytes;
				r->tail_resyncs = r->resyncs;
			}
			ok = 0;
		}
		if (!ok) {
			skip_damage(r);
			continue;
		}
		r->scanning = 0;
		r->tail = 0;
		r->last_ts_s = rd32(r->swap, h);
		pkt->caplen = cap;
		pkt->wire_len = rd32(r->swap, h + 12);
		pkt->ts_us = r->last_ts_s * 1000000u +
			     (r->nano ? rd32(r->swap, h + 4) / 1000u : rd32(r->swap, h + 4));
		if (lax) { /* as libpcap reads the stamp: both fields signed 32-bit */
			int64_t sec = (int32_t)rd32(r->swap, h), frac = (int32_t)rd32(r->swap, h + 4);

			pkt->ts_us = (uint64_t)sec * 1000000u + (uint64_t)(r->nano ? frac / 1000 : frac);
		}
		pkt->data = h + 16;
		mcp_window_take(&r->w, 16 + (size_t)cap);
		return 1;
	}
}
