#!/usr/bin/env bash
# Start CUPS with a test queue `fieldkit-test` whose backend (tests/cups/fieldkit-spool) writes
# every job into /var/tmp/fieldkit-print, so the receipt tests print through a real CUPS server.
# Needs root (it installs a backend and adds a queue). Called by tests/run.sh.
set -euo pipefail
cd "$(dirname "$0")"
spool=/var/tmp/fieldkit-print
install -m 0755 fieldkit-spool /usr/lib/cups/backend/fieldkit-spool
if ! lpstat -r 2>/dev/null | grep -q "is running"; then
    cupsd
    for _ in $(seq 1 50); do
        lpstat -r 2>/dev/null | grep -q "is running" && break
        sleep 0.2
    done
fi
lpstat -r | grep -q "is running"
mkdir -p "$spool"
chmod 1777 "$spool"
lpadmin -p fieldkit-test -E -v "fieldkit-spool:$spool"
# As on the tablet: CUPS keeps no copy of a printed job (the whole-visit test checks the spool).
sh ../../deploy/tablet/cups-keep-no-copies.sh
echo "CUPS test queue fieldkit-test → $spool"
