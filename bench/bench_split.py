#!/usr/bin/python3
"""bench/bench_split.py - split vantage points: two probes on one redis-server at the same
time, probe C fed only the GTP-C of the benchmark capture and probe U only the rest (GTP-U),
through FIFOs, paced at BENCH_SPLIT_SPEED times capture time (default 10; 0 = as fast as
they read: then the replay outruns the lookups, since a flow's record waits for its session
only its linger or idle timeout of *capture* time, docs/sessions.md). U learns every tunnel from C's events or from its
own teid.* lookups (pipeline/peer_attr.c). Prints U's share of user-plane packets in
IMSI-tagged records (goal 100.000 %) and its lookup latency p50/p99, and the same share from
one probe reading the whole file (`mcprobe -r`, the reference) in the same run.
Nothing is asserted.

usage: bench_split.py PCAP   (env BUILD, BENCH_SPLIT_SPEED, BENCH_KEEP=1 keeps the files)
"""
import os
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
sys.path.insert(0, HERE)
from it_attrib_order import is_gtpc  # noqa: E402
from mc_resp import RedisServer, Resp  # noqa: E402
import live_tagged  # noqa: E402


def split(pcap, ctl, usr):
	"""Writes the GTP-C frames of pcap to ctl and the others to usr (same header)."""
	import struct
	with open(pcap, "rb") as f, open(ctl, "wb") as c, open(usr, "wb") as u:
		hdr = f.read(24)
		c.write(hdr)
		u.write(hdr)
		n = [0, 0]
		while True:
			rh = f.read(16)
			if len(rh) < 16:
				break
			incl = struct.unpack_from("<I", rh, 8)[0]
			rec = rh + f.read(incl)
			k = 0 if is_gtpc(rec) else 1
			(c, u)[k].write(rec)
			n[k] += 1
	return n


def subscribed(port, n):
	c = Resp(port)
	try:
		for _ in range(200):
			c.send("PUBSUB", "NUMSUB", "events.imsi")
			if int(c.read()[1]) >= n:
				return True
			time.sleep(0.05)
	finally:
		c.close()
	return False


def pace(src, fd, t0, speed):
	"""Writes src's frames (after its header) to fd: at speed times capture time (windows of
	10 ms of capture time), or as fast as the reader takes them (speed 0)."""
	import struct
	with open(src, "rb") as s, os.fdopen(fd, "wb") as d:
		s.seek(24)
		first, buf, wend = None, [], None
		while True:
			rh = s.read(16)
			if len(rh) < 16:
				break
			sec, usec, incl = struct.unpack_from("<III", rh, 0)
			rec = rh + s.read(incl)
			ts = sec + usec / 1e6
			if first is None:
				first, wend = ts, ts + 0.01
			if speed and ts >= wend:
				d.write(b"".join(buf))
				buf = []
				lag = t0 + (wend - first) / speed - time.monotonic()
				if lag > 0:
					time.sleep(lag)
				wend += 0.01 * (1 + int((ts - wend) / 0.01))
			buf.append(rec)
			if not speed and len(buf) >= 4096:
				d.write(b"".join(buf))
				buf = []
		d.write(b"".join(buf))


def stat_line(path, name):
	for line in open(path):
		if line.strip().startswith(name):
			return line.strip()
	return name + " ?"


def main():
	build = os.environ.get("BUILD", "build")
	mcp = os.path.join(build, "mcprobe")
	pcap = sys.argv[1]
	speed = float(os.environ.get("BENCH_SPLIT_SPEED", "10"))
	tmp = tempfile.mkdtemp(prefix="mcp-bsplit-")
	ctl, usr = os.path.join(tmp, "c.pcap"), os.path.join(tmp, "u.pcap")
	nc, nu = split(pcap, ctl, usr)
	print("bench_split: %s: %d GTP-C frames to probe C, %d others to probe U" % (pcap, nc, nu))
	redis = RedisServer()
	procs, t0 = [], None
	try:
		for name, src in (("c", ctl), ("u", usr)):
			fifo = os.path.join(tmp, name + ".fifo")
			os.mkfifo(fifo)
			out = os.path.join(tmp, name + ".stats")
			p = subprocess.Popen([mcp, "-r", fifo, "--redis", "127.0.0.1:%d" % redis.port,
					      "--probe-name", "bench-" + name, "--no-reload", "--flows-json",
					      os.path.join(tmp, name + ".flows"), "--sessions-json", os.devnull,
					      "--stats"], stdout=open(out, "w"), stderr=subprocess.STDOUT)
			procs.append((p, fifo, src, out))
		# a probe opens its input first: the FIFO opens once its reader is there
		threads = []
		opened = [os.open(fifo, os.O_WRONLY) for p, fifo, src, out in procs]
		for fd, (p, fifo, src, out) in zip(opened, procs):
			with open(src, "rb") as s:
				os.write(fd, s.read(24))  # the pcap header: the probe starts after it
		if not subscribed(redis.port, 2):
			print("bench_split: the probes did not subscribe within 10 s")
			return 1
		t0 = time.monotonic()
		for (p, fifo, src, out), fd in zip(procs, opened):
			t = threading.Thread(target=pace, args=(src, fd, t0, speed))
			t.start()
			threads.append(t)
		for t in threads:
			t.join()
		for p, fifo, src, out in procs:
			if p.wait(timeout=600) != 0:
				print("bench_split: a probe failed: " + open(out).read()[-1500:])
				return 1
		wall = time.monotonic() - t0
	finally:
		redis.stop()
	off = os.path.join(tmp, "off.flows")
	subprocess.run([mcp, "-r", pcap, "--flows-json", off, "--sessions-json", os.devnull],
		       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
	ustats = procs[1][3]
	print("probe U (GTP-U only; %s; %.1f s wall for both probes):" %
	      ("%gx real time" % speed if speed else "as fast as it reads", wall))
	total, tag, _ = live_tagged.tagged(os.path.join(tmp, "u.flows"))
	print("    user-plane packets in IMSI-tagged records: %d of %d (%.3f%%)" %
	      (tag, total, 100.0 * tag / total if total else 0.0))
	for name in ("peer events", "peer tunnel lookups", "peer lookup latency",
		     "flows attributed late", "gtp-u pkts in untagged recs"):
		print("    " + stat_line(ustats, name))
	rt, rtag, _ = live_tagged.tagged(off)
	print("mcprobe -r of the whole file (reference, same run):")
	print("    user-plane packets in IMSI-tagged records: %d of %d (%.3f%%)" %
	      (rtag, rt, 100.0 * rtag / rt if rt else 0.0))
	if total and rt:
		print("ratio split / reference tagged share: %.5f" % ((tag / total) / (rtag / rt)))
	if not os.environ.get("BENCH_KEEP"):
		subprocess.run(["rm", "-rf", tmp])
	else:
		print("kept " + tmp)
	return 0


if __name__ == "__main__":
	sys.exit(main())
