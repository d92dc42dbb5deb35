#!/usr/bin/python3
"""it_resp.py - the read-only Redis-protocol view (--resp-listen) with real Redis clients.

mcprobe reads tests/gen_scenario.py's capture from a pipe kept open (so it stays up with its
flows live), serving 127.0.0.1:<free port>. Checks:
  * redis-cli: PING, DBSIZE, TYPE, TTL, HGET, --scan, SET -> READONLY, unknown command;
  * python3-redis: every imsi.<IMSI> holds the generator's msisdn, imei and apn; SCAN with
    MATCH/COUNT/TYPE walks every key once; HMGET, EXISTS, KEYS, INFO keyspace = DBSIZE;
  * --workers 2 (shards): the same view key for key, and the same checks against the flush;
  * the view against mcprobe's own end: once the pipe closes, the flows flushed at exit
    (--flows-json, end_reason "flush") are exactly the flow.* keys (5-tuple, packets, bytes),
    per-IMSI and per-host counters are their sums, stats.flows_active their count;
  * RESP3 (HELLO 3 gives a map, HGETALL a map), CLIENT SETNAME/GETNAME/ID, COMMAND COUNT;
  * hostile clients: malformed input and too many arguments get an error and the connection
    closed; an oversized request is refused; 1,000 concurrent clients (bounded to 30 s) are
    all answered; --resp-max-clients refuses the one too many; --resp-idle-timeout closes a
    silent client; --resp-auth: NOAUTH, WRONGPASS, then AUTH works; a non-loopback address
    without --resp-auth is a usage error (exit 2).
Env: BUILD (default build). Needs redis-tools and python3-redis. Exit 0 = pass.
"""

import collections
import json
import os
import resource
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("BUILD", "build")
MCPROBE = os.path.join(BUILD, "mcprobe")
errors = []


def check(cond, msg):
	if not cond:
		errors.append(msg)
		print("FAIL: " + msg)


def free_port():
	s = socket.socket()
	s.bind(("127.0.0.1", 0))
	p = s.getsockname()[1]
	s.close()
	return p


def wait_port(port, timeout=20):
	end = time.time() + timeout
	while time.time() < end:
		try:
			socket.create_connection(("127.0.0.1", port), timeout=1).close()
			return
		except OSError:
			time.sleep(0.1)
	raise SystemExit("FAIL: nothing listens on %d" % port)


def start(pcap_bytes, port, extra, flows=None):
	args = [MCPROBE, "-r", "-", "--resp-listen", str(port), "--idle-timeout", "100000",
		"--active-timeout", "100000"] + extra
	if flows:
		args += ["--flows-json", flows]
	m = subprocess.Popen(args, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
	m.stdin.write(pcap_bytes)
	m.stdin.flush()
	wait_port(port)
	return m


def cli(port, *args):
	return subprocess.run(["redis-cli", "-p", str(port)] + list(args), capture_output=True,
			      text=True, timeout=20).stdout.strip()


def raw(port, data, read_until_close=True):
	s = socket.create_connection(("127.0.0.1", port), timeout=5)
	s.sendall(data)
	out = b""
	try:
		while True:
			d = s.recv(65536)
			if not d:
				break
			out += d
			if not read_until_close:
				break
	except socket.timeout:
		out += b"<timeout>"
	s.close()
	return out


def cli_checks(port):
	check(cli(port, "PING") == "PONG", "redis-cli PING")
	check(cli(port, "SET", "a", "b").startswith("READONLY"), "SET must answer READONLY")
	check(cli(port, "TYPE", "stats") == "hash", "TYPE stats")
	check(cli(port, "TTL", "stats") == "-1" and cli(port, "TTL", "nokey") == "-2", "TTL")
	check("unknown command" in cli(port, "NOSUCH"), "unknown command")
	scanned = cli(port, "--scan", "--pattern", "imsi.*").split()
	check(len(scanned) > 0 and all(k.startswith("imsi.") for k in scanned), "redis-cli --scan")


def redis_checks(port, exp):
	import redis
	r = redis.Redis(port=port, decode_responses=True)
	n = r.dbsize()
	keys = list(r.scan_iter(count=7))
	check(len(keys) == n == len(set(keys)), "SCAN gave %d keys (%d unique), DBSIZE %d" % (
		len(keys), len(set(keys)), n))
	check(sorted(r.keys("imsi.*")) == sorted(k for k in keys if k.startswith("imsi.")),
	      "KEYS imsi.* differs from SCAN")
	check(list(r.scan_iter(match="flow.*", _type="string")) == [], "SCAN TYPE string")
	check(r.info("keyspace").get("db0", {}).get("keys") == n, "INFO keyspace")
	subs = {s["imsi"]: s for s in exp["subscribers"] if s["kind"] == "normal"}
	seen = 0
	for k in r.scan_iter(match="imsi.*"):
		h = r.hgetall(k)
		s = subs.get(k[5:])
		if not s:
			continue
		seen += 1
		for f in ("msisdn", "imei", "apn"):
			check(h.get(f) == (s[f] or ""), "%s %s: %r, expected %r" % (k, f, h.get(f), s[f]))
	check(seen > 0, "no generator subscriber in the view")
	k = next(iter(r.scan_iter(match="flow.*")))
	check(r.hmget(k, "proto", "nofield")[1] is None, "HMGET missing field")
	check(r.exists(k, "nokey") == 1, "EXISTS")
	r.close()
	return seen


def snapshot(port):
	import redis
	r = redis.Redis(port=port, decode_responses=True)
	keys = list(r.scan_iter(count=1000))
	view = {k: r.hgetall(k) for k in keys}
	r.close()
	return view


def compare_with_flush(view, flows_path):
	flushed = [json.loads(ln) for ln in open(flows_path)]
	flushed = [f for f in flushed if f["end_reason"] == "flush"]
	vf = collections.Counter()
	for k, h in view.items():
		if k.startswith("flow."):
			vf[(h["src_ip"], int(h["src_port"]), h["dst_ip"], int(h["dst_port"]),
			    int(h["pkts_up"]), int(h["pkts_down"]), int(h["bytes_up"]),
			    int(h["bytes_down"]))] += 1
	ff = collections.Counter((f["src_ip"], f["src_port"], f["dst_ip"], f["dst_port"],
				  f["pkts_up"], f["pkts_down"], f["bytes_up"], f["bytes_down"])
				 for f in flushed)
	check(vf == ff, "flow.* keys differ from the flows flushed at exit (%d vs %d)" % (
		sum(vf.values()), sum(ff.values())))
	check(int(view["stats"]["flows_active"]) == len(flushed), "stats.flows_active")
	per_imsi = collections.defaultdict(lambda: [0, 0])
	per_host = collections.defaultdict(int)
	for f in flushed:
		if f.get("imsi"):
			per_imsi[f["imsi"]][0] += f["pkts_up"] + f["pkts_down"]
			per_imsi[f["imsi"]][1] += f["bytes_up"] + f["bytes_down"]
		per_host[f["src_ip"]] += f["bytes_up"] + f["bytes_down"]
		per_host[f["dst_ip"]] += f["bytes_up"] + f["bytes_down"]
	for imsi, (p, b) in per_imsi.items():
		h = view.get("imsi." + imsi)
		if h is None:
			continue  # removed from the session table (grace over) while flows lived on
		got = [int(h["pkts_up"]) + int(h["pkts_down"]), int(h["bytes_up"]) + int(h["bytes_down"])]
		check(got == [p, b], "imsi.%s counters %s, flushed flows %s" % (imsi, got, [p, b]))
	for host, b in per_host.items():
		h = view.get("host." + host, {})
		got = int(h.get("bytes_up", 0)) + int(h.get("bytes_down", 0))
		check(got == b, "host.%s bytes %d, flushed flows %d" % (host, got, b))
	print("view: %d flows, %d IMSIs with counters, %d hosts match the flush at exit" % (
		len(flushed), len(per_imsi), len(per_host)))


def shards_view(data, exp, view1, tmp):
	"""--workers 2: the view is built from the shards' own parts; it must equal one worker's
	and the flows its shards flush at exit."""
	port, flows = free_port(), os.path.join(tmp, "flows-w2.json")
	m = start(data, port, ["--workers", "2"], flows)
	time.sleep(1.5)
	try:
		n = redis_checks(port, exp)
		view = snapshot(port)
	finally:
		m.stdin.close()
		rc = m.wait(timeout=120)
	check(rc == 0, "mcprobe --workers 2 exit %d: %s" % (rc, m.stderr.read()[-500:]))
	diff = sorted(k for k in set(view) | set(view1) if view.get(k) != view1.get(k))
	check(not diff, "--workers 2: %d of %d keys differ from one worker's view, e.g. %s: %s vs %s"
	      % (len(diff), len(view1), diff[:1], [view.get(k) for k in diff[:1]],
		 [view1.get(k) for k in diff[:1]]))
	print("--workers 2: %d subscribers match, %d keys equal to one worker's view" %
	      (n, len(view1)))
	compare_with_flush(view, flows)


def resp3_checks(port):
	out = raw(port, b"HELLO 3\r\nHGETALL stats\r\nCLIENT SETNAME probe-test\r\n"
		  b"CLIENT GETNAME\r\nCLIENT ID\r\nCOMMAND COUNT\r\nQUIT\r\n")
	check(out.startswith(b"%7\r\n"), "HELLO 3 must answer a map: %r" % out[:40])
	check(b"\r\n%8\r\n" in out, "RESP3 HGETALL stats must be a map of 8")
	check(b"$10\r\nprobe-test\r\n" in out, "CLIENT GETNAME")
	check(out.endswith(b"+OK\r\n"), "QUIT closes after +OK: %r" % out[-20:])


def hostile_checks(port):
	out = raw(port, b"*2\r\n$4\r\nPING\r\n$x\r\n")
	check(out.startswith(b"-ERR Protocol error"), "malformed bulk: %r" % out[:60])
	out = raw(port, b"*99999\r\n")
	check(out.startswith(b"-ERR Protocol error"), "too many arguments: %r" % out[:60])
	out = raw(port, b"*1\r\n$100000\r\n")
	check(out.startswith(b"-ERR Protocol error"), "oversized argument: %r" % out[:60])
	check(cli(port, "PING") == "PONG", "the server still answers after hostile input")


def many_clients(port, n=1000):
	soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
	if soft < n + 100:
		resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 200), hard))
	socks = []
	for _ in range(n):
		s = socket.create_connection(("127.0.0.1", port), timeout=10)
		socks.append(s)
	for s in socks:
		s.sendall(b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nTYPE\r\n$5\r\nstats\r\n")
	want = b"+PONG\r\n+hash\r\n"
	got = {s: b"" for s in socks}
	end = time.time() + 30
	pending = set(socks)
	while pending and time.time() < end:
		r, _, _ = select.select(list(pending)[:1000], [], [], 1.0)
		for s in r:
			d = s.recv(100)
			got[s] += d
			if len(got[s]) >= len(want) or not d:
				pending.discard(s)
	ok = sum(1 for s in socks if got[s] == want)
	for s in socks:
		s.close()
	check(ok == n, "%d of %d concurrent clients answered" % (ok, n))
	print("%d concurrent clients answered" % ok)


def limits(pcap_bytes):
	port = free_port()
	m = start(pcap_bytes, port, ["--resp-max-clients", "5", "--resp-idle-timeout", "1",
				     "--resp-auth", "s3cret"])
	try:
		time.sleep(0.5)  # wait_port's probe connection is gone
		keep = [socket.create_connection(("127.0.0.1", port)) for _ in range(5)]
		time.sleep(0.3)
		out = raw(port, b"")  # sends nothing: the refusal is read before the close
		check(b"max number of clients" in out, "6th client: %r" % out[:60])
		time.sleep(2.5)  # idle timeout closes the five
		for s in keep:
			s.settimeout(3)
			check(s.recv(10) == b"", "an idle client was not closed")
			s.close()
		out = raw(port, b"HGET stats packets\r\nAUTH wrong\r\nAUTH s3cret\r\nTYPE stats\r\n"
			  b"QUIT\r\n")
		check(out.startswith(b"-NOAUTH") and b"-WRONGPASS" in out and
		      b"+OK\r\n+hash\r\n+OK\r\n" in out, "AUTH sequence: %r" % out)
	finally:
		m.stdin.close()
		m.wait(timeout=60)
	p = subprocess.run([MCPROBE, "-r", "-", "--resp-listen", "0.0.0.0:%d" % port],
			   stdin=subprocess.DEVNULL, capture_output=True, text=True)
	check(p.returncode == 2 and "--resp-auth" in p.stderr,
	      "0.0.0.0 without --resp-auth: rc %d %r" % (p.returncode, p.stderr))


def main():
	for tool in ("redis-cli",):
		if not shutil.which(tool):
			raise SystemExit("FAIL: %s is missing (apt-get install redis-tools)" % tool)
	try:
		import redis  # noqa: F401
	except ImportError:
		raise SystemExit("FAIL: python3-redis is missing")
	tmp = tempfile.mkdtemp(prefix="mcp-resp-")
	try:
		pcap, expf = os.path.join(tmp, "scn.pcap"), os.path.join(tmp, "exp.json")
		subprocess.run(["/usr/bin/python3", os.path.join(HERE, "gen_scenario.py"), "--out",
				pcap, "--expect", expf, "--subscribers", "40", "--seed", "31"],
			       check=True)
		exp = json.load(open(expf))
		data = open(pcap, "rb").read()
		port, flows = free_port(), os.path.join(tmp, "flows.json")
		m = start(data, port, [], flows)
		time.sleep(1.5)  # the whole capture is in; snapshots are at most 1 s old
		try:
			cli_checks(port)
			print("redis-python: %d generator subscribers match" % redis_checks(port, exp))
			resp3_checks(port)
			hostile_checks(port)
			many_clients(port)
			time.sleep(1.1)
			view = snapshot(port)
		finally:
			m.stdin.close()
			rc = m.wait(timeout=120)
		check(rc == 0, "mcprobe exit %d: %s" % (rc, m.stderr.read()[-500:]))
		compare_with_flush(view, flows)
		shards_view(data, exp, view, tmp)
		limits(data)
	finally:
		shutil.rmtree(tmp, ignore_errors=True)
	if errors:
		print("%d failures" % len(errors))
		return 1
	print("PASS")
	return 0


if __name__ == "__main__":
	sys.exit(main())
