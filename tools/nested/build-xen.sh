#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# Builds the hypervisor: Debian's xen source package, Debian's patch series,
# our patches (xen/*.patch), Debian's Kconfig plus xen/kconfig.
#
# usage: build-xen.sh SOURCES OUT
#   SOURCES  directory filled by download.sh (xen_*.orig.tar.xz, xen_*.debian.tar.xz, xen_*.dsc)
#   OUT      empty directory; receives `xen` (the multiboot ELF that QEMU's
#            -kernel loads), `xen.config` and `version`
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
SOURCES=$1
OUT=$2
WORK=$OUT/work                 # source and object trees, removed at the end
mkdir -p "$WORK/src" "$WORK/obj"

# Unpack the way dpkg-source does for a "3.0 (quilt)" package: the upstream
# tarball, then debian/ from the Debian tarball, then debian/patches/series.
tar -xf "$SOURCES"/xen_*.orig.tar.xz -C "$WORK/src" --strip-components=1
tar -xf "$SOURCES"/xen_*.debian.tar.xz -C "$WORK/src"
SRC=$WORK/src
for p in $(grep -v '^#' "$SRC/debian/patches/series"); do
    patch -d "$SRC" -p1 -s --no-backup-if-mismatch < "$SRC/debian/patches/$p"
done
for p in "$HERE"/xen/*.patch; do
    echo "applying $(basename "$p")"
    patch -d "$SRC" -p1 --no-backup-if-mismatch < "$p"
done

# Debian's debian/rules exports these for its patch 0003 (the version banner).
DEB_VERSION=$(sed -n 's/^Version: //p' "$SOURCES"/xen_*.dsc)
DEB_MAINTAINER=$(sed -n 's/^Maintainer: //p' "$SRC/debian/control")
make_xen() {
    make -C "$SRC/xen" O="$WORK/obj" XEN_TARGET_ARCH=x86_64 \
        DEB_VERSION="$DEB_VERSION" DEB_MAINTAINER="$DEB_MAINTAINER" \
        XEN_WHOAMI=pciback-dd XEN_DOMAIN=nested "$@"
}

# Configure as debian/rules does (its xen-kconfig, then olddefconfig), with
# our fragment appended; then make sure no line of the fragment was dropped
# by a dependency Kconfig resolved differently.
cat "$SRC/debian/xen-kconfig" "$HERE/xen/kconfig" > "$WORK/obj/.config"
make_xen olddefconfig
for line in $(grep '^CONFIG_' "$HERE/xen/kconfig"); do
    grep -qx "$line" "$WORK/obj/.config" || { echo "kconfig: $line did not survive olddefconfig" >&2; exit 1; }
done

make_xen -j"$(nproc)" xen

cp "$WORK/obj/xen" "$OUT/xen"
cp "$WORK/obj/.config" "$OUT/xen.config"
echo "$DEB_VERSION" > "$OUT/version"
rm -rf "$WORK"
