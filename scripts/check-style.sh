#!/usr/bin/env bash
# Checks formatting (clang-format, .clang-format) and lint (clang-tidy, .clang-tidy) of
# every C++ source. Needs a configured build dir for compile_commands.json (default: build).
# Usage: scripts/check-style.sh [--fix] [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
fix=0
if [ "${1:-}" = "--fix" ]; then fix=1; shift; fi
build=${1:-build}
mapfile -t files < <(git ls-files '*.cc' '*.h')
if ((fix)); then
  clang-format -i "${files[@]}"
else
  clang-format --dry-run --Werror "${files[@]}"
fi
mapfile -t sources < <(git ls-files 'src/*.cc')
clang-tidy -p "$build" --quiet "${sources[@]}" 2>/dev/null | grep -E "warning:|error:" && exit 1
echo "check-style: clean"
