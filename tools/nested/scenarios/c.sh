#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# Scenario c: a Linux PV guest's own xen-pcifront, served by the pciback-dd
# driver domain, compared with the same guest served by dom0's Linux
# xen-pciback, in one boot (Xen booted with hardware_dom=<the driver
# domain's domid> and FLASK enforcing).
#   1. The baseline: dom0's xen-pciback gives the devices of the driver
#      domain's hide list to the guest (pci=), which records
#      `lspci -nn -vvv -xxxx` and the config-read timing loop, then binds the
#      NIC's driver (MSI-X) and records again; xl hot-unplugs and hot-plugs
#      a device; destroyed.
#   2. The driver domain, created as an administrator would (README): the
#      devices are still quarantined from step 1, dom0 claims VIRQ_DOM_EXC
#      and lets the driver domain see guests die, then `xl create`.
#   3. The same guest, created paused, its frontend given to the driver
#      domain with pciback-dd-attach, unpaused: it records the same, then
#      stays up while dom0 hot-unplugs and hot-plugs a device.
#   4. `xl destroy`: the devices must be back in quarantine (Xen's PCI
#      dump) and free in the driver domain, which must still be up.
# Each wait is bounded; a failed step says what it waited for (`failed`)
# and the run ends there, with every log sent.
set -eu
. /lib/nested/lib.sh
. /nested/scenarios/common.sh

DEVICES=$(hidden_devices "$DRIVER_DOMAIN_CFG")
# The benchmark's steps (bench below) run only when dom0 was booted with
# nested.bench=1 (`cargo xtask bench`): figures, not tests.
BENCH=$(sed -n 's/.*nested\.bench=\(1\).*/\1/p' /proc/cmdline)
GUEST_BENCH=${BENCH:+ nested.bench=1}
FIRST=$(echo "$DEVICES" | head -n 1)

# fail WHAT: reports why the scenario stops, and stops it.
fail() {
    result failed "$*"
    exit 1
}

# guest_said NAME TEXT: as console_has, for the guests' NESTED-RESULT lines.
guest_said() { console_has "$1" "NESTED-RESULT $2"; }

# cpu_seconds DOMID: the CPU time the domain has used, in seconds (the
# Time(s) column of `xl list`).
cpu_seconds() {
    listed=$(xl list "$1") || return
    echo "$listed" | awk 'NR == 2 { print $6 }'
}

# bench GUEST LABEL [DD]: answers the benchmark steps of GUEST (its
# /init's `bench`), one at a time. Around each step, Xen's performance
# counters (`xenperf -f`: VM exits by reason, the `vmexits  T=<total>
# <count per reason>` array, not the `vmexits from ...` counters; the
# driver domain is the only HVM/PVH domain) and, with DD, the driver domain's own (`stats
# LABEL-STEP-before|after`: hypercalls, upcalls, halts, ops); the counters'
# difference is reported as `perf LABEL STEP vmexits=<total>
# <reason>:<count>...`. `floor` runs only through the driver domain (its
# op-floor mode); `evtping` pings DD, else dom0, which echoes.
bench() {
    bg=$(xl domid "$1") label=$2 bdd=${3:-}
    home=/local/domain/$bg/data
    for step in read0 dump status write floor evtping; do
        at_step() { [ "$(xenstore-read "$home/bench" 2>/dev/null)" = "$step" ]; }
        step_done() { [ "$(xenstore-read "$home/bench-done" 2>/dev/null)" = "$step" ]; }
        poll_until 120 at_step || fail "$1 did not reach benchmark step $step"
        mark "bench-$label-$step"
        if [ "$step" = floor ] && [ -z "$bdd" ]; then
            xenstore-write "$home/bench-go" skip
            poll_until 30 step_done || fail "$1 did not skip benchmark step $step"
            continue
        fi
        [ "$step" != floor ] || dom0-helper command "$bdd" op-floor on > /dev/null
        [ "$step" != evtping ] || xenstore-write "$home/bench-remote" "${bdd:-0}"
        xenperf -f > /tmp/perf-before || fail "xenperf -f before $label $step: status $?"
        [ -z "$bdd" ] || dom0-helper command "$bdd" stats "$label-$step-before" > /dev/null ||
            fail "stats $label-$step-before: status $?"
        cpu_before=$(cpu_seconds "${bdd:-0}") || fail "xl list ${bdd:-0}: status $?"
        xenstore-write "$home/bench-go" "$step"
        if [ "$step" = evtping ]; then
            has_port() { xenstore-read "$home/bench-port" > /dev/null 2>&1; }
            poll_until 60 has_port || fail "$1 published no evtping port"
            port=$(xenstore-read "$home/bench-port")
            if [ -n "$bdd" ]; then
                dom0-helper command "$bdd" echo-port "$bg" "$port" 500 > /dev/null &
                echoing() { driver_domain_said "bound to domain $bg port $port: echoing"; }
            else
                dom0-helper echo "$bg" "$port" 500 > /tmp/echo.out &
                echoing() { grep -q '^bound port' /tmp/echo.out; }
            fi
            poll_until 30 echoing || fail "no echo for $1's evtping"
            xenstore-write "$home/bench-echoing" 1
        fi
        if ! poll_until 120 step_done; then
            [ -z "$bdd" ] || dom0-helper command "$bdd" stats "$label-$step-stuck" > /dev/null || true
            [ -z "$bdd" ] || dom0-helper command "$bdd" devices > /dev/null || true
            fail "$1 did not finish benchmark step $step"
        fi
        wait || fail "the echo for $1's $step ended with status $?"
        xenperf -f > /tmp/perf-after || fail "xenperf -f after $label $step: status $?"
        cpu_after=$(cpu_seconds "${bdd:-0}") || fail "xl list ${bdd:-0}: status $?"
        [ -z "$bdd" ] || dom0-helper command "$bdd" stats "$label-$step-after" > /dev/null ||
            fail "stats $label-$step-after: status $?"
        [ "$step" != floor ] || dom0-helper command "$bdd" op-floor off > /dev/null
        result perf "$label $step $(awk '
            $1 == "vmexits" && $2 ~ /^T=/ { n++; line = $0; sub(/^vmexits +T= *[0-9]+ */, "", line)
                              k = split(line, a); for (i = 1; i <= k; i++) v[n, i - 1] = a[i] }
            END { t = 0; s = ""
                  for (i = 0; i < k; i++) { d = v[2, i] - v[1, i]; if (d) { t += d; s = s " " i ":" d } }
                  print "vmexits=" t s }' /tmp/perf-before /tmp/perf-after) cpu_s=$cpu_before,$cpu_after"
    done
}

################################################################################
# 1. The baseline, through dom0's Linux xen-pciback
################################################################################

# Quarantined while dom0 is still the hardware domain: the baseline needs
# them assignable, and the driver domain needs them in quarantine (a device
# dom0 owns when the driver domain appears can never be assigned again).
mark quarantine
quarantine $DEVICES

# The guest of scenario b, but it also loads the NIC's driver and stays up
# after recording (as guests/pcifront-dd.cfg), and under FLASK it needs the
# label that may use passed-through devices.
PCI=$(printf '"%s", ' $DEVICES)
sed -e "s/@PCI@/${PCI%, }/" -e "s/^\\(extra = \".*\\)\"\$/\\1 nested.driver=e1000e nested.stay=1$GUEST_BENCH\"/" \
    /nested/guests/pcifront-dom0.cfg > /tmp/pcifront.cfg
echo 'seclabel = "system_u:system_r:pcifront_domU_t"' >> /tmp/pcifront.cfg
mark baseline-create
xl create /tmp/pcifront.cfg || fail "xl create of the baseline guest"
result baseline-domid "$(xl domid pcifront)"
mark baseline-running
if [ -n "$BENCH" ]; then
    mark baseline-bench
    bench pcifront linux
    mark baseline-benched
fi
wait_until 300 guest_said pcifront pcifront-recorded ||
    fail "the baseline guest did not record its devices within 300 s"
mark baseline-recorded

# The same hot-unplug and hot-plug as with the driver domain below, through
# xl and dom0's xen-pciback.
xl pci-detach pcifront "$FIRST" || fail "xl pci-detach pcifront $FIRST"
wait_until 30 guest_said pcifront 'pcifront-change 1 ' ||
    fail "the baseline guest did not see $FIRST go within 30 s"
xl pci-attach pcifront "$FIRST" || fail "xl pci-attach pcifront $FIRST"
wait_until 30 guest_said pcifront 'hotplugged ' ||
    fail "the baseline guest did not read $FIRST again within 30 s"
mark baseline-hot-plugged
# Unplugged while its frontend still answers: libxl would otherwise wait
# 10 s per device for the frontend of the destroyed guest.
for bdf in $DEVICES; do
    xl pci-detach pcifront "$bdf" || fail "xl pci-detach pcifront $bdf"
done
xl destroy pcifront
mark baseline-destroyed

################################################################################
# 2. The driver domain
################################################################################

HWDOM=$(xl info | sed -n 's/^xen_commandline *:.*hardware_dom=\([0-9]*\).*/\1/p')
mark claim-dom-exc
result virq-dom-exc "$(dom0-helper claim-dom-exc)"
sed 's|^kernel *=.*|kernel = "/nested/pciback-dd"|' "$DRIVER_DOMAIN_CFG" > /tmp/driver-domain.cfg
mark driver-domain-create
xl create /tmp/driver-domain.cfg || fail "xl create of the driver domain"
DD=$(xl domid pciback-dd)
result driver-domain-domid "$DD"
[ "$DD" = "$HWDOM" ] || fail "the driver domain is domain $DD, Xen expects its hardware domain as $HWDOM"
result hardware-domain "$(xl dmesg | sed -n 's/.*Initialising hardware domain \([0-9]*\).*/\1/p')"
wait_until 10 driver_domain_said 'serving backend/pci' ||
    fail "the driver domain did not start serving backend/pci within 10 s"
mark driver-domain-up
# Let it see guests die (@releaseDomain fires for it only if it may read it).
xenstore-chmod @releaseDomain n0 "r$DD"
# What it costs when no guest is served: its CPU time over 10 idle seconds.
if [ -n "$BENCH" ]; then
    idle_before=$(cpu_seconds "$DD")
    sleep 10
    result driver-domain-idle-cpu "seconds=10 cpu_s=$idle_before,$(cpu_seconds "$DD")"
fi

################################################################################
# 3. The guest, through the driver domain
################################################################################

mark guest-create
sed "s/^\(extra = \".*\)\"$/\1$GUEST_BENCH\"/" /nested/guests/pcifront-dd.cfg > /tmp/pcifront-dd.cfg
xl create -p /tmp/pcifront-dd.cfg || fail "xl create -p of the guest"
G=$(xl domid pcifront-dd)
result guest-domid "$G"
BACK=/local/domain/$DD/backend/pci/$G/0
FRONT=/local/domain/$G/device/pci/0
mark attach
out=$(pciback-dd-attach attach pcifront-dd $DEVICES) || fail "pciback-dd-attach attach pcifront-dd" $DEVICES
result attach "$out"
mark unpause
xl unpause pcifront-dd

# connected: both ends say Connected (4).
connected() {
    [ "$(xenstore-read "$BACK/state" 2>/dev/null)" = 4 ] &&
        [ "$(xenstore-read "$FRONT/state" 2>/dev/null)" = 4 ]
}
if ! poll_until 120 connected; then
    pciback-dd-attach show "$G" > "$OUT/xenstore-unconnected.txt" 2>&1 || true
    dom0-helper command "$DD" devices || true
    fail "frontend and backend not both Connected within 120 s (backend $(xenstore-read "$BACK/state" 2>/dev/null || echo none), frontend $(xenstore-read "$FRONT/state" 2>/dev/null || echo none))"
fi
mark connected
pciback-dd-attach show "$G" > "$OUT/xenstore-connected.txt"
result backend-state "$(xenstore-read "$BACK/state")"
result frontend-state "$(xenstore-read "$FRONT/state")"

# Its init records what it sees (the timing loop takes a while), runs the
# benchmark's steps if asked, then waits.
if [ -n "$BENCH" ]; then
    mark bench
    bench pcifront-dd ours "$DD"
    mark benched
fi
wait_until 300 guest_said pcifront-dd pcifront-recorded ||
    fail "the guest did not record its devices within 300 s"
mark recorded

# Hot-unplug the first device, then hot-plug it back: the guest reports each
# change of its bus, and reads the device that came back.
mark hot-unplug
out=$(pciback-dd-attach detach pcifront-dd "$FIRST") || fail "pciback-dd-attach detach pcifront-dd $FIRST"
result detach "$out"
wait_until 30 guest_said pcifront-dd 'pcifront-change 1 ' ||
    fail "the guest did not see $FIRST go within 30 s"
mark hot-plug
out=$(pciback-dd-attach attach pcifront-dd "$FIRST") || fail "pciback-dd-attach attach pcifront-dd $FIRST"
result reattach "$out"
wait_until 30 guest_said pcifront-dd 'hotplugged ' ||
    fail "the guest did not read $FIRST again within 30 s"
mark hot-plugged
pciback-dd-attach show "$G" > "$OUT/xenstore-hotplugged.txt"
out=$(dom0-helper command "$DD" devices) || fail "the driver domain did not answer \`devices\`"
result command-devices-connected "$out"
# Its hypercalls and upcalls so far, for the cost of an op.
out=$(dom0-helper command "$DD" stats) || fail "the driver domain did not answer \`stats\`"
result command-stats "$out"

################################################################################
# 4. Destroy: the devices go back to quarantine, the driver domain stays up
################################################################################

mark guest-destroy
xl destroy pcifront-dd
reaped() { ! dom0-helper domain-info "$G" > /dev/null; }
wait_until 30 reaped || fail "guest $G not reaped within 30 s"
mark guest-reaped
for bdf in $DEVICES; do
    wait_until 20 driver_domain_said "$bdf back in quarantine from domain $G" ||
        fail "the driver domain did not release $bdf within 20 s"
done
mark released
# Xen's own view: its PCI dump (debug key Q) names each device's owner.
xl debug-keys Q
xl dmesg > /tmp/xen-dmesg.txt
for bdf in $DEVICES; do
    result xen-pci "$(grep "^(XEN) $bdf - " /tmp/xen-dmesg.txt | tail -n 1)"
done
# Its backend directory: nobody in dom0 knows it, so the driver domain
# removes it once the guest is gone (as libxl leaves it to driver domains).
backend_gone() { ! xenstore-exists "/local/domain/$DD/backend/pci/$G"; }
if wait_until 10 backend_gone; then result backend-directory removed; else
    pciback-dd-attach show "$G" > "$OUT/xenstore-destroyed.txt" 2>&1 || true
    result backend-directory left
fi
mark devices
out=$(dom0-helper command "$DD" devices) || fail "the driver domain did not answer \`devices\`"
result command-devices "$out"
# Its second report (the first was while connected) is in its console log.
reports() { [ "$(grep -c 'pciback: devices: ' /var/log/xen/console/guest-pciback-dd.log)" -ge 2 ]; }
poll_until 10 reports || fail "no second \`devices\` report in the driver domain's console"
result driver-domain-info "$(dom0-helper domain-info "$DD")"
result driver-domain-state "$(state pciback-dd)"
xl list > "$OUT/xl-list.txt"
mark done

# dom0's init sends the logs, then stops the driver domain, which halts Xen.
echo pciback-dd > "$STOP_HWDOM"
