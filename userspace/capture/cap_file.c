/* cap_file.c - pcap / pcapng writer with atomic rename, rotation and --keep (cap_file.h).
 *
 * pcap: the libpcap file format with the nanosecond magic 0xa1b23c4d. pcapng: IETF draft
 * draft-ietf-opsawg-pcapng, Section Header Block, one Interface Description Block
 * (if_tsresol = 9: nanoseconds) and Enhanced Packet Blocks, in host byte order.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/cap_file.h"
#include "util/log.h"

#define MCP_PCAP_MAGIC_NS   0xa1b23c4du
#define MCP_PCAPNG_SHB      0x0a0d0d0au
#define MCP_PCAPNG_IDB      0x00000001u
#define MCP_PCAPNG_EPB      0x00000006u
#define MCP_PCAPNG_BOM      0x1a2b3c4du
#define MCP_OPT_END         0
#define MCP_OPT_COMMENT     1
#define MCP_OPT_SHB_USERAPPL 4
#define MCP_OPT_IF_NAME     2
#define MCP_OPT_IF_TSRESOL  9
#define MCP_CAP_IOBUF       (1u << 20)

struct mcp_cap_file {
	struct mcp_cap_file_cfg cfg;
	FILE *fp;                /* NULL between a rotation and the next record */
	char tmp[4096];          /* temporary name of the open file */
	char final[4096];        /* its final name */
	uint32_t seq;            /* number of the open (or last) file, 1-based */
	uint64_t file_bytes;     /* bytes in the open file */
	uint64_t file_first_ns;  /* stamp of the open file's first record, 0 = none yet */
	char *iobuf;             /* stdio buffer of the open file */
	char **done;             /* completed files still on disk, oldest first (keep only) */
	uint32_t ndone;
	struct mcp_cap_file_stats st;
};

int mcp_cap_file_rotated_name(const char *path, uint32_t seq, char *out, size_t outsz)
{
	const char *base = strrchr(path, '/'), *dot;
	int n;

	base = base ? base + 1 : path;
	dot = strrchr(base, '.');
	if (!dot || dot == base)
		n = snprintf(out, outsz, "%s.%06u", path, seq);
	else
		n = snprintf(out, outsz, "%.*s.%06u%s", (int)(dot - path), path, seq, dot);
	return n < 0 || (size_t)n >= outsz ? -ENAMETOOLONG : 0;
}

/* ".NAME.part" next to the final name, so the rename stays within one file system. */
static int mcp_cap_tmp_name(const char *final, char *out, size_t outsz)
{
	const char *slash = strrchr(final, '/');
	int n;

	if (slash)
		n = snprintf(out, outsz, "%.*s/.%s.part", (int)(slash - final), final, slash + 1);
	else
		n = snprintf(out, outsz, ".%s.part", final);
	return n < 0 || (size_t)n >= outsz ? -ENAMETOOLONG : 0;
}

static int mcp_cap_put(struct mcp_cap_file *w, const void *p, size_t n)
{
	if (n && fwrite(p, 1, n, w->fp) != n)
		return -(errno ? errno : EIO);
	w->file_bytes += n;
	w->st.bytes += n;
	return 0;
}

/* One pcapng option: code, length, value padded to 4 bytes. */
static int mcp_cap_opt(struct mcp_cap_file *w, uint16_t code, const void *val, uint16_t len)
{
	static const uint8_t zero[4];
	uint16_t h[2] = { code, len };
	int err = mcp_cap_put(w, h, sizeof(h));

	if (!err)
		err = mcp_cap_put(w, val, len);
	if (!err)
		err = mcp_cap_put(w, zero, (4 - len % 4) % 4);
	return err;
}

static uint32_t mcp_opt_size(const char *s)
{
	uint32_t len;

	if (!s || !*s)
		return 0;
	len = (uint32_t)strnlen(s, 60000);
	return 4 + ((len + 3) & ~3u);
}

static uint16_t mcp_opt_len(const char *s)
{
	return (uint16_t)strnlen(s, 60000);
}

static int mcp_cap_pcapng_header(struct mcp_cap_file *w)
{
	static const char appl[] = "mcp-capture (mcprobe)";
	const char *comment = w->cfg.comment, *ifname = w->cfg.ifname;
	uint8_t tsresol = 9;
	uint32_t shb_len = 28 + mcp_opt_size(comment) + mcp_opt_size(appl) + 4;
	uint32_t idb_len = 20 + mcp_opt_size(ifname) + mcp_opt_size(comment) + 8 + 4;
	uint32_t shb[6] = { MCP_PCAPNG_SHB, shb_len, MCP_PCAPNG_BOM, 1 /* major 1, minor 0 */,
			    0xffffffffu, 0xffffffffu /* section length unknown */ };
	uint32_t idb[4] = { MCP_PCAPNG_IDB, idb_len, (uint32_t)(w->cfg.linktype & 0xffff),
			    w->cfg.snaplen };
	uint32_t end = 0;
	int err;

	err = mcp_cap_put(w, shb, sizeof(shb));
	if (!err && comment && *comment)
		err = mcp_cap_opt(w, MCP_OPT_COMMENT, comment, mcp_opt_len(comment));
	if (!err)
		err = mcp_cap_opt(w, MCP_OPT_SHB_USERAPPL, appl, sizeof(appl) - 1);
	if (!err)
		err = mcp_cap_put(w, &end, 4); /* opt_endofopt */
	if (!err)
		err = mcp_cap_put(w, &shb_len, 4);
	if (!err)
		err = mcp_cap_put(w, idb, sizeof(idb));
	if (!err && ifname && *ifname)
		err = mcp_cap_opt(w, MCP_OPT_IF_NAME, ifname, mcp_opt_len(ifname));
	if (!err && comment && *comment)
		err = mcp_cap_opt(w, MCP_OPT_COMMENT, comment, mcp_opt_len(comment));
	if (!err)
		err = mcp_cap_opt(w, MCP_OPT_IF_TSRESOL, &tsresol, 1);
	if (!err)
		err = mcp_cap_put(w, &end, 4);
	if (!err)
		err = mcp_cap_put(w, &idb_len, 4);
	return err;
}

static int mcp_cap_pcap_header(struct mcp_cap_file *w)
{
	uint32_t h[6] = { MCP_PCAP_MAGIC_NS, 2 | 4u << 16 /* version 2.4 */, 0, 0, w->cfg.snaplen,
			  (uint32_t)w->cfg.linktype };

	return mcp_cap_put(w, h, sizeof(h));
}

/* Opens file number w->seq + 1 under its temporary name and writes its header. */
static int mcp_cap_open_next(struct mcp_cap_file *w)
{
	int err, rotating = w->cfg.rotate_bytes || w->cfg.rotate_ns;

	w->seq++;
	if (rotating)
		err = mcp_cap_file_rotated_name(w->cfg.path, w->seq, w->final, sizeof(w->final));
	else
		err = snprintf(w->final, sizeof(w->final), "%s", w->cfg.path) >=
		      (int)sizeof(w->final) ? -ENAMETOOLONG : 0;
	if (!err)
		err = mcp_cap_tmp_name(w->final, w->tmp, sizeof(w->tmp));
	if (err) {
		mcp_err("%s: file name too long\n", w->cfg.path);
		return err;
	}
	w->fp = fopen(w->tmp, "wbx");
	if (!w->fp && errno == EEXIST) { /* left by a killed run: ours to replace */
		unlink(w->tmp);
		w->fp = fopen(w->tmp, "wbx");
	}
	if (!w->fp) {
		err = -errno;
		mcp_err("%s: cannot write: %s\n", w->final, strerror(-err));
		return err;
	}
	setvbuf(w->fp, w->iobuf, _IOFBF, MCP_CAP_IOBUF);
	w->file_bytes = 0;
	w->file_first_ns = 0;
	err = w->cfg.pcapng ? mcp_cap_pcapng_header(w) : mcp_cap_pcap_header(w);
	if (err)
		mcp_err("%s: %s\n", w->tmp, strerror(-err));
	return err;
}

/* Deletes the oldest completed files beyond cfg.keep. */
static void mcp_cap_enforce_keep(struct mcp_cap_file *w)
{
	uint32_t i;

	while (w->cfg.keep && w->ndone > w->cfg.keep) {
		if (unlink(w->done[0]) && errno != ENOENT)
			mcp_warn("%s: cannot delete (--keep): %s\n", w->done[0], strerror(errno));
		else
			w->st.files_deleted++;
		free(w->done[0]);
		for (i = 1; i < w->ndone; i++)
			w->done[i - 1] = w->done[i];
		w->ndone--;
	}
}

/* Flushes, syncs and renames the open file to its final name. */
static int mcp_cap_finish(struct mcp_cap_file *w)
{
	int err = 0;

	if (!w->fp)
		return 0;
	if (fflush(w->fp) || fsync(fileno(w->fp)))
		err = -errno;
	if (fclose(w->fp) && !err)
		err = -errno;
	w->fp = NULL;
	if (!err && rename(w->tmp, w->final))
		err = -errno;
	if (err) {
		mcp_err("%s: cannot complete: %s\n", w->final, strerror(-err));
		unlink(w->tmp);
		return err;
	}
	w->st.files_done++;
	if (w->cfg.keep) {
		w->done[w->ndone] = strdup(w->final);
		if (w->done[w->ndone])
			w->ndone++;
		mcp_cap_enforce_keep(w);
	}
	return 0;
}

int mcp_cap_file_create(const struct mcp_cap_file_cfg *cfg, struct mcp_cap_file **out)
{
	struct mcp_cap_file *w = calloc(1, sizeof(*w));
	int err;

	if (!w)
		return -ENOMEM;
	w->cfg = *cfg;
	w->iobuf = malloc(MCP_CAP_IOBUF);
	if (!w->iobuf) {
		free(w);
		return -ENOMEM;
	}
	if (cfg->keep) {
		w->done = calloc(cfg->keep + 1, sizeof(*w->done));
		if (!w->done) {
			free(w->iobuf);
			free(w);
			return -ENOMEM;
		}
	}
	err = mcp_cap_open_next(w);
	if (err) {
		mcp_cap_file_abort(w);
		return err;
	}
	*out = w;
	return 0;
}

static int mcp_cap_needs_rotation(const struct mcp_cap_file *w, uint64_t ts_ns, uint64_t rec)
{
	if (!w->fp || w->file_first_ns == 0)
		return 0; /* an empty file takes the record whatever its size */
	if (w->cfg.rotate_bytes && w->file_bytes + rec > w->cfg.rotate_bytes)
		return 1;
	return w->cfg.rotate_ns && ts_ns >= w->file_first_ns + w->cfg.rotate_ns;
}

int mcp_cap_file_write(struct mcp_cap_file *w, uint64_t ts_ns, const uint8_t *data,
		       uint32_t caplen, uint32_t wire_len)
{
	uint32_t pad = (4 - caplen % 4) % 4;
	uint64_t rec = w->cfg.pcapng ? 32u + caplen + pad : 16u + caplen;
	int err = 0;

	if (mcp_cap_needs_rotation(w, ts_ns, rec))
		err = mcp_cap_finish(w);
	if (!err && !w->fp)
		err = mcp_cap_open_next(w);
	if (err)
		return err;
	if (!w->file_first_ns)
		w->file_first_ns = ts_ns ? ts_ns : 1;
	if (w->cfg.pcapng) {
		static const uint8_t zero[4];
		uint32_t len = (uint32_t)rec;
		uint32_t h[7] = { MCP_PCAPNG_EPB, len, 0, (uint32_t)(ts_ns >> 32),
				  (uint32_t)ts_ns, caplen, wire_len };

		err = mcp_cap_put(w, h, sizeof(h));
		if (!err)
			err = mcp_cap_put(w, data, caplen);
		if (!err)
			err = mcp_cap_put(w, zero, pad);
		if (!err)
			err = mcp_cap_put(w, &len, 4);
	} else {
		uint32_t h[4] = { (uint32_t)(ts_ns / 1000000000u), (uint32_t)(ts_ns % 1000000000u),
				  caplen, wire_len };

		err = mcp_cap_put(w, h, sizeof(h));
		if (!err)
			err = mcp_cap_put(w, data, caplen);
	}
	if (err) {
		mcp_err("%s: write failed: %s\n", w->tmp, strerror(-err));
		return err;
	}
	w->st.packets++;
	return 0;
}

int mcp_cap_file_close(struct mcp_cap_file *w)
{
	int err = mcp_cap_finish(w);
	uint32_t i;

	for (i = 0; i < w->ndone; i++)
		free(w->done[i]);
	free(w->done);
	free(w->iobuf);
	free(w);
	return err;
}

void mcp_cap_file_abort(struct mcp_cap_file *w)
{
	uint32_t i;

	if (w->fp) {
		fclose(w->fp);
		unlink(w->tmp);
	}
	for (i = 0; i < w->ndone; i++)
		free(w->done[i]);
	free(w->done);
	free(w->iobuf);
	free(w);
}

const struct mcp_cap_file_stats *mcp_cap_file_stats(const struct mcp_cap_file *w)
{
	return &w->st;
}
