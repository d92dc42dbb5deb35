#!/usr/bin/python3
"""it_session_pressure.py - the session table's bounds are visible, and the pending-request
bound follows --max-subscribers.

A capture of N = 5000 GTPv2 Create Session exchanges (distinct IMSIs, TEIDs and sequence
numbers; one request and one response built by scapy through gen_gtpc_cases.py, copied with
those fields patched), in two orders:
  - burst: the 5000 requests, then the 5000 responses (an MME flood answered late);
  - paired: request, response, request, response...
Runs of mcprobe -r ... --stats, counters read from --stats:
  - burst, --max-subscribers 6000: every response matched (5000 created, 0 unmatched,
    0 requests not tracked): the pending bound is sized from --max-subscribers;
  - burst, --max-subscribers 4096: 4096 requests tracked, 904 "requests not tracked", 904
    unmatched responses, 4096 created; one warning line about the pending-request table;
  - paired, --max-subscribers 4096: 4096 created, 904 "sessions not created (table full)",
    one warning line about the session table;
  - the same with --redis to a redis-server on loopback: the hash P stats.<probe> holds the
    same counters as --stats.
Env: BUILD. Exit 0 = pass.
"""
import os
import re
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_gtpc_cases import MME, SGW, csr, csrsp  # noqa: E402
from mc_resp import RedisServer, Resp  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("BUILD", "build")
MCPROBE = os.path.join(ROOT, BUILD, "mcprobe")
N = 5000


def ip4(a):
    return bytes(int(x) for x in a.split("."))


def udp_frame(payload, src, dst):
    """Ethernet / IPv4 / UDP 2123 around a GTP-C message (UDP checksum 0: allowed in IPv4)."""
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28 + len(payload), 0, 0, 64, 17, 0,
                               ip4(src), ip4(dst)))
    c = sum(struct.unpack("!10H", ip))
    c = (c & 0xffff) + (c >> 16)
    struct.pack_into("!H", ip, 10, ~((c & 0xffff) + (c >> 16)) & 0xffff)
    return b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00" + bytes(ip) + \
        struct.pack("!HHHH", 2123, 2123, 8 + len(payload), 0) + payload


def tbcd(digits):
    d = digits + ("f" if len(digits) % 2 else "")
    return bytes(int(d[i + 1], 16) << 4 | int(d[i], 16) for i in range(0, len(d), 2))


def patch(tmpl, pairs):
    b = bytearray(tmpl)
    for old, new in pairs:
        i = b.find(old)
        assert i >= 0 and b.find(old, i + 1) < 0, "template field not unique"
        b[i:i + len(old)] = new
    return bytes(b)


def exchanges():
    """N requests and responses: scapy builds one of each (gen_gtpc_cases.py), the rest are
    copies with IMSI, sequence number, TEIDs and UE address patched in."""
    imsi0, seq0 = "001019999999999", 0xABCDEF
    treq = csr(seq0, imsi=imsi0, mme_teid=0x1A2B3C4D)
    trsp = csrsp(seq0, mme_teid=0x1A2B3C4D, sgw_teid=0x2A2B2C2D, s1u=0x4A4B4C4D,
                 ue="10.99.98.97")
    reqs, rsps = [], []
    for i in range(N):
        seq = struct.pack("!I", i + 1)[1:]
        teids = [(struct.pack("!I", a), struct.pack("!I", b + i)) for a, b in
                 ((0x1A2B3C4D, 0x10000000), (0x2A2B2C2D, 0x20000000),
                  (0x4A4B4C4D, 0x40000000))]
        reqs.append((patch(treq, [(tbcd(imsi0), tbcd("00101%010d" % i)),
                                  (struct.pack("!I", seq0)[1:], seq)] + teids[:1]), MME, SGW))
        rsps.append((patch(trsp, [(struct.pack("!I", seq0)[1:], seq),
                                  (ip4("10.99.98.97"), bytes([10, 40, i // 256, i % 256]))] +
                           teids), SGW, MME))
    return reqs, rsps


def write_pcap(path, msgs):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i, (b, src, dst) in enumerate(msgs):
            fr = udp_frame(b, src, dst)
            f.write(struct.pack("<IIII", 1700000000, i * 100, len(fr), len(fr)) + fr)


def stats(err):
    def val(label):
        m = re.search(r"^\s*" + re.escape(label) + r"\s+(\d+)", err, re.M)
        return int(m.group(1)) if m else None
    return {k: val(label) for k, label in (
        ("created", "sessions created"), ("unmatched", "unmatched responses"),
        ("table_full", "sessions not created (table full)"),
        ("txn_full", "requests not tracked (pending full)"))}


def main():
    if not os.access(MCPROBE, os.X_OK):
        print("FAIL missing %s" % MCPROBE)
        return 1
    reqs, rsps = exchanges()
    errs = []
    with tempfile.TemporaryDirectory() as tmp:
        burst = os.path.join(tmp, "burst.pcap")
        write_pcap(burst, reqs + rsps)
        paired = os.path.join(tmp, "paired.pcap")
        write_pcap(paired, [x for pair in zip(reqs, rsps) for x in pair])
        cases = [  # capture, --max-subscribers, expected counters, warning expected
            ("burst", burst, 6000, {"created": N, "unmatched": 0, "table_full": 0,
                                    "txn_full": 0}, None),
            ("burst", burst, 4096, {"created": 4096, "unmatched": N - 4096, "table_full": 0,
                                    "txn_full": N - 4096}, "pending-request table full"),
            ("paired", paired, 4096, {"created": 4096, "unmatched": 0,
                                      "table_full": N - 4096, "txn_full": 0},
             "session table full"),
        ]
        for name, path, maxsub, want, warn in cases:
            r = subprocess.run([MCPROBE, "-r", path, "--stats", "--max-subscribers",
                                str(maxsub)], capture_output=True, text=True, timeout=120)
            got = stats(r.stderr)
            nwarn = len(re.findall(r"table full \(", r.stderr))
            ok = r.returncode == 0 and got == want and \
                (nwarn == 1 and warn in r.stderr if warn else nwarn == 0)
            print("%-6s --max-subscribers %d: %s %s, %d warning(s)" %
                  (name, maxsub, "ok" if ok else "FAIL", got, nwarn))
            if not ok:
                errs.append("%s/%d: exit %d, got %s want %s, warnings %d (%s)" %
                            (name, maxsub, r.returncode, got, want, nwarn,
                             [ln for ln in r.stderr.splitlines() if "full" in ln][:3]))
        errs += redis_check(paired)
    for e in errs:
        print("  " + e)
    print("FAIL" if errs else "PASS")
    return 1 if errs else 0


def redis_check(paired):
    """The bound counters reach the microcloud: P stats.<probe> equals --stats."""
    r = RedisServer()
    try:
        p = subprocess.run([MCPROBE, "-r", paired, "--stats", "--max-subscribers", "4096",
                            "--redis", "127.0.0.1:%d" % r.port, "--no-reload", "--probe-name",
                            "p1", "--redis-prefix", "t."], capture_output=True, text=True,
                           timeout=120)
        c = Resp(r.port)
        h = c.hgetall("t.stats.p1")
        c.close()
    finally:
        r.stop()
    got = {k: int(v) for k, v in h.items() if k in ("table_full", "txn_full", "sessions_created")}
    want = {"table_full": N - 4096, "txn_full": 0, "sessions_created": 4096}
    ok = p.returncode == 0 and got == want
    print("redis  stats.p1: %s %s" % ("ok" if ok else "FAIL", h))
    return [] if ok else ["stats.p1: exit %d, got %s want %s: %s" % (p.returncode, h, want,
                                                                       p.stderr[-300:])]


if __name__ == "__main__":
    sys.exit(main())
