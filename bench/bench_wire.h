/* bench_wire.h - the big-endian writer the control-plane benchmarks build messages with. */
#ifndef MCP_BENCH_WIRE_H
#define MCP_BENCH_WIRE_H

#include <stddef.h>
#include <stdint.h>

struct wr {
	uint8_t *p;
	size_t n;
};

static inline void put8(struct wr *w, uint8_t v)
{
	w->p[w->n++] = v;
}

static inline void put16(struct wr *w, uint16_t v)
{
	put8(w, (uint8_t)(v >> 8));
	put8(w, (uint8_t)v);
}

static inline void put32(struct wr *w, uint32_t v)
{
	put16(w, (uint16_t)(v >> 16));
	put16(w, (uint16_t)v);
}

#endif /* MCP_BENCH_WIRE_H */
