/* offline.c - the offline read loop (offline.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "decode/decode.h"
#include "input/offline.h"
#include "input/pcapng.h"
#include "util/log.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One progress line, rewritten in place, while a big file is read on a terminal. */
static void progress(struct mcp_pipeline *p, pcap_t *pc, off_t size, double t0)
{
	struct mcp_pipeline_totals t;
	long pos = ftell(pcap_file(pc));
	double el = now_s() - t0;

	mcp_pipeline_totals(p, &t);
	fprintf(stderr, "\r%5.1f%%  %" PRIu64 " packets  %.0f pkt/s  %u flows   ",
		size > 0 && pos >= 0 ? 100.0 * pos / size : 0.0, t.frames,
		el > 0 ? t.frames / el : 0.0, t.flows_active);
}

/* A regular file, FIFO or device we can read; "-" (standard input) is libpcap's. */
static int check_path(const char *path)
{
	struct stat st;

	if (!strcmp(path, "-"))
		return 0;
	if (stat(path, &st)) {
		mcp_err("%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		mcp_err("%s: is a directory, not a capture file\n", path);
		return -1;
	}
	if (S_ISREG(st.st_mode) && st.st_size == 0) { /* FIFOs stream */
		mcp_err("%s: empty file, not a pcap or pcapng capture\n", path);
		return -1;
	}
	return 0;
}

static pcap_t *open_pcap(const char *path, char *errbuf)
{
	/* Our own stream with a 1 MiB buffer: libpcap's stdio default (a few KiB) costs one
	 * read(2) per few packets, a tenth of the run time in a VM. */
	static char iobuf[1 << 20]; /* glibc ignores the size unless given the buffer */
	FILE *fp;
	pcap_t *pc;

	if (!strcmp(path, "-"))
		return pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO,
							       errbuf);
	fp = fopen(path, "rb");
	if (!fp) {
		snprintf(errbuf, PCAP_ERRBUF_SIZE, "%s", strerror(errno));
		return NULL;
	}
	setvbuf(fp, iobuf, _IOFBF, sizeof(iobuf));
	pc = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, errbuf);
	if (!pc)
		fclose(fp);
	return pc;
}

int mcp_offline_open(struct mcp_offline *in, const char *path)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";

	memset(in, 0, sizeof(*in));
	in->path = path;
	if (check_path(path))
		return -1;
	in->pc = open_pcap(path, errbuf);
	if (!in->pc) {
		mcp_err("%s: not a readable pcap/pcapng capture: %s\n", path, errbuf);
		return -1;
	}
	in->dlt = pcap_datalink(in->pc);
	if (mcp_decode_linktype_supported(in->dlt)) {
		const char *name = pcap_datalink_val_to_name(in->dlt);

		mcp_err("%s: unsupported link type %d (%s)\n", path, in->dlt,
			name ? name : "unknown");
		mcp_offline_close(in);
		return -1;
	}
	return 0;
}

/* Re-reads a pcapng file with mcp_pcapng, skipping the packets libpcap already gave. */
static int run_pcapng_rest(struct mcp_offline *in, struct mcp_pipeline *p,
			   volatile sig_atomic_t *stop, uint64_t skip)
{
	struct mcp_pcapng r;
	struct mcp_pcapng_pkt pkt;
	uint64_t n = 0;
	int rc = 0;

	if (mcp_pcapng_open(&r, in->path)) {
		mcp_err("%s: %s\n", in->path, r.err);
		return 2;
	}
	while (!*stop && (rc = mcp_pcapng_next(&r, &pkt)) == 1) {
		if (n++ < skip)
			continue;
		mcp_pipeline_frame(p, pkt.linktype, pkt.data, pkt.caplen, pkt.wire_len, pkt.ts_us);
	}
	if (rc < 0)
		mcp_warn("%s: capture truncated after %" PRIu64 " packets: %s\n", in->path, n,
			 r.err);
	mcp_pcapng_close(&r);
	return 0;
}

/* libpcap's loop; returns pcap_next_ex's last status and the frame count in *n. */
static int run_pcap(struct mcp_offline *in, struct mcp_pipeline *p, volatile sig_atomic_t *stop,
		    uint64_t *n)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	struct stat st;
	double t0 = now_s(), next_progress = t0 + 1;
	int rc = 0;

	if (fstat(fileno(pcap_file(in->pc)), &st))
		st.st_size = 0;
	while (!*stop && (rc = pcap_next_ex(in->pc, &h, &data)) == 1) {
		uint64_t ts_us = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;

		mcp_pipeline_frame(p, in->dlt, data, h->caplen, h->len, ts_us);
		(*n)++;
		if (in->progress && !(*n & 0xffff) && now_s() >= next_progress) {
			progress(p, in->pc, st.st_size, t0);
			next_progress = now_s() + 1;
		}
	}
	if (in->progress && *n > 0xffff)
		fprintf(stderr, "\r%*s\r", 70, "");
	return rc;
}

int mcp_offline_run(struct mcp_offline *in, struct mcp_pipeline *p, volatile sig_atomic_t *stop,
		    double *elapsed)
{
	double t0 = now_s();
	uint64_t n = 0;
	int rc = run_pcap(in, p, stop, &n);

	if (!*stop && rc == PCAP_ERROR && strstr(pcap_geterr(in->pc), "different from")) {
		/* libpcap 1.10 stops at a second interface with another link type or snapshot
		 * length; read the rest with our own pcapng reader. */
		rc = run_pcapng_rest(in, p, stop, n);
		*elapsed = now_s() - t0;
		return rc;
	}
	if (!*stop && rc == PCAP_ERROR) {
		/* libpcap stops at a record cut short: everything before it was processed. */
		mcp_warn("%s: capture truncated after %" PRIu64 " packets: %s\n", in->path, n,
			 pcap_geterr(in->pc));
	}
	*elapsed = now_s() - t0;
	return 0;
}

void mcp_offline_close(struct mcp_offline *in)
{
	if (in->pc)
		pcap_close(in->pc);
	in->pc = NULL;
}
