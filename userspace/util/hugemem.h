/* hugemem.h - zeroed memory for the large tables (sessions, flows, rings, UMEM-sized
 * buffers), in 2 MiB pages where the kernel offers transparent huge pages.
 *
 * Tables grow while packets arrive, and every first touch of a 4 KiB page is a page fault:
 * on the paravirtualised CI machines one costs about 14 us, and a GTP-C burst faulted in
 * 25 MiB of control ring and the session slabs on the packet thread (13% of its time in the
 * live benchmark). A 2 MiB page takes one fault for 512. Requests below MCP_HUGE_MIN, and
 * all of them in an AddressSanitizer build (so that ASan guards the tables), come from the
 * ordinary allocator; callers pass the same length to mcp_huge_free.
 */
#ifndef MCP_HUGEMEM_H
#define MCP_HUGEMEM_H

#include <stddef.h>

#define MCP_HUGE_MIN (1u << 20)

/* Zeroed, 64-byte aligned (16 under ASan); NULL when out of memory. populate: every page is
 * faulted in now (for rings that are written all over from the start), not at first touch. */
void *mcp_huge_zalloc(size_t len);
void *mcp_huge_zalloc_flags(size_t len, int populate);
void mcp_huge_free(void *p, size_t len);

#endif /* MCP_HUGEMEM_H */
