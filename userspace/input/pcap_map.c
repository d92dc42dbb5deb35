/* pcap_map.c - classic pcap files through mmap (pcap_map.h). */
#include "input/pcap_map.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* libpcap's own bound on a record (MAXIMUM_SNAPLEN): larger means a corrupt header. */
#define PCAP_MAX_RECORD 262144u
/* Page tables are filled this far ahead of the reader, one madvise per chunk instead of a
 * fault every few pages (MADV_POPULATE_READ, Linux 5.14; older kernels fault as before). */
#define MAP_AHEAD (4u << 20)
/* Bytes of frames the reader asks the CPU to fetch ahead of the one it returns: the
 * hardware prefetcher stops at page boundaries, and a frame's first read (its record header,
 * then its headers in the decoder) would otherwise wait for memory every time. */
#define PREFETCH_AHEAD 2048u

static uint32_t rd32(const struct mcp_pcap_map *m, const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return m->swap ? __builtin_bswap32(v) : v;
}

int mcp_pcap_map_init(struct mcp_pcap_map *m, const uint8_t *base, size_t size)
{
	uint32_t magic;

	memset(m, 0, sizeof(*m));
	if (size < 24)
		return -1;
	m->base = base;
	m->size = size;
	memcpy(&magic, m->base, 4);
	if (magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1)
		m->swap = 1;
	magic = rd32(m, m->base);
	if (magic != 0xa1b2c3d4 && magic != 0xa1b23c4d) {
		m->base = NULL; /* pcapng or not a capture: libpcap's business */
		return -1;
	}
	m->nsec = magic == 0xa1b23c4d;
	m->linktype = rd32(m, m->base + 20) & 0x0fffffff; /* upper bits: FCS info */
	m->pos = 24;
	return 0;
}

int mcp_pcap_map_open(struct mcp_pcap_map *m, const char *path)
{
	struct stat st;
	void *base;
	int fd;

	memset(m, 0, sizeof(*m));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size < 24) {
		close(fd);
		return -1;
	}
	base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (base == MAP_FAILED)
		return -1;
	if (mcp_pcap_map_init(m, base, (size_t)st.st_size)) {
		munmap(base, (size_t)st.st_size);
		return -1;
	}
	m->mapped = 1;
	madvise(base, m->size, MADV_SEQUENTIAL);
	return 0;
}

int mcp_pcap_map_next(struct mcp_pcap_map *m, struct mcp_pcap_map_pkt *p)
{
	const uint8_t *h;
	uint32_t sec, frac;

	if (m->pos == m->size)
		return 0;
	if (m->mapped && m->pos + MAP_AHEAD / 2 > m->populated && m->populated < m->size) {
		size_t len = m->size - m->populated < MAP_AHEAD ? m->size - m->populated : MAP_AHEAD;

		madvise((void *)(m->base + m->populated), len, MADV_POPULATE_READ);
		m->populated += len;
	}
	if (m->size - m->pos < 16) {
		snprintf(m->err, sizeof(m->err), "record header cut short at offset %zu", m->pos);
		return -1;
	}
	h = m->base + m->pos;
	for (size_t end = m->pos + PREFETCH_AHEAD < m->size ? m->pos + PREFETCH_AHEAD : m->size;
	     m->fetched < end; m->fetched += 64)
		__builtin_prefetch(m->base + m->fetched);
	sec = rd32(m, h);
	frac = rd32(m, h + 4);
	p->caplen = rd32(m, h + 8);
	p->wire_len = rd32(m, h + 12);
	if (p->caplen > PCAP_MAX_RECORD || p->caplen > m->size - m->pos - 16) {
		snprintf(m->err, sizeof(m->err), "record of %u bytes at offset %zu %s", p->caplen,
			 m->pos, p->caplen > PCAP_MAX_RECORD ? "is impossible" : "is cut short");
		return -1;
	}
	if (p->wire_len < p->caplen)
		p->wire_len = p->caplen;
	p->data = h + 16;
	p->ts_us = (uint64_t)sec * 1000000u + (m->nsec ? frac / 1000 : frac);
	m->pos += 16 + (size_t)p->caplen;
	m->frames++;
	return 1;
}

void mcp_pcap_map_release(struct mcp_pcap_map *m, size_t off)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), end = off & ~(page - 1);

	if (end > m->size)
		end = m->size & ~(page - 1);
	if (end <= m->dropped || !m->mapped)
		return;
	madvise((void *)(m->base + m->dropped), end - m->dropped, MADV_DONTNEED);
	m->dropped = end;
}

void mcp_pcap_map_close(struct mcp_pcap_map *m)
{
	if (m->base && m->mapped)
		munmap((void *)m->base, m->size);
	m->base = NULL;
	m->mapped = 0;
}
