#!/usr/bin/python3
"""it_microcloud_faults.py - mcprobe --redis when Redis is away or guarded.

Runs $BUILD/mcprobe -r <synthetic scenario> and checks:
  * Redis down (nothing listens): mcprobe still processes the whole capture (flow records
    written, same count as without Redis), says it cannot reach Redis, and exits 1 promptly
    saying how many microcloud writes were lost (an output that could not be written);
  * requirepass with the password from MCP_REDIS_AUTH, and an ACL user with
    --redis-auth USER:PASSWORD: facts are written; the password never appears in mcprobe's
    output (run with -v -v) ; a wrong password: capture still processed, exit 1 with the
    writes lost, one clear message, nothing written, password not echoed;
  * unix:/path endpoint with --redis-db 2: facts land in database 2 only.
Env: BUILD (default build), MCP_SAN=1 (smaller scenario). Exit 0 = pass.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from mc_resp import RedisServer, Resp, free_port  # noqa: E402

BUILD = os.environ.get("BUILD", "build")
SECRET = "s3cr3t-Pa55"
errors = []


def check(cond, msg):
	if not cond:
		errors.append(msg)
	return cond


def mcprobe(args, env=None, timeout=300):
	e = dict(os.environ)
	e.pop("MCP_REDIS_AUTH", None)
	e.update(env or {})
	t0 = time.time()
	p = subprocess.run([os.path.join(ROOT, BUILD, "mcprobe")] + args, capture_output=True,
			   text=True, timeout=timeout, env=e)
	return p, time.time() - t0


def lines(path):
	return sum(1 for _ in open(path)) if os.path.exists(path) else 0


def main():
	exe = os.path.join(ROOT, BUILD, "mcprobe")
	if not os.access(exe, os.X_OK):
		print("FAIL: %s not built" % exe)
		return 1
	tmp = tempfile.mkdtemp(prefix="mcp-faults-")
	pcap, expf = os.path.join(tmp, "s.pcap"), os.path.join(tmp, "s.json")
	nsub = 15 if os.environ.get("MCP_SAN") else 30
	subprocess.run(["/usr/bin/python3", os.path.join(HERE, "gen_scenario.py"), "--out", pcap,
			"--expect", expf, "--subscribers", str(nsub)], check=True,
		       stdout=subprocess.DEVNULL)
	exp = json.load(open(expf))
	active = [s for s in exp["subscribers"] if s["kind"] == "normal" and s["state"] == "active"]

	# baseline without Redis
	base = os.path.join(tmp, "f0.json")
	p, _ = mcprobe(["-r", pcap, "--flows-json", base])
	check(p.returncode == 0 and lines(base) > 0, "baseline run failed: %s" % p.stderr[-500:])

	# 1. Redis down for the whole run
	f1 = os.path.join(tmp, "f1.json")
	p, dt = mcprobe(["-r", pcap, "--flows-json", f1, "--redis", "127.0.0.1:%d" % free_port(),
			 "--stats"])
	check(p.returncode == 1 and "writes lost" in p.stderr,
	      "Redis down: exit %d (want 1, writes lost): %s" % (p.returncode, p.stderr[-800:]))
	check(lines(f1) == lines(base), "Redis down: %d flow records, %d without --redis" %
	      (lines(f1), lines(base)))
	check("cannot reach Redis" in p.stderr, "Redis down: no clear message: %r" % p.stderr[-800:])
	check(dt < 60, "Redis down: took %.1f s" % dt)

	# 2. requirepass (env) and ACL user (--redis-auth), verbose output never shows the secret
	acl = ["--requirepass", SECRET, "--user", "probe", "on", ">" + SECRET, "~*", "&*", "+@all"]
	r = RedisServer(extra=acl)
	try:
		for how, args, env in (("env", [], {"MCP_REDIS_AUTH": SECRET}),
				       ("acl", ["--redis-auth", "probe:" + SECRET], {})):
			pre = "a%s." % how
			p, _ = mcprobe(["-r", pcap, "--redis", "127.0.0.1:%d" % r.port, "--redis-prefix",
					pre, "-v", "-v", "--stats", "--no-reload"] + args, env)
			check(p.returncode == 0, "%s: exit %d: %s" % (how, p.returncode, p.stderr[-800:]))
			check(SECRET not in p.stdout + p.stderr, "%s: the password was echoed" % how)
			c = Resp(r.port)
			c.cmd("AUTH", SECRET)
			for s in active:
				h = c.hgetall("%simsi.%s" % (pre, s["imsi"]))
				check(h.get("state") == "active", "%s: %s not written" % (how, s["imsi"]))
			c.close()
		p, dt = mcprobe(["-r", pcap, "--redis", "127.0.0.1:%d" % r.port, "--redis-prefix", "bad.",
				 "--redis-auth", "probe:wrong-" + SECRET, "--flows-json", f1, "--no-reload"])
		check(p.returncode == 1 and lines(f1) == lines(base) and "writes lost" in p.stderr,
		      "wrong password: exit %d (want 1, writes lost), %d records" %
		      (p.returncode, lines(f1)))
		check("AUTH refused" in p.stderr, "wrong password: no clear message: %r" % p.stderr[-500:])
		check(SECRET not in p.stdout + p.stderr, "wrong password: the password was echoed")
		c = Resp(r.port)
		c.cmd("AUTH", SECRET)
		check(not c.scan("bad.*"), "wrong password: keys were written")
		c.close()
	finally:
		r.stop()

	# 3. unix socket and --redis-db
	sock = os.path.join(tmp, "redis.sock")
	r = RedisServer(extra=["--unixsocket", sock])
	try:
		p, _ = mcprobe(["-r", pcap, "--redis", "unix:" + sock, "--redis-db", "2",
				"--redis-prefix", "u.", "--no-reload"])
		check(p.returncode == 0, "unix: exit %d: %s" % (p.returncode, p.stderr[-500:]))
		c = Resp(r.port)
		check(not c.scan("u.*"), "unix: keys in db 0")
		c.cmd("SELECT", 2)
		for s in active:
			check(c.hgetall("u.imsi." + s["imsi"]).get("state") == "active",
			      "unix: %s not in db 2" % s["imsi"])
		c.close()
	finally:
		r.stop()
	return report()


def report():
	if errors:
		for e in errors[:40]:
			print("FAIL:", e)
		print("%d failures" % len(errors))
		return 1
	print("PASS: Redis down, requirepass via env, ACL user, wrong password, unix socket + db")
	return 0


if __name__ == "__main__":
	sys.exit(main())
