#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# Downloads the Debian packages the nested environment is built from:
# Xen's source package (the exact version below, the one Debian 12 serves as
# source) and the Linux kernel package that linux-image-amd64 points to now.
#
# usage: download.sh OUT
#   OUT receives xen_<version>.{dsc,orig.tar.xz,debian.tar.xz},
#   linux-image-<abi>-amd64_<version>_amd64.deb and `versions` (what was fetched).
set -eu
OUT=$1
XEN_SOURCE_VERSION=4.17.5+72-g01140da4e8-1
SUITE=bookworm

# Source packages come through a private apt state directory with a deb-src
# list of its own, so the machine's apt configuration is left as it is. The
# mirror is the one this machine's apt already uses for $SUITE.
MIRROR=$(apt-get indextargets --format '$(REPO_URI)' "Release: $SUITE" 'Created-By: Packages' 'Component: main' | head -n 1)
[ -n "$MIRROR" ] || { echo "no apt source for Debian $SUITE main is configured" >&2; exit 1; }
APT=$OUT/apt
mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial" "$APT/etc/sources.list.d"
echo "deb-src $MIRROR $SUITE main" > "$APT/etc/sources.list"
set -- -o Dir::Etc::SourceList="$APT/etc/sources.list" \
       -o Dir::Etc::SourceParts="$APT/etc/sources.list.d" \
       -o Dir::State::Lists="$APT/lists" -o Dir::Cache="$APT/cache" \
       -o APT::Sandbox::User=root
apt-get "$@" update
(cd "$OUT" && apt-get "$@" source --download-only "xen=$XEN_SOURCE_VERSION")

# The kernel comes from the machine's own binary lists: refresh them, follow
# the metapackage to the real image package, and download (not install) it.
apt-get -o APT::Sandbox::User=root update
(cd "$OUT" && apt-get -o APT::Sandbox::User=root download linux-image-amd64)
KPKG=$(dpkg-deb -f "$OUT"/linux-image-amd64_*.deb Depends | sed 's/[ ,].*//')
(cd "$OUT" && apt-get -o APT::Sandbox::User=root download "$KPKG")
rm -f "$OUT"/linux-image-amd64_*.deb
rm -rf "$APT"

{
    echo "xen-source $XEN_SOURCE_VERSION"
    echo "kernel $(dpkg-deb -f "$OUT"/linux-image-*.deb Package) $(dpkg-deb -f "$OUT"/linux-image-*.deb Version)"
} > "$OUT/versions"
