#!/bin/bash
# PID 1 of the stock-kernel lane's guest (started by the initrd, see tests/vm/run.sh).
# Mounts the pseudo file systems, loads br_netfilter, runs the command that
# tests/vm/run.sh left in /run/brflow-vm/cmd from the repository directory, prints
# "BRFLOW-VM-EXIT=<status>" on the console (the host parses it) and powers off.
# As PID 1 this shell also reaps orphans (a detached brflowd that exits), which its
# "wait" does for any child.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb LANG=C.UTF-8

finish() {
	echo "BRFLOW-VM-EXIT=$1"
	sync
	echo o >/proc/sysrq-trigger
	sleep 30
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
[ -d /sys/fs/cgroup ] && mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
ln -sfn /proc/self/fd /dev/fd 2>/dev/null
hostname brflow-vm
ip link set lo up

# shellcheck source=/dev/null
. /run/brflow-vm/vm.conf	# REPO, and the BF_* settings passed through
if ! modprobe br_netfilter; then
	echo "vm: modprobe br_netfilter failed"
fi
# what systemd/brflow-modules.conf loads on a host: the NAT halves of the
# conntrack helpers are not loaded on demand by the helper objects
for m in nf_nat_ftp nf_nat_tftp nf_nat_sip; do
	modprobe "$m" || echo "vm: modprobe $m failed"
done
echo "# vm: kernel $(uname -r), $(nproc) CPUs, repo $REPO"
cd "$REPO" || finish 125

bash /run/brflow-vm/cmd </dev/null &
cmd_pid=$!
wait "$cmd_pid"
finish $?
