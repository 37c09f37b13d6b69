#!/usr/bin/env bash
# install_test.sh BUILD_DIR SOURCE_DIR [CMAKE]: runs `cmake --install` of BUILD_DIR into a DESTDIR
# staging directory (prefix /usr/local, as scripts/setup.sh installs) and checks what a
# root-run binary would load: every installed ELF file has no RPATH, and any RUNPATH names
# only directories inside the prefix; no installed file names the build or source tree.
# Also checks that everything setup.sh installs is there (issue 12, item 1).
set -euo pipefail
shopt -s nullglob
build=$(realpath "$1")
source=$(realpath "$2")
cmake=${3:-cmake}
prefix=/usr/local
stage=$(mktemp -d "${TMPDIR:-/tmp}/openbits-install.XXXXXX")
trap 'rm -rf "$stage"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

DESTDIR="$stage" "$cmake" --install "$build" --prefix "$prefix" >"$stage.log" 2>&1 ||
  { cat "$stage.log" >&2; rm -f "$stage.log"; exit 1; }
rm -f "$stage.log"
root="$stage$prefix"

for path in sbin/bitsd sbin/bitsd-proxy-resolver sbin/bits-upload-server bin/bitsadmin \
  lib/libopenbits.so lib/libopenbits.so.0 include/openbits/client.h \
  lib/systemd/system/bitsd.service lib/systemd/system/bits-upload-server.service \
  share/doc/openbits/README.md share/doc/openbits/docs/security.md; do
  [ -e "$root/$path" ] || fail "$prefix/$path is not installed"
done
[ -e "$root/bin/bits-upload-server" ] && fail "bits-upload-server is installed twice (bin and sbin)"

elf_count=0
while IFS= read -r -d '' file; do
  readelf -h "$file" >/dev/null 2>&1 || continue
  elf_count=$((elf_count + 1))
  name=${file#"$stage"}
  dynamic=$(readelf -d "$file" 2>/dev/null || true)
  if grep -q '(RPATH)' <<<"$dynamic"; then fail "$name has an RPATH: $(grep '(RPATH)' <<<"$dynamic")"; fi
  runpath=$(sed -n 's/.*(RUNPATH).*Library runpath: \[\(.*\)\]/\1/p' <<<"$dynamic")
  IFS=: read -r -a entries <<<"$runpath"
  for entry in "${entries[@]}"; do
    case "$entry" in
      "$prefix"/*) ;;
      *) fail "$name has RUNPATH entry '$entry' outside $prefix" ;;
    esac
  done
  for tree in "$build" "$source"; do
    if grep -qF "$tree" <<<"$dynamic"; then fail "$name's dynamic section names $tree"; fi
  done
done < <(find "$stage" -type f -print0)
[ "$elf_count" -ge 5 ] || fail "only $elf_count ELF files installed"

# Text files (units, docs, headers) must not point into the checkout either.
if matches=$(grep -rlIF -e "$build" "$stage"); then fail "files name the build tree: $matches"; fi
for unit in "$root"/lib/systemd/system/*.service; do
  grep -q "^ExecStart=$prefix/sbin/" "$unit" || fail "$unit does not start $prefix/sbin/..."
  doc=$(sed -n 's|^Documentation=file://||p' "$unit")
  [ -n "$doc" ] && [ -e "$stage$doc" ] || fail "$unit: Documentation= names $doc, not installed"
done

if [ "$failures" -ne 0 ]; then exit 1; fi
echo "install_test: $elf_count ELF files, no build path, RUNPATH only inside $prefix"
