#!/usr/bin/env bash
# tools/demo.sh - `make demo`: mcprobe end to end on a bundled mobile capture.
#
# tools/data/demo.pcap is tests/gen_scenario.py's output for 16 subscribers (seed 5): GTPv1
# (Gn) and GTPv2 (S11) sessions with a handover, dedicated bearers, a delete + re-attach,
# then DNS, HTTP and TLS (SNI) flows in GTP-U and a little plain VLAN traffic;
# tools/data/demo.expect.json is what the generator says a probe must report for it.
# Regenerate both with:
#   /usr/bin/python3 tests/gen_scenario.py --out tools/data/demo.pcap \
#       --expect tools/data/demo.expect.json --subscribers 16 --plain 4 --seed 5
#
# Steps are functions run in order from STEPS; later steps (microcloud in Redis, live XDP
# replay over a veth pair) add a function and a name in STEPS. Each step gets $OUT (a
# scratch directory) and may use the files earlier steps left there.
# Env: BUILD (default build), DEMO_PCAP, DEMO_FLOWS (records shown, default 4),
# DEMO_STEPS (default: all of STEPS).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
M=$BUILD/mcprobe
PY=/usr/bin/python3
PCAP=${DEMO_PCAP:-tools/data/demo.pcap}
EXPECT=${PCAP%.pcap}.expect.json
SHOW=${DEMO_FLOWS:-4}
OUT=$(mktemp -d /tmp/mcprobe-demo.XXXXXX)
trap 'rm -rf "$OUT"' EXIT

STEPS="offline records subscribers stats verify"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step_offline() {
	say "mcprobe -r $PCAP ($(($(stat -c %s "$PCAP") / 1024)) KiB)"
	echo "\$ $M -r $PCAP --flows-json flows.json --sessions-json sessions.json --stats"
	"$M" -r "$PCAP" --flows-json "$OUT/flows.json" --sessions-json "$OUT/sessions.json" \
		--stats 2>"$OUT/stats.txt"
	echo "$(wc -l <"$OUT/flows.json") flow records, $(wc -l <"$OUT/sessions.json") session lines"
}

step_records() {
	say "first $SHOW subscriber flow records (one JSON object per line; pretty-printed here)"
	$PY - "$OUT/flows.json" "$SHOW" <<'EOF'
import json, sys
n = int(sys.argv[2])
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
shown = 0
seen = set()
for r in recs:
	# one record per application, subscriber traffic first
	if not r.get("imsi") or r.get("app") in seen:
		continue
	seen.add(r.get("app"))
	print(json.dumps(r, indent=2))
	shown += 1
	if shown >= n:
		break
print("\napplications by IMSI (flows):")
apps = {}
for r in recs:
	k = r.get("imsi") or "(no subscriber)"
	name = r.get("app") or "?"
	if r.get("master_app") not in (None, "", "Unknown", name):
		name = r["master_app"] + "." + name
	apps.setdefault(k, {}).setdefault(name, 0)
	apps[k][name] += 1
for k in sorted(apps)[:12]:
	print("  %-16s %s" % (k, ", ".join("%s x%d" % kv for kv in sorted(apps[k].items()))))
if len(apps) > 12:
	print("  ... %d more" % (len(apps) - 12))
EOF
}

step_subscribers() {
	say "subscribers at the end of the capture (--sessions-json, last line per IMSI)"
	$PY - "$OUT/sessions.json" <<'EOF'
import json, sys
last = {}
for l in open(sys.argv[1]):
	if l.strip():
		s = json.loads(l)
		if s.get("imsi"):
			last[s["imsi"]] = s
print("  %-16s %-13s %-9s %-16s %-6s %-3s %-8s %s" % ("IMSI", "MSISDN", "APN", "UE IPv4", "RAT",
							 "GTP", "state", "tunnels"))
for imsi in sorted(last):
	s = last[imsi]
	tun = " ".join("%s:%#x@%s" % (t.get("dir"), int(t.get("teid", 0)), t.get("addr"))
		       for t in s.get("tunnels") or [])
	print("  %-16s %-13s %-9s %-16s %-6s v%-2s %-8s %s" % (imsi, s.get("msisdn"), s.get("apn"),
								s.get("ue_ipv4"), s.get("rat"),
								s.get("gtp_version"), s.get("state"),
								tun))
EOF
}

step_stats() {
	say "mcprobe --stats"
	cat "$OUT/stats.txt"
}

step_verify() {
	say "check against the generator's expectations ($EXPECT)"
	if [ -f "$EXPECT" ]; then
		$PY tests/it_scenario.py --check "$PCAP" "$EXPECT" "$OUT/flows.json" "$OUT/sessions.json"
	else
		echo "no $EXPECT: skipped"
	fi
}

if [ ! -x "$M" ]; then
	echo "demo: $M not built (make BUILD=$BUILD)" >&2
	exit 1
fi
for s in ${DEMO_STEPS:-$STEPS}; do
	"step_$s"
done
