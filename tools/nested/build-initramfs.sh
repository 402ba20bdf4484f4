#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# Builds the Linux side of the nested environment from Debian packages: the
# kernel (for dom0 and guests alike), dom0's base initramfs (busybox, Xen's
# toolstack with its libraries, the Xen kernel modules, lspci, dom0-helper)
# and, inside it, the guests' initramfs (busybox, xen-pcifront, the e1000e
# driver, uio_pci_generic, xen-evtchn, lspci, xenstore-read/-write,
# cfgread, evtping, bar and the guest /init). Scenario scripts and the
# driver domain's image are not in here: the harness appends them per run
# as a second cpio archive, so changing them rebuilds nothing.
#
# usage: build-initramfs.sh SOURCES OUT
#   SOURCES  directory filled by download.sh (the linux-image .deb)
#   OUT      empty directory; receives vmlinuz and dom0-base.cpio.gz
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
SOURCES=$1
OUT=$2
WORK=$OUT/work
mkdir -p "$WORK"

# The kernel package, extracted, with the module index Debian's postinst
# would have generated.
dpkg-deb -x "$SOURCES"/linux-image-*.deb "$WORK/linux"
KVER=$(ls "$WORK/linux/lib/modules")
depmod -b "$WORK/linux" "$KVER"
cp "$WORK/linux/boot/vmlinuz-$KVER" "$OUT/vmlinuz"

# add_files ROOT FILE...: copies host files to the same path under ROOT,
# with the shared libraries they load (glibc dlopen()s libgcc_s for
# pthread_cancel, which xl's children use, so it comes along explicitly).
add_files() {
    root=$1
    shift
    for f in "$@"; do
        for g in "$f" $(ldd "$f" 2>/dev/null | grep -o '/[^ ]*'); do
            mkdir -p "$root$(dirname "$g")"
            cp -L "$g" "$root$g"
        done
    done
}

# add_modules ROOT MODULE...: the modules and what they depend on, then the
# index for busybox's modprobe.
add_modules() {
    root=$1
    shift
    for m in "$@"; do
        modprobe -d "$WORK/linux" -S "$KVER" --show-depends "$m" | while read -r _ path _; do
            rel=${path#"$WORK/linux"}
            mkdir -p "$root$(dirname "$rel")"
            cp "$path" "$root$rel"
        done
    done
    cp "$WORK/linux/lib/modules/$KVER"/modules.order "$WORK/linux/lib/modules/$KVER"/modules.builtin* \
        "$root/lib/modules/$KVER/"
    depmod -b "$root" "$KVER"
}

# new_root ROOT INIT: busybox, lspci with its ID database, our shell helpers.
new_root() {
    mkdir -p "$1/bin" "$1/lib/nested" "$1/usr/share/misc" "$1/proc" "$1/sys" "$1/dev" "$1/tmp" "$1/etc"
    cp /bin/busybox "$1/bin/busybox"
    add_files "$1" /usr/bin/lspci
    cp /usr/share/misc/pci.ids "$1/usr/share/misc/"
    cp "$HERE/lib.sh" "$1/lib/nested/lib.sh"
}

pack() { (cd "$1" && find . | cpio -o -H newc --quiet | gzip -1) > "$2"; }

# The guests' initramfs.
GUEST=$WORK/guest
new_root "$GUEST"
install -m 755 "$HERE/domU/init.sh" "$GUEST/init"
gcc -O2 -Wall -Werror -static -o "$GUEST/bin/cfgread" "$HERE/domU/cfgread.c"
gcc -O2 -Wall -Werror -static -o "$GUEST/bin/bar" "$HERE/domU/bar.c"
gcc -O2 -Wall -Werror -static -o "$GUEST/bin/evtping" "$HERE/domU/evtping.c"
# XenStore from the guest's side: the benchmark's handshake with dom0.
add_files "$GUEST" /usr/bin/xenstore
for tool in read write; do
    ln -s xenstore "$GUEST/usr/bin/xenstore-$tool"
done
add_modules "$GUEST" xen-pcifront e1000e uio_pci_generic xen-evtchn
ldconfig -r "$GUEST"

# dom0's base initramfs.
DOM0=$WORK/dom0
new_root "$DOM0"
XEN_BIN=/usr/lib/xen-4.17/bin
gcc -O2 -Wall -Werror -o "$WORK/dom0-helper" "$HERE/dom0/dom0-helper.c" \
    -lxenctrl -lxenstore -lxengnttab -lxenevtchn
add_files "$DOM0" $XEN_BIN/xl $XEN_BIN/xenstored $XEN_BIN/xenconsoled $XEN_BIN/xen-init-dom0 \
    $XEN_BIN/libxl-save-helper $XEN_BIN/xenperf /usr/bin/xenstore /lib/x86_64-linux-gnu/libgcc_s.so.1 "$WORK/dom0-helper"
mv "$DOM0$WORK/dom0-helper" "$DOM0/bin/dom0-helper"
for tool in read write ls list rm chmod exists; do
    ln -s xenstore "$DOM0/usr/bin/xenstore-$tool"
done
mkdir -p "$DOM0/etc/xen"
cp /etc/xen/xl.conf "$DOM0/etc/xen/"
add_modules "$DOM0" xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xenfs xen-pciback
ldconfig -r "$DOM0"
mkdir -p "$DOM0/guest"
cp "$OUT/vmlinuz" "$DOM0/guest/vmlinuz"
pack "$GUEST" "$DOM0/guest/initrd.gz"
pack "$DOM0" "$OUT/dom0-base.cpio.gz"
rm -rf "$WORK"
