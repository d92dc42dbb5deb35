#!/usr/bin/python3
"""it_capture_multi.py - several mcp-capture -i runs at once on one interface, each in its own
capture slot, against the real XDP program on a veth pair in a network namespace this test
creates, with mcprobe -i running on it, and tshark as the oracle.

Three captures start before the synthetic scenario (tests/gen_scenario.py) is replayed:
  A: -m IMSI2 -m IMSI9 --control (GTPv2; IMSI2 has a handover and a delete + re-attach)
  B: -m IMSI2 -m IMSI6          (overlaps A on IMSI2; IMSI6 is GTPv1 with a re-attach)
  K: -m IMSI12                  (SIGKILLed after the replay)
Checks:
  * each capture has its own slot: mcp-load status --json and bpftool list three live slots
    with their IMSIs, and IMSI2's capture entry carries A's and B's bits;
  * K killed: within a few seconds a running capture reclaims its slot (its row, its ring,
    its bit in every entry), and status says so;
  * A's pcap: its T-PDUs equal, in order, those of IMSI2 and IMSI9 in the replay, and its
    GTP-C frames equal the two subscribers' GTP-C (tshark oracle), nothing of anyone else;
    B's pcap: the T-PDUs of IMSI2 and IMSI6, nothing else (no GTP-C without --control);
  * both exit 0 with "lost: 0", and no entry or slot is left.
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
import it_capture_live as live  # noqa: E402

check = off.check

def keys_of(expect, imsi):
	s = [s for s in expect["subscribers"] if s["imsi"] == imsi][0]
	return {(t["teid"], t["addr"]) for e in s.get("events", []) for t in e["tunnels"]}

def status():
	p = subprocess.run(live.INNS + [os.path.join(live.BDIR, "mcp-load"), "status", live.IF,
					"--json"], capture_output=True, text=True)
	return json.loads(p.stdout)[0]

def poll(cond, secs=8):
	end = time.time() + secs
	while time.time() < end:
		if cond():
			return True
		time.sleep(0.1)
	return cond()

def start(tmp, name, args):
	out, err = os.path.join(tmp, name + ".pcap"), os.path.join(tmp, name + ".err")
	p = subprocess.Popen([live.CAP, "-v", "-i", live.IF, "-w", out] + args,
			     stderr=open(err, "w"))
	return p, out, err

def main():
	if os.geteuid() != 0:
		print("FAIL: needs root (XDP, network namespaces)")
		return 1
	for t in ("ip", "nsenter", "tcpreplay", "bpftool", "tshark"):
		off.need(t)
	tmp = tempfile.mkdtemp(prefix="mcp-capture-multi-")
	procs = []
	try:
		pcap, exp = os.path.join(tmp, "sc.pcap"), os.path.join(tmp, "sc.json")
		live.sh("/usr/bin/python3", os.path.join(HERE, "gen_scenario.py"), "--out", pcap,
			"--expect", exp, "--subscribers", "12", "--seed", "3")
		expect = json.load(open(exp))
		i2, i6, i9, i12 = ("0010100000000%02d" % n for n in (2, 6, 9, 12))
		rows = off.tshark(pcap, ["frame.md5_hash", "gtp.teid", "ip.dst"], "gtp.message == 0xff")
		def tpdus(*imsis):
			keys = set().union(*(keys_of(expect, i) for i in imsis))
			return [r[0] for r in rows if (int(r[1], 16), r[2]) in keys]
		want_a, want_b = tpdus(i2, i9), tpdus(i2, i6)
		ctl_a = sorted(f[0] for f in off.control_oracle(pcap, i2) + off.control_oracle(pcap, i9))
		live.setup()
		perr = os.path.join(tmp, "probe.err")
		probe = subprocess.Popen(live.INNS + [live.PROBE, "-v", "-i", live.IF, "--delete-grace",
						      "600"], stdout=subprocess.DEVNULL,
					 stderr=open(perr, "w"))
		procs.append(probe)
		if not check(live.wait_for(perr, "live capture running", probe), "probe started"):
			print(open(perr).read())
			return 1
		a, out_a, err_a = start(tmp, "a", ["-m", i2, "-m", i9, "--control"])
		b, out_b, err_b = start(tmp, "b", ["-m", i2, "-m", i6])
		k, out_k, err_k = start(tmp, "k", ["-m", i12])
		procs += [a, b, k]
		check(all(live.wait_for(e, "capture running", p) for p, e in
			  ((a, err_a), (b, err_b), (k, err_k))), "three captures started")
		live.sh("ip", "netns", "exec", live.NS, "tcpreplay", "-q", "-i", live.PEER,
			"--multiplier", "16", pcap)
		st = status()
		slots = {s["pid"]: s for s in st["capture_slots"]}
		check(sorted(slots) == sorted([a.pid, b.pid, k.pid]) and
		      all(s["alive"] for s in slots.values()),
		      "mcp-load status: three live slots, one per capture (%s)" % st["capture_slots"])
		sa, sb, sk = (slots.get(p.pid, {}).get("slot") for p in (a, b, k))
		by_imsi = {c["imsi"]: sorted(c["slots"]) for c in st["capture"]}
		check(by_imsi.get(i2) == sorted([sa, sb]) and by_imsi.get(i9) == [sa] and
		      by_imsi.get(i6) == [sb] and by_imsi.get(i12) == [sk],
		      "capture entries carry each capture's slot bit, IMSI2 both A's and B's: %s" %
		      by_imsi)
		subs = live.sub_imsis()
		bits = {subs.get(i): v for i, v in live.capture_map().items()}
		check(bits.get(i2) == (1 << sa) | (1 << sb), "bpftool: IMSI2's entry is slots %d+%d (%s)"
		      % (sa, sb, bits))
		rows_slots = live.dump("capture_slots")[0][1]
		check(rows_slots["used"] == (1 << sa) | (1 << sb) | (1 << sk) and
		      i12 in rows_slots["slot"][sk]["desc"],
		      "bpftool: capture_slots rows name the captures' IMSIs")

		k.send_signal(signal.SIGKILL)
		k.wait()
		gone = poll(lambda: sk not in [s["slot"] for s in status()["capture_slots"]] and
			    all(not (v & (1 << sk)) for v in live.capture_map().values()))
		check(gone, "SIGKILLed capture: slot %d reclaimed by a running capture, its bit cleared"
		      % sk)
		check("reclaimed 1 capture slot" in open(err_a).read() + open(err_b).read(),
		      "a running capture says it reclaimed the dead one's slot")

		rc_a, rc_b = live.stop(a), live.stop(b)
		log_a, log_b = open(err_a).read(), open(err_b).read()
		check(rc_a == 0 and "lost: 0 " in log_a, "A: exit %d, %r" % (
			rc_a, log_a.strip().splitlines()[-1:]))
		check(rc_b == 0 and "lost: 0 " in log_b, "B: exit %d, %r" % (
			rc_b, log_b.strip().splitlines()[-1:]))
		got_a = [f[0] for f in off.tshark(out_a, ["frame.md5_hash"], "gtp.message == 0xff")]
		got_b = [f[0] for f in off.tshark(out_b, ["frame.md5_hash"])]
		gtpc_a = sorted(f[0] for f in off.tshark(out_a, ["frame.md5_hash"], "gtpv2 || gtp.message != 0xff"))
		check(len(want_a) > 50 and got_a == want_a, "A's T-PDUs equal IMSI2's and IMSI9's in "
		      "the replay (%d got, %d expected)" % (len(got_a), len(want_a)))
		check(len(ctl_a) >= 12 and gtpc_a == ctl_a, "A --control: its GTP-C equals the two "
		      "subscribers' GTP-C (%d got, %d expected, %d foreign)" % (
			      len(gtpc_a), len(ctl_a), len(set(gtpc_a) - set(ctl_a))))
		check(len(want_b) > 50 and got_b == want_b, "B: exactly the T-PDUs of IMSI2 and IMSI6 "
		      "(%d got, %d expected)" % (len(got_b), len(want_b)))
		st = status()
		check(st["capture_slots"] == [] and st["capture"] == [],
		      "no slot or entry left after both exit")
		check(live.stop(probe) == 0, "probe stops cleanly")
	finally:
		for p in procs:
			if p.poll() is None:
				p.kill()
				p.wait()
		subprocess.run(["ip", "netns", "del", live.NS], capture_output=True)
		subprocess.run(["sh", "-c", "rm -f %s/* && rmdir %s" % (live.PINS, live.PINS)],
			       capture_output=True)
		subprocess.run(["rm", "-rf", tmp])
	print("%d failed" % len(off.failures))
	return 1 if off.failures else 0

if __name__ == "__main__":
	sys.exit(main())
