#!/usr/bin/python3
"""it_5g_sbi.py - 5G SA subscriber attribution on open5gs-testregistration (SBI over HTTP/1.1,
PFCP without User ID, N3 GTP-U), with tshark as the oracle.

1. SBI decode (tests/tool_sbi_dump): for every Namf N1N2MessageTransfer tshark shows, one
   identity with the SUPI of the request path, the PDU session id, the N1 PDU address
   (nas_5gs.sm.pdu_addr_inf_ipv4) and the N2 UL F-TEID (ngap.gTP_TEID,
   ngap.TransportLayerAddressIPv4), plus the PEI, DNN and SST of the CreateSMContext JSON;
   for every UpdateSMContext with N2 PDU_RES_SETUP_RSP, the gNB's DL F-TEID of tshark's NGAP
   PDU Session Resource Setup Response Transfer, joined to the UE address of its SM context.
2. mcprobe: every T-PDU (tshark gtp.message==0xff; frame 139, whose GTP length exceeds its
   datagram, is counted malformed and still accounted) lies in a flow tagged with the SUPI
   tshark shows in the SBI, rat NR, and the QFI of its PDU Session Container; the session log
   holds tshark's PFCP UE addresses and every PFCP and NGAP F-TEID.
3. The same capture without its TCP (no SBI): the PDU sessions are kept without a subscriber
   (counted), no flow names a subscriber, T-PDUs are still accounted.
Env: BUILD, MCP_PCAPS. Exit 0 = all agree.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

BUILD = os.environ.get("BUILD", "build")
PCAPS = os.environ.get("MCP_PCAPS", "/work/shared/pcaps")
CAP = os.path.join(PCAPS, "open5gs-testregistration.pcapng")


def split(v):
    return [x for x in v.split("|") if x != ""] if v else []


def tshark(path, flt, fields):
    out = subprocess.run(["tshark", "-r", path, "-Y", flt, "-T", "fields", "-E", "separator=\t",
                          "-E", "occurrence=a", "-E", "aggregator=|"] +
                         sum([["-e", f] for f in fields], []),
                         capture_output=True, text=True, check=True).stdout
    return [dict(zip(fields, line.split("\t"))) for line in out.splitlines()]


def check_sbi(pcap, errors):
    out = subprocess.run([os.path.join(BUILD, "tests/tool_sbi_dump"), pcap],
                         capture_output=True, text=True, check=True).stdout
    ours = [json.loads(x) for x in out.splitlines()]
    theirs = tshark(pcap, 'http.request.uri contains "n1-n2-messages"',
                    ["http.request.uri", "nas_5gs.sm.pdu_addr_inf_ipv4", "ngap.gTP_TEID",
                     "ngap.TransportLayerAddressIPv4", "nas_5gs.pdu_session_id"])
    want = []
    for t in theirs:
        supi = re.search(r"/ue-contexts/imsi-(\d+)/", t["http.request.uri"]).group(1)
        want.append((supi, int(t["nas_5gs.pdu_session_id"]), t["nas_5gs.sm.pdu_addr_inf_ipv4"],
                     int(t["ngap.gTP_TEID"], 16), t["ngap.TransportLayerAddressIPv4"]))
    updates = [o for o in ours if o["dl_addr"]]
    ours = [o for o in ours if not o["dl_addr"]]
    got = [(o["imsi"], o["psi"], o["ue_v4"], o["ul_teid"], o["ul_addr"]) for o in ours]
    if not want or got != want:
        errors.append("SBI identities differ from tshark:\n  tshark %s\n  ours   %s" % (want, got))
    cs = tshark(pcap, 'http.request.uri == "/nsmf-pdusession/v1/sm-contexts"',
                ["json.member_with_value"])
    for t, o in zip(cs, ours):
        mv = dict(x.split(":", 1) for x in split(t["json.member_with_value"]) if ":" in x)
        if "imeisv-" + o["imei"] != mv.get("pei") or o["dnn"] != mv.get("dnn") or \
           o["snssai"] >> 24 != int(mv.get("sst", -1)):
            errors.append("CreateSMContext facts %s != tshark %s" % (o, mv))
    check_updates(pcap, updates, errors)
    return {w[0] for w in want}


def check_updates(pcap, ours, errors):
    """UpdateSMContext N2 (PDU_RES_SETUP_RSP): the gNB's DL F-TEID of tshark's NGAP decode,
    for the SM context the path names: its 201 Location, then its N1N2 UE address (tshark)."""
    ev = tshark(pcap, 'http.location contains "/sm-contexts/" || http.request.uri contains '
                '"/modify" || http.request.uri contains "n1-n2-messages"',
                ["http.location", "http.request.uri", "nas_5gs.sm.pdu_addr_inf_ipv4",
                 "json.member_with_value", "ngap.gTP_TEID", "ngap.TransportLayerAddressIPv4"])
    ue_of, last_ref, want = {}, None, []
    for e in ev:
        if e["http.location"]:
            last_ref = e["http.location"].rsplit("/", 1)[1]
        elif "n1-n2-messages" in e["http.request.uri"] and last_ref:
            ue_of[last_ref] = e["nas_5gs.sm.pdu_addr_inf_ipv4"]
        elif "n2SmInfoType:PDU_RES_SETUP_RSP" in split(e["json.member_with_value"]):
            ref = e["http.request.uri"].split("/")[-2]
            want.append((ue_of.get(ref), int(e["ngap.gTP_TEID"], 16),
                         e["ngap.TransportLayerAddressIPv4"]))
    got = [(o["ue_v4"], o["dl_teid"], o["dl_addr"]) for o in ours]
    if len(want) < 20 or got != want:
        errors.append("UpdateSMContext N2 DL F-TEIDs differ from tshark:\n  tshark %s\n  ours   %s"
                      % (want, got))


def run(pcap, d):
    fj, sj = os.path.join(d, "f.json"), os.path.join(d, "s.json")
    r = subprocess.run([os.path.join(BUILD, "mcprobe"), "-r", pcap, "--flows-json", fj,
                        "--sessions-json", sj, "--stats"], capture_output=True, text=True)
    if r.returncode:
        raise SystemExit("mcprobe failed %d: %s" % (r.returncode, r.stderr))
    return [json.loads(x) for x in open(fj)], [json.loads(x) for x in open(sj)], r.stderr


def check_flows(pcap, supis, d, errors):
    flows, sess, stats = run(pcap, d)
    tpdus = tshark(pcap, "gtp.message==0xff", ["frame.number", "gtp.teid",
                                                "gtp.ext_hdr.pdu_ses_con.qos_flow_id"])
    tun = [f for f in flows if "teid_up" in f]
    n = sum(f["pkts_up"] + f["pkts_down"] for f in tun)
    if n != len(tpdus) or len(tpdus) != 62:
        errors.append("T-PDUs in flows %d, tshark %d (manifest 62)" % (n, len(tpdus)))
    qfi = {int(t["gtp.teid"], 16): int(t["gtp.ext_hdr.pdu_ses_con.qos_flow_id"])
           for t in tpdus if t["gtp.ext_hdr.pdu_ses_con.qos_flow_id"]}
    for f in tun:
        if f.get("imsi") not in supis or f.get("rat") != "NR":
            errors.append("T-PDU flow without the SBI SUPI %s: %s" % (supis, f))
        want = {qfi[t] for t in (f["teid_up"], f["teid_down"]) if t in qfi}
        if want and f.get("qfi") not in want:
            errors.append("flow qfi %s, tshark %s: %s" % (f.get("qfi"), want, f))
    if not re.search(r"BAD_GTPU_LEN\s+1\n", stats):
        errors.append("frame 139 (GTP length > datagram) not counted malformed:\n" + stats)
    seen = {(t["teid"], t["addr"]) for s in sess for t in s["tunnels"]}
    ue4 = {s["ue_ipv4"] for s in sess if "ue_ipv4" in s}
    pf = tshark(pcap, "pfcp && !icmp", ["pfcp.f_teid.teid", "pfcp.f_teid.ipv4_addr",
                                        "pfcp.ue_ip_addr_ipv4", "pfcp.outer_hdr_creation.teid",
                                        "pfcp.outer_hdr_creation.ipv4"])
    if {a for t in pf for a in split(t["pfcp.ue_ip_addr_ipv4"])} != ue4:
        errors.append("UE IPv4 of the session log differ from tshark's PFCP")
    pairs = [(te, a) for t in pf for te, a in zip(split(t["pfcp.f_teid.teid"]),
                                                  split(t["pfcp.f_teid.ipv4_addr"]))]
    pairs += [(te, a) for t in pf for te, a in zip(split(t["pfcp.outer_hdr_creation.teid"]),
                                                   split(t["pfcp.outer_hdr_creation.ipv4"]))]
    ng = tshark(pcap, "ngap.gTP_TEID", ["ngap.gTP_TEID", "ngap.TransportLayerAddressIPv4"])
    pairs += [(te, a) for t in ng for te, a in zip(split(t["ngap.gTP_TEID"]),
                                                   split(t["ngap.TransportLayerAddressIPv4"]))]
    missing = {(te, a) for te, a in pairs if (int(te, 16), a) not in seen}
    if not pairs or missing:
        errors.append("PFCP/NGAP F-TEIDs missing from the session log: %s" % sorted(missing))


def check_no_sbi(d, errors):
    pcap = os.path.join(d, "nosbi.pcapng")
    subprocess.run(["tshark", "-r", CAP, "-Y", "!tcp", "-w", pcap], check=True,
                   capture_output=True)
    flows, sess, stats = run(pcap, d)
    n = sum(f["pkts_up"] + f["pkts_down"] for f in flows if "teid_up" in f)
    if n != 62:
        errors.append("without SBI: %d T-PDUs accounted, want 62" % n)
    if any("imsi" in f for f in flows) or sess:
        errors.append("without SBI a subscriber was invented")
    if not re.search(r"pdu sessions without subscr\. 23 ", stats):
        errors.append("without SBI the 23 PDU sessions are not kept:\n" + stats)


def main():
    errors = []
    d = tempfile.mkdtemp()
    conv = os.path.join(d, "tr.pcap")
    subprocess.run(["editcap", "-F", "pcap", CAP, conv], check=True, capture_output=True)
    supis = check_sbi(conv, errors)
    check_flows(CAP, supis, d, errors)
    check_no_sbi(d, errors)
    for e in errors:
        print("FAIL", e)
    print("it_5g_sbi: %d problems" % len(errors))
    return 1 if errors else 0


sys.exit(main())
