/* out_file.c - record files that reopen on request and rotate by size or age (out_file.h). */
#include "flow/out_file.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"

/* Rotated names tried per second before giving up (PATH.<time>.1 ... .99). */
#define MAX_SAME_SECOND 100

static volatile sig_atomic_t reopen_generation;

struct mcp_out_file {
	FILE *fp;
	char *path;
	int is_stdout;
	int err;
	sig_atomic_t generation;
	uint64_t bytes, max_bytes;
	time_t opened, max_age;
};

void mcp_out_file_request_reopen(void)
{
	reopen_generation++;
}

struct mcp_out_file *mcp_out_file_open(const char *path, uint64_t max_bytes, uint32_t max_age_s)
{
	struct mcp_out_file *f = calloc(1, sizeof(*f));
	struct stat st;
	int err;

	if (!f)
		return NULL;
	f->generation = reopen_generation;
	f->max_bytes = max_bytes;
	f->max_age = max_age_s;
	f->opened = time(NULL);
	if (!strcmp(path, "-")) {
		f->fp = stdout;
		f->is_stdout = 1;
		return f;
	}
	f->path = strdup(path);
	if (f->path && (f->fp = fopen(path, "w"))) {
		if (!fstat(fileno(f->fp), &st) && !S_ISREG(st.st_mode))
			f->max_bytes = f->max_age = 0; /* a FIFO or device: nothing to rotate */
		return f;
	}
	err = errno;
	free(f->path);
	free(f);
	errno = err;
	return NULL;
}

/* Renames the current file out of the way: PATH.<UTC time>[.n]. 0 or -errno. */
static int move_aside(const struct mcp_out_file *f)
{
	char stamp[32], name[PATH_MAX];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
	for (int n = 0; n < MAX_SAME_SECOND; n++) {
		if (n)
			snprintf(name, sizeof(name), "%s.%s.%d", f->path, stamp, n);
		else
			snprintf(name, sizeof(name), "%s.%s", f->path, stamp);
		if (access(name, F_OK))
			return rename(f->path, name) ? -errno : 0;
	}
	return -EEXIST;
}

/* Closes and opens PATH again (after a rotation or an outside rename). 0 or -errno. */
static int reopen(struct mcp_out_file *f, int rotate)
{
	int err = 0;

	if (fclose(f->fp))
		err = -errno;
	f->fp = NULL;
	if (rotate && !err)
		err = move_aside(f);
	if (!(f->fp = fopen(f->path, rotate ? "w" : "a")) && !err)
		err = -errno;
	f->bytes = 0;
	f->opened = time(NULL);
	if (err)
		mcp_err("%s: cannot %s: %s\n", f->path, rotate ? "rotate" : "reopen",
			strerror(-err));
	return err;
}

FILE *mcp_out_file_begin(struct mcp_out_file *f)
{
	int gen = reopen_generation, rotate;

	if (f->is_stdout)
		return f->fp;
	rotate = (f->max_bytes && f->bytes >= f->max_bytes) ||
		 (f->max_age && time(NULL) >= f->opened + f->max_age);
	if (f->fp && !rotate && gen == f->generation)
		return f->fp;
	f->generation = gen;
	if (!f->fp) {
		if ((f->fp = fopen(f->path, "a")))
			return f->fp;
		return NULL;
	}
	if (reopen(f, rotate) && !f->err)
		f->err = -EIO;
	return f->fp;
}

void mcp_out_file_end(struct mcp_out_file *f, size_t len, int err)
{
	f->bytes += len;
	if (err && !f->err)
		f->err = err;
}

int mcp_out_file_close(struct mcp_out_file *f)
{
	int err;

	if (!f)
		return 0;
	err = f->err;
	if (f->fp && fflush(f->fp) && !err)
		err = -errno;
	if (f->fp && !f->is_stdout && fclose(f->fp) && !err)
		err = -errno;
	free(f->path);
	free(f);
	return err;
}
