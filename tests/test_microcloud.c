/* test_microcloud.c - microcloud against a real redis-server on a free loopback port.
 *
 * The API is driven directly with synthetic subscribers and flow records; every result is
 * read back through an independent hiredis connection (not through the code under test).
 * Covers: key slots vs the cluster spec, facts exact, modify drops stale keys, events
 * (subscribed before), aggregates exact, detach expiry after grace, Redis down at start,
 * killed/restarted mid-run (compared with a Redis that never failed), reload into the session
 * table, AUTH (requirepass and ACL user), queue-full coalescing, UNIX socket, sync lookups,
 * a coalesced detach + re-attach (the old keys keep their grace).
 * Cluster tests: tests/test_microcloud_cluster.c.
 */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <poll.h>

#include "microcloud/mc_internal.h"
#include "mc_redis_util.h"
#include "microcloud/microcloud.h"
#include "session/session.h"

static struct tr_redis rs;
static redisContext *rc;

static void setup(void)
{
	memset(&rs, 0, sizeof(rs));
	cr_assert_eq(tr_redis_start(&rs, 0, NULL), 0, "redis-server did not start");
	rc = tr_connect(rs.port);
	cr_assert_not_null(rc);
}

static void teardown(void)
{
	if (rc)
		redisFree(rc);
	rc = NULL;
	tr_redis_stop(&rs);
}

static void cfg_for(struct mcp_mc_cfg *c, int port)
{
	mcp_mc_cfg_defaults(c);
	c->host = "127.0.0.1";
	c->port = port;
	c->probe_name = "probe-t";
	c->prefix = "t.";
	c->flush_ms = 10;
}

static struct mcp_mc *mc_new(int port)
{
	struct mcp_mc_cfg c;
	struct mcp_mc *m;

	cfg_for(&c, port);
	m = mcp_mc_create(&c);
	cr_assert_not_null(m);
	return m;
}

Test(mc_slot, crc16_and_hash_tags)
{
	/* CRC16/XMODEM check value and the cluster-spec examples */
	cr_assert_eq(mcp_mc_crc16("123456789", 9), 0x31C3);
	cr_assert_eq(mcp_mc_key_slot("foo", 3), 12182);
	cr_assert_eq(mcp_mc_key_slot("{user1000}.following", 20), mcp_mc_key_slot("user1000", 8));
	cr_assert_eq(mcp_mc_key_slot("foo{}{bar}", 10), mcp_mc_crc16("foo{}{bar}", 10) & 16383);
	cr_assert_eq(mcp_mc_key_slot("foo{{bar}}zap", 13), mcp_mc_crc16("{bar", 4) & 16383);
	cr_assert_eq(mcp_mc_key_slot("foo{bar}{zap}", 13), mcp_mc_key_slot("bar", 3));
}

Test(mc_cfg, endpoint_and_auth)
{
	struct mcp_mc_cfg c;

	mcp_mc_cfg_defaults(&c);
	cr_assert_eq(mcp_mc_parse_endpoint(&c, "10.1.2.3:7000"), 0);
	cr_assert_str_eq(c.host, "10.1.2.3");
	cr_assert_eq(c.port, 7000);
	cr_assert_eq(mcp_mc_parse_endpoint(&c, "[::1]:6380"), 0);
	cr_assert_str_eq(c.host, "::1");
	cr_assert_eq(c.port, 6380);
	cr_assert_eq(mcp_mc_parse_endpoint(&c, "redis.local"), 0);
	cr_assert_eq(c.port, 6379);
	cr_assert_eq(mcp_mc_parse_endpoint(&c, "unix:/run/redis.sock"), 0);
	cr_assert_str_eq(c.unix_path, "/run/redis.sock");
	cr_assert_eq(mcp_mc_parse_endpoint(&c, "h:0"), -EINVAL);
	cr_assert_eq(mcp_mc_parse_endpoint(&c, "h:99999"), -EINVAL);
	cr_assert_eq(mcp_mc_parse_endpoint(&c, "h:12x"), -EINVAL);
	cr_assert_eq(mcp_mc_parse_endpoint(&c, "unix:"), -EINVAL);
	cr_assert_eq(mcp_mc_parse_endpoint(&c, ""), -EINVAL);

	cr_assert_eq(mcp_mc_parse_auth(&c, "alice:pa:ss"), 0);
	cr_assert_str_eq(c.user, "alice");
	cr_assert_str_eq(c.password, "pa:ss");
	cr_assert_eq(mcp_mc_parse_auth(&c, "secret"), 0);
	cr_assert_null(c.user);
	cr_assert_str_eq(c.password, "secret");
	setenv("MCP_REDIS_AUTH", "bob:envpw", 1);
	cr_assert_eq(mcp_mc_parse_auth(&c, NULL), 0);
	cr_assert_str_eq(c.user, "bob");
	cr_assert_str_eq(c.password, "envpw");
	unsetenv("MCP_REDIS_AUTH");
	cr_assert_eq(mcp_mc_parse_auth(&c, ""), -EINVAL);
	mcp_mc_cfg_free_auth(&c);
}

/* Checks every persistent key of s in Redis (prefix "t."). */
static void check_facts(redisContext *c, const struct mcp_subscriber *s, const char *state)
{
	char k[256], v[512], a[MCP_IP_STRLEN], b[MCP_IP_STRLEN], exp[512];
	int i;

	snprintf(k, sizeof(k), "t.imsi.%s", s->imsi);
	cr_assert_str_eq(tr_hget(c, v, sizeof(v), k, "msisdn"), s->msisdn, "%s msisdn", k);
	cr_assert_str_eq(tr_hget(c, v, sizeof(v), k, "imei"), s->imei);
	cr_assert_str_eq(tr_hget(c, v, sizeof(v), k, "apn"), s->apn);
	cr_assert_str_eq(tr_hget(c, v, sizeof(v), k, "ue_ipv4"), mcp_ip_str(&s->ue_ipv4, a));
	cr_assert_str_eq(tr_hget(c, v, sizeof(v), k, "state"), state);
	cr_assert_str_eq(tr_hget(c, v, sizeof(v), k, "probe"), "probe-t");
	cr_assert_str_eq(tr_hget(c, v, sizeof(v), k, "rat"), "6");
	snprintf(exp, sizeof(exp), "%llu", (unsigned long long)s->last_change_ms);
	cr_assert_str_eq(tr_hget(c, v, sizeof(v), k, "last_change"), exp);
	snprintf(exp, sizeof(exp), "%u@%s/up,%u@%s/down", s->tunnels[0].teid,
		 mcp_ip_str(&s->tunnels[0].addr, a), s->tunnels[1].teid,
		 mcp_ip_str(&s->tunnels[1].addr, b));
	cr_assert_str_eq(tr_hget(c, v, sizeof(v), k, "tunnels"), exp);
	cr_assert_str_eq(tr_cmd_str(c, v, sizeof(v), "GET t.ip.%s", mcp_ip_str(&s->ue_ipv4, a)),
			 s->imsi);
	cr_assert_str_eq(tr_cmd_str(c, v, sizeof(v), "GET t.msisdn.%s", s->msisdn), s->imsi);
	for (i = 0; i < s->ntunnels; i++)
		cr_assert_str_eq(tr_cmd_str(c, v, sizeof(v), "GET t.teid.%s.%u",
					    mcp_ip_str(&s->tunnels[i].addr, a), s->tunnels[i].teid),
				 s->imsi);
}

Test(microcloud, facts_exact_and_modify, .init = setup, .fini = teardown)
{
	struct mcp_subscriber s, s2;
	struct mcp_mc *m = mc_new(rs.port);
	char v[256], a[MCP_IP_STRLEN];

	tr_make_sub(&s, 1, 0);
	mcp_mc_session_event(m, MCP_EV_ATTACH, &s, s.last_change_ms);
	cr_assert_eq(mcp_mc_flush(m, 3000), 0);
	check_facts(rc, &s, "active");
	cr_assert_eq(tr_cmd_int(rc, "TTL t.imsi.%s", s.imsi), -1, "active facts are persistent");

	/* modify: new UE IP and new tunnels; the old ip./teid. keys must go */
	s2 = s;
	tr_make_sub(&s2, 1, 1);
	s2.ue_ipv4.b[15] ^= 0x80;
	mcp_mc_session_event(m, MCP_EV_MODIFY, &s2, s2.last_change_ms);
	cr_assert_eq(mcp_mc_flush(m, 3000), 0);
	check_facts(rc, &s2, "active");
	cr_assert_str_eq(tr_cmd_str(rc, v, sizeof(v), "GET t.ip.%s", mcp_ip_str(&s.ue_ipv4, a)), "");
	cr_assert_str_eq(tr_cmd_str(rc, v, sizeof(v), "GET t.teid.%s.%u",
				    mcp_ip_str(&s.tunnels[0].addr, a), s.tunnels[0].teid), "");
	/* the msisdn did not change: still there */
	cr_assert_str_eq(tr_cmd_str(rc, v, sizeof(v), "GET t.msisdn.%s", s.msisdn), s.imsi);
	mcp_mc_destroy(m);
}

Test(microcloud, reassigned_ip_not_removed, .init = setup, .fini = teardown)
{
	struct mcp_subscriber a, b;
	struct mcp_mc *m = mc_new(rs.port);
	char v[256], ip[MCP_IP_STRLEN];

	/* b takes over a's IP before a's detach is written: a's detach must not expire it */
	tr_make_sub(&a, 1, 0);
	tr_make_sub(&b, 2, 0);
	b.ue_ipv4 = a.ue_ipv4;
	mcp_mc_session_event(m, MCP_EV_ATTACH, &a, 1);
	mcp_mc_session_event(m, MCP_EV_ATTACH, &b, 2);
	mcp_mc_session_event(m, MCP_EV_DETACH, &a, 3);
	cr_assert_eq(mcp_mc_flush(m, 3000), 0);
	mcp_ip_str(&a.ue_ipv4, ip);
	cr_assert_str_eq(tr_cmd_str(rc, v, sizeof(v), "GET t.ip.%s", ip), b.imsi);
	cr_assert_eq(tr_cmd_int(rc, "TTL t.ip.%s", ip), -1);
	mcp_mc_destroy(m);
}

/* Reads one pub/sub message (3-element array) within timeout: the payload, or NULL. */
static char *read_message(redisContext *sub, char *chan, size_t chsz, unsigned timeout_ms)
{
	struct pollfd p = { .fd = sub->fd, .events = POLLIN };
	redisReply *r = NULL;
	char *out = NULL;

	for (;;) {
		if (redisGetReplyFromReader(sub, (void **)&r) != REDIS_OK)
			return NULL;
		if (r)
			break;
		if (poll(&p, 1, (int)timeout_ms) <= 0)
			return NULL;
		if (redisBufferRead(sub) != REDIS_OK)
			return NULL;
	}
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
	    r->element[2]->type == REDIS_REPLY_STRING) {
		snprintf(chan, chsz, "%s", r->element[1]->str);
		out = strdup(r->element[2]->str);
	}
	freeReplyObject(r);
	return out;
}

static const char *js(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string) ?
		       json_object_get_string(v) : "(missing)";
}

Test(microcloud, events_published, .init = setup, .fini = teardown)
{
	struct mcp_subscriber s;
	struct mcp_mc *m = mc_new(rs.port);
	redisContext *sub = tr_connect(rs.port);
	const char *evs[3] = { "attach", "modify", "detach" };
	enum mcp_session_event ev[3] = { MCP_EV_ATTACH, MCP_EV_MODIFY, MCP_EV_DETACH };
	char chan[128], ip[MCP_IP_STRLEN];
	redisReply *r;
	int i, j;

	tr_make_sub(&s, 7, 0);
	r = redisCommand(sub, "SUBSCRIBE t.events.imsi t.events.imsi.%s", s.imsi);
	freeReplyObject(r);
	r = NULL; /* the second subscribe confirmation */
	cr_assert_eq(redisGetReply(sub, (void **)&r), REDIS_OK);
	freeReplyObject(r);
	for (i = 0; i < 3; i++)
		mcp_mc_session_event(m, ev[i], &s, 1700000000000ull + (uint64_t)i);
	for (i = 0; i < 3; i++) {
		for (j = 0; j < 2; j++) {
			char *msg = read_message(sub, chan, sizeof(chan), 3000);
			json_object *o, *t, *t0, *tm;

			cr_assert_not_null(msg, "event %d/%d not received", i, j);
			o = json_tokener_parse(msg);
			cr_assert_not_null(o, "not JSON: %s", msg);
			cr_assert_str_eq(chan, j ? "t.events.imsi.001010000000007" : "t.events.imsi");
			cr_assert_str_eq(js(o, "event"), evs[i]);
			cr_assert_str_eq(js(o, "imsi"), s.imsi);
			cr_assert_str_eq(js(o, "msisdn"), s.msisdn);
			cr_assert_str_eq(js(o, "apn"), s.apn);
			cr_assert_str_eq(js(o, "ue_ip"), mcp_ip_str(&s.ue_ipv4, ip));
			cr_assert_str_eq(js(o, "probe"), "probe-t");
			cr_assert(json_object_object_get_ex(o, "time", &tm));
			cr_assert_eq(json_object_get_int64(tm), 1700000000000ll + i);
			cr_assert(json_object_object_get_ex(o, "tunnels", &t));
			cr_assert_eq(json_object_array_length(t), 2);
			t0 = json_object_array_get_idx(t, 0);
			cr_assert_str_eq(js(t0, "dir"), "up");
			cr_assert(json_object_object_get_ex(t0, "teid", &tm));
			cr_assert_eq((uint32_t)json_object_get_int64(tm), s.tunnels[0].teid);
			json_object_put(o);
			free(msg);
		}
	}
	cr_assert_eq(mcp_mc_flush(m, 3000), 0);
	cr_assert_eq(tr_cmd_int(rc, "XLEN t.events"), 3);
	redisFree(sub);
	mcp_mc_destroy(m);
}

Test(microcloud, detach_expires_after_grace, .init = setup, .fini = teardown)
{
	struct mcp_mc_cfg c;
	struct mcp_subscriber s;
	struct mcp_mc *m;
	char v[64], ip[MCP_IP_STRLEN];
	long long pttl;

	cfg_for(&c, rs.port);
	c.grace_ms = 700;
	m = mcp_mc_create(&c);
	tr_make_sub(&s, 3, 0);
	mcp_mc_session_event(m, MCP_EV_ATTACH, &s, 1);
	s.state = MCP_SUB_DELETED;
	mcp_mc_session_event(m, MCP_EV_DETACH, &s, 2);
	cr_assert_eq(mcp_mc_flush(m, 3000), 0);
	cr_assert_str_eq(tr_hget(rc, v, sizeof(v), "t.imsi.001010000000003", "state"), "deleted");
	pttl = tr_cmd_int(rc, "PTTL t.imsi.001010000000003");
	cr_assert(pttl > 0 && pttl <= 700, "pttl %lld", pttl);
	mcp_ip_str(&s.ue_ipv4, ip);
	cr_assert_str_eq(tr_cmd_str(rc, v, sizeof(v), "GET t.ip.%s", ip), s.imsi);
	cr_assert(tr_cmd_int(rc, "PTTL t.ip.%s", ip) > 0);
	tr_sleep_ms(900);
	cr_assert_eq(tr_cmd_int(rc, "EXISTS t.imsi.001010000000003 t.ip.%s t.msisdn.%s", ip,
				s.msisdn), 0);
	cr_assert_eq(tr_cmd_int(rc, "EXISTS t.teid.192.168.1.1.%u", s.tunnels[0].teid), 0);
	mcp_mc_destroy(m);
}

/* Expected sums of one (epoch, imsi, app) bucket. */
struct agg_exp {
	uint64_t epoch;
	char imsi[16];
	char app[32];
	long long pkts, bytes, flows, dur;
};

Test(microcloud, aggregates_exact, .init = setup, .fini = teardown)
{
	static const char *apps[] = { "TLS.YouTube", "DNS", "HTTP", "" };
	struct agg_exp exp[256];
	int nexp = 0, i, j;
	long long proto_bytes[4] = { 0 }, host_up = 0, host_flows = 0, dnsq = 0;
	struct mcp_mc *m = mc_new(rs.port);
	uint64_t seed = 12345;

	memset(exp, 0, sizeof(exp));
	for (i = 0; i < 2000; i++) {
		struct mcp_flow_record r;
		uint8_t a[4] = { 10, 0, 0, (uint8_t)(1 + i % 3) }, srv[4] = { 8, 8, 8, 8 };
		int ai, sub;
		uint64_t epoch;

		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		memset(&r, 0, sizeof(r));
		ai = (int)(seed >> 33) % 4;
		sub = i % 3;
		mcp_ip_from_v4(&r.src_ip, a);
		mcp_ip_from_v4(&r.dst_ip, srv);
		r.proto = 17;
		r.dst_port = ai == 1 ? 53 : 443;
		r.pkts_up = (seed >> 20) % 50 + 1;
		r.pkts_down = (seed >> 28) % 70;
		r.bytes_up = r.pkts_up * 100 + (seed >> 40) % 99;
		r.bytes_down = r.pkts_down * 1200;
		r.first_ms = 1700000000000ull + (uint64_t)i * 997;
		r.last_ms = r.first_ms + (seed >> 13) % 400000; /* crosses period edges */
		snprintf(r.app, sizeof(r.app), "%s", apps[ai]);
		if (sub < 2)
			snprintf(r.imsi, sizeof(r.imsi), "00101000000010%c", (char)('0' + sub));
		mcp_mc_flow(m, &r);
		proto_bytes[ai] += (long long)(r.bytes_up + r.bytes_down);
		if (a[3] == 1) {
			host_up += (long long)r.bytes_up;
			host_flows++;
			dnsq += ai == 1;
		}
		if (!r.imsi[0])
			continue;
		epoch = r.last_ms / 1000 / 300 * 300;
		for (j = 0; j < nexp; j++)
			if (exp[j].epoch == epoch && !strcmp(exp[j].imsi, r.imsi) &&
			    !strcmp(exp[j].app, ai == 3 ? "Unknown" : apps[ai]))
				break;
		if (j == nexp) {
			cr_assert_lt(nexp, 256);
			exp[nexp].epoch = epoch;
			snprintf(exp[nexp].imsi, 16, "%s", r.imsi);
			snprintf(exp[nexp].app, 32, "%s", ai == 3 ? "Unknown" : apps[ai]);
			nexp++;
		}
		exp[j].pkts += (long long)(r.pkts_up + r.pkts_down);
		exp[j].bytes += (long long)(r.bytes_up + r.bytes_down);
		exp[j].flows++;
		exp[j].dur += (long long)(r.last_ms - r.first_ms);
		if (i == 1000)
			mcp_mc_flush(m, 3000); /* sums span several flushes */
	}
	cr_assert_eq(mcp_mc_flush(m, 3000), 0);
	for (j = 0; j < nexp; j++) {
		char key[128];

		snprintf(key, sizeof(key), "t.agg.%llu.%s", (unsigned long long)exp[j].epoch,
			 exp[j].imsi);
		cr_assert_eq(tr_cmd_int(rc, "HGET %s %s.pkts", key, exp[j].app), exp[j].pkts, "%s",
			     key);
		cr_assert_eq(tr_cmd_int(rc, "HGET %s %s.bytes", key, exp[j].app), exp[j].bytes);
		cr_assert_eq(tr_cmd_int(rc, "HGET %s %s.flows", key, exp[j].app), exp[j].flows);
		cr_assert_eq(tr_cmd_int(rc, "HGET %s %s.duration_ms", key, exp[j].app), exp[j].dur);
		cr_assert_eq(tr_cmd_int(rc, "HGET %s period", key), 300);
		cr_assert(tr_cmd_int(rc, "TTL %s", key) > 86000);
	}
	cr_assert_gt(nexp, 12, "the data must span several buckets");
	cr_assert_eq(tr_cmd_int(rc, "HGET t.proto.TLS.YouTube bytes"), proto_bytes[0]);
	cr_assert_eq(tr_cmd_int(rc, "HGET t.proto.DNS bytes"), proto_bytes[1]);
	cr_assert_eq(tr_cmd_int(rc, "HGET t.proto.Unknown bytes"), proto_bytes[3]);
	cr_assert_eq(tr_cmd_int(rc, "HGET t.host.10.0.0.1 bytes.up"), host_up, "got %lld want %lld", tr_cmd_int(rc, "HGET t.host.10.0.0.1 bytes.up"), host_up);
	cr_assert_eq(tr_cmd_int(rc, "HGET t.host.10.0.0.1 flows"), host_flows);
	cr_assert_eq(tr_cmd_int(rc, "HGET t.host.10.0.0.1 dns.queries"), dnsq);
	cr_assert_eq(tr_cmd_int(rc, "HGET t.host.8.8.8.8 flows"), 2000);
	cr_assert_eq(tr_cmd_int(rc, "TTL t.host.8.8.8.8"), 600);
	mcp_mc_destroy(m);
}

/* Redis' own count of the calls of one command (INFO commandstats), 0 when never called. */
static long long redis_calls(redisContext *c, const char *cmd)
{
	redisReply *r = redisCommand(c, "INFO commandstats");
	char want[64];
	const char *p;
	long long n = 0;

	cr_assert(r && r->type == REDIS_REPLY_STRING);
	snprintf(want, sizeof(want), "cmdstat_%s:calls=", cmd);
	p = strstr(r->str, want);
	if (p)
		n = strtoll(p + strlen(want), NULL, 10);
	freeReplyObject(r);
	return n;
}

/* Three flows of one subscriber to 8.8.8.8: host x2, proto x1, agg x1 keys. */
static void ttl_flows(struct mcp_mc *m)
{
	uint8_t ue[4] = { 10, 9, 9, 9 }, srv[4] = { 8, 8, 8, 8 };
	struct mcp_flow_record r;
	int i;

	for (i = 0; i < 3; i++) {
		memset(&r, 0, sizeof(r));
		mcp_ip_from_v4(&r.src_ip, ue);
		mcp_ip_from_v4(&r.dst_ip, srv);
		r.proto = 6;
		r.dst_port = 443;
		r.pkts_up = 2;
		r.bytes_up = 100;
		r.first_ms = 1700000000000ull;
		r.last_ms = 1700000000500ull;
		snprintf(r.app, sizeof(r.app), "TLS");
		snprintf(r.imsi, sizeof(r.imsi), "001010000000777");
		mcp_mc_flow(m, &r);
	}
}

Test(microcloud, counter_ttl_sent_once_per_interval, .init = setup, .fini = teardown)
{
	struct mcp_mc *m = mc_new(rs.port);
	const char *agg = "t.agg.1699999800.001010000000777";
	struct mcp_subscriber s;
	struct mcp_mc_stats st;
	long long expires;

	ttl_flows(m);
	cr_assert_eq(mcp_mc_flush(m, 3000), 0);
	expires = redis_calls(rc, "expire");
	cr_assert_eq(expires, 4, "one EXPIRE per counter key, got %lld", expires);
	cr_assert_eq(tr_cmd_int(rc, "TTL t.host.10.9.9.9"), 600);
	cr_assert_gt(tr_cmd_int(rc, "TTL %s", agg), 86000);
	/* the same keys again within the refresh interval: sums grow, no EXPIRE, no HSET */
	ttl_flows(m);
	cr_assert_eq(mcp_mc_flush(m, 3000), 0);
	cr_assert_eq(redis_calls(rc, "expire"), 4);
	cr_assert_eq(redis_calls(rc, "hset"), 1, "agg period written once");
	cr_assert_eq(tr_cmd_int(rc, "HGET t.host.10.9.9.9 pkts.up"), 12);
	cr_assert_eq(tr_cmd_int(rc, "HGET %s TLS.flows", agg), 6);
	cr_assert_eq(tr_cmd_int(rc, "HGET %s period", agg), 300);
	/* Redis restarts empty: after the reconnect every key gets its TTL again */
	redisFree(rc);
	rc = NULL;
	tr_redis_kill(&rs);
	tr_sleep_ms(300);
	cr_assert_eq(tr_redis_start(&rs, rs.port, NULL), 0);
	rc = tr_connect(rs.port);
	cr_assert_not_null(rc);
	/* a first write finds the broken connection (that pipeline is lost by design) */
	tr_make_sub(&s, 1, 0);
	mcp_mc_session_event(m, MCP_EV_ATTACH, &s, 1);
	mcp_mc_flush(m, 3000);
	cr_assert_eq(mcp_mc_flush(m, 10000), 0);
	mcp_mc_get_stats(m, &st);
	cr_assert_geq(st.connects, 2, "the writer must have reconnected");
	ttl_flows(m);
	cr_assert_eq(mcp_mc_flush(m, 10000), 0);
	cr_assert_eq(tr_cmd_int(rc, "TTL t.host.10.9.9.9"), 600);
	cr_assert_eq(tr_cmd_int(rc, "TTL t.host.8.8.8.8"), 600);
	cr_assert_eq(tr_cmd_int(rc, "TTL t.proto.TLS"), 600);
	cr_assert_gt(tr_cmd_int(rc, "TTL %s", agg), 86000);
	cr_assert_eq(tr_cmd_int(rc, "HGET %s period", agg), 300);
	cr_assert_eq(tr_cmd_int(rc, "HGET t.host.10.9.9.9 pkts.up"), 6);
	mcp_mc_destroy(m);
}

/* More flow records than the writer's buffer holds while Redis is down: the overflow is
 * credited by the producer itself, the rest by the writer; the sums must still be exact. */
Test(microcloud, counters_exact_past_the_flow_buffer)
{
	uint8_t ue[4] = { 10, 7, 0, 0 }, srv[4] = { 9, 9, 9, 9 };
	struct tr_redis r = { 0 };
	struct mcp_flow_record rec;
	struct mcp_mc *m;
	redisContext *c;
	long long want_bytes = 0;
	int port = tr_free_port(), i, n = 3 * MCP_MC_FLOW_BUF;

	m = mc_new(port);
	for (i = 0; i < n; i++) {
		memset(&rec, 0, sizeof(rec));
		ue[3] = (uint8_t)(i % 4);
		mcp_ip_from_v4(&rec.src_ip, ue);
		mcp_ip_from_v4(&rec.dst_ip, srv);
		rec.proto = 6;
		rec.pkts_up = 1;
		rec.bytes_up = (uint64_t)(i % 1000);
		rec.first_ms = rec.last_ms = 1700000000000ull;
		snprintf(rec.app, sizeof(rec.app), "HTTP");
		mcp_mc_flow(m, &rec);
		want_bytes += i % 1000;
	}
	cr_assert_eq(tr_redis_start(&r, port, NULL), 0);
	cr_assert_eq(mcp_mc_flush(m, 8000), 0);
	c = tr_connect(port);
	cr_assert_eq(tr_cmd_int(c, "HGET t.proto.HTTP flows"), n);
	cr_assert_eq(tr_cmd_int(c, "HGET t.proto.HTTP bytes"), want_bytes);
	cr_assert_eq(tr_cmd_int(c, "HGET t.host.9.9.9.9 pkts.up"), n);
	cr_assert_eq(tr_cmd_int(c, "HGET t.host.10.7.0.3 flows"), n / 4);
	cr_assert_eq(tr_cmd_int(c, "TTL t.proto.HTTP"), 600);
	redisFree(c);
	mcp_mc_destroy(m);
	tr_redis_stop(&r);
}

Test(microcloud, down_at_start_then_up)
{
	struct mcp_subscriber s;
	struct tr_redis r = { 0 };
	struct mcp_mc *m;
	redisContext *c;
	uint64_t t0;
	int port = tr_free_port(), i;

	t0 = tr_now_ms();
	m = mc_new(port);
	for (i = 0; i < 20; i++) {
		tr_make_sub(&s, (unsigned)i, 0);
		mcp_mc_session_event(m, MCP_EV_ATTACH, &s, 1);
	}
	cr_assert_lt(tr_now_ms() - t0, 1000, "create + events must not block on a down Redis");
	cr_assert_eq(mcp_mc_flush(m, 200), -ETIMEDOUT);
	cr_assert_eq(tr_redis_start(&r, port, NULL), 0);
	cr_assert_eq(mcp_mc_flush(m, 8000), 0);
	c = tr_connect(port);
	for (i = 0; i < 20; i++) {
		tr_make_sub(&s, (unsigned)i, 0);
		check_facts(c, &s, "active");
	}
	redisFree(c);
	mcp_mc_destroy(m);
	tr_redis_stop(&r);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* All keys (prefix t.) with their type and content, sorted, as one string. */
static char *dump_all(redisContext *c)
{
	redisReply *keys = redisCommand(c, "KEYS t.*");
	size_t cap = 1 << 20, len = 0, i, j;
	char *out = malloc(cap), **lines;

	lines = calloc(keys->elements + 1, sizeof(*lines));
	for (i = 0; i < keys->elements; i++) {
		const char *k = keys->element[i]->str;
		redisReply *t = redisCommand(c, "TYPE %s", k), *v;
		char buf[4096];
		size_t n = 0;

		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s %s ttl=%s:", k, t->str,
				      tr_cmd_int(c, "TTL %s", k) < 0 ? "none" : "set");
		if (!strcmp(t->str, "string")) {
			v = redisCommand(c, "GET %s", k);
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s", v->str);
			freeReplyObject(v);
		} else if (!strcmp(t->str, "hash")) {
			v = redisCommand(c, "HGETALL %s", k);
			/* field order is not defined: fields sorted by a second pass below */
			for (j = 0; j + 1 < v->elements; j += 2)
				n += (size_t)snprintf(buf + n, sizeof(buf) - n, " %s=%s",
						      v->element[j]->str, v->element[j + 1]->str);
			freeReplyObject(v);
		}
		freeReplyObject(t);
		lines[i] = strdup(buf);
	}
	qsort(lines, keys->elements, sizeof(*lines), cmp_str);
	out[0] = 0;
	for (i = 0; i < keys->elements; i++) {
		len += (size_t)snprintf(out + len, cap - len, "%s\n", lines[i]);
		free(lines[i]);
	}
	free(lines);
	freeReplyObject(keys);
	return out;
}

Test(microcloud, killed_and_restarted_loses_no_fact, .init = setup, .fini = teardown)
{
	struct tr_redis ctl = { 0 };
	struct mcp_subscriber s;
	struct mcp_mc *m, *mctl;
	struct mcp_mc_stats st;
	redisContext *cc;
	char *d1, *d2;
	int i;

	/* the control instance writes the same events to a Redis that never fails */
	cr_assert_eq(tr_redis_start(&ctl, 0, NULL), 0);
	m = mc_new(rs.port);
	mctl = mc_new(ctl.port);
	for (i = 0; i < 50; i++) {
		tr_make_sub(&s, (unsigned)i, 0);
		mcp_mc_session_event(m, MCP_EV_ATTACH, &s, 1);
		mcp_mc_session_event(mctl, MCP_EV_ATTACH, &s, 1);
	}
	cr_assert_eq(mcp_mc_flush(m, 3000), 0);
	redisFree(rc);
	rc = NULL;
	tr_redis_kill(&rs); /* SIGKILL, no persistence: Redis comes back empty */
	for (i = 0; i < 20; i++) { /* modified while down */
		tr_make_sub(&s, (unsigned)i, 1);
		mcp_mc_session_event(m, MCP_EV_MODIFY, &s, 2);
		mcp_mc_session_event(mctl, MCP_EV_MODIFY, &s, 2);
	}
	for (i = 60; i < 70; i++) { /* attached while down */
		tr_make_sub(&s, (unsigned)i, 0);
		mcp_mc_session_event(m, MCP_EV_ATTACH, &s, 3);
		mcp_mc_session_event(mctl, MCP_EV_ATTACH, &s, 3);
	}
	tr_sleep_ms(300); /* let the writer notice and back off */
	cr_assert_eq(tr_redis_start(&rs, rs.port, NULL), 0);
	for (i = 20; i < 25; i++) { /* modified right after the restart */
		tr_make_sub(&s, (unsigned)i, 2);
		mcp_mc_session_event(m, MCP_EV_MODIFY, &s, 4);
		mcp_mc_session_event(mctl, MCP_EV_MODIFY, &s, 4);
	}
	cr_assert_eq(mcp_mc_flush(m, 10000), 0);
	cr_assert_eq(mcp_mc_flush(mctl, 3000), 0);
	mcp_mc_get_stats(m, &st);
	cr_assert_geq(st.resyncs, 2);
	cr_assert_geq(st.disconnects + st.connect_failures, 1);
	rc = tr_connect(rs.port);
	cc = tr_connect(ctl.port);
	/* the event stream is not a fact (events during the outage are dropped): compare facts */
	freeReplyObject(redisCommand(rc, "DEL t.events"));
	freeReplyObject(redisCommand(cc, "DEL t.events"));
	d1 = dump_all(rc);
	d2 = dump_all(cc);
	cr_assert_str_eq(d1, d2, "after recovery:\n%s\nnever failed:\n%s", d1, d2);
	cr_assert_gt(strlen(d1), 1000);
	free(d1);
	free(d2);
	redisFree(cc);
	mcp_mc_destroy(m);
	mcp_mc_destroy(mctl);
	tr_redis_stop(&ctl);
}

Test(microcloud, reload_sessions, .init = setup, .fini = teardown)
{
	struct mcp_subscriber s, *got;
	struct mcp_session_cfg sc = { 0 };
	struct mcp_sessions *tab;
	struct mcp_mc *m = mc_new(rs.port), *m2;
	const struct mcp_subscriber *r;
	int i;

	for (i = 0; i < 30; i++) {
		tr_make_sub(&s, (unsigned)i, 0);
		if (i == 5)
			s.ntunnels = 0;
		mcp_mc_session_event(m, MCP_EV_ATTACH, &s, 1);
	}
	tr_make_sub(&s, 3, 0);
	mcp_mc_session_event(m, MCP_EV_DETACH, &s, 2); /* not restored */
	cr_assert_eq(mcp_mc_flush(m, 3000), 0);
	mcp_mc_destroy(m);

	tab = mcp_sessions_create(&sc);
	cr_assert_not_null(tab);
	m2 = mc_new(rs.port);
	cr_assert_eq(mcp_mc_reload_sessions(m2, tab), 29);
	got = calloc(1, sizeof(*got));
	for (i = 0; i < 30; i++) {
		tr_make_sub(&s, (unsigned)i, 0);
		r = mcp_sessions_by_imsi(tab, s.imsi);
		if (i == 3) {
			cr_assert_null(r, "a detached subscriber was restored");
			continue;
		}
		cr_assert_not_null(r, "%s not restored", s.imsi);
		cr_assert_str_eq(r->msisdn, s.msisdn);
		cr_assert_str_eq(r->imei, s.imei);
		cr_assert_str_eq(r->apn, s.apn);
		cr_assert_eq(mcp_ip_cmp(&r->ue_ipv4, &s.ue_ipv4), 0);
		cr_assert_eq(r->ntunnels, i == 5 ? 0 : 2);
		if (i != 5) {
			uint8_t dir = 9;

			cr_assert_eq(mcp_sessions_by_tunnel(tab, s.tunnels[0].teid, &s.tunnels[0].addr,
							    &dir), r);
			cr_assert_eq(dir, MCP_DIR_UP);
		}
		cr_assert_eq(mcp_sessions_by_ue_ip(tab, &s.ue_ipv4), r);
		/* and the synchronous read agrees */
		cr_assert_eq(mcp_mc_lookup_subscriber(m2, s.imsi, got), 1);
		cr_assert_str_eq(got->apn, s.apn);
	}
	free(got);
	mcp_sessions_destroy(tab);
	mcp_mc_destroy(m2);
}

Test(microcloud, lookup_ip_from_other_probe, .init = setup, .fini = teardown)
{
	struct mcp_subscriber s;
	struct mcp_mc *a = mc_new(rs.port), *b = mc_new(rs.port);
	struct mcp_ip other;
	char owner[32];

	tr_make_sub(&s, 42, 0);
	mcp_mc_session_event(a, MCP_EV_ATTACH, &s, 1);
	cr_assert_eq(mcp_mc_flush(a, 3000), 0);
	cr_assert_eq(mcp_mc_lookup_ip(b, &s.ue_ipv4, owner, sizeof(owner)), 1);
	cr_assert_str_eq(owner, s.imsi);
	mcp_ip_parse(&other, "192.0.2.77");
	cr_assert_eq(mcp_mc_lookup_ip(b, &other, owner, sizeof(owner)), 0);
	mcp_mc_destroy(a);
	/* Redis gone: the read fails fast, it does not hang */
	tr_redis_kill(&rs);
	{
		uint64_t t0 = tr_now_ms();

		cr_assert_lt(mcp_mc_lookup_ip(b, &s.ue_ipv4, owner, sizeof(owner)), 0);
		cr_assert_lt(tr_now_ms() - t0, 1000);
	}
	mcp_mc_destroy(b);
}

static void auth_case(const char *server_args, const char *auth, int expect_ok)
{
	struct tr_redis r = { 0 };
	struct mcp_mc_cfg c;
	struct mcp_mc_stats st;
	struct mcp_subscriber s;
	struct mcp_mc *m;
	redisContext *v;
	char buf[64];

	cr_assert_eq(tr_redis_start(&r, 0, server_args), 0);
	cfg_for(&c, r.port);
	cr_assert_eq(mcp_mc_parse_auth(&c, auth), 0);
	m = mcp_mc_create(&c);
	mcp_mc_cfg_free_auth(&c);
	tr_make_sub(&s, 9, 0);
	mcp_mc_session_event(m, MCP_EV_ATTACH, &s, 1);
	cr_assert_eq(mcp_mc_flush(m, expect_ok ? 3000 : 500), expect_ok ? 0 : -ETIMEDOUT);
	mcp_mc_get_stats(m, &st);
	if (!expect_ok)
		cr_assert_gt(st.connect_failures, 0);
	mcp_mc_destroy(m);
	v = tr_connect(r.port);
	if (strchr(server_args, '>'))
		tr_cmd_str(v, buf, sizeof(buf), "AUTH admin adminpw");
	else
		tr_cmd_str(v, buf, sizeof(buf), "AUTH secret");
	cr_assert_str_eq(buf, "OK");
	cr_assert_eq(tr_cmd_int(v, "EXISTS t.imsi.%s", s.imsi), expect_ok);
	redisFree(v);
	tr_redis_stop(&r);
}

Test(microcloud, auth_requirepass)
{
	auth_case("--requirepass secret", "secret", 1);
	auth_case("--requirepass secret", "wrong", 0);
}

Test(microcloud, auth_acl_user)
{
	static const char acl[] = "--user probe on >probepw ~t.* &* +@all --user admin on "
				  ">adminpw ~* &* +@all --user default off";

	auth_case(acl, "probe:probepw", 1);
	auth_case(acl, "probe:nope", 0);
}

Test(microcloud, queue_full_coalesces_latest_value)
{
	struct tr_redis r = { 0 };
	struct mcp_mc_cfg c;
	struct mcp_mc_stats st;
	struct mcp_subscriber s;
	struct mcp_mc *m;
	redisContext *v;
	int port = tr_free_port(), i, j;

	cfg_for(&c, port);
	c.queue_len = 8;
	m = mcp_mc_create(&c);
	/* Redis down: the queue fills; 10 subscribers x 30 versions must end as the last one */
	for (j = 0; j < 30; j++)
		for (i = 0; i < 10; i++) {
			tr_make_sub(&s, (unsigned)i, (unsigned)j);
			mcp_mc_session_event(m, j ? MCP_EV_MODIFY : MCP_EV_ATTACH, &s, 1);
		}
	/* the writer applies buffered changes to the local copy with Redis down too */
	for (i = 0; i < 500; i++) {
		mcp_mc_get_stats(m, &st);
		if (st.coalesced >= 290)
			break;
		usleep(10000);
	}
	cr_assert_gt(st.queue_full, 0);
	cr_assert_geq(st.coalesced, 290, "coalesced %llu", (unsigned long long)st.coalesced);
	cr_assert_gt(st.events_dropped, 0);
	cr_assert_eq(tr_redis_start(&r, port, NULL), 0);
	cr_assert_eq(mcp_mc_flush(m, 8000), 0);
	v = tr_connect(port);
	for (i = 0; i < 10; i++) {
		char exp[64], buf[64];

		tr_make_sub(&s, (unsigned)i, 29);
		check_facts(v, &s, "active");
		snprintf(exp, sizeof(exp), "internet.v29");
		cr_assert_str_eq(tr_hget(v, buf, sizeof(buf), "t.imsi.001010000000000", "apn"), exp);
		/* tunnels of older versions were never left behind */
		tr_make_sub(&s, (unsigned)i, 28);
		cr_assert_eq(tr_cmd_int(v, "EXISTS t.teid.172.16.0.9.%u", s.tunnels[1].teid), 0);
	}
	redisFree(v);
	mcp_mc_destroy(m);
	tr_redis_stop(&r);
}

Test(microcloud, unix_socket_and_db, .init = setup, .fini = teardown)
{
	struct tr_redis r = { 0 };
	struct mcp_mc_cfg c;
	struct mcp_subscriber s;
	struct mcp_mc *m;
	char sock[128], ep[160];
	redisContext *v;
	struct timeval tv = { 2, 0 };
	char args[200];

	snprintf(sock, sizeof(sock), "/tmp/mcp-test-%d.sock", (int)getpid());
	snprintf(args, sizeof(args), "--unixsocket %s", sock);
	cr_assert_eq(tr_redis_start(&r, 0, args), 0);
	snprintf(ep, sizeof(ep), "unix:%s", sock);
	cfg_for(&c, 0);
	cr_assert_eq(mcp_mc_parse_endpoint(&c, ep), 0);
	c.db = 3;
	m = mcp_mc_create(&c);
	tr_make_sub(&s, 11, 0);
	mcp_mc_session_event(m, MCP_EV_ATTACH, &s, 1);
	cr_assert_eq(mcp_mc_flush(m, 3000), 0);
	mcp_mc_destroy(m);
	v = redisConnectUnixWithTimeout(sock, tv);
	cr_assert(v && !v->err);
	cr_assert_eq(tr_cmd_int(v, "EXISTS t.imsi.%s", s.imsi), 0, "written to db 0");
	freeReplyObject(redisCommand(v, "SELECT 3"));
	check_facts(v, &s, "active");
	redisFree(v);
	tr_redis_stop(&r);
}

Test(microcloud, radius_user_facts, .init = setup, .fini = teardown)
{
	struct mcp_mc_cfg c;
	struct mcp_mc *m;
	struct mcp_ip ip1, ip2;
	char v[64];

	cfg_for(&c, rs.port);
	c.grace_ms = 400;
	m = mcp_mc_create(&c);
	mcp_ip_parse(&ip1, "100.64.0.1");
	mcp_ip_parse(&ip2, "100.64.0.2");
	mcp_mc_radius_user(m, "alice@isp", &ip1, "00-11-22-33-44-55", 1, 1000);
	cr_assert_eq(mcp_mc_flush(m, 3000), 0);
	cr_assert_str_eq(tr_cmd_str(rc, v, sizeof(v), "GET t.ip.100.64.0.1"), "alice@isp");
	cr_assert_str_eq(tr_hget(rc, v, sizeof(v), "t.user.alice@isp", "ip"), "100.64.0.1");
	cr_assert_str_eq(tr_hget(rc, v, sizeof(v), "t.user.alice@isp", "calling_station"),
			 "00-11-22-33-44-55");
	mcp_mc_radius_user(m, "alice@isp", &ip2, NULL, 1, 2000); /* new address: old key goes */
	cr_assert_eq(mcp_mc_flush(m, 3000), 0);
	cr_assert_eq(tr_cmd_int(rc, "EXISTS t.ip.100.64.0.1"), 0);
	cr_assert_str_eq(tr_cmd_str(rc, v, sizeof(v), "GET t.ip.100.64.0.2"), "alice@isp");
	mcp_mc_radius_user(m, "alice@isp", &ip2, NULL, 0, 3000); /* Stop */
	cr_assert_eq(mcp_mc_flush(m, 3000), 0);
	cr_assert_str_eq(tr_hget(rc, v, sizeof(v), "t.user.alice@isp", "state"), "deleted");
	tr_sleep_ms(600);
	cr_assert_eq(tr_cmd_int(rc, "EXISTS t.ip.100.64.0.2 t.user.alice@isp"), 0);
	mcp_mc_destroy(m);
}

Test(microcloud, slow_redis_times_out_and_recovers, .init = setup, .fini = teardown)
{
	struct mcp_mc_cfg c;
	struct mcp_mc_stats st;
	struct mcp_subscriber s0, s1;
	struct mcp_mc *m;
	char v[64], a[MCP_IP_STRLEN];

	cfg_for(&c, rs.port);
	c.timeout_ms = 300;
	m = mcp_mc_create(&c);
	tr_make_sub(&s0, 21, 0);
	mcp_mc_session_event(m, MCP_EV_ATTACH, &s0, 1);
	cr_assert_eq(mcp_mc_flush(m, 3000), 0);
	/* Redis stops answering for 1.5 s: the writer times out, drops the pipeline, reconnects */
	freeReplyObject(redisCommand(rc, "CLIENT PAUSE 1500 ALL"));
	tr_make_sub(&s1, 21, 1); /* new tunnels, new apn: the old teid. keys become stale */
	mcp_mc_session_event(m, MCP_EV_MODIFY, &s1, 2);
	cr_assert_eq(mcp_mc_flush(m, 10000), 0);
	mcp_mc_get_stats(m, &st);
	cr_assert_geq(st.batches_failed, 1, "the pause did not hit the writer");
	cr_assert_geq(st.resyncs, 2);
	check_facts(rc, &s1, "active");
	cr_assert_str_eq(tr_cmd_str(rc, v, sizeof(v), "GET t.teid.%s.%u",
				    mcp_ip_str(&s0.tunnels[0].addr, a), s0.tunnels[0].teid), "",
			 "a stale key survived the failed pipeline");
	cr_assert_str_eq(tr_cmd_str(rc, v, sizeof(v), "GET t.teid.%s.%u",
				    mcp_ip_str(&s0.tunnels[1].addr, a), s0.tunnels[1].teid), "");
	mcp_mc_destroy(m);
}

/* A detach coalesced with the re-attach that follows (the writer was held up, here by a
 * stopped Redis) is never written as such: the detached value's keys the new value does not
 * own (its old UE IP, old tunnels) must still get their grace, not stay without TTL forever.
 * The same for a RADIUS user's Stop and Start with another address. */
Test(microcloud, coalesced_detach_reattach_keeps_grace, .init = setup, .fini = teardown)
{
	struct mcp_mc_cfg c;
	struct mcp_subscriber s, o, s2;
	struct mcp_ip u1, u2;
	struct mcp_mc *m;
	char v[64], ip[MCP_IP_STRLEN], ip2[MCP_IP_STRLEN], tep[MCP_IP_STRLEN];
	long long pttl;

	cfg_for(&c, rs.port);
	c.grace_ms = 60000;
	m = mcp_mc_create(&c);
	tr_make_sub(&s, 21, 0);
	mcp_mc_session_event(m, MCP_EV_ATTACH, &s, 1);
	cr_assert_eq(mcp_mc_flush(m, 3000), 0);
	mcp_ip_str(&s.ue_ipv4, ip);
	cr_assert_eq(tr_cmd_int(rc, "PTTL t.ip.%s", ip), -1, "active: no TTL");

	/* Redis stopped: another subscriber's write leaves the writer waiting for its replies,
	 * so the detach and the re-attach below reach the local copy together */
	mcp_ip_parse(&u1, "100.64.9.1");
	mcp_ip_parse(&u2, "100.64.9.2");
	mcp_mc_radius_user(m, "bob@isp", &u1, NULL, 1, 1000);
	cr_assert_eq(mcp_mc_flush(m, 3000), 0);
	kill(rs.pid, SIGSTOP);
	tr_make_sub(&o, 22, 0);
	mcp_mc_session_event(m, MCP_EV_ATTACH, &o, 1);
	tr_sleep_ms(200);
	s.state = MCP_SUB_DELETED;
	mcp_mc_session_event(m, MCP_EV_DETACH, &s, 2);
	tr_make_sub(&s2, 21, 1); /* new tunnels */
	s2.ue_ipv4.b[15] ^= 0x80; /* and a new UE IP */
	mcp_mc_session_event(m, MCP_EV_ATTACH, &s2, 3);
	mcp_mc_radius_user(m, "bob@isp", &u1, NULL, 0, 2000); /* Stop, then Start elsewhere */
	mcp_mc_radius_user(m, "bob@isp", &u2, NULL, 1, 3000);
	tr_sleep_ms(300);
	kill(rs.pid, SIGCONT);
	cr_assert_eq(mcp_mc_flush(m, 5000), 0);
	cr_assert_str_eq(tr_cmd_str(rc, v, sizeof(v), "GET t.ip.100.64.9.2"), "bob@isp");
	cr_assert_eq(tr_cmd_int(rc, "PTTL t.ip.100.64.9.2"), -1);
	cr_assert_str_eq(tr_cmd_str(rc, v, sizeof(v), "GET t.ip.100.64.9.1"), "bob@isp");
	pttl = tr_cmd_int(rc, "PTTL t.ip.100.64.9.1");
	cr_assert(pttl > 0 && pttl <= 60000, "user's old ip: pttl %lld", pttl);

	check_facts(rc, &s2, "active");
	mcp_ip_str(&s2.ue_ipv4, ip2);
	cr_assert_eq(tr_cmd_int(rc, "PTTL t.ip.%s", ip2), -1, "the new IP is active");
	/* the old IP and tunnel still name the subscriber for their grace, then go */
	cr_assert_str_eq(tr_cmd_str(rc, v, sizeof(v), "GET t.ip.%s", ip), s.imsi);
	pttl = tr_cmd_int(rc, "PTTL t.ip.%s", ip);
	cr_assert(pttl > 0 && pttl <= 60000, "old ip.%s: pttl %lld (no grace: never expires)", ip,
		  pttl);
	mcp_ip_str(&s.tunnels[0].addr, tep);
	pttl = tr_cmd_int(rc, "PTTL t.teid.%s.%u", tep, s.tunnels[0].teid);
	cr_assert(pttl > 0 && pttl <= 60000, "old teid: pttl %lld", pttl);
	mcp_mc_destroy(m);
}
