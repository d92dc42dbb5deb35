#!/usr/bin/python3
"""it_radius_flows.py - fixed-network users: a RADIUS Accounting-Start (scapy-built) binds
User-Name "alice@isp" to Framed-IP 100.64.1.7; her later traffic carries "user" in its flow
records, traffic of other addresses does not, and after the Stop new flows are no longer hers.
Malformed RADIUS is counted, not fatal."""
import json, os, subprocess, sys, tempfile
from scapy.all import Ether, IP, UDP, TCP, wrpcap, Raw
from scapy.layers.radius import Radius, RadiusAttribute

BUILD = os.environ.get("BUILD", "build")

def acct(status, ts, user=b"alice@isp", ip="100.64.1.7"):
    attrs = [RadiusAttribute(type=40, value=status.to_bytes(4, "big")),
             RadiusAttribute(type=1, value=user),
             RadiusAttribute(type=8, value=bytes(int(x) for x in ip.split("."))),
             RadiusAttribute(type=31, value=b"02-00-00-00-00-01")]
    p = Ether() / IP(src="192.0.2.1", dst="192.0.2.2") / UDP(sport=40000, dport=1813) / \
        Radius(code=4, id=status, attributes=attrs)
    p.time = ts
    return p

def tcp(src, sport, ts):
    p = Ether() / IP(src=src, dst="198.51.100.9") / TCP(sport=sport, dport=80, flags="S")
    p.time = ts
    return p

def main():
    d = tempfile.mkdtemp()
    pcap, out = os.path.join(d, "r.pcap"), os.path.join(d, "f.json")
    bad = Ether() / IP(src="192.0.2.1", dst="192.0.2.2") / UDP(sport=40001, dport=1813) / \
        Raw(b"\x04\x01\x00\x30" + b"\x00" * 10)  # Length 48 beyond the datagram
    bad.time = 1000.5
    pkts = [acct(1, 1000.0), bad, tcp("100.64.1.7", 50000, 1001.0), tcp("100.64.1.8", 50001, 1001.5),
            acct(2, 1002.0), tcp("100.64.1.7", 50002, 1003.0)]
    wrpcap(pcap, pkts)
    r = subprocess.run([os.path.join(BUILD, "mcprobe"), "-r", pcap, "--flows-json", out, "--stats"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        print("mcprobe failed:", r.returncode, r.stderr)
        return 1
    flows = {(f["src_ip"], f["src_port"]): f for f in map(json.loads, open(out))}
    errors = []
    if flows.get(("100.64.1.7", 50000), {}).get("user") != "alice@isp":
        errors.append("alice's flow during her session lacks user: %s" % flows.get(("100.64.1.7", 50000)))
    if "user" in flows.get(("100.64.1.8", 50001), {"user": "missing flow"}):
        errors.append("another address was given a user: %s" % flows.get(("100.64.1.8", 50001)))
    if "user" in flows.get(("100.64.1.7", 50002), {"user": "missing flow"}):
        errors.append("flow after the Stop still names the user: %s" % flows.get(("100.64.1.7", 50002)))
    if "radius malformed             1" not in r.stderr:
        errors.append("malformed RADIUS not counted:\n" + r.stderr)
    for e in errors:
        print("FAIL", e)
    print("it_radius_flows: %d checks failed" % len(errors))
    return 1 if errors else 0

sys.exit(main())
