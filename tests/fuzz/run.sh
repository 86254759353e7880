#!/usr/bin/env bash
# Fuzz every target (or those named) for SECONDS each, one after another, with libFuzzer, then
# merge what the run found into the stored corpus (only inputs that add coverage are kept).
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]        # default: 600 s, every target
#
# Works on the stable toolchain: cargo-fuzz's nightly flags (-Zsanitizer=address, sancov) are
# allowed by RUSTC_BOOTSTRAP=1. Needs `cargo install cargo-fuzz`. FUZZ_SANITIZER=none builds
# without AddressSanitizer (faster, still catches panics, overflows and timeouts). A crash
# leaves its input in tests/fuzz/artifacts/<target>/; the script goes on with the next target
# and exits non-zero at the end. The summary (execs, execs/s, crashes) is printed at the end
# and kept in tests/fuzz/work/summary.txt (or $FUZZ_WORK/summary.txt).
set -uo pipefail
cd "$(dirname "$0")/../.."

seconds="${1:-600}"
shift || true
if [ $# -gt 0 ]; then
    targets=("$@")
else
    # The binaries, as tests/fuzz/Cargo.toml lists them.
    mapfile -t targets < <(grep -A1 '^\[\[bin\]\]' tests/fuzz/Cargo.toml | sed -n 's/^name = "\(.*\)"/\1/p')
fi
sanitizer="${FUZZ_SANITIZER:-address}"
fuzz=(cargo fuzz run --fuzz-dir tests/fuzz --sanitizer "$sanitizer")
export RUSTC_BOOTSTRAP=1

# The same dependency versions as the workspace: its lock, to which cargo adds libfuzzer-sys.
cp Cargo.lock tests/fuzz/Cargo.lock

echo "== building ${#targets[@]} targets (sanitizer: $sanitizer)"
cargo fuzz build --fuzz-dir tests/fuzz --sanitizer "$sanitizer" || exit 1

# FUZZ_WORK: where logs and the summary go, so that two runs on different targets can share
# the machine's cores (each its own folder).
work="${FUZZ_WORK:-tests/fuzz/work}"
mkdir -p "$work"
summary="$work/summary.txt"
printf '%-18s %12s %10s %8s %8s\n' target execs execs/s "corpus±" crashes >"$summary"
failed=0
for target in "${targets[@]}"; do
    corpus="tests/fuzz/corpus/$target"
    found="$work/$target"
    log="$work/$target.log"
    mkdir -p "$corpus" "$found" "tests/fuzz/artifacts/$target"
    echo "== $target: ${seconds} s"
    # New inputs go to the first folder ($found); the stored corpus is read, not written.
    # -timeout: one input may take 10 s at most (a hang is a finding); -rss_limit_mb: 2 GB.
    status=0
    "${fuzz[@]}" "$target" "$found" "$corpus" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="tests/fuzz/artifacts/$target/" >"$log" 2>&1 || status=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    crashes=0
    if [ "$status" -ne 0 ]; then
        crashes=1
        failed=1
        echo "!! $target failed (exit $status); see $log and tests/fuzz/artifacts/$target/"
        grep -m3 -E "panicked|ERROR: libFuzzer|SUMMARY" "$log" || true
    fi
    # Minimise: the smallest set of stored and new inputs that covers every edge they cover
    # together (libFuzzer's merge into an empty folder; edges only, not hit counts, so the
    # stored corpus stays a few hundred small files). The named inputs (seed-*, regression-*)
    # are always kept; every other stored file is replaced by the minimal set.
    minimal="$work/$target.minimal"
    rm -rf "$minimal" && mkdir -p "$minimal"
    before=$(find "$corpus" -type f | wc -l)
    if "${fuzz[@]}" "$target" "$minimal" "$corpus" "$found" -- -merge=1 -use_counters=0 \
        -rss_limit_mb=2048 -timeout=10 >"$work/$target.merge.log" 2>&1; then
        named=$(find "$corpus" -type f \( -name 'seed-*' -o -name 'regression-*' \) -exec sha1sum {} + | cut -d' ' -f1)
        find "$corpus" -type f ! -name 'seed-*' ! -name 'regression-*' -delete
        for file in "$minimal"/*; do
            [ -e "$file" ] || continue
            grep -qx "$(basename "$file")" <<<"$named" || cp "$file" "$corpus/"
        done
    else
        echo "!! minimising $target failed: $work/$target.merge.log (corpus left as it was)"
    fi
    added=$(($(find "$corpus" -type f | wc -l) - before))
    printf '%-18s %12s %10s %8s %8s\n' "$target" "${execs:-?}" "${rate:-?}" "$added" "$crashes" >>"$summary"
done
echo
cat "$summary"
exit "$failed"
