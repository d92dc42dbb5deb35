#!/usr/bin/python3
"""it_5g_h2.py - synthetic 5G SA sessions whose SBI runs over HTTP/2 cleartext, built with
scapy and python3-hpack (an independent HPACK encoder; mcprobe decodes with libnghttp2).

Connection A (prior knowledge): CreateSMContext then N1N2MessageTransfer for SUPI
imsi-001010000000123; the second request's header block refers to dynamic-table entries the
first one created, and is split into HEADERS + CONTINUATION; bodies are split over DATA
frames and TCP segments cut inside frame headers.
Connection B (Upgrade: h2c): an HTTP/1.1 CreateSMContext with Upgrade, 101, then h2 frames
both ways, N1N2MessageTransfer for imsi-001010000000456.
Hostile connections: a header block that refers to a dynamic-table entry never sent (HPACK
error), a 16 MiB frame, a CONTINUATION chain beyond the limit: each counted, none attributes.
PFCP establishments (no User ID) and GTP-U T-PDUs for both UEs: every T-PDU's flow must carry
its SUPI (and the QFI), the DNN/S-NSSAI of CreateSMContext; tshark's HTTP/2 dissector must see
connection A's N1N2 path (checks the generated HPACK; tshark 4.0 does not follow the upgrade).
Env: BUILD. Exit 0 = all pass.
"""
import json
import os
import re
import struct
import subprocess
import sys
import tempfile

from hpack import Encoder
from scapy.all import IP, TCP, UDP, Ether, Raw, wrpcap

BUILD = os.environ.get("BUILD", "build")
AMF, SMF, SMF_N4, UPF, GNB = "192.0.2.5", "192.0.2.4", "192.0.2.14", "192.0.2.77", "192.0.2.2"
UES = [("001010000000123", "10.60.0.7", 0x5001, 6), ("001010000000456", "10.60.0.8", 0x5002, 7)]
T0 = 1700000000.0
pkts = []


def add(p, t):
    p.time = T0 + t
    pkts.append(p)


class Conn:
    def __init__(self, cport, sport=7777, src=AMF, dst=SMF):
        self.c, self.s, self.src, self.dst = cport, sport, src, dst
        self.seq = [1000, 90000]

    def send(self, d, data, t, cut=None):
        """dir 0 client->server; cut: list of segment sizes."""
        cut = cut or [len(data)]
        off = 0
        for n in cut + [len(data)]:
            chunk = data[off:off + n]
            if not chunk:
                break
            ip = IP(src=self.src, dst=self.dst) if d == 0 else IP(src=self.dst, dst=self.src)
            tcp = TCP(sport=self.c if d == 0 else self.s, dport=self.s if d == 0 else self.c,
                      flags="PA", seq=self.seq[d], ack=self.seq[1 - d])
            add(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / ip / tcp / Raw(chunk), t)
            self.seq[d] += len(chunk)
            off += len(chunk)
            t += 0.0001


def frame(ftype, flags, sid, payload):
    return struct.pack("!I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack("!I", sid) + payload


PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
SETTINGS = frame(4, 0, 0, b"")


def nas_accept(psi, ue):
    return bytes([0x2e, psi, 1, 0xc2, 0x11, 0, 3, 1, 0, 0, 6, 0x0a, 0, 3, 0x0a, 0, 3, 0x29, 5, 1]) + \
        bytes(int(x) for x in ue.split("."))


def ngap_transfer(teid, addr):
    tnl = bytes([0x04, 0xf0]) + bytes(int(x) for x in addr.split(".")) + struct.pack("!I", teid)
    # 160 bits would be 0x09f0; 32 bits: length-1 = 31 -> 0x01f0
    tnl = bytes([0x01, 0xf0]) + tnl[2:]
    return bytes([0, 0, 1, 0, 0x8b, 0, len(tnl)]) + tnl


def multipart(psi, ue, teid):
    b = b"--=-xyz\r\nContent-Type: application/json\r\n\r\n" + \
        json.dumps({"pduSessionId": psi, "n1MessageContainer": {"n1MessageClass": "SM"}}).encode() + \
        b"\r\n--=-xyz\r\nContent-Id: n1\r\nContent-Type: application/vnd.3gpp.5gnas\r\n\r\n" + \
        nas_accept(psi, ue) + \
        b"\r\n--=-xyz\r\nContent-Id: n2\r\nContent-Type: application/vnd.3gpp.ngap\r\n\r\n" + \
        ngap_transfer(teid, UPF) + b"\r\n--=-xyz--\r\n"
    return b


def create_json(supi, psi):
    return json.dumps({"supi": "imsi-" + supi, "pei": "imeisv-4370816125816151", "pduSessionId": psi,
                       "dnn": "internet", "sNssai": {"sst": 1, "sd": "010203"}}).encode()


COMMON = [("user-agent", "AMF"), ("3gpp-sbi-target-apiroot", "http://smf.example:7777")]


def h2_request(enc, sid, path, ctype, body, split_block=False, data_cuts=2):
    block = enc.encode([(":method", "POST"), (":scheme", "http"), (":authority", "smf:7777"),
                        (":path", path), ("content-type", ctype)] + COMMON)
    if split_block:
        h = len(block) // 2
        out = frame(1, 0, sid, block[:h]) + frame(9, 4, sid, block[h:])
    else:
        out = frame(1, 4, sid, block)
    step = (len(body) + data_cuts - 1) // data_cuts
    for i in range(0, len(body), step):
        last = i + step >= len(body)
        out += frame(0, 1 if last else 0, sid, body[i:i + step])
    return out


def conn_a():
    enc, senc = Encoder(), Encoder()
    c = Conn(41000)
    supi, ue, teid, psi = UES[0]
    c.send(0, PREFACE + SETTINGS, 1.0)
    c.send(1, SETTINGS + frame(4, 1, 0, b""), 1.001)
    r1 = h2_request(enc, 1, "/nsmf-pdusession/v1/sm-contexts", "application/json",
                    create_json(supi, psi))
    c.send(0, r1, 1.002, cut=[5, 7, 30])
    c.send(1, frame(1, 5, 1, senc.encode([(":status", "201"), ("location", "http://smf/sm-contexts/1")])), 1.003)
    r2 = h2_request(enc, 3, "/namf-comm/v1/ue-contexts/imsi-%s/n1-n2-messages" % supi,
                    "multipart/related; boundary=\"=-xyz\"", multipart(psi, ue, teid),
                    split_block=True, data_cuts=3)
    c.send(0, r2, 1.004, cut=[4, 9, 40, 100])
    return r2


def conn_b():
    enc, senc = Encoder(), Encoder()
    c = Conn(41001)
    supi, ue, teid, psi = UES[1]
    body = create_json(supi, psi)
    req = (b"POST /nsmf-pdusession/v1/sm-contexts HTTP/1.1\r\nHost: smf:7777\r\n"
           b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n"
           b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)) + body
    c.send(0, req, 2.0)
    c.send(1, b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n" +
           SETTINGS + frame(1, 5, 1, senc.encode([(":status", "201")])), 2.001, cut=[60])
    c.send(0, PREFACE + SETTINGS + h2_request(enc, 3, "/namf-comm/v1/ue-contexts/imsi-%s/n1-n2-messages"
                                              % supi, "multipart/related; boundary=\"=-xyz\"",
                                              multipart(psi, ue, teid)), 2.002)


def hostile():
    enc = Encoder()
    enc.encode(COMMON)  # indexes entries that this connection never carries
    c = Conn(41002)
    c.send(0, PREFACE + SETTINGS + h2_request(enc, 1, "/namf-comm/v1/ue-contexts/imsi-001010000000999/"
                                              "n1-n2-messages", "multipart/related; boundary=\"=-xyz\"",
                                              multipart(5, "10.60.0.99", 0x5999)), 3.0)
    c = Conn(41003)
    c.send(0, PREFACE + b"\xff\xff\xff\x00\x00\x00\x00\x00\x01" + b"\0" * 64, 3.1)
    c = Conn(41004)
    blk = Encoder().encode([(":method", "POST"), (":path", "/nsmf-pdusession/v1/sm-contexts")])
    cont = frame(1, 0, 1, blk[:1]) + b"".join(frame(9, 0, 1, b"") for _ in range(20))
    c.send(0, PREFACE + cont, 3.2)


def pfcp_ie(t, v):
    return struct.pack("!HH", t, len(v)) + v


def pfcp_est(seq, seid, ue, teid):
    ip4 = lambda a: bytes(int(x) for x in a.split("."))
    fseid = pfcp_ie(57, b"\x02" + struct.pack("!Q", seid) + ip4(SMF_N4))
    pdi = pfcp_ie(20, b"\x00") + pfcp_ie(21, b"\x01" + struct.pack("!I", teid) + ip4(UPF)) + \
        pfcp_ie(93, b"\x06" + ip4(ue)) + pfcp_ie(124, b"\x05")
    pdr = pfcp_ie(1, pfcp_ie(56, b"\x00\x01") + pfcp_ie(2, pdi))
    body = fseid + pdr
    req = struct.pack("!BBHQ", 0x21, 50, len(body) + 12, 0) + struct.pack("!I", seq << 8) + body
    rb = pfcp_ie(19, b"\x01") + pfcp_ie(57, b"\x02" + struct.pack("!Q", seid + 100) + ip4(UPF))
    rsp = struct.pack("!BBHQ", 0x21, 51, len(rb) + 12, seid) + struct.pack("!I", seq << 8) + rb
    return req, rsp


def user_plane():
    for i, (supi, ue, teid, psi) in enumerate(UES):
        req, rsp = pfcp_est(10 + i, 0x700 + i, ue, teid)
        add(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(src=SMF_N4, dst=UPF) / UDP(sport=8805, dport=8805) / Raw(req), 0.5 + i / 10)
        add(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(src=UPF, dst=SMF_N4) / UDP(sport=8805, dport=8805) / Raw(rsp), 0.51 + i / 10)
        psc = bytes([0x85, 1, 0x10, 0x05, 0x00])  # next ext type, UL PDU session info, QFI 5
        inner = IP(src=ue, dst="198.51.100.1") / UDP(sport=5000, dport=53) / Raw(b"q" * 20)
        gtp = bytes([0x34, 0xff]) + struct.pack("!HI", len(bytes(inner)) + 8, teid) + \
            b"\x00\x00\x00" + psc[:1] + psc[1:] + b"\x00"
        gtp = bytes([0x34, 0xff]) + struct.pack("!HI", 4 + 4 + len(bytes(inner)), teid) + \
            b"\x00\x00\x00\x85" + bytes([1, 0x10, 0x05, 0x00]) + bytes(inner)
        for k in range(3):
            add(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(src=GNB, dst=UPF) / UDP(sport=2152, dport=2152) / Raw(gtp), 5 + i + k / 10)


def main():
    d = tempfile.mkdtemp()
    pcap = os.path.join(d, "h2.pcap")
    user_plane()
    conn_a()
    conn_b()
    hostile()
    pkts.sort(key=lambda p: p.time)
    wrpcap(pcap, pkts)
    errors = []
    paths = subprocess.run(["tshark", "-r", pcap, "-d", "tcp.port==7777,http2", "-Y", "http2.header",
                            "-T", "fields", "-e", "http2.headers.path"],
                           capture_output=True, text=True).stdout.split()
    for supi, *_ in UES[:1]:  # connection B: tshark 4.0 does not follow the h2c upgrade
        if not any(supi in p for p in paths):
            errors.append("tshark does not see the N1N2 path of %s in the capture: %s" % (supi, paths))
    fj, sj = os.path.join(d, "f.json"), os.path.join(d, "s.json")
    r = subprocess.run([os.path.join(BUILD, "mcprobe"), "-r", pcap, "--flows-json", fj,
                        "--sessions-json", sj, "--stats"], capture_output=True, text=True)
    if r.returncode:
        print("mcprobe failed", r.returncode, r.stderr)
        return 1
    flows = [json.loads(x) for x in open(fj)]
    for supi, ue, teid, psi in UES:
        f = [x for x in flows if x.get("teid_up") == teid]
        if len(f) != 1 or f[0].get("imsi") != supi or f[0].get("qfi") != 5 or f[0]["pkts_up"] != 3:
            errors.append("T-PDUs of %s (TEID %#x) not attributed: %s" % (supi, teid, f))
    sess = [json.loads(x) for x in open(sj)]
    for supi, ue, teid, psi in UES:
        s = [x for x in sess if x["imsi"] == supi]
        if not s or s[-1].get("apn") != "internet" or s[-1].get("sst") != 1 or \
           s[-1].get("sd") != "010203" or s[-1].get("imei") != "4370816125816151":
            errors.append("session of %s lacks the CreateSMContext facts: %s" % (supi, s[-1:]))
    if any(x["imsi"] == "001010000000999" for x in sess):
        errors.append("a header block with an unknown dynamic-table index was attributed")
    for reason in ("H2_HPACK", "H2_FRAME_SIZE", "H2_CONTINUATION"):
        if not re.search(r"sbi %s\s+[1-9]" % reason, r.stderr):
            errors.append("hostile HTTP/2 not counted as %s:\n%s" % (reason, r.stderr))
    if not re.search(r"sbi identities\s+2 ", r.stderr):
        errors.append("want exactly 2 SBI identities:\n" + r.stderr)
    for e in errors:
        print("FAIL", e)
    print("it_5g_h2: %d problems" % len(errors))
    return 1 if errors else 0


sys.exit(main())
