#!/usr/bin/env bash
# Installs the Debian packages openbits needs to build, test and benchmark, skipping the
# ones already present, and creates the resolver's system account. Run as root. The list
# below is the single source of truth.
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake ninja-build pkg-config git ccache
  # libraries (design.md, "Dependencies")
  libcurl4-openssl-dev libsqlite3-dev libssl-dev nlohmann-json3-dev libcli11-dev
  libspdlog-dev libfmt-dev libboost-dev libsystemd-dev libkrb5-dev
  # AUTODETECT proxies: libproxy and its PAC runner (bitsd-proxy-resolver)
  libproxy-dev libproxy1-plugin-webkit
  # tests and tooling; the asan-ubsan build is clang's, with libFuzzer and the sanitizer
  # runtimes from libclang-rt-14-dev and llvm-symbolizer (llvm) for the reports' stacks
  libgtest-dev libgmock-dev libbenchmark-dev clang libclang-rt-14-dev llvm clang-format clang-tidy
  nginx openssl curl aria2 sqlite3 python3 bc tmux util-linux iproute2 procps
  # servers that demand authentication or proxy (tests/integration/auth_servers.h,
  # proxy_servers.h)
  apache2 libapache2-mod-auth-gssapi krb5-kdc krb5-admin-server krb5-user squid
)

# bitsd runs bitsd-proxy-resolver (a PAC script from the network) for root's AUTODETECT jobs
# as a system account of its own, shared with no other service (docs/security.md): no
# shell, no home, a group of its own. bitsd refuses to resolve for root's jobs without it.
RESOLVER_ACCOUNT=openbits-resolver
if ! getent passwd "$RESOLVER_ACCOUNT" >/dev/null; then
  useradd --system --user-group --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin --comment "openbits proxy resolver" "$RESOLVER_ACCOUNT"
  echo "install-deps: created the system account $RESOLVER_ACCOUNT"
fi

missing=()
for package in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
# The nginx, apache2, krb5 and squid packages start system services; openbits's tests run
# their own. Without systemd the packages' init scripts start them (squid on port 3128).
SERVICES=(nginx apache2 krb5-kdc krb5-admin-server squid)
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  systemctl disable --now "${SERVICES[@]}" >/dev/null 2>&1 || true
else
  for service in "${SERVICES[@]}"; do
    if [ -x "/etc/init.d/$service" ]; then
      "/etc/init.d/$service" stop >/dev/null 2>&1 || true
      update-rc.d "$service" disable >/dev/null 2>&1 || true
    fi
  done
fi
