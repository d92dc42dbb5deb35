/* hugemem.c - large zeroed allocations in transparent huge pages (see hugemem.h). */
#include "util/hugemem.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HUGE_PAGE (2ul << 20)

/* Whole 2 MiB pages: a mapping that ends in the middle of one gets 4 KiB pages there. */
static size_t huge_len(size_t len)
{
	return (len + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
}

/* Under AddressSanitizer every table comes from the ordinary allocator, which ASan guards
 * with redzones; mmap'd memory it does not watch. */
#if defined(__SANITIZE_ADDRESS__)
#define HUGE_USE_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HUGE_USE_MALLOC 1
#endif
#endif
#ifndef HUGE_USE_MALLOC
#define HUGE_USE_MALLOC 0
#endif

static int huge_small(size_t len)
{
	return HUGE_USE_MALLOC || len < MCP_HUGE_MIN;
}

void *mcp_huge_zalloc_flags(size_t len, int populate)
{
	void *p;

	if (HUGE_USE_MALLOC) /* alignment only matters for speed; calloc leaves big blocks lazy */
		return calloc(1, len ? len : 1);
	if (huge_small(len)) {
		if (posix_memalign(&p, 64, len ? len : 1))
			return NULL;
		memset(p, 0, len);
		return p;
	}
	/* anonymous pages are zero; large mappings start on a 2 MiB boundary (Linux >= 6.7),
	 * and MADV_HUGEPAGE asks for huge pages where THP is in "madvise" mode (refused: 4 KiB) */
	p = mmap(NULL, huge_len(len), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	madvise(p, huge_len(len), MADV_HUGEPAGE);
	if (populate) /* after the advice, so the pages come in huge */
		madvise(p, huge_len(len), MADV_POPULATE_WRITE);
	return p;
}

void *mcp_huge_zalloc(size_t len)
{
	return mcp_huge_zalloc_flags(len, 0);
}

void mcp_huge_free(void *p, size_t len)
{
	if (!p)
		return;
	if (huge_small(len))
		free(p);
	else
		munmap(p, huge_len(len));
}
