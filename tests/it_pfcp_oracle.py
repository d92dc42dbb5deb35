#!/usr/bin/python3
"""it_pfcp_oracle.py - PFCP decoder vs tshark, and the 5G session join on real captures.

1. For every PFCP frame of open5gs-5g-roaming-hr and open5gs-testregistration (UDP 8805, not
   ICMP quotes), tests/tool_pfcp_dump (our decoder) and `tshark -T fields` must agree on:
   message type, sequence number, header SEID and F-SEID, cause, PDR ids, source and
   destination interfaces, F-TEID TEIDs and IPv4 addresses (CHOOSE flags), UE IPv4/IPv6,
   QFIs, network instances, Outer Header Creation TEID/IPv4, User ID IMSI/IMEI/MSISDN,
   APN/DNN, S-NSSAI.
2. mcprobe on open5gs-5g-roaming-hr: each of the 18 T-PDUs (N3 and N9, tshark) lies in a
   flow tagged IMSI 999700000021309 (from the PFCP User ID only), rat NR, with the QFI of its
   PDU Session Container when it has one; the session log shows the UE addresses and F-TEIDs
   that tshark decodes from PFCP.
Env: BUILD, MCP_PCAPS. Exit 0 = all agree.
"""
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter

BUILD = os.environ.get("BUILD", "build")
PCAPS = os.environ.get("MCP_PCAPS", "/work/shared/pcaps")
FILES = ["open5gs-5g-roaming-hr.pcapng", "open5gs-testregistration.pcapng"]
FIELDS = ["frame.number", "pfcp.msg_type", "pfcp.seqno", "pfcp.seid", "pfcp.cause",
          "pfcp.pdr_id", "pfcp.source_interface", "pfcp.dst_interface", "pfcp.f_teid_flags.ch",
          "pfcp.f_teid.teid", "pfcp.f_teid.ipv4_addr", "pfcp.ue_ip_addr_ipv4",
          "pfcp.ue_ip_addr_ipv6", "pfcp.qfi_value", "pfcp.network_instance",
          "pfcp.outer_hdr_creation.teid", "pfcp.outer_hdr_creation.ipv4", "e212.imsi",
          "pfcp.user_id.imei", "e164.msisdn", "pfcp.apn_dnn", "pfcp.s_nssai_sst.sst",
          "pfcp.s_nssai_sst.sd", "_ws.malformed"]
IMSI = "999700000021309"


def split(v):
    return [x for x in v.split("|") if x != ""] if v else []


def tshark(path, flt, fields):
    out = subprocess.run(["tshark", "-r", path, "-Y", flt, "-T", "fields", "-E", "separator=\t",
                          "-E", "occurrence=a", "-E", "aggregator=|"] +
                         sum([["-e", f] for f in fields], []),
                         capture_output=True, text=True, check=True).stdout
    return [dict(zip(fields, line.split("\t"))) for line in out.splitlines()]


def ours_fields(msgs):
    """Our messages of one frame, as the multisets tshark prints."""
    c = {k: Counter() for k in FIELDS}
    for m in msgs:
        c["pfcp.msg_type"][str(m["type"])] += 1
        c["pfcp.seqno"][str(m["seq"])] += 1
        for k in ("seid", "fseid"):
            if k in m:
                c["pfcp.seid"]["0x%016x" % m[k]] += 1
        if "cause" in m:
            c["pfcp.cause"][str(m["cause"])] += 1
        for k, f in (("imsi", "e212.imsi"), ("imei", "pfcp.user_id.imei"),
                     ("msisdn", "e164.msisdn"), ("dnn", "pfcp.apn_dnn")):
            if k in m:
                c[f][m[k]] += 1
        if "sst" in m:
            c["pfcp.s_nssai_sst.sst"]["%02x" % m["sst"]] += 1
            if m["sd"] >= 0:
                c["pfcp.s_nssai_sst.sd"]["%06x" % m["sd"]] += 1
        for q in m["qer_qfi"]:
            c["pfcp.qfi_value"]["0x%02x" % q] += 1
        for r in m["pdr"] + m["created"]:
            c["pfcp.pdr_id"][str(r["id"])] += 1
            if "src_if" in r:
                c["pfcp.source_interface"][str(r["src_if"])] += 1
            if "choose" in r:
                c["pfcp.f_teid_flags.ch"][str(r["choose"])] += 1
            if "teid" in r:
                c["pfcp.f_teid.teid"]["0x%08x" % r["teid"]] += 1
            if "v4" in r:
                c["pfcp.f_teid.ipv4_addr"][r["v4"]] += 1
            for k, f in (("ue_v4", "pfcp.ue_ip_addr_ipv4"), ("ue_v6", "pfcp.ue_ip_addr_ipv6"),
                         ("ni", "pfcp.network_instance")):
                if k in r:
                    c[f][r[k]] += 1
            for q in r["qfi"]:
                c["pfcp.qfi_value"]["0x%02x" % q] += 1
        for f in m["far"]:
            if "ni" in f:
                c["pfcp.network_instance"][f["ni"]] += 1
            if "dst_if" in f:
                c["pfcp.dst_interface"][str(f["dst_if"])] += 1
            if "ohc_teid" in f:
                c["pfcp.outer_hdr_creation.teid"]["0x%08x" % f["ohc_teid"]] += 1
            if "ohc_v4" in f:
                c["pfcp.outer_hdr_creation.ipv4"][f["ohc_v4"]] += 1
    return c


def normalise(field, values):
    if field == "pfcp.qfi_value":
        return Counter(set(values))  # our QERs are deduplicated per message
    if field in ("pfcp.s_nssai_sst.sst", "pfcp.s_nssai_sst.sd"):
        return Counter(v.lower() for v in values)
    if field == "pfcp.f_teid_flags.ch":
        return Counter("1" if v in ("1", "True") else "0" for v in values)
    return Counter(values)


def check_decoder(pcap, name, errors):
    dump = subprocess.run([os.path.join(BUILD, "tests/tool_pfcp_dump"), pcap],
                          capture_output=True, text=True, check=True).stdout
    ours = {}
    for line in dump.splitlines():
        m = json.loads(line)
        ours.setdefault(m["frame"], []).append(m)
    theirs = tshark(pcap, "pfcp && !icmp", FIELDS)
    if not theirs:
        errors.append("%s: tshark shows no PFCP" % name)
    for t in theirs:
        fr = int(t["frame.number"])
        msgs = ours.pop(fr, None)
        if msgs is None:
            errors.append("%s frame %d: not decoded" % (name, fr))
            continue
        if any("error" in m for m in msgs):
            if not t["_ws.malformed"]:
                errors.append("%s frame %d: we reject what tshark accepts: %s" % (name, fr, msgs))
            continue
        c = ours_fields(msgs)
        for f in FIELDS[1:-1]:
            if f == "pfcp.pdr_id" and {m["type"] for m in msgs} & {56, 57}:
                continue  # PDR ids of usage / downlink data reports are not kept
            want = normalise(f, split(t[f]))
            got = normalise(f, list(c[f].elements()))
            if want != got:
                errors.append("%s frame %d %s: tshark %s, ours %s" % (name, fr, f, dict(want),
                                                                      dict(got)))
    for fr in ours:
        errors.append("%s frame %d: decoded but tshark shows no PFCP" % (name, fr))
    return len(theirs)


def check_roaming_join(pcap, errors):
    d = tempfile.mkdtemp()
    fj, sj = os.path.join(d, "f.json"), os.path.join(d, "s.json")
    r = subprocess.run([os.path.join(BUILD, "mcprobe"), "-r", pcap, "--flows-json", fj,
                        "--sessions-json", sj, "--stats"], capture_output=True, text=True)
    if r.returncode:
        errors.append("mcprobe failed %d: %s" % (r.returncode, r.stderr))
        return
    tpdus = tshark(pcap, "gtp.message==0xff", ["frame.number", "gtp.teid", "ip.dst",
                                                "gtp.ext_hdr.pdu_ses_con.qos_flow_id"])
    if len(tpdus) != 18:
        errors.append("tshark shows %d T-PDUs, the manifest 18" % len(tpdus))
    flows = [json.loads(x) for x in open(fj)]
    tun = [f for f in flows if "teid_up" in f]
    if sum(f["pkts_up"] + f["pkts_down"] for f in tun) != len(tpdus):
        errors.append("tunnelled packets in flows %d != %d T-PDUs" %
                      (sum(f["pkts_up"] + f["pkts_down"] for f in tun), len(tpdus)))
    for f in tun:
        if f.get("imsi") != IMSI or f.get("rat") != "NR":
            errors.append("flow without the PFCP User ID IMSI or rat NR: %s" % f)
    with_qfi = {int(t["gtp.teid"], 16) for t in tpdus if t["gtp.ext_hdr.pdu_ses_con.qos_flow_id"]}
    for f in tun:
        teids = {f["teid_up"], f["teid_down"]} - {0}
        if teids & with_qfi and f.get("qfi") != 1:
            errors.append("flow of a PDU Session Container tunnel lacks qfi 1: %s" % f)
    sess = [json.loads(x) for x in open(sj)]
    seen = {(t["teid"], t["addr"]) for s in sess for t in s["tunnels"]}
    pf = tshark(pcap, "pfcp && !icmp", ["pfcp.f_teid.teid", "pfcp.f_teid.ipv4_addr",
                                        "pfcp.ue_ip_addr_ipv4", "pfcp.ue_ip_addr_ipv6",
                                        "pfcp.outer_hdr_creation.teid",
                                        "pfcp.outer_hdr_creation.ipv4"])
    for t in pf:
        for teid, addr in zip(split(t["pfcp.f_teid.teid"]), split(t["pfcp.f_teid.ipv4_addr"])):
            if (int(teid, 16), addr) not in seen:
                errors.append("PFCP F-TEID %s@%s not among the session's tunnels" % (teid, addr))
        for teid, addr in zip(split(t["pfcp.outer_hdr_creation.teid"]),
                              split(t["pfcp.outer_hdr_creation.ipv4"])):
            if (int(teid, 16), addr) not in seen:
                errors.append("PFCP outer header %s@%s not among the tunnels" % (teid, addr))
    ue4 = {a for t in pf for a in split(t["pfcp.ue_ip_addr_ipv4"])}
    ue6 = {a for t in pf for a in split(t["pfcp.ue_ip_addr_ipv6"])}
    if not ue4 or {s.get("ue_ipv4") for s in sess if "ue_ipv4" in s} != ue4:
        errors.append("UE IPv4 %s != tshark %s" % ({s.get("ue_ipv4") for s in sess}, ue4))
    if not ue6 or {s.get("ue_ipv6") for s in sess if "ue_ipv6" in s} != ue6:
        errors.append("UE IPv6 %s != tshark %s" % ({s.get("ue_ipv6") for s in sess}, ue6))
    if not any(s["event"] == "detach" for s in sess):
        errors.append("the PFCP Session Deletions did not detach the subscriber")


def main():
    errors = []
    d = tempfile.mkdtemp()
    n = 0
    for name in FILES:
        conv = os.path.join(d, name + ".pcap")
        subprocess.run(["editcap", "-F", "pcap", os.path.join(PCAPS, name), conv], check=True,
                       capture_output=True)
        n += check_decoder(conv, name, errors)
        if name.startswith("open5gs-5g-roaming"):
            check_roaming_join(os.path.join(PCAPS, name), errors)
    for e in errors[:60]:
        print("FAIL", e)
    print("it_pfcp_oracle: %d PFCP frames compared, %d problems" % (n, len(errors)))
    return 1 if errors else 0


sys.exit(main())
