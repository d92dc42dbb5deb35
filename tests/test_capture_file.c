/* test_capture_file.c - userspace/capture: the pcap/pcapng writer (byte layout read back with
 * libpcap, the independent reader), rotation names, --keep, atomic rename, errors; the IMSI
 * set; the remote tunnel set with its grace.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture/cap_file.h"
#include "capture/cap_tunset.h"
#include "capture/imsi_set.h"

static char dir[64];

static void mkdir_tmp(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_capture_XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void rm_tmp(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

static int count_files(void)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	while ((de = readdir(d)))
		n += de->d_name[0] != '.' || (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."));
	closedir(d);
	return n;
}

static struct mcp_cap_file *writer(const char *name, int pcapng, uint64_t rot_bytes,
				   uint64_t rot_ns, uint32_t keep)
{
	static char path[128];
	struct mcp_cap_file_cfg c = { .pcapng = pcapng, .linktype = DLT_EN10MB, .snaplen = 2048,
				      .rotate_bytes = rot_bytes, .rotate_ns = rot_ns, .keep = keep,
				      .comment = "IMSI 001010000000001", .ifname = "veth0" };
	struct mcp_cap_file *w = NULL;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	c.path = path;
	cr_assert_eq(mcp_cap_file_create(&c, &w), 0);
	return w;
}

/* Reads path back with libpcap at nanosecond precision: n frames, stamps and lengths. */
static void expect_file(const char *name, int n, uint64_t first_ns, uint64_t step_ns)
{
	char path[128], err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	pcap_t *pc;
	int i = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, err);
	cr_assert_not_null(pc, "%s: %s", path, err);
	cr_assert_eq(pcap_datalink(pc), DLT_EN10MB);
	while (pcap_next_ex(pc, &h, &d) == 1) {
		uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000000u + (uint64_t)h->ts.tv_usec;

		cr_assert_eq(ts, first_ns + (uint64_t)i * step_ns, "frame %d stamp", i);
		cr_assert_eq(h->caplen, 60u + (uint32_t)i % 7);
		cr_assert_eq(h->len, 1500u);
		cr_assert_eq(d[0], (u_char)i);
		i++;
	}
	pcap_close(pc);
	cr_assert_eq(i, n, "%s: %d frames, expected %d", name, i, n);
}

static void write_frames(struct mcp_cap_file *w, int from, int n, uint64_t t0, uint64_t step)
{
	uint8_t buf[128];
	int i;

	for (i = from; i < from + n; i++) {
		memset(buf, 0, sizeof(buf));
		buf[0] = (uint8_t)i;
		cr_assert_eq(mcp_cap_file_write(w, t0 + (uint64_t)i * step, buf, 60 + i % 7, 1500), 0);
	}
}

TestSuite(capture_file, .init = mkdir_tmp, .fini = rm_tmp);

Test(capture_file, pcap_ns_and_pcapng_read_back_exactly)
{
	const uint64_t t0 = 1700000000123456789ull;
	struct mcp_cap_file *w = writer("a.pcap", 0, 0, 0, 0);

	char final[128];

	snprintf(final, sizeof(final), "%s/a.pcap", dir);
	write_frames(w, 0, 20, t0, 1001);
	cr_assert_eq(access(final, F_OK), -1); /* nothing under the final name yet */
	cr_assert_eq(mcp_cap_file_close(w), 0);
	expect_file("a.pcap", 20, t0, 1001);
	w = writer("b.pcapng", 1, 0, 0, 0);
	write_frames(w, 0, 20, t0, 1001);
	cr_assert_eq(mcp_cap_file_close(w), 0);
	expect_file("b.pcapng", 20, t0, 1001);
	cr_assert_eq(count_files(), 2); /* no .part left */
}

Test(capture_file, temporary_name_until_complete)
{
	char part[128], final[128];
	struct mcp_cap_file *w = writer("c.pcap", 0, 0, 0, 0);

	snprintf(part, sizeof(part), "%s/.c.pcap.part", dir);
	snprintf(final, sizeof(final), "%s/c.pcap", dir);
	write_frames(w, 0, 3, 1000000000, 1);
	cr_assert_eq(access(part, F_OK), 0);
	cr_assert_eq(access(final, F_OK), -1);
	mcp_cap_file_abort(w);
	cr_assert_eq(access(part, F_OK), -1, "abort removes the temporary file");
	cr_assert_eq(access(final, F_OK), -1);
}

Test(capture_file, rotation_by_time_and_keep)
{
	struct mcp_cap_file *w = writer("r.pcap", 0, 0, 10 * 1000000000ull, 2);

	/* 50 frames one second apart: files of 10 s = 5 files, the 2 newest kept */
	write_frames(w, 0, 50, 1000000000000ull, 1000000000ull);
	cr_assert_eq(mcp_cap_file_close(w), 0);
	cr_assert_eq(count_files(), 2);
	{
		pcap_t *pc;
		char p[128], err[PCAP_ERRBUF_SIZE];

		snprintf(p, sizeof(p), "%s/r.000005.pcap", dir);
		pc = pcap_open_offline(p, err);
		cr_assert_not_null(pc, "newest file kept: %s", err);
		pcap_close(pc);
		snprintf(p, sizeof(p), "%s/r.000003.pcap", dir);
		cr_assert_eq(access(p, F_OK), -1, "older files deleted");
	}
}

Test(capture_file, rotation_by_size_never_exceeds)
{
	struct mcp_cap_file *w = writer("s.pcap", 0, 1000, 0, 0);
	const struct mcp_cap_file_stats *st;
	DIR *d;
	struct dirent *de;
	struct stat sb;
	char p[400];

	write_frames(w, 0, 100, 1000000000, 1);
	st = mcp_cap_file_stats(w);
	cr_assert_eq(st->packets, 100);
	cr_assert_eq(mcp_cap_file_close(w), 0);
	d = opendir(dir);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		cr_assert_eq(stat(p, &sb), 0);
		cr_assert_leq(sb.st_size, 1000);
	}
	closedir(d);
	cr_assert_geq(count_files(), 7); /* 100 records of ~80 bytes */
}

Test(capture_file, unwritable_path_fails_at_create)
{
	struct mcp_cap_file_cfg c = { .path = "/nonexistent-dir/x.pcap", .linktype = DLT_EN10MB,
				      .snaplen = 100 };
	struct mcp_cap_file *w = NULL;

	cr_assert_eq(mcp_cap_file_create(&c, &w), -ENOENT);
	cr_assert_null(w);
}

Test(capture_file, rotated_names)
{
	char b[64];

	cr_assert_eq(mcp_cap_file_rotated_name("dir.x/imsi.pcap", 7, b, sizeof(b)), 0);
	cr_assert_str_eq(b, "dir.x/imsi.000007.pcap");
	cr_assert_eq(mcp_cap_file_rotated_name("dir.x/imsi", 7, b, sizeof(b)), 0);
	cr_assert_str_eq(b, "dir.x/imsi.000007");
	cr_assert_eq(mcp_cap_file_rotated_name(".hidden", 1, b, sizeof(b)), 0);
	cr_assert_str_eq(b, ".hidden.000001");
	cr_assert_eq(mcp_cap_file_rotated_name("abcdefghij.pcap", 1, b, 8), -ENAMETOOLONG);
}

Test(imsi_set, validation_and_lookup)
{
	struct mcp_imsi_set s = { 0 };
	char d[64];

	cr_assert_eq(mcp_imsi_valid("123456"), 0);
	cr_assert_eq(mcp_imsi_valid("123456789012345"), 0);
	cr_assert_eq(mcp_imsi_valid("12345"), -EINVAL);
	cr_assert_eq(mcp_imsi_valid("1234567890123456"), -EINVAL);
	cr_assert_eq(mcp_imsi_valid("12345a"), -EINVAL);
	cr_assert_eq(mcp_imsi_valid(""), -EINVAL);
	cr_assert_eq(mcp_imsi_set_add(&s, "001010000000002"), 0);
	cr_assert_eq(mcp_imsi_set_add(&s, "001010000000001"), 0);
	cr_assert_eq(mcp_imsi_set_add(&s, "001010000000002"), 0);
	cr_assert_eq(mcp_imsi_set_add(&s, "x"), -EINVAL);
	cr_assert_eq(s.n, 2);
	cr_assert(mcp_imsi_set_has(&s, "001010000000001"));
	cr_assert(!mcp_imsi_set_has(&s, "001010000000003"));
	cr_assert(!mcp_imsi_set_has(&s, ""));
	mcp_imsi_set_describe(&s, d, sizeof(d));
	cr_assert_str_eq(d, "IMSI 001010000000001,001010000000002");
	mcp_imsi_set_describe(&s, d, 24);
	cr_assert_eq(strlen(d) < 24, 1);
	mcp_imsi_set_free(&s);
}

static const uint8_t sgw_u[4] = { 10, 20, 0, 2 };

static void sub_with(struct mcp_subscriber *s, const char *imsi, uint32_t teid, uint8_t state)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->imsi, sizeof(s->imsi), "%s", imsi);
	s->state = state;
	s->ntunnels = 1;
	s->tunnels[0].teid = teid;
	mcp_ip_from_v4(&s->tunnels[0].addr, sgw_u);
}

Test(cap_tunset, refresh_replaces_with_grace)
{
	struct mcp_cap_tunset *t = mcp_cap_tunset_create(1000);
	struct mcp_subscriber s;
	struct mcp_ip a;

	mcp_ip_from_v4(&a, sgw_u);
	sub_with(&s, "001010000000001", 100, MCP_SUB_ACTIVE);
	cr_assert_eq(mcp_cap_tunset_refresh(t, &s, 10000), 0);
	cr_assert(mcp_cap_tunset_has(t, 100, &a, 10001));
	sub_with(&s, "001010000000001", 200, MCP_SUB_ACTIVE); /* handover: new TEID */
	mcp_cap_tunset_refresh(t, &s, 20000);
	cr_assert(mcp_cap_tunset_has(t, 200, &a, 20001));
	cr_assert(mcp_cap_tunset_has(t, 100, &a, 20999), "old tunnel within its grace");
	cr_assert(!mcp_cap_tunset_has(t, 100, &a, 21000), "old tunnel after its grace");
	sub_with(&s, "001010000000001", 200, MCP_SUB_DELETED); /* delete: grace for all */
	mcp_cap_tunset_refresh(t, &s, 30000);
	cr_assert(mcp_cap_tunset_has(t, 200, &a, 30500));
	cr_assert(!mcp_cap_tunset_has(t, 200, &a, 31000));
	cr_assert_eq(mcp_cap_tunset_count(t, 31000), 0);
	mcp_cap_tunset_destroy(t);
}
