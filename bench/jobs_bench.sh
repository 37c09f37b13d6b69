#!/usr/bin/env bash
# Many-jobs benchmark (issue 16): a private bitsd (temp state dir, job limits raised in its
# config) and a client that creates and lists jobs over its socket, like a fleet tool.
# Figures, each against its goal:
#   * creates/s: SMALL (10,000) manager.create_job calls over one connection, one at a time;
#   * manager.enum_jobs of SMALL jobs and of BIG (100,000) jobs, every page, ids checked;
#   * RSS growth per idle job: bitsd's VmRSS before the first create and with BIG jobs;
#   * start-up with BIG jobs in the store: bitsd started until its first RPC is answered;
#   * `bitsadmin /list` of SMALL jobs (and that it lists all of them);
#   * with each, bitsd's own CPU time (/proc/PID/stat), steadier than wall time under load.
# Run as root, the daemon and the client run as BENCH_USER (default uid 1000): a plain
# user's creates are the ones the job limits count. Load average printed at the end.
# Usage: bench/jobs_bench.sh [BUILD_DIR]     (SMALL=10000 BIG=100000 by default)
set -euo pipefail
BUILD=${1:-build}
SMALL=${SMALL:-10000}
BIG=${BIG:-100000}
BIN=$(cd "$BUILD/bin" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
[ -x "$BIN/bitsd" ] && [ -x "$BIN/bitsadmin" ] || cmake --build "$BUILD" --target bitsd bitsadmin
WORK=$(mktemp -d /var/tmp/openbits-jobsbench-XXXXXX)
AS=()
if [ "$(id -u)" = 0 ]; then
  BENCH_USER=${BENCH_USER:-1000}
  chown "$BENCH_USER" "$WORK"
  AS=(setpriv --reuid="$BENCH_USER" --regid="$BENCH_USER" --clear-groups)
fi
cleanup() {
  [ -n "${BITSD_PID:-}" ] && kill "$BITSD_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

export OPENBITS_SOCKET="$WORK/bitsd.sock"
echo "{\"max_jobs_per_user\": $((BIG * 2)), \"max_jobs_per_machine\": $((BIG * 2))}" \
  >"$WORK/bitsd.json"
now() { date +%s.%N; }
start_bitsd() {
  local started=$(now)
  "${AS[@]}" "$BIN/bitsd" --state-dir "$WORK/state" --socket "$OPENBITS_SOCKET" \
    --config "$WORK/bitsd.json" --log-level warn --user &
  BITSD_PID=$!
  for _ in $(seq 600); do  # up to 60 s: until it answers daemon.version
    "${AS[@]}" "$BIN/bitsadmin" /util /version >/dev/null 2>&1 && break
    sleep 0.01
  done
  STARTUP=$(echo "$(now) - $started" | bc)
}
stop_bitsd() {
  kill "$BITSD_PID"
  wait "$BITSD_PID" || true
  BITSD_PID=
}
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$BITSD_PID/status"; }
# bitsd's CPU time so far (user + system, ms): less noisy than wall time on a loaded machine.
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{print int(($14 + $15) * 1000 / hz)}' "/proc/$BITSD_PID/stat"; }
client() { "${AS[@]}" /usr/bin/python3 "$HERE/jobs_client.py" "$OPENBITS_SOCKET" "$@"; }
row() { printf '%-44s %12s   goal %s\n' "$1" "$2" "$3"; }
check() { [ "$1" = "$2" ] || { echo "bench: $3: got $1, expected $2" >&2; exit 1; }; }

start_bitsd
RSS0=$(rss_kib)
cpu0=$(cpu_ms)
read -r t n <<<"$(client create "$SMALL" small-)"
check "$n" "$SMALL" "created jobs"
CREATE_RATE=$(echo "$SMALL / $t" | bc)
cpu1=$(cpu_ms)
CREATE_CPU_US=$(((cpu1 - cpu0) * 1000 / SMALL))
read -r ENUM_SMALL n pages distinct <<<"$(client enum)"
ENUM_SMALL_CPU_US=$((($(cpu_ms) - cpu1) * 1000 / SMALL))
check "$n" "$SMALL" "jobs listed"
check "$distinct" "$SMALL" "distinct jobs listed"
ENUM_SMALL_PAGES=$pages
started=$(now)
if "${AS[@]}" "$BIN/bitsadmin" /list >"$WORK/list.txt" 2>&1; then
  LIST_SMALL="$(echo "$(now) - $started" | bc)s"
  check "$(grep -c "small-" "$WORK/list.txt")" "$SMALL" "jobs in bitsadmin /list"
else
  LIST_SMALL="FAILS"
  grep -m1 Unable "$WORK/list.txt" >&2
fi
# The rest of BIG over 4 connections at once (not timed: only the population matters).
rest=$(((BIG - SMALL) / 4))
fillers=()
for i in 1 2 3 4; do
  client create "$rest" "big$i-" >/dev/null &
  fillers+=($!)
done
for pid in "${fillers[@]}"; do wait "$pid"; done
TOTAL=$((SMALL + rest * 4))
sleep 1  # the periodic store sync settles
RSS1=$(rss_kib)
cpu0=$(cpu_ms)
read -r ENUM_BIG n pages distinct <<<"$(client enum)"
ENUM_BIG_CPU_US=$((($(cpu_ms) - cpu0) * 1000 / TOTAL))
check "$n" "$TOTAL" "jobs listed"
check "$distinct" "$TOTAL" "distinct jobs listed"
stop_bitsd
start_bitsd
STARTUP_CPU=$(cpu_ms)
read -r _ n _ _ <<<"$(client enum)"
check "$n" "$TOTAL" "jobs listed after the restart"
RSS_PER_JOB=$(echo "scale=2; ($RSS1 - $RSS0) / $TOTAL" | bc)

echo "bitsd many-jobs bench ($(date -u +%FT%TZ), $TOTAL jobs in all)"
row "creates/s ($SMALL, one connection)" "$CREATE_RATE" ">= 5000"
row "  bitsd CPU per create" "${CREATE_CPU_US} us" "-"
row "enum_jobs of $SMALL ($ENUM_SMALL_PAGES replies)" "${ENUM_SMALL}s" "-"
row "  bitsd CPU per job listed" "${ENUM_SMALL_CPU_US} us" "-"
row "enum_jobs of $TOTAL ($pages replies)" "${ENUM_BIG}s" "< 1 s"
row "  bitsd CPU per job listed" "${ENUM_BIG_CPU_US} us" "-"
row "RSS per idle job ($RSS0 -> $RSS1 KiB)" "${RSS_PER_JOB} KiB" "< 2 KiB"
row "start-up with $TOTAL jobs" "${STARTUP}s" "< 2 s"
row "  bitsd CPU until it answered" "${STARTUP_CPU} ms" "-"
row "bitsadmin /list of $SMALL" "$LIST_SMALL" "< 0.5 s"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
