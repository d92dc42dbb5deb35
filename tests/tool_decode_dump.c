/* tool_decode_dump.c - test helper: decodes a capture with mcp_decode() and prints one line
 * per frame plus the decoder counters, for tests/it_decode_pcaps.py to compare with tshark.
 *
 * Usage: tool_decode_dump FILE.pcap[ng]
 * Line per frame (tab separated):
 *   F <frame#> <kind> <reason> <tunnel> <gtpu_msg> <teid> <outer_src> <outer_dst> <ipver>
 *     <src> <dst> <l4proto> <sport> <dport> <flags> <qfi> <pdu_type> <ip_len> <vlan>
 * Then "L <name> <count>" per layer counter and "M <name> <count>" per reason.
 */
#include <pcap/pcap.h>
#include <stdio.h>

#include "decode/decode.h"

static const char *const kinds[] = { "USER", "GTPC", "GTPU_SIGNAL", "FRAG_HELD", "OTHER",
				     "MALFORMED" };

int main(int argc, char **argv)
{
	char err[PCAP_ERRBUF_SIZE], a[MCP_IP_STRLEN], b[MCP_IP_STRLEN], c[MCP_IP_STRLEN],
		e[MCP_IP_STRLEN];
	const struct mcp_decode_stats *st;
	struct pcap_pkthdr *h;
	const unsigned char *data;
	struct mcp_decoder *d;
	struct mcp_pkt pkt;
	unsigned long n = 0;
	pcap_t *pc;
	int dlt, i, rc;

	if (argc != 2) {
		fprintf(stderr, "usage: %s FILE\n", argv[0]);
		return 2;
	}
	pc = pcap_open_offline(argv[1], err);
	if (!pc) {
		fprintf(stderr, "%s: %s\n", argv[1], err);
		return 1;
	}
	dlt = pcap_datalink(pc);
	d = mcp_decoder_create(NULL);
	if (!d)
		return 1;
	while ((rc = pcap_next_ex(pc, &h, &data)) == 1) {
		uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000 + (uint64_t)h->ts.tv_usec;
		int k = mcp_decode(d, dlt, data, h->caplen, h->len, ts, &pkt);

		n++;
		printf("F\t%lu\t%s\t%s\t%u\t%u\t%u\t%s\t%s\t%u\t%s\t%s\t%u\t%u\t%u\t%u\t%u\t%u"
		       "\t%u\t%u\n",
		       n, kinds[k], k == MCP_PKT_MALFORMED ? mcp_parse_reason_name(pkt.reason) :
							     "-",
		       pkt.tunnel, pkt.gtpu_msg, pkt.teid, mcp_ip_str(&pkt.outer_src, a),
		       mcp_ip_str(&pkt.outer_dst, b), pkt.ip_version, mcp_ip_str(&pkt.src, c),
		       mcp_ip_str(&pkt.dst, e), pkt.l4_proto, pkt.sport, pkt.dport, pkt.flags,
		       pkt.qfi, pkt.pdu_type, pkt.ip_len, pkt.vlan);
	}
	if (rc == PCAP_ERROR) {
		fprintf(stderr, "%s: %s\n", argv[1], pcap_geterr(pc));
		return 1;
	}
	st = mcp_decoder_stats(d);
	for (i = 0; i < MCP_LAYER__MAX; i++)
		printf("L\t%s\t%llu\n", mcp_layer_name(i), (unsigned long long)st->layer[i]);
	for (i = 0; i < MCP_PARSE__MAX; i++)
		printf("M\t%s\t%llu\n", mcp_parse_reason_name(i),
		       (unsigned long long)st->malformed[i]);
	mcp_decoder_destroy(d);
	pcap_close(pc);
	return 0;
}
