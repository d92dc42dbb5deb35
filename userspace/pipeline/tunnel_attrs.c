/* tunnel_attrs.c - the dispatcher's cache of tunnel attributions (tunnel_attrs.h). */
#include "pipeline/tunnel_attrs.h"

#include <stdlib.h>
#include <string.h>

#include "mcp_map_layout.h"
#include "pipeline/flow_pins.h"
#include "util/hugemem.h"

/* One line: the key, the epoch it was stored at (0: empty; epochs stored are + 1) and the
 * subscriber part of a struct mcp_attrib, as a pin keeps it. */
struct slot {
	uint32_t teid;
	uint32_t pad;
	uint64_t epoch;
	struct mcp_ip addr;
	struct mcp_pin_attr attr;
} __attribute__((aligned(64)));

_Static_assert(sizeof(struct slot) == 64, "a slot is one cache line");

struct mcp_tunnel_attrs {
	struct slot *slots;
	uint32_t mask;
};

struct mcp_tunnel_attrs *mcp_tunnel_attrs_create(uint32_t nslots)
{
	struct mcp_tunnel_attrs *t = calloc(1, sizeof(*t));
	uint32_t n = 64;

	if (!t)
		return NULL;
	while (n < nslots && n < (1u << 24))
		n <<= 1;
	t->mask = n - 1;
	t->slots = mcp_huge_zalloc((size_t)n * sizeof(struct slot));
	if (!t->slots) {
		free(t);
		return NULL;
	}
	return t;
}

void mcp_tunnel_attrs_destroy(struct mcp_tunnel_attrs *t)
{
	if (!t)
		return;
	mcp_huge_free(t->slots, (size_t)(t->mask + 1) * sizeof(struct slot));
	free(t);
}

static struct slot *slot_of(const struct mcp_tunnel_attrs *t, uint32_t teid,
			    const struct mcp_ip *addr)
{
	struct mcp_tunnel_key k = { .teid = teid, .addr = *addr };

	return &t->slots[mcp_tunnel_key_hash(&k) & t->mask];
}

int mcp_tunnel_attrs_get(const struct mcp_tunnel_attrs *t, uint32_t teid,
			 const struct mcp_ip *addr, uint64_t epoch, struct mcp_attrib *a)
{
	const struct slot *s = slot_of(t, teid, addr);

	if (s->epoch != epoch + 1 || s->teid != teid || memcmp(&s->addr, addr, sizeof(*addr)))
		return 0;
	mcp_pin_attr_load(&s->attr, a);
	return 1;
}

void mcp_tunnel_attrs_put(struct mcp_tunnel_attrs *t, uint32_t teid, const struct mcp_ip *addr,
			  uint64_t epoch, const struct mcp_attrib *a)
{
	struct slot *s = slot_of(t, teid, addr);

	s->teid = teid;
	s->addr = *addr;
	s->epoch = epoch + 1;
	mcp_pin_attr_keep(&s->attr, a);
}
