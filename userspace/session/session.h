/* session.h - the subscriber session table fed by GTPv1-C (TS 29.060) and GTPv2-C (TS 29.274).
 *
 * One entry per IMSI with its identities and every bearer's user-plane F-TEIDs. Lookups map
 * a GTP-U tunnel (TEID + receiving endpoint), a UE IP, or an IMSI to the subscriber. Changes
 * are reported through one event callback (microcloud, BPF tunnel map and JSON consume it).
 */
#ifndef MCP_SESSION_H
#define MCP_SESSION_H

#include <stdint.h>
#include <stdio.h>

#include "mcp_addr.h"
#include "decode/pkt.h"

#define MCP_IMSI_LEN   16  /* 15 digits + NUL: the subscriber key (see mcp_supi_key) */
#define MCP_SUPI_LEN   128 /* a non-IMSI SUPI's text ("nai-..."), NUL included */
#define MCP_MSISDN_LEN 16
#define MCP_IMEI_LEN   17  /* IMEISV has 16 digits */
#define MCP_APN_LEN    101 /* TS 23.003: APN up to 100 octets */
#define MCP_MAX_TUNNELS 22 /* 11 bearers (EBI 5..15) x up/down */
#define MCP_MAX_QFI 7      /* 5G QoS flow ids kept per subscriber */
#define MCP_RAT_NR 10      /* GTPv2 RAT type value for NR, used for 5G SA sessions */

enum mcp_sub_state { MCP_SUB_ACTIVE, MCP_SUB_DELETED };
enum mcp_tun_dir { MCP_DIR_UP = 0, MCP_DIR_DOWN = 1 };

/* One user-plane F-TEID: GTP-U packets with this TEID sent to addr travel in dir. */
struct mcp_tunnel {
	uint32_t teid;
	struct mcp_ip addr;
	uint8_t dir;   /* enum mcp_tun_dir */
	uint8_t ebi;   /* bearer (EBI or NSAPI) */
	uint8_t iface; /* GTPv2 F-TEID interface type, 0xff for GTPv1 */
	uint8_t pad;
};

struct mcp_subscriber {
	uint32_t id;               /* stable small index while the entry exists (BPF, workers) */
	char imsi[MCP_IMSI_LEN];   /* the key: IMSI digits, or mcp_supi_key of supi */
	char supi[MCP_SUPI_LEN];   /* non-IMSI SUPI (5G NAI) as text; empty for an IMSI */
	char msisdn[MCP_MSISDN_LEN];
	char imei[MCP_IMEI_LEN];
	char apn[MCP_APN_LEN];
	struct mcp_ip ue_ipv4, ue_ipv6; /* zero when not assigned; IPv6 is the /64 prefix + IID */
	uint8_t has_ipv4, has_ipv6;
	uint8_t rat;               /* RAT type value as on the wire (v1 and v2 differ: see gtp_version) */
	uint8_t gtp_version;       /* 1 or 2 */
	uint8_t state;             /* enum mcp_sub_state */
	uint8_t ntunnels;
	/* 5G (PFCP, SBI): QoS flows of the PDU sessions and the S-NSSAI; rat is then 10 (NR) */
	uint8_t nqfi;
	uint8_t qfi[MCP_MAX_QFI];
	uint32_t snssai;           /* SST << 24 | SD (0xffffff: no SD); 0 when unknown */
	struct mcp_tunnel tunnels[MCP_MAX_TUNNELS];
	uint32_t ctrl_teid[2];     /* control-plane TEIDs: [0] core side, [1] access side */
	uint64_t last_change_ms;
	uint64_t deleted_ms;       /* when state became DELETED */
};

enum mcp_session_event { MCP_EV_ATTACH, MCP_EV_MODIFY, MCP_EV_DETACH, MCP_EV_REMOVE };

/* Called synchronously from the table on every state change. REMOVE means the entry is gone
 * (grace period over); sub is still valid during the call. */
typedef void (*mcp_session_event_fn)(void *ctx, enum mcp_session_event ev,
				     const struct mcp_subscriber *sub, uint64_t ts_ms);

/* "attach", "modify", "detach", "remove" (session.c). */
const char *mcp_session_event_name(enum mcp_session_event ev);

struct mcp_session_cfg {
	uint32_t max_subscribers;     /* default 1,000,000 */
	uint32_t delete_grace_ms;     /* deleted sessions stay resolvable (default 60000) */
	uint32_t handover_grace_ms;   /* replaced tunnels stay resolvable (default 5000) */
	uint32_t transaction_timeout_ms; /* unanswered requests are forgotten (default 10000) */
	mcp_session_event_fn on_event;
	void *event_ctx;
};

/* Control-plane counters for --stats. */
struct mcp_session_stats {
	uint64_t v1_msgs[256], v2_msgs[256]; /* per message type */
	uint64_t created, modified, deleted, removed;
	uint64_t unmatched_responses, rejected_responses, retransmissions, timed_out_requests;
	uint64_t unknown_ies, unknown_msgs, malformed;
	uint64_t malformed_reason[8];
	uint64_t table_full;
	/* Added by the GTP-C implementation (gtpc.h has the malformed_reason names). */
	uint64_t unknown_session;  /* TEID-addressed exchange whose control TEID is not known */
	uint64_t tunnels_full;     /* F-TEIDs dropped: subscriber already has MCP_MAX_TUNNELS */
	uint64_t txn_full;         /* requests not tracked: too many pending transactions */
	uint64_t accepted_exchanges; /* matched responses with an accepted cause */
	uint64_t discarded_ies;    /* repeated / unexpected-instance IEs: the first one was kept */
};

struct mcp_sessions;

/* The subscriber key of a SUPI that is not an IMSI (docs/5g.md): "n" and 14 hex digits of
 * the SUPI text's 64-bit XXH3 (its top 56 bits). Fixed size like an IMSI, never all digits,
 * so it lives in the same tables, records and microcloud keys without colliding with one. */
void mcp_supi_key(char key[MCP_IMSI_LEN], const char *supi);
/* 1 when key is such a key (not IMSI digits). */
static inline int mcp_key_is_supi(const char *key)
{
	return key[0] == 'n';
}

struct mcp_sessions *mcp_sessions_create(const struct mcp_session_cfg *cfg);
void mcp_sessions_destroy(struct mcp_sessions *s);

/* Feeds one GTP-C message (pkt->kind == MCP_PKT_GTPC). 0, or -EBADMSG/-EMSGSIZE (counted). */
int mcp_sessions_handle_gtpc(struct mcp_sessions *s, const struct mcp_pkt *pkt);

/* GTP-U receiving endpoint lookup: TEID from the header, addr = outer destination. */
const struct mcp_subscriber *mcp_sessions_by_tunnel(struct mcp_sessions *s, uint32_t teid,
						    const struct mcp_ip *addr, uint8_t *dir);
const struct mcp_subscriber *mcp_sessions_by_ue_ip(struct mcp_sessions *s, const struct mcp_ip *ip);
/* 1 when (teid, addr) is one of sub's current tunnels; 0 when mcp_sessions_by_tunnel found sub
 * only because a tunnel its session replaced keeps resolving for handover_grace_ms. */
int mcp_sub_holds_tunnel(const struct mcp_subscriber *sub, uint32_t teid,
			 const struct mcp_ip *addr);
const struct mcp_subscriber *mcp_sessions_by_imsi(struct mcp_sessions *s, const char *imsi);
const struct mcp_subscriber *mcp_sessions_by_id(struct mcp_sessions *s, uint32_t id);
/* Starts loading what mcp_sessions_by_id(s, id) and a record's subscriber facts read (the
 * merger fills one record while the next one's entry comes in). */
void mcp_sessions_prefetch_id(struct mcp_sessions *s, uint32_t id);

/* Advances time: removes deleted sessions and stale tunnels past their grace. Call with
 * packet time (offline) or wall time (live). */
void mcp_sessions_expire(struct mcp_sessions *s, uint64_t now_ms);
/* Forgets GTP-C requests unanswered for the transaction timeout (session_gtpc.c). Called
 * beside mcp_sessions_expire from the pipeline's tick. */
void mcp_sessions_expire_transactions(struct mcp_sessions *s, uint64_t now_ms);

/* Calls fn for every subscriber (final dump, microcloud resync). */
void mcp_sessions_foreach(struct mcp_sessions *s,
			  void (*fn)(void *ctx, const struct mcp_subscriber *sub), void *ctx);

/* Inserts or replaces a subscriber learnt elsewhere (microcloud reload). Emits no event. */
int mcp_sessions_restore(struct mcp_sessions *s, const struct mcp_subscriber *sub);

const struct mcp_session_stats *mcp_sessions_stats(const struct mcp_sessions *s);
/* The bound counters (table_full, txn_full, tunnels_full, unknown_session, discarded_ies),
 * one line each, for --stats (session_pressure.c). */
void mcp_sessions_print_pressure(FILE *f, const struct mcp_session_stats *st);

/* Changes whenever a tunnel or UE IP may have become resolvable (attach, modify, restore):
 * a flow that found no subscriber need only look again when it moved (flow/attribution.h). */
uint64_t mcp_sessions_generation(const struct mcp_sessions *s);
/* Changes whenever what mcp_sessions_by_tunnel and the subscriber it returns say for any
 * tunnel key may have changed: a cache of tunnel attributions is valid while it stays. */
uint64_t mcp_sessions_tunnel_epoch(const struct mcp_sessions *s);

#endif /* MCP_SESSION_H */
