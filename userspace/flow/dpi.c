/* dpi.c - flow classification with nDPI 4.2: feed the first packets, stop once decided.
 *
 * nDPI's per-flow state is large (about 1 KiB) and only needed until it decides, so it is
 * allocated at the first packet and freed as soon as the verdict and its metadata are copied
 * out; classified flows then cost only a table lookup. Give-up limits follow ndpiReader's
 * (80 TCP / 24 UDP packets) so labels agree with the reference reader.
 */
#include "flow/dpi.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gcrypt.h>
#include <ndpi_api.h>

#include "flow/dpi_module.h"
#include "util/strcopy.h"

#define DPI_MAX_TCP_PKTS 80
#define DPI_MAX_UDP_PKTS 24
#define DPI_MAX_OTHER_PKTS 8
/* Packets still fed after the verdict while nDPI hopes for metadata (TLS certificate, DNS
 * answer, HTTP response): they arrive within a few packets or not at all. */
#define DPI_MAX_EXTRA_PKTS 6

struct mcp_dpi {
	struct ndpi_detection_module_struct *ndpi;
	struct mcp_dpi_stats stats;
};

/* libgcrypt (nDPI's QUIC decryption) must be initialised once before threads use it; nDPI
 * does it in its first module's init, so pipeline shards creating theirs at the same time
 * would race there. */
static void gcrypt_init_once(void)
{
	if (!gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P)) {
		gcry_check_version(NULL);
		gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
	}
}

struct mcp_dpi *mcp_dpi_create(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct mcp_dpi *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	pthread_once(&once, gcrypt_init_once);
	d->ndpi = mcp_dpi_module_get();
	if (!d->ndpi) {
		free(d);
		return NULL;
	}
	return d;
}

void mcp_dpi_destroy(struct mcp_dpi *d)
{
	if (!d)
		return;
	mcp_dpi_module_put(d->ndpi);
	free(d);
}

static unsigned int dpi_max_pkts(uint8_t proto)
{
	if (proto == IPPROTO_TCP)
		return DPI_MAX_TCP_PKTS;
	if (proto == IPPROTO_UDP)
		return DPI_MAX_UDP_PKTS;
	return DPI_MAX_OTHER_PKTS;
}

static void copy_str(char *dst, size_t size, const char *src)
{
	if (!src || !*src)
		return;
	mcp_strcopy(dst, size, src);
}

/* Copies what nDPI learnt into our own small structure. */
static void dpi_collect(struct mcp_dpi *d, struct mcp_dpi_flow *f)
{
	struct ndpi_flow_struct *nf = f->ndpi;
	struct mcp_dpi_meta *m;
	int is_dns = f->master == NDPI_PROTOCOL_DNS || f->app == NDPI_PROTOCOL_DNS;
	int has_http = nf->http.url || nf->http.user_agent || nf->http.response_status_code;

	if (!nf->host_server_name[0] && !has_http && !is_dns)
		return;
	m = calloc(1, sizeof(*m));
	if (!m) {
		d->stats.alloc_failures++;
		return;
	}
	m->dns_rcode = -1;
	copy_str(m->host, sizeof(m->host), nf->host_server_name);
	copy_str(m->url, sizeof(m->url), nf->http.url);
	copy_str(m->user_agent, sizeof(m->user_agent), nf->http.user_agent);
	m->http_status = nf->http.response_status_code;
	if (is_dns && !nf->protos.dns.is_query)
		m->dns_rcode = nf->protos.dns.reply_code;
	f->meta = m;
}

/* After the verdict, nDPI keeps dissecting for things records do not show, or cannot change:
 * TLS whose SNI has already named the application (app set below the TLS master) only waits
 * for the ServerHello and certificate, which feed fingerprints and risks; nDPI 4.2 matches a
 * certificate name only while no subprotocol is detected (tls.c, processCertificateElements),
 * and the host is the SNI already copied. Stopping there lets the bypass take such flows at
 * the ClientHello instead of up to DPI_MAX_EXTRA_PKTS packets later, with the same record. */
static int dpi_nothing_left(const struct mcp_dpi_flow *f, const struct ndpi_flow_struct *nf)
{
	return f->master == NDPI_PROTOCOL_TLS && f->app != NDPI_PROTOCOL_TLS &&
	       f->app != NDPI_PROTOCOL_UNKNOWN && nf->host_server_name[0] &&
	       nf->protos.tls_quic.subprotocol_detected;
}

static void dpi_set_verdict(struct mcp_dpi_flow *f, ndpi_protocol p)
{
	f->app = p.app_protocol;
	f->master = p.master_protocol;
	f->category = p.category;
}

static void dpi_done(struct mcp_dpi *d, struct mcp_dpi_flow *f)
{
	if (f->ndpi) {
		dpi_collect(d, f);
		ndpi_flow_free(f->ndpi);
		f->ndpi = NULL;
	}
	f->done = 1;
}

int mcp_dpi_feed(struct mcp_dpi *d, struct mcp_dpi_flow *f, uint8_t proto, const uint8_t *l3,
		 uint32_t len, uint64_t ts_ms)
{
	ndpi_protocol p;

	if (f->done)
		return 1;
	if (!f->ndpi) {
		f->ndpi = ndpi_flow_malloc(SIZEOF_FLOW_STRUCT);
		if (!f->ndpi) {
			d->stats.alloc_failures++;
			f->done = 1;
			return 1;
		}
		memset(f->ndpi, 0, SIZEOF_FLOW_STRUCT);
		d->stats.flows_started++;
	}
	if (len > 0xffff)
		len = 0xffff; /* nDPI takes a 16-bit length; an IP packet never exceeds it */
	p = ndpi_detection_process_packet(d->ndpi, f->ndpi, l3, (unsigned short)len, ts_ms);
	f->pkts++;
	d->stats.packets_fed++;
	if (p.app_protocol != NDPI_PROTOCOL_UNKNOWN || p.master_protocol != NDPI_PROTOCOL_UNKNOWN) {
		dpi_set_verdict(f, p); /* extra packets may refine it (e.g. a certificate) */
		/* Keep feeding while nDPI can still extract metadata, within a small budget. */
		if (!ndpi_extra_dissection_possible(d->ndpi, f->ndpi) || dpi_nothing_left(f, f->ndpi) ||
		    ++f->extra > DPI_MAX_EXTRA_PKTS || f->pkts >= dpi_max_pkts(proto)) {
			d->stats.flows_classified++;
			dpi_done(d, f);
			return 1;
		}
		return 0;
	}
	if (f->pkts >= dpi_max_pkts(proto)) {
		mcp_dpi_finish(d, f);
		return 1;
	}
	return 0;
}

void mcp_dpi_finish(struct mcp_dpi *d, struct mcp_dpi_flow *f)
{
	uint8_t guessed = 0;
	ndpi_protocol p;

	if (f->done || !f->ndpi)
		return;
	if (f->app != NDPI_PROTOCOL_UNKNOWN || f->master != NDPI_PROTOCOL_UNKNOWN) {
		/* decided earlier, still in extra dissection */
		d->stats.flows_classified++;
		dpi_done(d, f);
		return;
	}
	p = ndpi_detection_giveup(d->ndpi, f->ndpi, 1, &guessed);
	dpi_set_verdict(f, p);
	if (p.app_protocol == NDPI_PROTOCOL_UNKNOWN && p.master_protocol == NDPI_PROTOCOL_UNKNOWN)
		d->stats.flows_unknown++;
	else
		d->stats.flows_guessed++;
	dpi_done(d, f);
}

void mcp_dpi_fill_record(struct mcp_dpi *d, const struct mcp_dpi_flow *f,
			 struct mcp_flow_record *r)
{
	uint16_t app = f->app != NDPI_PROTOCOL_UNKNOWN ? f->app : f->master;

	r->app_id = app;
	r->master_id = f->master;
	copy_str(r->app, sizeof(r->app), ndpi_get_proto_name(d->ndpi, app));
	copy_str(r->master_app, sizeof(r->master_app), ndpi_get_proto_name(d->ndpi, f->master));
	copy_str(r->category, sizeof(r->category),
		 ndpi_category_get_name(d->ndpi, (ndpi_protocol_category_t)f->category));
	r->dns_rcode = -1;
	if (f->meta) {
		copy_str(r->host, sizeof(r->host), f->meta->host);
		copy_str(r->http_url, sizeof(r->http_url), f->meta->url);
		copy_str(r->user_agent, sizeof(r->user_agent), f->meta->user_agent);
		r->http_status = f->meta->http_status;
		r->dns_rcode = f->meta->dns_rcode;
	}
}

void mcp_dpi_release(struct mcp_dpi_flow *f)
{
	if (f->ndpi)
		ndpi_flow_free(f->ndpi);
	free(f->meta);
	memset(f, 0, sizeof(*f));
}

const struct mcp_dpi_stats *mcp_dpi_stats(const struct mcp_dpi *d)
{
	return &d->stats;
}

const char *mcp_dpi_proto_name(const struct mcp_dpi *d, uint16_t proto)
{
	return ndpi_get_proto_name(d->ndpi, proto);
}
