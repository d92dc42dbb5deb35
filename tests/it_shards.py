#!/usr/bin/python3
"""it_shards.py - mcprobe -r --workers 1/2/4 give the same results (issue 14).

On every capture in MCP_PCAPS, on tests/gen_scenario.py's subscriber scenario and on two
captures of bench/gen_bench_pcap.c (the benchmark's generator: uniform and mobile mixes,
2,000 subscribers, smaller than make bench's), it runs 1, 2 and 4 workers and requires:
  * per 5-tuple (proto, src, sport, dst, dport, vlan): the packets and bytes in each
    direction, the record count, the IMSI, the application and the records' end reasons
    equal those of --workers 1, also on the scenario with stamps that jump an hour ahead
    and two minutes back, and on the scenario damaged by random bytes and a hole of zeros;
  * the session log (--sessions-json) is byte for byte the one of --workers 1;
  * the same run twice, the second with a thread per shard (--shard-threads 3; the first has
    as many as the CPUs allow, 1 on 2 CPUs), gives the same flow file byte for byte
    (deterministic merge, whatever the threads);
  * 4 workers with a thread per shard (--shard-threads 3; the runs above have as many as
    the CPUs allow, 1 on 2 CPUs) and a whole nDPI module per shard (MCP_DPI_PRIVATE=1; the
    runs above share one module's tables) give the same per-5-tuple results and session log;
  * --stats shows the shards, each with packets on the bench captures (on the uniform mix each
    within 1.1x its intended share, or 3/sqrt(subscribers it owns) if that is more), and the
    same decoder / session / flow totals as 1 worker;
  * a capture with two stretches of 20 MiB that hold no user packet (non-IP frames, GTP-U
    echo requests: more than the in-place reader's two buffers) finishes, with the same
    results for 1/2/4 workers (it hung forever before);
  * microcloud contents after the scenario capture, in a real redis-server on loopback: every
    key the flow records feed (counters, aggregates, subscriber hashes) has the same type and
    value for 1 and 4 workers.
Env: BUILD, MCP_PCAPS, MCP_SAN (smaller bench captures and scenario, and no second --workers 4
run on the shared captures, under ASan; it says so). Comparisons run two at a time. Exit 0 = pass.
"""

import collections
import concurrent.futures
import glob
import json
import os
import math
import random
import re
import struct
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from mc_resp import Resp, RedisServer  # noqa: E402
from scenario_lib import csum16, read_pcap  # noqa: E402

BUILD = os.environ.get("BUILD", "build")
PCAPS = os.environ.get("MCP_PCAPS", "/work/shared/pcaps")
SAN = bool(os.environ.get("MCP_SAN"))
GAP_BYTES = 20 << 20  # each stretch without user packets (gap_capture)
BENCH_SUBS = 2000  # subscribers of the bench captures: the shares are of them
MCPROBE = os.path.join(ROOT, BUILD, "mcprobe")
RUN_TIMEOUT = 300  # s per probe run: a hung reader fails the test instead of stalling make check
WORKERS = 2  # comparisons at a time: each probe run is mostly startup (0.5-1 s under ASan)
failures = []
_task = threading.local()  # per comparison: its failures and its lines, printed in order


def say(line):
	out = getattr(_task, "out", None)
	if out is None:
		print(line)
	else:
		out.append(line)


def check(cond, msg):
	if not cond:
		failures.append(msg)
		if getattr(_task, "fails", None) is not None:
			_task.fails.append(msg)
		say("FAIL: " + msg)
	return cond


def task(fn, *args, **kw):
	"""Runs fn in a pool thread; returns the lines it said."""
	_task.out, _task.fails = [], []
	try:
		fn(*args, **kw)
		return _task.out
	finally:
		_task.out = _task.fails = None


def run(pcap, workers, tmp, tag, extra=(), ok_rc=(0,), env=None):
	flows = os.path.join(tmp, "%s-w%d.flows" % (tag, workers))
	sess = os.path.join(tmp, "%s-w%d.sessions" % (tag, workers))
	try:
		p = subprocess.run([MCPROBE, "-r", pcap, "--workers", str(workers), "--flows-json",
				    flows, "--sessions-json", sess, "--stats"] + list(extra),
				   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
				   timeout=RUN_TIMEOUT, env=dict(os.environ, **(env or {})))
	except subprocess.TimeoutExpired:
		check(False, "%s --workers %d: still running after %d s (killed)" %
		      (tag, workers, RUN_TIMEOUT))
		return None
	if not check(p.returncode in ok_rc, "%s --workers %d: exit %d: %s" %
		     (tag, workers, p.returncode, p.stderr[-400:])):
		return None
	return flows, sess, p.stderr


def per_tuple(path):
	out = collections.defaultdict(lambda: [0, 0, 0, 0, 0, set(), set(), []])
	with open(path) as f:
		for line in f:
			r = json.loads(line)
			k = (r["proto"], r["src_ip"], r["src_port"], r["dst_ip"], r["dst_port"], r["vlan"])
			v = out[k]
			v[0] += r["pkts_up"]
			v[1] += r["pkts_down"]
			v[2] += r["bytes_up"]
			v[3] += r["bytes_down"]
			v[4] += 1
			v[5].add(r.get("imsi", ""))
			v[6].add((r.get("master_app", ""), r.get("app", "")))
			v[7].append(r["end_reason"])
	for v in out.values():
		v[7].sort()
	return dict(out)


# --stats lines that must not depend on the worker count. Not "dpi packets inspected": nDPI
# keeps caches across flows in its detection module (one per shard), so a flow may be decided
# a packet earlier or later; the labels themselves are compared per 5-tuple.
SAME_STATS = ("packets ", "user packets", "user bytes", "gtp-c messages", "malformed ",
	      "flows created", "flows exported", "flows with subscriber", "gtp-u pkts, unknown",
	      "sessions created", "sessions deleted", "dpi flows classified")


def stat_lines(text):
	return [l.strip() for l in text.splitlines() if l.strip().startswith(SAME_STATS) and
		not l.strip().startswith("packets read in place")]


def shard_counts(text):
	"""Per shard: (user packets, intended share of the hash space) from --stats."""
	return [(int(m.group(1)), float(m.group(2))) for m in
		re.finditer(r"shard \d+\s+user packets\s+(\d+) \(share ([0-9.]+)\)", text)]


def compare(pcap, tmp, tag, balanced=0, show_shares=False, again=True, private=True,
	    ok_rc=(0,)):
	# balanced: the capture's subscriber count, shares checked against it (0: not checked);
	# private: also run 4 workers on a thread each, each building a whole nDPI module;
	# ok_rc: the exit statuses expected (3: a damaged capture read on, mcprobe.md)
	base = run(pcap, 1, tmp, tag, ok_rc=ok_rc)
	if not base:
		return
	ref = per_tuple(base[0])
	ref_sess = open(base[1], "rb").read()
	for w in (2, 4):
		got = run(pcap, w, tmp, tag, ok_rc=ok_rc)
		if not got:
			continue
		pt = per_tuple(got[0])
		diff = [k for k in set(ref) | set(pt) if ref.get(k) != pt.get(k)]
		check(not diff, "%s --workers %d: %d of %d 5-tuples differ from 1 worker, e.g. %s: %s vs %s"
		      % (tag, w, len(diff), len(ref), diff[:1], [ref.get(k) for k in diff[:1]],
			 [pt.get(k) for k in diff[:1]]))
		check(open(got[1], "rb").read() == ref_sess,
		      "%s --workers %d: session log differs from 1 worker" % (tag, w))
		check(stat_lines(got[2]) == stat_lines(base[2]),
		      "%s --workers %d: totals differ: %s vs %s" % (tag, w, stat_lines(got[2]),
								     stat_lines(base[2])))
		counts = shard_counts(got[2])
		check(len(counts) == w, "%s --workers %d: --stats lists %d shards" % (tag, w, len(counts)))
		if show_shares and counts:
			pkts = [c for c, _ in counts]
			check(min(pkts) > 0, "%s --workers %d: an idle shard: %s" % (tag, w, counts))
			check(abs(sum(s for _, s in counts) - 1) < 0.01,
			      "%s --workers %d: shares do not add up: %s" % (tag, w, counts))
			share = max(c / max(1, sum(pkts)) / s for c, s in counts)
			# a shard owning k subscribers of equal weight is off its share by about
			# 1/sqrt(k): allow 3 of that, and never less than 10%
			over = [(c / max(1, sum(pkts)) / s, 1 + max(0.1, 3 / math.sqrt(balanced * s)))
				for c, s in counts] if balanced else []
			check(all(r <= bound for r, bound in over),
			      "%s --workers %d: a shard over its share (ratio, bound): %s (%s)" %
			      (tag, w, ["%.3f <= %.3f" % x for x in over], counts))
			say("  %s --workers %d: shard packets %s, largest %.3f of its share" %
			      (tag, w, counts, share))
		if w == 4 and again:
			again = run(pcap, w, tmp, tag + "-again")
			if again:
				check(open(again[0], "rb").read() == open(got[0], "rb").read(),
				      "%s --workers 4: two runs wrote different flow files" % tag)
		if w == 4 and private:
			# and a thread per shard (the runs above: as many threads as the CPUs allow,
			# 1 on 2 CPUs, a thread running its shards by turns)
			own = run(pcap, w, tmp, tag + "-private", extra=("--shard-threads", "3"),
				  ok_rc=ok_rc, env={"MCP_DPI_PRIVATE": "1"})
			if own:
				pt = per_tuple(own[0])
				diff = [k for k in set(ref) | set(pt) if ref.get(k) != pt.get(k)]
				check(not diff and open(own[1], "rb").read() == ref_sess,
				      "%s --workers 4, a thread and a whole nDPI module per shard: %d "
				      "5-tuples or the session log differ from 1 worker, e.g. %s: %s vs %s" %
				      (tag, len(diff), diff[:1], [ref.get(k) for k in diff[:1]],
				       [pt.get(k) for k in diff[:1]]))
				check("on 3 threads" in own[2],
				      "%s --workers 4 --shard-threads 3: --stats does not say 3 threads" % tag)
	if not _task.fails:
		say("ok   %s: %d 5-tuples equal for 1/2/4 workers" % (tag, len(ref)))


def redis_dump(port):
	r = Resp(port)
	out = {}
	for k in sorted(r.scan("*")):
		t = r.cmd("TYPE", k)
		if t == "hash":
			out[k] = sorted(r.hgetall(k).items())
		elif t == "string":
			out[k] = r.cmd("GET", k)
		elif t == "set":
			out[k] = sorted(r.cmd("SMEMBERS", k))
		elif t == "zset":
			out[k] = r.cmd("ZRANGE", k, "0", "-1", "WITHSCORES")
		elif t == "list":
			out[k] = r.cmd("LRANGE", k, "0", "-1")
		else:
			out[k] = t
	r.close()
	return out


def compare_microcloud(pcap, tmp):
	redis = RedisServer()
	dumps = {}
	try:
		for w in (1, 4):
			r = Resp(redis.port)
			r.cmd("FLUSHALL")
			r.close()
			if run(pcap, w, tmp, "mc", ["--redis", "127.0.0.1:%d" % redis.port,
						    "--no-reload"]):
				dumps[w] = redis_dump(redis.port)
	finally:
		redis.stop()
	if len(dumps) == 2:
		# String facts (ip., teid., msisdn. -> IMSI) come from the session events, which the
		# reader writes the same way for any worker count; a detached tunnel's key can race
		# with its grace expiry in the writer even between two 1-worker runs. Everything the
		# flow records feed (counters, aggregates, subscriber hashes) must be equal.
		keys = [k for k in set(dumps[1]) | set(dumps[4])
			if not k.split(".", 1)[0] in ("ip", "teid", "msisdn")]
		diff = [k for k in keys if dumps[1].get(k) != dumps[4].get(k)]
		# 20 subscribers (MCP_SAN) give about 90 such keys, 60 about 230
		if check(len(keys) > 50 and not diff,
			 "microcloud: %d of %d keys differ between 1 and 4 workers, e.g. %s"
			 % (len(diff), len(keys), diff[:3])):
			say("ok   microcloud: %d counter/aggregate/subscriber keys equal for 1 and 4 "
			      "workers" % len(keys))


def bench_capture(tmp, mix, frames, subs):
	gen = os.path.join(tmp, "gen_bench_pcap")
	out = os.path.join(tmp, "bench-%s.pcap" % mix)
	if not os.path.exists(gen):
		subprocess.run(["gcc", "-O2", "-o", gen, os.path.join(ROOT, "bench", "gen_bench_pcap.c"),
				"-lm", "-lcrypto"], check=True)
	subprocess.run([gen, "-o", out, "-n", str(frames), "-s", str(subs), "-c", "1000", "-m", mix],
		       check=True, stdout=subprocess.DEVNULL)
	return out


def gap_capture(tmp, src):
	"""src with two stretches of frames no shard gets (non-IP frames and GTP-U echo requests,
	GAP_BYTES each, more than the reader's two 8 MiB in-place buffers): one in the middle, one
	at the end. Returns the new capture's path."""
	hdr, frames = read_pcap(src)
	recs = [rec for _, rec in frames]
	non_ip = b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01" + b"\x88\xb5" + bytes(1000)
	# GTP-U echo request (TS 29.281 7.2.1): counted as GTP-U signalling, never dispatched
	gtp = bytes([0x32, 1, 0, 4, 0, 0, 0, 0, 0, 1, 0, 0])
	udp = struct.pack(">HHHH", 2152, 2152, 8 + len(gtp), 0) + gtp
	ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
			 bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
	ip = ip[:10] + struct.pack(">H", csum16(ip)) + ip[12:]
	echo = b"\x02" * 6 + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00" + ip + udp

	def gap(ts_rec):
		sec, usec = struct.unpack("<II", ts_rec[:8])
		out, n = [], 0
		while n < GAP_BYTES:
			fr = non_ip if len(out) % 4 else echo
			out.append(struct.pack("<IIII", sec, usec, len(fr), len(fr)) + fr)
			n += 16 + len(fr)
		return b"".join(out)

	half = len(recs) // 2
	out = os.path.join(tmp, "gaps.pcap")
	with open(out, "wb") as f:
		f.write(hdr)
		f.write(b"".join(recs[:half]))
		f.write(gap(recs[half - 1]))
		f.write(b"".join(recs[half:]))
		f.write(gap(recs[-1]))
	return out


def jumping_capture(tmp, src):
	"""src with stamps that jump: every 97th record an hour ahead, every 89th two minutes
	back (a damaged or merged capture). Expiry must not depend on which flows share a
	worker."""
	hdr, frames = read_pcap(src)
	out = os.path.join(tmp, "jumps.pcap")
	with open(out, "wb") as f:
		f.write(hdr)
		for i, (_, rec) in enumerate(frames):
			sec = struct.unpack("<I", rec[:4])[0]
			sec += 3600 if i % 97 == 96 else -120 if i % 89 == 88 else 0
			f.write(struct.pack("<I", sec) + rec[4:])
	return out


def damaged_capture(tmp, src):
	"""src with 40 runs of random bytes (seeded) and a 64 KiB hole of zeros: records the reader
	skips, and stamps, lengths and headers that are wrong but still taken."""
	with open(src, "rb") as f:
		data = bytearray(f.read())
	rnd = random.Random(7)
	for _ in range(40):
		at = rnd.randrange(24, len(data) - 64)
		for j in range(rnd.randrange(1, 40)):
			data[at + j] = rnd.randrange(256)
	hole = len(data) // 3
	data[hole:hole + 65536] = bytes(65536)
	out = os.path.join(tmp, "damaged.pcap")
	with open(out, "wb") as f:
		f.write(data)
	return out


def main():
	if not os.access(MCPROBE, os.X_OK):
		print("FAIL: %s not built (make BUILD=%s)" % (MCPROBE, BUILD))
		return 1
	caps = sorted(p for p in glob.glob(os.path.join(PCAPS, "*.pcap*"))
		      if p.endswith((".pcap", ".pcapng")))
	if not caps:
		print("FAIL: no captures in %s (set MCP_PCAPS)" % PCAPS)
		return 1
	tmp = tempfile.mkdtemp(prefix="mcp-shards-")
	scen = os.path.join(tmp, "scenario.pcap")
	subprocess.run(["/usr/bin/python3", os.path.join(HERE, "gen_scenario.py"), "--out", scen,
			"--expect", os.path.join(tmp, "scenario.json"), "--subscribers",
			"20" if SAN else "60"], check=True, stdout=subprocess.DEVNULL)
	frames = 50000 if SAN else 200000
	# MCP_SAN: the shared captures skip the second --workers 4 run (the deterministic-merge
	# check) and the one with private nDPI modules; the scenario and both bench captures
	# still make them, all do without MCP_SAN.
	if SAN:
		print("MCP_SAN: reduced: no second --workers 4 run (deterministic merge) and no run "
		      "with private nDPI modules on the %d shared captures; scenario and bench "
		      "captures keep them" % len(caps))
	jobs = [(compare, (pcap, tmp, os.path.basename(pcap)), dict(again=not SAN, private=not SAN))
		for pcap in caps]
	jobs.append((compare, (scen, tmp, "scenario"), {}))
	# long stretches without user packets: the in-place reader must not wait for them
	jobs.append((compare, (gap_capture(tmp, scen), tmp, "gaps"), dict(again=False, private=False)))
	jobs.append((compare, (jumping_capture(tmp, scen), tmp, "jumps"), dict(again=False)))
	jobs.append((compare, (damaged_capture(tmp, scen), tmp, "damaged"), dict(again=False, ok_rc=(3,))))
	# balance is required on the uniform mix (make bench's capture); the mobile mix's heavy
	# tail puts whole elephant subscribers on one shard: its shares are printed only
	for mix in ("uniform", "mobile"):
		jobs.append((compare, (bench_capture(tmp, mix, frames, BENCH_SUBS), tmp, "bench-" + mix),
			     dict(balanced=BENCH_SUBS if mix == "uniform" else 0, show_shares=True)))
	jobs.append((compare_microcloud, (scen, tmp), {}))
	# independent comparisons (own files per tag); the largest first, for an even finish
	order = sorted(range(len(jobs)), key=lambda i: -os.path.getsize(jobs[i][1][0]))
	with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
		futs = {i: pool.submit(task, jobs[i][0], *jobs[i][1], **jobs[i][2]) for i in order}
		for i in range(len(jobs)):
			print("\n".join(futs[i].result()))
	subprocess.run(["rm", "-rf", tmp])
	print("it_shards: %s" % ("FAIL (%d)" % len(failures) if failures else "PASS"))
	return 1 if failures else 0


if __name__ == "__main__":
	sys.exit(main())
