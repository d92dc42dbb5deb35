#!/usr/bin/python3
"""it_gtpc_repeated.py - repeated and unexpected-instance IEs: the first one wins.

TS 29.274 7.7.8-7.7.9 and TS 29.060 11.1.13: an IE repeated where the message defines one,
or carrying an instance the message does not define, is discarded and the first one kept.
Each case below is built with scapy (helpers from gen_gtpc_cases.py) and written to a pcap.
tshark (the oracle) shows every occurrence with its instance; the value we must keep is the
first occurrence of instance 0 (per instance for F-TEIDs), and every other occurrence must be
counted in discarded_ies. A session check then feeds a Create Session exchange whose request
carries a second IMSI (also an empty one) and asserts the session belongs to the first.
Env: BUILD (build dir). Exit 0 = every case agrees.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_gtpc_cases import (MME, SGW, SGSN, GGSN, csrsp, cause2, ebi, fteid, gsn, msisdn_v1,
                            paa, v1msg, v2bearer, v2ie, v2msg, v2raw)
from scapy.all import Ether, IP, UDP, wrpcap
from scapy.contrib import gtp, gtp_v2

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("BUILD", "build")
TOOL = os.path.join(ROOT, BUILD, "tests", "tool_gtpc_dump")


def imsi(d, inst=0):
    return v2ie(gtp_v2.IE_IMSI(IMSI=d.encode(), instance=inst))


def msisdn(d, inst=0):
    return v2ie(gtp_v2.IE_MSISDN(digits=d.encode(), instance=inst))


def mei(d, inst=0):
    return v2ie(gtp_v2.IE_MEI(MEI=d.encode(), instance=inst))


def apn(a, inst=0):
    return v2ie(gtp_v2.IE_APN(APN=a.encode(), instance=inst))


def csr(*ies):
    base = [fteid(10, 0x11111111, MME, inst=0), v2bearer(0, ebi(5))]
    return v2msg(32, 0x000101, list(ies) + base, teid=0)


# (name, frame bytes, version, field checked): v2 fields name a tshark field and our key
V2_CASES = [
    ("imsi_twice", csr(imsi("001010123456789"), imsi("001010999999999")), "imsi"),
    ("imsi_then_empty", csr(imsi("001010123456789"), v2raw(1, 0, b"")), "imsi"),
    ("imsi_inst1_first", csr(imsi("001010999999999", inst=1), imsi("001010123456789")), "imsi"),
    ("msisdn_twice", csr(imsi("001010123456789"), msisdn("33612345678"), msisdn("33699999999")),
     "msisdn"),
    ("mei_twice", csr(imsi("001010123456789"), mei("3534900698733015"), mei("3534900698739999")),
     "imei"),
    ("apn_twice", csr(imsi("001010123456789"), apn("internet"), apn("ims")), "apn"),
    ("paa_twice", v2msg(33, 0x000101, [cause2(16), fteid(11, 0x22222222, SGW, inst=0),
                                       paa(v4="10.45.0.7"), paa(v4="10.45.0.99"),
                                       v2bearer(0, ebi(5), cause2(16))], teid=0x11111111),
     "ue_v4"),
    ("ctrl_fteid_twice", v2msg(34, 0x000102, [fteid(10, 0x11111111, MME, inst=0),
                                              fteid(10, 0x1111FFFF, "10.9.9.9", inst=0)],
                               teid=0x22222222), "fteid"),
    ("ctrl_fteid_inst5", v2msg(34, 0x000103, [fteid(10, 0x1111FFFF, "10.9.9.9", inst=5),
                                              fteid(10, 0x11111111, MME, inst=0)],
                               teid=0x22222222), "fteid"),
    ("bearer_fteid_twice", v2msg(34, 0x000104, [v2bearer(0, ebi(5), fteid(0, 0x66666666,
                                                                          "10.0.2.1"),
                                                         fteid(0, 0x6666FFFF, "10.0.2.9"))],
                                 teid=0x22222222), "bfteid"),
    ("cause_twice", v2msg(35, 0x000104, [cause2(16), cause2(73)], teid=0x11111111), "cause"),
]
# tshark flags the empty IMSI as malformed; it is the discarded IE, so the message stands
MALFORMED_DISCARDED = {"imsi_then_empty"}
TSHARK_V2 = {"imsi": "e212.imsi", "msisdn": "e164.msisdn", "imei": "gtpv2.mei",
             "apn": "gtpv2.apn", "ue_v4": "gtpv2.pdn_addr_and_prefix.ipv4",
             "cause": "gtpv2.cause"}
IE_TYPE = {"imsi": 1, "msisdn": 76, "imei": 75, "apn": 71, "ue_v4": 79, "cause": 2, "fteid": 87,
           "bfteid": 87}

CPDP_TAIL = [gtp.IE_TEICP(TEICI=0x01020304), gtp.IE_NSAPI(NSAPI=5)]
V1_CASES = [
    ("v1_imsi_twice", v1msg(16, 0x1234, [gtp.IE_IMSI(imsi=b"262011234567890"),
                                         gtp.IE_IMSI(imsi=b"262019999999999")] + CPDP_TAIL),
     "imsi", "e212.imsi"),
    ("v1_teid_data_twice", v1msg(16, 0x1235, [gtp.IE_IMSI(imsi=b"262011234567890"),
                                              gtp.IE_TEIDI(TEIDI=0x0A0B0C0D),
                                              gtp.IE_TEIDI(TEIDI=0x0A0BFFFF)] + CPDP_TAIL),
     "teid_data", "gtp.teid_data"),
    ("v1_msisdn_twice", v1msg(16, 0x1236, [gtp.IE_IMSI(imsi=b"262011234567890")] + CPDP_TAIL +
                              [gsn(SGSN), msisdn_v1("491711234567"),
                               msisdn_v1("491719999999")]), "msisdn", "e164.msisdn"),
    ("v1_eua_twice", v1msg(17, 0x1234, [gtp.IE_Cause(CauseValue=128),
                                        gtp.IE_TEIDI(TEIDI=0x1A1B1C1D),
                                        gtp.IE_EndUserAddress(length=6, PDPTypeNumber=0x21,
                                                              PDPAddress="10.1.2.3"),
                                        gtp.IE_EndUserAddress(length=6, PDPTypeNumber=0x21,
                                                              PDPAddress="10.1.2.99"),
                                        gsn(GGSN)], teid=0x01020304),
     "ue_v4", "gtp.user_ipv4"),
]


def split(v):
    return [x for x in v.split(",") if x != ""] if v else []


def tshark(path, fields):
    out = subprocess.run(["tshark", "-r", path, "-T", "fields", "-E", "separator=\t", "-E",
                          "occurrence=a", "-E", "aggregator=,"] +
                         sum([["-e", f] for f in ["frame.number"] + fields], []),
                         capture_output=True, text=True, check=True).stdout
    rows = {}
    for line in out.splitlines():
        vals = (line.split("\t") + [""] * (len(fields) + 1))[:len(fields) + 1]
        rows[int(vals[0])] = dict(zip(fields, vals[1:]))
    return rows


def ours(path, *args):
    out = subprocess.run([TOOL] + list(args) + [path], capture_output=True, text=True,
                         check=True).stdout
    return [json.loads(line) for line in out.splitlines()]


def write(path, frames):
    pkts = []
    for i, (b, src, dst) in enumerate(frames):
        p = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(src=src, dst=dst) / \
            UDP(sport=2123, dport=2123) / b
        p.time = 1700000000 + i
        pkts.append(p)
    wrpcap(path, pkts)


def v2_expect(row, field):
    """The value tshark shows for the first instance-0 IE of the field's type (F-TEIDs: the
    first of each instance), and how many IEs of that type must be discarded."""
    types = [int(x) for x in split(row["gtpv2.ie_type"])]
    insts = [int(x) for x in split(row["gtpv2.instance"])]
    occ = [i for t, i in zip(types, insts) if t == IE_TYPE[field]]
    if field in ("fteid", "bfteid"):  # top level: instances 0, 1; bearer: any, once each
        keys = [int(x, 0) for x in split(row["gtpv2.f_teid_gre_key"])]
        kept, seen = [], set()
        for k, i in zip(keys, occ):
            if i not in seen and (i <= 1 or field == "bfteid"):
                seen.add(i)
                kept.append(k)
        return sorted(kept), len(occ) - len(kept)
    vals = split(row[TSHARK_V2[field]])
    first = occ.index(0) if 0 in occ else None
    if field == "imsi" and len(vals) < len(occ):
        vals += [""] * (len(occ) - len(vals))  # an empty IMSI shows no e212.imsi
    want = vals[first] if first is not None else ""
    if field == "cause":
        want = int(want)
    return want, len(occ) - (1 if first is not None else 0)


def main():
    errs = []
    if not os.access(TOOL, os.X_OK):
        print("FAIL missing %s: run make BUILD=%s tests" % (TOOL, BUILD))
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "rep.pcap")
        cases = [(c[0], c[1], c[2], 2) for c in V2_CASES] + [(c[0], c[1], c[2], 1, c[3])
                                                              for c in V1_CASES]
        write(path, [(c[1], SGSN if c[3] == 1 else MME, GGSN if c[3] == 1 else SGW)
                     for c in cases])
        fields = sorted(set(TSHARK_V2.values()) | {"gtpv2.ie_type", "gtpv2.instance",
                                                    "gtpv2.f_teid_gre_key", "_ws.malformed"} |
                        {c[3] for c in V1_CASES})
        ts = tshark(path, fields)
        us = {m["frame"]: m for m in ours(path)}
        for n, c in enumerate(cases, 1):
            name, field, m, row = c[0], c[2], us.get(n), ts[n]
            if m is None or "err" in m or (row["_ws.malformed"] and
                                            name not in MALFORMED_DISCARDED):
                errs.append("%s: not decoded (ours %s, tshark malformed '%s')" %
                            (name, m, row["_ws.malformed"]))
                continue
            if c[3] == 2:
                want, ndisc = v2_expect(row, field)
                got = sorted(f["teid"] for f in m["fteids"]) if "fteid" in field else m[field]
            else:
                vals = split(row[c[4]])
                want, ndisc = vals[0], len(vals) - 1
                got = m[field]
                if field == "teid_data":
                    want = int(want, 0)
            ok = got == want and m["discarded_ies"] == ndisc and ndisc > 0
            print("%-20s %s: ours %s (discarded %d), tshark first %s (%d more)" %
                  (name, "ok" if ok else "MISMATCH", got, m["discarded_ies"], want, ndisc))
            if not ok:
                errs.append(name)
        errs += session_check(tmp)
    for e in errs:
        print("  " + e)
    print("FAIL" if errs else "PASS")
    return 1 if errs else 0


def session_check(tmp):
    """A Create Session exchange whose request repeats the IMSI (a second one, then an empty
    one) attaches the first IMSI, and the table counts it as created."""
    errs = []
    for name, extra in (("second IMSI", imsi("001010999999999")),
                        ("empty IMSI", v2raw(1, 0, b""))):
        path = os.path.join(tmp, "sess.pcap")
        write(path, [(csr(imsi("001010123456789"), extra, paa(v4="0.0.0.0")), MME, SGW),
                     (csrsp(0x000101), SGW, MME)])
        out = ours(path, "--sessions")
        att = [m["imsi"] for m in out if m.get("event") == "ATTACH"]
        st = [m for m in out if m.get("stats")][0]
        ok = att == ["001010123456789"] and st["created"] == 1 and st["discarded_ies"] == 1
        print("session, %-12s %s: attached %s, %s" % (name, "ok" if ok else "MISMATCH", att,
                                                      st))
        if not ok:
            errs.append("session with a " + name)
    return errs


if __name__ == "__main__":
    sys.exit(main())
