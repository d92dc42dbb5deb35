/* prefetch.h - prefetch a cache line for writing.
 *
 * __builtin_prefetch(p, 1) is a plain read prefetch unless the compiler targets PREFETCHW,
 * and a line fetched for reading that another core holds still costs an ownership request
 * at the store. PREFETCHW asks for ownership at once; where the CPU lacks it, the opcode is
 * a no-op hint (0F 0D). */
#ifndef MCP_PREFETCH_H
#define MCP_PREFETCH_H

static inline void mcp_prefetch_w(const void *p)
{
#if defined(__x86_64__) || defined(__i386__)
	__asm__ volatile("prefetchw %0" ::"m"(*(const char *)p));
#else
	__builtin_prefetch(p, 1);
#endif
}

#endif /* MCP_PREFETCH_H */
