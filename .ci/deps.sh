#!/usr/bin/env bash
# Installs every build, test, bench and demo dependency from Debian packages. Idempotent:
# apt-get runs only when a package is missing.
set -euo pipefail
pkgs=(build-essential pkg-config clang llvm lld libpcap-dev libndpi-dev libgcrypt20-dev libndpi-bin
	libbpf-dev libxdp-dev xdp-tools bpftool libelf-dev zlib1g-dev libhiredis-dev
	libjson-c-dev libxxhash-dev libnghttp2-dev libcap-dev libssl-dev libcriterion-dev libfuzzer-14-dev libclang-rt-14-dev
	tshark tcpreplay redis-server redis-tools python3-scapy python3-redis python3-cryptography python3-hpack softflowd nfdump
	iproute2 ethtool time procps)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null
	apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
# bpffs for pinned maps (XDP tests, mcp-load).
if ! mountpoint -q /sys/fs/bpf 2>/dev/null; then
	mount -t bpf bpf /sys/fs/bpf 2>/dev/null || echo "deps: could not mount bpffs on /sys/fs/bpf" >&2
fi
exit 0
