#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for a bounded time
# over its corpus in tests/fuzz/corpus (read-only: new inputs go to a scratch directory).
# Any crash, sanitizer report or failed invariant fails the script.
# Usage: scripts/fuzz-smoke.sh [SECONDS_PER_TARGET]   (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DOPENBITS_FUZZ=ON -DOPENBITS_BUILD_TESTS=OFF >/dev/null
cmake --build build-fuzz -j2 --target rpc_fuzz cli_fuzz validation_fuzz http_headers_fuzz \
  upload_server_fuzz
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for target in rpc cli validation http_headers upload_server; do
  mkdir -p "$scratch/$target"
  echo "== fuzz $target for ${seconds}s"
  (cd "$scratch" && "$OLDPWD/build-fuzz/bin/${target}_fuzz" -max_total_time="$seconds" \
    -max_len=4096 -print_final_stats=1 "$scratch/$target" "$OLDPWD/tests/fuzz/corpus/$target" \
    2>&1 | grep -E "^(stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY)" || true)
  # libFuzzer exits non-zero and leaves crash-* files on any finding.
  if ls "$scratch"/crash-* "$scratch"/leak-* "$scratch"/timeout-* >/dev/null 2>&1; then
    echo "fuzz-smoke: $target found a failing input in $scratch" >&2
    exit 1
  fi
done
echo "fuzz-smoke: no findings"
