/* gen_bench_pcap.c - deterministic benchmark capture: GTPv2-C sessions then GTP-U traffic.
 *
 * TS 29.274 (GTPv2-C Create Session / Modify Bearer on S11), TS 29.281 (GTP-U T-PDU).
 *
 *   gen_bench_pcap [-o FILE] [-n FRAMES] [-s SUBSCRIBERS] [-c CONCURRENT] [-S SEED]
 *                  [-m uniform|mobile]
 *
 * Writes a classic pcap (Ethernet, microsecond stamps) by hand. First, per subscriber, a
 * Create Session Request/Response (IMSI, MSISDN, MEI, APN, RAT, PAA, S11 and S1-U F-TEIDs)
 * and a Modify Bearer Request/Response with the eNodeB F-TEID, so a subscriber-aware probe
 * can attribute every tunnel. Then GTP-U frames (eNB <-> SGW-U) carrying inner flows of the
 * UEs, CONCURRENT flows interleaved at a time, each a real conversation:
 *   TLS   TCP handshake, ClientHello with SNI, ServerHello, bulk application data, FIN
 *   HTTP  handshake, GET with Host, 200 response, bulk body, FIN
 *   DNS   query + response with an A record
 *   BULK  TCP to port 5001 with uplink payload only (no recognisable protocol)
 *   QUIC  UDP 443 datagrams with a QUIC-like long header first, then short headers
 * Frames are spaced 100 us apart. Same arguments => byte-identical file.
 *
 * Flow-size mix (-m):
 *   uniform (default, the figures before the mix existed): flow kinds by share of flows
 *     TLS 35 %, HTTP 10 %, DNS 30 %, BULK 10 %, QUIC 15 %; lengths uniform: TLS 11-48 packets,
 *     HTTP 9-38, BULK 13-48, QUIC 4-40, DNS 2 (mean ~19). Every frame goes to one of the
 *     CONCURRENT active flows picked uniformly.
 *   mobile: heavy-tailed, as in mobile networks where most flows are short (DNS, small HTTPS)
 *     but most packets belong to a few long ones (video, downloads, updates). Same kinds and
 *     shares; the bulk phase of TLS, HTTP, BULK and QUIC (the packets after the handshake,
 *     before the FIN exchange) has a bounded Pareto length: alpha 1.2, 3 to 30000 packets
 *     (median ~5, flow-weighted mean ~15, packet-weighted mean ~1400). So TLS/HTTP/BULK
 *     flows have 8 + B packets, QUIC 1 + B, DNS 2. A long flow also sends faster: the active
 *     flow is picked with probability proportional to ceil(total / 16), so flows of thousands
 *     of packets finish within the capture instead of trickling one packet per round.
 *   Both mixes are deterministic for a given seed.
 * Prints frames, subscribers, flows and the flow-weighted and packet-weighted mean flow length
 * (packets emitted per flow; flows still open at the end count what they sent) on stdout.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_FRAME 1600
#define SGW_C 0x0a0a0002u /* 10.10.0.2 */
#define MME   0x0a0a0001u /* 10.10.0.1 */
#define SGW_U 0x0a140002u /* 10.20.0.2 */
#define ENB0  0x0a1e0001u /* 10.30.0.1 + (sub % 64) */
#define UE0   0x64400000u /* 100.64.0.0 + sub */

enum flow_kind { K_TLS, K_HTTP, K_DNS, K_BULK, K_QUIC };

struct flow {
	uint32_t sub;
	uint8_t kind;
	uint8_t sni;
	uint16_t cport, sport;
	uint32_t server;
	uint32_t cseq, sseq;
	uint32_t idx, total;
};

enum mix { MIX_UNIFORM, MIX_MOBILE };
static enum mix mix = MIX_UNIFORM;

/* Bounded Pareto (mobile mix bulk phase): inverse CDF, alpha 1.2 on [3, 30000]. */
#define BP_ALPHA 1.2
#define BP_MIN 3.0
#define BP_MAX 30000.0

static const char *const names[] = {
	"www.google.com", "www.youtube.com", "www.netflix.com", "www.facebook.com",
	"web.whatsapp.com", "api.twitter.com", "www.amazon.com", "www.wikipedia.org",
	"www.instagram.com", "open.spotify.com", "www.linkedin.com", "www.tiktok.com",
	"outlook.office365.com", "www.apple.com", "github.com", "www.reddit.com",
};
#define NNAMES (sizeof(names) / sizeof(names[0]))

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static uint32_t rnd_range(uint32_t lo, uint32_t hi) /* [lo, hi] */
{
	return lo + (uint32_t)(rnd() % (hi - lo + 1));
}

static uint32_t bpareto(void)
{
	double u = (double)(rnd() >> 11) / 9007199254740992.0; /* [0, 1) */
	double tail = pow(BP_MIN / BP_MAX, BP_ALPHA);
	double x = BP_MIN / pow(1.0 - u * (1.0 - tail), 1.0 / BP_ALPHA);

	return x > BP_MAX ? (uint32_t)BP_MAX : (uint32_t)x;
}

static FILE *out;
static uint64_t ts_us = 1700000000ULL * 1000000;
static uint64_t nframes;
static uint16_t ip_ident;

static void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v; }
static void put32(uint8_t *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = v; p[1] = v >> 8; p[2] = v >> 16; p[3] = v >> 24;
}

static uint16_t ip_csum(const uint8_t *p, int len)
{
	uint32_t s = 0;

	for (int i = 0; i < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* IPv4 header at p for a payload of len bytes; returns 20. */
static int ip4_hdr(uint8_t *p, uint32_t src, uint32_t dst, uint8_t proto, int len)
{
	p[0] = 0x45; p[1] = 0;
	put16(p + 2, (uint16_t)(20 + len));
	put16(p + 4, ip_ident++);
	put16(p + 6, 0x4000);
	p[8] = 64; p[9] = proto;
	put16(p + 10, 0);
	put32(p + 12, src);
	put32(p + 16, dst);
	put16(p + 10, ip_csum(p, 20));
	return 20;
}

static void write_frame(const uint8_t *f, uint32_t len)
{
	uint8_t h[16];

	put_le32(h, (uint32_t)(ts_us / 1000000));
	put_le32(h + 4, (uint32_t)(ts_us % 1000000));
	put_le32(h + 8, len);
	put_le32(h + 12, len);
	fwrite(h, 1, 16, out);
	fwrite(f, 1, len, out);
	ts_us += 100;
	nframes++;
}

/* Ethernet + IPv4 + UDP around payload (already at f + 42); returns the frame length. */
static uint32_t wrap_udp(uint8_t *f, uint32_t src, uint32_t dst, uint16_t sp, uint16_t dp,
			 int plen)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1 };

	memcpy(f, macs, 12);
	put16(f + 12, 0x0800);
	ip4_hdr(f + 14, src, dst, 17, 8 + plen);
	put16(f + 34, sp);
	put16(f + 36, dp);
	put16(f + 38, (uint16_t)(8 + plen));
	put16(f + 40, 0);
	return (uint32_t)(42 + plen);
}

/* --- GTPv2-C ------------------------------------------------------------------------------ */

static int ie(uint8_t *p, uint8_t type, uint8_t inst, const uint8_t *v, int len)
{
	p[0] = type;
	put16(p + 1, (uint16_t)len);
	p[3] = inst;
	memcpy(p + 4, v, (size_t)len);
	return 4 + len;
}

static int tbcd(uint8_t *p, const char *d)
{
	int n = 0;

	for (size_t i = 0; d[i]; i += 2) {
		uint8_t lo = (uint8_t)(d[i] - '0');
		uint8_t hi = d[i + 1] ? (uint8_t)(d[i + 1] - '0') : 0xf;

		p[n++] = (uint8_t)(hi << 4 | lo);
		if (!d[i + 1])
			break;
	}
	return n;
}

static int fteid(uint8_t *p, uint8_t inst, uint8_t iface, uint32_t teid, uint32_t addr)
{
	uint8_t v[9];

	v[0] = 0x80 | iface;
	put32(v + 1, teid);
	put32(v + 5, addr);
	return ie(p, 87, inst, v, 9);
}

static int ie_u8(uint8_t *p, uint8_t type, uint8_t v)
{
	return ie(p, type, 0, &v, 1);
}

static int cause(uint8_t *p)
{
	static const uint8_t v[2] = { 16, 0 };

	return ie(p, 2, 0, v, 2);
}

/* GTPv2 header with TEID; body already at p + 12; returns total length. */
static int gtpv2_hdr(uint8_t *p, uint8_t type, uint32_t teid, uint32_t seq, int body)
{
	p[0] = 0x48;
	p[1] = type;
	put16(p + 2, (uint16_t)(8 + body));
	put32(p + 4, teid);
	put32(p + 8, seq << 8);
	return 12 + body;
}

static void control_plane(uint32_t sub)
{
	uint8_t f[MAX_FRAME], v[64], *g = f + 42, *b;
	char d[20];
	int n, m;
	uint32_t mme_teid = 0x30000000u + sub, sgw_teid = 0x40000000u + sub;
	uint32_t seq = sub * 2 + 1;
	uint32_t enb = ENB0 + (sub % 64);

	/* Create Session Request */
	b = g + 12;
	n = 0;
	snprintf(d, sizeof(d), "00101%010u", sub + 1);
	n += ie(b + n, 1, 0, v, tbcd(v, d));
	snprintf(d, sizeof(d), "4917%08u", sub + 1);
	n += ie(b + n, 76, 0, v, tbcd(v, d));
	snprintf(d, sizeof(d), "35209900%08u", sub + 1);
	n += ie(b + n, 75, 0, v, tbcd(v, d));
	n += ie_u8(b + n, 82, 6);                               /* RAT EUTRAN */
	n += fteid(b + n, 0, 10, mme_teid, MME);                /* S11 MME */
	static const uint8_t apn[] = { 8, 'i', 'n', 't', 'e', 'r', 'n', 'e', 't' };
	n += ie(b + n, 71, 0, apn, sizeof(apn));
	n += ie_u8(b + n, 99, 1);                               /* PDN type IPv4 */
	static const uint8_t paa0[5] = { 1, 0, 0, 0, 0 };
	n += ie(b + n, 79, 0, paa0, 5);
	m = ie_u8(v, 73, 5);                                    /* bearer ctx: EBI 5 */
	n += ie(b + n, 93, 0, v, m);
	write_frame(f, wrap_udp(f, MME, SGW_C, 2123, 2123,
				gtpv2_hdr(g, 32, 0, seq, n)));

	/* Create Session Response */
	n = 0;
	n += cause(b + n);
	n += fteid(b + n, 0, 11, sgw_teid, SGW_C);              /* S11 SGW */
	v[0] = 1;
	put32(v + 1, UE0 + sub);
	n += ie(b + n, 79, 0, v, 5);                            /* PAA */
	m = ie_u8(v, 73, 5);
	m += cause(v + m);
	m += fteid(v + m, 0, 1, 0x10000000u + sub, SGW_U);      /* S1-U SGW */
	n += ie(b + n, 93, 0, v, m);
	write_frame(f, wrap_udp(f, SGW_C, MME, 2123, 2123,
				gtpv2_hdr(g, 33, mme_teid, seq, n)));

	/* Modify Bearer Request: eNB S1-U F-TEID */
	n = 0;
	m = ie_u8(v, 73, 5);
	m += fteid(v + m, 0, 0, 0x20000000u + sub, enb);
	n += ie(b + n, 93, 0, v, m);
	write_frame(f, wrap_udp(f, MME, SGW_C, 2123, 2123,
				gtpv2_hdr(g, 34, sgw_teid, seq + 1, n)));
	n = 0;
	n += cause(b + n);
	write_frame(f, wrap_udp(f, SGW_C, MME, 2123, 2123,
				gtpv2_hdr(g, 35, mme_teid, seq + 1, n)));
}

/* --- inner payloads ----------------------------------------------------------------------- */

static int client_hello(uint8_t *p, const char *sni)
{
	int sl = (int)strlen(sni), n = 0, ext, hs;
	static const uint8_t ciphers[] = { 0x13, 0x01, 0x13, 0x02, 0x13, 0x03, 0xc0, 0x2b, 0xc0, 0x2f };

	p[n++] = 0x16; p[n++] = 3; p[n++] = 1; n += 2;          /* record, length later */
	p[n++] = 1; n += 3;                                     /* ClientHello, length later */
	hs = n;
	p[n++] = 3; p[n++] = 3;
	for (int i = 0; i < 32; i++)
		p[n++] = (uint8_t)i;
	p[n++] = 0;                                             /* session id */
	put16(p + n, sizeof(ciphers)); n += 2;
	memcpy(p + n, ciphers, sizeof(ciphers)); n += sizeof(ciphers);
	p[n++] = 1; p[n++] = 0;                                 /* compression null */
	ext = n; n += 2;
	put16(p + n, 0); put16(p + n + 2, (uint16_t)(sl + 5));  /* server_name */
	put16(p + n + 4, (uint16_t)(sl + 3)); p[n + 6] = 0;
	put16(p + n + 7, (uint16_t)sl);
	memcpy(p + n + 9, sni, (size_t)sl);
	n += 9 + sl;
	put16(p + n, 10); put16(p + n + 2, 4); put16(p + n + 4, 2); put16(p + n + 6, 29);
	n += 8;                                                 /* supported_groups x25519 */
	put16(p + n, 43); put16(p + n + 2, 3); p[n + 4] = 2; put16(p + n + 5, 0x0304);
	n += 7;                                                 /* supported_versions 1.3 */
	put16(p + ext, (uint16_t)(n - ext - 2));
	p[hs - 3] = 0;
	put16(p + hs - 2, (uint16_t)(n - hs));
	put16(p + 3, (uint16_t)(n - 5));
	return n;
}

static int server_hello(uint8_t *p)
{
	int n = 0;

	p[n++] = 0x16; p[n++] = 3; p[n++] = 3; put16(p + n, 44); n += 2;
	p[n++] = 2; p[n++] = 0; put16(p + n, 40); n += 2;
	p[n++] = 3; p[n++] = 3;
	for (int i = 0; i < 32; i++)
		p[n++] = (uint8_t)(0x40 + i);
	p[n++] = 0;
	p[n++] = 0x13; p[n++] = 0x01; p[n++] = 0;
	put16(p + n, 0); n += 2;                                /* no extensions: 40 bytes */
	p[n++] = 0x14; p[n++] = 3; p[n++] = 3; p[n++] = 0; p[n++] = 1; p[n++] = 1;
	return n;
}

static int app_data(uint8_t *p, int len)
{
	p[0] = 0x17; p[1] = 3; p[2] = 3;
	put16(p + 3, (uint16_t)(len - 5));
	memset(p + 5, 0xa5, (size_t)(len - 5));
	return len;
}

static int dns_name(uint8_t *p, const char *name)
{
	int n = 0;
	const char *s = name;

	while (*s) {
		const char *dot = strchr(s, '.');
		int l = dot ? (int)(dot - s) : (int)strlen(s);

		p[n++] = (uint8_t)l;
		memcpy(p + n, s, (size_t)l);
		n += l;
		s += l + (dot ? 1 : 0);
	}
	p[n++] = 0;
	return n;
}

static int dns_msg(uint8_t *p, uint16_t id, const char *name, int answer, uint32_t addr)
{
	int n = 12;

	put16(p, id);
	put16(p + 2, answer ? 0x8180 : 0x0100);
	put16(p + 4, 1);
	put16(p + 6, answer ? 1 : 0);
	put16(p + 8, 0);
	put16(p + 10, 0);
	n += dns_name(p + n, name);
	put16(p + n, 1); put16(p + n + 2, 1); n += 4;
	if (answer) {
		put16(p + n, 0xc00c); put16(p + n + 2, 1); put16(p + n + 4, 1);
		put32(p + n + 6, 300); put16(p + n + 10, 4); put32(p + n + 12, addr);
		n += 16;
	}
	return n;
}

/* --- flows -------------------------------------------------------------------------------- */

static void flow_new(struct flow *fl, uint32_t nsubs)
{
	uint32_t r = rnd_range(0, 99);

	memset(fl, 0, sizeof(*fl));
	fl->sub = rnd_range(0, nsubs - 1);
	fl->sni = (uint8_t)rnd_range(0, NNAMES - 1);
	fl->cport = (uint16_t)rnd_range(10000, 60000);
	fl->server = 0x8e000000u | (uint32_t)(fl->sni << 16) | rnd_range(1, 250);
	fl->cseq = (uint32_t)rnd();
	fl->sseq = (uint32_t)rnd();
	if (r < 35) {
		fl->kind = K_TLS; fl->sport = 443; fl->total = 8 + rnd_range(3, 40);
	} else if (r < 45) {
		fl->kind = K_HTTP; fl->sport = 80; fl->total = 8 + rnd_range(1, 30);
	} else if (r < 75) {
		fl->kind = K_DNS; fl->sport = 53; fl->total = 2; fl->server = 0x08080808u;
	} else if (r < 85) {
		fl->kind = K_BULK; fl->sport = 5001; fl->total = 8 + rnd_range(5, 40);
	} else {
		fl->kind = K_QUIC; fl->sport = 443; fl->total = rnd_range(4, 40);
	}
	/* The uniform draws above are kept (same random sequence for the other fields); the
	 * mobile mix replaces the length with a heavy-tailed one. */
	if (mix == MIX_MOBILE && fl->kind != K_DNS)
		fl->total = (fl->kind == K_QUIC ? 1 : 8) + bpareto();
}

/* TCP segment into p (inner IP start); returns the inner length. */
static int tcp_seg(uint8_t *p, struct flow *fl, int up, uint8_t flags, const uint8_t *data,
		   int dlen, int fill)
{
	uint32_t ue = UE0 + fl->sub;
	uint8_t *t = p + 20;

	ip4_hdr(p, up ? ue : fl->server, up ? fl->server : ue, 6, 20 + dlen);
	put16(t, up ? fl->cport : fl->sport);
	put16(t + 2, up ? fl->sport : fl->cport);
	put32(t + 4, up ? fl->cseq : fl->sseq);
	put32(t + 8, (flags & 0x10) ? (up ? fl->sseq : fl->cseq) : 0);
	t[12] = 5 << 4;
	t[13] = flags;
	put16(t + 14, 65535);
	put16(t + 16, 0);
	put16(t + 18, 0);
	if (data)
		memcpy(t + 20, data, (size_t)dlen);
	else if (dlen)
		memset(t + 20, fill, (size_t)dlen);
	uint32_t adv = (uint32_t)dlen + ((flags & 0x03) ? 1 : 0); /* SYN or FIN */

	if (up)
		fl->cseq += adv;
	else
		fl->sseq += adv;
	return 40 + dlen;
}

static int udp_dgram(uint8_t *p, struct flow *fl, int up, const uint8_t *data, int dlen)
{
	uint32_t ue = UE0 + fl->sub;
	uint8_t *u = p + 20;

	ip4_hdr(p, up ? ue : fl->server, up ? fl->server : ue, 17, 8 + dlen);
	put16(u, up ? fl->cport : fl->sport);
	put16(u + 2, up ? fl->sport : fl->cport);
	put16(u + 4, (uint16_t)(8 + dlen));
	put16(u + 6, 0);
	memcpy(u + 8, data, (size_t)dlen);
	return 28 + dlen;
}

/* Builds the next packet of fl into p; *up gets the direction. Returns the inner length. */
static int flow_next(struct flow *fl, uint8_t *p, int *up)
{
	uint8_t pl[1500];
	uint32_t i = fl->idx++, end = fl->total;
	int n;

	if (fl->kind == K_DNS) {
		*up = i == 0;
		n = dns_msg(pl, (uint16_t)(fl->cport ^ fl->sub), names[fl->sni], !*up,
			    0x8e000000u | (uint32_t)(fl->sni << 16) | 1);
		return udp_dgram(p, fl, *up, pl, n);
	}
	if (fl->kind == K_QUIC) {
		*up = (i % 2) == 0;
		n = i == 0 ? 1200 : (int)rnd_range(40, 1300);
		memset(pl, 0x5a, (size_t)n);
		if (i == 0) {
			pl[0] = 0xc3; pl[1] = 0; pl[2] = 0; pl[3] = 0; pl[4] = 1; pl[5] = 8;
		} else {
			pl[0] = 0x40;
		}
		return udp_dgram(p, fl, *up, pl, n);
	}
	switch (i) {
	case 0: *up = 1; return tcp_seg(p, fl, 1, 0x02, NULL, 0, 0);
	case 1: *up = 0; return tcp_seg(p, fl, 0, 0x12, NULL, 0, 0);
	case 2: *up = 1; return tcp_seg(p, fl, 1, 0x10, NULL, 0, 0);
	case 3:
		*up = 1;
		if (fl->kind == K_TLS)
			n = client_hello(pl, names[fl->sni]);
		else if (fl->kind == K_HTTP)
			n = snprintf((char *)pl, sizeof(pl), "GET / HTTP/1.1\r\nHost: %s\r\n"
				     "User-Agent: gen_bench_pcap\r\nAccept: */*\r\n\r\n",
				     names[fl->sni]);
		else
			return tcp_seg(p, fl, 1, 0x18, NULL, 1200, 0x11);
		return tcp_seg(p, fl, 1, 0x18, pl, n, 0);
	case 4:
		*up = 0;
		if (fl->kind == K_TLS)
			return tcp_seg(p, fl, 0, 0x18, pl, server_hello(pl), 0);
		if (fl->kind == K_HTTP) {
			n = snprintf((char *)pl, sizeof(pl), "HTTP/1.1 200 OK\r\nContent-Type: "
				     "application/octet-stream\r\nContent-Length: 100000\r\n\r\n");
			memset(pl + n, 0x33, 1000);
			return tcp_seg(p, fl, 0, 0x18, pl, n + 1000, 0);
		}
		return tcp_seg(p, fl, 0, 0x10, NULL, 0, 0);
	default:
		break;
	}
	if (i == end - 3) {
		*up = 1;
		return tcp_seg(p, fl, 1, 0x11, NULL, 0, 0);
	}
	if (i == end - 2) {
		*up = 0;
		return tcp_seg(p, fl, 0, 0x11, NULL, 0, 0);
	}
	if (i == end - 1) {
		*up = 1;
		return tcp_seg(p, fl, 1, 0x10, NULL, 0, 0);
	}
	/* bulk phase: data one way, every third packet an ACK the other way */
	int data_up = fl->kind == K_BULK;

	if ((i - 5) % 3 == 2) {
		*up = !data_up;
		return tcp_seg(p, fl, *up, 0x10, NULL, 0, 0);
	}
	*up = data_up;
	n = (int)rnd_range(600, 1400);
	if (fl->kind == K_TLS)
		return tcp_seg(p, fl, *up, 0x18, pl, app_data(pl, n), 0);
	return tcp_seg(p, fl, *up, 0x18, NULL, n, 0x44);
}

static void gtpu_frame(uint8_t *f, struct flow *fl)
{
	int up, n = flow_next(fl, f + 50, &up);
	uint32_t sub = fl->sub, enb = ENB0 + (sub % 64);
	uint8_t *g = f + 42;

	g[0] = 0x30;
	g[1] = 0xff;
	put16(g + 2, (uint16_t)n);
	put32(g + 4, up ? 0x10000000u + sub : 0x20000000u + sub);
	write_frame(f, wrap_udp(f, up ? enb : SGW_U, up ? SGW_U : enb, 2152, 2152, 8 + n));
}

static void usage(void)
{
	fprintf(stderr, "usage: gen_bench_pcap [-o FILE] [-n FRAMES] [-s SUBSCRIBERS] "
		"[-c CONCURRENT] [-S SEED] [-m uniform|mobile]\n");
	exit(2);
}

/* Mobile mix: a Fenwick tree over the active slots' weights, so a slot is drawn with
 * probability weight / sum in O(log n). */
static uint64_t *fen;
static unsigned long fen_n;
static uint64_t fen_total;

static uint64_t flow_weight(const struct flow *fl)
{
	return (fl->total + 15) / 16;
}

static void fen_add(unsigned long i, int64_t d)
{
	fen_total += (uint64_t)d;
	for (i++; i <= fen_n; i += i & -i)
		fen[i] += (uint64_t)d;
}

static unsigned long fen_find(uint64_t r) /* smallest slot whose prefix sum exceeds r */
{
	unsigned long pos = 0, step = 1;

	while (step * 2 <= fen_n)
		step *= 2;
	for (; step; step /= 2)
		if (pos + step <= fen_n && fen[pos + step] <= r) {
			pos += step;
			r -= fen[pos];
		}
	return pos;
}

/* Packets each flow emitted: sums for the flow- and packet-weighted mean length. */
static double sum_n, sum_n2;

static void flow_count(const struct flow *fl)
{
	sum_n += fl->idx;
	sum_n2 += (double)fl->idx * fl->idx;
}

int main(int argc, char **argv)
{
	const char *path = "bench.pcap";
	unsigned long nf = 1000000, ns = 10000, nc = 4000, seed = 1;
	uint8_t f[MAX_FRAME + 64];
	uint8_t hdr[24];
	struct flow *act;
	uint64_t flows = 0;
	int opt;

	while ((opt = getopt(argc, argv, "o:n:s:c:S:m:h")) != -1) {
		switch (opt) {
		case 'm':
			if (!strcmp(optarg, "uniform"))
				mix = MIX_UNIFORM;
			else if (!strcmp(optarg, "mobile"))
				mix = MIX_MOBILE;
			else
				usage();
			break;
		case 'o': path = optarg; break;
		case 'n': nf = strtoul(optarg, NULL, 10); break;
		case 's': ns = strtoul(optarg, NULL, 10); break;
		case 'c': nc = strtoul(optarg, NULL, 10); break;
		case 'S': seed = strtoul(optarg, NULL, 10); break;
		default: usage();
		}
	}
	if (!ns || !nc || nf < ns * 4)
		usage();
	rng_state = 0x9E3779B97F4A7C15ULL ^ (seed * 0x100000001B3ULL);
	out = fopen(path, "wb");
	if (!out) {
		fprintf(stderr, "gen_bench_pcap: %s: %s\n", path, strerror(errno));
		return 1;
	}
	setvbuf(out, NULL, _IOFBF, 1 << 20);
	put_le32(hdr, 0xa1b2c3d4);
	hdr[4] = 2; hdr[5] = 0; hdr[6] = 4; hdr[7] = 0;
	memset(hdr + 8, 0, 8);
	put_le32(hdr + 16, 65535);
	put_le32(hdr + 20, 1);
	fwrite(hdr, 1, 24, out);

	for (uint32_t s = 0; s < ns; s++)
		control_plane(s);
	act = calloc(nc, sizeof(*act));
	if (!act)
		return 1;
	fen_n = nc;
	fen = calloc(nc + 1, sizeof(*fen));
	if (!fen)
		return 1;
	for (unsigned long i = 0; i < nc; i++, flows++) {
		flow_new(&act[i], (uint32_t)ns);
		fen_add(i, (int64_t)flow_weight(&act[i]));
	}
	while (nframes < nf) {
		unsigned long slot = mix == MIX_UNIFORM ? rnd() % nc : fen_find(rnd() % fen_total);
		struct flow *fl = &act[slot];

		gtpu_frame(f, fl);
		if (fl->idx >= fl->total) {
			int64_t w = (int64_t)flow_weight(fl);

			flow_count(fl);
			flow_new(fl, (uint32_t)ns);
			flows++;
			fen_add(slot, (int64_t)flow_weight(fl) - w);
		}
	}
	for (unsigned long i = 0; i < nc; i++)
		flow_count(&act[i]); /* still open at the end: what they sent */
	free(act);
	free(fen);
	if (fclose(out)) {
		fprintf(stderr, "gen_bench_pcap: %s: %s\n", path, strerror(errno));
		return 1;
	}
	printf("frames %llu subscribers %lu flows %llu mix %s mean_flow_pkts %.1f "
	       "pkt_weighted_mean_flow_pkts %.1f\n", (unsigned long long)nframes, ns,
	       (unsigned long long)flows, mix == MIX_UNIFORM ? "uniform" : "mobile",
	       flows ? sum_n / flows : 0, sum_n ? sum_n2 / sum_n : 0);
	return 0;
}
