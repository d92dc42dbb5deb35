/* pcap_map.h - a classic pcap file (not pcapng) read through mmap, so that frames can be
 * handed to the pipeline shards by reference instead of copied (issue 14). Pages the shards
 * are done with are dropped from the mapping (MADV_DONTNEED), so the resident size stays that
 * of a few epochs, not of the file.
 *
 * File format: the libpcap savefile header (magic a1b2c3d4 microseconds or a1b23c4d
 * nanoseconds, either byte order), then records of a 16-byte header and caplen bytes.
 */
#ifndef MCP_INPUT_PCAP_MAP_H
#define MCP_INPUT_PCAP_MAP_H

#include <stddef.h>
#include <stdint.h>

struct mcp_pcap_map {
	const uint8_t *base;
	size_t size, pos;
	size_t dropped;      /* bytes before this are no longer mapped */
	size_t fetched;      /* bytes before this were prefetched (a cache-line multiple) */
	size_t populated;    /* page tables filled up to here */
	int mapped;          /* base is our mapping (not a caller's buffer) */
	int swap, nsec;
	uint32_t linktype;
	uint64_t frames;
	char err[96];        /* why the last record was refused */
};

struct mcp_pcap_map_pkt {
	const uint8_t *data;
	uint32_t caplen, wire_len;
	uint64_t ts_us;
};

/* 0, or -1 when path is not a regular classic pcap file (the caller reads it otherwise). */
int mcp_pcap_map_open(struct mcp_pcap_map *m, const char *path);
/* The same over a caller's buffer (tests, fuzzing): 0, or -1 when it is not classic pcap. */
int mcp_pcap_map_init(struct mcp_pcap_map *m, const uint8_t *base, size_t size);
/* 1 and *p (valid until the mapping is dropped), 0 at the end, -1 when a record is cut short
 * or impossible (m->err says which; everything before it was returned). */
int mcp_pcap_map_next(struct mcp_pcap_map *m, struct mcp_pcap_map_pkt *p);
/* Drops the pages before file offset off (frames there are no longer referenced). */
void mcp_pcap_map_release(struct mcp_pcap_map *m, size_t off);
void mcp_pcap_map_close(struct mcp_pcap_map *m);

#endif /* MCP_INPUT_PCAP_MAP_H */
