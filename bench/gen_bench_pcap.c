/* gen_bench_pcap.c - deterministic benchmark capture: GTPv2-C sessions then GTP-U traffic.
 *
 * TS 29.274 (GTPv2-C Create Session / Modify Bearer on S11), TS 29.281 (GTP-U T-PDU).
 *
 *   gen_bench_pcap [-o FILE] [-n FRAMES] [-s SUBSCRIBERS] [-c CONCURRENT] [-S SEED]
 *                  [-m uniform|mobile|short]
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
 *   QUIC  UDP 443: uniform mix, a QUIC-like long header (not decodable) then short headers;
 *         mobile mix, real QUIC v1 (RFC 9000/9001): a client Initial protected with the
 *         Initial keys of its DCID, carrying a TLS 1.3 ClientHello (SNI, ALPN h3,
 *         supported_versions, key_share, quic_transport_parameters) padded to 1200 bytes; the
 *         server's Initial (ServerHello, also protected) coalesced with an opaque Handshake
 *         packet; the client's opaque Handshake packet; then 1-RTT short-header packets of
 *         opaque bytes (data downlink, every third packet a small uplink one). tshark and nDPI
 *         decrypt the Initial and read the SNI as on a live network. The uniform mix keeps
 *         the QUIC-like bytes so that its capture stays byte-identical to earlier figures.
 * Frames are spaced 100 us apart. Same arguments => byte-identical file.
 * Needs OpenSSL libcrypto (HKDF-SHA256, AES-128-GCM, AES-128-ECB): cc ... -lm -lcrypto.
 * gen_bench_pcap --selftest checks the QUIC Initial key derivation and packet protection
 * against the test vectors of RFC 9001 Appendix A and exits 0 when they match.
 *
 * Flow-size mix (-m):
 *   uniform (default, the figures before the mix existed): flow kinds by share of flows
 *     TLS 35 %, HTTP 10 %, DNS 30 %, BULK 10 %, QUIC 15 %; lengths uniform: TLS 11-48 packets,
 *     HTTP 9-38, BULK 13-48, QUIC 4-40, DNS 2 (mean ~19). Every frame goes to one of the
 *     CONCURRENT active flows picked uniformly.
 *   mobile: heavy-tailed, calibrated to published measurements. CAIDA ("Internet myths",
 *     2002, https://www.caida.org/catalog/media/2001_myths2002/mgp00016.txt): "most flows on
 *     the left, most packets on the right; boundary ~300 packets; 50% of packets are in flows
 *     with > 8192 packets", i.e. most flows are a handful of packets while most packets
 *     belong to flows of more than 300; today's mobile traffic is dominated by video
 *     streaming, which only lengthens the long flows. Targets for the default 1M-frame
 *     capture: median flow <= 10 packets, >= 50 % of packets in flows > 300 packets, a third
 *     to a half of them in flows > 8192. Same kinds and shares as uniform; the bulk phase of
 *     TLS, HTTP, BULK and QUIC (the packets after the handshake, before the FIN exchange) has
 *     a bounded Pareto length B, alpha 0.75 on [1, 100000] packets (median 2). TLS/HTTP/BULK
 *     flows have 8 + B packets, QUIC 1 + B, DNS 2. A long flow also sends faster: the active
 *     flow is picked with probability proportional to ceil(total / 16), so flows of thousands
 *     of packets finish within the capture instead of trickling one packet per round.
 *     Seed 1, 1M frames: 29016 flows, median 8 packets, 69.4 % of packets in flows > 300,
 *     43.2 % in flows > 8192 (seeds 2-4: median 7-8, 69-76 %, 39-50 %). QUIC flows are real
 *     QUIC v1 (above).
 *   short: many short flows (a resolver's and a scanner's view): the uniform mix's kinds and
 *     draws, then every flow cut to 1-3 packets: DNS a query, with its answer two times out
 *     of three; TCP a SYN, SYN + SYN-ACK or the full handshake, never any payload; QUIC one to
 *     three QUIC-like datagrams. Mean ~2 packets, so the flow table, the per-flow DPI setup and
 *     the record writer dominate, not the per-packet path.
 *   Every mix is deterministic for a given seed.
 * Prints frames, subscribers, flows, the flow-weighted and packet-weighted mean flow length,
 * the median flow length and the share of packets in flows longer than 300 and 8192 packets
 * (packets emitted per flow; flows still open at the end count what they sent) on stdout.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

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
	uint64_t qid; /* mobile QUIC: seed of the connection IDs and handshake bytes */
};

enum mix { MIX_UNIFORM, MIX_MOBILE, MIX_SHORT };
static enum mix mix = MIX_UNIFORM;

/* Bounded Pareto (mobile mix bulk phase): inverse CDF, alpha 0.75 on [1, 100000]. An alpha
 * below 1 puts most packets in the longest flows while most flows stay short (the CAIDA
 * calibration in the header comment); 0.75 keeps the share of packets in flows > 8192 between
 * a third and a half over seeds 1-4, where 0.8 fell to 28 % on one. */
#define BP_ALPHA 0.75
#define BP_MIN 1.0
#define BP_MAX 100000.0

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

/* --- QUIC v1 (mobile mix) ----------------------------------------------------------------- */
/*
 * A real client Initial (RFC 9000 17.2.2) so that DPI engines and tshark decrypt it exactly as
 * on a live network: the CRYPTO frame carries a TLS 1.3 ClientHello with SNI, ALPN h3 and
 * quic_transport_parameters, and the packet is protected with the Initial keys derived from
 * the client's Destination Connection ID (RFC 9001 5.2: HKDF-SHA256 with the v1 salt,
 * AES-128-GCM payload, AES-128-ECB header protection). Everything after it is opaque bytes
 * with plausible headers: nobody without the TLS secrets can read more of a real flow either.
 */

static const uint8_t quic_v1_salt[20] = {
	0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
	0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a,
};

struct quic_keys {
	uint8_t key[16], iv[12], hp[16];
};

static void crypto_fail(const char *what)
{
	fprintf(stderr, "gen_bench_pcap: OpenSSL %s failed\n", what);
	exit(1);
}

/* One HKDF step (RFC 5869) through OpenSSL's KDF: mode EXTRACT_ONLY needs salt and key
 * (out = PRK, 32 bytes); EXPAND_ONLY needs key (the PRK) and info. */
static void hkdf(int mode, const uint8_t *salt, size_t slen, const uint8_t *key, size_t klen,
		 const uint8_t *info, size_t ilen, uint8_t *out, size_t olen)
{
	static EVP_KDF *kdf;
	OSSL_PARAM par[6], *q = par;
	EVP_KDF_CTX *c;

	if (!kdf && !(kdf = EVP_KDF_fetch(NULL, "HKDF", NULL)))
		crypto_fail("HKDF fetch");
	c = EVP_KDF_CTX_new(kdf);
	if (!c)
		crypto_fail("HKDF context");
	*q++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	*q++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, klen);
	if (salt)
		*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, slen);
	if (info)
		*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, ilen);
	*q = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(c, out, olen, par) <= 0)
		crypto_fail("HKDF derive");
	EVP_KDF_CTX_free(c);
}

/* TLS 1.3 HKDF-Expand-Label (RFC 8446 7.1) with an empty context. */
static void hkdf_expand_label(const uint8_t secret[32], const char *label, uint8_t *out,
			      size_t len)
{
	uint8_t info[64];
	size_t ll = strlen(label), n = 0;

	put16(info, (uint16_t)len);
	n = 2;
	info[n++] = (uint8_t)(6 + ll);
	memcpy(info + n, "tls13 ", 6);
	memcpy(info + n + 6, label, ll);
	n += 6 + ll;
	info[n++] = 0;
	hkdf(EVP_KDF_HKDF_MODE_EXPAND_ONLY, NULL, 0, secret, 32, info, n, out, len);
}

/* Initial secrets of one side (RFC 9001 5.2); secret_out (32 bytes) may be NULL. */
static void quic_initial_keys(const uint8_t *dcid, size_t dlen, int server,
			      struct quic_keys *k, uint8_t *secret_out)
{
	uint8_t initial[32], secret[32];

	hkdf(EVP_KDF_HKDF_MODE_EXTRACT_ONLY, quic_v1_salt, sizeof(quic_v1_salt), dcid, dlen,
	     NULL, 0, initial, 32);
	hkdf_expand_label(initial, server ? "server in" : "client in", secret, 32);
	hkdf_expand_label(secret, "quic key", k->key, 16);
	hkdf_expand_label(secret, "quic iv", k->iv, 12);
	hkdf_expand_label(secret, "quic hp", k->hp, 16);
	if (secret_out)
		memcpy(secret_out, secret, 32);
}

/* AES-128-ECB of one block: the header-protection mask (RFC 9001 5.4.3). */
static void quic_hp_mask(const uint8_t hp[16], const uint8_t sample[16], uint8_t mask[16])
{
	static EVP_CIPHER_CTX *c;
	int l = 0;

	if (!c && !(c = EVP_CIPHER_CTX_new()))
		crypto_fail("cipher context");
	if (EVP_EncryptInit_ex(c, EVP_aes_128_ecb(), NULL, hp, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(c, 0) != 1 ||
	    EVP_EncryptUpdate(c, mask, &l, sample, 16) != 1 || l != 16)
		crypto_fail("AES-128-ECB");
}

/*
 * Protects a long-header packet in place: pkt[0, hlen) is the header ending with the
 * pn_len-byte packet number pn, pkt[hlen, hlen + plen) the plaintext payload. Encrypts with
 * AES-128-GCM (nonce = iv XOR pn, AAD = header), appends the 16-byte tag, then masks the
 * low 4 bits of the first byte and the packet number. Returns the packet length.
 */
static int quic_protect(uint8_t *pkt, int hlen, int pn_len, uint32_t pn, int plen,
			const struct quic_keys *k)
{
	static EVP_CIPHER_CTX *c;
	uint8_t nonce[12], mask[16];
	int l = 0, pn_off = hlen - pn_len;

	if (!c && !(c = EVP_CIPHER_CTX_new()))
		crypto_fail("cipher context");
	memcpy(nonce, k->iv, 12);
	for (int i = 0; i < 4; i++)
		nonce[11 - i] ^= (uint8_t)(pn >> (8 * i));
	if (EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), NULL, k->key, nonce) != 1 ||
	    EVP_EncryptUpdate(c, NULL, &l, pkt, hlen) != 1 ||
	    EVP_EncryptUpdate(c, pkt + hlen, &l, pkt + hlen, plen) != 1 || l != plen ||
	    EVP_EncryptFinal_ex(c, pkt + hlen + plen, &l) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, pkt + hlen + plen) != 1)
		crypto_fail("AES-128-GCM");
	/* the sample starts 4 bytes after the start of the packet number, whatever its length */
	quic_hp_mask(k->hp, pkt + pn_off + 4, mask);
	pkt[0] ^= mask[0] & 0x0f;
	for (int i = 0; i < pn_len; i++)
		pkt[pn_off + i] ^= mask[1 + i];
	return hlen + plen + 16;
}

static uint64_t mix64(uint64_t x) /* splitmix64 finaliser: independent streams from one seed */
{
	x += 0x9E3779B97F4A7C15ULL;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
	return x ^ (x >> 31);
}

/* n bytes that look random, from seed: CIDs, TLS randoms, key shares, ciphertext. Does not
 * touch the main generator, so each QUIC packet's bytes depend only on its flow. */
static void fill_rand(uint8_t *p, int n, uint64_t seed)
{
	for (int i = 0; i < n; i += 8) {
		uint64_t x = mix64(seed + (uint64_t)i);

		for (int j = 0; j < 8 && i + j < n; j++)
			p[i + j] = (uint8_t)(x >> (8 * j));
	}
}

/* What each QUIC flow derives from its qid. */
enum { QS_DCID = 1, QS_SCID, QS_SERVER_CID, QS_CRANDOM, QS_CSHARE, QS_SRANDOM, QS_SSHARE };

static void quic_bytes(const struct flow *fl, int what, uint8_t *p, int n)
{
	fill_rand(p, n, mix64(fl->qid ^ ((uint64_t)what << 56)));
}

static int varint2(uint8_t *p, uint16_t v) /* 2-byte QUIC varint, v < 16384 */
{
	put16(p, (uint16_t)(0x4000 | v));
	return 2;
}

static int tp_param(uint8_t *p, uint8_t id, const uint8_t *v, int len) /* id < 64, len < 64 */
{
	p[0] = id;
	p[1] = (uint8_t)len;
	memcpy(p + 2, v, (size_t)len);
	return 2 + len;
}

/* TLS extension header at p: type, then the caller writes the body; returns 4. */
static int ext_hdr(uint8_t *p, uint16_t type, int body)
{
	put16(p, type);
	put16(p + 2, (uint16_t)body);
	return 4;
}

/* TLS 1.3 ClientHello handshake message as a QUIC client sends it (no record layer, empty
 * legacy session id, TLS 1.3 suites only). */
static int quic_client_hello(uint8_t *p, const struct flow *fl)
{
	const char *sni = names[fl->sni];
	int sl = (int)strlen(sni), n = 4, ext, tp;
	uint8_t scid[8];
	static const uint8_t suites[] = { 0, 6, 0x13, 0x01, 0x13, 0x02, 0x13, 0x03 };
	static const uint8_t groups[] = { 0, 4, 0x00, 0x1d, 0x00, 0x17 };
	static const uint8_t sigalgs[] = { 0, 8, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01, 0x05, 0x03 };
	static const uint8_t alpn[] = { 0, 3, 2, 'h', '3' };
	static const uint8_t versions[] = { 2, 0x03, 0x04 };
	static const uint8_t psk_modes[] = { 1, 1 };
	/* initial_max_data 1 MiB, stream data 256 KiB (bidi local/remote, uni), 100 bidi and
	 * 100 uni streams, max_idle_timeout 30 s, max_udp_payload_size 1472 */
	static const uint8_t tp_fixed[] = {
		0x04, 4, 0x80, 0x10, 0x00, 0x00, 0x05, 4, 0x80, 0x04, 0x00, 0x00,
		0x06, 4, 0x80, 0x04, 0x00, 0x00, 0x07, 4, 0x80, 0x04, 0x00, 0x00,
		0x08, 2, 0x40, 100, 0x09, 2, 0x40, 100, 0x01, 2, 0x75, 0x30,
		0x03, 2, 0x45, 0xc0,
	};

	p[0] = 1;                                               /* ClientHello, length later */
	p[n++] = 3; p[n++] = 3;
	quic_bytes(fl, QS_CRANDOM, p + n, 32); n += 32;
	p[n++] = 0;                                             /* legacy_session_id */
	memcpy(p + n, suites, sizeof(suites)); n += sizeof(suites);
	p[n++] = 1; p[n++] = 0;                                 /* compression null */
	ext = n; n += 2;
	n += ext_hdr(p + n, 0, sl + 5);                         /* server_name */
	put16(p + n, (uint16_t)(sl + 3)); p[n + 2] = 0; put16(p + n + 3, (uint16_t)sl);
	memcpy(p + n + 5, sni, (size_t)sl); n += 5 + sl;
	n += ext_hdr(p + n, 10, sizeof(groups));                /* supported_groups */
	memcpy(p + n, groups, sizeof(groups)); n += sizeof(groups);
	n += ext_hdr(p + n, 13, sizeof(sigalgs));               /* signature_algorithms */
	memcpy(p + n, sigalgs, sizeof(sigalgs)); n += sizeof(sigalgs);
	n += ext_hdr(p + n, 16, sizeof(alpn));                  /* ALPN h3 */
	memcpy(p + n, alpn, sizeof(alpn)); n += sizeof(alpn);
	n += ext_hdr(p + n, 43, sizeof(versions));              /* supported_versions 1.3 */
	memcpy(p + n, versions, sizeof(versions)); n += sizeof(versions);
	n += ext_hdr(p + n, 45, sizeof(psk_modes));             /* psk_key_exchange_modes */
	memcpy(p + n, psk_modes, sizeof(psk_modes)); n += sizeof(psk_modes);
	n += ext_hdr(p + n, 51, 38);                            /* key_share: x25519 */
	put16(p + n, 36); put16(p + n + 2, 0x001d); put16(p + n + 4, 32);
	quic_bytes(fl, QS_CSHARE, p + n + 6, 32); n += 38;
	tp = n; n += 4;                                         /* quic_transport_parameters */
	memcpy(p + n, tp_fixed, sizeof(tp_fixed)); n += sizeof(tp_fixed);
	quic_bytes(fl, QS_SCID, scid, 8);
	n += tp_param(p + n, 0x0f, scid, 8);                    /* initial_source_connection_id */
	ext_hdr(p + tp, 57, n - tp - 4);
	put16(p + ext, (uint16_t)(n - ext - 2));
	p[1] = 0; put16(p + 2, (uint16_t)(n - 4));
	return n;
}

/* TLS 1.3 ServerHello (x25519, TLS_AES_128_GCM_SHA256). */
static int quic_server_hello(uint8_t *p, const struct flow *fl)
{
	int n = 4;

	p[0] = 2;
	p[n++] = 3; p[n++] = 3;
	quic_bytes(fl, QS_SRANDOM, p + n, 32); n += 32;
	p[n++] = 0;                                             /* echoed empty session id */
	p[n++] = 0x13; p[n++] = 0x01; p[n++] = 0;
	put16(p + n, 6 + 40); n += 2;
	n += ext_hdr(p + n, 43, 2); put16(p + n, 0x0304); n += 2;
	n += ext_hdr(p + n, 51, 36); put16(p + n, 0x001d); put16(p + n + 2, 32);
	quic_bytes(fl, QS_SSHARE, p + n + 4, 32); n += 36;
	p[1] = 0; put16(p + 2, (uint16_t)(n - 4));
	return n;
}

/* Long header up to and including the Length field's position; returns the offset of the
 * Length field (2 bytes, filled by the caller). type: 0 Initial, 2 Handshake. */
static int quic_long_hdr(uint8_t *p, int type, int pn_len, const uint8_t *dcid,
			 const uint8_t *scid)
{
	int n = 0;

	p[n++] = (uint8_t)(0xc0 | type << 4 | (pn_len - 1));
	put32(p + n, 1); n += 4;                                /* version 1 */
	p[n++] = 8; memcpy(p + n, dcid, 8); n += 8;
	p[n++] = 8; memcpy(p + n, scid, 8); n += 8;
	if (type == 0)
		p[n++] = 0;                                     /* no token */
	return n;
}

#define QUIC_INITIAL_SIZE 1200 /* RFC 9000 14.1: client datagrams with Initials are >= 1200 */

/* Client Initial, packet number 0: CRYPTO(ClientHello) then PADDING to 1200 bytes. */
static int quic_client_initial(uint8_t *p, const struct flow *fl)
{
	uint8_t dcid[8], scid[8];
	struct quic_keys k;
	int h, len_off, pl, ch;

	quic_bytes(fl, QS_DCID, dcid, 8);
	quic_bytes(fl, QS_SCID, scid, 8);
	len_off = quic_long_hdr(p, 0, 4, dcid, scid);
	h = len_off + 2 + 4;
	put32(p + len_off + 2, 0);                              /* packet number 0 */
	pl = QUIC_INITIAL_SIZE - h - 16;
	memset(p + h, 0, (size_t)pl);                           /* PADDING frames */
	ch = quic_client_hello(p + h + 4, fl);
	p[h] = 0x06; p[h + 1] = 0;                              /* CRYPTO, offset 0 */
	varint2(p + h + 2, (uint16_t)ch);
	varint2(p + len_off, (uint16_t)(4 + pl + 16));
	quic_initial_keys(dcid, 8, 0, &k, NULL);
	return quic_protect(p, h, 4, 0, pl, &k);
}

/* Server's first datagram: Initial(ACK, CRYPTO(ServerHello)) protected with the server
 * Initial keys, coalesced with a Handshake packet whose protected contents are opaque. */
static int quic_server_initial(uint8_t *p, const struct flow *fl)
{
	uint8_t dcid[8], scid[8], odcid[8];
	struct quic_keys k;
	int h, len_off, pl, n, sh;

	quic_bytes(fl, QS_SCID, dcid, 8);                       /* to the client's SCID */
	quic_bytes(fl, QS_SERVER_CID, scid, 8);
	quic_bytes(fl, QS_DCID, odcid, 8);                      /* keys: client's first DCID */
	len_off = quic_long_hdr(p, 0, 2, dcid, scid);
	h = len_off + 2 + 2;
	put16(p + len_off + 2, 0);
	pl = 0;
	p[h + pl++] = 0x02;                                     /* ACK of packet 0 */
	p[h + pl++] = 0; p[h + pl++] = 0; p[h + pl++] = 0; p[h + pl++] = 0;
	sh = quic_server_hello(p + h + pl + 4, fl);
	p[h + pl] = 0x06; p[h + pl + 1] = 0;
	varint2(p + h + pl + 2, (uint16_t)sh);
	pl += 4 + sh;
	varint2(p + len_off, (uint16_t)(2 + pl + 16));
	quic_initial_keys(odcid, 8, 1, &k, NULL);
	n = quic_protect(p, h, 2, 0, pl, &k);

	/* coalesced Handshake packet up to 1200 bytes (EncryptedExtensions, certificate...) */
	len_off = quic_long_hdr(p + n, 2, 2, dcid, scid);
	varint2(p + n + len_off, (uint16_t)(QUIC_INITIAL_SIZE - n - len_off - 2));
	fill_rand(p + n + len_off + 2, QUIC_INITIAL_SIZE - n - len_off - 2,
		  mix64(fl->qid ^ 0xa5a5a5a5ULL));
	return QUIC_INITIAL_SIZE;
}

/* 1-RTT packet (RFC 9000 17.3.1): short header with the peer's connection ID, then bytes that
 * look like ciphertext. */
static int quic_short(uint8_t *p, const struct flow *fl, int up, uint32_t idx, int len)
{
	p[0] = 0x41;                                            /* fixed bit, 2-byte pn */
	quic_bytes(fl, up ? QS_SERVER_CID : QS_SCID, p + 1, 8);
	fill_rand(p + 9, len - 9, mix64(fl->qid + idx));
	return len;
}

/* Self-test against RFC 9001 Appendix A: Initial keys for DCID 0x8394c8f03e515708 (A.1),
 * the client Initial's header-protection mask (A.2) and the whole protected server Initial
 * (A.3). Returns 0 when everything matches. */
static int hexcmp(const char *what, const uint8_t *got, const char *hex)
{
	size_t n = strlen(hex) / 2;
	int bad = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned v;

		sscanf(hex + 2 * i, "%2x", &v);
		bad |= got[i] != v;
	}
	printf("selftest %-26s %s\n", what, bad ? "FAIL" : "ok");
	return bad;
}

static void unhex(uint8_t *out, const char *hex)
{
	for (size_t i = 0; hex[2 * i]; i++) {
		unsigned v;

		sscanf(hex + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
}

static int selftest(void)
{
	static const uint8_t dcid[8] = { 0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08 };
	static const char sh_payload[] =
		"02000000000600405a020000560303eefce7f7b37ba1d1632e96677825ddf73988cfc79825df566d"
		"c5430b9a045a1200130100002e00330024001d00209d3c940d89690b84d08a60993c144eca684d10"
		"81287c834d5311bcf32bb9da1a002b00020304";
	static const char sh_header[] = "c1000000010008f067a5502a4262b50040750001";
	static const char sh_packet[] =
		"cf000000010008f067a5502a4262b5004075c0d95a482cd0991cd25b0aac406a5816b6394100f37a"
		"1c69797554780bb38cc5a99f5ede4cf73c3ec2493a1839b3dbcba3f6ea46c5b7684df3548e7ddeb9"
		"c3bf9c73cc3f3bded74b562bfb19fb84022f8ef4cdd93795d77d06edbb7aaf2f58891850abbdca3d"
		"20398c276456cbc42158407dd074ee";
	struct quic_keys c, s;
	uint8_t secret[32], sample[16], mask[16], pkt[256];
	int bad = 0, n;

	quic_initial_keys(dcid, 8, 0, &c, secret);
	bad |= hexcmp("client_initial_secret", secret,
		      "c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea");
	bad |= hexcmp("client key", c.key, "1f369613dd76d5467730efcbe3b1a22d");
	bad |= hexcmp("client iv", c.iv, "fa044b2f42a3fd3b46fb255c");
	bad |= hexcmp("client hp", c.hp, "9f50449e04a0e810283a1e9933adedd2");
	quic_initial_keys(dcid, 8, 1, &s, secret);
	bad |= hexcmp("server_initial_secret", secret,
		      "3c199828fd139efd216c155ad844cc81fb82fa8d7446fa7d78be803acdda951b");
	bad |= hexcmp("server key", s.key, "cf3a5331653c364c88f0f379b6067e37");
	bad |= hexcmp("server iv", s.iv, "0ac1493ca1905853b0bba03e");
	bad |= hexcmp("server hp", s.hp, "c206b8d9b9f0f37644430b490eeaa314");
	unhex(sample, "d1b1c98dd7689fb8ec11d242b123dc9b");
	quic_hp_mask(c.hp, sample, mask);
	bad |= hexcmp("client Initial hp mask", mask, "437b9aec36");
	unhex(pkt, sh_header);
	unhex(pkt + 20, sh_payload);
	n = quic_protect(pkt, 20, 2, 1, (int)strlen(sh_payload) / 2, &s);
	bad |= n != (int)strlen(sh_packet) / 2;
	bad |= hexcmp("protected server Initial", pkt, sh_packet);
	printf("selftest %s\n", bad ? "FAILED" : "passed");
	return bad;
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
	if (mix == MIX_MOBILE && fl->kind == K_QUIC)
		fl->qid = rnd();
	if (mix == MIX_SHORT) /* TCP stops within the handshake (flow_next's first cases) */
		fl->total = fl->kind == K_DNS ? 1 + (rnd_range(0, 2) > 0) : rnd_range(1, 3);
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

/* Mobile mix QUIC flow, packet i: client Initial, server Initial + Handshake, the client's
 * Handshake flight (opaque long header), then 1-RTT packets: data downlink, every third
 * packet a small uplink one (ACKs), as in a download or a video stream. */
static int quic_next(struct flow *fl, uint8_t *p, int *up, uint32_t i)
{
	uint8_t pl[1500], dcid[8], scid[8];
	int n, len_off;

	*up = i == 0 || i == 2 || (i > 2 && i % 3 == 0);
	if (i == 0)
		n = quic_client_initial(pl, fl);
	else if (i == 1)
		n = quic_server_initial(pl, fl);
	else if (i == 2) {
		quic_bytes(fl, QS_SERVER_CID, dcid, 8);
		quic_bytes(fl, QS_SCID, scid, 8);
		len_off = quic_long_hdr(pl, 2, 2, dcid, scid);
		n = len_off + 2 + 2 + 52 + 16;                  /* ACK + CRYPTO(Finished) */
		varint2(pl + len_off, (uint16_t)(n - len_off - 2));
		fill_rand(pl + len_off + 2, n - len_off - 2, mix64(fl->qid ^ 0x5a5a5a5aULL));
	} else
		n = quic_short(pl, fl, *up, i, *up ? (int)rnd_range(40, 80) :
			       (int)rnd_range(600, 1300));
	return udp_dgram(p, fl, *up, pl, n);
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
	if (fl->kind == K_QUIC && mix == MIX_MOBILE)
		return quic_next(fl, p, up, i);
	if (fl->kind == K_QUIC) { /* uniform mix: QUIC-like bytes, kept for identical captures */
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
		"[-c CONCURRENT] [-S SEED] [-m uniform|mobile|short]\n");
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

/* Packets each flow emitted: sums for the flow- and packet-weighted mean length, and every
 * length for the median and the packet shares of long flows. */
static double sum_n, sum_n2;
static uint32_t *lens;
static size_t nlens, caplens;

static void flow_count(const struct flow *fl)
{
	sum_n += fl->idx;
	sum_n2 += (double)fl->idx * fl->idx;
	if (nlens == caplens) {
		caplens = caplens ? caplens * 2 : 65536;
		lens = realloc(lens, caplens * sizeof(*lens));
		if (!lens) {
			fprintf(stderr, "gen_bench_pcap: out of memory\n");
			exit(1);
		}
	}
	lens[nlens++] = fl->idx;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* Median flow length, and the share of packets in flows longer than 300 and 8192 packets
 * (the boundaries of the CAIDA observation the mobile mix is calibrated to). */
static void flow_stats(uint32_t *median, double *gt300, double *gt8192)
{
	double p300 = 0, p8192 = 0;

	*median = 0;
	*gt300 = *gt8192 = 0;
	if (!nlens)
		return;
	qsort(lens, nlens, sizeof(*lens), cmp_u32);
	*median = lens[nlens / 2];
	for (size_t i = 0; i < nlens; i++) {
		if (lens[i] > 300)
			p300 += lens[i];
		if (lens[i] > 8192)
			p8192 += lens[i];
	}
	*gt300 = sum_n ? 100 * p300 / sum_n : 0;
	*gt8192 = sum_n ? 100 * p8192 / sum_n : 0;
}

int main(int argc, char **argv)
{
	const char *path = "bench.pcap";
	unsigned long nf = 1000000, ns = 10000, nc = 4000, seed = 1;
	uint8_t f[MAX_FRAME + 64];
	uint8_t hdr[24];
	struct flow *act;
	uint64_t flows = 0;
	uint32_t median;
	double gt300, gt8192;
	int opt;

	if (argc == 2 && !strcmp(argv[1], "--selftest")) /* before getopt: not a short option */
		return selftest() ? 1 : 0;
	while ((opt = getopt(argc, argv, "o:n:s:c:S:m:h")) != -1) {
		switch (opt) {
		case 'm':
			if (!strcmp(optarg, "uniform"))
				mix = MIX_UNIFORM;
			else if (!strcmp(optarg, "mobile"))
				mix = MIX_MOBILE;
			else if (!strcmp(optarg, "short"))
				mix = MIX_SHORT;
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
		unsigned long slot = mix != MIX_MOBILE ? rnd() % nc : fen_find(rnd() % fen_total);
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
	flow_stats(&median, &gt300, &gt8192);
	free(lens);
	free(act);
	free(fen);
	if (fclose(out)) {
		fprintf(stderr, "gen_bench_pcap: %s: %s\n", path, strerror(errno));
		return 1;
	}
	printf("frames %llu subscribers %lu flows %llu mix %s mean_flow_pkts %.1f "
	       "pkt_weighted_mean_flow_pkts %.1f median_flow_pkts %u pkts_in_flows_gt300 %.1f%% "
	       "pkts_in_flows_gt8192 %.1f%%\n", (unsigned long long)nframes, ns,
	       (unsigned long long)flows,
	       mix == MIX_UNIFORM ? "uniform" : mix == MIX_MOBILE ? "mobile" : "short",
	       flows ? sum_n / flows : 0, sum_n ? sum_n2 / sum_n : 0, median, gt300, gt8192);
	return 0;
}
