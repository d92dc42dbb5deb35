#!/usr/bin/python3
"""it_gtpv1_nsapi0.py - a GTPv1 PDP context with NSAPI 0 has its user-plane tunnels.

zeek-gtp_control_prime.pcap (shared captures) has a Create PDP Context Request with NSAPI 0
and its response. tshark (the oracle) gives each message's TEID Data I and user-plane GSN
address (the second GSN Address IE, else the first); the SGSN's (request) receives the
downlink, the GGSN's (response) the uplink. mcprobe's --sessions-json must list exactly those
tunnels, with ebi 0. Env: BUILD, MCP_PCAPS.
"""

import json
import os
import subprocess
import sys

PCAPS = os.environ.get("MCP_PCAPS", "/work/shared/pcaps")
CAP = os.path.join(PCAPS, "zeek-gtp_control_prime.pcap")

def tshark_tunnels():
	out = subprocess.run(["tshark", "-r", CAP, "-Y", "gtp.message==0x10 || gtp.message==0x11",
			      "-T", "fields", "-E", "separator=;", "-e", "gtp.message",
			      "-e", "gtp.nsapi", "-e", "gtp.teid_data", "-e", "gtp.gsn_ipv4"],
			     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True)
	want, nsapis = set(), set()
	for line in out.stdout.decode().splitlines():
		mtype, nsapi, teid, gsn = (line.split(";") + [""] * 4)[:4]
		if nsapi:
			nsapis.add(int(nsapi))
		if not teid:
			continue
		addrs = gsn.split(",")
		addr = addrs[1] if len(addrs) > 1 else addrs[0]
		want.add((int(teid, 16), addr, "down" if mtype == "0x10" else "up"))
	return want, nsapis

def main():
	mcprobe = os.path.join(os.environ.get("BUILD", "build"), "mcprobe")
	if not os.path.exists(CAP):
		print("FAIL: %s missing (set MCP_PCAPS)" % CAP)
		return 1
	want, nsapis = tshark_tunnels()
	if nsapis != {0} or not want:
		print("FAIL: the capture no longer has one NSAPI 0 context (tshark: %s, %s)" %
		      (nsapis, want))
		return 1
	p = subprocess.run([mcprobe, "-r", CAP, "--sessions-json", "-"], stdout=subprocess.PIPE,
			   stderr=subprocess.PIPE, timeout=60)
	if p.returncode:
		print("FAIL: mcprobe exit %d: %s" % (p.returncode, p.stderr.decode()[-500:]))
		return 1
	final = [json.loads(l) for l in p.stdout.decode().splitlines()
		 if l.strip() and json.loads(l).get("event") == "final"]
	if len(final) != 1:
		print("FAIL: want one final session line, got %d" % len(final))
		return 1
	got = {(t["teid"], t["addr"], t["dir"]) for t in final[0]["tunnels"]}
	ebis = {t["ebi"] for t in final[0]["tunnels"]}
	if got != want or ebis != {0}:
		print("FAIL: tunnels %s (ebi %s), tshark says %s with NSAPI 0" % (sorted(got), ebis,
										 sorted(want)))
		return 1
	print("PASS: NSAPI 0 context: %d tunnels as tshark (%s)" % (len(got), sorted(got)))
	return 0

if __name__ == "__main__":
	sys.exit(main())
