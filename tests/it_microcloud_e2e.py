#!/usr/bin/python3
"""it_microcloud_e2e.py - mcprobe -r ... --redis end to end against a real redis-server.

Generates the synthetic GTP scenario (tests/gen_scenario.py: known subscribers, tunnels and
per-IMSI traffic), starts redis-server on a free loopback port, subscribes to the event
channel BEFORE the run, then runs
  $BUILD/mcprobe -r X.pcap --redis 127.0.0.1:P --redis-prefix e2e. --probe-name e2e-probe
and checks, against the generator's expectations (not against mcprobe's own output):
  * imsi.<IMSI> facts of every subscriber: msisdn, imei, apn, ue_ipv4, state, probe, and
    every expected final tunnel in "tunnels"; ip./msisdn./teid. keys name the IMSI;
    deleted subscribers are state=deleted with a TTL; rejected/lost ones are not active;
  * per-IMSI aggregates: summed over every agg.<epoch>.<IMSI> bucket and application,
    packets and bytes equal the expected per-IMSI totals exactly;
  * mcp-aggregate --all prints the same totals (and --outdir writes one file per period);
  * one attach event per subscriber, a detach for each deleted one, valid JSON;
  * a second run on an empty capture reloads every active subscriber (--sessions-json).
Env: BUILD (default build), MCP_SAN=1 (smaller scenario). Exit 0 = pass.
"""

import collections
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from mc_resp import Resp, RedisServer  # noqa: E402

BUILD = os.environ.get("BUILD", "build")
PREFIX = "e2e."
errors = []


def check(cond, msg):
	if not cond:
		errors.append(msg)
	return cond


def main():
	mcprobe = os.path.join(ROOT, BUILD, "mcprobe")
	aggregate = os.path.join(ROOT, BUILD, "mcp-aggregate")
	for b in (mcprobe, aggregate):
		if not os.access(b, os.X_OK):
			print("FAIL: %s not built (make BUILD=%s)" % (b, BUILD))
			return 1
	nsub = 20 if os.environ.get("MCP_SAN") else 60
	tmp = tempfile.mkdtemp(prefix="mcp-e2e-")
	pcap, expf = os.path.join(tmp, "s.pcap"), os.path.join(tmp, "s.json")
	subprocess.run(["/usr/bin/python3", os.path.join(HERE, "gen_scenario.py"), "--out", pcap,
			"--expect", expf, "--subscribers", str(nsub)], check=True,
		       stdout=subprocess.DEVNULL)
	exp = json.load(open(expf))
	redis = RedisServer()
	try:
		return run(exp, redis, mcprobe, aggregate, pcap, tmp)
	finally:
		redis.stop()


def collect_events(port, ready, stop, out):
	c = Resp(port, timeout=0.2)
	c.send("SUBSCRIBE", PREFIX + "events.imsi")
	c.s.settimeout(5)
	c.read()
	ready.set()
	c.s.settimeout(0.2)
	while not stop.is_set():
		try:
			m = c.read()
		except OSError:
			continue
		if isinstance(m, list) and m[0] == "message":
			out.append(m[2])
	c.close()


def run(exp, redis, mcprobe, aggregate, pcap, tmp):
	events, ready, stop = [], threading.Event(), threading.Event()
	th = threading.Thread(target=collect_events, args=(redis.port, ready, stop, events))
	th.start()
	ready.wait(5)
	try:
		p = subprocess.run([mcprobe, "-r", pcap, "--redis", "127.0.0.1:%d" % redis.port,
				    "--redis-prefix", PREFIX, "--probe-name", "e2e-probe", "--no-reload",
				    "--stats"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
				   timeout=300)
	finally:
		time.sleep(0.5)
		stop.set()
		th.join()
	if not check(p.returncode == 0, "mcprobe exit %d: %s" % (p.returncode, p.stderr[-2000:])):
		return report()
	c = Resp(redis.port)

	# --- facts
	subs = exp["subscribers"]
	active = [s for s in subs if s["kind"] == "normal" and s["state"] == "active"]
	check(len(active) >= 10, "scenario has only %d active subscribers" % len(active))
	for s in subs:
		key = PREFIX + "imsi." + s["imsi"]
		h = c.hgetall(key)
		if s["kind"] != "normal":
			check(h.get("state") != "active", "%s (%s) must not be active" % (key, s["kind"]))
			continue
		if s["state"] == "deleted":
			if h:  # within grace: marked deleted and expiring
				check(h.get("state") == "deleted", "%s state %r" % (key, h.get("state")))
				check(c.cmd("PTTL", key) > 0, "%s has no TTL after detach" % key)
			continue
		if not check(h, "%s missing" % key):
			continue
		for f in ("msisdn", "imei", "apn", "ue_ipv4"):
			if s.get(f):
				check(h.get(f) == str(s[f]), "%s %s=%r, expected %r" % (key, f, h.get(f), s[f]))
		check(h.get("state") == "active", "%s state %r" % (key, h.get("state")))
		check(h.get("probe") == "e2e-probe", "%s probe %r" % (key, h.get("probe")))
		check(c.cmd("TTL", key) == -1, "%s active fact has a TTL" % key)
		tun = set(h.get("tunnels", "").split(","))
		for t in s["tunnels"]:
			want = "%d@%s/%s" % (t["teid"], t["addr"], t["dir"])
			check(want in tun, "%s tunnels %r lack %s" % (key, h.get("tunnels"), want))
			tk = "%steid.%s.%d" % (PREFIX, t["addr"], t["teid"])
			check(c.cmd("GET", tk) == s["imsi"], "%s -> %r" % (tk, c.cmd("GET", tk)))
		if s.get("ue_ipv4"):
			ik = PREFIX + "ip." + s["ue_ipv4"]
			check(c.cmd("GET", ik) == s["imsi"], "%s -> %r" % (ik, c.cmd("GET", ik)))
		mk = PREFIX + "msisdn." + s["msisdn"]
		check(c.cmd("GET", mk) == s["imsi"], "%s -> %r" % (mk, c.cmd("GET", mk)))

	# --- aggregates, read straight from Redis
	tot = collections.defaultdict(lambda: [0, 0])
	for k in c.scan(PREFIX + "agg.*"):
		imsi = k.rsplit(".", 1)[1].strip("{}")
		h = c.hgetall(k)
		check(h.get("period") == "300", "%s period %r" % (k, h.get("period")))
		check(0 < c.cmd("TTL", k) <= 86400, "%s TTL" % k)
		for f, v in h.items():
			if f.endswith(".pkts"):
				tot[imsi][0] += int(v)
			elif f.endswith(".bytes"):
				tot[imsi][1] += int(v)
	for imsi, t in exp["imsi_totals"].items():
		want = [t["pkts_up"] + t["pkts_down"], t["bytes_up"] + t["bytes_down"]]
		check(tot.get(imsi) == want, "agg %s pkts/bytes %r, expected %r" % (imsi, tot.get(imsi), want))
	check(set(tot) <= set(exp["imsi_totals"]), "buckets for unknown IMSIs: %r" %
	      sorted(set(tot) - set(exp["imsi_totals"]))[:5])

	# --- mcp-aggregate
	a = subprocess.run([aggregate, "--redis", "127.0.0.1:%d" % redis.port, "--redis-prefix", PREFIX,
			    "--all"], capture_output=True, text=True, timeout=60)
	check(a.returncode == 0, "mcp-aggregate exit %d: %s" % (a.returncode, a.stderr))
	lines = a.stdout.splitlines()
	check(lines and lines[0] == "# Timestamp IMSI Granularity Protocol Packets Bytes Flows "
	      "Duration(sec)", "mcp-aggregate header %r" % lines[:1])
	tot2 = collections.defaultdict(lambda: [0, 0])
	epochs = set()
	for ln in lines[1:]:
		f = ln.split()
		if not check(len(f) == 8 and f[2] == "300", "bad line %r" % ln):
			break
		epochs.add(f[0])
		tot2[f[1]][0] += int(f[4])
		tot2[f[1]][1] += int(f[5])
	check(dict(tot2) == dict(tot), "mcp-aggregate totals differ from Redis")
	outdir = os.path.join(tmp, "agg")
	os.mkdir(outdir)
	a = subprocess.run([aggregate, "--redis", "127.0.0.1:%d" % redis.port, "--redis-prefix", PREFIX,
			    "--outdir", outdir], capture_output=True, text=True, timeout=60)
	check(a.returncode == 0, "mcp-aggregate --outdir exit %d" % a.returncode)
	check(sorted(os.listdir(outdir)) == sorted("mcp-agg-%s.txt" % e for e in epochs),
	      "--outdir files %r for periods %r" % (sorted(os.listdir(outdir)), sorted(epochs)))
	a = subprocess.run([aggregate, "--redis", "127.0.0.1:1", "--all"], capture_output=True,
			   text=True, timeout=30)
	check(a.returncode == 2 and "cannot connect" in a.stderr, "unreachable Redis: exit %d %r" %
	      (a.returncode, a.stderr))

	# --- events
	got = collections.defaultdict(list)
	for m in events:
		try:
			j = json.loads(m)
		except ValueError:
			check(False, "event is not JSON: %r" % m[:200])
			continue
		for f in ("event", "imsi", "msisdn", "apn", "ue_ip", "tunnels", "probe", "time"):
			check(f in j, "event lacks %s: %r" % (f, m[:200]))
		got[j.get("imsi")].append(j.get("event"))
	for s in subs:
		if s["kind"] != "normal":
			continue
		evs = got.get(s["imsi"], [])
		check("attach" in evs, "no attach event for %s (%r)" % (s["imsi"], evs))
		if s["state"] == "deleted":
			check("detach" in evs, "no detach event for %s (%r)" % (s["imsi"], evs))
	check(c.cmd("XLEN", PREFIX + "events") == len(events),
	      "stream has %r entries, %d published" % (c.cmd("XLEN", PREFIX + "events"), len(events)))

	# --- reload: a restarted probe (empty capture) gets the active sessions back
	empty = os.path.join(tmp, "empty.pcap")
	with open(empty, "wb") as f:
		f.write(bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000"))
	sj = os.path.join(tmp, "s2.json")
	p = subprocess.run([mcprobe, "-r", empty, "--redis", "127.0.0.1:%d" % redis.port,
			    "--redis-prefix", PREFIX, "--sessions-json", sj], capture_output=True,
			   text=True, timeout=120)
	check(p.returncode == 0, "reload run exit %d: %s" % (p.returncode, p.stderr[-1000:]))
	final = {}
	for ln in open(sj):
		j = json.loads(ln)
		final[j["imsi"]] = j
	for s in active:
		j = final.get(s["imsi"])
		if check(j is not None, "%s not reloaded" % s["imsi"]):
			check(j.get("apn") == s["apn"] and j.get("msisdn") == s["msisdn"],
			      "%s reloaded as %r" % (s["imsi"], j))
	c.close()
	helper_cpus(mcprobe, redis, tmp)
	return report()


def helper_cpus(mcprobe, redis, tmp):
	"""--helper-cpus 0: the writer thread (named mcp-redis) may run on CPU 0 only, the packet
	thread keeps the process' CPUs. The probe reads a FIFO we hold open, so it stays up while
	/proc is read."""
	fifo = os.path.join(tmp, "hold.fifo")
	os.mkfifo(fifo)
	p = subprocess.Popen([mcprobe, "-r", fifo, "--redis", "127.0.0.1:%d" % redis.port,
			      "--redis-prefix", PREFIX, "--no-reload", "--helper-cpus", "0"],
			     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
	w = open(fifo, "wb")
	w.write(bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000")) # pcap header
	w.flush()
	allowed = {}
	for _ in range(100): # up to 5 s for the writer thread to start and pin itself
		allowed = {}
		for t in os.listdir("/proc/%d/task" % p.pid):
			d = "/proc/%d/task/%s/" % (p.pid, t)
			try:
				comm = open(d + "comm").read().strip()
				cpus = [l.split(":")[1].strip() for l in open(d + "status")
					if l.startswith("Cpus_allowed_list")][0]
			except OSError:
				continue
			allowed[comm] = cpus
		if allowed.get("mcp-redis") == "0":
			break
		time.sleep(0.05)
	w.close()
	err = p.communicate(timeout=60)[1]
	check(p.returncode == 0, "--helper-cpus run exit %d: %s" % (p.returncode, err[-500:]))
	check(allowed.get("mcp-redis") == "0", "writer thread CPUs: %r" % allowed)
	main_cpus = allowed.get("mcprobe", "")
	check(main_cpus not in ("", "0") or os.cpu_count() == 1,
	      "packet thread must keep the process' CPUs, has %r" % main_cpus)


def report():
	if errors:
		for e in errors[:40]:
			print("FAIL:", e)
		print("%d failures" % len(errors))
		return 1
	print("PASS: facts, aggregates, mcp-aggregate, events, reload")
	return 0


if __name__ == "__main__":
	sys.exit(main())
