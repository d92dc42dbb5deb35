#!/usr/bin/env bash
# Runs every test: Criterion unit binaries and integration scripts (tests/it_*.sh, it_*.py),
# first on $BUILD, then (if SAN_BUILD is set) again on the ASan/UBSan build.
# Prints one line per test and a closing "N passed, N failed" line; exits non-zero on failure.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
pass=0
fail=0
failed=()
PY=/usr/bin/python3 # Debian's python with scapy, not whatever is first on PATH
# The shared captures sit beside the clone (CI: shared/ next to main/).
if [ -z "${MCP_PCAPS:-}" ]; then
	for d in ../shared/pcaps /work/shared/pcaps; do
		if [ -d "$d" ]; then
			MCP_PCAPS=$(cd "$d" && pwd)
			break
		fi
	done
fi
[ -n "${MCP_PCAPS:-}" ] || { echo "FAIL: no shared captures (../shared/pcaps); set MCP_PCAPS"; exit 1; }
export MCP_PCAPS

run_one() { # name, command...
	local name=$1
	shift
	local log
	log=$(mktemp)
	local t0=$SECONDS
	if "$@" >"$log" 2>&1; then
		pass=$((pass + 1))
		echo "PASS $name ($((SECONDS - t0))s)"
	else
		fail=$((fail + 1))
		failed+=("$name")
		echo "FAIL $name ($((SECONDS - t0))s)"
		sed 's/^/    /' "$log" | tail -n 60
	fi
	rm -f "$log"
}

run_suite() { # build dir, label
	local b=$1 label=$2
	for t in "$b"/tests/test_*; do
		[ -x "$t" ] || continue
		run_one "$label$(basename "$t")" "$t" --jobs 2
	done
	for t in tests/it_*.sh tests/it_*.py; do
		[ -f "$t" ] || continue
		case "$t" in
		*.sh) run_one "$label$(basename "$t")" env BUILD="$b" MCP_SAN="${label:+1}" bash "$t" ;;
		*.py) run_one "$label$(basename "$t")" env BUILD="$b" MCP_SAN="${label:+1}" $PY "$t" ;;
		esac
	done
}

run_suite "$BUILD" ""
if [ -n "${SAN_BUILD:-}" ]; then
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	run_suite "$SAN_BUILD" "asan+ubsan:"
fi

if [ ${#failed[@]} -gt 0 ]; then
	echo "failed: ${failed[*]}"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
