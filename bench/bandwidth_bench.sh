#!/usr/bin/env bash
# Bandwidth-limit benchmark (docs/bandwidth.md, docs/performance.md "Bandwidth limits"):
# nginx on loopback, bitsd with bandwidth_limits {"normal": LIMIT} and two background places.
# In one run, interleaved ROUNDS times (default 3):
#   (a) one NORMAL job: bytes its temp file gained over WINDOW s (default 10), after 2 s
#   (b) two NORMAL jobs under the one limit: the same, each and together
#   (c) curl --limit-rate LIMIT, the reference, measured the same way
# Each is reported as B/s and as the ratio to the limit (goal: within +/-5 %), with the load
# average. Destination on tmpfs. Usage (as root): bench/bandwidth_bench.sh [BUILD_DIR]
set -euo pipefail
BUILD=${1:-build}
LIMIT=${LIMIT:-2000000}
WINDOW=${WINDOW:-10}
ROUNDS=${ROUNDS:-3}
SIZE_MB=${SIZE_MB:-96}
BIN=$(cd "$BUILD/bin" && pwd)
WORK=$(mktemp -d /var/tmp/openbits-bwbench-XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() {
  [ -n "${CURL_PID:-}" ] && kill "$CURL_PID" 2>/dev/null || true
  [ -n "${BITSD_PID:-}" ] && kill "$BITSD_PID" 2>/dev/null || true
  [ -n "${NGINX_PID:-}" ] && kill "$NGINX_PID" 2>/dev/null || true
  mountpoint -q "$WORK/tmpfs" && umount "$WORK/tmpfs"
  rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$WORK/www" "$WORK/tmpfs" "$WORK/nginx"
head -c $((SIZE_MB << 20)) /dev/urandom >"$WORK/www/file.bin"
mount -t tmpfs -o size=$((SIZE_MB * 4 + 64))m tmpfs "$WORK/tmpfs"
cat >"$WORK/nginx/nginx.conf" <<CONF
worker_processes 1; daemon off; master_process off; user root;
pid $WORK/nginx/nginx.pid; error_log $WORK/nginx/error.log;
events { worker_connections 64; }
http { access_log off; sendfile on;
  client_body_temp_path $WORK/nginx; proxy_temp_path $WORK/nginx; fastcgi_temp_path $WORK/nginx;
  uwsgi_temp_path $WORK/nginx; scgi_temp_path $WORK/nginx;
  server { listen 127.0.0.1:$PORT; root $WORK/www; } }
CONF
echo "{\"bandwidth_limits\": {\"normal\": $LIMIT}, \"max_background_jobs\": 2}" >"$WORK/bitsd.json"
nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" &
NGINX_PID=$!
export OPENBITS_SOCKET="$WORK/bitsd.sock"
"$BIN/bitsd" --state-dir "$WORK/state" --socket "$OPENBITS_SOCKET" --config "$WORK/bitsd.json" \
  --log-level warn &
BITSD_PID=$!
URL="http://127.0.0.1:$PORT/file.bin"
for _ in $(seq 100); do  # both servers up, at most 10 s
  [ -S "$OPENBITS_SOCKET" ] && curl -sfI -o /dev/null "$URL" && break
  sleep 0.1
done
[ -S "$OPENBITS_SOCKET" ] || { echo "bench: bitsd did not start" >&2; exit 1; }
BA="$BIN/bitsadmin"

size_of() { stat -c %s "$@" 2>/dev/null | awk '{s += $1} END {print s + 0}'; }
temp_of() { find "$1" -maxdepth 1 -name '.BIT*.tmp' | head -1; }
# gained FILE... : bytes the files grew by over WINDOW s, after 2 s of warm-up.
gained() {
  sleep 2
  local before after
  before=$(size_of "$@")
  sleep "$WINDOW"
  after=$(size_of "$@")
  echo $((after - before))
}
# start_job NAME DIR -> the job's GUID, transferring into DIR
start_job() {
  local id
  mkdir -p "$2"
  id=$("$BA" /rawreturn /create "$1")
  "$BA" /addfile "$id" "$URL" "$2/file.bin" >/dev/null
  "$BA" /resume "$id" >/dev/null
  echo "$id"
}
wait_temp() { for _ in $(seq 100); do [ -n "$(temp_of "$1")" ] && return; sleep 0.1; done; }

one_job() {
  local dir="$WORK/tmpfs/one" id
  id=$(start_job one "$dir"); wait_temp "$dir"
  gained "$(temp_of "$dir")"
  "$BA" /cancel "$id" >/dev/null; rm -rf "$dir"
}
two_jobs() {
  local a="$WORK/tmpfs/a" b="$WORK/tmpfs/b" ia ib ta tb before_a before_b
  ia=$(start_job a "$a"); ib=$(start_job b "$b"); wait_temp "$a"; wait_temp "$b"
  ta=$(temp_of "$a"); tb=$(temp_of "$b")
  sleep 2
  before_a=$(size_of "$ta"); before_b=$(size_of "$tb")
  sleep "$WINDOW"
  echo "$(($(size_of "$ta") - before_a)) $(($(size_of "$tb") - before_b))"
  "$BA" /cancel "$ia" >/dev/null; "$BA" /cancel "$ib" >/dev/null; rm -rf "$a" "$b"
}
curl_limited() {
  local out="$WORK/tmpfs/curl.bin" n
  curl -s --limit-rate "$LIMIT" -o "$out" "$URL" &
  CURL_PID=$!
  for _ in $(seq 100); do [ -e "$out" ] && break; sleep 0.1; done
  n=$(gained "$out")
  kill "$CURL_PID" 2>/dev/null || true; wait "$CURL_PID" 2>/dev/null || true; CURL_PID=
  rm -f "$out"
  echo "$n"
}
ratio() { echo "scale=3; $1 / ($LIMIT * $WINDOW)" | bc -l; }

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| round | what | bytes in ${WINDOW} s | B/s | ratio to the limit ($LIMIT B/s) |"
echo "|---|---|---|---|---|"
for r in $(seq "$ROUNDS"); do
  n=$(curl_limited)
  echo "| $r | curl --limit-rate | $n | $((n / WINDOW)) | $(ratio "$n") |"
  n=$(one_job)
  echo "| $r | one NORMAL job | $n | $((n / WINDOW)) | $(ratio "$n") |"
  read -r a b < <(two_jobs)
  echo "| $r | two NORMAL jobs, together | $((a + b)) | $(((a + b) / WINDOW)) | $(ratio $((a + b))) |"
  echo "| $r | two NORMAL jobs, each | $a / $b | $((a / WINDOW)) / $((b / WINDOW)) | $(ratio "$a") / $(ratio "$b") |"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
