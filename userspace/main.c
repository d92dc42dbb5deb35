/* main.c - mcprobe: read packets (pcap/pcapng file, or live interfaces), turn them into
 * subscriber-aware flow records. The options are in cli/options.c, the offline read loop in
 * input/offline.c, live capture in live/, the work in pipeline/. Exit status: 0 success,
 * 1 runtime failure (an output could not be written), 2 usage or input error.
 */
#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/options.h"
#include "flow/out_file.h"
#include "input/offline.h"
#include "live/live.h"
#include "pipeline/pipeline.h"
#include "resp/resp_server.h"
#include "util/log.h"
#include "util/privs.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	stop_requested = 1;
}

/* logrotate moves the file, then sends SIGHUP: the JSON files reopen their paths. */
static void on_hangup(int sig)
{
	mcp_out_file_request_reopen();
}

static void set_log_level(const struct mcp_options *o)
{
	mcp_log_set_level(o->quiet		 ? MCP_LOG_ERR
			  : o->verbose >= 2 ? MCP_LOG_DEBUG
			  : o->verbose	 ? MCP_LOG_INFO
					 : MCP_LOG_WARN);
}

/* The microcloud's password from the environment when no option gave one. */
static int setup_redis(struct mcp_options *o)
{
	if (!o->use_redis)
		return 0;
	if (!o->redis.password && mcp_mc_parse_auth(&o->redis, NULL)) {
		mcp_err("invalid MCP_REDIS_AUTH (expected [USER:]PASSWORD)\n");
		return -1;
	}
	o->pipe.redis = &o->redis;
	return 0;
}

/* Standard input or a FIFO: records must not wait for data that may come much later. */
static int input_streams(const char *path)
{
	struct stat st;

	return !strcmp(path, "-") || stat(path, &st) || !S_ISREG(st.st_mode);
}

static int run_input(struct mcp_options *o, struct mcp_offline *in, struct mcp_pipeline *p,
		     double *elapsed)
{
	if (o->read_file)
		return mcp_offline_run(in, p, &stop_requested, elapsed);
	o->live.ifaces = o->ifaces;
	o->live.nifaces = o->nifaces;
	return mcp_live_run(&o->live, p, &stop_requested, elapsed);
}

/* Offline, a microcloud write that never reached Redis is an output not written: exit 1. */
static int check_mc_lost(const struct mcp_options *o, struct mcp_pipeline *p, int rc)
{
	uint64_t lost = mcp_pipeline_mc_lost(p);

	if (!lost || !o->read_file)
		return rc;
	mcp_err("microcloud: %" PRIu64 " writes lost (Redis unreachable, refusing or too slow; "
		"--stats has the details)\n", lost);
	return !rc || rc == MCP_EXIT_INPUT_DAMAGED ? 1 : rc;
}

/* The read-only Redis view: from now on the packet thread and the shards answer its
 * snapshot requests (pipeline/view_pub.h). */
static struct mcp_resp_server *start_resp(struct mcp_options *o, struct mcp_pipeline *p)
{
	o->resp.snapshot = mcp_pipeline_snapshot;
	o->resp.snapshot_ctx = p;
	if (mcp_pipeline_share(p)) {
		mcp_err("--resp-listen: out of memory\n");
		return NULL;
	}
	return mcp_resp_server_start(&o->resp);
}

int main(int argc, char **argv)
{
	struct mcp_options o;
	struct mcp_offline in = { 0 };
	struct mcp_pipeline *p;
	struct mcp_resp_server *resp = NULL;
	double elapsed = 0;
	int rc, err;

	/* nDPI, json-c and the microcloud allocate and free per flow: keep freed heap instead of
	 * returning it to the kernel and faulting it back in (a fifth of the run time in a VM).
	 * No M_TOP_PAD: with it glibc serves the large tables' calloc from the heap and zeroes
	 * them page by page (0.2-0.5 s of page faults at start-up) instead of mapping zero pages. */
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	if (mcp_options_parse(argc, argv, &o))
		return 2;
	if (o.help || o.version) {
		if (o.help)
			mcp_options_usage(stdout);
		else
			printf("mcprobe %s (nDPI, libbpf, libxdp, hiredis)\n", MCP_VERSION);
		return 0;
	}
	set_log_level(&o);
	if (setup_redis(&o))
		return 2;
	/* Validate the input before creating outputs: no partial files on bad input. Until it is
	 * open (a FIFO waits for its writer, then for the file header) SIGINT and SIGTERM keep
	 * their default action: there is nothing to flush yet, and a stop flag nobody reads
	 * would leave the probe waiting. */
	if (o.read_file) {
		if (mcp_offline_open(&in, o.read_file))
			return 2;
		in.progress = isatty(STDERR_FILENO) && !o.quiet;
		in.in_place = o.pipe.shards > 1; /* shards read frames where the reader put them */
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, on_hangup);
	o.pipe.records_write_through = !o.read_file || input_streams(o.read_file);
	p = mcp_pipeline_create(&o.pipe);
	if (!p) {
		mcp_offline_close(&in);
		return 1;
	}
	if (o.use_resp && !(resp = start_resp(&o, p))) {
		mcp_offline_close(&in);
		mcp_pipeline_destroy(p);
		return 1;
	}
	/* offline: input and outputs are open, nothing later needs a capability (live mode
	 * drops after its setup, live.c) */
	if (o.read_file)
		mcp_privs_drop(NULL, 0);
	rc = run_input(&o, &in, p, &elapsed);
	mcp_resp_server_stop(resp);
	err = mcp_pipeline_finish(p); /* before the input closes: shards may still read frames */
	mcp_offline_close(&in);
	if (err) {
		mcp_err("writing records failed: %s\n", strerror(-err));
		if (!rc || rc == MCP_EXIT_INPUT_DAMAGED) /* a lost output outranks skipped input */
			rc = 1;
	}
	rc = check_mc_lost(&o, p, rc);
	if (o.stats)
		mcp_pipeline_print_stats(p, stderr, elapsed);
	mcp_pipeline_destroy(p);
	mcp_mc_cfg_free_auth(&o.redis);
	return rc;
}
