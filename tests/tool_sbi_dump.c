/* tool_sbi_dump.c - oracle dumper: feeds every untunnelled TCP segment of a capture to the SBI
 * decoder (control/sbi) and prints one JSON line per identity it hands out (N1N2 transfers;
 * UpdateSMContexts with their N2 DL F-TEID, dl_addr set), then its counters
 * on stderr, for comparison with tshark (tests/it_5g_sbi.py). Link, IP and TCP come from the
 * frame decoder (mcp_decode).
 *
 * Usage: tool_sbi_dump FILE.pcap
 */
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdio.h>

#include "control/sbi/sbi.h"
#include "decode/decode.h"

static void on_ident(void *ctx, const struct mcp_sbi_ident *id, uint64_t ts_ms)
{
	char a[MCP_IP_STRLEN], b[MCP_IP_STRLEN], c[MCP_IP_STRLEN], d[MCP_IP_STRLEN];

	printf("{\"imsi\":\"%s\",\"nai\":\"%s\",\"msisdn\":\"%s\",\"imei\":\"%s\",\"dnn\":\"%s\","
	       "\"snssai\":%" PRIu32 ",\"psi\":%u,\"ue_v4\":\"%s\",\"ue_v6\":\"%s\",\"ul_teid\":%" PRIu32
	       ",\"ul_addr\":\"%s\",\"dl_teid\":%" PRIu32 ",\"dl_addr\":\"%s\"}\n", id->imsi, id->nai,
	       id->msisdn, id->imei, id->dnn, id->snssai, id->pdu_session_id,
	       id->has_ue_v4 ? mcp_ip_str(&id->ue_v4, a) : "",
	       id->has_ue_v6 ? mcp_ip_str(&id->ue_v6, b) : "", id->has_ul_fteid ? id->ul_teid : 0,
	       id->has_ul_fteid ? mcp_ip_str(&id->ul_addr, c) : "",
	       id->has_dl_fteid ? id->dl_teid : 0, id->has_dl_fteid ? mcp_ip_str(&id->dl_addr, d) : "");
}

int main(int argc, char **argv)
{
	struct mcp_sbi_cfg cfg = { .on_ident = on_ident };
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const uint8_t *data;
	struct mcp_decoder *d;
	struct mcp_sbi *b;
	struct mcp_pkt pkt;
	pcap_t *pc;

	if (argc != 2) {
		fprintf(stderr, "usage: tool_sbi_dump FILE.pcap\n");
		return 2;
	}
	pc = pcap_open_offline(argv[1], err);
	d = mcp_decoder_create(NULL);
	b = mcp_sbi_create(&cfg);
	if (!pc || !d || !b) {
		fprintf(stderr, "tool_sbi_dump: %s: %s\n", argv[1], pc ? "out of memory" : err);
		return 1;
	}
	while (pcap_next_ex(pc, &h, &data) == 1) {
		uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000 + (uint64_t)h->ts.tv_usec;

		if (mcp_decode(d, pcap_datalink(pc), data, h->caplen, h->len, ts, &pkt) ==
			    MCP_PKT_USER && pkt.tunnel == MCP_TUN_NONE && pkt.l4_proto == 6)
			mcp_sbi_segment(b, &pkt);
	}
	mcp_sbi_print_stats(b, stderr);
	mcp_sbi_destroy(b);
	pcap_close(pc);
	mcp_decoder_destroy(d);
	return 0;
}
