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
# Steps are functions run in order from STEPS: the offline run and its records, subscribers
# and stats, a check against the expectations, the microcloud (a redis-server of the demo's
# own on a free loopback port) and live capture (XDP + AF_XDP on a veth pair in a network
# namespace the demo creates and removes, the capture replayed by tcpreplay). Each step gets
# $OUT (a scratch directory) and may use the files earlier steps left there.
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

STEPS="offline records subscribers stats verify microcloud live"
REDIS_PID=
NS=
cleanup() {
	if [ -n "$REDIS_PID" ]; then
		kill "$REDIS_PID" 2>/dev/null
		wait "$REDIS_PID" 2>/dev/null
	fi
	[ -n "$NS" ] && ip netns del "$NS" 2>/dev/null
	rm -rf "$OUT"
}
trap cleanup EXIT

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

free_port() {
	$PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The microcloud: a redis-server of the demo's own on a free loopback port; the probe writes
# subscriber facts, counters, per-IMSI aggregates and events while a subscriber listens.
step_microcloud() {
	local port
	port=$(free_port)
	say "microcloud: redis-server on 127.0.0.1:$port, mcprobe --redis"
	redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
		--dir "$OUT" >"$OUT/redis.log" 2>&1 &
	REDIS_PID=$!
	for _ in $(seq 1 50); do
		redis-cli -p "$port" ping >/dev/null 2>&1 && break
		sleep 0.1
	done
	redis-cli -p "$port" ping >/dev/null || { echo "redis-server did not start" >&2; return 1; }
	timeout 20 redis-cli -p "$port" SUBSCRIBE events.imsi >"$OUT/events.txt" 2>&1 &
	local sub=$!
	sleep 0.3
	echo "\$ $M -r $PCAP --redis 127.0.0.1:$port --probe-name demo --imsi-aggregation 300"
	"$M" -r "$PCAP" --redis "127.0.0.1:$port" --probe-name demo --imsi-aggregation 300 \
		--flows-json /dev/null --stats 2>"$OUT/mc-stats.txt"
	grep '^microcloud' "$OUT/mc-stats.txt" || true
	sleep 0.5
	kill "$sub" 2>/dev/null || true
	wait "$sub" 2>/dev/null || true
	echo "keys in Redis: $(redis-cli -p "$port" DBSIZE)"
	local imsi ip
	imsi=$(redis-cli -p "$port" --scan --pattern 'imsi.*' | sort | sed -n 1p)
	echo "\$ redis-cli HGETALL $imsi"
	redis-cli -p "$port" --no-raw HGETALL "$imsi" | paste - - | sed -n 1,14p
	ip=$(redis-cli -p "$port" HGET "$imsi" ue_ipv4)
	if [ -n "$ip" ]; then
		echo "\$ redis-cli GET ip.$ip"
		redis-cli -p "$port" GET "ip.$ip"
	fi
	echo "events received by a subscriber of events.imsi: $(grep -c '"event"' "$OUT/events.txt")"
	grep -m 3 '"event"' "$OUT/events.txt"
	echo "\$ mcp-aggregate --redis 127.0.0.1:$port --all | head"
	"$BUILD/mcp-aggregate" --redis "127.0.0.1:$port" --all | sed -n 1,8p
}

# Live: the same capture replayed by tcpreplay into a veth pair in a network namespace of
# the demo's own, captured by XDP + AF_XDP (mcprobe -i); classified flows are then counted in
# the kernel (flow bypass).
step_live() {
	local ifa=mdemo$$a ifb=mdemo$$b pid n
	NS=mcpdemo$$
	say "live: mcprobe -i on a veth pair in network namespace $NS, tcpreplay of the same capture"
	ip netns add "$NS"
	ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	ip link add "$ifa" numtxqueues 2 numrxqueues 2 type veth peer name "$ifb" numtxqueues 2 \
		numrxqueues 2
	ip link set "$ifa" netns "$NS"
	ip link set "$ifb" netns "$NS"
	ip -n "$NS" link set "$ifa" up
	ip -n "$NS" link set "$ifb" up
	ip netns exec "$NS" ethtool -L "$ifb" tx 1 >/dev/null 2>&1 || true
	echo "\$ mcprobe -i $ifa --flows-json live.json --sessions-json live-sessions.json --stats"
	# nsenter (network namespace only): 'ip netns exec' would also give the probe a mount
	# namespace of its own, and its pins under /sys/fs/bpf would be invisible to bpftool here.
	nsenter --net=/run/netns/"$NS" "$M" -v -i "$ifa" --flows-json "$OUT/live.json" \
		--sessions-json "$OUT/live-sessions.json" --stats 2>"$OUT/live.err" &
	pid=$!
	for _ in $(seq 1 100); do
		grep -q "live capture running" "$OUT/live.err" 2>/dev/null && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	grep -q "live capture running" "$OUT/live.err" || { cat "$OUT/live.err" >&2; return 1; }
	n=$(capinfos -c -M -T -r "$PCAP" | awk -F'\t' '{print $2}')
	echo "\$ tcpreplay -i $ifb --pps 3000 $PCAP   ($n frames)"
	ip netns exec "$NS" tcpreplay -q -i "$ifb" --pps 3000 "$PCAP" >/dev/null 2>&1
	sleep 1
	echo "\$ bpftool map dump pinned /sys/fs/bpf/mcprobe/$ifa/subscribers   (first entries)"
	bpftool map dump pinned "/sys/fs/bpf/mcprobe/$ifa/subscribers" 2>/dev/null |
		grep -m 3 '"imsi"' || true
	kill -INT "$pid"
	wait "$pid" || true
	grep -E "live: xdp|user packets|flows bypassed|user packets in kernel|flows exported" "$OUT/live.err" | sed 's/^mcprobe: //'
	echo "live: $(wc -l <"$OUT/live.json") flow records; offline: $(wc -l <"$OUT/flows.json")"
	ip netns del "$NS"
	NS=
}

if [ ! -x "$M" ]; then
	echo "demo: $M not built (make BUILD=$BUILD)" >&2
	exit 1
fi
for s in ${DEMO_STEPS:-$STEPS}; do
	"step_$s"
done
