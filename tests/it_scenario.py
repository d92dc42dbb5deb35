#!/usr/bin/python3
"""it_scenario.py - end-to-end check of mcprobe -r on the synthetic GTP scenario.

Generates tests/gen_scenario.py's capture (GTPv1/v2 control plane with handovers, dedicated
bearers, rejects, lost responses, retransmissions, delete + re-attach; GTP-U DNS/HTTP/TLS
flows; plain VLAN traffic), runs
  $BUILD/mcprobe -r X.pcap --flows-json F --sessions-json S
and compares EXACTLY with the generator's expectations:
  * every expected flow (inner 5-tuple, src = UE / initiator) is present, records summed per
    5-tuple: pkts/bytes up/down equal (bytes = inner IP total length), same IMSI, vlan,
    teid_up (and teid_down when no handover changed it), outer endpoints of the first
    record, first_ms/last_ms within 1 ms, the expected nDPI protocol among app/master_app
    names, the expected host (SNI / HTTP Host / DNS query), end_reason fin/rst of TCP
    flows, and the subscriber fields of every record (msisdn, imei, apn, ue_ip, rat);
  * no unexpected flows (records for the GTP-C signalling itself, UDP 2123, are allowed);
  * per-IMSI totals;
  * subscriber facts from --sessions-json (last line per IMSI): msisdn, imei, apn, ue_ipv4,
    ue_ipv6 (/64 prefix), rat, gtp_version, state, and the final user-plane tunnels;
    rejected creates and unanswered requests must never show an active session; every
    accepted change (create, eNB F-TEID / handover, dedicated bearer, delete) appears as a
    line with last_change_ms = the response's time (+-1 ms) holding the tunnels it added;
Env: BUILD (default build), SCN_SUBSCRIBERS (default 300; 120 under MCP_SAN), SCN_SEED,
SCN_KEEP=dir to keep the files. Exit 0 = pass; otherwise prints a readable diff.
Also checks that the generator is deterministic (same seed twice, same bytes) and that
tshark decodes its capture without malformed frames or expert warnings (but TCP RSTs,
and QUIC short-header packets, which tshark cannot decrypt without the 1-RTT keys).
`it_scenario.py --check PCAP EXPECT FLOWS SESSIONS` only compares existing files
(tools/demo.sh uses it on the bundled demo capture).
A second, smaller scenario runs with --idle-timeout 1 --active-timeout 2 so that flows
are cut into many records; the per-5-tuple sums must still be exact (for untunnelled
flows, records naming the responder as the up side are accepted, since a record that
starts after a timeout may start with the responder's packet).
"""

import collections
import ipaddress
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
END_REASONS = {"idle", "active", "fin", "rst", "flush", "evicted"}
RAT_NAMES = {"utran": 1, "geran": 2, "wlan": 3, "gan": 4, "hspa": 5, "eutran": 6,
	     "e-utran": 6, "virtual": 7, "nr": 10}
MAX_SHOWN = 25

def fail_list(title, items):
	if not items:
		return 0
	print("FAIL %s: %d" % (title, len(items)))
	for it in items[:MAX_SHOWN]:
		print("   ", it)
	if len(items) > MAX_SHOWN:
		print("    ... %d more" % (len(items) - MAX_SHOWN))
	return len(items)

def read_jsonl(path, what):
	out, bad = [], []
	with open(path, "rb") as f:
		for n, line in enumerate(f, 1):
			line = line.strip()
			if not line:
				continue
			try:
				out.append(json.loads(line))
			except ValueError as e:
				bad.append("%s line %d: %s: %r" % (what, n, e, line[:200]))
	return out, bad

def norm_ip(s):
	if s is None or s == "":
		return None
	try:
		return str(ipaddress.ip_address(s))
	except ValueError:
		return str(s)

def norm_int(v):
	if v is None or v == "":
		return None
	if isinstance(v, str):
		return int(v, 0)
	return int(v)

def norm_dir(v):
	if isinstance(v, str):
		v = v.lower()
		return "up" if v.startswith("up") or v == "0" else "down"
	return "up" if v == 0 else "down"

def norm_rat(v):
	if isinstance(v, str):
		if v.isdigit():
			return int(v)
		return RAT_NAMES.get(v.lower(), v)
	return v

def flow_key(r):
	return (int(r.get("proto", -1)), norm_ip(r.get("src_ip")), int(r.get("src_port") or 0),
		norm_ip(r.get("dst_ip")), int(r.get("dst_port") or 0))

def app_names(r):
	names = set()
	for k in ("app", "master_app"):
		v = r.get(k)
		if isinstance(v, str) and v:
			names.add(v)
			names.update(v.split("."))
	return names

def swapped(r):
	"""The record seen from the other side (src <-> dst, up <-> down)."""
	o = dict(r)
	for a, b in (("src_ip", "dst_ip"), ("src_port", "dst_port"), ("pkts_up", "pkts_down"),
		     ("bytes_up", "bytes_down")):
		o[a], o[b] = r.get(b), r.get(a)
	return o

def check_flows(exp, recs, loose_plain=False):
	"""loose_plain: an untunnelled flow cut by a timeout may restart with the responder's
	packet, so its later records may name the responder as the up side; accept that."""
	errs = collections.defaultdict(list)
	by_key = collections.defaultdict(list)
	if loose_plain:
		plain = {(f["proto"], norm_ip(f["src_ip"]), f["src_port"], norm_ip(f["dst_ip"]),
			  f["dst_port"]) for f in exp["flows"] if not f["imsi"]}
		recs = [swapped(r) if not r.get("imsi") and flow_key(r) not in plain and
			flow_key(swapped(r)) in plain else r for r in recs]
	for r in recs:
		by_key[flow_key(r)].append(r)
		er = r.get("end_reason")
		if er not in END_REASONS:
			errs["records with a bad end_reason"].append("%s end_reason=%r" %
								    (flow_key(r), er))
	expected = {}
	for f in exp["flows"]:
		k = (f["proto"], norm_ip(f["src_ip"]), f["src_port"], norm_ip(f["dst_ip"]),
		     f["dst_port"])
		expected[k] = f
	for k, f in expected.items():
		rs = by_key.get(k)
		if not rs:
			rev = (k[0], k[3], k[4], k[1], k[2])
			if rev in by_key:
				errs["flows reported with up/down swapped"].append(
					"%s (imsi %s)" % (k, f["imsi"]))
			else:
				errs["expected flows missing"].append(
					"%s imsi=%s app=%s %d/%d pkts" % (k, f["imsi"], f["app"],
									  f["pkts_up"], f["pkts_down"]))
			continue
		rs.sort(key=lambda r: r.get("first_ms", 0))
		got = {c: sum(int(r.get(c, 0)) for r in rs)
		       for c in ("pkts_up", "pkts_down", "bytes_up", "bytes_down")}
		want = {c: f[c] for c in got}
		if got != want:
			errs["flow counters differ (want -> got, summed over %s records)" %
			     "their"].append("%s imsi=%s: %s" % (k, f["imsi"], ", ".join(
				     "%s %d->%d" % (c, want[c], got[c]) for c in got
				     if got[c] != want[c])))
		imsis = {r.get("imsi") or None for r in rs}
		if imsis != {f["imsi"]}:
			errs["flow IMSI differs"].append("%s want %s got %s" %
							 (k, f["imsi"], sorted(map(str, imsis))))
		vl = {int(r.get("vlan") or 0) for r in rs}
		if vl != {f["vlan"]}:
			errs["flow vlan differs"].append("%s want %s got %s" % (k, f["vlan"], vl))
		if f["imsi"]:
			tu = {norm_int(r.get("teid_up")) for r in rs}
			if tu != {f["teid_up"]}:
				errs["teid_up differs"].append("%s want %#x got %s" % (
					k, f["teid_up"], [hex(x) if x is not None else x for x in tu]))
			if f["teid_down"] is not None:
				td = {norm_int(r.get("teid_down")) for r in rs}
				if td != {f["teid_down"]}:
					errs["teid_down differs"].append("%s want %#x got %s" % (
						k, f["teid_down"],
						[hex(x) if x is not None else x for x in td]))
			o = (norm_ip(rs[0].get("outer_src")), norm_ip(rs[0].get("outer_dst")))
			if o != (f["outer_src"], f["outer_dst"]):
				errs["outer endpoints differ (first record)"].append(
					"%s want %s got %s" % (k, (f["outer_src"], f["outer_dst"]), o))
		# a flow that closed just before the capture ended may still be lingering for
		# its last ACK when the capture ends: "flush" is then right too
		late = f["last_ms"] > exp["meta"]["last_ms"] - 30000
		if f.get("end") and not loose_plain and rs[-1].get("end_reason") != f["end"] and \
		   not (late and rs[-1].get("end_reason") == "flush"):
			errs["end_reason of the last record differs"].append(
				"%s want %s got %s" % (k, f["end"], [r.get("end_reason") for r in rs]))
		if f.get("sub"):
			sb = f["sub"]
			d = []
			for r in rs:
				for c in ("msisdn", "imei", "apn"):
					if str(r.get(c) or "") != sb[c]:
						d.append("%s %r->%r" % (c, sb[c], r.get(c)))
				ue = norm_ip(r.get("ue_ip"))
				if ue not in (sb["ue_ipv4"], norm_ip(sb["ue_ipv6"]), k[1]):
					d.append("ue_ip %s->%s" % (sb["ue_ipv4"], r.get("ue_ip")))
				if norm_rat(r.get("rat")) != sb["rat"]:
					d.append("rat %s->%s" % (sb["rat"], r.get("rat")))
			if d:
				errs["subscriber fields of flow records differ"].append(
					"%s imsi=%s: %s" % (k, f["imsi"], "; ".join(sorted(set(d)))))
		first = min(int(r.get("first_ms", 0)) for r in rs)
		last = max(int(r.get("last_ms", 0)) for r in rs)
		if abs(first - f["first_ms"]) > 1 or abs(last - f["last_ms"]) > 1:
			errs["first_ms/last_ms differ by > 1 ms"].append(
				"%s want %d..%d got %d..%d" % (k, f["first_ms"], f["last_ms"], first,
							       last))
		if f["app"]:
			names = set()
			for r in rs:
				names |= app_names(r)
			if f["app"] not in names:
				errs["app label differs"].append("%s want %s got %s" % (
					k, f["app"], sorted({"%s/%s" % (r.get("master_app"),
									r.get("app")) for r in rs})))
		if f["host"]:
			hosts = {(r.get("host") or "").rstrip(".").lower() for r in rs}
			if f["host"] not in hosts:
				errs["host differs"].append("%s want %s got %s" %
							    (k, f["host"], sorted(hosts)))
	for k, rs in by_key.items():
		if k in expected:
			continue
		if k[0] == 17 and (k[2] == 2123 or k[4] == 2123):
			continue  # the GTP-C signalling itself may be reported as a flow
		rev = (k[0], k[3], k[4], k[1], k[2])
		if rev in expected:
			continue  # already reported as swapped
		errs["unexpected flows"].append("%s %d records, pkts %d/%d imsi=%s" % (
			k, len(rs), sum(int(r.get("pkts_up", 0)) for r in rs),
			sum(int(r.get("pkts_down", 0)) for r in rs), rs[0].get("imsi")))
	return errs

def check_imsi_totals(exp, recs):
	got = collections.defaultdict(lambda: collections.Counter())
	for r in recs:
		if r.get("imsi"):
			for c in ("pkts_up", "pkts_down", "bytes_up", "bytes_down"):
				got[r["imsi"]][c] += int(r.get(c, 0))
	out = []
	for imsi, t in sorted(exp["imsi_totals"].items()):
		g = got.get(imsi, collections.Counter())
		d = ["%s %d->%d" % (c, t[c], g[c]) for c in ("pkts_up", "pkts_down", "bytes_up",
							       "bytes_down") if g[c] != t[c]]
		if d:
			out.append("%s: %s" % (imsi, ", ".join(d)))
	for imsi in sorted(set(got) - set(exp["imsi_totals"])):
		out.append("%s: not expected to have traffic, got %s" % (imsi, dict(got[imsi])))
	return out

def check_sessions(exp, lines):
	errs = collections.defaultdict(list)
	by_imsi = collections.defaultdict(list)
	for s in lines:
		if s.get("imsi"):
			by_imsi[str(s["imsi"])].append(s)
	upa = set(exp["meta"]["user_plane_addrs"])
	for sub in exp["subscribers"]:
		imsi = sub["imsi"]
		got = by_imsi.get(imsi, [])
		if sub["kind"] != "normal":
			act = [s for s in got if s.get("state") == "active"]
			if act:
				errs["%s create must not give a session" % sub["kind"]].append(
					"%s: %d active lines, e.g. %s" % (imsi, len(act),
									 json.dumps(act[-1])[:200]))
			continue
		if not got:
			errs["subscribers missing from --sessions-json"].append(
				"%s (v%d, %s)" % (imsi, sub["gtp_version"], sub["state"]))
			continue
		if sub["state"] == "deleted" and not any(s.get("state") == "deleted" for s in got):
			errs["no 'deleted' state change"].append(imsi)
		s = got[-1]
		d = []
		for f in ("msisdn", "imei", "apn"):
			if str(s.get(f) or "") != sub[f]:
				d.append("%s %r->%r" % (f, sub[f], s.get(f)))
		if norm_ip(s.get("ue_ipv4")) != sub["ue_ipv4"]:
			d.append("ue_ipv4 %s->%s" % (sub["ue_ipv4"], s.get("ue_ipv4")))
		if sub["ue_ipv6"]:
			want = ipaddress.ip_network(sub["ue_ipv6"] + "/64", strict=False)
			g6 = s.get("ue_ipv6")
			try:
				ok = g6 and ipaddress.ip_address(str(g6).split("/")[0]) in want
			except ValueError:
				ok = False
			if not ok:
				d.append("ue_ipv6 %s->%s" % (sub["ue_ipv6"], g6))
		elif s.get("ue_ipv6") not in (None, "", "::"):
			d.append("ue_ipv6 none->%s" % s.get("ue_ipv6"))
		if norm_rat(s.get("rat")) != sub["rat"]:
			d.append("rat %s->%s" % (sub["rat"], s.get("rat")))
		if norm_int(s.get("gtp_version")) != sub["gtp_version"]:
			d.append("gtp_version %s->%s" % (sub["gtp_version"], s.get("gtp_version")))
		if s.get("state") != sub["state"]:
			d.append("state %s->%s" % (sub["state"], s.get("state")))
		if sub["state"] == "active":
			try:
				tun = {(norm_int(t.get("teid")), norm_ip(t.get("addr")),
					norm_dir(t.get("dir"))) for t in (s.get("tunnels") or [])}
			except (AttributeError, ValueError, TypeError) as e:
				tun = set()
				d.append("tunnels unreadable (%s): %r" % (e, s.get("tunnels")))
			want = {(t["teid"], t["addr"], t["dir"]) for t in sub["tunnels"]}
			miss = want - tun
			stale = {t for t in tun - want if t[1] in upa}
			if miss:
				d.append("tunnels missing %s" % sorted(
					("%#x" % t[0], t[1], t[2]) for t in miss))
			if stale:
				d.append("stale/extra user-plane tunnels %s" % sorted(
					("%#x" % (t[0] or 0), t[1], t[2]) for t in stale))
		for ev in sub.get("events", []):
			near = [x for x in got if abs(int(x.get("last_change_ms") or 0) - ev["ms"]) <= 1]
			ok = False
			for x in near:
				try:
					tun = {(norm_int(t.get("teid")), norm_ip(t.get("addr")),
						norm_dir(t.get("dir"))) for t in (x.get("tunnels") or [])}
				except (AttributeError, ValueError, TypeError):
					tun = set()
				want = {(t["teid"], t["addr"], t["dir"]) for t in ev["tunnels"]}
				if want <= tun and (ev["kind"] != "delete" or x.get("state") == "deleted"):
					ok = True
			if not ok:
				errs["session change not reported (a line at its response time with "
				     "its tunnels)"].append("%s %s at %d: %s; lines at that time: %s" % (
					     imsi, ev["kind"], ev["ms"], ["%#x@%s/%s" % (t["teid"], t["addr"],
										t["dir"]) for t in ev["tunnels"]],
					     [json.dumps(x)[:160] for x in near] or "none"))
		if d:
			errs["subscriber facts differ (want->got, last line for the IMSI)"].append(
				"%s v%d: %s" % (imsi, sub["gtp_version"], "; ".join(d)))
	return errs

def compare(pcap, expf, flows, sess, loose_plain=False):
	"""Prints the differences between mcprobe's output files and the expectations.
	Returns the number of problems."""
	exp = json.load(open(expf))
	nfail = 0
	recs, bad = read_jsonl(flows, "flows")
	nfail += fail_list("unparsable flow JSON lines", bad)
	slines, bad = read_jsonl(sess, "sessions")
	nfail += fail_list("unparsable session JSON lines", bad)
	print("scenario: %d subscribers, %d frames, %d expected flows; mcprobe wrote %d flow "
	      "records, %d session lines" % (exp["meta"]["subscribers"], exp["meta"]["frames"],
					   len(exp["flows"]), len(recs), len(slines)))
	for title, items in sorted(check_flows(exp, recs, loose_plain).items()):
		nfail += fail_list(title, items)
	nfail += fail_list("per-IMSI totals differ (want->got)", check_imsi_totals(exp, recs))
	for title, items in sorted(check_sessions(exp, slines).items()):
		nfail += fail_list(title, items)
	if not nfail:
		print("all %d flows, %d IMSI totals and %d subscribers match" % (
			len(exp["flows"]), len(exp["imsi_totals"]), len(exp["subscribers"])))
	return nfail

def generate(pcap, expf, nsub, seed):
	subprocess.run(["/usr/bin/python3", os.path.join(HERE, "gen_scenario.py"), "--out", pcap,
			"--expect", expf, "--subscribers", str(nsub), "--seed", str(seed)],
		       check=True)

def main():
	if len(sys.argv) == 6 and sys.argv[1] == "--check":
		# it_scenario.py --check PCAP EXPECT FLOWS SESSIONS: compare existing files
		return 1 if compare(*sys.argv[2:6]) else 0
	build = os.environ.get("BUILD", "build")
	mcprobe = os.path.join(ROOT, build, "mcprobe") if not os.path.isabs(build) else \
		os.path.join(build, "mcprobe")
	if not os.access(mcprobe, os.X_OK):
		print("FAIL: %s not built (run make BUILD=%s)" % (mcprobe, build))
		return 1
	nsub = int(os.environ.get("SCN_SUBSCRIBERS",
				  "120" if os.environ.get("MCP_SAN") else "300"))
	seed = int(os.environ.get("SCN_SEED", "7"))
	keep = os.environ.get("SCN_KEEP")
	tmp = keep or tempfile.mkdtemp(prefix="mcp-scn-")
	os.makedirs(tmp, exist_ok=True)
	pcap, expf = os.path.join(tmp, "scn.pcap"), os.path.join(tmp, "scn.json")
	flows, sess = os.path.join(tmp, "flows.json"), os.path.join(tmp, "sessions.json")
	generate(pcap, expf, nsub, seed)
	nfail = 0
	# the generator is deterministic: same seed, same bytes
	generate(pcap + ".2", expf + ".2", 20, seed)
	generate(pcap + ".3", expf + ".3", 20, seed)
	if open(pcap + ".2", "rb").read() != open(pcap + ".3", "rb").read() or \
	   open(expf + ".2", "rb").read() != open(expf + ".3", "rb").read():
		print("FAIL: gen_scenario.py is not deterministic for seed %d" % seed)
		nfail += 1
	for f in (pcap + ".2", pcap + ".3", expf + ".2", expf + ".3"):
		os.unlink(f)
	# the capture must decode cleanly in Wireshark (hand-encoded GTP-C IE lengths)
	t = subprocess.run(["tshark", "-r", pcap, "-Y",
			    "_ws.malformed || _ws.expert.severity >= error || "
			    "(_ws.expert.severity >= warning && !(tcp.flags.reset == 1) && "
			    "!quic.short)",
			    "-T", "fields", "-e", "frame.number", "-e", "_ws.expert.message"],
			   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
	if t.returncode != 0 or t.stdout.strip():
		print("FAIL: tshark finds malformed frames or warnings in the scenario "
		      "(rc %d):\n%s" % (t.returncode, t.stdout.decode()[:2000]))
		nfail += 1
	cmd = [mcprobe, "-r", pcap, "--flows-json", flows, "--sessions-json", sess]
	p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
	if p.returncode != 0:
		print("FAIL: %s exited %d\nstderr: %s" % (" ".join(cmd), p.returncode,
							 p.stderr.decode(errors="replace")[-2000:]))
		return 1
	nfail += compare(pcap, expf, flows, sess)
	# Again with timeouts far below the flows' lengths: every flow is cut into several
	# records (idle and active expiry, continuation records), sums must still be exact.
	pc2, ex2 = os.path.join(tmp, "short.pcap"), os.path.join(tmp, "short.json")
	fl2, se2 = os.path.join(tmp, "short-flows.json"), os.path.join(tmp, "short-sessions.json")
	generate(pc2, ex2, max(20, nsub // 5), seed + 1)
	cmd = [mcprobe, "-r", pc2, "--flows-json", fl2, "--sessions-json", se2,
	       "--idle-timeout", "1", "--active-timeout", "2"]
	p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
	if p.returncode != 0:
		print("FAIL: %s exited %d\nstderr: %s" % (" ".join(cmd), p.returncode,
							 p.stderr.decode(errors="replace")[-2000:]))
		return 1
	print("with --idle-timeout 1 --active-timeout 2:")
	nrec = sum(1 for _ in open(fl2))
	nexp = len(json.load(open(ex2))["flows"])
	if nrec <= nexp:
		print("FAIL: short timeouts should split flows: %d records for %d flows" % (nrec, nexp))
		nfail += 1
	nfail += compare(pc2, ex2, fl2, se2, loose_plain=True)
	if not nfail:
		for f in (pc2, ex2, fl2, se2):
			os.unlink(f)
	if nfail:
		print("it_scenario: %d problems (files kept in %s)" % (nfail, tmp))
		return 1
	print("it_scenario: pass")
	if not keep:
		for f in (pcap, expf, flows, sess):
			os.unlink(f)
		os.rmdir(tmp)
	return 0

if __name__ == "__main__":
	sys.exit(main())
