# bench/capture.sh - sourced by bench/run.sh and bench/bench_live.sh: the one way to get the
# benchmark capture. bench_capture builds bench/gen_bench_pcap.c into $B and generates
# $B/bench-$FRAMES-$SUBS-$CONC.pcap once; it is regenerated when the generator source or its
# arguments change (a stamp file), so both benchmarks always measure the same bytes.
# Needs B, FRAMES, SUBS, CONC; sets PCAP. Returns non-zero (with a message) on failure.
bench_capture() {
	local gen=$B/gen_bench_pcap stamp want

	mkdir -p "$B"
	if [ ! -x "$gen" ] || [ bench/gen_bench_pcap.c -nt "$gen" ]; then
		${CC:-gcc} -O2 -g -Wall -Wextra -o "$gen" bench/gen_bench_pcap.c || {
			echo "bench: cannot build bench/gen_bench_pcap.c" >&2
			return 1
		}
	fi
	PCAP=$B/bench-$FRAMES-$SUBS-$CONC.pcap
	stamp=$PCAP.stamp
	want="$(sha256sum bench/gen_bench_pcap.c | cut -c1-16) $FRAMES $SUBS $CONC"
	if [ ! -f "$PCAP" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
		echo "bench: generating $PCAP ..."
		rm -f "$B"/bench-*.pcap "$B"/bench-*.pcap.stamp "$B"/bench-*.pcap.info
		"$gen" -o "$PCAP" -n "$FRAMES" -s "$SUBS" -c "$CONC" >"$PCAP.info" || {
			echo "bench: bench/gen_bench_pcap failed" >&2
			return 1
		}
		echo "$want" >"$stamp"
	fi
}
