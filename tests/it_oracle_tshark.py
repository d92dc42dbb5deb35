#!/usr/bin/python3
"""it_oracle_tshark.py - mcprobe's flows against tshark's own dissection of real captures.

For every capture in /work/shared/pcaps that has GTP-U T-PDUs (tshark: gtp.message==0xff),
plus ndpi-zoom.pcap for its untunnelled traffic, tshark (the independent oracle, Wireshark
4.0) prints per frame the protocol stack (frame.protocols) and every occurrence of the IP,
IPv6, TCP, UDP and SCTP fields. From that:
  * a T-PDU frame counts for its INNER packet: the ip/ipv6 layer right after "gtp" in
    frame.protocols (the n-th "ip" token is the n-th ip.* occurrence); ports from the first
    tcp/udp/sctp layer after it. A T-PDU whose payload is not IP is skipped.
  * any other IP frame that is not GTP (no gtp, gtpv2 or gtpprime layer) counts as plain
    traffic on its first IP layer. GTP-C, GTP-U signalling and GTP' frames are left out, and
    mcprobe records for UDP ports 2123/2152/3386 are ignored.
  * fragments are counted as on the wire (IPFIX): every fragment of a user (inner or plain)
    datagram is a packet and its IP length its bytes, credited when mcprobe's reassembly
    completes the datagram; an outer-fragmented T-PDU is the one user packet it carries
    (inner ip.len). mcprobe reassembles IP (outer and inner); inner fragments are keyed by
    the tunnel they travel in. tshark's reassembly is keyed by (src, dst, id) only, so the
    same inner datagram seen on two legs (S1-U and S5 in open5gs-volte) is reassembled
    once and the second leg is lost. So tshark runs with ip.defragment FALSE and this
    script does the accounting: an outer first fragment carrying a T-PDU counts for its
    inner packet (ip.len from the inner header; the outer rest is only bytes); an inner
    (or plain) IPv4 fragment is filed under (tunnel outer src/dst/TEID, src, dst, id,
    proto) and once all of 0..end is covered the datagram counts one packet per fragment
    and the sum of their ip.len, with the ports of the first fragment. IPv6 fragments do not occur in
    the captures; the script fails loudly if one does.
  * T-PDUs whose GTP-U length field runs past the UDP datagram are invalid and left out
    (tshark still decodes their inner packet; mcprobe counts them as malformed). One
    such frame exists: open5gs-testregistration frame 139 (length 2096 in 200 bytes).
  * bytes = inner IP total length (ip.len; IPv6: 40 + ipv6.plen), as the flow spec says.
Rows are aggregated into bidirectional flows keyed by (proto, {addr:port, addr:port}), with
packet and byte counts per direction. mcprobe's records (src = up side) are summed the same
way, and every flow must have identical per-direction packets and bytes. ICMP/ICMPv6 and
other portless protocols are compared per (proto, address pair) without ports, since probes
key them differently (type/code or id). Exit 0 = every flow of every capture matches.
Env: BUILD, MCP_PCAPS (default /work/shared/pcaps).
"""

import collections
import concurrent.futures
import glob
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PCAPS = os.environ.get("MCP_PCAPS", "/work/shared/pcaps")
GTP_PORTS = {2123, 2152, 3386}
FIELDS = ["frame.number", "frame.protocols", "ip.src", "ip.dst", "ip.len", "ip.hdr_len",
	  "ip.proto", "ip.flags.mf", "ip.frag_offset", "ip.id", "ipv6.src", "ipv6.dst",
	  "ipv6.plen", "ipv6.nxt", "gtp.teid", "gtp.length", "udp.length", "tcp.srcport", "tcp.dstport", "udp.srcport",
	  "udp.dstport", "sctp.srcport", "sctp.dstport"]
PORTED = {"tcp": 6, "udp": 17, "sctp": 132}
L4_TOKENS = {"tcp": 6, "udp": 17, "sctp": 132, "icmp": 1, "icmpv6": 58, "esp": 50, "gre": 47,
	     "igmp": 2, "ospf": 89, "vrrp": 112, "pim": 103}

def tshark_rows(path):
	cmd = ["tshark", "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE", "-r", path,
	       "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,",
	       "-E", "separator=/t"]
	for f in FIELDS:
		cmd += ["-e", f]
	out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
			     check=True).stdout.decode()
	for line in out.splitlines():
		cols = line.split("\t")
		cols += [""] * (len(FIELDS) - len(cols))
		yield {f: (c.split(",") if c else []) for f, c in zip(FIELDS, cols)}

def pick(row, field, idx):
	v = row[field]
	return v[idx] if idx < len(v) else None

class Frags:
	"""IPv4 fragment accounting keyed by tunnel + (src, dst, id, proto)."""

	def __init__(self):
		self.tab = {}
		self.skipped = []  # frames left out, with the reason

	def add(self, key, off, plen, mf, hlen, ports):
		e = self.tab.setdefault(key, {"parts": {}, "end": None, "hlen": 20, "ports": None,
					      "n": 0, "wire": 0})
		e["parts"][off] = plen
		e["n"] += 1
		e["wire"] += hlen + plen
		if not mf:
			e["end"] = off + plen
		if off == 0:
			e["hlen"], e["ports"] = hlen, ports
		if e["end"] is None or e["ports"] is None:
			return None
		pos = 0
		for o in sorted(e["parts"]):
			if o > pos:
				return None
			pos = max(pos, o + e["parts"][o])
		if pos < e["end"]:
			return None
		del self.tab[key]
		return e["hlen"] + e["end"], e["ports"], e["n"], e["wire"]

def frame_packet(row, frags):
	"""(proto, src, sport, dst, dport, bytes, tunneled) for the frame, or None."""
	toks = row["frame.protocols"][0].split(":") if row["frame.protocols"] else []
	if "gtpv2" in toks or "gtpprime" in toks:
		return None
	if "gtp" in toks:
		g = toks.index("gtp")
		if g + 1 >= len(toks) or toks[g + 1] not in ("ip", "ipv6"):
			return None  # GTP-C v1, signalling, or a non-IP T-PDU
		# A GTP-U length beyond the datagram is invalid (TS 29.281 5.1): tshark still shows
		# the inner packet, and mcprobe counts it malformed (BAD_GTPU_LEN) and accounts it.
		tun = (pick(row, "ip.src", 0) or pick(row, "ipv6.src", 0),
		       pick(row, "ip.dst", 0) or pick(row, "ipv6.dst", 0), pick(row, "gtp.teid", 0))
		if toks[:g].count("ip") == 1 and toks[:g].count("ipv6") == 0 and \
		   pick(row, "ip.flags.mf", 0) in ("1", "True"):
			# outer first fragment: the T-PDU counts once the outer datagram is whole
			hl = int(pick(row, "ip.hdr_len", 0) or 20)
			done = frags.add((None, tun[0], tun[1], pick(row, "ip.id", 0), 17), 0,
					 int(pick(row, "ip.len", 0)) - hl, True, hl,
					 ("tpdu", (row, toks, g + 1, tun)))
			if done is None:
				return None
			return layer_packet(*done[1][1], frags)
		return layer_packet(row, toks, g + 1, tun, frags)
	pos = next((i for i, t in enumerate(toks) if t in ("ip", "ipv6")), None)
	if pos is None:
		return None
	return layer_packet(row, toks, pos, None, frags)

def layer_packet(row, toks, pos, tun, frags):
	"""The packet whose IP layer is toks[pos] (tun: the carrying tunnel or None)."""
	tunneled = tun is not None
	l3 = toks[pos]
	n = toks[:pos].count(l3)
	frag = False
	if l3 == "ip":
		src, dst = pick(row, "ip.src", n), pick(row, "ip.dst", n)
		proto = int(pick(row, "ip.proto", n) or -1)
		length = int(pick(row, "ip.len", n) or 0)
		off = int(pick(row, "ip.frag_offset", n) or 0)
		mf = pick(row, "ip.flags.mf", n) in ("1", "True")
		frag = mf or off > 0
		hlen = int(pick(row, "ip.hdr_len", n) or 20)
		ipid = pick(row, "ip.id", n)
	else:
		src, dst = pick(row, "ipv6.src", n), pick(row, "ipv6.dst", n)
		proto = int(pick(row, "ipv6.nxt", n) or -1)
		length = 40 + int(pick(row, "ipv6.plen", n) or 0)
		if "ipv6.fraghdr" in toks[pos:]:
			raise ValueError("frame %s: IPv6 fragment, not handled by this oracle" %
					 row["frame.number"][0])
	if src is None or dst is None:
		return None
	# the first transport layer after the IP layer (skipping IPv6 extension headers)
	l4 = None
	for t in toks[pos + 1:]:
		if t in L4_TOKENS:
			l4 = t
			break
		if t in ("ip", "ipv6"):
			break
	if l4:
		proto = L4_TOKENS[l4]
	sport = dport = 0
	if l4 in PORTED:
		k = toks[:toks.index(l4, pos)].count(l4)
		sport = int(pick(row, l4 + ".srcport", k) or 0)
		dport = int(pick(row, l4 + ".dstport", k) or 0)
	if frag:
		done = frags.add((tun, src, dst, ipid, proto), off * 8, length - hlen, mf, hlen,
				 ("ports", (sport, dport)) if off == 0 else None)
		if done is None:
			return None
		length, first, npk, wire = done
		if first[0] == "tpdu":  # the last piece of an outer-fragmented T-PDU
			return layer_packet(*first[1], frags)
		sport, dport = first[1]
		pkts, length = npk, wire  # every fragment was a packet on the wire
	else:
		pkts = 1
	if not tunneled and proto == 17 and (sport in GTP_PORTS or dport in GTP_PORTS):
		return None
	return proto, src, sport, dst, dport, length, pkts

def canon(proto, a, ap, b, bp):
	"""Bidirectional key and whether (a, ap) is the first endpoint."""
	if proto not in PORTED.values():
		ap = bp = 0
	ea, eb = (a, ap), (b, bp)
	return ((proto,) + (ea + eb if ea <= eb else eb + ea)), ea <= eb

def add(tab, proto, a, ap, b, bp, pkts, nbytes):
	k, fwd = canon(proto, a, ap, b, bp)
	c = tab[k]
	i = 0 if fwd else 1
	c[i] += pkts
	c[2 + i] += nbytes

def tshark_flows(path):
	tab = collections.defaultdict(lambda: [0, 0, 0, 0])
	frags = Frags()
	for row in tshark_rows(path):
		p = frame_packet(row, frags)
		if p:
			proto, s, sp, d, dp, n, pkts = p
			add(tab, proto, s, sp, d, dp, pkts, n)
	return tab, frags.skipped

def mcprobe_flows(mcprobe, path):
	p = subprocess.run([mcprobe, "-r", path, "--flows-json", "-"], stdout=subprocess.PIPE,
			   stderr=subprocess.PIPE, timeout=300)
	if p.returncode != 0:
		raise RuntimeError("mcprobe exit %d: %s" % (p.returncode, p.stderr.decode()[-500:]))
	tab = collections.defaultdict(lambda: [0, 0, 0, 0])
	for line in p.stdout.decode().splitlines():
		if not line.strip():
			continue
		r = json.loads(line)
		proto = int(r["proto"])
		sp, dp = int(r.get("src_port") or 0), int(r.get("dst_port") or 0)
		if proto == 17 and not r.get("teid_up") and not r.get("teid_down") and \
		   (sp in GTP_PORTS or dp in GTP_PORTS):
			continue
		s, d = r["src_ip"], r["dst_ip"]
		add(tab, proto, s, sp, d, dp, int(r["pkts_up"]), int(r["bytes_up"]))
		add(tab, proto, d, dp, s, sp, int(r["pkts_down"]), int(r["bytes_down"]))
	return tab

def has_gtpu(path):
	out = subprocess.run(["tshark", "-r", path, "-Y", "gtp.message==0xff", "-T", "fields",
			      "-e", "frame.number"], stdout=subprocess.PIPE,
			     stderr=subprocess.DEVNULL).stdout
	return bool(out.strip())

def fmt(k, c):
	return "%s %s:%s <-> %s:%s  pkts %d/%d bytes %d/%d" % (k[0], k[1], k[2], k[3], k[4],
							       c[0], c[1], c[2], c[3])

def main():
	build = os.environ.get("BUILD", "build")
	mcprobe = os.path.join(ROOT, build, "mcprobe")
	if not os.access(mcprobe, os.X_OK):
		print("FAIL: %s not built" % mcprobe)
		return 1
	files = sorted(glob.glob(os.path.join(PCAPS, "*.pcap")) +
		       glob.glob(os.path.join(PCAPS, "*.pcapng")))
	if not files:
		print("FAIL: no captures in %s" % PCAPS)
		return 1
	bad = 0
	checked = 0
	def gather(f):
		name = os.path.basename(f)
		if not has_gtpu(f) and name != "ndpi-zoom.pcap":
			return None
		want, skipped = tshark_flows(f)
		try:
			got = mcprobe_flows(mcprobe, f)
		except (RuntimeError, ValueError, KeyError) as e:
			got = e
		return name, want, skipped, got

	with concurrent.futures.ThreadPoolExecutor(max_workers=2) as ex:
		results = list(ex.map(gather, files))
	for res in results:
		if res is None:
			continue
		name, want, skipped, got = res
		checked += 1
		if isinstance(got, Exception):
			print("FAIL %s: %s" % (name, got))
			bad += 1
			continue
		diffs = []
		for k in sorted(set(want) | set(got), key=str):
			w = want.get(k, [0, 0, 0, 0])
			g = got.get(k, [0, 0, 0, 0])
			if w != g:
				diffs.append("tshark %s\n          mcprobe %s" % (fmt(k, w), fmt(k, g)))
		for sk in skipped:
			print("note %s: skipped %s" % (name, sk))
		tp = sum(c[0] + c[1] for c in want.values())
		gp = sum(c[0] + c[1] for c in got.values())
		if diffs:
			bad += 1
			print("FAIL %s: %d of %d flows differ (packets tshark %d, mcprobe %d)" % (
				name, len(diffs), len(set(want) | set(got)), tp, gp))
			for d in diffs[:15]:
				print("    " + d)
			if len(diffs) > 15:
				print("    ... %d more" % (len(diffs) - 15))
		else:
			print("ok   %s: %d flows, %d packets, %d bytes" % (
				name, len(want), tp, sum(c[2] + c[3] for c in want.values())))
	if checked == 0:
		print("FAIL: no capture with GTP-U found in %s" % PCAPS)
		return 1
	print("it_oracle_tshark: %d captures, %d differ" % (checked, bad))
	return 1 if bad else 0

if __name__ == "__main__":
	sys.exit(main())
