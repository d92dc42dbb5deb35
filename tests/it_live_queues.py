#!/usr/bin/python3
"""it_live_queues.py - live attribution is exact whatever queue and order the control plane
takes (issue 13, test 1).

The synthetic scenario of tests/gen_scenario.py (GTPv1/v2, handovers, dedicated bearers,
deletes, TEID reuse, re-attaches; its expectations JSON is the scapy-side ledger of what was
sent) is rewritten with every GTP-C frame 500 ms later in the file (tests/it_attrib_order.py:
the documented bound, docs/sessions.md), so the GTP-U of each session is sent before the
Create Session / Create PDP Context Response that names its tunnels. The frames are sent in
file order, but each GTP-C frame 8 frames late (CTL_SHIFT), so that user frames also overtake
the control just before them (a re-attach whose new session reuses a TEID that another
subscriber's earlier session replaced, still in its handover grace), into a 4-queue veth pair in a network namespace this test creates. veth delivers a
frame on the RX queue it was transmitted on, and the sending veth's XPS maps pick that queue by
the sender's CPU (tc's skbedit is not in every kernel; this one lacks it): the sender moves to
CPU 1 for each GTP-C frame (XPS: queue 3 only) and to CPU 0 for the rest (queues 0-2, one of
them by the flow hash of the outer addresses), so GTP-C always takes another queue than GTP-U.
The XDP program is attached by mcp-load (so its maps outlive the probe) and `mcprobe -i
--workers N` captures, once with one worker and once with two pipeline shards (LIVE_WORKERS
picks one run). Checks, in each run:
  * no loss: frames in userspace + frames counted on bypassed flows = frames replayed; every
    queue received frames, queue 3 exactly the GTP-C frames;
  * the reordering was effective: flows were attributed late, and flows found through a
    tunnel in its grace moved to its new owner;
  * per-IMSI totals (packets and bytes up and down) of the live records = the ledger;
  * live records = records of `mcprobe -r` on the same file (per 5-tuple and IMSI);
  * the kernel's per-subscriber counters (`mcp-load status --subscribers`: per-CPU slots plus
    the userspace credit) = the per-IMSI totals, for every subscriber in the kernel map.
Needs root, iproute2, nsenter and CPUs 0 and 1. Run with flock /tmp/mcp-net.lock.
Env: BUILD, LIVE_WORKERS, SCN_SUBSCRIBERS (default 60), SCN_SEED, LIVE_PPS (default 1500), SCN_KEEP=dir.
"""

import bisect
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import it_attrib_order  # noqa: E402
import it_scenario  # noqa: E402

OPTS = ["--delete-grace", "600", "--idle-timeout", "30"]
COUNTS = ("pkts_up", "pkts_down", "bytes_up", "bytes_down")
GTPC_QUEUE = 3
# GTP-C goes on the wire this many frames after its place in the file (about 5 ms at
# LIVE_PPS): deterministic overtaking, beside what the queues' polling order adds.
CTL_SHIFT = 8


def die(msg):
	print("FAIL: " + msg)
	sys.exit(1)


def sh(*cmd, check=True, **kw):
	p = subprocess.run(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120,
			   **kw)
	if check and p.returncode != 0:
		die("%s: exit %d: %s" % (" ".join(cmd), p.returncode,
					 (p.stderr or p.stdout).decode(errors="replace")[-1500:]))
	return p.stdout.decode(errors="replace")


def per_imsi(path):
	out = {}
	for line in open(path):
		r = json.loads(line)
		if r.get("imsi"):
			t = out.setdefault(r["imsi"], dict.fromkeys(COUNTS, 0))
			for c in COUNTS:
				t[c] += r[c]
	return out


def steer(ns, dev):
	"""XPS on the sending veth: CPU 0 transmits on queues 0-2 (one of them by flow hash), CPU 1
	on queue 3 only. veth delivers a frame on the RX queue it was transmitted on."""
	for q, cpus in ((0, 1), (1, 1), (2, 1), (GTPC_QUEUE, 2)):
		sh("ip", "netns", "exec", ns, "sh", "-c", "echo %x > /sys/class/net/%s/queues/tx-%d/xps_cpus"
		   % (cpus, dev, q))


def send_order(frames, shift):
	"""The frames in file order but every GTP-C frame shift frames later: the user plane of a
	session overtakes the control just before it on the wire, as when RSS polls the control
	queue late. Returns (frames, user frames sent before a GTP-C frame that preceded them)."""
	keyed = sorted(((i + shift if it_attrib_order.is_gtpc(rec) else i, i, rec)
			for i, (_, rec) in enumerate(frames)), key=lambda k: (k[0], k[1]))
	ctl_before = sorted(i for i, (_, rec) in enumerate(frames) if it_attrib_order.is_gtpc(rec))
	overtook, sent_ctl = 0, 0
	for _, i, rec in keyed:
		if it_attrib_order.is_gtpc(rec):
			sent_ctl += 1
		elif bisect.bisect_left(ctl_before, i) > sent_ctl:
			overtook += 1
	return [(0, rec) for _, _, rec in keyed], overtook


def send(dev, pcap, pps, shift):
	"""Sends the frames of pcap on dev (AF_PACKET, through the qdisc layer so that XPS picks
	the queue), in file order but GTP-C shift frames late (send_order), GTP-C from CPU 1 and
	everything else from CPU 0, pps frames a second. Run inside the namespace (--send)."""
	import socket
	_, frames = it_attrib_order.read_pcap(pcap)
	frames, _ = send_order(frames, shift)
	s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
	s.bind((dev, 0))
	cpu, gap, t0 = None, 1.0 / pps, time.monotonic()
	for i, (_, rec) in enumerate(frames):
		want = 1 if it_attrib_order.is_gtpc(rec) else 0
		if want != cpu:
			os.sched_setaffinity(0, {want})  # returns on the new CPU
			cpu = want
		s.send(rec[16:])
		lag = t0 + (i + 1) * gap - time.monotonic()
		if lag > 0:
			time.sleep(lag)
	print("sent %d frames" % len(frames))


def innet(ns):
	"""Enters only the network namespace: `ip netns exec` would also mount a private /sys, and
	with it a bpffs of its own, where mcp-load's pins would not outlive the command."""
	return ["nsenter", "--net=/run/netns/" + ns]


def kernel_per_imsi(load, ns, ifname):
	out = sh(*innet(ns), load, "status", ifname, "--json", "--subscribers")
	st = json.loads(out)[0]
	k = {}
	for s in st["subscribers"]:
		t = k.setdefault(s["imsi"], dict.fromkeys(COUNTS, 0))
		for c in COUNTS:
			t[c] += s[c]
	return k, st["counters"]


def compare(title, want, got):
	bad = []
	for imsi in sorted(set(want) | set(got)):
		w = want.get(imsi, dict.fromkeys(COUNTS, 0))
		g = got.get(imsi, dict.fromkeys(COUNTS, 0))
		if any(w[c] != g[c] for c in COUNTS):
			bad.append("%s want %s got %s" % (imsi, [w[c] for c in COUNTS],
							   [g[c] for c in COUNTS]))
	if bad:
		print("FAIL: %s: %d IMSIs differ (pkts up/down, bytes up/down):" % (title, len(bad)))
		for b in bad[:15]:
			print("   ", b)
	return len(bad)


def stat(text, name):
	m = re.search(r"^\s*%s\s+(\d+)" % re.escape(name), text, re.M)
	return int(m.group(1)) if m else None


def main(workers):
	if os.geteuid() != 0:
		die("needs root (XDP, AF_XDP, network namespaces)")
	if len(os.sched_getaffinity(0)) < 2 or not {0, 1} <= os.sched_getaffinity(0):
		die("needs CPUs 0 and 1 (the sender picks the queue through XPS by CPU)")
	for t in ("ip", "nsenter"):
		if not shutil.which(t):
			die("missing tool: " + t)
	build = os.environ.get("BUILD", "build")
	mcp, load = os.path.join(build, "mcprobe"), os.path.join(build, "mcp-load")
	for b in (mcp, load):
		if not os.access(b, os.X_OK):
			die(b + " not built (make)")
	nsub = int(os.environ.get("SCN_SUBSCRIBERS", "60"))
	seed = int(os.environ.get("SCN_SEED", "7"))
	pps = os.environ.get("LIVE_PPS", "1500")
	keep = os.environ.get("SCN_KEEP")
	tmp = keep or tempfile.mkdtemp(prefix="mcp-lq-")
	os.makedirs(tmp, exist_ok=True)
	pid = os.getpid()
	ns, ifname, peer = "mcplq%d" % pid, "mlq%da" % pid, "mlq%db" % pid
	probe = None
	try:
		pcap, expf = os.path.join(tmp, "scn.pcap"), os.path.join(tmp, "scn.json")
		late = os.path.join(tmp, "late.pcap")
		it_scenario.generate(pcap, expf, nsub, seed)
		moved, overtaken = it_attrib_order.delay_control(pcap, late, 500 * 1000)
		_, frames = it_attrib_order.read_pcap(late)
		ngtpc = sum(1 for _, rec in frames if it_attrib_order.is_gtpc(rec))
		print("%d frames, %d GTP-C moved 500 ms later; %d user frames now before control "
		      "captured earlier" % (len(frames), moved, overtaken))
		if not overtaken:
			die("the reordering moved no user frame ahead of its control plane")
		ledger = json.load(open(expf))["imsi_totals"]

		off = os.path.join(tmp, "off.flows")
		sh(mcp, "-r", late, *OPTS, "--flows-json", off)

		sh("ip", "netns", "add", ns)
		sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
		   "net.ipv6.conf.default.disable_ipv6=1")
		sh("ip", "link", "add", ifname, "numtxqueues", "4", "numrxqueues", "4", "type", "veth",
		   "peer", "name", peer, "numtxqueues", "4", "numrxqueues", "4")
		sh("ip", "link", "set", ifname, "netns", ns)
		sh("ip", "link", "set", peer, "netns", ns)
		for d in (ifname, peer, "lo"):
			sh("ip", "-n", ns, "link", "set", d, "up")
		steer(ns, peer)
		sh(*innet(ns), load, "attach", ifname, "--queues", "4",
		   "--max-subscribers", "4096", "--max-tunnels", "16384", "--max-flows", "65536")

		live = os.path.join(tmp, "live.flows")
		err = open(os.path.join(tmp, "probe.err"), "w+")
		probe = subprocess.Popen([*innet(ns), mcp, "-v", "-i", ifname,
					  "--workers", workers, *OPTS, "--flows-json", live, "--stats"],
					 stdout=err, stderr=err)
		for _ in range(300):
			err.seek(0)
			if "live capture running" in err.read():
				break
			if probe.poll() is not None:
				break
			time.sleep(0.1)
		err.seek(0)
		text = err.read()
		if "live capture running" not in text:
			die("probe did not start: " + text[-2000:])
		_, overtook = send_order(frames, CTL_SHIFT)
		print("sent with GTP-C %d frames late: %d user frames overtook control that preceded "
		      "them in the file" % (CTL_SHIFT, overtook))
		sh("ip", "netns", "exec", ns, sys.executable, os.path.abspath(__file__), "--send", peer,
		   late, pps, str(CTL_SHIFT))
		time.sleep(1)
		probe.send_signal(signal.SIGINT)
		rc = probe.wait(timeout=30)
		probe = None
		err.seek(0)
		text = err.read()
		if rc != 0:
			die("probe exit %d: %s" % (rc, text[-2000:]))
		kern, kcounters = kernel_per_imsi(load, ns, ifname)
		sh(*innet(ns), load, "detach", ifname)

		nfail = 0
		seen = stat(text, "packets")
		m = re.search(r"live: .*, bypassed (\d+),", text)
		bypassed = int(m.group(1)) if m else None
		if seen is None or bypassed is None or seen + bypassed != len(frames):
			print("FAIL: %s frames in userspace + %s bypassed, %d replayed" %
			      (seen, bypassed, len(frames)))
			nfail += 1
		if "socket drops 0," not in text:
			print("FAIL: socket drops: " + " ".join(re.findall(r"live: xdp.*", text)))
			nfail += 1
		queues = {int(q): int(n) for q, n in re.findall(r"live: \S+ queue (\d+): (\d+) frames",
							      text)}
		print("frames per RX queue:", queues, "GTP-C frames:", ngtpc)
		if sorted(queues) != [0, 1, 2, 3] or min(queues.values()) == 0:
			print("FAIL: the steering did not use all four queues")
			nfail += 1
		if queues.get(GTPC_QUEUE) != ngtpc:
			print("FAIL: queue %d received %s frames, %d GTP-C were sent" %
			      (GTPC_QUEUE, queues.get(GTPC_QUEUE), ngtpc))
			nfail += 1
		late_flows = stat(text, "flows attributed late")
		moved = stat(text, "flows moved to a tunnel's new owner")
		credited = stat(text, "packets credited to kernel subscribers")
		print("flows attributed late %s, moved to a tunnel's new owner %s, packets credited to "
		      "kernel subscribers %s, kernel known_tunnel %s, no_tunnel %s" %
		      (late_flows, moved, credited, kcounters.get("known_tunnel"),
		       kcounters.get("no_tunnel")))
		if not moved:
			print("FAIL: no flow moved from a tunnel in its grace to its new owner: the "
			      "overtaking tested nothing")
			nfail += 1
		if not late_flows:
			print("FAIL: no flow was attributed late: the order tested nothing")
			nfail += 1
		if not credited or not kcounters.get("no_tunnel"):
			print("FAIL: no packet passed XDP before its tunnel: the credit was not exercised")
			nfail += 1
		recs = per_imsi(live)
		nfail += compare("live per-IMSI totals vs the ledger", ledger, recs)
		a, b = it_attrib_order.records_by_5tuple(off), it_attrib_order.records_by_5tuple(live)
		diff = sorted({(k, tuple(v)) for k, v in a.items()} ^
			      {(k, tuple(v)) for k, v in b.items()})
		if diff:
			print("FAIL: live records differ from mcprobe -r (per 5-tuple and IMSI): %d" %
			      len(diff))
			for d in diff[:15]:
				print("   ", d)
			nfail += 1
		nfail += compare("kernel per-subscriber counters vs the records", recs, kern)
		print("%d IMSIs in the ledger, %d in live records, %d in the kernel map" %
		      (len(ledger), len(recs), len(kern)))
		print("PASS" if not nfail else "FAIL: %d problems" % nfail)
		return 1 if nfail else 0
	finally:
		if probe is not None and probe.poll() is None:
			probe.kill()
			probe.wait()
		subprocess.run([*innet(ns), load, "detach", ifname],
			       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
		subprocess.run(["ip", "netns", "del", ns], stdout=subprocess.DEVNULL,
			       stderr=subprocess.DEVNULL)
		if not keep:
			shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
	if len(sys.argv) == 6 and sys.argv[1] == "--send":
		send(sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5]))
		sys.exit(0)
	runs = [os.environ["LIVE_WORKERS"]] if os.environ.get("LIVE_WORKERS") else ["1", "2"]
	status = 0
	for n in runs:
		print("== mcprobe -i --workers %s" % n)
		status |= main(n)
	sys.exit(status)
