#!/usr/bin/env bash
# README command 1: install what is missing (packages, and the system account
# openbits-resolver, see install-deps.sh), build (release preset), install the binaries
# under /usr/local, and start bitsd as the system instance (root; socket
# /run/openbits/bitsd.sock, store /var/lib/openbits). Re-running restarts bitsd.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake --preset release
cmake --build --preset release
install -m 0755 build-release/bin/bitsd /usr/local/sbin/bitsd
install -m 0755 build-release/bin/bitsd-proxy-resolver /usr/local/sbin/bitsd-proxy-resolver
install -m 0755 build-release/bin/bitsadmin /usr/local/bin/bitsadmin
install -m 0755 build-release/bin/bits-upload-server /usr/local/bin/bits-upload-server
cp -P build-release/lib/libopenbits.so* /usr/local/lib/
mkdir -p /usr/local/include && cp -r include/openbits /usr/local/include/
ldconfig
install -d -m 0700 /var/lib/openbits
install -d -m 0755 /run/openbits /var/log/openbits

if [ -d /run/systemd/system ]; then
  install -m 0644 dist/systemd/bitsd.service /etc/systemd/system/bitsd.service
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
