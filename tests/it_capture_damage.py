#!/usr/bin/python3
"""it_capture_damage.py - damaged captures are resynchronised, counted, and exit 3; pcapng with
several interfaces streams from standard input and a FIFO.

scapy builds 60 UDP packets, each its own flow (source port 20000+i), so the flow records say
exactly which packets were read. Cases (pcap and pcapng, file and standard input):
  - a record header whose capture length is impossible (packet 20): every other packet is
    read, each exactly once, exit 3, one "damaged capture" line;
  - 37 bytes of garbage between packets 30 and 31: all 60 packets, exit 3;
  - a pcapng block whose total length is wrong (packet 20): the other 59, exit 3;
  - the last record cut short: 59 packets, exit 0 and a "truncated" warning;
  - SIGTERM while a FIFO's writer is quiet with a record half sent (pcap, pcapng): the
    probe stops at once, exit 0, the 40 whole records read, no damage or truncation line;
    before the file header came, SIGTERM ends it (by the signal) with no output file;
  - an undamaged pcapng with two interfaces of different link types (Ethernet and raw IP,
    which libpcap 1.10 refuses past the first) from a file, standard input and a FIFO: the
    same 60 flow records each time, exit 0.
Env: BUILD. Exit 0 = all cases pass.
"""
import json
import os
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time

from scapy.all import Ether, IP, UDP, Raw, wrpcap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("BUILD", "build")
MCPROBE = os.path.join(ROOT, BUILD, "mcprobe")
N = 60


def packets():
    out = []
    for i in range(N):
        p = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / \
            IP(src="10.1.0.1", dst="10.2.0.1") / UDP(sport=20000 + i, dport=5000) / \
            Raw(bytes([i]) * (40 + i))
        p.time = 1700000000 + i * 0.5
        out.append(p)
    return out


def pcap_offsets(data):
    """Byte offset of every record header of a classic little-endian pcap."""
    offs, off = [], 24
    while off + 16 <= len(data):
        offs.append(off)
        off += 16 + struct.unpack_from("<I", data, off + 8)[0]
    return offs


def pcapng_blocks(data):
    """(offset, type, length) of every block of a little-endian pcapng."""
    out, off = [], 0
    while off + 8 <= len(data):
        t, ln = struct.unpack_from("<II", data, off)
        out.append((off, t, ln))
        off += ln
    return out


def pcapng_two_ifaces(pkts):
    """pcapng: SHB, IDB 0 (Ethernet), IDB 1 (raw IP, DLT 101); odd packets on interface 1
    without their Ethernet header."""
    def block(t, body):
        body += b"\0" * (-len(body) % 4)
        ln = 12 + len(body)
        return struct.pack("<II", t, ln) + body + struct.pack("<I", ln)
    out = block(0x0a0d0d0a, struct.pack("<IHHq", 0x1a2b3c4d, 1, 0, -1))
    out += block(1, struct.pack("<HHI", 1, 0, 65535))
    out += block(1, struct.pack("<HHI", 101, 0, 65535))
    for i, p in enumerate(pkts):
        raw = bytes(p) if i % 2 == 0 else bytes(p[IP])
        ts = int(p.time * 1000000)
        out += block(6, struct.pack("<IIIII", i % 2, ts >> 32, ts & 0xffffffff, len(raw),
                                    len(raw)) + raw)
    return out


def run(path, stdin_data=None):
    """mcprobe -r path; returns (exit status, source ports seen with their packet counts,
    stderr)."""
    with tempfile.NamedTemporaryFile(suffix=".json") as fj:
        r = subprocess.run([MCPROBE, "-r", path, "--flows-json", fj.name], input=stdin_data,
                           capture_output=True, timeout=60)
        ports = {}
        with open(fj.name) as f:
            for line in f:
                if line.strip():
                    rec = json.loads(line)
                    ports[rec["src_port"]] = ports.get(rec["src_port"], 0) + \
                        rec["pkts_up"] + rec["pkts_down"]
    return r.returncode, ports, r.stderr.decode(errors="replace")


def run_fifo(tmp, data):
    fifo = os.path.join(tmp, "in.fifo")
    if os.path.exists(fifo):
        os.unlink(fifo)
    os.mkfifo(fifo)

    def writer():
        with open(fifo, "wb") as f:
            for i in range(0, len(data), 1000):  # in pieces, as a live writer would
                f.write(data[i:i + 1000])
    t = threading.Thread(target=writer)
    t.start()
    res = run(fifo)
    t.join(timeout=30)
    return res


def run_fifo_stopped(tmp, data):
    """mcprobe -r FIFO fed data, then the FIFO stays open and quiet until mcprobe got SIGTERM:
    (exit status or None if it did not stop within 10 s, ports, stderr). With no data at all
    the flow file must not exist (ports None)."""
    fifo = os.path.join(tmp, "quiet.fifo")
    if os.path.exists(fifo):
        os.unlink(fifo)
    os.mkfifo(fifo)
    fj = os.path.join(tmp, "quiet.json")
    if os.path.exists(fj):
        os.unlink(fj)
    p = subprocess.Popen([MCPROBE, "-r", fifo, "--flows-json", fj], stderr=subprocess.PIPE)
    with open(fifo, "wb") as f:
        f.write(data)
        f.flush()
        time.sleep(1.0)  # read and handled; the writer stays, silent
        p.send_signal(signal.SIGTERM)
        try:
            _, err = p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
            return None, None, err.decode(errors="replace")
    if not os.path.exists(fj):
        return p.returncode, None, err.decode(errors="replace")
    ports = {}
    with open(fj) as f:
        for line in f:
            rec = json.loads(line)
            ports[rec["src_port"]] = ports.get(rec["src_port"], 0) + rec["pkts_up"] + \
                rec["pkts_down"]
    return p.returncode, ports, err.decode(errors="replace")


def main():
    if not os.access(MCPROBE, os.X_OK):
        print("FAIL missing %s: run make BUILD=%s" % (MCPROBE, BUILD))
        return 1
    errs = []
    pkts = packets()
    every = {20000 + i: 1 for i in range(N)}
    but20 = {k: v for k, v in every.items() if k != 20020}
    with tempfile.TemporaryDirectory() as tmp:
        good = os.path.join(tmp, "good.pcap")
        wrpcap(good, pkts)
        data = open(good, "rb").read()
        offs = pcap_offsets(data)
        ng2 = pcapng_two_ifaces(pkts)
        blocks = [b for b in pcapng_blocks(ng2) if b[1] == 6]

        bad_hdr = bytearray(data)
        struct.pack_into("<I", bad_hdr, offs[20] + 8, 0x7fffff00)
        garbage = data[:offs[31]] + b"\xab" * 37 + data[offs[31]:]
        ng_bad = bytearray(ng2)
        struct.pack_into("<I", ng_bad, blocks[20][0] + 4, 0x00100000)
        cut = data[:len(data) - 10]

        cases = [  # name, bytes, via, want exit, want ports, want on stderr
            ("pcap bad record header", bytes(bad_hdr), "file", 3, but20, "damaged capture"),
            ("pcap bad record header", bytes(bad_hdr), "stdin", 3, but20, "damaged capture"),
            ("pcap garbage between records", garbage, "file", 3, every, "37 bytes skipped"),
            ("pcap garbage between records", garbage, "fifo", 3, every, "37 bytes skipped"),
            ("pcapng bad block length", bytes(ng_bad), "file", 3, but20, "damaged capture"),
            ("pcapng bad block length", bytes(ng_bad), "stdin", 3, but20, "damaged capture"),
            ("pcap last record cut", cut, "file", 0,
             {k: v for k, v in every.items() if k != 20000 + N - 1}, "truncated"),
            ("pcap last record cut", cut, "stdin", 0,
             {k: v for k, v in every.items() if k != 20000 + N - 1}, "truncated"),
            ("pcapng two link types", ng2, "file", 0, every, ""),
            ("pcapng two link types", ng2, "stdin", 0, every, ""),
            ("pcapng two link types", ng2, "fifo", 0, every, ""),
        ]
        for name, blob, via, want_rc, want_ports, want_msg in cases:
            path = os.path.join(tmp, "case.cap")
            with open(path, "wb") as f:
                f.write(blob)
            if via == "file":
                rc, ports, err = run(path)
            elif via == "stdin":
                rc, ports, err = run("-", blob)
            else:
                rc, ports, err = run_fifo(tmp, blob)
            ok = rc == want_rc and ports == want_ports and want_msg in err and \
                (want_rc == 3) == ("damaged capture" in err)
            print("%-30s %-5s %s: exit %d, %d flows (%d packets)%s" %
                  (name, via, "ok" if ok else "FAIL", rc, len(ports), sum(ports.values()),
                   (": " + err.strip().replace("\n", " | ")) if err.strip() else ""))
            if not ok:
                missing = sorted(set(want_ports) - set(ports))
                extra = {k: v for k, v in ports.items() if want_ports.get(k) != v}
                errs.append("%s via %s: exit %d (want %d), missing %s, wrong %s" %
                            (name, via, rc, want_rc, missing[:5], list(extra.items())[:5]))
        # SIGTERM while a FIFO's writer is quiet, with a record half sent: the probe stops at
        # once (it waited for data forever before), exit 0, the whole records read, the cut
        # one neither damage nor truncation
        first40 = {20000 + i: 1 for i in range(40)}
        for name, blob in (("pcap", data[:offs[40] + 30]),
                           ("pcapng", ng2[:blocks[40][0] + 30])):
            rc, ports, err = run_fifo_stopped(tmp, blob)
            ok = rc == 0 and ports == first40 and "damaged" not in err and \
                "truncated" not in err and "incomplete" not in err
            print("%-30s %-5s %s: exit %s, %d flows%s" %
                  ("SIGTERM on a quiet " + name, "fifo", "ok" if ok else "FAIL", rc,
                   len(ports or {}),
                   (": " + err.strip().replace("\n", " | ")) if err.strip() else ""))
            if not ok:
                errs.append("SIGTERM on a quiet %s FIFO: exit %s (want 0; None: still running "
                            "10 s later), %d of 40 flows, stderr %r" %
                            (name, rc, len(ports or {}), err[-200:]))
        # ... and before the file header came: nothing to flush, it ends by the signal and
        # has created no output file
        rc, ports, err = run_fifo_stopped(tmp, b"")
        ok = rc == -signal.SIGTERM and ports is None  # (rc None: still running, killed)
        print("%-30s %-5s %s: exit %s, flow file %s" % ("SIGTERM before the file header", "fifo",
              "ok" if ok else "FAIL", rc, "absent" if ports is None else "created"))
        if not ok:
            errs.append("SIGTERM before a FIFO's file header: exit %s (want -15; None: still "
                        "running 10 s later)%s" % (rc, "" if ports is None else
                                                   ", flow file created"))
    for e in errs:
        print("  " + e)
    print("FAIL" if errs else "PASS")
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main())
