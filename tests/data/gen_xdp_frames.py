#!/usr/bin/python3
"""gen_xdp_frames.py - scapy-built frames and their expected XDP results for tests/test_xdp.c.

Writes tests/data/xdp_frames.txt (deterministic; regenerate with
/usr/bin/python3 tests/data/gen_xdp_frames.py > tests/data/xdp_frames.txt).

Line kinds:
  tunnel teid=N addr=IP sub=N dir=0|1          tunnel map entries the test installs
  frame name=.. verdict=redirect|pass ... hex=..  one frame and what the program must report

Offsets and lengths come from scapy's own layering (len(bytes(layer))), not from the code
under test. cuts= lists start:REASON pairs: a frame cut to L bytes (14 <= L < hdr_end) must
be counted under the REASON of the last pair whose start <= L, and never redirected.
"""
import sys

from scapy.all import Ether, Dot1Q, Dot1AD, IP, IPv6, UDP, TCP, ICMP, ARP, Raw
from scapy.all import IPv6ExtHdrDestOpt, IPv6ExtHdrHopByHop, IPv6ExtHdrRouting
from scapy.contrib.gtp import GTP_U_Header, GTPPDUSessionContainer
from scapy.contrib.mpls import MPLS

MAC = dict(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")

F_GTPU, F_TPDU, F_GTPC, F_KNOWN = 0x1, 0x2, 0x4, 0x8
F_INNER_V6, F_OUTER_V6, F_PORTS, F_FRAG, F_QFI = 0x10, 0x20, 0x40, 0x80, 0x200

TUNNELS = [
    (0x1234, "10.0.0.2", 7, 0),
    (0x5678, "10.0.0.1", 7, 1),
    (0x9ABC, "2001:db8::2", 9, 0),
    (0x2222, "10.1.0.2", 11, 0),
]

out = []


def off(pkt, layer):
    """Offset of the first `layer` instance in pkt."""
    whole = len(bytes(pkt))
    return whole - len(bytes(pkt[layer]))


def emit(name, pkt, verdict, flags, cuts, hdr_end, **kw):
    raw = bytes(pkt)
    fields = dict(name=name, verdict=verdict, flags="0x%x" % flags, len=len(raw),
                  hdr_end=hdr_end, cuts=",".join("%d:%s" % c for c in cuts) or "-")
    fields.update(kw)
    out.append("frame " + " ".join("%s=%s" % (k, v) for k, v in fields.items()) +
               " hex=" + raw.hex())


def ip_cuts(l3, v6, exts=0):
    return [(l3, "TRUNC_IP6" if v6 else "TRUNC_IP4")]


def gtpu_frame(name, outer, teid, inner, l4, gtp_kw=None, pdu=None, sub=None, dir_=None,
               extra_flags=0, l2=None, verdict="redirect", payload=b"x" * 23, reason="-"):
    l2 = l2 if l2 is not None else Ether(**MAC)
    gtp = GTP_U_Header(teid=teid, gtp_type=255, **(gtp_kw or {}))
    if pdu is not None:
        gtp = gtp / pdu
    pkt = l2 / outer / UDP(sport=2152, dport=2152) / gtp / inner / l4
    if payload:
        pkt = pkt / Raw(payload)
    o_v6 = isinstance(outer, IPv6)
    i_v6 = isinstance(inner, IPv6)
    outer_l3 = off(pkt, IPv6 if o_v6 else IP)
    udp = off(pkt, UDP)
    g = udp + 8
    inner_l3 = len(bytes(pkt)) - len(bytes(pkt[GTP_U_Header].payload))
    if pdu is not None:
        inner_l3 = len(bytes(pkt)) - len(bytes(pkt[GTPPDUSessionContainer].payload))
    inner_pkt = IP(bytes(pkt)[inner_l3:]) if not i_v6 else IPv6(bytes(pkt)[inner_l3:])
    # the user L4 header as scapy layered it (after any IPv6 extension headers)
    inner_l4 = inner_l3 + len(bytes(inner_pkt)) - len(bytes(inner_pkt[type(l4)]))
    l4len = {TCP: 20, UDP: 8, ICMP: 4}[type(l4)]
    flags = F_GTPU | F_TPDU | extra_flags | (F_OUTER_V6 if o_v6 else 0) | (F_INNER_V6 if i_v6 else 0)
    if not isinstance(l4, ICMP):
        flags |= F_PORTS
    if sub is not None:
        flags |= F_KNOWN
    if pdu is not None:
        flags |= F_QFI
    cuts = []
    if l2.haslayer(Dot1AD) or l2.haslayer(Dot1Q):
        cuts.append((14, "TRUNC_VLAN"))
    if l2.haslayer(MPLS):
        cuts.append((14, "TRUNC_MPLS"))
    # after MPLS the IP version nibble is read by the MPLS step (no next-protocol field)
    cuts += ip_cuts(outer_l3 + (1 if l2.haslayer(MPLS) else 0), o_v6)
    cuts += [(udp, "TRUNC_L4"), (g, "TRUNC_GTPU")]
    # the first byte of the T-PDU is read by the GTP-U step (version nibble)
    cuts += [(inner_l3 + 1, "TRUNC_IP6" if i_v6 else "TRUNC_IP4"), (inner_l4, "TRUNC_L4")]
    ip_len = len(bytes(inner_pkt))
    sport = getattr(l4, "sport", 0) if not isinstance(l4, ICMP) else 0
    dport = getattr(l4, "dport", 0) if not isinstance(l4, ICMP) else 0
    emit(name, pkt, verdict, flags, cuts, inner_l4 + l4len, teid=teid, outer_l3=outer_l3,
         inner_l3=inner_l3, inner_l4=inner_l4 if not (flags & F_FRAG) else 0,
         proto={TCP: 6, UDP: 17, ICMP: 1}[type(l4)], ip_len=ip_len,
         sport=sport, dport=dport, sub=sub if sub is not None else -1,
         dir=dir_ if dir_ is not None else 255,
         vlan=l2[Dot1AD].vlan if l2.haslayer(Dot1AD) else (l2[Dot1Q].vlan if l2.haslayer(Dot1Q) else 0),
         qfi=pdu.QFI if pdu is not None else 0, pdu=pdu.type if pdu is not None else 0,
         gtp_type=255, reason=reason)


def bad(name, pkt, reason):
    emit(name, pkt, "pass", 0, [], 0, reason=reason)


def main():
    for teid, addr, sub, d in TUNNELS:
        out.append("tunnel teid=%d addr=%s sub=%d dir=%d" % (teid, addr, sub, d))

    up_inner = IP(src="192.168.1.10", dst="8.8.8.8", id=1)
    gtpu_frame("gtpu_v4_tcp_up", IP(src="10.0.0.1", dst="10.0.0.2", id=7), 0x1234, up_inner,
               TCP(sport=40000, dport=443, flags="A"), sub=7, dir_=0)
    gtpu_frame("gtpu_v4_tcp_down", IP(src="10.0.0.2", dst="10.0.0.1", id=8), 0x5678,
               IP(src="8.8.8.8", dst="192.168.1.10", id=2), TCP(sport=443, dport=40000, flags="A"),
               sub=7, dir_=1)
    gtpu_frame("gtpu_unknown_teid", IP(src="10.0.0.1", dst="10.0.0.2"), 0x4321, up_inner,
               UDP(sport=5000, dport=53))
    gtpu_frame("gtpu_qinq_pdu_v6", IP(src="10.1.0.1", dst="10.1.0.2"), 0x2222,
               IPv6(src="2001:db8:1::10", dst="2001:db8:2::53"), UDP(sport=1234, dport=53),
               gtp_kw=dict(E=1, next_ex=0x85), pdu=GTPPDUSessionContainer(type=1, QFI=9),
               sub=11, dir_=0, l2=Ether(**MAC) / Dot1AD(vlan=100) / Dot1Q(vlan=200))
    gtpu_frame("gtpu_v6_outer_ext", IPv6(src="2001:db8::1", dst="2001:db8::2") /
               IPv6ExtHdrDestOpt(), 0x9ABC, IP(src="192.168.9.9", dst="1.1.1.1", ihl=6,
                                               options=[b"\x01\x01\x01\x00"]),
               UDP(sport=3333, dport=4444), gtp_kw=dict(S=1, seq=77), sub=9, dir_=0)
    gtpu_frame("gtpu_mpls_icmp", IP(src="10.0.0.1", dst="10.0.0.2"), 0x1234,
               IP(src="192.168.1.10", dst="9.9.9.9"), ICMP(), sub=7, dir_=0,
               l2=Ether(**MAC) / MPLS(label=16, s=0) / MPLS(label=17, s=1))
    gtpu_frame("gtpu_vlan_inner_v6_hbh", IP(src="10.0.0.1", dst="10.0.0.2"), 0x1234,
               IPv6(src="2001:db8:1::10", dst="2001:db8:2::80") / IPv6ExtHdrHopByHop() /
               IPv6ExtHdrRouting(addresses=["2001:db8::99"]), TCP(sport=50000, dport=80),
               sub=7, dir_=0, l2=Ether(**MAC) / Dot1Q(vlan=42))

    # the one-step parse's shapes (bpf/parse_fast.h): inner UDP, and one 802.1Q tag
    gtpu_frame("gtpu_v4_udp_up", IP(src="10.0.0.1", dst="10.0.0.2", id=9), 0x1234,
               IP(src="192.168.1.10", dst="9.9.9.9", id=3), UDP(sport=41000, dport=53),
               sub=7, dir_=0)
    gtpu_frame("gtpu_vlan_v4_tcp_down", IP(src="10.0.0.2", dst="10.0.0.1", id=10), 0x5678,
               IP(src="8.8.4.4", dst="192.168.1.10", id=4), TCP(sport=443, dport=40001, flags="PA"),
               sub=7, dir_=1, l2=Ether(**MAC) / Dot1Q(vlan=300))
    # the handshake of the gtpu_v4_tcp_* conversation: empty segments (pending flows)
    gtpu_frame("gtpu_v4_tcp_syn_up", IP(src="10.0.0.1", dst="10.0.0.2", id=11), 0x1234,
               IP(src="192.168.1.10", dst="8.8.8.8", id=5), TCP(sport=40000, dport=443, flags="S"),
               sub=7, dir_=0, payload=b"")
    gtpu_frame("gtpu_v4_tcp_synack_down", IP(src="10.0.0.2", dst="10.0.0.1", id=12), 0x5678,
               IP(src="8.8.8.8", dst="192.168.1.10", id=6), TCP(sport=443, dport=40000, flags="SA"),
               sub=7, dir_=1, payload=b"")

    # GTP-C, GTP-U signalling, plain IP: sent up, no tunnel lookup
    gtpc = Ether(**MAC) / IP(src="10.0.0.9", dst="10.0.0.10") / UDP(sport=2123, dport=2123) / \
        Raw(bytes.fromhex("4820000c0000000000000100") + b"\x00" * 4)
    emit("gtpc_v2", gtpc, "redirect", F_GTPC | F_PORTS, [(14, "TRUNC_IP4"), (34, "TRUNC_L4")], 42,
         teid=0, outer_l3=14, inner_l3=14, inner_l4=34, proto=17, ip_len=len(bytes(gtpc[IP])),
         sport=2123, dport=2123, sub=-1, dir=255, vlan=0, qfi=0, pdu=0, gtp_type=0, reason="-")
    echo = Ether(**MAC) / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=2152, dport=2152) / \
        GTP_U_Header(teid=0, gtp_type=1, S=1, seq=5)
    emit("gtpu_echo", echo, "redirect", F_GTPU | F_PORTS,
         [(14, "TRUNC_IP4"), (34, "TRUNC_L4"), (42, "TRUNC_GTPU")], 54, teid=0, outer_l3=14,
         inner_l3=14, inner_l4=34, proto=17, ip_len=len(bytes(echo[IP])), sport=2152, dport=2152,
         sub=-1, dir=255, vlan=0, qfi=0, pdu=0, gtp_type=1, reason="-")
    tcp = Ether(**MAC) / IP(src="172.16.0.1", dst="172.16.0.2") / TCP(sport=1111, dport=22) / \
        Raw(b"y" * 10)
    emit("plain_tcp", tcp, "redirect", F_PORTS, [(14, "TRUNC_IP4"), (34, "TRUNC_L4")], 54,
         teid=0, outer_l3=14, inner_l3=14, inner_l4=34, proto=6, ip_len=len(bytes(tcp[IP])),
         sport=1111, dport=22, sub=-1, dir=255, vlan=0, qfi=0, pdu=0, gtp_type=0, reason="-")
    frag = Ether(**MAC) / IP(src="10.0.0.1", dst="10.0.0.2", frag=100, proto=17) / Raw(b"z" * 40)
    emit("outer_fragment", frag, "redirect", F_FRAG, [(14, "TRUNC_IP4")], 34, teid=0,
         outer_l3=14, inner_l3=14, inner_l4=0, proto=17, ip_len=60, sport=0, dport=0, sub=-1,
         dir=255, vlan=0, qfi=0, pdu=0, gtp_type=0, reason="-")

    # not IP, malformed: counted under one reason, passed
    bad("arp", Ether(**MAC) / ARP(), "NOT_IP")
    base = Ether(**MAC) / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=2152, dport=2152)
    inner = IP(src="192.168.1.10", dst="8.8.8.8") / TCP(sport=1, dport=2)
    bad("gtpu_bad_version", base / Raw(b"\x50\xff\x00\x28\x00\x00\x12\x34") / inner,
        "BAD_GTPU_VERSION")
    # GTP-U length beyond the datagram (open5gs-testregistration frame 139): counted under
    # BAD_GTPU_LEN and still redirected and credited to the tunnel's subscriber (docs/5g.md)
    gtpu_frame("gtpu_len_too_big", IP(src="10.0.0.1", dst="10.0.0.2", id=9), 0x1234,
               IP(src="192.168.1.10", dst="8.8.8.8", id=3), TCP(sport=40001, dport=443, flags="A"),
               gtp_kw=dict(length=1024), sub=7, dir_=0, reason="BAD_GTPU_LEN")
    # ... but one too short for the optional word it announces is dropped as malformed
    bad("gtpu_len_too_big_no_opt", Ether(**MAC) / IP(src="10.0.0.1", dst="10.0.0.2") /
        UDP(sport=2152, dport=2152, len=18) / Raw(b"\x32\xff\x04\x00\x00\x00\x12\x34\x00\x00\x00\x00"),
        "BAD_GTPU_LEN")
    bad("gtpu_ext_len0", base / Raw(bytes.fromhex("34ff002c000012340000008500") + b"\x00" * 3) /
        inner, "BAD_GTPU_EXT")
    chain = b"".join(bytes([1, 0, 0, 0x85]) for _ in range(9))
    bad("gtpu_ext_chain_long", base / Raw(bytes.fromhex("34ff%04x000012340000008500" %
                                                        (4 + len(chain) + 40))[:-1] + chain) /
        inner, "BAD_GTPU_EXT")
    bad("gtpu_inner_not_ip", base / GTP_U_Header(teid=0x1234, gtp_type=255) / Raw(b"\x11" * 30),
        "BAD_GTPU_INNER")
    bad("gtpu_empty_tpdu", base / GTP_U_Header(teid=0x1234, gtp_type=255, length=0),
        "BAD_GTPU_INNER")
    lying = IP(src="192.168.1.10", dst="8.8.8.8", len=1400) / TCP(sport=1, dport=2)
    bad("inner_ip_len_beyond_gtpu", base / GTP_U_Header(teid=0x1234, gtp_type=255) / lying,
        "BAD_IP_LEN")
    bad("ip4_ihl_4", Ether(**MAC) / IP(src="10.0.0.1", dst="10.0.0.2", ihl=4) / UDP() /
        Raw(b"a" * 20), "BAD_IP4_HLEN")
    bad("ip_version_5", Ether(**MAC, type=0x0800) / Raw(b"\x55" + b"\x00" * 40), "BAD_IP_VERSION")
    bad("udp_len_4", Ether(**MAC) / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(len=4) /
        Raw(b"b" * 20), "BAD_UDP_LEN")
    bad("udp_len_beyond_ip", Ether(**MAC) / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(len=200) /
        Raw(b"b" * 20), "BAD_UDP_LEN")
    bad("inner_tcp_doff_3", base / GTP_U_Header(teid=0x1234, gtp_type=255) /
        IP(src="192.168.1.10", dst="8.8.8.8") / TCP(sport=1, dport=2, dataofs=3), "BAD_TCP_HLEN")
    ext5 = IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() / \
        IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt()
    bad("ip6_ext_chain_long", Ether(**MAC) / IPv6(src="2001:db8::1", dst="2001:db8::2") / ext5 /
        UDP(), "BAD_IP6_EXT")
    bad("mpls_no_bos", Ether(**MAC) / MPLS(label=1, s=0) / MPLS(label=2, s=0) /
        MPLS(label=3, s=0) / MPLS(label=4, s=0) / MPLS(label=5, s=1) / IP() / UDP(),
        "TRUNC_MPLS")
    bad("vlan_4_tags", Ether(**MAC) / Dot1AD(vlan=1) / Dot1Q(vlan=2) / Dot1Q(vlan=3) /
        Dot1Q(vlan=4) / IP() / UDP(), "TRUNC_VLAN")
    print("\n".join(out))


if __name__ == "__main__":
    sys.exit(main())
