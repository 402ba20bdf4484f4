#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# Builds the FLASK policy Xen loads at boot: Xen's own policy from the source
# package plus our module pciback_dd.te, compiled with Debian's checkpolicy.
#
# usage: build-policy.sh SOURCES OUT
#   SOURCES  directory filled by download.sh
#   OUT      empty directory; receives `xenpolicy` (the third multiboot module)
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
SOURCES=$1
OUT=$2
WORK=$OUT/work
mkdir -p "$WORK"

# The policy sources and the hypervisor's access-vector definitions they
# include; Debian's patch series touches neither.
tar -xf "$SOURCES"/xen_*.orig.tar.xz -C "$WORK" --strip-components=1 \
    --wildcards '*/tools/flask/policy/*' '*/xen/xsm/flask/policy/*'
POLICY=$WORK/tools/flask/policy
cp "$HERE/pciback_dd.te" "$POLICY/modules/"
echo 'pciback_dd = on' >> "$POLICY/modules/modules.conf"

make -C "$POLICY" -f Makefile.common FLASK_BUILD_DIR="$WORK" XEN_FULLVERSION=pciback-dd
cp "$WORK/xenpolicy-pciback-dd" "$OUT/xenpolicy"
rm -rf "$WORK"
