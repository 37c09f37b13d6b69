#!/usr/bin/env bash
# scripts/check-includes.sh on a copy of src/ and include/: the tree as it is passes, an
# include the folder rules allow still passes, and each include against them fails the
# check with a line naming the file, the header and the folders.
# Usage: check_includes_test.sh SOURCE_DIR
set -euo pipefail
source_dir=$1
checker=$source_dir/scripts/check-includes.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# fresh_copy: $work/tree as src/ and include/ are now.
fresh_copy() {
  rm -rf "$work/tree"
  mkdir -p "$work/tree"
  cp -r "$source_dir/src" "$source_dir/include" "$work/tree/"
}

# expect_rejected FILE INCLUDE WORDS: adding INCLUDE to FILE fails the check with WORDS.
expect_rejected() {
  fresh_copy
  printf '\n#include "%s"\n' "$2" >>"$work/tree/$1"  # on a line of its own
  if "$checker" "$work/tree" >"$work/out" 2>&1; then
    fail "$1 including $2 passed the check"
  fi
  grep -qF "$1:" "$work/out" || fail "no line names $1: $(cat "$work/out")"
  grep -qF "$3" "$work/out" || fail "no line says '$3': $(cat "$work/out")"
}

fresh_copy
"$checker" "$work/tree" >"$work/out" 2>&1 || fail "the tree as it is: $(cat "$work/out")"
echo '#include "src/daemon/security/user_open.h"' >>"$work/tree/src/daemon/transfer/file_copy.cc"
"$checker" "$work/tree" >"$work/out" 2>&1 || fail "an allowed include: $(cat "$work/out")"

expect_rejected src/daemon/core/store.cc src/daemon/rpc/dispatcher.h \
  '(src/daemon/rpc), which src/daemon/core may not'
expect_rejected src/daemon/transfer/file_copy.cc src/daemon/core/validation.h \
  '(src/daemon/core), which src/daemon/transfer may not'
expect_rejected src/cli/format.cc src/daemon/core/validation.h \
  '(src/daemon/core), which src/cli may not'
expect_rejected include/openbits/client.h src/common/utf8.h \
  '(src/common), which include/openbits may not'
fresh_copy
mkdir "$work/tree/src/unlisted"
touch "$work/tree/src/unlisted/a.cc"
if "$checker" "$work/tree" >"$work/out" 2>&1; then fail "a folder without a row passed"; fi
grep -qF 'src/unlisted/a.cc: its folder has no row' "$work/out" || fail "$(cat "$work/out")"
echo "PASS"
