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
#include "util/log.h"

#define MCP_PCAPNG_MAGIC 0x0a0d0d0a
#define STREAM_WINDOW (1u << 20) /* holds the largest record whole (pcapfile.h, pcapng.h) */
/* Each of the two buffers of a file read in place: one 2 MiB page, about 3,500 frames of the
 * bench capture, so every refill closes an epoch early (cheap). The buffer read(2) refills
 * was last read on the shards' core: 2 MiB against 8 MiB made 2 workers 5% faster and
 * cheaper (0.62 -> 0.58 s, 1.02 -> 0.96 CPU s), 32 MiB was no faster than 8 and cost 48 MiB
 * more RSS. */
#define IN_PLACE_WINDOW (2u << 20)

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

static int format_of(const uint8_t *magic)
{
	uint32_t m;

	memcpy(&m, magic, 4);
	if (m == MCP_PCAPNG_MAGIC)
		return MCP_FMT_PCAPNG;
	return mcp_pcapfile_magic(magic) ? MCP_FMT_PCAP : MCP_FMT_OTHER;
}

/* A regular file, FIFO or device we can read; "-" is standard input. *stream: not a
 * regular file, so it cannot be reopened or sought. */
static int check_path(const char *path, int *stream)
{
	struct stat st;

	*stream = 1;
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
	*stream = !S_ISREG(st.st_mode);
	if (!*stream && st.st_size == 0) { /* FIFOs stream */
		mcp_err("%s: empty file, not a pcap or pcapng capture\n", path);
		return -1;
	}
	return 0;
}

static pcap_t *open_pcap(struct mcp_offline *in, char *errbuf)
{
	/* Our own stream with a 1 MiB buffer: libpcap's stdio default (a few KiB) costs one
	 * read(2) per few packets, a tenth of the run time in a VM. */
	static char iobuf[1 << 20]; /* glibc ignores the size unless given the buffer */
	uint8_t magic[4] = { 0 };
	FILE *fp;
	pcap_t *pc;

	fp = fopen(in->path, "rb");
	if (!fp) {
		snprintf(errbuf, PCAP_ERRBUF_SIZE, "%s", strerror(errno));
		return NULL;
	}
	setvbuf(fp, iobuf, _IOFBF, sizeof(iobuf));
	if (fread(magic, 1, 4, fp) == 4)
		in->format = format_of(magic);
	rewind(fp);
	pc = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, errbuf);
	if (!pc)
		fclose(fp);
	return pc;
}

/* Standard input or a FIFO: the own reader of its format, from the first byte. The first
 * pcapng packet is read now, so that its link type is checked before any output exists. */
static int open_stream(struct mcp_offline *in)
{
	FILE *fp = strcmp(in->path, "-") ? fopen(in->path, "rb") : stdin;
	struct mcp_window w;

	if (!fp || mcp_window_init(&w, fp, STREAM_WINDOW)) {
		mcp_err("%s: %s\n", in->path, strerror(errno));
		if (fp)
			fclose(fp);
		return -1;
	}
	if (mcp_window_fill(&w, 4) < 4) {
		mcp_err("%s: %s, not a pcap or pcapng capture\n", in->path,
			w.len ? "cut short" : "empty input");
		mcp_window_free(&w);
		return -1;
	}
	in->format = format_of(mcp_window_peek(&w));
	if (in->format == MCP_FMT_PCAP) {
		if (mcp_pcapfile_attach(&in->pf, &w)) {
			mcp_err("%s: not a readable pcap capture: %s\n", in->path, in->pf.err);
			return -1;
		}
		in->dlt = in->pf.linktype;
		return 0;
	}
	if (in->format != MCP_FMT_PCAPNG) {
		mcp_err("%s: not a pcap or pcapng capture\n", in->path);
		mcp_window_free(&w);
		return -1;
	}
	mcp_pcapng_attach(&in->ng, &w);
	in->pending = mcp_pcapng_next(&in->ng, &in->first);
	if (in->pending < 0) {
		mcp_err("%s: %s\n", in->path, in->ng.err);
		return -1;
	}
	in->dlt = in->pending ? in->first.linktype : 1;
	return 0;
}

int mcp_offline_open(struct mcp_offline *in, const char *path)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";

	memset(in, 0, sizeof(*in));
	in->path = path;
	if (check_path(path, &in->stream))
		return -1;
	if (in->stream) {
		if (open_stream(in))
			goto err;
	} else {
		in->pc = open_pcap(in, errbuf);
		if (!in->pc) {
			mcp_err("%s: not a readable pcap/pcapng capture: %s\n", path, errbuf);
			return -1;
		}
		in->dlt = pcap_datalink(in->pc);
	}
	if (mcp_decode_linktype_supported(in->dlt)) {
		const char *name = pcap_datalink_val_to_name(in->dlt);

		mcp_err("%s: unsupported link type %d (%s)\n", path, in->dlt,
			name ? name : "unknown");
		goto err;
	}
	return 0;
err:
	mcp_offline_close(in);
	return -1;
}

/* pcapng with the own reader; the first `skip` packets were already read elsewhere. */
static int run_pcapng(struct mcp_offline *in, struct mcp_pipeline *p,
		      volatile sig_atomic_t *stop, uint64_t skip)
{
	struct mcp_pcapng_pkt pkt;
	uint64_t n = 0;
	int rc = 0;

	if (in->pending) {
		mcp_pipeline_frame(p, in->first.linktype, in->first.data, in->first.caplen,
				   in->first.wire_len, in->first.ts_us);
		in->pending = 0;
	}
	while (!*stop && (rc = mcp_pcapng_next(&in->ng, &pkt)) == 1) {
		if (n++ < skip)
			continue;
		mcp_pipeline_frame(p, pkt.linktype, pkt.data, pkt.caplen, pkt.wire_len, pkt.ts_us);
	}
	in->skipped_bytes += in->ng.skipped_bytes;
	in->resyncs += in->ng.resyncs;
	in->trunc_bytes += in->ng.trunc_bytes;
	if (rc < 0)
		mcp_err("%s: %s\n", in->path, in->ng.err);
	return rc < 0 ? 1 : 0;
}

/* Classic pcap with the own reader; libpcap already gave the first `skip` records. With
 * `snap` (a regular file read from its start instead of through libpcap, whose stdio copies
 * every record twice), records are taken by libpcap's rules until the first damage: capture
 * length at most 256 KiB, cut to the file's snapshot length `snap`. From the first damage on
 * the own reader's rules apply, as when libpcap stops there. */
static int run_pcapfile(struct mcp_offline *in, struct mcp_pipeline *p,
			volatile sig_atomic_t *stop, uint64_t skip, uint32_t snap)
{
	struct mcp_pcapfile_pkt pkt;
	uint64_t n = 0;
	int rc = 0, libpcap_rules;

	for (;;) {
		libpcap_rules = snap && !in->pf.resyncs && !in->pf.skipped_bytes;
		if (*stop || (rc = mcp_pcapfile_next(&in->pf, &pkt, n < skip || libpcap_rules)) != 1)
			break;
		if (n++ < skip)
			continue;
		if (libpcap_rules && !in->pf.resyncs && pkt.caplen > snap)
			pkt.caplen = snap;
		if (in->in_place)
			mcp_pipeline_frame_stable(p, in->dlt, pkt.data, pkt.caplen, pkt.wire_len,
						  pkt.ts_us);
		else
			mcp_pipeline_frame(p, in->dlt, pkt.data, pkt.caplen, pkt.wire_len,
					   pkt.ts_us);
	}
	in->skipped_bytes += in->pf.skipped_bytes;
	in->resyncs += in->pf.resyncs;
	in->trunc_bytes += in->pf.trunc_bytes;
	if (rc < 0)
		mcp_err("%s: %s\n", in->path, in->pf.err);
	return rc < 0 ? 1 : 0;
}

/* A buffer of a file read in place is about to be refilled: the frames in it must be done
 * with; the frames taken so far sit in the other one, refilled next time. */
static void before_reuse(void *ctx)
{
	struct mcp_offline *in = ctx;
	struct mcp_pipeline_totals t;

	mcp_pipeline_retire(in->pipe, in->reuse_upto);
	mcp_pipeline_totals(in->pipe, &t);
	in->reuse_upto = t.frames;
}

/* libpcap stopped early on a regular file: the own reader goes on from where it stopped
 * (snap 0); or reads a classic pcap file from the start by libpcap's rules (snap, see
 * run_pcapfile). */
static int run_rest(struct mcp_offline *in, struct mcp_pipeline *p, volatile sig_atomic_t *stop,
		    uint64_t done, uint32_t snap)
{
	FILE *fp;
	struct mcp_window w;

	if (in->format == MCP_FMT_PCAPNG) {
		if (mcp_pcapng_open(&in->ng, in->path)) {
			mcp_err("%s: %s\n", in->path, in->ng.err);
			return 2;
		}
		return run_pcapng(in, p, stop, done);
	}
	fp = fopen(in->path, "rb");
	if (!fp || mcp_window_init(&w, fp, STREAM_WINDOW)) {
		mcp_err("%s: %s\n", in->path, strerror(errno));
		if (fp)
			fclose(fp);
		return 2;
	}
	if (mcp_pcapfile_attach(&in->pf, &w)) {
		mcp_err("%s: %s\n", in->path, in->pf.err);
		return 2;
	}
	in->pipe = p;
	in->reuse_upto = 0; /* nothing read in place yet */
	if (in->in_place && mcp_window_stable(&in->pf.w, IN_PLACE_WINDOW, before_reuse, in))
		in->in_place = 0; /* no memory for it: frames are copied */
	return run_pcapfile(in, p, stop, done, snap);
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

/* One line each for damage and for a cut-short end; the status says whether data was lost. */
static int report(struct mcp_offline *in, int rc)
{
	if (in->skipped_bytes) {
		mcp_warn("%s: damaged capture: %" PRIu64 " bytes skipped in %" PRIu64
			 " places, reading resumed after each\n",
			 in->path, in->skipped_bytes, in->resyncs);
		if (!rc)
			rc = MCP_EXIT_INPUT_DAMAGED;
	}
	if (in->trunc_bytes)
		mcp_warn("%s: capture truncated: the last %" PRIu64
			 " bytes are an incomplete record\n", in->path, in->trunc_bytes);
	return rc;
}

int mcp_offline_run(struct mcp_offline *in, struct mcp_pipeline *p, volatile sig_atomic_t *stop,
		    double *elapsed)
{
	double t0 = now_s();
	uint64_t n = 0;
	int rc = 0;

	if (in->stream) {
		in->in_place = 0; /* the window slides over what was read: frames are copied */
		/* a stream may wait for data: the RESP view is served meanwhile */
		in->ng.w.idle = in->pf.w.idle = mcp_pipeline_idle;
		in->ng.w.idle_ctx = in->pf.w.idle_ctx = p;
		in->ng.w.stop = in->pf.w.stop = stop;
		rc = in->format == MCP_FMT_PCAPNG ? run_pcapng(in, p, stop, 0)
						  : run_pcapfile(in, p, stop, 0, 0);
	} else if (in->format == MCP_FMT_PCAP) {
		/* classic pcap: the own reader, read(2) into its window and frames by reference;
		 * libpcap's stdio copies every record twice (a tenth of the run) */
		rc = run_rest(in, p, stop, 0, (uint32_t)pcap_snapshot(in->pc));
	} else if (run_pcap(in, p, stop, &n) == PCAP_ERROR && !*stop) {
		if (in->format == MCP_FMT_PCAP || in->format == MCP_FMT_PCAPNG) {
			mcp_dbg("%s: libpcap stopped after %" PRIu64 " packets (%s): going on\n",
				in->path, n, pcap_geterr(in->pc));
			rc = run_rest(in, p, stop, n, 0);
		} else { /* a format only libpcap reads: what it read was processed */
			mcp_warn("%s: capture truncated after %" PRIu64 " packets: %s\n",
				 in->path, n, pcap_geterr(in->pc));
		}
	}
	*elapsed = now_s() - t0;
	return report(in, rc);
}

void mcp_offline_close(struct mcp_offline *in)
{
	if (in->pc)
		pcap_close(in->pc);
	in->pc = NULL;
	mcp_pcapng_close(&in->ng);
	mcp_pcapfile_close(&in->pf);
}
