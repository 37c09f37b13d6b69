#!/usr/bin/env bash
# Idle-bandwidth benchmark (docs/bandwidth.md "Yielding to other traffic", docs/performance.md
# "Yielding"): two network namespaces joined by a veth pair, the link toward the client
# shaped by tc tbf (RATE_MBIT, default 50 Mbit/s, with QUEUE_MS, default 150 ms, of queue: a
# bufferbloated home link), nginx in the server namespace, bitsd and curl in the client one.
# For a NORMAL job and then a FOREGROUND one, in one run:
#   (a) curl alone: its rate (curl's own average over the whole file)
#   (b) the job alone: bytes its temp file gained over WINDOW s (default 6), % of the link
#   (c) curl while the job runs: % of (a); the job's rate meanwhile
#   (d) after curl ends: seconds until the job's rate over 0.5 s is back above 80 % of the link
# Every file downloaded is compared with the origin (cmp). Reported with the load average.
# Usage (as root): bench/yield_bench.sh [BUILD_DIR]. Without BUILD_DIR it builds bitsd and
# bitsadmin with the release preset (-j2) into build-release. LOG_LEVEL=debug shows the
# yield's state changes on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-}
RATE_MBIT=${RATE_MBIT:-50}
QUEUE_MS=${QUEUE_MS:-150}
WINDOW=${WINDOW:-6}
JOB_MB=${JOB_MB:-320}
CURL_MB=${CURL_MB:-48}
YIELD=${YIELD:-true}
if [ -z "$BUILD" ]; then
  cmake --preset release >/dev/null
  cmake --build --preset release -j2 --target bitsd bitsadmin >/dev/null
  BUILD=build-release
fi
BIN=$(cd "$BUILD/bin" && pwd)
LINK=$((RATE_MBIT * 1000000 / 8))  # bytes/s
NS_S=yieldbs NS_C=yieldbc
NET=10.77.251
WORK=$(mktemp -d /var/tmp/openbits-yieldbench-XXXXXX)
cleanup() {
  [ -n "${BITSD_PID:-}" ] && kill "$BITSD_PID" 2>/dev/null || true
  [ -n "${NGINX_PID:-}" ] && kill "$NGINX_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  ip netns del "$NS_C" 2>/dev/null || true
  ip netns del "$NS_S" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# The link: client yieldba (.1) <-> server yieldbb (.2), shaped on the server's side.
ip netns del "$NS_C" 2>/dev/null || true
ip netns del "$NS_S" 2>/dev/null || true
ip netns add "$NS_S"
ip netns add "$NS_C"
ip link add yieldba netns "$NS_C" type veth peer name yieldbb netns "$NS_S"
ip -n "$NS_C" addr add "$NET.1/24" dev yieldba
ip -n "$NS_S" addr add "$NET.2/24" dev yieldbb
for ns in "$NS_C" "$NS_S"; do ip -n "$ns" link set lo up; done
ip -n "$NS_C" link set yieldba up
ip -n "$NS_S" link set yieldbb up
ip netns exec "$NS_S" tc qdisc add dev yieldbb root tbf rate "${RATE_MBIT}mbit" burst 64kb \
  latency "${QUEUE_MS}ms"

mkdir -p "$WORK/www" "$WORK/nginx" "$WORK/dl"
head -c $((JOB_MB << 20)) /dev/urandom >"$WORK/www/job.bin"
head -c $((CURL_MB << 20)) /dev/urandom >"$WORK/www/curl.bin"
cat >"$WORK/nginx/nginx.conf" <<CONF
worker_processes 1; daemon off; master_process off; user root;
pid $WORK/nginx/nginx.pid; error_log $WORK/nginx/error.log;
events { worker_connections 64; }
http { access_log off; sendfile on;
  client_body_temp_path $WORK/nginx; proxy_temp_path $WORK/nginx; fastcgi_temp_path $WORK/nginx;
  uwsgi_temp_path $WORK/nginx; scgi_temp_path $WORK/nginx;
  server { listen $NET.2:8080; root $WORK/www; } }
CONF
# YIELD=none: no key at all (a bitsd from before the key, for the figures without yield).
if [ "$YIELD" = none ]; then echo "{}"; else echo "{\"bandwidth_yield\": $YIELD}"; fi >"$WORK/bitsd.json"
ip netns exec "$NS_S" nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" &
NGINX_PID=$!
export OPENBITS_SOCKET="$WORK/bitsd.sock"
ip netns exec "$NS_C" "$BIN/bitsd" --state-dir "$WORK/state" --socket "$OPENBITS_SOCKET" \
  --config "$WORK/bitsd.json" --log-level "${LOG_LEVEL:-warn}" &
BITSD_PID=$!
URL="http://$NET.2:8080"
in_client() { ip netns exec "$NS_C" "$@"; }
for _ in $(seq 100); do  # both servers up, at most 10 s
  [ -S "$OPENBITS_SOCKET" ] && in_client curl -sfI -o /dev/null "$URL/job.bin" && break
  sleep 0.1
done
[ -S "$OPENBITS_SOCKET" ] || { echo "bench: bitsd did not start" >&2; exit 1; }
BA="$BIN/bitsadmin"

size_of() { stat -c %s "$1" 2>/dev/null || echo 0; }
temp_of() { find "$1" -maxdepth 1 -name '.BIT*.tmp' | head -1; }
pct() { echo "scale=1; 100 * $1 / $2" | bc -l; }
# curl_rate OUT: downloads curl.bin, checks it, prints curl's average rate (B/s).
curl_rate() {
  local rate
  rate=$(in_client curl -sf -o "$1" -w '%{speed_download}' "$URL/curl.bin")
  cmp -s "$1" "$WORK/www/curl.bin" || { echo "bench: curl's copy differs" >&2; exit 1; }
  rm -f "$1"
  printf '%.0f\n' "$rate"
}
# recovery FILE: seconds from now until FILE grew by 80 % of the link's rate over 0.5 s.
recovery() {
  python3 - "$1" "$LINK" <<'PY'
import os, sys, time
path, link = sys.argv[1], int(sys.argv[2])
start = time.monotonic()
seen = []  # (time, size)
while time.monotonic() - start < 30:
    now = time.monotonic()
    if not os.path.exists(path):
        print("- (the job ended first)")
        sys.exit(0)
    seen.append((now, os.stat(path).st_size))
    old = [s for s in seen if now - s[0] >= 0.5]
    if old and (seen[-1][1] - old[-1][1]) / (now - old[-1][0]) >= 0.8 * link:
        print(f"{old[-1][0] - start:.2f}")
        sys.exit(0)
    time.sleep(0.05)
print("none in 30")
PY
}
# run_case PRIORITY: (b), (c), (d) for one job of PRIORITY, then checks its file.
run_case() {
  local prio=$1 dir="$WORK/dl/$1" id temp before after job_during solo_curl rate d state
  mkdir -p "$dir"
  id=$("$BA" /rawreturn /create "$prio-job")
  "$BA" /setpriority "$id" "$prio" >/dev/null
  "$BA" /addfile "$id" "$URL/job.bin" "$dir/job.bin" >/dev/null
  "$BA" /resume "$id" >/dev/null
  for _ in $(seq 100); do temp=$(temp_of "$dir"); [ -n "$temp" ] && break; sleep 0.1; done
  sleep 2
  before=$(size_of "$temp"); sleep "$WINDOW"; after=$(size_of "$temp")
  rate=$(((after - before) / WINDOW))
  echo "| $prio | (b) job alone | $rate B/s | $(pct "$rate" "$LINK") % of the link |"
  before=$(size_of "$temp")
  local t0 t1
  t0=$(date +%s.%N)
  rate=$(curl_rate "$WORK/curl-beside.bin")
  t1=$(date +%s.%N)
  after=$(size_of "$temp")
  job_during=$(echo "($after - $before) / ($t1 - $t0)" | bc)
  echo "| $prio | (c) curl beside the job | $rate B/s | $(pct "$rate" "$SOLO") % of solo |"
  echo "| $prio | (c) the job meanwhile | $job_during B/s | $(pct "$job_during" "$LINK") % of the link |"
  d=$(recovery "$temp")
  echo "| $prio | (d) job back above 80 % of the link after curl ends | $d s | |"
  for _ in $(seq 1200); do
    state=$("$BA" /rawreturn /getstate "$id")
    [ "$state" = TRANSFERRED ] && break
    [ "$state" = ERROR ] && { echo "bench: the $prio job failed" >&2; exit 1; }
    sleep 0.1
  done
  "$BA" /complete "$id" >/dev/null
  cmp -s "$dir/job.bin" "$WORK/www/job.bin" || { echo "bench: the $prio job's file differs" >&2; exit 1; }
  rm -rf "$dir"
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "link: tbf ${RATE_MBIT} Mbit/s ($LINK B/s), ${QUEUE_MS} ms of queue; bandwidth_yield $YIELD"
echo "| job | what | rate | share |"
echo "|---|---|---|---|"
SOLO=$(curl_rate "$WORK/curl-solo.bin")
echo "| - | (a) curl alone | $SOLO B/s | $(pct "$SOLO" "$LINK") % of the link |"
run_case NORMAL
run_case FOREGROUND
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "every file compared with the origin: equal"
