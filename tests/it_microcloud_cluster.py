#!/usr/bin/python3
"""it_microcloud_cluster.py - mcprobe --redis-cluster against a real three-master cluster.

Starts three redis-server --cluster-enabled yes on free loopback ports, joins them with
redis-cli --cluster create --cluster-yes, runs
  $BUILD/mcprobe -r <synthetic scenario> --redis-cluster 127.0.0.1:P1 --redis-prefix c.
and checks against the generator's expectations: every active subscriber's fact at
imsi.{<IMSI>} (hash tag) with its buckets in the same slot (CLUSTER KEYSLOT), ip./msisdn./teid.
keys, the per-IMSI bucket totals, and that keys are spread over all three masters. Then it
reshards with redis-cli --cluster reshard (slots move between masters, keys migrate), checks
every fact is still readable (following MOVED like redis-cli -c), runs mcp-aggregate over
the cluster and a second mcprobe that must reload every active subscriber.
Env: BUILD (default build), MCP_SAN=1 (smaller scenario). Exit 0 = pass.
"""

import collections
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from mc_resp import ClusterResp, RedisServer, Resp, free_cluster_port  # noqa: E402

BUILD = os.environ.get("BUILD", "build")
PREFIX = "c."
errors = []


def check(cond, msg):
	if not cond:
		errors.append(msg)
	return cond


def start_cluster():
	nodes = []
	for _ in range(3):
		for attempt in range(5):
			try:
				nodes.append(RedisServer(port=free_cluster_port(), extra=[
					"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
					"--cluster-node-timeout", "5000"]))
				break
			except SystemExit:
				if attempt == 4:
					raise
	r = subprocess.run(["redis-cli", "--cluster", "create"] +
			   ["127.0.0.1:%d" % n.port for n in nodes] + ["--cluster-yes"],
			   capture_output=True, text=True, timeout=60)
	if r.returncode:
		raise SystemExit("FAIL: redis-cli --cluster create: %s" % r.stdout[-500:])
	end = time.time() + 20
	while time.time() < end:
		ok = 0
		for n in nodes:
			c = Resp(n.port)
			ok += "cluster_state:ok" in c.cmd("CLUSTER", "INFO")
			c.close()
		if ok == 3:
			return nodes
		time.sleep(0.1)
	raise SystemExit("FAIL: cluster did not reach state ok")


def main():
	mcprobe = os.path.join(ROOT, BUILD, "mcprobe")
	aggregate = os.path.join(ROOT, BUILD, "mcp-aggregate")
	for b in (mcprobe, aggregate):
		if not os.access(b, os.X_OK):
			print("FAIL: %s not built (make BUILD=%s)" % (b, BUILD))
			return 1
	tmp = tempfile.mkdtemp(prefix="mcp-cluster-")
	pcap, expf = os.path.join(tmp, "s.pcap"), os.path.join(tmp, "s.json")
	nsub = 20 if os.environ.get("MCP_SAN") else 50
	subprocess.run(["/usr/bin/python3", os.path.join(HERE, "gen_scenario.py"), "--out", pcap,
			"--expect", expf, "--subscribers", str(nsub)], check=True,
		       stdout=subprocess.DEVNULL)
	exp = json.load(open(expf))
	nodes = start_cluster()
	try:
		return run(exp, nodes, mcprobe, aggregate, pcap, tmp)
	finally:
		for n in nodes:
			n.stop()


def check_facts(c, active, where):
	for s in active:
		key = "%simsi.{%s}" % (PREFIX, s["imsi"])
		h = c.hgetall(key)
		if not check(h.get("state") == "active", "%s: %r" % (key, h)):
			continue
		check(h.get("apn") == s["apn"] and h.get("msisdn") == s["msisdn"], "%s: %r" % (key, h))
		if s.get("ue_ipv4"):
			ik = PREFIX + "ip." + s["ue_ipv4"]
			check(c.cmd("GET", ik) == s["imsi"], "%s -> %r" % (ik, c.cmd("GET", ik)))
		for t in s["tunnels"]:
			tk = "%steid.%s.%d" % (PREFIX, t["addr"], t["teid"])
			check(c.cmd("GET", tk) == s["imsi"], "%s -> %r" % (tk, c.cmd("GET", tk)))
		if where is not None:
			where[c.cmd("CLUSTER", "KEYSLOT", key)] += 1


def run(exp, nodes, mcprobe, aggregate, pcap, tmp):
	seed = "127.0.0.1:%d" % nodes[0].port
	p = subprocess.run([mcprobe, "-r", pcap, "--redis-cluster", seed, "--redis-prefix", PREFIX,
			    "--probe-name", "cl", "--no-reload", "--stats"],
			   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=300)
	if not check(p.returncode == 0, "mcprobe exit %d: %s" % (p.returncode, p.stderr[-1500:])):
		return report()
	c = ClusterResp(nodes[0].port)
	active = [s for s in exp["subscribers"] if s["kind"] == "normal" and s["state"] == "active"]
	slots = collections.Counter()
	check_facts(c, active, slots)

	# buckets: same slot as the subscriber's fact, exact totals
	tot = collections.defaultdict(lambda: [0, 0])
	for k in c.scan(PREFIX + "agg.*"):
		imsi = k.rsplit(".", 1)[1].strip("{}")
		check(c.cmd("CLUSTER", "KEYSLOT", k) ==
		      c.cmd("CLUSTER", "KEYSLOT", "%simsi.{%s}" % (PREFIX, imsi)),
		      "%s not in its subscriber's slot" % k)
		for f, v in c.hgetall(k).items():
			if f.endswith(".pkts"):
				tot[imsi][0] += int(v)
			elif f.endswith(".bytes"):
				tot[imsi][1] += int(v)
	for imsi, t in exp["imsi_totals"].items():
		want = [t["pkts_up"] + t["pkts_down"], t["bytes_up"] + t["bytes_down"]]
		check(tot.get(imsi) == want, "agg %s %r, expected %r" % (imsi, tot.get(imsi), want))
	per_master = [len(Resp(a[1]).scan(PREFIX + "*")) for a in c.masters()]
	check(len(per_master) == 3 and min(per_master) > 0, "keys per master %r" % per_master)

	# a real resharding: 4000 slots from all masters to the first one
	ids = Resp(nodes[0].port).cmd("CLUSTER", "MYID")
	r = subprocess.run(["redis-cli", "--cluster", "reshard", seed, "--cluster-from", "all",
			    "--cluster-to", ids, "--cluster-slots", "4000", "--cluster-yes"],
			   capture_output=True, text=True, timeout=120)
	check(r.returncode == 0, "reshard failed: %s" % r.stdout[-500:])
	c.close()
	c = ClusterResp(nodes[1].port)
	check_facts(c, active, None)

	a = subprocess.run([aggregate, "--redis-cluster", seed, "--redis-prefix", PREFIX, "--all"],
			   capture_output=True, text=True, timeout=60)
	check(a.returncode == 0, "mcp-aggregate exit %d: %s" % (a.returncode, a.stderr))
	tot2 = collections.defaultdict(lambda: [0, 0])
	for ln in a.stdout.splitlines()[1:]:
		f = ln.split()
		tot2[f[1]][0] += int(f[4])
		tot2[f[1]][1] += int(f[5])
	check(dict(tot2) == dict(tot), "mcp-aggregate over the cluster differs")

	# reload after the resharding: a restarted probe gets every active subscriber back
	empty = os.path.join(tmp, "empty.pcap")
	with open(empty, "wb") as f:
		f.write(bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000"))
	sj = os.path.join(tmp, "s2.json")
	p = subprocess.run([mcprobe, "-r", empty, "--redis-cluster", "127.0.0.1:%d" % nodes[2].port,
			    "--redis-prefix", PREFIX, "--sessions-json", sj], capture_output=True,
			   text=True, timeout=120)
	check(p.returncode == 0, "reload run exit %d: %s" % (p.returncode, p.stderr[-1000:]))
	got = {json.loads(ln)["imsi"] for ln in open(sj)} if os.path.exists(sj) else set()
	missing = [s["imsi"] for s in active if s["imsi"] not in got]
	check(not missing, "not reloaded after resharding: %r" % missing[:5])
	c.close()
	return report()


def report():
	if errors:
		for e in errors[:40]:
			print("FAIL:", e)
		print("%d failures" % len(errors))
		return 1
	print("PASS: cluster facts, hash tags, buckets, resharding, mcp-aggregate, reload")
	return 0


if __name__ == "__main__":
	sys.exit(main())
