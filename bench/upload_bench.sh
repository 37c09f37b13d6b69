#!/usr/bin/env bash
# Upload benchmark: a file (default 256 MiB) uploaded over loopback.
#   * bitsd: an UPLOAD job (FOREGROUND, `bitsadmin /transfer /upload`) to bits-upload-server,
#     the BITS upload protocol (Create-Session, Content-Range fragments sized by the
#     measured rate up to upload_fragment_bytes, each acknowledged only once the server has it on disk,
#     Close-Session).
#   * curl: one plain `PUT` of the whole file (`curl -T`) to nginx's WebDAV module, the
#     fastest upload HTTP allows: no sessions, no fragments, nothing resumable.
#   * aria2 does not upload, so it has no row.
# The server's destination is on tmpfs (the engines, not the disk) and on disk (nginx's
# file followed by `sync -d`, since bits-upload-server fdatasyncs every fragment).
# RUNS rounds (default 5), tools interleaved, median per tool; ratios to curl. The CPU column
# is the user + system time of the client (curl, or bitsadmin) and of the servers behind it
# (nginx; bitsd and bits-upload-server): unlike the wall time it barely moves when other
# work loads the machine.
# BEFORE_BUILD=<build dir> adds a "before" row: that build's bitsd and bits-upload-server in
# the same rounds (a change measured against its base).
# PERF_DIR=<dir> records bitsd and both bits-upload-servers with `perf record -g` for the
# whole run (<dir>/bitsd.data, <dir>/server-tmpfs.data, <dir>/server-disk.data).
# Usage (as root, for the tmpfs mount): bench/upload_bench.sh [BUILD_DIR]
set -euo pipefail
BUILD=${1:-build}
SIZE_MB=${SIZE_MB:-256}
RUNS=${RUNS:-5}
# The largest fragment bitsd sends (upload_fragment_bytes); default bitsd's own default.
FRAGMENT_MB=${FRAGMENT_MB:-16}
BIN=$(cd "$BUILD/bin" && pwd)
WORK=$(mktemp -d /var/tmp/openbits-upbench-XXXXXX)
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
NGINX_PORT=$(free_port)
cleanup() {
  for pid in ${PERF_PIDS:-}; do kill -INT "$pid" 2>/dev/null || true; done
  for pid in ${PERF_PIDS:-}; do wait "$pid" 2>/dev/null || true; done
  for pid in ${BITSD_PIDS:-} ${NGINX_PID:-} ${SERVER_PIDS:-}; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  mountpoint -q "$WORK/tmpfs" && umount "$WORK/tmpfs"
  rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$WORK/src" "$WORK/disk" "$WORK/tmpfs" "$WORK/nginx"
mount -t tmpfs -o size=$((SIZE_MB * 6 + 64))m tmpfs "$WORK/tmpfs"
mkdir -p "$WORK/tmpfs/src" "$WORK/tmpfs/nginx-temp" "$WORK/disk/nginx-temp"
# The source lives in tmpfs so that reading it costs the same for every tool.
head -c $((SIZE_MB << 20)) /dev/urandom >"$WORK/tmpfs/src/file.bin"
SRC="$WORK/tmpfs/src/file.bin"

cat >"$WORK/nginx/nginx.conf" <<CONF
worker_processes 1; daemon off; master_process off; user root;
pid $WORK/nginx/nginx.pid; error_log $WORK/nginx/error.log;
events { worker_connections 64; }
http { access_log off; client_max_body_size 0;
  client_body_temp_path $WORK/nginx; proxy_temp_path $WORK/nginx; fastcgi_temp_path $WORK/nginx;
  uwsgi_temp_path $WORK/nginx; scgi_temp_path $WORK/nginx;
  server { listen 127.0.0.1:$NGINX_PORT; root $WORK;
    location /tmpfs/ { dav_methods PUT; create_full_put_path on;
      client_body_temp_path $WORK/tmpfs/nginx-temp; }
    location /disk/ { dav_methods PUT; create_full_put_path on;
      client_body_temp_path $WORK/disk/nginx-temp; } } }
CONF
nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" &
NGINX_PID=$!

# A "flavour" is one build's bitsd with its own bits-upload-server per destination:
# "bitsd" from BUILD_DIR and, when BEFORE_BUILD is set, "before" from that build, run in the
# same rounds so that a change is measured against its base on the same noisy machine.
declare -A UPLOAD_PORT SERVER_PID FLAVOUR_BIN
echo '{"allow_overwrites": true}' >"$WORK/server.json"
echo "{\"upload_fragment_bytes\": $((FRAGMENT_MB << 20))}" >"$WORK/bitsd.json"
start_flavour() {  # NAME BIN
  local name=$1 bin=$2 port target
  FLAVOUR_BIN[$name]=$bin
  for target in tmpfs disk; do
    mkdir -p "$WORK/$target/$name"
    port=$(free_port)
    "$bin/bits-upload-server" --listen "127.0.0.1:$port" --root "$WORK/$target/$name" \
      --config "$WORK/server.json" >/dev/null 2>"$WORK/server-$name-$target.log" &
    SERVER_PIDS="${SERVER_PIDS:-} $!"
    SERVER_PID[$name-$target]=$!
    UPLOAD_PORT[$name-$target]=$port
  done
  "$bin/bitsd" --state-dir "$WORK/state-$name" --socket "$WORK/$name.sock" \
    --config "$WORK/bitsd.json" --log-level warn &
  BITSD_PIDS="${BITSD_PIDS:-} $!"
  BITSD_PID[$name]=$!
}
declare -A BITSD_PID
TOOLS="curl bitsd"
start_flavour bitsd "$BIN"
if [ -n "${BEFORE_BUILD:-}" ]; then
  start_flavour before "$(cd "$BEFORE_BUILD/bin" && pwd)"
  TOOLS="$TOOLS before"
fi
for _ in $(seq 100); do  # all servers up, at most 10 s
  [ -S "$WORK/bitsd.sock" ] && curl -s -o /dev/null "http://127.0.0.1:$NGINX_PORT/" && break
  sleep 0.1
done
sleep 0.5
[ -S "$WORK/bitsd.sock" ] || { echo "bench: bitsd did not start" >&2; exit 1; }
if [ -n "${PERF_DIR:-}" ]; then
  mkdir -p "$PERF_DIR"
  perf record -q --call-graph "${PERF_CALL_GRAPH:-fp}" -o "$PERF_DIR/bitsd.data" \
    -p "${BITSD_PID[bitsd]}" 2>/dev/null &
  PERF_PIDS="$!"
  for target in tmpfs disk; do
    perf record -q --call-graph "${PERF_CALL_GRAPH:-fp}" -o "$PERF_DIR/server-$target.data" \
      -p "${SERVER_PID[bitsd-$target]}" 2>/dev/null &
    PERF_PIDS="$PERF_PIDS $!"
  done
fi

now() { date +%s.%N; }
# CPU seconds (user + system) the processes PIDS have used so far.
cpu_of() {
  local ticks=0 pid fields
  for pid; do
    read -r -a fields <"/proc/$pid/stat"
    ticks=$((ticks + fields[13] + fields[14]))
  done
  echo "$ticks / $(getconf CLK_TCK)" | bc -l
}
# The long-running processes behind a tool's upload to TARGET.
servers_of() {
  case $1 in
    curl) echo "$NGINX_PID" ;;
    *) echo "${BITSD_PID[$1]} ${SERVER_PID[$1-$2]}" ;;
  esac
}
# time_one TOOL TARGET -> "<wall seconds> <CPU seconds of the client and its servers>"
time_one() {
  local tool=$1 target=$2 out start end cpu0 cpu1
  case $tool in
    curl) out="$WORK/$target/put/file.bin" ;;
    *) out="$WORK/$target/$tool/file.bin" ;;
  esac
  rm -f "$out"
  sync
  cpu0=$(cpu_of $(servers_of "$tool" "$target"))
  start=$(now)
  case $tool in
    curl)
      /usr/bin/time -f "%U %S" -o "$WORK/client.cpu" \
        curl -sf -T "$SRC" "http://127.0.0.1:$NGINX_PORT/$target/put/file.bin"
      [ "$target" = disk ] && sync -d "$out" ;;
    *)
      OPENBITS_SOCKET="$WORK/$tool.sock" /usr/bin/time -f "%U %S" -o "$WORK/client.cpu" \
        "${FLAVOUR_BIN[$tool]}/bitsadmin" /rawreturn /transfer upbench /upload \
        /priority FOREGROUND "http://127.0.0.1:${UPLOAD_PORT[$tool-$target]}/file.bin" \
        "$SRC" >/dev/null ;;
  esac
  end=$(now)
  cpu1=$(cpu_of $(servers_of "$tool" "$target"))
  cmp -s "$out" "$SRC" || { echo "bench: $tool produced a wrong file" >&2; exit 1; }
  read -r user sys <"$WORK/client.cpu"
  echo "$end - $start" | bc -l
  echo "$cpu1 - $cpu0 + $user + $sys" | bc -l
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| server's destination | tool | median s | MB/s | ratio to curl | median CPU s |"
echo "|---|---|---|---|---|---|"
for target in tmpfs disk; do
  declare -A times=() cpus=() med=()
  for _ in $(seq "$RUNS"); do
    for tool in $TOOLS; do
      { read -r wall; read -r cpu; } < <(time_one "$tool" "$target")
      [ -n "$cpu" ] || exit 1
      times[$tool]+="$wall "
      cpus[$tool]+="$cpu "
    done
  done
  for tool in $TOOLS; do
    med[$tool]=$(tr ' ' '\n' <<<"${times[$tool]}" | grep . | median)
    cpu=$(tr ' ' '\n' <<<"${cpus[$tool]}" | grep . | median)
    mbs=$(echo "$SIZE_MB * 1.048576 / ${med[$tool]}" | bc -l)
    ratio=$(echo "${med[curl]} / ${med[$tool]}" | bc -l)
    printf "| %s | %s | %.3f | %.0f | %.2f | %.2f |\n" "$target" "$tool" "${med[$tool]}" "$mbs" \
      "$ratio" "$cpu"
  done
  unset med times cpus
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
