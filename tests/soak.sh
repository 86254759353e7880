#!/usr/bin/env bash
# The reliability soak (issue #16): the three failure tests that CI runs at a small count, run
# here one after another at the soak's counts, each printing its figures.
#
#   crates/vault/tests/crash.rs        SIGKILLs of a process writing to the vault   FIELDKIT_SOAK_KILLS (CI 200)
#   crates/vault/tests/power_cut/      power cuts: unsynced writes dropped or torn  FIELDKIT_SOAK_POWER_CUTS (CI 100)
#   crates/sync-client/tests/sync.rs   connections cut during uploads by a proxy    FIELDKIT_SOAK_CONNECTION_CUTS (CI 100)
#
# Usage: bash tests/soak.sh            (1,000 of each; set the variables above for other counts)
# The kill and power-cut tests take a new seed each run (printed; FIELDKIT_CRASH_SEED and
# FIELDKIT_POWER_CUT_SEED repeat one). Logs go to target/soak/. Any loss fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."

export FIELDKIT_SOAK_KILLS="${FIELDKIT_SOAK_KILLS:-1000}"
export FIELDKIT_SOAK_POWER_CUTS="${FIELDKIT_SOAK_POWER_CUTS:-1000}"
export FIELDKIT_SOAK_CONNECTION_CUTS="${FIELDKIT_SOAK_CONNECTION_CUTS:-1000}"
export FIELDKIT_CRASH_SEED="${FIELDKIT_CRASH_SEED:-$(date +%s)}"
export FIELDKIT_POWER_CUT_SEED="${FIELDKIT_POWER_CUT_SEED:-$((FIELDKIT_CRASH_SEED + 1))}"
logs=target/soak
mkdir -p "$logs"

echo "== building the three tests (not timed)"
cargo test --locked -p fieldkit-vault --test crash --test power_cut --no-run
cargo test --locked -p fieldkit-sync-client --test sync --no-run

# Run one test, keep its log, print its figures line and how long it took.
run() {
    local name=$1
    shift
    echo "== $name"
    local start=$SECONDS
    if ! "$@" >"$logs/$name.log" 2>&1; then
        tail -n 40 "$logs/$name.log"
        echo "soak: $name FAILED after $((SECONDS - start)) s (log: $logs/$name.log)"
        exit 1
    fi
    grep -E '^(figures|control|power cuts|crash test|cutting proxy|[0-9]+ cuts)' "$logs/$name.log" || true
    echo "$name: $((SECONDS - start)) s wall"
    grep '^figures:' "$logs/$name.log" | sed "s/^figures:/$name:/" >>"$logs/summary.txt"
}

: >"$logs/summary.txt"
started=$SECONDS
echo "load before: $(uptime)"
run sigkills cargo test --locked -p fieldkit-vault --test crash
run power-cuts cargo test --locked -p fieldkit-vault --test power_cut
run connection-cuts cargo test --locked -p fieldkit-sync-client --test sync -- \
    cut_connections_resume_and_every_envelope_arrives_once --exact --nocapture
echo "load after: $(uptime)"
echo
echo "== soak figures ($((SECONDS - started)) s in all; seeds: kills $FIELDKIT_CRASH_SEED, power cuts $FIELDKIT_POWER_CUT_SEED)"
cat "$logs/summary.txt"
