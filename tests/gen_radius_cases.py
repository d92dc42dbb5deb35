#!/usr/bin/python3
"""Writes tests/data/radius_cases.pcap: RADIUS accounting (RFC 2866) messages built by scapy,
well-formed ones and one malformed message per reason, for tests/test_control_radius.c.

Deterministic (fixed timestamps, zero authenticators). Frame order is the contract with the
test: see CASES below. Run: /usr/bin/python3 tests/gen_radius_cases.py
"""
import os
import struct

from scapy.all import Ether, IP, UDP, IPv6, Raw, wrpcap
from scapy.layers.radius import (Radius, RadiusAttribute, RadiusAttr_Acct_Status_Type,
                                 RadiusAttr_Framed_IP_Address, RadiusAttr_NAS_IP_Address)

NAS = "192.0.2.1"
SRV = "192.0.2.10"


def attr(t, v):
    return RadiusAttribute(type=t, value=v)


def acct(status, user=None, ip=None, calling=None, session=None, ipv6=None, code=4, ident=1):
    a = []
    if status is not None:
        a.append(RadiusAttr_Acct_Status_Type(value=status))
    if user is not None:
        a.append(attr(1, user))
    a.append(RadiusAttr_NAS_IP_Address(value=NAS))
    if ip is not None:
        a.append(RadiusAttr_Framed_IP_Address(value=ip))
    if ipv6 is not None:
        import socket
        a.append(attr(168, socket.inet_pton(socket.AF_INET6, ipv6)))
    if calling is not None:
        a.append(attr(31, calling))
    if session is not None:
        a.append(attr(44, session))
    return bytes(Radius(code=code, id=ident, attributes=a))


def raw_hdr(code, ident, length, body=b""):
    return struct.pack("!BBH", code, ident, length) + b"\0" * 16 + body


good = [
    acct(1, b"alice", "100.64.0.1", b"00-11-22-33-44-55", b"s1", ident=1),  # 0 Start
    acct(1, b"bob", "100.64.0.2", b"00-11-22-33-44-66", b"s2", ident=2),    # 1 Start
    acct(3, b"alice", "100.64.0.1", b"00-11-22-33-44-55", b"s1", ident=3),  # 2 Interim, same
    acct(3, b"bob", "100.64.0.3", b"00-11-22-33-44-66", b"s2", ident=4),    # 3 Interim, new IP
    bytes(Radius(code=5, id=4)),                                          # 4 Response
    acct(2, b"alice", "100.64.0.1", b"00-11-22-33-44-55", b"s1", ident=5),  # 5 Stop
    acct(1, b"carol", None, b"aa-bb", b"s3", ipv6="2001:db8::7", ident=6),  # 6 Start v6
    acct(1, b"dave", "100.64.0.3", b"cc-dd", b"s4", ident=7),               # 7 takes bob's IP
    acct(7, None, None, ident=8),                                          # 8 Accounting-On
]
full = acct(1, b"erin", "100.64.0.9", ident=9)
bad = [
    full[:10],                                                     # 9  TRUNC_HEADER
    raw_hdr(4, 10, 300, full[20:]),                                # 10 TRUNC_PACKET
    raw_hdr(4, 11, 10) + b"\0" * 8,                                # 11 BAD_LENGTH
    raw_hdr(4, 12, 26, bytes([40, 0, 0, 0, 0, 1])),                # 12 BAD_ATTR_LEN
    raw_hdr(4, 13, 26, bytes([40, 50, 0, 0, 0, 1])),               # 13 TRUNC_ATTR
    raw_hdr(4, 14, 31, bytes([40, 6, 0, 0, 0, 1, 8, 5, 1, 2, 3])),  # 14 BAD_ATTR_VALUE
    acct(None, b"frank", "100.64.0.10", ident=15),                 # 15 NO_STATUS_TYPE
    acct(1, None, "100.64.0.11", ident=16),                        # 16 NO_USER_NAME
]

pkts = []
t = 1700000000.0
for i, payload in enumerate(good + bad):
    p = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(src=NAS, dst=SRV) / \
        UDP(sport=40000 + i, dport=1813) / Raw(payload)
    p.time = t + i
    pkts.append(p)
# one over IPv6, from the server side port (an Accounting-Request relayed back): frame 17
p = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IPv6(src="2001:db8::1", dst="2001:db8::2") / \
    UDP(sport=1813, dport=40100) / Raw(acct(3, b"carol", None, b"aa-bb", b"s3", ipv6="2001:db8::7", ident=17))
p.time = t + 17
pkts.append(p)

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "radius_cases.pcap")
wrpcap(out, pkts)
print(out, len(pkts), "frames")
