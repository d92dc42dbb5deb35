#!/usr/bin/python3
"""it_capture_offline.py - mcp-capture -r against tshark, on the synthetic scenario and the
shared captures.

The oracle is independent of mcprobe's decoder and session table: tshark dissects the input,
and this script picks one subscriber's frames from the scenario generator's own record of the
tunnels it gave that subscriber (tests/gen_scenario.py --expect), or, for the control plane,
from tshark's GTP-C fields (IMSI, sender F-TEIDs, header TEID, sequence number). Frames are
compared by MD5 of their bytes and by their nanosecond time stamp, packet for packet.

Checks:
  * a subscriber with an X2 handover mid-flow and a delete + re-attach with a new UE IP: the
    pcap equals that subscriber's GTP-U frames (T-PDUs and end markers), in order, nothing else;
  * --control adds exactly its GTP-C messages;
  * pcap is the nanosecond format; --pcapng holds the same frames with a comment naming the IMSI;
  * --count, --duration; --snaplen cuts frames but keeps their wire length;
  * rotation by time and size: NAME.000001.EXT..., together equal to the single file, and
    --keep N keeps the N newest; no temporary file left;
  * the shared captures: open5gs-testattach (GTPv2 + GTP-U), ndpi-gtp_c, zeek-gtp_create_pdp_ctx
    (GTPv1), against tshark's counts;
  * bad input: one line on stderr, exit 2, no output file.
Env: BUILD (default build), MCP_PCAPS (shared captures). Exit 0 = pass.
"""

import glob
import json
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD = os.environ.get("BUILD", "build")
TOOL = os.path.join(ROOT, BUILD, "mcp-capture") if not os.path.isabs(BUILD) else \
	os.path.join(BUILD, "mcp-capture")
PCAPS = os.environ.get("MCP_PCAPS", os.path.join(ROOT, "..", "shared", "pcaps"))
failures = []

def check(cond, what):
	print(("ok   " if cond else "FAIL ") + what)
	if not cond:
		failures.append(what)
	return cond

def need(cmd):
	if subprocess.run(["sh", "-c", "command -v " + cmd], capture_output=True).returncode:
		print("FAIL: %s is missing (make deps installs it)" % cmd)
		sys.exit(1)

def run(args, expect_rc=0):
	p = subprocess.run([TOOL] + args, capture_output=True, text=True)
	if p.returncode != expect_rc:
		print("  %s -> rc %d\n  stderr: %s" % (" ".join(args), p.returncode, p.stderr))
	return p

def tshark(path, fields, flt=None):
	cmd = ["tshark", "-n", "-r", path, "-o", "frame.generate_md5_hash:TRUE", "-T", "fields",
	       "-E", "occurrence=f"]
	if flt:
		cmd += ["-Y", flt]
	for f in fields:
		cmd += ["-e", f]
	out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
	return [l.split("\t") for l in out.splitlines()]

def ns(epoch):
	"""tshark prints as many decimals as the file's resolution: compare in nanoseconds."""
	sec, _, frac = epoch.partition(".")
	return int(sec) * 1000000000 + int((frac + "000000000")[:9])

def frames(path, flt=None):
	"""(md5, stamp in ns) of every frame."""
	return [(r[0], ns(r[1])) for r in tshark(path, ["frame.md5_hash", "frame.time_epoch"], flt)]

def pcap_magic(path):
	with open(path, "rb") as f:
		return struct.unpack("<I", f.read(4))[0]

# ---- the scenario ---------------------------------------------------------------------------

def pick_subscriber(expect):
	"""An IMSI with a handover and a delete + re-attach whose tunnels nobody else ever uses."""
	keys_of = {}
	for s in expect["subscribers"]:
		ks = {(t["teid"], t["addr"]) for ev in s.get("events", []) for t in ev["tunnels"]}
		keys_of.setdefault(s["imsi"], set()).update(ks)
	for s in expect["subscribers"]:
		kinds = [ev["kind"] for ev in s.get("events", [])]
		if s["kind"] != "normal" or "delete" not in kinds:
			continue
		d = kinds.index("delete")
		if "create" not in kinds[d:] or kinds[:d].count("modify") < 2:
			continue
		mine = keys_of[s["imsi"]]
		if any(mine & k for i, k in keys_of.items() if i != s["imsi"]):
			continue
		return s["imsi"], mine
	return None, None

def user_oracle(pcap, keys):
	rows = tshark(pcap, ["frame.md5_hash", "frame.time_epoch", "gtp.teid", "ip.dst"],
		      "gtp && udp.port == 2152")
	return [(r[0], ns(r[1])) for r in rows if r[2] and (int(r[2], 16), r[3]) in keys]

def control_oracle(pcap, imsi):
	"""GTP-C frames of imsi: carrying it, addressed to its control TEIDs, or answering one of
	those requests (same sequence number, peers swapped)."""
	rows = tshark(pcap, ["frame.md5_hash", "frame.time_epoch", "e212.imsi", "gtpv2.teid",
			     "gtpv2.seq", "ip.src", "ip.dst", "gtpv2.message_type"], "gtpv2")
	ctrl = set()
	# all F-TEID occurrences of the frames carrying the IMSI, and of their answers
	rows_all = subprocess.run(
		["tshark", "-n", "-r", pcap, "-Y", "gtpv2", "-T", "fields", "-E", "occurrence=a",
		 "-E", "aggregator=,", "-e", "gtpv2.f_teid_interface_type", "-e",
		 "gtpv2.f_teid_gre_key"], capture_output=True, text=True, check=True).stdout.splitlines()
	selected, open_req = [], set()
	for i, r in enumerate(rows):
		md5, ts, im, teid, seq, src, dst, mtype = r
		teid = int(teid, 16) if teid else 0
		hit = im == imsi or (teid and teid in ctrl) or (seq, dst, src) in open_req
		if hit:
			selected.append((md5, ns(ts)))
			open_req.add((seq, src, dst))
			types, keys = (rows_all[i].split("\t") + [""])[:2]
			for t, k in zip(types.split(","), keys.split(",")):
				if t in ("10", "11", "6", "7") and k:  # S11 MME/SGW, S5/S8 SGW/PGW GTP-C
					ctrl.add(int(k, 16))
	return selected

def scenario_tests(tmp):
	pcap, exp = os.path.join(tmp, "sc.pcap"), os.path.join(tmp, "sc.json")
	subprocess.run(["/usr/bin/python3", os.path.join(HERE, "gen_scenario.py"), "--out", pcap,
			"--expect", exp, "--subscribers", "60", "--seed", "3"], check=True)
	expect = json.load(open(exp))
	imsi, keys = pick_subscriber(expect)
	if not check(imsi is not None, "scenario has a subscriber with handover + re-attach"):
		return
	sub = [s for s in expect["subscribers"] if s["imsi"] == imsi]
	print("     subscriber %s, %d tunnels over its life" % (imsi, len(keys)))
	want = user_oracle(pcap, keys)
	out = os.path.join(tmp, "u.pcap")
	p = run(["-m", imsi, "-r", pcap, "-w", out])
	check(p.returncode == 0, "offline capture exits 0")
	got = frames(out)
	check(len(want) > 20, "oracle has the subscriber's frames (%d)" % len(want))
	check(got == want, "user plane equals tshark's frames of the subscriber's tunnels, in order "
	      "(%d got, %d expected, %d missing, %d extra)" % (
		      len(got), len(want), len(set(want) - set(got)), len(set(got) - set(want))))
	check(pcap_magic(out) == 0xa1b23c4d, "pcap has the nanosecond magic")
	check(not glob.glob(os.path.join(tmp, ".*.part")), "no temporary file left")

	# --control: the user plane plus exactly the subscriber's GTP-C
	ctl = control_oracle(pcap, imsi)
	outc = os.path.join(tmp, "c.pcap")
	run(["-m", imsi, "--control", "-r", pcap, "-w", outc])
	gotc = frames(outc)
	check(len(ctl) >= 12, "control oracle: %d GTP-C frames (6 exchanges at least)" % len(ctl))
	check(sorted(gotc) == sorted(want + ctl), "--control adds exactly the GTP-C frames of the "
	      "subscriber (%d got, %d expected)" % (len(gotc), len(want) + len(ctl)))

	# pcapng: same frames, the IMSI in the comment, nanosecond resolution
	outn = os.path.join(tmp, "n.pcapng")
	run(["-m", imsi, "-r", pcap, "-w", outn, "--pcapng"])
	check(frames(outn) == want, "--pcapng holds the same frames")
	info = subprocess.run(["capinfos", "-k", "-u", outn], capture_output=True, text=True).stdout
	check(imsi in info, "pcapng comment names the IMSI")
	hdr = subprocess.run(["capinfos", outn], capture_output=True, text=True).stdout
	check("nanoseconds" in hdr, "pcapng time stamps in nanoseconds")

	# limits
	outk = os.path.join(tmp, "k.pcap")
	run(["-m", imsi, "-r", pcap, "-w", outk, "--count", "5"])
	check(frames(outk) == want[:5], "--count 5 writes the first 5 frames")
	outs = os.path.join(tmp, "s.pcap")
	run(["-m", imsi, "-r", pcap, "-w", outs, "--snaplen", "60"])
	lens = tshark(outs, ["frame.len", "frame.cap_len"])
	full = tshark(out, ["frame.len"])
	check(len(lens) == len(want) and all(int(c) == min(60, int(l)) for l, c in lens) and
	      [l for l, _ in lens] == [f[0] for f in full], "--snaplen 60 cuts, keeps wire lengths")
	first = frames(pcap)[0][1]
	outd = os.path.join(tmp, "d.pcap")
	run(["-m", imsi, "-r", pcap, "-w", outd, "--duration", "20"])
	check(frames(outd) == [w for w in want if w[1] < first + 20 * 10**9],
	      "--duration 20 stops 20 s of capture time after the first frame")

	rotation_tests(tmp, imsi, pcap, want, [s["imsi"] for s in expect["subscribers"]])
	other = [s["imsi"] for s in expect["subscribers"] if s["imsi"] != imsi][:3]
	outm = os.path.join(tmp, "m.pcap")
	run(["-m", imsi] + sum([["-m", o] for o in other], []) + ["-r", pcap, "-w", outm])
	many = frames(outm)
	check(set(want) <= set(many) and len(many) > len(want),
	      "several -m: a superset with the other subscribers' frames")

def rotation_tests(tmp, imsi, pcap, want, everyone):
	rdir = os.path.join(tmp, "rot")
	os.mkdir(rdir)
	run(["-m", imsi, "-r", pcap, "-w", os.path.join(rdir, "r.pcap"), "--rotate-seconds", "10"])
	files = sorted(glob.glob(os.path.join(rdir, "r.*.pcap")))
	check(len(files) >= 3 and os.path.basename(files[0]) == "r.000001.pcap",
	      "--rotate-seconds 10: %d files named r.000001.pcap ..." % len(files))
	allf = [f for x in files for f in frames(x)]
	check(allf == want, "rotated files together equal the single file")
	spans = [frames(x) for x in files]
	check(all(s[-1][1] - s[0][1] < 10 * 10**9 for s in spans if s),
	      "each rotated file spans less than 10 s")
	kdir = os.path.join(tmp, "keep")
	os.mkdir(kdir)
	run(["-m", imsi, "-r", pcap, "-w", os.path.join(kdir, "r.pcap"), "--rotate-seconds", "10",
	     "--keep", "2"])
	kept = sorted(os.listdir(kdir))
	check(kept == [os.path.basename(f) for f in files[-2:]],
	      "--keep 2 keeps the two newest: %s" % kept)
	check([f for x in kept for f in frames(os.path.join(kdir, x))] ==
	      [f for s in spans[-2:] for f in s], "kept files hold the last frames")
	# size: every subscriber with its control plane, 1 MB files
	sdir = os.path.join(tmp, "size")
	os.mkdir(sdir)
	one = os.path.join(tmp, "everyone.pcap")
	args = sum([["-m", i] for i in everyone], []) + ["--control", "-r", pcap]
	run(args + ["-w", one])
	p = run(args + ["-w", os.path.join(sdir, "z.pcap"), "--rotate-size", "1"])
	names = sorted(glob.glob(os.path.join(sdir, "*")))
	sizes = [os.path.getsize(f) for f in names]
	check(p.returncode == 0 and len(sizes) >= 2 and all(s <= 1000000 for s in sizes) and
	      all(s > 900000 for s in sizes[:-1]), "--rotate-size 1: files of at most 10^6 bytes, "
	      "all but the last nearly full (%s)" % sizes)
	check([f for x in names for f in frames(x)] == frames(one),
	      "size-rotated files together equal the single file")

# ---- the shared captures --------------------------------------------------------------------

def shared_tests(tmp):
	cases = [  # file, IMSI, tshark filter of its user plane, of its control plane
		("open5gs-testattach.pcapng", "901707364000060", "gtp.message == 0xff", "gtpv2"),
		("ndpi-gtp_c.pcap", "987654112233445", None, "gtpv2"),
		("zeek-gtp_create_pdp_ctx.pcap", "460004100000101", None,
		 "gtp && !(gtp.message == 0xff) && udp.port == 2123"),
	]
	for name, imsi, uflt, cflt in cases:
		src = os.path.join(PCAPS, name)
		if not check(os.path.exists(src), "shared capture %s present" % name):
			continue
		u = frames(src, uflt) if uflt else []
		c = frames(src, cflt)
		out = os.path.join(tmp, name + ".pcap")
		run(["-m", imsi, "-r", src, "-w", out])
		check(frames(out) == u, "%s: user plane = tshark's %d T-PDUs" % (name, len(u)))
		run(["-m", imsi, "--control", "-r", src, "-w", out])
		check(sorted(frames(out)) == sorted(u + c), "%s: --control adds its %d GTP-C frames" % (
			name, len(c)))
		run(["-m", "001010123456789", "--control", "-r", src, "-w", out])
		check(frames(out) == [], "%s: another IMSI selects nothing" % name)

# ---- bad input ------------------------------------------------------------------------------

def bad_input_tests(tmp):
	src = os.path.join(PCAPS, "ndpi-gtp_c.pcap")
	out = os.path.join(tmp, "bad", "x.pcap")
	os.mkdir(os.path.join(tmp, "bad"))
	cases = [
		(["-m", "12345", "-r", src, "-w", out], "IMSI of 5 digits"),
		(["-m", "1234567890123456", "-r", src, "-w", out], "IMSI of 16 digits"),
		(["-m", "12345a7", "-r", src, "-w", out], "IMSI with a letter"),
		(["-r", src, "-w", out], "no -m"),
		(["-m", "123456", "-r", src], "no -w"),
		(["-m", "123456", "-w", out], "neither -i nor -r"),
		(["-m", "123456", "-r", src, "-i", "lo", "-w", out], "both -i and -r"),
		(["-m", "123456", "-r", src, "-w", out, "--keep", "3"], "--keep without rotation"),
		(["-m", "123456", "-r", src, "-w", out, "--rotate-size", "1", "--rotate-seconds", "1"],
		 "both rotations"),
		(["-m", "123456", "-r", src, "-w", out, "--count", "0"], "--count 0"),
		(["-m", "123456", "-r", src, "-w", out, "--snaplen", "x"], "--snaplen x"),
		(["-m", "123456", "-r", src, "-w", out, "--bogus"], "unknown option"),
		(["-m", "123456", "-r", src, "-w", out, "--redis", "127.0.0.1:1"], "--redis with -r"),
		(["-m", "123456", "-r", os.path.join(tmp, "missing.pcap"), "-w", out], "missing input"),
		(["-m", "123456", "-r", tmp, "-w", out], "input is a directory"),
		(["-m", "123456", "-r", src, "-w", os.path.join(tmp, "nodir", "x.pcap")],
		 "unwritable path (no such directory)"),
		(["-m", "123456", "-r", src, "-w", "/proc/version"], "unwritable path (/proc)"),
	]
	for args, what in cases:
		p = run(args, 2)
		lines = [l for l in p.stderr.splitlines() if l.strip()]
		check(p.returncode == 2 and len(lines) == 1 and "mcp-capture" in lines[0] + what
		      and not os.listdir(os.path.join(tmp, "bad")),
		      "bad input, %s: exit 2, one line, no file (%r)" % (what, lines[:1]))

def main():
	need("tshark")
	need("capinfos")
	if not check(os.access(TOOL, os.X_OK), "%s built" % TOOL):
		return 1
	with tempfile.TemporaryDirectory(prefix="mcp-capture-") as tmp:
		scenario_tests(tmp)
		shared_tests(tmp)
		bad_input_tests(tmp)
	print("%d failed" % len(failures))
	return 1 if failures else 0

if __name__ == "__main__":
	sys.exit(main())
