/* pcap_floor.c - the libpcap floor for bench/run.sh: read a capture with pcap_loop and only
 * count frames and bytes. No spec; any probe reading the same file is at most this fast.
 *
 *   pcap_floor FILE
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>

struct floor_count {
	uint64_t frames, bytes, sum;
};

static void floor_cb(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
	struct floor_count *c = (struct floor_count *)user;

	c->frames++;
	c->bytes += h->caplen;
	if (h->caplen > 0)
		c->sum += data[h->caplen - 1]; /* touch the frame like a parser would */
}

int main(int argc, char **argv)
{
	char err[PCAP_ERRBUF_SIZE];
	struct floor_count c = { 0 };
	pcap_t *p;

	if (argc != 2) {
		fprintf(stderr, "usage: pcap_floor FILE\n");
		return 2;
	}
	p = pcap_open_offline(argv[1], err);
	if (!p) {
		fprintf(stderr, "pcap_floor: %s\n", err);
		return 2;
	}
	if (pcap_loop(p, -1, floor_cb, (u_char *)&c) == -1) {
		fprintf(stderr, "pcap_floor: %s\n", pcap_geterr(p));
		pcap_close(p);
		return 1;
	}
	pcap_close(p);
	printf("frames %llu bytes %llu (%llu)\n", (unsigned long long)c.frames,
	       (unsigned long long)c.bytes, (unsigned long long)c.sum);
	return 0;
}
