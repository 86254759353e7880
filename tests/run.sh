#!/usr/bin/env bash
# The test command of fieldkit (README.md, "Run the tests"). On a fresh Debian 12 machine with the
# Rust toolchain it installs what the tests need, then checks formatting and lints and runs every
# test of the workspace. CI (.ci/run) calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== formatting"
cargo fmt --all -- --check

echo "== lints"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== tests"
cargo test --workspace --locked
