/* test_flow_dpi_module.c - nDPI modules sharing one set of tables (flow/dpi_module.c): shards'
 * modules are distinct structs on the same Patricia trees and automata, and classify by host
 * name (automaton) and by server address (Patricia tree) at the same time, in four threads,
 * as nDPI's lists say. Packets are built by hand; the whole-module reference run is
 * it_shards.py's MCP_DPI_PRIVATE comparison. */
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>

#include "flow/dpi.h"
#include "flow/dpi_module.h"

#define THREADS 4
#define ROUNDS 300

/* An IPv4/UDP DNS query (A, class IN) for name from 10.0.0.1:40000 to 192.0.2.53:53. */
static size_t dns_query(uint8_t *pkt, const char *name, uint16_t id)
{
	uint8_t *p = pkt + 28, *label;
	size_t len;

	memset(pkt, 0, 28);
	pkt[0] = 0x45;
	pkt[8] = 64;
	pkt[9] = IPPROTO_UDP;
	memcpy(pkt + 12, (uint8_t[]){ 10, 0, 0, 1 }, 4);
	memcpy(pkt + 16, (uint8_t[]){ 192, 0, 2, 53 }, 4);
	pkt[20] = 40000 >> 8, pkt[21] = 40000 & 0xff, pkt[23] = 53;
	*p++ = id >> 8, *p++ = id & 0xff, *p++ = 0x01, *p++ = 0x00; /* RD */
	*p++ = 0, *p++ = 1, *p++ = 0, *p++ = 0, *p++ = 0, *p++ = 0, *p++ = 0, *p++ = 0;
	while (*name) {
		label = p++;
		while (*name && *name != '.')
			*p++ = (uint8_t)*name++;
		*label = (uint8_t)(p - label - 1);
		if (*name == '.')
			name++;
	}
	*p++ = 0;
	*p++ = 0, *p++ = 1, *p++ = 0, *p++ = 1;
	len = (size_t)(p - pkt);
	pkt[2] = len >> 8, pkt[3] = len & 0xff;
	pkt[24] = (len - 20) >> 8, pkt[25] = (len - 20) & 0xff;
	return len;
}

/* A TCP SYN from 10.0.0.1:40001 to dst:443, no payload: only the address can tell. */
static size_t tcp_syn(uint8_t *pkt, const uint8_t dst[4])
{
	memset(pkt, 0, 40);
	pkt[0] = 0x45;
	pkt[3] = 40;
	pkt[8] = 64;
	pkt[9] = IPPROTO_TCP;
	memcpy(pkt + 12, (uint8_t[]){ 10, 0, 0, 1 }, 4);
	memcpy(pkt + 16, dst, 4);
	pkt[20] = 40001 >> 8, pkt[21] = 40001 & 0xff, pkt[22] = 443 >> 8, pkt[23] = 443 & 0xff;
	pkt[32] = 5 << 4; /* data offset */
	pkt[33] = 0x02;   /* SYN */
	pkt[34] = 0xff, pkt[35] = 0xff;
	return 40;
}

static struct mcp_flow_record classify(struct mcp_dpi *d, uint8_t proto, const uint8_t *pkt,
					size_t len)
{
	struct mcp_dpi_flow f = { 0 };
	struct mcp_flow_record r;

	memset(&r, 0, sizeof(r));
	mcp_dpi_feed(d, &f, proto, pkt, (uint32_t)len, 1000);
	mcp_dpi_finish(d, &f);
	mcp_dpi_fill_record(d, &f, &r);
	mcp_dpi_release(&f);
	return r;
}

/* Per thread: its own mcp_dpi, ROUNDS of a Netflix DNS query and a SYN to Google's 8.8.8.8;
 * returns the number of wrong verdicts. */
static void *classify_rounds(void *arg)
{
	struct mcp_dpi *d = mcp_dpi_create();
	uint8_t pkt[128];
	long wrong = 0;

	(void)arg;
	if (!d)
		return (void *)-1L;
	for (int i = 0; i < ROUNDS; i++) {
		size_t len = dns_query(pkt, "www.netflix.com", (uint16_t)i);
		struct mcp_flow_record v = classify(d, IPPROTO_UDP, pkt, len);

		wrong += strcmp(v.master_app, "DNS") || strcmp(v.app, "NetFlix") ||
			 strcmp(v.host, "www.netflix.com");
		len = tcp_syn(pkt, (uint8_t[]){ 8, 8, 8, 8 });
		v = classify(d, IPPROTO_TCP, pkt, len);
		wrong += strcmp(v.app, "Google") != 0;
	}
	mcp_dpi_destroy(d);
	return (void *)wrong;
}

Test(dpi_module, shards_get_their_own_struct_on_one_set_of_tables)
{
	struct ndpi_detection_module_struct *a = mcp_dpi_module_get();
	struct ndpi_detection_module_struct *b = mcp_dpi_module_get();

	cr_assert(a && b);
	cr_assert(mcp_dpi_module_shared(),
		  "this nDPI is not the 4.2 dpi_module.c was checked against: modules not shared");
	cr_assert(mcp_dpi_module_same_tables(a, b));
	cr_assert_neq(a, b);
	mcp_dpi_module_put(a);
	mcp_dpi_module_put(b);
}

Test(dpi_module, four_threads_classify_by_host_and_by_address_at_once)
{
	pthread_t t[THREADS];
	void *wrong;

	/* twice: the tables go with the last module and are built again for the next */
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < THREADS; i++)
			cr_assert_eq(pthread_create(&t[i], NULL, classify_rounds, NULL), 0);
		for (int i = 0; i < THREADS; i++) {
			cr_assert_eq(pthread_join(t[i], &wrong), 0);
			cr_assert_eq((long)wrong, 0, "round %d thread %d: %ld wrong verdicts", round, i,
				     (long)wrong);
		}
	}
}
