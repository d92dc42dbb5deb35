/* offline.h - the offline input: a pcap or pcapng file, a FIFO or standard input, read to the
 * end (or until *stop) into the pipeline.
 *
 * A regular file goes through libpcap. Where libpcap stops early (a pcapng whose interfaces
 * differ in link type or snapshot length, a damaged record), the rest is read with the own
 * readers (pcapng.h, pcapfile.h), which resynchronise after damage. A stream (standard input,
 * FIFO) cannot be reopened, so it is read with the own readers from its first byte.
 */
#ifndef MCP_INPUT_OFFLINE_H
#define MCP_INPUT_OFFLINE_H

#include <signal.h>
#include <stdint.h>

#include <pcap/pcap.h>

#include "input/pcapfile.h"
#include "input/pcapng.h"
#include "pipeline/pipeline.h"

/* Exit status of a run that skipped damaged capture data (everything readable was used). */
#define MCP_EXIT_INPUT_DAMAGED 3

enum mcp_capture_format { MCP_FMT_PCAP = 1, MCP_FMT_PCAPNG, MCP_FMT_OTHER };

struct mcp_offline {
	const char *path; /* "-" is standard input */
	pcap_t *pc;       /* a regular file: libpcap */
	int dlt;
	int progress;     /* a progress line on stderr (a terminal, not --quiet) */
	int format;       /* enum mcp_capture_format, from the magic */
	int stream;       /* standard input or a FIFO: read by ng / pf below */
	struct mcp_pcapng ng;
	struct mcp_pcapfile pf;
	int pending;      /* stream pcapng: the first packet, read by open to learn its link */
	struct mcp_pcapng_pkt first;
	/* damage found on the way (from the own readers) */
	uint64_t skipped_bytes, resyncs, trunc_bytes;
	/* Frames go to the pipeline in place (set before the run, for shards): a classic pcap
	 * file is read into two large buffers taking turns, and a buffer is refilled only once
	 * the pipeline has retired every frame in it. */
	int in_place;
	struct mcp_pipeline *pipe; /* in_place: whom to ask */
	uint64_t reuse_upto;       /* in_place: frames in the buffer to be refilled next */
};

/* Opens and checks the capture before any output exists. 0, or -1 after one message saying
 * why it cannot be read (exit status 2). */
int mcp_offline_open(struct mcp_offline *in, const char *path);
/* Feeds every frame to p. Returns an exit status: 0; MCP_EXIT_INPUT_DAMAGED when damaged
 * data was skipped (reported on stderr); 2 when the rest of a file cannot be reopened. A
 * capture whose last record is cut short is a warning, not an error. */
int mcp_offline_run(struct mcp_offline *in, struct mcp_pipeline *p, volatile sig_atomic_t *stop,
		    double *elapsed);
void mcp_offline_close(struct mcp_offline *in);

#endif /* MCP_INPUT_OFFLINE_H */
