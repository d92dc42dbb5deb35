#!/usr/bin/python3
"""it_5g_h2.py - synthetic 5G SA sessions whose SBI runs over HTTP/2 cleartext, built with
scapy and python3-hpack (an independent HPACK encoder; mcprobe decodes with libnghttp2).

Connection A (prior knowledge): CreateSMContext then N1N2MessageTransfer for SUPI
imsi-001010000000123; the second request's header block refers to dynamic-table entries the
first one created, and is split into HEADERS + CONTINUATION; bodies are split over DATA
frames and TCP segments cut inside frame headers.
Connection B (Upgrade: h2c): an HTTP/1.1 CreateSMContext with Upgrade, 101, then h2 frames
both ways, N1N2MessageTransfer for imsi-001010000000456.
Connection N (prior knowledge): SUPI nai-user3@realm.example: CreateSMContext (201 with
Location .../sm-contexts/77), N1N2MessageTransfer, UpdateSMContext whose N2 PDU Session
Resource Setup Response Transfer gives the gNB's DL F-TEID (tshark's NGAP decode must agree);
its PFCP has no FAR, so its downlink T-PDUs ride a tunnel only the SBI gave: one flow tagged
with the SUPI text (no "imsi", a "sub_key"), the DL tunnel in its session.
Connection U (Upgrade: h2c) whose HTTP2-Settings sets SETTINGS_HEADER_TABLE_SIZE 0: the
server's encoder indexing anyway is an HPACK error (the settings were applied).
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
NAI = ("nai-user3@realm.example", "10.60.0.9", 0x5003, 8)  # SUPI, UE, UL TEID, PSI
NAI_DL = 0x6003  # the gNB's DL TEID, only in the UpdateSMContext N2 (its PFCP has no FAR)
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


def ngap_response_transfer(teid, addr):
    """PDU Session Resource Setup Response Transfer (TS 38.413 9.3.4.2, aligned PER): no
    optional component, gTPTunnel with a 32-bit address, one associated QoS flow (QFI 1)."""
    return bytes([0x00, 0x03, 0xe0]) + bytes(int(x) for x in addr.split(".")) + \
        struct.pack("!I", teid) + bytes([0x00, 0x01])


def update_multipart(teid, addr):
    return b"--=-xyz\r\nContent-Type: application/json\r\n\r\n" + \
        json.dumps({"n2SmInfo": {"contentId": "ngap-sm"}, "n2SmInfoType": "PDU_RES_SETUP_RSP"}).encode() + \
        b"\r\n--=-xyz\r\nContent-Id: ngap-sm\r\nContent-Type: application/vnd.3gpp.ngap\r\n\r\n" + \
        ngap_response_transfer(teid, addr) + b"\r\n--=-xyz--\r\n"


def create_json(supi, psi):
    supi = supi if supi.startswith("nai-") else "imsi-" + supi
    return json.dumps({"supi": supi, "pei": "imeisv-4370816125816151", "pduSessionId": psi,
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


def conn_nai():
    """A NAI SUPI over h2 prior knowledge: CreateSMContext (201, Location .../sm-contexts/77),
    N1N2MessageTransfer, then UpdateSMContext with the gNB's DL F-TEID."""
    enc, senc = Encoder(), Encoder()
    c = Conn(41005)
    supi, ue, teid, psi = NAI
    mp = "multipart/related; boundary=\"=-xyz\""
    c.send(0, PREFACE + SETTINGS, 2.5)
    c.send(1, SETTINGS, 2.501)
    c.send(0, h2_request(enc, 1, "/nsmf-pdusession/v1/sm-contexts", "application/json",
                         create_json(supi, psi)), 2.502)
    c.send(1, frame(1, 5, 1, senc.encode([(":status", "201"), ("location",
                                          "http://smf:7777/nsmf-pdusession/v1/sm-contexts/77")])), 2.503)
    c.send(0, h2_request(enc, 3, "/namf-comm/v1/ue-contexts/%s/n1-n2-messages" % supi, mp,
                         multipart(psi, ue, teid)), 2.504)
    c.send(0, h2_request(enc, 5, "/nsmf-pdusession/v1/sm-contexts/77/modify", mp,
                         update_multipart(NAI_DL, GNB)), 2.505)


def conn_upgrade_table0():
    """Upgrade whose HTTP2-Settings set SETTINGS_HEADER_TABLE_SIZE 0: the server's encoder
    (4096-byte table, no size update) indexes a field anyway; applied, that is an HPACK error."""
    senc = Encoder()
    c = Conn(41006)
    body = create_json("001010000000789", 9)
    req = (b"POST /nsmf-pdusession/v1/sm-contexts HTTP/1.1\r\nHost: smf:7777\r\n"
           b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAEAAAAA\r\n"
           b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)) + body
    c.send(0, req, 2.6)
    c.send(1, b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n" +
           SETTINGS + frame(1, 5, 1, senc.encode([(":status", "201"), ("x-trace", "abc")])), 2.601)


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
    for i, (supi, ue, teid, psi) in enumerate(UES + [NAI]):
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
    # downlink of the NAI UE on the gNB's F-TEID that only UpdateSMContext gave
    inner = IP(src="198.51.100.1", dst=NAI[1]) / UDP(sport=53, dport=5000) / Raw(b"a" * 30)
    gtp = bytes([0x34, 0xff]) + struct.pack("!HI", 8 + len(bytes(inner)), NAI_DL) + \
        b"\x00\x00\x00\x85" + bytes([1, 0x00, 0x05, 0x00]) + bytes(inner)
    for k in range(2):
        add(Ether(src="02:00:00:00:00:02", dst="02:00:00:00:00:01") / IP(src=UPF, dst=GNB) / UDP(sport=2152, dport=2152) / Raw(gtp), 8.5 + k / 10)


def main():
    d = tempfile.mkdtemp()
    pcap = os.path.join(d, "h2.pcap")
    user_plane()
    conn_a()
    conn_b()
    conn_nai()
    conn_upgrade_table0()
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
    ng = subprocess.run(["tshark", "-r", pcap, "-d", "tcp.port==7777,http2", "-Y",
                         "ngap.PDUSessionResourceSetupResponseTransfer_element", "-T", "fields",
                         "-e", "ngap.gTP_TEID", "-e", "ngap.TransportLayerAddressIPv4"],
                        capture_output=True, text=True).stdout.split()
    if ng != ["%08x" % NAI_DL, GNB]:
        errors.append("tshark's NGAP decode of the UpdateSMContext N2 differs: %s" % ng)
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
        s = [x for x in sess if x.get("imsi") == supi]
        if not s or s[-1].get("apn") != "internet" or s[-1].get("sst") != 1 or \
           s[-1].get("sd") != "010203" or s[-1].get("imei") != "4370816125816151":
            errors.append("session of %s lacks the CreateSMContext facts: %s" % (supi, s[-1:]))
    nai, ue, teid, psi = NAI
    f = [x for x in flows if x.get("teid_up") == teid]
    if len(f) != 1 or f[0].get("supi") != nai or "imsi" in f[0] or \
       not re.fullmatch(r"n[0-9a-f]{14}", f[0].get("sub_key", "")) or \
       f[0].get("qfi") != 5 or f[0]["pkts_up"] != 3 or f[0]["pkts_down"] != 2 or \
       f[0].get("teid_down") != NAI_DL:
        errors.append("T-PDUs of the NAI SUPI %s not in one flow tagged with it: %s" % (nai, f))
    s = [x for x in sess if x.get("supi") == nai]
    if not s or "imsi" in s[-1] or not re.fullmatch(r"n[0-9a-f]{14}", s[-1].get("sub_key", "")) or \
       s[-1].get("apn") != "internet" or \
       not any(t["teid"] == NAI_DL and t["addr"] == GNB and t["dir"] == "down" for t in s[-1]["tunnels"]):
        errors.append("session of the NAI SUPI lacks its key or the N2 DL F-TEID: %s" % s[-1:])
    if not re.search(r"sbi N2 DL F-TEIDs\s+1 ", r.stderr):
        errors.append("want exactly 1 UpdateSMContext N2 DL F-TEID:\n" + r.stderr)
    if not re.search(r"sbi H2_HPACK\s+2\n", r.stderr):
        errors.append("HTTP2-Settings table size 0 not applied (want H2_HPACK 2):\n" + r.stderr)
    if any(x.get("imsi") == "001010000000999" for x in sess):
        errors.append("a header block with an unknown dynamic-table index was attributed")
    for reason in ("H2_HPACK", "H2_FRAME_SIZE", "H2_CONTINUATION"):
        if not re.search(r"sbi %s\s+[1-9]" % reason, r.stderr):
            errors.append("hostile HTTP/2 not counted as %s:\n%s" % (reason, r.stderr))
    if not re.search(r"sbi identities\s+4 \(NAI SUPIs 2\)", r.stderr):
        errors.append("want 4 SBI identities (2 N1N2 by IMSI, N1N2 and N2 DL by NAI):\n" + r.stderr)
    for e in errors:
        print("FAIL", e)
    print("it_5g_h2: %d problems" % len(errors))
    return 1 if errors else 0


sys.exit(main())
