#!/usr/bin/env bash
# README command 1: install what is missing (packages, and the system account
# openbits-resolver, see install-deps.sh), build (release preset), install it under
# /usr/local with `cmake --install`, and start bitsd as the system instance (root; socket
# /run/openbits/bitsd.sock, store /var/lib/openbits). Re-running restarts bitsd.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake --preset release
cmake --build --preset release
# The install rules (CMakeLists.txt) give installed binaries no RUNPATH into build-release
# (only the installed libdir where needed): bitsd, bitsd-proxy-resolver and
# bits-upload-server to /usr/local/sbin, bitsadmin to /usr/local/bin, libopenbits to
# /usr/local/lib, the headers, the systemd units to /usr/local/lib/systemd/system and the
# docs to /usr/local/share/doc/openbits.
cmake --install build-release --prefix /usr/local
# Earlier versions of this script put bits-upload-server in bin and a copy of the unit in
# /etc/systemd/system (which would shadow the installed one).
rm -f /usr/local/bin/bits-upload-server /etc/systemd/system/bitsd.service
ldconfig
install -d -m 0700 /var/lib/openbits
install -d -m 0755 /run/openbits /var/log/openbits

if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable bitsd >/dev/null
  systemctl restart bitsd
else
  if [ -f /run/openbits/bitsd.pid ] && kill -0 "$(cat /run/openbits/bitsd.pid)" 2>/dev/null; then
    kill -TERM "$(cat /run/openbits/bitsd.pid)"
    for _ in $(seq 50); do kill -0 "$(cat /run/openbits/bitsd.pid)" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f /run/openbits/bitsd.sock
  # The system instance must not pick up a caller's OPENBITS_SOCKET.
  # bitsd opens its log itself (--log): root:adm 0640, an older 0644 file included.
  env -u OPENBITS_SOCKET setsid /usr/local/sbin/bitsd --log /var/log/openbits/bitsd.log \
    </dev/null >/dev/null 2>&1 &
  echo $! >/run/openbits/bitsd.pid
fi

for _ in $(seq 100); do
  [ -S /run/openbits/bitsd.sock ] && break
  if [ -f /run/openbits/bitsd.pid ] && ! kill -0 "$(cat /run/openbits/bitsd.pid)" 2>/dev/null; then
    break  # it exited: no point in waiting
  fi
  sleep 0.1
done
if [ ! -S /run/openbits/bitsd.sock ]; then
  echo "setup: bitsd did not start; see /var/log/openbits/bitsd.log or journalctl -u bitsd" >&2
  exit 1
fi
echo "setup: bitsd is running (socket /run/openbits/bitsd.sock). Try: bitsadmin /list"
