#!/usr/bin/env bash
# Peer caching benchmark (docs/peer-caching.md, docs/performance.md "Peer caching"): HOSTS
# (default 10) network namespaces on one bridge with an origin namespace running nginx
# behind a shaped link (tc tbf RATE, default 100mbit, on the origin's veth; the LAN is
# unshaped). Certificates from a CA made with openssl here. In one run:
#   (a) curl: every host downloads the file from the origin at the same time;
#   (b) bitsd: each host runs its own bitsd (peer_listen on its address, a static `peers`
#       list naming the others, machine flags 3); host 1 downloads and completes the file
#       with job flags 3, then the other hosts download it at the same time.
# Reported for each: the origin's body bytes per file copy (nginx's access log) and the
# time until every host holds the file (for (b) from host 1's start); every copy is
# checked with cmp. Usage (as root): bench/peer_bench.sh [BUILD_DIR]
set -euo pipefail
BUILD=${1:-build-release}
HOSTS=${HOSTS:-10}
RATE=${RATE:-100mbit}
SIZE_MB=${SIZE_MB:-64}
BIN=$(cd "$BUILD/bin" && pwd)
WORK=$(mktemp -d /var/tmp/openbits-peerbench-XXXXXX)
P=obpb$$
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  sleep 0.5
  for ns in $(ip netns list | awk '{print $1}' | grep "^$P-"); do ip netns del "$ns"; done
  rm -rf "$WORK"
}
trap cleanup EXIT
ip_of() { [ "$1" = 0 ] && echo 10.77.0.1 || echo "10.77.0.$((10 + $1))"; }
ns_of() { [ "$1" = 0 ] && echo "$P-o" || echo "$P-h$1"; }
now() { date +%s.%N; }

# The LAN: a bridge in a namespace of its own, a veth from it to each member.
ip netns add "$P-sw"
ip -n "$P-sw" link add br0 type bridge
ip -n "$P-sw" link set br0 up
for i in $(seq 0 "$HOSTS"); do
  ns=$(ns_of "$i")
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip -n "$P-sw" link add "p$i" type veth peer name eth0 netns "$ns"
  ip -n "$P-sw" link set "p$i" master br0 up
  ip -n "$ns" addr add "$(ip_of "$i")/24" dev eth0
  ip -n "$ns" link set eth0 up
done
ip netns exec "$P-o" tc qdisc add dev eth0 root tbf rate "$RATE" burst 64kb latency 150ms

mkdir -p "$WORK/www" "$WORK/nginx" "$WORK/ca" "$WORK/out"
head -c $((SIZE_MB << 20)) /dev/urandom >"$WORK/www/file.bin"
SIZE=$((SIZE_MB << 20))
cat >"$WORK/nginx/nginx.conf" <<CONF
worker_processes 1; daemon off; master_process off; user root;
pid $WORK/nginx/nginx.pid; error_log $WORK/nginx/error.log;
events { worker_connections 256; }
http { log_format bytes '\$remote_addr \$request_method \$status \$body_bytes_sent';
  access_log $WORK/nginx/access.log bytes; sendfile on;
  client_body_temp_path $WORK/nginx; proxy_temp_path $WORK/nginx; fastcgi_temp_path $WORK/nginx;
  uwsgi_temp_path $WORK/nginx; scgi_temp_path $WORK/nginx;
  server { listen 10.77.0.1:8080; root $WORK/www; } }
CONF
ip netns exec "$P-o" nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" &
PIDS+=($!)
URL="http://10.77.0.1:8080/file.bin"
origin_bytes() { awk '{s += $4} END {print s + 0}' "$WORK/nginx/access.log"; }

# Certificates: one CA, one certificate per host (client and server).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/O=bench/CN=bench CA" -keyout "$WORK/ca/ca.key" -out "$WORK/ca/ca.pem" 2>/dev/null
for i in $(seq 1 "$HOSTS"); do
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=IP:%s\n' \
    "$(ip_of "$i")" >"$WORK/ca/h$i.ext"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/O=bench/CN=h$i" \
    -keyout "$WORK/ca/h$i.key" -out "$WORK/ca/h$i.csr" 2>/dev/null
  openssl x509 -req -in "$WORK/ca/h$i.csr" -CA "$WORK/ca/ca.pem" -CAkey "$WORK/ca/ca.key" \
    -CAcreateserial -days 2 -extfile "$WORK/ca/h$i.ext" -out "$WORK/ca/h$i.pem" 2>/dev/null
done
for _ in $(seq 100); do
  ip netns exec "$(ns_of 1)" curl -sfI -o /dev/null "$URL" && break
  sleep 0.1
done
check_all() {  # check_all PREFIX: every copy equal to the origin's file
  for i in $(seq 1 "$HOSTS"); do cmp "$WORK/www/file.bin" "$WORK/out/$1$i.bin"; done
}

# (a) curl from every host at once.
: >"$WORK/nginx/access.log"
start=$(now)
CURLS=()
for i in $(seq 1 "$HOSTS"); do
  ip netns exec "$(ns_of "$i")" curl -sSf -o "$WORK/out/curl$i.bin" "$URL" &
  CURLS+=($!)
done
for pid in "${CURLS[@]}"; do wait "$pid"; done
CURL_TIME=$(echo "$(now) - $start" | bc)
CURL_COPIES=$(echo "scale=3; $(origin_bytes) / $SIZE" | bc)
check_all curl

# (b) bitsd on every host.
for i in $(seq 1 "$HOSTS"); do
  d="$WORK/h$i"
  mkdir -p "$d"
  peers=$(for j in $(seq 1 "$HOSTS"); do if [ "$j" != "$i" ]; then printf '"%s:7700",' "$(ip_of "$j")"; fi; done)
  cat >"$d/bitsd.json" <<JSON
{"peer_ca_file": "$WORK/ca/ca.pem", "peer_cert_file": "$WORK/ca/h$i.pem",
 "peer_key_file": "$WORK/ca/h$i.key", "peer_listen": "$(ip_of "$i"):7700",
 "peer_discovery": "none", "peers": [${peers%,}], "peer_caching_flags": 3}
JSON
  ip netns exec "$(ns_of "$i")" "$BIN/bitsd" --state-dir "$d/state" --socket "$d/bitsd.sock" \
    --config "$d/bitsd.json" --log-level warn 2>"$d/bitsd.log" &
  PIDS+=($!)
done
for i in $(seq 1 "$HOSTS"); do
  for _ in $(seq 100); do [ -S "$WORK/h$i/bitsd.sock" ] && break; sleep 0.1; done
done
ba() { local i=$1; shift; OPENBITS_SOCKET="$WORK/h$i/bitsd.sock" "$BIN/bitsadmin" "$@"; }
job() {  # job HOST: a resumed job downloading the file with job flags 3; its id
  local id
  id=$(ba "$1" /rawreturn /create bench)
  ba "$1" /addfile "$id" "$URL" "$WORK/out/peer$1.bin" >/dev/null
  ba "$1" /setpeercachingflags "$id" 3 >/dev/null
  echo "$id"
}
wait_transferred() {
  until [ "$(ba "$1" /rawreturn /getstate "$2")" = TRANSFERRED ]; do sleep 0.05; done
}
trusted() {  # trusted HOST ADDRESS: HOST's registry has ADDRESS authenticated and available
  ba "$1" /peers /list | grep " $2 " | grep -q "AUTHENTICATED: TRUE.*AVAILABLE: TRUE\|AVAILABLE: TRUE.*AUTHENTICATED: TRUE"
}
for i in $(seq 2 "$HOSTS"); do
  for _ in $(seq 600); do trusted "$i" "$(ip_of 1):7700" && break; sleep 0.1; done
done
: >"$WORK/nginx/access.log"
IDS=()
for i in $(seq 1 "$HOSTS"); do IDS[$i]=$(job "$i"); done
start=$(now)
ba 1 /resume "${IDS[1]}" >/dev/null
wait_transferred 1 "${IDS[1]}"
ba 1 /complete "${IDS[1]}" >/dev/null
SEED_TIME=$(echo "$(now) - $start" | bc)
until [ -n "$(ba 1 /rawreturn /cache /list)" ]; do sleep 0.05; done
for i in $(seq 2 "$HOSTS"); do ba "$i" /resume "${IDS[$i]}" >/dev/null; done
for i in $(seq 2 "$HOSTS"); do wait_transferred "$i" "${IDS[$i]}"; done
PEER_TIME=$(echo "$(now) - $start" | bc)
echo "per host: origin bytes, peer bytes (/getpeerstats)"
for i in $(seq 2 "$HOSTS"); do
  echo "  h$i $(ba "$i" /rawreturn /getpeerstats "${IDS[$i]}" 0 | tr '\n' ' ')"
  ba "$i" /complete "${IDS[$i]}" >/dev/null
done
PEER_COPIES=$(echo "scale=3; $(origin_bytes) / $SIZE" | bc)
check_all peer

echo "hosts $HOSTS, file $SIZE_MB MiB, origin link $RATE; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf 'curl:  %6.2f s until all hold the file, origin sent %s copies\n' "$CURL_TIME" "$CURL_COPIES"
printf 'bitsd: %6.2f s until all hold the file (host 1 alone %.2f s), origin sent %s copies\n' \
  "$PEER_TIME" "$SEED_TIME" "$PEER_COPIES"
printf 'time ratio bitsd/curl: %.3f (goal <= 0.3); copies goal <= 1.1; every copy cmp-equal\n' \
  "$(echo "scale=4; $PEER_TIME / $CURL_TIME" | bc)"
