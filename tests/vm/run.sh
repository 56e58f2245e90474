#!/bin/bash
# tests/vm/run.sh CMD...: runs CMD as root inside Debian's stock kernel under QEMU (TCG),
# from the repository directory, and exits with CMD's exit status.
#
# The guest sees the host's root file system through 9p, read-only on the host side,
# under a tmpfs overlay (writes stay in the guest), with fresh tmpfs on /tmp, /run and
# /var/lib/brflow.  Nothing is compiled inside: build on the host first.  The guest's
# console is printed live; the guest init prints "BRFLOW-VM-EXIT=N" after CMD, which
# becomes this script's exit status.
#
# Exit status: CMD's; 77 when a needed package is missing (skip); 124 on timeout;
# 125 when the VM failed before or without reporting CMD's status.
#
# Environment:
#   BRFLOW_VM_TIMEOUT  seconds for the whole run, boot included (default 2400)
#   BRFLOW_VM_KERNEL   kernel version to boot (default: the newest /boot/vmlinuz-*-amd64)
#   BRFLOW_VM_MEM      guest memory in MB (default 2048)
#   BRFLOW_VM_SMP      guest CPUs (default 2)
#   BF_*               passed through to the guest (e.g. BF_TEST_TIMEOUT)
set -u

# One brace group: bash parses all of it before running, so editing this file while a
# run is under way (a run lasts many minutes) cannot derail that run.
{
REPO=$(cd "$(dirname "$0")/../.." && pwd -P) || exit 125
TIMEOUT=${BRFLOW_VM_TIMEOUT:-2400}
INIT_MODULES="virtio_pci 9pnet_virtio 9p overlay"

die() {
	echo "vm: $*" >&2
	exit 125
}

if [ $# -eq 0 ]; then
	echo "usage: tests/vm/run.sh CMD [ARG...]" >&2
	exit 2
fi
[ "$(id -u)" -eq 0 ] || die "needs root (reads /boot/vmlinuz-*, runs the suite as root)"
[[ $TIMEOUT =~ ^[0-9]+$ ]] && [ "$TIMEOUT" -gt 0 ] || die "BRFLOW_VM_TIMEOUT must be a positive number of seconds, not '$TIMEOUT'"
case "$REPO/" in
/tmp/* | /run/* | /proc/* | /sys/* | /dev/*) die "the repository ($REPO) must not live under /tmp, /run, /proc, /sys or /dev: the guest mounts its own there" ;;
esac

# pick_kernel: prints the version of the stock kernel to boot, or nothing.
pick_kernel() {
	local k v
	if [ -n "${BRFLOW_VM_KERNEL:-}" ]; then
		echo "$BRFLOW_VM_KERNEL"
		return
	fi
	for k in /boot/vmlinuz-*-amd64; do
		[ -f "$k" ] || continue
		v=${k#/boot/vmlinuz-}
		[ -d "/lib/modules/$v" ] && echo "$v"
	done | sort -V | tail -1
}

# Missing tools are one skip line naming the Debian packages to install.
missing=()
QEMU=$(command -v qemu-system-x86_64) || missing+=(qemu-system-x86)
KVER=$(pick_kernel)
KERNEL=/boot/vmlinuz-$KVER
{ [ -n "$KVER" ] && [ -f "$KERNEL" ] && [ -d "/lib/modules/$KVER" ]; } || missing+=(linux-image-amd64)
BUSYBOX=$(command -v busybox)
{ [ -n "$BUSYBOX" ] && LC_ALL=C ldd "$BUSYBOX" 2>&1 | grep -q 'not a dynamic'; } || missing+=(busybox-static)
command -v cpio >/dev/null || missing+=(cpio)
if [ ${#missing[@]} -gt 0 ]; then
	echo "skip: the stock-kernel VM lane needs: apt-get install ${missing[*]}"
	exit 77
fi

tmp=$(mktemp -d /tmp/brflow-vm-XXXXXX) || die "cannot make a temp dir"
qpid=
cleanup() {
	[ -n "$qpid" ] && kill "$qpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "vm: interrupted"; exit 130' INT TERM

# build_initrd: static busybox, the modules to reach the 9p root, /init, the command.
build_initrd() {
	local d=$tmp/initrd m ko name n=0
	mkdir -p "$d/bin" "$d/lib/modules" || return 1
	cp "$BUSYBOX" "$d/bin/busybox" || return 1
	cp "$REPO/tests/vm/initrd-init" "$d/init" && chmod 0755 "$d/init" || return 1
	: >"$d/modules"
	for m in $INIT_MODULES; do
		modprobe -S "$KVER" --show-depends "$m" >"$tmp/deps" 2>&1 ||
			{ echo "vm: modprobe -S $KVER --show-depends $m: $(head -1 "$tmp/deps")"; return 1; }
		while read -r cmd ko _; do
			[ "$cmd" = insmod ] || continue	# "builtin NAME" needs nothing
			name=$(basename "$ko")
			name=${name%.xz}
			name=${name%.zst}
			grep -qx "/lib/modules/$name" "$d/modules" && continue
			case "$ko" in
			*.xz) xz -dc "$ko" >"$d/lib/modules/$name" ;;
			*.zst) zstd -qdc "$ko" >"$d/lib/modules/$name" ;;
			*) cp "$ko" "$d/lib/modules/$name" ;;
			esac || { echo "vm: cannot copy $ko"; return 1; }
			echo "/lib/modules/$name" >>"$d/modules"
			n=$((n + 1))
		done <"$tmp/deps"
	done
	# The command runs under bash inside; quoted here so any argument survives.
	{
		printf 'exec'
		printf ' %q' "$@"
		printf '\n'
	} >"$d/cmd"
	{
		printf 'REPO=%q\n' "$REPO"
		printf 'GUEST_INIT=%q\n' "$REPO/tests/vm/guest-init.sh"
		for v in "${!BF_@}"; do
			printf 'export %s=%q\n' "$v" "${!v}"
		done
	} >"$d/vm.conf"
	(cd "$d" && find . | cpio -o -H newc --quiet) >"$tmp/initrd.cpio" || return 1
}

build_initrd "$@" || die "cannot build the initrd"
echo "# vm: booting $KERNEL under TCG (timeout ${TIMEOUT}s): $*"

mkfifo "$tmp/console" || die "cannot make a fifo"
timeout -k 10 "$TIMEOUT" "$QEMU" -accel tcg,thread=multi -cpu max \
	-m "${BRFLOW_VM_MEM:-2048}" -smp "${BRFLOW_VM_SMP:-2}" -nographic -no-reboot \
	-kernel "$KERNEL" -initrd "$tmp/initrd.cpio" \
	-append "console=ttyS0 quiet panic=-1 rdinit=/init" \
	-fsdev local,id=r,path=/,security_model=none,readonly=on,multidevs=remap \
	-device virtio-9p-pci,fsdev=r,mount_tag=root \
	-nic none </dev/null >"$tmp/console" 2>&1 &
qpid=$!
start=$SECONDS
# The serial console ends lines with CR LF; the firmware clears the screen.
sed -u -e 's/\r$//' -e 's/\x1b[[][0-9;?]*[a-zA-Z]//g' -e 's/\x1bc//g' <"$tmp/console" | tee "$tmp/log"
wait "$qpid"
qrc=$?
qpid=
elapsed=$((SECONDS - start))

if [ $qrc -eq 124 ] || [ $qrc -eq 137 ]; then
	echo "vm: timed out after ${TIMEOUT}s (BRFLOW_VM_TIMEOUT); qemu killed"
	exit 124
fi
rc=$(grep -a -E '^BRFLOW-VM-EXIT=[0-9]+$' "$tmp/log" | tail -1 | cut -d= -f2)
if [ -z "$rc" ]; then
	echo "vm: the guest stopped without reporting an exit status (qemu exited $qrc after ${elapsed}s)"
	exit 125
fi
echo "# vm: guest finished in ${elapsed}s, command exited $rc"
exit "$rc"
}
