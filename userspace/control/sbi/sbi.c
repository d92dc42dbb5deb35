/* sbi.c - SBI connections and operations: TCP streams (decode/tcp_reasm) that begin with an
 * SBI request (a path under /n<service>) or the HTTP/2 preface are framed as HTTP/1.1 or h2c
 * (prior knowledge, or Upgrade: h2c with 101 Switching Protocols), and the operations that
 * carry identity are decoded:
 *
 *   POST {apiRoot}/nsmf-pdusession/v1/sm-contexts          CreateSMContext (TS 29.502 5.2.2.2)
 *        SUPI, GPSI, PEI, PDU session id, DNN, S-NSSAI   -> kept per (SUPI, PDU session id)
 *   POST {apiRoot}/namf-comm/v1/ue-contexts/{ueContextId}/n1-n2-messages
 *        N1N2MessageTransfer (TS 29.518 5.2.2.3.1): SUPI in the path, PDU session id, N1 SM
 *        PDU Session Establishment Accept (UE address), N2 SM PDU Session Resource Setup
 *        Request Transfer (UL F-TEID)                    -> one identity out, with the above
 *   POST {apiRoot}/nsmf-pdusession/v1/sm-contexts/{ref}/modify   UpdateSMContext
 *        (TS 29.502 5.2.2.3.2) with N2 PDU_RES_SETUP_RSP: the gNB's DL F-TEID, for the SM
 *        context whose CreateSMContext 201 named {ref}     -> that identity again, with it
 * SUPIs are IMSIs or NAIs (kept as text). HTTP2-Settings of an h2c upgrade request size the
 * server direction's HPACK table and frame limit.
 */
#include "control/sbi/sbi.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "control/sbi/h2.h"
#include "control/sbi/http1.h"
#include "decode/tcp_reasm.h"

_Static_assert((int)MCP_SBI_BAD_HTTP_START == (int)MCP_HTTP1_ERR_START &&
		       (int)MCP_SBI_BAD_HTTP_CHUNKED == (int)MCP_HTTP1_ERR_CHUNKED, "same order");

#define MAX_CTX 1024 /* SM contexts: CreateSMContext facts, then N1N2 and UpdateSMContext */
#define MAX_PEND 8    /* requests of a connection awaiting their response */
#define REF_LEN 48    /* smContextRef kept (longer ones are not followed) */

#define PROTO_NONE 0
#define PROTO_H1   1
#define PROTO_H2   2
#define PROTO_DEAD 3

struct sbi_conn {
	struct mcp_sbi *b;
	uint64_t ts_ms;
	uint8_t proto[2], cur_dir;
	struct mcp_http1 h[2];
	struct mcp_h2 h2[2];
	/* requests awaiting a response: HTTP/1.1 all, in order; HTTP/2 CreateSMContexts by
	 * stream. seq: the SM context's number + 1 (0: another request) */
	struct { uint32_t stream, seq; } pend[MAX_PEND];
	uint8_t npend;
	/* HTTP2-Settings of the upgrade request: limits of the server's h2 direction */
	uint8_t up_settings[MCP_H2_MAX_UPGRADE_SETTINGS * 3 / 4];
	uint8_t up_settings_len, up_server_dir;
};

struct mcp_sbi {
	struct mcp_sbi_cfg cfg;
	struct mcp_sbi_stats st;
	struct mcp_tcp_reasm *tcp;
	struct sm_ctx {
		struct mcp_sbi_ident id; /* CreateSMContext facts, with the N1N2 transfer's */
		char ref[REF_LEN];       /* smContextRef of the 201's Location; "" until then */
	} ctx[MAX_CTX];
	uint32_t ctx_next;
};

static void bad(struct mcp_sbi *b, enum mcp_sbi_bad_reason r)
{
	b->st.bad[r]++;
}

static void emit(struct mcp_sbi *b, const struct mcp_sbi_ident *id, uint64_t ts_ms)
{
	b->st.idents++;
	if (id->nai[0])
		b->st.nai_supi++;
	if (b->cfg.on_ident)
		b->cfg.on_ident(b->cfg.ctx, id, ts_ms);
}

/* The SM context of (SUPI, psi), newest first; NULL if none. */
static struct sm_ctx *ctx_find(struct mcp_sbi *b, const struct mcp_sbi_ident *id, uint8_t psi)
{
	for (uint32_t i = 1; i <= MAX_CTX && i <= b->ctx_next; i++) {
		struct sm_ctx *c = &b->ctx[(b->ctx_next - i) % MAX_CTX];

		if (c->id.pdu_session_id == psi && !strcmp(c->id.imsi, id->imsi) &&
		    !strcmp(c->id.nai, id->nai))
			return c;
	}
	return NULL;
}

/* The SM context named by an smContextRef, newest first; NULL if none. */
static struct sm_ctx *ctx_by_ref(struct mcp_sbi *b, const char *ref)
{
	for (uint32_t i = 1; i <= MAX_CTX && i <= b->ctx_next; i++) {
		struct sm_ctx *c = &b->ctx[(b->ctx_next - i) % MAX_CTX];

		if (!strcmp(c->ref, ref))
			return c;
	}
	return NULL;
}

/* The JSON part of a body (the body itself unless multipart). */
static int body_parts(struct mcp_sbi *b, const struct mcp_http_msg *m, struct mcp_sbi_part *parts)
{
	int n;

	if (!m->body || !m->body_len)
		return 0;
	if (strncasecmp(m->content_type, "multipart/", 10)) {
		parts[0].p = m->body;
		parts[0].n = m->body_len;
		snprintf(parts[0].type, sizeof(parts[0].type), "%.63s", m->content_type);
		return 1;
	}
	n = mcp_sbi_multipart(m->content_type, m->body, m->body_len, parts, MCP_SBI_MAX_PARTS);
	if (n < 0)
		bad(b, MCP_SBI_BAD_MULTIPART);
	return n;
}

/* Returns the SM context's number + 1, or 0 when none was kept. */
static uint32_t create_sm(struct mcp_sbi *b, const struct mcp_http_msg *m)
{
	struct mcp_sbi_part parts[MCP_SBI_MAX_PARTS];
	struct sm_ctx *c;
	int n = body_parts(b, m, parts);

	b->st.create_sm++;
	for (int i = 0; i < n; i++) {
		if (strncasecmp(parts[i].type, "application/json", 16))
			continue;
		c = &b->ctx[b->ctx_next % MAX_CTX];
		memset(c, 0, sizeof(*c));
		if (mcp_sbi_json_ident(parts[i].p, parts[i].n, &c->id) < 0) {
			bad(b, MCP_SBI_BAD_JSON);
			return 0;
		}
		if (!c->id.imsi[0] && !c->id.nai[0])
			return 0;
		return ++b->ctx_next;
	}
	return 0;
}

static void n1n2_transfer(struct mcp_sbi *b, const struct mcp_http_msg *m, const char *ue,
			  uint64_t ts_ms)
{
	struct mcp_sbi_part parts[MCP_SBI_MAX_PARTS];
	struct sm_ctx *c;
	struct mcp_sbi_ident id;
	int n = body_parts(b, m, parts);

	b->st.n1n2++;
	memset(&id, 0, sizeof(id));
	if (mcp_sbi_supi(ue, id.imsi, id.nai) < 0) {
		bad(b, MCP_SBI_BAD_SUPI);
		return;
	}
	for (int i = 0; i < n; i++) {
		const char *t = parts[i].type;

		if (!strncasecmp(t, "application/json", 16)) {
			struct mcp_sbi_ident path = id; /* the path names the UE */

			if (mcp_sbi_json_ident(parts[i].p, parts[i].n, &id) < 0)
				bad(b, MCP_SBI_BAD_JSON);
			memcpy(id.imsi, path.imsi, sizeof(id.imsi));
			memcpy(id.nai, path.nai, sizeof(id.nai));
		} else if (!strncasecmp(t, "application/vnd.3gpp.5gnas", 26)) {
			if (mcp_nas5gs_accept_address(parts[i].p, parts[i].n, &id) < 0)
				bad(b, MCP_SBI_BAD_NAS);
		} else if (!strncasecmp(t, "application/vnd.3gpp.ngap", 25)) {
			if (mcp_ngap_setup_request_ul(parts[i].p, parts[i].n, &id) < 0)
				bad(b, MCP_SBI_BAD_NGAP);
		}
	}
	if (!id.has_ue_v4 && !id.has_ue_v6 && !id.has_ul_fteid)
		return; /* not a session setup (paging, a release command, ...) */
	if ((c = ctx_find(b, &id, id.pdu_session_id))) {
		memcpy(id.msisdn, c->id.msisdn, sizeof(id.msisdn));
		memcpy(id.imei, c->id.imei, sizeof(id.imei));
		memcpy(id.dnn, c->id.dnn, sizeof(id.dnn));
		id.snssai = c->id.snssai;
		c->id = id; /* an UpdateSMContext joins by the addresses learnt here */
	}
	emit(b, &id, ts_ms);
}

/* UpdateSMContext (TS 29.502 5.2.2.3.2) with N2 SM information PDU_RES_SETUP_RSP: the NGAP
 * PDU Session Resource Setup Response Transfer's DL F-TEID (the gNB's), for the SM context
 * that the path names (its N1N2 facts find the PDU session). */
static void update_sm(struct mcp_sbi *b, const struct mcp_http_msg *m, const char *ref,
		      uint64_t ts_ms)
{
	struct mcp_sbi_part parts[MCP_SBI_MAX_PARTS];
	struct mcp_sbi_ident id;
	struct sm_ctx *c;
	char type[32] = "";
	int n = body_parts(b, m, parts);

	b->st.update_sm++;
	for (int i = 0; i < n; i++)
		if (!strncasecmp(parts[i].type, "application/json", 16))
			(void)mcp_sbi_json_str(parts[i].p, parts[i].n, "n2SmInfoType", type,
					       sizeof(type));
	if (strcmp(type, "PDU_RES_SETUP_RSP"))
		return; /* other N2 information (release, handover) or none */
	if (!(c = ctx_by_ref(b, ref))) {
		b->st.unknown_sm_context++;
		return;
	}
	id = c->id;
	for (int i = 0; i < n; i++)
		if (!strncasecmp(parts[i].type, "application/vnd.3gpp.ngap", 25) &&
		    mcp_ngap_setup_response_dl(parts[i].p, parts[i].n, &id) < 0)
			bad(b, MCP_SBI_BAD_NGAP);
	if (!id.has_dl_fteid)
		return;
	b->st.n2_dl++;
	emit(b, &id, ts_ms);
}

/* A 201 to a CreateSMContext names its SM context: Location .../sm-contexts/{ref}. */
static void created(struct mcp_sbi *b, uint32_t seq, const struct mcp_http_msg *m)
{
	const char *r = strstr(m->location, "/sm-contexts/");
	struct sm_ctx *c;

	if (!seq || m->status != 201 || !r || b->ctx_next - (seq - 1) > MAX_CTX)
		return; /* not a create, refused, or its context already overwritten */
	r += 13;
	c = &b->ctx[(seq - 1) % MAX_CTX];
	if (*r && strlen(r) < sizeof(c->ref) && !strchr(r, '/'))
		strcpy(c->ref, r);
}

/* Pairs a response with its request: HTTP/1.1 in order, HTTP/2 by stream. */
static void on_response(struct sbi_conn *c, const struct mcp_http_msg *m)
{
	uint32_t seq = 0;
	int i;

	if (m->status < 200)
		return; /* interim (100 Continue, 101 Switching Protocols) */
	for (i = 0; i < c->npend && m->stream && c->pend[i].stream != m->stream; i++)
		;
	if (i == c->npend)
		return;
	seq = c->pend[i].seq;
	memmove(&c->pend[i], &c->pend[i + 1], (size_t)(c->npend - i - 1) * sizeof(c->pend[0]));
	c->npend--;
	created(c->b, seq, m);
}

/* A request awaiting its response (the oldest is forgotten when too many are). */
static void pend_push(struct sbi_conn *c, uint32_t stream, uint32_t seq)
{
	if (stream && !seq)
		return; /* HTTP/2 pairs by stream: only creates need remembering */
	if (c->npend == MAX_PEND)
		memmove(&c->pend[0], &c->pend[1], (MAX_PEND - 1) * sizeof(c->pend[0])), c->npend--;
	c->pend[c->npend].stream = stream;
	c->pend[c->npend++].seq = seq;
}

/* Dispatches one request by its path; returns what create_sm does (0 for others). */
static uint32_t on_request(struct mcp_sbi *b, const struct mcp_http_msg *m, uint64_t ts_ms)
{
	const char *p = m->path, *s, *e;
	char ue[MCP_SBI_SUPI_LEN];

	if (strcmp(m->method, "POST"))
		return 0;
	if ((s = strstr(p, "/nsmf-pdusession/v1/sm-contexts"))) {
		s += 31;
		if (!*s)
			return create_sm(b, m);
		if (*s == '/' && (e = strstr(s, "/modify")) && !e[7] && e - (s + 1) < REF_LEN &&
		    e > s + 1) {
			char ref[REF_LEN];

			memcpy(ref, s + 1, (size_t)(e - (s + 1)));
			ref[e - (s + 1)] = '\0';
			update_sm(b, m, ref, ts_ms);
		}
		return 0;
	}
	if ((s = strstr(p, "/namf-comm/v1/ue-contexts/")) &&
	    (e = strstr(s + 26, "/n1-n2-messages")) && !e[15] && e - (s + 26) < (long)sizeof(ue)) {
		memcpy(ue, s + 26, (size_t)(e - (s + 26)));
		ue[e - (s + 26)] = '\0';
		n1n2_transfer(b, m, ue, ts_ms);
	}
	return 0;
}

static void on_msg(void *ctx, const struct mcp_http_msg *m)
{
	struct sbi_conn *c = ctx;

	if (m->is_request) {
		c->b->st.requests++;
		pend_push(c, m->stream, on_request(c->b, m, c->ts_ms));
	} else {
		c->b->st.responses++;
		on_response(c, m);
	}
}

/* HTTP/1.1 responses: a 101 hands the rest of the stream to HTTP/2 (h2c upgrade). */
static void on_msg_h1(void *ctx, const struct mcp_http_msg *m)
{
	struct sbi_conn *c = ctx;

	on_msg(ctx, m);
	if (m->is_request && m->h2_settings[0]) {
		int n = mcp_h2_upgrade_settings(m->h2_settings, c->up_settings,
						sizeof(c->up_settings));

		if (n < 0)
			bad(c->b, MCP_SBI_BAD_H2_SETTINGS);
		c->up_settings_len = (uint8_t)(n < 0 ? 0 : n);
		c->up_server_dir = (uint8_t)!c->cur_dir;
	}
	if (!m->is_request && m->status == 101)
		c->h[c->cur_dir].stop = 1; /* the server's next byte is an HTTP/2 frame */
}

/* Only the bodies of the operations above are kept. */
static int want_body(void *ctx, const struct mcp_http_msg *m)
{
	return !strcmp(m->method, "POST") && (strstr(m->path, "/nsmf-pdusession/v1/sm-contexts") ||
					      strstr(m->path, "/namf-comm/v1/ue-contexts/"));
}

static int to_h2(struct sbi_conn *c, int dir, int client)
{
	_Static_assert((int)MCP_SBI_BAD_H2_SETTINGS - (int)MCP_SBI_BAD_H2_FRAME_SIZE ==
			       (int)MCP_H2_ERR_SETTINGS - (int)MCP_H2_ERR_FRAME_SIZE, "same order");
	if (mcp_h2_init(&c->h2[dir], client, &c->b->st.bad[MCP_SBI_BAD_H2_FRAME_SIZE]) < 0) {
		mcp_h2_free(&c->h2[dir]);
		return -1;
	}
	if (!client && dir == c->up_server_dir && c->up_settings_len) /* RFC 7540 3.2.1 */
		mcp_h2_apply_settings(&c->h2[dir], c->up_settings, c->up_settings_len);
	c->proto[dir] = PROTO_H2;
	c->h2[0].peer = &c->h2[1];
	c->h2[1].peer = &c->h2[0];
	return 0;
}

/* In-order bytes of one direction through its protocol, switching at an upgrade. */
static void feed(struct sbi_conn *c, int dir, const uint8_t *data, size_t len)
{
	size_t k;

	while (len) {
		if (c->proto[dir] == PROTO_NONE) {
			if (len >= 4 && !memcmp(data, "PRI ", 4))
				to_h2(c, dir, 1);
			else if (c->proto[!dir] == PROTO_H2)
				to_h2(c, dir, 0);
			else
				c->proto[dir] = PROTO_H1;
		}
		if (c->proto[dir] == PROTO_H2) {
			mcp_h2_feed(&c->h2[dir], data, len, on_msg, want_body, c);
			return;
		}
		if (c->proto[dir] != PROTO_H1)
			return;
		c->cur_dir = (uint8_t)dir;
		k = mcp_http1_feed(&c->h[dir], data, len, on_msg_h1, c);
		data += k;
		len -= k;
		if (!c->h[dir].stop)
			return;
		c->h[dir].stop = 0; /* upgraded: the server after its 101, the client at PRI */
		if (to_h2(c, dir, len >= 4 && !memcmp(data, "PRI ", 4)) < 0)
			c->proto[dir] = PROTO_DEAD;
	}
}

static void on_data(void *ctx, struct mcp_tcp_app *a, int dir, const uint8_t *data, size_t len,
		    const struct mcp_pkt *pkt)
{
	struct mcp_sbi *b = ctx;
	struct sbi_conn *c = a->app;

	if (!c) {
		if (!(c = calloc(1, sizeof(*c))))
			return;
		c->b = b;
		/* the HTTP/1.1 error counters are the first SBI reasons, in the same order */
		c->h[0].err = c->h[1].err = b->st.bad;
		a->app = c;
		b->st.conns++;
	}
	c->ts_ms = pkt->ts_us / 1000;
	if (!data) {
		bad(b, MCP_SBI_BAD_STREAM_GAP);
		if (c->proto[dir] == PROTO_H2)
			mcp_h2_gap(&c->h2[dir]); /* HPACK state is lost with the bytes */
		else
			mcp_http1_gap(&c->h[dir]);
		return;
	}
	feed(c, dir, data, len);
}

static void on_free(void *ctx, struct mcp_tcp_app *a)
{
	struct sbi_conn *c = a->app;
	(void)ctx;

	for (int d = 0; d < 2; d++) {
		mcp_http1_free(&c->h[d]);
		if (c->proto[d] == PROTO_H2)
			mcp_h2_free(&c->h2[d]);
	}
	free(c);
	a->app = NULL;
}

struct mcp_sbi *mcp_sbi_create(const struct mcp_sbi_cfg *cfg)
{
	struct mcp_sbi *b = calloc(1, sizeof(*b));
	struct mcp_tcp_reasm_cfg tc = { 0 };

	if (!b)
		return NULL;
	if (cfg)
		b->cfg = *cfg;
	tc.max_conns = b->cfg.max_conns ? b->cfg.max_conns : 1024;
	b->tcp = mcp_tcp_reasm_create(&tc, on_data, on_free, b);
	if (!b->tcp) {
		free(b);
		return NULL;
	}
	return b;
}

void mcp_sbi_destroy(struct mcp_sbi *b)
{
	if (!b)
		return;
	mcp_tcp_reasm_destroy(b->tcp);
	free(b);
}

/* A request line of an SBI API (paths are /n<service>-...) or the h2 preface. */
static int sbi_start(const uint8_t *p, uint32_t n)
{
	static const char *const starts[] = { "POST /n", "PUT /n", "PATCH /n", "GET /n",
					      "DELETE /n", "PRI " };

	for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		size_t l = strlen(starts[i]);

		if (n >= l && !memcmp(p, starts[i], l))
			return 1;
	}
	return 0;
}

void mcp_sbi_segment(struct mcp_sbi *b, const struct mcp_pkt *pkt)
{
	int start = pkt->payload && sbi_start(pkt->payload, pkt->payload_len);

	mcp_tcp_reasm_segment(b->tcp, pkt, start);
}

void mcp_sbi_expire(struct mcp_sbi *b, uint64_t now_ms)
{
	mcp_tcp_reasm_expire(b->tcp, now_ms);
}

const struct mcp_sbi_stats *mcp_sbi_stats(const struct mcp_sbi *b)
{
	return &b->st;
}

static const char *const bad_names[] = {
#define MCP_NAME(n) "sbi " #n,
	MCP_SBI_BAD_REASONS(MCP_NAME)
#undef MCP_NAME
};

void mcp_sbi_print_stats(const struct mcp_sbi *b, FILE *f)
{
	const struct mcp_sbi_stats *st = &b->st;
	const struct mcp_tcp_reasm_stats *t = mcp_tcp_reasm_stats(b->tcp);

	if (!st->conns)
		return;
	fprintf(f, "  sbi connections              %" PRIu64 " (requests %" PRIu64 ", responses %"
		   PRIu64 ")\n", st->conns, st->requests, st->responses);
	fprintf(f, "  sbi CreateSMContext / N1N2 / UpdateSMContext %" PRIu64 " / %" PRIu64
		   " / %" PRIu64 "\n", st->create_sm, st->n1n2, st->update_sm);
	fprintf(f, "  sbi identities               %" PRIu64 " (NAI SUPIs %" PRIu64 ")\n",
		st->idents, st->nai_supi);
	fprintf(f, "  sbi N2 DL F-TEIDs            %" PRIu64 " (unknown SM context %" PRIu64 ")\n",
		st->n2_dl, st->unknown_sm_context);
	fprintf(f, "  sbi tcp: retransmitted bytes %" PRIu64 ", out of order %" PRIu64
		   ", gaps %" PRIu64 ", mid-stream %" PRIu64 ", evicted %" PRIu64 "\n",
		t->retransmitted_bytes, t->out_of_order, t->gaps, t->midstream, t->evicted);
	for (int i = 0; i < MCP_SBI_BAD__MAX; i++)
		if (st->bad[i])
			fprintf(f, "    %-34s %" PRIu64 "\n", bad_names[i], st->bad[i]);
}
