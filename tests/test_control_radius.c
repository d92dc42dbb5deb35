/* test_control_radius.c - RADIUS accounting dissector and user table (userspace/control/radius.c).
 *
 * Input: tests/data/radius_cases.pcap, built by scapy (tests/gen_radius_cases.py) with known
 * values; frames go through the real decoder (mcp_decode) then mcp_radius_handle. Oracles:
 * the generator's values, and tshark's RADIUS fields for every well-formed message.
 * Every prefix of every message must give -EMSGSIZE, never a crash.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode/decode.h"
#include "control/radius.h"

#define PCAP_PATH "tests/data/radius_cases.pcap"
#define MAXF 32

struct frame {
	uint8_t data[2048];
	uint32_t len;
	uint64_t ts_us;
};

static struct frame frames[MAXF];
static int nframes;

static void load(void)
{
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	pcap_t *p = pcap_open_offline(PCAP_PATH, err);

	cr_assert_not_null(p, "%s: %s (run from the repository root)", PCAP_PATH, err);
	nframes = 0;
	while (pcap_next_ex(p, &h, &d) == 1 && nframes < MAXF) {
		cr_assert_leq(h->caplen, sizeof(frames[0].data));
		memcpy(frames[nframes].data, d, h->caplen);
		frames[nframes].len = h->caplen;
		frames[nframes].ts_us = (uint64_t)h->ts.tv_sec * 1000000 + (uint64_t)h->ts.tv_usec;
		nframes++;
	}
	pcap_close(p);
	cr_assert_eq(nframes, 18, "regenerate with tests/gen_radius_cases.py");
}

static void decode(struct mcp_decoder *d, int i, struct mcp_pkt *pkt)
{
	mcp_decode(d, 1 /* DLT_EN10MB */, frames[i].data, frames[i].len, frames[i].len,
		   frames[i].ts_us, pkt);
	cr_assert_eq(pkt->kind, MCP_PKT_USER, "frame %d not decoded as user traffic", i);
}

struct ev {
	char user[64];
	char ip[64];
	char calling[64];
	int active;
};

static struct ev evs[32];
static int nevs;

static void on_event(void *ctx, const char *user, const struct mcp_ip *ip, const char *calling,
		     int active, uint64_t ts_ms)
{
	struct ev *e = &evs[nevs < 31 ? nevs++ : 31];

	(void)ctx;
	(void)ts_ms;
	snprintf(e->user, sizeof(e->user), "%s", user);
	if (ip)
		mcp_ip_str(ip, e->ip);
	else
		e->ip[0] = 0;
	snprintf(e->calling, sizeof(e->calling), "%s", calling ? calling : "");
	e->active = active;
}

Test(radius, table_and_malformed_reasons, .init = load)
{
	static const int bad_reason[] = {
		MCP_RADIUS_BAD_TRUNC_HEADER, MCP_RADIUS_BAD_TRUNC_PACKET, MCP_RADIUS_BAD_BAD_LENGTH,
		MCP_RADIUS_BAD_BAD_ATTR_LEN, MCP_RADIUS_BAD_TRUNC_ATTR, MCP_RADIUS_BAD_BAD_ATTR_VALUE,
		MCP_RADIUS_BAD_NO_STATUS_TYPE, MCP_RADIUS_BAD_NO_USER_NAME,
	};
	struct mcp_radius_cfg cfg = { .on_event = on_event };
	struct mcp_radius_users *u = mcp_radius_users_create(&cfg);
	struct mcp_decoder *d = mcp_decoder_create(NULL);
	struct mcp_radius_stats st;
	struct mcp_ip ip;
	char name[64];
	int i, r;

	nevs = 0;
	for (i = 0; i < nframes; i++) {
		struct mcp_pkt pkt;

		decode(d, i, &pkt);
		cr_assert(mcp_radius_match(u, &pkt), "frame %d", i);
		r = mcp_radius_handle(u, &pkt);
		if (i == 4)
			cr_assert_eq(r, -ENOMSG);
		else if (i >= 9 && i <= 16)
			cr_assert(r == -EMSGSIZE || r == -EBADMSG, "frame %d: %d", i, r);
		else
			cr_assert_eq(r, 0, "frame %d: %d", i, r);
	}
	mcp_radius_get_stats(u, &st);
	cr_assert_eq(st.requests, 9);
	cr_assert_eq(st.starts, 4);
	cr_assert_eq(st.interims, 3);
	cr_assert_eq(st.stops, 1);
	cr_assert_eq(st.acct_on_off, 1);
	cr_assert_eq(st.other_codes, 1);
	cr_assert_eq(st.malformed, 8);
	for (i = 0; i < 8; i++)
		cr_assert_eq(st.malformed_reason[bad_reason[i]], 1, "reason %s",
			     mcp_radius_malformed_name(bad_reason[i]));
	cr_assert_eq(st.users, 3); /* bob, carol, dave */

	mcp_ip_parse(&ip, "100.64.0.1");
	cr_assert_eq(mcp_radius_user_by_ip(u, &ip, name, sizeof(name)), 0, "alice stopped");
	mcp_ip_parse(&ip, "100.64.0.2");
	cr_assert_eq(mcp_radius_user_by_ip(u, &ip, name, sizeof(name)), 0, "bob moved away");
	mcp_ip_parse(&ip, "100.64.0.3");
	cr_assert_eq(mcp_radius_user_by_ip(u, &ip, name, sizeof(name)), 1);
	cr_assert_str_eq(name, "dave");
	cr_assert_eq(mcp_radius_ip_by_user(u, "bob", &ip), 0, "dave took bob's address");
	mcp_ip_parse(&ip, "2001:db8::7");
	cr_assert_eq(mcp_radius_user_by_ip(u, &ip, name, sizeof(name)), 1);
	cr_assert_str_eq(name, "carol");

	/* events: starts, bob's new IP, alice's stop, carol, dave; unchanged interims are not */
	cr_assert_eq(nevs, 6);
	cr_assert_str_eq(evs[0].user, "alice");
	cr_assert_str_eq(evs[0].ip, "100.64.0.1");
	cr_assert_str_eq(evs[0].calling, "00-11-22-33-44-55");
	cr_assert_eq(evs[0].active, 1);
	cr_assert_str_eq(evs[2].user, "bob");
	cr_assert_str_eq(evs[2].ip, "100.64.0.3");
	cr_assert_str_eq(evs[3].user, "alice");
	cr_assert_eq(evs[3].active, 0);
	cr_assert_str_eq(evs[4].ip, "2001:db8::7");
	cr_assert_str_eq(evs[5].user, "dave");
	mcp_decoder_destroy(d);
	mcp_radius_users_destroy(u);
}

Test(radius, fields_match_tshark, .init = load)
{
	struct mcp_decoder *d = mcp_decoder_create(NULL);
	char line[512];
	FILE *f;
	int n = 0;

	f = popen("tshark -r " PCAP_PATH " -T fields -E separator=/t -e frame.number "
		  "-e radius.code -e radius.User_Name -e radius.Framed-IP-Address "
		  "-e radius.Acct_Status_Type -e radius.Calling_Station_Id 2>/dev/null",
		  "r");
	cr_assert_not_null(f, "tshark is needed as the oracle");
	while (fgets(line, sizeof(line), f)) {
		char *fld[6] = { 0 }, *save = NULL, *p = line;
		struct mcp_radius_acct a;
		enum mcp_radius_malformed why;
		struct mcp_pkt pkt;
		char ip[64] = "";
		int k, fr;

		line[strcspn(line, "\n")] = 0;
		for (k = 0; k < 6; k++) {
			char *tab = strchr(p, '\t');

			fld[k] = p;
			if (!tab)
				break;
			*tab = 0;
			p = tab + 1;
		}
		(void)save;
		fr = atoi(fld[0]) - 1;
		if (fr < 0 || fr >= nframes || (fr >= 9 && fr <= 16) || fr == 4)
			continue; /* malformed ones: tshark is lenient, reasons checked above */
		decode(d, fr, &pkt);
		cr_assert_eq(mcp_radius_parse(pkt.payload, pkt.payload_len, &a, &why), 0, "frame %d",
			     fr);
		cr_assert_eq(a.code, atoi(fld[1]));
		cr_assert_str_eq(a.user, fld[2] ? fld[2] : "", "frame %d", fr);
		if (a.has_framed_ip)
			mcp_ip_str(&a.framed_ip, ip);
		cr_assert_str_eq(ip, fld[3] ? fld[3] : "", "frame %d", fr);
		cr_assert_eq(a.status, (uint32_t)atoi(fld[4]), "frame %d", fr);
		cr_assert_str_eq(a.calling, fld[5] ? fld[5] : "", "frame %d", fr);
		n++;
	}
	cr_assert_eq(pclose(f), 0, "tshark failed");
	cr_assert_eq(n, 9, "tshark lines compared: %d", n);
	mcp_decoder_destroy(d);
}

Test(radius, every_prefix_is_truncated, .init = load)
{
	struct mcp_decoder *d = mcp_decoder_create(NULL);
	int i;

	for (i = 0; i < nframes; i++) {
		struct mcp_radius_acct a;
		enum mcp_radius_malformed why;
		struct mcp_pkt pkt;
		uint8_t *copy;
		uint32_t n, full;
		int r;

		decode(d, i, &pkt);
		full = pkt.payload_len;
		r = mcp_radius_parse(pkt.payload, full, &a, &why);
		for (n = 0; n < full; n++) {
			int rr;

			/* a heap copy of exactly n bytes: ASan catches any overread */
			copy = malloc(n ? n : 1);
			memcpy(copy, pkt.payload, n);
			rr = mcp_radius_parse(copy, n, &a, &why);
			free(copy);
			if (r == 0 || r == -ENOMSG)
				cr_assert_eq(rr, -EMSGSIZE, "frame %d cut at %u: %d", i, n, rr);
			else
				cr_assert(rr < 0);
		}
	}
	mcp_decoder_destroy(d);
}

Test(radius, table_bounded)
{
	struct mcp_radius_cfg cfg = { .max_users = 2 };
	struct mcp_radius_users *u = mcp_radius_users_create(&cfg);
	struct mcp_radius_acct a = { .code = 4, .status = MCP_RADIUS_START };
	struct mcp_radius_stats st;

	snprintf(a.user, sizeof(a.user), "u1");
	cr_assert_eq(mcp_radius_apply(u, &a, 1), 0);
	snprintf(a.user, sizeof(a.user), "u2");
	cr_assert_eq(mcp_radius_apply(u, &a, 1), 0);
	snprintf(a.user, sizeof(a.user), "u3");
	cr_assert_eq(mcp_radius_apply(u, &a, 1), -ENOSPC);
	mcp_radius_get_stats(u, &st);
	cr_assert_eq(st.table_full, 1);
	cr_assert_eq(st.users, 2);
	mcp_radius_users_destroy(u);
}
