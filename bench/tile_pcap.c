/* tile_pcap.c - a long benchmark capture from a short real one: each copy new conversations.
 *
 *   tile_pcap IN OUT COPIES
 *
 * Writes COPIES back-to-back copies of IN's frames (pcap or pcapng, through libpcap) into the
 * classic pcap OUT, same link type (Ethernet with any VLAN/QinQ/MPLS stack, Linux SLL or raw IP).
 *
 * Timestamps: within a copy each gap between frames keeps its length up to 1 s (real captures
 * stitched from samples jump by years, which would overflow the 32-bit seconds after a few
 * copies), and copy k starts 60 s after copy k-1 ended, beyond both probes' 30 s idle timeouts.
 *
 * Addresses: copy k moves every unicast IPv4 address by k << 16 (by k << 8 or k if that makes
 * two hosts of different copies meet) and every unicast IPv6 address by k << 32 in its first
 * 64 bits (or k << 16, k), in the outer IP header and in the inner one of GTP-U T-PDUs (UDP
 * 2152, optional sequence / N-PDU / extension header chain). So copy k is new hosts and new
 * 5-tuples for every probe, rather than the same conversations once more (which a probe that
 * expires flows re-creates COPIES times and one that does not keeps once). Multicast,
 * broadcast and unspecified addresses stay. The rewrite is checked before writing: no two
 * (copy, address) pairs may meet and no unicast address may leave unicast space, else it fails. Checksums: IPv4 headers recomputed; TCP, UDP and ICMPv6 recomputed
 * when the whole segment is in the frame (UDP over IPv4 without one keeps 0); a truncated
 * segment keeps its checksum (nobody can verify it). Not rewritten: addresses quoted inside
 * ICMP errors, and GTP-C / PFCP bodies (F-TEIDs, UE addresses; TEIDs are left alone, the
 * tunnel endpoints change): such frames are counted as "gtpc".
 *
 * Prints "frames N copies K rewritten R other O unparsable U gtpc G shift S4/S6": N in the
 * output, R/O/U/G per copy (other: not IP, copied unchanged; unparsable: truncated or malformed
 * IP, copied unchanged), S4/S6 the shifts used.
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_GAP_US 1000000LL
#define COPY_GAP_US 60000000LL
#define GTPU_PORT 2152
#define GTPC_PORT 2123
#define PFCP_PORT 8805

/* One IP header of a frame: where it is and what its checksummed payload is. */
struct ip_site {
	uint32_t off, l4_off, l4_len;
	uint8_t ver, proto, l4_whole; /* l4_whole: the whole L4 segment is in the frame */
};

struct frame {
	struct pcap_pkthdr h;
	u_char *data;
	int n_ip; /* 0 (unchanged) or 1..2, outermost first */
	struct ip_site ip[2];
};

static unsigned rd16(const u_char *p) { return (unsigned)p[0] << 8 | p[1]; }
static void wr16(u_char *p, unsigned v) { p[0] = (u_char)(v >> 8), p[1] = (u_char)v; }
static uint32_t rd32(const u_char *p) { return (uint32_t)rd16(p) << 16 | rd16(p + 2); }
static void wr32(u_char *p, uint32_t v) { wr16(p, v >> 16), wr16(p + 2, v & 0xffff); }

static int keep_addr(const u_char *a, int len)
{
	static const u_char zero[16];

	if (len == 4)
		return a[0] >= 224 || !memcmp(a, zero, 4); /* multicast, broadcast, 0.0.0.0 */
	return a[0] == 0xff || !memcmp(a, zero, 16);
}

/* Where copy k's offset goes, per family (index 0 IPv4, 1 IPv6): k << shift is added to the
 * address (IPv4) or to its first 64 bits (IPv6). pick_shift takes the first candidate
 * that keeps every (copy, host) pair apart: captures number their hosts differently. */
static const int shift_candidates[2][3] = {{16, 8, 0}, {32, 16, 0}};
static int shift[2] = {16, 32};

/* Copy k's address for a (in place); returns 0 if a unicast address would leave unicast space. */
static int move_addr(u_char *a, int len, long k)
{
	if (keep_addr(a, len) || !k)
		return 1;
	if (len == 4) {
		uint64_t v = rd32(a) + ((uint64_t)k << shift[0]);

		if (v >= 224u << 24)
			return 0;
		wr32(a, (uint32_t)v);
	} else {
		uint64_t v = ((uint64_t)rd32(a) << 32 | rd32(a + 4)) + ((uint64_t)k << shift[1]);

		if (v >> 56 == 0xff || v < ((uint64_t)rd32(a) << 32))
			return 0; /* into multicast, or wrapped */
		wr32(a, (uint32_t)(v >> 32)), wr32(a + 4, (uint32_t)v);
	}
	return 1;
}

static uint32_t sum16(const u_char *p, size_t n, uint32_t s)
{
	for (; n > 1; p += 2, n -= 2)
		s += rd16(p);
	if (n)
		s += (uint32_t)p[0] << 8;
	return s;
}

static unsigned fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return ~s & 0xffff;
}

/* Recompute the IPv4 header checksum and the site's TCP/UDP/ICMPv6 checksum. */
static void fix_checksums(u_char *d, const struct ip_site *s)
{
	int alen = s->ver == 4 ? 4 : 16, at = s->proto == 6 ? 16 : s->proto == 17 ? 6 : 2;
	u_char *l4 = d + s->l4_off;
	uint32_t sum;
	unsigned c;

	if (s->ver == 4) {
		wr16(d + s->off + 10, 0);
		wr16(d + s->off + 10, fold(sum16(d + s->off, (d[s->off] & 15) * 4u, 0)));
	}
	if (!s->l4_whole || !(s->proto == 6 || s->proto == 17 || (s->proto == 58 && s->ver == 6)))
		return;
	if (s->proto == 17 && s->ver == 4 && rd16(l4 + 6) == 0)
		return; /* UDP over IPv4 without a checksum */
	sum = sum16(d + s->off + (s->ver == 4 ? 12 : 8), 2u * alen, s->proto + s->l4_len);
	wr16(l4 + at, 0);
	c = fold(sum16(l4, s->l4_len, sum));
	wr16(l4 + at, c == 0 && s->proto == 17 ? 0xffff : c);
}

/* Parses the IP header at off (caplen n); fills s. Returns the L4 protocol's payload offset
 * for UDP (to look for GTP-U), 0 for other protocols, -1 if malformed or truncated. */
static long parse_ip(const u_char *d, size_t n, size_t off, struct ip_site *s)
{
	size_t hl, tot, end;
	int proto, more = 0, first = 1;

	if (off + 20 > n)
		return -1;
	s->off = (uint32_t)off, s->ver = d[off] >> 4;
	if (s->ver == 4) {
		hl = (d[off] & 15) * 4u, tot = rd16(d + off + 2), proto = d[off + 9];
		more = d[off + 6] & 0x20, first = (rd16(d + off + 6) & 0x1fff) == 0;
		if (hl < 20 || tot < hl || off + hl > n)
			return -1;
	} else if (s->ver == 6) {
		if (off + 40 > n)
			return -1;
		hl = 40, tot = 40 + rd16(d + off + 4), proto = d[off + 6];
		/* hop-by-hop, routing, destination options; a fragment header ends the walk */
		while ((proto == 0 || proto == 43 || proto == 60) && off + hl + 8 <= n) {
			proto = d[off + hl], hl += 8 + d[off + hl + 1] * 8u;
		}
		if (proto == 44)
			more = 1, first = 0;
		if (hl > tot || off + hl > n)
			return -1;
	} else {
		return -1;
	}
	end = off + tot;
	s->proto = (uint8_t)proto, s->l4_off = (uint32_t)(off + hl), s->l4_len = (uint32_t)(tot - hl);
	s->l4_whole = end <= n && first && !more && (proto != 6 || tot - hl >= 20) &&
		      (proto != 17 || tot - hl >= 8) && (proto != 58 || tot - hl >= 4);
	if (proto != 17 || !first || more || off + hl + 8 > n)
		return 0;
	return (long)(off + hl + 8);
}

/* Offset of the inner IP header of a GTP-U T-PDU starting at g, or 0 if it is none. */
static size_t gtpu_inner(const u_char *d, size_t n, size_t g)
{
	size_t p = g + 8;

	if (g + 8 > n || (d[g] >> 5) != 1 || !(d[g] & 0x10) || d[g + 1] != 0xff)
		return 0;
	if (d[g] & 0x07) { /* E, S or PN: sequence, N-PDU number, next extension type */
		if (g + 12 > n)
			return 0;
		p = g + 12;
		for (u_char next = d[g] & 0x04 ? d[g + 11] : 0; next;) {
			if (p + 1 > n || d[p] == 0 || p + d[p] * 4u > n)
				return 0;
			p += d[p] * 4u;
			next = d[p - 1];
		}
	}
	return p < n && (d[p] >> 4 == 4 || d[p] >> 4 == 6) ? p : 0;
}

struct counts {
	long rewritten, other, unparsable, gtpc;
};

/* Finds the IP headers of frame f (link type dlt); counts it. */
static void parse_frame(struct frame *f, int dlt, struct counts *c)
{
	const u_char *d = f->data;
	size_t n = f->h.caplen, off, inner;
	unsigned et;
	long udp;

	f->n_ip = 0;
	if (dlt == DLT_EN10MB || dlt == DLT_LINUX_SLL) {
		off = dlt == DLT_EN10MB ? 14 : 16;
		et = n >= off ? rd16(d + off - 2) : 0;
		while ((et == 0x8100 || et == 0x88a8 || et == 0x9100) && off + 4 <= n)
			et = rd16(d + off + 2), off += 4;
		if (et == 0x8847 || et == 0x8848) { /* MPLS: labels up to bottom of stack */
			while (off + 4 <= n && !(d[off + 2] & 1))
				off += 4;
			off += 4;
			et = off < n ? (d[off] >> 4 == 4 ? 0x0800 : d[off] >> 4 == 6 ? 0x86dd : 0) : 0;
		}
		if (et != 0x0800 && et != 0x86dd) {
			c->other++;
			return;
		}
	} else if (dlt == DLT_RAW || dlt == DLT_IPV4 || dlt == DLT_IPV6) {
		off = 0;
	} else {
		c->other++;
		return;
	}
	udp = parse_ip(d, n, off, &f->ip[0]);
	if (udp < 0) {
		c->unparsable++;
		return;
	}
	f->n_ip = 1;
	if (udp > 0) {
		unsigned sp = rd16(d + udp - 8), dp = rd16(d + udp - 6);

		if (sp == GTPC_PORT || dp == GTPC_PORT || sp == PFCP_PORT || dp == PFCP_PORT)
			c->gtpc++;
		if ((sp == GTPU_PORT || dp == GTPU_PORT) &&
		    (inner = gtpu_inner(d, n, (size_t)udp)) != 0) {
			if (parse_ip(d, n, inner, &f->ip[1]) < 0) {
				f->n_ip = 0;
				c->unparsable++;
				return;
			}
			f->n_ip = 2;
		}
	}
	c->rewritten++;
}

/* Rewrites frame bytes d for copy k: inner header first, so the outer UDP sum covers it. */
static void rewrite(u_char *d, const struct frame *f, long k)
{
	for (int i = f->n_ip - 1; i >= 0; i--) {
		const struct ip_site *s = &f->ip[i];
		int alen = s->ver == 4 ? 4 : 16;
		u_char *src = d + s->off + (s->ver == 4 ? 12 : 8);

		move_addr(src, alen, k);
		move_addr(src + alen, alen, k);
		fix_checksums(d, s);
	}
}

/* Address records for the collision check: family length, then the address. */
typedef u_char addr_rec[17];

static int cmp_rec(const void *a, const void *b) { return memcmp(a, b, sizeof(addr_rec)); }

/* 1 if copies 0..copies-1 of the nd distinct addresses a never meet nor leave unicast space. */
static int copies_apart(const addr_rec *a, size_t nd, long copies, addr_rec *all)
{
	size_t nall = 0;

	for (size_t i = 0; i < nd; i++)
		for (long k = 0; k < (keep_addr(a[i] + 1, a[i][0]) ? 1 : copies); k++) {
			memcpy(all[nall], a[i], sizeof(addr_rec));
			if (!move_addr(all[nall++] + 1, a[i][0], k))
				return 0;
		}
	qsort(all, nall, sizeof(*all), cmp_rec);
	for (size_t i = 1; i < nall; i++)
		if (!cmp_rec(all[i - 1], all[i]))
			return 0;
	return 1;
}

/* Collects the distinct addresses of family alen (4 or 16) and picks its shift. */
static int pick_shift(const struct frame *fr, size_t n, long copies, int alen)
{
	addr_rec *a = NULL, *all = NULL;
	size_t na = 0, cap = 0, nd = 0;
	int fam = alen == 16, ok = 0;

	for (size_t i = 0; i < n; i++)
		for (int j = 0; j < fr[i].n_ip; j++)
			for (int e = 0; e < 2 && (fr[i].ip[j].ver == 4 ? 4 : 16) == alen; e++) {
				const struct ip_site *s = &fr[i].ip[j];

				if (na == cap && !(a = realloc(a, (cap = cap ? 2 * cap : 256) * sizeof(*a)))) {
					fprintf(stderr, "tile_pcap: out of memory\n");
					return 0;
				}
				memset(a[na], 0, sizeof(addr_rec));
				a[na][0] = (u_char)alen;
				memcpy(a[na] + 1, fr[i].data + s->off + (alen == 4 ? 12 : 8) + e * alen, alen);
				na++;
			}
	if (!na)
		return 1;
	qsort(a, na, sizeof(*a), cmp_rec);
	for (size_t i = 0; i < na; i++)
		if (!nd || cmp_rec(a[nd - 1], a[i]))
			memcpy(a[nd++], a[i], sizeof(addr_rec));
	if (!(all = malloc((nd * (size_t)copies + 1) * sizeof(*all)))) {
		fprintf(stderr, "tile_pcap: out of memory\n");
		return 0;
	}
	for (int c = 0; c < 3 && !ok; c++)
		shift[fam] = shift_candidates[fam][c], ok = copies_apart(a, nd, copies, all);
	if (!ok)
		fprintf(stderr, "tile_pcap: no shift keeps the IPv%d hosts of %ld copies apart\n",
			alen == 4 ? 4 : 6, copies);
	free(a), free(all);
	return ok;
}

int main(int argc, char **argv)
{
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	struct frame *fr = NULL;
	struct counts c = {0};
	size_t n = 0, cap = 0, maxlen = 0;
	long long t = 0, prev = -1;
	long copies;
	int rc;
	pcap_dumper_t *out;
	u_char *buf;
	pcap_t *in;

	if (argc != 4 || (copies = atol(argv[3])) < 1 || copies > 65535) {
		fprintf(stderr, "usage: tile_pcap IN OUT COPIES (1..65535)\n");
		return 2;
	}
	in = pcap_open_offline(argv[1], err);
	if (!in) {
		fprintf(stderr, "tile_pcap: %s\n", err);
		return 1;
	}
	while ((rc = pcap_next_ex(in, &h, &data)) == 1) {
		long long us = (long long)h->ts.tv_sec * 1000000 + h->ts.tv_usec;

		if (n == cap) {
			cap = cap ? 2 * cap : 1024;
			fr = realloc(fr, cap * sizeof(*fr));
		}
		if (!fr || !(fr[n].data = malloc(h->caplen ? h->caplen : 1))) {
			fprintf(stderr, "tile_pcap: out of memory\n");
			return 1;
		}
		/* relative stamps with long gaps (and backward jumps) cut to MAX_GAP_US */
		if (prev >= 0)
			t += us < prev ? 0 : (us - prev > MAX_GAP_US ? MAX_GAP_US : us - prev);
		prev = us;
		fr[n].h = *h;
		fr[n].h.ts.tv_sec = (time_t)(t / 1000000);
		fr[n].h.ts.tv_usec = (suseconds_t)(t % 1000000);
		memcpy(fr[n].data, data, h->caplen);
		parse_frame(&fr[n], pcap_datalink(in), &c);
		if (h->caplen > maxlen)
			maxlen = h->caplen;
		n++;
	}
	if (rc == PCAP_ERROR) {
		fprintf(stderr, "tile_pcap: %s: %s\n", argv[1], pcap_geterr(in));
		return 1;
	}
	if (!pick_shift(fr, n, copies, 4) || !pick_shift(fr, n, copies, 16))
		return 1;
	out = pcap_dump_open(in, argv[2]);
	if (!out || !(buf = malloc(maxlen + 1))) {
		fprintf(stderr, "tile_pcap: %s\n", out ? "out of memory" : pcap_geterr(in));
		return 1;
	}
	for (long k = 0; k < copies; k++) {
		long long base = 1600000000LL * 1000000 + k * (t + COPY_GAP_US);

		for (size_t i = 0; i < n; i++) {
			struct pcap_pkthdr hh = fr[i].h;
			long long us = base + (long long)hh.ts.tv_sec * 1000000 + hh.ts.tv_usec;

			hh.ts.tv_sec = (time_t)(us / 1000000);
			hh.ts.tv_usec = (suseconds_t)(us % 1000000);
			memcpy(buf, fr[i].data, hh.caplen);
			rewrite(buf, &fr[i], k);
			pcap_dump((u_char *)out, &hh, buf);
		}
	}
	if (pcap_dump_flush(out)) {
		fprintf(stderr, "tile_pcap: %s: write failed\n", argv[2]);
		return 1;
	}
	pcap_dump_close(out);
	pcap_close(in);
	for (size_t i = 0; i < n; i++)
		free(fr[i].data);
	free(fr), free(buf);
	printf("frames %llu copies %ld rewritten %ld other %ld unparsable %ld gtpc %ld shift %d/%d\n",
	       (unsigned long long)(n * (size_t)copies), copies, c.rewritten, c.other, c.unparsable,
	       c.gtpc, shift[0], shift[1]);
	return 0;
}
