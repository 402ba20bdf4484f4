# SPDX-License-Identifier: MIT OR Apache-2.0
# Shell helpers shared by dom0's and the guests' scripts: the line protocol
# that the host harness (tests/src/nested) reads from the consoles.
#
#   NESTED-MARK <uptime> <label>       a step begins (the run's timeline)
#   NESTED-RESULT <key> <value...>     a fact the tests assert on
#   NESTED-BEGIN <name>                a file follows, one line per line:
#   |<text>                              a line (at most 160 characters)
#   +<text>                              the continuation of a longer line
#   NESTED-END <name> lines=<n>        end of the file, with its line count
#
# Lines are cut because Xen's console splits a guest's console lines at 200
# characters (dom0 is such a guest once the driver domain is the hardware
# domain); the line count lets the harness notice anything lost on the way.

mark() { echo "NESTED-MARK $(cut -d' ' -f1 /proc/uptime) $*"; }

result() { echo "NESTED-RESULT $*"; }

# emit_file NAME FILE
emit_file() {
    echo "NESTED-BEGIN $1"
    awk -v name="$1" '
        { printf "|%s\n", substr($0, 1, 160)
          for (i = 161; i <= length($0); i += 160) printf "+%s\n", substr($0, i, 160) }
        END { printf "NESTED-END %s lines=%d\n", name, NR }' "$2"
}

# uptime_tenths: seconds since boot, in tenths.
uptime_tenths() { awk '{ printf "%d\n", $1 * 10 }' /proc/uptime; }

# wait_until SECONDS COMMAND...: polls COMMAND every half second; fails
# (status 1) if it has not succeeded within SECONDS (by the clock, however
# long COMMAND itself takes).
wait_until() {
    _end=$(($(uptime_tenths) + $1 * 10))
    shift
    until "$@"; do
        [ "$(uptime_tenths)" -lt "$_end" ] || return 1
        sleep 0.5
    done
}
