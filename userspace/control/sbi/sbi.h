/* sbi.h - 5G Service Based Interface decoder: the Nsmf_PDUSession and Namf_Communication
 * operations that carry a UE's identity and PDU session facts, over HTTP/1.1 (and h2c) on
 * reassembled TCP streams, with the bounded extractors of their bodies: JSON (json-c, depth
 * and size limited), multipart/related parts, the NAS-5GS PDU Session Establishment Accept
 * (PDU address) and the NGAP PDU Session Resource Setup Request Transfer (UL NG-U F-TEID).
 *
 * Identities go out through one callback; the 5G session join (session/session_5g.h) takes
 * them. TS 29.502 (Nsmf_PDUSession), TS 29.518 (Namf_Communication), TS 29.571 (SUPI, GPSI,
 * PEI), TS 24.501 9.11.4.10 (PDU address), TS 38.413 9.3.4.1 (PDU Session Resource Setup
 * Request Transfer).
 */
#ifndef MCP_SBI_H
#define MCP_SBI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "decode/pkt.h"

#define MCP_SBI_JSON_MAX_DEPTH 16    /* JSON nesting accepted (deeper: rejected, counted) */
#define MCP_SBI_MAX_PARTS      8     /* multipart/related parts looked at per body */
#define MCP_SBI_SUPI_LEN       128   /* a NAI SUPI's text, NUL included (longer: refused) */

/* Identity facts of one PDU session learnt from the SBI. */
struct mcp_sbi_ident {
	char imsi[16];               /* SUPI as IMSI digits; empty when not an IMSI SUPI */
	char nai[MCP_SBI_SUPI_LEN];  /* SUPI text when a NAI ("nai-user@realm"), else empty */
	char msisdn[16];             /* GPSI msisdn- digits */
	char imei[17];               /* PEI imei-/imeisv- digits */
	char dnn[101];
	uint32_t snssai;             /* SST << 24 | SD (0xffffff: no SD), 0 when absent */
	uint8_t pdu_session_id;
	uint8_t has_ue_v4, has_ue_v6, has_ul_fteid;
	struct mcp_ip ue_v4, ue_v6;  /* N1 PDU address (IPv6: interface identifier only) */
	uint32_t ul_teid;            /* N2 UL NG-U UP TNL information (the UPF's N3 F-TEID) */
	struct mcp_ip ul_addr;
	uint8_t has_dl_fteid;        /* UpdateSMContext N2: the gNB's DL F-TEID */
	uint32_t dl_teid;
	struct mcp_ip dl_addr;
};

typedef void (*mcp_sbi_ident_fn)(void *ctx, const struct mcp_sbi_ident *id, uint64_t ts_ms);

#define MCP_SBI_BAD_REASONS(X)                                                                  \
	X(HTTP_START)     /* header block without a valid start line */                          \
	X(HTTP_HDR_SIZE)  /* header block too large */                                           \
	X(HTTP_BODY_SIZE) /* body too large (skipped) */                                         \
	X(HTTP_CHUNKED)   /* chunked body not followed */                                        \
	X(H2_FRAME_SIZE)  /* HTTP/2 frame too large or badly padded: connection dead */          \
	X(H2_HPACK)       /* HPACK error (Huffman, index, table size): connection dead */        \
	X(H2_LIST_SIZE)   /* HTTP/2 header list too large: message dropped */                    \
	X(H2_CONTINUATION) /* CONTINUATION chain too long, too large or interleaved: dead */     \
	X(H2_STREAMS)     /* more concurrent SBI streams than kept: message dropped */           \
	X(H2_BODY_SIZE)   /* HTTP/2 body too large: message dropped */                           \
	X(H2_PREFACE)     /* h2 client without the connection preface: dead */                   \
	X(H2_SETTINGS)    /* SETTINGS / HTTP2-Settings malformed or out of range: ignored */     \
	X(STREAM_GAP)     /* TCP bytes lost: the message in progress was dropped */              \
	X(JSON)           /* JSON body unparsable, too deep or not an object */                  \
	X(MULTIPART)      /* multipart body without its boundary or parts */                     \
	X(NAS)            /* N1 SM container not a well-formed 5GSM accept */                    \
	X(NGAP)           /* N2 SM container not a well-formed setup request transfer */         \
	X(SUPI)           /* SUPI neither imsi- digits nor nai- */

#define MCP_ENUM_SBI_BAD(n) MCP_SBI_BAD_##n,
enum mcp_sbi_bad_reason { MCP_SBI_BAD_REASONS(MCP_ENUM_SBI_BAD) MCP_SBI_BAD__MAX };
#undef MCP_ENUM_SBI_BAD

struct mcp_sbi_stats {
	uint64_t conns, requests, responses;
	uint64_t create_sm, n1n2, update_sm;  /* operations recognised */
	uint64_t idents;                      /* identities handed to the callback */
	uint64_t nai_supi;                    /* identities whose SUPI is a NAI */
	uint64_t n2_dl;                       /* UpdateSMContext N2 DL F-TEIDs handed on */
	uint64_t unknown_sm_context;          /* UpdateSMContext of a context never created */
	uint64_t bad[MCP_SBI_BAD__MAX];
};

struct mcp_sbi_cfg {
	uint32_t max_conns;       /* TCP connections followed (default 1024) */
	mcp_sbi_ident_fn on_ident;
	void *ctx;
};

struct mcp_sbi;

struct mcp_sbi *mcp_sbi_create(const struct mcp_sbi_cfg *cfg);
void mcp_sbi_destroy(struct mcp_sbi *b);
/* Feeds an untunnelled TCP segment; connections start at an SBI-looking request. */
void mcp_sbi_segment(struct mcp_sbi *b, const struct mcp_pkt *pkt);
void mcp_sbi_expire(struct mcp_sbi *b, uint64_t now_ms);
const struct mcp_sbi_stats *mcp_sbi_stats(const struct mcp_sbi *b);
void mcp_sbi_print_stats(const struct mcp_sbi *b, FILE *f);

/* ---- extractors (sbi_body.c, sbi_nas_ngap.c); each bounded, 0 or -EBADMSG ---- */

/* "imsi-<5..15 digits>" into imsi[16] (returns 0); a NAI "nai-<user@realm>" of RFC 7542
 * characters, shorter than MCP_SBI_SUPI_LEN, into nai as is (returns 1); -EBADMSG otherwise.
 * The other output is emptied. */
int mcp_sbi_supi(const char *supi, char imsi[16], char nai[MCP_SBI_SUPI_LEN]);
/* The top-level string member key of a JSON object body into out; 0 or -EBADMSG. */
int mcp_sbi_json_str(const uint8_t *body, size_t n, const char *key, char *out, size_t outsz);
/* SmContextCreateData (or any object with supi/gpsi/pei/pduSessionId/dnn/sNssai). */
int mcp_sbi_json_ident(const uint8_t *body, size_t n, struct mcp_sbi_ident *id);
/* One part of a multipart/related body; the boundary comes from content_type. */
struct mcp_sbi_part {
	const uint8_t *p;
	size_t n;
	char type[64];
};
/* Splits body into at most max parts; returns their number or -EBADMSG. */
int mcp_sbi_multipart(const char *content_type, const uint8_t *body, size_t n,
		      struct mcp_sbi_part *parts, int max);
/* NAS-5GS PDU Session Establishment Accept: the PDU address. */
int mcp_nas5gs_accept_address(const uint8_t *p, size_t n, struct mcp_sbi_ident *id);
/* NGAP PDU Session Resource Setup Request Transfer: the UL NG-U GTP tunnel. */
int mcp_ngap_setup_request_ul(const uint8_t *p, size_t n, struct mcp_sbi_ident *id);
/* NGAP PDU Session Resource Setup Response Transfer: the DL GTP tunnel (the gNB's). */
int mcp_ngap_setup_response_dl(const uint8_t *p, size_t n, struct mcp_sbi_ident *id);

#endif /* MCP_SBI_H */
