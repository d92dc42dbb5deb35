#!/usr/bin/env bash
# bench/bench_workers.sh - mcprobe -r with 1, 2, 4 and 8 pipeline shards (issue 14), against
# ndpiReader -t -C /dev/null (its flow records written too) in the same rounds, on make bench's capture (bench/capture.sh), records written
# to /dev/null. Not pinned: shards need the cores (the 1-worker run is the baseline here, not
# bench/run.sh's single-core figure). Per round, every configuration runs once (interleaved:
# the host's speed drifts); figures are medians over the rounds of same-round ratios:
#   speed      wall(1 worker) / wall(N workers)           goal 2 workers >= 1.5x
#   CPU        (user+sys)(N) / (user+sys)(1)               goal <= 1.10 (contention, not cores)
#   vs nDPI    ndpiReader wall / mcprobe 1-worker wall     goal >= 3x
#   RSS        peak RSS with 4 workers / ndpiReader's      goal < 1
#   share      largest shard's user packets / its share  goal <= 1.1 (from --stats)
# Shards run on as many threads as the CPUs allow (one CPU left to the reader): on 2 CPUs,
# 4 and 8 workers are 3 and 7 shards taking turns on one thread. The row w8t7 (8 workers,
# --shard-threads 7: a thread per shard, as before this default) is printed for comparison,
# outside the goals; the threads column says what each run had.
# Env: BUILD, BENCH_FRAMES, BENCH_SUBS, BENCH_CONC, BENCH_MIX, WORKER_RUNS (default 3),
# WORKER_COUNTS (default "1 2 4 8"). Exit status: 1 only if a run failed.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
B=$BUILD/bench
FRAMES=${BENCH_FRAMES:-1000000}
SUBS=${BENCH_SUBS:-10000}
CONC=${BENCH_CONC:-4000}
RUNS=${WORKER_RUNS:-3}
COUNTS=${WORKER_COUNTS:-1 2 4 8}
. bench/capture.sh
bench_capture || exit 1
cat "$PCAP" >/dev/null
[ -x "$BUILD/mcprobe" ] || { echo "bench_workers: $BUILD/mcprobe not built" >&2; exit 1; }
HAVE_NDPI=0
command -v ndpiReader >/dev/null && HAVE_NDPI=1
status=0
declare -A WALL CPU RSS A_ RSSM THREADS
log=$(mktemp)
# run NAME CMD...: one timed run; WALL/CPU/RSS[NAME,round] (seconds, seconds, KiB)
run() {
	local name=$1
	shift
	if ! /usr/bin/time -f '%e %U %S %M' -o "$log.t" "$@" >"$log" 2>&1; then
		echo "bench_workers: $name failed" >&2
		tail -3 "$log" >&2
		status=1
		return
	fi
	read -r w u s m <"$log.t"
	WALL[$name,$r]=$w
	CPU[$name,$r]=$(awk -v u="$u" -v s="$s" 'BEGIN {printf "%.2f", u + s}')
	RSS[$name,$r]=$m
}
SHARE=""
for ((r = 0; r < RUNS; r++)); do
	for n in $COUNTS 8t7; do
		case $n in
		*t*) args=(--workers "${n%t*}" --shard-threads "${n#*t}") ;;
		*) args=(--workers "$n") ;;
		esac
		run "w$n" "$BUILD/mcprobe" -r "$PCAP" "${args[@]}" --flows-json /dev/null \
			--sessions-json /dev/null --stats
		[ "$n" = 4 ] && [ -z "$SHARE" ] &&
			SHARE=$(sed -n 's/^  shards .*(largest \([0-9.]*\) of its share)/\1/p' "$log")
		[ -z "${THREADS[w$n]:-}" ] &&
			THREADS[w$n]=$(sed -n 's/^  shards .* on \([0-9]*\) thread.*/\1/p' "$log")
	done
	[ $HAVE_NDPI -eq 1 ] && run ndpi ndpiReader -t -q -i "$PCAP" -C /dev/null
done
rm -f "$log" "$log.t"
median() { sort -g | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]}'; }
# ratio_med A B: median over rounds of A/B
ratio_med() {
	local a=$1 b=$2 k
	for ((k = 0; k < RUNS; k++)); do
		[ -n "${A_[$a,$k]:-}" ] && [ -n "${A_[$b,$k]:-}" ] &&
			awk -v x="${A_[$a,$k]}" -v y="${A_[$b,$k]}" 'BEGIN {if (y > 0) printf "%.3f\n", x / y}'
	done | median
}
echo
echo "workers on $(basename "$PCAP") ($FRAMES frames; medians of $RUNS interleaved rounds, unpinned)"
printf "%-8s %8s %10s %9s %12s %10s %10s %8s\n" run "wall s" "frames/s" "CPU s" "peak RSS MiB" "speed" \
	"CPU/1w" "threads"

for n in $COUNTS 8t7 ndpi; do
	name=w$n
	[ "$n" = ndpi ] && name=ndpi
	[ -n "${WALL[$name,0]:-}" ] || continue
	for ((k = 0; k < RUNS; k++)); do A_[$name,$k]=${WALL[$name,$k]:-}; done
	w=$(for ((k = 0; k < RUNS; k++)); do echo "${WALL[$name,$k]:-}"; done | median)
	c=$(for ((k = 0; k < RUNS; k++)); do echo "${CPU[$name,$k]:-}"; done | median)
	m=$(for ((k = 0; k < RUNS; k++)); do echo "${RSS[$name,$k]:-}"; done | median)
	sp=$(ratio_med w1 "$name")
	for ((k = 0; k < RUNS; k++)); do A_[c$name,$k]=${CPU[$name,$k]:-}; A_[cw1,$k]=${CPU[w1,$k]:-}; done
	cr=$(ratio_med "c$name" cw1)
	# shard threads besides the reader (-: none, the one worker is in the reader)
	printf "%-8s %8s %10.0f %9s %12.1f %9sx %9sx %8s\n" "$name" "$w" "$(awk -v w="$w" -v f="$FRAMES" 'BEGIN {print f / w}')" \
		"$c" "$(awk -v m="$m" 'BEGIN {print m / 1024}')" "$sp" "$cr" "${THREADS[$name]:--}"
	RSSM[$name]=$m
done
if [ -n "${A_[w2,0]:-}" ]; then
	s2=$(ratio_med w1 w2)
	echo "goal 2 workers >= 1.5x 1 worker: $(awk -v s="$s2" 'BEGIN {print (s >= 1.5) ? "MET" : "NOT MET"}') (${s2}x)"
fi
for n in $COUNTS; do
	[ "$n" = 1 ] && continue
	cr=$(ratio_med "cw$n" cw1)
	echo "goal CPU seconds with $n workers within 10% of 1 worker: $(awk -v c="$cr" 'BEGIN {print (c <= 1.10) ? "MET" : "NOT MET"}') (${cr}x)"
done
if [ -n "${A_[ndpi,0]:-}" ]; then
	v=$(ratio_med ndpi w1)
	echo "goal 1 worker (records written, unpinned) >= 3x ndpiReader: $(awk -v v="$v" 'BEGIN {print (v >= 3) ? "MET" : "NOT MET"}') (${v}x)"
	if [ -n "${RSSM[w4]:-}" ]; then
		echo "goal peak RSS with 4 workers below ndpiReader's: $(awk -v a="${RSSM[w4]}" -v b="${RSSM[ndpi]}" 'BEGIN {printf "%s (%.1f vs %.1f MiB)", (a < b) ? "MET" : "NOT MET", a / 1024, b / 1024}')"
	fi
fi
[ -n "$SHARE" ] && echo "goal largest shard <= 1.1x its share (4 workers): $(awk -v s="$SHARE" 'BEGIN {print (s <= 1.1) ? "MET" : "NOT MET"}') (${SHARE}x)"
exit $status
