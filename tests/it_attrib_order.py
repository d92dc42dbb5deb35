#!/usr/bin/python3
"""it_attrib_order.py - attribution does not depend on the order of control and user plane.

Generates tests/gen_scenario.py's capture (GTPv1/v2, handovers, dedicated bearers, deletes,
TEID reuse, re-attaches), then writes a copy in which every GTP-C frame comes DELAY_MS later
in the file than in capture time (its own timestamp unchanged), so the GTP-U of every session
is read before the Create Session / Create PDP Context Response that names its tunnels, as
when RSS puts GTP-C and GTP-U on different queues. mcprobe -r on the copy must give exactly
the generator's expectations (it_scenario.compare: every flow, per-IMSI totals, sessions)
and the same flow records as on the capture in order. DELAY_MS is the documented bound
(docs/sessions.md, "Late binding").

Shards (issue 14): the copy is also read with --workers 2 and 4, where a flow that began
before its session was dispatched by its 5-tuple and is bound in its shard or by the merger.
Each must meet the generator's expectations, give per 5-tuple the packets, bytes, IMSI and
application of --workers 1, and leave in a real redis-server on loopback the same microcloud
counters, aggregates and subscriber hashes as --workers 1 on the capture in order. Env: BUILD, SCN_SUBSCRIBERS (default 150; 80 under
MCP_SAN), SCN_SEED, ATTR_DELAY_MS (default 500), SCN_KEEP=dir to keep the files.
"""

import bisect
import json
import os
import re
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import it_scenario  # noqa: E402
from it_shards import redis_dump  # noqa: E402
from mc_resp import Resp, RedisServer  # noqa: E402
from scenario_lib import read_pcap  # noqa: E402,F401 (it_split_probes, it_live_queues)

GTPC_PORT = 2123

def is_gtpc(rec):
	"""Ethernet (VLAN tags skipped) / IPv4 or IPv6 / UDP with port 2123 on either side."""
	pkt = rec[16:]
	off, et = 12, None
	while off + 2 <= len(pkt):
		et = struct.unpack_from("!H", pkt, off)[0]
		if et in (0x8100, 0x88a8):
			off += 4
			continue
		off += 2
		break
	if et == 0x0800 and off + 20 <= len(pkt) and pkt[off + 9] == 17:
		l4 = off + (pkt[off] & 0x0f) * 4
	elif et == 0x86dd and off + 40 <= len(pkt) and pkt[off + 6] == 17:
		l4 = off + 40
	else:
		return False
	if l4 + 4 > len(pkt):
		return False
	sport, dport = struct.unpack_from("!HH", pkt, l4)
	return GTPC_PORT in (sport, dport)

def delay_control(src, dst, delay_us):
	"""Moves every GTP-C frame delay_us later in file order. Returns (moved, overtaken):
	GTP-C frames moved and user frames that now come before a control frame that was
	captured before them."""
	hdr, frames = read_pcap(src)
	keyed = []
	for i, (ts, rec) in enumerate(frames):
		c = is_gtpc(rec)
		keyed.append((ts + delay_us if c else ts, i, c, ts, rec))
	keyed.sort(key=lambda k: (k[0], k[1]))
	moved = sum(1 for k in keyed if k[2])
	overtaken = 0
	ctl_times = sorted(k[3] for k in keyed if k[2])
	written_ctl = 0
	for k in keyed:
		if k[2]:
			written_ctl += 1
			continue
		# control frames captured before this user frame but written after it
		before = bisect.bisect_left(ctl_times, k[3])
		if before > written_ctl:
			overtaken += 1
	with open(dst, "wb") as f:
		f.write(hdr)
		for k in keyed:
			f.write(k[4])
	return moved, overtaken

def run_probe(mcprobe, pcap, flows, sess, extra=()):
	p = subprocess.run([mcprobe, "-r", pcap, "--flows-json", flows, "--sessions-json", sess,
			    "--stats"] + list(extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
			   timeout=600)
	if p.returncode != 0:
		print("FAIL: mcprobe -r %s exited %d: %s" % (pcap, p.returncode,
							    p.stderr.decode(errors="replace")[-2000:]))
		return None
	return p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")

def stat(text, name):
	for line in text.splitlines():
		if line.strip().startswith(name):
			return int(line.split()[-1])
	return None

def records_by_5tuple(path):
	"""Flow records summed per (5-tuple, imsi): what must not depend on the order."""
	out = {}
	for line in open(path):
		r = json.loads(line)
		k = (r["proto"], r["src_ip"], r.get("src_port"), r["dst_ip"], r.get("dst_port"),
		     r.get("imsi") or "")
		t = out.setdefault(k, [0, 0, 0, 0])
		for i, f in enumerate(("pkts_up", "pkts_down", "bytes_up", "bytes_down")):
			t[i] += r[f]
	return out

def per_tuple_app(path):
	"""Per 5-tuple: packets and bytes each way, IMSIs and applications (it_shards' rule)."""
	out = {}
	for line in open(path):
		r = json.loads(line)
		k = (r["proto"], r["src_ip"], r.get("src_port"), r["dst_ip"], r.get("dst_port"))
		v = out.setdefault(k, [0, 0, 0, 0, set(), set()])
		for i, f in enumerate(("pkts_up", "pkts_down", "bytes_up", "bytes_down")):
			v[i] += r[f]
		v[4].add(r.get("imsi") or "")
		v[5].add((r.get("master_app", ""), r.get("app", "")))
	return out

def microcloud(redis, mcprobe, pcap, tmp, workers):
	"""What the flow records feed (counters, aggregates, subscriber hashes), after one run.
	ip./teid./msisdn. strings come from session events (it_shards.compare_microcloud)."""
	r = Resp(redis.port)
	r.cmd("FLUSHALL")
	r.close()
	fl, se = os.path.join(tmp, "mc.flows"), os.path.join(tmp, "mc.sess")
	if run_probe(mcprobe, pcap, fl, se, ["--workers", str(workers), "--redis",
					      "127.0.0.1:%d" % redis.port, "--no-reload"]) is None:
		return None
	dump = redis_dump(redis.port)
	return {k: v for k, v in dump.items() if k.split(".", 1)[0] not in ("ip", "teid", "msisdn")}

def check_shards(mcprobe, pcap, late, expf, tmp, ref_flows):
	"""--workers 2/4 on the late copy against --workers 1 and against the expectations."""
	nfail = 0
	ref = per_tuple_app(ref_flows)
	for w in (2, 4):
		fl, se = os.path.join(tmp, "w%d.flows" % w), os.path.join(tmp, "w%d.sess" % w)
		text = run_probe(mcprobe, late, fl, se, ["--workers", str(w)])
		if text is None:
			return nfail + 1
		print("--- control late, --workers %d: flows attributed late %s, records bound by the "
		      "merger %s" % (w, stat(text, "flows attributed late"),
				     (re.search(r"records bound by the merger\s+(\d+)", text) or
				      [None, None])[1]))
		nfail += it_scenario.compare(late, expf, fl, se)
		got = per_tuple_app(fl)
		diff = [k for k in set(ref) | set(got) if ref.get(k) != got.get(k)]
		if diff:
			print("FAIL: --workers %d: %d of %d 5-tuples differ from --workers 1, e.g. %s: "
			      "%s vs %s" % (w, len(diff), len(ref), diff[0], ref.get(diff[0]),
					    got.get(diff[0])))
			nfail += 1
		else:
			print("ok   --workers %d: %d 5-tuples equal to --workers 1 (packets, bytes, IMSI, "
			      "app)" % (w, len(ref)))
	redis = RedisServer()
	try:
		dumps = {"1 worker, in order": microcloud(redis, mcprobe, pcap, tmp, 1)}
		for w in (1, 2, 4):
			dumps["%d workers, control late" % w] = microcloud(redis, mcprobe, late, tmp, w)
	finally:
		redis.stop()
	base = dumps.pop("1 worker, in order")
	if not base or len(base) < 100:
		print("FAIL: microcloud after the in-order run: %d keys" % len(base or {}))
		return nfail + 1
	for name, d in dumps.items():
		diff = [k for k in set(base) | set(d or {}) if base.get(k) != (d or {}).get(k)]
		if d is None or diff:
			print("FAIL: microcloud, %s: %d of %d keys differ from 1 worker in order, e.g. %s"
			      % (name, len(diff), len(base), sorted(diff)[:3]))
			nfail += 1
		else:
			print("ok   microcloud, %s: %d counter/aggregate/subscriber keys equal to 1 worker "
			      "in order" % (name, len(base)))
	return nfail

def main():
	build = os.environ.get("BUILD", "build")
	mcprobe = os.path.join(build, "mcprobe")
	if not os.access(mcprobe, os.X_OK):
		print("FAIL: %s not built (make)" % mcprobe)
		return 1
	nsub = int(os.environ.get("SCN_SUBSCRIBERS", "80" if os.environ.get("MCP_SAN") else "150"))
	seed = int(os.environ.get("SCN_SEED", "7"))
	delay_ms = int(os.environ.get("ATTR_DELAY_MS", "500"))
	keep = os.environ.get("SCN_KEEP")
	tmp = keep or tempfile.mkdtemp(prefix="mcp-attr-")
	os.makedirs(tmp, exist_ok=True)
	pcap, expf = os.path.join(tmp, "scn.pcap"), os.path.join(tmp, "scn.json")
	late = os.path.join(tmp, "scn-late.pcap")
	it_scenario.generate(pcap, expf, nsub, seed)
	moved, overtaken = delay_control(pcap, late, delay_ms * 1000)
	print("GTP-C frames moved %d ms later: %d; user frames now read before control captured "
	      "earlier: %d" % (delay_ms, moved, overtaken))
	if overtaken == 0:
		print("FAIL: the reordering moved no user frame ahead of its control plane")
		return 1
	nfail = 0
	out = {}
	for name, src in (("in order", pcap), ("control late", late)):
		fl, se = os.path.join(tmp, name[:2] + ".flows"), os.path.join(tmp, name[:2] + ".sess")
		text = run_probe(mcprobe, src, fl, se)
		if text is None:
			return 1
		out[name] = (fl, text)
		print("%s: flows attributed late %s, gtp-u packets met unknown %s, in untagged "
		      "records %s" % (name, stat(text, "flows attributed late"),
				      stat(text, "gtp-u pkts, unknown subscr."),
				      stat(text, "gtp-u pkts in untagged recs")))
		print("--- %s: against the generator's expectations" % name)
		nfail += it_scenario.compare(src, expf, fl, se)
	a, b = records_by_5tuple(out["in order"][0]), records_by_5tuple(out["control late"][0])
	diff = sorted({(k, tuple(v)) for k, v in a.items()} ^ {(k, tuple(v)) for k, v in b.items()})
	if diff:
		print("FAIL: records (per 5-tuple and IMSI) differ between the two orders: %d" %
		      len(diff))
		for d in diff[:20]:
			print("   ", d)
		nfail += 1
	if stat(out["control late"][1], "flows attributed late") in (None, 0):
		print("FAIL: no flow was attributed late: the reordering tested nothing")
		nfail += 1
	nfail += check_shards(mcprobe, pcap, late, expf, tmp, out["control late"][0])
	print("PASS" if not nfail else "FAIL: %d problems" % nfail)
	return 1 if nfail else 0

if __name__ == "__main__":
	sys.exit(main())
