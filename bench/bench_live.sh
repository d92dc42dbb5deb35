#!/usr/bin/env bash
# bench/bench_live.sh - live capture throughput: mcprobe -i (XDP + AF_XDP) against softflowd -i
# (libpcap), on the same tcpreplay --topspeed replay into a veth pair of a private namespace.
#
# The capture is bench/gen_bench_pcap's (GTPv2-C sessions then GTP-U flows, >= 1M frames by
# default), cached in $BUILD/bench/ like bench/run.sh does. For each probe: start it on the
# veth, replay the file with tcpreplay --topspeed -K into the peer, wait until the counters
# settle, stop it. Prints per probe: offered rate (tcpreplay), frames seen (mcprobe: processed in
# userspace + counted on bypassed flows in the kernel), loss, bypass share
# (XDP counters; mcprobe only), CPU seconds of the probe process, and CPU seconds of the whole
# machine during the replay (XDP runs in softirq context, not in the probe's own time). For
# mcprobe also the share of user-plane packets in IMSI-tagged records (bench/live_tagged.py;
# goal 100.000 %) and, in the first run, where mcp-load attaches the program so that its maps
# outlive the probe, whether the kernel's per-subscriber counters equal the records per IMSI.
# Nothing is asserted: the exit status only reports a failed run.
#
# Env: BUILD (build), BENCH_MIX (mobile: gen_bench_pcap's heavy-tailed flow sizes calibrated to
# CAIDA's measurements, with real QUIC v1; uniform: the 8-48 packet flows of the figures before
# the mix existed), BENCH_FRAMES (1000000), BENCH_SUBS
# (10000), BENCH_CONC (4000),
# BENCH_LIVE_WORKERS (1: --workers for mcprobe), BENCH_LIVE_MORE_WORKERS (2: a second mcprobe
# run with that many pipeline shards, "live top speed with 2 workers": its loss and CPU seconds
# are printed against the first run's and softflowd's; 0 = skip),
# BENCH_LIVE_TXQ (1: sending queues, 1 or 2),
# BENCH_LIVE_PPS (unset: --topspeed; N: tcpreplay --pps N, to find the loss-free rate),
# BENCH_LIVE_FLOWS (a temporary file: where mcprobe writes its flow records, to compare them
# with an offline run of the same capture), BENCH_LIVE_XSK_FRAMES (unset: mcprobe's default
# --xsk-frames).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
B=$BUILD/bench
FRAMES=${BENCH_FRAMES:-1000000}
SUBS=${BENCH_SUBS:-10000}
CONC=${BENCH_CONC:-4000}
MIX=${BENCH_MIX:-mobile}
WORKERS=${BENCH_LIVE_WORKERS:-1}
TXQ=${BENCH_LIVE_TXQ:-1}
RATE=(--topspeed)
[ -n "${BENCH_LIVE_PPS:-}" ] && RATE=(--pps "$BENCH_LIVE_PPS")
MCP=$BUILD/mcprobe

die() {
	echo "bench_live: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "needs root"
for t in ip ethtool nsenter tcpreplay softflowd softflowctl; do
	command -v "$t" >/dev/null || die "missing tool: $t"
done
[ -x "$MCP" ] || die "$MCP not built (make BUILD=$BUILD)"
. bench/capture.sh
bench_capture || die "no benchmark capture"

ID=$$
NS=mcpbench$ID
IF=mbl${ID}a
PEER=mbl${ID}b
TMP=$(mktemp -d)
PID=

cleanup() {
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill -KILL "$PID" 2>/dev/null
		wait "$PID" 2>/dev/null
	fi
	ip netns del "$NS" 2>/dev/null
	if [ -d "/sys/fs/bpf/mcprobe/$IF" ]; then
		rm -f "/sys/fs/bpf/mcprobe/$IF"/*
		rmdir "/sys/fs/bpf/mcprobe/$IF"
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

ip netns add "$NS" || die "ip netns add"
ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip link add "$IF" numtxqueues 2 numrxqueues 2 type veth peer name "$PEER" numtxqueues 2 \
	numrxqueues 2 || die "ip link add"
ip link set "$IF" netns "$NS" && ip link set "$PEER" netns "$NS" || die "ip link set netns"
ip -n "$NS" link set lo up
ip -n "$NS" link set "$IF" up && ip -n "$NS" link set "$PEER" up || die "link up"
ip netns exec "$NS" ethtool -L "$PEER" tx "$TXQ" || die "ethtool -L $PEER tx $TXQ"
INNS=(nsenter --net=/run/netns/"$NS")

proc_cpu() { # pid -> utime+stime in clock ticks
	awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0
}
sys_busy() { # all CPUs, busy jiffies (user nice system irq softirq steal)
	awk '/^cpu /{print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat
}
HZ=$(getconf CLK_TCK)

# replay -> sets OFFERED_PPS, SENT, PROC_CPU_S, SYS_CPU_S
replay() {
	local c0 s0 c1 s1 out
	c0=$(proc_cpu "$PID")
	s0=$(sys_busy)
	out=$(ip netns exec "$NS" tcpreplay -K "${RATE[@]}" -i "$PEER" "$PCAP" 2>&1) || die "tcpreplay: $out"
	sleep 1 # let the probe drain its rings
	c1=$(proc_cpu "$PID")
	s1=$(sys_busy)
	SENT=$(echo "$out" | awk '/Actual:/{print $2; exit}')
	OFFERED_PPS=$(echo "$out" | awk '/Rated:/{for (i = 1; i < NF; i++) if ($(i + 1) ~ /^pps/) print $i; exit}')
	PROC_CPU_S=$(awk -v a="$c0" -v b="$c1" -v hz="$HZ" 'BEGIN{printf "%.2f", (b - a) / hz}')
	SYS_CPU_S=$(awk -v a="$s0" -v b="$s1" -v hz="$HZ" 'BEGIN{printf "%.2f", (b - a) / hz}')
}

wait_exit() { # pid, seconds
	local i
	for i in $(seq 1 $(($2 * 10))); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

row() { # name sent offered seen bypass proc_cpu sys_cpu (sets LOSS)
	local loss
	loss=$(awk -v s="$2" -v n="$4" 'BEGIN{printf "%.2f%%", s ? 100 * (s - n) / s : 0}')
	LOSS=$loss
	printf "%-22s %10s %12s %10s %8s %8s %9s %9s\n" "$1" "$2" "$3" "$4" "$loss" "$5" "$6" "$7"
}

echo "bench_live: $PCAP ($(cat "$PCAP.info" 2>/dev/null)), $TXQ sending queue(s), 2 RX queues, ${RATE[*]}"
echo "bench_live: cpu_proc_s = the probe process; cpu_all_s = busy time of every CPU during the replay"
echo "            (XDP and the veth run in softirq, outside the probe; includes unrelated load)"
printf "%-22s %10s %12s %10s %8s %8s %9s %9s\n" probe sent offered_pps seen loss bypass \
	cpu_proc_s cpu_all_s

# --- mcprobe -i (NCAP > 0: with mcp-capture -i of NCAP of the subscribers meanwhile) ---
XSKF=()
[ -n "${BENCH_LIVE_XSK_FRAMES:-}" ] && XSKF=(--xsk-frames "$BENCH_LIVE_XSK_FRAMES")
run_mcprobe() { # ncap [ncaps: concurrent captures, each of ncap IMSIs, the second shifted by one] [workers]
local ncap=$1 ncaps=${2:-1} w=${3:-$WORKERS} cpids=() margs=() i k label kstat=0 flows=${BENCH_LIVE_FLOWS:-$TMP/live.flows}
if [ "$ncap" -eq 0 ] && [ -x "$BUILD/mcp-load" ]; then
	# pins of mcp-load stay after the probe: the kernel's subscriber counters can be read
	"${INNS[@]}" "$BUILD/mcp-load" attach "$IF" --queues 2 >/dev/null || die "mcp-load attach"
	kstat=1
fi
"${INNS[@]}" "$MCP" -v -i "$IF" --workers "$w" "${XSKF[@]}" \
	--flows-json "$flows" \
	--sessions-json /dev/null --stats >"$TMP/mcp.out" 2>"$TMP/mcp.err" &
PID=$!
for _ in $(seq 1 300); do
	grep -q "live capture running" "$TMP/mcp.err" && break
	kill -0 "$PID" 2>/dev/null || die "mcprobe did not start: $(cat "$TMP/mcp.err")"
	sleep 0.1
done
for k in $(seq 1 "$ncaps"); do
	[ "$ncap" -gt 0 ] || break
	# gen_bench_pcap's IMSIs are 00101 + the subscriber number (1-based) on 10 digits
	margs=()
	for i in $(seq 1 "$ncap"); do
		margs+=(-m "$(printf '00101%010u' $((i * SUBS / ncap - k + 1)))")
	done
	"$BUILD/mcp-capture" -v -i "$IF" "${margs[@]}" -w "$TMP/cap$k.pcap" 2>"$TMP/cap$k.err" &
	cpids+=($!)
	for _ in $(seq 1 100); do
		grep -q "capture running" "$TMP/cap$k.err" && break
		sleep 0.1
	done
done
replay
CAP_RC=()
for k in "${!cpids[@]}"; do
	kill -INT "${cpids[$k]}"
	wait "${cpids[$k]}"
	CAP_RC+=($?)
done
kill -INT "$PID"
wait_exit "$PID" 60 || die "mcprobe did not stop"
wait "$PID" || die "mcprobe exit status $?: $(tail -3 "$TMP/mcp.err")"
PID=
if [ $kstat -eq 1 ]; then
	"${INNS[@]}" "$BUILD/mcp-load" status "$IF" --json --subscribers >"$TMP/kern.json" ||
		die "mcp-load status"
	"${INNS[@]}" "$BUILD/mcp-load" detach "$IF" >/dev/null || die "mcp-load detach"
fi
seen=$(awk '/^  packets /{print $2}' "$TMP/mcp.err")
xrx=$(sed -n 's/.*live: xdp rx \([0-9]*\),.*/\1/p' "$TMP/mcp.err")
byp=$(sed -n 's/.*bypassed \([0-9]*\),.*/\1/p' "$TMP/mcp.err")
bshare=$(awk -v r="${xrx:-0}" -v b="${byp:-0}" 'BEGIN{printf "%.1f%%", r ? 100 * b / r : 0}')
# accounted = frames the pipeline processed + frames counted on bypassed flows in the kernel
label="mcprobe -i (w=$w${BENCH_LIVE_XSK_FRAMES:+ x$BENCH_LIVE_XSK_FRAMES})"
[ "$ncap" -gt 0 ] && label="$label + ${ncaps} cap"
row "$label" "$SENT" "$OFFERED_PPS" "$(( ${seen:-0} + ${byp:-0} ))" "$bshare" \
	"$PROC_CPU_S" "$SYS_CPU_S"
grep "live:" "$TMP/mcp.err" | sed 's/^/    /'
# a lost GTP-C frame costs a session, whose flows then have no subscriber
grep -E "^ +(sessions created|flows with subscriber|gtp-u pkts, unknown subscr|gtp-u pkts in untagged|flows attributed late|packets credited to kernel|shards|xdp metadata)" "$TMP/mcp.err" |
	sed 's/^ */    mcprobe: /'
if [ "$flows" != /dev/null ]; then
	if [ $kstat -eq 1 ]; then
		/usr/bin/python3 bench/live_tagged.py "$flows" "$TMP/kern.json"
	else
		/usr/bin/python3 bench/live_tagged.py "$flows"
	fi
fi
for k in $(seq 1 "$ncaps"); do
	[ "$ncap" -gt 0 ] || break
	echo "    mcp-capture $k of $ncap IMSIs (exit ${CAP_RC[$((k - 1))]}):" \
		"$(grep 'frames written' "$TMP/cap$k.err")"
done
}
run_mcprobe 0
# the reference for the tagged share: one probe reading the file, control plane in order
"$MCP" -r "$PCAP" --flows-json "$TMP/off.flows" --sessions-json /dev/null >/dev/null 2>&1 ||
	die "mcprobe -r failed"
echo "mcprobe -r (same capture, reference):"
/usr/bin/python3 bench/live_tagged.py "$TMP/off.flows"
W1="loss $LOSS, cpu_proc_s $PROC_CPU_S, cpu_all_s $SYS_CPU_S at $OFFERED_PPS pps"
W1_CPU=$PROC_CPU_S
# live top speed with more workers (pipeline shards fed by the socket-polling thread)
MORE=${BENCH_LIVE_MORE_WORKERS:-2}
WN=
if [ "$MORE" -gt 1 ] && [ "$MORE" != "$WORKERS" ]; then
	run_mcprobe 0 1 "$MORE"
	WN="loss $LOSS, cpu_proc_s $PROC_CPU_S, cpu_all_s $SYS_CPU_S at $OFFERED_PPS pps"
	WN_CPU=$PROC_CPU_S
fi
# BENCH_LIVE_CAPTURE (100): IMSIs under mcp-capture -i in a second run, and under each of two
# concurrent captures (two slots, other IMSIs) in a third; the captures' own loss, and the cost
# to the uncaptured traffic (loss, CPU) against the run above. 0 = skip.
# BENCH_LIVE_SOFTFLOWD (1): 0 skips the softflowd run (the capture runs compare with mcprobe).
NCAP=${BENCH_LIVE_CAPTURE:-100}
if [ "$NCAP" -gt 0 ] && [ -x "$BUILD/mcp-capture" ]; then
	run_mcprobe "$NCAP" 1
	run_mcprobe "$NCAP" 2
fi
[ "${BENCH_LIVE_SOFTFLOWD:-1}" = 0 ] && exit 0

# --- softflowd -i ---
"${INNS[@]}" softflowd -d -i "$IF" -n 127.0.0.1:9 -p "$TMP/sf.pid" -c "$TMP/sf.ctl" \
	-m 1000000 -B 67108864 >"$TMP/sf.out" 2>&1 &
PID=$!
for _ in $(seq 1 50); do
	[ -S "$TMP/sf.ctl" ] && break
	kill -0 "$PID" 2>/dev/null || die "softflowd did not start: $(cat "$TMP/sf.out")"
	sleep 0.1
done
replay
softflowctl -c "$TMP/sf.ctl" statistics >"$TMP/sf.stats" 2>&1
softflowctl -c "$TMP/sf.ctl" shutdown >/dev/null 2>&1 || kill -TERM "$PID"
wait_exit "$PID" 30 || kill -KILL "$PID"
PID=
seen=$(awk -F': *' '/[Pp]ackets processed/{print $2; exit}' "$TMP/sf.stats")
[ -n "$seen" ] || seen=$(awk '/received by pcap/{print $NF; exit}' "$TMP/sf.stats")
row "softflowd -i" "$SENT" "$OFFERED_PPS" "${seen:-?}" "-" "$PROC_CPU_S" "$SYS_CPU_S"
grep -i -E "packets|pcap" "$TMP/sf.stats" | head -5 | sed 's/^/    /'
echo "bench_live: mcprobe w=$WORKERS: $W1"
if [ -n "$WN" ]; then
	echo "bench_live: live top speed with $MORE workers: $WN"
	echo "bench_live: peer softflowd -i: loss $LOSS, cpu_proc_s $PROC_CPU_S, cpu_all_s $SYS_CPU_S"
	awk -v n="$WN_CPU" -v one="$W1_CPU" -v sf="$PROC_CPU_S" -v m="$MORE" -v w="$WORKERS" 'BEGIN{
		printf "bench_live: probe CPU seconds, %d workers / %d: %.2fx; softflowd / mcprobe %d workers: %.2fx\n",
			m, w, (one > 0 ? n / one : 0), m, (n > 0 ? sf / n : 0)}'
fi
exit 0
