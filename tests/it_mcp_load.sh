#!/usr/bin/env bash
# it_mcp_load.sh - mcp-load on a real veth pair: attach (skb and native), status --json, pinned
# maps readable with bpftool (IMSI digits via BTF), GTP-U sent from a netns counted per
# subscriber and received on an AF_XDP socket with the metadata in front, second attach refused, stale-ABI pins refused, detach removes the pins, bad
# interface -> exit 2. Needs root, bpftool and /usr/bin/python3 with scapy.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
LOAD=$BUILD/mcp-load
PY=/usr/bin/python3
BPFTOOL=$(command -v bpftool || echo /usr/sbin/bpftool)
NS=mcpld$$
A=mcl$$a
B=mcl$$b
PIN=/sys/fs/bpf/mcprobe/$A
fails=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
die() { echo "FAIL: $*"; exit 1; }

cleanup() {
	[ -d "$PIN" ] && "$LOAD" detach "$A" >/dev/null 2>&1
	ip link del "$A" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
}
trap cleanup EXIT

[ "$(id -u)" = 0 ] || die "needs root"
[ -x "$LOAD" ] || die "$LOAD not built (make BUILD=$BUILD tools)"
[ -x "$BUILD/tests/tool_xsk_meta" ] || die "$BUILD/tests/tool_xsk_meta not built (make tests)"
[ -x "$BPFTOOL" ] || die "bpftool not found"
$PY -c 'import scapy' 2>/dev/null || die "scapy missing in $PY"

ip netns add "$NS" || die "cannot create netns"
ip link add "$A" type veth peer name "$B" || die "cannot create veth"
ip link set "$B" netns "$NS"
ip link set "$A" up
ip -n "$NS" link set "$B" up
AMAC=$(cat /sys/class/net/$A/address)

# --- attach (generic/skb mode), status, second attach refused
out=$("$LOAD" attach "$A" --mode skb --max-tunnels 4096 --max-subscribers 1024 \
	--max-flows 4096 --workers 4 2>&1) || die "attach skb: $out"
[ -d "$PIN" ] || fail "no pin directory $PIN"
for m in tunnels tunnel_index subscribers sub_counters sub_credit flows flow_hints capture capture_rings capture_slots capture_stats inline_ring xsks stats config prog; do
	[ -e "$PIN/$m" ] || fail "pin $m missing"
done
"$BPFTOOL" net show dev "$A" | grep -q "generic id" || fail "no generic XDP program on $A"

json=$("$LOAD" status "$A" --json) || fail "status --json failed"
echo "$json" | $PY -c '
import json, sys
s = json.load(sys.stdin)[0]
assert s["attached"] and s["mode"] == "skb" and s["workers"] == 4, s
for m in ("tunnels", "tunnel_index", "subscribers", "sub_counters", "sub_credit", "flows", "flow_hints", "capture", "capture_rings", "capture_slots", "capture_stats", "inline_ring", "xsks", "stats", "config"):
    assert m in s["maps"], m
assert s["maps"]["tunnels"]["max_entries"] == 4096 and s["maps"]["tunnels"]["entries"] == 0
assert s["maps"]["subscribers"]["max_entries"] == 1024
assert "rx" in s["counters"] and "trunc_gtpu" in s["counters"]
' || fail "status --json content: $json"

out=$("$LOAD" attach "$A" --mode skb 2>&1)
rc=$?
[ $rc = 2 ] || fail "second attach: exit $rc, want 2"
echo "$out" | grep -q "already attached" || fail "second attach message: $out"

# --- a subscriber and its uplink tunnel, written with bpftool like any script would
hexb() { $PY -c "import sys; print(' '.join('%02x' % b for b in bytes.fromhex(sys.argv[1])))" "$1"; }
info=$($PY -c '
import struct
def s(x, n): return x.encode().ljust(n, b"\0")
v = s("001010123456789", 16) + s("33612345678", 16) + s("", 20) + s("internet", 64)
v += bytes(32) + bytes([6, 2, 1, 0])
assert len(v) == 152
print(v.hex())')
"$BPFTOOL" map update pinned "$PIN/subscribers" key 7 0 0 0 value hex $(hexb "$info") ||
	fail "bpftool update subscribers"
"$BPFTOOL" map dump pinned "$PIN/subscribers" | grep -q '"imsi": "001010123456789"' ||
	fail "bpftool dump does not show the IMSI: $("$BPFTOOL" map dump pinned "$PIN/subscribers")"
tkey=$($PY -c '
import struct, socket
print((struct.pack("<II", 0x1234, 0) + bytes(10) + b"\xff\xff" + socket.inet_aton("10.0.0.2")).hex())')
"$BPFTOOL" map update pinned "$PIN/tunnels" key hex $(hexb "$tkey") value 7 0 0 0 0 5 3 0 ||
	fail "bpftool update tunnels"

# uplink GTP-U (TEID 0x1234 to 10.0.0.2) from the namespace; inner IP length 100
send_gtpu() { # count
	ip netns exec "$NS" $PY - "$B" "$AMAC" "$1" <<'PYEOF' || fail "scapy send"
import sys
from scapy.all import Ether, IP, UDP, TCP, Raw, sendp
from scapy.contrib.gtp import GTP_U_Header
inner = IP(src="192.168.1.10", dst="8.8.8.8") / TCP(sport=40000, dport=443) / Raw(b"x" * 60)
p = Ether(dst=sys.argv[2]) / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=2152, dport=2152) / \
    GTP_U_Header(teid=0x1234, gtp_type=255) / inner
sendp([p] * int(sys.argv[3]), iface=sys.argv[1], verbose=False)
PYEOF
}

# AF_XDP receive through the pinned xsks map: the metadata must be in front of each frame
check_xsk() { # label
	local out=$BUILD/it_mcp_load.$$.xsk
	"$BUILD/tests/tool_xsk_meta" "$A" 3 5000 >"$out" 2>&1 &
	local pid=$!
	for _ in $(seq 50); do grep -q ready "$out" 2>/dev/null && break; sleep 0.1; done
	send_gtpu 3
	wait $pid || fail "$1: AF_XDP socket did not get 3 T-PDUs: $(cat "$out")"
	n=$(grep -c 'magic=0x4d43 version=2 sub=7 dir=0 teid=0x1234 flags=0x4b worker=3 outer_l3=14 inner_l3=50 vlan=0' "$out")
	[ "$n" = 3 ] || fail "$1: metadata in front of the AF_XDP frames: $(cat "$out")"
	rm -f "$out"
}

# --- 5 uplink GTP-U packets, no socket yet: counted for subscriber 7 in the kernel, passed
send_gtpu 5
sleep 0.5
"$BPFTOOL" -j map lookup pinned "$PIN/sub_counters" key 7 0 0 0 | $PY -c '
import json, sys
d = json.load(sys.stdin)
vals = d["formatted"]["values"] if "formatted" in d else d["values"]
up = sum(v["value"]["pkts_up"] for v in vals)
b = sum(v["value"]["bytes_up"] for v in vals)
assert up == 5 and b == 5 * 100, (up, b)  # inner IP: 20 + 20 TCP + 60
' || fail "sub_counters for subscriber 7: $("$BPFTOOL" map lookup pinned "$PIN/sub_counters" key 7 0 0 0)"
"$LOAD" status "$A" --json | $PY -c '
import json, sys
c = json.load(sys.stdin)[0]["counters"]
assert c["known_tunnel"] == 5 and c["gtpu"] >= 5 and c["no_xsk"] >= 5 and c["rx"] >= 5, c
assert c["rx"] == c["redirected"] + c["bypassed"] + c["passed"] + c["dropped"], c
' || fail "status counters after traffic"

check_xsk skb

# --- pins from another map ABI are refused
cfg=$("$BPFTOOL" -j map lookup pinned "$PIN/config" key 0 0 0 0 | $PY -c '
import json, sys
d = json.load(sys.stdin)
v = bytes(int(x, 16) for x in d["value"])
print(" ".join("%02x" % b for b in (b"\x63\0\0\0" + v[4:])))')
"$BPFTOOL" map update pinned "$PIN/config" key 0 0 0 0 value hex $cfg || fail "bpftool update config"
out=$("$LOAD" status "$A" 2>&1)
rc=$?
[ $rc = 2 ] || fail "stale ABI: status exit $rc, want 2"
echo "$out" | grep -q "ABI 99" || fail "stale ABI message: $out"

# --- detach removes program and pins (ABI does not matter for detach)
"$LOAD" detach "$A" >/dev/null || fail "detach"
[ -e "$PIN" ] && fail "pins left after detach: $(ls "$PIN")"
"$BPFTOOL" net show dev "$A" | grep -q "id" && fail "program still attached after detach"

# --- native mode (veth supports driver XDP)
out=$("$LOAD" attach "$A" --mode native --workers 4 --max-tunnels 1024 --max-subscribers 1024 \
	--max-flows 1024 2>&1) || fail "attach native: $out"
"$BPFTOOL" net show dev "$A" | grep -q "driver id" || fail "no driver-mode program on $A"
"$BPFTOOL" map update pinned "$PIN/tunnels" key hex $(hexb "$tkey") value 7 0 0 0 0 5 3 0 ||
	fail "bpftool update tunnels (native)"
check_xsk native
"$LOAD" status "$A" --json | grep -q '"mode":"native"' || fail "status: mode native"
"$LOAD" detach "$A" >/dev/null || fail "detach native"
[ -e "$PIN" ] && fail "pins left after native detach"

# --- plain bpf_xdp_attach path
out=$("$LOAD" attach "$A" --mode skb --no-dispatcher --max-tunnels 1024 \
	--max-subscribers 1024 --max-flows 1024 2>&1) || fail "attach --no-dispatcher: $out"
"$LOAD" status "$A" --json | grep -q '"attach":"bpf_xdp_attach"' || fail "status: netlink attach"
"$LOAD" detach "$A" >/dev/null || fail "detach --no-dispatcher"
"$BPFTOOL" net show dev "$A" | grep -q "id" && fail "program still attached (netlink path)"

# --- errors: exit 2 with one line
out=$("$LOAD" attach mcpnosuch0 2>&1)
rc=$?
[ $rc = 2 ] || fail "bad iface: exit $rc, want 2"
echo "$out" | grep -q "no interface named" || fail "bad iface message: $out"
out=$("$LOAD" detach "$A" 2>&1)
rc=$?
[ $rc = 2 ] || fail "detach when not attached: exit $rc, want 2"
"$LOAD" attach "$A" --mode bogus >/dev/null 2>&1
[ $? = 2 ] || fail "bad --mode: want exit 2"

[ $fails = 0 ] && echo "it_mcp_load: all checks passed"
exit $fails
