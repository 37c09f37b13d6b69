#!/usr/bin/env bash
# Download benchmark: a file (default 1 GiB) from nginx on loopback into one directory,
# bitsd (a FOREGROUND job through `bitsadmin /transfer`) against `curl -o` and `aria2c`,
# RUNS rounds (default 7) with the tools interleaved in each round, median per tool,
# reported as MB/s and as ratios to curl.
#   * "engine" run: destination on tmpfs, so the disk does not hide the engine.
#   * "durable" run: destination on disk; curl and aria2 are followed by an fdatasync of
#     the file (sync -d), since bitsd's progress is durable by design.
# Usage (as root, for the tmpfs mount): bench/download_bench.sh [BUILD_DIR]
set -euo pipefail
BUILD=${1:-build}
SIZE_MB=${SIZE_MB:-1024}
RUNS=${RUNS:-7}
BIN=$(cd "$BUILD/bin" && pwd)
WORK=$(mktemp -d /var/tmp/openbits-bench-XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() {
  [ -n "${BITSD_PID:-}" ] && kill "$BITSD_PID" 2>/dev/null || true
  [ -n "${NGINX_PID:-}" ] && kill "$NGINX_PID" 2>/dev/null || true
  mountpoint -q "$WORK/tmpfs" && umount "$WORK/tmpfs"
  rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$WORK/www" "$WORK/disk" "$WORK/tmpfs" "$WORK/nginx"
head -c $((SIZE_MB << 20)) /dev/urandom >"$WORK/www/file.bin"
mount -t tmpfs -o size=$((SIZE_MB * 2 + 64))m tmpfs "$WORK/tmpfs"
cat >"$WORK/nginx/nginx.conf" <<CONF
worker_processes 1; daemon off; master_process off; user root;
pid $WORK/nginx/nginx.pid; error_log $WORK/nginx/error.log;
events { worker_connections 64; }
http { access_log off; sendfile on;
  client_body_temp_path $WORK/nginx; proxy_temp_path $WORK/nginx; fastcgi_temp_path $WORK/nginx;
  uwsgi_temp_path $WORK/nginx; scgi_temp_path $WORK/nginx;
  server { listen 127.0.0.1:$PORT; root $WORK/www; } }
CONF
nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" &
NGINX_PID=$!
export OPENBITS_SOCKET="$WORK/bitsd.sock"
"$BIN/bitsd" --state-dir "$WORK/state" --socket "$OPENBITS_SOCKET" --log-level warn &
BITSD_PID=$!
URL="http://127.0.0.1:$PORT/file.bin"
for _ in $(seq 100); do  # both servers up, at most 10 s
  [ -S "$OPENBITS_SOCKET" ] && curl -sfI -o /dev/null "$URL" && break
  sleep 0.1
done
[ -S "$OPENBITS_SOCKET" ] || { echo "bench: bitsd did not start" >&2; exit 1; }

now() { date +%s.%N; }
# time_one TOOL DIR DURABLE -> seconds
time_one() {
  local tool=$1 dir=$2 durable=$3 out="$2/file.bin" start end
  rm -f "$out"
  sync
  start=$(now)
  case $tool in
    bitsd) "$BIN/bitsadmin" /rawreturn /transfer bench /priority FOREGROUND "$URL" "$out" >/dev/null ;;
    curl) curl -s -o "$out" "$URL"; [ "$durable" = 1 ] && sync -d "$out" ;;
    aria2) aria2c -q -x1 --file-allocation=none --allow-overwrite=true -d "$dir" -o file.bin "$URL"
           [ "$durable" = 1 ] && sync -d "$out" ;;
  esac
  end=$(now)
  cmp -s "$out" "$WORK/www/file.bin" || { echo "bench: $tool produced a wrong file" >&2; exit 1; }
  echo "$end - $start" | bc -l
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "| destination | tool | median s | MB/s | ratio to curl |"
echo "|---|---|---|---|---|"
for target in tmpfs disk; do
  dir="$WORK/$target"; durable=0; [ "$target" = disk ] && durable=1
  # Rounds interleave the tools so that drift in the machine's speed hits all of them.
  declare -A times=() med=()
  for _ in $(seq "$RUNS"); do
    for tool in curl bitsd aria2; do
      times[$tool]+="$(time_one $tool "$dir" $durable) "
    done
  done
  for tool in curl bitsd aria2; do
    med[$tool]=$(tr ' ' '\n' <<<"${times[$tool]}" | grep . | median)
  done
  for tool in curl bitsd aria2; do
    mbs=$(echo "$SIZE_MB * 1.048576 / ${med[$tool]}" | bc -l)
    ratio=$(echo "${med[curl]} / ${med[$tool]}" | bc -l)
    printf "| %s | %s | %.3f | %.0f | %.2f |\n" "$target" "$tool" "${med[$tool]}" "$mbs" "$ratio"
  done
  unset med times
done
