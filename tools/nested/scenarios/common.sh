# SPDX-License-Identifier: MIT OR Apache-2.0
# Helpers shared by the dom0 scenario scripts (sourced after lib.sh).

# Files the harness keeps (dom0's init sends them at the end).
OUT=/tmp/nested-out

# The hardware domain dom0's init stops at the very end, if any (init.sh).
STOP_HWDOM=/tmp/nested-stop-hwdom

# The driver domain's configuration, shipped as tools/driver-domain.cfg.
DRIVER_DOMAIN_CFG=/nested/driver-domain.cfg

# hidden_devices CFG: the BDFs listed by xen-pciback.hide=(BDF)(BDF)... on
# CFG's cmdline = line, one per line.
hidden_devices() {
    sed -n '/^cmdline *=/s/.*xen-pciback\.hide=\(([^ "]*)\).*/\1/p' "$1" | tr '()' '\n\n' | grep .
}

# state NAME: the state column of `xl list NAME` (r, b, p, s, c, d flags).
state() { xl list "$1" 2>/dev/null | awk 'NR == 2 { print $5 }'; }

# has_shut_down NAME
has_shut_down() { state "$1" | grep -q s; }

# console_has NAME TEXT: the guest's console log contains TEXT.
console_has() { grep -qF "$2" "/var/log/xen/console/guest-$1.log" 2>/dev/null; }

# quarantine BDF...: hands each device to DOMID_IO, through xen-pciback.
# Done while dom0 is still the hardware domain, it also makes dom0 register
# the device's GSI with Xen (needed later for INTx in a guest).
quarantine() {
    for bdf in "$@"; do
        xl pci-assignable-add "$bdf"
        result quarantined "$bdf"
    done
}

# poll_until SECONDS COMMAND...: as wait_until, but polls every tenth of a
# second, for the steps whose time is reported.
poll_until() {
    _end=$(($(uptime_tenths) + $1 * 10))
    shift
    until "$@"; do
        [ "$(uptime_tenths)" -lt "$_end" ] || return 1
        sleep 0.1
    done
}

# driver_domain_said TEXT: the driver domain printed TEXT, on its PV console
# or through Xen's debug port (`xl dmesg`).
driver_domain_said() { console_has pciback-dd "$1" || xl dmesg | grep -qF "$1"; }
