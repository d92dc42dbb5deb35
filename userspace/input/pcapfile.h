/* pcapfile.h - a streaming reader of the classic pcap format (libpcap's savefile: 24-byte
 * file header, 16-byte record headers) for what libpcap cannot do: go on after damage.
 * libpcap stops at the first implausible record header; this reader slides forward one byte
 * at a time until a header is plausible again (sane lengths and sub-second field, a time
 * near the last good record, and the next header plausible too), and counts what it skipped.
 * Used for standard input and FIFOs, and for classic pcap files (by libpcap's rules until the
 * first damage: input/offline.c).
 */
#ifndef MCP_INPUT_PCAPFILE_H
#define MCP_INPUT_PCAPFILE_H

#include <stdint.h>
#include <stdio.h>

#include "input/window.h"

struct mcp_pcapfile {
	struct mcp_window w;
	int swap, nano;       /* byte order and nanosecond timestamps, from the magic */
	int linktype;
	int scanning;         /* looking for the next plausible record after damage */
	int tail;             /* damage began at a record the end cut short */
	uint64_t last_ts_s;   /* seconds of the last good record (0: none yet) */
	uint64_t skipped_bytes, resyncs, trunc_bytes; /* as in struct mcp_pcapng */
	uint64_t tail_skipped, tail_resyncs;
	char err[128];
};

struct mcp_pcapfile_pkt {
	const uint8_t *data;
	uint32_t caplen, wire_len;
	uint64_t ts_us;
};

/* 1 when the 4 bytes are a pcap magic this reader knows (either byte order, micro or nano). */
int mcp_pcapfile_magic(const uint8_t *p);
/* Takes over a window positioned at the file header and reads it. 0, or -EBADMSG /
 * -EMSGSIZE with r->err set (not pcap, header cut short). */
int mcp_pcapfile_attach(struct mcp_pcapfile *r, struct mcp_window *w);
/* 1 packet (valid until the next call), 0 end of the stream, -errno on a read error. A `lax`
 * record is taken by libpcap's own rule only (capture length at most 256 KiB) and its stamp
 * read as libpcap does (signed fields), so that skipping what libpcap already read counts the
 * same records and a file read from its start gives what libpcap would. */
int mcp_pcapfile_next(struct mcp_pcapfile *r, struct mcp_pcapfile_pkt *pkt, int lax);
void mcp_pcapfile_close(struct mcp_pcapfile *r);

#endif /* MCP_INPUT_PCAPFILE_H */
