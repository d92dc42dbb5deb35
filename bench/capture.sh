# bench/capture.sh - sourced by bench/run.sh and bench/bench_live.sh: the one way to get the
# benchmark capture. bench_capture builds bench/gen_bench_pcap.c into $B and generates the
# capture once; it is regenerated when the generator source or its arguments change (a stamp
# file), so both benchmarks always measure the same bytes. The generator links OpenSSL libcrypto
# (libssl-dev) for the QUIC Initial packet protection of the mobile mix.
# Needs B, FRAMES, SUBS, CONC; MIX (flow-size mix of gen_bench_pcap -m: uniform or mobile)
# defaults to BENCH_MIX, else uniform. Sets PCAP: $B/bench-$FRAMES-$SUBS-$CONC.pcap for the
# uniform mix (the name it always had), $B/bench-mobile-$FRAMES-$SUBS-$CONC.pcap for mobile.
# Returns non-zero (with a message) on failure.
bench_capture() {
	local gen=$B/gen_bench_pcap stamp want mix=${MIX:-${BENCH_MIX:-uniform}} old

	case "$mix" in
	uniform) PCAP=$B/bench-$FRAMES-$SUBS-$CONC.pcap old="$B/bench-[0-9]*.pcap" ;;
	mobile) PCAP=$B/bench-mobile-$FRAMES-$SUBS-$CONC.pcap old="$B/bench-mobile-*.pcap" ;;
	*)
		echo "bench: unknown flow mix '$mix' (uniform or mobile)" >&2
		return 1
		;;
	esac
	mkdir -p "$B"
	if [ ! -x "$gen" ] || [ bench/gen_bench_pcap.c -nt "$gen" ]; then
		${CC:-gcc} -O2 -g -Wall -Wextra -o "$gen" bench/gen_bench_pcap.c -lm -lcrypto || {
			echo "bench: cannot build bench/gen_bench_pcap.c" >&2
			return 1
		}
	fi
	stamp=$PCAP.stamp
	want="$(sha256sum bench/gen_bench_pcap.c | cut -c1-16) $FRAMES $SUBS $CONC $mix"
	if [ ! -f "$PCAP" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
		echo "bench: generating $PCAP ..."
		# stale captures of this mix only: the other mix's file stays usable
		# shellcheck disable=SC2086 # $old is a glob on purpose
		rm -f $old $old.stamp $old.info
		"$gen" -o "$PCAP" -n "$FRAMES" -s "$SUBS" -c "$CONC" -m "$mix" >"$PCAP.info" || {
			echo "bench: bench/gen_bench_pcap failed" >&2
			return 1
		}
		echo "$want" >"$stamp"
	fi
}
