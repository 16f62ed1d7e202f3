#!/usr/bin/env bash
# Installs every Debian package Parley needs to build, test and run.
# Idempotent: when everything is present it only asks dpkg and exits quickly.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config ccache clang-format
  clang libclang-rt-14-dev
  libboost-dev libboost-system-dev
  librocksdb-dev libsodium-dev libzstd-dev liblz4-dev
  libsimdjson-dev nlohmann-json3-dev
  libssl-dev zlib1g-dev
  libfmt-dev libspdlog-dev libcli11-dev libtomlplusplus-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libxapian-dev libicu-dev libsqlite3-dev
  libpq-dev postgresql-15 libhiredis-dev redis-server haproxy
  libcurl4-openssl-dev libexpat1-dev radosgw ceph-mon ceph-osd libvips-dev
  chromium
  libfaketime
  openssl curl
  procps iproute2
)

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing+=("$p")
done

# Node.js 20 or later runs the TypeScript SDK's tests (its WebSocket) and builds the web
# client. Machines of this kind come with it; Debian's own nodejs is only used if none is.
command -v node >/dev/null 2>&1 || missing+=(nodejs npm)

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "install-deps: done"
fi

# The npm side (sdk/ts, web/): exactly what package-lock.json pins, installed again only
# when the lock file changed since the last install.
cd "$(dirname "$0")/.."
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "install-deps: npm ci"
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
fi
