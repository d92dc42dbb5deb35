/* rd.h - the one bounds-checked reader for untrusted bytes (GTP-C, RADIUS, inner headers).
 *
 * Errors are sticky: after the first short read every accessor returns 0 and r->err stays
 * -EMSGSIZE, so a dissector reads a whole structure and checks once at the end.
 * Never cast a struct onto packet memory; read it through these.
 */
#ifndef MCP_RD_H
#define MCP_RD_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct mcp_rd {
	const uint8_t *p, *end;
	int err;
};

static inline struct mcp_rd mcp_rd_init(const void *buf, size_t len)
{
	struct mcp_rd r = { .p = buf, .end = (const uint8_t *)buf + len, .err = 0 };
	return r;
}

static inline size_t mcp_rd_left(const struct mcp_rd *r)
{
	return r->err ? 0 : (size_t)(r->end - r->p);
}

/* True (and sets the sticky error) when fewer than n bytes remain. */
static inline int mcp_rd_short(struct mcp_rd *r, size_t n)
{
	if (r->err || (size_t)(r->end - r->p) < n) {
		if (!r->err)
			r->err = -EMSGSIZE;
		return 1;
	}
	return 0;
}

static inline uint8_t mcp_rd_u8(struct mcp_rd *r)
{
	if (mcp_rd_short(r, 1))
		return 0;
	return *r->p++;
}

static inline uint16_t mcp_rd_be16(struct mcp_rd *r)
{
	if (mcp_rd_short(r, 2))
		return 0;
	r->p += 2;
	return (uint16_t)(r->p[-2] << 8 | r->p[-1]);
}

static inline uint32_t mcp_rd_be24(struct mcp_rd *r)
{
	if (mcp_rd_short(r, 3))
		return 0;
	r->p += 3;
	return (uint32_t)r->p[-3] << 16 | (uint32_t)r->p[-2] << 8 | r->p[-1];
}

static inline uint32_t mcp_rd_be32(struct mcp_rd *r)
{
	if (mcp_rd_short(r, 4))
		return 0;
	r->p += 4;
	return (uint32_t)r->p[-4] << 24 | (uint32_t)r->p[-3] << 16 | (uint32_t)r->p[-2] << 8 |
	       r->p[-1];
}

/* Returns a pointer to n bytes and skips them, or NULL (sticky error) if they are not there. */
static inline const uint8_t *mcp_rd_bytes(struct mcp_rd *r, size_t n)
{
	const uint8_t *p;

	if (mcp_rd_short(r, n))
		return NULL;
	p = r->p;
	r->p += n;
	return p;
}

static inline void mcp_rd_skip(struct mcp_rd *r, size_t n)
{
	(void)mcp_rd_bytes(r, n);
}

/* A sub-reader over the next n bytes (a TLV value); the parent skips them. */
static inline struct mcp_rd mcp_rd_sub(struct mcp_rd *r, size_t n)
{
	const uint8_t *p = mcp_rd_bytes(r, n);
	struct mcp_rd s = { .p = p, .end = p ? p + n : NULL, .err = p ? 0 : -EMSGSIZE };
	return s;
}

#endif /* MCP_RD_H */
