/* radius.h - RADIUS accounting dissector (RFC 2866, attributes RFC 2865 / RFC 6911) and the
 * user table it feeds: User-Name <-> Framed-IP-Address on fixed networks.
 *
 * The pipeline hands every UDP datagram to or from the accounting port (1813) to
 * mcp_radius_handle(); Start and Interim-Update bind the user to its address, Stop releases
 * it. Changes are reported through one callback (the microcloud writes user.<name> and
 * ip.<addr>). Malformed messages are counted per reason and skipped.
 */
#ifndef MCP_RADIUS_H
#define MCP_RADIUS_H

#include <stddef.h>
#include <stdint.h>

#include "mcp_addr.h"
#include "decode/pkt.h"

#define MCP_RADIUS_ACCT_PORT 1813
#define MCP_RADIUS_USER_LEN 254    /* User-Name: 253 octets + NUL */
#define MCP_RADIUS_STR_LEN 64      /* Calling-Station-Id, Acct-Session-Id (longer: cut) */

/* RFC 2866 5.1 Acct-Status-Type values. */
enum mcp_radius_status {
	MCP_RADIUS_START = 1,
	MCP_RADIUS_STOP = 2,
	MCP_RADIUS_INTERIM = 3,
	MCP_RADIUS_ACCT_ON = 7,
	MCP_RADIUS_ACCT_OFF = 8,
};

/* Why a message was not used. TRUNC_* = the capture ended early, BAD_* = a field is wrong. */
#define MCP_RADIUS_MALFORMED(X)                                                                 \
	X(TRUNC_HEADER)     /* fewer than 20 bytes */                                           \
	X(TRUNC_PACKET)     /* Length field beyond the captured datagram */                     \
	X(BAD_LENGTH)       /* Length field < 20 or > 4096 */                                   \
	X(TRUNC_ATTR)       /* attribute header or value beyond Length */                       \
	X(BAD_ATTR_LEN)     /* attribute length < 2 */                                          \
	X(BAD_ATTR_VALUE)   /* wrong size for the type (Framed-IP-Address != 4, ...) */         \
	X(NO_STATUS_TYPE)   /* Accounting-Request without Acct-Status-Type */                   \
	X(NO_USER_NAME)     /* Start/Interim/Stop without User-Name */

#define MCP_RADIUS_ENUM(n) MCP_RADIUS_BAD_##n,
enum mcp_radius_malformed { MCP_RADIUS_MALFORMED(MCP_RADIUS_ENUM) MCP_RADIUS_BAD__MAX };
#undef MCP_RADIUS_ENUM

/* One decoded Accounting-Request. */
struct mcp_radius_acct {
	uint8_t code, id;
	uint32_t status;                  /* enum mcp_radius_status, 0 if absent */
	char user[MCP_RADIUS_USER_LEN];
	char calling[MCP_RADIUS_STR_LEN];
	char session_id[MCP_RADIUS_STR_LEN];
	struct mcp_ip framed_ip, framed_ipv6, nas_ip;
	uint8_t has_framed_ip, has_framed_ipv6, has_nas_ip;
};

/* Decodes one RADIUS message (the UDP payload). 0 for an Accounting-Request, -ENOMSG for
 * another code (not an error), -EMSGSIZE / -EBADMSG with *reason set otherwise. */
int mcp_radius_parse(const uint8_t *buf, size_t len, struct mcp_radius_acct *out,
		     enum mcp_radius_malformed *reason);
const char *mcp_radius_malformed_name(enum mcp_radius_malformed r);

/* User table. */
typedef void (*mcp_radius_event_fn)(void *ctx, const char *user, const struct mcp_ip *ip,
				    const char *calling_station, int active, uint64_t ts_ms);

struct mcp_radius_cfg {
	uint16_t port;          /* accounting port, default 1813 */
	uint32_t max_users;     /* default 1,000,000 */
	mcp_radius_event_fn on_event; /* bind (active 1) / release (active 0); may be NULL */
	void *event_ctx;
};

struct mcp_radius_stats {
	uint64_t requests, other_codes, starts, interims, stops, acct_on_off, other_status;
	uint64_t malformed, malformed_reason[MCP_RADIUS_BAD__MAX];
	uint64_t users, table_full;
};

struct mcp_radius_users;

struct mcp_radius_users *mcp_radius_users_create(const struct mcp_radius_cfg *cfg);
void mcp_radius_users_destroy(struct mcp_radius_users *u);

/* True if pkt is UDP to or from the accounting port (worth handing to mcp_radius_handle). */
int mcp_radius_match(const struct mcp_radius_users *u, const struct mcp_pkt *pkt);
/* Feeds one datagram. 0 if used, -ENOMSG if not an accounting request (counted),
 * -EMSGSIZE/-EBADMSG if malformed (counted per reason), -ENOENT if not RADIUS accounting. */
int mcp_radius_handle(struct mcp_radius_users *u, const struct mcp_pkt *pkt);
/* Same on a decoded message (ts in ms). */
int mcp_radius_apply(struct mcp_radius_users *u, const struct mcp_radius_acct *a, uint64_t ts_ms);

/* Thread-safe lookups. 1 found (copied), 0 not found. */
int mcp_radius_user_by_ip(struct mcp_radius_users *u, const struct mcp_ip *ip, char *name,
			  size_t len);
int mcp_radius_ip_by_user(struct mcp_radius_users *u, const char *name, struct mcp_ip *ip);

void mcp_radius_get_stats(struct mcp_radius_users *u, struct mcp_radius_stats *st);
/* The live counters (no copy, no lock: for a final report once traffic has stopped). */
const struct mcp_radius_stats *mcp_radius_stats(const struct mcp_radius_users *u);

#endif /* MCP_RADIUS_H */
