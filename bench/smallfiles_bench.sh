#!/usr/bin/env bash
# Many-small-files benchmark: FILES files (default 1,000) of random sizes 1-32 KiB, made
# fresh from /dev/urandom at every run, served by nginx on loopback into a directory on
# disk (/var/tmp), RUNS rounds (default 5) with the tools interleaved in each round, median
# per tool, reported as files/s and as ratios to sequential curl.
#   * bitsd: one job holding every file (`bitsadmin /addfileset`). Timed: from job.resume
#     to the queue event (manager.subscribe) that shows the job TRANSFERRED
#     (smallfiles_wait.py: no polling, so the bench adds no work per file to bitsd);
#     /complete (the renames) follows, untimed. Every file counted transferred is
#     fdatasync'd by design.
#   * curl: `curl -K list`, the files one after another over one kept-alive connection,
#     as BITS moves a job's files; `curl -Z --parallel-max 50 -K list` for context.
#   * aria2: `aria2c -j16 -i list` for context.
#   curl and aria2 are followed by a `sync -f` of the destination (syncfs), counted in
#   their time, since bitsd's files are durable when it calls them transferred.
# Every file of every tool is compared with its source (cmp).
# Usage: bench/smallfiles_bench.sh [BUILD_DIR]   (FILES, RUNS, TOOLS, BITSD_WRAP: see below)
set -euo pipefail
BUILD=${1:-build}
FILES=${FILES:-1000}
RUNS=${RUNS:-5}
TOOLS=${TOOLS:-"curl bitsd curl-z50 aria2"}
BIN=$(cd "$BUILD/bin" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d /var/tmp/openbits-sfbench-XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() {
  [ -n "${BITSD_PID:-}" ] && kill "$BITSD_PID" 2>/dev/null || true
  [ -n "${NGINX_PID:-}" ] && kill "$NGINX_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$WORK/www" "$WORK/out" "$WORK/nginx"
python3 - "$WORK/www" "$FILES" <<'PY'
import os, random, sys
for i in range(int(sys.argv[2])):
    with open(os.path.join(sys.argv[1], f"f{i:05d}.bin"), "wb") as f:
        f.write(os.urandom(random.randint(1024, 32 * 1024)))
PY
cat >"$WORK/nginx/nginx.conf" <<CONF
worker_processes 1; daemon off; master_process off; user root;
pid $WORK/nginx/nginx.pid; error_log $WORK/nginx/error.log;
events { worker_connections 128; }
http { access_log off; sendfile on; keepalive_requests 100000;
  client_body_temp_path $WORK/nginx; proxy_temp_path $WORK/nginx; fastcgi_temp_path $WORK/nginx;
  uwsgi_temp_path $WORK/nginx; scgi_temp_path $WORK/nginx;
  server { listen 127.0.0.1:$PORT; root $WORK/www; } }
CONF
nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" &
NGINX_PID=$!
# A job of FILES files: the per-job file limit raised in the config.
echo "{\"max_files_per_job\": $((FILES + 1))}" >"$WORK/bitsd.json"
export OPENBITS_SOCKET="$WORK/bitsd.sock"
# BITSD_WRAP: a profiler to run bitsd under, e.g. "perf record -g -o /tmp/perf.data --".
${BITSD_WRAP:-} "$BIN/bitsd" --state-dir "$WORK/state" --socket "$OPENBITS_SOCKET" --config "$WORK/bitsd.json" \
  --log-level warn &
BITSD_PID=$!
BASE="http://127.0.0.1:$PORT"
for _ in $(seq 100); do  # both servers up, at most 10 s
  [ -S "$OPENBITS_SOCKET" ] && curl -sfI -o /dev/null "$BASE/f00000.bin" && break
  sleep 0.1
done
[ -S "$OPENBITS_SOCKET" ] || { echo "bench: bitsd did not start" >&2; exit 1; }

NAMES=$(cd "$WORK/www" && ls)
for n in $NAMES; do echo "$BASE/$n $WORK/out/$n"; done >"$WORK/fileset"
for n in $NAMES; do printf 'url = "%s/%s"\noutput = "%s/out/%s"\n' "$BASE" "$n" "$WORK" "$n"; done \
  >"$WORK/curl.list"
for n in $NAMES; do printf '%s/%s\n  out=%s\n' "$BASE" "$n" "$n"; done >"$WORK/aria2.list"

now() { date +%s.%N; }
bitsadmin() { "$BIN/bitsadmin" /rawreturn "$@"; }
# run_bitsd -> seconds from /resume to TRANSFERRED
run_bitsd() {
  local job
  job=$(bitsadmin /create bench)
  bitsadmin /addfileset "$job" "$WORK/fileset" >/dev/null
  local cpu_before
  cpu_before=$(cpu_ticks)
  # Resumes and waits on the job's state events (no polling): prints the seconds.
  python3 "$HERE/smallfiles_wait.py" "$OPENBITS_SOCKET" "$job"
  echo "$(($(cpu_ticks) - cpu_before))" >>"$WORK/bitsd_cpu"
  bitsadmin /complete "$job" >/dev/null
}
# bitsd's user + system CPU time in clock ticks (/proc/PID/stat fields 14 and 15): less
# noisy than wall time on a loaded machine. (Under BITSD_WRAP, the wrapper's.)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$BITSD_PID/stat"; }
# time_one TOOL -> seconds
time_one() {
  local tool=$1 start end
  rm -rf "$WORK/out" && mkdir "$WORK/out"
  sync
  case $tool in
    bitsd) run_bitsd ;;
    *)
      start=$(now)
      case $tool in
        curl) curl -sf -K "$WORK/curl.list" ;;
        curl-z50) curl -sf -Z --parallel-max 50 -K "$WORK/curl.list" 2>/dev/null ;;
        aria2) aria2c -q -j16 --file-allocation=none -d "$WORK/out" -i "$WORK/aria2.list" ;;
      esac
      sync -f "$WORK/out"
      end=$(now)
      echo "$end - $start" | bc -l
      ;;
  esac
  for n in $NAMES; do
    cmp -s "$WORK/out/$n" "$WORK/www/$n" || { echo "bench: $tool: $n differs" >&2; exit 1; }
  done
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A times=() med=()
# Rounds interleave the tools so that drift in the machine's speed hits all of them.
for _ in $(seq "$RUNS"); do
  for tool in $TOOLS; do times[$tool]+="$(time_one "$tool") "; done
done
for tool in $TOOLS; do med[$tool]=$(tr ' ' '\n' <<<"${times[$tool]}" | grep . | median); done
echo "$FILES files, $(du -sh "$WORK/www" | cut -f1) in all; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -s "$WORK/bitsd_cpu" ]; then
  hz=$(getconf CLK_TCK)
  cpu=$(median <"$WORK/bitsd_cpu")
  printf "bitsd CPU time (user+system) per file, median of the runs: %.3f ms (runs: %s ticks of 1/%s s)\n" \
    "$(echo "$cpu * 1000 / $hz / $FILES" | bc -l)" "$(tr '\n' ' ' <"$WORK/bitsd_cpu")" "$hz"
fi
echo "| tool | median s | files/s | ratio to sequential curl | all runs (s) |"
echo "|---|---|---|---|---|"
for tool in $TOOLS; do
  rate=$(echo "$FILES / ${med[$tool]}" | bc -l)
  ratio=$(echo "${med[curl]:-${med[$tool]}} / ${med[$tool]}" | bc -l)
  printf "| %s | %.3f | %.0f | %.2f | %s|\n" "$tool" "${med[$tool]}" "$rate" "$ratio" "${times[$tool]}"
done
