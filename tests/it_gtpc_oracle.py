#!/usr/bin/python3
"""it_gtpc_oracle.py - GTP-C decoder vs tshark on real captures and on the scapy-built cases.

For every frame carrying GTP-C on port 2123, tests/tool_gtpc_dump (our decoder) and
`tshark -T fields` (Wireshark's dissector, the independent oracle) must agree on: message
types (incl. piggybacked ones), sequence numbers, IMSI, MSISDN, APN, UE address (PAA / End
User Address), cause, every GTPv2 F-TEID (TEID/GRE key, IPv4, IPv6, interface type) and the
GTPv1 TEID Data I / TEID C-plane / GSN addresses. Frames tshark marks malformed must be
rejected by our decoder (at least one error line), and vice versa.

Multi-interface pcapng files (which libpcap refuses) are converted with editcap first; both
tools then read the same converted file. Env: BUILD (build dir). Exit 0 = all agree.
"""
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("BUILD", "build")
PCAPS = os.environ.get("MCP_PCAPS", "/work/shared/pcaps")
FILES = ["ndpi-gtp_c.pcap", "pcpp-gtpv2.pcap", "zeek-gtp_create_pdp_ctx.pcap",
         "zeek-gtp_control_prime.pcap", "open5gs-testattach.pcapng", "open5gs-volte.pcapng",
         "pcpp-gtp.pcap", os.path.join(ROOT, "tests/data/gtpc_cases.pcap")]
FIELDS = ["frame.number", "gtpv2.message_type", "gtp.message", "e212.imsi",
          "gtpv2.f_teid_gre_key", "gtpv2.f_teid_ipv4", "gtpv2.f_teid_ipv6",
          "gtpv2.f_teid_interface_type", "gtpv2.pdn_addr_and_prefix.ipv4",
          "gtpv2.pdn_addr_and_prefix.ipv6", "gtpv2.apn", "gtp.apn", "e164.msisdn",
          "gtp.teid_data", "gtp.teid_cp", "gtp.user_ipv4", "gtp.user_ipv6", "gtp.gsn_ipv4",
          "gtp.gsn_ipv6", "gtpv2.seq", "gtp.seq_number", "gtpv2.cause", "gtp.cause",
          "_ws.malformed", "gtp.flags.version", "gtpv2.version", "gtpv2.msg_length",
          "udp.length", "tcp.len"]
FILTER = "(udp.port==2123 || tcp.port==2123) && (gtp || gtpv2)"


def num(v):
    return int(v, 0)


def split(v):
    return [x for x in v.split(",") if x != ""] if v else []


def tshark(path):
    out = subprocess.run(["tshark", "-r", path, "-Y", FILTER, "-T", "fields", "-E",
                          "separator=\t", "-E", "occurrence=a", "-E", "aggregator=,"] +
                         sum([["-e", f] for f in FIELDS], []),
                         capture_output=True, text=True, check=True).stdout
    rows = {}
    for line in out.splitlines():
        vals = line.split("\t")
        vals += [""] * (len(FIELDS) - len(vals))
        rows[int(vals[0])] = dict(zip(FIELDS, vals))
    return rows


def ours(path):
    tool = os.path.join(ROOT, BUILD, "tests", "tool_gtpc_dump")
    if not os.access(tool, os.X_OK):
        print("missing %s: run make BUILD=%s tests" % (tool, BUILD))
        sys.exit(1)
    out = subprocess.run([tool, path], capture_output=True, text=True, check=True).stdout
    frames = defaultdict(list)
    for line in out.splitlines():
        m = json.loads(line)
        frames[m["frame"]].append(m)
    return frames


def expect(errs, name, frame, what, got, want):
    if got != want:
        errs.append("%s frame %d: %s: ours %s, tshark %s" % (name, frame, what, got, want))


def compare(name, path):
    errs = []
    ts, us = tshark(path), ours(path)
    nmsg = 0
    for frame in sorted(set(ts) | set(us)):
        t = ts.get(frame)
        u = us.get(frame, [])
        if t is None:
            # tshark only dissects GTP on the port it expects; we saw something on 2123
            if any("err" not in m for m in u):
                errs.append("%s frame %d: decoded by us, not GTP for tshark" % (name, frame))
            continue
        if t["gtp.flags.version"] == "0" or (not u and t["gtp.message"] and
                                              not t["gtpv2.message_type"]):
            # GTPv0 / GTP' are not GTP-C v1/v2: we must reject, not invent a message
            if any("err" not in m for m in u if m.get("version") == 0):
                errs.append("%s frame %d: version 0 decoded" % (name, frame))
            continue
        good = [m for m in u if "err" not in m]
        bad = [m for m in u if "err" in m]
        nmsg += len(good)
        if bad and not good and not t["_ws.malformed"] and t["gtpv2.msg_length"]:
            # tshark dissects IEs past a wrong length field; we reject the message. Accept
            # only when tshark's own fields show the length field disagrees with the payload.
            plen = num(t["udp.length"]) - 8 if t["udp.length"] else num(t["tcp.len"] or "0")
            if bad[0]["err"] in ("TRUNC_MSG", "BAD_IE_LEN") and \
                    num(split(t["gtpv2.msg_length"])[0]) + 4 != plen:
                print("  note: %s frame %d: length field %s+4 vs payload %d: rejected (%s)" %
                      (name, frame, t["gtpv2.msg_length"], plen, bad[0]["err"]))
                continue
        expect(errs, name, frame, "malformed", bool(bad), bool(t["_ws.malformed"]))
        v2 = [m for m in good if m["version"] == 2]
        v1 = [m for m in good if m["version"] == 1]
        expect(errs, name, frame, "v2 types", [m["type"] for m in v2],
               [num(x) for x in split(t["gtpv2.message_type"])])
        expect(errs, name, frame, "v1 types", [m["type"] for m in v1],
               [num(x) for x in split(t["gtp.message"])])
        expect(errs, name, frame, "seq", [m["seq"] for m in good],
               [num(x) for x in split(t["gtpv2.seq"]) + split(t["gtp.seq_number"])])
        expect(errs, name, frame, "imsi", sorted(m["imsi"] for m in good if m["imsi"]),
               sorted(split(t["e212.imsi"])))
        expect(errs, name, frame, "msisdn", sorted(m["msisdn"] for m in good if m["msisdn"]),
               sorted(split(t["e164.msisdn"])))
        expect(errs, name, frame, "apn", sorted(m["apn"] for m in good if m["apn"]),
               sorted(split(t["gtpv2.apn"]) + split(t["gtp.apn"])))
        expect(errs, name, frame, "cause",
               sorted([m["cause"] for m in good if m["cause"] >= 0] +
                      [c for m in good for c in m.get("bearer_causes", [])]),
               sorted(num(x) for x in split(t["gtpv2.cause"]) + split(t["gtp.cause"])))
        if v2:
            f = [x for m in v2 for x in m["fteids"]]
            expect(errs, name, frame, "f-teid teid", Counter(x["teid"] for x in f),
                   Counter(num(x) for x in split(t["gtpv2.f_teid_gre_key"])))
            expect(errs, name, frame, "f-teid ipv4", Counter(x["v4"] for x in f if x["v4"]),
                   Counter(split(t["gtpv2.f_teid_ipv4"])))
            expect(errs, name, frame, "f-teid ipv6", Counter(x["v6"] for x in f if x["v6"]),
                   Counter(split(t["gtpv2.f_teid_ipv6"])))
            expect(errs, name, frame, "f-teid iface", Counter(x["iface"] for x in f),
                   Counter(num(x) for x in split(t["gtpv2.f_teid_interface_type"])))
            expect(errs, name, frame, "paa ipv4", [m["ue_v4"] for m in v2 if m["ue_v4"]],
                   split(t["gtpv2.pdn_addr_and_prefix.ipv4"]))
            expect(errs, name, frame, "paa ipv6", [m["ue_v6"] for m in v2 if m["ue_v6"]],
                   split(t["gtpv2.pdn_addr_and_prefix.ipv6"]))
        if v1:
            expect(errs, name, frame, "teid data", [m["teid_data"] for m in v1
                                                    if m["teid_data"] >= 0],
                   [num(x) for x in split(t["gtp.teid_data"])])
            expect(errs, name, frame, "teid cp", [m["teid_ctrl"] for m in v1
                                                  if m["teid_ctrl"] >= 0],
                   [num(x) for x in split(t["gtp.teid_cp"])])
            expect(errs, name, frame, "user ip", [a for m in v1 for a in (m["ue_v4"],
                                                                          m["ue_v6"]) if a],
                   split(t["gtp.user_ipv4"]) + split(t["gtp.user_ipv6"]))
            gsn = split(t["gtp.gsn_ipv4"]) + split(t["gtp.gsn_ipv6"])
            expect(errs, name, frame, "gsn", [a for m in v1 for a in m["gsn"][:m["ngsn"]]],
                   gsn[:2])
    return nmsg, errs


# TS 29.274 Table 8.22-1: user-plane interface types by the direction they receive
UP_IFACES = {1, 3, 5, 16, 20, 28, 33, 37, 39, 41}
DOWN_IFACES = {0, 2, 4, 15, 19, 21, 22, 23, 29, 31, 34, 38}
REQUESTS = {32, 34, 36, 95, 97, 99, 170}
RESPONSES = {33, 35, 37, 96, 98, 100, 171}
SESSION_FILES = ["open5gs-testattach.pcapng", "open5gs-volte.pcapng"]


def session_check(name, path):
    """GTP-U attribution through the session table vs bindings derived from tshark fields:
    a T-PDU must resolve to an IMSI of the capture, with the direction of its interface type,
    iff tshark shows its (TEID, outer dst) announced as a user-plane F-TEID in a request or
    response whose response was accepted (cause 16..63) before the T-PDU, and the capture's
    GTP-C carries an IMSI at all."""
    errs = []
    out = subprocess.run(["tshark", "-r", path, "-Y", "gtpv2 || gtp.message==0xff", "-T",
                          "fields", "-E", "separator=\t", "-E", "occurrence=a", "-E",
                          "aggregator=,", "-e", "frame.number", "-e", "ip.src", "-e", "ip.dst",
                          "-e", "gtpv2.message_type", "-e", "gtpv2.seq", "-e", "gtpv2.cause",
                          "-e", "gtpv2.f_teid_gre_key", "-e", "gtpv2.f_teid_ipv4", "-e",
                          "gtpv2.f_teid_interface_type", "-e", "e212.imsi", "-e", "gtp.teid",
                          "-e", "gtp.message", "-e", "ip.frag_offset"],
                         capture_output=True, text=True, check=True).stdout
    reqs, announced, tpdus, imsis, nfrag = {}, {}, [], set(), 0
    for line in out.splitlines():
        f = (line.split("\t") + [""] * 13)[:13]
        frame, src, dst = int(f[0]), split(f[1]), split(f[2])
        imsis.update(split(f[9]))
        if "0xff" in split(f[11]) and f[10]:
            if any(x != "0" for x in split(f[12])):
                nfrag += 1  # outer IP reassembled by tshark: the frame decoder's job
                continue
            tpdus.append((frame, num(split(f[10])[-1]), dst[0]))
            continue
        if not f[3]:
            continue
        types, seqs = [num(x) for x in split(f[3])], [num(x) for x in split(f[4])]
        keys, v4s, ifs = split(f[6]), split(f[7]), split(f[8])
        if len(keys) != len(v4s) or len(keys) != len(ifs):
            continue  # an F-TEID without IPv4: pairing by position is not possible
        fteids = [(num(k), a, num(i)) for k, a, i in zip(keys, v4s, ifs)]
        t, seq = types[0], seqs[0]
        if t in REQUESTS:
            reqs[(seq, src[0], dst[0])] = fteids
            continue
        if t not in RESPONSES:
            continue
        req = reqs.pop((seq, dst[0], src[0]), None)
        causes = [num(x) for x in split(f[5])]
        if req is None or not causes or not 16 <= causes[0] <= 63:
            continue
        for teid, a, i in req + fteids:
            if i in UP_IFACES or i in DOWN_IFACES:
                announced.setdefault((teid, a), (frame, 0 if i in UP_IFACES else 1))
    ours_out = subprocess.run([os.path.join(ROOT, BUILD, "tests", "tool_gtpc_dump"),
                               "--sessions", path], capture_output=True, text=True,
                              check=True).stdout
    got = {}
    for line in ours_out.splitlines():
        m = json.loads(line)
        if m.get("gtpu"):
            got[m["frame"]] = m
    nattr = 0
    for frame, teid, dst in tpdus:
        m = got.get(frame)
        if m is None:
            errs.append("%s frame %d: T-PDU not seen by the tool" % (name, frame))
            continue
        exp = announced.get((teid, dst))
        # without any IMSI in GTP-C (volte: bearers of sessions created before the capture)
        # nothing can be attributed: the unknown-subscriber path
        if exp and exp[0] < frame and imsis:
            nattr += 1
            if m["imsi"] not in imsis:
                errs.append("%s frame %d: TEID %#x@%s: got IMSI '%s', want one of %s" %
                            (name, frame, teid, dst, m["imsi"], sorted(imsis)))
            elif m["dir"] != exp[1]:
                errs.append("%s frame %d: TEID %#x@%s: dir %d want %d" %
                            (name, frame, teid, dst, m["dir"], exp[1]))
        elif m["imsi"]:
            errs.append("%s frame %d: TEID %#x@%s attributed to %s but never announced" %
                        (name, frame, teid, dst, m["imsi"]))
    print("%-32s %3d T-PDUs, %d attributed by tshark bindings, %d mismatches "
          "(%d outer-fragmented skipped)" % (name, len(tpdus), nattr, len(errs), nfrag))
    return errs


def main():
    total_errs = []
    with tempfile.TemporaryDirectory() as tmp:
        for f in FILES:
            src = f if os.path.isabs(f) else os.path.join(PCAPS, f)
            if not os.path.exists(src):
                print("FAIL missing capture %s" % src)
                return 1
            conv = os.path.join(tmp, os.path.basename(src) + ".pcap")
            subprocess.run(["editcap", "-F", "pcap", src, conv], check=True,
                           capture_output=True)
            n, errs = compare(os.path.basename(src), conv)
            print("%-32s %3d messages compared, %d mismatches" % (os.path.basename(src), n,
                                                                  len(errs)))
            if n == 0:
                errs.append("%s: no GTP-C message decoded" % src)
            total_errs += errs
            if os.path.basename(src) in SESSION_FILES:
                total_errs += session_check(os.path.basename(src), conv)
    for e in total_errs:
        print("  " + e)
    print("FAIL" if total_errs else "PASS")
    return 1 if total_errs else 0


if __name__ == "__main__":
    sys.exit(main())
