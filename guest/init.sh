#!/bin/busybox sh
# /init of the test guest: mount what the tests use, run /cmd.sh, dump the
# kernel log between markers for the host to scan, then end the VM.
/bin/busybox --install -s /bin
export PATH=/opt/tophash:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t debugfs debugfs /sys/kernel/debug
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
cd /opt/tophash
# the host checks that the guest has the CPUs it asked for
echo "TOPHASH-NPROC=$(nproc)"
echo "TOPHASH-BEGIN"
sh /cmd.sh
rc=$?
echo "TOPHASH-DMESG-BEGIN"
dmesg
echo "TOPHASH-DMESG-END"
echo "TOPHASH-EXIT=$rc"
reboot -f
