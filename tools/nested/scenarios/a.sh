#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# Scenario a: the driver domain becomes Xen's hardware domain (Xen booted
# with hardware_dom=1 xsm=flask and our policy), then dom0 creates and
# destroys another guest, which must be reaped while the driver domain
# stays up. The steps are the ones an administrator takes (README).
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
said_ready() { console_has pciback-dd 'boot: done in' || xl dmesg | grep -qF 'boot: done in'; }
if wait_until 10 said_ready; then result driver-domain-ready yes; else result driver-domain-ready no; fi
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
