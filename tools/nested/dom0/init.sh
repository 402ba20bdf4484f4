#!/bin/busybox sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# /init of dom0 in the nested environment: mounts, brings up Xen's toolstack
# (the part of xencommons the scenarios need), runs the scenario named by
# nested.scenario= on the kernel command line, and then, however that went,
# sends every guest console log and the scenario's own files to the host
# harness through the console and powers the machine off (or stops the
# hardware domain, which makes Xen halt it).
/bin/busybox --install -s /bin
set -eu
export PATH=/bin:/sbin:/usr/bin:/usr/sbin:/usr/lib/xen-4.17/bin
. /lib/nested/lib.sh

# Files the scenario wants the harness to keep go here.
OUT=/tmp/nested-out
# A scenario whose driver domain is the hardware domain leaves its name here:
# dom0 then ends the run with `xl shutdown` of it (after sending the logs),
# and Xen halts the machine, which the harness takes as the normal end.
STOP_HWDOM=/tmp/nested-stop-hwdom

finish() {
    status=$1
    trap - EXIT
    set +e
    # Kernel messages printed from now on would land in the middle of the files.
    dmesg -n 1
    for log in /var/log/xen/console/guest-*.log; do
        [ -e "$log" ] || continue
        name=${log##*/guest-}
        emit_file "console-${name%.log}" "$log"
    done
    for f in "$OUT"/*; do
        [ -e "$f" ] && emit_file "${f##*/}" "$f"
    done
    echo "NESTED-DONE status=$status"
    sync
    if [ -s "$STOP_HWDOM" ]; then
        hwdom=$(cat "$STOP_HWDOM")
        mark "shutdown-$hwdom"
        xl shutdown "$hwdom"
        # Xen halts the machine as soon as the hardware domain stops; if it
        # does not stop, the machine powers off without it.
        sleep 10
        mark "still-running-$hwdom"
    fi
    poweroff -f
}
trap 'finish $?' EXIT

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /tmp /var/run/xen /var/lib/xen /var/log/xen/console
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mkdir -p "$OUT"
mark dom0-init

# The toolstack, as xencommons starts it: the kernel's Xen device drivers
# (pciback too, for `xl pci-assignable-add`), xenfs, the C xenstored,
# dom0's own XenStore entries, and xenconsoled logging every guest console
# to /var/log/xen/console/guest-<name>.log.
for m in xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xenfs xen-pciback; do
    modprobe "$m"
done
mount -t xenfs xenfs /proc/xen
xenstored --pid-file /var/run/xen/xenstored.pid
wait_until 10 test -S /var/run/xenstored/socket
xen-init-dom0
xenconsoled --pid-file=/var/run/xen/xenconsoled.pid --log=guest --log-dir=/var/log/xen/console
mark toolstack-up
result xen-version "$(xl info | sed -n 's/^xen_version *: //p')"
result xsm "$(xl info | sed -n 's/^xen_commandline *: //p' | grep -o 'xsm=[a-z]*' || echo none)"

SCENARIO=$(sed -n 's/.*nested\.scenario=\([^ ]*\).*/\1/p' /proc/cmdline)
mark "scenario-$SCENARIO"
/nested/scenarios/"$SCENARIO".sh
mark "scenario-$SCENARIO-done"
