#!/usr/bin/env bash
# Checks the include directions between folders (scripts/check-includes.sh, first: it needs
# no build and no clang), formatting (clang-format, .clang-format) of every C++ file under
# src, include, tests and examples, and lint (clang-tidy, .clang-tidy) of every source under
# src, using BUILD_DIR/compile_commands.json (configured here if missing). Runs every check
# and fails if any finds anything. --fix reformats in place instead of checking the format.
# --includes runs the include check alone (what test.sh runs, so CI enforces it).
# Usage: scripts/check-style.sh [--fix | --includes] [BUILD_DIR]   (default BUILD_DIR: build)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--includes" ]; then exec scripts/check-includes.sh; fi
fix=0
if [ "${1:-}" = "--fix" ]; then fix=1; shift; fi
build=${1:-build}
status=0
scripts/check-includes.sh || status=1

mapfile -t files < <(git ls-files -- 'src/*.cc' 'src/*.h' 'include/*.h' 'tests/*.cc' \
  'tests/*.h' 'examples/*.cc' 'examples/*.h')
if ((fix)); then
  clang-format -i "${files[@]}"
elif ! clang-format --dry-run --Werror "${files[@]}"; then
  echo "check-style: clang-format found unformatted code (fix: scripts/check-style.sh --fix)"
  status=1
fi

if [ ! -f "$build/compile_commands.json" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
mapfile -t sources < <(git ls-files -- 'src/*.cc')
report=$(mktemp)
trap 'rm -f "$report"' EXIT
# Two clang-tidy processes at a time; diagnostics go to stdout with --quiet.
printf '%s\0' "${sources[@]}" |
  xargs -0 -n 4 -P 2 clang-tidy -p "$build" --quiet >"$report" 2>/dev/null || true
if grep -E -A3 "(warning|error):" "$report"; then
  echo "check-style: clang-tidy reported the diagnostics above"
  status=1
fi

((status == 0)) && echo "check-style: clean (${#files[@]} files formatted, ${#sources[@]} linted)"
exit "$status"
