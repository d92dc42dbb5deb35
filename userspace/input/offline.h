/* offline.h - the offline input: a pcap or pcapng file, a FIFO or standard input, read to the
 * end (or until *stop) into the pipeline. libpcap reads it; what libpcap 1.10 refuses (a
 * pcapng whose interfaces differ in link type or snapshot length) goes on with pcapng.h.
 */
#ifndef MCP_INPUT_OFFLINE_H
#define MCP_INPUT_OFFLINE_H

#include <signal.h>

#include <pcap/pcap.h>

#include "pipeline/pipeline.h"

struct mcp_offline {
	const char *path; /* "-" is standard input */
	pcap_t *pc;
	int dlt;
	int progress; /* a progress line on stderr (a terminal, not --quiet) */
};

/* Opens and checks the capture before any output exists. 0, or -1 after one message saying
 * why it cannot be read (exit status 2). */
int mcp_offline_open(struct mcp_offline *in, const char *path);
/* Feeds every frame to p. Returns an exit status (0, or 2 when the rest of a multi-interface
 * pcapng cannot be reopened); a truncated capture is a warning. */
int mcp_offline_run(struct mcp_offline *in, struct mcp_pipeline *p, volatile sig_atomic_t *stop,
		    double *elapsed);
void mcp_offline_close(struct mcp_offline *in);

#endif /* MCP_INPUT_OFFLINE_H */
