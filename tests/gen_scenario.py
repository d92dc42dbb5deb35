#!/usr/bin/python3
"""gen_scenario.py - deterministic synthetic mobile-network capture with its expected results.

Writes a pcap (Ethernet, microsecond stamps) and a JSON file describing exactly what a
probe must report for it:

  /usr/bin/python3 tests/gen_scenario.py --out X.pcap --expect X.json [--subscribers N] [--seed S]

Control plane (hand-encoded, TS 29.060 / TS 29.274, checked once with tshark):
  * GTPv2 on S11 (MME 10.10.0.1 <-> SGW-C 10.10.0.2): Create Session Request/Response with
    IMSI, MSISDN, MEI, APN, RAT=EUTRAN(6), PAA (IPv4 or IPv4v6) and F-TEIDs in bearer
    contexts; Modify Bearer with the eNB S1-U F-TEID (initial, and later again = X2 handover
    to another eNB in the middle of running flows); Create Bearer Request/Response for a
    dedicated bearer (EBI 6, TFT UDP port 5004); Delete Session Request/Response.
  * GTPv1 on Gn (SGSN 10.40.0.1/.2 <-> GGSN 10.50.0.1): Create PDP Context Request/Response
    (IMSI, MSISDN, IMEISV, APN, RAT=UTRAN(1), End User Address), secondary PDP context
    (Linked NSAPI, TFT), Update PDP Context from a second SGSN (inter-SGSN handover, no
    IMSI in the request, matched by control TEID), Delete PDP Context.
  * Rejected creates (v2 cause 73, v1 cause 199): no session. Lost responses (request sent
    three times, never answered): no session. Retransmitted requests (same sequence number
    sent twice, then one response): one session.
  * Delete followed by a re-attach of the same IMSI with a NEW UE IP and new TEIDs.
  * Stragglers: after 30% of the deletes, one uplink DNS query on the deleted bearer within
    220 ms of the response; it still belongs to the deleted subscriber (grace period).
  * TEID reuse: half of the attaches that find a core-side TEID freed by a Delete >= 1 s
    earlier (same SGW-U / GGSN address) get that TEID, as gateways do; traffic on it must
    go to the new owner although the old session may still be in its delete grace.

User plane: GTP-U T-PDUs (uplink access -> core with the core TEID, downlink core -> access
with the access TEID; 10% of sessions use the S flag with sequence numbers) carrying DNS
query/response (real names), HTTP GET + 200, TLS with a
ClientHello carrying SNI + ServerHello + application data, QUIC v1 (a real client Initial:
ClientHello with SNI encrypted with the Initial keys, RFC 9001; then short-header packets;
needs python3-cryptography), IPv6 flows for IPv4v6 sessions,
and an RTP-like UDP flow on dedicated/secondary bearers. Also GTP-U that is not user
traffic: End Markers to the old eNB after each X2 handover, and Echo Request/Response
between every eNB and SGW-U every 10 s. And --unknown UEs (100.127.0.0/16) whose bearers
were set up before the capture: GTP-U without GTP-C, so their flows have no IMSI. Plus plain untunnelled traffic on
VLAN 100 (TCP/HTTP, TLS, DNS) between 192.168.1.0/24 clients and servers.

Timing: subscriber i starts at T0 + i * --spacing seconds; every flow lasts < 8 s with gaps
< 1 s between its packets, except long-lived push connections (TLS to web.whatsapp.com,
20-40 s, keepalives every 2-8 s) that ~40% of long sessions have; so no flow reaches the
default active timeout (120 s) or an idle timeout >= 10 s, and a run with short timeouts
cuts many flows into several records. All flows of a subscriber end >= 2 s before its
Delete. Flows still present
at the end of the capture are exported with end_reason "flush" (or fin/rst). The checker
(tests/it_scenario.py) sums records per 5-tuple anyway, so a probe with shorter timeouts
still compares exactly on totals.

Expected JSON:
  meta: seed, counts, first/last frame time
  flows: one per inner 5-tuple, key with src = up side (UE / client): proto, ip_version,
         src_ip, src_port, dst_ip, dst_port, pkts/bytes up/down (bytes = inner IP total
         length), first_ms, last_ms, imsi (or null for plain traffic), vlan, app (an nDPI
         protocol name expected among the record's app/master_app names, or null), host
         (or null), teid_up, teid_down (null when a handover changed it mid-flow),
         outer_src/outer_dst of the first uplink packet (tunnelled flows), end ("fin" or
         "rst" for TCP flows, which all close before the capture ends; null for UDP), sub
         (msisdn, imei, apn, ue_ipv4, ue_ipv6, rat of the session the flow belongs to)
  imsi_totals: imsi -> pkts/bytes up/down and flow count
  subscribers: imsi, msisdn, imei, apn, ue_ipv4, ue_ipv6, rat, gtp_version, state,
         tunnels (user-plane F-TEIDs in force at the end, for active sessions), kind
         (normal | rejected | lost), events (every accepted change at its response time:
         create, modify = handover or eNB F-TEID, bearer, delete; with the user-plane
         tunnels it adds); meta.user_plane_addrs lists every access/core address
"""

import argparse
import ipaddress
import json
import os
import random
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scenario_lib as L  # noqa: E402

import logging  # noqa: E402
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.layers.inet import IP, TCP, UDP  # noqa: E402
from scapy.layers.inet6 import IPv6  # noqa: E402
from scapy.layers.dns import DNS, DNSQR, DNSRR  # noqa: E402
from scapy.layers.tls.record import TLS  # noqa: E402
from scapy.layers.tls.handshake import TLSClientHello  # noqa: E402
from scapy.layers.tls.extensions import (TLS_Ext_ServerName, ServerName,  # noqa: E402
					 TLS_Ext_SupportedVersion_CH,
					 TLS_Ext_SupportedGroups)

MME, SGW_C, PGW_C = "10.10.0.1", "10.10.0.2", "10.10.0.3"
SGW_U = ["10.20.0.2", "10.20.0.3"]
ENBS = ["10.30.0.%d" % i for i in range(1, 9)]
SGSNS = ["10.40.0.1", "10.40.0.2"]
GGSN = "10.50.0.1"
DNS4, DNS6 = "8.8.8.8", "2001:4860:4860::8888"
IMS_MEDIA = "10.99.0.10"

US = 1000000
T0 = 1700000000 * US

# (name, server IPv4, server IPv6, nDPI app expected among the record's protocol names)
TLS_SERVICES = [
	("www.google.com", "142.250.74.100", "2a00:1450:4001:82b::2004", "Google"),
	("www.youtube.com", "142.250.74.110", "2a00:1450:4001:82b::200e", "YouTube"),
	("www.netflix.com", "54.155.178.5", "2a05:d018:76c:b685::5", "NetFlix"),
	("www.facebook.com", "157.240.20.35", "2a03:2880:f12d:83:face:b00c:0:25de", "Facebook"),
	("web.whatsapp.com", "157.240.20.60", "2a03:2880:f22d:c5:face:b00c:0:167", "WhatsApp"),
	("api.twitter.com", "104.244.42.66", "2606:1f80:6::2", "Twitter"),
	("www.amazon.com", "52.94.236.248", "2600:9000:2255:2e00::8", "Amazon"),
	("www.wikipedia.org", "185.15.59.224", "2a02:ec80:300:ed1a::1", "Wikipedia"),
]
HTTP_SERVICES = [
	("www.example.com", "93.184.216.34"),
	("neverssl.com", "34.223.124.45"),
	("httpbin.org", "54.166.163.67"),
]

class Bearer:
	"""One bearer / PDP context: core-side F-TEID fixed, access side changes on handover."""

	def __init__(self, ebi, core_addr, core_teid):
		self.ebi = ebi
		self.core_addr, self.core_teid = core_addr, core_teid
		self.epochs = []  # (t_from_us, access_addr, access_teid)

	def access_at(self, t):
		cur = None
		for e in self.epochs:
			if e[0] <= t:
				cur = e
		return cur

class Attach:
	def __init__(self, sub, version, ue4, ue6):
		self.sub, self.version, self.ue4, self.ue6 = sub, version, ue4, ue6
		self.bearers = {}
		self.t_ready = self.t_end = 0
		self.forbidden = []   # (from, to) windows with no user packets (handover in flight)
		self.sport = 40000
		self.seqflag = False  # GTP-U with the S flag and sequence numbers
		self.gtpu_seq = 0

class Gen:
	def __init__(self, args):
		self.a = args
		self.rng = random.Random(args.seed)
		self.fr = L.Framer()
		self.frames = []      # (ts_us, order, bytes)
		self.order = 0
		self.flows = []
		self.subs = []
		self.teids = set()
		self.freed = {}       # core address -> [(teid, freed at us)] for TEID reuse
		self.reused = 0
		self.v1_seq = 1
		self.v2_seq = 1
		self.ue_next = int(ipaddress.IPv4Address("100.64.0.10"))
		self.ue6_next = 1
		self.charging = 1000
		self.ch_cache = {}
		self.plain_next = 0

	# -- helpers ------------------------------------------------------------------------
	def emit(self, ts, frame):
		self.frames.append((ts, self.order, frame))
		self.order += 1

	@staticmethod
	def ev(sub, t, kind, tunnels=()):
		"""A session change the probe must report at response time t (us)."""
		sub.setdefault("events", []).append(dict(ms=t // 1000, kind=kind, tunnels=[
			dict(teid=te, addr=a, dir=d) for te, a, d in tunnels]))

	def teid(self):
		while True:
			t = self.rng.randrange(0x100, 0xFFFFFFFF)
			if t not in self.teids:
				self.teids.add(t)
				return t

	def core_teid(self, addr, t):
		"""A core-side user-plane TEID at addr; half the time one freed by a Delete at
		least 1 s before t (gateways reuse TEIDs; the probe must follow the new owner)."""
		lst = self.freed.get(addr, [])
		ok = [x for x in lst if x[1] + US <= t]
		if ok and self.rng.random() < 0.5:
			lst.remove(ok[0])
			self.reused += 1
			return ok[0][0]
		return self.teid()

	def free_core(self, att, t):
		for b in att.bearers.values():
			self.freed.setdefault(b.core_addr, []).append((b.core_teid, t))

	def seq1(self):
		self.v1_seq = self.v1_seq % 0xFFFF + 1
		return self.v1_seq

	def seq2(self):
		self.v2_seq = self.v2_seq % 0xFFFFFF + 1
		return self.v2_seq

	def new_ue4(self):
		ip = str(ipaddress.IPv4Address(self.ue_next))
		self.ue_next += 1
		if self.ue_next & 0xFF in (0, 255):
			self.ue_next += 2
		return ip

	def new_ue6(self):
		ip = "2001:db8:100:%x::%x:1" % (self.ue6_next, self.ue6_next)
		self.ue6_next += 1
		return ip

	def client_hello(self, sni):
		if sni not in self.ch_cache:
			ch = TLSClientHello(
				version=0x0303, gmt_unix_time=0x5f000000,
				random_bytes=bytes(range(28)), sid=bytes(32),
				ciphers=[0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030],
				ext=[TLS_Ext_ServerName(servernames=[ServerName(servername=sni.encode())]),
				     TLS_Ext_SupportedGroups(groups=[29, 23, 24]),
				     TLS_Ext_SupportedVersion_CH(versions=[0x0304, 0x0303])])
			self.ch_cache[sni] = bytes(TLS(version=0x0301, msg=[ch]))
		return self.ch_cache[sni]

	@staticmethod
	def server_hello():
		body = struct.pack("!H", 0x0303) + bytes(range(32, 64)) + b"\x00" + \
			struct.pack("!HB", 0x1301, 0) + struct.pack("!HHHH", 6, 0x002B, 2, 0x0304)
		hs = bytes([2]) + struct.pack("!I", len(body))[1:] + body
		rec = b"\x16\x03\x03" + struct.pack("!H", len(hs)) + hs
		return rec + b"\x14\x03\x03\x00\x01\x01"

	@staticmethod
	def app_data(n, fill):
		return b"\x17\x03\x03" + struct.pack("!H", n) + bytes([fill & 0xFF]) * n

	# -- inner flows: lists of (dir, gap_us, packet bytes) --------------------------------
	def ipl(self, src, dst):
		if ":" in src:
			return IPv6(src=src, dst=dst, hlim=64)
		return IP(src=src, dst=dst, ttl=64, id=self.rng.randrange(65536), flags="DF")

	def tcp_flow(self, c, cp, s, sp, exchanges, rst=False):
		"""exchanges: list of (dir, payload). Handshake, data with ACKs, FIN close
		(client last) or a client RST."""
		r = self.rng
		cs, ss = r.randrange(1 << 32), r.randrange(1 << 32)
		rtt = r.randrange(20000, 80000)
		out = []

		def seg(d, flags, data=b"", gap=0):
			nonlocal cs, ss
			if d == "up":
				p = self.ipl(c, s) / TCP(sport=cp, dport=sp, flags=flags, seq=cs,
							 ack=ss if "A" in flags else 0, window=65535)
			else:
				p = self.ipl(s, c) / TCP(sport=sp, dport=cp, flags=flags, seq=ss,
							 ack=cs, window=65535)
			if data:
				p = p / data
			out.append((d, gap, bytes(p)))
			adv = len(data) + (1 if ("S" in flags or "F" in flags) else 0)
			if d == "up":
				cs = (cs + adv) & 0xFFFFFFFF
			else:
				ss = (ss + adv) & 0xFFFFFFFF

		seg("up", "S", gap=0)
		seg("down", "SA", gap=rtt // 2)
		seg("up", "A", gap=rtt // 2)
		for ex in exchanges:
			d, data = ex[0], ex[1]
			seg(d, "PA", data, gap=ex[2] if len(ex) > 2 else r.randrange(1000, 60000))
			seg("down" if d == "up" else "up", "A", gap=r.randrange(1000, rtt))
		if rst:
			seg("up", "RA", gap=r.randrange(10000, 300000))
		else:
			seg("up", "FA", gap=r.randrange(10000, 300000))
			seg("down", "FA", gap=rtt // 2)
			seg("up", "A", gap=rtt // 2)
		return out

	def dns_flow(self, c, cp, s, name, answer):
		qid = self.rng.randrange(65536)
		qtype = "AAAA" if ":" in answer else "A"
		q = self.ipl(c, s) / UDP(sport=cp, dport=53) / DNS(id=qid, rd=1, qd=DNSQR(
			qname=name, qtype=qtype))
		a = self.ipl(s, c) / UDP(sport=53, dport=cp) / DNS(
			id=qid, qr=1, rd=1, ra=1, qd=DNSQR(qname=name, qtype=qtype),
			an=DNSRR(rrname=name, type=qtype, ttl=300, rdata=answer))
		return [("up", 0, bytes(q)), ("down", self.rng.randrange(5000, 60000), bytes(a))]

	def http_flow(self, c, cp, s, host):
		req = ("GET /index.html HTTP/1.1\r\nHost: %s\r\nUser-Agent: mcprobe-scenario/1.0\r\n"
		       "Accept: */*\r\n\r\n" % host).encode()
		n = self.rng.randrange(200, 1200)
		rsp = ("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n"
		       % n).encode() + b"x" * n
		return self.tcp_flow(c, cp, s, 80, [("up", req), ("down", rsp)])

	def tls_flow(self, c, cp, s, sni):
		r = self.rng
		ex = [("up", self.client_hello(sni)), ("down", self.server_hello()),
		      ("up", self.app_data(r.randrange(60, 400), 1))]
		for _ in range(r.randrange(2, 8)):
			ex.append(("down", self.app_data(r.randrange(500, 1400), 2)))
		ex.append(("up", self.app_data(r.randrange(30, 100), 3)))
		return self.tcp_flow(c, cp, s, 443, ex, rst=r.random() < 0.1)

	def push_flow(self, c, cp, s, sni, n):
		"""A long-lived TLS connection (push/messaging): keepalives every 2-8 s."""
		r = self.rng
		ex = [("up", self.client_hello(sni)), ("down", self.server_hello()),
		      ("up", self.app_data(r.randrange(60, 200), 1))]
		for _ in range(n):
			ex.append(("down", self.app_data(r.randrange(40, 120), 4),
				   r.randrange(2 * US, 8 * US)))
			ex.append(("up", self.app_data(r.randrange(40, 120), 5)))
		return self.tcp_flow(c, cp, s, 443, ex)

	def quic_flow(self, c, cp, s, sni):
		"""QUIC v1: client Initial (encrypted ClientHello with SNI, 1200 bytes), then
		short-header packets both ways (server data, client acks)."""
		r = self.rng
		dcid = bytes(r.randrange(256) for _ in range(8))
		scid = bytes(r.randrange(256) for _ in range(8))
		out = [("up", 0, bytes(self.ipl(c, s) / UDP(sport=cp, dport=443) /
				       L.quic_initial(dcid, scid, 0, sni)))]
		for i in range(r.randrange(3, 10)):
			n = r.randrange(200, 1250)
			pl = bytes([0x40 | (i & 0x3F)]) + scid + bytes(r.randrange(256) for _ in range(n))
			out.append(("down", r.randrange(5000, 60000),
				    bytes(self.ipl(s, c) / UDP(sport=443, dport=cp) / pl)))
			if i % 2:
				pl = bytes([0x41]) + dcid + bytes(r.randrange(256) for _ in range(30))
				out.append(("up", r.randrange(1000, 20000),
					    bytes(self.ipl(c, s) / UDP(sport=cp, dport=443) / pl)))
		return out

	def rtp_flow(self, c, cp, s, sp, n):
		out = []
		for i in range(n):
			for d in ("up", "down"):
				src, dst, a, b = (c, s, cp, sp) if d == "up" else (s, c, sp, cp)
				pl = struct.pack("!BBHII", 0x80, 0x60, i, i * 160, 0x1234 if d == "up"
						 else 0x5678) + bytes([i & 0xFF]) * 32
				p = self.ipl(src, dst) / UDP(sport=a, dport=b) / pl
				out.append((d, 20000 if d == "up" else 3000, bytes(p)))
		return out

	# -- flow bookkeeping ----------------------------------------------------------------
	def add_flow(self, pkts, t_start, key, att=None, bearer_ebi=5, app=None, host=None,
		     vlan=0):
		"""Schedules pkts from t_start; returns the end time."""
		proto, src, sport, dst, dport = key
		fl = dict(proto=proto, ip_version=6 if ":" in src else 4, src_ip=src,
			  src_port=sport, dst_ip=dst, dst_port=dport, pkts_up=0, pkts_down=0,
			  bytes_up=0, bytes_down=0, imsi=att.sub["imsi"] if att else None,
			  vlan=vlan, app=app, host=host, teid_up=None, teid_down=None,
			  outer_src=None, outer_dst=None, end=None, sub=None)
		if att and att.sub["imsi"]:
			fl["sub"] = dict(msisdn=att.sub["msisdn"], imei=att.sub["imei"],
					 apn=att.sub["apn"], ue_ipv4=att.ue4, ue_ipv6=att.ue6,
					 rat=att.sub["rat"])
		last = pkts[-1][2]
		if proto == 6:
			fb = last[53] if last[0] >> 4 == 6 else last[(last[0] & 15) * 4 + 13]
			fl["end"] = "rst" if fb & 0x04 else "fin"
		t = t_start
		teid_downs = set()
		first = True
		for d, gap, pkt in pkts:
			t += gap
			if att:
				for (w0, w1) in att.forbidden:
					if w0 <= t <= w1:
						t = w1 + 1000
			if first:
				fl["first_us"] = t
				first = False
			fl["last_us"] = t
			if d == "up":
				fl["pkts_up"] += 1
				fl["bytes_up"] += len(pkt)
			else:
				fl["pkts_down"] += 1
				fl["bytes_down"] += len(pkt)
			if att:
				b = att.bearers[bearer_ebi]
				ep = b.access_at(t)
				sq = None
				if att.seqflag:
					att.gtpu_seq += 1
					sq = att.gtpu_seq
				if d == "up":
					frame = self.fr.gtpu(ep[1], b.core_addr, b.core_teid, pkt, sq)
					fl["teid_up"] = b.core_teid
					if fl["outer_src"] is None:
						fl["outer_src"], fl["outer_dst"] = ep[1], b.core_addr
				else:
					frame = self.fr.gtpu(b.core_addr, ep[1], ep[2], pkt, sq)
					teid_downs.add(ep[2])
			else:
				eth = L.mac_for(dst if d == "up" else src) + \
					L.mac_for(src if d == "up" else dst)
				if ":" in src:
					eth = b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02"
				if vlan:
					eth += struct.pack("!HH", 0x8100, vlan)
				eth += b"\x86\xdd" if ":" in src else b"\x08\x00"
				frame = eth + pkt
			self.emit(t, frame)
		if len(teid_downs) == 1:
			fl["teid_down"] = teid_downs.pop()
		self.flows.append(fl)
		return t

	def user_flows(self, att, t_from, t_to):
		"""A few flows for one attach, all inside [t_from, t_to)."""
		r = self.rng
		if t_to - t_from > 50 * US and r.random() < 0.4:
			# one long-lived push connection (20-40 s, gaps of 2-8 s)
			v6 = att.ue6 is not None and r.random() < 0.5
			ue = att.ue6 if v6 else att.ue4
			name, s4, s6, app = TLS_SERVICES[4]
			att.sport += r.randrange(1, 50)
			pk = self.push_flow(ue, att.sport, s6 if v6 else s4, name, r.randrange(3, 5))
			self.add_flow(pk, r.randrange(t_from, t_to - 45 * US),
				      (6, ue, att.sport, s6 if v6 else s4, 443), att, app=app, host=name)
		n = r.randrange(2, 6)
		for _ in range(n):
			if t_to - t_from < 9 * US:
				break
			start = r.randrange(t_from, t_to - 8 * US)
			v6 = att.ue6 is not None and r.random() < 0.5
			ue = att.ue6 if v6 else att.ue4
			kind = r.choice(["tls", "tls", "tls", "http", "dns", "quic"])
			att.sport += r.randrange(1, 50)
			sp = att.sport
			if kind == "quic":
				name, s4, s6, app = r.choice(TLS_SERVICES)
				srv = s6 if v6 else s4
				pk = self.quic_flow(ue, sp, srv, name)
				self.add_flow(pk, start, (17, ue, sp, srv, 443), att, app=app,
					      host=name)
			elif kind == "tls" or kind == "dns":
				name, s4, s6, app = r.choice(TLS_SERVICES)
				srv = s6 if v6 else s4
				# DNS lookup first (its own flow), then TLS
				dsp = sp
				att.sport += 1
				pk = self.dns_flow(ue, dsp, DNS6 if v6 else DNS4, name, srv)
				end = self.add_flow(pk, start, (17, ue, dsp, DNS6 if v6 else DNS4, 53), att,
						    app="DNS", host=name)
				if kind == "tls":
					sp = att.sport
					att.sport += 1
					pk = self.tls_flow(ue, sp, srv, name)
					self.add_flow(pk, end + r.randrange(1000, 30000),
						      (6, ue, sp, srv, 443), att, app=app, host=name)
			else:
				host, srv = r.choice(HTTP_SERVICES)
				if v6:
					continue
				pk = self.http_flow(ue, sp, srv, host)
				self.add_flow(pk, start, (6, ue, sp, srv, 80), att, app="HTTP", host=host)

	# -- GTPv2 subscriber ----------------------------------------------------------------
	def v2_attach(self, sub, t, mode="normal", retrans=False, dual=False):
		"""Create Session (+ initial Modify Bearer). Returns the Attach or None."""
		r = self.rng
		mme_c, seq = self.teid(), self.seq2()
		sgw_u = r.choice(SGW_U)
		enb = r.choice(ENBS)
		ue4 = self.new_ue4()
		ue6 = self.new_ue6() if dual else None
		req = L.v2_msg(L.V2_CREATE_SESSION_REQ, 0, seq, [
			L.v2_imsi(sub["imsi"]), L.v2_msisdn(sub["msisdn"]), L.v2_mei(sub["imei"]),
			L.v2_uli(0x0101, 0x1000 + ENBS.index(enb)), L.v2_serving_network(),
			L.v2_rat(6), L.v2_fteid(L.IF_S11_MME, mme_c, MME),
			L.v2_fteid(L.IF_S5C_PGW, 0, PGW_C, instance=1), L.v2_apn(sub["apn"]),
			L.v2_selection_mode(), L.v2_pdn_type(3 if dual else 1),
			L.v2_paa("0.0.0.0", "::" if dual else None), L.v2_apn_restriction(),
			L.v2_ambr(), L.v2_bearer_ctx([L.v2_ebi(5), L.v2_bearer_qos(9)])])
		self.emit(t, self.fr.gtpc(MME, SGW_C, req))
		if mode == "lost":
			self.emit(t + 3 * US, self.fr.gtpc(MME, SGW_C, req))
			self.emit(t + 6 * US, self.fr.gtpc(MME, SGW_C, req))
			return None
		if retrans:
			t += 1 * US
			self.emit(t, self.fr.gtpc(MME, SGW_C, req))
		t += 20000
		if mode == "rejected":
			rsp = L.v2_msg(L.V2_CREATE_SESSION_RSP, mme_c, seq, [L.v2_cause(73)])
			self.emit(t, self.fr.gtpc(SGW_C, MME, rsp))
			return None
		sgw_c, pgw_c, pgw_u = self.teid(), self.teid(), self.teid()
		sgw_teid = self.core_teid(sgw_u, t)
		rsp = L.v2_msg(L.V2_CREATE_SESSION_RSP, mme_c, seq, [
			L.v2_cause(16), L.v2_fteid(L.IF_S11_SGW, sgw_c, SGW_C),
			L.v2_fteid(L.IF_S5C_PGW, pgw_c, PGW_C, instance=1),
			L.v2_paa(ue4, ue6), L.v2_apn_restriction(), L.v2_ambr(),
			L.v2_bearer_ctx([L.v2_ebi(5), L.v2_cause(16),
					 L.v2_fteid(L.IF_S1U_SGW, sgw_teid, sgw_u),
					 L.v2_fteid(L.IF_S5U_PGW, pgw_u, "10.60.0.1", instance=2),
					 L.v2_bearer_qos(9), L.v2_charging_id(self.charging)])])
		self.charging += 1
		self.emit(t, self.fr.gtpc(SGW_C, MME, rsp))
		self.ev(sub, t, "create", [(sgw_teid, sgw_u, "up")])
		att = Attach(sub, 2, ue4, ue6)
		att.mme_c, att.sgw_c, att.sgw_u = mme_c, sgw_c, sgw_u
		att.bearers[5] = Bearer(5, sgw_u, sgw_teid)
		t += 30000
		self.v2_modify(att, t, {5: (enb, self.teid())})
		att.t_ready = t + 20000
		return att

	def v2_modify(self, att, t, new_access):
		"""Modify Bearer with eNB F-TEIDs {ebi: (enb, teid)}; new access valid at response."""
		seq = self.seq2()
		ctxs = [L.v2_bearer_ctx([L.v2_ebi(e), L.v2_fteid(L.IF_S1U_ENB, te, enb)])
			for e, (enb, te) in sorted(new_access.items())]
		enb0 = new_access[min(new_access)][0]
		req = L.v2_msg(L.V2_MODIFY_BEARER_REQ, att.sgw_c, seq,
			       [L.v2_uli(0x0101, 0x1000 + ENBS.index(enb0))] + ctxs)
		self.emit(t, self.fr.gtpc(MME, SGW_C, req))
		rctx = [L.v2_bearer_ctx([L.v2_ebi(e), L.v2_cause(16),
					 L.v2_fteid(L.IF_S1U_SGW, att.bearers[e].core_teid,
						    att.bearers[e].core_addr)])
			for e in sorted(new_access)]
		rsp = L.v2_msg(L.V2_MODIFY_BEARER_RSP, att.mme_c, seq, [L.v2_cause(16)] + rctx)
		self.emit(t + 5000, self.fr.gtpc(SGW_C, MME, rsp))
		self.ev(att.sub, t + 5000, "modify", [(te, enb, "down") for enb, te in
						      new_access.values()])
		for e, (enb, te) in sorted(new_access.items()):
			b = att.bearers[e]
			if b.epochs:
				# path switch: End Marker to the old eNB on the old tunnel (TS 29.281 7.3.2)
				self.emit(t + 5500, self.fr.gtpu(b.core_addr, b.epochs[-1][1],
								 b.epochs[-1][2], b"", mtype=0xFE))
			b.epochs.append((t + 5000, enb, te))
		att.forbidden.append((t - 1000, t + 6000))

	def v2_dedicated(self, att, t):
		seq = self.seq2()
		sgw_teid = self.teid()
		req = L.v2_msg(L.V2_CREATE_BEARER_REQ, att.mme_c, seq, [
			L.v2_ebi(5), L.v2_bearer_ctx([
				L.v2_ebi(0), L.v2_tft_udp_port(5004),
				L.v2_fteid(L.IF_S1U_SGW, sgw_teid, att.sgw_u), L.v2_bearer_qos(1)])])
		self.emit(t, self.fr.gtpc(SGW_C, MME, req))
		enb = att.bearers[5].access_at(t)[1]
		enb_teid = self.teid()
		rsp = L.v2_msg(L.V2_CREATE_BEARER_RSP, att.sgw_c, seq, [
			L.v2_cause(16), L.v2_bearer_ctx([
				L.v2_ebi(6), L.v2_cause(16), L.v2_fteid(L.IF_S1U_ENB, enb_teid, enb),
				L.v2_fteid(L.IF_S1U_SGW, sgw_teid, att.sgw_u, instance=1)])])
		self.emit(t + 30000, self.fr.gtpc(MME, SGW_C, rsp))
		self.ev(att.sub, t + 30000, "bearer", [(sgw_teid, att.sgw_u, "up"),
						       (enb_teid, enb, "down")])
		b = Bearer(6, att.sgw_u, sgw_teid)
		b.epochs.append((t + 30000, enb, enb_teid))
		att.bearers[6] = b
		att.forbidden.append((t - 1000, t + 31000))

	def v2_delete(self, att, t):
		seq = self.seq2()
		req = L.v2_msg(L.V2_DELETE_SESSION_REQ, att.sgw_c, seq, [L.v2_ebi(5)])
		self.emit(t, self.fr.gtpc(MME, SGW_C, req))
		rsp = L.v2_msg(L.V2_DELETE_SESSION_RSP, att.mme_c, seq, [L.v2_cause(16)])
		self.emit(t + 10000, self.fr.gtpc(SGW_C, MME, rsp))
		self.ev(att.sub, t + 10000, "delete")
		self.free_core(att, t + 10000)

	# -- GTPv1 subscriber ----------------------------------------------------------------
	def v1_attach(self, sub, t, mode="normal", retrans=False):
		r = self.rng
		sgsn = SGSNS[0]
		sgsn_c, sgsn_d, seq = self.teid(), self.teid(), self.seq1()
		ue4 = self.new_ue4()
		req = L.v1_msg(L.V1_CREATE_REQ, 0, seq, [
			L.v1_imsi(sub["imsi"]), L.v1_rai(), L.v1_recovery(), L.v1_selection_mode(),
			L.v1_teid_data(sgsn_d), L.v1_teid_ctrl(sgsn_c), L.v1_nsapi(5), L.v1_eua(),
			L.v1_apn(sub["apn"]), L.v1_gsn_addr(sgsn), L.v1_gsn_addr(sgsn),
			L.v1_msisdn(sub["msisdn"]), L.v1_qos(), L.v1_rat(1), L.v1_imeisv(sub["imei"])])
		self.emit(t, self.fr.gtpc(sgsn, GGSN, req))
		if mode == "lost":
			self.emit(t + 3 * US, self.fr.gtpc(sgsn, GGSN, req))
			self.emit(t + 6 * US, self.fr.gtpc(sgsn, GGSN, req))
			return None
		if retrans:
			t += 1 * US
			self.emit(t, self.fr.gtpc(sgsn, GGSN, req))
		t += 20000
		if mode == "rejected":
			rsp = L.v1_msg(L.V1_CREATE_RSP, sgsn_c, seq, [L.v1_cause(199)])
			self.emit(t, self.fr.gtpc(GGSN, sgsn, rsp))
			return None
		ggsn_c, ggsn_d = self.teid(), self.core_teid(GGSN, t)
		rsp = L.v1_msg(L.V1_CREATE_RSP, sgsn_c, seq, [
			L.v1_cause(128), L.v1_reordering(), L.v1_recovery(), L.v1_teid_data(ggsn_d),
			L.v1_teid_ctrl(ggsn_c), L.v1_charging_id(self.charging), L.v1_eua(ue4),
			L.v1_gsn_addr(GGSN), L.v1_gsn_addr(GGSN), L.v1_qos()])
		self.charging += 1
		self.emit(t, self.fr.gtpc(GGSN, sgsn, rsp))
		self.ev(sub, t, "create", [(ggsn_d, GGSN, "up"), (sgsn_d, sgsn, "down")])
		att = Attach(sub, 1, ue4, None)
		att.sgsn, att.sgsn_c, att.ggsn_c = sgsn, sgsn_c, ggsn_c
		b = Bearer(5, GGSN, ggsn_d)
		b.epochs.append((t, sgsn, sgsn_d))
		att.bearers[5] = b
		att.forbidden.append((t - 21000, t + 1000))
		att.t_ready = t + 10000
		return att

	def v1_secondary(self, att, t):
		seq = self.seq1()
		sgsn_d = self.teid()
		req = L.v1_msg(L.V1_CREATE_REQ, att.ggsn_c, seq, [
			L.v1_recovery(), L.v1_teid_data(sgsn_d), L.v1_nsapi(6), L.v1_nsapi(5),
			L.v1_gsn_addr(att.sgsn), L.v1_gsn_addr(att.sgsn), L.v1_qos(),
			L.v1_tft_udp_port(5004)])
		self.emit(t, self.fr.gtpc(att.sgsn, GGSN, req))
		ggsn_d = self.teid()
		rsp = L.v1_msg(L.V1_CREATE_RSP, att.sgsn_c, seq, [
			L.v1_cause(128), L.v1_reordering(), L.v1_recovery(), L.v1_teid_data(ggsn_d),
			L.v1_charging_id(self.charging), L.v1_gsn_addr(GGSN), L.v1_gsn_addr(GGSN),
			L.v1_qos()])
		self.charging += 1
		self.emit(t + 20000, self.fr.gtpc(GGSN, att.sgsn, rsp))
		self.ev(att.sub, t + 20000, "bearer", [(ggsn_d, GGSN, "up"), (sgsn_d, att.sgsn, "down")])
		b = Bearer(6, GGSN, ggsn_d)
		b.epochs.append((t + 20000, att.sgsn, sgsn_d))
		att.bearers[6] = b
		att.forbidden.append((t - 1000, t + 21000))

	def v1_handover(self, att, t):
		"""Inter-SGSN routing area update: the new SGSN sends Update PDP Context."""
		seq = self.seq1()
		new = SGSNS[1]
		sgsn_c, sgsn_d = self.teid(), self.teid()
		b = att.bearers[5]
		req = L.v1_msg(L.V1_UPDATE_REQ, att.ggsn_c, seq, [
			L.v1_rai(0x2345, 0x67), L.v1_recovery(), L.v1_teid_data(sgsn_d),
			L.v1_teid_ctrl(sgsn_c), L.v1_nsapi(5), L.v1_gsn_addr(new), L.v1_gsn_addr(new),
			L.v1_qos(), L.v1_rat(1)])
		self.emit(t, self.fr.gtpc(new, GGSN, req))
		rsp = L.v1_msg(L.V1_UPDATE_RSP, sgsn_c, seq, [
			L.v1_cause(128), L.v1_recovery(), L.v1_teid_data(b.core_teid),
			L.v1_teid_ctrl(att.ggsn_c), L.v1_charging_id(self.charging),
			L.v1_gsn_addr(GGSN), L.v1_gsn_addr(GGSN), L.v1_qos()])
		self.charging += 1
		self.emit(t + 5000, self.fr.gtpc(GGSN, new, rsp))
		self.ev(att.sub, t + 5000, "modify", [(sgsn_d, new, "down")])
		b.epochs.append((t + 5000, new, sgsn_d))
		att.sgsn, att.sgsn_c = new, sgsn_c
		att.forbidden.append((t - 1000, t + 6000))

	def v1_delete(self, att, t):
		seq = self.seq1()
		req = L.v1_msg(L.V1_DELETE_REQ, att.ggsn_c, seq, [L.v1_teardown(), L.v1_nsapi(5)])
		self.emit(t, self.fr.gtpc(att.sgsn, GGSN, req))
		rsp = L.v1_msg(L.V1_DELETE_RSP, att.sgsn_c, seq, [L.v1_cause(128)])
		self.emit(t + 10000, self.fr.gtpc(GGSN, att.sgsn, rsp))
		self.ev(att.sub, t + 10000, "delete")
		self.free_core(att, t + 10000)

	# -- one subscriber's life -----------------------------------------------------------
	def subscriber(self, i, t0):
		r = self.rng
		v2 = r.random() < 0.65
		sub = dict(imsi="00101%010d" % (i + 1), msisdn="4917%08d" % (i + 1),
			   imei="3520990%07d%02d" % (i + 1, i % 100), apn=r.choice(
				   ["internet", "internet", "internet", "ims", "web.operator.com"]),
			   gtp_version=2 if v2 else 1, rat=6 if v2 else 1, kind="normal",
			   ue_ipv4=None, ue_ipv6=None, state=None, tunnels=[])
		self.subs.append(sub)
		x = r.random()
		mode = "rejected" if x < 0.03 else "lost" if x < 0.06 else "normal"
		retrans = r.random() < 0.06
		dual = v2 and r.random() < 0.2
		handover = r.random() < 0.25
		extra = r.random() < 0.15
		delete = r.random() < 0.3
		reattach = delete and r.random() < 0.5
		sub["kind"] = mode
		att = (self.v2_attach if v2 else self.v1_attach)(sub, t0, mode, retrans,
								  **({"dual": dual} if v2 else {}))
		if att is None:
			return
		att.seqflag = r.random() < 0.1
		life_end = t0 + (40 if delete else 60) * US
		if extra and not (handover and not v2):
			t = att.t_ready + 2 * US
			if v2:
				self.v2_dedicated(att, t)
			else:
				self.v1_secondary(att, t)
			sp = 50000 + r.randrange(1000)
			pk = self.rtp_flow(att.ue4, sp, IMS_MEDIA, 5004, r.randrange(5, 25))
			self.add_flow(pk, t + 100000, (17, att.ue4, sp, IMS_MEDIA, 5004), att,
				      bearer_ebi=6)
		if handover:
			th = t0 + 20 * US + r.randrange(US)
			if v2:
				enb = r.choice([e for e in ENBS if e != att.bearers[5].epochs[-1][1]])
				self.v2_modify(att, th, {e: (enb, self.teid()) for e in att.bearers})
			elif 6 not in att.bearers:
				self.v1_handover(att, th)
		self.user_flows(att, att.t_ready, life_end - 2 * US)
		sub["ue_ipv4"], sub["ue_ipv6"], sub["state"] = att.ue4, att.ue6, "active"
		if delete:
			(self.v2_delete if v2 else self.v1_delete)(att, life_end)
			sub["state"] = "deleted"
			if r.random() < 0.3:
				# a straggler: the UE's last DNS query reaches the gateway just after
				# the Delete Session/PDP Context response (the bearer is released a
				# moment later); the probe still attributes it (delete grace period)
				name, s4, _, _ = r.choice(TLS_SERVICES)
				att.sport += 7
				pk = self.dns_flow(att.ue4, att.sport, DNS4, name, s4)[:1]
				self.add_flow(pk, life_end + 20000 + r.randrange(200000),
					      (17, att.ue4, att.sport, DNS4, 53), att, app="DNS", host=name)
			if reattach:
				t1 = life_end + 5 * US
				att = (self.v2_attach if v2 else self.v1_attach)(
					sub, t1, "normal", False, **({"dual": dual} if v2 else {}))
				self.user_flows(att, att.t_ready, t1 + 30 * US)
				sub["ue_ipv4"], sub["ue_ipv6"], sub["state"] = att.ue4, att.ue6, "active"
		if sub["state"] == "active":
			tun = []
			for b in att.bearers.values():
				tun.append(dict(teid=b.core_teid, addr=b.core_addr, dir="up"))
				ep = b.epochs[-1]
				tun.append(dict(teid=ep[2], addr=ep[1], dir="down"))
			sub["tunnels"] = sorted(tun, key=lambda x: (x["dir"], x["teid"]))

	def plain(self, i, t0):
		"""Untunnelled client traffic on VLAN 100."""
		r = self.rng
		c = "192.168.1.%d" % (10 + i % 200)
		sp = 30000 + i * 7
		kind = r.choice(["tls", "http", "dns"])
		if kind == "tls":
			name, s4, _, app = r.choice(TLS_SERVICES)
			self.add_flow(self.tls_flow(c, sp, s4, name), t0, (6, c, sp, s4, 443),
				      app=app, host=name, vlan=100)
		elif kind == "http":
			host, s4 = r.choice(HTTP_SERVICES)
			self.add_flow(self.http_flow(c, sp, s4, host), t0, (6, c, sp, s4, 80),
				      app="HTTP", host=host, vlan=100)
		else:
			name, s4, _, _ = r.choice(TLS_SERVICES)
			self.add_flow(self.dns_flow(c, sp, "192.168.1.1", name, s4), t0,
				      (17, c, sp, "192.168.1.1", 53), app="DNS", host=name, vlan=100)

	def unsignalled(self, i, t0):
		"""A bearer set up before the capture started: GTP-U only, no GTP-C, so no IMSI."""
		sub = dict(imsi=None)
		att = Attach(sub, 2, "100.127.%d.%d" % (i // 250, i % 250 + 2), None)
		b = Bearer(5, self.rng.choice(SGW_U), self.teid())
		b.epochs.append((t0 - US, self.rng.choice(ENBS), self.teid()))
		att.bearers[5] = b
		self.user_flows(att, t0, t0 + 20 * US)

	def path_echo(self, t_end):
		"""GTP-U path management: Echo Request/Response eNB <-> SGW-U every 10 s."""
		t, seq = T0 + 500000, 1
		while t < t_end:
			for enb in ENBS:
				for sgw in SGW_U:
					req = b""
					self.emit(t, self.fr.gtpu(enb, sgw, 0, req, seq=seq, mtype=1))
					self.emit(t + 800, self.fr.gtpu(sgw, enb, 0, b"\x0e\x00", seq=seq,
									mtype=2))
					seq += 1
					t += 1000
			t += 10 * US

	def run(self):
		a = self.a
		sp = int(a.spacing * US)
		for i in range(a.subscribers):
			self.subscriber(i, T0 + i * sp + self.rng.randrange(sp // 2 + 1))
		for i in range(a.plain):
			self.plain(i, T0 + self.rng.randrange(max(1, a.subscribers * sp)))
		for i in range(a.unknown):
			self.unsignalled(i, T0 + self.rng.randrange(max(1, a.subscribers * sp)))
		self.path_echo(max(f[0] for f in self.frames))
		self.frames.sort(key=lambda x: (x[0], x[1]))
		w = L.PcapWriter(a.out)
		for ts, _, fr in self.frames:
			w.write(ts, fr)
		w.close()
		self.write_expect()

	def write_expect(self):
		totals = {}
		for f in self.flows:
			f["first_ms"] = f.pop("first_us") // 1000
			f["last_ms"] = f.pop("last_us") // 1000
			if f["imsi"]:
				t = totals.setdefault(f["imsi"], dict(pkts_up=0, pkts_down=0, bytes_up=0,
								      bytes_down=0, flows=0))
				for k in ("pkts_up", "pkts_down", "bytes_up", "bytes_down"):
					t[k] += f[k]
				t["flows"] += 1
		addrs = sorted(set(SGW_U + ENBS + SGSNS + [GGSN]))
		exp = dict(meta=dict(seed=self.a.seed, subscribers=self.a.subscribers,
				     plain_flows=self.a.plain, frames=len(self.frames),
				     first_ms=self.frames[0][0] // 1000 if self.frames else 0,
				     last_ms=self.frames[-1][0] // 1000 if self.frames else 0,
				     flows=len(self.flows), user_plane_addrs=addrs),
			   flows=self.flows, imsi_totals=totals, subscribers=self.subs)
		exp["meta"]["teids_reused"] = self.reused
		with open(self.a.expect, "w") as f:
			json.dump(exp, f, indent=1, sort_keys=True)

def main():
	p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
	p.add_argument("--out", required=True, help="pcap to write")
	p.add_argument("--expect", required=True, help="expected-results JSON to write")
	p.add_argument("--subscribers", type=int, default=300)
	p.add_argument("--plain", type=int, default=None, help="untunnelled flows (default N/10)")
	p.add_argument("--unknown", type=int, default=None,
		       help="UEs with GTP-U but no GTP-C in the capture (default N/50)")
	p.add_argument("--spacing", type=float, default=0.2, help="seconds between attaches")
	p.add_argument("--seed", type=int, default=1)
	a = p.parse_args()
	if a.plain is None:
		a.plain = max(3, a.subscribers // 10)
	if a.unknown is None:
		a.unknown = max(1, a.subscribers // 50)
	Gen(a).run()
	return 0

if __name__ == "__main__":
	sys.exit(main())
