#!/usr/bin/python3
"""it_capture_remote.py - mcp-capture --redis: the capture follows subscribers through the
microcloud, from events published by another probe.

In a network namespace this test creates: a real redis-server on a loopback port, mcprobe -i
on one end of a veth pair writing the microcloud (the "other probe"), and mcp-capture --redis
on the other end, where tcpreplay sends the synthetic scenario (the capture sees the frames
leave, through AF_PACKET). mcp-capture has no access to the probe's maps: only Redis. Checks:
  * the pcap's GTP-U equals, packet for packet, the GTP-U frames of the two subscribers'
    tunnels (handover mid-flow, delete + re-attach with a new UE IP) in the replayed capture,
    per tshark, nothing else; with --control its GTPv2-C equals the v2 subscriber's GTP-C
    (tshark oracle); exit 0 with no loss;
  * Redis refusing at start: one line, exit 2, no file;
  * Redis killed mid-capture and restarted: it says it keeps capturing the known tunnels,
    resubscribes, captures frames after the restart, writes nothing foreign, exits 3 (an
    outage may have lost frames).
Needs root, iproute2, nsenter, tcpreplay, redis-server, tshark. Run with flock /tmp/mcp-net.lock.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import it_capture_offline as off  # noqa: E402
import it_capture_live as live  # noqa: E402

check = off.check
INNS = live.INNS

def free_port():
	s = socket.socket()
	s.bind(("127.0.0.1", 0))
	port = s.getsockname()[1]
	s.close()
	return port

def redis(tmp, port):
	p = subprocess.Popen(INNS + ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
				     "--save", "", "--appendonly", "no", "--dir", tmp],
			     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
	for _ in range(100):
		if subprocess.run(INNS + ["redis-cli", "-p", str(port), "ping"],
				  capture_output=True, text=True).stdout.strip() == "PONG":
			return p
		time.sleep(0.05)
	raise RuntimeError("redis-server did not start")

def replay(pcap, mult="8"):
	live.sh("ip", "netns", "exec", live.NS, "tcpreplay", "-q", "-i", live.PEER, "--multiplier",
		mult, pcap)

def main():
	if os.geteuid() != 0:
		print("FAIL: needs root (network namespaces)")
		return 1
	for t in ("ip", "nsenter", "tcpreplay", "redis-server", "redis-cli", "tshark"):
		off.need(t)
	tmp = tempfile.mkdtemp(prefix="mcp-capture-remote-")
	procs = []
	try:
		pcap, exp = os.path.join(tmp, "sc.pcap"), os.path.join(tmp, "sc.json")
		live.sh("/usr/bin/python3", os.path.join(HERE, "gen_scenario.py"), "--out", pcap,
			"--expect", exp, "--subscribers", "12", "--seed", "3")
		expect = json.load(open(exp))
		imsi2, keys2 = off.pick_subscriber(expect)
		v1 = [s for s in expect["subscribers"] if s["gtp_version"] == 1 and
		      [e["kind"] for e in s.get("events", [])].count("create") == 2]
		imsi1 = v1[0]["imsi"]
		keys1 = {(t["teid"], t["addr"]) for e in v1[0]["events"] for t in e["tunnels"]}
		want = [f[0] for f in off.user_oracle(pcap, keys1 | keys2)]
		live.setup()
		live.sh("ip", "-n", live.NS, "link", "set", "lo", "up")
		port = free_port()
		rds = redis(tmp, port)
		procs.append(rds)
		ep = "127.0.0.1:%d" % port

		# Redis refusing: a port nobody listens on
		bad = os.path.join(tmp, "bad.pcap")
		p = subprocess.run(INNS + [live.CAP, "-m", imsi2, "-i", live.PEER, "--redis",
					   "127.0.0.1:%d" % free_port(), "-w", bad],
				   capture_output=True, text=True, timeout=30)
		lines = [l for l in p.stderr.splitlines() if l.strip()]
		check(p.returncode == 2 and len(lines) == 1 and not os.path.exists(bad),
		      "Redis refusing: exit 2, one line, no file (%r)" % lines[:1])

		perr = os.path.join(tmp, "probe.err")
		probe = subprocess.Popen(INNS + [live.PROBE, "-v", "-i", live.IF, "--delete-grace",
						 "600", "--redis", ep], stdout=subprocess.DEVNULL,
					 stderr=open(perr, "w"))
		procs.append(probe)
		if not check(live.wait_for(perr, "live capture running", probe), "probe started"):
			print(open(perr).read())
			return 1
		out, cerr = os.path.join(tmp, "remote.pcap"), os.path.join(tmp, "cap.err")
		cap = subprocess.Popen(INNS + [live.CAP, "-v", "-m", imsi2, "-m", imsi1, "-i", live.PEER,
					       "--redis", ep, "-w", out, "--control"],
				       stderr=open(cerr, "w"))
		check(live.wait_for(cerr, "capture running", cap), "remote capture started")
		replay(pcap, "16")
		time.sleep(0.3)
		rc = live.stop(cap)
		log = open(cerr).read()
		check(rc == 0 and "lost: 0 " in log, "exit %d, %r" % (rc, log.strip().splitlines()[-1:]))
		got = [f[0] for f in off.tshark(out, ["frame.md5_hash"], "udp.port == 2152")]
		ctl2 = sorted(f[0] for f in off.control_oracle(pcap, imsi2))
		got2 = sorted(f[0] for f in off.tshark(out, ["frame.md5_hash"], "gtpv2"))
		v1c = {f[0] for f in off.tshark(pcap, ["frame.md5_hash"], "gtp && udp.port == 2123")}
		gotv1 = [f[0] for f in off.tshark(out, ["frame.md5_hash"], "gtp && udp.port == 2123")]
		check(len(ctl2) >= 12 and got2 == ctl2, "--control: the GTPv2-C frames equal IMSI2's "
		      "GTP-C in the replay (%d got, %d expected)" % (len(got2), len(ctl2)))
		check(len(gotv1) >= 4 and set(gotv1) <= v1c, "--control: %d GTPv1-C frames of the v1 "
		      "subscriber's two attaches" % len(gotv1))
		check(len(want) > 50 and got == want, "remote pcap equals the two subscribers' GTP-U "
		      "frames of the replay (%d got, %d expected, %d missing, %d extra)" % (
			      len(got), len(want), len(set(want) - set(got)), len(set(got) - set(want))))

		# Redis dies in the middle and comes back
		out2 = os.path.join(tmp, "outage.pcap")
		cap = subprocess.Popen(INNS + [live.CAP, "-v", "-m", imsi2, "-m", imsi1, "-i", live.PEER,
					       "--redis", ep, "-w", out2], stderr=open(cerr, "w"))
		# -v: "capture running" is only said verbosely (without it this waited out 30 s)
		check(live.wait_for(cerr, "capture running", cap), "outage capture started")
		rp = subprocess.Popen(["ip", "netns", "exec", live.NS, "tcpreplay", "-q", "-i",
				       live.PEER, "--multiplier", "8", pcap], stdout=subprocess.DEVNULL)
		time.sleep(2)
		rds.send_signal(signal.SIGKILL)
		rds.wait()
		time.sleep(1.5)
		rds = redis(tmp, port)
		procs.append(rds)
		rp.wait()
		time.sleep(0.5)
		rc = live.stop(cap)
		log = open(cerr).read()
		got2 = [f[0] for f in off.tshark(out2, ["frame.md5_hash"])]
		check("still capturing the" in log and "resubscribed" in log,
		      "outage reported and resubscribed: %r" % log.strip().splitlines())
		check(rc == 3, "exit 3 after an outage (got %d)" % rc)
		check(set(got2) <= set(want) and len(got2) > len(want) // 2,
		      "during and after the outage: %d of the %d frames, none foreign" % (
			      len(got2), len(want)))
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
