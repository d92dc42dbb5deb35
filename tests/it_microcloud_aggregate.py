#!/usr/bin/python3
"""it_microcloud_aggregate.py - mcp-aggregate's options and output against known buckets.

Seeds a real redis-server (free loopback port) with per-IMSI application buckets whose values
the test chose, written with its own RESP client (tests/mc_resp.py), then checks:
  * --help lists every option of the table and exits 0; each usage error (no endpoint,
    --epoch with --all, unknown option, bad number, stray argument, missing --outdir, empty
    --redis-auth) exits 2 with its one-line message;
  * --all prints the header and exactly the expected lines, sorted; keys of another prefix and
    keys that are not buckets are ignored; an app name holding dots stays whole;
  * --epoch N prints only that period; --outdir writes one file per period;
  * --delete removes the buckets of closed periods and keeps the open one.
Env: BUILD (default build). Exit 0 = pass.
"""

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
OPTIONS = ["redis", "redis-cluster", "redis-auth", "redis-db", "redis-prefix", "epoch", "all",
	   "outdir", "delete"]
HEADER = "# Timestamp IMSI Granularity Protocol Packets Bytes Flows Duration(sec)"
errors = []


def check(cond, msg):
	if not cond:
		errors.append(msg)
	return cond


def agg(*args):
	env = dict(os.environ)
	env.pop("MCP_REDIS_AUTH", None)
	return subprocess.run([os.path.join(ROOT, BUILD, "mcp-aggregate")] + list(args),
			      capture_output=True, text=True, timeout=60, env=env)


def usage_errors():
	p = agg("--help")
	check(p.returncode == 0, "--help exit %d" % p.returncode)
	for o in OPTIONS:
		check("--" + o in p.stdout, "--help does not list --%s" % o)
	port = "127.0.0.1:%d" % free_port()
	cases = [([], "--redis or --redis-cluster is required"),
		 (["--redis", port, "--epoch", "5", "--all"], "exclude each other"),
		 (["--redis", port, "--no-such-option"], "unrecognized option"),
		 (["--redis", port, "--redis-db", "x"], "invalid --redis-db"),
		 (["--redis", port, "--epoch", "-3"], "invalid --epoch"),
		 (["--redis", port, "stray"], "unexpected argument 'stray'"),
		 (["--redis", port, "--outdir", "/nonexistent/dir"], "not a directory"),
		 (["--redis", port, "--redis-auth", ""], "invalid --redis-auth"),
		 (["--redis", "host:99999"], "invalid --redis")]
	for args, msg in cases:
		p = agg(*args)
		check(p.returncode == 2 and msg in p.stderr, "%s: exit %d, stderr %r (want 2 and %r)"
		      % (args, p.returncode, p.stderr[-300:], msg))


def seed(c, now_epoch):
	"""Buckets with chosen values; returns the lines mcp-aggregate must print, per epoch."""
	c.cmd("HSET", "t.agg.1000.001010000000002", "period", "300", "DNS.pkts", "4",
	      "DNS.bytes", "412", "DNS.flows", "2", "DNS.duration_ms", "45")
	c.cmd("HSET", "t.agg.1000.001010000000001", "period", "300", "TLS.YouTube.pkts", "42",
	      "TLS.YouTube.bytes", "38211", "TLS.YouTube.flows", "1",
	      "TLS.YouTube.duration_ms", "6120")
	c.cmd("HSET", "t.agg.1300.001010000000001", "period", "300", "HTTP.pkts", "7",
	      "HTTP.bytes", "900", "HTTP.flows", "3", "HTTP.duration_ms", "1500")
	c.cmd("HSET", "t.agg.%d.001010000000003" % now_epoch, "period", "300", "QUIC.pkts", "1",
	      "QUIC.bytes", "1200", "QUIC.flows", "1", "QUIC.duration_ms", "0")
	# another prefix's bucket
	c.cmd("HSET", "u.agg.1000.001010000000009", "period", "300", "DNS.pkts", "1")
	c.cmd("HSET", "t.agg.notanumber", "period", "300")  # not a bucket
	return {1000: ["1000 001010000000001 300 TLS.YouTube 42 38211 1 6.120",
		       "1000 001010000000002 300 DNS 4 412 2 0.045"],
		1300: ["1300 001010000000001 300 HTTP 7 900 3 1.500"],
		now_epoch: ["%d 001010000000003 300 QUIC 1 1200 1 0.000" % now_epoch]}


def outputs(redis, want):
	ep = "127.0.0.1:%d" % redis.port
	every = [ln for e in sorted(want) for ln in want[e]]
	p = agg("--redis", ep, "--redis-prefix", "t.", "--all")
	check(p.returncode == 0, "--all exit %d: %s" % (p.returncode, p.stderr))
	check(p.stdout.splitlines() == [HEADER] + every, "--all printed %r" % p.stdout)
	p = agg("--redis", ep, "--redis-prefix", "t.", "--epoch", "1300")
	check(p.stdout.splitlines() == [HEADER] + want[1300], "--epoch 1300 printed %r" % p.stdout)
	out = tempfile.mkdtemp(prefix="mcp-agg-")
	p = agg("--redis", ep, "--redis-prefix", "t.", "--outdir", out)
	check(p.returncode == 0, "--outdir exit %d: %s" % (p.returncode, p.stderr))
	check(sorted(os.listdir(out)) == sorted("mcp-agg-%d.txt" % e for e in want),
	      "--outdir wrote %r" % os.listdir(out))
	for e in want:
		path = os.path.join(out, "mcp-agg-%d.txt" % e)
		got = open(path).read().splitlines() if os.path.exists(path) else []
		check(got == [HEADER] + want[e], "%s holds %r" % (path, got))


def delete(redis, now_epoch):
	c = Resp(redis.port)
	p = agg("--redis", "127.0.0.1:%d" % redis.port, "--redis-prefix", "t.", "--delete")
	check(p.returncode == 0, "--delete exit %d: %s" % (p.returncode, p.stderr))
	for k in ("t.agg.1000.001010000000001", "t.agg.1000.001010000000002",
		  "t.agg.1300.001010000000001"):
		check(c.cmd("EXISTS", k) == 0, "--delete left %s" % k)
	for k in ("t.agg.%d.001010000000003" % now_epoch, "u.agg.1000.001010000000009"):
		check(c.cmd("EXISTS", k) == 1, "--delete removed %s" % k)
	c.close()


def main():
	exe = os.path.join(ROOT, BUILD, "mcp-aggregate")
	if not os.access(exe, os.X_OK):
		print("FAIL: %s not built" % exe)
		return 1
	usage_errors()
	redis = RedisServer()
	try:
		now_epoch = int(time.time()) // 300 * 300  # the open period
		c = Resp(redis.port)
		want = seed(c, now_epoch)
		c.close()
		outputs(redis, want)
		delete(redis, now_epoch)
	finally:
		redis.kill()
	for e in errors:
		print("FAIL:", e)
	if errors:
		return 1
	print("PASS: mcp-aggregate options, output, --epoch, --outdir, --delete")
	return 0


if __name__ == "__main__":
	sys.exit(main())
