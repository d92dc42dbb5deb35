/* pcapng.h - a streaming pcapng reader (draft-ietf-opsawg-pcapng) for what libpcap 1.10
 * cannot do: files whose interfaces differ in link type or snapshot length (libpcap stops at
 * the second IDB), pcapng on standard input or a FIFO, and damaged files. A block whose
 * lengths do not frame it (total length at both ends) is damage: the reader slides forward
 * one byte at a time until a known block type is framed again, and counts what it skipped.
 */
#ifndef MCP_PCAPNG_H
#define MCP_PCAPNG_H

#include <stdint.h>
#include <stdio.h>

#include "input/window.h"

#define MCP_PCAPNG_MAX_IFACES 64

struct mcp_pcapng {
	struct mcp_window w;
	int swap;                        /* section is in the other byte order */
	int scanning;                    /* looking for the next framed block after damage */
	uint32_t nifaces;
	int linktype[MCP_PCAPNG_MAX_IFACES];
	uint64_t ts_units[MCP_PCAPNG_MAX_IFACES]; /* ticks per second */
	uint64_t skipped_bytes;          /* damaged bytes skipped (whole bad blocks included) */
	uint64_t resyncs;                /* places where damage began */
	uint64_t trunc_bytes;            /* bytes of a block cut short at the end */
	int tail;                        /* damage began at a block the end cut short */
	uint64_t tail_skipped, tail_resyncs; /* the counters when it began */
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
/* On an open stream (taken over: closed by mcp_pcapng_close). 0 or -ENOMEM. */
int mcp_pcapng_open_stream(struct mcp_pcapng *r, FILE *fp);
/* On a window that has not been read from yet (taken over). */
void mcp_pcapng_attach(struct mcp_pcapng *r, struct mcp_window *w);
/* 1 packet (valid until the next call), 0 end of the stream (damage and a cut-short last
 * block are counted, not errors), -errno on a read error or out of memory (r->err). */
int mcp_pcapng_next(struct mcp_pcapng *r, struct mcp_pcapng_pkt *pkt);
void mcp_pcapng_close(struct mcp_pcapng *r);

#endif /* MCP_PCAPNG_H */
