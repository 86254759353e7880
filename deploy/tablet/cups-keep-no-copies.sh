#!/bin/sh
# Tell the tablet's CUPS scheduler to keep nothing of a job once it is printed. By default CUPS
# keeps each job's document in /var/spool/cups for a day after printing (PreserveJobFiles 1d) and
# the job's attributes after that (PreserveJobHistory): on the tablet a printed receipt is the
# applicant's application and inventory — name, РНОКПП, address, phone — in clear, outside the
# encrypted vault. Per job this cannot be asked for: CUPS 2.4 has no attribute for it, and its
# `cancel -x` cannot purge a finished job (it sends `purge-jobs` where the scheduler reads
# `purge-job`).
#
# Run by the package's postinst when the CUPS server is installed and running, by the tests'
# CUPS queue (tests/cups/setup.sh, so the tests print as the tablet does), and by hand after
# installing CUPS later (deploy/tablet/README.md, step 3). `cupsctl` is CUPS's own tool for
# changing cupsd.conf; it restarts the scheduler, so nothing is changed when both settings are
# already there.
set -eu
if ! command -v cupsctl >/dev/null 2>&1 || ! lpstat -r >/dev/null 2>&1; then
    echo "cups-keep-no-copies: no CUPS scheduler running here, nothing changed" >&2
    exit 0
fi
settings=$(cupsctl)
if echo "$settings" | grep -qx 'PreserveJobFiles=No' && echo "$settings" | grep -qx 'PreserveJobHistory=No'; then
    exit 0
fi
cupsctl PreserveJobFiles=No PreserveJobHistory=No
# cupsctl restarts the scheduler: wait until it answers again.
for _ in $(seq 1 50); do
    lpstat -r >/dev/null 2>&1 && break
    sleep 0.2
done
echo "cups-keep-no-copies: CUPS keeps no printed job's files or history"
