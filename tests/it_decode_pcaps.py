#!/usr/bin/python3
"""it_decode_pcaps.py - the frame decoder on the real captures, with tshark as the oracle.

For every capture in /work/shared/pcaps, tests/tool_decode_dump prints what mcp_decode()
made of each frame; tshark (which, like the decoder, reassembles IP fragments and shows the
datagram in the frame that completes it) gives, per frame, the GTP message type, TEID and the
addresses/ports of the headers around it. Checked per file:
  * GTP-U T-PDU frames (gtp.message==0xff on the GTP-U port): same frames, TEIDs, outer and
    inner addresses, inner ports, and the GTPU_TPDU counter; per-TEID counts;
  * GTP-U signalling frames (echo, error indication, end marker, ...);
  * GTP-C frames on UDP 2123 (GTPv1-C and GTPv2-C);
  * non-IP frames;
  * the only malformed frames are the ones listed in KNOWN_MALFORMED, with that reason.
Differences by design are listed below with their reason. Exit 0 = pass.
"""
import collections
import concurrent.futures
import glob
import os
import subprocess
import sys
import tempfile

PCAPS = os.environ.get("MCP_PCAPS", "/work/shared/pcaps")
BUILD = os.environ.get("BUILD", "build")
TOOL = os.path.join(BUILD, "tests", "tool_decode_dump")

# Frames the decoder rejects on purpose (file -> {frame: reason}).
KNOWN_MALFORMED = {
    # T-PDU whose payload starts with nibble 7 (not IP): tshark shows it as data.
    "zeek-gtp9_unknown_or_too_short_payload.pcap": {12: "BAD_GTPU_INNER"},
}
# Frames counted malformed yet still accounted as user traffic (file -> {frame: reason}).
ACCOUNTED_MALFORMED = {
    # GTP length 2096 in a 200-byte UDP payload (an Open5GS test-suite frame): tshark decodes
    # the inner packet anyway; the decoder counts BAD_GTPU_LEN and accounts the inner packet,
    # bounded by the datagram (docs/5g.md).
    "open5gs-testregistration.pcapng": {139: "BAD_GTPU_LEN"},
}
# T-PDUs tshark finds that are not GTP-U by the decoder's rules (file -> frames).
NOT_TPDU = {
    # 6-byte "GTP" payload from source port 2152 in a fuzzer frame: not a valid GTP-U header.
    "ndpi-fuzz-2021-06-07-c6c72a0a56.pcap": {1},
}

FIELDS = ["frame.number", "frame.protocols", "gtp.message", "gtp.teid", "ip.src", "ip.dst",
          "ipv6.src", "ipv6.dst", "udp.srcport", "udp.dstport", "tcp.srcport", "tcp.dstport"]

failures = []


def tshark(path):
    cmd = ["tshark", "-n", "-r", path, "-T", "fields", "-E", "separator=\t", "-E",
           "occurrence=a", "-E", "aggregator=,"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    frames = {}
    for line in out.splitlines():
        cols = line.split("\t")
        cols += [""] * (len(FIELDS) - len(cols))
        row = {f: (cols[i].split(",") if cols[i] else []) for i, f in enumerate(FIELDS)}
        frames[int(cols[0])] = row
    return frames


def nth(row, family, tokens, pos):
    """Value of field family (ip/ipv6/udp/tcp) for the protocol token at index pos."""
    k = sum(1 for t in tokens[:pos] if t == family)
    names = {"ip": ("ip.src", "ip.dst"), "ipv6": ("ipv6.src", "ipv6.dst"),
             "udp": ("udp.srcport", "udp.dstport"), "tcp": ("tcp.srcport", "tcp.dstport")}[family]
    a, b = row[names[0]], row[names[1]]
    if k >= len(a) or k >= len(b):
        return None
    return a[k], b[k]


def decode(path):
    """Runs the dump tool; libpcap 1.10 refuses pcapng files whose interfaces have different
    snap lengths (the pcpp-* files), so those are converted to pcap with editcap first."""
    r = subprocess.run([TOOL, path], capture_output=True, text=True)
    if r.returncode != 0 and "snapshot length" in r.stderr + r.stdout:
        with tempfile.TemporaryDirectory() as td:
            conv = os.path.join(td, "conv.pcap")
            subprocess.run(["editcap", "-F", "pcap", path, conv], check=True)
            r = subprocess.run([TOOL, conv], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s %s failed: %s" % (TOOL, path, r.stderr.strip()))
    frames, layers, malformed = {}, {}, {}
    for line in r.stdout.splitlines():
        c = line.split("\t")
        if c[0] == "F":
            keys = ["n", "kind", "reason", "tunnel", "gtpu_msg", "teid", "osrc", "odst", "ipver",
                    "src", "dst", "l4", "sport", "dport", "flags", "qfi", "pdu", "ip_len", "vlan"]
            frames[int(c[1])] = dict(zip(keys, c[1:]))
        elif c[0] == "L":
            layers[c[1]] = int(c[2])
        elif c[0] == "M":
            malformed[c[1]] = int(c[2])
    return frames, layers, malformed


def check_file(path):
    """Returns (T-PDU count, summary line, failure messages) for one capture."""
    errs = []
    fail = errs.append
    name = os.path.basename(path)
    ours, layers, malformed = decode(path)
    ts = tshark(path)
    if len(ours) != len(ts):
        fail("%s: %d frames decoded, tshark has %d" % (name, len(ours), len(ts)))
        return None, "", errs
    known_bad = KNOWN_MALFORMED.get(name, {})
    not_tpdu = NOT_TPDU.get(name, set())
    teids_ts, teids_ours = collections.Counter(), collections.Counter()
    n_tpdu = n_gtpc = n_sig = 0
    for n, row in ts.items():
        o = ours[n]
        tokens = row["frame.protocols"][0].split(":") if row["frame.protocols"] else []
        msgs = [int(m, 0) for m in row["gtp.message"]]
        ports = set(int(p) for p in row["udp.srcport"][:1] + row["udp.dstport"][:1])
        where = "%s frame %d" % (name, n)
        # malformed only where listed
        if o["kind"] == "MALFORMED" and known_bad.get(n) != o["reason"]:
            fail("%s: MALFORMED %s (not expected)" % (where, o["reason"]))
        for fr, reason in known_bad.items():
            if fr == n and (o["kind"] != "MALFORMED" or o["reason"] != reason):
                fail("%s: expected MALFORMED %s, got %s %s" % (where, reason, o["kind"],
                                                                o["reason"]))
        for fr, reason in ACCOUNTED_MALFORMED.get(name, {}).items():
            if fr == n and (o["kind"] != "USER" or malformed.get(reason, 0) < 1):
                fail("%s: expected USER with %s counted, got %s (%s)" % (
                    where, reason, o["kind"], malformed.get(reason)))
        gtp_udp = "gtp" in tokens and "udp" in tokens and \
            tokens.index("udp") + 1 == tokens.index("gtp")
        is_tpdu = bool(gtp_udp and msgs and msgs[0] == 0xff and 3386 not in ports and
                       n not in not_tpdu)
        if o["tunnel"] == "1" and o["gtpu_msg"] == "255":
            teids_ours[int(o["teid"])] += 1
        if is_tpdu:
            n_tpdu += 1
            teid = int(row["gtp.teid"][0], 0)
            teids_ts[teid] += 1
            if o["tunnel"] != "1" or o["gtpu_msg"] != "255":
                fail("%s: tshark T-PDU, decoder %s tunnel=%s msg=%s" % (where, o["kind"],
                                                                         o["tunnel"],
                                                                         o["gtpu_msg"]))
                continue
            if int(o["teid"]) != teid:
                fail("%s: TEID %s, tshark %d" % (where, o["teid"], teid))
            g = tokens.index("gtp")
            ofam = "ip" if "ip" in tokens[:g] and tokens[g - 2] == "ip" else "ipv6"
            outer = nth(row, ofam, tokens, g - 2)
            if outer and (o["osrc"], o["odst"]) != outer:
                fail("%s: outer %s>%s, tshark %s>%s" % (where, o["osrc"], o["odst"], *outer))
            inner_pos = next((i for i in range(g + 1, len(tokens))
                              if tokens[i] in ("ip", "ipv6")), None)
            if inner_pos is None:
                if o["kind"] not in ("MALFORMED",):
                    fail("%s: tshark sees no inner IP, decoder says %s" % (where, o["kind"]))
                continue
            if o["kind"] == "MALFORMED":
                continue
            inner = nth(row, tokens[inner_pos], tokens, inner_pos)
            if inner and (o["src"], o["dst"]) != inner:
                fail("%s: inner %s>%s, tshark %s>%s" % (where, o["src"], o["dst"], *inner))
            # inner ports when tshark decoded the inner L4 right after the inner IP
            if inner_pos + 1 < len(tokens) and tokens[inner_pos + 1] in ("udp", "tcp") and \
                    o["kind"] == "USER":
                p = nth(row, tokens[inner_pos + 1], tokens, inner_pos + 1)
                if p and (o["sport"], o["dport"]) != p:
                    fail("%s: inner ports %s>%s, tshark %s>%s" % (where, o["sport"],
                                                                  o["dport"], *p))
        elif o["tunnel"] == "1" and o["gtpu_msg"] == "255":
            fail("%s: decoder found a T-PDU tshark does not see" % where)
        # GTP-U signalling on the GTP-U port
        is_sig = bool(gtp_udp and msgs and msgs[0] in (1, 2, 26, 31, 254) and 2152 in ports)
        if is_sig:
            n_sig += 1
        if is_sig != (o["kind"] == "GTPU_SIGNAL"):
            fail("%s: tshark GTP-U signalling=%s, decoder %s" % (where, is_sig, o["kind"]))
        # GTP-C on UDP 2123
        is_gtpc = bool(("gtpv2" in tokens or gtp_udp) and 2123 in ports and "udp" in tokens)
        if is_gtpc:
            n_gtpc += 1
        if is_gtpc != (o["kind"] == "GTPC"):
            fail("%s: tshark GTP-C=%s, decoder %s" % (where, is_gtpc, o["kind"]))
        # non-IP
        is_ip = "ip" in tokens or "ipv6" in tokens
        if not is_ip and o["kind"] != "OTHER":
            fail("%s: tshark sees no IP, decoder %s" % (where, o["kind"]))
        if is_ip and o["kind"] == "OTHER":
            fail("%s: tshark sees IP, decoder OTHER" % where)
    if teids_ts != teids_ours:
        fail("%s: per-TEID T-PDU counts differ: tshark %s, decoder %s" %
             (name, dict(teids_ts), dict(teids_ours)))
    if layers.get("GTPU_TPDU") != n_tpdu:
        fail("%s: GTPU_TPDU counter %s, tshark %d" % (name, layers.get("GTPU_TPDU"), n_tpdu))
    if layers.get("GTPC") != n_gtpc:
        fail("%s: GTPC counter %s, tshark %d" % (name, layers.get("GTPC"), n_gtpc))
    line = "%-48s frames %5d  T-PDU %4d  GTP-C %4d  GTP-U signalling %2d  TEIDs %3d  " \
        "reassembled %3d" % (name, len(ts), n_tpdu, n_gtpc, n_sig, len(teids_ts),
                             layers.get("REASSEMBLED", 0))
    return n_tpdu, line, errs


def check_file_safe(path):
    try:
        return check_file(path)
    except Exception as e:  # noqa: BLE001 - report and go on with the next file
        return None, "", ["%s: %s" % (os.path.basename(path), e)]


def main():
    if not os.access(TOOL, os.X_OK):
        print("missing %s: build it with make BUILD=%s tests" % (TOOL, BUILD))
        return 1
    for t in ("tshark", "editcap"):
        if subprocess.run(["which", t], capture_output=True).returncode:
            print("missing %s (wireshark tools)" % t)
            return 1
    files = sorted(f for f in glob.glob(os.path.join(PCAPS, "*.pcap*"))
                   if not f.endswith(".out"))
    if len(files) < 20:
        print("expected the captures in %s, found %d" % (PCAPS, len(files)))
        return 1
    tpdu = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as ex:
        for f, (n, line, errs) in zip(files, ex.map(check_file_safe, files)):
            tpdu[os.path.basename(f)] = n
            if line:
                print(line)
            failures.extend(errs)
    # Figures from the capture manifest (tshark 4.0 with reassembly).
    for name, want in (("zeek-gtp1_gn_normal_incl_fragmentation.pcap", 68),
                       ("zeek-gtp2_different_udp_port.pcap", 78), ("open5gs-volte.pcapng", 268),
                       ("arkime-gtp-iphone.pcap", 106), ("ndpi-zoom.pcap", 81)):
        if tpdu.get(name) != want:
            failures.append("%s: %s T-PDUs, manifest says %d" % (name, tpdu.get(name), want))
    for m in failures:
        print("FAIL", m)
    print("%d files, %d failures" % (len(files), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
