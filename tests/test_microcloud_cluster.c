/* test_microcloud_cluster.c - microcloud against a real three-master Redis Cluster.
 *
 * The test starts three redis-server --cluster-enabled yes on free loopback ports, joins them
 * with redis-cli --cluster create --cluster-yes, and checks: our CRC16 slots equal the
 * server's CLUSTER KEYSLOT, every key lands on the node that serves its slot, a subscriber's
 * keys share one slot, session reload scans every master, and a live resharding of a
 * subscriber's slot (CLUSTER SETSLOT IMPORTING/MIGRATING, MIGRATE, SETSLOT NODE) is followed
 * through ASK (during) and MOVED (after) with no fact lost.
 */
#include <criterion/criterion.h>

#include "microcloud/mc_internal.h"
#include "mc_redis_util.h"
#include "microcloud/microcloud.h"

#define NN 3

static struct tr_redis nodes[NN];
static redisContext *nc[NN];

static void cluster_up(void)
{
	char cmd[512];
	uint64_t end;
	int i, ok;

	memset(nodes, 0, sizeof(nodes));
	for (i = 0; i < NN; i++) {
		char args[256];

		snprintf(args, sizeof(args),
			 "--cluster-enabled yes --cluster-config-file nodes.conf "
			 "--cluster-node-timeout 5000");
		cr_assert_eq(tr_redis_start(&nodes[i], -1, args), 0,
			     "node %d did not start", i);
		nc[i] = tr_connect(nodes[i].port);
		cr_assert_not_null(nc[i]);
	}
	snprintf(cmd, sizeof(cmd),
		 "redis-cli --cluster create 127.0.0.1:%d 127.0.0.1:%d 127.0.0.1:%d "
		 "--cluster-yes >/dev/null 2>&1",
		 nodes[0].port, nodes[1].port, nodes[2].port);
	cr_assert_eq(system(cmd), 0, "redis-cli --cluster create failed");
	end = tr_now_ms() + 15000;
	do {
		ok = 0;
		for (i = 0; i < NN; i++) {
			redisReply *r = redisCommand(nc[i], "CLUSTER INFO");

			ok += r && r->type == REDIS_REPLY_STRING && strstr(r->str, "cluster_state:ok");
			if (r)
				freeReplyObject(r);
		}
		if (ok == NN)
			break;
		tr_sleep_ms(100);
	} while (tr_now_ms() < end);
	cr_assert_eq(ok, NN, "cluster did not reach state ok");
}

static void cluster_down(void)
{
	int i;

	for (i = 0; i < NN; i++) {
		if (nc[i])
			redisFree(nc[i]);
		nc[i] = NULL;
		tr_redis_stop(&nodes[i]);
	}
}

static struct mcp_mc *mc_cluster(void)
{
	struct mcp_mc_cfg c;
	struct mcp_mc *m;
	char seeds[64];

	mcp_mc_cfg_defaults(&c);
	snprintf(seeds, sizeof(seeds), "127.0.0.1:%d", nodes[1].port);
	c.cluster_seeds = seeds;
	c.prefix = "t.";
	c.probe_name = "probe-c";
	c.flush_ms = 10;
	m = mcp_mc_create(&c);
	cr_assert_not_null(m);
	return m;
}

/* Index of the only node holding key (EXISTS 1; others answer 0 or MOVED), or -1. */
static int holder(const char *key)
{
	int i, at = -1, n = 0;

	for (i = 0; i < NN; i++)
		if (tr_cmd_int(nc[i], "EXISTS %s", key) == 1) {
			at = i;
			n++;
		}
	return n == 1 ? at : -1;
}

static void flow_for(struct mcp_flow_record *r, const char *imsi, uint64_t last_ms)
{
	uint8_t a[4] = { 10, 9, 9, 9 }, b[4] = { 1, 1, 1, 1 };

	memset(r, 0, sizeof(*r));
	mcp_ip_from_v4(&r->src_ip, a);
	mcp_ip_from_v4(&r->dst_ip, b);
	r->pkts_up = 3;
	r->pkts_down = 4;
	r->bytes_up = 300;
	r->bytes_down = 4000;
	r->first_ms = last_ms - 1500;
	r->last_ms = last_ms;
	snprintf(r->app, sizeof(r->app), "QUIC");
	snprintf(r->imsi, sizeof(r->imsi), "%s", imsi);
}

Test(mc_cluster, routing_slots_and_reload, .init = cluster_up, .fini = cluster_down,
     .timeout = 120)
{
	struct mcp_subscriber s;
	struct mcp_flow_record fr;
	struct mcp_mc *m = mc_cluster(), *m2;
	int i, where[NN] = { 0 };

	/* our slot function against the server's */
	for (i = 0; i < 200; i++) {
		char key[64];

		snprintf(key, sizeof(key), i % 2 ? "t.imsi.{0010100%08d}" : "k:%d:%x", i, i * 7919);
		cr_assert_eq(mcp_mc_key_slot(key, strlen(key)),
			     tr_cmd_int(nc[0], "CLUSTER KEYSLOT %s", key), "slot of %s", key);
	}
	for (i = 0; i < 60; i++) {
		tr_make_sub(&s, (unsigned)i, 0);
		mcp_mc_session_event(m, MCP_EV_ATTACH, &s, 1);
		flow_for(&fr, s.imsi, 1700000100000ull);
		mcp_mc_flow(m, &fr);
	}
	cr_assert_eq(mcp_mc_flush(m, 5000), 0);
	for (i = 0; i < 60; i++) {
		char k[128], a[MCP_IP_STRLEN];
		int h, ha;

		tr_make_sub(&s, (unsigned)i, 0);
		snprintf(k, sizeof(k), "t.imsi.{%s}", s.imsi);
		h = holder(k);
		cr_assert_geq(h, 0, "%s not on exactly one node", k);
		where[h]++;
		snprintf(k, sizeof(k), "t.agg.%llu.{%s}", 1700000100ull / 300 * 300, s.imsi);
		ha = holder(k);
		cr_assert_eq(ha, h, "%s not with its subscriber", k);
		snprintf(k, sizeof(k), "t.ip.%s", mcp_ip_str(&s.ue_ipv4, a));
		cr_assert_geq(holder(k), 0, "%s", k);
		snprintf(k, sizeof(k), "t.msisdn.%s", s.msisdn);
		cr_assert_geq(holder(k), 0, "%s", k);
	}
	for (i = 0; i < NN; i++)
		cr_assert_gt(where[i], 0, "no subscriber on node %d: routing not exercised", i);
	cr_assert_geq(holder("t.host.10.9.9.9"), 0);
	mcp_mc_destroy(m);

	/* reload scans all three masters */
	m2 = mc_cluster();
	cr_assert_eq(mcp_mc_reload_sessions(m2, NULL), 60);
	{
		char owner[32];

		tr_make_sub(&s, 17, 0);
		cr_assert_eq(mcp_mc_lookup_ip(m2, &s.ue_ipv4, owner, sizeof(owner)), 1);
		cr_assert_str_eq(owner, s.imsi);
	}
	mcp_mc_destroy(m2);
}

static void node_id(int i, char *id, size_t sz)
{
	tr_cmd_str(nc[i], id, sz, "CLUSTER MYID");
	cr_assert_eq(strlen(id), 40, "node id: %s", id);
}

/* Index of the node serving slot (from CLUSTER SLOTS on node 0). */
static int serving(int slot)
{
	redisReply *r = redisCommand(nc[0], "CLUSTER SLOTS");
	int at = -1, i;
	size_t j;

	for (j = 0; r && j < r->elements; j++) {
		redisReply *e = r->element[j];

		if (slot >= e->element[0]->integer && slot <= e->element[1]->integer)
			for (i = 0; i < NN; i++)
				if (e->element[2]->element[1]->integer == nodes[i].port)
					at = i;
	}
	freeReplyObject(r);
	return at;
}

Test(mc_cluster, resharding_ask_and_moved, .init = cluster_up, .fini = cluster_down,
     .timeout = 120)
{
	struct mcp_subscriber s;
	struct mcp_flow_record fr;
	struct mcp_mc_stats st;
	struct mcp_mc *m = mc_cluster();
	char ida[64], idb[64], key[128], tag[32], buf[128];
	redisReply *keys;
	int slot, a, b, i;
	size_t j;

	tr_make_sub(&s, 5, 0);
	mcp_mc_session_event(m, MCP_EV_ATTACH, &s, 1);
	flow_for(&fr, s.imsi, 1700000100000ull);
	mcp_mc_flow(m, &fr);
	cr_assert_eq(mcp_mc_flush(m, 5000), 0);

	snprintf(tag, sizeof(tag), "%s", s.imsi);
	slot = mcp_mc_key_slot(tag, strlen(tag));
	a = serving(slot);
	cr_assert_geq(a, 0);
	b = (a + 1) % NN;
	node_id(a, ida, sizeof(ida));
	node_id(b, idb, sizeof(idb));

	/* 1. migration open: new keys of the slot are created on the target (ASK) */
	tr_cmd_str(nc[b], buf, sizeof(buf), "CLUSTER SETSLOT %d IMPORTING %s", slot, ida);
	cr_assert_str_eq(buf, "OK");
	tr_cmd_str(nc[a], buf, sizeof(buf), "CLUSTER SETSLOT %d MIGRATING %s", slot, idb);
	cr_assert_str_eq(buf, "OK");
	flow_for(&fr, s.imsi, 1700000900000ull); /* a new bucket: a key that is not on a */
	mcp_mc_flow(m, &fr);
	cr_assert_eq(mcp_mc_flush(m, 5000), 0);
	mcp_mc_get_stats(m, &st);
	cr_assert_gt(st.ask, 0, "no ASK followed");
	snprintf(key, sizeof(key), "t.agg.%llu.{%s}", 1700000900ull / 300 * 300, s.imsi);
	freeReplyObject(redisCommand(nc[b], "ASKING"));
	cr_assert_eq(tr_cmd_int(nc[b], "EXISTS %s", key), 1, "ASK target lacks %s", key);

	/* 2. move the remaining keys and hand the slot over */
	keys = redisCommand(nc[a], "CLUSTER GETKEYSINSLOT %d 1000", slot);
	cr_assert(keys && keys->type == REDIS_REPLY_ARRAY && keys->elements > 0);
	for (j = 0; j < keys->elements; j++) {
		tr_cmd_str(nc[a], buf, sizeof(buf), "MIGRATE 127.0.0.1 %d %s 0 5000", nodes[b].port,
			   keys->element[j]->str);
		cr_assert_str_eq(buf, "OK", "MIGRATE %s: %s", keys->element[j]->str, buf);
	}
	freeReplyObject(keys);
	for (i = 0; i < NN; i++) {
		tr_cmd_str(nc[i], buf, sizeof(buf), "CLUSTER SETSLOT %d NODE %s", slot, idb);
		cr_assert_str_eq(buf, "OK", "SETSLOT NODE on %d: %s", i, buf);
	}

	/* 3. the writer's map is stale: the modify is answered MOVED and rerouted */
	tr_make_sub(&s, 5, 1);
	mcp_mc_session_event(m, MCP_EV_MODIFY, &s, 2);
	cr_assert_eq(mcp_mc_flush(m, 5000), 0);
	mcp_mc_get_stats(m, &st);
	cr_assert_gt(st.moved, 0, "no MOVED followed");
	snprintf(key, sizeof(key), "t.imsi.{%s}", s.imsi);
	cr_assert_eq(holder(key), b);
	cr_assert_str_eq(tr_hget(nc[b], buf, sizeof(buf), key, "apn"), "internet.v1");
	snprintf(key, sizeof(key), "t.agg.%llu.{%s}", 1700000100ull / 300 * 300, s.imsi);
	cr_assert_eq(holder(key), b);
	cr_assert_eq(tr_cmd_int(nc[b], "HGET %s QUIC.bytes", key), 4300);

	/* 4. and later writes go straight to the new owner (map refreshed) */
	tr_make_sub(&s, 5, 2);
	mcp_mc_session_event(m, MCP_EV_MODIFY, &s, 3);
	cr_assert_eq(mcp_mc_flush(m, 5000), 0);
	{
		struct mcp_mc_stats st2;

		mcp_mc_get_stats(m, &st2);
		cr_assert_eq(st2.moved, st.moved, "the slot map was not refreshed");
		cr_assert_gt(st2.slot_refreshes, 1);
	}
	snprintf(key, sizeof(key), "t.imsi.{%s}", s.imsi);
	cr_assert_str_eq(tr_hget(nc[b], buf, sizeof(buf), key, "apn"), "internet.v2");
	mcp_mc_destroy(m);
}
