#!/usr/bin/python3
"""it_export_ipfix.py - IPFIX / NetFlow v9 export checked by real collectors and decoders.

On tests/gen_scenario.py's multi-subscriber capture, one mcprobe run exports to
  * nfcapd (nfdump) over NetFlow v9 and over IPFIX (biflows), then a second run to nfcapd with
    --ipfix-uniflow: nfdump's packets and bytes (in + out) per inner 5-tuple must equal the
    generator's expectation for every expected flow, and the totals must equal mcprobe's own
    --flows-json totals (every packet and byte, also the GTP-C signalling flows);
  * a UDP listener that stores the datagrams in a pcap for tshark's CFLOW dissector (IPFIX and
    v9): no expert error or warning, the four templates, one record per flow, and
    cflow.mib_mobile_imsi showing exactly the scenario's IMSIs (v9 too);
  * tests/ipfix_lib.py's own decoder: every record's IMSI and counters match the generator.
Then a TCP collector is killed (SIGKILL) while mcprobe streams a capture from stdin and
restarted later: both instances must have received records, and the records received plus
those mcprobe counts as dropped (backlog full) or lost must equal the records exported.
Env: BUILD (default build). Needs nfdump, tshark, python3-scapy. Exit 0 = pass.
"""

import collections
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import ipfix_lib  # noqa: E402

BUILD = os.environ.get("BUILD", "build")
MCPROBE = os.path.join(BUILD, "mcprobe")
NSUB = int(os.environ.get("SCN_SUBSCRIBERS", "40"))
errors = []


def check(cond, msg):
	if not cond:
		errors.append(msg)
		print("FAIL: " + msg)


def free_port(kind=socket.SOCK_DGRAM):
	s = socket.socket(socket.AF_INET, kind)
	s.bind(("127.0.0.1", 0))
	p = s.getsockname()[1]
	s.close()
	return p


def wait_udp_bound(port, timeout=15):
	end = time.time() + timeout
	while time.time() < end:
		out = subprocess.run(["ss", "-Hlun", "sport = :%d" % port], capture_output=True,
				     text=True).stdout
		if out.strip():
			return
		time.sleep(0.1)
	raise SystemExit("FAIL: nfcapd did not bind 127.0.0.1:%d" % port)


def start_ready(args):
	p = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
	if p.stdout.readline().strip() != "ready":
		raise SystemExit("FAIL: %s did not start" % args)
	return p


def nfcapd(tmp, name):
	port, d = free_port(), os.path.join(tmp, name)
	os.mkdir(d)
	p = subprocess.Popen(["nfcapd", "-b", "127.0.0.1", "-p", str(port), "-w", d, "-t", "3600"],
			     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
	wait_udp_bound(port)
	return p, port, d


def stop(p):
	p.send_signal(signal.SIGTERM)
	try:
		p.wait(timeout=15)
	except subprocess.TimeoutExpired:
		p.kill()
		p.wait()


def ip(s):
	return ipaddress.ip_address(s).compressed


def nfdump_flows(d):
	"""(src, sport, dst, dport) -> [pkts, bytes] summed over records, in + out."""
	out = subprocess.run(["nfdump", "-R", d, "-q", "-N", "-6", "-o",
			      "fmt:%sa|%sp|%da|%dp|%ipkt|%opkt|%ibyt|%obyt"],
			     capture_output=True, text=True, check=True).stdout
	flows = collections.defaultdict(lambda: [0, 0])
	for line in out.splitlines():
		f = [x.strip() for x in line.split("|")]
		if len(f) != 8:
			continue
		k = (ip(f[0]), int(f[1]), ip(f[2]), int(f[3]))
		flows[k][0] += int(f[4]) + int(f[5])
		flows[k][1] += int(f[6]) + int(f[7])
	return flows


def canon(k):
	"""A uniflow down record names the responder first: key both directions alike."""
	a, b = (k[0], k[1]), (k[2], k[3])
	return a + b if a <= b else b + a


def compare_nfdump(name, d, exp, json_tot):
	got = collections.defaultdict(lambda: [0, 0])
	for k, v in nfdump_flows(d).items():
		got[canon(k)][0] += v[0]
		got[canon(k)][1] += v[1]
	bad = 0
	for f in exp["flows"]:
		k = canon((ip(f["src_ip"]), f["src_port"], ip(f["dst_ip"]), f["dst_port"]))
		want = [f["pkts_up"] + f["pkts_down"], f["bytes_up"] + f["bytes_down"]]
		if got.get(k) != want:
			bad += 1
			if bad <= 5:
				print("  %s: %s nfdump %s, expected %s" % (name, k, got.get(k), want))
	check(bad == 0, "%s: %d of %d expected flows differ in nfdump" % (name, bad,
									  len(exp["flows"])))
	tot = [sum(v[0] for v in got.values()), sum(v[1] for v in got.values())]
	check(tot == json_tot, "%s: nfdump total %s, mcprobe JSON %s" % (name, tot, json_tot))
	print("%s: nfdump %d flows, %d packets, %d bytes" % (name, len(got), tot[0], tot[1]))


def json_totals(path):
	t = [0, 0]
	n = 0
	for line in open(path):
		r = json.loads(line)
		t[0] += r["pkts_up"] + r["pkts_down"]
		t[1] += r["bytes_up"] + r["bytes_down"]
		n += 1
	return t, n


def pcap_payloads(path):
	b = open(path, "rb").read()
	pos, out = 24, []
	while pos + 16 <= len(b):
		cl = struct.unpack_from("<IIII", b, pos)[2]
		out.append(b[pos + 16 + 28:pos + 16 + cl])
		pos += 16 + cl
	return out


def tshark_checks(name, pcap, port, nrec, imsis):
	base = ["tshark", "-n", "-r", pcap, "-d", "udp.port==%d,cflow" % port]
	ex = subprocess.run(base + ["-q", "-z", "expert,warn"], capture_output=True, text=True)
	bad = [ln for ln in ex.stdout.splitlines()
	       if any(w in ln for w in ("Error", "Warning", "Malformed"))]
	check(ex.returncode == 0 and not bad, "%s: tshark expert: %s" % (name, bad[:5]))
	out = subprocess.run(base + ["-T", "fields", "-e", "cflow.template_id", "-e",
				     "cflow.mib_mobile_imsi", "-e", "cflow.srcport"],
			     capture_output=True, text=True).stdout
	tids, seen, npk = set(), set(), 0
	for line in out.splitlines():
		f = line.split("\t")
		tids.update(x for x in f[0].split(",") if x)
		seen.update(x for x in f[1].split(",") if x)
		npk += len([x for x in f[2].split(",") if x])
	check(tids == {"256", "257", "258", "259"}, "%s: tshark templates %s" % (name, tids))
	check(npk == nrec, "%s: tshark decoded %d records, expected %d" % (name, npk, nrec))
	check(seen == imsis, "%s: tshark IMSIs: %d seen, %d expected, missing %s" % (
		name, len(seen), len(imsis), sorted(imsis - seen)[:3]))
	print("%s: tshark decoded %d records, %d IMSIs, no expert error" % (name, npk, len(seen)))


def own_decoder_checks(name, pcap, exp):
	dec, recs = ipfix_lib.Decoder(), []
	for m in pcap_payloads(pcap):
		recs += dec.message(m)
	want = {}
	for f in exp["flows"]:
		want[(ip(f["src_ip"]), f["src_port"], ip(f["dst_ip"]), f["dst_port"])] = f
	got = collections.defaultdict(lambda: [0, 0, 0, 0, set()])
	for r in recs:
		if (0, 8) in r:
			src, dst = socket.inet_ntoa(r[(0, 8)]), socket.inet_ntoa(r[(0, 12)])
		else:
			src = ip(socket.inet_ntop(socket.AF_INET6, r[(0, 27)]))
			dst = ip(socket.inet_ntop(socket.AF_INET6, r[(0, 28)]))
		k = (src, ipfix_lib.uint(r[(0, 7)]), dst, ipfix_lib.uint(r[(0, 11)]))
		g = got[k]
		g[0] += ipfix_lib.uint(r[(0, 2)])
		g[1] += ipfix_lib.uint(r[(0, 1)])
		g[2] += ipfix_lib.uint(r.get((29305, 2), r.get((0, 24), b"")))
		g[3] += ipfix_lib.uint(r.get((29305, 1), r.get((0, 23), b"")))
		g[4].add(r[(0, 455)].rstrip(b"\0").decode())
	bad = 0
	for k, f in want.items():
		g = got.get(k)
		w = [f["pkts_up"], f["bytes_up"], f["pkts_down"], f["bytes_down"], {f["imsi"] or ""}]
		if g != w:
			bad += 1
			if bad <= 5:
				print("  %s: %s decoded %s, expected %s" % (name, k, g, w))
	check(bad == 0, "%s: %d flows differ (own decoder)" % (name, bad))
	return len(recs)


def run(args, **kw):
	p = subprocess.run([MCPROBE] + args, capture_output=True, text=True, **kw)
	if p.returncode:
		raise SystemExit("FAIL: mcprobe %s: rc %d\n%s" % (args, p.returncode, p.stderr))
	return p


def udp_part(tmp, pcap, exp):
	nf9, p9, d9 = nfcapd(tmp, "nf9")
	nf10, p10, d10 = nfcapd(tmp, "nf10")
	tp10, tp9 = free_port(), free_port()
	tsh10 = start_ready(["/usr/bin/python3", os.path.join(HERE, "ipfix_lib.py"), "udp-pcap",
			     str(tp10), os.path.join(tmp, "ipfix.pcap")])
	tsh9 = start_ready(["/usr/bin/python3", os.path.join(HERE, "ipfix_lib.py"), "udp-pcap",
			    str(tp9), os.path.join(tmp, "v9.pcap")])
	flows = os.path.join(tmp, "flows.json")
	run(["-r", pcap, "--flows-json", flows, "--netflow9", "127.0.0.1:%d" % p9,
	     "--ipfix", "127.0.0.1:%d/udp" % p10, "--ipfix", "127.0.0.1:%d" % tp10,
	     "--netflow9", "127.0.0.1:%d" % tp9])
	time.sleep(1)
	for p in (nf9, nf10, tsh10, tsh9):
		stop(p)
	jt, nflows = json_totals(flows)
	compare_nfdump("netflow9", d9, exp, jt)
	compare_nfdump("ipfix", d10, exp, jt)
	imsis = {f["imsi"] for f in exp["flows"] if f["imsi"]}
	for name, pc, port in (("ipfix", "ipfix.pcap", tp10), ("netflow9", "v9.pcap", tp9)):
		n = own_decoder_checks(name, os.path.join(tmp, pc), exp)
		check(n == nflows, "%s: %d records decoded, %d flows exported" % (name, n, nflows))
		tshark_checks(name, os.path.join(tmp, pc), port, nflows, imsis)
	nfu, pu, du = nfcapd(tmp, "nfu")
	run(["-r", pcap, "--ipfix", "127.0.0.1:%d" % pu, "--ipfix-uniflow"])
	time.sleep(1)
	stop(nfu)
	compare_nfdump("ipfix-uniflow", du, exp, jt)


def tcp_part(tmp, pcap):
	port = free_port(socket.SOCK_STREAM)
	out = os.path.join(tmp, "tcp.jsonl")
	coll = [os.path.join(HERE, "ipfix_lib.py"), "tcp", str(port), out]
	a = start_ready(["/usr/bin/python3"] + coll)
	frames = []
	b = open(pcap, "rb").read()
	hdr, pos = b[:24], 24
	while pos + 16 <= len(b):
		cl = struct.unpack_from("<IIII", b, pos)[2]
		frames.append(b[pos:pos + 16 + cl])
		pos += 16 + cl
	half = len(frames) // 2
	m = subprocess.Popen([MCPROBE, "-r", "-", "--ipfix", "127.0.0.1:%d/tcp" % port,
			      "--idle-timeout", "1", "--active-timeout", "2", "--ipfix-backlog", "2",
			      "--stats"], stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=False)
	m.stdin.write(hdr + b"".join(frames[:half]))
	m.stdin.flush()
	n_a = wait_stable(out)
	a.kill()
	a.wait()
	time.sleep(0.5)
	m.stdin.write(b"".join(frames[half:]))
	m.stdin.flush()
	time.sleep(2)
	b_proc = start_ready(["/usr/bin/python3"] + coll)
	time.sleep(3)
	m.stdin.close()
	err = m.stderr.read().decode()
	rc = m.wait(timeout=60)
	time.sleep(0.5)
	b_proc.kill()
	b_proc.wait()
	check(rc == 0, "tcp: mcprobe rc %d" % rc)
	got = sum(1 for _ in open(out))
	line = [ln for ln in err.splitlines() if "records sent" in ln]
	exported = [ln for ln in err.splitlines() if "ipfix flows exported" in ln]
	if not line or not exported:
		raise SystemExit("FAIL: no ipfix stats in\n" + err)
	nexp = int(exported[0].split()[-1])
	lost = sum(int(re.search(r"%s (\d+)" % re.escape(w), line[0]).group(1))
		   for w in ("dropped (backlog full)", "lost"))
	print("tcp: %d records exported; collector A got %d, B %d; mcprobe counted %d dropped/lost"
	      " (%s)" % (nexp, n_a, got - n_a, lost, line[0].strip()))
	check(n_a > 0 and got - n_a > 0, "tcp: both collector instances must receive records")
	check(got + lost == nexp, "tcp: received %d + counted %d != exported %d" % (got, lost,
										      nexp))
	check("connects 2" in line[0], "tcp: expected 2 connections: " + line[0])


def wait_stable(path, quiet=1.5, timeout=30):
	"""Lines in path once it has stopped growing for `quiet` seconds."""
	end, last, since = time.time() + timeout, -1, time.time()
	while time.time() < end:
		n = sum(1 for _ in open(path)) if os.path.exists(path) else 0
		if n != last:
			last, since = n, time.time()
		elif n > 0 and time.time() - since >= quiet:
			return n
		time.sleep(0.2)
	raise SystemExit("FAIL: the TCP collector received nothing before the kill")


def main():
	for tool in ("nfcapd", "nfdump", "tshark", "ss"):
		if not shutil.which(tool):
			raise SystemExit("FAIL: %s is missing (apt-get install nfdump tshark iproute2)" %
					 tool)
	tmp = tempfile.mkdtemp(prefix="mcp-ipfix-")
	try:
		pcap, expf = os.path.join(tmp, "scn.pcap"), os.path.join(tmp, "scn.json")
		subprocess.run(["/usr/bin/python3", os.path.join(HERE, "gen_scenario.py"), "--out",
				pcap, "--expect", expf, "--subscribers", str(NSUB), "--seed", "17"],
			       check=True)
		exp = json.load(open(expf))
		if not os.environ.get('TCP_ONLY'):
			udp_part(tmp, pcap, exp)
		tcp_part(tmp, pcap)
	finally:
		if not os.environ.get("KEEP"):
			shutil.rmtree(tmp, ignore_errors=True)
	if errors:
		print("%d failures" % len(errors))
		return 1
	print("PASS")
	return 0


if __name__ == "__main__":
	sys.exit(main())
