#!/usr/bin/env bash
# bench/bench_resp.sh - what the RESP view (--resp-listen) costs the packet path (issue 17):
# mcprobe -r on make bench's capture with the view on, once with no client (the peer figure)
# and once with RESP_CLIENTS clients asking for keys without pause (bench/resp_hammer.py), so
# a snapshot is taken every second, the most the view allows. Both runs per round, 1 and 2
# workers, interleaved; figures are medians over rounds. ratio = frames/s with clients /
# frames/s without (1.000: the snapshots cost the packet path nothing; the clients and the
# RESP thread also take CPU on a small host); copy us/snap = the probe threads' time copying
# their state per snapshot (INFO snapshot_owner_us / snapshots). RESP_PEER_BIN: another
# mcprobe build measured the same way (e.g. one from before the lock-free snapshots).
# Env: BUILD, BENCH_FRAMES, BENCH_SUBS, BENCH_CONC, RESP_RUNS (3), RESP_CLIENTS (4),
# RESP_WORKERS ("1 2"), RESP_PEER_BIN. Exit status: 1 only if a run failed.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
B=$BUILD/bench
FRAMES=${BENCH_FRAMES:-1000000}
SUBS=${BENCH_SUBS:-10000}
CONC=${BENCH_CONC:-4000}
RUNS=${RESP_RUNS:-3}
CLIENTS=${RESP_CLIENTS:-4}
WORKERS=${RESP_WORKERS:-1 2}
. bench/capture.sh
bench_capture || exit 1
cat "$PCAP" >/dev/null
status=0
declare -A WALL SNAPS OWN
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# run NAME BIN WORKERS CLIENTS: one run; WALL[NAME,round] in seconds
run() {
	local name=$1 bin=$2 w=$3 nc=$4 port t0 t1 hp=""
	port=$(free_port)
	t0=$(date +%s.%N)
	"$bin" -r "$PCAP" --workers "$w" --flows-json /dev/null --sessions-json /dev/null \
		--resp-listen "$port" >/dev/null 2>&1 &
	local pid=$!
	if [ "$nc" -gt 0 ]; then
		/usr/bin/python3 bench/resp_hammer.py "$port" "$nc" 600 >"$tmp.h" 2>&1 &
		hp=$!
	fi
	wait "$pid" || { echo "bench_resp: $name failed" >&2; status=1; }
	t1=$(date +%s.%N)
	if [ -n "$hp" ]; then
		wait "$hp" 2>/dev/null # it ends when mcprobe has gone
		read -r _ _ _ s _ o <"$tmp.h" || true
		SNAPS[$name,$r]=${s:-0}
		OWN[$name,$r]=${o:-0}
	fi
	WALL[$name,$r]=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')
}
tmp=$(mktemp)
for ((r = 0; r < RUNS; r++)); do
	for w in $WORKERS; do
		run "w$w" "$BUILD/mcprobe" "$w" 0
		run "w$w+c" "$BUILD/mcprobe" "$w" "$CLIENTS"
		if [ -n "${RESP_PEER_BIN:-}" ] && [ "$w" = 1 ]; then
			run "peer" "$RESP_PEER_BIN" 1 0
			run "peer+c" "$RESP_PEER_BIN" 1 "$CLIENTS"
		fi
	done
done
rm -f "$tmp" "$tmp.h"
median() { sort -g | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]}'; }
wall() { for ((k = 0; k < RUNS; k++)); do echo "${WALL[$1,$k]:-}"; done | median; }
ratio() { # median over rounds of WALL[quiet] / WALL[with clients]
	for ((k = 0; k < RUNS; k++)); do
		awk -v a="${WALL[$1,$k]:-0}" -v b="${WALL[$2,$k]:-0}" 'BEGIN {if (b > 0) printf "%.3f\n", a / b}'
	done | median
}
echo
echo "RESP view cost on $(basename "$PCAP") ($FRAMES frames; $CLIENTS clients; medians of $RUNS rounds; load $(cut -d' ' -f1-3 /proc/loadavg))"
printf "%-22s %14s %14s %9s %10s %14s\n" config "frames/s quiet" "frames/s asked" ratio snapshots "copy us/snap"
rows="$(for w in $WORKERS; do echo "w$w"; done)"
[ -n "${RESP_PEER_BIN:-}" ] && rows="$rows peer"
for n in $rows; do
	[ -n "${WALL[$n,0]:-}" ] || continue
	q=$(wall "$n")
	c=$(wall "$n+c")
	label="mcprobe ${n#w} worker(s)"
	[ "$n" = peer ] && label="peer 1 worker"
	sn=$(for ((k = 0; k < RUNS; k++)); do echo "${SNAPS[$n+c,$k]:-0}"; done | median)
	cu=$(for ((k = 0; k < RUNS; k++)); do
		awk -v o="${OWN[$n+c,$k]:-0}" -v s="${SNAPS[$n+c,$k]:-0}" 'BEGIN {if (s > 0) printf "%.0f\n", o / s}'
	done | median)
	[ "$n" = peer ] && cu="-" # the lock-based build copies under the lock: not reported
	printf "%-22s %14.0f %14.0f %8sx %10s %14s\n" "$label" "$(awk -v w="$q" -v f="$FRAMES" 'BEGIN {print f / w}')" \
		"$(awk -v w="$c" -v f="$FRAMES" 'BEGIN {print f / w}')" "$(ratio "$n" "$n+c")" "$sn" "${cu:--}"
done
exit $status
