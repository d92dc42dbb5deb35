/* cap_offline.c - mcp-capture -r: select and write the captured IMSIs' frames of a file. */
#include <errno.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "capture/cap_offline.h"
#include "capture/cap_select.h"
#include "decode/decode.h"
#include "util/log.h"

struct mcp_cap_offline {
	pcap_t *pc;
	int dlt;
	const char *path;
};

int mcp_cap_offline_open(const char *path, struct mcp_cap_offline **out)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	struct mcp_cap_offline *o;
	struct stat st;

	if (strcmp(path, "-") && stat(path, &st)) {
		int err = -errno;

		mcp_err("%s: %s\n", path, strerror(errno));
		return err;
	}
	if (strcmp(path, "-") && S_ISDIR(st.st_mode)) {
		mcp_err("%s: is a directory, not a capture file\n", path);
		return -EISDIR;
	}
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->path = path;
	/* nanosecond precision: the output keeps the input's stamps exactly */
	o->pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (!o->pc) {
		mcp_err("%s: not a readable pcap/pcapng capture: %s\n", path, errbuf);
		free(o);
		return -EINVAL;
	}
	o->dlt = pcap_datalink(o->pc);
	if (mcp_decode_linktype_supported(o->dlt)) {
		const char *name = pcap_datalink_val_to_name(o->dlt);

		mcp_err("%s: unsupported link type %d (%s)\n", path, o->dlt, name ? name : "unknown");
		mcp_cap_offline_close(o);
		return -EPROTONOSUPPORT;
	}
	*out = o;
	return 0;
}

int mcp_cap_offline_linktype(const struct mcp_cap_offline *o)
{
	return o->dlt;
}

static void mcp_cap_offline_result(struct mcp_cap_offline_result *res,
				   const struct mcp_cap_select_stats *st)
{
	res->frames_read = st->frames;
	res->user = st->user;
	res->control = st->control;
	res->frag_held = st->frag_held;
	res->malformed = st->malformed;
}

int mcp_cap_offline_run(struct mcp_cap_offline *o, const struct mcp_imsi_set *imsis,
			int control, const struct mcp_cap_limits *lim, struct mcp_cap_file *w,
			volatile sig_atomic_t *stop, struct mcp_cap_offline_result *res)
{
	struct mcp_cap_select *sel = mcp_cap_select_create(imsis, control);
	struct pcap_pkthdr *h;
	const u_char *data;
	uint64_t first_ns = 0;
	int rc = 0, err = 0;

	memset(res, 0, sizeof(*res));
	if (!sel)
		return -ENOMEM;
	while (!*stop && (rc = pcap_next_ex(o->pc, &h, &data)) == 1) {
		uint64_t ts_ns = (uint64_t)h->ts.tv_sec * 1000000000u + (uint64_t)h->ts.tv_usec;
		uint32_t cap = h->caplen;

		if (!first_ns)
			first_ns = ts_ns ? ts_ns : 1;
		if (lim->duration_ns && ts_ns >= first_ns + lim->duration_ns)
			break;
		if (!mcp_cap_select_frame(sel, o->dlt, data, h->caplen, h->len, ts_ns / 1000))
			continue;
		if (lim->snaplen && cap > lim->snaplen)
			cap = lim->snaplen;
		err = mcp_cap_file_write(w, ts_ns, data, cap, h->len);
		if (err)
			break;
		res->written++;
		if (lim->count && res->written >= lim->count)
			break;
	}
	if (!err && !*stop && rc == PCAP_ERROR) {
		/* a record cut short, or a second pcapng interface of another link type */
		mcp_warn("%s: input ends early after %" PRIu64 " frames: %s\n", o->path,
			 mcp_cap_select_stats(sel)->frames, pcap_geterr(o->pc));
		res->input_truncated = 1;
	}
	mcp_cap_offline_result(res, mcp_cap_select_stats(sel));
	mcp_cap_select_destroy(sel);
	return err;
}

void mcp_cap_offline_close(struct mcp_cap_offline *o)
{
	if (!o)
		return;
	if (o->pc)
		pcap_close(o->pc);
	free(o);
}
