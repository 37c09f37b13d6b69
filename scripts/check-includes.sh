#!/usr/bin/env bash
# Checks that every #include "..." under src/ and include/ points the way the folders may
# depend on each other (the table below; docs/architecture.md shows it per folder). A folder
# may always include its own files and the public headers (include/openbits); a file belongs
# to the longest folder of the table that contains it, and so does an included header. A
# file in a folder the table does not name fails too: a new folder needs its row first.
# Needs only bash and grep (no build, no clang), so it runs first in check-style.sh and in
# test.sh. Prints one line per offending include and exits 1 if there is any.
# Usage: scripts/check-includes.sh [SOURCE_ROOT]   (default: the repository)
set -euo pipefail
root=${1:-"$(dirname "$0")/.."}
cd "$root"

daemon_all="src/daemon src/daemon/core src/daemon/transfer src/daemon/security"
daemon_all+=" src/daemon/platform src/daemon/notify src/daemon/rpc src/daemon/peer"
# folder -> the other folders it may include (besides itself and include/openbits).
declare -A may_include=(
  [include/openbits]=""
  [src/common]=""
  [src/protocol]="src/common"
  [src/net]="src/common"
  [src/client]="src/protocol src/common"
  [src/cli]="src/common"
  [src/upload_server]="src/net src/common"
  [src/daemon/security]="src/common"
  [src/daemon/transfer]="src/daemon/security src/common"
  [src/daemon/platform]="src/daemon/security src/common"
  [src/daemon/core]="src/daemon/transfer src/daemon/security src/daemon/platform src/protocol src/common"
  [src/daemon/notify]="src/daemon/core src/daemon/platform src/daemon/security src/protocol src/common"
  [src/daemon/peer]="src/daemon/core src/daemon/transfer src/daemon/platform src/daemon/security src/net src/protocol src/common"
  [src/daemon/rpc]="src/daemon/core src/daemon/notify src/daemon/peer src/daemon/platform src/daemon/security src/protocol src/common"
  [src/daemon]="$daemon_all src/net src/protocol src/common"
  [src/proxy_resolver]=""
)

# folder_of PATH: sets folder to the longest folder of the table that contains PATH, or "".
# (Results go through a variable, not $(...): no fork per include keeps the check fast.)
folder_of() {
  local dir=${1%/*} candidate
  folder=""
  for candidate in "${!may_include[@]}"; do
    if [[ $dir == "$candidate" || $dir == "$candidate"/* ]] && ((${#candidate} > ${#folder})); then
      folder=$candidate
    fi
  done
}

# target_of FILE INCLUDE: sets target to the repository path INCLUDE names ("openbits/x.h"
# is public, a name without a top folder is next to FILE).
target_of() {
  case $2 in
    src/*) target=$2 ;;
    openbits/*) target=include/$2 ;;
    *) target=${1%/*}/$2 ;;
  esac
}

# allowed FROM TO: whether folder FROM may include a header of folder TO.
allowed() {
  [[ $2 == "$1" || $2 == include/openbits ]] && return 0
  [[ " ${may_include[$1]} " == *" $2 "* ]]
}

bad=0
mapfile -t files < <(find src include -type f \( -name '*.cc' -o -name '*.h' \) | sort)
for file in "${files[@]}"; do
  folder_of "$file"
  if [ -z "$folder" ]; then
    echo "$file: its folder has no row in scripts/check-includes.sh"
    bad=1
  fi
done
# One grep over every file: FILE:LINE:#include "HEADER".
while IFS=: read -r file line directive; do
  folder_of "$file"
  from=$folder
  [ -n "$from" ] || continue
  include=${directive#*\"}
  include=${include%\"*}
  target_of "$file" "$include"
  folder_of "$target"
  if ! allowed "$from" "$folder"; then
    echo "$file:$line: includes \"$include\" (${folder:-outside every folder}), which $from may not"
    bad=1
  fi
done < <(grep -HnoE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[^"]+"' "${files[@]}")

if ((bad)); then
  echo "check-includes: includes against the folder rules above (scripts/check-includes.sh)"
  exit 1
fi
echo "check-includes: clean (${#files[@]} files)"
