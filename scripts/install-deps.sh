#!/bin/bash
# Installs the Debian packages brflow needs to build, run and test.
# Usage: scripts/install-deps.sh [--no-update]   (as root; never prompts)
set -euo pipefail

PACKAGES=(
	# build
	build-essential pkg-config
	libnftnl-dev libmnl-dev libnetfilter-conntrack-dev libnfnetlink-dev
	libnetfilter-queue-dev libsystemd-dev libndpi-dev
	# run and look (the product never calls these; tests and humans do)
	nftables conntrack iproute2 kmod procps
	# netns test suite and demo traffic
	netcat-openbsd socat curl python3 iputils-ping
	# `man -l man/...`
	man-db
	# DPI scenarios and benchmark (tests/netns/20-dpi-*, tests/bench/dpi.sh): TLS with
	# SNI, DNS queries, raw malformed packets, throughput
	openssl bind9-dnsutils python3-scapy iperf3
	# performance benchmark (tests/bench/perf.sh): the same policy as linear iptables
	# rules (iptables-restore, -m physdev/conntrack), inside the bench's namespaces only
	iptables
	# NAT/ALG scenarios (tests/netns/31-alg-*): the FTP server OVS's tests use and a TFTP
	# server (both run only inside the tests' namespaces; curl is the client)
	python3-pyftpdlib tftpd-hpa
	# stateless NAT (tests/netns/33-nat-stateless): the receiving host's capture checks
	# the rewritten packets' checksums
	tcpdump
)

update=1
for arg in "$@"; do
	case "$arg" in
	--no-update) update=0 ;;
	-h|--help)
		echo "usage: $0 [--no-update]"
		exit 0 ;;
	*)
		echo "install-deps.sh: unknown option '$arg'" >&2
		exit 2 ;;
	esac
done

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps.sh: must run as root (try: sudo $0)" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

if [ "$update" = 1 ]; then
	echo "install-deps: apt-get update"
	apt-get update -q </dev/null
fi
# Servers the tests need (tftpd-hpa) must not start in the root namespace:
# keep services from starting while we install, unless a policy exists.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	own_policy=1
fi
trap '[ "$own_policy" = 1 ] && rm -f "$policy"' EXIT
echo "install-deps: apt-get install ${PACKAGES[*]}"
apt-get install "${APT_OPTS[@]}" --no-install-recommends "${PACKAGES[@]}" </dev/null
