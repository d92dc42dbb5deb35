/* record.h - one exported flow record, the contract between the flow table and exporters
 * (JSON lines, microcloud counters and per-IMSI aggregates).
 *
 * "up" is the side the traffic comes from the UE (GTP: the uplink tunnel), or the initiator
 * for untunneled traffic. Strings are NUL-terminated and may hold any byte the packet gave:
 * exporters escape them.
 */
#ifndef MCP_RECORD_H
#define MCP_RECORD_H

#include <stdint.h>

#include "mcp_addr.h"
#include "session/session.h"

enum mcp_end_reason { MCP_END_IDLE, MCP_END_ACTIVE, MCP_END_FIN, MCP_END_RST, MCP_END_FLUSH,
		      MCP_END_EVICTED };

#define MCP_HOST_LEN 256
#define MCP_URL_LEN 256
#define MCP_UA_LEN 160
#define MCP_APP_NAME_LEN 64

struct mcp_flow_record {
	uint8_t ip_version;
	uint8_t proto;           /* IPPROTO_* */
	uint16_t vlan;
	struct mcp_ip src_ip, dst_ip;  /* src = up side */
	uint16_t src_port, dst_port;
	uint64_t pkts_up, pkts_down;
	uint64_t bytes_up, bytes_down; /* inner IP bytes */
	uint64_t first_ms, last_ms;
	uint8_t tcp_flags_up, tcp_flags_down;
	uint8_t end_reason;      /* enum mcp_end_reason */
	uint8_t tunneled;        /* GTP-U: teid/outer fields valid */
	uint32_t teid_up, teid_down;   /* 0 if that direction was not seen */
	uint8_t has_qfi, qfi;          /* 5G: QoS flow id of the first PDU Session Container */
	struct mcp_ip outer_src, outer_dst; /* outer endpoints of the first uplink (else first) packet */
	uint8_t outer_up;              /* outer_src/dst are an uplink packet's (late binding) */
	uint8_t attr_tentative;        /* imsi was found provisionally (attribution.h): a new
					* owner may come */
	/* live: of pkts/bytes ([0] up), those no kernel subscriber counter has yet (the flow had
	 * no subscriber at export): the shards' merger credits them when it binds the record */
	uint64_t uncredited_pkts[2], uncredited_bytes[2];
	/* live, attr_tentative: what imsi's kernel counters received for the flow ([0] up); the
	 * merger moves it if it moves the record (mcp_record_credit_move) */
	uint64_t owner_credit_pkts[2], owner_credit_bytes[2];
	/* DPI */
	uint16_t app_id, master_id;    /* nDPI protocol ids */
	char app[MCP_APP_NAME_LEN];    /* e.g. "TLS.YouTube" style: app name */
	char master_app[MCP_APP_NAME_LEN];
	char category[MCP_APP_NAME_LEN];
	char host[MCP_HOST_LEN];       /* TLS SNI, HTTP Host or DNS query name */
	char http_url[MCP_URL_LEN];
	char user_agent[MCP_UA_LEN];
	uint16_t http_status;
	int16_t dns_rcode;             /* -1 when no DNS response was seen */
	/* Subscriber (tunneled or UE-IP traffic); imsi[0] == 0 when unknown. imsi is the
	 * subscriber key: IMSI digits, or for a NAI SUPI its key (mcp_supi_key) with the text
	 * in supi (empty once the subscriber is gone). */
	char imsi[MCP_IMSI_LEN];
	char supi[MCP_SUPI_LEN];
	char msisdn[MCP_MSISDN_LEN];
	char imei[MCP_IMEI_LEN];
	char apn[MCP_APP_NAME_LEN > MCP_APN_LEN ? MCP_APP_NAME_LEN : MCP_APN_LEN];
	struct mcp_ip ue_ip;
	uint8_t has_ue_ip;
	uint8_t rat;
	uint8_t gtp_version;
	uint32_t sub_id;               /* with imsi: the session table's id of it when the flow
					* had it, a hint (the id may name another subscriber since) */
	char user[MCP_HOST_LEN];       /* RADIUS User-Name on fixed networks; empty if none */
};

/* Exporters receive every record once; ctx is theirs. */
struct mcp_exporter {
	void (*flow)(void *ctx, const struct mcp_flow_record *r);
	void *ctx;
};

const char *mcp_end_reason_name(enum mcp_end_reason r);

#endif /* MCP_RECORD_H */
