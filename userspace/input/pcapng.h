/* pcapng.h - a small streaming pcapng reader for what libpcap 1.10 refuses: files whose
 * interfaces differ in link type or snapshot length (libpcap stops at the second IDB).
 * Only used as a fallback; plain pcap and ordinary pcapng go through libpcap.
 */
#ifndef MCP_PCAPNG_H
#define MCP_PCAPNG_H

#include <stdint.h>
#include <stdio.h>

#define MCP_PCAPNG_MAX_IFACES 64

struct mcp_pcapng {
	FILE *fp;
	int swap;                        /* section is in the other byte order */
	uint32_t nifaces;
	int linktype[MCP_PCAPNG_MAX_IFACES];
	uint64_t ts_units[MCP_PCAPNG_MAX_IFACES]; /* ticks per second */
	uint8_t *buf;
	uint32_t buf_size;
	char err[128];
};

struct mcp_pcapng_pkt {
	const uint8_t *data;
	uint32_t caplen, wire_len;
	uint64_t ts_us;
	int linktype;
};

/* 0, or -errno with r->err set. */
int mcp_pcapng_open(struct mcp_pcapng *r, const char *path);
/* Same, on an open stream (taken over: closed by mcp_pcapng_close). */
void mcp_pcapng_open_stream(struct mcp_pcapng *r, FILE *fp);
/* 1 packet, 0 end of file, -EBADMSG/-EMSGSIZE (r->err says why: a cut block is truncation). */
int mcp_pcapng_next(struct mcp_pcapng *r, struct mcp_pcapng_pkt *pkt);
void mcp_pcapng_close(struct mcp_pcapng *r);

#endif /* MCP_PCAPNG_H */
