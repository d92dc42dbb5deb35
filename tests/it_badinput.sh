#!/usr/bin/env bash
# it_badinput.sh - mcprobe -r on bad files and bad options (CLI spec: exit status 2 with a
# one-line error for bad input/options, nothing partial on stdout).
#
# Cases and the decided behaviour:
#   missing file, empty file, truncated global header, non-pcap file, unsupported link type
#   (147, DLT_USER0), unknown option, bad option values (-1, abc, empty, missing argument)
#     -> exit 2, exactly one line on stderr, nothing on stdout (we ask for --flows-json -
#        so any partial output would show up there).
#   a capture whose last packet record is cut off in the middle of its data
#     -> every packet before it is processed and exported, the truncation is reported on
#        stderr (a line containing "truncat"), exit 0: a capture cut by a full disk or a
#        killed tcpdump is normal input, not an error.
#   ndpi-fuzz-2021-06-07-c6c72a0a56.pcap (2 GiB wire length, bogus lengths) and every
#   capture in /work/shared/pcaps -> no crash: exit 0 (or 2 with one line), no sanitizer
#   report.
#   --help and --version -> exit 0 with output on stdout.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
M=$BUILD/mcprobe
PY=/usr/bin/python3
PCAPS=${MCP_PCAPS:-/work/shared/pcaps}
fails=0
pass=0
if [ ! -x "$M" ]; then
	echo "FAIL: $M not built"
	exit 1
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fails=$((fails + 1)); echo "FAIL $*"; }

# expect_err2 NAME ARGS... : exit 2, one stderr line, empty stdout
expect_err2() {
	local name=$1
	shift
	"$M" "$@" >"$T/out" 2>"$T/err"
	local rc=$?
	local nl
	nl=$(grep -c . "$T/err")
	if [ "$rc" -ne 2 ]; then
		bad "$name: exit $rc, want 2 (stderr: $(head -c 300 "$T/err"))"
	elif [ "$nl" -ne 1 ]; then
		bad "$name: $nl stderr lines, want 1: $(head -c 400 "$T/err" | tr '\n' '|')"
	elif [ -s "$T/out" ]; then
		bad "$name: wrote $(wc -c <"$T/out") bytes to stdout: $(head -c 200 "$T/out")"
	else
		ok "$name -> exit 2: $(cat "$T/err")"
	fi
}

# no_crash NAME ARGS... : exit 0 or 2, no signal, no sanitizer report
no_crash() {
	local name=$1
	shift
	"$M" "$@" >"$T/out" 2>"$T/err"
	local rc=$?
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ]; then
		bad "$name: exit $rc: $(tail -c 600 "$T/err")"
	elif grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$T/err"; then
		bad "$name: sanitizer report: $(grep -m3 -E 'Sanitizer|runtime error' "$T/err")"
	elif [ "$rc" -eq 2 ] && [ "$(grep -c . "$T/err")" -ne 1 ]; then
		bad "$name: exit 2 with $(grep -c . "$T/err") stderr lines"
	else
		ok "$name -> exit $rc"
	fi
}

# --- files ----------------------------------------------------------------------------------
: >"$T/empty.pcap"
printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00' >"$T/shorthdr.pcap"
printf 'This is not a capture file.\nJust text.\n' >"$T/text.pcap"
$PY - "$T" <<'EOF'
import struct, sys
t = sys.argv[1]
hdr = lambda lt: struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, lt)
def rec(ts, data):
	return struct.pack("<IIII", ts, 0, len(data), len(data)) + data
def dns(i):
	# Ethernet / IPv4 / UDP 5000+i -> 53, a small DNS-looking payload
	pl = struct.pack("!HHHHHH", 0x1000 + i, 0x0100, 1, 0, 0, 0) + b"\x07example\x03com\x00\x00\x01\x00\x01"
	udp = struct.pack("!HHHH", 5000 + i, 53, 8 + len(pl), 0) + pl
	ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i, 0, 64, 17, 0,
			 bytes([192, 0, 2, 1]), bytes([192, 0, 2, 53]))
	s = sum(struct.unpack("!10H", ip))
	s = (s & 0xFFFF) + (s >> 16); s = (s & 0xFFFF) + (s >> 16)
	ip = ip[:10] + struct.pack("!H", ~s & 0xFFFF) + ip[12:]
	return b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00" + ip + udp
open(t + "/linktype147.pcap", "wb").write(hdr(147) + rec(1, b"\x00" * 40))
full = hdr(1) + rec(1700000000, dns(1)) + rec(1700000001, dns(2)) + rec(1700000002, dns(3))
open(t + "/good3.pcap", "wb").write(full)
open(t + "/cut.pcap", "wb").write(full[:-20])   # third record: header whole, data cut
EOF

expect_err2 "missing file" -r "$T/does-not-exist.pcap" --flows-json -
expect_err2 "empty file" -r "$T/empty.pcap" --flows-json -
expect_err2 "truncated global header" -r "$T/shorthdr.pcap" --flows-json -
expect_err2 "non-pcap file" -r "$T/text.pcap" --flows-json -
expect_err2 "unsupported link type 147" -r "$T/linktype147.pcap" --flows-json -
expect_err2 "directory as file" -r "$T" --flows-json -

# --- options --------------------------------------------------------------------------------
G=$T/good3.pcap
expect_err2 "unknown option" -r "$G" --flows-json - --no-such-option
expect_err2 "unknown short option" -r "$G" --flows-json - -Z
expect_err2 "--idle-timeout -1" -r "$G" --flows-json - --idle-timeout -1
expect_err2 "--idle-timeout abc" -r "$G" --flows-json - --idle-timeout abc
expect_err2 "--idle-timeout 10x" -r "$G" --flows-json - --idle-timeout 10x
expect_err2 "--idle-timeout empty" -r "$G" --flows-json - --idle-timeout ""
expect_err2 "--active-timeout -5" -r "$G" --flows-json - --active-timeout -5
expect_err2 "--active-timeout abc" -r "$G" --flows-json - --active-timeout abc
expect_err2 "--max-flows abc" -r "$G" --flows-json - --max-flows abc
expect_err2 "--max-flows -3" -r "$G" --flows-json - --max-flows -3
expect_err2 "--max-flows 99999999999999999999" -r "$G" --flows-json - --max-flows 99999999999999999999
expect_err2 "-r without argument" -r
expect_err2 "--flows-json without argument" -r "$G" --flows-json
expect_err2 "--helper-cpus beyond the machine" -r "$G" --flows-json - --helper-cpus 4096
expect_err2 "--helper-cpus malformed" -r "$G" --flows-json - --helper-cpus 0-
expect_err2 "--helper-cpus reversed range" -r "$G" --flows-json - --helper-cpus 1-0
expect_err2 "--xsk-frames not a power of two" -r "$G" --flows-json - --xsk-frames 3000
expect_err2 "--xsk-frames below 2048" -r "$G" --flows-json - --xsk-frames 1024
expect_err2 "--xsk-frames beyond 1048576" -r "$G" --flows-json - --xsk-frames 2097152
expect_err2 "--xsk-frames abc" -r "$G" --flows-json - --xsk-frames abc

# --- sane ones ------------------------------------------------------------------------------
if "$M" --help >"$T/out" 2>"$T/err" && [ -s "$T/out" ]; then ok "--help"; else bad "--help: exit/empty"; fi
if "$M" --version >"$T/out" 2>"$T/err" && [ -s "$T/out" ]; then ok "--version: $(head -1 "$T/out")"; else bad "--version: exit/empty"; fi

"$M" -r "$G" --flows-json - >"$T/out" 2>"$T/err"
rc=$?
n=$(grep -c . "$T/out")
if [ $rc -eq 0 ] && [ "$n" -eq 3 ]; then ok "good 3-packet capture -> 3 flow records"; else
	bad "good 3-packet capture: exit $rc, $n records (want 0, 3): $(head -c 300 "$T/err")"; fi

# --- truncated last packet ------------------------------------------------------------------
"$M" -r "$T/cut.pcap" --flows-json - >"$T/out" 2>"$T/err"
rc=$?
n=$(grep -c . "$T/out")
if [ $rc -ne 0 ]; then
	bad "last packet cut off: exit $rc, want 0 (stderr: $(head -c 300 "$T/err"))"
elif [ "$n" -ne 2 ]; then
	bad "last packet cut off: $n flow records, want the 2 before the cut: $(head -c 400 "$T/out")"
elif ! grep -qi 'truncat' "$T/err"; then
	bad "last packet cut off: truncation not reported on stderr (got: $(head -c 300 "$T/err"))"
else
	ok "last packet cut off -> 2 records, exit 0, '$(grep -i -m1 truncat "$T/err")'"
fi

# --- fuzz and every real capture: no crash --------------------------------------------------
fz=$PCAPS/ndpi-fuzz-2021-06-07-c6c72a0a56.pcap
if [ -f "$fz" ]; then
	no_crash "ndpi fuzz capture" -r "$fz" --flows-json - --sessions-json "$T/s.json" --stats
else
	bad "missing $fz"
fi
nreal=0
for f in "$PCAPS"/*.pcap "$PCAPS"/*.pcapng; do
	[ -f "$f" ] || continue
	nreal=$((nreal + 1))
	no_crash "$(basename "$f")" -r "$f" --flows-json "$T/f.json" --sessions-json "$T/s.json" --stats
done
[ "$nreal" -gt 0 ] || bad "no captures found in $PCAPS"

echo "it_badinput: $pass passed, $fails failed"
[ "$fails" -eq 0 ]
