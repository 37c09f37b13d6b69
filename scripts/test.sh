#!/usr/bin/env bash
# README command 2 (and all that .ci/run does), as root: check the include rules between
# folders, install what is missing, build the dev preset (build/, Ninja, -j2, warnings as
# errors) and run every test (unit + integration; the integration tests start their own
# nginx and bitsd instances), then build the AddressSanitizer/UBSan preset (build-asan/,
# clang, the libFuzzer targets included) and run the whole suite again under the
# sanitizers, then a bounded libFuzzer smoke run of those targets. Stops at the first
# failure with a non-zero exit; on success prints the time of each stage, CTest's summary
# line of each run and, last, one "N passed, N failed" line over both CTest runs.
set -euo pipefail
cd "$(dirname "$0")/.."

stages=()
stage_start=$SECONDS
# end_stage NAME: records how long the stage that just ended took.
end_stage() {
  stages+=("$(printf '%-22s %5d s' "$1" $((SECONDS - stage_start)))")
  stage_start=$SECONDS
}

echo "== include rules"
scripts/check-style.sh --includes
end_stage "include rules"

scripts/install-deps.sh
end_stage "install-deps"

summary=()
# seed_costs BUILD_DIR: on a fresh tree, gives CTest the seconds each slow test took in one
# dev run (tests/ctest_costs.txt, "name runs seconds" lines of CTest's own cost file), so that
# -j2 starts the longest ones first instead of leaving one (CrashLoopTest: 50 s) for the
# end. CTest updates the file after every run; a tree that has it keeps its own.
seed_costs() {
  local costs="$1/Testing/Temporary/CTestCostData.txt"
  if [ ! -f "$costs" ]; then
    mkdir -p "${costs%/*}"
    cp tests/ctest_costs.txt "$costs"
  fi
}

# run_ctest LABEL BUILD_DIR [ctest args...]: runs ctest, keeps its summary line.
run_ctest() {
  local label=$1 dir=$2 log
  shift 2
  seed_costs "$dir"
  log=$(mktemp)
  if ! ctest --test-dir "$dir" --output-on-failure -j2 --timeout 600 "$@" 2>&1 | tee "$log"; then
    rm -f "$log"
    echo "test.sh: $label tests FAILED" >&2
    exit 1
  fi
  summary+=("$label: $(grep -E 'tests passed, .* tests failed out of' "$log" | tail -1)")
  rm -f "$log"
}

echo "== dev build"
cmake --preset dev
cmake --build --preset dev
end_stage "dev build"
echo "== dev tests"
run_ctest dev build
end_stage "dev tests"

echo "== asan-ubsan build"
cmake --preset asan-ubsan
cmake --build --preset asan-ubsan
end_stage "asan-ubsan build"
echo "== asan-ubsan tests"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_ctest asan-ubsan build-asan
end_stage "asan-ubsan tests"

echo "== fuzz smoke (libFuzzer, bounded)"
scripts/fuzz-smoke.sh 20
end_stage "fuzz smoke"

echo "== time per stage"
printf '%s\n' "${stages[@]}" "$(printf '%-22s %5d s' total "$SECONDS")"
if command -v ccache >/dev/null; then ccache --show-stats 2>/dev/null | grep -E '^ *Hits' | head -1 || true; fi

echo "== summary"
printf '%s\n' "${summary[@]}" "fuzz smoke: no findings"
# One closing line for both CTest runs.
printf '%s\n' "${summary[@]}" |
  awk '/tests passed, .* tests failed out of/ { total += $NF; failed += $5 }
       END { printf "%d passed, %d failed\n", total - failed, failed }'
