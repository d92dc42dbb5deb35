#!/usr/bin/env bash
# bench/run.sh - offline throughput and memory of mcprobe -r against its peers, one run.
#
# Builds bench/gen_bench_pcap.c and bench/pcap_floor.c into $BUILD/bench/, generates the
# benchmark capture once (cached in $BUILD/bench/, regenerated when the generator or its
# arguments change), then measures on ONE core (taskset -c $BENCH_CPU), best of $BENCH_RUNS
# rounds, each running every tool once (interleaved: the host's speed drifts):
#   mcprobe     $BUILD/mcprobe -r FILE --flows-json /dev/null --sessions-json /dev/null --stats
#   ndpiReader  ndpiReader -t -q -i FILE -C /dev/null   (nDPI 4.2's reader: -t dissects GTP
#               tunnels; -C writes its per-flow CSV records, as mcprobe writes its records)
#   pcap_floor  libpcap pcap_loop that only counts frames (the ceiling for any reader)
#   mcprobe+redis  mcprobe writing the microcloud into a local redis-server (goal >= 90% pps)
# pps = frames / wall time of the best run; peak RSS from /usr/bin/time -v of that run.
# Prints a table with ratios against ndpiReader; the goal is mcprobe >= 3x ndpiReader's pps
# at a lower RSS. Nothing here asserts timings: the exit status only reports failed runs.
#
# Then bench/bench_workers.sh (1/2/4/8 pipeline shards, CPU seconds, RSS, shard balance),
# bench/bench_mixes.sh (1 worker against ndpiReader on the uniform, short-flow and real
# captures; RSS with 4 workers) and the
# other benchmarks if built: $BUILD/bench/bench_json (flow record export cost),
# bench_gtpc, bench_xdp, bench_redis
# (add a name to HOOKS to extend).
#
# Env: BUILD (default build), BENCH_FRAMES (1000000), BENCH_SUBS (10000), BENCH_CONC (4000),
# BENCH_RUNS (5), BENCH_CPU (1).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
B=$BUILD/bench
FRAMES=${BENCH_FRAMES:-1000000}
SUBS=${BENCH_SUBS:-10000}
CONC=${BENCH_CONC:-4000}
RUNS=${BENCH_RUNS:-5}
CPU=${BENCH_CPU:-1}
HOOKS="bench_json bench_gtpc bench_pfcp bench_xdp bench_redis"
CC=${CC:-gcc}
mkdir -p "$B"
status=0

build_tool() { # src out [libs]
	local src=$1 out=$2
	shift 2
	if [ ! -x "$out" ] || [ "$src" -nt "$out" ]; then
		$CC -O2 -g -Wall -Wextra -o "$out" "$src" "$@" || {
			echo "bench: cannot build $src" >&2
			exit 1
		}
	fi
}
build_tool bench/pcap_floor.c "$B/pcap_floor" -lpcap

. bench/capture.sh
bench_capture || exit 1
echo "bench: capture $PCAP: $(cat "$PCAP.info" 2>/dev/null), $(($(stat -c %s "$PCAP") / 1048576)) MiB"
cat "$PCAP" >/dev/null # page cache: every tool reads from memory

TASKSET=()
if command -v taskset >/dev/null && taskset -c "$CPU" true 2>/dev/null; then
	TASKSET=(taskset -c "$CPU")
else
	echo "bench: taskset -c $CPU unavailable, running unpinned"
fi

declare -A PPS RSS SEC LOOP BEST_NS LAST_NS LAST_LOOP
# measure NAME CMD... : best of $RUNS by wall time; records pps and that run's peak RSS, and
# the best packet-loop rate mcprobe --stats prints (frames / time until the last frame was
# processed, before the final flush of flows and of the microcloud). Calling it again for the
# same NAME adds runs to the same best (interleaved measurements).
measure() {
	local name=$1
	shift
	local best=${BEST_NS[$name]:-} best_rss=${RSS[$name]:-0} best_loop=${LOOP[$name]:-0}
	local loop i t0 t1 ns rss log
	log=$(mktemp)
	for ((i = 0; i < RUNS; i++)); do
		[ -n "${PRE_RUN:-}" ] && $PRE_RUN >/dev/null 2>&1
		t0=$(date +%s%N)
		if ! /usr/bin/time -v -o "$log.time" "${TASKSET[@]}" "$@" >"$log" 2>&1; then
			echo "bench: $name failed: $*" >&2
			tail -5 "$log" >&2
			status=1
			rm -f "$log" "$log.time"
			return
		fi
		t1=$(date +%s%N)
		ns=$((t1 - t0))
		rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log.time")
		loop=$(awk '$1 == "packets/s" {print $2; exit}' "$log")
		[ -n "$loop" ] && [ "$loop" -gt "$best_loop" ] && best_loop=$loop
		LAST_NS[$name]=$ns
		LAST_LOOP[$name]=${loop:-0}
		if [ -z "$best" ] || [ "$ns" -lt "$best" ]; then
			best=$ns
			best_rss=$rss
		fi
	done
	rm -f "$log" "$log.time"
	BEST_NS[$name]=$best
	SEC[$name]=$(awk -v n="$best" 'BEGIN {printf "%.3f", n / 1e9}')
	PPS[$name]=$(awk -v n="$best" -v f="$FRAMES" 'BEGIN {printf "%.0f", f / (n / 1e9)}')
	RSS[$name]=$best_rss
	LOOP[$name]=$best_loop
}

tools=()
MC=("$BUILD/mcprobe" -r "$PCAP" --flows-json /dev/null --sessions-json /dev/null --stats)
# The microcloud must not slow the packet path: the same run writing into a redis-server of
# our own on a free loopback port (flushed fresh before each run).
REDIS_ON=0
if [ -x "$BUILD/mcprobe" ] && command -v redis-server >/dev/null; then
	RPORT=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	# redis-server and the probe's writer thread get the other core, as deployed: the packet
	# thread keeps its core (taskset), the writer runs on --helper-cpus so that Redis never
	# sits on the packet path. The wall time still includes the final flush (waiting for
	# Redis to apply the last batches).
	OTHER=$((CPU == 0 ? 1 : 0))
	taskset -c "$OTHER" redis-server --port "$RPORT" --bind 127.0.0.1 --save '' \
		--appendonly no >/dev/null 2>&1 &
	RPID=$!
	for _ in $(seq 1 50); do redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
	HELPER=()
	[ ${#TASKSET[@]} -gt 0 ] && HELPER=(--helper-cpus "$OTHER")
	REDIS_ON=1
fi
# One round runs every tool once; the best of $RUNS rounds counts. Interleaved, because the
# host's speed drifts by a factor of two within minutes on a shared VM: a tool measured only
# while the host was slow would lose a ratio it would win.
HAVE_MC=0 HAVE_NDPI=0
[ -x "$BUILD/mcprobe" ] && HAVE_MC=1
command -v ndpiReader >/dev/null && HAVE_NDPI=1
[ $HAVE_MC -eq 1 ] || {
	echo "bench: $BUILD/mcprobe not built: skipping it (make BUILD=$BUILD)" >&2
	status=1
}
[ $HAVE_NDPI -eq 1 ] || {
	echo "bench: ndpiReader missing (apt-get install libndpi-bin)" >&2
	status=1
}
# Ratios are also taken within each round, between runs that followed each other (the host
# changes less in seconds than over the whole benchmark); their median is printed.
R_NDPI=() R_WALL=() R_LOOP=()
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", (b > 0) ? a / b : 0}'; }
for ((r = 0; r < RUNS; r++)); do
	LAST_NS=() LAST_LOOP=()
	[ $HAVE_MC -eq 1 ] && RUNS=1 measure mcprobe "${MC[@]}"
	[ $HAVE_MC -eq 1 ] && [ $REDIS_ON -eq 1 ] && RUNS=1 PRE_RUN="redis-cli -p $RPORT FLUSHALL" \
		measure mcprobe+redis "${MC[@]}" --redis "127.0.0.1:$RPORT" --no-reload "${HELPER[@]}"
	[ $HAVE_NDPI -eq 1 ] && RUNS=1 measure ndpiReader ndpiReader -t -q -i "$PCAP" -C /dev/null
	RUNS=1 measure pcap_floor "$B/pcap_floor" "$PCAP"
	if [ -n "${LAST_NS[mcprobe]:-}" ]; then
		[ -n "${LAST_NS[ndpiReader]:-}" ] &&
			R_NDPI+=("$(ratio "${LAST_NS[ndpiReader]}" "${LAST_NS[mcprobe]}")")
		if [ -n "${LAST_NS[mcprobe+redis]:-}" ]; then
			R_WALL+=("$(ratio "${LAST_NS[mcprobe]}" "${LAST_NS[mcprobe+redis]}")")
			R_LOOP+=("$(ratio "${LAST_LOOP[mcprobe+redis]}" "${LAST_LOOP[mcprobe]}")")
		fi
	fi
done
# median LIST...: the middle value (the lower middle one for an even count)
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]}'; }
# rounds LIST...: "a, b, c" as percentages or ratios (FMT)
rounds() { local fmt=$1; shift; printf '%s\n' "$@" | awk -v f="$fmt" '{printf "%s" f, (NR > 1 ? ", " : ""), (f == "%.1f%%" ? 100 * $1 : $1)}'; }
[ -n "${PPS[mcprobe]:-}" ] && tools+=(mcprobe)
[ -n "${PPS[ndpiReader]:-}" ] && tools+=(ndpiReader)
tools+=(pcap_floor)
if [ $REDIS_ON -eq 1 ]; then
	[ -n "${PPS[mcprobe+redis]:-}" ] && tools+=(mcprobe+redis)
	REDIS_KEYS=$(redis-cli -p "$RPORT" DBSIZE)
	kill "$RPID" 2>/dev/null
	wait "$RPID" 2>/dev/null
fi

echo
printf "%-12s %10s %14s %12s %10s %10s\n" tool "best s" "frames/s" "peak RSS MiB" "pps/nDPI" "RSS/nDPI"
for t in "${tools[@]}"; do
	[ -n "${PPS[$t]:-}" ] || continue
	pr="-" rr="-"
	if [ -n "${PPS[ndpiReader]:-}" ]; then
		pr=$(awk -v a="${PPS[$t]}" -v b="${PPS[ndpiReader]}" 'BEGIN {printf "%.2fx", a / b}')
		rr=$(awk -v a="${RSS[$t]}" -v b="${RSS[ndpiReader]}" 'BEGIN {printf "%.2fx", a / b}')
	fi
	printf "%-12s %10s %14s %12s %10s %10s\n" "$t" "${SEC[$t]}" "${PPS[$t]}" \
		"$(awk -v k="${RSS[$t]}" 'BEGIN {printf "%.1f", k / 1024}')" "$pr" "$rr"
done
if [ -n "${PPS[mcprobe]:-}" ] && [ -n "${PPS[ndpiReader]:-}" ]; then
	awk -v a="${PPS[mcprobe]}" -v b="${PPS[ndpiReader]}" -v ra="${RSS[mcprobe]}" \
		-v rb="${RSS[ndpiReader]}" -v m="$(median "${R_NDPI[@]}")" 'BEGIN {
		printf "goal mcprobe >= 3x ndpiReader pps at lower RSS: %s (median of the rounds %.2fx, best runs %.2fx; RSS %s)\n",
			(m >= 3 && ra < rb) ? "MET" : "NOT MET", m, a / b, ra < rb ? "lower" : "higher" }'
	echo "  rounds: $(rounds '%.2fx' "${R_NDPI[@]}")"
fi

if [ -n "${PPS[mcprobe+redis]:-}" ] && [ -n "${PPS[mcprobe]:-}" ]; then
	awk -v w="$(median "${R_WALL[@]}")" -v l="$(median "${R_LOOP[@]}")" -v k="${REDIS_KEYS:-?}" 'BEGIN {
		printf "goal mcprobe --redis >= 90%% of the pps without (median of the rounds): packet loop %s (%.1f%%), wall time incl. the final flush %s (%.1f%%); %s keys written\n",
			(l >= 0.9) ? "MET" : "NOT MET", 100 * l, (w >= 0.9) ? "MET" : "NOT MET", 100 * w, k }'
	echo "  packet loop (--stats packets/s), rounds: $(rounds '%.1f%%' "${R_LOOP[@]}")"
	echo "  wall time, rounds: $(rounds '%.1f%%' "${R_WALL[@]}")"
fi

# sanity: a probe that drops everything is fast; show what mcprobe did with the capture
if [ -n "${PPS[mcprobe]:-}" ]; then
	echo
	echo "mcprobe work on the capture (--stats):"
	"$BUILD/mcprobe" -r "$PCAP" --flows-json /dev/null --sessions-json /dev/null --stats 2>&1 |
		grep -E 'user packets|malformed  |flows created|flows with subscriber|unknown subscr|sessions created|dpi flows classified|dpi packets inspected' |
		sed 's/^/  /'
fi

# live capture at tcpreplay's top speed (root: veth pair, XDP): loss, bypass share, the share
# of user-plane packets in IMSI-tagged records and the kernel's per-subscriber counters against
# the records; softflowd is the peer. Holds the network lock of the tests.
echo
echo "== bench_live (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
if [ "$(id -u)" -eq 0 ]; then
	flock /tmp/mcp-net.lock env BUILD="$BUILD" bash bench/bench_live.sh || status=1
else
	echo "bench_live: needs root, skipped"
fi

# split vantage points: one probe fed the GTP-C, another the GTP-U, one redis-server
echo
echo "== bench_split (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
# the capture bench_live replays (the mobile mix), generated once like the others
SPLIT_PCAP=$(MIX=mobile && bench_capture >&2 && echo "$PCAP")
if command -v redis-server >/dev/null && [ -x "$BUILD/mcprobe" ] && [ -n "$SPLIT_PCAP" ]; then
	BUILD=$BUILD /usr/bin/python3 bench/bench_split.py "$SPLIT_PCAP" || status=1
else
	echo "bench_split: needs redis-server and $BUILD/mcprobe, skipped"
	status=1
fi

# pipeline shards: 1/2/4/8 workers against each other and ndpiReader (same rounds)
echo
echo "== bench_workers"
BUILD=$BUILD bash bench/bench_workers.sh || status=1

# the RESP view's cost to the packet path, with and without clients asking
echo
echo "== bench_resp"
BUILD=$BUILD bash bench/bench_resp.sh || status=1
# one worker against ndpiReader on several captures, one of them real (issue 14)
echo
echo "== bench_mixes"
BUILD=$BUILD bash bench/bench_mixes.sh || status=1

for h in $HOOKS; do
	if [ -x "$B/$h" ]; then
		echo
		echo "== $h"
		"$B/$h" || status=1
	fi
done
exit $status
