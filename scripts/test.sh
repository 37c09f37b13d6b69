#!/usr/bin/env bash
# README command 2 (and all that .ci/run does): install what is missing, build the dev
# preset with warnings as errors, run every test (unit + integration against real nginx
# and bitsd), then build the AddressSanitizer/UBSan preset and run the whole suite again.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

echo "== dev build"
cmake --preset dev
cmake --build --preset dev
summaries=$(mktemp)
trap 'rm -f "$summaries"' EXIT
echo "== dev tests"
ctest --test-dir build --output-on-failure -j2 --timeout 900 | tee -a "$summaries"

echo "== asan-ubsan build"
cmake --preset asan-ubsan
cmake --build --preset asan-ubsan
echo "== asan-ubsan tests"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j2 --timeout 900 | tee -a "$summaries"

echo "== fuzz smoke (libFuzzer, bounded)"
scripts/fuzz-smoke.sh 20

# One closing line for both CTest runs (each also printed its own summary above).
awk '/tests passed, .* tests failed out of/ { total += $NF; failed += $4 }
     END { printf "%d passed, %d failed\n", total - failed, failed }' "$summaries"
