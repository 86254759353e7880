#!/bin/sh
# The tablet's binary must carry no server code: no back-office, certificate authority, Argon2,
# notifier or HTTP server. They come only with the `demo` feature (the in-process server of
# `fieldkit --demo`), which the package is built without (app/Cargo.toml:
# [package.metadata.deb] default-features = false).
#
#   deploy/tablet/check-no-server.sh                    build the kiosk's binary as the package
#                                                       does (no `demo`), debug profile, and check it
#   deploy/tablet/check-no-server.sh target/debian/fieldkit_*.deb    check the packaged binary
#   deploy/tablet/check-no-server.sh path/to/fieldkit                check a binary
#   deploy/tablet/check-no-server.sh --expect-server path/to/fieldkit
#                                     the control: a demo build must show the markers, or the
#                                     check would prove nothing
#
# It looks for the server's crate in symbol names (`fieldkit_sync_server`), its source paths
# (`sync-server/src/`, kept in panic locations even in a stripped binary) and the server-only
# crates' registry paths (axum, argon2, tracing-subscriber; rcgen is not one: the tablet makes its
# own certificate request with it at enrollment).
set -eu

expect_server=no
if [ "${1:-}" = "--expect-server" ]; then
    expect_server=yes
    shift
fi

root=$(cd "$(dirname "$0")/../.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

case "${1:-}" in
    "")
        (cd "$root" && cargo build --locked -p fieldkit-app --bin fieldkit --no-default-features)
        binary="$root/target/debug/fieldkit"
        ;;
    *.deb)
        dpkg-deb -x "$1" "$scratch/package"
        binary="$scratch/package/usr/bin/fieldkit"
        ;;
    *)
        binary="$1"
        ;;
esac
[ -f "$binary" ] || { echo "no binary at $binary" >&2; exit 2; }

found=0
for marker in fieldkit_sync_server sync-server/src/ /axum- /argon2- /tracing-subscriber-; do
    count=$(grep -a -c -F -- "$marker" "$binary" || true)
    echo "$marker: $count"
    if [ "$count" -gt 0 ]; then
        found=$((found + 1))
    fi
done

if [ "$expect_server" = yes ]; then
    if [ "$found" -eq 0 ]; then
        echo "FAIL: the control binary shows no server markers: the check cannot see them" >&2
        exit 1
    fi
    echo "ok: the demo build carries the server ($found markers), as it should"
elif [ "$found" -gt 0 ]; then
    echo "FAIL: $binary carries server code ($found markers)" >&2
    exit 1
else
    echo "ok: $binary carries no server code"
fi
