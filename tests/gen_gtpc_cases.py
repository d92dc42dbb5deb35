#!/usr/bin/python3
"""gen_gtpc_cases.py - builds the GTPv1-C (TS 29.060) and GTPv2-C (TS 29.274) test messages
with scapy (scapy.contrib.gtp / gtp_v2) from known values, and writes:

  tests/data/gtpc_cases.h     C arrays + a table (name, bytes, carrying IP/UDP) for Criterion
  tests/data/gtpc_cases.pcap  the same messages over Ethernet/IPv4/UDP for tshark

scapy 2.5 writes wrong GTPv2 IE lengths (+2) and wrong v1 TLV lengths for some IEs, and cannot
build a PAA with IPv6 or a v1 MSISDN: lengths are recomputed from the bytes (fix_v2 / fix_v1)
and those few IEs are assembled from their TS fields. Run with --check to verify with tshark
that every frame decodes without an expert error and carries the expected key fields.
Deterministic: no random fields, fixed timestamps. Usage: gen_gtpc_cases.py [--check] [outdir]
"""
import os
import struct
import subprocess
import sys

from scapy.all import Ether, IP, UDP, Raw, raw, wrpcap
from scapy.contrib import gtp, gtp_v2

# Endpoints (control plane)
MME, SGW, PGW = "10.0.0.1", "10.0.0.2", "10.0.0.3"
SGSN, GGSN, SGSN2 = "192.168.1.1", "192.168.2.1", "192.168.3.1"


def fix_v2(ie_bytes):
    """GTPv2 IE: length = bytes after the 4-byte IE header."""
    b = bytearray(ie_bytes)
    struct.pack_into("!H", b, 1, len(b) - 4)
    return bytes(b)


def fix_v1(ie_bytes):
    """GTPv1 TLV IE (type >= 128): length = bytes after the 3-byte IE header."""
    b = bytearray(ie_bytes)
    if b[0] >= 128:
        struct.pack_into("!H", b, 1, len(b) - 3)
    return bytes(b)


def v2ie(ie):
    return fix_v2(raw(ie))


def v2raw(ietype, inst, value):
    return struct.pack("!BHB", ietype, len(value), inst & 0x0F) + value


def v2bearer(inst, *ies):
    body = b"".join(ies)
    return struct.pack("!BHB", 93, len(body), inst & 0x0F) + body


def fteid(iface, teid, v4=None, v6=None, inst=0):
    if v6 is None:
        return v2ie(gtp_v2.IE_FTEID(instance=inst, ipv4_present=1, InterfaceType=iface,
                                    GRE_Key=teid, ipv4=v4))
    import ipaddress
    flags = 0x40 | (0x80 if v4 else 0) | iface
    val = struct.pack("!BI", flags, teid)
    if v4:
        val += ipaddress.IPv4Address(v4).packed
    val += ipaddress.IPv6Address(v6).packed
    return v2raw(87, inst, val)


def paa(v4=None, v6=None, plen=64):
    import ipaddress
    if v6 is None:
        return v2ie(gtp_v2.IE_PAA(PDN_type=1, ipv4=v4))
    # scapy 2.5 cannot build PAA with IPv6: TS 29.274 8.14 by hand
    if v4 is None:
        return v2raw(79, 0, bytes([2, plen]) + ipaddress.IPv6Address(v6).packed)
    return v2raw(79, 0, bytes([3, plen]) + ipaddress.IPv6Address(v6).packed +
                 ipaddress.IPv4Address(v4).packed)


def cause2(c):
    return v2ie(gtp_v2.IE_Cause(Cause=c))


def ebi(e, inst=0):
    return v2ie(gtp_v2.IE_EPSBearerID(EBI=e, instance=inst))


def bqos():
    return v2ie(gtp_v2.IE_Bearer_QoS(QCI=9, PriorityLevel=8))


def v2msg(mtype, seq, ies, teid=None, piggy=0):
    body = b"".join(ies)
    t = teid is not None
    hdr = gtp_v2.GTPHeader(version=2, P=piggy, T=1 if t else 0, gtp_type=mtype,
                           length=len(body) + (8 if t else 4), teid=teid or 0, seq=seq)
    return raw(hdr) + body


def v1msg(mtype, seq, ies, teid=0):
    body = b"".join(fix_v1(raw(i)) if not isinstance(i, bytes) else i for i in ies)
    hdr = gtp.GTPHeader(version=1, PT=1, S=1, gtp_type=mtype, length=len(body) + 4, teid=teid,
                        seq=seq)
    return raw(hdr) + body


def msisdn_v1(digits):
    # scapy 2.5 cannot build IE_MSInternationalNumber: TS 29.060 7.7.33 by hand
    d = digits + ("f" if len(digits) % 2 else "")
    tbcd = bytes(int(d[i + 1], 16) << 4 | int(d[i], 16) for i in range(0, len(d), 2))
    val = b"\x91" + tbcd
    return struct.pack("!BH", 134, len(val)) + val


# QoS Profile (7.7.34): ARP + R97/98 profile (scapy 2.5's IE_QoS default builds 1 byte)
QOS_V1 = struct.pack("!BH", 135, 4) + bytes([0x01, 0x23, 0x92, 0x1F])


def gsn(a):
    if ":" in a:
        return gtp.IE_GSNAddress(length=16, ipv6_address=a)
    return gtp.IE_GSNAddress(length=4, ipv4_address=a)


def uli_v2():
    return v2ie(gtp_v2.IE_ULI(TAI_Present=1, ECGI_Present=1,
                              TAI=gtp_v2.ULI_TAI(MCC=b"001", MNC=b"01", TAC=0x0001),
                              ECGI=gtp_v2.ULI_ECGI(MCC=b"001", MNC=b"01", ECI=0x0000101)))


IMSI2 = "001010123456789"


def csr(seq, imsi=IMSI2, mme_teid=0x11111111, paa_ie=None, s11u=False):
    ies = [v2ie(gtp_v2.IE_IMSI(IMSI=imsi.encode())),
           v2ie(gtp_v2.IE_MSISDN(digits=b"33612345678")),
           v2ie(gtp_v2.IE_MEI(MEI=b"3534900698733015")),
           uli_v2(),
           v2ie(gtp_v2.IE_ServingNetwork(MCC=b"001", MNC=b"01")),
           v2ie(gtp_v2.IE_RAT(RAT_type=6)),
           fteid(10, mme_teid, MME, inst=0),
           fteid(7, 0, PGW, inst=1),
           v2ie(gtp_v2.IE_APN(APN=b"internet.mnc001.mcc001.gprs")),
           v2ie(gtp_v2.IE_SelectionMode(SelectionMode=0)),
           v2ie(gtp_v2.IE_PDN_type(PDN_type=1)),
           paa_ie or paa(v4="0.0.0.0"),
           v2ie(gtp_v2.IE_AMBR(AMBR_Uplink=1000, AMBR_Downlink=2000)),
           v2bearer(0, ebi(5), bqos()),
           v2ie(gtp_v2.IE_RecoveryRestart(restart_counter=3))]
    return v2msg(32, seq, ies, teid=0)


def csrsp(seq, cause=16, mme_teid=0x11111111, sgw_teid=0x22222222, s1u=0x44444444,
          ue="10.45.0.7", paa_ie=None, piggy=0, v6_s1u=False):
    s1u_ie = fteid(1, s1u, "10.0.1.2" if not v6_s1u else None,
                   v6="2001:db8:ff::2" if v6_s1u else None, inst=0)
    ies = [cause2(cause)]
    if cause == 16:
        ies += [fteid(11, sgw_teid, SGW, inst=0),
                fteid(7, 0x33333333, PGW, inst=1),
                paa_ie or paa(v4=ue),
                v2ie(gtp_v2.IE_APN_Restriction(APN_Restriction=0)),
                v2bearer(0, ebi(5), cause2(16), s1u_ie,
                         fteid(5, 0x55555555, "10.0.1.3",
                               v6="2001:db8:ff::3" if v6_s1u else None, inst=2))]
    return v2msg(33, seq, ies, teid=mme_teid, piggy=piggy)


def build():
    c = []  # (name, bytes, src, dst, sport, dport)

    def add(name, b, src, dst, sport=2123, dport=2123):
        c.append((name, b, src, dst, sport, dport))

    # --- GTPv2-C on S11 (MME 10.0.0.1 <-> SGW 10.0.0.2) ---
    add("v2_csr", csr(0x000101), MME, SGW)
    add("v2_csrsp", csrsp(0x000101), SGW, MME)
    add("v2_csrsp_rej", csrsp(0x000101, cause=73), SGW, MME)
    add("v2_mbr", v2msg(34, 0x000102, [uli_v2(), v2bearer(0, ebi(5), fteid(0, 0x66666666,
                                                                          "10.0.2.1"))],
                        teid=0x22222222), MME, SGW)
    add("v2_mbrsp", v2msg(35, 0x000102, [cause2(16), v2bearer(0, ebi(5), cause2(16),
                                                             fteid(1, 0x44444444, "10.0.1.2"))],
                          teid=0x11111111), SGW, MME)
    # X2 handover: new eNodeB F-TEID
    add("v2_mbr_ho", v2msg(34, 0x000103, [v2bearer(0, ebi(5), fteid(0, 0x77777777, "10.0.2.2"))],
                           teid=0x22222222), MME, SGW)
    add("v2_mbrsp_ho", v2msg(35, 0x000103, [cause2(16), v2bearer(0, ebi(5), cause2(16))],
                             teid=0x11111111), SGW, MME)
    # dedicated bearer: Create Bearer from the SGW, EBI assigned by the MME
    add("v2_cbr", v2msg(95, 0x000201, [ebi(5), v2bearer(0, ebi(0), bqos(),
                                                       fteid(1, 0x88888888, "10.0.1.2", inst=0),
                                                       fteid(5, 0x99999999, "10.0.1.3",
                                                             inst=1))],
                        teid=0x11111111), SGW, MME)
    add("v2_cbrsp", v2msg(96, 0x000201, [cause2(16),
                                        v2bearer(0, ebi(6), cause2(16),
                                                 fteid(0, 0xAAAAAAAA, "10.0.2.1", inst=0),
                                                 fteid(1, 0x88888888, "10.0.1.2", inst=1))],
                          teid=0x22222222), MME, SGW)
    add("v2_ubr", v2msg(97, 0x000202, [v2bearer(0, ebi(6), bqos())], teid=0x11111111), SGW, MME)
    add("v2_ubrsp", v2msg(98, 0x000202, [cause2(16), v2bearer(0, ebi(6), cause2(16))],
                          teid=0x22222222), MME, SGW)
    add("v2_dbr", v2msg(99, 0x000203, [ebi(6, inst=1)], teid=0x11111111), SGW, MME)
    add("v2_dbrsp", v2msg(100, 0x000203, [cause2(16), v2bearer(0, ebi(6), cause2(16))],
                          teid=0x22222222), MME, SGW)
    add("v2_rabr", v2msg(170, 0x000104, [], teid=0x22222222), MME, SGW)
    add("v2_rabrsp", v2msg(171, 0x000104, [cause2(16)], teid=0x11111111), SGW, MME)
    add("v2_dsr", v2msg(36, 0x000105, [ebi(5), uli_v2()], teid=0x22222222), MME, SGW)
    add("v2_dsrsp", v2msg(37, 0x000105, [cause2(16)], teid=0x11111111), SGW, MME)
    add("v2_echo", v2msg(1, 0x000001, [v2ie(gtp_v2.IE_RecoveryRestart(restart_counter=3))]),
        MME, SGW)
    # re-attach: new TEIDs and a new UE address
    add("v2_csr2", csr(0x000301, mme_teid=0x1111AAAA), MME, SGW)
    add("v2_csrsp2", csrsp(0x000301, mme_teid=0x1111AAAA, sgw_teid=0x2222AAAA, s1u=0x4444AAAA,
                           ue="10.45.0.9"), SGW, MME)
    # another subscriber (table full test)
    add("v2_csr3", csr(0x000401, imsi="001010000000003", mme_teid=0x11110003), MME, SGW)
    add("v2_csrsp3", csrsp(0x000401, mme_teid=0x11110003, sgw_teid=0x22220003, s1u=0x44440003,
                           ue="10.45.0.3"), SGW, MME)
    # dual stack UE, IPv6 S1-U
    add("v2_csr_v6", csr(0x000501, imsi="001010000000006", mme_teid=0x11110006,
                         paa_ie=paa(v4="0.0.0.0", v6="::", plen=0)), MME, SGW)
    add("v2_csrsp_v6", csrsp(0x000501, mme_teid=0x11110006, sgw_teid=0x22220006,
                             s1u=0x44440006, paa_ie=paa(v4="10.45.0.6", v6="2001:db8:1::",
                                                        plen=64), v6_s1u=True), SGW, MME)
    # piggybacked: Create Session Response + Create Bearer Request (TS 29.274 5.5.1)
    add("v2_piggy", csrsp(0x000601, piggy=1) +
        v2msg(95, 0x000602, [ebi(5), v2bearer(0, ebi(0), bqos(),
                                              fteid(1, 0x8888BBBB, "10.0.1.2"))],
              teid=0x11111111), SGW, MME)

    # --- GTPv1-C on Gn (SGSN 192.168.1.1 <-> GGSN 192.168.2.1) ---
    cpdp = [gtp.IE_IMSI(imsi=b"262011234567890"),
            gtp.IE_Routing(MCC=b"262", MNC=b"01", LAC=0x1234, RAC=0x56),
            gtp.IE_Recovery(restart_counter=7),
            gtp.IE_SelectionMode(SelectionMode=0xFC),
            gtp.IE_TEIDI(TEIDI=0x0A0B0C0D),
            gtp.IE_TEICP(TEICI=0x01020304),
            gtp.IE_NSAPI(NSAPI=5),
            gtp.IE_EndUserAddress(length=2, PDPTypeNumber=0x21),
            gtp.IE_AccessPointName(APN=b"web.operator.com"),
            gsn("192.168.1.1"), gsn("192.168.1.2"),
            msisdn_v1("491711234567"),
            QOS_V1,
            gtp.IE_RATType(RAT_Type=1),
            gtp.IE_UserLocationInformation(MCC=b"262", MNC=b"01", LAC=0x1234, SAC=0x5678),
            gtp.IE_IMEI(IMEI=b"3534900698733015")]
    add("v1_cpdp", v1msg(16, 0x1234, cpdp), SGSN, GGSN)

    def cpdprsp(seq, cause=128, teid=0x01020304, ue="10.1.2.3", data=0x1A1B1C1D):
        ies = [gtp.IE_Cause(CauseValue=cause)]
        if cause == 128:
            ies += [gtp.IE_ReorderingRequired(),
                    gtp.IE_Recovery(restart_counter=9),
                    gtp.IE_TEIDI(TEIDI=data),
                    gtp.IE_TEICP(TEICI=0x11121314),
                    gtp.IE_ChargingId(Charging_id=0x55),
                    gtp.IE_EndUserAddress(length=6, PDPTypeNumber=0x21, PDPAddress=ue),
                    gsn("192.168.2.1"), gsn("192.168.2.2"),
                    QOS_V1]
        return v1msg(17, seq, ies, teid=teid)

    add("v1_cpdprsp", cpdprsp(0x1234), GGSN, SGSN)
    add("v1_cpdprsp_rej", cpdprsp(0x1234, cause=199), GGSN, SGSN)
    # secondary PDP context: no IMSI, header TEID = GGSN TEID-C, Linked NSAPI 5
    add("v1_cpdp2", v1msg(16, 0x1235, [gtp.IE_TEIDI(TEIDI=0x0A0B0C0E), gtp.IE_NSAPI(NSAPI=6),
                                       gtp.IE_NSAPI(NSAPI=5), gsn("192.168.1.1"),
                                       gsn("192.168.1.2"), QOS_V1],
                          teid=0x11121314), SGSN, GGSN)
    add("v1_cpdprsp2", v1msg(17, 0x1235, [gtp.IE_Cause(CauseValue=128),
                                          gtp.IE_TEIDI(TEIDI=0x1A1B1C1E), gsn("192.168.2.1"),
                                          gsn("192.168.2.2"), QOS_V1],
                             teid=0x01020304), GGSN, SGSN)
    # inter-SGSN routing area update: the new SGSN updates the context
    add("v1_updp", v1msg(18, 0x2001, [gtp.IE_IMSI(imsi=b"262011234567890"),
                                      gtp.IE_Routing(MCC=b"262", MNC=b"01", LAC=0x4321, RAC=1),
                                      b"\x04\x11\x22\x33\x44",  # TLLI (7.7.4), no scapy IE
                                      gtp.IE_TEIDI(TEIDI=0x0C0C0C0C),
                                      gtp.IE_TEICP(TEICI=0x03030303), gtp.IE_NSAPI(NSAPI=5),
                                      gsn("192.168.3.1"), gsn("192.168.3.2"), QOS_V1],
                         teid=0x11121314), SGSN2, GGSN)
    add("v1_updprsp", v1msg(19, 0x2001, [gtp.IE_Cause(CauseValue=128),
                                         gtp.IE_TEIDI(TEIDI=0x1A1B1C1D),
                                         gtp.IE_TEICP(TEICI=0x11121314), gsn("192.168.2.1"),
                                         gsn("192.168.2.2"), QOS_V1],
                            teid=0x03030303), GGSN, SGSN2)
    add("v1_dpdp2", v1msg(20, 0x1236, [gtp.IE_Teardown(indicator=0), gtp.IE_NSAPI(NSAPI=6)],
                          teid=0x11121314), SGSN, GGSN)
    add("v1_dpdprsp2", v1msg(21, 0x1236, [gtp.IE_Cause(CauseValue=128)], teid=0x01020304),
        GGSN, SGSN)
    add("v1_dpdp", v1msg(20, 0x1237, [gtp.IE_Teardown(indicator=1), gtp.IE_NSAPI(NSAPI=5)],
                         teid=0x11121314), SGSN, GGSN)
    add("v1_dpdprsp", v1msg(21, 0x1237, [gtp.IE_Cause(CauseValue=128)], teid=0x01020304),
        GGSN, SGSN)
    add("v1_echo", v1msg(1, 0x0001, [gtp.IE_Recovery(restart_counter=7)]), SGSN, GGSN)
    # IPv4v6 End User Address and IPv6 GSN addresses
    add("v1_cpdp_v6", v1msg(16, 0x3001, [gtp.IE_IMSI(imsi=b"262010000000006"),
                                         gtp.IE_TEIDI(TEIDI=0x0606), gtp.IE_TEICP(TEICI=0x0607),
                                         gtp.IE_NSAPI(NSAPI=5),
                                         gtp.IE_EndUserAddress(length=2, PDPTypeNumber=0x8D),
                                         gtp.IE_AccessPointName(APN=b"ims"),
                                         gsn("2001:db8:a::1"), gsn("2001:db8:a::2"),
                                         QOS_V1]), SGSN, GGSN)
    add("v1_cpdprsp_v6", v1msg(17, 0x3001, [gtp.IE_Cause(CauseValue=128),
                                            gtp.IE_TEIDI(TEIDI=0x1606),
                                            gtp.IE_TEICP(TEICI=0x1607),
                                            gtp.IE_EndUserAddress(
                                                length=22, PDPTypeNumber=0x8D,
                                                PDPAddress="10.1.2.6",
                                                IPv6_PDPAddress="2001:db8:2::6"),
                                            gsn("2001:db8:b::1"), gsn("2001:db8:b::2"),
                                            QOS_V1], teid=0x0607), GGSN, SGSN)
    return c


def cname(s):
    return "gtpc_" + s


def write(outdir, cases):
    os.makedirs(outdir, exist_ok=True)
    h = ["/* gtpc_cases.h - GENERATED by tests/gen_gtpc_cases.py (scapy); do not edit. */",
         "#ifndef GTPC_CASES_H", "#define GTPC_CASES_H", "#include <stdint.h>", "#include <string.h>", ""]
    for name, b, *_ in cases:
        body = ", ".join("0x%02x" % x for x in b)
        h.append("static const uint8_t %s[%d] = { %s };" % (cname(name), len(b), body))
    h += ["", "struct gtpc_case {", "\tconst char *name;", "\tconst uint8_t *buf;",
          "\tunsigned int len;", "\tconst char *src, *dst;", "\tuint16_t sport, dport;", "};",
          "", "static const struct gtpc_case gtpc_cases[] = {"]
    for name, b, src, dst, sp, dp in cases:
        h.append('\t{ "%s", %s, %d, "%s", "%s", %d, %d },' % (name, cname(name), len(b), src,
                                                              dst, sp, dp))
    h += ["};", "", "#define GTPC_NCASES (sizeof(gtpc_cases) / sizeof(gtpc_cases[0]))", "",
          "static inline const struct gtpc_case *gtpc_case_get(const char *name)", "{",
          "\tunsigned int i;", "",
          "\tfor (i = 0; i < GTPC_NCASES; i++)",
          "\t\tif (!strcmp(gtpc_cases[i].name, name))", "\t\t\treturn &gtpc_cases[i];",
          "\treturn 0;", "}", "", "#endif"]
    with open(os.path.join(outdir, "gtpc_cases.h"), "w") as f:
        f.write("\n".join(h) + "\n")
    pkts = []
    for i, (name, b, src, dst, sp, dp) in enumerate(cases):
        p = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(
            src=src, dst=dst, id=i + 1) / UDP(sport=sp, dport=dp) / Raw(b)
        p.time = 1700000000 + i
        pkts.append(p)
    wrpcap(os.path.join(outdir, "gtpc_cases.pcap"), pkts)


def write_seeds(seeddir, cases):
    """libFuzzer seeds: byte 0 = direction/time control (see fuzz/fuzz_gtpc_v*.c)."""
    for name, b, src, *_ in cases:
        d = os.path.join(seeddir, "gtpc_v" + name[1])
        os.makedirs(d, exist_ok=True)
        ctl = 0x03 if src in (MME, SGSN, SGSN2) else 0x02
        with open(os.path.join(d, name + ".bin"), "wb") as f:
            f.write(bytes([ctl]) + b)


def check(outdir, cases):
    """tshark: no expert error/malformed in any frame; key fields as built."""
    pcap = os.path.join(outdir, "gtpc_cases.pcap")
    out = subprocess.run(["tshark", "-r", pcap, "-T", "fields", "-E", "separator=|",
                          "-e", "frame.number", "-e", "_ws.malformed", "-e",
                          "_ws.expert.severity", "-e", "e212.imsi", "-e", "gtpv2.message_type",
                          "-e", "gtp.message", "-e", "_ws.expert.message"],
                         capture_output=True, text=True, check=True).stdout
    bad = 0
    for line in out.splitlines():
        f = line.split("|")
        sev = [int(x) for x in f[2].split(",") if x]
        # 0x800000 = error severity (malformed / protocol error)
        if f[1] or any(s >= 0x800000 for s in sev):
            print("tshark flags frame %s (%s): %s" % (f[0], cases[int(f[0]) - 1][0], f[6]))
            bad += 1
    return bad


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    outdir = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                               "data")
    cases = build()
    write(outdir, cases)
    if not args:
        write_seeds(os.path.join(os.path.dirname(outdir), "..", "fuzz", "seeds"), cases)
    if "--check" in sys.argv:
        n = check(outdir, cases)
        print("%d cases, %d flagged by tshark" % (len(cases), n))
        sys.exit(1 if n else 0)
