#!/usr/bin/env bash
# Builds the libFuzzer targets in the sanitizer build (the asan-ubsan preset: clang, ASan +
# UBSan, build-asan/; configured here if it is not yet) and runs each for a bounded time
# over its corpus in tests/fuzz/corpus (read-only: new inputs go to a scratch directory).
# A target fails the script if it exits non-zero (crash, sanitizer report, failed
# invariant, out of memory, timeout) or leaves any artifact (crash-*, leak-*, oom-*,
# timeout-*, slow-unit-*). Artifacts are written under the scratch directory
# (-artifact_prefix), never into the repository; on failure that directory is kept.
# Usage: scripts/fuzz-smoke.sh [SECONDS_PER_TARGET]   (default 20; 5 targets)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
seconds=${1:-20}
targets=(rpc cli validation http_headers upload_server)
build="build-asan"
if [ ! -f "$build/build.ninja" ]; then cmake --preset asan-ubsan >/dev/null; fi
cmake --build --preset asan-ubsan --target "${targets[@]/%/_fuzz}"
scratch=$(mktemp -d)
failed=()
for target in "${targets[@]}"; do
  work="$scratch/$target"
  mkdir -p "$work/new" "$work/artifacts"
  echo "== fuzz $target for ${seconds}s"
  status=0
  # The working directory is scratch too: upload_server_fuzz makes its root there.
  (cd "$work" && "$root/$build/bin/${target}_fuzz" -max_total_time="$seconds" \
    -timeout=10 -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" "$work/new" "$root/tests/fuzz/corpus/$target" \
    >"$work/log" 2>&1) || status=$?
  grep -E "^(stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY)" "$work/log" || true
  if [ "$status" -ne 0 ] || [ -n "$(ls -A "$work/artifacts")" ]; then
    echo "fuzz-smoke: $target failed (exit $status); artifacts: $(ls -A "$work/artifacts")" >&2
    tail -n 40 "$work/log" >&2
    failed+=("$target")
  fi
done
if [ "${#failed[@]}" -ne 0 ]; then
  echo "fuzz-smoke: findings in ${failed[*]}; logs and artifacts kept in $scratch" >&2
  exit 1
fi
rm -rf "$scratch"
echo "fuzz-smoke: no findings"
