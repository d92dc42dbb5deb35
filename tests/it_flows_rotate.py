#!/usr/bin/python3
"""it_flows_rotate.py - --flows-json survives logrotate and rotates itself, losing no record.

On tests/gen_scenario.py's capture (streamed to mcprobe's stdin so the test controls time),
against a reference run that writes one file:
  * SIGHUP: half the capture, the file renamed away (as logrotate does), SIGHUP, the rest:
    the renamed file and the new one hold, together, exactly the reference records, and both
    hold some;
  * --flows-rotate-size 20k: every rotated file PATH.<UTC time>[.n] is about 20 KiB (no more
    than one record beyond), at least three files, and all of them together are the
    reference records;
  * --flows-rotate-time 1 with the capture fed in three parts 1.3 s apart: at least two files,
    together the reference records.
Every line of every file must be a whole JSON object. Env: BUILD (default build). Exit 0 = pass.
"""

import glob
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("BUILD", "build")
MCPROBE = os.path.join(BUILD, "mcprobe")
errors = []


def check(cond, msg):
	if not cond:
		errors.append(msg)
		print("FAIL: " + msg)


def frames_of(pcap):
	b = open(pcap, "rb").read()
	out, pos = [], 24
	while pos + 16 <= len(b):
		cl = struct.unpack_from("<IIII", b, pos)[2]
		out.append(b[pos:pos + 16 + cl])
		pos += 16 + cl
	return b[:24], out


def lines(paths):
	got = []
	for p in paths:
		for ln in open(p):
			json.loads(ln)  # whole objects only
			got.append(ln)
	return sorted(got)


def streamed(out, extra, hdr, frames, parts, between):
	"""Feeds the capture in `parts` chunks, calling between(i) after chunk i (not the last)."""
	m = subprocess.Popen([MCPROBE, "-r", "-", "--flows-json", out, "--idle-timeout", "1",
			      "--active-timeout", "2"] + extra, stdin=subprocess.PIPE)
	m.stdin.write(hdr)
	n = len(frames)
	for i in range(parts):
		m.stdin.write(b"".join(frames[i * n // parts:(i + 1) * n // parts]))
		m.stdin.flush()
		if i < parts - 1:
			between(m, i)
	m.stdin.close()
	check(m.wait(timeout=120) == 0, "mcprobe %s failed" % extra)


def wait_growth(path, timeout=20):
	end = time.time() + timeout
	while time.time() < end:
		if os.path.exists(path) and os.path.getsize(path) > 0:
			time.sleep(0.5)
			return
		time.sleep(0.1)
	raise SystemExit("FAIL: %s stayed empty" % path)


def main():
	tmp = tempfile.mkdtemp(prefix="mcp-rotate-")
	try:
		pcap = os.path.join(tmp, "scn.pcap")
		subprocess.run(["/usr/bin/python3", os.path.join(HERE, "gen_scenario.py"), "--out",
				pcap, "--expect", os.path.join(tmp, "exp.json"), "--subscribers", "40",
				"--seed", "23"], check=True)
		hdr, frames = frames_of(pcap)
		ref = os.path.join(tmp, "ref.json")
		streamed(ref, [], hdr, frames, 1, None)
		want = lines([ref])
		print("reference: %d records" % len(want))

		hup = os.path.join(tmp, "hup.json")

		def rotate_and_hup(m, i):
			wait_growth(hup)
			os.rename(hup, hup + ".1")
			m.send_signal(signal.SIGHUP)
			time.sleep(0.3)
		streamed(hup, [], hdr, frames, 2, rotate_and_hup)
		a, b = lines([hup + ".1"]), lines([hup])
		check(a and b, "SIGHUP: %d records before, %d after: both must hold some" % (len(a),
											  len(b)))
		check(sorted(a + b) == want, "SIGHUP: the two files differ from the reference")
		print("SIGHUP: %d + %d records" % (len(a), len(b)))

		sz = os.path.join(tmp, "size.json")
		streamed(sz, ["--flows-rotate-size", "20k"], hdr, frames, 1, None)
		old = sorted(glob.glob(sz + ".*"))
		check(len(old) >= 2, "size: %d rotated files" % len(old))
		longest = max(len(x) for x in want)
		for p in old:
			s = os.path.getsize(p)
			check(20480 <= s <= 20480 + longest, "size: %s is %d bytes" % (p, s))
		check(lines(old + [sz]) == want, "size: the files differ from the reference")
		print("size: %d files" % (len(old) + 1))

		tm = os.path.join(tmp, "time.json")
		streamed(tm, ["--flows-rotate-time", "1"], hdr, frames, 3,
			 lambda m, i: time.sleep(1.3))
		old = sorted(glob.glob(tm + ".*"))
		check(len(old) >= 1, "time: %d rotated files" % len(old))
		check(lines(old + [tm]) == want, "time: the files differ from the reference")
		print("time: %d files" % (len(old) + 1))
	finally:
		shutil.rmtree(tmp, ignore_errors=True)
	if errors:
		return 1
	print("PASS")
	return 0


if __name__ == "__main__":
	sys.exit(main())
