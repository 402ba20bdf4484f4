#!/bin/busybox sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# /init of the Linux PV guests of the nested scenarios. nested.guest= on the
# kernel command line picks what the guest does:
#   pcifront  loads xen-pcifront, records what it sees of its PCI devices
#             (`lspci -nn -vvv -xxxx`, and the cfgread timing loop with
#             nested.samples= reads per device), then powers off; with
#             nested.stay=1 it stays up instead, reporting each change of
#             its PCI bus (hot-unplug, hot-plug) until it is destroyed; with
#             nested.driver=<module> it then loads that driver, brings its
#             network interfaces up, records lspci again and the interrupts
#             they took (MSI-X through the backend), and unloads it; then
#             it reads that NIC's I/O BAR (the ports the backend must have
#             given it) and binds each device left without a driver to
#             uio_pci_generic, which requests its INTx (the PIRQ the backend
#             must have mapped), and unbinds it; with nested.bench=1 it
#             runs the benchmark's steps (bench below) before the driver
#   idle      reports that it is up and waits to be destroyed
/bin/busybox --install -s /bin
set -eu
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
. /lib/nested/lib.sh

# PID 1 must not exit: on any failure say so and power off instead.
trap 'echo "NESTED-RESULT guest-failed status=$?"; poweroff -f' EXIT

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
arg() { sed -n "s/.*nested\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }

# io_bar DEVICE: the index of its first I/O BAR (sysfs `resource`: start,
# end, flags; IORESOURCE_IO is 0x100), if it has one.
io_bar() {
    index=0
    while read -r start _ flags && [ "$index" -le 5 ]; do
        if [ "$((start))" != 0 ] && [ "$((flags & 0x100))" != 0 ]; then
            echo "$index"
            return 0
        fi
        index=$((index + 1))
    done < "/sys/bus/pci/devices/$1/resource"
    return 1
}

# intx DEVICE: binds uio_pci_generic to DEVICE and reports what its INTx
# became, then unbinds it. Enabling the device, Linux's pcifront binds the
# number it reads in the interrupt line as the GSI's PIRQ ("Xen PCI mapped
# GSI<n> to IRQ<m>"); requesting the IRQ binds that PIRQ to an event channel
# (EVTCHNOP_bind_pirq), which Xen refuses unless the backend mapped it into
# this guest ("Failed to obtain physical IRQ <m>"). No interrupt is raised:
# uio_pci_generic masks INTx with the command register's Interrupt Disable,
# which pciback keeps virtual, so a level interrupt nobody acknowledges in
# the device would come back for ever.
intx() {
    sysfs=/sys/bus/pci/devices/$1
    echo uio_pci_generic > "$sysfs/driver_override"
    echo "$1" > /sys/bus/pci/drivers_probe || true
    driver=$(basename "$(readlink "$sysfs/driver" 2>/dev/null)" 2>/dev/null || echo none)
    irq=$(cat "$sysfs/irq")
    mapped=$(dmesg | sed -n "s/.*$1: Xen PCI mapped GSI\([0-9]*\) to IRQ[0-9]*\$/\1/p" | tail -n 1)
    if dmesg | grep -q "Failed to obtain physical IRQ $irq\$"; then bound=no; else bound=yes; fi
    chip=$(awk -v irq="$irq:" '$1 == irq { for (f = 2; f <= NF && $f ~ /^[0-9]+$/; f++); print $f $(f + 1) "," $(f + 2) }' /proc/interrupts)
    [ "$driver" != uio_pci_generic ] || echo "$1" > /sys/bus/pci/drivers/uio_pci_generic/unbind
    echo > "$sysfs/driver_override"
    result intx "$1" driver="$driver" gsi="${mapped:-none}" bound="$bound" interrupt="${chip:-none}"
}
# The benchmark (`cargo xtask bench`), one step at a time, each started by
# dom0 so that it can read Xen's counters and the backend's around it:
# the guest writes the step's name to its `data/bench`, waits for dom0 to
# write the same to `data/bench-go` (dom0 answers `skip` for a step that
# does not apply), runs it, and writes the name to `data/bench-done`.
# Steps: the four op workloads on every device (cfgread: read0, dump,
# status, write), `floor` (read0 again, while the driver domain answers
# reads without touching the device), and `evtping` (event-channel round
# trips to the domain dom0 names in `data/bench-remote`, which echoes).
bench_go() { [ "$(xenstore-read data/bench-go 2>/dev/null)" = "$1" ] || [ "$(xenstore-read data/bench-go 2>/dev/null)" = skip ]; }
bench_step() {
    xenstore-write data/bench "$1"
    wait_until 300 bench_go "$1" || { result bench-stalled "$1"; exit 1; }
    [ "$(xenstore-read data/bench-go)" = "$1" ]
}
bench_done() {
    mark "bench-done-$1"
    xenstore-write data/bench-go - data/bench-done "$1"
}
bench() {
    for workload in read0 dump status write floor; do
        kind=$workload samples=500
        case $workload in
        read0) samples=1000 ;;
        dump) samples=2 ;;
        floor) kind=read0 ;;
        esac
        if bench_step $workload; then
            for dev in "$@"; do
                result $(cfgread "$dev" "$samples" $kind | sed "s/^roundtrip $kind /roundtrip $workload /")
            done
            result bench-timeouts "$workload $(dmesg | grep -c 'pciback not responding')"
        fi
        bench_done $workload
    done
    if bench_step evtping; then
        modprobe xen-evtchn
        rm -f /tmp/evtping.port
        evtping "$(xenstore-read data/bench-remote)" 500 /tmp/evtping.port > /tmp/evtping.out &
        ping=$!
        port_written() { [ -s /tmp/evtping.port ]; }
        wait_until 30 port_written || { result bench-stalled evtping-port; exit 1; }
        xenstore-write data/bench-port "$(cat /tmp/evtping.port)"
        echoing() { [ "$(xenstore-read data/bench-echoing 2>/dev/null)" = 1 ]; }
        wait_until 60 echoing || { result bench-stalled evtping-echo; exit 1; }
        kill -USR1 $ping
        wait $ping
        result $(cat /tmp/evtping.out)
    fi
    bench_done evtping
}

ROLE=$(arg guest)
result guest-up "role=$ROLE type=$(cat /sys/hypervisor/guest_type) kernel=$(uname -r)"

case "$ROLE" in
pcifront)
    # modprobe returns only once the frontend has connected (or after a
    # long xenbus timeout), so load it aside and watch the PCI bus instead.
    modprobe xen-pcifront &
    devices() { echo $(ls /sys/bus/pci/devices); }
    has_devices() { [ -n "$(devices)" ]; }
    if ! wait_until 90 has_devices; then
        result pcifront-devices none
        dmesg | grep -iE 'pcifront|xenbus' > /tmp/dmesg-pcifront.txt || true
        emit_file dmesg-pcifront /tmp/dmesg-pcifront.txt
        exit 1
    fi
    sleep 1 # let the frontend finish adding the rest of the bus
    seen=$(devices)
    result pcifront-devices $seen
    lspci -nn -vvv -xxxx > /tmp/lspci.txt
    emit_file lspci /tmp/lspci.txt
    for dev in $seen; do
        result $(cfgread "$dev" "$(arg samples)")
    done
    # What the kernel said about its PCI bus (resources, frontend errors)
    # and the memory map its BARs must fit in.
    dmesg | grep -iE 'pci|xenbus|e820|Xen: \[mem' > /tmp/dmesg-pci.txt || true
    emit_file dmesg-pci /tmp/dmesg-pci.txt
    [ "$(arg bench)" != 1 ] || bench $seen
    driver=$(arg driver)
    if [ -n "$driver" ]; then
        # A real driver on one of the devices: it enables it, maps its BARs
        # and asks the backend for MSI-X (or MSI) vectors.
        modprobe "$driver"
        has_interfaces() { ls /sys/class/net | grep -qv '^lo$'; }
        wait_until 30 has_interfaces || { result driver-bound none; exit 1; }
        interfaces=$(ls /sys/class/net | grep -v '^lo$')
        for interface in $interfaces; do
            ip link set "$interface" up
        done
        # Its link interrupt, and the watchdog's, come within a few seconds.
        sleep 3
        for interface in $interfaces; do
            result driver-bound "$interface" driver=$(basename "$(readlink /sys/class/net/$interface/device/driver)") \
                device=$(basename "$(readlink /sys/class/net/$interface/device)") \
                operstate=$(cat /sys/class/net/$interface/operstate) \
                interrupts=$(awk -v i="$interface" '$0 ~ i { for (f = 2; f <= NF && $f ~ /^[0-9]+$/; f++) n += $f } END { print n + 0 }' /proc/interrupts)
        done
        grep -E "$(echo $interfaces | tr ' ' '|')" /proc/interrupts > /tmp/interrupts.txt || true
        emit_file interrupts /tmp/interrupts.txt
        lspci -nn -vvv -xxxx > /tmp/lspci-driver.txt
        emit_file lspci-driver /tmp/lspci-driver.txt
        # Unloaded again: the driver turns its interrupts off through the
        # backend, and nothing runs on the devices when they are unplugged.
        devices=$(for interface in $interfaces; do basename "$(readlink /sys/class/net/$interface/device)"; done)
        modprobe -r "$driver"
        for dev in $devices; do
            result driver-unloaded "$dev" $(lspci -vvv -s "${dev#0000:}" | grep -oE 'MSI-?X?: Enable[+-]' | tr -d ' ')
        done
        # The NIC's I/O BAR (e1000e: IOADDR at 0 selects a register, IODATA
        # at 4 reads it; Intel 82574 datasheet): select RAL0 (0x5400, the
        # first four bytes of the MAC address, which the device reloads at
        # every reset and nothing else changes; STATUS would not do: the
        # link comes up again after the unload's reset at a time of its own),
        # read the selection back and RAL0 through it and through memory
        # BAR 0. Without the ports the guest reads all ones.
        for dev in $devices; do
            io=$(io_bar "$dev") || continue
            result ioport "$dev" bar="$io" ioaddr="$(bar "$dev" "$io" 0 0x5400)" \
                iodata="$(bar "$dev" "$io" 4)" mmio="$(bar "$dev" 0 0x5400)"
        done
        modprobe uio_pci_generic
        for dev in $seen; do
            [ -e "/sys/bus/pci/devices/$dev/driver" ] || intx "$dev"
        done
    fi
    if [ "$(arg stay)" = 1 ]; then
        result pcifront-recorded
        # Until destroyed: number and report each change of the bus, and
        # read each device that arrives (a few reads, through the backend).
        changes=0
        while :; do
            sleep 0.2
            now=$(devices)
            [ "$now" != "$seen" ] || continue
            changes=$((changes + 1))
            result pcifront-change "$changes" $now
            for dev in $now; do
                case " $seen " in
                *" $dev "*) ;;
                *) result hotplugged $(cfgread "$dev" 10) ;;
                esac
            done
            seen=$now
        done
    fi
    ;;
idle)
    while :; do sleep 3600; done
    ;;
esac
trap - EXIT
poweroff -f
