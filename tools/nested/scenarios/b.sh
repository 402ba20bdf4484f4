#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# Scenario b, the baseline. Xen runs as it ships: no hardware_dom=, dom0 is
# the hardware domain (xsm=dummy). dom0's Linux xen-pciback gives the devices
# the driver domain would serve (xen-pciback.hide= in driver-domain.cfg) to a
# Linux PV guest, whose init records `lspci -nn -vvv -xxxx` and the
# config-read timing loop, for comparison with the driver domain (scenario c).
set -eu
. /lib/nested/lib.sh
. /nested/scenarios/common.sh

DEVICES=$(hidden_devices "$DRIVER_DOMAIN_CFG")
mark assignable
quarantine $DEVICES
xl pci-assignable-list > "$OUT/pci-assignable-list.txt"

# The guest gets the devices through its pci= list.
PCI=$(printf '"%s", ' $DEVICES)
sed "s/@PCI@/${PCI%, }/" /nested/guests/pcifront-dom0.cfg > /tmp/pcifront.cfg
mark guest-create
xl create /tmp/pcifront.cfg
result guest-domid "$(xl domid pcifront)"
mark guest-running

# Its init records what it sees and powers off.
wait_until 300 has_shut_down pcifront
mark guest-done
result guest-state "$(state pcifront)"
