/* options.h - mcprobe's command line: one table drives getopt_long, the usage text and the
 * parsing of every option (options.c). A new option is one row there and one field here.
 */
#ifndef MCP_CLI_OPTIONS_H
#define MCP_CLI_OPTIONS_H

#include <stdio.h>

#include "live/live.h"
#include "microcloud/microcloud.h"
#include "pipeline/pipeline.h"

#define MCP_VERSION "0.1.0"
#define MCP_MAX_IFACES 8

struct mcp_options {
	const char *read_file;
	const char *ifaces[MCP_MAX_IFACES];
	int nifaces;
	int stats;
	int verbose;
	int quiet;
	int help;    /* --help: usage printed, exit 0 */
	int version; /* --version: version printed, exit 0 */
	struct mcp_pipeline_cfg pipe;
	struct mcp_mc_cfg redis;
	int use_redis;
	struct mcp_live_cfg live;
};

/* Fills the defaults, then parses argv. 0, or -EINVAL after one message naming the bad
 * option or value (exit status 2). */
int mcp_options_parse(int argc, char **argv, struct mcp_options *o);
void mcp_options_usage(FILE *f);

#endif /* MCP_CLI_OPTIONS_H */
