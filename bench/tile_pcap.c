/* tile_pcap.c - a long benchmark capture from a short real one, bytes untouched.
 *
 *   tile_pcap IN OUT COPIES
 *
 * Writes COPIES back-to-back copies of IN's frames (pcap or pcapng, through libpcap) into the
 * classic pcap OUT, same link type. Only the timestamps change: within a copy each gap
 * between frames keeps its length up to 1 s (real captures stitched from samples jump by
 * years, which would overflow the 32-bit seconds after a few copies), and copy k starts 60 s
 * after copy k-1 ended, beyond both probes' 30 s idle timeouts: every copy is the same
 * conversations once more, so flows are created, classified and expired COPIES times.
 * Prints "frames N copies K" on stdout.
 */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_GAP_US 1000000LL
#define COPY_GAP_US 60000000LL

struct frame {
	struct pcap_pkthdr h;
	u_char *data;
};

int main(int argc, char **argv)
{
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	struct frame *fr = NULL;
	size_t n = 0, cap = 0;
	long long t = 0, prev = -1, copies;
	pcap_dumper_t *out;
	pcap_t *in;

	if (argc != 4 || (copies = atoll(argv[3])) < 1) {
		fprintf(stderr, "usage: tile_pcap IN OUT COPIES\n");
		return 2;
	}
	in = pcap_open_offline(argv[1], err);
	if (!in) {
		fprintf(stderr, "tile_pcap: %s\n", err);
		return 1;
	}
	while (pcap_next_ex(in, &h, &data) == 1) {
		long long us = (long long)h->ts.tv_sec * 1000000 + h->ts.tv_usec;

		if (n == cap) {
			cap = cap ? 2 * cap : 1024;
			fr = realloc(fr, cap * sizeof(*fr));
		}
		if (!fr || !(fr[n].data = malloc(h->caplen))) {
			fprintf(stderr, "tile_pcap: out of memory\n");
			return 1;
		}
		/* relative stamps with long gaps (and backward jumps) cut to MAX_GAP_US */
		if (prev >= 0)
			t += us < prev ? 0 : (us - prev > MAX_GAP_US ? MAX_GAP_US : us - prev);
		prev = us;
		fr[n].h = *h;
		fr[n].h.ts.tv_sec = (time_t)(t / 1000000);
		fr[n].h.ts.tv_usec = (suseconds_t)(t % 1000000);
		for (bpf_u_int32 i = 0; i < h->caplen; i++)
			fr[n].data[i] = data[i];
		n++;
	}
	out = pcap_dump_open(in, argv[2]);
	if (!out) {
		fprintf(stderr, "tile_pcap: %s\n", pcap_geterr(in));
		return 1;
	}
	for (long long k = 0; k < copies; k++) {
		long long base = 1600000000LL * 1000000 + k * (t + COPY_GAP_US);

		for (size_t i = 0; i < n; i++) {
			struct pcap_pkthdr hh = fr[i].h;
			long long us = base + (long long)hh.ts.tv_sec * 1000000 + hh.ts.tv_usec;

			hh.ts.tv_sec = (time_t)(us / 1000000);
			hh.ts.tv_usec = (suseconds_t)(us % 1000000);
			pcap_dump((u_char *)out, &hh, fr[i].data);
		}
	}
	if (pcap_dump_flush(out)) {
		fprintf(stderr, "tile_pcap: %s: write failed\n", argv[2]);
		return 1;
	}
	pcap_dump_close(out);
	printf("frames %llu copies %lld\n", (unsigned long long)(n * (size_t)copies), copies);
	return 0;
}
