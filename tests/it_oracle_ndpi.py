#!/usr/bin/python3
"""it_oracle_ndpi.py - mcprobe's application labels against ndpiReader's, flow by flow.

Two oracles:
 1. ndpiReader from nDPI 4.2 (Debian libndpi-bin, the same library mcprobe links), run here:
      ndpiReader -t -q -v 2 -i FILE      (-t: dissect GTP tunnels)
    on every capture in /work/shared/pcaps and on a generated scenario capture
    (tests/gen_scenario.py, 60 subscribers). ndpiReader labels tunnelled flows "GTP:<app>";
    the inner label is compared. Flows are matched on (proto, unordered endpoints); ports
    only for TCP/UDP. ndpiReader's own GTP-C/GTP' flows (label GTP.*) are left out: mcprobe
    feeds signalling to the session table, not to the flow table. Labels are compared as
    nDPI prints them, "Master.App" (e.g. TLS.YouTube) or "App": mcprobe's record gives
    master_app + app. REQUIRED: labels agree on >= 99% of the flows both report.
 2. The *.ndpi.out files beside the ndpi-* captures: ntop's expected ndpiReader output at
    nDPI 4.11 (newer than ours). Differences are listed; a flow is REQUIRED to match only
    where 4.2 (oracle 1) and 4.11 give the same label, since then the label does not
    depend on the version.
Flows that only one side reports are listed (ndpiReader 4.2 hashes some IPv6 flows
together, so it can show fewer), and do not count in the agreement.
Env: BUILD, MCP_PCAPS. Exit 0 = pass.
"""

import collections
import glob
import ipaddress
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PCAPS = os.environ.get("MCP_PCAPS", "/work/shared/pcaps")
PROTO = {"TCP": 6, "UDP": 17, "ICMP": 1, "ICMPV6": 58, "ICMP6": 58, "SCTP": 132, "ESP": 50,
	 "GRE": 47, "IGMP": 2}
LINE = re.compile(r"^\s*\d+\s+(\S+)\s+(\S+)\s+<?->\s+(\S+)\s+(?:\[VLAN: [^\]]*\])?"
		  r"\[proto: (?:GTP:)?[\d.]+/([^\]]+)\]")
THRESHOLD = 0.99

def split_ep(ep):
	if ep.startswith("["):
		a, _, p = ep[1:].partition("]:")
		return a, int(p or 0)
	if ep.count(":") == 1:
		a, p = ep.split(":")
		return a, int(p)
	return ep, 0

def key(proto, a, ap, b, bp):
	a, b = str(ipaddress.ip_address(a)), str(ipaddress.ip_address(b))
	if proto not in (6, 17):
		ap = bp = 0
	ea, eb = (a, ap), (b, bp)
	return (proto,) + (ea + eb if ea <= eb else eb + ea)

def parse_ndpi(text):
	"""{key: label} from ndpiReader's verbose flow lines."""
	out = {}
	for line in text.splitlines():
		m = LINE.match(line)
		if not m:
			continue
		pname, a, b, label = m.groups()
		proto = PROTO.get(pname.upper())
		if proto is None:
			try:
				proto = int(pname)
			except ValueError:
				continue
		(aa, ap), (ba, bp) = split_ep(a), split_ep(b)
		if label.startswith("GTP"):
			continue
		out[key(proto, aa, ap, ba, bp)] = label
	return out

def run_ndpi(path):
	p = subprocess.run(["ndpiReader", "-t", "-q", "-v", "2", "-i", path],
			   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
	return parse_ndpi(p.stdout.decode(errors="replace"))

def mc_label(r):
	app = r.get("app") or "Unknown"
	master = r.get("master_app") or ""
	if "." in app:
		return app
	if master and master not in ("Unknown", app):
		return "%s.%s" % (master, app)
	return app

def run_mcprobe(mcprobe, path):
	p = subprocess.run([mcprobe, "-r", path, "--flows-json", "-"], stdout=subprocess.PIPE,
			   stderr=subprocess.PIPE, timeout=300)
	if p.returncode != 0:
		raise RuntimeError("mcprobe exit %d: %s" % (p.returncode, p.stderr.decode()[-400:]))
	out = collections.defaultdict(set)
	for line in p.stdout.decode().splitlines():
		if line.strip():
			r = json.loads(line)
			k = key(int(r["proto"]), r["src_ip"], int(r.get("src_port") or 0), r["dst_ip"],
				int(r.get("dst_port") or 0))
			out[k].add(mc_label(r))
	return out

def fmt(k):
	return "%d %s:%d <-> %s:%d" % k

def main():
	build = os.environ.get("BUILD", "build")
	mcprobe = os.path.join(ROOT, build, "mcprobe")
	if not os.access(mcprobe, os.X_OK):
		print("FAIL: %s not built" % mcprobe)
		return 1
	try:
		subprocess.run(["ndpiReader", "-h"], stdout=subprocess.DEVNULL,
			       stderr=subprocess.DEVNULL)
	except OSError:
		print("FAIL: ndpiReader missing (apt-get install libndpi-bin)")
		return 1
	tmp = tempfile.mkdtemp(prefix="mcp-ndpi-")
	scn = os.path.join(tmp, "scenario.pcap")
	subprocess.run(["/usr/bin/python3", os.path.join(HERE, "gen_scenario.py"), "--out", scn,
			"--expect", os.path.join(tmp, "scenario.json"), "--subscribers", "60",
			"--seed", "11"], check=True)
	files = sorted(f for f in glob.glob(os.path.join(PCAPS, "*.pcap*"))
		       if not f.endswith(".ndpi.out")) + [scn]
	total = agree = 0
	problems = 0
	for f in files:
		name = os.path.basename(f)
		try:
			got = run_mcprobe(mcprobe, f)
		except (RuntimeError, ValueError, KeyError) as e:
			print("FAIL %s: %s" % (name, e))
			problems += 1
			continue
		want = run_ndpi(f)
		diffs, only_n, only_m = [], [], []
		for k, lab in want.items():
			if k not in got:
				only_n.append("%s %s" % (fmt(k), lab))
				continue
			total += 1
			if lab in got[k]:
				agree += 1
			else:
				diffs.append("%s ndpiReader %s, mcprobe %s" % (fmt(k), lab,
									    sorted(got[k])))
		for k in got:
			if k not in want:
				only_m.append("%s %s" % (fmt(k), sorted(got[k])))
		print("%s %s: %d flows compared, %d label differences, %d only in ndpiReader, "
		      "%d only in mcprobe" % ("DIFF" if diffs else "ok  ", name,
					      len(want) - len(only_n), len(diffs), len(only_n),
					      len(only_m)))
		for d in diffs[:20]:
			print("    label: " + d)
		for d in only_n[:5]:
			print("    only ndpiReader: " + d)
		for d in only_m[:5]:
			print("    only mcprobe: " + d)
		# oracle 2: nDPI 4.11's expected output
		ref = f + ".ndpi.out"
		if os.path.exists(ref):
			new = parse_ndpi(open(ref, errors="replace").read())
			for k, lab in sorted(new.items()):
				if k not in got:
					print("    4.11: %s %s not reported by mcprobe" % (fmt(k), lab))
					continue
				if lab in got[k]:
					continue
				old = want.get(k)
				if old == lab:
					problems += 1
					print("  FAIL 4.11 and 4.2 agree on %s for %s, mcprobe says %s" % (
						lab, fmt(k), sorted(got[k])))
				else:
					print("    4.11 differs (version): %s 4.11 %s, 4.2 %s, mcprobe %s" %
					      (fmt(k), lab, old, sorted(got[k])))
	for f in os.listdir(tmp):
		os.unlink(os.path.join(tmp, f))
	os.rmdir(tmp)
	if total == 0:
		print("FAIL: no flow compared")
		return 1
	ratio = agree / total
	print("it_oracle_ndpi: labels agree on %d of %d flows (%.2f%%, need %.0f%%)" % (
		agree, total, 100 * ratio, 100 * THRESHOLD))
	if ratio < THRESHOLD:
		problems += 1
		print("FAIL: agreement below %.0f%%" % (100 * THRESHOLD))
	return 1 if problems else 0

if __name__ == "__main__":
	sys.exit(main())
