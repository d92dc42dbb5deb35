/* test_util_hugemem.c - the large-table allocator (userspace/util/hugemem.c): zeroed, aligned, usable
 * to its last byte and freed by length, on both sides of MCP_HUGE_MIN and of a 2 MiB page. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "util/hugemem.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#else
#define UNDER_ASAN 0
#endif

static void check(size_t len, int populate)
{
	uint8_t *p = mcp_huge_zalloc_flags(len, populate);
	size_t i;

	cr_assert_not_null(p, "%zu bytes", len);
	if (!UNDER_ASAN)
		cr_expect_eq((uintptr_t)p % 64, 0, "%zu bytes at %p", len, (void *)p);
	for (i = 0; i < len; i++)
		if (p[i]) {
			cr_expect_fail("%zu bytes: byte %zu is %u, not zero", len, i, p[i]);
			break;
		}
	memset(p, 0xa5, len); /* all of it is ours */
	mcp_huge_free(p, len);
}

Test(hugemem, zeroed_aligned_whole)
{
	static const size_t sizes[] = { 0, 1, 100, MCP_HUGE_MIN - 1, MCP_HUGE_MIN,
					(2u << 20) + 5, (6u << 20) };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		check(sizes[i], 0);
		check(sizes[i], 1);
	}
	mcp_huge_free(NULL, 123); /* nothing */
}

Test(hugemem, reused_memory_comes_back_zeroed)
{
	for (int round = 0; round < 4; round++) {
		check(MCP_HUGE_MIN / 2, 0); /* the ordinary allocator may hand back a dirty block */
		check(3u << 20, 0);
	}
}
