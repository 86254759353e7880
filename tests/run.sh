#!/usr/bin/env bash
# The test command of fieldkit (README.md, "Run the tests"). On a fresh Debian 12 machine with the
# Rust toolchain it installs what the tests need, then checks formatting and lints and runs every
# test of the workspace. CI (.ci/run) calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use as real peers: SANE's test scanner (sane-utils), zbarimg and
# qrencode for QR codes, qpdf and poppler-utils (pdftotext, pdftoppm) for receipts, ImageMagick
# for the capture benchmark, wrk for the tracking page's load benchmark, CUPS for printing
# receipts to a real queue, systemd-analyze for checking the service unit, iproute2 and nftables
# for the sync test across two network namespaces joined by a slow, lossy link, Chromium and
# ChromeDriver for the back-office and the public pages (checked by axe-core) in a real browser,
# cage (with xwayland, which it needs) and grim for the tablet's kiosk started from its real unit
# on wlroots' headless backend and looked at in a screenshot, and DejaVu Sans, the typeface the
# app's screens are drawn in (the headless UI tests and screenshots render text).
packages=(fonts-dejavu-core sane-utils zbar-tools qrencode qpdf poppler-utils imagemagick cups cups-client systemd iproute2 nftables chromium chromium-driver cage xwayland grim wrk)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "== installing ${missing[*]}"
    sudo_if_needed=()
    [ "$(id -u)" -eq 0 ] || sudo_if_needed=(sudo)
    "${sudo_if_needed[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_if_needed[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# From PyPI: a real SMTP server for the e-mail tests, tuspy, a third-party tus client, and
# schemathesis, which tests the server against its OpenAPI document.
python3 -c "import aiosmtpd" 2>/dev/null || python3 -m pip install --quiet aiosmtpd
python3 -c "import tusclient" 2>/dev/null || python3 -m pip install --quiet tuspy
# Selenium drives Debian's Chromium through Debian's ChromeDriver (no driver download).
python3 -c "import selenium" 2>/dev/null || python3 -m pip install --quiet selenium
# From npm: axe-core, which the public pages' browser test (tests/tests/public_browser.rs) loads
# into Chromium to check WCAG 2.1 AA; pinned in tests/browser/package-lock.json. Debian's npm
# where no npm is installed.
command -v npm >/dev/null || {
    sudo_if_needed=()
    [ "$(id -u)" -eq 0 ] || sudo_if_needed=(sudo)
    "${sudo_if_needed[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_if_needed[@]}" apt-get install -y -qq --no-install-recommends npm
}
npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
# schemathesis checks the server against its own OpenAPI document (sync-server/tests/schemathesis.rs);
# pinned, because its checks grow between versions.
python3 -c "import schemathesis; assert schemathesis.__version__ == '4.32.5'" 2>/dev/null || python3 -m pip install --quiet schemathesis==4.32.5
# Under pyenv a newly installed command (`st`) is reached through a shim made by a rehash.
if command -v pyenv >/dev/null; then pyenv rehash; fi

echo "== CUPS test queue"
if [ "$(id -u)" -eq 0 ]; then bash tests/cups/setup.sh; else sudo bash tests/cups/setup.sh; fi

echo "== formatting"
cargo fmt --all -- --check

echo "== lints"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== tests"
cargo test --workspace --locked

echo "== the tablet's binary without the demo's server"
# The package is built without the `demo` feature; this builds the binary the same way and
# checks it carries no server code (deploy/tablet/check-no-server.sh), and that the lints hold
# for that build too.
cargo clippy -p fieldkit-app --no-default-features --lib --bins --locked -- -D warnings
bash deploy/tablet/check-no-server.sh
