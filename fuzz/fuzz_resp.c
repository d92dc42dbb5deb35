/* fuzz_resp.c - libFuzzer target for the RESP request parser (userspace/resp/resp_parse.c).
 *
 * Parses the input as a client's byte stream, request after request, as the server does, and
 * checks the contract: every argument lies inside the input, a request consumes at least one
 * byte and no more than what remains, a failure names its reason.
 * Seeds: fuzz/seeds/resp/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "resp/resp_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mcp_resp_req r;
	const char *b = (const char *)data;
	size_t pos = 0;

	while (pos < size) {
		int rc = mcp_resp_parse(b + pos, size - pos, &r);

		if (rc < 0 && !r.error)
			__builtin_trap();
		if (rc <= 0)
			break;
		if (!r.used || r.used > size - pos || r.argc < 0 || r.argc > MCP_RESP_MAX_ARGS)
			__builtin_trap();
		for (int i = 0; i < r.argc; i++)
			if (r.argv[i] < b + pos || r.argv[i] + r.argl[i] > b + pos + r.used)
				__builtin_trap();
		pos += r.used;
	}
	return 0;
}
