#!/usr/bin/python3
"""it_capture_live.py - mcp-capture -i against the real XDP program on a veth pair in a network
namespace this test creates, with mcprobe -i running on it, and tshark as the oracle.

The synthetic scenario (tests/gen_scenario.py) is replayed into the veth with tcpreplay. Two
subscribers are captured by IMSI before they attach: a GTPv2 one with an X2 handover mid-flow
and a delete + re-attach with a new UE IP, and a GTPv1 one with a delete + re-attach. Checks:
  * the pcap equals, packet for packet (MD5 of the bytes, in order), the T-PDUs of those two
    subscribers' tunnels in the replayed capture, as tshark dissects it, with no other frame;
  * the capture entries are in the pinned capture map (a bpf(2) batch read of the whole map,
    bpftool map lookup of each entry, mcp-load status) while it runs, under the subscriber
    indexes the probe gave the two IMSIs, and gone after SIGINT;
  * exit 0 and "lost: 0" in the summary; --count N stops by itself after N frames and
    removes its entries while the probe keeps running;
  * an interface without a probe, and --redis refusing with -i: one line, exit 2, no file,
    no entry left. (Several captures at once: it_capture_multi.py.)
Needs root, iproute2, nsenter, tcpreplay, bpftool, tshark. Run with flock /tmp/mcp-net.lock.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import it_capture_offline as off  # noqa: E402
import bpf_array_read  # noqa: E402

ROOT = os.path.dirname(HERE)
BUILD = os.environ.get("BUILD", "build")
BDIR = BUILD if os.path.isabs(BUILD) else os.path.join(ROOT, BUILD)
CAP, PROBE = os.path.join(BDIR, "mcp-capture"), os.path.join(BDIR, "mcprobe")
ID = os.getpid()
NS, IF, PEER = "mcpcap%d" % ID, "mcc%da" % ID, "mcc%db" % ID
PINS = "/sys/fs/bpf/mcprobe/" + IF
INNS = ["nsenter", "--net=/run/netns/" + NS]
check = off.check

def sh(*cmd, **kw):
	return subprocess.run(list(cmd), check=True, capture_output=True, text=True, **kw)

def wait_for(path, text, proc, secs=30):
	end = time.time() + secs
	while time.time() < end:
		if os.path.exists(path) and text in open(path).read():
			return True
		if proc.poll() is not None:
			return False
		time.sleep(0.05)
	return False

def dump(name):
	"""(key, value) of a pinned map as bpftool prints them with BTF."""
	d = json.loads(sh("bpftool", "-j", "map", "dump", "pinned", PINS + "/" + name).stdout)
	return [(e["formatted"]["key"], e["formatted"]["value"]) if "formatted" in e else
		(e["key"], e["value"]) for e in d]

def capture_map():
	"""{index: slot bits} of the set entries of the pinned capture map (500000 entries: one
	bpf(2) batch read, not bpftool -j, which took 10-15 s per scan on CI)."""
	_, vals = bpf_array_read.read_array(PINS + "/capture")
	return {i: int.from_bytes(v[:4], "little") for i, v in enumerate(vals) if any(v)}

def capture_lookup(idx):
	"""The slot bits of one capture entry as bpftool reads it (a second reader)."""
	d = json.loads(sh("bpftool", "-j", "map", "lookup", "pinned", PINS + "/capture", "key",
			  *[str(b) for b in idx.to_bytes(4, "little")]).stdout)
	return d["formatted"]["value"]["slots"] if "formatted" in d else None

def sub_imsis():
	return {k: v["imsi"] for k, v in dump("subscribers") if isinstance(v, dict) and v["imsi"]}

def stop(p, secs=20):
	p.send_signal(signal.SIGINT)
	try:
		return p.wait(secs)
	except subprocess.TimeoutExpired:
		p.kill()
		return -1

def setup():
	sh("ip", "netns", "add", NS)
	sh("ip", "netns", "exec", NS, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
	   "net.ipv6.conf.default.disable_ipv6=1")
	sh("ip", "link", "add", IF, "type", "veth", "peer", "name", PEER)
	sh("ip", "link", "set", IF, "netns", NS)
	sh("ip", "link", "set", PEER, "netns", NS)
	sh("ip", "-n", NS, "link", "set", IF, "up")
	sh("ip", "-n", NS, "link", "set", PEER, "up")

def bad_input(tmp):
	w = os.path.join(tmp, "bad.pcap")
	for args, what in [
		(["-i", "nosuch%d" % ID], "interface without a probe"),
		(["-i", IF, "--redis", "127.0.0.1:1"], "--redis"),
	]:
		p = subprocess.run([CAP, "-m", "001010000000002", "-w", w] + args, capture_output=True,
				   text=True, timeout=20)
		lines = [l for l in p.stderr.splitlines() if l.strip()]
		check(p.returncode == 2 and len(lines) == 1 and not os.path.exists(w),
		      "live bad input, %s: exit 2, one line, no file (%r)" % (what, lines[:1]))

def main():
	if os.geteuid() != 0:
		print("FAIL: needs root (XDP, network namespaces)")
		return 1
	for t in ("ip", "nsenter", "tcpreplay", "bpftool", "tshark"):
		off.need(t)
	for b in (CAP, PROBE):
		if not os.access(b, os.X_OK):
			print("FAIL: %s not built" % b)
			return 1
	tmp = tempfile.mkdtemp(prefix="mcp-capture-live-")
	probe = None
	try:
		pcap, exp = os.path.join(tmp, "sc.pcap"), os.path.join(tmp, "sc.json")
		sh("/usr/bin/python3", os.path.join(HERE, "gen_scenario.py"), "--out", pcap, "--expect",
		   exp, "--subscribers", "12", "--seed", "3")
		expect = json.load(open(exp))
		imsi2, keys2 = off.pick_subscriber(expect)
		v1 = [s for s in expect["subscribers"] if s["gtp_version"] == 1 and
		      [e["kind"] for e in s.get("events", [])].count("create") == 2]
		if not check(imsi2 is not None and v1, "scenario has the two subscribers"):
			return 1
		imsi1 = v1[0]["imsi"]
		keys1 = {(t["teid"], t["addr"]) for e in v1[0]["events"] for t in e["tunnels"]}
		rows = off.tshark(pcap, ["frame.md5_hash", "gtp.teid", "ip.dst"], "gtp.message == 0xff")
		want = [r[0] for r in rows if (int(r[1], 16), r[2]) in keys1 | keys2]
		setup()
		perr = os.path.join(tmp, "probe.err")
		probe = subprocess.Popen(INNS + [PROBE, "-v", "-i", IF, "--delete-grace", "600"],
					 stdout=subprocess.DEVNULL, stderr=open(perr, "w"))
		if not check(wait_for(perr, "live capture running", probe), "probe started"):
			print(open(perr).read())
			return 1
		bad_input(tmp)

		out, cerr = os.path.join(tmp, "live.pcap"), os.path.join(tmp, "cap.err")
		cap = subprocess.Popen([CAP, "-v", "-i", IF, "-m", imsi2, "-m", imsi1, "-w", out],
				       stderr=open(cerr, "w"))
		check(wait_for(cerr, "capture running", cap), "capture started before the attaches")
		sh("ip", "netns", "exec", NS, "tcpreplay", "-q", "-i", PEER, "--multiplier", "16", pcap)
		time.sleep(0.5)
		entries, subs = capture_map(), sub_imsis()
		check(sorted(subs.get(k) for k in entries) == sorted([imsi1, imsi2]),
		      "capture entries %s are the two IMSIs' subscriber indexes (bpftool)" % entries)
		check(all(capture_lookup(k) == v for k, v in entries.items()),
		      "bpftool map lookup agrees with the batch read: %s" % entries)
		st = json.loads(subprocess.run(INNS + [os.path.join(BDIR, "mcp-load"), "status", IF,
						       "--json"], capture_output=True, text=True).stdout)
		check(sorted(c["imsi"] for c in st[0]["capture"]) == sorted([imsi1, imsi2]),
		      "mcp-load status lists the capture filters: %s" % st[0]["capture"])
		rc = stop(cap)
		log = open(cerr).read()
		check(rc == 0 and "lost: 0 " in log, "SIGINT: exit %d, summary %r" % (
			rc, log.strip().splitlines()[-1:]))
		check(capture_map() == {}, "no capture entry left after exit")
		txt = subprocess.run(INNS + [os.path.join(BDIR, "mcp-load"), "status", IF],
				     capture_output=True, text=True).stdout
		check("capture filters (mcp-capture):\n    none" in txt, "mcp-load status: none left")
		got = [f[0] for f in off.tshark(out, ["frame.md5_hash"])]
		check(len(want) > 50 and got == want, "live pcap equals the two subscribers' T-PDUs in "
		      "the replayed capture (%d got, %d expected, %d missing, %d extra)" % (
			      len(got), len(want), len(set(want) - set(got)), len(set(got) - set(want))))
		check(off.pcap_magic(out) == 0xa1b23c4d, "live pcap has the nanosecond magic")

		out2 = os.path.join(tmp, "count.pcap")
		cap = subprocess.Popen([CAP, "-v", "-i", IF, "-m", imsi2, "-m", imsi1, "-w", out2,
					"--count", "10"], stderr=open(cerr, "w"))
		# -v: "capture running" is only said verbosely (without it this waited out 30 s)
		check(wait_for(cerr, "capture running", cap), "--count capture started")
		sh("ip", "netns", "exec", NS, "tcpreplay", "-q", "-i", PEER, "--multiplier", "16", pcap)
		try:
			rc = cap.wait(20)
		except subprocess.TimeoutExpired:
			rc = stop(cap)
		got2 = [f[0] for f in off.tshark(out2, ["frame.md5_hash"])]
		check(rc == 0 and len(got2) == 10 and capture_map() == {} and probe.poll() is None,
		      "--count 10: exit %d by itself, %d frames, entries removed, probe still running"
		      % (rc, len(got2)))
		check(stop(probe) == 0, "probe stops cleanly")
		probe = None
	finally:
		if probe and probe.poll() is None:
			probe.kill()
		subprocess.run(["ip", "netns", "del", NS], capture_output=True)
		subprocess.run(["sh", "-c", "rm -f %s/* && rmdir %s" % (PINS, PINS)],
			       capture_output=True)
		subprocess.run(["rm", "-rf", tmp])
	print("%d failed" % len(off.failures))
	return 1 if off.failures else 0

if __name__ == "__main__":
	sys.exit(main())
