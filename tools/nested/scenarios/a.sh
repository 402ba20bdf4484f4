#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# Scenario a: the driver domain becomes Xen's hardware domain (Xen booted
# with hardware_dom=1 xsm=flask and our policy), then dom0 creates and
# destroys another guest, which must be reaped while the driver domain
# stays up. The steps are the ones an administrator takes (README). Then
# dom0 exercises the driver domain's Xen platform through its diagnostics
# commands (XenStore watch, a granted page, an event-channel ping-pong, its
# figures), and the run ends with `xl shutdown` of the driver domain.
set -eu
. /lib/nested/lib.sh
. /nested/scenarios/common.sh

# 1. Quarantine the devices the driver domain will hand out, while dom0 still
#    owns them: a device dom0 owns when the hardware domain appears can never
#    be assigned again.
mark quarantine
quarantine $(hidden_devices "$DRIVER_DOMAIN_CFG")

# 2. Claim VIRQ_DOM_EXC for dom0, or its xenstored never hears of dying
#    domains once the driver domain is the hardware domain.
mark claim-dom-exc
result virq-dom-exc "$(dom0-helper claim-dom-exc)"

# 3. Create the driver domain from the shipped configuration; only the path of
#    the image differs here. Its domid is the hardware_dom= Xen booted with.
sed 's|^kernel *=.*|kernel = "/nested/pciback-dd"|' "$DRIVER_DOMAIN_CFG" > /tmp/driver-domain.cfg
mark driver-domain-create
xl create /tmp/driver-domain.cfg
DD=$(xl domid pciback-dd)
result driver-domain-domid "$DD"
result hardware-domain "$(xl dmesg | sed -n 's/.*Initialising hardware domain \([0-9]*\).*/\1/p')"
mark driver-domain-created

# Give the image time to come up (its log ends the boot with "boot: done");
# the tests judge what it printed.
if wait_until 10 driver_domain_said 'boot: done in'; then result driver-domain-ready yes; else result driver-domain-ready no; fi
mark driver-domain-up

# 4. Another guest (labelled domU_t: the driver domain has no rights over it)
#    is created, runs, and is destroyed; Xen must then reap it.
mark guest-create
xl create /nested/guests/idle.cfg
G=$(xl domid idle)
result guest-domid "$G"
if wait_until 60 console_has idle 'NESTED-RESULT guest-up'; then result guest-ran yes; else result guest-ran no; fi
mark guest-destroy
xl destroy idle
reaped() { ! dom0-helper domain-info "$G" > /dev/null; }
if wait_until 30 reaped; then result guest-reaped yes; else result guest-reaped no; fi
mark guest-gone
xl list > "$OUT/xl-list.txt"
result guest-info "$(dom0-helper domain-info "$G" || true)"

# 5. The driver domain is still there, and not shut down.
result driver-domain-info "$(dom0-helper domain-info "$DD")"
result driver-domain-state "$(state pciback-dd)"

# 6. The driver domain's Xen platform, driven from dom0. Each diagnostics
#    command is a key dom0 writes and the driver domain watches; it answers
#    on its console (which the tests read) and acknowledges by emptying the
#    key.
XENSTORE_READS=200
ECHOES=1000
mark diagnostics
result command-xenstore "$(dom0-helper command "$DD" xenstore)"

# A page dom0 grants to the driver domain, holding a text it must read back.
mark grant
TEXT="pciback-dd grant test $(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
dom0-helper grant-page "$DD" "$TEXT" > /tmp/grant.out &
GRANTER=$!
poll_until 10 grep -q '^gref ' /tmp/grant.out
GREF=$(sed -n 's/^gref //p' /tmp/grant.out)
result grant "ref=$GREF text=$TEXT"
result command-map-grant "$(dom0-helper command "$DD" map-grant 0 "$GREF")"
kill "$GRANTER"
wait "$GRANTER"
result grant-end "$(tail -n 1 /tmp/grant.out)"

# What one XenStore read costs the driver domain.
mark bench-xenstore
result command-bench-xenstore "$(dom0-helper command "$DD" bench-xenstore "$XENSTORE_READS")"

# A task's sleep on Xen's timer: the driver domain is otherwise idle, so
# only Xen's timer can end its halt.
mark sleep
result command-sleep "$(dom0-helper command "$DD" sleep 300)"
poll_until 10 console_has pciback-dd 'timer: slept 300 ms'

# Event-channel ping-pong: the helper offers a port, the driver domain binds
# it and echoes each event. The helper starts pinging only once the driver
# domain says it is echoing: the bind leaves its end pending, which it
# clears, and a ping sent before that would be lost with it.
mark pingpong
dom0-helper pingpong "$DD" "$ECHOES" > /tmp/pingpong.out &
PINGER=$!
poll_until 10 grep -q '^port ' /tmp/pingpong.out
PORT=$(sed -n 's/^port //p' /tmp/pingpong.out)
dom0-helper command "$DD" echo-port 0 "$PORT" "$ECHOES" > /tmp/echo-port.out &
ECHOER=$!
poll_until 10 driver_domain_said "bound to domain 0 port $PORT: echoing $ECHOES events"
kill -USR1 "$PINGER"
wait "$PINGER"
result pingpong "$(tail -n 1 /tmp/pingpong.out)"
wait "$ECHOER"
result command-echo-port "$(cat /tmp/echo-port.out)"

# Its hypercall and upcall counts so far; once the answer is in its console
# log, xenconsoled has written everything before it too.
mark stats
result command-stats "$(dom0-helper command "$DD" stats)"
poll_until 10 console_has pciback-dd 'stats: hypercalls '

# The same commands typed on its PV console, as `xl console` sends them:
# xenconsoled copies what is written to the console's pty into the ring.
mark console-command
printf 'devices\r' > "$(xenstore-read "/local/domain/$DD/console/tty")"
poll_until 10 console_has pciback-dd 'console: > devices'
poll_until 10 console_has pciback-dd 'pciback: devices: '
result console-command typed
result driver-domain-end-info "$(dom0-helper domain-info "$DD")"
mark diagnostics-done

# 7. The end: once dom0's init has sent the logs, it stops the driver domain
#    with `xl shutdown`; it is the hardware domain, so Xen halts the machine.
echo pciback-dd > "$STOP_HWDOM"
