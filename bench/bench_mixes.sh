#!/usr/bin/env bash
# bench/bench_mixes.sh - issue 14's offline goal on several captures: mcprobe -r with one worker
# and flow records written, against ndpiReader -t writing its flow records too, same capture,
# same core, in interleaved rounds; and peak RSS with 4 workers against ndpiReader's.
#   mcprobe     taskset -c $BENCH_CPU $BUILD/mcprobe -r FILE --flows-json /dev/null
#               --sessions-json /dev/null
#   ndpiReader  taskset -c $BENCH_CPU ndpiReader -t -q -i FILE -C /dev/null
#               (-C: its per-flow CSV records, so that both write one record per flow)
#   mcprobe 4w  $BUILD/mcprobe -r FILE --workers 4 ... (unpinned; for its peak RSS)
# Mixes (bench/capture.sh): uniform (make bench's capture), short (many flows of 1-3
# packets: DNS, TCP handshakes) and real (nDPI's zoom.pcap, a real capture with GTP-U, tiled).
# Per mix: median wall time of each tool, frames/s, the median over the rounds of the
# same-round ratio ndpiReader wall / mcprobe wall (goal >= 3x), every round's ratio, peak RSS
# (/usr/bin/time -v), and the load average before and after (the host is shared).
# Env: BUILD, BENCH_MIXES ("uniform short real"), MIX_RUNS (3), BENCH_CPU (1), BENCH_FRAMES,
# BENCH_SUBS, BENCH_CONC, BENCH_REAL, BENCH_TILES. Exit status: 1 only if a run failed.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
B=$BUILD/bench
FRAMES=${BENCH_FRAMES:-1000000}
SUBS=${BENCH_SUBS:-10000}
CONC=${BENCH_CONC:-4000}
RUNS=${MIX_RUNS:-3}
CPU=${BENCH_CPU:-1}
. bench/capture.sh
[ -x "$BUILD/mcprobe" ] || { echo "bench_mixes: $BUILD/mcprobe not built" >&2; exit 1; }
command -v ndpiReader >/dev/null || { echo "bench_mixes: ndpiReader missing" >&2; exit 1; }
PIN=()
taskset -c "$CPU" true 2>/dev/null && PIN=(taskset -c "$CPU")
status=0
log=$(mktemp)
declare -A WALL RSS
# run NAME CMD...: one timed run into WALL/RSS[NAME,round]
run() {
	local name=$1
	shift
	if ! /usr/bin/time -f '%e %M' -o "$log.t" "$@" >"$log" 2>&1; then
		echo "bench_mixes: $name failed: $*" >&2
		tail -3 "$log" >&2
		status=1
		return
	fi
	read -r WALL[$name,$r] RSS[$name,$r] <"$log.t"
}
median() { sort -g | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]}'; }
col() { for ((k = 0; k < RUNS; k++)); do echo "${WALL[$1,$k]:-}"; done | grep . | median; }
rss() { for ((k = 0; k < RUNS; k++)); do echo "${RSS[$1,$k]:-}"; done | grep . | median; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

printf "%-8s %9s %9s %11s %9s %11s %8s %9s %9s %9s  %s\n" mix frames "mc s" "mc fps" "nDPI s" \
	"nDPI fps" ratio "RSS mc" "RSS mc4w" "RSS nDPI" "rounds (load before/after)"
for MIX in ${BENCH_MIXES:-uniform short real}; do
	bench_capture >&2 || { status=1; continue; }
	cat "$PCAP" >/dev/null # page cache: both tools read from memory
	WALL=() RSS=()
	l0=$(loadavg)
	for ((r = 0; r < RUNS; r++)); do
		run mc "${PIN[@]}" "$BUILD/mcprobe" -r "$PCAP" --flows-json /dev/null \
			--sessions-json /dev/null
		run ndpi "${PIN[@]}" ndpiReader -t -q -i "$PCAP" -C /dev/null
		run mc4 "$BUILD/mcprobe" -r "$PCAP" --workers 4 --flows-json /dev/null \
			--sessions-json /dev/null
	done
	l1=$(loadavg)
	ratios=$(for ((k = 0; k < RUNS; k++)); do
		[ -n "${WALL[mc,$k]:-}" ] && [ -n "${WALL[ndpi,$k]:-}" ] &&
			awk -v a="${WALL[ndpi,$k]}" -v b="${WALL[mc,$k]}" 'BEGIN {printf "%.2f\n", a / b}'
	done)
	med=$(echo "$ratios" | grep . | median)
	mw=$(col mc) nw=$(col ndpi)
	[ -n "$mw" ] && [ -n "$nw" ] || continue
	printf "%-8s %9s %9s %11.0f %9s %11.0f %7sx %9.1f %9.1f %9.1f  %s (%s / %s)\n" "$MIX" \
		"$PCAP_FRAMES" "$mw" "$(awk -v f="$PCAP_FRAMES" -v w="$mw" 'BEGIN {print f / w}')" \
		"$nw" "$(awk -v f="$PCAP_FRAMES" -v w="$nw" 'BEGIN {print f / w}')" "$med" \
		"$(awk -v k="$(rss mc)" 'BEGIN {print k / 1024}')" \
		"$(awk -v k="$(rss mc4)" 'BEGIN {print k / 1024}')" \
		"$(awk -v k="$(rss ndpi)" 'BEGIN {print k / 1024}')" "$(echo $ratios)" "$l0" "$l1"
	GOAL_R+="$MIX $med "
	GOAL_M+="$MIX $(rss mc4) $(rss ndpi) "
done
rm -f "$log" "$log.t"
echo "${GOAL_R:-}" | awk '{for (i = 1; i < NF; i += 2) {n++; ok += ($(i + 1) >= 3); s = s sprintf(" %s %.2fx", $i, $(i + 1))}
	if (n) printf "goal 1 worker >= 3x ndpiReader on every mix (records written): %s (%s)\n", (ok == n) ? "MET" : "NOT MET", substr(s, 2)}'
echo "${GOAL_M:-}" | awk '{for (i = 1; i < NF; i += 3) {n++; ok += ($(i + 1) < $(i + 2)); s = s sprintf(" %s %.1f/%.1f MiB", $i, $(i + 1) / 1024, $(i + 2) / 1024)}
	if (n) printf "goal peak RSS with 4 workers below ndpiReader'"'"'s: %s (%s)\n", (ok == n) ? "MET" : "NOT MET", substr(s, 2)}'
exit $status
