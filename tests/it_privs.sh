#!/usr/bin/env bash
# it_privs.sh - least privilege: capabilities, not uid 0; dropped once set up; no_new_privs.
#
#   - live capture as uid 65534 with the capabilities of docs/deploy.md (ambient, as systemd's
#     AmbientCapabilities= gives them) on a veth in a network namespace made here: it starts,
#     and once running every thread holds only CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN and
#     CAP_DAC_OVERRIDE (to detach its own program and remove its pins at exit; CAP_NET_RAW,
#     CAP_PERFMON, CAP_IPC_LOCK are gone), with no_new_privs set; SIGINT: exit 0, detached;
#   - the same uid without capabilities: refused in one line (exit 2);
#   - offline as root with --redis, reading a FIFO so the run can be looked at: no thread (the
#     microcloud writer, created before the main thread drops, drops its own when it starts)
#     holds a capability, all have no_new_privs.
#   - --redis-auth-file: a missing file is one line and exit 2.
# Run as root under flock /tmp/mcp-net.lock (it creates a namespace and a veth pair).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
MCP=$BUILD/mcprobe

fail() {
	echo "FAIL: $*"
	exit 1
}
[ "$(id -u)" -eq 0 ] || fail "needs root (creates a network namespace and grants capabilities)"
for t in ip nsenter setpriv capsh; do
	command -v "$t" >/dev/null || fail "missing tool: $t"
done
[ -x "$MCP" ] || fail "$MCP not built"

ID=$$
NS=mcppriv$ID
IF=mpv${ID}a
PEER=mpv${ID}b
TMP=$(mktemp -d)
chmod 755 "$TMP"
PID=
cleanup() {
	[ -n "$PID" ] && kill -KILL "$PID" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "/sys/fs/bpf/mcprobe/$IF" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

# Capability mask of a /proc status line (CapEff/CapPrm) -> names, for messages.
caps_of() { capsh --decode="$1" | sed 's/.*=//'; }
# Every thread of PID: "CapEff NoNewPrivs" lines.
thread_privs() {
	for t in /proc/"$1"/task/*; do
		awk '/^CapEff/ {e=$2} /^NoNewPrivs/ {n=$2} END {print e, n}' "$t/status"
	done
}

ip netns add "$NS" || fail "ip netns add"
ip link add "$IF" type veth peer name "$PEER" || fail "ip link add veth"
ip link set "$IF" netns "$NS" && ip link set "$PEER" netns "$NS" || fail "move veth"
ip -n "$NS" link set "$IF" up && ip -n "$NS" link set "$PEER" up || fail "veth up"
INNS=(nsenter --net=/run/netns/"$NS")
AS_NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
# what docs/deploy.md lists for a probe that attaches its own program (libxdp's dispatcher
# needs CAP_PERFMON to load and CAP_SYS_ADMIN to look programs up by id)
CAPS=+net_admin,+net_raw,+bpf,+perfmon,+sys_admin,+ipc_lock,+dac_override

# --- live as uid 65534 with ambient capabilities ---
"${INNS[@]}" "${AS_NOBODY[@]}" --inh-caps=$CAPS --ambient-caps=$CAPS \
	"$MCP" -v -i "$IF" --flows-json "$TMP/flows.json" 2>"$TMP/live.err" &
PID=$!
ok=0
for _ in $(seq 1 200); do
	grep -q "live capture running" "$TMP/live.err" 2>/dev/null && { ok=1; break; }
	kill -0 "$PID" 2>/dev/null || break
	sleep 0.1
done
[ $ok -eq 1 ] || fail "live as uid 65534 with capabilities did not start: $(cat "$TMP/live.err")"
[ "$(awk '/^Uid/ {print $3}' /proc/$PID/status)" = 65534 ] || fail "not running as uid 65534"
# bpf, sys_admin, net_admin, dac_override
want=$(printf '%016x' $(((1 << 39) | (1 << 21) | (1 << 12) | (1 << 1))))
bad=0
while read -r eff nnp; do
	if [ "$eff" != "$want" ] || [ "$nnp" != 1 ]; then
		echo "  thread: CapEff $eff ($(caps_of "$eff")), NoNewPrivs $nnp"
		bad=1
	fi
done < <(thread_privs "$PID")
[ $bad -eq 0 ] || fail "live: a thread holds other than $(caps_of "$want") or lacks no_new_privs"
echo "ok   live as uid 65534: $(ls /proc/$PID/task | wc -l) threads hold $(caps_of "$want"), no_new_privs"
kill -INT "$PID"
wait "$PID"
rc=$?
PID=
[ $rc -eq 0 ] || fail "live: exit $rc after SIGINT: $(tail -3 "$TMP/live.err")"
ip -n "$NS" link show "$IF" | grep -q "xdp" && fail "live: XDP still attached after exit"
[ -e "/sys/fs/bpf/mcprobe/$IF" ] && fail "live: pins left in /sys/fs/bpf/mcprobe/$IF"
echo "ok   live as uid 65534: SIGINT -> exit 0, program detached, pins removed"

# --- the same uid without capabilities ---
"${INNS[@]}" "${AS_NOBODY[@]}" "$MCP" -i "$IF" 2>"$TMP/nocap.err"
rc=$?
[ $rc -eq 2 ] && grep -q "needs CAP_NET_ADMIN, CAP_NET_RAW and CAP_BPF" "$TMP/nocap.err" &&
	[ "$(wc -l <"$TMP/nocap.err")" -eq 1 ] ||
	fail "uid 65534 without capabilities: exit $rc: $(cat "$TMP/nocap.err")"
echo "ok   uid 65534 without capabilities -> exit 2: $(cat "$TMP/nocap.err")"

# --- offline as root: no capability left once reading ---
mkfifo "$TMP/in.fifo"
"$MCP" -r "$TMP/in.fifo" --flows-json "$TMP/off.json" --redis 127.0.0.1:1 --no-reload \
	2>"$TMP/off.err" &
PID=$!
exec 7>"$TMP/in.fifo" # opens once the probe opened its end
printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\0\0\0\0\0\0\0\0\xff\xff\0\0\x01\0\0\0' >&7
sleep 0.5
thread_privs "$PID" >"$TMP/off.privs"
exec 7>&-
wait "$PID"
rc=$?
PID=
nthr=$(wc -l <"$TMP/off.privs")
[ "$nthr" -ge 2 ] && ! grep -qv '^0000000000000000 1$' "$TMP/off.privs" ||
	fail "offline as root: threads' CapEff/NoNewPrivs: $(tr '\n' ' ' <"$TMP/off.privs")"
# Redis is down (port 1): the run exits 1 with the writes lost, as documented
[ $rc -eq 1 ] && grep -q "writes lost" "$TMP/off.err" ||
	fail "offline: exit $rc: $(cat "$TMP/off.err")"
echo "ok   offline as root: none of $nthr threads holds a capability once reading, no_new_privs"

# --- --redis-auth-file ---
"$MCP" -r "$TMP/off.json" --redis 127.0.0.1:1 --redis-auth-file "$TMP/nosuch" 2>"$TMP/af.err"
rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <"$TMP/af.err")" -eq 1 ] ||
	fail "--redis-auth-file missing: exit $rc: $(cat "$TMP/af.err")"
echo "ok   --redis-auth-file missing -> exit 2: $(cat "$TMP/af.err")"
echo "PASS"
