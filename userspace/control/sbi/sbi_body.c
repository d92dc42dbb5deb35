/* sbi_body.c - SBI body extractors: SUPI/GPSI/PEI text forms (TS 29.571 5.3.2), the JSON of
 * SmContextCreateData (TS 29.502 6.1.6.2.2) and the like through json-c with a depth limit,
 * and multipart/related (RFC 2387, RFC 2046 5.1.1) parts.
 */
#include <errno.h>
#include <json-c/json.h>
#include <string.h>
#include <strings.h>

#include "control/sbi/sbi.h"

/* Copies the digits after prefix (minlen..maxlen of them) into out; -1 if not that form. */
static int digits_after(const char *s, const char *prefix, size_t minlen, size_t maxlen,
			char *out)
{
	size_t pl = strlen(prefix), n;

	if (strncmp(s, prefix, pl))
		return -1;
	s += pl;
	n = strspn(s, "0123456789");
	if (s[n] || n < minlen || n > maxlen)
		return -1;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

int mcp_sbi_supi(const char *supi, char imsi[16], char nai[MCP_SBI_SUPI_LEN])
{
	/* RFC 7542 2.2 username and realm characters, minus quotes and backslash */
	static const char nai_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					"0123456789!#$%&'*+-./=?^_`{|}~@";
	size_t n;

	imsi[0] = nai[0] = '\0';
	if (!digits_after(supi, "imsi-", 5, 15, imsi))
		return 0;
	if (strncmp(supi, "nai-", 4))
		return -EBADMSG;
	n = strnlen(supi, MCP_SBI_SUPI_LEN);
	if (n == 4 || n == MCP_SBI_SUPI_LEN || strspn(supi + 4, nai_chars) != n - 4)
		return -EBADMSG;
	memcpy(nai, supi, n + 1);
	return 1;
}

static const char *str_member(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static void take_snssai(json_object *o, struct mcp_sbi_ident *id)
{
	json_object *sn, *sst;
	const char *sd;
	uint32_t v = 0xffffff;

	if (!json_object_object_get_ex(o, "sNssai", &sn) ||
	    !json_object_object_get_ex(sn, "sst", &sst) || !json_object_is_type(sst, json_type_int))
		return;
	sd = str_member(sn, "sd");
	if (sd && strlen(sd) == 6 && strspn(sd, "0123456789abcdefABCDEF") == 6)
		v = (uint32_t)strtoul(sd, NULL, 16);
	id->snssai = (uint32_t)(json_object_get_int(sst) & 0xff) << 24 | v;
}

static json_object *parse_object(const uint8_t *body, size_t n)
{
	struct json_tokener *tok;
	json_object *o;

	if (!body || !n || n > 65536 || !(tok = json_tokener_new_ex(MCP_SBI_JSON_MAX_DEPTH)))
		return NULL;
	o = json_tokener_parse_ex(tok, (const char *)body, (int)n);
	if (o && (json_tokener_get_error(tok) != json_tokener_success ||
		  !json_object_is_type(o, json_type_object))) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

int mcp_sbi_json_str(const uint8_t *body, size_t n, const char *key, char *out, size_t outsz)
{
	json_object *o = parse_object(body, n);
	const char *s = o ? str_member(o, key) : NULL;
	int rc = s && strlen(s) < outsz ? 0 : -EBADMSG;

	if (!rc)
		strcpy(out, s);
	if (o)
		json_object_put(o);
	return rc;
}

int mcp_sbi_json_ident(const uint8_t *body, size_t n, struct mcp_sbi_ident *id)
{
	json_object *o = parse_object(body, n), *psi;
	const char *s;
	int rc = 0;

	if (!o)
		return -EBADMSG;
	if ((s = str_member(o, "supi")) && mcp_sbi_supi(s, id->imsi, id->nai) < 0)
		rc = -EBADMSG;
	if ((s = str_member(o, "gpsi")))
		(void)digits_after(s, "msisdn-", 1, 15, id->msisdn);
	if ((s = str_member(o, "pei")) && digits_after(s, "imeisv-", 16, 16, id->imei))
		(void)digits_after(s, "imei-", 14, 15, id->imei);
	if ((s = str_member(o, "dnn")) && strlen(s) < sizeof(id->dnn) &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") ==
		    strlen(s))
		strcpy(id->dnn, s);
	if (json_object_object_get_ex(o, "pduSessionId", &psi) &&
	    json_object_is_type(psi, json_type_int) && json_object_get_int(psi) >= 0 &&
	    json_object_get_int(psi) <= 255)
		id->pdu_session_id = (uint8_t)json_object_get_int(psi);
	take_snssai(o, id);
	json_object_put(o);
	return rc;
}

/* The boundary parameter of a multipart content type; 0 or -EBADMSG. */
static int boundary_of(const char *ct, char *out, size_t outsz)
{
	const char *b = strcasestr(ct, "boundary=");
	size_t n;

	if (!b)
		return -EBADMSG;
	b += 9;
	if (*b == '"') {
		const char *e = strchr(++b, '"');

		if (!e)
			return -EBADMSG;
		n = (size_t)(e - b);
	} else {
		n = strcspn(b, "; \t");
	}
	if (!n || n >= outsz)
		return -EBADMSG;
	memcpy(out, b, n);
	out[n] = '\0';
	return 0;
}

/* One part between delimiters: headers (Content-Type kept) and content. */
static void part_of(const uint8_t *p, size_t n, struct mcp_sbi_part *part)
{
	const uint8_t *h = memmem(p, n, "\r\n\r\n", 4), *ct;

	memset(part, 0, sizeof(*part));
	if (n >= 2 && p[0] == '\r' && p[1] == '\n') { /* no header fields */
		part->p = p + 2;
		part->n = n - 2;
		return;
	}
	if (!h) {
		part->p = p;
		part->n = n;
		return;
	}
	ct = memmem(p, (size_t)(h - p), "Content-Type:", 13);
	if (ct) {
		size_t k;

		ct += 13;
		while (ct < h && *ct == ' ')
			ct++;
		for (k = 0; ct + k < h && ct[k] != '\r' && k < sizeof(part->type) - 1; k++)
			part->type[k] = (char)ct[k];
		part->type[k] = '\0';
	}
	part->p = h + 4;
	part->n = n - (size_t)(h + 4 - p);
}

int mcp_sbi_multipart(const char *content_type, const uint8_t *body, size_t n,
		      struct mcp_sbi_part *parts, int max)
{
	char delim[80] = "--";
	const uint8_t *p, *end = body + n, *next;
	size_t dl;
	int k = 0;

	if (!body || boundary_of(content_type, delim + 2, sizeof(delim) - 2) < 0)
		return -EBADMSG;
	dl = strlen(delim);
	p = memmem(body, n, delim, dl);
	while (p && k < max) {
		p += dl;
		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			return k; /* close delimiter */
		if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
			p += 2;
		next = memmem(p, (size_t)(end - p), delim, dl);
		if (!next)
			return k ? k : -EBADMSG;
		/* the CRLF before a delimiter belongs to the delimiter */
		part_of(p, (size_t)(next - p) >= 2 ? (size_t)(next - p) - 2 : 0, &parts[k++]);
		p = next;
	}
	return k ? k : -EBADMSG;
}
