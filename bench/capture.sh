# bench/capture.sh - sourced by bench/run.sh, bench/bench_workers.sh, bench/bench_mixes.sh and
# bench/bench_live.sh: the one way to get a benchmark capture. bench_capture builds
# bench/gen_bench_pcap.c into $B and generates the capture once; it is regenerated when the
# generator source or its arguments change (a stamp file), so all benchmarks measure the same
# bytes. The generator links OpenSSL libcrypto (libssl-dev) for the QUIC Initial packet
# protection of the mobile mix.
# Needs B, FRAMES, SUBS, CONC; MIX defaults to BENCH_MIX, else uniform:
#   uniform, mobile, short  gen_bench_pcap -m MIX (flow-size mixes, see its header); PCAP is
#                           $B/bench-$FRAMES-$SUBS-$CONC.pcap for uniform (the name it always
#                           had), $B/bench-MIX-$FRAMES-$SUBS-$CONC.pcap for the others
#   real                    a capture nobody here designed: BENCH_REAL (default the largest
#                           real one with GTP-U, $MCP_PCAPS/ndpi-zoom.pcap from nDPI's tests)
#                           repeated BENCH_TILES times (default 640) by bench/tile_pcap.c:
#                           stamps moved and, per copy, every unicast address (outer and
#                           GTP-U inner) shifted, so each copy is new conversations for both
#                           probes; FRAMES is not used. The stamp hashes tile_pcap.c.
# Sets PCAP and PCAP_FRAMES (its frame count). Returns non-zero (with a message) on failure.
bench_capture() {
	local gen=$B/gen_bench_pcap stamp want mix=${MIX:-${BENCH_MIX:-uniform}} old

	case "$mix" in
	uniform) PCAP=$B/bench-$FRAMES-$SUBS-$CONC.pcap old="$B/bench-[0-9]*.pcap" ;;
	mobile | short) PCAP=$B/bench-$mix-$FRAMES-$SUBS-$CONC.pcap old="$B/bench-$mix-*.pcap" ;;
	real)
		bench_real
		return
		;;
	*)
		echo "bench: unknown flow mix '$mix' (uniform, mobile, short or real)" >&2
		return 1
		;;
	esac
	PCAP_FRAMES=$FRAMES
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

# The real mix: BENCH_REAL tiled BENCH_TILES times (see the top of this file).
bench_real() {
	local src=${BENCH_REAL:-${MCP_PCAPS:-/work/shared/pcaps}/ndpi-zoom.pcap} tiles=${BENCH_TILES:-640}
	local tool=$B/tile_pcap want

	[ -r "$src" ] || {
		echo "bench: real capture $src missing (BENCH_REAL or MCP_PCAPS)" >&2
		return 1
	}
	mkdir -p "$B"
	if [ ! -x "$tool" ] || [ bench/tile_pcap.c -nt "$tool" ]; then
		${CC:-gcc} -O2 -g -Wall -Wextra -o "$tool" bench/tile_pcap.c -lpcap || {
			echo "bench: cannot build bench/tile_pcap.c" >&2
			return 1
		}
	fi
	PCAP=$B/real-$(basename "${src%.*}")-x$tiles.pcap
	want="$(sha256sum bench/tile_pcap.c "$src" | cut -c1-16 | tr '\n' ' ')$tiles"
	if [ ! -f "$PCAP" ] || [ "$(cat "$PCAP.stamp" 2>/dev/null)" != "$want" ]; then
		echo "bench: generating $PCAP ..."
		"$tool" "$src" "$PCAP" "$tiles" >"$PCAP.info" || {
			echo "bench: bench/tile_pcap failed" >&2
			return 1
		}
		echo "$want" >"$PCAP.stamp"
	fi
	PCAP_FRAMES=$(awk '{print $2}' "$PCAP.info")
}
