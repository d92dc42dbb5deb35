/* cap_file.h - mcp-capture's output: pcap (nanosecond stamps) or pcapng files, written
 * atomically, rotated by size or time, with the oldest deleted beyond --keep.
 *
 * Formats: the libpcap format with magic 0xa1b23c4d (nanosecond resolution), or pcapng
 * (draft-ietf-opsawg-pcapng: SHB, one IDB with if_tsresol 9, EPBs). A file is written under
 * a hidden temporary name in the same directory (".NAME.part") and renamed to its final name
 * only once it is complete, so a reader never sees a half-written file under a final name.
 */
#ifndef MCP_CAP_FILE_H
#define MCP_CAP_FILE_H

#include <stdint.h>

struct mcp_cap_file_cfg {
	const char *path;       /* final name; with rotation, NAME.000001.EXT, ... */
	int pcapng;             /* 0 = pcap with nanosecond stamps */
	int linktype;           /* DLT_* of the frames */
	uint32_t snaplen;       /* written in the file header */
	uint64_t rotate_bytes;  /* 0 = no size rotation */
	uint64_t rotate_ns;     /* 0 = no time rotation (packet time) */
	uint32_t keep;          /* with rotation: completed files kept, oldest deleted; 0 = all */
	const char *comment;    /* pcapng: section and interface comment (the IMSIs) */
	const char *ifname;     /* pcapng: interface name, NULL = none */
};

struct mcp_cap_file_stats {
	uint64_t packets, bytes; /* records and bytes written, headers included */
	uint32_t files_done;     /* files renamed to their final name */
	uint32_t files_deleted;  /* by --keep */
};

struct mcp_cap_file;

/* Creates the writer and its first file (under the temporary name): an unwritable path fails
 * here, before any packet. *out on success; -errno (logged once with the path) otherwise. */
int mcp_cap_file_create(const struct mcp_cap_file_cfg *cfg, struct mcp_cap_file **out);

/* Appends one record; rotates first if the record would cross the size or time limit.
 * 0, or -errno (logged; the writer is then only good for abort). */
int mcp_cap_file_write(struct mcp_cap_file *w, uint64_t ts_ns, const uint8_t *data,
		       uint32_t caplen, uint32_t wire_len);

/* Completes the current file (flush, fsync, rename) and frees the writer. 0 or -errno. */
int mcp_cap_file_close(struct mcp_cap_file *w);

/* Removes the current temporary file and frees the writer (files already completed stay). */
void mcp_cap_file_abort(struct mcp_cap_file *w);

const struct mcp_cap_file_stats *mcp_cap_file_stats(const struct mcp_cap_file *w);

/* Final name of file number seq (1-based) of a rotating writer: NAME.000001.EXT. 0 or
 * -ENAMETOOLONG. Exposed for tests and the documentation's examples. */
int mcp_cap_file_rotated_name(const char *path, uint32_t seq, char *out, size_t outsz);

#endif /* MCP_CAP_FILE_H */
