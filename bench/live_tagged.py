#!/usr/bin/python3
"""bench/live_tagged.py - what a live run attributed: the share of user-plane (GTP-U) packets
in IMSI-tagged flow records (goal 100.000 %), and, given `mcp-load status --json
--subscribers` taken after the run, whether the kernel's per-subscriber counters equal the
records' per-IMSI totals. Prints figures only; used by bench/bench_live.sh and
bench/bench_split.py.

usage: live_tagged.py FLOWS.jsonl [STATUS.json]
"""
import json
import sys

COUNTS = ("pkts_up", "pkts_down", "bytes_up", "bytes_down")


def tagged(path):
	"""(user-plane packets in records, of them in IMSI-tagged records, per-IMSI totals)"""
	total = tag = 0
	per = {}
	for line in open(path):
		r = json.loads(line)
		if r.get("imsi"):
			t = per.setdefault(r["imsi"], dict.fromkeys(COUNTS, 0))
			for c in COUNTS:
				t[c] += r[c]
		if not (r.get("teid_up") or r.get("teid_down")):
			continue  # GTP-C and untunnelled traffic
		n = r["pkts_up"] + r["pkts_down"]
		total += n
		if r.get("imsi"):
			tag += n
	return total, tag, per


def main():
	total, tag, per = tagged(sys.argv[1])
	print("    user-plane packets in IMSI-tagged records: %d of %d (%.3f%%)" %
	      (tag, total, 100.0 * tag / total if total else 0.0))
	if len(sys.argv) < 3:
		return 0
	kern = {}
	for s in json.load(open(sys.argv[2]))[0].get("subscribers", []):
		t = kern.setdefault(s["imsi"], dict.fromkeys(COUNTS, 0))
		for c in COUNTS:
			t[c] += s[c]
	imsis = set(per) | {i for i, t in kern.items() if any(t.values())}
	same = sum(1 for i in imsis if per.get(i) == kern.get(i))
	kp = sum(t["pkts_up"] + t["pkts_down"] for t in kern.values())
	rp = sum(t["pkts_up"] + t["pkts_down"] for t in per.values())
	print("    kernel per-subscriber counters (per-CPU + credit) = records per IMSI: %d of %d "
	      "IMSIs; packets kernel %d, records %d" % (same, len(imsis), kp, rp))
	return 0


if __name__ == "__main__":
	sys.exit(main())
