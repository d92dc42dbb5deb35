/* tool_pfcp_dump.c - oracle dumper: decodes every PFCP message (UDP port 8805) of a capture
 * with mcp_pfcp_decode() and prints one JSON line per message, for comparison with tshark
 * (tests/it_pfcp_oracle.py). Link, IP and UDP come from the frame decoder (mcp_decode); the
 * PFCP decoding under test is the library's pfcp.c.
 *
 * Usage: tool_pfcp_dump FILE.pcap
 */
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>

#include "control/pfcp.h"
#include "decode/decode.h"

static struct mcp_pfcp_msg msg;

static void put_ip(const char *key, const struct mcp_ip *ip)
{
	char buf[MCP_IP_STRLEN];

	printf(",\"%s\":\"%s\"", key, mcp_ip_str(ip, buf));
}

static void put_pdr(const struct mcp_pfcp_pdr *r)
{
	printf("{\"id\":%u", r->pdr_id);
	if (r->src_if != MCP_PFCP_IF_NONE)
		printf(",\"src_if\":%u", r->src_if);
	if (r->has_fteid) {
		printf(",\"choose\":%u", r->fteid.choose);
		if (!r->fteid.choose)
			printf(",\"teid\":%" PRIu32, r->fteid.teid);
		if (r->fteid.has_v4)
			put_ip("v4", &r->fteid.v4);
		if (r->fteid.has_v6)
			put_ip("v6", &r->fteid.v6);
	}
	if (r->has_ue_v4)
		put_ip("ue_v4", &r->ue_v4);
	if (r->has_ue_v6)
		put_ip("ue_v6", &r->ue_v6);
	if (r->net_inst[0])
		printf(",\"ni\":\"%s\"", r->net_inst);
	printf(",\"qfi\":[");
	for (int i = 0; i < r->nqfi; i++)
		printf("%s%u", i ? "," : "", r->qfi[i]);
	printf("]}");
}

static void put_far(const struct mcp_pfcp_far *f)
{
	printf("{\"id\":%" PRIu32, f->far_id);
	if (f->dst_if != MCP_PFCP_IF_NONE)
		printf(",\"dst_if\":%u", f->dst_if);
	if (f->net_inst[0])
		printf(",\"ni\":\"%s\"", f->net_inst);
	if (f->has_ohc) {
		printf(",\"ohc_teid\":%" PRIu32, f->ohc_teid);
		if (f->ohc_has_v4)
			put_ip("ohc_v4", &f->ohc_v4);
		if (f->ohc_has_v6)
			put_ip("ohc_v6", &f->ohc_v6);
	}
	printf("}");
}

static void put_msg(uint64_t frame, const struct mcp_pfcp_msg *m)
{
	int i;

	printf("{\"frame\":%" PRIu64 ",\"type\":%u,\"seq\":%" PRIu32, frame, m->type, m->seq);
	if (m->has_seid)
		printf(",\"seid\":%" PRIu64, m->seid);
	if (m->has_fseid)
		printf(",\"fseid\":%" PRIu64, m->fseid);
	if (m->has_cause)
		printf(",\"cause\":%u", m->cause);
	if (m->imsi[0])
		printf(",\"imsi\":\"%s\"", m->imsi);
	if (m->imei[0])
		printf(",\"imei\":\"%s\"", m->imei);
	if (m->msisdn[0])
		printf(",\"msisdn\":\"%s\"", m->msisdn);
	if (m->dnn[0])
		printf(",\"dnn\":\"%s\"", m->dnn);
	if (m->has_snssai)
		printf(",\"sst\":%u,\"sd\":%" PRId64, m->sst, m->has_sd ? (int64_t)m->sd : -1);
	printf(",\"qer_qfi\":[");
	for (i = 0; i < m->nqfi; i++)
		printf("%s%u", i ? "," : "", m->qfi[i]);
	printf("],\"pdr\":[");
	for (i = 0; i < m->npdr; i++)
		printf("%s", i ? "," : ""), put_pdr(&m->pdr[i]);
	printf("],\"created\":[");
	for (i = 0; i < m->ncreated; i++)
		printf("%s", i ? "," : ""), put_pdr(&m->created[i]);
	printf("],\"far\":[");
	for (i = 0; i < m->nfar; i++)
		printf("%s", i ? "," : ""), put_far(&m->far[i]);
	printf("]}\n");
}

static void dump_payload(uint64_t frame, const uint8_t *p, size_t left)
{
	for (int i = 0; i < 4 && left; i++) {
		int rc = mcp_pfcp_decode(p, left, &msg);

		if (rc < 0) {
			printf("{\"frame\":%" PRIu64 ",\"error\":\"%s\"}\n", frame,
			       mcp_pfcp_bad_reason_name(msg.bad_reason));
			return;
		}
		put_msg(frame, &msg);
		if (!msg.follow_on)
			return;
		p += rc;
		left -= (size_t)rc;
	}
}

int main(int argc, char **argv)
{
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const uint8_t *data;
	struct mcp_decoder *d;
	struct mcp_pkt pkt;
	uint64_t frame = 0;
	pcap_t *pc;

	if (argc != 2) {
		fprintf(stderr, "usage: tool_pfcp_dump FILE.pcap\n");
		return 2;
	}
	pc = pcap_open_offline(argv[1], err);
	d = mcp_decoder_create(NULL);
	if (!pc || !d) {
		fprintf(stderr, "tool_pfcp_dump: %s: %s\n", argv[1], pc ? "out of memory" : err);
		return 1;
	}
	while (pcap_next_ex(pc, &h, &data) == 1) {
		frame++;
		if (mcp_decode(d, pcap_datalink(pc), data, h->caplen, h->len, 0, &pkt) !=
			    MCP_PKT_USER || pkt.tunnel != MCP_TUN_NONE || pkt.l4_proto != 17 ||
		    (pkt.sport != MCP_PFCP_PORT && pkt.dport != MCP_PFCP_PORT))
			continue;
		dump_payload(frame, pkt.payload, pkt.payload_len);
	}
	pcap_close(pc);
	mcp_decoder_destroy(d);
	return 0;
}
